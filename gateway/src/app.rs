//! The application trait and the one conversion from results to responses.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use http::StatusCode;

use crate::{Request, Response};

/// A web application: a request in, a response out, like a WSGI callable.
///
/// `call` is synchronous and infallible on purpose. Adapters run it on a
/// thread of their own, so it may block on disk or a database; failures are
/// responses too (see [`IntoResponse`] and [`crate::HttpError`]), so there is
/// exactly one way out of an app. A panic is caught per request by
/// [`crate::middleware::CatchErrors`] and by every adapter.
pub trait App: Send + Sync + 'static {
    /// Answers one request.
    fn call(&self, request: Request) -> Response;
}

impl<F> App for F
where
    F: Fn(Request) -> Response + Send + Sync + 'static,
{
    fn call(&self, request: Request) -> Response {
        self(request)
    }
}

impl<A: App + ?Sized> App for Arc<A> {
    fn call(&self, request: Request) -> Response {
        (**self).call(request)
    }
}

/// Anything a handler may return that can become a response.
pub trait IntoResponse {
    /// Turns `self` into a response.
    fn into_response(self) -> Response;
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(ok) => ok.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

/// Calls `app`, turning a panic into a plain 500 so that one bad request never
/// takes the connection (or a FastCGI worker) down with it. Every adapter
/// calls apps through this, so the guarantee holds even without
/// [`crate::middleware::CatchErrors`].
pub(crate) fn call_guarded(app: &dyn App, request: Request) -> Response {
    match panic::catch_unwind(AssertUnwindSafe(|| app.call(request))) {
        Ok(response) => response,
        Err(payload) => {
            tracing::error!(panic = %panic_message(&*payload), "request handler panicked");
            crate::error::plain_error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on the server. The error has been logged.",
            )
        }
    }
}

/// The text of a panic payload, when it has one.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-text panic payload".to_owned()
    }
}
