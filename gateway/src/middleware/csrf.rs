//! Cross-site request forgery protection with a per-session token.

use http::header::{self, HeaderMap, HeaderName};
use http::{Method, StatusCode};
use subtle::ConstantTimeEq;

use crate::form::Form;
use crate::session::Session;
use crate::{App, BodyError, HttpError, IntoResponse, Request, RequestBody, Response};

/// The form field that carries the token.
pub const CSRF_FIELD: &str = "csrf_token";
/// The header that carries the token (for scripts).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How far into a `multipart/form-data` body the token field must be found,
/// in bytes; it must also come before any file part.
pub const MULTIPART_TOKEN_WINDOW: usize = 64 * 1024;

/// The request's CSRF token, for forms to embed (`<input type="hidden"
/// name="csrf_token" value="…">`) or scripts to send as `X-CSRF-Token`.
///
/// [`Csrf`] puts one in every request's extensions. The token lives in the
/// session and is made on the first call to [`CsrfToken::value`], so
/// clients that never see a form get no cookie for it.
#[derive(Debug, Clone)]
pub struct CsrfToken {
    session: Session,
}

impl CsrfToken {
    /// The token, made now if the session has none.
    pub fn value(&self) -> String {
        self.session.csrf_token()
    }

    /// The token if the session has one already, without making one: for an app that keys a
    /// cache by the token a page would print, and must not start a session to ask.
    pub fn existing(&self) -> Option<String> {
        self.session.existing_csrf_token()
    }
}

/// What [`Csrf`] hands the app with a request it refused, so that the app may draw the page the
/// form came from (an editor with the text kept, when a session expired mid-edit) instead of a bare
/// 403.
///
/// The app sees the refused request as a `GET` of the same address, which nothing may take as a
/// change, with this in its extensions; the form's body is here, for showing only. The answer is a
/// 403 whatever the app's status, and it is used only if the app marks it with [`RefusalDrawn`]: an
/// app that knows nothing of this answers a `GET`, which is thrown away for the plain refusal.
#[derive(Debug, Clone)]
pub struct CsrfRefused {
    form: Vec<u8>,
    cause: &'static str,
}

impl CsrfRefused {
    /// The refused form's body as it was sent (empty when the token came in a header, or for a
    /// body that is not a form); of a multipart form, only what was read of it looking for the
    /// token (at most [`MULTIPART_TOKEN_WINDOW`] bytes and a read).
    pub fn form(&self) -> &[u8] {
        &self.form
    }
}

/// Put in a response's extensions by an app that drew a page for a [`CsrfRefused`] request.
#[derive(Debug, Clone, Copy)]
pub struct RefusalDrawn;

/// Refuses state-changing requests that do not carry the session's token.
///
/// `POST`, `PUT`, `PATCH`, `DELETE` (every method but `GET`, `HEAD`,
/// `OPTIONS` and `TRACE`) must carry the token of the session
/// (see [`CsrfToken`]) in the `X-CSRF-Token` header or in the form field
/// `csrf_token` of an `application/x-www-form-urlencoded` or
/// `multipart/form-data` body; otherwise the answer is 403 and the inner app
/// never sees the request as it was sent: at most it draws the refusal from a
/// `GET` of the same address ([`CsrfRefused`]). Tokens are compared in constant
/// time. Another site can make
/// a browser send a form here, with the session cookie, but cannot read the
/// token out of our pages, so it cannot send the right one.
///
/// To find the field the body is read here, and the app gets the very same
/// bytes:
///
/// - a urlencoded body is read whole, within the request's
///   [`max_body_bytes`](crate::GatewayConfig::max_body_bytes) (a body over it
///   is answered 413 as the app would);
/// - a multipart body (an upload, perhaps larger than memory) is never read
///   whole: only until its `csrf_token` field, which must come **before any
///   file part and within the first [`MULTIPART_TOKEN_WINDOW`] bytes** (64
///   KiB), or the request is refused. Forms must therefore put the token
///   first, as quire's do. The app then gets a body that replays what was
///   read and goes on with the stream, within the same limits;
/// - a body of another type is not read at all: it cannot carry the field;
/// - a token sent as `X-CSRF-Token` needs no body read at all.
///
/// # Bearer credentials
///
/// With [`Csrf::bearer_paths`], a request under that path prefix that carries
/// an `Authorization: Bearer …` header passes without a token, and gets
/// [`BearerPassed`] in its extensions. That is safe because a forged request
/// is one a browser sends with its ambient credentials (the session cookie),
/// and no other site can make a browser add an `Authorization` header (only a
/// script could, and the browser asks this server first through CORS, which
/// it never allows). The price is on the app: a request marked
/// [`BearerPassed`] must be authenticated by that header alone, never by its
/// session, and must be refused when the header's credential is no good.
/// Outside the prefix, or without the header, nothing changes.
///
/// A refusal the app draws is a 403, or a 401 when the app answers that (an
/// API asking for credentials: nothing was done either way).
///
/// It needs a [`Session`] in the request's extensions, so it sits inside
/// [`crate::middleware::Sessions`]; without one, a request is a 500 (a
/// stacking bug, logged).
#[derive(Debug, Clone)]
pub struct Csrf<A> {
    inner: A,
    /// Where a bearer credential stands in for the token; `None`: nowhere.
    bearer_paths: Option<Vec<u8>>,
}

/// Put in a request's extensions by [`Csrf`] when it let a state-changing request through for its
/// `Authorization: Bearer` header alone (see [`Csrf::bearer_paths`]): the app must authenticate it
/// by that header and nothing else.
#[derive(Debug, Clone, Copy)]
pub struct BearerPassed;

impl<A> Csrf<A> {
    /// Wraps `inner`.
    pub fn new(inner: A) -> Self {
        Csrf {
            inner,
            bearer_paths: None,
        }
    }

    /// Lets requests whose path below the mount starts with `prefix` (such as `/+api/`) pass with an
    /// `Authorization: Bearer` header instead of the token (the type's docs say why that is safe).
    pub fn bearer_paths(mut self, prefix: &str) -> Self {
        self.bearer_paths = Some(prefix.as_bytes().to_vec());
        self
    }

    /// Whether `request` may pass for its bearer credential.
    fn passes_as_bearer(&self, request: &Request) -> bool {
        let Some(prefix) = &self.bearer_paths else {
            return false;
        };
        request.path_info().starts_with(prefix) && bearer_header(request.headers())
    }
}

/// Whether the request carries `Authorization: Bearer …` (the scheme in any case, RFC 9110 §11.1).
fn bearer_header(headers: &HeaderMap) -> bool {
    headers.get_all(header::AUTHORIZATION).iter().any(|value| {
        value
            .as_bytes()
            .get(..7)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"bearer "))
    })
}

impl<A: App> App for Csrf<A> {
    fn call(&self, request: Request) -> Response {
        let Some(session) = request.extensions().get::<Session>().cloned() else {
            return HttpError::internal(
                "the Csrf middleware runs without a session: put it inside Sessions",
            )
            .into_response();
        };
        // Every method but the safe ones (RFC 9110 §9.2.1), so that an
        // extension method cannot slip by.
        let changes_state = !matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
        );
        let mut request = if changes_state && self.passes_as_bearer(&request) {
            let mut request = request;
            request.extensions_mut().insert(BearerPassed);
            request
        } else if changes_state {
            match check(request, &session) {
                Checked::Passed(request) => request,
                Checked::Failed(refusal) => return refusal.into_response(),
                Checked::Refused(request) => {
                    return self.draw_refusal(request, CsrfToken { session });
                }
            }
        } else {
            request
        };
        request.extensions_mut().insert(CsrfToken { session });
        self.inner.call(request)
    }
}

impl<A: App> Csrf<A> {
    /// The refusal of `request` (already made a `GET` carrying [`CsrfRefused`]): the app's page if
    /// it drew one for it, as a 403, else the plain refusal.
    fn draw_refusal(&self, mut request: Request, token: CsrfToken) -> Response {
        let cause = request
            .extensions()
            .get::<CsrfRefused>()
            .map_or(WRONG_TOKEN, |refused| refused.cause);
        request.extensions_mut().insert(token);
        let mut response = self.inner.call(request);
        if response.extensions().get::<RefusalDrawn>().is_none() {
            return refused(cause).into_response();
        }
        // Asking for credentials is a refusal too; anything else the app drew is the 403.
        if response.status() != StatusCode::UNAUTHORIZED {
            *response.status_mut() = StatusCode::FORBIDDEN;
        }
        if let Some(cause) = refused(cause).cause().cloned() {
            response.extensions_mut().insert(cause);
        }
        response
    }
}

/// What [`check`] found.
enum Checked {
    /// The right token: the request, its body restored.
    Passed(Request),
    /// No token or a wrong one: the request as the app sees a refusal ([`CsrfRefused`]).
    Refused(Request),
    /// The body could not be read (over the limit, say).
    Failed(HttpError),
}

/// Lets `request` through with its body restored, or says why not.
fn check(request: Request, session: &Session) -> Checked {
    let expected = session.existing_csrf_token();
    if let Some(sent) = header_token(request.headers()) {
        return match matches(expected.as_deref(), sent.as_bytes()) {
            true => Checked::Passed(request),
            false => Checked::Refused(as_refused(request, Vec::new(), WRONG_TOKEN)),
        };
    }
    let (head, environ, mut body) = request.into_parts();
    let (sent, read, cause) = match form_kind(&head.headers) {
        Some(FormKind::Urlencoded) => match body.read_to_vec() {
            Ok(bytes) => (urlencoded_field(&bytes, CSRF_FIELD), bytes, WRONG_TOKEN),
            Err(err) => return Checked::Failed(err.into()),
        },
        Some(FormKind::Multipart(boundary)) => match find_multipart_token(&mut body, &boundary) {
            Ok((Scan::Found(token), read)) => (Some(token), read, WRONG_TOKEN),
            Ok((Scan::FileFirst, read)) => (None, read, FILE_BEFORE_TOKEN),
            Ok((Scan::Missing | Scan::Incomplete, read)) => (None, read, NO_TOKEN_IN_WINDOW),
            Err(err) => return Checked::Failed(err.into()),
        },
        None => (None, Vec::new(), WRONG_TOKEN),
    };
    if !matches(expected.as_deref(), sent.as_deref().unwrap_or_default()) {
        let request = Request::new(head, environ, body);
        return Checked::Refused(as_refused(request, read, cause));
    }
    body.unread(read);
    Checked::Passed(Request::new(head, environ, body))
}

/// Reads `body` until the token field is found, a file part comes first,
/// the body ends, or [`MULTIPART_TOKEN_WINDOW`] is passed; returns what was
/// found and the bytes read.
fn find_multipart_token(
    body: &mut RequestBody,
    boundary: &[u8],
) -> Result<(Scan, Vec<u8>), BodyError> {
    let mut read = Vec::new();
    let mut chunk = [0u8; 8 * 1024];
    loop {
        let n = body.read_some(&mut chunk)?;
        read.extend_from_slice(&chunk[..n]);
        let scan = multipart_scan(&read, boundary, CSRF_FIELD);
        if n == 0 || read.len() >= MULTIPART_TOKEN_WINDOW || !matches!(scan, Scan::Incomplete) {
            return Ok((scan, read));
        }
    }
}

/// `request` as the app sees a refusal: a `GET` with no body, the form beside it.
fn as_refused(request: Request, form: Vec<u8>, cause: &'static str) -> Request {
    let (mut head, environ, body) = request.into_parts();
    head.method = Method::GET;
    let mut request = Request::new(
        head,
        environ,
        RequestBody::from_bytes(Vec::new(), body.limits()),
    );
    request.extensions_mut().insert(CsrfRefused { form, cause });
    request
}

/// The cause logged with a refusal, for a token missing or wrong.
const WRONG_TOKEN: &str = "missing or wrong CSRF token";
/// ... for a multipart form whose token comes after a file.
const FILE_BEFORE_TOKEN: &str = "a multipart form with a file part before its csrf_token field \
     (forms must send the token first, before any file)";
/// ... for a multipart form whose token is not near the start.
const NO_TOKEN_IN_WINDOW: &str = "a multipart form without a csrf_token field in its first 64 KiB \
     (forms must send the token first, before any file)";

fn refused(cause: &'static str) -> HttpError {
    HttpError::new(
        StatusCode::FORBIDDEN,
        "This form was refused because it did not carry this site's security token (CSRF token): \
         it may have been sent from another site, or the page was open for too long or your \
         session ended. Go back, reload the page, and send it again.",
    )
    .with_cause(cause)
}

/// Constant-time comparison; no session token matches nothing.
fn matches(expected: Option<&str>, sent: &[u8]) -> bool {
    match expected {
        Some(expected) if !sent.is_empty() => expected.as_bytes().ct_eq(sent).into(),
        _ => false,
    }
}

fn header_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(HeaderName::from_static(CSRF_HEADER))
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
}

/// The two kinds of form that may carry the field.
enum FormKind {
    Urlencoded,
    /// With its boundary.
    Multipart(Vec<u8>),
}

fn form_kind(headers: &HeaderMap) -> Option<FormKind> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mut params = content_type.split(';');
    let essence = params.next()?.trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => Some(FormKind::Urlencoded),
        "multipart/form-data" => {
            let boundary = params
                .filter_map(|param| param.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
                .map(|(_, value)| value.trim().trim_matches('"'))?;
            Some(FormKind::Multipart(boundary.as_bytes().to_vec()))
        }
        _ => None,
    }
}

/// The first value of field `name` in a urlencoded body. Only that pair is
/// decoded: the rest (a whole page of text, say) is the app's to read.
fn urlencoded_field(body: &[u8], name: &str) -> Option<Vec<u8>> {
    body.split(|&byte| byte == b'&').find_map(|pair| {
        let (key, value) = match pair.iter().position(|&byte| byte == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &b""[..]),
        };
        // Names are short; decoding one costs nothing, and "csrf%5Ftoken"
        // (how some clients write the underscore) still counts.
        let key = Form::parse(key).ok()?;
        let (decoded, _) = key.pairs().first()?;
        if decoded != name {
            return None;
        }
        let value = Form::parse(&[b"v=", value].concat()).ok()?;
        value.get("v").map(|value| value.as_bytes().to_vec())
    })
}

/// What the start of a `multipart/form-data` body (RFC 7578) says about
/// field `name`.
#[derive(Debug, PartialEq, Eq)]
enum Scan {
    /// The value of the first non-file part named `name`.
    Found(Vec<u8>),
    /// A file part comes before it: refused, since it would take reading
    /// the file to get there.
    FileFirst,
    /// Not there: the body ended, or it cannot be read as multipart.
    Missing,
    /// More of the body is needed to tell.
    Incomplete,
}

/// Scans the parts of `body` (maybe only its start) in order, up to field
/// `name`.
fn multipart_scan(body: &[u8], boundary: &[u8], name: &str) -> Scan {
    if boundary.is_empty() || boundary.len() > 70 {
        return Scan::Missing;
    }
    let delimiter = [b"\r\n--", boundary].concat();
    // The first boundary may start the body without the leading CRLF.
    let mut rest = if body.starts_with(&delimiter[2..]) {
        &body[delimiter.len() - 2..]
    } else if body.len() < delimiter.len() - 2 && delimiter[2..].starts_with(body) {
        return Scan::Incomplete;
    } else {
        let Some(at) = find(body, &delimiter) else {
            return Scan::Incomplete;
        };
        &body[at + delimiter.len()..]
    };
    loop {
        if rest.starts_with(b"--") {
            return Scan::Missing;
        }
        // Skip transport padding and the CRLF after the boundary.
        let Some(line_end) = find(rest, b"\r\n") else {
            return Scan::Incomplete;
        };
        rest = &rest[line_end + 2..];
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            return Scan::Incomplete;
        };
        let disposition = part_disposition(&rest[..head_end]);
        if disposition.as_ref().is_some_and(|d| d.file) {
            return Scan::FileFirst;
        }
        let content = &rest[head_end + 4..];
        let Some(end) = find(content, &delimiter) else {
            return Scan::Incomplete;
        };
        if disposition.is_some_and(|d| d.name == name) {
            return Scan::Found(content[..end].to_vec());
        }
        rest = &content[end + delimiter.len()..];
    }
}

/// What a part's `Content-Disposition: form-data` says.
struct Disposition {
    name: String,
    /// Whether it has a file name (`filename` or `filename*`).
    file: bool,
}

fn part_disposition(head: &[u8]) -> Option<Disposition> {
    let head = std::str::from_utf8(head).ok()?;
    head.split("\r\n").find_map(|line| {
        let (header_name, value) = line.split_once(':')?;
        if !header_name
            .trim()
            .eq_ignore_ascii_case("content-disposition")
        {
            return None;
        }
        let mut params = value.split(';');
        if !params
            .next()
            .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("form-data"))
        {
            return None;
        }
        let mut disposition = Disposition {
            name: String::new(),
            file: false,
        };
        for param in params {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim().trim_matches('"');
            match key.as_str() {
                "name" => disposition.name = value.to_owned(),
                "filename" | "filename*" => disposition.file = true,
                _ => {}
            }
        }
        Some(disposition)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::middleware::Sessions;
    use crate::session::SessionKeys;
    use crate::testing::{TestClient, TestRequest};
    use crate::GatewayConfig;

    static CALLS: AtomicUsize = AtomicUsize::new(0);

    /// GET shows the token; POST echoes the body it was given.
    fn app(mut request: Request) -> Response {
        if request.method() == Method::GET {
            let token = request.extensions().get::<CsrfToken>().unwrap().value();
            return Response::new(token.into());
        }
        CALLS.fetch_add(1, Ordering::SeqCst);
        match request.body_mut().read_to_vec() {
            Ok(body) => Response::new(body.into()),
            Err(err) => HttpError::from(err).into_response(),
        }
    }

    fn client(limit: u64) -> TestClient<impl App> {
        let keys = Arc::new(SessionKeys::generate().unwrap());
        TestClient::new(Sessions::new(Csrf::new(app), keys))
            .with_config(GatewayConfig {
                max_body_bytes: limit,
                ..GatewayConfig::default()
            })
            .with_cookie_jar()
    }

    /// A multipart form: `before` (parts), the token, then `after` (parts).
    fn multipart_around(before: &str, token: &str, after: &[u8]) -> TestRequest {
        let mut body = format!(
            "{before}--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
        )
        .into_bytes();
        body.extend_from_slice(after);
        let mut request = TestRequest::post_form("/", &[]);
        request.headers.clear();
        request.body = body;
        request.with_header("content-type", "multipart/form-data; boundary=XyZ")
    }

    /// A file part named like the token comes after the token (the token
    /// must come first).
    fn multipart(token: &str) -> TestRequest {
        multipart_around(
            "--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhello\r\n",
            token,
            b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"csrf_token\"\r\n\r\nnot it\r\n--XyZ--\r\n",
        )
    }

    fn multipart_field(body: &[u8], boundary: &[u8], name: &str) -> Option<Vec<u8>> {
        match multipart_scan(body, boundary, name) {
            Scan::Found(value) => Some(value),
            _ => None,
        }
    }

    /// A file part of `len` bytes of noise, then the closing boundary.
    fn file_part(len: usize) -> Vec<u8> {
        let mut part =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"big.bin\"\r\n\
            Content-Type: application/octet-stream\r\n\r\n"
                .to_vec();
        let mut state = 0x9e37_79b9_u32;
        part.extend((0..len).map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        }));
        part.extend_from_slice(b"\r\n--XyZ--\r\n");
        part
    }

    #[test]
    fn a_token_first_upload_larger_than_the_form_limit_passes_whole() {
        let keys = Arc::new(SessionKeys::generate().unwrap());
        // Echoes the body as a stream, the way an upload is read.
        let streaming = |mut request: Request| -> Response {
            if request.method() == Method::GET {
                let token = request.extensions().get::<CsrfToken>().unwrap().value();
                return Response::new(token.into());
            }
            let mut body = Vec::new();
            match std::io::Read::read_to_end(request.body_mut(), &mut body) {
                Ok(_) => Response::new(body.into()),
                Err(err) => HttpError::bad_request(err.to_string()).into_response(),
            }
        };
        let client = TestClient::new(Sessions::new(Csrf::new(streaming), keys))
            .with_config(GatewayConfig {
                max_body_bytes: 1000,
                max_stream_bytes: 1 << 20,
                ..GatewayConfig::default()
            })
            .with_cookie_jar();
        let token = client.get("/").text();
        let request = multipart_around("", &token, &file_part(300_000));
        let sent = request.body.clone();
        let response = client.send(request);
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        assert!(response.body == sent, "the app reads the very same bytes");

        let over = client.send(multipart_around("", &token, &file_part(2 << 20)));
        assert_eq!(over.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn a_file_before_the_token_is_refused_without_reading_the_file() {
        let client = client(1 << 20);
        let token = client.get("/").text();
        let mut file_first = file_part(10_000);
        file_first.truncate(file_first.len() - b"--XyZ--\r\n".len());
        let mut request = multipart_around("", &token, b"--XyZ--\r\n");
        file_first.extend_from_slice(&request.body);
        request.body = file_first;
        let before = CALLS.load(Ordering::SeqCst);
        let response = client.send(request.clone());
        assert_eq!(response.status, StatusCode::FORBIDDEN);
        assert_eq!(CALLS.load(Ordering::SeqCst), before, "the app never ran");
        let cause = refusal_cause(request);
        assert!(cause.contains("before its csrf_token"), "{cause}");

        // Nor a token further in than the window, even without a file.
        let padding = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n{}\r\n",
            "x".repeat(MULTIPART_TOKEN_WINDOW)
        );
        let far = multipart_around(&padding, &token, b"--XyZ--\r\n");
        assert_eq!(client.send(far.clone()).status, StatusCode::FORBIDDEN);
        let cause = refusal_cause(far);
        assert!(cause.contains("first 64 KiB"), "{cause}");
    }

    #[test]
    fn a_bearer_header_passes_only_under_the_bearer_paths_and_is_marked() {
        // Says whether the request was marked, and what the app would answer a refusal.
        let marking = |request: Request| -> Response {
            let api = request.path_info().starts_with(b"/+api/");
            if request.extensions().get::<CsrfRefused>().is_some() && api {
                let mut response = HttpError::new(StatusCode::UNAUTHORIZED, "who?").into_response();
                response.extensions_mut().insert(RefusalDrawn);
                return response;
            }
            let marked = request.extensions().get::<BearerPassed>().is_some();
            Response::new(format!("marked: {marked}").into())
        };
        let keys = Arc::new(SessionKeys::generate().unwrap());
        let client = TestClient::new(Sessions::new(
            Csrf::new(marking).bearer_paths("/+api/"),
            keys,
        ));
        let put = |path: &str, authorization: Option<&str>| {
            let mut request = TestRequest::get(path);
            request.method = Method::PUT;
            request.body = b"{}".to_vec();
            match authorization {
                Some(value) => request.with_header("authorization", value),
                None => request,
            }
        };
        let passed = client.send(put("/+api/v1/pages/A", Some("Bearer quire_x")));
        assert_eq!(passed.status, StatusCode::OK);
        assert_eq!(passed.text(), "marked: true");
        let lower = client.send(put("/+api/v1/pages/A", Some("bearer quire_x")));
        assert_eq!(lower.text(), "marked: true");
        // Elsewhere a bearer header is nothing; under the prefix, another scheme is nothing.
        assert_eq!(
            client.send(put("/+edit/A", Some("Bearer quire_x"))).status,
            StatusCode::FORBIDDEN
        );
        // Without one, the refusal the app drew: a 401 stays a 401.
        let basic = client.send(put("/+api/v1/pages/A", Some("Basic eDp5")));
        assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            client.send(put("/+api/v1/pages/A", None)).status,
            StatusCode::UNAUTHORIZED
        );
        // A safe method is never marked.
        let get = TestRequest::get("/+api/v1/pages/A").with_header("authorization", "Bearer x");
        assert_eq!(client.send(get).text(), "marked: false");
    }

    /// The logged cause of the refusal of `request`.
    fn refusal_cause(request: TestRequest) -> String {
        let keys = Arc::new(SessionKeys::generate().unwrap());
        let response = Sessions::new(Csrf::new(app), keys).call(request.into_request("", 1 << 20));
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        response
            .extensions()
            .get::<crate::ErrorReport>()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn the_token_is_found_however_the_body_arrives(
            splits in proptest::collection::vec(1usize..200, 1..40),
            file_len in 0usize..3000,
        ) {
            /// Yields its bytes in the given sizes, as a network would.
            struct Trickle { data: Vec<u8>, at: usize, sizes: Vec<usize>, next: usize }
            impl std::io::Read for Trickle {
                fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                    let size = self.sizes[self.next % self.sizes.len()];
                    self.next += 1;
                    let n = size.min(buf.len()).min(self.data.len() - self.at);
                    buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
                    self.at += n;
                    Ok(n)
                }
            }
            let request = multipart_around("", "TOKEN", &file_part(file_len));
            let data = request.body.clone();
            let len = data.len() as u64;
            let mut body = RequestBody::new(Trickle { data: data.clone(), at: 0, sizes: splits, next: 0 }, Some(len), 1 << 20);
            let (scan, read) = find_multipart_token(&mut body, b"XyZ").unwrap();
            proptest::prop_assert_eq!(scan, Scan::Found(b"TOKEN".to_vec()));
            body.unread(read);
            let mut again = Vec::new();
            std::io::Read::read_to_end(&mut body, &mut again).unwrap();
            proptest::prop_assert!(again == data);
        }
    }

    #[test]
    fn a_post_needs_the_session_token() {
        let client = client(1 << 20);
        let token = client.get("/").text();
        assert_eq!(token.len(), 43);
        assert_eq!(client.get("/").text(), token, "stable within the session");

        let before = CALLS.load(Ordering::SeqCst);
        let missing = client.post_form("/", &[("text", "hi")]);
        assert_eq!(missing.status, StatusCode::FORBIDDEN);
        assert!(
            missing.text().contains("security token"),
            "{}",
            missing.text()
        );
        let forged = client.post_form("/", &[("text", "hi"), ("csrf_token", "forged")]);
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        let mut almost = token.clone().into_bytes();
        almost[42] = if almost[42] == b'A' { b'B' } else { b'A' };
        let almost = String::from_utf8(almost).unwrap();
        let forged = client.post_form("/", &[("csrf_token", &almost)]);
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert_eq!(CALLS.load(Ordering::SeqCst), before, "the app never ran");

        let right = client.post_form("/", &[("text", "hi"), ("csrf_token", &token)]);
        assert_eq!(right.status, StatusCode::OK);
        let sent = crate::form::encode([("text", "hi"), ("csrf_token", token.as_str())]);
        assert_eq!(right.text(), sent, "the app gets the same bytes");

        let header = client.send(
            TestRequest::post_form("/", &[("text", "hi")]).with_header("X-CSRF-Token", &token),
        );
        assert_eq!(header.status, StatusCode::OK);
        let wrong_header = client.send(
            TestRequest::post_form("/", &[("csrf_token", &token)])
                .with_header("X-CSRF-Token", "nope"),
        );
        assert_eq!(
            wrong_header.status,
            StatusCode::FORBIDDEN,
            "the header decides"
        );

        let mut delete = TestRequest::get("/");
        delete.method = Method::DELETE;
        assert_eq!(client.send(delete.clone()).status, StatusCode::FORBIDDEN);
        let delete = delete.with_header("x-csrf-token", &token);
        assert_eq!(client.send(delete).status, StatusCode::OK);
    }

    #[test]
    fn an_app_may_draw_a_refusal_from_a_get_but_never_take_the_post() {
        /// Draws refused forms; takes nothing (a POST here would fail the test).
        fn drawing(request: Request) -> Response {
            assert_eq!(
                request.method(),
                Method::GET,
                "a refusal reaches the app as a GET"
            );
            let Some(refused) = request.extensions().get::<CsrfRefused>() else {
                return Response::new("a page".into());
            };
            let mut response = Response::new(refused.form().to_vec().into());
            response.extensions_mut().insert(RefusalDrawn);
            response
        }
        let keys = Arc::new(SessionKeys::generate().unwrap());
        let client = TestClient::new(Sessions::new(Csrf::new(drawing), keys)).with_cookie_jar();
        let refused = client.post_form("/", &[("text", "kept"), ("csrf_token", "forged")]);
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(refused.text().contains("text=kept"), "{}", refused.text());
        // An app that does not draw it: the plain refusal.
        let plain = client_refusal_of_a_plain_app();
        assert!(plain.contains("security token"), "{plain}");
    }

    fn client_refusal_of_a_plain_app() -> String {
        let client = client(1 << 20);
        client.post_form("/", &[("text", "hi")]).text()
    }

    #[test]
    fn a_token_from_another_session_is_refused() {
        let alice = client(1 << 20);
        let mallory = client(1 << 20);
        let malloys_token = mallory.get("/").text();
        alice.get("/");
        let response = alice.post_form("/", &[("csrf_token", &malloys_token)]);
        assert_eq!(response.status, StatusCode::FORBIDDEN);
        let fresh = client(1 << 20);
        let response = fresh.post_form("/", &[("csrf_token", "")]);
        assert_eq!(
            response.status,
            StatusCode::FORBIDDEN,
            "no session, no token"
        );
    }

    #[test]
    fn multipart_forms_carry_the_field() {
        let client = client(1 << 20);
        let token = client.get("/").text();
        let right = client.send(multipart(&token));
        assert_eq!(right.status, StatusCode::OK);
        assert!(right.text().contains("hello"));
        let wrong = client.send(multipart("forged"));
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        let only_file = "--B\r\nContent-Disposition: form-data; name=\"csrf_token\"; filename=\"x\"\r\n\r\nT\r\n--B--\r\n";
        assert_eq!(
            multipart_scan(only_file.as_bytes(), b"B", CSRF_FIELD),
            Scan::FileFirst
        );
        let preamble =
            "junk\r\n--B\r\nContent-Disposition: form-data; name=csrf_token\r\n\r\nT\r\n--B--";
        assert_eq!(
            multipart_field(preamble.as_bytes(), b"B", CSRF_FIELD).as_deref(),
            Some(&b"T"[..])
        );
        for junk in [
            "",
            "--B",
            "--B\r\n",
            "--B\r\n\r\n",
            "--B--\r\n",
            "\r\n--B\r\nx\r\n\r\n",
        ] {
            assert_eq!(
                multipart_field(junk.as_bytes(), b"B", CSRF_FIELD),
                None,
                "{junk:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn multipart_parsing_never_panics(
            body in proptest::collection::vec(proptest::sample::select(b"-\r\nB=\"a csrf_token:;".to_vec()), 0..300),
            boundary in "[-B]{0,3}",
        ) {
            let _ = multipart_field(&body, boundary.as_bytes(), CSRF_FIELD);
        }
    }

    #[test]
    fn the_urlencoded_field_is_found_without_decoding_the_rest() {
        let body = b"text=%FF%FE&csrf%5Ftoken=a%2Bb+c&csrf_token=second";
        assert_eq!(
            urlencoded_field(body, CSRF_FIELD).as_deref(),
            Some(&b"a+b c"[..])
        );
        assert_eq!(
            urlencoded_field(b"csrf_token", CSRF_FIELD).as_deref(),
            Some(&b""[..])
        );
        assert_eq!(urlencoded_field(b"a=1&b=2", CSRF_FIELD), None);
        assert_eq!(urlencoded_field(b"", CSRF_FIELD), None);
    }

    #[test]
    fn a_body_over_the_limit_is_still_413() {
        let client = client(16);
        let token = client.get("/").text();
        let response = client.post_form("/", &[("csrf_token", &token), ("text", "long enough")]);
        assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn without_sessions_it_is_a_stacking_error() {
        let response = TestClient::new(Csrf::new(app)).get("/");
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
