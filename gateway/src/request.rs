//! Requests: the `http` crate's request head, the body, and what the gateway knows.

use std::net::IpAddr;

use http::{request::Parts, HeaderMap, Method, Uri};

use crate::RequestBody;

/// `http` or `https`, as the web server reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The default port for this scheme.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// The facts a gateway knows about a request beyond its HTTP head: where the
/// app is mounted and who is asking. These are CGI's meta-variables under
/// their plain names.
#[derive(Debug, Clone)]
pub struct Environ {
    /// The mount prefix (CGI `SCRIPT_NAME`): `""` at the root, else a path
    /// such as `/wiki` with no trailing slash. Every URL an app builds starts
    /// with it.
    pub mount: String,
    /// The path below the mount (CGI `PATH_INFO`), percent-decoded, as raw
    /// bytes: web servers decode `%FF` to a byte that is not UTF-8, and only
    /// the app can say whether that is an error.
    pub path_info: Vec<u8>,
    /// The client's address, when known.
    pub remote_addr: Option<IpAddr>,
    /// The scheme the client used.
    pub scheme: Scheme,
    /// The server's host name (`SERVER_NAME`).
    pub server_name: String,
    /// The server's port (`SERVER_PORT`).
    pub server_port: u16,
}

impl Default for Environ {
    fn default() -> Self {
        Environ {
            mount: String::new(),
            path_info: b"/".to_vec(),
            remote_addr: None,
            scheme: Scheme::Http,
            server_name: "localhost".to_owned(),
            server_port: 80,
        }
    }
}

/// One HTTP request as an app sees it.
#[derive(Debug)]
pub struct Request {
    head: Parts,
    environ: Environ,
    body: RequestBody,
}

impl Request {
    /// Puts a request together; adapters call this.
    pub fn new(head: Parts, environ: Environ, body: RequestBody) -> Self {
        Request {
            head,
            environ,
            body,
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.head.method
    }

    /// The request URI as the client sent it, as far as the gateway knows.
    pub fn uri(&self) -> &Uri {
        &self.head.uri
    }

    /// The query string without `?`, or `""`.
    pub fn query(&self) -> &str {
        self.head.uri.query().unwrap_or("")
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.head.headers
    }

    /// The request headers, to change (middleware may).
    pub fn headers_mut(&mut self) -> &mut HeaderMap {
        &mut self.head.headers
    }

    /// Typed values middleware attaches for the app (a session, a user).
    pub fn extensions(&self) -> &http::Extensions {
        &self.head.extensions
    }

    /// Typed values, to change.
    pub fn extensions_mut(&mut self) -> &mut http::Extensions {
        &mut self.head.extensions
    }

    /// The whole head.
    pub fn head(&self) -> &Parts {
        &self.head
    }

    /// What the gateway knows beyond the head.
    pub fn environ(&self) -> &Environ {
        &self.environ
    }

    /// What the gateway knows, to change: [`crate::proxy::resolve`] puts the client behind a
    /// trusted proxy in place of the proxy.
    pub fn environ_mut(&mut self) -> &mut Environ {
        &mut self.environ
    }

    /// The mount prefix: `""` or `/like/this`, never ending in `/`.
    pub fn mount(&self) -> &str {
        &self.environ.mount
    }

    /// The percent-decoded path below the mount, as raw bytes.
    pub fn path_info(&self) -> &[u8] {
        &self.environ.path_info
    }

    /// The client's address, when known: behind a trusted proxy, the client the proxy named (see
    /// [`crate::proxy`]); the connection's own peer is then the [`crate::proxy::Peer`] extension.
    pub fn remote_addr(&self) -> Option<IpAddr> {
        self.environ.remote_addr
    }

    /// The body, to read.
    pub fn body_mut(&mut self) -> &mut RequestBody {
        &mut self.body
    }

    /// Splits the request into head, environ and body.
    pub fn into_parts(self) -> (Parts, Environ, RequestBody) {
        (self.head, self.environ, self.body)
    }

    /// The `scheme://host[:port]` the client addressed, from the `Host`
    /// header when present, else from the server's name and port.
    pub fn origin(&self) -> String {
        let scheme = self.environ.scheme;
        let host = self
            .head
            .headers
            .get(http::header::HOST)
            .and_then(|value| value.to_str().ok())
            .filter(|host| !host.is_empty() && host.bytes().all(is_host_byte));
        match host {
            Some(host) => format!("{}://{}", scheme.as_str(), host),
            None if self.environ.server_port == scheme.default_port() => {
                format!("{}://{}", scheme.as_str(), self.environ.server_name)
            }
            None => format!(
                "{}://{}:{}",
                scheme.as_str(),
                self.environ.server_name,
                self.environ.server_port
            ),
        }
    }
}

fn is_host_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b':' | b'[' | b']' | b'_')
}
