//! `quire reindex`: rebuild the search index from scratch while the wiki keeps serving.

use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use search::SearchIndex;

use super::Setup;
use crate::cli::ReindexOptions;
use crate::indexer;

/// tantivy's indexing memory per thread: large enough that 100 000 pages make few segments.
const HEAP_PER_THREAD: usize = 200_000_000;

/// Rebuilds, showing progress on stderr; prints a summary on stdout.
pub fn run(setup: &Setup, options: &ReindexOptions) -> anyhow::Result<()> {
    let storage = setup.data.open_storage()?;
    let index = SearchIndex::new(&setup.index_dir());
    let pages = storage.page_count().context("could not count the pages")?;
    let bar = if options.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(pages)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} pages, {per_sec}, about {eta} left")
            .context("the progress bar template is invalid")?,
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let threads = options.threads.unwrap_or(1).clamp(1, 8);
    let started = Instant::now();
    let rebuilt = indexer::rebuild(
        &storage,
        &index,
        HEAP_PER_THREAD * threads,
        threads,
        |done| bar.inc(done),
    )
    .with_context(|| {
        format!(
            "could not rebuild the search index in {}",
            index.root().display()
        )
    })?;
    bar.finish_and_clear();
    println!(
        "search index rebuilt: {} pages in {:.1} s{}",
        rebuilt.pages,
        started.elapsed().as_secs_f64(),
        match rebuilt.caught_up {
            0 => String::new(),
            n => format!(", then {n} revisions saved meanwhile"),
        }
    );
    Ok(())
}
