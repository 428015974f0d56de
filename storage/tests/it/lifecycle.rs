//! Delete, undelete, rename with redirects, page info and the page event log.

use std::path::Path;
use std::sync::{Arc, Barrier};

use storage::{CachedHtml, ChangeKind, PageEvent, Rename, SaveOutcome, Storage, StorageError};

use crate::support::{
    child_worker, current_rev, each_engine, edit, hit, linked, run_children, saved, ticket, TempDb,
};

fn rename<'a>(from: &'a str, to: &'a str, with_subpages: bool) -> Rename<'a> {
    Rename {
        from,
        to,
        author: "bob",
        comment: "moved",
        with_subpages,
    }
}

/// Renders `page`'s current revision into the cache, as the app does on a view.
fn cache(storage: &Storage, page: &str) {
    let rev = current_rev(storage, page).unwrap();
    let ticket = ticket(storage, page, rev, "v");
    assert!(storage.store_html(&ticket, "v", "<p>html</p>").unwrap());
}

fn is_cached(storage: &Storage, page: &str) -> bool {
    let rev = current_rev(storage, page).unwrap();
    hit(storage, page, rev, "v").is_some()
}

#[test]
fn a_deleted_page_is_gone_from_the_present_but_keeps_its_history() {
    for storage in each_engine() {
        linked(&storage, "Doomed", "one\n", &["Other"]);
        linked(&storage, "Doomed", "one\ntwo\n", &["Other"]);
        linked(&storage, "Other", "see [[Doomed]]", &["Doomed"]);

        assert_eq!(storage.delete("Doomed", "bob", "spam").unwrap(), Some(3));
        assert_eq!(storage.current("Doomed").unwrap(), None);
        assert!(!storage.exists("Doomed").unwrap());
        assert!(storage
            .existing(&["Doomed", "Other"])
            .unwrap()
            .contains("Other"));
        assert!(!storage.existing(&["Doomed"]).unwrap().contains("Doomed"));
        assert_eq!(storage.page_names().unwrap(), ["Other"]);
        assert_eq!(storage.page_count().unwrap(), 1);
        assert!(storage.is_deleted("Doomed").unwrap());
        assert_eq!(storage.deleted_pages().unwrap(), ["Doomed"]);
        // Linked but missing again: wanted; and a deleted page is nobody's orphan.
        assert_eq!(storage.wanted().unwrap(), [("Doomed".to_owned(), 1)]);
        assert!(!storage.orphans().unwrap().contains(&"Doomed".to_owned()));
        // Its links are gone with it: Other is now an orphan.
        assert_eq!(storage.orphans().unwrap(), ["Other"]);

        let history = storage.history("Doomed", 10, 0).unwrap();
        let kinds: Vec<_> = history.iter().map(|m| (m.rev, m.kind.clone())).collect();
        assert_eq!(
            kinds,
            [
                (3, ChangeKind::Delete),
                (2, ChangeKind::Edit),
                (1, ChangeKind::Edit)
            ]
        );
        assert_eq!(history[0].author, "bob");
        assert_eq!(history[0].size, 0);
        assert_eq!(
            storage.revision("Doomed", 2).unwrap().unwrap().text,
            "one\ntwo\n"
        );
        assert_eq!(storage.revision("Doomed", 3).unwrap().unwrap().text, "");
        assert_eq!(storage.blame("Doomed").unwrap(), None);

        // Deleting again, or a page that never was, does nothing.
        assert_eq!(storage.delete("Doomed", "bob", "").unwrap(), None);
        assert_eq!(storage.delete("Never", "bob", "").unwrap(), None);
        assert_eq!(storage.revision_count("Doomed").unwrap(), 3);
    }
}

#[test]
fn undelete_restores_the_last_text_as_a_new_revision() {
    for storage in each_engine() {
        linked(&storage, "P", "first\n", &["Q"]);
        linked(&storage, "P", "first\nsecond\n", &["Q"]);
        storage.delete("P", "bob", "oops").unwrap();
        assert_eq!(storage.undelete("P", "carol", "back").unwrap(), Some(4));
        assert_eq!(storage.undelete("P", "carol", "again").unwrap(), None);
        assert_eq!(storage.undelete("Never", "carol", "").unwrap(), None);

        let current = storage.current("P").unwrap().unwrap();
        assert_eq!(
            (current.meta.rev, current.text.as_str(), current.meta.kind),
            (4, "first\nsecond\n", ChangeKind::Undelete)
        );
        assert!(!storage.is_deleted("P").unwrap());
        assert!(storage.deleted_pages().unwrap().is_empty());
        // Its links came back with it, known, so the page can be cached and Q has its backlink again.
        assert_eq!(storage.backlinks("Q").unwrap(), ["P"]);
        assert!(storage.pages_missing_links(10).unwrap().is_empty());
        // Blame still credits the lines to the revisions that wrote them.
        let blame = storage.blame("P").unwrap().unwrap();
        let revs: Vec<_> = blame.iter().map(|l| (l.text.as_str(), l.rev)).collect();
        assert_eq!(revs, [("first", 1), ("second", 2)]);
    }
}

#[test]
fn saving_a_deleted_page_creates_it_again_with_its_history() {
    for storage in each_engine() {
        saved(&storage, edit("P", "old\n", None, 1));
        storage.delete("P", "bob", "").unwrap();
        // A new page form carries no base revision.
        assert_eq!(
            storage.save(edit("P", "old\nnew\n", None, 3)).unwrap(),
            SaveOutcome::Saved { rev: 3 }
        );
        assert!(storage.exists("P").unwrap());
        assert!(!storage.is_deleted("P").unwrap());
        assert_eq!(storage.revision_count("P").unwrap(), 3);
        let blame = storage.blame("P").unwrap().unwrap();
        let revs: Vec<_> = blame.iter().map(|l| (l.text.as_str(), l.rev)).collect();
        assert_eq!(revs, [("old", 1), ("new", 3)]);
    }
}

#[test]
fn rename_moves_history_and_leaves_a_redirect() {
    for storage in each_engine() {
        linked(&storage, "Old", "text\n", &["Elsewhere"]);
        linked(&storage, "Old", "text\nmore\n", &["Elsewhere"]);
        linked(&storage, "Linker", "[[Old]] [[New]]", &["Old", "New"]);

        let outcome = storage.rename(&rename("Old", "New", false)).unwrap();
        assert_eq!(outcome.renamed, [("Old".to_owned(), "New".to_owned())]);
        assert!(!storage.exists("Old").unwrap());
        assert!(!storage.is_deleted("Old").unwrap());
        let current = storage.current("New").unwrap().unwrap();
        assert_eq!(
            (current.meta.rev, current.text.as_str(), current.meta.kind),
            (
                3,
                "text\nmore\n",
                ChangeKind::Rename {
                    from: "Old".to_owned()
                }
            )
        );
        assert_eq!(storage.revision("New", 1).unwrap().unwrap().text, "text\n");
        assert_eq!(storage.redirect("Old").unwrap(), Some("New".to_owned()));
        assert_eq!(storage.redirect("New").unwrap(), None);
        assert_eq!(storage.redirect("Never").unwrap(), None);
        // The rename kept its links but asks the app to confirm them (relative links may have moved).
        assert_eq!(storage.backlinks("Elsewhere").unwrap(), ["New"]);
        let missing = storage.pages_missing_links(10).unwrap();
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].meta.page, "New");
        assert!(storage.set_links("New", 3, &["Elsewhere"]).unwrap());
        // Blame carries over the rename.
        let blame = storage.blame("New").unwrap().unwrap();
        assert_eq!(blame.iter().map(|l| l.rev).collect::<Vec<_>>(), [1, 2]);

        // Renamed on, the old name follows; a page created at the old name ends the redirect.
        storage.rename(&rename("New", "Newer", false)).unwrap();
        assert_eq!(storage.redirect("Old").unwrap(), Some("Newer".to_owned()));
        assert_eq!(storage.redirect("New").unwrap(), Some("Newer".to_owned()));
        saved(&storage, edit("Old", "a new page", None, 5));
        assert_eq!(storage.redirect("Old").unwrap(), None);
        // A deleted target has nowhere to send anyone.
        storage.delete("Newer", "bob", "").unwrap();
        assert_eq!(storage.redirect("New").unwrap(), None);
        storage.undelete("Newer", "bob", "").unwrap();
        assert_eq!(storage.redirect("New").unwrap(), Some("Newer".to_owned()));
    }
}

#[test]
fn rename_with_subpages_is_all_or_nothing() {
    for storage in each_engine() {
        for page in ["Team", "Team/A", "Team/B/C", "TeamX", "Other"] {
            saved(&storage, edit(page, page, None, 1));
        }
        let outcome = storage.rename(&rename("Team", "Crew", true)).unwrap();
        assert_eq!(
            outcome.renamed,
            [
                ("Team".to_owned(), "Crew".to_owned()),
                ("Team/A".to_owned(), "Crew/A".to_owned()),
                ("Team/B/C".to_owned(), "Crew/B/C".to_owned()),
            ]
        );
        assert_eq!(
            storage.page_names().unwrap(),
            ["Crew", "Crew/A", "Crew/B/C", "Other", "TeamX"]
        );
        assert_eq!(
            storage.redirect("Team/A").unwrap(),
            Some("Crew/A".to_owned())
        );

        // One taken name refuses the whole rename; a deleted page's name is taken too.
        saved(&storage, edit("Gone/A", "x", None, 1));
        storage.delete("Gone/A", "bob", "").unwrap();
        let err = storage.rename(&rename("Crew", "Gone", true)).unwrap_err();
        assert!(
            matches!(&err, StorageError::PageExists { page } if page == "Gone/A"),
            "{err:?}"
        );
        assert!(storage.exists("Crew").unwrap());
        assert!(!storage.exists("Gone").unwrap());
        assert_eq!(storage.revision_count("Crew").unwrap(), 2);

        let err = storage.rename(&rename("Crew", "Other", false)).unwrap_err();
        assert!(matches!(err, StorageError::PageExists { .. }), "{err:?}");
        let err = storage.rename(&rename("Nope", "Where", false)).unwrap_err();
        assert!(matches!(err, StorageError::NoSuchPage { .. }), "{err:?}");
        // Without subpages, they stay.
        storage.rename(&rename("Crew", "Band", false)).unwrap();
        assert!(storage.exists("Crew/A").unwrap());
    }
}

#[test]
fn delete_create_and_rename_drop_the_cached_html_of_linking_pages() {
    for storage in each_engine() {
        linked(&storage, "Target", "t", &[]);
        linked(&storage, "Linker", "[[Target]]", &["Target"]);
        linked(&storage, "Bystander", "no links", &[]);
        cache(&storage, "Linker");
        cache(&storage, "Bystander");

        // A render that started before the deletion must not be stored after it.
        let rev = storage.current("Linker").unwrap().unwrap().meta.rev;
        storage.delete("Target", "bob", "").unwrap();
        assert!(!is_cached(&storage, "Linker"), "the link must turn red");
        assert!(is_cached(&storage, "Bystander"));
        let CachedHtml::Miss(ticket) = storage.cached_html("Linker", rev, "v").unwrap() else {
            unreachable!()
        };

        storage.undelete("Target", "bob", "").unwrap();
        assert!(!storage.store_html(&ticket, "v", "stale").unwrap());
        cache(&storage, "Linker");
        storage.rename(&rename("Target", "Moved", false)).unwrap();
        assert!(!is_cached(&storage, "Linker"), "the link must turn red");
        cache(&storage, "Linker");
        storage.rename(&rename("Moved", "Target", false)).unwrap();
        assert!(!is_cached(&storage, "Linker"), "the link must turn blue");
        assert_eq!(storage.redirect("Target").unwrap(), None);
        assert!(is_cached(&storage, "Bystander"));
    }
}

#[test]
fn page_info_counts_revisions_and_authors() {
    for storage in each_engine() {
        assert_eq!(storage.page_info("P").unwrap(), None);
        saved(&storage, edit("P", "a", None, 100));
        saved(&storage, edit("P", "abc", Some(1), 200));
        storage
            .save(storage::Save {
                author: "bob",
                ..edit("P", "abcd", Some(2), 300)
            })
            .unwrap();
        let info = storage.page_info("P").unwrap().unwrap();
        assert_eq!(info.name, "P");
        assert_eq!(info.revisions, 3);
        assert_eq!(
            info.authors,
            [("alice".to_owned(), 2), ("bob".to_owned(), 1)]
        );
        assert_eq!((info.size, info.created, info.modified), (4, 100, 300));
        assert!(!info.deleted);
        storage.delete("P", "carol", "").unwrap();
        let info = storage.page_info("P").unwrap().unwrap();
        assert!(info.deleted);
        assert_eq!((info.revisions, info.size), (4, 0));
    }
}

#[test]
fn events_replay_to_exactly_the_existing_pages() {
    for storage in each_engine() {
        saved(&storage, edit("A", "a", None, 1));
        saved(&storage, edit("B", "b", None, 1));
        storage.delete("B", "bob", "").unwrap();
        storage.rename(&rename("A", "C", false)).unwrap();
        storage.undelete("B", "bob", "").unwrap();
        saved(&storage, edit("D", "d", None, 1));
        storage.delete("D", "bob", "").unwrap();

        // Replay in small batches, as an indexer does, into a set of pages.
        let mut pages = std::collections::BTreeMap::new();
        let mut after = 0;
        let mut kinds = Vec::new();
        loop {
            let events = storage.events_after(after, 2).unwrap();
            let Some(last) = events.last() else { break };
            after = last.id();
            for event in events {
                match event {
                    PageEvent::Saved(logged) => {
                        kinds.push(format!("+{}", logged.revision.meta.page));
                        pages.insert(logged.revision.meta.page, logged.revision.text);
                    }
                    PageEvent::Removed { page, .. } => {
                        kinds.push(format!("-{page}"));
                        pages.remove(&page);
                    }
                }
            }
        }
        // Pages are named as they are called now (A's first save shows as C).
        assert_eq!(kinds, ["+C", "+B", "-B", "-A", "+C", "+B", "+D", "-D"]);
        let expected: Vec<_> = storage.page_names().unwrap();
        assert_eq!(pages.keys().cloned().collect::<Vec<_>>(), expected);
        assert_eq!(pages["B"], "b");
    }
}

/// Workers race to delete, undelete and rename the same pages; whatever the interleaving, each
/// operation happened whole: revisions are dense, kinds alternate sensibly, and the final state agrees
/// with the last revision.
fn race(storage: &Storage, worker: usize, rounds: usize) {
    for round in 0..rounds {
        let page = format!("Race{}", round % 3);
        match (worker + round) % 4 {
            0 => {
                storage.delete(&page, "w", "").unwrap();
            }
            1 => {
                storage.undelete(&page, "w", "").unwrap();
            }
            2 => {
                let moved = format!("{page}-moved");
                if storage.rename(&rename(&page, &moved, false)).is_ok() {
                    // Put it back so the others find it; either may fail if someone else moved it.
                    let _ = storage.rename(&rename(&moved, &page, false));
                }
            }
            _ => {
                let base = current_rev(storage, &page);
                let text = format!("worker {worker} round {round}\n");
                storage.save(edit(&page, &text, base, 1)).unwrap();
            }
        }
    }
}

fn check_race(path: &Path) {
    let storage = Storage::open(path).unwrap();
    for name in storage
        .page_names()
        .unwrap()
        .into_iter()
        .chain(storage.deleted_pages().unwrap())
    {
        let history = storage.history(&name, usize::MAX, 0).unwrap();
        let revs: Vec<u64> = history.iter().rev().map(|m| m.rev).collect();
        assert_eq!(revs, (1..=revs.len() as u64).collect::<Vec<_>>(), "{name}");
        for pair in history.windows(2) {
            // Newest first: a deletion is never followed by another deletion, nor an undelete by one.
            let (newer, older) = (&pair[0].kind, &pair[1].kind);
            assert!(
                !(matches!(newer, ChangeKind::Delete) && matches!(older, ChangeKind::Delete)),
                "{name}: two deletions in a row"
            );
            assert!(
                !matches!(newer, ChangeKind::Undelete) || matches!(older, ChangeKind::Delete),
                "{name}: an undelete of a live page"
            );
        }
        let deleted = matches!(history[0].kind, ChangeKind::Delete);
        assert_eq!(storage.is_deleted(&name).unwrap(), deleted, "{name}");
        assert_eq!(storage.exists(&name).unwrap(), !deleted, "{name}");
        // Every revision reads back (the compact chain is intact).
        for rev in 1..=history.len() as u64 {
            assert!(storage.revision(&name, rev).unwrap().is_some());
        }
        if !deleted {
            let blame = storage.blame(&name).unwrap().unwrap();
            let text = storage.current(&name).unwrap().unwrap().text;
            assert_eq!(blame.len(), text.lines().count(), "{name}");
        }
    }
}

fn seed(path: &Path) {
    let storage = Storage::open(path).unwrap();
    for i in 0..3 {
        saved(&storage, edit(&format!("Race{i}"), "seed\n", None, 1));
    }
}

#[test]
fn threads_race_to_delete_undelete_rename_and_save() {
    let db = TempDb::new();
    seed(&db.path);
    let workers = 6;
    let start = Arc::new(Barrier::new(workers));
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let (path, start) = (&db.path, Arc::clone(&start));
            scope.spawn(move || {
                let storage = Storage::open(path).unwrap();
                start.wait();
                race(&storage, worker, 24);
            });
        }
    });
    check_race(&db.path);
}

#[test]
fn processes_race_to_delete_undelete_rename_and_save() {
    let db = TempDb::new();
    seed(&db.path);
    run_children("lifecycle::lifecycle_child", &db.path, 4);
    check_race(&db.path);
}

/// Entry point of the child processes of `processes_race_to_delete_undelete_rename_and_save`.
#[test]
#[ignore = "runs only inside a child process started by processes_race_to_delete_undelete_rename_and_save"]
fn lifecycle_child() {
    let (path, worker) = child_worker();
    let storage = Storage::open(&path).unwrap();
    race(&storage, worker, 24);
}

#[test]
fn names_are_listed_a_page_at_a_time_under_a_prefix_without_deleted_pages() {
    for storage in each_engine() {
        for name in [
            "Team",
            "Team/B",
            "Team/A",
            "Team/Ä",
            "Teams",
            "Other",
            "Team/Gone",
        ] {
            linked(&storage, name, "text\n", &[]);
        }
        storage.delete("Team/Gone", "bob", "").unwrap();
        let all = storage.page_names_from("", None, 100).unwrap();
        assert_eq!(
            all,
            ["Other", "Team", "Team/A", "Team/B", "Team/Ä", "Teams"]
        );
        assert_eq!(
            storage.page_names_from("Team/", None, 100).unwrap(),
            ["Team/A", "Team/B", "Team/Ä"]
        );
        // The cursor: after the last name of the page before, whatever it is.
        assert_eq!(
            storage.page_names_from("Team/", Some("Team/A"), 1).unwrap(),
            ["Team/B"]
        );
        assert_eq!(
            storage.page_names_from("Team/", Some("Other"), 2).unwrap(),
            ["Team/A", "Team/B"]
        );
        assert!(storage
            .page_names_from("Team/", Some("Team/Ä"), 5)
            .unwrap()
            .is_empty());
        assert!(storage.page_names_from("Nope", None, 5).unwrap().is_empty());
    }
}
