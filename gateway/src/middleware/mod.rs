//! Middleware: wrappers that take an app and are themselves an app.
//!
//! A middleware is a struct holding an inner [`App`] that implements [`App`]
//! itself: its `call` may look at or change the request, call the inner app,
//! and look at or change the response. Because the result is again an app,
//! wrappers nest like WSGI middleware or tower layers, and an adapter cannot
//! tell a wrapped app from a bare one. Each concern lives in its own module:
//!
//! - [`TrustProxies`]: the client's address and scheme behind a trusted
//!   reverse proxy;
//! - [`LogRequests`]: one log line per request, in a span that the app's own
//!   log lines fall into;
//! - [`CatchErrors`]: panics become 500 pages, causes carried by error
//!   responses ([`crate::ErrorReport`]) are logged, and in debug mode shown;
//! - [`SecurityHeaders`]: a strict Content-Security-Policy, `nosniff`,
//!   framing and referrer policies, HSTS over https;
//! - [`Sessions`]: a [`crate::session::Session`] per request, kept in an
//!   encrypted cookie;
//! - [`Csrf`]: state-changing requests must carry the session's
//!   [`CsrfToken`];
//! - [`Gzip`]: compresses text-like responses for clients that accept it;
//! - [`ConditionalGet`]: ETags and 304 answers.
//!
//! # Order
//!
//! The stack is written down once, in [`stack`]; outermost first:
//!
//! ```text
//! TrustProxies → LogRequests → SecurityHeaders → CatchErrors → Sessions → Csrf → Gzip → ConditionalGet → app
//! ```
//!
//! - [`TrustProxies`] is outermost: every layer inside asks who the client
//!   is and whether it came over https (the log line, HSTS, the session
//!   cookie's `Secure` flag, the app's throttling), and all must get the
//!   same answer. It only reads headers, so nothing it does needs logging.
//! - [`LogRequests`] comes next so that the status it logs is the one the
//!   client gets (including a 500 made from a panic, a 403 from [`Csrf`]),
//!   its timing covers all the other layers, and every log line below it
//!   (an error chain, a panic, an ignored cookie) carries the request's
//!   method and path from its span.
//! - [`SecurityHeaders`] comes next, outside [`CatchErrors`], so that every
//!   response gets the headers: error pages and panic pages too (an error
//!   page that echoes input is where a missing CSP hurts most).
//! - [`CatchErrors`] wraps everything that runs app code, so a panic in the
//!   app or in any layer inside it still becomes a page rather than a
//!   dropped connection; the cause of a 500 from [`Sessions`] (a session too
//!   large for a cookie) or of a 403 from [`Csrf`] is logged by it.
//! - [`Sessions`] is outside [`Csrf`], which keeps its token in the session;
//!   a session the app or [`Csrf`] changed is written back on every response,
//!   a 304 included. It is outside [`Gzip`] and [`ConditionalGet`] so that
//!   neither sees `Set-Cookie`, and the ETag depends on the page only.
//! - [`Csrf`] refuses a forged request before anything inside it runs (the app
//!   may only draw the refusal, from a `GET`: [`CsrfRefused`]); it is outside
//!   [`Gzip`] because it looks at requests only.
//! - [`Gzip`] transforms the finished response; error pages made outside it
//!   are small and go uncompressed. It sits outside [`ConditionalGet`] so
//!   the ETag is taken from the page's bytes, the same for the compressed
//!   and plain variants (it is weak, and gzip keeps it weak), and a 304 is
//!   never compressed.
//! - [`ConditionalGet`] is innermost: it needs the app's own body and its
//!   `Last-Modified`.
//!
//! ```
//! use std::sync::Arc;
//! use gateway::{middleware::{self, StackConfig}, session::SessionKeys, testing::TestClient, Request, Response};
//!
//! let app = |_request: Request| -> Response { panic!("a bug") };
//! let keys = Arc::new(SessionKeys::generate().unwrap());
//! let client = TestClient::new(middleware::stack(app, &StackConfig::new(keys)).unwrap());
//! let response = client.get("/");
//! assert_eq!(response.status, 500);
//! assert!(!response.text().contains("a bug"));
//! assert!(response.header("content-security-policy").is_some());
//! ```

mod compression;
mod conditional;
mod csrf;
mod errors;
mod logging;
mod proxies;
mod security;
mod sessions;

pub use self::compression::Gzip;
pub use self::conditional::{content_hash, etag, ConditionalGet};
pub use self::csrf::{
    BearerPassed, Csrf, CsrfRefused, CsrfToken, RefusalDrawn, CSRF_FIELD, CSRF_HEADER,
    MULTIPART_TOKEN_WINDOW,
};
pub use self::errors::CatchErrors;
pub use self::logging::LogRequests;
pub use self::proxies::TrustProxies;
pub use self::security::{SecurityHeaders, DEFAULT_CSP};
pub use self::sessions::{Sessions, DEFAULT_COOKIE_NAME, DEFAULT_MAX_AGE};

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::proxy::TrustedProxies;
use crate::session::{SessionError, SessionKeys};
use crate::App;

/// What [`stack`] needs. Build it with [`StackConfig::new`] and change the
/// fields that differ: `StackConfig { debug: true, ..StackConfig::new(keys) }`.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// Show error details to the client (see [`CatchErrors`]). Never where
    /// others can reach the server: details can reveal paths and data.
    pub debug: bool,
    /// The keys that seal session cookies.
    pub session_keys: Arc<SessionKeys>,
    /// The session cookie's name ([`DEFAULT_COOKIE_NAME`]).
    pub cookie_name: String,
    /// How long a session lives after its last change ([`DEFAULT_MAX_AGE`]).
    pub session_max_age: Duration,
    /// The Content-Security-Policy; `None` is [`DEFAULT_CSP`].
    pub content_security_policy: Option<String>,
    /// The reverse proxies whose forwarding headers are believed ([`TrustProxies`]); none by
    /// default.
    pub trusted_proxies: TrustedProxies,
    /// The path prefix under which an `Authorization: Bearer` header stands in for the CSRF token
    /// ([`Csrf::bearer_paths`]); none by default.
    pub bearer_paths: Option<String>,
}

impl StackConfig {
    /// Defaults, with sessions sealed by `session_keys`.
    pub fn new(session_keys: Arc<SessionKeys>) -> Self {
        StackConfig {
            debug: false,
            session_keys,
            cookie_name: DEFAULT_COOKIE_NAME.to_owned(),
            session_max_age: DEFAULT_MAX_AGE,
            content_security_policy: None,
            trusted_proxies: TrustedProxies::default(),
            bearer_paths: None,
        }
    }
}

/// Why [`stack`] refused its configuration.
#[derive(Debug, Error)]
pub enum StackError {
    /// A session setting is wrong (the cookie name).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The Content-Security-Policy cannot be a header value.
    #[error("the content security policy {0:?} cannot be sent as a header (no line breaks or control characters)")]
    ContentSecurityPolicy(String),
}

/// Wraps `app` in the whole stack, in the order the module docs explain:
/// [`TrustProxies`] → [`LogRequests`] → [`SecurityHeaders`] → [`CatchErrors`] → [`Sessions`] →
/// [`Csrf`] → [`Gzip`] → [`ConditionalGet`] → `app`.
pub fn stack<A: App>(app: A, config: &StackConfig) -> Result<impl App, StackError> {
    let inner = Gzip::new(ConditionalGet::new(app));
    let csrf = match &config.bearer_paths {
        Some(prefix) => Csrf::new(inner).bearer_paths(prefix),
        None => Csrf::new(inner),
    };
    let sessions = Sessions::new(csrf, Arc::clone(&config.session_keys))
        .cookie_name(&config.cookie_name)?
        .max_age(config.session_max_age);
    let headers = SecurityHeaders::new(CatchErrors::new(sessions).debug(config.debug));
    let headers = match &config.content_security_policy {
        None => headers,
        Some(policy) => headers
            .content_security_policy(policy)
            .ok_or_else(|| StackError::ContentSecurityPolicy(policy.clone()))?,
    };
    Ok(TrustProxies::new(
        LogRequests::new(headers),
        config.trusted_proxies.clone(),
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::error::Error;
    use std::fmt;
    use std::io::{self, Read, Write};
    use std::sync::{Arc, Mutex};

    use http::{header, HeaderValue, StatusCode};

    use super::*;
    use crate::session::SessionKeys;
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

    fn config(debug: bool) -> StackConfig {
        StackConfig {
            debug,
            ..StackConfig::new(Arc::new(SessionKeys::generate().unwrap()))
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
    fn the_stack_compresses_logs_and_catches() {
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
        let client = TestClient::new(stack(app, &config(false)).unwrap());
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
    fn the_whole_stack_guards_forms_and_heads_every_response() {
        let app = |request: Request| -> Response {
            let token = request.extensions().get::<CsrfToken>().unwrap().value();
            let mut response = Response::new(format!("{token} {}", "text ".repeat(400)).into());
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            response
        };
        let keys = Arc::new(SessionKeys::generate().unwrap());
        let client =
            TestClient::new(stack(app, &StackConfig::new(keys)).unwrap()).with_cookie_jar();
        let gzip = |request: TestRequest| request.with_header("accept-encoding", "gzip");
        let (responses, logs) = capture_logs(|| {
            let first = client.send(gzip(TestRequest::get("/")));
            let etag = first.header("etag").unwrap().to_owned();
            let again = client.send(gzip(
                TestRequest::get("/").with_header("if-none-match", &etag),
            ));
            let forged = client.post_form("/", &[("csrf_token", "forged")]);
            [first, again, forged]
        });
        let [first, again, forged] = responses;
        assert_eq!(first.header("content-encoding"), Some("gzip"));
        assert!(
            first.header("set-cookie").is_some(),
            "the token made a session"
        );
        assert!(first.header("etag").unwrap().starts_with("W/"));
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert_eq!(again.header("content-encoding"), None);
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        for response in [&first, &again, &forged] {
            assert!(response.header("content-security-policy").is_some());
        }
        assert!(logs.contains("status=403"), "{logs}");
        assert!(logs.contains("missing or wrong CSRF token"), "{logs}");
        assert!(
            !logs.contains(&client.cookie("quire_session").unwrap()),
            "{logs}"
        );
    }

    #[test]
    fn the_stack_shows_details_only_in_debug_mode() {
        let app = |_: Request| -> Response { panic!("the <detail>") };
        let quiet = TestClient::new(stack(app, &config(false)).unwrap()).get("/");
        assert!(!quiet.text().contains("detail"), "{}", quiet.text());
        let loud = TestClient::new(stack(app, &config(true)).unwrap()).get("/");
        assert!(
            loud.text().contains("the &lt;detail&gt;"),
            "{}",
            loud.text()
        );
    }
}
