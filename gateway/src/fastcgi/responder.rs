//! The FastCGI responder's side of a connection: demultiplexes records
//! into requests, hands complete ones to the shared worker pool
//! ([`crate::server`]), and sends the responses back.
//!
//! # Design
//!
//! - The connection's own thread reads records and keeps the requests still
//!   being received, by request id. A request is handed to a worker as soon
//!   as its `FCGI_PARAMS` stream has ended, and the reader goes on reading,
//!   so several requests can be in flight on one connection (multiplexing).
//! - Request bodies are streamed, never buffered whole: each request's
//!   `FCGI_STDIN` records go to its app through a queue of
//!   [`STDIN_QUEUE_RECORDS`] records (`stdin` module). When the queue is
//!   full the reader waits, so the web server is held back by the app's
//!   pace (backpressure) and a 200 MB upload holds a few 64 KiB records in
//!   memory. The app's [`RequestBody`] bounds what it reads
//!   ([`GatewayConfig::max_stream_bytes`], or `max_body_bytes` read whole);
//!   once the app stops reading (its response is done, it dropped the body,
//!   it went over a limit), the rest of that body is read and thrown away
//!   without waiting. Stdin records sent before the params end (no web
//!   server does) are kept up to the same few records, and are a protocol
//!   error beyond.
//! - The cost of backpressure is head-of-line blocking on that one
//!   connection: while the reader waits for a slow app to take a record, no
//!   record of the connection's other requests is read either. Web servers
//!   do not multiplex (nginx, Apache and lighttpd open a connection per
//!   request at a time), so this costs nothing in practice; and an app that
//!   holds its body without reading for longer than
//!   [`ServerConfig::idle_timeout`] has its body cut (its next read fails)
//!   and the rest thrown away, so a stalled body never holds the connection
//!   for longer than that. A request whose params have ended but which no
//!   worker has taken yet (all busy) holds the reader the same way.
//! - Params are capped at 1 MiB (431 beyond). A connection has at most 16
//!   requests in flight; more are refused with `FCGI_OVERLOADED`. So memory
//!   stays bounded whatever a peer sends: per connection, at most 16 ×
//!   (1 MiB of params + a few records of body).
//! - *Workers* write each response as `FCGI_STDOUT` records of up to 65535
//!   bytes, streaming a reader body, each record under the connection's
//!   write lock, so records of concurrent responses interleave but never
//!   mix. Then an empty `FCGI_STDOUT` and `FCGI_END_REQUEST`.
//! - A connection is closed after a request whose `FCGI_BEGIN_REQUEST` did
//!   not set `FCGI_KEEP_CONN` (the write side at once; the read side once
//!   the web server has closed its own, so a body it is still sending is
//!   not reset under it and the answer arrives), and at once on a malformed
//!   record (logged; other connections carry on).
//! - Silence longer than [`ServerConfig::idle_timeout`] closes a
//!   connection: inside a record or a request being received, params or
//!   body (a stalled peer, logged), or between requests (an idle kept-alive
//!   connection).
//!   While a request of the connection is running, the web server has
//!   nothing to send, and the connection is kept.
//! - `FCGI_ABORT_REQUEST` ends the request at once with `FCGI_END_REQUEST`;
//!   if the app is already running it runs to its end (a read of the rest
//!   of its body fails), but nothing more of its response is sent.
//!
//! [`GatewayConfig::max_stream_bytes`]: crate::GatewayConfig::max_stream_bytes
//! [`RequestBody`]: crate::RequestBody
//! [`ServerConfig::idle_timeout`]: crate::server::ServerConfig::idle_timeout

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::Shutdown;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use http::StatusCode;

use super::record::{
    self, decode_pairs, encode_pairs, encode_stream, protocol_status, role, BeginRequest,
    EndRequest, Record, RecordError, RecordType, MAX_CONTENT_LEN, NULL_REQUEST_ID,
};
use super::stdin::{self, SendError, StdinReader, StdinSender};
use crate::environ::cgi_response_head;
use crate::listener::Stream;
use crate::server::{call_app, is_timeout, refuse_bad_request, Accepted, Context, Slot, Task};
use crate::{HttpError, IntoResponse, Response};

/// Requests one connection may have in flight at once.
const MAX_REQUESTS_PER_CONNECTION: usize = 16;
/// The most bytes of params one request may send.
const MAX_PARAMS_BYTES: usize = 1 << 20;
/// `FCGI_STDIN` records of one request that may wait for its app: enough to
/// keep the app busy while the next arrives, few enough that a body costs
/// at most this many records of 64 KiB.
pub(crate) const STDIN_QUEUE_RECORDS: usize = 4;

/// Serves one accepted connection until it closes.
pub(crate) fn serve_connection(accepted: Accepted, reader: impl Read) {
    let Accepted {
        id,
        stream,
        context,
        tasks,
        slot,
    } = accepted;
    let connection = Arc::new(Connection {
        id,
        writer: Mutex::new(Writer {
            stream,
            open: true,
            running: HashMap::new(),
            next_generation: 0,
            last_finished: None,
        }),
        _slot: slot,
    });
    let reader_state = ConnectionReader {
        connection,
        context,
        tasks,
        pending: HashMap::new(),
        streaming: HashMap::new(),
    };
    reader_state.run(reader);
}

/// One connection's write half and the requests running on it.
struct Connection {
    id: u64,
    writer: Mutex<Writer>,
    _slot: Slot,
}

struct Writer {
    stream: Stream,
    /// False once the connection is closed or a write failed.
    open: bool,
    /// Requests handed to workers: id → (generation, keep_conn). The
    /// generation tells a worker whether its request is still the one
    /// with that id, after an abort and a new request reusing the id.
    running: HashMap<u16, (u64, bool)>,
    next_generation: u64,
    /// When the last request ended: the connection has been idle only since then, whenever the
    /// reader's wait for the next record began.
    last_finished: Option<Instant>,
}

/// Why a worker stops sending a response.
#[derive(Debug)]
struct Gone;

impl Writer {
    fn send(&mut self, bytes: &[u8]) -> Result<(), Gone> {
        if !self.open {
            return Err(Gone);
        }
        if let Err(err) = self.stream.write_all(bytes) {
            tracing::debug!(error = %err, "FastCGI connection write failed");
            self.close();
            return Err(Gone);
        }
        Ok(())
    }

    fn close(&mut self) {
        self.open = false;
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Sends nothing more; reading goes on.
    fn close_write(&mut self) {
        self.open = false;
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    fn is_current(&self, id: u16, generation: u64) -> bool {
        self.running
            .get(&id)
            .is_some_and(|&(current, _)| current == generation)
    }
}

impl Connection {
    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends bytes not tied to a running request (management replies,
    /// refusals).
    fn send(&self, bytes: &[u8]) -> Result<(), Gone> {
        self.writer().send(bytes)
    }

    /// Ends a request that never reached a worker.
    fn end_unstarted(&self, id: u16, status: u8, keep_conn: bool) -> Result<(), Gone> {
        let mut writer = self.writer();
        writer.send(&end_request(id, status))?;
        if !keep_conn {
            writer.close();
        }
        Ok(())
    }

    /// Records that a request went to a worker; returns its generation.
    fn start_running(&self, id: u16, keep_conn: bool) -> u64 {
        let mut writer = self.writer();
        let generation = writer.next_generation;
        writer.next_generation += 1;
        writer.running.insert(id, (generation, keep_conn));
        generation
    }

    fn running(&self, id: u16) -> bool {
        self.writer().running.contains_key(&id)
    }

    fn is_current(&self, id: u16, generation: u64) -> bool {
        self.writer().is_current(id, generation)
    }

    fn running_count(&self) -> usize {
        self.writer().running.len()
    }

    /// Whether a request is running, or one ended less than `idle` ago: the reader's wait for a
    /// record may have begun while it ran, and the web server has had no time to send the next.
    fn active_within(&self, idle: std::time::Duration) -> bool {
        let writer = self.writer();
        !writer.running.is_empty()
            || writer
                .last_finished
                .is_some_and(|ended| ended.elapsed() < idle)
    }

    /// Sends response bytes of a running request, unless it was aborted.
    fn send_for(&self, id: u16, generation: u64, bytes: &[u8]) -> Result<(), Gone> {
        let mut writer = self.writer();
        if !writer.is_current(id, generation) {
            return Err(Gone);
        }
        writer.send(bytes)
    }

    /// Sends the last bytes of a response and ends the request.
    fn finish(&self, id: u16, generation: u64, last: &[u8]) {
        let mut writer = self.writer();
        if !writer.is_current(id, generation) {
            return;
        }
        let keep_conn = writer.running.remove(&id).is_some_and(|(_, keep)| keep);
        writer.last_finished = Some(Instant::now());
        let mut bytes = Vec::with_capacity(last.len() + 48);
        encode_stream(RecordType::STDOUT, id, last, MAX_CONTENT_LEN, &mut bytes);
        Record::new(RecordType::STDOUT, id, Vec::new())
            .expect("an empty record fits")
            .encode_into(&mut bytes);
        bytes.extend_from_slice(&end_request(id, protocol_status::REQUEST_COMPLETE));
        if writer.send(&bytes).is_ok() && !keep_conn {
            // The reader reads on (and throws away what is left of the
            // body) until the web server closes its side.
            writer.close_write();
        }
    }

    /// Ends a running request the web server gave up on; its worker sends
    /// nothing more.
    fn abort_running(&self, id: u16) {
        let mut writer = self.writer();
        let Some((_, keep_conn)) = writer.running.remove(&id) else {
            return;
        };
        if writer
            .send(&end_request(id, protocol_status::REQUEST_COMPLETE))
            .is_ok()
            && !keep_conn
        {
            writer.close();
        }
    }

    fn close(&self) {
        self.writer().close();
    }
}

fn end_request(id: u16, status: u8) -> Vec<u8> {
    let body = EndRequest {
        app_status: 0,
        protocol_status: status,
    };
    Record::new(RecordType::END_REQUEST, id, body.encode())
        .expect("an END_REQUEST body fits")
        .encode()
}

/// A request whose params are still being received.
#[derive(Default)]
struct Pending {
    keep_conn: bool,
    params: Vec<u8>,
    params_overflow: bool,
    /// Stdin records that came before the params ended (at most
    /// [`STDIN_QUEUE_RECORDS`]).
    early_stdin: Vec<Vec<u8>>,
    stdin_done: bool,
}

/// A request handed to a worker whose body is still arriving.
struct Streaming {
    generation: u64,
    stdin: StdinSender,
}

/// A request for a worker: its params, and its body as it arrives.
struct Job {
    connection: Arc<Connection>,
    id: u16,
    generation: u64,
    params: Vec<u8>,
    params_overflow: bool,
    stdin: Option<StdinReader>,
}

/// Reads one connection's records.
struct ConnectionReader {
    connection: Arc<Connection>,
    context: Arc<Context>,
    tasks: Sender<Task>,
    pending: HashMap<u16, Pending>,
    streaming: HashMap<u16, Streaming>,
}

/// A peer broke the protocol; the connection is closed.
#[derive(Debug)]
struct ProtocolError(RecordError);

impl From<RecordError> for ProtocolError {
    fn from(err: RecordError) -> Self {
        ProtocolError(err)
    }
}

fn malformed(what: &'static str, reason: &'static str) -> ProtocolError {
    ProtocolError(RecordError::Malformed { what, reason })
}

impl ConnectionReader {
    fn run(mut self, reader: impl Read) {
        let mut reader = BufReader::with_capacity(64 * 1024, reader);
        loop {
            if !self.wait_for_record(&mut reader) {
                return;
            }
            let record = match Record::read_from(&mut reader) {
                Ok(Some(record)) => record,
                // The web server closed its side; running requests still
                // answer on the write half.
                Ok(None) => return,
                Err(err) => {
                    if self.connection.writer().open {
                        tracing::warn!(connection = self.connection.id, error = %err, "closing FastCGI connection: unreadable record (truncated, malformed or stalled)");
                    }
                    self.connection.close();
                    return;
                }
            };
            let outcome = match self.handle(record) {
                Ok(outcome) => outcome,
                Err(ProtocolError(err)) => {
                    tracing::warn!(connection = self.connection.id, error = %err, "closing FastCGI connection: protocol error");
                    self.connection.close();
                    return;
                }
            };
            if outcome.is_err() {
                // The connection was closed (FCGI_KEEP_CONN unset, a
                // failed write, or shutdown): nothing more to read.
                return;
            }
        }
    }

    /// Waits until the next record starts arriving; false when the
    /// connection is done (closed by the peer, failed, or silent past the
    /// timeout while nothing of this connection is running).
    fn wait_for_record(&mut self, reader: &mut impl BufRead) -> bool {
        loop {
            let err = match reader.fill_buf() {
                Ok(bytes) => return !bytes.is_empty(),
                Err(err) => err,
            };
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            if !is_timeout(&err) {
                // Reset by the peer, or read side shut down: nothing more
                // will arrive; running requests still answer.
                tracing::debug!(connection = self.connection.id, error = %err, "FastCGI connection read failed");
                return false;
            }
            if !self.pending.is_empty() || self.body_arriving() {
                tracing::warn!(
                    connection = self.connection.id,
                    "closing FastCGI connection: the peer stalled in the middle of a request"
                );
            } else if self
                .connection
                .active_within(self.context.config.idle_timeout)
            {
                // The web server waits for a response being made, or has just had one.
                continue;
            } else {
                tracing::debug!(
                    connection = self.connection.id,
                    "closing idle FastCGI connection"
                );
            }
            self.connection.close();
            return false;
        }
    }

    fn handle(&mut self, record: Record) -> Result<Result<(), Gone>, ProtocolError> {
        let id = record.request_id();
        if id == NULL_REQUEST_ID {
            return self.handle_management(record);
        }
        match record.record_type() {
            RecordType::BEGIN_REQUEST => self.begin(id, record.content()),
            RecordType::ABORT_REQUEST => Ok(self.abort(id)),
            RecordType::PARAMS => {
                if self.params(id, record.content()) {
                    return Ok(self.dispatch(id));
                }
                Ok(Ok(()))
            }
            RecordType::STDIN => {
                self.stdin(id, record.into_content())?;
                Ok(Ok(()))
            }
            // Only a filter reads FCGI_DATA; a responder ignores it.
            RecordType::DATA => Ok(Ok(())),
            other => Ok(self.connection.send(&unknown_type(other))),
        }
    }

    fn handle_management(&mut self, record: Record) -> Result<Result<(), Gone>, ProtocolError> {
        if record.record_type() != RecordType::GET_VALUES {
            return Ok(self.connection.send(&unknown_type(record.record_type())));
        }
        let config = &self.context.config;
        let mut answers = Vec::new();
        for (name, _) in decode_pairs(record.content())? {
            let value = match name.as_slice() {
                b"FCGI_MAX_CONNS" => config.max_connections,
                b"FCGI_MAX_REQS" => config.max_connections * MAX_REQUESTS_PER_CONNECTION,
                b"FCGI_MPXS_CONNS" => 1,
                _ => continue,
            };
            answers.push((name, value.to_string().into_bytes()));
        }
        let mut content = Vec::new();
        encode_pairs(answers, &mut content)?;
        let reply = Record::new(RecordType::GET_VALUES_RESULT, NULL_REQUEST_ID, content)?;
        Ok(self.connection.send(&reply.encode()))
    }

    fn begin(&mut self, id: u16, content: &[u8]) -> Result<Result<(), Gone>, ProtocolError> {
        let begin = BeginRequest::decode(content)?;
        if self.pending.contains_key(&id) || self.connection.running(id) {
            return Err(malformed(
                "FCGI_BEGIN_REQUEST",
                "the request id is already in use",
            ));
        }
        // A request that ended before its body did leaves its stream
        // behind; a new request with its id replaces it.
        self.streaming.remove(&id);
        let keep_conn = begin.keep_conn();
        if begin.role != role::RESPONDER {
            return Ok(self
                .connection
                .end_unstarted(id, protocol_status::UNKNOWN_ROLE, keep_conn));
        }
        if self.pending.len() + self.connection.running_count() >= MAX_REQUESTS_PER_CONNECTION {
            return Ok(self
                .connection
                .end_unstarted(id, protocol_status::OVERLOADED, keep_conn));
        }
        self.pending.insert(
            id,
            Pending {
                keep_conn,
                ..Pending::default()
            },
        );
        Ok(Ok(()))
    }

    fn abort(&mut self, id: u16) -> Result<(), Gone> {
        if let Some(pending) = self.pending.remove(&id) {
            return self.connection.end_unstarted(
                id,
                protocol_status::REQUEST_COMPLETE,
                pending.keep_conn,
            );
        }
        // Running or unknown: an abort of a request that already ended
        // crosses its END_REQUEST on the wire and is ignored. Dropping the
        // body's sender makes the app's next read fail.
        self.streaming.remove(&id);
        self.connection.abort_running(id);
        Ok(())
    }

    /// Adds params; true when they have just ended.
    fn params(&mut self, id: u16, content: &[u8]) -> bool {
        // Records for ids not being received (ended, aborted, refused) are
        // ignored, as the spec says.
        let Some(pending) = self.pending.get_mut(&id) else {
            return false;
        };
        if content.is_empty() {
            return true;
        }
        if pending.params.len() + content.len() > MAX_PARAMS_BYTES {
            pending.params_overflow = true;
            pending.params = Vec::new();
        } else if !pending.params_overflow {
            pending.params.extend_from_slice(content);
        }
        false
    }

    fn stdin(&mut self, id: u16, content: Vec<u8>) -> Result<(), ProtocolError> {
        if let Some(pending) = self.pending.get_mut(&id) {
            if pending.stdin_done {
                return Ok(());
            }
            if content.is_empty() {
                pending.stdin_done = true;
            } else if pending.early_stdin.len() < STDIN_QUEUE_RECORDS {
                pending.early_stdin.push(content);
            } else {
                return Err(malformed(
                    "FCGI_STDIN",
                    "too much of the body came before the params ended",
                ));
            }
            return Ok(());
        }
        let Some(streaming) = self.streaming.get(&id) else {
            // Ended, aborted, refused, or the app stopped reading: the rest
            // is thrown away.
            return Ok(());
        };
        if !self.connection.is_current(id, streaming.generation) {
            self.streaming.remove(&id);
            return Ok(());
        }
        if content.is_empty() {
            if let Some(streaming) = self.streaming.remove(&id) {
                streaming.stdin.finish();
            }
            return Ok(());
        }
        match streaming
            .stdin
            .send(content, self.context.config.idle_timeout)
        {
            Ok(()) => {}
            Err(SendError::ReaderGone) => {
                self.streaming.remove(&id);
            }
            Err(SendError::TimedOut) => {
                tracing::warn!(
                    connection = self.connection.id,
                    request = id,
                    "the app held its request body without reading it past the idle timeout; cutting the body"
                );
                self.streaming.remove(&id);
            }
        }
        Ok(())
    }

    /// Whether a running request's body is still arriving.
    fn body_arriving(&mut self) -> bool {
        let connection = &self.connection;
        self.streaming
            .retain(|&id, streaming| connection.is_current(id, streaming.generation));
        !self.streaming.is_empty()
    }

    /// Hands a request whose params have ended to a worker.
    fn dispatch(&mut self, id: u16) -> Result<(), Gone> {
        let Some(pending) = self.pending.remove(&id) else {
            return Ok(());
        };
        let generation = self.connection.start_running(id, pending.keep_conn);
        let (sender, reader) = stdin::channel(STDIN_QUEUE_RECORDS);
        for record in pending.early_stdin {
            sender.push_unbounded(record);
        }
        if pending.stdin_done {
            sender.finish();
        } else {
            self.streaming.insert(
                id,
                Streaming {
                    generation,
                    stdin: sender,
                },
            );
        }
        let job = Job {
            connection: Arc::clone(&self.connection),
            id,
            generation,
            params: pending.params,
            params_overflow: pending.params_overflow,
            stdin: Some(reader),
        };
        let context = Arc::clone(&self.context);
        if self
            .tasks
            .send(Box::new(move || run_worker_job(job, &context)))
            .is_err()
        {
            // The workers are gone: the server is stopping.
            self.connection.close();
            return Err(Gone);
        }
        Ok(())
    }
}

fn unknown_type(record_type: RecordType) -> Vec<u8> {
    Record::new(
        RecordType::UNKNOWN_TYPE,
        NULL_REQUEST_ID,
        record::unknown_type_body(record_type),
    )
    .expect("an UNKNOWN_TYPE body fits")
    .encode()
}

fn run_worker_job(job: Job, context: &Context) {
    let connection = Arc::clone(&job.connection);
    let (id, generation) = (job.id, job.generation);
    // call_guarded already catches the app's panics; this catches one from
    // a response body's reader, and still ends the request.
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| run_job(job, context))) {
        tracing::error!(panic = %crate::app::panic_message(&*payload), "FastCGI response failed");
        connection.finish(id, generation, &[]);
    }
}

fn run_job(mut job: Job, context: &Context) {
    let (response, head_only) = respond(&mut job, context);
    let connection = &job.connection;
    let mut stdout = StdoutWriter {
        connection,
        id: job.id,
        generation: job.generation,
        buffer: Vec::with_capacity(MAX_CONTENT_LEN),
        gone: false,
    };
    let head = cgi_response_head(&response);
    let (_, body) = response.into_parts();
    if stdout.write_all(&head).is_err() {
        return;
    }
    if !head_only {
        if let Err(err) = io::copy(&mut body.into_reader(), &mut stdout) {
            if stdout.gone {
                return;
            }
            // The status is already sent; all that can be done is to end
            // the response early.
            tracing::error!(error = %err, "reading the response body failed");
        }
    }
    connection.finish(job.id, job.generation, &stdout.buffer);
}

/// Turns a job into the app's response, or an error response for requests
/// the app never sees.
fn respond(job: &mut Job, context: &Context) -> (Response, bool) {
    // Without a body to read (refused below), the reader is dropped here,
    // and what arrives of the body is thrown away.
    let stdin = job.stdin.take();
    if job.params_overflow {
        let error = HttpError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "The request headers are too large.",
        );
        return (error.into_response(), false);
    }
    match decode_pairs(&job.params) {
        Ok(pairs) => match stdin {
            Some(stdin) => call_app(pairs, stdin, context),
            None => call_app(pairs, io::empty(), context),
        },
        Err(err) => (refuse_bad_request(err), false),
    }
}

/// Collects response bytes into full `FCGI_STDOUT` records.
struct StdoutWriter<'a> {
    connection: &'a Connection,
    id: u16,
    generation: u64,
    buffer: Vec<u8>,
    gone: bool,
}

impl Write for StdoutWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.gone {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the request has ended",
            ));
        }
        let take = data.len().min(MAX_CONTENT_LEN - self.buffer.len());
        self.buffer.extend_from_slice(&data[..take]);
        if self.buffer.len() == MAX_CONTENT_LEN {
            let mut bytes = Vec::with_capacity(MAX_CONTENT_LEN + 16);
            encode_stream(
                RecordType::STDOUT,
                self.id,
                &self.buffer,
                MAX_CONTENT_LEN,
                &mut bytes,
            );
            self.buffer.clear();
            if self
                .connection
                .send_for(self.id, self.generation, &bytes)
                .is_err()
            {
                self.gone = true;
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the request has ended",
                ));
            }
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
