//! What the test modules share: temporary databases (new, or as an older schema wrote them), saves,
//! accounts, the render cache, recent changes, and running one of these tests in child processes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use storage::{CachedHtml, Change, RecentQuery, RenderTicket, Save, SaveOutcome, Storage};

/// Schema version 1 (`tests/data/schema-v1.sql`): pages and plain revisions, no links, no blame.
pub(crate) const SCHEMA_V1: &str = include_str!("../data/schema-v1.sql");

/// The variable naming a PostgreSQL server the tests run on as well (the e2e suite sets it to a
/// throwaway cluster).
pub(crate) const TEST_DATABASE: &str = "QUIRE_TEST_DATABASE";

/// A new, empty wiki on each engine under test: SQLite (in memory) always, and PostgreSQL (a
/// schema of its own) when [`TEST_DATABASE`] names a server. A test written over these runs the
/// same code on both.
pub(crate) fn each_engine() -> Vec<Storage> {
    let mut all = vec![Storage::open_in_memory().unwrap()];
    if let Ok(url) = std::env::var(TEST_DATABASE) {
        all.push(Storage::open_postgres_for_tests(&url).unwrap());
    }
    all
}

/// Creates the ordinary account `name` (password "correct horse battery").
pub(crate) fn create_user(storage: &Storage, name: &str) {
    storage
        .create_user(&storage::NewUser {
            name,
            display_name: None,
            email: "",
            role: storage::Role::User,
            password: "correct horse battery",
            invite: None,
            reserved: &[],
        })
        .unwrap();
}

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

    /// A database file as an older quire left it: `schema` (a fixture such as [`SCHEMA_V1`]), then
    /// `rows`, written with plain SQLite, not yet opened by storage.
    pub(crate) fn old(schema: &str, rows: &str) -> TempDb {
        let db = TempDb::new();
        let conn = rusqlite::Connection::open(&db.path).unwrap();
        conn.execute_batch(schema).unwrap();
        conn.execute_batch(rows).unwrap();
        db
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

/// The number of `page`'s current revision, the base of a save on top of it (`None`: no such page).
pub(crate) fn current_rev(storage: &Storage, page: &str) -> Option<u64> {
    storage.current(page).unwrap().map(|r| r.meta.rev)
}

/// Saves `text` on top of the current revision with its outgoing `links`, as the wiki does; returns
/// the new revision's number.
pub(crate) fn linked(storage: &Storage, page: &str, text: &str, links: &[&str]) -> u64 {
    let base = current_rev(storage, page);
    match storage
        .save_with_links(edit(page, text, base, 1_000), links)
        .unwrap()
    {
        SaveOutcome::Saved { rev } => rev,
        other => panic!("expected a new revision, got {other:?}"),
    }
}

/// The ticket to cache a render of `page` at `rev`; panics on a cache hit.
pub(crate) fn ticket(storage: &Storage, page: &str, rev: u64, variant: &str) -> RenderTicket {
    match storage.cached_html(page, rev, variant).unwrap() {
        CachedHtml::Miss(ticket) => ticket,
        CachedHtml::Hit(html) => panic!("expected a miss, found {html:?}"),
    }
}

/// The cached HTML of `page` at `rev`, if any.
pub(crate) fn hit(storage: &Storage, page: &str, rev: u64, variant: &str) -> Option<String> {
    match storage.cached_html(page, rev, variant).unwrap() {
        CachedHtml::Hit(html) => Some(html),
        CachedHtml::Miss(_) => None,
    }
}

/// The newest `limit` changes across the wiki, unfiltered.
pub(crate) fn recent(storage: &Storage, limit: usize) -> Vec<Change> {
    storage
        .recent(&RecentQuery {
            limit,
            ..RecentQuery::default()
        })
        .unwrap()
}

const CHILD_DB: &str = "QUIRE_STORAGE_TEST_CHILD_DB";
const CHILD_WORKER: &str = "QUIRE_STORAGE_TEST_CHILD_WORKER";

/// Runs the ignored test `test` (`module::name`) of this test binary in `workers` child processes,
/// all started before any is waited for so that they really run at once; each finds the database
/// and its worker number with [`child_worker`]. Fails if a child fails or ran no test.
pub(crate) fn run_children(test: &str, db: &Path, workers: usize) {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..workers)
        .map(|worker| {
            Command::new(&exe)
                .args(["--exact", test, "--include-ignored", "--test-threads=1"])
                .env(CHILD_DB, db)
                .env(CHILD_WORKER, worker.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Guard against the filter matching nothing, which would pass vacuously.
        assert!(
            stdout.contains("1 passed"),
            "the child ran no test: {stdout}"
        );
    }
}

/// In a child process started by [`run_children`]: the database and this child's worker number.
pub(crate) fn child_worker() -> (PathBuf, usize) {
    let path: OsString = std::env::var_os(CHILD_DB).expect("started by run_children");
    let worker = std::env::var(CHILD_WORKER).unwrap().parse().unwrap();
    (PathBuf::from(path), worker)
}
