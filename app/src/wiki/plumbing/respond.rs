//! The responses controllers give: a rendered template, the themed error page (the one way an error
//! reaches the reader), a 405 with its `Allow`, a redirect after a POST, and a typed body.

use gateway::{ErrorReport, HttpError, Response};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;

use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::{Exchange, Wiki, WikiError};

#[derive(Serialize)]
struct ErrorView {
    #[serde(flatten)]
    layout: Layout,
    status: u16,
    reason: String,
    message: String,
}

impl Wiki {
    /// Renders a template into an HTML response.
    pub(crate) fn html(
        &self,
        status: StatusCode,
        template: &str,
        context: impl Serialize,
    ) -> Result<Response, WikiError> {
        let body = self.themes.render(template, context)?;
        let mut response = typed_response(body, "text/html; charset=utf-8");
        *response.status_mut() = status;
        Ok(response)
    }

    /// The themed page for an error; if the theme itself fails, a plain one.
    pub(crate) fn error_page(&self, exchange: &Exchange, err: WikiError) -> Response {
        let err = err.into_http();
        let status = err.status();
        let view = ErrorView {
            layout: self.layout(exchange, &status.to_string(), None),
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: err.message().to_owned(),
        };
        let cause = err.cause().cloned();
        let retry_after = err.retry_after();
        match self.html(status, "error.html", view) {
            Ok(mut response) => {
                if let Some(cause) = cause {
                    response.extensions_mut().insert(cause);
                }
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                response
            }
            Err(theme_err) => {
                let mut response = gateway::IntoResponse::into_response(err);
                response
                    .extensions_mut()
                    .insert(ErrorReport::new(theme_err));
                response
            }
        }
    }

    /// `/Page/` (or `/+history/Page/`) is `/Page` with a slash a person or a link added: 308 to the
    /// address without it, keeping the query and the method. `None` when the path has no trailing
    /// slash or means nothing without it either (the router then answers as it does).
    pub(crate) fn without_trailing_slash(&self, exchange: &Exchange) -> Option<Response> {
        let path = exchange.request.path_info();
        let kept = path.len() - path.iter().rev().take_while(|&&byte| byte == b'/').count();
        if kept == path.len() || kept == 0 {
            return None;
        }
        // Built again from the route: the redirect is a path under the mount, whatever was asked.
        let route = Route::parse(&path[..kept]).ok()?;
        let mut location = exchange.urls.to(&route);
        let query = exchange.request.query();
        if !query.is_empty() {
            location.push('?');
            location.push_str(query);
        }
        let location = HeaderValue::from_str(&location).ok()?;
        let mut response = Response::new(gateway::ResponseBody::empty());
        *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
        response.headers_mut().insert(header::LOCATION, location);
        Some(response)
    }

    /// The page for a form the CSRF check refused, drawn but never acted on (the gateway hands it
    /// over as a `GET`): the editor with the text kept when the save came from this wiki's own
    /// editor, else a themed 403. Only a same-origin form gets its text back: a form another site
    /// sent must not become an editor filled with its text for the reader to save.
    pub(crate) fn draw_csrf_refusal(
        &self,
        exchange: &Exchange,
        route: Route,
        form: &[u8],
    ) -> Result<Response, WikiError> {
        if let Route::Edit(name) = &route {
            if self.same_origin(&exchange.request) {
                self.check_route(&exchange.viewer, &route)?;
                return self.edit_after_refusal(exchange, name, form);
            }
        }
        Err(HttpError::new(
            StatusCode::FORBIDDEN,
            "This form was refused because it did not carry this site's security token: your session may have expired, or the form came from another site. Nothing was changed. Go back, reload the page, and send it again.",
        )
        .into())
    }

    /// Whether the browser says the request came from a page of this wiki: `Sec-Fetch-Site:
    /// same-origin`, or an `Origin` that is this wiki's.
    fn same_origin(&self, request: &gateway::Request) -> bool {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
        };
        if let Some(site) = header("sec-fetch-site") {
            return site.eq_ignore_ascii_case("same-origin");
        }
        header("origin").is_some_and(|origin| origin == self.origin(request))
    }

    pub(crate) fn method_not_allowed(&self, exchange: &Exchange, allow: &'static str) -> Response {
        let mut response = self.error_page(exchange, HttpError::method_not_allowed().into());
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        response
    }
}

/// A response of `content_type` that browsers must not second-guess
/// (`nosniff`: a page's raw text must never be run as HTML or script).
pub fn typed_response(
    body: impl Into<gateway::ResponseBody>,
    content_type: &'static str,
) -> gateway::Response {
    let mut response = gateway::Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// 303 See Other: after a POST, the browser GETs the page.
pub(crate) fn redirect_see_other(location: &str) -> Response {
    let mut response = Response::new(gateway::ResponseBody::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Whether the client asked for JSON (the editor's script) rather than a page.
pub(crate) fn wants_json(request: &gateway::Request) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json"))
}
