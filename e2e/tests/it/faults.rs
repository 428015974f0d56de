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

/// A file system mounted for the test, lazily unmounted when dropped (even while a process still
/// has a file open on it, after a failure).
struct Mount(PathBuf);

impl Mount {
    /// A tmpfs of `size` at `at`.
    fn tmpfs(at: &Path, size: &str) -> Mount {
        mount(
            Command::new("mount")
                .args([
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={size},mode=0755"),
                    "quire-e2e",
                ])
                .arg(at),
        );
        Mount(at.to_path_buf())
    }

    /// An ext4 file system in the file `image` (made here, 32 MiB), mounted at `at` through a loop
    /// device with `errors=remount-ro`: what a disk that fails under a server turns into.
    fn ext4(at: &Path, image: &Path) -> Mount {
        if !image.exists() {
            fs::File::create(image).unwrap().set_len(32 << 20).unwrap();
            let made = Command::new("mkfs.ext4")
                .args(["-q", "-F"])
                .arg(image)
                .status()
                .unwrap();
            assert!(made.success(), "mkfs.ext4 (e2fsprogs) makes the image");
        }
        mount(
            Command::new("mount")
                .args(["-o", "loop,errors=remount-ro"])
                .arg(image)
                .arg(at),
        );
        Mount(at.to_path_buf())
    }

    /// Unmounts now, for a test that mounts the same place again (whatever had files open on it
    /// stopped first: `Combination::kill_quire` waits for the process to be gone).
    fn unmount(self) {
        let status = Command::new("umount").arg(&self.0).status().unwrap();
        assert!(status.success(), "{} is still in use", self.0.display());
        std::mem::forget(self);
    }
}

fn mount(command: &mut Command) {
    let status = command.status().unwrap();
    assert!(
        status.success(),
        "mounting needs root, as the e2e suite runs"
    );
}

impl Drop for Mount {
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

/// A fresh wiki whose data directory is a file system of its own, made by `mount` at the path it is
/// given, served by `quire serve`.
fn wiki_on(name: &'static str, mount: impl FnOnce(&Path) -> Mount) -> (Combination, Mount) {
    let mut wiki = Combination::new(name, "");
    let data = wiki.data();
    let stash = wiki.path("data.before-mount");
    fs::rename(&data, &stash).unwrap();
    fs::create_dir(&data).unwrap();
    let mount = mount(&data);
    let copied = Command::new("cp")
        .arg("-a")
        .arg(stash.join("."))
        .arg(&data)
        .status()
        .unwrap();
    assert!(copied.success());
    wiki.give_data_to(e2e::web_user());
    // On the disk before any fault, as a wiki's files would long have been: a disk that fails
    // loses what only the page cache held.
    assert!(Command::new("sync")
        .arg("-f")
        .arg(&data)
        .status()
        .unwrap()
        .success());
    serve(&mut wiki);
    (wiki, mount)
}

fn serve(wiki: &mut Combination) {
    let addr = wiki.addr().to_string();
    wiki.quire(&["serve", "--listen", &addr], Ready::Tcp(&addr));
}

fn integrity_check(data: &Path) -> String {
    let db = rusqlite::Connection::open(data.join("wiki.sqlite3")).unwrap();
    db.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}

const TEXT: &str = "Minutes of the meeting on the full disk <keep this>";

#[test]
fn a_full_disk_refuses_saves_and_uploads_with_507_keeps_the_text_and_recovers() {
    let (wiki, _mount) = wiki_on("quire serve on a full disk", |at| Mount::tmpfs(at, "16m"));
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
    wiki.kill_quire();
    wiki.quire(&["serve", "--listen", &addr], Ready::Tcp(&addr));
    let person = Browser::new(&wiki);
    for (page, text) in &acknowledged {
        let raw = person.get(&format!("/+raw/{page}"));
        assert_eq!(raw.status, StatusCode::OK, "{page}");
        assert_eq!(raw.text(), *text);
    }
    assert_eq!(integrity_check(&wiki.data()), "ok");
}

/// The disk under a running server turns read-only, as ext4 does on an I/O error with
/// `errors=remount-ro` (injected through ext4's own `trigger_fs_error`): reads go on, a save comes
/// back as the editor with its text, 503 and `Retry-After`, nothing hangs or panics. Once the
/// administrator has checked the file system and mounted it again, the same save works and every
/// save acknowledged before is there.
#[test]
fn a_disk_that_turns_read_only_keeps_reads_and_refuses_saves_with_503() {
    let image_dir = tempfile::tempdir().unwrap();
    let image = image_dir.path().join("disk.ext4");
    let (mut wiki, mount) = wiki_on("quire serve on a disk that turns read-only", |at| {
        Mount::ext4(at, &image)
    });
    let data = wiki.data();
    let person = Browser::new(&wiki);
    let before = person.save_page("BeforeTheError", "saved while the disk was fine", None);
    assert_eq!(before.status, StatusCode::SEE_OTHER, "{}", before.text());

    let device = Command::new("findmnt")
        .args(["-n", "-o", "SOURCE"])
        .arg(&data)
        .output()
        .unwrap();
    let device = String::from_utf8(device.stdout).unwrap();
    let device = Path::new(device.trim()).file_name().unwrap().to_owned();
    fs::write(
        Path::new("/sys/fs/ext4")
            .join(&device)
            .join("trigger_fs_error"),
        "quire e2e: the disk fails",
    )
    .unwrap();
    assert!(
        fs::write(data.join("probe"), "x").is_err(),
        "the file system is read-only now"
    );

    for page in [
        "/FrontPage",
        "/BeforeTheError",
        "/+recent",
        "/+search?q=disk",
    ] {
        let read = person.get(page);
        assert_eq!(read.status, StatusCode::OK, "{page}: {}", read.text());
    }
    let refused = person.save_page("ReadOnlyDisk", TEXT, None);
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text()
    );
    assert!(refused.header("retry-after").is_some());
    let body = refused.text();
    assert!(
        body.contains("Minutes of the meeting on the full disk &lt;keep this&gt;"),
        "{body}"
    );
    assert!(body.contains("<textarea"), "{body}");
    let log = fs::read_to_string(wiki.path("quire.log")).unwrap();
    // A Rust panic's own line: tantivy's messages may say a worker "panicked" when an I/O error
    // killed it, which the indexer logs and retries.
    assert!(!log.contains("' panicked at "), "{log}");

    // The administrator's part: stop quire, check the file system, mount it again, start quire.
    drop(person);
    wiki.kill_quire();
    mount.unmount();
    let checked = Command::new("e2fsck")
        .args(["-f", "-y"])
        .arg(&image)
        .output()
        .unwrap();
    // 0: clean, 1: errors corrected.
    assert!(
        matches!(checked.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&checked.stdout)
    );
    let _mount = Mount::ext4(&data, &image);
    serve(&mut wiki);
    let person = Browser::new(&wiki);
    let saved = person.save_page("ReadOnlyDisk", TEXT, None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert_eq!(
        person.get("/+raw/BeforeTheError").text(),
        "saved while the disk was fine"
    );
    assert_eq!(integrity_check(&data), "ok");
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
