//! `/+prefs`: a reader's theme, and for an account its display name, email and password, and
//! logging out everywhere.
//!
//! Anonymous readers can choose a theme too; it lives in their session (key `theme`), since they have
//! no account to store it in. An account's theme is stored with the account and follows it to every
//! browser.
//!
//! "Log out everywhere" raises the account's session epoch, as a password change does, which ends
//! every session of the account at once, in every browser and every copied cookie, without a list
//! of them; the session it was sent from is logged out too.
//!
//! API tokens (`storage::api_tokens`) are made and revoked here: a new token is shown on the page
//! that answers the form that made it, once, and never again (only its digest is kept). A token is
//! made from a form with the session's CSRF token, like every change here, so another site cannot
//! make one for a logged-in visitor.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::{
    ApiTokenError, LoginAttempt, LoginOutcome, NewApiToken, TokenScope, UserError, UserPrefs,
};

use crate::wiki::accounts::login::session;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::plumbing::viewer::{log_in, Viewer, SESSION_THEME};
use crate::wiki::{Exchange, Wiki, WikiError};

#[derive(Serialize)]
struct PrefsView {
    #[serde(flatten)]
    layout: Layout,
    form_url: String,
    themes: Vec<ThemeChoice>,
    is_known: bool,
    display_name: String,
    email: String,
    message: Option<String>,
    error: Option<String>,
    /// The account's API tokens, newest first (none for anonymous readers).
    tokens: Vec<TokenRow>,
    /// A token just made, shown this once.
    new_token: Option<String>,
    api_docs_url: String,
}

#[derive(Serialize)]
struct TokenRow {
    id: i64,
    label: String,
    scope: &'static str,
    created: i64,
    expires: Option<i64>,
    expired: bool,
    last_used: Option<i64>,
}

/// The longest a token made here may live, in days (ten years).
const MAX_TOKEN_DAYS: i64 = 3650;

#[derive(Serialize)]
struct ThemeChoice {
    name: String,
    selected: bool,
}

impl Wiki {
    /// `GET /+prefs`.
    pub(crate) fn prefs_form(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        self.prefs_page(exchange, StatusCode::OK, None, None)
    }

    fn prefs_page(
        &self,
        exchange: &Exchange,
        status: StatusCode,
        message: Option<String>,
        error: Option<String>,
    ) -> Result<Response, WikiError> {
        self.prefs_page_with_token(exchange, status, message, error, None)
    }

    fn prefs_page_with_token(
        &self,
        exchange: &Exchange,
        status: StatusCode,
        message: Option<String>,
        error: Option<String>,
        new_token: Option<String>,
    ) -> Result<Response, WikiError> {
        let now = crate::wiki::plumbing::viewer::unix_now();
        let tokens = match &exchange.viewer.name {
            Some(name) => self
                .storage
                .api_tokens(name)?
                .into_iter()
                .map(|token| TokenRow {
                    expired: token.expired_at(now),
                    id: token.id,
                    label: token.label,
                    scope: token.scope.as_str(),
                    created: token.created,
                    expires: token.expires,
                    last_used: token.last_used,
                })
                .collect(),
            None => Vec::new(),
        };
        let viewer = &exchange.viewer;
        let chosen = viewer.prefs.theme.as_deref().unwrap_or("");
        let themes = self
            .themes
            .names()?
            .into_iter()
            .map(|name| ThemeChoice {
                selected: name == chosen,
                name,
            })
            .collect();
        let view = PrefsView {
            layout: self.layout(exchange, "Preferences", None),
            form_url: exchange.urls.to(&Route::Prefs),
            themes,
            is_known: viewer.is_known(),
            display_name: if viewer.is_known() {
                viewer.display_name.clone()
            } else {
                String::new()
            },
            email: viewer.prefs.email.clone(),
            message,
            error,
            tokens,
            new_token,
            api_docs_url: exchange
                .urls
                .api(&crate::wiki::plumbing::api_routes::ApiRoute::OpenApi),
        };
        self.html(status, "prefs.html", view)
    }

    /// `POST /+prefs`: `action=prefs` stores the theme (and an account's display name and email),
    /// `action=password` changes an account's password, `action=logout_everywhere` ends every
    /// session of the account.
    pub(crate) fn save_prefs(&self, exchange: &mut Exchange) -> Result<Response, WikiError> {
        let body = exchange.request.body_mut().read_to_vec()?;
        let form = gateway::form::Form::parse(&body)?;
        match form.get("action").unwrap_or("prefs") {
            "prefs" => self.store_prefs(exchange, &form),
            "password" => self.change_password(exchange, &form),
            "logout_everywhere" => self.log_out_everywhere(exchange),
            "token_create" => self.create_token(exchange, &form),
            "token_revoke" => self.revoke_token(exchange, &form),
            other => Err(HttpError::bad_request(format!(
                "Unknown form action \u{201c}{other}\u{201d}."
            ))
            .into()),
        }
    }

    fn store_prefs(
        &self,
        exchange: &mut Exchange,
        form: &gateway::form::Form,
    ) -> Result<Response, WikiError> {
        let theme = match form.get("theme").unwrap_or("").trim() {
            "" => None,
            name if self.themes.names()?.iter().any(|known| known == name) => Some(name.to_owned()),
            name => {
                return Err(HttpError::bad_request(format!(
                    "There is no theme called \u{201c}{name}\u{201d}."
                ))
                .into())
            }
        };
        let session = session(exchange)?;
        match theme.as_deref() {
            Some(name) => session.set(SESSION_THEME, name),
            None => session.remove(SESSION_THEME),
        }
        if let Some(name) = exchange.viewer.name.clone() {
            let display_name = form.get("display_name").unwrap_or("").to_owned();
            let email = form.get("email").unwrap_or("").to_owned();
            match self.storage.set_prefs(
                &name,
                &UserPrefs {
                    display_name: &display_name,
                    email: &email,
                    theme: theme.as_deref(),
                },
            ) {
                Ok(()) => {}
                Err(UserError::Storage(err)) => return Err(err.into()),
                Err(err) => {
                    return self.prefs_page(
                        exchange,
                        StatusCode::BAD_REQUEST,
                        None,
                        Some(err.to_string()),
                    )
                }
            }
            if let Some(user) = self.storage.user(&name)? {
                exchange.viewer = Viewer::account(&user, exchange.viewer.address.clone());
            }
        }
        exchange.viewer.prefs.theme = theme;
        self.prefs_page(
            exchange,
            StatusCode::OK,
            Some("Preferences saved.".to_owned()),
            None,
        )
    }

    fn change_password(
        &self,
        exchange: &Exchange,
        form: &gateway::form::Form,
    ) -> Result<Response, WikiError> {
        let name = account_name(exchange, "change your password")?;
        let refuse = |status: StatusCode, why: &str| {
            self.prefs_page(exchange, status, None, Some(why.to_owned()))
        };
        let new = form.get("new_password").unwrap_or("");
        if new != form.get("new_password2").unwrap_or("") {
            return refuse(StatusCode::BAD_REQUEST, "The two new passwords differ.");
        }
        if let Err(err) = storage::users::check_password(new) {
            return refuse(StatusCode::BAD_REQUEST, &err.to_string());
        }
        // The current password goes through the same throttled check as a login, so this form
        // cannot be used to guess it faster.
        let outcome = self.storage.log_in(&LoginAttempt {
            name: &name,
            password: form.get("current_password").unwrap_or(""),
            address: &exchange.viewer.address,
            device: super::login::device_token(exchange),
            time: None,
        })?;
        match outcome {
            LoginOutcome::LoggedIn(_) => {}
            LoginOutcome::Throttled { retry_after } => {
                let mut response = refuse(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("Too many wrong passwords. Try again in {retry_after} seconds."),
                )?;
                response.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from(retry_after),
                );
                return Ok(response);
            }
            LoginOutcome::Failed | LoginOutcome::Disabled => {
                return refuse(StatusCode::FORBIDDEN, "The current password is wrong.")
            }
        }
        match self.storage.set_password(&name, new) {
            Ok(()) => {}
            Err(UserError::Storage(err)) => return Err(err.into()),
            Err(err) => return refuse(StatusCode::BAD_REQUEST, &err.to_string()),
        }
        // The new password ended every session of the account, this one too: open it again.
        if let Some(user) = self.storage.user(&name)? {
            log_in(session(exchange)?, &user)?;
        }
        tracing::info!(user = %name, "changed their password");
        self.prefs_page(
            exchange,
            StatusCode::OK,
            Some("Password changed.".to_owned()),
            None,
        )
    }

    /// `action=token_create`: a token labelled `label`, of `scope` (`read` or `write`), expiring
    /// after `expires_days` (empty: never), shown once on the page this answers with.
    fn create_token(
        &self,
        exchange: &Exchange,
        form: &gateway::form::Form,
    ) -> Result<Response, WikiError> {
        let name = account_name(exchange, "make an API token")?;
        let refuse = |why: &str| {
            self.prefs_page(
                exchange,
                StatusCode::BAD_REQUEST,
                None,
                Some(why.to_owned()),
            )
        };
        let scope = match form.get("scope").unwrap_or("read") {
            "read" => TokenScope::Read,
            "write" => TokenScope::Write,
            _ => return refuse("A token may read, or read and write."),
        };
        let expires = match form.get("expires_days").map(str::trim).unwrap_or("") {
            "" => None,
            days => match days.parse::<i64>() {
                Ok(days @ 1..=MAX_TOKEN_DAYS) => {
                    Some(crate::wiki::plumbing::viewer::unix_now() + days * 86_400)
                }
                _ => {
                    return refuse(&format!(
                    "A token expires after 1 to {MAX_TOKEN_DAYS} days, or never (leave it empty)."
                ))
                }
            },
        };
        let made = self.storage.create_api_token(&NewApiToken {
            user: &name,
            label: form.get("label").unwrap_or(""),
            scope,
            expires,
        });
        let made = match made {
            Ok(made) => made,
            Err(ApiTokenError::Storage(err)) => return Err(err.into()),
            Err(err) => return refuse(&err.to_string()),
        };
        tracing::info!(user = %name, token = made.token.id, scope = scope.as_str(), "made an API token");
        self.prefs_page_with_token(
            exchange,
            StatusCode::OK,
            Some(format!("Token \u{201c}{}\u{201d} made.", made.token.label)),
            None,
            Some(made.secret),
        )
    }

    /// `action=token_revoke`: the account's token `token` works no more.
    fn revoke_token(
        &self,
        exchange: &Exchange,
        form: &gateway::form::Form,
    ) -> Result<Response, WikiError> {
        let name = account_name(exchange, "revoke a token")?;
        let id = form
            .get("token")
            .and_then(|id| id.parse::<i64>().ok())
            .ok_or_else(|| HttpError::bad_request("The form names no token to revoke."))?;
        if !self.storage.revoke_api_token(&name, id)? {
            return Err(HttpError::not_found("You have no such token (revoked already?).").into());
        }
        tracing::info!(user = %name, token = id, "revoked an API token");
        self.prefs_page(
            exchange,
            StatusCode::OK,
            Some("Token revoked.".to_owned()),
            None,
        )
    }

    fn log_out_everywhere(&self, exchange: &mut Exchange) -> Result<Response, WikiError> {
        let Some(name) = exchange.viewer.name.clone() else {
            return Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "Log in to end your account's sessions.",
            )
            .into());
        };
        match self.storage.end_sessions(&name) {
            // Gone since this request began: its sessions ended with it.
            Ok(()) | Err(UserError::NoSuchUser(_)) => {}
            Err(UserError::Storage(err)) => return Err(err.into()),
            Err(err) => return Err(HttpError::internal(err).into()),
        }
        // The raised epoch has ended this session as well; clearing it says so to the browser.
        session(exchange)?.clear();
        exchange.viewer = Viewer::anonymous(exchange.viewer.address.clone(), None);
        tracing::info!(user = %name, "logged out everywhere");
        self.prefs_page(
            exchange,
            StatusCode::OK,
            Some("You are logged out everywhere.".to_owned()),
            None,
        )
    }
}

/// The logged-in viewer's account name; a 403 asking them to log in to `to` if there is none.
fn account_name(exchange: &Exchange, to: &str) -> Result<String, WikiError> {
    exchange
        .viewer
        .name
        .clone()
        .ok_or_else(|| HttpError::new(StatusCode::FORBIDDEN, format!("Log in to {to}.")).into())
}
