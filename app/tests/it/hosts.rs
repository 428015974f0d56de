//! The Host header is the client's to choose (issue 19, finding 8): with `allowed_hosts` set, a
//! request naming another host is refused, and with `base_url` set, absolute URLs (the feeds')
//! never carry the host a request named. Through the in-process client, CGI and `quire serve`.

use gateway::testing::TestRequest;
use http::StatusCode;
use tempfile::TempDir;

use crate::drivers::{Cgi, Http, InProcess};
use crate::suite::Gateway;

/// `quire serve`'s own start-up probe names 127.0.0.1, so it is allowed too.
const SETTINGS: &str = r#"
base_url = "https://wiki.example.org"
allowed_hosts = ["wiki.example.org", "127.0.0.1", "localhost"]
"#;

fn data_dir() -> TempDir {
    let data = TempDir::new().unwrap();
    std::fs::write(data.path().join("quire.toml"), SETTINGS).unwrap();
    data
}

fn get_as(gw: &dyn Gateway, target: &str, host: &str) -> gateway::testing::TestResponse {
    gw.send(TestRequest::get(target).with_header("Host", host))
}

fn hosts_are_checked_and_absolute_urls_come_from_base_url(gw: &dyn Gateway) {
    let refused = get_as(gw, "/", "evil.example:666");
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );
    assert!(!refused.text().contains("evil.example"));
    assert_eq!(get_as(gw, "/", "wiki.example.org").status, StatusCode::OK);
    assert_eq!(
        get_as(gw, "/", "WIKI.example.org:8443").status,
        StatusCode::OK
    );

    for feed in ["/+feed/atom", "/+feed/rss"] {
        let response = get_as(gw, feed, "wiki.example.org:8443");
        assert_eq!(response.status, StatusCode::OK, "{feed}");
        let body = response.text();
        assert!(
            body.contains(&format!("https://wiki.example.org{}/", gw.mount())),
            "{feed}: {body}"
        );
        assert!(!body.contains(":8443"), "{feed}: {body}");
    }
}

#[test]
fn in_process() {
    hosts_are_checked_and_absolute_urls_come_from_base_url(&InProcess::start_in(data_dir()));
}

#[test]
fn cgi() {
    hosts_are_checked_and_absolute_urls_come_from_base_url(&Cgi::start_in(data_dir()));
}

#[test]
fn http() {
    hosts_are_checked_and_absolute_urls_come_from_base_url(&Http::start_in(data_dir()));
}
