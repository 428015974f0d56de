//! Many CGI processes on one fresh data directory at once: each creates,
//! migrates and seeds it if it finds it empty, then saves. Nothing may fail
//! and nothing may be lost.

use crate::drivers::{save_concurrently, Cgi, Gateway};

#[test]
fn concurrent_cgi_processes_on_a_fresh_data_dir_lose_nothing() {
    let cgi = Cgi::start();
    let writers = 8;
    let saves_each = 3;
    save_concurrently(
        &cgi,
        writers,
        saves_each,
        |writer, save| format!("writer {writer}, save {save}\n"),
        |_| {},
    );
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

/// A CGI process that wrote leaves no write-ahead log behind. The next process is most often alone
/// with the database, and the first to open it reads every frame of a log to rebuild its index: a
/// log left behind would cost every view after it.
#[test]
fn a_cgi_process_that_wrote_leaves_no_write_ahead_log() {
    let wiki = Cgi::start();
    let saved = crate::suite::Browser::new(&wiki).save_page("Logged", "some text\n", None);
    assert_eq!(
        saved.status,
        http::StatusCode::SEE_OTHER,
        "{}",
        saved.text()
    );
    let log = wiki.data_dir().join("wiki.sqlite3-wal");
    let left = std::fs::metadata(&log).map_or(0, |meta| meta.len());
    assert_eq!(left, 0, "{} holds {left} bytes", log.display());
    assert!(wiki.get("/Logged").text().contains("some text"));
}
