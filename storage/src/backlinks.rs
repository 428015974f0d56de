//! "What links here" by name: a row for each page whose current revision links to a name, kept so
//! that the first names of a page's backlinks are one range scan of a primary key, whether ten
//! pages link to it or ten thousand.
//!
//! The link graph holds a row per (revision, target) for every revision ever saved (`links`,
//! `crate::links`), so the pages linking to a name now could only be found all at once: each of
//! its link rows, old revisions' included, joined to its revision and page to keep the current
//! ones, then the names sorted, before the first could be shown (a page view with 10 000
//! backlinks read, filtered and drew them all: 21–41 ms against 0.9 ms with 100). The table
//! `backlinks (target, source)` holds the answer instead: a row for each page `source` whose
//! current revision links to `target`, by target then source name, so the next `limit` backlinks
//! after a name cost `limit` steps of the primary key. A link of a page to itself counts for
//! nothing, as everywhere in the graph.
//!
//! Triggers on `links` and `pages` keep it in the writer's transaction, as they keep
//! `crate::link_names`: a link of a current revision added or removed (link rows are never
//! changed in place), a page created, removed, renamed, or moved to another revision (a save, a
//! revert, a delete or undelete, an import), whose links then count instead of the old one's. So
//! every write path keeps it without knowing of it, and it never lags behind the graph. What it
//! costs a save: a primary-key delete per link of the old revision and an insert per link of the
//! new. `quire check` compares it with a rebuild ([`crate::Storage::verify`]) and `--repair`
//! rebuilds it ([`crate::Storage::rebuild_backlinks`]). No change counter trigger watches it:
//! every write that changes it changes a revision or a page row, which move the counter.

use crate::db::{DbError, Sql, SqliteRef};
use crate::error::{doing, StorageError};

/// The table and the triggers that keep it (migration 20).
pub(crate) const SCHEMA: &str = "
CREATE TABLE backlinks (
    target TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (target, source)
) WITHOUT ROWID;

CREATE TRIGGER backlinks_link_added AFTER INSERT ON links
BEGIN
    INSERT OR IGNORE INTO backlinks (target, source)
        SELECT NEW.target, p.name FROM revisions r
        JOIN pages p ON p.id = r.page_id AND p.current_rev = r.rev
        WHERE r.id = NEW.revision_id AND p.name <> NEW.target;
END;

CREATE TRIGGER backlinks_link_removed AFTER DELETE ON links
BEGIN
    DELETE FROM backlinks WHERE target = OLD.target AND source = (
        SELECT p.name FROM revisions r
        JOIN pages p ON p.id = r.page_id AND p.current_rev = r.rev
        WHERE r.id = OLD.revision_id);
END;

CREATE TRIGGER backlinks_page_added AFTER INSERT ON pages
BEGIN
    INSERT OR IGNORE INTO backlinks (target, source)
        SELECT l.target, NEW.name FROM revisions r JOIN links l ON l.revision_id = r.id
        WHERE r.page_id = NEW.id AND r.rev = NEW.current_rev AND l.target <> NEW.name;
END;

CREATE TRIGGER backlinks_page_changed AFTER UPDATE OF name, current_rev ON pages
WHEN OLD.name <> NEW.name OR OLD.current_rev <> NEW.current_rev
BEGIN
    DELETE FROM backlinks WHERE source = OLD.name AND target IN (
        SELECT l.target FROM revisions r JOIN links l ON l.revision_id = r.id
        WHERE r.page_id = OLD.id AND r.rev = OLD.current_rev);
    INSERT OR IGNORE INTO backlinks (target, source)
        SELECT l.target, NEW.name FROM revisions r JOIN links l ON l.revision_id = r.id
        WHERE r.page_id = NEW.id AND r.rev = NEW.current_rev AND l.target <> NEW.name;
END;

CREATE TRIGGER backlinks_page_removed AFTER DELETE ON pages
BEGIN
    DELETE FROM backlinks WHERE source = OLD.name AND target IN (
        SELECT l.target FROM revisions r JOIN links l ON l.revision_id = r.id
        WHERE r.page_id = OLD.id AND r.rev = OLD.current_rev);
END;
";

/// What the table holds when it agrees with the graph, computed from it: one full pass, for the
/// migration, `quire check` and its repair.
const EXPECTED: &str = "
SELECT DISTINCT l.target, p.name FROM pages p
JOIN revisions r ON r.page_id = p.id AND r.rev = p.current_rev
JOIN links l ON l.revision_id = r.id
WHERE l.target <> p.name";

/// Fills the table again from the link graph; inside the caller's transaction.
pub(crate) fn rebuild(conn: &mut impl Sql) -> Result<(), DbError> {
    conn.execute("DELETE FROM backlinks", &[])?;
    conn.execute(
        &format!("INSERT INTO backlinks (target, source) {EXPECTED}"),
        &[],
    )?;
    Ok(())
}

/// [`rebuild`] as SQLite's migration 20 runs it (migrations before the seam's are SQLite's alone).
pub(crate) fn fill(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    rebuild(&mut SqliteRef(tx)).map_err(crate::link_names::as_rusqlite)
}

/// The targets whose backlinks the table and a rebuild disagree on, at most `limit` of them, by
/// name.
pub(crate) fn disagreeing(conn: &mut impl Sql, limit: usize) -> Result<Vec<String>, StorageError> {
    crate::verify::disagreeing(
        conn,
        "SELECT target AS key, source FROM backlinks",
        EXPECTED,
        limit,
        "checking the backlinks",
    )
}

/// The next `limit` pages whose current revision links to `target`, after the name `after`
/// (`None`: from the first), by name: one range scan of the primary key.
pub(crate) fn backlinks_from(
    conn: &mut impl Sql,
    target: &str,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, StorageError> {
    conn.query_map(
        BACKLINKS_FROM,
        &[&target, &after.unwrap_or(""), &crate::sql_count(limit)],
        |row| row.get(0),
    )
    .map_err(doing("reading backlinks"))
}

const BACKLINKS_FROM: &str = "SELECT source FROM backlinks
     WHERE target = ?1 AND source > ?2 ORDER BY source LIMIT ?3";

/// Every page whose current revision links to `target`, by name: one range scan of the primary
/// key, as long as the list.
pub(crate) fn all(conn: &mut impl Sql, target: &str) -> Result<Vec<String>, StorageError> {
    conn.query_map(ALL, &[&target], |row| row.get(0))
        .map_err(doing("reading backlinks"))
}

const ALL: &str = "SELECT source FROM backlinks WHERE target = ?1 ORDER BY source";

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::db::{Engine, Sql};
    use crate::link_names::tests::{postgres_plan, put_revision, put_revisions};
    use crate::page_acls::tests::each_storage;
    use crate::page_acls::tests::{full_scan_steps, statement_status};
    use crate::{Save, Storage};

    /// What the view read before this table: the pages whose current revision links to `target`,
    /// from the link rows of every revision. The reference the table must agree with.
    const JOINED: &str = "SELECT DISTINCT p.name FROM links l
         JOIN revisions r ON r.id = l.revision_id
         JOIN pages p ON p.id = r.page_id AND p.current_rev = r.rev
         WHERE l.target = ?1 AND p.name <> ?1
         ORDER BY p.name";

    fn joined(storage: &Storage, target: &str) -> Vec<String> {
        storage
            .pool
            .get()
            .unwrap()
            .query_map(JOINED, &[&target], |row| row.get(0))
            .unwrap()
    }

    fn disagreeing(storage: &Storage) -> Vec<String> {
        super::disagreeing(&mut *storage.pool.get().unwrap(), 10).unwrap()
    }

    /// How many VM steps `sql` takes, run to the end with `params`: the work of the statement,
    /// whatever it scans.
    fn vm_steps(storage: &Storage, sql: &str, params: &[&dyn rusqlite::ToSql]) -> i32 {
        statement_status(storage, sql, params, rusqlite::StatementStatus::VmStep)
    }

    #[test]
    fn the_first_backlinks_cost_the_same_for_sixty_linking_pages_as_for_three_thousand() {
        for storage in each_storage() {
            let engine = storage.engine();
            // Each linking page saved three times, so the graph holds three link rows a backlink.
            // PostgreSQL's part reads the plan, not steps: a tenth of the pages shows it.
            let linking = match engine {
                Engine::Sqlite => 3_000,
                Engine::Postgres => 300,
            };
            let mut pages = Vec::new();
            for i in 0..linking {
                let mut links = vec!["Popular"];
                if i < 60 {
                    links.push("Quiet");
                }
                for _ in 0..3 {
                    pages.push((format!("P{i:04}"), links.clone()));
                }
            }
            put_revisions(&storage, &pages);
            let first = storage.backlinks_from("Popular", None, 50).unwrap();
            assert_eq!(first.len(), 50, "{engine}");
            assert_eq!(first[..2], ["P0000", "P0001"], "{engine}");
            let (last_but_two, last) = (
                format!("P{:04}", linking - 3),
                format!("P{:04}", linking - 1),
            );
            let next = storage
                .backlinks_from("Popular", Some(&last_but_two), 50)
                .unwrap();
            assert_eq!(next.len(), 2, "{engine}");
            assert_eq!(next[1], last, "{engine}");
            assert_eq!(storage.backlinks("Quiet").unwrap().len(), 60, "{engine}");
            assert_eq!(
                storage.backlinks("Quiet").unwrap(),
                joined(&storage, "Quiet")
            );
            assert!(disagreeing(&storage).is_empty(), "{engine}");
            if engine == Engine::Postgres {
                // A range of the primary key, as on SQLite (steps are SQLite's to count).
                let plan =
                    postgres_plan(&storage, super::BACKLINKS_FROM, &[&"Popular", &"", &50_i64]);
                assert!(plan.contains("backlinks_pkey"), "{plan}");
                continue;
            }
            let steps =
                |target: &str| vm_steps(&storage, super::BACKLINKS_FROM, &[&target, &"", &50_i64]);
            let (quiet, popular) = (steps("Quiet"), steps("Popular"));
            assert_eq!(
                quiet, popular,
                "the steps of 50 backlinks of 60 and of 3 000"
            );
            assert_eq!(
                full_scan_steps(&storage, super::BACKLINKS_FROM, &[&"Popular", &"", &50_i64]),
                0
            );
            // What the join cost: every link row of every revision, then a sort.
            let joined = vm_steps(&storage, JOINED, &[&"Popular"]);
            assert!(
                joined > 20 * popular,
                "{joined} steps joined, {popular} read"
            );
        }
    }

    #[test]
    fn a_check_finds_wrong_backlinks_and_a_rebuild_mends_them() {
        for storage in each_storage() {
            let engine = storage.engine();
            put_revision(&storage, "A", &["B", "C", "A"]);
            put_revision(&storage, "B", &["C"]);
            let mut pooled = storage.pool.get().unwrap();
            pooled
                .execute(
                    "INSERT INTO backlinks (target, source) VALUES ('Nowhere', 'A')",
                    &[],
                )
                .unwrap();
            pooled
                .execute(
                    "DELETE FROM backlinks WHERE target = 'C' AND source = 'B'",
                    &[],
                )
                .unwrap();
            drop(pooled);
            assert_eq!(disagreeing(&storage), ["C", "Nowhere"], "{engine}");
            storage.rebuild_backlinks().unwrap();
            assert_eq!(disagreeing(&storage), Vec::<String>::new(), "{engine}");
            assert_eq!(storage.backlinks("C").unwrap(), ["A", "B"], "{engine}");
        }
    }

    #[test]
    fn every_write_path_keeps_the_backlinks_as_a_rebuild_gives_them() {
        for storage in each_storage() {
            let engine = storage.engine();
            let save = |page: &str, links: &[&str]| {
                put_revision(&storage, page, links);
            };
            save("A", &["B", "C", "A"]);
            save("B", &["C"]);
            save("C", &["A", "D"]);
            assert_eq!(storage.backlinks("C").unwrap(), ["A", "B"], "{engine}");
            // A save moves the page to its new links.
            save("A", &["D"]);
            assert_eq!(storage.backlinks("C").unwrap(), ["B"], "{engine}");
            assert_eq!(storage.backlinks("D").unwrap(), ["A", "C"], "{engine}");
            // A rename: the page's links now come from its new name; one to the new name is to
            // itself.
            let renamed = storage.rename(&crate::Rename {
                from: "C",
                to: "D",
                author: "a",
                comment: "",
                with_subpages: false,
            });
            renamed.unwrap();
            assert_eq!(storage.backlinks("D").unwrap(), ["A"]);
            assert_eq!(storage.backlinks("A").unwrap(), ["D"]);
            assert!(storage.backlinks("C").unwrap().contains(&"B".to_owned()));
            assert_eq!(disagreeing(&storage), Vec::<String>::new());
            // Delete and undelete.
            storage.delete("B", "a", "").unwrap();
            assert!(storage.backlinks("C").unwrap().is_empty());
            storage.undelete("B", "a", "").unwrap();
            assert_eq!(storage.backlinks("C").unwrap(), ["B"]);
            // Links filled in later, and a page taken away whole.
            assert!(storage.set_links("B", 3, &["A", "B"]).unwrap());
            assert_eq!(storage.backlinks("A").unwrap(), ["B", "D"]);
            // Import's (SQLite's until import.rs moves).
            let removed = storage.remove_untouched_page("B", "a").unwrap();
            assert!(removed);
            assert_eq!(storage.backlinks("A").unwrap(), ["D"]);
            assert_eq!(disagreeing(&storage), Vec::<String>::new());
            // What check finds when the table is wrong.
            storage
                .pool
                .get()
                .unwrap()
                .execute(
                    "INSERT INTO backlinks (target, source) VALUES ('Nowhere', 'A')",
                    &[],
                )
                .unwrap();
            let found = storage.verify().unwrap();
            assert!(found
                .iter()
                .any(|f| f.kind == crate::FindingKind::StaleBacklinks
                    && f.page.as_deref() == Some("Nowhere")));
        }
    }

    /// One step of a random history over a few names, so that renames, deletions and links meet.
    #[derive(Debug, Clone)]
    enum Step {
        Save(usize, Vec<usize>),
        SaveUnlinked(usize),
        FillLinks(usize, Vec<usize>),
        Rename(usize, usize),
        Delete(usize),
        Undelete(usize),
        Remove(usize),
        /// A history imported at once, its links recorded afterwards; ending in a deletion if
        /// the flag says so.
        Import(usize, Vec<Vec<usize>>, bool),
    }

    const NAMES: [&str; 6] = ["A", "B", "C", "D", "E", "F"];

    fn step() -> impl Strategy<Value = Step> {
        let name = 0..NAMES.len();
        let links = || proptest::collection::vec(0..NAMES.len() + 2, 0..4);
        prop_oneof![
            4 => (name.clone(), links()).prop_map(|(n, l)| Step::Save(n, l)),
            1 => name.clone().prop_map(Step::SaveUnlinked),
            1 => (name.clone(), links()).prop_map(|(n, l)| Step::FillLinks(n, l)),
            2 => (name.clone(), name.clone()).prop_map(|(a, b)| Step::Rename(a, b)),
            1 => name.clone().prop_map(Step::Delete),
            1 => name.clone().prop_map(Step::Undelete),
            1 => name.clone().prop_map(Step::Remove),
            1 => (name, proptest::collection::vec(links(), 1..3), any::<bool>())
                .prop_map(|(n, l, deleted)| Step::Import(n, l, deleted)),
        ]
    }

    /// A link target: one of the names, or one no page has.
    fn target(i: usize) -> &'static str {
        NAMES.get(i).copied().unwrap_or(["Missing", "Other"][i % 2])
    }

    fn run(storage: &Storage, step: &Step) {
        let targets = |links: &[usize]| links.iter().map(|&i| target(i)).collect::<Vec<_>>();
        // Refusals (a rename onto a live page, deleting a missing one) are part of the history.
        match step {
            Step::Save(n, links) => {
                let _ = storage.save_with_links(
                    Save {
                        page: NAMES[*n],
                        text: "x",
                        author: "a",
                        comment: "",
                        base_rev: storage.current(NAMES[*n]).unwrap().map(|r| r.meta.rev),
                        time: Some(1),
                    },
                    &targets(links),
                );
            }
            Step::SaveUnlinked(n) => {
                let _ = storage.save(Save {
                    page: NAMES[*n],
                    text: "y",
                    author: "a",
                    comment: "",
                    base_rev: storage.current(NAMES[*n]).unwrap().map(|r| r.meta.rev),
                    time: Some(1),
                });
            }
            Step::FillLinks(n, links) => {
                if let Some(current) = storage.current(NAMES[*n]).unwrap() {
                    let _ = storage.set_links(NAMES[*n], current.meta.rev, &targets(links));
                }
            }
            Step::Rename(a, b) => {
                let _ = storage.rename(&crate::Rename {
                    from: NAMES[*a],
                    to: NAMES[*b],
                    author: "a",
                    comment: "",
                    with_subpages: true,
                });
            }
            Step::Delete(n) => {
                let _ = storage.delete(NAMES[*n], "a", "");
            }
            Step::Undelete(n) => {
                let _ = storage.undelete(NAMES[*n], "a", "");
            }
            Step::Remove(n) => {
                let _ = storage.remove_untouched_page(NAMES[*n], "a");
            }
            Step::Import(n, revisions, deleted) => {
                let texts: Vec<String> = (0..revisions.len()).map(|i| format!("r{i}")).collect();
                let imported: Vec<crate::ImportedRevision<'_>> = texts
                    .iter()
                    .enumerate()
                    .map(|(i, text)| crate::ImportedRevision {
                        text,
                        original: None,
                        author: "i",
                        comment: "",
                        time: 1,
                        kind: if *deleted && i + 1 == texts.len() {
                            crate::ChangeKind::Delete
                        } else {
                            crate::ChangeKind::Edit
                        },
                    })
                    .collect();
                if storage.import_page(NAMES[*n], &imported).is_ok() {
                    if let Some(current) = storage.current(NAMES[*n]).unwrap() {
                        let last = revisions.last().map(Vec::as_slice).unwrap_or_default();
                        let _ = storage.set_links(NAMES[*n], current.meta.rev, &targets(last));
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        // SQLite only: 64 histories, each in a wiki of its own, would each take a schema on
        // the shared test server (and imports are SQLite's for now);
        // `triggers_keep_the_same_tables_on_both_engines` (schema_pg) and the tests above hold
        // PostgreSQL's triggers to the same tables.

        /// Whatever the history, every name's backlinks, read a page at a time, are what the join
        /// over every revision's links gives.
        #[test]
        fn backlinks_read_by_pages_are_the_join_over_every_revision(
            steps in proptest::collection::vec(step(), 1..40),
            per_page in 1_usize..4,
        ) {
            let storage = Storage::open_in_memory().unwrap();
            for step in &steps {
                run(&storage, step);
            }
            for i in 0..NAMES.len() + 2 {
                let name = target(i);
                let mut paged: Vec<String> = Vec::new();
                loop {
                    let batch = storage
                        .backlinks_from(name, paged.last().map(String::as_str), per_page)
                        .unwrap();
                    prop_assert!(batch.len() <= per_page);
                    let done = batch.len() < per_page;
                    paged.extend(batch);
                    if done {
                        break;
                    }
                }
                let expected = joined(&storage, name);
                prop_assert_eq!(&paged, &expected, "{} after {:?}", name, steps);
                prop_assert_eq!(&storage.backlinks(name).unwrap(), &expected);
            }
            prop_assert_eq!(disagreeing(&storage), Vec::<String>::new());
        }
    }
}
