//! `quire import markdown`: the round trip through `quire export git`, a plain folder (front
//! matter, subfolders, files beside pages, broken UTF-8, hostile paths), reruns, and the binary.

use std::collections::BTreeMap;
use std::path::Path;

use quire::cli::GlobalOptions;
use quire::commands::Setup;
use quire::config::ListenFlags;
use quire::import::ImportSummary;
use storage::{ChangeKind, ImportedRevision, Storage};
use tempfile::TempDir;

use crate::cli::{quire, text};
use crate::export::{empty_wiki, sample_wiki, save};

/// Every page (deleted ones too) with its revisions' (author, time, comment, kind) in order and
/// its current text (`None` for a deleted page).
type Contents = BTreeMap<String, (Vec<(String, i64, String, String)>, Option<String>)>;

fn contents(storage: &Storage) -> Contents {
    let mut pages: Vec<String> = storage.page_names().unwrap();
    pages.extend(storage.deleted_pages().unwrap());
    pages
        .into_iter()
        .map(|page| {
            let mut revisions: Vec<_> = storage
                .history(&page, 1000, 0)
                .unwrap()
                .into_iter()
                .map(|meta| {
                    (
                        meta.author,
                        meta.time,
                        meta.comment,
                        format!("{:?}", meta.kind),
                    )
                })
                .collect();
            revisions.reverse();
            let text = storage.current(&page).unwrap().map(|r| r.text);
            (page, (revisions, text))
        })
        .collect()
}

/// `pages` without the help pages a new wiki is given (opening it installs them), which the
/// source does not have.
fn installed_left_out(mut pages: Contents) -> Contents {
    pages.retain(|_, (revisions, _)| {
        !revisions
            .iter()
            .all(|(author, ..)| author == quire::seed::INSTALLER)
    });
    pages
}

fn setup(data: &Path) -> Setup {
    let global = GlobalOptions {
        data: Some(data.to_owned()),
        ..GlobalOptions::default()
    };
    Setup::existing(&global, ListenFlags::default()).unwrap()
}

fn import(data: &Path, dir: &Path) -> ImportSummary {
    quire::import::markdown::run(&setup(data), dir, true).unwrap()
}

fn export_git(storage: &Storage, dir: &Path) {
    quire::export::git::export(storage, dir, &mut |_, _| {}).unwrap();
}

#[test]
fn a_git_export_imports_back_the_same_wiki() {
    let (_data, storage) = sample_wiki();
    // An imported history can save a text unchanged, which git cannot see as a change.
    let same = |author, time| ImportedRevision {
        text: "The same.\n",
        original: None,
        author,
        comment: "",
        time,
        kind: ChangeKind::Edit,
    };
    storage
        .import_page(
            "Same",
            &[same("carol", 1_600_000_000), same("dave", 1_600_000_060)],
        )
        .unwrap();
    let repo = TempDir::new().unwrap();
    export_git(&storage, repo.path());
    let (fresh, fresh_storage) = empty_wiki();
    let summary = import(fresh.path(), repo.path());
    assert_eq!((summary.pages, summary.revisions), (8, 18), "{summary:?}");
    assert_eq!(
        (summary.files, summary.failed, summary.warnings),
        (1, 0, 0),
        "{summary:?}"
    );
    let before = contents(&storage);
    let after = installed_left_out(contents(&fresh_storage));
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (page, expected) in &before {
        assert_eq!(&after[page], expected, "{page}");
    }
    assert!(fresh_storage.is_deleted("Old").unwrap());
    assert_eq!(
        fresh_storage.redirect("Draft").unwrap().as_deref(),
        Some("Plan")
    );
    let files = fresh_storage.attachments("Home").unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(
        (
            files[0].current.name.as_str(),
            files[0].current.uploader.as_str()
        ),
        ("map.png", "alice")
    );
    assert_eq!(files[0].current.comment, "the map");

    // A rerun brings nothing new; a revision added to the source since comes in alone.
    let again = import(fresh.path(), repo.path());
    assert_eq!(
        (again.pages, again.revisions, again.files),
        (0, 0, 0),
        "{again:?}"
    );
    save(&storage, "Café", "Du café, troisième.\n", "bob", 40);
    let newer = TempDir::new().unwrap();
    export_git(&storage, newer.path());
    let extended = import(fresh.path(), newer.path());
    assert_eq!((extended.pages, extended.revisions), (1, 1), "{extended:?}");
    assert_eq!(contents(&storage)["Café"], contents(&fresh_storage)["Café"]);
}

fn write(root: &Path, path: &str, bytes: &[u8]) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_plain_folder_imports_with_front_matter_files_and_warnings() {
    let folder = TempDir::new().unwrap();
    let root = folder.path();
    write(
        root,
        "Home.md",
        b"---\ntitle: Welcome\ntags: [team, wiki]\n---\nHello.\n",
    );
    write(root, "Home.files/map.png", b"\x89PNG\r\n\x1a\nmap");
    write(root, "Team.md", b"The team.\n");
    write(
        root,
        "Team/Notes.md",
        b"---\ntitle: Notes\nlayout: x\n---\n# Notes\n",
    );
    write(root, "Team/photo.png", b"\x89PNG\r\n\x1a\nphoto");
    write(root, "Latin.md", b"caf\xe9\n");
    write(root, "%2E%2E/evil.md", b"climbing\n");
    write(root, "logo.png", b"no front page in the folder");
    write(root, ".obsidian/workspace.json", b"{}");
    std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();

    let (data, storage) = empty_wiki();
    let summary = import(data.path(), root);
    assert_eq!((summary.pages, summary.revisions), (4, 4), "{summary:?}");
    assert_eq!((summary.files, summary.failed), (2, 0), "{summary:?}");
    // Latin-1, the hostile path, the file without a page, the symbolic link, a dropped key.
    assert_eq!(summary.warnings, 5, "{summary:?}");
    let log = std::fs::read_to_string(data.path().join("import-markdown.log")).unwrap();
    assert!(log.contains("Latin.md: not UTF-8"), "{log}");
    assert!(log.contains("evil.md: the path climbs out"), "{log}");
    assert!(log.contains("no page FrontPage"), "{log}");

    let pages: Vec<String> = installed_left_out(contents(&storage)).into_keys().collect();
    assert_eq!(pages, ["Home", "Latin", "Team", "Team/Notes"]);
    let home = storage.current("Home").unwrap().unwrap();
    assert_eq!(home.text, "# Welcome\n\nHello.\n\nTags: team, wiki\n");
    assert_eq!(home.meta.author, "import");
    assert_eq!(
        storage.current("Team/Notes").unwrap().unwrap().text,
        "# Notes\n"
    );
    assert_eq!(storage.current("Latin").unwrap().unwrap().text, "café\n");
    let names = |page: &str| -> Vec<String> {
        storage
            .attachments(page)
            .unwrap()
            .into_iter()
            .map(|a| a.current.name)
            .collect()
    };
    assert_eq!(names("Home"), ["map.png"]);
    assert_eq!(names("Team"), ["photo.png"]);

    let again = import(data.path(), root);
    assert_eq!(
        (again.pages, again.revisions, again.files),
        (0, 0, 0),
        "{again:?}"
    );
    assert_eq!(again.unchanged, 4);
}

/// A history git writes itself (no quire trailer, a rename with an edit, a file deleted and added
/// again, a page in a `.md` path that climbs out).
#[test]
fn a_foreign_git_history_becomes_revisions() {
    let repo = TempDir::new().unwrap();
    let dir = repo.path();
    let git = |args: &[&str], when: i64, author: &str| {
        let output = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", author)
            .env("GIT_AUTHOR_EMAIL", format!("{author}@example.org"))
            .env("GIT_COMMITTER_NAME", author)
            .env("GIT_COMMITTER_EMAIL", format!("{author}@example.org"))
            .env("GIT_AUTHOR_DATE", format!("@{when} +0000"))
            .env("GIT_COMMITTER_DATE", format!("@{when} +0000"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
    };
    git(&["init", "-q"], 0, "x");
    write(dir, "Home.md", b"One.\n");
    git(&["add", "."], 0, "x");
    git(
        &["commit", "-qm", "Create Home\n\nWith a body."],
        1_000,
        "Ann",
    );
    write(dir, "Home.md", b"Two.\n");
    git(&["commit", "-qam", "Edit Home"], 2_000, "Ben");
    git(&["mv", "Home.md", "Start.md"], 0, "x");
    git(&["commit", "-qm", "Move"], 3_000, "Ann");
    git(&["rm", "-q", "Start.md"], 0, "x");
    git(&["commit", "-qm", "Gone"], 4_000, "Ben");
    write(dir, "Start.md", b"Back.\n");
    git(&["add", "."], 0, "x");
    git(&["commit", "-qm", "Back again"], 5_000, "Ann");

    let (data, storage) = empty_wiki();
    let summary = import(data.path(), dir);
    assert_eq!((summary.pages, summary.revisions), (1, 5), "{summary:?}");
    let history = contents(&storage);
    let (revisions, text) = &history["Start"];
    assert_eq!(text.as_deref(), Some("Back.\n"));
    let seen: Vec<(&str, i64, &str, &str)> = revisions
        .iter()
        .map(|(a, t, c, k)| (a.as_str(), *t, c.as_str(), k.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("Ann", 1_000, "Create Home\n\nWith a body.", "Edit"),
            ("Ben", 2_000, "Edit Home", "Edit"),
            ("Ann", 3_000, "Move", "Rename { from: \"Home\" }"),
            ("Ben", 4_000, "Gone", "Delete"),
            ("Ann", 5_000, "Back again", "Edit"),
        ]
    );
}

/// `quire import markdown` through the binary: the summary, and a DIR that is no folder.
#[test]
fn the_binary_imports_and_refuses_a_bad_dir() {
    let (_data, storage) = sample_wiki();
    let repo = TempDir::new().unwrap();
    export_git(&storage, repo.path());
    let (fresh, fresh_storage) = empty_wiki();
    drop(fresh_storage);
    let data_arg = fresh.path().to_str().unwrap();
    let path = std::env::var("PATH").unwrap_or_default();
    let env = [("QUIRE_LOG", "warn"), ("PATH", path.as_str())];
    let done = quire(
        &[
            "--data",
            data_arg,
            "import",
            "markdown",
            repo.path().to_str().unwrap(),
        ],
        &env,
    );
    assert!(done.status.success(), "{}", text(&done.stderr));
    let said = text(&done.stdout);
    assert!(
        said.contains("7 pages (0 already there), 16 revisions, 1 files"),
        "{said}"
    );

    let missing = fresh.path().join("no-such-folder");
    let refused = quire(
        &[
            "--data",
            data_arg,
            "import",
            "markdown",
            missing.to_str().unwrap(),
        ],
        &env,
    );
    assert!(!refused.status.success());
    let said = text(&refused.stderr);
    assert!(said.contains("is not a folder"), "{said}");
    assert!(said.contains("no-such-folder"), "{said}");
}

/// The benchmark's wiki (BENCHMARKS.md): `QUIRE_BENCH_PAGES` pages (10 000 by default) of ten
/// revisions each by twenty authors, one page in ten a subpage, one in a hundred with a file,
/// written into the data directory `QUIRE_BENCH_DATA`. Then time `quire export git`, `quire
/// export markdown` and `quire import markdown` on it with a release build.
#[test]
#[ignore = "a generator for a benchmark, run by hand"]
fn generate_a_wiki_for_the_benchmark() {
    let Ok(data) = std::env::var("QUIRE_BENCH_DATA") else {
        panic!("set QUIRE_BENCH_DATA to the data directory to make");
    };
    let pages: usize = std::env::var("QUIRE_BENCH_PAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000);
    let data = Path::new(&data);
    std::fs::create_dir_all(data).unwrap();
    let storage = Storage::open(&data.join("wiki.sqlite3")).unwrap();
    let started = std::time::Instant::now();
    let authors: Vec<String> = (0..20).map(|n| format!("author{n}")).collect();
    for page in 0..pages {
        let name = if page % 10 == 9 {
            format!("Area {}/Page {page}", page / 100)
        } else {
            format!("Page {page}")
        };
        let mut text = format!(
            "# Page {page}\n\nSee [[Page {}]] and [[Page {}]].\n",
            (page * 7 + 1) % pages,
            (page * 13 + 5) % pages
        );
        let texts: Vec<String> = (0..10)
            .map(|rev| {
                for line in 0..8 {
                    text.push_str(&format!(
                        "Revision {rev}, line {line}: some words about page {page} that change a little each time.\n"
                    ));
                }
                text.clone()
            })
            .collect();
        let revisions: Vec<ImportedRevision<'_>> = texts
            .iter()
            .enumerate()
            .map(|(rev, text)| ImportedRevision {
                text,
                original: None,
                author: &authors[(page + rev) % authors.len()],
                comment: if rev % 3 == 0 { "" } else { "an edit" },
                time: 1_600_000_000 + (rev * pages + page) as i64,
                kind: ChangeKind::Edit,
            })
            .collect();
        storage.import_page(&name, &revisions).unwrap();
        if page % 100 == 0 {
            storage
                .upload(
                    &storage::NewUpload {
                        page: &name,
                        name: "data.bin",
                        media_type: "application/octet-stream",
                        width: None,
                        height: None,
                        uploader: &authors[0],
                        comment: "",
                        time: Some(1_600_000_000),
                        max_bytes: 1 << 20,
                        quota_bytes: None,
                    },
                    &mut &vec![page as u8; 20_000][..],
                )
                .unwrap();
        }
    }
    eprintln!(
        "{pages} pages, {} revisions written to {} in {:.1} s",
        pages * 10,
        data.display(),
        started.elapsed().as_secs_f64()
    );
}
