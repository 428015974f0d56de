use serde_json::json;
use themes::{Compile, ThemeError, Themes};

use crate::support::{content_hash, context, describe, key_paths, page_templates, without};

fn themes() -> Themes {
    Themes::new(None, content_hash, Compile::AtLoad).expect("built-in themes load")
}

fn render(template: &str, ctx: &serde_json::Value) -> String {
    themes()
        .render(template, ctx)
        .unwrap_or_else(|e| panic!("{template}: {e:#?}"))
}

#[test]
fn every_template_has_a_sample_and_renders_it() {
    let themes = themes();
    let templates = page_templates();
    for expected in [
        "page.html",
        "edit.html",
        "history.html",
        "diff.html",
        "recent.html",
    ] {
        assert!(
            templates.contains(&expected),
            "{expected} missing from {templates:?}"
        );
    }
    for expected in ["missing.html", "error.html"] {
        assert!(
            templates.contains(&expected),
            "{expected} missing from {templates:?}"
        );
    }
    for template in templates {
        let html = themes
            .render(template, context(template))
            .unwrap_or_else(|e| panic!("{template}: {e:#?}"));
        assert!(html.starts_with("<!DOCTYPE html>"), "{template}: {html}");
        assert!(html.contains(r#"<html lang="en" "#), "{template}");
        assert!(html.contains(r#"<meta name="viewport""#), "{template}");
        assert!(
            html.contains(r#"href="/wiki/+static/default/quire."#),
            "{template}"
        );
        for landmark in ["<header", "<nav", "<main", "<footer"] {
            assert!(html.contains(landmark), "{template} lacks {landmark}");
        }
        assert!(html.contains("Team Wiki"), "{template}");
    }
}

/// The strictness promise: whatever key the app forgets, anywhere in the context, the
/// template fails instead of rendering a blank.
#[test]
fn removing_any_key_from_a_sample_is_an_error() {
    let themes = themes();
    for template in page_templates() {
        let full = context(template);
        for path in key_paths(&full) {
            let result = themes.render(template, without(&full, &path));
            assert!(
                matches!(result, Err(ThemeError::Render { .. })),
                "{template} rendered without `{}`",
                describe(&path)
            );
        }
    }
}

#[test]
fn templates_use_no_inline_scripts_or_styles() {
    let themes = themes();
    for template in page_templates() {
        let html = themes.render(template, context(template)).unwrap();
        for forbidden in [" style=", "<style", " onclick=", "javascript:"] {
            assert!(!html.contains(forbidden), "{template} contains {forbidden}");
        }
        // Scripts only by URL, so a CSP of script-src 'self' allows them.
        for (at, _) in html.match_indices("<script") {
            assert!(
                html[at..].starts_with("<script src=\"/wiki/+static/"),
                "{template}"
            );
        }
    }
}

#[test]
fn values_are_escaped_but_content_html_is_not() {
    let mut ctx = context("page.html");
    ctx["page"]["name"] = json!("<script>alert(1)</script>");
    ctx["revision"]["comment"] = json!("\"quoted\" & <b>bold</b>");
    ctx["content_html"] = json!("<p class=\"x\">Hello <em>world</em></p>");
    let html = render("page.html", &ctx);
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;"),
        "{html}"
    );
    assert!(
        html.contains("<p class=\"x\">Hello <em>world</em></p>"),
        "{html}"
    );
}

#[test]
fn urls_in_attributes_are_escaped() {
    let mut ctx = context("missing.html");
    ctx["create_url"] = json!("/wiki/X?a=1&b=\"2\"");
    let html = render("missing.html", &ctx);
    assert!(
        html.contains(r#"href="/wiki/X?a=1&amp;b=&quot;2&quot;""#),
        "{html}"
    );
}

#[test]
fn base_layout_shows_breadcrumbs_and_page_actions() {
    let html = render("page.html", &context("page.html"));
    assert!(html.contains(r#"<a href="/wiki/Team">Team</a>"#), "{html}");
    assert!(
        html.contains(r#"<a href="/wiki/Team/Notes">Notes</a>"#),
        "{html}"
    );
    assert!(html.contains(r#"aria-current="page">2026</a>"#), "{html}");
    for action in ["View", "Edit", "History", "Raw"] {
        assert!(html.contains(&format!(">{action}</a>")), "{action}: {html}");
    }
    assert!(
        html.contains(r#"href="/wiki/Team/Notes/2026?action=raw""#),
        "{html}"
    );
}

#[test]
fn no_page_means_no_page_actions() {
    let html = render("error.html", &context("error.html"));
    assert!(!html.contains("Breadcrumbs"), "{html}");
    assert!(!html.contains(">Edit</a>"), "{html}");
    assert!(html.contains("404"), "{html}");
    assert!(html.contains("There is nothing at this address."), "{html}");
}

#[test]
fn old_revision_links_to_the_current_one() {
    let html = render("page.html", &context("page.html"));
    assert!(html.contains("an old version of this page"), "{html}");
    assert!(html.contains("Revision 3 of 5"), "{html}");
    assert!(
        html.contains(r#"<time datetime="2026-11-25T14:03:09Z">2026-11-25 14:03 UTC</time>"#),
        "{html}"
    );

    let mut ctx = context("page.html");
    ctx["revision"]["is_current"] = json!(true);
    let html = render("page.html", &ctx);
    assert!(!html.contains("an old version"), "{html}");
}

#[test]
fn edit_form_has_labelled_fields_and_both_buttons() {
    let html = render("edit.html", &context("edit.html"));
    assert!(
        html.contains(
            r#"<form class="edit-form" method="post" action="/wiki/Team/Notes/2026?action=edit" data-upload-url="/wiki/+files/Team/Notes/2026" data-draft-url="/wiki/+draft/Team/Notes/2026" data-fresh>"#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"<input type="hidden" name="base_rev" value="5">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<label for="text">"#) && html.contains(r#"id="text" name="text""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<label for="comment">"#)
            && html.contains(r#"id="comment" name="comment" value="Fix a typo""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<button type="submit" name="action" value="save""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<button type="submit" name="action" value="preview""#),
        "{html}"
    );
    // Text is inside the textarea, after the newline the HTML parser drops.
    assert!(
        html.contains(">\n= Plans =\nSee [[Roadmap]].\n</textarea>"),
        "{html}"
    );
    assert!(
        html.contains("Someone saved this page while you were editing."),
        "{html}"
    );
    assert!(
        html.contains("readonly>\n= Plans =\nSee [[Roadmap]] and [[Budget]].\n</textarea>"),
        "{html}"
    );
    assert!(
        html.contains("<h1>Plans</h1>"),
        "preview is not escaped: {html}"
    );
}

#[test]
fn new_page_edit_form_omits_what_is_null() {
    let mut ctx = context("edit.html");
    ctx["base_rev"] = json!(null);
    ctx["preview_html"] = json!(null);
    ctx["notice"] = json!(null);
    ctx["conflict_text"] = json!(null);
    ctx["own_text"] = json!(null);
    ctx["their_changes"] = json!(null);
    ctx["draft"] = json!(null);
    ctx["draft_url"] = json!(null);
    ctx["fresh"] = json!(false);
    ctx["is_new"] = json!(true);
    ctx["text"] = json!("");
    let html = render("edit.html", &ctx);
    assert!(!html.contains("base_rev"), "{html}");
    assert!(!html.contains("Preview <span"), "{html}");
    assert!(!html.contains("readonly"), "{html}");
    assert!(!html.contains(r#"role="alert""#), "{html}");
    assert!(html.contains("Create Team/Notes/2026"), "{html}");
    assert!(!html.contains("draft"), "{html}");
}

#[test]
fn edit_form_offers_a_draft_with_its_diff_and_two_plain_forms() {
    let html = render("edit.html", &context("edit.html"));
    assert!(
        html.contains(r#"<section class="draft-offer" aria-labelledby="draft-heading">"#),
        "{html}"
    );
    assert!(html.contains("while the page was at revision 4"), "{html}");
    assert!(
        html.contains(r#"aria-label="What the draft changes""#)
            && html.contains("<ins> once the draft is in.</ins>"),
        "{html}"
    );
    // Restoring is a GET of the editor (its action's query kept as fields), discarding a POST with
    // the session's token: both work without the script.
    assert!(
        html.contains(
            "<form method=\"get\" action=\"/wiki/Team/Notes/2026\">\n      <input type=\"hidden\" name=\"action\" value=\"edit\">\n      <input type=\"hidden\" name=\"draft\" value=\"restore\">"
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"<form method="post" action="/wiki/+draft/Team/Notes/2026">"#)
            && html.contains(r#"<input type="hidden" name="action" value="discard">"#),
        "{html}"
    );
}

#[test]
fn history_lists_revisions_with_a_compare_form() {
    let html = render("history.html", &context("history.html"));
    // A GET form drops its action's query, so the query travels as hidden fields.
    assert!(
        html.contains(r#"method="get" action="/wiki/Team/Notes/2026">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<input type="hidden" name="action" value="diff">"#),
        "{html}"
    );
    assert!(
        html.contains(r#"name="from" value="1""#) && html.contains(r#"name="to" value="2""#),
        "{html}"
    );
    assert!(
        html.contains(r#"href="/wiki/Team/Notes/2026?action=diff&amp;from=1&amp;to=2""#),
        "{html}"
    );
    assert!(
        html.contains("2.0 KiB") && html.contains("512 bytes"),
        "{html}"
    );
    assert!(html.contains("Compare selected revisions"), "{html}");
    // The first revision has no diff to a previous one.
    assert_eq!(html.matches(">diff<").count(), 1, "{html}");
}

#[test]
fn diff_marks_lines_with_signs_not_only_colour() {
    let html = render("diff.html", &context("diff.html"));
    assert!(html.contains(r#"<tr class="diff-added">"#), "{html}");
    assert!(html.contains(r#"<td class="sign">+</td>"#), "{html}");
    assert!(html.contains(r#"<td class="sign">-</td>"#), "{html}");
    // Inside a changed line, only what changed is marked.
    assert!(html.contains("See [[Roadmap]]<del>.</del>"), "{html}");
    assert!(
        html.contains("See [[Roadmap]]<ins> and [[Budget]].</ins>"),
        "{html}"
    );
    assert!(html.contains("@@ -1,2 +1,2 @@"), "{html}");

    let mut ctx = context("diff.html");
    ctx["identical"] = json!(true);
    ctx["rows"] = json!([]);
    let html = render("diff.html", &ctx);
    assert!(html.contains("The two revisions are identical."), "{html}");
    assert!(!html.contains("<table"), "{html}");
}

#[test]
fn recent_changes_are_grouped_by_day_in_the_given_order() {
    let html = render("recent.html", &context("recent.html"));
    let first_day = html.find(">2026-11-25</time>").expect("first day heading");
    let second_day = html.find(">2026-11-24</time>").expect("second day heading");
    assert!(first_day < second_day);
    assert_eq!(html.matches("<section class=\"day\"").count(), 2, "{html}");
    assert!(html.contains(">+1536<") && html.contains(">-20<"), "{html}");
    assert!(html.contains(r#"<span class="badge">new</span>"#), "{html}");

    let mut ctx = context("recent.html");
    ctx["changes"] = json!([]);
    assert!(render("recent.html", &ctx).contains("Nothing has changed yet."));
}

#[test]
fn missing_page_offers_to_create_it() {
    let html = render("missing.html", &context("missing.html"));
    assert!(html.contains("This page does not exist yet."), "{html}");
    assert!(
        html.contains(
            r#"href="/wiki/Team/Notes/2026?action=edit" rel="nofollow">Create this page</a>"#
        ),
        "{html}"
    );
}

#[test]
fn unknown_template_is_its_own_error() {
    let err = themes().render("nope.html", json!({})).unwrap_err();
    assert!(
        matches!(err, ThemeError::UnknownTemplate { ref template } if template == "nope.html"),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "no template named `nope.html`");
}

#[test]
fn render_errors_name_the_template() {
    let err = themes().render("error.html", json!({})).unwrap_err();
    assert_eq!(err.to_string(), "cannot render template `error.html`");
    let source = std::error::Error::source(&err).expect("engine error as source");
    assert!(source.to_string().contains("undefined"), "{source}");
}

#[test]
fn every_template_escapes_names_from_the_app() {
    let themes = themes();
    for template in page_templates() {
        let mut ctx = context(template);
        ctx["site_name"] = json!("<script>site</script>");
        ctx["title"] = json!("<script>title</script>");
        if !ctx["page"].is_null() {
            ctx["page"]["name"] = json!("<script>name</script>");
            ctx["page"]["parents"][0]["name"] = json!("<script>parent</script>");
        }
        let html = themes.render(template, &ctx).unwrap();
        assert!(!html.contains("<script>"), "{template}: {html}");
        assert!(
            html.contains("&lt;script&gt;site&lt;/script&gt;"),
            "{template}"
        );
    }
}

#[test]
fn the_crate_doc_lists_every_page_template() {
    let lib = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs"))
        .expect("the crate's lib.rs");
    // The table's rows: "//! | `name.html` | what it draws |".
    let mut listed: Vec<&str> = lib
        .lines()
        .filter_map(|line| line.strip_prefix("//! | `"))
        .filter_map(|row| row.split_once('`').map(|(name, _)| name))
        .filter(|name| name.ends_with(".html"))
        .collect();
    let mut templates = page_templates();
    listed.sort_unstable();
    templates.sort_unstable();
    assert_eq!(listed, templates, "the template table in themes/src/lib.rs");
}
