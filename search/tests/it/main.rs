//! Integration tests of the search crate through its public API, on real index directories.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside #[test] functions; a failure should panic the test"
)]

mod damage;
mod files;
mod index;
