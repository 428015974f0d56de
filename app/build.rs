//! Records the git commit the binary is built from, for `quire --version`:
//! `git rev-parse --short HEAD` when git and a checkout are there, `unknown`
//! otherwise (a source tarball, a crate download). It runs again only when
//! HEAD or the branch it points to moves, so ordinary rebuilds stay cached.
//!
//! On Linux with glibc it also links the `quire` executable with packed relative relocations
//! (`-z pack-relative-relocs`, DT_RELR): the loader applies the binary's ~52 000 relative
//! relocations from a 17 KB bitmap instead of reading a 1.4 MB table of 24-byte entries, at every
//! start, CGI requests included. A small gain (~0.07 ms a process here): most of what relocations
//! cost is the copy-on-write faults of the pages they write, which the format does not change.
//! GNU ld 2.38 and lld 15 know the option; a binary linked with it needs glibc 2.36 (Debian 12,
//! Ubuntu 22.10) to start: build on the oldest system it must run on, or with
//! `packaging/build-static` (a static PIE relocates itself, DT_RELR included). Here rather than in
//! `.cargo/config.toml`'s rustflags, which any `RUSTFLAGS` in the environment replaces silently and
//! which would rebuild every crate for a flag that only the executable's link reads.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target_var = |name| std::env::var(name).unwrap_or_default();
    if target_var("CARGO_CFG_TARGET_OS") == "linux" && target_var("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=QUIRE_GIT_COMMIT={commit}");
    // `--git-path` finds HEAD and refs in a worktree's or a plain checkout's git directory alike.
    // Only files that exist are watched: cargo would run a script watching a missing one every time.
    let mut watched = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]).map(PathBuf::from) {
            if path.is_file() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}

/// What `git ARGS…` prints, trimmed; `None` if git is missing or fails (no checkout).
fn git(args: &[&str]) -> Option<String> {
    let output = Command::new("git").args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}
