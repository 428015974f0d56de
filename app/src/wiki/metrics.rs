//! `/+metrics`: what Prometheus scrapes, in its text exposition format (version 0.0.4), written by
//! hand: a few counters and one histogram do not need a metrics library.
//!
//! The counters live in this process's memory, one [`Metrics`] the [`Wiki`] holds, as plain atomics:
//! counting a request is a few relaxed atomic additions, with no lock on the path of a request.
//! Their label sets are fixed (route words from the route table, five status classes), so a client
//! cannot grow them by asking for odd URLs.
//!
//! What they mean depends on the process. Under `quire serve`, FastCGI and SCGI one process answers
//! many requests and the counters add up across them (they start again at zero with the process, as
//! Prometheus' counters may; `quire_process_start_time_seconds` says when). **Under CGI every
//! request is a process of its own**, so the in-memory counters only ever see the scrape itself,
//! which is not counted yet when it answers: they are all zero there, and only the gauges read from
//! the database (`quire_index_lag_revisions`) say anything. Monitor a CGI wiki through `/+healthz`
//! or the web server's own metrics.
//!
//! `/+metrics` is off unless `metrics = true` (a 404, as if it did not exist), and when on it answers
//! only clients in `metrics_allow` (loopback by default), 403 to others. The client is the
//! connection's address, or, from a proxy in `trusted_proxies`, the client that proxy names; from
//! any other peer no header is believed. Behind a proxy left out of `trusted_proxies`, every
//! request comes from the proxy's address: list the proxy, or keep `/+metrics` off at it.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gateway::{HttpError, Response};
use http::StatusCode;
use strum::IntoEnumIterator;

use crate::wiki::plumbing::respond::typed_response;
use crate::wiki::plumbing::routes::{Verb, ROBOTS_TXT, SITEMAP_XML};
use crate::wiki::{Exchange, Wiki, WikiError};

/// The `Content-Type` of the text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The latency histogram's upper bounds, in seconds (Prometheus' defaults, and a millisecond more).
const BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Route labels that are not a verb: the front page, page views, the two root files, and a path
/// that names no route. The verbs' own words follow them.
const OTHER_ROUTES: [&str; 5] = ["root", "page", ROBOTS_TXT, SITEMAP_XML, "unknown"];

/// `1xx` to `5xx`.
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The process's counters (see the module doc).
#[derive(Debug)]
pub(crate) struct Metrics {
    /// Route label ([`OTHER_ROUTES`], then [`Verb::iter`]) × status class.
    requests: Vec<[AtomicU64; STATUS_CLASSES.len()]>,
    /// Requests per latency bucket, not cumulative (the last is `+Inf`).
    latency: [AtomicU64; BUCKETS.len() + 1],
    /// The sum of every latency, in microseconds.
    latency_micros: AtomicU64,
    saves: AtomicU64,
    conflicts: AtomicU64,
    merges: AtomicU64,
    throttled_logins: AtomicU64,
    render_refusals: AtomicU64,
    /// Unix seconds at which this process started counting.
    started: u64,
}

/// Something the wiki counts besides requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// A new revision was saved (an edit, a revert, a clean merge).
    Save,
    /// A save met a newer revision and came back as the conflict editor.
    Conflict,
    /// A save met a newer revision and was merged cleanly.
    Merge,
    /// A login was refused unchecked, after too many failures.
    ThrottledLogin,
    /// Unsaved text (a preview or a save) was not rendered: over a render bound, or every render
    /// permit was taken.
    RenderRefused,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: (0..OTHER_ROUTES.len() + Verb::iter().count())
                .map(|_| Default::default())
                .collect(),
            latency: Default::default(),
            latency_micros: AtomicU64::new(0),
            saves: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            merges: AtomicU64::new(0),
            throttled_logins: AtomicU64::new(0),
            render_refusals: AtomicU64::new(0),
            started: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_secs()),
        }
    }
}

impl Metrics {
    /// Counts one answered request: the route its path named, its status, how long it took.
    pub(crate) fn observe(&self, route: RouteLabel, status: StatusCode, elapsed: Duration) {
        let class = usize::from(status.as_u16() / 100)
            .saturating_sub(1)
            .min(STATUS_CLASSES.len() - 1);
        if let Some(row) = self.requests.get(route.0) {
            row[class].fetch_add(1, Ordering::Relaxed);
        }
        let seconds = elapsed.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(BUCKETS.len());
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts one `event`.
    pub(crate) fn count(&self, event: Event) {
        let counter = match event {
            Event::Save => &self.saves,
            Event::Conflict => &self.conflicts,
            Event::Merge => &self.merges,
            Event::ThrottledLogin => &self.throttled_logins,
            Event::RenderRefused => &self.render_refusals,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text, with `index_lag` (revisions saved but not yet searchable; `None` when
    /// unknown) as a gauge.
    pub(crate) fn render(&self, index_lag: Option<u64>) -> String {
        let mut out = String::new();
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        header(
            &mut out,
            "quire_http_requests_total",
            "counter",
            "Requests answered, by route (the word after /+, or root, page, robots.txt, sitemap.xml, unknown) and status class.",
        );
        let routes = OTHER_ROUTES
            .iter()
            .copied()
            .chain(Verb::iter().map(Verb::as_str));
        for (route, row) in routes.zip(&self.requests) {
            for (class, counter) in STATUS_CLASSES.iter().zip(row) {
                let count = load(counter);
                if count > 0 {
                    line(
                        &mut out,
                        &format!(
                            "quire_http_requests_total{{route=\"{route}\",status=\"{class}\"}}"
                        ),
                        count,
                    );
                }
            }
        }
        header(
            &mut out,
            "quire_http_request_duration_seconds",
            "histogram",
            "Time the wiki took to answer a request, in seconds.",
        );
        let mut cumulative = 0;
        for (bound, counter) in BUCKETS.iter().zip(&self.latency) {
            cumulative += load(counter);
            line(
                &mut out,
                &format!("quire_http_request_duration_seconds_bucket{{le=\"{bound}\"}}"),
                cumulative,
            );
        }
        cumulative += load(&self.latency[BUCKETS.len()]);
        line(
            &mut out,
            "quire_http_request_duration_seconds_bucket{le=\"+Inf\"}",
            cumulative,
        );
        let micros = load(&self.latency_micros);
        let _ = writeln!(
            out,
            "quire_http_request_duration_seconds_sum {}.{:06}",
            micros / 1_000_000,
            micros % 1_000_000
        );
        line(
            &mut out,
            "quire_http_request_duration_seconds_count",
            cumulative,
        );
        for (name, help, counter) in [
            (
                "quire_saves_total",
                "Revisions saved by edits, reverts and merges.",
                &self.saves,
            ),
            (
                "quire_save_conflicts_total",
                "Saves that met a newer revision and came back to the editor with conflicts.",
                &self.conflicts,
            ),
            (
                "quire_save_merges_total",
                "Saves that met a newer revision and were merged cleanly.",
                &self.merges,
            ),
            (
                "quire_logins_throttled_total",
                "Logins refused unchecked after too many failures.",
                &self.throttled_logins,
            ),
            (
                "quire_renders_refused_total",
                "Previews and saves not rendered: over a render bound, or all render permits taken.",
                &self.render_refusals,
            ),
        ] {
            header(&mut out, name, "counter", help);
            line(&mut out, name, load(counter));
        }
        if let Some(lag) = index_lag {
            header(
                &mut out,
                "quire_index_lag_revisions",
                "gauge",
                "Revisions saved but not yet searchable (read from the database and the index).",
            );
            line(&mut out, "quire_index_lag_revisions", lag);
        }
        header(
            &mut out,
            "quire_process_start_time_seconds",
            "gauge",
            "When this process started counting, in unix seconds: the counters start at zero then.",
        );
        line(&mut out, "quire_process_start_time_seconds", self.started);
        out
    }
}

/// `# HELP` and `# TYPE` lines.
fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A sample line.
fn line(out: &mut String, series: &str, value: u64) {
    let _ = writeln!(out, "{series} {value}");
}

/// Which route a request's path names, as a row of [`Metrics::requests`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RouteLabel(usize);

impl RouteLabel {
    /// The label of `path_info`: read from the path's first word as the router reads it, without
    /// parsing a page name (a label needs no more).
    pub(crate) fn of(path_info: &[u8]) -> RouteLabel {
        RouteLabel(route_index(path_info))
    }
}

fn route_index(path_info: &[u8]) -> usize {
    let unknown = OTHER_ROUTES.len() - 1;
    let path = path_info.strip_prefix(b"/").unwrap_or(path_info);
    let Some(action) = path.strip_prefix(b"+") else {
        return match path {
            b"" => 0,
            path if path == ROBOTS_TXT.as_bytes() => 2,
            path if path == SITEMAP_XML.as_bytes() => 3,
            _ => 1,
        };
    };
    let word = action.split(|&byte| byte == b'/').next().unwrap_or(action);
    let Ok(word) = std::str::from_utf8(word) else {
        return unknown;
    };
    match word.parse::<Verb>() {
        Ok(verb) => Verb::iter()
            .position(|each| each == verb)
            .map_or(unknown, |at| OTHER_ROUTES.len() + at),
        Err(_) => unknown,
    }
}

impl Wiki {
    /// `GET /+metrics`: 404 unless `metrics = true`; 403 to a peer outside `metrics_allow`.
    pub(crate) fn metrics(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        if !self.settings.metrics {
            return Err(HttpError::not_found(
                "There is no wiki action called \u{201c}+metrics\u{201d}.",
            )
            .into());
        }
        let allowed = exchange.request.remote_addr().is_some_and(|peer| {
            self.settings
                .metrics_allow
                .iter()
                .any(|block| block.contains(peer))
        });
        if !allowed {
            return Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "Metrics are only answered to the addresses in metrics_allow (quire.toml).",
            )
            .into());
        }
        let text = self.metrics.render(self.index_lag().ok().flatten());
        Ok(typed_response(text, CONTENT_TYPE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> Option<String> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(str::to_owned)
    }

    #[test]
    fn requests_are_counted_by_route_and_status_class() {
        let metrics = Metrics::default();
        let fast = Duration::from_micros(1500);
        metrics.observe(RouteLabel::of(b"/+edit/A"), StatusCode::SEE_OTHER, fast);
        metrics.observe(RouteLabel::of(b"/+edit/B"), StatusCode::SEE_OTHER, fast);
        metrics.observe(
            RouteLabel::of(b"/A/B"),
            StatusCode::NOT_FOUND,
            Duration::from_secs(20),
        );
        metrics.observe(RouteLabel::of(b"/+nope"), StatusCode::NOT_FOUND, fast);
        metrics.observe(RouteLabel::of(b"/"), StatusCode::OK, fast);
        metrics.observe(RouteLabel::of(b"/sitemap.xml"), StatusCode::OK, fast);
        metrics.count(Event::Save);
        let text = metrics.render(Some(3));
        let requests = |route: &str, class: &str| {
            format!("quire_http_requests_total{{route=\"{route}\",status=\"{class}\"}}")
        };
        let bucket =
            |le: &str| format!("quire_http_request_duration_seconds_bucket{{le=\"{le}\"}}");
        for (series, expected) in [
            (requests("edit", "3xx"), "2"),
            (requests("page", "4xx"), "1"),
            (requests("unknown", "4xx"), "1"),
            (requests("root", "2xx"), "1"),
            (requests("sitemap.xml", "2xx"), "1"),
            (bucket("0.001"), "0"),
            (bucket("0.005"), "5"),
            (bucket("10"), "5"),
            (bucket("+Inf"), "6"),
            ("quire_http_request_duration_seconds_count".into(), "6"),
            (
                "quire_http_request_duration_seconds_sum".into(),
                "20.007500",
            ),
            ("quire_saves_total".into(), "1"),
            ("quire_save_conflicts_total".into(), "0"),
            ("quire_index_lag_revisions".into(), "3"),
        ] {
            assert_eq!(
                value(&text, &series).as_deref(),
                Some(expected),
                "{series}:\n{text}"
            );
        }
    }

    /// Every line is a comment or `series value`, and each metric's `# TYPE` comes before its
    /// samples, once: what the text format 0.0.4 asks.
    #[test]
    fn the_text_is_well_formed_exposition() {
        let metrics = Metrics::default();
        metrics.observe(
            RouteLabel::of(b"/+search"),
            StatusCode::OK,
            Duration::from_millis(3),
        );
        let text = metrics.render(None);
        assert!(text.ends_with('\n'));
        assert!(!text.contains("quire_index_lag_revisions"), "{text}");
        let mut typed = std::collections::HashSet::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap();
                assert!(typed.insert(name.to_owned()), "{name} typed twice");
                continue;
            }
            if line.starts_with("# HELP ") {
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let name = series.split('{').next().unwrap();
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .filter(|base| typed.contains(*base))
                .unwrap_or(name);
            assert!(typed.contains(base), "{line} before its # TYPE");
        }
    }
}
