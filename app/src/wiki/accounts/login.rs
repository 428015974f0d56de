//! Logging in and out, and registering: `/+login`, `/+logout`, `/+register`.
//!
//! A failed login never says whether the name exists ("wrong name or password", the same status, and
//! storage spends the same hashing work on unknown names). Failures are throttled in storage per
//! account name and per client address, across processes; the address is the one the gateway
//! resolved (behind a `trusted_proxies` proxy, the client's own, so one proxy's clients are not
//! throttled together). A throttled attempt is answered 429 with `Retry-After` and its password is
//! not checked.
//!
//! The rule that keeps an owner from being locked out by whoever guesses at their account (OWASP's
//! "device cookies"): every successful login or registration sets [`DEVICE_COOKIE`], a long-lived
//! cookie holding a random token storage remembers for that account
//! ([`storage::Storage::remember_device`]). While the account (or the address) is over its limit of
//! failures, a login that brings a valid device cookie *for the account it names* is still checked;
//! one without (the attacker's) is refused with 429 and a message saying to log in from a browser
//! used before. A device cookie is used up after ten wrong passwords sent with it, so stealing one
//! buys ten guesses. The cookie is `HttpOnly`, `SameSite=Lax` and `Secure` over https, like the
//! session's, and is kept across logouts: it names a browser, not a session.
//!
//! Passwords are only ever read from the form body:
//! they are not logged (the request log line has the method and path only) and never put in a
//! template context.

use gateway::session::Session;
use gateway::{HttpError, Response};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use storage::{AuditKind, LoginAttempt, LoginOutcome, NewUser, Role, UserError};

use crate::config::Registration;
use crate::wiki::metrics::Event;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::respond::redirect_see_other;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::plumbing::viewer::{log_in, log_out};
use crate::wiki::{Exchange, Wiki, WikiError};

/// The device cookie's name (see the module docs).
pub(crate) const DEVICE_COOKIE: &str = "quire_device";

#[derive(Serialize)]
struct LoginView {
    #[serde(flatten)]
    layout: Layout,
    form_url: String,
    next: String,
    name: String,
    message: Option<String>,
    register_url: Option<String>,
}

#[derive(Serialize)]
struct RegisterView {
    #[serde(flatten)]
    layout: Layout,
    form_url: String,
    /// `open` or `invite` (a closed wiki shows an error page instead).
    mode: &'static str,
    name: String,
    display_name: String,
    email: String,
    invite: String,
    message: Option<String>,
    /// The wiki has no account yet and registration is open: the account made here becomes its admin.
    first_admin: bool,
}

impl Wiki {
    /// `GET /+login`: the form.
    pub(crate) fn login_form(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let next = next_target(exchange, exchange.query()?.get("next"));
        self.login_page(exchange, StatusCode::OK, next, String::new(), None)
    }

    fn login_page(
        &self,
        exchange: &Exchange,
        status: StatusCode,
        next: String,
        name: String,
        message: Option<String>,
    ) -> Result<Response, WikiError> {
        let view = LoginView {
            layout: self.layout(exchange, "Log in", None),
            form_url: exchange.urls.to(&Route::Login),
            next,
            name,
            message,
            register_url: (self.settings.registration != Registration::Closed)
                .then(|| exchange.urls.to(&Route::Register)),
        };
        self.html(status, "login.html", view)
    }

    /// `POST /+login`.
    pub(crate) fn login(&self, exchange: &mut Exchange) -> Result<Response, WikiError> {
        let body = exchange.request.body_mut().read_to_vec()?;
        let form = gateway::form::Form::parse(&body)?;
        let name = form.get("name").unwrap_or("").trim().to_owned();
        let password = form.get("password").unwrap_or("");
        let next = next_target(exchange, form.get("next"));
        let outcome = self.storage.log_in(&LoginAttempt {
            name: &name,
            password,
            address: &exchange.viewer.address,
            device: device_token(exchange),
            time: None,
        })?;
        match outcome {
            LoginOutcome::LoggedIn(user) => {
                log_in(session(exchange)?, &user)?;
                tracing::info!(user = %user.name, "logged in");
                let mut response = redirect_see_other(&next);
                self.remember_device(exchange, &user.name, &mut response)?;
                Ok(response)
            }
            LoginOutcome::Failed => {
                tracing::info!(address = %exchange.viewer.address, "a login failed");
                self.audit(&exchange.viewer, AuditKind::LoginFailed, &name, "");
                self.login_page(
                    exchange,
                    StatusCode::FORBIDDEN,
                    next,
                    name,
                    Some("Wrong name or password.".to_owned()),
                )
            }
            LoginOutcome::Disabled => self.login_page(
                exchange,
                StatusCode::FORBIDDEN,
                next,
                name,
                Some("This account is disabled. Ask an admin to enable it.".to_owned()),
            ),
            LoginOutcome::Throttled { retry_after } => {
                tracing::warn!(address = %exchange.viewer.address, "login attempts throttled");
                self.metrics.count(Event::ThrottledLogin);
                let detail = format!("retry after {retry_after} s");
                self.audit(&exchange.viewer, AuditKind::LoginThrottled, &name, &detail);
                let mut response = self.login_page(
                    exchange,
                    StatusCode::TOO_MANY_REQUESTS,
                    next,
                    name,
                    Some(format!(
                        "Too many failed logins for this account or from this address. Log in from a browser you have logged in from before, or try again in {retry_after} seconds."
                    )),
                )?;
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                Ok(response)
            }
        }
    }

    /// `POST /+logout`: ends the session (and its CSRF token) for good, copies of its cookie
    /// included, back to the front page.
    pub(crate) fn logout(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        log_out(session(exchange)?, &self.storage)?;
        Ok(redirect_see_other(&exchange.urls.root()))
    }

    /// `GET /+register`.
    pub(crate) fn register_form(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let mode = self.registration_mode()?;
        let invite = exchange.query()?.get("invite").unwrap_or("").to_owned();
        self.register_page(
            exchange,
            StatusCode::OK,
            mode,
            RegisterFields {
                invite,
                ..RegisterFields::default()
            },
            None,
        )
    }

    /// `POST /+register`: creates the account and logs it in.
    pub(crate) fn register(&self, exchange: &mut Exchange) -> Result<Response, WikiError> {
        let mode = self.registration_mode()?;
        let body = exchange.request.body_mut().read_to_vec()?;
        let form = gateway::form::Form::parse(&body)?;
        let field = |key: &str| form.get(key).unwrap_or("").trim().to_owned();
        let fields = RegisterFields {
            name: field("name"),
            display_name: field("display_name"),
            email: field("email"),
            invite: field("invite"),
        };
        let password = form.get("password").unwrap_or("");
        let honeypot = form
            .get(crate::spam::HONEYPOT_FIELD)
            .is_some_and(|value| !value.is_empty());
        // Before the password is hashed: refusing a robot should cost it more than us.
        if let Some(refusal) = self.judge_registration(exchange, honeypot)? {
            let message = refusal.message("registered");
            let mut response =
                self.register_page(exchange, refusal.status(), mode, fields, Some(message))?;
            refusal.mark(&mut response);
            return Ok(response);
        }
        if password != form.get("password2").unwrap_or("") {
            return self.register_page(
                exchange,
                StatusCode::BAD_REQUEST,
                mode,
                fields,
                Some("The two passwords differ.".to_owned()),
            );
        }
        let reserved = self.reserved_account_names()?;
        let reserved: Vec<&str> = reserved.iter().map(String::as_str).collect();
        let new = NewUser {
            name: &fields.name,
            display_name: Some(&fields.display_name),
            email: &fields.email,
            role: Role::User,
            password,
            invite: (mode == Registration::Invite).then_some(fields.invite.as_str()),
            reserved: &reserved,
        };
        // On an open wiki the first account is its admin (one transaction decides, so two people
        // racing cannot both be); an invite-only wiki already has the admin who made the code.
        let created = match mode {
            Registration::Open => self.storage.create_user_first_admin(&new),
            Registration::Invite | Registration::Closed => self.storage.create_user(&new),
        };
        let user = match created {
            Ok(user) => user,
            Err(UserError::Storage(err)) => return Err(err.into()),
            Err(err) => {
                let status = match err {
                    UserError::NameTaken(_) | UserError::LooksLike { .. } => StatusCode::CONFLICT,
                    UserError::BadInvite => StatusCode::FORBIDDEN,
                    _ => StatusCode::BAD_REQUEST,
                };
                let message = capitalise(&err.to_string());
                return self.register_page(exchange, status, mode, fields, Some(message));
            }
        };
        log_in(session(exchange)?, &user)?;
        tracing::info!(user = %user.name, "registered an account");
        let detail = match mode {
            Registration::Invite => "with an invitation",
            Registration::Open | Registration::Closed => "",
        };
        self.audit(&exchange.viewer, AuditKind::Register, &user.name, detail);
        // The first admin lands on the admin page, which is theirs now.
        let landing = match user.role {
            Role::Admin => exchange.urls.to(&Route::Admin),
            Role::User => exchange.urls.root(),
        };
        let mut response = redirect_see_other(&landing);
        self.remember_device(exchange, &user.name, &mut response)?;
        Ok(response)
    }

    /// Sets the device cookie for the account `name` just logged in to, renewing the browser's
    /// token when it already had one for it.
    fn remember_device(
        &self,
        exchange: &Exchange,
        name: &str,
        response: &mut Response,
    ) -> Result<(), WikiError> {
        let token = self.storage.remember_device(name, device_token(exchange))?;
        let lifetime = u64::try_from(storage::users::DEVICE_LIFETIME_SECS).unwrap_or(0);
        let cookie = gateway::cookies::set_cookie(
            DEVICE_COOKIE,
            &token,
            &gateway::cookies::path(exchange.request.mount()),
            std::time::Duration::from_secs(lifetime),
            exchange.request.environ().scheme == gateway::Scheme::Https,
        )
        .map_err(HttpError::internal)?;
        response.headers_mut().append(header::SET_COOKIE, cookie);
        Ok(())
    }

    fn registration_mode(&self) -> Result<Registration, WikiError> {
        match self.settings.registration {
            Registration::Closed if !self.storage.has_users()? => Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "This wiki does not take registrations, and it has no account yet: its first admin is made on the server, with quire user add NAME --admin.",
            )
            .into()),
            Registration::Closed => Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "This wiki does not take registrations. Ask an admin for an account.",
            )
            .into()),
            mode @ (Registration::Open | Registration::Invite) => Ok(mode),
        }
    }

    fn register_page(
        &self,
        exchange: &Exchange,
        status: StatusCode,
        mode: Registration,
        fields: RegisterFields,
        message: Option<String>,
    ) -> Result<Response, WikiError> {
        let view = RegisterView {
            layout: self.layout(exchange, "Create an account", None),
            form_url: exchange.urls.to(&Route::Register),
            mode: mode.as_str(),
            name: fields.name,
            display_name: fields.display_name,
            email: fields.email,
            invite: fields.invite,
            message,
            first_admin: mode == Registration::Open && !self.storage.has_users()?,
        };
        self.html(status, "register.html", view)
    }
}

#[derive(Default)]
struct RegisterFields {
    name: String,
    display_name: String,
    email: String,
    invite: String,
}

/// The request's session. Every mode serves the wiki inside the session middleware, so a missing one
/// is a wiring bug: a 500, not a silent failure to log in.
pub(crate) fn session(exchange: &Exchange) -> Result<&Session, WikiError> {
    exchange
        .request
        .extensions()
        .get::<Session>()
        .ok_or_else(|| {
            HttpError::internal(std::io::Error::other(
                "the wiki is served without the session middleware",
            ))
            .into()
        })
}

/// The token of the device cookie the browser sent, if any: storage checks whether it is one of the
/// account's.
pub(crate) fn device_token(exchange: &Exchange) -> Option<&str> {
    gateway::cookies::value(exchange.request.headers(), DEVICE_COOKIE)
}

/// Where to go after logging in: `next` if it is a path inside this wiki, else the front page. Anything
/// else (another host, `//host`, a scheme) would make the login form an open redirect.
fn next_target(exchange: &Exchange, next: Option<&str>) -> String {
    let root = exchange.urls.root();
    match next {
        Some(next)
            if next.starts_with(&root)
                && !next.starts_with("//")
                && !next.contains('\\')
                && !next.chars().any(char::is_control) =>
        {
            next.to_owned()
        }
        _ => root,
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::capitalise;

    #[test]
    fn messages_become_sentences() {
        assert_eq!(capitalise("the name is empty"), "The name is empty.");
        assert_eq!(capitalise(""), "");
    }
}
