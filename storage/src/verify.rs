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

use rusqlite::{params, Connection};

use crate::error::{doing, StorageError};
use crate::page_acls::sql_id;
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
    pub fn verify(&self) -> Result<Vec<Finding>, StorageError> {
        let mut found = Vec::new();
        {
            let pooled = self.pool.get()?;
            let conn = pooled.sqlite()?;
            integrity(conn, &mut found)?;
            numbering(conn, &mut found)?;
            stale(
                &mut found,
                crate::link_names::disagreeing(&mut crate::db::SqliteRef(conn), 20)?,
                FindingKind::StaleLinkNames,
                "its count of incoming links, or whether it exists, is recorded wrong for orphans and wanted pages",
            );
            stale(
                &mut found,
                crate::backlinks::disagreeing(&mut crate::db::SqliteRef(conn), 20)?,
                FindingKind::StaleBacklinks,
                "the pages recorded as linking to it (what links here) are not the link graph's",
            );
            stale(
                &mut found,
                crate::recent::stale_last_changes(&mut crate::db::SqliteRef(conn), 20)?,
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
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        let recorded: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM revisions r JOIN pages p ON p.id = r.page_id
                 WHERE r.id = ?1 AND p.current_rev = r.rev AND p.links_rev = r.rev)",
            )
            .and_then(|mut stmt| stmt.query_row(params![sql_id(revision_id)], |row| row.get(0)))
            .map_err(doing("reading recorded links"))?;
        if !recorded {
            return Ok(None);
        }
        let pages = strings(
            conn,
            "SELECT target FROM links WHERE revision_id = ?1 ORDER BY target",
            revision_id,
        )?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT page, name FROM file_links WHERE revision_id = ?1 ORDER BY page, name",
            )
            .map_err(doing("reading recorded links"))?;
        let files = stmt
            .query_map(params![sql_id(revision_id)], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
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
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT revision_id, acl FROM revision_acls
                 WHERE revision_id > ?1 AND revision_id <= ?2",
            )
            .map_err(doing("reading recorded ACL lines"))?;
        let rows = stmt
            .query_map(params![sql_id(after), sql_id(upto)], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(doing("reading recorded ACL lines"))?;
        let mut lines = HashMap::new();
        for row in rows {
            let (id, line) = row.map_err(doing("reading recorded ACL lines"))?;
            lines.insert(u64::try_from(id).unwrap_or_default(), line);
        }
        Ok(lines)
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
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        conn.execute_batch(
            "BEGIN IMMEDIATE; DELETE FROM revision_acls; UPDATE acl_scan SET upto = 0; COMMIT;",
        )
        .map_err(|err| {
            let _ = conn.execute_batch("ROLLBACK");
            StorageError::sqlite("forgetting the ACL scan", err)
        })
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
pub(crate) fn disagreeing(
    conn: &mut impl crate::db::Sql,
    table: &str,
    expected: &str,
    limit: usize,
    doing_what: &'static str,
) -> Result<Vec<String>, StorageError> {
    // Every subquery named: PostgreSQL before 16 requires it.
    conn.query_map(
        &format!(
            "SELECT DISTINCT key FROM (
                 SELECT * FROM ({table} EXCEPT {expected}) AS extra
                 UNION ALL
                 SELECT * FROM ({expected} EXCEPT {table}) AS missing
             ) AS differing ORDER BY key LIMIT ?1"
        ),
        &[&crate::sql_count(limit)],
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
fn numbering(conn: &Connection, found: &mut Vec<Finding>) -> Result<(), StorageError> {
    let mut stmt = conn
        .prepare(
            "SELECT p.name, COUNT(*), MIN(r.rev), MAX(r.rev) FROM revisions r
             JOIN pages p ON p.id = r.page_id
             GROUP BY r.page_id HAVING MIN(r.rev) <> 1 OR MAX(r.rev) <> COUNT(*)",
        )
        .map_err(doing("checking revision numbers"))?;
    let gaps = stmt
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, i64>(3)?,
            ))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(doing("checking revision numbers"))?;
    for (page, count, first, last) in gaps {
        found.push(Finding::about(
            &page,
            format!("its revisions are numbered {first} to {last}, but there are {count}: some are missing"),
        ));
    }
    let mut stmt = conn
        .prepare(
            "SELECT p.name, b.rev FROM revisions a
             JOIN revisions b ON b.page_id = a.page_id AND b.rev = a.rev + 1
             JOIN pages p ON p.id = a.page_id
             WHERE b.id < a.id",
        )
        .map_err(doing("checking revision order"))?;
    let disorder = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(doing("checking revision order"))?;
    for (page, rev) in disorder {
        found.push(Finding::about(
            &page,
            format!("its revision {rev} was logged before the one it follows"),
        ));
    }
    Ok(())
}

fn strings(conn: &Connection, sql: &str, id: u64) -> Result<Vec<String>, StorageError> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(doing("reading recorded links"))?;
    stmt.query_map(params![sql_id(id)], |row| row.get(0))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(doing("reading recorded links"))
}
