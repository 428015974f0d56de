//! A standalone HTTP/1.1 server on actix-web, for running without a web
//! server in front (development, small teams, behind a plain reverse proxy).
//!
//! The adapter translates and nothing else: an actix request becomes a
//! [`Request`], the app answers it on a blocking thread, and the [`crate::Response`]
//! goes back out. It has no routes, no compression (the gzip middleware does
//! that, the same way behind every adapter) and no notion of what the app is.
//!
//! Design points:
//!
//! - **The app never runs on an async worker.** Each request's `App::call`
//!   runs on actix's blocking pool, so an app may block on disk or SQLite.
//!   [`HttpConfig::blocking_threads`] bounds how many run at once.
//! - **The request body is streamed, not buffered.** Payload chunks go
//!   through a small bounded channel into a reader the app pulls from, so a
//!   request costs a few chunks of memory whatever its size. A body whose
//!   `Content-Length` is over [`GatewayConfig::max_stream_bytes`] is not read at
//!   all: the app gets a [`RequestBody`] that fails with
//!   [`crate::BodyError::TooLarge`] on its first read, and decides (usually a
//!   413). When the app returns, whatever it left unread is dropped.
//! - **A streamed response is read one chunk per blocking task**, so a slow
//!   client holds no thread while it catches up.
//! - **The path is decoded like CGI servers do**: `path_info` is the
//!   percent-decoded path as raw bytes (`/%FF` is the byte `0xFF`), with
//!   [`GatewayConfig::mount_override`] cut off the front; a path outside the
//!   mount answers 404 without calling the app.
//! - **Panics stay per request**: the app is called through the same guard as
//!   in every adapter, so a panic answers 500 and the worker lives on.
//! - `remote_addr` is the TCP peer. `X-Forwarded-For` and `Forwarded` are
//!   never trusted here: anyone can send them.
//!
//! Malformed HTTP is actix's to answer (400) before the app sees anything.
//!
//! Two ways to run it: [`serve`] (and [`serve_listener`]) block the calling
//! thread until SIGINT or SIGTERM, which is what a binary wants; [`start`]
//! runs the server on a background thread and returns an
//! [`HttpServerHandle`] that knows the bound address and stops the server,
//! which is what tests want.
//!
//! ```no_run
//! use std::sync::Arc;
//! use gateway::http::{serve, HttpConfig};
//! use gateway::{Request, Response};
//!
//! let app = |_request: Request| -> Response { http::Response::new("hello".into()) };
//! serve("127.0.0.1:8080", Arc::new(app), HttpConfig::default())?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod stream;
mod translate;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::{mpsc, Arc};
use std::thread;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::future::{self, Either};
use futures_util::StreamExt;

use crate::app::call_guarded;
use crate::{App, GatewayConfig, Request, RequestBody};

/// How many payload chunks may wait between the connection and the app.
const BODY_CHANNEL_CHUNKS: usize = 4;

/// How long a graceful stop waits for requests in flight, in seconds.
const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

/// Settings for the standalone HTTP server.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Settings every adapter shares (body limit, mount prefix).
    pub gateway: GatewayConfig,
    /// Async worker threads accepting connections and moving bytes. They
    /// never run the app, so one per core is plenty. Default: the number of
    /// cores.
    pub workers: usize,
    /// How many app calls (and response-body reads) may block at once,
    /// across all workers. The app is synchronous and may wait on disk or
    /// SQLite, so this is well above the core count. Default: four per
    /// worker, at least 16.
    pub blocking_threads: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        let workers = thread::available_parallelism().map_or(1, usize::from);
        HttpConfig {
            gateway: GatewayConfig::default(),
            workers,
            blocking_threads: (4 * workers).max(16),
        }
    }
}

/// Binds `listen` (such as `"127.0.0.1:8080"` or `"[::]:80"`) and serves
/// `app` on it until the process gets SIGINT or SIGTERM, then stops
/// gracefully (requests in flight get up to 30 seconds).
///
/// Blocks the calling thread, which must not be inside an async runtime.
pub fn serve(listen: &str, app: Arc<dyn App>, config: HttpConfig) -> io::Result<()> {
    let listener = TcpListener::bind(listen).map_err(|err| {
        io::Error::new(err.kind(), format!("could not listen on {listen}: {err}"))
    })?;
    serve_listener(listener, app, config)
}

/// Serves `app` on a listener that is already bound, like [`serve`]: blocks
/// until SIGINT or SIGTERM.
pub fn serve_listener(
    listener: TcpListener,
    app: Arc<dyn App>,
    config: HttpConfig,
) -> io::Result<()> {
    let addr = listener.local_addr()?;
    actix_web::rt::System::new().block_on(async move {
        let server = build_server(listener, app, config, Signals::Handle)?;
        tracing::debug!(%addr, "serving HTTP on http://{addr}/");
        server.await
    })
}

/// Starts serving `app` on `listener` in a background thread and returns at
/// once. Bind `127.0.0.1:0` to get a free port and ask the handle for it.
/// The server ignores signals; it runs until [`HttpServerHandle::stop`] or
/// until the handle is dropped.
pub fn start(
    listener: TcpListener,
    app: Arc<dyn App>,
    config: HttpConfig,
) -> io::Result<HttpServerHandle> {
    let local_addr = listener.local_addr()?;
    let (handle_tx, handle_rx) = mpsc::channel();
    let thread = thread::Builder::new()
        .name("quire-http".to_owned())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match build_server(listener, app, config, Signals::Ignore) {
                    Ok(server) => {
                        // The receiver waits for this; if it is gone the
                        // caller gave up and the server stops when dropped.
                        let _ = handle_tx.send(Ok(server.handle()));
                        server.await
                    }
                    Err(err) => {
                        let _ = handle_tx.send(Err(err));
                        Ok(())
                    }
                }
            })
        })?;
    let handle = match handle_rx.recv() {
        Ok(Ok(handle)) => handle,
        Ok(Err(err)) => {
            let _ = thread.join();
            return Err(err);
        }
        Err(mpsc::RecvError) => {
            let _ = thread.join();
            return Err(io::Error::other(
                "the http server thread ended before it started",
            ));
        }
    };
    Ok(HttpServerHandle {
        local_addr,
        handle,
        thread: Some(thread),
    })
}

/// A server started with [`start`]. Dropping it stops the server without
/// waiting for requests in flight; [`HttpServerHandle::stop`] waits for them.
#[derive(Debug)]
pub struct HttpServerHandle {
    local_addr: SocketAddr,
    handle: ServerHandle,
    thread: Option<thread::JoinHandle<io::Result<()>>>,
}

impl HttpServerHandle {
    /// The address the server listens on (with the real port when the
    /// listener was bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections, lets requests in flight finish (up to 30
    /// seconds), and returns once the server is down and its port closed.
    pub fn stop(mut self) -> io::Result<()> {
        self.shut_down(true)
    }

    fn shut_down(&mut self, graceful: bool) -> io::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        // `ServerHandle::stop` sends its command before the returned future
        // is polled; the future only waits for completion, and joining the
        // server's thread below waits for that too.
        drop(self.handle.stop(graceful));
        thread
            .join()
            .map_err(|_| io::Error::other("the http server thread panicked"))?
    }
}

impl Drop for HttpServerHandle {
    fn drop(&mut self) {
        if let Err(err) = self.shut_down(false) {
            tracing::error!(error = %err, "the http server did not stop cleanly");
        }
    }
}

/// Whether the server stops on SIGINT/SIGTERM (a binary) or ignores them (a
/// server inside tests, which must not steal the test runner's signals).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Signals {
    Handle,
    Ignore,
}

/// What every request handler shares.
struct Shared {
    app: Arc<dyn App>,
    gateway: GatewayConfig,
}

fn build_server(
    listener: TcpListener,
    app: Arc<dyn App>,
    config: HttpConfig,
    signals: Signals,
) -> io::Result<Server> {
    let workers = config.workers.max(1);
    // actix gives each worker its own blocking pool.
    let blocking_per_worker = config.blocking_threads.max(1).div_ceil(workers);
    let shared = web::Data::new(Shared {
        app,
        gateway: config.gateway,
    });
    let mut server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(shared.clone())
            .default_service(web::to(handle))
    })
    .workers(workers)
    .worker_max_blocking_threads(blocking_per_worker)
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS);
    if signals == Signals::Ignore {
        server = server.disable_signals();
    }
    Ok(server.listen(listener)?.run())
}

/// The one handler: every request, whatever its method and path.
async fn handle(
    request: HttpRequest,
    payload: web::Payload,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let is_head = request.method() == actix_web::http::Method::HEAD;
    let (head, environ, declared_len) = match translate::request_head(&request, &shared.gateway) {
        Ok(parts) => parts,
        Err(refusal) => return translate::response(refusal.into_response(), is_head),
    };
    let limits = shared.gateway.body_limits();
    let app = Arc::clone(&shared.app);

    let over_limit = declared_len.is_some_and(|len| len > limits.stream);
    let mut payload = payload;
    let (response, body_read) = if over_limit || declared_len == Some(0) {
        // Nothing to stream: either no body, or one the app may not read
        // (RequestBody fails its first read on the declared length alone).
        let body = RequestBody::new(io::empty(), declared_len, limits);
        let response = run_app(app, Request::new(head, environ, body)).await;
        let read = declared_len == Some(0) || drain(&mut payload).await;
        (response, read)
    } else {
        let (chunks_tx, chunks_rx) = tokio::sync::mpsc::channel(BODY_CHANNEL_CHUNKS);
        let body = RequestBody::new(stream::ChannelReader::new(chunks_rx), declared_len, limits);
        let (response, read) = {
            let answer = std::pin::pin!(run_app(app, Request::new(head, environ, body)));
            let pump = std::pin::pin!(pump_payload(&mut payload, chunks_tx));
            match future::select(answer, pump).await {
                Either::Left((response, _unfinished_pump)) => (response, None),
                Either::Right((read_to_end, answer)) => (answer.await, Some(read_to_end)),
            }
        };
        let read = match read {
            Some(read) => read,
            None => drain(&mut payload).await,
        };
        (response, read)
    };
    let mut response = translate::response(response, is_head);
    if !body_read {
        // The rest of the body is still coming: the connection cannot carry another request.
        response
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    response
}

/// Calls the app on the blocking pool.
async fn run_app(app: Arc<dyn App>, request: Request) -> crate::Response {
    match web::block(move || call_guarded(&*app, request)).await {
        Ok(response) => response,
        // Only when the pool is shutting down: call_guarded already turned
        // the app's own panics into responses.
        Err(err) => {
            tracing::error!(error = %err, "could not run the app on the blocking pool");
            crate::error::plain_error_page(
                http::StatusCode::SERVICE_UNAVAILABLE,
                "The server is shutting down. Please try again.",
            )
        }
    }
}

/// How much of a body the app left unread is read and dropped after its answer, at most.
const DRAIN_BYTES: usize = 1 << 20;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads and drops what is left of a body the app answered without reading (a 413, or an
/// answer that needed none of it), as nginx's lingering close does, within [`DRAIN_BYTES`] and
/// [`DRAIN_TIME`]; whether the body ended. actix, handed back a request whose body a handler
/// dropped half-read, sometimes neither read on nor closed the connection, even with
/// `Connection: close` on the answer: the client, still sending or done sending, waited for a
/// close that never came (`streaming::the_two_limits_hold_over_scgi_and_http`, 1 run in 15). A
/// body read to its end leaves the connection clean.
async fn drain(payload: &mut web::Payload) -> bool {
    let rest = async {
        let mut read = 0;
        while let Some(chunk) = payload.next().await {
            match chunk {
                Ok(chunk) if read + chunk.len() <= DRAIN_BYTES => read += chunk.len(),
                _ => return false,
            }
        }
        true
    };
    actix_web::rt::time::timeout(DRAIN_TIME, rest)
        .await
        .unwrap_or(false)
}

/// Moves payload chunks into the channel the app reads from, until the
/// payload ends (true) or fails or the app stops listening (false).
async fn pump_payload(
    payload: &mut web::Payload,
    chunks: tokio::sync::mpsc::Sender<io::Result<bytes::Bytes>>,
) -> bool {
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|err| io::Error::new(io::ErrorKind::UnexpectedEof, err.to_string()));
        let failed = chunk.is_err();
        if chunks.send(chunk).await.is_err() || failed {
            return false;
        }
    }
    true
}
