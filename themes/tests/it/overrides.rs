use std::fs;
use std::path::Path;

use serde_json::json;
use themes::{Compile, ThemeError, Themes};

use crate::support::{content_hash, context, in_theme};

fn write(root: &Path, relative: &str, contents: &str) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().expect("relative path has a parent"))
        .expect("create override dirs");
    fs::write(path, contents).expect("write override file");
}

#[test]
fn override_dir_replaces_a_template_and_an_asset() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "default/templates/error.html",
        r#"{% extends "base.html" %}{% set action = "" %}{% block main %}Custom {{ status }}{% endblock %}"#,
    );
    write(
        dir.path(),
        "default/static/quire.css",
        "body { color: red; }",
    );
    let themes = Themes::new(Some(dir.path()), content_hash, Compile::AtLoad).unwrap();

    let html = themes.render("error.html", context("error.html")).unwrap();
    assert!(html.contains("Custom 404"), "{html}");
    // The built-in layout is still used around the override.
    assert!(html.contains(r#"<html lang="en" "#), "{html}");

    let css = themes.asset("quire.css").unwrap();
    assert_eq!(&*css.bytes, b"body { color: red; }");
    // Untouched templates stay built-in.
    assert!(themes
        .render("missing.html", context("missing.html"))
        .is_ok());
}

#[test]
fn override_dir_can_add_files_and_ignores_hidden_ones() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "default/static/img/logo.svg", "<svg/>");
    write(dir.path(), "default/static/.quire.css.swp", "junk");
    write(dir.path(), "default/templates/.page.html.swp", "{% broken");
    write(
        dir.path(),
        "default/templates/hello.html",
        "Hello {{ name }}",
    );
    let themes = Themes::new(Some(dir.path()), content_hash, Compile::AtLoad).unwrap();

    let logo = themes.asset("img/logo.svg").unwrap();
    assert_eq!(logo.content_type, "image/svg+xml");
    assert!(themes.asset(".quire.css.swp").is_none());
    assert_eq!(
        themes.render("hello.html", json!({"name": "<b>"})).unwrap(),
        "Hello &lt;b&gt;"
    );
}

/// `err` is the syntax error of the override `default/templates/page.html` under `dir`, at line 2.
fn assert_names_page_html_line_2(err: &ThemeError, dir: &Path) {
    let ThemeError::Syntax {
        template,
        file,
        line,
        ..
    } = err
    else {
        panic!("wrong error: {err:?}");
    };
    assert_eq!(template, "page.html");
    assert_eq!(
        file.as_deref(),
        Some(dir.join("default/templates/page.html").as_path())
    );
    assert_eq!(*line, Some(2));
}

#[test]
fn compiled_on_first_use_a_syntax_error_is_the_error_of_the_render_that_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "default/templates/page.html",
        "line one\nline two {% if %}\n",
    );
    write(
        dir.path(),
        "default/templates/hello.html",
        "Hello {{ name }}",
    );
    let themes = Themes::new(Some(dir.path()), content_hash, Compile::OnFirstUse)
        .expect("nothing is compiled at load");
    assert_eq!(
        themes.render("hello.html", json!({"name": "<b>"})).unwrap(),
        "Hello &lt;b&gt;"
    );
    let err = themes
        .render("page.html", json!({}))
        .expect_err("syntax error");
    assert_names_page_html_line_2(&err, dir.path());
    assert!(matches!(
        themes.render("nothing.html", json!({})),
        Err(ThemeError::UnknownTemplate { .. })
    ));
}

#[test]
fn syntax_error_in_an_override_names_template_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "default/templates/page.html",
        "line one\nline two {% if %}\n",
    );
    let err = Themes::new(Some(dir.path()), content_hash, Compile::AtLoad)
        .err()
        .expect("syntax error");
    assert_names_page_html_line_2(&err, dir.path());
    let message = err.to_string();
    assert!(
        message.starts_with("syntax error in template `page.html` ("),
        "{message}"
    );
    assert!(message.ends_with(" at line 2"), "{message}");
}

#[test]
fn missing_override_dir_is_an_error_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = Themes::new(Some(&missing), content_hash, Compile::AtLoad)
        .err()
        .expect("io error");
    let ThemeError::Io { path, .. } = &err else {
        panic!("wrong error: {err:?}");
    };
    assert_eq!(path, &missing);
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn a_broken_new_theme_is_reported_with_its_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "other-theme/templates/page.html", "{% broken");
    let err = Themes::new(Some(dir.path()), content_hash, Compile::AtLoad)
        .err()
        .expect("syntax error");
    assert!(
        matches!(&err, ThemeError::Syntax { file: Some(f), .. } if f.ends_with("other-theme/templates/page.html")),
        "{err:?}"
    );
}

#[test]
fn a_folder_adds_a_whole_new_theme_that_borrows_what_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "mine/templates/base.html",
        r#"<!DOCTYPE html><html data-mode="{{ theme.mode }}"><link rel="stylesheet" href="{{ "theme.css"|asset_url }}"><main>{% block main %}{% endblock %}</main></html>"#,
    );
    write(dir.path(), "mine/static/theme.css", "main { color: teal; }");
    // Not a theme name: ignored, not an error.
    write(dir.path(), "Not A Theme/templates/base.html", "{% broken");
    let themes = Themes::new(Some(dir.path()), content_hash, Compile::AtLoad).unwrap();
    assert_eq!(
        themes.names().unwrap(),
        ["classic", "default", "mine", "minimal"]
    );

    let html = themes
        .render("page.html", in_theme(context("page.html"), "mine", "dark"))
        .unwrap();
    assert!(
        html.starts_with(r#"<!DOCTYPE html><html data-mode="dark">"#),
        "{html}"
    );
    let css_url = themes.asset_url("mine", "theme.css").unwrap();
    assert!(html.contains(&css_url), "{html}");
    // page.html itself came from default.
    assert!(html.contains("Revision 3 of 5"), "{html}");
    let css = themes.static_file(&css_url).unwrap();
    assert!(css.immutable);
    assert_eq!(&*css.asset.bytes, b"main { color: teal; }");
    // Assets it lacks come from default too.
    assert!(themes.static_file("mine/quire.js").is_some());
}

#[test]
fn overriding_a_default_page_template_changes_it_in_every_theme() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "default/templates/missing.html",
        r#"{% extends "base.html" %}{% set action = "view" %}{% block main %}<h1>Nothing here, {{ create_url }}</h1>{% endblock %}"#,
    );
    let themes = Themes::new(Some(dir.path()), content_hash, Compile::AtLoad).unwrap();
    for theme in Themes::builtin_themes() {
        let html = themes
            .render(
                "missing.html",
                in_theme(context("missing.html"), theme, "light"),
            )
            .unwrap();
        assert!(html.contains("Nothing here, /wiki/"), "{theme}: {html}");
        assert!(
            html.contains(&format!("theme-{theme}")),
            "{theme}: its own base"
        );
    }
}

#[test]
fn without_reloading_a_dropped_in_template_waits_for_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let themes = Themes::new(Some(dir.path()), content_hash, Compile::AtLoad).unwrap();
    write(dir.path(), "default/templates/error.html", "changed");
    let html = themes.render("error.html", context("error.html")).unwrap();
    assert!(html.contains("There is nothing at this address."), "{html}");
    // A new Themes (a restart, or the next CGI request) sees it, with no rebuild.
    let restarted = Themes::new(Some(dir.path()), content_hash, Compile::AtLoad).unwrap();
    assert_eq!(
        restarted
            .render("error.html", context("error.html"))
            .unwrap(),
        "changed"
    );
}

#[test]
fn reloading_picks_up_changes_additions_and_removals() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("themes");
    // The folder need not exist when reloading starts.
    let themes = Themes::reloading(&root, content_hash).unwrap();
    let render = |themes: &Themes| themes.render("error.html", context("error.html"));
    assert!(render(&themes)
        .unwrap()
        .contains("There is nothing at this address."));

    write(&root, "default/templates/error.html", "first {{ status }}");
    assert_eq!(render(&themes).unwrap(), "first 404");

    // Same length, so only the modification time tells.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write(&root, "default/templates/error.html", "again {{ status }}");
    assert_eq!(render(&themes).unwrap(), "again 404");

    write(&root, "default/static/quire.css", "body{}");
    assert_eq!(&*themes.asset("quire.css").unwrap().bytes, b"body{}");

    // A syntax error is reported, and fixing it recovers without a restart.
    write(&root, "default/templates/error.html", "{% if %}");
    assert!(matches!(render(&themes), Err(ThemeError::Syntax { .. })));
    write(&root, "default/templates/error.html", "fixed {{ status }}");
    assert_eq!(render(&themes).unwrap(), "fixed 404");

    fs::remove_file(root.join("default/templates/error.html")).unwrap();
    assert!(render(&themes)
        .unwrap()
        .contains("There is nothing at this address."));

    write(
        &root,
        "fresh/templates/base.html",
        "{% block main %}{% endblock %}",
    );
    assert!(themes.names().unwrap().contains(&"fresh".to_owned()));
}

#[test]
fn non_utf8_override_template_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("default/templates/page.html");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, [0xff, 0xfe, b'x']).unwrap();
    let err = Themes::new(Some(dir.path()), content_hash, Compile::AtLoad)
        .err()
        .expect("io error");
    assert!(
        matches!(&err, ThemeError::Io { path: p, .. } if *p == path),
        "{err:?}"
    );
}

#[test]
fn an_override_can_use_the_shared_macros() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "default/templates/hello.html",
        r#"{% from "parts/macros.html" import user, when %}{{ user("alice", "/wiki/alice") }} {{ user("<b>", none) }} {{ when(0) }}"#,
    );
    let themes = Themes::new(Some(dir.path()), content_hash, Compile::AtLoad).unwrap();
    let html = themes.render("hello.html", json!({})).unwrap();
    assert!(
        html.starts_with(
            r#"<a class="user" href="/wiki/alice">alice</a> <span class="user">&lt;b&gt;</span> "#
        ),
        "{html}"
    );
    assert!(
        html.contains(r#"<time datetime="1970-01-01T00:00:00Z">1970-01-01 00:00 UTC</time> <span class="ago">("#)
            && html.ends_with(" years ago)</span>"),
        "{html}"
    );
}
