//! What the fuzz targets in `fuzz/` run, so that the stable test suite can run the very same code
//! over the committed seeds (`markup/tests/it/fuzz_seeds.rs`) without nightly or libFuzzer.
//!
//! Each function takes the fuzzer's bytes as page text (lossily decoded: a page is always a
//! `String`, and every mutation should reach the parser), renders or converts it through the
//! public API, and panics only when the result breaks a property the crate's docs promise:
//! sanitized HTML of the serialization shape `sanitize.rs` relies on and with nothing that runs
//! script, the links a render reports equal to what [`crate::wiki_links_with`] finds, text kept byte
//! for byte by [`crate::rewrite_links`] when every link is declined. A render refused over a bound
//! is a clean result. Each returns whether the text rendered, which the seed replay checks.
//! Hidden from the docs: this is test support, not API.

use std::collections::{BTreeMap, HashMap, HashSet};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::moin::{moin_to_markdown, MoinOptions};
use crate::{
    external_hrefs, file_links, group_members, plain_text, pragmas, render_with, rewrite_links,
    wiki_links_with, FileFacts, FileRef, LinkResolver, LinkTarget, RenderLimits, RenderOptions,
};

/// The page every text is rendered as: a subpage, so that `[[../Sibling]]` and `[[/Child]]` resolve.
const PAGE: &str = "Team/Notes";

/// A page's Markdown, rendered in quire's dialect with every extension on (CamelCase links and an
/// interwiki prefix too) and in plain CommonMark, each under the default [`RenderLimits`] as the
/// wiki renders text from strangers; also its plain text, pragmas, group members and rewritten
/// links.
pub fn markdown(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let wiki = RenderOptions {
        camel_case: true,
        interwiki: BTreeMap::from([(
            "WikiPedia".to_owned(),
            "https://en.wikipedia.org/wiki/$PAGE".to_owned(),
        )]),
        limits: Some(RenderLimits::default()),
        ..RenderOptions::default()
    };
    let commonmark = RenderOptions {
        limits: Some(RenderLimits::default()),
        ..RenderOptions::commonmark()
    };
    let mut rendered = false;
    for options in [&wiki, &commonmark] {
        rendered |= render_checked(&text, options);
        let kept = rewrite_links(&text, PAGE, options, &|_| None);
        assert_eq!(
            kept, text,
            "rewrite_links keeps the text when every link is declined"
        );
    }
    let _ = rewrite_links(&text, PAGE, &wiki, &|target| match target {
        LinkTarget::Page { name, .. } => Some(encode(name)),
        LinkTarget::File(file) => Some(format!("{}.files/{}", encode(&file.page), file.name)),
    });
    let _ = plain_text(&text);
    let _ = pragmas(&text);
    let _ = group_members(&text);
    rendered
}

/// A MoinMoin page, converted to Markdown both ways ([`MoinOptions::camel_case`] on and off), and
/// the Markdown rendered as the importer's pages will be. Properties: the Markdown ends with a line
/// break unless empty, and the warnings come in line order within the page's lines.
pub fn moin(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(data);
    let lines = text.split('\n').count();
    let options = RenderOptions {
        limits: Some(RenderLimits::default()),
        ..RenderOptions::default()
    };
    let mut rendered = false;
    for camel_case in [false, true] {
        let converted = moin_to_markdown(&text, &MoinOptions { camel_case });
        assert!(
            converted.markdown.is_empty() || converted.markdown.ends_with('\n'),
            "converted Markdown ends with a line break"
        );
        let mut previous = 1;
        for warning in &converted.warnings {
            assert!(
                (previous..=lines).contains(&warning.line),
                "warning {warning} out of order or past the {lines} lines"
            );
            previous = warning.line;
        }
        let options = RenderOptions {
            camel_case,
            ..options.clone()
        };
        rendered |= render_checked(&converted.markdown, &options);
    }
    rendered
}

/// Renders `text` under `options`; on success checks the HTML and the links. False when refused.
fn render_checked(text: &str, options: &RenderOptions) -> bool {
    let Ok(page) = render_with(text, PAGE, &Resolver, options) else {
        return false;
    };
    check_html(&page.html);
    assert_eq!(
        page.links,
        wiki_links_with(text, PAGE, options),
        "wiki_links_with finds the links render_with reports"
    );
    let _ = file_links(text, PAGE, options);
    let _ = external_hrefs(&page.html);
    true
}

/// Panics unless `html` has the shape `sanitize.rs` relies on (`<` only starts a tag, every
/// attribute is `name="value"`) and nothing in it can run script: no element outside the
/// allow-list's kind, no event handler, no script URL, no style but table alignment.
fn check_html(html: &str) {
    const UNSAFE_ELEMENTS: [&str; 16] = [
        "script", "style", "iframe", "frame", "object", "embed", "svg", "math", "form", "button",
        "textarea", "select", "base", "meta", "link", "template",
    ];
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        let closing = rest.starts_with('/');
        if closing {
            rest = &rest[1..];
        }
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        let name = rest[..name_len].to_ascii_lowercase();
        assert!(!name.is_empty(), "`<` that starts no tag in {html:?}");
        assert!(
            !UNSAFE_ELEMENTS.contains(&name.as_str()),
            "<{name}> in {html:?}"
        );
        rest = &rest[name_len..];
        loop {
            if let Some(after) = rest.strip_prefix('>') {
                rest = after;
                break;
            }
            assert!(!closing, "a closing tag with attributes in {html:?}");
            let Some(after) = rest.strip_prefix(' ') else {
                panic!("a tag of unexpected shape at {rest:?} in {html:?}");
            };
            let Some((attribute, after)) = after.split_once("=\"") else {
                panic!("an attribute without a quoted value at {after:?} in {html:?}");
            };
            let Some((value, after)) = after.split_once('"') else {
                panic!("an attribute value never closed in {html:?}");
            };
            rest = after;
            check_attribute(&name, &attribute.to_ascii_lowercase(), value, html);
        }
    }
}

fn check_attribute(element: &str, attribute: &str, value: &str, html: &str) {
    assert!(
        !attribute.is_empty()
            && attribute
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-'),
        "attribute {attribute:?} on <{element}> in {html:?}"
    );
    assert!(
        !attribute.starts_with("on"),
        "event handler {attribute} on <{element}> in {html:?}"
    );
    if attribute == "style" {
        assert!(
            value.starts_with("text-align: "),
            "style {value:?} on <{element}> in {html:?}"
        );
    }
    // Text attributes (`alt`, `title`) may say anything; only URLs can run script.
    if !matches!(
        attribute,
        "href" | "src" | "cite" | "srcset" | "longdesc" | "poster"
    ) {
        return;
    }
    // The URL as a browser reads it (the URL Standard): the value unescaped, C0 controls and spaces
    // at either end dropped, tabs and line breaks dropped anywhere. Any other character inside the
    // scheme (`j\u{14}avascript:`) makes the URL a relative one, which is harmless.
    let unescaped = value
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    let url: String = unescaped
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect::<String>()
        .to_ascii_lowercase();
    for scheme in ["javascript:", "vbscript:", "data:"] {
        assert!(
            !url.starts_with(scheme),
            "{attribute}={value:?} on <{element}> in {html:?}"
        );
    }
}

/// What a URL path needs escaped here: everything but letters, digits and `/`.
const PATH: &AsciiSet = &NON_ALPHANUMERIC.remove(b'/');

fn encode(name: &str) -> String {
    utf8_percent_encode(name, PATH).to_string()
}

/// A wiki where a page exists when its name has an even number of bytes, and a file when it is a
/// `.png` (10×20) or a `.pdf`: both branches of every link form are reached.
struct Resolver;

impl LinkResolver for Resolver {
    fn page_url(&self, name: &str) -> String {
        format!("/wiki/{}", encode(name))
    }
    fn create_url(&self, name: &str) -> String {
        format!("/wiki/+edit/{}", encode(name))
    }
    fn existing(&self, names: &[String]) -> HashSet<String> {
        names
            .iter()
            .filter(|name| name.len() % 2 == 0)
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
        files
            .iter()
            .filter_map(|file| {
                let facts = if file.name.ends_with(".png") {
                    FileFacts {
                        width: Some(10),
                        height: Some(20),
                    }
                } else if file.name.ends_with(".pdf") {
                    FileFacts {
                        width: None,
                        height: None,
                    }
                } else {
                    return None;
                };
                Some((file.clone(), facts))
            })
            .collect()
    }
}
