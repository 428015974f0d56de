//! The link graph and the render cache it keeps right.

use storage::Storage;

use crate::support::{each_engine, edit, hit, linked, saved, ticket, TempDb, SCHEMA_V1};

#[test]
fn backlinks_orphans_and_wanted_follow_current_revisions() {
    for storage in each_engine() {
        linked(&storage, "Front", "x", &["A", "B", "Front"]);
        linked(&storage, "A", "x", &["B", "Missing", "A"]);
        linked(&storage, "B", "x", &["Missing", "Other"]);
        linked(&storage, "Lonely", "x", &["Lonely"]);

        assert_eq!(storage.backlinks("B").unwrap(), ["A", "Front"]);
        assert_eq!(storage.backlinks("A").unwrap(), ["Front"]);
        assert!(
            storage.backlinks("Front").unwrap().is_empty(),
            "self-links do not count"
        );
        assert_eq!(storage.orphans().unwrap(), ["Front", "Lonely"]);
        // A run of orphans at a time, after a cursor; wanted pages likewise, by name.
        let run = |after, limit| storage.orphans_from(after, limit).unwrap();
        assert_eq!(run(None, 1), ["Front"]);
        assert_eq!(run(Some("Front"), 5), ["Lonely"]);
        assert_eq!(
            storage.wanted_from(Some("Missing"), 5).unwrap(),
            [("Other".to_owned(), 1)]
        );
        assert_eq!(
            storage.wanted().unwrap(),
            [("Missing".to_owned(), 2), ("Other".to_owned(), 1)]
        );

        // A new revision replaces the page's links; older revisions no longer count.
        linked(&storage, "A", "y", &["Other"]);
        assert_eq!(storage.backlinks("B").unwrap(), ["Front"]);
        assert_eq!(
            storage.wanted().unwrap(),
            [("Other".to_owned(), 2), ("Missing".to_owned(), 1)]
        );

        // Creating a wanted page takes it off the list and gives it backlinks.
        linked(&storage, "Other", "x", &[]);
        assert_eq!(storage.wanted().unwrap(), [("Missing".to_owned(), 1)]);
        assert_eq!(storage.backlinks("Other").unwrap(), ["A", "B"]);
    }
}

#[test]
fn pages_saved_without_links_wait_to_be_filled_in() {
    let storage = Storage::open_in_memory().unwrap();
    let needed = storage.setup_needed().unwrap();
    assert!(needed.no_pages && !needed.links_missing, "{needed:?}");
    saved(&storage, edit("Old", "[[New]]", None, 1));
    linked(&storage, "Known", "x", &[]);
    let missing = storage.pages_missing_links(10).unwrap();
    let names: Vec<_> = missing
        .iter()
        .map(|r| (r.meta.page.as_str(), r.meta.rev))
        .collect();
    assert_eq!(names, [("Old", 1)]);
    assert!(storage.wanted().unwrap().is_empty());

    let needed = storage.setup_needed().unwrap();
    assert!(needed.links_missing && !needed.no_pages, "{needed:?}");

    assert!(storage.set_links("Old", 1, &["New"]).unwrap());
    assert!(storage.pages_missing_links(10).unwrap().is_empty());
    let needed = storage.setup_needed().unwrap();
    assert!(!needed.links_missing && !needed.no_pages, "{needed:?}");
    assert_eq!(storage.wanted().unwrap(), [("New".to_owned(), 1)]);
    // Only the current revision takes links.
    assert!(!storage.set_links("Old", 2, &["X"]).unwrap());
    assert!(!storage.set_links("Nowhere", 1, &["X"]).unwrap());
}

/// What the save path records of a revision's links, and the questions answered from it alone
/// (the names behind backlinks, orphans and wanted pages are kept by other modules), on every
/// engine.
#[test]
fn links_are_recorded_with_the_save_and_filled_in_later() {
    for storage in each_engine() {
        let engine = storage.engine();
        let needed = storage.setup_needed().unwrap();
        assert!(
            needed.no_pages && !needed.links_missing,
            "{engine}: {needed:?}"
        );
        saved(&storage, edit("Old", "[[New]]", None, 1));
        storage
            .save_with_links_and_files(
                edit("Known", "[[Old]] {{Old/a.png}}", None, 2),
                &["Old"],
                &[("Old", "a.png"), ("Gone", "x")],
            )
            .unwrap();
        let missing: Vec<_> = storage
            .pages_missing_links(10)
            .unwrap()
            .into_iter()
            .map(|r| (r.meta.page, r.meta.rev, r.text))
            .collect();
        assert_eq!(
            missing,
            [("Old".to_owned(), 1, "[[New]]".to_owned())],
            "{engine}"
        );
        let needed = storage.setup_needed().unwrap();
        assert!(
            needed.links_missing && !needed.no_pages,
            "{engine}: {needed:?}"
        );

        assert!(storage
            .set_links_and_files("Old", 1, &["New"], &[("Old", "a.png")])
            .unwrap());
        assert!(
            storage.pages_missing_links(10).unwrap().is_empty(),
            "{engine}"
        );
        assert!(!storage.setup_needed().unwrap().links_missing, "{engine}");
        // Only the current revision takes links.
        assert!(!storage.set_links("Old", 2, &["X"]).unwrap(), "{engine}");
        assert!(
            !storage.set_links("Nowhere", 1, &["X"]).unwrap(),
            "{engine}"
        );

        assert_eq!(
            storage.file_backlinks("Old", "a.png").unwrap(),
            ["Known", "Old"],
            "{engine}"
        );
        let wanted: Vec<_> = storage
            .wanted_files()
            .unwrap()
            .into_iter()
            .map(|w| (w.page, w.name, w.links))
            .collect();
        assert_eq!(
            wanted,
            [
                ("Old".to_owned(), "a.png".to_owned(), 2),
                ("Gone".to_owned(), "x".to_owned(), 1)
            ],
            "{engine}"
        );
        // A new revision replaces its page's links: saved without them, it waits again.
        saved(&storage, edit("Known", "no links", Some(1), 3));
        assert_eq!(
            storage.file_backlinks("Old", "a.png").unwrap(),
            ["Old"],
            "{engine}"
        );
        assert_eq!(
            storage.pages_missing_links(10).unwrap().len(),
            1,
            "{engine}"
        );
    }
}

#[test]
fn the_graph_survives_reopening_and_an_old_database_lists_every_page_as_missing_links() {
    let db = TempDb::new();
    {
        let storage = db.open();
        saved(&storage, edit("P", "text", None, 1));
        linked(&storage, "Q", "[[P]]", &["P"]);
    }
    let storage = db.open();
    assert_eq!(storage.backlinks("P").unwrap(), ["Q"]);
    assert_eq!(storage.pages_missing_links(10).unwrap().len(), 1);
}

#[test]
fn cached_html_is_served_per_variant_and_only_for_the_current_revision() {
    for storage in each_engine() {
        linked(&storage, "P", "one", &[]);
        let t = ticket(&storage, "P", 1, "/wiki");
        assert!(storage.store_html(&t, "/wiki", "<p>one</p>").unwrap());
        assert_eq!(
            hit(&storage, "P", 1, "/wiki").as_deref(),
            Some("<p>one</p>")
        );
        assert_eq!(
            hit(&storage, "P", 1, ""),
            None,
            "another mount is another entry"
        );
        assert_eq!(storage.cached_html_count().unwrap(), 1);

        // A stale ticket (the page moved on) stores nothing; the old entry is dropped by the save.
        let stale = ticket(&storage, "P", 1, "");
        linked(&storage, "P", "two", &[]);
        assert!(!storage.store_html(&stale, "", "<p>one</p>").unwrap());
        assert_eq!(storage.cached_html_count().unwrap(), 0);
    }
}

#[test]
fn pages_without_recorded_links_are_not_cached() {
    for storage in each_engine() {
        saved(&storage, edit("P", "[[Q]]", None, 1));
        let t = ticket(&storage, "P", 1, "");
        assert!(!storage.store_html(&t, "", "html").unwrap());
    }
}

#[test]
fn creating_a_page_invalidates_the_pages_linking_to_it() {
    for storage in each_engine() {
        linked(&storage, "Links", "[[Target]]", &["Target"]);
        linked(&storage, "Bystander", "x", &[]);
        for page in ["Links", "Bystander"] {
            let t = ticket(&storage, page, 1, "");
            assert!(storage.store_html(&t, "", "old").unwrap());
        }
        // A render that started before the creation must not be stored after it.
        let in_flight = ticket(&storage, "Links", 1, "other");

        linked(&storage, "Target", "here", &[]);
        assert_eq!(hit(&storage, "Links", 1, ""), None);
        assert_eq!(hit(&storage, "Bystander", 1, "").as_deref(), Some("old"));
        assert!(!storage.store_html(&in_flight, "other", "red link").unwrap());

        // Editing an existing page invalidates nobody else.
        let t = ticket(&storage, "Links", 1, "");
        assert!(storage.store_html(&t, "", "new").unwrap());
        linked(&storage, "Target", "changed", &[]);
        assert_eq!(hit(&storage, "Links", 1, "").as_deref(), Some("new"));
    }
}

/// A database as schema version 1 wrote it: pages and revisions, no link graph.
#[test]
fn a_version_1_database_gains_the_link_graph_with_every_page_missing_links() {
    let db = TempDb::old(
        SCHEMA_V1,
        "INSERT INTO pages VALUES (1, 'Old', 2);
         INSERT INTO revisions (page_id, rev, author, time, comment, size, size_delta, body)
             VALUES (1, 1, 'a', 1, '', 1, 1, 'x'), (1, 2, 'a', 2, '', 7, 6, '[[New]]');",
    );
    let storage = db.open();
    let missing = storage.pages_missing_links(10).unwrap();
    assert_eq!(
        missing
            .iter()
            .map(|r| (r.meta.page.as_str(), r.meta.rev, r.text.as_str()))
            .collect::<Vec<_>>(),
        [("Old", 2, "[[New]]")]
    );
    assert!(storage.set_links("Old", 2, &["New"]).unwrap());
    assert_eq!(storage.wanted().unwrap(), [("New".to_owned(), 1)]);
    let t = ticket(&storage, "Old", 2, "");
    assert!(storage.store_html(&t, "", "html").unwrap());
    linked(&storage, "New", "made", &[]);
    assert_eq!(hit(&storage, "Old", 2, ""), None);
}

/// A cache row no render wrote (text that is not UTF-8, a blob: another program's write, a
/// damaged page of the file) is a miss, not an error, and the next render replaces it. SQLite's
/// alone: PostgreSQL's text column holds only UTF-8 text.
#[test]
fn a_damaged_cache_entry_is_a_miss_that_the_next_render_replaces() {
    let db = TempDb::new();
    let storage = db.open();
    linked(&storage, "P", "one", &[]);
    let t = ticket(&storage, "P", 1, "");
    assert!(storage.store_html(&t, "", "<p>one</p>").unwrap());
    let conn = rusqlite::Connection::open(&db.path).unwrap();
    for damage in ["CAST(X'C328FF' AS TEXT)", "X'3C703E'"] {
        conn.execute_batch(&format!("UPDATE rendered SET html = {damage}"))
            .unwrap();
        assert_eq!(hit(&storage, "P", 1, ""), None, "{damage}");
        let again = ticket(&storage, "P", 1, "");
        assert!(storage.store_html(&again, "", "<p>one</p>").unwrap());
        assert_eq!(hit(&storage, "P", 1, "").as_deref(), Some("<p>one</p>"));
    }
}
