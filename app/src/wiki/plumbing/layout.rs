//! What templates are given: the layout every page shares, and page links.
//!
//! The keys here are the contract with `themes`' templates, which render
//! with strict undefined-variable checks: a key missing here is a test
//! failure, not a blank on a page.

use serde::Serialize;

use crate::wiki::history::feeds::FeedFormat;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::plumbing::theme::ThemeInfo;
use crate::wiki::plumbing::urls::Urls;
use crate::wiki::{Exchange, Wiki};

/// Keys every template gets.
#[derive(Debug, Serialize)]
pub struct Layout {
    pub site_name: String,
    pub title: String,
    pub static_url: String,
    pub nav: Nav,
    pub page: Option<PageLinks>,
    /// The theme and colour mode this page is drawn in (`wiki::theme`).
    pub theme: ThemeInfo,
    /// Feeds announced with `<link rel="alternate">`: the page's when there is one, and the site's.
    pub feeds: Vec<FeedLink>,
    /// The logged-in account; `None` for anonymous readers.
    pub user: Option<UserInfo>,
    /// The session's CSRF token: every POST form embeds it as the hidden field `csrf_token`. Made
    /// only when a template prints it (see `LazyCsrfToken`).
    pub csrf_token: minijinja::Value,
}

/// The CSRF token as a template value that asks the session for it only when printed. The gateway
/// makes a token (and so a session cookie) the first time it is asked for one, so a page without a
/// form, such as the page view an anonymous reader gets, sets no cookie, stays cacheable and costs
/// no sealing.
#[derive(Debug)]
struct LazyCsrfToken(Option<gateway::middleware::CsrfToken>);

impl minijinja::value::Object for LazyCsrfToken {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }

    fn render(self: &std::sync::Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(token) => f.write_str(&token.value()),
            None => Ok(()),
        }
    }
}

/// The logged-in account, as the header shows it.
#[derive(Debug, Serialize)]
pub struct UserInfo {
    pub name: String,
    pub display_name: String,
    pub prefs_url: String,
    pub is_admin: bool,
}

/// A feed for `<link rel="alternate" type=… title=… href=…>`.
#[derive(Debug, Serialize)]
pub struct FeedLink {
    pub title: String,
    pub url: String,
    #[serde(rename = "type")]
    pub media_type: &'static str,
}

/// The site navigation.
#[derive(Debug, Serialize)]
pub struct Nav {
    pub front_url: String,
    pub recent_url: String,
    /// `/+index`: every page by name.
    pub index_url: String,
    pub help_url: String,
    pub search_url: String,
    /// Page names matching a prefix, as JSON, for the search box's suggestions.
    pub suggest_url: String,
    /// The login form, coming back to this page after.
    pub login_url: String,
    /// Logging out is a POST (a link could be followed by a prefetcher or another site).
    pub logout_url: String,
    /// `None` when registration is closed.
    pub register_url: Option<String>,
    pub prefs_url: String,
    pub admin_url: String,
    /// `/+watching`: what an account watches.
    pub watching_url: String,
}

/// A page's name and the URLs of what can be done with it.
#[derive(Debug, Serialize)]
pub struct PageLinks {
    pub name: String,
    pub view_url: String,
    pub edit_url: String,
    pub history_url: String,
    pub raw_url: String,
    pub blame_url: String,
    pub info_url: String,
    pub rename_url: String,
    pub delete_url: String,
    /// The page's files and their upload form.
    pub files_url: String,
    /// How many files the page has (its "Attachments (N)" link).
    pub file_count: u64,
    pub parents: Vec<Crumb>,
    /// Whether the viewer may see the page's past and take the actions that change it, by the same
    /// check dispatch makes (`Access::allows`): a theme shows a link only to those who may follow it.
    pub may: PageRights,
}

/// What the viewer may do to a page, for the links a template shows.
#[derive(Debug, Default, Serialize)]
pub struct PageRights {
    /// History, blame and info: the page's past, which may be more protected than its text.
    pub history: bool,
    pub edit: bool,
    pub rename: bool,
    pub delete: bool,
}

/// One step of a subpage's breadcrumb trail.
#[derive(Debug, Serialize)]
pub struct Crumb {
    pub name: String,
    pub url: String,
}

impl PageLinks {
    pub fn new(urls: &Urls, name: &PageName, may: PageRights, file_count: u64) -> Self {
        PageLinks {
            name: name.to_string(),
            view_url: urls.page(name),
            edit_url: urls.to(&Route::Edit(name.clone())),
            history_url: urls.to(&Route::History(name.clone())),
            raw_url: urls.to(&Route::Raw(name.clone())),
            blame_url: urls.to(&Route::Blame(name.clone())),
            info_url: urls.to(&Route::Info(name.clone())),
            rename_url: urls.to(&Route::Rename(name.clone())),
            delete_url: urls.to(&Route::Delete(name.clone())),
            files_url: urls.to(&Route::Files(name.clone())),
            file_count,
            parents: name
                .parents()
                .iter()
                .map(|parent| Crumb {
                    name: parent.to_string(),
                    url: urls.page(parent),
                })
                .collect(),
            may,
        }
    }
}

impl Wiki {
    /// The layout for a page titled `title`, about `page` if any.
    pub(crate) fn layout(
        &self,
        exchange: &Exchange,
        title: &str,
        page: Option<&PageName>,
    ) -> Layout {
        let urls = &exchange.urls;
        Layout {
            site_name: self.settings.site_name.clone(),
            title: title.to_owned(),
            static_url: urls.static_base(),
            nav: Nav {
                front_url: urls.root(),
                recent_url: urls.to(&Route::Recent),
                index_url: urls.to(&Route::Index),
                help_url: urls.page(&self.settings.help_page),
                search_url: urls.to(&Route::Search),
                suggest_url: urls.to(&Route::Suggest),
                login_url: urls.login(&back_after_login(exchange)),
                logout_url: urls.to(&Route::Logout),
                register_url: (self.settings.registration != crate::config::Registration::Closed)
                    .then(|| urls.to(&Route::Register)),
                prefs_url: urls.to(&Route::Prefs),
                admin_url: urls.to(&Route::Admin),
                watching_url: urls.to(&Route::Watching),
            },
            page: page.map(|name| {
                PageLinks::new(
                    urls,
                    name,
                    self.page_rights(exchange, name),
                    self.file_count(name),
                )
            }),
            theme: self.theme_info(exchange),
            feeds: self.feed_links(urls, page),
            user: exchange.viewer.name.as_ref().map(|name| UserInfo {
                name: name.clone(),
                display_name: exchange.viewer.display_name.clone(),
                prefs_url: urls.to(&Route::Prefs),
                is_admin: exchange.viewer.is_admin,
            }),
            csrf_token: minijinja::Value::from_object(LazyCsrfToken(
                exchange
                    .request
                    .extensions()
                    .get::<gateway::middleware::CsrfToken>()
                    .cloned(),
            )),
        }
    }

    /// How many files `name` has; none shown when storage cannot say (the list itself would answer
    /// with the error).
    fn file_count(&self, name: &PageName) -> u64 {
        self.storage
            .file_count(name.as_str())
            .unwrap_or_else(|err| {
                tracing::warn!(error = %err, page = %name, "could not count a page's files");
                0
            })
    }

    /// What the viewer may do to `name`; nothing when the ACLs cannot be read (the links are hidden,
    /// and dispatch would refuse anyway).
    fn page_rights(&self, exchange: &Exchange, name: &PageName) -> PageRights {
        let Ok(access) = self.access(&exchange.viewer) else {
            return PageRights::default();
        };
        let front = &self.settings.front_page;
        PageRights {
            history: access.allows(&Route::History(name.clone()), front),
            edit: access.allows(&Route::Edit(name.clone()), front),
            rename: access.allows(&Route::Rename(name.clone()), front),
            delete: access.allows(&Route::Delete(name.clone()), front),
        }
    }

    fn feed_links(&self, urls: &Urls, page: Option<&PageName>) -> Vec<FeedLink> {
        let site = &self.settings.site_name;
        let mut feeds = Vec::new();
        for format in [FeedFormat::Atom, FeedFormat::Rss] {
            let label = match format {
                FeedFormat::Atom => "Atom",
                FeedFormat::Rss => "RSS",
            };
            if let Some(name) = page {
                feeds.push(FeedLink {
                    title: format!("Changes to {name} ({label})"),
                    url: urls.feed(format, Some(name)),
                    media_type: format.media_type(),
                });
            }
            feeds.push(FeedLink {
                title: format!("{site}: recent changes ({label})"),
                url: urls.feed(format, None),
                media_type: format.media_type(),
            });
        }
        feeds
    }
}

/// Where a reader comes back to after logging in from here (a 403 included): this route, if it can be
/// fetched, else the page a POST-only route names, else the front page; the account pages themselves
/// send to the front page. Built from the parsed route, so it is a path under the mount and never
/// another site.
fn back_after_login(exchange: &Exchange) -> String {
    let urls = &exchange.urls;
    let Ok(route) = Route::parse(exchange.request.path_info()) else {
        return urls.root();
    };
    if matches!(route, Route::Login | Route::Logout | Route::Register) {
        return urls.root();
    }
    if route.methods().allows(&http::Method::GET) {
        return urls.to(&route);
    }
    route
        .page()
        .map_or_else(|| urls.root(), |page| urls.page(page))
}
