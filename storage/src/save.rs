//! Saving a page: the one write path, atomic and race-free across processes.
//!
//! The whole check-and-write runs in one write transaction ([`TxKind::Write`]): the write lock is
//! taken before the current revision is read (SQLite's `BEGIN IMMEDIATE`; PostgreSQL's advisory
//! lock, shared by every node), so two processes saving the same page cannot both see revision 4
//! and both write revision 5. The loser waits, then sees revision 5 and reports a conflict.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::db::{Conn, Engine, Sql, TxKind};
use crate::error::{doing, StorageError};
use crate::line_diff::{self, Lines};
use crate::revision::{ChangeKind, Loaded, Revision, FORMAT_CURRENT};
use crate::{blame, compact};

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

/// A revision's outgoing links: page names, and files as (page name, file name).
pub(crate) type Outgoing<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

/// Saves `save`; with `links`, also records the new revision's outgoing wiki links (see
/// [`crate::Storage::save_with_links`]); with `draft_of` (an account id), removes that account's
/// draft of the page when the text is saved or already the page's (`crate::drafts`).
pub(crate) fn save(
    conn: &mut Conn,
    save: &Save<'_>,
    links: Option<Outgoing<'_>>,
    draft_of: Option<u64>,
) -> Result<SaveOutcome, StorageError> {
    if conn.engine() == Engine::Postgres {
        refuse_nul(save)?;
    }
    let mut tx = conn
        .transaction(TxKind::Write)
        .map_err(doing("starting a save"))?;

    let (page_id, prev, created) = match load_any(&mut tx, save.page)? {
        Some((loaded, deleted)) if !deleted => {
            let current = &loaded.revision;
            if current.text == save.text {
                let rev = current.meta.rev;
                if let Some(account) = draft_of {
                    crate::drafts::delete(&mut tx, account, save.page)?;
                    tx.commit().map_err(doing("committing a save"))?;
                }
                return Ok(SaveOutcome::Unchanged { rev });
            }
            if save.base_rev != Some(current.meta.rev) {
                return Ok(SaveOutcome::Conflict {
                    current: loaded.revision,
                });
            }
            (loaded.page_id, Some(loaded), false)
        }
        // A deleted page is created again on the same row, so its history continues.
        Some((loaded, _)) => (loaded.page_id, Some(loaded), true),
        None => {
            let page_id = tx
                .query_one(
                    "INSERT INTO pages (name, current_rev) VALUES (?1, 0) RETURNING id",
                    &[&save.page],
                    |row| row.get(0),
                )
                .map_err(doing("creating a page"))?;
            (page_id, None, true)
        }
    };

    let appended = append(
        &mut tx,
        &Append {
            page_id,
            page: save.page,
            prev: prev.as_ref(),
            text: save.text,
            author: save.author,
            comment: save.comment,
            time: save.time.unwrap_or_else(now),
            kind: &ChangeKind::Edit,
        },
    )?;
    if let Some((links, files)) = links {
        crate::links::record(
            &mut tx,
            page_id,
            appended.revision_id,
            appended.rev_sql,
            links,
            files,
        )?;
    }
    if created {
        tx.execute("UPDATE pages SET deleted = 0 WHERE id = ?1", &[&page_id])
            .map_err(doing("creating a page"))?;
        appeared(&mut tx, save.page)?;
    }
    if let Some(account) = draft_of {
        crate::drafts::delete(&mut tx, account, save.page)?;
    }
    tx.commit().map_err(doing("committing a save"))?;
    Ok(SaveOutcome::Saved { rev: appended.rev })
}

/// PostgreSQL's text holds no NUL character (SQLite's does): a save with one is refused before it
/// begins, saying so, rather than failing half-way with the server's encoding error.
fn refuse_nul(save: &Save<'_>) -> Result<(), StorageError> {
    let fields = [
        ("text", save.text),
        ("page name", save.page),
        ("author", save.author),
        ("comment", save.comment),
    ];
    match fields.iter().find(|(_, value)| value.contains('\0')) {
        Some((what, _)) => Err(StorageError::Invalid {
            what: format!(
                "the {what} of a save to {:?} holds a NUL character, which PostgreSQL cannot store",
                save.page
            ),
        }),
        None => Ok(()),
    }
}

/// The current revision of the page named `name` and whether the page is deleted; inside the caller's
/// transaction.
pub(crate) fn load_any(
    conn: &mut impl Sql,
    name: &str,
) -> Result<Option<(Loaded, bool)>, StorageError> {
    let deleted: Option<bool> = conn
        .query_opt(
            "SELECT deleted FROM pages WHERE name = ?1",
            &[&name],
            |row| row.get(0),
        )
        .map_err(doing("reading a page"))?;
    let Some(deleted) = deleted else {
        return Ok(None);
    };
    let loaded = crate::load_revision(
        conn,
        "FROM pages p
         JOIN revisions r ON r.page_id = p.id AND r.rev = p.current_rev
         WHERE p.name = ?1",
        &[&name],
    )?;
    Ok(loaded.map(|loaded| (loaded, deleted)))
}

/// A page named `name` now exists: links to it were drawn as missing, so the pages holding them must
/// render again, and an old redirect of that name no longer applies.
pub(crate) fn appeared(conn: &mut impl Sql, name: &str) -> Result<(), StorageError> {
    conn.execute("DELETE FROM redirects WHERE name = ?1", &[&name])
        .map_err(doing("dropping a redirect"))?;
    crate::render_cache::invalidate_links_to(conn, name)
}

/// A new revision to append to a page.
pub(crate) struct Append<'a> {
    pub(crate) page_id: i64,
    pub(crate) page: &'a str,
    /// The page's current revision, which the new one supersedes (`None` for a new page).
    pub(crate) prev: Option<&'a Loaded>,
    pub(crate) text: &'a str,
    pub(crate) author: &'a str,
    pub(crate) comment: &'a str,
    pub(crate) time: i64,
    pub(crate) kind: &'a ChangeKind,
}

/// What [`append`] wrote.
pub(crate) struct Appended {
    pub(crate) rev: u64,
    pub(crate) rev_sql: i64,
    pub(crate) revision_id: i64,
}

/// Writes a new current revision of a page and does what every new revision entails: the previous
/// one is compacted (see `compact`), the blame record follows (see `blame`), the page points at the new
/// revision, and the page's older cached HTML goes. Links, the deleted flag and cache invalidation
/// for other pages are the caller's. Inside the caller's write transaction.
pub(crate) fn append(conn: &mut impl Sql, new: &Append<'_>) -> Result<Appended, StorageError> {
    let (prev_rev, prev_size) = new.prev.map_or((0, 0), |prev| {
        (prev.revision.meta.rev, prev.revision.meta.size)
    });
    let rev = prev_rev + 1;
    let rev_sql = i64::try_from(rev).map_err(|_| StorageError::Invalid {
        what: format!("revision number {rev} of page {:?} is too large", new.page),
    })?;
    let size = byte_len(new.text.len());
    let size_delta = size - i64::try_from(prev_size).unwrap_or(i64::MAX);

    // The body of a current revision is empty (its text is in `current_texts`): a literal, which
    // PostgreSQL reads as an empty BYTEA.
    let revision_id: i64 = conn
        .query_one(
            "INSERT INTO revisions
                 (page_id, rev, author, time, comment, size, size_delta, kind, renamed_from,
                  format, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, '')
             RETURNING id",
            &[
                &new.page_id,
                &rev_sql,
                &new.author,
                &new.time,
                &new.comment,
                &size,
                &size_delta,
                &new.kind.tag(),
                &new.kind.renamed_from(),
                &FORMAT_CURRENT,
            ],
            |row| row.get(0),
        )
        .map_err(doing("writing a revision"))?;
    conn.execute(
        "INSERT INTO current_texts (page_id, text) VALUES (?1, ?2)
         ON CONFLICT (page_id) DO UPDATE SET text = excluded.text",
        &[&new.page_id, &new.text],
    )
    .map_err(doing("writing a page's text"))?;
    conn.execute(
        "UPDATE pages SET current_rev = ?1 WHERE id = ?2",
        &[&rev_sql, &new.page_id],
    )
    .map_err(doing("moving a page to its new revision"))?;

    let new_lines = Lines::new(new.text);
    match new.prev {
        Some(prev) => {
            let old_lines = Lines::new(&prev.revision.text);
            let runs = line_diff::diff(&old_lines, &new_lines);
            compact::retire(conn, prev.id, prev_rev, &old_lines, &new_lines, &runs)?;
            match new.kind {
                ChangeKind::Edit => blame::edited(
                    conn,
                    new.page_id,
                    prev_rev,
                    old_lines.len(),
                    rev,
                    new_lines.len(),
                    &runs,
                )?,
                ChangeKind::Rename { .. } => blame::carry(conn, new.page_id, prev_rev, rev)?,
                // A deletion keeps the record of the text before it, for an undelete to carry on.
                ChangeKind::Delete | ChangeKind::Undelete => {}
            }
        }
        None => blame::created(conn, new.page_id, rev, new_lines.len())?,
    }
    crate::render_cache::forget_older(conn, new.page_id, rev_sql)?;
    Ok(Appended {
        rev,
        rev_sql,
        revision_id,
    })
}

/// A text's length as SQLite stores it; no text in memory comes near `i64::MAX` bytes.
fn byte_len(len: usize) -> i64 {
    i64::try_from(len).unwrap_or(i64::MAX)
}

/// Now, in unix seconds; a clock set before 1970 counts as 1970.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
