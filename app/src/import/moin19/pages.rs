//! One page folder, `pages/<quoted name>/`, read into a [`SourcePage`].
//!
//! A page folder holds `current` (the number of the current revision), `revisions/<8 digits>` (each
//! revision's whole text), its own `edit-log` and `attachments/`. MoinMoin never removes a revision
//! file; deleting a page writes an edit-log line and a new `current` but no file, so a revision that
//! the log or `current` names and whose file is missing is a deletion. That holds in the middle of a
//! history too (a page deleted, then created again). The history is built from the revision numbers:
//! every file up to `current`, every number the log names up to `current`, and `current` itself;
//! numbers with neither a file nor a line (a trimmed history) are gaps, not deletions.
//!
//! Per revision: its time, editor and comment come from its line in the page's edit-log, else in the
//! wiki's; a revision without one gets its file's modification time and the author "unknown", with a
//! warning. A `SAVE/RENAME` line makes the revision a rename from the old name in its extra field; so
//! does `## page was renamed from X` at the top of the first revision there is (the old name's own
//! history was left behind). The text is decoded as MoinMoin did, UTF-8 and else Latin-1 (warned),
//! converted to Markdown, and kept as written beside the conversion.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use markup::moin::{moin_to_markdown, MoinOptions, MoinWarning};

use crate::import::{SourceFile, SourceKind, SourcePage, SourceRevision};

use super::edit_log::{Action, EditLog, EditLogLine};
use super::{decode, names, Warnings};

/// What reading a page folder gave.
pub struct PageRead {
    /// Where it came from, for messages: `pages/<folder>`.
    pub origin: String,
    /// The page, `None` for a folder that holds no page (only an `edit-lock`: an edit never saved),
    /// or why it cannot be imported.
    pub page: Result<Option<SourcePage>, String>,
    /// What to look at, each with its origin.
    pub warnings: Warnings,
    /// User ids its log names that have no profile in `user/`.
    pub unknown_users: BTreeSet<String>,
}

/// What every page read shares: the data directory, the wiki-wide edit-log by page, accounts, options.
pub struct Context<'a> {
    /// `DATA/pages`.
    pub pages: &'a Path,
    /// The wiki-wide edit-log's lines, by quoted page name.
    pub global_log: &'a std::collections::HashMap<String, EditLog>,
    /// User id → quire account name.
    pub users: &'a std::collections::HashMap<String, String>,
    /// How the markup is converted.
    pub options: &'a MoinOptions,
}

/// Conversion warnings listed one by one for a page; past this, the rest are counted in one line.
const LISTED_CONVERSION_WARNINGS: usize = 10;

/// Reads `pages/<folder>`.
pub fn read(context: &Context<'_>, folder: &OsStr) -> PageRead {
    let origin = format!("pages/{}", folder.to_string_lossy());
    let mut page = PageFolder {
        context,
        dir: context.pages.join(folder),
        origin,
        own_log: EditLog::default(),
        global: None,
        warnings: Warnings::default(),
        unknown_users: BTreeSet::new(),
    };
    let result = page.read(folder);
    PageRead {
        origin: page.origin,
        page: result,
        warnings: page.warnings,
        unknown_users: page.unknown_users,
    }
}

/// One page folder while it is read: where it is, its edit-log lines, and what was noted.
struct PageFolder<'c> {
    context: &'c Context<'c>,
    dir: PathBuf,
    origin: String,
    own_log: EditLog,
    global: Option<&'c EditLog>,
    warnings: Warnings,
    unknown_users: BTreeSet<String>,
}

impl<'c> PageFolder<'c> {
    fn read(&mut self, folder: &OsStr) -> Result<Option<SourcePage>, String> {
        let quoted = folder
            .to_str()
            .ok_or("the folder name is not UTF-8, so it is no MoinMoin page name")?;
        let name = names::unquote(quoted).map_err(|err| err.to_string())?;
        let files = revision_files(
            &self.dir.join("revisions"),
            &self.origin,
            &mut self.warnings,
        )?;
        let Some(current) = current_revision(&self.dir, &files, &self.origin, &mut self.warnings)?
        else {
            return Ok(None);
        };
        let log_origin = format!("{}/edit-log", self.origin);
        self.own_log = read_log(&self.dir.join("edit-log"), &log_origin, &mut self.warnings);
        self.global = self.context.global_log.get(quoted);
        for newer in files.range(current + 1..) {
            self.warnings.warn(
                &self.origin,
                format!("revisions/{newer:08} is newer than `current` ({current}): skipped"),
            );
        }
        let mut revisions: Vec<SourceRevision> = Vec::new();
        let mut conversion: Vec<(u32, MoinWarning)> = Vec::new();
        for rev in self.revision_numbers(&files, current) {
            let revision = if files.contains(&rev) {
                self.revision(rev, revisions.is_empty(), &mut conversion)
            } else {
                self.deletion(rev, revisions.last())
            };
            revisions.extend(revision);
        }
        report_conversion(&self.origin, &mut conversion, &mut self.warnings);
        let attachments = self.attachments();
        if revisions.is_empty() && files.range(..=current).next().is_none() {
            // Only a deletion and no text: its history was removed by hand, nothing is left to import.
            self.warnings.warn(
                &self.origin,
                format!("no revision file up to `current` ({current}): nothing to import"),
            );
            return Ok(None);
        }
        if revisions.is_empty() {
            return Err("no revision of this page could be read".to_owned());
        }
        Ok(Some(SourcePage {
            name,
            origin: self.origin.clone(),
            revisions,
            files: attachments,
        }))
    }

    /// Every file up to `current`, every revision the logs name up to `current`, and `current`.
    fn revision_numbers(&self, files: &BTreeSet<u32>, current: u32) -> BTreeSet<u32> {
        let mut numbers: BTreeSet<u32> = files.range(..=current).copied().collect();
        let logged = self
            .own_log
            .lines
            .iter()
            .chain(self.global.into_iter().flat_map(|log| log.lines.iter()))
            .filter(|line| line.is_revision() && line.rev <= current)
            .map(|line| line.rev);
        numbers.extend(logged);
        numbers.insert(current);
        numbers
    }

    /// Who made a change: the account's name, else the host (or address), as MoinMoin showed them.
    fn author(&mut self, line: &EditLogLine) -> String {
        if !line.user_id.is_empty() {
            if let Some(name) = self.context.users.get(&line.user_id) {
                return name.clone();
            }
            self.unknown_users.insert(line.user_id.clone());
        }
        [&line.host, &line.addr]
            .into_iter()
            .find(|field| !field.is_empty())
            .cloned()
            .unwrap_or_else(|| "anonymous".to_owned())
    }

    /// Revision `rev`, whose file exists; `None` (warned) when it cannot be read.
    fn revision(
        &mut self,
        rev: u32,
        first: bool,
        conversion: &mut Vec<(u32, MoinWarning)>,
    ) -> Option<SourceRevision> {
        let path = self.dir.join("revisions").join(format!("{rev:08}"));
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) => {
                self.warnings.warn(
                    &self.origin,
                    format!("could not read revisions/{rev:08} ({err}): that revision is left out"),
                );
                return None;
            }
        };
        let (original, latin1) = decode(&bytes);
        if latin1 {
            self.warnings.warn(
                &self.origin,
                format!("revisions/{rev:08} is not UTF-8: read as Latin-1, as MoinMoin did"),
            );
        }
        let line = self.logged(rev).cloned();
        let kind = match &line {
            Some(line) if line.action == Action::Rename && !line.extra.is_empty() => {
                SourceKind::Rename {
                    from: line.extra.clone(),
                }
            }
            _ if first => renamed_from(&original)
                .map(|from| SourceKind::Rename { from })
                .unwrap_or(SourceKind::Edit),
            _ => SourceKind::Edit,
        };
        let (author, comment, time) = match &line {
            Some(line) => (self.author(line), revision_comment(line), line.time()),
            None => {
                self.warnings.warn(
                    &self.origin,
                    format!("revision {rev} has no edit-log line: its time is its file's, its author \"unknown\""),
                );
                (
                    "unknown".to_owned(),
                    String::new(),
                    modified(&path).unwrap_or_default(),
                )
            }
        };
        let converted = moin_to_markdown(&original, self.context.options);
        conversion.extend(converted.warnings.into_iter().map(|warning| (rev, warning)));
        Some(SourceRevision {
            text: converted.markdown,
            original: Some(original),
            author,
            comment,
            time,
            kind,
        })
    }

    /// Revision `rev`, whose file is missing: a deletion, when the page exists at that point.
    fn deletion(&mut self, rev: u32, previous: Option<&SourceRevision>) -> Option<SourceRevision> {
        let previous = previous.filter(|previous| !matches!(previous.kind, SourceKind::Delete))?;
        let (author, comment, time) = match self.logged(rev).cloned() {
            Some(line) => (self.author(&line), revision_comment(&line), line.time()),
            None => ("unknown".to_owned(), String::new(), previous.time),
        };
        Some(SourceRevision {
            text: String::new(),
            original: None,
            author,
            comment,
            time,
            kind: SourceKind::Delete,
        })
    }

    /// The line of revision `rev` in the page's edit-log, else in the wiki's.
    fn logged(&self, rev: u32) -> Option<&EditLogLine> {
        self.own_log
            .revision(rev)
            .or_else(|| self.global.and_then(|log| log.revision(rev)))
    }

    /// The current files of `attachments/`, each with its time and uploader from its `ATTNEW` line.
    fn attachments(&mut self) -> Vec<SourceFile> {
        let entries = match std::fs::read_dir(self.dir.join("attachments")) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
            Err(err) => {
                self.warnings.warn(
                    &self.origin,
                    format!("could not list attachments/ ({err}): no file imported"),
                );
                return Vec::new();
            }
        };
        let mut files = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if !path.is_file() {
                continue;
            }
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                self.warnings.warn(
                    &self.origin,
                    format!(
                        "attachments/{} has a name that is not UTF-8: not imported",
                        entry.file_name().to_string_lossy()
                    ),
                );
                continue;
            };
            let line = self
                .own_log
                .attached(&name)
                .or_else(|| self.global.and_then(|log| log.attached(&name)))
                .cloned();
            let (time, uploader, comment) = match line {
                Some(line) => (line.time(), self.author(&line), line.comment.clone()),
                None => {
                    self.warnings.warn(
                        &self.origin,
                        format!("attachments/{name} has no ATTNEW line: its time is its file's, its uploader \"unknown\""),
                    );
                    (
                        modified(&path).unwrap_or_default(),
                        "unknown".to_owned(),
                        String::new(),
                    )
                }
            };
            files.push(SourceFile {
                name,
                path,
                time,
                uploader,
                comment,
            });
        }
        files.sort_by(|a, b| a.name.cmp(&b.name));
        files
    }
}

/// The numbers of the files in `revisions/`; other names are warned about and left alone.
fn revision_files(
    dir: &Path,
    origin: &str,
    warnings: &mut Warnings,
) -> Result<BTreeSet<u32>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(err) => return Err(format!("could not list revisions/: {err}")),
    };
    let mut numbers = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(|err| format!("could not list revisions/: {err}"))?;
        let name = entry.file_name();
        let number = name
            .to_str()
            .filter(|name| name.len() == 8)
            .and_then(|name| name.parse::<u32>().ok());
        match number {
            Some(number) => {
                numbers.insert(number);
            }
            None => warnings.warn(
                origin,
                format!(
                    "revisions/{} is not a revision file: skipped",
                    name.to_string_lossy()
                ),
            ),
        }
    }
    Ok(numbers)
}

/// The current revision's number: `current`'s, or the last file's when `current` is missing or
/// broken (warned). `None` for a folder with neither: no page was ever saved there.
fn current_revision(
    dir: &Path,
    files: &BTreeSet<u32>,
    origin: &str,
    warnings: &mut Warnings,
) -> Result<Option<u32>, String> {
    let fallback = |why: String, warnings: &mut Warnings| match files.last() {
        Some(&last) => {
            warnings.warn(
                origin,
                format!("{why}: the last revision file, {last}, is taken as current"),
            );
            Ok(Some(last))
        }
        None => Err(format!("{why}, and there is no revision file")),
    };
    match std::fs::read(dir.join("current")) {
        Ok(bytes) => match String::from_utf8_lossy(&bytes).trim().parse::<u32>() {
            Ok(current) => Ok(Some(current)),
            Err(_) => fallback(
                "`current` does not hold a revision number".to_owned(),
                warnings,
            ),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if files.is_empty() {
                Ok(None)
            } else {
                fallback("there is no `current` file".to_owned(), warnings)
            }
        }
        Err(err) => fallback(format!("could not read `current` ({err})"), warnings),
    }
}

/// An edit-log file's lines; a missing file is an empty log, an unreadable one or a bad line a warning.
pub fn read_log(path: &Path, origin: &str, warnings: &mut Warnings) -> EditLog {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return EditLog::default(),
        Err(err) => {
            warnings.warn(
                origin,
                format!("could not read it ({err}): its lines are not used"),
            );
            return EditLog::default();
        }
    };
    let (text, latin1) = decode(&bytes);
    if latin1 {
        warnings.warn(origin, "not UTF-8: read as Latin-1, as MoinMoin did");
    }
    let log = EditLog::parse(&text);
    for (number, why) in &log.bad_lines {
        warnings.warn(
            origin,
            format!("line {number} is not an edit-log line ({why}): skipped"),
        );
    }
    log
}

/// A revision's comment: the editor's, or what a revert went back to.
fn revision_comment(line: &EditLogLine) -> String {
    if line.comment.is_empty() && line.action == Action::Revert {
        if let Ok(to) = line.extra.parse::<u32>() {
            return format!("Reverted to revision {to}");
        }
    }
    line.comment.clone()
}

/// The old name in a `## page was renamed from X` line among the text's leading `#` lines.
fn renamed_from(text: &str) -> Option<String> {
    text.lines()
        .take_while(|line| line.starts_with('#'))
        .find_map(|line| line.strip_prefix("## page was renamed from "))
        .map(|from| from.trim().to_owned())
        .filter(|from| !from.is_empty())
}

/// A file's modification time, unix seconds.
fn modified(path: &Path) -> Option<i64> {
    let time = std::fs::metadata(path).ok()?.modified().ok()?;
    let secs = time.duration_since(UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()
}

/// The page's conversion warnings: each one while they are few, else the first few and a count. The
/// newest revision's come first: they are what the page shows now, and older revisions mostly repeat
/// them.
fn report_conversion(origin: &str, conversion: &mut [(u32, MoinWarning)], warnings: &mut Warnings) {
    conversion.sort_by_key(|(rev, _)| std::cmp::Reverse(*rev));
    for (rev, warning) in conversion.iter().take(LISTED_CONVERSION_WARNINGS) {
        warnings.warn(origin, format!("revision {rev}, {warning}"));
    }
    if conversion.len() > LISTED_CONVERSION_WARNINGS {
        warnings.warn(
            origin,
            format!(
                "and {} more conversion warnings in this page's revisions",
                conversion.len() - LISTED_CONVERSION_WARNINGS
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rename_line_is_found_among_the_instructions_only() {
        assert_eq!(
            renamed_from(
                "## Please edit…\n## page was renamed from SuperUser\n#format wiki\n= x =\n"
            ),
            Some("SuperUser".to_owned())
        );
        assert_eq!(renamed_from("= x =\n## page was renamed from Foo\n"), None);
    }
}
