//! The CGI adapter as a web server runs it: a real process, with the request
//! in its environment and on its stdin, and the response read from its stdout.
//!
//! The child process is this test binary itself, started again to run only
//! [`child_process`], which serves one request with `gateway::cgi::run`.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

use gateway::{middleware, Request, Response};

use crate::support::{cgi_process, cgi_response_in, serve_one_cgi_request};

/// Set in the environment of the child process only.
const CHILD_MARKER: &str = "GATEWAY_IT_CGI_CHILD";

/// Echoes what the app was given: method, raw path and body.
fn echo(mut request: Request) -> Response {
    let mut text = format!("{} ", request.method()).into_bytes();
    text.extend_from_slice(request.path_info());
    text.push(b' ');
    match request.body_mut().read_to_vec() {
        Ok(body) => text.extend_from_slice(&body),
        Err(err) => return gateway::IntoResponse::into_response(gateway::HttpError::from(err)),
    }
    let mut response = Response::new(text.into());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    response
}

#[test]
#[ignore = "runs only as the CGI process started by the tests below"]
fn child_process() {
    // Logging, errors and compression without sessions: these tests post
    // bodies with no CSRF token (the session flow is in sessions.rs).
    let app =
        middleware::LogRequests::new(middleware::CatchErrors::new(middleware::Gzip::new(echo)));
    serve_one_cgi_request(CHILD_MARKER, &app);
}

/// Runs `child_process` as a web server would run a CGI program, writes
/// `stdin` to it and keeps stdin open, and returns the response's head and
/// body.
fn run_cgi(vars: &[(&str, &[u8])], stdin: &[u8]) -> (String, Vec<u8>) {
    let vars = vars
        .iter()
        .map(|(name, value)| (name, OsStr::from_bytes(value)));
    let mut child = cgi_process("cgi::child_process", CHILD_MARKER, vars);

    // Stdin stays open until the process has finished: one that read stdin
    // to its end, rather than CONTENT_LENGTH bytes, would never finish.
    let mut child_stdin = child.stdin.take().expect("stdin is piped");
    child_stdin.write_all(stdin).expect("stdin takes the body");

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child can be polled") {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().expect("the child can be killed");
            child.wait().expect("the killed child can be reaped");
            panic!("the CGI process did not finish: did it read stdin to its end?");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(child_stdin);
    assert!(status.success(), "{status}");

    let mut output = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout is piped")
        .read_to_end(&mut output)
        .expect("stdout can be read");
    let mut response = cgi_response_in(&output).to_vec();
    let end = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a CGI head ends with a blank line");
    let body = response.split_off(end + 4);
    (
        String::from_utf8(response).expect("a CGI head is text"),
        body,
    )
}

#[test]
fn a_real_cgi_process_answers_one_request() {
    let (head, body) = run_cgi(
        &[
            ("GATEWAY_INTERFACE", b"CGI/1.1"),
            ("REQUEST_METHOD", b"POST"),
            ("SCRIPT_NAME", b"/wiki"),
            ("PATH_INFO", b"/caf\xE9"),
            ("CONTENT_LENGTH", b"5"),
            ("CONTENT_TYPE", b"text/plain"),
            ("SERVER_PROTOCOL", b"HTTP/1.1"),
        ],
        b"helloEXTRA",
    );
    assert!(head.starts_with("Status: 200 OK\r\n"), "{head}");
    assert!(head.contains("content-type: text/plain\r\n"), "{head}");
    assert_eq!(body, b"POST /caf\xE9 hello");
}

#[test]
fn a_real_cgi_process_compresses_through_the_middleware() {
    let text = "a line of wiki text\n".repeat(100);
    let length = text.len().to_string();
    let (head, body) = run_cgi(
        &[
            ("REQUEST_METHOD", b"PUT"),
            ("PATH_INFO", b"/Page"),
            ("CONTENT_LENGTH", length.as_bytes()),
            ("HTTP_ACCEPT_ENCODING", b"gzip, br"),
        ],
        text.as_bytes(),
    );
    assert!(head.starts_with("Status: 200 OK\r\n"), "{head}");
    assert!(head.contains("content-encoding: gzip\r\n"), "{head}");
    let mut decoded = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut decoded)
        .unwrap();
    assert_eq!(decoded, format!("PUT /Page {text}"));
}

#[test]
fn a_real_cgi_process_answers_400_to_a_broken_environment() {
    let (head, body) = run_cgi(&[("PATH_INFO", b"/Page")], b"");
    assert!(head.starts_with("Status: 400 Bad Request\r\n"), "{head}");
    assert!(String::from_utf8_lossy(&body).contains("400 Bad Request"));
}
