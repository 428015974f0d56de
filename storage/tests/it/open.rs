//! Opening databases: creation, reopening, migration, and refusing files that are not ours.

use std::time::Duration;

use rusqlite::Connection;
use storage::{Options, SaveOutcome, Storage, StorageError, SCHEMA_VERSION};

use crate::support::{edit, saved, TempDb};

fn pragma<T: rusqlite::types::FromSql>(path: &std::path::Path, name: &str) -> T {
    Connection::open(path)
        .unwrap()
        .pragma_query_value(None, name, |row| row.get(0))
        .unwrap()
}

#[test]
fn a_missing_file_is_created_at_the_current_schema_in_wal_mode() {
    let db = TempDb::new();
    assert!(!db.path.exists());
    let storage = db.open();
    assert!(db.path.exists());
    assert_eq!(storage.path(), db.path);
    assert_eq!(pragma::<u32>(&db.path, "user_version"), SCHEMA_VERSION);
    assert_eq!(pragma::<String>(&db.path, "journal_mode"), "wal");
}

#[test]
fn reopening_keeps_everything() {
    let db = TempDb::new();
    {
        let storage = db.open();
        saved(&storage, edit("P", "one", None, 1));
        saved(&storage, edit("P", "two", Some(1), 2));
    }
    let storage = db.open();
    assert_eq!(storage.current("P").unwrap().unwrap().text, "two");
    assert_eq!(storage.revision_count("P").unwrap(), 2);
    assert_eq!(
        storage.save(edit("P", "three", Some(2), 3)).unwrap(),
        SaveOutcome::Saved { rev: 3 }
    );
    assert_eq!(pragma::<u32>(&db.path, "user_version"), SCHEMA_VERSION);
}

#[test]
fn a_newer_schema_is_refused_and_left_alone() {
    let db = TempDb::new();
    drop(db.open());
    let newer = SCHEMA_VERSION + 1;
    Connection::open(&db.path)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let err = Storage::open(&db.path).unwrap_err();
    assert!(
        matches!(err, StorageError::NewerSchema { found, supported } if found == newer && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&newer.to_string()) && message.contains("newer"),
        "{message}"
    );
    assert_eq!(pragma::<u32>(&db.path, "user_version"), newer);
}

#[test]
fn a_garbage_file_is_refused_with_its_path_and_not_touched() {
    let db = TempDb::new();
    for garbage in [
        b"this is not a database, just a text file that happens to be here\n".repeat(100),
        vec![0xff; 10],
        b"SQLite format 3\0"
            .iter()
            .copied()
            .chain([0x55; 4096])
            .collect(),
    ] {
        std::fs::write(&db.path, &garbage).unwrap();
        let err = Storage::open(&db.path).unwrap_err();
        assert!(
            matches!(&err, StorageError::NotADatabase { path } if *path == db.path)
                || matches!(&err, StorageError::Corrupt { path } if *path == db.path),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(db.path.to_str().unwrap()), "{message}");
        assert_eq!(
            std::fs::read(&db.path).unwrap(),
            garbage,
            "the file was modified"
        );
    }
}

#[test]
fn another_programs_database_is_refused_and_not_extended() {
    let db = TempDb::new();
    let other = Connection::open(&db.path).unwrap();
    other
        .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        .unwrap();
    drop(other);
    let err = Storage::open(&db.path).unwrap_err();
    assert!(
        matches!(err, StorageError::ForeignDatabase { .. }),
        "{err:?}"
    );
    let tables: i64 = Connection::open(&db.path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| row.get(0))
        .unwrap();
    assert_eq!(tables, 1);
}

#[test]
fn a_missing_directory_is_a_clear_open_error() {
    let db = TempDb::new();
    let path = db.dir.path().join("no/such/dir/wiki.db");
    let err = Storage::open(&path).unwrap_err();
    assert!(
        matches!(&err, StorageError::Open { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains("directory exists"), "{err}");
}

#[test]
fn a_path_that_looks_like_a_uri_is_still_a_path() {
    let db = TempDb::new();
    let path = db.dir.path().join("file:wiki.db?mode=memory");
    let storage = Storage::open(&path).unwrap();
    saved(&storage, edit("P", "x", None, 1));
    assert!(path.exists());
}

#[test]
fn a_held_write_lock_ends_in_busy_after_the_timeout() {
    let db = TempDb::new();
    let storage = Storage::open_with(
        &db.path,
        &Options::default().busy_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    saved(&storage, edit("P", "x", None, 1));

    let mut other = Connection::open(&db.path).unwrap();
    let lock = other
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .unwrap();
    let err = storage.save(edit("P", "y", Some(1), 2)).unwrap_err();
    assert!(err.is_busy(), "{err:?}");
    assert!(matches!(err, StorageError::Busy { .. }));
    // Reads go on while another process writes (WAL).
    assert_eq!(storage.current("P").unwrap().unwrap().text, "x");
    drop(lock);
    assert_eq!(saved(&storage, edit("P", "y", Some(1), 2)), 2);
}

/// The durability promise (ARCHITECTURE.md's invariants): every connection a wiki writes through
/// syncs at each commit, so a save that returned survives a power loss; bulk work opts out and
/// syncs once at the end.
#[test]
fn every_connection_syncs_each_commit_unless_opened_for_bulk_work() {
    let db = TempDb::new();
    let storage = Storage::open(&db.path).unwrap();
    assert_eq!(storage.synchronous_level().unwrap(), 2, "FULL");
    // A second connection, opened while the first is busy, is configured the same.
    std::thread::scope(|scope| {
        let first = scope.spawn(|| storage.synchronous_level().unwrap());
        assert_eq!(storage.synchronous_level().unwrap(), 2);
        assert_eq!(first.join().unwrap(), 2);
    });
    drop(storage);
    let bulk = Storage::open_with(
        &db.path,
        &Options::default().durability(storage::Durability::Bulk),
    )
    .unwrap();
    assert_eq!(bulk.synchronous_level().unwrap(), 1, "NORMAL");
    bulk.sync().unwrap();
}
