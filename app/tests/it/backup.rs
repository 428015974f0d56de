//! `quire backup` and `quire restore`, on the built binary: a round trip into a fresh directory,
//! the refusals (a wiki with pages without --force, a damaged, foreign, newer or missing backup)
//! that leave the wiki as it was, and a backup taken while eight writers save through
//! `quire serve`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::StatusCode;
use storage::{NewUpload, Save, SaveOutcome, Storage, SCHEMA_VERSION};
use tempfile::TempDir;

use crate::cli::{quire, text};
use crate::drivers::Http;
use crate::suite::Browser;

fn database(data: &Path) -> PathBuf {
    data.join("wiki.sqlite3")
}

/// Saves `text` as `page` on top of `base_rev`, as alice; returns the outcome.
fn save(storage: &Storage, page: &str, text: &str, base_rev: Option<u64>) -> SaveOutcome {
    storage
        .save(Save {
            page,
            text,
            author: "alice",
            comment: "a test",
            base_rev,
            time: None,
        })
        .unwrap()
}

/// A wiki made by `quire init`, with three pages of several revisions and a file.
fn wiki_with_content() -> TempDir {
    let data = TempDir::new().unwrap();
    crate::cli::init(data.path());
    let storage = Storage::open(&database(data.path())).unwrap();
    for page in ["Alpha", "Beta", "Gamma/Sub"] {
        for rev in 0..3_u64 {
            let text = format!("{page}, revision {}\n", rev + 1);
            let outcome = save(&storage, page, &text, (rev > 0).then_some(rev));
            assert_eq!(outcome, SaveOutcome::Saved { rev: rev + 1 });
        }
    }
    storage
        .upload(
            &NewUpload {
                page: "Alpha",
                name: "notes.txt",
                media_type: "text/plain",
                width: None,
                height: None,
                uploader: "alice",
                comment: "",
                time: None,
                max_bytes: 1 << 20,
                quota_bytes: None,
            },
            &mut &b"attached bytes"[..],
        )
        .unwrap();
    data
}

/// Every page with its revision count and current text, and every page's files.
fn contents(data: &Path) -> Vec<(String, u64, String, Vec<String>)> {
    let storage = Storage::open(&database(data)).unwrap();
    storage
        .page_names()
        .unwrap()
        .into_iter()
        .map(|page| {
            let files = storage
                .attachments(&page)
                .unwrap()
                .into_iter()
                .map(|file| file.current.name)
                .collect();
            (
                page.clone(),
                storage.revision_count(&page).unwrap(),
                storage.current(&page).unwrap().unwrap().text,
                files,
            )
        })
        .collect()
}

/// Runs `quire --data DATA ARGS…`; returns whether it succeeded, its stdout and its stderr.
fn run(data: &Path, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["--data", data.to_str().unwrap()];
    all.extend_from_slice(args);
    let output = quire(&all, &[("QUIRE_LOG", "warn")]);
    (
        output.status.success(),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// `quire backup` of `data` into a new folder; returns the folder and the file.
fn backed_up(data: &Path) -> (TempDir, PathBuf) {
    let out = TempDir::new().unwrap();
    let file = out.path().join("wiki.tar");
    let (ok, stdout, stderr) = run(data, &["backup", file.to_str().unwrap()]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("backup written to"), "{stdout}");
    (out, file)
}

#[test]
fn a_backup_restored_into_a_fresh_directory_is_the_same_wiki() {
    let wiki = wiki_with_content();
    let (out, file) = backed_up(wiki.path());
    // One file, and nothing left beside it.
    let names: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["wiki.tar"]);

    let fresh = out.path().join("restored");
    let (ok, stdout, stderr) = run(&fresh, &["restore", file.to_str().unwrap()]);
    assert!(ok, "{stdout}\n{stderr}");
    let expected = contents(wiki.path());
    let pages = expected.len();
    let revisions: u64 = expected.iter().map(|(_, revs, _, _)| revs).sum();
    assert!(
        stdout.contains(&format!("{pages} pages, {revisions} revisions, 1 files")),
        "{stdout}"
    );
    assert_eq!(contents(&fresh), expected);
    assert_eq!(
        std::fs::read(fresh.join("quire.toml")).unwrap(),
        std::fs::read(wiki.path().join("quire.toml")).unwrap()
    );
    // The search index was rebuilt from the restored pages.
    assert!(stdout.contains("search index rebuilt"), "{stdout}");
    // No session key travelled; a new one was made.
    assert_ne!(
        std::fs::read(fresh.join("session.key")).unwrap(),
        std::fs::read(wiki.path().join("session.key")).unwrap()
    );
}

#[test]
fn restore_refuses_a_wiki_with_pages_unless_forced() {
    let source = wiki_with_content();
    let (_out, file) = backed_up(source.path());

    let target = TempDir::new().unwrap();
    crate::cli::init(target.path());
    let before = contents(target.path());
    let (ok, _, stderr) = run(target.path(), &["restore", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(contents(target.path()), before);

    let (ok, stdout, stderr) = run(
        target.path(),
        &["restore", "--force", file.to_str().unwrap()],
    );
    assert!(ok, "{stdout}\n{stderr}");
    assert_eq!(contents(target.path()), contents(source.path()));
    let aside = target.path().join("wiki.sqlite3.before-restore");
    assert_eq!(
        contents_of_db(&aside),
        before
            .into_iter()
            .map(|(page, ..)| page)
            .collect::<Vec<_>>()
    );
    // A second forced restore will not overwrite what the first set aside.
    let (ok, _, stderr) = run(
        target.path(),
        &["restore", "--force", file.to_str().unwrap()],
    );
    assert!(!ok);
    assert!(stderr.contains("before-restore"), "{stderr}");
}

fn contents_of_db(path: &Path) -> Vec<String> {
    Storage::open(path).unwrap().page_names().unwrap()
}

/// The backup `file` again as `NAME.tar` beside it, with its database changed by `damage`.
fn tampered(file: &Path, name: &str, damage: impl FnOnce(&Path)) -> PathBuf {
    let dir = file.parent().unwrap().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut archive = tar::Archive::new(std::fs::File::open(file).unwrap());
    let mut names = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        std::fs::write(dir.join(&name), bytes).unwrap();
        names.push(name);
    }
    damage(&dir.join("wiki.sqlite3"));
    let out = dir.with_extension("tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&out).unwrap());
    for name in names {
        builder
            .append_path_with_name(dir.join(&name), &name)
            .unwrap();
    }
    builder.into_inner().unwrap();
    out
}

#[test]
fn damaged_foreign_newer_and_missing_backups_are_refused_and_the_wiki_is_untouched() {
    // Enough pages that garbage in the middle of the file hits table pages.
    let source = wiki_with_content();
    {
        let storage = Storage::open(&database(source.path())).unwrap();
        let text = "filler line\n".repeat(400);
        for page in 0..100 {
            save(&storage, &format!("Filler{page}"), &text, None);
        }
    }
    let (out, file) = backed_up(source.path());

    let damaged = tampered(&file, "damaged", |db| {
        let mut bytes = std::fs::read(db).unwrap();
        let middle = bytes.len() / 2 / 4096 * 4096;
        bytes[middle..middle + 3 * 4096].fill(0xA5);
        std::fs::write(db, bytes).unwrap();
    });
    let newer = tampered(&file, "newer", |db| {
        rusqlite::Connection::open(db)
            .unwrap()
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    });
    let not_a_tar = out.path().join("notes.txt");
    std::fs::write(&not_a_tar, "just some text, not a backup\n".repeat(100)).unwrap();
    let cut_short = out.path().join("cut.tar");
    let whole = std::fs::read(&file).unwrap();
    std::fs::write(&cut_short, &whole[..whole.len() / 2]).unwrap();
    let missing = out.path().join("missing.tar");

    let target = wiki_with_content();
    let before = contents(target.path());
    for (backup, says) in [
        (&damaged, "damaged"),
        (&newer, "newer quire"),
        (&not_a_tar, "is not a quire backup"),
        (&cut_short, "is not a quire backup"),
        (&missing, "cannot open the backup file"),
    ] {
        let (ok, _, stderr) = run(
            target.path(),
            &["restore", "--force", backup.to_str().unwrap()],
        );
        assert!(!ok, "{backup:?} was restored");
        assert!(stderr.contains(says), "{backup:?}: {stderr}");
        assert!(
            stderr.contains(backup.to_str().unwrap()),
            "{backup:?}: the message does not name the file: {stderr}"
        );
        assert_eq!(contents(target.path()), before, "{backup:?}");
        assert!(!target.path().join("wiki.sqlite3.before-restore").exists());
        // Nothing of the restore is left in the data directory.
        let leftovers: Vec<_> = std::fs::read_dir(target.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with(".restore-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // Into a directory that did not exist: it still does not.
        let fresh = out.path().join("never");
        let (ok, _, stderr) = run(&fresh, &["restore", backup.to_str().unwrap()]);
        assert!(!ok && stderr.contains(says), "{backup:?}: {stderr}");
        assert!(!fresh.exists(), "{backup:?} left {fresh:?} behind");
    }
}

/// The test: a backup taken while eight writers keep saving through `quire serve` holds
/// every save acknowledged before it started, and its restore passes `integrity_check`.
#[test]
fn a_backup_taken_while_eight_writers_save_holds_every_save_acknowledged_before_it() {
    const WRITERS: usize = 8;
    let data = TempDir::new().unwrap();
    // The writers are anonymous, from one address: no hourly limit.
    std::fs::write(
        data.path().join("quire.toml"),
        "[spam]\nanonymous_saves_per_hour = 0\n",
    )
    .unwrap();
    crate::cli::init(data.path());
    {
        // A few MiB, so the copy takes many steps while the writers go on.
        let storage = Storage::open(&database(data.path())).unwrap();
        let text = "some words to fill the page\n".repeat(4000);
        for page in 0..40 {
            save(
                &storage,
                &format!("Big{page}"),
                &format!("{page}\n{text}"),
                None,
            );
        }
    }
    let data_path = data.path().to_path_buf();
    let gw = Http::start_in(data);
    let backup_started = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    // Per writer: the saves acknowledged (303) before the backup started.
    let acknowledged = Mutex::new(vec![0_u64; WRITERS]);
    let out = TempDir::new().unwrap();
    let file = out.path().join("live.tar");
    std::thread::scope(|scope| {
        for writer in 0..WRITERS {
            let (gw, started, stop, acknowledged) = (&gw, &backup_started, &stop, &acknowledged);
            scope.spawn(move || {
                let browser = Browser::new(gw);
                let page = format!("Writer{writer}");
                let mut saves = 0_u64;
                while !stop.load(Ordering::SeqCst) {
                    let text = format!("writer {writer}, save {}\n", saves + 1);
                    let response = browser.save_page(&page, &text, (saves > 0).then_some(saves));
                    assert_eq!(
                        response.status,
                        StatusCode::SEE_OTHER,
                        "{}",
                        response.text()
                    );
                    saves += 1;
                    // Read after the 303 arrived: if the backup had not started then, this
                    // save was acknowledged before it.
                    if !started.load(Ordering::SeqCst) {
                        acknowledged.lock().unwrap()[writer] = saves;
                    }
                }
            });
        }
        // Every writer has a save acknowledged before the backup starts (each save syncs to disk,
        // so on a busy machine the first ones may take a while), and a moment more of saves.
        let deadline = Instant::now() + Duration::from_secs(60);
        while acknowledged.lock().unwrap().contains(&0) {
            assert!(
                Instant::now() < deadline,
                "the writers saved nothing for a minute"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(500));
        backup_started.store(true, Ordering::SeqCst);
        let began = Instant::now();
        let (ok, stdout, stderr) = run(&data_path, &["backup", file.to_str().unwrap()]);
        // The writers go on a little after the copy, then stop: a few seconds in all.
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::SeqCst);
        assert!(ok, "{stdout}\n{stderr}");
        assert!(began.elapsed() < Duration::from_secs(60));
    });
    let acknowledged = acknowledged.into_inner().unwrap();
    assert!(
        acknowledged.iter().all(|&saves| saves > 0),
        "a writer saved nothing before the backup: {acknowledged:?}"
    );

    let fresh = out.path().join("restored");
    let (ok, stdout, stderr) = run(&fresh, &["restore", file.to_str().unwrap()]);
    assert!(ok, "{stdout}\n{stderr}");
    let check: String = rusqlite::Connection::open(database(&fresh))
        .unwrap()
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let restored = Storage::open(&database(&fresh)).unwrap();
    for (writer, &saves) in acknowledged.iter().enumerate() {
        let page = format!("Writer{writer}");
        let text = restored
            .revision(&page, saves)
            .unwrap()
            .unwrap_or_else(|| panic!("{page} lacks acknowledged save {saves}"))
            .text;
        assert_eq!(text, format!("writer {writer}, save {saves}\n"));
    }
}
