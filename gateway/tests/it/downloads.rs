//! Large streamed downloads through every adapter: a 50 MB reader body with
//! the app's `Content-Length`, byte ranges and a strong ETag, behind `Gzip`
//! and `ConditionalGet`, arrives byte for byte (compared by SHA-256), with a
//! fixed length (never chunked), uncompressed, and `HEAD` gets the length
//! without the body.

use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::sync::{Arc, OnceLock};

use gateway::http::{start, HttpConfig};
use gateway::middleware::{ConditionalGet, Gzip};
use gateway::range::RangeAnswer;
use gateway::server::Protocol;
use gateway::testing::{TestClient, TestRequest, TestResponse};
use gateway::{App, GatewayConfig, Request, Response};
use http::{header, HeaderValue, Method, StatusCode};
use sha2::{Digest, Sha256};

use crate::support::{config, TestServer};

const LEN: u64 = 50_000_000;
const ETAG: &str = "\"the-file-hash\"";

/// The byte at `position` of the file: varied, and cheap to make again.
fn byte_at(position: u64) -> u8 {
    ((position as u32).wrapping_mul(0x9E37_79B1) >> 24) as u8
}

/// The file, made while it is read: nothing of it is held in memory.
struct Generated {
    position: u64,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (LEN - self.position).min(buf.len() as u64) as usize;
        for (offset, byte) in buf[..n].iter_mut().enumerate() {
            *byte = byte_at(self.position + offset as u64);
        }
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for Generated {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let SeekFrom::Start(position) = to else {
            return Err(io::Error::other("only seeks from the start"));
        };
        self.position = position.min(LEN);
        Ok(self.position)
    }
}

/// Serves the file as an attachment app would: a text type (that gzip
/// would compress but for the ranges), its length, a strong tag, ranges.
fn download(request: Request) -> Response {
    let answer = RangeAnswer::from_headers(request.headers(), LEN, Some(ETAG));
    let mut response = Response::new(answer.body(Generated { position: 0 }).expect("seeks"));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    headers.insert(header::ETAG, HeaderValue::from_static(ETAG));
    *response.status_mut() = answer.write_headers(response.headers_mut(), LEN);
    response
}

fn app() -> impl App {
    Gzip::new(ConditionalGet::new(download))
}

fn expected_hash() -> &'static [u8] {
    static HASH: OnceLock<Vec<u8>> = OnceLock::new();
    HASH.get_or_init(|| {
        let mut hasher = Sha256::new();
        let mut file = Generated { position: 0 };
        let mut chunk = vec![0; 1 << 20];
        loop {
            let n = file.read(&mut chunk).expect("the generator does not fail");
            if n == 0 {
                break;
            }
            hasher.update(&chunk[..n]);
        }
        hasher.finalize().to_vec()
    })
}

fn get() -> TestRequest {
    TestRequest::get("/file").with_header("accept-encoding", "gzip")
}

fn head() -> TestRequest {
    TestRequest {
        method: Method::HEAD,
        ..get()
    }
}

fn ranged(range: &str) -> TestRequest {
    get().with_header("range", range)
}

fn assert_whole_file(response: &TestResponse, through: &str) {
    assert_eq!(response.status, StatusCode::OK, "{through}");
    assert_eq!(
        response.header("content-length"),
        Some("50000000"),
        "{through}"
    );
    assert_eq!(response.header("content-encoding"), None, "{through}");
    assert_eq!(response.header("transfer-encoding"), None, "{through}");
    assert_eq!(response.header("etag"), Some(ETAG), "{through}");
    assert_eq!(response.header("accept-ranges"), Some("bytes"), "{through}");
    assert_eq!(response.body.len() as u64, LEN, "{through}");
    assert_eq!(
        Sha256::digest(&response.body)[..],
        *expected_hash(),
        "{through}"
    );
}

fn assert_head(response: &TestResponse, through: &str) {
    assert_eq!(response.status, StatusCode::OK, "{through}");
    assert_eq!(
        response.header("content-length"),
        Some("50000000"),
        "{through}"
    );
    assert!(response.body.is_empty(), "{through}");
}

/// The whole file, its length to HEAD, a range, a 416 and a 304, through one gateway.
fn assert_every_answer(send: &mut dyn FnMut(TestRequest) -> TestResponse, through: &str) {
    assert_whole_file(&send(get()), through);
    assert_head(&send(head()), through);
    assert_ranges(send, through);
}

fn assert_ranges(send: &mut dyn FnMut(TestRequest) -> TestResponse, through: &str) {
    let partial = send(ranged("bytes=49999990-"));
    assert_eq!(partial.status, StatusCode::PARTIAL_CONTENT, "{through}");
    assert_eq!(
        partial.header("content-range"),
        Some("bytes 49999990-49999999/50000000"),
        "{through}"
    );
    let expected: Vec<u8> = (49_999_990..LEN).map(byte_at).collect();
    assert_eq!(partial.body, expected, "{through}");
    let past = send(ranged("bytes=50000000-"));
    assert_eq!(past.status, StatusCode::RANGE_NOT_SATISFIABLE, "{through}");
    assert_eq!(
        past.header("content-range"),
        Some("bytes */50000000"),
        "{through}"
    );
    let cached = send(get().with_header("if-none-match", ETAG));
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED, "{through}");
    assert!(cached.body.is_empty(), "{through}");
}

#[test]
fn a_50_mb_download_in_process() {
    let client = TestClient::new(app());
    assert_every_answer(&mut |request| client.send(request), "in-process");
}

#[test]
fn a_50_mb_download_through_cgi() {
    let app = app();
    let mut send = |request: TestRequest| {
        let mut stdout = Vec::new();
        let params = gateway::fastcgi::cgi_params(&request, "");
        gateway::cgi::respond(
            params,
            io::empty(),
            &mut stdout,
            &app,
            &GatewayConfig::default(),
        )
        .expect("the response is written");
        gateway::fastcgi::parse_cgi_response(&stdout).expect("a CGI response")
    };
    assert_every_answer(&mut send, "CGI");
}

#[test]
fn a_50_mb_download_through_fastcgi() {
    let server = TestServer::start(Protocol::FastCgi, Arc::new(app()), true, config());
    let mut client = server.client();
    let mut send = |request: TestRequest| client.send(&request, "").expect("an answer");
    assert_every_answer(&mut send, "FastCGI");
}

#[test]
fn a_50_mb_download_through_scgi() {
    let server = TestServer::start(Protocol::Scgi, Arc::new(app()), false, config());
    let mut send = |request: TestRequest| server.scgi().send(&request, "").expect("an answer");
    assert_every_answer(&mut send, "SCGI");
}

#[test]
fn a_50_mb_download_through_http() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
    let config = HttpConfig {
        gateway: GatewayConfig::default(),
        workers: 1,
        blocking_threads: 4,
    };
    let server = start(listener, Arc::new(app()), config).expect("the server starts");
    let addr = server.local_addr();
    let mut send = |request: TestRequest| {
        let mut head = format!("{} {} HTTP/1.1", request.method, request.target());
        for (name, value) in &request.headers {
            head.push_str(&format!("\r\n{name}: {value}"));
        }
        let reply = crate::http::exchange(addr, &head, b"");
        let mut headers = http::HeaderMap::new();
        for (name, value) in &reply.headers {
            headers.append(
                header::HeaderName::try_from(name.as_str()).unwrap(),
                value.parse().unwrap(),
            );
        }
        TestResponse {
            status: StatusCode::from_u16(reply.status).unwrap(),
            headers,
            body: reply.body,
        }
    };
    assert_every_answer(&mut send, "HTTP");
}
