//! Plain text of a page, for search indexes and result snippets: what a reader sees, without markup.
//!
//! Blocks (paragraphs, headings, list items, table rows, code blocks) end with a line break; inline markup
//! disappears; a wiki link contributes its label. Raw HTML tags are dropped, and so is an HTML block as a
//! whole, since its text cannot be told from its tags without parsing HTML.

use pulldown_cmark::{Event, Parser, TagEnd};

use crate::render::options;

pub(crate) fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Text(text) | Event::Code(text) => out.push_str(&text),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::End(TagEnd::TableCell) => out.push(' '),
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::TableHead
                | TagEnd::TableRow
                | TagEnd::FootnoteDefinition
                | TagEnd::DefinitionListTitle
                | TagEnd::DefinitionListDefinition,
            )
            | Event::Rule => end_line(&mut out),
            _ => {}
        }
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    out
}

/// Ends the current line, once, without trailing blanks.
fn end_line(out: &mut String) {
    let trimmed = out.trim_end_matches([' ', '\t']).len();
    out.truncate(trimmed);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_goes_text_stays() {
        let cases = [
            (
                "# Title\n\nSome *emphasis* and `code`.",
                "Title\nSome emphasis and code.",
            ),
            ("- one\n- [[Page|two]]\n- [[Other]]", "one\ntwo\nOther"),
            ("a\nb  \nc", "a b\nc"),
            ("| h1 | h2 |\n|----|----|\n| a | b |", "h1 h2\na b"),
            ("```\nfn main() {}\n```", "fn main() {}"),
            ("x <b>bold</b> y\n\n<div>\nblock\n</div>", "x bold y"),
            ("> quoted\n\n---\n\nafter", "quoted\nafter"),
            ("", ""),
        ];
        for (markdown, expected) in cases {
            assert_eq!(plain_text(markdown), expected, "plain text of {markdown:?}");
        }
    }
}
