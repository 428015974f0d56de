//! The URL space, stated once: `/{Page}` views a page, everything else is `/+verb/...`.
//!
//! Every route has one row in the route table, [`Route::row`]: its verb, the rights it needs on
//! which page ([`Guard`]), the methods it takes ([`Methods`]) and whether it changes pages (the login
//! gate of `anonymous_edits = false`). The table is one exhaustive `match` with no catch-all arm, so
//! a new route does not compile until its row states them all. Its URL is [`Route::path`], also an
//! exhaustive match, and [`Route::parse`] reads it back. Dispatch, `access`, `viewer` and `urls`
//! only ask.
//!
//! The verb words themselves (`edit`, `recent`, …) are the [`Verb`] variants' names, lowercased, so
//! parsing a path and building a URL cannot disagree.

use std::fmt;

use gateway::HttpError;
use http::Method;
use strum::{EnumIter, EnumString, IntoStaticStr};

use crate::acl::Right;
use crate::wiki::history::feeds::FeedFormat;
use crate::wiki::plumbing::api_routes::ApiRoute;
use crate::wiki::plumbing::file_name::FileName;
use crate::wiki::plumbing::page_name::PageName;

/// What a request path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/`: the front page.
    Root,
    /// `/{Page}`.
    View(PageName),
    /// `/+edit/{Page}`: the editor (GET) and the save (POST).
    Edit(PageName),
    /// `POST /+draft/{Page}`: the editor's autosave of a logged-in account's unsaved text, or its
    /// discarding (`action=discard`); anonymous editors keep theirs in the browser.
    Draft(PageName),
    /// `/+raw/{Page}`.
    Raw(PageName),
    /// `/+history/{Page}`.
    History(PageName),
    /// `/+diff/{Page}`.
    Diff(PageName),
    /// `/+revert/{Page}?rev=N` (POST).
    Revert(PageName),
    /// `/+blame/{Page}`: who last changed each line.
    Blame(PageName),
    /// `/+info/{Page}`: revisions, authors, size, dates.
    Info(PageName),
    /// `/+backlinks/{Page}`: every page that links to it, by name (`?after=`).
    Backlinks(PageName),
    /// `/+rename/{Page}`: the form (GET) and the rename (POST).
    Rename(PageName),
    /// `/+delete/{Page}`: the confirmation (GET) and the deletion (POST).
    Delete(PageName),
    /// `/+undelete/{Page}`: the confirmation (GET) and the undeletion (POST).
    Undelete(PageName),
    /// `/+recent`.
    Recent,
    /// `/+contributions/{user}`: one person's changes.
    Contributions(String),
    /// `/+feed/{atom|rss}`, or with `/{Page}` one page's changes.
    Feed(FeedFormat, Option<PageName>),
    /// `/+index`: every page the reader may read, by name (`?prefix=`, `?after=`, `?view=tree`).
    Index,
    /// `/+orphans`: pages nothing links to.
    Orphans,
    /// `/+wanted`: missing pages something links to.
    Wanted,
    /// `/+search?q=…`.
    Search,
    /// `/+suggest?q=…`.
    Suggest,
    /// `/+static/{path}`.
    Static(String),
    /// `/+login`: the form (GET), logging in (POST).
    Login,
    /// `/+logout` (POST).
    Logout,
    /// `/+register`: creating an account.
    Register,
    /// `/+prefs`: the reader's preferences.
    Prefs,
    /// `/+admin`: accounts, settings, failed logins, and the bad-content list (admins only: the
    /// admin role, checked by the controller for GET and POST alike; no page ACL grants it, so
    /// the spam list is changed here and nowhere else).
    Admin,
    /// `/robots.txt`: what crawlers may fetch (`robots_txt` in `quire.toml`).
    Robots,
    /// `/+healthz`: whether the database answers and how far the search index lags, for monitoring.
    Healthz,
    /// `/sitemap.xml?page=N`: the pages anonymous readers may read, for crawlers (`sitemap`).
    Sitemap,
    /// `/+metrics`: counters in Prometheus' text format (`metrics`, `metrics_allow`).
    Metrics,
    /// `GET /+files/{Page}`: the page's files and the upload form.
    Files(PageName),
    /// `POST /+files/{Page}`: an upload. The same address as [`Route::Files`]; a POST there is this
    /// route ([`Route::for_method`]), as it needs the write right where the listing needs reading.
    Upload(PageName),
    /// `/+file/{Page}/{name}` (`?v=N`: an old version): a file's bytes. The name is the last
    /// segment, so a subpage's files stay unambiguous.
    File(FileRoute),
    /// `/+thumbnail/{Page}/{name}` (`?v=N`): an image file's thumbnail, for the list.
    Thumbnail(FileRoute),
    /// `/+filehistory/{Page}/{name}`: a file's versions, with their restore buttons.
    FileHistory(FileRoute),
    /// `/+deletefile/{Page}/{name}`: the confirmation (GET) and the deletion (POST), a new version.
    DeleteFile(FileRoute),
    /// `/+restorefile/{Page}/{name}?v=N` (POST): a new version with an old version's bytes.
    RestoreFile(FileRoute),
    /// `/+watch/{Page}` (POST, `watch=1` or `0`): an account starts or stops watching the page.
    /// Watching needs reading it; the controller refuses anonymous visitors.
    Watch(PageName),
    /// `/+watching`: an account's watches, prefixes, digest and feed address (GET), and changes to
    /// them (POST). Logged-in accounts only, checked by the controller.
    Watching,
    /// `/+watchfeed?token=…`: the Atom feed of an account's watched changes. The secret token is
    /// the only credential (feed readers send no cookie), checked by the controller; each entry is
    /// filtered by the token's account's rights. It is in the query, which the request log leaves
    /// out.
    WatchFeed,
    /// `/+bookmark` (POST): sets the account's bookmark in recent changes to now.
    Bookmark,
    /// `/+api/v1/…`: the JSON API (`wiki::api`), its own URL space ([`ApiRoute`]).
    Api(ApiRoute),
}

/// A page's file in a path: `{Page}/{name}`, the name being the last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRoute {
    /// The page the file belongs to.
    pub page: PageName,
    /// The file's name, clean ([`FileName`]).
    pub name: FileName,
}

/// The word after `/+`: one for each route but the front page and page views. Its spelling in URLs
/// is the variant's name in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, EnumString, IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum Verb {
    /// [`Route::Edit`].
    Edit,
    /// [`Route::Draft`].
    Draft,
    /// [`Route::Raw`].
    Raw,
    /// [`Route::History`].
    History,
    /// [`Route::Diff`].
    Diff,
    /// [`Route::Revert`].
    Revert,
    /// [`Route::Blame`].
    Blame,
    /// [`Route::Info`].
    Info,
    /// [`Route::Backlinks`].
    Backlinks,
    /// [`Route::Rename`].
    Rename,
    /// [`Route::Delete`].
    Delete,
    /// [`Route::Undelete`].
    Undelete,
    /// [`Route::Recent`].
    Recent,
    /// [`Route::Contributions`].
    Contributions,
    /// [`Route::Feed`].
    Feed,
    /// [`Route::Index`].
    Index,
    /// [`Route::Orphans`].
    Orphans,
    /// [`Route::Wanted`].
    Wanted,
    /// [`Route::Search`].
    Search,
    /// [`Route::Suggest`].
    Suggest,
    /// [`Route::Static`].
    Static,
    /// [`Route::Login`].
    Login,
    /// [`Route::Logout`].
    Logout,
    /// [`Route::Register`].
    Register,
    /// [`Route::Prefs`].
    Prefs,
    /// [`Route::Admin`].
    Admin,
    /// [`Route::Healthz`].
    Healthz,
    /// [`Route::Metrics`].
    Metrics,
    /// [`Route::Files`] and [`Route::Upload`].
    Files,
    /// [`Route::File`].
    File,
    /// [`Route::Thumbnail`].
    Thumbnail,
    /// [`Route::FileHistory`].
    FileHistory,
    /// [`Route::DeleteFile`].
    DeleteFile,
    /// [`Route::RestoreFile`].
    RestoreFile,
    /// [`Route::Watch`].
    Watch,
    /// [`Route::Watching`].
    Watching,
    /// [`Route::WatchFeed`].
    WatchFeed,
    /// [`Route::Bookmark`].
    Bookmark,
    /// [`Route::Api`].
    Api,
}

impl Verb {
    /// The word as it stands in URLs.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The methods a route answers; any other gets 405 with [`Methods::allow`] as its `Allow` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Methods {
    /// GET and HEAD: it only reads.
    Read,
    /// POST only: a change with no page of its own.
    Post,
    /// GET and HEAD for a form, POST for the change it sends.
    FormAndPost,
    /// GET and HEAD to read, PUT to replace (the API's pages and files).
    ReadAndPut,
    /// PUT only: the API's saves.
    Put,
}

impl Methods {
    /// Whether `method` is one of them.
    pub fn allows(self, method: &Method) -> bool {
        let reads = method == Method::GET || method == Method::HEAD;
        match self {
            Methods::Read => reads,
            Methods::Post => method == Method::POST,
            Methods::FormAndPost => reads || method == Method::POST,
            Methods::ReadAndPut => reads || method == Method::PUT,
            Methods::Put => method == Method::PUT,
        }
    }

    /// The `Allow` header of a 405.
    pub fn allow(self) -> &'static str {
        match self {
            Methods::Read => "GET, HEAD",
            Methods::Post => "POST",
            Methods::FormAndPost => "GET, HEAD, POST",
            Methods::ReadAndPut => "GET, HEAD, PUT",
            Methods::Put => "PUT",
        }
    }
}

/// One row of the route table: what a route states about itself ([`Route::row`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteRow<'a> {
    /// The word after `/+`; `None` for the front page and page views.
    pub verb: Option<Verb>,
    /// Which rights on which page dispatch checks before the controller runs.
    pub guard: Guard<'a>,
    /// The methods it answers.
    pub methods: Methods,
    /// Whether it changes pages (and so passes the login gate of `anonymous_edits = false`).
    pub changes_pages: bool,
}

/// The rights a route needs before its controller runs, and on which page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard<'a> {
    /// These rights on the page its path names.
    Page(&'a PageName, &'static [Right]),
    /// These rights on the page its path names, and reading its past: every revision's ACL must
    /// let the viewer read (`Access::can_read_history`), as the route shows older texts.
    PagePast(&'a PageName, &'static [Right]),
    /// These rights on the front page (`/` names no page; the settings do).
    FrontPage(&'static [Right]),
    /// No page in its path: a listing filters what it shows by the reader's rights itself, and the
    /// account pages keep their own rules (the admin page, the admin role).
    Controller,
}

/// The name crawlers ask for at the wiki's root.
pub(crate) const ROBOTS_TXT: &str = "robots.txt";

/// The sitemap's name at the wiki's root, where robots.txt names it.
pub(crate) const SITEMAP_XML: &str = "sitemap.xml";

/// Reading a page.
const READ: &[Right] = &[Right::Read];
/// Changing a page: the forms show its text, so writing needs reading too.
const READ_WRITE: &[Right] = &[Right::Read, Right::Write];
/// Deleting a page, whose confirmation shows it.
const READ_DELETE: &[Right] = &[Right::Read, Right::Delete];
/// Renaming: MoinMoin's rule is that it deletes the old name (the new name needs writing, which the
/// rename itself checks, as only its form names it).
const READ_WRITE_DELETE: &[Right] = &[Right::Read, Right::Write, Right::Delete];

impl Route {
    /// Parses the path below the mount. The path arrives as raw bytes; one
    /// that is not UTF-8 cannot name a page and is refused with 400.
    pub fn parse(path: &[u8]) -> Result<Route, HttpError> {
        let path = std::str::from_utf8(path).map_err(|_| {
            HttpError::bad_request("This address is not valid UTF-8, so it cannot name a page.")
        })?;
        let path = path.strip_prefix('/').unwrap_or(path);
        if path.is_empty() {
            return Ok(Route::Root);
        }
        // Crawlers ask for this one name at the root; a page cannot be called that.
        if path == ROBOTS_TXT {
            return Ok(Route::Robots);
        }
        if path == SITEMAP_XML {
            return Ok(Route::Sitemap);
        }
        let Some(action) = path.strip_prefix('+') else {
            return page(path).map(Route::View);
        };
        let (word, rest) = action.split_once('/').unwrap_or((action, ""));
        let unknown = || {
            HttpError::not_found(format!(
                "There is no wiki action called \u{201c}+{word}\u{201d}."
            ))
        };
        let verb: Verb = word.parse().map_err(|_| unknown())?;
        // The verb's argument: a page, a user, a path, or nothing after the word.
        let nothing = |route: Route| {
            if rest.is_empty() {
                Ok(route)
            } else {
                Err(unknown())
            }
        };
        let something = |route: fn(String) -> Route| {
            if rest.is_empty() {
                Err(unknown())
            } else {
                Ok(route(rest.to_owned()))
            }
        };
        match verb {
            Verb::Edit => page(rest).map(Route::Edit),
            Verb::Draft => page(rest).map(Route::Draft),
            Verb::Raw => page(rest).map(Route::Raw),
            Verb::History => page(rest).map(Route::History),
            Verb::Diff => page(rest).map(Route::Diff),
            Verb::Revert => page(rest).map(Route::Revert),
            Verb::Blame => page(rest).map(Route::Blame),
            Verb::Info => page(rest).map(Route::Info),
            Verb::Backlinks => page(rest).map(Route::Backlinks),
            Verb::Rename => page(rest).map(Route::Rename),
            Verb::Delete => page(rest).map(Route::Delete),
            Verb::Undelete => page(rest).map(Route::Undelete),
            Verb::Recent => nothing(Route::Recent),
            Verb::Contributions => something(Route::Contributions),
            Verb::Feed => feed(rest),
            Verb::Index => nothing(Route::Index),
            Verb::Orphans => nothing(Route::Orphans),
            Verb::Wanted => nothing(Route::Wanted),
            Verb::Search => nothing(Route::Search),
            Verb::Suggest => nothing(Route::Suggest),
            Verb::Static => something(Route::Static),
            Verb::Login => nothing(Route::Login),
            Verb::Logout => nothing(Route::Logout),
            Verb::Register => nothing(Route::Register),
            Verb::Prefs => nothing(Route::Prefs),
            Verb::Admin => nothing(Route::Admin),
            Verb::Healthz => nothing(Route::Healthz),
            Verb::Metrics => nothing(Route::Metrics),
            Verb::Files => page(rest).map(Route::Files),
            Verb::File => file(rest).map(Route::File),
            Verb::Thumbnail => file(rest).map(Route::Thumbnail),
            Verb::FileHistory => file(rest).map(Route::FileHistory),
            Verb::DeleteFile => file(rest).map(Route::DeleteFile),
            Verb::RestoreFile => file(rest).map(Route::RestoreFile),
            Verb::Watch => page(rest).map(Route::Watch),
            Verb::Watching => nothing(Route::Watching),
            Verb::WatchFeed => nothing(Route::WatchFeed),
            Verb::Bookmark => nothing(Route::Bookmark),
            Verb::Api => ApiRoute::parse(rest).map(Route::Api),
        }
    }

    /// The route a request with `method` takes: a POST to a page's files is an upload, which
    /// needs more rights than the listing at the same address. Every other route is its path's.
    pub fn for_method(self, method: &Method) -> Route {
        match self {
            Route::Files(name) if method == Method::POST => Route::Upload(name),
            Route::Api(api) => Route::Api(api.for_method(method)),
            route => route,
        }
    }

    /// The route's row of the route table: everything it states about itself, in one match with a
    /// line for each route, so that a new route cannot be added without stating them all.
    pub fn row(&self) -> RouteRow<'_> {
        use Guard::{Controller, FrontPage, Page, PagePast};
        use Methods::{FormAndPost, Post, Put, Read, ReadAndPut};
        const CHANGES: bool = true;
        const READS: bool = false;
        let row = |verb, guard, methods, changes_pages| RouteRow {
            verb,
            guard,
            methods,
            changes_pages,
        };
        match self {
            Route::Root => row(None, FrontPage(READ), Read, READS),
            Route::View(name) => row(None, Page(name, READ), Read, READS),
            Route::Edit(name) => row(
                Some(Verb::Edit),
                Page(name, READ_WRITE),
                FormAndPost,
                CHANGES,
            ),
            // The editor's own rights: a draft is text the viewer may write to the page. It changes
            // no page, so the login gate lets it through; its controller refuses anonymous viewers.
            Route::Draft(name) => row(Some(Verb::Draft), Page(name, READ_WRITE), Post, READS),
            Route::Raw(name) => row(Some(Verb::Raw), Page(name, READ), Read, READS),
            Route::History(name) => row(Some(Verb::History), PagePast(name, READ), Read, READS),
            Route::Diff(name) => row(Some(Verb::Diff), PagePast(name, READ), Read, READS),
            Route::Revert(name) => row(
                Some(Verb::Revert),
                PagePast(name, READ_WRITE),
                Post,
                CHANGES,
            ),
            Route::Blame(name) => row(Some(Verb::Blame), PagePast(name, READ), Read, READS),
            Route::Info(name) => row(Some(Verb::Info), PagePast(name, READ), Read, READS),
            // What links here is part of the page's view, which needs reading the page; the
            // listing shows current links only (no past), each source filtered by its own ACL.
            Route::Backlinks(name) => row(Some(Verb::Backlinks), Page(name, READ), Read, READS),
            Route::Rename(name) => row(
                Some(Verb::Rename),
                Page(name, READ_WRITE_DELETE),
                FormAndPost,
                CHANGES,
            ),
            Route::Delete(name) => row(
                Some(Verb::Delete),
                Page(name, READ_DELETE),
                FormAndPost,
                CHANGES,
            ),
            Route::Undelete(name) => row(
                Some(Verb::Undelete),
                Page(name, READ_WRITE),
                FormAndPost,
                CHANGES,
            ),
            Route::Recent => row(Some(Verb::Recent), Controller, Read, READS),
            Route::Contributions(_) => row(Some(Verb::Contributions), Controller, Read, READS),
            Route::Feed(_, Some(name)) => row(Some(Verb::Feed), PagePast(name, READ), Read, READS),
            Route::Feed(_, None) => row(Some(Verb::Feed), Controller, Read, READS),
            Route::Index => row(Some(Verb::Index), Controller, Read, READS),
            Route::Orphans => row(Some(Verb::Orphans), Controller, Read, READS),
            Route::Wanted => row(Some(Verb::Wanted), Controller, Read, READS),
            Route::Search => row(Some(Verb::Search), Controller, Read, READS),
            Route::Suggest => row(Some(Verb::Suggest), Controller, Read, READS),
            Route::Static(_) => row(Some(Verb::Static), Controller, Read, READS),
            Route::Login => row(Some(Verb::Login), Controller, FormAndPost, READS),
            Route::Logout => row(Some(Verb::Logout), Controller, Post, READS),
            Route::Register => row(Some(Verb::Register), Controller, FormAndPost, READS),
            Route::Prefs => row(Some(Verb::Prefs), Controller, FormAndPost, READS),
            // The admin role, whatever the page ACLs say: `Wiki::require_admin`.
            Route::Admin => row(Some(Verb::Admin), Controller, FormAndPost, READS),
            Route::Robots => row(None, Controller, Read, READS),
            Route::Healthz => row(Some(Verb::Healthz), Controller, Read, READS),
            // Lists only what anonymous readers may read, whoever asks.
            Route::Sitemap => row(None, Controller, Read, READS),
            // Names no page; its controller checks the peer's address (`metrics_allow`).
            Route::Metrics => row(Some(Verb::Metrics), Controller, Read, READS),
            // A POST here is `Upload` (`for_method`); the POST in its methods keeps that address's
            // 405 `Allow` header true.
            Route::Files(name) => row(Some(Verb::Files), Page(name, READ), FormAndPost, READS),
            Route::Upload(name) => row(Some(Verb::Files), Page(name, READ_WRITE), Post, CHANGES),
            Route::File(file) => row(Some(Verb::File), Page(&file.page, READ), Read, READS),
            Route::Thumbnail(file) => {
                row(Some(Verb::Thumbnail), Page(&file.page, READ), Read, READS)
            }
            Route::FileHistory(file) => {
                row(Some(Verb::FileHistory), Page(&file.page, READ), Read, READS)
            }
            Route::DeleteFile(file) => row(
                Some(Verb::DeleteFile),
                Page(&file.page, READ_DELETE),
                FormAndPost,
                CHANGES,
            ),
            Route::RestoreFile(file) => row(
                Some(Verb::RestoreFile),
                Page(&file.page, READ_WRITE),
                Post,
                CHANGES,
            ),
            // Changes no page, only the account's watches; the controller refuses anonymous ones.
            Route::Watch(name) => row(Some(Verb::Watch), Page(name, READ), Post, READS),
            Route::Watching => row(Some(Verb::Watching), Controller, FormAndPost, READS),
            // The token is the credential; each entry is filtered by its account's rights.
            Route::WatchFeed => row(Some(Verb::WatchFeed), Controller, Read, READS),
            Route::Bookmark => row(Some(Verb::Bookmark), Controller, Post, READS),
            // The JSON API: the rights of the HTML routes that show or change the same things. A
            // PUT is the Save… route (`ApiRoute::for_method`); the PUT in the GET routes' methods
            // keeps their 405 `Allow` header true. A write also needs a write-scoped bearer token,
            // which `wiki::api` checks before this row.
            Route::Api(ApiRoute::Page(name)) => {
                row(Some(Verb::Api), Page(name, READ), ReadAndPut, READS)
            }
            Route::Api(ApiRoute::SavePage(name)) => {
                row(Some(Verb::Api), Page(name, READ_WRITE), Put, CHANGES)
            }
            Route::Api(ApiRoute::History(name)) => {
                row(Some(Verb::Api), PagePast(name, READ), Read, READS)
            }
            // Any revision, the current one too: the past's guard, as `/{Page}?rev=N` checks it.
            Route::Api(ApiRoute::Revision(name, _)) => {
                row(Some(Verb::Api), PagePast(name, READ), Read, READS)
            }
            Route::Api(ApiRoute::File(file)) => {
                row(Some(Verb::Api), Page(&file.page, READ), ReadAndPut, READS)
            }
            Route::Api(ApiRoute::SaveFile(file)) => {
                row(Some(Verb::Api), Page(&file.page, READ_WRITE), Put, CHANGES)
            }
            // Listings filter what they show by the reader's rights, as their HTML routes do.
            Route::Api(
                ApiRoute::Recent | ApiRoute::Search | ApiRoute::Index | ApiRoute::OpenApi,
            ) => row(Some(Verb::Api), Controller, Read, READS),
        }
    }

    /// The word after `/+`; `None` for the front page and page views.
    pub fn verb(&self) -> Option<Verb> {
        self.row().verb
    }

    /// The page the route names in its path, if any (the front page is named by the settings, not
    /// the path: see [`Route::needs`]).
    pub fn page(&self) -> Option<&PageName> {
        match self.row().guard {
            Guard::Page(name, _) | Guard::PagePast(name, _) => Some(name),
            Guard::FrontPage(_) | Guard::Controller => None,
        }
    }

    /// The methods the route answers.
    pub fn methods(&self) -> Methods {
        self.row().methods
    }

    /// The rights the viewer needs, and on which page, before any controller runs: dispatch checks
    /// them once (`Wiki::check_route`). `None` for routes that name no page (see
    /// [`Guard::Controller`]).
    pub fn needs<'a>(
        &'a self,
        front_page: &'a PageName,
    ) -> Option<(&'a PageName, &'static [Right])> {
        match self.row().guard {
            Guard::Page(name, rights) | Guard::PagePast(name, rights) => Some((name, rights)),
            Guard::FrontPage(rights) => Some((front_page, rights)),
            Guard::Controller => None,
        }
    }

    /// Whether the route shows the page's past, so dispatch also checks the viewer may read every
    /// revision of it ([`Guard::PagePast`]).
    pub fn shows_past(&self) -> bool {
        matches!(self.row().guard, Guard::PagePast(..))
    }

    /// Whether the route changes pages, so that `anonymous_edits = false` sends an anonymous visitor
    /// to the login form instead (`Wiki::login_gate`).
    pub fn changes_pages(&self) -> bool {
        self.row().changes_pages
    }

    /// The path below the mount, percent-encoded: what [`Route::parse`] reads back.
    /// `crate::wiki::plumbing::urls::Urls` puts the mount in front and adds queries.
    pub fn path(&self) -> String {
        let verb = self.verb().map_or("", Verb::as_str);
        match self {
            Route::Root => "/".to_owned(),
            Route::Robots => format!("/{ROBOTS_TXT}"),
            Route::Sitemap => format!("/{SITEMAP_XML}"),
            Route::View(name) => page_path(name.as_str()),
            Route::Edit(name)
            | Route::Draft(name)
            | Route::Raw(name)
            | Route::History(name)
            | Route::Diff(name)
            | Route::Revert(name)
            | Route::Blame(name)
            | Route::Info(name)
            | Route::Backlinks(name)
            | Route::Rename(name)
            | Route::Delete(name)
            | Route::Undelete(name)
            | Route::Files(name)
            | Route::Upload(name)
            | Route::Watch(name) => verb_path(verb, name.as_str()),
            Route::File(file)
            | Route::Thumbnail(file)
            | Route::FileHistory(file)
            | Route::DeleteFile(file)
            | Route::RestoreFile(file) => file_path(verb, &file.page, &file.name),
            Route::Contributions(user) => verb_path(verb, user),
            Route::Feed(format, None) => format!("/+{verb}/{}", format.as_str()),
            Route::Feed(format, Some(name)) => {
                format!("/+{verb}/{}{}", format.as_str(), page_path(name.as_str()))
            }
            // Encoded as a page name is (`/` kept): a `%` or `?` in it must read back as itself.
            Route::Static(path) => verb_path(verb, path),
            Route::Recent
            | Route::Index
            | Route::Orphans
            | Route::Wanted
            | Route::Search
            | Route::Suggest
            | Route::Login
            | Route::Logout
            | Route::Register
            | Route::Prefs
            | Route::Admin
            | Route::Healthz
            | Route::Metrics
            | Route::Watching
            | Route::WatchFeed
            | Route::Bookmark => format!("/+{verb}"),
            Route::Api(api) => api.path(),
        }
    }
}

/// `/{name}` for a page name given as text (a link target, a name from storage), encoded like any
/// page in a path.
pub(crate) fn page_path(name: &str) -> String {
    let mut path = String::with_capacity(1 + name.len());
    push_page_path(&mut path, name);
    path
}

/// [`page_path`] written at the end of `out`: for listings, which write hundreds of paths and
/// spend less allocating one buffer than one string for each.
pub(crate) fn push_page_path(out: &mut String, name: &str) {
    out.push('/');
    crate::wiki::plumbing::urls::push_encoded_page(out, name);
}

/// `/+{verb}/{name}` for a page or user name given as text.
pub(crate) fn verb_path(verb: &str, name: &str) -> String {
    let mut path = String::with_capacity(3 + verb.len() + name.len());
    push_verb_path(&mut path, verb, name);
    path
}

/// [`verb_path`] written at the end of `out`, as [`push_page_path`] is.
pub(crate) fn push_verb_path(out: &mut String, verb: &str, name: &str) {
    push_verb_path_encoded(out, verb, "");
    crate::wiki::plumbing::urls::push_encoded_page(out, name);
}

/// [`push_verb_path`] for a name already encoded (`urls::push_encoded_page`).
pub(crate) fn push_verb_path_encoded(out: &mut String, verb: &str, encoded_name: &str) {
    out.push_str("/+");
    out.push_str(verb);
    out.push('/');
    out.push_str(encoded_name);
}

/// `/+{verb}/{Page}/{name}` for a page's file.
pub(crate) fn file_path(verb: &str, page: &PageName, name: &FileName) -> String {
    format!(
        "/+{verb}/{}/{}",
        crate::wiki::plumbing::urls::encode_page(page.as_str()),
        crate::wiki::plumbing::urls::encode_segment(name.as_str())
    )
}

/// `{Page}/{name}`: the last segment is the file's name, the rest its page's.
fn file(text: &str) -> Result<FileRoute, HttpError> {
    let Some((page_text, name_text)) = text.rsplit_once('/') else {
        return Err(HttpError::not_found(
            "A file's address names its page and then the file: /+file/Page/name.",
        ));
    };
    let name = FileName::parse(name_text).map_err(|err| {
        HttpError::not_found(format!(
            "\u{201c}{name_text}\u{201d} is not a file name this wiki stores: {err}."
        ))
    })?;
    Ok(FileRoute {
        page: page(page_text)?,
        name,
    })
}

/// `atom`, `rss`, `atom/{Page}` or `rss/{Page}`.
fn feed(rest: &str) -> Result<Route, HttpError> {
    let (format, page_path) = match rest.split_once('/') {
        Some((format, page_path)) => (format, Some(page_path)),
        None => (rest, None),
    };
    let Some(format) = FeedFormat::parse(format) else {
        return Err(HttpError::not_found(
            "Feeds come as /+feed/atom or /+feed/rss (add /PageName for one page).",
        ));
    };
    let page = page_path.map(page).transpose()?;
    Ok(Route::Feed(format, page))
}

/// `text` as a page name in a path; 400 if it is not one.
pub(crate) fn page(text: &str) -> Result<PageName, HttpError> {
    PageName::parse(text).map_err(|err| {
        HttpError::bad_request(format!(
            "\u{201c}{text}\u{201d} is not a valid page name: {err}."
        ))
    })
}

#[cfg(test)]
mod tests {
    use strum::IntoEnumIterator;

    use super::*;

    fn name(text: &str) -> PageName {
        PageName::parse(text).unwrap()
    }

    /// One route of every verb, and the front page and a page view.
    fn one_of_each() -> Vec<Route> {
        let mut routes = vec![
            Route::Root,
            Route::View(name("A/B")),
            Route::Robots,
            Route::Sitemap,
        ];
        for verb in Verb::iter() {
            let path = match verb {
                Verb::Contributions => "/+contributions/ann".to_owned(),
                Verb::Feed => "/+feed/rss/A/B".to_owned(),
                Verb::Static => "/+static/quire.css".to_owned(),
                Verb::Api => "/+api/v1/pages/A/B".to_owned(),
                other => match Route::parse(format!("/+{other}").as_bytes()) {
                    Ok(_) => format!("/+{other}"),
                    Err(_) => format!("/+{other}/A/B"),
                },
            };
            let route = Route::parse(path.as_bytes()).unwrap();
            assert_eq!(route.verb(), Some(verb), "{path}");
            routes.push(route);
        }
        routes
    }

    #[test]
    fn parses_pages_and_actions() {
        assert_eq!(Route::parse(b"/").unwrap(), Route::Root);
        assert_eq!(Route::parse(b"").unwrap(), Route::Root);
        assert_eq!(Route::parse(b"/A/B").unwrap(), Route::View(name("A/B")));
        assert_eq!(
            Route::parse("/Café".as_bytes()).unwrap(),
            Route::View(name("Café"))
        );
        assert_eq!(
            Route::parse(b"/+edit/A/B").unwrap(),
            Route::Edit(name("A/B"))
        );
        assert_eq!(Route::parse(b"/+raw/A").unwrap(), Route::Raw(name("A")));
        assert_eq!(
            Route::parse(b"/+history/A").unwrap(),
            Route::History(name("A"))
        );
        assert_eq!(Route::parse(b"/+diff/A").unwrap(), Route::Diff(name("A")));
        assert_eq!(
            Route::parse(b"/+revert/A").unwrap(),
            Route::Revert(name("A"))
        );
        assert_eq!(Route::parse(b"/+blame/A").unwrap(), Route::Blame(name("A")));
        assert_eq!(Route::parse(b"/+info/A").unwrap(), Route::Info(name("A")));
        assert_eq!(
            Route::parse(b"/+backlinks/A/B").unwrap(),
            Route::Backlinks(name("A/B"))
        );
        assert_eq!(
            Route::parse(b"/+rename/A").unwrap(),
            Route::Rename(name("A"))
        );
        assert_eq!(
            Route::parse(b"/+delete/A").unwrap(),
            Route::Delete(name("A"))
        );
        assert_eq!(
            Route::parse(b"/+undelete/A").unwrap(),
            Route::Undelete(name("A"))
        );
        assert_eq!(Route::parse(b"/+recent").unwrap(), Route::Recent);
        assert_eq!(
            Route::parse(b"/+contributions/ann").unwrap(),
            Route::Contributions("ann".into())
        );
        assert_eq!(
            Route::parse(b"/+feed/atom").unwrap(),
            Route::Feed(FeedFormat::Atom, None)
        );
        assert_eq!(
            Route::parse(b"/+feed/rss/A/B").unwrap(),
            Route::Feed(FeedFormat::Rss, Some(name("A/B")))
        );
        assert_eq!(Route::parse(b"/+orphans").unwrap(), Route::Orphans);
        assert_eq!(Route::parse(b"/+index").unwrap(), Route::Index);
        assert_eq!(Route::parse(b"/+wanted").unwrap(), Route::Wanted);
        assert_eq!(Route::parse(b"/+search").unwrap(), Route::Search);
        assert_eq!(Route::parse(b"/+suggest").unwrap(), Route::Suggest);
        assert_eq!(Route::parse(b"/+login").unwrap(), Route::Login);
        assert_eq!(Route::parse(b"/+logout").unwrap(), Route::Logout);
        assert_eq!(Route::parse(b"/+register").unwrap(), Route::Register);
        assert_eq!(Route::parse(b"/+prefs").unwrap(), Route::Prefs);
        assert_eq!(Route::parse(b"/+admin").unwrap(), Route::Admin);
        assert_eq!(Route::parse(b"/+admin/x").unwrap_err().status(), 404);
        assert_eq!(Route::parse(b"/robots.txt").unwrap(), Route::Robots);
        assert_eq!(
            Route::parse(b"/A/robots.txt").unwrap(),
            Route::View(name("A/robots.txt"))
        );
        assert_eq!(Route::parse(b"/+healthz").unwrap(), Route::Healthz);
        assert_eq!(Route::parse(b"/sitemap.xml").unwrap(), Route::Sitemap);
        assert_eq!(
            Route::parse(b"/A/sitemap.xml").unwrap(),
            Route::View(name("A/sitemap.xml"))
        );
        assert_eq!(Route::parse(b"/+metrics").unwrap(), Route::Metrics);
        assert_eq!(
            Route::parse(b"/+static/quire.css").unwrap(),
            Route::Static("quire.css".into())
        );
    }

    #[test]
    fn refuses_bad_paths_with_the_right_status() {
        assert_eq!(Route::parse(b"/\xFF").unwrap_err().status(), 400);
        assert_eq!(Route::parse(b"/+nope/A").unwrap_err().status(), 404);
        assert_eq!(Route::parse(b"/+Edit/A").unwrap_err().status(), 404);
        assert_eq!(Route::parse(b"/+edit/").unwrap_err().status(), 400);
        assert_eq!(Route::parse(b"/+feed/json").unwrap_err().status(), 404);
        assert_eq!(Route::parse(b"/+contributions").unwrap_err().status(), 404);
        assert_eq!(Route::parse(b"/+static").unwrap_err().status(), 404);
        assert_eq!(Route::parse(b"/A//B").unwrap_err().status(), 400);
    }

    #[test]
    fn every_route_reads_back_from_its_own_path() {
        // Gateways hand the router the path decoded, as PATH_INFO is.
        let read_back = |route: &Route| {
            let path = route.path();
            let decoded: Vec<u8> = percent_encoding::percent_decode_str(&path).collect();
            Route::parse(&decoded).unwrap()
        };
        for route in one_of_each() {
            assert_eq!(read_back(&route), route);
        }
        let odd = Route::Edit(name("a?b#c d+e"));
        assert_eq!(odd.path(), "/+edit/a%3Fb%23c%20d%2Be");
        assert_eq!(read_back(&odd), odd);
        // Found by fuzzing (`fuzz/`, target `page_names`): a static path was written as it is, so
        // `%c0` in it read back as a byte that is no UTF-8, and `%41` as `A`.
        let asset = Route::Static("theme/a%c0 b%41?.css".to_owned());
        assert_eq!(asset.path(), "/+static/theme/a%25c0%20b%2541%3F.css");
        assert_eq!(read_back(&asset), asset);
    }

    #[test]
    fn every_route_that_changes_pages_needs_more_than_reading_and_takes_a_post() {
        let front = name("FrontPage");
        for route in one_of_each() {
            if route.changes_pages() {
                let (_, rights) = route.needs(&front).expect("a change names its page");
                assert!(rights.len() > 1, "{route:?}");
                assert_ne!(route.methods(), Methods::Read, "{route:?}");
            }
            // Every route that names a page in its path is checked against that page.
            if let Some(page) = route.page() {
                assert_eq!(route.needs(&front).map(|(on, _)| on), Some(page));
            }
        }
    }

    #[test]
    fn routes_that_show_a_page_s_past_say_so() {
        let page = || name("A");
        for route in [
            Route::History(page()),
            Route::Diff(page()),
            Route::Blame(page()),
            Route::Info(page()),
            Route::Revert(page()),
            Route::Feed(FeedFormat::Atom, Some(page())),
        ] {
            assert!(route.shows_past(), "{route:?}");
        }
        // A view or raw text shows the past only with `?rev=N`, which their controllers check.
        for route in [Route::View(page()), Route::Raw(page()), Route::Edit(page())] {
            assert!(!route.shows_past(), "{route:?}");
        }
    }

    #[test]
    fn methods_and_their_allow_header_agree() {
        for methods in [
            Methods::Read,
            Methods::Post,
            Methods::FormAndPost,
            Methods::ReadAndPut,
            Methods::Put,
        ] {
            for method in [Method::GET, Method::HEAD, Method::POST, Method::PUT] {
                assert_eq!(
                    methods.allows(&method),
                    methods.allow().contains(method.as_str()),
                    "{methods:?} {method}"
                );
            }
        }
    }
}
