//! The one error type of the crate.
//!
//! Every database error (SQLite's or PostgreSQL's, as [`DbError`]) is wrapped with what was being done, so a log line says "while saving a revision"
//! rather than a bare "database is locked". Conditions a caller reacts to differently get their own
//! variant: [`StorageError::Busy`], [`StorageError::DiskFull`] and [`StorageError::Unwritable`] (keep the
//! user's text, answer 503 or 507 and let them retry; see [`WriteRefusal`]), the refusals at open time
//! (tell the operator how to fix the setup), and [`StorageError::UnknownFormat`] (data from a newer build).

use std::path::PathBuf;

use rusqlite::ErrorCode;

use crate::db::DbError;

/// Why a write failed for reasons outside the request ([`StorageError::write_refusal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteRefusal {
    /// Another process held the lock past the busy timeout.
    Busy,
    /// The disk is full.
    DiskFull,
    /// The database is read-only for now.
    Unwritable,
    /// The database server cannot be reached for now (PostgreSQL restarting, the network down):
    /// reads fail as well as writes, and the node recovers by itself when it is back.
    Unreachable,
}

/// Everything that can go wrong in storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// SQLite could not open or create the file at all.
    #[error(
        "cannot open the database at {path}: {source}; check that the directory exists and that the \
         user running quire may write to it (SQLite also creates -wal and -shm files beside the database)"
    )]
    Open {
        /// The database path as configured.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },

    /// The file exists but is not an SQLite database.
    #[error(
        "{path} is not an SQLite database; point quire at its own database file, or move this file \
         away and quire will create a new database there"
    )]
    NotADatabase {
        /// The offending file.
        path: PathBuf,
    },

    /// The file is an SQLite database, but damaged.
    #[error(
        "the database at {path} is corrupt; restore it from a backup with `quire restore BACKUP --force` \
         (the damaged file is kept beside it), or try `sqlite3 {path} .recover` to salvage what is left"
    )]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
    },

    /// The file is an SQLite database belonging to some other program; quire will not add its tables to it.
    #[error(
        "{path} is an SQLite database of another application, not quire's; point quire at its own \
         database file (a missing file is created)"
    )]
    ForeignDatabase {
        /// The offending file.
        path: PathBuf,
    },

    /// The database was written by a newer quire with a schema this build does not know.
    #[error(
        "the database has schema version {found}, but this build of quire supports only up to \
         {supported}; run the newer quire that upgraded it, or restore a backup taken before the upgrade"
    )]
    NewerSchema {
        /// The schema version found in the file.
        found: u32,
        /// The newest schema version this build knows.
        supported: u32,
    },

    /// Another process held the write lock for longer than the busy timeout. Retrying later may succeed.
    #[error("the database is busy (another process held its lock for too long) while {doing}")]
    Busy {
        /// What was being done.
        doing: &'static str,
    },

    /// The disk holding the database is full: nothing of the write was stored (SQLite rolls the
    /// transaction back), and the same write succeeds once space is freed.
    #[error(
        "the disk holding the database is full while {doing}; free some space (nothing is lost)"
    )]
    DiskFull {
        /// What was being done.
        doing: &'static str,
    },

    /// The database became impossible to write or reach while running: its file or folder was made
    /// read-only, or removed, or the file system failed; or the PostgreSQL server is down,
    /// restarting or out of reach. Reads may go on; writes may succeed later.
    #[error("the database cannot be written right now while {doing}")]
    Unwritable {
        /// What was being done.
        doing: &'static str,
        /// What the database said.
        #[source]
        source: DbError,
    },

    /// A stored revision uses a storage format this build cannot decode (written by a newer quire).
    #[error(
        "revision {rev} of page {page:?} is stored in format {format:?}, which this build of quire cannot read"
    )]
    UnknownFormat {
        /// The page.
        page: String,
        /// The revision number.
        rev: u64,
        /// The format tag found.
        format: String,
    },

    /// An operation on a page (rename) names a page that does not exist or is deleted.
    #[error("there is no page {page:?}")]
    NoSuchPage {
        /// The page name.
        page: String,
    },

    /// A rename would take a name that is in use: by a page, or by a deleted page whose history is
    /// kept under it.
    #[error(
        "a page named {page:?} already exists (or existed and was deleted; its history is kept); \
         choose another name"
    )]
    PageExists {
        /// The name in use.
        page: String,
    },

    /// A value in the database is out of the range this build expects (a negative revision number, say).
    #[error("invalid value in the database: {what}")]
    Invalid {
        /// What was wrong.
        what: String,
    },

    /// An upload was longer than the limit it was made with; nothing was stored.
    #[error("the file is larger than the limit of {limit} bytes")]
    UploadTooLarge {
        /// The limit, in bytes ([`crate::NewUpload::max_bytes`]).
        limit: u64,
    },

    /// Storing an upload's blob would take the distinct bytes of all blobs past the quota; nothing
    /// was stored.
    #[error("the wiki's files would exceed their quota of {quota} bytes")]
    QuotaExceeded {
        /// The quota, in bytes ([`crate::NewUpload::quota_bytes`]).
        quota: u64,
    },

    /// Reading the upload's stream failed (the client went away, or the gateway refused the body);
    /// nothing was stored. The source is the stream's own error, for the caller to tell them apart.
    #[error("the upload could not be read")]
    UploadRead {
        /// What the stream said.
        #[source]
        source: std::io::Error,
    },

    /// The temporary file an upload is spooled to beside the database could not be written or read.
    #[error("the temporary file of an upload failed while {doing}; check the space and permissions of the database's directory")]
    Spool {
        /// What was being done.
        doing: &'static str,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },

    /// A file operation names a file the page does not have (or has deleted, for a deletion).
    #[error("page {page:?} has no file {name:?}")]
    NoSuchFile {
        /// The page name.
        page: String,
        /// The file name.
        name: String,
    },

    /// A restore names a version the file does not have, or one that is a deletion.
    #[error("file {name:?} of page {page:?} has no version {version} to restore")]
    NoSuchFileVersion {
        /// The page name.
        page: String,
        /// The file name.
        name: String,
        /// The version asked for.
        version: u64,
    },

    /// No blob has this hash.
    #[error("there is no stored file content with hash {hash}")]
    NoSuchBlob {
        /// The SHA-256 asked for, in hex.
        hash: String,
    },

    /// A database copy (a backup) failed `PRAGMA integrity_check`, or SQLite found it damaged while
    /// checking it.
    #[error("the database copy {path} is damaged ({problem}); take the backup again from the running wiki")]
    DamagedCopy {
        /// The copy.
        path: PathBuf,
        /// What the check reported (its first lines).
        problem: String,
    },

    /// A database copy could not be found or measured on disk.
    #[error("cannot read the database copy {path}")]
    CopyFile {
        /// The copy.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },

    /// The database URL could not be used.
    #[error("{reason}; a PostgreSQL URL looks like postgres://user@host:5432/wiki (add ?sslmode=require for TLS)")]
    BadDatabaseUrl {
        /// What is wrong with it.
        reason: String,
    },

    /// What only one engine can do was asked of the other.
    #[error("{what} is not available on {engine}")]
    NotOnThisEngine {
        /// What was asked.
        what: &'static str,
        /// The engine in use.
        engine: crate::Engine,
    },

    /// Any other database error.
    #[error("database error while {doing}")]
    Database {
        /// What was being done.
        doing: &'static str,
        /// What the database said.
        #[source]
        source: DbError,
    },
}

impl StorageError {
    /// Wraps a database error from ordinary operation, singling out what a caller answers
    /// differently: lock timeouts, a full disk, a database that cannot be written or reached.
    pub(crate) fn database(doing: &'static str, source: DbError) -> StorageError {
        match source {
            DbError::Sqlite(source) => StorageError::sqlite(doing, source),
            source if source.is_unavailable() => StorageError::Unwritable { doing, source },
            DbError::Postgres(ref err) if postgres_disk_full(err) => {
                StorageError::DiskFull { doing }
            }
            source => StorageError::Database { doing, source },
        }
    }

    /// Wraps an SQLite error from ordinary operation, singling out lock timeouts.
    pub(crate) fn sqlite(doing: &'static str, source: rusqlite::Error) -> StorageError {
        match source.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StorageError::Busy { doing }
            }
            Some(ErrorCode::DiskFull) => StorageError::DiskFull { doing },
            // Only the pool's commit hook refuses commits: the database file moved under us.
            Some(ErrorCode::ConstraintViolation)
                if source.sqlite_error().map(|e| e.extended_code)
                    == Some(rusqlite::ffi::SQLITE_CONSTRAINT_COMMITHOOK) =>
            {
                StorageError::Unwritable {
                    doing,
                    source: source.into(),
                }
            }
            Some(
                ErrorCode::ReadOnly
                | ErrorCode::CannotOpen
                | ErrorCode::SystemIoFailure
                | ErrorCode::PermissionDenied,
            ) => StorageError::Unwritable {
                doing,
                source: source.into(),
            },
            _ => StorageError::Database {
                doing,
                source: source.into(),
            },
        }
    }

    /// Wraps an SQLite error met while opening `path`, where a garbage or damaged file is the likely cause.
    pub(crate) fn opening(
        path: &std::path::Path,
        doing: &'static str,
        source: rusqlite::Error,
    ) -> StorageError {
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => StorageError::NotADatabase { path },
            Some(ErrorCode::DatabaseCorrupt) => StorageError::Corrupt { path },
            Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
                StorageError::Open { path, source }
            }
            _ => StorageError::sqlite(doing, source),
        }
    }

    /// Whether retrying the operation later may succeed (the app answers 503 with Retry-After).
    pub fn is_busy(&self) -> bool {
        matches!(self, StorageError::Busy { .. })
    }

    /// Why a write could not be stored although nothing is wrong with what was written, if that is
    /// the case: the app keeps the user's text and asks them to try again.
    pub fn write_refusal(&self) -> Option<WriteRefusal> {
        match self {
            StorageError::Busy { .. } => Some(WriteRefusal::Busy),
            StorageError::DiskFull { .. } => Some(WriteRefusal::DiskFull),
            // An upload is spooled to a temporary file beside the database first.
            StorageError::Spool { source, .. }
                if source.kind() == std::io::ErrorKind::StorageFull =>
            {
                Some(WriteRefusal::DiskFull)
            }
            StorageError::Unwritable { source, .. } if source.is_unavailable() => {
                Some(WriteRefusal::Unreachable)
            }
            StorageError::Unwritable { .. } => Some(WriteRefusal::Unwritable),
            _ => None,
        }
    }
}

/// Whether PostgreSQL refused a write for want of disk space (SQLSTATE 53100).
fn postgres_disk_full(err: &postgres::Error) -> bool {
    err.code() == Some(&postgres::error::SqlState::DISK_FULL)
}

/// Shorthand for building the `map_err` closure of an ordinary operation, on either engine.
pub(crate) fn doing<E: Into<DbError>>(what: &'static str) -> impl FnOnce(E) -> StorageError {
    move |source| StorageError::database(what, source.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sqlite_error(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    #[test]
    fn writes_refused_from_outside_are_told_apart_from_failures() {
        let cases = [
            (rusqlite::ffi::SQLITE_BUSY, Some(WriteRefusal::Busy)),
            (rusqlite::ffi::SQLITE_FULL, Some(WriteRefusal::DiskFull)),
            (
                rusqlite::ffi::SQLITE_READONLY,
                Some(WriteRefusal::Unwritable),
            ),
            (rusqlite::ffi::SQLITE_IOERR, Some(WriteRefusal::Unwritable)),
            (
                rusqlite::ffi::SQLITE_CANTOPEN,
                Some(WriteRefusal::Unwritable),
            ),
            (rusqlite::ffi::SQLITE_CONSTRAINT, None),
            (rusqlite::ffi::SQLITE_CORRUPT, None),
        ];
        for (code, expected) in cases {
            let err = StorageError::sqlite("saving", sqlite_error(code));
            assert_eq!(err.write_refusal(), expected, "code {code}: {err}");
        }
        let spool = |kind| StorageError::Spool {
            doing: "spooling",
            source: std::io::Error::from(kind),
        };
        assert_eq!(
            spool(std::io::ErrorKind::StorageFull).write_refusal(),
            Some(WriteRefusal::DiskFull)
        );
        assert_eq!(
            spool(std::io::ErrorKind::PermissionDenied).write_refusal(),
            None
        );
    }
}
