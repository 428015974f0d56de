//! `/+search?q=…` (ranked results with snippets, paged) and `/+suggest?q=…` (page names as JSON,
//! for search-as-you-type).
//!
//! The query syntax is the `search` crate's; the `Help/Search` page documents it for users. The index
//! is only opened here, never by a page view.

use gateway::form::Form;
use gateway::{HttpError, Response};
use http::StatusCode;
use search::SearchResults;
use serde::Serialize;

use crate::wiki::plumbing::access::Access;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::respond::typed_response;
use crate::wiki::{Exchange, Wiki, WikiError};

/// Results per page.
const PER_PAGE: usize = 20;
/// Result pages reachable; deeper paging is never useful and costs a sort of everything.
const MAX_PAGES: usize = 50;
/// Longest query taken.
const MAX_QUERY_CHARS: usize = 500;
/// Suggestions answered.
const SUGGESTIONS: usize = 10;

#[derive(Serialize)]
struct SearchView {
    #[serde(flatten)]
    layout: Layout,
    query: String,
    total: usize,
    /// Some pages are hidden from this viewer and the index matched more than the window ranked:
    /// `total` counts only the readable hits of the window, and the rest is not counted, since the
    /// index's count would include hidden pages.
    more_than_total: bool,
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
    name: String,
    url: String,
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
struct SearchRequest {
    query: String,
    /// Counts from 1, at most [`MAX_PAGES`].
    page_number: usize,
}

impl SearchRequest {
    fn parse(form: &Form) -> Result<SearchRequest, WikiError> {
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

    fn is_empty(&self) -> bool {
        self.query.trim().is_empty()
    }
}

/// One page of results as one viewer may see them.
struct ReadableResults {
    results: SearchResults,
    /// See [`SearchView::more_than_total`].
    more_than_total: bool,
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

    /// The page of results `request` asks for, with every hit, "go to" and "did you mean" the
    /// viewer may not read taken out, and counted after that.
    fn readable_results(
        &self,
        access: &Access<'_>,
        request: &SearchRequest,
    ) -> Result<ReadableResults, WikiError> {
        self.indexer.before_search();
        let index = self.indexer.index();
        let query = &request.query;
        let skip = (request.page_number - 1) * PER_PAGE;
        if !access.hides_anything() {
            return Ok(ReadableResults {
                results: index.search(query, skip, PER_PAGE)?,
                more_than_total: false,
            });
        }
        // Some pages are hidden from this viewer: rank every reachable hit, drop the hidden ones and
        // page here, so that neither the hits, their snippets nor the count show anything of them.
        // Past the ranked window nothing is counted: the index's count would include hidden pages,
        // so the page says there may be more.
        let window = MAX_PAGES * PER_PAGE;
        let mut results = index.search(query, 0, window)?;
        let more_than_total = results.total > window;
        results.hits.retain(|hit| access.can_read(&hit.name));
        results.total = results.hits.len();
        results.hits = results.hits.into_iter().skip(skip).take(PER_PAGE).collect();
        results.go_to.retain(|name| access.can_read(name));
        // A suggestion is a word of some page; offer only those that find a readable page.
        let mut kept = Vec::new();
        for word in std::mem::take(&mut results.did_you_mean) {
            let found = index.search(&word, 0, PER_PAGE)?;
            if found.hits.iter().any(|hit| access.can_read(&hit.name)) {
                kept.push(word);
            }
        }
        results.did_you_mean = kept;
        Ok(ReadableResults {
            results,
            more_than_total,
        })
    }

    /// The results page: hits with their links, paging, and the syntax help link.
    fn search_view(
        &self,
        exchange: &Exchange,
        request: SearchRequest,
        found: Option<ReadableResults>,
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
        let (results, more_than_total) = match found {
            Some(found) => (found.results, found.more_than_total),
            None => (SearchResults::default(), false),
        };
        let page_number = request.page_number;
        let page_count = results.total.div_ceil(PER_PAGE).min(MAX_PAGES);
        let page_url = |n: usize| urls.search(&request.query, n);
        SearchView {
            layout: self.layout(exchange, &title, None),
            prev_url: (page_number > 1).then(|| page_url(page_number - 1)),
            next_url: (page_number < page_count).then(|| page_url(page_number + 1)),
            syntax_url: urls.page(&search_help()),
            total: results.total,
            more_than_total,
            hits: results
                .hits
                .into_iter()
                .map(|hit| HitView {
                    url: urls.page_text(&hit.name),
                    name: hit.name,
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
        let names = if access.hides_anything() {
            let mut names = self.indexer.index().suggest(&query, SUGGESTIONS * 5)?;
            names.retain(|name| access.can_read(name));
            names.truncate(SUGGESTIONS);
            names
        } else {
            self.indexer.index().suggest(&query, SUGGESTIONS)?
        };
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
