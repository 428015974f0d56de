//! CommonMark conformance: every example of the spec (vendored in `tests/data/commonmark/`, see its README)
//! rendered with [`markup::RenderOptions::commonmark`], compared with the spec's HTML after normalising what
//! does not matter to a browser (whitespace between blocks, attribute order, entity spelling, `<br />`).
//!
//! Examples whose output differs because the sanitizer changed it are listed with the reason in
//! `sanitizer-differences.txt`. The test fails if an unlisted example differs, and if a listed one passes, so
//! the list stays true.

use std::collections::BTreeMap;

use crate::Wiki;

const SPEC: &str = include_str!("../data/commonmark/spec.txt");
const DIFFERENCES: &str = include_str!("../data/commonmark/sanitizer-differences.txt");

struct Example {
    number: usize,
    section: String,
    markdown: String,
    html: String,
}

/// The examples as the spec's own tools extract them (`index.js` of the npm package, `spec_tests.py`): fenced
/// by 32 backticks and ` example`, Markdown and HTML separated by a line holding `.`, `→` standing for a tab.
fn examples() -> Vec<Example> {
    let fence = "`".repeat(32);
    let start = format!("{fence} example");
    let text = SPEC.replace("\r\n", "\n");
    let text = text
        .split("\n<!-- END TESTS -->")
        .next()
        .unwrap_or_default();
    let mut examples = Vec::new();
    let mut section = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line == start {
            let mut markdown = String::new();
            for line in lines.by_ref().take_while(|line| *line != ".") {
                markdown.push_str(line);
                markdown.push('\n');
            }
            let mut html = String::new();
            for line in lines.by_ref().take_while(|line| *line != fence) {
                html.push_str(line);
                html.push('\n');
            }
            examples.push(Example {
                number: examples.len() + 1,
                section: section.clone(),
                markdown: markdown.replace('→', "\t"),
                html: html.replace('→', "\t"),
            });
        } else if let Some(heading) = line.strip_prefix('#') {
            let heading = heading.trim_start_matches('#');
            if line.len() - heading.len() <= 6 {
                section = heading.trim_start_matches(' ').to_owned();
            }
        }
    }
    examples
}

/// The listed examples: `number reason…` per line, `#` starting a comment.
fn listed() -> BTreeMap<usize, String> {
    let mut listed = BTreeMap::new();
    for line in DIFFERENCES.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (number, reason) = line.split_once(' ').unwrap_or((line, ""));
        let number: usize = number
            .parse()
            .unwrap_or_else(|_| panic!("bad line {line:?}"));
        assert!(
            !reason.trim().is_empty(),
            "example {number} is listed without a reason"
        );
        assert!(
            listed.insert(number, reason.trim().to_owned()).is_none(),
            "example {number} is listed twice"
        );
    }
    listed
}

#[derive(Debug, PartialEq)]
enum Token {
    Start {
        name: String,
        attributes: Vec<(String, String)>,
    },
    End(String),
    Text(String),
    /// Comments, declarations, processing instructions, CDATA: kept as written.
    Other(String),
}

const BLOCKS: &[&str] = &[
    "blockquote",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
];

/// HTML in a canonical form: tags with sorted, unescaped attributes and no self-closing slash, text with
/// entities decoded and runs of whitespace as one space (outside `<pre>`), no whitespace beside block tags.
fn normalise(html: &str) -> String {
    let tokens = tokenize(html);
    let mut out = String::new();
    let mut in_pre = 0usize;
    for (ix, token) in tokens.iter().enumerate() {
        match token {
            Token::Start { name, attributes } => {
                in_pre += usize::from(name == "pre");
                out.push('<');
                out.push_str(name);
                for (attribute, value) in attributes {
                    out.push_str(&format!(" {attribute}=\"{}\"", escape(value)));
                }
                out.push('>');
            }
            Token::End(name) => {
                in_pre = in_pre.saturating_sub(usize::from(name == "pre"));
                out.push_str(&format!("</{name}>"));
            }
            Token::Other(raw) => out.push_str(raw),
            Token::Text(text) if in_pre > 0 => out.push_str(&escape(text)),
            Token::Text(text) => {
                let mut text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                let space_before = tokens[..ix].last().is_some_and(|t| !is_block(t))
                    && html_whitespace_start(&tokens[ix]);
                let space_after = tokens.get(ix + 1).is_some_and(|t| !is_block(t))
                    && html_whitespace_end(&tokens[ix]);
                if space_before && !text.is_empty() {
                    text.insert(0, ' ');
                }
                if space_after && !text.is_empty() {
                    text.push(' ');
                }
                if text.is_empty() && space_before && space_after {
                    text.push(' ');
                }
                out.push_str(&escape(&text));
            }
        }
    }
    out
}

fn html_whitespace_start(token: &Token) -> bool {
    matches!(token, Token::Text(text) if text.starts_with(char::is_whitespace))
}

fn html_whitespace_end(token: &Token) -> bool {
    matches!(token, Token::Text(text) if text.ends_with(char::is_whitespace))
}

fn is_block(token: &Token) -> bool {
    match token {
        Token::Start { name, .. } | Token::End(name) => BLOCKS.contains(&name.as_str()),
        _ => false,
    }
}

/// `text` escaped as the renderer escapes: pulldown-cmark's escape, the workspace's one.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    pulldown_cmark_escape::escape_html(&mut out, text).expect("writing to a String cannot fail");
    out
}

fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|end| *end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn tokenize(html: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut text = String::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        text.push_str(&rest[..at]);
        rest = &rest[at..];
        match tag(rest) {
            Some((token, len)) => {
                if !text.is_empty() {
                    tokens.push(Token::Text(decode(&std::mem::take(&mut text))));
                }
                tokens.push(token);
                rest = &rest[len..];
            }
            None => {
                text.push('<');
                rest = &rest[1..];
            }
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        tokens.push(Token::Text(decode(&text)));
    }
    tokens
}

/// The tag at the start of `html` (which starts with `<`) and its length, if it is one.
fn tag(html: &str) -> Option<(Token, usize)> {
    let after = &html[1..];
    if after.starts_with('!') || after.starts_with('?') {
        let end = if after.starts_with("!--") {
            html.find("-->")? + 3
        } else {
            html.find('>')? + 1
        };
        return Some((Token::Other(html[..end].to_owned()), end));
    }
    let (closing, after) = match after.strip_prefix('/') {
        Some(after) => (true, after),
        None => (false, after),
    };
    if !after.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let name_len = after
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(after.len());
    let name = after[..name_len].to_ascii_lowercase();
    let mut rest = &after[name_len..];
    let mut attributes = Vec::new();
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("/>") {
            rest = after;
            break;
        }
        if let Some(after) = rest.strip_prefix('>') {
            rest = after;
            break;
        }
        let name_len = rest.find(|c: char| c.is_whitespace() || matches!(c, '=' | '>' | '/'));
        let name_len = name_len.filter(|len| *len > 0)?;
        let attribute = rest[..name_len].to_ascii_lowercase();
        rest = rest[name_len..].trim_start();
        let value = if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            let (value, after) = match after.chars().next()? {
                quote @ ('"' | '\'') => {
                    let end = after[1..].find(quote)? + 1;
                    (&after[1..end], &after[end + 1..])
                }
                _ => {
                    let end = after
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            rest = after;
            decode(value)
        } else {
            String::new()
        };
        attributes.push((attribute, value));
    }
    attributes.sort();
    let len = html.len() - rest.len();
    let token = if closing {
        Token::End(name)
    } else {
        Token::Start { name, attributes }
    };
    Some((token, len))
}

#[test]
fn the_spec_examples_render_as_specified_but_for_the_listed_sanitizer_differences() {
    let examples = examples();
    assert_eq!(
        examples.len(),
        652,
        "the vendored spec 0.31.2 has 652 examples"
    );
    let listed = listed();
    let wiki = Wiki::with(&[]);
    let options = markup::RenderOptions::commonmark();
    let mut unexpected = Vec::new();
    let mut stale = Vec::new();
    for example in &examples {
        let rendered = markup::render_with(&example.markdown, "Home", &wiki, &options).unwrap();
        let expected = normalise(&example.html);
        // Every image loads lazily (issue 13, `sanitize.rs`): a difference in when a browser fetches an
        // image, not in what it shows, that the spec's HTML cannot have.
        let actual = normalise(&rendered.html.replace(r#" loading="lazy""#, ""));
        match (expected == actual, listed.contains_key(&example.number)) {
            (true, true) => stale.push(example.number),
            (false, false) => unexpected.push(format!(
                "example {} ({}):\n  markdown: {:?}\n  expected: {expected:?}\n  actual:   {actual:?}",
                example.number, example.section, example.markdown
            )),
            _ => {}
        }
    }
    assert!(
        listed.keys().all(|number| *number <= examples.len()),
        "the list names examples the spec does not have"
    );
    assert!(
        stale.is_empty(),
        "listed as differing but now pass, unlist them: {stale:?}"
    );
    assert!(
        unexpected.is_empty(),
        "{} examples differ:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
}

#[test]
fn normalising_ignores_only_what_browsers_ignore() {
    assert_eq!(
        normalise("<p>a\n  b</p>\n<hr />\n<img src=\"x\" alt='y &amp; z'>"),
        normalise("<p>a b</p><hr><img alt=\"y &#38; z\" src=\"x\" />")
    );
    assert_ne!(normalise("<p>a b</p>"), normalise("<p>ab</p>"));
    assert_ne!(normalise("<pre>a\n b</pre>"), normalise("<pre>a b</pre>"));
    assert_ne!(
        normalise("<em>a</em> <em>b</em>"),
        normalise("<em>a</em><em>b</em>")
    );
    assert_ne!(
        normalise("<a href=\"x\">y</a>"),
        normalise("<a href=\"x\" rel=\"nofollow\">y</a>")
    );
}
