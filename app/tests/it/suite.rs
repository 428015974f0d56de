//! What the scenario suite needs from a way of reaching the wiki: the
//! [`Gateway`] trait, the body limit every wiki under test is configured
//! with, and a plain HTTP/1.1 client.
//!
//! This file and `scenarios.rs` are shared, not copied: the app's tests
//! include them as modules, and so does the `e2e` crate (with `#[path]`),
//! which runs the same scenarios through nginx, Apache and lighttpd. So they
//! depend only on `gateway`'s test types, `http` and `flate2`, never on the
//! app crate or its binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use gateway::testing::{TestRequest, TestResponse};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// The body limit every wiki under test is configured with, small so 413 is
/// cheap.
pub const BODY_LIMIT: u64 = 64 * 1024;

/// A way to reach the wiki.
pub trait Gateway {
    /// The mount prefix links must start with.
    fn mount(&self) -> &str;
    /// Sends one request and reads the whole response.
    fn send(&self, request: TestRequest) -> TestResponse;
    /// Whether a web server in front answers a path that is not UTF-8 with
    /// its own 400 page before quire sees it (so only the status can be
    /// checked, not quire's explanation).
    fn server_rejects_non_utf8_paths(&self) -> bool {
        false
    }
    /// GETs a target below the mount.
    fn get(&self, target: &str) -> TestResponse {
        self.send(TestRequest::get(target))
    }
}

/// Sends `request` for `{mount}{target}` to the HTTP/1.1 server at `addr`
/// on a fresh connection and reads the whole response.
pub fn http1_send(addr: SocketAddr, mount: &str, request: &TestRequest) -> TestResponse {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{} {mount}{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
        request.method,
        request.target(),
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", request.body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before taking the whole body.
    let _ = stream.write_all(&request.body);
    read_http_response(stream, request.method == http::Method::HEAD)
}

fn read_http_response(stream: TcpStream, head_only: bool) -> TestResponse {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = StatusCode::from_bytes(&line.as_bytes()[9..12]).unwrap();
    let mut headers = HeaderMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            HeaderName::try_from(name).unwrap(),
            HeaderValue::try_from(value.trim()).unwrap(),
        );
    }
    let mut body = Vec::new();
    if head_only {
        return TestResponse {
            status,
            headers,
            body,
        };
    }
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"chunked"));
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let size = usize::from_str_radix(line.trim(), 16).unwrap_or_else(|_| {
                panic!(
                    "a {status} response's chunked body was cut off (chunk size line {line:?}); \
                     received so far: {}",
                    String::from_utf8_lossy(&body)
                )
            });
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        reader.read_to_end(&mut body).unwrap();
    }
    TestResponse {
        status,
        headers,
        body,
    }
}
