//! `quire export markdown` and `quire export git`: what lands where on disk, links that resolve on
//! the file system, the git history a sample wiki gives, the refusals, and the binary's paths.

use std::path::{Path, PathBuf};
use std::process::Command;

use storage::{NewUpload, NewUser, Rename, Role, Save, Storage};
use tempfile::TempDir;

use crate::cli::{quire, text};

/// Seconds of the sample wiki's first save.
const T0: i64 = 1_700_000_000;

/// Saves `text` on `page` as `author` at `T0 + minute * 60`, on top of whatever is current.
pub(crate) fn save(storage: &Storage, page: &str, text: &str, author: &str, minute: i64) {
    let base_rev = storage.current(page).unwrap().map(|r| r.meta.rev);
    let outcome = storage
        .save(Save {
            page,
            text,
            author,
            comment: if minute % 2 == 0 { "" } else { "a comment" },
            base_rev,
            time: Some(T0 + minute * 60),
        })
        .unwrap();
    assert!(
        matches!(outcome, storage::SaveOutcome::Saved { .. }),
        "{outcome:?}"
    );
}

/// A data directory holding a wiki (its database alone: no help pages), and its storage.
pub(crate) fn empty_wiki() -> (TempDir, Storage) {
    let data = TempDir::new().unwrap();
    let storage = Storage::open(&data.path().join("wiki.sqlite3")).unwrap();
    (data, storage)
}

/// The sample wiki: several pages with several revisions each, a rename, a deleted page, a
/// subpage, an attached image, a name with a space and one with a non-ASCII letter, two
/// authors (one with an account and an e-mail address, one without an account).
pub(crate) fn sample_wiki() -> (TempDir, Storage) {
    let (data, storage) = empty_wiki();
    storage
        .create_user(&NewUser {
            name: "alice",
            display_name: None,
            email: "alice@example.org",
            role: Role::Admin,
            password: "correct horse battery staple",
            invite: None,
            reserved: &[],
        })
        .unwrap();
    save(&storage, "Home", "# Home\n\nWelcome.\n", "alice", 1);
    save(&storage, "Other Page", "Other, first.\n", "bob", 2);
    save(
        &storage,
        "Home",
        "# Home\n\nSee [[Other Page|the other page]], [[Café]] and [[Team/Notes]].\n\n\
         {{attachment:map.png}} and `[[Code]]` and [[Missing]].\n",
        "alice",
        3,
    );
    save(&storage, "Café", "Du café.\n", "bob", 4);
    save(&storage, "Café", "Du café, encore.\n", "alice", 5);
    save(&storage, "Team", "The team. [[/Notes]]\n", "alice", 6);
    save(
        &storage,
        "Team/Notes",
        "Notes. Back to [[Team]], over to [[Other Page]], a [[Home#Welcome]] anchor.\n",
        "bob",
        7,
    );
    save(
        &storage,
        "Team/Notes",
        "Notes, again. [[Team]] [[Other Page]]\n",
        "bob",
        8,
    );
    save(&storage, "Other Page", "Other, second.\n", "alice", 9);
    save(&storage, "Draft", "A draft.\n", "alice", 10);
    save(&storage, "Draft", "A draft, better.\n", "bob", 11);
    storage
        .rename(&Rename {
            from: "Draft",
            to: "Plan",
            author: "alice",
            comment: "",
            with_subpages: false,
        })
        .unwrap();
    save(&storage, "Plan", "The plan.\n", "alice", 12);
    save(&storage, "Old", "Old stuff.\n", "bob", 13);
    save(&storage, "Old", "Old stuff, edited.\n", "bob", 14);
    storage.delete("Old", "alice", "not needed").unwrap();
    storage
        .upload(
            &NewUpload {
                page: "Home",
                name: "map.png",
                media_type: "image/png",
                width: None,
                height: None,
                uploader: "alice",
                comment: "the map",
                time: Some(T0 + 15 * 60),
                max_bytes: 1 << 20,
                quota_bytes: None,
            },
            &mut &b"\x89PNG\r\n\x1a\n not really an image"[..],
        )
        .unwrap();
    (data, storage)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn export_markdown(storage: &Storage, dir: &Path) -> quire::export::Summary {
    let options = markup::RenderOptions::default();
    quire::export::markdown::export(storage, dir, &options, &mut |_, _| {}).unwrap()
}

fn export_git(storage: &Storage, dir: &Path) -> quire::export::Summary {
    quire::export::git::export(storage, dir, &mut |_, _| {}).unwrap()
}

/// The relative Markdown links (`](x.md)`, `](x.files/y)`) in `text`, percent-decoded.
fn relative_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(href, _)| href))
        .filter(|href| !href.contains("://"))
        .map(|href| {
            let path = href.split('#').next().unwrap();
            percent_encoding::percent_decode_str(path)
                .decode_utf8()
                .unwrap()
                .into_owned()
        })
        .collect()
}

#[test]
fn markdown_export_writes_pages_files_and_links_that_resolve() {
    let (_data, storage) = sample_wiki();
    let out = TempDir::new().unwrap();
    let summary = export_markdown(&storage, out.path());
    assert_eq!((summary.pages, summary.files), (6, 1), "{summary:?}");
    let root = out.path();
    for page in [
        "Home.md",
        "Other Page.md",
        "Café.md",
        "Team.md",
        "Team/Notes.md",
        "Plan.md",
    ] {
        assert!(root.join(page).is_file(), "{page} missing");
    }
    assert!(
        !root.join("Old.md").exists(),
        "a deleted page is not exported"
    );
    assert!(
        !root.join("Draft.md").exists(),
        "a renamed page is under its new name"
    );
    assert_eq!(
        std::fs::read(root.join("Home.files/map.png")).unwrap(),
        b"\x89PNG\r\n\x1a\n not really an image"
    );
    let home = read(&root.join("Home.md"));
    assert!(home.contains("[the other page](Other%20Page.md)"), "{home}");
    assert!(home.contains("![map.png](Home.files/map.png)"), "{home}");
    assert!(home.contains("`[[Code]]`"), "code is untouched: {home}");
    assert!(
        home.contains("[[Missing]]"),
        "a missing page stays a wiki link: {home}"
    );
    let notes = read(&root.join("Team/Notes.md"));
    assert!(
        notes.contains("[Other Page](../Other%20Page.md)"),
        "{notes}"
    );
    assert!(notes.contains("[Team](../Team.md)"), "{notes}");
    // Every relative link of every page resolves to a file on disk.
    let mut checked = 0;
    for page in ["Home.md", "Team.md", "Team/Notes.md"] {
        let folder = root.join(page).parent().unwrap().to_owned();
        for link in relative_links(&read(&root.join(page))) {
            assert!(
                folder.join(&link).is_file(),
                "{page}: {link} does not resolve"
            );
            checked += 1;
        }
    }
    assert!(checked >= 7, "only {checked} links checked");
}

#[test]
fn an_export_refuses_a_foreign_folder_and_refreshes_its_own() {
    let (_data, storage) = sample_wiki();
    let out = TempDir::new().unwrap();
    std::fs::write(out.path().join("precious.txt"), "mine").unwrap();
    let options = markup::RenderOptions::default();
    let err = quire::export::markdown::export(&storage, out.path(), &options, &mut |_, _| {})
        .unwrap_err();
    assert!(format!("{err:#}").contains("not empty"), "{err:#}");
    assert_eq!(read(&out.path().join("precious.txt")), "mine");
    let git_err = quire::export::git::export(&storage, out.path(), &mut |_, _| {}).unwrap_err();
    assert!(format!("{git_err:#}").contains("not empty"), "{git_err:#}");

    let mine = TempDir::new().unwrap();
    export_markdown(&storage, mine.path());
    save(&storage, "Home", "Home, changed.\n", "alice", 30);
    std::fs::write(mine.path().join("Stale.md"), "left over").unwrap();
    export_markdown(&storage, mine.path());
    assert_eq!(read(&mine.path().join("Home.md")), "Home, changed.\n");
    assert!(!mine.path().join("Stale.md").exists());
    // A Markdown export is no git export, and the other way round.
    assert!(quire::export::git::export(&storage, mine.path(), &mut |_, _| {}).is_err());
    let repo = TempDir::new().unwrap();
    export_git(&storage, repo.path());
    export_git(&storage, repo.path());
    assert!(
        quire::export::markdown::export(&storage, repo.path(), &options, &mut |_, _| {}).is_err()
    );
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

#[test]
fn git_export_has_a_commit_per_revision_and_the_current_files() {
    let (_data, storage) = sample_wiki();
    let repo = TempDir::new().unwrap();
    let summary = export_git(&storage, repo.path());
    // 2 Home + 2 Other Page + 2 Café + 1 Team + 2 Notes + (2 Draft + rename + 1) Plan + (2 + delete) Old.
    assert_eq!(summary.revisions, 16, "{summary:?}");
    assert_eq!(summary.files, 1);
    let log = git(
        repo.path(),
        &["log", "--reverse", "--format=%an <%ae> %at %s"],
    );
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 17, "{log}");
    assert_eq!(
        lines[0],
        format!("alice <alice@example.org> {} a comment", T0 + 60)
    );
    assert_eq!(
        lines[1],
        format!("bob <bob@quire.invalid> {} Edit Other Page", T0 + 120)
    );
    assert_eq!(
        lines[16],
        format!("alice <alice@example.org> {} the map", T0 + 900)
    );
    let messages = git(repo.path(), &["log", "--format=%B", "--reverse"]);
    assert!(
        messages.contains("Edit Other Page\n\nQuire-Empty-Comment: true"),
        "{messages}"
    );
    // The work tree is the current wiki, texts as stored (links not rewritten).
    assert!(read(&repo.path().join("Home.md")).contains("[[Other Page|the other page]]"));
    assert!(repo.path().join("Home.files/map.png").is_file());
    assert!(repo.path().join("Team/Notes.md").is_file());
    assert!(!repo.path().join("Old.md").exists());
    let renames = git(
        repo.path(),
        &["log", "-M", "--diff-filter=R", "--name-status", "--format="],
    );
    assert_eq!(renames.trim(), "R100\tDraft.md\tPlan.md");
    assert!(quire::export::Kind::Git.marker(repo.path()).is_file());
    assert_eq!(git(repo.path(), &["status", "--porcelain"]), "");
    // quire writes the pack itself: git must find every object whole and well formed.
    git(
        repo.path(),
        &["fsck", "--full", "--strict", "--no-dangling"],
    );
}

/// `quire export` through the binary: the summary, a bad DIR, and git missing.
#[test]
fn the_binary_exports_and_says_what_is_wrong() {
    let (data, storage) = sample_wiki();
    drop(storage);
    let data_arg = data.path().to_str().unwrap();
    let out = TempDir::new().unwrap();
    let md = out.path().join("md");
    let path = std::env::var("PATH").unwrap_or_default();
    let env = [("QUIRE_LOG", "warn"), ("PATH", path.as_str())];
    let done = quire(
        &[
            "--data",
            data_arg,
            "export",
            "markdown",
            md.to_str().unwrap(),
        ],
        &env,
    );
    assert!(done.status.success(), "{}", text(&done.stderr));
    let said = text(&done.stdout);
    assert!(
        said.contains("6 pages, 6 revisions, 1 files, 2 users, 0 warnings"),
        "{said}"
    );
    assert!(md.join("Café.md").is_file());

    let repo = out.path().join("repo");
    let done = quire(
        &["--data", data_arg, "export", "git", repo.to_str().unwrap()],
        &env,
    );
    assert!(done.status.success(), "{}", text(&done.stderr));
    assert!(
        text(&done.stdout).contains("16 revisions, 1 files"),
        "{}",
        text(&done.stdout)
    );

    // A file where the folder should be.
    let file = out.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let refused = quire(
        &[
            "--data",
            data_arg,
            "export",
            "markdown",
            file.to_str().unwrap(),
        ],
        &env,
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("is not a folder"),
        "{}",
        text(&refused.stderr)
    );

    // No git on PATH: the error says to install it.
    let nowhere = out.path().join("repo2");
    let refused = quire(
        &[
            "--data",
            data_arg,
            "export",
            "git",
            nowhere.to_str().unwrap(),
        ],
        &[("QUIRE_LOG", "warn"), ("PATH", "/nonexistent")],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("install git"),
        "{}",
        text(&refused.stderr)
    );
}

/// Names with characters a file system refuses are escaped in the work tree.
#[test]
fn git_export_escapes_names_a_file_system_refuses() {
    let (_data, storage) = empty_wiki();
    for (minute, page) in ["a:b", "CON", "x?y", "trailing."].iter().enumerate() {
        save(&storage, page, "text\n", "alice", minute as i64 + 1);
    }
    let repo = TempDir::new().unwrap();
    export_git(&storage, repo.path());
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo.path())
        .unwrap()
        .map(|e| PathBuf::from(e.unwrap().file_name()))
        .filter(|name| name != Path::new(".git"))
        .collect();
    files.sort();
    let expected: Vec<PathBuf> = ["%43ON.md", "a%3Ab.md", "trailing%2E.md", "x%3Fy.md"]
        .iter()
        .map(PathBuf::from)
        .collect();
    assert_eq!(files, expected);
}
