//! Middleware: wrappers that take an app and are themselves an app.
//!
//! A middleware is a struct holding an inner [`App`] that implements [`App`]
//! itself: its `call` may look at or change the request, call the inner app,
//! and look at or change the response. Because the result is again an app,
//! wrappers nest like WSGI middleware or tower layers, and an adapter cannot
//! tell a wrapped app from a bare one. Each concern lives in its own module:
//!
//! - [`LogRequests`]: one log line per request, in a span that the app's own
//!   log lines fall into;
//! - [`CatchErrors`]: panics become 500 pages, causes carried by error
//!   responses ([`crate::ErrorReport`]) are logged, and in debug mode shown;
//! - [`Gzip`]: compresses text-like responses for clients that accept it.
//!
//! # Order
//!
//! The stack is written down once, in [`standard`]; outermost first:
//!
//! ```text
//! LogRequests → CatchErrors → Gzip → app
//! ```
//!
//! - [`LogRequests`] is outermost so that the status it logs is the one the
//!   client gets (including a 500 made from a panic), its timing covers all
//!   the other layers, and every log line below it (an error chain, a panic)
//!   carries the request's method and path from its span.
//! - [`CatchErrors`] wraps everything that runs app code, so a panic in the app
//!   or in any layer inside it still becomes a page rather than a dropped
//!   connection. It sits outside [`Gzip`] because the debug page replaces a
//!   body, and replacing a body that is already compressed would be wasted work.
//! - [`Gzip`] is innermost: it only transforms the app's finished response.
//!   Error pages made by the layers outside it are small and go uncompressed.
//!
//! ```
//! use gateway::{middleware, testing::TestClient, Request, Response};
//!
//! let app = |_request: Request| -> Response { panic!("a bug") };
//! let client = TestClient::new(middleware::standard(app, false));
//! let response = client.get("/");
//! assert_eq!(response.status, 500);
//! assert!(!response.text().contains("a bug"));
//! ```

mod compression;
mod errors;
mod logging;

pub use self::compression::Gzip;
pub use self::errors::CatchErrors;
pub use self::logging::LogRequests;

use crate::App;

/// Wraps `app` in the standard stack: [`LogRequests`] → [`CatchErrors`]
/// (showing error details only when `debug` is true) → [`Gzip`] → `app`.
///
/// `debug` must stay off wherever people other than the developer can reach
/// the server: error details can reveal paths, queries and data.
pub fn standard<A: App>(app: A, debug: bool) -> impl App {
    LogRequests::new(CatchErrors::new(Gzip::new(app)).debug(debug))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::error::Error;
    use std::fmt;
    use std::io::{self, Read, Write};
    use std::sync::{Arc, Mutex};

    use http::{header, HeaderValue, StatusCode};

    use super::*;
    use crate::testing::{TestClient, TestRequest};
    use crate::{HttpError, IntoResponse, Request, Response};

    /// Runs `f` with a subscriber that records every log line (no colours,
    /// no timestamps), and returns what `f` returned and what was logged.
    pub(crate) fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .without_time()
            .with_writer(move || Captured(Arc::clone(&writer)))
            .finish();
        // Callsites cache whether anyone is interested in them; a test on
        // another thread that hit one first with no subscriber may have
        // cached "never". Rebuilding under this subscriber makes the capture
        // independent of which tests ran before.
        let result = tracing::subscriber::with_default(subscriber, || {
            tracing::callsite::rebuild_interest_cache();
            f()
        });
        let logs = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        (result, logs)
    }

    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// An error with a context and a source, as an app would build one.
    #[derive(Debug)]
    pub(crate) struct Wrapped(pub &'static str, pub io::Error);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.1)
        }
    }

    #[test]
    fn the_standard_stack_compresses_logs_and_catches() {
        let app = |request: Request| -> Response {
            match request.path_info() {
                b"/big" => {
                    let mut response = Response::new("wiki text ".repeat(500).into());
                    response
                        .headers_mut()
                        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
                    response
                }
                b"/fail" => {
                    HttpError::internal(Wrapped("rendering", io::Error::other("template missing")))
                        .into_response()
                }
                _ => panic!("no route"),
            }
        };
        let client = TestClient::new(standard(app, false));
        let (responses, logs) = capture_logs(|| {
            let gzip = |path: &str| TestRequest::get(path).with_header("accept-encoding", "gzip");
            [
                client.send(gzip("/big")),
                client.send(gzip("/fail")),
                client.send(gzip("/panic")),
            ]
        });
        let [big, fail, panicked] = responses;

        assert_eq!(big.header("content-encoding"), Some("gzip"));
        let mut text = String::new();
        flate2::read::GzDecoder::new(&big.body[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "wiki text ".repeat(500));

        assert_eq!(fail.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!fail.text().contains("template"));
        assert_eq!(panicked.status, StatusCode::INTERNAL_SERVER_ERROR);

        let answered: Vec<&str> = logs
            .lines()
            .filter(|line| line.contains("answered"))
            .collect();
        assert_eq!(answered.len(), 3, "{logs}");
        assert!(answered[0].contains("status=200"), "{logs}");
        assert!(answered[1].contains("status=500"), "{logs}");
        assert!(answered[2].contains("status=500"), "{logs}");
        let failure = logs
            .lines()
            .find(|line| line.contains("template missing"))
            .unwrap();
        assert!(failure.contains("ERROR"), "{failure}");
        assert!(
            failure.contains("request{method=GET path=/fail}"),
            "{failure}"
        );
        let panic = logs.lines().find(|line| line.contains("no route")).unwrap();
        assert!(panic.contains("request{method=GET path=/panic}"), "{panic}");
    }

    #[test]
    fn the_standard_stack_shows_details_only_in_debug_mode() {
        let app = |_: Request| -> Response { panic!("the <detail>") };
        let quiet = TestClient::new(standard(app, false)).get("/");
        assert!(!quiet.text().contains("detail"), "{}", quiet.text());
        let loud = TestClient::new(standard(app, true)).get("/");
        assert!(
            loud.text().contains("the &lt;detail&gt;"),
            "{}",
            loud.text()
        );
    }
}
