//! What the fuzz targets in `fuzz/` run, one function per parser, so that the stable test suite can
//! run the very same code over the committed seeds (`gateway/tests/it/fuzz_seeds.rs`) without
//! nightly or libFuzzer.
//!
//! Each function takes the fuzzer's bytes, drives a parser through its public API, and panics only
//! when a parser breaks a property its docs promise (a round trip, a result that must not depend on
//! how the input was split into reads); a clean error is never a failure. Each returns whether the
//! input got through the parser, which the seed replay uses to check that the seeds reach the parts
//! past the first error. Hidden from the docs: this is test support, not API.

use std::io::{self, Cursor, Read};

use http::{header, StatusCode};

use crate::environ::CgiRequest;
use crate::fastcgi::record::{
    decode_pairs, encode_pairs, BeginRequest, EndRequest, Record, RecordType, NULL_REQUEST_ID,
};
use crate::form::{self, Form};
use crate::multipart::{Multipart, MultipartError};
use crate::scgi::{encode_head, Head};
use crate::{cgi, cookies, BodyError, GatewayConfig, Request, RequestBody, Response};

/// The body limits of every request built here: small, so that a declared length over them is
/// refused, as a server configured that way would.
const BODY_LIMIT: u64 = 64 * 1024;

fn config() -> GatewayConfig {
    GatewayConfig {
        max_body_bytes: BODY_LIMIT,
        max_stream_bytes: BODY_LIMIT,
        mount_override: None,
    }
}

/// A FastCGI connection's bytes as a web server sends them: records read one after the other
/// until the end or the first error, as the responder reads them; each record's fixed body
/// decoded; each request's `FCGI_PARAMS` joined across records (servers split them anywhere)
/// and, once the empty record ends them, decoded and turned into a request with its
/// `FCGI_STDIN` as the body. Properties: a record and a name-value block re-encode to
/// themselves.
pub fn fastcgi(data: &[u8]) -> bool {
    let mut reader = data;
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut stdin: Vec<(u16, Vec<u8>)> = Vec::new();
    let mut accepted = false;
    while let Ok(Some(record)) = Record::read_from(&mut reader) {
        let encoded = record.encode();
        match Record::read_from(&mut &encoded[..]) {
            Ok(Some(again)) => assert_eq!(again, record, "a record re-encodes to itself"),
            other => panic!("a record's encoding does not read back: {other:?}"),
        }
        let id = record.request_id();
        let content = record.content();
        if id == NULL_REQUEST_ID {
            if record.record_type() == RecordType::GET_VALUES {
                pairs_round_trip(content);
            }
            continue;
        }
        match record.record_type() {
            RecordType::BEGIN_REQUEST => {
                if let Ok(begin) = BeginRequest::decode(content) {
                    assert_eq!(BeginRequest::decode(&begin.encode()).ok(), Some(begin));
                    params.retain(|(other, _)| *other != id);
                    params.push((id, Vec::new()));
                    stdin.retain(|(other, _)| *other != id);
                }
            }
            RecordType::END_REQUEST => {
                if let Ok(end) = EndRequest::decode(content) {
                    assert_eq!(EndRequest::decode(&end.encode()).ok(), Some(end));
                }
            }
            RecordType::PARAMS => {
                let Some(at) = params.iter().position(|(other, _)| *other == id) else {
                    continue;
                };
                if !content.is_empty() {
                    params[at].1.extend_from_slice(content);
                    continue;
                }
                let (_, block) = params.remove(at);
                let Some(pairs) = pairs_round_trip(&block) else {
                    continue;
                };
                let body = stdin
                    .iter()
                    .find(|(other, _)| *other == id)
                    .map(|(_, body)| body.clone())
                    .unwrap_or_default();
                accepted |= into_request(pairs, body);
            }
            RecordType::STDIN => match stdin.iter_mut().find(|(other, _)| *other == id) {
                Some((_, body)) => body.extend_from_slice(content),
                None => stdin.push((id, content.to_vec())),
            },
            _ => {}
        }
    }
    accepted
}

/// Decodes a name-value block and checks that it encodes back to pairs that decode the same.
fn pairs_round_trip(block: &[u8]) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let pairs = decode_pairs(block).ok()?;
    let mut encoded = Vec::new();
    if encode_pairs(pairs.iter().map(|(n, v)| (n, v)), &mut encoded).is_err() {
        panic!("decoded pairs do not encode");
    }
    assert_eq!(
        decode_pairs(&encoded).ok().as_ref(),
        Some(&pairs),
        "name-value pairs round-trip"
    );
    Some(pairs)
}

/// Meta-variables and a body into a request, as every adapter does, and the request read as an
/// app would: its query, cookies and form body.
fn into_request(vars: Vec<(Vec<u8>, Vec<u8>)>, body: Vec<u8>) -> bool {
    let Ok(head) = CgiRequest::parse(vars, &config()) else {
        return false;
    };
    let declared = head.content_length();
    let body = RequestBody::new(Cursor::new(body), declared.or(Some(0)), BODY_LIMIT);
    let response = read_like_an_app(head.into_request(body));
    response.status() == StatusCode::OK
}

/// What an app reads of a request: the query and a urlencoded body as forms, the cookies, and a
/// multipart body part by part. A status for what it found: 200, 400 for a form or body that does
/// not parse, 413 for a body over the limit.
fn read_like_an_app(mut request: Request) -> Response {
    let _ = request.uri().to_string();
    let _ = request.origin();
    let _ = cookies::value(request.headers(), "session");
    if Form::parse(request.query().as_bytes()).is_err() {
        return status(StatusCode::BAD_REQUEST);
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        return match read_parts(Multipart::from_request(&mut request)) {
            Ok(_) => status(StatusCode::OK),
            Err(MultipartError::Body(BodyError::TooLarge { .. })) => {
                status(StatusCode::PAYLOAD_TOO_LARGE)
            }
            Err(_) => status(StatusCode::BAD_REQUEST),
        };
    }
    match request.body_mut().read_to_vec() {
        Ok(body) if content_type.starts_with("application/x-www-form-urlencoded") => {
            match Form::parse(&body) {
                Ok(_) => status(StatusCode::OK),
                Err(_) => status(StatusCode::BAD_REQUEST),
            }
        }
        Ok(_) => status(StatusCode::OK),
        Err(BodyError::TooLarge { .. }) => status(StatusCode::PAYLOAD_TOO_LARGE),
        Err(_) => status(StatusCode::BAD_REQUEST),
    }
}

fn status(code: StatusCode) -> Response {
    let mut response = Response::new(code.as_str().to_owned().into());
    *response.status_mut() = code;
    response
}

/// An SCGI connection's bytes: the netstring head read as the server reads it, then the
/// variables into a request with the rest as its body. Property: a head that parses encodes to
/// one that parses to the same.
pub fn scgi(data: &[u8]) -> bool {
    let _ = Head::parse(data);
    let mut reader = Cursor::new(data);
    let Ok(head) = Head::read_from(&mut reader, crate::scgi::head::MAX_HEAD_BYTES) else {
        return false;
    };
    let encoded = encode_head(head.pairs());
    match Head::read_from(&mut Cursor::new(&encoded), encoded.len()) {
        Ok(again) => assert_eq!(again, head, "an SCGI head re-encodes to itself"),
        Err(err) => panic!("an SCGI head's encoding does not read back: {err}"),
    }
    let mut body = Vec::new();
    let _ = reader.take(head.content_length()).read_to_end(&mut body);
    into_request(head.into_pairs(), body)
}

/// A CGI process's environment and stdin: `NAME=VALUE` entries, each ended by a NUL (the layout
/// of `/proc/PID/environ`), then one more NUL, then the body. Answered by [`cgi::respond`] with
/// an app that reads the request (`read_like_an_app`), under the server's `SCRIPT_NAME` and
/// under a mount override. Property: the answer is a CGI response with a `Status:` line, and the
/// status is one the app or the adapter gives (never a 500: nothing here panics).
pub fn cgi_environ(data: &[u8]) -> bool {
    let (environ, body) = match find(data, b"\0\0") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    // An entry without `=` is not a variable: the C library and std skip it too.
    let vars: Vec<(&[u8], &[u8])> = environ
        .split(|&byte| byte == 0)
        .filter_map(|entry| {
            let at = entry.iter().position(|&byte| byte == b'=')?;
            Some((&entry[..at], &entry[at + 1..]))
        })
        .collect();
    let mut accepted = false;
    for mount_override in [None, Some("/wiki".to_owned())] {
        let config = GatewayConfig {
            mount_override,
            ..config()
        };
        let mut stdout = Vec::new();
        let app = |request: Request| read_like_an_app(request);
        let stdin = Cursor::new(body.to_vec());
        if let Err(err) = cgi::respond(vars.iter().copied(), stdin, &mut stdout, &app, &config) {
            panic!("writing a CGI response to memory failed: {err}");
        }
        let code = stdout
            .strip_prefix(b"Status: ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| std::str::from_utf8(code).ok())
            .and_then(|code| code.parse::<u16>().ok());
        match code {
            Some(200) => accepted = true,
            Some(400 | 413) => {}
            other => panic!(
                "a CGI response with status {other:?}: {}",
                String::from_utf8_lossy(&stdout)
            ),
        }
        assert!(
            find(&stdout, b"\r\n\r\n").is_some(),
            "a CGI response has a blank line after its head"
        );
    }
    accepted
}

/// A urlencoded form or query string. Property: a form that parses encodes to one that parses to
/// the same pairs.
pub fn form(data: &[u8]) -> bool {
    let Ok(parsed) = Form::parse(data) else {
        return false;
    };
    let encoded = form::encode(
        parsed
            .pairs()
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    );
    assert_eq!(
        Form::parse(encoded.as_bytes()).ok().as_ref(),
        Some(&parsed),
        "a form re-encodes to itself"
    );
    true
}

/// A `multipart/form-data` request: the first line is its `Content-Type` (the boundary's source),
/// the rest its body. The body is read twice, from one read of it all and from reads of a few
/// bytes at a time, every part read as an app would (small fields as text, files as streams).
/// Property: what the reader finds (parts, contents, the error it stops at) does not depend on
/// how the body arrives.
pub fn multipart(data: &[u8]) -> bool {
    let (line, body) = match data.iter().position(|&byte| byte == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let content_type = line.strip_suffix(b"\r").unwrap_or(line);
    let whole = read_multipart(
        content_type,
        Box::new(Cursor::new(body.to_vec())),
        body.len(),
    );
    let trickled = read_multipart(
        content_type,
        Box::new(Trickle {
            data: body.to_vec(),
            at: 0,
            reads: 0,
        }),
        body.len(),
    );
    assert_eq!(
        whole, trickled,
        "a multipart body reads the same however it arrives"
    );
    matches!(whole, Some((_, None)))
}

/// What a multipart reader found: each part's name, file name, content type and content, and the
/// error it stopped at, if any. `None` when the request is refused before its body is read.
type PartsSeen = Option<(Vec<PartSeen>, Option<String>)>;

#[derive(Debug, PartialEq, Eq)]
struct PartSeen {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    content: Vec<u8>,
}

fn read_multipart(content_type: &[u8], body: Box<dyn Read + Send>, len: usize) -> PartsSeen {
    let declared = len.to_string();
    let vars: [(&[u8], &[u8]); 3] = [
        (b"REQUEST_METHOD", b"POST"),
        (b"CONTENT_TYPE", content_type),
        (b"CONTENT_LENGTH", declared.as_bytes()),
    ];
    let head = CgiRequest::parse(vars, &config()).ok()?;
    let mut request = head.into_request(RequestBody::new(body, Some(len as u64), BODY_LIMIT));
    let mut seen = Vec::new();
    let end = read_parts_into(Multipart::from_request(&mut request), &mut seen)
        .err()
        .map(|err| error_kind(&err));
    Some((seen, end))
}

fn read_parts<R: Read>(
    multipart: Result<Multipart<R>, MultipartError>,
) -> Result<Vec<PartSeen>, MultipartError> {
    let mut seen = Vec::new();
    read_parts_into(multipart, &mut seen)?;
    Ok(seen)
}

fn read_parts_into<R: Read>(
    multipart: Result<Multipart<R>, MultipartError>,
    seen: &mut Vec<PartSeen>,
) -> Result<(), MultipartError> {
    let mut multipart = multipart?;
    while let Some(mut part) = multipart.next_part()? {
        let content = match part.file_name() {
            None => part.read_text(1024)?.into_bytes(),
            Some(_) => {
                let mut content = Vec::new();
                part.read_to_end(&mut content)
                    .map_err(MultipartError::from_io)?;
                content
            }
        };
        seen.push(PartSeen {
            name: part.name().to_owned(),
            file_name: part.file_name().map(str::to_owned),
            content_type: part.content_type().map(str::to_owned),
            content,
        });
    }
    Ok(())
}

/// The error's kind and what it says, without the wrapped I/O error's details.
fn error_kind(err: &MultipartError) -> String {
    match err {
        MultipartError::Io(err) => format!("i/o: {:?}", err.kind()),
        MultipartError::Body(BodyError::Io(err)) => format!("body i/o: {:?}", err.kind()),
        other => other.to_string(),
    }
}

/// A reader that hands out its bytes a few at a time (1, 2, 3, … 16, then again), as a slow
/// connection does, so that delimiters and heads are split across reads.
struct Trickle {
    data: Vec<u8>,
    at: usize,
    reads: usize,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reads += 1;
        let n = (self.reads % 16 + 1)
            .min(buf.len())
            .min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
