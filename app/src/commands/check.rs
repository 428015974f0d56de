//! `quire check`: the database checked against itself, as `git fsck` checks a repository. Storage
//! checks the file, the revision log and the blame records (`Storage::verify`); this adds what only
//! the app can derive from texts: each page's links (the link graph) and each revision's `#acl`
//! line, compared with what was recorded. It only reads, so it may run beside a serving wiki;
//! `--repair` rebuilds whatever disagrees (all of it derived data) and says what it did.

use anyhow::Context;
use storage::{Finding, FindingKind, RecordedLinks, Storage};

use super::Setup;
use crate::cli::CheckOptions;
use crate::wiki::plumbing::page_name::Outgoing;

/// Pages, or revisions, read at a time.
const BATCH: usize = 500;

/// What disagreed, by kind, so that `--repair` knows what to rebuild.
#[derive(Debug, Default)]
struct Report {
    /// From storage's own checks.
    storage: Vec<Finding>,
    /// Pages whose recorded links are not their text's: `(page, current revision)`.
    links: Vec<(String, u64, Outgoing)>,
    /// Revisions whose recorded ACL line is not their text's: `(page, revision)`.
    acl_lines: Vec<(String, u64)>,
}

impl Report {
    fn is_clean(&self) -> bool {
        self.storage.is_empty() && self.links.is_empty() && self.acl_lines.is_empty()
    }

    fn print(&self) {
        for finding in &self.storage {
            match &finding.page {
                Some(page) => println!("{page}: {}", finding.problem),
                None => println!("{}", finding.problem),
            }
        }
        for (page, rev, _) in &self.links {
            println!("{page}: the links recorded for revision {rev} are not the links in its text");
        }
        for (page, rev) in &self.acl_lines {
            println!("{page}: the ACL line recorded for revision {rev} is not the one in its text");
        }
    }
}

/// Checks, prints what disagrees, repairs it if asked; an error (exit status 1) when something
/// disagreed and was not repaired.
pub fn run(setup: &Setup, options: &CheckOptions) -> anyhow::Result<()> {
    let storage = setup.storage()?;
    let markup = setup.settings.render_options();
    let report = check(&storage, &markup)?;
    report.print();
    if report.is_clean() {
        println!("quire check: all is well");
        return Ok(());
    }
    if !options.repair {
        anyhow::bail!(
            "quire check found {} problems; `quire check --repair` rebuilds the blame records, links, link counts, pages' newest changes and ACL lines (derived data); a damaged database file or revision needs `quire restore` from a backup",
            report.storage.len() + report.links.len() + report.acl_lines.len()
        );
    }
    repair(&storage, &report)?;
    let again = check(&storage, &markup)?;
    if again.is_clean() {
        println!("quire check: repaired, all is well now");
        return Ok(());
    }
    again.print();
    anyhow::bail!("quire check: what is left cannot be rebuilt from the revision log; restore the wiki from a backup (`quire restore`)")
}

/// Every check, in one report.
fn check(storage: &Storage, markup: &markup::RenderOptions) -> anyhow::Result<Report> {
    Ok(Report {
        storage: storage.verify().context("could not check the database")?,
        links: links_that_disagree(storage, markup)?,
        acl_lines: acl_lines_that_disagree(storage)?,
    })
}

/// Each page whose recorded links differ from those of its current text.
fn links_that_disagree(
    storage: &Storage,
    markup: &markup::RenderOptions,
) -> anyhow::Result<Vec<(String, u64, Outgoing)>> {
    let mut found = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let batch = storage
            .current_revisions(after.as_deref(), BATCH)
            .context("could not read the pages")?;
        let Some(last) = batch.last() else {
            return Ok(found);
        };
        after = Some(last.revision.meta.page.clone());
        for logged in batch {
            let Some(recorded) = storage.recorded_links(logged.id)? else {
                continue;
            };
            let page = &logged.revision.meta.page;
            let outgoing = Outgoing::of(&logged.revision.text, page, markup);
            if sorted(&outgoing) != recorded {
                found.push((page.clone(), logged.revision.meta.rev, outgoing));
            }
        }
    }
}

/// What storage records for `outgoing`, sorted as it hands it out. A link from a page to itself is
/// recorded like any other (the queries that follow links leave it out), so it is kept here too.
fn sorted(outgoing: &Outgoing) -> RecordedLinks {
    let mut pages = outgoing.pages.clone();
    pages.sort();
    let mut files = outgoing.files.clone();
    files.sort();
    RecordedLinks { pages, files }
}

/// Each revision the ACL scan has passed whose recorded line differs from its text's.
fn acl_lines_that_disagree(storage: &Storage) -> anyhow::Result<Vec<(String, u64)>> {
    let mark = storage.acl_scan_mark()?;
    let mut found = Vec::new();
    let mut after = 0;
    while after < mark {
        let batch = storage
            .revisions_after(after, BATCH)
            .context("could not read the revision log")?;
        let Some(last) = batch.last() else {
            break;
        };
        let upto = last.id.min(mark);
        let recorded = storage.recorded_acl_lines(after, upto)?;
        for logged in batch.iter().filter(|logged| logged.id <= mark) {
            let line = markup::pragmas(&logged.revision.text).acl;
            if line.as_ref() != recorded.get(&logged.id) {
                found.push((logged.revision.meta.page.clone(), logged.revision.meta.rev));
            }
        }
        after = last.id;
    }
    Ok(found)
}

/// A kind of derived data storage rebuilds whole: what finds it wrong, what rebuilds it, what to
/// say when it has.
type Rebuild = (
    FindingKind,
    fn(&Storage) -> Result<(), storage::StorageError>,
    &'static str,
);

/// Rebuilds what the report found wrong, saying so.
fn repair(storage: &Storage, report: &Report) -> anyhow::Result<()> {
    // Only what the check found: each blame record was rebuilt once already to be compared.
    let stale: Vec<&str> = report
        .storage
        .iter()
        .filter(|finding| finding.kind == FindingKind::StaleBlame)
        .filter_map(|finding| finding.page.as_deref())
        .collect();
    for page in &stale {
        storage.forget_blame(page)?;
    }
    if !stale.is_empty() {
        println!(
            "dropped {} blame records; each is rebuilt from its history when next asked for",
            stale.len()
        );
    }
    for (page, rev, outgoing) in &report.links {
        storage.set_links_and_files(page, *rev, &outgoing.pages(), &outgoing.files())?;
    }
    if !report.links.is_empty() {
        println!("recorded the links of {} pages again", report.links.len());
    }
    // After the links: the counts and backlinks follow the graph as repaired (the triggers kept them through it).
    let rebuilt: [Rebuild; 3] = [
        (
            FindingKind::StaleLinkNames,
            Storage::rebuild_link_names,
            "rebuilt the names behind orphans and wanted pages from the link graph",
        ),
        (
            FindingKind::StaleBacklinks,
            Storage::rebuild_backlinks,
            "rebuilt the backlinks by name (what links here) from the link graph",
        ),
        (
            FindingKind::StaleLastChange,
            Storage::rebuild_last_changes,
            "set each page's newest change for recent changes again from its revisions",
        ),
    ];
    for (kind, rebuild, done) in rebuilt {
        if report.storage.iter().any(|finding| finding.kind == kind) {
            rebuild(storage)?;
            println!("{done}");
        }
    }
    if !report.acl_lines.is_empty() {
        storage.forget_acl_scan()?;
        println!("ACL lines are scanned again from the revision log at the next request");
    }
    Ok(())
}
