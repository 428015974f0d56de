//! The allow-list every rendered page passes through, and the `rel` marking of links.
//!
//! ammonia parses the HTML like a browser and keeps only allowed elements, attributes and URL schemes. The
//! policy is ammonia's default (text formatting, lists, tables, images, no scripting, no forms, no frames, no
//! SVG/MathML) narrowed and widened where our renderer needs it:
//! - `<input>` is allowed, but ammonia forces `type="checkbox" disabled` on every one: task-list markers, and
//!   nothing a reader could type into or submit.
//! - `<img>` always gets `loading="lazy"` (forced, as `<input>`'s type is), so a page of many images loads
//!   only what is on screen; its `width` and `height` are kept only as plain numbers of pixels (the
//!   dimensions the renderer writes for attachments), nothing a style could hide in.
//! - classes only from a fixed list (`wikilink`, `missing`, `interwiki`, `attachment`, `section-edit`, `toc`, footnote and alert classes), plus `language-*` on
//!   `<code>` and `hl-*` (code highlighting) on `<span>`; `style` only as the exact `text-align` our table cells use; `id` on headings and footnotes.
//! - URLs only `http`, `https`, `mailto`, `ftp`, `tel` or relative; no `rel` or `target` from authors.
//! - `<area>`/`<map>` are dropped, so `<a>` is the only element that links.
//!
//! ammonia cannot add `rel` to some links only, so [`mark_links`] does it afterwards on ammonia's own
//! serialization, whose shape is fixed: `<` appears only as a tag start (text and attribute values have it
//! escaped, and no raw-text elements survive the policy), and every attribute is written as `name="value"`.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::highlight::is_highlight_class;

/// What external links (any absolute URL) carry: no ranking credit, marked as user content, no opener access.
pub const EXTERNAL_REL: &str = "nofollow ugc noopener";

/// What links to pages and files that do not exist yet carry, so crawlers do not follow them into edit and
/// upload forms.
pub const MISSING_REL: &str = "nofollow";

/// The policy, built on first use and only read after that: a constant, not state (building it per page
/// would cost a few hash sets per render).
static POLICY: LazyLock<ammonia::Builder<'static>> = LazyLock::new(policy);

/// Sanitizes rendered HTML and marks its links; the output is safe to embed in a page.
pub(crate) fn clean(html: &str) -> String {
    // Serializing straight into a buffer spares the copy `to_string` makes through `Display`.
    let mut sanitized = Vec::with_capacity(html.len() + html.len() / 8);
    POLICY
        .clean(html)
        .write_to(&mut sanitized)
        .expect("writing to a Vec cannot fail");
    let sanitized = String::from_utf8(sanitized)
        .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
    mark_links(&sanitized)
}

fn policy() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tags(["input"])
        .rm_tags(["area", "map"])
        .set_tag_attribute_value("input", "type", "checkbox")
        .set_tag_attribute_value("input", "disabled", "")
        .set_tag_attribute_value("img", "loading", "lazy")
        // Allowing the forced attributes keeps them where they were written, so output order is stable.
        .add_tag_attributes("input", ["checked", "disabled", "type"])
        .add_tag_attributes("img", ["loading"])
        .add_tag_attributes("code", ["class"])
        .add_tag_attributes("span", ["class"])
        .add_tag_attributes("td", ["style"])
        .add_tag_attributes("th", ["style"])
        .add_tag_attributes("div", ["id"])
        .url_schemes(HashSet::from(["http", "https", "mailto", "ftp", "tel"]))
        .link_rel(None)
        .allowed_classes(HashMap::from([
            (
                "a",
                HashSet::from([
                    "wikilink",
                    "missing",
                    "interwiki",
                    "attachment",
                    "section-edit",
                ]),
            ),
            ("nav", HashSet::from(["toc"])),
            ("div", HashSet::from(["footnote-definition"])),
            (
                "sup",
                HashSet::from(["footnote-reference", "footnote-definition-label"]),
            ),
            (
                "blockquote",
                HashSet::from([
                    "markdown-alert-note",
                    "markdown-alert-tip",
                    "markdown-alert-important",
                    "markdown-alert-warning",
                    "markdown-alert-caution",
                ]),
            ),
        ]))
        .attribute_filter(filter_attribute);
    for heading in ["h1", "h2", "h3", "h4", "h5", "h6"] {
        builder.add_tag_attributes(heading, ["id"]);
    }
    builder
}

/// Narrows attributes the tag lists allow more broadly than we want.
fn filter_attribute<'a>(element: &str, attribute: &str, value: &'a str) -> Option<Cow<'a, str>> {
    match (element, attribute) {
        ("code", "class") => is_language_class(value).then_some(Cow::Borrowed(value)),
        ("span", "class") => is_highlight_class(value).then_some(Cow::Borrowed(value)),
        ("td" | "th", "style") => matches!(
            value,
            "text-align: left" | "text-align: center" | "text-align: right"
        )
        .then_some(Cow::Borrowed(value)),
        ("img", "width" | "height") => is_pixels(value).then_some(Cow::Borrowed(value)),
        _ => Some(Cow::Borrowed(value)),
    }
}

/// A number of pixels as the renderer writes one: up to six digits, no unit, sign or space.
fn is_pixels(value: &str) -> bool {
    (1..=6).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

/// `language-rust`, `language-c++`: what pulldown-cmark writes for a fenced block's info string.
fn is_language_class(value: &str) -> bool {
    value.strip_prefix("language-").is_some_and(|lang| {
        !lang.is_empty()
            && lang
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '#' | '.'))
    })
}

/// Adds `rel` to `<a>` tags in sanitized HTML: [`EXTERNAL_REL`] for absolute URLs, [`MISSING_REL`] for links
/// of class `missing`. Relies on the serialization shape described in the module docs.
fn mark_links(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 16);
    let mut rest = html;
    while let Some((end, attributes)) = next_anchor(rest) {
        out.push_str(&rest[..end]);
        // A section's edit link leads to a form, as a missing page's link does.
        let missing = has_class(&attributes, "missing") || has_class(&attributes, "section-edit");
        if attribute(&attributes, "href").is_some_and(is_absolute_url) {
            out.push_str(" rel=\"");
            out.push_str(EXTERNAL_REL);
            out.push('"');
        } else if missing {
            out.push_str(" rel=\"");
            out.push_str(MISSING_REL);
            out.push('"');
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The `href` of every link in sanitized `html` that leaves the site, in order, as serialized (HTML-escaped),
/// except interwiki links: their sites are the operator's choice, not the author's.
pub(crate) fn external_hrefs(html: &str) -> Vec<String> {
    let mut hrefs = Vec::new();
    let mut rest = html;
    while let Some((end, attributes)) = next_anchor(rest) {
        let interwiki = has_class(&attributes, "interwiki");
        let href = attribute(&attributes, "href");
        if let Some(href) = href.filter(|href| is_absolute_url(href) && !interwiki) {
            hrefs.push(href.to_owned());
        }
        rest = &rest[end..];
    }
    hrefs
}

/// The next `<a>` tag in `html`: where its `>` is, and its attributes.
fn next_anchor(html: &str) -> Option<(usize, Vec<(&str, &str)>)> {
    let start = find_anchor_tag(html)?;
    // Serialized attribute values have `>` escaped, so the first `>` ends the tag.
    let end = html[start..].find('>').map(|n| start + n)?;
    Some((end, parse_attributes(&html[start + 2..end])))
}

/// The value of attribute `name`, as [`parse_attributes`] split it.
fn attribute<'a>(attributes: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|(attribute, _)| *attribute == name)
        .map(|(_, value)| *value)
}

/// Whether the `class` attribute names `class`.
fn has_class(attributes: &[(&str, &str)], class: &str) -> bool {
    attribute(attributes, "class").is_some_and(|value| value.split(' ').any(|c| c == class))
}

/// The index of the next `<a ` or `<a>` in `html`.
fn find_anchor_tag(html: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(n) = html[from..].find("<a") {
        let at = from + n;
        if matches!(html.as_bytes().get(at + 2), Some(b' ' | b'>')) {
            return Some(at);
        }
        from = at + 2;
    }
    None
}

/// Splits ` name="value" name="value"` as ammonia serializes it; values stay HTML-escaped.
fn parse_attributes(mut text: &str) -> Vec<(&str, &str)> {
    let mut attributes = Vec::new();
    loop {
        text = text.trim_start();
        let Some((name, after)) = text.split_once("=\"") else {
            return attributes;
        };
        let Some((value, after)) = after.split_once('"') else {
            return attributes;
        };
        attributes.push((name, value));
        text = after;
    }
}

/// Whether a browser would leave the site following `href`: it has a scheme, or starts with two slashes
/// (either kind, which browsers treat alike), after the leading blanks and control characters they skip.
/// Looks at no more than the first 64 characters that count.
fn is_absolute_url(href: &str) -> bool {
    let mut chars = href
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .take(64);
    match chars.next() {
        Some('/' | '\\') => matches!(chars.next(), Some('/' | '\\')),
        Some(first) if first.is_ascii_alphabetic() => {
            for c in chars {
                if c == ':' {
                    return true;
                }
                if !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
                    return false;
                }
            }
            false
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_urls_are_recognised() {
        for href in [
            "http://x.org",
            "HTTPS://x.org",
            "mailto:a@b.org",
            "//evil.org/",
            "\\\\evil.org",
            "/\\evil.org",
            " \t//evil.org",
            "ht\ntp://x.org",
        ] {
            assert!(is_absolute_url(href), "{href:?} is absolute");
        }
        for href in [
            "/wiki/Page",
            "Page",
            "#top",
            "?q=1",
            "./a:b",
            "/a:b",
            "",
            "1a:b",
        ] {
            assert!(!is_absolute_url(href), "{href:?} is relative");
        }
    }

    #[test]
    fn links_get_rel_by_kind() {
        let cases = [
            (
                r#"<a href="https://x.org">x</a>"#,
                r#"<a href="https://x.org" rel="nofollow ugc noopener">x</a>"#,
            ),
            (
                r#"<a class="wikilink missing" href="/e">x</a>"#,
                r#"<a class="wikilink missing" href="/e" rel="nofollow">x</a>"#,
            ),
            (
                r#"<a class="wikilink" href="/w">x</a>"#,
                r#"<a class="wikilink" href="/w">x</a>"#,
            ),
            ("<a>x</a><abbr>y</abbr>", "<a>x</a><abbr>y</abbr>"),
            (
                r#"<a title="a &quot;href=&quot;//x" href="/w">x</a>"#,
                r#"<a title="a &quot;href=&quot;//x" href="/w">x</a>"#,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(mark_links(input), expected);
        }
    }

    #[test]
    fn policy_keeps_what_the_renderer_emits() {
        let html = concat!(
            r#"<p><a class="wikilink missing" href="/wiki/A">A</a></p>"#,
            r#"<pre><code class="language-rust">x</code></pre>"#,
            r#"<table><thead><tr><th style="text-align: left">h</th></tr></thead></table>"#,
            r#"<ul><li><input disabled="" type="checkbox" checked="">t</li></ul>"#,
            r#"<h2 id="top">T</h2>"#,
            r##"<sup class="footnote-reference"><a href="#1">1</a></sup>"##,
            r#"<div class="footnote-definition" id="1"><sup class="footnote-definition-label">1</sup></div>"#,
            r#"<a class="attachment missing" href="/+files/P">x</a>"#,
            r#"<img src="/+file/P/x.png" alt="x" loading="lazy" width="640" height="480">"#,
        );
        let cleaned = POLICY.clean(html).to_string();
        for kept in [
            r#"class="wikilink missing""#,
            r#"class="language-rust""#,
            r#"style="text-align: left""#,
            r#"type="checkbox""#,
            "checked",
            r#"<h2 id="top">"#,
            r#"class="footnote-reference""#,
            r#"id="1""#,
            r#"class="attachment missing""#,
            r#"<img src="/+file/P/x.png" alt="x" loading="lazy" width="640" height="480">"#,
        ] {
            assert!(cleaned.contains(kept), "{kept} kept in {cleaned}");
        }
    }

    #[test]
    fn policy_narrows_attributes() {
        let cleaned = POLICY
            .clean(concat!(
                r#"<code class="evil language-x">a</code><td style="color: red">b</td>"#,
                r#"<input type="text" name="n" form="f"><a class="btn" rel="me" target="_top" href="/x">c</a>"#,
            ))
            .to_string();
        for dropped in [
            "evil", "color", "text", "name=", "form=", "btn", "rel=", "target=",
        ] {
            assert!(
                !cleaned.contains(dropped),
                "{dropped} dropped from {cleaned}"
            );
        }
        assert!(cleaned.contains(r#"type="checkbox""#) && cleaned.contains("disabled"));
    }

    #[test]
    fn images_load_lazily_with_plain_dimensions() {
        let cases = [
            (
                r#"<img src="/a.png">"#,
                r#"<img src="/a.png" loading="lazy">"#,
            ),
            (
                r#"<img src="/a.png" loading="eager" width="10" height="20">"#,
                r#"<img src="/a.png" loading="lazy" width="10" height="20">"#,
            ),
            (
                r#"<img src="/a.png" width="100%" height="1e3" onload="x()">"#,
                r#"<img src="/a.png" loading="lazy">"#,
            ),
            (
                r#"<img src="/a.png" width="" height="1234567">"#,
                r#"<img src="/a.png" loading="lazy">"#,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(POLICY.clean(input).to_string(), expected);
        }
    }
}
