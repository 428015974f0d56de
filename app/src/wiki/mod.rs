//! The wiki itself: controllers that see only the gateway's request and
//! response.
//!
//! Architecture invariant: nothing in this module names a particular
//! gateway or protocol adapter. It is one [`gateway::App`]; the entry points
//! in `crate::commands` decide how requests reach it.

mod access;
mod accounts;
mod admin;
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
mod prefs;
mod recent;
mod routes;
mod search;
mod theme;
pub mod urls;
mod viewer;

use std::sync::Arc;

use gateway::{App, IntoResponse, Request, Response};
use http::Method;
use storage::Storage;

use crate::config::Settings;
use crate::indexer::Indexer;
use themes::Themes;

pub use self::error::WikiError;
use self::routes::Route;
use self::urls::Urls;
use self::viewer::Viewer;

/// The wiki as a gateway app.
pub struct Wiki {
    storage: Arc<Storage>,
    indexer: Arc<Indexer>,
    themes: Themes,
    /// `quire.toml` and the command line, as the controllers read them.
    settings: Settings,
    /// The Markdown dialect, from `camel_case` and `[interwiki]`.
    markup: markup::RenderOptions,
    /// Who may do what to which page, from `[acl]` and `[groups]`.
    acl: crate::acl::Policy,
    /// Every page's ACL line, kept between requests of a long-running process.
    acl_cache: access::AclCache,
}

/// What a controller gets: the request, URLs under its mount, and who is asking.
struct Exchange {
    request: Request,
    urls: Urls,
    viewer: Viewer,
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
        settings: Settings,
    ) -> Self {
        Wiki {
            storage,
            indexer,
            themes,
            markup: settings.render_options(),
            acl: settings.acl_policy(),
            settings,
            acl_cache: access::AclCache::default(),
        }
    }

    fn dispatch(&self, exchange: &mut Exchange) -> Result<Response, WikiError> {
        let route = Route::parse(exchange.request.path_info())?;
        if let Some(response) = self.login_gate(exchange, &route)? {
            return Ok(response);
        }
        // The one ACL check for routes that name a page; listings filter themselves.
        self.check_route(&exchange.viewer, &route)?;
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
            Route::Login if readable => self.login_form(exchange),
            Route::Login if method == Method::POST => self.login(exchange),
            Route::Logout if method == Method::POST => self.logout(exchange),
            Route::Register if readable => self.register_form(exchange),
            Route::Register if method == Method::POST => self.register(exchange),
            Route::Prefs if readable => self.prefs_form(exchange),
            Route::Prefs if method == Method::POST => self.save_prefs(exchange),
            Route::Admin if readable => self.admin(exchange),
            Route::Admin if method == Method::POST => self.admin_action(exchange),
            Route::Login | Route::Register | Route::Prefs | Route::Admin => {
                Ok(self.method_not_allowed(exchange, "GET, HEAD, POST"))
            }
            Route::Logout => Ok(self.method_not_allowed(exchange, "POST")),
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
        let viewer = Viewer::of(&request, &self.storage);
        let (viewer, failed) = match viewer {
            Ok(viewer) => (viewer, None),
            Err(err) => (Viewer::anonymous("unknown".to_owned(), None), Some(err)),
        };
        let mut exchange = Exchange {
            request,
            urls,
            viewer,
        };
        if let Some(err) = failed {
            return self.error_page(&exchange, err.into()).into_response();
        }
        let response = match self.dispatch(&mut exchange) {
            Ok(response) => response,
            Err(err) => self.error_page(&exchange, err).into_response(),
        };
        mark_personal(response)
    }
}

/// Pages show who is logged in, their theme and mode, and only what their ACLs allow, so an HTML
/// page is one reader's: a shared cache must not store it (`private`), and a browser revalidates it
/// (`no-cache`: the ETag makes that a 304 when nothing changed) under the cookies it was fetched
/// with (`Vary: Cookie`). Responses that chose their own caching (hashed assets, feeds) keep it.
fn mark_personal(mut response: Response) -> Response {
    let is_html = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if !is_html {
        return response;
    }
    let headers = response.headers_mut();
    if !headers.contains_key(http::header::CACHE_CONTROL) {
        headers.insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("private, no-cache"),
        );
    }
    headers.append(http::header::VARY, http::HeaderValue::from_static("Cookie"));
    response
}
