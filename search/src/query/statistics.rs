//! Word statistics counted over the pages one reader may see.
//!
//! Three things in a search depend on how often words occur: BM25 ranks by how many pages hold a
//! word and how long a field is on average, a `prefix*` stands for the most frequent words with that
//! prefix, and a snippet is cut around the rarest of the query's words. Counted over the whole index,
//! each would move when a hidden page changes: a hidden page full of `betaz…` words pushes visible
//! words out of `beta*`, and so changes which visible pages match and how many (issue 19, finding 2).
//!
//! So when the reader may not see every page, [`Statistics::Visible`] counts over the visible, live
//! documents only, and every answer is the one an index holding only those pages would give. Field
//! lengths are summed from the field norms, which are exact up to 40 words and rounded above, the
//! way BM25 reads them anyway.
//!
//! The cost is paid only by readers with hidden pages: one pass over the live documents per search
//! (a byte per document and field), and one pass over the postings of each word the query holds.
//!
//! Pages and files are searched apart, each with statistics of its own kind: their words are in
//! fields of their own, so only the number of documents needs the files taken out for pages
//! ([`Statistics::Whole`] subtracts them), and the statistics of files are always counted (files
//! are few).

use std::cell::RefCell;
use std::collections::HashMap;

use tantivy::postings::SegmentPostings;
use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Searcher, SegmentReader, Term, TERMINATED};

use crate::error::tantivy_error;
use crate::schema::{Fields, Kind, FILE_KIND};
use crate::{SearchError, Visible};

/// The statistics a search ranks and expands prefixes with.
pub(crate) enum Statistics<'s> {
    /// Every page is visible: the index's own statistics (tantivy's, which still count the
    /// documents an update replaced until segments merge), but for the number of documents, which
    /// leaves out the `files` (live file documents).
    Whole {
        searcher: &'s Searcher,
        files: u64,
        /// Counts already summed from the term dictionaries (by a prefix's expansion), which
        /// BM25 would otherwise look up again in every segment.
        known: RefCell<HashMap<Term, u64>>,
    },
    /// Only some pages are: counted over them.
    Visible(VisibleStatistics<'s>),
}

impl<'s> Statistics<'s> {
    /// The statistics of the documents of `kind` that `visible` lets a reader see in `searcher`;
    /// `files` is how many live file documents it holds.
    pub(crate) fn of(
        searcher: &'s Searcher,
        fields: Fields,
        visible: Visible<'_>,
        kind: Kind,
        files: u64,
    ) -> Result<Statistics<'s>, SearchError> {
        if visible.is_all() && kind == Kind::Page {
            return Ok(Statistics::Whole {
                searcher,
                files,
                known: RefCell::default(),
            });
        }
        VisibleStatistics::new(searcher, fields, visible, kind).map(Statistics::Visible)
    }

    /// How many of the counted pages hold `term`.
    pub(crate) fn pages_with(&self, term: &Term) -> Result<u64, SearchError> {
        match self {
            Statistics::Whole {
                searcher, known, ..
            } => match known.borrow().get(term) {
                Some(&count) => Ok(count),
                None => searcher
                    .doc_freq(term)
                    .map_err(tantivy_error("reading word frequencies")),
            },
            Statistics::Visible(visible) => visible.pages_with(term),
        }
    }

    /// Records how many documents of the whole index hold `term`, as `Searcher::doc_freq` would
    /// count them (every segment's, replaced documents included), when it was summed anyway.
    pub(crate) fn remember_whole_count(&self, term: &Term, count: u64) {
        if let Statistics::Whole { known, .. } = self {
            known.borrow_mut().insert(term.clone(), count);
        }
    }

    /// Whether frequencies are the index's own, so that a term dictionary's counts can be used as
    /// they are.
    pub(crate) fn is_whole(&self) -> bool {
        matches!(self, Statistics::Whole { .. })
    }
}

impl Bm25StatisticsProvider for Statistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        match self {
            Statistics::Whole { searcher, .. } => searcher.total_num_tokens(field),
            Statistics::Visible(visible) => visible.total_words(field),
        }
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        match self {
            Statistics::Whole {
                searcher, files, ..
            } => Ok(searcher.total_num_docs()?.saturating_sub(*files).max(1)),
            // At least one: BM25 divides by it, and with nothing visible nothing matches anyway.
            Statistics::Visible(visible) => Ok(visible.pages.max(1)),
        }
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        self.pages_with(term)
            .map_err(|error| tantivy::TantivyError::InternalError(error.to_string()))
    }
}

/// The visible, live documents of a searcher, and the counts made over them so far.
pub(crate) struct VisibleStatistics<'s> {
    searcher: &'s Searcher,
    /// Per segment, in the searcher's order.
    segments: Vec<VisibleDocs>,
    /// How many documents are visible in all.
    pages: u64,
    /// Counts already made in this search: BM25 asks for a field's length once per term.
    words_per_field: RefCell<HashMap<Field, u64>>,
    pages_per_term: RefCell<HashMap<Term, u64>>,
}

/// One segment's visible documents.
struct VisibleDocs {
    /// Indexed by document id.
    visible: Vec<bool>,
    /// The same documents in order.
    ids: Vec<DocId>,
}

impl<'s> VisibleStatistics<'s> {
    fn new(
        searcher: &'s Searcher,
        fields: Fields,
        visible: Visible<'_>,
        kind: Kind,
    ) -> Result<VisibleStatistics<'s>, SearchError> {
        let mut segments = Vec::with_capacity(searcher.segment_readers().len());
        let mut pages = 0;
        let file_kind = Term::from_field_text(fields.kind, FILE_KIND);
        for segment in searcher.segment_readers() {
            let max_doc = segment.max_doc();
            // The listed pages' documents (of `kind`: their page is in its own field), live or
            // replaced.
            let (listed, listed_visible) = match visible {
                Visible::All => (&[][..], false),
                Visible::Except(hidden) => (hidden, false),
                Visible::Only(shown) => (shown, true),
            };
            let mut flags = vec![false; max_doc as usize];
            if !listed_visible {
                // Every document of the kind, to start with.
                if kind == Kind::Page {
                    flags.fill(true);
                }
                for_each_doc(segment, &file_kind, |doc| {
                    flags[doc as usize] = kind == Kind::File;
                })?;
            }
            let page_field = kind.page_field(&fields);
            for name in listed {
                let term = Term::from_field_text(page_field, name);
                for_each_doc(segment, &term, |doc| flags[doc as usize] = listed_visible)?;
            }
            let mut ids = Vec::new();
            for (doc, flag) in flags.iter_mut().enumerate() {
                let doc = doc as DocId;
                if segment.is_deleted(doc) {
                    *flag = false;
                }
                if *flag {
                    ids.push(doc);
                }
            }
            pages += ids.len() as u64;
            segments.push(VisibleDocs {
                visible: flags,
                ids,
            });
        }
        Ok(VisibleStatistics {
            searcher,
            segments,
            pages,
            words_per_field: RefCell::default(),
            pages_per_term: RefCell::default(),
        })
    }

    /// How many counted documents hold `term`: its postings walked, or, when the visible pages are few,
    /// looked up one by one.
    fn pages_with(&self, term: &Term) -> Result<u64, SearchError> {
        if let Some(&count) = self.pages_per_term.borrow().get(term) {
            return Ok(count);
        }
        let mut count = 0;
        for (segment, docs) in self.searcher.segment_readers().iter().zip(&self.segments) {
            let Some(mut postings) = postings(segment, term)? else {
                continue;
            };
            if docs.ids.len() * 8 < postings.doc_freq() as usize {
                for &doc in &docs.ids {
                    // `seek` only goes forward: a word skipped past `doc` is not in it.
                    let at = if postings.doc() < doc {
                        postings.seek(doc)
                    } else {
                        postings.doc()
                    };
                    if at == TERMINATED {
                        break;
                    }
                    count += u64::from(at == doc);
                }
            } else {
                let mut doc = postings.doc();
                while doc != TERMINATED {
                    count += u64::from(docs.visible[doc as usize]);
                    doc = postings.advance();
                }
            }
        }
        self.pages_per_term.borrow_mut().insert(term.clone(), count);
        Ok(count)
    }

    /// How many words `field` holds in all visible pages, as BM25 measures them (field norms).
    fn total_words(&self, field: Field) -> tantivy::Result<u64> {
        if let Some(&words) = self.words_per_field.borrow().get(&field) {
            return Ok(words);
        }
        let mut words = 0;
        for (segment, docs) in self.searcher.segment_readers().iter().zip(&self.segments) {
            let norms = segment.get_fieldnorms_reader(field)?;
            words += docs
                .ids
                .iter()
                .map(|&doc| u64::from(norms.fieldnorm(doc)))
                .sum::<u64>();
        }
        self.words_per_field.borrow_mut().insert(field, words);
        Ok(words)
    }
}

/// Calls `each` with every document (live or not) of `segment` holding `term`, a raw term.
fn for_each_doc(
    segment: &SegmentReader,
    term: &Term,
    mut each: impl FnMut(DocId),
) -> Result<(), SearchError> {
    let Some(mut postings) = postings(segment, term)? else {
        return Ok(());
    };
    let mut doc = postings.doc();
    while doc != TERMINATED {
        each(doc);
        doc = postings.advance();
    }
    Ok(())
}

/// The documents of `segment` holding `term` (live or not), if any.
fn postings(segment: &SegmentReader, term: &Term) -> Result<Option<SegmentPostings>, SearchError> {
    segment
        .inverted_index(term.field())
        .map_err(tantivy_error("reading word frequencies"))?
        .read_postings(term, IndexRecordOption::Basic)
        .map_err(tantivy_error("reading word frequencies"))
}
