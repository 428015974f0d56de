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
//! Each operation is one write transaction, like a save, so concurrent processes (and nodes) see it
//! whole or not at all, and the one that waited sees the result (deleting twice yields one deletion).
//! Pages that link to a page that appears, disappears or moves lose their cached HTML in the same
//! transaction, so their links turn red or blue at once (`render_cache::invalidate_links_to`).

use rusqlite::params;

use crate::db::{Sql, Tx, TxKind};
use crate::error::{doing, StorageError};
use crate::revision::{ChangeKind, Loaded};
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
        let mut tx = begin(&mut pooled, "starting a deletion")?;
        let Some(current) = load_current(&mut tx, name)? else {
            return Ok(None);
        };
        let links_known = links_known(&mut tx, current.page_id)?;
        let stamp = Stamp::now(author, comment);
        let appended = append_to(&mut tx, &current, name, "", &stamp, &ChangeKind::Delete)?;
        if links_known {
            // The deletion links nowhere, and an undelete can tell the old links were known.
            crate::links::record(
                &mut tx,
                current.page_id,
                appended.revision_id,
                appended.rev_sql,
                &[],
                &[],
            )?;
        }
        set_deleted(&mut tx, current.page_id, true)?;
        render_cache::invalidate_links_to(&mut tx, name)?;
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
        let mut tx = begin(&mut pooled, "starting an undeletion")?;
        let Some((current, true)) = save::load_any(&mut tx, name)? else {
            return Ok(None);
        };
        let Some(restored) = load_revision(
            &mut tx,
            "FROM revisions r
             JOIN pages p ON p.id = r.page_id
             WHERE r.id = (SELECT id FROM revisions
                           WHERE page_id = ?1 AND kind <> 'delete' ORDER BY rev DESC LIMIT 1)",
            &[&current.page_id],
        )?
        else {
            return Ok(None);
        };
        let links_known = links_known(&mut tx, current.page_id)?;
        let stamp = Stamp::now(author, comment);
        let text = &restored.revision.text;
        let appended = append_to(&mut tx, &current, name, text, &stamp, &ChangeKind::Undelete)?;
        crate::blame::carry(
            &mut tx,
            current.page_id,
            restored.revision.meta.rev,
            appended.rev,
        )?;
        crate::links::copy(&mut tx, restored.id, appended.revision_id)?;
        if links_known {
            tx.execute(
                "UPDATE pages SET links_rev = ?1 WHERE id = ?2",
                &[&appended.rev_sql, &current.page_id],
            )
            .map_err(doing("restoring links"))?;
        }
        set_deleted(&mut tx, current.page_id, false)?;
        save::appeared(&mut tx, name)?;
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
        let mut tx = begin(&mut pooled, "starting a rename")?;
        if load_current(&mut tx, rename.from)?.is_none() {
            return Err(StorageError::NoSuchPage {
                page: rename.from.to_owned(),
            });
        }
        let mut moves = vec![(rename.from.to_owned(), rename.to.to_owned())];
        if rename.with_subpages {
            for sub in subpages(&mut tx, rename.from)? {
                let to = format!("{}{}", rename.to, &sub[rename.from.len()..]);
                moves.push((sub, to));
            }
        }
        for (_, to) in &moves {
            let taken = tx
                .query_opt("SELECT 1 FROM pages WHERE name = ?1", &[to], |_| Ok(()))
                .map_err(doing("checking a new page name"))?;
            if taken.is_some() {
                return Err(StorageError::PageExists { page: to.clone() });
            }
        }
        let time = save::now();
        for (from, to) in &moves {
            let current = load_current(&mut tx, from)?
                .ok_or_else(|| StorageError::NoSuchPage { page: from.clone() })?;
            move_page(&mut tx, rename, &current, from, to, time)?;
            crate::drafts::follow_rename(&mut tx, from, to)?;
        }
        tx.commit().map_err(doing("committing a rename"))?;
        Ok(RenameOutcome { renamed: moves })
    }

    /// Where a page renamed away from `name` is now, if it still exists and no page took `name`
    /// since: the app sends visitors of the old name there.
    pub fn redirect(&self, name: &str) -> Result<Option<String>, StorageError> {
        self.pool
            .get()?
            .query_opt(
                "SELECT p.name FROM redirects d JOIN pages p ON p.id = d.page_id
                 WHERE d.name = ?1 AND p.deleted = 0
                   AND NOT EXISTS (SELECT 1 FROM pages WHERE name = ?1 AND deleted = 0)",
                &[&name],
                |row| row.get(0),
            )
            .map_err(doing("reading a redirect"))
    }

    /// Whether `name` is a deleted page (one with history that [`undelete`](Self::undelete) can
    /// bring back).
    pub fn is_deleted(&self, name: &str) -> Result<bool, StorageError> {
        let deleted = self
            .pool
            .get()?
            .query_opt(
                "SELECT 1 FROM pages WHERE name = ?1 AND deleted = 1",
                &[&name],
                |_| Ok(()),
            )
            .map_err(doing("checking whether a page is deleted"))?;
        Ok(deleted.is_some())
    }

    /// The names of all deleted pages, sorted.
    pub fn deleted_pages(&self) -> Result<Vec<String>, StorageError> {
        self.pool
            .get()?
            .query_map(
                "SELECT name FROM pages WHERE deleted = 1 ORDER BY name",
                &[],
                |row| row.get(0),
            )
            .map_err(doing("listing deleted pages"))
    }

    /// Facts about a page, deleted or not; `None` if no page of that name ever existed.
    pub fn page_info(&self, name: &str) -> Result<Option<PageInfo>, StorageError> {
        let mut pooled = self.pool.get()?;
        let mut tx = pooled
            .transaction(TxKind::Read)
            .map_err(doing("starting to read page info"))?;
        let page: Option<(i64, bool, u64, i64, i64, u64)> = tx
            .query_opt(
                "SELECT p.id, p.deleted, cur.size, cur.time,
                        (SELECT time FROM revisions WHERE page_id = p.id AND rev = 1),
                        (SELECT COUNT(*) FROM revisions WHERE page_id = p.id)
                 FROM pages p JOIN revisions cur ON cur.page_id = p.id AND cur.rev = p.current_rev
                 WHERE p.name = ?1",
                &[&name],
                |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get::<Option<i64>>(4)?.unwrap_or_default(),
                        row.get(5)?,
                    ))
                },
            )
            .map_err(doing("reading page info"))?;
        let Some((page_id, deleted, size, modified, created, revisions)) = page else {
            return Ok(None);
        };
        let authors = tx
            .query_map(
                "SELECT author, COUNT(*) AS n FROM revisions WHERE page_id = ?1
                 GROUP BY author ORDER BY n DESC, author",
                &[&page_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(doing("reading page info"))?;
        Ok(Some(PageInfo {
            name: name.to_owned(),
            revisions,
            authors,
            size,
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
    conn: &'c mut crate::db::Conn,
    doing_what: &'static str,
) -> Result<Tx<'c>, StorageError> {
    conn.transaction(TxKind::Write).map_err(doing(doing_what))
}

/// Whether the page's current revision has its links recorded.
fn links_known(conn: &mut impl Sql, page_id: i64) -> Result<bool, StorageError> {
    let (links_rev, current_rev): (i64, i64) = conn
        .query_one(
            "SELECT links_rev, current_rev FROM pages WHERE id = ?1",
            &[&page_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .map_err(doing("reading a page"))?;
    Ok(links_rev == current_rev)
}

/// Live pages under `name/`, by name: the range of names that start with `name/` (names compare
/// as UTF-8 bytes on both engines, so every such name sorts before the prefix followed by the
/// last code point).
fn subpages(conn: &mut impl Sql, name: &str) -> Result<Vec<String>, StorageError> {
    let prefix = format!("{name}/");
    let end = format!("{prefix}\u{10FFFF}");
    conn.query_map(
        "SELECT name FROM pages
         WHERE name >= ?1 AND name < ?2
           AND substr(name, 1, length(?1)) = ?1 AND deleted = 0
         ORDER BY name",
        &[&prefix, &end],
        |row| row.get(0),
    )
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
    tx: &mut Tx<'_>,
    current: &Loaded,
    page: &str,
    text: &str,
    stamp: &Stamp<'_>,
    kind: &ChangeKind,
) -> Result<save::Appended, StorageError> {
    save::append(
        tx,
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
fn set_deleted(conn: &mut impl Sql, page_id: i64, deleted: bool) -> Result<(), StorageError> {
    conn.execute(
        "UPDATE pages SET deleted = ?1 WHERE id = ?2",
        &[&deleted, &page_id],
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
    tx: &mut Tx<'_>,
    rename: &Rename<'_>,
    current: &Loaded,
    from: &str,
    to: &str,
    time: i64,
) -> Result<(), StorageError> {
    tx.execute(
        "UPDATE pages SET name = ?1 WHERE id = ?2",
        &[&to, &current.page_id],
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
    let appended = append_to(tx, current, to, &current.revision.text, &stamp, &kind)?;
    crate::links::copy(tx, current.id, appended.revision_id)?;
    tx.execute(
        "INSERT INTO redirects (name, page_id) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET page_id = excluded.page_id",
        &[&from, &current.page_id],
    )
    .map_err(doing("leaving a redirect"))?;
    tx.execute("DELETE FROM redirects WHERE name = ?1", &[&to])
        .map_err(doing("leaving a redirect"))?;
    render_cache::invalidate_links_to(tx, from)?;
    render_cache::invalidate_links_to(tx, to)?;
    Ok(())
}

/// Migration 10: every page name, link target and redirect in NFC, the one spelling the app uses
/// for names since then. A page whose NFC name another page holds already keeps its name (merging
/// two pages is a person's decision), and the log says so; the rendered HTML is dropped, as its
/// links may name the old spellings. SQLite's alone, as its `UPDATE OR IGNORE`: PostgreSQL's schema
/// begins at version 22, after it.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link_names::tests::put_text;
    use crate::page_acls::tests::each_storage;

    /// The reads of this module on both engines, over pages written as saves leave them (the
    /// write operations go through the save path; `tests/it/lifecycle.rs` runs them).
    #[test]
    fn info_redirects_deleted_pages_and_subpages_read_alike_on_both_engines() {
        for storage in each_storage() {
            let engine = storage.engine();
            put_text(&storage, "Team", "ann", "one");
            put_text(&storage, "Team", "bob", "two");
            put_text(&storage, "Team", "ann", "three!");
            for page in [
                "Team/B",
                "Team/A",
                "Team/Ä",
                "Teams",
                "Team/Gone",
                "Team/A/Deep",
            ] {
                put_text(&storage, page, "ann", "x");
            }
            let mut pooled = storage.pool.get().unwrap();
            pooled
                .execute("UPDATE pages SET deleted = 1 WHERE name = 'Team/Gone'", &[])
                .unwrap();
            pooled
                .execute(
                    "UPDATE revisions SET size = 6, time = 30 WHERE rev = 3",
                    &[],
                )
                .unwrap();
            pooled
                .execute(
                    "INSERT INTO redirects (name, page_id)
                     SELECT 'OldTeam', id FROM pages WHERE name = 'Team'",
                    &[],
                )
                .unwrap();
            assert_eq!(
                subpages(&mut *pooled, "Team").unwrap(),
                ["Team/A", "Team/A/Deep", "Team/B", "Team/Ä"],
                "{engine}"
            );
            drop(pooled);
            let info = storage.page_info("Team").unwrap().unwrap();
            assert_eq!(
                info,
                PageInfo {
                    name: "Team".to_owned(),
                    revisions: 3,
                    authors: vec![("ann".to_owned(), 2), ("bob".to_owned(), 1)],
                    size: 6,
                    created: 1,
                    modified: 30,
                    deleted: false,
                },
                "{engine}"
            );
            assert!(storage.page_info("Team/Gone").unwrap().unwrap().deleted);
            assert_eq!(storage.page_info("Nowhere").unwrap(), None, "{engine}");
            assert!(storage.is_deleted("Team/Gone").unwrap(), "{engine}");
            assert!(!storage.is_deleted("Team").unwrap(), "{engine}");
            assert_eq!(storage.deleted_pages().unwrap(), ["Team/Gone"], "{engine}");
            assert_eq!(
                storage.redirect("OldTeam").unwrap().as_deref(),
                Some("Team"),
                "{engine}"
            );
            assert_eq!(storage.redirect("Team").unwrap(), None, "{engine}");
            // A page that takes the old name ends the redirect.
            put_text(&storage, "OldTeam", "bob", "mine now");
            assert_eq!(storage.redirect("OldTeam").unwrap(), None, "{engine}");
        }
    }
}
