//! A FastCGI 1.0 responder: the app behind nginx, Apache (mod_proxy_fcgi,
//! mod_fcgid), lighttpd or anything else that speaks FastCGI, over TCP or a
//! unix socket, bound by quire or inherited on fd 0 from a process manager.
//!
//! - [`record`]: the wire format, without state;
//! - [`serve`] / [`Server`]: the responder — connections, multiplexed
//!   requests, a worker pool (its module docs hold the design);
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
mod server;

pub use client::{
    cgi_params, parse_cgi_response, CgiResponseError, Client, FcgiResponse, RequestParts,
};
pub use record::Pair;
pub use server::{serve, FastCgiConfig, Server, ShutdownHandle};
