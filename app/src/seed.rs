//! The pages a new wiki starts with, written for quire.

/// The author of the pages quire installs. An import may replace such a page when nobody else has
/// saved it (`storage::Storage::remove_untouched_page`).
pub const INSTALLER: &str = "quire";

/// Name and Markdown of each page a new wiki is seeded with.
pub const SEED_PAGES: &[(&str, &str)] = &[
    ("FrontPage", include_str!("../seed/FrontPage.md")),
    ("Help", include_str!("../seed/Help.md")),
    ("Help/Editing", include_str!("../seed/Help-Editing.md")),
    ("Help/Markdown", include_str!("../seed/Help-Markdown.md")),
    (
        "Help/Deployment",
        include_str!("../seed/Help-Deployment.md"),
    ),
    ("Help/Search", include_str!("../seed/Help-Search.md")),
    ("Help/Files", include_str!("../seed/Help-Files.md")),
    ("Help/Migrating", include_str!("../seed/Help-Migrating.md")),
    (
        "Help/AccessControl",
        include_str!("../seed/Help-AccessControl.md"),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wiki::plumbing::page_name::PageName;

    #[test]
    fn every_seed_page_has_a_valid_name_and_text() {
        for (name, text) in SEED_PAGES {
            PageName::parse(name).unwrap();
            assert!(text.len() > 200, "{name} is too short to help anyone");
        }
    }

    #[test]
    fn seed_pages_link_only_to_seed_pages() {
        let names: Vec<&str> = SEED_PAGES.iter().map(|(name, _)| *name).collect();
        for (name, text) in SEED_PAGES {
            for target in markup::wiki_links(text, name) {
                assert!(
                    names.contains(&target.as_str()),
                    "{name} links to missing {target}"
                );
            }
        }
    }
}
