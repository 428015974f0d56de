//! Common words and the pairs they make: what keeps phrases of frequent words fast.
//!
//! A phrase query reads the positions of its words in every page holding all of them. For two words
//! that nearly every page contains, that is nearly every position of both in the whole index: about
//! 50 ms at 100 000 pages, twice the budget of a whole search. So each generation of the index picks
//! its common words once (the words in at least a third of the pages of a sample, the most frequent
//! [`MAX_WORDS`] of them), and every page also indexes each pair of *adjacent* common words as one
//! term of the `pairs` field (`not the` → `not_the`), with its frequency and no positions. A phrase
//! of two common words is then one term lookup; a longer phrase uses its common pairs as a filter, so
//! positions are read only on pages that have them. This is Lucene's CommonGrams, with the word list
//! learned from the wiki instead of configured, since a wiki's language is not known in advance.
//!
//! Only pairs of two common words are indexed: a phrase with one rarer word is already cheap (its
//! posting list is short), and the pairs stay a fraction of the body's terms.
//!
//! The list is written into the generation's directory ([`FILE`]) by the rebuild that learns it and
//! read by every process that opens the generation; a generation without the file (created on first
//! use rather than by `quire reindex`) has no common words and answers phrases from positions alone.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use tantivy::tokenizer::TextAnalyzer;

/// The file in a generation's directory listing its common words, one per line.
pub(crate) const FILE: &str = "quire-common-words";

/// How many common words a generation has at most.
pub(crate) const MAX_WORDS: usize = 128;
/// A word is common when it is in at least this share of the sampled pages…
const MIN_PAGE_SHARE: f64 = 1.0 / 3.0;
/// …and the sample has at least this many pages (a handful of pages says nothing about a language,
/// and a small wiki has no slow phrases).
pub(crate) const MIN_SAMPLE_PAGES: usize = 50;
/// Pages a rebuild looks at to learn the list.
pub(crate) const SAMPLE_PAGES: usize = 1000;

/// Joins the two words of a pair term; never part of a token (tokens are runs of letters and digits).
const JOIN: char = '_';

/// The common words of one generation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CommonWords {
    words: HashSet<String>,
}

impl CommonWords {
    /// Learns the list from sample texts (see the module docs for the rule).
    pub(crate) fn learn<'a>(
        analyzer: &mut TextAnalyzer,
        texts: impl ExactSizeIterator<Item = &'a str>,
    ) -> CommonWords {
        let pages = texts.len();
        if pages < MIN_SAMPLE_PAGES {
            return CommonWords::default();
        }
        // word → (pages holding it, occurrences)
        let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
        let mut seen = HashSet::new();
        for text in texts {
            seen.clear();
            analyzer.token_stream(text).process(&mut |token| {
                let entry = counts.entry(token.text.clone()).or_default();
                entry.1 += 1;
                if seen.insert(token.text.clone()) {
                    entry.0 += 1;
                }
            });
        }
        let min_pages = (pages as f64 * MIN_PAGE_SHARE).ceil() as usize;
        let mut frequent: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(_, (in_pages, _))| *in_pages >= min_pages)
            .map(|(word, (_, occurrences))| (word, occurrences))
            .collect();
        frequent.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        CommonWords {
            words: frequent
                .into_iter()
                .take(MAX_WORDS)
                .map(|(word, _)| word)
                .collect(),
        }
    }

    /// The list of a generation directory; empty when it has none.
    pub(crate) fn read(dir: &Path) -> std::io::Result<CommonWords> {
        match fs::read_to_string(dir.join(FILE)) {
            Ok(text) => Ok(CommonWords {
                words: text
                    .lines()
                    .map(str::trim)
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect(),
            }),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(CommonWords::default()),
            Err(err) => Err(err),
        }
    }

    /// Writes the list into a generation directory.
    pub(crate) fn write(&self, dir: &Path) -> std::io::Result<()> {
        let mut words: Vec<&str> = self.words.iter().map(String::as_str).collect();
        words.sort_unstable();
        let mut text = words.join("\n");
        text.push('\n');
        fs::write(dir.join(FILE), text)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.words.len()
    }

    pub(crate) fn contains(&self, word: &str) -> bool {
        self.words.contains(word)
    }

    /// The pair term of two adjacent words, if both are common.
    pub(crate) fn pair(&self, first: &str, second: &str) -> Option<String> {
        (self.contains(first) && self.contains(second)).then(|| pair_term(first, second))
    }

    /// The `pairs` field's text for a page: its adjacent common pairs, space-separated (indexed with
    /// the whitespace tokenizer). Adjacent means consecutive positions, exactly as a phrase query
    /// sees them (a dropped over-long word leaves a gap).
    pub(crate) fn pairs_text(&self, analyzer: &mut TextAnalyzer, text: &str) -> String {
        let mut out = String::new();
        if self.is_empty() {
            return out;
        }
        let mut previous: Option<(String, usize)> = None;
        analyzer.token_stream(text).process(&mut |token| {
            let common = self.contains(&token.text);
            if let Some((word, position)) = &previous {
                if common && position + 1 == token.position {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push_str(word);
                    out.push(JOIN);
                    out.push_str(&token.text);
                }
            }
            previous = common.then(|| (token.text.clone(), token.position));
        });
        out
    }
}

fn pair_term(first: &str, second: &str) -> String {
    let mut term = String::with_capacity(first.len() + second.len() + 1);
    term.push_str(first);
    term.push(JOIN);
    term.push_str(second);
    term
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::analyzer;

    fn common(words: &[&str]) -> CommonWords {
        CommonWords {
            words: words.iter().map(|w| (*w).to_owned()).collect(),
        }
    }

    #[test]
    fn pairs_are_adjacent_common_words_only() {
        let words = common(&["the", "of", "end"]);
        assert_eq!(
            words.pairs_text(&mut analyzer(), "The end of the world, the END."),
            "the_end end_of of_the the_end"
        );
        assert_eq!(words.pairs_text(&mut analyzer(), "world"), "");
        assert_eq!(
            CommonWords::default().pairs_text(&mut analyzer(), "the end"),
            ""
        );
    }

    #[test]
    fn a_dropped_long_word_breaks_a_pair() {
        let words = common(&["a", "b"]);
        let long = "x".repeat(100);
        assert_eq!(
            words.pairs_text(&mut analyzer(), &format!("a {long} b")),
            ""
        );
    }

    #[test]
    fn common_words_are_in_a_third_of_the_sampled_pages() {
        let texts: Vec<String> = (0..60)
            .map(|i| {
                let mut text = format!("unique{i} ");
                if i % 2 == 0 {
                    text.push_str("half half half ");
                }
                if i % 4 == 0 {
                    text.push_str("quarter ");
                }
                text.push_str("every");
                text
            })
            .collect();
        let learned = CommonWords::learn(&mut analyzer(), texts.iter().map(String::as_str));
        assert_eq!(learned, common(&["every", "half"]));
        let few = CommonWords::learn(&mut analyzer(), texts[..10].iter().map(String::as_str));
        assert!(few.is_empty(), "too small a sample learns nothing");
    }

    #[test]
    fn the_list_survives_a_round_trip_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(CommonWords::read(dir.path()).unwrap().is_empty());
        let words = common(&["of", "the"]);
        words.write(dir.path()).unwrap();
        assert_eq!(CommonWords::read(dir.path()).unwrap(), words);
    }
}
