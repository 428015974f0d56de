//! Recent changes: every revision across the wiki, newest first, paged by a cursor and filtered by
//! author or page prefix.
//!
//! The order is the global revision id (the order of saving), not the stored time: ids are unique, so
//! "the next page" is simply "ids below the last one shown", which stays right while new saves arrive
//! (an offset would shift and show rows twice) and costs an index seek instead of skipping rows. The
//! unfiltered list walks the primary key and an author filter the `(author, id)` index, both in that
//! order, so a page of results reads about as many rows as it shows. A prefix filter (a subtree like
//! `Team/`) walks the primary key too and checks each change's page name: cheap while the subtree
//! changes often, a scan of the older log when it rarely does (SQLite cannot merge the revisions of
//! many pages in id order from an index; with an author filter as well, the author index bounds it).

use rusqlite::{Row, ToSql};

use crate::error::{doing, StorageError};
use crate::revision::{meta_from_row, to_u64, RawMeta, META_COLUMNS, META_LEN};
use crate::{sql_count, Change, Storage};

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
        let prefix = query.prefix.as_deref().filter(|p| !p.is_empty());
        let limit = sql_count(query.limit);
        let mut bound: Vec<&dyn ToSql> = vec![&before, &limit];
        let mut filters = String::new();
        if let Some(author) = &query.author {
            bound.push(author);
            filters.push_str(&format!(" AND r.author = ?{}", bound.len()));
        }
        if let Some(prefix) = &prefix {
            bound.push(prefix);
            // The substr test is exact (no LIKE wildcards); the range lets SQLite skip pages quickly.
            let n = bound.len();
            filters.push_str(&format!(
                " AND p.name >= ?{n} AND p.name < ?{n} || char(1114111) \
                  AND substr(p.name, 1, length(?{n})) = ?{n}"
            ));
        }
        let conn = self.pool.get()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {META_COLUMNS}, r.size_delta, r.id FROM revisions r
                 JOIN pages p ON r.page_id = p.id
                 WHERE r.id < ?1 {filters}
                 ORDER BY r.id DESC
                 LIMIT ?2"
            ))
            .map_err(doing("reading recent changes"))?;
        let rows = stmt
            .query_map(bound.as_slice(), change_row)
            .map_err(doing("reading recent changes"))?;
        rows.map(|row| row.map_err(doing("reading recent changes"))?.check())
            .collect()
    }
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
