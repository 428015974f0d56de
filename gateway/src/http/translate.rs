//! actix's request head to ours, and our response to actix's.
//!
//! actix-web 4 is built on the `http` 0.2 types and the gateway on `http` 1,
//! so names, values and statuses are copied across as bytes.

use actix_web::body::{BodyStream, SizedStream};
use actix_web::HttpRequest;
use actix_web::HttpResponse;
use http::{header, HeaderName, HeaderValue, Method, StatusCode, Uri, Version};
use percent_encoding::percent_decode_str;

use super::stream::{reader_stream, HeadBody};
use crate::{Environ, GatewayConfig, Response, ResponseBody, Scheme};

/// Response headers that describe one connection, not the resource; actix
/// writes its own (RFC 9110 §7.6.1).
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Why a request is answered without calling the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The head cannot be expressed in the gateway's types.
    BadRequest,
    /// The path is not under the mount prefix.
    OutsideMount,
}

impl Refusal {
    pub(super) fn into_response(self) -> Response {
        match self {
            Refusal::BadRequest => crate::error::plain_error_page(
                StatusCode::BAD_REQUEST,
                "The request could not be understood.",
            ),
            Refusal::OutsideMount => crate::error::plain_error_page(
                StatusCode::NOT_FOUND,
                "There is nothing at this address.",
            ),
        }
    }
}

/// The request head, what the gateway knows, and the declared body length.
pub(super) fn request_head(
    request: &HttpRequest,
    config: &GatewayConfig,
) -> Result<(http::request::Parts, Environ, Option<u64>), Refusal> {
    let method = Method::from_bytes(request.method().as_str().as_bytes())
        .map_err(|_| Refusal::BadRequest)?;
    let uri = Uri::try_from(request.uri().to_string()).map_err(|_| Refusal::BadRequest)?;
    let mount = config
        .mount_override
        .as_deref()
        .map_or("", |mount| mount.trim_end_matches('/'));
    let path_info = path_below_mount(request.uri().path(), mount).ok_or(Refusal::OutsideMount)?;

    let mut builder = http::Request::builder()
        .method(method)
        .uri(uri)
        .version(version(request.version()));
    if let Some(headers) = builder.headers_mut() {
        for (name, value) in request.headers() {
            // httpoxy: no adapter lets a client's `Proxy:` header through,
            // so an app behaves the same behind all of them.
            if name.as_str() == "proxy" {
                continue;
            }
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_str().as_bytes()),
                HeaderValue::from_bytes(value.as_bytes()),
            ) {
                headers.append(name, value);
            }
        }
    }
    let (head, ()) = builder
        .body(())
        .map_err(|_| Refusal::BadRequest)?
        .into_parts();
    let declared_len = head
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok());

    let local = request.app_config().local_addr();
    let environ = Environ {
        mount: mount.to_owned(),
        path_info,
        remote_addr: request.peer_addr().map(|peer| peer.ip()),
        scheme: Scheme::Http,
        server_name: head
            .headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .and_then(host_name)
            .map_or_else(|| local.ip().to_string(), str::to_owned),
        server_port: local.port(),
    };
    Ok((head, environ, declared_len))
}

/// The percent-decoded path below `mount`, as bytes, always starting with
/// `/`; `None` when the path is not under the mount.
fn path_below_mount(raw_path: &str, mount: &str) -> Option<Vec<u8>> {
    let decoded: Vec<u8> = percent_decode_str(raw_path).collect();
    let below = decoded.strip_prefix(mount.as_bytes())?;
    if below.is_empty() {
        return Some(b"/".to_vec());
    }
    if below.starts_with(b"/") {
        return Some(below.to_vec());
    }
    // Only reachable at the root mount, for targets such as `*`.
    mount.is_empty().then(|| [b"/", below].concat())
}

/// The host part of a `Host` header (`example.org:8080` → `example.org`,
/// `[::1]:80` → `[::1]`), when it looks like a host name at all.
fn host_name(host: &str) -> Option<&str> {
    let name = if host.starts_with('[') {
        host.find(']').map(|end| &host[..=end])?
    } else {
        host.split(':').next()?
    };
    let plausible = !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':')
        });
    plausible.then_some(name)
}

fn version(version: actix_web::http::Version) -> Version {
    match version {
        actix_web::http::Version::HTTP_09 => Version::HTTP_09,
        actix_web::http::Version::HTTP_10 => Version::HTTP_10,
        actix_web::http::Version::HTTP_2 => Version::HTTP_2,
        actix_web::http::Version::HTTP_3 => Version::HTTP_3,
        _ => Version::HTTP_11,
    }
}

/// Our response as actix's. `is_head`: the request was HEAD, so the body is
/// dropped unread and only its length is announced.
pub(super) fn response(response: Response, is_head: bool) -> HttpResponse {
    let (parts, body) = response.into_parts();
    let status = actix_web::http::StatusCode::from_u16(parts.status.as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in &parts.headers {
        // actix writes the framing headers from the body it is given.
        if name == header::CONTENT_LENGTH || HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            actix_web::http::header::HeaderName::from_bytes(name.as_str().as_bytes()),
            actix_web::http::header::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            builder.append_header((name, value));
        }
    }
    let declared_len = crate::response::declared_length(&parts.headers);

    if is_head {
        // An app may answer HEAD with an empty body and the length a GET
        // would have; otherwise the body's own length is the answer.
        return match declared_len.or(body.len()) {
            Some(len) => builder.body(HeadBody::new(len)),
            None => builder.body(actix_web::body::None::new()),
        };
    }
    match body {
        ResponseBody::Bytes(bytes) => builder.body(bytes),
        ResponseBody::Reader(reader) => match declared_len {
            Some(len) => builder.body(SizedStream::new(len, reader_stream(reader))),
            None => builder.body(BodyStream::new(reader_stream(reader))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_path_to_bytes() {
        assert_eq!(path_below_mount("/%FF", "").unwrap(), b"/\xFF");
        assert_eq!(
            path_below_mount("/Caf%C3%A9/A%20B", "").unwrap(),
            "/Café/A B".as_bytes()
        );
        assert_eq!(path_below_mount("*", "").unwrap(), b"/*");
    }

    #[test]
    fn cuts_the_mount_off_and_refuses_paths_outside_it() {
        assert_eq!(
            path_below_mount("/wiki/Front%20Page", "/wiki").unwrap(),
            b"/Front Page"
        );
        assert_eq!(path_below_mount("/wiki", "/wiki").unwrap(), b"/");
        assert_eq!(path_below_mount("/wiki/", "/wiki").unwrap(), b"/");
        assert_eq!(path_below_mount("/%77iki/x", "/wiki").unwrap(), b"/x");
        assert!(path_below_mount("/wikipedia", "/wiki").is_none());
        assert!(path_below_mount("/other", "/wiki").is_none());
        assert!(path_below_mount("*", "/wiki").is_none());
    }

    #[test]
    fn takes_the_host_name_from_a_host_header() {
        assert_eq!(host_name("example.org:8080"), Some("example.org"));
        assert_eq!(host_name("example.org"), Some("example.org"));
        assert_eq!(host_name("[::1]:8080"), Some("[::1]"));
        assert_eq!(host_name(""), None);
        assert_eq!(host_name("evil<script>"), None);
    }
}
