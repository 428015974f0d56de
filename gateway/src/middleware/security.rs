//! Security headers every response carries: CSP, nosniff, framing, referrer, HSTS.

use http::header::{self, HeaderName, HeaderValue};

use crate::{App, Request, Response, Scheme};

/// The Content-Security-Policy unless one is configured: everything from this
/// origin only, no inline script or style (templates use files and classes),
/// no plugins, no `<base>`, no framing, forms post only here. Images may also
/// come over https, since pages may show pictures from elsewhere.
pub const DEFAULT_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' https:; font-src 'self'; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// HSTS for a year. Only sent over https: browsers ignore it over http, and
/// a site that stops serving https would lock its visitors out for a year.
const HSTS: &str = "max-age=31536000";

/// Adds security headers to every response, error pages included.
///
/// - `Content-Security-Policy`: [`DEFAULT_CSP`] or the configured policy;
/// - `X-Content-Type-Options: nosniff`: browsers trust our content types
///   (an uploaded text file is never run as script);
/// - `X-Frame-Options: DENY`: for browsers older than `frame-ancestors`;
/// - `Referrer-Policy: strict-origin-when-cross-origin`: paths and queries
///   stay on this site;
/// - `Cross-Origin-Opener-Policy: same-origin`: a window this site opens,
///   or that opens it, gets no handle on the other;
/// - `Strict-Transport-Security` when the request came over https.
///
/// A header the app set already wins: an app that must allow more in one
/// response (an embeddable page) says so there.
///
/// ```
/// use gateway::{middleware::SecurityHeaders, testing::TestClient, Request, Response};
///
/// let app = |_request: Request| -> Response { Response::new("hi".into()) };
/// let response = TestClient::new(SecurityHeaders::new(app)).get("/");
/// assert!(response.header("content-security-policy").unwrap().contains("script-src 'self'"));
/// assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
/// assert_eq!(response.header("strict-transport-security"), None, "not over http");
/// ```
#[derive(Debug, Clone)]
pub struct SecurityHeaders<A> {
    inner: A,
    csp: HeaderValue,
}

impl<A> SecurityHeaders<A> {
    /// Wraps `inner` with the default policy.
    pub fn new(inner: A) -> Self {
        SecurityHeaders {
            inner,
            csp: HeaderValue::from_static(DEFAULT_CSP),
        }
    }

    /// Uses `policy` as the Content-Security-Policy; `None` if it cannot be
    /// a header value (a line break in it, say).
    pub fn content_security_policy(mut self, policy: &str) -> Option<Self> {
        self.csp = HeaderValue::from_str(policy).ok()?;
        Some(self)
    }
}

impl<A: App> App for SecurityHeaders<A> {
    fn call(&self, request: Request) -> Response {
        let https = request.environ().scheme == Scheme::Https;
        let mut response = self.inner.call(request);
        let headers = response.headers_mut();
        let mut add = |name: HeaderName, value: HeaderValue| {
            headers.entry(name).or_insert(value);
        };
        add(header::CONTENT_SECURITY_POLICY, self.csp.clone());
        add(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        add(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        add(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        );
        add(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        );
        if https {
            add(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static(HSTS),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{TestClient, TestRequest};
    use crate::{Environ, HttpError, IntoResponse};

    fn app(request: Request) -> Response {
        match request.path_info() {
            b"/embed" => http::Response::builder()
                .header("content-security-policy", "frame-ancestors *")
                .body("".into())
                .unwrap(),
            b"/error" => HttpError::not_found("no such page").into_response(),
            _ => Response::new("ok".into()),
        }
    }

    #[test]
    fn every_response_gets_the_headers_and_the_app_wins() {
        let client = TestClient::new(SecurityHeaders::new(app));
        let response = client.get("/");
        let csp = response.header("content-security-policy").unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(response.header("x-frame-options"), Some("DENY"));
        assert_eq!(
            response.header("referrer-policy"),
            Some("strict-origin-when-cross-origin")
        );
        assert_eq!(
            response.header("cross-origin-opener-policy"),
            Some("same-origin")
        );
        assert_eq!(response.header("strict-transport-security"), None);
        let error = client.get("/error");
        assert_eq!(error.header("x-content-type-options"), Some("nosniff"));
        let embed = client.get("/embed");
        assert_eq!(
            embed.header("content-security-policy"),
            Some("frame-ancestors *")
        );

        let custom = SecurityHeaders::new(app)
            .content_security_policy("default-src 'none'")
            .unwrap();
        let response = TestClient::new(custom).get("/");
        assert_eq!(
            response.header("content-security-policy"),
            Some("default-src 'none'")
        );
        assert!(SecurityHeaders::new(app)
            .content_security_policy("a\nb")
            .is_none());
    }

    #[test]
    fn hsts_only_over_https() {
        let request = TestRequest::get("/").into_request("", 0);
        let (head, environ, body) = request.into_parts();
        let environ = Environ {
            scheme: Scheme::Https,
            ..environ
        };
        let response = SecurityHeaders::new(app).call(Request::new(head, environ, body));
        assert_eq!(
            response.headers()[header::STRICT_TRANSPORT_SECURITY],
            "max-age=31536000"
        );
    }
}
