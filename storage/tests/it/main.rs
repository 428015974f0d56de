//! Integration tests of the storage crate through its public API, on real database files.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions; a failure should panic the test"
)]

mod concurrency;
mod history;
mod lifecycle;
mod links;
mod open;
mod pages;
mod users;

use std::path::PathBuf;

use storage::{Save, SaveOutcome, Storage};

/// A temporary directory with a database path inside; removed on drop.
pub(crate) struct TempDb {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) path: PathBuf,
}

impl TempDb {
    pub(crate) fn new() -> TempDb {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wiki.db");
        TempDb { dir, path }
    }

    pub(crate) fn open(&self) -> Storage {
        Storage::open(&self.path).unwrap()
    }
}

/// A save at a fixed time by alice.
pub(crate) fn edit<'a>(page: &'a str, text: &'a str, base_rev: Option<u64>, time: i64) -> Save<'a> {
    Save {
        page,
        text,
        author: "alice",
        comment: "",
        base_rev,
        time: Some(time),
    }
}

/// Saves and insists a revision was written; returns its number.
pub(crate) fn saved(storage: &Storage, save: Save<'_>) -> u64 {
    match storage.save(save).unwrap() {
        SaveOutcome::Saved { rev } => rev,
        other => panic!("expected a new revision, got {other:?}"),
    }
}
