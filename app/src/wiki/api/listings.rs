//! `recent`, `search` and `index`: the HTML listings' data, filtered and paged as they are.
//!
//! Each reads what its HTML route reads and keeps only what the viewer may read: a change only when
//! they may read the page's past (`Access::can_read_history`, as `/+recent`), a search through the
//! same readable-pages filter (so its total counts nothing hidden), an index name only when they
//! may read the page. Paging follows the HTML routes: recent changes by the last change's id
//! (`before`), search by result page, the index by the last name (`after`); `next` is the
//! address of the following page, or null.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::{ChangeKind, RecentQuery};

use super::json;
use super::pages::kind_word;
use crate::wiki::page_index::count_param;
use crate::wiki::plumbing::api_routes::ApiRoute;
use crate::wiki::plumbing::params::filter_param;
use crate::wiki::plumbing::urls::IndexQuery;
use crate::wiki::search::{SearchRequest, MAX_PAGES, PER_PAGE};
use crate::wiki::{Exchange, Wiki, WikiError};

/// How many changes a page of recent changes holds, as `/+recent` shows.
const CHANGES_PER_PAGE: usize = 100;

#[derive(Serialize)]
struct ChangeJson {
    page: String,
    revision: u64,
    /// `create`, `edit`, `delete`, `undelete` or `rename`.
    kind: &'static str,
    renamed_from: Option<String>,
    author: String,
    time: i64,
    comment: String,
    size: u64,
    url: String,
}

#[derive(Serialize)]
struct RecentJson {
    changes: Vec<ChangeJson>,
    next: Option<String>,
}

#[derive(Serialize)]
struct HitJson {
    page: String,
    /// For a file's hit, its name.
    file: Option<String>,
    snippet_html: String,
    author: String,
    time: i64,
    url: String,
}

#[derive(Serialize)]
struct SearchJson {
    query: String,
    total: usize,
    page: usize,
    pages: usize,
    hits: Vec<HitJson>,
    next: Option<String>,
}

#[derive(Serialize)]
struct NameJson {
    name: String,
    url: String,
}

#[derive(Serialize)]
struct IndexJson {
    pages: Vec<NameJson>,
    next: Option<String>,
}

impl Wiki {
    /// `GET recent?since=&before=&prefix=&author=`: changes newest first; `since` (unix seconds)
    /// leaves out older ones.
    pub(super) fn api_recent(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let query = exchange.query()?;
        let number = |field: &str| -> Result<Option<u64>, WikiError> {
            match query.get(field).filter(|value| !value.is_empty()) {
                None => Ok(None),
                Some(value) => value.parse::<u64>().map(Some).map_err(|_| {
                    HttpError::bad_request(format!(
                        "\u{201c}{field}\u{201d} is a number, not \u{201c}{value}\u{201d}."
                    ))
                    .into()
                }),
            }
        };
        let since = number("since")?.map(|since| i64::try_from(since).unwrap_or(i64::MAX));
        let before = number("before")?;
        let author = filter_param(query.get("author"), "author")?;
        let prefix = filter_param(query.get("prefix"), "prefix")?;
        let found = self.storage.recent(&RecentQuery {
            limit: CHANGES_PER_PAGE + 1,
            before,
            author: author.clone(),
            prefix: prefix.clone(),
        })?;
        let more = found.len() > CHANGES_PER_PAGE;
        let access = self.access(&exchange.viewer)?;
        let mut reached_since = false;
        let mut last_id = None;
        let mut changes = Vec::new();
        for change in found.into_iter().take(CHANGES_PER_PAGE) {
            if since.is_some_and(|since| change.meta.time < since) {
                reached_since = true;
                break;
            }
            last_id = Some(change.id);
            // Pages this viewer may not read leave no row; the cursor still pages by all changes.
            if !access.can_read_history(&change.meta.page) {
                continue;
            }
            let meta = change.meta;
            let (kind, renamed_from) = match &meta.kind {
                ChangeKind::Edit if meta.rev == 1 => ("create", None),
                ChangeKind::Rename { from } => ("rename", Some(from.clone())),
                kind @ (ChangeKind::Edit | ChangeKind::Delete | ChangeKind::Undelete) => {
                    (kind_word(kind), None)
                }
            };
            changes.push(ChangeJson {
                url: exchange.urls.page_text(&meta.page),
                page: meta.page,
                revision: meta.rev,
                kind,
                renamed_from,
                author: meta.author,
                time: meta.time,
                comment: meta.comment,
                size: meta.size,
            });
        }
        let next = match (more && !reached_since, last_id) {
            (true, Some(last)) => {
                let since = since.map(|since| since.to_string());
                Some(exchange.urls.api_with_query(
                    &ApiRoute::Recent,
                    &[
                        ("since", since.as_deref()),
                        ("author", author.as_deref()),
                        ("prefix", prefix.as_deref()),
                        ("before", Some(&last.to_string())),
                    ],
                ))
            }
            _ => None,
        };
        json(StatusCode::OK, &RecentJson { changes, next })
    }

    /// `GET search?q=&page=`: the results the HTML search shows, a page of them.
    pub(super) fn api_search(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let request = SearchRequest::parse(&exchange.query()?)?;
        if request.is_empty() {
            return Err(HttpError::bad_request("Say what to search for: ?q=words.").into());
        }
        let access = self.access(&exchange.viewer)?;
        let results = self.readable_results(&access, &request)?;
        let pages = results.total.div_ceil(PER_PAGE).min(MAX_PAGES);
        let urls = &exchange.urls;
        let next = (request.page_number < pages).then(|| {
            let page = (request.page_number + 1).to_string();
            urls.api_with_query(
                &ApiRoute::Search,
                &[("q", Some(&request.query)), ("page", Some(&page))],
            )
        });
        let hits = results
            .hits
            .into_iter()
            .map(|hit| HitJson {
                url: match &hit.file {
                    Some(file) => urls.file_text(&hit.name, file),
                    None => urls.page_text(&hit.name),
                },
                page: hit.name,
                file: hit.file,
                snippet_html: hit.snippet_html,
                author: hit.author,
                time: hit.time,
            })
            .collect();
        json(
            StatusCode::OK,
            &SearchJson {
                query: request.query,
                total: results.total,
                page: request.page_number,
                pages,
                hits,
                next,
            },
        )
    }

    /// `GET index?prefix=&after=&count=`: page names by name, as `/+index` lists them.
    pub(super) fn api_index(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let params = exchange.query()?;
        let query = IndexQuery {
            prefix: filter_param(params.get("prefix"), "prefix")?.unwrap_or_default(),
            after: filter_param(params.get("after"), "after")?,
            tree: false,
            count: count_param(&params)?,
        };
        let (names, next) = self.readable_names(exchange, &query)?;
        let urls = &exchange.urls;
        let count = query.count.map(|count| count.to_string());
        let next = next.map(|after| {
            urls.api_with_query(
                &ApiRoute::Index,
                &[
                    (
                        "prefix",
                        Some(query.prefix.as_str()).filter(|p| !p.is_empty()),
                    ),
                    ("count", count.as_deref()),
                    ("after", Some(&after)),
                ],
            )
        });
        let pages = names
            .into_iter()
            .map(|name| NameJson {
                url: urls.page_text(&name),
                name,
            })
            .collect();
        json(StatusCode::OK, &IndexJson { pages, next })
    }
}
