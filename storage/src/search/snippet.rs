//! Snippets as HTML: the page text escaped, the matched words in `<mark>`.
//!
//! tantivy's `Snippet::to_html` marks with `<b>`; building the HTML here keeps the one rule in one
//! place: everything from the page is escaped, only the marks are markup.

use std::ops::Range;

use tantivy::snippet::Snippet;

/// How much page text a result shows.
pub(crate) const SNIPPET_CHARS: usize = 240;

/// The snippet as HTML, or the start of the text if the query matched nothing in it (a title match).
pub(crate) fn to_html(snippet: &Snippet, text: &str) -> String {
    if snippet.is_empty() {
        return escape(&opening(text));
    }
    marked(snippet.fragment(), snippet.highlighted())
}

/// `fragment` escaped, with the (byte) ranges wrapped in `<mark>`; overlapping or touching ranges
/// become one mark, and ranges off the fragment or off char boundaries are ignored.
pub(crate) fn marked(fragment: &str, ranges: &[Range<usize>]) -> String {
    let mut ranges: Vec<Range<usize>> = ranges
        .iter()
        .filter(|r| {
            r.start < r.end
                && r.end <= fragment.len()
                && fragment.is_char_boundary(r.start)
                && fragment.is_char_boundary(r.end)
        })
        .cloned()
        .collect();
    ranges.sort_by_key(|r| r.start);
    let mut html = String::with_capacity(fragment.len() + 16 * ranges.len());
    let mut at = 0;
    let mut iter = ranges.into_iter().peekable();
    while let Some(mut range) = iter.next() {
        while let Some(next) = iter.peek() {
            if next.start > range.end {
                break;
            }
            range.end = range.end.max(next.end);
            iter.next();
        }
        let start = range.start.max(at);
        if start >= range.end {
            continue;
        }
        html.push_str(&escape(&fragment[at..start]));
        html.push_str("<mark>");
        html.push_str(&escape(&fragment[start..range.end]));
        html.push_str("</mark>");
        at = range.end;
    }
    html.push_str(&escape(&fragment[at..]));
    html
}

/// The first [`SNIPPET_CHARS`] characters, cut at a word boundary, with an ellipsis if cut.
fn opening(text: &str) -> String {
    let text = text.trim();
    let Some((cut, _)) = text.char_indices().nth(SNIPPET_CHARS) else {
        return text.to_owned();
    };
    let head = &text[..cut];
    let head = head
        .rsplit_once(char::is_whitespace)
        .map_or(head, |(h, _)| h);
    format!("{}\u{2026}", head.trim_end())
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_ranges_and_escapes_everything_else() {
        let text = "a <b>bold</b> & \"quoted\" word";
        let word = text.find("word").unwrap();
        let bold = text.find("bold").unwrap();
        assert_eq!(
            marked(text, &[word..word + 4, bold..bold + 4]),
            "a &lt;b&gt;<mark>bold</mark>&lt;/b&gt; &amp; &quot;quoted&quot; <mark>word</mark>"
        );
    }

    #[test]
    fn a_match_that_is_markup_is_escaped_inside_the_mark() {
        assert_eq!(
            marked("<script>", std::slice::from_ref(&(0..8))),
            "<mark>&lt;script&gt;</mark>"
        );
    }

    #[test]
    fn overlapping_and_bad_ranges_do_not_break_the_html() {
        assert_eq!(marked("abcdef", &[0..3, 2..4]), "<mark>abcd</mark>ef");
        assert_eq!(marked("abc", &[1..1, 2..9]), "abc");
        assert_eq!(marked("é", std::slice::from_ref(&(1..2))), "é");
    }

    #[test]
    fn without_a_match_the_opening_is_shown() {
        let long = "word ".repeat(100);
        let html = to_html(&Snippet::empty(), &long);
        assert!(html.ends_with('\u{2026}'), "{html}");
        assert!(html.chars().count() <= SNIPPET_CHARS + 1);
        assert_eq!(to_html(&Snippet::empty(), "<p>"), "&lt;p&gt;");
    }
}
