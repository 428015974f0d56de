//! nginx → `quire serve` with `trusted_proxies`: the wiki sees the client's address and https
//! through the proxy it trusts, and the same headers sent by a client straight to quire change
//! nothing.
//!
//! Everything runs on loopback, so the addresses are told apart by source: nginx connects to quire
//! from 127.0.0.3 (`proxy_bind`), the one address quire trusts, and the test's client connects
//! from 127.0.0.1. nginx stands for a TLS front by sending `X-Forwarded-Proto: https` (the deploy
//! file sends `$scheme`). The client also sends a forged `X-Forwarded-For` and `X-Forwarded-Proto`
//! itself, which must count for nothing either way.

use std::fs;
use std::net::SocketAddr;

use gateway::testing::{TestRequest, TestResponse};
use http::StatusCode;

use crate::servers::{Combination, Ready};
use crate::suite::{http1_send, Browser, Gateway};

const PROXY_SOURCE: &str = "127.0.0.3";
const FORGED: &str = "203.0.113.7";

/// A client at 127.0.0.1 that forges forwarding headers on every request.
struct Forging {
    addr: SocketAddr,
}

impl Gateway for Forging {
    fn mount(&self) -> &str {
        "/wiki"
    }

    fn send(&self, request: TestRequest) -> TestResponse {
        let request = request
            .with_header("X-Forwarded-For", FORGED)
            .with_header("X-Forwarded-Proto", "https");
        http1_send(self.addr, "/wiki", &request)
    }
}

fn is_secure(cookie: &str) -> bool {
    cookie.split("; ").any(|attribute| attribute == "Secure")
}

/// Saves `page` anonymously through `gw` and returns its history page's HTML.
fn edit_and_history(gw: &dyn Gateway, page: &str) -> (TestResponse, String) {
    let browser = Browser::new(gw);
    let editor = browser.get(&format!("/+edit/{page}"));
    assert_eq!(editor.status, StatusCode::OK, "{}", editor.text());
    let saved = browser.save_page(page, "saved from behind a proxy, or not", None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    (editor, gw.get(&format!("/+history/{page}")).text())
}

#[test]
fn nginx_trusted_proxy_forwards_https_and_the_client_address() {
    let mut run = Combination::new("nginx (https) + quire serve trusting it", "/wiki");
    let settings = run.data().join("quire.toml");
    let mut toml = fs::read_to_string(&settings).unwrap();
    toml.push_str(&format!("\ntrusted_proxies = [\"{PROXY_SOURCE}\"]\n"));
    fs::write(&settings, toml).unwrap();
    let http = format!("127.0.0.1:{}", e2e::free_port());
    run.quire(
        &["serve", "--listen", &http, "--mount", "/wiki"],
        Ready::Tcp(&http),
    );
    run.nginx_edited("nginx/quire-proxy.conf", &[("QUIRE", &http)], |site| {
        let site = site.replace(
            "proxy_set_header X-Forwarded-Proto $scheme;",
            "proxy_set_header X-Forwarded-Proto https;",
        );
        assert!(site.contains("X-Forwarded-Proto https"), "{site}");
        site.replace(
            "proxy_http_version 1.1;",
            &format!("proxy_http_version 1.1;\n        proxy_bind {PROXY_SOURCE};"),
        )
    });

    // Through the trusted proxy: https, and the client's own address (not the proxy's, not the
    // forged one, which nginx's $proxy_add_x_forwarded_for keeps to the left of the real one).
    let proxied = Forging { addr: run.addr() };
    let (editor, history) = edit_and_history(&proxied, "ThroughTheProxy");
    let cookie = editor.header("set-cookie").expect("a session cookie");
    assert!(is_secure(cookie), "{cookie}");
    assert!(editor.header("strict-transport-security").is_some());
    assert!(history.contains("127.0.0.1"), "{history}");
    assert!(!history.contains(PROXY_SOURCE), "{history}");
    assert!(!history.contains(FORGED), "{history}");

    // Straight to quire: the peer 127.0.0.1 is no trusted proxy, so the forged headers are ignored.
    let direct = Forging {
        addr: http.parse().unwrap(),
    };
    let (editor, history) = edit_and_history(&direct, "StraightToQuire");
    let cookie = editor.header("set-cookie").expect("a session cookie");
    assert!(!is_secure(cookie), "{cookie}");
    assert_eq!(editor.header("strict-transport-security"), None);
    assert!(history.contains("127.0.0.1"), "{history}");
    assert!(!history.contains(FORGED), "{history}");
}
