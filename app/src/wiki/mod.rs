//! The wiki itself: controllers that see only the gateway's request and
//! response.
//!
//! Architecture invariant: nothing in this module names a particular
//! gateway or protocol adapter. It is one [`gateway::App`]; the entry points
//! in `crate::commands` decide how requests reach it.

mod accounts;
pub mod api;
mod assets;
mod audit;
pub(crate) mod files;
pub mod history;
mod link_lists;
mod metrics;
mod operator;
pub(crate) mod page_index;
mod pages;
pub mod plumbing;
pub(crate) mod search;
pub mod watching;

use std::sync::Arc;

use gateway::middleware::{CsrfRefused, RefusalDrawn};
use gateway::{App, IntoResponse, Request, Response};
use http::Method;
use storage::Storage;

use crate::config::Settings;
use crate::indexer::Indexer;
use themes::Themes;

pub use self::plumbing::error::WikiError;
pub(crate) use self::plumbing::routes::Route;
use self::plumbing::urls::Urls;
use self::plumbing::viewer::Viewer;

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
    acl_cache: plumbing::access::AclCache,
    /// This process's counters, for `/+metrics`.
    metrics: metrics::Metrics,
    /// How many previews (renders of unsaved text) may run at once in this process.
    render_permits: pages::render::RenderPermits,
    /// Finished page views, kept by a long-running process (`plumbing::response_cache`).
    response_cache: plumbing::response_cache::ResponseCache,
    /// One thumbnail is made at a time in this process: decoding a large image takes as much
    /// memory as its pixels (`media`'s limits bound one decode), so uploads queue here rather than
    /// add up.
    thumbnail_permit: std::sync::Mutex<()>,
    /// Wakes the mail worker after a change (`crate::notifier`); nothing under CGI.
    notifier: crate::notifier::Wake,
    /// Where links in mail start, as the last save in this process saw it.
    seen_origin: watching::letters::SeenOrigin,
    /// Each API token's requests this minute, counted in a long-running process (`api`).
    api_limits: api::RequestLimits,
    /// The names `template_pages` matches, under the change count they were read at.
    template_names: pages::templates::TemplateNames,
}

/// How many requests a process answers: what is worth keeping between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// A CGI process.
    OneRequest,
    /// `quire serve`, and the FastCGI and SCGI servers.
    ManyRequests,
}

/// What a controller gets: the request, URLs under its mount, and who is asking.
pub(crate) struct Exchange {
    pub(crate) request: Request,
    pub(crate) urls: Urls,
    pub(crate) viewer: Viewer,
}

impl Exchange {
    pub(crate) fn query(&self) -> Result<gateway::form::Form, WikiError> {
        Ok(gateway::form::Form::parse(self.request.query().as_bytes())?)
    }
}

impl Wiki {
    /// A wiki over `storage`, drawn with `themes`, searched through `indexer` (which keeps its index
    /// fresh from the same storage), answering requests for as long as `lifetime` says.
    pub fn new(
        storage: Arc<Storage>,
        indexer: Arc<Indexer>,
        themes: Themes,
        settings: Settings,
        lifetime: Lifetime,
        notifier: crate::notifier::Wake,
    ) -> Self {
        // A process that answers one request has nothing to keep views for, and one that reloads
        // its themes would keep views drawn with templates since changed.
        let keeps_views = lifetime == Lifetime::ManyRequests && !themes.reloads();
        let response_cache = plumbing::response_cache::ResponseCache::new(if keeps_views {
            settings.response_cache_bytes
        } else {
            0
        });
        Wiki {
            response_cache,
            storage,
            indexer,
            themes,
            markup: settings.render_options(),
            acl: settings.acl_policy(),
            settings,
            acl_cache: plumbing::access::AclCache::default(),
            metrics: metrics::Metrics::default(),
            render_permits: pages::render::RenderPermits::per_core(),
            thumbnail_permit: std::sync::Mutex::new(()),
            notifier,
            seen_origin: watching::letters::SeenOrigin::default(),
            api_limits: api::RequestLimits::new(lifetime),
            template_names: pages::templates::TemplateNames::default(),
        }
    }

    fn dispatch(&self, exchange: &mut Exchange) -> Result<Response, WikiError> {
        self.check_host(&exchange.request)?;
        if let Some(response) = self.without_trailing_slash(exchange) {
            return Ok(response);
        }
        let route =
            Route::parse(exchange.request.path_info())?.for_method(exchange.request.method());
        if let Some(refused) = exchange.request.extensions().get::<CsrfRefused>().cloned() {
            return self.draw_csrf_refusal(exchange, route, refused.form());
        }
        if let Some(response) = self.login_gate(exchange, &route)? {
            return Ok(response);
        }
        let method = exchange.request.method().clone();
        // The one ACL check for routes that name a page; listings filter themselves.
        if let Err(err) = self.check_route(&exchange.viewer, &route) {
            // A save the database could not even be asked about (unreachable, say) keeps its text,
            // as a save it refused does.
            if let Route::Edit(name) = &route {
                if method == Method::POST {
                    return self.keep_text_after(exchange, name, err);
                }
            }
            return Err(err);
        }
        let methods = route.methods();
        if !methods.allows(&method) {
            return Ok(self.method_not_allowed(exchange, methods.allow()));
        }
        // Past the check above a route answers reads and, where it takes them, posts.
        let posting = method == Method::POST;
        match route {
            Route::Root => {
                let front = self.settings.front_page.clone();
                self.view_page(exchange, &front)
            }
            Route::View(name) => self.view_page(exchange, &name),
            Route::Raw(name) => self.raw_page(exchange, &name),
            Route::Edit(name) if posting => self.save_page(exchange, &name),
            Route::Edit(name) => self.edit_form(exchange, &name),
            Route::Draft(name) => self.save_draft(exchange, &name),
            Route::History(name) => self.history(exchange, &name),
            Route::Diff(name) => self.diff(exchange, &name),
            Route::Revert(name) => self.revert(exchange, &name),
            Route::Blame(name) => self.blame(exchange, &name),
            Route::Info(name) => self.info(exchange, &name),
            Route::Backlinks(name) => self.backlinks(exchange, &name),
            Route::Rename(name) if posting => self.rename(exchange, &name),
            Route::Rename(name) => self.rename_form(exchange, &name),
            Route::Delete(name) if posting => self.delete(exchange, &name),
            Route::Delete(name) => self.confirm_form(exchange, &name, false),
            Route::Undelete(name) if posting => self.undelete(exchange, &name),
            Route::Undelete(name) => self.confirm_form(exchange, &name, true),
            Route::Recent => self.recent(exchange),
            Route::Contributions(user) => self.contributions(exchange, &user),
            Route::Feed(format, page) => self.feed(exchange, format, page.as_ref()),
            Route::Index => self.page_index(exchange),
            Route::Orphans => self.orphans(exchange),
            Route::Wanted => self.wanted(exchange),
            Route::Search => self.search(exchange),
            Route::Suggest => self.suggest(exchange),
            Route::Static(path) => self.asset(&path),
            Route::Login if posting => self.login(exchange),
            Route::Login => self.login_form(exchange),
            Route::Logout => self.logout(exchange),
            Route::Register if posting => self.register(exchange),
            Route::Register => self.register_form(exchange),
            Route::Prefs if posting => self.save_prefs(exchange),
            Route::Prefs => self.prefs_form(exchange),
            Route::Admin if posting => self.admin_action(exchange),
            Route::Admin => self.admin(exchange),
            Route::Robots => self.robots(exchange),
            Route::Healthz => self.healthz(),
            Route::Sitemap => self.sitemap(exchange),
            Route::Metrics => self.metrics(exchange),
            Route::Files(name) => self.files(exchange, &name),
            Route::Upload(name) => self.upload(exchange, &name),
            Route::File(file) => self.download(exchange, &file),
            Route::Thumbnail(file) => self.thumbnail(exchange, &file),
            Route::FileHistory(file) => self.file_history(exchange, &file),
            Route::DeleteFile(file) if posting => self.delete_file(exchange, &file),
            Route::DeleteFile(file) => self.delete_file_form(exchange, &file),
            Route::RestoreFile(file) => self.restore_file(exchange, &file),
            Route::Watch(name) => self.watch(exchange, &name),
            Route::Watching if posting => self.change_watching(exchange),
            Route::Watching => self.watching(exchange),
            Route::WatchFeed => self.watched_feed(exchange),
            Route::Bookmark => self.set_bookmark(exchange),
            // `Wiki::answer` hands every path under `/+api/` to `api_answer` before dispatch.
            Route::Api(_) => Err(gateway::HttpError::not_found(
                "The API's addresses are under /+api/v1/ (see /+api/v1/openapi.json).",
            )
            .into()),
        }
    }
}

impl Wiki {
    /// With `allowed_hosts` set, a request naming another host is refused before anything else:
    /// the Host header is the client's to choose, and absolute URLs would carry it. Every Host
    /// header must be allowed (a second one must not slip past); a request with none (HTTP/1.0, a
    /// CGI without `HTTP_HOST`) names no host and is answered.
    fn check_host(&self, request: &Request) -> Result<(), WikiError> {
        let allowed = request
            .headers()
            .get_all(http::header::HOST)
            .iter()
            .all(|host| self.settings.allows_host(host.to_str().unwrap_or_default()));
        if allowed {
            return Ok(());
        }
        Err(gateway::HttpError::bad_request(
            "This wiki does not answer for the host this request names (allowed_hosts in quire.toml).",
        )
        .into())
    }

    /// Where absolute URLs start: `base_url` when set, else the origin the request names.
    pub(crate) fn origin(&self, request: &Request) -> String {
        self.settings
            .base_url
            .clone()
            .unwrap_or_else(|| request.origin())
    }
}

impl App for Wiki {
    fn call(&self, request: Request) -> Response {
        let started = std::time::Instant::now();
        let route = metrics::RouteLabel::of(request.path_info());
        let response = self.answer(request);
        self.metrics
            .observe(route, response.status(), started.elapsed());
        response
    }
}

impl Wiki {
    /// The response to `request`, marked personal.
    fn answer(&self, request: Request) -> Response {
        // The API finds its viewer its own way (a bearer token first) and answers in JSON.
        if request
            .path_info()
            .starts_with(api::bearer_paths().as_bytes())
        {
            return mark_personal(self.api_answer(request));
        }
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
            // Who sent a save could not be read (the database unreachable, say): the text comes
            // back all the same.
            let posted = exchange.request.method() == Method::POST;
            let route = Route::parse(exchange.request.path_info());
            let answer = if let (true, Ok(Route::Edit(name))) = (posted, route) {
                self.keep_text_after(&mut exchange, &name, err.into())
            } else {
                Err(err.into())
            };
            return mark_personal(
                answer
                    .unwrap_or_else(|err| self.error_page(&exchange, err))
                    .into_response(),
            );
        }
        let cacheable = self.cacheable_view(&exchange);
        if let Some(hit) = cacheable
            .as_ref()
            .and_then(|view| self.response_cache.get(view))
        {
            return mark_personal(hit);
        }
        let mut response = match self.dispatch(&mut exchange) {
            Ok(response) => response,
            Err(err) => self.error_page(&exchange, err).into_response(),
        };
        if let Some(view) = cacheable {
            self.response_cache.keep(view, &exchange, &mut response);
        }
        // A form the CSRF check refused is answered with a themed page, whatever it is.
        if exchange.request.extensions().get::<CsrfRefused>().is_some() {
            response.extensions_mut().insert(RefusalDrawn);
        }
        mark_personal(response)
    }
}

impl Wiki {
    /// The page view `exchange` asks for, if the response cache may answer or keep it: with the
    /// change count read now, before anything is drawn (a write after this read makes what is drawn
    /// next look stale, never the other way round). A request for a host the wiki does not answer is
    /// left to dispatch to refuse.
    fn cacheable_view(&self, exchange: &Exchange) -> Option<plumbing::response_cache::Cacheable> {
        let key = self.response_cache.key(exchange)?;
        self.check_host(&exchange.request).ok()?;
        match self.storage.change_count() {
            Ok(changes) => Some(plumbing::response_cache::ResponseCache::under(key, changes)),
            Err(err) => {
                tracing::warn!(error = %err, "could not read the change counter; the view is drawn");
                None
            }
        }
    }
}

/// Marks a response as one viewer's, unless it chose to be shared.
///
/// What the wiki answers depends on who asks, whatever its type: a page shows who is logged in, their
/// theme and mode; a page, raw text, feed, suggestion list, error or redirect shows only what the
/// viewer's ACLs allow. So the rule is that every response is personal, and a shared cache must not
/// store it (`private`); a browser keeps it under the cookies it was fetched with (`Vary: Cookie`)
/// and revalidates it (`no-cache`: `ConditionalGet`'s ETag makes that a 304 when nothing changed,
/// and the 304 keeps these headers). The one exception is a response that explicitly chose public
/// caching with a `public` directive (the static assets, which depend on no one): it is left as it
/// is. A response with caching of its own that is not public (`no-store`, say) keeps it and becomes
/// `private` too.
fn mark_personal(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let own = headers
        .get(http::header::CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .trim()
        .to_owned();
    let has = |directive: &str| {
        own.split(',')
            .any(|word| word.trim().eq_ignore_ascii_case(directive))
    };
    if has("public") {
        return response;
    }
    let cache_control = if own.is_empty() {
        "private, no-cache".to_owned()
    } else if has("private") {
        own
    } else {
        format!("private, {own}")
    };
    let cache_control = http::HeaderValue::try_from(cache_control)
        .expect("a header value's own text, with ASCII words added, is a header value");
    headers.insert(http::header::CACHE_CONTROL, cache_control);
    headers.append(http::header::VARY, http::HeaderValue::from_static("Cookie"));
    response
}
