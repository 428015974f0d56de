//! The words of several segments' dictionaries that start with a prefix, as one sorted walk.
//!
//! A segment's dictionary is sorted, and the same word is in many segments: a prefix's expansion
//! (`syntax`) and search-as-you-type (`suggest`) both read the segments' streams side by side,
//! each word once with the segments that hold it, with no table of every word.

use tantivy::postings::TermInfo;
use tantivy::termdict::TermStreamer;
use tantivy::InvertedIndexReader;

/// The streams of the dictionaries still holding words with the prefix, in the order given, and
/// those at the current word.
pub(super) struct MergedTerms<'d> {
    /// Each stream with its dictionary's place in the order given and the words read from it.
    streams: Vec<(usize, TermStreamer<'d>, usize)>,
    prefix: Vec<u8>,
    /// How many words are read from one dictionary at most.
    limit: usize,
    /// Whether some dictionary had more words than `limit`.
    cut_short: bool,
    /// The places in `streams` of those at the current word, ascending.
    current: Vec<usize>,
}

/// A stream of `dictionary`'s words from `from` on.
pub(super) fn words_from<'d>(
    dictionary: &'d InvertedIndexReader,
    from: &[u8],
) -> std::io::Result<TermStreamer<'d>> {
    dictionary.terms().range().ge(from).into_stream()
}

impl<'d> MergedTerms<'d> {
    /// The words starting with `prefix` of `streams` (each made by [`words_from`] from `prefix`,
    /// with its dictionary's place), at most `limit` from each.
    pub(super) fn new(
        streams: impl IntoIterator<Item = (usize, TermStreamer<'d>)>,
        prefix: &[u8],
        limit: usize,
    ) -> MergedTerms<'d> {
        let streams: Vec<_> = streams
            .into_iter()
            .map(|(place, stream)| (place, stream, 0))
            .collect();
        let mut merged = MergedTerms {
            // Every stream is before its first word: all are stepped to it.
            current: (0..streams.len()).collect(),
            streams,
            prefix: prefix.to_vec(),
            limit,
            cut_short: false,
        };
        merged.step_current();
        merged
    }

    /// Moves to the next word; false when there is none.
    pub(super) fn advance(&mut self) -> bool {
        // Past the word handed out last (none the first time).
        self.step_current();
        let Some(smallest) = (0..self.streams.len())
            .min_by(|&a, &b| self.streams[a].1.key().cmp(self.streams[b].1.key()))
        else {
            return false;
        };
        // The buffer is kept from word to word: a prefix can have thousands.
        let mut current = std::mem::take(&mut self.current);
        let word = self.streams[smallest].1.key();
        current.extend((0..self.streams.len()).filter(|&i| self.streams[i].1.key() == word));
        self.current = current;
        true
    }

    /// The current word.
    pub(super) fn key(&self) -> &[u8] {
        self.streams[self.current[0]].1.key()
    }

    /// The dictionaries holding the current word, in the order given, with its entry in each.
    pub(super) fn holders(&self) -> impl Iterator<Item = (usize, &TermInfo)> {
        self.current
            .iter()
            .map(|&i| (self.streams[i].0, self.streams[i].1.value()))
    }

    /// Whether some dictionary had more words with the prefix than the limit.
    pub(super) fn cut_short(&self) -> bool {
        self.cut_short
    }

    /// Moves the streams at the current word to their next word with the prefix, dropping those
    /// that have none or have given `limit` words.
    fn step_current(&mut self) {
        // From the last, so that removing a stream leaves the places still to step as they are.
        while let Some(at) = self.current.pop() {
            let (_, stream, read) = &mut self.streams[at];
            let more = if *read == self.limit {
                self.cut_short = true;
                false
            } else {
                *read += 1;
                stream.advance() && stream.key().starts_with(&self.prefix)
            };
            if !more {
                // `remove`, not `swap_remove`: the streams stay in the order given.
                self.streams.remove(at);
            }
        }
    }
}
