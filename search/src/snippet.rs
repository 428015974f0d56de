//! Snippets as HTML: the page text escaped, the matched words in `<mark>`.
//!
//! tantivy's `Snippet::to_html` marks with `<b>`; building the HTML here keeps the one rule in one
//! place: everything from the page is escaped, only the marks are markup.

use std::ops::Range;

use pulldown_cmark_escape::escape_html;
use rustc_hash::FxHashMap;
use tantivy::snippet::{Snippet, SnippetGenerator};

/// How much page text a result shows.
pub(crate) const SNIPPET_CHARS: usize = 240;

/// Bytes of text around a word's first occurrence that a snippet is chosen from.
const WINDOW_BEFORE: usize = 600;
const WINDOW_AFTER: usize = 1400;

/// The snippet of one result as HTML. `words` are the query's words in the text's field, rarest
/// first.
///
/// tantivy's generator reads the whole text to pick its best passage; for twenty long pages that is
/// most of a search's time. So the passage is picked from a window around the first occurrence of the
/// rarest word found (a plain, ASCII-case-insensitive substring search, far cheaper than reading
/// words), and the whole text is read only when that finds nothing sure: no window matched as words,
/// or the text has letters that fold to the words in ways a substring search cannot see (`Café`).
pub(crate) fn of(generator: &SnippetGenerator, text: &str, words: &[&str]) -> String {
    match window(text, words) {
        Some(part) => {
            let snippet = generator.snippet(part);
            if !snippet.is_empty() {
                return to_html(&snippet, text);
            }
        }
        // Every word is plain ASCII and so is the text: no substring, no word.
        None if text.is_ascii() && words.iter().all(|w| w.is_ascii()) => {
            return to_html(&Snippet::empty(), text);
        }
        None => {}
    }
    to_html(&generator.snippet(text), text)
}

/// Where `word` first occurs in `text` as a whole word (not inside a longer one, which would give a
/// window without the word and a second, full reading).
fn find_word(text: &str, word: &str) -> Option<usize> {
    let is_word_char = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    text.match_indices(word).map(|(at, _)| at).find(|&at| {
        !is_word_char(text[..at].chars().next_back())
            && !is_word_char(text[at + word.len()..].chars().next())
    })
}

/// Above this many words, [`first_of`] reads the text's words once instead of searching the text
/// for each word: a `prefix*` stands for up to fifty words, most of them absent from any one page,
/// and fifty searches of twenty long pages were the largest part of such a query.
const SEARCHES_AT_MOST: usize = 4;

/// Where the first of `words` that occurs in `lower` (ASCII-lowercased text) first occurs as a
/// whole word.
fn first_of(lower: &str, words: &[&str]) -> Option<usize> {
    let words: Vec<&str> = words
        .iter()
        .copied()
        .filter(|word| !word.is_empty())
        .collect();
    if words.len() <= SEARCHES_AT_MOST {
        return words.iter().find_map(|word| find_word(lower, word));
    }
    // The same answer in one reading: a whole word is a maximal run of alphanumeric characters.
    // Most runs are no word of the query: a run whose length no word has is not looked up, and the
    // look-up hashes with Fx rather than SipHash (the words are the query's, not an attacker's keys
    // to a table that outlives the request).
    let mut rank: FxHashMap<&str, usize> = FxHashMap::default();
    let mut lengths = 0u64;
    for (at, word) in words.iter().enumerate() {
        rank.entry(word).or_insert(at);
        lengths |= 1 << word.len().min(63);
    }
    let mut best: Option<(usize, usize)> = None;
    let mut start = None;
    for (at, c) in lower.char_indices().chain([(lower.len(), ' ')]) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(at),
            (false, Some(from)) => {
                start = None;
                let length = 1 << (at - from).min(63);
                if lengths & length == 0 {
                    continue;
                }
                if let Some(&found) = rank.get(&lower[from..at]) {
                    if best.is_none_or(|(kept, _)| found < kept) {
                        best = Some((found, from));
                        if found == 0 {
                            break;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    best.map(|(_, at)| at)
}

/// The part of `text` around the first occurrence (as a whole word, ignoring ASCII case) of the first
/// of `words` that occurs, or `None` if none does.
fn window<'t>(text: &'t str, words: &[&str]) -> Option<&'t str> {
    let lower = text.to_ascii_lowercase();
    let at = first_of(&lower, words)?;
    let mut start = at.saturating_sub(WINDOW_BEFORE);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + WINDOW_AFTER).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    Some(&text[start..end])
}

/// The snippet as HTML, or the start of the text if the query matched nothing in it (a title match).
pub(crate) fn to_html(snippet: &Snippet, text: &str) -> String {
    if snippet.is_empty() {
        let mut html = String::new();
        escape_into(&mut html, &opening(text));
        return html;
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
        escape_into(&mut html, &fragment[at..start]);
        html.push_str("<mark>");
        escape_into(&mut html, &fragment[start..range.end]);
        html.push_str("</mark>");
        at = range.end;
    }
    escape_into(&mut html, &fragment[at..]);
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

/// Appends `text` escaped for HTML (`& < > " '`), with the workspace's one HTML escape.
fn escape_into(html: &mut String, text: &str) {
    escape_html(html, text).expect("writing to a String cannot fail");
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
    fn the_window_is_around_the_first_word_found_on_char_boundaries() {
        let text = format!("{} needle {}", "é".repeat(400), "x".repeat(3000));
        let part = window(&text, &["missing", "needle"]).unwrap();
        assert!(part.contains("needle"));
        assert!(
            part.len() <= WINDOW_BEFORE + WINDOW_AFTER + 2,
            "{}",
            part.len()
        );
        assert!(text.starts_with('é') && part.starts_with('é'));
        assert_eq!(window("Some NEEDLE", &["needle"]), Some("Some NEEDLE"));
        assert_eq!(window("nothing here", &["needle"]), None);
        assert_eq!(find_word("needles, a needle", "needle"), Some(11));
        assert_eq!(find_word("needles", "needle"), None);
    }

    /// Many words are found in one reading of the text, with the same answer as one search each.
    #[test]
    fn many_words_find_what_a_search_for_each_finds() {
        let lower = "an alpha, beta-gamma; alphabet delta x9 gamma. épée beta";
        let cases: [&[&str]; 6] = [
            &["zeta", "eta", "gamma", "beta", "alpha"],
            &["alphabet", "zeta", "eta", "x", "alpha"],
            &["lph", "alph", "zeta", "eta", "x9", "an"],
            &["none", "of", "these", "words", "here"],
            &["", "", "", "", "delta"],
            &["pée", "zeta", "eta", "iota", "épée"],
        ];
        for words in cases {
            let one_each = words
                .iter()
                .filter(|w| !w.is_empty())
                .find_map(|w| find_word(lower, w));
            assert!(words.len() > SEARCHES_AT_MOST);
            assert_eq!(first_of(lower, words), one_each, "{words:?}");
        }
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
