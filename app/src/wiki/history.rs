//! A page's history, diffs between its revisions, and reverting to one.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::SaveOutcome;

use super::context::Layout;
use super::diff::{diff, DiffOptions};
use super::page_name::PageName;
use super::pages::redirect_see_other;
use super::{Exchange, Wiki, WikiError};

/// How many rows a history page shows.
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
    /// This revision against the current one; `None` on the current row.
    current_diff_url: Option<String>,
    /// Where a POST makes this revision's text current again; `None` on the current row.
    revert_url: Option<String>,
}

#[derive(Serialize)]
struct DiffView {
    #[serde(flatten)]
    layout: Layout,
    from_rev: u64,
    to_rev: u64,
    from_url: String,
    to_url: String,
    /// `unified` or `side`: which shape `rows` has.
    view: &'static str,
    unified_url: String,
    side_url: String,
    /// Unified rows (`DiffLine`) or side-by-side rows (`SideRow`), as `view` says.
    rows: serde_json::Value,
    identical: bool,
    total_rows: usize,
    added: usize,
    removed: usize,
    /// Rows shown, 1-based and inclusive, for "rows 1–1500 of 40 000".
    first_row: usize,
    last_row: usize,
    prev_url: Option<String>,
    next_url: Option<String>,
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
        let current_rev = revisions.first().map_or(0, |meta| meta.rev);
        let view = HistoryView {
            layout: self.layout(exchange, &format!("History of {name}"), Some(name)),
            diff_url_base: urls.action("diff", name),
            revisions: revisions
                .into_iter()
                .map(|meta| HistoryRow {
                    view_url: urls.page_revision(name, meta.rev),
                    diff_url: (meta.rev > 1).then(|| urls.diff(name, meta.rev - 1, meta.rev)),
                    current_diff_url: (meta.rev != current_rev)
                        .then(|| urls.diff(name, meta.rev, current_rev)),
                    revert_url: (meta.rev != current_rev).then(|| urls.revert(name, meta.rev)),
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
        let to = revision_param(query.get("to"), "to")?.unwrap_or(current.meta.rev);
        let from =
            revision_param(query.get("from"), "from")?.unwrap_or(to.saturating_sub(1).max(1));
        let load = |rev: u64| -> Result<String, WikiError> {
            if rev == current.meta.rev {
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
        let side = match query.get("view") {
            None | Some("" | "unified") => false,
            Some("side") => true,
            Some(other) => {
                return Err(HttpError::bad_request(format!(
                    "\u{201c}view\u{201d} is \u{201c}unified\u{201d} or \u{201c}side\u{201d}, not \u{201c}{other}\u{201d}."
                ))
                .into())
            }
        };
        let offset = match query.get("offset").filter(|value| !value.is_empty()) {
            None => 0,
            Some(value) => value.parse::<usize>().map_err(|_| {
                HttpError::bad_request(format!(
                    "\u{201c}offset\u{201d} must be a row number, not \u{201c}{value}\u{201d}."
                ))
            })?,
        };
        let options = DiffOptions {
            offset,
            ..DiffOptions::default()
        };
        let diff = diff(&old, &new, &options);
        let urls = &exchange.urls;
        let mode = if side { "side" } else { "unified" };
        let page_url = |offset: usize, mode: &str| {
            let mut url = urls.diff(name, from, to);
            if mode == "side" {
                url.push_str("&view=side");
            }
            if offset > 0 {
                url.push_str(&format!("&offset={offset}"));
            }
            url
        };
        let rows = if side {
            serde_json::to_value(&diff.side_by_side)
        } else {
            serde_json::to_value(&diff.lines)
        }
        .map_err(HttpError::internal)?;
        let view = DiffView {
            layout: self.layout(exchange, &format!("Changes to {name}"), Some(name)),
            identical: diff.is_empty(),
            from_url: urls.page_revision(name, from),
            to_url: urls.page_revision(name, to),
            from_rev: from,
            to_rev: to,
            view: mode,
            unified_url: page_url(diff.offset, "unified"),
            side_url: page_url(diff.offset, "side"),
            rows,
            total_rows: diff.total_rows,
            added: diff.added,
            removed: diff.removed,
            first_row: (diff.offset + 1).min(diff.total_rows),
            last_row: diff.offset + diff.lines.len(),
            prev_url: diff.prev_offset.map(|offset| page_url(offset, mode)),
            next_url: diff.next_offset.map(|offset| page_url(offset, mode)),
        };
        self.html(StatusCode::OK, "diff.html", view)
    }

    /// `POST /+revert/{Page}?rev=N`: a new revision with revision N's text, "Reverted to rN". Nothing
    /// is lost: the revisions in between stay in the history.
    pub(super) fn revert(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let query = exchange.query()?;
        let rev = revision_param(query.get("rev"), "rev")?
            .ok_or_else(|| HttpError::bad_request("Say which revision to revert to, as ?rev=N."))?;
        // The form's fields (a CSRF token) are checked by the middleware; the body is not needed here.
        let Some(current) = self.storage.current(name.as_str())? else {
            return Err(HttpError::not_found(format!("There is no page called {name}.")).into());
        };
        let target = self
            .storage
            .revision(name.as_str(), rev)?
            .ok_or_else(|| HttpError::not_found(format!("{name} has no revision {rev}.")))?;
        let comment = format!("Reverted to r{rev}");
        match self.store(exchange, name, &target.text, &comment, Some(current.meta.rev))? {
            SaveOutcome::Saved { .. } | SaveOutcome::Unchanged { .. } => {
                Ok(redirect_see_other(&exchange.urls.page(name)))
            }
            SaveOutcome::Conflict { current } => Err(HttpError::new(
                StatusCode::CONFLICT,
                format!(
                    "{} saved {name} (revision {}) just as you reverted it, so nothing was reverted. Look at the history and revert again if you still want to.",
                    current.meta.author, current.meta.rev
                ),
            )
            .into()),
        }
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
