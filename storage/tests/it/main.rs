//! Integration tests of the storage crate through its public API, on real database files.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions; a failure should panic the test"
)]

mod api_tokens;
mod backup;
mod concurrency;
mod copy;
mod files;
mod history;
mod import;
mod imported_users;
mod lifecycle;
mod links;
mod open;
mod pages;
mod saves;
mod sessions;
mod spam;
mod support;
mod users;
mod watching;
