//! What operators and crawlers ask of a wiki rather than readers: `/robots.txt` (what crawlers may
//! fetch), `/sitemap.xml` (what there is to fetch) and `/+healthz` (whether the wiki can serve, for
//! a load balancer or a monitor). `/+metrics` is in `crate::wiki::metrics`.
//!
//! `/sitemap.xml` lists the pages an anonymous reader may read, whoever asks, so that a crawler
//! given an admin's cookie still publishes nothing protected; deleted pages are not listed. Each
//! `<loc>` is absolute, from the one place absolute URLs come from (`Wiki::origin`: `base_url`, or
//! the request's host, which `allowed_hosts` checked), and its `<lastmod>` the current revision's
//! time. The list comes from the page rows and the ACL lines storage keeps (`Storage::page_times`,
//! the listing filter of `access`), never from page texts. Past sitemaps.org's 50 000 URLs per file
//! it becomes a sitemap index, whose entries are `/sitemap.xml?page=N`.
//!
//! `/+healthz` answers 200 when the database answers and 503 when it does not, with a small JSON
//! body: the database's state and how many revisions the search index lags behind (search
//! catches up by itself; a lag that keeps growing means it cannot). It says nothing of any page.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::wiki::history::feeds::html as xml_text;
use crate::wiki::plumbing::respond::typed_response;
use crate::wiki::plumbing::urls::Urls;
use crate::wiki::plumbing::viewer::Viewer;
use crate::wiki::{Exchange, Wiki, WikiError};

/// URLs per sitemap file: sitemaps.org's limit.
const SITEMAP_URLS: usize = 50_000;

/// The namespace of sitemaps and sitemap indexes.
const SITEMAP_NS: &str = "http://www.sitemaps.org/schemas/sitemap/0.9";

/// The body of `/+healthz`.
#[derive(Serialize)]
struct Health {
    /// `ok`, or `unavailable` when the database does not answer.
    status: &'static str,
    /// `ok` or `unavailable`.
    database: &'static str,
    /// Revisions saved but not yet searchable; `null` when either side could not say.
    index_lag: Option<u64>,
}

impl Wiki {
    /// `GET /robots.txt`: `robots_txt` from `quire.toml`, else a rule that keeps crawlers off
    /// every action address (`/+…` under the mount) and lets them index pages.
    pub(crate) fn robots(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let mut text = match &self.settings.robots_txt {
            Some(text) => format!("{}\n", text.trim_end()),
            None => format!(
                "User-agent: *\nDisallow: {}\n",
                exchange.urls.actions_prefix()
            ),
        };
        // The Sitemap line needs an absolute URL, which a request without a host cannot give
        // unless base_url does.
        let origin = self.origin(&exchange.request);
        if self.settings.sitemap && origin.contains("://") && !origin.ends_with("://") {
            let sitemap = exchange.urls.sitemap(None);
            text.push_str(&format!("Sitemap: {origin}{sitemap}\n"));
        }
        Ok(typed_response(text, "text/plain; charset=utf-8"))
    }

    /// `GET /sitemap.xml` and `/sitemap.xml?page=N` (see the module doc).
    pub(crate) fn sitemap(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let missing = || HttpError::not_found("There is no such sitemap.");
        if !self.settings.sitemap {
            return Err(missing().into());
        }
        let page = match exchange.query()?.get("page") {
            None => None,
            Some(page) => Some(page.parse::<usize>().map_err(|_| missing())?),
        };
        let anonymous = Viewer::anonymous(String::new(), None);
        let access = self.access(&anonymous)?;
        let mut pages = self.storage.page_times()?;
        pages.retain(|(name, _)| access.can_read(name));
        let origin = self.origin(&exchange.request);
        let xml = sitemap_xml(&origin, &exchange.urls, &pages, page, SITEMAP_URLS)?
            .ok_or_else(missing)?;
        Ok(typed_response(xml, "application/xml; charset=utf-8"))
    }

    /// Revisions saved but not yet searchable; `None` when the index cannot say. An error when
    /// the database does not answer.
    pub(crate) fn index_lag(&self) -> Result<Option<u64>, WikiError> {
        let last = self.storage.last_revision_id()?;
        let indexed = self.indexer.index().indexed_up_to();
        if let Err(err) = &indexed {
            tracing::warn!(error = %err, "the search index does not answer");
        }
        Ok(indexed.ok().map(|indexed| last.saturating_sub(indexed)))
    }

    /// `GET /+healthz`.
    pub(crate) fn healthz(&self) -> Result<Response, WikiError> {
        let health = match self.index_lag() {
            Ok(index_lag) => Health {
                status: "ok",
                database: "ok",
                index_lag,
            },
            Err(err) => {
                tracing::error!(error = %err, "health check: the database does not answer");
                Health {
                    status: "unavailable",
                    database: "unavailable",
                    index_lag: None,
                }
            }
        };
        let status = if health.database == "ok" {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        let body = serde_json::to_vec(&health).map_err(gateway::HttpError::internal)?;
        let mut response = typed_response(body, "application/json");
        *response.status_mut() = status;
        Ok(response)
    }
}

/// The sitemap for `pages` (name, last change), `per_file` URLs a file: all of them when they fit
/// in one, else the index (no `page`) or file `page` (from 1). `None` for a file that does not exist.
fn sitemap_xml(
    origin: &str,
    urls: &Urls,
    pages: &[(String, i64)],
    page: Option<usize>,
    per_file: usize,
) -> Result<Option<String>, WikiError> {
    let per_file = per_file.max(1);
    let files = pages.len().div_ceil(per_file).max(1);
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let chunk = match page {
        None if files > 1 => {
            xml.push_str(&format!("<sitemapindex xmlns=\"{SITEMAP_NS}\">\n"));
            for file in 1..=files {
                let loc = xml_text(&format!("{origin}{}", urls.sitemap(Some(file))))?;
                xml.push_str(&format!("  <sitemap><loc>{loc}</loc></sitemap>\n"));
            }
            xml.push_str("</sitemapindex>\n");
            return Ok(Some(xml));
        }
        None => pages,
        Some(file) if (1..=files).contains(&file) => {
            let start = (file - 1) * per_file;
            &pages[start..pages.len().min(start + per_file)]
        }
        Some(_) => return Ok(None),
    };
    xml.push_str(&format!("<urlset xmlns=\"{SITEMAP_NS}\">\n"));
    for (name, time) in chunk {
        let loc = xml_text(&format!("{origin}{}", urls.page_text(name)))?;
        let lastmod = OffsetDateTime::from_unix_timestamp(*time)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .format(&Rfc3339)
            .map_err(HttpError::internal)?;
        xml.push_str(&format!(
            "  <url><loc>{loc}</loc><lastmod>{lastmod}</lastmod></url>\n"
        ));
    }
    xml.push_str("</urlset>\n");
    Ok(Some(xml))
}

#[cfg(test)]
mod tests {
    use quick_xml::events::Event;
    use quick_xml::Reader;

    use super::*;

    /// The text of every `<loc>` in `xml`, which must parse as XML, and the root element's name.
    fn parse_locs(xml: &str) -> (String, Vec<String>) {
        let mut reader = Reader::from_str(xml);
        let (mut root, mut locs, mut in_loc) = (None, Vec::new(), false);
        loop {
            match reader.read_event().unwrap() {
                Event::Start(tag) => {
                    let name = String::from_utf8(tag.name().as_ref().to_vec()).unwrap();
                    root.get_or_insert_with(|| name.clone());
                    in_loc = name == "loc";
                    if in_loc {
                        locs.push(String::new());
                    }
                }
                Event::Text(text) if in_loc => {
                    let last = locs.last_mut().unwrap();
                    last.push_str(&text.decode().unwrap());
                }
                Event::GeneralRef(reference) if in_loc => {
                    let last = locs.last_mut().unwrap();
                    let name = reference.decode().unwrap();
                    last.push_str(quick_xml::escape::resolve_predefined_entity(&name).unwrap());
                }
                Event::End(_) => in_loc = false,
                Event::Eof => break,
                _ => {}
            }
        }
        (root.unwrap(), locs)
    }

    fn pages(names: &[&str]) -> Vec<(String, i64)> {
        names
            .iter()
            .map(|name| ((*name).to_owned(), 1_795_615_389))
            .collect()
    }

    #[test]
    fn one_file_lists_every_page_absolute_escaped_with_its_lastmod() {
        let urls = Urls::new("/wiki");
        let pages = pages(&["A&B", "Café", "C<D>"]);
        let xml = sitemap_xml("https://example.org", &urls, &pages, None, 10)
            .unwrap()
            .unwrap();
        assert!(
            xml.contains("<lastmod>2026-11-25T14:03:09Z</lastmod>"),
            "{xml}"
        );
        let (root, locs) = parse_locs(&xml);
        assert_eq!(root, "urlset");
        assert_eq!(
            locs,
            [
                format!("https://example.org{}", urls.page_text("A&B")),
                "https://example.org/wiki/Caf%C3%A9".to_owned(),
                format!("https://example.org{}", urls.page_text("C<D>")),
            ]
        );
        assert_eq!(
            sitemap_xml("https://example.org", &urls, &pages, Some(1), 10).unwrap(),
            Some(xml)
        );
        assert_eq!(
            sitemap_xml("https://example.org", &urls, &pages, Some(2), 10).unwrap(),
            None
        );
        let (root, locs) = parse_locs(
            &sitemap_xml("https://example.org", &urls, &[], None, 10)
                .unwrap()
                .unwrap(),
        );
        assert_eq!((root.as_str(), locs.len()), ("urlset", 0));
    }

    #[test]
    fn past_the_limit_it_is_an_index_of_files_under_the_limit() {
        let urls = Urls::new("");
        let pages = pages(&["A", "B", "C", "D", "E"]);
        let index = sitemap_xml("http://w", &urls, &pages, None, 2)
            .unwrap()
            .unwrap();
        let (root, files) = parse_locs(&index);
        assert_eq!(root, "sitemapindex");
        assert_eq!(
            files,
            [
                "http://w/sitemap.xml?page=1",
                "http://w/sitemap.xml?page=2",
                "http://w/sitemap.xml?page=3"
            ]
        );
        let mut listed = Vec::new();
        for file in 1..=3 {
            let xml = sitemap_xml("http://w", &urls, &pages, Some(file), 2)
                .unwrap()
                .unwrap();
            let (root, file_locs) = parse_locs(&xml);
            assert_eq!(root, "urlset");
            assert!(file_locs.len() <= 2);
            listed.extend(file_locs);
        }
        assert_eq!(
            listed,
            ["A", "B", "C", "D", "E"].map(|name| format!("http://w/{name}"))
        );
        assert_eq!(
            sitemap_xml("http://w", &urls, &pages, Some(4), 2).unwrap(),
            None
        );
        assert_eq!(
            sitemap_xml("http://w", &urls, &pages, Some(0), 2).unwrap(),
            None
        );
    }
}
