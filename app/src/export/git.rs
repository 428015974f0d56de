//! `quire export git DIR`: a git repository with the wiki's whole history, written as one pack
//! ([`crate::git::history`]).
//!
//! - One commit per revision, in time order (ties, and clocks that went backwards within a page, in
//!   the order the wiki saved them), on branch `main`. Author and committer are the revision's
//!   author, with the account's e-mail address, or `AUTHOR@quire.invalid` for one without (an
//!   anonymous editor's address, an imported name); the time is the revision's.
//! - The message is the revision's comment. An empty comment gets a message saying what happened
//!   (`Edit Page`, `Delete Page`, `Rename Old to New`) with the trailer `Quire-Empty-Comment: true`,
//!   which `quire import markdown` maps back to an empty comment.
//! - Texts are committed as stored: no link is rewritten, so an import of the export gives back the
//!   same texts. An edit writes the page's file ([`super::layout`]), a deletion removes it, an
//!   undeletion writes it again, and a rename moves it (git shows it as a rename, and the importer
//!   reads it as one).
//! - A revision that saved the same text again changes nothing git can see, so its commit is empty
//!   and carries the trailer `Quire-Unchanged: PATH`, from which the importer makes the revision.
//! - Files: history holds page revisions only, so that page revision counts survive a round trip.
//!   Each current file of a current page is then one commit of its own, after the history, in the
//!   order of its upload times, authored by its uploader, at its time, with its comment (or
//!   `Upload NAME` and the same trailer); older file versions are not exported.
//!
//! Memory: texts go straight into the pack as blobs, each page's last one kept as the base of its
//! next delta; each revision's metadata is held, to sort the commits, and the work tree's folders
//! with their ids.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use anyhow::Context;
use storage::{ChangeKind, Storage};

use super::{layout, Kind, Summary};
use crate::git::history::{FileChange, History, Signature};

/// The trailer of a message made up for an empty comment.
pub const EMPTY_COMMENT_TRAILER: &str = "Quire-Empty-Comment: true";

/// The trailer key of a revision that saved its page's text unchanged (an imported history can
/// hold such revisions): git records no change then, so the trailer names the page's path.
pub const UNCHANGED_TRAILER: &str = "Quire-Unchanged";

/// The branch the history is written on.
const BRANCH: &str = "main";

/// How many revisions are read from the log at a time.
const BATCH: usize = 500;

/// One revision's metadata, once its text is in the stream (as blob mark `id`).
struct Meta {
    id: u64,
    page: String,
    rev: u64,
    author: String,
    time: i64,
    comment: String,
    kind: ChangeKind,
    /// An edit whose text is its page's text before it.
    unchanged: bool,
}

/// Writes the whole history into a new repository in `dir` (see [`super::prepare`]); `progress`
/// hears (revisions done, revisions in all).
pub fn export(
    storage: &Storage,
    dir: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> anyhow::Result<Summary> {
    super::prepare(dir, Kind::Git)?;
    let total = storage
        .last_revision_id()
        .context("could not count the revisions")?;
    let mut stream = History::start(dir, BRANCH)?;
    super::mark(dir, Kind::Git)?;
    let mut metas = Vec::new();
    // Each page's last text's mark (the base its next text is stored as a delta on), and whether
    // the page is there (not deleted since), to see saves of an unchanged text.
    let mut last_text: HashMap<String, (u64, bool)> = HashMap::new();
    let mut after = 0;
    loop {
        let batch = storage
            .revisions_after(after, BATCH)
            .context("could not read the revision log")?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.id;
        for logged in batch {
            let revision = logged.revision;
            let mut unchanged = false;
            match revision.meta.kind {
                ChangeKind::Edit | ChangeKind::Undelete => {
                    let text = revision.text.as_bytes();
                    let previous = last_text.insert(revision.meta.page.clone(), (logged.id, true));
                    let same = stream.text_blob(logged.id, text, previous.map(|(mark, _)| mark))?;
                    unchanged = same && previous.is_some_and(|(_, there)| there);
                }
                ChangeKind::Delete => {
                    if let Some((_, there)) = last_text.get_mut(&revision.meta.page) {
                        *there = false;
                    }
                }
                ChangeKind::Rename { .. } => {}
            }
            let meta = revision.meta;
            metas.push(Meta {
                id: logged.id,
                page: meta.page,
                rev: meta.rev,
                author: meta.author,
                time: meta.time,
                comment: meta.comment,
                kind: meta.kind,
                unchanged,
            });
        }
        progress(after / 2, total);
    }
    let order = commit_order(&metas);
    let names = names_at_each_revision(&metas);
    let emails = emails(storage)?;
    let mut summary = Summary::default();
    let mut authors = BTreeSet::new();
    for (done, &ix) in order.iter().enumerate() {
        let meta = &metas[ix];
        let path = layout::page_path(&names[ix]);
        let (change, what) = match &meta.kind {
            ChangeKind::Edit | ChangeKind::Undelete => (
                FileChange::Modify {
                    path: &path,
                    mark: meta.id,
                },
                format!("Edit {}", names[ix]),
            ),
            ChangeKind::Delete => (
                FileChange::Delete { path: &path },
                format!("Delete {}", names[ix]),
            ),
            ChangeKind::Rename { from } => {
                let old = layout::page_path(from);
                let email = email_of(&meta.author, &emails);
                stream.commit(
                    &sign(&meta.author, &email, meta.time),
                    &message(
                        &meta.comment,
                        &format!("Rename {from} to {}", names[ix]),
                        &[],
                    ),
                    &[FileChange::Rename {
                        from: &old,
                        to: &path,
                    }],
                )?;
                authors.insert(meta.author.clone());
                progress((total + done as u64).div_ceil(2), total);
                continue;
            }
        };
        let email = email_of(&meta.author, &emails);
        let unchanged = [format!("{UNCHANGED_TRAILER}: {path}")];
        let trailers: &[String] = if meta.unchanged { &unchanged } else { &[] };
        stream.commit(
            &sign(&meta.author, &email, meta.time),
            &message(&meta.comment, &what, trailers),
            &[change],
        )?;
        authors.insert(meta.author.clone());
        if meta.rev == 1 {
            summary.pages += 1;
        }
        progress((total + done as u64).div_ceil(2), total);
    }
    summary.revisions = metas.len() as u64;
    summary.files = export_files(storage, &mut stream, &emails, total + 1, &mut authors)?;
    summary.users = authors.len() as u64;
    stream.finish()?;
    progress(total, total);
    Ok(summary)
}

/// The commit order: by time, then by global id; a page's own revisions never out of order, even
/// when its clock went backwards (an imported history can have that): each counts as no earlier
/// than the revision before it.
fn commit_order(metas: &[Meta]) -> Vec<usize> {
    let mut last_time: HashMap<&str, i64> = HashMap::new();
    let mut keyed: Vec<(i64, u64, usize)> = metas
        .iter()
        .enumerate()
        .map(|(ix, meta)| {
            let last = last_time.entry(&meta.page).or_insert(i64::MIN);
            *last = (*last).max(meta.time);
            (*last, meta.id, ix)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, ix)| ix).collect()
}

/// The name each revision's page had once that revision was made. The log names every revision by
/// its page's name now; walking each page's revisions from the newest back, a rename revision
/// says what the name was before it.
fn names_at_each_revision(metas: &[Meta]) -> Vec<String> {
    let mut by_page: HashMap<&str, Vec<usize>> = HashMap::new();
    for (ix, meta) in metas.iter().enumerate() {
        by_page.entry(&meta.page).or_default().push(ix);
    }
    let mut names = vec![String::new(); metas.len()];
    for (page, mut revisions) in by_page {
        revisions.sort_unstable_by_key(|&ix| metas[ix].rev);
        let mut name = page.to_owned();
        for &ix in revisions.iter().rev() {
            names[ix] = name.clone();
            if let ChangeKind::Rename { from } = &metas[ix].kind {
                name = from.clone();
            }
        }
    }
    names
}

/// Each account's e-mail address, by name, for those that have one.
fn emails(storage: &Storage) -> anyhow::Result<HashMap<String, String>> {
    Ok(storage
        .users()
        .context("could not list the accounts")?
        .into_iter()
        .filter(|user| !user.email.is_empty())
        .map(|user| (user.name, user.email))
        .collect())
}

/// The signature of `author` at `time`: with the account's address, or a made-up one.
fn sign<'a>(author: &'a str, email: &'a str, time: i64) -> Signature<'a> {
    Signature {
        name: author,
        email,
        time,
    }
}

/// The account's address of `author`, or one in `.invalid` for an author without an account.
fn email_of(author: &str, emails: &HashMap<String, String>) -> String {
    emails
        .get(author)
        .cloned()
        .unwrap_or_else(|| invalid_email(author))
}

/// The address of an author without an account: in `.invalid`, which no mail ever reaches.
fn invalid_email(author: &str) -> String {
    let local: String = author
        .chars()
        .map(|c| if c.is_whitespace() { '.' } else { c })
        .collect();
    format!("{local}@quire.invalid")
}

/// The commit message for `comment` with `trailers`; for an empty comment, `what` with the trailer
/// that says so.
pub fn message(comment: &str, what: &str, trailers: &[String]) -> String {
    let mut trailers = trailers.to_vec();
    let body = if comment.is_empty() {
        trailers.insert(0, EMPTY_COMMENT_TRAILER.to_owned());
        what
    } else {
        comment
    };
    if trailers.is_empty() {
        format!("{body}\n")
    } else {
        format!("{body}\n\n{}\n", trailers.join("\n"))
    }
}

/// One commit per current file of a current page, in upload-time order, after the history; blob
/// marks from `first_mark` on. Returns how many.
fn export_files(
    storage: &Storage,
    stream: &mut History,
    emails: &HashMap<String, String>,
    first_mark: u64,
    authors: &mut BTreeSet<String>,
) -> anyhow::Result<u64> {
    let mut files = Vec::new();
    for page in storage.page_names().context("could not list the pages")? {
        let list = storage
            .attachments(&page)
            .with_context(|| format!("could not list the files of {page}"))?;
        files.extend(list.into_iter().map(|a| (page.clone(), a.current)));
    }
    files.sort_by_key(|(_, file)| (file.time, file.id));
    let mut mark = first_mark;
    for (page, file) in &files {
        let Some(content) = &file.content else {
            continue;
        };
        let mut blob = storage
            .open_blob(&content.hash)
            .with_context(|| format!("could not read file {} of {page}", file.name))?;
        let len = blob.len();
        stream.blob(mark, &mut blob, len)?;
        let path = layout::file_path(page, &file.name);
        let email = email_of(&file.uploader, emails);
        stream.commit(
            &sign(&file.uploader, &email, file.time),
            &message(&file.comment, &format!("Upload {}", file.name), &[]),
            &[FileChange::Modify { path: &path, mark }],
        )?;
        authors.insert(file.uploader.clone());
        mark += 1;
    }
    Ok(files.len() as u64)
}
