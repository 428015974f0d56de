//! Conditional GET: ETags from the body, and 304 answers to clients that have it.

use std::time::SystemTime;

use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode};
use sha2::{Digest, Sha256};

use crate::{App, Request, Response, ResponseBody};

/// Headers a 304 keeps (RFC 9110 §15.4.5), besides `Set-Cookie` and the
/// security headers added outside; the others describe a body it has not.
const KEPT_ON_304: [header::HeaderName; 7] = [
    header::CACHE_CONTROL,
    header::CONTENT_LOCATION,
    header::DATE,
    header::ETAG,
    header::EXPIRES,
    header::LAST_MODIFIED,
    header::VARY,
];

/// Answers repeat requests for an unchanged body with `304 Not Modified`.
///
/// For a `GET` or `HEAD` answered `200` (or `206` with the app's own
/// `ETag`):
///
/// - for a body in memory, an `ETag` is added unless the app set one: weak
///   (`W/"…"`), the [`content_hash`] of the body, so every process (CGI runs
///   one per request) gives the same body the same tag;
/// - `If-None-Match` (a list, `*`, weak comparison) that names the tag
///   answers 304;
/// - otherwise, without `If-None-Match`, `If-Modified-Since` answers 304
///   when the app set a `Last-Modified` that is not later.
///
/// A 304 has no body and keeps the validators and caching headers. Other
/// methods and other statuses pass untouched. A streamed body (a large file
/// the app chose not to hold in memory) is never read here: it gets no
/// tag of ours, and is answered 304 only from the app's own `ETag` or
/// `Last-Modified`, its reader dropped unread. The app still renders the page;
/// what is saved is the transfer. An app that knows cheaply whether its
/// answer changed (from a version number) can set its own `ETag` and answer
/// `304` itself before rendering: this layer keeps an app's tag and leaves
/// its `304` alone.
///
/// ```
/// use gateway::{middleware::ConditionalGet, testing::{TestClient, TestRequest}, Request, Response};
///
/// let app = |_request: Request| -> Response { Response::new("a page".into()) };
/// let client = TestClient::new(ConditionalGet::new(app));
/// let first = client.get("/");
/// let etag = first.header("etag").unwrap();
/// let again = client.send(TestRequest::get("/").with_header("if-none-match", etag));
/// assert_eq!(again.status, 304);
/// assert!(again.body.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct ConditionalGet<A> {
    inner: A,
}

impl<A> ConditionalGet<A> {
    /// Wraps `inner`.
    pub fn new(inner: A) -> Self {
        ConditionalGet { inner }
    }
}

impl<A: App> App for ConditionalGet<A> {
    fn call(&self, request: Request) -> Response {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return self.inner.call(request);
        }
        let if_none_match = joined(request.headers(), header::IF_NONE_MATCH);
        let if_modified_since = request
            .headers()
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| httpdate::parse_http_date(value).ok());
        let mut response = self.inner.call(request);
        let app_tagged = response.headers().contains_key(header::ETAG);
        match (response.status(), response.body()) {
            (StatusCode::OK, ResponseBody::Bytes(body)) if !app_tagged => {
                let tag = etag(body);
                response.headers_mut().insert(header::ETAG, tag);
            }
            (StatusCode::OK, _) => {}
            // A range of a body the app tagged: RFC 9110 §13.2.2 evaluates
            // If-None-Match before Range, so a client that has the whole
            // body gets a 304 for a range of it too.
            (StatusCode::PARTIAL_CONTENT, _) if app_tagged => {}
            _ => return response,
        }
        let fresh = match &if_none_match {
            Some(list) => response
                .headers()
                .get(header::ETAG)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|tag| none_match_names(list, tag)),
            None => {
                if_modified_since.is_some_and(|since| not_modified_since(response.headers(), since))
            }
        };
        if !fresh {
            return response;
        }
        not_modified(response)
    }
}

/// The ETag this layer gives a body, `W/"<content hash>"`: for an app that keeps a response and
/// tags it once, so that it is tagged as this layer would (and as every other process does).
pub fn etag(body: &[u8]) -> HeaderValue {
    HeaderValue::try_from(format!("W/\"{}\"", content_hash(body)))
        .expect("hex digits are a valid header value")
}

/// The workspace's one content hash, for ETags and for the content-hashed
/// URLs of static files (the app hands it to its themes): the first 64 bits
/// of the SHA-256 of `bytes`, as 16 lowercase hex digits.
///
/// A fixed algorithm, not std's randomly seeded hasher, so every process
/// (CGI runs one per request) and every build gives the same bytes the same
/// hash; 64 bits are plenty to tell the versions of one resource apart. Not
/// for security.
///
/// ```
/// use gateway::middleware::content_hash;
///
/// assert_eq!(content_hash(b""), "e3b0c44298fc1c14");
/// assert_ne!(content_hash(b"body{}"), content_hash(b"body{ }"));
/// ```
pub fn content_hash(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Every value of `name`, joined with commas (lists may be split over lines).
fn joined(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// Whether an `If-None-Match` list names `tag`, by weak comparison
/// (RFC 9110 §8.8.3.2: `W/"a"` and `"a"` match).
fn none_match_names(list: &str, tag: &str) -> bool {
    let opaque = |tag: &str| -> String {
        let tag = tag.trim();
        tag.strip_prefix("W/").unwrap_or(tag).to_owned()
    };
    let ours = opaque(tag);
    list.split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || (!candidate.is_empty() && opaque(candidate) == ours))
}

fn not_modified_since(headers: &HeaderMap, since: SystemTime) -> bool {
    headers
        .get(header::LAST_MODIFIED)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| httpdate::parse_http_date(value).ok())
        .is_some_and(|modified| modified <= since)
}

fn not_modified(response: Response) -> Response {
    let (mut parts, _body) = response.into_parts();
    let mut headers = HeaderMap::new();
    for name in KEPT_ON_304.into_iter().chain([header::SET_COOKIE]) {
        for value in parts.headers.get_all(&name) {
            headers.append(name.clone(), value.clone());
        }
    }
    parts.headers = headers;
    parts.status = StatusCode::NOT_MODIFIED;
    Response::from_parts(parts, ResponseBody::empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TestClient, TestRequest, TestResponse};
    use crate::{HttpError, IntoResponse};

    const MODIFIED: &str = "Wed, 21 Oct 2026 07:28:00 GMT";

    fn app(request: Request) -> Response {
        let body = format!("body of {}", String::from_utf8_lossy(request.path_info()));
        match request.path_info() {
            b"/dated" => http::Response::builder()
                .header("last-modified", MODIFIED)
                .header("content-type", "text/html")
                .header("cache-control", "no-cache")
                .body(body.into())
                .unwrap(),
            b"/tagged" => http::Response::builder()
                .header("etag", "\"v7\"")
                .body(body.into())
                .unwrap(),
            b"/missing" => HttpError::not_found("gone").into_response(),
            b"/stream" => Response::new(ResponseBody::reader(std::io::Cursor::new(b"s".to_vec()))),
            _ => Response::new(body.into()),
        }
    }

    fn send(request: TestRequest) -> TestResponse {
        TestClient::new(ConditionalGet::new(app)).send(request)
    }

    fn get_with(path: &str, name: &str, value: &str) -> TestResponse {
        send(TestRequest::get(path).with_header(name, value))
    }

    #[test]
    fn the_etag_is_weak_and_depends_only_on_the_body() {
        let first = send(TestRequest::get("/a"));
        let tag = first.header("etag").unwrap().to_owned();
        assert!(tag.starts_with("W/\"") && tag.ends_with('"'), "{tag}");
        assert_eq!(
            send(TestRequest::get("/a")).header("etag"),
            Some(tag.as_str())
        );
        assert_ne!(
            send(TestRequest::get("/b")).header("etag"),
            Some(tag.as_str())
        );
        // Fixed across processes and builds: SHA-256 of "body of /a", as
        // `python3 -c "import hashlib; print(hashlib.sha256(b'body of /a').hexdigest()[:16])"`
        // computes it.
        assert_eq!(tag, "W/\"6d864710fbf2fbda\"");
    }

    #[test]
    fn the_content_hash_is_sha256_and_fixed_across_builds() {
        // SHA-256's published test vectors, cut to 64 bits: URLs and tags must
        // not change with the compiler.
        assert_eq!(content_hash(b""), "e3b0c44298fc1c14");
        assert_eq!(content_hash(b"a"), "ca978112ca1bbdca");
    }

    #[test]
    fn if_none_match_answers_304_for_lists_star_and_weak_tags() {
        let tag = send(TestRequest::get("/a"))
            .header("etag")
            .unwrap()
            .to_owned();
        let strong = tag.trim_start_matches("W/").to_owned();
        for header in [tag.clone(), strong, format!("\"x\", {tag}"), "*".to_owned()] {
            let response = get_with("/a", "if-none-match", &header);
            assert_eq!(response.status, StatusCode::NOT_MODIFIED, "{header}");
            assert!(response.body.is_empty());
            assert_eq!(response.header("etag"), Some(tag.as_str()));
        }
        let other = get_with("/a", "if-none-match", "W/\"other\"");
        assert_eq!(other.status, StatusCode::OK);
        let head = send(
            TestRequest {
                method: Method::HEAD,
                ..TestRequest::get("/a")
            }
            .with_header("if-none-match", &tag),
        );
        assert_eq!(head.status, StatusCode::NOT_MODIFIED);
        let app_tag = get_with("/tagged", "if-none-match", "W/\"v7\"");
        assert_eq!(app_tag.status, StatusCode::NOT_MODIFIED);
        assert_eq!(app_tag.header("etag"), Some("\"v7\""));
    }

    #[test]
    fn if_modified_since_needs_the_apps_last_modified() {
        let same = get_with("/dated", "if-modified-since", MODIFIED);
        assert_eq!(same.status, StatusCode::NOT_MODIFIED);
        assert_eq!(same.header("last-modified"), Some(MODIFIED));
        assert_eq!(same.header("cache-control"), Some("no-cache"));
        assert_eq!(same.header("content-type"), None);
        let later = get_with(
            "/dated",
            "if-modified-since",
            "Thu, 22 Oct 2026 07:28:00 GMT",
        );
        assert_eq!(later.status, StatusCode::NOT_MODIFIED);
        let earlier = get_with(
            "/dated",
            "if-modified-since",
            "Tue, 20 Oct 2026 07:28:00 GMT",
        );
        assert_eq!(earlier.status, StatusCode::OK);
        let undated = get_with("/a", "if-modified-since", MODIFIED);
        assert_eq!(undated.status, StatusCode::OK);
        let junk = get_with("/dated", "if-modified-since", "yesterday");
        assert_eq!(junk.status, StatusCode::OK);
        // If-None-Match decides when both are sent (RFC 9110 §13.2.2).
        let both = send(
            TestRequest::get("/dated")
                .with_header("if-none-match", "\"stale\"")
                .with_header("if-modified-since", MODIFIED),
        );
        assert_eq!(both.status, StatusCode::OK);
    }

    #[test]
    fn posts_errors_and_streams_pass_untouched() {
        let post = send(TestRequest::post_form("/a", &[]).with_header("if-none-match", "*"));
        assert_eq!(post.status, StatusCode::OK);
        assert_eq!(post.header("etag"), None);
        let missing = get_with("/missing", "if-none-match", "*");
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert_eq!(missing.header("etag"), None);
        let stream = get_with("/stream", "if-none-match", "*");
        assert_eq!(stream.status, StatusCode::OK);
        assert_eq!(stream.header("etag"), None);
    }

    /// A body that must not be read: a large download ConditionalGet answers
    /// 304 without reading.
    struct Unreadable;

    impl std::io::Read for Unreadable {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            panic!("the body was read");
        }
    }

    fn download(request: Request) -> Response {
        let status = match request.headers().contains_key(header::RANGE) {
            true => StatusCode::PARTIAL_CONTENT,
            false => StatusCode::OK,
        };
        http::Response::builder()
            .status(status)
            .header("etag", "\"sha-256-of-the-file\"")
            .header("last-modified", MODIFIED)
            .header("content-length", "50000000")
            .body(ResponseBody::reader(Unreadable))
            .unwrap()
    }

    #[test]
    fn a_streamed_body_is_answered_304_from_the_apps_tag_unread() {
        let client = TestClient::new(ConditionalGet::new(download));
        for request in [
            TestRequest::get("/file").with_header("if-none-match", "\"sha-256-of-the-file\""),
            TestRequest::get("/file").with_header("if-none-match", "W/\"sha-256-of-the-file\""),
            TestRequest::get("/file").with_header("if-modified-since", MODIFIED),
            TestRequest::get("/file")
                .with_header("range", "bytes=10-")
                .with_header("if-none-match", "\"sha-256-of-the-file\""),
        ] {
            let response = client.send(request.clone());
            assert_eq!(response.status, StatusCode::NOT_MODIFIED, "{request:?}");
            assert_eq!(response.header("etag"), Some("\"sha-256-of-the-file\""));
            assert_eq!(response.header("content-length"), None);
        }
    }

    #[test]
    fn a_streamed_body_without_a_match_passes_with_no_tag_of_ours() {
        let app = |_: Request| {
            http::Response::builder()
                .status(StatusCode::PARTIAL_CONTENT)
                .header("content-range", "bytes 0-0/10")
                .body(ResponseBody::reader(std::io::Cursor::new(b"x".to_vec())))
                .unwrap()
        };
        let client = TestClient::new(ConditionalGet::new(app));
        let untagged = client.send(TestRequest::get("/").with_header("if-none-match", "*"));
        assert_eq!(untagged.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(untagged.header("etag"), None);
        assert_eq!(untagged.body, b"x");
    }
}
