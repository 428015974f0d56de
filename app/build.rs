//! Records the git commit the binary is built from, for `quire --version`:
//! `git rev-parse --short HEAD` when git and a checkout are there, `unknown`
//! otherwise (a source tarball, a crate download). It runs again only when
//! HEAD or the branch it points to moves, so ordinary rebuilds stay cached.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
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
