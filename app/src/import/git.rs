//! The git side of `quire import markdown`: a repository's history as [`SourcePage`]s (see
//! [`super::markdown`] for what becomes what).
//!
//! Two git processes do all the reading, whatever the size of the history: one `git log
//! --reverse --first-parent -m --raw -M -z` lists every commit with the blobs it changed and the
//! renames git detected, and one `git cat-file --batch` hands over the texts. Each page is followed
//! through the history as a lineage: a rename moves it, a deletion ends it (and an add at the same
//! path later revives it, as re-creating a deleted page does in quire), and its revisions hold only
//! blob ids until the page is handed over, so memory grows with the number of revisions, not their
//! size.
//!
//! A commit message is the revision's comment, without its final line break; a message carrying
//! the trailer `Quire-Empty-Comment: true` (what `quire export git` writes for an empty comment) is
//! an empty comment, and one with `Quire-Unchanged: PATH` is a revision of that page with the same
//! text (git records no change for it). Any other commit that changes no page file (an empty
//! commit) makes no revision.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use anyhow::Context;

use super::markdown::{page_text, REFUSED};
use super::{Importer, SourceFile, SourceKind, SourcePage, SourceRevision};
use crate::export::git::{EMPTY_COMMENT_TRAILER, UNCHANGED_TRAILER};
use crate::export::layout::{self, Entry};
use crate::git::{GitError, Objects, Reader};

/// One commit's facts.
#[derive(Debug, Clone)]
struct Commit {
    id: String,
    author: String,
    time: i64,
    comment: String,
    /// The paths of pages it saved with their text unchanged (its `Quire-Unchanged` trailers).
    unchanged: Vec<String>,
}

/// A revision before its text is read.
struct PendingRevision {
    /// The blob holding its text; `None` for a deletion.
    blob: Option<String>,
    commit: usize,
    kind: SourceKind,
}

/// A page followed through the history.
struct Lineage {
    path: String,
    revisions: Vec<PendingRevision>,
}

/// A file's current content and the commit that last touched it.
struct FileState {
    blob: String,
    commit: usize,
}

/// What the log said a commit did to one path (or a pair, for a rename or copy).
#[derive(Debug, PartialEq, Eq)]
struct RawChange {
    status: u8,
    new_blob: String,
    paths: Vec<String>,
}

/// Everything read from the log.
#[derive(Default)]
struct History {
    commits: Vec<Commit>,
    lineages: Vec<Lineage>,
    live: HashMap<String, usize>,
    dead: HashMap<String, usize>,
    files: HashMap<String, FileState>,
}

/// Reads the repository at `dir` and hands its pages to `importer`.
pub fn read(dir: &Path, front_page: &str, importer: &mut Importer) -> anyhow::Result<()> {
    let history = read_log(dir, importer)?;
    let mut objects = Objects::start(dir)?;
    let spool = tempfile::Builder::new()
        .prefix(".quire-import-")
        .tempdir()
        .context("could not make a temporary folder for the repository's files")?;
    let mut files_by_page = current_files(&history, front_page, importer);
    importer.set_total(history.lineages.len() as u64);
    for lineage in &history.lineages {
        let Entry::Page(name) = layout::classify(&lineage.path) else {
            continue;
        };
        let origin = format!("git:{}", lineage.path);
        let mut revisions = Vec::with_capacity(lineage.revisions.len());
        let mut unreadable = false;
        for pending in &lineage.revisions {
            let commit = &history.commits[pending.commit];
            let text = match &pending.blob {
                None => String::new(),
                Some(blob) => match objects.read(blob)? {
                    Some(bytes) => {
                        let at = format!("{origin} at {}", short(&commit.id));
                        page_text(&name, &bytes, &at, importer)
                    }
                    None => {
                        importer.fail(
                            &origin,
                            format!("blob {blob} is missing from the repository"),
                        );
                        unreadable = true;
                        break;
                    }
                },
            };
            revisions.push(SourceRevision {
                text,
                original: None,
                author: commit.author.clone(),
                comment: commit.comment.clone(),
                time: commit.time,
                kind: pending.kind.clone(),
            });
        }
        if unreadable {
            continue;
        }
        let mut files = Vec::new();
        for (file_name, state) in files_by_page.remove(&name).unwrap_or_default() {
            let commit = &history.commits[state.commit];
            let Some(bytes) = objects.read(&state.blob)? else {
                importer.fail(&origin, format!("the blob of file {file_name} is missing"));
                continue;
            };
            let path = spool.path().join(format!("{}", files.len()));
            std::fs::write(&path, bytes)
                .with_context(|| format!("could not write {}", path.display()))?;
            files.push(SourceFile {
                name: file_name,
                path,
                time: commit.time,
                uploader: commit.author.clone(),
                comment: commit.comment.clone(),
            });
        }
        importer.page(SourcePage {
            name,
            origin,
            revisions,
            files,
        });
    }
    for (page, files) in files_by_page {
        for (name, _) in files {
            importer.warn(
                &format!("git:{name}"),
                format!("no page {page} in the repository to attach it to; left out"),
            );
        }
    }
    Ok(())
}

fn short(id: &str) -> &str {
    id.get(..10).unwrap_or(id)
}

/// The current files (at the end of the history), by the page they belong to: (file name, state).
fn current_files<'h>(
    history: &'h History,
    front_page: &str,
    importer: &mut Importer,
) -> HashMap<String, Vec<(String, &'h FileState)>> {
    let mut by_page: HashMap<String, Vec<(String, &FileState)>> = HashMap::new();
    let mut paths: Vec<&String> = history.files.keys().collect();
    paths.sort();
    for path in paths {
        match layout::classify(path) {
            Entry::File { page, name } => by_page
                .entry(page.unwrap_or_else(|| front_page.to_owned()))
                .or_default()
                .push((name, &history.files[path])),
            Entry::Refused => importer.warn(&format!("git:{path}"), REFUSED),
            Entry::Page(_) | Entry::Hidden => {}
        }
    }
    by_page
}

/// Runs `git log` and follows every page through it.
fn read_log(dir: &Path, importer: &mut Importer) -> anyhow::Result<History> {
    let args = [
        "log",
        "--reverse",
        "--first-parent",
        "-m",
        "--raw",
        "-M",
        "-z",
        "--no-abbrev",
        // A repository's own configuration must not make reading it run programs.
        "--no-ext-diff",
        "--no-textconv",
        "--format=%x01%H%x00%an%x00%at%x00%B%x00",
        "HEAD",
        "--",
    ];
    let mut log = Reader::start(dir, &args)?;
    let mut history = History::default();
    let mut fields: Vec<Vec<u8>> = Vec::new();
    let mut field = Vec::new();
    let mut refused = std::collections::HashSet::new();
    loop {
        field.clear();
        let read = log
            .stdout
            .read_until(0, &mut field)
            .map_err(|source| GitError::Io {
                what: "log".to_owned(),
                source,
            })?;
        if read == 0 {
            break;
        }
        if field.last() == Some(&0) {
            field.pop();
        }
        fields.push(std::mem::take(&mut field));
        while let Some(done) = next_change(&mut fields) {
            match done {
                Parsed::Header(commit) => {
                    let unchanged = commit.unchanged.clone();
                    history.commits.push(commit);
                    for path in unchanged {
                        saved_unchanged(&mut history, &path);
                    }
                }
                Parsed::Change(change) => {
                    let Some(commit) = history.commits.len().checked_sub(1) else {
                        continue;
                    };
                    apply(&mut history, commit, change, importer, &mut refused);
                }
            }
        }
    }
    log.finish()?;
    Ok(history)
}

/// What a run of fields made.
enum Parsed {
    Header(Commit),
    Change(RawChange),
}

/// Takes a complete header (five fields, the first starting with \x01) or raw change (its status
/// field and its one or two paths) off the front of `fields`, once it is there.
fn next_change(fields: &mut Vec<Vec<u8>>) -> Option<Parsed> {
    // Empty fields separate a header from its changes.
    while fields.first().is_some_and(|f| f.is_empty() || f == b"\n") {
        fields.remove(0);
    }
    let first = fields.first()?;
    if first.first() == Some(&1) {
        if fields.len() < 4 {
            return None;
        }
        let taken: Vec<Vec<u8>> = fields.drain(..4).collect();
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let (comment, unchanged) = comment(&text(&taken[3]));
        return Some(Parsed::Header(Commit {
            id: text(&taken[0][1..]),
            author: text(&taken[1]),
            time: text(&taken[2]).trim().parse().unwrap_or(0),
            comment,
            unchanged,
        }));
    }
    let status_field = String::from_utf8_lossy(first).into_owned();
    let status_field = status_field.trim_start_matches('\n');
    // ":100644 100644 <old> <new> M"
    let parts: Vec<&str> = status_field.trim_start_matches(':').split(' ').collect();
    // A submodule (mode 160000) names a commit of another repository: nothing to read here.
    let submodule = parts.iter().take(2).any(|mode| *mode == "160000");
    let letter = parts.get(4).and_then(|s| s.bytes().next()).unwrap_or(b'?');
    let path_count = if matches!(letter, b'R' | b'C') { 2 } else { 1 };
    let status = if submodule { b'S' } else { letter };
    if fields.len() < 1 + path_count {
        return None;
    }
    let taken: Vec<Vec<u8>> = fields.drain(..1 + path_count).collect();
    Some(Parsed::Change(RawChange {
        status,
        new_blob: parts.get(3).copied().unwrap_or_default().to_owned(),
        paths: taken[1..]
            .iter()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect(),
    }))
}

/// A commit message as a comment, and the paths its `Quire-Unchanged` trailers name. The final line
/// breaks are dropped; a last paragraph made of `Quire-…: …` trailers (what `quire export git`
/// adds) is taken off, and the comment is empty when one of them says so.
fn comment(message: &str) -> (String, Vec<String>) {
    let message = message.trim_end_matches(['\n', '\r']);
    let Some((body, last)) = message.rsplit_once("\n\n") else {
        return (message.to_owned(), Vec::new());
    };
    let is_trailer = |line: &str| line.starts_with("Quire-") && line.contains(": ");
    if !last.lines().all(is_trailer) {
        return (message.to_owned(), Vec::new());
    }
    let unchanged = last
        .lines()
        .filter_map(|line| line.strip_prefix(UNCHANGED_TRAILER)?.strip_prefix(": "))
        .map(str::to_owned)
        .collect();
    let empty = last.lines().any(|line| line == EMPTY_COMMENT_TRAILER);
    let comment = if empty {
        String::new()
    } else {
        body.to_owned()
    };
    (comment, unchanged)
}

/// Whether git's all-zero id (no blob: a deletion's new side).
fn is_null(blob: &str) -> bool {
    blob.bytes().all(|b| b == b'0')
}

fn apply(
    history: &mut History,
    commit: usize,
    change: RawChange,
    importer: &mut Importer,
    refused: &mut std::collections::HashSet<String>,
) {
    let mut check = |path: &str| -> Entry {
        let entry = layout::classify(path);
        if entry == Entry::Refused && refused.insert(path.to_owned()) {
            importer.warn(&format!("git:{path}"), REFUSED);
        }
        entry
    };
    match (change.status, change.paths.as_slice()) {
        (b'R', [from, to]) => {
            let from_entry = check(from);
            let to_entry = check(to);
            match (&from_entry, &to_entry) {
                (Entry::Page(old), Entry::Page(_)) => {
                    let lineage = match history.live.remove(from) {
                        Some(lineage) => lineage,
                        None => new_lineage(history, to),
                    };
                    history.dead.remove(to);
                    history.lineages[lineage].path = to.clone();
                    history.lineages[lineage].revisions.push(PendingRevision {
                        blob: Some(change.new_blob.clone()),
                        commit,
                        kind: SourceKind::Rename { from: old.clone() },
                    });
                    history.live.insert(to.clone(), lineage);
                }
                _ => {
                    removed(history, commit, from, &from_entry);
                    written(history, commit, to, &to_entry, &change.new_blob);
                }
            }
        }
        (b'C', [_, to]) => {
            let entry = check(to);
            written(history, commit, to, &entry, &change.new_blob);
        }
        (b'D', [path]) => {
            let entry = check(path);
            removed(history, commit, path, &entry);
        }
        (b'S', _) => {}
        (_, [path]) if !is_null(&change.new_blob) => {
            let entry = check(path);
            written(history, commit, path, &entry, &change.new_blob);
        }
        _ => {}
    }
}

/// The page at `path` was saved with its text unchanged by the newest commit: a revision with the
/// blob it has.
fn saved_unchanged(history: &mut History, path: &str) {
    let commit = history.commits.len() - 1;
    let Some(&lineage) = history.live.get(path) else {
        return;
    };
    let revisions = &mut history.lineages[lineage].revisions;
    let blob = revisions.last().and_then(|last| last.blob.clone());
    revisions.push(PendingRevision {
        blob,
        commit,
        kind: SourceKind::Edit,
    });
}

fn new_lineage(history: &mut History, path: &str) -> usize {
    history.lineages.push(Lineage {
        path: path.to_owned(),
        revisions: Vec::new(),
    });
    history.lineages.len() - 1
}

/// `path` has new content `blob`.
fn written(history: &mut History, commit: usize, path: &str, entry: &Entry, blob: &str) {
    match entry {
        Entry::Page(_) => {
            let lineage = match history.live.get(path) {
                Some(&lineage) => lineage,
                None => {
                    let lineage = match history.dead.remove(path) {
                        Some(lineage) => lineage,
                        None => new_lineage(history, path),
                    };
                    history.live.insert(path.to_owned(), lineage);
                    lineage
                }
            };
            history.lineages[lineage].revisions.push(PendingRevision {
                blob: Some(blob.to_owned()),
                commit,
                kind: SourceKind::Edit,
            });
        }
        Entry::File { .. } => {
            history.files.insert(
                path.to_owned(),
                FileState {
                    blob: blob.to_owned(),
                    commit,
                },
            );
        }
        Entry::Hidden | Entry::Refused => {}
    }
}

/// `path` is gone.
fn removed(history: &mut History, commit: usize, path: &str, entry: &Entry) {
    match entry {
        Entry::Page(_) => {
            if let Some(lineage) = history.live.remove(path) {
                history.lineages[lineage].revisions.push(PendingRevision {
                    blob: None,
                    commit,
                    kind: SourceKind::Delete,
                });
                history.dead.insert(path.to_owned(), lineage);
            }
        }
        Entry::File { .. } => {
            history.files.remove(path);
        }
        Entry::Hidden | Entry::Refused => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(raw: &[u8]) -> Vec<Vec<u8>> {
        raw.split(|b| *b == 0).map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn log_fields_parse_into_headers_and_changes() {
        let raw = b"\x01abc\0alice\x001700000000\0Edit A\n\nQuire-Empty-Comment: true\n\0\0\n:000000 100644 0000 1111 A\0A.md\0\n:100644 100644 1111 1111 R100\0A.md\0B c.md\0";
        let mut all = fields(raw);
        let mut parsed = Vec::new();
        let mut pending = Vec::new();
        for field in all.drain(..) {
            pending.push(field);
            while let Some(done) = next_change(&mut pending) {
                parsed.push(done);
            }
        }
        let [Parsed::Header(commit), Parsed::Change(add), Parsed::Change(rename)] =
            parsed.as_slice()
        else {
            panic!("{} parsed", parsed.len());
        };
        assert_eq!(
            (
                commit.id.as_str(),
                commit.author.as_str(),
                commit.time,
                commit.comment.as_str()
            ),
            ("abc", "alice", 1_700_000_000, "")
        );
        assert_eq!(
            add,
            &RawChange {
                status: b'A',
                new_blob: "1111".into(),
                paths: vec!["A.md".into()]
            }
        );
        assert_eq!(rename.paths, ["A.md", "B c.md"]);
        assert_eq!(rename.status, b'R');

        // A submodule is marked as such, and a renamed one still takes its two paths.
        let mut pending = fields(b"\n:160000 160000 2222 2222 R100\0lib\0vendor/lib\0\n:000000 100644 0000 3333 A\0N.md\0");
        let Some(Parsed::Change(submodule)) = next_change(&mut pending) else {
            panic!("no change");
        };
        assert_eq!((submodule.status, submodule.paths.len()), (b'S', 2));
        let Some(Parsed::Change(next)) = next_change(&mut pending) else {
            panic!("no second change");
        };
        assert_eq!(next.paths, ["N.md"]);
    }

    #[test]
    fn messages_become_comments() {
        let plain = |text: &str| (text.to_owned(), Vec::<String>::new());
        assert_eq!(comment("Fix typo\n"), plain("Fix typo"));
        assert_eq!(comment("Subject\n\nBody\n"), plain("Subject\n\nBody"));
        assert_eq!(
            comment("Edit Home\n\nQuire-Empty-Comment: true\n"),
            plain("")
        );
        assert_eq!(
            comment("Same again\n\nQuire-Unchanged: A/B c.md\n"),
            ("Same again".to_owned(), vec!["A/B c.md".to_owned()])
        );
        assert_eq!(
            comment("Edit X\n\nQuire-Empty-Comment: true\nQuire-Unchanged: X.md\n"),
            (String::new(), vec!["X.md".to_owned()])
        );
        assert_eq!(
            comment("Subject\n\nSigned-off-by: a\n"),
            plain("Subject\n\nSigned-off-by: a")
        );
    }
}
