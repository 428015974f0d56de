//! `quire import …`: each source's reader hands its pages to [`crate::import::Importer`], which
//! prints the summary.
//!
//! The source is checked before the wiki's data directory is opened or made, so a wrong path writes
//! nothing; a missing data directory is then made, as `quire init` makes it, so an import can start
//! a wiki.

use std::path::Path;

use markup::moin::MoinOptions;

use super::Setup;
use crate::cli::{GlobalOptions, ImportCommand};
use crate::config::ListenFlags;
use crate::import::moin19::Moin19;
use crate::import::{self, ImportSummary, Importer};

/// Runs the import `command` asks for.
pub fn run(global: &GlobalOptions, command: &ImportCommand) -> anyhow::Result<()> {
    match command {
        ImportCommand::Moin19 { path, quiet } => moin19(global, path, *quiet)?,
        ImportCommand::Markdown { dir, quiet } => {
            if !dir.is_dir() {
                anyhow::bail!(
                    "{} is not a folder: give the folder of .md files, or the git repository, to import",
                    dir.display()
                );
            }
            let setup = Setup::new(global, ListenFlags::default())?;
            import::markdown::run(&setup, dir, *quiet)?
        }
    };
    Ok(())
}

/// Imports the MoinMoin 1.9 data directory at `path`. The markup is converted with the wiki's own
/// CamelCase setting, so that CamelCase words link as they did in MoinMoin either way.
pub fn moin19(global: &GlobalOptions, path: &Path, quiet: bool) -> anyhow::Result<ImportSummary> {
    let source = Moin19::open(path)?;
    let setup = Setup::new(global, ListenFlags::default())?;
    let options = MoinOptions {
        camel_case: setup.settings.camel_case,
    };
    let mut importer = Importer::new(&setup, "moin19", quiet)?;
    source.import(&mut importer, &options)?;
    importer.finish()
}
