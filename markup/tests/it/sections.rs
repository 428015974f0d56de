//! Sections: the edit links a render writes agree with the sections the text is split into, and
//! splitting loses nothing.

use proptest::prelude::*;

use markup::{replace_section, section_count, section_range, section_text, RenderOptions};

/// A wiki that offers an edit link for every section.
struct Editable;

impl markup::LinkResolver for Editable {
    fn page_url(&self, name: &str) -> String {
        format!("/{name}")
    }
    fn create_url(&self, name: &str) -> String {
        format!("/+edit/{name}")
    }
    fn existing(&self, _: &[String]) -> std::collections::HashSet<String> {
        std::collections::HashSet::new()
    }
    no_files!();
    fn section_edit_url(&self, page: &str, section: usize) -> Option<String> {
        Some(format!("/+edit/{page}?section={section}&x=\"y\""))
    }
}

/// Text made of what starts and hides headings.
fn headed() -> impl Strategy<Value = String> {
    let fragment = prop_oneof![
        Just("# ".to_owned()),
        Just("## ".to_owned()),
        Just("### ".to_owned()),
        Just("#".to_owned()),
        Just("\n".to_owned()),
        Just("\r\n".to_owned()),
        Just("\n\n".to_owned()),
        Just("===\n".to_owned()),
        Just("---\n".to_owned()),
        Just("```\n".to_owned()),
        Just("~~~\n".to_owned()),
        Just("    ".to_owned()),
        Just("> ".to_owned()),
        Just("- ".to_owned()),
        Just("<div>\n".to_owned()),
        Just("#acl All:read\n".to_owned()),
        Just("[^1]: ".to_owned()),
        "[a-z ]{0,6}",
        any::<String>(),
    ];
    prop::collection::vec(fragment, 0..30).prop_map(|parts| parts.concat())
}

fn is_line_start(text: &str, at: usize) -> bool {
    at == 0 || at == text.len() || text.as_bytes()[at - 1] == b'\n'
}

proptest! {
    #[test]
    fn replacing_a_section_with_its_own_text_gives_the_text_back(text in headed()) {
        let options = RenderOptions::default();
        for number in 0..=section_count(&text, &options) {
            let own = section_text(&text, number, &options).expect("a numbered section exists");
            let back = replace_section(&text, number, own, &options);
            prop_assert_eq!(back.as_deref(), Some(text.as_str()), "section {}", number);
        }
        prop_assert_eq!(section_range(&text, section_count(&text, &options) + 1, &options), None);
    }

    #[test]
    fn section_boundaries_fall_on_line_starts(text in headed()) {
        let options = RenderOptions::default();
        for number in 0..=section_count(&text, &options) {
            let range = section_range(&text, number, &options).expect("a numbered section exists");
            prop_assert!(is_line_start(&text, range.start), "start of {} in {:?}", number, text);
            prop_assert!(is_line_start(&text, range.end), "end of {} in {:?}", number, text);
        }
    }

    #[test]
    fn what_follows_a_replaced_section_is_kept_on_a_line_of_its_own(text in headed(), new in "[a-z #]{0,12}") {
        let options = RenderOptions::default();
        for number in 0..=section_count(&text, &options) {
            let range = section_range(&text, number, &options).expect("a numbered section exists");
            let replaced = replace_section(&text, number, &new, &options).expect("a numbered section exists");
            let after = &text[range.end..];
            prop_assert!(replaced.starts_with(&text[..range.start]), "{:?} → {:?}", text, replaced);
            prop_assert!(replaced.ends_with(after), "{:?} → {:?}", text, replaced);
            let at = replaced.len() - after.len();
            prop_assert!(after.is_empty() || is_line_start(&replaced, at), "{:?} → {:?}", text, replaced);
        }
    }

    #[test]
    fn the_render_writes_one_edit_link_per_section(text in headed()) {
        let options = RenderOptions::default();
        let html = markup::render_with(&text, "P", &Editable, &options).expect("no bounds").html;
        prop_assert_eq!(html.matches("class=\"section-edit\"").count(), section_count(&text, &options), "{}", html);
    }
}

#[test]
fn each_heading_links_to_its_own_section_and_nested_ones_to_none() {
    let text = "intro\n\n# One\n\n> ## Quoted\n\n```\n# code\n```\n\nTwo\n---\n";
    let options = RenderOptions::default();
    let html = markup::render_with(text, "Team/Notes", &Editable, &options)
        .unwrap()
        .html;
    assert!(
        html.contains(r#"<h1 id="one">One <a class="section-edit" href="/+edit/Team/Notes?section=1&amp;x=&quot;y&quot;" rel="nofollow">edit</a></h1>"#),
        "{html}"
    );
    assert!(html.contains(r#"<h2 id="quoted">Quoted</h2>"#), "{html}");
    assert!(
        html.contains(r#"section=2&amp;x=&quot;y&quot;" rel="nofollow">edit</a></h2>"#),
        "{html}"
    );
    assert_eq!(section_text(text, 2, &options), Some("Two\n---\n"));
    // Without a URL from the resolver, no link: the default.
    assert!(!crate::html(text).contains("section-edit"));
}

#[test]
fn a_page_without_headings_is_all_section_zero() {
    let options = RenderOptions::default();
    assert_eq!(section_count("just text\n", &options), 0);
    assert_eq!(
        section_text("just text\n", 0, &options),
        Some("just text\n")
    );
    assert_eq!(section_text("just text\n", 1, &options), None);
}
