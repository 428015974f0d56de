//! Attachments: files on pages, each with its own history of versions.
//!
//! A file is (page, name): the page by its row id, so a page's files follow it through a rename, and
//! a deleted page's files are gone with it and come back with an undelete. Every change is a new row
//! of `file_versions` numbered 1, 2, 3… per file: an upload, a deletion (no blob) or a restore (the
//! blob and facts of an older version again), so nothing is ever lost. The rows' global ids (never
//! reused) order recent changes and let the search index catch up, like revision ids do for pages.
//!
//! The app decides the media type and the image dimensions (storage reads no content); storage
//! spools the stream, enforces the size limit and the quota, and writes the blob (see `crate::blobs`)
//! and the version row in one short transaction. Every new version drops the cached HTML of the pages
//! linking to the file, as a page appearing does for pages linking to it (see `crate::render_cache`).

use std::collections::HashMap;
use std::io::Read;

use rusqlite::types::ToSql;
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use crate::error::{doing, StorageError};
use crate::save::now;
use crate::{blobs, render_cache, sql_count, RecentQuery, Storage};

/// An upload to store with [`Storage::upload`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewUpload<'a> {
    /// The page it belongs to, which must exist and not be deleted.
    pub page: &'a str,
    /// The file name, stored exactly as given (the app cleans names).
    pub name: &'a str,
    /// The media type the app decided from the content and the name.
    pub media_type: &'a str,
    /// An image's width in pixels, if known.
    pub width: Option<u32>,
    /// An image's height in pixels, if known.
    pub height: Option<u32>,
    /// Who uploads.
    pub uploader: &'a str,
    /// The comment; may be empty.
    pub comment: &'a str,
    /// When, in unix seconds UTC; `None` means now. Imports pass the original time.
    pub time: Option<i64>,
    /// The most bytes the file may have ([`StorageError::UploadTooLarge`] past it).
    pub max_bytes: u64,
    /// The most bytes all blobs together may take, each distinct content counted once
    /// ([`StorageError::QuotaExceeded`] past it); `None` for no quota. Bytes already stored (the
    /// same content uploaded again) cost nothing.
    pub quota_bytes: Option<u64>,
}

/// What a file version did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileChange {
    /// New content (the first version, or a re-upload under the same name).
    Upload,
    /// The file was deleted; the version has no content.
    Delete,
    /// The content of an older version came back.
    Restore {
        /// The version restored.
        from: u64,
    },
}

/// One version of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileVersion {
    /// Its global id: grows with every version of every file, never reused (the cursor of
    /// [`Storage::recent_files`] and [`Storage::file_events_after`]).
    pub id: u64,
    /// The page's name now (it follows renames).
    pub page: String,
    /// The file name.
    pub name: String,
    /// 1, 2, 3… per file.
    pub version: u64,
    /// What it did.
    pub change: FileChange,
    /// What it holds; `None` for a deletion.
    pub content: Option<FileContent>,
    /// Who made it.
    pub uploader: String,
    /// When, unix seconds UTC.
    pub time: i64,
    /// The comment.
    pub comment: String,
}

/// The content of a file version: its blob and what the app decided about it at upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    /// The blob's SHA-256, lowercase hex ([`Storage::open_blob`]): a strong ETag.
    pub hash: String,
    /// The size in bytes.
    pub size: u64,
    /// The media type.
    pub media_type: String,
    /// An image's width in pixels.
    pub width: Option<u32>,
    /// An image's height in pixels.
    pub height: Option<u32>,
}

/// A file as a page's attachment list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Its current version (never a deletion).
    pub current: FileVersion,
    /// How many versions it has, deletions and restores included.
    pub versions: u64,
}

/// What the link resolver needs to know of an existing file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    /// The current version.
    pub version: u64,
    /// Its content.
    pub content: FileContent,
}

/// The columns [`version_row`] reads, over `file_versions v`, `pages p` and `blobs b` (left joined).
const VERSION_COLUMNS: &str = "v.id, p.name, v.name, v.version, v.kind, v.restored_from, v.size,
     v.media_type, v.width, v.height, v.uploader, v.time, v.comment, b.hash";

/// The joins [`VERSION_COLUMNS`] need.
const VERSION_FROM: &str = "file_versions v JOIN pages p ON p.id = v.page_id
     LEFT JOIN blobs b ON b.id = v.blob_id";

fn version_row(row: &Row<'_>) -> rusqlite::Result<FileVersion> {
    let kind: String = row.get(4)?;
    let change = match kind.as_str() {
        "upload" => FileChange::Upload,
        "delete" => FileChange::Delete,
        "restore" => FileChange::Restore { from: row.get(5)? },
        other => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                4,
                rusqlite::types::Type::Text,
                format!("unknown file version kind {other:?}").into(),
            ))
        }
    };
    let hash: Option<String> = row.get(13)?;
    let content = match hash {
        Some(hash) => Some(content_row(row, hash, 6)?),
        None => None,
    };
    Ok(FileVersion {
        id: row.get(0)?,
        page: row.get(1)?,
        name: row.get(2)?,
        version: row.get(3)?,
        change,
        content,
        uploader: row.get(10)?,
        time: row.get(11)?,
        comment: row.get(12)?,
    })
}

/// The content whose size, media type, width and height are the columns from `first` on.
fn content_row(row: &Row<'_>, hash: String, first: usize) -> rusqlite::Result<FileContent> {
    Ok(FileContent {
        hash,
        size: row.get(first)?,
        media_type: row.get(first + 1)?,
        width: row.get(first + 2)?,
        height: row.get(first + 3)?,
    })
}

/// The id of the live (not deleted) page `page`, or [`StorageError::NoSuchPage`].
fn live_page(conn: &Connection, page: &str) -> Result<i64, StorageError> {
    conn.prepare_cached("SELECT id FROM pages WHERE name = ?1 AND deleted = 0")
        .and_then(|mut stmt| stmt.query_row(params![page], |row| row.get(0)).optional())
        .map_err(doing("looking up a page"))?
        .ok_or_else(|| StorageError::NoSuchPage {
            page: page.to_owned(),
        })
}

/// Takes the write lock and finds the live page `page` under it: how every new file version starts.
fn begin_on_page<'c>(
    conn: &'c mut Connection,
    page: &str,
    doing_what: &'static str,
) -> Result<(Transaction<'c>, i64), StorageError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(doing(doing_what))?;
    let page_id = live_page(&tx, page)?;
    Ok((tx, page_id))
}

/// The version of file `name` of a page: the one asked for, or the newest.
fn load_version(
    conn: &Connection,
    page: &str,
    name: &str,
    version: Option<u64>,
) -> Result<Option<FileVersion>, StorageError> {
    conn.prepare_cached(&format!(
        "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM}
         WHERE p.name = ?1 AND p.deleted = 0 AND v.name = ?2
           AND (?3 IS NULL OR v.version = ?3)
         ORDER BY v.version DESC LIMIT 1"
    ))
    .and_then(|mut stmt| {
        stmt.query_row(params![page, name, version], version_row)
            .optional()
    })
    .map_err(doing("reading a file version"))
}

/// A version row to append.
struct NewVersion<'a> {
    page_id: i64,
    page: &'a str,
    name: &'a str,
    kind: FileChange,
    /// The blob's id and the content's facts; `None` for a deletion.
    content: Option<(i64, &'a FileContent)>,
    uploader: &'a str,
    time: i64,
    comment: &'a str,
}

/// Appends a version (numbered after the file's newest) and drops the cached HTML of the pages
/// linking to the file. Inside the caller's write transaction.
fn append(conn: &Connection, new: &NewVersion<'_>) -> Result<FileVersion, StorageError> {
    let (kind, restored_from) = match new.kind {
        FileChange::Upload => ("upload", None),
        FileChange::Delete => ("delete", None),
        FileChange::Restore { from } => ("restore", Some(from)),
    };
    conn.prepare_cached(
        "INSERT INTO file_versions (page_id, name, version, kind, restored_from, blob_id, size,
             media_type, width, height, uploader, time, comment)
         SELECT ?1, ?2, COALESCE(MAX(version), 0) + 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12
         FROM file_versions WHERE page_id = ?1 AND name = ?2",
    )
    .and_then(|mut stmt| {
        let (blob_id, content) = new.content.unzip();
        stmt.execute(params![
            new.page_id,
            new.name,
            kind,
            restored_from,
            blob_id,
            content.map_or(0, |c| c.size),
            content.map_or("", |c| c.media_type.as_str()),
            content.and_then(|c| c.width),
            content.and_then(|c| c.height),
            new.uploader,
            new.time,
            new.comment
        ])
    })
    .map_err(doing("writing a file version"))?;
    let id = conn.last_insert_rowid();
    render_cache::invalidate_file_links_to(&mut crate::db::SqliteRef(conn), new.page, new.name)?;
    conn.prepare_cached(&format!(
        "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM} WHERE v.id = ?1"
    ))
    .and_then(|mut stmt| stmt.query_row(params![id], version_row))
    .map_err(doing("reading a file version"))
}

impl Storage {
    /// Stores a new version of file `upload.name` of page `upload.page` with the bytes `content`
    /// yields, and returns it.
    ///
    /// The stream is first copied to a temporary file while it is hashed and counted, so the write
    /// lock is never held while the network is read and memory holds one buffer whatever the size;
    /// then one short transaction stores the blob (if its content is new) and the version. Nothing
    /// partial is ever stored: past [`NewUpload::max_bytes`] ([`StorageError::UploadTooLarge`]),
    /// past the quota ([`StorageError::QuotaExceeded`]), on a failing stream
    /// ([`StorageError::UploadRead`]) or on any other error, no row is written and the temporary
    /// file is gone. The page must exist ([`StorageError::NoSuchPage`]), checked before the stream
    /// is read and again when writing.
    pub fn upload(
        &self,
        upload: &NewUpload<'_>,
        content: &mut dyn Read,
    ) -> Result<FileVersion, StorageError> {
        live_page(self.pool.get()?.sqlite()?, upload.page)?;
        let mut spooled = blobs::spool(&self.pool.spool_dir(), content, upload.max_bytes)?;
        let mut pooled = self.pool.get()?;
        let conn = pooled.sqlite_mut()?;
        let (tx, page_id) = begin_on_page(conn, upload.page, "starting an upload")?;
        let blob_id = blobs::store(&tx, &mut spooled, upload.quota_bytes)?;
        let content = FileContent {
            hash: spooled.hash.clone(),
            size: spooled.size,
            media_type: upload.media_type.to_owned(),
            width: upload.width,
            height: upload.height,
        };
        let version = append(
            &tx,
            &NewVersion {
                page_id,
                page: upload.page,
                name: upload.name,
                kind: FileChange::Upload,
                content: Some((blob_id, &content)),
                uploader: upload.uploader,
                time: upload.time.unwrap_or_else(now),
                comment: upload.comment,
            },
        )?;
        tx.commit().map_err(doing("committing an upload"))?;
        Ok(version)
    }

    /// Deletes file `name` of `page`: a new version without content; the older ones stay and
    /// [`restore_file`](Self::restore_file) brings one back. [`StorageError::NoSuchFile`] if the
    /// page has no such file or it is deleted already.
    pub fn delete_file(
        &self,
        page: &str,
        name: &str,
        actor: &str,
        comment: &str,
    ) -> Result<FileVersion, StorageError> {
        let mut pooled = self.pool.get()?;
        let conn = pooled.sqlite_mut()?;
        let (tx, page_id) = begin_on_page(conn, page, "starting a file deletion")?;
        let current = load_version(&tx, page, name, None)?;
        if current.is_none_or(|current| current.content.is_none()) {
            return Err(StorageError::NoSuchFile {
                page: page.to_owned(),
                name: name.to_owned(),
            });
        }
        let version = append(
            &tx,
            &NewVersion {
                page_id,
                page,
                name,
                kind: FileChange::Delete,
                content: None,
                uploader: actor,
                time: now(),
                comment,
            },
        )?;
        tx.commit().map_err(doing("committing a file deletion"))?;
        Ok(version)
    }

    /// Makes version `version` of file `name` of `page` current again, as a new version with its
    /// content and facts (whether the file is deleted or not). [`StorageError::NoSuchFileVersion`]
    /// if there is no such version or it is a deletion.
    pub fn restore_file(
        &self,
        page: &str,
        name: &str,
        version: u64,
        actor: &str,
        comment: &str,
    ) -> Result<FileVersion, StorageError> {
        let mut pooled = self.pool.get()?;
        let conn = pooled.sqlite_mut()?;
        let (tx, page_id) = begin_on_page(conn, page, "starting a file restore")?;
        let old = load_version(&tx, page, name, Some(version))?;
        let Some(content) = old.and_then(|old| old.content) else {
            return Err(StorageError::NoSuchFileVersion {
                page: page.to_owned(),
                name: name.to_owned(),
                version,
            });
        };
        let blob_id =
            blobs::blob_id(&tx, &content.hash)?.ok_or_else(|| StorageError::NoSuchBlob {
                hash: content.hash.clone(),
            })?;
        let restored = append(
            &tx,
            &NewVersion {
                page_id,
                page,
                name,
                kind: FileChange::Restore { from: version },
                content: Some((blob_id, &content)),
                uploader: actor,
                time: now(),
                comment,
            },
        )?;
        tx.commit().map_err(doing("committing a file restore"))?;
        Ok(restored)
    }

    /// The files of `page` that are not deleted, by name (code point order), each with its current
    /// version and how many versions it has. Empty for a page that does not exist or is deleted.
    pub fn attachments(&self, page: &str) -> Result<Vec<Attachment>, StorageError> {
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM}
                 WHERE p.name = ?1 AND p.deleted = 0 AND v.kind <> 'delete'
                   AND v.version = (SELECT MAX(version) FROM file_versions
                                    WHERE page_id = v.page_id AND name = v.name)
                 ORDER BY v.name"
            ))
            .map_err(doing("listing attachments"))?;
        let rows = stmt
            .query_map(params![page], version_row)
            .map_err(doing("listing attachments"))?;
        rows.map(|row| {
            let current = row.map_err(doing("listing attachments"))?;
            Ok(Attachment {
                versions: current.version,
                current,
            })
        })
        .collect()
    }

    /// How many files `page` has (not deleted): its "Attachments (N)" link, on every page view, so
    /// one indexed count rather than the list.
    pub fn file_count(&self, page: &str) -> Result<u64, StorageError> {
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        let count: i64 = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM file_versions v JOIN pages p ON p.id = v.page_id
                 WHERE p.name = ?1 AND p.deleted = 0 AND v.kind <> 'delete'
                   AND v.version = (SELECT MAX(version) FROM file_versions
                                    WHERE page_id = v.page_id AND name = v.name)",
            )
            .and_then(|mut stmt| stmt.query_row(params![page], |row| row.get(0)))
            .map_err(doing("counting a page's files"))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Version `version` of file `name` of `page`, or its newest with `None` (which may be a
    /// deletion: check [`FileVersion::change`]). `None` if there is no such page, file or version,
    /// or the page is deleted.
    pub fn file(
        &self,
        page: &str,
        name: &str,
        version: Option<u64>,
    ) -> Result<Option<FileVersion>, StorageError> {
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        load_version(conn, page, name, version)
    }

    /// Every version of file `name` of `page`, newest first. Empty if there is no such page or
    /// file, or the page is deleted.
    pub fn file_history(&self, page: &str, name: &str) -> Result<Vec<FileVersion>, StorageError> {
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM}
                 WHERE p.name = ?1 AND p.deleted = 0 AND v.name = ?2
                 ORDER BY v.version DESC"
            ))
            .map_err(doing("reading a file history"))?;
        let rows = stmt
            .query_map(params![page, name], version_row)
            .map_err(doing("reading a file history"))?;
        rows.collect::<Result<_, _>>()
            .map_err(doing("reading a file history"))
    }

    /// Which of `files` (page name, file name) exist (their page live, their newest version not a
    /// deletion), with what a link to them needs; in one query per 1000 files (a rendered page asks
    /// this for all its file links at once). Duplicates are fine.
    pub fn existing_files(
        &self,
        files: &[(String, String)],
    ) -> Result<HashMap<(String, String), FileFacts>, StorageError> {
        /// Pairs per statement: 2000 parameters, well below SQLite's limit of 32766.
        const BATCH: usize = 1000;
        let mut found = HashMap::new();
        if files.is_empty() {
            return Ok(found);
        }
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        for batch in files.chunks(BATCH) {
            let values = (0..batch.len())
                .map(|i| format!("(?{}, ?{})", 2 * i + 1, 2 * i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let bound: Vec<&dyn ToSql> = batch
                .iter()
                .flat_map(|(page, name)| [page as &dyn ToSql, name as &dyn ToSql])
                .collect();
            let mut stmt = conn
                .prepare(&format!(
                    "WITH wanted (page, name) AS (VALUES {values})
                     SELECT DISTINCT w.page, w.name, v.version, b.hash, v.size, v.media_type,
                            v.width, v.height
                     FROM wanted w
                     JOIN pages p ON p.name = w.page AND p.deleted = 0
                     JOIN file_versions v ON v.page_id = p.id AND v.name = w.name
                     JOIN blobs b ON b.id = v.blob_id
                     WHERE v.version = (SELECT MAX(version) FROM file_versions
                                        WHERE page_id = p.id AND name = w.name)"
                ))
                .map_err(doing("looking up files"))?;
            let rows = stmt
                .query_map(bound.as_slice(), |row| {
                    Ok((
                        (row.get(0)?, row.get(1)?),
                        FileFacts {
                            version: row.get(2)?,
                            content: content_row(row, row.get(3)?, 4)?,
                        },
                    ))
                })
                .map_err(doing("looking up files"))?;
            for row in rows {
                let (key, facts) = row.map_err(doing("looking up files"))?;
                found.insert(key, facts);
            }
        }
        Ok(found)
    }

    /// File versions across the wiki matching `query` (the filters mean what they mean for
    /// [`recent`](Self::recent): `author` is the uploader, `prefix` the page's name), newest first.
    /// Pass the last returned [`FileVersion::id`] as `before` for the next page; the ids are the
    /// file versions' own, apart from revision ids.
    pub fn recent_files(&self, query: &RecentQuery) -> Result<Vec<FileVersion>, StorageError> {
        let before = query
            .before
            .map_or(i64::MAX, |id| i64::try_from(id).unwrap_or(i64::MAX));
        let prefix = query.prefix.as_deref().filter(|p| !p.is_empty());
        let limit = sql_count(query.limit);
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM}
                 WHERE v.id < ?1 AND (?3 IS NULL OR v.uploader = ?3)
                   AND (?4 IS NULL OR (p.name >= ?4 AND p.name < ?4 || char(1114111)
                                       AND substr(p.name, 1, length(?4)) = ?4))
                 ORDER BY v.id DESC
                 LIMIT ?2"
            ))
            .map_err(doing("reading recent uploads"))?;
        let rows = stmt
            .query_map(params![before, limit, query.author, prefix], version_row)
            .map_err(doing("reading recent uploads"))?;
        rows.collect::<Result<_, _>>()
            .map_err(doing("reading recent uploads"))
    }

    /// Up to `limit` file versions with an id above `after`, oldest first: the log the search index
    /// replays for files (with [`last_file_event_id`](Self::last_file_event_id) as its watermark).
    /// As for revisions, once id N is visible every id below it is too.
    pub fn file_events_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<FileVersion>, StorageError> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM}
                 WHERE v.id > ?1 ORDER BY v.id LIMIT ?2"
            ))
            .map_err(doing("reading the file log"))?;
        let rows = stmt
            .query_map(params![after, sql_count(limit)], version_row)
            .map_err(doing("reading the file log"))?;
        rows.collect::<Result<_, _>>()
            .map_err(doing("reading the file log"))
    }

    /// The id of the newest file version (0 when there is none).
    pub fn last_file_event_id(&self) -> Result<u64, StorageError> {
        let pooled = self.pool.get()?;
        let conn = pooled.sqlite()?;
        conn.prepare_cached("SELECT COALESCE(MAX(id), 0) FROM file_versions")
            .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
            .map_err(doing("reading the last file version id"))
    }
}
