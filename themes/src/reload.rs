//! What the override directory looks like, compared to notice changes in development.
//!
//! A stamp lists every file below the directory with its size and modification time; any
//! added, removed, resized or touched file makes a different stamp. Polling on each request
//! needs no file-watcher thread or crate, works the same on every platform, and costs only
//! in `serve --dev`, where a directory walk per page is nothing.

use std::path::Path;
use std::time::SystemTime;

use crate::walk;

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Stamp(Vec<(String, u64, Option<SystemTime>)>);

impl Stamp {
    /// The stamp of `dir` now; a missing or unreadable directory (or file) counts as
    /// empty, so creating `themes/` later is noticed too.
    pub(crate) fn of(dir: Option<&Path>) -> Stamp {
        let files = dir
            .and_then(|dir| walk::files_below(dir).ok())
            .unwrap_or_default();
        Stamp(
            files
                .into_iter()
                .map(|(name, path)| match std::fs::metadata(&path) {
                    Ok(meta) => (name, meta.len(), meta.modified().ok()),
                    Err(_) => (name, 0, None),
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_changes_with_any_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("themes");
        let empty = Stamp::of(Some(&missing));
        assert_eq!(empty, Stamp::of(None));
        std::fs::create_dir_all(missing.join("default/templates")).unwrap();
        let file = missing.join("default/templates/page.html");
        std::fs::write(&file, "a").unwrap();
        let one = Stamp::of(Some(&missing));
        assert_ne!(one, empty);
        assert_eq!(one, Stamp::of(Some(&missing)));
        std::fs::write(&file, "ab").unwrap();
        assert_ne!(Stamp::of(Some(&missing)), one);
    }
}
