//! Files attached to pages: indexed by name and text beside the pages, kept up to date (added,
//! replaced, removed one by one or with their page), filtered by their page's rights, caught up
//! from a log of their own (a second watermark), and an index from before files read as outdated and
//! replaced without an error.

use search::{FileDoc, Hit, PageDoc, SearchIndex, Visible, Watermark, MIN_WRITER_HEAP};

const PAGES: &[(&str, &str)] = &[
    (
        "Design",
        "How the system fits together: notes on the parts.",
    ),
    (
        "Team/Notes",
        "Meeting notes. We drew a diagram on the whiteboard.",
    ),
    ("Secret", "Salaries and other private notes."),
];

const FILES: &[(&str, &str, &str)] = &[
    ("Design", "diagram.png", ""),
    (
        "Design",
        "architecture.md",
        "The frontend talks to the backend through a queue.",
    ),
    (
        "Team/Notes",
        "minutes.txt",
        "Decided: ship the release on Friday.",
    ),
    (
        "Secret",
        "payroll.txt",
        "Friday is payday; the backend pays.",
    ),
    ("Secret", "diagram-secret.png", ""),
];

fn page(name: &str, text: &str) -> PageDoc<'static> {
    PageDoc {
        name: Box::leak(name.to_owned().into_boxed_str()),
        text: Box::leak(text.to_owned().into_boxed_str()),
        author: "alice",
        time: 1_700_000_000,
    }
}

fn file<'a>(page: &'a str, name: &'a str, text: &'a str) -> FileDoc<'a> {
    FileDoc {
        page,
        name,
        text,
        author: "bob",
        time: 1_700_000_100,
    }
}

fn index_with(
    pages: &[(&str, &str)],
    files: &[(&str, &str, &str)],
) -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::new(&dir.path().join("index"));
    let mut update = index.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
    for (name, text) in pages {
        update.put(&page(name, text)).unwrap();
    }
    for (on, name, text) in files {
        update.put_file(&file(on, name, text)).unwrap();
    }
    update
        .commit_at(Watermark {
            revisions: pages.len() as u64,
            files: files.len() as u64,
        })
        .unwrap();
    (dir, index)
}

/// Hits as `Page` or `Page:file`.
fn found(index: &SearchIndex, query: &str, visible: Visible<'_>) -> Vec<String> {
    let mut hits: Vec<String> = index
        .search(query, visible, 0, 50)
        .unwrap()
        .hits
        .iter()
        .map(label)
        .collect();
    hits.sort();
    hits
}

fn label(hit: &Hit) -> String {
    match &hit.file {
        Some(file) => format!("{}:{file}", hit.name),
        None => hit.name.clone(),
    }
}

#[test]
fn files_are_found_by_name_and_by_text_and_say_so() {
    let (_dir, index) = index_with(PAGES, FILES);
    assert_eq!(
        found(&index, "diagram", Visible::All),
        vec![
            "Design:diagram.png",
            "Secret:diagram-secret.png",
            "Team/Notes"
        ]
    );
    assert_eq!(
        found(&index, "diagram.png", Visible::All),
        vec!["Design:diagram.png"],
        "the exact name"
    );
    assert_eq!(
        found(&index, "title:architecture", Visible::All),
        vec!["Design:architecture.md"]
    );
    assert_eq!(
        found(&index, "backend", Visible::All),
        vec!["Design:architecture.md", "Secret:payroll.txt"]
    );
    assert_eq!(
        found(&index, "\"talks to the backend\"", Visible::All),
        vec!["Design:architecture.md"]
    );
    assert_eq!(
        found(&index, "front*", Visible::All),
        vec!["Design:architecture.md"]
    );
    assert_eq!(found(&index, "author:bob", Visible::All).len(), FILES.len());

    let results = index.search("queue", Visible::All, 0, 10).unwrap();
    assert_eq!(results.total, 1);
    let hit = &results.hits[0];
    assert_eq!(hit.name, "Design");
    assert_eq!(hit.file.as_deref(), Some("architecture.md"));
    assert_eq!(hit.author, "bob");
    assert_eq!(hit.time, 1_700_000_100);
    assert!(
        hit.snippet_html.contains("<mark>queue</mark>"),
        "{}",
        hit.snippet_html
    );
    let image = index.search("diagram.png", Visible::All, 0, 10).unwrap();
    assert_eq!(image.hits[0].snippet_html, "", "no text, no snippet");

    // Go-to, suggestions and did-you-mean are pages' only.
    assert_eq!(
        index
            .search("minutes.txt", Visible::All, 0, 10)
            .unwrap()
            .go_to,
        Vec::<String>::new()
    );
    assert_eq!(
        index.suggest("min", Visible::All, 10).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        index
            .search("payrol", Visible::All, 0, 10)
            .unwrap()
            .did_you_mean,
        Vec::<String>::new()
    );
}

#[test]
fn files_are_replaced_and_removed_one_by_one_or_with_their_page() {
    let (_dir, index) = index_with(PAGES, FILES);
    let mut update = index.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
    assert_eq!(update.files_indexed_up_to(), FILES.len() as u64);
    update
        .put_file(&file("Design", "architecture.md", "Now a monolith."))
        .unwrap();
    update.remove_file("Team/Notes", "minutes.txt").unwrap();
    update.commit_files_and_keep(20).unwrap();
    assert_eq!(found(&index, "queue", Visible::All), Vec::<String>::new());
    assert_eq!(
        found(&index, "monolith", Visible::All),
        vec!["Design:architecture.md"]
    );
    assert_eq!(
        found(&index, "friday", Visible::All),
        vec!["Secret:payroll.txt"]
    );
    assert_eq!(
        index.watermark().unwrap(),
        Watermark {
            revisions: 3,
            files: 20
        }
    );

    // A page's removal leaves its files; removing them is its own step (a rename puts them again
    // under the new name).
    update.remove("Design");
    update.commit_and_keep(4).unwrap();
    assert_eq!(
        found(&index, "monolith", Visible::All),
        vec!["Design:architecture.md"]
    );
    update.remove_files("Design");
    update
        .put(&page("Plan", "How the system fits together."))
        .unwrap();
    update
        .put_file(&file("Plan", "architecture.md", "Now a monolith."))
        .unwrap();
    update.put_file(&file("Plan", "diagram.png", "")).unwrap();
    update
        .commit_at_and_keep(Watermark {
            revisions: 5,
            files: 21,
        })
        .unwrap();
    assert_eq!(
        found(&index, "monolith OR diagram.png", Visible::All),
        vec!["Plan:architecture.md", "Plan:diagram.png"]
    );
    // Removing one file of a page leaves its other files and another page's file of that name.
    update.put_file(&file("Design", "diagram.png", "")).unwrap();
    update.remove_file("Plan", "diagram.png").unwrap();
    update.commit(6).unwrap();
    assert_eq!(
        found(&index, "diagram.png", Visible::All),
        vec!["Design:diagram.png"]
    );
    assert_eq!(
        index.watermark().unwrap(),
        Watermark {
            revisions: 6,
            files: 21
        }
    );
}

#[test]
fn a_hidden_page_s_files_are_never_shown_or_counted() {
    let (_dir, index) = index_with(PAGES, FILES);
    let hidden = ["Secret".to_owned()];
    let except = Visible::Except(&hidden);
    assert_eq!(
        found(&index, "diagram", except),
        vec!["Design:diagram.png", "Team/Notes"]
    );
    assert_eq!(index.search("friday", except, 0, 10).unwrap().total, 1);
    assert_eq!(index.search("payroll", except, 0, 10).unwrap().total, 0);
    assert_eq!(
        index.search("payroll", Visible::All, 0, 10).unwrap().total,
        1
    );

    let shown = ["Design".to_owned()];
    let only = Visible::Only(&shown);
    assert_eq!(
        found(&index, "diagram OR friday OR backend", only),
        vec!["Design:architecture.md", "Design:diagram.png"]
    );
    assert_eq!(
        index
            .search("diagram OR friday OR backend", only, 0, 10)
            .unwrap()
            .total,
        2
    );
    assert_eq!(
        index
            .search("-nothing", Visible::Only(&[]), 0, 10)
            .unwrap()
            .total,
        0,
        "nothing visible, nothing found"
    );

    // Whatever the hidden page's files hold, the answer is the one an index without them gives:
    // counts, order, scores, snippets and the words a prefix stands for.
    let visible_files: Vec<(&str, &str, &str)> = FILES
        .iter()
        .copied()
        .filter(|(on, _, _)| *on != "Secret")
        .collect();
    let visible_pages: Vec<(&str, &str)> = PAGES
        .iter()
        .copied()
        .filter(|(name, _)| *name != "Secret")
        .collect();
    let (_plain_dir, plain) = index_with(&visible_pages, &visible_files);
    let mut files = FILES.to_vec();
    let noise: Vec<String> = (0..30)
        .map(|i| format!("backendz{i} backend friday frontier"))
        .collect();
    let names: Vec<String> = (0..30).map(|i| format!("noise{i}.txt")).collect();
    for (name, text) in names.iter().zip(&noise) {
        files.push(("Secret", name, text));
    }
    let (_mixed_dir, mixed) = index_with(PAGES, &files);
    for query in [
        "backend",
        "front*",
        "backend*",
        "friday OR diagram",
        "-queue",
        "notes",
    ] {
        assert_eq!(
            mixed.search(query, except, 0, 50).unwrap(),
            plain.search(query, Visible::All, 0, 50).unwrap(),
            "{query}"
        );
    }
}

#[test]
fn pages_rank_as_if_there_were_no_files() {
    let pages: Vec<(String, String)> = (0..12)
        .map(|i| {
            (
                format!("Page{i}"),
                format!(
                    "notes {} release {}",
                    "notes ".repeat(i % 4),
                    "word ".repeat(i)
                ),
            )
        })
        .collect();
    let pages: Vec<(&str, &str)> = pages
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let (_plain_dir, plain) = index_with(&pages, &[]);
    let texts: Vec<String> = (0..20)
        .map(|i| format!("release release {}", "filler ".repeat(i * 3)))
        .collect();
    let names: Vec<String> = (0..20).map(|i| format!("file{i}.txt")).collect();
    let files: Vec<(&str, &str, &str)> = names
        .iter()
        .zip(&texts)
        .map(|(name, text)| ("Page0", name.as_str(), text.as_str()))
        .collect();
    let (_mixed_dir, mixed) = index_with(&pages, &files);
    for query in [
        "notes release",
        "notes OR release",
        "rel*",
        "\"notes release\"",
    ] {
        let expected = plain.search(query, Visible::All, 0, 50).unwrap();
        let mut pages_only = mixed.search(query, Visible::All, 0, 50).unwrap();
        pages_only.hits.retain(|hit| hit.file.is_none());
        assert_eq!(pages_only.hits, expected.hits, "{query}");
    }
    // Files are ranked among pages and paged with them.
    let all = mixed.search("release", Visible::All, 0, 100).unwrap();
    assert_eq!(all.total, 32);
    let paged: Vec<Hit> = (0..4)
        .flat_map(|n| {
            mixed
                .search("release", Visible::All, n * 10, 10)
                .unwrap()
                .hits
        })
        .collect();
    assert_eq!(paged, all.hits);
    assert!(all.hits.windows(2).all(|two| two[0].score >= two[1].score));
}

#[test]
fn the_file_watermark_is_kept_and_reset_by_a_rebuild() {
    let (dir, index) = index_with(PAGES, FILES);
    assert_eq!(index.files_indexed_up_to().unwrap(), FILES.len() as u64);
    let again = SearchIndex::new(&dir.path().join("index"));
    assert_eq!(
        again.watermark().unwrap(),
        Watermark {
            revisions: PAGES.len() as u64,
            files: FILES.len() as u64
        }
    );
    // A commit of revisions keeps the files' id, and the other way round.
    let mut update = again.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
    update.commit_and_keep(9).unwrap();
    update.commit_files_and_keep(12).unwrap();
    update.close().unwrap();
    assert_eq!(
        index.watermark().unwrap(),
        Watermark {
            revisions: 9,
            files: 12
        }
    );

    // A rebuild starts from nothing: what it does not record, the logs are replayed for.
    let mut rebuild = index.rebuild(MIN_WRITER_HEAP, 1).unwrap();
    rebuild.put(&page("Fresh", "rebuilt")).unwrap();
    rebuild.finish(42).unwrap();
    assert_eq!(
        index.watermark().unwrap(),
        Watermark {
            revisions: 42,
            files: 0
        }
    );
    assert_eq!(
        found(&index, "diagram.png", Visible::All),
        Vec::<String>::new()
    );

    let mut rebuild = index.rebuild(MIN_WRITER_HEAP, 1).unwrap();
    rebuild.put(&page("Fresh", "rebuilt")).unwrap();
    rebuild.put_file(&file("Fresh", "diagram.png", "")).unwrap();
    rebuild
        .finish_at(Watermark {
            revisions: 43,
            files: 7,
        })
        .unwrap();
    assert_eq!(
        again.watermark().unwrap(),
        Watermark {
            revisions: 43,
            files: 7
        }
    );
    assert_eq!(
        found(&again, "diagram.png", Visible::All),
        vec!["Fresh:diagram.png"]
    );
}

/// An index written by a quire before files: another schema, and a payload with the revision id
/// alone. It is replaced by an empty generation of the current schema (its watermark 0, so the app
/// replays both logs), never an error.
#[test]
fn an_index_from_before_files_is_replaced_not_an_error() {
    use tantivy::schema::{Schema, STORED, STRING};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("index");
    let old = root.join("gen-1");
    std::fs::create_dir_all(&old).unwrap();
    let mut schema = Schema::builder();
    let name = schema.add_text_field("name", STRING | STORED);
    let old_index = tantivy::Index::create_in_dir(&old, schema.build()).unwrap();
    let mut writer: tantivy::IndexWriter = old_index.writer(MIN_WRITER_HEAP).unwrap();
    writer
        .add_document(tantivy::doc!(name => "OldPage"))
        .unwrap();
    let mut prepared = writer.prepare_commit().unwrap();
    prepared.set_payload("17");
    prepared.commit().unwrap();
    drop(writer);

    let index = SearchIndex::new(&root);
    assert_eq!(index.watermark().unwrap(), Watermark::default());
    let results = index.search("oldpage", Visible::All, 0, 10).unwrap();
    assert_eq!(results.total, 0);
    assert_eq!(
        std::fs::read_to_string(root.join("CURRENT"))
            .unwrap()
            .trim(),
        "2"
    );
    assert!(!old.exists(), "the outdated generation is deleted");

    // Catching up works on it at once, and another process agrees on the generation.
    let mut update = index.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
    update.put(&page("OldPage", "back again")).unwrap();
    update.put_file(&file("OldPage", "a.txt", "again")).unwrap();
    update
        .commit_at(Watermark {
            revisions: 17,
            files: 3,
        })
        .unwrap();
    let other = SearchIndex::new(&root);
    assert_eq!(
        found(&other, "again", Visible::All),
        vec!["OldPage", "OldPage:a.txt"]
    );
    assert_eq!(
        other.watermark().unwrap(),
        Watermark {
            revisions: 17,
            files: 3
        }
    );
}

/// An index written after the schema had files but before the payload had their id (or by hand):
/// the revision id alone reads as no file event held.
#[test]
fn a_payload_with_the_revision_id_alone_holds_no_file_event() {
    let (dir, index) = index_with(PAGES, &[]);
    let gen = dir.path().join("index").join("gen-1");
    let raw = tantivy::Index::open_in_dir(&gen).unwrap();
    let mut writer: tantivy::IndexWriter = raw.writer(MIN_WRITER_HEAP).unwrap();
    let mut prepared = writer.prepare_commit().unwrap();
    prepared.set_payload("17");
    prepared.commit().unwrap();
    drop(writer);
    assert_eq!(
        index.watermark().unwrap(),
        Watermark {
            revisions: 17,
            files: 0
        }
    );
}
