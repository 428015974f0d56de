//! `quire reindex`: rebuild the search index from scratch while the wiki keeps serving.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use search::SearchIndex;
use storage::Storage;

use super::Setup;
use crate::cli::ReindexOptions;
use crate::indexer::{self, Rebuilt};

/// tantivy's indexing memory per thread, most of a rebuild's peak memory: 100 000 pages make six
/// segments with it, merged as they come, and a rebuild of them peaks near 200 MB (it was 200 MB, and
/// the peak 460 MB with tantivy's queue of documents unbounded: BENCHMARKS.md, issue 16).
const HEAP_PER_THREAD: usize = 100_000_000;

/// Rebuilds, showing progress on stderr; prints a summary on stdout.
pub fn run(setup: &Setup, options: &ReindexOptions) -> anyhow::Result<()> {
    let storage = setup.storage()?;
    let threads = options.threads.unwrap_or(1).clamp(1, 8);
    let started = Instant::now();
    let rebuilt = rebuild(&setup.index_dir(), &storage, threads, options.quiet)?;
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

/// Rebuilds the search index in `index_dir` from `storage` with `threads` indexing threads, with a
/// progress bar on stderr unless `quiet`: `quire reindex`, and the end of an import.
pub(crate) fn rebuild(
    index_dir: &Path,
    storage: &Storage,
    threads: usize,
    quiet: bool,
) -> anyhow::Result<Rebuilt> {
    let index = SearchIndex::new(index_dir);
    let pages = storage.page_count().context("could not count the pages")?;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(pages)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} pages, {per_sec}, about {eta} left")
            .context("the progress bar template is invalid")?,
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let rebuilt = indexer::rebuild(
        storage,
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
    Ok(rebuilt)
}
