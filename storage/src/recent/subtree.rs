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
//! statements read one snapshot (the caller's read transaction), so a save meanwhile cannot show a
//! row twice or move a page out of the subtree halfway.
//!
//! On PostgreSQL the statements are the same but for what SQLite alone spells: no `INDEXED BY`
//! (the planner finds the same indexes by the same conditions), `strpos` for `instr` in the first
//! segment (the expression of PostgreSQL's index), `author || ''` for SQLite's `+author` to keep the author
//! out of an index, and no limit for "all" where SQLite's is -1. Their parameters are numbered in order of use
//! ([`Numbered`]): PostgreSQL cannot type a parameter a statement does not name.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rusqlite::{StatementStatus, Transaction};

use super::change_row;
use crate::db::{DbError, Engine, Param, Row, Sql, SqliteRef, Tx};
use crate::error::{doing, StorageError};
use crate::revision::META_COLUMNS;
use crate::{sql_count, Change};

/// The index a first segment's heads are read from (migration 22): each page's first path segment
/// with its `/` (empty for a page at the root), and its newest change. [`first_segment_sql`] names
/// the same expression; a test checks that SQLite finds the index for it. PostgreSQL's
/// (`schema_pg/v22.sql`) spells `instr` as `strpos`, as [`first_segment_sql`] does there.
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
    conn: &mut impl Sql,
    limit: usize,
) -> Result<Vec<String>, StorageError> {
    conn.query_map(
        &format!("SELECT name FROM pages WHERE last_change <> {EXPECTED} ORDER BY name LIMIT ?1"),
        &[&sql_count(limit)],
        |row| row.get(0),
    )
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
/// Nothing on PostgreSQL, whose statements have no such counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cost {
    /// Virtual-machine steps.
    pub(crate) vm_steps: i64,
    /// Rows stepped through in full scans of a table or index.
    pub(crate) full_scan_steps: i64,
}

impl Cost {
    /// Adds what statement `sql` did on `conn` since it was last counted. Statements are prepared
    /// once per connection and kept by their text, so this is the statement that ran, its counters
    /// kept across runs until read.
    fn count(&mut self, conn: &impl Counted, sql: &str) {
        let Some(statement) = conn.counters().and_then(|c| c.prepare_cached(sql).ok()) else {
            return;
        };
        self.vm_steps += i64::from(statement.reset_status(StatementStatus::VmStep));
        self.full_scan_steps += i64::from(statement.reset_status(StatementStatus::FullscanStep));
    }
}

/// A connection a listing runs on, and the SQLite connection under it, when it is SQLite: whose
/// statements' counters [`Cost`] reads.
pub(crate) trait Counted: Sql {
    fn counters(&self) -> Option<&rusqlite::Connection>;
}

impl Counted for Tx<'_> {
    fn counters(&self) -> Option<&rusqlite::Connection> {
        self.sqlite().ok()
    }
}

/// A value the heads' statements take, named where the statements are written (`:before`…) and
/// numbered in order of first use when they are built ([`Numbered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Changes below this id.
    Before,
    /// The subtree's prefix.
    Prefix,
    /// The end of its range of names: the prefix and the last code point.
    End,
    /// How many pages to read (none for all on PostgreSQL, -1 on SQLite).
    Count,
    /// The author, or NULL.
    Author,
    /// The name to go on after.
    After,
}

const SLOTS: [(&str, Slot); 6] = [
    (":before", Slot::Before),
    (":prefix", Slot::Prefix),
    (":end", Slot::End),
    (":count", Slot::Count),
    (":author", Slot::Author),
    (":after", Slot::After),
];

/// A statement with its slots numbered `?1`, `?2`… in order of first use, and the slot of each.
struct Numbered {
    sql: String,
    slots: Vec<Slot>,
}

impl Numbered {
    fn new(template: &str) -> Numbered {
        let mut sql = String::with_capacity(template.len());
        let mut slots: Vec<Slot> = Vec::new();
        let mut rest = template;
        while let Some(at) = rest.find(':') {
            sql.push_str(&rest[..at]);
            rest = &rest[at..];
            let Some(&(name, slot)) = SLOTS.iter().find(|(name, _)| rest.starts_with(name)) else {
                sql.push(':');
                rest = &rest[1..];
                continue;
            };
            let number = match slots.iter().position(|s| *s == slot) {
                Some(i) => i + 1,
                None => {
                    slots.push(slot);
                    slots.len()
                }
            };
            sql.push_str(&format!("?{number}"));
            rest = &rest[name.len()..];
        }
        sql.push_str(rest);
        Numbered { sql, slots }
    }

    /// The values of its slots, in order.
    fn params<'v>(&self, values: &'v Values<'_>) -> Vec<&'v dyn Param> {
        self.slots
            .iter()
            .map(|slot| -> &'v dyn Param {
                match slot {
                    Slot::Before => &values.before,
                    Slot::Prefix => &values.prefix,
                    Slot::End => &values.end,
                    Slot::Count => &values.count,
                    Slot::Author => &values.author,
                    Slot::After => &values.after,
                }
            })
            .collect()
    }
}

/// What the slots hold for one statement.
struct Values<'a> {
    before: i64,
    prefix: &'a str,
    end: String,
    count: Option<i64>,
    author: Option<&'a str>,
    after: &'a str,
}

impl<'a> Values<'a> {
    /// For `filter`, `count` pages (-1: all) after the name `after`, on `engine`.
    fn new(engine: Engine, filter: &Filter<'a>, count: i64, after: &'a str) -> Values<'a> {
        Values {
            before: filter.before,
            prefix: filter.prefix,
            end: format!("{}\u{10FFFF}", filter.prefix),
            // PostgreSQL takes no negative limit; a NULL one is none.
            count: (count >= 0 || engine == Engine::Sqlite).then_some(count),
            author: filter.author,
            after,
        }
    }
}

/// `INDEXED BY index` on SQLite, which the statements name to keep its planner to the index their
/// cost is reckoned on; nothing on PostgreSQL, which has no such clause.
fn indexed_by(engine: Engine, index: &str) -> String {
    match engine {
        Engine::Sqlite => format!("INDEXED BY {index}"),
        Engine::Postgres => String::new(),
    }
}

/// The page is in the subtree (with [`ABOVE_PREFIX`] or [`AFTER_NAME`] below): every name that
/// starts with the prefix sorts at or after it and before it followed by the last code point
/// (names compare as UTF-8 bytes on both engines), and no other name does. A range of the name
/// index, no pattern: `%` and `_` are no wildcards.
const BELOW_SUBTREE_END: &str = "p.name < :end";
const ABOVE_PREFIX: &str = "p.name >= :prefix";
/// Only the names after `:after`, a name in the subtree.
const AFTER_NAME: &str = "p.name > :after";

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

    /// The head of page `p`: its newest change below `:before` (by `:author`), or NULL. The
    /// author is no index term (SQLite's `+`, an expression on PostgreSQL): the page's history read
    /// backwards is the way, however many changes the author made elsewhere, and either planner
    /// would otherwise take the author's index for some statements.
    fn sql(self, engine: Engine) -> &'static str {
        match (self, engine) {
            (Heads::ByAuthor, Engine::Sqlite) => {
                "(SELECT r.id FROM revisions r
                  WHERE r.page_id = p.id AND r.id < :before AND +r.author = :author
                  ORDER BY r.rev DESC LIMIT 1)"
            }
            (Heads::ByAuthor, Engine::Postgres) => {
                "(SELECT r.id FROM revisions r
                  WHERE r.page_id = p.id AND r.id < :before AND r.author || '' = :author
                  ORDER BY r.rev DESC LIMIT 1)"
            }
            (Heads::BelowCursor, _) => {
                "CASE WHEN p.last_change < :before THEN p.last_change ELSE
                     (SELECT r.id FROM revisions r WHERE r.page_id = p.id AND r.id < :before
                      ORDER BY r.rev DESC LIMIT 1) END"
            }
            (Heads::Newest, _) => "p.last_change",
        }
    }
}

/// The `:count` most recently changed pages, newest first, those in the subtree with their heads.
/// The bound is the newest change of the page after them, so that the rows come in the index's
/// order (a subquery with a LIMIT would need an outer ORDER BY, and SQLite would sort the whole
/// window before the first row).
fn recently_changed_sql(engine: Engine, heads: Heads) -> Numbered {
    let indexed = indexed_by(engine, "pages_by_last_change");
    Numbered::new(&format!(
        "SELECT p.id, {head}, p.last_change FROM pages p {indexed}
         WHERE p.last_change > COALESCE(
                   (SELECT last_change FROM pages {indexed}
                    ORDER BY last_change DESC LIMIT 1 OFFSET :count), 0)
           AND {ABOVE_PREFIX} AND {BELOW_SUBTREE_END}
         ORDER BY p.last_change DESC",
        head = heads.sql(engine)
    ))
}

/// The pages whose first path segment is `:prefix`, newest change first, with their heads: the
/// expression of each engine's index by first segment.
fn first_segment_sql(engine: Engine, heads: Heads) -> Numbered {
    let segment = match engine {
        Engine::Sqlite => "substr(p.name, 1, instr(p.name, '/'))",
        Engine::Postgres => "substr(p.name, 1, strpos(p.name, '/'))",
    };
    Numbered::new(&format!(
        "SELECT p.id, {head}, p.last_change FROM pages p {indexed}
         WHERE {segment} = :prefix
         ORDER BY p.last_change DESC",
        head = heads.sql(engine),
        indexed = indexed_by(engine, "pages_by_first_segment"),
    ))
}

/// At most `:count` pages of the subtree (all for -1, or NULL) with their heads, by name, from its
/// start or `after` the name `:after`.
fn subtree_heads_sql(engine: Engine, heads: Heads, after: bool) -> Numbered {
    Numbered::new(&format!(
        "SELECT p.id, {head} FROM pages p {indexed}
         WHERE {lower} AND {BELOW_SUBTREE_END}
         ORDER BY p.name LIMIT :count",
        head = heads.sql(engine),
        indexed = indexed_by(engine, "pages_listed_by_name"),
        lower = if after { AFTER_NAME } else { ABOVE_PREFIX },
    ))
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
/// says, inside the caller's read transaction (one snapshot for every statement). What SQLite did
/// is added to `cost`.
pub(crate) fn changes(
    conn: &mut impl Counted,
    filter: &Filter<'_>,
    reach: Reach,
    cost: &mut Cost,
) -> Result<Vec<Change>, StorageError> {
    if filter.limit == 0 {
        return Ok(Vec::new());
    }
    let newest = if is_first_segment(filter.prefix) {
        // Settled or not, the walk has read every page of the segment it had to.
        let sql = first_segment_sql(conn.engine(), Heads::of(filter));
        newest_first(conn, &sql, filter, -1, cost)?.0
    } else {
        by_name_or_recently_changed(conn, filter, reach, cost)?
    };
    merge(conn, filter, newest.pages(), cost)
}

/// The heads of a subtree other than a first segment: read by name when it is small, else from the
/// pages changed last when they settle them, else by name after all.
fn by_name_or_recently_changed(
    conn: &mut impl Counted,
    filter: &Filter<'_>,
    reach: Reach,
    cost: &mut Cost,
) -> Result<Newest, StorageError> {
    let mut newest = Newest::new(filter.limit);
    let mut read = Subtree::default();
    subtree_heads(conn, filter, reach.subtree, &mut read, &mut newest, cost)?;
    if read.more {
        let sql = recently_changed_sql(conn.engine(), Heads::of(filter));
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

/// A page and its head as the heads' statements give them: id, head (or NULL).
fn head_row(row: &Row<'_>) -> Result<Option<Head>, DbError> {
    let page = row.get(0)?;
    Ok(row
        .get::<Option<i64>>(1)?
        .map(|change| Head { change, page }))
}

/// The heads from `sql`'s pages, which come newest change first, `count` bound as `:count`; and
/// whether they settle them: whether a page was left unread whose newest change is older than
/// all of them (so none of the pages after it, read or not, has a newer head).
fn newest_first(
    conn: &mut impl Counted,
    sql: &Numbered,
    filter: &Filter<'_>,
    count: i64,
    cost: &mut Cost,
) -> Result<(Newest, bool), StorageError> {
    let values = Values::new(conn.engine(), filter, count, "");
    let mut newest = Newest::new(filter.limit);
    let mut settled = false;
    conn.query_each(&sql.sql, &sql.params(&values), &mut |row| {
        let last_change: i64 = row.get(2)?;
        // No page from here on has a change newer than its `last_change`.
        if newest.all_newer_than(last_change) {
            settled = true;
            return Ok(false);
        }
        if let Some(head) = head_row(row)? {
            newest.offer(head);
        }
        Ok(true)
    })
    .map_err(doing("reading recent changes"))?;
    cost.count(conn, &sql.sql);
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
    conn: &mut impl Counted,
    filter: &Filter<'_>,
    count: i64,
    read: &mut Subtree,
    newest: &mut Newest,
    cost: &mut Cost,
) -> Result<(), StorageError> {
    let sql = subtree_heads_sql(conn.engine(), Heads::of(filter), !read.last.is_empty());
    let values = Values::new(conn.engine(), filter, count, &read.last);
    let mut pages = 0;
    let mut last_page: i64 = 0;
    conn.query_each(&sql.sql, &sql.params(&values), &mut |row| {
        last_page = row.get(0)?;
        if let Some(head) = head_row(row)? {
            newest.offer(head);
        }
        pages += 1;
        Ok(true)
    })
    .map_err(doing("reading recent changes"))?;
    cost.count(conn, &sql.sql);
    read.more = pages == count;
    if read.more {
        // Where to go on from: its name, looked up once rather than read on every row.
        const NAME: &str = "SELECT name FROM pages WHERE id = ?1";
        read.last = conn
            .query_one(NAME, &[&last_page], |row| row.get(0))
            .map_err(doing("reading recent changes"))?;
        cost.count(conn, NAME);
    }
    Ok(())
}

/// The pages' histories merged from their heads, newest first, up to the limit. A page's changes
/// are read in runs: those newer than every other page's next change are shown as they come, and
/// the first that is not waits in the queue, read already; so a page edited many times in a row
/// costs one statement, not one per change.
fn merge(
    conn: &mut impl Counted,
    filter: &Filter<'_>,
    heads: Vec<Head>,
    cost: &mut Cost,
) -> Result<Vec<Change>, StorageError> {
    let author = filter.author.is_some();
    let from = history_sql(author, true);
    let older = history_sql(author, false);
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
        let sql = match waiting[place].take() {
            Some(read) => {
                found.push(read);
                &older
            }
            None => &from,
        };
        // Changes of this page newer than this bound come before any other page's.
        let bound = queue.peek().map_or(0, |&(next, _)| next);
        let params: [&dyn Param; 3] = [&heads[place].page, &change, &filter.author];
        let params = &params[..if author { 3 } else { 2 }];
        if found.len() >= filter.limit {
            break;
        }
        let mut failed = None;
        conn.query_each(sql, params, &mut |row| {
            let read = match change_row(row)?.check() {
                Ok(read) => read,
                Err(err) => {
                    failed = Some(err);
                    return Ok(false);
                }
            };
            let id = i64::try_from(read.id).unwrap_or(i64::MAX);
            if id < bound {
                queue.push((id, place));
                waiting[place] = Some(read);
                return Ok(false);
            }
            found.push(read);
            Ok(found.len() < filter.limit)
        })
        .map_err(doing("reading recent changes"))?;
        if let Some(err) = failed {
            return Err(err);
        }
    }
    cost.count(conn, &from);
    cost.count(conn, &older);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::link_names::tests::{postgres_plan, put_revision};
    use crate::page_acls::tests::each_storage;
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
        let mut pooled = storage.pool.get().unwrap();
        let mut tx = pooled.transaction(crate::db::TxKind::Read).unwrap();
        let filter = Filter {
            prefix,
            author,
            before,
            limit,
        };
        let mut cost = Cost::default();
        let found = changes(&mut tx, &filter, reach, &mut cost).unwrap();
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
        storage
            .pool
            .get()
            .unwrap()
            .query_map(
                "SELECT r.id, p.name FROM revisions r JOIN pages p ON p.id = r.page_id
                 WHERE r.id < ?1 AND substr(p.name, 1, length(?2)) = ?2
                   AND (CAST(?3 AS TEXT) IS NULL OR r.author = ?3)
                 ORDER BY r.id DESC LIMIT ?4",
                &[&before, &prefix, &author, &sql_count(limit)],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
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
            let recent = plan(&recently_changed_sql(Engine::Sqlite, heads).sql);
            assert!(
                recent
                    .contains("SEARCH p USING COVERING INDEX pages_by_last_change (last_change>?)")
                    && !recent.contains("TEMP B-TREE"),
                "{recent}"
            );
            let segment = plan(&first_segment_sql(Engine::Sqlite, heads).sql);
            assert!(
                segment.contains("SEARCH p USING COVERING INDEX pages_by_first_segment (<expr>=?)")
                    && !segment.contains("TEMP B-TREE"),
                "{segment}"
            );
            for after in [false, true] {
                let by_name = plan(&subtree_heads_sql(Engine::Sqlite, heads, after).sql);
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
            storage
                .pool
                .get()
                .unwrap()
                .query_one(
                    "SELECT last_change FROM pages WHERE name = ?1",
                    &[&name],
                    |row| row.get(0),
                )
                .unwrap()
        };
        let stale = || stale_last_changes(&mut *storage.pool.get().unwrap(), 10).unwrap();
        assert_eq!((last("A"), last("B")), (3, 2));
        storage
            .pool
            .get()
            .unwrap()
            .execute("UPDATE pages SET last_change = 0", &[])
            .unwrap();
        assert_eq!(stale(), ["A", "B"]);
        let found = storage.verify().unwrap();
        assert!(found.iter().any(
            |f| f.kind == crate::FindingKind::StaleLastChange && f.page.as_deref() == Some("A")
        ));
        storage.rebuild_last_changes().unwrap();
        assert!(stale().is_empty());
        assert_eq!((last("A"), last("B")), (3, 2));
    }

    /// The heads of `prefix`'s pages (the newest `limit`), newest first, as `(change, page)`: by
    /// first segment when it is one, else by name or from the pages changed last.
    fn heads(storage: &Storage, prefix: &str, limit: usize, reach: Reach) -> Vec<(i64, String)> {
        let mut pooled = storage.pool.get().unwrap();
        let mut tx = pooled.transaction(crate::db::TxKind::Read).unwrap();
        let filter = Filter {
            prefix,
            author: None,
            before: i64::MAX,
            limit,
        };
        let mut cost = Cost::default();
        let newest = if is_first_segment(prefix) {
            let sql = first_segment_sql(tx.engine(), Heads::Newest);
            newest_first(&mut tx, &sql, &filter, -1, &mut cost)
                .unwrap()
                .0
        } else {
            by_name_or_recently_changed(&mut tx, &filter, reach, &mut cost).unwrap()
        };
        let mut found: Vec<(i64, String)> = newest
            .pages()
            .into_iter()
            .map(|head| {
                let name = tx
                    .query_one(
                        "SELECT name FROM pages WHERE id = ?1",
                        &[&head.page],
                        |row| row.get(0),
                    )
                    .unwrap();
                (head.change, name)
            })
            .collect();
        found.sort_by(|a, b| b.cmp(a));
        found
    }

    /// The heads' statements on both engines (the merge reads histories through the save path's
    /// rows, on SQLite until that moves: `the_merge_lists_what_a_walk_of_the_log_lists`).
    #[test]
    fn the_heads_are_found_alike_on_both_engines_each_way() {
        for storage in each_storage() {
            let engine = storage.engine();
            for page in [
                "Team",
                "Team.",
                "Teams/A",
                "Tea/m",
                "Z",
                "Team/P1",
                "Team/P2",
                "Team/P1/Sub",
                "Team/P2",
                "Teams/A",
            ] {
                put_revision(&storage, page, &[]);
            }
            let named = |found: &[(i64, &str)]| -> Vec<(i64, String)> {
                found
                    .iter()
                    .map(|(id, name)| (*id, (*name).to_owned()))
                    .collect()
            };
            // The first segment `Team/`: its pages only, not `Team`, `Team.` or `Teams/`.
            assert_eq!(
                heads(&storage, "Team/", 2, REACH),
                named(&[(9, "Team/P2"), (8, "Team/P1/Sub")]),
                "{engine}"
            );
            assert_eq!(heads(&storage, "Team/", 9, REACH).len(), 3, "{engine}");
            // A deeper prefix, by name (whole) and from the pages changed last (a window of 2,
            // then by name after all).
            let expected = named(&[(9, "Team/P2"), (8, "Team/P1/Sub"), (6, "Team/P1")]);
            for reach in [
                REACH,
                Reach {
                    subtree: 1,
                    window: 2,
                },
                Reach {
                    subtree: 1,
                    window: 9,
                },
            ] {
                assert_eq!(
                    heads(&storage, "Team/P", 5, reach),
                    expected,
                    "{engine} {reach:?}"
                );
            }
            assert_eq!(
                heads(&storage, "Teams/", 5, REACH),
                named(&[(10, "Teams/A")]),
                "{engine}"
            );
        }
    }

    /// PostgreSQL's plans for the same statements reach the same indexes (SQLite's are read in
    /// `each_statement_reads_the_pages_from_an_index_alone`, its steps counted above).
    #[test]
    fn each_statement_reaches_its_index_on_postgresql() {
        for storage in each_storage() {
            if storage.engine() != Engine::Postgres {
                continue;
            }
            let filter = Filter {
                prefix: "Team/",
                author: Some("ann"),
                before: 100,
                limit: 5,
            };
            let values = Values::new(Engine::Postgres, &filter, 10, "Team/A");
            for heads in [Heads::ByAuthor, Heads::BelowCursor, Heads::Newest] {
                let engine = Engine::Postgres;
                for (sql, index) in [
                    (first_segment_sql(engine, heads), "pages_by_first_segment"),
                    (recently_changed_sql(engine, heads), "pages_by_last_change"),
                    (
                        subtree_heads_sql(engine, heads, false),
                        "pages_listed_by_name",
                    ),
                    (
                        subtree_heads_sql(engine, heads, true),
                        "pages_listed_by_name",
                    ),
                ] {
                    let plan = postgres_plan(&storage, &sql.sql, &sql.params(&values));
                    assert!(plan.contains(index), "{heads:?} {index}:\n{plan}");
                    assert!(!plan.contains("revisions_by_author"), "{heads:?}:\n{plan}");
                }
            }
            for author in [false, true] {
                for from in [false, true] {
                    let params: [&dyn Param; 3] = [&1_i64, &2_i64, &"ann"];
                    let params = &params[..if author { 3 } else { 2 }];
                    let plan = postgres_plan(&storage, &history_sql(author, from), params);
                    assert!(plan.contains("revisions_page_id_rev_key"), "{plan}");
                }
            }
        }
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
