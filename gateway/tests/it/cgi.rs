//! The CGI adapter as a web server runs it: a real process, with the request
//! in its environment and on its stdin, and the response read from its stdout.
//!
//! The child process is this test binary itself, started again to run only
//! [`child_process`], which serves one request with `gateway::cgi::run`.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gateway::{middleware, GatewayConfig, Request, Response};

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
#[ignore = "runs only as the child process of `a_real_cgi_process_answers_one_request`"]
fn child_process() {
    assert!(
        std::env::var_os(CHILD_MARKER).is_some(),
        "this is not a test to run by hand"
    );
    let app = middleware::standard(echo, false);
    let code = match gateway::cgi::run(&app, &GatewayConfig::default()) {
        Ok(()) => 0,
        Err(_) => 1,
    };
    // Leave before the test harness prints its summary onto the response.
    std::process::exit(code);
}

#[test]
fn a_real_cgi_process_answers_one_request() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "cgi::child_process",
            "--exact",
            "--ignored",
            "--test-threads=1",
            "-q",
        ])
        .env_clear()
        .env(CHILD_MARKER, "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("REQUEST_METHOD", "POST")
        .env("SCRIPT_NAME", "/wiki")
        .env("PATH_INFO", OsStr::from_bytes(b"/caf\xE9"))
        .env("CONTENT_LENGTH", "5")
        .env("CONTENT_TYPE", "text/plain")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // More than CONTENT_LENGTH, and stdin stays open: a process that read
    // stdin to its end would never finish.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"helloEXTRA").unwrap();

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the CGI process did not finish: did it read stdin to its end?");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    assert!(status.success(), "{status}");

    let mut output = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut output)
        .unwrap();
    // The test harness prints a line of its own before the test starts.
    let start = output
        .windows(8)
        .position(|window| window == b"Status: ")
        .unwrap_or_else(|| panic!("no CGI response in {:?}", String::from_utf8_lossy(&output)));
    let response = &output[start..];
    assert!(response.starts_with(b"Status: 200 OK\r\n"));
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&response[..split]);
    assert!(head.contains("content-type: text/plain"), "{head}");
    assert_eq!(&response[split + 4..], b"POST /caf\xE9 hello");
}
