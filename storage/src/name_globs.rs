//! Page names matching a glob, for the pages a setting names by pattern (the app's page templates,
//! `*Template` by default).
//!
//! The pattern is SQLite's `GLOB` (`*` any run of characters, `?` one, `[abc]` a set; case-sensitive),
//! evaluated in the database on the index of names, so the names never cross into Rust to be tested.
//! A pattern that starts with a literal part (`Templates/*`) reads only the names with that prefix:
//! the prefix is bounded here as a range of the index, since SQLite plans a bound `GLOB ?` without
//! looking at its value; one that starts with a wildcard (`*Template`) walks the index of every live
//! name, which costs the wiki's size in index entries (not page rows) for each listing, and stops
//! after `limit` matches.

use rusqlite::params;

use crate::error::{doing, StorageError};
use crate::{sql_count, Storage};

/// Live pages whose name matches `?3` (and so is in the range of its literal prefix, `?1` to `?2`),
/// in name order, after `?4`.
const NAMES_MATCHING: &str = "SELECT name FROM pages INDEXED BY pages_listed_by_name
     WHERE name >= ?1 AND name < ?2 AND name GLOB ?3 AND deleted = 0
       AND (?4 IS NULL OR name > ?4)
     ORDER BY name LIMIT ?5";

impl Storage {
    /// Up to `limit` names of live pages matching the glob `pattern`, in name order, after the name
    /// `after` (`None`: from the first). An empty pattern matches nothing.
    pub fn page_names_matching(
        &self,
        pattern: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        if pattern.is_empty() {
            return Ok(Vec::new());
        }
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        let mut stmt = conn
            .prepare_cached(NAMES_MATCHING)
            .map_err(doing("listing pages by pattern"))?;
        let (start, end) = prefix_range(pattern);
        let names = stmt
            .query_map(
                params![start, end, pattern, after, sql_count(limit)],
                |row| row.get(0),
            )
            .map_err(doing("listing pages by pattern"))?;
        names
            .collect::<Result<_, _>>()
            .map_err(doing("listing pages by pattern"))
    }
}

/// The range of names that start with `pattern`'s literal prefix (what comes before its first
/// wildcard). Names compare as UTF-8 bytes (SQLite's BINARY): every name starting with the prefix
/// sorts at or after it and before it followed by the last code point.
fn prefix_range(pattern: &str) -> (&str, String) {
    let prefix = &pattern[..pattern.find(['*', '?', '[']).unwrap_or(pattern.len())];
    (prefix, format!("{prefix}\u{10FFFF}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page_acls::tests::{save as save_text, statement_status};

    fn save(storage: &Storage, page: &str) {
        save_text(storage, page, "text");
    }

    #[test]
    fn names_match_by_glob_in_order_after_a_cursor_and_deleted_pages_do_not() {
        let storage = Storage::open_in_memory().unwrap();
        for page in [
            "MeetingTemplate",
            "Notes",
            "Team/BugTemplate",
            "Template",
            "template",
        ] {
            save(&storage, page);
        }
        save(&storage, "GoneTemplate");
        storage.delete("GoneTemplate", "alice", "").unwrap();
        let all = storage.page_names_matching("*Template", None, 10).unwrap();
        assert_eq!(all, ["MeetingTemplate", "Team/BugTemplate", "Template"]);
        let after = storage
            .page_names_matching("*Template", Some("MeetingTemplate"), 1)
            .unwrap();
        assert_eq!(after, ["Team/BugTemplate"]);
        let prefixed = storage.page_names_matching("Team/*", None, 10).unwrap();
        assert_eq!(prefixed, ["Team/BugTemplate"]);
        assert!(storage
            .page_names_matching("", None, 10)
            .unwrap()
            .is_empty());
    }

    /// The counter `status` of listing the first 20 names matching `pattern`.
    fn status(storage: &Storage, pattern: &str, status: rusqlite::StatementStatus) -> i32 {
        let (start, end) = prefix_range(pattern);
        let params: [&dyn rusqlite::ToSql; 5] =
            [&start, &end, &pattern, &rusqlite::types::Null, &20_i64];
        statement_status(storage, NAMES_MATCHING, &params, status)
    }

    /// VM steps of listing the first 20 names matching `pattern`.
    fn steps(storage: &Storage, pattern: &str) -> i32 {
        status(storage, pattern, rusqlite::StatementStatus::VmStep)
    }

    #[test]
    fn a_pattern_with_a_literal_start_costs_its_matches_not_the_wiki() {
        let storage = Storage::open_in_memory().unwrap();
        for page in ["Templates/Meeting", "Templates/Report", "ZebraTemplate"] {
            save(&storage, page);
        }
        let prefixed = |storage: &Storage| steps(storage, "Templates/*");
        let before = (prefixed(&storage), steps(&storage, "*Template"));
        for i in 0..2_000 {
            save(&storage, &format!("Page{i:04}"));
        }
        assert_eq!(prefixed(&storage), before.0, "2 000 pages more");
        let full_scans = status(
            &storage,
            "Templates/*",
            rusqlite::StatementStatus::FullscanStep,
        );
        assert_eq!(full_scans, 0);
        // A wildcard first walks every name, which is what the module doc says it costs.
        assert!(steps(&storage, "*Template") > before.1 + 2_000);
        assert_eq!(
            storage.page_names_matching("*Template", None, 20).unwrap(),
            ["ZebraTemplate"]
        );
    }
}
