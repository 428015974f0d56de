//! Sessions: their ids, the ones a logout ended, and ending every session of an account.
//!
//! A session lives in the client's cookie, sealed by the app's gateway; the server keeps nothing per
//! session. So a copy of the cookie taken before a logout would open the session as well as the
//! original did, until it expired. To end one session for good, a login gives it a random id
//! ([`new_session_id`], 128 bits: never guessed, never repeated), and a logout records that id here
//! ([`Storage::revoke_session`]); every request of a logged-in session asks
//! [`Storage::session_user`], which finds the account only if the id is not recorded. It is a table,
//! not memory, because under CGI each request is a new process.
//!
//! The cost: one statement per logged-in request, two primary-key probes (the account by its
//! `name_key`, the id in `revoked_sessions`), where the account alone was read before; anonymous
//! requests ask nothing. A logout writes one row.
//!
//! A row is needed only as long as a cookie carrying its id can still be opened; the caller says how
//! long that is (`expires`). Pruning happens on insert and removes at most [`PRUNE_BATCH`] expired
//! rows, so a logout's work is bounded however large a backlog is, and since each insert adds one
//! row and removes up to [`PRUNE_BATCH`], a backlog drains. Nothing prunes without logouts, but then
//! nothing grows either.
//!
//! Ending every session of an account needs no list of its sessions: a session also carries the
//! account's `session_epoch` from its login, and [`Storage::end_sessions`] raises it (as a password
//! change does), so every older session no longer matches.

use crate::db::{Sql, TxKind};
use crate::error::{doing, StorageError};
use crate::save::now;
use crate::users::{name_key, random_code, user_from_row, User, UserError, USER_COLUMNS};
use crate::Storage;

/// The most expired revocations one [`Storage::revoke_session`] removes.
pub const PRUNE_BATCH: u64 = 64;

/// A new session id: 128 random bits as 32 hex digits, from the OS random source.
pub fn new_session_id() -> Result<String, StorageError> {
    random_code("session id")
}

impl Storage {
    /// The account `name` (in any spelling) as seen by the session `session_id`: `None` when there
    /// is no such account or a logout ended that session. Whether the account is disabled, or the
    /// session is of another account by the same name or from an older session epoch, is the
    /// caller's to check on the [`User`].
    pub fn session_user(&self, name: &str, session_id: &str) -> Result<Option<User>, StorageError> {
        self.pool
            .get()?
            .query_opt(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users WHERE name_key = ?1
                     AND NOT EXISTS (SELECT 1 FROM revoked_sessions WHERE id = ?2)"
                ),
                &[&name_key(name), &session_id],
                user_from_row,
            )
            .map_err(doing("looking up a session's account"))
    }

    /// Ends the session `session_id` for good: [`Storage::session_user`] no longer finds its
    /// account. `expires` (unix seconds) is when the last cookie that can carry the id expires; the
    /// row is kept until then. Revoking an id twice keeps the later expiry. Up to [`PRUNE_BATCH`]
    /// rows that have expired are removed first.
    pub fn revoke_session(&self, session_id: &str, expires: i64) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .transaction(TxKind::Write)
            .map_err(doing("starting to end a session"))?;
        tx.execute(
            "DELETE FROM revoked_sessions WHERE id IN (
                 SELECT id FROM revoked_sessions WHERE expires < ?1 ORDER BY expires LIMIT ?2
             )",
            &[&now(), &PRUNE_BATCH],
        )
        .map_err(doing("forgetting expired sessions"))?;
        tx.execute(
            "INSERT INTO revoked_sessions (id, expires) VALUES (?1, ?2)
             ON CONFLICT (id) DO UPDATE SET expires = CASE
                 WHEN excluded.expires > revoked_sessions.expires THEN excluded.expires
                 ELSE revoked_sessions.expires END",
            &[&session_id, &expires],
        )
        .map_err(doing("ending a session"))?;
        tx.commit()
            .map_err(doing("committing the end of a session"))
    }

    /// Ends every session of the account `name`: raises its session epoch, which each session
    /// carries from its login.
    pub fn end_sessions(&self, name: &str) -> Result<(), UserError> {
        let changed = self
            .pool
            .get()?
            .execute(
                "UPDATE users SET session_epoch = session_epoch + 1 WHERE name_key = ?1",
                &[&name_key(name)],
            )
            .map_err(doing("ending an account's sessions"))?;
        if changed == 0 {
            return Err(UserError::NoSuchUser(name.to_owned()));
        }
        Ok(())
    }

    /// How many revocations are stored. For tests (the `testing` feature).
    #[cfg(feature = "testing")]
    pub fn revoked_session_count(&self) -> Result<u64, StorageError> {
        self.pool
            .get()?
            .query_one("SELECT COUNT(*) FROM revoked_sessions", &[], |row| {
                row.get(0)
            })
            .map_err(doing("counting revoked sessions"))
    }
}
