//! What a render may vary by: the dialect's extensions, the wiki's interwiki prefixes, and the size limit.
//!
//! Every field changes the output, so the whole struct is part of the memo cache's key (`cache.rs`): two
//! renders of one text with different options never share a result.

use std::collections::BTreeMap;

/// How [`crate::render_with`] renders a page. [`Default`] is quire's dialect: everything on except CamelCase
/// links, no interwiki prefixes, no size limit; [`RenderOptions::commonmark`] is plain CommonMark.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenderOptions {
    /// `[[wiki links]]` and the `[[_TOC_]]` macro. Off, `[[…]]` is CommonMark text (a link reference, if
    /// defined).
    pub wiki_links: bool,
    /// GitHub's extensions: tables, strikethrough, task lists, footnotes, alerts and bare-URL autolinks.
    pub gfm: bool,
    /// Headings get stable slug ids (`## Installing quire` → `id="installing-quire"`), de-duplicated within a
    /// page. The table of contents needs them: without ids `[[_TOC_]]` is not expanded.
    pub heading_ids: bool,
    /// Words like `FrontPage` (an upper-case letter, lower-case letters or digits, and again) link to the page
    /// of that name, outside code, links and images. Needs `wiki_links`.
    pub camel_case: bool,
    /// Interwiki prefixes: `[[WikiPedia:Rust]]` with `WikiPedia` → `https://en.wikipedia.org/wiki/$PAGE`
    /// links to that URL, `$PAGE` replaced by the percent-encoded page part (appended if the template has no
    /// `$PAGE`). A prefix not listed is part of an ordinary page name. Needs `wiki_links`.
    pub interwiki: BTreeMap<String, String>,
    /// Fenced code blocks in a language syntect knows get `hl-*` class spans for themes to colour; others,
    /// and very large ones, stay plain (see `highlight.rs`).
    pub highlight: bool,
    /// Pages longer than this many bytes are refused with [`MarkupError::TooLarge`]; `None` renders any size.
    pub max_input_bytes: Option<usize>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            wiki_links: true,
            gfm: true,
            heading_ids: true,
            camel_case: false,
            interwiki: BTreeMap::new(),
            highlight: true,
            max_input_bytes: None,
        }
    }
}

impl RenderOptions {
    /// Plain CommonMark, as the spec describes it: no extension of any kind (the output is still sanitized).
    pub fn commonmark() -> Self {
        RenderOptions {
            wiki_links: false,
            gfm: false,
            heading_ids: false,
            camel_case: false,
            interwiki: BTreeMap::new(),
            highlight: false,
            max_input_bytes: None,
        }
    }
}

/// Why a page was not rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkupError {
    /// The page is longer than [`RenderOptions::max_input_bytes`]; an app answers 413 or 422.
    #[error("page is {size} bytes, more than the limit of {limit} bytes")]
    TooLarge {
        /// The page's length in bytes.
        size: usize,
        /// The limit it exceeds.
        limit: usize,
    },
}
