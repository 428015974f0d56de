//! The backup file `quire backup` writes and `quire restore` reads: one plain tar.
//!
//! It holds, in this order:
//! - `QUIRE-BACKUP`, a few lines saying what the file is (its format, the quire and schema version
//!   that wrote it), so that any other tar is refused before anything is unpacked;
//! - `quire.toml`, the settings;
//! - `wiki.sqlite3`, a consistent copy of the database, which holds every page, revision,
//!   account and attached file (attachments are blobs in the database).
//!
//! A tar rather than a bare `.sqlite3`: the settings travel with the content, and `tar tf` shows
//! what is inside with tools every operator has. Left out on purpose: the session key (a secret;
//! after a restore everyone logs in again, with a new key) and the search index and theme
//! overrides' derived files (the index is rebuilt by the restore; `DATA/themes/` is the operator's
//! own files, backed up as files are).
//!
//! Reading takes only those three names, as regular files; anything else in the archive makes it
//! "not a quire backup", so a hostile archive cannot write outside the restore's own folder.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The file saying what the archive is; first in it.
const MARKER: &str = "QUIRE-BACKUP";
/// The first line of [`MARKER`]: the format, which a future change of layout would bump.
const FORMAT_LINE: &str = "quire backup 1";
/// The settings' name in the archive.
const SETTINGS: &str = "quire.toml";
/// The database copy's name in the archive.
const DATABASE: &str = "wiki.sqlite3";

/// Why a file could not be read as a backup.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The file is not there or cannot be opened.
    #[error("cannot open the backup file {path}")]
    Open {
        /// The file named.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
    /// The file is not a tar written by `quire backup`, or is cut short.
    #[error("{path} is not a quire backup ({why}); give a file that `quire backup` wrote")]
    NotABackup {
        /// The file named.
        path: PathBuf,
        /// What was wrong with it.
        why: String,
    },
    /// Unpacking into the restore's folder failed.
    #[error("could not unpack the backup into {dir}")]
    Unpack {
        /// The restore's temporary folder.
        dir: PathBuf,
        /// What the file system said.
        #[source]
        source: io::Error,
    },
}

/// What [`unpack`] found and wrote.
#[derive(Debug)]
pub struct Unpacked {
    /// The database copy, in the folder given to [`unpack`].
    pub database: PathBuf,
    /// The settings file's contents, if the backup has one.
    pub settings: Option<Vec<u8>>,
}

/// Writes a backup to `out`: the marker, `settings` if there are any, and the database copy at
/// `database`.
pub fn write(
    out: &mut File,
    database: &Path,
    settings: Option<&[u8]>,
    schema_version: u32,
) -> io::Result<()> {
    let mut tar = tar::Builder::new(out);
    let marker = format!(
        "{FORMAT_LINE}\nwritten by quire {}\nschema {schema_version}\n",
        crate::cli::VERSION
    );
    append_bytes(&mut tar, MARKER, marker.as_bytes())?;
    if let Some(settings) = settings {
        append_bytes(&mut tar, SETTINGS, settings)?;
    }
    let mut copy = File::open(database)?;
    let mut header = regular_header(copy.metadata()?.len());
    tar.append_data(&mut header, DATABASE, &mut copy)?;
    tar.into_inner()?.flush()
}

fn append_bytes(tar: &mut tar::Builder<&mut File>, name: &str, bytes: &[u8]) -> io::Result<()> {
    let mut header = regular_header(bytes.len() as u64);
    tar.append_data(&mut header, name, bytes)
}

fn regular_header(size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs()),
    );
    header
}

/// Reads the backup at `path`, writing its database copy into `dir` (the restore's own temporary
/// folder) and returning it with the settings.
pub fn unpack(path: &Path, dir: &Path) -> Result<Unpacked, ArchiveError> {
    let file = File::open(path).map_err(|source| ArchiveError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let not_a_backup = |why: String| ArchiveError::NotABackup {
        path: path.to_path_buf(),
        why,
    };
    let unreadable = |err: io::Error| not_a_backup(format!("unreadable as a tar: {err}"));
    let mut archive = tar::Archive::new(file);
    let entries = archive.entries().map_err(unreadable)?;
    let mut found_marker = false;
    let mut settings = None;
    let mut database = None;
    for entry in entries {
        let mut entry = entry.map_err(unreadable)?;
        let name = entry
            .path()
            .map_err(unreadable)?
            .to_string_lossy()
            .into_owned();
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(not_a_backup(format!("{name} is not a regular file")));
        }
        if !found_marker {
            found_marker = name == MARKER && read_marker(&mut entry).map_err(unreadable)?;
            if !found_marker {
                return Err(not_a_backup(format!("it does not start with {MARKER}")));
            }
            continue;
        }
        match name.as_str() {
            SETTINGS => {
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).map_err(unreadable)?;
                settings = Some(bytes);
            }
            DATABASE => {
                let target = dir.join(DATABASE);
                let mut out = File::create(&target).map_err(|source| ArchiveError::Unpack {
                    dir: dir.to_path_buf(),
                    source,
                })?;
                // A read error is the archive's (cut short); a write error the folder's.
                copy_entry(&mut entry, &mut out, path, dir)?;
                database = Some(target);
            }
            other => {
                return Err(not_a_backup(format!(
                    "it holds {other}, which quire never writes"
                )))
            }
        }
    }
    if !found_marker {
        return Err(not_a_backup("it is empty".to_owned()));
    }
    let database = database.ok_or_else(|| not_a_backup(format!("it holds no {DATABASE}")))?;
    Ok(Unpacked { database, settings })
}

/// Whether the marker's first line is the format this build reads.
fn read_marker(entry: &mut impl Read) -> io::Result<bool> {
    let mut text = String::new();
    entry.take(4096).read_to_string(&mut text)?;
    Ok(text.lines().next() == Some(FORMAT_LINE))
}

fn copy_entry(
    entry: &mut impl Read,
    out: &mut File,
    path: &Path,
    dir: &Path,
) -> Result<(), ArchiveError> {
    let mut buffer = vec![0u8; 256 * 1024];
    loop {
        let read = entry
            .read(&mut buffer)
            .map_err(|err| ArchiveError::NotABackup {
                path: path.to_path_buf(),
                why: format!("its database is cut short: {err}"),
            })?;
        if read == 0 {
            break;
        }
        out.write_all(&buffer[..read])
            .map_err(|source| ArchiveError::Unpack {
                dir: dir.to_path_buf(),
                source,
            })?;
    }
    out.sync_all().map_err(|source| ArchiveError::Unpack {
        dir: dir.to_path_buf(),
        source,
    })
}
