//! The wiki's Atom and RSS feeds read by a real feed parser, Python's `feedparser` (Debian's
//! python3-feedparser, installed here when missing), from a real gateway at `/` (`quire serve`) and
//! under the `/wiki` prefix (nginx → FastCGI): it must report no error (`bozo == 0`), and every id
//! and link must be an absolute URL under the mount the client used.

use std::process::Command;

use http::StatusCode;

use crate::servers::{Combination, Ready};
use crate::suite::Gateway;

/// Debian's interpreter, which sees Debian's python3-feedparser: a `python3` earlier on the PATH
/// (pyenv, a virtualenv) would not.
const PYTHON: &str = "/usr/bin/python3";

/// Parses each feed URL with feedparser and prints, per feed, `bozo` (as 0 or 1), the feed's version, and each
/// entry's id and link; fails the script on a parse error.
const PARSE: &str = r#"
import sys, feedparser
for url in sys.argv[1:]:
    feed = feedparser.parse(url)
    print("FEED", url, int(bool(feed.get("bozo"))), feed.get("version"), len(feed.entries))
    if feed.get("bozo"):
        print("ERROR", repr(feed.get("bozo_exception")))
    for entry in feed.entries:
        print("ENTRY", entry.get("id"), entry.get("link"), entry.get("updated_parsed") is not None)
"#;

fn ensure_feedparser() {
    e2e::ensure_installed("python3-feedparser", || {
        Command::new(PYTHON)
            .args(["-c", "import feedparser"])
            .status()
            .is_ok_and(|status| status.success())
    });
}

fn check_feeds(run: &Combination) {
    let saved = crate::suite::post_form(
        run,
        "/+edit/Feed Test",
        &[
            ("text", "Feeds & <angle brackets>\n"),
            ("comment", "a <b>bold</b> & \"quoted\" comment"),
            ("action", "save"),
        ],
    );
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let base = format!("http://{}{}", run.addr(), run.mount());
    let urls: Vec<String> = [
        "/+feed/atom",
        "/+feed/rss",
        "/+feed/atom/Feed%20Test",
        "/+feed/rss/Feed%20Test",
    ]
    .iter()
    .map(|path| format!("{base}{path}"))
    .collect();
    let output = Command::new(PYTHON)
        .arg("-c")
        .arg(PARSE)
        .args(&urls)
        .output()
        .expect("/usr/bin/python3 runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "feedparser failed: {}\n{report}",
        String::from_utf8_lossy(&output.stderr)
    );
    let feeds: Vec<&str> = report
        .lines()
        .filter(|line| line.starts_with("FEED "))
        .collect();
    assert_eq!(feeds.len(), 4, "{report}");
    for feed in feeds {
        let fields: Vec<&str> = feed.split(' ').collect();
        assert_eq!(fields[2], "0", "feedparser reports an error: {report}");
        assert!(
            fields[3].starts_with("atom") || fields[3].starts_with("rss20"),
            "{report}"
        );
        assert_ne!(fields[4], "0", "no entries: {report}");
    }
    let entries: Vec<&str> = report
        .lines()
        .filter(|line| line.starts_with("ENTRY "))
        .collect();
    assert!(!entries.is_empty(), "{report}");
    for entry in &entries {
        let fields: Vec<&str> = entry.split(' ').collect();
        assert!(
            fields[1].starts_with(&format!("{base}/")),
            "id under the mount: {report}"
        );
        assert!(
            fields[2].starts_with(&format!("{base}/")),
            "link under the mount: {report}"
        );
        assert_eq!(fields[3], "True", "a parsed date: {report}");
    }
    let page_entry = format!("{base}/Feed%20Test?rev=1");
    assert!(
        entries.iter().any(|entry| entry.contains(&page_entry)),
        "{page_entry} missing: {report}"
    );
}

#[test]
fn feedparser_reads_the_feeds_at_the_root() {
    ensure_feedparser();
    let mut run = Combination::new("quire serve", "");
    let http = run.addr().to_string();
    run.quire(&["serve", "--listen", &http], Ready::Tcp(&http));
    check_feeds(&run);
}

#[test]
fn feedparser_reads_the_feeds_under_a_prefix() {
    ensure_feedparser();
    let mut run = Combination::new("nginx + FastCGI over TCP", "/wiki");
    let fastcgi = format!("127.0.0.1:{}", e2e::free_port());
    run.quire(&["fastcgi", "--listen", &fastcgi], Ready::Tcp(&fastcgi));
    run.nginx("nginx/quire-fastcgi.conf", &[("QUIRE", &fastcgi)]);
    check_feeds(&run);
}
