//! `quire init`: create and seed a data directory, then exit.

use super::Setup;

/// Creates the directory, its settings file and the help pages.
pub fn run(setup: &Setup) -> anyhow::Result<()> {
    let storage = setup.storage()?;
    let pages = storage.page_names()?.len();
    println!(
        "quire data directory ready: {} ({pages} pages). Start it with: quire --data {} serve",
        setup.data.root().display(),
        setup.data.root().display()
    );
    Ok(())
}
