//! `/+search?q=…` (ranked results with snippets, paged) and `/+suggest?q=…` (page names as JSON,
//! for search-as-you-type).
//!
//! The query syntax is the `search` crate's; the `Help/Search` page documents it for users. The index
//! is only opened here, never by a page view.
//!
//! The index itself leaves out the pages the viewer may not read (a [`Visible`] filter inside the
//! query, built from the ACL map), so its count, ranking and paging, go-to, did-you-mean and
//! suggestions are the viewer's as they are: nothing here re-counts or re-pages. Filtering after
//! ranking made the count an oracle for hidden words (issue 19, finding 2).

use gateway::form::Form;
use gateway::{HttpError, Response};
use http::StatusCode;
use search::{SearchResults, Visible};
use serde::Serialize;

use crate::wiki::plumbing::access::{Access, ReadExceptions};
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::respond::typed_response;
use crate::wiki::{Exchange, Wiki, WikiError};

/// Results per page.
pub(crate) const PER_PAGE: usize = 20;
/// Result pages reachable; deeper paging is never useful and costs a sort of everything.
pub(crate) const MAX_PAGES: usize = 50;
/// Longest query taken.
const MAX_QUERY_CHARS: usize = 500;
/// Suggestions answered.
const SUGGESTIONS: usize = 10;

#[derive(Serialize)]
struct SearchView {
    #[serde(flatten)]
    layout: Layout,
    query: String,
    /// How many pages and files the viewer may read match.
    total: usize,
    hits: Vec<HitView>,
    go_to: Vec<PageLink>,
    did_you_mean: Vec<PageLink>,
    page_number: usize,
    page_count: usize,
    prev_url: Option<String>,
    next_url: Option<String>,
    syntax_url: String,
}

#[derive(Serialize)]
struct HitView {
    /// The page, or for a file "file on page".
    name: String,
    url: String,
    /// For a file: the page it belongs to.
    page_url: Option<String>,
    snippet_html: String,
    author: String,
    time: i64,
}

#[derive(Serialize)]
struct PageLink {
    name: String,
    url: String,
}

#[derive(Serialize)]
struct Suggestions {
    query: String,
    pages: Vec<PageLink>,
}

/// What `/+search` asks for: `q` and `page`, checked before the index is opened.
pub(crate) struct SearchRequest {
    pub(crate) query: String,
    /// Counts from 1, at most [`MAX_PAGES`].
    pub(crate) page_number: usize,
}

impl SearchRequest {
    pub(crate) fn parse(form: &Form) -> Result<SearchRequest, WikiError> {
        let query = search_text(form.get("q"))?;
        let page_number = match form.get("page").filter(|v| !v.is_empty()) {
            None => 1,
            Some(value) => match value.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGES).contains(&n) => n,
                Ok(_) | Err(_) => {
                    return Err(HttpError::bad_request(format!(
                        "\u{201c}{value}\u{201d} is not a result page (1 to {MAX_PAGES})."
                    ))
                    .into())
                }
            },
        };
        Ok(SearchRequest { query, page_number })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.query.trim().is_empty()
    }
}

impl Wiki {
    pub(crate) fn search(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let request = SearchRequest::parse(&exchange.query()?)?;
        let found = if request.is_empty() {
            None
        } else {
            let access = self.access(&exchange.viewer)?;
            Some(self.readable_results(&access, &request)?)
        };
        let view = self.search_view(exchange, request, found);
        self.html(StatusCode::OK, "search.html", view)
    }

    /// The page of results `request` asks for, among the pages the viewer may read.
    pub(crate) fn readable_results(
        &self,
        access: &Access<'_>,
        request: &SearchRequest,
    ) -> Result<SearchResults, WikiError> {
        self.indexer.before_search();
        let readable = self.searchable(access)?;
        let skip = (request.page_number - 1) * PER_PAGE;
        Ok(self
            .indexer
            .index()
            .search(&request.query, visible(&readable), skip, PER_PAGE)?)
    }

    /// The results page: hits with their links, paging, and the syntax help link.
    fn search_view(
        &self,
        exchange: &Exchange,
        request: SearchRequest,
        found: Option<SearchResults>,
    ) -> SearchView {
        let urls = &exchange.urls;
        let link = |name: String| PageLink {
            url: urls.page_text(&name),
            name,
        };
        let title = if request.is_empty() {
            "Search".to_owned()
        } else {
            format!("Search: {}", request.query)
        };
        let results = found.unwrap_or_default();
        let page_number = request.page_number;
        let page_count = results.total.div_ceil(PER_PAGE).min(MAX_PAGES);
        let page_url = |n: usize| urls.search(&request.query, n);
        SearchView {
            layout: self.layout(exchange, &title, None),
            prev_url: (page_number > 1).then(|| page_url(page_number - 1)),
            next_url: (page_number < page_count).then(|| page_url(page_number + 1)),
            syntax_url: urls.page(&search_help()),
            total: results.total,
            hits: results
                .hits
                .into_iter()
                .map(|hit| HitView {
                    url: match &hit.file {
                        Some(file) => urls.file_text(&hit.name, file),
                        None => urls.page_text(&hit.name),
                    },
                    page_url: hit.file.is_some().then(|| urls.page_text(&hit.name)),
                    name: match &hit.file {
                        Some(file) => format!("{file} on {}", hit.name),
                        None => hit.name,
                    },
                    snippet_html: hit.snippet_html,
                    author: hit.author,
                    time: hit.time,
                })
                .collect(),
            go_to: results.go_to.into_iter().map(link).collect(),
            did_you_mean: results.did_you_mean.into_iter().map(link).collect(),
            query: request.query,
            page_number,
            page_count,
        }
    }

    pub(crate) fn suggest(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let form = exchange.query()?;
        let query = search_text(form.get("q"))?;
        // No catching up here: suggestions are asked on every keystroke and must stay instant.
        let access = self.access(&exchange.viewer)?;
        let readable = self.searchable(&access)?;
        let names = self
            .indexer
            .index()
            .suggest(&query, visible(&readable), SUGGESTIONS)?;
        let answer = Suggestions {
            pages: names
                .into_iter()
                .map(|name| PageLink {
                    url: exchange.urls.page_text(&name),
                    name,
                })
                .collect(),
            query,
        };
        let body = serde_json::to_vec(&answer).map_err(HttpError::internal)?;
        Ok(typed_response(body, "application/json"))
    }
}

impl Wiki {
    /// The pages a search may show the viewer: those they may read, less those with a revision they
    /// may not read that the index may still hold. The index follows the revision log and may be
    /// behind it (a worker catching up, another process's saves): a page changed since its mark may
    /// still be indexed with an older text, and a page renamed since under the name it left, which
    /// is no page now and so no ACL guards. Such a page, and the name it left, are hidden until the
    /// index has caught up with them. When the index is more than [`LAGGING_REVISIONS`] behind,
    /// every page with a hidden past is (the names renames left are then not known; the worker
    /// catches up with that many revisions in seconds).
    fn searchable(&self, access: &Access<'_>) -> Result<ReadExceptions, WikiError> {
        let mut readable = access.read_exceptions();
        let guarded = access.pages_with_a_hidden_past();
        if guarded.is_empty() {
            return Ok(readable);
        }
        let indexed = self.indexer.index().indexed_up_to()?;
        match self
            .storage
            .pages_changed_after(indexed, LAGGING_REVISIONS)?
        {
            Some(changed) => {
                let guarded: std::collections::BTreeSet<&str> = guarded.into_iter().collect();
                for page in changed
                    .iter()
                    .filter(|page| guarded.contains(page.name.as_str()))
                {
                    readable.hide(&page.name);
                    if let Some(old_name) = &page.left {
                        readable.hide(old_name);
                    }
                }
            }
            None => guarded.into_iter().for_each(|page| readable.hide(page)),
        }
        Ok(readable)
    }
}

/// How many revisions the search index may be behind before [`Wiki::searchable`] stops looking at
/// which pages they changed.
const LAGGING_REVISIONS: usize = 2_000;

/// The pages `readable` lets the viewer read, as the index filters them.
fn visible(readable: &ReadExceptions) -> Visible<'_> {
    if readable.by_default {
        Visible::Except(&readable.pages)
    } else {
        Visible::Only(&readable.pages)
    }
}

/// `?q=`, bounded; absent means empty.
fn search_text(value: Option<&str>) -> Result<String, WikiError> {
    let text = value.unwrap_or("");
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(HttpError::bad_request(format!(
            "A search can be at most {MAX_QUERY_CHARS} characters long."
        ))
        .into());
    }
    Ok(text.to_owned())
}

fn search_help() -> PageName {
    PageName::parse("Help/Search").expect("a valid page name")
}
