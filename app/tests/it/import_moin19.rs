//! `quire import moin19`: a real, published MoinMoin 1.9 data directory imported with its history and
//! rendered through the wiki; a small wiki written here for what the real one lacks (a rename in the
//! edit-log, an account whose name quire cannot take); a damaged copy that imports everything else
//! and exits 2; a folder that is no data directory refused before anything is written. And, ignored,
//! the generator of the speed test's large data directory.
//!
//! The real data directory is not in this repository: data fetched from other repositories is kept
//! in the project's `shared/` folder (as `shared/moin19/`, beside the checkout), or wherever
//! `QUIRE_MOIN19_DATA` points; its README names each file's origin and licence. Without it, the test
//! that needs it says so and passes.
//!
//! The speed test (issue 14, item 7): write the large data directory, then time the import, with a
//! release build:
//! ```text
//! QUIRE_MOIN19_BENCH=/tmp/moin-bench cargo test -p app --release --test it -- --ignored \
//!     import_moin19::write_a_large_moin_data_dir
//! time target/release/quire --data /tmp/quire-bench import moin19 /tmp/moin-bench --quiet
//! ```
//! (`QUIRE_MOIN19_PAGES` and `QUIRE_MOIN19_REVISIONS` change its size: 10 000 × 10 by default.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use http::StatusCode;
use quire::cli::GlobalOptions;
use quire::commands::import as import_command;
use storage::{ChangeKind, RevisionMeta, Storage};
use tempfile::TempDir;

use crate::cli::{quire, text};
use crate::drivers::InProcess;
use crate::suite::Browser;

/// The real data directory: `QUIRE_MOIN19_DATA`, else `shared/moin19` beside the checkout.
fn real_data() -> Option<PathBuf> {
    let dir = match std::env::var_os("QUIRE_MOIN19_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/moin19"),
    };
    if dir.join("pages").is_dir() {
        return Some(dir);
    }
    eprintln!(
        "{} holds no MoinMoin data directory: the real-data import is not tested (see this module's doc)",
        dir.display()
    );
    None
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The help pages taken from an underlay have no edit-log lines, so their time is their file's: a
/// fixed one on the copy, for the test.
const HELP_PAGE_TIME: i64 = 1_300_000_000;

/// A copy of the real data directory, with fixed file times where the import reads them.
fn real_copy(real: &Path) -> TempDir {
    let copy = TempDir::new().unwrap();
    copy_dir(real, copy.path());
    for page in ["HelpOnSuperUser", "HelpOnMoinWikiSyntax"] {
        let file = fs::File::options()
            .write(true)
            .open(
                copy.path()
                    .join("pages")
                    .join(page)
                    .join("revisions/00000001"),
            )
            .unwrap();
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(HELP_PAGE_TIME as u64);
        file.set_modified(time).unwrap();
    }
    copy
}

/// Imports `moin` into the wiki at `data`, in this process.
fn import(data: &Path, moin: &Path) -> quire::import::ImportSummary {
    let global = GlobalOptions {
        data: Some(data.to_path_buf()),
        ..GlobalOptions::default()
    };
    import_command::moin19(&global, moin, true).unwrap()
}

/// Runs `quire --data DATA import moin19 MOIN --quiet`.
fn import_with_the_binary(data: &Path, moin: &Path) -> Output {
    quire(
        &[
            "--data",
            data.to_str().unwrap(),
            "import",
            "moin19",
            moin.to_str().unwrap(),
            "--quiet",
        ],
        &[("QUIRE_LOG", "warn")],
    )
}

fn storage(data: &Path) -> Storage {
    Storage::open(&data.join("wiki.sqlite3")).unwrap()
}

/// A page's revisions, oldest first.
fn history(storage: &Storage, page: &str) -> Vec<RevisionMeta> {
    let mut history = storage.history(page, 1000, 0).unwrap();
    history.reverse();
    history
}

#[test]
fn a_real_moin_wiki_imports_with_its_history_and_renders() {
    let Some(real) = real_data() else {
        return;
    };
    let moin = real_copy(&real);
    let data = TempDir::new().unwrap();
    let summary = import(data.path(), moin.path());
    assert_eq!(summary.failed, 0);
    assert_eq!(summary.pages, 9);
    assert_eq!(summary.users, 1);
    assert_eq!(summary.files, 1);

    let storage = storage(data.path());
    let expected = [
        ("泉水", 3),
        ("许可协议", 3),
        ("Sink", 4),
        ("IceGuye", 2),
        // Revision 2 deleted it, revision 3 made it again: the deletion is a revision.
        ("TrustedEditorGroup", 6),
        ("The_Affects_Of_Insomnia", 2),
        ("klaus", 1),
        ("HelpOnSuperUser", 1),
        ("HelpOnMoinWikiSyntax", 1),
    ];
    let counts = expected.map(|(page, _)| (page, history(&storage, page).len()));
    assert_eq!(counts, expected);
    // Authors: an account's name; the host for a user id without a profile (its publisher removed
    // them); "unknown" without an edit-log line. Times: the edit-log's, in seconds.
    let klaus = history(&storage, "klaus");
    assert_eq!(
        (klaus[0].author.as_str(), klaus[0].time),
        ("acbart", 1_416_773_959)
    );
    let sink = history(&storage, "Sink");
    let sink: Vec<(&str, i64)> = sink.iter().map(|r| (r.author.as_str(), r.time)).collect();
    assert_eq!(
        sink,
        [
            ("60.252.149.13", 1_405_934_159),
            ("60.252.149.13", 1_405_934_284),
            ("60.252.149.13", 1_405_934_315),
            ("blan-hp-laptop", 1_405_934_889),
        ]
    );
    let help = history(&storage, "HelpOnSuperUser");
    assert_eq!(
        (help[0].author.as_str(), help[0].time),
        ("unknown", HELP_PAGE_TIME)
    );
    assert_eq!(
        help[0].kind,
        ChangeKind::Rename {
            from: "SuperUser".into()
        }
    );
    let license = history(&storage, "许可协议");
    assert_eq!(license[2].comment, "Reverted to revision 1");
    let group = history(&storage, "TrustedEditorGroup");
    assert_eq!(group[1].kind, ChangeKind::Delete);
    assert_eq!(group[2].kind, ChangeKind::Edit);
    let spam = history(&storage, "The_Affects_Of_Insomnia");
    assert_eq!(spam[1].kind, ChangeKind::Delete);
    assert_eq!(spam[1].comment, "Page deleted by Despam action");
    assert_eq!(spam[1].time, 1_406_278_612);
    // The original markup is kept beside the conversion.
    let original = storage.original_markup("Sink", 4).unwrap().unwrap();
    assert_eq!(original, "#REDIRECT 水槽\r\n");
    drop(storage);

    let wiki = InProcess::start_in(data);
    let browser = Browser::new(&wiki);
    let fountain = browser.get("/泉水");
    assert_eq!(fountain.status, StatusCode::OK);
    let html = text(&fountain.body);
    assert!(html.contains("<h1"), "a heading: {html}");
    assert!(html.contains("<table"), "a table: {html}");
    assert!(
        html.contains(r#"<nav class="toc">"#),
        "the TableOfContents: {html}"
    );
    assert!(
        html.contains("<img") && html.contains("Fountain.png"),
        "the attachment image: {html}"
    );
    let syntax = text(&browser.get("/HelpOnMoinWikiSyntax").body);
    assert!(syntax.contains("<pre"), "a code block: {syntax}");
    assert!(
        syntax.contains(
            r#"<a href="http://static.moinmo.in/logos/moinmoin.png" rel="nofollow ugc noopener">moinmoin.png</a>"#
        ),
        "a link with a label: {syntax}"
    );
    // The deleted page is gone, its history kept; the old name of the renamed page sends on.
    assert_eq!(
        browser.get("/The_Affects_Of_Insomnia").status,
        StatusCode::GONE
    );
    let old = browser.get("/SuperUser");
    assert!(old.status.is_redirection(), "{:?}", old.status);
}

#[test]
fn accounts_come_over_with_their_email_and_display_name() {
    let moin = small_wiki();
    let data = TempDir::new().unwrap();
    let summary = import(data.path(), moin.path());
    assert_eq!(summary.users, 1);
    let john = storage(data.path()).user("JohnDoe").unwrap().unwrap();
    assert_eq!(
        (
            john.display_name.as_str(),
            john.email.as_str(),
            john.created
        ),
        ("Johnny", "john@example.org", 1_100_000_000)
    );
    let Some(real) = real_data() else {
        return;
    };
    let data = TempDir::new().unwrap();
    let summary = import(data.path(), real_copy(&real).path());
    assert_eq!(summary.failed, 0);
    assert_eq!(summary.users, 1);
    let account = storage(data.path()).user("acbart").unwrap().unwrap();
    assert_eq!(account.email, "acbart@vt.edu");
    // Its profile has an empty aliasname: the display name is the name, as MoinMoin showed it.
    assert_eq!(account.display_name, "acbart");
}

#[test]
fn a_rerun_imports_nothing_new_and_says_so() {
    let moin = small_wiki();
    let data = TempDir::new().unwrap();
    let first = import(data.path(), moin.path());
    assert!(first.revisions > 0);
    let again = import(data.path(), moin.path());
    assert_eq!(again.revisions, 0);
    assert_eq!(again.files, 0);
    assert_eq!(again.users, 0);
    assert_eq!(again.failed, 0);
    let output = import_with_the_binary(data.path(), moin.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    let said = text(&output.stdout);
    assert!(said.contains("0 revisions"), "{said}");
}

#[test]
fn renames_deletions_accounts_and_files_come_from_the_logs() {
    let moin = small_wiki();
    let data = TempDir::new().unwrap();
    let summary = import(data.path(), moin.path());
    assert_eq!(summary.failed, 0);
    let storage = storage(data.path());
    let renamed = history(&storage, "NewName");
    assert_eq!(renamed.len(), 3);
    assert_eq!(
        renamed[2].kind,
        ChangeKind::Rename {
            from: "OldName".into()
        }
    );
    // "John Doe" cannot be a quire name: the account and its revisions are JohnDoe.
    assert_eq!(renamed[0].author, "JohnDoe");
    assert_eq!(renamed[1].author, "visitor.example.net");
    let gone = history(&storage, "Gone");
    assert_eq!(gone.last().unwrap().kind, ChangeKind::Delete);
    assert_eq!(history(&storage, "Sub/Page Two").len(), 1);
    assert!(history(&storage, "Purged").is_empty());
    let trimmed = history(&storage, "Trimmed");
    let trimmed: Vec<(&ChangeKind, i64)> = trimmed.iter().map(|r| (&r.kind, r.time)).collect();
    assert_eq!(
        trimmed,
        [
            (&ChangeKind::Edit, 1_100_000_900),
            (&ChangeKind::Edit, 1_100_000_950)
        ]
    );
    let files = storage.attachments("Pics").unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].current.name, "dot.png");
}

#[test]
fn a_damaged_copy_imports_everything_else_and_exits_2() {
    let moin = small_wiki();
    let pages = moin.path().join("pages");
    // A Latin-1 revision, as MoinMoin 1.x wrote before UTF-8.
    write_page(&pages.join("Latin"), &[b"Gr\xfc\xdfe aus K\xf6ln\n"], "");
    // A revision that cannot be read (a folder where the file should be: unreadable even for root).
    write_page(&pages.join("Unreadable"), &[b"first\n", b"second\n"], "");
    fs::remove_file(pages.join("Unreadable/revisions/00000002")).unwrap();
    fs::create_dir(pages.join("Unreadable/revisions/00000002")).unwrap();
    // A folder name that is no quoted page name, and a broken `current`.
    write_page(&pages.join("Bad(zz)Name"), &[b"x\n"], "");
    write_page(&pages.join("BrokenCurrent"), &[b"one\n"], "");
    fs::write(pages.join("BrokenCurrent/current"), "oops\n").unwrap();
    // A malformed edit-log line.
    let mut log = fs::read_to_string(moin.path().join("edit-log")).unwrap();
    log.push_str("not a line of an edit-log\n");
    fs::write(moin.path().join("edit-log"), log).unwrap();

    let data = TempDir::new().unwrap();
    let output = import_with_the_binary(data.path(), moin.path());
    let said = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("Bad(zz)Name"), "{said}");
    assert!(said.contains("Latin-1"), "{said}");
    assert!(said.contains("revisions/00000002"), "{said}");
    assert!(said.contains("`current`"), "{said}");
    assert!(said.contains("edit-log"), "{said}");
    let storage = storage(data.path());
    let latin = storage.revision("Latin", 1).unwrap().unwrap();
    assert_eq!(latin.text, "Grüße aus Köln\n");
    assert_eq!(history(&storage, "Unreadable").len(), 1);
    assert_eq!(history(&storage, "BrokenCurrent").len(), 1);
    assert_eq!(history(&storage, "NewName").len(), 3);
}

#[test]
fn a_folder_that_is_no_moin_data_dir_is_refused_before_anything_is_written() {
    let instance = TempDir::new().unwrap();
    fs::create_dir_all(instance.path().join("data/pages")).unwrap();
    let data = instance.path().join("wiki");
    let output = import_with_the_binary(&data, instance.path());
    assert!(!output.status.success());
    let said = text(&output.stderr);
    assert!(said.contains("not a MoinMoin data directory"), "{said}");
    assert!(said.contains("data"), "{said}");
    assert!(!data.exists(), "nothing may be written: {said}");
}

/// Writes a page folder: its revisions 1, 2, … and `current`, and `log` as its edit-log.
fn write_page(dir: &Path, revisions: &[&[u8]], log: &str) {
    fs::create_dir_all(dir.join("revisions")).unwrap();
    for (index, text) in revisions.iter().enumerate() {
        fs::write(dir.join(format!("revisions/{:08}", index + 1)), text).unwrap();
    }
    fs::write(dir.join("current"), format!("{:08}\n", revisions.len())).unwrap();
    if !log.is_empty() {
        fs::write(dir.join("edit-log"), log).unwrap();
    }
}

/// One edit-log line.
fn log_line(time: i64, rev: u32, action: &str, page: &str, user: &str, extra: &str) -> String {
    let host = if user.is_empty() {
        "visitor.example.net"
    } else {
        "desk"
    };
    format!("{time}000000\t{rev:08}\t{action}\t{page}\t192.0.2.7\t{host}\t{user}\t{extra}\t\n")
}

/// A small MoinMoin data directory written here (not published: made up for what the real one
/// lacks): a page renamed in the edit-log, a deleted page, an attachment, a subpage with a space,
/// and an account named "John Doe".
fn small_wiki() -> TempDir {
    let moin = TempDir::new().unwrap();
    let root = moin.path();
    let john = "1100000000.1.1";
    fs::create_dir_all(root.join("user")).unwrap();
    fs::write(
        root.join("user").join(john),
        "name=John Doe\naliasname=Johnny\nemail=john@example.org\nenc_password={SSHA}If6dQsk7Nw2pCCjUjqb27h9cSEQwMTIzNDU2Nzg5\n",
    )
    .unwrap();
    fs::write(
        root.join("user").join(format!("{john}.trail")),
        "FrontPage\n",
    )
    .unwrap();
    let pages = root.join("pages");
    let mut global = String::new();
    let renamed = [
        log_line(1_100_000_100, 1, "SAVENEW", "OldName", john, ""),
        log_line(1_100_000_200, 2, "SAVE", "OldName", "", ""),
        log_line(1_100_000_300, 3, "SAVE/RENAME", "NewName", john, "OldName"),
    ]
    .concat();
    write_page(
        &pages.join("NewName"),
        &[
            b"= Start =\n",
            b"= Start =\nMore.\n",
            b"## page was renamed from OldName\n= Start =\nMore.\n",
        ],
        &renamed,
    );
    global.push_str(&renamed);
    let gone = [
        log_line(1_100_000_400, 1, "SAVENEW", "Gone", john, ""),
        log_line(1_100_000_500, 2, "SAVE", "Gone", john, ""),
    ]
    .concat();
    write_page(&pages.join("Gone"), &[b"Soon gone.\n"], &gone);
    fs::write(pages.join("Gone/current"), "00000002\n").unwrap();
    global.push_str(&gone);
    let pics = [
        log_line(1_100_000_600, 1, "SAVENEW", "Pics", john, ""),
        log_line(1_100_000_700, 99_999_999, "ATTNEW", "Pics", john, "dot.png"),
    ]
    .concat();
    write_page(&pages.join("Pics"), &[b"{{attachment:dot.png}}\n"], &pics);
    fs::create_dir_all(pages.join("Pics/attachments")).unwrap();
    fs::write(pages.join("Pics/attachments/dot.png"), b"\x89PNG\r\n\x1a\n").unwrap();
    global.push_str(&pics);
    let sub = log_line(1_100_000_800, 1, "SAVENEW", "Sub(2f)Page(20)Two", "", "");
    write_page(&pages.join("Sub(2f)Page(20)Two"), &[b"A subpage.\n"], "");
    global.push_str(&sub);
    // A history whose first revisions were removed by hand: gaps, not deletions.
    let trimmed = [
        log_line(1_100_000_900, 5, "SAVE", "Trimmed", john, ""),
        log_line(1_100_000_950, 6, "SAVE", "Trimmed", "", ""),
    ]
    .concat();
    write_page(&pages.join("Trimmed"), &[], &trimmed);
    for rev in [5, 6] {
        fs::write(pages.join(format!("Trimmed/revisions/{rev:08}")), "text\n").unwrap();
    }
    fs::write(pages.join("Trimmed/current"), "00000006\n").unwrap();
    // A deleted page whose revision files were removed by hand: nothing to import, and no failure.
    fs::create_dir_all(pages.join("Purged")).unwrap();
    fs::write(pages.join("Purged/current"), "00000002\n").unwrap();
    // A folder left by an edit never saved: no page.
    fs::create_dir_all(pages.join("NeverSaved")).unwrap();
    fs::write(pages.join("NeverSaved/edit-lock"), "").unwrap();
    fs::write(root.join("edit-log"), global).unwrap();
    moin
}

/// Markup of every kind the converter handles, for the large data directory's pages.
const BENCH_MARKUP: &str = "= Heading =\n'''Bold''', ''italic'', `code` and a CamelCase link to [[Other Page|a label]].\n\n == Section ==\n * one\n * two\n  1. nested\n\n||'''a'''||'''b'''||\n||1||2||\n\n{{{#!python\nprint('hello')\n}}}\n<<TableOfContents>>\n{{attachment:picture.png}}\n";

/// Writes a MoinMoin data directory of `QUIRE_MOIN19_PAGES` pages (10 000) of `QUIRE_MOIN19_REVISIONS`
/// revisions (10) each into `QUIRE_MOIN19_BENCH`, for timing `quire import moin19` (see the module doc).
#[test]
#[ignore = "writes a large data directory for the speed test"]
fn write_a_large_moin_data_dir() {
    let number = |name: &str, default: u32| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
    };
    let pages = number("QUIRE_MOIN19_PAGES", 10_000);
    let revisions = number("QUIRE_MOIN19_REVISIONS", 10);
    let root = PathBuf::from(
        std::env::var_os("QUIRE_MOIN19_BENCH").unwrap_or_else(|| "/tmp/moin-bench".into()),
    );
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(root.join("user")).unwrap();
    let users: Vec<String> = (0..20).map(|n| format!("1100000000.{n}.1")).collect();
    for (n, id) in users.iter().enumerate() {
        fs::write(
            root.join("user").join(id),
            format!("name=Editor{n}\nemail=editor{n}@example.org\nenc_password={{SSHA}}c2VjcmV0c2FsdA==\n"),
        )
        .unwrap();
    }
    let mut global = String::new();
    for page in 0..pages {
        // Mostly top-level pages, as in most MoinMoin wikis (and the hard case for a git export: one
        // big root folder); every tenth a subpage.
        let folder = if page % 10 == 9 {
            format!("Area{}(2f)Page(20){page}", page % 50)
        } else {
            format!("Page(20){page}")
        };
        let dir = root.join("pages").join(&folder);
        fs::create_dir_all(dir.join("revisions")).unwrap();
        let mut log = String::new();
        for rev in 1..=revisions {
            let text = format!("{BENCH_MARKUP}\nRevision {rev} of page {page}.\n");
            fs::write(dir.join(format!("revisions/{rev:08}")), text).unwrap();
            let user = &users[(page as usize + rev as usize) % users.len()];
            let time = 1_200_000_000 + i64::from(page) * 100 + i64::from(rev);
            let action = if rev == 1 { "SAVENEW" } else { "SAVE" };
            log.push_str(&log_line(time, rev, action, &folder, user, ""));
        }
        fs::write(dir.join("current"), format!("{revisions:08}\n")).unwrap();
        fs::write(dir.join("edit-log"), &log).unwrap();
        global.push_str(&log);
    }
    fs::write(root.join("edit-log"), global).unwrap();
    eprintln!(
        "wrote {pages} pages × {revisions} revisions to {}",
        root.display()
    );
}
