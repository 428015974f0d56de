//! The MoinMoin converter: each construct as a pair of input and expected Markdown, renders of the result,
//! and properties over arbitrary input.

use markup::moin::{moin_to_markdown, MoinOptions, MoinWarningKind};
use proptest::prelude::*;

fn md(text: &str) -> String {
    moin_to_markdown(text, &MoinOptions::default()).markdown
}

fn warnings(text: &str) -> Vec<MoinWarningKind> {
    moin_to_markdown(text, &MoinOptions::default())
        .warnings
        .into_iter()
        .map(|w| w.kind)
        .collect()
}

#[test]
fn each_construct_converts_as_documented() {
    let cases: &[(&str, &str)] = &[
        // Processing instructions and comments.
        (
            "#acl Known:read\n#format wiki\nText\n",
            "#acl Known:read\nText\n",
        ),
        (
            "#pragma section-numbers off\n## a comment\nText\n",
            "#pragma section-numbers off\n<!-- a comment -->\n\nText\n",
        ),
        // Headings.
        (
            "= One =\n== Two ==\n====== Six ======\n",
            "# One\n\n## Two\n\n###### Six\n",
        ),
        ("== Not a heading =\n", "\\== Not a heading =\n"),
        // Inline markup.
        (
            "'''bold''' ''italic'' '''''both'''''\n",
            "**bold** *italic* ***both***\n",
        ),
        (
            "__under__ --(gone)-- x^2^ H,,2,,O\n",
            "<u>under</u> ~~gone~~ x<sup>2</sup> H<sub>2</sub>O\n",
        ),
        ("`mono` and {{{mo`no}}}\n", "`mono` and ``mo`no``\n"),
        ("'''open to the end\n", "**open to the end**\n"),
        // Code blocks.
        ("{{{\nplain <b>\n}}}\n", "```\nplain <b>\n```\n"),
        ("{{{#!python\nprint(1)\n}}}\n", "```python\nprint(1)\n```\n"),
        (
            "{{{#!highlight Rust\nfn main() {}\n}}}\n",
            "```rust\nfn main() {}\n```\n",
        ),
        (
            "{{{{\nouter {{{\ninner\n}}}\n}}}}\n",
            "```\nouter {{{\ninner\n}}}\n```\n",
        ),
        ("{{{\n```\n}}}\n", "````\n```\n````\n"),
        ("{{{#!csv\na,b\n}}}\n", "```csv\na,b\n```\n"),
        ("{{{#!wiki note\n'''Hi'''\n}}}\n", "> [!NOTE]\n> **Hi**\n"),
        // Lists.
        (" * a\n * b\n  * c\n", "- a\n- b\n  - c\n"),
        (" 1. one\n 1. two\n", "1. one\n1. two\n"),
        (" a. one\n i. two\n", "1. one\n1. two\n"),
        (" 1.#3 three\n", "3. three\n"),
        (" * item\n   continued\n", "- item\n  continued\n"),
        (" * item\n\n   more\n", "- item\n\n  more\n"),
        (
            " term:: definition\n",
            "<dl>\n<dt>\n\nterm\n\n</dt>\n<dd>\n\ndefinition\n\n</dd>\n</dl>\n",
        ),
        ("  indented\n", "> indented\n"),
        // Tables.
        (
            "||a||b||\n||c||d||\n",
            "| a | b |\n| --- | --- |\n| c | d |\n",
        ),
        (
            "||<tablestyle=\"width: 50%\">a||<rowbgcolor=\"#eee\">b||\n",
            "| a | b |\n| --- | --- |\n",
        ),
        (
            "||<-2>wide||\n||x||y||\n",
            "| wide |  |\n| --- | --- |\n| x | y |\n",
        ),
        (
            "||||wide||\n||x||y||\n",
            "| wide |  |\n| --- | --- |\n| x | y |\n",
        ),
        (
            "||[[A|b]]||`x||y`||\n",
            "| [[A\\|b]] | `x\\|\\|y` |\n| --- | --- |\n",
        ),
        // Links.
        (
            "[[Page]] [[Page|label]] [[Page#anchor]]\n",
            "[[Page]] [[Page|label]] [[Page#anchor]]\n",
        ),
        (
            "[[../Sibling]] [[/Sub]] [[MoinMoin:Page]]\n",
            "[[../Sibling]] [[/Sub]] [[MoinMoin:Page]]\n",
        ),
        (
            "[[http://e.org/a b|the ''site'']]\n",
            "[the *site*](<http://e.org/a%20b>)\n",
        ),
        ("see http://e.org/x_y.\n", "see <http://e.org/x_y>.\n"),
        (
            "FrontPage and !FrontPage\n",
            "[[FrontPage]] and FrontPage\n",
        ),
        ("[[Page|label|target=_blank]]\n", "[[Page|label]]\n"),
        // Files and images.
        (
            "{{attachment:x.png}} {{attachment:x.png|alt}}\n",
            "{{attachment:x.png}} {{attachment:x.png|alt}}\n",
        ),
        (
            "[[attachment:x.pdf|label]]\n",
            "[[attachment:x.pdf|label]]\n",
        ),
        (
            "{{http://e.org/i.png|an image}}\n",
            "![an image](<http://e.org/i.png>)\n",
        ),
        ("{{OtherPage}}\n", "`{{OtherPage}}`\n"),
        // Macros.
        ("a<<BR>>b\n", "a<br>b\n"),
        ("<<TableOfContents(2)>>\n", "[[_TOC_]]\n"),
        ("<<FullSearch(x)>>\n", "`<<FullSearch(x)>>`\n"),
        // Rules.
        ("a\n----\nb\n", "a\n\n---\n\nb\n"),
        // Accidental Markdown is escaped.
        ("x\n# not a heading\n", "x\n\\# not a heading\n"),
        (
            "*x* _y_ [z] <b> a_b\n",
            "\\*x\\* \\_y\\_ \\[z\\] \\<b> a_b\n",
        ),
        ("line\n---\n1. x\n", "line\n\\---\n1\\. x\n"),
        ("a &amp; b & c\n", "a \\&amp; b & c\n"),
        // Other formats.
        ("#format plain\nsome *text*\n", "```\nsome *text*\n```\n"),
        ("#format python\nx = 1\n", "```python\nx = 1\n```\n"),
        ("", ""),
    ];
    for (moin, expected) in cases {
        assert_eq!(&md(moin), expected, "converting {moin:?}");
    }
}

#[test]
fn camel_case_is_kept_when_the_wiki_links_it() {
    let options = MoinOptions { camel_case: true };
    let converted = moin_to_markdown("FrontPage and !FrontPage\n", &options);
    assert_eq!(converted.markdown, "FrontPage and !FrontPage\n");
}

#[test]
fn what_does_not_convert_cleanly_is_warned_with_its_line() {
    let converted = moin_to_markdown(
        "x\n<<Date(1)>>\n||<tablestyle=\"a\">a||\n{{{#!csv\n1\n}}}\n",
        &MoinOptions::default(),
    );
    let lines: Vec<usize> = converted.warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines, [2, 3, 4]);
    assert_eq!(
        warnings("#format rst\nx\n"),
        [MoinWarningKind::FormatKept {
            format: "rst".into()
        }]
    );
    assert_eq!(
        warnings("||<-2>a||\n"),
        [MoinWarningKind::TableSpanFlattened]
    );
    assert_eq!(warnings("{{{\nx\n"), [MoinWarningKind::UnclosedCodeBlock]);
    assert_eq!(
        warnings(" a. x\n"),
        [MoinWarningKind::ListNumbering {
            marker: "a.".into()
        }]
    );
    assert!(converted.warnings[0].to_string().starts_with("line 2: "));
}

#[test]
fn converted_pages_render_as_moinmoin_showed_them() {
    let page = concat!(
        "= Title =\n<<TableOfContents>>\n== Part ==\n",
        "||'''A'''||'''B'''||\n||1||2||\n\n",
        "{{{#!python\nprint(1)\n}}}\n",
        "[[Home|go home]] {{attachment:x.png|a picture}}\n",
    );
    let markdown = md(page);
    let html = crate::html(&markdown);
    for expected in [
        "<h2 id=\"part\">",
        "<nav class=\"toc\">",
        "<table>",
        "<th><strong>A</strong></th>",
        "<code class=\"language-python\">",
        ">go home</a>",
        "<img src=\"/wiki/+file/Team/Notes/x.png\" alt=\"a picture\"",
    ] {
        assert!(
            html.contains(expected),
            "{expected} in {html}\nfrom {markdown}"
        );
    }
    let html = crate::html(&md("__u__ x^2^ ,,s,,\n term:: def\n"));
    for expected in ["<u>u</u>", "<sup>2</sup>", "<sub>s</sub>", "<dt>", "<dd>"] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
}

fn moinish() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("[[".to_owned()),
        Just("]]".to_owned()),
        Just("{{{".to_owned()),
        Just("}}}".to_owned()),
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        Just("<<".to_owned()),
        Just(">>".to_owned()),
        Just("'''".to_owned()),
        Just("''".to_owned()),
        Just("__".to_owned()),
        Just("--(".to_owned()),
        Just(")--".to_owned()),
        Just("^".to_owned()),
        Just(",,".to_owned()),
        Just("||".to_owned()),
        Just("<-2>".to_owned()),
        Just("\n".to_owned()),
        Just(" * ".to_owned()),
        Just(" 1. ".to_owned()),
        Just(":: ".to_owned()),
        Just("= ".to_owned()),
        Just("#!wiki ".to_owned()),
        Just("|".to_owned()),
        Just("`".to_owned()),
        Just("http://e.org".to_owned()),
        Just("FrontPage".to_owned()),
        Just("!".to_owned()),
        "[ -~]{0,6}",
        any::<String>(),
    ];
    prop::collection::vec(fragment, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn any_text_converts_the_same_way_twice_and_renders(text in moinish()) {
        let first = moin_to_markdown(&text, &MoinOptions::default());
        let second = moin_to_markdown(&text, &MoinOptions::default());
        prop_assert_eq!(&first, &second);
        let _ = crate::html(&first.markdown);
    }
}

#[test]
fn a_labelled_link_in_a_table_cell_stays_one_cell() {
    let html = crate::html(&md("||[[Home|go home]]||b||\n"));
    assert!(html.contains(">go home</a></th>"), "{html}");
    // And it leads to the page named, not to one with the cell's escape in its name.
    assert_eq!(
        markup::wiki_links(&md("||[[Home|go home]]||b||\n"), "P"),
        ["Home"]
    );
    assert!(html.contains("href=\"/wiki/Home\""), "{html}");
}

/// A CamelCase word in a link's label is a word: a link inside a link is none in Markdown.
#[test]
fn camel_case_in_a_link_label_stays_a_word() {
    assert_eq!(
        md("[[http://moinmo.in/|MoinMoin Wiki]]\n"),
        "[MoinMoin Wiki](<http://moinmo.in/>)\n"
    );
    assert_eq!(md("[[Home|see FrontPage]]\n"), "[[Home|see FrontPage]]\n");
    let html = crate::html(&md("[[http://moinmo.in/|'''MoinMoin''' Wiki]]\n"));
    assert!(
        html.contains("<a href=\"http://moinmo.in/\"")
            && html.contains("<strong>MoinMoin</strong> Wiki</a>"),
        "{html}"
    );
}

/// Openers without closers on one long line: each closer is searched for once per line, not once per
/// opener, or this would take minutes.
#[test]
fn openers_without_closers_cost_linear_time() {
    for opener in ["[[", "{{", "<<", "{{{", "`", "^", ",,"] {
        let line = format!("||{}\n", opener.repeat(100_000));
        let converted = moin_to_markdown(&line, &MoinOptions::default());
        assert!(converted.markdown.len() < 10 * line.len());
    }
}

/// Found by fuzzing (`fuzz/`, target `moin`): an indented line starting with a letter a list may be
/// lettered with (`a`, `A`, `i`, `I`) and then a character of several bytes panicked, the marker cut
/// inside that character, so a French page with ` aéroport` stopped an import.
#[test]
fn an_indented_word_that_starts_like_a_lettered_item_converts() {
    for word in ["aéroport", "Iñigo", "i€", "A\u{308}"] {
        assert_eq!(md(&format!(" {word}\n")), format!("> {word}\n"), "{word}");
    }
    assert_eq!(md(" a. lettered\n"), "1. lettered\n");
}
