//! Blobs: the bytes of attachments, content-addressed and stored in the database.
//!
//! A blob is named by the SHA-256 of its bytes (lowercase hex), so two uploads of the same bytes,
//! on any page, under any name, store them once; a file version only points at its blob. The bytes
//! live in the database itself, cut into [`CHUNK_SIZE`] rows (`blob_chunks`): a backup of the wiki
//! is its database file, and a PostgreSQL backend can store them the same way (`bytea` rows, no large
//! objects). Blobs are never removed: every file version stays readable, and a deletion is a version.
//!
//! An upload arrives as a stream from the network, which may be slow, may fail half way, and may be
//! longer than it is allowed to be. So it is first *spooled*: copied to an unnamed temporary file
//! beside the database (the system's temp directory for an in-memory storage) while hashing and
//! counting, with one buffer in memory. Only when the whole stream is in and within its limit does
//! the write transaction start; it copies the file into chunks (local disk to local disk, no network
//! in between) and commits with the version row, or not at all. The temporary file has no name
//! (`O_TMPFILE` on Linux), so even a killed process leaves nothing behind.
//!
//! Reading is streamed the other way: a [`BlobReader`] holds one chunk and takes a pooled connection
//! only for the query that loads the next, so a download as slow as its client holds no lock.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::db::{DbError, Sql, ValueRef};
use crate::error::{doing, StorageError};
use crate::pool::Pool;
use crate::Storage;

/// The size of the chunks blobs are stored in, in bytes (the last chunk of a blob may be shorter).
/// Big enough that a 200 MB file is 800 rows, small enough that a reader holds little.
pub const CHUNK_SIZE: usize = 256 * 1024;

/// How much of the upload stream is read at a time while spooling.
const READ_BUFFER: usize = 64 * 1024;

/// An upload copied to a temporary file, with its hash and length.
pub(crate) struct Spooled {
    file: File,
    pub(crate) hash: String,
    pub(crate) size: u64,
}

/// Copies `content` into an unnamed temporary file in `dir`, hashing and counting; refuses (and
/// removes the file, by dropping it) once more than `max_bytes` arrive.
pub(crate) fn spool(
    dir: &Path,
    content: &mut dyn Read,
    max_bytes: u64,
) -> Result<Spooled, StorageError> {
    let mut file = tempfile::tempfile_in(dir).map_err(|source| StorageError::Spool {
        doing: "creating it",
        source,
    })?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut buffer = vec![0_u8; READ_BUFFER];
    loop {
        let n = match content.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(StorageError::UploadRead { source }),
        };
        size = size.saturating_add(n as u64);
        if size > max_bytes {
            return Err(StorageError::UploadTooLarge { limit: max_bytes });
        }
        hasher.update(&buffer[..n]);
        file.write_all(&buffer[..n])
            .map_err(|source| StorageError::Spool {
                doing: "writing it",
                source,
            })?;
    }
    let hash = hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(Spooled { file, hash, size })
}

/// The id of the blob with `hash`, if stored.
pub(crate) fn blob_id(conn: &mut impl Sql, hash: &str) -> Result<Option<i64>, StorageError> {
    conn.query_opt("SELECT id FROM blobs WHERE hash = ?1", &[&hash], |row| {
        row.get(0)
    })
    .map_err(doing("looking up a blob"))
}

/// The bytes all blobs take, each counted once. (PostgreSQL's SUM of BIGINTs is NUMERIC: cast.)
pub(crate) fn used_bytes(conn: &mut impl Sql) -> Result<u64, StorageError> {
    conn.query_one(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM blobs",
        &[],
        |row| row.get(0),
    )
    .map_err(doing("adding up the size of blobs"))
}

/// The blob of a spooled upload: the existing one with its hash, or a new one copied from the file,
/// if it fits in `quota` (over the distinct bytes of all blobs). Inside the caller's write
/// transaction, which is why the file is local: no network read happens under the lock. One chunk
/// is in memory at a time, one statement per chunk, on both engines.
pub(crate) fn store(
    conn: &mut impl Sql,
    spooled: &mut Spooled,
    quota: Option<u64>,
) -> Result<i64, StorageError> {
    if let Some(id) = blob_id(conn, &spooled.hash)? {
        return Ok(id);
    }
    if let Some(quota) = quota {
        if used_bytes(conn)?.saturating_add(spooled.size) > quota {
            return Err(StorageError::QuotaExceeded { quota });
        }
    }
    let id: i64 = conn
        .query_one(
            "INSERT INTO blobs (hash, size, chunk_size) VALUES (?1, ?2, ?3) RETURNING id",
            &[&spooled.hash, &spooled.size, &CHUNK_SIZE],
            |row| row.get(0),
        )
        .map_err(doing("storing a blob"))?;
    let rewind = |source| StorageError::Spool {
        doing: "reading it back",
        source,
    };
    spooled.file.seek(SeekFrom::Start(0)).map_err(rewind)?;
    let mut chunk = Vec::with_capacity(CHUNK_SIZE);
    let mut copied: u64 = 0;
    for seq in 0_u64.. {
        chunk.clear();
        let n = (&mut spooled.file)
            .take(CHUNK_SIZE as u64)
            .read_to_end(&mut chunk)
            .map_err(rewind)?;
        if n == 0 {
            break;
        }
        conn.execute(
            "INSERT INTO blob_chunks (blob_id, seq, data) VALUES (?1, ?2, ?3)",
            &[&id, &seq, &chunk.as_slice()],
        )
        .map_err(doing("storing a blob"))?;
        copied += n as u64;
    }
    if copied != spooled.size {
        return Err(StorageError::Spool {
            doing: "reading it back",
            source: io::Error::new(io::ErrorKind::UnexpectedEof, "the spooled file changed"),
        });
    }
    Ok(id)
}

/// A stored blob, read as a stream: `Read + Seek`, holding one chunk in memory, and owning what it
/// needs (a handle on the storage's connection pool), so it can be handed to a response body that
/// outlives the request's borrow of [`Storage`]. A connection is taken only while a chunk is loaded.
#[derive(Debug)]
pub struct BlobReader {
    pool: Arc<Pool>,
    blob_id: i64,
    hash: String,
    size: u64,
    chunk_size: u64,
    pos: u64,
    chunk: Vec<u8>,
    /// Which chunk `chunk` holds, if any.
    loaded: Option<u64>,
}

impl BlobReader {
    /// The blob's length in bytes.
    pub fn len(&self) -> u64 {
        self.size
    }

    /// Whether the blob has no bytes (a 0-byte file).
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The blob's SHA-256, lowercase hex: a strong ETag.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Loads chunk `seq`, checking it has the length the blob's size says.
    fn load(&mut self, seq: u64) -> io::Result<()> {
        self.loaded = None;
        let mut pooled = self.pool.get().map_err(io::Error::other)?;
        let chunk = &mut self.chunk;
        // Copied straight from the row into the one buffer the reader keeps.
        let found = pooled
            .query_opt(
                "SELECT data FROM blob_chunks WHERE blob_id = ?1 AND seq = ?2",
                &[&self.blob_id, &seq],
                |row| match row.value(0)? {
                    ValueRef::Blob(bytes) => {
                        chunk.clear();
                        chunk.extend_from_slice(bytes);
                        Ok(())
                    }
                    other => Err(DbError::conversion(format!(
                        "a blob chunk holds {other:?}, not bytes"
                    ))),
                },
            )
            .map_err(|e| io::Error::other(StorageError::database("reading a blob", e)))?;
        let expected = (self.size - seq * self.chunk_size).min(self.chunk_size);
        if found.is_none() || self.chunk.len() as u64 != expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("chunk {seq} of blob {} is missing or damaged", self.hash),
            ));
        }
        self.loaded = Some(seq);
        Ok(())
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.pos >= self.size {
            return Ok(0);
        }
        let seq = self.pos / self.chunk_size;
        if self.loaded != Some(seq) {
            self.load(seq)?;
        }
        let offset = usize::try_from(self.pos - seq * self.chunk_size)
            .expect("an offset inside a chunk fits in memory");
        let n = buf.len().min(self.chunk.len() - offset);
        buf[..n].copy_from_slice(&self.chunk[offset..offset + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlobReader {
    /// Moves without reading; a position past the end reads as the end.
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(delta) => self.size.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        let Some(target) = target else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            ));
        };
        self.pos = target;
        Ok(target)
    }
}

/// A small image made from an image blob, stored so it is made once ([`Storage::store_thumbnail`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    /// Its media type (the app chooses the format).
    pub media_type: String,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl Storage {
    /// A reader of the blob with SHA-256 `hash` (lowercase hex), or [`StorageError::NoSuchBlob`].
    pub fn open_blob(&self, hash: &str) -> Result<BlobReader, StorageError> {
        let found: Option<(i64, u64, u64)> = self
            .pool
            .get()?
            .query_opt(
                "SELECT id, size, chunk_size FROM blobs WHERE hash = ?1",
                &[&hash],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .map_err(doing("opening a blob"))?;
        let Some((blob_id, size, chunk_size)) = found.filter(|found| found.2 > 0) else {
            return Err(StorageError::NoSuchBlob {
                hash: hash.to_owned(),
            });
        };
        Ok(BlobReader {
            pool: Arc::clone(&self.pool),
            blob_id,
            hash: hash.to_owned(),
            size,
            chunk_size,
            pos: 0,
            chunk: Vec::new(),
            loaded: None,
        })
    }

    /// The bytes all stored blobs take, each distinct content counted once: what the upload quota
    /// is measured against.
    pub fn used_blob_bytes(&self) -> Result<u64, StorageError> {
        used_bytes(&mut *self.pool.get()?)
    }

    /// How many rows `blobs`, `blob_chunks` and `file_versions` hold, for tests: what an upload
    /// wrote, or that a refused one wrote nothing.
    #[cfg(feature = "testing")]
    pub fn blob_row_counts(&self) -> Result<[u64; 3], StorageError> {
        self.pool
            .get()?
            .query_one(
                "SELECT (SELECT COUNT(*) FROM blobs), (SELECT COUNT(*) FROM blob_chunks),
                        (SELECT COUNT(*) FROM file_versions)",
                &[],
                |row| Ok([row.get(0)?, row.get(1)?, row.get(2)?]),
            )
            .map_err(doing("counting blob rows"))
    }

    /// Stores the thumbnail of the blob `hash`, unless it has one already (two processes making the
    /// same thumbnail at once both succeed, and the first is kept). [`StorageError::NoSuchBlob`] if
    /// there is no such blob.
    pub fn store_thumbnail(
        &self,
        hash: &str,
        media_type: &str,
        width: u32,
        height: u32,
        bytes: &[u8],
    ) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        let Some(blob_id) = blob_id(&mut *conn, hash)? else {
            return Err(StorageError::NoSuchBlob {
                hash: hash.to_owned(),
            });
        };
        conn.execute(
            "INSERT INTO thumbnails (blob_id, media_type, width, height, data)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            &[&blob_id, &media_type, &width, &height, &bytes],
        )
        .map_err(doing("storing a thumbnail"))?;
        Ok(())
    }

    /// The stored thumbnail of the blob `hash`, if one was made.
    pub fn thumbnail(&self, hash: &str) -> Result<Option<Thumbnail>, StorageError> {
        self.pool
            .get()?
            .query_opt(
                "SELECT t.media_type, t.width, t.height, t.data FROM thumbnails t
                 JOIN blobs b ON b.id = t.blob_id WHERE b.hash = ?1",
                &[&hash],
                |row| {
                    Ok(Thumbnail {
                        media_type: row.get(0)?,
                        width: row.get(1)?,
                        height: row.get(2)?,
                        bytes: row.get(3)?,
                    })
                },
            )
            .map_err(doing("reading a thumbnail"))
    }
}
