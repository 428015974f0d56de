//! What operators get beyond the scenarios, with settings and accounts the scenarios' default wikis
//! do not have: the sitemap with protected pages and `base_url`, `/+metrics` switched on and
//! restricted, and the audit log as an admin reads it.

use http::StatusCode;

use crate::accounts::quire_user_add;
use crate::drivers::InProcess;
use crate::suite::{Browser, Gateway};

const PASSWORD: &str = "a long password";

/// The value of the sample `series` in a metrics text.
fn sample(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn the_sitemap_lists_only_what_anonymous_readers_may_read() {
    let wiki = InProcess::start_with_settings("base_url = \"https://wiki.example.org\"\n");
    quire_user_add(wiki.data_dir(), "root", true, PASSWORD);
    let admin = Browser::new(&wiki);
    admin.log_in("root", PASSWORD);
    for (page, text) in [
        ("OpenPlans", "Everyone may read this.\n"),
        (
            "SecretPlans",
            "#acl root:read,write,delete,admin\nHidden.\n",
        ),
        ("KnownPlans", "#acl Known:read All:\nFor accounts.\n"),
    ] {
        let saved = admin.save_page(page, text, None);
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    }
    // Whoever asks, even an admin who may read every page, gets the anonymous reader's list.
    for browser in [Browser::new(&wiki), admin] {
        let xml = browser.get("/sitemap.xml").text();
        assert!(
            xml.contains("<loc>https://wiki.example.org/OpenPlans</loc>"),
            "{xml}"
        );
        assert!(
            !xml.contains("SecretPlans") && !xml.contains("KnownPlans"),
            "{xml}"
        );
    }
    let robots = wiki.get("/robots.txt").text();
    assert!(
        robots.contains("Sitemap: https://wiki.example.org/sitemap.xml\n"),
        "{robots}"
    );
}

#[test]
fn the_sitemap_can_be_switched_off() {
    let wiki = InProcess::start_with_settings("sitemap = false\n");
    assert_eq!(wiki.get("/sitemap.xml").status, StatusCode::NOT_FOUND);
    assert!(!wiki.get("/robots.txt").text().contains("Sitemap:"));
}

#[test]
fn metrics_when_switched_on_count_requests_saves_and_lag() {
    let wiki = InProcess::start_with_settings("metrics = true\n");
    let first = wiki.get("/+metrics");
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(
        first.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert_eq!(sample(&first.text(), "quire_saves_total"), Some(0));
    let saved = Browser::new(&wiki).save_page("Counted", "One save.\n", None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(wiki.get("/NoSuchPage").status, StatusCode::NOT_FOUND);
    let text = wiki.get("/+metrics").text();
    assert_eq!(sample(&text, "quire_saves_total"), Some(1), "{text}");
    assert_eq!(
        sample(
            &text,
            "quire_http_requests_total{route=\"edit\",status=\"3xx\"}"
        ),
        Some(1),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "quire_http_requests_total{route=\"page\",status=\"4xx\"}"
        ),
        Some(1),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "quire_http_requests_total{route=\"metrics\",status=\"2xx\"}"
        ),
        Some(1),
        "{text}"
    );
    let count = sample(&text, "quire_http_request_duration_seconds_count").unwrap();
    assert!(count >= 4, "{text}");
    assert!(
        sample(&text, "quire_index_lag_revisions").is_some(),
        "{text}"
    );
}

#[test]
fn metrics_answer_only_the_allowed_peers() {
    // The in-process client's peer is 127.0.0.1, outside this list.
    let wiki = InProcess::start_with_settings("metrics = true\nmetrics_allow = [\"10.0.0.0/8\"]\n");
    let refused = wiki.get("/+metrics");
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.text().contains("quire_"), "{}", refused.text());
}

#[test]
fn the_audit_log_shows_admins_what_happened_and_no_one_else() {
    let wiki = InProcess::start();
    quire_user_add(wiki.data_dir(), "root", true, PASSWORD);
    quire_user_add(wiki.data_dir(), "kim", false, PASSWORD);
    let admin = Browser::new(&wiki);
    admin.log_in("root", PASSWORD);
    let kim = Browser::new(&wiki);
    kim.log_in("kim", PASSWORD);
    for (page, text) in [
        ("Doomed", "Soon gone.\n"),
        ("Guarded", "#acl root:read,write,delete,admin\nMine.\n"),
    ] {
        assert_eq!(
            admin.save_page(page, text, None).status,
            StatusCode::SEE_OTHER
        );
    }
    assert_eq!(
        kim.post_form("/+delete/Doomed", &[("comment", "<b>spam</b>")])
            .status,
        StatusCode::SEE_OTHER
    );
    Browser::new(&wiki).log_in("<script>alert(1)</script>", "a guess");
    let promoted = admin.post_form(
        "/+admin",
        &[("action", "role"), ("name", "kim"), ("role", "admin")],
    );
    assert_eq!(promoted.status, StatusCode::OK);
    assert_eq!(
        admin
            .post_form(
                "/+admin",
                &[("action", "role"), ("name", "kim"), ("role", "user")]
            )
            .status,
        StatusCode::OK
    );

    let page = admin.get("/+admin");
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    let log = &html[html.find("Audit log").expect("an audit log section")..];
    let rows: Vec<&str> = log.split("<tr>").skip(2).collect();
    // Newest first: the role changes, the failed login, the deletion, the ACL line.
    let kinds: Vec<&str> = rows
        .iter()
        .map(|row| row.split("<td>").nth(4).unwrap().split('<').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["role", "role", "login-failed", "delete", "acl"],
        "{log}"
    );
    assert!(rows[3].contains("<td>kim</td>") && rows[3].contains("<td>Doomed</td>"));
    assert!(rows[3].contains("&lt;b&gt;spam&lt;/b&gt;"), "{}", rows[3]);
    assert!(rows[2].contains("&lt;script&gt;"), "{}", rows[2]);
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(rows[4].contains("Guarded"), "{}", rows[4]);

    let deletions = admin.get("/+admin?audit_kind=delete").text();
    let log = &deletions[deletions.find("Audit log").unwrap()..];
    assert_eq!(log.matches("<tr>").count(), 2, "{log}");
    assert_eq!(
        admin.get("/+admin?audit_kind=nope").status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        kim.get("/+admin?audit_kind=delete").status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        Browser::new(&wiki).get("/+admin").status,
        StatusCode::FORBIDDEN
    );
}

/// Under CGI each request is a process of its own: the in-process counters have seen nothing when
/// the scrape answers, and only the gauges read from the database say anything (see the
/// `metrics` module doc).
#[test]
fn under_cgi_metrics_carry_only_the_database_gauges() {
    let data = tempfile::TempDir::new().unwrap();
    std::fs::write(data.path().join("quire.toml"), "metrics = true\n").unwrap();
    let wiki = crate::drivers::Cgi::start_in(data);
    let saved = Browser::new(&wiki).save_page("CountedOnce", "One save.\n", None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let metrics = wiki.get("/+metrics");
    assert_eq!(metrics.status, StatusCode::OK, "{}", metrics.text());
    let text = metrics.text();
    assert_eq!(sample(&text, "quire_saves_total"), Some(0), "{text}");
    assert_eq!(
        sample(&text, "quire_http_request_duration_seconds_count"),
        Some(0),
        "{text}"
    );
    assert!(
        sample(&text, "quire_index_lag_revisions").is_some(),
        "{text}"
    );
}
