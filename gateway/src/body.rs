//! The request body: a reader that refuses to go past a size limit.
//!
//! Adapters hand the app whatever the protocol gives them (CGI's stdin,
//! FastCGI's stdin records, an HTTP payload) as a stream, wrapped so that no
//! app can be made to read more than it asked for. There are two limits
//! ([`BodyLimits`]), because there are two ways to read a body:
//!
//! - whole, into memory ([`RequestBody::read_to_vec`]: urlencoded forms, the
//!   CSRF check of one), bounded by [`crate::GatewayConfig::max_body_bytes`],
//!   small, since the bytes sit in memory;
//! - as a stream ([`Read`]: uploads), bounded by
//!   [`crate::GatewayConfig::max_stream_bytes`], larger, since the reader
//!   holds only what it reads at a time.
//!
//! A body whose declared `Content-Length` is already over the limit of the
//! way it is read fails on the first read, before anything is consumed.

use std::fmt;
use std::io::{self, Read};

use thiserror::Error;

/// Which of the two body limits a body went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLimit {
    /// [`crate::GatewayConfig::max_body_bytes`], of a body read whole into memory.
    Whole,
    /// [`crate::GatewayConfig::max_stream_bytes`], of a body read as a stream.
    Stream,
}

impl fmt::Display for BodyLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BodyLimit::Whole => "max_body_bytes, for a body read whole",
            BodyLimit::Stream => "max_stream_bytes, for a body read as a stream",
        })
    }
}

/// Why a request body could not be read.
#[derive(Debug, Error)]
pub enum BodyError {
    /// The body is larger than the configured limit (answered 413).
    #[error("request body is larger than the limit of {limit} bytes ({which})")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// Which limit it is.
        which: BodyLimit,
    },
    /// The body ended before its declared length (answered 400).
    #[error("request body ended after {received} of {declared} bytes")]
    Truncated {
        /// Bytes received.
        received: u64,
        /// Bytes the client declared.
        declared: u64,
    },
    /// The connection failed while reading.
    #[error("could not read the request body")]
    Io(#[from] io::Error),
}

/// The two limits of a request body, in bytes: see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// The most [`RequestBody::read_to_vec`] reads.
    pub whole: u64,
    /// The most a body yields read as a stream.
    pub stream: u64,
}

impl BodyLimits {
    /// The same limit both ways.
    pub fn both(limit: u64) -> Self {
        BodyLimits {
            whole: limit,
            stream: limit,
        }
    }

    fn get(self, which: BodyLimit) -> u64 {
        match which {
            BodyLimit::Whole => self.whole,
            BodyLimit::Stream => self.stream,
        }
    }
}

impl From<u64> for BodyLimits {
    /// The same limit both ways ([`BodyLimits::both`]).
    fn from(limit: u64) -> Self {
        BodyLimits::both(limit)
    }
}

/// The body of a request, bounded by a maximum size.
pub struct RequestBody {
    reader: Box<dyn Read + Send>,
    declared_len: Option<u64>,
    limits: BodyLimits,
    consumed: u64,
}

impl RequestBody {
    /// A body read from `reader`. `declared_len` is the `Content-Length` the
    /// client sent, if any: the body never yields more than that, and fails
    /// when it ends short of it. `limits` may be a plain `u64` for the same
    /// limit both ways.
    pub fn new(
        reader: impl Read + Send + 'static,
        declared_len: Option<u64>,
        limits: impl Into<BodyLimits>,
    ) -> Self {
        RequestBody {
            reader: Box::new(reader),
            declared_len,
            limits: limits.into(),
            consumed: 0,
        }
    }

    /// A body with no bytes.
    pub fn empty() -> Self {
        RequestBody::new(io::empty(), Some(0), 0)
    }

    /// A body held in memory, with its length declared.
    pub fn from_bytes(bytes: Vec<u8>, limits: impl Into<BodyLimits>) -> Self {
        let len = bytes.len() as u64;
        RequestBody::new(io::Cursor::new(bytes), Some(len), limits)
    }

    /// The length the client declared, if any.
    pub fn declared_len(&self) -> Option<u64> {
        self.declared_len
    }

    /// The limits of this body.
    pub fn limits(&self) -> BodyLimits {
        self.limits
    }

    /// Puts `bytes`, just read from this body, back in front of it: the next
    /// reads yield them again, then go on with the stream, within the same
    /// limits. What a middleware that peeks at a body (CSRF) hands on.
    pub fn unread(&mut self, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        self.consumed = self.consumed.saturating_sub(bytes.len() as u64);
        let rest = std::mem::replace(&mut self.reader, Box::new(io::empty()));
        self.reader = Box::new(io::Cursor::new(bytes).chain(rest));
    }

    /// Reads the whole body into memory, failing with [`BodyError::TooLarge`]
    /// past [`BodyLimits::whole`].
    pub fn read_to_vec(&mut self) -> Result<Vec<u8>, BodyError> {
        self.check_declared(BodyLimit::Whole)?;
        let capacity = self
            .declared_len
            .unwrap_or(0)
            .min(self.limits.whole)
            .min(1 << 20);
        let mut buffer = Vec::with_capacity(capacity as usize);
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = self.read_checked(&mut chunk, BodyLimit::Whole)?;
            if n == 0 {
                return Ok(buffer);
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads some of the body as a stream, within [`BodyLimits::stream`]:
    /// what `Read` does, with the reason of a failure kept.
    pub fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, BodyError> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match self.read_checked(buf, BodyLimit::Stream) {
                Err(BodyError::Io(err)) if err.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    fn check_declared(&self, which: BodyLimit) -> Result<(), BodyError> {
        let limit = self.limits.get(which);
        match self.declared_len {
            Some(declared) if declared > limit => Err(BodyError::TooLarge { limit, which }),
            _ => Ok(()),
        }
    }

    fn read_checked(&mut self, buf: &mut [u8], which: BodyLimit) -> Result<usize, BodyError> {
        self.check_declared(which)?;
        let limit = self.limits.get(which);
        let too_large = BodyError::TooLarge { limit, which };
        let end = self.declared_len.unwrap_or(u64::MAX);
        let remaining = end.saturating_sub(self.consumed);
        if remaining == 0 {
            return Ok(0);
        }
        // Ask for one byte past the limit so a body without a declared length
        // that goes over it is noticed rather than silently cut.
        let allowed = limit
            .saturating_add(1)
            .saturating_sub(self.consumed)
            .min(remaining);
        let want = (buf.len() as u64).min(allowed) as usize;
        if want == 0 {
            return Err(too_large);
        }
        let n = loop {
            match self.reader.read(&mut buf[..want]) {
                Ok(n) => break n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(BodyError::Io(err)),
            }
        };
        self.consumed += n as u64;
        if self.consumed > limit {
            return Err(too_large);
        }
        if n == 0 {
            if let Some(declared) = self.declared_len {
                return Err(BodyError::Truncated {
                    received: self.consumed,
                    declared,
                });
            }
        }
        Ok(n)
    }
}

impl Read for RequestBody {
    /// Reads as a stream, within [`BodyLimits::stream`].
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.read_checked(buf, BodyLimit::Stream)
            .map_err(|err| match err {
                BodyError::Io(err) => err,
                other => io::Error::new(io::ErrorKind::InvalidData, other),
            })
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("declared_len", &self.declared_len)
            .field("limits", &self.limits)
            .field("consumed", &self.consumed)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn undeclared(bytes: &[u8], limit: u64) -> RequestBody {
        RequestBody::new(io::Cursor::new(bytes.to_vec()), None, limit)
    }

    #[test]
    fn reads_a_body_within_the_limit() {
        let mut body = RequestBody::from_bytes(b"hello".to_vec(), 5);
        assert_eq!(body.read_to_vec().unwrap(), b"hello");
    }

    #[test]
    fn refuses_a_declared_length_over_the_limit_before_reading() {
        let mut body = RequestBody::new(io::Cursor::new(vec![0; 10]), Some(4_000_000_000), 100);
        assert!(matches!(
            body.read_to_vec(),
            Err(BodyError::TooLarge {
                limit: 100,
                which: BodyLimit::Whole
            })
        ));
    }

    #[test]
    fn refuses_an_undeclared_body_that_grows_past_the_limit() {
        let mut body = undeclared(&[7; 101], 100);
        assert!(matches!(
            body.read_to_vec(),
            Err(BodyError::TooLarge { .. })
        ));
        let mut exact = undeclared(&[7; 100], 100);
        assert_eq!(exact.read_to_vec().unwrap().len(), 100);
    }

    #[test]
    fn never_reads_past_the_declared_length() {
        let mut body = RequestBody::new(io::Cursor::new(b"abcdef".to_vec()), Some(3), 100);
        assert_eq!(body.read_to_vec().unwrap(), b"abc");
    }

    #[test]
    fn reports_a_body_shorter_than_declared() {
        let mut body = RequestBody::new(io::Cursor::new(b"ab".to_vec()), Some(3), 100);
        assert!(matches!(
            body.read_to_vec(),
            Err(BodyError::Truncated {
                received: 2,
                declared: 3
            })
        ));
    }

    fn two_limits() -> BodyLimits {
        BodyLimits {
            whole: 10,
            stream: 100,
        }
    }

    #[test]
    fn a_stream_may_go_past_the_whole_limit_but_not_the_stream_limit() {
        let mut body = RequestBody::new(io::Cursor::new(vec![1; 100]), None, two_limits());
        let mut read = Vec::new();
        body.read_to_end(&mut read).unwrap();
        assert_eq!(read.len(), 100);

        let mut body = RequestBody::new(io::Cursor::new(vec![1; 101]), None, two_limits());
        let err = body.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("max_stream_bytes"), "{err}");

        let mut body = RequestBody::new(io::Cursor::new(vec![1; 11]), None, two_limits());
        assert!(matches!(
            body.read_to_vec(),
            Err(BodyError::TooLarge {
                limit: 10,
                which: BodyLimit::Whole
            })
        ));
    }

    #[test]
    fn a_declared_length_over_either_limit_fails_before_reading() {
        /// A reader that must not be read.
        struct Untouchable;
        impl Read for Untouchable {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                panic!("read before the declared length was checked")
            }
        }
        let mut whole = RequestBody::new(Untouchable, Some(11), two_limits());
        assert!(matches!(
            whole.read_to_vec(),
            Err(BodyError::TooLarge {
                which: BodyLimit::Whole,
                ..
            })
        ));
        let mut stream = RequestBody::new(Untouchable, Some(101), two_limits());
        let err = stream.read(&mut [0; 8]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("max_stream_bytes"), "{err}");
    }

    #[test]
    fn unread_bytes_come_again_then_the_rest_within_the_same_limits() {
        let mut body = RequestBody::new(io::Cursor::new(b"abcdef".to_vec()), Some(6), 6);
        let mut first = [0; 4];
        body.read_exact(&mut first).unwrap();
        body.unread(first.to_vec());
        assert_eq!(body.read_to_vec().unwrap(), b"abcdef");

        let mut body = RequestBody::new(io::Cursor::new(vec![0; 8]), None, 6);
        let mut first = [0; 4];
        body.read_exact(&mut first).unwrap();
        body.unread(first.to_vec());
        assert!(
            body.read_to_vec().is_err(),
            "the limit counts the replay once"
        );
    }
}
