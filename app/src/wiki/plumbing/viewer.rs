//! Who is asking: the account a request's session names, or an anonymous reader, with the
//! preferences that shape their pages.
//!
//! The session (a sealed cookie, see `gateway::session`) holds only the account's name and id; the
//! account itself is read from storage on every request, so a role change or a disabled account takes
//! effect on the next request, not when the cookie expires. A session naming an account that is gone,
//! disabled, recreated under the same name (another id) or whose password changed since the session
//! was opened (another session epoch) is logged out on the spot.

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
/// Session key holding an anonymous reader's theme.
pub(crate) const SESSION_THEME: &str = "theme";

/// The person behind a request.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    /// The account's name; `None` for an anonymous reader.
    pub name: Option<String>,
    /// What the header shows: the account's display name, or the address for anonymous readers.
    pub display_name: String,
    /// Whether the account has the admin role.
    pub is_admin: bool,
    /// The client's address, as the gateway reports it (`unknown` when it reports none).
    pub address: String,
    /// Choices that shape pages.
    pub prefs: Prefs,
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
        match storage.user(&name)? {
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
                // The account is gone or disabled: end the session rather than keep asking.
                session.remove(SESSION_USER);
                session.remove(SESSION_USER_ID);
                session.remove(SESSION_EPOCH);
                Ok(Viewer::anonymous(address, session_theme))
            }
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
/// it), then the account.
pub(crate) fn log_in(session: &Session, user: &User) {
    session.renew();
    session.set(SESSION_USER, user.name.clone());
    session.set(SESSION_USER_ID, user.id.to_string());
    session.set(SESSION_EPOCH, user.session_epoch.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

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
