//! How markup learns where wiki links point and which pages exist. Link targets are text from a
//! page, not a `PageName`: each is [`normalise`]d here, so a link in either Unicode spelling of a name
//! leads to the one page.

use std::collections::{HashMap, HashSet};

use storage::Storage;

use crate::wiki::plumbing::page_name::normalise;
use crate::wiki::plumbing::urls::Urls;

/// Answers markup's questions from the storage and the mount's URLs.
pub struct StoredLinks<'a> {
    pub urls: &'a Urls,
    pub storage: &'a Storage,
    /// Whether headings get the links that edit their sections: only for a viewer who may edit the
    /// page, and only in renders of its current text.
    pub section_links: bool,
}

impl markup::LinkResolver for StoredLinks<'_> {
    fn page_url(&self, name: &str) -> String {
        self.urls.page_text(&normalise(name))
    }

    fn create_url(&self, name: &str) -> String {
        self.urls.edit_text(&normalise(name))
    }

    /// The names as markup gave them whose normalised spelling is a page.
    fn existing(&self, names: &[String]) -> HashSet<String> {
        let normalised: Vec<_> = names.iter().map(|name| normalise(name)).collect();
        let lookup: Vec<&str> = normalised.iter().map(AsRef::as_ref).collect();
        match self.storage.existing(&lookup) {
            Ok(found) => names
                .iter()
                .zip(&normalised)
                .filter(|(_, stored)| found.contains(stored.as_ref()))
                .map(|(name, _)| name.clone())
                .collect(),
            Err(err) => {
                // Links then show as missing; the page itself still renders.
                tracing::warn!(error = %err, "could not look up which linked pages exist");
                HashSet::new()
            }
        }
    }

    fn file_url(&self, page: &str, name: &str) -> String {
        self.urls.file_text(&normalise(page), &normalise(name))
    }

    fn upload_url(&self, page: &str, name: &str) -> String {
        self.urls.upload_text(&normalise(page), &normalise(name))
    }

    /// The files as markup gave them whose normalised page and name are a stored, not deleted
    /// file, with an image's size for its `width` and `height`.
    fn existing_files(
        &self,
        files: &[markup::FileRef],
    ) -> HashMap<markup::FileRef, markup::FileFacts> {
        let lookup: Vec<(String, String)> = files
            .iter()
            .map(|file| {
                (
                    normalise(&file.page).into_owned(),
                    normalise(&file.name).into_owned(),
                )
            })
            .collect();
        match self.storage.existing_files(&lookup) {
            Ok(found) => files
                .iter()
                .zip(&lookup)
                .filter_map(|(file, key)| {
                    let facts = found.get(key)?;
                    Some((
                        file.clone(),
                        markup::FileFacts {
                            width: facts.content.width,
                            height: facts.content.height,
                        },
                    ))
                })
                .collect(),
            Err(err) => {
                tracing::warn!(error = %err, "could not look up which linked files exist");
                HashMap::new()
            }
        }
    }

    fn section_edit_url(&self, page: &str, section: usize) -> Option<String> {
        self.section_links
            .then(|| self.urls.edit_section_text(page, section))
    }
}
