//! The SCGI request head: a netstring (`LENGTH:` + bytes + `,`) holding
//! NUL-terminated names and values, `CONTENT_LENGTH` first and `SCGI` = `1`
//! among them.
//!
//! Only the framing is checked here; what the variables mean is
//! [`crate::environ`]'s business, as for CGI and FastCGI.

use std::collections::HashSet;
use std::io::{self, Read};

use thiserror::Error;

use crate::fastcgi::Pair;

/// The largest request head read, in bytes. A web server sends a few
/// kilobytes; the same bound as FastCGI params.
pub const MAX_HEAD_BYTES: usize = 1 << 20;

/// Why bytes could not be read as an SCGI request head.
#[derive(Debug, Error)]
pub enum HeadError {
    /// The peer closed the connection before sending anything.
    #[error("the connection closed before a request")]
    Closed,
    /// The netstring does not start with a decimal length and a colon.
    #[error("the request head does not start with a netstring length")]
    BadLength,
    /// The netstring is longer than the limit (answered 431).
    #[error("the request head is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The connection ended inside the head.
    #[error("the connection ended inside the request head")]
    Truncated,
    /// The head's content breaks the format.
    #[error("malformed request head: {0}")]
    Malformed(&'static str),
    /// Reading failed (including a read that waited past the timeout).
    #[error("reading the request head failed")]
    Io(#[source] io::Error),
}

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pairs: Vec<Pair>,
    content_length: u64,
}

impl Head {
    /// Reads a head from `reader`, refusing one whose declared length is
    /// over `limit` before reading (or allocating) any of it.
    pub fn read_from(reader: &mut impl Read, limit: usize) -> Result<Head, HeadError> {
        let len = read_length(reader, limit)?;
        let mut block = vec![0u8; len];
        reader.read_exact(&mut block).map_err(eof_is_truncated)?;
        let mut comma = [0u8; 1];
        reader.read_exact(&mut comma).map_err(eof_is_truncated)?;
        if comma != *b"," {
            return Err(HeadError::Malformed(
                "the netstring does not end with a comma",
            ));
        }
        Head::parse(&block)
    }

    /// Parses a netstring's content: `NAME\0VALUE\0` pairs.
    pub fn parse(block: &[u8]) -> Result<Head, HeadError> {
        let Some(fields) = block.strip_suffix(b"\0") else {
            return Err(HeadError::Malformed(
                "a name or value is not NUL-terminated",
            ));
        };
        let fields: Vec<&[u8]> = fields.split(|&byte| byte == 0).collect();
        if !fields.len().is_multiple_of(2) {
            return Err(HeadError::Malformed("a name has no value"));
        }
        let mut pairs = Vec::with_capacity(fields.len() / 2);
        let mut seen = HashSet::new();
        for pair in fields.chunks_exact(2) {
            let (name, value) = (pair[0], pair[1]);
            if name.is_empty() {
                return Err(HeadError::Malformed("a name is empty"));
            }
            if !seen.insert(name) {
                return Err(HeadError::Malformed("a name appears twice"));
            }
            pairs.push((name.to_vec(), value.to_vec()));
        }
        let content_length = match pairs.first() {
            Some((name, value)) if name == b"CONTENT_LENGTH" => parse_decimal(value).ok_or(
                HeadError::Malformed("CONTENT_LENGTH is not a decimal number"),
            )?,
            _ => return Err(HeadError::Malformed("CONTENT_LENGTH does not come first")),
        };
        if !pairs
            .iter()
            .any(|(name, value)| name == b"SCGI" && value == b"1")
        {
            return Err(HeadError::Malformed("SCGI=1 is missing"));
        }
        Ok(Head {
            pairs,
            content_length,
        })
    }

    /// The body's length, from `CONTENT_LENGTH`.
    pub fn content_length(&self) -> u64 {
        self.content_length
    }

    /// The variables, in the order they came.
    pub fn pairs(&self) -> &[Pair] {
        &self.pairs
    }

    /// The variables, in the order they came.
    pub fn into_pairs(self) -> Vec<Pair> {
        self.pairs
    }
}

/// Encodes `pairs` as given into a netstring: the inverse of
/// [`Head::parse`] when the pairs are valid, and any framing a test wants
/// otherwise.
pub fn encode_head(pairs: &[Pair]) -> Vec<u8> {
    let len: usize = pairs
        .iter()
        .map(|(name, value)| name.len() + value.len() + 2)
        .sum();
    let mut out = format!("{len}:").into_bytes();
    out.reserve(len + 1);
    for (name, value) in pairs {
        out.extend_from_slice(name);
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out.push(b',');
    out
}

fn read_length(reader: &mut impl Read, limit: usize) -> Result<usize, HeadError> {
    let mut len: usize = 0;
    let mut digits = 0;
    loop {
        let mut byte = [0u8; 1];
        match reader.read_exact(&mut byte) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof && digits == 0 => {
                return Err(HeadError::Closed)
            }
            Err(err) => return Err(eof_is_truncated(err)),
        }
        match byte[0] {
            b':' if digits > 0 => return Ok(len),
            digit @ b'0'..=b'9' => {
                digits += 1;
                len = len
                    .checked_mul(10)
                    .and_then(|len| len.checked_add(usize::from(digit - b'0')))
                    .filter(|&len| len <= limit)
                    .ok_or(HeadError::TooLarge { limit })?;
            }
            _ => return Err(HeadError::BadLength),
        }
    }
}

fn eof_is_truncated(err: io::Error) -> HeadError {
    if err.kind() == io::ErrorKind::UnexpectedEof {
        HeadError::Truncated
    } else {
        HeadError::Io(err)
    }
}

fn parse_decimal(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(value).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<Pair> {
        list.iter()
            .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect()
    }

    fn read(bytes: &[u8]) -> Result<Head, HeadError> {
        Head::read_from(&mut io::Cursor::new(bytes), 1000)
    }

    #[test]
    fn reads_the_example_of_the_spec() {
        let bytes = b"70:CONTENT_LENGTH\x0027\x00SCGI\x001\x00REQUEST_METHOD\x00POST\x00REQUEST_URI\x00/deepthought\x00,What is the answer to life?";
        let mut reader = io::Cursor::new(&bytes[..]);
        let head = Head::read_from(&mut reader, 1000).unwrap();
        assert_eq!(head.content_length(), 27);
        assert_eq!(head.pairs()[2], pairs(&[("REQUEST_METHOD", "POST")])[0]);
        let mut body = String::new();
        reader.read_to_string(&mut body).unwrap();
        assert_eq!(body, "What is the answer to life?");
    }

    #[test]
    fn refuses_broken_framing() {
        let good = encode_head(&pairs(&[("CONTENT_LENGTH", "0"), ("SCGI", "1")]));
        assert!(read(&good).is_ok());
        assert!(matches!(read(b""), Err(HeadError::Closed)));
        assert!(matches!(read(b"x:"), Err(HeadError::BadLength)));
        assert!(matches!(read(b":"), Err(HeadError::BadLength)));
        assert!(matches!(read(b"12"), Err(HeadError::Truncated)));
        assert!(matches!(read(b"5:abc"), Err(HeadError::Truncated)));
        assert!(matches!(
            read(b"99999999999999999999999999:"),
            Err(HeadError::TooLarge { limit: 1000 })
        ));
        assert!(matches!(read(b"1001:"), Err(HeadError::TooLarge { .. })));
        let mut no_comma = good.clone();
        *no_comma.last_mut().unwrap() = b';';
        assert!(matches!(read(&no_comma), Err(HeadError::Malformed(_))));
    }

    #[test]
    fn refuses_heads_that_break_the_rules() {
        for (list, why) in [
            (&[("SCGI", "1"), ("CONTENT_LENGTH", "0")][..], "first"),
            (&[("CONTENT_LENGTH", "0")][..], "SCGI"),
            (&[("CONTENT_LENGTH", "0"), ("SCGI", "2")][..], "SCGI"),
            (&[("CONTENT_LENGTH", "-1"), ("SCGI", "1")][..], "decimal"),
            (&[("CONTENT_LENGTH", ""), ("SCGI", "1")][..], "decimal"),
            (
                &[("CONTENT_LENGTH", "99999999999999999999999"), ("SCGI", "1")][..],
                "decimal",
            ),
            (
                &[("CONTENT_LENGTH", "0"), ("SCGI", "1"), ("SCGI", "1")][..],
                "twice",
            ),
            (
                &[("CONTENT_LENGTH", "0"), ("", "x"), ("SCGI", "1")][..],
                "empty",
            ),
        ] {
            let err = read(&encode_head(&pairs(list))).unwrap_err();
            assert!(err.to_string().contains(why), "{list:?}: {err}");
        }
        assert!(Head::parse(b"CONTENT_LENGTH\x000\x00SCGI\x001").is_err());
        assert!(Head::parse(b"CONTENT_LENGTH\x000\x00SCGI\x00").is_err());
        assert!(Head::parse(b"").is_err());
    }

    #[test]
    fn takes_a_4_gb_content_length_as_a_number_only() {
        let head = Head::parse(b"CONTENT_LENGTH\x004294967296\x00SCGI\x001\x00").unwrap();
        assert_eq!(head.content_length(), 4_294_967_296);
    }

    fn valid_pairs() -> impl Strategy<Value = Vec<Pair>> {
        let name = proptest::collection::vec(1u8..=255, 1..12);
        let value = proptest::collection::vec(1u8..=255, 0..40);
        (
            0u64..u64::MAX,
            proptest::collection::vec((name, value), 0..8),
        )
            .prop_map(|(length, extra)| {
                let mut pairs = vec![
                    (b"CONTENT_LENGTH".to_vec(), length.to_string().into_bytes()),
                    (b"SCGI".to_vec(), b"1".to_vec()),
                ];
                let mut seen: HashSet<Vec<u8>> = pairs.iter().map(|(n, _)| n.clone()).collect();
                for (name, value) in extra {
                    if seen.insert(name.clone()) {
                        pairs.push((name, value));
                    }
                }
                pairs
            })
    }

    proptest! {
        #[test]
        fn encoding_then_reading_gives_the_pairs_back(pairs in valid_pairs(), body in proptest::collection::vec(any::<u8>(), 0..32)) {
            let mut bytes = encode_head(&pairs);
            bytes.extend_from_slice(&body);
            let mut reader = io::Cursor::new(bytes);
            let head = Head::read_from(&mut reader, MAX_HEAD_BYTES).unwrap();
            prop_assert_eq!(head.pairs(), &pairs[..]);
            let mut rest = Vec::new();
            reader.read_to_end(&mut rest).unwrap();
            prop_assert_eq!(rest, body);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = Head::read_from(&mut io::Cursor::new(&bytes), 128);
            let _ = Head::parse(&bytes);
        }

        #[test]
        fn a_valid_head_cut_anywhere_is_an_error(pairs in valid_pairs(), cut in any::<prop::sample::Index>()) {
            let bytes = encode_head(&pairs);
            let cut = cut.index(bytes.len());
            prop_assert!(Head::read_from(&mut io::Cursor::new(&bytes[..cut]), MAX_HEAD_BYTES).is_err());
        }
    }
}
