//! Checking the database against itself, for `quire check` and the fault-injection tests: the file
//! is whole, every revision is there once and in order and decodes, and what storage keeps beside the
//! revision log (the blame records, the names behind orphans and wanted pages, the backlinks by
//! name, each page's newest change) agrees with a rebuild from it.
//!
//! The link graph and the ACL lines are derived from texts by the app, which reads Markdown; storage
//! hands out what it recorded ([`Storage::recorded_links`], [`Storage::recorded_acl_lines`]) and the
//! app compares. Everything here only reads: a check may run beside a serving wiki, and what a save
//! moves on meanwhile is read in one snapshot per question.

use std::collections::HashMap;

use rusqlite::Connection;

use crate::db::{Engine, Sql, TxKind};
use crate::error::{doing, StorageError};
use crate::Storage;

/// Revisions read at a time when every text is decoded.
const BATCH: usize = 500;

/// One thing found wrong, in words for the administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The page it concerns, if one.
    pub page: Option<String>,
    /// What is wrong.
    pub problem: String,
    /// Whether it can be rebuilt, and how.
    pub kind: FindingKind,
}

/// What kind of thing a [`Finding`] is, which says how it is mended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    /// The file or the revision log is damaged: only a backup brings it back.
    Damage,
    /// A page's blame record is not what its history gives: [`Storage::forget_blame`] drops it,
    /// and the next blame rebuilds it.
    StaleBlame,
    /// The names behind orphans and wanted pages (`link_names`) disagree with the link graph:
    /// [`Storage::rebuild_link_names`] builds them again.
    StaleLinkNames,
    /// The backlinks by name (`backlinks`) disagree with the link graph:
    /// [`Storage::rebuild_backlinks`] builds them again.
    StaleBacklinks,
    /// A page's newest change, which recent changes under a prefix start from, is not its newest
    /// revision: [`Storage::rebuild_last_changes`] sets them again.
    StaleLastChange,
}

impl Finding {
    fn about(page: &str, problem: String) -> Finding {
        Finding {
            page: Some(page.to_owned()),
            problem,
            kind: FindingKind::Damage,
        }
    }
}

/// The links storage recorded for a page's current revision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedLinks {
    /// The pages it links to, sorted.
    pub pages: Vec<String>,
    /// The files it links to, `(page, name)`, sorted.
    pub files: Vec<(String, String)>,
}

impl Storage {
    /// Checks what storage alone can check; an empty answer means all is well. An error is a
    /// database that could not be read at all (the findings so far are lost with it: the first
    /// thing to fix is the error).
    ///
    /// On SQLite the file itself is checked first (`PRAGMA integrity_check`). PostgreSQL has no
    /// such check to ask for: its pages are its own (checksummed when the cluster was made with
    /// them, and checked by `pg_amcheck` if the operator wants), so on it the checks start at the
    /// rows, which are the same on both engines.
    pub fn verify(&self) -> Result<Vec<Finding>, StorageError> {
        let mut found = Vec::new();
        {
            let mut pooled = self.pool.get()?;
            if pooled.engine() == Engine::Sqlite {
                integrity(pooled.sqlite()?, &mut found)?;
            }
            numbering(&mut *pooled, &mut found)?;
            let conn = &mut *pooled;
            stale(
                &mut found,
                crate::link_names::disagreeing(conn, 20)?,
                FindingKind::StaleLinkNames,
                "its count of incoming links, or whether it exists, is recorded wrong for orphans and wanted pages",
            );
            stale(
                &mut found,
                crate::backlinks::disagreeing(conn, 20)?,
                FindingKind::StaleBacklinks,
                "the pages recorded as linking to it (what links here) are not the link graph's",
            );
            stale(
                &mut found,
                crate::recent::stale_last_changes(conn, 20)?,
                FindingKind::StaleLastChange,
                "its newest change is recorded wrong for recent changes under a prefix",
            );
        }
        self.every_text_decodes(&mut found)?;
        for page in self.page_names()? {
            if !crate::blame::agrees_with_rebuild(&mut *self.pool.get()?, &page)? {
                found.push(Finding {
                    kind: FindingKind::StaleBlame,
                    ..Finding::about(
                        &page,
                        "its blame record differs from the one its history gives".to_owned(),
                    )
                });
            }
        }
        Ok(found)
    }

    /// The links recorded for revision `revision_id` (a global id), if it is its page's current
    /// revision and its links are recorded (a page saved without them has none yet: the app fills
    /// them in when it opens the database).
    pub fn recorded_links(&self, revision_id: u64) -> Result<Option<RecordedLinks>, StorageError> {
        let mut pooled = self.pool.get()?;
        let mut tx = pooled
            .transaction(TxKind::Read)
            .map_err(doing("reading recorded links"))?;
        let recorded = tx
            .query_one(
                "SELECT CASE WHEN EXISTS (SELECT 1 FROM revisions r JOIN pages p ON p.id = r.page_id
                 WHERE r.id = ?1 AND p.current_rev = r.rev AND p.links_rev = r.rev)
                 THEN 1 ELSE 0 END",
                &[&revision_id],
                |row| row.get::<bool>(0),
            )
            .map_err(doing("reading recorded links"))?;
        if !recorded {
            return Ok(None);
        }
        let pages = tx
            .query_map(
                "SELECT target FROM links WHERE revision_id = ?1 ORDER BY target",
                &[&revision_id],
                |row| row.get(0),
            )
            .map_err(doing("reading recorded links"))?;
        let files = tx
            .query_map(
                "SELECT page, name FROM file_links WHERE revision_id = ?1 ORDER BY page, name",
                &[&revision_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(doing("reading recorded links"))?;
        Ok(Some(RecordedLinks { pages, files }))
    }

    /// The ACL lines recorded for the revisions with ids in `after..=upto`, by id; a revision the
    /// scan found no line in has no entry.
    pub fn recorded_acl_lines(
        &self,
        after: u64,
        upto: u64,
    ) -> Result<HashMap<u64, String>, StorageError> {
        let mut pooled = self.pool.get()?;
        let rows = pooled
            .query_map(
                "SELECT revision_id, acl FROM revision_acls
                 WHERE revision_id > ?1 AND revision_id <= ?2",
                &[&after, &upto],
                |row| Ok((row.get::<u64>(0)?, row.get::<String>(1)?)),
            )
            .map_err(doing("reading recorded ACL lines"))?;
        Ok(rows.into_iter().collect())
    }

    /// Drops the blame record kept for `page`: its next blame rebuilds it from the history (what
    /// mends a [`FindingKind::StaleBlame`]).
    pub fn forget_blame(&self, page: &str) -> Result<(), StorageError> {
        crate::blame::forget(&mut *self.pool.get()?, page)
    }

    /// Reads the whole revision log, decoding every text (a compact body through the revisions it
    /// is a delta against): a revision that does not decode is torn, and the first one ends the walk.
    fn every_text_decodes(&self, found: &mut Vec<Finding>) -> Result<(), StorageError> {
        let mut after = 0;
        loop {
            let batch = match self.revisions_after(after, BATCH) {
                Ok(batch) => batch,
                Err(err) => {
                    found.push(Finding {
                        page: None,
                        kind: FindingKind::Damage,
                        problem: format!(
                            "a revision after id {after} cannot be read ({err}); restore from a backup"
                        ),
                    });
                    return Ok(());
                }
            };
            match batch.last() {
                Some(last) => after = last.id,
                None => return Ok(()),
            }
        }
    }

    /// Forgets every recorded ACL line and the scan's position, so that the next request scans the
    /// revision log again (`quire check --repair`, when the lines disagree with the texts).
    pub fn forget_acl_scan(&self) -> Result<(), StorageError> {
        let mut pooled = self.pool.get()?;
        let mut tx = pooled
            .transaction(TxKind::Write)
            .map_err(doing("forgetting the ACL scan"))?;
        tx.execute("DELETE FROM revision_acls", &[])
            .map_err(doing("forgetting the ACL scan"))?;
        tx.execute("UPDATE acl_scan SET upto = 0", &[])
            .map_err(doing("forgetting the ACL scan"))?;
        tx.commit().map_err(doing("forgetting the ACL scan"))
    }
}

/// A finding of `kind` saying `problem` for each of `names`: the few names a check of derived
/// data (the names behind orphans and wanted pages, the backlinks by name, each page's newest
/// change) found disagreeing with a rebuild.
fn stale(found: &mut Vec<Finding>, names: Vec<String>, kind: FindingKind, problem: &str) {
    found.extend(names.into_iter().map(|name| Finding {
        page: Some(name),
        problem: problem.to_owned(),
        kind,
    }));
}

/// The first columns (a name, called `key` in `table`) of the rows on which `table` (the rows of a
/// table derived from the link graph) and `expected` (the same rows computed from the graph)
/// disagree, at most `limit` of them, by name: what a check of a derived table reports.
/// `table` and `expected` are fixed texts of the derived tables' modules, never values.
pub(crate) fn disagreeing(
    conn: &mut impl Sql,
    table: &str,
    expected: &str,
    limit: usize,
    doing_what: &'static str,
) -> Result<Vec<String>, StorageError> {
    // PostgreSQL before 16 wants a name on every subquery in FROM; SQLite takes them too.
    conn.query_map(
        &format!(
            "SELECT DISTINCT key FROM (
                 SELECT * FROM ({table} EXCEPT {expected}) AS extra
                 UNION ALL
                 SELECT * FROM ({expected} EXCEPT {table}) AS missing
             ) AS differing ORDER BY key LIMIT ?1"
        ),
        &[&limit],
        |row| row.get(0),
    )
    .map_err(doing(doing_what))
}

/// `PRAGMA integrity_check`: each line it gives other than "ok".
fn integrity(conn: &Connection, found: &mut Vec<Finding>) -> Result<(), StorageError> {
    let mut stmt = conn
        .prepare("PRAGMA integrity_check")
        .map_err(doing("checking the database file"))?;
    let lines = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(doing("checking the database file"))?;
    for line in lines.into_iter().filter(|line| line != "ok") {
        found.push(Finding {
            page: None,
            kind: FindingKind::Damage,
            problem: format!(
                "the database file is damaged ({line}); restore from a backup (`quire restore`)"
            ),
        });
    }
    Ok(())
}

/// Each page's revisions are numbered 1, 2, 3… with no gap (numbers are unique by the schema), and
/// their log ids rise with their numbers: no revision is missing, doubled or out of order.
fn numbering(conn: &mut impl Sql, found: &mut Vec<Finding>) -> Result<(), StorageError> {
    let gaps = conn
        .query_map(
            "SELECT p.name, COUNT(*), MIN(r.rev), MAX(r.rev) FROM revisions r
             JOIN pages p ON p.id = r.page_id
             GROUP BY r.page_id, p.name HAVING MIN(r.rev) <> 1 OR MAX(r.rev) <> COUNT(*)",
            &[],
            |row| {
                Ok((
                    row.get::<String>(0)?,
                    row.get::<i64>(1)?,
                    row.get::<i64>(2)?,
                    row.get::<i64>(3)?,
                ))
            },
        )
        .map_err(doing("checking revision numbers"))?;
    for (page, count, first, last) in gaps {
        found.push(Finding::about(
            &page,
            format!("its revisions are numbered {first} to {last}, but there are {count}: some are missing"),
        ));
    }
    let disorder = conn
        .query_map(
            "SELECT p.name, b.rev FROM revisions a
             JOIN revisions b ON b.page_id = a.page_id AND b.rev = a.rev + 1
             JOIN pages p ON p.id = a.page_id
             WHERE b.id < a.id",
            &[],
            |row| Ok((row.get::<String>(0)?, row.get::<i64>(1)?)),
        )
        .map_err(doing("checking revision order"))?;
    for (page, rev) in disorder {
        found.push(Finding::about(
            &page,
            format!("its revision {rev} was logged before the one it follows"),
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) use crate::db::testing::each_storage;

    /// Page A with revisions 1 and 3 (2 is missing), page B whose revision 2 was logged before
    /// its revision 1, and page C in order; C's revision has its links and an ACL line recorded.
    const ROWS: &str = "
        INSERT INTO pages (id, name, current_rev, links_rev) VALUES
            (1, 'A', 3, 0), (2, 'B', 2, 0), (3, 'C', 1, 1);
        INSERT INTO revisions (id, page_id, rev, author, time, comment, size, size_delta, body) VALUES
            (1, 1, 1, 't', 1, '', 0, 0, ''), (2, 1, 3, 't', 2, '', 0, 0, ''),
            (4, 2, 1, 't', 3, '', 0, 0, ''), (3, 2, 2, 't', 4, '', 0, 0, ''),
            (5, 3, 1, 't', 5, '', 0, 0, '');
        INSERT INTO links (revision_id, target) VALUES (5, 'B'), (5, 'A');
        INSERT INTO file_links (revision_id, page, name) VALUES (5, 'A', 'x.png');
        INSERT INTO revision_acls (revision_id, acl) VALUES (5, 'alice:read');
        DELETE FROM acl_scan;
        INSERT INTO acl_scan (id, upto) VALUES (1, 5);
    ";

    #[test]
    fn gaps_and_disorder_in_the_numbering_are_found_on_both_engines() {
        for storage in each_storage() {
            let mut pooled = storage.pool.get().unwrap();
            let engine = pooled.engine();
            pooled.execute_batch(ROWS).unwrap();
            let mut found = Vec::new();
            numbering(&mut *pooled, &mut found).unwrap();
            found.sort_by(|a, b| a.page.cmp(&b.page));
            let problems: Vec<(Option<&str>, &str)> = found
                .iter()
                .map(|f| (f.page.as_deref(), f.problem.as_str()))
                .collect();
            assert_eq!(
                problems,
                [
                    (
                        Some("A"),
                        "its revisions are numbered 1 to 3, but there are 2: some are missing"
                    ),
                    (
                        Some("B"),
                        "its revision 2 was logged before the one it follows"
                    ),
                ],
                "{engine}"
            );
            assert!(found.iter().all(|f| f.kind == FindingKind::Damage));
        }
    }

    #[test]
    fn recorded_links_and_acl_lines_read_the_same_on_both_engines() {
        for storage in each_storage() {
            storage.pool.get().unwrap().execute_batch(ROWS).unwrap();
            let engine = storage.engine();
            assert_eq!(
                storage.recorded_links(5).unwrap(),
                Some(RecordedLinks {
                    pages: vec!["A".to_owned(), "B".to_owned()],
                    files: vec![("A".to_owned(), "x.png".to_owned())],
                }),
                "{engine}"
            );
            // Not its page's links revision: nothing recorded yet.
            assert_eq!(storage.recorded_links(2).unwrap(), None, "{engine}");
            assert_eq!(
                storage.recorded_acl_lines(0, 5).unwrap(),
                HashMap::from([(5, "alice:read".to_owned())]),
                "{engine}"
            );
            assert!(storage.recorded_acl_lines(5, 9).unwrap().is_empty());
            storage.forget_acl_scan().unwrap();
            assert!(storage.recorded_acl_lines(0, 5).unwrap().is_empty());
            let upto = storage
                .pool
                .get()
                .unwrap()
                .query_one("SELECT upto FROM acl_scan", &[], |row| row.get::<i64>(0))
                .unwrap();
            assert_eq!(upto, 0, "{engine}");
        }
    }

    /// The comparison every derived table's check runs, on both engines' SQL.
    #[test]
    fn disagreeing_names_the_keys_on_either_side_of_a_difference() {
        for storage in each_storage() {
            let mut pooled = storage.pool.get().unwrap();
            let engine = pooled.engine();
            pooled.execute_batch(ROWS).unwrap();
            let names = disagreeing(
                &mut *pooled,
                "SELECT name AS key FROM pages",
                "SELECT target AS key FROM links UNION SELECT 'D' AS key",
                10,
                "testing",
            )
            .unwrap();
            assert_eq!(names, ["C", "D"], "{engine}");
            let few = disagreeing(
                &mut *pooled,
                "SELECT name AS key FROM pages",
                "SELECT target AS key FROM links UNION SELECT 'D' AS key",
                1,
                "testing",
            )
            .unwrap();
            assert_eq!(few, ["C"], "{engine}");
        }
    }
}
