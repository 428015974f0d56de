//! Properties over arbitrary input: never panic, never emit script, links agree with extraction.

use proptest::prelude::*;

use crate::{assert_safe, html};

/// Markdown-ish text: fragments that start constructs, mixed with arbitrary characters.
fn markdownish() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("[[".to_owned()),
        Just("]]".to_owned()),
        Just("|".to_owned()),
        Just("#".to_owned()),
        Just("../".to_owned()),
        Just("/".to_owned()),
        Just("+".to_owned()),
        Just("`".to_owned()),
        Just("*".to_owned()),
        Just("\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("> ".to_owned()),
        Just("- ".to_owned()),
        Just("| a |\n|---|\n".to_owned()),
        Just("[x](".to_owned()),
        Just(")".to_owned()),
        Just("<".to_owned()),
        Just(">".to_owned()),
        Just("<script>".to_owned()),
        Just("<img src=x onerror=alert(1)>".to_owned()),
        Just("javascript:alert(1)".to_owned()),
        Just("\"".to_owned()),
        Just("'".to_owned()),
        Just("&#58;".to_owned()),
        Just("https://e.org".to_owned()),
        Just("<div>".to_owned()),
        Just("</div>".to_owned()),
        Just("[^1]".to_owned()),
        Just("```".to_owned()),
        "[ -~]{0,8}",
        any::<String>(),
    ];
    prop::collection::vec(fragment, 0..40).prop_map(|parts| parts.concat())
}

proptest! {
    #[test]
    fn render_never_panics_on_any_string(text in any::<String>()) {
        let html = html(&text);
        prop_assert!(!html.to_ascii_lowercase().contains("<script"));
        let _ = markup::plain_text(&text);
    }

    #[test]
    fn markdownish_input_renders_safely(text in markdownish()) {
        assert_safe(&text, &html(&text));
        let _ = markup::plain_text(&text);
    }

    #[test]
    fn extraction_agrees_with_rendering(text in markdownish(), page in "[A-Za-z]{1,5}(/[A-Za-z]{1,5}){0,2}") {
        let wiki = crate::Wiki::with(&[]);
        let rendered = markup::render(&text, &page, &wiki);
        prop_assert_eq!(rendered.links, markup::wiki_links(&text, &page));
    }
}
