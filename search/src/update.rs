//! Catching up: changes to the live generation under tantivy's writer lock.
//!
//! The index records, in its commit payload, the global id of the last revision it holds (revision
//! ids grow with every save across the wiki). Catching up means: take the writer lock, index every
//! revision after that id, commit with the new id. The writer lock is a lock file, so this is safe
//! with many processes: one that cannot get it ([`SearchIndex::try_update`] answers `None`) does not
//! wait and does not fail — it searches the index as it is, and the holder does the catching up.
//! Readers never take the lock.
//!
//! Files attached to pages come from a log of their own (uploads, deletions, restorations), whose
//! ids grow independently of revision ids; the payload records the last id of each (a
//! [`Watermark`]), and the two are caught up independently.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::directory::error::LockError;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{Document, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{IndexWriter, TantivyError, Term};

use crate::error::tantivy_error;
use crate::generation::{self, Opened};
use crate::schema::{self, FileDoc, PageDoc};
use crate::{SearchError, SearchIndex, Watermark};

/// The smallest writer heap tantivy accepts; what a CGI process uses.
pub const MIN_WRITER_HEAP: usize = 15_000_000;

impl SearchIndex {
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
        let last = opened.watermark()?;
        Ok(Some(Update::new(writer, opened, &self.root, last)))
    }
}

/// Changes to the index under its writer lock, which is held until this is committed or dropped
/// (dropping discards the changes).
pub struct Update {
    pub(crate) writer: IndexWriter,
    pub(crate) opened: Arc<Opened>,
    opened_root: PathBuf,
    last: Watermark,
    pub(crate) analyzer: TextAnalyzer,
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
    /// An update of `opened` (a generation under `root`) holding its writer, whose last commit
    /// recorded `last`.
    pub(crate) fn new(
        writer: IndexWriter,
        opened: Arc<Opened>,
        root: &Path,
        last: Watermark,
    ) -> Update {
        Update {
            writer,
            opened,
            opened_root: root.to_path_buf(),
            last,
            analyzer: schema::analyzer(),
        }
    }

    /// The id of the last revision the index held when the lock was taken.
    pub fn indexed_up_to(&self) -> u64 {
        self.last.revisions
    }

    /// The id of the last file event the index held when the lock was taken, or as committed since.
    pub fn files_indexed_up_to(&self) -> u64 {
        self.last.files
    }

    /// Both.
    pub fn watermark(&self) -> Watermark {
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

    /// Takes a page out (deleted, or renamed away). Its files stay: see [`Update::remove_files`].
    pub fn remove(&mut self, name: &str) {
        self.writer
            .delete_term(Term::from_field_text(self.opened.fields.name, name));
    }

    /// Adds a file, replacing what the index held under its page and name.
    pub fn put_file(&mut self, file: &FileDoc<'_>) -> Result<(), SearchError> {
        self.remove_file(file.page, file.name)?;
        self.writer
            .add_document(self.opened.fields.file_document(file))
            .map_err(tantivy_error("adding a file"))?;
        Ok(())
    }

    /// Takes one file of a page out (deleted).
    pub fn remove_file(&mut self, page: &str, name: &str) -> Result<(), SearchError> {
        let fields = self.opened.fields;
        let term = |field, text| -> (Occur, Box<dyn Query>) {
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, text),
                    IndexRecordOption::Basic,
                )),
            )
        };
        self.writer
            .delete_query(Box::new(BooleanQuery::new(vec![
                term(fields.file_page, page),
                term(fields.file_name, name),
            ])))
            .map_err(tantivy_error("removing a file"))?;
        Ok(())
    }

    /// Takes every file of a page out: the page was deleted, or renamed away (put its files again
    /// under the new name). Its page document stays: see [`Update::remove`].
    pub fn remove_files(&mut self, page: &str) {
        self.writer
            .delete_term(Term::from_field_text(self.opened.fields.file_page, page));
    }

    /// Makes the changes visible, recording that the index now holds every revision up to `up_to`
    /// (and the file events it held already); then waits for segment merges, so the lock is released
    /// on a tidy index (many one-page commits from CGI saves would otherwise pile up small segments).
    pub fn commit(mut self, up_to: u64) -> Result<(), SearchError> {
        self.commit_and_keep(up_to)?;
        self.close()
    }

    /// Commits like [`Update::commit`], recording both logs' ids.
    pub fn commit_at(mut self, up_to: Watermark) -> Result<(), SearchError> {
        self.commit_at_and_keep(up_to)?;
        self.close()
    }

    /// Commits like [`Update::commit_and_keep`], recording that the index holds every file event up
    /// to `files_up_to` (and the revisions it held already).
    pub fn commit_files_and_keep(&mut self, files_up_to: u64) -> Result<(), SearchError> {
        self.commit_at_and_keep(Watermark {
            revisions: self.last.revisions,
            files: files_up_to,
        })
    }

    /// Commits like [`Update::commit`] but keeps the writer (and its lock) for more changes; merges
    /// go on in the background. For a long-running worker: no writer to set up per save, and no
    /// waiting for a merge before the next save becomes searchable.
    pub fn commit_and_keep(&mut self, up_to: u64) -> Result<(), SearchError> {
        self.commit_at_and_keep(Watermark {
            revisions: up_to,
            files: self.last.files,
        })
    }

    /// Commits like [`Update::commit_and_keep`], recording both logs' ids.
    pub fn commit_at_and_keep(&mut self, up_to: Watermark) -> Result<(), SearchError> {
        commit_recording(&mut self.writer, up_to)?;
        // Searches see it from their next look at the metadata (`Opened::searcher`).
        self.last = up_to;
        Ok(())
    }

    /// Whether this update writes the live generation (a rebuild may have replaced it meanwhile; then
    /// close this one and take a new one).
    pub fn is_live(&self) -> bool {
        generation::read_pointer(&self.opened_root).is_ok_and(|g| g == self.opened.generation)
    }

    /// Waits for merges and releases the writer lock, discarding uncommitted changes.
    pub fn close(self) -> Result<(), SearchError> {
        self.writer
            .wait_merging_threads()
            .map_err(tantivy_error("merging index segments"))
    }
}

/// Commits `writer`'s changes with `up_to` as the commit's payload: what every process reads as
/// the index's [`Watermark`].
pub(crate) fn commit_recording<D: Document>(
    writer: &mut IndexWriter<D>,
    up_to: Watermark,
) -> Result<(), SearchError> {
    let mut prepared = writer
        .prepare_commit()
        .map_err(tantivy_error("preparing a commit"))?;
    prepared.set_payload(&up_to.to_payload());
    prepared
        .commit()
        .map_err(tantivy_error("committing the index"))?;
    Ok(())
}
