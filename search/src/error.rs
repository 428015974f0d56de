//! The crate's one error type, and the helpers that attach what was being done to a failure.

use std::path::{Path, PathBuf};

use tantivy::TantivyError;

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

/// Names what was being done when tantivy (or a tantivy reader's I/O) failed.
pub(crate) fn tantivy_error<E: Into<TantivyError>>(
    doing: &'static str,
) -> impl FnOnce(E) -> SearchError {
    move |source| SearchError::Index {
        doing,
        source: source.into(),
    }
}

pub(crate) fn io_error(
    path: &Path,
    doing: &'static str,
) -> impl FnOnce(std::io::Error) -> SearchError {
    let path = path.to_path_buf();
    move |source| SearchError::Io {
        path,
        doing,
        source,
    }
}

/// An error and its causes on one line, for a log: tantivy's own message is in the source.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
