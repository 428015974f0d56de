//! A FastCGI 1.0 responder: the app behind nginx, Apache (mod_proxy_fcgi,
//! mod_fcgid), lighttpd or anything else that speaks FastCGI, over TCP or a
//! unix socket, bound by quire or inherited on fd 0 from a process manager.
//!
//! - [`record`]: the wire format, without state;
//! - [`serve`]: the responder — multiplexed requests on each connection
//!   (the `responder` module docs hold the design), on the accept loop,
//!   worker pool, timeouts and graceful shutdown that [`crate::server`]
//!   shares with SCGI;
//! - [`Client`]: a small FastCGI client, as a web server would talk to the
//!   responder, for tests and the end-to-end suite.
//!
//! The CGI meta-variables in `FCGI_PARAMS` are turned into a request by
//! [`crate::environ`], as for CGI; this module only moves bytes. Roles other
//! than responder (authorizer, filter) are refused with `FCGI_UNKNOWN_ROLE`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use gateway::{fastcgi::{serve, FastCgiConfig}, listener::Listener, Request, Response};
//!
//! let app = |_request: Request| -> Response { http::Response::new("hello".into()) };
//! let listener = Listener::bind("unix:/run/quire/fcgi.sock")?;
//! serve(listener, Arc::new(app), FastCgiConfig::default())?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod client;
pub mod record;
mod responder;
mod stdin;

use std::io;
use std::sync::Arc;

pub use client::{
    cgi_params, parse_cgi_response, CgiResponseError, Client, FcgiResponse, RequestParts,
};
pub use record::Pair;
pub(crate) use responder::serve_connection;

pub use crate::server::{Server, ShutdownHandle};
use crate::{listener::Listener, server::Protocol, App};

/// Settings of the FastCGI adapter: those of every socket adapter.
pub type FastCgiConfig = crate::server::ServerConfig;

/// Serves `app` over FastCGI on `listener` until the server is shut down
/// (which only a [`ShutdownHandle`] can do, so in practice until the process
/// ends) or the listener fails for good. [`Server::start`] with
/// [`Protocol::FastCgi`] does the same in the background.
pub fn serve(listener: Listener, app: Arc<dyn App>, config: FastCgiConfig) -> io::Result<()> {
    crate::server::serve(listener, Protocol::FastCgi, app, config)
}
