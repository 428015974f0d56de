//! Many CGI processes on one fresh data directory at once: each creates,
//! migrates and seeds it if it finds it empty, then saves. Nothing may fail
//! and nothing may be lost.

use http::StatusCode;

use crate::drivers::{Cgi, Gateway};
use crate::suite::Browser;

#[test]
fn concurrent_cgi_processes_on_a_fresh_data_dir_lose_nothing() {
    let cgi = Cgi::start();
    let writers = 8;
    let saves_each = 3;
    std::thread::scope(|scope| {
        for writer in 0..writers {
            let cgi = &cgi;
            scope.spawn(move || {
                // Each writer is a browser: its first request (the editor, for the session and its
                // CSRF token) is one of several CGI processes meeting the fresh directory at once.
                let browser = Browser::new(cgi);
                for save in 0..saves_each {
                    let text = format!("writer {writer}, save {save}\n");
                    let base = (save > 0).then_some(save);
                    let response = browser.save_page(&format!("Writer{writer}"), &text, base);
                    assert_eq!(
                        response.status,
                        StatusCode::SEE_OTHER,
                        "{}",
                        response.text()
                    );
                }
            });
        }
    });
    for writer in 0..writers {
        let raw = cgi.get(&format!("/+raw/Writer{writer}"));
        assert_eq!(
            raw.text(),
            format!("writer {writer}, save {}\n", saves_each - 1)
        );
        let history = cgi.get(&format!("/+history/Writer{writer}")).text();
        for rev in 1..=saves_each {
            assert!(
                history.contains(&format!("Writer{writer}?rev={rev}")),
                "revision {rev} of Writer{writer} is missing"
            );
        }
    }
    // The help pages were seeded exactly once.
    let help_history = cgi.get("/+history/Help").text();
    assert!(help_history.contains("Help?rev=1") && !help_history.contains("Help?rev=2"));
}
