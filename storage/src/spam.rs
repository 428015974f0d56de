//! What anti-spam keeps: rate-limited actions per client address, and the bad-content list admins edit.
//!
//! Rate limits are rows, not memory, for the reason failed logins are (`crate::users`): under CGI every
//! request is a new process. [`Storage::take_rate_slot`] counts an action's rows for one key (a client
//! address) inside its window and, below the limit, records one more, all in one `BEGIN IMMEDIATE`
//! transaction, so parallel requests cannot both take the last slot: the bound is exact, unlike the login
//! throttle's. Each insert also removes up to [`PRUNE_BATCH`] rows older than [`RETENTION_SECS`], so the
//! table stays about as large as one retention period of traffic and a backlog drains.
//!
//! The bad-content list is one text (regular expressions, one a line) with who changed it last and when;
//! this crate stores it as written. Parsing, and refusing a pattern that does not compile, is the app's.

use crate::db::{Sql, TxKind};
use crate::error::{doing, StorageError};
use crate::save::now;
use crate::Storage;

/// How long a rate-limited action's row is kept: longer than any sensible window (a day).
pub const RETENTION_SECS: i64 = 24 * 3600;

/// The most expired rows one [`Storage::take_rate_slot`] removes.
pub const PRUNE_BATCH: u64 = 64;

/// One rate-limited action to count: at most `max` per `key` within `window_secs`.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit<'a> {
    /// What is limited, such as `anonymous-save` or `registration`; each kind counts apart.
    pub kind: &'a str,
    /// Whose actions are counted: a client address.
    pub key: &'a str,
    /// Actions allowed within the window; the next one is refused.
    pub max: u64,
    /// The window, in seconds.
    pub window_secs: i64,
    /// Unix seconds; `None` for now.
    pub time: Option<i64>,
}

/// What [`Storage::take_rate_slot`] answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateOutcome {
    /// Below the limit: the action is counted and may go on.
    Allowed,
    /// At the limit: nothing was counted; a slot frees in `retry_after` seconds.
    Limited {
        /// Seconds until the oldest counted action leaves the window (at least 1).
        retry_after: u64,
    },
}

/// The bad-content list as an admin last saved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadContentList {
    /// The text as saved: one pattern a line, the app decides what else a line may be.
    pub text: String,
    /// The account that saved it.
    pub changed_by: String,
    /// When, in unix seconds.
    pub changed_at: i64,
}

impl Storage {
    /// Counts one `limit.kind` action of `limit.key` unless `limit.max` of them fall within the window
    /// already (then [`RateOutcome::Limited`], and nothing is counted).
    pub fn take_rate_slot(&self, limit: &RateLimit<'_>) -> Result<RateOutcome, StorageError> {
        let time = limit.time.unwrap_or_else(now);
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .transaction(TxKind::Write)
            .map_err(doing("starting to count a rate-limited action"))?;
        // The max-th newest action in the window: while it is there, the limit is reached, until it
        // leaves the window.
        let offset = i64::try_from(limit.max.saturating_sub(1)).unwrap_or(i64::MAX);
        let since = time - limit.window_secs;
        let oldest_counted: Option<i64> = if limit.max == 0 {
            Some(time)
        } else {
            tx.query_opt(
                "SELECT time FROM rate_events WHERE kind = ?1 AND key = ?2 AND time > ?3
                 ORDER BY time DESC LIMIT 1 OFFSET ?4",
                &[&limit.kind, &limit.key, &since, &offset],
                |row| row.get(0),
            )
            .map_err(doing("counting rate-limited actions"))?
        };
        if let Some(oldest) = oldest_counted {
            let free = oldest + limit.window_secs;
            let retry_after = u64::try_from(free - time).unwrap_or(0).max(1);
            return Ok(RateOutcome::Limited { retry_after });
        }
        tx.execute(
            "DELETE FROM rate_events WHERE id IN (
                 SELECT id FROM rate_events WHERE time < ?1 ORDER BY time LIMIT ?2
             )",
            &[&(time - RETENTION_SECS), &PRUNE_BATCH],
        )
        .map_err(doing("forgetting old rate-limited actions"))?;
        tx.execute(
            "INSERT INTO rate_events (kind, key, time) VALUES (?1, ?2, ?3)",
            &[&limit.kind, &limit.key, &time],
        )
        .map_err(doing("counting a rate-limited action"))?;
        tx.commit()
            .map_err(doing("counting a rate-limited action"))?;
        Ok(RateOutcome::Allowed)
    }

    /// The bad-content list admins keep, if one was ever saved.
    pub fn bad_content(&self) -> Result<Option<BadContentList>, StorageError> {
        self.pool
            .get()?
            .query_opt(
                "SELECT text, changed_by, changed_at FROM bad_content WHERE id = 1",
                &[],
                |row| {
                    Ok(BadContentList {
                        text: row.get(0)?,
                        changed_by: row.get(1)?,
                        changed_at: row.get(2)?,
                    })
                },
            )
            .map_err(doing("reading the bad-content list"))
    }

    /// Replaces the bad-content list with `text`, saved by `changed_by` now.
    pub fn set_bad_content(&self, text: &str, changed_by: &str) -> Result<(), StorageError> {
        self.pool.get()?.execute(
            "INSERT INTO bad_content (id, text, changed_by, changed_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET
                 text = excluded.text, changed_by = excluded.changed_by, changed_at = excluded.changed_at",
            &[&text, &changed_by, &now()],
        )
        .map_err(doing("saving the bad-content list"))?;
        Ok(())
    }
}
