//! The wiki's errors, and the one place they become HTTP statuses.

use gateway::{BodyError, HttpError};
use http::StatusCode;
use search::SearchError;
use storage::{StorageError, WriteRefusal};
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
            WikiError::Storage(err) => match err.write_refusal() {
                Some(refusal) => {
                    let unsaved = Unsaved::from(refusal);
                    let mut http = HttpError::new(
                        unsaved.status(),
                        unsaved.message("Nothing was changed. Go back and try again"),
                    );
                    if let Some(seconds) = unsaved.retry_after() {
                        http = http.with_retry_after(seconds);
                    }
                    http.with_cause(err)
                }
                None => HttpError::internal(err),
            },
            WikiError::Theme(err) => HttpError::internal(err),
            WikiError::Search(err) => HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Search is not available right now. Pages can still be read and edited.",
            )
            .with_cause(err),
        }
    }
}

/// A write the database refused for reasons outside the request (`StorageError::write_refusal`):
/// what the user is told, with which status. The editor shows the same words above the user's kept
/// text; any other write shows them on the error page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsaved(WriteRefusal);

impl From<WriteRefusal> for Unsaved {
    fn from(refusal: WriteRefusal) -> Unsaved {
        Unsaved(refusal)
    }
}

impl Unsaved {
    /// How long a client should wait before trying again; a full disk waits for a person.
    const RETRY_SECONDS: u64 = 5;

    /// 507 for a full disk (RFC 4918's Insufficient Storage), 503 for what passes by itself.
    pub(crate) fn status(self) -> StatusCode {
        match self.0 {
            WriteRefusal::DiskFull => StatusCode::INSUFFICIENT_STORAGE,
            WriteRefusal::Busy | WriteRefusal::Unwritable | WriteRefusal::Unreachable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// `Retry-After` for a refusal that passes by itself.
    pub(crate) fn retry_after(self) -> Option<u64> {
        match self.0 {
            WriteRefusal::DiskFull => None,
            WriteRefusal::Busy | WriteRefusal::Unwritable | WriteRefusal::Unreachable => {
                Some(Self::RETRY_SECONDS)
            }
        }
    }

    /// The message: why, then `next` (what the user does now, without a final period), then when.
    pub(crate) fn message(self, next: &str) -> String {
        match self.0 {
            WriteRefusal::DiskFull => format!(
                "The wiki's disk is full, so nothing could be saved. {next} once an administrator has freed some space; the wiki's log says where."
            ),
            WriteRefusal::Busy => format!(
                "The wiki is busy saving other changes. {next} in {} seconds.",
                Self::RETRY_SECONDS
            ),
            WriteRefusal::Unreachable => format!(
                "The wiki cannot reach its database right now. {next} in {} seconds; if it keeps failing, tell an administrator (the wiki's log says why).",
                Self::RETRY_SECONDS
            ),
            WriteRefusal::Unwritable => format!(
                "The wiki cannot write to its database right now. {next} in {} seconds; if it keeps failing, tell an administrator (the wiki's log says why).",
                Self::RETRY_SECONDS
            ),
        }
    }
}
