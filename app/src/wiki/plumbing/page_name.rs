//! Page names, parsed once at the edge so inner code never meets a bad one.
//!
//! A name is any Unicode text made of `/`-separated segments (subpages), for
//! example `Team/Meeting Notes/2026`. What is refused, and why:
//! - a leading `+`: `/+verb/...` URLs belong to the wiki's own actions;
//! - empty, `.` or `..` segments, and leading or trailing `/`: they would make
//!   two spellings of one page, or climb out of a page tree;
//! - control characters and leading/trailing white space in a segment: they
//!   are invisible in a title and in links;
//! - more than [`MAX_LEN`] bytes.
//!
//! A name is kept in NFC ([`normalise`]): `Café` typed with a precomposed `é` or with `e` and a
//! combining accent (as macOS file names and some keyboards give it) looks the same, so it must be
//! one page with one URL. NFC, not NFKC: a full-width `Ａ` is a character of its own in a title, not a
//! spelling of `A`. Names reach storage from two edges, and both normalise through [`normalise`]:
//! [`PageName::parse`] (URLs, forms, settings) and link targets, which markup finds in page texts
//! ([`Outgoing`] for the link graph, `pages::link_resolver` for rendering).

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use thiserror::Error;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

/// The longest page name, in bytes.
pub const MAX_LEN: usize = 255;

/// Why text is not a page name.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PageNameError {
    /// Nothing left after trimming.
    #[error("a page name cannot be empty")]
    Empty,
    /// Too many bytes.
    #[error("a page name can be at most {MAX_LEN} bytes long")]
    TooLong,
    /// Starts with `+`.
    #[error("page names starting with '+' are reserved for the wiki's own pages")]
    Reserved,
    /// Bad `/` structure.
    #[error("a page name cannot have empty, '.' or '..' parts, or start or end with '/'")]
    BadSegment,
    /// Invisible or control characters.
    #[error(
        "a page name cannot contain control characters or parts that start or end with spaces"
    )]
    BadCharacter,
}

/// `text` as a page name is stored and looked up: NFC. Borrowed when it is NFC already (nearly
/// always), so the common case costs one quick scan.
pub fn normalise(text: &str) -> Cow<'_, str> {
    match is_nfc_quick(text.chars()) {
        IsNormalized::Yes => Cow::Borrowed(text),
        IsNormalized::No | IsNormalized::Maybe => Cow::Owned(text.nfc().collect()),
    }
}

/// The wiki-link targets markup found, [`normalise`]d, each once: what the link graph records, so that
/// backlinks and wanted pages find a page whichever spelling a link used.
fn link_targets(found: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    found
        .into_iter()
        .map(|target| normalise(&target).into_owned())
        .filter(|target| seen.insert(target.clone()))
        .collect()
}

/// The files markup found linked (`attachment:`), page and name [`normalise`]d, each once: what the
/// link graph records for file backlinks, wanted files, and dropping a page's cached HTML when a
/// file it shows appears or goes.
fn file_targets(found: Vec<markup::FileRef>) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    found
        .into_iter()
        .map(|file| {
            (
                normalise(&file.page).into_owned(),
                normalise(&file.name).into_owned(),
            )
        })
        .filter(|target| seen.insert(target.clone()))
        .collect()
}

/// What the link graph records for one text: the pages and the files it links to. Every writer of
/// the graph (a save, a rename, seeding, filling in pages saved without links) and `quire check`,
/// which compares the graph with the texts, compute it here, under the wiki's markup settings, so
/// that the graph means the same whoever wrote it (CamelCase links count only where they are on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Page names, [`normalise`]d, each once.
    pub pages: Vec<String>,
    /// `(page, file name)` pairs, [`normalise`]d, each once.
    pub files: Vec<(String, String)>,
}

impl Outgoing {
    /// The links of `text`, the text of page `page`, under `options`.
    pub fn of(text: &str, page: &str, options: &markup::RenderOptions) -> Outgoing {
        Outgoing {
            pages: link_targets(markup::wiki_links_with(text, page, options)),
            files: file_targets(markup::file_links(text, page, options)),
        }
    }

    /// The page names as storage takes them.
    pub fn pages(&self) -> Vec<&str> {
        self.pages.iter().map(String::as_str).collect()
    }

    /// The files as storage takes them.
    pub fn files(&self) -> Vec<(&str, &str)> {
        self.files
            .iter()
            .map(|(page, name)| (page.as_str(), name.as_str()))
            .collect()
    }
}

/// A valid page name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PageName(String);

impl PageName {
    /// Parses a page name, in NFC ([`normalise`]).
    pub fn parse(text: &str) -> Result<PageName, PageNameError> {
        let text = normalise(text);
        let text = text.as_ref();
        if text.is_empty() {
            return Err(PageNameError::Empty);
        }
        if text.len() > MAX_LEN {
            return Err(PageNameError::TooLong);
        }
        if text.starts_with('+') {
            return Err(PageNameError::Reserved);
        }
        if text.chars().any(char::is_control) {
            return Err(PageNameError::BadCharacter);
        }
        for segment in text.split('/') {
            if segment.is_empty() || segment == "." || segment == ".." {
                return Err(PageNameError::BadSegment);
            }
            if segment.trim() != segment {
                return Err(PageNameError::BadCharacter);
            }
        }
        Ok(PageName(text.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The pages above this one: `A/B/C` → `A`, `A/B`.
    pub fn parents(&self) -> Vec<PageName> {
        self.0
            .match_indices('/')
            .map(|(at, _)| PageName(self.0[..at].to_owned()))
            .collect()
    }
}

impl fmt::Display for PageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// As text: `front_page = "FrontPage"` in `quire.toml`.
impl serde::Serialize for PageName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Parsed as it is read, so a setting that cannot name a page is an error at its line.
impl<'de> serde::Deserialize<'de> for PageName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        PageName::parse(&text).map_err(|err| {
            serde::de::Error::custom(format!("{text:?} is not a valid page name: {err}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_unicode_and_subpages() {
        for name in [
            "FrontPage",
            "Team/Notes/2026",
            "Café Ünïcödé",
            "日本語/ページ",
            "A b",
        ] {
            assert_eq!(PageName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn refuses_what_would_be_ambiguous_or_reserved() {
        let cases = [
            ("", PageNameError::Empty),
            ("+edit", PageNameError::Reserved),
            ("/Lead", PageNameError::BadSegment),
            ("Trail/", PageNameError::BadSegment),
            ("a//b", PageNameError::BadSegment),
            ("a/../b", PageNameError::BadSegment),
            ("a/./b", PageNameError::BadSegment),
            ("tab\there", PageNameError::BadCharacter),
            (" padded", PageNameError::BadCharacter),
            ("a/ b", PageNameError::BadCharacter),
        ];
        for (text, error) in cases {
            assert_eq!(PageName::parse(text), Err(error), "{text:?}");
        }
        assert_eq!(
            PageName::parse(&"x".repeat(256)),
            Err(PageNameError::TooLong)
        );
    }

    #[test]
    fn nfc_and_nfd_spellings_are_one_name() {
        let composed = PageName::parse("Caf\u{e9}/Cr\u{e8}me").unwrap();
        let decomposed = PageName::parse("Cafe\u{301}/Cre\u{300}me").unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(decomposed.as_str(), "Caf\u{e9}/Cr\u{e8}me");
        // NFC, not NFKC: a full-width letter is a different character, not a different spelling.
        assert_eq!(PageName::parse("\u{ff21}").unwrap().as_str(), "\u{ff21}");
    }

    #[test]
    fn lists_parents_outermost_first() {
        let name = PageName::parse("A/B/C").unwrap();
        let parents: Vec<_> = name.parents().iter().map(|p| p.to_string()).collect();
        assert_eq!(parents, ["A", "A/B"]);
    }
}
