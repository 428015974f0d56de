//! Keeping the search index in step with the wiki: catching up from the revision log, in the
//! background for long-running servers and inline for CGI, and rebuilding from scratch.
//!
//! The index (the `search` crate) records the last revision id it holds; catching up replays the
//! page events after it (`Storage::events_after`): a saved or undeleted page, or a page under its new
//! name, is indexed as plain text (`markup::plain_text`: storage cannot strip Markdown itself); a
//! deleted page, or the old name of a renamed one, is taken out.
//!
//! - `serve`, `fastcgi`, `scgi`: [`Indexer::background`] runs one worker thread; every write of this
//!   process (save, revert, rename, delete, undelete, upload, file deletion and restoration) wakes
//!   it through [`Indexer::saved`] (the write never waits for indexing), and it catches up at start
//!   for saves made while it was down. While saves keep coming it keeps tantivy's writer, so the next
//!   save needs no writer set-up and waits for no merge, and it polls the logs every `POLL` (100 ms) for
//!   other processes' saves meanwhile: they cannot wake it, and find the writer lock taken.
//! - CGI: [`Indexer::inline`] catches up at the end of a save and before a search, under tantivy's
//!   writer lock. A process that finds the lock taken skips it: the holder is catching up, and the
//!   search answers from the index as it is.
//!
//! A page view never calls into here, so it never opens the index.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use search::{FileDoc, PageDoc, SearchError, SearchIndex, Update, MIN_WRITER_HEAP};
use storage::{ChangeKind, FileVersion, LoggedRevision, PageEvent, Storage, StorageError};

/// Revisions read from the log at a time.
const BATCH: usize = 500;
/// Indexing memory of the background worker; CGI uses tantivy's minimum.
const WORKER_HEAP: usize = 64_000_000;
/// How long the worker waits before retrying when another process holds the writer lock.
const BUSY_RETRY: Duration = Duration::from_millis(250);
/// How often a worker holding the writer looks for other processes' saves (a CGI request, another
/// FastCGI process of the same wiki): they cannot wake it and leave the catching up to the lock's
/// holder, so this bounds how soon their saves are searchable. Its own saves wake it at once. A
/// look is two indexed reads of the logs' last ids, so ten a second cost nothing measurable.
const POLL: Duration = Duration::from_millis(100);
/// How long a node of a PostgreSQL wiki waits for word of another node's write before it looks at
/// the revision log anyway: notifications are a wake-up, and one lost with a connection must not
/// leave a save unsearchable for longer than this.
const LISTEN_POLL: Duration = Duration::from_secs(1);
/// How long a listener waits before connecting again after its connection failed.
const LISTEN_RETRY: Duration = Duration::from_secs(2);
/// How long a worker keeps the writer without saves.
const IDLE: Duration = Duration::from_secs(20);
/// The longest wait between retries after failures, which double the wait from [`BUSY_RETRY`]: a
/// disk that stays full or read-only is tried twice a minute, not four times a second, and the log
/// gets a line each time rather than a flood.
const MAX_FAILURE_RETRY: Duration = Duration::from_secs(30);

/// Counts one more failure in a row, and says how long to wait before the next try.
fn failed(failures: &mut u32) -> Option<Duration> {
    let wait = BUSY_RETRY
        .saturating_mul(1 << (*failures).min(8))
        .min(MAX_FAILURE_RETRY);
    *failures = failures.saturating_add(1);
    Some(wait)
}

/// Catching up or rebuilding failed.
#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    /// Reading the revision log failed.
    #[error("could not read the wiki's revisions")]
    Storage(#[from] StorageError),
    /// The index failed.
    #[error("could not update the search index")]
    Search(#[from] SearchError),
    /// A text file's content could not be read for indexing.
    #[error("could not read a file to index it")]
    Blob(#[source] std::io::Error),
}

/// What a catch-up did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatchUp {
    /// The index already held every revision.
    UpToDate,
    /// It replayed this many revisions (saves, deletions, renames; pages may repeat) and now holds
    /// everything up to `up_to`.
    Indexed {
        /// How many revisions were replayed.
        revisions: usize,
        /// The newest revision id the index now holds.
        up_to: u64,
    },
    /// Another process or thread holds the writer lock and will catch up instead.
    Busy,
}

/// The search index of a running wiki and the policy that keeps it fresh.
pub struct Indexer {
    shared: Arc<Shared>,
    worker: Option<Arc<Signal>>,
}

struct Shared {
    storage: Arc<Storage>,
    index: SearchIndex,
}

/// Wakes the worker; `pending` coalesces many saves into one catch-up.
#[derive(Default)]
struct Signal {
    state: Mutex<SignalState>,
    wake: Condvar,
}

#[derive(Default)]
struct SignalState {
    pending: bool,
    closed: bool,
}

impl Signal {
    /// Asks the worker to catch up.
    fn raise(&self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pending = true;
        self.wake.notify_one();
    }
}

impl Indexer {
    /// Catches up inline, in the calling request (CGI: no thread outlives the request).
    pub fn inline(storage: Arc<Storage>, root: &Path) -> Indexer {
        Indexer {
            shared: Arc::new(Shared {
                storage,
                index: SearchIndex::new(root),
            }),
            worker: None,
        }
    }

    /// Catches up on a worker thread, woken by every save; it stops when the indexer is dropped.
    pub fn background(storage: Arc<Storage>, root: &Path) -> std::io::Result<Indexer> {
        Indexer::background_polling(storage, root, POLL)
    }

    /// [`Indexer::background`] looking for other processes' saves every `poll` while it holds the
    /// writer (tests set it far beyond their length, to see that a save wakes the worker).
    fn background_polling(
        storage: Arc<Storage>,
        root: &Path,
        poll: Duration,
    ) -> std::io::Result<Indexer> {
        let shared = Arc::new(Shared {
            storage,
            index: SearchIndex::new(root),
        });
        let signal = Arc::new(Signal::default());
        // Catch up at start: other processes may have saved while this one was not running.
        signal
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pending = true;
        let (worker_shared, worker_signal) = (Arc::clone(&shared), Arc::clone(&signal));
        std::thread::Builder::new()
            .name("quire-indexer".into())
            .spawn(move || run_worker(&worker_shared, &worker_signal, poll))?;
        if let Some(listener) = shared.storage.change_listener() {
            let listener_signal = Arc::clone(&signal);
            std::thread::Builder::new()
                .name("quire-listener".into())
                .spawn(move || run_listener(listener, &listener_signal))?;
        }
        Ok(Indexer {
            shared,
            worker: Some(signal),
        })
    }

    /// The index, for searching.
    pub fn index(&self) -> &SearchIndex {
        &self.shared.index
    }

    /// Called after every write the index reflects (a page saved, reverted, renamed, deleted or
    /// undeleted; a file uploaded, deleted or restored): wakes the worker, or (inline) catches up
    /// now. Failures are logged, never returned: the write itself succeeded, and the next catch-up
    /// retries.
    pub fn saved(&self) {
        self.nudge();
    }

    /// Called before a search: inline, catches up first (unless another process is at it).
    pub fn before_search(&self) {
        self.nudge();
    }

    fn nudge(&self) {
        match &self.worker {
            Some(signal) => signal.raise(),
            None => {
                if let Err(err) =
                    catch_up(&self.shared.storage, &self.shared.index, MIN_WRITER_HEAP)
                {
                    tracing::warn!(error = %error_chain(&err), "search index catch-up failed");
                }
            }
        }
    }
}

impl Drop for Indexer {
    fn drop(&mut self) {
        if let Some(signal) = &self.worker {
            signal
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .closed = true;
            signal.wake.notify_one();
        }
    }
}

/// The worker: waits for a save, catches up, and keeps the writer (and its lock) while saves keep
/// coming, so a save is searchable without setting up a writer or waiting for a merge. While it holds
/// the lock it also looks at the revision log every `poll` ([`POLL`]), for saves by other processes
/// (which find the lock taken and leave the catching up to it). After [`IDLE`] without saves it lets
/// go.
fn run_worker(shared: &Shared, signal: &Signal, poll: Duration) {
    let mut held: Option<Update> = None;
    // When to look again without a signal: after another process's lock, or a failure.
    let mut retry: Option<Duration> = None;
    let mut failures: u32 = 0;
    let mut last_change = Instant::now();
    loop {
        let timeout = match (&held, retry) {
            (Some(_), _) => Some(poll),
            (None, retry) => retry,
        };
        if !wait_for_work(signal, timeout) {
            if let Some(update) = held.take() {
                log_failure(update.close());
            }
            return;
        }
        if held.as_ref().is_some_and(|update| !update.is_live()) {
            // A rebuild replaced the generation this writer writes.
            log_failure(held.take().map_or(Ok(()), Update::close));
        }
        if held.is_none() {
            match behind(&shared.storage, &shared.index) {
                Ok(false) => {
                    retry = None;
                    failures = 0;
                    continue;
                }
                Ok(true) => {}
                Err(err) => {
                    retry = failed(&mut failures);
                    tracing::warn!(error = %error_chain(&err), retry_in = ?retry, "search index check failed; retrying");
                    continue;
                }
            }
            match shared.index.try_update(WORKER_HEAP) {
                Ok(Some(update)) => held = Some(update),
                Ok(None) => {
                    retry = Some(BUSY_RETRY);
                    continue;
                }
                Err(err) => {
                    retry = failed(&mut failures);
                    tracing::warn!(error = %error_chain(&err), retry_in = ?retry, "search index writer failed; retrying");
                    continue;
                }
            }
        }
        retry = None;
        let Some(update) = held.as_mut() else {
            continue;
        };
        match replay(&shared.storage, update) {
            Ok(0) if last_change.elapsed() > IDLE => {
                log_failure(held.take().map_or(Ok(()), Update::close));
            }
            Ok(0) => {}
            Ok(revisions) => {
                tracing::debug!(revisions, "search index caught up");
                last_change = Instant::now();
                failures = 0;
            }
            Err(err) => {
                retry = failed(&mut failures);
                tracing::warn!(error = %error_chain(&err), retry_in = ?retry, "search index catch-up failed; retrying");
                // Uncommitted changes are dropped with the writer; the log is replayed again.
                held = None;
            }
        }
    }
}

/// A node of a PostgreSQL wiki: wakes the worker when another node writes (LISTEN), and at least
/// every [`LISTEN_POLL`] whatever it hears, so a save anywhere is searchable here within about a
/// second even when notifications are lost. Looking costs the worker two indexed reads. Stops once
/// the indexer is dropped.
fn run_listener(mut listener: storage::ChangeListener, signal: &Signal) {
    let mut failing = false;
    loop {
        if signal
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed
        {
            return;
        }
        match listener.wait(LISTEN_POLL) {
            Ok(_) => {
                if failing {
                    tracing::info!("listening for other nodes' changes again");
                    failing = false;
                }
            }
            Err(err) => {
                if !failing {
                    tracing::warn!(error = %error_chain(&err), retry_in = ?LISTEN_RETRY, "could not listen for other nodes' changes; looking every few seconds meanwhile");
                    failing = true;
                }
                std::thread::sleep(LISTEN_RETRY);
            }
        }
        signal.raise();
    }
}

/// Waits until a save is signalled or `timeout` passes; `false` once the indexer is dropped.
fn wait_for_work(signal: &Signal, timeout: Option<Duration>) -> bool {
    let mut state = signal.state.lock().unwrap_or_else(PoisonError::into_inner);
    if !state.pending && !state.closed {
        state = match timeout {
            Some(timeout) => {
                signal
                    .wake
                    .wait_timeout(state, timeout)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => signal
                .wake
                .wait_while(state, |s| !s.pending && !s.closed)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
    state.pending = false;
    !state.closed
}

fn log_failure(result: Result<(), SearchError>) {
    if let Err(err) = result {
        tracing::warn!(error = %error_chain(&err), "closing the search index writer failed");
    }
}

/// Whether the revision log or the file log has entries the index lacks; takes no lock.
fn behind(storage: &Storage, index: &SearchIndex) -> Result<bool, IndexerError> {
    let held = index.watermark()?;
    Ok(
        held.revisions < storage.last_revision_id()?
            || held.files < storage.last_file_event_id()?,
    )
}

/// Indexes every revision the index does not hold yet, if this process can take the writer lock.
pub fn catch_up(
    storage: &Storage,
    index: &SearchIndex,
    heap_bytes: usize,
) -> Result<CatchUp, IndexerError> {
    // Checked without the lock first: the common case (nothing new) takes no lock and no writer.
    if !behind(storage, index)? {
        return Ok(CatchUp::UpToDate);
    }
    let Some(mut update) = index.try_update(heap_bytes)? else {
        return Ok(CatchUp::Busy);
    };
    let revisions = replay(storage, &mut update)?;
    let up_to = update.indexed_up_to();
    update.close()?;
    if revisions == 0 {
        // Someone else caught up between the check and the lock.
        return Ok(CatchUp::UpToDate);
    }
    Ok(CatchUp::Indexed { revisions, up_to })
}

/// Replays the page events after the update's last revision, then the file versions after its last
/// file event, and commits them (keeping the writer); returns how many revisions and file versions
/// there were.
fn replay(storage: &Storage, update: &mut Update) -> Result<usize, IndexerError> {
    Ok(replay_pages(storage, update)? + replay_files(storage, update)?)
}

/// The page events after the update's last revision. A page that appears under a name (an
/// undelete, the new name of a rename) brings its files with it: they belong to the page, so the
/// file log does not name them again.
fn replay_pages(storage: &Storage, update: &mut Update) -> Result<usize, IndexerError> {
    let mut up_to = update.indexed_up_to();
    let mut revisions = 0;
    loop {
        let batch = storage.events_after(up_to, BATCH)?;
        let Some(last) = batch.last() else { break };
        // A rename is two events of one revision.
        revisions += 1 + batch
            .windows(2)
            .filter(|two| two[0].id() != two[1].id())
            .count();
        up_to = last.id();
        for event in last_per_page(&batch) {
            match event {
                PageEvent::Saved(logged) => {
                    update.put(&page_doc(
                        &logged.revision,
                        &markup::plain_text(&logged.revision.text),
                    ))?;
                    if !matches!(logged.revision.meta.kind, ChangeKind::Edit) {
                        put_page_files(storage, update, &logged.revision.meta.page)?;
                    }
                }
                PageEvent::Removed { page, .. } => {
                    update.remove(page);
                    update.remove_files(page);
                }
            }
        }
    }
    if revisions > 0 {
        update.commit_and_keep(up_to)?;
    }
    Ok(revisions)
}

/// The file versions after the update's last file event: the current content of each file they
/// touch (its name, and the text of a text file), or its removal.
fn replay_files(storage: &Storage, update: &mut Update) -> Result<usize, IndexerError> {
    let mut up_to = update.files_indexed_up_to();
    let mut versions = 0;
    loop {
        let batch = storage.file_events_after(up_to, BATCH)?;
        let Some(last) = batch.last() else { break };
        up_to = last.id;
        versions += batch.len();
        // Each file once, whatever the batch did to it: its current state is what the index holds.
        let touched: std::collections::BTreeSet<(&str, &str)> = batch
            .iter()
            .map(|version| (version.page.as_str(), version.name.as_str()))
            .collect();
        for (page, name) in touched {
            // The log names the page as it is called now.
            match storage.file(page, name, None)? {
                Some(current) if current.content.is_some() => {
                    put_file(storage, update, &current)?;
                }
                _ => update.remove_file(page, name)?,
            }
        }
    }
    if versions > 0 {
        update.commit_files_and_keep(up_to)?;
    }
    Ok(versions)
}

/// Every current file of `page`, indexed under that name (after an undelete or a rename).
fn put_page_files(storage: &Storage, update: &mut Update, page: &str) -> Result<(), IndexerError> {
    update.remove_files(page);
    for attachment in storage.attachments(page)? {
        put_file(storage, update, &attachment.current)?;
    }
    Ok(())
}

/// One file's document: its name, and for a text file the start of its text.
fn put_file(
    storage: &Storage,
    update: &mut Update,
    file: &FileVersion,
) -> Result<(), IndexerError> {
    let Some(content) = &file.content else {
        return Ok(());
    };
    let detected = media::Detected::from_media_type(&content.media_type);
    let text = if detected.text {
        let mut head = Vec::new();
        storage
            .open_blob(&content.hash)?
            .take(media::text::INDEX_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(IndexerError::Blob)?;
        media::text::indexable_text(&detected, &head).unwrap_or_default()
    } else {
        String::new()
    };
    update.put_file(&FileDoc {
        page: &file.page,
        name: &file.name,
        text: &text,
        author: &file.uploader,
        time: file.time,
    })?;
    Ok(())
}

/// Only the last event of each page name in a batch matters (the index holds current texts), in the
/// order they happened: a rename's removal of the old name comes before a new page of that name.
fn last_per_page(batch: &[PageEvent]) -> Vec<&PageEvent> {
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (at, event) in batch.iter().enumerate() {
        let page = match event {
            PageEvent::Saved(logged) => logged.revision.meta.page.as_str(),
            PageEvent::Removed { page, .. } => page.as_str(),
        };
        last.insert(page, at);
    }
    let mut kept: Vec<usize> = last.into_values().collect();
    kept.sort_unstable();
    kept.into_iter().map(|at| &batch[at]).collect()
}

fn page_doc<'a>(revision: &'a storage::Revision, text: &'a str) -> PageDoc<'a> {
    PageDoc {
        name: &revision.meta.page,
        text,
        author: &revision.meta.author,
        time: revision.meta.time,
    }
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuilt {
    /// Pages indexed.
    pub pages: u64,
    /// Revisions saved while it ran, caught up at the end.
    pub caught_up: usize,
}

/// Rebuilds the index from scratch in a new generation, while the current one keeps serving, then
/// makes it live and catches up with saves made meanwhile. `progress` is told each page indexed.
pub fn rebuild(
    storage: &Storage,
    index: &SearchIndex,
    heap_bytes: usize,
    threads: usize,
    mut progress: impl FnMut(u64),
) -> Result<Rebuilt, IndexerError> {
    // Read before the pages: every page read reflects at least this revision, so catching up from
    // here afterwards misses nothing (and redoes, harmlessly, what the pages already had).
    let up_to = storage.last_revision_id()?;
    let mut rebuild = index.rebuild(heap_bytes, threads)?;
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let batch = storage.current_revisions(after.as_deref(), BATCH)?;
        let Some(last) = batch.last() else { break };
        after = Some(last.revision.meta.page.clone());
        let texts = plain_texts(&batch);
        let docs: Vec<PageDoc<'_>> = batch
            .iter()
            .zip(&texts)
            .map(|(logged, text)| page_doc(&logged.revision, text))
            .collect();
        rebuild.put_all(&docs)?;
        pages += batch.len() as u64;
        progress(batch.len() as u64);
    }
    rebuild.finish(up_to)?;
    let caught_up = match catch_up(storage, index, heap_bytes)? {
        CatchUp::Indexed { revisions, .. } => revisions,
        CatchUp::UpToDate | CatchUp::Busy => 0,
    };
    Ok(Rebuilt { pages, caught_up })
}

/// The batch's texts without markup, converted on every core: stripping Markdown costs about as
/// much as indexing, and tantivy's own threads index the previous batch meanwhile.
fn plain_texts(batch: &[LoggedRevision]) -> Vec<String> {
    batch
        .par_iter()
        .map(|logged| markup::plain_text(&logged.revision.text))
        .collect()
}

/// "a: b: c" for a log line.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use search::Visible;
    use storage::Save;

    fn save(storage: &Storage, page: &str, text: &str, base_rev: Option<u64>) {
        storage
            .save(Save {
                page,
                text,
                author: "alice",
                comment: "",
                base_rev,
                time: None,
            })
            .unwrap();
    }

    fn hits(index: &SearchIndex, query: &str) -> Vec<String> {
        index
            .search(query, Visible::All, 0, 10)
            .unwrap()
            .hits
            .into_iter()
            .map(|hit| hit.name)
            .collect()
    }

    #[test]
    fn catching_up_indexes_plain_text_and_only_current_revisions() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open_in_memory().unwrap();
        let index = SearchIndex::new(&dir.path().join("index"));
        save(&storage, "Notes", "# Heading\n\nOld **bold** words", None);
        save(
            &storage,
            "Notes",
            "New *emphasis* and a [[Link|label]]",
            Some(1),
        );
        save(&storage, "Other", "unrelated", None);

        let done = catch_up(&storage, &index, MIN_WRITER_HEAP).unwrap();
        assert_eq!(
            done,
            CatchUp::Indexed {
                revisions: 3,
                up_to: 3
            }
        );
        assert_eq!(hits(&index, "emphasis"), vec!["Notes"]);
        assert_eq!(hits(&index, "old"), Vec::<String>::new());
        // Markup is gone from the snippet.
        let snippet = &index.search("emphasis", Visible::All, 0, 1).unwrap().hits[0].snippet_html;
        assert!(
            !snippet.contains('*') && !snippet.contains("[["),
            "{snippet}"
        );
        assert_eq!(
            catch_up(&storage, &index, MIN_WRITER_HEAP).unwrap(),
            CatchUp::UpToDate
        );

        save(&storage, "Other", "now about emphasis too", Some(1));
        assert_eq!(
            catch_up(&storage, &index, MIN_WRITER_HEAP).unwrap(),
            CatchUp::Indexed {
                revisions: 1,
                up_to: 4
            }
        );
        assert_eq!(hits(&index, "emphasis").len(), 2);
    }

    #[test]
    fn deleted_and_renamed_pages_leave_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open_in_memory().unwrap();
        let index = SearchIndex::new(&dir.path().join("index"));
        save(&storage, "Doomed", "ephemeral words", None);
        save(&storage, "Moving", "travelling words", None);
        save(&storage, "Moving/Child", "child words", None);
        catch_up(&storage, &index, MIN_WRITER_HEAP).unwrap();
        assert_eq!(hits(&index, "ephemeral"), vec!["Doomed"]);

        storage.delete("Doomed", "alice", "").unwrap().unwrap();
        storage
            .rename(&storage::Rename {
                from: "Moving",
                to: "Arrived",
                author: "alice",
                comment: "",
                with_subpages: true,
            })
            .unwrap();
        assert_eq!(
            catch_up(&storage, &index, MIN_WRITER_HEAP).unwrap(),
            CatchUp::Indexed {
                revisions: 3,
                up_to: 6
            }
        );
        assert_eq!(hits(&index, "ephemeral"), Vec::<String>::new());
        assert_eq!(hits(&index, "travelling"), vec!["Arrived"]);
        assert_eq!(hits(&index, "child"), vec!["Arrived/Child"]);
        assert_eq!(
            index.suggest("doo", Visible::All, 10).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            index.suggest("mov", Visible::All, 10).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(
            index.suggest("arr", Visible::All, 10).unwrap(),
            vec!["Arrived", "Arrived/Child"]
        );

        // Undeleting brings it back; a new page under the old name is its own page.
        storage.undelete("Doomed", "alice", "").unwrap().unwrap();
        save(&storage, "Moving", "a newcomer", None);
        catch_up(&storage, &index, MIN_WRITER_HEAP).unwrap();
        assert_eq!(hits(&index, "ephemeral"), vec!["Doomed"]);
        assert_eq!(hits(&index, "newcomer"), vec!["Moving"]);
        assert_eq!(hits(&index, "travelling"), vec!["Arrived"]);
    }

    #[test]
    fn a_replay_from_scratch_holds_only_the_pages_that_exist() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open_in_memory().unwrap();
        save(&storage, "Gone", "vanished", None);
        save(&storage, "Old", "renamed text", None);
        storage.delete("Gone", "alice", "").unwrap().unwrap();
        storage
            .rename(&storage::Rename {
                from: "Old",
                to: "New",
                author: "alice",
                comment: "",
                with_subpages: false,
            })
            .unwrap();
        // Every event in one batch.
        let index = SearchIndex::new(&dir.path().join("index"));
        catch_up(&storage, &index, MIN_WRITER_HEAP).unwrap();
        assert_eq!(hits(&index, "vanished"), Vec::<String>::new());
        assert_eq!(hits(&index, "renamed"), vec!["New"]);
        assert_eq!(
            index
                .search("vanished OR renamed", Visible::All, 0, 10)
                .unwrap()
                .total,
            1
        );
    }

    #[test]
    fn a_held_lock_means_busy_not_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open_in_memory().unwrap();
        let index = SearchIndex::new(&dir.path().join("index"));
        save(&storage, "A", "text", None);
        let other = SearchIndex::new(&dir.path().join("index"));
        let _held = other.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
        assert_eq!(
            catch_up(&storage, &index, MIN_WRITER_HEAP).unwrap(),
            CatchUp::Busy
        );
    }

    #[test]
    fn the_worker_catches_up_after_a_save() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(Storage::open_in_memory().unwrap());
        let indexer = Indexer::background(Arc::clone(&storage), &dir.path().join("index")).unwrap();
        save(&storage, "A", "findable words", None);
        indexer.saved();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while hits(indexer.index(), "findable").is_empty() {
            assert!(std::time::Instant::now() < deadline, "never indexed");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until `query` finds `page`, or fails after far longer than any catch-up takes (not a
    /// timing assertion: a bound on "never").
    fn wait_until_found(indexer: &Indexer, query: &str, page: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !hits(indexer.index(), query).contains(&page.to_owned()) {
            assert!(Instant::now() < deadline, "{query} never found {page}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every write wakes the worker: with a poll interval longer than the test, nothing else could
    /// make a write searchable while the worker holds the writer and waits out its poll.
    #[test]
    fn a_write_wakes_the_worker_without_waiting_for_its_poll() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(Storage::open_in_memory().unwrap());
        save(&storage, "Zero", "zeroword", None);
        let indexer = Indexer::background_polling(
            Arc::clone(&storage),
            &dir.path().join("index"),
            Duration::from_secs(3600),
        )
        .unwrap();
        // Its start-up catch-up: from now on it holds the writer, waiting out the poll.
        wait_until_found(&indexer, "zeroword", "Zero");

        save(&storage, "First", "firstword", None);
        indexer.saved();
        wait_until_found(&indexer, "firstword", "First");

        save(&storage, "Second", "secondword", None);
        indexer.saved();
        wait_until_found(&indexer, "secondword", "Second");

        storage
            .rename(&storage::Rename {
                from: "Second",
                to: "Moved",
                author: "alice",
                comment: "",
                with_subpages: false,
            })
            .unwrap();
        indexer.saved();
        wait_until_found(&indexer, "secondword", "Moved");

        storage.delete("First", "alice", "").unwrap().unwrap();
        indexer.saved();
        wait_until_caught_up(&storage, &indexer);
        assert_eq!(hits(indexer.index(), "firstword"), Vec::<String>::new());
    }

    /// Waits until the index holds every revision of `storage` (a bound on "never", as above).
    fn wait_until_caught_up(storage: &Storage, indexer: &Indexer) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while indexer.index().indexed_up_to().unwrap() < storage.last_revision_id().unwrap() {
            assert!(Instant::now() < deadline, "the index never caught up");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_rebuild_indexes_every_page_and_reports_progress() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open_in_memory().unwrap();
        let index = SearchIndex::new(&dir.path().join("index"));
        for i in 0..1200 {
            save(
                &storage,
                &format!("Page{i}"),
                &format!("page number {i}"),
                None,
            );
        }
        let mut seen = 0;
        let rebuilt = rebuild(&storage, &index, MIN_WRITER_HEAP, 1, |n| seen += n).unwrap();
        assert_eq!(
            rebuilt,
            Rebuilt {
                pages: 1200,
                caught_up: 0
            }
        );
        assert_eq!(seen, 1200);
        assert_eq!(
            index.search("page", Visible::All, 0, 1).unwrap().total,
            1200
        );
        assert_eq!(index.indexed_up_to().unwrap(), 1200);
    }

    #[test]
    fn failures_in_a_row_wait_twice_as_long_each_time_up_to_half_a_minute() {
        let mut failures = 0;
        let waits: Vec<Duration> = (0..10).filter_map(|_| failed(&mut failures)).collect();
        assert_eq!(waits[0], BUSY_RETRY);
        assert_eq!(waits[1], BUSY_RETRY * 2);
        assert_eq!(waits[4], BUSY_RETRY * 16);
        assert!(waits.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(waits[9], MAX_FAILURE_RETRY);
        failures = u32::MAX;
        assert_eq!(failed(&mut failures), Some(MAX_FAILURE_RETRY));
    }
}
