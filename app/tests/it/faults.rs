//! Saves the database refuses for reasons outside the request never lose the user's text: the
//! editor comes back with it, and the status says whether to wait (503 with Retry-After) or to free
//! space (507). The full-disk case runs on a real full file system in e2e (`faults.rs` there).

use http::StatusCode;

use crate::drivers::InProcess;
use crate::suite::Browser;

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
