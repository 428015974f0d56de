//! The render cache: a page revision's HTML, stored so a view need not render Markdown again — which
//! matters most under CGI, where every request is a fresh process and no in-memory memo survives.
//!
//! Rendered HTML depends on more than the revision's text: on the URLs the app writes (the mount
//! prefix), on the renderer and its settings, and on which linked pages exist. The first two are the
//! *variant* the app passes with every lookup (an opaque string, part of the key, so one database
//! served under two mounts keeps two entries). The third is kept right by invalidation: the save that
//! creates a page deletes, in the same transaction, the cached HTML of every revision linking to it (the
//! link graph says which), and bumps a counter, the *render epoch*. A render that started before that
//! save carries the old epoch in its [`RenderTicket`] and is not stored, so HTML drawn with a stale
//! answer never lands in the cache. Deleting or renaming a page must do the same
//! ([`invalidate_links_to`]).
//!
//! Only a page's current revision is cached, and only once its links are known (so that invalidation
//! can find it); a save drops the entries of the page's older revisions.

use rusqlite::{params, Connection};

use crate::error::{doing, StorageError};

/// What a cache lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedHtml {
    /// The stored HTML.
    Hit(String),
    /// Nothing stored; render, then hand the HTML back with this ticket
    /// ([`crate::Storage::store_html`]).
    Miss(RenderTicket),
}

/// Permission to cache one render, valid only while no page has been created or deleted since the
/// lookup that issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderTicket {
    page: String,
    rev: i64,
    epoch: i64,
}

pub(crate) fn lookup(
    conn: &Connection,
    page: &str,
    rev: u64,
    variant: &str,
) -> Result<CachedHtml, StorageError> {
    let Ok(rev) = i64::try_from(rev) else {
        return Err(StorageError::Invalid {
            what: format!("revision number {rev} of page {page:?} is too large"),
        });
    };
    // One statement, so the HTML and the epoch come from the same snapshot.
    let (html, epoch): (Stored, i64) = conn
        .prepare_cached(
            "SELECT (SELECT c.html FROM pages p
                     JOIN revisions r ON r.page_id = p.id
                     JOIN rendered c ON c.revision_id = r.id
                     WHERE p.name = ?1 AND r.rev = ?2 AND c.variant = ?3),
                    (SELECT epoch FROM render_epoch WHERE id = 1)",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![page, rev, variant], |row| {
                Ok((Stored::read(row.get_ref(0)?), row.get(1)?))
            })
        })
        .map_err(doing("reading the render cache"))?;
    if let Stored::Damaged = html {
        // Derived data: rendered again, and the render's store replaces the row.
        tracing::warn!(
            page,
            rev,
            "a damaged entry of the render cache was found; the page is rendered again"
        );
    }
    Ok(match html {
        Stored::Html(html) => CachedHtml::Hit(html),
        Stored::Nothing | Stored::Damaged => CachedHtml::Miss(RenderTicket {
            page: page.to_owned(),
            rev,
            epoch,
        }),
    })
}

/// What the cache's row held: HTML, nothing, or something no render wrote (another program's write,
/// a damaged file), which counts as nothing.
enum Stored {
    Html(String),
    Nothing,
    Damaged,
}

impl Stored {
    fn read(value: rusqlite::types::ValueRef<'_>) -> Stored {
        match value {
            rusqlite::types::ValueRef::Null => Stored::Nothing,
            rusqlite::types::ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
                Ok(html) => Stored::Html(html.to_owned()),
                Err(_) => Stored::Damaged,
            },
            _ => Stored::Damaged,
        }
    }
}

/// Stores `html` for the ticket's revision, unless the revision is no longer current, its links are
/// not known, or a page appeared or vanished since the ticket was issued. One statement: the checks and
/// the write happen under the same write lock.
pub(crate) fn store(
    conn: &Connection,
    ticket: &RenderTicket,
    variant: &str,
    html: &str,
) -> Result<bool, StorageError> {
    let stored = conn
        .prepare_cached(
            "INSERT OR REPLACE INTO rendered (revision_id, variant, html)
             SELECT r.id, ?3, ?4 FROM pages p
             JOIN revisions r ON r.page_id = p.id AND r.rev = p.current_rev
             WHERE p.name = ?1 AND r.rev = ?2 AND p.links_rev = p.current_rev
               AND (SELECT epoch FROM render_epoch WHERE id = 1) = ?5",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                ticket.page,
                ticket.rev,
                variant,
                html,
                ticket.epoch
            ])
        })
        .map_err(doing("storing rendered HTML"))?;
    Ok(stored > 0)
}

/// Drops the cached HTML of the revision of page `page_id` that `rev` supersedes (it is no longer
/// viewed as current). Inside the saving transaction.
///
/// Only that one revision can have any: HTML is stored only for the current revision ([`store`]),
/// and every new revision goes through here. Naming every older revision instead made each save
/// cost the page's whole history (an `IN` list of all its revision ids): a save of a page with
/// 100 000 revisions built a list of 100 000, and importing such a history took quadratic time.
pub(crate) fn forget_older(
    conn: &mut impl crate::db::Sql,
    page_id: i64,
    rev: i64,
) -> Result<(), StorageError> {
    conn.execute(FORGET_SUPERSEDED, &[&page_id, &rev])
        .map_err(doing("dropping old rendered HTML"))?;
    Ok(())
}

const FORGET_SUPERSEDED: &str = "DELETE FROM rendered WHERE revision_id =
     (SELECT id FROM revisions WHERE page_id = ?1 AND rev = ?2 - 1)";

/// Page `target` appeared (or vanished or was renamed): drops the cached HTML of every revision
/// linking to it or to one of its files (a deleted page's files are gone with it, and a renamed
/// page's move to its new name), and bumps the render epoch, so renders in flight are not stored
/// either. Inside the transaction that makes the change.
pub(crate) fn invalidate_links_to(
    conn: &mut impl crate::db::Sql,
    target: &str,
) -> Result<(), StorageError> {
    conn.execute(
        "DELETE FROM rendered WHERE revision_id IN
             (SELECT revision_id FROM links WHERE target = ?1
              UNION SELECT revision_id FROM file_links WHERE page = ?1)",
        &[&target],
    )
    .map_err(doing("invalidating rendered HTML"))?;
    bump_epoch(conn)
}

/// File `name` of page `page` has a new version (it appeared, changed, was deleted or restored):
/// drops the cached HTML of every revision linking to it and bumps the render epoch, as for a page.
/// Inside the transaction that writes the version.
pub(crate) fn invalidate_file_links_to(
    conn: &mut impl crate::db::Sql,
    page: &str,
    name: &str,
) -> Result<(), StorageError> {
    conn.execute(
        "DELETE FROM rendered WHERE revision_id IN
             (SELECT revision_id FROM file_links WHERE page = ?1 AND name = ?2)",
        &[&page, &name],
    )
    .map_err(doing("invalidating rendered HTML"))?;
    bump_epoch(conn)
}

fn bump_epoch(conn: &mut impl crate::db::Sql) -> Result<(), StorageError> {
    conn.execute(
        "UPDATE render_epoch SET epoch = epoch + 1 WHERE id = 1",
        &[],
    )
    .map_err(doing("invalidating rendered HTML"))?;
    Ok(())
}

/// How many entries the cache holds (for tests).
#[cfg(feature = "testing")]
pub(crate) fn len(conn: &Connection) -> Result<u64, StorageError> {
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM rendered", [], |row| row.get(0))
        .map_err(doing("counting rendered pages"))?;
    crate::revision::to_u64("cache size", "", n)
}

#[cfg(test)]
mod tests {
    use crate::page_acls::tests::save;
    use crate::Storage;

    #[test]
    fn a_save_drops_the_superseded_html_at_a_cost_that_does_not_grow_with_the_history() {
        let storage = Storage::open_in_memory().unwrap();
        for rev in 0..300 {
            save(&storage, "Long", &format!("text {rev}"));
        }
        let pooled = storage.pool.get().unwrap();
        let conn = pooled.sqlite().unwrap();
        conn.execute(
            "INSERT INTO rendered (revision_id, variant, html)
             SELECT MAX(id), 'v', 'html' FROM revisions",
            [],
        )
        .unwrap();
        drop(pooled);
        save(&storage, "Long", "text 300");
        assert_eq!(storage.cached_html_count().unwrap(), 0);
        // The statement a save runs steps through a few rows, not the page's 300 revisions, with
        // HTML cached (for the current revision, which it keeps).
        let pooled = storage.pool.get().unwrap();
        let conn = pooled.sqlite().unwrap();
        conn.execute(
            "INSERT INTO rendered (revision_id, variant, html)
             SELECT MAX(id), 'v', 'html' FROM revisions",
            [],
        )
        .unwrap();
        let page_id: i64 = conn
            .query_row("SELECT id FROM pages", [], |row| row.get(0))
            .unwrap();
        let mut stmt = conn.prepare(super::FORGET_SUPERSEDED).unwrap();
        stmt.execute(rusqlite::params![page_id, 301_i64]).unwrap();
        let steps = stmt.get_status(rusqlite::StatementStatus::VmStep);
        assert!(steps < 100, "{steps} steps");
    }
}
