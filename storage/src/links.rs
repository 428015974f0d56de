//! The link graph: which pages each revision links to, and what follows from it — through
//! `crate::backlinks` backlinks ("what links here"), through `crate::link_names` orphans (pages
//! nothing links to) and wanted pages (linked to but missing).
//!
//! Links are stored per revision (`links (revision_id, target)`), written in the same transaction as
//! the revision, so the graph never disagrees with the text. Questions about the wiki as it is now only
//! follow each page's *current* revision. Storage cannot read Markdown: the app extracts the targets and
//! hands them over ([`crate::Storage::save_with_links`]); a revision saved without them leaves its page
//! listed by [`crate::Storage::pages_missing_links`] until the app supplies them
//! ([`crate::Storage::set_links`]). Targets are page names exactly as the app normalised them; a link
//! from a page to itself counts for nothing.
//!
//! Links to attachments sit beside them (`file_links (revision_id, page, name)`), recorded by the same
//! call ([`crate::Storage::save_with_links_and_files`], [`crate::Storage::set_links_and_files`]) and
//! copied, replaced and followed exactly like page links. A file is named by its page's name, as the
//! text wrote it, and the file name; a page linking its own file counts (that is the usual case).

use crate::db::Sql;
use crate::error::{doing, StorageError};

/// Records `links` as the outgoing links of revision `revision_id` (number `rev`) of page `page_id`,
/// and marks the page's links as known for that revision. Runs inside the caller's transaction.
pub(crate) fn record(
    conn: &mut impl Sql,
    page_id: i64,
    revision_id: i64,
    rev: i64,
    links: &[&str],
    files: &[(&str, &str)],
) -> Result<(), StorageError> {
    record_files(conn, revision_id, files)?;
    // Replaces what was there: a renamed page's revision starts with its predecessor's links, which
    // relative links may have made wrong.
    conn.execute("DELETE FROM links WHERE revision_id = ?1", &[&revision_id])
        .map_err(doing("recording links"))?;
    for target in links {
        conn.execute(
            "INSERT INTO links (revision_id, target) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            &[&revision_id, target],
        )
        .map_err(doing("recording links"))?;
    }
    conn.execute(
        "UPDATE pages SET links_rev = ?1 WHERE id = ?2",
        &[&rev, &page_id],
    )
    .map_err(doing("recording links"))?;
    Ok(())
}

/// Records `files` (page name, file name) as the file links of revision `revision_id`, replacing
/// what was there. Inside the caller's transaction.
fn record_files(
    conn: &mut impl Sql,
    revision_id: i64,
    files: &[(&str, &str)],
) -> Result<(), StorageError> {
    conn.execute(
        "DELETE FROM file_links WHERE revision_id = ?1",
        &[&revision_id],
    )
    .map_err(doing("recording file links"))?;
    for (page, name) in files {
        conn.execute(
            "INSERT INTO file_links (revision_id, page, name) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            &[&revision_id, page, name],
        )
        .map_err(doing("recording file links"))?;
    }
    Ok(())
}

/// Copies revision `from_revision`'s page and file links to `to_revision` (a rename or an undelete
/// keeps what the text links to). Inside the caller's transaction.
pub(crate) fn copy(
    conn: &mut impl Sql,
    from_revision: i64,
    to_revision: i64,
) -> Result<(), StorageError> {
    // Each SELECT has a WHERE: without one SQLite would read ON CONFLICT as a join's ON.
    conn.execute(
        "INSERT INTO links (revision_id, target)
         SELECT ?2, target FROM links WHERE revision_id = ?1
         ON CONFLICT DO NOTHING",
        &[&from_revision, &to_revision],
    )
    .map_err(doing("copying links"))?;
    conn.execute(
        "INSERT INTO file_links (revision_id, page, name)
         SELECT ?2, page, name FROM file_links WHERE revision_id = ?1
         ON CONFLICT DO NOTHING",
        &[&from_revision, &to_revision],
    )
    .map_err(doing("copying file links"))?;
    Ok(())
}

/// The pages whose current revision links to file `name` of page `page`, by name.
pub(crate) fn file_backlinks(
    conn: &mut impl Sql,
    page: &str,
    name: &str,
) -> Result<Vec<String>, StorageError> {
    conn.query_map(
        "SELECT DISTINCT p.name FROM file_links l
         JOIN revisions r ON r.id = l.revision_id
         JOIN pages p ON p.id = r.page_id AND p.current_rev = r.rev
         WHERE l.page = ?1 AND l.name = ?2
         ORDER BY p.name",
        &[&page, &name],
        |row| row.get(0),
    )
    .map_err(doing("reading file backlinks"))
}

/// Files that current revisions link to but that do not exist (no such page, a deleted page, no such
/// file or a deleted one), with how many pages link to each; most wanted first.
pub(crate) fn wanted_files(conn: &mut impl Sql) -> Result<Vec<WantedFile>, StorageError> {
    let rows = conn
        .query_map(
            "SELECT l.page, l.name, COUNT(DISTINCT p.id) AS n FROM pages p
             JOIN revisions r ON r.page_id = p.id AND r.rev = p.current_rev
             JOIN file_links l ON l.revision_id = r.id
             WHERE NOT EXISTS (
                 SELECT 1 FROM pages t
                 JOIN file_versions v ON v.page_id = t.id AND v.name = l.name
                 WHERE t.name = l.page AND t.deleted = 0 AND v.kind <> 'delete'
                   AND v.version = (SELECT MAX(version) FROM file_versions
                                    WHERE page_id = t.id AND name = l.name)
             )
             GROUP BY l.page, l.name
             ORDER BY n DESC, l.page, l.name",
            &[],
            |row| {
                Ok((
                    row.get::<String>(0)?,
                    row.get::<String>(1)?,
                    row.get::<i64>(2)?,
                ))
            },
        )
        .map_err(doing("listing wanted files"))?;
    rows.into_iter()
        .map(|(page, name, count)| {
            let links = crate::revision::to_u64("link count", &page, count)?;
            Ok(WantedFile { page, name, links })
        })
        .collect()
}

/// A file that pages link to but that does not exist ([`crate::Storage::wanted_files`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedFile {
    /// The page the file would belong to, as the links name it.
    pub page: String,
    /// The file name.
    pub name: String,
    /// How many pages link to it.
    pub links: u64,
}
