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
//! Files attached to pages ([`FileRef`]) are named by `attachment:` targets, in MoinMoin's forms and
//! Markdown's:
//!
//! | written                                  | renders                                                  |
//! |------------------------------------------|----------------------------------------------------------|
//! | `![alt](attachment:x.png)`               | the current page's `x.png` as an image                   |
//! | `[label](attachment:report.pdf)`         | a link to the current page's `report.pdf`                |
//! | `[label](<attachment:my file.pdf>)`, `attachment:my%20file.pdf` | `my file.pdf` (targets are percent-decoded) |
//! | `attachment:Other/Page/x.png`            | page `Other/Page`'s `x.png`: the last `/` splits page and file; `/Child/x.png` and `../Sibling/x.png` resolve like wiki links |
//! | `{{attachment:x.png}}`, `{{attachment:x.png\|alt}}` | an image, or a link for a file that is no image (MoinMoin's transclusion) |
//! | `[[attachment:x.pdf]]`, `[[attachment:x.pdf\|label]]` | a link to the file, labelled with its name or `label`    |
//! | `![[attachment:x.png]]`                  | an image, as `{{attachment:x.png}}`                      |
//!
//! An image is `<img src alt loading="lazy" width height>`, with the dimensions the caller knows
//! ([`FileFacts`]); a file that does not exist is a link of class `missing` to its upload form, like a page
//! that does not exist. A target that is no valid file name (empty, a `/`, `\` or control character in the
//! name, a leading dot, `..` above the root) is shown as the text written. The wiki forms
//! (`{{…}}`, `[[…]]`) need [`RenderOptions::wiki_links`]; Markdown's `attachment:` destinations always
//! resolve, as the scheme means nothing else. Every image a page shows loads lazily.
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

mod attachment;
mod autolink;
mod camelcase;
// Test support: the bodies of the fuzz targets in `fuzz/`, shared with the stable seed replay.
#[doc(hidden)]
pub mod fuzzing;
mod groups;
mod highlight;
mod limits;
pub mod moin;
mod nesting;
mod options;
mod pragma;
mod relink;
mod render;
mod sanitize;
mod sections;
mod text;
mod wikilink;

use std::collections::{HashMap, HashSet};

pub use attachment::{FileFacts, FileRef};
pub use groups::group_members;
pub use limits::RenderLimits;
pub use nesting::{MAX_HTML_DEPTH, MAX_MARKDOWN_NESTING};
pub use options::{MarkupError, RenderOptions};
pub use pragma::{page_body, pragmas, Pragmas, KEYWORDS as PRAGMA_KEYWORDS};
pub use relink::{rewrite_links, LinkTarget};
pub use sanitize::{EXTERNAL_REL, MISSING_REL};
pub use sections::{replace_section, section_count, section_range, section_text};

/// What markup needs from its caller to write wiki links and attachments; the app implements it, as it knows
/// the mount prefix and the storage.
pub trait LinkResolver {
    /// URL to view page `name`: an absolute path including the mount prefix, already percent-encoded, e.g.
    /// `/wiki/Some%20Page`.
    fn page_url(&self, name: &str) -> String;
    /// URL of the form that creates page `name`, for links to pages that do not exist yet.
    fn create_url(&self, name: &str) -> String;
    /// Which of `names` exist. Called at most once per [`render`], with every distinct wiki-link target.
    fn existing(&self, names: &[String]) -> HashSet<String>;
    /// URL of file `name` of page `page` (the file's bytes, used as an image's `src` and a link's `href`):
    /// an absolute path including the mount prefix, already percent-encoded, e.g.
    /// `/wiki/+file/Some%20Page/my%20file.pdf`. Only asked for files [`LinkResolver::existing_files`]
    /// reported.
    fn file_url(&self, page: &str, name: &str) -> String;
    /// URL of the form that uploads file `name` to page `page`, for links to files that do not exist yet.
    fn upload_url(&self, page: &str, name: &str) -> String;
    /// Which of `files` exist, each with what is known of it ([`FileFacts`]); a file left out is shown as
    /// missing. Called at most once per [`render`], with every distinct file target, and not at all for a
    /// page without any.
    fn existing_files(&self, files: &[FileRef]) -> HashMap<FileRef, FileFacts>;
    /// URL of the form that edits section `section` of page `page` (numbered as [`section_range`]
    /// numbers them), written as a link of class `section-edit` at the end of the section's heading;
    /// `None`, the default, writes none. A caller that draws a page for readers who may not edit it
    /// leaves it `None`, and keeps the two renders apart in any cache.
    fn section_edit_url(&self, page: &str, section: usize) -> Option<String> {
        let _ = (page, section);
        None
    }
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
/// use std::collections::{HashMap, HashSet};
///
/// use markup::{FileFacts, FileRef};
///
/// struct Wiki;
/// impl markup::LinkResolver for Wiki {
///     fn page_url(&self, name: &str) -> String { format!("/wiki/{}", name.replace(' ', "%20")) }
///     fn create_url(&self, name: &str) -> String { format!("/wiki/{}?edit", name.replace(' ', "%20")) }
///     fn existing(&self, names: &[String]) -> HashSet<String> {
///         names.iter().filter(|n| *n == "Home").cloned().collect()
///     }
///     fn file_url(&self, page: &str, name: &str) -> String { format!("/wiki/+file/{page}/{name}") }
///     fn upload_url(&self, page: &str, name: &str) -> String { format!("/wiki/+files/{page}?name={name}") }
///     fn existing_files(&self, files: &[FileRef]) -> HashMap<FileRef, FileFacts> {
///         let logo = FileFacts { width: Some(64), height: Some(32) };
///         files.iter().filter(|f| f.name == "logo.png").map(|f| (f.clone(), logo)).collect()
///     }
/// }
///
/// let page = markup::render("See [[Home]] and [[ New  Page |this]].", "Home", &Wiki);
/// assert_eq!(page.links, ["Home", "New Page"]);
/// assert!(page.html.contains(r#"<a class="wikilink" href="/wiki/Home">Home</a>"#));
/// assert!(page.html.contains(r#"href="/wiki/New%20Page?edit""#));
///
/// let page = markup::render("![Logo](attachment:logo.png) {{attachment:plan.pdf}}", "Home", &Wiki);
/// assert!(page.html.contains(
///     r#"<img src="/wiki/+file/Home/logo.png" alt="Logo" loading="lazy" width="64" height="32">"#
/// ));
/// assert!(page.html.contains(r#"<a class="attachment missing" href="/wiki/+files/Home?name=plan.pdf""#));
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
/// use std::collections::{HashMap, HashSet};
///
/// use markup::{FileFacts, FileRef};
///
/// struct NoPages;
/// impl markup::LinkResolver for NoPages {
///     fn page_url(&self, name: &str) -> String { format!("/{name}") }
///     fn create_url(&self, name: &str) -> String { format!("/{name}?edit") }
///     fn existing(&self, _: &[String]) -> HashSet<String> { HashSet::new() }
///     fn file_url(&self, page: &str, name: &str) -> String { format!("/+file/{page}/{name}") }
///     fn upload_url(&self, page: &str, _: &str) -> String { format!("/+files/{page}") }
///     fn existing_files(&self, _: &[FileRef]) -> HashMap<FileRef, FileFacts> { HashMap::new() }
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

/// The files `markdown` (on page `current_page`, under `options`) links to or embeds, distinct, in first-seen
/// order: what [`render_with`] asks [`LinkResolver::existing_files`] about, without rendering. For the link
/// graph, as [`wiki_links_with`] is for pages: backlinks of a file, and files wanted but not uploaded.
///
/// ```
/// use markup::FileRef;
///
/// let files = markup::file_links(
///     "![a](attachment:a.png) [[attachment:Other/Page/b.pdf]] {{attachment:a.png}} `{{attachment:c.png}}`",
///     "Home",
///     &markup::RenderOptions::default(),
/// );
/// let file = |page: &str, name: &str| FileRef { page: page.into(), name: name.into() };
/// assert_eq!(files, [file("Home", "a.png"), file("Other/Page", "b.pdf")]);
/// ```
pub fn file_links(markdown: &str, current_page: &str, options: &RenderOptions) -> Vec<FileRef> {
    render::file_links(page_body(markdown), current_page, options)
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
    let rendered = render::render(page_body(markdown), current_page, &NoLinks, options)?;
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

/// A resolver for renders whose links' targets do not matter: no page or file exists, and every URL is
/// empty. Page and file existence do not change which links leave the site ([`external_links`]).
pub(crate) struct NoLinks;

impl LinkResolver for NoLinks {
    fn page_url(&self, _: &str) -> String {
        String::new()
    }
    fn create_url(&self, _: &str) -> String {
        String::new()
    }
    fn existing(&self, _: &[String]) -> HashSet<String> {
        HashSet::new()
    }
    fn file_url(&self, _: &str, _: &str) -> String {
        String::new()
    }
    fn upload_url(&self, _: &str, _: &str) -> String {
        String::new()
    }
    fn existing_files(&self, _: &[FileRef]) -> HashMap<FileRef, FileFacts> {
        HashMap::new()
    }
}
