//! Page templates: pages a new page can start from, MoinMoin's `*Template` pages.
//!
//! The pages named by `template_pages` (a glob, `*Template` by default) are offered where a page is
//! created (the missing page's screen and the empty editor): those the viewer may read, by name, at
//! most [`OFFERED`]. `/+edit/{Page}?template=Name` starts the editor with the text of any page the
//! viewer may read, pattern or not, as MoinMoin's `template=` does; one the viewer may not read is
//! answered as one that does not exist, so its text and its existence stay hidden.
//!
//! Placeholders are replaced when the editor starts, so the author sees and can change what is
//! saved: `@PAGE@` (the new page's name), `@DATE@` (today in UTC, `YYYY-MM-DD`) and `@USER@` (who
//! the save will be attributed to: the account's name, or for an anonymous visitor the address,
//! as MoinMoin's signature shows a visitor's host).
//!
//! Finding the names that match a pattern with a wildcard first (the default) walks every name:
//! milliseconds at 100 000 pages, and every missing page's screen asks. A long-running process
//! keeps the names it found under the change count they were read at ([`TemplateNames`]), so only
//! the first create screen after a change pays; a CGI process pays once.

use std::sync::Mutex;

use serde::Serialize;

use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::{Exchange, Wiki, WikiError};

/// The most templates offered: a choice, not a listing (there is `/+index` for that).
pub(crate) const OFFERED: usize = 20;

/// The most names matching the pattern read to find [`OFFERED`] the viewer may read: a reader shut
/// out of most templates sees the readable ones among the first 200.
const EXAMINED: usize = 200;

/// The names matching `template_pages` (before any viewer's filter), kept under the change count
/// they were read at: pages are created, renamed and deleted only with the counter moving, so the
/// names are current exactly while it reads the same.
#[derive(Debug, Default)]
pub(crate) struct TemplateNames(Mutex<Option<(i64, Vec<String>)>>);

impl TemplateNames {
    /// The names under `count`, read with `read` when the kept ones are of another count.
    fn get(
        &self,
        count: i64,
        read: impl FnOnce() -> Result<Vec<String>, WikiError>,
    ) -> Result<Vec<String>, WikiError> {
        let kept = self.lock();
        if let Some((at, names)) = kept.as_ref() {
            if *at == count {
                return Ok(names.clone());
            }
        }
        drop(kept);
        let names = read()?;
        *self.lock() = Some((count, names.clone()));
        Ok(names)
    }

    /// A panic while holding the lock leaves a whole value or none: poisoning is ignored.
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(i64, Vec<String>)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A template offered for a new page.
#[derive(Debug, Serialize)]
pub(crate) struct TemplateLink {
    pub name: String,
    /// The editor of the new page, starting from this template.
    pub url: String,
}

impl Wiki {
    /// The templates offered for creating `page`: those the viewer may read, in name order.
    pub(crate) fn offered_templates(
        &self,
        exchange: &Exchange,
        page: &PageName,
    ) -> Result<Vec<TemplateLink>, WikiError> {
        let pattern = &self.settings.template_pages;
        if pattern.is_empty() {
            return Ok(Vec::new());
        }
        let access = self.access(&exchange.viewer)?;
        let count = self.storage.change_count()?;
        let names = self.template_names.get(count, || {
            Ok(self.storage.page_names_matching(pattern, None, EXAMINED)?)
        })?;
        Ok(names
            .into_iter()
            .filter(|name| access.can_read(name))
            .take(OFFERED)
            .map(|name| TemplateLink {
                url: exchange.urls.edit_from_template(page, &name),
                name,
            })
            .collect())
    }

    /// The text page `page` starts with from the page named `template`, placeholders replaced;
    /// `None` when there is no such page or the viewer may not read it (the two look alike).
    pub(crate) fn template_text(
        &self,
        exchange: &Exchange,
        template: &str,
        page: &PageName,
    ) -> Result<Option<String>, WikiError> {
        let Ok(template) = PageName::parse(template) else {
            return Ok(None);
        };
        if !self.access(&exchange.viewer)?.can_read(template.as_str()) {
            return Ok(None);
        }
        let Some(revision) = self.storage.current(template.as_str())? else {
            return Ok(None);
        };
        let today = time::OffsetDateTime::now_utc().date();
        Ok(Some(fill_in(
            &revision.text,
            &Placeholders {
                page: page.as_str(),
                date: &today.to_string(),
                user: &exchange.viewer.author(),
            },
        )))
    }
}

/// What a template's placeholders stand for.
struct Placeholders<'a> {
    page: &'a str,
    date: &'a str,
    user: &'a str,
}

/// `text` with every `@PAGE@`, `@DATE@` and `@USER@` replaced, in one pass: a value that holds a
/// placeholder (a page named `@DATE@`) is not replaced again.
fn fill_in(text: &str, values: &Placeholders<'_>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let from_here = &rest[at..];
        let found = [
            ("@PAGE@", values.page),
            ("@DATE@", values.date),
            ("@USER@", values.user),
        ]
        .into_iter()
        .find(|(placeholder, _)| from_here.starts_with(placeholder));
        match found {
            Some((placeholder, value)) => {
                out.push_str(value);
                rest = &from_here[placeholder.len()..];
            }
            None => {
                out.push('@');
                rest = &from_here[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_once_and_other_at_signs_kept() {
        let values = Placeholders {
            page: "Meetings/@DATE@",
            date: "2026-12-08",
            user: "alice",
        };
        assert_eq!(
            fill_in(
                "# @PAGE@\n@DATE@ by @USER@, mail a@b.example @@ @PAGE",
                &values
            ),
            "# Meetings/@DATE@\n2026-12-08 by alice, mail a@b.example @@ @PAGE"
        );
    }

    #[test]
    fn names_are_read_again_only_when_the_count_moves() {
        let names = TemplateNames::default();
        let reads = std::cell::Cell::new(0);
        let read = |found: &[&str]| {
            reads.set(reads.get() + 1);
            Ok(found.iter().map(|name| (*name).to_owned()).collect())
        };
        assert_eq!(names.get(7, || read(&["AT"])).unwrap(), ["AT"]);
        assert_eq!(names.get(7, || read(&["BT"])).unwrap(), ["AT"]);
        assert_eq!(reads.get(), 1);
        assert_eq!(names.get(8, || read(&["BT"])).unwrap(), ["BT"]);
        assert_eq!(reads.get(), 2);
    }
}
