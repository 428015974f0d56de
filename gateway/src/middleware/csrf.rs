//! Cross-site request forgery protection with a per-session token.

use http::header::{self, HeaderMap, HeaderName};
use http::{Method, StatusCode};
use subtle::ConstantTimeEq;

use crate::form::Form;
use crate::session::Session;
use crate::{App, HttpError, IntoResponse, Request, RequestBody, Response};

/// The form field that carries the token.
pub const CSRF_FIELD: &str = "csrf_token";
/// The header that carries the token (for scripts).
pub const CSRF_HEADER: &str = "x-csrf-token";

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
}

impl CsrfRefused {
    /// The refused form's body as it was sent (empty when the token came in a header).
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
/// To find the field the body is read here, within the request's body limit
/// (a body over it is answered 413 as the app would), and the app gets the
/// very same bytes.
///
/// It needs a [`Session`] in the request's extensions, so it sits inside
/// [`crate::middleware::Sessions`]; without one, a request is a 500 (a
/// stacking bug, logged).
#[derive(Debug, Clone)]
pub struct Csrf<A> {
    inner: A,
}

impl<A> Csrf<A> {
    /// Wraps `inner`.
    pub fn new(inner: A) -> Self {
        Csrf { inner }
    }
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
        let mut request = if changes_state {
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
        request.extensions_mut().insert(token);
        let mut response = self.inner.call(request);
        if response.extensions().get::<RefusalDrawn>().is_none() {
            return refused().into_response();
        }
        *response.status_mut() = StatusCode::FORBIDDEN;
        if let Some(cause) = refused().cause().cloned() {
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
            false => Checked::Refused(as_refused(request, Vec::new())),
        };
    }
    let (head, environ, mut body) = request.into_parts();
    let limit = body.limit();
    let bytes = match body.read_to_vec() {
        Ok(bytes) => bytes,
        Err(err) => return Checked::Failed(err.into()),
    };
    let sent = body_token(&head.headers, &bytes);
    let request = Request::new(head, environ, RequestBody::from_bytes(Vec::new(), limit));
    if !matches(expected.as_deref(), sent.as_deref().unwrap_or_default()) {
        return Checked::Refused(as_refused(request, bytes));
    }
    let (head, environ, _) = request.into_parts();
    Checked::Passed(Request::new(
        head,
        environ,
        RequestBody::from_bytes(bytes, limit),
    ))
}

/// `request` as the app sees a refusal: a `GET` with no body, the form beside it.
fn as_refused(request: Request, form: Vec<u8>) -> Request {
    let (mut head, environ, body) = request.into_parts();
    head.method = Method::GET;
    let mut request = Request::new(
        head,
        environ,
        RequestBody::from_bytes(Vec::new(), body.limit()),
    );
    request.extensions_mut().insert(CsrfRefused { form });
    request
}

fn refused() -> HttpError {
    HttpError::new(
        StatusCode::FORBIDDEN,
        "This form was refused because it did not carry this site's security token (CSRF token): \
         it may have been sent from another site, or the page was open for too long or your \
         session ended. Go back, reload the page, and send it again.",
    )
    .with_cause("missing or wrong CSRF token")
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

/// The `csrf_token` field of a urlencoded or multipart body.
fn body_token(headers: &HeaderMap, body: &[u8]) -> Option<Vec<u8>> {
    let content_type = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mut params = content_type.split(';');
    let essence = params.next()?.trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => urlencoded_field(body, CSRF_FIELD),
        "multipart/form-data" => {
            let boundary = params
                .filter_map(|param| param.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("boundary"))
                .map(|(_, value)| value.trim().trim_matches('"'))?;
            multipart_field(body, boundary.as_bytes(), CSRF_FIELD)
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

/// The value of the first non-file part named `name` of a
/// `multipart/form-data` body (RFC 7578), or `None`.
fn multipart_field(body: &[u8], boundary: &[u8], name: &str) -> Option<Vec<u8>> {
    if boundary.is_empty() || boundary.len() > 70 {
        return None;
    }
    let delimiter = [b"\r\n--", boundary].concat();
    // The first boundary may start the body without the leading CRLF.
    let mut rest = if body.starts_with(&delimiter[2..]) {
        &body[delimiter.len() - 2..]
    } else {
        let at = find(body, &delimiter)?;
        &body[at + delimiter.len()..]
    };
    loop {
        if rest.starts_with(b"--") {
            return None;
        }
        // Skip transport padding and the CRLF after the boundary.
        let line_end = find(rest, b"\r\n")?;
        rest = &rest[line_end + 2..];
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = &rest[..head_end];
        let content = &rest[head_end + 4..];
        let end = find(content, &delimiter)?;
        if part_is_field(head, name) {
            return Some(content[..end].to_vec());
        }
        rest = &content[end + delimiter.len()..];
    }
}

/// Whether a part's headers say `Content-Disposition: form-data; name="NAME"`
/// without a file name.
fn part_is_field(head: &[u8], name: &str) -> bool {
    let Ok(head) = std::str::from_utf8(head) else {
        return false;
    };
    head.split("\r\n").any(|line| {
        let Some((header_name, value)) = line.split_once(':') else {
            return false;
        };
        if !header_name
            .trim()
            .eq_ignore_ascii_case("content-disposition")
        {
            return false;
        }
        let mut params = value.split(';');
        if !params
            .next()
            .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("form-data"))
        {
            return false;
        }
        let mut named = false;
        for param in params {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim().trim_matches('"');
            match key.as_str() {
                "name" => named = value == name,
                "filename" | "filename*" => return false,
                _ => {}
            }
        }
        named
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

    fn multipart(token: &str) -> TestRequest {
        let body = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"csrf_token\"\r\n\r\nnot it\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
             --XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhello\r\n--XyZ--\r\n"
        );
        let mut request = TestRequest::post_form("/", &[]);
        request.headers.clear();
        request.body = body.into_bytes();
        request.with_header("content-type", "multipart/form-data; boundary=XyZ")
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
            multipart_field(only_file.as_bytes(), b"B", CSRF_FIELD),
            None
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
