//! Where a wiki's pages and files go in a folder (or a git tree), and back: the one mapping that
//! `quire export markdown`, `quire export git` and `quire import markdown` share.
//!
//! - Page `A/B` is the file `A/B.md`: each `/` of a name is a folder, so page `A` and its subpages
//!   `A/…` are `A.md` and the folder `A/`, as forges and editors show a tree.
//! - Page `A/B`'s files are in the folder `A/B.files/` (`A/B.files/map.png`). The suffix keeps them
//!   apart from subpages: a subpage named `map.png` is `A/B/map.png.md`. A page segment that itself
//!   ends in `.files` is escaped (`%2Efiles`), so no page folder is ever read as a files folder.
//! - Each segment (of a page name or a file name) is escaped reversibly ([`escape_segment`],
//!   [`unescape_segment`]): `%` and the characters a file system or a forge refuses or mangles become
//!   `%XX` (UTF-8 bytes, upper-case hex): `\ : * ? " < > |`, control characters, a leading `.` (a
//!   hidden file, or `..`), a trailing `.` or space (Windows drops them), the first letter of a
//!   Windows device name (`CON`, `NUL`, `COM1`, … whatever follows a dot), and the `.` of a trailing
//!   `.files` or `.md`/`.markdown` on a page folder's segment. Everything else, non-ASCII letters and
//!   spaces included, is kept as it is, so a folder reads naturally.
//!
//! Reading a tree ([`classify`]) is the other way round, and it also takes folders quire did not
//! write: any `.md` or `.markdown` file is a page; a file in a `NAME.files/` folder beside it is one
//! of its files; any other file is a file of the page its folder stands for (`A/x.png` belongs to
//! page `A`; at the top, to the front page). Hidden entries (a raw leading `.`: `.git`, `.obsidian`,
//! the export marker) are skipped, and a path that would climb out (a `..` segment, or an escape
//! that decodes to `/` or a control character) is refused.
//!
//! What is not handled: file systems that ignore case (`Page` and `page` are one file on macOS and
//! Windows, and the second export overwrites the first); such wikis are rare and an export says
//! nothing of it.

use std::fmt::Write as _;

/// A page file's extension.
pub const PAGE_EXTENSION: &str = "md";

/// What ends the name of a page's files folder.
pub const FILES_SUFFIX: &str = ".files";

/// The extensions that make a file a page when importing.
const PAGE_EXTENSIONS: [&str; 2] = [".md", ".markdown"];

/// Names Windows keeps for devices, whatever extension follows.
const DEVICES: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// One segment of a page name, or a file name, as a file or folder name. See the module doc.
pub fn escape_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    let chars: Vec<(usize, char)> = segment.char_indices().collect();
    let last = chars.len().saturating_sub(1);
    let device = is_device(segment);
    // The `.` of a trailing `.files`, `.md` or `.markdown` is escaped, so that a page segment never
    // looks like a files folder or a page file.
    let reserved_dot = reserved_suffix_dot(segment);
    for (i, &(at, c)) in chars.iter().enumerate() {
        let escape = matches!(
            c,
            '%' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' | '/'
        ) || c.is_control()
            || (i == 0 && (c == '.' || device))
            || (i == last && (c == '.' || c == ' '))
            || Some(at) == reserved_dot;
        if escape {
            let mut bytes = [0; 4];
            for byte in c.encode_utf8(&mut bytes).bytes() {
                let _ = write!(out, "%{byte:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A file or folder name back to the segment [`escape_segment`] made it from: every `%XX` is decoded;
/// `None` when the bytes are not UTF-8 or the segment is one a page or file name cannot have (empty,
/// `.`, `..`, a `/` or a control character). A `\` is kept: quire allows it in page names, and
/// a name is never used as a path once decoded.
pub fn unescape_segment(escaped: &str) -> Option<String> {
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).ok()?);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    let segment = String::from_utf8(out).ok()?;
    let bad = segment.is_empty()
        || segment == "."
        || segment == ".."
        || segment.contains('/')
        || segment.chars().any(char::is_control);
    (!bad).then_some(segment)
}

/// The path of page `name`'s file, `/`-separated: `A/B` is `A/B.md`.
pub fn page_path(name: &str) -> String {
    format!("{}.{PAGE_EXTENSION}", folder_path(name))
}

/// The path of page `name`'s files folder: `A/B` has `A/B.files`.
pub fn files_path(name: &str) -> String {
    format!("{}{FILES_SUFFIX}", folder_path(name))
}

/// The path of file `file` of page `page`: `A/B.files/map.png`.
pub fn file_path(page: &str, file: &str) -> String {
    format!("{}/{}", files_path(page), escape_segment(file))
}

/// The page name as a path without extension: each segment escaped, joined by `/`.
fn folder_path(name: &str) -> String {
    name.split('/')
        .map(escape_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// What a path in a tree being imported is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A page's text.
    Page(String),
    /// A file of a page: in its `.files` folder, or any other file in the page's folder.
    File {
        /// The page it belongs to; `None` for a file at the top, which belongs to the front page.
        page: Option<String>,
        /// The file's name.
        name: String,
    },
    /// Hidden (a segment starting with `.`): skipped without a word.
    Hidden,
    /// A path that names no page or file (climbs out, or decodes to a bad name): refused with a
    /// warning.
    Refused,
}

/// What the `/`-separated relative `path` of a tree is. See the module doc.
pub fn classify(path: &str) -> Entry {
    let segments: Vec<&str> = path.split('/').collect();
    if segments.iter().any(|s| s.starts_with('.') && *s != "..") {
        return Entry::Hidden;
    }
    let Some((last, folders)) = segments.split_last() else {
        return Entry::Refused;
    };
    if let Some(stem) = PAGE_EXTENSIONS
        .iter()
        .find_map(|ext| strip_suffix_ignore_case(last, ext))
    {
        return match decoded(folders, stem) {
            Some(name) => Entry::Page(name),
            None => Entry::Refused,
        };
    }
    let Some(name) = unescape_segment(last) else {
        return Entry::Refused;
    };
    let page = match folders.split_last() {
        None => None,
        Some((parent, above)) => {
            let owner = match parent.strip_suffix(FILES_SUFFIX) {
                Some(stem) => decoded(above, stem),
                None => decoded(above, parent),
            };
            match owner {
                Some(owner) => Some(owner),
                None => return Entry::Refused,
            }
        }
    };
    Entry::File { page, name }
}

/// The page name of `folders` followed by `last`, each unescaped; `None` if any is bad.
fn decoded(folders: &[&str], last: &str) -> Option<String> {
    let mut name = String::new();
    for segment in folders.iter().chain(std::iter::once(&last)) {
        if !name.is_empty() {
            name.push('/');
        }
        name.push_str(&unescape_segment(segment)?);
    }
    Some(name)
}

fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let split = text.len().checked_sub(suffix.len())?;
    let (stem, tail) = (text.get(..split)?, text.get(split..)?);
    (tail.eq_ignore_ascii_case(suffix) && !stem.is_empty()).then_some(stem)
}

/// Whether the part of `segment` before its first dot is a Windows device name.
fn is_device(segment: &str) -> bool {
    let stem = segment.split('.').next().unwrap_or_default().trim_end();
    DEVICES
        .iter()
        .any(|device| device.eq_ignore_ascii_case(stem))
}

/// Where the dot of a trailing `.files`, `.md` or `.markdown` is, if `segment` has one.
fn reserved_suffix_dot(segment: &str) -> Option<usize> {
    [FILES_SUFFIX, ".md", ".markdown"]
        .iter()
        .find_map(|suffix| strip_suffix_ignore_case(segment, suffix).map(|stem| stem.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_become_paths() {
        let cases = [
            ("Home", "Home.md"),
            ("Team/Meeting Notes/2026", "Team/Meeting Notes/2026.md"),
            ("Café", "Café.md"),
            ("a:b\\c", "a%3Ab%5Cc.md"),
            (".hidden/x", "%2Ehidden/x.md"),
            ("dots.../space ", "dots..%2E/space%20.md"),
            ("100%", "100%25.md"),
            ("CON", "%43ON.md"),
            ("nul.txt", "%6Eul.txt.md"),
            ("Console", "Console.md"),
            ("A.files", "A%2Efiles.md"),
            ("A.md/B", "A%2Emd/B.md"),
            ("tab\there", "tab%09here.md"),
            ("q?*|<>\"", "q%3F%2A%7C%3C%3E%22.md"),
        ];
        for (name, path) in cases {
            assert_eq!(page_path(name), path, "{name:?}");
        }
        assert_eq!(files_path("A/B"), "A/B.files");
        assert_eq!(file_path("A/B", "map.png"), "A/B.files/map.png");
        assert_eq!(file_path("A", "a:b.png"), "A.files/a%3Ab.png");
    }

    #[test]
    fn paths_are_classified() {
        let page = |name: &str| Entry::Page(name.to_owned());
        let file = |page: Option<&str>, name: &str| Entry::File {
            page: page.map(str::to_owned),
            name: name.to_owned(),
        };
        let cases = [
            ("Home.md", page("Home")),
            ("Team/Notes.md", page("Team/Notes")),
            ("Team/Notes.markdown", page("Team/Notes")),
            ("README.MD", page("README")),
            ("a%3Ab.md", page("a:b")),
            (
                "Team/Notes.files/map.png",
                file(Some("Team/Notes"), "map.png"),
            ),
            ("Team/photo.jpg", file(Some("Team"), "photo.jpg")),
            ("logo.png", file(None, "logo.png")),
            (".git/config", Entry::Hidden),
            ("Team/.obsidian/x.json", Entry::Hidden),
            (".quire-export", Entry::Hidden),
            ("../evil.md", Entry::Refused),
            ("a/../../evil.md", Entry::Refused),
            ("a%2Fb.md", Entry::Refused),
            ("%2E%2E/x.md", Entry::Refused),
            ("bad%FF.md", Entry::Refused),
            ("x%00.png", Entry::Refused),
            (".md", Entry::Hidden),
        ];
        for (path, entry) in cases {
            assert_eq!(classify(path), entry, "{path:?}");
        }
    }

    proptest! {
        #[test]
        fn escaping_round_trips(segment in "\\PC{1,40}|[.% :]{1,6}|(?i:con|nul|com1)(\\.[a-z]{0,3})?") {
            prop_assume!(segment != "." && segment != ".." && !segment.contains('/'));
            let escaped = escape_segment(&segment);
            prop_assert!(!escaped.starts_with('.'));
            prop_assert!(!escaped.ends_with('.') && !escaped.ends_with(' '));
            prop_assert!(!escaped.contains([':', '\\', '/', '*', '?', '"', '<', '>', '|']));
            prop_assert_eq!(unescape_segment(&escaped), Some(segment));
        }

        #[test]
        fn page_paths_round_trip(segments in proptest::collection::vec("[^/\\p{Cc}]{1,12}", 1..4)) {
            let name = segments.join("/");
            prop_assume!(segments.iter().all(|s| s != "." && s != ".."));
            prop_assert_eq!(classify(&page_path(&name)), Entry::Page(name.clone()));
            let file = file_path(&name, "x.png");
            prop_assert_eq!(classify(&file), Entry::File { page: Some(name), name: "x.png".to_owned() });
        }
    }
}
