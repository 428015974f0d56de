use std::fs;
use std::path::Path;

use serde_json::json;
use themes::{ThemeError, Themes};

use crate::support::context;

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
    let themes = Themes::new(Some(dir.path())).unwrap();

    let html = themes.render("error.html", context("error.html")).unwrap();
    assert!(html.contains("Custom 404"), "{html}");
    // The built-in layout is still used around the override.
    assert!(html.contains(r#"<html lang="en">"#), "{html}");

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
    let themes = Themes::new(Some(dir.path())).unwrap();

    let logo = themes.asset("img/logo.svg").unwrap();
    assert_eq!(logo.content_type, "image/svg+xml");
    assert!(themes.asset(".quire.css.swp").is_none());
    assert_eq!(
        themes.render("hello.html", json!({"name": "<b>"})).unwrap(),
        "Hello &lt;b&gt;"
    );
}

#[test]
fn syntax_error_in_an_override_names_template_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "default/templates/page.html",
        "line one\nline two {% if %}\n",
    );
    let err = Themes::new(Some(dir.path())).err().expect("syntax error");
    let ThemeError::Syntax {
        template,
        file,
        line,
        ..
    } = &err
    else {
        panic!("wrong error: {err:?}");
    };
    assert_eq!(template, "page.html");
    assert_eq!(
        file.as_deref(),
        Some(dir.path().join("default/templates/page.html").as_path())
    );
    assert_eq!(*line, Some(2));
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
    let err = Themes::new(Some(&missing)).err().expect("io error");
    let ThemeError::Io { path, .. } = &err else {
        panic!("wrong error: {err:?}");
    };
    assert_eq!(path, &missing);
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn override_dir_without_this_theme_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "other-theme/templates/page.html", "{% broken");
    let themes = Themes::new(Some(dir.path())).unwrap();
    assert!(themes.render("page.html", context("page.html")).is_ok());
}

#[test]
fn non_utf8_override_template_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("default/templates/page.html");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, [0xff, 0xfe, b'x']).unwrap();
    let err = Themes::new(Some(dir.path())).err().expect("io error");
    assert!(
        matches!(&err, ThemeError::Io { path: p, .. } if *p == path),
        "{err:?}"
    );
}
