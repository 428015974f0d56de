//! Page names matching a glob, for the pages a setting names by pattern (the app's page templates,
//! `*Template` by default).
//!
//! The pattern is SQLite's `GLOB` (`*` any run of characters, `?` one, `[abc]` a set; case-sensitive),
//! evaluated in the database on the index of names, so the names never cross into Rust to be tested.
//! A pattern that starts with a literal part (`Templates/*`) lets SQLite read only the names with that
//! prefix (its GLOB optimisation, as names compare as BINARY);
//! one that starts with a wildcard (`*Template`) walks the index of every live name, which costs the
//! wiki's size in index entries (not page rows) for each listing, and stops after `limit` matches.

use rusqlite::params;

use crate::error::{doing, StorageError};
use crate::{sql_count, Storage};

/// Live pages whose name matches `?1`, in name order, after `?2`.
const NAMES_MATCHING: &str = "SELECT name FROM pages INDEXED BY pages_listed_by_name
     WHERE name GLOB ?1 AND deleted = 0 AND (?2 IS NULL OR name > ?2)
     ORDER BY name LIMIT ?3";

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
        let conn = self.pool.get()?;
        let mut stmt = conn
            .prepare_cached(NAMES_MATCHING)
            .map_err(doing("listing pages by pattern"))?;
        let names = stmt
            .query_map(params![pattern, after, sql_count(limit)], |row| row.get(0))
            .map_err(doing("listing pages by pattern"))?;
        names
            .collect::<Result<_, _>>()
            .map_err(doing("listing pages by pattern"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save(storage: &Storage, page: &str) {
        storage
            .save(crate::Save {
                page,
                text: "text",
                author: "alice",
                comment: "",
                base_rev: None,
                time: None,
            })
            .unwrap();
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
}
