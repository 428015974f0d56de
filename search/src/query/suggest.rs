//! Search-as-you-type: the page names starting with what was typed, or with a last segment starting
//! with it, shortest name first, then by key, among the pages a reader may see.
//!
//! A prefix of a popular word stands for thousands of names on a large wiki (`shi` for one name in
//! nine of a wiki of 100 000 pages), and ranking them all by length reads every one of them. So the
//! schema holds each title key a second time in `suggest_key`, after its name's length, where the
//! keys starting with a prefix lie by name length: a walk of one length at a time, merged across
//! segments, reads the names it shows (and the hidden or replaced ones it passes over) and stops.
//! A prefix that only a few keys start with is read whole from `title_key` and sorted instead: one
//! range of the dictionary where the walk would try every length. Both give the same order.

use std::collections::HashSet;
use std::sync::Arc;

use tantivy::schema::IndexRecordOption;
use tantivy::{
    DocAddress, DocId, DocSet, InvertedIndexReader, Searcher, SegmentReader, TERMINATED,
};

use super::merged_terms::{words_from, MergedTerms};
use super::{load, text_of};
use crate::error::tantivy_error;
use crate::schema::{suggest_key, Fields, MAX_SUGGEST_LEN};
use crate::{SearchError, Visible};

/// How many keys a prefix may have in a segment to be read whole and sorted.
const FEW_KEYS: usize = 64;

/// A key starting with the prefix, where suggestions place it: its name's length, the key, and its
/// document (segment and id).
type Placed = (u64, Vec<u8>, u32, DocId);

/// The names for `prefix` (lowercased and trimmed already, not empty), at most `limit`.
pub(super) fn suggest(
    searcher: &Searcher,
    fields: Fields,
    prefix: &str,
    visible: Visible<'_>,
    limit: usize,
) -> Result<Vec<String>, SearchError> {
    let mut taker = Taker {
        searcher,
        fields,
        shown: Shown::of(visible),
        seen: HashSet::new(),
        names: Vec::new(),
        limit,
    };
    if let Some(mut few) = few_keys(searcher, fields, prefix)? {
        few.sort();
        for (_, _, segment, doc) in few {
            if taker.take(segment, doc)? {
                break;
            }
        }
        return Ok(taker.names);
    }
    let segments = searcher.segment_readers();
    let dictionaries = segments
        .iter()
        .map(|segment| segment.inverted_index(fields.suggest_key))
        .collect::<Result<Vec<_>, _>>()
        .map_err(tantivy_error("suggesting pages"))?;
    let longest = segments
        .iter()
        .filter_map(|segment| segment.fast_fields().u64("name_len").ok())
        .map(|lengths| lengths.max_value())
        .max()
        .unwrap_or(0)
        .min(MAX_SUGGEST_LEN);
    for name_len in 1..=longest {
        if walk_length(segments, &dictionaries, prefix, name_len, &mut taker)? {
            break;
        }
    }
    Ok(taker.names)
}

/// The keys starting with `prefix` when every segment has at most [`FEW_KEYS`] of them: each with
/// its name's length, the key, and the document, in the order suggestions are given.
fn few_keys(
    searcher: &Searcher,
    fields: Fields,
    prefix: &str,
) -> Result<Option<Vec<Placed>>, SearchError> {
    let mut keys = Vec::new();
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let inverted = segment
            .inverted_index(fields.title_key)
            .map_err(tantivy_error("suggesting pages"))?;
        let mut stream =
            words_from(&inverted, prefix.as_bytes()).map_err(tantivy_error("suggesting pages"))?;
        let lengths = segment
            .fast_fields()
            .u64("name_len")
            .map_err(tantivy_error("suggesting pages"))?;
        let mut in_segment = 0;
        while stream.advance() && stream.key().starts_with(prefix.as_bytes()) {
            in_segment += 1;
            if in_segment > FEW_KEYS {
                return Ok(None);
            }
            for doc in docs(segment, &inverted, stream.value())? {
                let name_len = lengths.first(doc).unwrap_or(u64::MAX);
                keys.push((
                    name_len.min(MAX_SUGGEST_LEN),
                    stream.key().to_vec(),
                    ord as u32,
                    doc,
                ));
            }
        }
    }
    Ok(Some(keys))
}

/// Takes the names of length `name_len` whose keys start with `prefix`, by key across segments
/// (`dictionaries`: each one's `suggest_key`), until the taker has enough; whether it has.
fn walk_length(
    segments: &[SegmentReader],
    dictionaries: &[Arc<InvertedIndexReader>],
    prefix: &str,
    name_len: u64,
    taker: &mut Taker<'_, '_>,
) -> Result<bool, SearchError> {
    let from = suggest_key(name_len, prefix);
    let streams = dictionaries
        .iter()
        .enumerate()
        .map(|(place, dictionary)| Ok((place, words_from(dictionary, from.as_bytes())?)))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(tantivy_error("suggesting pages"))?;
    let mut keys = MergedTerms::new(streams, from.as_bytes(), usize::MAX);
    while keys.advance() {
        for (place, entry) in keys.holders() {
            for doc in docs(&segments[place], &dictionaries[place], entry)? {
                if taker.take(place as u32, doc)? {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// The live documents holding a term of `inverted` (of `segment`).
fn docs(
    segment: &SegmentReader,
    inverted: &InvertedIndexReader,
    term: &tantivy::postings::TermInfo,
) -> Result<Vec<DocId>, SearchError> {
    let mut postings = inverted
        .read_postings_from_terminfo(term, IndexRecordOption::Basic)
        .map_err(tantivy_error("suggesting pages"))?;
    let mut docs = Vec::new();
    let mut doc = postings.doc();
    while doc != TERMINATED {
        if segment
            .alive_bitset()
            .is_none_or(|alive| alive.is_alive(doc))
        {
            docs.push(doc);
        }
        doc = postings.advance();
    }
    Ok(docs)
}

/// The names taken so far, and what decides whether the next is.
struct Taker<'s, 'v> {
    searcher: &'s Searcher,
    fields: Fields,
    shown: Shown<'v>,
    /// Documents taken or passed over: a page with two keys starting with the prefix comes once.
    seen: HashSet<(u32, DocId)>,
    names: Vec<String>,
    limit: usize,
}

impl Taker<'_, '_> {
    /// Takes the page of a document if the reader may see it and it was not taken; whether enough are.
    fn take(&mut self, segment: u32, doc: DocId) -> Result<bool, SearchError> {
        if self.names.len() < self.limit && self.seen.insert((segment, doc)) {
            let name = text_of(
                &load(self.searcher, DocAddress::new(segment, doc))?,
                self.fields.name,
            );
            if self.shown.allows(&name) {
                self.names.push(name);
            }
        }
        Ok(self.names.len() >= self.limit)
    }
}

/// The pages a reader may see, by name.
enum Shown<'v> {
    Except(HashSet<&'v str>),
    Only(HashSet<&'v str>),
}

impl<'v> Shown<'v> {
    fn of(visible: Visible<'v>) -> Shown<'v> {
        let set = |names: &'v [String]| names.iter().map(String::as_str).collect();
        match visible {
            Visible::All => Shown::Except(HashSet::new()),
            Visible::Except(hidden) => Shown::Except(set(hidden)),
            Visible::Only(shown) => Shown::Only(set(shown)),
        }
    }

    fn allows(&self, name: &str) -> bool {
        match self {
            Shown::Except(hidden) => !hidden.contains(name),
            Shown::Only(shown) => shown.contains(name),
        }
    }
}
