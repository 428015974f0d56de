//! The SCGI server over real sockets, driven by the crate's own SCGI client
//! the way nginx's `scgi_pass` would drive it; and the detecting server
//! that answers FastCGI and SCGI on one socket.
#![expect(
    clippy::unwrap_used,
    reason = "a test's helpers fail the test loudly on anything unexpected"
)]

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gateway::fastcgi::{cgi_params, parse_cgi_response, Pair};
use gateway::scgi::encode_head;
use gateway::server::{Protocol, ServerConfig};
use gateway::testing::{TestRequest, TestResponse};
use gateway::{GatewayConfig, Request, Response};
use http::{Method, StatusCode};

use crate::support::{config, TestServer};

fn scgi_server(unix: bool) -> TestServer {
    match unix {
        true => TestServer::unix_with(Protocol::Scgi, config()),
        false => TestServer::tcp_with(Protocol::Scgi, config()),
    }
}

fn send(server: &TestServer, request: &TestRequest) -> TestResponse {
    server
        .scgi()
        .send(request, "/wiki")
        .expect("the request is answered")
}

/// Sends raw bytes and parses what comes back.
fn send_raw(server: &TestServer, bytes: &[u8]) -> Vec<u8> {
    let mut client = server.scgi();
    client.send_raw(bytes).unwrap();
    client.read_response().unwrap()
}

fn post(target: &str, body: Vec<u8>) -> TestRequest {
    let mut request = TestRequest::get(target);
    request.method = Method::POST;
    request.body = body;
    request
}

fn pairs(list: &[(&str, &str)]) -> Vec<Pair> {
    list.iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn a_get_is_answered_over_unix_and_tcp() {
    for unix in [true, false] {
        let server = scgi_server(unix);
        let mut request = TestRequest::get("/Some/Page?rev=2");
        request.headers.push(("X-Thing".into(), "yes".into()));
        let response = send(&server, &request);
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.header("content-type"), Some("text/plain"));
        assert_eq!(
            response.text(),
            "GET /Some/Page ?rev=2 mount=/wiki thing=yes"
        );
    }
}

#[test]
fn a_1_mib_body_reaches_the_app_and_comes_back() {
    let server = scgi_server(true);
    let body: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let response = send(&server, &post("/echo", body.clone()));
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body == body, "the body came back changed");
}

#[test]
fn head_gets_the_headers_without_the_body() {
    let server = scgi_server(false);
    let mut request = TestRequest::get("/page");
    request.method = Method::HEAD;
    let response = send(&server, &request);
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert!(response.body.is_empty());
}

#[test]
fn a_panicking_app_answers_500_and_the_server_goes_on() {
    let server = scgi_server(true);
    let response = send(&server, &TestRequest::get("/panic"));
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(send(&server, &TestRequest::get("/")).status, StatusCode::OK);
}

#[test]
fn a_4_gb_content_length_is_answered_413_without_reading_the_body() {
    let server = scgi_server(true);
    let mut bytes = encode_head(&pairs(&[
        ("CONTENT_LENGTH", "4294967296"),
        ("SCGI", "1"),
        ("REQUEST_METHOD", "POST"),
        ("PATH_INFO", "/echo"),
    ]));
    bytes.extend_from_slice(&[b'x'; 1000]);
    let response = parse_cgi_response(&send_raw(&server, &bytes)).unwrap();
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(send(&server, &TestRequest::get("/")).status, StatusCode::OK);
}

#[test]
fn a_body_over_the_configured_limit_is_answered_413() {
    let server = TestServer::unix_with(
        Protocol::Scgi,
        ServerConfig {
            gateway: GatewayConfig {
                max_body_bytes: 1000,
                ..GatewayConfig::default()
            },
            ..config()
        },
    );
    let over = post("/echo", vec![b'y'; 100_000]);
    assert_eq!(send(&server, &over).status, StatusCode::PAYLOAD_TOO_LARGE);
    let within = post("/echo", vec![b'y'; 1000]);
    assert_eq!(send(&server, &within).body.len(), 1000);
}

#[test]
fn a_head_over_1_mib_is_answered_431_without_reading_it() {
    let server = scgi_server(false);
    // Only the length is sent: the answer cannot wait for the rest.
    let response = parse_cgi_response(&send_raw(&server, b"2000000:")).unwrap();
    assert_eq!(response.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

#[test]
fn malformed_heads_are_answered_400() {
    let server = scgi_server(true);
    for bytes in [
        encode_head(&pairs(&[("SCGI", "1"), ("CONTENT_LENGTH", "0")])),
        encode_head(&pairs(&[
            ("CONTENT_LENGTH", "0"),
            ("REQUEST_METHOD", "GET"),
        ])),
        encode_head(&pairs(&[("CONTENT_LENGTH", "zero"), ("SCGI", "1")])),
        encode_head(&pairs(&[("CONTENT_LENGTH", "0"), ("SCGI", "1")])), // no REQUEST_METHOD
        b"10:CONTENT_LENGTH\x000\x00;".to_vec(),
        b"abc".to_vec(),
    ] {
        let output = send_raw(&server, &bytes);
        let response = parse_cgi_response(&output).unwrap();
        assert_eq!(
            response.status,
            StatusCode::BAD_REQUEST,
            "{:?}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

#[test]
fn a_body_shorter_than_declared_closes_the_connection_unanswered() {
    let server = scgi_server(true);
    let mut bytes = encode_head(&pairs(&[
        ("CONTENT_LENGTH", "100"),
        ("SCGI", "1"),
        ("REQUEST_METHOD", "POST"),
    ]));
    bytes.extend_from_slice(b"only a little");
    let mut client = server.scgi();
    client.send_raw(&bytes).unwrap();
    client.finish_sending().unwrap();
    assert!(client.read_response().unwrap().is_empty());
    let params = pairs(&[("REQUEST_METHOD", "POST"), ("PATH_INFO", "/echo")]);
    let answered = server.scgi().request(&params, b"whole").unwrap();
    assert!(parse_cgi_response(&answered).unwrap().body == b"whole");
}

#[test]
fn the_detecting_server_answers_fastcgi_and_scgi_on_one_socket() {
    for unix in [true, false] {
        let server = match unix {
            true => TestServer::unix_with(Protocol::Detect, config()),
            false => TestServer::tcp_with(Protocol::Detect, config()),
        };
        let scgi = send(&server, &TestRequest::get("/by-scgi"));
        assert_eq!(scgi.text(), "GET /by-scgi ? mount=/wiki thing=-");
        let mut fastcgi = server.client();
        for _ in 0..2 {
            let response = fastcgi
                .send(&TestRequest::get("/by-fastcgi"), "/wiki")
                .unwrap();
            assert_eq!(response.text(), "GET /by-fastcgi ? mount=/wiki thing=-");
        }
        // Neither protocol: closed without an answer.
        let mut client = server.scgi();
        client.send_raw(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        let answer = client.read_response();
        assert!(
            answer.as_ref().map_or_else(
                |err| err.kind() == std::io::ErrorKind::ConnectionReset,
                Vec::is_empty
            ),
            "{answer:?}"
        );
        assert_eq!(send(&server, &TestRequest::get("/")).status, StatusCode::OK);
    }
}

/// An app whose requests wait for the test: each tells `entered` it has
/// started, then waits for a message on `release`.
fn gated_app() -> (Arc<dyn gateway::App>, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let entered_tx = Mutex::new(entered_tx);
    let release_rx = Mutex::new(release_rx);
    let app = move |_: Request| -> Response {
        let _ = entered_tx.lock().unwrap().send(());
        let _ = release_rx
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(20));
        Response::new("finished".into())
    };
    (Arc::new(app), entered, release)
}

#[test]
fn shutdown_lets_running_requests_finish_and_refuses_new_connections() {
    for protocol in [Protocol::Scgi, Protocol::FastCgi, Protocol::Detect] {
        let (app, entered, release) = gated_app();
        let server = TestServer::start(protocol, app, false, config());
        let spec = server.spec.clone();
        let in_flight = std::thread::spawn(move || match protocol {
            Protocol::FastCgi => gateway::fastcgi::Client::connect(&spec)
                .unwrap()
                .send(&TestRequest::get("/"), "")
                .unwrap(),
            _ => gateway::scgi::Client::connect(&spec)
                .unwrap()
                .send(&TestRequest::get("/"), "")
                .unwrap(),
        });
        entered.recv_timeout(Duration::from_secs(20)).unwrap();
        let handle = server.shutdown_handle();
        let spec = server.spec.clone();
        let stopped = std::thread::spawn(move || server.shutdown());
        handle.shutdown();
        let refused = gateway::listener::Stream::connect(&spec).map(|_| ());
        assert!(
            refused.is_err(),
            "{protocol:?}: a new connection was accepted"
        );
        release.send(()).unwrap();
        let response = in_flight.join().unwrap();
        assert_eq!(response.text(), "finished", "{protocol:?}");
        stopped.join().unwrap();
    }
}

#[test]
fn params_of_a_test_request_reach_the_app_as_over_fastcgi() {
    // The SCGI client reuses the FastCGI client's CGI variables; a query
    // with a non-UTF-8 path comes through as bytes.
    let server = scgi_server(true);
    let mut request = TestRequest::get("/x");
    request.path = b"/caf\xE9".to_vec();
    let params = cgi_params(&request, "/wiki");
    let output = server.scgi().request(&params, b"").unwrap();
    let response = parse_cgi_response(&output).unwrap();
    assert_eq!(response.text(), "GET /caf\u{FFFD} ? mount=/wiki thing=-");
}
