//! Faults a real machine has, injected for real: the data directory on a tmpfs that fills up.
//! Runs as root (it mounts), as the e2e suite does in CI.
//!
//! The promise checked: a save or an upload on a full disk answers 507 with the user's text kept in
//! the editor and the reason in the log; reads keep working; once space is freed, the same save works
//! with no repair step, the database passes `integrity_check`, and search catches up.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use http::StatusCode;

use crate::servers::{Combination, Ready};
use crate::suite::{eventually, Browser};

/// A tmpfs mounted for the test, lazily unmounted when dropped (even while a process still has a
/// file open on it, after a failure).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Tmpfs {
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "quire-e2e",
            ])
            .arg(at)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mounting a tmpfs needs root, as the e2e suite runs"
        );
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes zeros into `file` until the file system refuses; returns how many bytes went in.
fn fill(file: &Path) -> u64 {
    let mut out = fs::File::create(file).unwrap();
    let chunk = vec![0_u8; 64 * 1024];
    let mut written = 0;
    loop {
        match out.write(&chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => written += n as u64,
        }
    }
    // Whatever the page cache still held must hit the wall too.
    let _ = out.sync_all();
    written
}

/// A fresh wiki whose data directory is a tmpfs of its own, served by `quire serve`.
fn wiki_on_tmpfs(name: &'static str, size: &str) -> (Combination, Tmpfs) {
    let mut wiki = Combination::new(name, "");
    let data = wiki.data();
    let stash = wiki.path("data.before-mount");
    fs::rename(&data, &stash).unwrap();
    fs::create_dir(&data).unwrap();
    let mount = Tmpfs::mount(&data, size);
    let copied = Command::new("cp")
        .arg("-a")
        .arg(stash.join("."))
        .arg(&data)
        .status()
        .unwrap();
    assert!(copied.success());
    wiki.give_data_to(e2e::web_user());
    let addr = wiki.addr().to_string();
    wiki.quire(&["serve", "--listen", &addr], Ready::Tcp(&addr));
    (wiki, mount)
}

const TEXT: &str = "Minutes of the meeting on the full disk <keep this>";

#[test]
fn a_full_disk_refuses_saves_and_uploads_with_507_keeps_the_text_and_recovers() {
    let (wiki, _mount) = wiki_on_tmpfs("quire serve on a full disk", "16m");
    let data = wiki.data();
    let person = Browser::new(&wiki);
    assert_eq!(person.get("/FrontPage").status, StatusCode::OK);
    let filler = data.join("filler");
    assert!(fill(&filler) > 0);

    // Reads go on.
    for page in ["/FrontPage", "/Help", "/+recent", "/+search?q=help"] {
        let read = person.get(page);
        assert_eq!(read.status, StatusCode::OK, "{page}: {}", read.text());
    }
    // A save comes back as the editor with the text, and says why.
    let refused = person.save_page("FullDisk", TEXT, None);
    assert_eq!(
        refused.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        refused.text()
    );
    let body = refused.text();
    assert!(
        body.contains("Minutes of the meeting on the full disk &lt;keep this&gt;"),
        "{body}"
    );
    assert!(body.contains("disk is full"), "{body}");
    assert!(body.contains("<textarea"), "{body}");
    // An upload is refused whole.
    let upload = person.upload("FrontPage", &[], &[("notes.bin", &vec![7_u8; 512 * 1024])]);
    assert_eq!(
        upload.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        upload.text()
    );
    let log = fs::read_to_string(wiki.path("quire.log")).unwrap();
    assert!(log.contains("full"), "the log says why:\n{log}");

    // Space comes back: the same save works, with no repair step.
    fs::remove_file(&filler).unwrap();
    let saved = person.save_page("FullDisk", TEXT, None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert!(person.get("/+raw/FullDisk").text().contains("<keep this>"));
    let uploaded = person.upload("FrontPage", &[], &[("notes.bin", &vec![7_u8; 512 * 1024])]);
    assert!(
        uploaded.status.is_success() || uploaded.status.is_redirection(),
        "{}",
        uploaded.text()
    );
    eventually(&wiki, "/+search?q=minutes", |body| {
        body.contains("FullDisk")
    });

    let db = rusqlite::Connection::open(data.join("wiki.sqlite3")).unwrap();
    // The refused upload left nothing behind: one version, the one made after.
    let versions: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM file_versions WHERE name = 'notes.bin'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(versions, 1);
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// The durability promise for a crash: every save answered 303 is there after `kill -9` and a
/// restart, and the database is whole. (Power loss is the `synchronous=FULL` setting's part, checked
/// in storage's `every_connection_syncs_each_commit_unless_opened_for_bulk_work`.)
#[test]
fn every_acknowledged_save_survives_kill_9() {
    let mut wiki = Combination::new("quire serve killed with SIGKILL", "");
    let addr = wiki.addr().to_string();
    wiki.quire(&["serve", "--listen", &addr], Ready::Tcp(&addr));
    let person = Browser::new(&wiki);
    let mut acknowledged = Vec::new();
    for n in 0..20 {
        let page = format!("Crash{n}");
        let text = format!("marker-{n}-before-the-kill");
        if person.save_page(&page, &text, None).status == StatusCode::SEE_OTHER {
            acknowledged.push((page, text));
        }
    }
    assert_eq!(acknowledged.len(), 20);
    drop(person);
    e2e::signal("KILL", [wiki.quire_pid().unwrap()]);
    wiki.quire(&["serve", "--listen", &addr], Ready::Tcp(&addr));
    let person = Browser::new(&wiki);
    for (page, text) in &acknowledged {
        let raw = person.get(&format!("/+raw/{page}"));
        assert_eq!(raw.status, StatusCode::OK, "{page}");
        assert_eq!(raw.text(), *text);
    }
    let db = rusqlite::Connection::open(wiki.data().join("wiki.sqlite3")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// A data directory the web user may not write to (a restore by root, a wrong `chown`): `quire serve`
/// does not start half-working, it exits with a message that names the database and the fix, and
/// once the owner is right it starts and saves with no repair step.
#[test]
fn a_data_directory_quire_may_not_write_is_refused_at_start_with_the_fix() {
    let wiki = Combination::new("quire serve on a data directory it may not write", "");
    let data = wiki.data();
    let root = e2e::account("root");
    e2e::chown_all(&data, root);
    let web = e2e::web_user();
    let start = || {
        use std::os::unix::process::CommandExt;
        Command::new(e2e::quire_binary())
            .arg("--data")
            .arg(&data)
            .args(["user", "list"])
            .env_clear()
            .env("QUIRE_LOG", "warn")
            .uid(web.uid)
            .gid(web.gid)
            .output()
            .unwrap()
    };
    // `user list` reads the session keys and opens the database as every server does, and ends
    // by itself. The first thing it may not touch is the (private) session key file.
    let refused = start();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("session.key"), "{said}");
    assert!(said.contains("chown -R USER"), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    // With the key file given back but not the database and its directory: the database is named.
    e2e::chown(&data.join("session.key"), web);
    let refused = start();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("wiki.sqlite3"), "{said}");
    assert!(said.contains("may write to it"), "{said}");
    assert!(!said.contains("panicked"), "{said}");

    e2e::chown_all(&data, web);
    let listed = start();
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    let mut wiki = wiki;
    let addr = wiki.addr().to_string();
    wiki.quire(&["serve", "--listen", &addr], Ready::Tcp(&addr));
    let saved = Browser::new(&wiki).save_page("Writable", "saved once the owner is right", None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
}
