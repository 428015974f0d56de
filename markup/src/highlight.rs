//! Server-side code highlighting: a fenced block in a known language becomes spans with CSS classes, which
//! themes colour (the default theme's `quire.css` has a light and a dark palette). No colours or styles are
//! written here, so the sanitizer only has to let `hl-*` classes on `<span>` through.
//!
//! syntect with its bundled Sublime Text syntaxes and the pure-Rust regex engine (no C build) does the
//! work. A scope such as `keyword.control.rust` becomes `class="hl-keyword hl-control hl-rust"`.
//!
//! What it is not: a guarantee of highlighting. A language syntect does not know, a block larger than
//! [`MAX_BLOCK_BYTES`], blocks beyond [`MAX_PAGE_BYTES`] on one page, and output nesting spans deeper than
//! [`MAX_SPAN_DEPTH`] (deeply bracketed code could otherwise reach the sanitizer's slow path, see
//! `nesting.rs`) all stay plain escaped code, as without highlighting.

use std::sync::LazyLock;

use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

use crate::nesting::html_depth_exceeds;

/// Blocks larger than this stay plain: highlighting costs about a microsecond per byte.
pub(crate) const MAX_BLOCK_BYTES: usize = 64 << 10;

/// Highlighted bytes per page; later blocks stay plain, so a page of many blocks cannot take long.
pub(crate) const MAX_PAGE_BYTES: usize = 256 << 10;

/// Highlighted code nesting spans deeper than this stays plain.
pub(crate) const MAX_SPAN_DEPTH: usize = 24;

/// The class prefix; the sanitizer keeps `class` on `<span>` only for names with it.
pub(crate) const CLASS_PREFIX: &str = "hl-";

/// Loaded on first use (a few milliseconds), then shared and only read: a constant, not state.
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

/// `code` as HTML spans with `hl-*` classes (escaped, without `<pre>`/`<code>`), if `language` (a fence's
/// first word: a name or file extension, such as `rust`, `rs`, `Python`) is known and the output is shallow
/// enough; `None` means: write it plain.
pub(crate) fn highlight(language: &str, code: &str) -> Option<String> {
    if language.is_empty() || code.len() > MAX_BLOCK_BYTES {
        return None;
    }
    let syntaxes = &*SYNTAXES;
    let syntax = syntaxes.find_syntax_by_token(language)?;
    // Plain Text is a syntax too, but highlighting it adds nothing but a span.
    if syntax.name == "Plain Text" {
        return None;
    }
    let mut generator = ClassedHTMLGenerator::new_with_class_style(
        syntax,
        syntaxes,
        ClassStyle::SpacedPrefixed {
            prefix: CLASS_PREFIX,
        },
    );
    for line in LinesWithEndings::from(code) {
        generator
            .parse_html_for_line_which_includes_newline(line)
            .ok()?;
    }
    let html = generator.finalize();
    (!html_depth_exceeds(&html, MAX_SPAN_DEPTH)).then_some(html)
}

/// Whether `class` is what [`highlight`] writes: space-separated `hl-` names of letters, digits, `-`, `_`, `+`, `#` (`hl-c++`).
pub(crate) fn is_highlight_class(class: &str) -> bool {
    class.split(' ').all(|name| {
        name.strip_prefix(CLASS_PREFIX).is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '#'))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_get_classes_unknown_ones_nothing() {
        let html = highlight("rust", "fn main() { let x = \"<s>\"; } // done\n").unwrap();
        assert!(
            html.contains(r#"<span class="hl-source hl-rust">"#),
            "{html}"
        );
        assert!(
            html.contains("hl-keyword") || html.contains("hl-storage"),
            "{html}"
        );
        assert!(html.contains("hl-comment"), "{html}");
        assert!(
            html.contains("&lt;s&gt;") && !html.contains("<s>"),
            "{html}"
        );
        assert!(highlight("rs", "fn x() {}\n").is_some(), "by extension");
        assert!(
            highlight("PYTHON", "def f(): pass\n").is_some(),
            "by name, any case"
        );
        for language in ["no-such-language", "", "txt"] {
            assert_eq!(highlight(language, "x\n"), None, "{language:?}");
        }
        assert_eq!(highlight("rust", &"x".repeat(MAX_BLOCK_BYTES + 1)), None);
    }

    #[test]
    fn every_class_written_is_a_highlight_class() {
        let samples = [
            ("rust", "#[derive(Debug)]\npub struct A<'a> { x: &'a str }\nimpl A<'_> { fn f(&self) -> u8 { 0x1f } }\n"),
            ("python", "@dec\nclass A(B):\n    def f(self, *a, **k): return f\"{a!r}\" # c\n"),
            ("js", "const f = async (a) => { await x?.y ?? `t${a}`; /re+/g; };\n"),
            ("c++", "#include <x>\ntemplate<class T> T f(T&& a) { return a << 2; }\n"),
            ("html", "<!doctype html><p class=\"a\" onclick=\"x()\">&amp;</p><script>var a;</script>\n"),
            ("sh", "for f in *.rs; do echo \"$f\" | grep -E '^x' >/dev/null; done\n"),
        ];
        for (language, code) in samples {
            let html = highlight(language, code).unwrap_or_else(|| panic!("{language} known"));
            for chunk in html.split("class=\"").skip(1) {
                let class = chunk.split('"').next().unwrap();
                assert!(is_highlight_class(class), "{class:?} from {language}");
            }
        }
    }

    #[test]
    fn highlight_classes_are_recognised() {
        assert!(is_highlight_class("hl-source hl-rust"));
        for bad in [
            "",
            "hl-",
            "x hl-a",
            "hl-a evil",
            "hl-a\"",
            "hl-a  hl-b",
            "wikilink",
        ] {
            assert!(!is_highlight_class(bad), "{bad:?}");
        }
    }
}
