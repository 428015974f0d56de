//! Which pages carry an access control line, kept so that the app can check any page, and filter any
//! listing (recent changes, search results, backlinks, orphans…), without reading page texts.
//!
//! Storage cannot read pragmas: the app parses each revision's `#acl` line and hands the lines over
//! ([`crate::Storage::record_acl_scan`]). Like the search index, this is derived data that catches up
//! from the revision log: `acl_scan.upto` is the highest revision id whose ACL line has been recorded,
//! and `revision_acls` holds a row for each revision up to there that *has* a line (few do). A
//! revision's text never changes, so a row never goes stale; a save, rename, delete or undelete makes
//! a new revision, which the next catch-up scans. Any process may catch up; concurrent scanners insert
//! the same rows.
//!
//! The ACL of a page is its *governing* revision's: the current one, or for a deleted page the newest
//! revision that is not the deletion, so that a deleted page's old revisions stay as protected as
//! they were. Its *history's* ACLs are those of all its revisions but deletions
//! ([`Storage::history_acl_lines`]): the app guards old revisions with every one of them, so that no
//! later line (or its absence, after a delete and a re-creation) opens what an earlier line hid.

use crate::db::{Engine, Sql, TxKind};
use crate::error::{doing, StorageError};
use crate::revision::to_u64;
use crate::Storage;

/// The revision whose ACL line governs page `p` (joined as `r`): the newest that is not a deletion.
const GOVERNING: &str = "r.rev = (SELECT MAX(g.rev) FROM revisions g
                                  WHERE g.page_id = p.id AND g.kind <> 'delete')";

/// A join whose order is the one written: SQLite's CROSS JOIN, which its planner never reorders.
/// PostgreSQL's CROSS JOIN takes no ON, and its planner, which has the tables' statistics, finds
/// the order from the few rows itself.
pub(crate) fn join_in_order(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "CROSS JOIN",
        Engine::Postgres => "JOIN",
    }
}

/// Every page whose governing revision has a recorded line, with the line. CROSS JOIN keeps the few
/// lines the outer loop: left to itself, SQLite scans every page and works out its governing
/// revision (a quarter of a second at 100 000 pages, on every request of a CGI process).
fn governing_lines_sql(engine: Engine) -> String {
    let join = join_in_order(engine);
    format!(
        "SELECT p.name, a.acl FROM revision_acls a
         {join} revisions r ON r.id = a.revision_id
         {join} pages p ON p.id = r.page_id AND {GOVERNING}"
    )
}

/// Every line of each revision, up to `?1`, of pages with a line in some revision; the pages found
/// from the lines (CROSS JOIN), not from every revision.
fn history_lines_sql(engine: Engine) -> String {
    let join = join_in_order(engine);
    format!(
        "SELECT DISTINCT p.name, a.acl FROM revisions r
         JOIN pages p ON p.id = r.page_id
         LEFT JOIN revision_acls a ON a.revision_id = r.id
         WHERE r.kind <> 'delete' AND r.id <= ?1
           AND r.page_id IN (SELECT h.page_id FROM revision_acls l
                             {join} revisions h ON h.id = l.revision_id)"
    )
}

/// The statement that moves a scan's mark to `?1` unless it is past it already (a two-argument
/// `max` is SQLite's only).
pub(crate) const RAISE_MARK: &str = "CASE WHEN upto < ?1 THEN ?1 ELSE upto END";

/// The pages whose governing revision has an ACL line, and those whose governing revision is newer
/// than the scan (the app reads those itself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclLines {
    /// Page name and its ACL line, for every page whose governing revision is scanned and has one.
    pub lines: Vec<(String, String)>,
    /// Page name and governing revision number of pages saved after the scan.
    pub unscanned: Vec<(String, u64)>,
}

impl Storage {
    /// The highest revision id whose ACL line is recorded: catch up with
    /// [`revisions_after`](Self::revisions_after) from here.
    pub fn acl_scan_mark(&self) -> Result<u64, StorageError> {
        let upto: i64 = self
            .pool
            .get()?
            .query_one("SELECT upto FROM acl_scan WHERE id = 1", &[], |row| {
                row.get(0)
            })
            .map_err(doing("reading the ACL scan mark"))?;
        to_u64("revision id", "", upto)
    }

    /// Records a scan of every revision up to id `upto`: `lines` are the (revision id, ACL line) of
    /// those among them that have a line. The mark only ever grows. Never waits for another
    /// process's lock on SQLite: [`StorageError::Busy`] at once, and the next reader records it.
    pub fn record_acl_scan(&self, upto: u64, lines: &[(u64, &str)]) -> Result<(), StorageError> {
        let mut pooled = self.pool.get_without_waiting()?;
        let mut tx = pooled
            .transaction(TxKind::Write)
            .map_err(doing("recording page ACLs"))?;
        for (id, line) in lines {
            tx.execute(
                "INSERT INTO revision_acls (revision_id, acl) VALUES (?1, ?2)
                 ON CONFLICT DO NOTHING",
                &[&sql_id(*id), line],
            )
            .map_err(doing("recording page ACLs"))?;
        }
        tx.execute(
            &format!("UPDATE acl_scan SET upto = {RAISE_MARK} WHERE id = 1"),
            &[&sql_id(upto)],
        )
        .map_err(doing("recording page ACLs"))?;
        tx.commit().map_err(doing("recording page ACLs"))
    }

    /// Every page's ACL line as far as the scan up to `mark` knows, and the pages it does not know yet.
    /// Costs in proportion to the pages with a line, not to the wiki.
    pub fn acl_lines(&self, mark: u64) -> Result<AclLines, StorageError> {
        let mut conn = self.pool.get()?;
        let engine = conn.engine();
        let lines = conn
            .query_map(&governing_lines_sql(engine), &[], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .map_err(doing("reading page ACLs"))?;
        let unscanned: Vec<(String, i64)> = conn
            .query_map(
                &format!(
                    "SELECT p.name, r.rev FROM revisions r
                     JOIN pages p ON p.id = r.page_id AND {GOVERNING}
                     WHERE r.id > ?1"
                ),
                &[&sql_id(mark)],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(doing("reading page ACLs"))?;
        let mut found = AclLines {
            lines,
            unscanned: Vec::with_capacity(unscanned.len()),
        };
        for (name, rev) in unscanned {
            let rev = to_u64("revision", &name, rev)?;
            found.unscanned.push((name, rev));
        }
        Ok(found)
    }
}

impl Storage {
    /// Every ACL a page's revisions had, for each page with an ACL line in some revision scanned up to
    /// `mark`: each distinct line, and `None` when some revision had no line (the default governed
    /// it). Deletions, which have no text, are not counted. Pages absent from the answer never had a
    /// line in a scanned revision. Costs in proportion to the revisions of pages that had a line.
    pub fn history_acl_lines(
        &self,
        mark: u64,
    ) -> Result<Vec<(String, Option<String>)>, StorageError> {
        let mut conn = self.pool.get()?;
        let sql = history_lines_sql(conn.engine());
        conn.query_map(&sql, &[&sql_id(mark)], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(doing("reading the ACLs of page histories"))
    }
}

/// A revision id as both engines store it (a signed 64-bit integer).
pub(crate) fn sql_id(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use crate::db::{Param, Sql, TxKind};
    use crate::{Engine, Save, Storage};

    pub(crate) use crate::db::testing::each_storage;

    /// Creates the account `name`, with the address `email` (may be empty).
    pub(crate) fn account(storage: &Storage, name: &str, email: &str) {
        storage
            .create_user(&crate::NewUser {
                name,
                display_name: None,
                email,
                role: crate::Role::User,
                password: "correct horse battery",
                invite: None,
                reserved: &[],
            })
            .unwrap();
    }

    /// Writes the next revision of `page` (created if missing), of `kind` (`edit`, `delete`…) by
    /// `author` at `time`, and makes it current, the page deleted after a `delete` and live after
    /// anything else: what the save path leaves in `pages` and `revisions`, written with plain SQL
    /// so that tests of what only reads those tables (ACL and group scans, attachments, watches,
    /// the mail queue) run on both engines whatever the save path runs on. The body is empty.
    /// Returns the revision's id and number.
    pub(crate) fn put(
        storage: &Storage,
        page: &str,
        author: &str,
        kind: &str,
        time: i64,
    ) -> (i64, u64) {
        let empty: &[u8] = &[];
        let body: &dyn Param = match storage.engine() {
            Engine::Sqlite => &"",
            Engine::Postgres => &empty,
        };
        let mut pooled = storage.pool.get().unwrap();
        let mut tx = pooled.transaction(TxKind::Write).unwrap();
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
                "INSERT INTO revisions (page_id, rev, author, time, comment, size, size_delta,
                     format, body, kind)
                 VALUES (?1, ?2, ?3, ?4, '', 0, 0, 'plain', ?5, ?6) RETURNING id",
                &[&page_id, &rev, &author, &time, body, &kind],
                |row| row.get(0),
            )
            .unwrap();
        tx.execute(
            "UPDATE pages SET current_rev = ?2, links_rev = ?2, deleted = ?3 WHERE id = ?1",
            &[&page_id, &rev, &(kind == "delete")],
        )
        .unwrap();
        tx.commit().unwrap();
        (id, rev)
    }

    /// Saves `text` as the next revision of `page`.
    pub(crate) fn save(storage: &Storage, page: &str, text: &str) {
        storage
            .save(Save {
                page,
                text,
                author: "t",
                comment: "",
                base_rev: storage.current(page).unwrap().map(|r| r.meta.rev),
                time: None,
            })
            .unwrap();
    }

    /// How many rows `sql` steps through in full scans, run to the end with `params`.
    pub(crate) fn full_scan_steps(
        storage: &Storage,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
    ) -> i32 {
        statement_status(
            storage,
            sql,
            params,
            rusqlite::StatementStatus::FullscanStep,
        )
    }

    /// The counter `status` of `sql` run to the end with `params` (full-scan steps, VM steps…).
    pub(crate) fn statement_status(
        storage: &Storage,
        sql: &str,
        params: &[&dyn rusqlite::ToSql],
        status: rusqlite::StatementStatus,
    ) -> i32 {
        let pooled = storage.pool.get().unwrap();
        let conn = pooled.sqlite().unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        let mut rows = stmt.query(params).unwrap();
        while rows.next().unwrap().is_some() {}
        drop(rows);
        stmt.get_status(status)
    }

    /// SQLite's plan for `sql`, a line per step (`SEARCH t USING COVERING INDEX i (a=?)`).
    pub(crate) fn query_plan(storage: &Storage, sql: &str) -> String {
        let pooled = storage.pool.get().unwrap();
        let conn = pooled.sqlite().unwrap();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        // Parameters left unbound: the plan does not depend on them.
        let mut rows = stmt.raw_query();
        let mut lines = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            lines.push(row.get::<_, String>(3).unwrap());
        }
        lines.join("\n")
    }

    /// SQLite only: it counts SQLite's full-scan steps.
    #[test]
    fn reading_the_lines_costs_the_pages_with_lines_not_every_page() {
        let storage = Storage::open_in_memory().unwrap();
        for n in 0..300 {
            save(&storage, &format!("Page{n}"), "open to all");
        }
        save(&storage, "Secret", "#acl All:\nhidden");
        storage.record_acl_scan(301, &[(301, "All:")]).unwrap();
        assert_eq!(storage.acl_lines(301).unwrap().lines.len(), 1);
        let governing = super::governing_lines_sql(Engine::Sqlite);
        assert!(full_scan_steps(&storage, &governing, &[]) < 10);
        let history = super::history_lines_sql(Engine::Sqlite);
        assert!(full_scan_steps(&storage, &history, &[&301_i64]) < 10);
    }

    /// A revision of `page` by "t" (see [`put`]: the ACL line itself is the app's to read, so
    /// the text does not matter here).
    fn edit(storage: &Storage, page: &str) {
        put(storage, page, "t", "edit", 1);
    }

    fn delete(storage: &Storage, page: &str) {
        put(storage, page, "t", "delete", 1);
    }

    #[test]
    fn lines_follow_the_current_revision_and_unscanned_pages_are_named() {
        for storage in each_storage() {
            let engine = storage.engine();
            edit(&storage, "Open");
            edit(&storage, "Secret");
            assert_eq!(storage.acl_scan_mark().unwrap(), 0);
            let lines = storage.acl_lines(0).unwrap();
            assert!(lines.lines.is_empty(), "{engine}");
            assert_eq!(lines.unscanned.len(), 2, "{engine}");

            storage.record_acl_scan(2, &[(2, "All:")]).unwrap();
            assert_eq!(storage.acl_scan_mark().unwrap(), 2);
            let lines = storage.acl_lines(2).unwrap();
            assert_eq!(lines.lines, [("Secret".to_owned(), "All:".to_owned())]);
            assert!(lines.unscanned.is_empty(), "{engine}");

            // A newer revision without a line: the old line no longer governs, the page is
            // unscanned.
            edit(&storage, "Secret");
            let lines = storage.acl_lines(2).unwrap();
            assert!(lines.lines.is_empty(), "{engine}");
            assert_eq!(lines.unscanned, [("Secret".to_owned(), 2)], "{engine}");

            // The mark never goes back, and a scan recorded twice is no error.
            storage.record_acl_scan(3, &[]).unwrap();
            storage.record_acl_scan(1, &[]).unwrap();
            storage.record_acl_scan(2, &[(2, "All:")]).unwrap();
            assert_eq!(storage.acl_scan_mark().unwrap(), 3, "{engine}");
        }
    }

    #[test]
    fn a_history_has_every_line_its_revisions_had() {
        for storage in each_storage() {
            let engine = storage.engine();
            edit(&storage, "Open");
            edit(&storage, "Secret"); // "#acl All:"
            delete(&storage, "Secret");
            edit(&storage, "Secret"); // no line
            edit(&storage, "Secret"); // "#acl Known:read"
            storage
                .record_acl_scan(5, &[(2, "All:"), (5, "Known:read")])
                .unwrap();
            let mut lines = storage.history_acl_lines(5).unwrap();
            lines.sort();
            let secret = |line: Option<&str>| ("Secret".to_owned(), line.map(str::to_owned));
            assert_eq!(
                lines,
                [
                    secret(None),
                    secret(Some("All:")),
                    secret(Some("Known:read"))
                ],
                "{engine}: the deletion (revision 3) is no line-less revision"
            );
            assert_eq!(
                storage.history_acl_lines(2).unwrap(),
                [secret(Some("All:"))],
                "{engine}"
            );
        }
    }

    #[test]
    fn a_deleted_page_keeps_the_line_of_its_last_text() {
        for storage in each_storage() {
            let engine = storage.engine();
            edit(&storage, "Secret");
            storage.record_acl_scan(1, &[(1, "All:")]).unwrap();
            delete(&storage, "Secret");
            let lines = storage.acl_lines(1).unwrap();
            assert_eq!(
                lines.lines,
                [("Secret".to_owned(), "All:".to_owned())],
                "{engine}"
            );
            assert!(
                lines.unscanned.is_empty(),
                "{engine}: the deletion is not what governs"
            );
        }
    }
}
