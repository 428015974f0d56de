//! Atom and RSS 2.0 feeds of changes, for the whole wiki and for one page.
//!
//! The XML is written by the rust-syndication crates (`atom_syndication`, `rss`), which escape and
//! order everything as the formats require; templates could do it, but an unescaped comment would
//! break every reader at once. Feed readers need absolute URLs: they are the request's origin (the
//! `Host` the client used, else the server's name and port) followed by the usual mount-prefixed
//! URLs from `Urls`, so ids and links stay right under any mount prefix.
//!
//! What users wrote (comments, page and author names) is text, but the two formats read it
//! differently. Atom says so: its titles and summaries are `type="text"`, so readers show them as
//! written and the XML escaping is all they need. RSS 2.0 has no such attribute, and readers render
//! an item's description (and often any title) as HTML, so every text that goes into an RSS title or
//! description is HTML-escaped first, with the workspace's one HTML escape, pulldown-cmark's; the
//! XML escaping (or CDATA section) then comes on top.
//!
//! Ids are the absolute URL of the revision an entry is about (`…/Page?rev=N`): unique, stable, and
//! a reader that follows one lands on that very revision.

use atom_syndication as atom;
use gateway::{HttpError, Response};
use pulldown_cmark_escape::escape_html;
use storage::{Change, ChangeKind, RecentQuery};
use time::format_description::well_known::{Rfc2822, Rfc3339};
use time::OffsetDateTime;

use crate::wiki::history::recent::FileChangeRow;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::respond::typed_response;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::{Exchange, Wiki, WikiError};

/// How many changes a feed carries.
const FEED_ENTRIES: usize = 50;

/// The two formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedFormat {
    Atom,
    Rss,
}

impl FeedFormat {
    /// The name in URLs: `atom` or `rss`.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedFormat::Atom => "atom",
            FeedFormat::Rss => "rss",
        }
    }

    /// The format named `word` in a URL.
    pub fn parse(word: &str) -> Option<FeedFormat> {
        [FeedFormat::Atom, FeedFormat::Rss]
            .into_iter()
            .find(|format| format.as_str() == word)
    }

    /// The media type for `<link rel="alternate">` and the response.
    pub fn media_type(self) -> &'static str {
        match self {
            FeedFormat::Atom => "application/atom+xml",
            FeedFormat::Rss => "application/rss+xml",
        }
    }
}

/// One change, ready for either format.
struct Entry {
    title: String,
    id: String,
    link: String,
    author: String,
    time: i64,
    summary: String,
}

impl Wiki {
    /// `/+feed/{atom|rss}` and `/+feed/{atom|rss}/{Page}`.
    pub(crate) fn feed(
        &self,
        exchange: &Exchange,
        format: FeedFormat,
        page: Option<&PageName>,
    ) -> Result<Response, WikiError> {
        let origin = self.origin(&exchange.request);
        let urls = &exchange.urls;
        let changes = match page {
            None => self.storage.recent(&RecentQuery {
                limit: FEED_ENTRIES,
                before: None,
                author: None,
                prefix: None,
            })?,
            // Its past is checked by dispatch: the route's guard (`Guard::PagePast`).
            Some(name) => self.page_changes(name)?,
        };
        let access = self.access(&exchange.viewer)?;
        let mut entries = readable_entries(&origin, urls, &access, changes);
        // The site's feed also tells of files: the newest changes of both logs, by time.
        if page.is_none() {
            let files = self.storage.recent_files(&RecentQuery {
                limit: FEED_ENTRIES,
                before: None,
                author: None,
                prefix: None,
            })?;
            entries.extend(
                files
                    .into_iter()
                    .filter(|version| access.can_read(&version.page))
                    .filter_map(|version| FileChangeRow::new(urls, version))
                    .map(|row| file_entry(&origin, row)),
            );
            entries.sort_by_key(|entry| std::cmp::Reverse(entry.time));
            entries.truncate(FEED_ENTRIES);
        }
        let (title, alternate) = match page {
            None => (
                format!("{} — recent changes", self.settings.site_name),
                urls.to(&Route::Recent),
            ),
            Some(name) => (
                format!("{} — changes to {name}", self.settings.site_name),
                urls.to(&Route::History(name.clone())),
            ),
        };
        let feed = FeedMeta {
            title,
            self_url: format!("{origin}{}", urls.feed(format, page)),
            alternate: format!("{origin}{alternate}"),
        };
        let body = match format {
            FeedFormat::Atom => atom_xml(&feed, &entries),
            FeedFormat::Rss => rss_xml(&feed, &entries)?,
        };
        let content_type = match format {
            FeedFormat::Atom => "application/atom+xml; charset=utf-8",
            FeedFormat::Rss => "application/rss+xml; charset=utf-8",
        };
        Ok(typed_response(body, content_type))
    }

    /// `/+watchfeed?token=…`: the Atom feed of changes to the pages the token's account watches,
    /// those it may read only. The token is the account's secret (`/+watching` shows the
    /// address); a token that opens nothing is a 404, whatever it looks like.
    pub(crate) fn watched_feed(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let query = exchange.query()?;
        let token = query.get("token").unwrap_or_default();
        let not_found = || {
            WikiError::from(HttpError::not_found(
                "There is no feed at this address. The address shown on your Watching page is the one that works.",
            ))
        };
        let user = self.storage.feed_account(token)?.ok_or_else(not_found)?;
        if user.disabled {
            return Err(not_found());
        }
        let origin = self.origin(&exchange.request);
        let urls = &exchange.urls;
        let viewer = crate::wiki::plumbing::viewer::Viewer::account(&user, "feed".to_owned());
        let access = self.access(&viewer)?;
        let changes = self.storage.watched_changes(&user.name, FEED_ENTRIES)?;
        let entries = readable_entries(&origin, urls, &access, changes);
        let feed = FeedMeta {
            title: format!("{} — pages {} watches", self.settings.site_name, user.name),
            self_url: format!("{origin}{}", urls.watch_feed(token)),
            alternate: format!("{origin}{}", urls.to(&Route::Watching)),
        };
        Ok(typed_response(
            atom_xml(&feed, &entries),
            "application/atom+xml; charset=utf-8",
        ))
    }

    /// A page's latest revisions as changes (its history, with the size deltas worked out).
    fn page_changes(&self, name: &PageName) -> Result<Vec<Change>, WikiError> {
        // One more than shown: the oldest shown needs its predecessor's size for its delta.
        let history = self.storage.history(name.as_str(), FEED_ENTRIES + 1, 0)?;
        if history.is_empty() {
            return Err(HttpError::not_found(format!(
                "There is no page called {name}, so it has no feed."
            ))
            .into());
        }
        let sizes: Vec<u64> = history.iter().map(|meta| meta.size).collect();
        Ok(history
            .into_iter()
            .take(FEED_ENTRIES)
            .enumerate()
            .map(|(index, meta)| {
                let before = if meta.rev == 1 {
                    0
                } else {
                    sizes.get(index + 1).copied().unwrap_or(0)
                };
                Change {
                    id: 0,
                    size_delta: size_delta(meta.size, before),
                    meta,
                }
            })
            .collect())
    }
}

/// The entries of `changes` whose pages' past `access` may read.
fn readable_entries(
    origin: &str,
    urls: &crate::wiki::plumbing::urls::Urls,
    access: &crate::wiki::plumbing::access::Access<'_>,
    changes: Vec<Change>,
) -> Vec<Entry> {
    changes
        .into_iter()
        .filter(|change| access.can_read_history(&change.meta.page))
        .filter_map(|change| {
            let name = PageName::parse(&change.meta.page).ok()?;
            Some(entry(origin, urls, &name, change))
        })
        .collect()
}

fn size_delta(after: u64, before: u64) -> i64 {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let before = i64::try_from(before).unwrap_or(i64::MAX);
    after.saturating_sub(before)
}

struct FeedMeta {
    title: String,
    self_url: String,
    alternate: String,
}

fn entry(
    origin: &str,
    urls: &crate::wiki::plumbing::urls::Urls,
    name: &PageName,
    change: Change,
) -> Entry {
    let what = match &change.meta.kind {
        ChangeKind::Edit if change.meta.rev == 1 => "created".to_owned(),
        ChangeKind::Edit => "edited".to_owned(),
        ChangeKind::Delete => "deleted".to_owned(),
        ChangeKind::Undelete => "undeleted".to_owned(),
        ChangeKind::Rename { from } => format!("renamed from {from}"),
    };
    let link = match change.meta.rev {
        1 => urls.page_revision(name, 1),
        rev => urls.diff(name, rev - 1, rev),
    };
    let delta = match change.size_delta {
        delta if delta > 0 => format!("+{delta}"),
        delta => delta.to_string(),
    };
    let mut summary = format!(
        "Revision {} of {name}, {what} by {} ({delta} bytes)",
        change.meta.rev, change.meta.author
    );
    if !change.meta.comment.is_empty() {
        summary.push_str(": ");
        summary.push_str(&change.meta.comment);
    }
    summary.push('.');
    Entry {
        title: format!("{name} {what} by {}", change.meta.author),
        id: format!("{origin}{}", urls.page_revision(name, change.meta.rev)),
        link: format!("{origin}{link}"),
        author: change.meta.author,
        time: change.meta.time,
        summary,
    }
}

/// An upload, deletion or restore of a file, as a feed entry.
fn file_entry(origin: &str, row: FileChangeRow) -> Entry {
    let what = match row.kind {
        "delete" => "deleted",
        "restore" => "restored",
        _ if row.version == 1 => "uploaded",
        _ => "uploaded a new version of",
    };
    let mut summary = format!(
        "{} {what} {} on {} (version {})",
        row.author, row.file_name, row.page_name, row.version
    );
    if !row.comment.is_empty() {
        summary.push_str(": ");
        summary.push_str(&row.comment);
    }
    summary.push('.');
    Entry {
        title: format!(
            "{} {what} {} on {}",
            row.author, row.file_name, row.page_name
        ),
        id: format!("{origin}{}#v{}", row.history_url, row.version),
        link: format!("{origin}{}", row.file_url.unwrap_or(row.history_url)),
        author: row.author,
        time: row.time,
        summary,
    }
}

fn utc(unix_seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix_seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// An RFC 3339 time as Atom's date type (`chrono`'s, named through `atom_syndication` so the app
/// needs no second date crate).
fn atom_time(unix_seconds: i64) -> atom::FixedDateTime {
    let text = utc(unix_seconds)
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned());
    atom::FixedDateTime::parse_from_rfc3339(&text).unwrap_or_default()
}

fn atom_xml(feed: &FeedMeta, entries: &[Entry]) -> String {
    let updated = entries.first().map_or(0, |entry| entry.time);
    let link = |href: &str, rel: &str, mime: Option<&str>| atom::Link {
        href: href.to_owned(),
        rel: rel.to_owned(),
        mime_type: mime.map(str::to_owned),
        ..atom::Link::default()
    };
    let out = atom::Feed {
        title: atom::Text::plain(feed.title.clone()),
        id: feed.self_url.clone(),
        updated: atom_time(updated),
        links: vec![
            link(&feed.self_url, "self", Some(FeedFormat::Atom.media_type())),
            link(&feed.alternate, "alternate", Some("text/html")),
        ],
        generator: Some(atom::Generator {
            value: "quire".to_owned(),
            ..atom::Generator::default()
        }),
        entries: entries
            .iter()
            .map(|entry| atom::Entry {
                title: atom::Text::plain(entry.title.clone()),
                id: entry.id.clone(),
                updated: atom_time(entry.time),
                authors: vec![atom::Person {
                    name: entry.author.clone(),
                    ..atom::Person::default()
                }],
                links: vec![link(&entry.link, "alternate", Some("text/html"))],
                summary: Some(atom::Text::plain(entry.summary.clone())),
                ..atom::Entry::default()
            })
            .collect(),
        ..atom::Feed::default()
    };
    out.to_string()
}

fn rss_xml(feed: &FeedMeta, entries: &[Entry]) -> Result<String, WikiError> {
    let rfc2822 = |time: i64| utc(time).format(&Rfc2822).ok();
    let title = html(&feed.title)?;
    let items = entries
        .iter()
        .map(|entry| {
            Ok(rss::Item {
                title: Some(html(&entry.title)?),
                link: Some(entry.link.clone()),
                description: Some(html(&entry.summary)?),
                guid: Some(rss::Guid {
                    value: entry.id.clone(),
                    permalink: true,
                }),
                pub_date: rfc2822(entry.time),
                ..rss::Item::default()
            })
        })
        .collect::<Result<_, WikiError>>()?;
    let channel = rss::Channel {
        title: title.clone(),
        link: feed.alternate.clone(),
        description: title,
        generator: Some("quire".to_owned()),
        last_build_date: entries.first().and_then(|entry| rfc2822(entry.time)),
        items,
        ..rss::Channel::default()
    };
    let bytes = channel.write_to(Vec::new()).map_err(HttpError::internal)?;
    String::from_utf8(bytes).map_err(|err| HttpError::internal(err).into())
}

/// `text` as RSS readers take titles and descriptions: HTML (see the module doc).
pub(crate) fn html(text: &str) -> Result<String, WikiError> {
    let mut out = String::with_capacity(text.len());
    escape_html(&mut out, text).map_err(HttpError::internal)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (FeedMeta, Vec<Entry>) {
        let feed = FeedMeta {
            title: "Team Wiki — recent changes".into(),
            self_url: "https://example.org/wiki/+feed/atom".into(),
            alternate: "https://example.org/wiki/+recent".into(),
        };
        let entries = vec![Entry {
            title: "Notes edited by ann".into(),
            id: "https://example.org/wiki/Notes?rev=2".into(),
            link: "https://example.org/wiki/+diff/Notes?from=1&to=2".into(),
            author: "ann <&>".into(),
            time: 1_795_615_389,
            summary: "a comment with <b>tags</b> & \"quotes\"".into(),
        }];
        (feed, entries)
    }

    #[test]
    fn atom_is_well_formed_and_escapes_what_users_wrote() {
        let (feed, entries) = sample();
        let xml = atom_xml(&feed, &entries);
        let parsed: atom::Feed = xml.parse().unwrap();
        assert_eq!(parsed.entries().len(), 1);
        assert_eq!(
            parsed.entries()[0].id(),
            "https://example.org/wiki/Notes?rev=2"
        );
        assert_eq!(
            parsed.entries()[0].summary().map(|s| s.value.as_str()),
            Some("a comment with <b>tags</b> & \"quotes\"")
        );
        assert_eq!(parsed.updated().to_rfc3339(), "2026-11-25T14:03:09+00:00");
        assert!(xml.contains("&lt;b&gt;"), "{xml}");
        assert!(
            xml.contains("href=\"https://example.org/wiki/+diff/Notes?from=1&amp;to=2\""),
            "{xml}"
        );
    }

    #[test]
    fn rss_is_well_formed_with_rfc2822_dates() {
        let (feed, entries) = sample();
        let xml = rss_xml(&feed, &entries).unwrap();
        let parsed = rss::Channel::read_from(xml.as_bytes()).unwrap();
        let item = &parsed.items()[0];
        assert_eq!(item.pub_date(), Some("Wed, 25 Nov 2026 14:03:09 +0000"));
        assert_eq!(
            item.guid().map(|g| g.value()),
            Some("https://example.org/wiki/Notes?rev=2")
        );
        assert_eq!(
            item.link(),
            Some("https://example.org/wiki/+diff/Notes?from=1&to=2")
        );
    }

    #[test]
    fn rss_escapes_html_in_titles_and_descriptions() {
        let (mut feed, mut entries) = sample();
        feed.title = "R&D <wiki>".into();
        entries[0].title = "Evil \"><i>Name edited by ann".into();
        entries[0].summary = "a comment: \"><img src=x onerror=alert(1)>".into();
        let xml = rss_xml(&feed, &entries).unwrap();
        assert!(!xml.contains("<img"), "{xml}");
        let parsed = rss::Channel::read_from(xml.as_bytes()).unwrap();
        assert_eq!(parsed.title(), "R&amp;D &lt;wiki&gt;");
        let item = &parsed.items()[0];
        assert_eq!(
            item.title(),
            Some("Evil &quot;&gt;&lt;i&gt;Name edited by ann")
        );
        assert_eq!(
            item.description(),
            Some("a comment: &quot;&gt;&lt;img src=x onerror=alert(1)&gt;")
        );
    }

    #[test]
    fn an_empty_feed_is_still_valid() {
        let (feed, _) = sample();
        let xml = atom_xml(&feed, &[]);
        assert!(xml.parse::<atom::Feed>().is_ok(), "{xml}");
        let xml = rss_xml(&feed, &[]).unwrap();
        assert!(rss::Channel::read_from(xml.as_bytes()).is_ok(), "{xml}");
    }
}
