//! The wiki's errors, and the one place they become HTTP statuses.

use gateway::{BodyError, HttpError};
use http::StatusCode;
use search::SearchError;
use storage::StorageError;
use themes::ThemeError;
use thiserror::Error;

/// Anything a controller can fail with.
#[derive(Debug, Error)]
pub enum WikiError {
    /// A failure that already knows its status (bad input, not found…).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The database failed.
    #[error("storage failed")]
    Storage(#[from] StorageError),
    /// The search index failed.
    #[error("search failed")]
    Search(#[from] SearchError),
    /// A template failed to render.
    #[error("a template failed to render")]
    Theme(#[from] ThemeError),
}

impl From<BodyError> for WikiError {
    fn from(err: BodyError) -> Self {
        WikiError::Http(err.into())
    }
}

impl From<gateway::form::FormError> for WikiError {
    fn from(err: gateway::form::FormError) -> Self {
        WikiError::Http(err.into())
    }
}

impl WikiError {
    /// The status and the text a client may see; causes stay for the log.
    pub fn into_http(self) -> HttpError {
        match self {
            WikiError::Http(err) => err,
            WikiError::Storage(err) if err.is_busy() => HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The wiki is busy right now. Please try again in a moment.",
            )
            .with_cause(err),
            WikiError::Storage(err) => HttpError::internal(err),
            WikiError::Theme(err) => HttpError::internal(err),
            WikiError::Search(err) => HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Search is not available right now. Pages can still be read and edited.",
            )
            .with_cause(err),
        }
    }
}
