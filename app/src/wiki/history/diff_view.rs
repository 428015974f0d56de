//! `/+diff/{Page}?from=N&to=M`: what changed between two revisions, unified or side by side, paged
//! by rows. The rows come from [`super::diff_rows`]; this is the controller that reads the request,
//! loads the two texts, and lays the rows out for `diff.html`.

use gateway::form::Form;
use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;

use crate::wiki::history::diff_rows::{diff, Diff, DiffOptions};
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::params::revision_param;
use crate::wiki::plumbing::urls::DiffShape;
use crate::wiki::{Exchange, Wiki, WikiError};

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

/// What a diff request asks for, parsed before any revision is read.
struct DiffRequest {
    from: Option<u64>,
    to: Option<u64>,
    shape: DiffShape,
    offset: usize,
}

impl DiffRequest {
    fn parse(query: &Form) -> Result<DiffRequest, WikiError> {
        let shape = match query.get("view").filter(|word| !word.is_empty()) {
            None => DiffShape::Unified,
            Some(word) => DiffShape::parse(word).ok_or_else(|| {
                HttpError::bad_request(format!(
                    "\u{201c}view\u{201d} is \u{201c}unified\u{201d} or \u{201c}side\u{201d}, not \u{201c}{word}\u{201d}."
                ))
            })?,
        };
        let offset = match query.get("offset").filter(|value| !value.is_empty()) {
            None => 0,
            Some(value) => value.parse::<usize>().map_err(|_| {
                HttpError::bad_request(format!(
                    "\u{201c}offset\u{201d} must be a row number, not \u{201c}{value}\u{201d}."
                ))
            })?,
        };
        Ok(DiffRequest {
            from: revision_param(query, "from")?,
            to: revision_param(query, "to")?,
            shape,
            offset,
        })
    }
}

impl Wiki {
    pub(crate) fn diff(&self, exchange: &Exchange, name: &PageName) -> Result<Response, WikiError> {
        let request = DiffRequest::parse(&exchange.query()?)?;
        let Some(current) = self.storage.current(name.as_str())? else {
            return Err(HttpError::not_found(format!("There is no page called {name}.")).into());
        };
        let to = request.to.unwrap_or(current.meta.rev);
        let from = request.from.unwrap_or(to.saturating_sub(1).max(1));
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
        let options = DiffOptions {
            offset: request.offset,
            ..DiffOptions::default()
        };
        let diff = diff(&old, &new, &options);
        let view = self.diff_view(exchange, name, (from, to), request.shape, &diff)?;
        self.html(StatusCode::OK, "diff.html", view)
    }

    /// The rows of `diff` in `shape`, with the links that page through them and switch shapes.
    fn diff_view(
        &self,
        exchange: &Exchange,
        name: &PageName,
        (from, to): (u64, u64),
        shape: DiffShape,
        diff: &Diff,
    ) -> Result<DiffView, WikiError> {
        let urls = &exchange.urls;
        let page_url =
            |offset: usize, shape: DiffShape| urls.diff_page(name, from, to, shape, offset);
        let rows = match shape {
            DiffShape::SideBySide => serde_json::to_value(&diff.side_by_side),
            DiffShape::Unified => serde_json::to_value(&diff.lines),
        }
        .map_err(HttpError::internal)?;
        Ok(DiffView {
            layout: self.layout(exchange, &format!("Changes to {name}"), Some(name)),
            identical: diff.is_empty(),
            from_url: urls.page_revision(name, from),
            to_url: urls.page_revision(name, to),
            from_rev: from,
            to_rev: to,
            view: shape.as_str(),
            unified_url: page_url(diff.offset, DiffShape::Unified),
            side_url: page_url(diff.offset, DiffShape::SideBySide),
            rows,
            total_rows: diff.total_rows,
            added: diff.added,
            removed: diff.removed,
            first_row: (diff.offset + 1).min(diff.total_rows),
            last_row: diff.offset + diff.lines.len(),
            prev_url: diff.prev_offset.map(|offset| page_url(offset, shape)),
            next_url: diff.next_offset.map(|offset| page_url(offset, shape)),
        })
    }
}
