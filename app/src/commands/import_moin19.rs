//! `quire import moin19 PATH`: a MoinMoin 1.9 data directory imported into the wiki, with its
//! history, files and accounts (the reader is [`crate::import::moin19`], the writer
//! [`crate::import::Importer`]).
//!
//! PATH is checked to be a data directory before the wiki's data directory is opened or made, so a
//! wrong PATH writes nothing. The markup is converted with the wiki's own CamelCase setting, so that
//! CamelCase words link as they did in MoinMoin either way.

use std::path::Path;

use markup::moin::MoinOptions;

use super::Setup;
use crate::cli::GlobalOptions;
use crate::config::ListenFlags;
use crate::import::moin19::Moin19;
use crate::import::{ImportSummary, Importer};

/// Imports the data directory at `path`; the summary is printed by the importer and returned.
pub fn run(global: &GlobalOptions, path: &Path, quiet: bool) -> anyhow::Result<ImportSummary> {
    let source = Moin19::open(path)?;
    let setup = Setup::new(global, ListenFlags::default())?;
    let options = MoinOptions {
        camel_case: setup.settings.camel_case,
    };
    let mut importer = Importer::new(&setup, "moin19", quiet)?;
    source.import(&mut importer, &options)?;
    importer.finish()
}
