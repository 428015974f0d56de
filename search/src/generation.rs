//! The index's directory: generations, the pointer to the live one, and opening it.
//!
//! `DATA/index/` holds generations, `gen-1/`, `gen-2/`…, each a complete tantivy index, and a pointer
//! file `CURRENT` naming the live one (no file: generation 1). A rebuild (the `rebuild` module) fills
//! a new generation while the live one keeps serving, then replaces `CURRENT` atomically (write and
//! rename) and deletes the older generations. Every search looks at `CURRENT` (one small read) and
//! reopens when it changed, so all processes move to the new generation on their next search.
//!
//! Within a generation, a search reads the commit metadata (one small file) and reloads its reader
//! when the index changed, so a commit by any process shows on the next search, with no watcher
//! thread.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tantivy::{Index, IndexReader, ReloadPolicy, Searcher};

use crate::common_words::{self, CommonWords};
use crate::error::{error_chain, io_error, tantivy_error};
use crate::schema::{self, Fields};
use crate::{SearchError, Watermark};

const POINTER: &str = "CURRENT";

/// One generation, opened: its index, a reader, and what every search and update of it needs.
pub(crate) struct Opened {
    pub(crate) generation: u64,
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    pub(crate) fields: Fields,
    pub(crate) common: CommonWords,
    /// The state of the index (see [`state_of`]) the reader's searcher shows.
    shown: Mutex<u64>,
}

impl Opened {
    /// A searcher showing the last commit, by this process or any other: the commit metadata is
    /// read (one small file) and the reader reloaded when it changed. Reloading on tantivy's own
    /// file watcher instead can race with a reload after our own commit and leave an older
    /// searcher in place until the next change.
    pub(crate) fn searcher(&self) -> Result<Searcher, SearchError> {
        let state = state_of(&self.index)?;
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        if state != *shown {
            match self.reader.reload() {
                Ok(()) => *shown = state,
                // Reloading takes tantivy's meta lock, which is a file: on a disk that has turned
                // read-only it cannot be taken. What the reader holds is whole, so searches go on
                // with it, a commit behind, and the next search tries again.
                Err(tantivy::TantivyError::LockFailure(err, _)) => tracing::warn!(
                    error = %err,
                    "the search index could not be reloaded; searching what it held before"
                ),
                Err(err) => return Err(tantivy_error("reloading the index")(err)),
            }
        }
        Ok(self.reader.searcher())
    }

    /// What the generation holds, from its last commit (zeros for a new index).
    pub(crate) fn watermark(&self) -> Result<Watermark, SearchError> {
        payload(&self.index)
    }
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

pub(crate) fn generation_dir(root: &Path, generation: u64) -> PathBuf {
    root.join(format!("gen-{generation}"))
}

pub(crate) fn read_pointer(root: &Path) -> Result<u64, SearchError> {
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
pub(crate) fn write_pointer(root: &Path, generation: u64) -> Result<(), SearchError> {
    let path = root.join(POINTER);
    let temp = root.join(format!("{POINTER}.{}.{}", std::process::id(), nanos()));
    let mut file = fs::File::create(&temp).map_err(io_error(&temp, "created"))?;
    file.write_all(format!("{generation}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io_error(&temp, "written"))?;
    fs::rename(&temp, &path).map_err(io_error(&path, "replaced"))
}

pub(crate) fn generations(root: &Path) -> Result<Vec<u64>, SearchError> {
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

pub(crate) fn highest_generation(root: &Path) -> Result<u64, SearchError> {
    Ok(generations(root)?.into_iter().max().unwrap_or(0))
}

fn nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Opens a generation, creating it if it does not exist yet. Creation happens in a private directory
/// renamed into place, so processes racing to create it all end up with the same, complete index.
pub(crate) fn open(root: &Path, generation: u64) -> Result<Opened, SearchError> {
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
    let common =
        CommonWords::read(&dir).map_err(io_error(&dir.join(common_words::FILE), "read"))?;
    reader_for(index, generation, common)
}

pub(crate) fn reader_for(
    index: Index,
    generation: u64,
    common: CommonWords,
) -> Result<Opened, SearchError> {
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
///
/// std's `DefaultHasher` is enough here: the value is only compared with the one this same process
/// kept in [`Opened`], never stored or sent, so it need not be stable across processes or Rust
/// versions (and `DefaultHasher::new` is not randomly seeded, unlike a `HashMap`'s hasher).
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

fn payload(index: &Index) -> Result<Watermark, SearchError> {
    let metas = index
        .load_metas()
        .map_err(tantivy_error("reading the index metadata"))?;
    Ok(metas
        .payload
        .as_deref()
        .map(Watermark::from_payload)
        .unwrap_or_default())
}

impl Watermark {
    /// The commit payload: `REVISIONS FILES`.
    pub(crate) fn to_payload(self) -> String {
        format!("{} {}", self.revisions, self.files)
    }

    /// Reads a payload; one written before files were indexed holds the revision id alone, and
    /// reads as holding no file event. Anything unreadable reads as 0: catching up from the start
    /// is always safe.
    pub(crate) fn from_payload(payload: &str) -> Watermark {
        let mut ids = payload
            .split_whitespace()
            .map(|id| id.parse::<u64>().unwrap_or(0));
        Watermark {
            revisions: ids.next().unwrap_or(0),
            files: ids.next().unwrap_or(0),
        }
    }
}

/// Why a generation is being replaced by an empty one.
#[derive(Debug)]
pub(crate) enum Unusable<'a> {
    /// Built by another quire, with other fields.
    Outdated,
    /// tantivy could not open or read it: a file truncated, missing or garbled (a crash mid-write
    /// on a file system that lost it, a full disk, a hand that deleted a file).
    Damaged(&'a SearchError),
}

/// Moves an index off `outdated`, a generation it cannot use ([`Unusable`]): the next generation,
/// with the current fields, becomes the live one, holding nothing (its watermark is 0), so the next
/// catch-up replays the logs from the start and fills it (in the background in a long-running
/// server); the old generation is deleted. Never an error page on an old or damaged index, and no
/// `quire reindex` needed: the index is derived state.
///
/// Every process that finds the outdated generation does the same, and they agree: the next
/// generation is created once (see [`open`]), and the pointer is written with the same number.
pub(crate) fn replace(
    root: &Path,
    outdated: u64,
    why: Unusable<'_>,
) -> Result<Opened, SearchError> {
    let mut generation = outdated + 1;
    let opened = loop {
        match open(root, generation) {
            Ok(opened) => break opened,
            // Left by an older rebuild: skip it too.
            Err(SearchError::Outdated { .. }) => generation += 1,
            Err(err) => return Err(err),
        }
    };
    // A rebuild may have moved the pointer on meanwhile: then it wins.
    if read_pointer(root)? == outdated {
        write_pointer(root, generation)?;
    }
    match why {
        Unusable::Outdated => tracing::warn!(
            from = outdated,
            to = generation,
            "the search index was built by another version of quire; it is being rebuilt from the logs"
        ),
        Unusable::Damaged(err) => tracing::error!(
            from = outdated,
            to = generation,
            error = %error_chain(err),
            "the search index is damaged; it is being rebuilt from the logs, and searches meanwhile \
             find only what is indexed again"
        ),
    }
    for old in outdated..generation {
        let dir = generation_dir(root, old);
        if let Err(err) = fs::remove_dir_all(&dir) {
            if err.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(dir = %dir.display(), %err, "could not delete an unusable search index");
            }
        }
    }
    Ok(opened)
}
