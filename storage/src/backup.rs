//! Online backups: a consistent copy of a database that other processes keep writing, and the
//! check of such a copy before anything trusts it.
//!
//! The copy is made with SQLite's online backup API, a few hundred pages per step. SQLite restarts a
//! stepped backup from the first page whenever another connection writes to the source between two
//! steps, so under a steady stream of saves a naive stepped backup may never finish. The copy
//! therefore holds one read transaction on its own connection from the first step to the last: in WAL
//! mode a reader never blocks writers (their commits go to the write-ahead log, past the reader's
//! snapshot), every step reads the same snapshot, and nothing restarts. What it costs: no checkpoint
//! can move the log past that snapshot while the copy runs, so the `-wal` file grows by what is saved
//! meanwhile, and shrinks back (`journal_size_limit`) at the next checkpoint after it.
//!
//! Between steps the copy sleeps a moment, so that on a small machine it does not take a core
//! from the server it is copying. The copy leaves WAL mode before it is closed: it is one
//! self-contained file, with no `-wal` or `-shm` beside it.
//!
//! Attachments live in the database (blobs in chunks), so the database file is the whole content;
//! the search index and the render cache are derived from it.
//!
//! A wiki on PostgreSQL is backed up into the same kind of file: one SQLite database, made by
//! copying every table into it (the copy `quire migrate-db` makes, `crate::copy`) from one
//! snapshot, and checked by reading it back. PostgreSQL has no page-level backup API to step
//! through, and a logical copy is what makes the backup portable: `quire restore` takes it like
//! any other, and `quire migrate-db` puts it back into a PostgreSQL database. `pg_dump` remains
//! the operator's tool for the database as PostgreSQL sees it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::{doing, StorageError};
use crate::schema::{APPLICATION_ID, SCHEMA_VERSION};
use crate::{pool, Engine, Storage};

/// Database pages copied per step of a backup (4 KiB each: 1 MiB).
const PAGES_PER_STEP: i32 = 256;

/// The pause between two steps, so that a backup on a busy, small machine leaves the server room.
const PAUSE_BETWEEN_STEPS: Duration = Duration::from_millis(2);

/// How far a backup has got, as it reports after each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupProgress {
    /// Database pages copied so far (on PostgreSQL: rows copied, then rows read back).
    pub copied: u64,
    /// Database pages in the snapshot being copied (on PostgreSQL: twice its rows).
    pub total: u64,
}

/// What [`Storage::backup_to`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupStats {
    /// Database pages copied (SQLite's pages, not the wiki's; from PostgreSQL, the pages of the
    /// SQLite file it was copied into).
    pub db_pages: u64,
    /// The size of the copy, in bytes.
    pub bytes: u64,
}

/// What [`verify_copy`] found in a copy that passed its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyFacts {
    /// The copy's schema version (never newer than [`SCHEMA_VERSION`]; an older one was brought up
    /// to date by the check).
    pub schema_version: u32,
    /// Wiki pages that exist (deleted ones do not count).
    pub pages: u64,
    /// Revisions of all pages, deleted ones included.
    pub revisions: u64,
    /// Files attached to pages, each counted once whatever its versions (deleted ones do not count).
    pub files: u64,
    /// The size of the copy, in bytes.
    pub bytes: u64,
}

impl Storage {
    /// Copies the database, as it is at one moment, to a new file at `dest`, while other
    /// connections and processes go on reading and writing it.
    ///
    /// The copy reads one snapshot from its first step to its last: writers are never blocked
    /// (WAL), and their commits never make SQLite restart the copy, which a stepped backup
    /// otherwise does after every write. Meanwhile no checkpoint passes that snapshot, so the
    /// `-wal` file grows by what is saved during the copy. The copy is one file, with no `-wal`
    /// beside it.
    pub fn backup_to(&self, dest: &Path) -> Result<BackupStats, StorageError> {
        self.backup_with_progress(dest, |_| {})
    }

    /// [`Storage::backup_to`], calling `progress` after every step.
    ///
    /// A file already at `dest` is replaced. The copy is written straight to `dest`: a caller that
    /// must not leave a partial file behind copies to a temporary name and renames.
    ///
    /// On PostgreSQL the copy is a new SQLite file all the same, filled row by row (see the
    /// module doc).
    pub fn backup_with_progress(
        &self,
        dest: &Path,
        mut progress: impl FnMut(BackupProgress),
    ) -> Result<BackupStats, StorageError> {
        if self.engine() == Engine::Postgres {
            return self.backup_by_copy(dest, &mut progress);
        }
        // A connection of its own, so the read transaction below never reaches the pool.
        let source = pool::open_configured(self.path(), self.pool.options())?;
        let mut copy = Connection::open(dest)
            .map_err(|e| StorageError::opening(dest, "creating the backup copy", e))?;
        // The snapshot every step reads; see the module doc for why it is held to the end.
        source
            .execute_batch("BEGIN DEFERRED")
            .map_err(doing("starting the backup's read transaction"))?;
        let copied = source
            .query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(doing("starting the backup's read transaction"))
            .and_then(|()| {
                step_through(
                    &source,
                    &mut copy,
                    self.pool.options().busy_timeout,
                    &mut progress,
                )
            });
        // Only a read ends here; a failure to end it is moot, the connection is closed below.
        let _ = source.execute_batch("COMMIT");
        let db_pages = copied?;
        // One self-contained file: the copy took the source's WAL mode with its header.
        copy.pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))
            .map_err(doing("making the backup copy one file"))?;
        copy.close()
            .map_err(|(_, e)| StorageError::sqlite("closing the backup copy", e))?;
        let bytes = file_size(dest)?;
        Ok(BackupStats { db_pages, bytes })
    }
}

impl Storage {
    /// The backup of a wiki on PostgreSQL: every table copied into a new SQLite file at `dest`.
    fn backup_by_copy(
        &self,
        dest: &Path,
        progress: &mut impl FnMut(BackupProgress),
    ) -> Result<BackupStats, StorageError> {
        // A file already there is replaced, as SQLite's backup replaces it.
        for suffix in ["", "-wal", "-shm"] {
            let mut file = dest.as_os_str().to_owned();
            file.push(suffix);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(StorageError::CopyFile {
                        path: PathBuf::from(file),
                        source,
                    })
                }
            }
        }
        {
            let copy = Storage::open(dest)?;
            self.copy_into(&copy, |step| {
                let copied = if step.checking {
                    step.total + step.rows
                } else {
                    step.rows
                };
                progress(BackupProgress {
                    copied,
                    total: step.total * 2,
                });
            })?;
        }
        let copy = Connection::open(dest)
            .map_err(|e| StorageError::opening(dest, "opening the backup copy", e))?;
        // A backup holds no session key (the nodes of a wiki on PostgreSQL keep theirs in the
        // database): gone from the copy, its bytes overwritten rather than left in free pages.
        copy.execute_batch("PRAGMA secure_delete = ON; DELETE FROM secrets;")
            .map_err(doing("leaving the session keys out of the backup"))?;
        copy.pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))
            .map_err(doing("making the backup copy one file"))?;
        let db_pages: i64 = copy
            .pragma_query_value(None, "page_count", |row| row.get(0))
            .map_err(doing("counting the backup copy's pages"))?;
        copy.close()
            .map_err(|(_, e)| StorageError::sqlite("closing the backup copy", e))?;
        Ok(BackupStats {
            db_pages: u64::try_from(db_pages).unwrap_or(0),
            bytes: file_size(dest)?,
        })
    }
}

/// Runs the backup steps to the end; returns the pages copied.
fn step_through(
    source: &Connection,
    copy: &mut Connection,
    busy_timeout: Duration,
    progress: &mut impl FnMut(BackupProgress),
) -> Result<u64, StorageError> {
    let backup = Backup::new(source, copy).map_err(doing("starting the backup"))?;
    let mut busy_since = None;
    loop {
        let step = backup
            .step(PAGES_PER_STEP)
            .map_err(doing("copying the database"))?;
        let now = backup.progress();
        let total = u64::try_from(now.pagecount).unwrap_or(0);
        let remaining = u64::try_from(now.remaining).unwrap_or(0);
        progress(BackupProgress {
            copied: total.saturating_sub(remaining),
            total,
        });
        match step {
            StepResult::Done => return Ok(total),
            StepResult::More => busy_since = None,
            // A lock the step could not take (the copy's own file, held by no one but a stray
            // sqlite3 shell): wait, as long as any other operation would.
            StepResult::Busy | StepResult::Locked => {
                let since = *busy_since.get_or_insert_with(Instant::now);
                if since.elapsed() > busy_timeout {
                    return Err(StorageError::Busy {
                        doing: "copying the database",
                    });
                }
            }
            // StepResult is non-exhaustive; a new kind of answer is not one to guess about.
            _ => {
                return Err(StorageError::Invalid {
                    what: "SQLite's backup gave an unknown step result".to_owned(),
                })
            }
        }
        std::thread::sleep(PAUSE_BETWEEN_STEPS);
    }
}

/// Checks a database copy (a backup about to be restored, or one just written) before anything
/// trusts it, and counts what it holds.
///
/// Refuses a file that is not an SQLite database ([`StorageError::NotADatabase`]), another
/// program's database ([`StorageError::ForeignDatabase`]), one from a newer quire
/// ([`StorageError::NewerSchema`]) and one that fails `PRAGMA integrity_check`
/// ([`StorageError::DamagedCopy`]). A copy from an older quire is brought up to date in place, as
/// opening it would: call this on a copy, never on a live wiki's database.
pub fn verify_copy(path: &Path) -> Result<CopyFacts, StorageError> {
    // A missing or unreadable file is named as such, before SQLite would create an empty one.
    file_size(path)?;
    let schema_version = check_read_only(path)?;
    let storage = Storage::open(path)?;
    let pooled = storage.pool.get()?;
    let conn = pooled.sqlite()?;
    let count = |sql: &str| -> Result<u64, StorageError> {
        let n: i64 = conn
            .query_row(sql, [], |row| row.get(0))
            .map_err(doing("counting what the copy holds"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    let facts = CopyFacts {
        schema_version,
        pages: count("SELECT COUNT(*) FROM pages WHERE deleted = 0")?,
        revisions: count("SELECT COUNT(*) FROM revisions")?,
        files: count(
            "SELECT COUNT(*) FROM file_versions f
             WHERE f.kind != 'delete' AND f.version =
                 (SELECT MAX(g.version) FROM file_versions g
                  WHERE g.page_id = f.page_id AND g.name = f.name)",
        )?,
        bytes: 0,
    };
    drop(pooled);
    drop(storage);
    Ok(CopyFacts {
        bytes: file_size(path)?,
        ..facts
    })
}

/// The checks that need no write: an SQLite file of quire's, not newer than this build, intact.
/// Returns its schema version.
fn check_read_only(path: &Path) -> Result<u32, StorageError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StorageError::opening(path, "opening the copy", e))?;
    let damaged = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseCorrupt) => StorageError::DamagedCopy {
            path: path.to_path_buf(),
            problem: e.to_string(),
        },
        _ => StorageError::opening(path, "checking the copy", e),
    };
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(damaged)?;
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(damaged)?;
    let foreign = || StorageError::ForeignDatabase {
        path: path.to_path_buf(),
    };
    if application_id != APPLICATION_ID {
        return Err(foreign());
    }
    let version = u32::try_from(version).map_err(|_| foreign())?;
    if version > SCHEMA_VERSION {
        return Err(StorageError::NewerSchema {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let mut check = conn
        .prepare("PRAGMA integrity_check(20)")
        .map_err(damaged)?;
    let problems = check
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(damaged)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(damaged)?;
    if problems != ["ok"] {
        return Err(StorageError::DamagedCopy {
            path: path.to_path_buf(),
            problem: problems.join("; "),
        });
    }
    Ok(version)
}

fn file_size(path: &Path) -> Result<u64, StorageError> {
    std::fs::metadata(path)
        .map(|meta| meta.len())
        .map_err(|source| StorageError::CopyFile {
            path: PathBuf::from(path),
            source,
        })
}
