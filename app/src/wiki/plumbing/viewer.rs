//! Who is asking: the account a request's session names, or an anonymous reader, with the
//! preferences that shape their pages.
//!
//! The session (a sealed cookie, see `gateway::session`) holds only the account's name and id, its
//! session epoch, the session's own random id and the time of the login; the account itself is read
//! from storage on every request, so a role change or a disabled account takes effect on the next
//! request, not when the cookie expires. A session naming an account that is gone, disabled,
//! recreated under the same name (another id) or whose password changed since the session was
//! opened (another session epoch, also raised by "log out everywhere"), a session a logout ended
//! (its id revoked, see `storage::sessions`) and a login older than [`LOGIN_LIFETIME_SECS`] are
//! logged out on the spot. A cookie copied before a logout is therefore dead after it, in every
//! process; the check costs one query, the one that reads the account, and only logged-in sessions
//! make it.

use gateway::session::Session;
use gateway::{HttpError, Request, Response};
use http::{Method, StatusCode};
use storage::{Role, Storage, StorageError, User};

use crate::wiki::plumbing::respond::redirect_see_other;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::{Exchange, Wiki, WikiError};

/// Session key holding the logged-in account's name.
pub(crate) const SESSION_USER: &str = "user";
/// Session key holding the logged-in account's id, so a name reused by a new account does not
/// inherit an old session.
pub(crate) const SESSION_USER_ID: &str = "uid";
/// Session key holding the account's session epoch when the session was opened: a password change
/// raises the account's epoch, which ends every older session.
pub(crate) const SESSION_EPOCH: &str = "epoch";
/// Session key holding the session's own random id, given at login: a logout revokes it in storage,
/// which ends every copy of the cookie.
pub(crate) const SESSION_ID: &str = "sid";
/// Session key holding when the session logged in (unix seconds): a login ends after
/// [`LOGIN_LIFETIME_SECS`], so a revoked id need not be remembered longer.
pub(crate) const SESSION_SINCE: &str = "since";
/// Session key holding an anonymous reader's theme.
pub(crate) const SESSION_THEME: &str = "theme";

/// The person behind a request.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    /// The account's name; `None` for an anonymous reader.
    pub name: Option<String>,
    /// The account's id, what its drafts are kept under; `None` for an anonymous reader.
    pub id: Option<u64>,
    /// What the header shows: the account's display name, or the address for anonymous readers.
    pub display_name: String,
    /// Whether the account has the admin role.
    pub is_admin: bool,
    /// The client's address, as the gateway reports it (`unknown` when it reports none).
    pub address: String,
    /// Choices that shape pages.
    pub prefs: Prefs,
}

/// What [`Viewer::cache_key`] keeps of a viewer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ViewerKey {
    name: Option<String>,
    /// An account's display name; `None` for anonymous readers, whose display name is their address.
    display_name: Option<String>,
    is_admin: bool,
    theme: Option<String>,
    email: String,
}

/// A viewer's preferences.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prefs {
    /// The theme chosen (the account's, or an anonymous reader's session's); `None`: the site's.
    pub theme: Option<String>,
    /// The account's email address; empty for anonymous readers.
    pub email: String,
}

impl Viewer {
    /// An anonymous reader at `address`.
    pub(crate) fn anonymous(address: String, theme: Option<String>) -> Viewer {
        Viewer {
            name: None,
            id: None,
            display_name: address.clone(),
            is_admin: false,
            address,
            prefs: Prefs {
                theme,
                email: String::new(),
            },
        }
    }

    /// The viewer logged in as `user`.
    pub(crate) fn account(user: &User, address: String) -> Viewer {
        Viewer {
            name: Some(user.name.clone()),
            id: Some(user.id),
            display_name: user.display_name.clone(),
            is_admin: user.role == Role::Admin,
            address,
            prefs: Prefs {
                theme: user.theme.clone(),
                email: user.email.clone(),
            },
        }
    }

    /// Who the request comes from: the session's account if it is still valid, else anonymous.
    pub(crate) fn of(request: &Request, storage: &Storage) -> Result<Viewer, StorageError> {
        let address = request
            .remote_addr()
            .map_or_else(|| "unknown".to_owned(), |addr| addr.to_string());
        let Some(session) = request.extensions().get::<Session>() else {
            return Ok(Viewer::anonymous(address, None));
        };
        let session_theme = session.get(SESSION_THEME);
        let Some(name) = session.get(SESSION_USER) else {
            return Ok(Viewer::anonymous(address, session_theme));
        };
        let id = session.get(SESSION_USER_ID);
        let epoch = session.get(SESSION_EPOCH);
        // A session without an id or a login time (opened by a build before session ids) could
        // not be revoked by a logout, so it is not trusted: its owner logs in once more. Nor is a
        // login older than its lifetime.
        let user = match (session.get(SESSION_ID), login_time(session, unix_now())) {
            (Some(session_id), Some(_)) => storage.session_user(&name, &session_id)?,
            (None, _) | (_, None) => None,
        };
        match user {
            Some(user)
                if !user.disabled
                    && id.as_deref() == Some(&user.id.to_string())
                    && epoch.as_deref() == Some(&user.session_epoch.to_string()) =>
            {
                let mut viewer = Viewer::account(&user, address);
                viewer.prefs.theme = viewer.prefs.theme.or(session_theme);
                Ok(viewer)
            }
            Some(_) | None => {
                // The account is gone or disabled, or the session ended: forget the account
                // rather than keep asking.
                forget_account(session);
                Ok(Viewer::anonymous(address, session_theme))
            }
        }
    }

    /// Everything about the viewer a page may show or decide by, for the response cache's key: the
    /// account (name, display name, role) and the preferences. The address is left out: pages show
    /// an account, never the address of an anonymous reader, so anonymous readers share entries.
    pub(crate) fn cache_key(&self) -> ViewerKey {
        // Taken apart whole: a field added to `Viewer` does not compile until it is placed in the
        // key or left out here on purpose.
        let Viewer {
            name,
            // The name stands for the account in pages; a page shows no id.
            id: _,
            display_name,
            is_admin,
            address: _,
            prefs: Prefs { theme, email },
        } = self;
        ViewerKey {
            display_name: name.as_ref().map(|_| display_name.clone()),
            name: name.clone(),
            is_admin: *is_admin,
            theme: theme.clone(),
            email: email.clone(),
        }
    }

    /// Whether the viewer is logged in.
    pub(crate) fn is_known(&self) -> bool {
        self.name.is_some()
    }

    /// Whom a revision saved by this viewer is attributed to: the account's name, else the address.
    /// Whether an anonymous viewer may save at all is [`Wiki::login_gate`]'s business.
    pub(crate) fn author(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.address.clone())
    }
}

impl Wiki {
    /// With `anonymous_edits = false`, what an anonymous viewer gets instead of any route that
    /// changes pages: the login form (a GET, so they come back to the editor afterwards) or a 403
    /// (a POST; the text of a form sent while logged out is not silently dropped behind a redirect).
    /// `None`: go ahead.
    pub(crate) fn login_gate(
        &self,
        exchange: &Exchange,
        route: &Route,
    ) -> Result<Option<Response>, WikiError> {
        if !route.changes_pages() || self.settings.anonymous_edits || exchange.viewer.is_known() {
            return Ok(None);
        }
        let method = exchange.request.method();
        if method == Method::GET || method == Method::HEAD {
            let back = exchange.urls.to(route);
            return Ok(Some(redirect_see_other(&exchange.urls.login(&back))));
        }
        Err(HttpError::new(
            StatusCode::FORBIDDEN,
            "This wiki takes edits from logged-in accounts only. Log in, then send the form again.",
        )
        .into())
    }
}

/// Logs `user` in on `session`: a new CSRF token (one seen before the login is worth nothing after
/// it), a new session id (so a logout ends this login only), then the account.
pub(crate) fn log_in(session: &Session, user: &User) -> Result<(), StorageError> {
    let session_id = storage::sessions::new_session_id()?;
    session.renew();
    session.set(SESSION_ID, session_id);
    session.set(SESSION_SINCE, unix_now().to_string());
    session.set(SESSION_USER, user.name.clone());
    session.set(SESSION_USER_ID, user.id.to_string());
    session.set(SESSION_EPOCH, user.session_epoch.to_string());
    Ok(())
}

/// Logs `session` out for good: its id is revoked in storage, so a copy of its cookie opens no
/// account either, then it is cleared (values and CSRF token).
pub(crate) fn log_out(session: &Session, storage: &Storage) -> Result<(), StorageError> {
    // Only a session `Viewer::of` accepted still has an id: it removes the id of any other. The
    // revocation is kept as long as the login could last, after which `Viewer::of` refuses the
    // session by its age.
    if let Some(session_id) = session.get(SESSION_ID) {
        let now = unix_now();
        let since = login_time(session, now).unwrap_or(now);
        storage.revoke_session(&session_id, since.saturating_add(LOGIN_LIFETIME_SECS))?;
    }
    session.clear();
    Ok(())
}

/// The session keys a login sets, and a session that is no longer logged in loses.
const LOGIN_KEYS: [&str; 5] = [
    SESSION_ID,
    SESSION_SINCE,
    SESSION_USER,
    SESSION_USER_ID,
    SESSION_EPOCH,
];

/// Removes the account from `session`, keeping what an anonymous reader has (theme, CSRF token).
fn forget_account(session: &Session) {
    for key in LOGIN_KEYS {
        session.remove(key);
    }
}

/// The longest a login lasts, however active its session: the gateway seals a cookie again, with a
/// later expiry, as long as it is in use (even by a request the app never sees, such as a POST the
/// CSRF check refuses), so without a bound of its own a copied cookie would outlive any record of
/// its revocation. With it, a revocation needs keeping only until the login's end.
pub(crate) const LOGIN_LIFETIME_SECS: i64 = 30 * 24 * 60 * 60;

/// The login time a session holds, if it holds one and it is not over [`LOGIN_LIFETIME_SECS`] ago.
fn login_time(session: &Session, now: i64) -> Option<i64> {
    let since: i64 = session.get(SESSION_SINCE)?.parse().ok()?;
    (now.saturating_sub(since) <= LOGIN_LIFETIME_SECS).then_some(since)
}

pub(crate) fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway::testing::TestRequest;
    use storage::NewUser;

    /// A wiki's storage with the account `ann`, and a session logged in as her.
    fn logged_in() -> (Storage, Session) {
        let storage = Storage::open_in_memory().unwrap();
        let user = storage
            .create_user(&NewUser {
                name: "ann",
                display_name: None,
                email: "",
                role: Role::User,
                password: "ann's password",
                invite: None,
                reserved: &[],
            })
            .unwrap();
        let session = Session::default();
        log_in(&session, &user).unwrap();
        (storage, session)
    }

    /// Who a request carrying `session` comes from.
    fn viewer(storage: &Storage, session: &Session) -> Viewer {
        let mut request = TestRequest::get("/").into_request("", 1024);
        request.extensions_mut().insert(session.clone());
        Viewer::of(&request, storage).unwrap()
    }

    #[test]
    fn a_session_is_the_account_until_it_logs_out() {
        let (storage, session) = logged_in();
        let copy = Session::default();
        for key in LOGIN_KEYS {
            copy.set(key, session.get(key).unwrap());
        }
        assert_eq!(viewer(&storage, &copy).name.as_deref(), Some("ann"));
        log_out(&session, &storage).unwrap();
        assert!(session.is_empty());
        assert!(!viewer(&storage, &copy).is_known());
        assert_eq!(copy.get(SESSION_USER), None, "the copy forgets the account");
        assert_eq!(copy.get(SESSION_ID), None);
    }

    #[test]
    fn a_login_ends_after_its_lifetime_and_needs_an_id() {
        let (storage, session) = logged_in();
        let since = unix_now() - LOGIN_LIFETIME_SECS + 60;
        session.set(SESSION_SINCE, since.to_string());
        assert!(
            viewer(&storage, &session).is_known(),
            "still within its lifetime"
        );
        session.set(SESSION_SINCE, (since - 120).to_string());
        assert!(!viewer(&storage, &session).is_known(), "over its lifetime");

        // A session from before session ids cannot be revoked, so it is not trusted.
        let (storage, session) = logged_in();
        session.remove(SESSION_ID);
        assert!(!viewer(&storage, &session).is_known());
    }

    #[test]
    fn edits_are_attributed_to_the_account_or_the_address() {
        let anonymous = Viewer::anonymous("192.0.2.7".into(), None);
        assert_eq!(anonymous.author(), "192.0.2.7");
        assert!(!anonymous.is_known());
        let user = User {
            id: 3,
            name: "Alice".into(),
            display_name: "Alice L.".into(),
            email: String::new(),
            role: Role::Admin,
            disabled: false,
            created: 0,
            theme: Some("dark".into()),
            session_epoch: 0,
        };
        let alice = Viewer::account(&user, "192.0.2.7".into());
        assert_eq!(alice.author(), "Alice");
        assert!(alice.is_admin);
        assert_eq!(alice.prefs.theme.as_deref(), Some("dark"));
    }
}
