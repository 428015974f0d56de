//! The JSON API, `/+api/v1/…`: what scripts and CI read and write, described by `openapi.json`.
//!
//! **Who is asking.** A request with `Authorization: Bearer <token>` acts as the token's account and
//! nothing else: its session cookie, if any, is ignored, and a token that is unknown, revoked,
//! expired or whose account is disabled is a 401 (with `WWW-Authenticate: Bearer`), never a
//! quiet fall back to anonymous. A request without the header is the session's viewer or an
//! anonymous reader, as the HTML pages are, so reading through the API needs nothing the wiki
//! would not show anyway. ACLs then apply exactly as they do for that viewer: each API route has its
//! row in the route table ([`Route::row`]) and dispatch makes the same one check
//! (`Wiki::check_route`).
//!
//! **Writes need a bearer token.** A PUT without one is a 401, even with a session and the CSRF
//! token, so that a browser's ambient credentials never write through the API; and the gateway's
//! CSRF check lets a state-changing request through without its token only under `/+api/` and only
//! with a bearer header (`gateway::middleware::Csrf::bearer_paths`, which says why that is safe). A
//! read-only token's PUT is a 403.
//!
//! **Limits.** Each token may make `api_requests_per_minute` requests a minute, and each address may
//! send `api_token_failures_per_hour` bad tokens (`[spam]` in `quire.toml`). Bad tokens are counted
//! in the database's rate table (`storage::spam`): a write only when a request fails, so it holds
//! in every mode and costs good requests nothing. A token's requests are counted in memory by a
//! long-running process (`RequestLimits`), in a window of the clock's minute: counting them in
//! the database cost a write transaction (an fsync) per request, which made a token's reads some 15
//! times slower under `quire serve`. The price is that several long-running processes on one
//! wiki (FastCGI workers spawned by the web server) each allow the limit. A CGI process, which
//! remembers nothing, counts in the database's rate table, where one more write costs little
//! beside starting the process. A token's last use is written at most once a minute.
//!
//! **Answers.** JSON made with serde_json; errors are `application/problem+json` (RFC 9457) with
//! `type`, `title`, `status` and `detail`, made from the same [`WikiError`] statuses and messages
//! the HTML pages show. Every response is marked private and varies by `Authorization` too.

mod files;
mod listings;
mod pages;

use gateway::middleware::{CsrfRefused, RefusalDrawn};
use gateway::{ErrorReport, HttpError, Request, Response};
use http::header::{self, HeaderValue};
use http::StatusCode;
use serde::Serialize;
use storage::{RateLimit, RateOutcome, TokenScope};

use crate::wiki::plumbing::api_routes::ApiRoute;
use crate::wiki::plumbing::respond::typed_response;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::plumbing::urls::Urls;
use crate::wiki::plumbing::viewer::Viewer;
use crate::wiki::{Exchange, Wiki, WikiError};

/// The OpenAPI 3.1 description of every API route, served at `/+api/v1/openapi.json`; a test
/// holds it against the route table.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The media type of an error (RFC 9457).
const PROBLEM_JSON: &str = "application/problem+json";

/// The path every API address starts with, below the mount: what the gateway's CSRF check lets a
/// bearer token through under.
pub fn bearer_paths() -> String {
    crate::wiki::plumbing::api_routes::path_prefix()
}

/// A long-running process's count of each token's requests in the current minute; a CGI process
/// counts in the database instead (see the module doc).
pub(crate) struct RequestLimits {
    /// Token id → (minute, requests in it); `None`: count in the database.
    in_memory: Option<std::sync::Mutex<std::collections::HashMap<i64, (i64, u64)>>>,
}

impl RequestLimits {
    /// How many tokens' counts are kept before those of past minutes are dropped.
    const KEPT: usize = 10_000;

    /// Limits for a process that answers as many requests as `lifetime` says.
    pub(crate) fn new(lifetime: crate::wiki::Lifetime) -> RequestLimits {
        let in_memory = match lifetime {
            crate::wiki::Lifetime::ManyRequests => Some(std::sync::Mutex::default()),
            crate::wiki::Lifetime::OneRequest => None,
        };
        RequestLimits { in_memory }
    }

    /// Counts one request of `token` at `now` (unix seconds) unless it made `max` in this minute
    /// already: then the seconds until the next minute. `None` when this process does not count.
    fn take(&self, token: i64, max: u64, now: i64) -> Option<Result<(), u64>> {
        let counts = self.in_memory.as_ref()?;
        let mut counts = counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let minute = now.div_euclid(60);
        if counts.len() >= Self::KEPT {
            counts.retain(|_, (at, _)| *at == minute);
        }
        let count = counts.entry(token).or_insert((minute, 0));
        if count.0 != minute {
            *count = (minute, 0);
        }
        if count.1 >= max {
            let wait = u64::try_from(60 - now.rem_euclid(60)).unwrap_or(1);
            return Some(Err(wait.max(1)));
        }
        count.1 += 1;
        Some(Ok(()))
    }
}

/// How a request is authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Credential {
    /// Its session, or none: it may read what the viewer may, and write nothing.
    Session,
    /// A bearer token of this scope.
    Token(TokenScope),
}

/// An error as RFC 9457 writes it, with the headers and the logged cause of its response.
#[derive(Debug)]
pub(crate) struct Problem {
    /// Boxed, since a `Result` carries its error by value through every call.
    json: Box<ProblemJson>,
    headers: Vec<(header::HeaderName, HeaderValue)>,
    cause: Option<ErrorReport>,
}

/// A problem's body, with the extra members a conflict carries.
#[derive(Debug, Serialize)]
struct ProblemJson {
    /// A URI naming the kind of problem; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    kind: &'static str,
    title: String,
    status: u16,
    detail: String,
    /// Members only some problems have (a conflict's texts).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    extra: Option<serde_json::Value>,
}

impl Problem {
    fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem {
            json: Box::new(ProblemJson {
                kind: "about:blank",
                title: status.canonical_reason().unwrap_or("Error").to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                extra: None,
            }),
            headers: Vec::new(),
            cause: None,
        }
    }

    /// A 401 that asks for a bearer token; `error` is RFC 6750's code, when the request sent one.
    fn unauthorized(error: Option<&str>, detail: impl Into<String>) -> Problem {
        let challenge = match error {
            Some(error) => format!("Bearer realm=\"quire\", error=\"{error}\""),
            None => "Bearer realm=\"quire\"".to_owned(),
        };
        let mut problem = Problem::new(StatusCode::UNAUTHORIZED, detail);
        if let Ok(value) = HeaderValue::try_from(challenge) {
            problem.headers.push((header::WWW_AUTHENTICATE, value));
        }
        problem
    }

    fn too_many(detail: &str, retry_after: u64) -> Problem {
        let mut problem = Problem::new(StatusCode::TOO_MANY_REQUESTS, detail);
        problem
            .headers
            .push((header::RETRY_AFTER, HeaderValue::from(retry_after)));
        problem
    }

    /// A 503 of a server too busy to render now.
    fn too_many_or_busy(retry_after: u64) -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The wiki is busy rendering other pages. Nothing was saved; try again shortly.",
        )
        .with_header(header::RETRY_AFTER, HeaderValue::from(retry_after))
    }

    fn with_header(mut self, name: header::HeaderName, value: HeaderValue) -> Problem {
        self.headers.push((name, value));
        self
    }

    fn response(self) -> Response {
        let body = serde_json::to_vec(&self.json).unwrap_or_default();
        let mut response = typed_response(body, PROBLEM_JSON);
        *response.status_mut() =
            StatusCode::from_u16(self.json.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(cause);
        }
        response
    }
}

impl From<WikiError> for Problem {
    fn from(err: WikiError) -> Problem {
        let http = err.into_http();
        let mut problem = Problem::new(http.status(), http.message());
        if let Some(seconds) = http.retry_after() {
            problem = problem.with_header(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        problem.cause = http.cause().cloned();
        problem
    }
}

impl From<HttpError> for Problem {
    fn from(err: HttpError) -> Problem {
        Problem::from(WikiError::from(err))
    }
}

/// A JSON answer with `status`.
pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Result<Response, WikiError> {
    let body = serde_json::to_vec(value).map_err(HttpError::internal)?;
    let mut response = typed_response(body, "application/json");
    *response.status_mut() = status;
    Ok(response)
}

impl Wiki {
    /// The answer to a request under `/+api/`, whatever it is: JSON, or a problem.
    pub(crate) fn api_answer(&self, request: Request) -> Response {
        let urls = Urls::new(request.mount());
        let refused = request.extensions().get::<CsrfRefused>().is_some();
        let mut response = match self.authenticate(&request) {
            Ok((viewer, credential)) => {
                let mut exchange = Exchange {
                    request,
                    urls,
                    viewer,
                };
                self.api_dispatch(&mut exchange, credential, refused)
                    .unwrap_or_else(|problem| problem.response())
            }
            Err(problem) => problem.response(),
        };
        // A write the CSRF check refused gets this answer (a 401), not the gateway's bare 403.
        if refused {
            response.extensions_mut().insert(RefusalDrawn);
        }
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Authorization"));
        response
    }

    /// Who is asking, and how they proved it (see the module doc).
    fn authenticate(&self, request: &Request) -> Result<(Viewer, Credential), Problem> {
        let address = request
            .remote_addr()
            .map_or_else(|| "unknown".to_owned(), |addr| addr.to_string());
        let mut sent = request.headers().get_all(header::AUTHORIZATION).iter();
        let Some(authorization) = sent.next() else {
            let viewer = Viewer::of(request, &self.storage).map_err(WikiError::from)?;
            return Ok((viewer, Credential::Session));
        };
        let secret = authorization
            .to_str()
            .ok()
            .and_then(|value| value.get(..7).zip(value.get(7..)))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer "))
            .map(|(_, secret)| secret.trim())
            .filter(|secret| !secret.is_empty() && sent.next().is_none());
        let Some(secret) = secret else {
            return Err(Problem::unauthorized(
                Some("invalid_request"),
                "The API takes one Authorization header, of the Bearer scheme: Authorization: Bearer <token>.",
            ));
        };
        self.token_viewer(secret, address)
    }

    /// The account a bearer token acts as, within its limits.
    fn token_viewer(&self, secret: &str, address: String) -> Result<(Viewer, Credential), Problem> {
        let now = crate::wiki::plumbing::viewer::unix_now();
        let found = self.storage.api_token(secret).map_err(WikiError::from)?;
        let valid = found.filter(|(token, user)| !token.expired_at(now) && !user.disabled);
        let Some((token, user)) = valid else {
            self.take_slot(
                "api-token-failure",
                &address,
                self.settings.spam.api_token_failures_per_hour,
                3600,
                "Too many requests with bad API tokens came from your address. Try again later.",
            )?;
            return Err(Problem::unauthorized(
                Some("invalid_token"),
                "This API token is unknown, revoked or expired, or its account is disabled. Make a new one in your preferences (/+prefs).",
            ));
        };
        let per_minute = self.settings.spam.api_requests_per_minute;
        let too_many = "This API token made too many requests in the last minute (api_requests_per_minute). Try again later.";
        if per_minute > 0 {
            match self.api_limits.take(token.id, per_minute, now) {
                Some(Ok(())) => {}
                Some(Err(retry_after)) => return Err(Problem::too_many(too_many, retry_after)),
                None => {
                    self.take_slot("api-token", &token.id.to_string(), per_minute, 60, too_many)?;
                }
            }
        }
        // Only a record: a use that cannot be written is still answered.
        if let Err(err) = self.storage.api_token_used(&token, now) {
            tracing::warn!(error = %err, "could not record an API token's use");
        }
        Ok((
            Viewer::account(&user, address),
            Credential::Token(token.scope),
        ))
    }

    /// Counts one `kind` action of `key`, at most `max` (0: no limit) within `window_secs`; past it
    /// a 429 saying `refusal`, with `Retry-After`.
    fn take_slot(
        &self,
        kind: &str,
        key: &str,
        max: u64,
        window_secs: i64,
        refusal: &str,
    ) -> Result<(), Problem> {
        if max == 0 {
            return Ok(());
        }
        let limit = RateLimit {
            kind,
            key,
            max,
            window_secs,
            time: None,
        };
        match self
            .storage
            .take_rate_slot(&limit)
            .map_err(WikiError::from)?
        {
            RateOutcome::Allowed => Ok(()),
            RateOutcome::Limited { retry_after } => Err(Problem::too_many(refusal, retry_after)),
        }
    }

    /// The route's answer, once the viewer is known: the method, the credential a write needs, the
    /// route's rights, then the controller.
    fn api_dispatch(
        &self,
        exchange: &mut Exchange,
        credential: Credential,
        refused: bool,
    ) -> Result<Response, Problem> {
        self.check_host(&exchange.request)?;
        let method = exchange.request.method().clone();
        let route = Route::parse(exchange.request.path_info())?.for_method(&method);
        let Route::Api(api) = route.clone() else {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                "This is no API address.",
            ));
        };
        if refused {
            return Err(needs_token());
        }
        if route.changes_pages() {
            match credential {
                Credential::Session => return Err(needs_token()),
                Credential::Token(TokenScope::Read) => {
                    return Err(Problem::new(
                        StatusCode::FORBIDDEN,
                        "This API token may only read. Make a token that may write in your preferences (/+prefs).",
                    ))
                }
                Credential::Token(TokenScope::Write) => {}
            }
        }
        self.check_route(&exchange.viewer, &route)?;
        let methods = route.methods();
        if !methods.allows(&method) {
            return Err(Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "This address does not take that method.",
            )
            .with_header(header::ALLOW, HeaderValue::from_static(methods.allow())));
        }
        let answer = match api {
            ApiRoute::Page(name) => self.api_page(exchange, &name),
            ApiRoute::SavePage(name) => return self.api_save(exchange, &name),
            ApiRoute::History(name) => self.api_history(exchange, &name),
            ApiRoute::Revision(name, rev) => self.api_revision(exchange, &name, rev),
            ApiRoute::File(file) => self.download(exchange, &file),
            ApiRoute::SaveFile(file) => self.api_put_file(exchange, &file),
            ApiRoute::Recent => self.api_recent(exchange),
            ApiRoute::Search => self.api_search(exchange),
            ApiRoute::Index => self.api_index(exchange),
            ApiRoute::OpenApi => Ok(typed_response(OPENAPI, "application/json")),
        };
        answer.map_err(Problem::from)
    }
}

/// The 401 of a write without a bearer token.
fn needs_token() -> Problem {
    Problem::unauthorized(
        None,
        "Writing through the API needs a bearer token that may write: make one in your preferences (/+prefs) or with `quire user token`, and send it as Authorization: Bearer <token>.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_running_process_counts_each_token_by_the_minute_and_cgi_does_not() {
        let limits = RequestLimits::new(crate::wiki::Lifetime::ManyRequests);
        let minute = 60 * 1000;
        assert_eq!(limits.take(1, 2, minute), Some(Ok(())));
        assert_eq!(limits.take(1, 2, minute + 10), Some(Ok(())));
        assert_eq!(limits.take(1, 2, minute + 15), Some(Err(45)));
        assert_eq!(
            limits.take(2, 2, minute + 15),
            Some(Ok(())),
            "each token apart"
        );
        assert_eq!(limits.take(1, 2, minute + 60), Some(Ok(())), "a new minute");
        let cgi = RequestLimits::new(crate::wiki::Lifetime::OneRequest);
        assert_eq!(cgi.take(1, 2, minute), None);
    }
}
