//! Saving: revision numbers, unchanged texts, conflicts with a stale base, sizes in bytes, and
//! two writers racing from one base; on every engine under test.

use std::sync::{Arc, Barrier};

use storage::SaveOutcome;

use crate::concurrency::shared_wikis;
use crate::support::{each_engine, edit, recent};

#[test]
fn revisions_count_up_from_one() {
    for storage in each_engine() {
        let engine = storage.engine();
        assert_eq!(
            storage.save(edit("P", "a", None, 1_000)).unwrap(),
            SaveOutcome::Saved { rev: 1 },
            "{engine}"
        );
        assert_eq!(
            storage.save(edit("P", "b", Some(1), 1_000)).unwrap(),
            SaveOutcome::Saved { rev: 2 },
            "{engine}"
        );
        assert_eq!(
            storage.save(edit("Q", "a", None, 1_000)).unwrap(),
            SaveOutcome::Saved { rev: 1 },
            "{engine}"
        );
    }
}

#[test]
fn identical_text_writes_nothing_even_from_a_stale_base() {
    for storage in each_engine() {
        storage.save(edit("P", "a", None, 1_000)).unwrap();
        storage.save(edit("P", "b", Some(1), 1_000)).unwrap();
        assert_eq!(
            storage.save(edit("P", "b", Some(1), 1_000)).unwrap(),
            SaveOutcome::Unchanged { rev: 2 },
            "{}",
            storage.engine()
        );
        assert_eq!(storage.revision_count("P").unwrap(), 2);
    }
}

#[test]
fn stale_missing_or_future_bases_conflict() {
    for storage in each_engine() {
        let engine = storage.engine();
        storage.save(edit("P", "a", None, 1_000)).unwrap();
        storage.save(edit("P", "b", Some(1), 1_000)).unwrap();
        for base in [Some(1), None, Some(3), Some(u64::MAX)] {
            let SaveOutcome::Conflict { current } =
                storage.save(edit("P", "c", base, 1_000)).unwrap()
            else {
                panic!("{engine}: base {base:?} did not conflict");
            };
            assert_eq!((current.meta.rev, current.text.as_str()), (2, "b"));
        }
        assert_eq!(storage.revision_count("P").unwrap(), 2, "{engine}");
    }
}

#[test]
fn a_base_for_a_missing_page_still_creates_it() {
    for storage in each_engine() {
        assert_eq!(
            storage.save(edit("Gone", "x", Some(7), 1_000)).unwrap(),
            SaveOutcome::Saved { rev: 1 },
            "{}",
            storage.engine()
        );
    }
}

#[test]
fn size_and_delta_are_bytes() {
    for storage in each_engine() {
        storage.save(edit("P", "ä", None, 1_000)).unwrap();
        storage.save(edit("P", "", Some(1), 1_000)).unwrap();
        let changes = recent(&storage, 10);
        let sizes: Vec<_> = changes
            .iter()
            .map(|c| (c.meta.rev, c.meta.size, c.size_delta))
            .collect();
        assert_eq!(sizes, [(2, 0, -2), (1, 2, 2)], "{}", storage.engine());
    }
}

/// Two writers save the same page from the same base at the same moment, round after round:
/// exactly one of them writes the next revision, and the other is told of the conflict with the
/// winner's text, on both engines (SQLite's write lock; PostgreSQL's advisory lock, which every
/// node's write transactions take).
#[test]
fn of_two_saves_from_one_base_exactly_one_wins() {
    const ROUNDS: u64 = 25;
    for (storage, _db) in shared_wikis() {
        let engine = storage.engine();
        let storage = Arc::new(storage);
        storage.save(edit("Race", "start", None, 1)).unwrap();
        for round in 1..=ROUNDS {
            let barrier = Arc::new(Barrier::new(2));
            let writers: Vec<_> = ["ann", "bob"]
                .into_iter()
                .map(|who| {
                    let storage = Arc::clone(&storage);
                    let barrier = Arc::clone(&barrier);
                    std::thread::spawn(move || {
                        let text = format!("{who} in round {round}");
                        barrier.wait();
                        let outcome = storage.save(edit("Race", &text, Some(round), 1)).unwrap();
                        (text, outcome)
                    })
                })
                .collect();
            let outcomes: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
            let winners: Vec<_> = outcomes
                .iter()
                .filter(|(_, outcome)| matches!(outcome, SaveOutcome::Saved { .. }))
                .collect();
            assert_eq!(winners.len(), 1, "{engine}, round {round}: {outcomes:?}");
            let (won, saved) = winners[0];
            assert_eq!(*saved, SaveOutcome::Saved { rev: round + 1 }, "{engine}");
            let lost = outcomes
                .iter()
                .find(|(_, outcome)| !matches!(outcome, SaveOutcome::Saved { .. }))
                .unwrap();
            match &lost.1 {
                SaveOutcome::Conflict { current } => {
                    assert_eq!(
                        (current.meta.rev, &current.text),
                        (round + 1, won),
                        "{engine}, round {round}"
                    );
                }
                other => panic!("{engine}, round {round}: the loser got {other:?}"),
            }
        }
        assert_eq!(
            storage.revision_count("Race").unwrap(),
            ROUNDS + 1,
            "{engine}"
        );
        let history = storage.history("Race", usize::MAX, 0).unwrap();
        let revs: Vec<u64> = history.iter().map(|meta| meta.rev).collect();
        assert_eq!(revs, (1..=ROUNDS + 1).rev().collect::<Vec<_>>(), "{engine}");
        // Every superseded revision was compacted and still reads back.
        for rev in 1..=ROUNDS {
            assert!(storage.revision("Race", rev).unwrap().is_some(), "{engine}");
        }
    }
}
