//! Rendering a page again: markup keeps nothing between renders, so each one answers to the resolver of its
//! own call.

use std::cell::Cell;
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
    no_files!();
}

#[test]
fn a_page_rendered_again_is_the_same_and_existence_is_asked_each_time() {
    let text = "Repeat: [[Home]], [[Nowhere]] and https://example.org/.";
    let wiki = Wiki::with(&["Home"]);
    let first = markup::render(text, "Team", &wiki);
    for _ in 0..3 {
        assert_eq!(markup::render(text, "Team", &wiki), first);
    }
    assert_eq!(wiki.queries.get(), 4);
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
    for _ in 0..2 {
        let gone = markup::render(text, "Team", &Wiki::with(&[]));
        assert_eq!(gone, before);
    }
}

#[test]
fn new_urls_change_the_output() {
    let text = "Mounted: [[Home]].";
    for prefix in ["/a", "/b", "/a", "/a", "/b"] {
        let html = markup::render(text, "Team", &Mounted(prefix)).html;
        assert!(html.contains(&format!(r#"href="{prefix}/Home""#)), "{html}");
    }
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

/// Counts URL requests, which show whether a page was rendered or reused.
struct Counting(Cell<usize>);

impl markup::LinkResolver for Counting {
    fn page_url(&self, name: &str) -> String {
        self.0.set(self.0.get() + 1);
        format!("/{name}")
    }
    fn create_url(&self, name: &str) -> String {
        format!("/{name}?action=edit")
    }
    fn existing(&self, names: &[String]) -> HashSet<String> {
        names.iter().cloned().collect()
    }
    no_files!();
}

#[test]
fn every_render_asks_for_its_urls_as_nothing_is_reused() {
    let text = "Rendered each time: [[Often]], [[Often]] and [[Often]] again.";
    let urls_asked = |resolver: &Counting| {
        resolver.0.set(0);
        let html = markup::render(text, "Team", resolver).html;
        assert_eq!(html.matches(r#"href="/Often""#).count(), 3, "{html}");
        resolver.0.get()
    };
    let resolver = Counting(Cell::new(0));
    // A URL per link written, on the first render and on every later one: markup keeps no memo.
    for _ in 0..4 {
        assert_eq!(urls_asked(&resolver), 3);
    }
}

#[test]
fn the_options_of_each_call_apply() {
    let text = "Options matter: [[Home]] and ~~gone~~.";
    let wiki = Wiki::with(&["Home"]);
    let dialect = markup::render(text, "Team", &wiki);
    assert_eq!(markup::render(text, "Team", &wiki), dialect);
    let plain =
        markup::render_with(text, "Team", &wiki, &markup::RenderOptions::commonmark()).unwrap();
    assert!(
        dialect.html.contains("wikilink") && dialect.html.contains("<del>"),
        "{}",
        dialect.html
    );
    assert!(
        !plain.html.contains("wikilink") && !plain.html.contains("<del>"),
        "{}",
        plain.html
    );
    assert!(plain.links.is_empty());
}
