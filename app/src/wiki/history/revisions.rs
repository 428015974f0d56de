//! A page's history, and reverting to one of its revisions.

use gateway::{HttpError, Response};
use http::StatusCode;
use minijinja::value::Value;
use serde::Serialize;
use storage::SaveOutcome;

use crate::wiki::pages::edit::EndsDraft;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::params::revision_param;
use crate::wiki::plumbing::respond::redirect_see_other;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::plumbing::rows::Row;
use crate::wiki::{Exchange, Wiki, WikiError};

/// How many rows a history page shows.
const ROWS_PER_PAGE: usize = 200;

#[derive(Serialize)]
struct HistoryView {
    #[serde(flatten)]
    layout: Layout,
    /// The rows, each a [`Row`] with [`ROW_KEYS`]: made as template values, not serialised.
    revisions: Value,
    diff_url_base: String,
}

/// The keys of a history row, in the order a template that lists them sees them.
const ROW_KEYS: [&str; 9] = [
    "rev",
    "author",
    "time",
    "comment",
    "size",
    "view_url",
    "diff_url",
    // This revision against the current one; none on the current row.
    "current_diff_url",
    // Where a POST makes this revision's text current again; none on the current row.
    "revert_url",
];

impl Wiki {
    pub(crate) fn history(
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
        // A history page has hundreds of rows of four addresses each: the page's name is encoded
        // once and each address written into one buffer.
        let mut links = urls.page_row_links();
        links.set_page(name);
        let rows: Vec<Value> = revisions
            .into_iter()
            .map(|meta| {
                let rev = meta.rev;
                let earlier = rev != current_rev;
                Row::value(
                    &ROW_KEYS,
                    [
                        Value::from(rev),
                        Value::from(meta.author),
                        Value::from(meta.time),
                        Value::from(meta.comment),
                        Value::from(meta.size),
                        Value::from(links.revision(rev)),
                        Value::from((rev > 1).then(|| links.diff(rev - 1, rev).to_owned())),
                        Value::from(earlier.then(|| links.diff(rev, current_rev).to_owned())),
                        Value::from(earlier.then(|| links.revert(rev).to_owned())),
                    ],
                )
            })
            .collect();
        let view = HistoryView {
            layout: self.layout(exchange, &format!("History of {name}"), Some(name)),
            diff_url_base: urls.to(&Route::Diff(name.clone())),
            revisions: Value::from(rows),
        };
        self.html(StatusCode::OK, "history.html", view)
    }

    /// `POST /+revert/{Page}?rev=N`: a new revision with revision N's text, "Reverted to rN". Nothing
    /// is lost: the revisions in between stay in the history.
    pub(crate) fn revert(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let query = exchange.query()?;
        let rev = revision_param(&query, "rev")?
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
        let base = Some(current.meta.rev);
        match self.store(exchange, name, &target.text, &comment, base, EndsDraft::No)? {
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
