//! Recent changes: every revision across the wiki, newest first, paged by a cursor and filtered by
//! author or page prefix.
//!
//! The order is the global revision id (the order of saving), not the stored time: ids are unique, so
//! "the next page" is simply "ids below the last one shown", which stays right while new saves arrive
//! (an offset would shift and show rows twice) and costs an index seek instead of skipping rows. The
//! unfiltered list walks the primary key and an author filter the `(author, id)` index, both in that
//! order, so a page of results reads about as many rows as it shows. A prefix filter (a subtree like
//! `Team/`) first walks a window of the newest [`PREFIX_WINDOW`] changes by primary key and checks
//! each change's page name, which is enough while the subtree changes often; what the window did not
//! fill is then read from the subtree's pages (a range of the name index, then each page's
//! revisions by its `(page_id, rev)` index), so a subtree that rarely changes costs its own
//! revisions, never the whole log behind them (before, a subtree untouched since a page was edited
//! 100 000 times walked those 100 000 changes). SQLite cannot merge many pages' revisions in id
//! order from an index, hence the two steps.

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

/// Changes the first step of a prefix filter reads from the log, newest first, whatever they match.
pub(crate) const PREFIX_WINDOW: i64 = 2_000;

impl Storage {
    /// Changes across the wiki matching `query`, newest first (by order of saving). Pass the last
    /// returned [`Change::id`] as `before` for the next page.
    pub fn recent(&self, query: &RecentQuery) -> Result<Vec<Change>, StorageError> {
        let before = query
            .before
            .map_or(i64::MAX, |id| i64::try_from(id).unwrap_or(i64::MAX));
        let prefix = query.prefix.as_deref().filter(|p| !p.is_empty());
        let conn = self.pool.get()?;
        let Some(prefix) = prefix else {
            return changes(&conn, &ChangesSql::log(query, before, None), query.limit);
        };
        // The window ends below `before` or the newest change, whichever is lower.
        let newest: i64 = conn
            .prepare_cached("SELECT COALESCE(MAX(id), 0) FROM revisions")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
            .map_err(doing("reading recent changes"))?;
        let lower = before
            .min(newest.saturating_add(1))
            .saturating_sub(PREFIX_WINDOW);
        let sql = ChangesSql::log(query, before, Some((prefix, lower)));
        let mut found = changes(&conn, &sql, query.limit)?;
        if found.len() < query.limit && lower > 0 {
            let sql = ChangesSql::subtree(query, lower.min(before), prefix);
            found.extend(changes(&conn, &sql, query.limit - found.len())?);
        }
        Ok(found)
    }
}

/// One statement of [`Storage::recent`] and what it binds.
struct ChangesSql<'a> {
    sql: String,
    before: i64,
    author: Option<&'a str>,
    prefix: Option<&'a str>,
    lower: i64,
}

impl<'a> ChangesSql<'a> {
    /// Walking the log down from `before` (by primary key, or the author index), with a prefix
    /// only down to `lower`.
    fn log(query: &'a RecentQuery, before: i64, prefix: Option<(&'a str, i64)>) -> ChangesSql<'a> {
        let mut filters = String::new();
        if query.author.is_some() {
            filters.push_str(" AND r.author = ?3");
        }
        if prefix.is_some() {
            // The substr test is exact (no LIKE wildcards); the range lets SQLite skip pages quickly.
            filters.push_str(
                " AND r.id >= ?5 AND p.name >= ?4 AND p.name < ?4 || char(1114111) \
                  AND substr(p.name, 1, length(?4)) = ?4",
            );
        }
        ChangesSql {
            sql: format!(
                "SELECT {META_COLUMNS}, r.size_delta, r.id FROM revisions r
                 JOIN pages p ON r.page_id = p.id
                 WHERE r.id < ?1 {filters}
                 ORDER BY r.id DESC
                 LIMIT ?2"
            ),
            before,
            author: query.author.as_deref(),
            prefix: prefix.map(|(prefix, _)| prefix),
            lower: prefix.map_or(0, |(_, lower)| lower),
        }
    }

    /// The revisions below `before` of the pages whose names start with `prefix`, driven from
    /// those pages (`CROSS JOIN` keeps SQLite from walking the log instead).
    fn subtree(query: &'a RecentQuery, before: i64, prefix: &'a str) -> ChangesSql<'a> {
        let author = if query.author.is_some() {
            " AND r.author = ?3"
        } else {
            ""
        };
        ChangesSql {
            sql: format!(
                "SELECT {META_COLUMNS}, r.size_delta, r.id FROM pages p
                 CROSS JOIN revisions r ON r.page_id = p.id
                 WHERE p.name >= ?4 AND p.name < ?4 || char(1114111)
                   AND substr(p.name, 1, length(?4)) = ?4
                   AND r.id < ?1 {author}
                 ORDER BY r.id DESC
                 LIMIT ?2"
            ),
            before,
            author: query.author.as_deref(),
            prefix: Some(prefix),
            lower: 0,
        }
    }
}

/// Runs `sql` for at most `limit` changes.
fn changes(
    conn: &rusqlite::Connection,
    sql: &ChangesSql<'_>,
    limit: usize,
) -> Result<Vec<Change>, StorageError> {
    let limit = sql_count(limit);
    let mut stmt = conn
        .prepare_cached(&sql.sql)
        .map_err(doing("reading recent changes"))?;
    let bound: [&dyn ToSql; 5] = [&sql.before, &limit, &sql.author, &sql.prefix, &sql.lower];
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page_acls::tests::{full_scan_steps, save};

    #[test]
    fn a_subtree_that_rarely_changes_costs_its_own_changes_not_the_log_behind_them() {
        let storage = Storage::open_in_memory().unwrap();
        save(&storage, "Team/Old", "x");
        save(&storage, "Team/Older", "x");
        let busy = PREFIX_WINDOW as u64 + 300;
        for rev in 0..busy {
            save(&storage, "Busy", &format!("{rev}"));
        }
        save(&storage, "Team/New", "x");
        let query = RecentQuery {
            limit: 2,
            prefix: Some("Team/".to_owned()),
            ..RecentQuery::default()
        };
        let names = |query: &RecentQuery| -> Vec<String> {
            let found = storage.recent(query).unwrap();
            found.into_iter().map(|change| change.meta.page).collect()
        };
        assert_eq!(names(&query), ["Team/New", "Team/Older"]);
        let next = RecentQuery {
            before: Some(2),
            ..query.clone()
        };
        assert_eq!(names(&next), ["Team/Old"]);
        let by_author = RecentQuery {
            author: Some("nobody".to_owned()),
            ..query.clone()
        };
        assert!(names(&by_author).is_empty());
        // What the window does not fill is read from the subtree's pages: no full scan of the log.
        let sql = ChangesSql::subtree(&query, 100, "Team/");
        let steps = full_scan_steps(
            &storage,
            &sql.sql,
            &[&sql.before, &2_i64, &sql.author, &sql.prefix],
        );
        assert_eq!(steps, 0);
    }
}
