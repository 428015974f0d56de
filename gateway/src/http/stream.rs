//! Bodies across the async/blocking boundary: the request payload as a
//! blocking reader for the app, a response reader as a stream for actix.

use std::convert::Infallible;
use std::io::{self, Read};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web;
use bytes::{Buf, Bytes};
use futures_util::Stream;
use tokio::sync::mpsc;

/// How much of a response reader one blocking task reads.
const RESPONSE_CHUNK_BYTES: usize = 64 * 1024;

/// The request payload as the app reads it: chunks arrive from the
/// connection's task over a bounded channel. Reads block the app's thread,
/// never an async worker.
pub(super) struct ChannelReader {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl ChannelReader {
    pub(super) fn new(chunks: mpsc::Receiver<io::Result<Bytes>>) -> Self {
        ChannelReader {
            chunks,
            current: Bytes::new(),
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(err)) => return Err(err),
                // The sender is gone: the payload has ended.
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// A response reader as a stream of chunks, each read by its own task on the
/// blocking pool so that no thread waits while the client is slow.
pub(super) fn reader_stream(
    reader: Box<dyn Read + Send>,
) -> impl Stream<Item = io::Result<Bytes>> + 'static {
    futures_util::stream::unfold(Some(reader), |state| async move {
        let mut reader = state?;
        let read = web::block(move || {
            let mut chunk = vec![0; RESPONSE_CHUNK_BYTES];
            let result = read_retrying(&mut *reader, &mut chunk);
            (reader, chunk, result)
        })
        .await;
        match read {
            Ok((_, _, Ok(0))) => None,
            Ok((reader, mut chunk, Ok(n))) => {
                chunk.truncate(n);
                Some((Ok(Bytes::from(chunk)), Some(reader)))
            }
            Ok((_, _, Err(err))) => {
                // The head is already sent: all that is left is to cut the
                // connection, which tells the client the body is incomplete.
                tracing::error!(error = %err, "reading the response body failed");
                Some((Err(err), None))
            }
            Err(err) => {
                tracing::error!(error = %err, "the response body reader panicked");
                Some((
                    Err(io::Error::other("the response body reader panicked")),
                    None,
                ))
            }
        }
    })
}

fn read_retrying(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// The body of a response to HEAD: announces a length, sends nothing (actix
/// writes no body bytes for HEAD, only the `Content-Length`).
pub(super) struct HeadBody {
    len: u64,
}

impl HeadBody {
    pub(super) fn new(len: u64) -> Self {
        HeadBody { len }
    }
}

impl MessageBody for HeadBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.len)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_reader_yields_the_chunks_in_order_then_ends() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Ok(Bytes::from_static(b"hel"))).unwrap();
        tx.try_send(Ok(Bytes::new())).unwrap();
        tx.try_send(Ok(Bytes::from_static(b"lo"))).unwrap();
        drop(tx);
        let mut text = String::new();
        ChannelReader::new(rx).read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
    }

    #[test]
    fn the_channel_reader_passes_a_connection_error_on() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Ok(Bytes::from_static(b"hel"))).unwrap();
        tx.try_send(Err(io::Error::new(io::ErrorKind::UnexpectedEof, "gone")))
            .unwrap();
        let mut text = Vec::new();
        let err = ChannelReader::new(rx).read_to_end(&mut text).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
