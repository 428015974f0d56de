//! The server the socket adapters share: an accept loop with a cap on open
//! connections, a thread per connection that reads requests, a fixed pool
//! of worker threads that run the app, timeouts, and graceful shutdown.
//!
//! FastCGI ([`crate::fastcgi`]) and SCGI ([`crate::scgi`]) differ only in
//! how a connection's bytes become requests and responses; this module
//! does everything else, once. It does not parse any protocol itself,
//! except to tell the two apart by a connection's first byte
//! ([`Protocol::Detect`]): a FastCGI record starts with its version, 1; an
//! SCGI request with the ASCII digits of a netstring length.
//!
//! # Design
//!
//! - Reading happens on a connection's own thread, and a request reaches a
//!   worker once its head (meta-variables) has been received in full. Its
//!   body is then streamed to the app as the app reads it, bounded by
//!   [`GatewayConfig::max_stream_bytes`], never buffered whole: an upload
//!   of any size costs a few chunks of memory. A peer slow in its head holds
//!   a connection slot, never a worker; one slow in its body holds the
//!   worker reading it too. Either only until [`ServerConfig::idle_timeout`]:
//!   every read and write on a connection waits at most that long, so a peer
//!   that connects and sends nothing, stops in the middle of a request, or
//!   never reads its response, is dropped. A FastCGI connection waiting for
//!   its own running request is not idle.
//! - At most [`ServerConfig::max_connections`] connections are served at
//!   once. When that many are open, the server stops accepting until one
//!   closes: new connections wait in the kernel's listen backlog rather than
//!   being refused, so a burst only adds latency. Memory is bounded by the
//!   connection cap times the per-request limits of each protocol.
//! - Workers take tasks from one queue; a panic in a task is caught, logged,
//!   and the worker goes on.
//!
//! Stopping: [`Server::shutdown`] (or a [`ShutdownHandle`], which a signal
//! handler thread can hold) stops accepting, stops reading from open
//! connections, lets requests already handed to workers finish and send
//! their responses, and then returns. It shuts down the listening socket
//! itself, so processes sharing an inherited socket stop accepting too.

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::Shutdown;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use http::Method;

use crate::app::call_guarded;
use crate::environ::CgiRequest;
use crate::listener::{Listener, Stream};
use crate::{App, GatewayConfig, HttpError, IntoResponse, RequestBody, Response};

/// Settings of the socket adapters (FastCGI and SCGI).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Settings every adapter shares.
    pub gateway: GatewayConfig,
    /// Threads that run the app; requests beyond this many wait in a queue.
    pub workers: usize,
    /// Connections served at once (reported as `FCGI_MAX_CONNS`).
    pub max_connections: usize,
    /// How long one read or write on a connection may wait before the
    /// connection is dropped: a peer that sends nothing, stalls inside a
    /// request, keeps an idle connection open, or stops reading its
    /// response. Zero is taken as one millisecond.
    pub idle_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        let cores = thread::available_parallelism().map_or(1, usize::from);
        ServerConfig {
            gateway: GatewayConfig::default(),
            // Apps block on disk and the database, so more threads than
            // cores keep the cores busy.
            workers: cores * 4,
            max_connections: 256,
            // Longer than web servers keep idle upstream connections
            // (nginx: 60 s) would be pointless; shorter would cut off a
            // client uploading a large body slowly through a server that
            // does not buffer it.
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// The protocol a server's connections speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// FastCGI 1.0, responder role.
    FastCgi,
    /// SCGI.
    Scgi,
    /// Either, told apart by each connection's first byte: what a process
    /// started with a listening socket on fd 0 serves, since it cannot
    /// know which protocol its web server speaks.
    Detect,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::FastCgi => "FastCGI",
            Protocol::Scgi => "SCGI",
            Protocol::Detect => "FastCGI/SCGI",
        }
    }
}

/// Serves `app` on `listener` until the server is shut down (which only a
/// [`ShutdownHandle`] can do, so in practice until the process ends) or the
/// listener fails for good.
pub fn serve(
    listener: Listener,
    protocol: Protocol,
    app: Arc<dyn App>,
    config: ServerConfig,
) -> io::Result<()> {
    Server::start(listener, protocol, app, config)?.wait()
}

/// A running server; dropping it shuts it down.
#[derive(Debug)]
pub struct Server {
    handle: ShutdownHandle,
    local_spec: Option<String>,
    acceptor: Option<JoinHandle<io::Result<()>>>,
    workers: Vec<JoinHandle<()>>,
}

/// Stops a [`Server`] from another thread (a test, a signal handler).
#[derive(Debug, Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<ServerState>,
    /// Signalled when a connection closes or the server is stopping.
    changed: Condvar,
    listener: Listener,
    local_spec: Option<String>,
}

#[derive(Debug, Default)]
struct ServerState {
    stopping: bool,
    /// Open connections, by id: a handle to each, to stop reading on
    /// shutdown. Its size is the number of connections being served.
    connections: HashMap<u64, Stream>,
    next_connection: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Work for the pool: runs the app and sends its response.
pub(crate) type Task = Box<dyn FnOnce() + Send>;

/// What every connection needs.
pub(crate) struct Context {
    pub(crate) app: Arc<dyn App>,
    pub(crate) config: ServerConfig,
}

/// An accepted connection, handed to a protocol on its own thread.
pub(crate) struct Accepted {
    /// For logs.
    pub(crate) id: u64,
    /// The connection, for writing (clone it for more handles).
    pub(crate) stream: Stream,
    pub(crate) context: Arc<Context>,
    pub(crate) tasks: Sender<Task>,
    /// Frees the connection's slot when dropped; keep it as long as the
    /// connection is in use, including by running requests.
    pub(crate) slot: Slot,
}

/// A connection's place among the [`ServerConfig::max_connections`].
pub(crate) struct Slot {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.shared.lock().connections.remove(&self.id);
        self.shared.changed.notify_all();
    }
}

impl Server {
    /// Starts serving `app` on `listener` in background threads.
    pub fn start(
        listener: Listener,
        protocol: Protocol,
        app: Arc<dyn App>,
        config: ServerConfig,
    ) -> io::Result<Server> {
        let config = ServerConfig {
            workers: config.workers.max(1),
            max_connections: config.max_connections.max(1),
            idle_timeout: config.idle_timeout.max(Duration::from_millis(1)),
            ..config
        };
        let local_spec = listener.local_spec().ok();
        let shared = Arc::new(Shared {
            state: Mutex::new(ServerState::default()),
            changed: Condvar::new(),
            listener: listener.try_clone()?,
            local_spec: local_spec.clone(),
        });
        let context = Arc::new(Context { app, config });
        let (tasks, queue) = mpsc::channel::<Task>();
        let queue = Arc::new(Mutex::new(queue));
        let mut workers = Vec::with_capacity(context.config.workers);
        for index in 0..context.config.workers {
            let queue = Arc::clone(&queue);
            workers.push(
                thread::Builder::new()
                    .name(format!("gateway-worker-{index}"))
                    .spawn(move || run_worker(&queue))?,
            );
        }
        let acceptor_shared = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name("gateway-accept".to_owned())
            .spawn(move || accept_loop(&listener, protocol, &acceptor_shared, &tasks, &context))?;
        Ok(Server {
            handle: ShutdownHandle { shared },
            local_spec,
            acceptor: Some(acceptor),
            workers,
        })
    }

    /// Where the server listens, in the form clients connect to
    /// (`127.0.0.1:9000`, `unix:/path`); `None` for an unnamed socket.
    pub fn local_spec(&self) -> Option<&str> {
        self.local_spec.as_deref()
    }

    /// A handle that stops the server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Stops the server and waits for running requests to finish.
    pub fn shutdown(self) -> io::Result<()> {
        self.handle.shutdown();
        self.wait()
    }

    /// Waits until the server stops, through a [`ShutdownHandle`] or because
    /// the listener failed (that error is returned).
    pub fn wait(mut self) -> io::Result<()> {
        self.join()
    }

    fn join(&mut self) -> io::Result<()> {
        let Some(acceptor) = self.acceptor.take() else {
            return Ok(());
        };
        let result = acceptor
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the accept thread panicked")));
        // Whatever ended the accept loop, the connections stop too; the
        // workers end once every reader has gone and the queue is empty.
        self.handle.shutdown();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        result
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.acceptor.is_some() {
            self.handle.shutdown();
            if let Err(err) = self.join() {
                tracing::warn!(error = %err, "server stopped with an error");
            }
        }
    }
}

impl ShutdownHandle {
    /// Stops accepting connections and reading requests; requests already
    /// running finish. Returns at once; [`Server::wait`] waits.
    pub fn shutdown(&self) {
        let shared = &self.shared;
        {
            let mut state = shared.lock();
            if state.stopping {
                return;
            }
            state.stopping = true;
            for stream in state.connections.values() {
                let _ = stream.shutdown(Shutdown::Read);
            }
        }
        shared.changed.notify_all();
        shared.listener.stop_accepting();
        // Where shutting the listener down does not wake a blocked accept,
        // a connection does; the accept loop sees `stopping` and drops it.
        if let Some(spec) = &shared.local_spec {
            let _ = Stream::connect(spec);
        }
    }
}

fn accept_loop(
    listener: &Listener,
    protocol: Protocol,
    shared: &Arc<Shared>,
    tasks: &Sender<Task>,
    context: &Arc<Context>,
) -> io::Result<()> {
    loop {
        {
            let mut state = shared.lock();
            while !state.stopping && state.connections.len() >= context.config.max_connections {
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if state.stopping {
                return Ok(());
            }
        }
        let (stream, _peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(err) => {
                if shared.lock().stopping {
                    return Ok(());
                }
                match accept_error_action(&err) {
                    AcceptAction::Retry => continue,
                    AcceptAction::Pause => {
                        tracing::warn!(error = %err, "cannot accept a connection; retrying");
                        thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                    AcceptAction::Fail => return Err(err),
                }
            }
        };
        if let Err(err) = start_connection(stream, protocol, shared, tasks, context) {
            tracing::warn!(error = %err, protocol = protocol.name(), "cannot serve a connection");
        }
    }
}

enum AcceptAction {
    Retry,
    Pause,
    Fail,
}

fn accept_error_action(err: &io::Error) -> AcceptAction {
    match err.kind() {
        io::ErrorKind::Interrupted
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::ConnectionReset => AcceptAction::Retry,
        // A listener someone set non-blocking: pause rather than spin.
        io::ErrorKind::WouldBlock => AcceptAction::Pause,
        _ => match err.raw_os_error() {
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => AcceptAction::Pause,
            _ => AcceptAction::Fail,
        },
    }
}

fn start_connection(
    stream: Stream,
    protocol: Protocol,
    shared: &Arc<Shared>,
    tasks: &Sender<Task>,
    context: &Arc<Context>,
) -> io::Result<()> {
    // Timeouts belong to the socket, so every handle to it has them.
    stream.set_read_timeout(Some(context.config.idle_timeout))?;
    stream.set_write_timeout(Some(context.config.idle_timeout))?;
    let handle = stream.try_clone()?;
    let reader = stream.try_clone()?;
    let id = {
        let mut state = shared.lock();
        if state.stopping {
            return Ok(());
        }
        let id = state.next_connection;
        state.next_connection += 1;
        state.connections.insert(id, handle);
        id
    };
    let accepted = Accepted {
        id,
        stream,
        context: Arc::clone(context),
        tasks: tasks.clone(),
        slot: Slot {
            shared: Arc::clone(shared),
            id,
        },
    };
    thread::Builder::new()
        .name(format!("gateway-conn-{id}"))
        .spawn(move || serve_connection(accepted, reader, protocol))?;
    Ok(())
}

fn serve_connection(accepted: Accepted, reader: Stream, protocol: Protocol) {
    match protocol {
        Protocol::FastCgi => crate::fastcgi::serve_connection(accepted, reader),
        Protocol::Scgi => crate::scgi::serve_connection(accepted, reader),
        Protocol::Detect => detect(accepted, reader),
    }
}

/// Reads a connection's first byte and hands the connection, that byte put
/// back in front, to the protocol it starts.
fn detect(accepted: Accepted, mut reader: Stream) {
    let mut first = [0u8; 1];
    let read = loop {
        match reader.read(&mut first) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            other => break other,
        }
    };
    match read {
        // Closed at once: a health check, or the wake-up of a shutdown.
        Ok(0) => return,
        Ok(_) => {}
        Err(err) => {
            tracing::debug!(connection = accepted.id, error = %err, "connection sent nothing");
            return;
        }
    }
    let reader = io::Cursor::new(first).chain(reader);
    match first[0] {
        crate::fastcgi::record::VERSION_1 => crate::fastcgi::serve_connection(accepted, reader),
        b'0'..=b'9' => crate::scgi::serve_connection(accepted, reader),
        other => {
            tracing::warn!(
                connection = accepted.id,
                first_byte = other,
                "closing a connection that speaks neither FastCGI nor SCGI"
            );
            let _ = accepted.stream.shutdown(Shutdown::Both);
        }
    }
}

/// Turns a request's meta-variables and body into the app's response; bad
/// variables answer 400 without calling the app. Also says whether the
/// request was a HEAD, whose response goes without its body.
pub(crate) fn call_app<N, V>(
    vars: impl IntoIterator<Item = (N, V)>,
    body: impl Read + Send + 'static,
    context: &Context,
) -> (Response, bool)
where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    let config = &context.config.gateway;
    let cgi = match CgiRequest::parse(vars, config) {
        Ok(cgi) => cgi,
        Err(err) => return (refuse_bad_request(err), false),
    };
    let head_only = cgi.head().method == Method::HEAD;
    let body = RequestBody::new(body, cgi.content_length(), config.body_limits());
    (
        call_guarded(&*context.app, cgi.into_request(body)),
        head_only,
    )
}

/// The 400 answer to a request whose variables could not be read.
pub(crate) fn refuse_bad_request(err: impl std::error::Error + Send + Sync + 'static) -> Response {
    let error = HttpError::bad_request("The request could not be understood.").with_cause(err);
    tracing::warn!(error = %error, "refusing a request with bad meta-variables");
    error.into_response()
}

/// Whether a read or write failed because it waited past the timeout.
pub(crate) fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn run_worker(queue: &Mutex<Receiver<Task>>) {
    loop {
        let task = {
            let queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            queue.recv()
        };
        let Ok(task) = task else {
            return;
        };
        // Protocols catch the app's panics and answer 500 themselves; this
        // keeps the worker alive whatever else a task does.
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(task)) {
            tracing::error!(panic = %crate::app::panic_message(&*payload), "a request task panicked");
        }
    }
}
