//! `quire import markdown DIR`: a folder of `.md` files, or a git repository of them (Otter Wiki,
//! Gollum, Wiki.js's git sync, or `quire export git`), read into [`SourcePage`]s for the
//! [`Importer`].
//!
//! Where things go is [`crate::export::layout`], the mapping `quire export` writes: `Team/Notes.md`
//! is the page `Team/Notes` (subfolders are subpages, `%XX` escapes are decoded, `.markdown` works
//! too); `Team/Notes.files/x.png` is a file of that page, and any other file is a file of the page
//! its folder stands for (`Team/photo.jpg` belongs to `Team`; a file at the top belongs to the front
//! page). A file whose page is not in the source is left out with a warning. Hidden entries
//! (`.git`, `.obsidian`, …) are skipped; symbolic links are not followed; a path that would leave
//! the wiki (a `%2E%2E` segment, an escaped `/`) is refused with a warning. Nothing is ever written
//! under DIR.
//!
//! - **A plain folder** gives one revision per page, by the author `import`, dated by the file's
//!   modification time. A rerun over the same files imports nothing new; a file edited since gives
//!   a history that no longer matches, and the page is left as it is, with a warning.
//! - **A git repository** (DIR is the top of a work tree with commits) gives every commit on the
//!   first-parent line of `HEAD` that touched a page as one revision: its author's name, author
//!   date and message; a deleted file deletes the page, a renamed one renames it (git's rename
//!   detection, `-M`), and a file added again where one was deleted brings that page back. See
//!   [`super::git`]. Files are the current ones, each with the author, date and message of the
//!   last commit that touched it.
//!
//! Texts: UTF-8, or else Latin-1 with a warning naming the file (a Latin-1 byte string always
//! decodes, so nothing is lost). YAML front matter at the very top (between `---` lines) is taken
//! off the text, and its two keys that matter are kept in the text, since quire has no fields for
//! them: `title` becomes a `# Title` heading at the top when the text has no level-1 heading and
//! the title is not the page's own name, and `tags` become a last line `Tags: a, b` that search
//! finds. Other keys are dropped with a warning. The front matter is read by [`front_matter`], a
//! small strict reader of exactly those forms (`key: value`, quoted values, `[a, b]` and `- a`
//! lists) rather than a YAML crate: two keys do not justify a dependency (serde_yaml is
//! unmaintained, and its successors are young), and a strict reader cannot be made to expand
//! anchors or aliases. A block that is not of those forms is not front matter, and the text is kept
//! whole: a page that merely starts with a `---` rule is not cut.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{ImportSummary, Importer, SourceFile, SourceKind, SourcePage, SourceRevision};
use crate::commands::Setup;
use crate::export::layout::{self, Entry};

/// The author of a revision read from a plain folder, which names none.
pub const FOLDER_AUTHOR: &str = "import";

/// Imports DIR into `setup`'s wiki: a git repository's history, or a plain folder's files.
pub fn run(setup: &Setup, dir: &Path, quiet: bool) -> anyhow::Result<ImportSummary> {
    if !dir.is_dir() {
        anyhow::bail!(
            "{} is not a folder: give the folder of .md files, or the git repository, to import",
            dir.display()
        );
    }
    let front_page = setup.settings.front_page.as_str().to_owned();
    let mut importer = Importer::new(setup, "markdown", quiet)?;
    if crate::git::is_repository(dir)? {
        super::git::read(dir, &front_page, &mut importer)?;
    } else {
        read_folder(dir, &front_page, &mut importer)?;
    }
    importer.finish()
}

/// A page file or attached file found in a plain folder.
struct Found {
    path: PathBuf,
    time: i64,
}

/// Reads a plain folder: one revision per `.md` file.
fn read_folder(dir: &Path, front_page: &str, importer: &mut Importer) -> anyhow::Result<()> {
    let mut pages: BTreeMap<String, Found> = BTreeMap::new();
    let mut files: Vec<(Option<String>, String, Found)> = Vec::new();
    let mut pending = vec![(dir.to_owned(), String::new())];
    while let Some((folder, prefix)) = pending.pop() {
        let entries = std::fs::read_dir(&folder)
            .with_context(|| format!("could not read the folder {}", folder.display()))?;
        for entry in entries {
            let entry =
                entry.with_context(|| format!("could not read the folder {}", folder.display()))?;
            let path = entry.path();
            let origin = path.display().to_string();
            let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
                importer.warn(
                    &origin,
                    "the file name is not UTF-8, so it names no page; left out",
                );
                continue;
            };
            let relative = format!("{prefix}{file_name}");
            let kind = entry
                .file_type()
                .with_context(|| format!("could not read {origin}"))?;
            if file_name.starts_with('.') {
                continue;
            }
            if kind.is_symlink() {
                importer.warn(&origin, "a symbolic link is not followed; left out");
                continue;
            }
            if kind.is_dir() {
                pending.push((path, format!("{relative}/")));
                continue;
            }
            let time = modified(&path);
            match layout::classify(&relative) {
                Entry::Page(name) => {
                    pages.insert(name, Found { path, time });
                }
                Entry::File { page, name } => files.push((page, name, Found { path, time })),
                Entry::Hidden => {}
                Entry::Refused => importer.warn(&origin, REFUSED),
            }
        }
    }
    let mut attached: BTreeMap<String, Vec<SourceFile>> = BTreeMap::new();
    for (page, name, found) in files {
        let page = page.unwrap_or_else(|| front_page.to_owned());
        if !pages.contains_key(&page) {
            importer.warn(
                &found.path.display().to_string(),
                format!("no page {page} in the folder to attach it to; left out"),
            );
            continue;
        }
        attached.entry(page).or_default().push(SourceFile {
            name,
            path: found.path,
            time: found.time,
            uploader: FOLDER_AUTHOR.to_owned(),
            comment: String::new(),
        });
    }
    importer.set_total(pages.len() as u64);
    for (name, found) in pages {
        let origin = found.path.display().to_string();
        let bytes = match std::fs::read(&found.path) {
            Ok(bytes) => bytes,
            Err(err) => {
                importer.fail(&origin, format!("could not read it: {err}"));
                continue;
            }
        };
        let text = page_text(&name, &bytes, &origin, importer);
        importer.page(SourcePage {
            files: attached.remove(&name).unwrap_or_default(),
            name,
            origin,
            revisions: vec![SourceRevision {
                text,
                original: None,
                author: FOLDER_AUTHOR.to_owned(),
                comment: String::new(),
                time: found.time,
                kind: SourceKind::Edit,
            }],
        });
    }
    Ok(())
}

/// What is said of a path that would leave the wiki or names nothing quire can take.
pub(crate) const REFUSED: &str =
    "the path climbs out of the folder or decodes to a name quire cannot take; left out";

/// A file's modification time in unix seconds; 0 if the file system keeps none.
fn modified(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|since| i64::try_from(since.as_secs()).ok())
        .unwrap_or(0)
}

/// A page file's bytes as quire's text: decoded (warning at `origin` for Latin-1), front matter
/// applied.
pub(crate) fn page_text(name: &str, bytes: &[u8], origin: &str, importer: &mut Importer) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => {
            importer.warn(
                origin,
                "not UTF-8; read as Latin-1 (check its accented letters)",
            );
            bytes.iter().map(|&byte| char::from(byte)).collect()
        }
    };
    let Some(found) = front_matter(&text) else {
        return text;
    };
    for key in &found.ignored {
        importer.warn(
            origin,
            format!("front matter key {key:?} has no place in quire; dropped"),
        );
    }
    apply_front_matter(name, &found)
}

/// What the front matter at the top of a page said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrontMatter<'a> {
    /// `title`.
    pub title: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// Other keys, by name.
    pub ignored: Vec<String>,
    /// The text after the front matter.
    pub body: &'a str,
}

/// The front matter at the top of `text`, if there is one of the forms the module doc lists.
pub fn front_matter(text: &str) -> Option<FrontMatter<'_>> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut found = FrontMatter::default();
    let mut offset = text.len() - rest.len();
    let mut list_key: Option<String> = None;
    for line in rest.split_inclusive('\n') {
        offset += line.len();
        let line = line.trim_end_matches(['\n', '\r']);
        if line == "---" || line == "..." {
            found.body = &text[offset..];
            return Some(found);
        }
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if let Some(item) = line.trim_start().strip_prefix("- ") {
            if !line.starts_with([' ', '-']) {
                return None;
            }
            match list_key.as_deref() {
                Some("tags") => found.tags.push(scalar(item)?),
                Some(_) => {}
                None => return None,
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            // A continuation of an ignored key's value.
            if list_key.is_some() {
                continue;
            }
            return None;
        }
        let (key, value) = line.split_once(':')?;
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || "_-".contains(c)) {
            return None;
        }
        let value = value.trim();
        list_key = value.is_empty().then(|| key.to_owned());
        match key {
            "title" if !value.is_empty() => found.title = Some(scalar(value)?),
            "tags" if !value.is_empty() => found.tags = list(value)?,
            "title" | "tags" => {}
            other => found.ignored.push(other.to_owned()),
        }
    }
    None
}

/// A scalar: plain, or in single or double quotes.
fn scalar(value: &str) -> Option<String> {
    let value = value.trim();
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        return Some(inner.replace("\\\"", "\"").replace("\\\\", "\\"));
    }
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return Some(inner.replace("''", "'"));
    }
    if value.starts_with(['&', '*', '!', '|', '>', '{', '"', '\'']) {
        return None;
    }
    Some(value.to_owned())
}

/// A list on one line: `[a, "b c"]`, or words separated by commas.
fn list(value: &str) -> Option<Vec<String>> {
    let inner = match value.strip_prefix('[') {
        Some(rest) => rest.strip_suffix(']')?,
        None => value,
    };
    inner
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(scalar)
        .collect()
}

/// The body with the title as a heading (if it needs one) and the tags as a last line.
pub fn apply_front_matter(name: &str, found: &FrontMatter<'_>) -> String {
    let mut text = String::with_capacity(found.body.len() + 64);
    let own_name = name.rsplit('/').next().unwrap_or(name);
    let has_heading = found
        .body
        .lines()
        .any(|line| line.starts_with("# ") || line == "#");
    if let Some(title) = found
        .title
        .as_deref()
        .filter(|t| *t != own_name && !has_heading)
    {
        text.push_str("# ");
        text.push_str(title);
        text.push_str("\n\n");
    }
    text.push_str(found.body);
    if !found.tags.is_empty() {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str("Tags: ");
        text.push_str(&found.tags.join(", "));
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_forms() {
        let text = "---\ntitle: \"Our Plan\"\ntags: [a, 'b c']\nlayout: page\n---\nBody.\n";
        let found = front_matter(text).unwrap();
        assert_eq!(found.title.as_deref(), Some("Our Plan"));
        assert_eq!(found.tags, ["a", "b c"]);
        assert_eq!(found.ignored, ["layout"]);
        assert_eq!(found.body, "Body.\n");
        assert_eq!(
            apply_front_matter("Plan", &found),
            "# Our Plan\n\nBody.\n\nTags: a, b c\n"
        );

        let block = "---\r\ntitle: Plan\r\ntags:\r\n  - one\r\n  - two\r\n---\r\n# Heading\r\n";
        let found = front_matter(block).unwrap();
        assert_eq!(found.tags, ["one", "two"]);
        assert_eq!(
            apply_front_matter("Plan", &found),
            "# Heading\r\n\nTags: one, two\n"
        );

        let words = front_matter("---\ntags: x, y\n---\n").unwrap();
        assert_eq!(words.tags, ["x", "y"]);
    }

    #[test]
    fn what_is_not_front_matter_is_kept_whole() {
        for text in [
            "---\nJust a rule, then prose.\n---\n",
            "---\ntitle: no end\n",
            "No front matter.\n---\ntitle: x\n---\n",
            "---\ntitle: *alias\n---\n",
            "---\ntitle: &anchor x\n---\n",
            " ---\ntitle: x\n---\n",
        ] {
            assert_eq!(front_matter(text), None, "{text:?}");
        }
    }
}
