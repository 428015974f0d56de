//! A small FastCGI client: speaks to a responder as a web server would, for
//! tests and the end-to-end suite. It is not meant to front real traffic:
//! it keeps whole responses in memory and runs one exchange at a time.

use std::io::{self, BufReader, Write};
use std::time::Duration;

use http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use thiserror::Error;

use super::record::{
    decode_pairs, encode_pairs, encode_stream, protocol_status, role, BeginRequest, EndRequest,
    Pair, Record, RecordType, FLAG_KEEP_CONN, MAX_CONTENT_LEN, NULL_REQUEST_ID,
};
use crate::listener::Stream;
use crate::testing::{TestRequest, TestResponse};

/// One finished request, as the responder sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FcgiResponse {
    /// The joined `FCGI_STDOUT` stream: a CGI response.
    pub stdout: Vec<u8>,
    /// The joined `FCGI_STDERR` stream.
    pub stderr: Vec<u8>,
    /// The `appStatus` of `FCGI_END_REQUEST`.
    pub app_status: u32,
    /// The `protocolStatus` of `FCGI_END_REQUEST`.
    pub protocol_status: u8,
}

impl FcgiResponse {
    /// Parses [`FcgiResponse::stdout`] as a CGI response.
    pub fn parse(&self) -> Result<TestResponse, CgiResponseError> {
        parse_cgi_response(&self.stdout)
    }

    /// Whether the request ran to its end (`FCGI_REQUEST_COMPLETE`).
    pub fn is_complete(&self) -> bool {
        self.protocol_status == protocol_status::REQUEST_COMPLETE
    }
}

/// A FastCGI connection to a responder.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<Stream>,
    writer: Stream,
    keep_conn: bool,
    max_record: usize,
}

/// The params and body of one request, for [`Client::request_interleaved`].
pub type RequestParts<'a> = (&'a [Pair], &'a [u8]);

impl Client {
    /// Connects to `spec`: `host:port` or `unix:/path`.
    ///
    /// The client sets `FCGI_KEEP_CONN`, so several requests can go over the
    /// connection; see [`Client::with_keep_conn`].
    pub fn connect(spec: &str) -> io::Result<Client> {
        let stream = Stream::connect(spec)?;
        let writer = stream.try_clone()?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
            keep_conn: true,
            max_record: MAX_CONTENT_LEN,
        })
    }

    /// Whether to ask the responder to keep the connection open after each
    /// request (`FCGI_KEEP_CONN`); without it, the responder closes it.
    pub fn with_keep_conn(mut self, keep_conn: bool) -> Self {
        self.keep_conn = keep_conn;
        self
    }

    /// Fails a read that waits longer than `timeout` for the responder,
    /// rather than hanging (`None`, the default, waits for ever).
    pub fn with_timeout(self, timeout: Option<Duration>) -> io::Result<Self> {
        self.writer.set_read_timeout(timeout)?;
        Ok(self)
    }

    /// Splits params and body into records of at most `bytes` bytes
    /// (clamped to 1..=65535), to test how a responder joins them; 5 splits
    /// most name-value pairs in their middle, as `cgi-fcgi` does.
    pub fn with_max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes.clamp(1, MAX_CONTENT_LEN);
        self
    }

    /// Sends one request as id 1 (as every real web server does) and reads
    /// its response.
    pub fn request(
        &mut self,
        params: &[(Vec<u8>, Vec<u8>)],
        stdin: &[u8],
    ) -> io::Result<FcgiResponse> {
        let mut responses = self.request_interleaved(&[(params, stdin)])?;
        Ok(responses.pop().unwrap_or_default())
    }

    /// Sends several requests at once on this connection, as ids 1, 2, …,
    /// with their records interleaved (all begins, then params round-robin,
    /// then bodies round-robin), and reads all responses, in request order.
    pub fn request_interleaved(
        &mut self,
        requests: &[RequestParts<'_>],
    ) -> io::Result<Vec<FcgiResponse>> {
        if requests.len() > usize::from(u16::MAX) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "too many requests at once",
            ));
        }
        let mut out = Vec::new();
        let flags = if self.keep_conn { FLAG_KEEP_CONN } else { 0 };
        let mut encoded_params = Vec::with_capacity(requests.len());
        for (index, (params, _)) in requests.iter().enumerate() {
            let begin = BeginRequest {
                role: role::RESPONDER,
                flags,
            };
            Record::new(RecordType::BEGIN_REQUEST, request_id(index), begin.encode())?
                .encode_into(&mut out);
            let mut encoded = Vec::new();
            encode_pairs(params.iter().map(|(n, v)| (n, v)), &mut encoded)?;
            encoded_params.push(encoded);
        }
        let streams: Vec<(Chunks<'_>, Chunks<'_>)> = requests
            .iter()
            .zip(&encoded_params)
            .map(|((_, stdin), params)| {
                (
                    split(params, self.max_record),
                    split(stdin, self.max_record),
                )
            })
            .collect();
        for record_type in [RecordType::PARAMS, RecordType::STDIN] {
            let longest = streams
                .iter()
                .map(|(params, stdin)| {
                    if record_type == RecordType::PARAMS {
                        params.len()
                    } else {
                        stdin.len()
                    }
                })
                .max()
                .unwrap_or(0);
            // One more round than the longest stream: the empty record that
            // ends each stream.
            for round in 0..=longest {
                for (index, (params, stdin)) in streams.iter().enumerate() {
                    let chunks = if record_type == RecordType::PARAMS {
                        params
                    } else {
                        stdin
                    };
                    match round.cmp(&chunks.len()) {
                        std::cmp::Ordering::Less => {
                            encode_stream(
                                record_type,
                                request_id(index),
                                chunks[round],
                                MAX_CONTENT_LEN,
                                &mut out,
                            );
                        }
                        std::cmp::Ordering::Equal => {
                            Record::new(record_type, request_id(index), Vec::new())?
                                .encode_into(&mut out);
                        }
                        std::cmp::Ordering::Greater => {}
                    }
                }
            }
        }
        self.writer.write_all(&out)?;
        self.read_responses(requests.len())
    }

    /// Reads records until `count` requests (ids 1..=count) have ended.
    fn read_responses(&mut self, count: usize) -> io::Result<Vec<FcgiResponse>> {
        let mut responses = vec![FcgiResponse::default(); count];
        let mut open = count;
        while open > 0 {
            let record = self.read_record()?.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the responder closed the connection mid-response",
                )
            })?;
            let index = usize::from(record.request_id()).wrapping_sub(1);
            let Some(response) = responses.get_mut(index) else {
                return Err(unexpected(&record));
            };
            match record.record_type() {
                RecordType::STDOUT => response.stdout.extend_from_slice(record.content()),
                RecordType::STDERR => response.stderr.extend_from_slice(record.content()),
                RecordType::END_REQUEST => {
                    let end = EndRequest::decode(record.content())?;
                    response.app_status = end.app_status;
                    response.protocol_status = end.protocol_status;
                    open -= 1;
                }
                _ => return Err(unexpected(&record)),
            }
        }
        Ok(responses)
    }

    /// Asks for the responder's limits (`FCGI_GET_VALUES`) and returns the
    /// names it answered with their values.
    pub fn get_values(&mut self, names: &[&str]) -> io::Result<Vec<(String, String)>> {
        let mut content = Vec::new();
        encode_pairs(
            names.iter().map(|name| (name.as_bytes(), &b""[..])),
            &mut content,
        )?;
        self.send_record(&Record::new(
            RecordType::GET_VALUES,
            NULL_REQUEST_ID,
            content,
        )?)?;
        let record = self.read_record()?.ok_or_else(|| {
            io::Error::new(io::ErrorKind::UnexpectedEof, "no answer to FCGI_GET_VALUES")
        })?;
        if record.record_type() != RecordType::GET_VALUES_RESULT {
            return Err(unexpected(&record));
        }
        Ok(decode_pairs(record.content())?
            .into_iter()
            .map(|(name, value)| {
                (
                    String::from_utf8_lossy(&name).into_owned(),
                    String::from_utf8_lossy(&value).into_owned(),
                )
            })
            .collect())
    }

    /// Sends one record as is.
    pub fn send_record(&mut self, record: &Record) -> io::Result<()> {
        record.write_to(&mut self.writer)
    }

    /// Sends raw bytes, such as a malformed record.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.writer.write_all(bytes)
    }

    /// Reads one record; `None` when the responder closed the connection.
    pub fn read_record(&mut self) -> io::Result<Option<Record>> {
        Ok(Record::read_from(&mut self.reader)?)
    }

    /// Sends a [`TestRequest`] as a web server would (see [`cgi_params`])
    /// and parses the response.
    pub fn send(&mut self, request: &TestRequest, mount: &str) -> io::Result<TestResponse> {
        let response = self.request(&cgi_params(request, mount), &request.body)?;
        response
            .parse()
            .map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
    }
}

fn request_id(index: usize) -> u16 {
    u16::try_from(index + 1).expect("callers limit requests to u16::MAX")
}

/// A stream cut into the contents of its records.
type Chunks<'a> = Vec<&'a [u8]>;

fn split(data: &[u8], max_record: usize) -> Chunks<'_> {
    data.chunks(max_record).collect()
}

fn unexpected(record: &Record) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "unexpected record of type {} for request {}",
            record.record_type().0,
            record.request_id()
        ),
    )
}

/// The CGI meta-variables a web server would send for `request` with the
/// app mounted at `mount` (`""` or `/like/this`): what nginx's
/// `fastcgi_params` sets, with the path percent-decoded in `PATH_INFO` and
/// every header as `HTTP_*`.
pub fn cgi_params(request: &TestRequest, mount: &str) -> Vec<Pair> {
    let mount = mount.trim_end_matches('/');
    let path: &[u8] = if request.path.is_empty() {
        b"/"
    } else {
        &request.path
    };
    let mut params: Vec<Pair> = vec![
        var("GATEWAY_INTERFACE", b"CGI/1.1"),
        var("SERVER_PROTOCOL", b"HTTP/1.1"),
        var("SERVER_SOFTWARE", b"gateway-test-client"),
        var("SERVER_NAME", b"localhost"),
        var("SERVER_PORT", b"80"),
        var("REMOTE_ADDR", b"127.0.0.1"),
        var("REQUEST_METHOD", request.method.as_str().as_bytes()),
        var("SCRIPT_NAME", mount.as_bytes()),
        var("PATH_INFO", path),
        var("QUERY_STRING", request.query.as_bytes()),
        var(
            "REQUEST_URI",
            format!("{mount}{}", request.target()).as_bytes(),
        ),
    ];
    if !request.body.is_empty() {
        params.push(var(
            "CONTENT_LENGTH",
            request.body.len().to_string().as_bytes(),
        ));
    }
    let mut has_host = false;
    for (name, value) in &request.headers {
        let upper = name.to_ascii_uppercase().replace('-', "_");
        let var_name = match upper.as_str() {
            "CONTENT_TYPE" | "CONTENT_LENGTH" => upper,
            _ => format!("HTTP_{upper}"),
        };
        has_host |= var_name == "HTTP_HOST";
        params.push((var_name.into_bytes(), value.as_bytes().to_vec()));
    }
    if !has_host {
        params.push(var("HTTP_HOST", b"localhost"));
    }
    params
}

fn var(name: &str, value: &[u8]) -> Pair {
    (name.as_bytes().to_vec(), value.to_vec())
}

/// Why bytes are not a CGI response.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CgiResponseError {
    /// No blank line ends the header block.
    #[error("the CGI response has no blank line after its headers")]
    NoHeaderEnd,
    /// A header line is not `Name: value`.
    #[error("the CGI response has a malformed header line: {0:?}")]
    BadHeader(String),
    /// The `Status:` header does not start with a three-digit code.
    #[error("the CGI response has an invalid status: {0:?}")]
    BadStatus(String),
}

/// Parses a CGI response (RFC 3875 §6): header lines ended by CRLF or LF, a
/// blank line, the body. `Status:` gives the status and is not kept as a
/// header; without it the status is 302 when there is a `Location:`, else
/// 200.
pub fn parse_cgi_response(bytes: &[u8]) -> Result<TestResponse, CgiResponseError> {
    let (head, body) = split_head(bytes).ok_or(CgiResponseError::NoHeaderEnd)?;
    let mut status = None;
    let mut headers = HeaderMap::new();
    for line in head.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let bad = || CgiResponseError::BadHeader(String::from_utf8_lossy(line).into_owned());
        let colon = line.iter().position(|&b| b == b':').ok_or_else(bad)?;
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if name.eq_ignore_ascii_case(b"status") {
            status = Some(parse_status(value)?);
            continue;
        }
        let name = HeaderName::from_bytes(name).map_err(|_| bad())?;
        let value = HeaderValue::from_bytes(value).map_err(|_| bad())?;
        headers.append(name, value);
    }
    let status = status.unwrap_or(if headers.contains_key(header::LOCATION) {
        StatusCode::FOUND
    } else {
        StatusCode::OK
    });
    Ok(TestResponse {
        status,
        headers,
        body: body.to_vec(),
    })
}

/// Splits at the first blank line, which may end in CRLF or LF.
fn split_head(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    if let Some(rest) = bytes
        .strip_prefix(b"\r\n")
        .or_else(|| bytes.strip_prefix(b"\n"))
    {
        return Some((&[], rest));
    }
    let mut index = 0;
    while let Some(offset) = bytes[index..].iter().position(|&b| b == b'\n') {
        let newline = index + offset;
        let rest = &bytes[newline + 1..];
        if let Some(body) = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
        {
            return Some((&bytes[..newline], body));
        }
        index = newline + 1;
    }
    None
}

fn parse_status(value: &[u8]) -> Result<StatusCode, CgiResponseError> {
    value
        .get(..3)
        .and_then(|code| StatusCode::from_bytes(code).ok())
        .filter(|_| value.len() == 3 || value[3] == b' ')
        .ok_or_else(|| CgiResponseError::BadStatus(String::from_utf8_lossy(value).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_cgi_response() {
        let response =
            parse_cgi_response(b"Status: 404 Not Found\r\nContent-Type: text/plain\r\nX-A: 1\r\nX-A: 2\r\n\r\nnope\r\n\r\n")
                .unwrap();
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert_eq!(response.header("content-type"), Some("text/plain"));
        assert_eq!(response.headers.get_all("x-a").iter().count(), 2);
        assert!(response.headers.get("status").is_none());
        assert_eq!(response.body, b"nope\r\n\r\n");
    }

    #[test]
    fn defaults_the_status_and_accepts_bare_newlines() {
        let ok = parse_cgi_response(b"Content-Type: text/html\n\n<p>").unwrap();
        assert_eq!((ok.status, ok.text().as_str()), (StatusCode::OK, "<p>"));
        let redirect = parse_cgi_response(b"Location: /x\n\n").unwrap();
        assert_eq!(redirect.status, StatusCode::FOUND);
        let empty_head = parse_cgi_response(b"\r\nbody").unwrap();
        assert_eq!(empty_head.body, b"body");
    }

    #[test]
    fn refuses_what_is_not_a_cgi_response() {
        assert_eq!(
            parse_cgi_response(b"Status: 200 OK\r\n").unwrap_err(),
            CgiResponseError::NoHeaderEnd
        );
        assert!(matches!(
            parse_cgi_response(b"no colon\n\n"),
            Err(CgiResponseError::BadHeader(_))
        ));
        assert!(matches!(
            parse_cgi_response(b"Status: 2000\n\n"),
            Err(CgiResponseError::BadStatus(_))
        ));
        assert!(matches!(
            parse_cgi_response(b"Status: OK\n\n"),
            Err(CgiResponseError::BadStatus(_))
        ));
    }

    #[test]
    fn cgi_params_describe_the_request_as_a_web_server_would() {
        let request =
            TestRequest::post_form("/A Page?x=1", &[("a", "b")]).with_header("X-Thing", "y");
        let params = cgi_params(&request, "/wiki/");
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n == name.as_bytes())
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        };
        assert_eq!(get("REQUEST_METHOD").as_deref(), Some("POST"));
        assert_eq!(get("SCRIPT_NAME").as_deref(), Some("/wiki"));
        assert_eq!(get("PATH_INFO").as_deref(), Some("/A Page"));
        assert_eq!(get("REQUEST_URI").as_deref(), Some("/wiki/A%20Page?x=1"));
        assert_eq!(get("CONTENT_LENGTH").as_deref(), Some("3"));
        assert_eq!(
            get("CONTENT_TYPE").as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(get("HTTP_X_THING").as_deref(), Some("y"));
        assert_eq!(get("HTTP_HOST").as_deref(), Some("localhost"));
    }
}
