//! The standalone HTTP server, driven over a real socket by a raw HTTP/1.1
//! client, so what is checked is what goes over the wire.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

use gateway::http::{start, HttpConfig, HttpServerHandle};
use gateway::{GatewayConfig, HttpError, IntoResponse, Request, Response, ResponseBody};

use crate::support::dechunk;

const LIMIT: u64 = 1024;
const STREAMED_BYTES: usize = 200_000;

/// Answers by path: `/echo` returns the body, `/panic` panics, `/stream`
/// streams bytes from a reader; anything else describes the request, with
/// the raw `path_info` bytes last.
fn test_app(mut request: Request) -> Response {
    match request.path_info() {
        b"/echo" => match request.body_mut().read_to_vec() {
            Ok(body) => Response::new(body.into()),
            Err(err) => HttpError::from(err).into_response(),
        },
        b"/panic" => panic!("the test app panics on purpose"),
        b"/stream" => {
            let reader = io::repeat(b'x').take(STREAMED_BYTES as u64);
            Response::new(ResponseBody::reader(reader))
        }
        b"/stream-sized" => {
            let reader = io::repeat(b'x').take(STREAMED_BYTES as u64);
            let mut response = Response::new(ResponseBody::reader(reader));
            response
                .headers_mut()
                .insert("content-length", STREAMED_BYTES.into());
            response
        }
        _ => {
            let mut body = format!(
                "method {}\nmount {}\nquery {}\nremote {}\nport {}\npath ",
                request.method(),
                request.mount(),
                request.query(),
                request
                    .remote_addr()
                    .map(|ip| ip.to_string())
                    .unwrap_or_default(),
                request.environ().server_port,
            )
            .into_bytes();
            body.extend_from_slice(request.path_info());
            Response::new(body.into())
        }
    }
}

fn server(gateway: GatewayConfig) -> HttpServerHandle {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
    let config = HttpConfig {
        gateway,
        workers: 1,
        blocking_threads: 4,
    };
    start(listener, Arc::new(test_app), config).expect("the server starts")
}

fn limited() -> GatewayConfig {
    GatewayConfig {
        max_body_bytes: LIMIT,
        ..GatewayConfig::default()
    }
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of a `name value` line of the test app's description.
    fn line(&self, name: &str) -> Vec<u8> {
        let prefix = format!("{name} ");
        self.body
            .split(|&b| b == b'\n')
            .find_map(|line| line.strip_prefix(prefix.as_bytes()))
            .unwrap_or_else(|| {
                panic!(
                    "no {name} line in {:?}",
                    String::from_utf8_lossy(&self.body)
                )
            })
            .to_vec()
    }
}

/// Sends `head` (request line and headers, without the blank line and
/// without `Connection`) and `body`, and reads the reply to EOF.
pub fn exchange(addr: SocketAddr, head: &str, body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("the server accepts");
    let request = format!("{head}\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .expect("the head is sent");
    stream.write_all(body).expect("the body is sent");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("the reply is read");
    parse_reply(&raw)
}

fn get(addr: SocketAddr, target: &str) -> Reply {
    exchange(addr, &format!("GET {target} HTTP/1.1"), b"")
}

fn parse_reply(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = std::str::from_utf8(&raw[..end]).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line with a numeric code");
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("a header line has a colon");
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    let mut reply = Reply {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    };
    if reply.header("transfer-encoding") == Some("chunked") {
        reply.body = dechunk(&reply.body);
    }
    reply
}

#[test]
fn a_get_reaches_the_app_with_decoded_path_query_and_peer() {
    let server = server(GatewayConfig::default());
    let addr = server.local_addr();
    let reply = get(addr, "/Caf%C3%A9/A%20Page?q=%C3%A9&x=1");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.line("method"), b"GET");
    assert_eq!(reply.line("mount"), b"");
    assert_eq!(reply.line("path"), "/Café/A Page".as_bytes());
    assert_eq!(reply.line("query"), b"q=%C3%A9&x=1");
    assert_eq!(reply.line("remote"), b"127.0.0.1");
    assert_eq!(reply.line("port"), addr.port().to_string().as_bytes());
    assert_eq!(
        reply.header("content-length"),
        Some(reply.body.len().to_string().as_str())
    );
}

#[test]
fn a_non_utf8_path_reaches_the_app_as_raw_bytes() {
    let server = server(GatewayConfig::default());
    let reply = get(server.local_addr(), "/%FF");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.line("path"), b"/\xFF");
}

#[test]
fn a_posted_body_is_echoed() {
    let server = server(limited());
    let body = vec![b'a'; LIMIT as usize];
    let head = format!("POST /echo HTTP/1.1\r\nContent-Length: {}", body.len());
    let reply = exchange(server.local_addr(), &head, &body);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, body);
}

#[test]
fn a_body_of_many_chunks_is_streamed_through_to_the_app() {
    let server = server(GatewayConfig::default());
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let head = format!("POST /echo HTTP/1.1\r\nContent-Length: {}", body.len());
    let reply = exchange(server.local_addr(), &head, &body);
    assert_eq!(reply.status, 200);
    assert!(reply.body == body, "the echoed body differs");
}

#[test]
fn a_chunked_body_is_echoed() {
    let server = server(limited());
    let reply = exchange(
        server.local_addr(),
        "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked",
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"hello world");
}

#[test]
fn a_declared_body_over_the_limit_is_refused_with_413() {
    let server = server(limited());
    let body = vec![b'a'; LIMIT as usize + 1];
    let head = format!("POST /echo HTTP/1.1\r\nContent-Length: {}", body.len());
    let reply = exchange(server.local_addr(), &head, &body);
    assert_eq!(reply.status, 413);
}

#[test]
fn a_large_body_over_the_limit_gets_its_413_while_the_client_still_sends() {
    let server = server(limited());
    let mut stream = TcpStream::connect(server.local_addr()).unwrap();
    let chunk = vec![b'a'; 64 * 1024];
    let chunks = 64;
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        chunk.len() * chunks
    );
    stream.write_all(head.as_bytes()).unwrap();
    // A browser reads while it sends; so does this client, on two threads.
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        for _ in 0..chunks {
            if writer.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    sender.join().unwrap();
    assert_eq!(parse_reply(&raw).status, 413);
}

#[test]
fn an_undeclared_body_growing_over_the_limit_is_refused_with_413() {
    let server = server(limited());
    let chunk = vec![b'a'; 600];
    let mut body = Vec::new();
    for _ in 0..2 {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let reply = exchange(
        server.local_addr(),
        "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked",
        &body,
    );
    assert_eq!(reply.status, 413);
}

#[test]
fn a_reader_response_is_streamed_whole() {
    let server = server(GatewayConfig::default());
    let reply = get(server.local_addr(), "/stream");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(reply.body.len(), STREAMED_BYTES);
    assert!(reply.body.iter().all(|&b| b == b'x'));
}

#[test]
fn a_reader_response_with_a_declared_length_is_sent_with_it() {
    let server = server(GatewayConfig::default());
    let addr = server.local_addr();
    let reply = get(addr, "/stream-sized");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("transfer-encoding"), None);
    let expected = STREAMED_BYTES.to_string();
    assert_eq!(reply.header("content-length"), Some(expected.as_str()));
    assert_eq!(reply.body.len(), STREAMED_BYTES);

    let head = exchange(addr, "HEAD /stream-sized HTTP/1.1", b"");
    assert_eq!(head.header("content-length"), Some(expected.as_str()));
    assert!(head.body.is_empty());
}

#[test]
fn head_gets_the_length_but_no_body() {
    let server = server(GatewayConfig::default());
    let addr = server.local_addr();
    let full = get(addr, "/page");
    let head = exchange(addr, "HEAD /page HTTP/1.1", b"");
    assert_eq!(head.status, 200);
    assert!(
        head.body.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&head.body)
    );
    // The app sees HEAD, so its description is one byte shorter than GET's.
    let expected = (full.body.len() + "HEAD".len() - "GET".len()).to_string();
    assert_eq!(head.header("content-length"), Some(expected.as_str()));

    let streamed = exchange(addr, "HEAD /stream HTTP/1.1", b"");
    assert_eq!(streamed.status, 200);
    assert!(streamed.body.is_empty());
}

#[test]
fn a_panicking_app_answers_500_and_the_server_goes_on() {
    let server = server(GatewayConfig::default());
    let addr = server.local_addr();
    let reply = get(addr, "/panic");
    assert_eq!(reply.status, 500);
    assert!(!String::from_utf8_lossy(&reply.body).contains("on purpose"));
    assert_eq!(get(addr, "/after").status, 200);
}

#[test]
fn a_mount_override_splits_the_path() {
    let server = server(GatewayConfig {
        mount_override: Some("/wiki/".to_owned()),
        ..GatewayConfig::default()
    });
    let addr = server.local_addr();
    let reply = get(addr, "/wiki/Front%20Page?x=1");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.line("mount"), b"/wiki");
    assert_eq!(reply.line("path"), b"/Front Page");
    assert_eq!(reply.line("query"), b"x=1");
    assert_eq!(get(addr, "/wiki").line("path"), b"/");
    assert_eq!(get(addr, "/wikipedia").status, 404);
    assert_eq!(get(addr, "/").status, 404);
}

#[test]
fn a_malformed_request_is_answered_400_by_the_server() {
    let server = server(GatewayConfig::default());
    let reply = exchange(
        server.local_addr(),
        "GET /a b c HTTP/1.1\r\nBad Header",
        b"",
    );
    assert_eq!(reply.status, 400);
}

#[test]
fn stop_closes_the_port() {
    let server = server(GatewayConfig::default());
    let addr = server.local_addr();
    assert_eq!(get(addr, "/").status, 200);
    server.stop().unwrap();
    let err = TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
}
