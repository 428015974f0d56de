//! Wiki links rewritten as plain Markdown links, for a page that leaves the wiki: `quire export markdown`
//! writes pages as `.md` files in folders, and a forge or an editor knows nothing of `[[Page]]` or
//! `attachment:`; a relative link to `Page.md` it can follow.
//!
//! [`rewrite_links`] is a function over the text: each wiki link (`[[Page]]`, `[[Page|label]]`,
//! `[[attachment:x.pdf]]`, `![[attachment:x.png]]`), Markdown link or image to an `attachment:` target, and
//! MoinMoin transclusion (`{{attachment:x.png|alt}}`) is replaced, at the offsets pulldown-cmark reports, by
//! `[label](url)` or `![alt](url)`, where the caller decides the URL ([`LinkTarget`]: markup knows the link
//! forms, the caller knows where pages and files are put). Everything else is kept byte for byte: code
//! spans and code blocks hold no link events, so their text is never touched, and neither are pragma lines,
//! plain Markdown links or anything the caller declines (its answer `None`). Targets resolve exactly as
//! [`crate::render`] resolves them: `[[/Child]]`, `[[../Sibling]]` and `attachment:Other/x.png` are relative
//! to `current_page`.

use std::ops::Range;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use crate::attachment::{file_dest, is_image_name, parse_file, transclusions, FileRef, Piece};
use crate::pragma::page_body;
use crate::render::parser_options;
use crate::wikilink::{parse_target_with, Target};
use crate::RenderOptions;

/// What a rewritten link points to; the caller maps it to a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkTarget<'a> {
    /// A page (normalised as a wiki link resolves it), maybe at an anchor.
    Page {
        /// The page name.
        name: &'a str,
        /// The anchor after `#`, if any.
        anchor: Option<&'a str>,
    },
    /// A file attached to a page.
    File(&'a FileRef),
}

/// `markdown` (on page `current_page`, in the dialect of `options`) with its wiki links and `attachment:`
/// links as Markdown links to the URLs `url` gives: what goes between the parentheses, so percent-encoded
/// (a space as `%20`). A link whose target `url` declines (`None`), an invalid target, an interwiki link
/// and `[[_TOC_]]` are kept as written; so is a link to an anchor of the page itself, which needs no
/// rewriting beyond `(#anchor)`.
///
/// ```
/// use markup::LinkTarget;
///
/// let url = |target: LinkTarget<'_>| match target {
///     LinkTarget::Page { name, .. } => Some(format!("{}.md", name.replace(' ', "%20"))),
///     LinkTarget::File(file) => Some(format!("{}.files/{}", file.page, file.name)),
/// };
/// let text = "See [[Other Page|the plan]], {{attachment:map.png}} and `[[Code]]`.";
/// assert_eq!(
///     markup::rewrite_links(text, "Home", &markup::RenderOptions::default(), &url),
///     "See [the plan](Other%20Page.md), ![map.png](Home.files/map.png) and `[[Code]]`.",
/// );
/// ```
pub fn rewrite_links(
    markdown: &str,
    current_page: &str,
    options: &RenderOptions,
    url: &dyn Fn(LinkTarget<'_>) -> Option<String>,
) -> String {
    let body = page_body(markdown);
    let offset = markdown.len() - body.len();
    let events: Vec<(Event<'_>, Range<usize>)> = Parser::new_ext(body, parser_options(options))
        .into_offset_iter()
        .collect();
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut run: Option<Range<usize>> = None;
    let mut in_code = 0usize;
    let mut ix = 0;
    while ix < events.len() {
        let (event, range) = &events[ix];
        match event {
            // Transclusions are no events: they are found in runs of adjacent text, as the
            // renderer finds them, but only where the text is the source as written (no escapes).
            Event::Text(text)
                if in_code == 0 && options.wiki_links && &body[range.clone()] == text.as_ref() =>
            {
                run = Some(match run.take() {
                    Some(open) if open.end == range.start => open.start..range.end,
                    Some(open) => {
                        transclusion_edits(body, open, current_page, url, &mut edits);
                        range.clone()
                    }
                    None => range.clone(),
                });
                ix += 1;
                continue;
            }
            Event::Start(Tag::CodeBlock(_)) => in_code += 1,
            Event::End(TagEnd::CodeBlock) => in_code = in_code.saturating_sub(1),
            Event::Start(tag @ (Tag::Link { .. } | Tag::Image { .. })) => {
                let end = matching_end(&events, ix);
                if let Some(replacement) =
                    link_edit(body, tag, &events[ix + 1..end], current_page, options, url)
                {
                    edits.push((range.clone(), replacement));
                }
                if let Some(open) = run.take() {
                    transclusion_edits(body, open, current_page, url, &mut edits);
                }
                ix = end + 1;
                continue;
            }
            _ => {}
        }
        if let Some(open) = run.take() {
            transclusion_edits(body, open, current_page, url, &mut edits);
        }
        ix += 1;
    }
    if let Some(open) = run.take() {
        transclusion_edits(body, open, current_page, url, &mut edits);
    }
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(markdown.len());
    out.push_str(&markdown[..offset]);
    let mut at = 0;
    for (range, replacement) in edits {
        if range.start < at {
            continue;
        }
        out.push_str(&body[at..range.start]);
        out.push_str(&replacement);
        at = range.end;
    }
    out.push_str(&body[at..]);
    out
}

/// The index of the event that closes the link or image opened at `start` (links do not nest, but an
/// image may sit inside a link's label, so depth is counted).
fn matching_end(events: &[(Event<'_>, Range<usize>)], start: usize) -> usize {
    let mut depth = 0usize;
    for (ix, (event, _)) in events.iter().enumerate().skip(start) {
        match event {
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => depth += 1,
            Event::End(TagEnd::Link | TagEnd::Image) => {
                depth -= 1;
                if depth == 0 {
                    return ix;
                }
            }
            _ => {}
        }
    }
    events.len() - 1
}

/// The Markdown that replaces the link or image `tag`, whose label is made of `inner`; `None` to keep it.
fn link_edit(
    body: &str,
    tag: &Tag<'_>,
    inner: &[(Event<'_>, Range<usize>)],
    current_page: &str,
    options: &RenderOptions,
    url: &dyn Fn(LinkTarget<'_>) -> Option<String>,
) -> Option<String> {
    let (image, dest, wiki, pothole) = match tag {
        Tag::Link {
            link_type,
            dest_url,
            ..
        } => (false, dest_url.as_ref(), link_type, false),
        Tag::Image {
            link_type,
            dest_url,
            ..
        } => (true, dest_url.as_ref(), link_type, false),
        _ => return None,
    };
    let (is_wiki, pothole) = match wiki {
        pulldown_cmark::LinkType::WikiLink { has_pothole } => (true, *has_pothole),
        _ => (false, pothole),
    };
    let written_label = match (inner.first(), inner.last()) {
        (Some((_, first)), Some((_, last))) if first.start <= last.end => {
            &body[first.start..last.end]
        }
        _ => "",
    };
    let (href, label) = if is_wiki {
        let target = parse_target_with(dest, current_page, options)?;
        let href = match &target {
            Target::Page { name, anchor } => url(LinkTarget::Page {
                name,
                anchor: anchor.as_deref(),
            })?,
            Target::File(file) => url(LinkTarget::File(file))?,
            Target::SamePage { .. } | Target::Interwiki { .. } | Target::Toc => return None,
        };
        let label = match (&target, pothole) {
            (_, true) => written_label.to_owned(),
            (Target::File(file), false) => escape_label(&file.name),
            (_, false) => escape_label(dest.trim()),
        };
        (href, label)
    } else {
        let file = file_dest(dest, current_page)??;
        (url(LinkTarget::File(&file))?, written_label.to_owned())
    };
    let bang = if image { "!" } else { "" };
    Some(format!("{bang}[{label}]({href})"))
}

/// Records the edits for the transclusions in `run` (a stretch of `body` that is text as written).
fn transclusion_edits(
    body: &str,
    run: Range<usize>,
    current_page: &str,
    url: &dyn Fn(LinkTarget<'_>) -> Option<String>,
    edits: &mut Vec<(Range<usize>, String)>,
) {
    let text = &body[run.clone()];
    for piece in transclusions(text) {
        let Piece::File { target, alt, at } = piece else {
            continue;
        };
        let Some(file) = parse_file(target, current_page) else {
            continue;
        };
        let Some(href) = url(LinkTarget::File(&file)) else {
            continue;
        };
        let label = escape_label(
            alt.map(str::trim)
                .filter(|alt| !alt.is_empty())
                .unwrap_or(&file.name),
        );
        let bang = if is_image_name(&file.name) { "!" } else { "" };
        edits.push((
            run.start + at.start..run.start + at.end,
            format!("{bang}[{label}]({href})"),
        ));
    }
}

/// Plain text as a link label: the characters that would end or open Markdown there are escaped.
fn escape_label(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '[' | ']' | '\\' | '*' | '_' | '`' | '<' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pages as `Name.md` beside each other, files in `Page.files/`, anchors kept.
    fn flat(target: LinkTarget<'_>) -> Option<String> {
        Some(match target {
            LinkTarget::Page { name, anchor } => {
                let mut href = format!("{}.md", name.replace(' ', "%20"));
                if let Some(anchor) = anchor {
                    href.push('#');
                    href.push_str(anchor);
                }
                href
            }
            LinkTarget::File(file) => format!(
                "{}.files/{}",
                file.page.replace(' ', "%20"),
                file.name.replace(' ', "%20")
            ),
        })
    }

    fn rewrite(text: &str, page: &str) -> String {
        rewrite_links(text, page, &RenderOptions::default(), &flat)
    }

    #[test]
    fn each_link_form_becomes_a_markdown_link() {
        let cases: &[(&str, &str, &str)] = &[
            ("[[Other Page|label]]", "Home", "[label](Other%20Page.md)"),
            ("[[Other Page]]", "Home", "[Other Page](Other%20Page.md)"),
            ("[[Page#Part]]", "Home", "[Page#Part](Page.md#Part)"),
            ("[[/Child|c]]", "Team", "[c](Team/Child.md)"),
            ("[[../Sibling|s]]", "Team/Notes", "[s](Team/Sibling.md)"),
            (
                "[[Page|**bold** label]]",
                "Home",
                "[**bold** label](Page.md)",
            ),
            ("[[attachment:x.pdf]]", "Home", "[x.pdf](Home.files/x.pdf)"),
            (
                "[[attachment:x.pdf|the report]]",
                "Home",
                "[the report](Home.files/x.pdf)",
            ),
            (
                "![[attachment:x.png]]",
                "Home",
                "![x.png](Home.files/x.png)",
            ),
            (
                "![a map](attachment:x.png)",
                "Home",
                "![a map](Home.files/x.png)",
            ),
            (
                "[report](attachment:Other/r.pdf)",
                "Home",
                "[report](Other.files/r.pdf)",
            ),
            (
                "[f](<attachment:my file.pdf>)",
                "Home",
                "[f](Home.files/my%20file.pdf)",
            ),
            ("{{attachment:x.png}}", "Home", "![x.png](Home.files/x.png)"),
            (
                "{{attachment:x.png|a map}}",
                "Home",
                "![a map](Home.files/x.png)",
            ),
            ("{{attachment:r.pdf}}", "Home", "[r.pdf](Home.files/r.pdf)"),
            (
                "a {{attachment:x.png}} b",
                "Home",
                "a ![x.png](Home.files/x.png) b",
            ),
        ];
        for (text, page, expected) in cases {
            assert_eq!(rewrite(text, page), *expected, "{text:?} on {page:?}");
        }
    }

    #[test]
    fn code_other_links_and_invalid_targets_stay_as_written() {
        let kept = [
            "`[[Page]]` and `{{attachment:x.png}}`",
            "```\n[[Page]]\n{{attachment:x.png}}\n```",
            "    [[Page]] in an indented block",
            "[plain](https://example.org) and <https://example.org>",
            "[[#anchor]] and [[_TOC_]]",
            "[[+edit/Page]] and [[../../Up]]",
            "[[attachment:.hidden]]",
            "no links at all, {{ not a transclusion }}",
        ];
        for text in kept {
            assert_eq!(rewrite(text, "Home"), text);
        }
    }

    #[test]
    fn pragma_lines_and_the_rest_are_kept_byte_for_byte() {
        let text = "#acl All:read\n# Title\r\n\nSee [[A]] and [[B|b]].\n\n> quote [[C]]\n";
        assert_eq!(
            rewrite(text, "Home"),
            "#acl All:read\n# Title\r\n\nSee [A](A.md) and [b](B.md).\n\n> quote [C](C.md)\n"
        );
    }

    #[test]
    fn a_declined_target_is_kept() {
        let only_files = |target: LinkTarget<'_>| match target {
            LinkTarget::File(_) => flat(target),
            LinkTarget::Page { .. } => None,
        };
        let text = "[[Page]] [[attachment:x.pdf]]";
        assert_eq!(
            rewrite_links(text, "Home", &RenderOptions::default(), &only_files),
            "[[Page]] [x.pdf](Home.files/x.pdf)"
        );
    }

    #[test]
    fn an_image_inside_a_link_label_is_part_of_the_label() {
        assert_eq!(
            rewrite("[![logo](attachment:l.png)](attachment:big.png)", "Home"),
            "[![logo](attachment:l.png)](Home.files/big.png)"
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_keeps_text_without_links(text in "\\PC{0,200}") {
            let _ = rewrite(&text, "Home");
            if !text.contains(['[', '{', '<', '(']) {
                proptest::prop_assert_eq!(rewrite(&text, "Home"), text);
            }
        }
    }
}
