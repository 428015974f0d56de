//! Forwarding headers through every adapter: believed from a trusted proxy (the client's address
//! and https reach the app, the session cookie is `Secure`, HSTS is sent), ignored from any other
//! peer. Every adapter's peer here is 127.0.0.1 (the TCP peer, or `REMOTE_ADDR` as the FastCGI,
//! SCGI and CGI clients send it), so one stack trusts loopback and the other trusts only 10/8.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::sync::Arc;

use gateway::fastcgi::{cgi_params, parse_cgi_response};
use gateway::middleware::{self, StackConfig};
use gateway::proxy::TrustedProxies;
use gateway::server::Protocol;
use gateway::session::{Session, SessionKeys};
use gateway::testing::{TestClient, TestRequest, TestResponse};
use gateway::{App, Request, Response};

use crate::sessions::{http_send, start_http, MOUNT};
use crate::support::{cgi_process, cgi_response_in, config, serve_one_cgi_request, TestServer};

/// Set in the environment of the CGI child process only.
const CHILD_MARKER: &str = "GATEWAY_IT_PROXY_CGI_CHILD";
/// In the CGI child's environment: `1` when its stack trusts loopback.
const CHILD_TRUSTS: &str = "GATEWAY_IT_PROXY_TRUSTS_LOOPBACK";

/// Starts a session (so a cookie is set) and says who and how the client is.
fn app(request: Request) -> Response {
    if let Some(session) = request.extensions().get::<Session>() {
        session.set("seen", "yes");
    }
    let client = request
        .remote_addr()
        .map(|addr| addr.to_string())
        .unwrap_or_default();
    Response::new(format!("{client} {}", request.environ().scheme.as_str()).into())
}

fn stacked(trust_loopback: bool) -> impl App {
    let trusted = if trust_loopback {
        "127.0.0.0/8"
    } else {
        "10.0.0.0/8"
    };
    let keys = SessionKeys::generate().expect("the OS gives random keys");
    let config = StackConfig {
        trusted_proxies: [trusted.parse().expect("a CIDR")]
            .into_iter()
            .collect::<TrustedProxies>(),
        ..StackConfig::new(Arc::new(keys))
    };
    middleware::stack(app, &config).expect("the stack builds")
}

fn forwarded_request() -> TestRequest {
    TestRequest::get("/")
        .with_header("X-Forwarded-For", "198.51.100.1, 203.0.113.9")
        .with_header("X-Forwarded-Proto", "https")
}

/// What every adapter must show, `send` delivering through a stack that trusts loopback or not.
fn believed_only_from_trusted_peers(send: &dyn Fn(bool, TestRequest) -> TestResponse) {
    let trusted = send(true, forwarded_request());
    assert_eq!(trusted.text(), "203.0.113.9 https");
    let cookie = trusted.header("set-cookie").expect("a session cookie");
    assert!(cookie.split("; ").any(|a| a == "Secure"), "{cookie}");
    assert!(trusted.header("strict-transport-security").is_some());

    let rfc = send(
        true,
        TestRequest::get("/").with_header("Forwarded", r#"for="[2001:db8::1]:4711";proto=https"#),
    );
    assert_eq!(rfc.text(), "2001:db8::1 https");

    let malformed = send(
        true,
        TestRequest::get("/")
            .with_header("X-Forwarded-For", "203.0.113.9, not-an-address")
            .with_header("X-Forwarded-Proto", "https"),
    );
    assert_eq!(malformed.text(), "127.0.0.1 http");

    let untrusted = send(false, forwarded_request());
    assert_eq!(untrusted.text(), "127.0.0.1 http");
    let cookie = untrusted.header("set-cookie").expect("a session cookie");
    assert!(!cookie.split("; ").any(|a| a == "Secure"), "{cookie}");
    assert_eq!(untrusted.header("strict-transport-security"), None);
}

#[test]
fn in_process() {
    let clients = [stacked(false), stacked(true)].map(|app| TestClient::new(app).with_mount(MOUNT));
    believed_only_from_trusted_peers(&|trust, request| clients[usize::from(trust)].send(request));
}

#[test]
fn over_fastcgi_and_scgi() {
    for protocol in [Protocol::FastCgi, Protocol::Scgi] {
        let servers = [false, true]
            .map(|trust| TestServer::start(protocol, Arc::new(stacked(trust)), false, config()));
        believed_only_from_trusted_peers(&|trust, request| {
            let server = &servers[usize::from(trust)];
            if protocol == Protocol::Scgi {
                server.scgi().send(&request, MOUNT)
            } else {
                server.client().send(&request, MOUNT)
            }
            .expect("the server answers")
        });
    }
}

#[test]
fn over_http() {
    let servers = [false, true].map(|trust| start_http(Arc::new(stacked(trust))));
    believed_only_from_trusted_peers(&|trust, request| {
        http_send(servers[usize::from(trust)].local_addr(), &request)
    });
    for server in servers {
        server.stop().expect("the server stops");
    }
}

#[test]
fn over_cgi() {
    believed_only_from_trusted_peers(&|trust, request| {
        let mut vars: Vec<(OsString, OsString)> = cgi_params(&request, MOUNT)
            .into_iter()
            .map(|(name, value)| (OsString::from_vec(name), OsString::from_vec(value)))
            .collect();
        vars.push((CHILD_TRUSTS.into(), if trust { "1" } else { "0" }.into()));
        let mut child = cgi_process("proxies::cgi_child", CHILD_MARKER, vars);
        drop(child.stdin.take().expect("stdin is piped"));
        let output = child.wait_with_output().expect("the CGI process finishes");
        assert!(output.status.success(), "{}", output.status);
        parse_cgi_response(cgi_response_in(&output.stdout)).expect("a well-formed CGI response")
    });
}

#[test]
#[ignore = "runs only as the CGI process started by over_cgi"]
fn cgi_child() {
    let trust = std::env::var_os(CHILD_TRUSTS).is_some_and(|value| value == "1");
    serve_one_cgi_request(CHILD_MARKER, &stacked(trust));
}
