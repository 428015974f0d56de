//! Drafts on the server (`POST /+draft/{Page}`) beyond the shared scenario
//! (`drafts_are_offered_back_and_go_with_the_save`): the route's rights, its CSRF check, its
//! limits (the page size, the rate), what its answers are, and drafts that expire, that a save
//! through a merge removes, or that arrive after their own save.

use gateway::testing::{TestRequest, TestResponse};
use http::StatusCode;
use storage::{NewDraft, Storage, DRAFT_LIFETIME_SECS};

use crate::drivers::InProcess;
use crate::scenarios::register;
use crate::suite::{Browser, Gateway};

/// Posts a draft of `page` as the editor's script does: the form's fields with the session's token,
/// asking for JSON.
fn post_draft(browser: &Browser<'_>, page: &str, fields: &[(&str, &str)]) -> TestResponse {
    let token = browser.csrf_token();
    let mut with_token = fields.to_vec();
    with_token.push(("csrf_token", &token));
    browser.send(
        TestRequest::post_form(&format!("/+draft/{page}"), &with_token)
            .with_header("accept", "application/json"),
    )
}

fn draft_of<'a>(text: &'a str, base_rev: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("text", text),
        ("base_rev", base_rev),
        ("comment", "so far"),
    ]
}

fn storage(data: &std::path::Path) -> Storage {
    Storage::open(&data.join("wiki.sqlite3")).unwrap()
}

/// A new account, logged in (the wiki's first is its admin).
fn log_in_new<'a>(gw: &'a InProcess, name: &str) -> Browser<'a> {
    let browser = Browser::new(gw);
    let registered = register(&browser, name, "a password long enough");
    assert_eq!(
        registered.status,
        StatusCode::SEE_OTHER,
        "{}",
        registered.text()
    );
    browser
}

#[test]
fn a_draft_needs_an_account_the_write_right_and_the_csrf_token() {
    let gw = InProcess::start();
    let owner = log_in_new(&gw, "Owner");
    let drafter = log_in_new(&gw, "Drafter");
    let saved = owner.save_page("ReadOnly", "#acl Drafter:read All:read\nFixed.\n", None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    owner.save_page("Open", "Open to all.\n", None);

    // Reading is not writing: the route is the editor's, and needs both.
    drafter.get("/+edit/Open");
    let refused = post_draft(&drafter, "ReadOnly", &draft_of("Mine.\n", "1"));
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Anonymous editors keep theirs in the browser: a 403, nothing stored.
    let anonymous = Browser::new(&gw);
    anonymous.get("/+edit/Open");
    let refused = post_draft(&anonymous, "Open", &draft_of("Anonymous.\n", "1"));
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // No token, or another session's: refused before the app acts.
    let forged = drafter.send(
        TestRequest::post_form(
            "/+draft/Open",
            &[("text", "Forged.\n"), ("csrf_token", "x")],
        )
        .with_header("accept", "application/json"),
    );
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A GET is no autosave.
    assert_eq!(
        drafter.get("/+draft/Open").status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(storage(gw.data_dir()).draft_count().unwrap(), 0);

    let kept = post_draft(&drafter, "Open", &draft_of("Drafted.\n", "1"));
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.text());
    assert_eq!(kept.text(), r#"{"draft":"kept"}"#);
    assert_eq!(kept.header("content-type"), Some("application/json"));
    let cache = kept.header("cache-control").unwrap_or_default();
    assert!(
        cache.contains("private") && cache.contains("no-store"),
        "{cache}"
    );
    assert_eq!(storage(gw.data_dir()).draft_count().unwrap(), 1);
    // Its account's alone: another account's editor offers nothing.
    assert!(drafter
        .get("/+edit/Open")
        .text()
        .contains("You have an unsaved draft"));
    let other = owner.get("/+edit/Open").text();
    assert!(!other.contains("You have an unsaved draft"), "{other}");
    assert!(!other.contains("Drafted."), "{other}");
}

#[test]
fn a_draft_over_the_page_size_is_413_and_the_rate_is_bounded() {
    let gw = InProcess::start_with_settings("max_page_bytes = 100\n");
    let drafter = log_in_new(&gw, "Drafter");
    drafter.get("/+edit/Big");
    let big = "x".repeat(101);
    let refused = post_draft(&drafter, "Big", &draft_of(&big, ""));
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(storage(gw.data_dir()).draft_count().unwrap(), 0);

    // A script sends one every few seconds; a minute's worth and more is refused before it is read.
    let mut sent = 0;
    let limited = loop {
        let text = format!("Draft {sent}\n");
        let answer = post_draft(&drafter, "Big", &draft_of(&text, ""));
        if answer.status != StatusCode::OK {
            break answer;
        }
        sent += 1;
        assert!(sent < 200, "no limit on drafts");
    };
    assert!(sent >= 20, "only {sent} drafts a minute");
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.header("retry-after").is_some());
    assert_eq!(limited.text(), r#"{"draft":"limited"}"#);
    let stored = storage(gw.data_dir());
    let drafter_id = stored.user("Drafter").unwrap().unwrap().id;
    let draft = stored.draft(drafter_id, "Big", None).unwrap().unwrap();
    assert_eq!(draft.text, format!("Draft {}\n", sent - 1));
}

#[test]
fn a_draft_older_than_thirty_days_is_not_offered() {
    let gw = InProcess::start();
    let drafter = log_in_new(&gw, "Drafter");
    drafter.save_page("Aged", "Saved.\n", None);
    let stored = storage(gw.data_dir());
    let id = stored.user("Drafter").unwrap().unwrap().id;
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap();
    let draft = |time| NewDraft {
        account: id,
        page: "Aged",
        base_rev: Some(1),
        comment: "",
        text: "Written long ago.\n",
        time: Some(time),
    };
    stored
        .save_draft(&draft(now - DRAFT_LIFETIME_SECS + 60))
        .unwrap();
    assert!(drafter
        .get("/+edit/Aged")
        .text()
        .contains("You have an unsaved draft"));
    stored
        .save_draft(&draft(now - DRAFT_LIFETIME_SECS - 60))
        .unwrap();
    let editor = drafter.get("/+edit/Aged").text();
    assert!(!editor.contains("You have an unsaved draft"), "{editor}");
    // Nor restored by asking.
    let restored = drafter.get("/+edit/Aged?draft=restore").text();
    assert!(!restored.contains("Written long ago."), "{restored}");
}

#[test]
fn a_draft_written_before_someone_else_s_save_restores_its_base_and_merges() {
    let gw = InProcess::start();
    let other = log_in_new(&gw, "Other");
    let drafter = log_in_new(&gw, "Drafter");
    other.save_page("Shared", "one\ntwo\nthree\n", None);
    drafter.get("/+edit/Shared");
    let kept = post_draft(
        &drafter,
        "Shared",
        &draft_of("one, mine\ntwo\nthree\n", "1"),
    );
    assert_eq!(kept.text(), r#"{"draft":"kept"}"#);
    other.save_page("Shared", "one\ntwo\nthree, theirs\n", Some(1));

    let editor = drafter.get("/+edit/Shared").text();
    assert!(
        editor.contains("while the page was at revision 1"),
        "{editor}"
    );
    let restored = drafter.get("/+edit/Shared?draft=restore").text();
    assert!(
        restored.contains(r#"<input type="hidden" name="base_rev" value="1">"#),
        "{restored}"
    );
    assert!(
        restored.contains("one, mine\ntwo\nthree\n</textarea>"),
        "{restored}"
    );
    let saved = drafter.post_form(
        "/+edit/Shared",
        &[
            ("text", "one, mine\ntwo\nthree\n"),
            ("base_rev", "1"),
            ("comment", "so far"),
            ("action", "save"),
        ],
    );
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert_eq!(
        gw.get("/+raw/Shared").text(),
        "one, mine\ntwo\nthree, theirs\n"
    );
    assert_eq!(storage(gw.data_dir()).draft_count().unwrap(), 0);
}

#[test]
fn an_autosave_arriving_after_its_save_is_not_kept_and_a_revert_keeps_the_draft() {
    let gw = InProcess::start();
    let drafter = log_in_new(&gw, "Drafter");
    drafter.save_page("Raced", "one\n", None);
    drafter.save_page("Raced", "one, two\n", Some(1));
    let late = post_draft(&drafter, "Raced", &draft_of("one, tw\n", "1"));
    assert_eq!(late.text(), r#"{"draft":"superseded"}"#);
    // The page's own text is nothing unsaved.
    let same = post_draft(&drafter, "Raced", &draft_of("one, two\n", "2"));
    assert_eq!(same.text(), r#"{"draft":"unneeded"}"#);
    assert_eq!(storage(gw.data_dir()).draft_count().unwrap(), 0);

    let kept = post_draft(&drafter, "Raced", &draft_of("one, two, three\n", "2"));
    assert_eq!(kept.text(), r#"{"draft":"kept"}"#);
    drafter.get("/+history/Raced");
    let reverted = drafter.post_form("/+revert/Raced?rev=1", &[]);
    assert_eq!(
        reverted.status,
        StatusCode::SEE_OTHER,
        "{}",
        reverted.text()
    );
    assert_eq!(storage(gw.data_dir()).draft_count().unwrap(), 1);

    // Discarded from the offer without the script: a form post, answered with the editor.
    drafter.get("/+edit/Raced");
    let discarded = drafter.post_form("/+draft/Raced", &[("action", "discard")]);
    assert_eq!(discarded.status, StatusCode::SEE_OTHER);
    assert!(discarded
        .header("location")
        .is_some_and(|to| to.ends_with("/+edit/Raced")));
    assert_eq!(storage(gw.data_dir()).draft_count().unwrap(), 0);
}
