//! Logging in and out, and registering: `/+login`, `/+logout`, `/+register`.
//!
//! A failed login never says whether the name exists ("wrong name or password", the same status, and
//! storage spends the same hashing work on unknown names). Failures are throttled in storage per
//! account name and per address, across processes; a throttled attempt is answered 429 with
//! `Retry-After` and its password is not checked. Passwords are only ever read from the form body:
//! they are not logged (the request log line has the method and path only) and never put in a
//! template context.

use gateway::session::Session;
use gateway::{HttpError, Response};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use storage::{LoginAttempt, LoginOutcome, NewUser, Role, UserError};

use crate::config::Registration;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::respond::redirect_see_other;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::plumbing::viewer::{log_in, log_out};
use crate::wiki::{Exchange, Wiki, WikiError};

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
            time: None,
        })?;
        match outcome {
            LoginOutcome::LoggedIn(user) => {
                log_in(session(exchange)?, &user)?;
                tracing::info!(user = %user.name, "logged in");
                Ok(redirect_see_other(&next))
            }
            LoginOutcome::Failed => {
                tracing::info!(address = %exchange.viewer.address, "a login failed");
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
                let mut response = self.login_page(
                    exchange,
                    StatusCode::TOO_MANY_REQUESTS,
                    next,
                    name,
                    Some(format!(
                        "Too many failed logins for this account or from this address. Try again in {retry_after} seconds."
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
        let reserved = self.acl.reserved_names();
        let created = self.storage.create_user(&NewUser {
            name: &fields.name,
            display_name: Some(&fields.display_name),
            email: &fields.email,
            role: Role::User,
            password,
            invite: (mode == Registration::Invite).then_some(fields.invite.as_str()),
            reserved: &reserved,
        });
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
        Ok(redirect_see_other(&exchange.urls.root()))
    }

    fn registration_mode(&self) -> Result<Registration, WikiError> {
        match self.settings.registration {
            Registration::Closed => Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "This wiki does not take registrations. Ask an admin for an account.",
            )
            .into()),
            mode => Ok(mode),
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
