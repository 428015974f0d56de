//! An in-process client: requests go straight into an app, no socket, no
//! process. Tests of an app use it the way Plack::Test is used for Perl apps;
//! the same [`TestRequest`] and [`TestResponse`] types serve test drivers
//! that go through real adapters, so one scenario suite runs everywhere.

use http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use percent_encoding::percent_encode;

use crate::uri::PATH_ESCAPES;

use crate::{App, Environ, GatewayConfig, Request, RequestBody};

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
pub struct TestClient<A> {
    app: A,
    mount: String,
    config: GatewayConfig,
}

impl<A: App> TestClient<A> {
    /// A client for `app` mounted at the root.
    pub fn new(app: A) -> Self {
        TestClient {
            app,
            mount: String::new(),
            config: GatewayConfig::default(),
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
        let uri = format!("{}{}", self.mount, request.target());
        let mut builder = http::Request::builder()
            .method(request.method.clone())
            .uri(uri)
            .header(header::HOST, "localhost");
        for (name, value) in &request.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::try_from(name.as_str()),
                HeaderValue::try_from(value.as_str()),
            ) {
                builder = builder.header(name, value);
            }
        }
        let body_len = request.body.len();
        if body_len > 0 {
            builder = builder.header(header::CONTENT_LENGTH, body_len);
        }
        let (head, ()) = builder
            .body(())
            .expect("test requests are built from valid parts")
            .into_parts();
        let environ = Environ {
            mount: self.mount.clone(),
            path_info: if request.path.is_empty() {
                b"/".to_vec()
            } else {
                request.path.clone()
            },
            remote_addr: Some(std::net::Ipv4Addr::LOCALHOST.into()),
            ..Environ::default()
        };
        let body = RequestBody::new(
            std::io::Cursor::new(request.body),
            Some(body_len as u64),
            self.config.max_body_bytes,
        );
        let response = self.app.call(Request::new(head, environ, body));
        let (parts, body) = response.into_parts();
        let body = if request.method == Method::HEAD {
            Vec::new()
        } else {
            body.into_bytes()
                .expect("an in-memory test read does not fail")
                .to_vec()
        };
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}
