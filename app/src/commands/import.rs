//! `quire import …`: each source's reader hands its pages to [`crate::import::Importer`], which
//! prints the summary.

use super::Setup;
use crate::cli::ImportCommand;
use crate::import;

/// Runs the import `command` asks for.
pub fn run(setup: &Setup, command: &ImportCommand) -> anyhow::Result<()> {
    match command {
        ImportCommand::Markdown { dir, quiet } => {
            import::markdown::run(setup, dir, *quiet)?;
        }
    }
    Ok(())
}
