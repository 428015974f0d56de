//! The client behind a reverse proxy: `X-Forwarded-For`, `X-Forwarded-Proto` and RFC 7239
//! `Forwarded`, believed only from the proxies an operator names.
//!
//! Behind nginx or Apache proxying to `quire serve`, the TCP peer is the proxy: every client would
//! share its address (one throttle for everyone) and its plain-http connection (no `Secure` cookies,
//! no HSTS). The proxy says who the client was in headers, but any client can send the same headers,
//! so they are worth something only when the peer is a proxy the operator trusts.
//! [`TrustedProxies`] is that list (CIDRs such as `127.0.0.1/32` or `10.0.0.0/8`, empty by
//! default: nothing is believed), and [`resolve`] the one place that reads the headers. The
//! [`crate::middleware::TrustProxies`] layer applies it to every request, outside every other layer,
//! so every adapter (HTTP, FastCGI, SCGI, CGI) behaves the same and logging, sessions, security
//! headers and the app all see the resolved client.
//!
//! # The rules
//!
//! - The peer is the address the adapter saw (`REMOTE_ADDR`, the TCP peer). Not in the list, or
//!   unknown: the headers are ignored and the request is left as it is.
//! - From a trusted peer, `X-Forwarded-For` (all of its lines, in order) is walked from right to left,
//!   skipping addresses that are themselves trusted proxies: the first untrusted address is the
//!   client. If every hop is trusted, the leftmost is. The scheme is the rightmost
//!   `X-Forwarded-Proto` value (`http` or `https`), the one the proxy next to us set.
//! - Without `X-Forwarded-For`, `Forwarded` is walked the same way by its `for=` parameters, and
//!   the scheme is the `proto=` of the element the client was found in. `X-Forwarded-For` wins when
//!   both are present because nearly every proxy sends it, and many (nginx's
//!   `$proxy_add_x_forwarded_for`) pass a client's own `Forwarded` header through untouched: a proxy
//!   must set or overwrite the header it uses, and should clear the other (`deploy/nginx/` does).
//! - Anything malformed on the way (a hop that is not an IP address, `unknown`, an obfuscated
//!   `_hidden` node, a broken quoted string, an unknown proto) makes the whole header set ignored:
//!   the request keeps the peer's address and scheme. Nothing here panics (a property test checks).
//!
//! Addresses are compared in canonical form, so an IPv4 peer that a dual-stack socket reports as
//! `::ffff:127.0.0.1` matches `127.0.0.0/8`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use http::HeaderMap;
use thiserror::Error;

use crate::{Request, Scheme};

/// The most hops looked at in one request; a longer chain is treated as malformed, so a hostile
/// header costs bounded work whatever the server's header limit.
const MAX_HOPS: usize = 64;

/// Why a string is not a CIDR.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{text:?} is not an IP network: {reason} (write an address such as \"10.0.0.1\", or a network such as \"10.0.0.0/8\" or \"fd00::/8\")")]
pub struct CidrError {
    text: String,
    reason: &'static str,
}

/// An IP network: an address and a prefix length, such as `10.0.0.0/8` or `::1/128`. A bare
/// address is the network of that one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `127.0.0.0/8`: IPv4's loopback network.
    pub const LOOPBACK_V4: Cidr = Cidr {
        network: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)),
        prefix: 8,
    };
    /// `::1/128`: IPv6's loopback address.
    pub const LOOPBACK_V6: Cidr = Cidr {
        network: IpAddr::V6(Ipv6Addr::LOCALHOST),
        prefix: 128,
    };

    /// Whether `addr` is inside the network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (self.network, addr.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(addr)) => {
                let mask = v4_mask(self.prefix);
                u32::from(net) & mask == u32::from(addr) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(addr)) => {
                let mask = v6_mask(self.prefix);
                u128::from(net) & mask == u128::from(addr) & mask
            }
            _ => false,
        }
    }
}

/// The bits an IPv4 network of `prefix` fixes.
fn v4_mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

/// The bits an IPv6 network of `prefix` fixes.
fn v6_mask(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, CidrError> {
        let error = |reason| CidrError {
            text: text.to_owned(),
            reason,
        };
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let network = address
            .parse::<IpAddr>()
            .map_err(|_| error("not an IP address"))?
            .to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(prefix) if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) => {
                prefix
                    .parse::<u8>()
                    .ok()
                    .filter(|prefix| *prefix <= max)
                    .ok_or_else(|| error("the prefix length is too long for the address"))?
            }
            Some(_) => return Err(error("the prefix length after / is not a number")),
        };
        // The host bits cleared, so `10.1.2.3/8` is `10.0.0.0/8`, written and compared as such.
        let network = match network {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & v4_mask(prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & v6_mask(prefix))),
        };
        Ok(Cidr { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The proxies whose forwarding headers are believed; empty (the default) believes none.
///
/// ```
/// use gateway::proxy::TrustedProxies;
///
/// let proxies: TrustedProxies = ["127.0.0.1", "10.0.0.0/8"].iter().map(|c| c.parse()).collect::<Result<_, _>>()?;
/// assert!(proxies.contains("10.1.2.3".parse()?));
/// assert!(!proxies.contains("192.0.2.1".parse()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<Cidr>,
}

impl TrustedProxies {
    /// Whether `addr` is a trusted proxy.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.networks.iter().any(|network| network.contains(addr))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }
}

impl FromIterator<Cidr> for TrustedProxies {
    fn from_iter<I: IntoIterator<Item = Cidr>>(iter: I) -> Self {
        TrustedProxies {
            networks: iter.into_iter().collect(),
        }
    }
}

/// The address the adapter saw, before [`resolve`] replaced it with the client behind a trusted
/// proxy: a request extension, for whatever must know who is really connected (an endpoint
/// restricted to local peers, say). `None` when the adapter knew no address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub Option<IpAddr>);

/// What the forwarding headers say, when they may be believed and make sense.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forwarded {
    /// The client's address.
    pub client: IpAddr,
    /// The scheme the client used, when a header said.
    pub scheme: Option<Scheme>,
}

/// Reads the forwarding headers of a request from `peer` (see the module docs): `None` when the
/// peer is not trusted, there are no such headers, or they are malformed.
pub fn forwarded(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    trusted: &TrustedProxies,
) -> Option<Forwarded> {
    let peer = peer.filter(|peer| trusted.contains(*peer))?;
    if headers.contains_key("x-forwarded-for") {
        return x_forwarded(headers, trusted);
    }
    if headers.contains_key(http::header::FORWARDED) {
        return rfc7239(headers, trusted);
    }
    // A trusted proxy that names no client but says the scheme (some set X-Forwarded-Proto only).
    let scheme = last_proto(headers)?;
    Some(Forwarded {
        client: peer,
        scheme: Some(scheme?),
    })
}

/// Replaces the request's client address and scheme with what a trusted proxy forwarded, and
/// records the adapter's address as [`Peer`].
pub fn resolve(request: &mut Request, trusted: &TrustedProxies) {
    let peer = request.remote_addr();
    request.extensions_mut().insert(Peer(peer));
    let Some(found) = forwarded(request.headers(), peer, trusted) else {
        return;
    };
    let environ = request.environ_mut();
    environ.remote_addr = Some(found.client);
    if let Some(scheme) = found.scheme {
        environ.scheme = scheme;
    }
}

/// Every line of header `name`, joined as one comma-separated list; `None` when a line is not
/// visible ASCII.
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut lines = Vec::new();
    for value in headers.get_all(name) {
        lines.push(value.to_str().ok()?);
    }
    Some(lines.join(","))
}

fn x_forwarded(headers: &HeaderMap, trusted: &TrustedProxies) -> Option<Forwarded> {
    let list = joined(headers, "x-forwarded-for")?;
    let hops: Vec<&str> = list.split(',').map(str::trim).collect();
    if hops.len() > MAX_HOPS {
        return None;
    }
    let mut client = None;
    for hop in hops.iter().rev() {
        let addr = parse_node(hop)?;
        client = Some(addr);
        if !trusted.contains(addr) {
            break;
        }
    }
    let scheme = match last_proto(headers) {
        None => None,
        Some(scheme) => Some(scheme?),
    };
    Some(Forwarded {
        client: client?,
        scheme,
    })
}

/// The rightmost `X-Forwarded-Proto` value: `None` without the header, `Some(None)` when it is not
/// `http` or `https`.
fn last_proto(headers: &HeaderMap) -> Option<Option<Scheme>> {
    if !headers.contains_key("x-forwarded-proto") {
        return None;
    }
    let list = joined(headers, "x-forwarded-proto");
    Some(
        list.as_deref()
            .and_then(|list| list.rsplit(',').next())
            .and_then(scheme),
    )
}

fn scheme(text: &str) -> Option<Scheme> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("https") {
        Some(Scheme::Https)
    } else if text.eq_ignore_ascii_case("http") {
        Some(Scheme::Http)
    } else {
        None
    }
}

fn rfc7239(headers: &HeaderMap, trusted: &TrustedProxies) -> Option<Forwarded> {
    let list = joined(headers, "forwarded")?;
    let elements = forwarded_elements(&list)?;
    if elements.len() > MAX_HOPS {
        return None;
    }
    let mut found = None;
    for element in elements.iter().rev() {
        let mut client = None;
        let mut proto = None;
        for (name, value) in element {
            if name.eq_ignore_ascii_case("for") {
                client = Some(parse_node(value)?);
            } else if name.eq_ignore_ascii_case("proto") {
                proto = Some(scheme(value)?);
            }
        }
        let client = client?;
        found = Some(Forwarded {
            client,
            scheme: proto,
        });
        if !trusted.contains(client) {
            break;
        }
    }
    found
}

/// RFC 7239 §4: `Forwarded: for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8::1]:4711"`,
/// as elements of `(name, value)` pairs with quoted strings unquoted. `None` when it does not
/// parse.
fn forwarded_elements(text: &str) -> Option<Vec<Vec<(String, String)>>> {
    let mut elements = Vec::new();
    let mut pairs = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| is_tchar(*c)) {
            name.push(c);
        }
        if chars.next() != Some('=') || name.is_empty() {
            return None;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| is_tchar(*c)) {
                value.push(c);
            }
        }
        pairs.push((name, value));
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        match chars.next() {
            Some(';') => {}
            Some(',') => elements.push(std::mem::take(&mut pairs)),
            None => {
                elements.push(pairs);
                return Some(elements);
            }
            Some(_) => return None,
        }
        if elements.len() > MAX_HOPS {
            return None;
        }
    }
}

/// An HTTP token character (RFC 9110 §5.6.2).
fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// A hop's address: `192.0.2.43`, `192.0.2.43:47011`, `2001:db8::1`, `[2001:db8::1]` or
/// `[2001:db8::1]:4711`. `None` for anything else (`unknown`, `_hidden`, junk).
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        let port_ok = after.is_empty()
            || after
                .strip_prefix(':')
                .is_some_and(|port| port.parse::<u16>().is_ok());
        return port_ok
            .then(|| address.parse::<std::net::Ipv6Addr>().ok())
            .flatten()
            .map(|addr| IpAddr::V6(addr).to_canonical());
    }
    if let Ok(addr) = text.parse::<IpAddr>() {
        return Some(addr.to_canonical());
    }
    let (address, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    address.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        list.iter().map(|c| c.parse().unwrap()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn client(pairs: &[(&'static str, &str)], peer: &str) -> Option<Forwarded> {
        forwarded(
            &headers(pairs),
            Some(ip(peer)),
            &proxies(&["127.0.0.0/8", "10.0.0.0/8", "::1", "fd00::/8"]),
        )
    }

    #[test]
    fn cidrs_parse_and_contain() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.255.0.1")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.1.1")), "an IPv4-mapped peer");
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert_eq!(one.to_string(), "192.0.2.7/32");
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")) && !all.contains(ip("::1")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        assert!("::/0".parse::<Cidr>().unwrap().contains(ip("::1")));
    }

    #[test]
    fn bad_cidrs_are_refused_with_a_reason() {
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/-1",
            "10.0.0/8",
            "localhost",
            "10.0.0.0/8/8",
            "10.0.0.0/ 8",
            "10.0.0.0/+8",
        ] {
            let err = bad.parse::<Cidr>().unwrap_err();
            assert!(err.to_string().contains("is not an IP network"), "{err}");
        }
    }

    #[test]
    fn an_untrusted_peer_is_not_believed() {
        let pairs = [
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
        ];
        assert_eq!(client(&pairs, "192.0.2.1"), None);
        assert_eq!(
            forwarded(&headers(&pairs), None, &proxies(&["0.0.0.0/0"])),
            None,
            "an unknown peer"
        );
        assert_eq!(
            forwarded(&headers(&pairs), Some(ip("127.0.0.1")), &proxies(&[])),
            None,
            "nothing trusted by default"
        );
    }

    #[test]
    fn x_forwarded_for_is_walked_from_the_right() {
        let found = client(
            &[
                ("x-forwarded-for", "198.51.100.1, 203.0.113.9, 10.0.0.2"),
                ("x-forwarded-proto", "https"),
            ],
            "127.0.0.1",
        )
        .unwrap();
        assert_eq!(
            found.client,
            ip("203.0.113.9"),
            "the spoofable left part is not used"
        );
        assert_eq!(found.scheme, Some(Scheme::Https));
        // Several lines are one list; ports and brackets are allowed.
        let found = client(
            &[
                ("x-forwarded-for", "198.51.100.1"),
                ("x-forwarded-for", "[2001:db8::1]:4711, 10.0.0.2:80"),
            ],
            "::1",
        )
        .unwrap();
        assert_eq!(found.client, ip("2001:db8::1"));
        assert_eq!(found.scheme, None);
        // Every hop trusted: the leftmost.
        let found = client(&[("x-forwarded-for", "10.0.0.5, 127.0.0.1")], "127.0.0.1").unwrap();
        assert_eq!(found.client, ip("10.0.0.5"));
        // The rightmost proto is the one the nearest proxy set.
        let found = client(
            &[
                ("x-forwarded-for", "203.0.113.9"),
                ("x-forwarded-proto", "http, HTTPS"),
            ],
            "127.0.0.1",
        )
        .unwrap();
        assert_eq!(found.scheme, Some(Scheme::Https));
    }

    #[test]
    fn forwarded_is_walked_from_the_right_with_its_proto() {
        let found = client(
            &[(
                "forwarded",
                r#"for=198.51.100.1;proto=http, for="[2001:db8:cafe::17]:4711";proto=https;by=10.0.0.1, For=10.0.0.3;proto=http"#,
            )],
            "127.0.0.1",
        )
        .unwrap();
        assert_eq!(found.client, ip("2001:db8:cafe::17"));
        assert_eq!(found.scheme, Some(Scheme::Https));
        let found = client(&[("forwarded", r#"for="192.0.2.43:47011""#)], "10.9.9.9").unwrap();
        assert_eq!(found.client, ip("192.0.2.43"));
        // X-Forwarded-For wins over a Forwarded a client may have sent through the proxy.
        let found = client(
            &[
                ("forwarded", "for=6.6.6.6;proto=https"),
                ("x-forwarded-for", "203.0.113.9"),
            ],
            "127.0.0.1",
        )
        .unwrap();
        assert_eq!(found.client, ip("203.0.113.9"));
        assert_eq!(found.scheme, None);
    }

    #[test]
    fn a_proto_alone_from_a_trusted_proxy_keeps_the_peer() {
        let found = client(&[("x-forwarded-proto", "https")], "127.0.0.1").unwrap();
        assert_eq!(found.client, ip("127.0.0.1"));
        assert_eq!(found.scheme, Some(Scheme::Https));
    }

    #[test]
    fn malformed_headers_are_ignored() {
        let long = vec!["203.0.113.9"; MAX_HOPS + 1].join(",");
        for pairs in [
            &[("x-forwarded-for", "")][..],
            &[("x-forwarded-for", "unknown")],
            &[("x-forwarded-for", "203.0.113.9, junk")],
            &[("x-forwarded-for", "203.0.113.9:99999")],
            &[("x-forwarded-for", "[203.0.113.9]")],
            &[("x-forwarded-for", "[::1")],
            &[
                ("x-forwarded-for", "203.0.113.9"),
                ("x-forwarded-proto", "gopher"),
            ],
            &[("x-forwarded-for", &long)],
            &[("x-forwarded-proto", "ftp")],
            &[("forwarded", "for=unknown")],
            &[("forwarded", "for=_hidden")],
            &[("forwarded", "for=\"[2001:db8::1]")],
            &[("forwarded", "for=\"unterminated")],
            &[("forwarded", "for=203.0.113.9;proto=gopher")],
            &[("forwarded", "proto=https")],
            &[("forwarded", "=x")],
            &[("forwarded", "for=203.0.113.9 junk")],
            &[("forwarded", "")],
        ] {
            assert_eq!(client(pairs, "127.0.0.1"), None, "{pairs:?}");
        }
    }

    #[test]
    fn resolve_rewrites_the_environ_and_keeps_the_peer() {
        let mut request = crate::testing::TestRequest::get("/")
            .with_header("x-forwarded-for", "203.0.113.9")
            .with_header("x-forwarded-proto", "https")
            .into_request("", 0);
        resolve(&mut request, &proxies(&["127.0.0.1"]));
        assert_eq!(request.remote_addr(), Some(ip("203.0.113.9")));
        assert_eq!(request.environ().scheme, Scheme::Https);
        assert_eq!(
            request.extensions().get::<Peer>(),
            Some(&Peer(Some(ip("127.0.0.1"))))
        );
    }

    proptest! {
        #[test]
        fn no_header_makes_it_panic(
            xff in "[0-9a-fA-F:.\\[\\], \"unknow_]{0,80}",
            fwd in "[0-9a-zA-Z:.\\[\\],;= \"\\\\_]{0,80}",
            proto in "[a-zA-Z, ]{0,12}",
            cidr in "[0-9a-f:./]{0,45}",
        ) {
            let _ = cidr.parse::<Cidr>();
            let trusted = proxies(&["0.0.0.0/0", "::/0"]);
            let mut map = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(&xff) { map.append("x-forwarded-for", value); }
            if let Ok(value) = HeaderValue::from_str(&fwd) { map.append("forwarded", value); }
            if let Ok(value) = HeaderValue::from_str(&proto) { map.append("x-forwarded-proto", value); }
            let _ = forwarded(&map, Some(ip("127.0.0.1")), &trusted);
            map.remove("x-forwarded-for");
            let _ = forwarded(&map, Some(ip("127.0.0.1")), &trusted);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let trusted = proxies(&["0.0.0.0/0", "::/0"]);
            let _ = String::from_utf8_lossy(&bytes).parse::<Cidr>();
            for name in ["x-forwarded-for", "forwarded"] {
                let mut map = HeaderMap::new();
                if let Ok(value) = HeaderValue::from_bytes(&bytes) { map.append(name, value); }
                let _ = forwarded(&map, Some(ip("::1")), &trusted);
            }
        }
    }
}
