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

use crate::db::{Conn, DbError, Engine, Param, Row, Sql, Tx, TxKind};
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

fn version_row(row: &Row<'_>) -> Result<FileVersion, DbError> {
    let kind: String = row.get(4)?;
    let change = match kind.as_str() {
        "upload" => FileChange::Upload,
        "delete" => FileChange::Delete,
        "restore" => FileChange::Restore { from: row.get(5)? },
        other => {
            return Err(DbError::conversion(format!(
                "unknown file version kind {other:?}"
            )))
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
fn content_row(row: &Row<'_>, hash: String, first: usize) -> Result<FileContent, DbError> {
    Ok(FileContent {
        hash,
        size: row.get(first)?,
        media_type: row.get(first + 1)?,
        width: row.get(first + 2)?,
        height: row.get(first + 3)?,
    })
}

/// The id of the live (not deleted) page `page`, or [`StorageError::NoSuchPage`].
fn live_page(conn: &mut impl Sql, page: &str) -> Result<i64, StorageError> {
    conn.query_opt(
        "SELECT id FROM pages WHERE name = ?1 AND deleted = 0",
        &[&page],
        |row| row.get(0),
    )
    .map_err(doing("looking up a page"))?
    .ok_or_else(|| StorageError::NoSuchPage {
        page: page.to_owned(),
    })
}

/// Takes the write lock and finds the live page `page` under it: how every new file version starts.
fn begin_on_page<'c>(
    conn: &'c mut Conn,
    page: &str,
    doing_what: &'static str,
) -> Result<(Tx<'c>, i64), StorageError> {
    let mut tx = conn.transaction(TxKind::Write).map_err(doing(doing_what))?;
    let page_id = live_page(&mut tx, page)?;
    Ok((tx, page_id))
}

/// The version of file `name` of a page: the one asked for, or the newest. (A parameter only
/// tested for NULL has no type PostgreSQL can tell: hence the CASTs here and in
/// [`recent_files_sql`].)
fn load_version(
    conn: &mut impl Sql,
    page: &str,
    name: &str,
    version: Option<u64>,
) -> Result<Option<FileVersion>, StorageError> {
    conn.query_opt(
        &format!(
            "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM}
             WHERE p.name = ?1 AND p.deleted = 0 AND v.name = ?2
               AND (CAST(?3 AS BIGINT) IS NULL OR v.version = ?3)
             ORDER BY v.version DESC LIMIT 1"
        ),
        &[&page, &name, &version],
        version_row,
    )
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
/// linking to the file. Inside the caller's write transaction, whose lock makes the numbering
/// dense on both engines.
fn append(conn: &mut impl Sql, new: &NewVersion<'_>) -> Result<FileVersion, StorageError> {
    let (kind, restored_from) = match new.kind {
        FileChange::Upload => ("upload", None),
        FileChange::Delete => ("delete", None),
        FileChange::Restore { from } => ("restore", Some(from)),
    };
    let (blob_id, content) = new.content.unzip();
    let id: i64 = conn
        .query_one(
            "INSERT INTO file_versions (page_id, name, version, kind, restored_from, blob_id, size,
                 media_type, width, height, uploader, time, comment)
             SELECT ?1, ?2, COALESCE(MAX(version), 0) + 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
                 ?12
             FROM file_versions WHERE page_id = ?1 AND name = ?2
             RETURNING id",
            &[
                &new.page_id,
                &new.name,
                &kind,
                &restored_from,
                &blob_id,
                &content.map_or(0, |c| c.size),
                &content.map_or("", |c| c.media_type.as_str()),
                &content.and_then(|c| c.width),
                &content.and_then(|c| c.height),
                &new.uploader,
                &new.time,
                &new.comment,
            ],
            |row| row.get(0),
        )
        .map_err(doing("writing a file version"))?;
    render_cache::invalidate_file_links_to(conn, new.page, new.name)?;
    conn.query_one(
        &format!("SELECT {VERSION_COLUMNS} FROM {VERSION_FROM} WHERE v.id = ?1"),
        &[&id],
        version_row,
    )
    .map_err(doing("reading a file version"))
}

/// The statement of [`Storage::existing_files`] for `pairs` (page, file) pairs.
fn existing_files_sql(pairs: usize) -> String {
    let values = (0..pairs)
        .map(|i| format!("(?{}, ?{})", 2 * i + 1, 2 * i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "WITH wanted (page, name) AS (VALUES {values})
         SELECT DISTINCT w.page, w.name, v.version, b.hash, v.size, v.media_type,
                v.width, v.height
         FROM wanted w
         JOIN pages p ON p.name = w.page AND p.deleted = 0
         JOIN file_versions v ON v.page_id = p.id AND v.name = w.name
         JOIN blobs b ON b.id = v.blob_id
         WHERE v.version = (SELECT MAX(version) FROM file_versions
                            WHERE page_id = p.id AND name = w.name)"
    )
}

/// [`Storage::recent_files`]'s statement: a name prefix is a range (for the index) and a check.
/// The character past every other is spelled differently on each engine.
fn recent_files_sql(engine: Engine) -> String {
    let last_char = match engine {
        Engine::Sqlite => "char(1114111)",
        Engine::Postgres => "chr(1114111)",
    };
    format!(
        "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM}
         WHERE v.id < ?1 AND (CAST(?3 AS TEXT) IS NULL OR v.uploader = ?3)
           AND (CAST(?4 AS TEXT) IS NULL OR (p.name >= ?4 AND p.name < ?4 || {last_char}
                               AND substr(p.name, 1, length(?4)) = ?4))
         ORDER BY v.id DESC
         LIMIT ?2"
    )
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
        live_page(&mut *self.pool.get()?, upload.page)?;
        let mut spooled = blobs::spool(&self.pool.spool_dir(), content, upload.max_bytes)?;
        let mut pooled = self.pool.get()?;
        let (mut tx, page_id) = begin_on_page(&mut pooled, upload.page, "starting an upload")?;
        let blob_id = blobs::store(&mut tx, &mut spooled, upload.quota_bytes)?;
        let content = FileContent {
            hash: spooled.hash.clone(),
            size: spooled.size,
            media_type: upload.media_type.to_owned(),
            width: upload.width,
            height: upload.height,
        };
        let version = append(
            &mut tx,
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
        let (mut tx, page_id) = begin_on_page(&mut pooled, page, "starting a file deletion")?;
        let current = load_version(&mut tx, page, name, None)?;
        if current.is_none_or(|current| current.content.is_none()) {
            return Err(StorageError::NoSuchFile {
                page: page.to_owned(),
                name: name.to_owned(),
            });
        }
        let version = append(
            &mut tx,
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
        let (mut tx, page_id) = begin_on_page(&mut pooled, page, "starting a file restore")?;
        let old = load_version(&mut tx, page, name, Some(version))?;
        let Some(content) = old.and_then(|old| old.content) else {
            return Err(StorageError::NoSuchFileVersion {
                page: page.to_owned(),
                name: name.to_owned(),
                version,
            });
        };
        let blob_id =
            blobs::blob_id(&mut tx, &content.hash)?.ok_or_else(|| StorageError::NoSuchBlob {
                hash: content.hash.clone(),
            })?;
        let restored = append(
            &mut tx,
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
        self.pool
            .get()?
            .query_map(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM}
                     WHERE p.name = ?1 AND p.deleted = 0 AND v.kind <> 'delete'
                       AND v.version = (SELECT MAX(version) FROM file_versions
                                        WHERE page_id = v.page_id AND name = v.name)
                     ORDER BY v.name"
                ),
                &[&page],
                |row| {
                    let current = version_row(row)?;
                    Ok(Attachment {
                        versions: current.version,
                        current,
                    })
                },
            )
            .map_err(doing("listing attachments"))
    }

    /// How many files `page` has (not deleted): its "Attachments (N)" link, on every page view, so
    /// one indexed count rather than the list.
    pub fn file_count(&self, page: &str) -> Result<u64, StorageError> {
        self.pool
            .get()?
            .query_one(
                "SELECT COUNT(*) FROM file_versions v JOIN pages p ON p.id = v.page_id
                 WHERE p.name = ?1 AND p.deleted = 0 AND v.kind <> 'delete'
                   AND v.version = (SELECT MAX(version) FROM file_versions
                                    WHERE page_id = v.page_id AND name = v.name)",
                &[&page],
                |row| row.get(0),
            )
            .map_err(doing("counting a page's files"))
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
        load_version(&mut *self.pool.get()?, page, name, version)
    }

    /// Every version of file `name` of `page`, newest first. Empty if there is no such page or
    /// file, or the page is deleted.
    pub fn file_history(&self, page: &str, name: &str) -> Result<Vec<FileVersion>, StorageError> {
        self.pool
            .get()?
            .query_map(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM}
                     WHERE p.name = ?1 AND p.deleted = 0 AND v.name = ?2
                     ORDER BY v.version DESC"
                ),
                &[&page, &name],
                version_row,
            )
            .map_err(doing("reading a file history"))
    }

    /// Which of `files` (page name, file name) exist (their page live, their newest version not a
    /// deletion), with what a link to them needs; in one query per 1000 files (a rendered page asks
    /// this for all its file links at once). Duplicates are fine.
    pub fn existing_files(
        &self,
        files: &[(String, String)],
    ) -> Result<HashMap<(String, String), FileFacts>, StorageError> {
        let mut found = HashMap::new();
        if files.is_empty() {
            return Ok(found);
        }
        let mut conn = self.pool.get()?;
        // Padded batches (`db::BATCH_SIZES`): a few statement texts, each prepared once.
        for (size, padded) in crate::db::padded_batches(files) {
            let bound: Vec<&dyn Param> = padded
                .into_iter()
                .flat_map(|(page, name)| [page as &dyn Param, name as &dyn Param])
                .collect();
            conn.query_each(&existing_files_sql(size), &bound, &mut |row| {
                let facts = FileFacts {
                    version: row.get(2)?,
                    content: content_row(row, row.get(3)?, 4)?,
                };
                found.insert((row.get(0)?, row.get(1)?), facts);
                Ok(true)
            })
            .map_err(doing("looking up files"))?;
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
        let mut conn = self.pool.get()?;
        let sql = recent_files_sql(conn.engine());
        conn.query_map(
            &sql,
            &[&before, &limit, &query.author, &prefix],
            version_row,
        )
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
        self.pool
            .get()?
            .query_map(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM {VERSION_FROM}
                     WHERE v.id > ?1 ORDER BY v.id LIMIT ?2"
                ),
                &[&after, &sql_count(limit)],
                version_row,
            )
            .map_err(doing("reading the file log"))
    }

    /// The id of the newest file version (0 when there is none).
    pub fn last_file_event_id(&self) -> Result<u64, StorageError> {
        self.pool
            .get()?
            .query_one(
                "SELECT COALESCE(MAX(id), 0) FROM file_versions",
                &[],
                |row| row.get(0),
            )
            .map_err(doing("reading the last file version id"))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::page_acls::tests::{each_storage, put};
    use crate::CHUNK_SIZE;

    const MIB: u64 = 1024 * 1024;

    /// An upload by alice of at most 64 MiB, without a quota.
    fn upload<'a>(page: &'a str, name: &'a str) -> NewUpload<'a> {
        NewUpload {
            page,
            name,
            media_type: "application/octet-stream",
            width: None,
            height: None,
            uploader: "alice",
            comment: "",
            time: Some(2_000),
            max_bytes: 64 * MIB,
            quota_bytes: None,
        }
    }

    /// Bytes that differ per seed: position and seed, mixed.
    fn bytes(len: usize, seed: u64) -> Vec<u8> {
        (0..len as u64)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 7).wrapping_add(seed) as u8)
            .collect()
    }

    fn hash(version: &FileVersion) -> String {
        version.content.as_ref().unwrap().hash.clone()
    }

    /// The pages are written with plain SQL (`put`): what is checked here is the files' own
    /// rows, which only need a live page to hang on.
    #[test]
    fn uploads_stream_in_and_out_in_chunks_and_versions_lose_nothing() {
        for storage in each_storage() {
            let engine = storage.engine();
            put(&storage, "P", "t", "edit", 1);
            put(&storage, "Q", "t", "edit", 1);
            // A few MB: a dozen chunks, each one statement in and one query out.
            let content = bytes(3 * CHUNK_SIZE * 4 + 17, 1);
            let first = storage
                .upload(&upload("P", "a.bin"), &mut content.as_slice())
                .unwrap();
            assert_eq!((first.version, first.change), (1, FileChange::Upload));
            let mut reader = storage.open_blob(&hash(&first)).unwrap();
            let mut out = Vec::new();
            reader.read_to_end(&mut out).unwrap();
            assert!(out == content, "{engine}: the bytes read back differ");
            let again = storage
                .upload(&upload("Q", "b.bin"), &mut content.as_slice())
                .unwrap();
            assert_eq!(hash(&again), hash(&first), "{engine}");
            assert_eq!(
                storage.used_blob_bytes().unwrap(),
                content.len() as u64,
                "{engine}: the same bytes are stored once"
            );
            assert_eq!(storage.blob_row_counts().unwrap(), [1, 13, 2], "{engine}");

            let png = NewUpload {
                media_type: "image/png",
                width: Some(10),
                height: Some(20),
                ..upload("P", "pic.png")
            };
            let v1 = storage.upload(&png, &mut &b"one"[..]).unwrap();
            let v2 = storage
                .upload(&upload("P", "pic.png"), &mut &b"two"[..])
                .unwrap();
            assert_eq!(v2.version, 2, "{engine}");
            let deleted = storage.delete_file("P", "pic.png", "bob", "gone").unwrap();
            assert_eq!((deleted.version, deleted.content), (3, None), "{engine}");
            assert!(matches!(
                storage.delete_file("P", "pic.png", "bob", ""),
                Err(StorageError::NoSuchFile { .. })
            ));
            assert!(matches!(
                storage.restore_file("P", "pic.png", 3, "bob", ""),
                Err(StorageError::NoSuchFileVersion { version: 3, .. })
            ));
            let restored = storage
                .restore_file("P", "pic.png", 1, "carol", "")
                .unwrap();
            assert_eq!(restored.change, FileChange::Restore { from: 1 }, "{engine}");
            assert_eq!(restored.content, v1.content, "{engine}");
            assert_eq!(
                storage
                    .file_history("P", "pic.png")
                    .unwrap()
                    .iter()
                    .map(|v| v.version)
                    .collect::<Vec<_>>(),
                [4, 3, 2, 1],
                "{engine}"
            );
            assert_eq!(
                storage
                    .file("P", "pic.png", Some(2))
                    .unwrap()
                    .unwrap()
                    .content,
                v2.content,
                "{engine}"
            );
            assert_eq!(storage.file("P", "pic.png", Some(9)).unwrap(), None);
            let listed = storage.attachments("P").unwrap();
            assert_eq!(
                listed
                    .iter()
                    .map(|a| (a.current.name.as_str(), a.versions))
                    .collect::<Vec<_>>(),
                [("a.bin", 1), ("pic.png", 4)],
                "{engine}"
            );
            assert_eq!(storage.file_count("P").unwrap(), 2, "{engine}");

            // The log and recent uploads, with the cursor and both filters.
            let log = storage.file_events_after(0, 100).unwrap();
            assert_eq!(log.len(), 6, "{engine}");
            assert_eq!(storage.last_file_event_id().unwrap(), log[5].id);
            assert_eq!(
                storage.file_events_after(log[3].id, 100).unwrap(),
                &log[4..]
            );
            let recent = |before, author: Option<&str>, prefix: Option<&str>| {
                storage
                    .recent_files(&RecentQuery {
                        limit: 10,
                        before,
                        author: author.map(str::to_owned),
                        prefix: prefix.map(str::to_owned),
                    })
                    .unwrap()
                    .iter()
                    .map(|v| v.id)
                    .collect::<Vec<_>>()
            };
            let ids = |at: &[usize]| at.iter().map(|&i| log[i].id).collect::<Vec<_>>();
            assert_eq!(
                recent(None, None, None),
                ids(&[5, 4, 3, 2, 1, 0]),
                "{engine}"
            );
            assert_eq!(
                recent(Some(log[4].id), Some("alice"), Some("P")),
                ids(&[3, 2, 0])
            );
            assert_eq!(recent(None, None, Some("Q")), ids(&[1]), "{engine}");
            assert_eq!(recent(None, Some("carol"), None), ids(&[5]), "{engine}");

            // Which files exist, asked for many at once (batches padded to fixed sizes).
            let key = |p: &str, n: &str| (p.to_owned(), n.to_owned());
            let mut asked = vec![key("P", "pic.png"), key("Q", "nope")];
            asked.extend((0..1200).map(|i| key("P", &format!("no{i}"))));
            asked.push(key("Q", "b.bin"));
            let found = storage.existing_files(&asked).unwrap();
            assert_eq!(found.len(), 2, "{engine}");
            let facts = &found[&key("P", "pic.png")];
            assert_eq!(facts.version, 4, "{engine}");
            assert_eq!(facts.content.width, Some(10), "{engine}");
            for few in 1..=9 {
                assert_eq!(
                    storage.existing_files(&asked[..few]).unwrap().len(),
                    1,
                    "{engine}: {few}"
                );
            }

            // Thumbnails: the first one stored stays.
            let png_hash = hash(&v1);
            assert_eq!(storage.thumbnail(&png_hash).unwrap(), None);
            storage
                .store_thumbnail(&png_hash, "image/webp", 2, 1, b"thumb")
                .unwrap();
            storage
                .store_thumbnail(&png_hash, "image/webp", 2, 1, b"other")
                .unwrap();
            let thumb = storage.thumbnail(&png_hash).unwrap().unwrap();
            assert_eq!(&thumb.bytes[..], b"thumb", "{engine}");
            assert!(matches!(
                storage.store_thumbnail("ff", "image/webp", 1, 1, b""),
                Err(StorageError::NoSuchBlob { .. })
            ));

            // A deleted page has no files and takes none.
            put(&storage, "Q", "t", "delete", 2);
            assert!(storage.attachments("Q").unwrap().is_empty(), "{engine}");
            assert!(matches!(
                storage.upload(&upload("Q", "c"), &mut &b"c"[..]),
                Err(StorageError::NoSuchPage { .. })
            ));
        }
    }

    /// Every new version moves the render epoch (so a render begun before it is not stored after
    /// it): the epoch's row is there on both engines from the start.
    #[test]
    fn a_new_version_moves_the_render_epoch() {
        for storage in each_storage() {
            put(&storage, "P", "t", "edit", 1);
            let epoch = || -> i64 {
                storage
                    .pool
                    .get()
                    .unwrap()
                    .query_one("SELECT epoch FROM render_epoch WHERE id = 1", &[], |row| {
                        row.get(0)
                    })
                    .unwrap()
            };
            let before = epoch();
            storage.upload(&upload("P", "a"), &mut &b"a"[..]).unwrap();
            storage.delete_file("P", "a", "t", "").unwrap();
            assert_eq!(epoch(), before + 2, "{}", storage.engine());
        }
    }

    #[test]
    fn limits_and_quotas_store_nothing_partial() {
        for storage in each_storage() {
            let engine = storage.engine();
            put(&storage, "P", "t", "edit", 1);
            let content = bytes(CHUNK_SIZE + 5, 2);
            let over_max = storage.upload(
                &NewUpload {
                    max_bytes: CHUNK_SIZE as u64,
                    ..upload("P", "big")
                },
                &mut content.as_slice(),
            );
            assert!(matches!(over_max, Err(StorageError::UploadTooLarge { .. })));
            let over_quota = storage.upload(
                &NewUpload {
                    quota_bytes: Some(CHUNK_SIZE as u64),
                    ..upload("P", "big")
                },
                &mut content.as_slice(),
            );
            assert!(matches!(
                over_quota,
                Err(StorageError::QuotaExceeded { .. })
            ));
            assert_eq!(storage.blob_row_counts().unwrap(), [0, 0, 0], "{engine}");
            let exact = NewUpload {
                max_bytes: content.len() as u64,
                quota_bytes: Some(content.len() as u64),
                ..upload("P", "big")
            };
            storage.upload(&exact, &mut content.as_slice()).unwrap();
            storage.upload(&exact, &mut content.as_slice()).unwrap();
            assert_eq!(storage.blob_row_counts().unwrap(), [1, 2, 2], "{engine}");
        }
    }

    /// Uploads at once from several threads (on PostgreSQL, several connections): each file's
    /// versions are numbered 1, 2, 3… without a gap or a repeat.
    #[test]
    fn concurrent_uploads_number_versions_densely() {
        for storage in each_storage() {
            put(&storage, "P", "t", "edit", 1);
            let workers = 4;
            std::thread::scope(|scope| {
                for worker in 0..workers {
                    let storage = &storage;
                    scope.spawn(move || {
                        for i in 0..3 {
                            let content = bytes(1000 + worker * 10 + i, worker as u64);
                            storage
                                .upload(&upload("P", "shared.bin"), &mut content.as_slice())
                                .unwrap();
                        }
                    });
                }
            });
            let versions: Vec<u64> = storage
                .file_history("P", "shared.bin")
                .unwrap()
                .iter()
                .map(|v| v.version)
                .collect();
            assert_eq!(
                versions,
                (1..=12).rev().collect::<Vec<u64>>(),
                "{}",
                storage.engine()
            );
        }
    }
}
