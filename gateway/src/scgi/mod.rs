//! An SCGI server: the app behind nginx (`scgi_pass`), Apache
//! (mod_proxy_scgi) or lighttpd (mod_scgi), over TCP or a unix socket,
//! bound by quire or inherited on fd 0.
//!
//! SCGI is CGI over a socket, one request per connection: the web server
//! sends the meta-variables as a netstring ([`head`]), then exactly
//! `CONTENT_LENGTH` bytes of body; the app answers with a CGI response
//! (`Status:`, headers, blank line, body) and closes the connection. The
//! variables become a request through [`crate::environ`], as for CGI and
//! FastCGI; connections, workers, timeouts and shutdown are
//! [`crate::server`]'s, shared with FastCGI.
//!
//! Limits, so memory stays bounded whatever a peer sends:
//!
//! - a head longer than [`head::MAX_HEAD_BYTES`] is answered 431 before any
//!   of it is read; a malformed one 400;
//! - the body is never buffered: once the head is read the request goes to
//!   a worker, and the app reads the body from the connection as it
//!   arrives (so a worker waits on a slow upload, at most
//!   [`ServerConfig::idle_timeout`] per read);
//! - a `CONTENT_LENGTH` over [`crate::GatewayConfig::max_stream_bytes`] is
//!   answered 413 without the body being read (some of it is read and
//!   thrown away, so the web server gets to read the answer; the same for
//!   what an app leaves unread);
//! - a body shorter than declared, or a peer silent for longer than
//!   [`ServerConfig::idle_timeout`], fails the app's read (a 400 if the app
//!   answers at all).
//!
//! ```no_run
//! use std::sync::Arc;
//! use gateway::{scgi::{serve, ScgiConfig}, listener::Listener, Request, Response};
//!
//! let app = |_request: Request| -> Response { http::Response::new("hello".into()) };
//! let listener = Listener::bind("unix:/run/quire/scgi.sock")?;
//! serve(listener, Arc::new(app), ScgiConfig::default())?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod client;
pub mod head;

use std::io::{self, BufReader, BufWriter, Read};
use std::net::Shutdown;
use std::sync::Arc;

use http::StatusCode;

pub use crate::server::{Server, ShutdownHandle};
pub use client::Client;
pub use head::{encode_head, Head, HeadError};

use crate::cgi::{write_response, CgiError, SharedStdin};
use crate::listener::{Listener, Stream};
use crate::server::{call_app, is_timeout, refuse_bad_request, Accepted, Protocol, ServerConfig};
use crate::{App, BodyError, BodyLimit, HttpError, IntoResponse, Response};

/// Settings of the SCGI adapter: those of every socket adapter.
pub type ScgiConfig = ServerConfig;

/// Serves `app` over SCGI on `listener` until the server is shut down
/// (which only a [`ShutdownHandle`] can do, so in practice until the process
/// ends) or the listener fails for good. [`Server::start`] with
/// [`Protocol::Scgi`] does the same in the background.
pub fn serve(listener: Listener, app: Arc<dyn App>, config: ScgiConfig) -> io::Result<()> {
    crate::server::serve(listener, Protocol::Scgi, app, config)
}

/// The most body bytes read and thrown away after refusing a body as too
/// large, so that closing the connection does not reset it under the web
/// server before it has read the answer.
const MAX_DISCARD_BYTES: u64 = 1 << 20;

/// Serves the one request of an accepted connection.
pub(crate) fn serve_connection(accepted: Accepted, reader: impl Read + Send + 'static) {
    let mut reader = BufReader::with_capacity(16 * 1024, reader);
    let id = accepted.id;
    let head = match Head::read_from(&mut reader, head::MAX_HEAD_BYTES) {
        Ok(head) => head,
        // Nothing sent: a health check, or a shutdown's wake-up.
        Err(HeadError::Closed) => return,
        Err(HeadError::Io(err)) => {
            let what = if is_timeout(&err) {
                "stalled"
            } else {
                "failed"
            };
            tracing::warn!(connection = id, error = %err, "closing SCGI connection: the request head {what}");
            return;
        }
        Err(err @ HeadError::TooLarge { .. }) => {
            tracing::warn!(connection = id, error = %err, "refusing an SCGI request");
            let response = HttpError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "The request headers are too large.",
            )
            .into_response();
            return answer(&accepted.stream, response, false);
        }
        Err(err) => {
            tracing::warn!(connection = id, error = %err, "refusing an SCGI request");
            return answer(&accepted.stream, refuse_bad_request(err), false);
        }
    };
    let declared = head.content_length();
    let limit = accepted.context.config.gateway.body_limits().stream;
    if declared > limit {
        tracing::warn!(
            connection = id,
            declared,
            limit,
            "refusing an SCGI request body over the limit"
        );
        let response = BodyError::TooLarge {
            limit,
            which: BodyLimit::Stream,
        };
        send(
            &accepted.stream,
            HttpError::from(response).into_response(),
            false,
        );
        let _ = accepted.stream.shutdown(Shutdown::Write);
        let _ = io::copy(
            &mut reader.take(declared.min(MAX_DISCARD_BYTES)),
            &mut io::sink(),
        );
        let _ = accepted.stream.shutdown(Shutdown::Both);
        return;
    }
    let Accepted {
        stream,
        context,
        tasks,
        slot,
        ..
    } = accepted;
    // The body is read by the app from the connection as it arrives; the
    // adapter keeps a handle to drain what the app left unread.
    let body = SharedStdin::new(reader.take(declared));
    let task = Box::new(move || {
        let (response, head_only) = call_app(head.into_pairs(), body.clone(), &context);
        // What the app left unread is read first (some of it), so that a
        // body cut short is told from one the app did not need.
        body.drain_unread(declared, MAX_DISCARD_BYTES);
        if body.cut_short(declared) {
            // A peer that stalled or cut its body reads no answer.
            tracing::warn!(
                connection = id,
                declared,
                "closing SCGI connection: the body ended early, stalled or failed"
            );
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        send(&stream, response, head_only);
        // A peer still sending a body nobody reads would be reset by the
        // close, and might lose the answer: stop writing, read some more.
        let _ = stream.shutdown(Shutdown::Write);
        body.drain_unread(declared, MAX_DISCARD_BYTES);
        let _ = stream.shutdown(Shutdown::Both);
        // The slot is free once the response is out.
        drop(slot);
    });
    if tasks.send(task).is_err() {
        tracing::debug!(
            connection = id,
            "the server is stopping; SCGI request dropped"
        );
    }
}

/// Sends a response and closes the connection.
fn answer(stream: &Stream, response: Response, head_only: bool) {
    send(stream, response, head_only);
    let _ = stream.shutdown(Shutdown::Both);
}

/// Sends a response, logging why it could not be sent in full.
fn send(stream: &Stream, response: Response, head_only: bool) {
    let result = stream
        .try_clone()
        .map_err(CgiError::Write)
        .and_then(|stream| {
            let mut out = BufWriter::with_capacity(64 * 1024, stream);
            write_response(response, head_only, &mut out)
        });
    match result {
        Ok(()) => {}
        Err(CgiError::Write(err)) if is_timeout(&err) => {
            tracing::warn!(error = %err, "SCGI peer stopped reading its response");
        }
        Err(CgiError::Write(err)) => {
            tracing::debug!(error = %err, "the SCGI peer went away before the response was sent");
        }
        // The status is already sent; all that can be done is to end the
        // response early.
        Err(err @ CgiError::Body(_)) => tracing::error!(error = %err, "SCGI response failed"),
    }
}
