//! Nesting limits, so hostile pages cannot make rendering slow.
//!
//! pulldown-cmark and ammonia are both iterative, so deep nesting cannot overflow the stack. But html5ever,
//! which ammonia parses with, checks "is there an open `<p>` in scope" for every block start tag by walking the
//! stack of open elements: time grows with elements × depth. In a release build 4 000 nested `<div>`s take
//! 80 ms, 40 000 (200 kB of input) about 8 s, 200 000 minutes. Two limits keep depth bounded:
//!
//! - [`MAX_MARKDOWN_NESTING`]: Markdown containers (quotes, lists, emphasis, …) deeper than this lose their
//!   tags, keeping their text. Markdown output is well formed, so this bounds its depth exactly.
//! - [`MAX_HTML_DEPTH`]: raw HTML nests as the author likes, so the HTML handed to the sanitizer is measured
//!   with [`html_depth_exceeds`]; if it is too deep, the page is rendered again with its raw HTML shown as
//!   text. The estimate only errs towards "too deep", except that it cannot see elements the HTML parser
//!   inserts (`<tbody>` and `<tr>` in a bare `<table><td>`), so tables may reach about twice the limit.

/// Markdown container tags nested deeper than this are dropped (their content stays).
pub const MAX_MARKDOWN_NESTING: usize = 32;

/// Estimated HTML element depth above which a page's raw HTML is shown as text.
pub const MAX_HTML_DEPTH: usize = 128;

/// Whether `html` may nest elements deeper than `limit`.
///
/// A small tokenizer that follows the HTML tokenizer's tag, attribute and comment states. It pops an element
/// only where the HTML parser certainly would (an end tag for the innermost open element, possibly after
/// elements whose end tags are implied), so it never sees less depth than html5ever builds, apart from
/// elements the parser inserts on its own (see the module docs).
pub fn html_depth_exceeds(html: &str, limit: usize) -> bool {
    let bytes = html.as_bytes();
    let mut stack: Vec<String> = Vec::new();
    let mut ix = 0;
    while let Some(offset) = bytes[ix..].iter().position(|&b| b == b'<') {
        ix += offset + 1;
        match bytes.get(ix) {
            Some(b'!') => ix = skip_markup_declaration(bytes, ix + 1),
            Some(b'?') => ix = skip_past(bytes, ix, b'>'),
            Some(b'/') if bytes.get(ix + 1).is_some_and(u8::is_ascii_alphabetic) => {
                let (name, after) = tag_name(bytes, ix + 1);
                ix = skip_attributes(bytes, after);
                close(&mut stack, &name);
            }
            Some(b) if b.is_ascii_alphabetic() => {
                let (name, after) = tag_name(bytes, ix);
                ix = skip_attributes(bytes, after);
                open(&mut stack, name);
                if stack.len() > limit {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// Elements without content; the HTML parser never pushes them, with or without `/>`.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
];

/// Elements whose end tag the parser generates when a parent closes ("generate implied end tags").
const IMPLIED_END: &[&str] = &[
    "dd", "dt", "li", "optgroup", "option", "p", "rb", "rp", "rt", "rtc",
];

/// Elements inside a table that its end tags close.
const TABLE_INSIDE: &[&str] = &[
    "caption", "colgroup", "tbody", "td", "tfoot", "th", "thead", "tr",
];

/// Start tags that close a `<p>` open as the innermost element.
const CLOSES_P: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "center",
    "details",
    "dialog",
    "dir",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "ul",
];

fn open(stack: &mut Vec<String>, name: String) {
    while let Some(top) = stack.last() {
        if !start_tag_closes(&name, top) {
            break;
        }
        stack.pop();
    }
    // In HTML `/>` does not close a normal element (it does in SVG and MathML, where the parser may be):
    // pushing anyway overestimates, which is the safe side.
    if !VOID.contains(&name.as_str()) {
        stack.push(name);
    }
}

/// Whether the parser closes `top`, the innermost open element, when the start tag `name` arrives.
fn start_tag_closes(name: &str, top: &str) -> bool {
    match top {
        "p" => CLOSES_P.contains(&name),
        "li" => name == "li",
        "dt" | "dd" => matches!(name, "dt" | "dd"),
        "option" => matches!(name, "option" | "optgroup"),
        "td" | "th" => matches!(name, "td" | "th" | "tr" | "tbody" | "thead" | "tfoot"),
        "tr" => matches!(name, "tr" | "tbody" | "thead" | "tfoot"),
        "tbody" | "thead" | "tfoot" => matches!(name, "tbody" | "thead" | "tfoot"),
        _ => false,
    }
}

/// Pops `name` if it is the innermost open element, looking through elements whose end the parser implies
/// (and, for table end tags, through the table's own rows and cells); otherwise the parser may ignore the end
/// tag, so nothing is popped.
fn close(stack: &mut Vec<String>, name: &str) {
    let table_end = matches!(name, "table" | "tbody" | "thead" | "tfoot" | "tr");
    let mut keep = stack.len();
    while keep > 0 {
        let current = stack[keep - 1].as_str();
        if current == name {
            stack.truncate(keep - 1);
            return;
        }
        let implied =
            IMPLIED_END.contains(&current) || (table_end && TABLE_INSIDE.contains(&current));
        if !implied {
            return;
        }
        keep -= 1;
    }
}

/// Reads a tag name (lowercased) starting at `ix`; returns it and the index after it.
fn tag_name(bytes: &[u8], ix: usize) -> (String, usize) {
    let end = bytes[ix..]
        .iter()
        .position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
        .map_or(bytes.len(), |n| ix + n);
    (
        String::from_utf8_lossy(&bytes[ix..end]).to_ascii_lowercase(),
        end,
    )
}

/// Skips attributes up to and past the tag's `>`, as the HTML tokenizer does: quotes only count at the start of
/// a value. Returns the index after the tag.
fn skip_attributes(bytes: &[u8], mut ix: usize) -> usize {
    loop {
        while bytes.get(ix).is_some_and(u8::is_ascii_whitespace) {
            ix += 1;
        }
        match bytes.get(ix) {
            None => return bytes.len(),
            Some(b'>') => return ix + 1,
            Some(b'/') => {
                ix += 1;
                continue;
            }
            Some(_) => {}
        }
        // Attribute name: the first character may be `=`; then up to whitespace, `/`, `>` or `=`.
        ix += 1;
        while bytes
            .get(ix)
            .is_some_and(|&b| !(b.is_ascii_whitespace() || b == b'/' || b == b'>' || b == b'='))
        {
            ix += 1;
        }
        while bytes.get(ix).is_some_and(u8::is_ascii_whitespace) {
            ix += 1;
        }
        if bytes.get(ix) != Some(&b'=') {
            continue;
        }
        ix += 1;
        while bytes.get(ix).is_some_and(u8::is_ascii_whitespace) {
            ix += 1;
        }
        match bytes.get(ix) {
            Some(&quote @ (b'"' | b'\'')) => ix = skip_past(bytes, ix + 1, quote),
            Some(b'>') | None => {}
            Some(_) => {
                while bytes
                    .get(ix)
                    .is_some_and(|&b| !(b.is_ascii_whitespace() || b == b'>'))
                {
                    ix += 1;
                }
            }
        }
    }
}

/// Skips `<!…`: a comment to its end (`-->`, `--!>`, or the abrupt `<!-->` and `<!--->`), anything else (doctype,
/// CDATA outside foreign content) to the first `>`. `ix` is just after the `!`.
fn skip_markup_declaration(bytes: &[u8], ix: usize) -> usize {
    if !bytes[ix..].starts_with(b"--") {
        return skip_past(bytes, ix, b'>');
    }
    let body = ix + 2;
    if bytes[body..].starts_with(b">") {
        return body + 1;
    }
    if bytes[body..].starts_with(b"->") {
        return body + 2;
    }
    let mut at = body;
    while let Some(offset) = bytes[at..].windows(2).position(|w| w == b"--") {
        let dashes = at + offset;
        let after = &bytes[dashes + 2..];
        if after.starts_with(b">") {
            return dashes + 3;
        }
        if after.starts_with(b"!>") {
            return dashes + 4;
        }
        at = dashes + 1;
    }
    bytes.len()
}

/// The index just after the next `byte` at or after `ix`, or the end.
fn skip_past(bytes: &[u8], ix: usize, byte: u8) -> usize {
    bytes[ix.min(bytes.len())..]
        .iter()
        .position(|&b| b == byte)
        .map_or(bytes.len(), |n| ix + n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(html: &str) -> usize {
        (0..=64)
            .find(|&limit| !html_depth_exceeds(html, limit))
            .unwrap_or(usize::MAX)
    }

    #[test]
    fn measures_depth_like_the_html_parser() {
        let cases: &[(&str, usize)] = &[
            ("", 0),
            ("plain text < not a tag", 0),
            ("<p>a</p><p>b</p>", 1),
            ("<div><div><span>x</span></div></div>", 3),
            ("<br><img src=x><hr/><input>", 0),
            ("<ul><li>a<li>b<li>c</ul>", 2),
            ("<p>a<div>b</div>", 1),
            ("<dl><dt>a<dd>b</dl>", 2),
            ("<table><tr><td>a<td>b<tr><td>c</table>", 3),
            ("<DIV><Div></dIV></div>", 2),
            ("<!-- <div><div> --><div>", 1),
            ("<!--><div>", 1),
            ("<!---><div>", 1),
            ("<!-- a --!><div>", 1),
            ("<!DOCTYPE html><div>", 1),
            ("<?php <div> ?><div>", 1),
            ("<div title='</div>'><div>", 2),
            ("<div title=\"a>b\"><div>", 2),
            ("<div a\"b='x><div>", 1),
            ("<div a=b>c><div>", 2),
            ("<svg><circle/><circle/></svg>", 3),
            ("</div></div><div>", 1),
        ];
        for (html, expected) in cases {
            assert_eq!(depth(html), *expected, "depth of {html:?}");
        }
    }

    #[test]
    fn end_tags_that_the_parser_ignores_do_not_pop() {
        // `</b>` with a block inside, or `</div>` across a table cell, leave the parser's stack deep.
        assert!(html_depth_exceeds(&"<b><div></b>".repeat(100), 100));
        assert!(html_depth_exceeds(
            &"<div><table><td></div>".repeat(50),
            100
        ));
        assert!(!html_depth_exceeds(&"<div></div>".repeat(10_000), 1));
        assert!(!html_depth_exceeds(
            &"<table><tr><td>a</table>".repeat(100),
            3
        ));
        assert!(!html_depth_exceeds(
            &"<ul><li>a<li>b</ul><p>c".repeat(100),
            2
        ));
    }

    #[test]
    fn stops_early_on_deep_input() {
        assert!(html_depth_exceeds(
            &"<div>".repeat(1_000_000),
            MAX_HTML_DEPTH
        ));
    }
}
