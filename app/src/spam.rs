//! The anti-spam rules, pure: bad-content patterns, counting added links, the honeypot's name. The
//! wiki applies them on a save and a registration (`wiki::pages::spam`); rate limits live in storage,
//! as they must hold across processes.
//!
//! The design follows MoinMoin's antispam, with its known weak spots closed:
//! - Patterns are the `regex` crate's: matching is linear in the text whatever the pattern, so an
//!   admin's list cannot make a save hang (no catastrophic backtracking), and a pattern may compile to
//!   at most [`PATTERN_SIZE_LIMIT`] bytes, so a huge repetition is refused rather than built. A pattern
//!   that does not compile is an error naming its line, never a panic.
//! - Only what a save *adds* is judged: a match the page's text already has does not count, so a page
//!   that held a match before a pattern was listed can still be edited (MoinMoin refused such pages
//!   for good).
//! - Links are counted as the renderer writes them (`markup::external_links`), not by a regular
//!   expression over the source, so bare URLs, raw HTML anchors and link definitions all count, and a
//!   URL in a code block does not.

use std::collections::{HashMap, HashSet};

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

/// The honeypot's name in the editor's and the registration form: an attractive field (robots fill in
/// a website), hidden from people by CSS and from assistive technology by `aria-hidden`.
pub const HONEYPOT_FIELD: &str = "website";

/// The most a pattern may compile to, in bytes (`RegexBuilder::size_limit`).
pub const PATTERN_SIZE_LIMIT: usize = 256 * 1024;

/// A bad-content pattern that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {pattern:?} is not a valid regular expression: {reason}")]
pub struct PatternError {
    /// Its line in the list (from 1), or its position in `spam.bad_content`.
    pub line: usize,
    /// The pattern as written.
    pub pattern: String,
    /// The regex crate's explanation.
    pub reason: String,
}

/// What a refused save added: the pattern, and the text it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMatch {
    /// The pattern as written.
    pub pattern: String,
    /// The added text it matched (at most [`MATCH_SHOWN_CHARS`] characters).
    pub matched: String,
}

/// How much of a matched text a refusal quotes.
pub const MATCH_SHOWN_CHARS: usize = 80;

/// Compiled bad-content patterns: any number of lists, checked together.
#[derive(Debug)]
pub struct BadContent {
    patterns: Vec<(String, Regex)>,
    /// All of them at once, so a text that matches none is read once; `None` if there are none, or
    /// if the set would pass the size limit, and then each pattern reads the text alone.
    any: Option<RegexSet>,
}

impl BadContent {
    /// Compiles `patterns` (each a line, numbered from 1); every one that does not compile is reported.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<BadContent, Vec<PatternError>> {
        BadContent::numbered(
            patterns
                .iter()
                .enumerate()
                .map(|(n, pattern)| (n + 1, pattern.as_ref())),
        )
    }

    /// Compiles the patterns of a list as admins write it: one a line; blank lines and lines
    /// starting with `#` are not patterns.
    pub fn parse_list(text: &str) -> Result<BadContent, Vec<PatternError>> {
        BadContent::numbered(list_lines(text))
    }

    /// Compiles what compiles of `lists`, and says what did not: the save path must go on with the
    /// good patterns even if a list stored by an older build holds one this build refuses.
    pub fn lenient<'a>(
        lists: impl IntoIterator<Item = (usize, &'a str)>,
    ) -> (BadContent, Vec<PatternError>) {
        let mut good = Vec::new();
        let mut errors = Vec::new();
        for (line, pattern) in lists {
            match compile(line, pattern) {
                Ok(regex) => good.push((pattern.to_owned(), regex)),
                Err(error) => errors.push(error),
            }
        }
        (BadContent::from_compiled(good), errors)
    }

    fn numbered<'a>(
        patterns: impl IntoIterator<Item = (usize, &'a str)>,
    ) -> Result<BadContent, Vec<PatternError>> {
        let (content, errors) = BadContent::lenient(patterns);
        if errors.is_empty() {
            Ok(content)
        } else {
            Err(errors)
        }
    }

    fn from_compiled(patterns: Vec<(String, Regex)>) -> BadContent {
        // No set for no patterns: building even an empty one costs every CGI process, which
        // checks quire.toml's list at start, a regex compilation.
        if patterns.is_empty() {
            return BadContent {
                patterns,
                any: None,
            };
        }
        let any = RegexSetBuilder::new(patterns.iter().map(|(_, regex)| regex.as_str()))
            .case_insensitive(true)
            .size_limit(PATTERN_SIZE_LIMIT.saturating_mul(patterns.len().max(1)))
            .build()
            .ok();
        BadContent { patterns, any }
    }

    /// How many patterns there are.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The first match in `new` that `old` (the text being replaced) does not have, if any. Linear in
    /// the two texts for each pattern that matches `new` at all.
    pub fn added_match(&self, old: &str, new: &str) -> Option<BadMatch> {
        let candidates: Vec<usize> = match &self.any {
            Some(any) => any.matches(new).into_iter().collect(),
            None => (0..self.patterns.len()).collect(),
        };
        for index in candidates {
            let (pattern, regex) = &self.patterns[index];
            let before: HashSet<&str> = regex.find_iter(old).map(|m| m.as_str()).collect();
            let added = regex
                .find_iter(new)
                .find(|m| !m.as_str().is_empty() && !before.contains(m.as_str()));
            if let Some(added) = added {
                return Some(BadMatch {
                    pattern: pattern.clone(),
                    matched: added.as_str().chars().take(MATCH_SHOWN_CHARS).collect(),
                });
            }
        }
        None
    }
}

/// The patterns of an admin's list with their line numbers.
pub fn list_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
}

fn compile(line: usize, pattern: &str) -> Result<Regex, PatternError> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|error| PatternError {
            line,
            pattern: pattern.to_owned(),
            reason: error
                .to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .to_owned(),
        })
}

/// How many of `new`'s links `old` did not have: each URL counts as often as `new` has it more than
/// `old` does, so repeating one link a hundred times adds a hundred.
pub fn added_links(old: &[String], new: &[String]) -> usize {
    let mut before: HashMap<&str, usize> = HashMap::new();
    for link in old {
        *before.entry(link).or_default() += 1;
    }
    new.iter()
        .filter(|link| match before.get_mut(link.as_str()) {
            Some(count) if *count > 0 => {
                *count -= 1;
                false
            }
            _ => true,
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(urls: &[&str]) -> Vec<String> {
        urls.iter().map(|url| (*url).to_owned()).collect()
    }

    #[test]
    fn a_match_the_save_adds_is_found() {
        let list = BadContent::new(&["casino\\s*bonus", "pills\\.example"]).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list.added_match("", "hello"), None);
        let found = list.added_match("hello", "hello CASINO  bonus").unwrap();
        assert_eq!(found.pattern, "casino\\s*bonus");
        assert_eq!(found.matched, "CASINO  bonus");
    }

    #[test]
    fn a_match_the_page_had_already_does_not_count() {
        let list = BadContent::new(&["casino"]).unwrap();
        let old = "an old page about a casino\n";
        assert_eq!(
            list.added_match(old, &format!("{old}and a new line\n")),
            None
        );
        // A second, different match is added text.
        let list = BadContent::new(&["pills\\.\\w+"]).unwrap();
        let found = list
            .added_match("pills.example", "pills.example pills.other")
            .unwrap();
        assert_eq!(found.matched, "pills.other");
    }

    #[test]
    fn empty_matches_refuse_nothing() {
        let list = BadContent::new(&["x*"]).unwrap();
        assert_eq!(list.added_match("", "abc"), None);
    }

    #[test]
    fn bad_patterns_are_errors_naming_their_lines() {
        let errors = BadContent::parse_list("# comment\n\ncasino\n(unclosed\n[z-a]\n").unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert_eq!(errors[0].line, 4);
        assert_eq!(errors[0].pattern, "(unclosed");
        assert!(
            errors[0]
                .to_string()
                .starts_with("line 4: \"(unclosed\" is not a valid regular expression: "),
            "{}",
            errors[0]
        );
        assert_eq!(errors[1].line, 5);
        let (lenient, errors) = BadContent::lenient(list_lines("casino\n(unclosed\n"));
        assert_eq!((lenient.len(), errors.len()), (1, 1));
    }

    #[test]
    fn huge_patterns_are_refused_not_built() {
        let errors = BadContent::new(&["(a{1000}){1000}"]).unwrap_err();
        assert!(errors[0].reason.contains("size limit"), "{}", errors[0]);
    }

    #[test]
    fn matching_stays_linear_on_hostile_patterns() {
        // Catastrophic for a backtracking engine; the regex crate reads the text once.
        let list = BadContent::new(&["(a+)+$"]).unwrap();
        let text = format!("{}!", "a".repeat(100_000));
        assert_eq!(list.added_match("", &text), None);
    }

    #[test]
    fn added_links_count_what_the_old_text_did_not_have() {
        let old = links(&["https://a", "https://b"]);
        assert_eq!(added_links(&old, &links(&["https://a", "https://b"])), 0);
        assert_eq!(
            added_links(&old, &links(&["https://a", "https://c", "https://d"])),
            2
        );
        assert_eq!(
            added_links(&old, &links(&["https://a", "https://a", "https://a"])),
            2
        );
        assert_eq!(added_links(&[], &links(&["https://x"; 7])), 7);
    }
}
