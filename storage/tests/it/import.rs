//! Importing a page's whole history at once (`Storage::import_page`): original stamps and kinds,
//! reruns that add only what is new, and pages edited here since left alone; on both engines.

use storage::{ChangeKind, ImportOutcome, ImportedRevision, Save, SaveOutcome, Storage};

use crate::support::each_engine;

fn edit<'a>(text: &'a str, author: &'a str, time: i64) -> ImportedRevision<'a> {
    ImportedRevision {
        text,
        original: None,
        author,
        comment: "",
        time,
        kind: ChangeKind::Edit,
    }
}

fn history(storage: &Storage, page: &str) -> Vec<(u64, String, i64, ChangeKind)> {
    let mut metas = storage.history(page, 100, 0).unwrap();
    metas.reverse();
    metas
        .into_iter()
        .map(|m| (m.rev, m.author, m.time, m.kind))
        .collect()
}

#[test]
fn a_history_keeps_its_authors_times_texts_and_original_markup() {
    for storage in each_engine() {
        let mut second = edit("one\ntwo\n", "bob", 2_000);
        second.original = Some("one\n''two''\n");
        second.comment = "more";
        let revisions = [edit("one\n", "alice", 1_000), second];
        assert_eq!(
            storage.import_page("Notes", &revisions).unwrap(),
            ImportOutcome::Created { revisions: 2 }
        );
        assert_eq!(
            history(&storage, "Notes"),
            [
                (1, "alice".to_owned(), 1_000, ChangeKind::Edit),
                (2, "bob".to_owned(), 2_000, ChangeKind::Edit)
            ]
        );
        // Older revisions are compacted as saves compact them, and read back whole.
        assert_eq!(storage.revision("Notes", 1).unwrap().unwrap().text, "one\n");
        assert_eq!(
            storage.current("Notes").unwrap().unwrap().meta.comment,
            "more"
        );
        assert_eq!(
            storage.original_markup("Notes", 2).unwrap().as_deref(),
            Some("one\n''two''\n")
        );
        assert_eq!(storage.original_markup("Notes", 1).unwrap(), None);
        let blame = storage.blame("Notes").unwrap().unwrap();
        let authors: Vec<&str> = blame.iter().map(|line| line.author.as_str()).collect();
        assert_eq!(authors, ["alice", "bob"]);
    }
}

#[test]
fn a_rerun_appends_only_the_new_revisions_and_then_nothing() {
    for storage in each_engine() {
        let first = [edit("a", "alice", 10), edit("b", "alice", 20)];
        storage.import_page("Page", &first).unwrap();
        assert_eq!(
            storage.import_page("Page", &first).unwrap(),
            ImportOutcome::Unchanged
        );
        let more = [
            edit("a", "alice", 10),
            edit("b", "alice", 20),
            edit("c", "bob", 30),
        ];
        assert_eq!(
            storage.import_page("Page", &more).unwrap(),
            ImportOutcome::Extended { added: 1 }
        );
        assert_eq!(storage.revision_count("Page").unwrap(), 3);
        assert_eq!(
            storage.import_page("Page", &more).unwrap(),
            ImportOutcome::Unchanged
        );
    }
}

#[test]
fn a_page_edited_here_since_is_left_alone() {
    for storage in each_engine() {
        let first = [edit("a", "alice", 10)];
        storage.import_page("Page", &first).unwrap();
        let saved = storage
            .save(Save {
                page: "Page",
                text: "edited here",
                author: "carol",
                comment: "",
                base_rev: Some(1),
                time: Some(15),
            })
            .unwrap();
        assert_eq!(saved, SaveOutcome::Saved { rev: 2 });
        let more = [edit("a", "alice", 10), edit("b", "alice", 20)];
        assert_eq!(
            storage.import_page("Page", &more).unwrap(),
            ImportOutcome::Diverged { stored: 2 }
        );
        assert_eq!(
            storage.current("Page").unwrap().unwrap().text,
            "edited here"
        );
        // A stored history longer than the import's diverges too.
        assert_eq!(
            storage.import_page("Page", &first).unwrap(),
            ImportOutcome::Diverged { stored: 2 }
        );
    }
}

#[test]
fn a_deletion_last_leaves_the_page_deleted_with_its_history() {
    for storage in each_engine() {
        let revisions = [
            edit("kept text", "alice", 10),
            ImportedRevision {
                kind: ChangeKind::Delete,
                comment: "spam",
                ..edit("ignored", "bob", 20)
            },
        ];
        storage.import_page("Gone", &revisions).unwrap();
        assert!(!storage.exists("Gone").unwrap());
        assert!(storage.is_deleted("Gone").unwrap());
        assert_eq!(storage.revision("Gone", 2).unwrap().unwrap().text, "");
        assert_eq!(storage.undelete("Gone", "admin", "").unwrap(), Some(3));
        assert_eq!(storage.current("Gone").unwrap().unwrap().text, "kept text");
        // Re-imported as it was: the stored history (now longer) is left alone.
        assert_eq!(
            storage.import_page("Gone", &revisions).unwrap(),
            ImportOutcome::Diverged { stored: 3 }
        );
    }
}

#[test]
fn a_rename_leaves_a_redirect_from_the_old_name() {
    for storage in each_engine() {
        let revisions = [
            edit("text", "alice", 10),
            ImportedRevision {
                kind: ChangeKind::Rename {
                    from: "OldName".to_owned(),
                },
                ..edit("text", "alice", 20)
            },
        ];
        storage.import_page("NewName", &revisions).unwrap();
        assert_eq!(
            storage.redirect("OldName").unwrap().as_deref(),
            Some("NewName")
        );
        assert_eq!(
            history(&storage, "NewName")[1].3,
            ChangeKind::Rename {
                from: "OldName".to_owned()
            }
        );
    }
}

#[test]
fn imported_revisions_are_in_the_log_the_indexer_replays() {
    for storage in each_engine() {
        let before = storage.last_revision_id().unwrap();
        storage
            .import_page("A", &[edit("a", "alice", 10), edit("aa", "alice", 11)])
            .unwrap();
        let logged = storage.revisions_after(before, 10).unwrap();
        assert_eq!(logged.len(), 2);
        assert_eq!(storage.pages_missing_links(10).unwrap().len(), 1);
    }
}

#[test]
fn only_a_page_nobody_but_the_installer_touched_is_removed_for_an_import() {
    for storage in each_engine() {
        let seed = |page: &str| {
            storage
                .save(Save {
                    page,
                    text: "installed [[Help]]",
                    author: "quire",
                    comment: "Installed with quire",
                    base_rev: None,
                    time: None,
                })
                .unwrap()
        };
        seed("FrontPage");
        seed("Help");
        storage
            .save(Save {
                page: "Help",
                text: "edited",
                author: "alice",
                comment: "",
                base_rev: Some(1),
                time: None,
            })
            .unwrap();
        assert!(!storage.remove_untouched_page("Help", "quire").unwrap());
        assert!(!storage.remove_untouched_page("Missing", "quire").unwrap());
        assert!(storage.remove_untouched_page("FrontPage", "quire").unwrap());
        assert!(!storage.exists("FrontPage").unwrap());
        assert_eq!(storage.revision_count("FrontPage").unwrap(), 0);
        assert_eq!(
            storage
                .import_page("FrontPage", &[edit("moin's", "bob", 5)])
                .unwrap(),
            ImportOutcome::Created { revisions: 1 }
        );
        assert_eq!(storage.revision_count("Help").unwrap(), 2);
    }
}
