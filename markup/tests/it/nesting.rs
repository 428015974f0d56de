//! Hostile nesting and size: rendering finishes, does not overflow the stack, and stays bounded.

use crate::html as render;

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn ten_thousand_nested_quotes() {
    let html = render(&(">".repeat(10_000) + " deep [[Home]]"));
    assert_eq!(count(&html, "<blockquote>"), markup::MAX_MARKDOWN_NESTING);
    assert_eq!(count(&html, "</blockquote>"), markup::MAX_MARKDOWN_NESTING);
    assert!(
        html.contains(r#"deep <a class="wikilink" href="/wiki/Home">Home</a>"#),
        "{}",
        &html[html.len() - 200..]
    );
}

#[test]
fn ten_thousand_nested_lists() {
    let html = render(&("- ".repeat(10_000) + "deep"));
    assert!(count(&html, "<ul>") <= markup::MAX_MARKDOWN_NESTING);
    assert!(html.contains("deep"));
    // Indented lists grow quadratically in size: 1 000 levels are 1.5 MB.
    let out = render(
        &(0..1_000)
            .map(|n| format!("{}1. x\n", "   ".repeat(n)))
            .collect::<String>(),
    );
    assert!(count(&out, "<ol>") <= markup::MAX_MARKDOWN_NESTING);
}

#[test]
fn ten_thousand_nested_inlines() {
    for markdown in [
        "*a ".repeat(10_000) + &" b*".repeat(10_000),
        "[".repeat(10_000) + "x" + &"](y)".repeat(10_000),
        "[[".repeat(10_000) + "x" + &"]]".repeat(10_000),
        "![".repeat(10_000) + &"](y)".repeat(10_000),
        "`".repeat(10_000) + "x",
        "<".repeat(10_000) + &">".repeat(10_000),
    ] {
        let html = render(&markdown);
        assert!(!html.is_empty());
    }
}

#[test]
fn deep_raw_html_is_shown_as_text() {
    let html = render(&("<div>".repeat(20_000) + "\n\n*still rendered*"));
    assert!(!html.contains("<div>"), "raw HTML fell back to text");
    assert!(html.contains("&lt;div&gt;"));
    assert!(html.contains("<em>still rendered</em>"));
    for attack in [
        "<b><div></b>",
        "<div><table><td></div>",
        "<ul><li><ul>",
        "<table><tr><td>",
    ] {
        let out = render(&attack.repeat(2_000));
        assert!(out.contains("&lt;"), "{attack} fell back to text");
    }
}

#[test]
fn shallow_raw_html_stays_html() {
    let html = render(&("<div>".repeat(50) + "x" + &"</div>".repeat(50)));
    assert_eq!(count(&html, "<div>"), 50);
}

#[test]
fn deep_markdown_with_raw_html_inside() {
    let html = render(&(">".repeat(10_000) + " " + &"<div>".repeat(10_000)));
    assert!(count(&html, "<blockquote>") <= markup::MAX_MARKDOWN_NESTING);
    assert!(!html.contains("<div>"));
}

#[test]
fn huge_table() {
    let header = format!("|{}\n|{}\n", " h |".repeat(20), "---|".repeat(20));
    let rows = format!("|{}\n", " [[Home]] *x* |".repeat(20)).repeat(1_000);
    let html = render(&(header + &rows));
    assert_eq!(count(&html, "<tr>"), 1_001);
    assert_eq!(count(&html, "<td>"), 20_000);
}

#[test]
fn multi_megabyte_page() {
    let paragraph =
        "Some *text* with a [[Home]] link, a [[Missing Page]], `code` and https://e.org/x.\n\n";
    let markdown = paragraph.repeat(2 * 1024 * 1024 / paragraph.len());
    let wiki = crate::Wiki::with(&["Home"]);
    let rendered = markup::render(&markdown, "Home", &wiki);
    assert_eq!(rendered.links, ["Home", "Missing Page"]);
    assert_eq!(
        count(&rendered.html, "<p>"),
        markdown.len() / paragraph.len()
    );
    assert_eq!(wiki.queries.get(), 1);
}

#[test]
fn five_megabyte_page_renders_or_is_refused_by_the_configured_limit() {
    let paragraph =
        "## Part\n\nSome *text* with [[Home]], CamelCase, `code` and https://e.org/x.\n\n";
    let markdown = paragraph.repeat(5 * 1024 * 1024 / paragraph.len() + 1);
    assert!(markdown.len() > 5 << 20);
    let wiki = crate::Wiki::with(&["Home"]);
    let options = markup::RenderOptions {
        max_input_bytes: Some(1 << 20),
        ..markup::RenderOptions::default()
    };
    assert_eq!(
        markup::render_with(&markdown, "Home", &wiki, &options),
        Err(markup::MarkupError::TooLarge {
            size: markdown.len(),
            limit: 1 << 20
        })
    );
    assert_eq!(wiki.queries.get(), 0, "refused before any work");
    let error = markup::MarkupError::TooLarge { size: 6, limit: 5 };
    assert_eq!(
        error.to_string(),
        "page is 6 bytes, more than the limit of 5 bytes"
    );

    let unlimited = markup::RenderOptions {
        camel_case: true,
        ..markup::RenderOptions::default()
    };
    let rendered = markup::render_with(&markdown, "Home", &wiki, &unlimited).unwrap();
    let parts = markdown.len() / paragraph.len();
    assert_eq!(count(&rendered.html, "<p>"), parts);
    assert!(rendered
        .html
        .contains(&format!(r#"<h2 id="part-{}">"#, parts - 1)));
    assert_eq!(rendered.links, ["Home", "CamelCase"]);
}

#[test]
fn hundred_thousand_cell_table() {
    let columns = 100;
    let header = format!("|{}\n|{}\n", " h |".repeat(columns), "---|".repeat(columns));
    let rows = format!("|{}\n", " x |".repeat(columns)).repeat(1_000);
    let html = render(&(header + &rows));
    assert_eq!(count(&html, "<td>"), 100_000);
}

#[test]
fn deep_nesting_with_the_dialect_s_macros_and_code() {
    let markdown = ">".repeat(10_000)
        + " # Deep heading\n\n[[_TOC_]]\n\n"
        + &"- ".repeat(10_000)
        + "```rust\nfn x() {}\n```\n";
    let html = render(&markdown);
    assert!(count(&html, "<blockquote>") <= markup::MAX_MARKDOWN_NESTING);
    assert!(html.contains("Deep heading"), "{}", &html[..200]);
}

#[test]
fn large_and_many_code_blocks_stay_plain_past_the_highlighting_budget() {
    let huge = format!("```rust\n{}```\n", "let x = (((1)));\n".repeat(20_000));
    let html = render(&huge);
    assert!(
        !html.contains("hl-") && html.contains("let x = (((1)));"),
        "plain"
    );
    let many = "```rust\nfn f() { g(); }\n```\n\n".repeat(20_000);
    let html = render(&many);
    let highlighted = count(&html, "hl-source");
    assert!(
        highlighted > 1_000 && highlighted < 20_000,
        "{highlighted} highlighted"
    );
    assert_eq!(count(&html, "<pre>"), 20_000);
    let deep = format!(
        "```json\n{}1{}\n```\n",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let html = render(&deep);
    assert!(html.contains(&"[".repeat(5_000)));
    assert!(count(&html, "<span") < 100, "too deep to highlight");
}
