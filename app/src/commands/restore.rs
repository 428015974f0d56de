//! `quire restore FILE`: puts a backup's database and `quire.toml` into the data directory and
//! rebuilds the search index.
//!
//! The order keeps the wiki whole at every step: nothing is touched until the backup has been
//! unpacked into a temporary folder inside the data directory (same file system, so the swap is a
//! rename) and its database has passed `PRAGMA integrity_check` and is no newer than this build.
//! Only then is the current database (with its `-wal` and `-shm`, which belong to it) renamed to
//! `wiki.sqlite3.before-restore` and the copy renamed into its place. A data directory that holds
//! pages is refused without `--force`. The wiki must be stopped meanwhile: a server still running
//! would keep writing to the database it has open, which is then the one set aside.

use std::path::{Path, PathBuf};

use anyhow::Context;
use storage::{Storage, StorageError};

use super::{reindex, Setup};
use crate::archive;
use crate::cli::{GlobalOptions, ReindexOptions, RestoreOptions};
use crate::config::ListenFlags;
use crate::datadir::{DataDir, Database};

/// What a set-aside file's name ends with.
const ASIDE: &str = ".before-restore";

/// Restores; the summary on stdout.
pub fn run(global: &GlobalOptions, options: &RestoreOptions) -> anyhow::Result<()> {
    let data = super::locate(global)?;
    if let Database::Postgres(url) = data.database()? {
        anyhow::bail!(
            "this wiki is kept in the PostgreSQL database {}: restore a backup into it with \
             `quire migrate-db` from the backup's unpacked wiki.sqlite3, or with pg_restore from a pg_dump \
             (docs/scaling.md)",
            storage::shown_database_url(&url)
        );
    }
    refuse_pages_without_force(&data, options.force)?;
    // A missing backup is named before anything is made.
    std::fs::metadata(&options.file).map_err(|source| archive::ArchiveError::Open {
        path: options.file.clone(),
        source,
    })?;
    let made_the_folder = !data.root().exists();
    std::fs::create_dir_all(data.root()).with_context(|| {
        format!(
            "could not create the data directory {}",
            data.root().display()
        )
    })?;
    let restored = restore_into(&data, global, options);
    if restored.is_err() && made_the_folder {
        // Nothing of a failed restore stays behind; the folder is empty by now unless the
        // failure came after the swap, and then remove_dir leaves it be.
        let _ = std::fs::remove_dir(data.root());
    }
    restored
}

fn restore_into(
    data: &DataDir,
    global: &GlobalOptions,
    options: &RestoreOptions,
) -> anyhow::Result<()> {
    let file = &options.file;
    let database = data.database_path();
    let work = tempfile::Builder::new()
        .prefix(".restore-")
        .tempdir_in(data.root())
        .with_context(|| {
            format!(
                "could not make a temporary folder in {}",
                data.root().display()
            )
        })?;
    let unpacked = archive::unpack(file, work.path())?;
    let facts = storage::verify_copy(&unpacked.database).map_err(|err| refusal(file, err))?;

    let aside = aside_name(&database);
    if data.holds_wiki() {
        set_aside(&database, &aside)?;
    }
    std::fs::rename(&unpacked.database, &database).with_context(|| {
        format!(
            "could not move the restored database to {}",
            database.display()
        )
    })?;
    if let Some(settings) = &unpacked.settings {
        restore_settings(&data.config_path(), settings)?;
    }
    drop(work);

    let setup = Setup::existing(global, ListenFlags::default())?;
    reindex::run(
        &setup,
        &ReindexOptions {
            threads: None,
            quiet: options.quiet,
        },
    )?;
    println!(
        "restored {} into {}: {} pages, {} revisions, {} files, {} bytes",
        file.display(),
        data.root().display(),
        facts.pages,
        facts.revisions,
        facts.files,
        facts.bytes,
    );
    if options.force && aside.exists() {
        println!("the previous database is kept as {}", aside.display());
    }
    Ok(())
}

/// Refuses a data directory whose database holds pages, unless forced: a restore into the wrong
/// `--data` must not replace a wiki.
fn refuse_pages_without_force(data: &DataDir, force: bool) -> anyhow::Result<()> {
    if force || !data.holds_wiki() {
        return Ok(());
    }
    let database = data.database_path();
    let pages = Storage::open(&database)
        .and_then(|storage| storage.page_count())
        .with_context(|| {
            format!(
                "could not read the wiki in {} (pass --force to replace it anyway)",
                data.root().display()
            )
        })?;
    if pages > 0 {
        anyhow::bail!(
            "the data directory {} holds a wiki with {pages} pages, which a restore would replace; \
             stop the wiki and pass --force to restore anyway (its database is kept as {})",
            data.root().display(),
            aside_name(&database).display()
        );
    }
    Ok(())
}

/// The error a user sees for a backup whose database failed its check: it names the backup file.
fn refusal(file: &Path, err: StorageError) -> anyhow::Error {
    let file = file.display();
    match err {
        StorageError::NewerSchema { found, supported } => anyhow::anyhow!(
            "the backup {file} was made by a newer quire (database schema {found}; this one knows up to {supported}); restore it with that quire or a newer one. Nothing was changed"
        ),
        StorageError::DamagedCopy { .. }
        | StorageError::Corrupt { .. }
        | StorageError::NotADatabase { .. }
        | StorageError::ForeignDatabase { .. } => anyhow::Error::new(err).context(format!(
            "the backup {file} holds a damaged or foreign database; take a new backup. Nothing was changed"
        )),
        other => anyhow::Error::new(other)
            .context(format!("could not check the database in the backup {file}; nothing was changed")),
    }
}

fn aside_name(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(ASIDE);
    PathBuf::from(name)
}

/// Renames the database and the `-wal` and `-shm` files SQLite keeps beside it, together, so the
/// set-aside database is whole (its last saves may still be in its `-wal`).
fn set_aside(database: &Path, aside: &Path) -> anyhow::Result<()> {
    if aside.exists() {
        anyhow::bail!(
            "{} is in the way (a database set aside by an earlier restore); move it elsewhere and run the restore again",
            aside.display()
        );
    }
    for suffix in ["-wal", "-shm", ""] {
        let mut from = database.as_os_str().to_owned();
        from.push(suffix);
        let mut to = aside.as_os_str().to_owned();
        to.push(suffix);
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !suffix.is_empty() => {}
            Err(err) => {
                return Err(err).with_context(|| {
                    format!("could not set {} aside", PathBuf::from(from).display())
                })
            }
        }
    }
    Ok(())
}

/// Writes the backup's settings, setting a different current file aside first.
fn restore_settings(path: &Path, settings: &[u8]) -> anyhow::Result<()> {
    match std::fs::read(path) {
        Ok(current) if current == settings => return Ok(()),
        Ok(_) => {
            let aside = aside_name(path);
            std::fs::rename(path, &aside)
                .with_context(|| format!("could not set {} aside", path.display()))?;
            println!("the previous settings are kept as {}", aside.display());
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err).with_context(|| format!("could not read {}", path.display())),
    }
    std::fs::write(path, settings).with_context(|| format!("could not write {}", path.display()))
}
