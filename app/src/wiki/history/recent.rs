//! Recent changes across the wiki and one person's contributions: paged by a cursor (the last
//! change's global id, so a page never shifts while people save), grouped by day, filtered by author
//! and page-name prefix.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::{Change, ChangeKind, FileChange, FileVersion, RecentQuery};

use crate::wiki::plumbing::file_name::FileName;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::params::filter_param;
use crate::wiki::plumbing::routes::{FileRoute, Route};
use crate::wiki::plumbing::urls::{RecentFilter, Urls};
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
    changes: Vec<RecentRow>,
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
}

/// One change as the recent-changes list and the feeds show it.
#[derive(Serialize)]
pub(crate) struct RecentRow {
    pub page_name: String,
    pub page_url: String,
    pub rev: u64,
    /// `edit`, `create`, `delete`, `undelete` or `rename`.
    pub kind: &'static str,
    /// For a rename: the page's name before.
    pub renamed_from: Option<String>,
    pub author: String,
    pub contributions_url: String,
    pub time: i64,
    pub day: String,
    pub comment: String,
    pub size: u64,
    pub size_delta: i64,
    pub diff_url: Option<String>,
    pub history_url: String,
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

impl RecentRow {
    /// The row for `change`, or `None` for a name that no longer parses (say, after a rule change):
    /// such a row is skipped, not fatal.
    pub(crate) fn new(urls: &Urls, change: Change) -> Option<RecentRow> {
        let Ok(name) = PageName::parse(&change.meta.page) else {
            tracing::warn!(page = %change.meta.page, "a recent change names an invalid page");
            return None;
        };
        let (kind, renamed_from) = match change.meta.kind {
            ChangeKind::Edit if change.meta.rev == 1 => ("create", None),
            ChangeKind::Edit => ("edit", None),
            ChangeKind::Delete => ("delete", None),
            ChangeKind::Undelete => ("undelete", None),
            ChangeKind::Rename { from } => ("rename", Some(from)),
        };
        Some(RecentRow {
            page_url: urls.page(&name),
            diff_url: (change.meta.rev > 1)
                .then(|| urls.diff(&name, change.meta.rev - 1, change.meta.rev)),
            history_url: urls.to(&Route::History(name.clone())),
            contributions_url: urls.contributions(&change.meta.author),
            page_name: change.meta.page,
            rev: change.meta.rev,
            kind,
            renamed_from,
            day: day_of(change.meta.time),
            author: change.meta.author,
            time: change.meta.time,
            comment: change.meta.comment,
            size: change.meta.size,
            size_delta: change.size_delta,
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
        let changes: Vec<RecentRow> = found
            .into_iter()
            .take(CHANGES_PER_PAGE)
            // Pages this viewer may not read leave no row; the cursor still pages by all changes.
            .filter(|change| access.can_read_history(&change.meta.page))
            .filter_map(|change| RecentRow::new(urls, change))
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
            changes,
            filter_url,
            author: filter.author.clone().unwrap_or_default(),
            prefix: filter.prefix.clone().unwrap_or_default(),
            is_contributions,
            next_url: more.then(|| page_url(last_id)),
            first_url: before.is_some().then(|| page_url(None)),
            file_changes,
            orphans_url: urls.to(&Route::Orphans),
            wanted_url: urls.to(&Route::Wanted),
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
