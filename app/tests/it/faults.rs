//! Saves the database refuses for reasons outside the request never lose the user's text: the
//! editor comes back with it, and the status says whether to wait (503 with Retry-After) or to free
//! space (507). The full-disk case runs on a real full file system in e2e (`faults.rs` there).

use http::StatusCode;

use crate::drivers::InProcess;
use crate::suite::{eventually, Browser};

#[test]
fn a_save_that_meets_a_held_lock_comes_back_as_the_editor_with_its_text() {
    let wiki = InProcess::start();
    let person = Browser::new(&wiki);
    let database = wiki.data_dir().join("wiki.sqlite3");
    let other = rusqlite::Connection::open(&database).unwrap();
    let text = "An hour of careful writing <kept>";
    // While the editor is open, another process takes the write lock and keeps it past the
    // wiki's busy timeout.
    let refused = person.save_with("LockedOut", text, "", |_| {
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        String::new()
    });
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert_eq!(refused.headers[http::header::RETRY_AFTER], "5");
    let body = refused.text();
    assert!(
        body.contains("An hour of careful writing &lt;kept&gt;"),
        "{body}"
    );
    assert!(body.contains("busy saving other changes"), "{body}");
    assert!(body.contains("<textarea"), "the editor: {body}");

    // The lock goes; the same text saves with no repair step.
    other.execute_batch("COMMIT").unwrap();
    let saved = person.save_page("LockedOut", text, None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert!(person
        .get("/+raw/LockedOut")
        .text()
        .contains("careful writing"));
}

#[test]
fn pages_saved_behind_the_scan_are_read_while_another_process_holds_the_lock() {
    let wiki = InProcess::start();
    assert_eq!(wiki_get(&wiki, "/FrontPage"), StatusCode::OK);
    let database = wiki.data_dir().join("wiki.sqlite3");
    // Saved by another process: no request has scanned its access line yet.
    let storage = storage::Storage::open(&database).unwrap();
    storage
        .save(storage::Save {
            page: "Fresh",
            text: "#acl All:read\nsaved behind the wiki's back",
            author: "script",
            comment: "",
            base_rev: None,
            time: None,
        })
        .unwrap();
    let other = rusqlite::Connection::open(&database).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let person = Browser::new(&wiki);
    let fresh = person.get("/Fresh");
    assert_eq!(fresh.status, StatusCode::OK, "{}", fresh.text());
    assert!(
        fresh.text().contains("saved behind the wiki"),
        "{}",
        fresh.text()
    );
    assert_eq!(person.get("/+recent").status, StatusCode::OK);
    other.execute_batch("COMMIT").unwrap();
    assert_eq!(person.get("/Fresh").status, StatusCode::OK);
}

fn wiki_get(wiki: &InProcess, target: &str) -> StatusCode {
    Browser::new(wiki).get(target).status
}

/// A damaged search index (its commit metadata garbled, as a crash on a file system that lost a
/// write can leave it) is no error for anyone: the next search answers, the index is replaced and
/// refilled from the revision log, and the pages are found again.
#[test]
fn a_damaged_search_index_is_rebuilt_and_no_search_fails() {
    let wiki = InProcess::start();
    let person = Browser::new(&wiki);
    let saved = person.save_page("Zebrafish", "Notes on zebrafish husbandry.", None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    // Indexed in the background, a moment after the save.
    eventually(&wiki, "/+search?q=husbandry", |body| {
        body.contains("Zebrafish")
    });
    let index = wiki.data_dir().join("index");
    let live = std::fs::read_to_string(index.join("CURRENT"))
        .map_or(1, |text| text.trim().parse::<u64>().unwrap());
    std::fs::write(
        index.join(format!("gen-{live}")).join("meta.json"),
        "{\"segments\": [tr",
    )
    .unwrap();
    // Refilled in the background (or inline, in CGI): found again, and no search on the way
    // fails (`eventually` checks every answer is a 200).
    eventually(&wiki, "/+search?q=husbandry", |body| {
        body.contains("Zebrafish")
    });
    let now = std::fs::read_to_string(index.join("CURRENT")).unwrap();
    assert_ne!(now.trim(), live.to_string(), "a new generation is live");
}
