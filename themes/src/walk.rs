//! Lists the files of a theme directory. Shared by `build.rs` (which embeds the built-in
//! themes) and the override loader, so both agree on which files count: everything below
//! the directory, recursively, except hidden files (editor swap files, `.DS_Store`).

use std::path::{Path, PathBuf};
use std::{fs, io};

/// Symlink loops would otherwise recurse forever; no real theme is this deep.
const MAX_DEPTH: usize = 16;

/// A failure while listing, with the path it concerns.
#[derive(Debug)]
pub(crate) struct WalkError {
    pub(crate) path: PathBuf,
    pub(crate) source: io::Error,
}

/// Files below `dir`, recursively and sorted, as (relative `/`-separated name, full path).
/// A missing `dir` has no files; any other failure is an error.
pub(crate) fn files_below(dir: &Path) -> Result<Vec<(String, PathBuf)>, WalkError> {
    let mut found = Vec::new();
    if dir.is_dir() {
        collect(dir, "", 0, &mut found)?;
    }
    Ok(found)
}

fn collect(
    dir: &Path,
    prefix: &str,
    depth: usize,
    found: &mut Vec<(String, PathBuf)>,
) -> Result<(), WalkError> {
    if depth > MAX_DEPTH {
        return Err(WalkError {
            path: dir.to_owned(),
            source: io::Error::other(format!("nested more than {MAX_DEPTH} directories deep")),
        });
    }
    for entry in sorted_entries(dir)? {
        let Some(name) = entry.file_name().and_then(|n| n.to_str()) else {
            return Err(WalkError {
                path: entry,
                source: io::Error::new(io::ErrorKind::InvalidData, "file name is not UTF-8"),
            });
        };
        if name.starts_with('.') {
            continue;
        }
        let relative = format!("{prefix}{name}");
        if entry.is_dir() {
            collect(&entry, &format!("{relative}/"), depth + 1, found)?;
        } else {
            found.push((relative, entry));
        }
    }
    Ok(())
}

/// Entries of `dir`, sorted so that builds and error messages are deterministic.
pub(crate) fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, WalkError> {
    let wrap = |source| WalkError {
        path: dir.to_owned(),
        source,
    };
    let mut entries = fs::read_dir(dir)
        .map_err(wrap)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<io::Result<Vec<_>>>()
        .map_err(wrap)?;
    entries.sort();
    Ok(entries)
}
