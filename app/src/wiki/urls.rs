//! Every URL the wiki writes, built from the mount prefix the gateway reports.
//!
//! Architecture invariant: no controller or template concatenates a URL by
//! hand; they all come from here, so the wiki works at `/`, under `/wiki`
//! behind a proxy, and at `/cgi-bin/quire`.

use percent_encoding::{utf8_percent_encode, AsciiSet};

use super::page_name::PageName;

/// Characters escaped in a page name inside a path: everything that could
/// end the path or change its meaning, plus `'` (links sit in attributes)
/// and `+` (some servers decode it as a space). `/` stays, for subpages.
const PAGE_PATH: &AsciiSet = &gateway::uri::PATH_ESCAPES.add(b'\'').add(b'+');

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

    /// The wiki's root.
    pub fn root(&self) -> String {
        format!("{}/", self.mount)
    }

    /// Where a page is viewed.
    pub fn page(&self, name: &PageName) -> String {
        self.page_str(name.as_str())
    }

    /// Where a page given as text is viewed (for link targets already checked).
    pub fn page_str(&self, name: &str) -> String {
        format!("{}/{}", self.mount, encode(name))
    }

    /// A page at an old revision.
    pub fn page_revision(&self, name: &PageName, rev: u64) -> String {
        format!("{}?rev={rev}", self.page(name))
    }

    /// A page reached through the name it had before a rename (`from`), which the view mentions.
    pub fn page_redirected(&self, name: &PageName, from: &PageName) -> String {
        format!(
            "{}?redirected_from={}",
            self.page(name),
            query_value(from.as_str())
        )
    }

    /// `/+verb/Page`.
    pub fn action(&self, verb: &str, name: &PageName) -> String {
        self.action_str(verb, name.as_str())
    }

    /// `/+verb/Page` for a name given as text.
    pub fn action_str(&self, verb: &str, name: &str) -> String {
        format!("{}/+{verb}/{}", self.mount, encode(name))
    }

    /// A diff between two revisions.
    pub fn diff(&self, name: &PageName, from: u64, to: u64) -> String {
        format!("{}?from={from}&to={to}", self.action("diff", name))
    }

    /// Where a POST makes revision `rev` of a page current again.
    pub fn revert(&self, name: &PageName, rev: u64) -> String {
        format!("{}?rev={rev}", self.action("revert", name))
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
        with_query(self.special("recent"), &query)
    }

    /// One person's contributions.
    pub fn contributions(&self, user: &str) -> String {
        format!("{}/+contributions/{}", self.mount, encode(user))
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

    /// A feed of the whole wiki's changes (`format` is `atom` or `rss`), or of one page's.
    pub fn feed(&self, format: &str, page: Option<&PageName>) -> String {
        match page {
            None => format!("{}/+feed/{format}", self.mount),
            Some(name) => format!("{}/+feed/{format}/{}", self.mount, encode(name.as_str())),
        }
    }

    /// The login form, coming back to `next` (a path under the mount) afterwards.
    pub fn login(&self, next: &str) -> String {
        let next = utf8_percent_encode(next, QUERY_VALUE).to_string();
        format!("{}?next={next}", self.special("login"))
    }

    /// A site-wide page such as `/+recent`.
    pub fn special(&self, verb: &str) -> String {
        format!("{}/+{verb}", self.mount)
    }

    /// A page of search results for `query` (`page` counts from 1).
    pub fn search(&self, query: &str, page: usize) -> String {
        let query = utf8_percent_encode(query, QUERY_VALUE).to_string();
        match page {
            0 | 1 => format!("{}?q={query}", self.special("search")),
            _ => format!("{}?q={query}&page={page}", self.special("search")),
        }
    }

    /// The base of static assets, without a trailing slash.
    pub fn static_base(&self) -> String {
        self.special("static")
    }
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

fn encode(name: &str) -> String {
    utf8_percent_encode(name, PAGE_PATH).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_urls_under_any_mount() {
        let name = PageName::parse("Team/Café notes").unwrap();
        assert_eq!(Urls::new("").page(&name), "/Team/Caf%C3%A9%20notes");
        assert_eq!(
            Urls::new("/cgi-bin/quire").action("edit", &name),
            "/cgi-bin/quire/+edit/Team/Caf%C3%A9%20notes"
        );
        assert_eq!(Urls::new("/wiki/").root(), "/wiki/");
        assert_eq!(
            Urls::new("/wiki").diff(&name, 1, 2),
            "/wiki/+diff/Team/Caf%C3%A9%20notes?from=1&to=2"
        );
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
        assert_eq!(urls.contributions("a/b?"), "/wiki/+contributions/a/b%3F");
        let name = PageName::parse("Team/Notes").unwrap();
        assert_eq!(
            urls.feed("atom", Some(&name)),
            "/wiki/+feed/atom/Team/Notes"
        );
        assert_eq!(Urls::new("").feed("rss", None), "/+feed/rss");
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
