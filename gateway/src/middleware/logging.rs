//! One log line per request, and a span around it.

use std::time::Instant;

use crate::{App, Request, Response};

/// Logs each request at `info` level once it is answered: method and path
/// (as fields of the `request` span the line is in), status, body size (when known before sending), time taken and the
/// client's address.
///
/// The inner app runs inside a `request` span carrying the method and the
/// path, so anything it logs can be traced back to its request.
///
/// What is deliberately not logged: bodies, and the query string, which may
/// hold values nobody should find in a log file (this layer cannot tell which
/// parameters are secret). The path is the request URI's path, still
/// percent-encoded, so a log line cannot be forged with an encoded newline.
/// The time covers producing the response, not sending it: a streamed body is
/// read by the adapter after this layer has returned.
///
/// Where log lines go is up to the subscriber the binary installs; under CGI
/// that must be stderr, because stdout is the response.
///
/// ```
/// use gateway::{middleware::LogRequests, testing::TestClient, Request, Response};
///
/// let app = |_request: Request| -> Response { http::Response::new("hello".into()) };
/// let client = TestClient::new(LogRequests::new(app));
/// assert_eq!(client.get("/").text(), "hello");
/// ```
#[derive(Debug, Clone)]
pub struct LogRequests<A> {
    inner: A,
}

impl<A> LogRequests<A> {
    /// Wraps `inner`.
    pub fn new(inner: A) -> Self {
        LogRequests { inner }
    }
}

impl<A: App> App for LogRequests<A> {
    fn call(&self, request: Request) -> Response {
        let remote = request.remote_addr();
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            path = %request.uri().path()
        );
        let _entered = span.enter();

        let started = Instant::now();
        let response = self.inner.call(request);
        let elapsed_ms = started.elapsed().as_micros() as f64 / 1000.0;

        // Method and path come from the span, which every formatter prints
        // with the event.
        tracing::info!(
            status = response.status().as_u16(),
            bytes = response.body().len(),
            elapsed_ms,
            remote = remote.map(tracing::field::display),
            "answered"
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::StatusCode;

    use super::*;
    use crate::middleware::tests::capture_logs;
    use crate::testing::{TestClient, TestRequest};
    use crate::ResponseBody;

    #[test]
    fn logs_one_line_with_method_path_status_size_and_client() {
        let app = |_: Request| {
            let mut response = Response::new("not here".into());
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        };
        let (response, logs) = capture_logs(|| {
            TestClient::new(LogRequests::new(app))
                .with_mount("/wiki")
                .get("/Some Page?password=hunter2")
        });
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        let lines: Vec<&str> = logs.lines().collect();
        assert_eq!(lines.len(), 1, "{logs}");
        let line = lines[0];
        assert!(line.contains(" INFO "), "{line}");
        assert!(line.contains("method=GET"), "{line}");
        assert!(line.contains("path=/wiki/Some%20Page"), "{line}");
        assert!(line.contains("status=404"), "{line}");
        assert!(line.contains("bytes=8"), "{line}");
        assert!(line.contains("elapsed_ms="), "{line}");
        assert!(line.contains("remote=127.0.0.1"), "{line}");
        assert!(!line.contains("hunter2"), "{line}");
    }

    #[test]
    fn the_apps_own_log_lines_fall_inside_the_request_span() {
        let app = |_: Request| {
            tracing::warn!("inside the app");
            Response::new(ResponseBody::reader(std::io::empty()))
        };
        let (_, logs) = capture_logs(|| {
            TestClient::new(LogRequests::new(app))
                .send(TestRequest::post_form("/Edit", &[("text", "page body")]))
        });
        let app_line = logs
            .lines()
            .find(|line| line.contains("inside the app"))
            .unwrap();
        assert!(
            app_line.contains("request{method=POST path=/Edit}"),
            "{app_line}"
        );
        let answered = logs.lines().find(|line| line.contains("answered")).unwrap();
        assert!(
            !answered.contains("bytes="),
            "a streamed size is not known: {answered}"
        );
        assert!(!logs.contains("page body"), "{logs}");
    }

    #[test]
    fn the_elapsed_time_is_in_milliseconds() {
        let app = |_: Request| {
            std::thread::sleep(Duration::from_millis(20));
            Response::new("slow".into())
        };
        let (_, logs) = capture_logs(|| TestClient::new(LogRequests::new(app)).get("/"));
        let elapsed: f64 = logs
            .split("elapsed_ms=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap()
            .parse()
            .unwrap();
        // A lower bound only: the sleep guarantees it, a machine's speed does not
        // guarantee any upper one.
        assert!(elapsed >= 20.0, "{logs}");
    }
}
