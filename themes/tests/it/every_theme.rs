//! Every page template in every built-in theme, light and dark: it renders from the sample
//! context, keeps its landmarks and labels, carries no inline script or style, and uses the
//! theme's own stylesheet. Page templates belong to features and live in `default`; a theme
//! that lacks one borrows it, so a template added there is checked in every theme here.

use themes::{Compile, ThemeError, Themes};

use crate::support::{
    content_hash, context, describe, in_theme, key_paths, page_templates, without,
};

const MODES: [&str; 2] = ["light", "dark"];

fn themes() -> Themes {
    Themes::new(None, content_hash, Compile::AtLoad).expect("built-in themes load")
}

#[test]
fn there_are_three_builtin_themes() {
    assert_eq!(
        Themes::builtin_themes(),
        ["default", "classic", "minimal"],
        "default first, then by name"
    );
}

#[test]
fn every_template_renders_in_every_theme_and_mode() {
    let themes = themes();
    for theme in Themes::builtin_themes() {
        for mode in MODES {
            for template in page_templates() {
                let what = format!("{template} in {theme}/{mode}");
                let html = themes
                    .render(template, in_theme(context(template), theme, mode))
                    .unwrap_or_else(|e| panic!("{what}: {e:#?}"));
                assert!(html.starts_with("<!DOCTYPE html>"), "{what}");
                assert!(
                    html.contains(&format!(
                        r#"<html lang="en" class="theme-{theme}" data-mode="{mode}">"#
                    )),
                    "{what}"
                );
                assert!(
                    html.contains(&format!(r#"<meta name="color-scheme" content="{mode}">"#)),
                    "{what}"
                );
                for asset in ["quire.css", "theme.css", "quire.js"] {
                    let url = themes.asset_url(theme, asset).unwrap();
                    assert!(
                        html.contains(&format!(r#""/wiki/+static/{url}""#)),
                        "{what} does not link {url}"
                    );
                }
                for landmark in [
                    "<header",
                    "<main id=\"content\"",
                    "<footer",
                    r#"<nav class="site-nav" aria-label="Site">"#,
                    r#"role="search""#,
                    r#"<label for="site-search-q""#,
                    r##"class="skip-link" href="#content""##,
                ] {
                    assert!(html.contains(landmark), "{what} lacks {landmark}");
                }
                for forbidden in ["<script>", " style=", "<style", " onclick=", "javascript:"] {
                    assert!(!html.contains(forbidden), "{what} contains {forbidden}");
                }
                assert_eq!(html.matches("<main").count(), 1, "{what}");
                assert_eq!(
                    html.matches("<h1 class=\"page-title\"").count(),
                    1,
                    "{what}: one title"
                );
            }
        }
    }
}

#[test]
fn auto_mode_lets_the_system_decide() {
    let html = themes()
        .render(
            "page.html",
            in_theme(context("page.html"), "classic", "auto"),
        )
        .unwrap();
    assert!(html.contains(r#"data-mode="auto""#), "{html}");
    assert!(
        html.contains(r#"<meta name="color-scheme" content="light dark">"#),
        "{html}"
    );
    assert!(html.contains(r#"aria-pressed="false""#), "{html}");
}

#[test]
fn the_three_themes_differ_in_structure() {
    let themes = themes();
    let html = |theme| {
        themes
            .render("page.html", in_theme(context("page.html"), theme, "light"))
            .unwrap()
    };
    let (default, classic, minimal) = (html("default"), html("classic"), html("minimal"));
    // classic: a sidebar with the page's actions; minimal: the actions after the text.
    assert!(classic.contains(r#"<aside class="sidebar">"#), "{classic}");
    assert!(!default.contains("<aside"), "{default}");
    let actions = |html: &str| html.find(r#"<nav class="page-actions""#).unwrap();
    let main = |html: &str| html.find("<main").unwrap();
    assert!(actions(&default) < main(&default));
    assert!(actions(&classic) < main(&classic));
    assert!(actions(&minimal) > main(&minimal), "{minimal}");
}

#[test]
fn shortcuts_and_suggestions_are_declared_for_the_script() {
    let html = themes()
        .render(
            "page.html",
            in_theme(context("page.html"), "minimal", "dark"),
        )
        .unwrap();
    assert!(html.contains(r#"aria-keyshortcuts="e""#), "{html}");
    assert!(html.contains(r#"aria-keyshortcuts="/""#), "{html}");
    assert!(
        html.contains(r#"data-suggest-url="/wiki/+suggest""#),
        "{html}"
    );
    assert!(html.contains(r#"<script src="/wiki/+static/minimal/quire."#));
    assert!(html.contains(r#".js" defer></script>"#), "{html}");
}

#[test]
fn the_preview_banner_and_theme_picker() {
    let themes = themes();
    let mut ctx = in_theme(context("search.html"), "classic", "light");
    let html = themes.render("search.html", &ctx).unwrap();
    assert!(
        html.contains("Previewing the <strong>classic</strong> theme"),
        "{html}"
    );
    assert!(
        html.contains(r#"<a href="/wiki/Team/Notes/2026">Back to your theme</a>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<a href="/wiki/Team/Notes/2026?theme=classic" rel="nofollow" aria-current="true">classic</a>"#),
        "{html}"
    );
    ctx["theme"]["previewing"] = false.into();
    let html = themes.render("search.html", &ctx).unwrap();
    assert!(!html.contains("Previewing"), "{html}");
}

#[test]
fn unknown_theme_in_the_context_renders_in_default() {
    let html = themes()
        .render("page.html", in_theme(context("page.html"), "nope", "light"))
        .unwrap();
    assert!(html.contains("/+static/default/quire."), "{html}");
}

/// The strictness promise holds in every theme: whatever key the app forgets, the page fails.
#[test]
fn removing_any_key_is_an_error_in_every_theme() {
    let themes = themes();
    for theme in Themes::builtin_themes() {
        for template in page_templates() {
            let full = in_theme(context(template), theme, "dark");
            for path in key_paths(&full) {
                let result = themes.render(template, without(&full, &path));
                assert!(
                    matches!(result, Err(ThemeError::Render { .. })),
                    "{template} in {theme} rendered without `{}`",
                    describe(&path)
                );
            }
        }
    }
}

#[test]
fn dates_show_absolute_and_relative_time() {
    let html = themes()
        .render(
            "search.html",
            in_theme(context("search.html"), "classic", "light"),
        )
        .unwrap();
    let at = html.find("<time datetime=\"").expect("a <time>");
    let rest = &html[at..];
    let end = rest.find("</span>").expect("the relative age");
    let shown = &rest[..end];
    assert!(
        shown.contains(" UTC</time> <span class=\"ago\">("),
        "{shown}"
    );
    assert!(
        shown.ends_with(" ago)") || shown.ends_with("just now)"),
        "{shown}"
    );
}

#[test]
fn a_page_that_opens_with_its_own_heading_has_one_title() {
    for theme in ["default", "classic", "minimal"] {
        let mut context = in_theme(context("page.html"), theme, "light");
        context["content_html"] =
            serde_json::Value::from("<h1 id=\"welcome\">Welcome</h1>\n<p>Hello.</p>");
        let html = themes().render("page.html", context).unwrap();
        assert_eq!(html.matches("<h1").count(), 1, "{theme}: {html}");
        assert!(html.contains("<h1 id=\"welcome\">Welcome</h1>"), "{html}");
    }
}

#[test]
fn a_wiki_called_quire_does_not_say_so_twice_in_its_footer() {
    for theme in ["default", "classic", "minimal"] {
        let mut context = in_theme(context("page.html"), theme, "light");
        context["site_name"] = serde_json::Value::from("quire");
        let html = themes().render("page.html", context).unwrap();
        assert!(
            !html.contains("quire · powered by quire"),
            "{theme}: {html}"
        );
        assert!(html.contains("powered by quire"), "{theme}");
    }
}
