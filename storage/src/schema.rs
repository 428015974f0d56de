//! The schema and its migrations.
//!
//! The schema version lives in SQLite's `PRAGMA user_version`; quire's tables are marked with
//! `PRAGMA application_id` so a database of some other program is refused rather than extended.
//! Each [`Migration`] moves the schema from `version - 1` to `version`; migrations only ever append to
//! [`MIGRATIONS`], never change a released one, so every database reaches the same schema.
//!
//! Migration runs under `BEGIN IMMEDIATE`: when several CGI processes start on a fresh or old database at
//! once, one takes the write lock and migrates, the others wait (busy timeout), then re-read the version
//! inside their own transaction, find nothing to do and commit an empty transaction. A database already
//! at the current version is only read, so the common open takes no write lock.
//!
//! Design for the features still to come, all additive:
//! - `pages.id` is a stable surrogate key, so a rename changes one row and history, links and attachments
//!   follow; deletion is a revision kind plus `pages.deleted` (migration 3).
//! - `revisions.id` is a global, never reused (AUTOINCREMENT) key that the link table (outgoing links per
//!   revision, migration 2) and the render cache reference.
//! - `revisions.format` says how `body` is stored: `plain` (UTF-8 text, rows from before migration 3),
//!   `current` (the text is in `current_texts`, migration 6), `rdelta` or `deflate` (compact history,
//!   see `crate::compact`); a build meeting a format it does not know says so
//!   ([`crate::StorageError::UnknownFormat`]) instead of showing garbage.
//! - `revisions.size_delta` is stored at save time so recent changes need no self-join.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::StorageError;
use std::path::Path;

/// Marks a database as quire's (`PRAGMA application_id`): the bytes "quir".
pub(crate) const APPLICATION_ID: i32 = 0x7175_6972;

/// One step of the schema.
pub(crate) struct Migration {
    /// The schema version after this migration.
    pub(crate) version: u32,
    /// What it adds, for the log.
    pub(crate) description: &'static str,
    /// The statements; run inside the migration transaction.
    pub(crate) sql: &'static str,
    /// What SQL cannot compute (Unicode normalisation, say), run after `sql` in the same transaction.
    pub(crate) fill: Option<fn(&Transaction<'_>) -> rusqlite::Result<()>>,
}

/// All migrations, in order. Append only.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "pages and revisions",
        sql: "
        CREATE TABLE pages (
            id          INTEGER PRIMARY KEY,
            name        TEXT NOT NULL UNIQUE,
            current_rev INTEGER NOT NULL
        );
        CREATE TABLE revisions (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            page_id    INTEGER NOT NULL REFERENCES pages (id),
            rev        INTEGER NOT NULL,
            author     TEXT NOT NULL,
            time       INTEGER NOT NULL,
            comment    TEXT NOT NULL,
            size       INTEGER NOT NULL,
            size_delta INTEGER NOT NULL,
            format     TEXT NOT NULL DEFAULT 'plain',
            body       TEXT NOT NULL,
            UNIQUE (page_id, rev)
        );
        CREATE INDEX revisions_recent ON revisions (time DESC, id DESC);
    ",
        fill: None,
    },
    Migration {
        version: 2,
        description: "the link graph and the render cache",
        // `pages.links_rev` is the revision whose outgoing links are stored; where it differs from
        // `current_rev` (every page of an older database, or a save without links) the app still has
        // to compute them, which the partial index finds without a scan. `render_epoch` grows whenever
        // a page appears or disappears, so a render that raced with that change is not cached.
        sql: "
        ALTER TABLE pages ADD COLUMN links_rev INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX pages_links_stale ON pages (id) WHERE links_rev <> current_rev;
        CREATE TABLE links (
            revision_id INTEGER NOT NULL REFERENCES revisions (id),
            target      TEXT NOT NULL,
            PRIMARY KEY (revision_id, target)
        ) WITHOUT ROWID;
        CREATE INDEX links_by_target ON links (target, revision_id);
        CREATE TABLE rendered (
            revision_id INTEGER NOT NULL REFERENCES revisions (id),
            variant     TEXT NOT NULL,
            html        TEXT NOT NULL,
            PRIMARY KEY (revision_id, variant)
        );
        CREATE TABLE render_epoch (
            id    INTEGER PRIMARY KEY CHECK (id = 1),
            epoch INTEGER NOT NULL
        );
        INSERT INTO render_epoch (id, epoch) VALUES (1, 0);
    ",
        fill: None,
    },
    Migration {
        version: 3,
        description: "page lifecycle, recent-changes filters and blame",
        // A deleted page keeps its row and history (`deleted = 1`, its current revision an empty
        // `delete` one); `kind` says what each revision did, `renamed_from` the old name of a rename.
        // A redirect names the page row a renamed page's old name leads to, so it follows later
        // renames. `blame` holds, per page, which revision each line of revision `rev` comes from
        // (`crate::blame`). Old rows read as `edit` revisions of live pages.
        sql: "
        ALTER TABLE pages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX pages_deleted ON pages (name) WHERE deleted = 1;
        ALTER TABLE revisions ADD COLUMN kind TEXT NOT NULL DEFAULT 'edit';
        ALTER TABLE revisions ADD COLUMN renamed_from TEXT;
        CREATE INDEX revisions_by_author ON revisions (author, id);
        CREATE TABLE redirects (
            name    TEXT PRIMARY KEY,
            page_id INTEGER NOT NULL REFERENCES pages (id)
        ) WITHOUT ROWID;
        CREATE TABLE blame (
            page_id INTEGER PRIMARY KEY REFERENCES pages (id),
            rev     INTEGER NOT NULL,
            lines   BLOB NOT NULL
        );
    ",
        fill: None,
    },
    Migration {
        version: 4,
        description: "accounts, failed logins and invitations",
        // `name_key` is the lowercased name: names are unique in any spelling (SQLite's NOCASE folds
        // ASCII only). Failed logins are looked up per name and per address within a time window.
        sql: "
        CREATE TABLE users (
            id            INTEGER PRIMARY KEY,
            name          TEXT NOT NULL,
            name_key      TEXT NOT NULL UNIQUE,
            display_name  TEXT NOT NULL,
            email         TEXT NOT NULL DEFAULT '',
            role          TEXT NOT NULL CHECK (role IN ('user', 'admin')),
            disabled      INTEGER NOT NULL DEFAULT 0,
            password_hash TEXT NOT NULL,
            theme         TEXT,
            created       INTEGER NOT NULL
        );
        CREATE TABLE failed_logins (
            id       INTEGER PRIMARY KEY,
            time     INTEGER NOT NULL,
            name_key TEXT NOT NULL,
            address  TEXT NOT NULL
        );
        CREATE INDEX failed_logins_by_name ON failed_logins (name_key, time);
        CREATE INDEX failed_logins_by_address ON failed_logins (address, time);
        CREATE INDEX failed_logins_by_time ON failed_logins (time);
        CREATE TABLE invites (
            code       TEXT PRIMARY KEY,
            created_by TEXT NOT NULL,
            created    INTEGER NOT NULL,
            expires    INTEGER NOT NULL,
            used_by    TEXT,
            used       INTEGER
        );
    ",
        fill: None,
    },
    Migration {
        version: 5,
        description: "page ACL lines",
        // Derived from the revision log (`crate::page_acls`): rows only for revisions with an `#acl`
        // line, and how far the scan has come.
        sql: "
        CREATE TABLE revision_acls (
            revision_id INTEGER PRIMARY KEY REFERENCES revisions (id),
            acl         TEXT NOT NULL
        );
        CREATE TABLE acl_scan (
            id   INTEGER PRIMARY KEY CHECK (id = 1),
            upto INTEGER NOT NULL
        );
        INSERT INTO acl_scan (id, upto) VALUES (1, 0);
    ",
        fill: None,
    },
    Migration {
        version: 6,
        description: "current texts apart from the revision log",
        // A page's current text lives here, one row per page rewritten in place; its revision row
        // says `format = 'current'` and holds no body until the next save compacts it. Were the text
        // written into the revision row and shrunk to a delta later, every revision-table page would
        // be left holding a few shrunken rows (8x the file size for a long history).
        sql: "
        CREATE TABLE current_texts (
            page_id INTEGER PRIMARY KEY REFERENCES pages (id),
            text    TEXT NOT NULL
        );
    ",
        fill: None,
    },
    Migration {
        version: 7,
        description: "a session epoch per account",
        // Raised by every password change: a session remembers the epoch it was opened under, so
        // changing a password ends the account's other sessions.
        sql: "
        ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
    ",
        fill: None,
    },
    Migration {
        version: 8,
        description: "sessions ended by a logout",
        // One row per session id a logout ended, kept until every cookie that could carry the id has
        // expired (`crate::sessions`); pruned oldest first through the `expires` index.
        sql: "
        CREATE TABLE revoked_sessions (
            id      TEXT PRIMARY KEY,
            expires INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX revoked_sessions_by_expiry ON revoked_sessions (expires);
    ",
        fill: None,
    },
    Migration {
        version: 9,
        description: "look-alike account names",
        // Each account's confusable skeleton (`crate::users::name_skeleton`), so that registering a
        // name that looks like an existing one is refused by one indexed lookup; not UNIQUE, because
        // older databases may hold look-alikes already. `fill` computes it for existing rows, and
        // re-keys them under NFKC.
        sql: "
        ALTER TABLE users ADD COLUMN name_skeleton TEXT NOT NULL DEFAULT '';
        CREATE INDEX users_by_skeleton ON users (name_skeleton);
    ",
        fill: Some(crate::users::fill_name_skeletons),
    },
    Migration {
        version: 10,
        description: "page names in NFC",
        // The app takes page names in NFC since this version, at every edge (a URL, a form, a link
        // target), so a page saved earlier under another spelling of its name (NFD, as some
        // systems type accents) could no longer be reached. `fill` renames such pages, link targets
        // and redirects to NFC, and drops the rendered HTML, whose links may name the old spelling.
        sql: "",
        fill: Some(crate::lifecycle::fill_nfc_page_names),
    },
    Migration {
        version: 11,
        description: "known login devices",
        // A random token per browser an account logged in from (`crate::users`, device cookies):
        // with a valid one, a login is checked even while the account is throttled. `failures`
        // counts wrong passwords sent with the token; at MAX_FAILURES it stops counting as known.
        sql: "
        CREATE TABLE login_devices (
            token    TEXT PRIMARY KEY,
            name_key TEXT NOT NULL,
            expires  INTEGER NOT NULL,
            failures INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX login_devices_by_account ON login_devices (name_key, expires);
        CREATE INDEX login_devices_by_expiry ON login_devices (expires);
    ",
        fill: None,
    },
    Migration {
        version: 12,
        description: "the audit log",
        // Admin and security events (`crate::audit`). Ids are AUTOINCREMENT, never reused, and rows
        // are pruned only from the oldest end, so the newest N rows are those with id > MAX(id) - N;
        // `time` is indexed for pruning by age, `(kind, id)` for the admin page's filter.
        sql: "
        CREATE TABLE audit_log (
            id      INTEGER PRIMARY KEY AUTOINCREMENT,
            time    INTEGER NOT NULL,
            actor   TEXT NOT NULL,
            address TEXT NOT NULL,
            kind    TEXT NOT NULL,
            target  TEXT NOT NULL,
            detail  TEXT NOT NULL
        );
        CREATE INDEX audit_log_by_time ON audit_log (time);
        CREATE INDEX audit_log_by_kind ON audit_log (kind, id);
    ",
        fill: None,
    },
    Migration {
        version: 13,
        description: "anti-spam: rate-limited actions and the admin's bad-content list",
        // One row per rate-limited action (an anonymous save, a registration) by kind and client
        // address, counted over a window and pruned as they age (`crate::spam`); and the one row of
        // the bad-content list admins edit on /+admin.
        sql: "
        CREATE TABLE rate_events (
            id      INTEGER PRIMARY KEY,
            kind    TEXT NOT NULL,
            key     TEXT NOT NULL,
            time    INTEGER NOT NULL
        );
        CREATE INDEX rate_events_by_key ON rate_events (kind, key, time);
        CREATE INDEX rate_events_by_time ON rate_events (time);
        CREATE TABLE bad_content (
            id         INTEGER PRIMARY KEY CHECK (id = 1),
            text       TEXT NOT NULL,
            changed_by TEXT NOT NULL,
            changed_at INTEGER NOT NULL
        );
    ",
        fill: None,
    },
    Migration {
        version: 14,
        description: "attachments: blobs, file versions, file links and thumbnails",
        // Content-addressed blobs (`crate::blobs`): one row per distinct SHA-256, its bytes in
        // 256 KiB chunks (rowid tables: SQLite keeps large rows out of WITHOUT ROWID b-trees badly),
        // `chunk_size` stored so a later build may cut differently and still read these. Files
        // (`crate::files`) are versions in one log keyed by the page row, so they follow a rename;
        // `id` is AUTOINCREMENT, never reused, the cursor of recent changes and the search indexer.
        // `file_links` sit beside `links`: each revision's links to files, for backlinks, wanted
        // files and render-cache invalidation. Links are computed again (`links_rev = 0`): texts
        // saved before this version were read without attachment links, and their HTML goes too.
        sql: "
        CREATE TABLE blobs (
            id         INTEGER PRIMARY KEY,
            hash       TEXT NOT NULL UNIQUE,
            size       INTEGER NOT NULL,
            chunk_size INTEGER NOT NULL
        );
        CREATE TABLE blob_chunks (
            blob_id INTEGER NOT NULL REFERENCES blobs (id),
            seq     INTEGER NOT NULL,
            data    BLOB NOT NULL,
            PRIMARY KEY (blob_id, seq)
        );
        CREATE TABLE file_versions (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            page_id       INTEGER NOT NULL REFERENCES pages (id),
            name          TEXT NOT NULL,
            version       INTEGER NOT NULL,
            kind          TEXT NOT NULL CHECK (kind IN ('upload', 'delete', 'restore')),
            restored_from INTEGER,
            blob_id       INTEGER REFERENCES blobs (id),
            size          INTEGER NOT NULL,
            media_type    TEXT NOT NULL,
            width         INTEGER,
            height        INTEGER,
            uploader      TEXT NOT NULL,
            time          INTEGER NOT NULL,
            comment       TEXT NOT NULL,
            UNIQUE (page_id, name, version),
            CHECK ((kind = 'delete') = (blob_id IS NULL))
        );
        CREATE INDEX file_versions_by_uploader ON file_versions (uploader, id);
        CREATE TABLE file_links (
            revision_id INTEGER NOT NULL REFERENCES revisions (id),
            page        TEXT NOT NULL,
            name        TEXT NOT NULL,
            PRIMARY KEY (revision_id, page, name)
        ) WITHOUT ROWID;
        CREATE INDEX file_links_by_target ON file_links (page, name, revision_id);
        CREATE TABLE thumbnails (
            blob_id    INTEGER PRIMARY KEY REFERENCES blobs (id),
            media_type TEXT NOT NULL,
            width      INTEGER NOT NULL,
            height     INTEGER NOT NULL,
            data       BLOB NOT NULL
        );
        UPDATE pages SET links_rev = 0;
        DELETE FROM rendered;
    ",
        fill: None,
    },
    Migration {
        version: 15,
        description: "imports: the original markup of converted revisions",
        // A revision imported from another wiki (`crate::import`) holds the Markdown it was converted
        // to; the other wiki's own markup is kept beside it, so that nothing of the source is lost and
        // a better converter can run again later. Few revisions have a row.
        sql: "
        CREATE TABLE revision_originals (
            revision_id INTEGER PRIMARY KEY REFERENCES revisions (id),
            text        TEXT NOT NULL
        );
    ",
        fill: None,
    },
    Migration {
        version: 16,
        description: "group pages' members",
        // Derived from the revision log (`crate::page_groups`), like `revision_acls`: a row for each
        // revision of a page whose name made it a group page when scanned (its members, one per
        // line), how far the scan has come, and the name pattern it used, so that a changed
        // `page_group_regex` starts the scan again.
        sql: "
        CREATE TABLE revision_groups (
            revision_id INTEGER PRIMARY KEY REFERENCES revisions (id),
            members     TEXT NOT NULL
        );
        CREATE TABLE group_scan (
            id      INTEGER PRIMARY KEY CHECK (id = 1),
            upto    INTEGER NOT NULL,
            pattern TEXT NOT NULL
        );
        INSERT INTO group_scan (id, upto, pattern) VALUES (1, 0, '');
    ",
        fill: None,
    },
    Migration {
        version: 17,
        description: "account keys composed again after lowercasing",
        // `crate::users::name_key` puts the lowercased name back in NFKC, so that `T̈om` and `ẗom`
        // are one account; `fill` re-keys existing accounts and the rows kept under their keys.
        sql: "",
        fill: Some(crate::users::rekey_accounts),
    },
    Migration {
        version: 18,
        description: "link targets with their counts, for orphans and wanted pages",
        // Derived from the link graph (`crate::link_names`): a row for every name that is a live
        // page or that some other page's current revision links to, whether a live page has it,
        // and how many other pages' current revisions link to it. Kept by triggers on `links` and
        // `pages`, so every writer keeps it, whatever path it takes (save, import, rename, delete,
        // links filled in later); the partial indexes make a page of `/+orphans` or `/+wanted` one
        // range scan, whatever the size of the wiki. `fill` builds it from the graph.
        sql: crate::link_names::SCHEMA,
        fill: Some(crate::link_names::fill),
    },
    Migration {
        version: 19,
        description: "the change counter",
        // One number that grows, in the same transaction, with every write that can change what a
        // page view shows: a revision (saves, deletes, renames, reverts, imports), a page row
        // changed (its current revision, name, deleted flag, or links recorded), a redirect, a
        // file version. Triggers keep it, so no writer, in any process or any build to come, can
        // forget to; `crate::changes` reads it, and the app's response cache keys by it.
        sql: "
        CREATE TABLE change_counter (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            n  INTEGER NOT NULL
        );
        INSERT INTO change_counter (id, n) VALUES (1, 0);
        CREATE TRIGGER count_revisions AFTER INSERT ON revisions
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER count_new_pages AFTER INSERT ON pages
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER count_changed_pages AFTER UPDATE ON pages
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER count_removed_pages AFTER DELETE ON pages
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER count_new_redirects AFTER INSERT ON redirects
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER count_changed_redirects AFTER UPDATE ON redirects
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER count_removed_redirects AFTER DELETE ON redirects
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
        CREATE TRIGGER count_file_versions AFTER INSERT ON file_versions
            BEGIN UPDATE change_counter SET n = n + 1 WHERE id = 1; END;
    ",
        fill: None,
    },
    Migration {
        version: 20,
        description: "backlinks by name, for what links here",
        // Derived from the link graph (`crate::backlinks`): a row (target, source) for each page
        // whose current revision links to the name, keyed so that the first backlinks of a page
        // are one range scan, however many it has; `links` alone holds a row per link of every
        // revision. Kept by triggers on `links` and `pages`, like `link_names`, so every writer
        // keeps it; `fill` builds it from the graph. It moves nothing the change counter counts.
        sql: crate::backlinks::SCHEMA,
        fill: Some(crate::backlinks::fill),
    },
    Migration {
        version: 21,
        description: "listings from covering indexes: each page's newest change, for recent changes under a prefix",
        // `pages.last_change` is the id of the page's newest revision, set by a trigger in the
        // transaction that writes the revision, whatever writes it; `quire check` compares it with
        // the revisions, and `fill` sets it. Recent changes under a prefix reach it two ways
        // (`crate::recent::subtree`): a subtree's pages by name, and every page most recently
        // changed first. The index by name carries `deleted` too, so that a page of `/+index` is
        // read from it alone; the wanted names' index carries their link counts for the same
        // reason (each row of either cost a seek into the table before).
        sql: "
        ALTER TABLE pages ADD COLUMN last_change INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX pages_listed_by_name ON pages (name, deleted, last_change);
        CREATE INDEX pages_by_last_change ON pages (last_change, name);
        CREATE TRIGGER pages_last_change AFTER INSERT ON revisions
            BEGIN UPDATE pages SET last_change = NEW.id WHERE id = NEW.page_id; END;
        DROP INDEX link_names_wanted;
        CREATE INDEX link_names_wanted ON link_names (name, sources) WHERE live = 0;
    ",
        fill: Some(crate::recent::fill_last_changes),
    },
    Migration {
        version: 22,
        description: "pages by first path segment and newest change, for recent changes under a top-level prefix",
        // The newest heads of a subtree that is one whole first segment (`Team/`) are read newest
        // first from this index, a page at a time until they are settled, rather than the whole
        // subtree by name (`crate::recent::subtree`). An index on an expression: SQLite keeps it on
        // every write and `PRAGMA integrity_check` (`quire check`) checks it, so nothing derived is
        // left to a trigger or a repair. Pages at the root (no `/`) all have the empty segment.
        sql: crate::recent::FIRST_SEGMENT_INDEX,
        fill: None,
    },
    Migration {
        version: 23,
        description: "drafts: the editor's unsaved text per account and page",
        // Not derived from anything: a row an account's editor writes and its save removes, in the
        // save's transaction (`crate::drafts`). The index on the time makes expiring them a range
        // scan; nothing a page view shows depends on them, so the change counter does not move.
        sql: crate::drafts::SCHEMA,
        fill: None,
    },
    Migration {
        version: 24,
        description: "watching pages, and the mail queue",
        // Subscriptions per account (a page, a prefix), each account's watch settings (pages it
        // edited, digest, feed token, recent-changes bookmark), the outbox of mail to send and the
        // revision the queue has been filled up to (`crate::watches`, `crate::outbox`). The
        // cursor starts at the newest revision: no one is mailed about the past.
        sql: crate::watches::SCHEMA,
        fill: None,
    },
    Migration {
        version: 25,
        description: "personal API tokens, kept as SHA-256 digests",
        // `crate::api_tokens`: a token is found by its digest (the unique index), listed by its
        // account. Nothing derived: revoking deletes the row.
        sql: "
        CREATE TABLE api_tokens (
            id        INTEGER PRIMARY KEY,
            user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
            label     TEXT NOT NULL,
            hash      BLOB NOT NULL UNIQUE,
            scope     TEXT NOT NULL CHECK (scope IN ('read', 'write')),
            created   INTEGER NOT NULL,
            expires   INTEGER,
            last_used INTEGER
        );
        CREATE INDEX api_tokens_by_user ON api_tokens (user_id);
    ",
        fill: None,
    },    Migration {
        version: 26,
        description: "secrets every node of one wiki shares: the session keys",
        // `crate::secrets`: one row per secret, written once by whichever process needs it first
        // and read by every other; on PostgreSQL the nodes' session cookies are sealed with the
        // same keys this way, unless `session_key_file` names a file instead.
        sql: crate::secrets::SCHEMA,
        fill: None,
    },
];

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: u32 = match MIGRATIONS.last() {
    Some(m) => m.version,
    None => 0,
};

/// Brings the database behind `conn` to [`SCHEMA_VERSION`], or refuses it.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StorageError> {
    let found = user_version(conn, path)?;
    check_not_newer(found)?;
    if found == SCHEMA_VERSION {
        return check_ours(conn, path, found);
    }

    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| StorageError::opening(path, "starting the schema migration", e))?;
    // Another process may have migrated while this one waited for the lock.
    let found = user_version(&tx, path)?;
    check_not_newer(found)?;
    check_ours(&tx, path, found)?;
    for migration in MIGRATIONS.iter().filter(|m| m.version > found) {
        tracing::debug!(
            version = migration.version,
            description = migration.description,
            "migrating the database schema"
        );
        tx.execute_batch(migration.sql)
            .and_then(|()| migration.fill.map_or(Ok(()), |fill| fill(&tx)))
            .map_err(|e| StorageError::opening(path, "migrating the database schema", e))?;
    }
    if found < SCHEMA_VERSION {
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .and_then(|()| tx.pragma_update(None, "user_version", SCHEMA_VERSION))
            .map_err(|e| StorageError::opening(path, "recording the schema version", e))?;
    }
    tx.commit()
        .map_err(|e| StorageError::opening(path, "committing the schema migration", e))
}

fn user_version(conn: &Connection, path: &Path) -> Result<u32, StorageError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| StorageError::opening(path, "reading the schema version", e))?;
    // user_version is a signed 32-bit field; quire never writes a negative one.
    u32::try_from(version).map_err(|_| StorageError::ForeignDatabase {
        path: path.to_path_buf(),
    })
}

fn check_not_newer(found: u32) -> Result<(), StorageError> {
    if found > SCHEMA_VERSION {
        return Err(StorageError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Refuses a database that belongs to another program: a foreign application id, or an unversioned
/// database that already has tables.
fn check_ours(conn: &Connection, path: &Path, version: u32) -> Result<(), StorageError> {
    let foreign = || StorageError::ForeignDatabase {
        path: path.to_path_buf(),
    };
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(|e| StorageError::opening(path, "reading the application id", e))?;
    if application_id != APPLICATION_ID && application_id != 0 {
        return Err(foreign());
    }
    if version == 0 {
        let has_objects: bool = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master)", [], |row| {
                row.get(0)
            })
            .map_err(|e| StorageError::opening(path, "inspecting a new database", e))?;
        if has_objects {
            return Err(foreign());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_dense_from_one() {
        for (i, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(
                migration.version as usize,
                i + 1,
                "{}",
                migration.description
            );
        }
        assert_eq!(SCHEMA_VERSION as usize, MIGRATIONS.len());
    }

    #[test]
    fn migrating_twice_is_a_no_op() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = Path::new(":memory:");
        migrate(&mut conn, path).unwrap();
        migrate(&mut conn, path).unwrap();
        assert_eq!(user_version(&conn, path).unwrap(), SCHEMA_VERSION);
    }

    #[test]
    fn accounts_from_before_skeletons_get_one_in_the_migration() {
        let mut conn = Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS.iter().filter(|m| m.version <= 8) {
            conn.execute_batch(migration.sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 8).unwrap();
        conn.execute_batch(
            "INSERT INTO users (name, name_key, display_name, role, password_hash, created) VALUES
             ('Admin', 'admin', 'Admin', 'admin', 'x', 0),
             ('\u{ff41}dmin', '\u{ff41}dmin', 'x', 'user', 'x', 0),
             ('B\u{ff4f}b', 'b\u{ff4f}b', 'x', 'user', 'x', 0)",
        )
        .unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT name_key, name_skeleton FROM users ORDER BY id")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let admin = crate::users::name_skeleton("admin");
        let expected = [
            ("admin".to_owned(), admin.clone()),
            // Its NFKC key is Admin's: left as it was rather than merged or renamed.
            ("\u{ff41}dmin".to_owned(), admin),
            ("bob".to_owned(), "bob".to_owned()),
        ];
        assert_eq!(rows, expected);
    }

    #[test]
    fn accounts_keyed_before_the_second_nfkc_are_rekeyed_with_their_devices() {
        let mut conn = Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS.iter().filter(|m| m.version <= 16) {
            conn.execute_batch(migration.sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 16).unwrap();
        // The old key of `T̈om`: lowercased after NFKC, so `t` and a combining mark.
        conn.execute_batch(
            "INSERT INTO users (name, name_key, display_name, role, password_hash, created) VALUES
             ('T\u{308}om', 't\u{308}om', 'Tom', 'user', 'x', 0),
             ('Ann', 'ann', 'Ann', 'user', 'x', 0);
             INSERT INTO login_devices (name_key, token, expires)
             VALUES ('t\u{308}om', 'd1', 99), ('ann', 'd2', 99);",
        )
        .unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        let keys: Vec<String> = conn
            .prepare("SELECT name_key FROM users ORDER BY id")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(keys, ["\u{1e97}om", "ann"]);
        let devices: Vec<String> = conn
            .prepare("SELECT name_key FROM login_devices ORDER BY token")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(devices, ["\u{1e97}om", "ann"]);
    }

    #[test]
    fn pages_from_before_nfc_names_are_renamed_to_nfc_in_the_migration() {
        let mut conn = Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS.iter().filter(|m| m.version <= 9) {
            conn.execute_batch(migration.sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 9).unwrap();
        // "Café" written with a combining accent, a page already called "Noël" in NFC and in NFD
        // (the NFD one stays: renaming it would take the other's name), and links to both spellings.
        conn.execute_batch(
            "INSERT INTO pages (id, name, current_rev) VALUES
                 (1, 'Cafe\u{301}', 0), (2, 'Noël', 0), (3, 'Noe\u{308}l', 0), (4, 'Home', 0);
             INSERT INTO revisions (id, page_id, rev, author, time, comment, size, size_delta, body)
                 VALUES (1, 4, 1, 'a', 0, '', 0, 0, '');
             INSERT INTO links (revision_id, target) VALUES
                 (1, 'Cafe\u{301}'), (1, 'Café'), (1, 'Ame\u{301}lie');
             INSERT INTO redirects (name, page_id) VALUES ('Old Cafe\u{301}', 1);",
        )
        .unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        let strings = |sql: &str| -> Vec<String> {
            conn.prepare(sql)
                .unwrap()
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(
            strings("SELECT name FROM pages ORDER BY id"),
            ["Café", "Noël", "Noe\u{308}l", "Home"]
        );
        assert_eq!(
            strings("SELECT target FROM links ORDER BY target"),
            ["Amélie", "Café"]
        );
        assert_eq!(strings("SELECT name FROM redirects"), ["Old Café"]);
    }

    #[test]
    fn a_database_from_before_backlinks_by_name_gains_them_from_its_current_revisions() {
        let mut conn = Connection::open_in_memory().unwrap();
        for migration in MIGRATIONS.iter().filter(|m| m.version <= 19) {
            conn.execute_batch(migration.sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 19).unwrap();
        // Home's first revision linked to Old, its second (current) to New and to itself; Other's
        // to New.
        conn.execute_batch(
            "INSERT INTO pages (id, name, current_rev) VALUES (1, 'Home', 2), (2, 'Other', 1);
             INSERT INTO revisions (id, page_id, rev, author, time, comment, size, size_delta, body)
                 VALUES (1, 1, 1, 'a', 0, '', 0, 0, ''), (2, 1, 2, 'a', 0, '', 0, 0, ''),
                        (3, 2, 1, 'a', 0, '', 0, 0, '');
             INSERT INTO links (revision_id, target) VALUES
                 (1, 'Old'), (2, 'New'), (2, 'Home'), (3, 'New');",
        )
        .unwrap();
        migrate(&mut conn, Path::new(":memory:")).unwrap();
        let rows: Vec<(String, String)> = conn
            .prepare("SELECT target, source FROM backlinks ORDER BY target, source")
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected = [
            ("New".to_owned(), "Home".to_owned()),
            ("New".to_owned(), "Other".to_owned()),
        ];
        assert_eq!(rows, expected);
    }

    #[test]
    fn a_foreign_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE accounts (id INTEGER)")
            .unwrap();
        let err = migrate(&mut conn, Path::new("other.db")).unwrap_err();
        assert!(
            matches!(err, StorageError::ForeignDatabase { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_foreign_application_id_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "application_id", 42).unwrap();
        let err = migrate(&mut conn, Path::new("other.db")).unwrap_err();
        assert!(
            matches!(err, StorageError::ForeignDatabase { .. }),
            "{err:?}"
        );
    }
}
