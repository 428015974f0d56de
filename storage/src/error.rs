//! The one error type of the crate.
//!
//! Every SQLite error is wrapped with what was being done, so a log line says "while saving a revision"
//! rather than a bare "database is locked". Conditions a caller reacts to differently get their own
//! variant: [`StorageError::Busy`] (answer 503 and let the client retry), the refusals at open time
//! (tell the operator how to fix the setup), and [`StorageError::UnknownFormat`] (data from a newer build).

use std::path::PathBuf;

use rusqlite::ErrorCode;

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
        "the database at {path} is corrupt; restore it from a backup (try `sqlite3 {path} .recover` \
         to salvage what is left)"
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

    /// Any other SQLite error.
    #[error("database error while {doing}")]
    Sqlite {
        /// What was being done.
        doing: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
}

impl StorageError {
    /// Wraps an SQLite error from ordinary operation, singling out lock timeouts.
    pub(crate) fn sqlite(doing: &'static str, source: rusqlite::Error) -> StorageError {
        match source.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                StorageError::Busy { doing }
            }
            _ => StorageError::Sqlite { doing, source },
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
}

/// Shorthand for building the `map_err` closure of an ordinary operation.
pub(crate) fn doing(what: &'static str) -> impl FnOnce(rusqlite::Error) -> StorageError {
    move |source| StorageError::sqlite(what, source)
}
