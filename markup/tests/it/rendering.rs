use crate::html;

#[test]
fn gfm_extensions_render() {
    let cases: &[(&str, &[&str])] = &[
        (
            "| a | b |\n|:--|--:|\n| 1 | 2 |",
            &[
                "<table>",
                r#"<th style="text-align: left">a</th>"#,
                r#"<td style="text-align: right">2</td>"#,
            ],
        ),
        ("~~gone~~", &["<del>gone</del>"]),
        (
            "- [ ] todo\n- [x] done",
            &[
                r#"<input disabled="" type="checkbox">"#,
                r#"<input disabled="" type="checkbox" checked="">"#,
            ],
        ),
        (
            "text[^n]\n\n[^n]: the note",
            &[
                r##"<sup class="footnote-reference"><a href="#n">1</a></sup>"##,
                r#"<div class="footnote-definition" id="n">"#,
            ],
        ),
        (
            "> [!NOTE]\n> careful",
            &[r#"<blockquote class="markdown-alert-note">"#],
        ),
        (
            "```no-such-language\nfn main() {}\n```",
            &[r#"<pre><code class="language-no-such-language">fn main() {}"#],
        ),
        ("\"quotes\" -- and...", &["\"quotes\" -- and..."]),
        (
            "# Install Notes\n\n## Install Notes",
            &[r#"<h1 id="install-notes">"#, r#"<h2 id="install-notes-1">"#],
        ),
        (
            "# A {#custom .cls}",
            &[r#"<h1 id="a-custom-cls">A {#custom .cls}</h1>"#],
        ),
    ];
    for (markdown, expected) in cases {
        let html = html(markdown);
        for fragment in *expected {
            assert!(
                html.contains(fragment),
                "{fragment:?} in render of {markdown:?}: {html}"
            );
        }
    }
}

#[test]
fn links_are_marked_external_or_not() {
    let cases: &[(&str, &str)] = &[
        (
            "[x](https://e.org)",
            r#"<a href="https://e.org" rel="nofollow ugc noopener">x</a>"#,
        ),
        (
            "<https://e.org>",
            r#"<a href="https://e.org" rel="nofollow ugc noopener">https://e.org</a>"#,
        ),
        (
            "<me@e.org>",
            r#"<a href="mailto:me@e.org" rel="nofollow ugc noopener">me@e.org</a>"#,
        ),
        (
            "see www.e.org.",
            r#"<a href="http://www.e.org" rel="nofollow ugc noopener">www.e.org</a>."#,
        ),
        (
            "[x](//e.org/a)",
            r#"<a href="//e.org/a" rel="nofollow ugc noopener">x</a>"#,
        ),
        ("[x](/wiki/Home)", r#"<a href="/wiki/Home">x</a>"#),
        ("[x](#top)", r##"<a href="#top">x</a>"##),
        (
            r#"<a href="https://e.org" rel="follow" target="_blank">x</a>"#,
            r#"<a href="https://e.org" rel="nofollow ugc noopener">x</a>"#,
        ),
        ("`https://e.org`", "<code>https://e.org</code>"),
        (
            "[https://e.org](/local)",
            r#"<a href="/local">https://e.org</a>"#,
        ),
    ];
    for (markdown, expected) in cases {
        let html = html(markdown);
        assert!(
            html.contains(expected),
            "{expected:?} in render of {markdown:?}: {html}"
        );
    }
}

#[test]
fn raw_html_passes_the_sanitizer_only() {
    let html = html("<details><summary>More</summary>\n\n*inside*\n\n</details>\n\nx <kbd>Ctrl</kbd> <span onclick=\"x()\">y</span>");
    assert!(html.contains("<details><summary>More</summary>"), "{html}");
    assert!(html.contains("<em>inside</em>"), "{html}");
    assert!(html.contains("<kbd>Ctrl</kbd> <span>y</span>"), "{html}");
}

#[test]
fn plain_text_drops_markup() {
    assert_eq!(
        markup::plain_text("# Title\n\nA [[Home|link]], *em*, `code` and <b>html</b>.\n\n- item"),
        "Title\nA link, em, code and html.\nitem"
    );
}

#[test]
fn known_languages_are_highlighted_with_classes_only() {
    let html = html("```rust\nfn main() { let s = \"<b>\"; } // c\n```\n\n```\nplain <i>\n```");
    assert!(
        html.contains(r#"<pre><code class="language-rust"><span class="hl-source hl-rust">"#),
        "{html}"
    );
    assert!(html.contains(r#"<span class="hl-comment"#), "{html}");
    assert!(
        html.contains("&lt;b&gt;") && html.contains("<pre><code>plain &lt;i&gt;"),
        "{html}"
    );
    assert!(!html.contains("style="), "{html}");
    // Authors cannot borrow the span classes for anything but the highlight palette.
    let raw = crate::html(
        r#"<span class="hl-comment evil" style="x">a</span> <span class="wikilink">b</span>"#,
    );
    assert!(raw.contains("<span>a</span> <span>b</span>"), "{raw}");
}
