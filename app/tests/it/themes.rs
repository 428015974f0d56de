//! Theme overrides through the built binary: a template dropped into `DATA/themes/` replaces
//! the built-in one without a rebuild (read at start), and `quire serve --dev` picks up
//! changes, additions and new themes without a restart.

use std::path::Path;
use std::time::Duration;

use gateway::testing::TestRequest;
use tempfile::TempDir;

use crate::drivers::Serve;
use crate::suite::http1_send;

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A page template that shows `marker` and the page's name, inside the theme's layout.
fn page_template(marker: &str) -> String {
    format!(
        r#"{{% extends "base.html" %}}{{% set action = "view" %}}{{% block main %}}<h1 class="page-title">{marker} {{{{ page.name }}}}</h1>{{% endblock %}}"#
    )
}

#[test]
fn a_dropped_in_template_overrides_the_built_in_one_without_a_rebuild() {
    let data = TempDir::new().unwrap();
    write(
        data.path(),
        "themes/default/templates/page.html",
        &page_template("Dropped in:"),
    );
    let serve = Serve::start(data.path(), &[]);
    let html = serve.page("/FrontPage");
    assert!(html.contains("Dropped in: FrontPage"), "{html}");
    // The layout around it is still the built-in one, in every theme.
    assert!(html.contains(r#"class="theme-default""#), "{html}");
    let classic = serve.page("/FrontPage?theme=classic");
    assert!(classic.contains("Dropped in: FrontPage"), "{classic}");
    assert!(classic.contains(r#"<aside class="sidebar">"#), "{classic}");

    // Without --dev, files are read at start: an edit waits for the restart.
    write(
        data.path(),
        "themes/default/templates/page.html",
        &page_template("Edited:"),
    );
    assert!(serve.page("/FrontPage").contains("Dropped in: FrontPage"));
    drop(serve);
    let restarted = Serve::start(data.path(), &[]);
    assert!(restarted.page("/FrontPage").contains("Edited: FrontPage"));
}

#[test]
fn serve_dev_reloads_templates_assets_and_new_themes() {
    let data = TempDir::new().unwrap();
    // No themes/ folder yet: --dev notices when it appears.
    let serve = Serve::start(data.path(), &["--dev"]);
    let built_in = serve.page("/FrontPage");
    assert!(built_in.contains("Welcome to your wiki"), "{built_in}");

    write(
        data.path(),
        "themes/default/templates/page.html",
        &page_template("First:"),
    );
    assert!(serve.page("/FrontPage").contains("First: FrontPage"));
    std::thread::sleep(Duration::from_millis(20));
    write(
        data.path(),
        "themes/default/templates/page.html",
        &page_template("Second:"),
    );
    assert!(serve.page("/FrontPage").contains("Second: FrontPage"));

    // A new stylesheet gets a new hashed URL, so browsers fetch it.
    let css_url = |html: &str| {
        let at = html.find("/+static/default/theme.").unwrap();
        html[at..at + html[at..].find('"').unwrap()].to_owned()
    };
    let before = css_url(&serve.page("/FrontPage"));
    write(
        data.path(),
        "themes/default/static/theme.css",
        "main { color: teal; }",
    );
    let after = css_url(&serve.page("/FrontPage"));
    assert_ne!(before, after);
    let css = http1_send(serve.addr, &serve.mount, &TestRequest::get(&after));
    assert_eq!(css.text(), "main { color: teal; }");
    assert_eq!(
        css.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    // A whole new theme, previewed by name.
    write(
        data.path(),
        "themes/ours/templates/base.html",
        r#"<!DOCTYPE html><html class="theme-{{ theme.name }}"><title>{{ title }}</title><main>{% block main %}{% endblock %}</main></html>"#,
    );
    let ours = serve.page("/FrontPage?theme=ours");
    assert!(ours.contains(r#"<html class="theme-ours">"#), "{ours}");
    assert!(ours.contains("Second: FrontPage"), "{ours}");

    // Removing the override brings the built-in template back.
    std::fs::remove_file(data.path().join("themes/default/templates/page.html")).unwrap();
    assert!(serve.page("/FrontPage").contains("Welcome to your wiki"));
}
