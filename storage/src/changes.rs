//! The change counter: one number that grows whenever what a page view shows may have changed.
//!
//! A long-running process keeps finished page views in memory (the app's response cache). It must
//! never serve one after a change made by any process sharing the database: a save, delete, rename
//! or revert (each a revision), a page row changed (its name, current revision, deleted flag, or the
//! links recorded for it, which decide backlinks and whether links are red), a redirect, a file
//! version (a page's file count and its embedded files). Every such write bumps `change_counter.n`
//! in its own transaction through triggers in the schema (migration 19), so no writer can forget
//! to, and a reader that sees the write sees the new number too. Reading it is one indexed row.
//!
//! Account changes are not counted: a page view depends only on the viewer's own account, which
//! the app reads on every request and keys its cache by.

use crate::db::Sql;
use crate::error::{doing, StorageError};
use crate::Storage;

impl Storage {
    /// The change counter (see the module docs). Only equality means anything: a view made when
    /// the counter read `n` is current exactly while it still reads `n`.
    pub fn change_count(&self) -> Result<i64, StorageError> {
        self.pool
            .get()?
            .query_one("SELECT n FROM change_counter WHERE id = 1", &[], |row| {
                row.get(0)
            })
            .map_err(doing("reading the change counter"))
    }
}

#[cfg(test)]
mod tests {
    use crate::page_acls::tests::save;
    use crate::{NewUpload, Rename, Storage};

    /// Each write a page view can show moves the counter, seen through another connection as
    /// another process would; reads do not.
    #[test]
    fn every_write_a_view_can_show_moves_the_counter_and_reads_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wiki.db");
        let writer = Storage::open(&path).unwrap();
        let reader = Storage::open(&path).unwrap();
        let mut last = reader.change_count().unwrap();
        let mut moved = |what: &str| {
            let now = reader.change_count().unwrap();
            assert_ne!(now, last, "{what} did not move the change counter");
            last = now;
        };

        save(&writer, "Home", "one");
        moved("creating a page");
        save(&writer, "Home", "two, see [[Other]]");
        moved("a save");
        writer
            .upload(
                &NewUpload {
                    page: "Home",
                    name: "a.txt",
                    media_type: "text/plain",
                    width: None,
                    height: None,
                    uploader: "alice",
                    comment: "",
                    time: Some(1_000),
                    max_bytes: 1_000,
                    quota_bytes: None,
                },
                &mut &b"file"[..],
            )
            .unwrap();
        moved("an upload");
        writer.delete_file("Home", "a.txt", "alice", "").unwrap();
        moved("deleting a file");
        writer
            .rename(&Rename {
                from: "Home",
                to: "House",
                author: "alice",
                comment: "",
                with_subpages: false,
            })
            .unwrap();
        moved("a rename");
        writer.delete("House", "alice", "").unwrap();
        moved("a delete");

        let before = reader.change_count().unwrap();
        assert!(writer.current("House").unwrap().is_none());
        assert!(writer.revision("House", 1).unwrap().is_some());
        writer.history("House", 10, 0).unwrap();
        assert_eq!(
            reader.change_count().unwrap(),
            before,
            "reads moved the counter"
        );
    }
}
