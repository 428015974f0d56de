//! Anti-spam rows: rate-limited actions per address (across processes, exact under parallel requests)
//! and the admin's bad-content list.

use storage::spam::RETENTION_SECS;
use storage::{RateLimit, RateOutcome, Storage};

use crate::support::{each_engine, TempDb};

const T0: i64 = 1_700_000_000;

fn take(storage: &Storage, kind: &str, key: &str, time: i64) -> RateOutcome {
    storage
        .take_rate_slot(&RateLimit {
            kind,
            key,
            max: 3,
            window_secs: 60,
            time: Some(time),
        })
        .unwrap()
}

#[test]
fn the_action_after_the_limit_is_refused_until_the_oldest_leaves_the_window() {
    for storage in each_engine() {
        for second in 0..3 {
            assert_eq!(
                take(&storage, "save", "10.0.0.1", T0 + second),
                RateOutcome::Allowed
            );
        }
        assert_eq!(
            take(&storage, "save", "10.0.0.1", T0 + 10),
            RateOutcome::Limited { retry_after: 50 }
        );
        // Another address, another kind: counted apart.
        assert_eq!(
            take(&storage, "save", "10.0.0.2", T0 + 10),
            RateOutcome::Allowed
        );
        assert_eq!(
            take(&storage, "register", "10.0.0.1", T0 + 10),
            RateOutcome::Allowed
        );
        // A refused action is not counted: the first slot frees when the first action is 60 s old.
        assert_eq!(
            take(&storage, "save", "10.0.0.1", T0 + 60),
            RateOutcome::Allowed
        );
        assert!(matches!(
            take(&storage, "save", "10.0.0.1", T0 + 60),
            RateOutcome::Limited { .. }
        ));
    }
}

#[test]
fn rate_limits_hold_across_processes() {
    let db = TempDb::new();
    let (first, second) = (db.open(), db.open());
    assert_eq!(take(&first, "save", "a", T0), RateOutcome::Allowed);
    assert_eq!(take(&second, "save", "a", T0), RateOutcome::Allowed);
    assert_eq!(take(&first, "save", "a", T0), RateOutcome::Allowed);
    assert!(matches!(
        take(&second, "save", "a", T0),
        RateOutcome::Limited { .. }
    ));
}

#[test]
fn parallel_requests_cannot_pass_the_limit() {
    let db = TempDb::new();
    let allowed: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let storage = db.open();
                scope.spawn(move || take(&storage, "save", "a", T0) == RateOutcome::Allowed)
            })
            .collect();
        handles
            .into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum()
    });
    assert_eq!(allowed, 3);
}

#[test]
fn a_limit_of_zero_refuses_everything() {
    for storage in each_engine() {
        let outcome = storage
            .take_rate_slot(&RateLimit {
                kind: "save",
                key: "a",
                max: 0,
                window_secs: 60,
                time: Some(T0),
            })
            .unwrap();
        assert!(matches!(outcome, RateOutcome::Limited { .. }));
    }
}

#[test]
fn old_rows_are_pruned_as_new_ones_come() {
    let db = TempDb::new();
    let storage = db.open();
    for n in 0..10 {
        take(&storage, "save", &format!("old{n}"), T0);
    }
    let later = T0 + RETENTION_SECS + 1;
    take(&storage, "save", "new", later);
    let rows: i64 = rusqlite::Connection::open(&db.path)
        .unwrap()
        .query_row("SELECT count(*) FROM rate_events", [], |row| row.get(0))
        .unwrap();
    assert_eq!(rows, 1);
}

#[test]
fn the_bad_content_list_is_kept_as_written() {
    let db = TempDb::new();
    let storage = db.open();
    assert_eq!(storage.bad_content().unwrap(), None);
    storage
        .set_bad_content("casino\n# a comment\n", "admin")
        .unwrap();
    storage.set_bad_content("casino\nviagra\n", "root").unwrap();
    let list = db.open().bad_content().unwrap().unwrap();
    assert_eq!(list.text, "casino\nviagra\n");
    assert_eq!(list.changed_by, "root");
    assert!(list.changed_at > T0);
}
