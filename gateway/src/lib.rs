//! quire's gateway interface: what WSGI is to Python web apps, for a Rust one.
//!
//! An application implements one small synchronous trait, [`App`]: it takes a
//! [`Request`] and always returns a [`Response`]; failures become responses
//! through one conversion, [`IntoResponse`] (an [`HttpError`] is the usual
//! one). Everything between a web server and that trait lives here:
//!
//! - [`middleware`]: wrappers that take an app and are themselves an app —
//!   request logging, security headers, error pages, sessions, CSRF checks,
//!   gzip and conditional GET (ETags, 304) — and [`middleware::stack`], the
//!   one function that stacks them in order and says why;
//! - adapters that translate one protocol to the trait and back: [`cgi`]
//!   (RFC 3875), [`fastcgi`] (a FastCGI 1.0 responder, and a client),
//!   [`scgi`] (a server, and a client), [`http`] (a standalone HTTP/1.1
//!   server on actix-web) and [`testing`] (an in-process client for tests,
//!   with a cookie jar that follows sessions);
//! - [`server`]: what the socket adapters (FastCGI, SCGI) share — accept
//!   loop, connection cap, worker pool, timeouts, graceful shutdown, and
//!   telling the two protocols apart on a socket inherited on fd 0;
//!   [`listener`] binds those sockets (`host:port`, `unix:/path`) or takes
//!   the inherited one;
//! - [`environ`]: the CGI meta-variables that CGI, FastCGI and SCGI share,
//!   turned into a [`Request`], and a response turned back into a CGI header
//!   block;
//! - [`proxy`]: the client and scheme behind a reverse proxy, from `X-Forwarded-For`,
//!   `X-Forwarded-Proto` and `Forwarded`, believed only from the proxies an operator trusts;
//! - what apps and adapters share: [`body`] (a request body, streamed, that
//!   refuses to go past [`GatewayConfig::max_body_bytes`] when read whole and
//!   [`GatewayConfig::max_stream_bytes`] when read as a stream), [`form`] (urlencoded forms
//!   and queries, refusing broken UTF-8), [`cookies`] (reading `Cookie`,
//!   writing `Set-Cookie`), [`session`] (sessions sealed into the client's
//!   cookie, and their CSRF tokens) and [`uri`] (the percent-encoding sets of
//!   a request target);
//! - what file uploads and downloads need: [`multipart`] (a streaming
//!   `multipart/form-data` reader with bounded memory), [`range`] (one
//!   `Range: bytes=` with `If-Range`, the 206 and 416 headers) and
//!   [`disposition`] (`Content-Disposition` with an RFC 8187 file name).
//!
//! The crate deliberately knows nothing about what the application does: no
//! routing, no templates, no storage. Another application could use it as is.
//!
//! ```
//! use gateway::{App, Request, Response, testing::TestClient};
//!
//! let hello = |request: Request| -> Response {
//!     let body = format!("hello from {}", request.mount());
//!     http::Response::new(body.into())
//! };
//! let client = TestClient::new(hello).with_mount("/wiki");
//! assert_eq!(client.get("/").text(), "hello from /wiki");
//! ```

mod app;
pub mod body;
pub mod cgi;
pub mod cookies;
pub mod disposition;
pub mod environ;
mod error;
pub mod fastcgi;
pub mod form;
// Test support: the bodies of the fuzz targets in `fuzz/`, shared with the stable seed replay.
#[doc(hidden)]
pub mod fuzzing;
pub mod http;
pub mod listener;
pub mod middleware;
pub mod multipart;
pub mod proxy;
pub mod range;
mod request;
mod response;
pub mod scgi;
pub mod server;
pub mod session;
pub mod testing;
pub mod uri;

pub use crate::app::{App, IntoResponse};
pub use crate::body::{BodyError, BodyLimit, BodyLimits, RequestBody};
pub use crate::error::{ErrorReport, HttpError};
pub use crate::request::{Environ, Request, Scheme};
pub use crate::response::{Response, ResponseBody};

/// Settings every adapter shares.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// Largest request body an app may read whole into memory
    /// ([`RequestBody::read_to_vec`]: forms), in bytes; reading past it fails
    /// with [`BodyError::TooLarge`], which answers 413.
    pub max_body_bytes: u64,
    /// Largest request body an app may read as a stream (`impl Read for
    /// RequestBody`: uploads), in bytes, and so the most any adapter
    /// accepts; reading past it fails with [`BodyError::TooLarge`]. Adapters
    /// hold only a few chunks of a body at a time, so this bounds time and
    /// disk, not memory. Taken as at least `max_body_bytes`.
    pub max_stream_bytes: u64,
    /// A fixed mount prefix (such as `/wiki`) to use instead of the web
    /// server's `SCRIPT_NAME`, for setups that split `SCRIPT_NAME` and
    /// `PATH_INFO` wrongly. `None` trusts the server.
    pub mount_override: Option<String>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            max_body_bytes: 8 * 1024 * 1024,
            max_stream_bytes: 64 * 1024 * 1024,
            mount_override: None,
        }
    }
}

impl GatewayConfig {
    /// The two body limits, for a [`RequestBody`].
    pub fn body_limits(&self) -> BodyLimits {
        BodyLimits {
            whole: self.max_body_bytes,
            stream: self.max_stream_bytes.max(self.max_body_bytes),
        }
    }
}
