//! The client and scheme behind a trusted reverse proxy, for every layer inside.

use crate::proxy::{self, TrustedProxies};
use crate::{App, Request, Response};

/// Replaces the request's client address and scheme with what a trusted proxy forwarded
/// (`X-Forwarded-For`, `X-Forwarded-Proto`, `Forwarded`), by [`proxy::resolve`]; from any other
/// peer those headers change nothing. The address the adapter saw stays in the
/// [`proxy::Peer`] extension.
///
/// It is a layer, not adapter code, so that the rule is written once and every adapter gets it;
/// it is the outermost layer, so that the request log, the security headers (HSTS), the session
/// cookie's `Secure` flag and the app all see the same client.
///
/// ```
/// use gateway::{middleware::TrustProxies, proxy::TrustedProxies, testing::{TestClient, TestRequest}, Request, Response};
///
/// let app = |request: Request| -> Response {
///     let client = request.remote_addr().unwrap();
///     Response::new(format!("{client} {}", request.environ().scheme.as_str()).into())
/// };
/// let loopback: TrustedProxies = ["127.0.0.1"].iter().map(|c| c.parse()).collect::<Result<_, _>>()?;
/// let forwarded = TestRequest::get("/")
///     .with_header("x-forwarded-for", "203.0.113.9")
///     .with_header("x-forwarded-proto", "https");
/// // The test client's peer is 127.0.0.1.
/// let trusting = TestClient::new(TrustProxies::new(app, loopback));
/// assert_eq!(trusting.send(forwarded.clone()).text(), "203.0.113.9 https");
/// let trusting_none = TestClient::new(TrustProxies::new(app, TrustedProxies::default()));
/// assert_eq!(trusting_none.send(forwarded).text(), "127.0.0.1 http");
/// # Ok::<(), gateway::proxy::CidrError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TrustProxies<A> {
    inner: A,
    trusted: TrustedProxies,
}

impl<A> TrustProxies<A> {
    /// Wraps `inner`, believing forwarding headers from `trusted` peers only.
    pub fn new(inner: A, trusted: TrustedProxies) -> Self {
        TrustProxies { inner, trusted }
    }
}

impl<A: App> App for TrustProxies<A> {
    fn call(&self, mut request: Request) -> Response {
        proxy::resolve(&mut request, &self.trusted);
        self.inner.call(request)
    }
}
