//! Bodies that stream: through every adapter (FastCGI, SCGI, CGI, HTTP) a
//! body of 64 MiB reaches an app that hashes it as it reads, bytes identical;
//! the app gets the first bytes before the client has sent the rest; and the
//! two limits (`max_body_bytes` read whole, `max_stream_bytes` read as a
//! stream) hold, declared or not.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::sync::{Arc, Mutex};

use gateway::fastcgi::record::{BeginRequest, Record, RecordType, FLAG_KEEP_CONN};
use gateway::fastcgi::{cgi_params, parse_cgi_response, Pair};
use gateway::server::{Protocol, ServerConfig};
use gateway::testing::TestRequest;
use gateway::{GatewayConfig, HttpError, IntoResponse, Request, Response};
use http::{Method, StatusCode};
use sha2::{Digest, Sha256};

use crate::support::{
    cgi_process, cgi_response_in, config, read_response, serve_one_cgi_request, set, wait_for,
    TestServer,
};

/// The size of the big body: the default `max_stream_bytes`.
const BIG: usize = 64 * 1024 * 1024;

/// Set once `/first` has read its first bytes.
static FIRST_BYTES: Mutex<bool> = Mutex::new(false);

/// `/hash` and `/first` read the body as a stream and answer its length and
/// SHA-256 (`/first` says when it has the first bytes); `/whole` reads it
/// whole and answers its length.
fn hashing_app(mut request: Request) -> Response {
    let path = request.path_info().to_vec();
    if path == b"/whole" {
        return match request.body_mut().read_to_vec() {
            Ok(body) => Response::new(body.len().to_string().into()),
            Err(err) => HttpError::from(err).into_response(),
        };
    }
    if path == b"/hold-body" {
        // Holds the body without reading it, past the idle timeout.
        std::thread::sleep(std::time::Duration::from_millis(800));
    }
    let body = request.body_mut();
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    let mut len = 0;
    loop {
        let n = match body.read_some(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) => return HttpError::from(err).into_response(),
        };
        hasher.update(&buffer[..n]);
        len += n;
        if path == b"/first" && len >= 1000 {
            set(&FIRST_BYTES);
        }
    }
    Response::new(format!("{len} {}", hex(&hasher.finalize())).into())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `len` bytes of noise (xorshift), so that no framing lines up with it.
fn noise(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

fn expected(body: &[u8]) -> String {
    format!("{} {}", body.len(), hex(&Sha256::digest(body)))
}

fn limits(whole: u64, stream: u64) -> GatewayConfig {
    GatewayConfig {
        max_body_bytes: whole,
        max_stream_bytes: stream,
        ..GatewayConfig::default()
    }
}

fn server(protocol: Protocol, gateway: GatewayConfig) -> TestServer {
    let config = ServerConfig {
        gateway,
        ..config()
    };
    TestServer::start(protocol, Arc::new(hashing_app), true, config)
}

fn post(target: &str, len: usize) -> Vec<Pair> {
    let mut request = TestRequest::get(target);
    request.method = Method::POST;
    request.body = vec![0; len];
    cgi_params(&request, "")
}

fn undeclared(params: Vec<Pair>) -> Vec<Pair> {
    params
        .into_iter()
        .filter(|(name, _)| name != b"CONTENT_LENGTH")
        .collect()
}

#[test]
fn a_64_mib_body_streams_through_fastcgi_bytes_identical() {
    let server = server(Protocol::FastCgi, GatewayConfig::default());
    let body = noise(BIG);
    let mut client = server.client();
    let response = client.request(&post("/hash", BIG), &body).unwrap();
    let response = response.parse().unwrap();
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), expected(&body));
}

#[test]
fn a_64_mib_body_streams_through_scgi_bytes_identical() {
    let server = server(Protocol::Scgi, GatewayConfig::default());
    let body = noise(BIG);
    let answer = server.scgi().request(&post("/hash", BIG), &body).unwrap();
    let response = parse_cgi_response(&answer).unwrap();
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), expected(&body));
}

#[test]
fn a_64_mib_body_streams_through_http_bytes_identical() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let config = gateway::http::HttpConfig {
        gateway: GatewayConfig::default(),
        workers: 1,
        blocking_threads: 2,
    };
    let server = gateway::http::start(listener, Arc::new(hashing_app), config).unwrap();
    let body = noise(BIG);
    let (status, text) = http_post(server.local_addr(), "/hash", Some(body.len()), &body);
    assert_eq!(status, 200, "{text}");
    assert_eq!(text, expected(&body));

    // Chunked, so undeclared: the same.
    let (status, text) = http_post(server.local_addr(), "/hash", None, &body[..1 << 20]);
    assert_eq!(status, 200, "{text}");
    assert_eq!(text, expected(&body[..1 << 20]));
}

#[test]
#[ignore = "runs only as the CGI process started by the tests below"]
fn cgi_child_process() {
    serve_one_cgi_request(CGI_CHILD, &hashing_app);
}

const CGI_CHILD: &str = "GATEWAY_IT_STREAMING_CGI_CHILD";

#[test]
fn a_64_mib_body_streams_through_cgi_bytes_identical() {
    let body = noise(BIG);
    let (status, text) = cgi_post("/hash", &body);
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(text, expected(&body));
}

/// Runs the CGI child with `body` on stdin, writing it while the child reads.
fn cgi_post(path: &str, body: &[u8]) -> (StatusCode, String) {
    let len = body.len().to_string();
    let vars: Vec<(&str, &OsStr)> = vec![
        ("GATEWAY_INTERFACE", OsStr::new("CGI/1.1")),
        ("REQUEST_METHOD", OsStr::new("POST")),
        ("SCRIPT_NAME", OsStr::new("")),
        ("PATH_INFO", OsStr::from_bytes(path.as_bytes())),
        ("SERVER_PROTOCOL", OsStr::new("HTTP/1.1")),
        ("CONTENT_LENGTH", OsStr::new(&len)),
    ];
    let mut child = cgi_process("streaming::cgi_child_process", CGI_CHILD, vars);
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut output = Vec::new();
        stdout.read_to_end(&mut output).map(|_| output)
    });
    // A child that answers before reading it all closes its stdin: fine.
    let _ = stdin.write_all(body);
    drop(stdin);
    let output = reader
        .join()
        .expect("the stdout reader does not panic")
        .expect("stdout is read");
    assert!(child.wait().expect("the child is reaped").success());
    let response = parse_cgi_response(cgi_response_in(&output)).expect("a CGI response");
    (response.status, response.text())
}

/// POSTs `body` over HTTP/1.1, with a `Content-Length` or chunked.
fn http_post(
    addr: std::net::SocketAddr,
    path: &str,
    declared: Option<usize>,
    body: &[u8],
) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("the server accepts");
    // A server that neither answers nor closes fails the test instead of hanging it.
    let patience = Some(std::time::Duration::from_secs(60));
    stream.set_read_timeout(patience).expect("a read timeout");
    stream.set_write_timeout(patience).expect("a write timeout");
    let framing = match declared {
        Some(len) => format!("Content-Length: {len}"),
        None => "Transfer-Encoding: chunked".to_owned(),
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{framing}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("the head is sent");
    let writer = {
        let mut stream = stream.try_clone().expect("the stream can be cloned");
        let body = body.to_vec();
        std::thread::spawn(move || {
            // The server may answer and close before taking it all.
            let _ = match declared {
                Some(_) => stream.write_all(&body),
                None => body
                    .chunks(50_000)
                    .try_for_each(|chunk| {
                        write!(stream, "{:x}\r\n", chunk.len())?;
                        stream.write_all(chunk)?;
                        stream.write_all(b"\r\n")
                    })
                    .and_then(|()| stream.write_all(b"0\r\n\r\n")),
            };
        })
    };
    let mut raw = Vec::new();
    if let Err(err) = stream.read_to_end(&mut raw) {
        assert!(
            !matches!(
                err.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{path} {declared:?}: the connection still open after 60 s, having read {:?}",
            String::from_utf8_lossy(&raw)
        );
    }
    let _ = writer.join();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let body = &raw[end + 4..];
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        crate::support::dechunk(body)
    } else {
        body.to_vec()
    };
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[test]
fn the_fastcgi_app_reads_the_first_bytes_before_the_rest_is_sent() {
    let server = server(Protocol::FastCgi, GatewayConfig::default());
    let body = noise(200_000);
    let params = post("/first", body.len());
    let mut client = server.client();
    start_request(&mut client, 1, &params);
    let (half, rest) = body.split_at(100_000);
    for chunk in half.chunks(30_000) {
        client
            .send_record(&record(RecordType::STDIN, 1, chunk))
            .unwrap();
    }
    // The rest is sent only once the app has the first bytes: a responder
    // that waited for the whole body would never get there.
    wait_for(&FIRST_BYTES);
    assert!(
        *FIRST_BYTES.lock().unwrap(),
        "the app did not get the first bytes before the rest was sent"
    );
    for chunk in rest.chunks(30_000) {
        client
            .send_record(&record(RecordType::STDIN, 1, chunk))
            .unwrap();
    }
    client
        .send_record(&record(RecordType::STDIN, 1, &[]))
        .unwrap();
    let response = read_response(&mut client);
    assert_eq!(response.text(), expected(&body));
    // The connection goes on.
    let again = client.request(&post("/hash", 3), b"abc").unwrap();
    assert_eq!(again.parse().unwrap().text(), expected(b"abc"));
}

#[test]
fn the_two_limits_hold_over_fastcgi_declared_or_not() {
    let server = server(Protocol::FastCgi, limits(1000, 100_000));
    let mut client = server.client();
    let cases: [(&str, usize, StatusCode); 4] = [
        // Over the whole limit: refused read whole, fine as a stream.
        ("/whole", 5000, StatusCode::PAYLOAD_TOO_LARGE),
        ("/hash", 5000, StatusCode::OK),
        // Over the stream limit: refused either way.
        ("/hash", 300_000, StatusCode::PAYLOAD_TOO_LARGE),
        ("/whole", 300_000, StatusCode::PAYLOAD_TOO_LARGE),
    ];
    for (path, len, status) in cases {
        let body = noise(len);
        for params in [post(path, len), undeclared(post(path, len))] {
            // One connection for all: what the app leaves unread is thrown
            // away and the next request is read right.
            let response = client.request(&params, &body).unwrap().parse().unwrap();
            assert_eq!(response.status, status, "{path} {len} {}", response.text());
            if status == StatusCode::OK {
                assert_eq!(response.text(), expected(&body));
            }
        }
    }
}

#[test]
fn the_two_limits_hold_over_scgi_and_http() {
    let server = server(Protocol::Scgi, limits(1000, 100_000));
    for (path, len, status) in [
        ("/whole", 5000, StatusCode::PAYLOAD_TOO_LARGE),
        ("/hash", 5000, StatusCode::OK),
        ("/hash", 300_000, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let answer = server
            .scgi()
            .request(&post(path, len), &noise(len))
            .unwrap();
        let response = parse_cgi_response(&answer).unwrap();
        assert_eq!(response.status, status, "{path} {len}");
    }

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let config = gateway::http::HttpConfig {
        gateway: limits(1000, 100_000),
        workers: 1,
        blocking_threads: 2,
    };
    let http = gateway::http::start(listener, Arc::new(hashing_app), config).unwrap();
    for (path, len, status) in [
        ("/whole", 5000, 413),
        ("/hash", 5000, 200),
        ("/hash", 300_000, 413),
    ] {
        let body = noise(len);
        for declared in [Some(len), None] {
            let (got, text) = http_post(http.local_addr(), path, declared, &body);
            assert_eq!(got, status, "{path} {len} {declared:?}: {text}");
        }
    }
}

#[test]
fn a_cgi_body_over_the_whole_limit_but_not_the_stream_limit_streams() {
    // The CGI child runs with the default limits: 8 MiB whole, 64 MiB stream.
    let body = noise(9 << 20);
    assert_eq!(cgi_post("/whole", &body).0, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, text) = cgi_post("/hash", &body);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, expected(&body));
    let over = noise(BIG + 1);
    assert_eq!(cgi_post("/hash", &over).0, StatusCode::PAYLOAD_TOO_LARGE);
}

fn record(kind: RecordType, id: u16, content: &[u8]) -> Record {
    Record::new(kind, id, content.to_vec()).expect("test records fit")
}

/// Sends a request's begin and params, not its body.
fn start_request(client: &mut gateway::fastcgi::Client, id: u16, params: &[Pair]) {
    let begin = BeginRequest {
        role: gateway::fastcgi::record::role::RESPONDER,
        flags: FLAG_KEEP_CONN,
    };
    client
        .send_record(&record(RecordType::BEGIN_REQUEST, id, &begin.encode()))
        .expect("the record is sent");
    let mut encoded = Vec::new();
    gateway::fastcgi::record::encode_pairs(params.iter().map(|(n, v)| (n, v)), &mut encoded)
        .expect("the record is sent");
    client
        .send_record(&record(RecordType::PARAMS, id, &encoded))
        .expect("the record is sent");
    client
        .send_record(&record(RecordType::PARAMS, id, &[]))
        .expect("the record is sent");
}

#[test]
fn interleaved_fastcgi_bodies_each_reach_their_own_app() {
    let server = server(Protocol::FastCgi, GatewayConfig::default());
    let bodies: Vec<Vec<u8>> = (0..3)
        .map(|n| noise(300_000 + n * 7)[n..].to_vec())
        .collect();
    let params: Vec<Vec<Pair>> = bodies.iter().map(|b| post("/hash", b.len())).collect();
    let requests: Vec<(&[Pair], &[u8])> = params
        .iter()
        .zip(&bodies)
        .map(|(p, b)| (&p[..], &b[..]))
        .collect();
    let mut client = server.client().with_max_record(9000);
    let responses = client.request_interleaved(&requests).unwrap();
    for (response, body) in responses.iter().zip(&bodies) {
        assert_eq!(response.parse().unwrap().text(), expected(body));
    }
}

#[test]
fn an_abort_mid_body_ends_the_request_and_the_connection_goes_on() {
    let server = server(Protocol::FastCgi, GatewayConfig::default());
    let mut client = server.client();
    start_request(&mut client, 1, &post("/hash", 1_000_000));
    client
        .send_record(&record(RecordType::STDIN, 1, &noise(50_000)))
        .unwrap();
    client
        .send_record(&record(RecordType::ABORT_REQUEST, 1, &[]))
        .unwrap();
    // Records of the aborted body that were already on their way.
    client
        .send_record(&record(RecordType::STDIN, 1, &noise(50_000)))
        .unwrap();
    let end = loop {
        let got = client.read_record().unwrap().expect("the request ends");
        if got.record_type() == RecordType::END_REQUEST {
            break got;
        }
    };
    assert_eq!(end.request_id(), 1);
    let again = client.request(&post("/hash", 3), b"abc").unwrap();
    assert_eq!(again.parse().unwrap().text(), expected(b"abc"));
}

#[test]
fn a_body_its_app_holds_unread_past_the_idle_timeout_is_cut_not_waited_for() {
    let server = TestServer::start(
        Protocol::FastCgi,
        Arc::new(hashing_app),
        true,
        ServerConfig {
            idle_timeout: std::time::Duration::from_millis(200),
            ..config()
        },
    );
    let mut client = server.client();
    let body = noise(1_000_000);
    let response = client
        .request(&post("/hold-body", body.len()), &body)
        .unwrap();
    // The app's read failed once it had what was queued: a 400, and the
    // connection was never held for longer than the timeout.
    let response = response.parse().unwrap();
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.text()
    );
    let again = client.request(&post("/hash", 3), b"abc").unwrap();
    assert_eq!(again.parse().unwrap().text(), expected(b"abc"));
}

#[test]
fn a_body_sent_before_its_params_end_is_kept_only_a_few_records() {
    let server = server(Protocol::FastCgi, GatewayConfig::default());
    // Two records early are fine (no web server does it, but it is legal).
    let mut client = server.client();
    let begin = BeginRequest {
        role: gateway::fastcgi::record::role::RESPONDER,
        flags: FLAG_KEEP_CONN,
    };
    let body = noise(20);
    let mut encoded = Vec::new();
    gateway::fastcgi::record::encode_pairs(
        post("/hash", 20).iter().map(|(n, v)| (n, v)),
        &mut encoded,
    )
    .unwrap();
    for sent in [
        record(RecordType::BEGIN_REQUEST, 1, &begin.encode()),
        record(RecordType::STDIN, 1, &body[..10]),
        record(RecordType::PARAMS, 1, &encoded),
        record(RecordType::STDIN, 1, &body[10..]),
        record(RecordType::STDIN, 1, &[]),
        record(RecordType::PARAMS, 1, &[]),
    ] {
        client.send_record(&sent).unwrap();
    }
    assert_eq!(read_response(&mut client).text(), expected(&body));

    // A body that keeps coming without params is a protocol error.
    let mut client = server.client();
    client
        .send_record(&record(RecordType::BEGIN_REQUEST, 1, &begin.encode()))
        .unwrap();
    let flood = noise(60_000);
    let mut closed = false;
    for _ in 0..100 {
        if client
            .send_record(&record(RecordType::STDIN, 1, &flood))
            .is_err()
        {
            closed = true;
            break;
        }
    }
    closed = closed || client.read_record().map_or(true, |record| record.is_none());
    assert!(closed, "the connection was closed");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
    /// However the web server cuts the body into records, the app reads the
    /// same bytes.
    #[test]
    fn fastcgi_bodies_arrive_whole_in_any_record_split(
        max_record in 1usize..70_000,
        len in 0usize..300_000,
    ) {
        let server = server(Protocol::FastCgi, GatewayConfig::default());
        let body = noise(len);
        let mut client = server.client().with_max_record(max_record);
        let response = client.request(&post("/hash", len), &body).unwrap().parse().unwrap();
        proptest::prop_assert_eq!(response.text(), expected(&body));
    }
}
