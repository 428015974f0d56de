//! A union of terms that each segment runs with only the terms it holds, so that block-WAND ranks it.
//!
//! A word is searched in three fields (title, name, text), and a `prefix*` in many words, as a union
//! of term queries. tantivy ranks such a union with block-WAND, which skips the blocks of pages that
//! cannot reach the top hits, but only when every term of the union reads frequencies in the
//! segment, and a term a segment does not hold reads none (its empty postings say they have no
//! frequencies). A word that is in the text of every page but in no page name of one segment thus
//! made that segment score every match: ×3 the time of a common word at 100 000 pages, where it
//! is the text's postings that are long. [`TermUnion`] gives each segment a union of the terms that
//! segment holds, weighed as before, so its scores are a `BooleanQuery`'s (but for the order block-WAND adds
//! the terms' scores in, which moves the last bit of a float).
//!
//! It also counts without ranking: a segment's count is the largest posting list's length (its live
//! documents, when the segment has deletions) plus the documents of the other lists that one lacks,
//! found by seeking in it, rather than a walk of the whole union.

use std::sync::Arc;

use tantivy::query::{
    BooleanWeight, EmptyScorer, EnableScoring, Explanation, Occur, Query, Scorer, SumCombiner,
    Weight,
};
use tantivy::{DocId, DocSet, Score, SegmentReader, Term, TERMINATED};

use super::syntax::term_query;

/// Optional terms, each with its boost, scored as the sum of the matching terms' BM25 scores.
#[derive(Debug, Clone)]
pub(crate) struct TermUnion {
    terms: Vec<(Term, Score)>,
}

impl TermUnion {
    pub(crate) fn new(terms: Vec<(Term, Score)>) -> TermUnion {
        TermUnion { terms }
    }
}

impl Query for TermUnion {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let clauses = self
            .terms
            .iter()
            .map(|(term, boost)| {
                let weight = term_query((term.clone(), *boost)).weight(enable_scoring)?;
                Ok((term.clone(), Arc::from(weight)))
            })
            .collect::<tantivy::Result<_>>()?;
        Ok(Box::new(TermUnionWeight {
            clauses,
            scoring_enabled: enable_scoring.is_scoring_enabled(),
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        for (term, _) in &self.terms {
            visitor(term, false);
        }
    }
}

struct TermUnionWeight {
    clauses: Vec<(Term, Arc<dyn Weight>)>,
    scoring_enabled: bool,
}

impl TermUnionWeight {
    /// The clauses whose term `segment` holds, with how many documents hold it.
    fn present(&self, segment: &SegmentReader) -> tantivy::Result<Vec<(u32, &Arc<dyn Weight>)>> {
        let mut present = Vec::with_capacity(self.clauses.len());
        for (term, weight) in &self.clauses {
            let inverted = segment.inverted_index(term.field())?;
            if let Some(info) = inverted.get_term_info(term)? {
                present.push((info.doc_freq, weight));
            }
        }
        Ok(present)
    }

    /// The union of the terms `segment` holds, as tantivy's own weights: one term's own weight (which
    /// ranks with block-WAND alone), or a boolean union of them (block-WAND over all of them).
    fn in_segment(&self, segment: &SegmentReader) -> tantivy::Result<Option<Box<dyn Weight>>> {
        let mut present = self.present(segment)?;
        Ok(match present.len() {
            0 => None,
            1 => Some(Box::new(Shared(
                present.pop().expect("one clause").1.clone(),
            ))),
            _ => Some(Box::new(union_of(
                present.into_iter().map(|(_, weight)| weight),
                self.scoring_enabled,
            ))),
        })
    }

    /// `run` on the union of the terms `segment` holds, or `none` when it holds none of them.
    fn on_segment<T>(
        &self,
        segment: &SegmentReader,
        none: T,
        run: impl FnOnce(&dyn Weight) -> tantivy::Result<T>,
    ) -> tantivy::Result<T> {
        match self.in_segment(segment)? {
            Some(weight) => run(&*weight),
            None => Ok(none),
        }
    }
}

impl Weight for TermUnionWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        self.on_segment(reader, Box::new(EmptyScorer), |weight| {
            weight.scorer(reader, boost)
        })
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        match self.in_segment(reader)? {
            Some(weight) => weight.explain(reader, doc),
            None => Err(tantivy::TantivyError::InvalidArgument(format!(
                "document {doc} does not match"
            ))),
        }
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        let mut present = self.present(reader)?;
        // The longest list first: it is counted whole, the others only where it lacks a document.
        present.sort_by_key(|(doc_freq, _)| std::cmp::Reverse(*doc_freq));
        let mut lists = present.into_iter().map(|(_, weight)| weight);
        let Some(longest) = lists.next() else {
            return Ok(0);
        };
        let counted = longest.count(reader)?;
        let others: Vec<_> = lists.collect();
        if others.is_empty() {
            return Ok(counted);
        }
        let mut longest = longest.scorer(reader, 1.0)?;
        let mut rest = union_of(others.into_iter(), false).scorer(reader, 1.0)?;
        let alive = reader.alive_bitset();
        let mut extra = 0;
        let mut doc = rest.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|alive| alive.is_alive(doc)) {
                let at = if longest.doc() < doc {
                    longest.seek(doc)
                } else {
                    longest.doc()
                };
                extra += u32::from(at != doc);
            }
            doc = rest.advance();
        }
        Ok(counted + extra)
    }

    fn for_each(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score),
    ) -> tantivy::Result<()> {
        self.on_segment(reader, (), |weight| weight.for_each(reader, callback))
    }

    fn for_each_no_score(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(&[DocId]),
    ) -> tantivy::Result<()> {
        self.on_segment(reader, (), |weight| {
            weight.for_each_no_score(reader, callback)
        })
    }

    fn for_each_pruning(
        &self,
        threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        self.on_segment(reader, (), |weight| {
            weight.for_each_pruning(threshold, reader, callback)
        })
    }
}

/// tantivy's union of `weights`, summing their scores as `BooleanQuery` does.
fn union_of<'w>(
    weights: impl Iterator<Item = &'w Arc<dyn Weight>>,
    scoring_enabled: bool,
) -> BooleanWeight<SumCombiner> {
    BooleanWeight::new(
        weights
            .map(|weight| {
                (
                    Occur::Should,
                    Box::new(Shared(weight.clone())) as Box<dyn Weight>,
                )
            })
            .collect(),
        scoring_enabled,
        Box::new(SumCombiner::default),
    )
}

/// One term's weight, shared by the unions each segment builds.
struct Shared(Arc<dyn Weight>);

impl Weight for Shared {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        self.0.scorer(reader, boost)
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.0.count(reader)
    }

    fn for_each(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score),
    ) -> tantivy::Result<()> {
        self.0.for_each(reader, callback)
    }

    fn for_each_no_score(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(&[DocId]),
    ) -> tantivy::Result<()> {
        self.0.for_each_no_score(reader, callback)
    }

    fn for_each_pruning(
        &self,
        threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        self.0.for_each_pruning(threshold, reader, callback)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
    use tantivy::schema::{IndexRecordOption, Schema, STRING, TEXT};
    use tantivy::{doc, Index, IndexWriter, Searcher, Term};

    use super::TermUnion;

    const WORDS: [&str; 4] = ["alpha", "beta", "gamma", "delta"];

    /// A document: its key, and which of the words each of two fields holds, how often.
    type Doc = (u8, [u8; 4], [u8; 4]);

    fn text(counts: &[u8; 4]) -> String {
        let mut text = String::new();
        for (word, count) in WORDS.iter().zip(counts) {
            for _ in 0..*count {
                text.push_str(word);
                text.push(' ');
            }
        }
        text
    }

    /// An index of `segments`, each committed apart, the documents of `deleted` keys deleted last.
    fn searcher(segments: &[Vec<Doc>], deleted: &[u8]) -> (Searcher, [tantivy::schema::Field; 3]) {
        let mut schema = Schema::builder();
        let key = schema.add_text_field("key", STRING);
        let title = schema.add_text_field("title", TEXT);
        let body = schema.add_text_field("body", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        for segment in segments {
            for (k, in_title, in_body) in segment {
                writer
                    .add_document(
                        doc!(key => k.to_string(), title => text(in_title), body => text(in_body)),
                    )
                    .unwrap();
            }
            writer.commit().unwrap();
        }
        for k in deleted {
            writer.delete_term(Term::from_field_text(key, &k.to_string()));
        }
        writer.commit().unwrap();
        let reader = index.reader().unwrap();
        (reader.searcher(), [key, title, body])
    }

    fn document() -> impl Strategy<Value = Doc> {
        (
            0u8..20,
            [0u8..3, 0..3, 0..3, 0..3],
            [0u8..4, 0..4, 0..4, 0..4],
        )
    }

    proptest! {
        // An index a case: fewer cases than the default keep the test to seconds.
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever terms each segment lacks, and whatever was deleted, the union ranks and counts
        /// as the boolean query of the same terms does.
        #[test]
        fn a_union_ranks_and_counts_as_a_boolean_query_does(
            segments in prop::collection::vec(prop::collection::vec(document(), 0..25), 1..5),
            deleted in prop::collection::vec(0u8..20, 0..6),
            words in prop::collection::vec((0usize..4, any::<bool>(), prop::sample::select(vec![1.0f32, 1.5, 3.0])), 1..6),
        ) {
            let (searcher, [_, title, body]) = searcher(&segments, &deleted);
            let terms: Vec<(Term, f32)> = words
                .iter()
                .map(|&(word, in_title, boost)| {
                    let field = if in_title { title } else { body };
                    (Term::from_field_text(field, WORDS[word]), boost)
                })
                .collect();
            let boolean = BooleanQuery::new(
                terms
                    .iter()
                    .map(|(term, boost)| {
                        let query: Box<dyn Query> = Box::new(BoostQuery::new(
                            Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                            *boost,
                        ));
                        (Occur::Should, query)
                    })
                    .collect(),
            );
            let union = TermUnion::new(terms);
            // The same documents with the same scores, but for the order the terms' scores are
            // added in (block-WAND adds them in its own), and so in the order of equal scores.
            let close = |a: f32, b: f32| (a - b).abs() <= 1e-5 * a.abs().max(b.abs());
            let top = TopDocs::with_limit(7);
            let expected = searcher.search(&boolean, &top).unwrap();
            let got = searcher.search(&union, &top).unwrap();
            prop_assert_eq!(got.len(), expected.len());
            for ((got, _), (expected, _)) in got.iter().zip(&expected) {
                prop_assert!(close(*got, *expected), "{} against {}", got, expected);
            }
            let all = TopDocs::with_limit(200);
            let mut expected_all = searcher.search(&boolean, &all).unwrap();
            let mut got_all = searcher.search(&union, &all).unwrap();
            expected_all.sort_by_key(|(_, address)| *address);
            got_all.sort_by_key(|(_, address)| *address);
            prop_assert_eq!(got_all.len(), expected_all.len());
            for ((got, at), (expected, expected_at)) in got_all.iter().zip(&expected_all) {
                prop_assert_eq!(at, expected_at);
                prop_assert!(close(*got, *expected), "{} against {}", got, expected);
            }
            let count = searcher.search(&boolean, &Count).unwrap();
            prop_assert_eq!(super::super::count(&searcher, &union).unwrap(), count);
            prop_assert_eq!(searcher.search(&union, &Count).unwrap(), count);
        }
    }
}
