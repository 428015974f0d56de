//! The query syntax users type, parsed by hand into tantivy queries.
//!
//! tantivy's own `QueryParser` has no single-word prefix query (`edit*`) and fails on unbalanced
//! quotes; a search box must take anything and do its best. So the syntax is small and never an error:
//!
//! | typed                  | finds pages…                                              |
//! |------------------------|-----------------------------------------------------------|
//! | `release notes`        | with both words (in the title, the name or the text)      |
//! | `"release notes"`      | with the phrase                                           |
//! | `release OR launch`    | with either word                                          |
//! | `-draft`               | without the word                                          |
//! | `rel*`                 | with a word starting `rel` (the 50 most common such words) |
//! | `title:notes`          | with the word in the title; also `path:`, `body:`, `author:` |
//!
//! Words are matched case- and accent-insensitively. An unknown `field:` is taken as words, an unclosed
//! quote runs to the end, and a lone `*` or `-` is ignored. Ranking is BM25 with the title weighted 3×
//! and the name's other segments 1.5× over the text.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, Occur, PhrasePrefixQuery,
    PhraseQuery, Query, QueryClone, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Searcher, Term};

use super::merged_terms::{words_from, MergedTerms};
use super::statistics::Statistics;
use super::term_union::TermUnion;
use crate::common_words::CommonWords;
use crate::schema::{user_field, Fields, Kind, FILE_KIND};

/// How many words a prefix stands for at most: the most frequent ones.
const MAX_PREFIX_EXPANSIONS: usize = 50;
/// How many dictionary entries a prefix scans per segment before giving up on finding more.
const MAX_PREFIX_SCAN: usize = 20_000;
/// The largest union of terms ranked with block-WAND. WAND keeps its terms ordered by their next
/// page at every step and skips pages no term can lift into the top; a union of more terms, such
/// as a three-letter `prefix*` (up to 50 words in each of three fields, some in nearly every page),
/// skips little and spends more on the ordering than it saves, on top of a counting pass that reads
/// every posting again. Such a union is ranked and counted in one exhaustive pass: the same hits,
/// scores and count, sooner: with 200 here, the query set's p99 at 100 000 pages went from 9.3–9.7
/// to 26–31 ms (BENCHMARKS.md, "Search at 100 000 pages (issue 16)" and "Block-WAND that ran").
const MAX_PRUNED_TERMS: usize = 20;

/// One thing to look for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Clause {
    /// Plain words (one token, or several if the word has inner punctuation: `x-ray`).
    Words(String),
    /// A quoted phrase.
    Phrase(String),
    /// A word typed with a trailing `*`.
    Prefix(String),
}

/// A clause with where to look and whether it must match or must not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) negated: bool,
    pub(crate) field: Option<String>,
    pub(crate) clause: Clause,
}

/// A parsed query: every group must match (groups of one, or alternatives joined by `OR`); negated
/// items must not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Parsed {
    pub(crate) groups: Vec<Vec<Item>>,
}

/// Parses what a user typed. Never fails.
pub(crate) fn parse(input: &str, is_field: impl Fn(&str) -> bool) -> Parsed {
    let mut groups: Vec<Vec<Item>> = Vec::new();
    let mut join_next = false;
    let mut rest = input.trim_start();
    while !rest.is_empty() {
        let (item, after) = next_item(rest, &is_field);
        rest = after.trim_start();
        let Some(item) = item else { continue };
        if let Clause::Words(word) = &item.clause {
            if word == "OR" && item.field.is_none() && !item.negated {
                join_next = !groups.is_empty();
                continue;
            }
            if word == "AND" && item.field.is_none() && !item.negated {
                continue;
            }
        }
        let joinable = join_next
            && !item.negated
            && groups
                .last()
                .is_some_and(|group| group.iter().all(|i| !i.negated));
        join_next = false;
        match groups.last_mut() {
            Some(group) if joinable => group.push(item),
            _ => groups.push(vec![item]),
        }
    }
    Parsed { groups }
}

/// Reads one item from the start of `input` (which starts with a non-space).
fn next_item<'a>(input: &'a str, is_field: &impl Fn(&str) -> bool) -> (Option<Item>, &'a str) {
    let mut rest = input;
    let mut negated = false;
    if let Some(after) = rest.strip_prefix('-') {
        negated = true;
        rest = after;
    } else if let Some(after) = rest.strip_prefix('+') {
        rest = after;
    }
    let mut field = None;
    let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    if let Some((name, after)) = rest[..word_end].split_once(':') {
        if is_field(name) && !after.is_empty() {
            field = Some(name.to_owned());
            rest = &rest[name.len() + 1..];
        }
    }
    if let Some(quoted) = rest.strip_prefix('"') {
        let (phrase, after) = match quoted.find('"') {
            Some(end) => (&quoted[..end], &quoted[end + 1..]),
            None => (quoted, ""),
        };
        // A `*` right after the closing quote makes a phrase prefix.
        let (clause, after) = match after.strip_prefix('*') {
            Some(after) => (Clause::Prefix(phrase.to_owned()), after),
            None => (Clause::Phrase(phrase.to_owned()), after),
        };
        return (non_empty(negated, field, clause), after);
    }
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (word, after) = rest.split_at(end);
    let clause = match word.strip_suffix('*') {
        Some(stem) => Clause::Prefix(stem.to_owned()),
        None => Clause::Words(word.to_owned()),
    };
    (non_empty(negated, field, clause), after)
}

fn non_empty(negated: bool, field: Option<String>, clause: Clause) -> Option<Item> {
    let empty = match &clause {
        Clause::Words(w) | Clause::Phrase(w) | Clause::Prefix(w) => w.trim_matches('*').is_empty(),
    };
    (!empty).then_some(Item {
        negated,
        field,
        clause,
    })
}

/// Turns parsed queries into tantivy queries against one searcher (prefixes are expanded from its
/// term dictionaries).
pub(crate) struct Builder<'a> {
    pub(crate) fields: Fields,
    pub(crate) analyzer: TextAnalyzer,
    pub(crate) searcher: &'a Searcher,
    /// Word counts over the reader's pages: a prefix stands for their most frequent words.
    pub(crate) statistics: &'a Statistics<'a>,
    pub(crate) common: &'a CommonWords,
    /// What is searched: pages or files, each in its own fields.
    pub(crate) kind: Kind,
}

/// The query to run and the one to highlight with (the positive clauses only).
pub(crate) struct Built {
    pub(crate) query: Box<dyn Query>,
    pub(crate) highlight: Box<dyn Query>,
    /// The plain words typed, for "did you mean".
    pub(crate) words: Vec<String>,
    /// Whether the query is one term or a union of at most [`MAX_PRUNED_TERMS`] terms, which tantivy
    /// ranks with block-WAND, skipping most matches; any other query scores every match anyway, and
    /// is best counted in the same pass.
    pub(crate) prunable: bool,
}

/// A query being built. A union of (boosted) terms is kept flat up to the end: tantivy ranks a
/// boolean query whose clauses are all optional terms with block-WAND, and a nested one without.
enum Node {
    Terms(Vec<(Term, f32)>),
    Other(Box<dyn Query>),
}

impl Node {
    fn into_query(self) -> Box<dyn Query> {
        match self {
            Node::Terms(terms) if terms.is_empty() => Box::new(EmptyQuery),
            Node::Terms(mut terms) if terms.len() == 1 => {
                term_query(terms.pop().expect("one term"))
            }
            // A union ranked with block-WAND; a larger one scores every match anyway, and reads
            // each term's postings once without `TermUnion`'s look-ups of which segment holds it.
            Node::Terms(terms) if terms.len() <= MAX_PRUNED_TERMS => {
                Box::new(TermUnion::new(terms))
            }
            Node::Terms(terms) => Box::new(BooleanQuery::new(
                terms
                    .into_iter()
                    .map(|term| (Occur::Should, term_query(term)))
                    .collect(),
            )),
            Node::Other(query) => query,
        }
    }

    /// Alternatives: still flat if they all are.
    fn any_of(mut nodes: Vec<Node>) -> Node {
        if nodes.len() == 1 {
            return nodes.pop().expect("one node");
        }
        if nodes.iter().all(|node| matches!(node, Node::Terms(_))) {
            return Node::Terms(
                nodes
                    .into_iter()
                    .flat_map(|node| match node {
                        Node::Terms(terms) => terms,
                        Node::Other(_) => Vec::new(),
                    })
                    .collect(),
            );
        }
        Node::Other(Box::new(BooleanQuery::new(
            nodes
                .into_iter()
                .map(|node| (Occur::Should, node.into_query()))
                .collect(),
        )))
    }
}

/// Frequencies are all BM25 needs; positions are read by phrases only.
pub(super) fn term_query((term, boost): (Term, f32)) -> Box<dyn Query> {
    boosted(
        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
        boost,
    )
}

fn boosted(query: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    if boost == 1.0 {
        query
    } else {
        Box::new(BoostQuery::new(query, boost))
    }
}

impl Builder<'_> {
    /// `None` when nothing searchable was typed.
    pub(crate) fn build(&mut self, parsed: &Parsed) -> Option<Built> {
        let mut positive = Vec::new();
        let mut negative = Vec::new();
        let mut highlight = Vec::new();
        let mut words = Vec::new();
        for group in &parsed.groups {
            let negated = group.iter().any(|item| item.negated);
            let mut alternatives = Vec::new();
            for item in group {
                if let (Clause::Words(w), false) = (&item.clause, item.negated) {
                    words.extend(self.tokens(w));
                }
                let Some((node, highlighted)) = self.item(item) else {
                    continue;
                };
                if !negated {
                    highlight.push((Occur::Should, highlighted));
                }
                alternatives.push(node);
            }
            if alternatives.is_empty() {
                continue;
            }
            let node = Node::any_of(alternatives);
            if negated {
                negative.push(node);
            } else {
                positive.push(node);
            }
        }
        if positive.is_empty() && negative.is_empty() {
            return None;
        }
        let prunable = positive.len() == 1
            && negative.is_empty()
            && matches!(&positive[0], Node::Terms(terms) if terms.len() <= MAX_PRUNED_TERMS);
        let query = if positive.len() == 1 && negative.is_empty() {
            positive.pop().expect("one node").into_query()
        } else {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = positive
                .into_iter()
                .map(|node| (Occur::Must, node.into_query()))
                .collect();
            if clauses.is_empty() {
                // Only exclusions: everything (of the kind) but them.
                clauses.push((Occur::Must, self.everything()));
            }
            clauses.extend(
                negative
                    .into_iter()
                    .map(|node| (Occur::MustNot, node.into_query())),
            );
            Box::new(BooleanQuery::new(clauses))
        };
        Some(Built {
            query,
            highlight: Box::new(BooleanQuery::new(highlight)),
            words,
            prunable,
        })
    }

    /// One item as a query, and the query whose terms show it in snippets.
    fn item(&mut self, item: &Item) -> Option<(Node, Box<dyn Query>)> {
        let targets: Vec<(Field, f32)> = match item.field.as_deref() {
            Some(name) => vec![(user_field(&self.fields, self.kind, name)?, 1.0)],
            None => self.kind.default_fields(&self.fields),
        };
        let (text, prefix) = match &item.clause {
            Clause::Words(text) | Clause::Phrase(text) => (text, false),
            Clause::Prefix(text) => (text, true),
        };
        let tokens = self.tokens(text);
        if tokens.is_empty() {
            return None;
        }
        let mut terms: Vec<(Term, f32)> = Vec::new();
        let mut others: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut highlight: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, boost) in targets {
            let in_field = |token: &String| Term::from_field_text(field, token);
            match (prefix, tokens.as_slice()) {
                (false, [token]) => terms.push((in_field(token), boost)),
                (false, _) => {
                    let (query, shown) = self.phrase(field, &tokens);
                    others.push((Occur::Should, boosted(query, boost)));
                    highlight.push((Occur::Should, shown));
                }
                // Term queries rather than a range: they score with BM25 and the snippets
                // highlight them.
                (true, [token]) => terms.extend(
                    expand_prefix(self.searcher, self.statistics, field, token)
                        .into_iter()
                        .map(|term| (term, boost)),
                ),
                (true, _) => {
                    let query = PhrasePrefixQuery::new(tokens.iter().map(in_field).collect());
                    highlight.push((Occur::Should, query.box_clone()));
                    others.push((Occur::Should, boosted(Box::new(query), boost)));
                }
            }
        }
        if others.is_empty() {
            let shown = Node::Terms(terms.clone()).into_query();
            return Some((Node::Terms(terms), shown));
        }
        others.extend(
            terms
                .into_iter()
                .map(|term| (Occur::Should, term_query(term))),
        );
        Some((
            Node::Other(Box::new(BooleanQuery::new(others))),
            Box::new(BooleanQuery::new(highlight)),
        ))
    }

    /// Every document of the kind searched, each scoring 1 as `AllQuery` does. The file marker is
    /// a term set, not a term query: it must not be weighed by BM25, whose statistics count one
    /// kind only.
    fn everything(&self) -> Box<dyn Query> {
        let files: Box<dyn Query> = Box::new(TermSetQuery::new([Term::from_field_text(
            self.fields.kind,
            FILE_KIND,
        )]));
        match self.kind {
            Kind::Page => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery)),
                (Occur::MustNot, files),
            ])),
            Kind::File => Box::new(ConstScoreQuery::new(files, 1.0)),
        }
    }

    fn tokens(&mut self, text: &str) -> Vec<String> {
        let mut tokens = Vec::new();
        self.analyzer
            .token_stream(text)
            .process(&mut |token| tokens.push(token.text.clone()));
        tokens
    }

    /// A phrase of two or more tokens in `field`, and the query that highlights it. In the body, the
    /// phrase's pairs of common words are single terms of the `pairs` field (see
    /// the `common_words` module): a two-word phrase of them is that term alone, a longer one reads
    /// positions only in the pages holding all of its pairs.
    fn phrase(&self, field: Field, tokens: &[String]) -> (Box<dyn Query>, Box<dyn Query>) {
        let phrase = PhraseQuery::new(
            tokens
                .iter()
                .map(|token| Term::from_field_text(field, token))
                .collect(),
        );
        let shown = phrase.box_clone();
        if field != self.fields.body {
            return (Box::new(phrase), shown);
        }
        let mut pairs: Vec<Term> = tokens
            .windows(2)
            .filter_map(|two| self.common.pair(&two[0], &two[1]))
            .map(|pair| Term::from_field_text(self.fields.pairs, &pair))
            .collect();
        if pairs.is_empty() {
            return (Box::new(phrase), shown);
        }
        if tokens.len() == 2 {
            let pair = pairs.pop().expect("one pair");
            return (
                Box::new(TermQuery::new(pair, IndexRecordOption::WithFreqs)),
                shown,
            );
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(phrase))];
        clauses.extend(pairs.into_iter().map(|pair| {
            // A filter: the phrase alone scores.
            let filter: Box<dyn Query> = Box::new(ConstScoreQuery::new(
                Box::new(TermQuery::new(pair, IndexRecordOption::Basic)),
                0.0,
            ));
            (Occur::Must, filter)
        }));
        (Box::new(BooleanQuery::new(clauses)), shown)
    }
}

/// The most frequent words of `field` that start with `prefix`, counted over the pages `statistics`
/// counts, most frequent first (then in order), without the words no such page holds.
///
/// Each segment's dictionary is read from `prefix` on, and the segments' sorted streams are merged,
/// so that each word comes once with its count summed: no table of every word, and a word is copied
/// only when it is kept. Over every page, the counts are the dictionaries' own, and the top ones
/// are kept as they come. Over fewer pages, the dictionaries' counts (every page's, and the
/// documents an update replaced) bound the true counts from above, so words are counted again only
/// in the order of their bounds until the next could not beat the last one kept. What is left: a
/// prefix of more than [`MAX_PREFIX_SCAN`] words in a segment is cut short there in dictionary
/// order, whoever's words those are.
fn expand_prefix(
    searcher: &Searcher,
    statistics: &Statistics<'_>,
    field: Field,
    prefix: &str,
) -> Vec<Term> {
    let dictionaries: Vec<_> = searcher
        .segment_readers()
        .iter()
        .filter_map(|segment| segment.inverted_index(field).ok())
        .collect();
    // A dictionary that cannot be read leaves its words out: a prefix never fails the search.
    let streams = dictionaries
        .iter()
        .enumerate()
        .filter_map(|(place, dictionary)| {
            Some((place, words_from(dictionary, prefix.as_bytes()).ok()?))
        });
    let mut words = MergedTerms::new(streams, prefix.as_bytes(), MAX_PREFIX_SCAN);
    let whole = statistics.is_whole();
    // Over every page: the best kept so far, the worst on top (fewest pages, then last in order).
    let mut best: BinaryHeap<(Reverse<u64>, Vec<u8>)> = BinaryHeap::new();
    // Over fewer pages: every word, with its bound.
    let mut by_bound: Vec<(u64, Vec<u8>)> = Vec::new();
    while words.advance() {
        let count: u64 = words
            .holders()
            .map(|(_, entry)| u64::from(entry.doc_freq))
            .sum();
        if whole {
            // Words come in order, so a word as frequent as the worst kept comes after it.
            let better = best.len() < MAX_PREFIX_EXPANSIONS
                || best
                    .peek()
                    .is_some_and(|(Reverse(worst), _)| count > *worst);
            if better {
                if best.len() == MAX_PREFIX_EXPANSIONS {
                    best.pop();
                }
                best.push((Reverse(count), words.key().to_vec()));
            }
        } else {
            by_bound.push((count, words.key().to_vec()));
        }
    }
    let cut_short = words.cut_short();
    let term = |word: Vec<u8>| Some(Term::from_field_text(field, &String::from_utf8(word).ok()?));
    if whole {
        let mut kept: Vec<(u64, Term)> = best
            .into_iter()
            .filter_map(|(Reverse(count), word)| Some((count, term(word)?)))
            .collect();
        kept.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        return kept
            .into_iter()
            .map(|(count, term)| {
                if !cut_short {
                    statistics.remember_whole_count(&term, count);
                }
                term
            })
            .collect();
    }
    let mut by_bound: Vec<(u64, Term)> = by_bound
        .into_iter()
        .filter_map(|(count, word)| Some((count, term(word)?)))
        .collect();
    by_bound.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut kept: Vec<(u64, Term)> = Vec::new();
    for (bound, term) in by_bound {
        let enough = kept.len() >= MAX_PREFIX_EXPANSIONS;
        if enough && bound < kept[MAX_PREFIX_EXPANSIONS - 1].0 {
            break;
        }
        // A count that cannot be read leaves the word out: a prefix never fails the search.
        let count = statistics.pages_with(&term).unwrap_or(0);
        if count > 0 {
            kept.push((count, term));
            kept.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        }
    }
    kept.truncate(MAX_PREFIX_EXPANSIONS);
    kept.into_iter().map(|(_, term)| term).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(input: &str) -> Parsed {
        parse(input, |name| matches!(name, "title" | "author"))
    }

    fn item(clause: Clause) -> Item {
        Item {
            negated: false,
            field: None,
            clause,
        }
    }

    fn words(w: &str) -> Item {
        item(Clause::Words(w.into()))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

        /// The merge of the segments' dictionaries keeps the words an index-wide count would:
        /// the most frequent, then the first in order, with each segment's count summed.
        #[test]
        fn a_prefix_stands_for_its_most_frequent_words_over_all_segments(
            segments in proptest::collection::vec(
                proptest::collection::vec(proptest::collection::vec(0u16..140, 1..12), 1..12),
                1..5,
            ),
            prefix in proptest::sample::select(vec!["w", "w1", "w10", "x", "w13"]),
        ) {
            use std::cell::RefCell;
            use std::collections::HashMap;
            use tantivy::schema::{Schema, TEXT};
            use tantivy::{doc, Index, IndexWriter};

            let mut schema = Schema::builder();
            let text = schema.add_text_field("text", TEXT);
            let index = Index::create_in_ram(schema.build());
            let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
            writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
            let mut pages = HashMap::<String, u64>::new();
            for segment in &segments {
                for words in segment {
                    let words: Vec<String> = words.iter().map(|w| format!("w{w}")).collect();
                    let mut distinct = words.clone();
                    distinct.sort();
                    distinct.dedup();
                    for word in distinct {
                        *pages.entry(word).or_default() += 1;
                    }
                    writer.add_document(doc!(text => words.join(" "))).unwrap();
                }
                writer.commit().unwrap();
            }
            let searcher = index.reader().unwrap().searcher();
            let statistics = Statistics::Whole {
                searcher: &searcher,
                files: 0,
                known: RefCell::default(),
            };
            let mut expected: Vec<(u64, String)> = pages
                .into_iter()
                .filter(|(word, _)| word.starts_with(prefix))
                .map(|(word, count)| (count, word))
                .collect();
            expected.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            expected.truncate(MAX_PREFIX_EXPANSIONS);
            let found: Vec<String> = expand_prefix(&searcher, &statistics, text, prefix)
                .iter()
                .map(|term| term.value().as_str().unwrap().to_owned())
                .collect();
            let expected_words: Vec<String> = expected.iter().map(|(_, w)| w.clone()).collect();
            proptest::prop_assert_eq!(found, expected_words);
            for (count, word) in expected {
                let term = Term::from_field_text(text, &word);
                proptest::prop_assert_eq!(statistics.pages_with(&term).unwrap(), count);
            }
        }
    }

    #[test]
    fn words_are_all_required() {
        assert_eq!(
            p("release  notes").groups,
            vec![vec![words("release")], vec![words("notes")]]
        );
    }

    #[test]
    fn phrases_prefixes_fields_and_negation() {
        let parsed = p(r#""release notes" rel* -draft title:plan author:"bob smith""#);
        assert_eq!(
            parsed.groups,
            vec![
                vec![item(Clause::Phrase("release notes".into()))],
                vec![item(Clause::Prefix("rel".into()))],
                vec![Item {
                    negated: true,
                    ..words("draft")
                }],
                vec![Item {
                    field: Some("title".into()),
                    ..words("plan")
                }],
                vec![Item {
                    field: Some("author".into()),
                    ..item(Clause::Phrase("bob smith".into()))
                }],
            ]
        );
    }

    #[test]
    fn or_joins_neighbours() {
        assert_eq!(
            p("a OR b c").groups,
            vec![vec![words("a"), words("b")], vec![words("c")]]
        );
        // A leading or trailing OR, and AND, are just ignored.
        assert_eq!(
            p("OR a AND b OR").groups,
            vec![vec![words("a")], vec![words("b")]]
        );
    }

    #[test]
    fn odd_input_is_taken_as_well_as_it_can_be() {
        assert_eq!(p("").groups, Vec::<Vec<Item>>::new());
        assert_eq!(p("* - ** \"\"").groups, Vec::<Vec<Item>>::new());
        assert_eq!(
            p("\"unclosed phrase").groups,
            vec![vec![item(Clause::Phrase("unclosed phrase".into()))]]
        );
        // Unknown fields are words; so is a trailing colon.
        assert_eq!(p("color:red").groups, vec![vec![words("color:red")]]);
        assert_eq!(p("title:").groups, vec![vec![words("title:")]]);
        assert_eq!(
            p("\"big bad wo\"*").groups,
            vec![vec![item(Clause::Prefix("big bad wo".into()))]]
        );
    }
}
