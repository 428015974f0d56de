//! Many writers at once: threads with their own `Storage` (each its own connection, which SQLite locks
//! like a separate process), threads sharing one `Storage`, and real OS processes.
//!
//! Every worker appends to one shared page (retrying on conflict, like a user merging) and to a page of its
//! own. Afterwards every save must be there, numbered densely 1..N.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Barrier};

use storage::{Save, SaveOutcome, Storage};

use crate::support::{child_worker, current_rev, recent, run_children, TempDb, TEST_DATABASE};

const SHARED: &str = "Shared/Page";

fn own_page(worker: usize) -> String {
    format!("Worker {worker}")
}

fn text(worker: usize, i: usize) -> String {
    format!("worker {worker} save {i}")
}

/// Saves `saves` times to the shared page and to the worker's own page.
fn work(storage: &Storage, worker: usize, saves: usize) {
    let own = own_page(worker);
    for i in 0..saves {
        let text = text(worker, i);
        append(storage, SHARED, &text);
        // Interleave reads with the writes.
        recent(storage, 5);
        let base = current_rev(storage, &own);
        let outcome = storage.save(save(&own, &text, base)).unwrap();
        assert_eq!(outcome, SaveOutcome::Saved { rev: i as u64 + 1 });
    }
}

fn save<'a>(page: &'a str, text: &'a str, base_rev: Option<u64>) -> Save<'a> {
    Save {
        page,
        text,
        author: "worker",
        comment: "concurrent",
        base_rev,
        time: None,
    }
}

/// Saves `text` to `page` on top of whatever is current, retrying when someone else got there first.
fn append(storage: &Storage, page: &str, text: &str) {
    loop {
        let base = current_rev(storage, page);
        match storage.save(save(page, text, base)).unwrap() {
            SaveOutcome::Saved { .. } => return,
            SaveOutcome::Conflict { .. } => continue,
            SaveOutcome::Unchanged { .. } => panic!("every text is unique"),
        }
    }
}

fn check(path: &Path, workers: usize, saves: usize) {
    check_storage(&Storage::open(path).unwrap(), workers, saves);
}

/// [`check`] on a wiki already open.
fn check_storage(storage: &Storage, workers: usize, saves: usize) {
    let total = workers * saves;
    assert_eq!(storage.revision_count(SHARED).unwrap(), total as u64);
    let history = storage.history(SHARED, usize::MAX, 0).unwrap();
    let revs: Vec<u64> = history.iter().rev().map(|m| m.rev).collect();
    assert_eq!(revs, (1..=total as u64).collect::<Vec<_>>());

    let mut texts = BTreeSet::new();
    for rev in 1..=total as u64 {
        texts.insert(storage.revision(SHARED, rev).unwrap().unwrap().text);
    }
    let expected: BTreeSet<String> = (0..workers)
        .flat_map(|w| (0..saves).map(move |i| text(w, i)))
        .collect();
    assert_eq!(texts, expected, "a save was lost or duplicated");

    for worker in 0..workers {
        let own = own_page(worker);
        assert_eq!(storage.revision_count(&own).unwrap(), saves as u64);
        let current = storage.current(&own).unwrap().unwrap();
        assert_eq!(current.text, text(worker, saves - 1));
    }
    assert_eq!(recent(storage, usize::MAX).len(), 2 * total);
}

/// One wiki as several writers see it: a database file on SQLite, which each thread reaches
/// through a connection of its own, and the PostgreSQL test database (when there is one), whose
/// pool likewise hands each thread a connection. The file goes when its `TempDb` is dropped.
pub(crate) fn shared_wikis() -> Vec<(Storage, Option<TempDb>)> {
    let db = TempDb::new();
    let mut all = vec![(db.open(), Some(db))];
    if let Ok(url) = std::env::var(TEST_DATABASE) {
        all.push((Storage::open_postgres_for_tests(&url).unwrap(), None));
    }
    all
}

#[test]
fn threads_with_their_own_storage_open_and_save_at_once() {
    let db = TempDb::new();
    let (workers, saves) = (8, 15);
    let start = Arc::new(Barrier::new(workers));
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let (path, start) = (&db.path, Arc::clone(&start));
            scope.spawn(move || {
                // All open a fresh file at the same moment: one migrates, the others wait and see it done.
                start.wait();
                let storage = Storage::open(path).unwrap();
                work(&storage, worker, saves);
            });
        }
    });
    check(&db.path, workers, saves);
}

/// On each engine: every save of every thread is there, numbered densely, none lost to a race.
#[test]
fn threads_sharing_one_storage() {
    for (storage, _db) in shared_wikis() {
        eprintln!("on {}", storage.engine());
        let (workers, saves) = (6, 15);
        std::thread::scope(|scope| {
            for worker in 0..workers {
                let storage = &storage;
                scope.spawn(move || work(storage, worker, saves));
            }
        });
        check_storage(&storage, workers, saves);
    }
}

#[test]
fn threads_sharing_one_in_memory_storage() {
    let storage = Storage::open_in_memory().unwrap();
    let (workers, saves) = (4, 10);
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let storage = &storage;
            scope.spawn(move || work(storage, worker, saves));
        }
    });
    assert_eq!(
        storage.revision_count(SHARED).unwrap(),
        (workers * saves) as u64
    );
}

const CHILD_SAVES: usize = 15;

#[test]
fn separate_processes_save_at_once() {
    let db = TempDb::new();
    let workers = 4;
    run_children("concurrency::child_process", &db.path, workers);
    check(&db.path, workers, CHILD_SAVES);
}

/// Entry point of the child processes of `separate_processes_save_at_once`.
#[test]
#[ignore = "runs only inside a child process started by separate_processes_save_at_once"]
fn child_process() {
    let (path, worker) = child_worker();
    let storage = Storage::open(&path).unwrap();
    work(&storage, worker, CHILD_SAVES);
}
