//! A request's `FCGI_STDIN` on its way from the connection's reader to the
//! app: a bounded queue of records.
//!
//! The reader puts records in ([`StdinSender::send`]), waiting while the
//! queue is full, which is the backpressure: the connection is not read
//! further until the app has taken a record. The app reads them as a plain
//! [`Read`] ([`StdinReader`]). Each side notices the other going:
//!
//! - an app that stops reading (its response is done, or it dropped the
//!   body) makes every later [`StdinSender::send`] fail at once, without
//!   waiting, so the reader throws the rest of that body away;
//! - the end of the body is [`StdinSender::finish`] (the empty `FCGI_STDIN`
//!   record); a sender dropped without it (an abort, the connection gone, an
//!   app too slow to read) makes the app's next read fail, so a cut body is
//!   never taken for a whole one.
//!
//! The standard library's `sync_channel` has no send with a timeout, which the
//! reader needs so that an app that holds the body but stops reading cannot
//! hold the connection for ever; hence this small queue.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A new queue holding at most `capacity` records (the first ones may be
/// pushed over it, see [`StdinSender::push_unbounded`]).
pub(super) fn channel(capacity: usize) -> (StdinSender, StdinReader) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            records: VecDeque::with_capacity(capacity),
            end: None,
            reader_gone: false,
        }),
        changed: Condvar::new(),
        capacity: capacity.max(1),
    });
    (
        StdinSender {
            shared: Arc::clone(&shared),
        },
        StdinReader {
            shared,
            current: Vec::new(),
            position: 0,
        },
    )
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    capacity: usize,
}

struct State {
    records: VecDeque<Vec<u8>>,
    end: Option<End>,
    reader_gone: bool,
}

#[derive(Clone, Copy)]
enum End {
    /// The body ended: reads return 0 once the queue is empty.
    Complete,
    /// The body was cut: reads fail once the queue is empty.
    Cut,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Why a record was not queued.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum SendError {
    /// The app no longer reads this body: throw the rest away.
    ReaderGone,
    /// The queue stayed full for the whole timeout.
    TimedOut,
}

/// The connection reader's end.
pub(super) struct StdinSender {
    shared: Arc<Shared>,
}

impl StdinSender {
    /// Queues a record, waiting at most `timeout` for room.
    pub(super) fn send(&self, record: Vec<u8>, timeout: Duration) -> Result<(), SendError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        loop {
            if state.reader_gone {
                return Err(SendError::ReaderGone);
            }
            if state.records.len() < self.shared.capacity {
                state.records.push_back(record);
                self.shared.changed.notify_all();
                return Ok(());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(SendError::TimedOut);
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Queues a record whatever the queue holds: for the few records that
    /// came before the request was handed to a worker, already bounded by
    /// the caller.
    pub(super) fn push_unbounded(&self, record: Vec<u8>) {
        let mut state = self.shared.lock();
        if !state.reader_gone {
            state.records.push_back(record);
        }
    }

    /// Ends the body: the app reads what is queued, then the end.
    pub(super) fn finish(self) {
        self.end(End::Complete);
    }

    fn end(&self, end: End) {
        let mut state = self.shared.lock();
        state.end.get_or_insert(end);
        self.shared.changed.notify_all();
    }
}

impl Drop for StdinSender {
    fn drop(&mut self) {
        // After finish() this changes nothing.
        self.end(End::Cut);
    }
}

/// The app's end: the request body as a reader.
pub(super) struct StdinReader {
    shared: Arc<Shared>,
    current: Vec<u8>,
    position: usize,
}

impl Read for StdinReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.position == self.current.len() {
            let mut state = self.shared.lock();
            loop {
                if let Some(record) = state.records.pop_front() {
                    self.current = record;
                    self.position = 0;
                    self.shared.changed.notify_all();
                    break;
                }
                match state.end {
                    Some(End::Complete) => return Ok(0),
                    Some(End::Cut) => {
                        return Err(io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            "the request body was cut off (request aborted, connection closed, \
                             or the app read too slowly)",
                        ))
                    }
                    None => {}
                }
                state = self
                    .shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        let n = buf.len().min(self.current.len() - self.position);
        buf[..n].copy_from_slice(&self.current[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

impl Drop for StdinReader {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.reader_gone = true;
        state.records.clear();
        self.shared.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use super::*;

    const LONG: Duration = Duration::from_secs(30);

    #[test]
    fn records_arrive_in_order_then_the_end() {
        let (sender, mut reader) = channel(2);
        let feeder = thread::spawn(move || {
            for record in [&b"hel"[..], b"lo ", b"wor", b"ld"] {
                sender.send(record.to_vec(), LONG).unwrap();
            }
            sender.finish();
        });
        let mut text = String::new();
        reader.read_to_string(&mut text).unwrap();
        feeder.join().unwrap();
        assert_eq!(text, "hello world");
    }

    #[test]
    fn a_full_queue_waits_then_times_out() {
        let (sender, reader) = channel(1);
        sender.send(b"a".to_vec(), LONG).unwrap();
        assert_eq!(
            sender.send(b"b".to_vec(), Duration::from_millis(10)),
            Err(SendError::TimedOut)
        );
        drop(reader);
    }

    #[test]
    fn a_gone_reader_fails_sends_at_once_even_when_full() {
        let (sender, reader) = channel(1);
        sender.send(b"a".to_vec(), LONG).unwrap();
        let waiting = thread::spawn(move || sender.send(b"b".to_vec(), LONG));
        drop(reader);
        assert_eq!(waiting.join().unwrap(), Err(SendError::ReaderGone));
    }

    #[test]
    fn a_sender_dropped_without_finishing_cuts_the_body() {
        let (sender, mut reader) = channel(4);
        sender.send(b"part".to_vec(), LONG).unwrap();
        drop(sender);
        let mut read = Vec::new();
        let err = reader.read_to_end(&mut read).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionAborted);
        assert_eq!(read, b"part");
    }
}
