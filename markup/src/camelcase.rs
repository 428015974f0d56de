//! CamelCase words as links (`FrontPage`, `RecentChanges`), MoinMoin's oldest link syntax, when
//! [`crate::RenderOptions::camel_case`] is on.
//!
//! A word is a maximal run of letters, digits and `_`; it links when it is two or more humps, each an
//! upper-case letter followed by lower-case letters or digits (`FrontPage`, `Page2Go`; not `HTTPServer`,
//! `iPhone`, `Front_Page`). A word right after `/`, `.`, `:`, `@`, `!`, `#`, `&`, `$`, `%`, `=`, `-` or `\`
//! is part of something else (a path, a domain, an address, an entity), so it does not link; `!FrontPage`
//! is the way to write the word without a link. The renderer only looks in text outside code, links and
//! images.

use std::ops::Range;

/// Byte ranges of the CamelCase words in `text`.
pub(crate) fn camel_words(text: &str) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut previous: Option<char> = None;
    let mut start = None;
    for (ix, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        let in_word = c.is_alphanumeric() || c == '_';
        match (in_word, start) {
            (true, None) => {
                let after_other = previous.is_some_and(|p| "/.:@!#&$%=-\\".contains(p));
                start = Some((ix, after_other));
            }
            (false, Some((from, after_other))) => {
                if !after_other && is_camel(&text[from..ix]) {
                    words.push(from..ix);
                }
                start = None;
            }
            _ => {}
        }
        previous = Some(c);
    }
    words
}

/// Whether `text` may hold a CamelCase word: a quick test that lets most text skip the search.
pub(crate) fn may_contain_camel(text: &str) -> bool {
    text.chars().any(char::is_uppercase)
}

pub(crate) fn is_camel(word: &str) -> bool {
    let mut humps = 0;
    let mut chars = word.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_uppercase() {
            return false;
        }
        let mut tail = 0;
        while chars
            .peek()
            .is_some_and(|c| c.is_lowercase() || c.is_ascii_digit())
        {
            chars.next();
            tail += 1;
        }
        if tail == 0 {
            return false;
        }
        humps += 1;
    }
    humps >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        camel_words(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn camel_words_are_found_as_documented() {
        assert_eq!(
            words("See FrontPage, RecentChanges and Page2Go."),
            ["FrontPage", "RecentChanges", "Page2Go"]
        );
        assert_eq!(words("(ÜberSeite) «ÄrgerNis»"), ["ÜberSeite", "ÄrgerNis"]);
        for none in [
            "Front",
            "HTTPServer",
            "iPhone",
            "Front_Page",
            "FrontPageX",
            "a/FrontPage",
            "x.FrontPage",
            "!FrontPage",
            "me@FrontPage",
            "&FrontPage;",
            "FrontPage_x",
            "",
        ] {
            assert!(words(none).is_empty(), "{none:?} has no CamelCase word");
        }
    }

    #[test]
    fn the_quick_test_never_misses_a_word() {
        for text in ["FrontPage", "x ÜberSeite", "no words here"] {
            assert!(camel_words(text).is_empty() || may_contain_camel(text));
        }
    }
}
