//! What a render may vary by: the dialect's extensions, the wiki's interwiki prefixes, the size limit and the
//! bounds on a render's work.
//!
//! Every field changes the output, so a cache of rendered HTML must key on the whole struct:
//! [`RenderOptions::fingerprint`] is that key, the same in every process, build and platform.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::RenderLimits;

/// How [`crate::render_with`] renders a page. [`Default`] is quire's dialect: everything on except CamelCase
/// links, no interwiki prefixes, no size limit and no bounds on the work; [`RenderOptions::commonmark`] is plain
/// CommonMark.
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
    /// Bounds on the work of one render (markup characters, elements, table cells, HTML size): a page over
    /// one is refused with the [`MarkupError`] naming it. `None` renders any page, however costly; a server
    /// rendering text from strangers wants [`RenderLimits::default`].
    pub limits: Option<RenderLimits>,
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
            limits: None,
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
            limits: None,
        }
    }

    /// A digest of every field, for keying cached HTML: equal options give equal fingerprints, and options
    /// that differ in any field (so may render differently) give different ones. 32 hex digits (128 bits of
    /// SHA-256).
    ///
    /// Stable across processes, builds, Rust versions and platforms, because caches outlive all of them (quire
    /// stores the key with the HTML in SQLite, and under CGI each request is a new process). That is why it is
    /// an explicit encoding of the fields and not the derived [`Hash`]: std promises neither the bytes a
    /// `Hash` impl feeds a hasher nor `DefaultHasher`'s algorithm from one release to the next.
    ///
    /// ```
    /// let plain = markup::RenderOptions::commonmark();
    /// assert_eq!(plain.fingerprint(), markup::RenderOptions::commonmark().fingerprint());
    /// assert_ne!(plain.fingerprint(), markup::RenderOptions::default().fingerprint());
    /// ```
    pub fn fingerprint(&self) -> String {
        // Destructured, so that a new field fails to compile until it is part of the key.
        let RenderOptions {
            wiki_links,
            gfm,
            heading_ids,
            camel_case,
            interwiki,
            highlight,
            max_input_bytes,
            limits,
        } = self;
        let mut digest = Sha256::new();
        // Names the encoding, so that a change to it can never meet keys written by the old one.
        digest.update(b"quire markup RenderOptions v1\0");
        for flag in [wiki_links, gfm, heading_ids, camel_case, highlight] {
            digest.update([u8::from(*flag)]);
        }
        // Lengths before contents, so that no two maps encode to the same bytes.
        digest.update(length(interwiki.len()));
        for (prefix, template) in interwiki {
            for text in [prefix, template] {
                digest.update(length(text.len()));
                digest.update(text.as_bytes());
            }
        }
        match max_input_bytes {
            None => digest.update([0]),
            Some(limit) => {
                digest.update([1]);
                digest.update(length(*limit));
            }
        }
        // Nothing for `None`, so that options without bounds keep the keys they had before bounds existed;
        // `Some` adds a fixed number of bytes at the end, so the two never meet.
        if let Some(RenderLimits {
            max_marks,
            max_events,
            max_table_cells,
            max_output_bytes,
        }) = limits
        {
            digest.update([1]);
            for limit in [max_marks, max_events, max_table_cells, max_output_bytes] {
                digest.update(length(*limit));
            }
        }
        digest.finalize()[..16]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// `n` as 8 little-endian bytes, whatever the platform's pointer width.
fn length(n: usize) -> [u8; 8] {
    // usize is at most 64 bits on every platform Rust supports, so this never truncates.
    (n as u64).to_le_bytes()
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
    /// The page has more bytes that may start markup than [`RenderLimits::max_marks`]; an app answers 422.
    #[error("the page has more than {limit} markup characters (such as * | [ < and line ends)")]
    TooManyMarks {
        /// The bound it exceeds.
        limit: usize,
    },
    /// The page parses to more elements than [`RenderLimits::max_events`]; an app answers 422.
    #[error("the page has more than {limit} Markdown elements")]
    TooManyEvents {
        /// The bound it exceeds.
        limit: usize,
    },
    /// The page's tables have more cells than [`RenderLimits::max_table_cells`]; an app answers 422.
    #[error("the page has more than {limit} table cells")]
    TooManyTableCells {
        /// The bound it exceeds.
        limit: usize,
    },
    /// The page's HTML would be longer than [`RenderLimits::max_output_bytes`]; an app answers 422.
    #[error("the page's HTML would be more than {limit} bytes")]
    OutputTooLarge {
        /// The bound it exceeds.
        limit: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way to change one field of `base`.
    fn each_field_changed(base: &RenderOptions) -> Vec<(&'static str, RenderOptions)> {
        let with = |change: fn(&mut RenderOptions)| {
            let mut options = base.clone();
            change(&mut options);
            options
        };
        vec![
            ("wiki_links", with(|o| o.wiki_links = !o.wiki_links)),
            ("gfm", with(|o| o.gfm = !o.gfm)),
            ("heading_ids", with(|o| o.heading_ids = !o.heading_ids)),
            ("camel_case", with(|o| o.camel_case = !o.camel_case)),
            ("highlight", with(|o| o.highlight = !o.highlight)),
            (
                "interwiki added",
                with(|o| {
                    o.interwiki
                        .insert("Wp".into(), "https://en.wikipedia.org/wiki/$PAGE".into());
                }),
            ),
            (
                "max_input_bytes",
                with(|o| o.max_input_bytes = Some(1 << 20)),
            ),
            ("max_input_bytes 0", with(|o| o.max_input_bytes = Some(0))),
            ("limits", with(|o| o.limits = Some(RenderLimits::default()))),
            (
                "limits changed",
                with(|o| {
                    o.limits = Some(RenderLimits {
                        max_table_cells: 1,
                        ..RenderLimits::default()
                    });
                }),
            ),
        ]
    }

    #[test]
    fn the_fingerprint_is_pinned() {
        // Cached HTML is stored under this key: if it changes, every cache entry written by an older
        // quire is dead (harmless, but it should be a decision, not an accident). The values were checked
        // against the same encoding written out in Python (hashlib.sha256).
        assert_eq!(
            RenderOptions::default().fingerprint(),
            "8b799e856f39ad8c4b52e291f92b5d27"
        );
        assert_eq!(
            RenderOptions::commonmark().fingerprint(),
            "7e65319697e3f7346dcba59f3cec1300"
        );
    }

    #[test]
    fn equal_options_give_equal_fingerprints_and_any_change_another() {
        for base in [RenderOptions::default(), RenderOptions::commonmark()] {
            assert_eq!(base.fingerprint(), base.clone().fingerprint());
            let mut seen = vec![("base", base.fingerprint())];
            for (field, changed) in each_field_changed(&base) {
                let fingerprint = changed.fingerprint();
                assert_eq!(fingerprint.len(), 32);
                for (other, earlier) in &seen {
                    assert_ne!(&fingerprint, earlier, "{field} vs {other}");
                }
                seen.push((field, fingerprint));
            }
        }
    }

    #[test]
    fn interwiki_entries_are_told_apart_however_they_are_split() {
        let with = |entries: &[(&str, &str)]| RenderOptions {
            interwiki: entries
                .iter()
                .map(|(prefix, template)| ((*prefix).to_owned(), (*template).to_owned()))
                .collect(),
            ..RenderOptions::default()
        };
        let fingerprints = [
            with(&[("ab", "c")]),
            with(&[("a", "bc")]),
            with(&[("a", "b"), ("c", "")]),
            with(&[("a", "b")]),
            with(&[("a", "c")]),
        ]
        .map(|options| options.fingerprint());
        for (i, one) in fingerprints.iter().enumerate() {
            for other in &fingerprints[i + 1..] {
                assert_ne!(one, other);
            }
        }
    }
}
