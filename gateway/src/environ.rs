//! CGI meta-variables (RFC 3875 §4.1) to a [`Request`], and a response back
//! to a CGI header block (§6).
//!
//! CGI, FastCGI and SCGI all hand an app the same variables, so they share
//! this translation; only how the variables and the body arrive differs.
//! Values are bytes, never assumed UTF-8: servers percent-decode the path
//! before putting it in `PATH_INFO`, so `/%FF` arrives as a raw `0xFF`.
//!
//! What becomes of each meta-variable of RFC 3875 §4.1, and of the common
//! extensions:
//!
//! | variable | becomes |
//! |---|---|
//! | `REQUEST_METHOD` | the method (required; not a token → error) |
//! | `SCRIPT_NAME`, `PATH_INFO` | the mount prefix and the path below it, unless a mount override is set |
//! | `QUERY_STRING` | the query |
//! | `REQUEST_URI` (extension) | the request target as the client sent it, when present and valid; else one is built from the above |
//! | `CONTENT_LENGTH` | the body's declared length (not decimal → error); the adapter reads exactly that many bytes |
//! | `CONTENT_TYPE`, `HTTP_*` | headers (`HTTP_ACCEPT_ENCODING` → `accept-encoding`); a value no HTTP parser would accept is dropped |
//! | `HTTP_PROXY` | nothing: a client's `Proxy:` header must never look like proxy settings (httpoxy) |
//! | `REMOTE_ADDR` | the client address |
//! | `REMOTE_USER`, `AUTH_TYPE` | a [`RemoteUser`] request extension, when the web server authenticated the client |
//! | `HTTPS` (`on`, `1`), `REQUEST_SCHEME` (extensions) | the scheme |
//! | `SERVER_NAME`, `SERVER_PORT` | the server's name and port, for absolute URLs |
//! | `SERVER_PROTOCOL` | the HTTP version |
//! | `GATEWAY_INTERFACE` | nothing here; the binary uses it to detect CGI |
//! | `REMOTE_HOST`, `REMOTE_IDENT` | nothing: reverse DNS and identd are off on every server worth the name, and neither is trustworthy |
//! | `SERVER_SOFTWARE` | nothing: an app should not behave differently per server |
//! | `PATH_TRANSLATED` | nothing: a file path for scripts that map URLs to files; an app with its own routing has no use for it |

use std::net::IpAddr;

use http::{header, HeaderName, HeaderValue, Method, Uri, Version};
use percent_encoding::{percent_decode, percent_encode};

use crate::uri::{PATH_ESCAPES, QUERY_ESCAPES};
use thiserror::Error;

use crate::{Environ, GatewayConfig, Request, RequestBody, Response, Scheme};

/// Why a set of meta-variables could not become a request.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum EnvironError {
    /// A variable every request must carry is absent.
    #[error("the {0} meta-variable is missing")]
    Missing(&'static str),
    /// A variable holds a value that cannot be right.
    #[error("the {name} meta-variable is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Who the web server says the client is (`REMOTE_USER`, with `AUTH_TYPE`),
/// in a request's extensions when the server authenticated the client
/// itself (HTTP Basic auth in front of the app, for instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUser {
    /// The user name, as the server passed it.
    pub name: String,
    /// How the server authenticated the user (`Basic`, `Digest`, …), if it
    /// said.
    pub auth_type: Option<String>,
}

/// Meta-variables parsed into a request head, waiting for a body.
#[derive(Debug)]
pub struct CgiRequest {
    head: http::request::Parts,
    environ: Environ,
    content_length: Option<u64>,
}

impl CgiRequest {
    /// Parses meta-variables as name/value byte pairs. Later duplicates win,
    /// as they would in a process environment.
    pub fn parse<I, N, V>(vars: I, config: &GatewayConfig) -> Result<Self, EnvironError>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let mut method = None;
        let mut script_name = Vec::new();
        let mut path_info = Vec::new();
        let mut query = Vec::new();
        let mut request_uri = None;
        let mut content_length = None;
        let mut remote_addr = None;
        let mut https = false;
        let mut remote_user = None;
        let mut auth_type = None;
        let mut server_name = String::new();
        let mut server_port = None;
        let mut version = Version::HTTP_11;
        let mut headers = http::HeaderMap::new();

        for (name, value) in vars {
            let (name, value) = (name.as_ref(), value.as_ref());
            match name {
                b"REQUEST_METHOD" => {
                    method = Some(
                        Method::from_bytes(value).map_err(|_| EnvironError::Invalid {
                            name: "REQUEST_METHOD",
                            reason: "not an HTTP method token",
                        })?,
                    )
                }
                b"SCRIPT_NAME" => script_name = value.to_vec(),
                b"PATH_INFO" => path_info = value.to_vec(),
                b"QUERY_STRING" => query = value.to_vec(),
                b"REQUEST_URI" => request_uri = Some(value.to_vec()),
                b"CONTENT_LENGTH" => content_length = parse_content_length(value)?,
                b"CONTENT_TYPE" => insert_header(&mut headers, header::CONTENT_TYPE, value),
                b"REMOTE_ADDR" => remote_addr = parse_ip(value),
                b"REMOTE_USER" if !value.is_empty() => {
                    remote_user = Some(String::from_utf8_lossy(value).into_owned())
                }
                b"AUTH_TYPE" if !value.is_empty() => {
                    auth_type = Some(String::from_utf8_lossy(value).into_owned())
                }
                b"HTTPS" => https = value.eq_ignore_ascii_case(b"on") || value == b"1",
                b"REQUEST_SCHEME" => https |= value.eq_ignore_ascii_case(b"https"),
                b"SERVER_NAME" => server_name = String::from_utf8_lossy(value).into_owned(),
                b"SERVER_PORT" => {
                    server_port = std::str::from_utf8(value).ok().and_then(|p| p.parse().ok())
                }
                b"SERVER_PROTOCOL" => version = parse_version(value),
                // httpoxy: a client's `Proxy:` header must never look like
                // the HTTP_PROXY setting of a proxy-aware library.
                b"HTTP_PROXY" => {}
                _ => {
                    if let Some(header_name) = name.strip_prefix(b"HTTP_").and_then(header_name) {
                        insert_header(&mut headers, header_name, value);
                    }
                }
            }
        }

        let method = method.ok_or(EnvironError::Missing("REQUEST_METHOD"))?;
        let scheme = if https { Scheme::Https } else { Scheme::Http };
        if let Some(port) = server_port.filter(|port| *port != scheme.default_port()) {
            add_port_to_host(&mut headers, port);
        }
        let (mount, path_info) = mount_and_path(
            &script_name,
            &path_info,
            request_uri.as_deref(),
            config.mount_override.as_deref(),
        )?;
        let uri = build_uri(request_uri.as_deref(), &mount, &path_info, &query);

        let mut builder = http::Request::builder()
            .method(method)
            .uri(uri)
            .version(version);
        if let Some(builder_headers) = builder.headers_mut() {
            *builder_headers = headers;
        }
        let (mut head, ()) = builder
            .body(())
            .map_err(|_| EnvironError::Invalid {
                name: "REQUEST_URI",
                reason: "not a valid request target",
            })?
            .into_parts();
        if let Some(name) = remote_user {
            head.extensions.insert(RemoteUser { name, auth_type });
        }

        Ok(CgiRequest {
            head,
            environ: Environ {
                mount,
                path_info,
                remote_addr,
                scheme,
                server_name: if server_name.is_empty() {
                    "localhost".to_owned()
                } else {
                    server_name
                },
                server_port: server_port.unwrap_or(scheme.default_port()),
            },
            content_length,
        })
    }

    /// The body length the server declared (`CONTENT_LENGTH`).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The request head parsed so far.
    pub fn head(&self) -> &http::request::Parts {
        &self.head
    }

    /// Completes the request with its body.
    pub fn into_request(self, body: RequestBody) -> Request {
        Request::new(self.head, self.environ, body)
    }
}

fn parse_content_length(value: &[u8]) -> Result<Option<u64>, EnvironError> {
    if value.is_empty() {
        return Ok(None);
    }
    let invalid = EnvironError::Invalid {
        name: "CONTENT_LENGTH",
        reason: "not a decimal number of bytes",
    };
    if !value.iter().all(u8::is_ascii_digit) {
        return Err(invalid);
    }
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.parse().ok())
        .map(Some)
        .ok_or(invalid)
}

fn parse_ip(value: &[u8]) -> Option<IpAddr> {
    std::str::from_utf8(value).ok()?.parse().ok()
}

fn parse_version(value: &[u8]) -> Version {
    match value {
        b"HTTP/1.0" => Version::HTTP_10,
        b"HTTP/2" | b"HTTP/2.0" => Version::HTTP_2,
        b"HTTP/3" | b"HTTP/3.0" => Version::HTTP_3,
        _ => Version::HTTP_11,
    }
}

/// Puts `SERVER_PORT` back into a `Host` that has no port. Debian's nginx passes `HTTP_HOST` as
/// `$host`, which drops the port the client used (a guard against forwarding a raw Host header), while
/// `SERVER_PORT` is the port the client reached; an absolute URL built from the Host alone (a feed's
/// links) would point at port 80 of a server listening on 8080. Called only for a non-default port.
fn add_port_to_host(headers: &mut http::HeaderMap, port: u16) {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return;
    };
    // `host:port` or `[v6]:port` already carry one; a bare IPv6 literal is always bracketed.
    let has_port = match host.rsplit_once(':') {
        Some((before, _)) => !before.starts_with('[') || before.ends_with(']'),
        None => false,
    };
    if has_port || host.is_empty() {
        return;
    }
    if let Ok(value) = http::HeaderValue::from_str(&format!("{host}:{port}")) {
        headers.insert(header::HOST, value);
    }
}

/// `HTTP_ACCEPT_ENCODING` → `accept-encoding`.
fn header_name(suffix: &[u8]) -> Option<HeaderName> {
    let name: Vec<u8> = suffix
        .iter()
        .map(|&byte| {
            if byte == b'_' {
                b'-'
            } else {
                byte.to_ascii_lowercase()
            }
        })
        .collect();
    HeaderName::from_bytes(&name).ok()
}

fn insert_header(headers: &mut http::HeaderMap, name: HeaderName, value: &[u8]) {
    // A value no HTTP parser would have let through is dropped, not fatal:
    // the rest of the request is still worth answering.
    if let Ok(value) = HeaderValue::from_bytes(value) {
        headers.append(name, value);
    }
}

/// Works out the mount prefix and the path below it.
fn mount_and_path(
    script_name: &[u8],
    path_info: &[u8],
    request_uri: Option<&[u8]>,
    mount_override: Option<&str>,
) -> Result<(String, Vec<u8>), EnvironError> {
    let Some(prefix) = mount_override else {
        let mount =
            String::from_utf8(trim_trailing_slashes(script_name).to_vec()).map_err(|_| {
                EnvironError::Invalid {
                    name: "SCRIPT_NAME",
                    reason: "not UTF-8",
                }
            })?;
        return Ok((mount, rooted(path_info)));
    };
    // The server's split cannot be trusted: take the whole path it saw and
    // cut the configured prefix off it.
    let full: Vec<u8> = match request_uri {
        Some(uri) => {
            let path = uri.split(|&b| b == b'?').next().unwrap_or_default();
            percent_decode(path).collect()
        }
        None => [script_name, path_info].concat(),
    };
    let prefix = prefix.trim_end_matches('/');
    let below = full
        .strip_prefix(prefix.as_bytes())
        .filter(|rest| rest.is_empty() || rest.starts_with(b"/"))
        .unwrap_or(&full);
    Ok((prefix.to_owned(), rooted(below)))
}

fn trim_trailing_slashes(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 0 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}

fn rooted(path: &[u8]) -> Vec<u8> {
    if path.starts_with(b"/") {
        path.to_vec()
    } else {
        [b"/", path].concat()
    }
}

fn build_uri(request_uri: Option<&[u8]>, mount: &str, path_info: &[u8], query: &[u8]) -> Uri {
    if let Some(uri) = request_uri.and_then(|raw| Uri::try_from(raw).ok()) {
        if uri.path().starts_with('/') {
            return uri;
        }
    }
    let mut target = percent_encode(mount.as_bytes(), PATH_ESCAPES).to_string();
    target.push_str(&percent_encode(path_info, PATH_ESCAPES).to_string());
    if !query.is_empty() {
        target.push('?');
        target.push_str(&percent_encode(query, QUERY_ESCAPES).to_string());
    }
    Uri::try_from(target).unwrap_or_else(|_| Uri::from_static("/"))
}

/// The CGI header block for a response: `Status:` always (some servers
/// treat a bare `Location:` as an internal redirect or ignore it), then the
/// headers, then a blank line.
pub fn cgi_response_head(response: &Response) -> Vec<u8> {
    let status = response.status();
    let mut head = format!(
        "Status: {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Unknown")
    )
    .into_bytes();
    for (name, value) in response.headers() {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !response.headers().contains_key(header::CONTENT_TYPE) && !response.body().is_empty() {
        head.extend_from_slice(b"Content-Type: application/octet-stream\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(vars: &[(&str, &[u8])]) -> Result<CgiRequest, EnvironError> {
        CgiRequest::parse(
            vars.iter().map(|(n, v)| (n.as_bytes(), *v)),
            &GatewayConfig::default(),
        )
    }

    #[test]
    fn reads_the_standard_variables() {
        let request = parse(&[
            ("REQUEST_METHOD", b"POST"),
            ("SCRIPT_NAME", b"/cgi-bin/quire"),
            ("PATH_INFO", b"/Some/Page"),
            ("QUERY_STRING", b"rev=2"),
            ("CONTENT_LENGTH", b"12"),
            ("CONTENT_TYPE", b"application/x-www-form-urlencoded"),
            ("REMOTE_ADDR", b"192.0.2.7"),
            ("SERVER_NAME", b"example.org"),
            ("SERVER_PORT", b"8080"),
            ("HTTP_ACCEPT_ENCODING", b"gzip"),
        ])
        .unwrap();
        assert_eq!(request.content_length(), Some(12));
        let request = request.into_request(RequestBody::empty());
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.mount(), "/cgi-bin/quire");
        assert_eq!(request.path_info(), b"/Some/Page");
        assert_eq!(request.query(), "rev=2");
        assert_eq!(request.uri().path(), "/cgi-bin/quire/Some/Page");
        assert_eq!(request.headers()["accept-encoding"], "gzip");
        assert_eq!(
            request.headers()["content-type"],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(request.remote_addr(), Some("192.0.2.7".parse().unwrap()));
        assert_eq!(request.environ().server_port, 8080);
    }

    #[test]
    fn keeps_a_non_utf8_path_as_bytes() {
        let request = parse(&[("REQUEST_METHOD", b"GET"), ("PATH_INFO", b"/\xFF")])
            .unwrap()
            .into_request(RequestBody::empty());
        assert_eq!(request.path_info(), b"/\xFF");
        assert_eq!(request.uri().path(), "/%FF");
    }

    #[test]
    fn https_sets_the_scheme_and_its_default_port() {
        for value in [&b"on"[..], b"ON", b"On", b"1"] {
            let request = parse(&[("REQUEST_METHOD", b"GET"), ("HTTPS", value)])
                .unwrap()
                .into_request(RequestBody::empty());
            assert_eq!(request.environ().scheme, Scheme::Https, "{value:?}");
            assert_eq!(request.environ().server_port, 443);
        }
        for value in [&b"off"[..], b"", b"0"] {
            let request = parse(&[("REQUEST_METHOD", b"GET"), ("HTTPS", value)])
                .unwrap()
                .into_request(RequestBody::empty());
            assert_eq!(request.environ().scheme, Scheme::Http, "{value:?}");
        }
    }

    #[test]
    fn request_uri_is_the_target_when_present() {
        let request = parse(&[
            ("REQUEST_METHOD", b"GET"),
            ("SCRIPT_NAME", b"/wiki"),
            ("PATH_INFO", b"/A Page"),
            ("QUERY_STRING", b"x=%41"),
            ("REQUEST_URI", b"/wiki/A%20Page?x=%41"),
        ])
        .unwrap()
        .into_request(RequestBody::empty());
        assert_eq!(request.uri(), "/wiki/A%20Page?x=%41");
        assert_eq!(request.path_info(), b"/A Page");
        // Without it, the target is built from the parts.
        let request = parse(&[
            ("REQUEST_METHOD", b"GET"),
            ("SCRIPT_NAME", b"/wiki"),
            ("PATH_INFO", b"/A Page"),
            ("QUERY_STRING", b"x=%41"),
        ])
        .unwrap()
        .into_request(RequestBody::empty());
        assert_eq!(request.uri(), "/wiki/A%20Page?x=%41");
    }

    #[test]
    fn remote_user_is_an_extension_and_other_server_variables_are_ignored() {
        let request = parse(&[
            ("REQUEST_METHOD", b"GET"),
            ("AUTH_TYPE", b"Basic"),
            ("REMOTE_USER", b"ada"),
            ("REMOTE_HOST", b"host.example"),
            ("REMOTE_IDENT", b"ident"),
            ("SERVER_SOFTWARE", b"Apache/2.4"),
            ("PATH_TRANSLATED", b"/var/www/x"),
            ("GATEWAY_INTERFACE", b"CGI/1.1"),
        ])
        .unwrap()
        .into_request(RequestBody::empty());
        assert_eq!(
            request.extensions().get::<RemoteUser>(),
            Some(&RemoteUser {
                name: "ada".to_owned(),
                auth_type: Some("Basic".to_owned())
            })
        );
        assert!(request.headers().is_empty(), "{:?}", request.headers());
        let anonymous = parse(&[("REQUEST_METHOD", b"GET"), ("REMOTE_USER", b"")])
            .unwrap()
            .into_request(RequestBody::empty());
        assert!(anonymous.extensions().get::<RemoteUser>().is_none());
    }

    #[test]
    fn ignores_the_proxy_header() {
        let request = parse(&[("REQUEST_METHOD", b"GET"), ("HTTP_PROXY", b"http://evil:1")])
            .unwrap()
            .into_request(RequestBody::empty());
        assert!(request.headers().get("proxy").is_none());
    }

    #[test]
    fn a_host_without_port_gets_the_server_port_back() {
        let origin = |vars: &[(&str, &[u8])]| {
            let mut all = vec![("REQUEST_METHOD", &b"GET"[..])];
            all.extend_from_slice(vars);
            parse(&all)
                .unwrap()
                .into_request(RequestBody::empty())
                .origin()
        };
        // Debian's nginx: HTTP_HOST is $host, the port is only in SERVER_PORT.
        assert_eq!(
            origin(&[("HTTP_HOST", b"wiki.example"), ("SERVER_PORT", b"8080")]),
            "http://wiki.example:8080"
        );
        assert_eq!(
            origin(&[
                ("HTTP_HOST", b"wiki.example:8080"),
                ("SERVER_PORT", b"8080")
            ]),
            "http://wiki.example:8080"
        );
        assert_eq!(
            origin(&[("HTTP_HOST", b"wiki.example"), ("SERVER_PORT", b"80")]),
            "http://wiki.example"
        );
        assert_eq!(
            origin(&[("HTTP_HOST", b"[::1]"), ("SERVER_PORT", b"8080")]),
            "http://[::1]:8080"
        );
        assert_eq!(
            origin(&[("HTTP_HOST", b"[::1]:81"), ("SERVER_PORT", b"8080")]),
            "http://[::1]:81"
        );
        assert_eq!(
            origin(&[
                ("HTTP_HOST", b"wiki.example"),
                ("SERVER_PORT", b"443"),
                ("HTTPS", b"on")
            ]),
            "https://wiki.example"
        );
    }

    #[test]
    fn refuses_a_missing_method_and_a_bad_length() {
        assert_eq!(
            parse(&[]).unwrap_err(),
            EnvironError::Missing("REQUEST_METHOD")
        );
        assert!(parse(&[("REQUEST_METHOD", b"GET"), ("CONTENT_LENGTH", b"-1")]).is_err());
        assert!(parse(&[
            ("REQUEST_METHOD", b"GET"),
            ("CONTENT_LENGTH", b"99999999999999999999999")
        ])
        .is_err());
    }

    #[test]
    fn a_mount_override_cuts_the_prefix_off_the_whole_path() {
        let config = GatewayConfig {
            mount_override: Some("/wiki/".to_owned()),
            ..GatewayConfig::default()
        };
        let vars: [(&[u8], &[u8]); 3] = [
            (b"REQUEST_METHOD", b"GET"),
            (b"SCRIPT_NAME", b"/wiki/A%20Page/Sub"),
            (b"REQUEST_URI", b"/wiki/A%20Page/Sub?x=1"),
        ];
        let request = CgiRequest::parse(vars, &config)
            .unwrap()
            .into_request(RequestBody::empty());
        assert_eq!(request.mount(), "/wiki");
        assert_eq!(request.path_info(), b"/A Page/Sub");
        assert_eq!(request.query(), "x=1");
    }

    #[test]
    fn the_response_head_always_carries_a_status() {
        let mut response = Response::new("moved".into());
        *response.status_mut() = http::StatusCode::SEE_OTHER;
        response
            .headers_mut()
            .insert(header::LOCATION, HeaderValue::from_static("/wiki/Page"));
        let head = String::from_utf8(cgi_response_head(&response)).unwrap();
        assert!(head.starts_with("Status: 303 See Other\r\n"), "{head}");
        assert!(head.contains("location: /wiki/Page\r\n"));
        assert!(head.ends_with("\r\n\r\n"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_variables_never_panic(
            vars in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        &b"REQUEST_METHOD"[..], b"SCRIPT_NAME", b"PATH_INFO", b"QUERY_STRING",
                        b"REQUEST_URI", b"CONTENT_LENGTH", b"CONTENT_TYPE", b"REMOTE_ADDR",
                        b"HTTPS", b"SERVER_NAME", b"SERVER_PORT", b"SERVER_PROTOCOL",
                        b"REMOTE_USER", b"HTTP_X", b"HTTP_", b"HTTP_\xFF",
                    ]),
                    proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..24),
                ),
                0..12,
            ),
            mount in proptest::option::of("[/a-z%]{0,8}"),
        ) {
            let config = GatewayConfig { mount_override: mount, ..GatewayConfig::default() };
            let _ = CgiRequest::parse(vars, &config).map(|cgi| cgi.into_request(RequestBody::empty()));
        }

        #[test]
        fn path_info_bytes_reach_the_app_unchanged(
            path in proptest::collection::vec(1u8..=255, 0..40),
        ) {
            let vars: [(&[u8], &[u8]); 2] = [(b"REQUEST_METHOD", b"GET"), (b"PATH_INFO", &path)];
            let request = CgiRequest::parse(vars, &GatewayConfig::default())
                .unwrap()
                .into_request(RequestBody::empty());
            let expected = if path.starts_with(b"/") { path.clone() } else { [&b"/"[..], &path].concat() };
            proptest::prop_assert_eq!(request.path_info(), &expected[..]);
        }
    }
}
