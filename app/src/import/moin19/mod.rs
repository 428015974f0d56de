//! The MoinMoin 1.9 reader: a MoinMoin data directory (the folder holding `pages/`, `user/` and
//! `edit-log`) handed to the [`Importer`] page by page.
//!
//! What is read, and from where:
//! - accounts from `user/<id>` ([`users`]): name, display name, e-mail, password hash as stored;
//! - each page folder of `pages/` ([`pages`]): every revision with its time, author and comment from
//!   the edit-logs ([`edit_log`]), renames, deletions, and the current attachments; names unquoted by
//!   [`names`];
//! - nothing else: `cache/` is derived data, `plugin/` is code, `event-log` holds page views. MoinMoin's
//!   own help pages live in the *underlay*, a separate directory that is not part of the data directory,
//!   and are not imported (quire has its own help).
//!
//! Bad input never stops an import. A folder that is not a data directory at all (no `pages/`) is
//! refused before anything is written ([`Moin19::open`]); after that, an unreadable file, a malformed
//! edit-log line, a broken `current` or an invalid page name is a warning, or a failed page, naming
//! the file, and the command's exit status says whether a page failed.
//!
//! Speed: page folders are read and converted in parallel (rayon), a batch at a time, and handed to the
//! one [`Importer`] in name order, so memory holds one batch of pages, never the wiki. The wiki-wide
//! edit-log is read once, up front: it is the one file that is not per page.

pub mod edit_log;
pub mod names;
pub mod pages;
pub mod users;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use markup::moin::MoinOptions;
use rayon::prelude::*;

use crate::import::Importer;

/// How many page folders are read in parallel before they are written, in order.
const BATCH: usize = 64;

/// A MoinMoin 1.9 data directory, checked to be one.
#[derive(Debug)]
pub struct Moin19 {
    root: PathBuf,
}

impl Moin19 {
    /// Checks that `path` is a MoinMoin data directory: it must hold `pages/`. The error says what was
    /// expected, and points at `path/data` when `path` is the wiki instance around one.
    pub fn open(path: &Path) -> anyhow::Result<Moin19> {
        if path.join("pages").is_dir() {
            return Ok(Moin19 {
                root: path.to_path_buf(),
            });
        }
        let expected = "give the MoinMoin 1.9 data directory, the folder that holds pages/, user/ and edit-log";
        if !path.is_dir() {
            anyhow::bail!("{} is not a folder: {expected}", path.display());
        }
        if path.join("data").join("pages").is_dir() {
            anyhow::bail!(
                "{} has no pages/ folder, so it is not a MoinMoin data directory, but {} has one: it looks like the wiki instance around it, try `quire import moin19 {}`",
                path.display(),
                path.join("data").display(),
                path.join("data").display(),
            );
        }
        anyhow::bail!(
            "{} has no pages/ folder, so it is not a MoinMoin data directory: {expected}",
            path.display()
        )
    }

    /// Hands every account, then every page, to `importer`; warnings and failed pages go to it too.
    /// Only an unlistable `pages/` is an error.
    pub fn import(&self, importer: &mut Importer, options: &MoinOptions) -> anyhow::Result<()> {
        let mut warnings = Warnings::default();
        let users = users::read(&self.root.join("user"), &mut warnings);
        let global_log =
            pages::read_log(&self.root.join("edit-log"), "edit-log", &mut warnings).by_page();
        warnings.report(importer);
        for account in users.accounts {
            importer.user(account);
        }
        let pages_dir = self.root.join("pages");
        let mut folders: Vec<OsString> = std::fs::read_dir(&pages_dir)
            .with_context(|| format!("could not list {}", pages_dir.display()))?
            .filter_map(Result::ok)
            .filter(|entry| entry.path().is_dir())
            .map(|entry| entry.file_name())
            .collect();
        folders.sort();
        importer.set_total(folders.len() as u64);
        let context = pages::Context {
            pages: &pages_dir,
            global_log: &global_log,
            users: &users.names,
            options,
        };
        let mut unknown_users = BTreeSet::new();
        for batch in folders.chunks(BATCH) {
            let read: Vec<pages::PageRead> = batch
                .par_iter()
                .map(|folder| pages::read(&context, folder))
                .collect();
            for page in read {
                page.warnings.report(importer);
                for id in page.unknown_users {
                    if unknown_users.insert(id.clone()) {
                        importer.warn(
                            "user/",
                            format!("user id {id} has no profile here: its edits are credited to their host"),
                        );
                    }
                }
                match page.page {
                    Ok(Some(source)) => importer.page(source),
                    Ok(None) => {}
                    Err(why) => importer.fail(&page.origin, why),
                }
            }
        }
        Ok(())
    }
}

/// Warnings gathered while reading, each with its origin, handed to the importer in order.
#[derive(Debug, Default)]
pub struct Warnings(Vec<(String, String)>);

impl Warnings {
    /// Notes `message` about `origin` (a path inside the data directory).
    pub fn warn(&mut self, origin: &str, message: impl Into<String>) {
        self.0.push((origin.to_owned(), message.into()));
    }

    fn report(self, importer: &mut Importer) {
        for (origin, message) in self.0 {
            importer.warn(&origin, message);
        }
    }
}

/// Text as MoinMoin read it: UTF-8, else Latin-1 (every byte a character), which MoinMoin 1.x wrote
/// before it settled on UTF-8. The flag says Latin-1 was used, for a warning.
pub fn decode(bytes: &[u8]) -> (String, bool) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (bytes.iter().map(|&byte| char::from(byte)).collect(), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_utf8_else_latin1() {
        assert_eq!(decode("Grüße".as_bytes()), ("Grüße".to_owned(), false));
        assert_eq!(decode(b"Gr\xfc\xdfe"), ("Grüße".to_owned(), true));
    }

    #[test]
    fn a_folder_without_pages_is_refused_with_a_pointer() {
        let dir = tempfile::tempdir().unwrap();
        let err = Moin19::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("has no pages/ folder"), "{err}");
        assert!(err.contains("pages/, user/ and edit-log"), "{err}");
        std::fs::create_dir_all(dir.path().join("data/pages")).unwrap();
        let err = Moin19::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("try `quire import moin19"), "{err}");
        assert!(Moin19::open(&dir.path().join("data")).is_ok());
        let err = Moin19::open(&dir.path().join("missing"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not a folder"), "{err}");
    }
}
