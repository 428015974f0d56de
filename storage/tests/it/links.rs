//! The link graph and the render cache it keeps right.

use storage::{CachedHtml, SaveOutcome, Storage};

use crate::{edit, TempDb};

fn linked(storage: &Storage, page: &str, text: &str, base: Option<u64>, links: &[&str]) -> u64 {
    match storage
        .save_with_links(edit(page, text, base, 1_000), links)
        .unwrap()
    {
        SaveOutcome::Saved { rev } => rev,
        other => panic!("expected a new revision, got {other:?}"),
    }
}

fn ticket(storage: &Storage, page: &str, rev: u64, variant: &str) -> storage::RenderTicket {
    match storage.cached_html(page, rev, variant).unwrap() {
        CachedHtml::Miss(ticket) => ticket,
        CachedHtml::Hit(html) => panic!("expected a miss, found {html:?}"),
    }
}

fn hit(storage: &Storage, page: &str, rev: u64, variant: &str) -> Option<String> {
    match storage.cached_html(page, rev, variant).unwrap() {
        CachedHtml::Hit(html) => Some(html),
        CachedHtml::Miss(_) => None,
    }
}

#[test]
fn backlinks_orphans_and_wanted_follow_current_revisions() {
    let storage = Storage::open_in_memory().unwrap();
    linked(&storage, "Front", "x", None, &["A", "B", "Front"]);
    linked(&storage, "A", "x", None, &["B", "Missing", "A"]);
    linked(&storage, "B", "x", None, &["Missing", "Other"]);
    linked(&storage, "Lonely", "x", None, &["Lonely"]);

    assert_eq!(storage.backlinks("B").unwrap(), ["A", "Front"]);
    assert_eq!(storage.backlinks("A").unwrap(), ["Front"]);
    assert!(
        storage.backlinks("Front").unwrap().is_empty(),
        "self-links do not count"
    );
    assert_eq!(storage.orphans().unwrap(), ["Front", "Lonely"]);
    assert_eq!(
        storage.wanted().unwrap(),
        [("Missing".to_owned(), 2), ("Other".to_owned(), 1)]
    );

    // A new revision replaces the page's links; older revisions no longer count.
    linked(&storage, "A", "y", Some(1), &["Other"]);
    assert_eq!(storage.backlinks("B").unwrap(), ["Front"]);
    assert_eq!(
        storage.wanted().unwrap(),
        [("Other".to_owned(), 2), ("Missing".to_owned(), 1)]
    );

    // Creating a wanted page takes it off the list and gives it backlinks.
    linked(&storage, "Other", "x", None, &[]);
    assert_eq!(storage.wanted().unwrap(), [("Missing".to_owned(), 1)]);
    assert_eq!(storage.backlinks("Other").unwrap(), ["A", "B"]);
}

#[test]
fn pages_saved_without_links_wait_to_be_filled_in() {
    let storage = Storage::open_in_memory().unwrap();
    crate::saved(&storage, edit("Old", "[[New]]", None, 1));
    linked(&storage, "Known", "x", None, &[]);
    let missing = storage.pages_missing_links(10).unwrap();
    let names: Vec<_> = missing.iter().map(|r| (r.page.as_str(), r.rev)).collect();
    assert_eq!(names, [("Old", 1)]);
    assert!(storage.wanted().unwrap().is_empty());

    assert!(storage.set_links("Old", 1, &["New"]).unwrap());
    assert!(storage.pages_missing_links(10).unwrap().is_empty());
    assert_eq!(storage.wanted().unwrap(), [("New".to_owned(), 1)]);
    // Only the current revision takes links.
    assert!(!storage.set_links("Old", 2, &["X"]).unwrap());
    assert!(!storage.set_links("Nowhere", 1, &["X"]).unwrap());
}

#[test]
fn the_graph_survives_reopening_and_an_old_database_lists_every_page_as_missing_links() {
    let db = TempDb::new();
    {
        let storage = db.open();
        crate::saved(&storage, edit("P", "text", None, 1));
        linked(&storage, "Q", "[[P]]", None, &["P"]);
    }
    let storage = db.open();
    assert_eq!(storage.backlinks("P").unwrap(), ["Q"]);
    assert_eq!(storage.pages_missing_links(10).unwrap().len(), 1);
}

#[test]
fn cached_html_is_served_per_variant_and_only_for_the_current_revision() {
    let storage = Storage::open_in_memory().unwrap();
    linked(&storage, "P", "one", None, &[]);
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
    linked(&storage, "P", "two", Some(1), &[]);
    assert!(!storage.store_html(&stale, "", "<p>one</p>").unwrap());
    assert_eq!(storage.cached_html_count().unwrap(), 0);
}

#[test]
fn pages_without_recorded_links_are_not_cached() {
    let storage = Storage::open_in_memory().unwrap();
    crate::saved(&storage, edit("P", "[[Q]]", None, 1));
    let t = ticket(&storage, "P", 1, "");
    assert!(!storage.store_html(&t, "", "html").unwrap());
}

#[test]
fn creating_a_page_invalidates_the_pages_linking_to_it() {
    let storage = Storage::open_in_memory().unwrap();
    linked(&storage, "Links", "[[Target]]", None, &["Target"]);
    linked(&storage, "Bystander", "x", None, &[]);
    for page in ["Links", "Bystander"] {
        let t = ticket(&storage, page, 1, "");
        assert!(storage.store_html(&t, "", "old").unwrap());
    }
    // A render that started before the creation must not be stored after it.
    let in_flight = ticket(&storage, "Links", 1, "other");

    linked(&storage, "Target", "here", None, &[]);
    assert_eq!(hit(&storage, "Links", 1, ""), None);
    assert_eq!(hit(&storage, "Bystander", 1, "").as_deref(), Some("old"));
    assert!(!storage.store_html(&in_flight, "other", "red link").unwrap());

    // Editing an existing page invalidates nobody else.
    let t = ticket(&storage, "Links", 1, "");
    assert!(storage.store_html(&t, "", "new").unwrap());
    linked(&storage, "Target", "changed", Some(1), &[]);
    assert_eq!(hit(&storage, "Links", 1, "").as_deref(), Some("new"));
}

/// A database as schema version 1 wrote it: pages and revisions, no link graph.
#[test]
fn a_version_1_database_gains_the_link_graph_with_every_page_missing_links() {
    let db = TempDb::new();
    {
        let conn = rusqlite::Connection::open(&db.path).unwrap();
        conn.execute_batch(
            "CREATE TABLE pages (
                 id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, current_rev INTEGER NOT NULL);
             CREATE TABLE revisions (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 page_id INTEGER NOT NULL REFERENCES pages (id), rev INTEGER NOT NULL,
                 author TEXT NOT NULL, time INTEGER NOT NULL, comment TEXT NOT NULL,
                 size INTEGER NOT NULL, size_delta INTEGER NOT NULL,
                 format TEXT NOT NULL DEFAULT 'plain', body TEXT NOT NULL, UNIQUE (page_id, rev));
             CREATE INDEX revisions_recent ON revisions (time DESC, id DESC);
             INSERT INTO pages VALUES (1, 'Old', 2);
             INSERT INTO revisions (page_id, rev, author, time, comment, size, size_delta, body)
                 VALUES (1, 1, 'a', 1, '', 1, 1, 'x'), (1, 2, 'a', 2, '', 7, 6, '[[New]]');
             PRAGMA application_id = 1903520114;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let storage = db.open();
    let missing = storage.pages_missing_links(10).unwrap();
    assert_eq!(
        missing
            .iter()
            .map(|r| (r.page.as_str(), r.rev, r.text.as_str()))
            .collect::<Vec<_>>(),
        [("Old", 2, "[[New]]")]
    );
    assert!(storage.set_links("Old", 2, &["New"]).unwrap());
    assert_eq!(storage.wanted().unwrap(), [("New".to_owned(), 1)]);
    let t = ticket(&storage, "Old", 2, "");
    assert!(storage.store_html(&t, "", "html").unwrap());
    linked(&storage, "New", "made", None, &[]);
    assert_eq!(hit(&storage, "Old", 2, ""), None);
}
