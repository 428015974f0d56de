//! Drafts: the editor's unsaved text, one per account and page, so that a closed tab or a crashed
//! browser loses nothing.
//!
//! A draft is a row (account, page name, the revision the editor started from, the comment, the
//! text, when it was last written), replaced by every autosave of that account's editor on that
//! page. The page is named, not referenced by id, because a draft of a page not yet created has no
//! page row; a rename leaves the draft under the old name, where it expires.
//!
//! A draft goes when the work it holds is no longer unsaved:
//! - when its account saves the page: [`crate::Storage::save_with_links_files_and_draft`] deletes it
//!   in the save's own transaction, so a save that commits has no draft left behind and a save that
//!   fails (a conflict, a full disk, a crash) keeps it. Deleting it first would lose the text to a
//!   crash between the two; deleting it after would leave a stale one behind;
//! - when it would hold the page's current text ([`DraftOutcome::Unneeded`]);
//! - when it is older than [`DRAFT_LIFETIME_SECS`]: [`crate::Storage::draft`] never returns one,
//!   whatever is still stored, and every draft written removes up to [`DRAFT_PURGE_BATCH`] expired rows
//!   (an index on the time makes that a range scan), so the table stays about as large as the
//!   drafts of the last 30 days without a task of its own: a wiki where no one writes drafts keeps
//!   its expired rows, which no one sees, until someone does.
//!
//! An autosave still on its way when the account pressed Save may arrive after the save: a draft
//! based on an older revision than the page's current one, when the account saved that revision
//! itself, is not kept ([`DraftOutcome::Superseded`]), or the save it raced would be offered back as
//! a draft. Other drafts based on an old revision are kept: the page moved on under someone else's
//! save, and restoring one merges through the editor's three-way merge.
//!
//! An account keeps at most [`MAX_DRAFTS_PER_ACCOUNT`]; a new one beyond that pushes out its oldest,
//! so that no account can fill the database with drafts of pages it makes up. Every write is one
//! `BEGIN IMMEDIATE` transaction, like saves.

use crate::db::{Sql, TxKind};
use crate::error::{doing, StorageError};
use crate::save::now;
use crate::Storage;

/// How long a draft is kept after its last write: 30 days.
pub const DRAFT_LIFETIME_SECS: i64 = 30 * 24 * 3600;

/// The most expired drafts one [`Storage::save_draft`] removes.
pub const DRAFT_PURGE_BATCH: u64 = 64;

/// The most drafts one account keeps; a new one beyond pushes its oldest out.
pub const MAX_DRAFTS_PER_ACCOUNT: u64 = 100;

/// The table and its index (migration 23).
pub(crate) const SCHEMA: &str = "
    CREATE TABLE drafts (
        id       INTEGER PRIMARY KEY,
        user_id  INTEGER NOT NULL REFERENCES users (id),
        page     TEXT NOT NULL,
        base_rev INTEGER,
        comment  TEXT NOT NULL,
        text     TEXT NOT NULL,
        updated  INTEGER NOT NULL,
        UNIQUE (user_id, page)
    );
    CREATE INDEX drafts_by_age ON drafts (updated);
";

/// A draft to write with [`Storage::save_draft`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDraft<'a> {
    /// The account's id ([`crate::User::id`]).
    pub account: u64,
    /// The page's name, as saves store it.
    pub page: &'a str,
    /// The revision the editor started from; `None` for a page the editor was creating.
    pub base_rev: Option<u64>,
    /// The edit comment typed so far.
    pub comment: &'a str,
    /// The editor's text.
    pub text: &'a str,
    /// Unix seconds; `None` for now.
    pub time: Option<i64>,
}

/// A stored draft, as [`Storage::draft`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The revision the editor started from; `None` for a page the editor was creating.
    pub base_rev: Option<u64>,
    /// The edit comment.
    pub comment: String,
    /// The text.
    pub text: String,
    /// When it was last written, unix seconds.
    pub updated: i64,
}

/// What [`Storage::save_draft`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftOutcome {
    /// The draft is stored, replacing the account's earlier one of the page.
    Kept,
    /// The text is the page's current text: nothing is unsaved, so no draft is kept (an earlier one
    /// is removed).
    Unneeded,
    /// The account saved a newer revision of the page than the one the draft is based on: an
    /// autosave that arrived after the save it preceded. Nothing was written.
    Superseded,
}

impl Storage {
    /// Writes `draft` as its account's draft of its page, unless it is not needed (see
    /// [`DraftOutcome`]); removes up to [`DRAFT_PURGE_BATCH`] expired drafts of anyone, and the account's
    /// oldest drafts beyond [`MAX_DRAFTS_PER_ACCOUNT`]. Bounding the text's size is the caller's, as
    /// for saves.
    pub fn save_draft(&self, draft: &NewDraft<'_>) -> Result<DraftOutcome, StorageError> {
        let time = draft.time.unwrap_or_else(now);
        let account = draft.account;
        let mut pooled = self.pool.get()?;
        let mut tx = pooled
            .transaction(TxKind::Write)
            .map_err(doing("starting to write a draft"))?;
        purge(&mut tx, time)?;
        let outcome = match page_now(&mut tx, draft.page)? {
            Some(page) if page.text == draft.text => {
                delete(&mut tx, account, draft.page)?;
                DraftOutcome::Unneeded
            }
            Some(page) if page.newer_own_save(&mut tx, account, draft.base_rev)? => {
                DraftOutcome::Superseded
            }
            Some(_) | None => {
                upsert(&mut tx, account, draft, time)?;
                cap(&mut tx, account)?;
                DraftOutcome::Kept
            }
        };
        tx.commit().map_err(doing("writing a draft"))?;
        Ok(outcome)
    }

    /// `account`'s draft of `page`, unless it has none younger than [`DRAFT_LIFETIME_SECS`] at
    /// `now` (unix seconds; `None` for now).
    pub fn draft(
        &self,
        account: u64,
        page: &str,
        now: Option<i64>,
    ) -> Result<Option<Draft>, StorageError> {
        let oldest = now.unwrap_or_else(crate::save::now) - DRAFT_LIFETIME_SECS;
        self.pool
            .get()?
            .query_opt(
                "SELECT base_rev, comment, text, updated FROM drafts
                 WHERE user_id = ?1 AND page = ?2 AND updated >= ?3",
                &[&account, &page, &oldest],
                |row| {
                    Ok(Draft {
                        base_rev: row.get(0)?,
                        comment: row.get(1)?,
                        text: row.get(2)?,
                        updated: row.get(3)?,
                    })
                },
            )
            .map_err(doing("reading a draft"))
    }

    /// Removes `account`'s draft of `page`; whether there was one.
    pub fn delete_draft(&self, account: u64, page: &str) -> Result<bool, StorageError> {
        delete(&mut *self.pool.get()?, account, page).map(|removed| removed > 0)
    }

    /// How many drafts are stored, expired ones included: for tests and `quire check`'s counts.
    pub fn draft_count(&self) -> Result<u64, StorageError> {
        self.pool
            .get()?
            .query_one("SELECT count(*) FROM drafts", &[], |row| row.get(0))
            .map_err(doing("counting drafts"))
    }
}

/// Moves the drafts of page `from` to its new name `to`, inside a rename's transaction: the editor
/// of the renamed page offers them there. A draft an account already keeps under `to` (written
/// while no page had that name) is that account's to keep, so its draft of `from` stays where it
/// was, and expires.
pub(crate) fn follow_rename(conn: &mut impl Sql, from: &str, to: &str) -> Result<(), StorageError> {
    conn.execute(
        "UPDATE drafts SET page = ?2 WHERE page = ?1
         AND NOT EXISTS (SELECT 1 FROM drafts d WHERE d.user_id = drafts.user_id AND d.page = ?2)",
        &[&from, &to],
    )
    .map_err(doing("moving drafts to a renamed page"))?;
    Ok(())
}

/// Removes `account`'s draft of `page` inside the caller's transaction: a save's, or a draft's.
/// How many rows went (0 or 1).
pub(crate) fn delete(conn: &mut impl Sql, account: u64, page: &str) -> Result<u64, StorageError> {
    conn.execute(
        "DELETE FROM drafts WHERE user_id = ?1 AND page = ?2",
        &[&account, &page],
    )
    .map_err(doing("removing a draft"))
}

/// The page a draft is written for, as it is now.
struct PageNow {
    text: String,
    rev: u64,
    author: String,
}

impl PageNow {
    /// Whether the page's current revision is newer than `base` (`None`: the editor was creating
    /// the page) and was saved by `account`.
    fn newer_own_save(
        &self,
        conn: &mut impl Sql,
        account: u64,
        base: Option<u64>,
    ) -> Result<bool, StorageError> {
        if base.is_some_and(|base| base >= self.rev) {
            return Ok(false);
        }
        let name: Option<String> = conn
            .query_opt("SELECT name FROM users WHERE id = ?1", &[&account], |row| {
                row.get(0)
            })
            .map_err(doing("reading a draft's account"))?;
        Ok(name.is_some_and(|name| name == self.author))
    }
}

/// The live page named `name`, if there is one.
fn page_now(conn: &mut impl Sql, name: &str) -> Result<Option<PageNow>, StorageError> {
    conn.query_opt(
        "SELECT t.text, p.current_rev, r.author FROM pages p
         JOIN current_texts t ON t.page_id = p.id
         JOIN revisions r ON r.page_id = p.id AND r.rev = p.current_rev
         WHERE p.name = ?1 AND p.deleted = 0",
        &[&name],
        |row| {
            Ok(PageNow {
                text: row.get(0)?,
                rev: row.get(1)?,
                author: row.get(2)?,
            })
        },
    )
    .map_err(doing("reading the page a draft is for"))
}

fn upsert(
    conn: &mut impl Sql,
    account: u64,
    draft: &NewDraft<'_>,
    time: i64,
) -> Result<(), StorageError> {
    conn.execute(
        "INSERT INTO drafts (user_id, page, base_rev, comment, text, updated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (user_id, page) DO UPDATE SET
             base_rev = excluded.base_rev, comment = excluded.comment,
             text = excluded.text, updated = excluded.updated",
        &[
            &account,
            &draft.page,
            &draft.base_rev,
            &draft.comment,
            &draft.text,
            &time,
        ],
    )
    .map_err(doing("writing a draft"))?;
    Ok(())
}

/// An account's drafts beyond the newest `?2`, removed. (Not `LIMIT -1 OFFSET ?2`: PostgreSQL
/// takes no negative limit, SQLite no `LIMIT ALL`.)
const CAP: &str = "DELETE FROM drafts WHERE user_id = ?1 AND id NOT IN (
    SELECT id FROM drafts WHERE user_id = ?1
    ORDER BY updated DESC, id DESC LIMIT ?2
)";

/// Up to `?2` drafts older than `?1`, oldest first, removed.
const PURGE: &str = "DELETE FROM drafts WHERE id IN (
    SELECT id FROM drafts WHERE updated < ?1 ORDER BY updated LIMIT ?2
)";

/// Removes `account`'s oldest drafts beyond [`MAX_DRAFTS_PER_ACCOUNT`]: a read of at most that
/// many rows and one more through the `(user_id, page)` key.
fn cap(conn: &mut impl Sql, account: u64) -> Result<(), StorageError> {
    conn.execute(CAP, &[&account, &MAX_DRAFTS_PER_ACCOUNT])
        .map_err(doing("removing an account's oldest drafts"))?;
    Ok(())
}

/// Removes up to [`DRAFT_PURGE_BATCH`] drafts expired at `time`, oldest first: a range scan of
/// `drafts_by_age`.
fn purge(conn: &mut impl Sql, time: i64) -> Result<(), StorageError> {
    conn.execute(PURGE, &[&(time - DRAFT_LIFETIME_SECS), &DRAFT_PURGE_BATCH])
        .map_err(doing("removing expired drafts"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link_names::tests::put_text;
    use crate::page_acls::tests::each_storage;
    use crate::{Save, SaveOutcome};

    const DAY: i64 = 24 * 3600;
    const NOW: i64 = 1_800_000_000;

    /// An account row as registration writes it, without the password hash's cost.
    fn account(storage: &Storage, name: &str) -> u64 {
        storage
            .pool
            .get()
            .unwrap()
            .query_one(
                "INSERT INTO users (name, name_key, display_name, role, password_hash, created)
                 VALUES (?1, ?1, ?1, 'user', '', 0) RETURNING id",
                &[&name],
                |row| row.get(0),
            )
            .unwrap()
    }

    fn draft<'a>(
        account: u64,
        page: &'a str,
        text: &'a str,
        base_rev: Option<u64>,
    ) -> NewDraft<'a> {
        NewDraft {
            account,
            page,
            base_rev,
            comment: "so far",
            text,
            time: Some(NOW),
        }
    }

    /// A new revision of `page`, written as a save leaves it (see [`put_text`]).
    fn save(storage: &Storage, page: &str, text: &str, author: &str, _base: Option<u64>) -> u64 {
        put_text(storage, page, author, text)
    }

    #[test]
    fn a_draft_is_one_per_account_and_page_and_replaced_by_the_next() {
        for storage in each_storage() {
            let ann = account(&storage, "ann");
            let bob = account(&storage, "bob");
            let kept = storage.save_draft(&draft(ann, "P", "one", None)).unwrap();
            assert_eq!(kept, DraftOutcome::Kept);
            storage.save_draft(&draft(ann, "P", "two", None)).unwrap();
            storage.save_draft(&draft(bob, "P", "bob's", None)).unwrap();
            storage
                .save_draft(&draft(ann, "Q", "other page", None))
                .unwrap();
            assert_eq!(storage.draft_count().unwrap(), 3);
            let mine = storage.draft(ann, "P", Some(NOW)).unwrap().unwrap();
            assert_eq!(
                mine,
                Draft {
                    base_rev: None,
                    comment: "so far".to_owned(),
                    text: "two".to_owned(),
                    updated: NOW,
                }
            );
            assert_eq!(
                storage.draft(bob, "P", Some(NOW)).unwrap().unwrap().text,
                "bob's"
            );
            assert!(storage.delete_draft(ann, "P").unwrap());
            assert!(!storage.delete_draft(ann, "P").unwrap());
            assert_eq!(storage.draft(ann, "P", Some(NOW)).unwrap(), None);
            assert!(storage.draft(bob, "P", Some(NOW)).unwrap().is_some());
        }
    }

    #[test]
    fn drafts_follow_a_renamed_page_unless_one_waits_under_the_new_name() {
        for storage in each_storage() {
            let ann = account(&storage, "ann");
            let bob = account(&storage, "bob");
            save(&storage, "Old", "text", "ann", None);
            save(&storage, "Old/Sub", "sub text", "ann", None);
            storage
                .save_draft(&draft(ann, "Old", "ann's", Some(1)))
                .unwrap();
            storage
                .save_draft(&draft(ann, "Old/Sub", "ann's sub", Some(1)))
                .unwrap();
            storage
                .save_draft(&draft(bob, "Old", "bob's", Some(1)))
                .unwrap();
            // Bob was already writing a page called New.
            storage
                .save_draft(&draft(bob, "New", "bob's new page", None))
                .unwrap();
            let renamed = storage.rename(&crate::Rename {
                from: "Old",
                to: "New",
                author: "ann",
                comment: "",
                with_subpages: true,
            });
            renamed.unwrap();
            let text = |account, page| {
                storage
                    .draft(account, page, Some(NOW))
                    .unwrap()
                    .map(|draft| draft.text)
            };
            assert_eq!(text(ann, "New").as_deref(), Some("ann's"));
            assert_eq!(text(ann, "New/Sub").as_deref(), Some("ann's sub"));
            assert_eq!(text(ann, "Old"), None);
            assert_eq!(text(bob, "New").as_deref(), Some("bob's new page"));
            assert_eq!(text(bob, "Old").as_deref(), Some("bob's"));
        }
    }

    #[test]
    fn a_draft_expires_after_thirty_days_and_the_next_write_removes_it() {
        for storage in each_storage() {
            let ann = account(&storage, "ann");
            storage.save_draft(&draft(ann, "Old", "old", None)).unwrap();
            let day_30 = NOW + DRAFT_LIFETIME_SECS;
            assert!(storage.draft(ann, "Old", Some(day_30)).unwrap().is_some());
            assert_eq!(storage.draft(ann, "Old", Some(day_30 + 1)).unwrap(), None);
            // Expired but stored until a draft is written.
            assert_eq!(storage.draft_count().unwrap(), 1);
            let later = NewDraft {
                time: Some(day_30 + DAY),
                ..draft(ann, "New", "new", None)
            };
            storage.save_draft(&later).unwrap();
            assert_eq!(storage.draft_count().unwrap(), 1);
            assert!(storage
                .draft(ann, "New", Some(day_30 + DAY))
                .unwrap()
                .is_some());
        }
    }

    #[test]
    fn a_purge_removes_a_bounded_batch() {
        for storage in each_storage() {
            let accounts: Vec<u64> = (0..3)
                .map(|n| account(&storage, &format!("user{n}")))
                .collect();
            let pages: Vec<String> = (0..60).map(|n| format!("Page{n}")).collect();
            for &who in &accounts {
                for page in &pages {
                    storage.save_draft(&draft(who, page, "x", None)).unwrap();
                }
            }
            assert_eq!(storage.draft_count().unwrap(), 180);
            let later = NewDraft {
                time: Some(NOW + DRAFT_LIFETIME_SECS + DAY),
                ..draft(accounts[0], "Fresh", "fresh", None)
            };
            storage.save_draft(&later).unwrap();
            assert_eq!(storage.draft_count().unwrap(), 180 - DRAFT_PURGE_BATCH + 1);
            storage.save_draft(&later).unwrap();
            storage.save_draft(&later).unwrap();
            assert_eq!(storage.draft_count().unwrap(), 1);
        }
    }

    #[test]
    fn an_account_keeps_its_newest_drafts_up_to_the_cap() {
        for storage in each_storage() {
            let ann = account(&storage, "ann");
            let bob = account(&storage, "bob");
            storage.save_draft(&draft(bob, "Bob", "b", None)).unwrap();
            let cap = i64::try_from(MAX_DRAFTS_PER_ACCOUNT).unwrap();
            for n in 0..cap + 5 {
                let page = format!("Page{n}");
                let one = NewDraft {
                    time: Some(NOW + n),
                    ..draft(ann, &page, "x", None)
                };
                storage.save_draft(&one).unwrap();
            }
            assert_eq!(storage.draft_count().unwrap(), MAX_DRAFTS_PER_ACCOUNT + 1);
            let at = Some(NOW + cap + 5);
            assert_eq!(storage.draft(ann, "Page4", at).unwrap(), None);
            assert!(storage.draft(ann, "Page5", at).unwrap().is_some());
            assert!(storage.draft(bob, "Bob", at).unwrap().is_some());
        }
    }

    #[test]
    fn the_page_s_own_text_is_no_draft() {
        for storage in each_storage() {
            let ann = account(&storage, "ann");
            let rev = save(&storage, "P", "saved text", "bob", None);
            storage
                .save_draft(&draft(ann, "P", "mine", Some(rev)))
                .unwrap();
            let same = storage.save_draft(&draft(ann, "P", "saved text", Some(rev)));
            assert_eq!(same.unwrap(), DraftOutcome::Unneeded);
            assert_eq!(storage.draft(ann, "P", Some(NOW)).unwrap(), None);
        }
    }

    #[test]
    fn an_autosave_arriving_after_its_account_s_save_is_not_kept() {
        for storage in each_storage() {
            let ann = account(&storage, "ann");
            let rev = save(&storage, "P", "one", "bob", None);
            // Someone else saved since the editor opened: the draft is still ann's unsaved work.
            let rev2 = save(&storage, "P", "two", "bob", Some(rev));
            let stale_base = storage.save_draft(&draft(ann, "P", "mine", Some(rev)));
            assert_eq!(stale_base.unwrap(), DraftOutcome::Kept);
            // Ann saves; the autosave she sent just before arrives after.
            save(&storage, "P", "mine, saved", "ann", Some(rev2));
            let late = storage.save_draft(&draft(ann, "P", "mine, sav", Some(rev2)));
            assert_eq!(late.unwrap(), DraftOutcome::Superseded);
            // The same for a page she was creating.
            save(&storage, "New", "created", "ann", None);
            let late = storage.save_draft(&draft(ann, "New", "creat", None));
            assert_eq!(late.unwrap(), DraftOutcome::Superseded);
        }
    }

    #[test]
    fn a_save_by_the_account_removes_its_draft_and_a_conflict_keeps_it() {
        for storage in each_storage() {
            let ann = account(&storage, "ann");
            let bob = account(&storage, "bob");
            let rev = save(&storage, "P", "one", "carol", None);
            storage
                .save_draft(&draft(ann, "P", "ann's", Some(rev)))
                .unwrap();
            storage
                .save_draft(&draft(bob, "P", "bob's", Some(rev)))
                .unwrap();
            let edit = |text, base_rev| Save {
                page: "P",
                text,
                author: "ann",
                comment: "",
                base_rev,
                time: None,
            };
            // A stale base: a conflict, and the draft stays.
            let conflict = storage.save_with_links_files_and_draft(
                edit("ann's", Some(rev + 7)),
                &[],
                &[],
                ann,
            );
            let conflict = conflict.unwrap();
            assert!(
                matches!(conflict, SaveOutcome::Conflict { .. }),
                "{conflict:?}"
            );
            assert!(storage.draft(ann, "P", Some(NOW)).unwrap().is_some());
            let saved = storage
                .save_with_links_files_and_draft(edit("ann's", Some(rev)), &[], &[], ann)
                .unwrap();
            assert_eq!(saved, SaveOutcome::Saved { rev: rev + 1 });
            assert_eq!(storage.draft(ann, "P", Some(NOW)).unwrap(), None);
            // Only the saving account's.
            assert!(storage.draft(bob, "P", Some(NOW)).unwrap().is_some());
            // A save of the text the page has already removes the draft too.
            storage
                .save_draft(&draft(ann, "P", "more", Some(rev + 1)))
                .unwrap();
            let unchanged = storage
                .save_with_links_files_and_draft(edit("ann's", Some(rev + 1)), &[], &[], ann)
                .unwrap();
            assert_eq!(unchanged, SaveOutcome::Unchanged { rev: rev + 1 });
            assert_eq!(storage.draft(ann, "P", Some(NOW)).unwrap(), None);
        }
    }

    #[test]
    fn writing_a_draft_costs_the_same_beside_fifty_drafts_as_beside_three_thousand() {
        use crate::page_acls::tests::{full_scan_steps, statement_status};
        use rusqlite::StatementStatus::VmStep;

        // The purge and the cap a draft's write runs, counted in SQLite's steps: a purge with
        // nothing expired and an account at its cap, among few drafts and among many.
        let steps = |others: u64| {
            let storage = Storage::open_in_memory().unwrap();
            let ann = account(&storage, "ann");
            for n in 0..MAX_DRAFTS_PER_ACCOUNT {
                storage
                    .save_draft(&draft(ann, &format!("Mine{n}"), "x", None))
                    .unwrap();
            }
            let crowd: Vec<u64> = (0..others / 50)
                .map(|n| account(&storage, &format!("user{n}")))
                .collect();
            for (n, &who) in crowd
                .iter()
                .cycle()
                .take(usize::try_from(others).unwrap())
                .enumerate()
            {
                storage
                    .save_draft(&draft(who, &format!("P{n}"), "x", None))
                    .unwrap();
            }
            let purge: [&dyn rusqlite::ToSql; 2] =
                [&(NOW - DRAFT_LIFETIME_SECS), &DRAFT_PURGE_BATCH];
            let cap: [&dyn rusqlite::ToSql; 2] = [&ann, &MAX_DRAFTS_PER_ACCOUNT];
            (
                statement_status(&storage, PURGE, &purge, VmStep),
                statement_status(&storage, CAP, &cap, VmStep),
                full_scan_steps(&storage, PURGE, &purge) + full_scan_steps(&storage, CAP, &cap),
            )
        };
        let (purge_few, cap_few, scans_few) = steps(50);
        let (purge_many, cap_many, scans_many) = steps(3000);
        assert_eq!((purge_few, cap_few), (purge_many, cap_many));
        assert_eq!((scans_few, scans_many), (0, 0));
    }
}
