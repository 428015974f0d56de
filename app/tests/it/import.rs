//! The import framework every source shares (`quire::import::Importer`): histories written with their
//! stamps, files, links and search, the rules of a rerun, and bad pages listed, not fatal.

use std::path::Path;
use std::sync::Arc;

use gateway::testing::TestClient;
use gateway::App;
use quire::cli::GlobalOptions;
use quire::commands::Setup;
use quire::config::ListenFlags;
use quire::import::{Importer, SourceFile, SourceKind, SourcePage, SourceRevision};
use storage::Storage;
use tempfile::TempDir;

fn setup(data: &Path) -> Setup {
    let global = GlobalOptions {
        data: Some(data.to_path_buf()),
        ..GlobalOptions::default()
    };
    Setup::new(&global, ListenFlags::default()).unwrap()
}

fn client(setup: &Setup) -> TestClient<Arc<dyn App>> {
    TestClient::new(setup.app().unwrap()).with_config(setup.gateway_config())
}

fn revision(text: &str, author: &str, time: i64, kind: SourceKind) -> SourceRevision {
    SourceRevision {
        text: text.to_owned(),
        original: None,
        author: author.to_owned(),
        comment: format!("by {author}"),
        time,
        kind,
    }
}

fn page(name: &str, revisions: Vec<SourceRevision>) -> SourcePage {
    SourcePage {
        name: name.to_owned(),
        origin: format!("pages/{name}"),
        revisions,
        files: Vec::new(),
    }
}

/// A small source: a front page over the installed one, a page with a file and a link, a deleted
/// page, a renamed page, and a page whose name quire refuses.
fn source(files: &Path) -> Vec<SourcePage> {
    let picture = files.join("diagram.png");
    std::fs::write(&picture, b"\x89PNG\r\n\x1a\n not really").unwrap();
    let mut notes = page(
        "Team/Notes",
        vec![
            revision("# Notes\n", "alice", 1_000_000_000, SourceKind::Edit),
            revision(
                "# Notes\n\nSee [[FrontPage]] and ![d](attachment:diagram.png) zebrafish\n",
                "bob",
                1_000_000_100,
                SourceKind::Edit,
            ),
        ],
    );
    notes.files.push(SourceFile {
        name: "diagram.png".to_owned(),
        path: picture,
        time: 1_000_000_050,
        uploader: "alice".to_owned(),
        comment: "the diagram".to_owned(),
    });
    vec![
        page(
            "FrontPage",
            vec![revision(
                "Our old wiki\n",
                "carol",
                999_000_000,
                SourceKind::Edit,
            )],
        ),
        notes,
        page(
            "Spam",
            vec![
                revision("buy", "mallory", 1_000_000_200, SourceKind::Edit),
                revision("", "alice", 1_000_000_300, SourceKind::Delete),
            ],
        ),
        page(
            "NewName",
            vec![
                revision("moved", "alice", 1_000_000_400, SourceKind::Edit),
                revision(
                    "moved",
                    "alice",
                    1_000_000_500,
                    SourceKind::Rename {
                        from: "OldName".to_owned(),
                    },
                ),
            ],
        ),
        page(
            "+bad",
            vec![revision("x", "alice", 1_000_000_600, SourceKind::Edit)],
        ),
    ]
}

fn import(setup: &Setup, pages: Vec<SourcePage>) -> anyhow::Result<quire::import::ImportSummary> {
    let mut importer = Importer::new(setup, "test", true)?;
    importer.set_total(pages.len() as u64);
    for page in pages {
        importer.page(page);
    }
    importer.finish()
}

#[test]
fn pages_come_in_with_history_files_links_and_search_and_bad_ones_are_listed() {
    let data = TempDir::new().unwrap();
    let files = TempDir::new().unwrap();
    let setup = setup(data.path());
    let err = import(&setup, source(files.path())).unwrap_err();
    let incomplete = err.downcast_ref::<quire::import::Incomplete>().unwrap();
    assert_eq!(incomplete.failed, 1);
    let log = std::fs::read_to_string(data.path().join("import-test.log")).unwrap();
    assert!(log.contains("failed: pages/+bad:"), "{log}");
    assert!(
        log.contains("4 pages (0 already there), 7 revisions, 1 files"),
        "{log}"
    );

    let storage = Storage::open(&data.path().join("wiki.sqlite3")).unwrap();
    // The installed front page, which nobody had touched, gave way to the source's.
    let front = storage.history("FrontPage", 10, 0).unwrap();
    assert_eq!(front.len(), 1);
    assert_eq!(
        (front[0].author.as_str(), front[0].time),
        ("carol", 999_000_000)
    );
    let notes = storage.history("Team/Notes", 10, 0).unwrap();
    let stamps: Vec<(&str, i64)> = notes.iter().map(|m| (m.author.as_str(), m.time)).collect();
    assert_eq!(stamps, [("bob", 1_000_000_100), ("alice", 1_000_000_000)]);
    assert!(storage.is_deleted("Spam").unwrap());
    assert_eq!(
        storage.redirect("OldName").unwrap().as_deref(),
        Some("NewName")
    );
    let attachments = storage.attachments("Team/Notes").unwrap();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].current.time, 1_000_000_050);

    let client = client(&setup);
    let front = client.get("/FrontPage").text();
    assert!(
        front.contains("What links here") && front.contains("Team/Notes"),
        "{front}"
    );
    let found = client.get("/+search?q=zebrafish").text();
    assert!(found.contains("Team/Notes"), "{found}");
}

#[test]
fn a_rerun_writes_nothing_new_and_leaves_pages_edited_since_alone() {
    let data = TempDir::new().unwrap();
    let files = TempDir::new().unwrap();
    let setup = setup(data.path());
    let _ = import(&setup, source(files.path()));
    let storage = Storage::open(&data.path().join("wiki.sqlite3")).unwrap();
    let before = storage.last_revision_id().unwrap();
    storage
        .save(storage::Save {
            page: "NewName",
            text: "edited in quire",
            author: "dave",
            comment: "",
            base_rev: Some(2),
            time: None,
        })
        .unwrap();

    let pages: Vec<SourcePage> = source(files.path())
        .into_iter()
        .filter(|page| page.name != "+bad")
        .collect();
    let summary = import(&setup, pages).unwrap();
    assert_eq!((summary.pages, summary.revisions, summary.files), (0, 0, 0));
    assert_eq!(summary.unchanged, 3);
    assert_eq!(summary.warnings, 1, "the page edited since");
    assert_eq!(storage.last_revision_id().unwrap(), before + 1);
    assert_eq!(
        storage.current("NewName").unwrap().unwrap().text,
        "edited in quire"
    );
}

#[test]
fn the_original_markup_of_a_converted_revision_stays_readable() {
    let data = TempDir::new().unwrap();
    let setup = setup(data.path());
    let mut converted = revision("**bold**\n", "alice", 1_000, SourceKind::Edit);
    converted.original = Some("'''bold'''\n".to_owned());
    let summary = import(&setup, vec![page("Converted", vec![converted])]).unwrap();
    assert_eq!(summary.revisions, 1);
    let client = client(&setup);
    let original = client.get("/+raw/Converted?rev=1&original=1");
    assert_eq!(original.text(), "'''bold'''\n");
    assert_eq!(client.get("/+raw/Converted").text(), "**bold**\n");
    let native = client.get("/+raw/FrontPage?original=1");
    assert_eq!(native.status, 404);
    assert!(
        native.text().contains("was not imported"),
        "{}",
        native.text()
    );
}
