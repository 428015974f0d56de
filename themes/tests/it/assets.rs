use themes::{Compile, Themes};

use crate::support::content_hash;

#[test]
fn stylesheet_is_built_in_with_its_content_type() {
    let themes = Themes::new(None, content_hash, Compile::AtLoad).unwrap();
    let css = themes.asset("quire.css").expect("quire.css is built in");
    assert_eq!(css.content_type, "text/css; charset=utf-8");
    let text = std::str::from_utf8(&css.bytes).unwrap();
    for needle in [
        "light-dark(",
        "[data-mode=\"dark\"]",
        "a.wikilink.missing",
        "tr.diff-added",
        ":focus-visible",
    ] {
        assert!(text.contains(needle), "quire.css lacks {needle}");
    }
}

#[test]
fn every_builtin_asset_is_served() {
    let themes = Themes::new(None, content_hash, Compile::AtLoad).unwrap();
    for path in Themes::builtin_assets() {
        assert!(themes.asset(path).is_some(), "{path}");
    }
}

#[test]
fn traversal_and_absent_paths_are_none() {
    let themes = Themes::new(None, content_hash, Compile::AtLoad).unwrap();
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

#[test]
fn hashed_urls_are_immutable_and_plain_ones_are_not() {
    let themes = Themes::new(None, content_hash, Compile::AtLoad).unwrap();
    for theme in Themes::builtin_themes() {
        for path in ["quire.css", "theme.css", "quire.js"] {
            let url = themes.asset_url(theme, path).unwrap();
            assert!(url.starts_with(&format!("{theme}/")), "{url}");
            let hashed = themes.static_file(&url).unwrap_or_else(|| panic!("{url}"));
            assert!(hashed.immutable, "{url}");
            let plain = themes.static_file(&format!("{theme}/{path}")).unwrap();
            assert!(!plain.immutable);
            assert_eq!(plain.asset, hashed.asset);
        }
    }
    // The old address still works, and names the default theme's file.
    let old = themes.static_file("quire.css").unwrap();
    assert!(!old.immutable);
    assert_eq!(
        old.asset,
        themes.static_file("default/quire.css").unwrap().asset
    );
    // An outdated hash gets the current file, but not for good.
    let stale = themes
        .static_file("default/quire.0000000000000000.css")
        .unwrap();
    assert!(!stale.immutable);
    assert!(themes
        .static_file("default/nope.0000000000000000.css")
        .is_none());
    assert!(themes.static_file("nosuchtheme/quire.css").is_none());
}

#[test]
fn each_theme_has_its_own_stylesheet_and_shares_the_script() {
    let themes = Themes::new(None, content_hash, Compile::AtLoad).unwrap();
    let theme_css = |theme: &str| {
        themes
            .static_file(&format!("{theme}/theme.css"))
            .unwrap()
            .asset
    };
    assert_ne!(theme_css("default"), theme_css("classic"));
    assert_ne!(theme_css("classic"), theme_css("minimal"));
    let script = |theme: &str| {
        themes
            .static_file(&format!("{theme}/quire.js"))
            .unwrap()
            .asset
    };
    assert_eq!(script("classic"), script("default"));
    assert_eq!(
        script("minimal").content_type,
        "text/javascript; charset=utf-8"
    );
}
