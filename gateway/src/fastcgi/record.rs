//! The FastCGI 1.0 wire format: record headers, the bodies of the fixed-size
//! records, and the name-value pair codec used by `FCGI_PARAMS` and
//! `FCGI_GET_VALUES`.
//!
//! This module only encodes and decodes; it keeps no state and does no
//! protocol logic. A name-value stream is decoded only once it is whole:
//! web servers split it at arbitrary points (`cgi-fcgi` even in the middle
//! of a pair), so callers join the content of every record of the stream
//! before calling [`decode_pairs`].

use std::io::{self, Read, Write};

use thiserror::Error;

/// The only protocol version there is.
pub const VERSION_1: u8 = 1;
/// Bytes in a record header.
pub const HEADER_LEN: usize = 8;
/// The most content bytes one record can carry.
pub const MAX_CONTENT_LEN: usize = u16::MAX as usize;
/// The request id of management records.
pub const NULL_REQUEST_ID: u16 = 0;

/// `flags` bit of `FCGI_BEGIN_REQUEST`: keep the connection open after the
/// response.
pub const FLAG_KEEP_CONN: u8 = 1;

/// The role a request asks the application to play.
pub mod role {
    /// Produce the response to an HTTP request; the only role quire plays.
    pub const RESPONDER: u16 = 1;
    /// Decide whether a request is allowed.
    pub const AUTHORIZER: u16 = 2;
    /// Transform a file the server passes along.
    pub const FILTER: u16 = 3;
}

/// The `protocolStatus` of `FCGI_END_REQUEST`.
pub mod protocol_status {
    /// The request ran to its end.
    pub const REQUEST_COMPLETE: u8 = 0;
    /// The application cannot run requests concurrently on one connection.
    pub const CANT_MPX_CONN: u8 = 1;
    /// The application is out of some resource.
    pub const OVERLOADED: u8 = 2;
    /// The application does not play the requested role.
    pub const UNKNOWN_ROLE: u8 = 3;
}

/// A record's type. Kept as the raw byte so that unknown types survive
/// decoding and can be answered with `FCGI_UNKNOWN_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordType(pub u8);

impl RecordType {
    /// Starts a request.
    pub const BEGIN_REQUEST: RecordType = RecordType(1);
    /// The web server gives up on a request.
    pub const ABORT_REQUEST: RecordType = RecordType(2);
    /// The application has finished a request.
    pub const END_REQUEST: RecordType = RecordType(3);
    /// A stream of name-value pairs: the CGI meta-variables.
    pub const PARAMS: RecordType = RecordType(4);
    /// A stream: the request body.
    pub const STDIN: RecordType = RecordType(5);
    /// A stream: the CGI response.
    pub const STDOUT: RecordType = RecordType(6);
    /// A stream: error output for the web server's log.
    pub const STDERR: RecordType = RecordType(7);
    /// A stream: the file a filter transforms.
    pub const DATA: RecordType = RecordType(8);
    /// Management: asks the application about its limits.
    pub const GET_VALUES: RecordType = RecordType(9);
    /// Management: the answer to `GET_VALUES`.
    pub const GET_VALUES_RESULT: RecordType = RecordType(10);
    /// Management: the application did not understand a management record.
    pub const UNKNOWN_TYPE: RecordType = RecordType(11);
}

/// Why bytes could not be read as FastCGI.
#[derive(Debug, Error)]
pub enum RecordError {
    /// The header carries a protocol version other than 1.
    #[error("unsupported FastCGI version {0}")]
    Version(u8),
    /// The stream ended inside a record.
    #[error("the connection ended inside a FastCGI record")]
    Truncated,
    /// A record's content does not fit its type.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// The kind of record or block.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A record would need more content than the format can carry.
    #[error("record content of {0} bytes is longer than 65535")]
    TooLong(usize),
    /// Reading or writing failed.
    #[error("FastCGI connection i/o failed")]
    Io(#[from] io::Error),
}

impl From<RecordError> for io::Error {
    fn from(err: RecordError) -> Self {
        match err {
            RecordError::Io(err) => err,
            RecordError::Truncated => io::Error::new(io::ErrorKind::UnexpectedEof, err),
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// A record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The record's type.
    pub record_type: RecordType,
    /// The request it belongs to; 0 for management records.
    pub request_id: u16,
    /// Bytes of content that follow the header.
    pub content_length: u16,
    /// Bytes of padding after the content.
    pub padding_length: u8,
}

impl Header {
    /// Decodes a header, refusing any version but 1.
    pub fn decode(bytes: [u8; HEADER_LEN]) -> Result<Header, RecordError> {
        if bytes[0] != VERSION_1 {
            return Err(RecordError::Version(bytes[0]));
        }
        Ok(Header {
            record_type: RecordType(bytes[1]),
            request_id: u16::from_be_bytes([bytes[2], bytes[3]]),
            content_length: u16::from_be_bytes([bytes[4], bytes[5]]),
            padding_length: bytes[6],
        })
    }

    /// Encodes the header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let [id_hi, id_lo] = self.request_id.to_be_bytes();
        let [len_hi, len_lo] = self.content_length.to_be_bytes();
        [
            VERSION_1,
            self.record_type.0,
            id_hi,
            id_lo,
            len_hi,
            len_lo,
            self.padding_length,
            0,
        ]
    }
}

/// One record: a type, a request id and at most 65535 bytes of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    record_type: RecordType,
    request_id: u16,
    content: Vec<u8>,
}

impl Record {
    /// A record, refusing content longer than a record can carry.
    pub fn new(
        record_type: RecordType,
        request_id: u16,
        content: Vec<u8>,
    ) -> Result<Record, RecordError> {
        if content.len() > MAX_CONTENT_LEN {
            return Err(RecordError::TooLong(content.len()));
        }
        Ok(Record {
            record_type,
            request_id,
            content,
        })
    }

    /// The record's type.
    pub fn record_type(&self) -> RecordType {
        self.record_type
    }

    /// The request it belongs to.
    pub fn request_id(&self) -> u16 {
        self.request_id
    }

    /// The content, without padding.
    pub fn content(&self) -> &[u8] {
        &self.content
    }

    /// Takes the content out.
    pub fn into_content(self) -> Vec<u8> {
        self.content
    }

    /// Reads one record. `Ok(None)` means the stream ended cleanly between
    /// records; an end inside a record is [`RecordError::Truncated`].
    pub fn read_from(reader: &mut impl Read) -> Result<Option<Record>, RecordError> {
        let mut header = [0u8; HEADER_LEN];
        let got = read_full(reader, &mut header)?;
        if got == 0 {
            return Ok(None);
        }
        if got < HEADER_LEN {
            return Err(RecordError::Truncated);
        }
        let header = Header::decode(header)?;
        let mut content = vec![0u8; usize::from(header.content_length)];
        if read_full(reader, &mut content)? < content.len() {
            return Err(RecordError::Truncated);
        }
        let mut padding = [0u8; 255];
        let padding = &mut padding[..usize::from(header.padding_length)];
        if read_full(reader, padding)? < padding.len() {
            return Err(RecordError::Truncated);
        }
        Ok(Some(Record {
            record_type: header.record_type,
            request_id: header.request_id,
            content,
        }))
    }

    /// Appends the encoded record to `out`, padded to a multiple of 8 bytes
    /// as the spec recommends.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        encode_record(self.record_type, self.request_id, &self.content, out);
    }

    /// The encoded record.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.content.len() + 7);
        self.encode_into(&mut out);
        out
    }

    /// Writes the encoded record.
    pub fn write_to(&self, writer: &mut impl Write) -> io::Result<()> {
        writer.write_all(&self.encode())
    }
}

/// Appends one record holding `content` (at most 65535 bytes, which callers
/// in this module guarantee) to `out`.
fn encode_record(record_type: RecordType, request_id: u16, content: &[u8], out: &mut Vec<u8>) {
    let content_length =
        u16::try_from(content.len()).expect("callers split content at MAX_CONTENT_LEN");
    let padding_length = (8 - content.len() % 8) % 8;
    let header = Header {
        record_type,
        request_id,
        content_length,
        padding_length: padding_length as u8,
    };
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(content);
    out.extend_from_slice(&[0u8; 8][..padding_length]);
}

/// Appends `data` to `out` as records of a stream, each carrying at most
/// `max_record` bytes (clamped to 1..=65535). Empty data appends nothing;
/// the empty record that ends a stream is the caller's to send.
pub fn encode_stream(
    record_type: RecordType,
    request_id: u16,
    data: &[u8],
    max_record: usize,
    out: &mut Vec<u8>,
) {
    for chunk in data.chunks(max_record.clamp(1, MAX_CONTENT_LEN)) {
        encode_record(record_type, request_id, chunk, out);
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// The body of `FCGI_BEGIN_REQUEST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeginRequest {
    /// The role asked for (see [`role`]).
    pub role: u16,
    /// Flags; only [`FLAG_KEEP_CONN`] is defined.
    pub flags: u8,
}

impl BeginRequest {
    /// Decodes the 8-byte body.
    pub fn decode(content: &[u8]) -> Result<BeginRequest, RecordError> {
        match content {
            [role_hi, role_lo, flags, ..] if content.len() == 8 => Ok(BeginRequest {
                role: u16::from_be_bytes([*role_hi, *role_lo]),
                flags: *flags,
            }),
            _ => Err(RecordError::Malformed {
                what: "FCGI_BEGIN_REQUEST",
                reason: "the body is not 8 bytes long",
            }),
        }
    }

    /// Encodes the 8-byte body.
    pub fn encode(&self) -> Vec<u8> {
        let [role_hi, role_lo] = self.role.to_be_bytes();
        vec![role_hi, role_lo, self.flags, 0, 0, 0, 0, 0]
    }

    /// Whether the web server wants the connection kept open afterwards.
    pub fn keep_conn(&self) -> bool {
        self.flags & FLAG_KEEP_CONN != 0
    }
}

/// The body of `FCGI_END_REQUEST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndRequest {
    /// The application's exit status, as a CGI's would be.
    pub app_status: u32,
    /// How the request ended (see [`protocol_status`]).
    pub protocol_status: u8,
}

impl EndRequest {
    /// Decodes the 8-byte body.
    pub fn decode(content: &[u8]) -> Result<EndRequest, RecordError> {
        match content {
            [a, b, c, d, status, ..] if content.len() == 8 => Ok(EndRequest {
                app_status: u32::from_be_bytes([*a, *b, *c, *d]),
                protocol_status: *status,
            }),
            _ => Err(RecordError::Malformed {
                what: "FCGI_END_REQUEST",
                reason: "the body is not 8 bytes long",
            }),
        }
    }

    /// Encodes the 8-byte body.
    pub fn encode(&self) -> Vec<u8> {
        let [a, b, c, d] = self.app_status.to_be_bytes();
        vec![a, b, c, d, self.protocol_status, 0, 0, 0]
    }
}

/// The body of `FCGI_UNKNOWN_TYPE`: the type that was not understood.
pub fn unknown_type_body(record_type: RecordType) -> Vec<u8> {
    vec![record_type.0, 0, 0, 0, 0, 0, 0, 0]
}

/// A name and its value, as bytes.
pub type Pair = (Vec<u8>, Vec<u8>);

/// The largest length a name or value can declare.
const MAX_PAIR_PART: usize = 0x7FFF_FFFF;

/// Decodes a whole name-value block (the joined content of a stream).
pub fn decode_pairs(mut data: &[u8]) -> Result<Vec<Pair>, RecordError> {
    let mut pairs = Vec::new();
    while !data.is_empty() {
        let name_len = take_length(&mut data)?;
        let value_len = take_length(&mut data)?;
        let name = take_bytes(&mut data, name_len)?;
        let value = take_bytes(&mut data, value_len)?;
        pairs.push((name.to_vec(), value.to_vec()));
    }
    Ok(pairs)
}

const TRUNCATED_PAIR: RecordError = RecordError::Malformed {
    what: "name-value pair",
    reason: "a length runs past the end of the block",
};

fn take_length(data: &mut &[u8]) -> Result<usize, RecordError> {
    match *data {
        [first, ..] if first & 0x80 == 0 => {
            *data = &data[1..];
            Ok(usize::from(*first))
        }
        [b3, b2, b1, b0, ..] => {
            let length = u32::from_be_bytes([b3 & 0x7F, *b2, *b1, *b0]);
            *data = &data[4..];
            usize::try_from(length).map_err(|_| TRUNCATED_PAIR)
        }
        _ => Err(TRUNCATED_PAIR),
    }
}

fn take_bytes<'a>(data: &mut &'a [u8], len: usize) -> Result<&'a [u8], RecordError> {
    if data.len() < len {
        return Err(TRUNCATED_PAIR);
    }
    let (taken, rest) = data.split_at(len);
    *data = rest;
    Ok(taken)
}

/// Appends name-value pairs to `out`, with 1-byte lengths below 128 and
/// 4-byte lengths otherwise.
pub fn encode_pairs<N, V>(
    pairs: impl IntoIterator<Item = (N, V)>,
    out: &mut Vec<u8>,
) -> Result<(), RecordError>
where
    N: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    for (name, value) in pairs {
        let (name, value) = (name.as_ref(), value.as_ref());
        put_length(name.len(), out)?;
        put_length(value.len(), out)?;
        out.extend_from_slice(name);
        out.extend_from_slice(value);
    }
    Ok(())
}

fn put_length(len: usize, out: &mut Vec<u8>) -> Result<(), RecordError> {
    if len < 0x80 {
        out.push(len as u8);
        return Ok(());
    }
    let len = u32::try_from(len)
        .ok()
        .filter(|&len| len as usize <= MAX_PAIR_PART)
        .ok_or(RecordError::Malformed {
            what: "name-value pair",
            reason: "a name or value is longer than 2^31 - 1 bytes",
        })?;
    out.extend_from_slice(&(len | 0x8000_0000).to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_record_is_padded_to_eight_bytes_and_reads_back() {
        let record = Record::new(RecordType::STDOUT, 7, b"hello".to_vec()).unwrap();
        let bytes = record.encode();
        assert_eq!(bytes.len(), 16);
        assert_eq!(&bytes[..8], &[1, 6, 0, 7, 0, 5, 3, 0]);
        let back = Record::read_from(&mut &bytes[..]).unwrap().unwrap();
        assert_eq!(back, record);
    }

    #[test]
    fn refuses_another_version_and_a_truncated_record() {
        let bytes = [2u8, 1, 0, 1, 0, 0, 0, 0];
        assert!(matches!(
            Record::read_from(&mut &bytes[..]),
            Err(RecordError::Version(2))
        ));
        let short = [1u8, 5, 0, 1, 0, 10, 0, 0, b'x'];
        assert!(matches!(
            Record::read_from(&mut &short[..]),
            Err(RecordError::Truncated)
        ));
        let half_header = [1u8, 5, 0];
        assert!(matches!(
            Record::read_from(&mut &half_header[..]),
            Err(RecordError::Truncated)
        ));
        assert!(Record::read_from(&mut &[][..]).unwrap().is_none());
    }

    #[test]
    fn refuses_content_longer_than_a_record() {
        assert!(matches!(
            Record::new(RecordType::STDOUT, 1, vec![0; MAX_CONTENT_LEN + 1]),
            Err(RecordError::TooLong(65536))
        ));
    }

    #[test]
    fn a_stream_is_split_at_the_record_limit() {
        let mut out = Vec::new();
        encode_stream(
            RecordType::STDOUT,
            1,
            &vec![9; 70_000],
            MAX_CONTENT_LEN,
            &mut out,
        );
        let mut reader = &out[..];
        let first = Record::read_from(&mut reader).unwrap().unwrap();
        let second = Record::read_from(&mut reader).unwrap().unwrap();
        assert_eq!(first.content().len(), 65535);
        assert_eq!(second.content().len(), 70_000 - 65535);
        assert!(Record::read_from(&mut reader).unwrap().is_none());
    }

    #[test]
    fn pairs_use_one_and_four_byte_lengths() {
        let long = vec![b'v'; 300];
        let mut out = Vec::new();
        encode_pairs([(&b"A"[..], &long[..])], &mut out).unwrap();
        assert_eq!(&out[..5], &[1, 0x80, 0, 1, 44]);
        assert_eq!(decode_pairs(&out).unwrap(), vec![(b"A".to_vec(), long)]);
    }

    #[test]
    fn refuses_a_pair_that_runs_past_the_block() {
        assert!(decode_pairs(&[4, 1, b'a']).is_err());
        assert!(decode_pairs(&[0x80, 0, 0]).is_err());
        assert!(decode_pairs(&[0xFF, 0xFF, 0xFF, 0xFF, 0]).is_err());
    }

    #[test]
    fn begin_and_end_bodies_round_trip() {
        let begin = BeginRequest {
            role: role::RESPONDER,
            flags: FLAG_KEEP_CONN,
        };
        assert_eq!(BeginRequest::decode(&begin.encode()).unwrap(), begin);
        assert!(begin.keep_conn());
        assert!(BeginRequest::decode(&[0, 1, 1]).is_err());
        let end = EndRequest {
            app_status: 0xDEAD_BEEF,
            protocol_status: protocol_status::OVERLOADED,
        };
        assert_eq!(EndRequest::decode(&end.encode()).unwrap(), end);
    }

    proptest! {
        #[test]
        fn reading_records_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut reader = &bytes[..];
            while let Ok(Some(_)) = Record::read_from(&mut reader) {}
        }

        #[test]
        fn decoding_pairs_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = decode_pairs(&bytes);
        }

        #[test]
        fn records_round_trip(
            kind in any::<u8>(),
            id in any::<u16>(),
            content in proptest::collection::vec(any::<u8>(), 0..2000),
        ) {
            let record = Record::new(RecordType(kind), id, content).unwrap();
            let bytes = record.encode();
            prop_assert_eq!(bytes.len() % 8, 0);
            let mut reader = &bytes[..];
            prop_assert_eq!(Record::read_from(&mut reader).unwrap(), Some(record));
            prop_assert!(reader.is_empty());
        }

        #[test]
        fn pairs_round_trip(
            pairs in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..300),
                 proptest::collection::vec(any::<u8>(), 0..300)),
                0..8,
            ),
        ) {
            let mut out = Vec::new();
            encode_pairs(pairs.iter().map(|(n, v)| (n, v)), &mut out).unwrap();
            prop_assert_eq!(decode_pairs(&out).unwrap(), pairs);
        }
    }
}
