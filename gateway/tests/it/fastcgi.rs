//! The FastCGI responder over real sockets, driven by the crate's own
//! FastCGI client the way nginx, Apache or `cgi-fcgi` would drive it.

use std::sync::Arc;
use std::time::Duration;

use gateway::fastcgi::record::{
    self, protocol_status, role, BeginRequest, EndRequest, Record, RecordType, FLAG_KEEP_CONN,
};
use gateway::fastcgi::{cgi_params, Client, FastCgiConfig, Pair};
use gateway::testing::{TestRequest, TestResponse};
use gateway::GatewayConfig;
use http::{Method, StatusCode};

use crate::support::{
    app, config, read_response, set, wait_for, TestServer, HOLD_GONE, HOLD_RELEASED, TOGETHER,
};

fn get(client: &mut Client, target: &str) -> TestResponse {
    client
        .send(&TestRequest::get(target), "/wiki")
        .expect("the request is answered")
}

fn request_with(target: &str, change: impl FnOnce(&mut TestRequest)) -> Vec<Pair> {
    let mut request = TestRequest::get(target);
    change(&mut request);
    cgi_params(&request, "/wiki")
}

#[test]
fn a_get_with_params_split_mid_pair_is_answered_over_unix_and_tcp() {
    for server in [TestServer::unix(config()), TestServer::tcp(config())] {
        // Records of 5 bytes cut most pairs in their middle, as cgi-fcgi does.
        let mut client = server.client().with_max_record(5);
        let request = TestRequest::get("/Some Page?rev=2").with_header("X-Thing", "yes");
        let response = client.send(&request, "/wiki").unwrap();
        assert_eq!(response.status, StatusCode::OK, "{}", server.spec);
        assert_eq!(response.header("content-type"), Some("text/plain"));
        assert_eq!(
            response.text(),
            "GET /Some Page ?rev=2 mount=/wiki thing=yes"
        );
    }
}

#[test]
fn keep_conn_serves_several_requests_on_one_connection() {
    let server = TestServer::unix(config());
    let mut client = server.client();
    for n in 0..5 {
        let response = get(&mut client, &format!("/page{n}"));
        assert_eq!(
            response.text(),
            format!("GET /page{n} ? mount=/wiki thing=-")
        );
    }
}

#[test]
fn without_keep_conn_the_connection_is_closed_after_the_response() {
    let server = TestServer::tcp(config());
    let mut client = server.client().with_keep_conn(false);
    assert_eq!(get(&mut client, "/once").status, StatusCode::OK);
    assert!(client.read_record().unwrap().is_none());
}

#[test]
fn three_interleaved_requests_run_concurrently_on_one_connection() {
    let server = TestServer::unix(config());
    let mut client = server.client().with_max_record(7);
    let params: Vec<Vec<Pair>> = (0..3)
        .map(|n| cgi_params(&TestRequest::get(&format!("/together?n={n}")), ""))
        .collect();
    let requests: Vec<(&[Pair], &[u8])> = params.iter().map(|p| (&p[..], &b""[..])).collect();
    let responses = client.request_interleaved(&requests).unwrap();
    for (n, response) in responses.iter().enumerate() {
        assert!(response.is_complete());
        let response = response.parse().unwrap();
        assert_eq!(response.text(), format!("together n={n}"));
    }
    *TOGETHER.lock().unwrap() = 0;
}

#[test]
fn a_200_kib_params_block_arrives_whole_in_any_framing() {
    let server = TestServer::tcp(config());
    let big = "b".repeat(200 * 1024);
    let params = request_with("/header-size", |r| {
        r.headers.push(("X-Big".to_owned(), big.clone()));
    });
    // nginx: records as large as possible; Apache: 16 KiB records.
    for max_record in [65535, 16 * 1024] {
        let mut client = server.client().with_max_record(max_record);
        let response = client.request(&params, b"").unwrap().parse().unwrap();
        assert_eq!(response.text(), "x-big is 204800 bytes", "{max_record}");
    }
}

#[test]
fn a_1_mib_body_reaches_the_app_and_comes_back_in_many_records() {
    let server = TestServer::unix(config());
    let body: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    let params = request_with("/echo", |r| {
        r.method = Method::POST;
        r.body = body.clone();
    });
    let mut client = server.client();
    let response = client.request(&params, &body).unwrap();
    let response = response.parse().unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body == body, "the echoed body differs");
}

#[test]
fn a_body_over_the_limit_is_answered_413_and_the_connection_goes_on() {
    let server = TestServer::tcp(FastCgiConfig {
        gateway: GatewayConfig {
            max_body_bytes: 1000,
            ..GatewayConfig::default()
        },
        ..config()
    });
    let mut client = server.client();
    let body = vec![b'x'; 5000];
    let declared = request_with("/echo", |r| {
        r.method = Method::POST;
        r.body = body.clone();
    });
    let response = client.request(&declared, &body).unwrap().parse().unwrap();
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Without CONTENT_LENGTH the overflow is noticed as the body is read.
    let undeclared: Vec<Pair> = declared
        .into_iter()
        .filter(|(name, _)| name != b"CONTENT_LENGTH")
        .collect();
    let response = client.request(&undeclared, &body).unwrap().parse().unwrap();
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);

    let within = vec![b'y'; 1000];
    let response = client
        .request(&undeclared, &within)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!((response.status, response.body), (StatusCode::OK, within));
}

#[test]
fn get_values_reports_the_limits_it_honours() {
    let server = TestServer::unix(config());
    let mut client = server.client();
    let values = client
        .get_values(&[
            "FCGI_MAX_CONNS",
            "FCGI_MAX_REQS",
            "FCGI_MPXS_CONNS",
            "FCGI_NONSENSE",
        ])
        .unwrap();
    let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"]
    );
    assert_eq!(values[0].1, "8");
    assert!(values[1].1.parse::<usize>().unwrap() >= 8);
    assert_eq!(values[2].1, "1");
    // The connection still serves requests afterwards.
    assert_eq!(get(&mut client, "/").status, StatusCode::OK);
}

fn begin(id: u16, role: u16) -> Record {
    let body = BeginRequest {
        role,
        flags: FLAG_KEEP_CONN,
    };
    Record::new(RecordType::BEGIN_REQUEST, id, body.encode()).expect("8 bytes fit a record")
}

fn expect_end(client: &mut Client, id: u16) -> EndRequest {
    let record = client
        .read_record()
        .expect("a record can be read")
        .expect("the connection stays open");
    assert_eq!(
        (record.record_type(), record.request_id()),
        (RecordType::END_REQUEST, id)
    );
    EndRequest::decode(record.content()).expect("a well-formed END_REQUEST")
}

#[test]
fn an_aborted_request_is_ended_and_the_connection_goes_on() {
    let server = TestServer::tcp(config());
    let mut client = server.client();
    client.send_record(&begin(1, role::RESPONDER)).unwrap();
    let params = Record::new(RecordType::PARAMS, 1, b"\x0e\x03REQUEST_METHODGET".to_vec());
    client.send_record(&params.unwrap()).unwrap();
    client
        .send_record(&Record::new(RecordType::ABORT_REQUEST, 1, Vec::new()).unwrap())
        .unwrap();
    let end = expect_end(&mut client, 1);
    assert_eq!(end.protocol_status, protocol_status::REQUEST_COMPLETE);
    // Late records of the aborted request are ignored.
    client
        .send_record(&Record::new(RecordType::STDIN, 1, Vec::new()).unwrap())
        .unwrap();
    assert_eq!(
        get(&mut client, "/after").text(),
        "GET /after ? mount=/wiki thing=-"
    );
}

#[test]
fn an_aborted_running_request_sends_nothing_after_its_end() {
    let server = TestServer::unix(config());
    let mut client = server.client();
    let mut pairs = Vec::new();
    record::encode_pairs(cgi_params(&TestRequest::get("/hold"), ""), &mut pairs).unwrap();
    for record in [
        begin(1, role::RESPONDER),
        Record::new(RecordType::PARAMS, 1, pairs).unwrap(),
        Record::new(RecordType::PARAMS, 1, Vec::new()).unwrap(),
        // The request is complete and handed to a worker here.
        Record::new(RecordType::STDIN, 1, Vec::new()).unwrap(),
        Record::new(RecordType::ABORT_REQUEST, 1, Vec::new()).unwrap(),
    ] {
        client.send_record(&record).unwrap();
    }
    assert_eq!(
        expect_end(&mut client, 1).protocol_status,
        protocol_status::REQUEST_COMPLETE
    );
    set(&HOLD_RELEASED);
    wait_for(&HOLD_GONE);
    // Had the worker written its response, it would come before this.
    let values = client.get_values(&["FCGI_MPXS_CONNS"]).unwrap();
    assert_eq!(values, [("FCGI_MPXS_CONNS".to_owned(), "1".to_owned())]);
    assert_eq!(get(&mut client, "/next").status, StatusCode::OK);
}

#[test]
fn params_over_1_mib_are_answered_431() {
    let server = TestServer::tcp(config());
    let params = request_with("/header-size", |r| {
        r.headers
            .push(("X-Big".to_owned(), "b".repeat(1100 * 1024)));
    });
    let mut client = server.client();
    let response = client.request(&params, b"").unwrap().parse().unwrap();
    assert_eq!(response.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(get(&mut client, "/").status, StatusCode::OK);
}

#[test]
fn requests_beyond_16_in_flight_on_a_connection_are_refused_as_overloaded() {
    let server = TestServer::unix(config());
    let mut client = server.client();
    // Begun but never completed, so all stay in flight.
    for id in 1..=16 {
        client.send_record(&begin(id, role::RESPONDER)).unwrap();
    }
    client.send_record(&begin(17, role::RESPONDER)).unwrap();
    assert_eq!(
        expect_end(&mut client, 17).protocol_status,
        protocol_status::OVERLOADED
    );
    // Aborting one frees its place.
    client
        .send_record(&Record::new(RecordType::ABORT_REQUEST, 3, Vec::new()).unwrap())
        .unwrap();
    expect_end(&mut client, 3);
    client.send_record(&begin(17, role::RESPONDER)).unwrap();
    let values = client.get_values(&["FCGI_MPXS_CONNS"]).unwrap();
    assert_eq!(values.len(), 1, "request 17 was accepted this time");
}

#[test]
fn other_roles_are_refused_with_unknown_role() {
    let server = TestServer::unix(config());
    let mut client = server.client();
    client.send_record(&begin(1, role::AUTHORIZER)).unwrap();
    assert_eq!(
        expect_end(&mut client, 1).protocol_status,
        protocol_status::UNKNOWN_ROLE
    );
    client.send_record(&begin(2, role::FILTER)).unwrap();
    assert_eq!(
        expect_end(&mut client, 2).protocol_status,
        protocol_status::UNKNOWN_ROLE
    );
    assert_eq!(get(&mut client, "/").status, StatusCode::OK);
}

#[test]
fn an_unknown_record_type_is_answered_with_unknown_type() {
    let server = TestServer::tcp(config());
    let mut client = server.client();
    client
        .send_record(&Record::new(RecordType(42), 0, b"whatever".to_vec()).unwrap())
        .unwrap();
    let record = client.read_record().unwrap().unwrap();
    assert_eq!(record.record_type(), RecordType::UNKNOWN_TYPE);
    assert_eq!(record.request_id(), 0);
    assert_eq!(record.content()[0], 42);
    assert_eq!(get(&mut client, "/").status, StatusCode::OK);
}

#[test]
fn garbage_closes_that_connection_only() {
    let server = TestServer::unix(config());
    let mut idle = server.client();
    let mut bad = server.client();
    bad.send_raw(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
        .unwrap();
    let closed = match bad.read_record() {
        Ok(record) => record.is_none(),
        Err(err) => err.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(closed, "the connection should have been closed");
    // A record whose content length lies: the stream ends inside it.
    let mut truncated = server.client();
    truncated
        .send_raw(&[1, 4, 0, 1, 0xFF, 0xFF, 0, 0, b'x'])
        .unwrap();
    drop(truncated);

    assert_eq!(get(&mut server.client(), "/").status, StatusCode::OK);
    assert_eq!(get(&mut idle, "/").status, StatusCode::OK);
}

#[test]
fn a_panicking_app_answers_500_and_the_server_goes_on() {
    let server = TestServer::tcp(config());
    let mut client = server.client();
    for _ in 0..2 {
        assert_eq!(
            get(&mut client, "/panic").status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    assert_eq!(get(&mut client, "/").status, StatusCode::OK);
    assert_eq!(get(&mut server.client(), "/").status, StatusCode::OK);
}

#[test]
fn head_gets_the_headers_without_the_body() {
    let server = TestServer::unix(config());
    let mut client = server.client();
    let mut request = TestRequest::get("/page");
    request.method = Method::HEAD;
    let response = client.send(&request, "").unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert!(response.body.is_empty());
}

#[test]
fn bad_params_are_answered_400() {
    let server = TestServer::tcp(config());
    let mut client = server.client();
    // No REQUEST_METHOD.
    let missing = vec![(b"PATH_INFO".to_vec(), b"/x".to_vec())];
    let response = client.request(&missing, b"").unwrap().parse().unwrap();
    assert_eq!(response.status, StatusCode::BAD_REQUEST);

    // A pair whose value length runs past the end of the block.
    client.send_record(&begin(1, role::RESPONDER)).unwrap();
    for record in [
        Record::new(RecordType::PARAMS, 1, vec![3, 100, b'a', b'b', b'c']),
        Record::new(RecordType::PARAMS, 1, Vec::new()),
        Record::new(RecordType::STDIN, 1, Vec::new()),
    ] {
        client.send_record(&record.unwrap()).unwrap();
    }
    let response = read_response(&mut client);
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}

#[test]
fn a_connection_waits_for_a_free_slot_over_the_cap() {
    let server = TestServer::unix(FastCgiConfig {
        max_connections: 1,
        ..config()
    });
    let mut first = server.client();
    assert_eq!(get(&mut first, "/first").status, StatusCode::OK);
    let spec = server.spec.clone();
    let second = std::thread::spawn(move || {
        let mut client = Client::connect(&spec).unwrap();
        get(&mut client, "/second").text()
    });
    drop(first);
    assert_eq!(second.join().unwrap(), "GET /second ? mount=/wiki thing=-");
}

#[test]
fn shutdown_stops_the_server_with_idle_connections_open() {
    let server = TestServer::tcp(config());
    let spec = server.spec.clone();
    let mut idle = server.client();
    assert_eq!(get(&mut idle, "/").status, StatusCode::OK);
    server.shutdown();
    assert!(idle.read_record().map_or(true, |record| record.is_none()));
    let refused = Client::connect(&spec).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

/// Set in the environment of a child process only: what it should do.
const CHILD_MARKER: &str = "GATEWAY_IT_FASTCGI_CHILD";

#[test]
#[ignore = "runs only as a child process of the inherited-socket tests"]
fn child_process() {
    let mode = std::env::var(CHILD_MARKER).expect("this is not a test to run by hand");
    let code = match mode.as_str() {
        // What mod_fcgid or `cgi-fcgi -start` start: serve fd 0.
        "serve" => match gateway::listener::Listener::inherited_stdin() {
            Ok(Some(listener)) => {
                let _ = gateway::fastcgi::serve(listener, Arc::new(app), config());
                3
            }
            _ => 2,
        },
        // What a spawned `quire` does: either protocol on fd 0.
        "detect" => match gateway::listener::Listener::inherited_stdin() {
            Ok(Some(listener)) => {
                let protocol = gateway::server::Protocol::Detect;
                let _ = gateway::server::serve(listener, protocol, Arc::new(app), config());
                3
            }
            _ => 2,
        },
        // What Apache mod_cgid starts: fd 0 is a socket, but a connected one.
        "probe" => {
            let none = matches!(gateway::listener::Listener::inherited_stdin(), Ok(None));
            if none && !gateway::listener::stdin_is_listening_socket() {
                0
            } else {
                1
            }
        }
        _ => 4,
    };
    std::process::exit(code);
}

fn child(mode: &str, stdin: std::process::Stdio) -> std::process::Child {
    crate::support::this_test_binary("fastcgi::child_process")
        .env(CHILD_MARKER, mode)
        .stdin(stdin)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the test binary starts again")
}

#[test]
fn a_listening_socket_on_stdin_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inherited.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    // The Command is dropped at once, so only the child holds the socket.
    let mut child = child("serve", std::os::fd::OwnedFd::from(listener).into());
    let client = Client::connect(&format!("unix:{}", path.display())).unwrap();
    let mut client = client.with_timeout(Some(Duration::from_secs(30))).unwrap();
    let response = client.send(&TestRequest::get("/from-fd-0"), "/fcgi");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        response.unwrap().text(),
        "GET /from-fd-0 ? mount=/fcgi thing=-"
    );
}

#[test]
fn a_connected_socket_or_a_pipe_on_stdin_is_not_a_listener() {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let status = child("probe", std::os::fd::OwnedFd::from(theirs).into())
        .wait()
        .unwrap();
    drop(ours);
    assert_eq!(status.code(), Some(0));
    let status = child("probe", std::process::Stdio::piped()).wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_listening_socket_on_stdin_serves_fastcgi_and_scgi_when_detecting() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inherited.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let mut child = child("detect", std::os::fd::OwnedFd::from(listener).into());
    let spec = format!("unix:{}", path.display());
    let scgi = gateway::scgi::Client::connect(&spec)
        .and_then(|client| client.with_timeout(Some(Duration::from_secs(30))))
        .and_then(|client| client.send(&TestRequest::get("/by-scgi"), ""));
    let fastcgi = Client::connect(&spec)
        .and_then(|client| client.with_timeout(Some(Duration::from_secs(30))))
        .and_then(|mut client| client.send(&TestRequest::get("/by-fastcgi"), ""));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(scgi.unwrap().text(), "GET /by-scgi ? mount= thing=-");
    assert_eq!(fastcgi.unwrap().text(), "GET /by-fastcgi ? mount= thing=-");
}

/// A record with the padding a peer chose, not the one the encoder picks.
fn padded(record_type: RecordType, content: &[u8], padding: u8) -> Vec<u8> {
    let len = u16::try_from(content.len())
        .expect("test records fit")
        .to_be_bytes();
    let mut bytes = vec![1, record_type.0, 0, 1, len[0], len[1], padding, 0];
    bytes.extend_from_slice(content);
    bytes.extend(std::iter::repeat_n(0xAA, usize::from(padding)));
    bytes
}

#[test]
fn records_with_any_padding_and_both_pair_length_forms_are_read() {
    let server = TestServer::unix(config());
    let mut client = server.client();
    let long = vec![b'L'; 300];
    let mut params = Vec::new();
    record::encode_pairs(
        [
            (&b"REQUEST_METHOD"[..], &b"GET"[..]),
            (b"PATH_INFO", b"/padded"),
            // A 4-byte value length.
            (b"HTTP_X_THING", &long[..]),
        ],
        &mut params,
    )
    .unwrap();
    // Two pairs of 1-byte lengths (2 + 14 + 3, 2 + 9 + 7 bytes), then the
    // third's 1-byte name length, then its 4-byte value length, high bit set.
    assert_eq!(params[19 + 18], 12);
    assert_eq!(params[19 + 18 + 1..19 + 18 + 5], [0x80, 0, 1, 44]);
    let begin = BeginRequest {
        role: role::RESPONDER,
        flags: FLAG_KEEP_CONN,
    };
    let (first, rest) = params.split_at(5);
    let mut bytes = padded(RecordType::BEGIN_REQUEST, &begin.encode(), 255);
    bytes.extend(padded(RecordType::PARAMS, first, 0));
    bytes.extend(padded(RecordType::PARAMS, rest, 3));
    bytes.extend(padded(RecordType::PARAMS, &[], 7));
    bytes.extend(padded(RecordType::STDIN, &[], 1));
    client.send_raw(&bytes).unwrap();
    let response = read_response(&mut client);
    let expected = format!("GET /padded ? mount= thing={}", "L".repeat(300));
    assert_eq!(response.text(), expected);
}
