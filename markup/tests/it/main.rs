//! markup's integration tests: everything through the public API.

mod commonmark;
mod dialect;
mod limits;
mod links;
mod nesting;
mod properties;
mod purity;
mod rendering;
mod repeat;
mod xss;

use std::collections::HashSet;

/// A wiki where a fixed set of pages exists; counts how often existence is asked.
pub struct Wiki {
    /// The pages that exist.
    pub pages: HashSet<String>,
    /// How many times the renderer asked which pages exist.
    pub queries: std::cell::Cell<usize>,
}

impl Wiki {
    /// A wiki where `pages` exist and nothing has been asked yet.
    pub fn with(pages: &[&str]) -> Self {
        Wiki {
            pages: pages.iter().map(|p| (*p).to_owned()).collect(),
            queries: std::cell::Cell::new(0),
        }
    }
}

/// Percent-encodes like the app will: enough for tests to see names go through the resolver.
fn encode(name: &str) -> String {
    name.replace('%', "%25")
        .replace(' ', "%20")
        .replace('"', "%22")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

impl markup::LinkResolver for Wiki {
    fn page_url(&self, name: &str) -> String {
        format!("/wiki/{}", encode(name))
    }
    fn create_url(&self, name: &str) -> String {
        format!("/wiki/{}?action=edit", encode(name))
    }
    fn existing(&self, names: &[String]) -> HashSet<String> {
        self.queries.set(self.queries.get() + 1);
        names
            .iter()
            .filter(|n| self.pages.contains(*n))
            .cloned()
            .collect()
    }
}

/// Renders on page `Team/Notes` of a wiki with pages `Home`, `Team`, `Team/Notes`, `Team/Plans`,
/// `Team/Notes/Child`, `Some Page`.
pub fn html(markdown: &str) -> String {
    let wiki = Wiki::with(&[
        "Home",
        "Team",
        "Team/Notes",
        "Team/Plans",
        "Team/Notes/Child",
        "Some Page",
    ]);
    markup::render(markdown, "Team/Notes", &wiki).html
}

/// A tag in sanitized output: its lowercase name and attributes (values with entities decoded).
#[derive(Debug)]
pub struct TagInfo {
    /// The element's name, lowercase.
    pub name: String,
    /// Its attributes in order, as (name, decoded value).
    pub attributes: Vec<(String, String)>,
}

/// The start tags in sanitized HTML. Relies on the serializer's shape: `<` starts a tag and attribute values
/// are double-quoted with `"` escaped; anything else would itself be a bug worth failing on.
pub fn tags(html: &str) -> Vec<TagInfo> {
    let mut found = Vec::new();
    for chunk in html.split('<').skip(1) {
        if chunk.starts_with('/') {
            continue;
        }
        let inside = chunk.split('>').next().unwrap_or_default();
        let name_end = inside.find([' ', '/']).unwrap_or(inside.len());
        let mut attributes = Vec::new();
        let mut rest = &inside[name_end..];
        loop {
            rest = rest.trim_start();
            let Some((name, after)) = rest.split_once("=\"") else {
                break;
            };
            let Some((value, after)) = after.split_once('"') else {
                break;
            };
            attributes.push((name.to_ascii_lowercase(), decode(value)));
            rest = after;
        }
        found.push(TagInfo {
            name: inside[..name_end].to_ascii_lowercase(),
            attributes,
        });
    }
    found
}

fn decode(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Asserts the output cannot run script: no dangerous elements, no event handlers, no script URLs, no styles
/// beyond table alignment.
pub fn assert_safe(input: &str, html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(
        !lower.contains("<script"),
        "script element for {input:?}: {html}"
    );
    for tag in tags(html) {
        assert!(
            !matches!(
                tag.name.as_str(),
                "script"
                    | "style"
                    | "iframe"
                    | "frame"
                    | "object"
                    | "embed"
                    | "svg"
                    | "math"
                    | "form"
                    | "button"
                    | "textarea"
                    | "select"
                    | "base"
                    | "meta"
                    | "link"
                    | "template"
                    | "noscript"
                    | "xmp"
                    | "plaintext"
                    | "noembed"
                    | "noframes"
                    | "title"
            ),
            "<{}> for {input:?}: {html}",
            tag.name
        );
        for (name, value) in &tag.attributes {
            assert!(
                !name.starts_with("on"),
                "event handler {name} for {input:?}: {html}"
            );
            assert!(
                !matches!(
                    name.as_str(),
                    "formaction" | "action" | "background" | "srcdoc" | "xlink:href" | "target"
                ),
                "attribute {name} for {input:?}: {html}"
            );
            if name == "style" {
                assert!(
                    value.starts_with("text-align: "),
                    "style {value:?} for {input:?}: {html}"
                );
            }
            let squeezed: String = value
                .chars()
                .filter(|c| !c.is_whitespace() && !c.is_control())
                .collect::<String>()
                .to_ascii_lowercase();
            for scheme in ["javascript:", "vbscript:", "data:"] {
                assert!(
                    !squeezed.starts_with(scheme),
                    "{name}={value:?} for {input:?}: {html}"
                );
            }
        }
    }
}
