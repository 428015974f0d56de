//! The request body: a reader that refuses to go past a size limit.
//!
//! Adapters hand the app whatever the protocol gives them (CGI's stdin,
//! FastCGI's stdin records, an HTTP payload), wrapped so that no app can be
//! made to read more than [`crate::GatewayConfig::max_body_bytes`]. A body
//! whose declared `Content-Length` is already over the limit fails on the
//! first read, before anything is consumed.

use std::fmt;
use std::io::{self, Read};

use thiserror::Error;

/// Why a request body could not be read.
#[derive(Debug, Error)]
pub enum BodyError {
    /// The body is larger than the configured limit (answered 413).
    #[error("request body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
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

/// The body of a request, bounded by a maximum size.
pub struct RequestBody {
    reader: Box<dyn Read + Send>,
    declared_len: Option<u64>,
    limit: u64,
    consumed: u64,
}

impl RequestBody {
    /// A body read from `reader`. `declared_len` is the `Content-Length` the
    /// client sent, if any: the body never yields more than that, and fails
    /// when it ends short of it.
    pub fn new(reader: impl Read + Send + 'static, declared_len: Option<u64>, limit: u64) -> Self {
        RequestBody {
            reader: Box::new(reader),
            declared_len,
            limit,
            consumed: 0,
        }
    }

    /// A body with no bytes.
    pub fn empty() -> Self {
        RequestBody::new(io::empty(), Some(0), 0)
    }

    /// A body held in memory, with its length declared.
    pub fn from_bytes(bytes: Vec<u8>, limit: u64) -> Self {
        let len = bytes.len() as u64;
        RequestBody::new(io::Cursor::new(bytes), Some(len), limit)
    }

    /// The length the client declared, if any.
    pub fn declared_len(&self) -> Option<u64> {
        self.declared_len
    }

    /// The most bytes this body will yield.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Reads the whole body, failing with [`BodyError::TooLarge`] past the limit.
    pub fn read_to_vec(&mut self) -> Result<Vec<u8>, BodyError> {
        if let Some(declared) = self.declared_len {
            if declared > self.limit {
                return Err(BodyError::TooLarge { limit: self.limit });
            }
        }
        let capacity = self.declared_len.unwrap_or(0).min(self.limit).min(1 << 20);
        let mut buffer = Vec::with_capacity(capacity as usize);
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = self.read_checked(&mut chunk)?;
            if n == 0 {
                return Ok(buffer);
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
    }

    fn read_checked(&mut self, buf: &mut [u8]) -> Result<usize, BodyError> {
        let end = self.declared_len.unwrap_or(u64::MAX);
        if let Some(declared) = self.declared_len {
            if declared > self.limit {
                return Err(BodyError::TooLarge { limit: self.limit });
            }
        }
        let remaining = end - self.consumed;
        if remaining == 0 {
            return Ok(0);
        }
        // Ask for one byte past the limit so a body without a declared length
        // that goes over it is noticed rather than silently cut.
        let allowed = (self.limit + 1)
            .saturating_sub(self.consumed)
            .min(remaining);
        let want = (buf.len() as u64).min(allowed) as usize;
        if want == 0 {
            return Err(BodyError::TooLarge { limit: self.limit });
        }
        let n = loop {
            match self.reader.read(&mut buf[..want]) {
                Ok(n) => break n,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(BodyError::Io(err)),
            }
        };
        self.consumed += n as u64;
        if self.consumed > self.limit {
            return Err(BodyError::TooLarge { limit: self.limit });
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
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.read_checked(buf).map_err(|err| match err {
            BodyError::Io(err) => err,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        })
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("declared_len", &self.declared_len)
            .field("limit", &self.limit)
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
            Err(BodyError::TooLarge { limit: 100 })
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
}
