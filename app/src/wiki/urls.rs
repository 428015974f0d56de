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
