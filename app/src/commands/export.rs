//! `quire export markdown DIR` and `quire export git DIR`: the wiki written out (see
//! [`crate::export`]), with progress on stderr and a summary on stdout.

use std::time::Instant;

use super::{Progress, Setup};
use crate::cli::ExportCommand;
use crate::export;

/// Runs the export `command` asks for.
pub fn run(setup: &Setup, command: &ExportCommand) -> anyhow::Result<()> {
    let storage = setup.storage()?;
    let started = Instant::now();
    let (dir, summary) = match command {
        ExportCommand::Markdown { dir, quiet } => {
            let mut progress = Progress::new("pages written", *quiet);
            let summary = export::markdown::export(
                &storage,
                dir,
                &setup.settings.render_options(),
                &mut |done, total| progress.set(done, total),
            )?;
            progress.finish();
            (dir, summary)
        }
        ExportCommand::Git { dir, quiet } => {
            let mut progress = Progress::new("revisions written", *quiet);
            let summary =
                export::git::export(&storage, dir, &mut |done, total| progress.set(done, total))?;
            progress.finish();
            (dir, summary)
        }
    };
    println!(
        "exported to {} in {:.1} s: {summary}",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
