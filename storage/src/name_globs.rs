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

use crate::db::{Engine, Sql};
use crate::error::{doing, StorageError};
use crate::{sql_count, Storage};

/// Live pages whose name matches `?3` (and so is in the range of its literal prefix, `?1` to `?2`),
/// in name order, after `?4`.
const NAMES_MATCHING: &str = "SELECT name FROM pages INDEXED BY pages_listed_by_name
     WHERE name >= ?1 AND name < ?2 AND name GLOB ?3 AND deleted = 0
       AND (?4 IS NULL OR name > ?4)
     ORDER BY name LIMIT ?5";

/// [`NAMES_MATCHING`] on PostgreSQL, which has no `GLOB` and no `INDEXED BY`: `?3` is the glob as
/// an anchored regular expression ([`glob_regex`]), and the range of the prefix reaches the same
/// index of names. `?4` is cast: PostgreSQL cannot tell a parameter's type from `IS NULL`.
const NAMES_MATCHING_PG: &str = "SELECT name FROM pages
     WHERE name >= ?1 AND name < ?2 AND name ~ ?3 AND deleted = 0
       AND (CAST(?4 AS TEXT) IS NULL OR name > ?4)
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
        let mut conn = self.pool.get()?;
        let (sql, matching) = match conn.engine() {
            Engine::Sqlite => (NAMES_MATCHING, pattern.to_owned()),
            Engine::Postgres => match glob_regex(pattern) {
                Some(regex) => (NAMES_MATCHING_PG, regex),
                None => return Ok(Vec::new()),
            },
        };
        let (start, end) = prefix_range(pattern);
        conn.query_map(
            sql,
            &[&start, &end, &matching, &after, &sql_count(limit)],
            |row| row.get(0),
        )
        .map_err(doing("listing pages by pattern"))
    }
}

/// The range of names that start with `pattern`'s literal prefix (what comes before its first
/// wildcard). Names compare as UTF-8 bytes (SQLite's BINARY, PostgreSQL's "C"): every name
/// starting with the prefix sorts at or after it and before it followed by the last code point.
fn prefix_range(pattern: &str) -> (&str, String) {
    let prefix = &pattern[..pattern.find(['*', '?', '[']).unwrap_or(pattern.len())];
    (prefix, format!("{prefix}\u{10FFFF}"))
}

/// SQLite's `GLOB` `pattern` as a PostgreSQL regular expression matching the same names, whole.
/// `*` is any run of characters, `?` one, everything else itself; a set `[...]` is read as SQLite's
/// `patternCompare` reads it: `^` first negates it, a `]` first (after any `^`) is a member, `a-z`
/// is a range by code point (one whose ends are the wrong way round adds nothing), and a `-`
/// anywhere else is itself. `None` for a set never closed, which `GLOB` matches against nothing.
fn glob_regex(pattern: &str) -> Option<String> {
    let mut regex = String::with_capacity(pattern.len() * 2 + 2);
    regex.push('^');
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => regex.push_str(".*"),
            '?' => regex.push('.'),
            '[' => {
                regex.push('[');
                let mut next = chars.next();
                if next == Some('^') {
                    regex.push('^');
                    next = chars.next();
                }
                if next == Some(']') {
                    push_literal(&mut regex, ']');
                    next = chars.next();
                }
                let mut prior = None;
                loop {
                    match next? {
                        ']' => break,
                        '-' if prior.is_some() && !matches!(chars.peek(), Some(']') | None) => {
                            let high = chars.next()?;
                            if prior.is_some_and(|low| low <= high) {
                                regex.push('-');
                                push_literal(&mut regex, high);
                            }
                            prior = None;
                        }
                        member => {
                            push_literal(&mut regex, member);
                            prior = Some(member);
                        }
                    }
                    next = chars.next();
                }
                regex.push(']');
            }
            _ => push_literal(&mut regex, c),
        }
    }
    regex.push('$');
    Some(regex)
}

/// `c` as itself in a regular expression, in or out of a set: every ASCII character other than a
/// letter or digit escaped (PostgreSQL's `\` before one stands for it, in a set too; before a letter
/// or digit it would make a class).
fn push_literal(regex: &mut String, c: char) {
    if c.is_ascii() && !c.is_ascii_alphanumeric() {
        regex.push('\\');
    }
    regex.push(c);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link_names::tests::{postgres_plan, put_revision};
    use crate::page_acls::tests::each_storage;
    use crate::page_acls::tests::statement_status;

    fn save(storage: &Storage, page: &str) {
        put_revision(storage, page, &[]);
    }

    #[test]
    fn names_match_by_glob_in_order_after_a_cursor_and_deleted_pages_do_not() {
        for storage in each_storage() {
            let engine = storage.engine();
            for page in [
                "MeetingTemplate",
                "Notes",
                "Team/BugTemplate",
                "Template",
                "template",
                "GoneTemplate",
            ] {
                save(&storage, page);
            }
            storage
                .pool
                .get()
                .unwrap()
                .execute(
                    "UPDATE pages SET deleted = 1 WHERE name = 'GoneTemplate'",
                    &[],
                )
                .unwrap();
            let all = storage.page_names_matching("*Template", None, 10).unwrap();
            assert_eq!(
                all,
                ["MeetingTemplate", "Team/BugTemplate", "Template"],
                "{engine}"
            );
            let after = storage
                .page_names_matching("*Template", Some("MeetingTemplate"), 1)
                .unwrap();
            assert_eq!(after, ["Team/BugTemplate"], "{engine}");
            let prefixed = storage.page_names_matching("Team/*", None, 10).unwrap();
            assert_eq!(prefixed, ["Team/BugTemplate"], "{engine}");
            assert!(storage
                .page_names_matching("", None, 10)
                .unwrap()
                .is_empty());
        }
    }

    /// PostgreSQL matches what SQLite's `GLOB` matches, for sets, ranges, negation, characters
    /// that mean something in a regular expression, and patterns `GLOB` matches nothing with.
    #[test]
    fn every_engine_matches_what_sqlite_s_glob_matches() {
        const NAMES: &[&str] = &[
            "Template",
            "template",
            "Team/BugTemplate",
            "]bracket",
            "-dash",
            "a.b",
            "axb",
            "(x)",
            "back\\slash",
            "*star",
            "Price$5",
            "c+d",
            "d",
            "e",
            "é",
            "Zürich",
            "^caret",
            "[open",
            "a|b",
            "x{2}",
        ];
        const PATTERNS: &[&str] = &[
            "*Template",
            "Team/*",
            "?emplate",
            "[TM]*",
            "[^T]*",
            "[]]*",
            "[^]]*",
            "[a-c-e]*",
            "[c-a]*",
            "[-a]*",
            "[a-]*",
            "a.b",
            "(x)",
            "*\\*",
            "[*]*",
            "Price$*",
            "c+d",
            "*é*",
            "[à-ü]*",
            "Z?rich",
            "[",
            "ab[",
            "[]",
            "[^",
            "^*",
            "[[]*",
            "a|b",
            "x{2}",
            "*[.]*",
            "[\\]*",
            "?",
            "*",
        ];
        let mut seen: Vec<(crate::Engine, Vec<Vec<String>>)> = Vec::new();
        for storage in each_storage() {
            for name in NAMES {
                save(&storage, name);
            }
            let found = PATTERNS
                .iter()
                .map(|pattern| {
                    storage
                        .page_names_matching(pattern, None, 100)
                        .unwrap_or_else(|err| panic!("{pattern}: {err}"))
                })
                .collect();
            seen.push((storage.engine(), found));
        }
        let (_, on_sqlite) = &seen[0];
        // A few of SQLite's own answers, so that the comparison is with something.
        let of = |pattern: &str| &on_sqlite[PATTERNS.iter().position(|p| *p == pattern).unwrap()];
        assert_eq!(of("[]]*"), &["]bracket"]);
        assert_eq!(
            of("[a-c-e]*"),
            &["-dash", "a.b", "axb", "a|b", "back\\slash", "c+d", "e"]
        );
        assert_eq!(of("Z?rich"), &["Zürich"]);
        assert!(of("[").is_empty() && of("[^").is_empty());
        for (engine, found) in &seen[1..] {
            for ((pattern, theirs), ours) in PATTERNS.iter().zip(found).zip(on_sqlite) {
                assert_eq!(theirs, ours, "{engine}: {pattern}");
            }
        }
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

    /// The plan on PostgreSQL: the prefix's range of the index of names. (SQLite's steps are
    /// counted below.)
    #[test]
    fn a_pattern_with_a_literal_start_reads_a_range_of_the_names_on_postgresql() {
        for storage in each_storage() {
            if storage.engine() != crate::Engine::Postgres {
                continue;
            }
            let (start, end) = prefix_range("Templates/*");
            let regex = glob_regex("Templates/*").unwrap();
            let none: Option<&str> = None;
            let plan = postgres_plan(
                &storage,
                NAMES_MATCHING_PG,
                &[&start, &end, &regex, &none, &20_i64],
            );
            assert!(plan.contains("pages_listed_by_name"), "{plan}");
            assert!(plan.contains("Index Cond: ((name >= "), "{plan}");
        }
    }

    /// Counts SQLite's VM steps: SQLite's alone.
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
