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

use rusqlite::{Row, ToSql};

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
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        match query.prefix.as_deref().filter(|p| !p.is_empty()) {
            None => log(conn, before, author, query.limit),
            Some(prefix) => {
                // One snapshot for every statement; only read, so dropping it is its end.
                let snapshot = conn
                    .unchecked_transaction()
                    .map_err(doing("reading recent changes"))?;
                subtree::changes(
                    &mut crate::db::SqliteRef(&snapshot),
                    &subtree::Filter {
                        prefix,
                        author,
                        before,
                        limit: query.limit,
                    },
                    subtree::REACH,
                    &mut subtree::Cost::default(),
                )
            }
        }
    }
}

/// The log walked down from `before`, by primary key or, for an author, the `(author, id)` index.
fn log(
    conn: &rusqlite::Connection,
    before: i64,
    author: Option<&str>,
    limit: usize,
) -> Result<Vec<Change>, StorageError> {
    let filter = if author.is_some() {
        " AND r.author = ?3"
    } else {
        ""
    };
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {META_COLUMNS}, r.size_delta, r.id FROM revisions r
             JOIN pages p ON r.page_id = p.id
             WHERE r.id < ?1 {filter}
             ORDER BY r.id DESC
             LIMIT ?2"
        ))
        .map_err(doing("reading recent changes"))?;
    let limit = sql_count(limit);
    let bound: [&dyn ToSql; 3] = [&before, &limit, &author];
    // Up to the highest parameter the statement names (`?N`).
    for (i, value) in bound.iter().take(stmt.parameter_count()).enumerate() {
        stmt.raw_bind_parameter(i + 1, value)
            .map_err(doing("reading recent changes"))?;
    }
    let mut rows = stmt.raw_query();
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(doing("reading recent changes"))? {
        found.push(
            change_row(row)
                .map_err(doing("reading recent changes"))?
                .check()?,
        );
    }
    Ok(found)
}

/// A change as read: [`META_COLUMNS`], then size delta and id.
pub(crate) struct RawChange {
    meta: RawMeta,
    size_delta: i64,
    id: i64,
}

pub(crate) fn change_row(row: &Row<'_>) -> rusqlite::Result<RawChange> {
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
