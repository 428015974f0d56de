//! A page's sections, for editing one part of a long page on its own.
//!
//! Sections are found by the parser the renderer uses, with the same options, on the same page body
//! (after the pragma lines), so they agree with the headings a reader sees: a `#` in a fenced code block
//! or an HTML block starts no section, and setext headings (`Title` over `===`) do. The rules:
//!
//! - Only top-level headings start sections. A heading inside a block quote, a list item or a footnote
//!   would split its container in two, so it is part of the section around it (and gets no edit link).
//! - Sections are numbered from 1 in document order, one a top-level heading. Section 0 is what comes
//!   before the first heading (pragma lines included); without headings it is the whole text.
//! - Section N runs from the start of its heading's line to the start of the line of the next heading of
//!   the same or a higher level (fewer `#`), or to the end of the text: MediaWiki's rule, so a section
//!   holds its subsections. Every boundary falls on a line start.
//!
//! Replacing a section splices the new text in at those bounds; a text that does not end with a line
//! break gets one when something follows it, so the heading after it stays a heading.

use std::ops::Range;

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag};

use crate::pragma::pragmas;
use crate::render::parser_options;
use crate::RenderOptions;

/// A top-level heading: where its line starts in the whole text, and its level.
struct Start {
    line: usize,
    level: HeadingLevel,
}

/// The top-level headings of `text`, in order.
fn starts(text: &str, options: &RenderOptions) -> Vec<Start> {
    let body_start = pragmas(text).body_start;
    let body = &text[body_start..];
    let mut depth = 0usize;
    let mut found = Vec::new();
    for (event, range) in Parser::new_ext(body, parser_options(options)).into_offset_iter() {
        match event {
            Event::Start(tag) => {
                if let Some(level) = section_level(depth, &tag) {
                    let at = body_start + range.start;
                    let line = text[..at].rfind('\n').map_or(0, |n| n + 1);
                    found.push(Start { line, level });
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    found
}

/// How many sections after section 0 `text` has: its top-level headings.
///
/// ```
/// let options = markup::RenderOptions::default();
/// assert_eq!(markup::section_count("intro\n# A\n## B\n> # quoted\n```\n# code\n```\n", &options), 2);
/// ```
pub fn section_count(text: &str, options: &RenderOptions) -> usize {
    starts(text, options).len()
}

/// Where section `number` of `text` is (see the module's rules), or `None` if the text has no such
/// section. Section 0, the text before the first heading, always exists, though it may be empty.
///
/// ```
/// let options = markup::RenderOptions::default();
/// let text = "intro\n# One\na\n## Two\nb\n# Three\nc\n";
/// assert_eq!(markup::section_range(text, 0, &options), Some(0..6));
/// assert_eq!(&text[markup::section_range(text, 1, &options).unwrap()], "# One\na\n## Two\nb\n");
/// assert_eq!(&text[markup::section_range(text, 2, &options).unwrap()], "## Two\nb\n");
/// assert_eq!(markup::section_range(text, 4, &options), None);
/// ```
pub fn section_range(text: &str, number: usize, options: &RenderOptions) -> Option<Range<usize>> {
    let starts = starts(text, options);
    if number == 0 {
        return Some(0..starts.first().map_or(text.len(), |first| first.line));
    }
    let this = starts.get(number - 1)?;
    let end = starts[number..]
        .iter()
        .find(|next| next.level <= this.level)
        .map_or(text.len(), |next| next.line);
    Some(this.line..end)
}

/// The text of section `number` of `text`, or `None` if there is no such section.
pub fn section_text<'t>(text: &'t str, number: usize, options: &RenderOptions) -> Option<&'t str> {
    section_range(text, number, options).map(|range| &text[range])
}

/// `text` with section `number` replaced by `section`, or `None` if there is no such section. A line
/// break is added after `section` when it has none and text follows, so what follows starts a line.
///
/// ```
/// let options = markup::RenderOptions::default();
/// let text = "# One\na\n# Two\nb\n";
/// assert_eq!(
///     markup::replace_section(text, 1, "# One\nchanged", &options).as_deref(),
///     Some("# One\nchanged\n# Two\nb\n")
/// );
/// ```
pub fn replace_section(
    text: &str,
    number: usize,
    section: &str,
    options: &RenderOptions,
) -> Option<String> {
    let range = section_range(text, number, options)?;
    let after = &text[range.end..];
    let mut out = String::with_capacity(text.len() - range.len() + section.len() + 1);
    out.push_str(&text[..range.start]);
    out.push_str(section);
    if !section.is_empty() && !section.ends_with('\n') && !after.is_empty() {
        out.push('\n');
    }
    out.push_str(after);
    Some(out)
}

/// The heading level, if a start tag at `depth` (how many tags are open around it) opens a section:
/// the one rule [`section_range`] and the renderer's edit links share.
pub(crate) fn section_level(depth: usize, tag: &Tag<'_>) -> Option<HeadingLevel> {
    match tag {
        Tag::Heading { level, .. } if depth == 0 => Some(*level),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> RenderOptions {
        RenderOptions::default()
    }

    #[test]
    fn code_blocks_html_blocks_and_nested_headings_start_no_section() {
        let text =
            "```\n# not\n```\n<div>\n# not either\n</div>\n\n> # quoted\n- # listed\n# Yes\n";
        assert_eq!(section_count(text, &options()), 1);
        assert_eq!(section_text(text, 1, &options()), Some("# Yes\n"));
    }

    #[test]
    fn setext_headings_start_sections_at_their_first_line() {
        let text = "intro\n\nTitle\nline\n=====\nbody\n\nSub\n---\nmore\n";
        assert_eq!(
            section_text(text, 1, &options()),
            Some("Title\nline\n=====\nbody\n\nSub\n---\nmore\n")
        );
        assert_eq!(section_text(text, 2, &options()), Some("Sub\n---\nmore\n"));
    }

    #[test]
    fn pragma_lines_belong_to_section_zero_and_indented_headings_start_at_the_line() {
        let text = "#acl All:read\n   ## Two\nx\n";
        assert_eq!(section_text(text, 0, &options()), Some("#acl All:read\n"));
        assert_eq!(section_text(text, 1, &options()), Some("   ## Two\nx\n"));
    }

    #[test]
    fn a_replacement_without_a_final_line_break_keeps_the_next_heading() {
        let text = "# A\na\n# B\nb";
        assert_eq!(
            replace_section(text, 2, "# B\nnew", &options()).as_deref(),
            Some("# A\na\n# B\nnew")
        );
        assert_eq!(
            replace_section(text, 1, "", &options()).as_deref(),
            Some("# B\nb")
        );
        assert_eq!(replace_section(text, 3, "x", &options()), None);
    }
}
