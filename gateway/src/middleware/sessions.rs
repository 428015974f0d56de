//! The session cookie: opened into a [`Session`] before the app, sealed back after it.

use std::sync::Arc;
use std::time::Duration;

use http::header;

use crate::cookies::{self, is_cookie_name};
use crate::session::{now_unix, Session, SessionError, SessionKeys};
use crate::{App, HttpError, IntoResponse, Request, Response, Scheme};

/// The cookie name unless one is configured.
pub const DEFAULT_COOKIE_NAME: &str = "quire_session";
/// How long a session lives without a change: two weeks.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(14 * 24 * 60 * 60);

/// Gives every request a [`Session`] from its cookie and writes the cookie
/// back when the session changed.
///
/// - The cookie (named [`DEFAULT_COOKIE_NAME`] unless set otherwise) is
///   opened with [`SessionKeys`]. One that was altered, expired, or sealed
///   under a key the server no longer has counts as no cookie: the request
///   gets an empty session and a debug log line says why (never the value).
/// - After the app, `Set-Cookie` is sent only when the session changed, or
///   when more than half of its lifetime has passed (so an active user stays
///   signed in). It is `HttpOnly`, `SameSite=Lax`, `Path=` the mount prefix
///   (or `/`), `Secure` when the request came over https, with `Max-Age`.
/// - A session emptied by [`Session::clear`] expires the cookie.
/// - A session too large for a cookie ([`crate::session::MAX_COOKIE_BYTES`])
///   is a bug of the app: the response becomes a 500 whose logged cause
///   says so, rather than a cookie the browser would silently drop.
///
/// ```
/// use std::sync::Arc;
/// use gateway::{middleware::Sessions, session::{Session, SessionKeys}, testing::TestClient, Request, Response};
///
/// let app = |request: Request| -> Response {
///     let session = request.extensions().get::<Session>().expect("inside Sessions");
///     let visits = session.get("visits").and_then(|n| n.parse().ok()).unwrap_or(0) + 1;
///     session.set("visits", visits.to_string());
///     Response::new(format!("visit {visits}").into())
/// };
/// let keys = Arc::new(SessionKeys::generate().unwrap());
/// let client = TestClient::new(Sessions::new(app, keys)).with_cookie_jar();
/// assert_eq!(client.get("/").text(), "visit 1");
/// assert_eq!(client.get("/").text(), "visit 2");
/// ```
#[derive(Debug, Clone)]
pub struct Sessions<A> {
    inner: A,
    keys: Arc<SessionKeys>,
    cookie_name: String,
    max_age: Duration,
}

impl<A> Sessions<A> {
    /// Wraps `inner`, sealing cookies with `keys`.
    pub fn new(inner: A, keys: Arc<SessionKeys>) -> Self {
        Sessions {
            inner,
            keys,
            cookie_name: DEFAULT_COOKIE_NAME.to_owned(),
            max_age: DEFAULT_MAX_AGE,
        }
    }

    /// Uses another cookie name (two apps on one host need two names).
    pub fn cookie_name(mut self, name: &str) -> Result<Self, SessionError> {
        if !is_cookie_name(name) {
            return Err(SessionError::CookieName(name.to_owned()));
        }
        self.cookie_name = name.to_owned();
        Ok(self)
    }

    /// How long a session lives after its last change.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age.max(Duration::from_secs(1));
        self
    }
}

impl<A: App> App for Sessions<A> {
    fn call(&self, mut request: Request) -> Response {
        let now = now_unix();
        let max_age = self.max_age.as_secs();
        let mut had_cookie = false;
        let mut refresh = false;
        let mut bad_cookie = false;
        // A browser may hold two cookies of this name (set under different
        // paths, or a stale one next to a fresh one) and sends both: the
        // first that opens counts.
        let mut opened = None;
        for value in cookies::values(request.headers(), &self.cookie_name) {
            had_cookie = true;
            match self.keys.open(&self.cookie_name, value, now) {
                Ok(session) => {
                    opened = Some(session);
                    break;
                }
                Err(why) => {
                    tracing::debug!(cookie = %self.cookie_name, reason = %why, "session cookie ignored");
                }
            }
        }
        let session = match opened {
            Some(opened) => {
                refresh = opened.expires.saturating_sub(now) < max_age / 2;
                Session::from_snapshot(opened.snapshot)
            }
            // Expire a bad cookie, so the browser stops sending it.
            None => {
                bad_cookie = had_cookie;
                Session::default()
            }
        };
        let secure = request.environ().scheme == Scheme::Https;
        let path = cookies::path(request.mount());
        request.extensions_mut().insert(session.clone());

        let mut response = self.inner.call(request);

        let snapshot = match session.changes() {
            Some(snapshot) => snapshot,
            None if refresh || bad_cookie => session.snapshot(),
            None => return response,
        };
        let (value, max_age) = if snapshot.values.is_empty() && snapshot.csrf.is_none() {
            if !had_cookie {
                return response;
            }
            (String::new(), Duration::ZERO)
        } else {
            match self.keys.seal(&self.cookie_name, &snapshot, now + max_age) {
                Ok(value) => (value, self.max_age),
                Err(err) => return HttpError::internal(err).into_response(),
            }
        };
        match cookies::set_cookie(&self.cookie_name, &value, &path, max_age, secure) {
            Ok(value) => {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            // The name is a checked token, the path a mount prefix and the
            // value base64: a header that does not parse is a bug, and
            // sending the response without it loses the change.
            Err(err) => return HttpError::internal(err).into_response(),
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::tests::capture_logs;
    use crate::session::{Snapshot, MAX_COOKIE_BYTES};
    use crate::testing::{TestClient, TestRequest};
    use http::StatusCode;

    /// `/set?k=v` sets, `/clear` clears, `/big` overfills, anything else
    /// shows the value of `user`.
    fn app(request: Request) -> Response {
        let session = request.extensions().get::<Session>().unwrap().clone();
        match request.path_info() {
            b"/set" => {
                let (key, value) = request.query().split_once('=').unwrap();
                session.set(key, value);
            }
            b"/clear" => session.clear(),
            b"/big" => session.set("big", "x".repeat(MAX_COOKIE_BYTES)),
            _ => {}
        }
        Response::new(session.get("user").unwrap_or_default().into())
    }

    fn keys() -> Arc<SessionKeys> {
        Arc::new(SessionKeys::generate().unwrap())
    }

    #[test]
    fn a_value_set_is_read_back_with_the_cookie() {
        let client = TestClient::new(Sessions::new(app, keys())).with_mount("/wiki");
        let set = client.get("/set?user=ada");
        let cookie = set.header("set-cookie").unwrap().to_owned();
        assert!(cookie.starts_with("quire_session="), "{cookie}");
        for attribute in ["Path=/wiki", "HttpOnly", "SameSite=Lax", "Max-Age=1209600"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        assert!(!cookie.contains("Secure"));
        assert!(!cookie.contains("ada"));
        let (name, value) = cookies::read_set_cookie(&cookie).unwrap();
        let pair = cookies::header_value([(name, value.unwrap())]);
        let read = client.send(TestRequest::get("/").with_header("cookie", &pair));
        assert_eq!(read.text(), "ada");
        assert_eq!(read.header("set-cookie"), None, "unchanged: no cookie");
        assert_eq!(client.get("/").text(), "", "no cookie, no session");
        assert_eq!(client.get("/").header("set-cookie"), None);
    }

    #[test]
    fn an_altered_cookie_is_ignored_and_logged_without_its_value() {
        let client = TestClient::new(Sessions::new(app, keys()));
        let cookie = client
            .get("/set?user=ada")
            .header("set-cookie")
            .unwrap()
            .to_owned();
        let (name, value) = cookies::read_set_cookie(&cookie).unwrap();
        let value = value.unwrap();
        let mut bytes = value.as_bytes().to_vec();
        bytes[30] = if bytes[30] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(bytes).unwrap();
        let altered = cookies::header_value([(name, altered.as_str())]);
        let (response, logs) =
            capture_logs(|| client.send(TestRequest::get("/").with_header("cookie", &altered)));
        assert_eq!(response.text(), "");
        assert!(logs.contains("session cookie ignored"), "{logs}");
        assert!(!logs.contains(&value[..20]), "{logs}");
        let expired = response.header("set-cookie").unwrap();
        assert!(expired.contains("Max-Age=0"), "{expired}");
    }

    #[test]
    fn clearing_expires_the_cookie_and_https_makes_it_secure() {
        let client = TestClient::new(Sessions::new(app, keys())).with_cookie_jar();
        client.get("/set?user=ada");
        let cleared = client.get("/clear");
        let cookie = cleared.header("set-cookie").unwrap();
        assert!(cookie.starts_with("quire_session=;"), "{cookie}");
        assert!(
            cookie.contains("Max-Age=0") && cookie.contains("Path=/"),
            "{cookie}"
        );
        assert_eq!(client.get("/").text(), "");

        let keys = keys();
        let app = Sessions::new(app, Arc::clone(&keys));
        let mut request = TestRequest::get("/set?user=ada").into_request("", u64::MAX);
        let environ = crate::Environ {
            scheme: Scheme::Https,
            ..request.environ().clone()
        };
        let (head, _, body) = request.into_parts();
        request = Request::new(head, environ, body);
        let response = app.call(request);
        let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.split("; ").any(|a| a == "Secure"), "{cookie}");
    }

    #[test]
    fn an_old_session_is_refreshed_and_an_expired_one_dropped() {
        let keys = keys();
        let client = TestClient::new(Sessions::new(app, Arc::clone(&keys)));
        let snapshot = Snapshot {
            values: [("user".to_owned(), "ada".to_owned())].into(),
            csrf: None,
        };
        let now = now_unix();
        let old = keys.seal(DEFAULT_COOKIE_NAME, &snapshot, now + 60).unwrap();
        let response = client
            .send(TestRequest::get("/").with_header("cookie", &format!("quire_session={old}")));
        assert_eq!(response.text(), "ada");
        assert!(response.header("set-cookie").is_some(), "refreshed");
        let expired = keys.seal(DEFAULT_COOKIE_NAME, &snapshot, now - 1).unwrap();
        let response = client.send(
            TestRequest::get("/").with_header("cookie", &format!("a=b; quire_session={expired}")),
        );
        assert_eq!(response.text(), "");
    }

    #[test]
    fn a_session_too_big_for_a_cookie_is_a_500_with_a_clear_cause() {
        let client = TestClient::new(Sessions::new(app, keys()));
        let response = client.get("/big");
        assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
        let app = Sessions::new(app, keys());
        let response = app.call(TestRequest::get("/big").into_request("", u64::MAX));
        let report = response.extensions().get::<crate::ErrorReport>().unwrap();
        assert!(
            report.to_string().contains("too large for a cookie"),
            "{report}"
        );
    }

    #[test]
    fn of_two_cookies_with_the_name_the_one_that_opens_counts() {
        let keys = keys();
        let client = TestClient::new(Sessions::new(app, Arc::clone(&keys)));
        let snapshot = Snapshot {
            values: [("user".to_owned(), "ada".to_owned())].into(),
            csrf: None,
        };
        let good = keys
            .seal(
                DEFAULT_COOKIE_NAME,
                &snapshot,
                now_unix() + DEFAULT_MAX_AGE.as_secs(),
            )
            .unwrap();
        let cookies = format!("quire_session=stale; other=1; quire_session={good}");
        let response = client.send(TestRequest::get("/").with_header("cookie", &cookies));
        assert_eq!(response.text(), "ada");
        assert_eq!(response.header("set-cookie"), None);
    }

    #[test]
    fn the_path_is_the_encoded_mount() {
        let client = TestClient::new(Sessions::new(app, keys())).with_mount("/w;Secure");
        let cookie = client
            .get("/set?user=ada")
            .header("set-cookie")
            .unwrap()
            .to_owned();
        assert!(cookie.contains("Path=/w%3BSecure;"), "{cookie}");
    }

    #[test]
    fn the_cookie_name_is_configurable_and_checked() {
        let app = Sessions::new(app, keys()).cookie_name("other").unwrap();
        let client = TestClient::new(app).with_cookie_jar();
        let set = client.get("/set?user=ada");
        assert!(set.header("set-cookie").unwrap().starts_with("other="));
        assert_eq!(client.get("/").text(), "ada");
        assert!(Sessions::new(super::tests::app, keys())
            .cookie_name("a b")
            .is_err());
    }
}
