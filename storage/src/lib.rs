//! quire's storage: pages and their revisions in one SQLite file (the default) or a PostgreSQL
//! database that several nodes share ([`Storage::open_postgres`]), the wiki's source of truth.
//! Every operation is written once, against the seam in `db` (see its module doc).
//!
//! Every save appends a revision (author, time, comment, size, text) numbered 1, 2, 3… per page; nothing
//! is overwritten. Anything derived — a search index, rendered HTML, the link graph — can be rebuilt from
//! here. This crate knows nothing of HTTP, markup or themes, and treats page names as opaque UTF-8 (the app
//! validates them).
//!
//! On SQLite it is built for the CGI case first: every request is a fresh process that opens the database, reads or
//! writes, and exits, and many may do so at once. Hence WAL mode (readers never wait for the writer), a
//! busy timeout (writers queue instead of failing; [`StorageError::Busy`] after 10 s), every write in a
//! `BEGIN IMMEDIATE` transaction (no lost updates, no deadlocking lock upgrades), and migrations that take
//! the write lock only when there is something to migrate (see [`schema`](crate#schema)). A threaded
//! server shares one [`Storage`] (it is `Send + Sync`) whose small connection pool lets reads run in
//! parallel.
//!
//! # Schema
//!
//! The schema is versioned in `PRAGMA user_version` and extended by append-only migrations; a database
//! from a newer build is refused ([`StorageError::NewerSchema`]) rather than misread.
//!
//! ```
//! use storage::{Save, SaveOutcome, Storage};
//!
//! let storage = Storage::open_in_memory()?;
//! let outcome = storage.save(Save {
//!     page: "FrontPage",
//!     text: "Welcome!",
//!     author: "alice",
//!     comment: "first",
//!     base_rev: None,
//!     time: None,
//! })?;
//! assert_eq!(outcome, SaveOutcome::Saved { rev: 1 });
//! assert_eq!(storage.current("FrontPage")?.map(|r| r.text), Some("Welcome!".to_owned()));
//! # Ok::<(), storage::StorageError>(())
//! ```

pub mod api_tokens;
mod audit;
mod backlinks;
mod backup;
mod blame;
mod blobs;
mod changes;
mod compact;
mod copy;
mod db;
mod drafts;
mod error;
mod files;
mod import;
mod lifecycle;
mod line_diff;
mod link_names;
mod links;
mod listen;
mod name_globs;
mod outbox;
mod page_acls;
mod page_groups;
mod pool;
mod recent;
mod render_cache;
mod revision;
mod save;
mod schema;
mod schema_pg;
mod secrets;
pub mod sessions;
pub mod spam;
#[cfg(feature = "testing")]
pub mod testing;
pub mod users;
mod varint;
mod verify;
mod watches;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

pub use crate::api_tokens::{ApiToken, ApiTokenError, CreatedApiToken, NewApiToken, TokenScope};
pub use crate::audit::{AuditEntry, AuditKind, AuditQuery, AuditRetention, NewAuditEntry};
pub use crate::backup::{verify_copy, BackupProgress, BackupStats, CopyFacts};
pub use crate::blame::BlameLine;
pub use crate::blobs::{BlobReader, Thumbnail, CHUNK_SIZE};
pub use crate::copy::{CopyProgress, CopyReport};
pub use crate::db::{shown_url as shown_database_url, DbError, Engine};
pub use crate::drafts::{
    Draft, DraftOutcome, NewDraft, DRAFT_LIFETIME_SECS, DRAFT_PURGE_BATCH, MAX_DRAFTS_PER_ACCOUNT,
};
pub use crate::error::{StorageError, WriteRefusal};
pub use crate::files::{Attachment, FileChange, FileContent, FileFacts, FileVersion, NewUpload};
pub use crate::import::{ImportOutcome, ImportedRevision};
pub use crate::lifecycle::{PageEvent, PageInfo, Rename, RenameOutcome};
pub use crate::links::WantedFile;
pub use crate::listen::ChangeListener;
pub use crate::outbox::{
    retry_wait, Letter, QueuedMail, Retry, DIGEST_SECS, FIRST_RETRY_SECS, LEASE_SECS, MAX_ATTEMPTS,
    MAX_RETRY_SECS, STALE_SECS,
};
pub use crate::page_acls::AclLines;
pub use crate::page_groups::PageGroups;
pub use crate::recent::RecentQuery;
pub use crate::render_cache::{CachedHtml, RenderTicket};
pub use crate::revision::{
    Change, ChangeKind, ChangedPage, LoggedRevision, Revision, RevisionMeta,
};
pub use crate::save::{Save, SaveOutcome};
pub use crate::schema::SCHEMA_VERSION;
pub use crate::spam::{BadContentList, RateLimit, RateOutcome};
pub use crate::users::{
    FailedLogin, ImportUserOutcome, ImportedUser, Invite, LoginAttempt, LoginOutcome, NewUser,
    PasswordState, Role, User, UserError, UserPrefs,
};
pub use crate::verify::{Finding, FindingKind, RecordedLinks};
pub use crate::watches::{Watch, WatchKind, WatchSettings, FEED_REACH};

use crate::db::{Param, Sql, TxKind};
use crate::error::doing;
use crate::pool::Pool;
use crate::revision::{meta_from_row, text_columns, text_row, to_u64, Loaded, META_COLUMNS};

/// Settings for [`Storage::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// How long an operation waits for another process's lock before failing with
    /// [`StorageError::Busy`]. Default 10 s: long enough to ride out a burst of saves, short enough that
    /// a web server's own timeout has not fired yet.
    pub busy_timeout: Duration,
    /// When a commit reaches the disk. Default [`Durability::EveryCommit`].
    pub durability: Durability,
}

/// When a committed write is on the disk, safe from a power loss. Either way a committed write
/// survives the process crashing (it is in the OS's hands) and the file is never corrupted (WAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// At every commit (`synchronous=FULL`): when a save returns, it survives a power loss too.
    /// Costs an fsync per write, a few milliseconds; what every write of the wiki uses.
    #[default]
    EveryCommit,
    /// At checkpoints only (`synchronous=NORMAL`), and at [`Storage::sync`]: for bulk work that can
    /// be run again, such as an import, where an fsync per page would be most of the time.
    Bulk,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            busy_timeout: Duration::from_secs(10),
            durability: Durability::EveryCommit,
        }
    }
}

impl Options {
    /// The defaults with another busy timeout.
    pub fn busy_timeout(mut self, timeout: Duration) -> Options {
        self.busy_timeout = timeout;
        self
    }

    /// With another [`Durability`].
    pub fn durability(mut self, durability: Durability) -> Options {
        self.durability = durability;
        self
    }
}

/// A handle on the wiki's database. Cheap to share behind an `Arc`; every method may be called from any
/// thread.
#[derive(Debug)]
pub struct Storage {
    /// Shared with the [`BlobReader`]s handed out, which outlive the borrow of the storage.
    pool: Arc<Pool>,
}

impl Storage {
    /// Opens the database at `path`, creating the file if it is missing and bringing its schema up to date.
    ///
    /// Refuses, with a message saying how to fix it, a file that is not an SQLite database
    /// ([`StorageError::NotADatabase`]), a damaged one ([`StorageError::Corrupt`]), another program's
    /// database ([`StorageError::ForeignDatabase`]) and one written by a newer quire
    /// ([`StorageError::NewerSchema`]).
    pub fn open(path: &Path) -> Result<Storage, StorageError> {
        Storage::open_with(path, &Options::default())
    }

    /// [`Storage::open`] with settings other than the defaults.
    pub fn open_with(path: &Path, options: &Options) -> Result<Storage, StorageError> {
        let mut conn = pool::open_configured(path, options)?;
        schema::migrate(&mut conn, path)?;
        Ok(Storage {
            pool: Arc::new(Pool::file(path, options, conn)),
        })
    }

    /// Opens the PostgreSQL database `url` names (`postgres://user@host/db`, or libpq's
    /// `key=value` form), bringing its schema up to date under a lock that other nodes starting
    /// at once wait for. Uploads are spooled in `spool_dir` (the node's data directory) before
    /// they go in. At most `max_connections` are open at once.
    ///
    /// Refuses a database of another program and one written by a newer quire, as
    /// [`Storage::open`] does.
    pub fn open_postgres(
        url: &str,
        spool_dir: &Path,
        max_connections: usize,
    ) -> Result<Storage, StorageError> {
        let target =
            db::Target::parse(url).map_err(|reason| StorageError::BadDatabaseUrl { reason })?;
        Storage::open_postgres_target(target, url, spool_dir, max_connections)
    }

    /// [`Storage::open_postgres`] once the URL is read: the pool, and the schema brought up to date.
    fn open_postgres_target(
        target: db::Target,
        url: &str,
        spool_dir: &Path,
        max_connections: usize,
    ) -> Result<Storage, StorageError> {
        let shown = db::shown_url(url);
        let pool = db::PgPool::new(target, max_connections, Duration::from_secs(10));
        let pool = Pool::postgres(&shown, spool_dir, pool);
        {
            let mut conn = pool.get()?;
            schema_pg::migrate(&mut conn, &shown)?;
        }
        Ok(Storage {
            pool: Arc::new(pool),
        })
    }

    /// A database of its own on the PostgreSQL server `url` names, for tests: a new schema there,
    /// opened as [`Storage::open_postgres`] opens a database. Tests of many wikis share one
    /// server this way (the `testing` feature).
    #[cfg(feature = "testing")]
    pub fn open_postgres_for_tests(url: &str) -> Result<Storage, StorageError> {
        let target =
            db::Target::parse(url).map_err(|reason| StorageError::BadDatabaseUrl { reason })?;
        let target = target
            .in_new_schema()
            .map_err(|err| StorageError::database("making a test schema", err))?;
        Storage::open_postgres_target(target, url, &std::env::temp_dir(), 8)
    }

    /// Which engine holds the wiki.
    pub fn engine(&self) -> Engine {
        self.pool.engine()
    }

    /// A fresh, private database in memory, for tests. Operations are serialised on its one connection.
    pub fn open_in_memory() -> Result<Storage, StorageError> {
        let path = Path::new(":memory:");
        let mut conn = Connection::open_in_memory()
            .map_err(|e| StorageError::opening(path, "opening an in-memory database", e))?;
        pool::configure(
            &conn,
            path,
            &Options::default().busy_timeout(Duration::ZERO),
        )?;
        schema::migrate(&mut conn, path)?;
        Ok(Storage {
            pool: Arc::new(Pool::memory(conn)),
        })
    }

    /// Puts every committed write on the disk, whatever the [`Durability`]: a checkpoint of the
    /// write-ahead log into the database file, both synced. The end of bulk work calls it. On
    /// PostgreSQL there is nothing to do: the server made every commit durable before it answered.
    pub fn sync(&self) -> Result<(), StorageError> {
        let pooled = self.pool.get()?;
        if pooled.engine() == Engine::Postgres {
            return Ok(());
        }
        let conn = pooled.sqlite()?;
        conn.query_row("PRAGMA wal_checkpoint(FULL)", [], |_| Ok(()))
            .map_err(doing("syncing the database to disk"))
    }

    /// How `synchronous` is set on this storage's connections (SQLite's number: 1 NORMAL, 2 FULL),
    /// for tests that check the durability promise. SQLite only
    /// ([`StorageError::NotOnThisEngine`] on PostgreSQL).
    pub fn synchronous_level(&self) -> Result<u8, StorageError> {
        let pooled = self.pool.get()?;
        if pooled.engine() == Engine::Postgres {
            return Err(StorageError::NotOnThisEngine {
                what: "SQLite's synchronous setting",
                engine: Engine::Postgres,
            });
        }
        let conn = pooled.sqlite()?;
        conn.query_row("PRAGMA synchronous", [], |row| row.get(0))
            .map_err(doing("reading the synchronous setting"))
    }

    /// The database file's path (`:memory:` for an in-memory database).
    pub fn path(&self) -> &Path {
        self.pool.path()
    }

    /// The newest revision of a page, or `None` if there is no such page.
    pub fn current(&self, name: &str) -> Result<Option<Revision>, StorageError> {
        let mut conn = self.pool.get()?;
        Ok(load_current(&mut *conn, name)?.map(|loaded| loaded.revision))
    }

    /// A given revision of a page, or `None` if the page or that revision does not exist.
    pub fn revision(&self, name: &str, rev: u64) -> Result<Option<Revision>, StorageError> {
        let Ok(rev) = i64::try_from(rev) else {
            return Ok(None);
        };
        let mut conn = self.pool.get()?;
        load_revision(
            &mut *conn,
            "FROM pages p
             JOIN revisions r ON r.page_id = p.id
             WHERE p.name = ?1 AND r.rev = ?2",
            &[&name, &rev],
        )
        .map(|found| found.map(|loaded| loaded.revision))
    }

    /// Whether a page exists (a deleted page does not).
    pub fn exists(&self, name: &str) -> Result<bool, StorageError> {
        self.pool
            .get()?
            .query_one(PAGE_EXISTS, &[&name], |row| row.get(0))
            .map_err(doing("checking whether a page exists"))
    }

    /// Which of `names` exist, in one go (a rendered page asks this for all its links). Names are
    /// returned exactly as stored; duplicates in `names` are fine.
    pub fn existing(&self, names: &[&str]) -> Result<HashSet<String>, StorageError> {
        let mut found = HashSet::new();
        if names.is_empty() {
            return Ok(found);
        }
        let mut conn = self.pool.get()?;
        if conn.engine() == Engine::Postgres {
            // A round trip per statement: names go in padded batches (`db::BATCH_SIZES`).
            for (size, padded) in db::padded_batches(names) {
                let bound: Vec<&dyn db::Param> = padded
                    .into_iter()
                    .map(|name| name as &dyn db::Param)
                    .collect();
                conn.query_each(&existing_sql(size), &bound, &mut |row| {
                    found.insert(row.get(0)?);
                    Ok(true)
                })
                .map_err(doing("looking up pages"))?;
            }
            return Ok(found);
        }
        // In process, a prepared lookup per name costs less than building a list. One read
        // transaction: a consistent snapshot, and one lock acquisition instead of one per name.
        let mut tx = conn
            .transaction(TxKind::Read)
            .map_err(doing("starting to look up pages"))?;
        for &name in names {
            let exists: bool = tx
                .query_one(PAGE_EXISTS, &[&name], |row| row.get(0))
                .map_err(doing("looking up pages"))?;
            if exists {
                found.insert(name.to_owned());
            }
        }
        tx.commit().map_err(doing("finishing a page lookup"))?;
        Ok(found)
    }

    /// Stores a new revision, unless the text is unchanged or the page moved on since `save.base_rev`.
    /// Atomic across threads and processes.
    ///
    /// The new revision's outgoing links stay unknown (the page is listed by
    /// [`pages_missing_links`](Self::pages_missing_links)); the wiki saves with
    /// [`save_with_links`](Self::save_with_links).
    pub fn save(&self, save: Save<'_>) -> Result<SaveOutcome, StorageError> {
        save::save(&mut *self.pool.get()?, &save, None, None)
    }

    /// [`save`](Self::save), recording in the same transaction the wiki pages the new text links to
    /// (distinct normalised page names, as the app's markup reports them). Creating a page also drops
    /// the cached HTML of the pages linking to it (see [`cached_html`](Self::cached_html)). The text's
    /// links to files are recorded as none; the wiki saves with
    /// [`save_with_links_and_files`](Self::save_with_links_and_files).
    pub fn save_with_links(
        &self,
        save: Save<'_>,
        links: &[&str],
    ) -> Result<SaveOutcome, StorageError> {
        self.save_with_links_and_files(save, links, &[])
    }

    /// [`save_with_links`](Self::save_with_links), recording also the files the new text links to, as
    /// (page name, file name) pairs: what [`file_backlinks`](Self::file_backlinks) and
    /// [`wanted_files`](Self::wanted_files) follow, and what drops the page's cached HTML when one of
    /// those files gets a new version.
    pub fn save_with_links_and_files(
        &self,
        save: Save<'_>,
        links: &[&str],
        files: &[(&str, &str)],
    ) -> Result<SaveOutcome, StorageError> {
        save::save(&mut *self.pool.get()?, &save, Some((links, files)), None)
    }

    /// [`save_with_links_and_files`](Self::save_with_links_and_files) of `account`'s edit, which
    /// also removes the account's draft of the page ([`Storage::draft`]) in the same transaction
    /// when the text is saved or is the page's text already. A conflict keeps the draft, as does
    /// any failure: the text it holds is still unsaved.
    pub fn save_with_links_files_and_draft(
        &self,
        save: Save<'_>,
        links: &[&str],
        files: &[(&str, &str)],
        account: u64,
    ) -> Result<SaveOutcome, StorageError> {
        save::save(
            &mut *self.pool.get()?,
            &save,
            Some((links, files)),
            Some(account),
        )
    }

    /// Records the outgoing links of revision `rev` of `page`, if it is still the current one (returns
    /// whether it was): how the app fills in links for pages saved without them. Records no links to
    /// files; see [`set_links_and_files`](Self::set_links_and_files).
    pub fn set_links(&self, page: &str, rev: u64, links: &[&str]) -> Result<bool, StorageError> {
        self.set_links_and_files(page, rev, links, &[])
    }

    /// [`set_links`](Self::set_links) with the revision's links to files, as (page name, file name)
    /// pairs. A database from before attachments lists every page in
    /// [`pages_missing_links`](Self::pages_missing_links) once, so that these are filled in.
    pub fn set_links_and_files(
        &self,
        page: &str,
        rev: u64,
        links: &[&str],
        files: &[(&str, &str)],
    ) -> Result<bool, StorageError> {
        let Ok(rev) = i64::try_from(rev) else {
            return Ok(false);
        };
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .transaction(TxKind::Write)
            .map_err(doing("starting to record links"))?;
        let found: Option<(i64, i64)> = tx
            .query_opt(
                "SELECT p.id, r.id FROM pages p
                 JOIN revisions r ON r.page_id = p.id AND r.rev = p.current_rev
                 WHERE p.name = ?1 AND r.rev = ?2",
                &[&page, &rev],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(doing("recording links"))?;
        let Some((page_id, revision_id)) = found else {
            return Ok(false);
        };
        links::record(&mut tx, page_id, revision_id, rev, links, files)?;
        tx.commit().map_err(doing("committing links"))?;
        Ok(true)
    }

    /// Up to `limit` current revisions whose outgoing links are not recorded (pages from before the
    /// link graph existed, or saved with [`save`](Self::save)), oldest page first. Cheap when there are
    /// none, as on every open of an up-to-date wiki: a partial index holds exactly these pages, and the
    /// query is pinned to it (`INDEXED BY`; ordering by name would make SQLite scan every page).
    pub fn pages_missing_links(&self, limit: usize) -> Result<Vec<Revision>, StorageError> {
        let mut conn = self.pool.get()?;
        let engine = conn.engine();
        let pinned = match engine {
            Engine::Sqlite => "INDEXED BY pages_links_stale",
            Engine::Postgres => "",
        };
        let rows = conn
            .query_map(
                &format!(
                    "SELECT {META_COLUMNS}, {} FROM pages p {pinned}
                     JOIN revisions r ON r.page_id = p.id AND r.rev = p.current_rev
                     WHERE p.links_rev <> p.current_rev
                     ORDER BY p.id
                     LIMIT ?1",
                    text_columns(engine)
                ),
                &[&sql_count(limit)],
                text_row,
            )
            .map_err(doing("finding pages without links"))?;
        rows.into_iter()
            .map(|row| Ok(row.decode(&mut *conn)?.revision))
            .collect()
    }

    /// The pages whose current revision links to `page` ("what links here"), by name; the page itself
    /// is left out. Reads them all: for a page of them, see [`backlinks_from`](Self::backlinks_from).
    pub fn backlinks(&self, page: &str) -> Result<Vec<String>, StorageError> {
        backlinks::all(&mut *self.pool.get()?, page)
    }

    /// The next `limit` pages whose current revision links to `page` after the name `after`
    /// (`None`: from the first), by name; the page itself is left out. One range scan of a table
    /// kept by every write (see `backlinks`): its cost is `limit`'s, not the number of backlinks.
    pub fn backlinks_from(
        &self,
        page: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        backlinks::backlinks_from(&mut *self.pool.get()?, page, after, limit)
    }

    /// Pages no other page's current revision links to, by name. The app leaves out its front page,
    /// which needs no link.
    pub fn orphans(&self) -> Result<Vec<String>, StorageError> {
        let mut orphans = Vec::new();
        loop {
            let batch = self.orphans_from(orphans.last().map(String::as_str), 1000)?;
            if batch.is_empty() {
                return Ok(orphans);
            }
            orphans.extend(batch);
        }
    }

    /// The next `limit` orphans after the name `after` (`None`: from the first), by name: a page of
    /// `/+orphans` is one range scan of an index kept by every write (see `link_names`).
    pub fn orphans_from(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        link_names::orphans_from(&mut *self.pool.get()?, after, limit)
    }

    /// Pages that do not exist but current revisions link to, each with how many pages link to it;
    /// most wanted first, then by name. Reads every wanted name: for a page of a listing, see
    /// [`wanted_from`](Self::wanted_from).
    pub fn wanted(&self) -> Result<Vec<(String, u64)>, StorageError> {
        let mut wanted = Vec::new();
        loop {
            let batch = self.wanted_from(
                wanted.last().map(|(name, _): &(String, u64)| name.as_str()),
                1000,
            )?;
            if batch.is_empty() {
                break;
            }
            wanted.extend(batch);
        }
        wanted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(wanted)
    }

    /// The next `limit` wanted pages after the name `after` (`None`: from the first), by name, each
    /// with how many pages link to it: one range scan of an index kept by every write (see
    /// `link_names`).
    pub fn wanted_from(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, u64)>, StorageError> {
        link_names::wanted_from(&mut *self.pool.get()?, after, limit)
    }

    /// Builds the names behind orphans and wanted pages again from the link graph (mends a
    /// [`FindingKind::StaleLinkNames`]).
    pub fn rebuild_link_names(&self) -> Result<(), StorageError> {
        self.rebuild_derived(|tx| link_names::rebuild(tx), "rebuilding the link targets")
    }

    /// Builds the backlinks by name again from the link graph (mends a
    /// [`FindingKind::StaleBacklinks`]).
    pub fn rebuild_backlinks(&self) -> Result<(), StorageError> {
        self.rebuild_derived(|tx| backlinks::rebuild(tx), "rebuilding the backlinks")
    }

    /// Sets each page's newest change from its revisions again (mends a
    /// [`FindingKind::StaleLastChange`]).
    pub fn rebuild_last_changes(&self) -> Result<(), StorageError> {
        self.rebuild_derived(
            |tx| recent::rebuild_last_changes(tx),
            "setting the pages' newest changes",
        )
    }

    /// Runs `rebuild` (derived data filled again from the source of truth) in one write transaction.
    fn rebuild_derived(
        &self,
        rebuild: impl FnOnce(&mut db::Tx<'_>) -> Result<(), db::DbError>,
        doing_what: &'static str,
    ) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.transaction(TxKind::Write).map_err(doing(doing_what))?;
        rebuild(&mut tx).map_err(doing(doing_what))?;
        tx.commit().map_err(doing(doing_what))
    }

    /// The pages whose current revision links to file `name` of page `page`, by name; the page itself
    /// is listed when it links its own file.
    pub fn file_backlinks(&self, page: &str, name: &str) -> Result<Vec<String>, StorageError> {
        links::file_backlinks(&mut *self.pool.get()?, page, name)
    }

    /// Files that current revisions link to but that do not exist (or are deleted, or whose page is),
    /// each with how many pages link to it; most wanted first, then by page and name.
    pub fn wanted_files(&self) -> Result<Vec<WantedFile>, StorageError> {
        links::wanted_files(&mut *self.pool.get()?)
    }

    /// The cached HTML of revision `rev` of `page` rendered for `variant` (whatever else the HTML
    /// depends on: mount prefix, renderer version and settings), or a ticket to store it once rendered.
    /// See the `render_cache` module for how entries stay right when linked pages come and go.
    pub fn cached_html(
        &self,
        page: &str,
        rev: u64,
        variant: &str,
    ) -> Result<CachedHtml, StorageError> {
        render_cache::lookup(&mut *self.pool.get()?, page, rev, variant)
    }

    /// Stores HTML rendered after a [`CachedHtml::Miss`]. Returns whether it was stored: not if the
    /// revision is no longer current, its links are not recorded, or a page was created since the
    /// lookup (the HTML may show that link wrongly).
    pub fn store_html(
        &self,
        ticket: &RenderTicket,
        variant: &str,
        html: &str,
    ) -> Result<bool, StorageError> {
        render_cache::store(&mut *self.pool.get()?, ticket, variant, html)
    }

    /// How many rendered pages the cache holds. For tests (the `testing` feature).
    #[cfg(feature = "testing")]
    pub fn cached_html_count(&self) -> Result<u64, StorageError> {
        render_cache::len(&mut *self.pool.get()?)
    }

    /// A page's revisions, newest first, without their texts. Empty if the page does not exist.
    pub fn history(
        &self,
        name: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<RevisionMeta>, StorageError> {
        let rows = self
            .pool
            .get()?
            .query_map(
                &format!(
                    "SELECT {META_COLUMNS} FROM pages p
                     JOIN revisions r ON r.page_id = p.id
                     WHERE p.name = ?1
                     ORDER BY r.rev DESC
                     LIMIT ?2 OFFSET ?3"
                ),
                &[&name, &sql_count(limit), &sql_count(offset)],
                meta_from_row,
            )
            .map_err(doing("reading a page history"))?;
        rows.into_iter().map(revision::RawMeta::check).collect()
    }

    /// How many revisions a page has (0 if it does not exist). For tests (the `testing` feature).
    #[cfg(feature = "testing")]
    pub fn revision_count(&self, name: &str) -> Result<u64, StorageError> {
        let count: i64 = self
            .pool
            .get()?
            .query_one(
                "SELECT COUNT(*) FROM revisions r JOIN pages p ON r.page_id = p.id WHERE p.name = ?1",
                &[&name],
                |row| row.get(0),
            )
            .map_err(doing("counting revisions"))?;
        to_u64("revision count", name, count)
    }

    /// How each revision of a page is stored (`current`, `rdelta`, `deflate`, `plain`), by
    /// revision number. For tests of compact history (the `testing` feature).
    #[cfg(feature = "testing")]
    pub fn revision_formats(&self, name: &str) -> Result<Vec<String>, StorageError> {
        self.pool
            .get()?
            .query_map(
                "SELECT r.format FROM revisions r JOIN pages p ON p.id = r.page_id
                 WHERE p.name = ?1 ORDER BY r.rev",
                &[&name],
                |row| row.get(0),
            )
            .map_err(doing("reading revision formats"))
    }

    /// Up to `limit` names of live pages that start with `prefix`, in name order, after the name
    /// `after` (`None`: from the first): the all-pages index, a page of it at a time. One range
    /// scan of an index by name, whatever the wiki's size.
    pub fn page_names_from(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        // Names compare as UTF-8 bytes (SQLite's BINARY): every name starting with `prefix` sorts
        // at or after it and before it followed by the last code point.
        let end = format!("{prefix}\u{10FFFF}");
        let start = match after {
            Some(after) if after >= prefix => after,
            _ => prefix,
        };
        let mut conn = self.pool.get()?;
        let sql = match conn.engine() {
            Engine::Sqlite => PAGE_NAMES_FROM,
            Engine::Postgres => PAGE_NAMES_FROM_PG,
        };
        conn.query_map(sql, &[&start, &end, &after, &sql_count(limit)], |row| {
            row.get(0)
        })
        .map_err(doing("listing pages"))
    }

    /// All page names, sorted by Unicode code point.
    pub fn page_names(&self) -> Result<Vec<String>, StorageError> {
        self.pool
            .get()?
            .query_map(
                "SELECT name FROM pages WHERE deleted = 0 ORDER BY name",
                &[],
                |row| row.get(0),
            )
            .map_err(doing("listing pages"))
    }

    /// Every page that is not deleted, with the time of its current revision, sorted by name: what a
    /// sitemap lists. Reads no text, only the page and revision rows.
    pub fn page_times(&self) -> Result<Vec<(String, i64)>, StorageError> {
        self.pool
            .get()?
            .query_map(
                "SELECT p.name, r.time FROM pages p
                 JOIN revisions r ON r.page_id = p.id AND r.rev = p.current_rev
                 WHERE p.deleted = 0 ORDER BY p.name",
                &[],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(doing("listing pages and their times"))
    }

    /// The global id of the newest revision (0 for an empty wiki). Ids grow with every save across
    /// the whole wiki and are never reused, so "everything after id N" is how derived data (the search
    /// index) catches up.
    pub fn last_revision_id(&self) -> Result<u64, StorageError> {
        let id: i64 = self
            .pool
            .get()?
            .query_one("SELECT COALESCE(MAX(id), 0) FROM revisions", &[], |row| {
                row.get(0)
            })
            .map_err(doing("reading the last revision id"))?;
        to_u64("revision id", "", id)
    }

    /// Up to `limit` revisions with a global id above `after`, oldest first, with their texts: the
    /// revision log a derived index replays. Saves commit one at a time under the write lock
    /// (SQLite's, or PostgreSQL's advisory lock, taken before a revision's id is drawn), so once id
    /// N is visible every id below it is too; nothing is skipped by reading in id order.
    pub fn revisions_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<LoggedRevision>, StorageError> {
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        logged_revisions(
            &mut *self.pool.get()?,
            "FROM revisions r
             JOIN pages p ON r.page_id = p.id
             WHERE r.id > ?1
             ORDER BY r.id
             LIMIT ?2",
            &[&after, &sql_count(limit)],
            "reading the revision log",
        )
    }

    /// The pages the revisions with a global id above `after` touched: each page as it is called
    /// now, with the name a rename left (if it was a rename), deduplicated. `None` when more than
    /// `limit` revisions follow: a caller then assumes any page may have changed. For a reader of a
    /// derived index that is behind the log (the search index, up to its mark): what it may still
    /// hold older text of, or under an older name.
    pub fn pages_changed_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Option<Vec<ChangedPage>>, StorageError> {
        const DOING: &str = "reading the pages changed lately";
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let mut pages = self
            .pool
            .get()?
            .query_map(
                "SELECT p.name, r.renamed_from FROM revisions r
                 JOIN pages p ON r.page_id = p.id
                 WHERE r.id > ?1
                 ORDER BY r.id
                 LIMIT ?2",
                &[&after, &sql_count(limit.saturating_add(1))],
                |row| {
                    Ok(ChangedPage {
                        name: row.get(0)?,
                        left: row.get(1)?,
                    })
                },
            )
            .map_err(doing(DOING))?;
        if pages.len() > limit {
            return Ok(None);
        }
        pages.sort();
        pages.dedup();
        Ok(Some(pages))
    }

    /// Up to `limit` pages' current revisions, by name, starting after the page named `after` (`None`:
    /// from the first): a full pass over the wiki in pages of bounded size, for a rebuild.
    pub fn current_revisions(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LoggedRevision>, StorageError> {
        logged_revisions(
            &mut *self.pool.get()?,
            "FROM pages p
             JOIN revisions r ON r.page_id = p.id AND r.rev = p.current_rev
             WHERE (CAST(?1 AS TEXT) IS NULL OR p.name > ?1) AND p.deleted = 0
             ORDER BY p.name
             LIMIT ?2",
            &[&after, &sql_count(limit)],
            "reading current revisions",
        )
    }

    /// How many pages the wiki has (deleted ones do not count).
    pub fn page_count(&self) -> Result<u64, StorageError> {
        let count: i64 = self
            .pool
            .get()?
            .query_one("SELECT COUNT(*) FROM pages WHERE deleted = 0", &[], |row| {
                row.get(0)
            })
            .map_err(doing("counting pages"))?;
        to_u64("page count", "", count)
    }

    /// What the app must do before the wiki answers, read in one statement: an open of an
    /// up-to-date wiki, which a CGI process makes for every request, reads nothing else. The
    /// links part is [`pages_missing_links`](Self::pages_missing_links)'s partial index, probed
    /// for one row.
    pub fn setup_needed(&self) -> Result<SetupNeeded, StorageError> {
        let mut conn = self.pool.get()?;
        let sql = match conn.engine() {
            Engine::Sqlite => {
                "SELECT NOT EXISTS (SELECT 1 FROM pages),
                        EXISTS (SELECT 1 FROM pages INDEXED BY pages_links_stale
                                WHERE links_rev <> current_rev)"
            }
            // The partial index of the same name is there; PostgreSQL's planner picks it.
            Engine::Postgres => {
                "SELECT NOT EXISTS (SELECT 1 FROM pages),
                        EXISTS (SELECT 1 FROM pages WHERE links_rev <> current_rev)"
            }
        };
        conn.query_one(sql, &[], |row| {
            Ok(SetupNeeded {
                no_pages: row.get(0)?,
                links_missing: row.get(1)?,
            })
        })
        .map_err(doing("checking whether the wiki needs setting up"))
    }

    /// Whether the wiki has no pages at all (the app then seeds its help pages).
    pub fn is_empty(&self) -> Result<bool, StorageError> {
        self.pool
            .get()?
            .query_one("SELECT NOT EXISTS (SELECT 1 FROM pages)", &[], |row| {
                row.get(0)
            })
            .map_err(doing("checking whether the wiki is empty"))
    }
}

/// What [`Storage::setup_needed`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetupNeeded {
    /// The wiki has no pages at all: the app seeds its help pages.
    pub no_pages: bool,
    /// Some page's current revision has no recorded links
    /// ([`Storage::pages_missing_links`]): the app fills them in.
    pub links_missing: bool,
}

/// The newest revision of a page that exists (not deleted), inside whatever transaction `conn` is in.
pub(crate) fn load_current(
    conn: &mut impl Sql,
    name: &str,
) -> Result<Option<Loaded>, StorageError> {
    load_revision(
        conn,
        "FROM pages p
         JOIN revisions r ON r.page_id = p.id AND r.rev = p.current_rev
         WHERE p.name = ?1 AND p.deleted = 0",
        &[&name],
    )
}

/// The revisions `from` (a query's `FROM`, `WHERE`, `ORDER BY` and `LIMIT` over `revisions r
/// JOIN pages p`) selects, decoded, with their ids: a page of the revision log. One read
/// transaction, so each delta is resolved against the revisions as they were when it was read.
fn logged_revisions(
    conn: &mut db::Conn,
    from: &str,
    params: &[&dyn Param],
    what: &'static str,
) -> Result<Vec<LoggedRevision>, StorageError> {
    let mut tx = conn.transaction(TxKind::Read).map_err(doing(what))?;
    let sql = format!(
        "SELECT {META_COLUMNS}, {} {from}",
        text_columns(tx.engine())
    );
    let rows = tx.query_map(&sql, params, text_row).map_err(doing(what))?;
    let logged = rows
        .into_iter()
        .map(|row| {
            let loaded = row.decode(&mut tx)?;
            Ok(LoggedRevision {
                id: to_u64("revision id", &loaded.revision.meta.page, loaded.id)?,
                revision: loaded.revision,
            })
        })
        .collect::<Result<_, StorageError>>()?;
    tx.commit().map_err(doing(what))?;
    Ok(logged)
}

/// The one revision `from` (a query's `FROM` and `WHERE` over `revisions r JOIN pages p`)
/// selects, decoded; `None` when there is none.
pub(crate) fn load_revision(
    conn: &mut impl Sql,
    from: &str,
    params: &[&dyn Param],
) -> Result<Option<Loaded>, StorageError> {
    let sql = format!(
        "SELECT {META_COLUMNS}, {} {from}",
        text_columns(conn.engine())
    );
    let row = conn
        .query_opt(&sql, params, text_row)
        .map_err(doing("reading a revision"))?;
    row.map(|row| row.decode(conn)).transpose()
}

/// Whether a live page of the name `?1` exists.
const PAGE_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM pages WHERE name = ?1 AND deleted = 0)";

/// Which of `names` names (`?1..?names`) are live pages: [`Storage::existing`]'s statement on
/// PostgreSQL.
fn existing_sql(names: usize) -> String {
    let list = (1..=names)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!("SELECT DISTINCT name FROM pages WHERE deleted = 0 AND name IN ({list})")
}

/// Live page names in `?1..?2` after `?3`, by name: a range of the index that holds each page's name
/// and deleted flag, read from the index alone.
pub(crate) const PAGE_NAMES_FROM: &str = "SELECT name FROM pages INDEXED BY pages_listed_by_name
     WHERE deleted = 0 AND name >= ?1 AND name < ?2 AND (?3 IS NULL OR name > ?3)
     ORDER BY name LIMIT ?4";

/// [`PAGE_NAMES_FROM`] on PostgreSQL, which has the same index but no `INDEXED BY` (and finds no
/// type for a parameter that is only tested for NULL without the cast).
const PAGE_NAMES_FROM_PG: &str = "SELECT name FROM pages
     WHERE deleted = 0 AND name >= ?1 AND name < ?2 AND (CAST(?3 AS TEXT) IS NULL OR name > ?3)
     ORDER BY name LIMIT ?4";

/// LIMIT and OFFSET as SQLite takes them; anything beyond `i64::MAX` means "all".
pub(crate) fn sql_count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
pub(crate) use crate::db::testing::each_storage;
