//! One session + CSRF + conditional GET flow, run through every adapter the
//! gateway has: the in-process client, a real CGI process per request,
//! FastCGI and SCGI servers, and the HTTP server. Cookies go over each
//! protocol's own header path (`HTTP_COOKIE`, `Set-Cookie` in a CGI header
//! block, HTTP headers), so a session that works in one and not another
//! shows up here.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::ffi::OsStringExt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gateway::fastcgi::{cgi_params, parse_cgi_response};
use gateway::middleware::{self, CsrfToken, StackConfig};
use gateway::server::Protocol;
use gateway::session::{Session, SessionKeys};
use gateway::testing::{CookieJar, TestClient, TestRequest, TestResponse};
use gateway::{App, GatewayConfig, Request, Response};
use http::{Method, StatusCode};

use crate::support::{
    cgi_process, cgi_response_in, config, dechunk, serve_one_cgi_request, TestServer,
};

/// One fixed key, so that every CGI process opens what the one before sealed.
const KEY_FILE: &str = "# test key\nIf-3AmqHawKPDkvZtmN4gfJQPalOVuYuAPIyMDvQnwo\n";
pub(crate) const MOUNT: &str = "/wiki";
const COOKIE: &str = "quire_session";
/// Set in the environment of the CGI child process only.
const CHILD_MARKER: &str = "GATEWAY_IT_SESSION_CGI_CHILD";

/// `/set?k=v` stores a value, `/get?k` shows it, `/token` shows the CSRF
/// token, `POST /change` stores `changed=` the posted body's `text` field.
fn app(mut request: Request) -> Response {
    let session = request
        .extensions()
        .get::<Session>()
        .expect("inside Sessions")
        .clone();
    let text = match (request.method().clone(), request.path_info()) {
        (Method::GET, b"/set") => {
            let (key, value) = request.query().split_once('=').unwrap_or(("", ""));
            session.set(key, value);
            "set".to_owned()
        }
        (Method::GET, b"/get") => session.get(request.query()).unwrap_or_default(),
        (Method::GET, b"/token") => request
            .extensions()
            .get::<CsrfToken>()
            .expect("inside Csrf")
            .value(),
        (Method::POST, b"/change") => {
            let body = request.body_mut().read_to_vec().unwrap_or_default();
            let form = gateway::form::Form::parse(&body).unwrap_or_default();
            session.set("changed", form.get("text").unwrap_or("?"));
            "changed".to_owned()
        }
        _ => "?".to_owned(),
    };
    let mut response = Response::new(text.into());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    response
}

fn stacked() -> impl App {
    let keys = SessionKeys::parse(KEY_FILE).expect("the test key parses");
    middleware::stack(app, &StackConfig::new(Arc::new(keys))).expect("the default stack builds")
}

/// The flow every adapter must pass; `send` delivers one request below
/// the mount and returns the response as it came over the wire.
fn session_flow(send: &dyn Fn(TestRequest) -> TestResponse) {
    let jar = std::cell::RefCell::new(CookieJar::new());
    let go = |request: TestRequest| {
        let request = jar.borrow().apply(request);
        let response = send(request);
        jar.borrow_mut().store(&response);
        response
    };

    let set = go(TestRequest::get("/set?user=ada"));
    assert_eq!(set.status, StatusCode::OK, "{}", set.text());
    let cookie = set
        .header("set-cookie")
        .expect("a session cookie")
        .to_owned();
    assert!(cookie.starts_with("quire_session="), "{cookie}");
    for attribute in ["Path=/wiki", "HttpOnly", "SameSite=Lax", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("ada"), "{cookie}");
    assert!(set
        .header("content-security-policy")
        .is_some_and(|csp| csp.contains("script-src 'self'")));
    assert_eq!(set.header("x-content-type-options"), Some("nosniff"));

    let read = go(TestRequest::get("/get?user"));
    assert_eq!(read.text(), "ada");
    assert_eq!(
        read.header("set-cookie"),
        None,
        "an unchanged session sends no cookie"
    );
    assert_eq!(
        send(TestRequest::get("/get?user")).text(),
        "",
        "no cookie, no session"
    );

    // A repeat GET of the same bytes is a 304 with the same tag.
    let etag = read
        .header("etag")
        .expect("a 200 GET gets an ETag")
        .to_owned();
    let again = go(TestRequest::get("/get?user").with_header("if-none-match", &etag));
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag.as_str()));

    let token = go(TestRequest::get("/token")).text();
    assert_eq!(token.len(), 43, "{token}");
    assert_eq!(go(TestRequest::get("/token")).text(), token);

    let missing = go(TestRequest::post_form("/change", &[("text", "missing")]));
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    assert!(missing.text().contains("CSRF"), "{}", missing.text());
    let forged = go(TestRequest::post_form(
        "/change",
        &[("text", "forged"), ("csrf_token", "a-token-from-elsewhere")],
    ));
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        go(TestRequest::get("/get?changed")).text(),
        "",
        "nothing changed"
    );

    let right = go(TestRequest::post_form(
        "/change",
        &[("text", "by form"), ("csrf_token", &token)],
    ));
    assert_eq!(right.status, StatusCode::OK, "{}", right.text());
    assert_eq!(go(TestRequest::get("/get?changed")).text(), "by form");
    let by_header = go(TestRequest::post_form("/change", &[("text", "by header")])
        .with_header("X-CSRF-Token", &token));
    assert_eq!(by_header.status, StatusCode::OK);
    assert_eq!(go(TestRequest::get("/get?changed")).text(), "by header");

    // One byte of the sealed cookie changed: the session is gone, and the
    // right token of the real session no longer passes with it.
    let value = jar
        .borrow()
        .get(COOKIE)
        .expect("the jar holds the session")
        .to_owned();
    let mut bytes = URL_SAFE_NO_PAD
        .decode(&value)
        .expect("the cookie is base64");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    let altered = format!("{COOKIE}={}", URL_SAFE_NO_PAD.encode(&bytes));
    let ignored = send(TestRequest::get("/get?user").with_header("cookie", &altered));
    assert_eq!(ignored.status, StatusCode::OK);
    assert_eq!(ignored.text(), "", "an altered cookie is ignored");
    let expired = ignored
        .header("set-cookie")
        .expect("the bad cookie is expired");
    assert!(expired.contains("Max-Age=0"), "{expired}");
    let refused = send(
        TestRequest::post_form("/change", &[("text", "altered"), ("csrf_token", &token)])
            .with_header("cookie", &altered),
    );
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        go(TestRequest::get("/get?user")).text(),
        "ada",
        "the real one still works"
    );
    assert_eq!(go(TestRequest::get("/get?changed")).text(), "by header");
}

#[test]
fn the_flow_in_process() {
    let client = TestClient::new(stacked()).with_mount(MOUNT);
    session_flow(&|request| client.send(request));
}

#[test]
fn the_flow_over_fastcgi() {
    let server = TestServer::start(Protocol::FastCgi, Arc::new(stacked()), true, config());
    session_flow(&|request| {
        server
            .client()
            .send(&request, MOUNT)
            .expect("the FastCGI server answers")
    });
}

/// A web server that terminated TLS says so with `HTTPS=on`: the cookie is
/// then `Secure` and HSTS is sent; over plain HTTP neither.
#[test]
fn over_https_the_cookie_is_secure_and_hsts_is_sent() {
    let server = TestServer::start(Protocol::FastCgi, Arc::new(stacked()), true, config());
    let request = TestRequest::get("/set?user=ada");
    for https in [true, false] {
        let mut params = cgi_params(&request, MOUNT);
        if https {
            params.push((b"HTTPS".to_vec(), b"on".to_vec()));
        }
        let response = server
            .client()
            .request(&params, b"")
            .expect("the FastCGI server answers")
            .parse()
            .expect("a CGI response");
        let cookie = response.header("set-cookie").expect("a session cookie");
        assert_eq!(
            cookie.split("; ").any(|attribute| attribute == "Secure"),
            https,
            "{cookie}"
        );
        assert_eq!(
            response.header("strict-transport-security").is_some(),
            https
        );
    }
}

#[test]
fn the_flow_over_scgi() {
    let server = TestServer::start(Protocol::Scgi, Arc::new(stacked()), false, config());
    session_flow(&|request| {
        server
            .scgi()
            .send(&request, MOUNT)
            .expect("the SCGI server answers")
    });
}

#[test]
fn the_flow_over_http() {
    let server = start_http(Arc::new(stacked()));
    let addr = server.local_addr();
    session_flow(&|request| http_send(addr, &request));
    server.stop().expect("the server stops");
}

#[test]
fn the_flow_over_cgi() {
    session_flow(&cgi_send);
}

#[test]
#[ignore = "runs only as the CGI process started by the_flow_over_cgi"]
fn cgi_child() {
    serve_one_cgi_request(CHILD_MARKER, &stacked());
}

/// Runs [`cgi_child`] as a web server runs a CGI program: the request in
/// its environment and on stdin, the response on stdout.
fn cgi_send(request: TestRequest) -> TestResponse {
    let vars = cgi_params(&request, MOUNT)
        .into_iter()
        .map(|(name, value)| (OsString::from_vec(name), OsString::from_vec(value)));
    let mut child = cgi_process("sessions::cgi_child", CHILD_MARKER, vars);
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(&request.body)
        .expect("stdin takes the body");
    let output = child.wait_with_output().expect("the CGI process finishes");
    assert!(output.status.success(), "{}", output.status);
    parse_cgi_response(cgi_response_in(&output.stdout)).expect("a well-formed CGI response")
}

/// Sends `request` to the HTTP server at `addr` over HTTP/1.1 and reads the
/// reply to the end of the connection.
/// `app` served over HTTP on a free local port under [`MOUNT`], by one worker.
pub(crate) fn start_http(app: Arc<dyn App>) -> gateway::http::HttpServerHandle {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
    let config = gateway::http::HttpConfig {
        gateway: GatewayConfig {
            mount_override: Some(MOUNT.to_owned()),
            ..GatewayConfig::default()
        },
        workers: 1,
        blocking_threads: 2,
    };
    gateway::http::start(listener, app, config).expect("the server starts")
}

pub(crate) fn http_send(addr: SocketAddr, request: &TestRequest) -> TestResponse {
    let mut stream = TcpStream::connect(addr).expect("the server accepts");
    let mut head = format!(
        "{} {MOUNT}{} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        request.method,
        request.target(),
        request.body.len()
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).expect("the head is sent");
    stream.write_all(&request.body).expect("the body is sent");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("the reply is read");
    let end = raw
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a complete response head");
    let text = std::str::from_utf8(&raw[..end]).expect("an ASCII head");
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .and_then(|code| StatusCode::from_u16(code).ok())
        .expect("a status line");
    let mut headers = http::HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("a header line has a colon");
        headers.append(
            http::HeaderName::try_from(name.trim()).expect("a header name"),
            http::HeaderValue::try_from(value.trim()).expect("a header value"),
        );
    }
    let mut body = raw[end + 4..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|value| value == "chunked")
    {
        body = dechunk(&body);
    }
    TestResponse {
        status,
        headers,
        body,
    }
}
