//! The fuzz targets' seeds, replayed on stable: each file of `fuzz/seeds/<target>/` goes through the
//! function that target calls (`gateway::fuzzing`, `markup::fuzzing`, `quire::fuzzing`), so
//! `cargo test` checks their properties on every seed without nightly or libFuzzer, and a change that
//! breaks a target's function fails here first. The fuzzing itself is in `fuzz/` (TESTING.md,
//! "Fuzzing"). One test file for all targets, here because `app` sees every crate.

use std::fs;
use std::path::Path;

/// Runs `target` over every seed of `name`, and checks that at least one seed gets through the
/// parser: seeds that all fail at the first byte would leave the fuzzer nothing to start from.
fn replay(name: &str, target: fn(&[u8]) -> bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(name);
    let mut seeds = 0;
    let mut accepted = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = fs::read(&path).unwrap();
        seeds += 1;
        if target(&data) {
            accepted += 1;
        }
    }
    assert!(seeds > 0, "no seeds in {}", dir.display());
    assert!(accepted > 0, "none of the {seeds} seeds of {name} parses");
}

#[test]
fn fastcgi() {
    replay("fastcgi", gateway::fuzzing::fastcgi);
}

#[test]
fn scgi() {
    replay("scgi", gateway::fuzzing::scgi);
}

#[test]
fn cgi_environ() {
    replay("cgi_environ", gateway::fuzzing::cgi_environ);
}

#[test]
fn form() {
    replay("form", gateway::fuzzing::form);
}

#[test]
fn multipart() {
    replay("multipart", gateway::fuzzing::multipart);
}

#[test]
fn page_names() {
    replay("page_names", quire::fuzzing::page_names);
}

#[test]
fn acl() {
    replay("acl", quire::fuzzing::acl);
}

#[test]
fn markdown() {
    replay("markdown", markup::fuzzing::markdown);
}

#[test]
fn moin() {
    replay("moin", markup::fuzzing::moin);
}
