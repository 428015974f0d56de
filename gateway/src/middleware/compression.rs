//! Gzip compression of text-like responses, negotiated with `Accept-Encoding`.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;

use flate2::Compression;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};

use crate::{App, Request, Response, ResponseBody};

/// Bodies smaller than this are sent as they are: below about one network
/// packet, gzip's header and the CPU time cost more than they save (the
/// figure Akamai and Google's PageSpeed use).
const MIN_SIZE: u64 = 860;

/// Compresses responses with gzip for clients that accept it.
///
/// A response is compressed when all of these hold:
///
/// - the client's `Accept-Encoding` gives `gzip` (or `x-gzip`, or `*` when
///   neither is named) a q-value above zero — `gzip;q=0` is a refusal, and a
///   request without the header gets no compression;
/// - the content type is text-like: `text/*`, `application/json`,
///   `application/javascript`, `application/xml`, `image/svg+xml`, or any
///   `application/…+xml` / `application/…+json` (Atom, RSS, XHTML);
/// - the body is at least 860 bytes, or is streamed (its size is unknown; it
///   is compressed while it is sent);
/// - it has no `Content-Encoding` yet, no `Content-Range`, no
///   `Accept-Ranges: bytes` (a download whose ranges the app serves: see
///   [`crate::range`]), its status is not 204, 206, 304, 416 or
///   informational, and it does not answer a HEAD request.
///
/// Media types that are compressed already (images, video, archives, PDF)
/// are not text-like, and go as they are. A streamed body is compressed as
/// it is sent, never read into memory here.
///
/// A compressed response gets `Content-Encoding: gzip`, loses its
/// `Content-Length`, and a strong `ETag` becomes weak (the bytes differ from
/// the uncompressed variant's). Every response of a text-like type, whether
/// compressed or not, gets `Accept-Encoding` added to `Vary`, so caches keep
/// the variants apart.
///
/// ```
/// use gateway::{middleware::Gzip, testing::{TestClient, TestRequest}, Request, Response};
///
/// let app = |_request: Request| -> Response {
///     http::Response::builder()
///         .header("content-type", "text/plain")
///         .body("la ".repeat(1000).into())
///         .unwrap()
/// };
/// let client = TestClient::new(Gzip::new(app));
/// let response = client.send(TestRequest::get("/").with_header("accept-encoding", "gzip, br"));
/// assert_eq!(response.header("content-encoding"), Some("gzip"));
/// assert!(response.body.len() < 3000);
/// ```
///
/// An app that answers from a cache of its own hands out the same body (one
/// [`Bytes`], shared) again and again; the last 32 bodies compressed
/// are kept beside their gzip form, so such a body is compressed once, not on
/// every request (compressing a 20 KB page costs several times what a kept
/// page costs to answer).
#[derive(Debug, Clone)]
pub struct Gzip<A> {
    inner: A,
    recent: Arc<RecentlyCompressed>,
}

impl<A> Gzip<A> {
    /// Wraps `inner`.
    pub fn new(inner: A) -> Self {
        Gzip {
            inner,
            recent: Arc::default(),
        }
    }
}

/// How many compressed bodies [`Gzip`] keeps.
const RECENT: usize = 32;

/// The largest body [`Gzip`] keeps compressed: the kept bodies stay alive as long as they are kept.
const LARGEST_KEPT: usize = 256 * 1024;

/// Bodies lately compressed, each with its gzip form, newest last. A body is found by identity: the
/// same buffer (address and length) of a [`Bytes`] kept here, whose content cannot change and whose
/// memory cannot be another body's while this copy holds it.
#[derive(Debug, Default)]
struct RecentlyCompressed {
    bodies: Mutex<VecDeque<(Bytes, Bytes)>>,
}

impl RecentlyCompressed {
    /// `body` compressed, from the kept ones or compressed now (and kept).
    fn gzip(&self, body: &Bytes) -> Option<Bytes> {
        let same =
            |(kept, _): &(Bytes, Bytes)| kept.as_ptr() == body.as_ptr() && kept.len() == body.len();
        if let Some((_, compressed)) = self.lock().iter().find(|pair| same(pair)) {
            return Some(compressed.clone());
        }
        let compressed = Bytes::from(gzip_bytes(body)?);
        if body.len() <= LARGEST_KEPT {
            let mut bodies = self.lock();
            if bodies.len() == RECENT {
                bodies.pop_front();
            }
            bodies.push_back((body.clone(), compressed.clone()));
        }
        Some(compressed)
    }

    /// Pairs of immutable buffers: a panic elsewhere leaves nothing half-changed.
    fn lock(&self) -> MutexGuard<'_, VecDeque<(Bytes, Bytes)>> {
        self.bodies.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<A: App> App for Gzip<A> {
    fn call(&self, request: Request) -> Response {
        let wanted = accepts_gzip(request.headers()) && request.method() != Method::HEAD;
        let response = self.inner.call(request);
        if !is_compressible_response(&response) {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        add_vary_accept_encoding(&mut parts.headers);
        if !wanted || body.len().is_some_and(|len| len < MIN_SIZE) {
            return Response::from_parts(parts, body);
        }
        let body = match body {
            ResponseBody::Bytes(bytes) => match self.recent.gzip(&bytes) {
                Some(compressed) => ResponseBody::Bytes(compressed),
                None => return Response::from_parts(parts, ResponseBody::Bytes(bytes)),
            },
            ResponseBody::Reader(reader) => {
                ResponseBody::reader(flate2::read::GzEncoder::new(reader, Compression::default()))
            }
        };
        parts
            .headers
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        parts.headers.remove(header::CONTENT_LENGTH);
        weaken_etag(&mut parts.headers);
        Response::from_parts(parts, body)
    }
}

/// Whether the client accepts gzip, by RFC 9110 §12.5.3: an explicit `gzip`
/// (or its alias `x-gzip`) decides; otherwise `*` does; a client that sends
/// no `Accept-Encoding` gets no compression, as most servers do.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip: Option<f32> = None;
    let mut any: Option<f32> = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut params = item.split(';');
            let coding = params.next().unwrap_or_default().trim();
            if coding.is_empty() {
                continue;
            }
            let q = params
                .filter_map(|param| param.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
                .map_or(Some(1.0), |(_, q)| parse_qvalue(q.trim()));
            // A malformed q-value counts as a refusal: guessing "yes" could
            // send gzip to a client that tried to say no.
            let q = q.unwrap_or(0.0);
            let slot =
                if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                    &mut gzip
                } else if coding == "*" {
                    &mut any
                } else {
                    continue;
                };
            *slot = Some(slot.map_or(q, |seen| seen.max(q)));
        }
    }
    gzip.or(any).is_some_and(|q| q > 0.0)
}

/// A q-value: `0`, `1`, or up to three decimals of either (`0.5`, `1.000`).
fn parse_qvalue(text: &str) -> Option<f32> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let well_formed = matches!(whole, "0" | "1")
        && fraction.len() <= 3
        && fraction.bytes().all(|byte| byte.is_ascii_digit())
        && (whole == "0" || fraction.bytes().all(|byte| byte == b'0'));
    if !well_formed {
        return None;
    }
    text.parse().ok()
}

fn is_compressible_response(response: &Response) -> bool {
    let status = response.status();
    if status.is_informational()
        || matches!(
            status,
            StatusCode::NO_CONTENT
                | StatusCode::PARTIAL_CONTENT
                | StatusCode::NOT_MODIFIED
                | StatusCode::RANGE_NOT_SATISFIABLE
        )
    {
        return false;
    }
    let headers = response.headers();
    if headers.contains_key(header::CONTENT_ENCODING)
        || headers.contains_key(header::CONTENT_RANGE)
        || offers_ranges(headers)
    {
        return false;
    }
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(is_compressible_type)
}

/// Whether the app serves byte ranges of this body (`Accept-Ranges: bytes`,
/// a download): its ranges count bytes of the body as it is, and clients
/// resume with its strong ETag, so the body must not be compressed (which
/// would weaken the tag and change the bytes under the offsets).
fn offers_ranges(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_RANGES)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|unit| unit.trim().eq_ignore_ascii_case("bytes"))
}

fn is_compressible_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    match kind {
        "text" => true,
        "application" => {
            matches!(subtype, "json" | "javascript" | "xml")
                || subtype.ends_with("+xml")
                || subtype.ends_with("+json")
        }
        "image" => subtype == "svg+xml",
        _ => false,
    }
}

fn add_vary_accept_encoding(headers: &mut HeaderMap) {
    let already = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|name| name == "*" || name.eq_ignore_ascii_case("accept-encoding"));
    if !already {
        headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
}

/// `"abc"` → `W/"abc"`: a strong validator promises identical bytes, which
/// the compressed variant does not have.
fn weaken_etag(headers: &mut HeaderMap) {
    let Some(etag) = headers.get(header::ETAG) else {
        return;
    };
    if etag.as_bytes().starts_with(b"W/") {
        return;
    }
    let weak = [b"W/", etag.as_bytes()].concat();
    if let Ok(weak) = HeaderValue::from_bytes(&weak) {
        headers.insert(header::ETAG, weak);
    }
}

/// The whole body compressed, or `None` if compression failed (it writes to
/// memory, so it should not; the body then goes out uncompressed).
fn gzip_bytes(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 3), Compression::default());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// A body handed out again (an app's own cache) is compressed once; another buffer with the
    /// same bytes is compressed on its own, and the kept ones stay bounded.
    #[test]
    fn a_body_handed_out_again_is_compressed_once() {
        let recent = RecentlyCompressed::default();
        let page = Bytes::from("a kept page ".repeat(200));
        let first = recent.gzip(&page).expect("compressed");
        let again = recent.gzip(&page.clone()).expect("compressed");
        assert_eq!(first.as_ptr(), again.as_ptr(), "compressed a second time");
        let copy = Bytes::from(page.to_vec());
        let other = recent.gzip(&copy).expect("compressed");
        assert_ne!(other.as_ptr(), first.as_ptr());
        assert_eq!(other, first);
        for n in 0..2 * RECENT {
            recent.gzip(&Bytes::from(format!("{n} ").repeat(500)));
        }
        assert_eq!(recent.lock().len(), RECENT);
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(&first[..])
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped.as_bytes(), &page[..]);
    }
    use crate::testing::{TestClient, TestRequest, TestResponse};

    fn text_app(content_type: &'static str, body: String) -> impl App {
        move |_: Request| {
            let mut response = Response::new(body.clone().into());
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
            response
        }
    }

    fn big_text() -> String {
        (0..200)
            .map(|i| format!("line {i} of a wiki page\n"))
            .collect()
    }

    fn get(app: impl App, accept_encoding: &str) -> TestResponse {
        let mut request = TestRequest::get("/Page");
        if !accept_encoding.is_empty() {
            request = request.with_header("accept-encoding", accept_encoding);
        }
        TestClient::new(Gzip::new(app)).send(request)
    }

    fn gunzip(bytes: &[u8]) -> String {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn compresses_big_text_for_a_client_that_accepts_gzip() {
        let response = get(
            text_app("text/html; charset=utf-8", big_text()),
            "gzip, deflate, br",
        );
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        assert_eq!(response.header("content-length"), None);
        assert_eq!(response.header("vary"), Some("Accept-Encoding"));
        assert!(response.body.len() < big_text().len() / 2);
        assert_eq!(gunzip(&response.body), big_text());
    }

    #[test]
    fn compresses_a_streamed_body_whatever_its_size() {
        let app = |_: Request| {
            let mut response = Response::new(ResponseBody::reader(std::io::Cursor::new(
                b"short".to_vec(),
            )));
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        };
        let response = get(app, "gzip");
        assert_eq!(response.header("content-encoding"), Some("gzip"));
        assert_eq!(gunzip(&response.body), "short");
    }

    #[test]
    fn honours_q_values_and_the_wildcard() {
        for (accept, compressed) in [
            ("gzip", true),
            ("GZIP;Q=0.5", true),
            ("x-gzip", true),
            ("*", true),
            ("identity, *;q=0.1", true),
            ("gzip;q=0", false),
            ("gzip;q=0.000", false),
            ("gzip; q=0, *", false),
            ("*;q=0", false),
            ("*, gzip;q=0", false),
            ("deflate, br", false),
            ("identity", false),
            ("gzip;q=2", false),
            ("gzip;q=yes", false),
            ("", false),
        ] {
            let response = get(text_app("text/plain", big_text()), accept);
            assert_eq!(
                response.header("content-encoding") == Some("gzip"),
                compressed,
                "Accept-Encoding: {accept}"
            );
            if !compressed {
                assert_eq!(response.header("vary"), Some("Accept-Encoding"), "{accept}");
                assert_eq!(response.text(), big_text());
            }
        }
    }

    #[test]
    fn reads_every_accept_encoding_header() {
        let request = TestRequest::get("/")
            .with_header("accept-encoding", "br")
            .with_header("accept-encoding", "gzip;q=0.8");
        let response = TestClient::new(Gzip::new(text_app("text/plain", big_text()))).send(request);
        assert_eq!(response.header("content-encoding"), Some("gzip"));
    }

    #[test]
    fn compresses_only_text_like_types() {
        for (content_type, compressed) in [
            ("text/css", true),
            ("application/json", true),
            ("application/javascript", true),
            ("application/xml", true),
            ("application/atom+xml", true),
            ("application/rss+xml; charset=utf-8", true),
            ("image/svg+xml", true),
            ("image/png", false),
            ("application/octet-stream", false),
            ("application/zip", false),
            ("nonsense", false),
        ] {
            let response = get(text_app(content_type, big_text()), "gzip");
            assert_eq!(
                response.header("content-encoding") == Some("gzip"),
                compressed,
                "{content_type}"
            );
            assert_eq!(
                response.header("vary").is_some(),
                compressed,
                "{content_type}"
            );
        }
    }

    #[test]
    fn leaves_small_bodies_alone_but_still_varies() {
        let response = get(text_app("text/plain", "tiny".to_owned()), "gzip");
        assert_eq!(response.header("content-encoding"), None);
        assert_eq!(response.header("content-length"), Some("4"));
        assert_eq!(response.header("vary"), Some("Accept-Encoding"));
        assert_eq!(response.text(), "tiny");
    }

    #[test]
    fn never_compresses_head_204_304_or_encoded_responses() {
        let head = TestRequest {
            method: Method::HEAD,
            ..TestRequest::get("/").with_header("accept-encoding", "gzip")
        };
        let response = TestClient::new(Gzip::new(text_app("text/plain", big_text()))).send(head);
        assert_eq!(response.header("content-encoding"), None);
        assert_eq!(
            response.header("content-length"),
            Some(big_text().len().to_string().as_str())
        );

        for status in [StatusCode::NO_CONTENT, StatusCode::NOT_MODIFIED] {
            let app = move |_: Request| {
                let mut response = Response::new(big_text().into());
                *response.status_mut() = status;
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                response
            };
            assert_eq!(
                get(app, "gzip").header("content-encoding"),
                None,
                "{status}"
            );
        }

        let app = |_: Request| {
            let mut response = Response::new(big_text().into());
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            response
        };
        let response = get(app, "gzip");
        assert_eq!(response.header("content-encoding"), Some("br"));
        assert_eq!(response.text(), big_text());
    }

    #[test]
    fn extends_an_existing_vary_and_weakens_a_strong_etag() {
        let app = |_: Request| {
            let mut response = Response::new(big_text().into());
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            headers.insert(header::VARY, HeaderValue::from_static("Cookie"));
            headers.insert(header::ETAG, HeaderValue::from_static("\"rev-7\""));
            response
        };
        let response = get(app, "gzip");
        let vary: Vec<&str> = response
            .headers
            .get_all("vary")
            .iter()
            .map(|value| value.to_str().unwrap())
            .collect();
        assert_eq!(vary, ["Cookie", "Accept-Encoding"]);
        assert_eq!(response.header("etag"), Some("W/\"rev-7\""));

        let app = |_: Request| {
            let mut response = Response::new(big_text().into());
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            headers.insert(
                header::VARY,
                HeaderValue::from_static("cookie, accept-encoding"),
            );
            response
        };
        let response = get(app, "gzip");
        assert_eq!(response.headers.get_all("vary").iter().count(), 1);
    }

    /// A streamed download: `length` bytes of text, counting what was read.
    fn download_app(
        status: StatusCode,
        content_type: &'static str,
        ranges: bool,
        read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) -> impl App {
        move |_: Request| {
            let counted = Counted {
                inner: std::io::repeat(b'a').take(50_000_000),
                read: std::sync::Arc::clone(&read),
            };
            let mut response = http::Response::builder()
                .status(status)
                .header("content-type", content_type)
                .header("content-length", "50000000")
                .header("etag", "\"file-hash\"")
                .body(ResponseBody::reader(counted))
                .unwrap();
            if ranges {
                crate::range::accept_ranges(response.headers_mut());
            }
            response
        }
    }

    struct Counted<R> {
        inner: R,
        read: std::sync::Arc<std::sync::atomic::AtomicU64>,
    }

    impl<R: Read> Read for Counted<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read
                .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            Ok(n)
        }
    }

    fn call_with_gzip(app: impl App) -> Response {
        let request = TestRequest::get("/file")
            .with_header("accept-encoding", "gzip")
            .into_request("", 0);
        Gzip::new(app).call(request)
    }

    #[test]
    fn downloads_with_ranges_partial_answers_and_compressed_types_are_left_alone() {
        for (status, content_type, ranges) in [
            (StatusCode::OK, "text/plain", true),
            (StatusCode::OK, "image/png", false),
            (StatusCode::OK, "application/zip", false),
            (StatusCode::OK, "video/mp4", false),
            (StatusCode::PARTIAL_CONTENT, "text/plain", false),
            (StatusCode::RANGE_NOT_SATISFIABLE, "text/plain", false),
        ] {
            let read = std::sync::Arc::default();
            let response = call_with_gzip(download_app(
                status,
                content_type,
                ranges,
                Arc::clone(&read),
            ));
            let what = format!("{status} {content_type}");
            assert_eq!(response.headers().get("content-encoding"), None, "{what}");
            assert_eq!(response.headers()["content-length"], "50000000", "{what}");
            assert_eq!(response.headers()["etag"], "\"file-hash\"", "{what}");
            assert!(matches!(response.body(), ResponseBody::Reader(_)), "{what}");
            assert_eq!(read.load(std::sync::atomic::Ordering::Relaxed), 0, "{what}");
        }
    }

    #[test]
    fn a_streamed_text_body_is_compressed_while_sent_not_before() {
        let read = std::sync::Arc::default();
        let response = call_with_gzip(download_app(
            StatusCode::OK,
            "text/plain",
            false,
            Arc::clone(&read),
        ));
        assert_eq!(response.headers()["content-encoding"], "gzip");
        assert_eq!(response.headers().get("content-length"), None);
        assert_eq!(read.load(std::sync::atomic::Ordering::Relaxed), 0);
        let mut decoded = flate2::read::GzDecoder::new(response.into_body().into_reader());
        let mut total = 0u64;
        let mut chunk = vec![0; 64 * 1024];
        loop {
            let n = decoded.read(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            assert!(chunk[..n].iter().all(|&b| b == b'a'));
            total += n as u64;
        }
        assert_eq!(total, 50_000_000);
    }
}
