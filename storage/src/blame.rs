//! Blame: for each line of a page's current text, the revision that last changed it.
//!
//! Replaying a long history on every request would cost a diff per revision (seconds for 10 000
//! revisions), so the answer is kept instead: the `blame` table holds, per page, the revision of each
//! line of revision `rev`, run-length encoded. Every save updates it in its own transaction from the
//! line diff it computes anyway (for compact history): kept lines keep their revision, new lines get
//! the new one. A rename changes no line and carries the record over; a deletion leaves it alone
//! (it describes the text before the deletion), so an undelete — which restores exactly that text —
//! carries it over too.
//!
//! When the record is missing or describes another revision (a database from before blame existed,
//! the re-creation of a deleted page), [`blame`] rebuilds it once by walking the history downwards,
//! newest first, the way `git blame` does: a line of the current text belongs to the newest revision
//! whose predecessor lacks it; the walk stops as soon as every line is placed. The rebuilt record is
//! stored if the page has not moved on meanwhile.

use std::collections::HashMap;

use crate::db::{Conn, Sql, TxKind};
use crate::error::{doing, StorageError};
use crate::line_diff::{self, Lines, Run};
use crate::revision::{to_u64, Body, Loaded};
use crate::{varint, Storage};

/// One line of a page with the revision that last changed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlameLine {
    /// The line, without its line break.
    pub text: String,
    /// The revision that wrote this line last.
    pub rev: u64,
    /// Who saved that revision.
    pub author: String,
    /// When, in unix seconds UTC.
    pub time: i64,
}

impl Storage {
    /// Each line of a page's current text with the revision, author and time that last changed it;
    /// `None` if the page does not exist (or is deleted). Cheap whatever the history's length (the
    /// answer is kept up to date by every save); the first call on a page saved before blame existed
    /// walks its history once.
    pub fn blame(&self, name: &str) -> Result<Option<Vec<BlameLine>>, StorageError> {
        let mut conn = self.pool.get()?;
        blame(&mut conn, name)
    }
}

/// Records a new page: every line is from its first revision.
pub(crate) fn created(
    conn: &mut impl Sql,
    page_id: i64,
    rev: u64,
    lines: usize,
) -> Result<(), StorageError> {
    store(conn, page_id, rev, &vec![rev; lines])
}

/// Follows an edit from revision `prev_rev` (`prev_len` lines) to `rev` (`new_len` lines), whose
/// line diff is `runs`. A record that does not describe `prev_rev` is left for [`blame`] to rebuild.
pub(crate) fn edited(
    conn: &mut impl Sql,
    page_id: i64,
    prev_rev: u64,
    prev_len: usize,
    rev: u64,
    new_len: usize,
    runs: &[Run],
) -> Result<(), StorageError> {
    let Some(old) = load(conn, page_id, prev_rev, prev_len)? else {
        return Ok(());
    };
    let mut new = Vec::with_capacity(new_len);
    for run in runs {
        match run {
            Run::Same { old: kept, .. } => new.extend_from_slice(&old[kept.clone()]),
            Run::Changed { new: written, .. } => {
                new.extend(std::iter::repeat_n(rev, written.len()));
            }
        }
    }
    store(conn, page_id, rev, &new)
}

/// Revision `to` has exactly the text of revision `from` (a rename, an undelete): the record of
/// `from`, if that is what is kept, now describes `to`.
pub(crate) fn carry(
    conn: &mut impl Sql,
    page_id: i64,
    from: u64,
    to: u64,
) -> Result<(), StorageError> {
    conn.execute(
        "UPDATE blame SET rev = ?3 WHERE page_id = ?1 AND rev = ?2",
        &[&page_id, &sql_rev(from), &sql_rev(to)],
    )
    .map_err(doing("updating blame"))?;
    Ok(())
}

/// The blame of a page's current text, or `None` if the page does not exist (or is deleted).
pub(crate) fn blame(conn: &mut Conn, name: &str) -> Result<Option<Vec<BlameLine>>, StorageError> {
    // One read transaction: the text, the record and the revisions' authors from one snapshot.
    let mut tx = conn
        .transaction(TxKind::Read)
        .map_err(doing("starting to read blame"))?;
    let Some(current) = crate::load_current(&mut tx, name)? else {
        return Ok(None);
    };
    let rev = current.revision.meta.rev;
    let lines = Lines::new(&current.revision.text);
    let (revs, rebuilt) = match load(&mut tx, current.page_id, rev, lines.len())? {
        Some(revs) => (revs, false),
        None => (rebuild(&mut tx, &current, &lines)?, true),
    };
    let mut who: HashMap<u64, (String, i64)> = HashMap::new();
    for &line_rev in &revs {
        if who.contains_key(&line_rev) {
            continue;
        }
        let found: (String, i64) = tx
            .query_one(
                "SELECT author, time FROM revisions WHERE page_id = ?1 AND rev = ?2",
                &[&current.page_id, &sql_rev(line_rev)],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(doing("reading blame"))?;
        who.insert(line_rev, found);
    }
    tx.commit().map_err(doing("finishing reading blame"))?;
    if rebuilt {
        remember(conn, current.page_id, rev, &revs);
    }
    let blamed = lines
        .lines
        .iter()
        .zip(&revs)
        .map(|(line, &line_rev)| {
            let (author, time) = who
                .get(&line_rev)
                .cloned()
                .expect("every revision of a line was looked up above");
            BlameLine {
                text: line
                    .strip_suffix('\n')
                    .map_or(*line, |l| l.strip_suffix('\r').unwrap_or(l))
                    .to_owned(),
                rev: line_rev,
                author,
                time,
            }
        })
        .collect();
    Ok(Some(blamed))
}

/// Places every line of the current text by walking the history downwards (see the module docs).
fn rebuild(
    conn: &mut impl Sql,
    current: &Loaded,
    lines: &Lines<'_>,
) -> Result<Vec<u64>, StorageError> {
    let page = &current.revision.meta.page;
    let mut owner: Vec<Option<u64>> = vec![None; lines.len()];
    // For each line of the tracked text (the newest non-deletion revision not yet compared with its
    // predecessor): the line of the current text it is, if that line is still unplaced.
    let mut map: Vec<Option<usize>> = (0..lines.len()).map(Some).collect();
    let mut tracked_text = current.revision.text.clone();
    let mut tracked_rev = current.revision.meta.rev;
    // The text of the revision right above the one being decoded, which its delta refers to.
    let mut above = current.revision.text.clone();

    // The revisions below, newest first, a batch at a time: the walk usually stops long before
    // the first revision, so the whole history is not read unless it has to be.
    let body_sql = crate::revision::body(conn.engine());
    let sql = format!(
        "SELECT r.rev, r.kind, r.format, {body_sql} FROM revisions r
         WHERE r.page_id = ?1 AND r.rev < ?2 ORDER BY r.rev DESC LIMIT ?3"
    );
    let mut below = current.revision.meta.rev;
    let mut batch = std::collections::VecDeque::new();
    while map.iter().any(Option::is_some) {
        if batch.is_empty() {
            batch = conn
                .query_map(
                    &sql,
                    &[&current.page_id, &sql_rev(below), &REBUILD_BATCH],
                    |row| {
                        Ok((
                            row.get::<i64>(0)?,
                            row.get::<String>(1)?,
                            row.get::<String>(2)?,
                            row.get::<Body>(3)?,
                        ))
                    },
                )
                .map_err(doing("rebuilding blame"))?
                .into();
        }
        let Some((rev, kind, format, body)) = batch.pop_front() else {
            break;
        };
        let rev = to_u64("revision number", page, rev)?;
        below = rev;
        let text = crate::compact::decode_with_next(page, rev, &format, body, &above)?;
        above.clone_from(&text);
        // A deletion's empty text is no ancestor of the lines: compare across it.
        if kind == "delete" {
            continue;
        }
        let older = Lines::new(&text);
        let newer = Lines::new(&tracked_text);
        let mut older_map = vec![None; older.len()];
        for run in line_diff::diff(&older, &newer) {
            match run {
                Run::Same { old, new } => {
                    for (o, n) in old.zip(new) {
                        older_map[o] = map[n];
                    }
                }
                Run::Changed { new, .. } => {
                    for line in map[new].iter().flatten() {
                        owner[*line] = Some(tracked_rev);
                    }
                }
            }
        }
        map = older_map;
        tracked_text = text;
        tracked_rev = rev;
    }
    // What is left was there from the oldest revision reached.
    for line in map.iter().flatten() {
        owner[*line] = Some(tracked_rev);
    }
    Ok(owner
        .into_iter()
        .map(|rev| rev.expect("the walk places every line"))
        .collect())
}

/// Revisions a blame rebuild reads at a time, newest first.
const REBUILD_BATCH: i64 = 64;

/// Stores a rebuilt record if the page is still at `rev`. Best effort: blame was answered already,
/// and a busy database only means the next request rebuilds again.
fn remember(conn: &mut Conn, page_id: i64, rev: u64, revs: &[u64]) {
    let stored = (|| -> Result<(), StorageError> {
        let mut tx = conn
            .transaction(TxKind::Write)
            .map_err(doing("keeping a rebuilt blame record"))?;
        let still = tx
            .query_opt(
                "SELECT 1 FROM pages WHERE id = ?1 AND current_rev = ?2",
                &[&page_id, &sql_rev(rev)],
                |_| Ok(()),
            )
            .map_err(doing("keeping a rebuilt blame record"))?;
        if still.is_some() {
            store(&mut tx, page_id, rev, revs)?;
        }
        tx.commit().map_err(doing("keeping a rebuilt blame record"))
    })();
    if let Err(error) = stored {
        tracing::debug!(%error, page_id, "could not keep a rebuilt blame record");
    }
}

/// Whether the record kept for `name`'s current text is the one its history gives (true when no
/// record is kept, or the page is gone: nothing disagrees). For `quire check`.
pub(crate) fn agrees_with_rebuild(conn: &mut Conn, name: &str) -> Result<bool, StorageError> {
    let mut tx = conn
        .transaction(TxKind::Read)
        .map_err(doing("starting to check blame"))?;
    let Some(current) = crate::load_current(&mut tx, name)? else {
        return Ok(true);
    };
    let lines = Lines::new(&current.revision.text);
    let Some(kept) = load(
        &mut tx,
        current.page_id,
        current.revision.meta.rev,
        lines.len(),
    )?
    else {
        return Ok(true);
    };
    Ok(kept == rebuild(&mut tx, &current, &lines)?)
}

/// Drops the record kept for `name`: the next blame rebuilds it from the history.
pub(crate) fn forget(conn: &mut impl Sql, name: &str) -> Result<(), StorageError> {
    conn.execute(
        "DELETE FROM blame WHERE page_id = (SELECT id FROM pages WHERE name = ?1)",
        &[&name],
    )
    .map_err(doing("dropping a blame record"))?;
    Ok(())
}

/// The kept record of revision `rev`, if there is one and it has `lines` lines.
fn load(
    conn: &mut impl Sql,
    page_id: i64,
    rev: u64,
    lines: usize,
) -> Result<Option<Vec<u64>>, StorageError> {
    let bytes: Option<Vec<u8>> = conn
        .query_opt(
            "SELECT lines FROM blame WHERE page_id = ?1 AND rev = ?2",
            &[&page_id, &sql_rev(rev)],
            |row| row.get(0),
        )
        .map_err(doing("reading blame"))?;
    // A record that does not decode is treated as missing: it is derived data, rebuilt from history.
    Ok(bytes.and_then(|bytes| decode(&bytes, lines)))
}

fn store(conn: &mut impl Sql, page_id: i64, rev: u64, revs: &[u64]) -> Result<(), StorageError> {
    conn.execute(
        "INSERT INTO blame (page_id, rev, lines) VALUES (?1, ?2, ?3)
         ON CONFLICT (page_id) DO UPDATE SET rev = excluded.rev, lines = excluded.lines",
        &[&page_id, &sql_rev(rev), &encode(revs)],
    )
    .map_err(doing("updating blame"))?;
    Ok(())
}

/// Revision numbers come from the database, where they are `i64`.
fn sql_rev(rev: u64) -> i64 {
    i64::try_from(rev).unwrap_or(i64::MAX)
}

/// Runs of equal revisions as LEB128 pairs (revision, count).
fn encode(revs: &[u64]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < revs.len() {
        let rev = revs[at];
        let run = revs[at..].iter().take_while(|&&r| r == rev).count();
        varint::put(&mut out, rev);
        varint::put(&mut out, run as u64);
        at += run;
    }
    out
}

/// Decodes a record of exactly `lines` lines; anything else is no record of this text.
fn decode(bytes: &[u8], lines: usize) -> Option<Vec<u64>> {
    let mut revs = Vec::with_capacity(lines);
    let mut at = 0;
    while at < bytes.len() {
        let rev = varint::take(bytes, &mut at)?;
        let run = usize::try_from(varint::take(bytes, &mut at)?).ok()?;
        if run == 0 || run > lines - revs.len() {
            return None;
        }
        revs.extend(std::iter::repeat_n(rev, run));
    }
    (revs.len() == lines).then_some(revs)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn save(storage: &Storage, text: &str, base_rev: Option<u64>) {
        storage
            .save(crate::Save {
                page: "Notes",
                text,
                author: "ann",
                comment: "",
                base_rev,
                time: None,
            })
            .unwrap();
    }

    #[test]
    fn a_kept_record_that_is_not_its_history_is_found_and_rebuilt() {
        for storage in crate::each_storage() {
            let engine = storage.engine();
            save(&storage, "one\ntwo\n", None);
            save(&storage, "one\nthree\n", Some(1));
            {
                let mut conn = storage.pool.get().unwrap();
                let page_id: i64 = conn
                    .query_one("SELECT id FROM pages WHERE name = 'Notes'", &[], |row| {
                        row.get(0)
                    })
                    .unwrap();
                let mut tx = conn.transaction(TxKind::Read).unwrap();
                let current = crate::load_current(&mut tx, "Notes").unwrap().unwrap();
                let lines = Lines::new(&current.revision.text);
                assert_eq!(
                    rebuild(&mut tx, &current, &lines).unwrap(),
                    [1, 2],
                    "{engine}"
                );
                drop(tx);
                assert!(agrees_with_rebuild(&mut conn, "Notes").unwrap(), "{engine}");
                // Every line said to be from revision 2: the first is from revision 1.
                store(&mut *conn, page_id, 2, &[2, 2]).unwrap();
                assert!(
                    !agrees_with_rebuild(&mut conn, "Notes").unwrap(),
                    "{engine}"
                );
                forget(&mut *conn, "Notes").unwrap();
                assert!(agrees_with_rebuild(&mut conn, "Notes").unwrap(), "{engine}");
            }
            let revs: Vec<u64> = storage
                .blame("Notes")
                .unwrap()
                .unwrap()
                .iter()
                .map(|line| line.rev)
                .collect();
            assert_eq!(revs, [1, 2], "{engine}");
        }
    }

    /// `quire check` finds a wrong record and `forget_blame` mends it.
    #[test]
    fn check_reports_a_wrong_record_and_forgetting_it_mends_it() {
        for storage in crate::each_storage() {
            save(&storage, "one\ntwo\n", None);
            save(&storage, "one\nthree\n", Some(1));
            assert!(storage.verify().unwrap().is_empty());
            {
                let mut conn = storage.pool.get().unwrap();
                let page_id: i64 = conn
                    .query_one("SELECT id FROM pages WHERE name = 'Notes'", &[], |row| {
                        row.get(0)
                    })
                    .unwrap();
                store(&mut *conn, page_id, 2, &[2, 2]).unwrap();
            }
            let found = storage.verify().unwrap();
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].page.as_deref(), Some("Notes"));
            assert_eq!(found[0].kind, crate::FindingKind::StaleBlame);
            storage.forget_blame("Notes").unwrap();
            assert!(storage.verify().unwrap().is_empty());
        }
    }

    /// A history longer than a batch of the rebuild's walk, with keyframes in it: the rebuilt
    /// record is the one the saves kept.
    #[test]
    fn a_rebuild_walks_past_its_batches_to_the_first_revision() {
        for storage in crate::each_storage() {
            let engine = storage.engine();
            let mut text = String::from("first\n");
            save(&storage, &text, None);
            for rev in 2..=150u64 {
                if rev % 7 == 0 {
                    // A line rewritten, not only added.
                    text = text.replacen("line of", "a line of", 1);
                } else {
                    text.push_str(&format!("line of {rev}\n"));
                }
                let base = storage.current("Notes").unwrap().map(|r| r.meta.rev);
                save(&storage, &text, base);
            }
            let kept: Vec<u64> = storage
                .blame("Notes")
                .unwrap()
                .unwrap()
                .iter()
                .map(|line| line.rev)
                .collect();
            let mut conn = storage.pool.get().unwrap();
            forget(&mut *conn, "Notes").unwrap();
            drop(conn);
            let rebuilt: Vec<u64> = storage
                .blame("Notes")
                .unwrap()
                .unwrap()
                .iter()
                .map(|line| line.rev)
                .collect();
            assert_eq!(rebuilt, kept, "{engine}");
            assert_eq!(rebuilt[0], 1, "{engine}");
        }
    }

    proptest! {
        #[test]
        fn records_round_trip(revs in prop::collection::vec(prop_oneof![1_u64..4, any::<u64>()], 0..200)) {
            prop_assert_eq!(decode(&encode(&revs), revs.len()), Some(revs.clone()));
            prop_assert_eq!(decode(&encode(&revs), revs.len() + 1), None);
        }

        #[test]
        fn garbage_records_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes, 1000);
        }
    }
}
