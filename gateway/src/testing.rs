//! An in-process client: requests go straight into an app, no socket, no
//! process. Tests of an app use it the way Plack::Test is used for Perl apps;
//! the same [`TestRequest`] and [`TestResponse`] types serve test drivers
//! that go through real adapters, so one scenario suite runs everywhere.

use std::sync::Mutex;

use http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use percent_encoding::percent_encode;

use crate::uri::PATH_ESCAPES;

use crate::{App, BodyLimits, Environ, GatewayConfig, Request, RequestBody, ResponseBody};

/// A request to send: method, raw path below the mount, query, headers, body.
#[derive(Debug, Clone)]
pub struct TestRequest {
    /// The method.
    pub method: Method,
    /// The path below the mount, as raw bytes (it may be invalid UTF-8).
    pub path: Vec<u8>,
    /// The query string without `?`.
    pub query: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl TestRequest {
    /// A GET of `target`, which is a path with an optional `?query`.
    pub fn get(target: &str) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        TestRequest {
            method: Method::GET,
            path: path.as_bytes().to_vec(),
            query: query.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A POST of a urlencoded form to `target`.
    pub fn post_form(target: &str, fields: &[(&str, &str)]) -> Self {
        let mut request = TestRequest::get(target);
        request.method = Method::POST;
        request.body = crate::form::encode(fields.iter().copied()).into_bytes();
        request.with_header("content-type", "application/x-www-form-urlencoded")
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The path and query, percent-encoded as a client would send them.
    pub fn target(&self) -> String {
        let mut target = percent_encode(&self.path, PATH_ESCAPES).to_string();
        if !self.query.is_empty() {
            target.push('?');
            target.push_str(&self.query);
        }
        target
    }
}

/// A response as a test sees it, whatever gateway it came through.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, decompressed by nobody: what was on the wire.
    pub body: Vec<u8>,
}

impl TestResponse {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header's value as text, if present and readable.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// Sends requests to an app in this process.
///
/// With [`TestClient::with_cookie_jar`] it keeps the cookies responses set
/// and sends them back, like a browser, so session flows can be tested
/// request after request.
pub struct TestClient<A> {
    app: A,
    mount: String,
    config: GatewayConfig,
    jar: Option<Mutex<CookieJar>>,
}

impl<A: App> TestClient<A> {
    /// A client for `app` mounted at the root.
    pub fn new(app: A) -> Self {
        TestClient {
            app,
            mount: String::new(),
            config: GatewayConfig::default(),
            jar: None,
        }
    }

    /// Mounts the app under `mount`, as a web server's `SCRIPT_NAME` would.
    pub fn with_mount(mut self, mount: &str) -> Self {
        self.mount = mount.trim_end_matches('/').to_owned();
        self
    }

    /// Uses these gateway settings (such as the body limit).
    pub fn with_config(mut self, config: GatewayConfig) -> Self {
        self.config = config;
        self
    }

    /// Keeps cookies: every response's `Set-Cookie` goes into a
    /// [`CookieJar`], and every request sends what the jar holds (a request
    /// that already has a `Cookie` header is sent as it is).
    ///
    /// ```
    /// use gateway::{testing::TestClient, Request, Response};
    ///
    /// let app = |request: Request| -> Response {
    ///     let seen = request.headers().get("cookie").is_some();
    ///     http::Response::builder()
    ///         .header("set-cookie", "k=v; Path=/; HttpOnly")
    ///         .body(format!("cookie: {seen}").into())
    ///         .unwrap()
    /// };
    /// let client = TestClient::new(app).with_cookie_jar();
    /// assert_eq!(client.get("/").text(), "cookie: false");
    /// assert_eq!(client.get("/").text(), "cookie: true");
    /// assert_eq!(client.cookie("k").as_deref(), Some("v"));
    /// ```
    pub fn with_cookie_jar(mut self) -> Self {
        self.jar = Some(Mutex::new(CookieJar::default()));
        self
    }

    /// The value of cookie `name` in the jar, if the client keeps one.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar
            .as_ref()
            .and_then(|jar| lock(jar).get(name).map(str::to_owned))
    }

    /// Puts a cookie into the jar (or replaces it), as if a response had
    /// set it; does nothing without a jar.
    pub fn set_cookie(&self, name: &str, value: &str) {
        if let Some(jar) = &self.jar {
            lock(jar).set(name, value);
        }
    }

    /// GETs `target` (a path below the mount, with an optional query).
    pub fn get(&self, target: &str) -> TestResponse {
        self.send(TestRequest::get(target))
    }

    /// POSTs a urlencoded form.
    pub fn post_form(&self, target: &str, fields: &[(&str, &str)]) -> TestResponse {
        self.send(TestRequest::post_form(target, fields))
    }

    /// Sends a request and reads the whole response.
    pub fn send(&self, request: TestRequest) -> TestResponse {
        let request = match &self.jar {
            Some(jar) => lock(jar).apply(request),
            None => request,
        };
        let is_head = request.method == Method::HEAD;
        let response = self
            .app
            .call(request.into_request(&self.mount, self.config.body_limits()));
        let (parts, body) = response.into_parts();
        let body = if is_head {
            Vec::new()
        } else {
            read_body(body, crate::response::declared_length(&parts.headers))
        };
        let response = TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        };
        if let Some(jar) = &self.jar {
            lock(jar).store(&response);
        }
        response
    }
}

/// The whole body, checked against the length the app declared for a
/// reader: a real adapter would cut the connection (HTTP) or the body (CGI)
/// where they differ, so a test must not pass with them.
fn read_body(body: ResponseBody, declared: Option<u64>) -> Vec<u8> {
    let is_reader = matches!(body, ResponseBody::Reader(_));
    let bytes = body
        .into_bytes()
        .expect("an in-memory test read does not fail")
        .to_vec();
    if let (true, Some(declared)) = (is_reader, declared) {
        assert_eq!(
            bytes.len() as u64,
            declared,
            "the app declared a Content-Length its reader does not have"
        );
    }
    bytes
}

fn lock(jar: &Mutex<CookieJar>) -> std::sync::MutexGuard<'_, CookieJar> {
    jar.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TestRequest {
    /// The request an app behind `mount` gets, with body limits `limits`
    /// (a plain `u64` for the same both ways): what [`TestClient`] sends, for
    /// tests that call an app directly.
    pub fn into_request(self, mount: &str, limits: impl Into<BodyLimits>) -> Request {
        let uri = format!("{}{}", mount, self.target());
        let mut builder = http::Request::builder()
            .method(self.method.clone())
            .uri(uri)
            .header(header::HOST, "localhost");
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                builder = builder.header(name, value);
            }
        }
        let body_len = self.body.len();
        if body_len > 0 {
            builder = builder.header(header::CONTENT_LENGTH, body_len);
        }
        let (head, ()) = builder
            .body(())
            .expect("test requests are built from valid parts")
            .into_parts();
        let environ = Environ {
            mount: mount.to_owned(),
            path_info: if self.path.is_empty() {
                b"/".to_vec()
            } else {
                self.path
            },
            remote_addr: Some(std::net::Ipv4Addr::LOCALHOST.into()),
            ..Environ::default()
        };
        let body = RequestBody::new(
            std::io::Cursor::new(self.body),
            Some(body_len as u64),
            limits,
        );
        Request::new(head, environ, body)
    }
}

/// Cookies as a browser keeps them, simplified for tests: by name only (no
/// domain or path matching), `Max-Age=0` or an empty value deletes.
///
/// [`TestClient::with_cookie_jar`] uses one; drivers of real adapters (CGI,
/// FastCGI, SCGI, HTTP) use it directly: [`CookieJar::apply`] before
/// sending, [`CookieJar::store`] after.
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    cookies: Vec<(String, String)>,
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        CookieJar::default()
    }

    /// Keeps what the response's `Set-Cookie` headers set, and forgets what
    /// they expire.
    pub fn store(&mut self, response: &TestResponse) {
        let headers = response.headers.get_all(header::SET_COOKIE);
        let set = headers.iter().filter_map(|value| value.to_str().ok());
        for (name, value) in set.filter_map(crate::cookies::read_set_cookie) {
            match value {
                Some(value) => self.set(name, value),
                None => self.remove(name),
            }
        }
    }

    /// `request` with a `Cookie` header of everything in the jar, unless it
    /// has one already or the jar is empty.
    pub fn apply(&self, request: TestRequest) -> TestRequest {
        let has_cookie = request
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("cookie"));
        if has_cookie || self.cookies.is_empty() {
            return request;
        }
        request.with_header("cookie", &self.header_value())
    }

    /// The `Cookie` header value: `a=1; b=2`.
    pub fn header_value(&self) -> String {
        crate::cookies::header_value(
            self.cookies
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        )
    }

    /// The value of cookie `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Sets cookie `name` (replacing it), as a response could.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.cookies.iter_mut().find(|(key, _)| key == name) {
            Some(slot) => slot.1 = value.to_owned(),
            None => self.cookies.push((name.to_owned(), value.to_owned())),
        }
    }

    /// Forgets cookie `name`.
    pub fn remove(&mut self, name: &str) {
        self.cookies.retain(|(key, _)| key != name);
    }

    /// Whether the jar holds no cookie.
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jar_keeps_replaces_and_expires_cookies() {
        let mut jar = CookieJar::new();
        let mut response = TestResponse {
            status: http::StatusCode::OK,
            headers: HeaderMap::new(),
            body: Vec::new(),
        };
        response
            .headers
            .append(header::SET_COOKIE, HeaderValue::from_static("a=1; Path=/"));
        response.headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("b=2; HttpOnly"),
        );
        jar.store(&response);
        assert_eq!(jar.header_value(), "a=1; b=2");
        response.headers.clear();
        response.headers.append(
            header::SET_COOKIE,
            HeaderValue::from_static("a=; Max-Age=0"),
        );
        response
            .headers
            .append(header::SET_COOKIE, HeaderValue::from_static("b=3"));
        jar.store(&response);
        assert_eq!(jar.get("a"), None);
        assert_eq!(jar.get("b"), Some("3"));
        let request = jar.apply(TestRequest::get("/"));
        assert_eq!(request.headers, [("cookie".to_owned(), "b=3".to_owned())]);
        let own = TestRequest::get("/").with_header("Cookie", "x=y");
        assert_eq!(jar.apply(own).headers.len(), 1);
    }

    #[test]
    #[should_panic(expected = "declared a Content-Length its reader does not have")]
    fn a_reader_short_of_its_declared_length_fails_the_test() {
        let app = |_: Request| {
            let mut response = crate::Response::new(ResponseBody::reader(std::io::empty()));
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(10));
            response
        };
        TestClient::new(app).get("/");
    }
}
