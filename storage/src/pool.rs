//! A small pool of database connections, handed out as the seam's [`Conn`].
//!
//! A `rusqlite::Connection` may move between threads but not be shared, so a threaded server (FastCGI,
//! HTTP) keeps idle connections in a `Mutex<Vec<_>>`, takes one per operation and puts it back afterwards.
//! When the pool is empty a new connection is opened: with WAL, readers on separate connections run in
//! parallel and writers queue on SQLite's lock (busy timeout). A CGI process uses one connection and exits.
//!
//! An in-memory database exists only inside its one connection, so that pool never grows: callers wait for
//! the single connection instead.
//!
//! On PostgreSQL the pool is [`PgPool`]: a bounded number of connections, each checked before it is
//! handed out again.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use crate::db::{Conn, PgConn, PgPool};
use crate::error::StorageError;
use crate::{Durability, Options};

/// Idle connections kept beyond this are closed; more are opened again under load.
const MAX_IDLE: usize = 8;

/// Where new connections come from.
enum Source {
    File(PathBuf),
    /// One private in-memory database; the pool holds its only connection.
    Memory,
    /// A PostgreSQL database, shared with other nodes.
    Postgres {
        /// The URL without its password, for messages.
        shown: PathBuf,
        /// Where uploads are spooled before they go in: the node's data directory.
        spool: PathBuf,
        /// Boxed: the other sources are a path or nothing.
        pool: Box<PgPool>,
    },
}

pub(crate) struct Pool {
    source: Source,
    options: Options,
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

impl Pool {
    /// A pool for the database file at `path`, seeded with an already configured and migrated connection.
    pub(crate) fn file(path: &Path, options: &Options, first: Connection) -> Pool {
        Pool {
            source: Source::File(path.to_path_buf()),
            options: options.clone(),
            idle: Mutex::new(vec![first]),
            returned: Condvar::new(),
        }
    }

    /// A pool around the only connection of an in-memory database.
    pub(crate) fn memory(only: Connection) -> Pool {
        Pool {
            source: Source::Memory,
            options: Options::default().busy_timeout(Duration::ZERO),
            idle: Mutex::new(vec![only]),
            returned: Condvar::new(),
        }
    }

    /// A pool of connections to PostgreSQL; uploads are spooled in `spool`.
    pub(crate) fn postgres(shown: &str, spool: &Path, pool: PgPool) -> Pool {
        Pool {
            source: Source::Postgres {
                shown: PathBuf::from(shown),
                spool: spool.to_path_buf(),
                pool: Box::new(pool),
            },
            options: Options::default(),
            idle: Mutex::new(Vec::new()),
            returned: Condvar::new(),
        }
    }

    /// Which engine it connects to.
    pub(crate) fn engine(&self) -> crate::Engine {
        match self.source {
            Source::File(_) | Source::Memory => crate::Engine::Sqlite,
            Source::Postgres { .. } => crate::Engine::Postgres,
        }
    }

    /// The database file, or how the database is named in messages.
    pub(crate) fn path(&self) -> &Path {
        match &self.source {
            Source::File(path) => path,
            Source::Memory => Path::new(":memory:"),
            Source::Postgres { shown, .. } => shown,
        }
    }

    /// The settings its connections are opened with.
    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    /// Where uploads are spooled: beside the database file, on the same file system (so the space
    /// an admin provisioned for the wiki is what counts), or the system's temp directory for an
    /// in-memory database.
    pub(crate) fn spool_dir(&self) -> PathBuf {
        match &self.source {
            Source::File(path) => match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                _ => PathBuf::from("."),
            },
            Source::Memory => std::env::temp_dir(),
            Source::Postgres { spool, .. } => spool.clone(),
        }
    }

    /// A listener for other nodes' writes, on PostgreSQL; `None` on SQLite, whose processes look
    /// at the revision log instead.
    pub(crate) fn listener(&self) -> Option<crate::db::PgListener> {
        match &self.source {
            Source::Postgres { pool, .. } => {
                Some(crate::db::PgListener::new(pool.target().clone()))
            }
            Source::File(_) | Source::Memory => None,
        }
    }

    /// Takes an idle connection, opening a new one when there is none (or waiting, for memory).
    pub(crate) fn get(&self) -> Result<Pooled<'_>, StorageError> {
        if let Source::Postgres { pool, .. } = &self.source {
            let conn = pool
                .take()
                .map_err(|source| StorageError::database("connecting to the database", source))?;
            return Ok(Pooled {
                pool: self,
                conn: Some(Conn::Postgres(conn)),
                restore_timeout: false,
            });
        }
        let mut idle = self.lock();
        loop {
            if let Some(conn) = idle.pop() {
                return Ok(Pooled {
                    pool: self,
                    conn: Some(Conn::Sqlite(conn)),
                    restore_timeout: false,
                });
            }
            match &self.source {
                Source::File(path) => {
                    drop(idle);
                    let conn = open_configured(path, &self.options)?;
                    return Ok(Pooled {
                        pool: self,
                        conn: Some(Conn::Sqlite(conn)),
                        restore_timeout: false,
                    });
                }
                Source::Postgres { .. } => unreachable!("PostgreSQL connections are taken above"),
                Source::Memory => {
                    idle = self
                        .returned
                        .wait(idle)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            }
        }
    }

    /// [`Pool::get`] for a write that should not wait for another process's lock at all (derived
    /// data a read records on the way, which a later request records as well): such a write fails
    /// at once with [`StorageError::Busy`]. The usual busy timeout comes back with the connection.
    /// On PostgreSQL, where writers queue on a lock per transaction, the connection is as usual.
    pub(crate) fn get_without_waiting(&self) -> Result<Pooled<'_>, StorageError> {
        let mut conn = self.get()?;
        if let Some(Conn::Sqlite(sqlite)) = conn.conn.as_ref() {
            // Marked first: the timeout is restored even if setting it failed half-way.
            let set = sqlite.busy_timeout(Duration::ZERO);
            conn.restore_timeout = true;
            set.map_err(|source| StorageError::sqlite("setting the busy timeout", source))?;
        }
        Ok(conn)
    }

    /// The idle list stays consistent even if a thread panicked while holding the lock (it only pushes or
    /// pops), so poisoning is ignored.
    fn lock(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn put_back(&self, conn: Conn) {
        match (conn, &self.source) {
            (Conn::Sqlite(conn), _) => self.put_back_sqlite(conn),
            (Conn::Postgres(conn), Source::Postgres { pool, .. }) => pool.put(conn),
            (Conn::Postgres(conn), _) => drop::<PgConn>(conn),
        }
    }

    fn put_back_sqlite(&self, conn: Connection) {
        // A connection left inside a transaction (a panic between BEGIN and COMMIT) would hold the lock
        // or leak state into the next operation: close it instead, unless it is the only copy of an
        // in-memory database, where rolling back is the only choice.
        let conn = if conn.is_autocommit() {
            conn
        } else {
            match self.source {
                Source::File(_) | Source::Postgres { .. } => return,
                Source::Memory => {
                    if conn.execute_batch("ROLLBACK").is_err() {
                        tracing::error!("could not roll back an abandoned in-memory transaction");
                    }
                    conn
                }
            }
        };
        let mut idle = self.lock();
        if matches!(self.source, Source::Memory) || idle.len() < MAX_IDLE {
            idle.push(conn);
        }
        drop(idle);
        self.returned.notify_one();
    }
}

/// A connection borrowed from the pool; goes back on drop.
pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    /// Set by [`Pool::get_without_waiting`]: the busy timeout goes back to the pool's on return.
    restore_timeout: bool,
}

impl Pooled<'_> {
    /// The SQLite connection under it, for what only SQLite has (PRAGMAs, the backup API); on
    /// PostgreSQL, that the operation is SQLite's.
    pub(crate) fn sqlite(&self) -> Result<&Connection, StorageError> {
        match self.conn.as_ref() {
            Some(Conn::Sqlite(conn)) => Ok(conn),
            _ => Err(StorageError::NotOnThisEngine {
                what: "this operation",
                engine: crate::Engine::Postgres,
            }),
        }
    }
}

impl Deref for Pooled<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
            .as_ref()
            .expect("a pooled connection is present until drop")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a pooled connection is present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if let Conn::Sqlite(sqlite) = &conn {
                if self.restore_timeout
                    && sqlite.busy_timeout(self.pool.options.busy_timeout).is_err()
                {
                    // Closed rather than kept with the wrong timeout.
                    return;
                }
            }
            self.pool.put_back(conn);
        }
    }
}

/// Opens the file at `path` (creating it) and sets the per-connection pragmas.
pub(crate) fn open_configured(path: &Path, options: &Options) -> Result<Connection, StorageError> {
    // No SQLITE_OPEN_URI: a configured path that happens to start with "file:" is still a path.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|source| StorageError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    configure(&conn, path, options)?;
    Ok(conn)
}

/// Sets `journal_mode=WAL`, retrying while another connection holds the
/// lock. Switching the journal mode of a brand-new file takes an exclusive
/// lock and SQLite answers BUSY at once rather than calling the busy handler,
/// so many processes opening a fresh data directory together (CGI) need
/// their own retry, bounded by the same busy timeout.
fn switch_to_wal(conn: &Connection, busy_timeout: Duration) -> rusqlite::Result<String> {
    let deadline = std::time::Instant::now() + busy_timeout;
    let mut pause = Duration::from_millis(2);
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if matches!(
                    failure.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// Per-connection settings. WAL lets readers proceed while one process writes. `synchronous` follows
/// [`Options::durability`]: FULL syncs the log at every commit, so a committed save survives a power
/// loss as well as a crash; NORMAL (bulk imports) syncs only at checkpoints, so a crash loses nothing
/// committed but a power loss may lose the last commits (never corrupting the file: WAL).
pub(crate) fn configure(
    conn: &Connection,
    path: &Path,
    options: &Options,
) -> Result<(), StorageError> {
    let busy_timeout = options.busy_timeout;
    let opening = |doing| move |e| StorageError::opening(path, doing, e);
    conn.busy_timeout(busy_timeout)
        .map_err(opening("setting the busy timeout"))?;
    let mode = switch_to_wal(conn, busy_timeout).map_err(opening("switching to WAL mode"))?;
    if !mode.eq_ignore_ascii_case("wal") && !mode.eq_ignore_ascii_case("memory") {
        tracing::warn!(
            path = %path.display(),
            mode,
            "the database is not in WAL mode; readers will wait for writers"
        );
    }
    let synchronous = match options.durability {
        Durability::EveryCommit => "FULL",
        Durability::Bulk => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)
        .map_err(opening("setting synchronous mode"))?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(opening("enabling foreign keys"))?;
    guard_against_a_moved_file(conn, path);
    // A large upload passes through the write-ahead log; without a limit the `-wal` file keeps
    // that size on disk after every checkpoint. With it, a checkpoint that reaches the end of the
    // log truncates the file back to this.
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)
        .map_err(opening("limiting the write-ahead log's size"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // Each statement planned once, whatever values are bound (SQLite's query planner stability
    // guarantee). Otherwise SQLite plans with the value bound to a `LIMIT ?`, and binding that
    // parameter again, as every run does, has the statement prepared again: a tenth of a page of
    // `/+wanted`, in perf. The plans storage's tests check are made without values anyway.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(opening("keeping query plans stable"))?;
    Ok(())
}

/// Prepared statements a connection keeps (`prepare_cached`). rusqlite's default of 16 is fewer
/// than one request and the search indexer's polls run between them on the same connection: each
/// request prepared its statements again, a tenth of a `/+recent?prefix=` page at 100 000 pages.
/// Storage runs about 110 distinct statements; a prepared one is a few kilobytes.
const STATEMENT_CACHE: usize = 128;

/// The size the write-ahead log is truncated back to after a checkpoint (SQLite's
/// `journal_size_limit`), in bytes.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// Which file a path names: device and inode, or `None` if it names nothing now.
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .ok()
        .map(|meta| (meta.dev(), meta.ino()))
}

/// Makes every commit on `conn` check that `path` still names the file the connection opened. In
/// WAL mode SQLite writes on into a database file that was deleted, or replaced by another file,
/// under it: such a commit would be acknowledged and then lost at the next start. Refused instead
/// (`SQLITE_CONSTRAINT_COMMITHOOK`, which [`StorageError::sqlite`] makes `Unwritable`): nothing is
/// acknowledged that is not in the file the next process opens. A stat per commit: microseconds.
/// An in-memory database has no file and no hook.
fn guard_against_a_moved_file(conn: &Connection, path: &Path) {
    let Some(opened) = file_identity(path) else {
        return;
    };
    let path = path.to_path_buf();
    conn.commit_hook(Some(move || {
        let moved = file_identity(&path) != Some(opened);
        if moved {
            tracing::error!(
                path = %path.display(),
                "the database file was deleted or replaced while quire ran; nothing more is written to the old one, restart quire once the data directory is back"
            );
        }
        moved
    }));
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("path", &self.path()).finish()
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use crate::Storage;

    #[test]
    fn a_statement_with_a_bound_limit_is_prepared_once_however_often_it_runs() {
        let storage = Storage::open_in_memory().unwrap();
        let conn = storage.pool.get().unwrap();
        let conn = conn.sqlite().unwrap();
        let sql = "SELECT name FROM pages WHERE name > ?1 ORDER BY name LIMIT ?2";
        for limit in [10_i64, 20, 10] {
            let mut stmt = conn.prepare_cached(sql).unwrap();
            let mut rows = stmt.query(rusqlite::params!["", limit]).unwrap();
            while rows.next().unwrap().is_some() {}
        }
        let stmt = conn.prepare_cached(sql).unwrap();
        assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
    }
}
