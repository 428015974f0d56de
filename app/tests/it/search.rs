//! Search beyond the shared scenarios. Many CGI processes saving and
//! searching one wiki at once: each save or search catches the index up under
//! tantivy's writer lock, or leaves it to the process holding it; no request
//! may fail, and once they are done, one more search must find every page's
//! newest text and nothing older. Deleted and renamed pages leave the results
//! and the suggestions, with the background worker (`serve`) and inline (CGI).

use http::StatusCode;

use crate::drivers::{save_concurrently, Cgi, InProcess};
use crate::suite::{eventually, Browser, Gateway};

#[test]
fn concurrent_cgi_saves_and_searches_lose_nothing() {
    let cgi = Cgi::start();
    let writers = 6;
    let saves_each = 4;
    save_concurrently(
        &cgi,
        writers,
        saves_each,
        |writer, save| format!("writer{writer} wrote version{save} of its page\n"),
        |writer| {
            let found = cgi.get(&format!("/+search?q=writer{writer}"));
            assert_eq!(found.status, StatusCode::OK, "{}", found.text());
        },
    );
    let last = saves_each - 1;
    let newest = cgi.get(&format!("/+search?q=version{last}")).text();
    for writer in 0..writers {
        assert!(
            newest.contains(&format!("/Writer{writer}\"")),
            "Writer{writer} missing from:\n{newest}"
        );
    }
    assert!(
        newest.contains(&format!("{writers} pages match")),
        "{newest}"
    );
    for old in 0..last {
        let stale = cgi.get(&format!("/+search?q=version{old}")).text();
        assert!(
            stale.contains("No pages match"),
            "version{old} still indexed:\n{stale}"
        );
    }
    // One document per page: every writer's page is found exactly once.
    let all = cgi.get("/+search?q=wrote").text();
    assert!(all.contains(&format!("{writers} pages match")), "{all}");
}

fn deleted_and_renamed_pages_leave_search(gw: &dyn Gateway) {
    // Deleting and renaming take an account (the default ACL).
    let browser = Browser::new(gw);
    assert_eq!(browser.get("/+register").status, StatusCode::OK);
    let registered = browser.post_form(
        "/+register",
        &[
            ("name", "Searcher"),
            ("display_name", ""),
            ("email", ""),
            ("password", "correct horse battery"),
            ("password2", "correct horse battery"),
        ],
    );
    assert_eq!(
        registered.status,
        StatusCode::SEE_OTHER,
        "{}",
        registered.text()
    );
    for (page, text) in [
        ("Doomed", "zebrafish platypus"),
        ("Mover", "quokka platypus"),
    ] {
        let saved = browser.post_form(
            &format!("/+edit/{page}"),
            &[("text", text), ("action", "save"), ("base_rev", "")],
        );
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    }
    eventually(gw, "/+search?q=zebrafish", |t| t.contains("/Doomed\""));
    eventually(gw, "/+search?q=quokka", |t| t.contains("/Mover\""));
    eventually(gw, "/+suggest?q=doo", |t| t.contains("\"name\":\"Doomed\""));

    assert_eq!(browser.get("/+delete/Doomed").status, StatusCode::OK);
    let deleted = browser.post_form("/+delete/Doomed", &[("comment", "gone")]);
    assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.text());
    let renamed = browser.post_form("/+rename/Mover", &[("new_name", "Moved")]);
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.text());

    eventually(gw, "/+search?q=zebrafish", |t| t.contains("No pages match"));
    eventually(gw, "/+suggest?q=doo", |t| !t.contains("Doomed"));
    eventually(gw, "/+search?q=quokka", |t| {
        t.contains("/Moved\"") && !t.contains("/Mover\"")
    });
    eventually(gw, "/+suggest?q=mov", |t| {
        t.contains("\"name\":\"Moved\"") && !t.contains("\"name\":\"Mover\"")
    });
    // Both pages' other word: only the renamed one is left.
    eventually(gw, "/+search?q=platypus", |t| t.contains("1 page matches"));
}

#[test]
fn deleted_and_renamed_pages_leave_search_with_the_background_worker() {
    deleted_and_renamed_pages_leave_search(&InProcess::start());
}

#[test]
fn deleted_and_renamed_pages_leave_search_in_cgi() {
    deleted_and_renamed_pages_leave_search(&Cgi::start());
}
