//! A page's life beyond edits: delete, undelete, rename (with a redirect left behind), page info, and
//! the page-level event log derived indexes follow.
//!
//! Nothing here removes a row. A deletion is a revision (kind `delete`, empty text) plus a flag on the
//! page: the history stays readable, and for every question about the wiki as it is now (current
//! text, existence, page lists, orphans, wanted pages) the page is simply missing. An undelete is a
//! new revision with the text from before the deletion; saving a deleted page creates it again on the
//! same row, so its history continues. A rename changes the page row's name (history, links and the
//! blame record follow the row id) and adds a `rename` revision with the text unchanged; the old name
//! becomes a redirect to the row, so it follows later renames and stops when a new page takes the old
//! name. A rename never takes the name of an existing or deleted page: that history would be lost.
//!
//! Each operation is one `BEGIN IMMEDIATE` transaction, like a save, so concurrent processes see it
//! whole or not at all, and the one that waited sees the result (deleting twice yields one deletion).
//! Pages that link to a page that appears, disappears or moves lose their cached HTML in the same
//! transaction, so their links turn red or blue at once (`render_cache::invalidate_links_to`).

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::error::{doing, StorageError};
use crate::revision::{to_u64, ChangeKind, Loaded, META_COLUMNS, TEXT_COLUMNS};
use crate::save::{self, Append};
use crate::{load_current, load_revision, render_cache, LoggedRevision, Storage};

/// A rename request for [`Storage::rename`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rename<'a> {
    /// The page's current name.
    pub from: &'a str,
    /// The new name (the app validates names).
    pub to: &'a str,
    /// Who renames.
    pub author: &'a str,
    /// The comment of the rename revisions.
    pub comment: &'a str,
    /// Also rename every page under `from/` to the same place under `to/`.
    pub with_subpages: bool,
}

/// What a rename did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenameOutcome {
    /// Each page renamed, `(old name, new name)`, the requested page first, then its subpages by name.
    pub renamed: Vec<(String, String)>,
}

/// Facts about a page for its info view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageInfo {
    /// The page name.
    pub name: String,
    /// How many revisions it has (deletions, undeletions and renames included).
    pub revisions: u64,
    /// Everyone who saved a revision, with how many; most revisions first, then by name.
    pub authors: Vec<(String, u64)>,
    /// Size of the current text in bytes (0 when deleted).
    pub size: u64,
    /// When revision 1 was saved, unix seconds UTC.
    pub created: i64,
    /// When the current revision was saved.
    pub modified: i64,
    /// Whether the page is deleted.
    pub deleted: bool,
}

/// An entry of the page-level event log ([`Storage::events_after`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageEvent {
    /// A page has this text now (an edit, an undelete, or a page under its new name after a rename).
    Saved(LoggedRevision),
    /// A page of this name no longer exists (it was deleted, or renamed away from this name).
    Removed {
        /// The global id of the revision that removed it.
        id: u64,
        /// The name that is gone.
        page: String,
    },
}

impl PageEvent {
    /// The global revision id the event comes from.
    pub fn id(&self) -> u64 {
        match self {
            PageEvent::Saved(logged) => logged.id,
            PageEvent::Removed { id, .. } => *id,
        }
    }
}

impl Storage {
    /// Deletes a page: a new revision of kind [`ChangeKind::Delete`] with empty text; the history is
    /// kept and [`undelete`](Self::undelete) brings the text back. Returns the new revision's number,
    /// or `None` if there is no such page (or it is deleted already).
    pub fn delete(
        &self,
        name: &str,
        author: &str,
        comment: &str,
    ) -> Result<Option<u64>, StorageError> {
        let mut pooled = self.pool.get()?;
        let conn = pooled.sqlite_mut()?;
        let tx = begin(conn, "starting a deletion")?;
        let Some(current) = load_current(&tx, name)? else {
            return Ok(None);
        };
        let links_known = links_known(&tx, current.page_id)?;
        let stamp = Stamp::now(author, comment);
        let appended = append_to(&tx, &current, name, "", &stamp, &ChangeKind::Delete)?;
        if links_known {
            // The deletion links nowhere, and an undelete can tell the old links were known.
            crate::links::record(
                &tx,
                current.page_id,
                appended.revision_id,
                appended.rev_sql,
                &[],
                &[],
            )?;
        }
        set_deleted(&tx, current.page_id, true)?;
        render_cache::invalidate_links_to(&mut crate::db::SqliteRef(&tx), name)?;
        tx.commit().map_err(doing("committing a deletion"))?;
        Ok(Some(appended.rev))
    }

    /// Brings a deleted page back with the text it had before the deletion, as a new revision of kind
    /// [`ChangeKind::Undelete`]. Returns its number, or `None` if there is no deleted page of that name.
    pub fn undelete(
        &self,
        name: &str,
        author: &str,
        comment: &str,
    ) -> Result<Option<u64>, StorageError> {
        let mut pooled = self.pool.get()?;
        let conn = pooled.sqlite_mut()?;
        let tx = begin(conn, "starting an undeletion")?;
        let Some((current, true)) = save::load_any(&tx, name)? else {
            return Ok(None);
        };
        let Some(restored) = load_revision(
            &tx,
            &format!(
                "SELECT {META_COLUMNS}, {TEXT_COLUMNS} FROM revisions r
                 JOIN pages p ON p.id = r.page_id
                 WHERE r.id = (SELECT id FROM revisions
                               WHERE page_id = ?1 AND kind <> 'delete' ORDER BY rev DESC LIMIT 1)"
            ),
            params![current.page_id],
        )?
        else {
            return Ok(None);
        };
        let links_known = links_known(&tx, current.page_id)?;
        let stamp = Stamp::now(author, comment);
        let text = &restored.revision.text;
        let appended = append_to(&tx, &current, name, text, &stamp, &ChangeKind::Undelete)?;
        crate::blame::carry(
            &tx,
            current.page_id,
            restored.revision.meta.rev,
            appended.rev,
        )?;
        crate::links::copy(&tx, restored.id, appended.revision_id)?;
        if links_known {
            tx.execute(
                "UPDATE pages SET links_rev = ?1 WHERE id = ?2",
                params![appended.rev_sql, current.page_id],
            )
            .map_err(doing("restoring links"))?;
        }
        set_deleted(&tx, current.page_id, false)?;
        save::appeared(&tx, name)?;
        tx.commit().map_err(doing("committing an undeletion"))?;
        Ok(Some(appended.rev))
    }

    /// Renames a page (and with [`Rename::with_subpages`] its subpages), each with a new revision of
    /// kind [`ChangeKind::Rename`] and a redirect from the old name ([`redirect`](Self::redirect)).
    /// All or nothing: fails with [`StorageError::NoSuchPage`] if `from` does not exist and with
    /// [`StorageError::PageExists`] if any new name is taken (by a deleted page too).
    ///
    /// The renamed revisions keep the old revisions' links but are listed by
    /// [`pages_missing_links`](Self::pages_missing_links): relative links (`[[/Child]]`) may now point
    /// elsewhere, so the app should compute and [`set_links`](Self::set_links) them.
    pub fn rename(&self, rename: &Rename<'_>) -> Result<RenameOutcome, StorageError> {
        let mut pooled = self.pool.get()?;
        let conn = pooled.sqlite_mut()?;
        let tx = begin(conn, "starting a rename")?;
        if load_current(&tx, rename.from)?.is_none() {
            return Err(StorageError::NoSuchPage {
                page: rename.from.to_owned(),
            });
        }
        let mut moves = vec![(rename.from.to_owned(), rename.to.to_owned())];
        if rename.with_subpages {
            for sub in subpages(&tx, rename.from)? {
                let to = format!("{}{}", rename.to, &sub[rename.from.len()..]);
                moves.push((sub, to));
            }
        }
        for (_, to) in &moves {
            let taken: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM pages WHERE name = ?1)",
                    params![to],
                    |row| row.get(0),
                )
                .map_err(doing("checking a new page name"))?;
            if taken {
                return Err(StorageError::PageExists { page: to.clone() });
            }
        }
        let time = save::now();
        for (from, to) in &moves {
            let current = load_current(&tx, from)?
                .ok_or_else(|| StorageError::NoSuchPage { page: from.clone() })?;
            move_page(&tx, rename, &current, from, to, time)?;
            crate::drafts::follow_rename(&mut crate::db::SqliteRef(&tx), from, to)?;
        }
        tx.commit().map_err(doing("committing a rename"))?;
        Ok(RenameOutcome { renamed: moves })
    }

    /// Where a page renamed away from `name` is now, if it still exists and no page took `name`
    /// since: the app sends visitors of the old name there.
    pub fn redirect(&self, name: &str) -> Result<Option<String>, StorageError> {
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        conn.prepare_cached(
            "SELECT p.name FROM redirects d JOIN pages p ON p.id = d.page_id
             WHERE d.name = ?1 AND p.deleted = 0
               AND NOT EXISTS (SELECT 1 FROM pages WHERE name = ?1 AND deleted = 0)",
        )
        .and_then(|mut stmt| stmt.query_row(params![name], |row| row.get(0)).optional())
        .map_err(doing("reading a redirect"))
    }

    /// Whether `name` is a deleted page (one with history that [`undelete`](Self::undelete) can
    /// bring back).
    pub fn is_deleted(&self, name: &str) -> Result<bool, StorageError> {
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM pages WHERE name = ?1 AND deleted = 1)")
            .and_then(|mut stmt| stmt.query_row(params![name], |row| row.get(0)))
            .map_err(doing("checking whether a page is deleted"))
    }

    /// The names of all deleted pages, sorted.
    pub fn deleted_pages(&self) -> Result<Vec<String>, StorageError> {
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        let mut stmt = conn
            .prepare_cached("SELECT name FROM pages WHERE deleted = 1 ORDER BY name")
            .map_err(doing("listing deleted pages"))?;
        let rows = stmt
            .query_map([], |row| row.get(0))
            .map_err(doing("listing deleted pages"))?;
        rows.collect::<Result<_, _>>()
            .map_err(doing("listing deleted pages"))
    }

    /// Facts about a page, deleted or not; `None` if no page of that name ever existed.
    pub fn page_info(&self, name: &str) -> Result<Option<PageInfo>, StorageError> {
        let mut pooled = self.pool.get()?;
        let conn = pooled.sqlite_mut()?;
        let tx = conn
            .transaction()
            .map_err(doing("starting to read page info"))?;
        let page: Option<(i64, bool, i64, i64, i64, i64)> = tx
            .prepare_cached(
                "SELECT p.id, p.deleted, cur.size, cur.time,
                        (SELECT time FROM revisions WHERE page_id = p.id AND rev = 1),
                        (SELECT COUNT(*) FROM revisions WHERE page_id = p.id)
                 FROM pages p JOIN revisions cur ON cur.page_id = p.id AND cur.rev = p.current_rev
                 WHERE p.name = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![name], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get::<_, Option<i64>>(4)?.unwrap_or_default(),
                        row.get(5)?,
                    ))
                })
                .optional()
            })
            .map_err(doing("reading page info"))?;
        let Some((page_id, deleted, size, modified, created, revisions)) = page else {
            return Ok(None);
        };
        let mut stmt = tx
            .prepare_cached(
                "SELECT author, COUNT(*) AS n FROM revisions WHERE page_id = ?1
                 GROUP BY author ORDER BY n DESC, author",
            )
            .map_err(doing("reading page info"))?;
        let authors = stmt
            .query_map(params![page_id], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(doing("reading page info"))?
            .map(|row| {
                let (author, n) = row.map_err(doing("reading page info"))?;
                Ok((author, to_u64("revision count", name, n)?))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        Ok(Some(PageInfo {
            name: name.to_owned(),
            revisions: to_u64("revision count", name, revisions)?,
            authors,
            size: to_u64("size", name, size)?,
            created,
            modified,
            deleted,
        }))
    }

    /// Page events from revisions with a global id above `after`, oldest first, from at most `limit`
    /// revisions: what a derived index (search) replays to stay in step, deletions and renames
    /// included. A rename yields two events with the same id: `Removed` (old name), then `Saved`
    /// (new name). Pages are named as they are called now; replayed in order, the events leave an
    /// index holding exactly the existing pages.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<PageEvent>, StorageError> {
        let mut events = Vec::new();
        for logged in self.revisions_after(after, limit)? {
            match &logged.revision.meta.kind {
                ChangeKind::Delete => events.push(PageEvent::Removed {
                    id: logged.id,
                    page: logged.revision.meta.page,
                }),
                ChangeKind::Rename { from } => {
                    events.push(PageEvent::Removed {
                        id: logged.id,
                        page: from.clone(),
                    });
                    events.push(PageEvent::Saved(logged));
                }
                ChangeKind::Edit | ChangeKind::Undelete => events.push(PageEvent::Saved(logged)),
            }
        }
        Ok(events)
    }
}

fn begin<'c>(
    conn: &'c mut Connection,
    doing_what: &'static str,
) -> Result<rusqlite::Transaction<'c>, StorageError> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(doing(doing_what))
}

/// Whether the page's current revision has its links recorded.
fn links_known(conn: &Connection, page_id: i64) -> Result<bool, StorageError> {
    conn.query_row(
        "SELECT links_rev = current_rev FROM pages WHERE id = ?1",
        params![page_id],
        |row| row.get(0),
    )
    .map_err(doing("reading a page"))
}

/// Live pages under `name/`, by name.
fn subpages(conn: &Connection, name: &str) -> Result<Vec<String>, StorageError> {
    let prefix = format!("{name}/");
    let mut stmt = conn
        .prepare_cached(
            "SELECT name FROM pages
             WHERE name >= ?1 AND name < ?1 || char(1114111)
               AND substr(name, 1, length(?1)) = ?1 AND deleted = 0
             ORDER BY name",
        )
        .map_err(doing("listing subpages"))?;
    let rows = stmt
        .query_map(params![prefix], |row| row.get(0))
        .map_err(doing("listing subpages"))?;
    rows.collect::<Result<_, _>>()
        .map_err(doing("listing subpages"))
}

/// Who changes a page, why and when: what delete, undelete and rename record with their revision.
struct Stamp<'a> {
    author: &'a str,
    comment: &'a str,
    time: i64,
}

impl<'a> Stamp<'a> {
    fn now(author: &'a str, comment: &'a str) -> Stamp<'a> {
        Stamp {
            author,
            comment,
            time: save::now(),
        }
    }
}

/// A new revision of `kind` with `text` on top of the page's `current` one, now named `page`.
fn append_to(
    conn: &Connection,
    current: &Loaded,
    page: &str,
    text: &str,
    stamp: &Stamp<'_>,
    kind: &ChangeKind,
) -> Result<save::Appended, StorageError> {
    save::append(
        conn,
        &Append {
            page_id: current.page_id,
            page,
            prev: Some(current),
            text,
            author: stamp.author,
            comment: stamp.comment,
            time: stamp.time,
            kind,
        },
    )
}

/// Marks a page deleted or not: the flag every question about the present reads.
fn set_deleted(conn: &Connection, page_id: i64, deleted: bool) -> Result<(), StorageError> {
    conn.execute(
        "UPDATE pages SET deleted = ?1 WHERE id = ?2",
        params![deleted, page_id],
    )
    .map_err(doing(if deleted {
        "deleting a page"
    } else {
        "undeleting a page"
    }))?;
    Ok(())
}

/// Moves one page from `from` to `to` inside the rename transaction.
fn move_page(
    conn: &Connection,
    rename: &Rename<'_>,
    current: &Loaded,
    from: &str,
    to: &str,
    time: i64,
) -> Result<(), StorageError> {
    conn.execute(
        "UPDATE pages SET name = ?1 WHERE id = ?2",
        params![to, current.page_id],
    )
    .map_err(doing("renaming a page"))?;
    let stamp = Stamp {
        author: rename.author,
        comment: rename.comment,
        time,
    };
    let kind = ChangeKind::Rename {
        from: from.to_owned(),
    };
    let appended = append_to(conn, current, to, &current.revision.text, &stamp, &kind)?;
    crate::links::copy(conn, current.id, appended.revision_id)?;
    conn.execute(
        "INSERT OR REPLACE INTO redirects (name, page_id) VALUES (?1, ?2)",
        params![from, current.page_id],
    )
    .map_err(doing("leaving a redirect"))?;
    conn.execute("DELETE FROM redirects WHERE name = ?1", params![to])
        .map_err(doing("leaving a redirect"))?;
    render_cache::invalidate_links_to(&mut crate::db::SqliteRef(conn), from)?;
    render_cache::invalidate_links_to(&mut crate::db::SqliteRef(conn), to)?;
    Ok(())
}

/// Migration 10: every page name, link target and redirect in NFC, the one spelling the app uses
/// for names since then. A page whose NFC name another page holds already keeps its name (merging
/// two pages is a person's decision), and the log says so; the rendered HTML is dropped, as its
/// links may name the old spellings.
pub(crate) fn fill_nfc_page_names(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    use unicode_normalization::UnicodeNormalization;
    let not_nfc = |table_column: &str| -> rusqlite::Result<Vec<String>> {
        let names: Vec<String> = tx
            .prepare(&format!("SELECT DISTINCT {table_column}"))?
            .query_map([], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(names
            .into_iter()
            .filter(|name| !unicode_normalization::is_nfc(name))
            .collect())
    };
    for old in not_nfc("name FROM pages")? {
        let new: String = old.nfc().collect();
        let renamed = tx.execute(
            "UPDATE OR IGNORE pages SET name = ?2 WHERE name = ?1",
            params![old, new],
        )?;
        if renamed == 0 {
            tracing::warn!(
                page = %old,
                "a page's name in NFC is another page's; rename one of them to reach it"
            );
        }
    }
    for old in not_nfc("target FROM links")? {
        let new: String = old.nfc().collect();
        // A revision linking to both spellings keeps one row.
        tx.execute(
            "UPDATE OR IGNORE links SET target = ?2 WHERE target = ?1",
            params![old, new],
        )?;
        tx.execute("DELETE FROM links WHERE target = ?1", params![old])?;
    }
    for old in not_nfc("name FROM redirects")? {
        let new: String = old.nfc().collect();
        tx.execute(
            "UPDATE OR IGNORE redirects SET name = ?2 WHERE name = ?1",
            params![old, new],
        )?;
        tx.execute("DELETE FROM redirects WHERE name = ?1", params![old])?;
    }
    tx.execute("DELETE FROM rendered", [])?;
    Ok(())
}
