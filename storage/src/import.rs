//! Writing a page's whole history at once, as another wiki kept it: the one write path of imports.
//!
//! An import is bulk work: one `BEGIN IMMEDIATE` transaction per page, with every revision's original
//! author, time, comment and kind, and no links, cache or index work per revision (the importer records
//! the current revision's links, and builds the search index once at the end). Each revision goes
//! through the same append as a save, so compaction and blame are exactly what saves would have made.
//!
//! Rerunning an import is safe: a page whose stored history is the start of the imported one gets only
//! the revisions after it ([`ImportOutcome::Extended`]); one whose history differs, because it was
//! edited here since, is left alone ([`ImportOutcome::Diverged`]) for a person to look at.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::db::SqliteRef;
use crate::error::{doing, StorageError};
use crate::revision::{ChangeKind, Loaded, Revision, RevisionMeta};
use crate::save::{self, Append};
use crate::{render_cache, Storage};

/// One revision of an imported page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedRevision<'a> {
    /// The text, in quire's Markdown; ignored for a [`ChangeKind::Delete`], whose text is empty.
    pub text: &'a str,
    /// The other wiki's own markup, when `text` was converted from it; kept beside the revision
    /// ([`Storage::original_markup`]).
    pub original: Option<&'a str>,
    /// Who saved it there.
    pub author: &'a str,
    /// Its comment; may be empty.
    pub comment: &'a str,
    /// When, in unix seconds UTC.
    pub time: i64,
    /// What it did: an edit, a deletion, or a rename (whose old name then redirects here).
    pub kind: ChangeKind,
}

/// What [`Storage::import_page`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// The page was new: all its revisions were written.
    Created {
        /// How many.
        revisions: u64,
    },
    /// The page held the start of this history already (an earlier import): the rest was appended.
    Extended {
        /// How many revisions were appended.
        added: u64,
    },
    /// The page holds this whole history already; nothing was written.
    Unchanged,
    /// The page's stored history is not the start of this one (it was edited here since, or another
    /// page had the name); nothing was written.
    Diverged {
        /// How many revisions the page has here.
        stored: u64,
    },
}

impl Storage {
    /// Writes `revisions` (oldest first) as the history of the page `name`, in one transaction; see
    /// the module doc for reruns. A stored revision matches an imported one when author and time are
    /// equal, and for the newest stored revision the text too. The page ends deleted when the last
    /// revision is a deletion.
    pub fn import_page(
        &self,
        name: &str,
        revisions: &[ImportedRevision<'_>],
    ) -> Result<ImportOutcome, StorageError> {
        if revisions.is_empty() {
            return Ok(ImportOutcome::Unchanged);
        }
        let mut pooled = self.pool.get()?;
        let conn = pooled.sqlite_mut()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(doing("starting an import"))?;
        let (page_id, mut prev, start) = match save::load_any(&mut SqliteRef(&tx), name)? {
            Some((current, _)) => {
                let stored = stored_stamps(&tx, current.page_id)?;
                let Some(start) = matching_prefix(&stored, &current.revision, revisions) else {
                    return Ok(ImportOutcome::Diverged {
                        stored: stored.len() as u64,
                    });
                };
                if start == revisions.len() {
                    return Ok(ImportOutcome::Unchanged);
                }
                (current.page_id, Some(current), start)
            }
            None => {
                tx.execute(
                    "INSERT INTO pages (name, current_rev) VALUES (?1, 0)",
                    params![name],
                )
                .map_err(doing("creating an imported page"))?;
                (tx.last_insert_rowid(), None, 0)
            }
        };
        for imported in &revisions[start..] {
            let text = match imported.kind {
                ChangeKind::Delete => "",
                _ => imported.text,
            };
            let appended = save::append(
                &mut SqliteRef(&tx),
                &Append {
                    page_id,
                    page: name,
                    prev: prev.as_ref(),
                    text,
                    author: imported.author,
                    comment: imported.comment,
                    time: imported.time,
                    kind: &imported.kind,
                },
            )?;
            if let Some(original) = imported.original {
                tx.prepare_cached(
                    "INSERT INTO revision_originals (revision_id, text) VALUES (?1, ?2)",
                )
                .and_then(|mut stmt| stmt.execute(params![appended.revision_id, original]))
                .map_err(doing("keeping a revision's original markup"))?;
            }
            if let ChangeKind::Rename { from } = &imported.kind {
                // The old name leads here unless a page takes it (`Storage::redirect` checks).
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO redirects (name, page_id) VALUES (?1, ?2)",
                )
                .and_then(|mut stmt| stmt.execute(params![from, page_id]))
                .map_err(doing("leaving a redirect"))?;
            }
            prev = Some(Loaded {
                page_id,
                id: appended.revision_id,
                revision: Revision {
                    meta: RevisionMeta {
                        page: name.to_owned(),
                        rev: appended.rev,
                        author: imported.author.to_owned(),
                        time: imported.time,
                        comment: imported.comment.to_owned(),
                        size: text.len() as u64,
                        kind: imported.kind.clone(),
                    },
                    text: text.to_owned(),
                },
            });
        }
        let deleted = matches!(revisions.last().map(|r| &r.kind), Some(ChangeKind::Delete));
        tx.execute(
            "UPDATE pages SET deleted = ?1 WHERE id = ?2",
            params![deleted, page_id],
        )
        .map_err(doing("marking an imported page"))?;
        if deleted {
            render_cache::invalidate_links_to(&mut SqliteRef(&tx), name)?;
        } else {
            save::appeared(&mut SqliteRef(&tx), name)?;
        }
        tx.commit().map_err(doing("committing an import"))?;
        let written = (revisions.len() - start) as u64;
        Ok(if start == 0 {
            ImportOutcome::Created { revisions: written }
        } else {
            ImportOutcome::Extended { added: written }
        })
    }

    /// Removes the page `name` and all its history if every revision of it is by `installer` and it
    /// has no files: a page quire installed (the front page, help pages) that nobody has touched, which
    /// an import may then replace with the other wiki's page of that name and its history. `false`,
    /// and nothing removed, for any other page. Derived rows (links, cached HTML, ACL lines, blame) go
    /// with it; the search index is the importer's to rebuild.
    pub fn remove_untouched_page(&self, name: &str, installer: &str) -> Result<bool, StorageError> {
        let mut pooled = self.pool.get()?;
        let conn = pooled.sqlite_mut()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(doing("starting to replace an installed page"))?;
        let untouched: Option<i64> = tx
            .query_row(
                "SELECT p.id FROM pages p
                 WHERE p.name = ?1
                   AND NOT EXISTS (SELECT 1 FROM revisions r WHERE r.page_id = p.id AND r.author <> ?2)
                   AND NOT EXISTS (SELECT 1 FROM file_versions f WHERE f.page_id = p.id)",
                params![name, installer],
                |row| row.get(0),
            )
            .optional()
            .map_err(doing("checking an installed page"))?;
        let Some(page_id) = untouched else {
            return Ok(false);
        };
        for table in [
            "links",
            "file_links",
            "rendered",
            "revision_acls",
            "revision_groups",
            "revision_originals",
        ] {
            tx.execute(
                &format!(
                    "DELETE FROM {table}
                     WHERE revision_id IN (SELECT id FROM revisions WHERE page_id = ?1)"
                ),
                params![page_id],
            )
            .map_err(doing("removing an installed page"))?;
        }
        for table in ["revisions", "blame", "current_texts", "redirects"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE page_id = ?1"),
                params![page_id],
            )
            .map_err(doing("removing an installed page"))?;
        }
        tx.execute("DELETE FROM pages WHERE id = ?1", params![page_id])
            .map_err(doing("removing an installed page"))?;
        render_cache::invalidate_links_to(&mut SqliteRef(&tx), name)?;
        tx.commit()
            .map_err(doing("committing the removal of an installed page"))?;
        Ok(true)
    }

    /// The other wiki's markup that revision `rev` of `page` was converted from, if it was imported
    /// with one.
    pub fn original_markup(&self, page: &str, rev: u64) -> Result<Option<String>, StorageError> {
        let Ok(rev) = i64::try_from(rev) else {
            return Ok(None);
        };
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        conn.prepare_cached(
            "SELECT o.text FROM revision_originals o
             JOIN revisions r ON r.id = o.revision_id
             JOIN pages p ON p.id = r.page_id
             WHERE p.name = ?1 AND r.rev = ?2",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![page, rev], |row| row.get(0))
                .optional()
        })
        .map_err(doing("reading a revision's original markup"))
    }
}

/// Author and time of each stored revision of a page, oldest first.
fn stored_stamps(conn: &Connection, page_id: i64) -> Result<Vec<(String, i64)>, StorageError> {
    let mut stmt = conn
        .prepare_cached("SELECT author, time FROM revisions WHERE page_id = ?1 ORDER BY rev")
        .map_err(doing("reading a page's history"))?;
    let rows = stmt
        .query_map(params![page_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .map_err(doing("reading a page's history"))?;
    rows.collect::<Result<_, _>>()
        .map_err(doing("reading a page's history"))
}

/// How many of `imported` the stored history already holds, or `None` when it is not their start.
fn matching_prefix(
    stored: &[(String, i64)],
    current: &Revision,
    imported: &[ImportedRevision<'_>],
) -> Option<usize> {
    if stored.len() > imported.len() {
        return None;
    }
    let same_stamps = stored
        .iter()
        .zip(imported)
        .all(|((author, time), new)| author == new.author && *time == new.time);
    let newest = &imported[stored.len().checked_sub(1)?];
    let newest_text = match newest.kind {
        ChangeKind::Delete => "",
        _ => newest.text,
    };
    (same_stamps && current.text == newest_text).then_some(stored.len())
}
