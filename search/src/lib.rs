//! quire's search: a full-text index of a wiki's pages (tantivy, BM25), kept in its own directory
//! (`DATA/index/`), derived from the revision log and always rebuildable from it.
//!
//! What it is for: answering the search box (words, phrases, prefixes, fields, `OR` and `-`, see
//! [`SearchIndex::search`]), with `<mark>`ed snippets, "go to" for a typed page name, search-as-you-type
//! suggestions and "did you mean", each over the pages one reader may see ([`Visible`]); and being
//! kept up to date by any process that saves, including one CGI process per request.
//!
//! What it deliberately is not:
//! - **Not the source of truth.** The database is; this index only records the global id of the last
//!   revision it holds, and can be thrown away and rebuilt ([`SearchIndex::rebuild`]).
//! - **Not a reader of storage or markup.** It depends on no other quire crate: the caller hands in
//!   [`PageDoc`]s with plain text (Markdown already stripped) and the revision ids they reflect; the
//!   app replays the revision log into it.
//! - **Not the one who decides when to catch up.** The app does (a background thread in long-running
//!   servers, inline in CGI); this crate only makes catching up safe from many processes at once.
//!
//! # Pages, not revisions
//!
//! A document is a page's current revision, keyed by its exact name: an update replaces it, and
//! [`Update::remove`] takes a deleted or renamed page out.
//!
//! A file attached to a page is a document too ([`FileDoc`]: its name, and the plain text of a text
//! file), keyed by page and file name ([`Update::put_file`], [`Update::remove_file`],
//! [`Update::remove_files`] for all of a page's). Its words are in fields of their own, so pages rank
//! as if there were no files; a hit says which it is ([`Hit::file`]), and a file is visible exactly
//! when its page is. Files come from a log of their own, so the index records the last id of each
//! log ([`Watermark`]).
//!
//! An index built by a quire with other fields is replaced by an empty one on first use (its
//! watermark 0, so catching up refills it): never an error on an old data directory.
//!
//! # Where things are
//!
//! - `generation`: the index's directory, its generations and the pointer to the live one, and how a
//!   search sees the last commit of any process.
//! - `update`: catching up under tantivy's writer lock, which no one waits for.
//! - `rebuild`: a new generation filled from scratch while the live one serves.
//! - `query`: running a search (ranking, snippets, go-to, suggestions, did-you-mean); `query::syntax`,
//!   the query syntax users type.
//! - `common_words`: the pairs of frequent words that keep their phrases fast.
//! - `schema` and `snippet`: the fields and the tokenizer, and snippets as HTML.
//!
//! ```
//! use search::{PageDoc, SearchIndex, Visible, MIN_WRITER_HEAP};
//!
//! let dir = tempfile::tempdir()?;
//! let index = SearchIndex::new(&dir.path().join("index"));
//! let mut update = index.try_update(MIN_WRITER_HEAP)?.expect("no one else holds the lock");
//! update.put(&PageDoc { name: "FrontPage", text: "Welcome to the wiki", author: "alice", time: 0 })?;
//! update.commit(1)?;
//! let results = index.search("welcome", Visible::All, 0, 10)?;
//! assert_eq!(results.hits[0].name, "FrontPage");
//! assert_eq!(index.indexed_up_to()?, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod common_words;
mod error;
mod generation;
mod query;
mod rebuild;
mod schema;
mod snippet;
mod update;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

pub use crate::error::SearchError;
use crate::generation::{Opened, Unusable};
pub use crate::query::{Hit, SearchResults, Visible};
pub use crate::rebuild::Rebuild;
pub use crate::schema::{FileDoc, PageDoc};
pub use crate::update::{Update, MIN_WRITER_HEAP};

/// The search index of one data directory. Cheap to create; opens lazily, reopens when a rebuild
/// replaced the generation. `Send + Sync`: share one per process.
///
/// A page view never needs it: [`SearchIndex::new`] does no I/O, and the first search or update opens
/// the live generation (creating it if there is none).
#[derive(Debug)]
pub struct SearchIndex {
    root: PathBuf,
    open: Mutex<Option<Arc<Opened>>>,
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
        let generation = generation::read_pointer(&self.root)?;
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(opened) = open.as_ref().filter(|o| o.generation == generation) {
            return Ok(Arc::clone(opened));
        }
        let opened = match generation::open(&self.root, generation) {
            Err(SearchError::Outdated { .. }) => {
                generation::replace(&self.root, generation, Unusable::Outdated)?
            }
            Err(err @ SearchError::Index { .. }) => {
                generation::replace(&self.root, generation, Unusable::Damaged(&err))?
            }
            opened => opened?,
        };
        let opened = Arc::new(opened);
        *open = Some(Arc::clone(&opened));
        Ok(opened)
    }

    /// The live generation and a searcher on its last commit. A generation that opened but whose
    /// files tantivy can no longer read (damaged while this process had it open) is replaced as
    /// [`SearchIndex::opened`] replaces one that does not open.
    fn searcher(&self) -> Result<(Arc<Opened>, tantivy::Searcher), SearchError> {
        let opened = self.opened()?;
        match opened.searcher() {
            Err(err @ SearchError::Index { .. }) => {
                let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
                // Another thread may have replaced it meanwhile.
                let replaced = match open.as_ref().filter(|o| o.generation != opened.generation) {
                    Some(newer) => Arc::clone(newer),
                    None => Arc::new(generation::replace(
                        &self.root,
                        opened.generation,
                        Unusable::Damaged(&err),
                    )?),
                };
                *open = Some(Arc::clone(&replaced));
                drop(open);
                let searcher = replaced.searcher()?;
                Ok((replaced, searcher))
            }
            searcher => Ok((opened, searcher?)),
        }
    }

    /// The id of the last revision the index holds (0 for a new index).
    pub fn indexed_up_to(&self) -> Result<u64, SearchError> {
        Ok(self.watermark()?.revisions)
    }

    /// The id of the last file event the index holds (0 for a new index, or one built before files
    /// were indexed).
    pub fn files_indexed_up_to(&self) -> Result<u64, SearchError> {
        Ok(self.watermark()?.files)
    }

    /// Both: what the index holds of each log.
    pub fn watermark(&self) -> Result<Watermark, SearchError> {
        self.opened()?.watermark()
    }
}

/// How far the index has caught up with each of the two logs it is fed from: the revision log
/// (pages) and the file log (attached files' versions, deletions and restorations), whose ids grow
/// independently. Recorded in every commit; a new or rebuilt index starts at zeros.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watermark {
    /// The id of the last revision the index holds.
    pub revisions: u64,
    /// The id of the last file event the index holds.
    pub files: u64,
}
