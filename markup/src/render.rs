//! Markdown to HTML: pulldown-cmark's events, rewritten for wiki links, bare URLs, heading ids and the nesting
//! cap, then written by pulldown-cmark's HTML writer and sanitized.
//!
//! Rendering takes two passes over the parsed events: the first collects every wiki-link target so that page
//! existence is asked once per render ([`LinkResolver::existing`]); the second rewrites the events. Wiki links
//! become raw `<a class="wikilink">` HTML events (the writer has no notion of classes); that HTML is ours, and
//! it goes through the sanitizer like everything else.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

use crate::autolink::{split_urls, Piece};
use crate::nesting::{html_depth_exceeds, MAX_HTML_DEPTH, MAX_MARKDOWN_NESTING};
use crate::wikilink::{collapse_whitespace, parse_target, Target};
use crate::{sanitize, LinkResolver, Rendered};

/// Characters kept as they are in an anchor: the unreserved ones of RFC 3986.
const FRAGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The Markdown dialect: CommonMark with GitHub's tables, strikethrough, task lists, footnotes and alerts, plus
/// wiki links. No smart punctuation, no heading attributes, no math.
pub(crate) fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM
        | Options::ENABLE_WIKILINKS
}

fn is_wikilink(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Link {
            link_type: LinkType::WikiLink { .. },
            ..
        } | Tag::Image {
            link_type: LinkType::WikiLink { .. },
            ..
        }
    )
}

fn wikilink_dest<'t>(tag: &'t Tag<'_>) -> Option<(&'t str, bool)> {
    match tag {
        Tag::Link {
            link_type: LinkType::WikiLink { has_pothole },
            dest_url,
            ..
        }
        | Tag::Image {
            link_type: LinkType::WikiLink { has_pothole },
            dest_url,
            ..
        } => Some((dest_url.as_ref(), *has_pothole)),
        _ => None,
    }
}

/// Distinct page names that `markdown`'s wiki links point to, in first-seen order.
pub(crate) fn wiki_links(markdown: &str, current_page: &str) -> Vec<String> {
    let mut links = Vec::new();
    let mut seen = HashSet::new();
    for event in Parser::new_ext(markdown, options()) {
        let Event::Start(tag) = event else { continue };
        let Some((dest, _)) = wikilink_dest(&tag) else {
            continue;
        };
        if let Some(Target::Page { name, .. }) = parse_target(dest, current_page) {
            if seen.insert(name.clone()) {
                links.push(name);
            }
        }
    }
    links
}

pub(crate) fn render(markdown: &str, current_page: &str, resolver: &dyn LinkResolver) -> Rendered {
    let events: Vec<(Event<'_>, Range<usize>)> = Parser::new_ext(markdown, options())
        .into_offset_iter()
        .collect();

    let mut targets = HashMap::new();
    let mut links = Vec::new();
    let mut seen = HashSet::new();
    for (ix, (event, _)) in events.iter().enumerate() {
        let Event::Start(tag) = event else { continue };
        let Some((dest, _)) = wikilink_dest(tag) else {
            continue;
        };
        let target = parse_target(dest, current_page);
        if let Some(Target::Page { name, .. }) = &target {
            if seen.insert(name.clone()) {
                links.push(name.clone());
            }
        }
        targets.insert(ix, target);
    }
    let existing = if links.is_empty() {
        HashSet::new()
    } else {
        resolver.existing(&links)
    };

    let context = Context {
        source: markdown,
        events: &events,
        targets: &targets,
        existing: &existing,
        resolver,
    };
    let mut html = context.write_html(false);
    if html_depth_exceeds(&html, MAX_HTML_DEPTH) {
        html = context.write_html(true);
    }
    Rendered {
        html: sanitize::clean(&html),
        links,
    }
}

/// Everything one render's rewriting pass reads.
struct Context<'a, 'r> {
    source: &'a str,
    events: &'r [(Event<'a>, Range<usize>)],
    targets: &'r HashMap<usize, Option<Target>>,
    existing: &'r HashSet<String>,
    resolver: &'r dyn LinkResolver,
}

impl<'a> Context<'a, '_> {
    /// Rewrites the events and writes them as (unsanitized) HTML; `escape_raw_html` shows the author's HTML as
    /// text, the fallback for pages nested too deeply.
    fn write_html(&self, escape_raw_html: bool) -> String {
        let mut rewrite = Rewrite {
            context: self,
            escape_raw_html,
            out: Vec::with_capacity(self.events.len()),
            frames: Vec::new(),
            no_autolink: 0,
            in_image: 0,
            pending: String::new(),
            heading_ids: HashSet::new(),
        };
        rewrite.run();
        let mut html = String::with_capacity(self.source.len() * 3 / 2);
        pulldown_cmark::html::push_html(&mut html, rewrite.out.into_iter());
        html
    }
}

/// An open tag, as the rewrite emitted it.
enum Frame {
    /// A Markdown tag: whether it was emitted (not beyond the nesting cap), and whether it stops autolinking
    /// (links, images, code blocks) or is an image (whose text becomes `alt`).
    Tag {
        emitted: bool,
        no_autolink: bool,
        image: bool,
    },
    /// A wiki link written as raw `<a>`.
    WikiLink,
}

struct Rewrite<'a, 'c, 'r> {
    context: &'c Context<'a, 'r>,
    escape_raw_html: bool,
    out: Vec<Event<'a>>,
    frames: Vec<Frame>,
    /// Open frames inside which bare URLs stay text.
    no_autolink: usize,
    /// Open images: a wiki link inside alt text is only its label.
    in_image: usize,
    /// Text waiting for autolinking; pulldown-cmark splits text at every character that might start markup.
    pending: String,
    heading_ids: HashSet<String>,
}

impl<'a> Rewrite<'a, '_, '_> {
    fn run(&mut self) {
        let events = self.context.events;
        let mut ix = 0;
        while ix < events.len() {
            let (event, range) = &events[ix];
            ix = match event {
                Event::Start(tag) if is_wikilink(tag) => self.wikilink(ix, tag, range.clone()),
                Event::Start(tag) => {
                    self.start(ix, tag.clone());
                    ix + 1
                }
                Event::End(end) => {
                    self.end(*end);
                    ix + 1
                }
                Event::Text(text) => {
                    self.text(text.clone());
                    ix + 1
                }
                Event::Html(html) | Event::InlineHtml(html) if self.escape_raw_html => {
                    self.text(html.clone());
                    ix + 1
                }
                other => {
                    self.flush();
                    self.out.push(other.clone());
                    ix + 1
                }
            };
        }
        self.flush();
    }

    fn start(&mut self, ix: usize, tag: Tag<'a>) {
        self.flush();
        let emitted = self.frames.len() < MAX_MARKDOWN_NESTING;
        let image = matches!(tag, Tag::Image { .. });
        let no_autolink = matches!(
            tag,
            Tag::Link { .. } | Tag::Image { .. } | Tag::CodeBlock(_)
        );
        self.frames.push(Frame::Tag {
            emitted,
            no_autolink,
            image,
        });
        self.no_autolink += usize::from(no_autolink);
        self.in_image += usize::from(image);
        if !emitted {
            return;
        }
        let tag = match tag {
            Tag::Heading { level, .. } => Tag::Heading {
                level,
                id: Some(self.heading_id(ix).into()),
                classes: Vec::new(),
                attrs: Vec::new(),
            },
            other => other,
        };
        self.out.push(Event::Start(tag));
    }

    fn end(&mut self, end: TagEnd) {
        self.flush();
        match self.frames.pop() {
            Some(Frame::Tag {
                emitted,
                no_autolink,
                image,
            }) => {
                self.no_autolink -= usize::from(no_autolink);
                self.in_image -= usize::from(image);
                if emitted {
                    self.out.push(Event::End(end));
                }
            }
            Some(Frame::WikiLink) => {
                self.no_autolink -= 1;
                self.out.push(Event::InlineHtml("</a>".into()));
            }
            // pulldown-cmark balances its tags; an unmatched end has nothing to close.
            None => {}
        }
    }

    fn text(&mut self, text: CowStr<'a>) {
        if self.no_autolink == 0 {
            self.pending.push_str(&text);
        } else {
            self.flush();
            self.out.push(Event::Text(text));
        }
    }

    /// Writes pending text, with bare URLs as links.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut self.pending);
        for piece in split_urls(&pending) {
            match piece {
                Piece::Text(text) => self.out.push(Event::Text(text.to_owned().into())),
                Piece::Url { text, href } => {
                    self.out.push(Event::Start(Tag::Link {
                        link_type: LinkType::Autolink,
                        dest_url: href.into(),
                        title: "".into(),
                        id: "".into(),
                    }));
                    self.out.push(Event::Text(text.to_owned().into()));
                    self.out.push(Event::End(TagEnd::Link));
                }
            }
        }
    }

    /// Handles a wiki link starting at event `ix`; returns the index of the next event to handle.
    fn wikilink(&mut self, ix: usize, tag: &Tag<'a>, range: Range<usize>) -> usize {
        let events = self.context.events;
        let end = matching_end(events, ix);
        let target = self.context.targets.get(&ix).and_then(Option::as_ref);
        let (Some(target), Some((dest, piped))) = (target, wikilink_dest(tag)) else {
            // Not a valid target: show exactly what the author wrote.
            let literal = self.context.source.get(range).unwrap_or_default();
            self.text(literal.to_owned().into());
            return end + 1;
        };
        if matches!(tag, Tag::Image { .. }) {
            self.text("!".into());
        }
        let label_is_empty = events[ix + 1..end]
            .iter()
            .all(|(event, _)| matches!(event, Event::Text(text) if text.trim().is_empty()));
        let label_as_written = !piped || label_is_empty;
        if self.in_image > 0 {
            // Alt text is plain text: keep the label, drop the link.
            if label_as_written {
                self.text(collapse_whitespace(dest).into());
                return end + 1;
            }
            self.frames.push(Frame::Tag {
                emitted: false,
                no_autolink: true,
                image: false,
            });
            self.no_autolink += 1;
            return ix + 1;
        }
        self.flush();
        self.out
            .push(Event::InlineHtml(self.anchor_open(target).into()));
        self.frames.push(Frame::WikiLink);
        self.no_autolink += 1;
        if label_as_written {
            self.out.push(Event::Text(collapse_whitespace(dest).into()));
            // Continue at the link's end event, which closes the frame.
            return end;
        }
        ix + 1
    }

    fn anchor_open(&self, target: &Target) -> String {
        let resolver = self.context.resolver;
        let (href, exists) = match target {
            Target::Page { name, anchor } if self.context.existing.contains(name) => {
                let mut href = resolver.page_url(name);
                if let Some(anchor) = anchor {
                    href.push('#');
                    href.extend(utf8_percent_encode(anchor, FRAGMENT));
                }
                (href, true)
            }
            // A missing page has no anchors yet: link to its creation.
            Target::Page { name, .. } => (resolver.create_url(name), false),
            Target::SamePage { anchor } => {
                (format!("#{}", utf8_percent_encode(anchor, FRAGMENT)), true)
            }
        };
        let href = escape_attribute(&href);
        if exists {
            format!(r#"<a class="wikilink" href="{href}">"#)
        } else {
            format!(
                r#"<a class="wikilink missing" href="{href}" rel="nofollow" title="Create this page">"#
            )
        }
    }

    /// A unique id for the heading starting at event `ix`, from its text.
    fn heading_id(&mut self, ix: usize) -> String {
        let events = self.context.events;
        let end = matching_end(events, ix);
        let mut text = String::new();
        for (event, _) in &events[ix + 1..end] {
            if let Event::Text(t) | Event::Code(t) = event {
                text.push_str(t);
            }
        }
        let base = slug(&text);
        let mut id = base.clone();
        let mut n = 0;
        while !self.heading_ids.insert(id.clone()) {
            n += 1;
            id = format!("{base}-{n}");
        }
        id
    }
}

/// The index of the end event matching the start event at `start`.
fn matching_end(events: &[(Event<'_>, Range<usize>)], start: usize) -> usize {
    let mut depth = 0usize;
    for (ix, (event, _)) in events.iter().enumerate().skip(start) {
        match event {
            Event::Start(_) => depth += 1,
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    return ix;
                }
            }
            _ => {}
        }
    }
    // pulldown-cmark balances its tags; should it not, the rest of the document is inside.
    events.len().saturating_sub(1)
}

/// A heading's id: lowercase letters and digits, words joined by `-`; `section` if nothing is left.
///
/// `[[Page#installing-quire]]` links to a heading "Installing quire"; repeated headings get `-1`, `-2`, ….
pub(crate) fn slug(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            slug.extend(c.to_lowercase());
        } else if (c.is_whitespace() || c == '-') && !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    while slug.ends_with('-') {
        slug.pop();
    }
    if slug.is_empty() {
        slug.push_str("section");
    }
    slug
}

fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for (text, expected) in [
            ("Installing quire", "installing-quire"),
            ("  A -- B  ", "a-b"),
            ("Ünïcode & Co.", "ünïcode-co"),
            ("snake_case", "snake_case"),
            ("!!!", "section"),
        ] {
            assert_eq!(slug(text), expected);
        }
    }

    #[test]
    fn attributes_are_escaped() {
        assert_eq!(escape_attribute(r#"a"<b>&'"#), "a&quot;&lt;b&gt;&amp;&#39;");
    }
}
