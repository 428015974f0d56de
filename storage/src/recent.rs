//! Recent changes: every revision across the wiki, newest first, paged by a cursor and filtered by
//! author or page prefix.
//!
//! The order is the global revision id (the order of saving), not the stored time: ids are unique, so
//! "the next page" is simply "ids below the last one shown", which stays right while new saves arrive
//! (an offset would shift and show rows twice) and costs an index seek instead of skipping rows. The
//! unfiltered list walks the primary key and an author filter the `(author, id)` index, both in that
//! order, so a page of results reads about as many rows as it shows. A prefix filter (a subtree like
//! `Team/`) cannot walk the log: a subtree that rarely changes would cost every change behind its
//! newest ones. It merges the subtree's pages' own histories instead, newest first, from the newest
//! change each page row keeps ([`subtree`]), so it costs the subtree's pages and the rows it shows,
//! never the log.

mod subtree;

use crate::db::{DbError, Row, Sql};
use crate::error::{doing, StorageError};
use crate::revision::{meta_from_row, to_u64, RawMeta, META_COLUMNS, META_LEN};
use crate::{sql_count, Change, Storage};

pub(crate) use subtree::{
    fill_last_changes, rebuild_last_changes, stale_last_changes, FIRST_SEGMENT_INDEX,
};

/// Which changes [`Storage::recent`] lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecentQuery {
    /// At most this many.
    pub limit: usize,
    /// Only changes older than this one (a [`Change::id`]): the next page after a page ending there.
    pub before: Option<u64>,
    /// Only changes by this author (exact name).
    pub author: Option<String>,
    /// Only changes to pages whose name starts with this (`Team/` for a subtree). Empty means all.
    pub prefix: Option<String>,
}

impl Storage {
    /// Changes across the wiki matching `query`, newest first (by order of saving). Pass the last
    /// returned [`Change::id`] as `before` for the next page.
    pub fn recent(&self, query: &RecentQuery) -> Result<Vec<Change>, StorageError> {
        let before = query
            .before
            .map_or(i64::MAX, |id| i64::try_from(id).unwrap_or(i64::MAX));
        let author = query.author.as_deref();
        let mut conn = self.pool.get()?;
        match query.prefix.as_deref().filter(|p| !p.is_empty()) {
            None => log(&mut *conn, before, author, query.limit),
            // One snapshot for every statement of the merge; only read, so dropping it is its end.
            Some(prefix) => subtree::changes(
                &mut conn
                    .transaction(crate::db::TxKind::Read)
                    .map_err(doing("reading recent changes"))?,
                &subtree::Filter {
                    prefix,
                    author,
                    before,
                    limit: query.limit,
                },
                subtree::REACH,
                &mut subtree::Cost::default(),
            ),
        }
    }
}

/// The log walked down from `before`, by primary key or, for an author, the `(author, id)` index.
fn log(
    conn: &mut impl Sql,
    before: i64,
    author: Option<&str>,
    limit: usize,
) -> Result<Vec<Change>, StorageError> {
    let limit = sql_count(limit);
    let rows = match author {
        None => conn.query_map(
            &format!(
                "SELECT {META_COLUMNS}, r.size_delta, r.id FROM revisions r
                 JOIN pages p ON r.page_id = p.id
                 WHERE r.id < ?1
                 ORDER BY r.id DESC
                 LIMIT ?2"
            ),
            &[&before, &limit],
            change_row,
        ),
        Some(author) => conn.query_map(
            &format!(
                "SELECT {META_COLUMNS}, r.size_delta, r.id FROM revisions r
                 JOIN pages p ON r.page_id = p.id
                 WHERE r.id < ?1 AND r.author = ?3
                 ORDER BY r.id DESC
                 LIMIT ?2"
            ),
            &[&before, &limit, &author],
            change_row,
        ),
    }
    .map_err(doing("reading recent changes"))?;
    rows.into_iter().map(RawChange::check).collect()
}

/// A change as read: [`META_COLUMNS`], then size delta and id.
pub(crate) struct RawChange {
    meta: RawMeta,
    size_delta: i64,
    id: i64,
}

pub(crate) fn change_row(row: &Row<'_>) -> Result<RawChange, DbError> {
    Ok(RawChange {
        meta: meta_from_row(row)?,
        size_delta: row.get(META_LEN)?,
        id: row.get(META_LEN + 1)?,
    })
}

impl RawChange {
    pub(crate) fn check(self) -> Result<Change, StorageError> {
        let meta = self.meta.check()?;
        Ok(Change {
            id: to_u64("revision id", &meta.page, self.id)?,
            meta,
            size_delta: self.size_delta,
        })
    }
}
