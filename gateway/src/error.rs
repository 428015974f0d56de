//! Errors as responses: the one conversion from a failure to what a client sees.
//!
//! An [`HttpError`] carries two things kept apart on purpose: the message a
//! client may read, and the cause, which only goes to the log. The cause rides
//! along in the response's extensions as an [`ErrorReport`], where
//! [`crate::middleware::CatchErrors`] logs it (and shows it in debug mode).

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use http::{header, HeaderValue, StatusCode};

use crate::body::BodyLimit;
use crate::{BodyError, IntoResponse, Response};

/// A failure with the HTTP status it should answer.
#[derive(Debug)]
pub struct HttpError {
    status: StatusCode,
    message: String,
    cause: Option<ErrorReport>,
    retry_after: Option<u64>,
}

impl HttpError {
    /// An error with a status and a message the client may read.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HttpError {
            status,
            message: message.into(),
            cause: None,
            retry_after: None,
        }
    }

    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> Self {
        HttpError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> Self {
        HttpError::new(StatusCode::NOT_FOUND, message)
    }

    /// 405 Method Not Allowed.
    pub fn method_not_allowed() -> Self {
        HttpError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "That method is not allowed here.",
        )
    }

    /// 500 Internal Server Error: the client sees a generic message, the
    /// cause is logged.
    pub fn internal(cause: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on the server. The error has been logged.",
        )
        .with_cause(cause)
    }

    /// Attaches a cause for the log.
    pub fn with_cause(mut self, cause: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        self.cause = Some(ErrorReport::new(cause));
        self
    }

    /// Asks the client to try again after `seconds` (`Retry-After`): for a 503 or 429 that passes.
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// The seconds of `Retry-After`, if the error passes with time.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The status to answer.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message a client may read.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The cause, for the log.
    pub fn cause(&self) -> Option<&ErrorReport> {
        self.cause.as_ref()
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)?;
        if let Some(cause) = &self.cause {
            write!(f, " ({cause})")?;
        }
        Ok(())
    }
}

impl StdError for HttpError {}

impl From<BodyError> for HttpError {
    fn from(err: BodyError) -> Self {
        match err {
            BodyError::TooLarge { limit, which } => {
                let what = match which {
                    BodyLimit::Whole => "a form",
                    BodyLimit::Stream => "a request",
                };
                HttpError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "The request body is larger than this server accepts for {what} ({limit} bytes)."
                    ),
                )
                .with_cause(err)
            }
            BodyError::Truncated { .. } => {
                HttpError::bad_request("The request body was cut short.").with_cause(err)
            }
            BodyError::Io(_) => {
                HttpError::bad_request("The request body could not be read.").with_cause(err)
            }
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut response = plain_error_page(self.status, &self.message);
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(cause);
        }
        response
    }
}

/// A minimal HTML error page; apps with templates render their own and may
/// still attach an [`ErrorReport`].
pub(crate) fn plain_error_page(status: StatusCode, message: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code} {reason}</title></head>\n<body><h1>{code} {reason}</h1>\n<p>{message}</p></body></html>\n",
        code = status.as_u16(),
        message = escape_html(message),
    );
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// `text` escaped for HTML text and quoted attributes (`& < > " '`), by the
/// workspace's one HTML escape, pulldown-cmark's.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    pulldown_cmark_escape::escape_html(&mut out, text).expect("writing to a String cannot fail");
    out
}

/// The cause of a failed response, carried in its extensions for the log.
#[derive(Clone)]
pub struct ErrorReport(Arc<dyn StdError + Send + Sync>);

impl ErrorReport {
    /// Wraps a cause.
    pub fn new(cause: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        ErrorReport(Arc::from(cause.into()))
    }

    /// The cause and every source below it, outermost first.
    pub fn chain(&self) -> Vec<String> {
        let mut chain = vec![self.0.to_string()];
        let mut source = self.0.source();
        while let Some(err) = source {
            chain.push(err.to_string());
            source = err.source();
        }
        chain
    }
}

impl fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.chain().join(": "))
    }
}

impl fmt::Debug for ErrorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ErrorReport").field(&self.chain()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_that_passes_says_when_to_retry() {
        let response = HttpError::new(StatusCode::SERVICE_UNAVAILABLE, "busy")
            .with_retry_after(5)
            .into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
        let plain = HttpError::bad_request("no").into_response();
        assert!(!plain.headers().contains_key(header::RETRY_AFTER));
    }
}
