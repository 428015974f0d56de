//! Cookies: reading the ones a request carries, and writing `Set-Cookie`.
//!
//! The syntax is the [`cookie`] crate's, and this module is the one place that
//! uses it: [`crate::middleware::Sessions`] reads and writes its cookie here,
//! an app reads a cookie of its own (a display preference, say) with
//! [`value`], and the test client's [`crate::testing::CookieJar`] keeps what a
//! response sets with [`read_set_cookie`]. Nothing else splits a `Cookie`
//! header by hand.
//!
//! What this does not do: percent-decode values (quire's cookies are base64 or
//! plain words), or sign and seal them (that is [`crate::session`]).

use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::header::{self, HeaderMap, HeaderValue, InvalidHeaderValue};
use percent_encoding::{utf8_percent_encode, AsciiSet};

/// The values of cookie `name` in a request's `Cookie` headers, in the order
/// they came. A browser holding two cookies of one name (set under different
/// paths, or a stale one next to a fresh one) sends both; pairs that do not
/// parse are passed over. Surrounding double quotes are dropped.
pub fn values<'h>(headers: &'h HeaderMap, name: &'h str) -> impl Iterator<Item = &'h str> + 'h {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(move |cookie| cookie.name() == name)
        .filter_map(|cookie| cookie.value_raw())
        .map(|value| value.trim_matches('"'))
}

/// The first value of cookie `name` in a request's `Cookie` headers.
///
/// ```
/// let mut headers = http::HeaderMap::new();
/// headers.insert("cookie", "a=1; mode=dark".parse().unwrap());
/// assert_eq!(gateway::cookies::value(&headers, "mode"), Some("dark"));
/// assert_eq!(gateway::cookies::value(&headers, "b"), None);
/// ```
pub fn value<'h>(headers: &'h HeaderMap, name: &'h str) -> Option<&'h str> {
    values(headers, name).next()
}

/// The `Path` of a cookie for an app mounted at `mount`: the mount prefix as it
/// appears in request URIs (percent-encoded, and `;` and `,` too, which would
/// end the attribute), or `/` at the root.
pub fn path(mount: &str) -> String {
    const ESCAPES: &AsciiSet = &crate::uri::PATH_ESCAPES.add(b';').add(b',');
    if mount.is_empty() {
        return "/".to_owned();
    }
    utf8_percent_encode(mount, ESCAPES).to_string()
}

/// The `Set-Cookie` header of a cookie that only the server reads: `HttpOnly`,
/// `SameSite=Lax`, under `path` (see [`path`]), `Secure` when `secure` (the
/// request came over https), living `max_age` (zero expires it at once).
///
/// Fails when the name or value cannot stand in a header; the attributes are
/// written in the `cookie` crate's order.
///
/// ```
/// use std::time::Duration;
///
/// let header = gateway::cookies::set_cookie("k", "v", "/wiki", Duration::from_secs(60), true)?;
/// let header = header.to_str().unwrap();
/// assert!(header.starts_with("k=v; "));
/// for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/wiki", "Max-Age=60"] {
///     assert!(header.split("; ").any(|a| a == attribute), "{header}");
/// }
/// # Ok::<(), http::header::InvalidHeaderValue>(())
/// ```
pub fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Duration,
    secure: bool,
) -> Result<HeaderValue, InvalidHeaderValue> {
    let max_age = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
    let cookie = Cookie::build((name, value))
        .path(path)
        .max_age(cookie::time::Duration::seconds(max_age))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure);
    HeaderValue::try_from(cookie.to_string())
}

/// What a `Set-Cookie` header asks a browser to keep: the cookie's name, and its
/// value, or `None` when the header expires the cookie (`Max-Age` of zero or
/// less, or an empty value). `None` altogether when the header does not parse.
///
/// ```
/// use gateway::cookies::read_set_cookie;
///
/// assert_eq!(read_set_cookie("k=v; Path=/; HttpOnly"), Some(("k", Some("v"))));
/// assert_eq!(read_set_cookie("k=; Max-Age=0"), Some(("k", None)));
/// assert_eq!(read_set_cookie("no pair"), None);
/// ```
pub fn read_set_cookie(header: &str) -> Option<(&str, Option<&str>)> {
    let cookie = Cookie::parse(header).ok()?;
    let name = cookie.name_raw()?;
    let value = cookie.value_raw()?;
    let expired = cookie
        .max_age()
        .is_some_and(|max_age| max_age <= cookie::time::Duration::ZERO);
    Some((name, (!expired && !value.is_empty()).then_some(value)))
}

/// The text of the `Cookie` header that sends `cookies` (`a=1; b=2`).
pub fn header_value<'a>(cookies: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    cookies
        .into_iter()
        .map(|(name, value)| Cookie::new(name, value).to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether `name` is a cookie name: an HTTP token (RFC 6265 §4.1.1).
pub(crate) fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_in_order_and_bad_pairs_are_skipped() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; s=one;; =x"));
        headers.append(header::COOKIE, HeaderValue::from_static("junk; s=\"two\""));
        assert_eq!(values(&headers, "s").collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(value(&headers, "a"), Some("1"));
        assert_eq!(value(&headers, "junk"), None);
    }

    #[test]
    fn the_path_is_the_encoded_mount() {
        assert_eq!(path(""), "/");
        assert_eq!(path("/wiki"), "/wiki");
        assert_eq!(path("/my wiki;x=1/é"), "/my%20wiki%3Bx=1/%C3%A9");
    }

    #[test]
    fn set_cookie_round_trips_through_the_reader() {
        let header = set_cookie("k", "v", "/", Duration::from_secs(9), false).unwrap();
        let header = header.to_str().unwrap();
        assert!(!header.contains("Secure"), "{header}");
        assert_eq!(read_set_cookie(header), Some(("k", Some("v"))));
        let expired = set_cookie("k", "", "/", Duration::ZERO, false).unwrap();
        assert_eq!(
            read_set_cookie(expired.to_str().unwrap()),
            Some(("k", None))
        );
        assert_eq!(read_set_cookie("k=v; Max-Age=-1"), Some(("k", None)));
        assert!(set_cookie("k", "a\nb", "/", Duration::ZERO, false).is_err());
    }

    #[test]
    fn cookie_names_are_tokens() {
        assert!(is_cookie_name("quire_session"));
        assert!(!is_cookie_name("a b"));
        assert!(!is_cookie_name("a=b"));
        assert!(!is_cookie_name(""));
    }
}
