//! Recent changes across the wiki and one person's contributions: paged by a cursor (the last
//! change's global id, so a page never shifts while people save), grouped by day, filtered by author
//! and page-name prefix.

use gateway::{HttpError, Response};
use http::StatusCode;
use minijinja::value::Value;
use serde::Serialize;
use storage::{Change, ChangeKind, FileChange, FileVersion, RecentQuery};

use crate::wiki::plumbing::file_name::FileName;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::params::filter_param;
use crate::wiki::plumbing::routes::{FileRoute, Route};
use crate::wiki::plumbing::rows::Row;
use crate::wiki::plumbing::urls::{PageRowLinks, RecentFilter, Urls};
use crate::wiki::{Exchange, Wiki, WikiError};

/// How many changes one page of recent changes shows.
const CHANGES_PER_PAGE: usize = 100;

/// How many file changes (uploads, deletions, restores) the first page of recent changes shows.
const FILE_CHANGES_SHOWN: usize = 50;

#[derive(Serialize)]
struct RecentView {
    #[serde(flatten)]
    layout: Layout,
    heading: String,
    /// Rows of [`ROW_KEYS`].
    changes: Value,
    /// The filter form: where it goes and what it holds now.
    filter_url: String,
    author: String,
    prefix: String,
    /// One person's contributions (the author filter is fixed by the address).
    is_contributions: bool,
    next_url: Option<String>,
    first_url: Option<String>,
    /// The newest uploads, deletions and restores of files, on the first page only.
    file_changes: Vec<FileChangeRow>,
    orphans_url: String,
    wanted_url: String,
    /// A logged-in reader's bookmark (MoinMoin's): changes after it are marked new.
    bookmark: Option<Bookmark>,
}

/// Where a reader's bookmark in recent changes is, and the form that moves it to now.
#[derive(Serialize)]
struct Bookmark {
    /// Unix seconds; `None` before the first time it was set.
    time: Option<i64>,
    /// Where the form that sets it to now posts.
    set_url: String,
}

/// The keys of a row of recent changes or contributions (a [`Row`]), in the order a template
/// that lists them sees them.
const ROW_KEYS: [&str; 14] = [
    "page_name",
    "page_url",
    "rev",
    // `edit`, `create`, `delete`, `undelete` or `rename`.
    "kind",
    // For a rename: the page's name before; else none.
    "renamed_from",
    "author",
    "contributions_url",
    "time",
    // The UTC date (`2026-11-25`), which the list is grouped by.
    "day",
    "comment",
    "size",
    "size_delta",
    // None for a page's first revision.
    "diff_url",
    "history_url",
];

/// Makes the rows of one page of changes, sharing what rows repeat: an author's name and link (a
/// page has few authors) and the day (most rows share theirs with the row before).
struct RowMaker<'a> {
    urls: &'a Urls,
    links: PageRowLinks<'a>,
    /// Each author met so far, with their name and contributions link as values.
    authors: Vec<(String, Value, Value)>,
    /// The last row's day, as days since 1970, and as text.
    day: Option<(i64, Value)>,
}

impl<'a> RowMaker<'a> {
    fn new(urls: &'a Urls) -> Self {
        RowMaker {
            urls,
            links: urls.page_row_links(),
            authors: Vec::new(),
            day: None,
        }
    }

    /// The row for `change`, or `None` for a name that no longer parses (say, after a rule
    /// change): such a row is skipped, not fatal.
    fn row(&mut self, change: Change) -> Option<Value> {
        let meta = change.meta;
        let Ok(name) = PageName::parse(&meta.page) else {
            tracing::warn!(page = %meta.page, "a recent change names an invalid page");
            return None;
        };
        let (kind, renamed_from) = match meta.kind {
            ChangeKind::Edit if meta.rev == 1 => ("create", None),
            ChangeKind::Edit => ("edit", None),
            ChangeKind::Delete => ("delete", None),
            ChangeKind::Undelete => ("undelete", None),
            ChangeKind::Rename { from } => ("rename", Some(from)),
        };
        self.links.set_page(&name);
        let page_url = Value::from(self.links.view());
        let history_url = Value::from(self.links.history());
        let diff_url = (meta.rev > 1).then(|| Value::from(self.links.diff(meta.rev - 1, meta.rev)));
        let (author, contributions_url) = self.author(meta.author);
        let day = self.day(meta.time);
        Some(Row::value(
            &ROW_KEYS,
            [
                Value::from(meta.page),
                page_url,
                Value::from(meta.rev),
                Value::from(kind),
                Value::from(renamed_from),
                author,
                contributions_url,
                Value::from(meta.time),
                day,
                Value::from(meta.comment),
                Value::from(meta.size),
                Value::from(change.size_delta),
                Value::from(diff_url),
                history_url,
            ],
        ))
    }

    /// `author`'s name and contributions link.
    fn author(&mut self, author: String) -> (Value, Value) {
        if let Some((_, name, url)) = self.authors.iter().find(|(known, ..)| *known == author) {
            return (name.clone(), url.clone());
        }
        let url = Value::from(self.urls.contributions(&author));
        let name = Value::from(author.as_str());
        self.authors.push((author, name.clone(), url.clone()));
        (name, url)
    }

    /// The day of `unix_seconds` (`day_of`).
    fn day(&mut self, unix_seconds: i64) -> Value {
        const SECONDS_A_DAY: i64 = 24 * 60 * 60;
        let number = unix_seconds.div_euclid(SECONDS_A_DAY);
        match &self.day {
            Some((known, text)) if *known == number => text.clone(),
            _ => {
                let text = Value::from(day_of(unix_seconds));
                self.day = Some((number, text.clone()));
                text
            }
        }
    }
}

/// One change of a file as recent changes and the feeds show it.
#[derive(Serialize)]
pub(crate) struct FileChangeRow {
    pub page_name: String,
    pub page_url: String,
    pub file_name: String,
    /// The version it made; `None` for a deletion, which has no bytes to show.
    pub file_url: Option<String>,
    pub history_url: String,
    pub version: u64,
    /// `upload`, `delete` or `restore`.
    pub kind: &'static str,
    pub author: String,
    pub contributions_url: String,
    pub time: i64,
    pub comment: String,
    pub size: u64,
}

impl FileChangeRow {
    /// The row for `version`, or `None` for a page or file name that no longer parses.
    pub(crate) fn new(urls: &Urls, version: FileVersion) -> Option<FileChangeRow> {
        let page = PageName::parse(&version.page).ok()?;
        let name = FileName::parse(&version.name).ok()?;
        let file = FileRoute { page, name };
        let kind = match version.change {
            FileChange::Upload => "upload",
            FileChange::Delete => "delete",
            FileChange::Restore { .. } => "restore",
        };
        Some(FileChangeRow {
            page_url: urls.page(&file.page),
            file_url: version
                .content
                .is_some()
                .then(|| urls.file_version(&file, version.version)),
            history_url: urls.to(&Route::FileHistory(file.clone())),
            contributions_url: urls.contributions(&version.uploader),
            page_name: version.page,
            file_name: version.name,
            version: version.version,
            kind,
            author: version.uploader,
            time: version.time,
            comment: version.comment,
            size: version.content.map_or(0, |content| content.size),
        })
    }
}

impl Wiki {
    /// `/+recent?author=…&prefix=…&before=ID`.
    pub(crate) fn recent(&self, exchange: &Exchange) -> Result<Response, WikiError> {
        let query = exchange.query()?;
        let author = filter_param(query.get("author"), "author")?;
        let prefix = filter_param(query.get("prefix"), "prefix")?;
        let before = cursor_param(query.get("before"))?;
        self.changes_page(exchange, RecentFilter { author, prefix }, before, false)
    }

    /// `/+contributions/{user}`: what one person changed, newest first.
    pub(crate) fn contributions(
        &self,
        exchange: &Exchange,
        user: &str,
    ) -> Result<Response, WikiError> {
        let query = exchange.query()?;
        let prefix = filter_param(query.get("prefix"), "prefix")?;
        let before = cursor_param(query.get("before"))?;
        let author = filter_param(Some(user), "user")?;
        self.changes_page(exchange, RecentFilter { author, prefix }, before, true)
    }

    fn changes_page(
        &self,
        exchange: &Exchange,
        filter: RecentFilter,
        before: Option<u64>,
        is_contributions: bool,
    ) -> Result<Response, WikiError> {
        let urls = &exchange.urls;
        let found = self.storage.recent(&RecentQuery {
            // One more than shown tells whether there is a next page.
            limit: CHANGES_PER_PAGE + 1,
            before,
            author: filter.author.clone(),
            prefix: filter.prefix.clone(),
        })?;
        let more = found.len() > CHANGES_PER_PAGE;
        let last_id = found
            .get(CHANGES_PER_PAGE.saturating_sub(1))
            .map(|change| change.id);
        let access = self.access(&exchange.viewer)?;
        let mut rows = RowMaker::new(urls);
        let changes: Vec<Value> = found
            .into_iter()
            .take(CHANGES_PER_PAGE)
            // Pages this viewer may not read leave no row; the cursor still pages by all changes.
            .filter(|change| access.can_read_history(&change.meta.page))
            .filter_map(|change| rows.row(change))
            .collect();
        // Files changed: on the first page, the newest few (their own log, beside the revisions').
        let file_changes = if before.is_none() {
            self.storage
                .recent_files(&RecentQuery {
                    limit: FILE_CHANGES_SHOWN,
                    before: None,
                    author: filter.author.clone(),
                    prefix: filter.prefix.clone(),
                })?
                .into_iter()
                .filter(|version| access.can_read(&version.page))
                .filter_map(|version| FileChangeRow::new(urls, version))
                .collect()
        } else {
            Vec::new()
        };
        let page_url = |before: Option<u64>| {
            if is_contributions {
                let author = filter.author.as_deref().unwrap_or_default();
                urls.contributions_page(author, filter.prefix.as_deref(), before)
            } else {
                urls.recent(&filter, before)
            }
        };
        let (heading, filter_url) = match (&filter.author, is_contributions) {
            (Some(author), true) => (
                format!("Contributions of {author}"),
                urls.contributions(author),
            ),
            _ => ("Recent changes".to_owned(), urls.to(&Route::Recent)),
        };
        let view = RecentView {
            layout: self.layout(exchange, &heading, None),
            heading,
            changes: Value::from(changes),
            filter_url,
            author: filter.author.clone().unwrap_or_default(),
            prefix: filter.prefix.clone().unwrap_or_default(),
            is_contributions,
            next_url: more.then(|| page_url(last_id)),
            first_url: before.is_some().then(|| page_url(None)),
            file_changes,
            orphans_url: urls.to(&Route::Orphans),
            wanted_url: urls.to(&Route::Wanted),
            bookmark: match (&exchange.viewer.name, is_contributions) {
                (Some(account), false) => Some(Bookmark {
                    time: self.storage.watch_settings(account)?.bookmark,
                    set_url: urls.to(&Route::Bookmark),
                }),
                _ => None,
            },
        };
        self.html(StatusCode::OK, "recent.html", view)
    }
}

fn cursor_param(value: Option<&str>) -> Result<Option<u64>, WikiError> {
    match value.filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(value) => value.parse::<u64>().map(Some).map_err(|_| {
            HttpError::bad_request(format!(
                "\u{201c}before\u{201d} must be a change number, not \u{201c}{value}\u{201d}."
            ))
            .into()
        }),
    }
}

/// `2026-11-25` for a unix time, in UTC.
pub(crate) fn day_of(unix_seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|moment| {
            moment
                .format(time::macros::format_description!("[year]-[month]-[day]"))
                .ok()
        })
        .unwrap_or_else(|| "unknown date".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_trimmed_and_bounded() {
        assert_eq!(filter_param(Some("  "), "author").unwrap(), None);
        assert_eq!(
            filter_param(Some(" Team/ "), "prefix").unwrap(),
            Some("Team/".to_owned())
        );
        assert!(filter_param(Some("a\nb"), "author").is_err());
        assert!(filter_param(Some(&"x".repeat(600)), "author").is_err());
        assert_eq!(cursor_param(Some("17")).unwrap(), Some(17));
        assert!(cursor_param(Some("-1")).is_err());
    }

    #[test]
    fn days_are_utc_dates() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_795_615_389), "2026-11-25");
        assert_eq!(day_of(i64::MAX), "unknown date");
    }
}
