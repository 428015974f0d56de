//! quire's markup: Markdown with wiki links, rendered to HTML that is safe to embed, and the links a page makes.
//!
//! The dialect is CommonMark with GitHub's extensions (tables, strikethrough, task lists, footnotes, alerts,
//! bare-URL autolinks) and wiki links:
//!
//! | written            | links to                                           |
//! |--------------------|----------------------------------------------------|
//! | `[[Page]]`         | page `Page`, labelled as written                    |
//! | `[[Page\|label]]`  | page `Page`, labelled `label` (Markdown allowed)    |
//! | `[[Page#anchor]]`  | page `Page` at `#anchor` (headings get slug ids)    |
//! | `[[#anchor]]`      | `#anchor` on the current page                      |
//! | `[[/Child]]`       | `{current page}/Child`                             |
//! | `[[../Sibling]]`   | `Sibling` next to the current page                 |
//! | `[[Prefix:Page]]`  | `Page` on another site, for configured interwiki prefixes ([`RenderOptions::interwiki`]) |
//! | `[[_TOC_]]`        | on a line of its own: the table of contents, nested lists linking to the headings |
//! | `FrontPage`        | page `FrontPage`, if [`RenderOptions::camel_case`] is on (off by default) |
//!
//! Targets are trimmed and runs of whitespace collapsed; an invalid target (empty, a segment starting with
//! `+`, a control character, `..` above the root) is shown as the text written. Wiki links in code are code.
//!
//! Speed: a render costs about 0.2 µs per byte of Markdown in a release build, some three quarters of it in
//! the sanitizer; `cargo bench -p markup` measures it. Nothing is kept between renders: a caller that views a
//! page often caches the HTML itself (quire's app keeps a current revision's HTML in storage's render cache,
//! keyed with [`RenderOptions::fingerprint`]).
//!
//! Safety: every rendered page passes ammonia with an allow-list policy (see `sanitize.rs`), raw HTML
//! included; external links get `rel="nofollow ugc noopener"`. Hostile nesting is capped
//! ([`MAX_MARKDOWN_NESTING`], [`MAX_HTML_DEPTH`]) so rendering time stays proportional to the page; and with
//! [`RenderOptions::limits`] set, a page whose render would cost more than [`RenderLimits`] allows (markup
//! characters, elements, table cells, HTML size) is refused before it costs that much.
//!
//! Architecture invariant: markup does no I/O and knows nothing of storage or HTTP; what it needs from
//! outside (URLs, which pages exist) comes through [`LinkResolver`].
//!
//! Architecture invariant: markup is pure. It holds no mutable state, global or otherwise: no memo, no
//! counters, no caches, so a render is a function of its arguments and the resolver's answers, and two
//! calls never influence each other. The only statics are two read-only tables built on first use and never
//! changed: the sanitizer's policy (`sanitize.rs`) and syntect's syntax definitions (`highlight.rs`).

mod autolink;
mod camelcase;
mod highlight;
mod limits;
mod nesting;
mod options;
mod pragma;
mod render;
mod sanitize;
mod text;
mod wikilink;

use std::collections::HashSet;

pub use limits::RenderLimits;
pub use nesting::{MAX_HTML_DEPTH, MAX_MARKDOWN_NESTING};
pub use options::{MarkupError, RenderOptions};
pub use pragma::{page_body, pragmas, Pragmas, KEYWORDS as PRAGMA_KEYWORDS};
pub use sanitize::{EXTERNAL_REL, MISSING_REL};

/// What markup needs from its caller to write wiki links; the app implements it, as it knows the mount prefix
/// and the storage.
pub trait LinkResolver {
    /// URL to view page `name`: an absolute path including the mount prefix, already percent-encoded, e.g.
    /// `/wiki/Some%20Page`.
    fn page_url(&self, name: &str) -> String;
    /// URL of the form that creates page `name`, for links to pages that do not exist yet.
    fn create_url(&self, name: &str) -> String;
    /// Which of `names` exist. Called at most once per [`render`], with every distinct wiki-link target.
    fn existing(&self, names: &[String]) -> HashSet<String>;
}

/// A rendered page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Sanitized HTML, to embed as it is.
    pub html: String,
    /// Distinct wiki-link targets as normalized page names, in first-seen order.
    pub links: Vec<String>,
}

/// Renders `markdown`, the text of page `current_page`, to sanitized HTML.
///
/// Never panics; any string is a page. Pragma lines at the top (`#acl …`, see [`pragmas`]) are not
/// rendered. Subpage links (`[[/Child]]`, `[[../Sibling]]`) resolve against
/// `current_page`.
///
/// ```
/// use std::collections::HashSet;
///
/// struct Wiki;
/// impl markup::LinkResolver for Wiki {
///     fn page_url(&self, name: &str) -> String { format!("/wiki/{}", name.replace(' ', "%20")) }
///     fn create_url(&self, name: &str) -> String { format!("/wiki/{}?edit", name.replace(' ', "%20")) }
///     fn existing(&self, names: &[String]) -> HashSet<String> {
///         names.iter().filter(|n| *n == "Home").cloned().collect()
///     }
/// }
///
/// let page = markup::render("See [[Home]] and [[ New  Page |this]].", "Home", &Wiki);
/// assert_eq!(page.links, ["Home", "New Page"]);
/// assert!(page.html.contains(r#"<a class="wikilink" href="/wiki/Home">Home</a>"#));
/// assert!(page.html.contains(r#"href="/wiki/New%20Page?edit""#));
/// ```
pub fn render(markdown: &str, current_page: &str, resolver: &dyn LinkResolver) -> Rendered {
    render::render(
        page_body(markdown),
        current_page,
        resolver,
        &RenderOptions::default(),
    )
    .expect("the default options have no size limit and no bounds, so they refuse no page")
}

/// Renders like [`render`] with `options` instead of quire's default dialect; refuses a page longer than
/// [`RenderOptions::max_input_bytes`] ([`MarkupError::TooLarge`]) or one whose render would exceed a bound of
/// [`RenderOptions::limits`] (the other [`MarkupError`]s, each naming its bound). A refused page is never
/// rendered in part.
///
/// ```
/// use std::collections::HashSet;
///
/// struct NoPages;
/// impl markup::LinkResolver for NoPages {
///     fn page_url(&self, name: &str) -> String { format!("/{name}") }
///     fn create_url(&self, name: &str) -> String { format!("/{name}?edit") }
///     fn existing(&self, _: &[String]) -> HashSet<String> { HashSet::new() }
/// }
///
/// let options = markup::RenderOptions { max_input_bytes: Some(10), ..markup::RenderOptions::commonmark() };
/// let page = markup::render_with("*hi*", "Home", &NoPages, &options).unwrap();
/// assert_eq!(page.html, "<p><em>hi</em></p>\n");
/// assert!(markup::render_with("far too long a page", "Home", &NoPages, &options).is_err());
///
/// let bounded = markup::RenderOptions {
///     limits: Some(markup::RenderLimits { max_table_cells: 3, ..Default::default() }),
///     ..markup::RenderOptions::default()
/// };
/// assert_eq!(
///     markup::render_with("|a|b|\n|-|-|\n|c|d|\n", "Home", &NoPages, &bounded),
///     Err(markup::MarkupError::TooManyTableCells { limit: 3 })
/// );
/// ```
pub fn render_with(
    markdown: &str,
    current_page: &str,
    resolver: &dyn LinkResolver,
    options: &RenderOptions,
) -> Result<Rendered, MarkupError> {
    if let Some(limit) = options.max_input_bytes {
        if markdown.len() > limit {
            return Err(MarkupError::TooLarge {
                size: markdown.len(),
                limit,
            });
        }
    }
    render::render(page_body(markdown), current_page, resolver, options)
}

/// The wiki-link targets of `markdown` (on page `current_page`), as [`render`] would report them in
/// [`Rendered::links`], without rendering.
pub fn wiki_links(markdown: &str, current_page: &str) -> Vec<String> {
    render::wiki_links(page_body(markdown), current_page, &RenderOptions::default())
}

/// The page names `markdown` links to under `options` (CamelCase words included when enabled), as
/// [`render_with`] would report them in [`Rendered::links`], without rendering.
pub fn wiki_links_with(markdown: &str, current_page: &str, options: &RenderOptions) -> Vec<String> {
    render::wiki_links(page_body(markdown), current_page, options)
}

/// The links of `markdown` (on page `current_page`, under `options`) that leave the site, in order, one entry
/// per link: the `href` of each absolute link [`render_with`] would write (Markdown links, bare URLs, raw
/// HTML anchors the sanitizer keeps), HTML-escaped as written there. Interwiki links are not counted, as
/// their sites are the operator's choice. For spam rules that limit how many links an edit adds: it renders
/// the page to find them, so it costs what a render does, and fails as a render does when the text is
/// over one of `options.limits`.
///
/// ```
/// let options = markup::RenderOptions::default();
/// let links = markup::external_links(
///     "[a](https://a.example/?x=1&y=2), https://b.example, [[Home]], [[WikiPedia:Rust]], <a href=\"//c.example\">c</a>",
///     "Home",
///     &options,
/// )?;
/// assert_eq!(links, ["https://a.example/?x=1&amp;y=2", "https://b.example", "//c.example"]);
/// # Ok::<(), markup::MarkupError>(())
/// ```
pub fn external_links(
    markdown: &str,
    current_page: &str,
    options: &RenderOptions,
) -> Result<Vec<String>, MarkupError> {
    /// Page existence does not change which links leave the site.
    struct NoPages;
    impl LinkResolver for NoPages {
        fn page_url(&self, _: &str) -> String {
            String::new()
        }
        fn create_url(&self, _: &str) -> String {
            String::new()
        }
        fn existing(&self, _: &[String]) -> HashSet<String> {
            HashSet::new()
        }
    }
    let rendered = render::render(page_body(markdown), current_page, &NoPages, options)?;
    Ok(external_hrefs(&rendered.html))
}

/// The links that leave the site in `html` that [`render_with`] wrote, as [`external_links`] counts
/// them: for a caller that rendered the page anyway and need not render it again.
///
/// ```
/// let html = r#"<p><a href="https://a.example" rel="nofollow ugc noopener">a</a> and <a href="/wiki/Home">Home</a></p>"#;
/// assert_eq!(markup::external_hrefs(html), ["https://a.example"]);
/// ```
pub fn external_hrefs(html: &str) -> Vec<String> {
    sanitize::external_hrefs(html)
}

/// The text of `markdown` without markup (and without its pragma lines), one line per block: for search indexes and snippets.
pub fn plain_text(markdown: &str) -> String {
    text::plain_text(page_body(markdown))
}
