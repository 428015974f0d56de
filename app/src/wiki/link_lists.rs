//! Views of the link graph: orphaned pages (nothing links to them), wanted pages (linked to, but
//! missing), wanted files (shown or linked with `attachment:`, not uploaded yet) and every page
//! that links to one (`/+backlinks/{Page}`). The first of those is part of the page view ("what
//! links here"), and a file's users part of its history. The graph itself lives in storage, filled
//! in on every save from the links markup finds; orphans and wanted pages are read from storage's
//! `link_names`, backlinks from its `backlinks`, a page at a time by name, so a page of any of them
//! costs the same whatever the size of the wiki or the number of links (the reader's rights are
//! applied to what is read, as everywhere: a hidden page is neither listed nor counted).

use std::collections::HashMap;

use gateway::Response;
use http::StatusCode;
use minijinja::Value;
use serde::Serialize;

use crate::wiki::plumbing::access::Access;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::name_pages::{page_by_name, page_by_name_within, MAX_EXAMINED};
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::params::filter_param;
use crate::wiki::plumbing::rows::Row;
use crate::wiki::plumbing::urls::Urls;
use crate::wiki::{Exchange, Wiki, WikiError};

/// Orphans one page of `/+orphans` shows.
const ORPHANS_PER_PAGE: usize = 200;

/// Wanted pages one page of `/+wanted` shows.
const WANTED_PER_PAGE: usize = 200;

/// Backlinks one page of `/+backlinks/{Page}` shows, as many as a page of orphans.
const BACKLINKS_PER_PAGE: usize = 200;

#[derive(Serialize)]
struct BacklinksView {
    #[serde(flatten)]
    layout: Layout,
    /// Rows of `name` and `url` ([`page_rows`]).
    backlinks: Value,
    /// No backlink to show on this page or after it.
    empty: bool,
    next_url: Option<String>,
    first_url: Option<String>,
}

#[derive(Serialize)]
struct OrphansView {
    #[serde(flatten)]
    layout: Layout,
    /// Rows of `name` and `url` ([`page_rows`]).
    orphans: Value,
    /// No orphan to show on this page or after it.
    empty: bool,
    next_url: Option<String>,
    first_url: Option<String>,
}

/// A link to each page of `names`: rows of `name` and `url`, made as template values (`rows`),
/// each URL written into one reused buffer.
fn page_rows(urls: &Urls, names: &[String]) -> Value {
    let mut url = String::new();
    Value::from_iter(names.iter().map(|name| {
        url.clear();
        urls.push_page_text(&mut url, name);
        Row::value(
            &["name", "url"],
            [Value::from(name.as_str()), Value::from(url.as_str())],
        )
    }))
}

#[derive(Serialize)]
struct WantedView {
    #[serde(flatten)]
    layout: Layout,
    /// Rows of `name`, `create_url` (the form that creates it) and `count` (how many pages the
    /// reader may read link to it), made as template values (`rows`).
    wanted: Value,
    /// No wanted page to show on this page or after it.
    empty: bool,
    next_url: Option<String>,
    first_url: Option<String>,
    /// Files pages show or link (`attachment:`) that are not uploaded yet.
    wanted_files: Vec<WantedFileRow>,
}

#[derive(Serialize)]
struct WantedFileRow {
    name: String,
    page: String,
    /// The page's upload form, the name filled in.
    upload_url: String,
    /// How many pages link to it.
    count: u64,
}

impl Wiki {
    /// `/+orphans`, by name, a page at a time (`?after=`, `name_pages`).
    pub(crate) fn orphans(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let after = filter_param(exchange.query()?.get("after"), "after")?;
        let front = self.settings.front_page.as_str();
        let access = self.access(&exchange.viewer)?;
        let (names, next) = page_by_name(
            after.clone(),
            ORPHANS_PER_PAGE,
            |after, limit| {
                let names = self.storage.orphans_from(after, limit)?;
                Ok(names.into_iter().map(|name| (name, true)).collect())
            },
            // The front page is reached from the root and every header; it needs no links.
            |name| name != front && access.can_read(name),
        )?;
        let urls = &exchange.urls;
        let view = OrphansView {
            layout: self.layout(exchange, "Orphaned pages", None),
            empty: names.is_empty() && next.is_none(),
            orphans: page_rows(urls, &names),
            next_url: next.map(|after| urls.orphans(Some(&after))),
            first_url: after.is_some().then(|| urls.orphans(None)),
        };
        self.html(StatusCode::OK, "orphans.html", view)
    }

    /// `/+backlinks/{Page}`: the pages whose current revision links to `name` that the reader may
    /// read, by name, a page at a time (`?after=`, `name_pages`). A page that does not exist has
    /// its backlinks too: those are what want it.
    pub(crate) fn backlinks(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let after = filter_param(exchange.query()?.get("after"), "after")?;
        let access = self.access(&exchange.viewer)?;
        let (names, next) = self.readable_backlinks(
            &access,
            name,
            after.clone(),
            BACKLINKS_PER_PAGE,
            MAX_EXAMINED,
        )?;
        let urls = &exchange.urls;
        let view = BacklinksView {
            layout: self.layout(exchange, &format!("Pages that link to {name}"), Some(name)),
            empty: names.is_empty() && next.is_none(),
            backlinks: page_rows(urls, &names),
            next_url: next.map(|after| urls.backlinks(name, Some(&after))),
            first_url: after.is_some().then(|| urls.backlinks(name, None)),
        };
        self.html(StatusCode::OK, "backlinks.html", view)
    }

    /// Up to `per_page` pages the reader may read whose current revision links to `name`, after
    /// the name `after`, by name, reading at most `max_examined` names; and the cursor of the
    /// next page, if there may be one (`name_pages::page_by_name_within`). For the page view's
    /// first backlinks and for `/+backlinks/{Page}`.
    pub(crate) fn readable_backlinks(
        &self,
        access: &Access<'_>,
        name: &PageName,
        after: Option<String>,
        per_page: usize,
        max_examined: usize,
    ) -> Result<(Vec<String>, Option<String>), WikiError> {
        page_by_name_within(
            after,
            per_page,
            max_examined,
            |after, limit| {
                let names = self.storage.backlinks_from(name.as_str(), after, limit)?;
                Ok(names.into_iter().map(|name| (name, true)).collect())
            },
            |source| access.can_read(source),
        )
    }

    /// `/+wanted`, by name, a page at a time (`?after=`, `name_pages`), each with how many pages
    /// this reader may read link to it; wanted files on the first page.
    pub(crate) fn wanted(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let after = filter_param(exchange.query()?.get("after"), "after")?;
        let access = self.access(&exchange.viewer)?;
        let mut counts: HashMap<String, u64> = HashMap::new();
        let (names, next) = page_by_name(
            after.clone(),
            WANTED_PER_PAGE,
            |after, limit| {
                let mut batch = Vec::new();
                for (name, mut count) in self.storage.wanted_from(after, limit)? {
                    // A link is part of its page's text: count only the links of pages this
                    // reader may read, and list no name only hidden pages link to.
                    if access.hides_anything() {
                        count = self
                            .storage
                            .backlinks(&name)?
                            .iter()
                            .filter(|source| access.can_read(source))
                            .count() as u64;
                    }
                    batch.push((name.clone(), count > 0));
                    counts.insert(name, count);
                }
                Ok(batch)
            },
            |_| true,
        )?;
        let urls = &exchange.urls;
        let empty = names.is_empty() && next.is_none();
        let mut url = String::new();
        let wanted = Value::from_iter(names.iter().map(|name| {
            url.clear();
            urls.push_edit_text(&mut url, name);
            Row::value(
                &["name", "create_url", "count"],
                [
                    Value::from(name.as_str()),
                    Value::from(url.as_str()),
                    Value::from(counts.get(name).copied().unwrap_or_default()),
                ],
            )
        }));
        let next_url = next.map(|after| urls.wanted(Some(&after)));
        if after.is_some() {
            let view = WantedView {
                layout: self.layout(exchange, "Wanted pages", None),
                wanted,
                empty,
                next_url,
                first_url: Some(urls.wanted(None)),
                wanted_files: Vec::new(),
            };
            return self.html(StatusCode::OK, "wanted.html", view);
        }
        let mut wanted_files = Vec::new();
        for file in self.storage.wanted_files()? {
            let mut count = file.links;
            if access.hides_anything() {
                count = self
                    .storage
                    .file_backlinks(&file.page, &file.name)?
                    .iter()
                    .filter(|source| access.can_read(source))
                    .count() as u64;
                if count == 0 {
                    continue;
                }
            }
            wanted_files.push(WantedFileRow {
                upload_url: exchange.urls.upload_text(&file.page, &file.name),
                name: file.name,
                page: file.page,
                count,
            });
        }
        let view = WantedView {
            layout: self.layout(exchange, "Wanted pages", None),
            wanted,
            empty,
            next_url,
            first_url: None,
            wanted_files,
        };
        self.html(StatusCode::OK, "wanted.html", view)
    }
}
