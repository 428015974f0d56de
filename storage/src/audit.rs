//! The audit log: admin and security events (role changes, ACL changes, deletions, renames, failed
//! and throttled logins, new accounts and invitations), kept in the database so that every process,
//! CGI included, writes to the same log and an admin reads it on `/+admin`.
//!
//! It is a record of who did what, not a source of truth: nothing reads it back to decide anything,
//! and the events it names are kept elsewhere too (revisions, accounts). So its growth is bounded
//! ([`AuditRetention`]): each write prunes entries beyond a count and past an age, oldest first,
//! in the same transaction. Ids are never reused and only the oldest rows are ever removed, so "the
//! newest N entries" is `id > MAX(id) - N`, an index range rather than a count.
//!
//! Storage does not know what an event means; the app says which [`AuditKind`] it is and what its
//! target and detail are. Every text is stored as given: the reader (the admin page) escapes it.

use crate::db::{DbError, Row, Sql, TxKind};
use crate::error::{doing, StorageError};
use crate::revision::to_u64;
use crate::save::now;
use crate::Storage;

/// What kind of event an audit entry records. Its word ([`AuditKind::as_str`]) is what the table
/// stores and the admin page filters by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    /// An account's role changed (target: the account; detail: the new role).
    Role,
    /// An account was disabled or enabled (detail: which).
    AccountState,
    /// A save changed a page's `#acl` line (detail: the old and new line).
    Acl,
    /// A page was deleted.
    Delete,
    /// A deleted page was restored.
    Undelete,
    /// A page was renamed (target: the old name; detail: the new one).
    Rename,
    /// A login failed (target: the name tried).
    LoginFailed,
    /// A login was refused unchecked, its name or address having too many failures.
    LoginThrottled,
    /// An account was created (on `/+register`).
    Register,
    /// An invitation code was made.
    Invite,
}

impl AuditKind {
    /// Every kind, in the order the admin page offers them.
    pub const ALL: [AuditKind; 10] = [
        AuditKind::Role,
        AuditKind::AccountState,
        AuditKind::Acl,
        AuditKind::Delete,
        AuditKind::Undelete,
        AuditKind::Rename,
        AuditKind::LoginFailed,
        AuditKind::LoginThrottled,
        AuditKind::Register,
        AuditKind::Invite,
    ];

    /// The word stored in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::Role => "role",
            AuditKind::AccountState => "account-state",
            AuditKind::Acl => "acl",
            AuditKind::Delete => "delete",
            AuditKind::Undelete => "undelete",
            AuditKind::Rename => "rename",
            AuditKind::LoginFailed => "login-failed",
            AuditKind::LoginThrottled => "login-throttled",
            AuditKind::Register => "register",
            AuditKind::Invite => "invite",
        }
    }

    /// The kind whose word is `word`.
    pub fn parse(word: &str) -> Option<AuditKind> {
        AuditKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == word)
    }
}

/// An event to record.
#[derive(Debug, Clone, Copy)]
pub struct NewAuditEntry<'a> {
    /// Unix seconds; `None` for now.
    pub time: Option<i64>,
    /// Who did it: an account name, or the address of an anonymous visitor.
    pub actor: &'a str,
    /// The client's address.
    pub address: &'a str,
    /// What happened.
    pub kind: AuditKind,
    /// What it happened to: a page or account name.
    pub target: &'a str,
    /// Anything else worth knowing (a new role, an ACL line before and after).
    pub detail: &'a str,
}

/// How much of the audit log is kept; `0` for no bound of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditRetention {
    /// The most entries kept.
    pub max_entries: u64,
    /// The oldest entry kept, in seconds before now.
    pub max_age_secs: u64,
}

/// One recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its id: newer entries have larger ones; the cursor for paging.
    pub id: u64,
    /// Unix seconds.
    pub time: i64,
    /// See [`NewAuditEntry::actor`].
    pub actor: String,
    /// See [`NewAuditEntry::address`].
    pub address: String,
    /// The kind's word; a word this build does not know (a newer build's) is kept as it is.
    pub kind: String,
    /// See [`NewAuditEntry::target`].
    pub target: String,
    /// See [`NewAuditEntry::detail`].
    pub detail: String,
}

/// Which entries [`Storage::audit_log`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this kind; `None` for all.
    pub kind: Option<AuditKind>,
    /// Only entries older than this id (the previous page's last); `None` from the newest.
    pub before: Option<u64>,
    /// How many at most.
    pub limit: usize,
}

impl Storage {
    /// Records `entry`, then prunes what `keep` no longer allows.
    pub fn record_audit(
        &self,
        entry: &NewAuditEntry<'_>,
        keep: &AuditRetention,
    ) -> Result<(), StorageError> {
        let time = entry.time.unwrap_or_else(now);
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .transaction(TxKind::Write)
            .map_err(doing("recording an audit entry"))?;
        tx.execute(
            "INSERT INTO audit_log (time, actor, address, kind, target, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                &time,
                &entry.actor,
                &entry.address,
                &entry.kind.as_str(),
                &entry.target,
                &entry.detail,
            ],
        )
        .map_err(doing("recording an audit entry"))?;
        if keep.max_entries > 0 {
            let keep_entries = i64::try_from(keep.max_entries).unwrap_or(i64::MAX);
            tx.execute(
                "DELETE FROM audit_log WHERE id <= (SELECT MAX(id) FROM audit_log) - ?1",
                &[&keep_entries],
            )
            .map_err(doing("pruning the audit log"))?;
        }
        if keep.max_age_secs > 0 {
            let age = i64::try_from(keep.max_age_secs).unwrap_or(i64::MAX);
            tx.execute(
                "DELETE FROM audit_log WHERE time < ?1",
                &[&time.saturating_sub(age)],
            )
            .map_err(doing("pruning the audit log"))?;
        }
        tx.commit().map_err(doing("recording an audit entry"))
    }

    /// The entries `query` asks for, newest first.
    pub fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StorageError> {
        let before = query
            .before
            .map_or(i64::MAX, |id| i64::try_from(id).unwrap_or(i64::MAX));
        let rows = self
            .pool
            .get()?
            .query_map(
                "SELECT id, time, actor, address, kind, target, detail FROM audit_log
                 WHERE id < ?1 AND (?2 IS NULL OR kind = ?2)
                 ORDER BY id DESC LIMIT ?3",
                &[
                    &before,
                    &query.kind.map(AuditKind::as_str),
                    &crate::sql_count(query.limit),
                ],
                raw_entry,
            )
            .map_err(doing("reading the audit log"))?;
        let mut entries = Vec::new();
        for (id, mut entry) in rows {
            entry.id = to_u64("audit entry id", "", id)?;
            entries.push(entry);
        }
        Ok(entries)
    }
}

/// A row and its id as SQLite holds it (checked by the caller).
fn raw_entry(row: &Row<'_>) -> Result<(i64, AuditEntry), DbError> {
    Ok((
        row.get(0)?,
        AuditEntry {
            id: 0,
            time: row.get(1)?,
            actor: row.get(2)?,
            address: row.get(3)?,
            kind: row.get(4)?,
            target: row.get(5)?,
            detail: row.get(6)?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEEP_ALL: AuditRetention = AuditRetention {
        max_entries: 0,
        max_age_secs: 0,
    };

    fn record(storage: &Storage, kind: AuditKind, target: &str, time: i64, keep: &AuditRetention) {
        storage
            .record_audit(
                &NewAuditEntry {
                    time: Some(time),
                    actor: "alice",
                    address: "192.0.2.1",
                    kind,
                    target,
                    detail: "",
                },
                keep,
            )
            .unwrap();
    }

    fn targets(storage: &Storage, query: &AuditQuery) -> Vec<String> {
        storage
            .audit_log(query)
            .unwrap()
            .into_iter()
            .map(|entry| entry.target)
            .collect()
    }

    #[test]
    fn kinds_read_back_from_their_words() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AuditKind::parse("nope"), None);
    }

    #[test]
    fn newest_first_paged_and_filtered_by_kind() {
        let storage = Storage::open_in_memory().unwrap();
        for (i, kind) in [AuditKind::Delete, AuditKind::Role, AuditKind::Delete]
            .into_iter()
            .enumerate()
        {
            record(&storage, kind, &format!("t{i}"), 100, &KEEP_ALL);
        }
        let all = AuditQuery {
            kind: None,
            before: None,
            limit: 2,
        };
        let first = storage.audit_log(&all).unwrap();
        assert_eq!(
            first.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
            ["t2", "t1"]
        );
        assert_eq!(first[0].kind, "delete");
        assert_eq!(first[0].actor, "alice");
        let next = AuditQuery {
            before: Some(first[1].id),
            ..all
        };
        assert_eq!(targets(&storage, &next), ["t0"]);
        let deletions = AuditQuery {
            kind: Some(AuditKind::Delete),
            limit: 10,
            ..all
        };
        assert_eq!(targets(&storage, &deletions), ["t2", "t0"]);
    }

    #[test]
    fn growth_is_bounded_by_count_and_by_age() {
        let storage = Storage::open_in_memory().unwrap();
        let three = AuditRetention {
            max_entries: 3,
            max_age_secs: 0,
        };
        for i in 0..5 {
            record(&storage, AuditKind::Invite, &format!("t{i}"), 100, &three);
        }
        let all = AuditQuery {
            kind: None,
            before: None,
            limit: 100,
        };
        assert_eq!(targets(&storage, &all), ["t4", "t3", "t2"]);
        let a_day = AuditRetention {
            max_entries: 0,
            max_age_secs: 86_400,
        };
        record(
            &storage,
            AuditKind::Invite,
            "late",
            100 + 86_400 + 1,
            &a_day,
        );
        assert_eq!(targets(&storage, &all), ["late"]);
    }
}
