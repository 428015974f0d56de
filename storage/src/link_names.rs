//! Every name that is a page or a link target, with whether a live page has it and how many other
//! pages link to it: what `/+orphans` and `/+wanted` list, kept so that a page of either is one range
//! scan of an index, at 100 pages as at 100 000.
//!
//! Both listings used to be answered from the link graph itself: wanted pages by grouping every
//! current revision's links (1.1 s at 100 000 pages), orphans by probing the links of every page
//! name in turn (bounded per request, but thousands of probes when orphans are sparse). The table
//! `link_names (name, live, sources)` holds the answer instead: `sources` counts the pages other
//! than `name` whose current revision links to `name` (a link of a page to itself counts for
//! nothing, as everywhere in the graph), `live` says whether a live page has the name. A name with
//! neither has no row. Orphans are the rows `live = 1 AND sources = 0`, wanted pages `live = 0`,
//! each under a partial index by name.
//!
//! Triggers on `links` and `pages` keep it, in the writer's transaction: a link of a current
//! revision added or removed, a page created, removed, renamed, deleted or undeleted, or moved to
//! another revision (whose links then count instead). So every write path keeps it without knowing
//! of it, a save as much as an import or a rename, and it can never lag behind the graph. What it
//! costs a save: a few indexed updates per link of the old and the new revision. `quire check`
//! compares it with a rebuild ([`crate::Storage::verify`]) and `--repair` rebuilds it
//! ([`crate::Storage::rebuild_link_names`]).

use crate::db::{DbError, Engine, Sql, SqliteRef};
use crate::error::{doing, StorageError};

/// The table, its indexes and the triggers that keep it (migration 18; migration 21 puts `sources`
/// in the wanted names' index, so that a page of them is read from the index alone).
pub(crate) const SCHEMA: &str = "
CREATE TABLE link_names (
    name    TEXT PRIMARY KEY,
    live    INTEGER NOT NULL,
    sources INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX link_names_wanted ON link_names (name) WHERE live = 0;
CREATE INDEX link_names_orphans ON link_names (name) WHERE live = 1 AND sources = 0;

CREATE TRIGGER link_names_link_added AFTER INSERT ON links
WHEN EXISTS (SELECT 1 FROM revisions r JOIN pages p ON p.id = r.page_id AND p.current_rev = r.rev
             WHERE r.id = NEW.revision_id AND p.name <> NEW.target)
BEGIN
    INSERT OR IGNORE INTO link_names (name, live, sources) VALUES (NEW.target, 0, 0);
    UPDATE link_names SET sources = sources + 1 WHERE name = NEW.target;
END;

CREATE TRIGGER link_names_link_removed AFTER DELETE ON links
WHEN EXISTS (SELECT 1 FROM revisions r JOIN pages p ON p.id = r.page_id AND p.current_rev = r.rev
             WHERE r.id = OLD.revision_id AND p.name <> OLD.target)
BEGIN
    UPDATE link_names SET sources = sources - 1 WHERE name = OLD.target;
    DELETE FROM link_names WHERE name = OLD.target AND live = 0 AND sources <= 0;
END;

CREATE TRIGGER link_names_page_added AFTER INSERT ON pages
BEGIN
    INSERT OR IGNORE INTO link_names (name, live, sources) VALUES (NEW.name, 0, 0);
    UPDATE link_names SET live = (NEW.deleted = 0) WHERE name = NEW.name;
    INSERT OR IGNORE INTO link_names (name, live, sources)
        SELECT l.target, 0, 0 FROM revisions r JOIN links l ON l.revision_id = r.id
        WHERE r.page_id = NEW.id AND r.rev = NEW.current_rev AND l.target <> NEW.name;
    UPDATE link_names SET sources = sources + 1 WHERE name IN (
        SELECT l.target FROM revisions r JOIN links l ON l.revision_id = r.id
        WHERE r.page_id = NEW.id AND r.rev = NEW.current_rev AND l.target <> NEW.name);
    DELETE FROM link_names WHERE name = NEW.name AND live = 0 AND sources <= 0;
END;

CREATE TRIGGER link_names_page_changed AFTER UPDATE OF name, current_rev, deleted ON pages
WHEN OLD.name <> NEW.name OR OLD.current_rev <> NEW.current_rev OR OLD.deleted <> NEW.deleted
BEGIN
    UPDATE link_names SET sources = sources - 1 WHERE name IN (
        SELECT l.target FROM revisions r JOIN links l ON l.revision_id = r.id
        WHERE r.page_id = OLD.id AND r.rev = OLD.current_rev AND l.target <> OLD.name);
    UPDATE link_names SET live = 0 WHERE name = OLD.name;
    INSERT OR IGNORE INTO link_names (name, live, sources)
        SELECT l.target, 0, 0 FROM revisions r JOIN links l ON l.revision_id = r.id
        WHERE r.page_id = NEW.id AND r.rev = NEW.current_rev AND l.target <> NEW.name;
    UPDATE link_names SET sources = sources + 1 WHERE name IN (
        SELECT l.target FROM revisions r JOIN links l ON l.revision_id = r.id
        WHERE r.page_id = NEW.id AND r.rev = NEW.current_rev AND l.target <> NEW.name);
    INSERT OR IGNORE INTO link_names (name, live, sources) VALUES (NEW.name, 0, 0);
    UPDATE link_names SET live = (NEW.deleted = 0) WHERE name = NEW.name;
    DELETE FROM link_names WHERE live = 0 AND sources <= 0 AND (name = OLD.name OR name IN (
        SELECT l.target FROM revisions r JOIN links l ON l.revision_id = r.id
        WHERE r.page_id = OLD.id AND r.rev = OLD.current_rev));
END;

CREATE TRIGGER link_names_page_removed AFTER DELETE ON pages
BEGIN
    UPDATE link_names SET sources = sources - 1 WHERE name IN (
        SELECT l.target FROM revisions r JOIN links l ON l.revision_id = r.id
        WHERE r.page_id = OLD.id AND r.rev = OLD.current_rev AND l.target <> OLD.name);
    UPDATE link_names SET live = 0 WHERE name = OLD.name;
    DELETE FROM link_names WHERE live = 0 AND sources <= 0 AND (name = OLD.name OR name IN (
        SELECT l.target FROM revisions r JOIN links l ON l.revision_id = r.id
        WHERE r.page_id = OLD.id AND r.rev = OLD.current_rev));
END;
";

/// What the table holds when it agrees with the graph, computed from it: one full pass, for the
/// migration, `quire check` and its repair. (`SUM` is cast: PostgreSQL's is a NUMERIC.)
const EXPECTED: &str = "
SELECT name, MAX(live) AS live, CAST(SUM(sources) AS BIGINT) AS sources FROM (
    SELECT name, 1 AS live, 0 AS sources FROM pages WHERE deleted = 0
    UNION ALL
    SELECT l.target, 0, 1 FROM pages p
    JOIN revisions r ON r.page_id = p.id AND r.rev = p.current_rev
    JOIN links l ON l.revision_id = r.id
    WHERE l.target <> p.name
) AS named GROUP BY name";

/// Fills the table again from the link graph; inside the caller's transaction.
pub(crate) fn rebuild(conn: &mut impl Sql) -> Result<(), DbError> {
    conn.execute("DELETE FROM link_names", &[])?;
    conn.execute(
        &format!("INSERT INTO link_names (name, live, sources) {EXPECTED}"),
        &[],
    )?;
    Ok(())
}

/// [`rebuild`] as SQLite's migration 18 runs it (migrations before the seam's are SQLite's alone).
pub(crate) fn fill(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    rebuild(&mut SqliteRef(tx)).map_err(as_rusqlite)
}

/// A seam error as a migration's fill returns it: SQLite's own, or wrapped.
pub(crate) fn as_rusqlite(err: DbError) -> rusqlite::Error {
    match err {
        DbError::Sqlite(err) => err,
        other => rusqlite::Error::ToSqlConversionFailure(Box::new(other)),
    }
}

/// The names on which the table and a rebuild disagree, at most `limit` of them, by name.
pub(crate) fn disagreeing(conn: &mut impl Sql, limit: usize) -> Result<Vec<String>, StorageError> {
    crate::verify::disagreeing(
        conn,
        "SELECT name AS key, live, sources FROM link_names",
        EXPECTED,
        limit,
        "checking the link targets",
    )
}

/// The next `limit` orphans (live pages no other page's current revision links to) after the name
/// `after`, by name: one range scan of the orphans' index.
pub(crate) fn orphans_from(
    conn: &mut impl Sql,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, StorageError> {
    let sql = match conn.engine() {
        Engine::Sqlite => ORPHANS_FROM,
        Engine::Postgres => ORPHANS_FROM_PG,
    };
    conn.query_map(
        sql,
        &[&after.unwrap_or(""), &crate::sql_count(limit)],
        |row| row.get(0),
    )
    .map_err(doing("listing orphaned pages"))
}

const ORPHANS_FROM: &str = "SELECT name FROM link_names INDEXED BY link_names_orphans
     WHERE live = 1 AND sources = 0 AND name > ?1 ORDER BY name LIMIT ?2";

/// [`ORPHANS_FROM`] without `INDEXED BY`, which is SQLite's alone; PostgreSQL's planner finds the
/// partial index by the same condition.
const ORPHANS_FROM_PG: &str = "SELECT name FROM link_names
     WHERE live = 1 AND sources = 0 AND name > ?1 ORDER BY name LIMIT ?2";

/// The next `limit` wanted pages (no live page has the name, some page's current revision links
/// to it) after the name `after`, by name, each with how many pages link to it: one range scan of
/// the wanted names' index.
pub(crate) fn wanted_from(
    conn: &mut impl Sql,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(String, u64)>, StorageError> {
    let sql = match conn.engine() {
        Engine::Sqlite => WANTED_FROM,
        Engine::Postgres => WANTED_FROM_PG,
    };
    conn.query_map(
        sql,
        &[&after.unwrap_or(""), &crate::sql_count(limit)],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .map_err(doing("listing wanted pages"))
}

const WANTED_FROM: &str = "SELECT name, sources FROM link_names INDEXED BY link_names_wanted
     WHERE live = 0 AND name > ?1 ORDER BY name LIMIT ?2";

/// [`WANTED_FROM`] without `INDEXED BY` (see [`ORPHANS_FROM_PG`]).
const WANTED_FROM_PG: &str = "SELECT name, sources FROM link_names
     WHERE live = 0 AND name > ?1 ORDER BY name LIMIT ?2";

#[cfg(test)]
pub(crate) mod tests {
    use crate::db::{Engine, Param, Sql, TxKind};
    use crate::page_acls::tests::{each_storage, full_scan_steps, query_plan};
    use crate::Storage;

    /// Writes the next revision of `page` (created if missing) linking to `links`, and makes it
    /// current with its links known, by "a": what a save leaves in `pages`, `revisions` and `links`,
    /// written with plain SQL so that the tests of what is kept from them run on both engines
    /// whatever the save path runs on. Returns the revision's id.
    pub(crate) fn put_revision(storage: &Storage, page: &str, links: &[&str]) -> i64 {
        put(storage, page, "a", "", links).0
    }

    /// [`put_revision`] of `text` by `author`, with no links; returns the revision's number.
    pub(crate) fn put_text(storage: &Storage, page: &str, author: &str, text: &str) -> u64 {
        put(storage, page, author, text, &[]).1
    }

    /// [`put_revision`] for each of `pages` in turn (a page named twice gets two revisions), 50
    /// to a transaction: a large wiki written quickly, without holding PostgreSQL's one write
    /// lock (shared by every test schema on the server) for long.
    pub(crate) fn put_revisions(storage: &Storage, pages: &[(String, Vec<&str>)]) {
        let mut pooled = storage.pool.get().unwrap();
        for chunk in pages.chunks(50) {
            let mut tx = pooled.transaction(TxKind::Write).unwrap();
            for (page, links) in chunk {
                put_in(&mut tx, page, "a", "", links);
            }
            tx.commit().unwrap();
        }
    }

    fn put(storage: &Storage, page: &str, author: &str, text: &str, links: &[&str]) -> (i64, u64) {
        let mut pooled = storage.pool.get().unwrap();
        let mut tx = pooled.transaction(TxKind::Write).unwrap();
        let put = put_in(&mut tx, page, author, text, links);
        tx.commit().unwrap();
        put
    }

    fn put_in(
        tx: &mut crate::db::Tx<'_>,
        page: &str,
        author: &str,
        text: &str,
        links: &[&str],
    ) -> (i64, u64) {
        // A plain body: text on SQLite, bytes in PostgreSQL's BYTEA column.
        let body: &dyn Param = match tx.engine() {
            Engine::Sqlite => &text,
            Engine::Postgres => &text.as_bytes(),
        };
        tx.execute(
            "INSERT INTO pages (name, current_rev) VALUES (?1, 0) ON CONFLICT (name) DO NOTHING",
            &[&page],
        )
        .unwrap();
        let (page_id, rev): (i64, u64) = tx
            .query_one(
                "SELECT id, current_rev + 1 FROM pages WHERE name = ?1",
                &[&page],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        let id: i64 = tx
            .query_one(
                "INSERT INTO revisions (page_id, rev, author, time, comment, size, size_delta, body)
                 VALUES (?1, ?2, ?3, ?2, '', 0, 0, ?4) RETURNING id",
                &[&page_id, &rev, &author, body],
                |row| row.get(0),
            )
            .unwrap();
        for target in links {
            tx.execute(
                "INSERT INTO links (revision_id, target) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                &[&id, target],
            )
            .unwrap();
        }
        tx.execute(
            "INSERT INTO current_texts (page_id, text) VALUES (?1, ?2)
             ON CONFLICT (page_id) DO UPDATE SET text = excluded.text",
            &[&page_id, &text],
        )
        .unwrap();
        tx.execute(
            "UPDATE pages SET current_rev = ?2, links_rev = ?2 WHERE id = ?1",
            &[&page_id, &rev],
        )
        .unwrap();
        (id, rev)
    }

    /// PostgreSQL's plan for `sql` with `params`, a line per node, with sequential scans priced
    /// out (`enable_seqscan = off`, for this transaction only): on a test's few rows the planner
    /// would rightly scan the table, and the question is whether the index can serve at all.
    pub(crate) fn postgres_plan(storage: &Storage, sql: &str, params: &[&dyn Param]) -> String {
        let mut pooled = storage.pool.get().unwrap();
        let mut tx = pooled.transaction(TxKind::Read).unwrap();
        tx.execute_batch("SET LOCAL enable_seqscan = off").unwrap();
        tx.query_map(&format!("EXPLAIN {sql}"), params, |row| {
            row.get::<String>(0)
        })
        .unwrap()
        .join("\n")
    }

    /// 300 pages, each linking to the next, to itself and to a missing page, but for every 30th,
    /// which nothing links to.
    fn linked_wiki(storage: &Storage) {
        let names: Vec<[String; 3]> = (0..300)
            .map(|i| {
                [
                    format!("P{i:03}"),
                    format!("P{:03}", i + 1),
                    format!("Missing{i:03}"),
                ]
            })
            .collect();
        let pages: Vec<(String, Vec<&str>)> = names
            .iter()
            .enumerate()
            .map(|(i, [name, next, missing])| {
                let mut links = vec![name.as_str(), missing.as_str()];
                if (i + 1) % 30 != 0 {
                    links.push(next);
                }
                (name.clone(), links)
            })
            .collect();
        put_revisions(storage, &pages);
    }

    fn disagreeing(storage: &Storage) -> Vec<String> {
        super::disagreeing(&mut *storage.pool.get().unwrap(), 10).unwrap()
    }

    #[test]
    fn a_page_of_orphans_or_wanted_pages_costs_what_it_shows_not_the_wiki() {
        for storage in each_storage() {
            let engine = storage.engine();
            linked_wiki(&storage);
            let orphans = storage.orphans_from(None, 5).unwrap();
            assert_eq!(
                orphans,
                ["P000", "P030", "P060", "P090", "P120"],
                "{engine}"
            );
            let wanted = storage.wanted_from(Some("Missing100"), 2).unwrap();
            assert_eq!(
                wanted,
                [("Missing101".to_owned(), 1), ("Missing102".to_owned(), 1)],
                "{engine}"
            );
            assert!(disagreeing(&storage).is_empty(), "{engine}");
            if engine == Engine::Postgres {
                // The partial indexes serve the listings (the planner finds them by the same
                // conditions, without SQLite's INDEXED BY).
                let plan = postgres_plan(&storage, super::ORPHANS_FROM_PG, &[&"", &5_i64]);
                assert!(plan.contains("link_names_orphans"), "{plan}");
                let plan = postgres_plan(&storage, super::WANTED_FROM_PG, &[&"Missing100", &2_i64]);
                assert!(plan.contains("link_names_wanted"), "{plan}");
                continue;
            }
            // One range scan of an index each: no step of a full scan of pages, revisions or
            // links (SQLite's counters).
            assert_eq!(
                full_scan_steps(&storage, super::ORPHANS_FROM, &[&"", &5_i64]),
                0
            );
            assert_eq!(
                full_scan_steps(&storage, super::WANTED_FROM, &[&"Missing100", &2_i64]),
                0
            );
            // Read from the indexes alone: no row of the table sought.
            let plan = query_plan(&storage, super::WANTED_FROM);
            assert!(plan.contains("COVERING INDEX link_names_wanted"), "{plan}");
        }
    }

    #[test]
    fn a_check_finds_a_wrong_count_and_a_rebuild_mends_it() {
        for storage in each_storage() {
            let engine = storage.engine();
            linked_wiki(&storage);
            let mut pooled = storage.pool.get().unwrap();
            pooled
                .execute("UPDATE link_names SET sources = 7 WHERE name = 'P030'", &[])
                .unwrap();
            pooled
                .execute("DELETE FROM link_names WHERE name = 'Missing005'", &[])
                .unwrap();
            drop(pooled);
            assert_eq!(disagreeing(&storage), ["Missing005", "P030"], "{engine}");
            storage.rebuild_link_names().unwrap();
            assert_eq!(disagreeing(&storage), Vec::<String>::new(), "{engine}");
            assert_eq!(storage.orphans_from(Some("P029"), 1).unwrap(), ["P030"]);
        }
    }

    #[test]
    fn every_write_path_keeps_the_names_as_a_rebuild_gives_them() {
        for storage in each_storage() {
            linked_wiki(&storage);
            // A page that links to itself under its new name, and to its old one.
            let onto_a_page = storage.rename(&crate::Rename {
                from: "P005",
                to: "P006",
                author: "a",
                comment: "",
                with_subpages: false,
            });
            onto_a_page.unwrap_err();
            storage
                .rename(&crate::Rename {
                    from: "P005",
                    to: "Missing007",
                    author: "a",
                    comment: "",
                    with_subpages: false,
                })
                .unwrap();
            assert_eq!(disagreeing(&storage), Vec::<String>::new());
            storage.delete("P010", "a", "").unwrap();
            storage.delete("P011", "a", "").unwrap();
            assert_eq!(disagreeing(&storage), Vec::<String>::new());
            storage.undelete("P010", "a", "").unwrap();
            assert!(storage.set_links("P010", 3, &["P001", "P010"]).unwrap());
            assert_eq!(disagreeing(&storage), Vec::<String>::new());
            // Import's (SQLite's until import.rs moves).
            let removed = storage.remove_untouched_page("P020", "a").unwrap();
            assert!(removed);
            assert_eq!(disagreeing(&storage), Vec::<String>::new());
            // The renamed page keeps its links; the deleted and the removed page's targets are
            // orphans now; Missing007 exists now.
            let orphans = storage.orphans().unwrap();
            assert_eq!(orphans[..3], ["P000", "P012", "P021"], "{orphans:?}");
            assert!(!storage
                .wanted()
                .unwrap()
                .iter()
                .any(|(name, _)| name == "Missing007"));
            // What check finds when the table is wrong.
            storage
                .pool
                .get()
                .unwrap()
                .execute("UPDATE link_names SET sources = 7 WHERE name = 'P030'", &[])
                .unwrap();
            let found = storage.verify().unwrap();
            assert!(found
                .iter()
                .any(|f| f.kind == crate::FindingKind::StaleLinkNames
                    && f.page.as_deref() == Some("P030")));
        }
    }
}
