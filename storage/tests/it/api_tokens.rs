//! API tokens: made once and found by their digest only, listed without the secret, revoked,
//! scoped, expiring, and their last use written at most once a minute.

use storage::api_tokens::{LAST_USE_GRANULARITY, TOKEN_PREFIX};
use storage::{ApiTokenError, NewApiToken, Storage, TokenScope};

use crate::support::{create_user as create, each_engine, TempDb};

fn token(user: &str, scope: TokenScope, expires: Option<i64>) -> NewApiToken<'_> {
    NewApiToken {
        user,
        label: " ci ",
        scope,
        expires,
    }
}

#[test]
fn a_token_is_found_by_its_secret_in_another_process_and_stored_only_as_a_digest() {
    let db = TempDb::new();
    let first = db.open();
    create(&first, "Alice");
    let made = first
        .create_api_token(&token("alice", TokenScope::Write, Some(99)))
        .unwrap();
    assert!(made.secret.starts_with(TOKEN_PREFIX));
    assert_eq!(made.token.label, "ci");
    let other = db.open();
    let (found, user) = other.api_token(&made.secret).unwrap().unwrap();
    assert_eq!(user.name, "Alice");
    assert_eq!(found, made.token);
    assert!(found.expired_at(99) && !found.expired_at(98));
    assert_eq!(other.api_token("quire_nope").unwrap(), None);
    assert_eq!(other.api_token("nope").unwrap(), None);
    drop((first, other));
    // Nothing in the file holds the secret.
    let bytes = std::fs::read(&db.path).unwrap();
    let secret = made.secret.as_bytes();
    assert!(!bytes.windows(secret.len()).any(|w| w == secret));
}

#[test]
fn tokens_are_listed_by_account_and_revoked_by_their_owner_only() {
    for storage in each_engine() {
        create(&storage, "Alice");
        create(&storage, "Bob");
        let read = storage
            .create_api_token(&token("Alice", TokenScope::Read, None))
            .unwrap();
        let write = storage
            .create_api_token(&token("Alice", TokenScope::Write, None))
            .unwrap();
        let listed = storage.api_tokens("ALICE").unwrap();
        assert_eq!(listed, [write.token.clone(), read.token.clone()]);
        assert!(storage.api_tokens("Bob").unwrap().is_empty());
        assert!(!storage.revoke_api_token("Bob", read.token.id).unwrap());
        assert!(storage.api_token(&read.secret).unwrap().is_some());
        assert!(storage.revoke_api_token("Alice", read.token.id).unwrap());
        assert_eq!(storage.api_token(&read.secret).unwrap(), None);
        assert_eq!(storage.api_tokens("Alice").unwrap(), [write.token]);
    }
}

#[test]
fn a_token_needs_an_account_and_a_label() {
    for storage in each_engine() {
        create(&storage, "Alice");
        let err = storage
            .create_api_token(&token("Nobody", TokenScope::Read, None))
            .unwrap_err();
        assert!(matches!(err, ApiTokenError::NoSuchUser(_)), "{err:?}");
        let blank = NewApiToken {
            label: "  ",
            ..token("Alice", TokenScope::Read, None)
        };
        let err = storage.create_api_token(&blank).unwrap_err();
        assert!(matches!(err, ApiTokenError::BadLabel), "{err:?}");
    }
}

#[test]
fn the_last_use_is_written_at_most_once_a_granule() {
    for storage in each_engine() {
        create(&storage, "Alice");
        let made = storage
            .create_api_token(&token("Alice", TokenScope::Read, None))
            .unwrap();
        let last_used = |storage: &Storage| storage.api_tokens("Alice").unwrap()[0].last_used;
        storage.api_token_used(&made.token, 1000).unwrap();
        assert_eq!(last_used(&storage), Some(1000));
        // The caller holds what it read: a use within the granule writes nothing.
        let (seen, _) = storage.api_token(&made.secret).unwrap().unwrap();
        storage
            .api_token_used(&seen, 1000 + LAST_USE_GRANULARITY - 1)
            .unwrap();
        assert_eq!(last_used(&storage), Some(1000));
        storage
            .api_token_used(&seen, 1000 + LAST_USE_GRANULARITY)
            .unwrap();
        assert_eq!(last_used(&storage), Some(1000 + LAST_USE_GRANULARITY));
    }
}
