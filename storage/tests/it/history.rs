//! Compact history (round trips, bounded chains, old databases), blame, and recent changes with
//! cursor paging and filters.

use proptest::prelude::*;
use storage::{ChangeKind, RecentQuery, Rename, Save, SaveOutcome, Storage};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::support::{current_rev, each_engine, edit, recent, saved, TempDb, SCHEMA_V1};

/// Saves `text` on top of whatever is current; `false` if it equalled the current text.
fn put(storage: &Storage, page: &str, text: &str, author: &str) -> bool {
    let base = current_rev(storage, page);
    match storage
        .save(Save {
            author,
            ..edit(page, text, base, 1_000)
        })
        .unwrap()
    {
        SaveOutcome::Saved { .. } => true,
        SaveOutcome::Unchanged { .. } => false,
        other => panic!("{other:?}"),
    }
}

/// How each revision of `page` is stored, by revision number.
fn formats(storage: &Storage, page: &str) -> Vec<String> {
    storage.revision_formats(page).unwrap()
}

fn blame_revs(storage: &Storage, page: &str) -> Vec<(String, u64)> {
    storage
        .blame(page)
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|line| (line.text, line.rev))
        .collect()
}

#[test]
fn old_revisions_are_stored_compactly_and_the_current_one_plain() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        let mut text = String::new();
        for i in 1..=130 {
            text.push_str(&format!(
                "line {i} of a page that grows by one line per save\n"
            ));
            put(&storage, "P", &text, "alice");
        }
        let formats = formats(&storage, "P");
        assert_eq!(formats.len(), 130);
        assert_eq!(
            formats[129], "current",
            "the current revision is kept whole"
        );
        for (i, format) in formats[..129].iter().enumerate() {
            let rev = i + 1;
            let expected = if rev % 64 == 0 { "deflate" } else { "rdelta" };
            assert_eq!(format, expected, "revision {rev}");
        }
        // Every revision reads back, from either side of a keyframe.
        let mut expected = String::new();
        for rev in 1..=130 {
            expected.push_str(&format!(
                "line {rev} of a page that grows by one line per save\n"
            ));
            assert_eq!(storage.revision("P", rev).unwrap().unwrap().text, expected);
        }
        // The log replays every text too.
        let logged = storage.revisions_after(0, usize::MAX).unwrap();
        assert_eq!(logged.len(), 130);
        assert!(logged[63]
            .revision
            .text
            .ends_with("line 64 of a page that grows by one line per save\n"));
    }
}

/// SQLite only: the damage is done to the file behind storage's back.
#[test]
fn a_damaged_delta_is_an_error_not_garbage() {
    let db = TempDb::new();
    let storage = db.open();
    put(&storage, "P", "a\nb\n", "alice");
    put(&storage, "P", "a\nb\nc\n", "alice");
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    conn.execute("UPDATE revisions SET body = x'00ff' WHERE rev = 1", [])
        .unwrap();
    let err = storage.revision("P", 1).unwrap_err();
    assert!(
        matches!(err, storage::StorageError::Invalid { .. }),
        "{err:?}"
    );
    // The current revision does not depend on it.
    assert_eq!(storage.current("P").unwrap().unwrap().text, "a\nb\nc\n");
}

/// A database written before compact history and blame: plain rows throughout (SQLite only: an old
/// file of SQLite's, from before PostgreSQL was supported). They read as before,
/// blame is rebuilt from them, and the next save compacts only the revision it supersedes.
#[test]
fn a_version_1_database_with_plain_history_reads_and_grows() {
    let db = TempDb::old(
        SCHEMA_V1,
        "INSERT INTO pages VALUES (1, 'Old', 3);
         INSERT INTO revisions (page_id, rev, author, time, comment, size, size_delta, body)
             VALUES (1, 1, 'ann', 1, '', 2, 2, 'a\n'),
                    (1, 2, 'bob', 2, '', 4, 2, 'a\nb\n'),
                    (1, 3, 'cy', 3, '', 6, 2, 'A\nb\nc\n');",
    );
    let storage = db.open();
    assert_eq!(storage.revision("Old", 2).unwrap().unwrap().text, "a\nb\n");
    let history = storage.history("Old", 10, 0).unwrap();
    assert!(history.iter().all(|m| m.kind == ChangeKind::Edit));
    let blame = storage.blame("Old").unwrap().unwrap();
    let lines: Vec<_> = blame
        .iter()
        .map(|l| (l.text.as_str(), l.rev, l.author.as_str(), l.time))
        .collect();
    assert_eq!(
        lines,
        [("A", 3, "cy", 3), ("b", 2, "bob", 2), ("c", 3, "cy", 3)]
    );

    put(&storage, "Old", "A\nb\nc\nd\n", "dee");
    assert_eq!(
        formats(&storage, "Old"),
        ["plain", "plain", "rdelta", "current"]
    );
    for (rev, text) in [
        (1, "a\n"),
        (2, "a\nb\n"),
        (3, "A\nb\nc\n"),
        (4, "A\nb\nc\nd\n"),
    ] {
        assert_eq!(storage.revision("Old", rev).unwrap().unwrap().text, text);
    }
    assert_eq!(
        blame_revs(&storage, "Old"),
        [
            ("A".to_owned(), 3),
            ("b".to_owned(), 2),
            ("c".to_owned(), 3),
            ("d".to_owned(), 4)
        ]
    );
}

#[test]
fn blame_names_the_revision_that_last_changed_each_line() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        put(&storage, "P", "title\nintro\nbody\n", "ann");
        put(&storage, "P", "title\nintro, longer\nbody\nend\n", "bob");
        put(&storage, "P", "Title\nintro, longer\nbody\nend\n", "cy");
        put(&storage, "P", "Title\nintro, longer\nnew\nbody\nend", "ann");
        let expected = [
            ("Title".to_owned(), 3),
            ("intro, longer".to_owned(), 2),
            ("new".to_owned(), 4),
            ("body".to_owned(), 1),
            // The last line lost its line break in revision 4: a change.
            ("end".to_owned(), 4),
        ];
        assert_eq!(blame_revs(&storage, "P"), expected);
        let blame = storage.blame("P").unwrap().unwrap();
        assert_eq!(blame[1].author, "bob");
        // Rebuilt from history, the answer is the same.
        storage.forget_blame("P").unwrap();
        assert_eq!(blame_revs(&storage, "P"), expected);
        assert_eq!(storage.blame("Missing").unwrap(), None);
        put(&storage, "Empty", "", "ann");
        assert_eq!(storage.blame("Empty").unwrap(), Some(vec![]));
    }
}

#[test]
fn recent_pages_by_cursor_and_filters_by_author_and_prefix() {
    for storage in each_engine() {
        for i in 0..10 {
            let author = if i % 2 == 0 { "ann" } else { "bob" };
            let page = if i % 3 == 0 {
                format!("Team/P{i}")
            } else {
                format!("P{i}")
            };
            put(&storage, &page, &format!("text {i}"), author);
        }
        storage.delete("P1", "cy", "gone").unwrap();
        storage
            .rename(&Rename {
                from: "Team/P3",
                to: "Team/Q3",
                author: "cy",
                comment: "",
                with_subpages: false,
            })
            .unwrap();

        let all = storage
            .recent(&RecentQuery {
                limit: 100,
                ..RecentQuery::default()
            })
            .unwrap();
        assert_eq!(all.len(), 12);
        assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        assert_eq!(
            all[0].meta.kind,
            ChangeKind::Rename {
                from: "Team/P3".to_owned()
            }
        );
        assert_eq!(
            (all[1].meta.kind.clone(), all[1].size_delta),
            (ChangeKind::Delete, -6)
        );

        // Pages of 5 by cursor cover everything once, in order.
        let mut paged = Vec::new();
        let mut before = None;
        loop {
            let page = storage
                .recent(&RecentQuery {
                    limit: 5,
                    before,
                    ..RecentQuery::default()
                })
                .unwrap();
            let Some(last) = page.last() else { break };
            before = Some(last.id);
            paged.extend(page);
        }
        assert_eq!(paged, all);

        let by_bob = storage
            .recent(&RecentQuery {
                limit: 100,
                author: Some("bob".to_owned()),
                ..RecentQuery::default()
            })
            .unwrap();
        assert_eq!(by_bob.len(), 5);
        assert!(by_bob.iter().all(|c| c.meta.author == "bob"));

        let team = storage
            .recent(&RecentQuery {
                limit: 100,
                prefix: Some("Team/".to_owned()),
                ..RecentQuery::default()
            })
            .unwrap();
        let pages: Vec<_> = team
            .iter()
            .map(|c| (c.meta.page.as_str(), c.meta.rev))
            .collect();
        // Renamed pages are listed under their name now.
        assert_eq!(
            pages,
            [
                ("Team/Q3", 2),
                ("Team/P9", 1),
                ("Team/P6", 1),
                ("Team/Q3", 1),
                ("Team/P0", 1)
            ]
        );
        let both = storage
            .recent(&RecentQuery {
                limit: 2,
                before: Some(team[1].id),
                author: Some("ann".to_owned()),
                prefix: Some("Team/".to_owned()),
            })
            .unwrap();
        assert_eq!(
            both.iter()
                .map(|c| c.meta.page.as_str())
                .collect::<Vec<_>>(),
            ["Team/P6", "Team/P0"]
        );
        // A prefix is a prefix, not a pattern.
        put(&storage, "50%_off", "x", "ann");
        let odd = storage
            .recent(&RecentQuery {
                limit: 100,
                prefix: Some("50%".to_owned()),
                ..RecentQuery::default()
            })
            .unwrap();
        assert_eq!(odd.len(), 1);
        let none = storage
            .recent(&RecentQuery {
                limit: 100,
                prefix: Some("5_".to_owned()),
                ..RecentQuery::default()
            })
            .unwrap();
        assert!(none.is_empty());
    }
}

#[test]
fn recent_changes_carry_ids_and_kinds() {
    for storage in each_engine() {
        saved(&storage, edit("P", "a", None, 5));
        storage.delete("P", "bob", "").unwrap();
        let changes = recent(&storage, 10);
        assert_eq!(changes.len(), 2);
        assert!(changes.iter().any(|c| c.meta.kind == ChangeKind::Delete));
        assert!(changes.iter().all(|c| c.id > 0));
    }
}

/// A page's edits as a sequence of texts drawn from few distinct lines, so consecutive texts share
/// lines (as real edits do) and the diffs have something to find.
fn histories() -> impl Strategy<Value = Vec<String>> {
    let line = prop_oneof![
        Just("alpha\n".to_owned()),
        Just("beta\n".to_owned()),
        Just("\n".to_owned()),
        Just("ünïcödé ✓\n".to_owned()),
        Just("no newline".to_owned()),
        Just("crlf\r\n".to_owned()),
        "[a-c]{0,3}\n",
    ];
    let text = prop::collection::vec(line, 0..12).prop_map(|lines| lines.concat());
    prop::collection::vec(text, 1..40)
}

/// The wikis the property below writes to, one per engine, shared by its cases (a page each):
/// a PostgreSQL schema per case would cost more than the case.
fn property_wikis() -> &'static Vec<Storage> {
    static WIKIS: OnceLock<Vec<Storage>> = OnceLock::new();
    WIKIS.get_or_init(each_engine)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any sequence of texts reads back exactly, revision by revision, however it was compacted; and
    /// blame kept at save time agrees with blame rebuilt from the stored history. On every engine.
    #[test]
    fn every_revision_reads_back_and_blame_agrees_with_a_rebuild(texts in histories()) {
        static CASE: AtomicU64 = AtomicU64::new(0);
        let page = format!("P{}", CASE.fetch_add(1, Ordering::Relaxed));
        for storage in property_wikis() {
            let engine = storage.engine();
            let mut stored = Vec::new();
            for text in &texts {
                if put(storage, &page, text, "ann") {
                    stored.push(text.clone());
                }
            }
            for (i, text) in stored.iter().enumerate() {
                let revision = storage.revision(&page, i as u64 + 1).unwrap().unwrap();
                prop_assert_eq!(&revision.text, text, "{}", engine);
            }
            let kept = blame_revs(storage, &page);
            let last = stored.last().unwrap();
            prop_assert_eq!(kept.len(), last.split_inclusive('\n').count(), "{}", engine);
            storage.forget_blame(&page).unwrap();
            prop_assert_eq!(blame_revs(storage, &page), kept, "{}", engine);
        }
    }
}
