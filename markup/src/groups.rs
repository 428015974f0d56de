//! Group pages: the members a page lists, MoinMoin's way of defining a group on a wiki page.
//!
//! MoinMoin 1.9 (`MoinMoin/formatter/groups.py`) takes the text of each item of a *first-level
//! bullet list* as a member: items of a nested list are not members (they are often notes about the
//! member above), numbered lists are not members, and everything outside lists is free text. The
//! item's text is trimmed and an empty item is skipped. Here the page is Markdown (an imported
//! MoinMoin page went through [`crate::moin::moin_to_markdown`], which writes ` * Alice` as
//! `- Alice`), so the same rule is read off CommonMark's structure: the items of an unordered list
//! that is inside no other list, `* Alice`, `- Alice` or `+ Alice`.
//!
//! One difference: MoinMoin takes a link's *label* (the text it would show), so `[[Alice|Al]]` there
//! names `Al`, which is surely not what its writer meant; here an item that is a wiki link alone
//! (`[[Alice]]`, `[[Alice|label]]`) names its target. Pragma lines (`#acl …`) are not part of the
//! list. Which pages are group pages, and what a member name means, is the caller's business.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

/// The members a group page lists, in the order written (duplicates kept out): the trimmed text of
/// each item of a top-level bullet list.
///
/// ```
/// let text = "#acl EditorGroup:read\nThe editors:\n * Alice\n * [[Bob]]\n   * not a member\n";
/// let text = markup::moin::moin_to_markdown(text, &Default::default()).markdown;
/// assert_eq!(markup::group_members(&text), ["Alice", "Bob"]);
/// ```
pub fn group_members(text: &str) -> Vec<String> {
    let mut members: Vec<String> = Vec::new();
    // How deep in lists the parser is, and whether the outermost one is a bullet list.
    let mut depth = 0usize;
    let mut bullets = false;
    let mut in_code_block = false;
    let mut item: Option<String> = None;
    for event in Parser::new(crate::page_body(text)) {
        match event {
            Event::Start(Tag::List(start)) => {
                depth += 1;
                if depth == 1 {
                    bullets = start.is_none();
                }
            }
            Event::End(TagEnd::List(_)) => depth = depth.saturating_sub(1),
            Event::Start(Tag::Item) if depth == 1 && bullets => item = Some(String::new()),
            Event::End(TagEnd::Item) if depth == 1 => {
                if let Some(name) = item.take().as_deref().and_then(member_name) {
                    if !members.contains(&name) {
                        members.push(name);
                    }
                }
            }
            Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(TagEnd::CodeBlock) => in_code_block = false,
            Event::Text(text) | Event::Code(text) if depth == 1 && !in_code_block => {
                if let Some(item) = item.as_mut() {
                    item.push_str(&text);
                }
            }
            Event::SoftBreak | Event::HardBreak if depth == 1 => {
                if let Some(item) = item.as_mut() {
                    item.push(' ');
                }
            }
            _ => {}
        }
    }
    members
}

/// An item's text as a member's name: trimmed, a lone wiki link as its target, `None` when empty.
fn member_name(text: &str) -> Option<String> {
    let text = text.trim();
    let name = match text
        .strip_prefix("[[")
        .and_then(|inner| inner.strip_suffix("]]"))
    {
        Some(link) if !link.contains("[[") => link.split('|').next().unwrap_or(link).trim(),
        _ => text,
    };
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::group_members;

    #[test]
    fn top_level_bullet_items_are_the_members() {
        let text = "Editors of the wiki.\n\n* Alice\n- Bob\n\n+ Carol\n";
        assert_eq!(group_members(text), ["Alice", "Bob", "Carol"]);
    }

    #[test]
    fn nested_items_are_not_members() {
        let text = "- Alice\n  - her deputy\n  - another note\n- Bob\n    * deeper still\n";
        assert_eq!(group_members(text), ["Alice", "Bob"]);
    }

    #[test]
    fn a_bullet_list_inside_a_numbered_one_is_not_top_level() {
        let text = "1. Alice\n2. Bob\n   - Carol\n";
        assert!(group_members(text).is_empty(), "{:?}", group_members(text));
    }

    #[test]
    fn wiki_links_name_their_target() {
        let text = "- [[Alice]]\n- [[ Bob | Robert ]]\n- see [[Carol]]\n";
        assert_eq!(group_members(text), ["Alice", "Bob", "see [[Carol]]"]);
    }

    #[test]
    fn blank_lines_empty_items_and_spaces_are_skipped_or_trimmed() {
        let text = "-   Alice   \n\n-\n\n-    \n\n- Bob\n  Smith\n";
        assert_eq!(group_members(text), ["Alice", "Bob Smith"]);
    }

    #[test]
    fn other_groups_are_members_by_name() {
        let text = "#acl EditorGroup:read,write,admin All:read\n- ExampleUser\n- TestGroup\n";
        assert_eq!(group_members(text), ["ExampleUser", "TestGroup"]);
    }

    #[test]
    fn pragmas_code_and_paragraphs_are_not_members() {
        let text =
            "#acl All:read\n\nSome text\n\n```\n- not a member\n```\n\n    - indented code\n";
        assert!(group_members(text).is_empty(), "{:?}", group_members(text));
        assert_eq!(group_members("- `alice`\n- alice\n"), ["alice"]);
    }

    #[test]
    fn an_imported_moin_group_page_keeps_its_members() {
        let moin =
            "#acl AdminGroup:admin\n = Editors =\n * Alice\n  * a note\n * [[Bob]]\n\n 1. first\n";
        let converted = crate::moin::moin_to_markdown(moin, &Default::default());
        assert_eq!(group_members(&converted.markdown), ["Alice", "Bob"]);
    }
}
