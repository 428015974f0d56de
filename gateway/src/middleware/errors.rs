//! Panics and error responses: logged for the operator, hidden from the client.

use std::panic::{self, AssertUnwindSafe};

use http::{header, HeaderValue, Method, StatusCode};

use crate::app::panic_message;
use crate::error::{escape_html, plain_error_page};
use crate::{App, ErrorReport, Request, Response};

/// Turns panics into 500 pages and logs the cause of every error response.
///
/// An app reports a failure by returning a response that carries an
/// [`ErrorReport`] (which [`crate::HttpError`] does). This middleware logs
/// that cause — `error` level for a 5xx, `debug` for anything else, since a
/// 4xx is the client's doing — and catches a panic, logging its message with
/// the request's method and path and answering a plain 500.
///
/// The client never sees a cause or a panic message unless debug mode is on.
/// Then, like Python's `cgitb` when enabled, a 5xx body is replaced by a page
/// showing the status, the error chain and the panic message. Turn it on only
/// where nobody else can reach the server.
///
/// ```
/// use gateway::{middleware::CatchErrors, testing::TestClient, HttpError, IntoResponse, Request, Response};
///
/// let app = |_request: Request| -> Response {
///     HttpError::internal("the database is locked").into_response()
/// };
/// let hidden = TestClient::new(CatchErrors::new(app)).get("/");
/// assert_eq!(hidden.status, 500);
/// assert!(!hidden.text().contains("database"));
///
/// let shown = TestClient::new(CatchErrors::new(app).debug(true)).get("/");
/// assert!(shown.text().contains("the database is locked"));
/// ```
#[derive(Debug, Clone)]
pub struct CatchErrors<A> {
    inner: A,
    debug: bool,
}

impl<A> CatchErrors<A> {
    /// Wraps `inner`, with debug mode off.
    pub fn new(inner: A) -> Self {
        CatchErrors {
            inner,
            debug: false,
        }
    }

    /// Shows error details to the client when `debug` is true.
    pub fn debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }
}

impl<A: App> App for CatchErrors<A> {
    fn call(&self, request: Request) -> Response {
        let method = request.method().clone();
        // The path, not the query: a query may hold values nobody should log.
        let path = request.uri().path().to_owned();
        match panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(response) => self.report(response, &method, &path),
            Err(payload) => {
                let message = panic_message(&*payload);
                tracing::error!(%method, path = %path, panic = %message, "request handler panicked");
                let response = plain_error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong on the server. The error has been logged.",
                );
                if self.debug {
                    debug_page(response, None, Some(&message))
                } else {
                    response
                }
            }
        }
    }
}

impl<A> CatchErrors<A> {
    /// Logs the cause a response carries, and shows it in debug mode.
    fn report(&self, response: Response, method: &Method, path: &str) -> Response {
        let status = response.status();
        let Some(report) = response.extensions().get::<ErrorReport>().cloned() else {
            return response;
        };
        let status_code = status.as_u16();
        if status.is_server_error() {
            tracing::error!(%method, path = %path, status = status_code, error = %report, "request failed");
        } else {
            tracing::debug!(%method, path = %path, status = status_code, error = %report, "request refused");
        }
        if self.debug && status.is_server_error() {
            debug_page(response, Some(&report), None)
        } else {
            response
        }
    }
}

/// Replaces the body of `response` with a page showing what went wrong. The
/// status, the other headers and the extensions stay, so outer layers still
/// see the same response.
fn debug_page(response: Response, report: Option<&ErrorReport>, panic: Option<&str>) -> Response {
    let status = response.status();
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut details = String::new();
    if let Some(report) = report {
        details.push_str("<h2>Error chain</h2>\n<ol>\n");
        for cause in report.chain() {
            details.push_str(&format!("<li><pre>{}</pre></li>\n", escape_html(&cause)));
        }
        details.push_str("</ol>\n");
    }
    if let Some(message) = panic {
        details.push_str(&format!(
            "<h2>Panic</h2>\n<pre>{}</pre>\n",
            escape_html(message)
        ));
    }
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code} {reason}</title></head>\n<body><h1>{code} {reason}</h1>\n<p>Debug mode is on, so this page shows what went wrong. Turn it off wherever others can reach the server.</p>\n{details}</body></html>\n",
        code = status.as_u16(),
    );
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts
        .headers
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Response::from_parts(parts, body.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::tests::capture_logs;
    use crate::testing::TestClient;
    use crate::{BodyError, HttpError, IntoResponse};

    fn failing(_: Request) -> Response {
        let cause = std::io::Error::other("disk <full>");
        HttpError::internal(crate::middleware::tests::Wrapped("saving the page", cause))
            .into_response()
    }

    fn panicking(_: Request) -> Response {
        panic!("index out of <bounds>")
    }

    #[test]
    fn a_panic_becomes_a_500_page_without_details() {
        let (response, logs) =
            capture_logs(|| TestClient::new(CatchErrors::new(panicking)).get("/Page?secret=1"));
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            response.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(!response.text().contains("bounds"), "{}", response.text());
        assert!(logs.contains("ERROR"), "{logs}");
        assert!(logs.contains("index out of <bounds>"), "{logs}");
        assert!(logs.contains("method=GET"), "{logs}");
        assert!(logs.contains("path=/Page"), "{logs}");
        assert!(!logs.contains("secret"), "{logs}");
    }

    #[test]
    fn in_debug_mode_a_panic_shows_its_message_escaped() {
        let response = TestClient::new(CatchErrors::new(panicking).debug(true)).get("/");
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            response.text().contains("index out of &lt;bounds&gt;"),
            "{}",
            response.text()
        );
        assert_eq!(response.header("cache-control"), Some("no-store"));
    }

    #[test]
    fn the_cause_of_a_5xx_is_logged_as_an_error_and_hidden() {
        let (response, logs) = capture_logs(|| TestClient::new(CatchErrors::new(failing)).get("/"));
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!response.text().contains("disk"), "{}", response.text());
        assert!(logs.contains("ERROR"), "{logs}");
        assert!(logs.contains("saving the page: disk <full>"), "{logs}");
        assert!(logs.contains("status=500"), "{logs}");
    }

    #[test]
    fn in_debug_mode_a_5xx_shows_the_whole_chain_escaped() {
        let response = TestClient::new(CatchErrors::new(failing).debug(true)).get("/");
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        let text = response.text();
        assert!(
            text.contains("<li><pre>saving the page</pre></li>"),
            "{text}"
        );
        assert!(
            text.contains("<li><pre>disk &lt;full&gt;</pre></li>"),
            "{text}"
        );
        assert!(!text.contains("<full>"), "{text}");
    }

    #[test]
    fn the_cause_of_a_4xx_is_logged_quietly_and_never_shown() {
        let app = |_: Request| {
            HttpError::from(BodyError::Truncated {
                received: 1,
                declared: 2,
            })
            .into_response()
        };
        let (response, logs) =
            capture_logs(|| TestClient::new(CatchErrors::new(app).debug(true)).get("/"));
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert!(response.text().contains("cut short"), "{}", response.text());
        assert!(
            !response.text().contains("ended after"),
            "{}",
            response.text()
        );
        assert!(logs.contains("DEBUG"), "{logs}");
        assert!(!logs.contains("ERROR"), "{logs}");
        assert!(
            logs.contains("request body ended after 1 of 2 bytes"),
            "{logs}"
        );
    }

    #[test]
    fn a_good_response_passes_untouched() {
        let app = |_: Request| Response::new("fine".into());
        let (response, logs) =
            capture_logs(|| TestClient::new(CatchErrors::new(app).debug(true)).get("/"));
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.text(), "fine");
        assert!(logs.is_empty(), "{logs}");
    }

    #[test]
    fn a_5xx_without_a_cause_keeps_its_body_even_in_debug_mode() {
        let app = |_: Request| {
            let mut response = Response::new("down for maintenance".into());
            *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            response
        };
        let response = TestClient::new(CatchErrors::new(app).debug(true)).get("/");
        assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.text(), "down for maintenance");
    }
}
