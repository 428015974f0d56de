//! Markdown to HTML: pulldown-cmark's events, rewritten for wiki links, bare URLs, heading ids and the nesting
//! cap, then written by pulldown-cmark's HTML writer and sanitized.
//!
//! Rendering takes two passes over the parsed events: the first collects every wiki-link and attachment
//! target so that page and file existence are asked once per render ([`LinkResolver::existing`],
//! [`LinkResolver::existing_files`]); the second rewrites the events. Wiki links become raw
//! `<a class="wikilink">` HTML events (the writer has no notion of classes), attachments raw
//! `<a class="attachment">` or `<img … loading="lazy" width height>` (the writer has no notion of those
//! attributes either); that HTML is ours, and it goes through the sanitizer like everything else.
//!
//! MoinMoin's `{{attachment:…}}` is no Markdown construct, so both passes look for it in the runs of text
//! they join for autolinking (outside code, links and images), before bare URLs and CamelCase words.
//!
//! With [`RenderOptions::limits`] set, each stage checks the bound on its own size before or while it grows
//! (see `limits.rs`): marks before parsing, events and table cells while they are collected, HTML while it is
//! written. The first bound exceeded ends the render with its error.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::ops::Range;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pulldown_cmark::{
    CodeBlockKind, CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};

use crate::attachment::{
    self, file_dest, is_image_name, may_contain_transclusion, parse_file, transclusions, SCHEME,
};
use crate::autolink::{may_contain_url, split_urls, Piece};
use crate::camelcase::{camel_words, may_contain_camel};
use crate::highlight::{highlight, MAX_PAGE_BYTES};
use crate::limits::{marks_exceed, BoundedHtml};
use crate::nesting::{html_depth_exceeds, MAX_HTML_DEPTH, MAX_MARKDOWN_NESTING};
use crate::sections::section_level;
use crate::wikilink::{collapse_whitespace, parse_target_with, Target};
use crate::{sanitize, FileFacts, FileRef, LinkResolver, MarkupError, RenderOptions, Rendered};

/// Characters kept as they are in an anchor: the unreserved ones of RFC 3986.
const FRAGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// quire's default Markdown dialect, for callers that take no options (plain text extraction).
pub(crate) fn options() -> Options {
    parser_options(&RenderOptions::default())
}

/// The parser's side of `options`: CommonMark, with GitHub's tables, strikethrough, task lists, footnotes and
/// alerts if `gfm`, and wiki links if `wiki_links`. Never smart punctuation, heading attributes or math.
pub(crate) fn parser_options(options: &RenderOptions) -> Options {
    let mut parser = Options::empty();
    if options.gfm {
        parser |= Options::ENABLE_TABLES
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_GFM;
    }
    if options.wiki_links {
        parser |= Options::ENABLE_WIKILINKS;
    }
    parser
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

/// A Markdown link or image (not a wiki link) to an `attachment:` target.
fn is_file_link(tag: &Tag<'_>) -> bool {
    match tag {
        Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
            !is_wikilink(tag) && dest_url.starts_with(SCHEME)
        }
        _ => false,
    }
}

/// A wiki link's target and whether it has a label. In a table a label is written `[[Page\|label]]`
/// (GFM splits cells at every unescaped `|`), and pulldown-cmark leaves the backslash on the target:
/// it is the escape, not part of the name.
fn wikilink_dest<'t>(tag: &'t Tag<'_>) -> Option<(&'t str, bool)> {
    let (dest, piped) = wikilink_dest_raw(tag)?;
    match dest.strip_suffix('\\') {
        Some(escaped) if piped => Some((escaped, piped)),
        _ => Some((dest, piped)),
    }
}

fn wikilink_dest_raw<'t>(tag: &'t Tag<'_>) -> Option<(&'t str, bool)> {
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

/// The Markdown link or image at `tag`, if its destination is an `attachment:` target: the file, or `None`
/// for a target that breaks a rule. Wiki links are not asked here (their targets go through
/// `parse_target_with`).
fn markdown_file_dest(tag: &Tag<'_>, current_page: &str) -> Option<Option<FileRef>> {
    match tag {
        Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } if is_file_link(tag) => {
            file_dest(dest_url, current_page)
        }
        _ => None,
    }
}

/// Distinct page names that `markdown` links to (wiki links, and CamelCase words if enabled), in first-seen
/// order.
pub(crate) fn wiki_links(
    markdown: &str,
    current_page: &str,
    options: &RenderOptions,
) -> Vec<String> {
    if !options.wiki_links {
        return Vec::new();
    }
    scan_unbounded(markdown, current_page, options).links
}

/// Distinct files that `markdown` links to or embeds, in first-seen order.
pub(crate) fn file_links(
    markdown: &str,
    current_page: &str,
    options: &RenderOptions,
) -> Vec<FileRef> {
    scan_unbounded(markdown, current_page, options).files
}

/// The first pass alone, for link extraction. Unbounded: extraction is only the parse, for text a save
/// already checked (or an admin's tool).
fn scan_unbounded(markdown: &str, current_page: &str, options: &RenderOptions) -> Scan {
    let events = Parser::new_ext(markdown, parser_options(options))
        .into_offset_iter()
        .collect();
    scan(&events, current_page, options)
}

type Events<'a> = Vec<(Event<'a>, Range<usize>)>;

/// What the first pass over a page's events finds, for the rewrite to use ahead of where it is.
struct Scan {
    /// Wiki-link targets, and the files of Markdown links and images to `attachment:` targets, by the index
    /// of their start event, in event order.
    targets: Vec<(usize, Option<Target>)>,
    /// Distinct page names linked, by wiki links and CamelCase words, in first-seen order.
    links: Vec<String>,
    /// Distinct files linked or embedded, in first-seen order.
    files: Vec<FileRef>,
    /// The files in `files`, to keep them distinct.
    seen_files: HashSet<FileRef>,
    /// How many `{{attachment:…}}` transclusions the text holds (valid or not): not parser events, but
    /// each becomes a link or an image, so each counts against the event bound as the events of a link.
    transclusions: usize,
    /// The CamelCase words that link; the rewrite links no others.
    camel: HashSet<String>,
    /// Headings that get an id, in event order.
    headings: Vec<Heading>,
    /// The start events of the headings that open sections (`sections.rs`), in event order: section 1
    /// first.
    sections: Vec<usize>,
    /// Whether the page has raw HTML.
    raw_html: bool,
}

struct Heading {
    /// The index of its start event.
    ix: usize,
    level: HeadingLevel,
    id: String,
    text: String,
}

/// The first pass: wiki-link targets, CamelCase words (in text the rewrite autolinks, joined as it joins it),
/// heading ids (unique, for the headings the nesting cap keeps), and whether there is raw HTML.
fn scan(events: &Events<'_>, current_page: &str, options: &RenderOptions) -> Scan {
    let mut found = Scan {
        targets: Vec::new(),
        links: Vec::new(),
        files: Vec::new(),
        seen_files: HashSet::new(),
        transclusions: 0,
        camel: HashSet::new(),
        headings: Vec::new(),
        sections: Vec::new(),
        raw_html: false,
    };
    let mut seen = HashSet::new();
    let mut ids = Ids::default();
    let camel_case = options.camel_case && options.wiki_links;
    let mut depth = 0usize;
    let mut no_autolink = 0usize;
    let mut pending = String::new();
    for (ix, (event, _)) in events.iter().enumerate() {
        if let Event::Text(text) = event {
            if no_autolink == 0 {
                // A transclusion starts at a `{`: text before the first one in a run cannot hold one, so
                // it need not be copied.
                let transclusion =
                    options.wiki_links && (!pending.is_empty() || text.contains('{'));
                if camel_case || transclusion {
                    pending.push_str(text);
                }
                continue;
            }
        }
        if !pending.is_empty() {
            found.text_run(&pending, current_page, options, &mut seen);
            pending.clear();
        }
        match event {
            Event::Start(tag) => {
                if section_level(depth, tag).is_some() {
                    found.sections.push(ix);
                }
                if let Tag::Heading { level, .. } = tag {
                    if options.heading_ids && depth < MAX_MARKDOWN_NESTING {
                        found.headings.push(heading(events, ix, *level, &mut ids));
                    }
                }
                if let Some((dest, _)) = wikilink_dest(tag) {
                    let target = parse_target_with(dest, current_page, options);
                    match &target {
                        Some(Target::Page { name, .. }) => {
                            if seen.insert(name.clone()) {
                                found.links.push(name.clone());
                            }
                        }
                        Some(Target::File(file)) => found.file(file),
                        Some(Target::SamePage { .. } | Target::Interwiki { .. } | Target::Toc)
                        | None => {}
                    }
                    found.targets.push((ix, target));
                } else if let Some(file) = markdown_file_dest(tag, current_page) {
                    if let Some(file) = &file {
                        found.file(file);
                    }
                    found.targets.push((ix, file.map(Target::File)));
                }
                depth += 1;
                no_autolink += usize::from(stops_autolink(tag));
            }
            Event::End(end) => {
                depth = depth.saturating_sub(1);
                let stops = matches!(end, TagEnd::Link | TagEnd::Image | TagEnd::CodeBlock);
                no_autolink = no_autolink.saturating_sub(usize::from(stops));
            }
            Event::Html(_) | Event::InlineHtml(_) => found.raw_html = true,
            _ => {}
        }
    }
    if !pending.is_empty() {
        found.text_run(&pending, current_page, options, &mut seen);
    }
    found
}

impl Scan {
    /// Notes a file linked or embedded.
    fn file(&mut self, file: &FileRef) {
        if self.seen_files.insert(file.clone()) {
            self.files.push(file.clone());
        }
    }

    /// Notes the transclusions of a run of text, and the CamelCase words outside them if enabled.
    fn text_run(
        &mut self,
        text: &str,
        current_page: &str,
        options: &RenderOptions,
        seen: &mut HashSet<String>,
    ) {
        let camel_case = options.camel_case && options.wiki_links;
        if !(options.wiki_links && may_contain_transclusion(text)) {
            if camel_case {
                self.camel_words(text, options.gfm, seen);
            }
            return;
        }
        for piece in transclusions(text) {
            match piece {
                attachment::Piece::Text(text) if camel_case => {
                    self.camel_words(text, options.gfm, seen);
                }
                attachment::Piece::Text(_) => {}
                attachment::Piece::File { target, .. } => {
                    self.transclusions += 1;
                    if let Some(file) = parse_file(target, current_page) {
                        self.file(&file);
                    }
                }
            }
        }
    }

    /// Notes the CamelCase words of `text`, outside the bare URLs `gfm` links.
    fn camel_words(&mut self, text: &str, gfm: bool, seen: &mut HashSet<String>) {
        if !may_contain_camel(text) {
            return;
        }
        let pieces = if gfm && may_contain_url(text) {
            split_urls(text)
        } else {
            vec![Piece::Text(text)]
        };
        for piece in pieces {
            let Piece::Text(text) = piece else { continue };
            for word in camel_words(text) {
                let word = &text[word];
                self.camel.insert(word.to_owned());
                if seen.insert(word.to_owned()) {
                    self.links.push(word.to_owned());
                }
            }
        }
    }
}

/// Links, images and code blocks: inside them bare URLs and CamelCase words stay text.
fn stops_autolink(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Link { .. } | Tag::Image { .. } | Tag::CodeBlock(_)
    )
}

/// Heading ids given so far, and the next suffix to try for each slug, so that a page of many equal headings
/// takes linear time.
#[derive(Default)]
struct Ids {
    given: HashSet<String>,
    next_suffix: HashMap<String, usize>,
}

/// The heading starting at event `ix`: its text and a unique id from it.
fn heading(events: &Events<'_>, ix: usize, level: HeadingLevel, ids: &mut Ids) -> Heading {
    let end = matching_end(events, ix);
    let mut text = String::new();
    for (event, _) in &events[ix + 1..end] {
        if let Event::Text(t) | Event::Code(t) = event {
            text.push_str(t);
        }
    }
    let base = slug(&text);
    let mut id = base.clone();
    let n = ids.next_suffix.entry(base.clone()).or_insert(0);
    while !ids.given.insert(id.clone()) {
        *n += 1;
        id = format!("{base}-{n}");
    }
    Heading {
        ix,
        level,
        id,
        text,
    }
}

/// The page's events, or the bound of `options.limits` it exceeds: marks are counted before the parser
/// builds its tree, events and table cells while they are collected.
fn parse<'a>(markdown: &'a str, options: &RenderOptions) -> Result<Events<'a>, MarkupError> {
    let Some(limits) = &options.limits else {
        return Ok(Parser::new_ext(markdown, parser_options(options))
            .into_offset_iter()
            .collect());
    };
    if marks_exceed(markdown, limits.max_marks) {
        return Err(MarkupError::TooManyMarks {
            limit: limits.max_marks,
        });
    }
    let mut events = Vec::new();
    let mut cells = 0usize;
    for event in Parser::new_ext(markdown, parser_options(options)).into_offset_iter() {
        if events.len() == limits.max_events {
            return Err(MarkupError::TooManyEvents {
                limit: limits.max_events,
            });
        }
        if let (Event::Start(Tag::TableCell), _) = event {
            cells += 1;
            if cells > limits.max_table_cells {
                return Err(MarkupError::TooManyTableCells {
                    limit: limits.max_table_cells,
                });
            }
        }
        events.push(event);
    }
    Ok(events)
}

/// Renders `markdown` from scratch. Nothing is kept between calls: the output depends on the arguments and
/// the resolver's answers alone, so callers cache it themselves when they want to (quire keeps a current
/// revision's HTML in storage's render cache).
pub(crate) fn render(
    markdown: &str,
    current_page: &str,
    resolver: &dyn LinkResolver,
    options: &RenderOptions,
) -> Result<Rendered, MarkupError> {
    let (html, links) = write_unsanitized(markdown, current_page, resolver, options)?;
    Ok(Rendered {
        html: sanitize::clean(&html),
        links,
    })
}

fn ask_existing(resolver: &dyn LinkResolver, links: &[String]) -> HashSet<String> {
    if links.is_empty() {
        HashSet::new()
    } else {
        resolver.existing(links)
    }
}

fn ask_existing_files(
    resolver: &dyn LinkResolver,
    files: &[FileRef],
) -> HashMap<FileRef, FileFacts> {
    if files.is_empty() {
        HashMap::new()
    } else {
        resolver.existing_files(files)
    }
}

/// The page as HTML before sanitizing, and its wiki-link targets.
fn write_unsanitized(
    markdown: &str,
    current_page: &str,
    resolver: &dyn LinkResolver,
    options: &RenderOptions,
) -> Result<(String, Vec<String>), MarkupError> {
    let events = parse(markdown, options)?;
    let found = scan(&events, current_page, options);
    if let Some(limits) = &options.limits {
        let with_transclusions = events
            .len()
            .saturating_add(found.transclusions.saturating_mul(3));
        if with_transclusions > limits.max_events {
            return Err(MarkupError::TooManyEvents {
                limit: limits.max_events,
            });
        }
    }
    let links = found.links.clone();
    let existing = ask_existing(resolver, &links);
    let files = ask_existing_files(resolver, &found.files);

    let context = Context {
        source: markdown,
        current_page,
        scan: &found,
        existing: &existing,
        files: &files,
        resolver,
        options,
    };
    let mut html = context.write_html(events, false)?;
    // Without the author's HTML the output nests no deeper than the Markdown cap allows (see
    // `markdown_alone_stays_below_the_html_depth_cap`), so only pages with raw HTML need measuring.
    if found.raw_html && html_depth_exceeds(&html, MAX_HTML_DEPTH) {
        // Parsing is deterministic: the same events at the same indices, so `targets` still apply.
        html = context.write_html(parse(markdown, options)?, true)?;
    }
    Ok((html, links))
}

/// Everything one render's rewriting pass reads besides the events.
struct Context<'a, 'r> {
    source: &'a str,
    current_page: &'r str,
    scan: &'r Scan,
    existing: &'r HashSet<String>,
    /// The files that exist, of those the scan found.
    files: &'r HashMap<FileRef, FileFacts>,
    resolver: &'r dyn LinkResolver,
    options: &'r RenderOptions,
}

impl<'a> Context<'a, '_> {
    /// Rewrites the events and writes them as (unsanitized) HTML; `escape_raw_html` shows the author's HTML as
    /// text, the fallback for pages nested too deeply. Refuses HTML longer than the options' bound.
    fn write_html(&self, events: Events<'a>, escape_raw_html: bool) -> Result<String, MarkupError> {
        let mut rewrite = Rewrite {
            context: self,
            out: Vec::with_capacity(events.len()),
            events,
            escape_raw_html,
            frames: Vec::new(),
            no_autolink: 0,
            in_image: 0,
            pending: Vec::new(),
            highlighted: 0,
            toc: None,
            toc_bytes: 0,
            open_section: None,
        };
        rewrite.run()?;
        let capacity = self.source.len() * 3 / 2;
        let Some(limits) = &self.options.limits else {
            let mut html = String::with_capacity(capacity);
            pulldown_cmark::html::push_html(&mut html, rewrite.out.into_iter());
            return Ok(html);
        };
        let limit = limits.max_output_bytes;
        let mut out = BoundedHtml {
            html: String::with_capacity(capacity.min(limit)),
            limit,
        };
        // The only error is the bound's: writing to a String cannot fail otherwise.
        pulldown_cmark::html::write_html_fmt(&mut out, rewrite.out.into_iter())
            .map_err(|_| MarkupError::OutputTooLarge { limit })?;
        Ok(out.html)
    }

    fn target(&self, ix: usize) -> Option<&Target> {
        let targets = &self.scan.targets;
        let found = targets.binary_search_by_key(&ix, |(at, _)| *at).ok()?;
        targets[found].1.as_ref()
    }

    fn heading_id(&self, ix: usize) -> Option<&str> {
        let headings = &self.scan.headings;
        let found = headings.binary_search_by_key(&ix, |h| h.ix).ok()?;
        Some(&headings[found].id)
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
    /// A wiki link or a link to a file, written as raw `<a>`.
    RawLink,
}

struct Rewrite<'a, 'c, 'r> {
    context: &'c Context<'a, 'r>,
    /// The parsed page; each event is taken out as it is handled, so only events after the current one may be
    /// read.
    events: Events<'a>,
    escape_raw_html: bool,
    out: Vec<Event<'a>>,
    frames: Vec<Frame>,
    /// Open frames inside which bare URLs stay text.
    no_autolink: usize,
    /// Open images: a wiki link inside alt text is only its label.
    in_image: usize,
    /// Text waiting for autolinking; pulldown-cmark splits text at every character that might start markup.
    pending: Vec<CowStr<'a>>,
    /// Bytes of code highlighted so far.
    highlighted: usize,
    /// The table of contents, written once and copied for every `[[_TOC_]]`.
    toc: Option<String>,
    /// Bytes of tables of contents written so far: each is as long as the page's headings, so a page of
    /// many headings and many `[[_TOC_]]` lines grows quadratically, and is stopped at the output bound
    /// before the copies pile up.
    toc_bytes: usize,
    /// The section whose heading is open, for its edit link before the heading ends.
    open_section: Option<usize>,
}

impl<'a> Rewrite<'a, '_, '_> {
    fn run(&mut self) -> Result<(), MarkupError> {
        let mut ix = 0;
        while ix < self.events.len() {
            // Handled events are never read again: lookahead goes forward only.
            let (event, range) = std::mem::replace(&mut self.events[ix], (Event::Rule, 0..0));
            ix = match event {
                Event::Start(tag) if is_wikilink(&tag) => self.wikilink(ix, &tag, range),
                Event::Start(tag) if is_file_link(&tag) => self.file_link(ix, &tag, range),
                Event::Start(Tag::Paragraph) if self.is_toc_paragraph(ix) => {
                    self.flush();
                    let headings = &self.context.scan.headings;
                    let toc = self
                        .toc
                        .get_or_insert_with(|| table_of_contents(headings))
                        .clone();
                    self.toc_bytes += toc.len();
                    if let Some(limits) = &self.context.options.limits {
                        if self.toc_bytes > limits.max_output_bytes {
                            return Err(MarkupError::OutputTooLarge {
                                limit: limits.max_output_bytes,
                            });
                        }
                    }
                    self.out.push(Event::Html(toc.into()));
                    // Past the paragraph's end: the link's start and end, then the paragraph's end.
                    matching_end(&self.events, ix) + 1
                }
                Event::Start(tag) => self.start(ix, tag),
                Event::End(end) => {
                    self.end(end);
                    ix + 1
                }
                Event::Text(text) => {
                    self.text(text);
                    ix + 1
                }
                Event::Html(html) | Event::InlineHtml(html) if self.escape_raw_html => {
                    self.text(html);
                    ix + 1
                }
                other => {
                    self.flush();
                    self.out.push(other);
                    ix + 1
                }
            };
        }
        self.flush();
        Ok(())
    }

    /// Handles a start tag at event `ix`; returns the index of the next event to handle.
    fn start(&mut self, ix: usize, tag: Tag<'a>) -> usize {
        self.flush();
        let emitted = self.frames.len() < MAX_MARKDOWN_NESTING;
        if let Tag::CodeBlock(CodeBlockKind::Fenced(info)) = &tag {
            if emitted && self.context.options.highlight {
                if let Some(next) = self.highlighted_block(ix, info) {
                    return next;
                }
            }
        }
        let image = matches!(tag, Tag::Image { .. });
        let no_autolink = stops_autolink(&tag);
        self.frames.push(Frame::Tag {
            emitted,
            no_autolink,
            image,
        });
        self.no_autolink += usize::from(no_autolink);
        self.in_image += usize::from(image);
        if !emitted {
            return ix + 1;
        }
        if matches!(tag, Tag::Heading { .. }) {
            let sections = &self.context.scan.sections;
            self.open_section = sections.binary_search(&ix).ok().map(|found| found + 1);
        }
        let tag = match (tag, self.context.heading_id(ix)) {
            (Tag::Heading { level, .. }, Some(id)) => Tag::Heading {
                level,
                id: Some(id.to_owned().into()),
                classes: Vec::new(),
                attrs: Vec::new(),
            },
            (tag, _) => tag,
        };
        self.out.push(Event::Start(tag));
        ix + 1
    }

    /// Writes the fenced code block starting at event `ix` highlighted, if its language is known and the
    /// page's highlighting budget allows; returns the index after the block, or `None` to write it plain.
    fn highlighted_block(&mut self, ix: usize, info: &str) -> Option<usize> {
        let language = info.split_whitespace().next()?;
        let end = matching_end(&self.events, ix);
        let mut code = String::new();
        for (event, _) in &self.events[ix + 1..end] {
            if let Event::Text(text) = event {
                code.push_str(text);
            }
        }
        if self.highlighted + code.len() > MAX_PAGE_BYTES {
            return None;
        }
        let spans = highlight(language, &code)?;
        self.highlighted += code.len();
        self.out.push(Event::Html(
            format!(
                r#"<pre><code class="language-{}">{spans}</code></pre>
"#,
                escape_attribute(language)
            )
            .into(),
        ));
        Some(end + 1)
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
                if matches!(end, TagEnd::Heading(_)) {
                    self.section_edit_link();
                }
                if emitted {
                    self.out.push(Event::End(end));
                }
            }
            Some(Frame::RawLink) => {
                self.no_autolink -= 1;
                self.out.push(Event::InlineHtml("</a>".into()));
            }
            // pulldown-cmark balances its tags; an unmatched end has nothing to close.
            None => {}
        }
    }

    /// The link that edits the section whose heading ends here, if it opened one and the resolver
    /// gives one (`LinkResolver::section_edit_url`). Headings never nest, so the first heading end after
    /// a section's heading start is its own.
    fn section_edit_link(&mut self) {
        let Some(section) = self.open_section.take() else {
            return;
        };
        let context = self.context;
        let Some(url) = context
            .resolver
            .section_edit_url(context.current_page, section)
        else {
            return;
        };
        self.out.push(Event::InlineHtml(
            format!(
                r#" <a class="section-edit" href="{}">edit</a>"#,
                escape_attribute(&url)
            )
            .into(),
        ));
    }

    fn text(&mut self, text: CowStr<'a>) {
        if self.no_autolink == 0 {
            self.pending.push(text);
        } else {
            self.flush();
            self.out.push(Event::Text(text));
        }
    }

    /// Writes pending text, with bare URLs as links.
    fn flush(&mut self) {
        let pending = if self.pending.len() > 1 {
            let mut joined = String::new();
            for text in self.pending.drain(..) {
                joined.push_str(&text);
            }
            joined.into()
        } else {
            let Some(text) = self.pending.pop() else {
                return;
            };
            text
        };
        if !(self.context.options.wiki_links && may_contain_transclusion(&pending)) {
            self.text_run(pending);
            return;
        }
        for piece in transclusions(&pending) {
            match piece {
                attachment::Piece::Text(text) => self.text_run(text.to_owned().into()),
                attachment::Piece::File { target, alt, at } => {
                    self.transclusion(target, alt, &pending[at]);
                }
            }
        }
    }

    /// Writes a run of text without transclusions, with bare URLs and CamelCase words as links.
    fn text_run(&mut self, pending: CowStr<'a>) {
        let urls = self.context.options.gfm && may_contain_url(&pending);
        let camel = !self.context.scan.camel.is_empty() && may_contain_camel(&pending);
        if !urls && !camel {
            // Most text: kept as it is, borrowed from the page where pulldown-cmark did not copy it.
            self.out.push(Event::Text(pending));
            return;
        }
        let pieces = if urls {
            split_urls(&pending)
        } else {
            vec![Piece::Text(&pending)]
        };
        for piece in pieces {
            match piece {
                Piece::Text(text) if camel => self.camel_links(text),
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

    /// Writes `text` with the CamelCase words the scan found as wiki links.
    fn camel_links(&mut self, text: &str) {
        let mut plain_from = 0;
        for word in camel_words(text) {
            let name = &text[word.clone()];
            if !self.context.scan.camel.contains(name) {
                continue;
            }
            if plain_from < word.start {
                let plain = &text[plain_from..word.start];
                self.out.push(Event::Text(plain.to_owned().into()));
            }
            let target = Target::Page {
                name: name.to_owned(),
                anchor: None,
            };
            self.out
                .push(Event::InlineHtml(self.anchor_open(&target).into()));
            self.out.push(Event::Text(name.to_owned().into()));
            self.out.push(Event::InlineHtml("</a>".into()));
            plain_from = word.end;
        }
        if plain_from < text.len() {
            self.out
                .push(Event::Text(text[plain_from..].to_owned().into()));
        }
    }

    /// Whether the paragraph starting at event `ix` is `[[_TOC_]]` alone, to be replaced by the table of
    /// contents: only when headings have ids to link to, and not beyond the nesting cap.
    fn is_toc_paragraph(&self, ix: usize) -> bool {
        if !self.context.options.heading_ids || self.frames.len() >= MAX_MARKDOWN_NESTING {
            return false;
        }
        let Some((Event::Start(tag), _)) = self.events.get(ix + 1) else {
            return false;
        };
        if !is_wikilink(tag) || !matches!(self.context.target(ix + 1), Some(Target::Toc)) {
            return false;
        }
        let link_end = matching_end(&self.events, ix + 1);
        matches!(
            self.events.get(link_end + 1),
            Some((Event::End(TagEnd::Paragraph), _))
        )
    }

    /// Handles a wiki link starting at event `ix`; returns the index of the next event to handle.
    fn wikilink(&mut self, ix: usize, tag: &Tag<'a>, range: Range<usize>) -> usize {
        let end = matching_end(&self.events, ix);
        // A table of contents not alone on its line is not expanded.
        let target = self.context.target(ix).filter(|t| **t != Target::Toc);
        let (Some(target), Some((dest, piped))) = (target, wikilink_dest(tag)) else {
            // Not a valid target: show exactly what the author wrote.
            let literal = self.context.source.get(range).unwrap_or_default();
            self.text(literal.to_owned().into());
            return end + 1;
        };
        let label_is_empty = self.label_is_empty(ix, end);
        let label_as_written = !piped || label_is_empty;
        let is_image = matches!(tag, Tag::Image { .. });
        // A file's link is labelled with its name, as MoinMoin does.
        let written = match target {
            Target::File(file) => file.name.clone(),
            Target::Page { .. }
            | Target::SamePage { .. }
            | Target::Interwiki { .. }
            | Target::Toc => collapse_whitespace(dest),
        };
        if let (Target::File(file), true, 0) = (target, is_image, self.in_image) {
            // `![[attachment:x.png]]` embeds the file, as `{{attachment:x.png}}` does.
            let alt = if label_as_written {
                written
            } else {
                self.alt_text(ix, end)
            };
            self.flush();
            self.file_image(file, &alt);
            return end + 1;
        }
        if is_image {
            self.text("!".into());
        }
        if self.in_image > 0 {
            // Alt text is plain text: keep the label, drop the link.
            if label_as_written {
                self.text(written.into());
                return end + 1;
            }
            return self.drop_link(ix);
        }
        self.flush();
        self.open_raw_link(self.anchor_open(target));
        if label_as_written {
            self.out.push(Event::Text(written.into()));
            // Continue at the link's end event, which closes the frame.
            return end;
        }
        ix + 1
    }

    /// Drops the tag of the link starting at `ix`, keeping its label as text (inside alternative text);
    /// returns the index of the label's first event.
    fn drop_link(&mut self, ix: usize) -> usize {
        self.frames.push(Frame::Tag {
            emitted: false,
            no_autolink: true,
            image: false,
        });
        self.no_autolink += 1;
        ix + 1
    }

    /// Opens a link written as raw `<a>` (`open`), closed at its end event.
    fn open_raw_link(&mut self, open: String) {
        self.out.push(Event::InlineHtml(open.into()));
        self.frames.push(Frame::RawLink);
        self.no_autolink += 1;
    }

    /// Writes a whole link to `file` (or to its upload form) labelled `label`.
    fn file_anchor(&mut self, file: &FileRef, label: &str) {
        self.out
            .push(Event::InlineHtml(self.file_anchor_open(file).into()));
        self.out.push(Event::Text(label.to_owned().into()));
        self.out.push(Event::InlineHtml("</a>".into()));
    }

    /// Whether the label of the link starting at `ix` and ending at `end` is only blanks.
    fn label_is_empty(&self, ix: usize, end: usize) -> bool {
        self.events[ix + 1..end]
            .iter()
            .all(|(event, _)| matches!(event, Event::Text(text) if text.trim().is_empty()))
    }

    /// The text of the events inside the image starting at `ix` and ending at `end`, as alternative text:
    /// what pulldown-cmark's writer would put in `alt`.
    fn alt_text(&self, ix: usize, end: usize) -> String {
        let mut alt = String::new();
        for (event, _) in &self.events[ix + 1..end] {
            if let Event::Text(text) | Event::Code(text) = event {
                alt.push_str(text);
            }
        }
        alt
    }

    /// Handles a Markdown link or image to an `attachment:` target starting at event `ix`; returns the index
    /// of the next event to handle.
    fn file_link(&mut self, ix: usize, tag: &Tag<'a>, range: Range<usize>) -> usize {
        let end = matching_end(&self.events, ix);
        let context = self.context;
        let Some(Target::File(file)) = context.target(ix) else {
            // Not a valid target: show exactly what the author wrote, as for a wiki link.
            let literal = context.source.get(range).unwrap_or_default();
            self.text(literal.to_owned().into());
            return end + 1;
        };
        if self.in_image > 0 {
            // Inside alternative text only the label counts: drop the link or image, keep its text.
            return self.drop_link(ix);
        }
        self.flush();
        if matches!(tag, Tag::Image { .. }) {
            let alt = self.alt_text(ix, end);
            self.file_image(file, &alt);
            return end + 1;
        }
        self.open_raw_link(self.file_anchor_open(file));
        if self.label_is_empty(ix, end) {
            self.out.push(Event::Text(file.name.clone().into()));
            return end;
        }
        ix + 1
    }

    /// Writes a `{{attachment:target|alt}}` transclusion: an image if the file is one (by its dimensions or
    /// its name), else a link; `literal`, the text written, if the target is not a file.
    fn transclusion(&mut self, target: &str, alt: Option<&str>, literal: &str) {
        let Some(file) = parse_file(target, self.context.current_page) else {
            self.out.push(Event::Text(literal.to_owned().into()));
            return;
        };
        let label = alt
            .map(str::trim)
            .filter(|alt| !alt.is_empty())
            .unwrap_or(&file.name)
            .to_owned();
        let dimensions = self.context.files.get(&file).and_then(|facts| facts.width);
        if dimensions.is_some() || is_image_name(&file.name) {
            self.file_image(&file, &label);
            return;
        }
        self.file_anchor(&file, &label);
    }

    /// Writes `file` as an image with alternative text `alt` if it exists; else as a missing link to its
    /// upload form, labelled `alt` (or the file's name).
    fn file_image(&mut self, file: &FileRef, alt: &str) {
        let resolver = self.context.resolver;
        let Some(facts) = self.context.files.get(file) else {
            let label = if alt.trim().is_empty() {
                &file.name
            } else {
                alt
            };
            self.file_anchor(file, label);
            return;
        };
        let mut html = format!(
            r#"<img src="{}" alt="{}" loading="lazy""#,
            escape_attribute(&resolver.file_url(&file.page, &file.name)),
            escape_attribute(alt)
        );
        // Writing to a String cannot fail.
        if let Some(width) = facts.width {
            let _ = write!(html, r#" width="{width}""#);
        }
        if let Some(height) = facts.height {
            let _ = write!(html, r#" height="{height}""#);
        }
        html.push('>');
        self.out.push(Event::InlineHtml(html.into()));
    }

    /// The start of a link to `file`: to the file if it exists, else a missing link to its upload form.
    fn file_anchor_open(&self, file: &FileRef) -> String {
        let resolver = self.context.resolver;
        if self.context.files.contains_key(file) {
            let href = escape_attribute(&resolver.file_url(&file.page, &file.name));
            return format!(r#"<a class="attachment" href="{href}">"#);
        }
        let href = escape_attribute(&resolver.upload_url(&file.page, &file.name));
        format!(
            r#"<a class="attachment missing" href="{href}" rel="nofollow" title="Upload this file">"#
        )
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
            Target::Interwiki { url } => {
                let href = escape_attribute(url);
                return format!(r#"<a class="interwiki" href="{href}">"#);
            }
            // Never linked: `wikilink` shows a misplaced table of contents as text.
            Target::Toc => (String::new(), true),
            Target::File(file) => return self.file_anchor_open(file),
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
}

/// The index of the end event matching the start event at `start`; reads only the events after it.
fn matching_end(events: &[(Event<'_>, Range<usize>)], start: usize) -> usize {
    let mut depth = 1usize;
    for (ix, (event, _)) in events.iter().enumerate().skip(start + 1) {
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

/// The table of contents: the headings as nested lists of links to their ids. A heading deeper than the one
/// before opens a list inside that one's item; a shallower one closes the lists of the levels it is not below.
fn table_of_contents(headings: &[Heading]) -> String {
    if headings.is_empty() {
        return String::new();
    }
    let mut html = String::from(r#"<nav class="toc">"#);
    let mut levels: Vec<HeadingLevel> = Vec::new();
    for heading in headings {
        match levels.last_mut() {
            Some(last) if heading.level > *last => {
                html.push_str("<ul>");
                levels.push(heading.level);
            }
            Some(_) => {
                html.push_str("</li>");
                // Close the lists of levels this heading is not below.
                while levels.len() > 1 && heading.level <= levels[levels.len() - 2] {
                    html.push_str("</ul></li>");
                    levels.pop();
                }
                if let Some(last) = levels.last_mut() {
                    *last = heading.level;
                }
            }
            None => {
                html.push_str("<ul>");
                levels.push(heading.level);
            }
        }
        html.push_str(&format!(
            r##"<li><a href="#{}">{}</a>"##,
            utf8_percent_encode(&heading.id, FRAGMENT),
            escape_attribute(&heading.text)
        ));
    }
    for _ in levels {
        html.push_str("</li></ul>");
    }
    html.push_str("</nav>\n");
    html
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

/// `text` escaped for HTML text and quoted attributes (`& < > " '`), by pulldown-cmark's escape,
/// the one the whole workspace uses.
fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    pulldown_cmark_escape::escape_html(&mut out, text).expect("writing to a String cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::highlight::MAX_SPAN_DEPTH;
    use crate::NoLinks;

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

    /// Why `render` measures HTML depth only for pages with raw HTML: Markdown containers deeper than
    /// [`MAX_MARKDOWN_NESTING`] lose their tags, and each emitted container writes at most two elements
    /// (`<table><tbody>`, `<thead><tr>`, `<pre><code>`), plus one inline link at the bottom, or highlighted
    /// code no deeper than [`MAX_SPAN_DEPTH`].
    #[test]
    fn markdown_alone_stays_below_the_html_depth_cap() {
        let bound = 2 * MAX_MARKDOWN_NESTING + 2 + MAX_SPAN_DEPTH;
        assert!(bound < MAX_HTML_DEPTH);
        let inner = [
            "| a | b |\n|---|---|\n| *c* | [[P|**d**]] |\n",
            "```rust\ncode\n```\n",
            "x[^1]\n\n[^1]: ***note*** ~~https://x.org~~\n",
            "> [!NOTE]\n> *a **b [c ![d](e) f](g)** h*\n",
            "- [ ] task\n\n  para\n",
            "1. a\n\n   b\n",
        ];
        for prefix in ["> ", "- ", "1. ", "* > ", "- > 1. "] {
            for body in inner {
                for levels in [
                    MAX_MARKDOWN_NESTING / 2,
                    MAX_MARKDOWN_NESTING,
                    3 * MAX_MARKDOWN_NESTING,
                ] {
                    let lead = prefix.repeat(levels);
                    let markdown: String =
                        body.lines().map(|line| format!("{lead}{line}\n")).collect();
                    let (html, _) =
                        write_unsanitized(&markdown, "Home", &NoLinks, &RenderOptions::default())
                            .expect("no bounds");
                    assert!(
                        !html_depth_exceeds(&html, bound),
                        "{markdown:?} nests deeper than {bound}: {html}"
                    );
                }
            }
        }
    }

    #[test]
    fn attributes_are_escaped() {
        assert_eq!(escape_attribute(r#"a"<b>&'"#), "a&quot;&lt;b&gt;&amp;&#39;");
    }
}
