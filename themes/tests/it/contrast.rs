//! Colour contrast of every theme in both modes, computed from the stylesheets the way WCAG 2
//! defines it: each text colour against each background it is drawn on reaches 4.5:1.
//!
//! Colours are custom properties written as `--name: light-dark(#light, #dark);` (or
//! `var(--other)`); `quire.css` declares them for every theme and a theme's `theme.css`
//! overrides some. Axe checks the rendered pages in the browser too (e2e); this test catches a
//! bad colour without one, for every pair, including states a page walk may not show.

use std::collections::BTreeMap;

use themes::{Compile, Themes};

use crate::support::content_hash;

/// (text, background) pairs that occur in the themes.
const PAIRS: &[(&str, &str)] = &[
    ("fg", "bg"),
    ("fg", "bg-soft"),
    ("fg", "code-bg"),
    ("fg", "notice-bg"),
    ("fg", "accent-bg"),
    ("fg", "mark-bg"),
    ("fg-muted", "bg"),
    ("fg-muted", "bg-soft"),
    ("accent", "bg"),
    ("accent", "bg-soft"),
    ("accent", "accent-bg"),
    ("accent-visited", "bg"),
    ("accent-visited", "bg-soft"),
    ("missing", "bg"),
    ("on-accent", "accent"),
    ("added-fg", "added-bg"),
    ("removed-fg", "removed-bg"),
    ("fg-muted", "hunk-bg"),
    ("header-fg", "header-bg"),
    ("hl-comment", "code-bg"),
    ("hl-keyword", "code-bg"),
    ("hl-string", "code-bg"),
    ("hl-number", "code-bg"),
    ("hl-function", "code-bg"),
    ("hl-type", "code-bg"),
    ("hl-tag", "code-bg"),
    ("hl-attribute", "code-bg"),
];

/// Non-text indicators (WCAG 1.4.11) need 3:1.
const INDICATORS: &[(&str, &str)] = &[("focus", "bg"), ("border-strong", "bg")];

type Rgb = (f64, f64, f64);

#[test]
fn every_theme_has_enough_contrast_in_both_modes() {
    let themes = Themes::new(None, content_hash, Compile::AtLoad).unwrap();
    let mut failures = Vec::new();
    for theme in Themes::builtin_themes() {
        let mut declared = BTreeMap::new();
        for file in ["quire.css", "theme.css"] {
            let css = themes
                .static_file(&format!("{theme}/{file}"))
                .unwrap_or_else(|| panic!("{theme} has no {file}"));
            declarations(
                std::str::from_utf8(&css.asset.bytes).unwrap(),
                &mut declared,
            );
        }
        for (mode, index) in [("light", 0), ("dark", 1)] {
            let colour = |name: &str| resolve(&declared, name, index, theme);
            for (pairs, minimum) in [(PAIRS, 4.5), (INDICATORS, 3.0)] {
                for (text, background) in pairs {
                    let ratio = contrast(colour(text), colour(background));
                    if ratio < minimum {
                        failures.push(format!(
                            "{theme}/{mode}: --{text} on --{background} is {ratio:.2}:1 (needs {minimum})"
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_contrast_formula_matches_wcag_examples() {
    assert!((contrast((0.0, 0.0, 0.0), (255.0, 255.0, 255.0)) - 21.0).abs() < 0.01);
    let grey = hex("#767676");
    assert!((contrast(grey, hex("#ffffff")) - 4.54).abs() < 0.01);
}

/// Collects `--name: value;` declarations (later ones win), values still unparsed.
fn declarations(css: &str, into: &mut BTreeMap<String, String>) {
    for piece in css.split(';') {
        // The declaration starts after the last brace or comment before it.
        let start = ["{", "}", "*/"]
            .iter()
            .filter_map(|mark| piece.rfind(mark).map(|at| at + mark.len()))
            .max()
            .unwrap_or(0);
        let Some(declaration) = piece[start..].trim().strip_prefix("--") else {
            continue;
        };
        let Some((name, value)) = declaration.split_once(':') else {
            continue;
        };
        if name.contains(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            continue;
        }
        into.insert(name.to_owned(), value.trim().to_owned());
    }
}

fn resolve(declared: &BTreeMap<String, String>, name: &str, index: usize, theme: &str) -> Rgb {
    let value = declared
        .get(name)
        .unwrap_or_else(|| panic!("{theme} declares no --{name}"));
    if let Some(inner) = value
        .strip_prefix("var(--")
        .and_then(|v| v.strip_suffix(')'))
    {
        return resolve(declared, inner, index, theme);
    }
    if let Some(inner) = value
        .strip_prefix("light-dark(")
        .and_then(|v| v.strip_suffix(')'))
    {
        let (light, dark) = inner.split_once(',').expect("light-dark takes two colours");
        return hex([light, dark][index].trim());
    }
    hex(value)
}

fn hex(text: &str) -> Rgb {
    let digits = text
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("not #rrggbb: {text}"));
    assert_eq!(digits.len(), 6, "not #rrggbb: {text}");
    let channel =
        |at: usize| f64::from(u8::from_str_radix(&digits[at..at + 2], 16).expect("hex digits"));
    (channel(0), channel(2), channel(4))
}

fn luminance((r, g, b): Rgb) -> f64 {
    let linear = |c: f64| {
        let c = c / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
}

fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}
