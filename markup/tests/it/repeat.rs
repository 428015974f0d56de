//! Rendering a page again: results are reused only while they are still right.

use std::collections::HashSet;

use crate::Wiki;

/// A resolver with its own URL prefix, to see a changed mount point in the output.
struct Mounted(&'static str);

impl markup::LinkResolver for Mounted {
    fn page_url(&self, name: &str) -> String {
        format!("{}/{name}", self.0)
    }
    fn create_url(&self, name: &str) -> String {
        format!("{}/{name}?action=edit", self.0)
    }
    fn existing(&self, names: &[String]) -> HashSet<String> {
        names.iter().cloned().collect()
    }
}

#[test]
fn a_page_rendered_again_is_the_same_and_existence_is_asked_each_time() {
    let text = "Repeat: [[Home]], [[Nowhere]] and https://example.org/.";
    let wiki = Wiki::with(&["Home"]);
    let first = markup::render(text, "Team", &wiki);
    let second = markup::render(text, "Team", &wiki);
    assert_eq!(first, second);
    assert_eq!(wiki.queries.get(), 2);
}

#[test]
fn a_linked_page_created_since_changes_the_output() {
    let text = "Created later: [[Later Page]].";
    let before = markup::render(text, "Team", &Wiki::with(&[]));
    assert!(before.html.contains("wikilink missing"), "{}", before.html);
    let after = markup::render(text, "Team", &Wiki::with(&["Later Page"]));
    assert!(
        after
            .html
            .contains(r#"<a class="wikilink" href="/wiki/Later%20Page">"#),
        "{}",
        after.html
    );
    let gone = markup::render(text, "Team", &Wiki::with(&[]));
    assert_eq!(gone, before);
}

#[test]
fn new_urls_change_the_output() {
    let text = "Mounted: [[Home]].";
    let a = markup::render(text, "Team", &Mounted("/a")).html;
    let b = markup::render(text, "Team", &Mounted("/b")).html;
    assert!(a.contains(r#"href="/a/Home""#), "{a}");
    assert!(b.contains(r#"href="/b/Home""#), "{b}");
}

#[test]
fn the_same_text_on_another_page_links_relative_to_that_page() {
    let text = "Relative: [[/Child]] and [[../Sibling]].";
    let wiki = Wiki::with(&[]);
    let on_a = markup::render(text, "A/Page", &wiki);
    let on_b = markup::render(text, "B/Page", &wiki);
    assert_eq!(on_a.links, ["A/Page/Child", "A/Sibling"]);
    assert_eq!(on_b.links, ["B/Page/Child", "B/Sibling"]);
}
