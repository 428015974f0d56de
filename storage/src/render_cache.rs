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

use crate::db::{DbError, Sql, ValueRef};
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
    conn: &mut impl Sql,
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
        .query_one(
            "SELECT (SELECT c.html FROM pages p
                     JOIN revisions r ON r.page_id = p.id
                     JOIN rendered c ON c.revision_id = r.id
                     WHERE p.name = ?1 AND r.rev = ?2 AND c.variant = ?3),
                    (SELECT epoch FROM render_epoch WHERE id = 1)",
            &[&page, &rev, &variant],
            |row| Ok((Stored::read(row.value(0)), row.get(1)?)),
        )
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
    /// A column that is not text, or text that is not UTF-8 (which reading it as text refuses
    /// with a conversion error), is damage; any other error has already ended the query.
    fn read(value: Result<ValueRef<'_>, DbError>) -> Stored {
        match value {
            Ok(ValueRef::Null) => Stored::Nothing,
            Ok(ValueRef::Text(html)) => Stored::Html(html.to_owned()),
            Ok(_) | Err(_) => Stored::Damaged,
        }
    }
}

/// Stores `html` for the ticket's revision, unless the revision is no longer current, its links are
/// not known, or a page appeared or vanished since the ticket was issued. One statement: the checks and
/// the write happen under the same write lock.
pub(crate) fn store(
    conn: &mut impl Sql,
    ticket: &RenderTicket,
    variant: &str,
    html: &str,
) -> Result<bool, StorageError> {
    let stored = conn
        .execute(
            "INSERT INTO rendered (revision_id, variant, html)
             SELECT r.id, ?3, ?4 FROM pages p
             JOIN revisions r ON r.page_id = p.id AND r.rev = p.current_rev
             WHERE p.name = ?1 AND r.rev = ?2 AND p.links_rev = p.current_rev
               AND (SELECT epoch FROM render_epoch WHERE id = 1) = ?5
             ON CONFLICT (revision_id, variant) DO UPDATE SET html = excluded.html",
            &[&ticket.page, &ticket.rev, &variant, &html, &ticket.epoch],
        )
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
    conn: &mut impl Sql,
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
pub(crate) fn invalidate_links_to(conn: &mut impl Sql, target: &str) -> Result<(), StorageError> {
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
    conn: &mut impl Sql,
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

fn bump_epoch(conn: &mut impl Sql) -> Result<(), StorageError> {
    conn.execute(
        "UPDATE render_epoch SET epoch = epoch + 1 WHERE id = 1",
        &[],
    )
    .map_err(doing("invalidating rendered HTML"))?;
    Ok(())
}

/// How many entries the cache holds (for tests).
#[cfg(feature = "testing")]
pub(crate) fn len(conn: &mut impl Sql) -> Result<u64, StorageError> {
    conn.query_one("SELECT COUNT(*) FROM rendered", &[], |row| row.get(0))
        .map_err(doing("counting rendered pages"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Engine;
    use crate::link_names::tests::{postgres_plan, put_revision};
    use crate::page_acls::tests::each_storage;
    use crate::page_acls::tests::save;
    use crate::Storage;

    fn ticket(storage: &Storage, page: &str, rev: u64, variant: &str) -> RenderTicket {
        match lookup(&mut *storage.pool.get().unwrap(), page, rev, variant).unwrap() {
            CachedHtml::Miss(ticket) => ticket,
            CachedHtml::Hit(html) => panic!("{page} {rev} is cached: {html}"),
        }
    }

    fn stored(storage: &Storage, ticket: &RenderTicket, variant: &str, html: &str) -> bool {
        store(&mut *storage.pool.get().unwrap(), ticket, variant, html).unwrap()
    }

    fn entries(storage: &Storage) -> u64 {
        len(&mut *storage.pool.get().unwrap()).unwrap()
    }

    fn cached(storage: &Storage, page: &str, rev: u64, variant: &str) -> Option<String> {
        match lookup(&mut *storage.pool.get().unwrap(), page, rev, variant).unwrap() {
            CachedHtml::Hit(html) => Some(html),
            CachedHtml::Miss(_) => None,
        }
    }

    #[test]
    fn html_is_kept_per_variant_for_the_current_revision_until_a_linked_page_changes() {
        for storage in each_storage() {
            let engine = storage.engine();
            put_revision(&storage, "Linker", &["Target"]);
            let page_id: i64 = storage
                .pool
                .get()
                .unwrap()
                .query_one("SELECT id FROM pages WHERE name = 'Linker'", &[], |row| {
                    row.get(0)
                })
                .unwrap();
            let t = ticket(&storage, "Linker", 1, "v");
            assert!(stored(&storage, &t, "v", "<p>one</p>"), "{engine}");
            // Stored again with the same ticket: the row is replaced, not doubled.
            assert!(stored(&storage, &t, "v", "<p>two</p>"), "{engine}");
            assert_eq!(
                cached(&storage, "Linker", 1, "v").as_deref(),
                Some("<p>two</p>")
            );
            assert_eq!(cached(&storage, "Linker", 1, "w"), None, "{engine}");
            assert_eq!(entries(&storage), 1, "{engine}");

            // A render in flight when Target appears is not stored; the entry is gone.
            let in_flight = ticket(&storage, "Linker", 1, "w");
            invalidate_links_to(&mut *storage.pool.get().unwrap(), "Target").unwrap();
            assert_eq!(cached(&storage, "Linker", 1, "v"), None, "{engine}");
            assert!(!stored(&storage, &in_flight, "w", "stale"), "{engine}");

            // A file of the page: the same, through file_links.
            let t = ticket(&storage, "Linker", 1, "v");
            assert!(stored(&storage, &t, "v", "<p>three</p>"), "{engine}");
            let revision: i64 = put_revision(&storage, "Linker", &[]);
            forget_older(&mut *storage.pool.get().unwrap(), page_id, 2).unwrap();
            assert_eq!(entries(&storage), 0, "{engine}");
            storage
                .pool
                .get()
                .unwrap()
                .execute(
                    "INSERT INTO file_links (revision_id, page, name) VALUES (?1, 'Other', 'a.png')",
                    &[&revision],
                )
                .unwrap();
            let t = ticket(&storage, "Linker", 2, "v");
            assert!(stored(&storage, &t, "v", "<p>four</p>"), "{engine}");
            invalidate_file_links_to(&mut *storage.pool.get().unwrap(), "Other", "a.png").unwrap();
            assert_eq!(cached(&storage, "Linker", 2, "v"), None, "{engine}");

            // Only the current revision is stored, and the superseded one's HTML is dropped.
            let old = ticket(&storage, "Linker", 1, "v");
            assert!(!stored(&storage, &old, "v", "old"), "{engine}");
            let t = ticket(&storage, "Linker", 2, "v");
            assert!(stored(&storage, &t, "v", "<p>five</p>"), "{engine}");
            put_revision(&storage, "Linker", &[]);
            forget_older(&mut *storage.pool.get().unwrap(), page_id, 3).unwrap();
            assert_eq!(entries(&storage), 0, "{engine}");

            // A page whose links are not recorded yet is not cached.
            storage
                .pool
                .get()
                .unwrap()
                .execute("UPDATE pages SET links_rev = 0", &[])
                .unwrap();
            let t = ticket(&storage, "Linker", 3, "v");
            assert!(!stored(&storage, &t, "v", "html"), "{engine}");
            if engine == Engine::Sqlite {
                // Bytes no render wrote (PostgreSQL's text column cannot hold them): a miss.
                storage
                    .pool
                    .get()
                    .unwrap()
                    .execute(
                        "INSERT INTO rendered (revision_id, variant, html)
                         SELECT MAX(id), 'v', CAST(X'FF00' AS BLOB) FROM revisions",
                        &[],
                    )
                    .unwrap();
                assert_eq!(cached(&storage, "Linker", 3, "v"), None);
            }
        }
    }

    /// Counts SQLite's VM steps, so SQLite only; on PostgreSQL, the plan shows the same lookup
    /// by the unique index of (page, revision number).
    #[test]
    fn a_save_drops_the_superseded_html_at_a_cost_that_does_not_grow_with_the_history() {
        for storage in each_storage() {
            if storage.engine() == Engine::Postgres {
                let plan = postgres_plan(&storage, FORGET_SUPERSEDED, &[&1_i64, &2_i64]);
                assert!(plan.contains("revisions_page_id_rev_key"), "{plan}");
            }
        }
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
