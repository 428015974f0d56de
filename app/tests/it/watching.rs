//! Watching, beyond the shared scenario (`scenarios::a_watcher_is_mailed_once_with_the_diff`):
//! what needs an admin or a look into the data directory. No mail about a page to an account that
//! may not read it; a refusing SMTP server, retried with backoff; digests; the feed behind its
//! token; the bookmark in recent changes.

use std::path::Path;
use std::time::Duration;

use http::StatusCode;
use quire::datadir::DataDir;
use storage::{NewUser, Role, Storage, WatchKind};
use tempfile::TempDir;

use crate::drivers::{mailing_to_a_sink, Cgi, InProcess};
use crate::suite::{hidden_value, Browser, Gateway, MailSink};

const PASSWORD: &str = "correct horse battery staple";

/// A data directory that mails to a fresh sink, with a wiki and the accounts `accounts` (name,
/// role), each with the address `{name}@example.org` in lower case.
fn wiki_with_accounts(accounts: &[(&str, Role)]) -> (TempDir, MailSink) {
    let (data, sink) = mailing_to_a_sink();
    let storage = storage_of(data.path());
    for &(name, role) in accounts {
        let email = format!("{}@example.org", name.to_lowercase());
        storage
            .create_user(&NewUser {
                name,
                display_name: None,
                email: &email,
                role,
                password: PASSWORD,
                invite: None,
                reserved: &[],
            })
            .unwrap();
    }
    (data, sink)
}

fn storage_of(data: &Path) -> Storage {
    let dir = DataDir::locate(Some(data));
    dir.create().unwrap();
    dir.open_storage().unwrap()
}

fn logged_in<'a>(gw: &'a dyn Gateway, name: &str) -> Browser<'a> {
    let browser = Browser::new(gw);
    let response = browser.log_in(name, PASSWORD);
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    browser
}

#[test]
fn no_mail_about_a_page_goes_to_an_account_that_may_not_read_it() {
    let (data, sink) = wiki_with_accounts(&[
        ("Boss", Role::Admin),
        ("Reader", Role::User),
        ("Outsider", Role::User),
    ]);
    let storage = storage_of(data.path());
    let gw = InProcess::start_in(data);
    let boss = logged_in(&gw, "Boss");
    let text = "#acl Boss:read,write,admin Reader:read\nThe plan is velvetkraken.\n";
    assert_eq!(
        boss.save_page("Secret", text, None).status,
        StatusCode::SEE_OTHER
    );
    // The outsider cannot watch it through the wiki; a watch from before the line counts for
    // nothing either, nor does one on every page.
    let outsider = logged_in(&gw, "Outsider");
    let refused = outsider.post_form("/+watch/Secret", &[("watch", "1")]);
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    storage
        .watch("Outsider", WatchKind::Page, "Secret")
        .unwrap();
    storage.watch("Outsider", WatchKind::Prefix, "").unwrap();
    let reader = logged_in(&gw, "Reader");
    let watched = reader.post_form("/+watch/Secret", &[("watch", "1")]);
    assert_eq!(watched.status, StatusCode::SEE_OTHER);
    // Nor does the outsider's list name the page.
    let listing = outsider.get("/+watching").text();
    assert!(!listing.contains("/Secret\""), "{listing}");

    let changed = format!("{text}And now obsidianwaltz.\n");
    boss.save_with("Secret", &changed, "the second secret", |html| {
        hidden_value(html, "base_rev").unwrap()
    });
    let mail = sink.wait_for("reader@example.org", Duration::from_secs(10));
    assert_eq!(mail.len(), 1);
    assert!(mail[0].data.contains("obsidianwaltz"), "{}", mail[0].data);
    // The letters are written one after the other: once the queue is empty, the outsider's was
    // dropped, not sent.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !storage.queued_mail().unwrap().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the queue never emptied"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(sink.mail_to("outsider@example.org").is_empty());
    assert!(sink
        .mail()
        .iter()
        .all(|m| !m.to.contains(&"outsider@example.org".to_owned())));
}

#[test]
fn a_refusing_server_keeps_the_mail_queued_for_a_later_attempt() {
    let (data, sink) = wiki_with_accounts(&[("Ann", Role::User)]);
    let storage = storage_of(data.path());
    storage.watch("Ann", WatchKind::Page, "Plan").unwrap();
    let gw = Cgi::start_in(data);
    Browser::new(&gw).save_page("Plan", "one\n", None);
    sink.refuse(true);
    let output = std::process::Command::new(crate::drivers::QUIRE)
        .arg("notify")
        .env_clear()
        .env("QUIRE_DATA", gw.data_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("0 sent, 1 to try again"), "{stdout}");
    let queued = storage.queued_mail().unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].attempts, 1);
    assert!(queued[0].last_error.contains("451"), "{queued:?}");
    let now = quire::notifier::unix_now();
    let wait = queued[0].due - now;
    assert!(
        (storage::retry_wait(1) - 5..=storage::retry_wait(1)).contains(&wait),
        "due in {wait} s"
    );
    // Taken again, the server gets nothing before the wait is over.
    sink.refuse(false);
    let output = gw.notify();
    assert!(String::from_utf8_lossy(&output.stdout).contains("0 sent"));
    assert!(sink.mail().is_empty());
    assert_eq!(storage.queued_mail().unwrap().len(), 1);
}

#[test]
fn a_digest_waits_and_gathers_the_changes() {
    let (data, sink) = wiki_with_accounts(&[("Ann", Role::User), ("Bob", Role::User)]);
    let gw = Cgi::start_in(data);
    let ann = logged_in(&gw, "Ann");
    let set = ann.post_form(
        "/+watching",
        &[("action", "settings"), ("digest", "1"), ("edited", "1")],
    );
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    let added = ann.post_form(
        "/+watching",
        &[("action", "add_prefix"), ("prefix", "Team/")],
    );
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let listing = ann.get("/+watching").text();
    assert!(listing.contains("<code>Team/</code>"), "{listing}");
    let bob = logged_in(&gw, "Bob");
    for page in ["Team/A", "Team/B"] {
        assert_eq!(
            bob.save_page(page, "text\n", None).status,
            StatusCode::SEE_OTHER
        );
    }
    gw.notify();
    assert!(sink.mail().is_empty(), "a digest waits for its day");
    let storage = storage_of(gw.data_dir());
    let queued = storage.queued_mail().unwrap();
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|mail| mail.digest));
    let day = quire::notifier::unix_now() + storage::DIGEST_SECS;
    assert!(queued
        .iter()
        .all(|mail| mail.due <= day && mail.due > day - 60));
    // When the day is over, one letter tells of both.
    let letters = storage.due_mail(day, 10).unwrap();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].changes.len(), 2);
}

#[test]
fn the_watch_feed_opens_with_its_token_only_and_shows_what_its_account_may_read() {
    let (data, _sink) = wiki_with_accounts(&[("Boss", Role::Admin), ("Ann", Role::User)]);
    let gw = InProcess::start_in(data);
    let boss = logged_in(&gw, "Boss");
    boss.save_page("Open", "open text\n", None);
    boss.save_page("Closed", "#acl Boss:read,write,admin\nclosed\n", None);
    let ann = logged_in(&gw, "Ann");
    let storage = storage_of(gw.data_dir());
    storage.watch("Ann", WatchKind::Prefix, "").unwrap();
    boss.save_with("Open", "open text, again\n", "edit of open", |html| {
        hidden_value(html, "base_rev").unwrap()
    });
    boss.save_with(
        "Closed",
        "#acl Boss:read,write,admin\nclosed, again\n",
        "edit of closed",
        |html| hidden_value(html, "base_rev").unwrap(),
    );
    let page = ann.get("/+watching").text();
    let at = page.find("/+watchfeed?token=").unwrap();
    let token: String = page[at + "/+watchfeed?token=".len()..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(token.len(), 32);
    // No cookie: a feed reader has none.
    let feed = gw.get(&format!("/+watchfeed?token={token}"));
    assert_eq!(feed.status, StatusCode::OK);
    let xml = feed.text();
    assert!(xml.contains("Open edited by Boss"), "{xml}");
    assert!(!xml.contains("Closed"), "{xml}");
    assert!(feed
        .header("cache-control")
        .unwrap_or_default()
        .contains("private"));
    assert_eq!(
        gw.get("/+watchfeed?token=00000000000000000000000000000000")
            .status,
        StatusCode::NOT_FOUND
    );
    // A new address: the old one opens nothing.
    let renewed = ann.post_form("/+watching", &[("action", "new_feed")]);
    assert_eq!(renewed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        gw.get(&format!("/+watchfeed?token={token}")).status,
        StatusCode::NOT_FOUND
    );
}

/// How a row of recent changes newer than the bookmark is marked (the legend above has no `</a>`).
const NEW_ROW: &str = "</a> <span class=\"badge since-visit\">new to you</span>";

#[test]
fn changes_since_the_last_visit_are_marked_until_the_bookmark_moves() {
    let (data, _sink) = wiki_with_accounts(&[("Ann", Role::User), ("Bob", Role::User)]);
    let gw = InProcess::start_in(data);
    let ann = logged_in(&gw, "Ann");
    let bob = logged_in(&gw, "Bob");
    // Anonymous readers have no bookmark.
    assert!(!gw.get("/+recent").text().contains("bookmark-form"));
    assert_eq!(
        crate::suite::post_form(&gw, "/+bookmark", &[]).status,
        StatusCode::FORBIDDEN
    );
    let recent = ann.get("/+recent").text();
    assert!(recent.contains("bookmark-form"), "{recent}");
    assert!(!recent.contains(NEW_ROW), "{recent}");
    assert_eq!(
        ann.post_form("/+bookmark", &[]).status,
        StatusCode::SEE_OTHER
    );
    // Bookmarks are by the second: the next change is a second later.
    std::thread::sleep(Duration::from_millis(1100));
    bob.save_page("After", "new\n", None);
    let recent = ann.get("/+recent").text();
    let row = recent.find("change-page\" href=\"/After\"").unwrap();
    let end = recent[row..].find("</li>").unwrap();
    assert!(
        recent[row..row + end].contains("new to you"),
        "{}",
        &recent[row..row + end]
    );
    assert_eq!(recent.matches(NEW_ROW).count(), 1);
    ann.post_form("/+bookmark", &[]);
    let recent = ann.get("/+recent").text();
    assert_eq!(recent.matches(NEW_ROW).count(), 0, "{recent}");
}
