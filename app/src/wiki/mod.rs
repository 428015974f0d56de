//! The wiki itself: controllers that see only the gateway's request and
//! response.
//!
//! Architecture invariant: nothing in this module names a particular
//! gateway or protocol adapter. It is one [`gateway::App`]; the entry points
//! in `crate::commands` decide how requests reach it.

mod assets;
mod blame;
mod context;
pub mod diff;
mod error;
mod feeds;
mod graph;
mod history;
mod lifecycle;
mod links;
mod merge;
pub mod page_name;
mod pages;
mod recent;
mod routes;
mod search;
mod theme;
pub mod urls;

use std::sync::Arc;

use gateway::{App, IntoResponse, Request, Response};
use http::Method;
use storage::Storage;

use crate::indexer::Indexer;
use themes::Themes;

pub use self::error::WikiError;
use self::page_name::PageName;
use self::routes::Route;
use self::urls::Urls;

/// Site-wide settings the controllers need.
#[derive(Debug, Clone)]
pub struct WikiSettings {
    /// Shown in the header and page titles.
    pub site_name: String,
    /// The page shown at `/`.
    pub front_page: PageName,
    /// The page the header's "Help" link opens.
    pub help_page: PageName,
    /// Whether page views use the rendered HTML stored in the database (`render_cache` in
    /// `quire.toml`); off, every view renders the Markdown again.
    pub render_cache: bool,
    /// The Markdown dialect: interwiki prefixes, CamelCase links.
    pub markup: markup::RenderOptions,
    /// The largest page text a save or preview accepts, in bytes.
    pub max_page_bytes: usize,
    /// The site's theme (`theme` in `quire.toml`), for readers who chose none.
    pub theme: String,
}

/// The wiki as a gateway app.
pub struct Wiki {
    storage: Arc<Storage>,
    indexer: Arc<Indexer>,
    themes: Themes,
    settings: WikiSettings,
}

/// What a controller gets: the request, and URLs under its mount.
struct Exchange {
    request: Request,
    urls: Urls,
}

impl Exchange {
    fn query(&self) -> Result<gateway::form::Form, WikiError> {
        Ok(gateway::form::Form::parse(self.request.query().as_bytes())?)
    }
}

impl Wiki {
    /// A wiki over `storage`, drawn with `themes`, searched through `indexer` (which keeps its index
    /// fresh from the same storage).
    pub fn new(
        storage: Arc<Storage>,
        indexer: Arc<Indexer>,
        themes: Themes,
        settings: WikiSettings,
    ) -> Self {
        Wiki {
            storage,
            indexer,
            themes,
            settings,
        }
    }

    fn dispatch(&self, exchange: &mut Exchange) -> Result<Response, WikiError> {
        let route = Route::parse(exchange.request.path_info())?;
        let method = exchange.request.method().clone();
        let readable = method == Method::GET || method == Method::HEAD;
        match route {
            Route::Root if readable => {
                let front = self.settings.front_page.clone();
                self.view_page(exchange, &front)
            }
            Route::View(name) if readable => self.view_page(exchange, &name),
            Route::Raw(name) if readable => self.raw_page(exchange, &name),
            Route::Edit(name) if readable => self.edit_form(exchange, &name),
            Route::Edit(name) if method == Method::POST => self.save_page(exchange, &name),
            Route::History(name) if readable => self.history(exchange, &name),
            Route::Diff(name) if readable => self.diff(exchange, &name),
            Route::Revert(name) if method == Method::POST => self.revert(exchange, &name),
            Route::Blame(name) if readable => self.blame(exchange, &name),
            Route::Info(name) if readable => self.info(exchange, &name),
            Route::Rename(name) if readable => self.rename_form(exchange, &name),
            Route::Rename(name) if method == Method::POST => self.rename(exchange, &name),
            Route::Delete(name) if readable => self.confirm_form(exchange, &name, "delete"),
            Route::Delete(name) if method == Method::POST => self.delete(exchange, &name),
            Route::Undelete(name) if readable => self.confirm_form(exchange, &name, "undelete"),
            Route::Undelete(name) if method == Method::POST => self.undelete(exchange, &name),
            Route::Recent if readable => self.recent(exchange),
            Route::Contributions(user) if readable => self.contributions(exchange, &user),
            Route::Feed(format, page) if readable => self.feed(exchange, format, page.as_ref()),
            Route::Orphans if readable => self.orphans(exchange),
            Route::Wanted if readable => self.wanted(exchange),
            Route::Search if readable => self.search(exchange),
            Route::Suggest if readable => self.suggest(exchange),
            Route::Static(path) if readable => self.asset(&path),
            Route::Edit(_) | Route::Rename(_) | Route::Delete(_) | Route::Undelete(_) => {
                Ok(self.method_not_allowed(exchange, "GET, HEAD, POST"))
            }
            Route::Revert(_) => Ok(self.method_not_allowed(exchange, "POST")),
            _ => Ok(self.method_not_allowed(exchange, "GET, HEAD")),
        }
    }
}

impl App for Wiki {
    fn call(&self, request: Request) -> Response {
        let urls = Urls::new(request.mount());
        let mut exchange = Exchange { request, urls };
        match self.dispatch(&mut exchange) {
            Ok(response) => response,
            Err(err) => self.error_page(&exchange, err).into_response(),
        }
    }
}
