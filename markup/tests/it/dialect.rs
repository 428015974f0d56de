//! The wiki dialect's options: table of contents, interwiki links, CamelCase links.

use std::collections::BTreeMap;

use markup::RenderOptions;

use crate::{assert_safe, html, Wiki};

fn render(markdown: &str, options: &RenderOptions) -> markup::Rendered {
    let wiki = Wiki::with(&["FrontPage", "Home"]);
    markup::render_with(markdown, "Team/Notes", &wiki, options).expect("no size limit")
}

#[test]
fn a_toc_line_lists_the_headings_nested_by_level() {
    let page = "# Title\n\n[[_TOC_]]\n\n## Install\n\n### On Linux\n\n#### Deep\n\n### On Mac\n\n## Install\n\n## Ünïcode & Co\n";
    let html = html(page);
    let toc = concat!(
        r##"<nav class="toc"><ul><li><a href="#title">Title</a><ul>"##,
        r##"<li><a href="#install">Install</a><ul><li><a href="#on-linux">On Linux</a><ul>"##,
        r##"<li><a href="#deep">Deep</a></li></ul></li><li><a href="#on-mac">On Mac</a></li></ul></li>"##,
        r##"<li><a href="#install-1">Install</a></li>"##,
        r##"<li><a href="#%C3%BCn%C3%AFcode-co">Ünïcode &amp; Co</a></li></ul></li></ul></nav>"##,
    );
    assert!(html.contains(toc), "{html}");
    for id in ["title", "install", "on-linux", "install-1", "ünïcode-co"] {
        assert!(html.contains(&format!(r#"id="{id}""#)), "{id} in {html}");
    }
    assert!(!html.contains("_TOC_"));
    assert!(
        markup::render(page, "P", &Wiki::with(&[])).links.is_empty(),
        "the macro is no page"
    );
}

#[test]
fn toc_levels_may_skip_and_start_deep() {
    let html = html("[[_TOC_]]\n\n### c\n\n## b\n\n#### d\n\n### e\n");
    assert!(
        html.contains(concat!(
            r##"<nav class="toc"><ul><li><a href="#c">c</a></li><li><a href="#b">b</a><ul>"##,
            r##"<li><a href="#d">d</a></li><li><a href="#e">e</a></li></ul></li></ul></nav>"##
        )),
        "{html}"
    );
}

#[test]
fn toc_elsewhere_or_without_ids_is_text() {
    assert!(html("See [[_TOC_]] here\n\n# A").contains("See [[_TOC_]] here"));
    assert!(!html("[[_TOC_]]").contains("<nav"), "no headings, no list");
    assert!(html("```\n[[_TOC_]]\n```").contains("[[_TOC_]]"));
    let options = RenderOptions {
        heading_ids: false,
        ..RenderOptions::default()
    };
    let rendered = render("[[_TOC_]]\n\n# A", &options);
    assert!(
        rendered.html.contains("[[_TOC_]]") && !rendered.html.contains("id="),
        "{}",
        rendered.html
    );
}

fn interwiki() -> RenderOptions {
    RenderOptions {
        interwiki: BTreeMap::from([(
            "WikiPedia".to_owned(),
            "https://en.wikipedia.org/wiki/$PAGE".to_owned(),
        )]),
        ..RenderOptions::default()
    }
}

#[test]
fn interwiki_links_go_to_the_other_site() {
    let rendered = render(
        "[[WikiPedia:Rust (language)]], [[WikiPedia:C++|C plus plus]], [[WikiPedia:\"><script>|x]], [[Other:Page]]",
        &interwiki(),
    );
    let html = &rendered.html;
    for expected in [
        r#"<a class="interwiki" href="https://en.wikipedia.org/wiki/Rust%20%28language%29" rel="nofollow ugc noopener">WikiPedia:Rust (language)</a>"#,
        r#"<a class="interwiki" href="https://en.wikipedia.org/wiki/C%2B%2B" rel="nofollow ugc noopener">C plus plus</a>"#,
        r#"href="https://en.wikipedia.org/wiki/%22%3E%3Cscript%3E""#,
        r#"<a class="wikilink missing" href="/wiki/Other:Page?action=edit""#,
    ] {
        assert!(html.contains(expected), "{expected} in {html}");
    }
    assert_safe("interwiki", html);
    assert_eq!(
        rendered.links,
        ["Other:Page"],
        "interwiki targets are not pages"
    );
    let plain = render("[[WikiPedia:Rust]]", &RenderOptions::default());
    assert!(
        plain.html.contains("wikilink missing"),
        "no prefixes configured: a page"
    );
}

#[test]
fn camel_case_links_only_when_asked_and_only_in_text() {
    let page = "FrontPage and NewPage, not `CodePage`, [ThisLink](/x), ![AltText](/i.png), https://x.org/SomePath or\n\n    IndentedCode\n";
    let off = render(page, &RenderOptions::default());
    assert!(
        !off.html.contains("wikilink"),
        "off by default: {}",
        off.html
    );
    assert!(off.links.is_empty());
    let on = RenderOptions {
        camel_case: true,
        ..RenderOptions::default()
    };
    let rendered = render(page, &on);
    let html = &rendered.html;
    assert!(
        html.contains(r#"<a class="wikilink" href="/wiki/FrontPage">FrontPage</a>"#),
        "{html}"
    );
    assert!(html.contains(r#"<a class="wikilink missing" href="/wiki/NewPage?action=edit" title="Create this page" rel="nofollow">NewPage</a>"#), "{html}");
    assert_eq!(rendered.links, ["FrontPage", "NewPage"]);
    assert_eq!(
        markup::wiki_links_with(page, "Team/Notes", &on),
        rendered.links
    );
    for unlinked in [
        "CodePage",
        "ThisLink",
        "AltText",
        "SomePath",
        "IndentedCode",
    ] {
        assert!(
            !html.contains(&format!("/wiki/{unlinked}")),
            "{unlinked} in {html}"
        );
    }
    let no_wiki = RenderOptions {
        camel_case: true,
        wiki_links: false,
        ..RenderOptions::default()
    };
    assert!(!render(page, &no_wiki).html.contains("wikilink"));
}

#[test]
fn camel_case_words_follow_existence() {
    let on = RenderOptions {
        camel_case: true,
        ..RenderOptions::default()
    };
    let text = "Read LaterPage *now* and **AgainPage**.";
    let before = markup::render_with(text, "P", &Wiki::with(&[]), &on).unwrap();
    let after =
        markup::render_with(text, "P", &Wiki::with(&["LaterPage", "AgainPage"]), &on).unwrap();
    assert_eq!(
        before.html.matches("wikilink missing").count(),
        2,
        "{}",
        before.html
    );
    assert_eq!(
        after.html.matches(r#"class="wikilink""#).count(),
        2,
        "{}",
        after.html
    );
}
