//! Online backups: a copy taken while writers go on is consistent and complete up to its moment,
//! and a copy is checked before it is trusted (damaged, foreign, newer).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use storage::{verify_copy, NewUpload, SaveOutcome, Storage, StorageError, SCHEMA_VERSION};

use crate::support::{edit, saved, TempDb};

/// Enough pages that the copy takes several steps of 256 database pages.
fn filled() -> TempDb {
    let db = TempDb::new();
    let storage = db.open();
    let text = "a line of text that fills the page\n".repeat(200);
    for page in 0..200 {
        saved(&storage, edit(&format!("Page{page}"), &text, None, 1_000));
    }
    let mut content: &[u8] = b"attached bytes";
    storage
        .upload(
            &NewUpload {
                page: "Page0",
                name: "notes.txt",
                media_type: "text/plain",
                width: None,
                height: None,
                uploader: "alice",
                comment: "",
                time: Some(2_000),
                max_bytes: 1 << 20,
                quota_bytes: None,
            },
            &mut content,
        )
        .unwrap();
    db
}

#[test]
fn a_copy_holds_everything_and_says_what() {
    let db = filled();
    let copy = db.dir.path().join("copy.sqlite3");
    let mut steps = 0;
    let stats = db
        .open()
        .backup_with_progress(&copy, |_| steps += 1)
        .unwrap();
    assert!(steps > 1, "the copy took {steps} step(s)");
    assert!(stats.db_pages > 256, "{stats:?}");
    assert_eq!(stats.bytes, std::fs::metadata(&copy).unwrap().len());
    // One file: nothing beside it.
    assert!(!db.dir.path().join("copy.sqlite3-wal").exists());
    let facts = verify_copy(&copy).unwrap();
    assert_eq!(
        (
            facts.schema_version,
            facts.pages,
            facts.revisions,
            facts.files
        ),
        (SCHEMA_VERSION, 200, 200, 1)
    );
    let restored = Storage::open(&copy).unwrap();
    assert_eq!(
        restored.current("Page7").unwrap().unwrap().text,
        db.open().current("Page7").unwrap().unwrap().text
    );
}

#[test]
fn a_copy_finishes_while_writers_keep_saving_and_holds_what_was_saved_before_it() {
    let db = filled();
    let storage = Arc::new(db.open());
    let stop = Arc::new(AtomicBool::new(false));
    let before_copy = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let (path, stop) = (db.path.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                // A handle of its own, as another process would have.
                let storage = Storage::open(&path).unwrap();
                let page = format!("Writer{writer}");
                let mut rev = 0;
                while !stop.load(Ordering::Relaxed) {
                    let text = format!("save {}\n", rev + 1);
                    match storage.save(edit(&page, &text, (rev > 0).then_some(rev), 3_000)) {
                        Ok(SaveOutcome::Saved { rev: new }) => rev = new,
                        Err(err) if err.is_busy() => {}
                        other => panic!("{other:?}"),
                    }
                }
                rev
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let copy = db.dir.path().join("copy.sqlite3");
    let revisions_before = |s: &Storage| {
        (0..4)
            .map(|w| s.revision_count(&format!("Writer{w}")).unwrap())
            .sum::<u64>()
    };
    before_copy.store(revisions_before(&storage), Ordering::Relaxed);
    let mut steps = 0_u64;
    let stats = storage.backup_with_progress(&copy, |_| steps += 1).unwrap();
    // Never restarted by the writers' commits: one step per 256 pages of the one snapshot.
    assert_eq!(steps, stats.db_pages.div_ceil(256), "{stats:?}");
    stop.store(true, Ordering::Relaxed);
    let last: u64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    let facts = verify_copy(&copy).unwrap();
    let in_copy = revisions_before(&Storage::open(&copy).unwrap());
    assert!(
        in_copy >= before_copy.load(Ordering::Relaxed),
        "{in_copy} revisions of writers in the copy, {} before it started",
        before_copy.load(Ordering::Relaxed)
    );
    assert!(in_copy <= last);
    assert_eq!(facts.revisions, 200 + in_copy);
}

#[test]
fn a_damaged_copy_is_refused() {
    let db = filled();
    let copy = db.dir.path().join("copy.sqlite3");
    db.open().backup_to(&copy).unwrap();
    // Garbage over a few pages in the middle: tables' pages, not the header.
    let mut bytes = std::fs::read(&copy).unwrap();
    let middle = bytes.len() / 2 / 4096 * 4096;
    bytes[middle..middle + 3 * 4096].fill(0xA5);
    std::fs::write(&copy, bytes).unwrap();
    match verify_copy(&copy) {
        Err(StorageError::DamagedCopy { path, .. }) => assert_eq!(path, copy),
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_foreign_garbage_and_newer_copies_are_refused() {
    let db = TempDb::new();
    let missing = db.dir.path().join("missing.sqlite3");
    assert!(matches!(
        verify_copy(&missing),
        Err(StorageError::CopyFile { .. })
    ));
    assert!(!missing.exists(), "the check created the file it was given");

    let garbage = db.dir.path().join("garbage.sqlite3");
    std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
    assert!(matches!(
        verify_copy(&garbage),
        Err(StorageError::NotADatabase { .. })
    ));

    let foreign = db.dir.path().join("foreign.sqlite3");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE accounts (id INTEGER)")
        .unwrap();
    assert!(matches!(
        verify_copy(&foreign),
        Err(StorageError::ForeignDatabase { .. })
    ));

    let newer = db.dir.path().join("newer.sqlite3");
    db.open().backup_to(&newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    assert!(matches!(
        verify_copy(&newer),
        Err(StorageError::NewerSchema { found, .. }) if found == SCHEMA_VERSION + 1
    ));
}
