//! How markup learns where wiki links point and which pages exist.

use std::collections::HashSet;

use storage::Storage;

use crate::wiki::plumbing::urls::Urls;

/// Answers markup's questions from the storage and the mount's URLs.
pub struct StoredLinks<'a> {
    pub urls: &'a Urls,
    pub storage: &'a Storage,
}

impl markup::LinkResolver for StoredLinks<'_> {
    fn page_url(&self, name: &str) -> String {
        self.urls.page_text(name)
    }

    fn create_url(&self, name: &str) -> String {
        self.urls.edit_text(name)
    }

    fn existing(&self, names: &[String]) -> HashSet<String> {
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        match self.storage.existing(&names) {
            Ok(found) => found,
            Err(err) => {
                // Links then show as missing; the page itself still renders.
                tracing::warn!(error = %err, "could not look up which linked pages exist");
                HashSet::new()
            }
        }
    }
}
