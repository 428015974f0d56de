//! History, diffs and recent changes.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;

use super::context::Layout;
use super::diff::{diff_lines, DiffLine};
use super::page_name::PageName;
use super::{Exchange, Wiki, WikiError};

/// How many rows a history or recent-changes page shows.
const ROWS_PER_PAGE: usize = 200;

#[derive(Serialize)]
struct HistoryView {
    #[serde(flatten)]
    layout: Layout,
    revisions: Vec<HistoryRow>,
    diff_url_base: String,
}

#[derive(Serialize)]
struct HistoryRow {
    rev: u64,
    author: String,
    time: i64,
    comment: String,
    size: u64,
    view_url: String,
    diff_url: Option<String>,
}

#[derive(Serialize)]
struct DiffView {
    #[serde(flatten)]
    layout: Layout,
    from_rev: u64,
    to_rev: u64,
    from_url: String,
    to_url: String,
    lines: Vec<DiffLine>,
    identical: bool,
}

#[derive(Serialize)]
struct RecentView {
    #[serde(flatten)]
    layout: Layout,
    changes: Vec<RecentRow>,
    orphans_url: String,
    wanted_url: String,
}

#[derive(Serialize)]
struct RecentRow {
    page_name: String,
    page_url: String,
    rev: u64,
    author: String,
    time: i64,
    day: String,
    comment: String,
    size: u64,
    size_delta: i64,
    diff_url: Option<String>,
    history_url: String,
}

impl Wiki {
    pub(super) fn history(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let revisions = self.storage.history(name.as_str(), ROWS_PER_PAGE, 0)?;
        if revisions.is_empty() {
            return Err(HttpError::not_found(format!(
                "There is no page called {name}, so it has no history."
            ))
            .into());
        }
        let urls = &exchange.urls;
        let view = HistoryView {
            layout: self.layout(exchange, &format!("History of {name}"), Some(name)),
            diff_url_base: urls.action("diff", name),
            revisions: revisions
                .into_iter()
                .map(|meta| HistoryRow {
                    view_url: urls.page_revision(name, meta.rev),
                    diff_url: (meta.rev > 1).then(|| urls.diff(name, meta.rev - 1, meta.rev)),
                    rev: meta.rev,
                    author: meta.author,
                    time: meta.time,
                    comment: meta.comment,
                    size: meta.size,
                })
                .collect(),
        };
        self.html(StatusCode::OK, "history.html", view)
    }

    pub(super) fn diff(&self, exchange: &Exchange, name: &PageName) -> Result<Response, WikiError> {
        let query = exchange.query()?;
        let Some(current) = self.storage.current(name.as_str())? else {
            return Err(HttpError::not_found(format!("There is no page called {name}.")).into());
        };
        let to = revision_param(query.get("to"), "to")?.unwrap_or(current.rev);
        let from =
            revision_param(query.get("from"), "from")?.unwrap_or(to.saturating_sub(1).max(1));
        let load = |rev: u64| -> Result<String, WikiError> {
            if rev == current.rev {
                return Ok(current.text.clone());
            }
            self.storage
                .revision(name.as_str(), rev)?
                .map(|revision| revision.text)
                .ok_or_else(|| {
                    HttpError::not_found(format!("{name} has no revision {rev}.")).into()
                })
        };
        let (old, new) = (load(from)?, load(to)?);
        let lines = diff_lines(&old, &new);
        let view = DiffView {
            layout: self.layout(exchange, &format!("Changes to {name}"), Some(name)),
            identical: lines.is_empty(),
            from_url: exchange.urls.page_revision(name, from),
            to_url: exchange.urls.page_revision(name, to),
            from_rev: from,
            to_rev: to,
            lines,
        };
        self.html(StatusCode::OK, "diff.html", view)
    }

    pub(super) fn recent(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let urls = &exchange.urls;
        let mut changes = Vec::new();
        for change in self.storage.recent_changes(ROWS_PER_PAGE, 0)? {
            // Names in storage were valid when saved; a row that no longer
            // parses (say, after a rule change) is skipped, not fatal.
            let Ok(name) = PageName::parse(&change.page) else {
                tracing::warn!(page = %change.page, "recent change names an invalid page");
                continue;
            };
            changes.push(RecentRow {
                page_url: urls.page(&name),
                diff_url: (change.rev > 1).then(|| urls.diff(&name, change.rev - 1, change.rev)),
                history_url: urls.action("history", &name),
                page_name: change.page,
                rev: change.rev,
                author: change.author,
                day: day_of(change.time),
                time: change.time,
                comment: change.comment,
                size: change.size,
                size_delta: change.size_delta,
            });
        }
        let view = RecentView {
            layout: self.layout(exchange, "Recent changes", None),
            changes,
            orphans_url: exchange.urls.special("orphans"),
            wanted_url: exchange.urls.special("wanted"),
        };
        self.html(StatusCode::OK, "recent.html", view)
    }
}

fn revision_param(value: Option<&str>, field: &str) -> Result<Option<u64>, WikiError> {
    match value.filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(value) => match value.parse::<u64>() {
            Ok(rev) if rev > 0 => Ok(Some(rev)),
            _ => Err(HttpError::bad_request(format!(
                "\u{201c}{field}\u{201d} must be a revision number, not \u{201c}{value}\u{201d}."
            ))
            .into()),
        },
    }
}

/// `2026-11-25` for a unix time, in UTC.
fn day_of(unix_seconds: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix_seconds) {
        Ok(moment) => {
            let date = moment.date();
            format!(
                "{:04}-{:02}-{:02}",
                date.year(),
                u8::from(date.month()),
                date.day()
            )
        }
        Err(_) => "unknown date".to_owned(),
    }
}
