use themes::Themes;

#[test]
fn stylesheet_is_built_in_with_its_content_type() {
    let themes = Themes::new(None).unwrap();
    let css = themes.asset("quire.css").expect("quire.css is built in");
    assert_eq!(css.content_type, "text/css; charset=utf-8");
    let text = std::str::from_utf8(&css.bytes).unwrap();
    for needle in [
        "prefers-color-scheme: dark",
        "a.wikilink.missing",
        "tr.diff-added",
        ":focus-visible",
    ] {
        assert!(text.contains(needle), "quire.css lacks {needle}");
    }
}

#[test]
fn every_builtin_asset_is_served() {
    let themes = Themes::new(None).unwrap();
    for path in Themes::builtin_assets() {
        assert!(themes.asset(path).is_some(), "{path}");
    }
}

#[test]
fn traversal_and_absent_paths_are_none() {
    let themes = Themes::new(None).unwrap();
    for path in [
        "../secret",
        "/quire.css",
        "./quire.css",
        "x/../quire.css",
        "",
        "nope.css",
    ] {
        assert!(themes.asset(path).is_none(), "{path:?}");
    }
}
