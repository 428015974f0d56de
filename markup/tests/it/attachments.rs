//! Files attached to pages: every `attachment:` form, existing and missing files, other pages' files,
//! hostile targets, and what the resolver is asked.

use markup::FileRef;
use proptest::prelude::*;

use crate::{assert_fragments, assert_safe, file, files_wiki, html, tags, Wiki};

const IMG_X: &str =
    r#"<img src="/wiki/+file/Team/Notes/x.png" alt="alt" loading="lazy" width="640" height="480">"#;
const NOTES: &str = "Team/Notes";

/// (markdown on page `Team/Notes` of [`files_wiki`], fragments the HTML must contain, files reported)
type Case = (
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

#[test]
fn every_form_renders_and_is_reported() {
    let cases: &[Case] = &[
        // Markdown images and links.
        ("![alt](attachment:x.png)", &[IMG_X], &[(NOTES, "x.png")]),
        (
            "![](attachment:x.png)",
            &[r#"<img src="/wiki/+file/Team/Notes/x.png" alt="" loading="lazy" width="640" height="480">"#],
            &[(NOTES, "x.png")],
        ),
        (
            "[the report](attachment:report.pdf)",
            &[r#"<a class="attachment" href="/wiki/+file/Team/Notes/report.pdf">the report</a>"#],
            &[(NOTES, "report.pdf")],
        ),
        (
            "[*em* label](attachment:report.pdf)",
            &[r#"<a class="attachment" href="/wiki/+file/Team/Notes/report.pdf"><em>em</em> label</a>"#],
            &[(NOTES, "report.pdf")],
        ),
        (
            "[](attachment:report.pdf)",
            &[r#"<a class="attachment" href="/wiki/+file/Team/Notes/report.pdf">report.pdf</a>"#],
            &[(NOTES, "report.pdf")],
        ),
        (
            "[r][ref]\n\n[ref]: attachment:report.pdf\n",
            &[r#"<a class="attachment" href="/wiki/+file/Team/Notes/report.pdf">r</a>"#],
            &[(NOTES, "report.pdf")],
        ),
        (
            "[mine](attachment:my%20file.pdf)",
            &[r#"<a class="attachment" href="/wiki/+file/Team/Notes/my%20file.pdf">mine</a>"#],
            &[(NOTES, "my file.pdf")],
        ),
        (
            "[mine](<attachment:my file.pdf>)",
            &[r#"<a class="attachment" href="/wiki/+file/Team/Notes/my%20file.pdf">mine</a>"#],
            &[(NOTES, "my file.pdf")],
        ),
        (
            "<attachment:report.pdf>",
            &[r#"<a class="attachment" href="/wiki/+file/Team/Notes/report.pdf">attachment:report.pdf</a>"#],
            &[(NOTES, "report.pdf")],
        ),
        // MoinMoin's forms.
        (
            "{{attachment:x.png}}",
            &[r#"<img src="/wiki/+file/Team/Notes/x.png" alt="x.png" loading="lazy" width="640" height="480">"#],
            &[(NOTES, "x.png")],
        ),
        ("{{attachment:x.png|alt}}", &[IMG_X], &[(NOTES, "x.png")]),
        (
            "{{attachment:x.png| alt |width=100}}",
            &[IMG_X],
            &[(NOTES, "x.png")],
        ),
        (
            "see {{attachment:report.pdf|the report}} now",
            &[r#"<p>see <a class="attachment" href="/wiki/+file/Team/Notes/report.pdf">the report</a> now</p>"#],
            &[(NOTES, "report.pdf")],
        ),
        (
            "{{attachment:report.pdf}}",
            &[r#"<a class="attachment" href="/wiki/+file/Team/Notes/report.pdf">report.pdf</a>"#],
            &[(NOTES, "report.pdf")],
        ),
        (
            "[[attachment:report.pdf]]",
            &[r#"<a class="attachment" href="/wiki/+file/Team/Notes/report.pdf">report.pdf</a>"#],
            &[(NOTES, "report.pdf")],
        ),
        (
            "[[attachment:report.pdf|the *report*]]",
            &[r#"<a class="attachment" href="/wiki/+file/Team/Notes/report.pdf">the <em>report</em></a>"#],
            &[(NOTES, "report.pdf")],
        ),
        (
            "[[attachment:x.png]]",
            &[r#"<a class="attachment" href="/wiki/+file/Team/Notes/x.png">x.png</a>"#],
            &[(NOTES, "x.png")],
        ),
        ("![[attachment:x.png|alt]]", &[IMG_X], &[(NOTES, "x.png")]),
        // An image whose size is not known, on another page; a subpage's file.
        (
            "{{attachment:Home/logo.svg|Logo}}",
            &[r#"<img src="/wiki/+file/Home/logo.svg" alt="Logo" loading="lazy">"#],
            &[("Home", "logo.svg")],
        ),
        (
            "![c](attachment:A/B/c.png)",
            &[r#"<img src="/wiki/+file/A/B/c.png" alt="c" loading="lazy" width="10" height="20">"#],
            &[("A/B", "c.png")],
        ),
        (
            "[[attachment:../Plans/p.pdf]] [[attachment:/Child/x.png]]",
            &[
                r#"href="/wiki/+files/Team/Plans?name=p.pdf""#,
                r#"href="/wiki/+files/Team/Notes/Child?name=x.png""#,
            ],
            &[("Team/Plans", "p.pdf"), ("Team/Notes/Child", "x.png")],
        ),
        // Missing files link to the upload form, labelled with the alt, the label or the name.
        (
            "![a diagram](attachment:nope.png)",
            &[
                r#"<a class="attachment missing" href="/wiki/+files/Team/Notes?name=nope.png" title="Upload this file" rel="nofollow">a diagram</a>"#,
            ],
            &[(NOTES, "nope.png")],
        ),
        (
            "![](attachment:nope.png)",
            &[r#"rel="nofollow">nope.png</a>"#],
            &[(NOTES, "nope.png")],
        ),
        (
            "[the plan](attachment:Other/plan.pdf)",
            &[
                r#"<a class="attachment missing" href="/wiki/+files/Other?name=plan.pdf" title="Upload this file" rel="nofollow">the plan</a>"#,
            ],
            &[("Other", "plan.pdf")],
        ),
        (
            "{{attachment:nope.png}} {{attachment:nope.pdf|Plan}} [[attachment:gone.txt]]",
            &[
                r#"href="/wiki/+files/Team/Notes?name=nope.png" title="Upload this file" rel="nofollow">nope.png</a>"#,
                r#"href="/wiki/+files/Team/Notes?name=nope.pdf" title="Upload this file" rel="nofollow">Plan</a>"#,
                r#"href="/wiki/+files/Team/Notes?name=gone.txt" title="Upload this file" rel="nofollow">gone.txt</a>"#,
            ],
            &[
                (NOTES, "nope.png"),
                (NOTES, "nope.pdf"),
                (NOTES, "gone.txt"),
            ],
        ),
        // Distinct, in order.
        (
            "{{attachment:x.png}} [a](attachment:report.pdf) ![b](attachment:x.png) [[attachment:Team/Notes/x.png]]",
            &[],
            &[(NOTES, "x.png"), (NOTES, "report.pdf")],
        ),
        // Code is code.
        (
            "`{{attachment:x.png}}` and `[[attachment:x.png]]`",
            &["<code>{{attachment:x.png}}</code>", "<code>[[attachment:x.png]]</code>"],
            &[],
        ),
        (
            "```\n{{attachment:x.png}}\n![a](attachment:x.png)\n```",
            &["<pre><code>{{attachment:x.png}}\n![a](attachment:x.png)\n</code></pre>"],
            &[],
        ),
        (
            "    {{attachment:x.png}}",
            &["<pre><code>{{attachment:x.png}}</code></pre>"],
            &[],
        ),
        // Not closed, or not an attachment: text.
        ("{{attachment:x.png", &["<p>{{attachment:x.png</p>"], &[]),
        ("{{x.png}}", &["<p>{{x.png}}</p>"], &[]),
    ];
    for (markdown, fragments, files) in cases {
        let wiki = files_wiki();
        let rendered = markup::render(markdown, "Team/Notes", &wiki);
        assert_fragments(markdown, &rendered.html, fragments);
        let expected: Vec<FileRef> = files.iter().map(|(page, name)| file(page, name)).collect();
        let options = markup::RenderOptions::default();
        assert_eq!(
            markup::file_links(markdown, "Team/Notes", &options),
            expected,
            "file_links of {markdown:?}"
        );
        let asked = wiki.file_queries.borrow();
        if expected.is_empty() {
            assert!(asked.is_empty(), "no file query for {markdown:?}");
        } else {
            assert_eq!(*asked, [expected], "one file query for {markdown:?}");
        }
        assert_safe(markdown, &rendered.html);
    }
}

#[test]
fn hostile_targets_stay_text_or_stay_escaped() {
    // Not file names: shown as written, no link, nothing asked.
    for markdown in [
        "[x](attachment:../../x)",
        "[[attachment:../../../x]]",
        "{{attachment:../../x}}",
        "[x](attachment:)",
        "[[attachment:]]",
        "{{attachment:}}",
        "{{attachment:|alt}}",
        "![x](attachment:Page/.hidden)",
        "[x](attachment:a%2Fb.png)",
        "[x](attachment:a%0Ab.png)",
        "[x](attachment:+edit/x.png)",
    ] {
        let wiki = files_wiki();
        let rendered = markup::render(markdown, "Team/Notes", &wiki);
        assert!(
            !rendered.html.contains("<a ") && !rendered.html.contains("<img"),
            "{markdown:?} links nothing: {}",
            rendered.html
        );
        assert!(
            rendered.html.contains("attachment:"),
            "{markdown:?} is shown as written: {}",
            rendered.html
        );
        assert!(wiki.file_queries.borrow().is_empty(), "{markdown:?}");
        assert!(markup::file_links(markdown, "Team/Notes", &Default::default()).is_empty());
    }

    // File names that look like something else are only names, escaped into URLs and attributes.
    let hostile = [
        ("[x](attachment:javascript:alert(1))", "javascript:alert(1)"),
        ("{{attachment:javascript:alert(1)}}", "javascript:alert(1)"),
        ("[[attachment:a\"onerror=\"x.png]]", "a\"onerror=\"x.png"),
        ("{{attachment:a\"b.png|a\" onerror=\"alert(1)}}", "a\"b.png"),
        (
            "{{attachment:x.png|&lt;script&gt;alert(1)&lt;/script&gt;}}",
            "x.png",
        ),
        ("![<script>alert(1)</script>](attachment:x.png)", "x.png"),
        (
            "![<img src=x onerror=alert(1)>](attachment:nope.png)",
            "nope.png",
        ),
    ];
    for (markdown, name) in hostile {
        let wiki = files_wiki();
        let rendered = markup::render(markdown, "Team/Notes", &wiki);
        assert_safe(markdown, &rendered.html);
        assert!(
            !rendered.html.contains("<script"),
            "{markdown:?}: {}",
            rendered.html
        );
        assert_eq!(
            *wiki.file_queries.borrow(),
            [vec![file("Team/Notes", name)]],
            "{markdown:?}"
        );
        for tag in tags(&rendered.html) {
            for (attribute, value) in &tag.attributes {
                assert!(
                    !attribute.starts_with("on"),
                    "{markdown:?}: {}",
                    rendered.html
                );
                if attribute == "href" || attribute == "src" {
                    assert!(value.starts_with("/wiki/+file"), "{markdown:?}: {value}");
                }
            }
        }
    }
    let html = html("{{attachment:x.png|&lt;script&gt;alert(1)&lt;/script&gt;}}");
    assert!(
        html.contains(r#"alt="&lt;script&gt;alert(1)&lt;/script&gt;""#),
        "{html}"
    );
    // Raw HTML ends a run of text, so a transclusion with HTML in it is none: text, and the HTML sanitized.
    let markdown = "{{attachment:x.png|<script>alert(1)</script>}}";
    let html = crate::html(markdown);
    assert_safe(markdown, &html);
    assert_eq!(html, "<p>{{attachment:x.png|}}</p>\n");
}

#[test]
fn very_long_names_render_and_stay_bounded() {
    let name = "a".repeat(100_000) + ".png";
    for markdown in [
        format!("{{{{attachment:{name}}}}}"),
        format!("![x](attachment:{name})"),
        format!("[[attachment:{name}]]"),
    ] {
        let wiki = Wiki::with(&[]);
        let html = markup::render(&markdown, "Home", &wiki).html;
        assert!(html.contains("attachment missing"), "{markdown:.40}");
        assert_eq!(wiki.file_queries.borrow()[0][0].name, name);
        let options = markup::RenderOptions {
            limits: Some(markup::RenderLimits {
                max_output_bytes: 50_000,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            markup::render_with(&markdown, "Home", &wiki, &options),
            Err(markup::MarkupError::OutputTooLarge { limit: 50_000 })
        );
    }
}

#[test]
fn transclusions_count_against_the_event_bound() {
    let options = markup::RenderOptions {
        limits: Some(markup::RenderLimits {
            max_events: 1_000,
            ..Default::default()
        }),
        ..Default::default()
    };
    let page = |n: usize| {
        (0..n)
            .map(|i| format!("{{{{attachment:f{i}.pdf}}}} "))
            .collect::<String>()
    };
    let wiki = Wiki::with(&[]);
    assert!(markup::render_with(&page(300), "Home", &wiki, &options).is_ok());
    assert_eq!(
        markup::render_with(&page(400), "Home", &wiki, &options),
        Err(markup::MarkupError::TooManyEvents { limit: 1_000 })
    );
}

#[test]
fn files_are_asked_once_per_render_and_only_when_linked() {
    let wiki = files_wiki();
    let text = "[[Home]] {{attachment:x.png}} [a](attachment:x.png) [[attachment:Home/logo.svg]] ![b](attachment:x.png)";
    let first = markup::render(text, "Team/Notes", &wiki);
    assert_eq!(markup::render(text, "Team/Notes", &wiki), first);
    let asked = wiki.file_queries.borrow();
    assert_eq!(asked.len(), 2, "once per render");
    assert_eq!(
        asked[0],
        [file("Team/Notes", "x.png"), file("Home", "logo.svg")]
    );
    assert_eq!(wiki.queries.get(), 2, "pages asked once per render too");

    let wiki = files_wiki();
    markup::render("[[Home]] and [a](https://x.org/a.png)", "Team/Notes", &wiki);
    assert!(wiki.file_queries.borrow().is_empty());
}

#[test]
fn a_file_uploaded_since_changes_the_output() {
    let text = "{{attachment:new.png|New}}";
    let before = markup::render(text, "Home", &Wiki::with(&[])).html;
    assert!(before.contains("attachment missing"), "{before}");
    let after = markup::render(
        text,
        "Home",
        &Wiki::with(&[]).and_files(&[("Home", "new.png", None)]),
    )
    .html;
    assert!(
        after.contains(r#"<img src="/wiki/+file/Home/new.png" alt="New" loading="lazy">"#),
        "{after}"
    );
}

#[test]
fn every_image_loads_lazily() {
    for (markdown, expected) in [
        (
            "![x](https://e.org/x.png)",
            r#"<img src="https://e.org/x.png" alt="x" loading="lazy">"#,
        ),
        (
            "<img src=\"/a.png\" width=\"10\" height=\"100%\" loading=\"eager\">",
            r#"<img src="/a.png" width="10" loading="lazy">"#,
        ),
    ] {
        let html = html(markdown);
        assert!(html.contains(expected), "{markdown}: {html}");
    }
}

#[test]
fn the_wiki_forms_need_wiki_links_and_markdown_forms_do_not() {
    let wiki = files_wiki();
    let options = markup::RenderOptions::commonmark();
    let html = markup::render_with(
        "{{attachment:x.png}} [[attachment:x.png]] ![alt](attachment:x.png)",
        "Team/Notes",
        &wiki,
        &options,
    )
    .unwrap()
    .html;
    assert!(
        html.starts_with("<p>{{attachment:x.png}} [[attachment:x.png]] <img"),
        "{html}"
    );
    assert!(html.contains(IMG_X), "{html}");
    assert_eq!(
        markup::file_links("{{attachment:x.png}} [[attachment:y.png]]", "P", &options),
        []
    );
}

#[test]
fn files_inside_alt_text_are_text() {
    let html = html("![see {{attachment:x.png}}](https://e.org/i.png)");
    assert!(
        html.contains(
            r#"<img src="https://e.org/i.png" alt="see {{attachment:x.png}}" loading="lazy">"#
        ),
        "{html}"
    );
    let html = crate::html("![outer ![inner](attachment:x.png)](attachment:x.png)");
    assert_eq!(html.matches("<img").count(), 1, "{html}");
}

fn attachment_text() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("{{attachment:".to_owned()),
        Just("}}".to_owned()),
        Just("[[attachment:".to_owned()),
        Just("]]".to_owned()),
        Just("](attachment:".to_owned()),
        Just("![".to_owned()),
        Just("[".to_owned()),
        Just(")".to_owned()),
        Just("<attachment:".to_owned()),
        Just(">".to_owned()),
        Just("|".to_owned()),
        Just("/".to_owned()),
        Just("../".to_owned()),
        Just("%2F".to_owned()),
        Just("%".to_owned()),
        Just("x.png".to_owned()),
        Just("report.pdf".to_owned()),
        Just("A/B/c.png".to_owned()),
        Just("javascript:alert(1)".to_owned()),
        Just("\" onerror=\"alert(1)".to_owned()),
        Just("<script>alert(1)</script>".to_owned()),
        Just("`".to_owned()),
        Just("```\n".to_owned()),
        Just("\n".to_owned()),
        Just("*".to_owned()),
        "[ -~]{0,6}",
        any::<String>(),
    ];
    prop::collection::vec(fragment, 0..30).prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn attachment_forms_never_panic_or_run_script(text in attachment_text()) {
        let html = html(&text);
        prop_assert!(!html.to_ascii_lowercase().contains("<script"));
        assert_safe(&text, &html);
    }

    #[test]
    fn file_links_are_what_the_render_asks_about(text in attachment_text(), page in "[A-Za-z]{1,5}(/[A-Za-z]{1,5}){0,2}") {
        let wiki = files_wiki();
        markup::render(&text, &page, &wiki);
        let files = markup::file_links(&text, &page, &markup::RenderOptions::default());
        let asked = wiki.file_queries.borrow();
        prop_assert!(asked.len() <= 1);
        prop_assert_eq!(asked.first().cloned().unwrap_or_default(), files);
    }
}
