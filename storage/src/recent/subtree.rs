//! Recent changes under a prefix: the histories of the subtree's pages merged, newest first.
//!
//! Every page row keeps `last_change`, the id of its newest revision (migration 21). A trigger on
//! `revisions` sets it in the transaction that writes the revision, so no write path can forget
//! it, and `quire check` compares it with the revisions. Within a page, revision numbers rise with
//! ids (each revision is appended as the current number plus one under the write lock, and ids are
//! AUTOINCREMENT; `quire check` checks this too), so a page's history, newest first, is its
//! `(page_id, rev)` index read backwards. A page's newest change below the cursor is its *head*.
//!
//! The newest N changes under a prefix come from the N subtree pages with the newest heads: any
//! other page's head is older than those N heads, which are changes themselves. So:
//!
//! 1. *Heads*: the N subtree pages with the newest heads. A subtree that is one whole first path
//!    segment (`Team/`, the usual case) has them from the index by first segment and newest change
//!    (migration 22, `pages (substr(name, 1, instr(name, '/')), last_change)`), read newest first:
//!    as no page's head is newer than its newest change, the walk stops once N heads are newer
//!    than the next page's newest change, about N rows from the start with no cursor and no author
//!    filter, however large the subtree; it never reads more than the subtree's pages. A deeper or
//!    partial prefix (`Team/Notes/`, `Te`) goes through two other indexes of `pages`. A
//!    subtree of up to [`REACH`]`.subtree` pages is read whole by `(name, deleted, last_change)`,
//!    one covering-index row a page, the newest N kept in a heap. A larger one tries the pages
//!    changed last first, newest first by `(last_change, name)`, those in the subtree kept, for at
//!    most [`REACH`]`.window` pages: enough when the subtree changed lately, whatever else changed
//!    more often (a page saved 100 000 times is one entry here, where it was 100 000 in the log).
//!    That walk stops once N heads are newer than the next page's newest change; when the window
//!    ends first, the rest of the subtree is read by name.
//! 2. *Merge*: the heads in a heap; the newest is popped and its page's changes read from it, newest
//!    first through the `(page_id, rev)` index, as long as they are newer than the next head: those
//!    are shown, and the first that is not goes back into the heap, read already, until N are shown.
//!    So a run of changes to one page costs one statement, and N changes at most N.
//!
//! A page of changes under a prefix thus costs about a covering-index row per change shown for a
//! first segment (one per subtree page for a deeper prefix, or a bounded walk of the pages changed
//! last, for a large subtree that changed lately) and a row per change shown, however long the log and the histories: not the 18 000 revisions of a subtree of
//! 2 000 pages sorted, nor a log of 100 000 changes to another page walked. A page changed since
//! the cursor (its `last_change` at or above `before`) finds its head by walking its index down
//! past those changes, so paging deep costs the changes paged past in such pages (and, in a first
//! segment's walk, a row for each page changed since the cursor). An author filter
//! applies to every history: a head is the page's newest change by the author below the cursor,
//! and the runs are of the author's changes. These walks read each revision's author from its row,
//! so an author with a subtree costs the subtree's revisions down to the author's newest in each
//! page (tens of milliseconds for 18 000 revisions): no index holds a page's changes by author.
//! A first segment's walk then reads the subtree's pages until the author's heads settle it: all of
//! them for an author who rarely wrote there, as the walk by name does.
//!
//! A renamed page is listed under its name now, with its whole history (the history follows the
//! page row); a deleted page with its history and its deletion: what the log walk shows. The
//! statements read one snapshot (a read transaction), so a save meanwhile cannot show a row twice
//! or move a page out of the subtree halfway.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rusqlite::{Connection, Statement, StatementStatus, ToSql, Transaction};

use super::change_row;
use crate::db::{DbError, Sql, SqliteRef};
use crate::error::{doing, StorageError};
use crate::revision::META_COLUMNS;
use crate::{sql_count, Change};

/// The index a first segment's heads are read from (migration 22): each page's first path segment
/// with its `/` (empty for a page at the root), and its newest change. [`first_segment_sql`] names
/// the same expression; a test checks that SQLite finds the index for it.
pub(crate) const FIRST_SEGMENT_INDEX: &str =
    "CREATE INDEX pages_by_first_segment ON pages (substr(name, 1, instr(name, '/')), last_change);";

/// Whether `prefix` is one whole first path segment with its `/` (`Team/`): then the names under it
/// are exactly those whose first segment it is.
fn is_first_segment(prefix: &str) -> bool {
    prefix
        .strip_suffix('/')
        .is_some_and(|segment| !segment.contains('/'))
}

/// Each page's newest revision id, as the revisions give it.
const EXPECTED: &str =
    "COALESCE((SELECT MAX(r.id) FROM revisions r WHERE r.page_id = pages.id), 0)";

/// Sets every page's `last_change` from its revisions: for `quire check --repair`.
pub(crate) fn rebuild_last_changes(conn: &mut impl Sql) -> Result<(), DbError> {
    conn.execute(&format!("UPDATE pages SET last_change = {EXPECTED}"), &[])?;
    Ok(())
}

/// [`rebuild_last_changes`] as SQLite's migration 21 runs it (migrations before the seam's are
/// SQLite's alone).
pub(crate) fn fill_last_changes(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    rebuild_last_changes(&mut SqliteRef(tx)).map_err(crate::link_names::as_rusqlite)
}

/// The pages whose `last_change` is not their newest revision's id, at most `limit`, by name.
pub(crate) fn stale_last_changes(
    conn: &Connection,
    limit: usize,
) -> Result<Vec<String>, StorageError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT name FROM pages WHERE last_change <> {EXPECTED} ORDER BY name LIMIT ?1"
        ))
        .map_err(doing("checking the pages' newest changes"))?;
    let rows = stmt
        .query_map([sql_count(limit)], |row| row.get(0))
        .map_err(doing("checking the pages' newest changes"))?;
    rows.collect::<Result<_, _>>()
        .map_err(doing("checking the pages' newest changes"))
}

/// How far each way to the heads goes before the next one is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reach {
    /// The subtree's pages read by name before the recently changed pages are tried.
    pub(crate) subtree: i64,
    /// The most recently changed pages walked.
    pub(crate) window: i64,
}

/// What [`crate::Storage::recent`] uses: a subtree of up to 3 000 pages is read whole (a few
/// tenths of a millisecond), a larger one tries the 2 000 pages changed last first (a tenth).
pub(crate) const REACH: Reach = Reach {
    subtree: 3_000,
    window: 2_000,
};

/// Room made ahead for heads and rows: a page's worth; a caller may ask for "all" with a huge limit.
const PREALLOCATED: usize = 1_000;

/// Which changes: those below `before` to pages under `prefix` (not empty), by `author` if given.
pub(crate) struct Filter<'a> {
    pub(crate) prefix: &'a str,
    pub(crate) author: Option<&'a str>,
    pub(crate) before: i64,
    pub(crate) limit: usize,
}

/// What a listing cost SQLite, summed over its statements: what tests count instead of timing.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cost {
    /// Virtual-machine steps.
    pub(crate) vm_steps: i64,
    /// Rows stepped through in full scans of a table or index.
    pub(crate) full_scan_steps: i64,
}

impl Cost {
    /// Adds what `stmt` did since it was last counted.
    fn count(&mut self, stmt: &Statement<'_>) {
        self.vm_steps += i64::from(stmt.reset_status(StatementStatus::VmStep));
        self.full_scan_steps += i64::from(stmt.reset_status(StatementStatus::FullscanStep));
    }
}

/// The page is in the subtree `?2` (with [`ABOVE_PREFIX`] or [`AFTER_NAME`] below): every name
/// that starts with the prefix sorts at or after it and before it followed by the last code point
/// (names compare as UTF-8 bytes), and no other name does. A range of the name index, no pattern:
/// `%` and `_` are no wildcards.
const BELOW_SUBTREE_END: &str = "p.name < ?2 || char(1114111)";
const ABOVE_PREFIX: &str = "p.name >= ?2";
/// Only the names after `?5`, a name in the subtree.
const AFTER_NAME: &str = "p.name > ?5";

/// Which changes the heads are of: by an author or anyone's, below a cursor or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heads {
    ByAuthor,
    BelowCursor,
    Newest,
}

impl Heads {
    fn of(filter: &Filter<'_>) -> Heads {
        match (filter.author, filter.before) {
            (Some(_), _) => Heads::ByAuthor,
            (None, i64::MAX) => Heads::Newest,
            (None, _) => Heads::BelowCursor,
        }
    }

    /// The head of page `p`: its newest change below `?1` (by author `?4`), or NULL. The author
    /// is no index term (`+`): the page's history read backwards is the way, however many changes
    /// the author made elsewhere, and SQLite would otherwise take the author's index for some
    /// statements.
    fn sql(self) -> &'static str {
        match self {
            Heads::ByAuthor => {
                "(SELECT r.id FROM revisions r
                  WHERE r.page_id = p.id AND r.id < ?1 AND +r.author = ?4
                  ORDER BY r.rev DESC LIMIT 1)"
            }
            Heads::BelowCursor => {
                "CASE WHEN p.last_change < ?1 THEN p.last_change ELSE
                     (SELECT r.id FROM revisions r WHERE r.page_id = p.id AND r.id < ?1
                      ORDER BY r.rev DESC LIMIT 1) END"
            }
            Heads::Newest => "p.last_change",
        }
    }
}

/// The `?3` most recently changed pages, newest first, those in the subtree with their heads. The
/// bound is the newest change of the page after them, so that the rows come in the index's order
/// (a subquery with a LIMIT would need an outer ORDER BY, and SQLite would sort the whole window
/// before the first row).
fn recently_changed_sql(heads: Heads) -> String {
    format!(
        "SELECT p.id, {head}, p.last_change FROM pages p INDEXED BY pages_by_last_change
         WHERE p.last_change > COALESCE(
                   (SELECT last_change FROM pages INDEXED BY pages_by_last_change
                    ORDER BY last_change DESC LIMIT 1 OFFSET ?3), 0)
           AND {ABOVE_PREFIX} AND {BELOW_SUBTREE_END}
         ORDER BY p.last_change DESC",
        head = heads.sql()
    )
}

/// The pages whose first path segment is `?2`, newest change first, with their heads.
fn first_segment_sql(heads: Heads) -> String {
    format!(
        "SELECT p.id, {head}, p.last_change FROM pages p INDEXED BY pages_by_first_segment
         WHERE substr(p.name, 1, instr(p.name, '/')) = ?2
         ORDER BY p.last_change DESC",
        head = heads.sql()
    )
}

/// At most `?3` pages of the subtree (all for -1) with their heads, by name, from its start or
/// `after` the name `?5`.
fn subtree_heads_sql(heads: Heads, after: bool) -> String {
    format!(
        "SELECT p.id, {head} FROM pages p INDEXED BY pages_listed_by_name
         WHERE {lower} AND {BELOW_SUBTREE_END}
         ORDER BY p.name LIMIT ?3",
        head = heads.sql(),
        lower = if after { AFTER_NAME } else { ABOVE_PREFIX },
    )
}

/// Page `?1`'s changes (by author `?3`), newest first, from change `?2` on (`from`) or from the
/// one before it.
fn history_sql(author: bool, from: bool) -> String {
    let op = if from { "<=" } else { "<" };
    let author = if author { "AND r.author = ?3" } else { "" };
    format!(
        "SELECT {META_COLUMNS}, r.size_delta, r.id FROM revisions r
         JOIN pages p ON p.id = r.page_id
         WHERE r.page_id = ?1 AND r.rev {op} (SELECT rev FROM revisions WHERE id = ?2) {author}
         ORDER BY r.rev DESC"
    )
}

/// The changes `filter` asks for, newest first, the ways to the heads going as far as `reach`
/// says. What SQLite did is added to `cost`.
pub(crate) fn changes(
    conn: &Connection,
    filter: &Filter<'_>,
    reach: Reach,
    cost: &mut Cost,
) -> Result<Vec<Change>, StorageError> {
    if filter.limit == 0 {
        return Ok(Vec::new());
    }
    // One snapshot for every statement; only read, so dropping it (a rollback) is its end.
    let snapshot = conn
        .unchecked_transaction()
        .map_err(doing("reading recent changes"))?;
    let newest = if is_first_segment(filter.prefix) {
        // Settled or not, the walk has read every page of the segment it had to.
        let sql = first_segment_sql(Heads::of(filter));
        newest_first(&snapshot, &sql, filter, -1, cost)?.0
    } else {
        by_name_or_recently_changed(&snapshot, filter, reach, cost)?
    };
    merge(&snapshot, filter, newest.pages(), cost)
}

/// The heads of a subtree other than a first segment: read by name when it is small, else from the
/// pages changed last when they settle them, else by name after all.
fn by_name_or_recently_changed(
    conn: &Connection,
    filter: &Filter<'_>,
    reach: Reach,
    cost: &mut Cost,
) -> Result<Newest, StorageError> {
    let mut newest = Newest::new(filter.limit);
    let mut read = Subtree::default();
    subtree_heads(conn, filter, reach.subtree, &mut read, &mut newest, cost)?;
    if read.more {
        let sql = recently_changed_sql(Heads::of(filter));
        match newest_first(conn, &sql, filter, reach.window, cost)? {
            (settled, true) => newest = settled,
            (_, false) => subtree_heads(conn, filter, -1, &mut read, &mut newest, cost)?,
        }
    }
    Ok(newest)
}

/// A page's head: its newest change (that the filter lets through), and the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Head {
    change: i64,
    page: i64,
}

/// The newest `limit` heads seen so far.
struct Newest {
    limit: usize,
    /// The oldest of them on top.
    heads: BinaryHeap<Reverse<Head>>,
}

impl Newest {
    fn new(limit: usize) -> Newest {
        Newest {
            limit,
            heads: BinaryHeap::with_capacity(limit.min(PREALLOCATED) + 1),
        }
    }

    fn offer(&mut self, head: Head) {
        if self.all_newer_than(head.change) {
            return;
        }
        self.heads.push(Reverse(head));
        if self.heads.len() > self.limit {
            self.heads.pop();
        }
    }

    /// All `limit` are newer than `change`.
    fn all_newer_than(&self, change: i64) -> bool {
        self.heads.len() == self.limit && self.heads.peek().is_some_and(|o| o.0.change > change)
    }

    fn pages(self) -> Vec<Head> {
        self.heads.into_iter().map(|Reverse(head)| head).collect()
    }
}

/// Binds `?1` to `?5` as the heads' statements name them, as far as `stmt` names them.
fn bind(
    stmt: &mut Statement<'_>,
    filter: &Filter<'_>,
    count: i64,
    after: &str,
) -> rusqlite::Result<()> {
    let bound: [&dyn ToSql; 5] = [
        &filter.before,
        &filter.prefix,
        &count,
        &filter.author,
        &after,
    ];
    for (i, value) in bound.iter().take(stmt.parameter_count()).enumerate() {
        stmt.raw_bind_parameter(i + 1, value)?;
    }
    Ok(())
}

/// A page and its head as the heads' statements give them: id, head (or NULL).
fn head_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Head>> {
    let page = row.get(0)?;
    Ok(row
        .get::<_, Option<i64>>(1)?
        .map(|change| Head { change, page }))
}

/// The heads from `sql`'s pages, which come newest change first, `count` bound as `?3`; and
/// whether they settle them: whether a page was left unread whose newest change is older than
/// all of them (so none of the pages after it, read or not, has a newer head).
fn newest_first(
    conn: &Connection,
    sql: &str,
    filter: &Filter<'_>,
    count: i64,
    cost: &mut Cost,
) -> Result<(Newest, bool), StorageError> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(doing("reading recent changes"))?;
    bind(&mut stmt, filter, count, "").map_err(doing("reading recent changes"))?;
    let mut newest = Newest::new(filter.limit);
    let mut settled = false;
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next().map_err(doing("reading recent changes"))? {
        let last_change: i64 = row.get(2).map_err(doing("reading recent changes"))?;
        // No page from here on has a change newer than its `last_change`.
        if newest.all_newer_than(last_change) {
            settled = true;
            break;
        }
        if let Some(head) = head_row(row).map_err(doing("reading recent changes"))? {
            newest.offer(head);
        }
    }
    drop(rows);
    cost.count(&stmt);
    Ok((newest, settled))
}

/// How far [`subtree_heads`] has read the subtree.
#[derive(Default)]
struct Subtree {
    /// The last name read; empty before the first.
    last: String,
    /// Whether it stopped at its count: more pages may follow.
    more: bool,
}

/// The heads of `count` more pages of the subtree (all for -1) after those `read`, offered to
/// `newest` (kept in Rust rather than sorted by SQLite: a sorter costs more, row for row).
fn subtree_heads(
    conn: &Connection,
    filter: &Filter<'_>,
    count: i64,
    read: &mut Subtree,
    newest: &mut Newest,
    cost: &mut Cost,
) -> Result<(), StorageError> {
    let mut stmt = conn
        .prepare_cached(&subtree_heads_sql(Heads::of(filter), !read.last.is_empty()))
        .map_err(doing("reading recent changes"))?;
    bind(&mut stmt, filter, count, &read.last).map_err(doing("reading recent changes"))?;
    let mut pages = 0;
    let mut last_page = 0;
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next().map_err(doing("reading recent changes"))? {
        last_page = row.get(0).map_err(doing("reading recent changes"))?;
        if let Some(head) = head_row(row).map_err(doing("reading recent changes"))? {
            newest.offer(head);
        }
        pages += 1;
    }
    drop(rows);
    cost.count(&stmt);
    read.more = pages == count;
    if read.more {
        // Where to go on from: its name, looked up once rather than read on every row.
        let mut stmt = conn
            .prepare_cached("SELECT name FROM pages WHERE id = ?1")
            .map_err(doing("reading recent changes"))?;
        read.last = stmt
            .query_row([last_page], |row| row.get(0))
            .map_err(doing("reading recent changes"))?;
        cost.count(&stmt);
    }
    Ok(())
}

/// The pages' histories merged from their heads, newest first, up to the limit. A page's changes
/// are read in runs: those newer than every other page's next change are shown as they come, and
/// the first that is not waits in the queue, read already; so a page edited many times in a row
/// costs one statement, not one per change.
fn merge(
    conn: &Connection,
    filter: &Filter<'_>,
    heads: Vec<Head>,
    cost: &mut Cost,
) -> Result<Vec<Change>, StorageError> {
    let author = filter.author.is_some();
    let mut from = conn
        .prepare_cached(&history_sql(author, true))
        .map_err(doing("reading recent changes"))?;
    let mut older = conn
        .prepare_cached(&history_sql(author, false))
        .map_err(doing("reading recent changes"))?;
    // Each page's next change, newest on top, with the page's place in `waiting`: the change, if
    // read already (a head is not).
    let mut queue: BinaryHeap<(i64, usize)> = BinaryHeap::with_capacity(heads.len());
    let mut waiting: Vec<Option<Change>> = Vec::with_capacity(heads.len());
    for (place, head) in heads.iter().enumerate() {
        queue.push((head.change, place));
        waiting.push(None);
    }
    let mut found = Vec::with_capacity(filter.limit.min(PREALLOCATED));
    while found.len() < filter.limit {
        let Some((change, place)) = queue.pop() else {
            break;
        };
        let stmt = match waiting[place].take() {
            Some(read) => {
                found.push(read);
                &mut older
            }
            None => &mut from,
        };
        // Changes of this page newer than this bound come before any other page's.
        let bound = queue.peek().map_or(0, |&(next, _)| next);
        let bound_params: [&dyn ToSql; 3] = [&heads[place].page, &change, &filter.author];
        for (i, value) in bound_params.iter().take(stmt.parameter_count()).enumerate() {
            stmt.raw_bind_parameter(i + 1, value)
                .map_err(doing("reading recent changes"))?;
        }
        let mut rows = stmt.raw_query();
        while found.len() < filter.limit {
            let Some(row) = rows.next().map_err(doing("reading recent changes"))? else {
                break;
            };
            let read = change_row(row)
                .map_err(doing("reading recent changes"))?
                .check()?;
            let id = i64::try_from(read.id).unwrap_or(i64::MAX);
            if id < bound {
                queue.push((id, place));
                waiting[place] = Some(read);
                break;
            }
            found.push(read);
        }
    }
    cost.count(&from);
    cost.count(&older);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::page_acls::tests::{query_plan, save};
    use crate::{Rename, Save, Storage};

    /// The changes under `prefix` below `before` (by `author`), as `(id, page)`, and their cost.
    fn listed(
        storage: &Storage,
        prefix: &str,
        author: Option<&str>,
        before: i64,
        limit: usize,
        reach: Reach,
    ) -> (Vec<(u64, String)>, Cost) {
        let pooled = storage.pool.get().unwrap();
        let conn = pooled.sqlite().unwrap();
        let filter = Filter {
            prefix,
            author,
            before,
            limit,
        };
        let mut cost = Cost::default();
        let found = changes(conn, &filter, reach, &mut cost).unwrap();
        let found = found.into_iter().map(|c| (c.id, c.meta.page)).collect();
        (found, cost)
    }

    /// What a plain walk of the log gives for the same question.
    fn expected(
        storage: &Storage,
        prefix: &str,
        author: Option<&str>,
        before: i64,
        limit: usize,
    ) -> Vec<(u64, String)> {
        let pooled = storage.pool.get().unwrap();
        let conn = pooled.sqlite().unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT r.id, p.name FROM revisions r JOIN pages p ON p.id = r.page_id
                 WHERE r.id < ?1 AND substr(p.name, 1, length(?2)) = ?2
                   AND (?3 IS NULL OR r.author = ?3)
                 ORDER BY r.id DESC LIMIT ?4",
            )
            .unwrap();
        stmt.query_map(
            rusqlite::params![before, prefix, author, sql_count(limit)],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    fn names(found: &[(u64, String)]) -> Vec<&str> {
        found.iter().map(|(_, page)| page.as_str()).collect()
    }

    #[test]
    fn a_subtree_that_rarely_changes_costs_its_pages_and_rows_not_the_log_behind_them() {
        // Below a first segment: a whole one is read by its segment (the next tests but one).
        let storage = Storage::open_in_memory().unwrap();
        save(&storage, "Team/Notes/Old", "x");
        save(&storage, "Team/Notes/Older", "x");
        for rev in 0..300 {
            save(&storage, "Busy", &format!("{rev}"));
        }
        save(&storage, "Team/Notes/New", "x");
        for page in 0..50 {
            save(&storage, &format!("Other{page}"), "x");
        }
        let list = |storage: &Storage, before, limit, reach| {
            listed(storage, "Team/Notes/", None, before, limit, reach)
        };
        // Read whole; or, taken for a large one, settled by the pages changed last; or, with a
        // window of 10 pages (all outside the subtree), read whole after all.
        let large = |window| Reach { subtree: 1, window };
        for reach in [REACH, large(100), large(10)] {
            let (first, _) = list(&storage, i64::MAX, 2, reach);
            assert_eq!(names(&first), ["Team/Notes/New", "Team/Notes/Older"]);
            let (next, _) = list(&storage, first[1].0 as i64, 2, reach);
            assert_eq!(names(&next), ["Team/Notes/Old"]);
        }
        // Any number of them: all three.
        let (all, _) = list(&storage, i64::MAX, usize::MAX, REACH);
        assert_eq!(
            names(&all),
            ["Team/Notes/New", "Team/Notes/Older", "Team/Notes/Old"]
        );
        let (_, small) = list(&storage, i64::MAX, 2, REACH);
        let (_, unsettled) = list(&storage, i64::MAX, 2, large(10));
        let (_, paging) = list(&storage, 2, 2, large(10));
        // A thousand more changes to one page and a hundred more pages changed, all since: the
        // same steps, and no full scan but the window's.
        for rev in 300..1_300 {
            save(&storage, "Busy", &format!("{rev}"));
        }
        for page in 50..150 {
            save(&storage, &format!("Other{page}"), "x");
        }
        assert_eq!(list(&storage, i64::MAX, 2, REACH).1, small);
        assert_eq!(list(&storage, i64::MAX, 2, large(10)).1, unsettled);
        assert_eq!(list(&storage, 2, 2, large(10)).1, paging);
        assert_eq!(small.full_scan_steps, 0, "{small:?}");
        assert!(unsettled.full_scan_steps <= 10, "{unsettled:?}");
        let (by_nobody, _) = listed(&storage, "Team/Notes/", Some("nobody"), i64::MAX, 2, REACH);
        assert!(by_nobody.is_empty());
    }

    #[test]
    fn a_subtree_changed_lately_costs_the_rows_shown_not_its_size() {
        // Below a first segment, as above.
        let storage = Storage::open_in_memory().unwrap();
        let mut costs = Vec::new();
        for size in [100, 400] {
            for page in 0..size {
                save(&storage, &format!("Team/Notes/P{size}-{page}"), "x");
                save(&storage, &format!("Other{page}"), "x");
            }
            // Taken for a large subtree, settled by a window of 50 pages at either size.
            let reach = Reach {
                subtree: 10,
                window: 50,
            };
            let (found, cost) = listed(&storage, "Team/Notes/", None, i64::MAX, 5, reach);
            assert_eq!(found, expected(&storage, "Team/Notes/", None, i64::MAX, 5));
            costs.push(cost);
        }
        assert_eq!(costs[0], costs[1]);
    }

    #[test]
    fn a_first_segment_s_heads_cost_the_rows_shown_not_its_size() {
        let storage = Storage::open_in_memory().unwrap();
        // Neighbours of `Team/` by name, at the root and below other segments: none is under it.
        for page in ["Team", "Team.", "Teams/A", "Tea/m", "Z"] {
            save(&storage, page, "x");
        }
        let mut costs = Vec::new();
        let mut pages = 0;
        for size in [100, 2_000] {
            while pages < size {
                save(&storage, &format!("Team/P{pages}"), "x");
                save(&storage, &format!("Team/P{pages}/Sub"), "x");
                save(&storage, &format!("Other{pages}"), "x");
                pages += 1;
            }
            // A few pages of the subtree changed again, among changes elsewhere.
            for page in [3, 1, 4, 1, 5] {
                save(&storage, &format!("Team/P{page}"), &format!("{size}"));
                save(&storage, "Teams/A", &format!("{size}"));
            }
            let mut cost_at_size = Vec::new();
            for author in [None, Some("t")] {
                let mut before = i64::MAX;
                for _ in 0..3 {
                    let (found, cost) = listed(&storage, "Team/", author, before, 5, REACH);
                    assert_eq!(found, expected(&storage, "Team/", author, before, 5));
                    assert_eq!(cost.full_scan_steps, 0, "{cost:?}");
                    cost_at_size.push(cost);
                    before = found[4].0 as i64;
                }
            }
            costs.push(cost_at_size);
        }
        // Twenty times the subtree (4 000 pages, past the by-name reach), the same steps: from the
        // newest, paging on, and by an author.
        assert_eq!(costs[0], costs[1]);
        // A deeper prefix goes by name: the subtree read whole.
        let (found, deep) = listed(&storage, "Team/P1", None, i64::MAX, 5, REACH);
        assert_eq!(found, expected(&storage, "Team/P1", None, i64::MAX, 5));
        assert!(deep.vm_steps > costs[1][0].vm_steps, "{deep:?}");
    }

    #[test]
    fn only_a_whole_first_segment_is_read_by_its_segment() {
        for (prefix, whole) in [
            ("Team/", true),
            ("/", true),
            ("Team", false),
            ("Te", false),
            ("Team/Notes/", false),
            ("Team/Notes", false),
            ("/Team/", false),
        ] {
            assert_eq!(is_first_segment(prefix), whole, "{prefix}");
        }
    }

    #[test]
    fn each_statement_reads_the_pages_from_an_index_alone() {
        let storage = Storage::open_in_memory().unwrap();
        // Each page's head from its own history, never from the author's changes everywhere.
        let plan = |sql: &str| {
            let plan = query_plan(&storage, sql);
            assert!(!plan.contains("revisions_by_author"), "{plan}");
            plan
        };
        for heads in [Heads::ByAuthor, Heads::BelowCursor, Heads::Newest] {
            let author = heads == Heads::ByAuthor;
            let recent = plan(&recently_changed_sql(heads));
            assert!(
                recent
                    .contains("SEARCH p USING COVERING INDEX pages_by_last_change (last_change>?)")
                    && !recent.contains("TEMP B-TREE"),
                "{recent}"
            );
            let segment = plan(&first_segment_sql(heads));
            assert!(
                segment.contains("SEARCH p USING COVERING INDEX pages_by_first_segment (<expr>=?)")
                    && !segment.contains("TEMP B-TREE"),
                "{segment}"
            );
            for after in [false, true] {
                let by_name = plan(&subtree_heads_sql(heads, after));
                assert!(
                    by_name.contains(
                        "SEARCH p USING COVERING INDEX pages_listed_by_name (name>? AND name<?)"
                    ) && !by_name.contains("TEMP B-TREE"),
                    "{by_name}"
                );
            }
            for from in [false, true] {
                let history = plan(&history_sql(author, from));
                assert!(
                    history.contains("INDEX sqlite_autoindex_revisions_1 (page_id=? AND rev<")
                        && history.contains("SEARCH p USING INTEGER PRIMARY KEY (rowid=?)")
                        && !history.contains("TEMP B-TREE"),
                    "{history}"
                );
            }
        }
        // The index also lists the pages by name (`/+index`), deleted ones left out in it.
        let names = plan(crate::PAGE_NAMES_FROM);
        assert!(
            names.contains("COVERING INDEX pages_listed_by_name"),
            "{names}"
        );
    }

    #[test]
    fn the_migration_and_a_repair_set_each_page_s_newest_change() {
        let storage = Storage::open_in_memory().unwrap();
        save(&storage, "A", "1");
        save(&storage, "B", "1");
        save(&storage, "A", "2");
        let last = |name: &str| -> i64 {
            let pooled = storage.pool.get().unwrap();
            let conn = pooled.sqlite().unwrap();
            conn.query_row(
                "SELECT last_change FROM pages WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .unwrap()
        };
        let stale =
            || stale_last_changes(storage.pool.get().unwrap().sqlite().unwrap(), 10).unwrap();
        assert_eq!((last("A"), last("B")), (3, 2));
        let pooled = storage.pool.get().unwrap();
        let conn = pooled.sqlite().unwrap();
        conn.execute("UPDATE pages SET last_change = 0", [])
            .unwrap();
        drop(pooled);
        assert_eq!(stale(), ["A", "B"]);
        let found = storage.verify().unwrap();
        assert!(found.iter().any(
            |f| f.kind == crate::FindingKind::StaleLastChange && f.page.as_deref() == Some("A")
        ));
        storage.rebuild_last_changes().unwrap();
        assert!(stale().is_empty());
        assert_eq!((last("A"), last("B")), (3, 2));
    }

    /// One step of a history.
    #[derive(Debug, Clone)]
    enum Step {
        Save {
            page: usize,
            author: usize,
        },
        Delete {
            page: usize,
        },
        Undelete {
            page: usize,
        },
        Rename {
            page: usize,
            to: usize,
            with_subpages: bool,
        },
    }

    /// Pages at the root and below, some named like others' first segments (`AB`, `A/B`).
    const PAGES: &[&str] = &[
        "A", "A/x", "A/y", "A/x/z", "AB", "Ab/q", "B", "B/x", "C/x", "A/B", "AB/x",
    ];
    /// Whole first segments (`A/`, `AB/`, `B/`, `C/`, `Z/`), read by their segment; and deeper or
    /// partial prefixes, read by name or from the pages changed last.
    const PREFIXES: &[&str] = &["A", "A/", "A/x", "A/x/", "AB/", "Ab", "B/", "C/", "Z", "Z/"];
    const AUTHORS: &[&str] = &["ann", "bob", "cy"];

    fn step() -> impl Strategy<Value = Step> {
        let page = 0..PAGES.len();
        prop_oneof![
            6 => (page.clone(), 0..AUTHORS.len())
                .prop_map(|(page, author)| Step::Save { page, author }),
            1 => page.clone().prop_map(|page| Step::Delete { page }),
            1 => page.clone().prop_map(|page| Step::Undelete { page }),
            1 => (page.clone(), page, any::<bool>())
                .prop_map(|(page, to, with_subpages)| Step::Rename { page, to, with_subpages }),
        ]
    }

    /// Plays `steps`; a step the wiki refuses (deleting a missing page, renaming onto a taken
    /// name) is skipped, as a user's would be.
    fn play(steps: &[Step]) -> Storage {
        let storage = Storage::open_in_memory().unwrap();
        for (n, step) in steps.iter().enumerate() {
            let _ = match *step {
                Step::Save { page, author } => storage
                    .save(Save {
                        page: PAGES[page],
                        text: &format!("text {n}"),
                        author: AUTHORS[author],
                        comment: "",
                        base_rev: storage.current(PAGES[page]).unwrap().map(|r| r.meta.rev),
                        time: None,
                    })
                    .map(drop),
                Step::Delete { page } => storage.delete(PAGES[page], "cy", "").map(drop),
                Step::Undelete { page } => storage.undelete(PAGES[page], "bob", "").map(drop),
                Step::Rename {
                    page,
                    to,
                    with_subpages,
                } => storage
                    .rename(&Rename {
                        from: PAGES[page],
                        to: PAGES[to],
                        author: "ann",
                        comment: "",
                        with_subpages,
                    })
                    .map(drop),
            };
        }
        storage
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Under any prefix, by any author or none, from any cursor, whichever way finds the
        /// heads: what a plain walk of the log gives, page by page.
        #[test]
        fn the_merge_lists_what_a_walk_of_the_log_lists(
            steps in prop::collection::vec(step(), 1..40),
            prefix in 0..PREFIXES.len(),
            author in prop::option::of(0..AUTHORS.len()),
            limit in 1_usize..6,
            subtree in prop_oneof![Just(1_i64), Just(2), Just(REACH.subtree)],
            window in prop_oneof![Just(1_i64), Just(3), Just(REACH.window)],
            cursor in 0_i64..50,
        ) {
            let storage = play(&steps);
            let reach = Reach { subtree, window };
            let prefix = PREFIXES[prefix];
            let author = author.map(|a| AUTHORS[a]);
            // From the newest on, page after page, and from a cursor anywhere.
            let mut before = i64::MAX;
            loop {
                let (found, cost) = listed(&storage, prefix, author, before, limit, reach);
                prop_assert_eq!(&found, &expected(&storage, prefix, author, before, limit));
                prop_assert!(cost.full_scan_steps <= window);
                let Some(&(last, _)) = found.last() else { break };
                before = last as i64;
            }
            let (found, _) = listed(&storage, prefix, author, cursor, limit, reach);
            prop_assert_eq!(found, expected(&storage, prefix, author, cursor, limit));
        }
    }
}
