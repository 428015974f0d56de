//! markup's integration tests: everything through the public API.

/// The file methods of a [`markup::LinkResolver`] for a wiki without files, for test resolvers about pages.
macro_rules! no_files {
    () => {
        fn file_url(&self, page: &str, name: &str) -> String {
            format!("/+file/{page}/{name}")
        }
        fn upload_url(&self, page: &str, name: &str) -> String {
            format!("/+files/{page}?name={name}")
        }
        fn existing_files(
            &self,
            _: &[markup::FileRef],
        ) -> std::collections::HashMap<markup::FileRef, markup::FileFacts> {
            std::collections::HashMap::new()
        }
    };
}

mod attachments;
mod commonmark;
mod dialect;
mod limits;
mod links;
mod moin;
mod nesting;
mod properties;
mod purity;
mod rendering;
mod repeat;
mod sections;
mod xss;

use std::collections::{HashMap, HashSet};

use markup::{FileFacts, FileRef};

/// A wiki where a fixed set of pages and files exists; counts how often existence is asked.
pub struct Wiki {
    /// The pages that exist.
    pub pages: HashSet<String>,
    /// How many times the renderer asked which pages exist.
    pub queries: std::cell::Cell<usize>,
    /// The files that exist, with their facts.
    pub files: HashMap<FileRef, FileFacts>,
    /// Every question the renderer asked about files, in order.
    pub file_queries: std::cell::RefCell<Vec<Vec<FileRef>>>,
}

impl Wiki {
    /// A wiki where `pages` exist, no files, and nothing has been asked yet.
    pub fn with(pages: &[&str]) -> Self {
        Wiki {
            pages: pages.iter().map(|p| (*p).to_owned()).collect(),
            queries: std::cell::Cell::new(0),
            files: HashMap::new(),
            file_queries: Default::default(),
        }
    }

    /// This wiki with files `(page, name, dimensions)` too.
    pub fn and_files(mut self, files: &[StoredFile<'_>]) -> Self {
        for (page, name, size) in files {
            let facts = FileFacts {
                width: size.map(|(width, _)| width),
                height: size.map(|(_, height)| height),
            };
            self.files.insert(file(page, name), facts);
        }
        self
    }
}

/// A file that exists: its page, its name, and its width and height if known.
pub type StoredFile<'a> = (&'a str, &'a str, Option<(u32, u32)>);

/// The file `name` of page `page`.
pub fn file(page: &str, name: &str) -> FileRef {
    FileRef {
        page: page.to_owned(),
        name: name.to_owned(),
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
    fn file_url(&self, page: &str, name: &str) -> String {
        format!("/wiki/+file/{}/{}", encode(page), encode(name))
    }
    fn upload_url(&self, page: &str, name: &str) -> String {
        format!("/wiki/+files/{}?name={}", encode(page), encode(name))
    }
    fn existing_files(&self, files: &[FileRef]) -> HashMap<FileRef, FileFacts> {
        self.file_queries.borrow_mut().push(files.to_vec());
        files
            .iter()
            .filter_map(|file| Some((file.clone(), *self.files.get(file)?)))
            .collect()
    }
}

/// Renders on page `Team/Notes` of a wiki with pages `Home`, `Team`, `Team/Notes`, `Team/Plans`,
/// `Team/Notes/Child`, `Some Page`, and the files of [`files_wiki`].
pub fn html(markdown: &str) -> String {
    markup::render(markdown, "Team/Notes", &files_wiki()).html
}

/// The wiki of [`html`]: its pages, and files `x.png` (640×480), `my file.pdf` and `report.pdf` on
/// `Team/Notes`, `logo.svg` (size unknown) on `Home`, `c.png` (10×20) on `A/B`.
pub fn files_wiki() -> Wiki {
    Wiki::with(&[
        "Home",
        "Team",
        "Team/Notes",
        "Team/Plans",
        "Team/Notes/Child",
        "Some Page",
    ])
    .and_files(&[
        ("Team/Notes", "x.png", Some((640, 480))),
        ("Team/Notes", "my file.pdf", None),
        ("Team/Notes", "report.pdf", None),
        ("Home", "logo.svg", None),
        ("A/B", "c.png", Some((10, 20))),
    ])
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

/// Asserts the render of `markdown`, `html`, contains every one of `fragments`.
pub fn assert_fragments(markdown: &str, html: &str, fragments: &[&str]) {
    for fragment in fragments {
        assert!(
            html.contains(fragment),
            "{fragment:?} in render of {markdown:?}: {html}"
        );
    }
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
