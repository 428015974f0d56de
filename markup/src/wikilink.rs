//! Wiki-link targets: from what an author wrote between `[[` and `]]` (before any `|`) to a page name.
//!
//! The rules, in order:
//! - The first `#` splits off an anchor; an empty page part with an anchor links within the current page.
//! - Runs of whitespace (including line breaks) become one space; leading and trailing whitespace goes.
//! - `/Child` is a subpage of the current page; each leading `../` climbs one level from the current page, so
//!   `../Sibling` is a sibling. Climbing above the root makes the link invalid.
//! - Each `/`-separated segment is trimmed. The link is invalid if a segment is empty or only dots (beyond
//!   the leading `../` forms), starts with `+` (the app keeps `+`-names for its own actions, so no page can be
//!   called that), or if the target holds a control character.
//!
//! An invalid target is not a link: the renderer shows it as the literal text the author wrote.
//!
//! Before these rules, three forms are not page names: `_TOC_` is the table-of-contents macro,
//! `attachment:…` names a page's file (see `attachment.rs`), and `Prefix:Page` with a configured interwiki
//! prefix is a link to another site ([`RenderOptions::interwiki`]).

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::attachment::{file_dest, FileRef};
use crate::RenderOptions;

/// What is kept as it is in an interwiki page part or anchor: the unreserved characters of RFC 3986.
pub(crate) const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The table-of-contents macro, `[[_TOC_]]`.
pub(crate) const TOC: &str = "_TOC_";

/// Where a wiki link points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Another page (or this one, by name), optionally at an anchor.
    Page {
        name: String,
        anchor: Option<String>,
    },
    /// An anchor on the page being rendered: `[[#Anchor]]`.
    SamePage { anchor: String },
    /// A page on another site, through an interwiki prefix: the full URL.
    Interwiki { url: String },
    /// The table of contents, `[[_TOC_]]`: expanded on a line of its own, literal text elsewhere.
    Toc,
    /// A file attached to a page: `[[attachment:x.pdf]]`, and `attachment:` Markdown links and images.
    File(FileRef),
}

/// Parses a wiki-link target with the macro and interwiki forms `options` enable, then as [`parse_target`].
pub(crate) fn parse_target_with(
    raw: &str,
    current_page: &str,
    options: &RenderOptions,
) -> Option<Target> {
    if raw.trim() == TOC {
        return Some(Target::Toc);
    }
    if let Some(file) = file_dest(raw.trim_start(), current_page) {
        return file.map(Target::File);
    }
    if let Some(url) = interwiki_url(raw, &options.interwiki) {
        return Some(Target::Interwiki { url });
    }
    parse_target(raw, current_page)
}

/// The URL of `Prefix:Page#anchor` if `Prefix` is configured and the page part is not empty.
fn interwiki_url(raw: &str, interwiki: &BTreeMap<String, String>) -> Option<String> {
    if interwiki.is_empty() || has_control(raw) {
        return None;
    }
    let (prefix, rest) = raw.split_once(':')?;
    let template = interwiki.get(prefix.trim())?;
    let (page, anchor) = match rest.split_once('#') {
        Some((page, anchor)) => (page, Some(anchor)),
        None => (rest, None),
    };
    let page = collapse_whitespace(page);
    if page.is_empty() {
        return None;
    }
    let encoded = utf8_percent_encode(&page, UNRESERVED).to_string();
    let mut url = if template.contains("$PAGE") {
        template.replace("$PAGE", &encoded)
    } else {
        format!("{template}{encoded}")
    };
    if let Some(anchor) = anchor.map(collapse_whitespace).filter(|a| !a.is_empty()) {
        url.push('#');
        url.extend(utf8_percent_encode(&anchor, UNRESERVED));
    }
    Some(url)
}

/// Parses a wiki-link target as written, relative to `current_page`; `None` when it is not a valid target.
pub(crate) fn parse_target(raw: &str, current_page: &str) -> Option<Target> {
    let (page_part, anchor_part) = match raw.split_once('#') {
        Some((page, anchor)) => (page, Some(anchor)),
        None => (raw, None),
    };
    let anchor = match anchor_part.map(collapse_whitespace) {
        Some(anchor) if has_control(&anchor) => return None,
        Some(anchor) if anchor.is_empty() => None,
        other => other,
    };
    let page = collapse_whitespace(page_part);
    if page.is_empty() {
        return anchor.map(|anchor| Target::SamePage { anchor });
    }
    if has_control(&page) {
        return None;
    }
    let name = resolve(&page, current_page)?;
    Some(Target::Page { name, anchor })
}

/// Resolves the subpage forms and checks every segment; `page` is already whitespace-collapsed.
pub(crate) fn resolve(page: &str, current_page: &str) -> Option<String> {
    let mut segments: Vec<String> = Vec::new();
    let mut rest = page;
    let mut climbed = false;
    if strip_parent(rest).is_some() {
        segments = current_segments(current_page);
        while let Some(after) = strip_parent(rest) {
            // Each `..` leaves the current page's own level, so the first one drops the page itself.
            segments.pop()?;
            climbed = true;
            rest = after;
        }
    } else if let Some(child) = rest.strip_prefix('/') {
        segments = current_segments(current_page);
        if segments.is_empty() {
            return None;
        }
        rest = child;
    }
    let rest = rest.trim();
    if rest.is_empty() {
        // `[[..]]` and `[[../]]` name the parent; a bare `[[/]]` names nothing.
        return (climbed && !segments.is_empty()).then(|| segments.join("/"));
    }
    for segment in rest.split('/') {
        let segment = segment.trim();
        let all_dots = segment.chars().all(|c| c == '.');
        if segment.is_empty() || all_dots || segment.starts_with('+') {
            return None;
        }
        segments.push(segment.to_owned());
    }
    Some(segments.join("/"))
}

/// Strips one leading `..` (followed by `/`, or ending the text); `None` if the text does not start with one.
fn strip_parent(text: &str) -> Option<&str> {
    let after = text.strip_prefix("..")?;
    if after.is_empty() {
        return Some(after);
    }
    after.strip_prefix('/')
}

pub(crate) fn current_segments(current_page: &str) -> Vec<String> {
    current_page
        .split('/')
        .map(str::trim)
        .filter(|segment| !segment.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Trims and turns every run of whitespace into a single space.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

pub(crate) fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(name: &str, anchor: Option<&str>) -> Option<Target> {
        Some(Target::Page {
            name: name.to_owned(),
            anchor: anchor.map(str::to_owned),
        })
    }

    #[test]
    fn targets_resolve_as_documented() {
        let cases: &[(&str, &str, Option<Target>)] = &[
            ("Page", "Home", page("Page", None)),
            ("  Some   Page  ", "Home", page("Some Page", None)),
            ("Some\n\tPage", "Home", page("Some Page", None)),
            ("Page#Anchor", "Home", page("Page", Some("Anchor"))),
            (
                "Page # Two  words ",
                "Home",
                page("Page", Some("Two words")),
            ),
            ("Page#", "Home", page("Page", None)),
            (
                "#Top",
                "Home",
                Some(Target::SamePage {
                    anchor: "Top".into(),
                }),
            ),
            ("Team/Notes", "Home", page("Team/Notes", None)),
            ("Team / Notes", "Home", page("Team/Notes", None)),
            ("/Child", "Team", page("Team/Child", None)),
            (
                "/Child/Grand",
                "Team/Notes",
                page("Team/Notes/Child/Grand", None),
            ),
            ("/Child#x", "Team", page("Team/Child", Some("x"))),
            ("../Sibling", "Team/Notes", page("Team/Sibling", None)),
            ("../../Top", "A/B/C", page("A/Top", None)),
            ("../../Top", "B/C", page("Top", None)),
            ("..", "Team/Notes", page("Team", None)),
            ("../", "Team/Notes", page("Team", None)),
            ("Ünïcode Säite", "Home", page("Ünïcode Säite", None)),
            ("a\\b", "Home", page("a\\b", None)),
            // Invalid: each of these must stay literal text.
            ("", "Home", None),
            ("   ", "Home", None),
            ("#", "Home", None),
            ("+login", "Home", None),
            ("Page/+edit", "Home", None),
            ("/+edit", "Team", None),
            ("bad\u{0}name", "Home", None),
            ("bad\u{7}name", "Home", None),
            ("Page#bad\u{1b}", "Home", None),
            ("../Sibling", "Top", page("Sibling", None)),
            ("../../Escape", "Top", None),
            ("..", "Top", None),
            ("/", "Team", None),
            ("/Child", "", None),
            ("A//B", "Home", None),
            ("A/", "Home", None),
            ("A/../B", "Home", None),
            ("./A", "Home", None),
            ("...", "Home", None),
            ("..x", "Home", page("..x", None)),
        ];
        for (raw, current, expected) in cases {
            assert_eq!(
                &parse_target(raw, current),
                expected,
                "target {raw:?} on page {current:?}"
            );
        }
    }

    #[test]
    fn interwiki_and_macro_targets() {
        let options = RenderOptions {
            interwiki: BTreeMap::from([
                (
                    "WikiPedia".to_owned(),
                    "https://en.wikipedia.org/wiki/$PAGE".to_owned(),
                ),
                ("Search".to_owned(), "https://x.org/?q=".to_owned()),
            ]),
            ..RenderOptions::default()
        };
        let url = |raw: &str| match parse_target_with(raw, "Home", &options) {
            Some(Target::Interwiki { url }) => Some(url),
            _ => None,
        };
        assert_eq!(
            url("WikiPedia:Rust"),
            Some("https://en.wikipedia.org/wiki/Rust".into())
        );
        assert_eq!(
            url(" WikiPedia : C++ / ä\"<x> #His tory"),
            Some(
                "https://en.wikipedia.org/wiki/C%2B%2B%20%2F%20%C3%A4%22%3Cx%3E#His%20tory".into()
            )
        );
        assert_eq!(url("Search:a&b"), Some("https://x.org/?q=a%26b".into()));
        // Unknown prefixes, other cases and empty page parts are ordinary page names.
        assert_eq!(
            parse_target_with("Unknown:Rust", "Home", &options),
            page("Unknown:Rust", None)
        );
        assert_eq!(
            parse_target_with("wikipedia:Rust", "Home", &options),
            page("wikipedia:Rust", None)
        );
        assert_eq!(
            parse_target_with("WikiPedia:", "Home", &options),
            page("WikiPedia:", None)
        );
        assert_eq!(
            parse_target_with("WikiPedia:a\u{7}", "Home", &options),
            None
        );
        assert_eq!(
            parse_target_with(" _TOC_ ", "Home", &options),
            Some(Target::Toc)
        );
    }

    #[test]
    fn collapse_whitespace_trims_and_joins() {
        assert_eq!(collapse_whitespace("  a \n\t b  "), "a b");
        assert_eq!(collapse_whitespace(""), "");
    }
}
