//! Watching pages: what each account subscribed to, its watch settings, its feed token and its
//! recent-changes bookmark.
//!
//! A subscription is a row (account, kind, target): a page by name, or a prefix (`Team/`) that
//! covers every page whose name starts with it. "Pages I edited" is not a row per page but a flag
//! in the account's settings: the pages an account edited are in the revision log already, and a
//! row per page would have to follow every save. Watches are by name, as MoinMoin's are: a page
//! renamed away keeps its watchers only through the mail about the rename (the queue matches the
//! old name as well as the new, `crate::outbox`).
//!
//! The feed token is stored as drawn, not hashed (it travels in the feed's query string, which
//! quire's request log leaves out). It opens one Atom feed of changes to pages the
//! account may read, which is text the database itself holds, so whoever reads the database has
//! everything the token would give them; and the account's `/+watching` page shows the feed's
//! address again whenever it is needed (a hash could only be shown once). A new token is one click
//! away, and the old one stops working at once. API tokens, which may write, are another matter.
//!
//! A watch (and the "pages I edited" setting) remembers the newest revision when it was made:
//! mail is owed only for revisions after it, so a queue that is filled late (under CGI, by the
//! next `quire notify`) does not mail a new watcher about changes made before they watched.
//!
//! A watch changes what a page view shows (its Watch or Unwatch button), so inserting or removing
//! one moves the change counter (`crate::changes`), by trigger like every other such write.
//!
//! The watched-changes feed walks the revision log newest first, keeping the changes to watched
//! pages; it looks at no more than [`FEED_REACH`] revisions, so an account whose pages rarely
//! change costs a bounded walk, not the whole log.

use crate::db::{Param, Sql};
use crate::error::{doing, StorageError};
use crate::recent::change_row;
use crate::revision::META_COLUMNS;
use crate::save::now;
use crate::users::{name_key, random_code, user_from_row, User, USER_COLUMNS};
use crate::{sql_count, Change, Storage};

/// The most revisions, newest first, that [`Storage::watched_changes`] looks through.
pub const FEED_REACH: u64 = 20_000;

pub(crate) const SCHEMA: &str = "
    CREATE TABLE watches (
        account INTEGER NOT NULL REFERENCES users (id),
        kind    TEXT NOT NULL CHECK (kind IN ('page', 'prefix')),
        target  TEXT NOT NULL,
        created INTEGER NOT NULL,
        since   INTEGER NOT NULL,
        PRIMARY KEY (account, kind, target)
    ) WITHOUT ROWID;
    CREATE INDEX watches_by_target ON watches (kind, target);
    CREATE TABLE watch_settings (
        account    INTEGER PRIMARY KEY REFERENCES users (id),
        edited     INTEGER NOT NULL DEFAULT 0,
        edited_since INTEGER NOT NULL DEFAULT 0,
        digest     INTEGER NOT NULL DEFAULT 0,
        digest_due INTEGER,
        feed_token TEXT UNIQUE,
        bookmark   INTEGER
    );
    CREATE TABLE outbox (
        id          INTEGER PRIMARY KEY,
        account     INTEGER NOT NULL REFERENCES users (id),
        revision_id INTEGER NOT NULL,
        digest      INTEGER NOT NULL,
        created     INTEGER NOT NULL,
        due         INTEGER NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX outbox_by_due ON outbox (due);
    CREATE TABLE outbox_cursor (
        id   INTEGER PRIMARY KEY CHECK (id = 1),
        upto INTEGER NOT NULL
    );
    INSERT INTO outbox_cursor (id, upto) SELECT 1, coalesce(max(id), 0) FROM revisions;
    CREATE TRIGGER count_new_watches AFTER INSERT ON watches
        BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
    CREATE TRIGGER count_removed_watches AFTER DELETE ON watches
        BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
";

/// What a subscription covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    /// One page, by name.
    Page,
    /// Every page whose name starts with the target (`Team/`).
    Prefix,
}

impl WatchKind {
    /// The tag stored in `watches.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            WatchKind::Page => "page",
            WatchKind::Prefix => "prefix",
        }
    }

    fn parse(tag: &str) -> Result<WatchKind, StorageError> {
        match tag {
            "page" => Ok(WatchKind::Page),
            "prefix" => Ok(WatchKind::Prefix),
            other => Err(StorageError::Invalid {
                what: format!("unknown watch kind {other:?}"),
            }),
        }
    }
}

/// One subscription of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// A page or a prefix.
    pub kind: WatchKind,
    /// The page's name, or the prefix.
    pub target: String,
    /// When it was made, unix seconds.
    pub created: i64,
}

/// An account's settings for watching; all off for an account that never changed them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchSettings {
    /// Whether every page the account edited is watched.
    pub edited: bool,
    /// Whether mail comes as one digest a day instead of one mail a change.
    pub digest: bool,
    /// The secret of the account's feed of watched changes, once one was made.
    pub feed_token: Option<String>,
    /// The account's bookmark in recent changes (unix seconds): changes after it are new to them.
    pub bookmark: Option<i64>,
}

impl Storage {
    /// Subscribes the account `account` (a name in any spelling) to `target`. `false` when it was
    /// subscribed already.
    pub fn watch(
        &self,
        account: &str,
        kind: WatchKind,
        target: &str,
    ) -> Result<bool, StorageError> {
        let mut conn = self.pool.get()?;
        let id = account_id(&mut *conn, account)?;
        let changed = conn
            .execute(
                "INSERT INTO watches (account, kind, target, created, since)
                 VALUES (?1, ?2, ?3, ?4, (SELECT coalesce(max(id), 0) FROM revisions))
                 ON CONFLICT DO NOTHING",
                &[&id, &kind.as_str(), &target, &now()],
            )
            .map_err(doing("adding a watch"))?;
        Ok(changed > 0)
    }

    /// Ends the subscription of `account` to `target`. `false` when there was none.
    pub fn unwatch(
        &self,
        account: &str,
        kind: WatchKind,
        target: &str,
    ) -> Result<bool, StorageError> {
        let mut conn = self.pool.get()?;
        let id = account_id(&mut *conn, account)?;
        let changed = conn
            .execute(
                "DELETE FROM watches WHERE account = ?1 AND kind = ?2 AND target = ?3",
                &[&id, &kind.as_str(), &target],
            )
            .map_err(doing("removing a watch"))?;
        Ok(changed > 0)
    }

    /// Every subscription of `account`: pages, then prefixes, each by name.
    pub fn watches(&self, account: &str) -> Result<Vec<Watch>, StorageError> {
        let mut conn = self.pool.get()?;
        let id = account_id(&mut *conn, account)?;
        let rows: Vec<(String, String, i64)> = conn
            .query_map(
                "SELECT kind, target, created FROM watches WHERE account = ?1 ORDER BY kind, target",
                &[&id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .map_err(doing("listing watches"))?;
        rows.into_iter()
            .map(|(kind, target, created)| {
                Ok(Watch {
                    kind: WatchKind::parse(&kind)?,
                    target,
                    created,
                })
            })
            .collect()
    }

    /// Whether `account` watches the page `page` by name (not through a prefix or its edits).
    pub fn is_watching(&self, account: &str, page: &str) -> Result<bool, StorageError> {
        let found = self
            .pool
            .get()?
            .query_opt(
                "SELECT 1 FROM watches WHERE kind = 'page' AND target = ?2
                   AND account = (SELECT id FROM users WHERE name_key = ?1)",
                &[&name_key(account), &page],
                |_| Ok(()),
            )
            .map_err(doing("reading a watch"))?;
        Ok(found.is_some())
    }

    /// The watch settings of `account`.
    pub fn watch_settings(&self, account: &str) -> Result<WatchSettings, StorageError> {
        let mut conn = self.pool.get()?;
        let id = account_id(&mut *conn, account)?;
        conn.query_opt(
            "SELECT edited, digest, feed_token, bookmark FROM watch_settings WHERE account = ?1",
            &[&id],
            |row| {
                Ok(WatchSettings {
                    edited: row.get(0)?,
                    digest: row.get(1)?,
                    feed_token: row.get(2)?,
                    bookmark: row.get(3)?,
                })
            },
        )
        .map(Option::unwrap_or_default)
        .map_err(doing("reading watch settings"))
    }

    /// Sets whether `account` watches the pages it edited, and whether its mail comes as a digest.
    /// Turning the digest off leaves a digest already collected to go out when it is due.
    pub fn set_watch_settings(
        &self,
        account: &str,
        edited: bool,
        digest: bool,
    ) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        let id = account_id(&mut *conn, account)?;
        conn.execute(
            "INSERT INTO watch_settings (account, edited, edited_since, digest)
             VALUES (?1, ?2, (SELECT coalesce(max(id), 0) FROM revisions), ?3)
             ON CONFLICT (account) DO UPDATE SET
                 edited_since = CASE WHEN watch_settings.edited <> 0
                                     THEN watch_settings.edited_since
                                     ELSE excluded.edited_since END,
                 edited = excluded.edited, digest = excluded.digest",
            &[&id, &edited, &digest],
        )
        .map_err(doing("storing watch settings"))?;
        Ok(())
    }

    /// The secret of `account`'s feed of watched changes, drawn now if it has none yet.
    pub fn feed_token(&self, account: &str) -> Result<String, StorageError> {
        if let Some(token) = self.watch_settings(account)?.feed_token {
            return Ok(token);
        }
        self.reset_feed_token(account)
    }

    /// A new secret for `account`'s feed; the old one opens nothing from now on.
    pub fn reset_feed_token(&self, account: &str) -> Result<String, StorageError> {
        let token = random_code("feed token")?;
        self.set_setting(
            account,
            "INSERT INTO watch_settings (account, feed_token) VALUES (?1, ?2)
             ON CONFLICT (account) DO UPDATE SET feed_token = excluded.feed_token",
            &token,
            "storing a feed token",
        )?;
        Ok(token)
    }

    /// The account whose feed `token` opens, if any.
    pub fn feed_account(&self, token: &str) -> Result<Option<User>, StorageError> {
        self.pool
            .get()?
            .query_opt(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users
                     WHERE id = (SELECT account FROM watch_settings WHERE feed_token = ?1)"
                ),
                &[&token],
                user_from_row,
            )
            .map_err(doing("finding a feed's account"))
    }

    /// Sets `account`'s bookmark in recent changes to `time` (unix seconds).
    pub fn set_bookmark(&self, account: &str, time: i64) -> Result<(), StorageError> {
        self.set_setting(
            account,
            "INSERT INTO watch_settings (account, bookmark) VALUES (?1, ?2)
             ON CONFLICT (account) DO UPDATE SET bookmark = excluded.bookmark",
            &time,
            "storing a bookmark",
        )
    }

    /// Runs `sql`, which stores one of the account's settings, with its id as `?1` and `value`
    /// as `?2`.
    fn set_setting(
        &self,
        account: &str,
        sql: &str,
        value: &dyn Param,
        what: &'static str,
    ) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        let id = account_id(&mut *conn, account)?;
        conn.execute(sql, &[&id, value]).map_err(doing(what))?;
        Ok(())
    }

    /// The newest changes, at most `limit`, to the pages `account` watches: by name, under a
    /// prefix, or (with the setting on) that it edited; among the newest [`FEED_REACH`] revisions.
    /// Whether the account may read them is the caller's to check.
    pub fn watched_changes(
        &self,
        account: &str,
        limit: usize,
    ) -> Result<Vec<Change>, StorageError> {
        let mut conn = self.pool.get()?;
        let id = account_id(&mut *conn, account)?;
        let reach = i64::try_from(FEED_REACH).unwrap_or(i64::MAX);
        let changes = conn
            .query_map(
                &format!(
                    "SELECT {META_COLUMNS}, r.size_delta, r.id FROM revisions r
                 JOIN pages p ON r.page_id = p.id
                 WHERE r.id > (SELECT coalesce(max(id), 0) FROM revisions) - ?2 AND (
                     EXISTS (SELECT 1 FROM watches w WHERE w.account = ?1 AND w.kind = 'page'
                             AND w.target IN (p.name, r.renamed_from))
                     OR EXISTS (SELECT 1 FROM watches w WHERE w.account = ?1 AND w.kind = 'prefix'
                             AND substr(p.name, 1, length(w.target)) = w.target)
                     OR EXISTS (SELECT 1 FROM watch_settings s JOIN users u ON u.id = s.account
                             JOIN revisions m ON m.page_id = r.page_id AND m.author = u.name
                             WHERE s.account = ?1 AND s.edited <> 0)
                 )
                 ORDER BY r.id DESC
                 LIMIT ?3"
                ),
                &[&id, &reach, &sql_count(limit)],
                change_row,
            )
            .map_err(doing("reading watched changes"))?;
        changes.into_iter().map(|change| change.check()).collect()
    }
}

/// The id of the account `name` (any spelling); an error if there is none, as watches belong to
/// accounts that exist.
pub(crate) fn account_id(conn: &mut impl Sql, name: &str) -> Result<i64, StorageError> {
    conn.query_opt(
        "SELECT id FROM users WHERE name_key = ?1",
        &[&name_key(name)],
        |row| row.get(0),
    )
    .map_err(doing("finding an account"))?
    .ok_or_else(|| StorageError::Invalid {
        what: format!("there is no account called {name:?}"),
    })
}

#[cfg(test)]
mod tests {
    use crate::page_acls::tests::{account, each_storage, put};
    use crate::WatchKind;

    /// The revisions are written with plain SQL ([`put`]): the feed reads only the revision
    /// log's rows, not texts.
    #[test]
    fn watches_settings_and_the_feed_of_watched_changes() {
        for storage in each_storage() {
            let engine = storage.engine();
            account(&storage, "Ann", "");
            assert!(storage.watch("ann", WatchKind::Page, "Watched").unwrap());
            assert!(!storage.watch("Ann", WatchKind::Page, "Watched").unwrap());
            assert!(storage.watch("Ann", WatchKind::Prefix, "Team/").unwrap());
            assert!(storage.watch("Ann", WatchKind::Page, "Gone").unwrap());
            assert!(storage.unwatch("Ann", WatchKind::Page, "Gone").unwrap());
            assert!(!storage.unwatch("Ann", WatchKind::Page, "Gone").unwrap());
            let watches: Vec<(WatchKind, String)> = storage
                .watches("Ann")
                .unwrap()
                .into_iter()
                .map(|w| (w.kind, w.target))
                .collect();
            assert_eq!(
                watches,
                [
                    (WatchKind::Page, "Watched".to_owned()),
                    (WatchKind::Prefix, "Team/".to_owned())
                ],
                "{engine}"
            );
            assert!(storage.is_watching("ANN", "Watched").unwrap(), "{engine}");
            assert!(!storage.is_watching("Ann", "Team/X").unwrap(), "{engine}");
            assert!(storage.watch("Nobody", WatchKind::Page, "P").is_err());

            // Settings: off until set; the edited pages' start survives a second save of them.
            assert_eq!(storage.watch_settings("Ann").unwrap(), Default::default());
            put(&storage, "Mine", "Ann", "edit", 1);
            put(&storage, "Else", "Bob", "edit", 1);
            put(&storage, "Team/X", "Bob", "edit", 1);
            storage.set_watch_settings("Ann", true, false).unwrap();
            storage.set_watch_settings("Ann", true, true).unwrap();
            storage.set_bookmark("Ann", 1234).unwrap();
            let token = storage.feed_token("Ann").unwrap();
            assert_eq!(storage.feed_token("Ann").unwrap(), token, "{engine}");
            let settings = storage.watch_settings("Ann").unwrap();
            assert!(settings.edited && settings.digest, "{engine}");
            assert_eq!(settings.bookmark, Some(1234), "{engine}");
            assert_eq!(settings.feed_token.as_deref(), Some(token.as_str()));
            assert_eq!(storage.feed_account(&token).unwrap().unwrap().name, "Ann");
            let new = storage.reset_feed_token("Ann").unwrap();
            assert!(storage.feed_account(&token).unwrap().is_none(), "{engine}");
            assert!(storage.feed_account(&new).unwrap().is_some(), "{engine}");

            // The feed: watched by name, under a prefix, or edited by the account; newest first.
            put(&storage, "Watched", "Bob", "edit", 2);
            put(&storage, "Mine", "Bob", "edit", 2);
            let pages: Vec<(String, u64)> = storage
                .watched_changes("Ann", 10)
                .unwrap()
                .into_iter()
                .map(|change| (change.meta.page, change.meta.rev))
                .collect();
            assert_eq!(
                pages,
                [
                    ("Mine".to_owned(), 2),
                    ("Watched".to_owned(), 1),
                    ("Team/X".to_owned(), 1),
                    ("Mine".to_owned(), 1),
                ],
                "{engine}"
            );
            assert_eq!(storage.watched_changes("Ann", 1).unwrap().len(), 1);
        }
    }
}
