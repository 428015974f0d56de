//! Every URL the wiki writes, built from the mount prefix the gateway reports.
//!
//! Architecture invariant: no controller or template concatenates a URL by
//! hand; they all come from here, so the wiki works at `/`, under `/wiki`
//! behind a proxy, and at `/cgi-bin/quire`.

use percent_encoding::{utf8_percent_encode, AsciiSet};

use crate::wiki::history::feeds::FeedFormat;
use crate::wiki::plumbing::api_routes::ApiRoute;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::routes::{self, FileRoute, Route, Verb};

/// Characters escaped in a page name inside a path: everything that could
/// end the path or change its meaning, plus `'` (links sit in attributes)
/// and `+` (some servers decode it as a space). `/` stays, for subpages.
const PAGE_PATH: &AsciiSet = &gateway::uri::PATH_ESCAPES.add(b'\'').add(b'+');

/// Characters escaped in one path segment (a file's name): those of a page name, and `/`.
const SEGMENT: &AsciiSet = &PAGE_PATH.add(b'/');

/// Characters escaped in a query-string value: everything but unreserved ones.
const QUERY_VALUE: &AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Builds URLs below one mount prefix.
#[derive(Debug, Clone)]
pub struct Urls {
    mount: String,
}

impl Urls {
    /// URLs under `mount` (`""` or `/like/this`).
    pub fn new(mount: &str) -> Self {
        Urls {
            mount: mount.trim_end_matches('/').to_owned(),
        }
    }

    /// Where `route` is: the one way a path under the mount is made.
    pub fn to(&self, route: &Route) -> String {
        format!("{}{}", self.mount, route.path())
    }

    /// The wiki's root.
    pub fn root(&self) -> String {
        self.to(&Route::Root)
    }

    /// Where a page is viewed.
    pub fn page(&self, name: &PageName) -> String {
        self.page_text(name.as_str())
    }

    /// Where a page given as text is viewed (a name from storage, a link target markup checked).
    pub fn page_text(&self, name: &str) -> String {
        let mut url = String::with_capacity(self.mount.len() + 1 + name.len());
        self.push_page_text(&mut url, name);
        url
    }

    /// [`Urls::page_text`] written at the end of `out`: a listing writes each of its hundreds of
    /// links into one reused buffer rather than a string of its own.
    pub fn push_page_text(&self, out: &mut String, name: &str) {
        out.push_str(&self.mount);
        routes::push_page_path(out, name);
    }

    /// The form that creates (or edits) a page given as text, for links to missing pages.
    pub fn edit_text(&self, name: &str) -> String {
        let mut url = String::with_capacity(self.mount.len() + 8 + name.len());
        self.push_edit_text(&mut url, name);
        url
    }

    /// [`Urls::edit_text`] written at the end of `out`, as [`Urls::push_page_text`] is.
    pub fn push_edit_text(&self, out: &mut String, name: &str) {
        out.push_str(&self.mount);
        routes::push_verb_path(out, Verb::Edit.as_str(), name);
    }

    /// The form that edits section `section` of a page given as text (the link beside a heading;
    /// sections are numbered as `markup::section_range` numbers them).
    pub fn edit_section_text(&self, name: &str, section: usize) -> String {
        format!("{}?section={section}", self.edit_text(name))
    }

    /// The form that creates a page starting from the text of page `template`.
    pub fn edit_from_template(&self, name: &PageName, template: &str) -> String {
        format!(
            "{}?template={}",
            self.to(&Route::Edit(name.clone())),
            query_value(template)
        )
    }

    /// A page at an old revision.
    pub fn page_revision(&self, name: &PageName, rev: u64) -> String {
        format!("{}?rev={rev}", self.page(name))
    }

    /// A page just saved by merging with revision `rev`, which the view says.
    pub fn page_merged(&self, name: &PageName, rev: u64) -> String {
        format!("{}?merged={rev}", self.page(name))
    }

    /// A page reached through the name it had before a rename (`from`), which the view mentions.
    pub fn page_redirected(&self, name: &PageName, from: &PageName) -> String {
        format!(
            "{}?redirected_from={}",
            self.page(name),
            query_value(from.as_str())
        )
    }

    /// A diff between two revisions.
    pub fn diff(&self, name: &PageName, from: u64, to: u64) -> String {
        format!(
            "{}?from={from}&to={to}",
            self.to(&Route::Diff(name.clone()))
        )
    }

    /// A writer of the addresses a row of recent changes links to (a page's view, history and
    /// diff), into buffers it reuses row after row.
    pub fn page_row_links(&self) -> PageRowLinks<'_> {
        PageRowLinks {
            urls: self,
            encoded: String::new(),
            url: String::new(),
        }
    }

    /// A page of a diff's rows in `shape`, starting at row `offset`.
    pub fn diff_page(
        &self,
        name: &PageName,
        from: u64,
        to: u64,
        shape: DiffShape,
        offset: usize,
    ) -> String {
        let mut url = self.diff(name, from, to);
        if shape != DiffShape::Unified {
            url.push_str(&format!("&view={}", shape.as_str()));
        }
        if offset > 0 {
            url.push_str(&format!("&offset={offset}"));
        }
        url
    }

    /// Where a POST makes revision `rev` of a page current again.
    pub fn revert(&self, name: &PageName, rev: u64) -> String {
        format!("{}?rev={rev}", self.to(&Route::Revert(name.clone())))
    }

    /// A page of the orphaned pages, after the name `after` (`None`: the first).
    pub fn orphans(&self, after: Option<&str>) -> String {
        self.paged_by_name(&Route::Orphans, after)
    }

    /// A page of `/+wanted`, after the name `after`.
    pub fn wanted(&self, after: Option<&str>) -> String {
        self.paged_by_name(&Route::Wanted, after)
    }

    /// A page of the pages that link to `name`, after the name `after` (`None`: the first).
    pub fn backlinks(&self, name: &PageName, after: Option<&str>) -> String {
        self.paged_by_name(&Route::Backlinks(name.clone()), after)
    }

    /// A page of a listing paged by name (`name_pages`), after the name `after`.
    fn paged_by_name(&self, route: &Route, after: Option<&str>) -> String {
        let pairs: Vec<String> = after
            .map(|after| format!("after={}", query_value(after)))
            .into_iter()
            .collect();
        with_query(self.to(route), &pairs)
    }

    /// A page of the all-pages index: names starting with `query.prefix`, after `query.after`.
    pub fn index(&self, query: &IndexQuery) -> String {
        let mut pairs = Vec::new();
        if !query.prefix.is_empty() {
            pairs.push(format!("prefix={}", query_value(&query.prefix)));
        }
        if let Some(after) = &query.after {
            pairs.push(format!("after={}", query_value(after)));
        }
        if query.tree {
            pairs.push("view=tree".to_owned());
        }
        if let Some(count) = query.count {
            pairs.push(format!("count={count}"));
        }
        with_query(self.to(&Route::Index), &pairs)
    }

    /// A page of recent changes under `filter`, starting after the change `before` (a cursor).
    pub fn recent(&self, filter: &RecentFilter, before: Option<u64>) -> String {
        let mut query = Vec::new();
        if let Some(author) = &filter.author {
            query.push(format!("author={}", query_value(author)));
        }
        if let Some(prefix) = &filter.prefix {
            query.push(format!("prefix={}", query_value(prefix)));
        }
        if let Some(before) = before {
            query.push(format!("before={before}"));
        }
        with_query(self.to(&Route::Recent), &query)
    }

    /// One person's contributions.
    pub fn contributions(&self, user: &str) -> String {
        self.to(&Route::Contributions(user.to_owned()))
    }

    /// A page of one person's contributions, optionally under a page prefix, after a cursor.
    pub fn contributions_page(
        &self,
        user: &str,
        prefix: Option<&str>,
        before: Option<u64>,
    ) -> String {
        let mut query = Vec::new();
        if let Some(prefix) = prefix {
            query.push(format!("prefix={}", query_value(prefix)));
        }
        if let Some(before) = before {
            query.push(format!("before={before}"));
        }
        with_query(self.contributions(user), &query)
    }

    /// An account's feed of watched changes, opened by its secret `token`: in the query, which
    /// the request log leaves out, not the path, which it writes.
    pub fn watch_feed(&self, token: &str) -> String {
        with_query(
            self.to(&Route::WatchFeed),
            &[format!("token={}", query_value(token))],
        )
    }

    /// A feed of the whole wiki's changes, or of one page's.
    pub fn feed(&self, format: FeedFormat, page: Option<&PageName>) -> String {
        self.to(&Route::Feed(format, page.cloned()))
    }

    /// A page's file given as text (a link target in a page), at its current version.
    pub fn file_text(&self, page: &str, name: &str) -> String {
        format!(
            "{}/+{}/{}/{}",
            self.mount,
            Verb::File.as_str(),
            encode_page(page),
            encode_segment(name)
        )
    }

    /// One version of a page's file; a fixed version's bytes never change.
    pub fn file_version(&self, file: &FileRoute, version: u64) -> String {
        format!("{}?v={version}", self.to(&Route::File(file.clone())))
    }

    /// A file's thumbnail at one version.
    pub fn thumbnail(&self, file: &FileRoute, version: u64) -> String {
        format!("{}?v={version}", self.to(&Route::Thumbnail(file.clone())))
    }

    /// Where a POST makes version `version` of a file current again.
    pub fn restore_file(&self, file: &FileRoute, version: u64) -> String {
        format!("{}?v={version}", self.to(&Route::RestoreFile(file.clone())))
    }

    /// The upload form of a page given as text, the name to save as filled in (a link to a file
    /// that does not exist yet).
    pub fn upload_text(&self, page: &str, name: &str) -> String {
        format!(
            "{}{}?name={}",
            self.mount,
            routes::verb_path(Verb::Files.as_str(), page),
            query_value(name)
        )
    }

    /// An address of the JSON API.
    pub fn api(&self, route: &ApiRoute) -> String {
        self.to(&Route::Api(route.clone()))
    }

    /// An address of the JSON API with a query: `pairs` of names and values, the values encoded
    /// here, `None` values left out (a listing's next page, say).
    pub fn api_with_query(&self, route: &ApiRoute, pairs: &[(&str, Option<&str>)]) -> String {
        let pairs: Vec<String> = pairs
            .iter()
            .filter_map(|(name, value)| value.map(|value| format!("{name}={}", query_value(value))))
            .collect();
        with_query(self.api(route), &pairs)
    }

    /// The login form, coming back to `next` (a path under the mount) afterwards.
    pub fn login(&self, next: &str) -> String {
        format!("{}?next={}", self.to(&Route::Login), query_value(next))
    }

    /// A page of search results for `query` (`page` counts from 1).
    pub fn search(&self, query: &str, page: usize) -> String {
        let base = self.to(&Route::Search);
        let query = query_value(query);
        match page {
            0 | 1 => format!("{base}?q={query}"),
            2.. => format!("{base}?q={query}&page={page}"),
        }
    }

    /// The path a request came in on (`path_info`, decoded, below the mount) with another query:
    /// `pairs` are already encoded `key=value` pairs.
    pub fn same_path(&self, path_info: &[u8], pairs: &[String]) -> String {
        let path = String::from_utf8_lossy(path_info);
        let path = path.strip_prefix('/').unwrap_or(&path);
        let path = utf8_percent_encode(path, gateway::uri::PATH_ESCAPES);
        with_query(format!("{}/{path}", self.mount), pairs)
    }

    /// The sitemap, or with `page` one file of a sitemap index (from 1).
    pub fn sitemap(&self, page: Option<usize>) -> String {
        let base = self.to(&Route::Sitemap);
        match page {
            None => base,
            Some(page) => format!("{base}?page={page}"),
        }
    }

    /// What every action's address starts with (everything but pages and the root): for
    /// robots.txt, which keeps crawlers off them.
    pub fn actions_prefix(&self) -> String {
        format!("{}/+", self.mount)
    }

    /// The base of static assets, without a trailing slash (themes append `/{file}`).
    pub fn static_base(&self) -> String {
        format!("{}/+{}", self.mount, Verb::Static)
    }
}

/// What [`Urls::page_row_links`] gives: a page's addresses written as [`Urls::page`],
/// `Urls::to(Route::History)`, [`Urls::diff`], [`Urls::page_revision`] and [`Urls::revert`] write them, the name encoded once a page and
/// every address written into the same buffer (a page of recent changes writes three hundred).
#[derive(Debug)]
pub struct PageRowLinks<'a> {
    urls: &'a Urls,
    /// The page's name as it stands in a path.
    encoded: String,
    url: String,
}

impl PageRowLinks<'_> {
    /// Makes `name` the page the next addresses are of.
    pub fn set_page(&mut self, name: &PageName) {
        self.encoded.clear();
        push_encoded_page(&mut self.encoded, name.as_str());
    }

    /// Where the page is viewed.
    pub fn view(&mut self) -> &str {
        self.url.clear();
        self.url.push_str(&self.urls.mount);
        self.url.push('/');
        self.url.push_str(&self.encoded);
        &self.url
    }

    /// The page's revisions.
    pub fn history(&mut self) -> &str {
        self.under(Verb::History)
    }

    /// The diff between two of the page's revisions.
    pub fn diff(&mut self, from: u64, to: u64) -> &str {
        use std::fmt::Write as _;
        self.under(Verb::Diff);
        // Writing to a `String` cannot fail.
        let _ = write!(self.url, "?from={from}&to={to}");
        &self.url
    }

    /// One of the page's revisions, as [`Urls::page_revision`] writes it.
    pub fn revision(&mut self, rev: u64) -> &str {
        use std::fmt::Write as _;
        self.view();
        // Writing to a `String` cannot fail.
        let _ = write!(self.url, "?rev={rev}");
        &self.url
    }

    /// Where a POST makes one of the page's revisions current again, as [`Urls::revert`] writes it.
    pub fn revert(&mut self, rev: u64) -> &str {
        use std::fmt::Write as _;
        self.under(Verb::Revert);
        // Writing to a `String` cannot fail.
        let _ = write!(self.url, "?rev={rev}");
        &self.url
    }

    fn under(&mut self, verb: Verb) -> &str {
        self.url.clear();
        self.url.push_str(&self.urls.mount);
        routes::push_verb_path_encoded(&mut self.url, verb.as_str(), &self.encoded);
        &self.url
    }
}

/// How a diff is laid out: its `view` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffShape {
    /// One column, removed lines above added ones (`view=unified`, the default).
    Unified,
    /// Old and new side by side (`view=side`).
    SideBySide,
}

impl DiffShape {
    /// The word templates and URLs use.
    pub fn as_str(self) -> &'static str {
        match self {
            DiffShape::Unified => "unified",
            DiffShape::SideBySide => "side",
        }
    }

    /// The shape a `view` parameter names.
    pub fn parse(word: &str) -> Option<DiffShape> {
        [DiffShape::Unified, DiffShape::SideBySide]
            .into_iter()
            .find(|shape| shape.as_str() == word)
    }
}

/// What a page of `/+index` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexQuery {
    /// Only names that start with this (`Team/`: a page's subpages).
    pub prefix: String,
    /// Names after this one (the last name of the page before): a cursor, so that a page does not
    /// shift while pages are created.
    pub after: Option<String>,
    /// Subpages nested under their parents, rather than one list grouped by first letter.
    pub tree: bool,
    /// Names a page shows, when not the default.
    pub count: Option<usize>,
}

/// What a list of recent changes is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecentFilter {
    /// Only this author's changes.
    pub author: Option<String>,
    /// Only pages whose names start with this.
    pub prefix: Option<String>,
}

fn query_value(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

fn with_query(mut url: String, pairs: &[String]) -> String {
    if !pairs.is_empty() {
        url.push('?');
        url.push_str(&pairs.join("&"));
    }
    url
}

/// A page (or user) name as it stands in a path.
pub(crate) fn encode_page(name: &str) -> String {
    utf8_percent_encode(name, PAGE_PATH).to_string()
}

/// [`encode_page`] written at the end of `out`.
pub(crate) fn push_encoded_page(out: &mut String, name: &str) {
    out.extend(utf8_percent_encode(name, PAGE_PATH));
}

/// One path segment (a file's name): as a page name, and `/` too.
pub(crate) fn encode_segment(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_urls_under_any_mount() {
        let name = PageName::parse("Team/Café notes").unwrap();
        assert_eq!(Urls::new("").page(&name), "/Team/Caf%C3%A9%20notes");
        assert_eq!(
            Urls::new("/cgi-bin/quire").to(&Route::Edit(name.clone())),
            "/cgi-bin/quire/+edit/Team/Caf%C3%A9%20notes"
        );
        assert_eq!(Urls::new("/wiki/").root(), "/wiki/");
        assert_eq!(
            Urls::new("/wiki").diff(&name, 1, 2),
            "/wiki/+diff/Team/Caf%C3%A9%20notes?from=1&to=2"
        );
    }

    #[test]
    fn a_page_rows_urls_are_those_built_one_by_one() {
        for mount in ["", "/wiki"] {
            let urls = Urls::new(mount);
            let name = PageName::parse("Team/Café a?b#c+d").unwrap();
            let mut links = urls.page_row_links();
            links.set_page(&PageName::parse("Other").unwrap());
            links.set_page(&name);
            assert_eq!(links.view(), urls.page(&name));
            assert_eq!(links.diff(4, 5), urls.diff(&name, 4, 5));
            assert_eq!(links.history(), urls.to(&Route::History(name.clone())));
            assert_eq!(links.revision(7), urls.page_revision(&name, 7));
            assert_eq!(links.revert(3), urls.revert(&name, 3));
        }
    }

    #[test]
    fn recent_and_feed_urls_carry_filters_and_cursors() {
        let urls = Urls::new("/wiki");
        let filter = RecentFilter {
            author: Some("Ann Lee".into()),
            prefix: Some("Team/".into()),
        };
        assert_eq!(
            urls.recent(&filter, Some(42)),
            "/wiki/+recent?author=Ann%20Lee&prefix=Team%2F&before=42"
        );
        assert_eq!(urls.recent(&RecentFilter::default(), None), "/wiki/+recent");
        assert_eq!(urls.index(&IndexQuery::default()), "/wiki/+index");
        assert_eq!(
            urls.index(&IndexQuery {
                prefix: "Team/".into(),
                after: Some("Team/A&B".into()),
                tree: true,
                count: Some(50),
            }),
            "/wiki/+index?prefix=Team%2F&after=Team%2FA%26B&view=tree&count=50"
        );
        assert_eq!(urls.contributions("a/b?"), "/wiki/+contributions/a/b%3F");
        let name = PageName::parse("Team/Notes").unwrap();
        assert_eq!(
            urls.feed(FeedFormat::Atom, Some(&name)),
            "/wiki/+feed/atom/Team/Notes"
        );
        assert_eq!(Urls::new("").feed(FeedFormat::Rss, None), "/+feed/rss");
    }

    #[test]
    fn search_urls_encode_the_query() {
        assert_eq!(
            Urls::new("/wiki").search("a&b \"c\"+d*", 1),
            "/wiki/+search?q=a%26b%20%22c%22%2Bd%2A"
        );
        assert_eq!(Urls::new("").search("x", 3), "/+search?q=x&page=3");
    }

    #[test]
    fn escapes_what_would_break_a_path_or_attribute() {
        let name = PageName::parse("a?b#c\"d<e>f%g+h").unwrap();
        assert_eq!(Urls::new("").page(&name), "/a%3Fb%23c%22d%3Ce%3Ef%25g%2Bh");
    }
}
