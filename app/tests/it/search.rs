//! Many CGI processes saving and searching one wiki at once: each save or
//! search catches the index up under tantivy's writer lock, or leaves it to
//! the process holding it. No request may fail, and once they are done, one
//! more search must find every page's newest text and nothing older.

use http::StatusCode;

use crate::drivers::Cgi;
use crate::suite::{Browser, Gateway};

#[test]
fn concurrent_cgi_saves_and_searches_lose_nothing() {
    let cgi = Cgi::start();
    let writers = 6;
    let saves_each = 4;
    std::thread::scope(|scope| {
        for writer in 0..writers {
            let cgi = &cgi;
            scope.spawn(move || {
                let browser = Browser::new(cgi);
                for save in 0..saves_each {
                    let text = format!("writer{writer} wrote version{save} of its page\n");
                    let base = if save == 0 {
                        String::new()
                    } else {
                        save.to_string()
                    };
                    let response = browser.post_form(
                        &format!("/+edit/Writer{writer}"),
                        &[("text", &text), ("action", "save"), ("base_rev", &base)],
                    );
                    assert_eq!(
                        response.status,
                        StatusCode::SEE_OTHER,
                        "{}",
                        response.text()
                    );
                    let found = cgi.get(&format!("/+search?q=writer{writer}"));
                    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
                }
            });
        }
    });
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
