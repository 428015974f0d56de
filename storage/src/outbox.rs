//! The mail queue: one row for each mail owed to an account about a change, sent and retried by
//! whoever drains it (the app's worker in a long-running server, or `quire notify` from cron).
//!
//! **Filling the queue reads the revision log, not the save.** The queue keeps the id of the last
//! revision it has looked at (`outbox_cursor`); [`Storage::queue_mail`] reads the revisions after
//! it, finds each one's watchers and adds their rows, and moves the cursor, all in one
//! transaction. So a save does nothing for mail, costs nothing more and cannot fail because of it;
//! every writer (edit, revert, rename, delete, undelete, any process) is covered without being
//! told; and mail owed is never lost to a crash between a save and its mail, since the log is the
//! record of what happened. The watchers of a revision are the accounts, other than its author,
//! that watch its page (by its name now or, for a rename, the name it had), a prefix of either, or
//! every page they edited; a disabled account or one without an address gets nothing. A revision
//! older than [`STALE_SECS`] when the queue first sees it is not mailed: an import's history, or
//! the backlog of a wiki whose queue nobody drained for days, is not news.
//!
//! Whether the account may read the page is **not** decided here but when the mail is sent (the
//! ACLs are the app's, and they may change while a mail waits, so the check at send time is the
//! one that counts).
//!
//! **Sending claims rows.** [`Storage::due_mail`] takes the rows that are due and moves their due
//! time [`LEASE_SECS`] ahead in the same transaction, so two processes draining one queue (two
//! FastCGI servers, a server and cron) do not send the same mail; a process that dies mid-send
//! leaves its rows to be sent again once the lease runs out (at least once, never lost).
//! [`Storage::mail_sent`] removes rows; [`Storage::mail_failed`] counts a failed attempt and sets
//! the next one after a wait that doubles from [`FIRST_RETRY_SECS`] up to [`MAX_RETRY_SECS`],
//! and after [`MAX_ATTEMPTS`] gives up and removes them (the caller logs it).
//!
//! **Digests.** An account that asked for a digest gets its rows due at the end of its current
//! digest period ([`DIGEST_SECS`] from the first change queued for it), and [`Storage::due_mail`]
//! hands all of one account's due digest rows over as one letter.

use std::collections::BTreeMap;

use crate::db::{Sql, TxKind};
use crate::error::{doing, StorageError};
use crate::recent::{change_row, RawChange};
use crate::revision::{META_COLUMNS, META_LEN};
use crate::users::{user_from_row, User, USER_COLUMNS};
use crate::{sql_count, Change, Storage};

/// A revision older than this (seconds) when the queue first sees it is not mailed.
pub const STALE_SECS: i64 = 2 * 24 * 3600;
/// How long rows handed to a sender stay claimed before another may send them.
pub const LEASE_SECS: i64 = 10 * 60;
/// The wait after a first failed attempt; each further failure doubles it.
pub const FIRST_RETRY_SECS: i64 = 60;
/// The longest wait between two attempts.
pub const MAX_RETRY_SECS: i64 = 6 * 3600;
/// Attempts before a mail is given up: with the waits above, about 20 hours of trying.
pub const MAX_ATTEMPTS: u32 = 12;
/// How long a digest collects changes.
pub const DIGEST_SECS: i64 = 24 * 3600;

/// How many revisions one [`Storage::queue_mail`] step reads.
const QUEUE_BATCH: usize = 200;

/// A letter's rows as [`Storage::due_mail`] gathers them.
#[derive(Default)]
struct Gathered {
    digest: bool,
    attempts: u32,
    rows: Vec<u64>,
    changes: Vec<Change>,
}

/// One mail to send: to one account, about one change or (a digest) several.
#[derive(Debug, Clone)]
pub struct Letter {
    /// The queue's rows it stands for, to hand back to [`Storage::mail_sent`] or
    /// [`Storage::mail_failed`].
    pub rows: Vec<u64>,
    /// The account it is for.
    pub to: User,
    /// Whether it is a digest.
    pub digest: bool,
    /// Failed attempts so far.
    pub attempts: u32,
    /// The changes, oldest first; each page under the name it has now.
    pub changes: Vec<Change>,
}

/// What became of a mail that could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// It is tried again at this time (unix seconds).
    At(i64),
    /// It failed [`MAX_ATTEMPTS`] times and was removed.
    GaveUp,
}

/// One row of the queue, for an operator's eyes and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// The account's name.
    pub account: String,
    /// The page's name now.
    pub page: String,
    /// The revision's number.
    pub rev: u64,
    /// Whether it waits for a digest.
    pub digest: bool,
    /// When it is due, unix seconds.
    pub due: i64,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed; empty before one did.
    pub last_error: String,
}

/// The wait after `attempts` failed attempts.
pub fn retry_wait(attempts: u32) -> i64 {
    FIRST_RETRY_SECS
        .saturating_mul(1_i64 << attempts.saturating_sub(1).min(20))
        .min(MAX_RETRY_SECS)
}

impl Storage {
    /// Adds the mail owed for the revisions saved since the queue last looked, as of `now` (unix
    /// seconds), a batch of revisions at a time until it is caught up. Returns how many rows it
    /// added.
    pub fn queue_mail(&self, now: i64) -> Result<u64, StorageError> {
        // A worker asks every few seconds; when nothing was saved since, a read answers, and no
        // write lock is taken.
        let behind: bool = self
            .pool
            .get()?
            .query_one(
                "SELECT (SELECT coalesce(max(id), 0) FROM revisions)
                        > (SELECT upto FROM outbox_cursor WHERE id = 1)",
                &[],
                |row| row.get(0),
            )
            .map_err(doing("reading the mail queue's place"))?;
        if !behind {
            return Ok(0);
        }
        let mut added = 0;
        loop {
            let (rows, caught_up) = self.queue_batch(now)?;
            added += rows;
            if caught_up {
                return Ok(added);
            }
        }
    }

    fn queue_batch(&self, now: i64) -> Result<(u64, bool), StorageError> {
        let mut pooled = self.pool.get()?;
        let mut tx = pooled
            .transaction(TxKind::Write)
            .map_err(doing("starting to queue mail"))?;
        let upto: i64 = tx
            .query_one("SELECT upto FROM outbox_cursor WHERE id = 1", &[], |row| {
                row.get(0)
            })
            .map_err(doing("reading the mail queue's place"))?;
        type Revision = (i64, i64, String, Option<String>, String, i64);
        let revisions: Vec<Revision> = tx
            .query_map(
                "SELECT r.id, r.page_id, p.name, r.renamed_from, r.author, r.time
                 FROM revisions r JOIN pages p ON p.id = r.page_id
                 WHERE r.id > ?1 ORDER BY r.id LIMIT ?2",
                &[&upto, &sql_count(QUEUE_BATCH)],
                |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                    ))
                },
            )
            .map_err(doing("reading revisions to mail"))?;
        let Some(last) = revisions.last().map(|revision| revision.0) else {
            return Ok((0, true));
        };
        // A digest period that starts now ends then.
        let digest_due = now.saturating_add(DIGEST_SECS);
        let mut added = 0;
        for (id, page_id, page, renamed_from, author, time) in &revisions {
            if *time < now - STALE_SECS {
                continue;
            }
            let old_name = renamed_from.as_deref().unwrap_or(page);
            added += tx
                .execute(
                    "WITH watchers (account) AS (
                         SELECT account FROM watches
                             WHERE kind = 'page' AND target IN (?2, ?3) AND since < ?1
                         UNION SELECT account FROM watches WHERE kind = 'prefix' AND since < ?1
                             AND (substr(?2, 1, length(target)) = target
                                  OR substr(?3, 1, length(target)) = target)
                         UNION SELECT s.account FROM watch_settings s JOIN users u ON u.id = s.account
                             WHERE s.edited <> 0 AND s.edited_since < ?1 AND EXISTS (
                                 SELECT 1 FROM revisions m WHERE m.page_id = ?4 AND m.author = u.name)
                     )
                     INSERT INTO outbox (account, revision_id, digest, created, due)
                     SELECT u.id, ?1, coalesce(s.digest, 0), ?6,
                            CASE WHEN coalesce(s.digest, 0) <> 0
                                 THEN coalesce(s.digest_due, ?7) ELSE ?6 END
                     FROM watchers w JOIN users u ON u.id = w.account
                     LEFT JOIN watch_settings s ON s.account = u.id
                     WHERE u.disabled = 0 AND u.email <> '' AND u.name <> ?5",
                    &[id, page, &old_name, page_id, author, &now, &digest_due],
                )
                .map_err(doing("queueing mail"))?;
            // A digest period starts with the first change queued for it.
            tx.execute(
                "UPDATE watch_settings SET digest_due = ?2
                 WHERE digest <> 0 AND digest_due IS NULL
                   AND account IN (SELECT account FROM outbox
                                   WHERE revision_id = ?1 AND digest <> 0)",
                &[id, &digest_due],
            )
            .map_err(doing("starting a digest"))?;
        }
        tx.execute("UPDATE outbox_cursor SET upto = ?1 WHERE id = 1", &[&last])
            .map_err(doing("moving the mail queue's place"))?;
        tx.commit().map_err(doing("committing queued mail"))?;
        Ok((added, revisions.len() < QUEUE_BATCH))
    }

    /// Claims the mail due at `now`, at most `limit` rows: each row a letter of its own, but an
    /// account's digest rows one letter together. Claimed rows are not handed out again for
    /// [`LEASE_SECS`].
    pub fn due_mail(&self, now: i64, limit: usize) -> Result<Vec<Letter>, StorageError> {
        if self.next_mail_due()?.is_none_or(|due| due > now) {
            return Ok(Vec::new());
        }
        // One write transaction from the read of the due rows to their new due time: writers
        // take turns on both engines (on PostgreSQL, across nodes), so a row is claimed once.
        let mut pooled = self.pool.get()?;
        let mut tx = pooled
            .transaction(TxKind::Write)
            .map_err(doing("starting to take due mail"))?;
        let due: Vec<(RawChange, [i64; 4])> = tx
            .query_map(
                &format!(
                    "SELECT {META_COLUMNS}, r.size_delta, r.id, o.id, o.account, o.digest,
                            o.attempts
                     FROM outbox o JOIN revisions r ON r.id = o.revision_id
                     JOIN pages p ON p.id = r.page_id
                     WHERE o.due <= ?1 ORDER BY o.id LIMIT ?2"
                ),
                &[&now, &sql_count(limit)],
                |row| {
                    let read = |at: usize| row.get::<i64>(META_LEN + at);
                    Ok((change_row(row)?, [read(2)?, read(3)?, read(4)?, read(5)?]))
                },
            )
            .map_err(doing("reading due mail"))?;
        // (account, digest group) → letter; a digest row's group is 0, every other row its own id.
        let mut letters: BTreeMap<(i64, i64), Gathered> = BTreeMap::new();
        for (change, [row_id, account, digest, attempts]) in due {
            let change = change.check()?;
            let group = if digest != 0 { 0 } else { row_id };
            let letter = letters.entry((account, group)).or_insert_with(|| Gathered {
                digest: digest != 0,
                ..Gathered::default()
            });
            letter.attempts = (letter.attempts).max(u32::try_from(attempts).unwrap_or(u32::MAX));
            letter.rows.push(u64::try_from(row_id).unwrap_or(0));
            letter.changes.push(change);
        }
        let mut claimed = Vec::with_capacity(letters.len());
        for ((account, _), gathered) in letters {
            let Gathered {
                digest,
                attempts,
                rows,
                changes,
            } = gathered;
            for row in &rows {
                tx.execute(
                    "UPDATE outbox SET due = ?2 WHERE id = ?1",
                    &[row, &now.saturating_add(LEASE_SECS)],
                )
                .map_err(doing("claiming due mail"))?;
            }
            let to = tx
                .query_opt(
                    &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                    &[&account],
                    user_from_row,
                )
                .map_err(doing("reading a mail's account"))?;
            let Some(to) = to else { continue };
            if digest {
                // The next change starts a new digest period.
                tx.execute(
                    "UPDATE watch_settings SET digest_due = NULL WHERE account = ?1",
                    &[&account],
                )
                .map_err(doing("ending a digest period"))?;
            }
            claimed.push(Letter {
                rows,
                to,
                digest,
                attempts,
                changes,
            });
        }
        tx.commit().map_err(doing("committing claimed mail"))?;
        Ok(claimed)
    }

    /// Removes the rows of a letter that was sent (or that is owed no more: the account may no
    /// longer read any of its pages).
    pub fn mail_sent(&self, rows: &[u64]) -> Result<(), StorageError> {
        let mut pooled = self.pool.get()?;
        let mut tx = pooled
            .transaction(TxKind::Write)
            .map_err(doing("starting to remove sent mail"))?;
        for row in rows {
            tx.execute("DELETE FROM outbox WHERE id = ?1", &[row])
                .map_err(doing("removing sent mail"))?;
        }
        tx.commit().map_err(doing("committing sent mail"))
    }

    /// Counts a failed attempt at sending a letter (`attempts` failures before it, as
    /// [`Letter::attempts`] says), at `now`, because of `error`: tried again after
    /// [`retry_wait`], or removed after [`MAX_ATTEMPTS`].
    pub fn mail_failed(
        &self,
        rows: &[u64],
        attempts: u32,
        now: i64,
        error: &str,
    ) -> Result<Retry, StorageError> {
        let attempts = attempts.saturating_add(1);
        let retry = if attempts >= MAX_ATTEMPTS {
            Retry::GaveUp
        } else {
            Retry::At(now.saturating_add(retry_wait(attempts)))
        };
        let mut pooled = self.pool.get()?;
        let mut tx = pooled
            .transaction(TxKind::Write)
            .map_err(doing("starting to record a failed mail"))?;
        for row in rows {
            match retry {
                Retry::GaveUp => tx.execute("DELETE FROM outbox WHERE id = ?1", &[row]),
                Retry::At(due) => tx.execute(
                    "UPDATE outbox SET attempts = ?2, due = ?3, last_error = ?4 WHERE id = ?1",
                    &[row, &attempts, &due, &error],
                ),
            }
            .map_err(doing("recording a failed mail"))?;
        }
        tx.commit().map_err(doing("committing a failed mail"))?;
        Ok(retry)
    }

    /// The next time a row of the queue is due, if it holds any.
    pub fn next_mail_due(&self) -> Result<Option<i64>, StorageError> {
        self.pool
            .get()?
            .query_one("SELECT min(due) FROM outbox", &[], |row| row.get(0))
            .map_err(doing("reading the mail queue"))
    }

    /// Every row of the queue, in order of due time.
    pub fn queued_mail(&self) -> Result<Vec<QueuedMail>, StorageError> {
        self.pool
            .get()?
            .query_map(
                "SELECT u.name, p.name, r.rev, o.digest, o.due, o.attempts, o.last_error
                 FROM outbox o JOIN users u ON u.id = o.account
                 JOIN revisions r ON r.id = o.revision_id JOIN pages p ON p.id = r.page_id
                 ORDER BY o.due, o.id",
                &[],
                |row| {
                    Ok(QueuedMail {
                        account: row.get(0)?,
                        page: row.get(1)?,
                        rev: row.get(2)?,
                        digest: row.get(3)?,
                        due: row.get(4)?,
                        attempts: row.get(5)?,
                        last_error: row.get(6)?,
                    })
                },
            )
            .map_err(doing("listing the mail queue"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page_acls::tests::{account, each_storage, put};
    use crate::save::now;
    use crate::WatchKind;

    /// An edit of `page` by `author`, made now (see [`put`]: the queue reads only the revision
    /// log's rows, not texts).
    fn edit(storage: &Storage, page: &str, author: &str) {
        put(storage, page, author, "edit", now());
    }

    fn queued(storage: &Storage) -> Vec<(String, String, u64, bool)> {
        let mut rows: Vec<_> = storage
            .queued_mail()
            .unwrap()
            .into_iter()
            .map(|mail| (mail.account, mail.page, mail.rev, mail.digest))
            .collect();
        rows.sort();
        rows
    }

    fn row(account: &str, page: &str, rev: u64, digest: bool) -> (String, String, u64, bool) {
        (account.to_owned(), page.to_owned(), rev, digest)
    }

    #[test]
    fn mail_is_queued_for_watchers_claimed_retried_and_sent() {
        for storage in each_storage() {
            let engine = storage.engine();
            for name in ["Ann", "Bob", "Cy", "Dee"] {
                account(&storage, name, &format!("{name}@example.org"));
            }
            account(&storage, "Nomail", "");
            edit(&storage, "Team/Plan", "Dee");
            put(&storage, "Old", "Dee", "edit", now() - STALE_SECS - 60);
            assert_eq!(storage.queue_mail(now()).unwrap(), 0, "{engine}");
            storage.watch("Ann", WatchKind::Page, "Team/Plan").unwrap();
            storage
                .watch("Nomail", WatchKind::Page, "Team/Plan")
                .unwrap();
            storage.watch("Cy", WatchKind::Prefix, "Team/").unwrap();
            storage.watch("Cy", WatchKind::Page, "Old").unwrap();
            storage.set_watch_settings("Dee", true, false).unwrap();
            storage.set_watch_settings("Bob", false, true).unwrap();
            storage.watch("Bob", WatchKind::Prefix, "").unwrap();
            // Ann (page), Cy (prefix), Dee (edited it) and Bob (everything, as a digest); not
            // the author, not an account without an address.
            edit(&storage, "Team/Plan", "Nomail");
            // Too old when first seen: not news.
            put(&storage, "Old", "Dee", "edit", now() - STALE_SECS - 60);
            assert_eq!(storage.queue_mail(now()).unwrap(), 4, "{engine}");
            assert_eq!(storage.queue_mail(now()).unwrap(), 0, "{engine}");
            assert_eq!(
                queued(&storage),
                [
                    row("Ann", "Team/Plan", 2, false),
                    row("Bob", "Team/Plan", 2, true),
                    row("Cy", "Team/Plan", 2, false),
                    row("Dee", "Team/Plan", 2, false),
                ],
                "{engine}"
            );

            // Claimed: not handed out again until the lease ends; the digest waits its day.
            let now = now();
            let letters = storage.due_mail(now, 10).unwrap();
            let mut to: Vec<&str> = letters.iter().map(|l| l.to.name.as_str()).collect();
            to.sort_unstable();
            assert_eq!(to, ["Ann", "Cy", "Dee"], "{engine}");
            assert_eq!(letters[0].changes[0].meta.page, "Team/Plan", "{engine}");
            assert!(storage.due_mail(now, 10).unwrap().is_empty(), "{engine}");
            assert_eq!(storage.next_mail_due().unwrap(), Some(now + LEASE_SECS));
            for letter in &letters[1..] {
                storage.mail_sent(&letter.rows).unwrap();
            }
            // A failure: tried again after the wait, with the error kept; then sent.
            let retry = storage
                .mail_failed(&letters[0].rows, letters[0].attempts, now, "421 later")
                .unwrap();
            assert_eq!(retry, Retry::At(now + retry_wait(1)), "{engine}");
            let waiting = storage.queued_mail().unwrap();
            assert_eq!(waiting.len(), 2, "{engine}");
            assert!(waiting
                .iter()
                .any(|mail| mail.last_error == "421 later" && mail.attempts == 1));
            let again = storage.due_mail(now + retry_wait(1), 10).unwrap();
            assert_eq!((again.len(), again[0].attempts), (1, 1), "{engine}");
            storage.mail_sent(&again[0].rows).unwrap();
            let digest = storage.due_mail(now + DIGEST_SECS, 10).unwrap();
            assert_eq!(digest.len(), 1, "{engine}");
            assert!(digest[0].digest, "{engine}");
            let gave_up = storage
                .mail_failed(&digest[0].rows, MAX_ATTEMPTS - 1, now, "550 no such user")
                .unwrap();
            assert_eq!(gave_up, Retry::GaveUp, "{engine}");
            assert!(storage.queued_mail().unwrap().is_empty(), "{engine}");
            assert_eq!(storage.next_mail_due().unwrap(), None, "{engine}");
        }
    }

    /// Two senders draining one queue at once (two processes on SQLite's file; two connections,
    /// as two nodes have, on PostgreSQL): every letter is claimed by exactly one of them.
    #[test]
    fn two_claimers_claim_each_letter_once() {
        let file = tempfile::tempdir().unwrap();
        let path = file.path().join("wiki.db");
        let sqlite = [Storage::open(&path).unwrap(), Storage::open(&path).unwrap()];
        let mut pairs: Vec<Vec<&Storage>> = vec![sqlite.iter().collect()];
        let others = each_storage();
        if let Some(postgres) = others
            .iter()
            .find(|s| s.engine() == crate::Engine::Postgres)
        {
            pairs.push(vec![postgres, postgres]);
        }
        for pair in pairs {
            let engine = pair[0].engine();
            let storage = pair[0];
            for n in 0..20 {
                let name = format!("Reader{n}");
                account(storage, &name, "r@example.org");
                storage.watch(&name, WatchKind::Prefix, "").unwrap();
            }
            for n in 0..5 {
                edit(storage, &format!("P{n}"), "Writer");
            }
            assert_eq!(storage.queue_mail(now()).unwrap(), 100, "{engine}");
            let now = now();
            let claimed: Vec<Vec<u64>> = std::thread::scope(|scope| {
                let claimers: Vec<_> = pair
                    .iter()
                    .map(|storage| {
                        scope.spawn(move || {
                            let mut rows = Vec::new();
                            // Small batches, so the two really take turns.
                            loop {
                                let letters = storage.due_mail(now, 3).unwrap();
                                if letters.is_empty() {
                                    return rows;
                                }
                                rows.extend(letters.into_iter().flat_map(|l| l.rows));
                            }
                        })
                    })
                    .collect();
                claimers.into_iter().map(|c| c.join().unwrap()).collect()
            });
            let mut all: Vec<u64> = claimed.concat();
            all.sort_unstable();
            let total = all.len();
            all.dedup();
            assert_eq!((total, all.len()), (100, 100), "{engine}: {claimed:?}");
        }
    }
}
