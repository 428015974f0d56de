//! Reading and writing pages: current, revisions, history, recent changes, listings.

use storage::{Engine, RecentQuery, Save, SaveOutcome, Storage, StorageError};

use crate::support::{each_engine, edit, recent, saved, TempDb};

#[test]
fn a_new_wiki_is_empty() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        assert!(storage.is_empty().unwrap());
        assert_eq!(storage.current("FrontPage").unwrap(), None);
        assert!(!storage.exists("FrontPage").unwrap());
        assert_eq!(storage.page_names().unwrap(), Vec::<String>::new());
        assert_eq!(recent(&storage, 10), []);
        assert_eq!(storage.history("FrontPage", 10, 0).unwrap(), []);
        assert_eq!(storage.revision_count("FrontPage").unwrap(), 0);
    }
}

#[test]
fn a_save_is_read_back_in_full() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        let outcome = storage
            .save(Save {
                page: "FrontPage",
                text: "Hello, wiki.",
                author: "alice",
                comment: "first words",
                base_rev: None,
                time: Some(1_700_000_000),
            })
            .unwrap();
        assert_eq!(outcome, SaveOutcome::Saved { rev: 1 });

        let current = storage.current("FrontPage").unwrap().unwrap();
        assert_eq!(current.meta.page, "FrontPage");
        assert_eq!(current.meta.rev, 1);
        assert_eq!(current.meta.author, "alice");
        assert_eq!(current.meta.time, 1_700_000_000);
        assert_eq!(current.meta.comment, "first words");
        assert_eq!(current.meta.size, 12);
        assert_eq!(current.text, "Hello, wiki.");
        assert_eq!(storage.revision("FrontPage", 1).unwrap(), Some(current));
        assert!(storage.exists("FrontPage").unwrap());
        assert!(!storage.is_empty().unwrap());
    }
}

#[test]
fn time_defaults_to_now() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        storage
            .save(Save {
                time: None,
                ..edit("P", "x", None, 0)
            })
            .unwrap();
        let time = storage.current("P").unwrap().unwrap().meta.time;
        assert!(time >= before && time < before + 3600, "{time} vs {before}");
    }
}

#[test]
fn every_revision_stays_readable() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        for (i, text) in ["one", "two", "three"].iter().enumerate() {
            let base = (i > 0).then_some(i as u64);
            assert_eq!(
                saved(&storage, edit("P", text, base, 100 + i as i64)),
                i as u64 + 1
            );
        }
        assert_eq!(storage.revision("P", 1).unwrap().unwrap().text, "one");
        assert_eq!(storage.revision("P", 2).unwrap().unwrap().text, "two");
        assert_eq!(storage.current("P").unwrap().unwrap().text, "three");
        assert_eq!(storage.revision("P", 4).unwrap(), None);
        assert_eq!(storage.revision("P", 0).unwrap(), None);
        assert_eq!(storage.revision("P", u64::MAX).unwrap(), None);
        assert_eq!(storage.revision("Other", 1).unwrap(), None);
        assert_eq!(storage.revision_count("P").unwrap(), 3);
    }
}

#[test]
fn history_is_newest_first_and_pages() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        for rev in 1..=5u64 {
            let text = format!("version {rev}");
            saved(
                &storage,
                edit(
                    "P",
                    &text,
                    rev.checked_sub(1).filter(|&b| b > 0),
                    rev as i64,
                ),
            );
        }
        saved(&storage, edit("Other", "x", None, 99));
        let revs = |limit, offset| -> Vec<u64> {
            storage
                .history("P", limit, offset)
                .unwrap()
                .iter()
                .map(|m| m.rev)
                .collect()
        };
        assert_eq!(revs(10, 0), [5, 4, 3, 2, 1]);
        assert_eq!(revs(2, 0), [5, 4]);
        assert_eq!(revs(2, 2), [3, 2]);
        assert_eq!(revs(2, 4), [1]);
        assert_eq!(revs(2, 6), Vec::<u64>::new());
        assert_eq!(revs(usize::MAX, 0).len(), 5);
        let newest = &storage.history("P", 1, 0).unwrap()[0];
        assert_eq!(
            (newest.page.as_str(), newest.size, newest.time),
            ("P", 9, 5)
        );
        assert_eq!(*newest, storage.current("P").unwrap().unwrap().meta);
    }
}

#[test]
fn recent_changes_span_pages_newest_first_with_deltas() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        saved(&storage, edit("A", "aaaa", None, 10));
        saved(&storage, edit("B", "bb", None, 30));
        saved(&storage, edit("A", "a", Some(1), 20));
        saved(&storage, edit("C", "c", None, 30));
        // An import with an old time: changes are listed in the order of saving, not by their times.
        saved(&storage, edit("Old", "old", None, 1));

        let changes = recent(&storage, 10);
        let summary: Vec<_> = changes
            .iter()
            .map(|c| {
                (
                    c.meta.page.as_str(),
                    c.meta.rev,
                    c.meta.time,
                    c.meta.size,
                    c.size_delta,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("Old", 1, 1, 3, 3),
                ("C", 1, 30, 1, 1),
                ("A", 2, 20, 1, -3),
                ("B", 1, 30, 2, 2),
                ("A", 1, 10, 4, 4),
            ]
        );
        // The next page starts after the last change shown.
        let page = |limit, before| -> Vec<String> {
            storage
                .recent(&RecentQuery {
                    limit,
                    before,
                    ..RecentQuery::default()
                })
                .unwrap()
                .into_iter()
                .map(|c| format!("{}@{}", c.meta.page, c.meta.rev))
                .collect()
        };
        assert_eq!(page(2, Some(changes[0].id)), ["C@1", "A@2"]);
        assert_eq!(page(10, Some(changes[4].id)), Vec::<String>::new());
    }
}

#[test]
fn unchanged_text_adds_no_revision() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        saved(&storage, edit("P", "same", None, 1));
        assert_eq!(
            storage.save(edit("P", "same", Some(1), 2)).unwrap(),
            SaveOutcome::Unchanged { rev: 1 }
        );
        assert_eq!(storage.revision_count("P").unwrap(), 1);
        assert_eq!(recent(&storage, 10).len(), 1);
    }
}

#[test]
fn a_stale_edit_conflicts_and_writes_nothing() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        saved(&storage, edit("P", "base", None, 1));
        saved(&storage, edit("P", "bob's edit", Some(1), 2));
        let outcome = storage.save(edit("P", "alice's edit", Some(1), 3)).unwrap();
        let SaveOutcome::Conflict { current } = outcome else {
            panic!("expected a conflict, got {outcome:?}");
        };
        assert_eq!((current.meta.rev, current.text.as_str()), (2, "bob's edit"));
        assert_eq!(storage.revision_count("P").unwrap(), 2);

        // Creating a page that exists conflicts too.
        let outcome = storage.save(edit("P", "fresh", None, 4)).unwrap();
        assert!(matches!(outcome, SaveOutcome::Conflict { current } if current.meta.rev == 2));
    }
}

#[test]
fn names_are_opaque_and_exact() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        let names = [
            "Zebra",
            "apple",
            "Apple",
            "Projects/Quire/Notes",
            "with space",
            "日本語のページ",
            "Ünïcödé",
            "U\u{308}nicode", // decomposed Ü: a different name from the composed one
            "\u{dc}nicode",
            "emoji 🦀",
            "quote ' and \" and %",
        ];
        for name in names {
            saved(&storage, edit(name, name, None, 1));
        }
        for name in names {
            assert_eq!(storage.current(name).unwrap().unwrap().text, name);
        }
        let mut sorted: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        sorted.sort();
        assert_eq!(storage.page_names().unwrap(), sorted);
        assert!(!storage.exists("APPLE").unwrap());
        assert!(!storage.exists("Projects").unwrap());
    }
}

#[test]
fn existing_answers_for_a_batch() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        saved(&storage, edit("A", "x", None, 1));
        saved(&storage, edit("B/C", "x", None, 1));
        let found = storage
            .existing(&["A", "Missing", "B/C", "A", "b/c"])
            .unwrap();
        let mut found: Vec<_> = found.into_iter().collect();
        found.sort();
        assert_eq!(found, ["A", "B/C"]);
        assert!(storage.existing(&[]).unwrap().is_empty());

        // Past one batch of names, with a page in the second.
        let mut many: Vec<String> = (0..2_000).map(|i| format!("Page{i}")).collect();
        many[1_500] = "B/C".to_owned();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let found = storage.existing(&many).unwrap();
        assert_eq!(found.into_iter().collect::<Vec<_>>(), ["B/C"]);
    }
}

#[test]
fn odd_texts_round_trip() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        let big = "x".repeat(5 * 1024 * 1024);
        for (page, text) in [
            ("Empty", ""),
            ("Crlf", "line\r\nline\r\n"),
            ("Big", big.as_str()),
            ("Ünïcödé ✓", "ünïcödé ✓ and a backslash \\x00"),
        ] {
            saved(&storage, edit(page, text, None, 1));
            let current = storage.current(page).unwrap().unwrap();
            assert_eq!(current.text, text, "{page}");
            assert_eq!(current.meta.size, text.len() as u64, "{page}");
        }
        // A NUL character is text to SQLite; PostgreSQL's text cannot hold one, and the save is
        // refused there, saying why, with nothing written.
        let nul = "before\0after";
        match storage.engine() {
            Engine::Sqlite => {
                saved(&storage, edit("Nul", nul, None, 1));
                assert_eq!(storage.current("Nul").unwrap().unwrap().text, nul);
            }
            Engine::Postgres => {
                let err = storage.save(edit("Nul", nul, None, 1)).unwrap_err();
                assert!(err.to_string().contains("NUL"), "{err}");
                assert!(!storage.exists("Nul").unwrap());
            }
        }
    }
}

/// SQLite only: the body is rewritten in the file behind storage's back (`compact`'s unit tests
/// decode the same on both engines).
#[test]
fn a_body_in_an_unknown_format_is_reported_not_misread() {
    let db = TempDb::new();
    let storage = db.open();
    saved(&storage, edit("P", "text", None, 1));
    let raw = rusqlite::Connection::open(&db.path).unwrap();
    raw.execute(
        "UPDATE revisions SET format = 'zstd-9', body = x'28b52ffd'",
        [],
    )
    .unwrap();
    let err = storage.current("P").unwrap_err();
    assert!(
        matches!(&err, StorageError::UnknownFormat { page, rev: 1, format } if page == "P" && format == "zstd-9"),
        "{err:?}"
    );
    assert!(err.to_string().contains("zstd-9"), "{err}");
    // Listings need no body and keep working.
    assert_eq!(storage.history("P", 10, 0).unwrap().len(), 1);
}

/// SQLite only: in-memory databases are SQLite's.
#[test]
fn in_memory_storages_are_separate() {
    let one = Storage::open_in_memory().unwrap();
    let two = Storage::open_in_memory().unwrap();
    saved(&one, edit("P", "x", None, 1));
    assert!(one.exists("P").unwrap());
    assert!(!two.exists("P").unwrap());
}

#[test]
fn the_revision_log_lists_saves_in_order_across_pages() {
    for storage in each_engine() {
        eprintln!("on {}", storage.engine());
        assert_eq!(storage.last_revision_id().unwrap(), 0);
        saved(&storage, edit("B", "b1", None, 10));
        saved(&storage, edit("A", "a1", None, 11));
        saved(&storage, edit("B", "b2", Some(1), 12));
        assert_eq!(storage.last_revision_id().unwrap(), 3);

        let log = storage.revisions_after(0, 10).unwrap();
        let seen: Vec<(u64, &str, &str)> = log
            .iter()
            .map(|l| {
                (
                    l.id,
                    l.revision.meta.page.as_str(),
                    l.revision.text.as_str(),
                )
            })
            .collect();
        assert_eq!(seen, vec![(1, "B", "b1"), (2, "A", "a1"), (3, "B", "b2")]);
        assert_eq!(storage.revisions_after(2, 10).unwrap().len(), 1);
        assert_eq!(storage.revisions_after(0, 2).unwrap().len(), 2);
        assert!(storage.revisions_after(3, 10).unwrap().is_empty());
        assert!(storage.revisions_after(u64::MAX, 10).unwrap().is_empty());

        assert_eq!(storage.page_count().unwrap(), 2);
        let current = storage.current_revisions(None, 1).unwrap();
        assert_eq!(
            (current[0].id, current[0].revision.text.as_str()),
            (2, "a1")
        );
        let rest = storage.current_revisions(Some("A"), 10).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!((rest[0].id, rest[0].revision.text.as_str()), (3, "b2"));
    }
}

#[test]
fn page_times_list_live_pages_with_their_current_revision_s_time() {
    for storage in each_engine() {
        saved(&storage, edit("B", "one", None, 100));
        saved(&storage, edit("B", "two", Some(1), 200));
        saved(&storage, edit("A", "one", None, 150));
        saved(&storage, edit("Gone", "one", None, 150));
        storage.delete("Gone", "alice", "").unwrap();
        assert_eq!(
            storage.page_times().unwrap(),
            [("A".to_owned(), 150), ("B".to_owned(), 200)]
        );
    }
}

#[test]
fn page_names_come_a_run_at_a_time_by_prefix_and_cursor() {
    for storage in each_engine() {
        let engine = storage.engine();
        for name in ["A", "B/1", "B/2", "B/ü", "Ba", "C"] {
            saved(&storage, edit(name, "x", None, 1));
        }
        let names = |prefix, after, limit| storage.page_names_from(prefix, after, limit).unwrap();
        assert_eq!(names("", None, 100).len(), 6, "{engine}");
        assert_eq!(names("B/", None, 100), ["B/1", "B/2", "B/ü"], "{engine}");
        assert_eq!(names("B/", Some("B/1"), 1), ["B/2"], "{engine}");
        assert_eq!(names("", Some("B/ü"), 100), ["Ba", "C"], "{engine}");
        assert!(names("D", None, 100).is_empty(), "{engine}");
        assert_eq!(storage.page_count().unwrap(), 6, "{engine}");
        let times = storage.page_times().unwrap();
        assert_eq!(times.len(), 6, "{engine}");
        assert_eq!(times[0], ("A".to_owned(), 1), "{engine}");
        let changed = storage.pages_changed_after(0, 10).unwrap().unwrap();
        assert_eq!(changed.len(), 6, "{engine}");
        assert_eq!(storage.pages_changed_after(0, 5).unwrap(), None, "{engine}");
    }
}

/// `sync` is what bulk work ends with: on PostgreSQL every commit is durable already, so it has
/// nothing to do; SQLite's `synchronous` setting has no meaning there and says so.
#[test]
fn sync_works_on_both_engines_and_synchronous_is_sqlite_s() {
    for storage in each_engine() {
        saved(&storage, edit("P", "x", None, 1));
        storage.sync().unwrap();
        match storage.engine() {
            Engine::Sqlite => assert!(storage.synchronous_level().is_ok()),
            Engine::Postgres => {
                let err = storage.synchronous_level().unwrap_err();
                assert!(
                    matches!(err, StorageError::NotOnThisEngine { .. }),
                    "{err:?}"
                );
                assert!(err.to_string().contains("synchronous"), "{err}");
            }
        }
    }
}
