//! Page pragmas: MoinMoin's processing instructions, lines at the very top of a page such as
//! `#acl Known:read,write All:read` that say something *about* the page instead of being part of it.
//!
//! A pragma line is `#` immediately followed by one of the [`KEYWORDS`] (any case), then whitespace or
//! the end of the line. Only the block of such lines that opens the page counts; the first other line
//! ends it, and everything from there on is the page body that is rendered, indexed and linked from.
//! Keywords are a fixed list on purpose: `#hashtag` or `#5 bolt` at the top of a page stay text, and a
//! heading needs `# ` with a space in CommonMark anyway, so no heading is ever taken for a pragma.
//!
//! Which pragma means what is the caller's business (the wiki enforces `#acl`); markup only finds them
//! and keeps them out of the HTML.

/// The pragma keywords, lower case: MoinMoin's processing instructions. `format`, `redirect`,
/// `language` and `pragma` are reserved: recognised and hidden, not acted on yet.
pub const KEYWORDS: &[&str] = &["acl", "format", "redirect", "language", "pragma"];

/// What the pragma lines at the top of a page say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pragmas {
    /// The access control list: the text after `#acl`, several `#acl` lines joined by a space (as
    /// MoinMoin does). `Some("")` for a bare `#acl`, which grants nothing.
    pub acl: Option<String>,
    /// `#format NAME`: the markup the page is written in.
    pub format: Option<String>,
    /// `#redirect Page`: where the page sends its readers.
    pub redirect: Option<String>,
    /// `#language CODE`.
    pub language: Option<String>,
    /// Byte offset where the page body (everything after the pragma lines) starts.
    pub body_start: usize,
}

/// The pragmas of `text`, and where its body starts.
///
/// ```
/// let pragmas = markup::pragmas("#acl Known:read\n#format markdown\n# Title\n");
/// assert_eq!(pragmas.acl.as_deref(), Some("Known:read"));
/// assert_eq!(pragmas.format.as_deref(), Some("markdown"));
/// assert_eq!(pragmas.body_start, "#acl Known:read\n#format markdown\n".len());
/// assert_eq!(markup::pragmas("#hashtag\n").acl, None);
/// ```
pub fn pragmas(text: &str) -> Pragmas {
    let mut found = Pragmas::default();
    let mut offset = 0;
    while offset < text.len() {
        let rest = &text[offset..];
        let (line, next) = match rest.find('\n') {
            Some(end) => (&rest[..end], offset + end + 1),
            None => (rest, text.len()),
        };
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some((keyword, value)) = pragma_line(line) else {
            break;
        };
        let value = value.trim().to_owned();
        match keyword {
            "acl" => {
                found.acl = Some(match found.acl.take() {
                    Some(before) if !before.is_empty() && !value.is_empty() => {
                        format!("{before} {value}")
                    }
                    Some(before) if value.is_empty() => before,
                    _ => value,
                })
            }
            "format" => found.format = Some(value),
            "redirect" => found.redirect = Some(value),
            "language" => found.language = Some(value),
            _ => {}
        }
        offset = next;
    }
    found.body_start = offset;
    found
}

/// `text` without its pragma lines: what is rendered, indexed and searched for links.
pub fn page_body(text: &str) -> &str {
    &text[pragmas(text).body_start..]
}

/// The keyword (lower case, one of [`KEYWORDS`]) and the rest of `line`, if it is a pragma line.
fn pragma_line(line: &str) -> Option<(&'static str, &str)> {
    let after_hash = line.strip_prefix('#')?;
    let word_end = after_hash
        .find(|c: char| c.is_whitespace())
        .unwrap_or(after_hash.len());
    let (word, value) = after_hash.split_at(word_end);
    KEYWORDS
        .iter()
        .find(|keyword| keyword.eq_ignore_ascii_case(word))
        .map(|keyword| (*keyword, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pragma_lines_at_the_top_are_found_and_cut_off() {
        let text = "#acl Known:read All:\r\n#FORMAT markdown\n#acl +Editors:write\nBody #acl x\n";
        let found = pragmas(text);
        assert_eq!(found.acl.as_deref(), Some("Known:read All: +Editors:write"));
        assert_eq!(found.format.as_deref(), Some("markdown"));
        assert_eq!(page_body(text), "Body #acl x\n");
    }

    #[test]
    fn headings_hashtags_and_later_lines_are_not_pragmas() {
        for text in [
            "# acl Heading\n",
            "#hashtag\n",
            "#aclx y\n",
            "#5 bolt\n",
            "Text\n#acl All:\n",
            "\n#acl All:\n",
            " #acl All:\n",
        ] {
            let found = pragmas(text);
            assert_eq!(found.acl, None, "{text:?}");
            assert_eq!(found.body_start, 0, "{text:?}");
        }
    }

    #[test]
    fn a_bare_acl_grants_nothing_and_is_not_dropped() {
        assert_eq!(pragmas("#acl\nx").acl.as_deref(), Some(""));
        assert_eq!(pragmas("#acl All:").acl.as_deref(), Some("All:"));
        assert_eq!(page_body("#acl All:"), "");
        assert_eq!(
            pragmas("#redirect Other Page\n").redirect.as_deref(),
            Some("Other Page")
        );
    }

    #[test]
    fn pragmas_are_not_rendered_indexed_or_linked_and_headings_still_are() {
        let text = "#acl Known:read SecretGroup:write\n# Title\n\nSee [[Other]].\n";
        let html = crate::render(text, "Page", &crate::NoLinks).html;
        assert!(!html.contains("Known:read"), "{html}");
        assert!(html.contains("<h1"), "{html}");
        assert_eq!(crate::plain_text(text), "Title\nSee Other.");
        assert_eq!(crate::wiki_links(text, "Page"), ["Other"]);
        let options = crate::RenderOptions::commonmark();
        let html = crate::render_with("#hashtag\n", "Page", &crate::NoLinks, &options)
            .unwrap()
            .html;
        assert_eq!(html, "<p>#hashtag</p>\n");
    }

    proptest! {
        #[test]
        fn never_panics_and_the_body_is_a_suffix(text in "(#(acl|format|x)?[ a-z:,]{0,8}\r?\n){0,4}.{0,20}") {
            let found = pragmas(&text);
            prop_assert!(text.is_char_boundary(found.body_start));
            prop_assert!(text.ends_with(page_body(&text)));
        }

        #[test]
        fn pragmas_in_front_of_any_body_leave_it_unchanged(acl in "[A-Za-z:,+ -]{0,30}", body in "[^#].{0,40}|") {
            let text = format!("#acl {acl}\n{body}");
            prop_assert_eq!(page_body(&text), body.as_str());
            prop_assert_eq!(pragmas(&text).acl, Some(acl.trim().to_owned()));
        }
    }
}
