//! Running a search: ranked hits with snippets, "go to" a page by name, search-as-you-type
//! suggestions, and "did you mean".
//!
//! A search parses what was typed (the `syntax` module: a small syntax that never fails), builds a
//! tantivy query, and ranks with BM25. Snippets are cut around the rarest of the query's words (see
//! the `snippet` module). "Go to" and suggestions look only at page names (`title_key`, see the
//! `schema` module), and "did you mean" only runs when nothing matched.
//!
//! # Pages a reader may not see
//!
//! Every one of them takes a [`Visible`]: the pages the reader may see, as a filter on the exact page
//! name inside the tantivy query itself. So the count, the ranked window, paging, go-to, suggestions
//! and did-you-mean never see a hidden page: filtering after ranking would let a hidden page take a
//! slot in the window, and the index's count would include it, which makes the count an oracle
//! for a hidden page's words (issue 19, finding 2). A filtered query loses block-WAND (the filter is
//! a required clause), so it is counted in the same pass as it is ranked.
//!
//! The statistics a search reads (how many pages hold a word, how long a field is, which words a
//! `prefix*` stands for, which word is rarest) are counted over the visible pages too, by the
//! `statistics` module, so hidden pages move neither the order of visible hits nor what matches.

mod merged_terms;
mod statistics;
mod suggest;
mod syntax;
mod term_union;

use std::collections::BTreeMap;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    BooleanQuery, ConstScoreQuery, EnableScoring, FuzzyTermQuery, Occur, Query, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::Score;
use tantivy::{DocAddress, Searcher, TantivyDocument, Term};

use self::statistics::Statistics;
use crate::error::tantivy_error;
use crate::generation::Opened;
use crate::schema::{self, Fields, Kind, FILE_KIND};
use crate::{snippet, SearchError, SearchIndex};

/// One page of search results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchResults {
    /// How many pages and files match in all.
    pub total: usize,
    /// The requested slice of them, best first.
    pub hits: Vec<Hit>,
    /// Pages whose name (or last segments of it) equals the query, exact name first: "go to".
    pub go_to: Vec<String>,
    /// When nothing matched: page names close to the words typed.
    pub did_you_mean: Vec<String>,
}

/// One matching page, or file attached to a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The page name (for a file, of the page it is attached to).
    pub name: String,
    /// For a file, its name; `None` for the page itself.
    pub file: Option<String>,
    /// A passage of the text, HTML-escaped, the matched words in `<mark>` (empty for a file
    /// without text).
    pub snippet_html: String,
    /// Who saved the current revision (of a file: uploaded the current version).
    pub author: String,
    /// When, in unix seconds UTC.
    pub time: i64,
    /// BM25 score (higher is better); comparable within one query only.
    pub score: f32,
}

/// The pages a search may see, by exact name: the reader's, so that nothing it answers (hits,
/// counts, go-to, suggestions, did-you-mean) depends on a page they may not read.
///
/// Whichever list is short: on most wikis a few pages are protected (`Except`), and on a closed
/// one a few are open (`Only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visible<'a> {
    /// Every page.
    All,
    /// Every page but these.
    Except(&'a [String]),
    /// These pages only.
    Only(&'a [String]),
}

impl Visible<'_> {
    /// Whether nothing is filtered out, so that a query runs as it is.
    fn is_all(self) -> bool {
        match self {
            Visible::All | Visible::Except([]) => true,
            Visible::Except(_) | Visible::Only(_) => false,
        }
    }

    /// `query`, restricted to the documents of the visible pages (whose page name is in
    /// `page_field`), its scores unchanged.
    fn restrict(self, page_field: Field, query: Box<dyn Query>) -> Box<dyn Query> {
        let names = |names: &[String]| -> Box<dyn Query> {
            Box::new(TermSetQuery::new(
                names
                    .iter()
                    .map(|name| Term::from_field_text(page_field, name)),
            ))
        };
        let filter = match self {
            Visible::All | Visible::Except([]) => return query,
            Visible::Except(hidden) => (Occur::MustNot, names(hidden)),
            // A required clause adds its score: a zero one leaves the ranking as it was.
            Visible::Only(shown) => (
                Occur::Must,
                Box::new(ConstScoreQuery::new(names(shown), 0.0)) as Box<dyn Query>,
            ),
        };
        Box::new(BooleanQuery::new(vec![(Occur::Must, query), filter]))
    }
}

impl SearchIndex {
    /// Runs a query over the `visible` pages and their files, `limit` hits after the first `offset`.
    /// The syntax (words, `"phrases"`, `OR`, `-word`, `prefix*`, `title:`/`path:`/`body:`/`author:`)
    /// never fails to parse; the `query::syntax` module documents it, and the wiki's `Help/Search`
    /// page does for users.
    ///
    /// Files are searched by their name's words (as a title: `diagram.png` by `diagram`, by
    /// `png` and by `diagram.png`) and their text, in a search of their own with statistics of their
    /// own, so a page ranks as it would without any file; the two lists are merged by score. A file
    /// is visible exactly when its page is.
    ///
    /// `total` counts the visible matching pages and files only, and hidden pages (and their
    /// files) take no place in the ranking, so a search answers the same whatever a hidden page
    /// holds.
    pub fn search(
        &self,
        text: &str,
        visible: Visible<'_>,
        offset: usize,
        limit: usize,
    ) -> Result<SearchResults, SearchError> {
        let (opened, searcher) = self.searcher()?;
        let fields = opened.fields;
        let go_to = go_to(&searcher, fields, visible, text)?;
        let parsed = syntax::parse(text, |name| {
            schema::user_field(&fields, Kind::Page, name).is_some()
        });
        let files = live_files(&searcher, fields)?;
        // Without files, the pages' window is the answer's; with them, each list's first
        // `offset + limit` are merged and the window cut from the merge.
        let window = if files == 0 {
            Window { offset, limit }
        } else {
            Window {
                offset: 0,
                limit: offset.saturating_add(limit),
            }
        };
        let search = Search {
            searcher: &searcher,
            opened: &opened,
            parsed: &parsed,
            visible,
            files,
            window,
        };
        let Some(pages) = search.run(Kind::Page)? else {
            return Ok(SearchResults {
                total: 0,
                hits: Vec::new(),
                go_to,
                did_you_mean: Vec::new(),
            });
        };
        let mut total = pages.total;
        let mut hits = pages.hits;
        if files > 0 {
            if let Some(found) = search.run(Kind::File)? {
                total += found.total;
                hits.extend(found.hits);
                // Stable: on equal scores, pages first.
                hits.sort_by(|a, b| b.score.total_cmp(&a.score));
            }
            hits = hits.into_iter().skip(offset).take(limit).collect();
        }
        let did_you_mean = if total == 0 {
            did_you_mean(&searcher, fields, visible, &pages.words)?
        } else {
            Vec::new()
        };
        Ok(SearchResults {
            total,
            hits,
            go_to,
            did_you_mean,
        })
    }

    /// Page names starting with `prefix`, or with a last segment starting with it (case-insensitive),
    /// shortest first, among the `visible` pages: search-as-you-type.
    pub fn suggest(
        &self,
        prefix: &str,
        visible: Visible<'_>,
        limit: usize,
    ) -> Result<Vec<String>, SearchError> {
        let prefix = prefix.trim().to_lowercase();
        if prefix.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let (opened, searcher) = self.searcher()?;
        suggest::suggest(&searcher, opened.fields, &prefix, visible, limit)
    }
}

/// Which of the ranked hits to return.
#[derive(Debug, Clone, Copy)]
struct Window {
    offset: usize,
    limit: usize,
}

/// One search, run over pages and then over files.
struct Search<'s> {
    searcher: &'s Searcher,
    opened: &'s Opened,
    parsed: &'s syntax::Parsed,
    visible: Visible<'s>,
    /// How many live file documents the index holds.
    files: u64,
    window: Window,
}

/// What a search found among the documents of one kind.
struct Found {
    total: usize,
    hits: Vec<Hit>,
    /// The plain words typed, for "did you mean".
    words: Vec<String>,
}

impl Search<'_> {
    /// The documents of `kind` matching, `None` when nothing searchable was typed.
    fn run(&self, kind: Kind) -> Result<Option<Found>, SearchError> {
        let (searcher, fields, visible) = (self.searcher, self.opened.fields, self.visible);
        let statistics = Statistics::of(searcher, fields, visible, kind, self.files)?;
        let mut builder = syntax::Builder {
            fields,
            analyzer: schema::analyzer(),
            searcher,
            statistics: &statistics,
            common: &self.opened.common,
            kind,
        };
        let Some(built) = builder.build(self.parsed) else {
            return Ok(None);
        };
        let Window { offset, limit } = self.window;
        let top_docs = TopDocs::with_limit(limit.max(1)).and_offset(offset);
        let prunable = built.prunable && statistics.is_whole();
        let query = visible.restrict(kind.page_field(&fields), built.query);
        let (total, top) = if prunable {
            // Two passes, each fast on its own: counting without scores (straight from the posting
            // lists) and ranking with block-WAND, which skips most matches, and which a collector
            // that must see every match (a count) would disable.
            let total = count(searcher, &*query).map_err(tantivy_error("counting matches"))?;
            let top = searcher
                .search_with_statistics_provider(&query, &top_docs, &statistics)
                .map_err(tantivy_error("searching"))?;
            (total, top)
        } else {
            // Intersections, phrases and filtered queries score every match anyway: count them in
            // the same pass.
            searcher
                .search_with_statistics_provider(&query, &(Count, top_docs), &statistics)
                .map_err(tantivy_error("searching"))?
        };
        let text_field = kind.text_field(&fields);
        let words = text_words_rarest_first(&statistics, text_field, &*built.highlight)?;
        let snippets = snippet_generator(searcher, text_field, &words)?;
        let words: Vec<&str> = words.iter().map(|(_, word)| word.as_str()).collect();
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top.into_iter().take(limit) {
            let doc = load(searcher, address)?;
            let text = text_of(&doc, text_field);
            hits.push(Hit {
                name: text_of(&doc, kind.page_field(&fields)),
                file: (kind == Kind::File).then(|| text_of(&doc, fields.file_name)),
                snippet_html: snippet::of(&snippets, &text, &words),
                author: text_of(&doc, kind.author_field(&fields)),
                time: doc
                    .get_first(fields.modified)
                    .and_then(|v| v.as_datetime())
                    .map_or(0, |t| t.into_timestamp_secs()),
                score,
            });
        }
        Ok(Some(Found {
            total,
            hits,
            words: built.words,
        }))
    }
}

/// How many live documents match `query`, from each segment's [`Weight::count`]: the `Count`
/// collector walks every match instead, where a union of terms counts its longest list from its
/// length (see the `term_union` module).
fn count(searcher: &Searcher, query: &dyn Query) -> tantivy::Result<usize> {
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut total = 0;
    for segment in searcher.segment_readers() {
        total += weight.count(segment)? as usize;
    }
    Ok(total)
}

/// How many live file documents `searcher` holds (usually none: then files cost a search nothing
/// but this).
fn live_files(searcher: &Searcher, fields: Fields) -> Result<u64, SearchError> {
    let term = Term::from_field_text(fields.kind, FILE_KIND);
    if searcher
        .doc_freq(&term)
        .map_err(tantivy_error("counting files"))?
        == 0
    {
        return Ok(0);
    }
    let count = searcher
        .search(&TermQuery::new(term, IndexRecordOption::Basic), &Count)
        .map_err(tantivy_error("counting files"))?;
    Ok(count as u64)
}

/// "Go to": the `visible` pages whose name, or last segments of it, is what was typed.
fn go_to(
    searcher: &Searcher,
    fields: Fields,
    visible: Visible<'_>,
    text: &str,
) -> Result<Vec<String>, SearchError> {
    let key = text.trim().to_lowercase();
    if key.is_empty() {
        return Ok(Vec::new());
    }
    let query = visible.restrict(
        fields.name,
        Box::new(TermQuery::new(
            Term::from_field_text(fields.title_key, &key),
            IndexRecordOption::Basic,
        )),
    );
    let top = searcher
        .search(&query, &TopDocs::with_limit(5))
        .map_err(tantivy_error("looking up page titles"))?;
    let mut names = Vec::with_capacity(top.len());
    for (_, address) in top {
        names.push(text_of(&load(searcher, address)?, fields.name));
    }
    // The page whose whole name was typed first, then shorter names.
    names.sort_by_key(|name| (name.to_lowercase() != key, name.len(), name.clone()));
    Ok(names)
}

/// The query's words in the text (`field`) and how many visible documents hold each, rarest first: a
/// snippet is looked for where the rarest occurs.
fn text_words_rarest_first(
    statistics: &Statistics<'_>,
    field: Field,
    query: &dyn Query,
) -> Result<Vec<(u64, String)>, SearchError> {
    let mut terms = Vec::new();
    query.query_terms(&mut |term, _| {
        if term.field() == field {
            terms.push(term.clone());
        }
    });
    let mut ranked = Vec::with_capacity(terms.len());
    for term in terms {
        let Some(word) = term.value().as_str().map(str::to_owned) else {
            continue;
        };
        ranked.push((statistics.pages_with(&term)?, word));
    }
    ranked.sort();
    ranked.dedup();
    Ok(ranked)
}

/// tantivy's snippet generator, weighing the words as `SnippetGenerator::create` does (rarer words
/// count more) but by the visible pages' counts.
fn snippet_generator(
    searcher: &Searcher,
    field: Field,
    words: &[(u64, String)],
) -> Result<SnippetGenerator, SearchError> {
    let weights: BTreeMap<String, Score> = words
        .iter()
        .filter(|(pages, _)| *pages > 0)
        .map(|(pages, word)| (word.clone(), 1.0 / (1.0 + *pages as Score)))
        .collect();
    let tokenizer = searcher
        .index()
        .tokenizer_for_field(field)
        .map_err(tantivy_error("preparing snippets"))?;
    Ok(SnippetGenerator::new(
        weights,
        tokenizer,
        field,
        snippet::SNIPPET_CHARS,
    ))
}

/// "Did you mean": `visible` pages whose title has words within one or two edits of the words typed.
fn did_you_mean(
    searcher: &Searcher,
    fields: Fields,
    visible: Visible<'_>,
    words: &[String],
) -> Result<Vec<String>, SearchError> {
    let clauses: Vec<(Occur, Box<dyn Query>)> = words
        .iter()
        .filter(|word| word.chars().count() >= 3)
        .map(|word| {
            let distance = if word.chars().count() <= 5 { 1 } else { 2 };
            let query: Box<dyn Query> = Box::new(FuzzyTermQuery::new(
                Term::from_field_text(fields.title, word),
                distance,
                true,
            ));
            (Occur::Should, query)
        })
        .collect();
    if clauses.is_empty() {
        return Ok(Vec::new());
    }
    let query = visible.restrict(fields.name, Box::new(BooleanQuery::new(clauses)));
    let top = searcher
        .search(&query, &TopDocs::with_limit(5))
        .map_err(tantivy_error("looking for similar titles"))?;
    top.into_iter()
        .map(|(_, address)| Ok(text_of(&load(searcher, address)?, fields.name)))
        .collect()
}

fn load(searcher: &Searcher, address: DocAddress) -> Result<TantivyDocument, SearchError> {
    searcher
        .doc(address)
        .map_err(tantivy_error("reading a found document"))
}

fn text_of(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field)
        .and_then(|value| value.as_str())
        .unwrap_or_default()
        .to_owned()
}
