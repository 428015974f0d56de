//! Saving a page: the one write path, atomic and race-free across processes.
//!
//! The whole check-and-write runs in one `BEGIN IMMEDIATE` transaction: the write lock is taken before the
//! current revision is read, so two processes saving the same page cannot both see revision 4 and both
//! write revision 5. The loser waits (busy timeout), then sees revision 5 and reports a conflict.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, TransactionBehavior};

use crate::error::{doing, StorageError};
use crate::revision::{Revision, FORMAT_PLAIN};

/// A request to store a new revision of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Save<'a> {
    /// The page name, stored exactly as given (the app validates names).
    pub page: &'a str,
    /// The full new text.
    pub text: &'a str,
    /// Who is saving.
    pub author: &'a str,
    /// The edit comment; may be empty.
    pub comment: &'a str,
    /// The revision the editor started from; `None` when creating the page. A page that does not exist
    /// is created whatever this says (there is nothing to conflict with, and the text is not lost).
    pub base_rev: Option<u64>,
    /// When, in unix seconds UTC; `None` means now. Imports pass the original time.
    pub time: Option<i64>,
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    /// A new revision was written.
    Saved {
        /// Its number.
        rev: u64,
    },
    /// The text equals the current revision's; nothing was written.
    Unchanged {
        /// The current revision, which already holds this text.
        rev: u64,
    },
    /// The page moved on since `base_rev` (or exists although the editor was creating it); nothing was
    /// written. The caller shows the current revision or merges.
    Conflict {
        /// The page as it is now.
        current: Revision,
    },
}

/// Saves `save`; with `links`, also records the new revision's outgoing wiki links (see
/// [`crate::Storage::save_with_links`]).
pub(crate) fn save(
    conn: &mut Connection,
    save: &Save<'_>,
    links: Option<&[&str]>,
) -> Result<SaveOutcome, StorageError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(doing("starting a save"))?;

    let mut created = false;
    let (page_id, prev_rev, prev_size) = match crate::load_current(&tx, save.page)? {
        Some((page_id, current)) => {
            if current.text == save.text {
                return Ok(SaveOutcome::Unchanged { rev: current.rev });
            }
            if save.base_rev != Some(current.rev) {
                return Ok(SaveOutcome::Conflict { current });
            }
            (page_id, current.rev, current.size)
        }
        None => {
            tx.execute(
                "INSERT INTO pages (name, current_rev) VALUES (?1, 0)",
                params![save.page],
            )
            .map_err(doing("creating a page"))?;
            created = true;
            (tx.last_insert_rowid(), 0, 0)
        }
    };

    let rev = prev_rev + 1;
    let rev_sql = i64::try_from(rev).map_err(|_| StorageError::Invalid {
        what: format!("revision number {rev} of page {:?} is too large", save.page),
    })?;
    let size = byte_len(save.text.len());
    let size_delta = size - i64::try_from(prev_size).unwrap_or(i64::MAX);
    let time = save.time.unwrap_or_else(now);

    tx.execute(
        "INSERT INTO revisions (page_id, rev, author, time, comment, size, size_delta, format, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            page_id,
            rev_sql,
            save.author,
            time,
            save.comment,
            size,
            size_delta,
            FORMAT_PLAIN,
            save.text
        ],
    )
    .map_err(doing("writing a revision"))?;
    let revision_id = tx.last_insert_rowid();
    tx.execute(
        "UPDATE pages SET current_rev = ?1 WHERE id = ?2",
        params![rev_sql, page_id],
    )
    .map_err(doing("moving a page to its new revision"))?;
    if let Some(links) = links {
        crate::links::record(&tx, page_id, revision_id, rev_sql, links)?;
    }
    crate::render_cache::forget_older(&tx, page_id, rev_sql)?;
    if created {
        // Links to this page were drawn as missing; the pages holding them must render again.
        crate::render_cache::invalidate_links_to(&tx, save.page)?;
    }
    tx.commit().map_err(doing("committing a save"))?;
    Ok(SaveOutcome::Saved { rev })
}

/// A text's length as SQLite stores it; no text in memory comes near `i64::MAX` bytes.
fn byte_len(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

/// Now, in unix seconds; a clock set before 1970 counts as 1970.
fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use crate::{Save, SaveOutcome, Storage};

    fn edit<'a>(page: &'a str, text: &'a str, base_rev: Option<u64>) -> Save<'a> {
        Save {
            page,
            text,
            author: "alice",
            comment: "",
            base_rev,
            time: Some(1_000),
        }
    }

    #[test]
    fn revisions_count_up_from_one() {
        let storage = Storage::open_in_memory().unwrap();
        assert_eq!(
            storage.save(edit("P", "a", None)).unwrap(),
            SaveOutcome::Saved { rev: 1 }
        );
        assert_eq!(
            storage.save(edit("P", "b", Some(1))).unwrap(),
            SaveOutcome::Saved { rev: 2 }
        );
        assert_eq!(
            storage.save(edit("Q", "a", None)).unwrap(),
            SaveOutcome::Saved { rev: 1 }
        );
    }

    #[test]
    fn identical_text_writes_nothing_even_from_a_stale_base() {
        let storage = Storage::open_in_memory().unwrap();
        storage.save(edit("P", "a", None)).unwrap();
        storage.save(edit("P", "b", Some(1))).unwrap();
        assert_eq!(
            storage.save(edit("P", "b", Some(1))).unwrap(),
            SaveOutcome::Unchanged { rev: 2 }
        );
        assert_eq!(storage.revision_count("P").unwrap(), 2);
    }

    #[test]
    fn stale_missing_or_future_bases_conflict() {
        let storage = Storage::open_in_memory().unwrap();
        storage.save(edit("P", "a", None)).unwrap();
        storage.save(edit("P", "b", Some(1))).unwrap();
        for base in [Some(1), None, Some(3), Some(u64::MAX)] {
            let SaveOutcome::Conflict { current } = storage.save(edit("P", "c", base)).unwrap()
            else {
                panic!("base {base:?} did not conflict");
            };
            assert_eq!((current.rev, current.text.as_str()), (2, "b"));
        }
        assert_eq!(storage.revision_count("P").unwrap(), 2);
    }

    #[test]
    fn a_base_for_a_missing_page_still_creates_it() {
        let storage = Storage::open_in_memory().unwrap();
        assert_eq!(
            storage.save(edit("Gone", "x", Some(7))).unwrap(),
            SaveOutcome::Saved { rev: 1 }
        );
    }

    #[test]
    fn size_and_delta_are_bytes() {
        let storage = Storage::open_in_memory().unwrap();
        storage.save(edit("P", "ä", None)).unwrap();
        storage.save(edit("P", "", Some(1))).unwrap();
        let changes = storage.recent_changes(10, 0).unwrap();
        let sizes: Vec<_> = changes
            .iter()
            .map(|c| (c.rev, c.size, c.size_delta))
            .collect();
        assert_eq!(sizes, [(2, 0, -2), (1, 2, 2)]);
    }
}
