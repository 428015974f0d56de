//! `quire backup FILE`: one file with a consistent copy of the database and `quire.toml`, taken
//! while the wiki keeps serving (see `storage`'s backup module and [`crate::archive`]).
//!
//! Nothing is written under FILE's name until the backup is whole and checked: the database is
//! copied into a temporary folder beside FILE, checked (`PRAGMA integrity_check`, and counted for
//! the summary), packed into a temporary file beside FILE, and that file is renamed to FILE last.
//! An interrupted backup leaves FILE as it was.

use std::path::Path;

use anyhow::Context;
use storage::Engine;

use super::{Progress, Setup};
use crate::archive;
use crate::cli::BackupOptions;

/// Writes the backup; progress on stderr, the summary on stdout.
pub fn run(setup: &Setup, options: &BackupOptions) -> anyhow::Result<()> {
    let file = &options.file;
    let dir = folder_of(file);
    let work = tempfile::Builder::new()
        .prefix(".quire-backup-")
        .tempdir_in(dir)
        .with_context(|| {
            format!(
                "could not make a temporary folder in {} for the backup; check that it exists and that this user may write there",
                dir.display()
            )
        })?;
    // Opened as every command opens the wiki, so a wiki on PostgreSQL is backed up too: into the
    // same kind of file, an SQLite copy of every table (see storage's backup module).
    let storage = setup.storage()?;
    let copy = work.path().join("wiki.sqlite3");
    let counted = match storage.engine() {
        Engine::Sqlite => "database pages copied",
        Engine::Postgres => "rows copied, then checked",
    };
    let mut progress = Progress::new(counted, options.quiet);
    storage
        .backup_with_progress(&copy, |step| progress.set(step.copied, step.total))
        .with_context(|| format!("could not copy the database into {}", dir.display()))?;
    progress.finish();
    let facts = storage::verify_copy(&copy).context("the copy failed its check")?;
    let settings_path = setup.data.config_path();
    let settings = match std::fs::read(&settings_path) {
        Ok(bytes) => Some(bytes),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(err) => {
            return Err(err).with_context(|| format!("could not read {}", settings_path.display()))
        }
    };
    let mut partial = tempfile::Builder::new()
        .prefix(".quire-backup-")
        .suffix(".partial")
        .tempfile_in(dir)
        .with_context(|| format!("could not create a temporary file in {}", dir.display()))?;
    let writing = || format!("could not write the backup beside {}", file.display());
    archive::write(
        partial.as_file_mut(),
        &copy,
        settings.as_deref(),
        facts.schema_version,
    )
    .with_context(writing)?;
    partial.as_file().sync_all().with_context(writing)?;
    let bytes = partial.as_file().metadata().with_context(writing)?.len();
    partial
        .persist(file)
        .with_context(|| format!("could not rename the finished backup to {}", file.display()))?;
    println!(
        "backup written to {}: {} pages, {} revisions, {} files, {bytes} bytes",
        file.display(),
        facts.pages,
        facts.revisions,
        facts.files,
    );
    Ok(())
}

/// The folder a file is in; `.` for a bare name.
fn folder_of(file: &Path) -> &Path {
    match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}
