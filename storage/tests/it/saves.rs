//! Saving: revision numbers, unchanged texts, conflicts with a stale base, sizes in bytes.

use storage::{SaveOutcome, Storage};

use crate::support::{edit, recent};

#[test]
fn revisions_count_up_from_one() {
    let storage = Storage::open_in_memory().unwrap();
    assert_eq!(
        storage.save(edit("P", "a", None, 1_000)).unwrap(),
        SaveOutcome::Saved { rev: 1 }
    );
    assert_eq!(
        storage.save(edit("P", "b", Some(1), 1_000)).unwrap(),
        SaveOutcome::Saved { rev: 2 }
    );
    assert_eq!(
        storage.save(edit("Q", "a", None, 1_000)).unwrap(),
        SaveOutcome::Saved { rev: 1 }
    );
}

#[test]
fn identical_text_writes_nothing_even_from_a_stale_base() {
    let storage = Storage::open_in_memory().unwrap();
    storage.save(edit("P", "a", None, 1_000)).unwrap();
    storage.save(edit("P", "b", Some(1), 1_000)).unwrap();
    assert_eq!(
        storage.save(edit("P", "b", Some(1), 1_000)).unwrap(),
        SaveOutcome::Unchanged { rev: 2 }
    );
    assert_eq!(storage.revision_count("P").unwrap(), 2);
}

#[test]
fn stale_missing_or_future_bases_conflict() {
    let storage = Storage::open_in_memory().unwrap();
    storage.save(edit("P", "a", None, 1_000)).unwrap();
    storage.save(edit("P", "b", Some(1), 1_000)).unwrap();
    for base in [Some(1), None, Some(3), Some(u64::MAX)] {
        let SaveOutcome::Conflict { current } = storage.save(edit("P", "c", base, 1_000)).unwrap()
        else {
            panic!("base {base:?} did not conflict");
        };
        assert_eq!((current.meta.rev, current.text.as_str()), (2, "b"));
    }
    assert_eq!(storage.revision_count("P").unwrap(), 2);
}

#[test]
fn a_base_for_a_missing_page_still_creates_it() {
    let storage = Storage::open_in_memory().unwrap();
    assert_eq!(
        storage.save(edit("Gone", "x", Some(7), 1_000)).unwrap(),
        SaveOutcome::Saved { rev: 1 }
    );
}

#[test]
fn size_and_delta_are_bytes() {
    let storage = Storage::open_in_memory().unwrap();
    storage.save(edit("P", "ä", None, 1_000)).unwrap();
    storage.save(edit("P", "", Some(1), 1_000)).unwrap();
    let changes = recent(&storage, 10);
    let sizes: Vec<_> = changes
        .iter()
        .map(|c| (c.meta.rev, c.meta.size, c.size_delta))
        .collect();
    assert_eq!(sizes, [(2, 0, -2), (1, 2, 2)]);
}
