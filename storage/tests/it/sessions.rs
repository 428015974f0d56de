//! Sessions: ids, revocation by a logout (across processes), pruning, and ending every session of an
//! account.

use storage::sessions::{new_session_id, PRUNE_BATCH};
use storage::UserError;

use crate::support::{create_user as create, each_engine, TempDb};

/// Far in the future: a revocation that outlives the test.
const LATER: i64 = i64::MAX / 2;

#[test]
fn session_ids_are_128_random_bits() {
    let id = new_session_id().unwrap();
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_ne!(id, new_session_id().unwrap());
}

#[test]
fn a_revoked_session_is_refused_across_processes() {
    let db = TempDb::new();
    let first = db.open();
    create(&first, "Alice");
    let (ended, other) = (new_session_id().unwrap(), new_session_id().unwrap());
    assert_eq!(
        first.session_user("alice", &ended).unwrap().map(|u| u.name),
        Some("Alice".to_owned())
    );
    first.revoke_session(&ended, LATER).unwrap();
    // Revoking twice (a logout sent twice) is no error.
    first.revoke_session(&ended, LATER).unwrap();
    drop(first);

    // Another process (a CGI request) sees the revocation.
    let second = db.open();
    assert_eq!(second.session_user("Alice", &ended).unwrap(), None);
    assert!(second.session_user("Alice", &other).unwrap().is_some());
    assert_eq!(second.session_user("nobody", &other).unwrap(), None);
}

#[test]
fn expired_revocations_are_pruned_a_batch_at_a_time() {
    for storage in each_engine() {
        let expired = PRUNE_BATCH + 3;
        for _ in 0..expired {
            // Expired long ago: the cookies they stood for are dead by their own expiry.
            storage
                .revoke_session(&new_session_id().unwrap(), 1)
                .unwrap();
        }
        // Each insert prunes what has expired before it, at most PRUNE_BATCH rows.
        assert_eq!(storage.revoked_session_count().unwrap(), 1);
        let live = new_session_id().unwrap();
        storage.revoke_session(&live, LATER).unwrap();
        assert_eq!(
            storage.revoked_session_count().unwrap(),
            1,
            "only the live one is left"
        );
        create(&storage, "Alice");
        assert_eq!(storage.session_user("Alice", &live).unwrap(), None);
    }
}

#[test]
fn pruning_is_bounded_per_insert() {
    let db = TempDb::new();
    let storage = db.open();
    let backlog = PRUNE_BATCH * 2 + 5;
    // A backlog of expired rows left by a build that did not prune (or a clock set back).
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    for i in 0..backlog {
        conn.execute(
            "INSERT INTO revoked_sessions (id, expires) VALUES (?1, 1)",
            [format!("{i:032x}")],
        )
        .unwrap();
    }
    storage
        .revoke_session(&new_session_id().unwrap(), LATER)
        .unwrap();
    assert_eq!(
        storage.revoked_session_count().unwrap(),
        backlog - PRUNE_BATCH + 1
    );
    storage
        .revoke_session(&new_session_id().unwrap(), LATER)
        .unwrap();
    storage
        .revoke_session(&new_session_id().unwrap(), LATER)
        .unwrap();
    assert_eq!(storage.revoked_session_count().unwrap(), 3);
}

#[test]
fn ending_every_session_raises_the_epoch() {
    for storage in each_engine() {
        create(&storage, "Alice");
        let before = storage.user("alice").unwrap().unwrap().session_epoch;
        storage.end_sessions("ALICE").unwrap();
        assert_eq!(
            storage.user("alice").unwrap().unwrap().session_epoch,
            before + 1
        );
        assert!(matches!(
            storage.end_sessions("nobody"),
            Err(UserError::NoSuchUser(_))
        ));
    }
}
