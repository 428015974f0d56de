//! What a page's history is made of: revisions, their metadata, and site-wide changes.

use rusqlite::types::Value;
use rusqlite::Row;

use crate::error::StorageError;

/// The only body format so far: the text itself, UTF-8.
pub(crate) const FORMAT_PLAIN: &str = "plain";

/// One saved version of a page, with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// The page name, exactly as saved.
    pub page: String,
    /// 1, 2, 3… per page, without gaps.
    pub rev: u64,
    /// Who saved it, as the app named them.
    pub author: String,
    /// When, in unix seconds UTC.
    pub time: i64,
    /// The edit comment; may be empty.
    pub comment: String,
    /// Length of `text` in bytes.
    pub size: u64,
    /// The page source.
    pub text: String,
}

/// A revision with its global id: an entry of the revision log ([`crate::Storage::revisions_after`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRevision {
    /// Global, never reused, growing with every save across the wiki.
    pub id: u64,
    /// The revision.
    pub revision: Revision,
}

/// A revision without its text, for history listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionMeta {
    /// The page name.
    pub page: String,
    /// 1, 2, 3… per page.
    pub rev: u64,
    /// Who saved it.
    pub author: String,
    /// When, in unix seconds UTC.
    pub time: i64,
    /// The edit comment.
    pub comment: String,
    /// Size of the text in bytes.
    pub size: u64,
}

/// One entry of the site-wide recent changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The page name.
    pub page: String,
    /// The revision this change created.
    pub rev: u64,
    /// Who saved it.
    pub author: String,
    /// When, in unix seconds UTC.
    pub time: i64,
    /// The edit comment.
    pub comment: String,
    /// Size of the text in bytes.
    pub size: u64,
    /// Bytes gained (positive) or lost (negative) against the previous revision; the full size for a new page.
    pub size_delta: i64,
}

/// Columns every query below selects, in this order, from `revisions r JOIN pages p`.
pub(crate) const META_COLUMNS: &str = "p.name, r.rev, r.author, r.time, r.comment, r.size";

/// Reads [`META_COLUMNS`] starting at column 0.
pub(crate) fn meta_from_row(row: &Row<'_>) -> rusqlite::Result<RawMeta> {
    Ok(RawMeta {
        page: row.get(0)?,
        rev: row.get(1)?,
        author: row.get(2)?,
        time: row.get(3)?,
        comment: row.get(4)?,
        size: row.get(5)?,
    })
}

/// Metadata as stored (signed integers); converted with range checks in [`RawMeta::check`].
pub(crate) struct RawMeta {
    pub(crate) page: String,
    pub(crate) rev: i64,
    pub(crate) author: String,
    pub(crate) time: i64,
    pub(crate) comment: String,
    pub(crate) size: i64,
}

impl RawMeta {
    pub(crate) fn check(self) -> Result<RevisionMeta, StorageError> {
        Ok(RevisionMeta {
            rev: to_u64("revision number", &self.page, self.rev)?,
            size: to_u64("size", &self.page, self.size)?,
            page: self.page,
            author: self.author,
            time: self.time,
            comment: self.comment,
        })
    }
}

pub(crate) fn to_u64(what: &str, page: &str, value: i64) -> Result<u64, StorageError> {
    u64::try_from(value).map_err(|_| StorageError::Invalid {
        what: format!("negative {what} {value} on page {page:?}"),
    })
}

/// Turns a stored body into text according to its format. The body is read as a raw value because a
/// future format (compressed) will store a BLOB, which must be reported, not fail to convert.
pub(crate) fn decode_body(
    meta: &RevisionMeta,
    format: &str,
    body: Value,
) -> Result<String, StorageError> {
    if format == FORMAT_PLAIN {
        return match body {
            Value::Text(text) => Ok(text),
            other => Err(StorageError::Invalid {
                what: format!(
                    "revision {} of page {:?} has a plain body of type {:?}, not text",
                    meta.rev,
                    meta.page,
                    other.data_type()
                ),
            }),
        };
    }
    Err(StorageError::UnknownFormat {
        page: meta.page.clone(),
        rev: meta.rev,
        format: format.to_owned(),
    })
}

impl Revision {
    pub(crate) fn from_parts(meta: RevisionMeta, text: String) -> Revision {
        Revision {
            page: meta.page,
            rev: meta.rev,
            author: meta.author,
            time: meta.time,
            comment: meta.comment,
            size: meta.size,
            text,
        }
    }

    /// The metadata alone.
    pub fn meta(&self) -> RevisionMeta {
        RevisionMeta {
            page: self.page.clone(),
            rev: self.rev,
            author: self.author.clone(),
            time: self.time,
            comment: self.comment.clone(),
            size: self.size,
        }
    }
}
