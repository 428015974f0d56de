//! The CGI adapter (RFC 3875): one process per request.
//!
//! The web server starts the program with the request's meta-variables in the
//! environment and its body on stdin, and reads the response from stdout: a
//! header block starting with `Status:`, a blank line, the body. [`run`] does
//! exactly that for an [`App`]; [`respond`] is the same with the environment
//! and the streams passed in, so it can be tested (and reused by anything
//! that speaks CGI over other pipes).
//!
//! What this adapter takes care of, so apps need not:
//!
//! - meta-variables are read as bytes, never assumed UTF-8 (a server puts a
//!   percent-decoded `/%FF` into `PATH_INFO` as a raw byte);
//! - stdin is read for exactly `CONTENT_LENGTH` bytes and never to its end,
//!   because a server may keep the pipe open (Apache's mod_cgid hands over a
//!   connected socket); without `CONTENT_LENGTH` the body is empty;
//! - the body is streamed from stdin as the app reads it, bounded by
//!   [`GatewayConfig::max_body_bytes`] read whole and
//!   [`GatewayConfig::max_stream_bytes`] read as a stream;
//! - `Status:` is always sent, since servers disagree on what a bare
//!   `Location:` means: a redirect, local path or another site's URL, is
//!   always a client redirect with the app's status (RFC 3875 §6.2.3–4); a
//!   local redirect the server follows internally (§6.2.2) is never sent;
//! - a client's `Proxy:` header is dropped (httpoxy), and each
//!   meta-variable is read or ignored as [`crate::environ`] lists;
//! - meta-variables that cannot make a request answer 400, a panic answers
//!   500, and a client that went away (a broken pipe) is not an error.
//!
//! It is not a FastCGI responder (see [`crate::fastcgi`]), and it does not
//! set up logging: that is the binary's job, and logs must go to stderr
//! because stdout is the response.

use std::ffi::OsString;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::sync::{Arc, Mutex, PoisonError};

use http::{Method, StatusCode};
use thiserror::Error;

use crate::environ::{cgi_response_head, CgiRequest};
use crate::error::plain_error_page;
use crate::{App, GatewayConfig, RequestBody, Response, ResponseBody};

/// Why a CGI response could not be sent completely.
///
/// By the time one of these happens the status line may already be out, so
/// there is nothing left to tell the client; the binary logs it and exits
/// with a failure code. A client that disconnected is not among them.
#[derive(Debug, Error)]
pub enum CgiError {
    /// Writing the response to stdout failed.
    #[error("could not write the response to stdout")]
    Write(#[source] io::Error),
    /// The app's streamed response body failed while it was being sent.
    #[error("could not read the response body while sending it")]
    Body(#[source] io::Error),
}

/// Answers the one request of this process: reads the environment and stdin,
/// calls `app`, writes the response to stdout.
///
/// ```no_run
/// use gateway::{cgi, GatewayConfig, Request, Response};
///
/// let app = |_request: Request| -> Response { http::Response::new("hello".into()) };
/// if let Err(err) = cgi::run(&app, &GatewayConfig::default()) {
///     eprintln!("quire: {err}");
///     std::process::exit(1);
/// }
/// ```
pub fn run(app: &dyn App, config: &GatewayConfig) -> Result<(), CgiError> {
    let vars = std::env::vars_os().map(|(name, value)| (os_bytes(name), os_bytes(value)));
    let mut stdout = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    respond(vars, io::stdin(), &mut stdout, app, config)
}

fn os_bytes(text: OsString) -> Vec<u8> {
    text.as_bytes().to_vec()
}

/// Answers one CGI request given its meta-variables, its stdin and its
/// stdout; [`run`] calls this with the real ones.
///
/// `stdin` is read for at most `CONTENT_LENGTH` bytes (and not at all without
/// it). The response is written and `stdout` flushed; a broken pipe on
/// `stdout` means the client left, and is logged at debug level only.
///
/// ```
/// use gateway::{cgi, GatewayConfig, Request, Response};
///
/// let app = |request: Request| -> Response {
///     http::Response::new(format!("you asked for {}", request.uri().path()).into())
/// };
/// let vars = [
///     ("REQUEST_METHOD", "GET"),
///     ("SCRIPT_NAME", "/wiki"),
///     ("PATH_INFO", "/FrontPage"),
/// ];
/// let mut stdout = Vec::new();
/// cgi::respond(vars, std::io::empty(), &mut stdout, &app, &GatewayConfig::default()).unwrap();
/// let output = String::from_utf8(stdout).unwrap();
/// assert!(output.starts_with("Status: 200 OK\r\n"));
/// assert!(output.ends_with("\r\n\r\nyou asked for /wiki/FrontPage"));
/// ```
pub fn respond<I, N, V>(
    vars: I,
    stdin: impl Read + Send + 'static,
    stdout: &mut impl Write,
    app: &dyn App,
    config: &GatewayConfig,
) -> Result<(), CgiError>
where
    I: IntoIterator<Item = (N, V)>,
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let head = match CgiRequest::parse(vars, config) {
        Ok(head) => head,
        Err(err) => {
            tracing::warn!(error = %err, "refusing a CGI request with bad meta-variables");
            let response = plain_error_page(
                StatusCode::BAD_REQUEST,
                "The web server passed this request on in a form the application cannot read.",
            );
            return send(response, false, stdout);
        }
    };
    let is_head = head.head().method == Method::HEAD;
    let declared = head.content_length();
    let stdin = SharedStdin::new(stdin);
    let body = match declared {
        Some(length) => RequestBody::new(stdin.clone(), Some(length), config.body_limits()),
        None => RequestBody::new(io::empty(), Some(0), config.body_limits()),
    };
    let response = crate::app::call_guarded(app, head.into_request(body));
    let sent = send(response, is_head, stdout);
    if let Some(length) = declared {
        stdin.drain_unread(length, DRAIN_LIMIT);
    }
    sent
}

/// How much of a body the app left unread is read and thrown away before
/// exiting; past this, the web server may see a reset connection.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;

/// Stdin shared between the app's body and the adapter, counting what was
/// read, so that what the app left unread can be drained afterwards.
///
/// Why drain: under Apache's mod_cgid, stdin and stdout are one unix
/// socket; a process that exits with unread request bytes in it makes the
/// kernel reset the connection, and Apache loses the end of the response it
/// had not yet read (a 413 page cut short). Reading the rest first lets the
/// response through intact.
pub(crate) struct SharedStdin<R> {
    inner: Arc<Mutex<Counted<R>>>,
}

struct Counted<R> {
    reader: R,
    consumed: u64,
    /// A read failed, or the stream ended (maybe early).
    ended: bool,
}

impl<R> Clone for SharedStdin<R> {
    fn clone(&self) -> Self {
        SharedStdin {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<R: Read> SharedStdin<R> {
    pub(crate) fn new(reader: R) -> Self {
        SharedStdin {
            inner: Arc::new(Mutex::new(Counted {
                reader,
                consumed: 0,
                ended: false,
            })),
        }
    }

    /// Reads and discards up to `max` of the `declared` bytes that nobody
    /// read; failures only mean the client left.
    pub(crate) fn drain_unread(&self, declared: u64, max: u64) {
        let mut counted = self.lock();
        let unread = declared.saturating_sub(counted.consumed).min(max);
        if unread == 0 || counted.ended {
            return;
        }
        if let Err(err) = io::copy(&mut (&mut *counted).take(unread), &mut io::sink()) {
            tracing::debug!(error = %err, "could not drain the unread request body");
        }
    }

    /// Whether the stream failed or ended before `declared` bytes: a peer
    /// that stalled or cut its body, which will not read an answer.
    pub(crate) fn cut_short(&self, declared: u64) -> bool {
        let counted = self.lock();
        counted.ended && counted.consumed < declared
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counted<R>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<R: Read> Read for SharedStdin<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.lock().read(buf)
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.reader.read(buf) {
            Ok(n) => n,
            Err(err) => {
                self.ended |= err.kind() != io::ErrorKind::Interrupted;
                return Err(err);
            }
        };
        self.consumed += n as u64;
        self.ended |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

/// Writes the head and (unless this answers a HEAD request) the body.
fn send(response: Response, is_head: bool, stdout: &mut impl Write) -> Result<(), CgiError> {
    let result = write_response(response, is_head, stdout);
    match result {
        Err(CgiError::Write(err)) if err.kind() == io::ErrorKind::BrokenPipe => {
            tracing::debug!("the client went away before the response was sent");
            Ok(())
        }
        other => other,
    }
}

/// Writes a CGI response (head, then the body unless `is_head`) and flushes;
/// the SCGI adapter sends its responses with this too.
pub(crate) fn write_response(
    response: Response,
    is_head: bool,
    stdout: &mut impl Write,
) -> Result<(), CgiError> {
    let head = cgi_response_head(&response);
    stdout.write_all(&head).map_err(CgiError::Write)?;
    if !is_head {
        let declared = crate::response::declared_length(response.headers());
        match (response.into_body(), declared) {
            (ResponseBody::Bytes(bytes), _) => stdout.write_all(&bytes).map_err(CgiError::Write)?,
            (ResponseBody::Reader(reader), None) => {
                copy_body(reader, stdout)?;
            }
            (ResponseBody::Reader(reader), Some(declared)) => {
                // Past its declared length the web server would read the
                // rest as garbage (or as the next response on a kept-alive
                // connection): stop there, and say when the reader ran short.
                let sent = copy_body(reader.take(declared), stdout)?;
                if sent < declared {
                    stdout.flush().map_err(CgiError::Write)?;
                    return Err(CgiError::Body(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the body ended after {sent} of its declared {declared} bytes"),
                    )));
                }
            }
        }
    }
    stdout.flush().map_err(CgiError::Write)
}

/// Like [`io::copy`], but says which side failed: a failing body is the app's
/// fault, a failing stdout usually the client's. Gives the bytes copied.
fn copy_body(mut reader: impl Read, stdout: &mut impl Write) -> Result<u64, CgiError> {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut copied = 0;
    loop {
        let n = match reader.read(&mut chunk) {
            Ok(0) => return Ok(copied),
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(CgiError::Body(err)),
        };
        stdout.write_all(&chunk[..n]).map_err(CgiError::Write)?;
        copied += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use http::header;

    use super::*;
    use crate::{HttpError, IntoResponse, Request};

    /// Runs `app` as a CGI program and splits its output into head and body.
    fn cgi(
        vars: &[(&str, &[u8])],
        stdin: impl Read + Send + 'static,
        app: impl App,
    ) -> (String, Vec<u8>) {
        cgi_with(vars, stdin, app, &GatewayConfig::default())
    }

    fn cgi_with(
        vars: &[(&str, &[u8])],
        stdin: impl Read + Send + 'static,
        app: impl App,
        config: &GatewayConfig,
    ) -> (String, Vec<u8>) {
        let mut stdout = Vec::new();
        let vars = vars.iter().map(|(name, value)| (name.as_bytes(), *value));
        respond(vars, stdin, &mut stdout, &app, config).unwrap();
        let end = stdout
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .expect("a CGI head ends with a blank line");
        let body = stdout.split_off(end + 4);
        (String::from_utf8(stdout).unwrap(), body)
    }

    /// An app that answers with the request body, or the error reading it.
    fn echo(mut request: Request) -> Response {
        match request.body_mut().read_to_vec() {
            Ok(body) => Response::new(body.into()),
            Err(err) => HttpError::from(err).into_response(),
        }
    }

    /// A stdin that counts what is read from it and fails if read past its data,
    /// like a pipe the server keeps open.
    struct Stdin {
        data: io::Cursor<Vec<u8>>,
        consumed: Arc<AtomicUsize>,
    }

    impl Stdin {
        fn new(data: &[u8]) -> (Self, Arc<AtomicUsize>) {
            let consumed = Arc::new(AtomicUsize::new(0));
            let stdin = Stdin {
                data: io::Cursor::new(data.to_vec()),
                consumed: Arc::clone(&consumed),
            };
            (stdin, consumed)
        }
    }

    impl Read for Stdin {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.data.read(buf)?;
            if n == 0 {
                return Err(io::Error::other(
                    "read past the data: this would block forever",
                ));
            }
            self.consumed.fetch_add(n, Ordering::SeqCst);
            Ok(n)
        }
    }

    #[test]
    fn every_response_starts_with_a_status_line() {
        let (head, body) = cgi(&[("REQUEST_METHOD", b"GET")], io::empty(), |_: Request| {
            Response::new("hi".into())
        });
        assert!(head.starts_with("Status: 200 OK\r\n"), "{head}");
        assert!(
            head.contains("Content-Type: application/octet-stream\r\n"),
            "{head}"
        );
        assert_eq!(body, b"hi");
    }

    #[test]
    fn a_redirect_carries_its_status() {
        let app = |_: Request| {
            let mut response = Response::new(ResponseBody::empty());
            *response.status_mut() = StatusCode::SEE_OTHER;
            response.headers_mut().insert(
                header::LOCATION,
                http::HeaderValue::from_static("/wiki/Page"),
            );
            response
        };
        let (head, body) = cgi(&[("REQUEST_METHOD", b"POST")], io::empty(), app);
        assert!(head.starts_with("Status: 303 See Other\r\n"), "{head}");
        assert!(head.contains("location: /wiki/Page\r\n"), "{head}");
        assert!(body.is_empty());
    }

    #[test]
    fn reads_exactly_content_length_bytes_of_stdin() {
        let (stdin, consumed) = Stdin::new(b"name=valueTRAILING GARBAGE");
        let vars: [(&str, &[u8]); 2] = [("REQUEST_METHOD", b"POST"), ("CONTENT_LENGTH", b"10")];
        let (head, body) = cgi(&vars, stdin, echo);
        assert!(head.starts_with("Status: 200 OK\r\n"), "{head}");
        assert_eq!(body, b"name=value");
        assert_eq!(consumed.load(Ordering::SeqCst), 10);
    }

    #[test]
    fn without_content_length_stdin_is_not_touched() {
        let (stdin, consumed) = Stdin::new(b"");
        let (head, body) = cgi(&[("REQUEST_METHOD", b"POST")], stdin, echo);
        assert!(head.starts_with("Status: 200 OK\r\n"), "{head}");
        assert!(body.is_empty());
        assert_eq!(consumed.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_body_over_the_limit_answers_413_then_drains_what_was_sent() {
        let (stdin, consumed) = Stdin::new(&[b'x'; 100]);
        let config = GatewayConfig {
            max_body_bytes: 10,
            ..GatewayConfig::default()
        };
        let vars: [(&str, &[u8]); 2] = [("REQUEST_METHOD", b"POST"), ("CONTENT_LENGTH", b"100")];
        let (head, _) = cgi_with(&vars, stdin, echo, &config);
        assert!(
            head.starts_with("Status: 413 Payload Too Large\r\n"),
            "{head}"
        );
        // The app read none of it; the adapter drained it after answering,
        // so a server sharing one socket for stdin and stdout sees no reset.
        assert_eq!(consumed.load(Ordering::SeqCst), 100);
    }

    #[test]
    fn a_4_gb_content_length_answers_413_and_drains_no_more_than_was_sent() {
        let (stdin, consumed) = Stdin::new(&[b'x'; 100]);
        let vars: [(&str, &[u8]); 2] = [
            ("REQUEST_METHOD", b"POST"),
            ("CONTENT_LENGTH", b"4294967296"),
        ];
        let (head, _) = cgi(&vars, stdin, echo);
        assert!(
            head.starts_with("Status: 413 Payload Too Large\r\n"),
            "{head}"
        );
        assert_eq!(consumed.load(Ordering::SeqCst), 100);
    }

    #[test]
    fn draining_an_unread_body_stops_at_the_drain_limit() {
        struct Endless(Arc<AtomicUsize>);
        impl Read for Endless {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                buf.fill(b'x');
                self.0.fetch_add(buf.len(), Ordering::SeqCst);
                Ok(buf.len())
            }
        }
        let consumed = Arc::new(AtomicUsize::new(0));
        let vars: [(&str, &[u8]); 2] = [
            ("REQUEST_METHOD", b"POST"),
            ("CONTENT_LENGTH", b"4294967296"),
        ];
        let (head, _) = cgi(&vars, Endless(Arc::clone(&consumed)), echo);
        assert!(head.starts_with("Status: 413"), "{head}");
        assert_eq!(consumed.load(Ordering::SeqCst) as u64, DRAIN_LIMIT);
    }

    #[test]
    fn a_client_redirect_to_another_site_keeps_its_status_and_location() {
        let app = |_: Request| {
            let mut response = Response::new(ResponseBody::empty());
            *response.status_mut() = StatusCode::FOUND;
            response.headers_mut().insert(
                header::LOCATION,
                http::HeaderValue::from_static("https://elsewhere.example/page?x=1"),
            );
            response
        };
        let (head, body) = cgi(&[("REQUEST_METHOD", b"GET")], io::empty(), app);
        assert!(head.starts_with("Status: 302 Found\r\n"), "{head}");
        assert!(
            head.contains("location: https://elsewhere.example/page?x=1\r\n"),
            "{head}"
        );
        assert!(body.is_empty());
    }

    #[test]
    fn the_proxy_header_never_reaches_the_app() {
        let app = |request: Request| {
            let proxy = request.headers().get("proxy").is_some();
            Response::new(format!("proxy seen: {proxy}").into())
        };
        let (_, body) = cgi(
            &[
                ("REQUEST_METHOD", b"GET"),
                ("HTTP_PROXY", b"http://attacker.example:8080"),
            ],
            io::empty(),
            app,
        );
        assert_eq!(body, b"proxy seen: false");
    }

    #[test]
    fn a_body_shorter_than_declared_answers_400() {
        let (head, _) = cgi(
            &[("REQUEST_METHOD", b"POST"), ("CONTENT_LENGTH", b"10")],
            io::Cursor::new(b"short".to_vec()),
            echo,
        );
        assert!(head.starts_with("Status: 400 Bad Request\r\n"), "{head}");
    }

    #[test]
    fn bad_meta_variables_answer_400_without_calling_the_app() {
        let app = |_: Request| -> Response { panic!("the app must not be called") };
        for vars in [
            &[][..],
            &[("REQUEST_METHOD", &b"GET"[..]), ("CONTENT_LENGTH", b"lots")][..],
            &[("REQUEST_METHOD", &b"G E T"[..])][..],
        ] {
            let (head, body) = cgi(vars, io::empty(), app);
            assert!(head.starts_with("Status: 400 Bad Request\r\n"), "{head}");
            assert!(
                head.contains("content-type: text/html; charset=utf-8\r\n"),
                "{head}"
            );
            assert!(String::from_utf8(body).unwrap().contains("400 Bad Request"));
        }
    }

    #[test]
    fn a_head_request_gets_the_head_only() {
        let app = |_: Request| {
            let mut response = Response::new("a body that must not be sent".into());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain"),
            );
            response
        };
        let (head, body) = cgi(&[("REQUEST_METHOD", b"HEAD")], io::empty(), app);
        assert!(head.starts_with("Status: 200 OK\r\n"), "{head}");
        assert!(head.contains("content-type: text/plain\r\n"), "{head}");
        assert!(body.is_empty());
    }

    #[test]
    fn a_panicking_app_answers_500() {
        let app = |_: Request| -> Response { panic!("secret detail") };
        let (head, body) = cgi(&[("REQUEST_METHOD", b"GET")], io::empty(), app);
        assert!(
            head.starts_with("Status: 500 Internal Server Error\r\n"),
            "{head}"
        );
        assert!(!String::from_utf8(body).unwrap().contains("secret detail"));
    }

    #[test]
    fn streams_a_reader_body() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let expected = big.clone();
        let app =
            move |_: Request| Response::new(ResponseBody::reader(io::Cursor::new(big.clone())));
        let (_, body) = cgi(&[("REQUEST_METHOD", b"GET")], io::empty(), app);
        assert_eq!(body, expected);
    }

    /// An app that streams `len` bytes of `x` and declares `declared`.
    fn sized(len: u64, declared: u64) -> impl App {
        move |_: Request| {
            let mut response = Response::new(ResponseBody::reader(io::repeat(b'x').take(len)));
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, declared.into());
            response
        }
    }

    #[test]
    fn a_reader_with_a_declared_length_is_sent_with_it_and_cut_there() {
        let (head, body) = cgi(
            &[("REQUEST_METHOD", b"GET")],
            io::empty(),
            sized(300_000, 300_000),
        );
        assert!(head.contains("content-length: 300000\r\n"), "{head}");
        assert_eq!(body.len(), 300_000);
        let (_, body) = cgi(
            &[("REQUEST_METHOD", b"GET")],
            io::empty(),
            sized(300_000, 1000),
        );
        assert_eq!(
            body.len(),
            1000,
            "bytes past the declared length are not sent"
        );
        let (head, body) = cgi(
            &[("REQUEST_METHOD", b"HEAD")],
            io::empty(),
            sized(300_000, 300_000),
        );
        assert!(head.contains("content-length: 300000\r\n"), "{head}");
        assert!(body.is_empty());
    }

    #[test]
    fn a_reader_short_of_its_declared_length_is_a_body_error() {
        let mut stdout = Vec::new();
        let vars = [("REQUEST_METHOD", "GET")];
        let result = respond(
            vars,
            io::empty(),
            &mut stdout,
            &sized(10, 20),
            &GatewayConfig::default(),
        );
        assert!(matches!(result, Err(CgiError::Body(_))), "{result:?}");
        assert!(stdout.ends_with(b"xxxxxxxxxx"));
    }

    #[test]
    fn passes_non_utf8_meta_variables_to_the_app() {
        let app = |request: Request| Response::new(request.path_info().to_vec().into());
        let (_, body) = cgi(
            &[("REQUEST_METHOD", b"GET"), ("PATH_INFO", b"/caf\xE9")],
            io::empty(),
            app,
        );
        assert_eq!(body, b"/caf\xE9");
    }

    /// A stdout whose reader has gone.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn a_broken_pipe_is_not_an_error_but_a_failing_body_is() {
        let vars = [("REQUEST_METHOD", "GET")];
        let app = |_: Request| Response::new("hi".into());
        let config = GatewayConfig::default();
        respond(vars, io::empty(), &mut ClosedPipe, &app, &config).unwrap();

        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk gone"))
            }
        }
        let app = |_: Request| Response::new(ResponseBody::reader(Failing));
        let err = respond(vars, io::empty(), &mut Vec::new(), &app, &config).unwrap_err();
        assert!(matches!(err, CgiError::Body(_)), "{err:?}");
    }
}
