//! Bounds on the work of one render, so that a page written to be expensive costs bounded time and memory.
//!
//! Rendering time and memory grow with how much markup a page holds, not with its length alone. Measured on
//! quire's 2 MB pages before these bounds (a debug build of `markup::render`, peak RSS of the process):
//!
//! | 2 MB of                         | parser events | peak RSS |
//! |---------------------------------|--------------:|---------:|
//! | a table of 2 000 × 500 cells    | 3 000 000     | 535 MB   |
//! | `*a* ` emphasis runs            | 2 000 000     | 358 MB   |
//! | `[[a]] ` wiki links             | 1 400 000     | 379 MB   |
//! | `[a](b) ` links                 | 1 200 000     | 220 MB   |
//! | bare URLs (`http://a.b `)       | 3             | 150 MB   |
//!
//! The memory goes, in order, to pulldown-cmark's tree (about 95 MB of the table's, built in full before the
//! first event comes out), the events the rewrite keeps, the unsanitized HTML, and the sanitizer's DOM. So the
//! bounds are checked in that order, each before the stage whose size it bounds:
//!
//! - [`RenderLimits::max_marks`]: the bytes that may start markup (`*`, `|`, `[`, `<`, line ends, …;
//!   `is_mark`), counted before parsing, since the parser's tree grows with them and the parser cannot be
//!   stopped halfway.
//! - [`RenderLimits::max_events`] and [`RenderLimits::max_table_cells`]: counted while the events are
//!   collected, which stops at the first one over. Cells have a bound of their own because pulldown-cmark pads
//!   every row to the header's width: 16 kB of Markdown (a 2 000-column header and 30 rows of `|`) make 60 000
//!   cells.
//! - [`RenderLimits::max_output_bytes`]: the HTML handed to the sanitizer, counted while it is written (text
//!   that needs escaping, such as `"`, grows six-fold).
//!
//! A render over a bound is refused as a whole with a [`crate::MarkupError`] naming it: never truncated, so
//! what is shown is always the whole page. The defaults are generous for real pages (a 2 MB page of prose
//! has some 60 000 marks and 30 000 events; a 1 000-row table of 20 columns fits) and keep one render under
//! about 60 MB.

/// How much work one render may do; see the module docs for what each bound protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RenderLimits {
    /// Bytes that may start markup or make the parser add a node (`` * _ ~ ` [ ] ! < > & \ | # - + = . ) ^ `` and
    /// line ends), counted before parsing.
    pub max_marks: usize,
    /// Parser events (each start and end of an element, each run of text), counted while parsing.
    pub max_events: usize,
    /// Table cells, header cells and the cells pulldown-cmark adds to short rows included.
    pub max_table_cells: usize,
    /// Bytes of HTML before sanitizing.
    pub max_output_bytes: usize,
}

impl Default for RenderLimits {
    /// Generous for real pages, bounded for hostile ones (see the module docs).
    fn default() -> Self {
        RenderLimits {
            max_marks: 200_000,
            max_events: 150_000,
            max_table_cells: 20_000,
            max_output_bytes: 8 << 20,
        }
    }
}

/// Whether `byte` may start markup, or make pulldown-cmark add a node to its tree: inline delimiters,
/// brackets, HTML and entities, escapes, table pipes, block markers and line ends.
pub(crate) fn is_mark(byte: u8) -> bool {
    matches!(
        byte,
        b'*' | b'_'
            | b'~'
            | b'`'
            | b'['
            | b']'
            | b'!'
            | b'<'
            | b'>'
            | b'&'
            | b'\\'
            | b'|'
            | b'#'
            | b'-'
            | b'+'
            | b'='
            | b'.'
            | b')'
            | b'^'
            | b'\n'
    )
}

/// Whether `markdown` has more than `limit` [`is_mark`] bytes; stops counting at the first one over.
pub(crate) fn marks_exceed(markdown: &str, limit: usize) -> bool {
    markdown
        .bytes()
        .filter(|&byte| is_mark(byte))
        .nth(limit)
        .is_some()
}

/// A `fmt::Write` into a `String` that fails once the string would grow past `limit` bytes, so that an
/// oversized page stops being written at the limit instead of after it.
pub(crate) struct BoundedHtml {
    pub(crate) html: String,
    pub(crate) limit: usize,
}

impl std::fmt::Write for BoundedHtml {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        if self.html.len() + text.len() > self.limit {
            return Err(std::fmt::Error);
        }
        self.html.push_str(text);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_marks_up_to_the_limit() {
        assert!(!marks_exceed("plain words, no marks at all", 0));
        assert!(!marks_exceed("*a*", 2));
        assert!(marks_exceed("*a*", 1));
        assert!(marks_exceed("line\nline\n", 1));
    }

    #[test]
    fn bounded_html_refuses_past_its_limit() {
        use std::fmt::Write;
        let mut out = BoundedHtml {
            html: String::new(),
            limit: 5,
        };
        assert!(out.write_str("abc").is_ok());
        assert!(out.write_str("def").is_err());
        assert_eq!(out.html, "abc");
    }
}
