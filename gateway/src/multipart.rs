//! A streaming `multipart/form-data` reader (RFC 7578, with RFC 2046's
//! boundaries), for uploads.
//!
//! [`Multipart`] reads parts one after the other from any [`Read`]; each
//! [`Part`] is itself a reader of its content. Memory stays bounded whatever
//! the part sizes: one buffer of [`BUFFER_BYTES`] plus the delimiter's
//! length, and the current part's head (at most [`MAX_HEAD_BYTES`]). A part
//! read only partly, or not at all, is skipped by the next
//! [`Multipart::next_part`].
//!
//! How it finds the parts: every delimiter is `CRLF--boundary`. The reader
//! behaves as if the body began with a CRLF, so the first delimiter (which
//! has no CRLF of its own when there is no preamble) is found like the
//! others; whatever precedes it is the preamble and is thrown away, as is
//! whatever follows the closing `--boundary--` (the epilogue). While a part
//! is read, the buffer's last `delimiter length - 1` bytes are held back,
//! since they may be the start of a delimiter split across two reads.
//!
//! What it deliberately does not do: decode `Content-Transfer-Encoding`
//! (RFC 7578 §4.7 deprecates it; browsers never send it), nested
//! `multipart/mixed` (likewise), or percent-decoding of the `%22`, `%0D`
//! and `%0A` that browsers put for `"`, CR and LF in file names: a name is
//! given as sent, and cleaning it is the caller's job.
//!
//! Errors keep the body's own apart: a [`BodyError`] from a
//! [`crate::RequestBody`] (above all [`BodyError::TooLarge`], answered 413)
//! comes back as [`MultipartError::Body`], from [`Multipart::next_part`] and
//! (through [`MultipartError::from_io`]) from a [`Part`]'s reads.
//!
//! ```
//! use std::io::Read;
//! use gateway::multipart::Multipart;
//!
//! let body = "--XyZ\r\n\
//!     Content-Disposition: form-data; name=\"comment\"\r\n\r\n\
//!     first upload\r\n\
//!     --XyZ\r\n\
//!     Content-Disposition: form-data; name=\"file\"; filename=\"notes.txt\"\r\n\
//!     Content-Type: text/plain\r\n\r\n\
//!     some notes\r\n\
//!     --XyZ--\r\n";
//! let mut form = Multipart::new(body.as_bytes(), "XyZ").unwrap();
//! let mut comment = form.next_part().unwrap().unwrap();
//! assert_eq!(comment.name(), "comment");
//! assert_eq!(comment.read_text(100).unwrap(), "first upload");
//! let mut file = form.next_part().unwrap().unwrap();
//! assert_eq!(file.file_name(), Some("notes.txt"));
//! assert_eq!(file.content_type(), Some("text/plain"));
//! let mut content = Vec::new();
//! file.read_to_end(&mut content).unwrap();
//! assert_eq!(content, b"some notes");
//! assert!(form.next_part().unwrap().is_none());
//! ```

use std::fmt;
use std::io::{self, Read};

use http::header;
use thiserror::Error;

use crate::{BodyError, Request, RequestBody};

/// The bytes of a part's content read ahead of the caller (plus the
/// delimiter's length): the reader's memory, whatever the part's size.
pub const BUFFER_BYTES: usize = 64 * 1024;

/// The largest part head (its header lines) accepted.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// The most parts one body may have: a form has a few fields and files, and
/// a body of thousands of empty parts is only work for the server.
pub const MAX_PARTS: usize = 1000;

/// The longest boundary RFC 2046 allows.
const MAX_BOUNDARY: usize = 70;

/// Why a multipart body could not be read.
#[derive(Debug, Error)]
pub enum MultipartError {
    /// The request's `Content-Type` is not `multipart/form-data` (answered 415).
    #[error("the request is not multipart/form-data")]
    NotMultipart,
    /// The boundary is missing, empty, longer than 70 characters or has
    /// characters RFC 2046 does not allow.
    #[error("the multipart boundary is missing or invalid")]
    BadBoundary,
    /// The body does not have the shape of a multipart body.
    #[error("malformed multipart body: {0}")]
    Malformed(&'static str),
    /// A part's head is larger than [`MAX_HEAD_BYTES`].
    #[error("a part's head is larger than {limit} bytes")]
    HeadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body has more than [`MAX_PARTS`] parts.
    #[error("the body has more than {limit} parts")]
    TooManyParts {
        /// The limit.
        limit: usize,
    },
    /// The body ended before its closing delimiter (a client that gave up
    /// mid-upload, or a body cut short).
    #[error("the multipart body ended before its closing delimiter")]
    Truncated,
    /// A field read with [`Part::read_text`] is longer than asked.
    #[error("field {name:?} is longer than {limit} bytes")]
    FieldTooLarge {
        /// The field's name.
        name: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A field read with [`Part::read_text`], or a part head, is not UTF-8.
    #[error("a multipart field or part head is not UTF-8")]
    NotUtf8,
    /// The request body failed: over its limit (413), shorter than declared.
    #[error(transparent)]
    Body(BodyError),
    /// Reading failed for another reason.
    #[error("could not read the multipart body")]
    Io(#[source] io::Error),
}

impl MultipartError {
    /// The error behind an [`io::Error`] returned by a [`Part`]'s reads (or
    /// by a [`RequestBody`] read as a [`Read`]): a [`MultipartError`] or a
    /// [`BodyError`] comes out as itself, anything else as [`MultipartError::Io`].
    /// Callers that hand a part to code taking a `Read` (a storage upload)
    /// use it to tell a body over the limit (413) from a broken one (400).
    pub fn from_io(err: io::Error) -> MultipartError {
        if err
            .get_ref()
            .is_some_and(|inner| inner.is::<MultipartError>())
        {
            let inner = err.into_inner().expect("checked just above");
            return *inner
                .downcast::<MultipartError>()
                .expect("checked just above");
        }
        if err.get_ref().is_some_and(|inner| inner.is::<BodyError>()) {
            let inner = err.into_inner().expect("checked just above");
            return MultipartError::Body(
                *inner.downcast::<BodyError>().expect("checked just above"),
            );
        }
        MultipartError::Io(err)
    }

    /// The error as a [`Read`] reports it: its kind says what happened, and
    /// [`MultipartError::from_io`] gets the error back.
    fn into_io(self) -> io::Error {
        match self {
            MultipartError::Io(err) => err,
            MultipartError::Body(BodyError::Io(err)) => err,
            MultipartError::Truncated => io::Error::new(io::ErrorKind::UnexpectedEof, self),
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

impl From<io::Error> for MultipartError {
    fn from(err: io::Error) -> Self {
        MultipartError::from_io(err)
    }
}

/// Where the reader is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter, or inside a part's content: the next
    /// delimiter ends what is being read.
    Content,
    /// Just after a delimiter: a part head or the closing `--` follows.
    AfterDelimiter,
    /// After the closing delimiter.
    Done,
    /// An error was returned; nothing more is read.
    Failed,
}

/// A streaming reader of a `multipart/form-data` body. See the [module docs](self).
pub struct Multipart<R> {
    reader: R,
    /// `CRLF--boundary`.
    delimiter: Vec<u8>,
    /// `buffer[start..end]` is read and not yet consumed.
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    /// How many of the unread bytes are known to be content (no delimiter
    /// starts among them), so that small reads do not search again.
    content_ahead: usize,
    /// The reader returned end of file.
    eof: bool,
    state: State,
    parts: usize,
}

impl<R: Read> Multipart<R> {
    /// A reader of the parts of `reader`, separated by `boundary` (as given
    /// in the content type, without the leading `--`).
    pub fn new(reader: R, boundary: &str) -> Result<Self, MultipartError> {
        if !is_valid_boundary(boundary) {
            return Err(MultipartError::BadBoundary);
        }
        let delimiter = [b"\r\n--", boundary.as_bytes()].concat();
        let mut buffer = vec![0; BUFFER_BYTES + delimiter.len()].into_boxed_slice();
        // The body read as if it began with CRLF: see the module docs.
        buffer[..2].copy_from_slice(b"\r\n");
        Ok(Multipart {
            reader,
            delimiter,
            buffer,
            start: 0,
            end: 2,
            content_ahead: 0,
            eof: false,
            state: State::Content,
            parts: 0,
        })
    }

    /// The next part, or `None` after the closing delimiter. What is left
    /// of the previous part is read and thrown away.
    pub fn next_part(&mut self) -> Result<Option<Part<'_, R>>, MultipartError> {
        match self.next_head() {
            Ok(Some(head)) => Ok(Some(Part {
                multipart: self,
                head,
            })),
            Ok(None) => Ok(None),
            Err(err) => {
                self.state = State::Failed;
                Err(err)
            }
        }
    }

    fn next_head(&mut self) -> Result<Option<Head>, MultipartError> {
        if self.state == State::Content {
            self.skip_content()?;
        }
        match self.state {
            State::Content => unreachable!("skip_content ends at a delimiter or fails"),
            State::Done => return Ok(None),
            State::Failed => return Err(MultipartError::Malformed("it failed earlier")),
            State::AfterDelimiter => {}
        }
        if !self.fill_to(2)? {
            return Err(MultipartError::Truncated);
        }
        if self.unread().starts_with(b"--") {
            self.state = State::Done;
            return Ok(None);
        }
        self.skip_transport_padding()?;
        if !self.unread().starts_with(b"\r\n") {
            return Err(MultipartError::Malformed(
                "a delimiter is not followed by a line end",
            ));
        }
        if self.parts == MAX_PARTS {
            return Err(MultipartError::TooManyParts { limit: MAX_PARTS });
        }
        self.parts += 1;
        let head = self.read_head()?;
        self.state = State::Content;
        Ok(Some(head))
    }

    /// Skips the spaces and tabs RFC 2046 allows after a delimiter.
    fn skip_transport_padding(&mut self) -> Result<(), MultipartError> {
        let mut skipped = 0;
        loop {
            let padding = self
                .unread()
                .iter()
                .take_while(|&&byte| byte == b' ' || byte == b'\t')
                .count();
            self.start += padding;
            skipped += padding;
            if skipped > MAX_HEAD_BYTES {
                return Err(MultipartError::HeadTooLarge {
                    limit: MAX_HEAD_BYTES,
                });
            }
            if !self.fill_to(2)? {
                return Err(MultipartError::Truncated);
            }
            if padding == 0 {
                return Ok(());
            }
        }
    }

    /// Reads the head that starts at the CRLF after a delimiter line, up to
    /// and with the blank line that ends it.
    fn read_head(&mut self) -> Result<Head, MultipartError> {
        let mut searched = 0;
        loop {
            if let Some(at) = find(&self.unread()[searched..], b"\r\n\r\n") {
                let at = searched + at;
                if at > MAX_HEAD_BYTES + 2 {
                    return Err(MultipartError::HeadTooLarge {
                        limit: MAX_HEAD_BYTES,
                    });
                }
                let head = parse_head(self.unread().get(2..at).unwrap_or_default())?;
                self.start += at + 4;
                return Ok(head);
            }
            let unread = self.unread().len();
            // Without a blank line among `unread` bytes, one may still start at `unread - 3`, which
            // is within the limit until `unread - 3` passes `MAX_HEAD_BYTES + 2`.
            if unread > MAX_HEAD_BYTES + 5 {
                return Err(MultipartError::HeadTooLarge {
                    limit: MAX_HEAD_BYTES,
                });
            }
            searched = unread.saturating_sub(3);
            if !self.fill_to(unread + 1)? {
                return Err(MultipartError::Truncated);
            }
        }
    }

    /// Reads and throws away content up to the next delimiter.
    fn skip_content(&mut self) -> Result<(), MultipartError> {
        let mut sink = [0u8; 8 * 1024];
        while self.read_content(&mut sink)? > 0 {}
        Ok(())
    }

    /// Reads content of the current part (or the preamble) into `out`; `0`
    /// at the delimiter that ends it, which is consumed.
    fn read_content(&mut self, out: &mut [u8]) -> Result<usize, MultipartError> {
        if self.state != State::Content || out.is_empty() {
            return Ok(0);
        }
        while self.content_ahead == 0 {
            let unread = self.unread();
            match find(unread, &self.delimiter) {
                Some(0) => {
                    self.start += self.delimiter.len();
                    self.state = State::AfterDelimiter;
                    return Ok(0);
                }
                Some(at) => self.content_ahead = at,
                // The last bytes may begin a delimiter that the next read completes.
                None => {
                    self.content_ahead = unread.len().saturating_sub(self.delimiter.len() - 1);
                    if self.content_ahead == 0 && !self.fill_to(self.delimiter.len())? {
                        return Err(MultipartError::Truncated);
                    }
                }
            }
        }
        let n = self.content_ahead.min(out.len());
        out[..n].copy_from_slice(&self.buffer[self.start..self.start + n]);
        self.start += n;
        self.content_ahead -= n;
        Ok(n)
    }

    fn unread(&self) -> &[u8] {
        &self.buffer[self.start..self.end]
    }

    /// Reads until at least `wanted` bytes are unread (at most the buffer's
    /// size); `false` if the body ends first.
    fn fill_to(&mut self, wanted: usize) -> Result<bool, MultipartError> {
        debug_assert!(wanted <= self.buffer.len());
        while self.end - self.start < wanted {
            if self.eof {
                return Ok(false);
            }
            if self.end == self.buffer.len() || self.start > 0 {
                self.buffer.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let n = loop {
                match self.reader.read(&mut self.buffer[self.end..]) {
                    Ok(n) => break n,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Err(err) => return Err(MultipartError::from_io(err)),
                }
            };
            if n == 0 {
                self.eof = true;
            }
            self.end += n;
        }
        Ok(true)
    }
}

impl<'r> Multipart<&'r mut RequestBody> {
    /// A reader of the request's body, with the boundary from its
    /// `Content-Type`, which must be `multipart/form-data`.
    pub fn from_request(request: &'r mut Request) -> Result<Self, MultipartError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .ok_or(MultipartError::NotMultipart)?;
        let boundary = boundary_of(content_type)?;
        Multipart::new(request.body_mut(), &boundary)
    }
}

impl<R> fmt::Debug for Multipart<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Multipart")
            .field("state", &self.state)
            .field("parts", &self.parts)
            .finish_non_exhaustive()
    }
}

/// The boundary of a `multipart/form-data` content type.
fn boundary_of(content_type: &str) -> Result<String, MultipartError> {
    let (essence, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !essence.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(MultipartError::NotMultipart);
    }
    parameters(params)
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value)
        .ok_or(MultipartError::BadBoundary)
}

/// RFC 2046 §5.1.1: 1 to 70 of `bchars`, not ending in a space.
fn is_valid_boundary(boundary: &str) -> bool {
    let is_bchar = |byte: u8| byte.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&byte);
    (1..=MAX_BOUNDARY).contains(&boundary.len())
        && boundary.bytes().all(is_bchar)
        && !boundary.ends_with(' ')
}

/// What a part's head says.
#[derive(Debug)]
struct Head {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
}

fn parse_head(bytes: &[u8]) -> Result<Head, MultipartError> {
    let text = std::str::from_utf8(bytes).map_err(|_| MultipartError::NotUtf8)?;
    let mut disposition = None;
    let mut content_type = None;
    for line in text.split("\r\n") {
        let (name, value) = line
            .split_once(':')
            .ok_or(MultipartError::Malformed("a part header line has no colon"))?;
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-disposition") {
            disposition = Some(value.trim());
        } else if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.trim().to_owned());
        }
    }
    let disposition = disposition.ok_or(MultipartError::Malformed(
        "a part has no Content-Disposition",
    ))?;
    let (kind, params) = disposition.split_once(';').unwrap_or((disposition, ""));
    if !kind.trim().eq_ignore_ascii_case("form-data") {
        return Err(MultipartError::Malformed(
            "a part's Content-Disposition is not form-data",
        ));
    }
    let mut name = None;
    let mut file_name = None;
    let mut extended_file_name = None;
    for (key, value) in parameters(params) {
        match key.to_ascii_lowercase().as_str() {
            "name" => name = Some(value),
            "filename" => file_name = Some(value),
            "filename*" => extended_file_name = decode_ext_value(&value),
            _ => {}
        }
    }
    Ok(Head {
        name: name.ok_or(MultipartError::Malformed("a part has no name"))?,
        file_name: extended_file_name.or(file_name),
        content_type,
    })
}

/// The `name=value` parameters after a header's first item, values unquoted
/// (`\"` and `\\` are escapes; any other backslash is kept, since browsers
/// send Windows paths and names with backslashes as they are). A `;` inside
/// quotes does not split.
fn parameters(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ';' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return found;
        }
        let name_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..name_end].trim().to_owned();
        rest = &rest[name_end..];
        let Some(after_equals) = rest.strip_prefix('=') else {
            continue;
        };
        let after_equals = after_equals.trim_start();
        let value;
        if let Some(quoted) = after_equals.strip_prefix('"') {
            let (unquoted, used) = unquote(quoted);
            value = unquoted;
            rest = &quoted[used..];
        } else {
            let value_end = after_equals.find(';').unwrap_or(after_equals.len());
            value = after_equals[..value_end].trim().to_owned();
            rest = &after_equals[value_end..];
        }
        found.push((name, value));
    }
}

/// The inside of a quoted string that `text` begins after its opening
/// quote, and how many bytes of `text` it took (the closing quote too; all
/// of `text` if it is never closed).
fn unquote(text: &str) -> (String, usize) {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return (value, at + 1),
            '\\' => match chars.clone().next() {
                Some((_, escaped @ ('"' | '\\'))) => {
                    value.push(escaped);
                    chars.next();
                }
                _ => value.push('\\'),
            },
            c => value.push(c),
        }
    }
    (value, text.len())
}

/// An RFC 8187 `ext-value` (`UTF-8''caf%C3%A9`), decoded; `None` for a
/// charset other than UTF-8 or ISO-8859-1, or bytes that are not text in it.
fn decode_ext_value(value: &str) -> Option<String> {
    let mut pieces = value.splitn(3, '\'');
    let charset = pieces.next()?;
    let _language = pieces.next()?;
    let encoded = pieces.next()?;
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(encoded).collect();
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}

/// One part of a multipart body: its head, and a reader of its content.
pub struct Part<'m, R> {
    multipart: &'m mut Multipart<R>,
    head: Head,
}

impl<R: Read> Part<'_, R> {
    /// The form field's name.
    pub fn name(&self) -> &str {
        &self.head.name
    }

    /// The file name the client sent for a file field (`filename*` when
    /// given, else `filename`), as sent: it may hold a path, `..` or
    /// anything else, and must be cleaned before use. `None` for a plain
    /// field. A file input left empty is sent with `Some("")`.
    pub fn file_name(&self) -> Option<&str> {
        self.head.file_name.as_deref()
    }

    /// The part's `Content-Type`, as sent; `None` when absent (RFC 7578
    /// says `text/plain` then).
    pub fn content_type(&self) -> Option<&str> {
        self.head.content_type.as_deref()
    }

    /// The content as text, for a small field: at most `max_bytes`, UTF-8.
    pub fn read_text(&mut self, max_bytes: u64) -> Result<String, MultipartError> {
        let mut bytes = Vec::new();
        let mut limited = (&mut *self).take(max_bytes.saturating_add(1));
        limited
            .read_to_end(&mut bytes)
            .map_err(MultipartError::from_io)?;
        if bytes.len() as u64 > max_bytes {
            return Err(MultipartError::FieldTooLarge {
                name: self.head.name.clone(),
                limit: max_bytes,
            });
        }
        String::from_utf8(bytes).map_err(|_| MultipartError::NotUtf8)
    }
}

impl<R: Read> Read for Part<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.multipart.read_content(buf) {
            Ok(n) => Ok(n),
            Err(err) => {
                self.multipart.state = State::Failed;
                Err(err.into_io())
            }
        }
    }
}

impl<R> fmt::Debug for Part<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Part")
            .field("name", &self.head.name)
            .field("file_name", &self.head.file_name)
            .field("content_type", &self.head.content_type)
            .finish_non_exhaustive()
    }
}

/// Where `needle` first occurs in `haystack`: a scan for its first byte, then
/// a comparison, which is quick since a delimiter starts with CR.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let mut from = 0;
    while from + needle.len() <= haystack.len() {
        let at = from
            + haystack[from..=haystack.len() - needle.len()]
                .iter()
                .position(|&byte| byte == first)?;
        if haystack[at + 1..at + needle.len()] == *rest {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests;
