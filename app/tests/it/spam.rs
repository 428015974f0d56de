//! The anti-spam rules that need settings other than the defaults (the shared scenarios, which run
//! with defaults, cover the link limit and the honeypot): bad-content patterns from quire.toml and
//! from the admins' list, and the per-address rate limits, in-process and as CGI processes that
//! share nothing but the database.

use std::path::Path;
use std::process::{Command, Stdio};

use http::StatusCode;
use tempfile::TempDir;

use crate::drivers::{Cgi, InProcess, QUIRE};
use crate::suite::{Browser, Gateway};

fn data_dir(settings: &str) -> TempDir {
    let data = TempDir::new().unwrap();
    std::fs::write(data.path().join("quire.toml"), settings).unwrap();
    data
}

/// `quire user add NAME --admin` on `data`.
fn add_admin(data: &Path, name: &str) {
    let mut child = Command::new(QUIRE)
        .arg("--data")
        .arg(data)
        .args(["user", "add", name, "--admin", "--password-stdin"])
        .env_clear()
        .env("QUIRE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"the admin's password\n").unwrap();
    assert!(child.wait().unwrap().success());
}

fn assert_refused(
    response: &gateway::testing::TestResponse,
    status: StatusCode,
    why: &str,
    kept: &str,
) {
    let html = response.text();
    assert_eq!(response.status, status, "{html}");
    assert!(html.contains(why), "the reason {why:?} in {html}");
    assert!(html.contains(kept), "the text {kept:?} kept in {html}");
}

#[test]
fn bad_content_from_the_settings_refuses_only_what_a_save_adds() {
    let data = TempDir::new().unwrap();
    let path = data.path().to_owned();
    let cgi = Cgi::start_in(data);
    let browser = Browser::new(&cgi);
    // A page that held a match before the pattern was listed.
    let old = "An old page about a casino.\n";
    assert_eq!(
        browser.save_page("OldPage", old, None).status,
        StatusCode::SEE_OTHER
    );
    std::fs::write(
        path.join("quire.toml"),
        "[spam]\nbad_content = ['casino', 'cheap-pills\\.example']\n",
    )
    .unwrap();
    // It can still be edited...
    let edited = format!("{old}A new line.\n");
    assert_eq!(
        browser.save_page("OldPage", &edited, Some(1)).status,
        StatusCode::SEE_OTHER
    );
    // ...but a save that adds a match is refused, its text kept, the match and the pattern named.
    let spam = "Buy at https://CHEAP-PILLS.example today\n";
    assert_refused(
        &browser.save_page("NewPage", spam, None),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the text adds \u{201c}CHEAP-PILLS.example\u{201d}",
        "today",
    );
    assert_eq!(cgi.get("/NewPage").status, StatusCode::NOT_FOUND);
    // A logged-in account is held to the list too.
    let wiki = InProcess::start_in(data_dir("[spam]\nbad_content = ['casino']\n"));
    add_admin(wiki.data_dir(), "root");
    let admin = Browser::new(&wiki);
    admin.log_in("root", "the admin's password");
    assert_refused(
        &admin.save_page("Casino", "casino night\n", None),
        StatusCode::UNPROCESSABLE_ENTITY,
        "spam list",
        "casino night",
    );
}

#[test]
fn a_bad_pattern_in_the_settings_stops_the_start_with_a_clear_error() {
    let data = TempDir::new().unwrap();
    let init = Command::new(QUIRE)
        .arg("--data")
        .arg(data.path())
        .arg("init")
        .env_clear()
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    std::fs::write(
        data.path().join("quire.toml"),
        "[spam]\nbad_content = ['(unclosed']\n",
    )
    .unwrap();
    let output = Command::new(QUIRE)
        .arg("--data")
        .arg(data.path())
        .args(["reindex"])
        .env_clear()
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("spam.bad_content")
            && stderr.contains("\"(unclosed\" is not a valid regular expression"),
        "{stderr}"
    );
}

#[test]
fn admins_keep_a_bad_content_list_and_a_bad_pattern_is_reported() {
    let wiki = InProcess::start();
    add_admin(wiki.data_dir(), "root");
    let admin = Browser::new(&wiki);
    admin.log_in("root", "the admin's password");
    let page = admin.get("/+admin").text();
    assert!(
        page.contains("Bad content") && page.contains("spam.anonymous_max_links"),
        "{page}"
    );

    // A list with a pattern that does not compile is not saved; the page names the line.
    let refused = admin.post_form(
        "/+admin",
        &[
            ("action", "bad_content"),
            ("bad_content", "# spam\npills\n(unclosed\n"),
        ],
    );
    assert_refused(
        &refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "line 3: &quot;(unclosed&quot; is not a valid regular expression",
        "# spam\npills",
    );
    let saved = admin.post_form(
        "/+admin",
        &[
            ("action", "bad_content"),
            ("bad_content", "# spam\npills\\.example\n"),
        ],
    );
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    assert!(saved.text().contains("1 patterns"), "{}", saved.text());
    assert!(admin.get("/+admin").text().contains("Last saved by root"));

    // The list applies to every save.
    assert_refused(
        &Browser::new(&wiki).save_page("Pills", "see pills.example\n", None),
        StatusCode::UNPROCESSABLE_ENTITY,
        "pills\\.example",
        "see pills.example",
    );
    // Only admins may change it.
    let anonymous = Browser::new(&wiki);
    anonymous.get("/+login");
    let forged = anonymous.post_form("/+admin", &[("action", "bad_content"), ("bad_content", "")]);
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[test]
fn anonymous_saves_are_rate_limited_per_address_across_processes() {
    let cgi = Cgi::start_in(data_dir("[spam]\nanonymous_saves_per_hour = 2\n"));
    let browser = Browser::new(&cgi);
    for n in 0..2 {
        let text = format!("save {n}\n");
        assert_eq!(
            browser.save_page(&format!("Page{n}"), &text, None).status,
            StatusCode::SEE_OTHER
        );
    }
    let limited = browser.save_page("Page2", "the third save\n", None);
    assert_refused(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        "too many from your address",
        "the third save",
    );
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    // A preview is not a save.
    let preview = browser.post_form(
        "/+edit/Page2",
        &[
            ("text", "a preview"),
            ("comment", ""),
            ("base_rev", ""),
            ("action", "preview"),
        ],
    );
    assert_eq!(preview.status, StatusCode::OK);
}

#[test]
fn registrations_are_rate_limited_per_address() {
    let wiki = InProcess::start_with_settings("[spam]\nregistrations_per_hour = 1\n");
    let register = |name: &str| {
        let browser = Browser::new(&wiki);
        browser.get("/+register");
        browser.post_form(
            "/+register",
            &[
                ("name", name),
                ("display_name", ""),
                ("email", ""),
                ("password", "a long password"),
                ("password2", "a long password"),
            ],
        )
    };
    assert_eq!(register("first").status, StatusCode::SEE_OTHER);
    let limited = register("second");
    assert_refused(
        &limited,
        StatusCode::TOO_MANY_REQUESTS,
        "Nothing was registered",
        "second",
    );
    assert!(limited.header("retry-after").is_some());
}
