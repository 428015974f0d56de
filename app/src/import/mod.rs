//! Bringing another wiki's pages in: what a source reader hands over, and the one writer.
//!
//! Each source (`quire import moin19`, `quire import markdown`) is a reader that turns the other
//! wiki's files into [`SourcePage`]s, oldest revision first, and hands them to an [`Importer`], which
//! writes them into the wiki and keeps the summary. The reader knows the other wiki; the importer
//! knows quire: page and file names, storage, links and the search index. So every source gets the
//! same checks, the same rerun rules and the same summary.
//!
//! - Bulk work: one transaction per page (`storage::Storage::import_page`), the links of the current
//!   revisions recorded once at the end, the search index rebuilt once at the end.
//! - Safe to rerun: a page whose stored history is the start of the source's gets only the newer
//!   revisions; one edited here since is left alone, with a warning. A page quire installed that nobody
//!   touched (the front page) is replaced by the source's page of that name. A file whose current
//!   version has the same size and time is not uploaded again.
//! - One bad page never stops an import: it is listed in the summary as failed, and the command ends
//!   with [`Incomplete`] (exit status 2) after the summary.

pub mod git;
pub mod markdown;
pub mod moin19;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;
use storage::{
    ChangeKind, Durability, ImportOutcome, ImportUserOutcome, ImportedRevision, ImportedUser,
    NewUpload, Storage, StorageError,
};

use crate::commands::{Progress, Setup};
use crate::file_head::FileHead;
use crate::seed::INSTALLER;
use crate::wiki::plumbing::file_name::FileName;
use crate::wiki::plumbing::page_name::PageName;

/// How many warnings the summary prints; all of them go to the import's log file.
const WARNINGS_SHOWN: usize = 30;

/// One page's history as the other wiki kept it, oldest revision first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePage {
    /// The page's name as the source names it, decoded (no quoting, no `.md`).
    pub name: String,
    /// Where it came from, for messages: a path, or `git:<path>`.
    pub origin: String,
    /// Its revisions, oldest first.
    pub revisions: Vec<SourceRevision>,
    /// Its attachments: the current files only.
    pub files: Vec<SourceFile>,
}

/// One revision of a [`SourcePage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRevision {
    /// The text, in quire's Markdown (converted already).
    pub text: String,
    /// The source's own markup, when `text` was converted from it; kept beside the revision.
    pub original: Option<String>,
    /// Who saved it: a name, or the host when anonymous.
    pub author: String,
    /// Its comment; may be empty.
    pub comment: String,
    /// When, in unix seconds UTC.
    pub time: i64,
    /// What it did.
    pub kind: SourceKind,
}

/// What a [`SourceRevision`] did to its page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// New text (also the page's creation).
    Edit,
    /// The page was deleted; the text is ignored.
    Delete,
    /// The page got its name here; it was called `from` before (which then redirects to it).
    Rename {
        /// The old name.
        from: String,
    },
}

/// An attachment of a [`SourcePage`], as a file on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The file's name on the page.
    pub name: String,
    /// Where its bytes are.
    pub path: PathBuf,
    /// When it was uploaded, in unix seconds UTC.
    pub time: i64,
    /// Who uploaded it.
    pub uploader: String,
    /// The upload's comment; may be empty.
    pub comment: String,
}

/// An account of the other wiki.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUser {
    /// The login name, one quire accepts (the reader maps names it cannot take, and warns).
    pub name: String,
    /// The name shown instead (MoinMoin's alias); may be empty.
    pub display_name: String,
    /// The e-mail address; may be empty.
    pub email: String,
    /// The password hash as the other wiki stored it (MoinMoin's `{SSHA}…`, `{PASSLIB}$6$…`), checked
    /// at login and upgraded to argon2id; `None` when there is none to keep.
    pub password_hash: Option<String>,
    /// When the account was made, in unix seconds UTC, if known.
    pub created: Option<i64>,
}

/// What an import did, as printed at its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Pages written (created or extended).
    pub pages: u64,
    /// Pages the wiki held already, unchanged.
    pub unchanged: u64,
    /// Revisions written.
    pub revisions: u64,
    /// Files uploaded.
    pub files: u64,
    /// Accounts created.
    pub users: u64,
    /// Warnings: something imported differently from the source, or left alone.
    pub warnings: u64,
    /// Pages or files that could not be imported at all.
    pub failed: u64,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} pages ({} already there), {} revisions, {} files, {} users, {} warnings, {} failed",
            self.pages,
            self.unchanged,
            self.revisions,
            self.files,
            self.users,
            self.warnings,
            self.failed
        )
    }
}

/// The import finished, but some pages or files could not be imported; they are listed in the
/// summary above. The binary exits with status 2 on this error.
#[derive(Debug, thiserror::Error)]
#[error("{failed} pages or files could not be imported; they are listed above (and in {log}). Fix them and run the import again: what is already in is kept")]
pub struct Incomplete {
    /// How many.
    pub failed: u64,
    /// The import's log file.
    pub log: String,
}

/// A note for the summary: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Note {
    origin: String,
    message: String,
    failed: bool,
}

/// Writes what a reader found into the wiki, and keeps the summary (see the module doc).
pub struct Importer {
    what: &'static str,
    storage: Storage,
    max_upload_bytes: u64,
    /// The wiki's markup settings, under which the imported pages' links are recorded.
    markup: markup::RenderOptions,
    upload_quota_bytes: Option<u64>,
    progress: Progress,
    total: u64,
    seen: u64,
    summary: ImportSummary,
    notes: Vec<Note>,
    log_path: PathBuf,
    index_dir: PathBuf,
    quiet: bool,
    /// Names no account may take: the ACL keywords and the configured groups.
    reserved_names: Vec<String>,
}

impl Importer {
    /// An importer into `setup`'s wiki, for the source called `what` (such as "moin19"); progress on
    /// stderr unless `quiet`. The notes go to `DATA/import-<what>.log` as well.
    pub fn new(setup: &Setup, what: &'static str, quiet: bool) -> anyhow::Result<Importer> {
        // An fsync per page would be most of an import's time; the import syncs once at its end,
        // and a power loss before that loses only pages a rerun brings in again.
        let storage = setup
            .data
            .open_storage_with(&storage::Options::default().durability(Durability::Bulk))?;
        let settings = &setup.settings;
        Ok(Importer {
            what,
            storage,
            max_upload_bytes: settings.max_upload_bytes,
            markup: settings.render_options(),
            upload_quota_bytes: Some(settings.upload_quota_bytes).filter(|&quota| quota > 0),
            progress: Progress::new("pages imported", quiet),
            total: 0,
            seen: 0,
            summary: ImportSummary::default(),
            notes: Vec::new(),
            log_path: setup.data.root().join(format!("import-{what}.log")),
            index_dir: setup.index_dir(),
            quiet,
            reserved_names: settings
                .acl_policy()
                .reserved_names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
        })
    }

    /// The storage pages are written to, for readers that must ask what is there already.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// How many pages the source has, once the reader knows: the progress bar's length.
    pub fn set_total(&mut self, pages: u64) {
        self.total = pages;
        self.progress.set(self.seen, self.total);
    }

    /// Something imported differently from the source, or left out; listed in the summary.
    pub fn warn(&mut self, origin: &str, message: impl Into<String>) {
        self.note(origin, message.into(), false);
    }

    /// A page or file that could not be imported at all; listed in the summary, and the command's
    /// exit status says so.
    pub fn fail(&mut self, origin: &str, message: impl Into<String>) {
        self.note(origin, message.into(), true);
    }

    fn note(&mut self, origin: &str, message: String, failed: bool) {
        if failed {
            self.summary.failed += 1;
        } else {
            self.summary.warnings += 1;
        }
        self.notes.push(Note {
            origin: origin.to_owned(),
            message,
            failed,
        });
    }

    /// Creates an account, keeping its password hash; one that exists already is left as it is (a
    /// rerun must not undo a password changed since). Never fails: a name quire refuses is listed.
    pub fn user(&mut self, user: SourceUser) {
        let reserved: Vec<&str> = self.reserved_names.iter().map(String::as_str).collect();
        let imported = ImportedUser {
            name: &user.name,
            display_name: &user.display_name,
            email: &user.email,
            password_hash: user.password_hash.as_deref(),
            created: user.created,
        };
        match self.storage.import_user_reserving(&imported, &reserved) {
            Ok(ImportUserOutcome::Created) => self.summary.users += 1,
            Ok(ImportUserOutcome::Exists) => {}
            Err(err) => self.fail(
                &format!("user {}", user.name),
                format!("the account was not imported: {err}"),
            ),
        }
    }

    /// Writes one page's history and files; never fails (see [`Importer::fail`]).
    pub fn page(&mut self, page: SourcePage) {
        self.seen += 1;
        if let Err(err) = self.write_page(&page) {
            self.fail(&page.origin, format!("{err:#}"));
        }
        self.progress.set(self.seen, self.total.max(self.seen));
    }

    fn write_page(&mut self, page: &SourcePage) -> anyhow::Result<()> {
        let name = PageName::parse(&page.name).map_err(|err| {
            anyhow::anyhow!(
                "{:?} cannot be a page name in quire ({err}); rename it in the source and import again",
                page.name
            )
        })?;
        if page.revisions.is_empty() {
            anyhow::bail!("the page has no revisions");
        }
        let revisions: Vec<ImportedRevision<'_>> = page
            .revisions
            .iter()
            .map(|revision| ImportedRevision {
                text: &revision.text,
                original: revision.original.as_deref(),
                author: &revision.author,
                comment: &revision.comment,
                time: revision.time,
                kind: match &revision.kind {
                    SourceKind::Edit => ChangeKind::Edit,
                    SourceKind::Delete => ChangeKind::Delete,
                    SourceKind::Rename { from } => ChangeKind::Rename {
                        from: PageName::parse(from)
                            .map_or_else(|_| from.clone(), |from| from.as_str().to_owned()),
                    },
                },
            })
            .collect();
        let mut outcome = self.storage.import_page(name.as_str(), &revisions)?;
        if matches!(outcome, ImportOutcome::Diverged { .. })
            && self
                .storage
                .remove_untouched_page(name.as_str(), INSTALLER)?
        {
            outcome = self.storage.import_page(name.as_str(), &revisions)?;
        }
        match outcome {
            ImportOutcome::Created { revisions } | ImportOutcome::Extended { added: revisions } => {
                self.summary.pages += 1;
                self.summary.revisions += revisions;
            }
            ImportOutcome::Unchanged => self.summary.unchanged += 1,
            ImportOutcome::Diverged { stored } => {
                self.warn(
                    &page.origin,
                    format!(
                        "{name} was left as it is: its {stored} revisions here are not the start of the source's {} (it was edited here since, or is another page of the same name)",
                        page.revisions.len()
                    ),
                );
                return Ok(());
            }
        }
        if self.storage.exists(name.as_str())? {
            for file in &page.files {
                if let Err(err) = self.write_file(&name, file) {
                    let origin = file.path.display().to_string();
                    self.fail(&origin, format!("{err:#}"));
                }
            }
        } else if !page.files.is_empty() {
            self.warn(
                &page.origin,
                format!(
                    "{name} is deleted, so its {} files were not imported",
                    page.files.len()
                ),
            );
        }
        Ok(())
    }

    fn write_file(&mut self, page: &PageName, file: &SourceFile) -> anyhow::Result<()> {
        let name = FileName::clean(&file.name)
            .map_err(|err| anyhow::anyhow!("{:?} cannot be a file name ({err})", file.name))?;
        if name.as_str() != file.name {
            self.warn(
                &file.path.display().to_string(),
                format!("stored on {page} as {name}"),
            );
        }
        let size = std::fs::metadata(&file.path)
            .with_context(|| format!("could not read {}", file.path.display()))?
            .len();
        let same = self
            .storage
            .attachments(page.as_str())?
            .into_iter()
            .any(|a| {
                a.current.name == name.as_str()
                    && a.current.content.as_ref().map(|c| c.size) == Some(size)
                    && a.current.time == file.time
            });
        if same {
            return Ok(());
        }
        let mut reader = File::open(&file.path)
            .with_context(|| format!("could not open {}", file.path.display()))?;
        let head = FileHead::read(name.as_str(), &mut reader)
            .with_context(|| format!("could not read {}", file.path.display()))?;
        let upload = NewUpload {
            page: page.as_str(),
            name: name.as_str(),
            media_type: head.detected.media_type,
            width: head.width(),
            height: head.height(),
            uploader: &file.uploader,
            comment: &file.comment,
            time: Some(file.time),
            max_bytes: self.max_upload_bytes,
            quota_bytes: self.upload_quota_bytes,
        };
        let mut content = io::Cursor::new(head.bytes).chain(reader);
        match self.storage.upload(&upload, &mut content) {
            Ok(_) => {
                self.summary.files += 1;
                Ok(())
            }
            Err(StorageError::UploadTooLarge { .. }) => anyhow::bail!(
                "{} bytes is more than the wiki's upload limit of {} (max_upload_bytes in quire.toml); raise it and run the import again",
                size,
                self.max_upload_bytes
            ),
            Err(err) => Err(err.into()),
        }
    }

    /// Records the links of the pages written, rebuilds the search index, prints the summary and
    /// writes every note to the import's log file. [`Incomplete`] when something failed.
    pub fn finish(mut self) -> anyhow::Result<ImportSummary> {
        self.progress.set(self.seen, self.total.max(self.seen));
        self.progress.finish();
        crate::datadir::fill_in_links(&self.storage, &self.markup)
            .context("could not record the links of the imported pages")?;
        self.storage
            .sync()
            .context("could not sync the imported pages to disk")?;
        crate::commands::reindex::rebuild(&self.index_dir, &self.storage, 1, self.quiet)?;
        let log = self.write_log();
        for note in self.notes.iter().filter(|note| note.failed) {
            eprintln!("failed: {}: {}", note.origin, note.message);
        }
        let warnings: Vec<&Note> = self.notes.iter().filter(|note| !note.failed).collect();
        for note in warnings.iter().take(WARNINGS_SHOWN) {
            eprintln!("warning: {}: {}", note.origin, note.message);
        }
        if warnings.len() > WARNINGS_SHOWN {
            eprintln!(
                "… and {} more warnings, in {}",
                warnings.len() - WARNINGS_SHOWN,
                self.log_path.display()
            );
        }
        if let Err(err) = &log {
            eprintln!("warning: {err:#}");
        }
        println!("import {} finished: {}", self.what, self.summary);
        if self.summary.failed > 0 {
            return Err(Incomplete {
                failed: self.summary.failed,
                log: self.log_path.display().to_string(),
            }
            .into());
        }
        Ok(self.summary)
    }

    /// Writes every note to `DATA/import-<what>.log`, replacing an earlier run's.
    fn write_log(&self) -> anyhow::Result<()> {
        let mut text = format!("quire import {}: {}\n", self.what, self.summary);
        for note in &self.notes {
            let label = if note.failed { "failed" } else { "warning" };
            text.push_str(&format!("{label}: {}: {}\n", note.origin, note.message));
        }
        write_file(&self.log_path, &text)
    }
}

fn write_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text)
        .with_context(|| format!("could not write the import's notes to {}", path.display()))
}
