//! What a page's history is made of: revisions, their metadata, and site-wide changes.

use crate::db::{DbError, Engine, FromValue, Row, Sql, ValueRef};
use crate::error::StorageError;

/// The body is the text itself, UTF-8: revisions written before compact history (migration 3).
pub(crate) const FORMAT_PLAIN: &str = "plain";
/// The revision is its page's current one, whose text is kept in `current_texts`.
pub(crate) const FORMAT_CURRENT: &str = "current";

/// A revision row's body as text queries read it: a current revision's text comes from
/// `current_texts`, every other body from the row. On PostgreSQL the body column is BYTEA and a
/// CASE has one type, so the current text comes as its UTF-8 bytes there.
macro_rules! body_sql {
    (sqlite) => {
        "CASE r.format WHEN 'current' \
         THEN (SELECT t.text FROM current_texts t WHERE t.page_id = r.page_id) ELSE r.body END"
    };
    (postgres) => {
        "CASE r.format WHEN 'current' \
         THEN (SELECT convert_to(t.text, 'UTF8') FROM current_texts t WHERE t.page_id = r.page_id) \
         ELSE r.body END"
    };
}

/// [`body_sql`] for queries that name the revision table `r`, in `engine`'s spelling.
pub(crate) fn body(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => body_sql!(sqlite),
        Engine::Postgres => body_sql!(postgres),
    }
}

/// What a revision did to its page. Most are edits; the others change the page's life, and each is a
/// revision like any other, so history shows it and nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// A save of new text (also the creation of a page, and the re-creation of a deleted one).
    Edit,
    /// The page was deleted; the revision's text is empty and its history is kept.
    Delete,
    /// A deleted page came back with the text it had before the deletion.
    Undelete,
    /// The page was renamed; its text is unchanged.
    Rename {
        /// The name the page had before.
        from: String,
    },
}

impl ChangeKind {
    /// The tag stored in `revisions.kind`.
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            ChangeKind::Edit => "edit",
            ChangeKind::Delete => "delete",
            ChangeKind::Undelete => "undelete",
            ChangeKind::Rename { .. } => "rename",
        }
    }

    /// The name a rename came from, stored in `revisions.renamed_from`.
    pub(crate) fn renamed_from(&self) -> Option<&str> {
        match self {
            ChangeKind::Rename { from } => Some(from),
            _ => None,
        }
    }

    fn from_columns(
        page: &str,
        tag: &str,
        renamed_from: Option<String>,
    ) -> Result<ChangeKind, StorageError> {
        match (tag, renamed_from) {
            ("edit", _) => Ok(ChangeKind::Edit),
            ("delete", _) => Ok(ChangeKind::Delete),
            ("undelete", _) => Ok(ChangeKind::Undelete),
            ("rename", Some(from)) => Ok(ChangeKind::Rename { from }),
            (tag, _) => Err(StorageError::Invalid {
                what: format!("unknown revision kind {tag:?} on page {page:?}"),
            }),
        }
    }
}

/// What every revision carries besides its text: which page, which revision, who, when, why, how big,
/// and what it did. History listings are made of these alone; [`Revision`] and [`Change`] add the
/// text or the change's place in the wiki-wide log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionMeta {
    /// The page name, exactly as saved (for a [`Change`], as the page is called now).
    pub page: String,
    /// 1, 2, 3… per page, without gaps.
    pub rev: u64,
    /// Who saved it, as the app named them.
    pub author: String,
    /// When, in unix seconds UTC.
    pub time: i64,
    /// The edit comment; may be empty.
    pub comment: String,
    /// Length of the text in bytes.
    pub size: u64,
    /// What the revision did.
    pub kind: ChangeKind,
}

/// One saved version of a page, with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// Everything but the text.
    pub meta: RevisionMeta,
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

/// A page a revision touched, for [`crate::Storage::pages_changed_after`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangedPage {
    /// The page as it is called now.
    pub name: String,
    /// The name it left, when the revision was a rename.
    pub left: Option<String>,
}

/// One entry of the site-wide recent changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The revision's global id: grows with every revision across the wiki, the cursor for paging
    /// ([`crate::RecentQuery::before`]).
    pub id: u64,
    /// The revision this change created.
    pub meta: RevisionMeta,
    /// Bytes gained (positive) or lost (negative) against the previous revision; the full size for a new page.
    pub size_delta: i64,
}

/// Columns every query below selects, in this order, from `revisions r JOIN pages p`.
pub(crate) const META_COLUMNS: &str =
    "p.name, r.rev, r.author, r.time, r.comment, r.size, r.kind, r.renamed_from";

/// How many columns [`META_COLUMNS`] is; the columns a query selects after it start here.
pub(crate) const META_LEN: usize = 8;

/// Reads [`META_COLUMNS`] starting at column 0.
pub(crate) fn meta_from_row(row: &Row<'_>) -> Result<RawMeta, DbError> {
    Ok(RawMeta {
        page: row.get(0)?,
        rev: row.get(1)?,
        author: row.get(2)?,
        time: row.get(3)?,
        comment: row.get(4)?,
        size: row.get(5)?,
        kind: row.get(6)?,
        renamed_from: row.get(7)?,
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
    pub(crate) kind: String,
    pub(crate) renamed_from: Option<String>,
}

impl RawMeta {
    pub(crate) fn check(self) -> Result<RevisionMeta, StorageError> {
        Ok(RevisionMeta {
            rev: to_u64("revision number", &self.page, self.rev)?,
            size: to_u64("size", &self.page, self.size)?,
            kind: ChangeKind::from_columns(&self.page, &self.kind, self.renamed_from)?,
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

/// What queries that read texts select after [`META_COLUMNS`], in `engine`'s spelling.
pub(crate) fn text_columns(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => concat!("r.format, ", body_sql!(sqlite), ", r.page_id, r.id"),
        Engine::Postgres => concat!("r.format, ", body_sql!(postgres), ", r.page_id, r.id"),
    }
}

/// A revision's body as read: text (a current or plain revision on SQLite) or bytes (everything
/// on PostgreSQL, and compact bodies on SQLite). Which it must be is the format's to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    Text(String),
    Bytes(Vec<u8>),
    /// A current revision whose page has no text row: damage, reported as such.
    Null,
}

impl Body {
    /// What kind of value it is, for messages about damage.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Body::Text(_) => "text",
            Body::Bytes(_) => "bytes",
            Body::Null => "NULL",
        }
    }
}

impl FromValue for Body {
    fn from_value(value: ValueRef<'_>) -> Result<Self, DbError> {
        match value {
            ValueRef::Text(text) => Ok(Body::Text(text.to_owned())),
            ValueRef::Blob(bytes) => Ok(Body::Bytes(bytes.to_vec())),
            ValueRef::Null => Ok(Body::Null),
            ValueRef::Integer(_) | ValueRef::Real(_) => Err(DbError::conversion(
                "a revision body that is a number".to_owned(),
            )),
        }
    }
}

/// A revision row as read, its text still encoded.
pub(crate) struct TextRow {
    raw: RawMeta,
    format: String,
    body: Body,
    page_id: i64,
    id: i64,
}

/// Reads [`META_COLUMNS`] followed by [`text_columns`].
pub(crate) fn text_row(row: &Row<'_>) -> Result<TextRow, DbError> {
    Ok(TextRow {
        raw: meta_from_row(row)?,
        format: row.get(META_LEN)?,
        body: row.get(META_LEN + 1)?,
        page_id: row.get(META_LEN + 2)?,
        id: row.get(META_LEN + 3)?,
    })
}

/// A decoded revision with the row ids it came from.
pub(crate) struct Loaded {
    pub(crate) page_id: i64,
    /// The global revision id.
    pub(crate) id: i64,
    pub(crate) revision: Revision,
}

impl TextRow {
    /// Decodes the text; a compact body is resolved against later revisions read through `conn`.
    pub(crate) fn decode(self, conn: &mut impl Sql) -> Result<Loaded, StorageError> {
        let meta = self.raw.check()?;
        let text = crate::compact::decode(
            conn,
            &meta.page,
            self.page_id,
            meta.rev,
            &self.format,
            self.body,
        )?;
        Ok(Loaded {
            page_id: self.page_id,
            id: self.id,
            revision: Revision { meta, text },
        })
    }
}
