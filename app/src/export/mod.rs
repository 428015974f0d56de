//! Moving out: the wiki written into a folder, as Markdown files ([`markdown`]) or as a git repository
//! with the whole history ([`git`]). Both lay pages and files out as [`layout`] says, which is also
//! what `quire import markdown` reads, so an export imports back.
//!
//! An export writes into a new or empty folder, or refreshes one it wrote before: each kind leaves a
//! marker ([`Kind::marker`]: `DIR/.quire-export` for Markdown, `DIR/.git/quire-export` for git),
//! and a rerun that finds its own marker empties the folder and writes it anew. Any other folder
//! with something in it is refused, so an export never overwrites someone's files.

pub mod git;
pub mod layout;
pub mod markdown;

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Which export a folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `quire export markdown`.
    Markdown,
    /// `quire export git`.
    Git,
}

impl Kind {
    /// The word in the command and in the marker.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Markdown => "markdown",
            Kind::Git => "git",
        }
    }

    /// Where the marker of this kind of export is in `dir`. A git export keeps it inside `.git`, so
    /// the work tree holds the wiki alone and no commit carries it.
    pub fn marker(self, dir: &Path) -> PathBuf {
        match self {
            Kind::Markdown => dir.join(".quire-export"),
            Kind::Git => dir.join(".git").join("quire-export"),
        }
    }

    fn marker_text(self) -> String {
        format!(
            "quire export {}\nThis folder was written by `quire export {}`; running it again replaces everything here.\n",
            self.word(),
            self.word()
        )
    }
}

/// What an export wrote, for its summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Pages written (current pages; a git export counts every page its history holds).
    pub pages: u64,
    /// Revisions written (a Markdown export writes the current one of each page).
    pub revisions: u64,
    /// Attached files written.
    pub files: u64,
    /// Distinct authors of what was written.
    pub users: u64,
    /// Things that could not be written exactly (said on stderr as they happened).
    pub warnings: u64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} pages, {} revisions, {} files, {} users, {} warnings",
            self.pages, self.revisions, self.files, self.users, self.warnings
        )
    }
}

/// Makes `dir` ready for an export of `kind`: created if missing, emptied if it holds a previous
/// export of the same kind, refused if it holds anything else.
pub fn prepare(dir: &Path, kind: Kind) -> anyhow::Result<()> {
    if !dir.exists() {
        return std::fs::create_dir_all(dir)
            .with_context(|| format!("could not create the folder {}", dir.display()));
    }
    if !dir.is_dir() {
        anyhow::bail!(
            "{} is not a folder: give the folder to export into (it is created if missing)",
            dir.display()
        );
    }
    let entries: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("could not read the folder {}", dir.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("could not read the folder {}", dir.display()))?;
    if entries.is_empty() {
        return Ok(());
    }
    let marker = kind.marker(dir);
    let ours = std::fs::read_to_string(&marker)
        .is_ok_and(|text| text.lines().next() == kind.marker_text().lines().next());
    if !ours {
        anyhow::bail!(
            "{} is not empty, and it is not an earlier `quire export {}` (that would hold {}); \
             give a new or empty folder",
            dir.display(),
            kind.word(),
            marker.display()
        );
    }
    for entry in entries {
        let path = entry.path();
        let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.with_context(|| {
            format!(
                "could not remove {} from the earlier export",
                path.display()
            )
        })?;
    }
    Ok(())
}

/// Leaves the marker of `kind` in `dir` (whose `.git` exists for a git export).
pub fn mark(dir: &Path, kind: Kind) -> anyhow::Result<()> {
    let marker = kind.marker(dir);
    std::fs::write(&marker, kind.marker_text())
        .with_context(|| format!("could not write {}", marker.display()))
}

/// Writes `bytes` to `root/relative` (a `/`-separated path), making its folders.
fn write_file(root: &Path, relative: &str, bytes: &mut dyn std::io::Read) -> anyhow::Result<()> {
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("could not create the folder {}", parent.display()))?;
    }
    let mut file = std::fs::File::create(&path)
        .with_context(|| format!("could not create {}", path.display()))?;
    std::io::copy(bytes, &mut file)
        .with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
}
