//! A rebuild: a new generation filled from scratch while the live one keeps serving.
//!
//! `quire reindex` indexes every page again. Doing that in place would leave searches with half an
//! index for minutes, so a rebuild creates the next generation directory (see the `generation`
//! module), fills it with a writer of its own, commits, and only then points `CURRENT` at it and
//! deletes the older generations. An update still holding the old generation's writer can tell
//! ([`Update::is_live`]) and takes a new one.
//!
//! # Phrases of common words
//!
//! Each generation built by a rebuild also indexes adjacent pairs of its most common words as single
//! terms, so a phrase of them needs no positions (see the `common_words` module). The words are
//! learned from the first pages put, which wait in memory until there are enough of them; the list is
//! written into the generation's directory for every process that opens it later.
//!
//! # Memory
//!
//! A rebuild's peak is tantivy's indexing heap (the caller's `heap_bytes`) and the documents waiting
//! for it. tantivy queues up to 10 000 documents for its indexing thread, and documents are prepared
//! on every core faster than that one thread takes them, so the queue stayed full: at 100 000 pages
//! of some kilobytes each (text and common pairs), a hundred MB and more. So each document carries a
//! ticket ([`Queued`]) that tantivy gives back when it drops the document after indexing it, and a
//! rebuild keeps at most [`MAX_QUEUED`] documents queued: enough for the indexing thread never to
//! wait for the next batch.

use std::fs;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use rayon::prelude::*;
use tantivy::schema::Document;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexWriter, TantivyDocument};

use crate::common_words::{self, CommonWords};
use crate::error::{io_error, tantivy_error};
use crate::generation::{self, generation_dir, Opened};
use crate::schema::{self, Fields, FileDoc, PageDoc};
use crate::update::{commit_recording, MIN_WRITER_HEAP};
use crate::{SearchError, SearchIndex, Watermark};

/// Documents a rebuild hands to tantivy's indexing thread ahead of it, at most: two of the app's
/// batches of pages, so one is being prepared while the other is indexed.
pub(crate) const MAX_QUEUED: usize = 1000;
/// How long a rebuild waits for room in the queue before adding a document anyway: tantivy's
/// thread may be writing a segment out (seconds), or have stopped on an error, which only adding
/// a document reports.
const QUEUE_STALL: Duration = Duration::from_secs(1);

impl SearchIndex {
    /// Starts a rebuild from scratch in a new generation, while the live one keeps serving. Add every
    /// page with [`Rebuild::put`], then [`Rebuild::finish`] makes it live.
    pub fn rebuild(&self, heap_bytes: usize, threads: usize) -> Result<Rebuild, SearchError> {
        fs::create_dir_all(&self.root).map_err(io_error(&self.root, "created"))?;
        let mut generation = generation::read_pointer(&self.root)?
            .max(generation::highest_generation(&self.root)?)
            + 1;
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
        let opened = Arc::new(generation::reader_for(
            index,
            generation,
            CommonWords::default(),
        )?);
        let writer = opened
            .index
            .writer_with_num_threads(
                threads.max(1),
                heap_bytes.max(MIN_WRITER_HEAP * threads.max(1)),
            )
            .map_err(tantivy_error("starting the rebuild's writer"))?;
        Ok(Rebuild {
            writer,
            opened,
            analyzer: schema::analyzer(),
            queue: Arc::new(Queue::default()),
            root: self.root.clone(),
            common: None,
            sample: Vec::new(),
        })
    }
}

/// A rebuild in progress; see [`SearchIndex::rebuild`].
pub struct Rebuild {
    writer: IndexWriter<Queued>,
    opened: Arc<Opened>,
    analyzer: TextAnalyzer,
    queue: Arc<Queue>,
    root: PathBuf,
    /// The generation's common words, learned from the first pages put; until then those wait in
    /// `sample`.
    common: Option<CommonWords>,
    sample: Vec<OwnedPage>,
}

impl std::fmt::Debug for Rebuild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rebuild")
            .field("generation", &self.opened.generation)
            .field("sample", &self.sample.len())
            .finish_non_exhaustive()
    }
}

/// How many documents are queued for tantivy's indexing thread (see the module docs).
#[derive(Debug, Default)]
struct Queue {
    queued: Mutex<usize>,
    indexed: Condvar,
}

impl Queue {
    /// Waits until fewer than [`MAX_QUEUED`] documents are queued (or [`QUEUE_STALL`] passes),
    /// and counts one more.
    fn enter(&self) {
        let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        while *queued >= MAX_QUEUED {
            let (guard, waited) = self
                .indexed
                .wait_timeout(queued, QUEUE_STALL)
                .unwrap_or_else(PoisonError::into_inner);
            queued = guard;
            if waited.timed_out() {
                break;
            }
        }
        *queued += 1;
    }

    fn leave(&self) {
        let mut queued = self.queued.lock().unwrap_or_else(PoisonError::into_inner);
        *queued = queued.saturating_sub(1);
        self.indexed.notify_one();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        *self.queued.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A document on its way to tantivy's indexing thread, counted in the [`Queue`] until tantivy
/// drops it, indexed (or refused).
struct Queued {
    doc: TantivyDocument,
    queue: Arc<Queue>,
}

impl Queued {
    fn new(doc: TantivyDocument, queue: &Arc<Queue>) -> Queued {
        queue.enter();
        Queued {
            doc,
            queue: Arc::clone(queue),
        }
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        self.queue.leave();
    }
}

impl Document for Queued {
    type Value<'a> = <TantivyDocument as Document>::Value<'a>;
    type FieldsValuesIter<'a> = <TantivyDocument as Document>::FieldsValuesIter<'a>;

    fn iter_fields_and_values(&self) -> Self::FieldsValuesIter<'_> {
        self.doc.iter_fields_and_values()
    }
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
            let take = pages
                .len()
                .min(common_words::SAMPLE_PAGES - self.sample.len());
            self.sample
                .extend(pages[..take].iter().map(|page| OwnedPage {
                    name: page.name.to_owned(),
                    text: page.text.to_owned(),
                    author: page.author.to_owned(),
                    time: page.time,
                }));
            pages = &pages[take..];
            if self.sample.len() < common_words::SAMPLE_PAGES {
                return Ok(());
            }
            self.learn()?;
        }
        self.add(pages)
    }

    /// Adds a file (the current version of a file attached to a page).
    pub fn put_file(&mut self, file: &FileDoc<'_>) -> Result<(), SearchError> {
        let doc = self.opened.fields.file_document(file);
        self.writer
            .add_document(Queued::new(doc, &self.queue))
            .map_err(tantivy_error("adding a file"))?;
        Ok(())
    }

    /// Learns the common words from the sample, records them with the generation, and indexes the
    /// sample.
    fn learn(&mut self) -> Result<(), SearchError> {
        let common = CommonWords::learn(
            &mut self.analyzer,
            self.sample.iter().map(|page| page.text.as_str()),
        );
        let dir = generation_dir(&self.root, self.opened.generation);
        common
            .write(&dir)
            .map_err(io_error(&dir.join(common_words::FILE), "written"))?;
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
        for doc in documents(self.opened.fields, common, pages) {
            self.writer
                .add_document(Queued::new(doc, &self.queue))
                .map_err(tantivy_error("adding a page"))?;
        }
        Ok(())
    }

    /// Commits (recording `up_to`, the last revision id the pages put reflect at least), makes this
    /// generation the live one, and deletes the others. It records no file event: the next catch-up
    /// replays the file log from its start (use [`Rebuild::finish_at`] when the current files were
    /// put).
    pub fn finish(self, up_to: u64) -> Result<(), SearchError> {
        self.finish_at(Watermark {
            revisions: up_to,
            files: 0,
        })
    }

    /// Like [`Rebuild::finish`], recording the last id of each log that the pages and files put
    /// reflect at least.
    pub fn finish_at(mut self, up_to: Watermark) -> Result<(), SearchError> {
        if self.common.is_none() {
            self.learn()?;
        }
        let generation = self.opened.generation;
        commit_recording(&mut self.writer, up_to)?;
        self.writer
            .wait_merging_threads()
            .map_err(tantivy_error("merging index segments"))?;
        generation::write_pointer(&self.root, generation)?;
        for old in generation::generations(&self.root)? {
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
    pages
        .par_iter()
        .map_init(schema::analyzer, |analyzer, page| {
            fields.document(page, common, analyzer)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every document queued is counted out again once tantivy has it, so the count a rebuild waits
    /// on ends at zero, and never went past the bound between batches.
    #[test]
    fn queued_documents_are_counted_until_tantivy_drops_them() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::new(&dir.path().join("index"));
        let mut rebuild = index.rebuild(MIN_WRITER_HEAP, 1).unwrap();
        let queue = Arc::clone(&rebuild.queue);
        let texts: Vec<String> = (0..3000).map(|i| format!("page number {i}")).collect();
        let names: Vec<String> = (0..3000).map(|i| format!("Page{i}")).collect();
        for chunk in (0..3000).collect::<Vec<_>>().chunks(500) {
            let pages: Vec<PageDoc<'_>> = chunk
                .iter()
                .map(|&i| PageDoc {
                    name: &names[i],
                    text: &texts[i],
                    author: "alice",
                    time: 0,
                })
                .collect();
            rebuild.put_all(&pages).unwrap();
            assert!(queue.len() <= MAX_QUEUED, "{} queued", queue.len());
        }
        rebuild.finish(3000).unwrap();
        assert_eq!(queue.len(), 0);
        assert_eq!(
            index
                .search("page", crate::Visible::All, 0, 1)
                .unwrap()
                .total,
            3000
        );
    }
}
