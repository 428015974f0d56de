//! Byte ranges (RFC 9110 §14): `Range: bytes=…` and `If-Range`, for one
//! range of a body whose length is known, so that video seeks and an
//! interrupted download resumes.
//!
//! Only one range is served. A request for several gets the whole body,
//! which RFC 9110 §14.2 allows, and which spares the server
//! `multipart/byteranges` (and the overlapping-ranges denial of service
//! that comes with it). A `Range` that cannot be parsed is ignored (the
//! whole body); one that parses but lies past the end answers 416.
//! `If-Range` is honoured only with a strong entity tag equal to the
//! body's: a date, a weak tag or another tag gets the whole body.
//!
//! The caller decides when to look at `Range` at all: for a `GET` (RFC 9110
//! says other methods ignore it) of a body it can seek in.
//!
//! ```
//! use gateway::range::RangeAnswer;
//! use http::{header, HeaderMap, HeaderValue, StatusCode};
//!
//! let mut request = HeaderMap::new();
//! request.insert(header::RANGE, HeaderValue::from_static("bytes=100-"));
//! let answer = RangeAnswer::from_headers(&request, 1000, Some("\"abc\""));
//! assert_eq!(answer, RangeAnswer::Partial { start: 100, end_inclusive: 999 });
//! let mut response = HeaderMap::new();
//! assert_eq!(answer.write_headers(&mut response, 1000), StatusCode::PARTIAL_CONTENT);
//! assert_eq!(response[header::CONTENT_RANGE], "bytes 100-999/1000");
//! assert_eq!(response[header::CONTENT_LENGTH], "900");
//! ```

use std::io::{self, Read, Seek, SeekFrom};

use http::header::{self, HeaderMap, HeaderValue};
use http::StatusCode;

use crate::ResponseBody;

/// How to answer a request for a body of a known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// The whole body, `200`.
    Full,
    /// One range, `206`: bytes `start..=end_inclusive`, both within the body.
    Partial {
        /// The first byte.
        start: u64,
        /// The last byte.
        end_inclusive: u64,
    },
    /// The range lies past the end, `416`.
    Unsatisfiable,
}

impl RangeAnswer {
    /// The answer to the request's `Range` and `If-Range` headers for a body
    /// of `len` bytes whose entity tag is `etag` (as sent in `ETag`, quotes
    /// and all; `None` when it has none).
    pub fn from_headers(headers: &HeaderMap, len: u64, etag: Option<&str>) -> RangeAnswer {
        let mut ranges = headers.get_all(header::RANGE).iter();
        let (Some(range), None) = (ranges.next(), ranges.next()) else {
            return RangeAnswer::Full;
        };
        if let Some(if_range) = headers.get(header::IF_RANGE) {
            let matches = if_range
                .to_str()
                .ok()
                .zip(etag)
                .is_some_and(|(theirs, ours)| strong_match(theirs, ours));
            if !matches {
                return RangeAnswer::Full;
            }
        }
        match range.to_str().ok().and_then(parse_one_range) {
            Some(spec) => spec.against(len),
            None => RangeAnswer::Full,
        }
    }

    /// Writes `Accept-Ranges`, `Content-Length` and (for 206 and 416)
    /// `Content-Range` for a body of `len` bytes, and gives the status.
    pub fn write_headers(&self, headers: &mut HeaderMap, len: u64) -> StatusCode {
        accept_ranges(headers);
        let (status, content_range, content_length) = match *self {
            RangeAnswer::Full => (StatusCode::OK, None, len),
            RangeAnswer::Partial {
                start,
                end_inclusive,
            } => (
                StatusCode::PARTIAL_CONTENT,
                Some(format!("bytes {start}-{end_inclusive}/{len}")),
                end_inclusive - start + 1,
            ),
            RangeAnswer::Unsatisfiable => (
                StatusCode::RANGE_NOT_SATISFIABLE,
                Some(format!("bytes */{len}")),
                0,
            ),
        };
        if let Some(content_range) = content_range {
            let value =
                HeaderValue::try_from(content_range).expect("digits and ASCII are a valid header");
            headers.insert(header::CONTENT_RANGE, value);
        }
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(content_length));
        status
    }

    /// The bytes this answer sends of `body` (a reader at the body's
    /// start): all of it, the range (seeking to it), or nothing.
    pub fn body(&self, mut body: impl Read + Seek + Send + 'static) -> io::Result<ResponseBody> {
        match *self {
            RangeAnswer::Full => Ok(ResponseBody::reader(body)),
            RangeAnswer::Partial {
                start,
                end_inclusive,
            } => {
                body.seek(SeekFrom::Start(start))?;
                Ok(ResponseBody::reader(body.take(end_inclusive - start + 1)))
            }
            RangeAnswer::Unsatisfiable => Ok(ResponseBody::empty()),
        }
    }
}

/// Adds `Accept-Ranges: bytes`, which tells clients (video players, download
/// managers) that they may ask for ranges.
pub fn accept_ranges(headers: &mut HeaderMap) {
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
}

/// One parsed byte range, not yet checked against a length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeSpec {
    /// `first-` or `first-last`.
    From { first: u64, last: Option<u64> },
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

impl RangeSpec {
    fn against(self, len: u64) -> RangeAnswer {
        match self {
            RangeSpec::From { first, .. } if first >= len => RangeAnswer::Unsatisfiable,
            RangeSpec::From { first, last } => RangeAnswer::Partial {
                start: first,
                end_inclusive: last.map_or(len - 1, |last| last.min(len - 1)),
            },
            RangeSpec::Suffix(0) => RangeAnswer::Unsatisfiable,
            RangeSpec::Suffix(_) if len == 0 => RangeAnswer::Unsatisfiable,
            RangeSpec::Suffix(n) => RangeAnswer::Partial {
                start: len - n.min(len),
                end_inclusive: len - 1,
            },
        }
    }
}

/// `bytes=<one range>`, with empty list elements allowed around it; `None`
/// for another unit, bad syntax, or several ranges.
fn parse_one_range(value: &str) -> Option<RangeSpec> {
    let (unit, set) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut specs = set
        .split(',')
        .map(str::trim)
        .filter(|spec| !spec.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        return None;
    };
    let (first, last) = spec.split_once('-')?;
    match (first, last) {
        ("", suffix) => Some(RangeSpec::Suffix(digits(suffix)?)),
        (first, "") => Some(RangeSpec::From {
            first: digits(first)?,
            last: None,
        }),
        (first, last) => {
            let (first, last) = (digits(first)?, digits(last)?);
            (first <= last).then_some(RangeSpec::From {
                first,
                last: Some(last),
            })
        }
    }
}

/// A decimal number, saturating rather than failing when it is huge (a
/// range past any real length is unsatisfiable, not malformed).
fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |number, byte| {
        number
            .saturating_mul(10)
            .saturating_add(u64::from(byte - b'0'))
    }))
}

/// Strong comparison (RFC 9110 §8.8.3.2): both tags strong and the same.
fn strong_match(theirs: &str, ours: &str) -> bool {
    let (theirs, ours) = (theirs.trim(), ours.trim());
    !theirs.starts_with("W/")
        && !ours.starts_with("W/")
        && theirs.starts_with('"')
        && theirs == ours
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const TAG: &str = "\"sha256-abc\"";

    fn answer(range: &str, len: u64) -> RangeAnswer {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(range).unwrap());
        RangeAnswer::from_headers(&headers, len, Some(TAG))
    }

    fn partial(start: u64, end_inclusive: u64) -> RangeAnswer {
        RangeAnswer::Partial {
            start,
            end_inclusive,
        }
    }

    #[test]
    fn one_range_of_each_form() {
        assert_eq!(answer("bytes=0-499", 10_000), partial(0, 499));
        assert_eq!(answer("bytes=500-999", 10_000), partial(500, 999));
        assert_eq!(answer("bytes=9500-", 10_000), partial(9500, 9999));
        assert_eq!(answer("bytes=-500", 10_000), partial(9500, 9999));
        assert_eq!(answer("bytes=0-0", 1), partial(0, 0));
        assert_eq!(answer("Bytes = 5-", 10), partial(5, 9));
        assert_eq!(answer("bytes=, 2-3 ,", 10), partial(2, 3));
    }

    #[test]
    fn ranges_past_the_end_are_clamped_or_unsatisfiable() {
        assert_eq!(answer("bytes=5-100", 10), partial(5, 9));
        assert_eq!(answer("bytes=-100", 10), partial(0, 9));
        assert_eq!(answer("bytes=0-99999999999999999999999", 10), partial(0, 9));
        assert_eq!(answer("bytes=10-", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(answer("bytes=10-20", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(
            answer("bytes=99999999999999999999999-", 10),
            RangeAnswer::Unsatisfiable
        );
        assert_eq!(answer("bytes=-0", 10), RangeAnswer::Unsatisfiable);
        assert_eq!(answer("bytes=0-", 0), RangeAnswer::Unsatisfiable);
        assert_eq!(answer("bytes=-5", 0), RangeAnswer::Unsatisfiable);
    }

    #[test]
    fn bad_syntax_other_units_and_several_ranges_get_the_whole_body() {
        for range in [
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=1",
            "bytes=+1-2",
            "bytes= -1-2",
            "bytes=",
            "items=0-1",
            "0-1",
            "bytes=0-1,3-4",
            "bytes=0-1, -1",
        ] {
            assert_eq!(answer(range, 10), RangeAnswer::Full, "{range}");
        }
        let mut two = HeaderMap::new();
        two.append(header::RANGE, HeaderValue::from_static("bytes=0-1"));
        two.append(header::RANGE, HeaderValue::from_static("bytes=2-3"));
        assert_eq!(RangeAnswer::from_headers(&two, 10, None), RangeAnswer::Full);
        assert_eq!(
            RangeAnswer::from_headers(&HeaderMap::new(), 10, None),
            RangeAnswer::Full
        );
    }

    #[test]
    fn if_range_needs_the_same_strong_tag() {
        let with_if_range = |if_range: &str, etag: Option<&str>| {
            let mut headers = HeaderMap::new();
            headers.insert(header::RANGE, HeaderValue::from_static("bytes=2-3"));
            headers.insert(header::IF_RANGE, HeaderValue::from_str(if_range).unwrap());
            RangeAnswer::from_headers(&headers, 10, etag)
        };
        assert_eq!(with_if_range(TAG, Some(TAG)), partial(2, 3));
        assert_eq!(with_if_range("\"other\"", Some(TAG)), RangeAnswer::Full);
        assert_eq!(
            with_if_range(&format!("W/{TAG}"), Some(TAG)),
            RangeAnswer::Full
        );
        assert_eq!(with_if_range("W/\"x\"", Some("W/\"x\"")), RangeAnswer::Full);
        assert_eq!(with_if_range(TAG, None), RangeAnswer::Full);
        assert_eq!(
            with_if_range("Wed, 21 Oct 2026 07:28:00 GMT", Some(TAG)),
            RangeAnswer::Full
        );
    }

    #[test]
    fn writes_the_headers_of_200_206_and_416() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            RangeAnswer::Full.write_headers(&mut headers, 10),
            StatusCode::OK
        );
        assert_eq!(headers[header::CONTENT_LENGTH], "10");
        assert_eq!(headers[header::ACCEPT_RANGES], "bytes");
        assert!(!headers.contains_key(header::CONTENT_RANGE));

        let mut headers = HeaderMap::new();
        let status = partial(2, 3).write_headers(&mut headers, 10);
        assert_eq!(status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(headers[header::CONTENT_RANGE], "bytes 2-3/10");
        assert_eq!(headers[header::CONTENT_LENGTH], "2");

        let mut headers = HeaderMap::new();
        let status = RangeAnswer::Unsatisfiable.write_headers(&mut headers, 10);
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(headers[header::CONTENT_RANGE], "bytes */10");
        assert_eq!(headers[header::CONTENT_LENGTH], "0");
    }

    #[test]
    fn the_body_is_the_range_of_the_reader() {
        let data: Vec<u8> = (0..100u8).collect();
        let body = |answer: RangeAnswer| {
            answer
                .body(io::Cursor::new(data.clone()))
                .unwrap()
                .into_bytes()
                .unwrap()
                .to_vec()
        };
        assert_eq!(body(partial(10, 14)), [10, 11, 12, 13, 14]);
        assert_eq!(body(RangeAnswer::Full), data);
        assert!(body(RangeAnswer::Unsatisfiable).is_empty());
    }

    proptest! {
        #[test]
        fn any_range_header_gives_a_range_inside_the_body(range in "[ -~]{0,40}", len in 0u64..1000) {
            if let Ok(value) = HeaderValue::from_str(&range) {
                let mut headers = HeaderMap::new();
                headers.insert(header::RANGE, value);
                if let RangeAnswer::Partial { start, end_inclusive } =
                    RangeAnswer::from_headers(&headers, len, None)
                {
                    prop_assert!(start <= end_inclusive && end_inclusive < len);
                }
            }
        }

        #[test]
        fn every_first_last_range_within_the_body_is_served(len in 1u64..10_000, a in 0u64..10_000, b in 0u64..10_000) {
            let (first, last) = (a.min(b) % len, a.max(b));
            let expected = partial(first, last.min(len - 1));
            prop_assert_eq!(answer(&format!("bytes={first}-{last}"), len), expected);
        }
    }
}
