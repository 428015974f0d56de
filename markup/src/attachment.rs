//! Attachment targets: `attachment:name` (a file of the page being rendered) and `attachment:Other/Page/name`
//! (a file of another page), as MoinMoin writes them, in every link form that takes a target.
//!
//! The last `/` splits the target: what follows is the file name, what comes before the page name (resolved
//! like a wiki link's, so `attachment:/Child/x.png` and `attachment:../Sibling/x.png` work; see
//! `wikilink.rs`). Each part is percent-decoded after the split, so `attachment:my%20file.pdf` names
//! `my file.pdf` and `%2F` never moves the split. A file name may hold any character a cleaned upload name
//! can (`media` cleans names at upload): none of `/`, `\`, control characters, and no leading dot (so no
//! `.` or `..`). A target that breaks a rule is not a file: it renders as the text written, as an invalid
//! wiki link does.
//!
//! Besides Markdown links and images (`[label](attachment:x.pdf)`, `![alt](attachment:x.png)`,
//! `[label](<attachment:my file.pdf>)`) and wiki links (`[[attachment:x.pdf|label]]`), MoinMoin's
//! transclusion `{{attachment:x.png|alt}}` is found in text here ([`transclusions`]): pulldown-cmark has no
//! event for it. It embeds an image, or links any other file.

use std::ops::Range;

use percent_encoding::percent_decode_str;

use crate::wikilink::{collapse_whitespace, current_segments, has_control, resolve};

/// A file attached to a page: what an `attachment:` target names, and what [`crate::LinkResolver`] is
/// asked about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileRef {
    /// The page the file belongs to, a normalized page name as [`crate::Rendered::links`] holds them.
    pub page: String,
    /// The file's name on that page: never empty, without `/`, `\`, control characters or a leading dot.
    pub name: String,
}

/// What the caller knows of a file that exists, for writing its `<img>`: its dimensions in pixels, when it
/// is an image whose size could be read. Known dimensions let the browser reserve the space before the
/// image loads, so the page does not jump.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FileFacts {
    /// Width in pixels.
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
}

/// What starts an attachment target.
pub(crate) const SCHEME: &str = "attachment:";

/// What opens a MoinMoin transclusion of an attachment.
const TRANSCLUSION: &str = "{{attachment:";

/// The file a link destination names, if it is an `attachment:` target: `None` when it is another kind of
/// destination, `Some(None)` when it is an attachment target that breaks a rule.
pub(crate) fn file_dest(dest: &str, current_page: &str) -> Option<Option<FileRef>> {
    let target = dest.strip_prefix(SCHEME)?;
    Some(parse_file(target, current_page))
}

/// The file `target` (what follows `attachment:`) names on page `current_page`, if it is valid.
pub(crate) fn parse_file(target: &str, current_page: &str) -> Option<FileRef> {
    let target = target.trim();
    let (page, name) = match target.rsplit_once('/') {
        Some((page, name)) => {
            let page = collapse_whitespace(&decode(page)?);
            if page.is_empty() || has_control(&page) {
                return None;
            }
            (resolve(&page, current_page)?, name)
        }
        None => (current_segments(current_page).join("/"), target),
    };
    let name = decode(name)?.trim().to_owned();
    let valid = !page.is_empty()
        && !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && !has_control(&name);
    valid.then_some(FileRef { page, name })
}

/// Percent-decodes `text`; `None` when the bytes it decodes to are not UTF-8.
fn decode(text: &str) -> Option<String> {
    percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

/// Whether `name` looks like an image by its extension: a file whose dimensions the caller does not know
/// (an SVG, say) is still embedded by `{{attachment:…}}` when its name says it is an image.
pub(crate) fn is_image_name(name: &str) -> bool {
    let Some((_, extension)) = name.rsplit_once('.') else {
        return false;
    };
    const IMAGES: [&str; 10] = [
        "png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "bmp", "ico", "apng",
    ];
    IMAGES
        .iter()
        .any(|image| extension.eq_ignore_ascii_case(image))
}

/// A run of text, split into plain parts and `{{attachment:…}}` transclusions.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    /// A transclusion: its target (after `attachment:`), its alternative text, and where it is in the run.
    File {
        target: &'a str,
        alt: Option<&'a str>,
        at: Range<usize>,
    },
}

/// Whether `text` may hold a transclusion, a quick test before [`transclusions`].
pub(crate) fn may_contain_transclusion(text: &str) -> bool {
    text.contains(TRANSCLUSION)
}

/// Splits `text` at its `{{attachment:target|alt|…}}` transclusions (what follows a second `|`, MoinMoin's
/// parameters, is ignored). A transclusion ends at the first `}}`; one without it is text.
pub(crate) fn transclusions(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut plain_start = 0;
    let mut from = 0;
    while let Some(found) = text[from..].find(TRANSCLUSION) {
        let start = from + found;
        let inner_start = start + TRANSCLUSION.len();
        let Some(length) = text[inner_start..].find("}}") else {
            break;
        };
        let end = inner_start + length + 2;
        let inner = &text[inner_start..inner_start + length];
        let mut parts = inner.splitn(3, '|');
        let target = parts.next().unwrap_or_default();
        let alt = parts.next();
        if plain_start < start {
            pieces.push(Piece::Text(&text[plain_start..start]));
        }
        pieces.push(Piece::File {
            target,
            alt,
            at: start..end,
        });
        plain_start = end;
        from = end;
    }
    if plain_start < text.len() || pieces.is_empty() {
        pieces.push(Piece::Text(&text[plain_start..]));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(page: &str, name: &str) -> Option<FileRef> {
        Some(FileRef {
            page: page.to_owned(),
            name: name.to_owned(),
        })
    }

    #[test]
    fn targets_name_a_page_and_a_file() {
        let cases: &[(&str, &str, Option<FileRef>)] = &[
            ("x.png", "Home", file("Home", "x.png")),
            (" x.png ", "Team/Notes", file("Team/Notes", "x.png")),
            ("Other/Page/x.png", "Home", file("Other/Page", "x.png")),
            ("A/B/c.png", "Home", file("A/B", "c.png")),
            ("my%20file.pdf", "Home", file("Home", "my file.pdf")),
            ("my file.pdf", "Home", file("Home", "my file.pdf")),
            (
                "Some%20Page/a%25b.txt",
                "Home",
                file("Some Page", "a%b.txt"),
            ),
            ("/Child/x.png", "Team", file("Team/Child", "x.png")),
            ("../Plans/x.png", "Team/Notes", file("Team/Plans", "x.png")),
            ("100%.txt", "Home", file("Home", "100%.txt")),
            ("javascript:x", "Home", file("Home", "javascript:x")),
            ("a\"b<c>.png", "Home", file("Home", "a\"b<c>.png")),
            ("Ünïcode.png", "Home", file("Home", "Ünïcode.png")),
            // Not files: each of these stays the text written.
            ("", "Home", None),
            ("  ", "Home", None),
            ("x.png", "", None),
            ("../../x", "Team/Notes", None),
            ("../x", "Top", None),
            ("Page/", "Home", None),
            ("/x.png", "Home", None),
            ("Page/..", "Home", None),
            ("Page/.hidden", "Home", None),
            ("a%2Fb.png", "Home", None),
            ("a%5Cb.png", "Home", None),
            ("a\\b.png", "Home", None),
            ("a%0Ab.png", "Home", None),
            ("bad\u{7}.png", "Home", None),
            ("%FF.png", "Home", None),
            ("+edit/x.png", "Home", None),
            ("A//x.png", "Home", None),
        ];
        for (target, current, expected) in cases {
            assert_eq!(
                &parse_file(target, current),
                expected,
                "attachment:{target} on page {current:?}"
            );
        }
    }

    #[test]
    fn destinations_are_files_only_with_the_scheme() {
        assert_eq!(file_dest("https://x.org/a.png", "Home"), None);
        assert_eq!(file_dest("x.png", "Home"), None);
        assert_eq!(file_dest("attachment:", "Home"), Some(None));
        assert_eq!(
            file_dest("attachment:x.png", "Home"),
            Some(file("Home", "x.png"))
        );
    }

    #[test]
    fn transclusions_are_split_from_text() {
        assert_eq!(
            transclusions("a {{attachment:x.png|alt|width=10}} b {{attachment:y}}"),
            [
                Piece::Text("a "),
                Piece::File {
                    target: "x.png",
                    alt: Some("alt"),
                    at: 2..35,
                },
                Piece::Text(" b "),
                Piece::File {
                    target: "y",
                    alt: None,
                    at: 38..54,
                },
            ]
        );
        assert_eq!(
            transclusions("{{attachment:x.png"),
            [Piece::Text("{{attachment:x.png")]
        );
        assert_eq!(transclusions(""), [Piece::Text("")]);
        assert_eq!(transclusions("{{other:x}}"), [Piece::Text("{{other:x}}")]);
    }

    #[test]
    fn images_are_known_by_extension() {
        assert!(is_image_name("a.PNG") && is_image_name("b.c.svg"));
        assert!(!is_image_name("report.pdf") && !is_image_name("png"));
    }
}
