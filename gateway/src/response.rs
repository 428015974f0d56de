//! Responses: the `http` crate's response with a body that is bytes or a reader.

use std::fmt;
use std::io::{self, Read};

use bytes::Bytes;

/// A response as apps return it and adapters send it.
pub type Response = http::Response<ResponseBody>;

/// A response body: bytes known up front, or a reader streamed to the client.
///
/// A reader's length is unknown to the gateway unless the app says it with
/// a `Content-Length` header (for a file, it knows it). Every adapter then
/// sends the body with that fixed length (never chunked, never read whole
/// first), and answers `HEAD` with the length and no body; CGI and SCGI
/// also stop at that length, and report a reader that ends short of it. A
/// reader without `Content-Length` is sent chunked (HTTP) or until it ends.
/// The length lives in the header alone, not in a second body variant, so
/// that it is one fact in one place, which middleware already know how to
/// keep or drop (gzip drops it).
pub enum ResponseBody {
    /// The whole body, in memory.
    Bytes(Bytes),
    /// A body produced while it is sent, such as a large file.
    Reader(Box<dyn Read + Send>),
}

impl ResponseBody {
    /// An empty body.
    pub fn empty() -> Self {
        ResponseBody::Bytes(Bytes::new())
    }

    /// A body streamed from `reader`.
    pub fn reader(reader: impl Read + Send + 'static) -> Self {
        ResponseBody::Reader(Box::new(reader))
    }

    /// The length in bytes, when known without reading.
    pub fn len(&self) -> Option<u64> {
        match self {
            ResponseBody::Bytes(bytes) => Some(bytes.len() as u64),
            ResponseBody::Reader(_) => None,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Reads the whole body into memory.
    pub fn into_bytes(self) -> io::Result<Bytes> {
        match self {
            ResponseBody::Bytes(bytes) => Ok(bytes),
            ResponseBody::Reader(mut reader) => {
                let mut buffer = Vec::new();
                reader.read_to_end(&mut buffer)?;
                Ok(Bytes::from(buffer))
            }
        }
    }

    /// The body as a reader, whatever it holds.
    pub fn into_reader(self) -> Box<dyn Read + Send> {
        match self {
            ResponseBody::Bytes(bytes) => Box::new(io::Cursor::new(bytes)),
            ResponseBody::Reader(reader) => reader,
        }
    }
}

/// The length a response declares in its `Content-Length`, if it declares a
/// readable one.
pub(crate) fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
}

impl Default for ResponseBody {
    fn default() -> Self {
        ResponseBody::empty()
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseBody::Bytes(bytes) => f.debug_tuple("Bytes").field(&bytes.len()).finish(),
            ResponseBody::Reader(_) => f.write_str("Reader(..)"),
        }
    }
}

impl From<Bytes> for ResponseBody {
    fn from(bytes: Bytes) -> Self {
        ResponseBody::Bytes(bytes)
    }
}

impl From<Vec<u8>> for ResponseBody {
    fn from(bytes: Vec<u8>) -> Self {
        ResponseBody::Bytes(Bytes::from(bytes))
    }
}

impl From<String> for ResponseBody {
    fn from(text: String) -> Self {
        ResponseBody::Bytes(Bytes::from(text))
    }
}

impl From<&'static str> for ResponseBody {
    fn from(text: &'static str) -> Self {
        ResponseBody::Bytes(Bytes::from_static(text.as_bytes()))
    }
}

impl From<&'static [u8]> for ResponseBody {
    fn from(bytes: &'static [u8]) -> Self {
        ResponseBody::Bytes(Bytes::from_static(bytes))
    }
}
