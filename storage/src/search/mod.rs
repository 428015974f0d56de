//! Full-text search over the pages: a tantivy index derived from the database, kept in its own
//! directory (`DATA/index/`) and always rebuildable from it.
//!
//! # Freshness
//!
//! The index records, in its commit payload, the global id of the last revision it holds (revision ids
//! grow with every save across the wiki, see [`Storage::revisions_after`](crate::Storage::revisions_after)).
//! Catching up means: take tantivy's writer lock, index every revision after that id, commit with the new
//! id. A search reads the commit metadata (one small file) and reloads its reader when the index
//! changed, so a commit by any process shows on the next search, with no watcher thread.
//! The writer lock is a lock file, so this is safe with many processes: one that cannot get it
//! ([`SearchIndex::try_update`] answers `None`) does not wait and does not fail — it searches the
//! index as it is, and the holder does the catching up. Readers never take the lock.
//!
//! This module does not convert Markdown to text (storage knows no markup): the caller hands in
//! [`PageDoc`]s with plain text. It also does not decide *when* to catch up; the app does (a
//! background thread in long-running servers, inline in CGI).
//!
//! # Generations
//!
//! `DATA/index/` holds generations, `gen-1/`, `gen-2/`…, each a complete tantivy index, and a pointer
//! file `CURRENT` naming the live one (no file: generation 1). A rebuild ([`SearchIndex::rebuild`])
//! fills a new generation while the live one keeps serving, then replaces `CURRENT` atomically
//! (write and rename) and deletes the older generations. Every search looks at `CURRENT` (one small
//! read) and reopens when it changed, so all processes move to the new generation on their next
//! search. A page view never touches the index: [`SearchIndex::new`] does no I/O, the first search or
//! update opens it.
//!
//! # Phrases of common words
//!
//! Each generation built by a rebuild also indexes adjacent pairs of its most common words as single
//! terms, so a phrase of them needs no positions (module `common`).
//!
//! # Pages, not revisions
//!
//! A document is a page's current revision, keyed by its exact name: an update replaces it, and
//! [`Update::remove`] takes a deleted or renamed page out.

mod common;
mod query;
mod schema;
mod snippet;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::error::LockError;
use tantivy::query::{
    BooleanQuery, FuzzyTermQuery, InvertedIndexRangeQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument,
    TantivyError, Term,
};

use self::common::CommonWords;
use self::schema::Fields;
pub use self::schema::PageDoc;

/// The smallest writer heap tantivy accepts; what a CGI process uses.
pub const MIN_WRITER_HEAP: usize = 15_000_000;

const POINTER: &str = "CURRENT";

/// What can go wrong with the search index.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// A file or directory of the index could not be read or written.
    #[error("search index file {path} could not be {doing}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done ("read", "created"…).
        doing: &'static str,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// tantivy failed.
    #[error("search index failed while {doing}")]
    Index {
        /// What was being done.
        doing: &'static str,
        /// What tantivy said.
        #[source]
        source: TantivyError,
    },
    /// The index on disk was built by another version with other fields.
    #[error(
        "the search index in {path} was built by another version of quire; run `quire reindex`"
    )]
    Outdated {
        /// The generation directory.
        path: PathBuf,
    },
}

fn tantivy_error(doing: &'static str) -> impl FnOnce(TantivyError) -> SearchError {
    move |source| SearchError::Index { doing, source }
}

fn io_error(path: &Path, doing: &'static str) -> impl FnOnce(std::io::Error) -> SearchError {
    let path = path.to_path_buf();
    move |source| SearchError::Io {
        path,
        doing,
        source,
    }
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    /// How many pages match in all.
    pub total: usize,
    /// The requested slice of them, best first.
    pub hits: Vec<Hit>,
    /// Pages whose name (or last segments of it) equals the query, exact name first: "go to".
    pub go_to: Vec<String>,
    /// When nothing matched: page names close to the words typed.
    pub did_you_mean: Vec<String>,
}

/// One matching page.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The page name.
    pub name: String,
    /// A passage of the text, HTML-escaped, the matched words in `<mark>`.
    pub snippet_html: String,
    /// Who saved the current revision.
    pub author: String,
    /// When, in unix seconds UTC.
    pub time: i64,
    /// BM25 score (higher is better); comparable within one query only.
    pub score: f32,
}

/// The search index of one data directory. Cheap to create; opens lazily, reopens when a rebuild
/// replaced the generation. `Send + Sync`: share one per process.
#[derive(Debug)]
pub struct SearchIndex {
    root: PathBuf,
    open: Mutex<Option<Arc<Opened>>>,
}

struct Opened {
    generation: u64,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    common: CommonWords,
    /// The state of the index (see [`state_of`]) the reader's searcher shows.
    shown: Mutex<u64>,
}

impl Opened {
    /// A searcher showing the last commit, by this process or any other: the commit metadata is
    /// read (one small file) and the reader reloaded when it changed. Reloading on tantivy's own
    /// file watcher instead can race with a reload after our own commit and leave an older
    /// searcher in place until the next change.
    fn searcher(&self) -> Result<Searcher, SearchError> {
        let state = state_of(&self.index)?;
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        if state != *shown {
            self.reader
                .reload()
                .map_err(tantivy_error("reloading the index"))?;
            *shown = state;
        }
        Ok(self.reader.searcher())
    }
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// The index kept in `root` (`DATA/index`). Does no I/O.
    pub fn new(root: &Path) -> SearchIndex {
        SearchIndex {
            root: root.to_path_buf(),
            open: Mutex::new(None),
        }
    }

    /// The directory it lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The live generation, opened (and created if missing).
    fn opened(&self) -> Result<Arc<Opened>, SearchError> {
        let generation = read_pointer(&self.root)?;
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(opened) = open.as_ref().filter(|o| o.generation == generation) {
            return Ok(Arc::clone(opened));
        }
        let opened = Arc::new(open_generation(&self.root, generation)?);
        *open = Some(Arc::clone(&opened));
        Ok(opened)
    }

    /// The id of the last revision the index holds (0 for a new index).
    pub fn indexed_up_to(&self) -> Result<u64, SearchError> {
        let opened = self.opened()?;
        payload(&opened.index)
    }

    /// Takes the writer lock to bring the index up to date, or `None` at once if another process or
    /// thread holds it. `heap_bytes` is tantivy's indexing memory ([`MIN_WRITER_HEAP`] at least).
    pub fn try_update(&self, heap_bytes: usize) -> Result<Option<Update>, SearchError> {
        let opened = self.opened()?;
        let writer = match opened
            .index
            .writer_with_num_threads(1, heap_bytes.max(MIN_WRITER_HEAP))
        {
            Ok(writer) => writer,
            Err(TantivyError::LockFailure(LockError::LockBusy, _)) => return Ok(None),
            Err(err) => return Err(tantivy_error("taking the index writer lock")(err)),
        };
        let last = payload(&opened.index)?;
        Ok(Some(Update {
            writer,
            opened,
            opened_root: self.root.clone(),
            last,
            analyzer: schema::analyzer(),
        }))
    }

    /// Starts a rebuild from scratch in a new generation, while the live one keeps serving. Add every
    /// page with [`Rebuild::put`], then [`Rebuild::finish`] makes it live.
    pub fn rebuild(&self, heap_bytes: usize, threads: usize) -> Result<Rebuild, SearchError> {
        fs::create_dir_all(&self.root).map_err(io_error(&self.root, "created"))?;
        let mut generation = read_pointer(&self.root)?.max(highest_generation(&self.root)?) + 1;
        // create_dir, not create_dir_all: two rebuilds never share a generation.
        loop {
            match fs::create_dir(generation_dir(&self.root, generation)) {
                Ok(()) => break,
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => generation += 1,
                Err(err) => {
                    return Err(io_error(&generation_dir(&self.root, generation), "created")(err))
                }
            }
        }
        let dir = generation_dir(&self.root, generation);
        let index = Index::create_in_dir(&dir, schema::schema())
            .map_err(tantivy_error("creating a new index generation"))?;
        let opened = Arc::new(reader_for(index, generation, CommonWords::default())?);
        let writer = opened
            .index
            .writer_with_num_threads(
                threads.max(1),
                heap_bytes.max(MIN_WRITER_HEAP * threads.max(1)),
            )
            .map_err(tantivy_error("starting the rebuild's writer"))?;
        Ok(Rebuild {
            update: Update {
                writer,
                opened,
                opened_root: self.root.clone(),
                last: 0,
                analyzer: schema::analyzer(),
            },
            root: self.root.clone(),
            common: None,
            sample: Vec::new(),
        })
    }

    /// Runs a query in the syntax the `query` module describes: `limit` hits after the first `offset`.
    pub fn search(
        &self,
        text: &str,
        offset: usize,
        limit: usize,
    ) -> Result<SearchResults, SearchError> {
        let opened = self.opened()?;
        let searcher = opened.searcher()?;
        let fields = opened.fields;
        let go_to = self.go_to(&searcher, fields, text)?;
        let parsed = query::parse(text, |name| schema::user_field(&fields, name).is_some());
        let mut builder = query::Builder {
            fields,
            analyzer: schema::analyzer(),
            searcher: &searcher,
            common: &opened.common,
        };
        let Some(built) = builder.build(&parsed) else {
            return Ok(SearchResults {
                total: 0,
                hits: Vec::new(),
                go_to,
                did_you_mean: Vec::new(),
            });
        };
        let top_docs = TopDocs::with_limit(limit.max(1)).and_offset(offset);
        let (total, top) = if built.prunable {
            // Two passes, each fast on its own: counting without scores (straight from the posting
            // lists) and ranking with block-WAND, which skips most matches, and which a collector
            // that must see every match (a count) would disable.
            let total = searcher
                .search(&built.query, &Count)
                .map_err(tantivy_error("counting matches"))?;
            let top = searcher
                .search(&built.query, &top_docs)
                .map_err(tantivy_error("searching"))?;
            (total, top)
        } else {
            // Intersections and phrases score every match anyway: count them in the same pass.
            searcher
                .search(&built.query, &(Count, top_docs))
                .map_err(tantivy_error("searching"))?
        };
        let mut snippets = SnippetGenerator::create(&searcher, &*built.highlight, fields.body)
            .map_err(tantivy_error("preparing snippets"))?;
        snippets.set_max_num_chars(snippet::SNIPPET_CHARS);
        let words = body_words_rarest_first(&searcher, fields, &*built.highlight)?;
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top.into_iter().take(limit) {
            let doc = load(&searcher, address)?;
            let body = text_of(&doc, fields.body);
            hits.push(Hit {
                name: text_of(&doc, fields.name),
                snippet_html: snippet::of(&snippets, &body, &words),
                author: text_of(&doc, fields.author),
                time: doc
                    .get_first(fields.modified)
                    .and_then(|v| v.as_datetime())
                    .map_or(0, |t| t.into_timestamp_secs()),
                score,
            });
        }
        let did_you_mean = if total == 0 {
            did_you_mean(&searcher, fields, &built.words)?
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
    /// shortest first: search-as-you-type.
    pub fn suggest(&self, prefix: &str, limit: usize) -> Result<Vec<String>, SearchError> {
        let prefix = prefix.trim().to_lowercase();
        if prefix.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let opened = self.opened()?;
        let searcher = opened.searcher()?;
        let fields = opened.fields;
        let key = fields.title_key;
        // Every string starting with `prefix` sorts before `prefix` + the highest code point.
        let query = InvertedIndexRangeQuery::new(
            std::ops::Bound::Included(Term::from_field_text(key, &prefix)),
            std::ops::Bound::Excluded(Term::from_field_text(key, &format!("{prefix}\u{10FFFF}"))),
        );
        let shortest_first =
            TopDocs::with_limit(limit).custom_score(move |segment: &tantivy::SegmentReader| {
                let lengths = segment.fast_fields().u64("name_len").ok();
                move |doc| {
                    std::cmp::Reverse(
                        lengths
                            .as_ref()
                            .and_then(|col| col.first(doc))
                            .unwrap_or(u64::MAX),
                    )
                }
            });
        let top = searcher
            .search(&query, &shortest_first)
            .map_err(tantivy_error("suggesting pages"))?;
        let mut names = Vec::with_capacity(top.len());
        for (_, address) in top {
            names.push(text_of(&load(&searcher, address)?, fields.name));
        }
        Ok(names)
    }

    fn go_to(
        &self,
        searcher: &Searcher,
        fields: Fields,
        text: &str,
    ) -> Result<Vec<String>, SearchError> {
        let key = text.trim().to_lowercase();
        if key.is_empty() {
            return Ok(Vec::new());
        }
        let query = TermQuery::new(
            Term::from_field_text(fields.title_key, &key),
            IndexRecordOption::Basic,
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
}

/// The query's words in the body, rarest first: a snippet is looked for where the rarest occurs.
fn body_words_rarest_first(
    searcher: &Searcher,
    fields: Fields,
    query: &dyn Query,
) -> Result<Vec<String>, SearchError> {
    let mut terms = Vec::new();
    query.query_terms(&mut |term, _| {
        if term.field() == fields.body {
            terms.push(term.clone());
        }
    });
    let mut ranked = Vec::with_capacity(terms.len());
    for term in terms {
        let Some(word) = term.value().as_str().map(str::to_owned) else {
            continue;
        };
        let pages = searcher
            .doc_freq(&term)
            .map_err(tantivy_error("reading word frequencies"))?;
        ranked.push((pages, word));
    }
    ranked.sort();
    ranked.dedup();
    Ok(ranked.into_iter().map(|(_, word)| word).collect())
}

/// "Did you mean": pages whose title has words within one or two edits of the words typed.
fn did_you_mean(
    searcher: &Searcher,
    fields: Fields,
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
    let top = searcher
        .search(&BooleanQuery::new(clauses), &TopDocs::with_limit(5))
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

fn text_of(doc: &TantivyDocument, field: tantivy::schema::Field) -> String {
    doc.get_first(field)
        .and_then(|value| value.as_str())
        .unwrap_or_default()
        .to_owned()
}

/// Changes to the index under its writer lock, which is held until this is committed or dropped
/// (dropping discards the changes).
pub struct Update {
    writer: IndexWriter,
    opened: Arc<Opened>,
    opened_root: PathBuf,
    last: u64,
    analyzer: TextAnalyzer,
}

impl std::fmt::Debug for Update {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Update")
            .field("generation", &self.opened.generation)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl Update {
    /// The id of the last revision the index held when the lock was taken.
    pub fn indexed_up_to(&self) -> u64 {
        self.last
    }

    /// Adds a page, replacing what the index held under its name.
    pub fn put(&mut self, page: &PageDoc<'_>) -> Result<(), SearchError> {
        self.remove(page.name);
        let doc = self
            .opened
            .fields
            .document(page, &self.opened.common, &mut self.analyzer);
        self.writer
            .add_document(doc)
            .map_err(tantivy_error("adding a page"))?;
        Ok(())
    }

    /// Takes a page out (deleted, or renamed away).
    pub fn remove(&mut self, name: &str) {
        self.writer
            .delete_term(Term::from_field_text(self.opened.fields.name, name));
    }

    /// Makes the changes visible, recording that the index now holds every revision up to `up_to`;
    /// then waits for segment merges, so the lock is released on a tidy index (many one-page commits
    /// from CGI saves would otherwise pile up small segments).
    pub fn commit(mut self, up_to: u64) -> Result<(), SearchError> {
        self.commit_and_keep(up_to)?;
        self.close()
    }

    /// Commits like [`Update::commit`] but keeps the writer (and its lock) for more changes; merges
    /// go on in the background. For a long-running worker: no writer to set up per save, and no
    /// waiting for a merge before the next save becomes searchable.
    pub fn commit_and_keep(&mut self, up_to: u64) -> Result<(), SearchError> {
        let mut prepared = self
            .writer
            .prepare_commit()
            .map_err(tantivy_error("preparing a commit"))?;
        prepared.set_payload(&up_to.to_string());
        prepared
            .commit()
            .map_err(tantivy_error("committing the index"))?;
        // Searches see it from their next look at the metadata (`Opened::searcher`).
        self.last = up_to;
        Ok(())
    }

    /// Whether this update writes the live generation (a rebuild may have replaced it meanwhile; then
    /// close this one and take a new one).
    pub fn is_live(&self) -> bool {
        read_pointer(&self.opened_root).is_ok_and(|g| g == self.opened.generation)
    }

    /// Waits for merges and releases the writer lock, discarding uncommitted changes.
    pub fn close(self) -> Result<(), SearchError> {
        self.writer
            .wait_merging_threads()
            .map_err(tantivy_error("merging index segments"))
    }
}

/// A rebuild in progress; see [`SearchIndex::rebuild`].
#[derive(Debug)]
pub struct Rebuild {
    update: Update,
    root: PathBuf,
    /// The generation's common words, learned from the first pages put; until then those wait in
    /// `sample`.
    common: Option<CommonWords>,
    sample: Vec<OwnedPage>,
}

#[derive(Debug)]
struct OwnedPage {
    name: String,
    text: String,
    author: String,
    time: i64,
}

impl OwnedPage {
    fn doc(&self) -> PageDoc<'_> {
        PageDoc {
            name: &self.name,
            text: &self.text,
            author: &self.author,
            time: self.time,
        }
    }
}

impl Rebuild {
    /// Adds a page.
    pub fn put(&mut self, page: &PageDoc<'_>) -> Result<(), SearchError> {
        self.put_all(std::slice::from_ref(page))
    }

    /// Adds pages, preparing their documents on every core.
    pub fn put_all(&mut self, pages: &[PageDoc<'_>]) -> Result<(), SearchError> {
        let mut pages = pages;
        if self.common.is_none() {
            let take = pages.len().min(common::SAMPLE_PAGES - self.sample.len());
            self.sample
                .extend(pages[..take].iter().map(|page| OwnedPage {
                    name: page.name.to_owned(),
                    text: page.text.to_owned(),
                    author: page.author.to_owned(),
                    time: page.time,
                }));
            pages = &pages[take..];
            if self.sample.len() < common::SAMPLE_PAGES {
                return Ok(());
            }
            self.learn()?;
        }
        self.add(pages)
    }

    /// Learns the common words from the sample, records them with the generation, and indexes the
    /// sample.
    fn learn(&mut self) -> Result<(), SearchError> {
        let common = CommonWords::learn(
            &mut self.update.analyzer,
            self.sample.iter().map(|page| page.text.as_str()),
        );
        let dir = generation_dir(&self.root, self.update.opened.generation);
        common
            .write(&dir)
            .map_err(io_error(&dir.join(common::FILE), "written"))?;
        tracing::debug!(
            words = common.len(),
            sample = self.sample.len(),
            "learned the common words"
        );
        self.common = Some(common);
        let sample = std::mem::take(&mut self.sample);
        let pages: Vec<PageDoc<'_>> = sample.iter().map(OwnedPage::doc).collect();
        self.add(&pages)
    }

    fn add(&mut self, pages: &[PageDoc<'_>]) -> Result<(), SearchError> {
        let common = self
            .common
            .as_ref()
            .expect("learned before pages are added");
        for doc in documents(self.update.opened.fields, common, pages) {
            self.update
                .writer
                .add_document(doc)
                .map_err(tantivy_error("adding a page"))?;
        }
        Ok(())
    }

    /// Commits (recording `up_to`, the last revision id the pages put reflect at least), makes this
    /// generation the live one, and deletes the others.
    pub fn finish(mut self, up_to: u64) -> Result<(), SearchError> {
        if self.common.is_none() {
            self.learn()?;
        }
        let generation = self.update.opened.generation;
        self.update.commit(up_to)?;
        write_pointer(&self.root, generation)?;
        for old in generations(&self.root)? {
            if old != generation {
                let dir = generation_dir(&self.root, old);
                // Processes still searching the old generation keep their open files (unix); a
                // failure here only leaves disk space behind.
                if let Err(err) = fs::remove_dir_all(&dir) {
                    tracing::warn!(dir = %dir.display(), %err, "could not delete an old search index");
                }
            }
        }
        Ok(())
    }
}

/// The pages' documents, made on every core: finding a page's common pairs means reading its text
/// once more, which would otherwise hold up tantivy's indexing thread.
fn documents(fields: Fields, common: &CommonWords, pages: &[PageDoc<'_>]) -> Vec<TantivyDocument> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores == 1 || pages.len() < 2 {
        let mut analyzer = schema::analyzer();
        return pages
            .iter()
            .map(|page| fields.document(page, common, &mut analyzer))
            .collect();
    }
    let chunk = pages.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let workers: Vec<_> = pages
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut analyzer = schema::analyzer();
                    part.iter()
                        .map(|page| fields.document(page, common, &mut analyzer))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| match worker.join() {
                Ok(docs) => docs,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

fn generation_dir(root: &Path, generation: u64) -> PathBuf {
    root.join(format!("gen-{generation}"))
}

fn read_pointer(root: &Path) -> Result<u64, SearchError> {
    let path = root.join(POINTER);
    match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map_err(|_| SearchError::Io {
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{:?} is not a generation number", text.trim()),
            ),
            path,
            doing: "read",
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(1),
        Err(err) => Err(io_error(&path, "read")(err)),
    }
}

/// Replaces the pointer atomically: written to a private file, then renamed over.
fn write_pointer(root: &Path, generation: u64) -> Result<(), SearchError> {
    let path = root.join(POINTER);
    let temp = root.join(format!("{POINTER}.{}.{}", std::process::id(), nanos()));
    let mut file = fs::File::create(&temp).map_err(io_error(&temp, "created"))?;
    file.write_all(format!("{generation}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error(&temp, "written"))?;
    fs::rename(&temp, &path).map_err(io_error(&path, "replaced"))
}

fn generations(root: &Path) -> Result<Vec<u64>, SearchError> {
    let entries = match fs::read_dir(root) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(io_error(root, "listed")(err)),
    };
    Ok(entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            entry
                .file_name()
                .to_str()
                .and_then(|name| name.strip_prefix("gen-"))
                .and_then(|n| n.parse().ok())
        })
        .collect())
}

fn highest_generation(root: &Path) -> Result<u64, SearchError> {
    Ok(generations(root)?.into_iter().max().unwrap_or(0))
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Opens a generation, creating it if it does not exist yet. Creation happens in a private directory
/// renamed into place, so processes racing to create it all end up with the same, complete index.
fn open_generation(root: &Path, generation: u64) -> Result<Opened, SearchError> {
    let dir = generation_dir(root, generation);
    if !dir.join("meta.json").exists() {
        fs::create_dir_all(root).map_err(io_error(root, "created"))?;
        let temp = root.join(format!("new-{}-{}", std::process::id(), nanos()));
        fs::create_dir(&temp).map_err(io_error(&temp, "created"))?;
        Index::create_in_dir(&temp, schema::schema())
            .map_err(tantivy_error("creating the search index"))?;
        if fs::rename(&temp, &dir).is_err() {
            // Another process won the race (or left an empty directory, which rename replaces).
            let _ = fs::remove_dir_all(&temp);
        }
    }
    let index = Index::open_in_dir(&dir).map_err(tantivy_error("opening the search index"))?;
    if index.schema() != schema::schema() {
        return Err(SearchError::Outdated { path: dir });
    }
    let common = CommonWords::read(&dir).map_err(io_error(&dir.join(common::FILE), "read"))?;
    reader_for(index, generation, common)
}

fn reader_for(index: Index, generation: u64, common: CommonWords) -> Result<Opened, SearchError> {
    schema::register_tokenizer(&index);
    let fields = Fields::of(&index.schema()).ok_or_else(|| SearchError::Outdated {
        path: PathBuf::from(format!("gen-{generation}")),
    })?;
    // Read before the reader loads, so the reader shows at least this state.
    let shown = state_of(&index)?;
    // Reloaded by `Opened::searcher` when a commit is seen, never by a watcher thread.
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(tantivy_error("opening an index reader"))?;
    Ok(Opened {
        generation,
        index,
        reader,
        fields,
        common,
        shown: Mutex::new(shown),
    })
}

/// What the commit metadata says about the index: its last commit and its segments (a finished
/// merge replaces segments without a new commit), hashed.
fn state_of(index: &Index) -> Result<u64, SearchError> {
    use std::hash::{Hash, Hasher};
    let metas = index
        .load_metas()
        .map_err(tantivy_error("reading the index metadata"))?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    metas.opstamp.hash(&mut hasher);
    for segment in &metas.segments {
        (segment.id(), segment.delete_opstamp()).hash(&mut hasher);
    }
    Ok(hasher.finish())
}

fn payload(index: &Index) -> Result<u64, SearchError> {
    let metas = index
        .load_metas()
        .map_err(tantivy_error("reading the index metadata"))?;
    Ok(metas
        .payload
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(0))
}
