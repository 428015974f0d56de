//! The seam between storage and its two engines: one way to run a statement, read its rows and
//! hold a transaction, on SQLite (embedded, the default) and on PostgreSQL (several nodes).
//!
//! The seam is the connection, not the operations: every storage operation, with its logic
//! (deltas, conflict checks, blame), is written once against [`Sql`], and only the engines differ
//! here. Statements are written once too, in the SQL both engines speak, with `?N` parameters;
//! PostgreSQL gets them rewritten to `$N` when first prepared on a connection ([`placeholders`]).
//! The few statements the engines spell differently are chosen by [`Conn::engine`].
//!
//! Write transactions ([`TxKind::Write`]) mean the same on both: one writer at a time, the rule
//! SQLite's `BEGIN IMMEDIATE` gives. On PostgreSQL every write transaction first takes one
//! transaction-scoped advisory lock, so a save's check of the current revision and its write of the
//! next are as atomic across nodes as they are across processes on SQLite, and the trigger-kept
//! tables (link names, backlinks, the change counter) see writes in one order.

mod pg;
mod value;

use std::fmt;

pub(crate) use pg::{PgConn, PgListener, PgPool, Target};
pub(crate) use value::{FromValue, Param, ValueRef};

/// Which engine a connection talks to, for the statements spelled differently on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// SQLite, embedded: the database file in the data directory.
    Sqlite,
    /// PostgreSQL, shared by any number of nodes.
    Postgres,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL",
        })
    }
}

/// `url` as messages and logs show it: without its password.
pub fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // libpq's `key=value` form: drop a `password=` pair.
        return url
            .split_whitespace()
            .filter(|pair| !pair.starts_with("password="))
            .collect::<Vec<_>>()
            .join(" ");
    };
    match rest.split_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(name, _)| name);
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_owned(),
    }
}

/// What went wrong below storage's own errors: the engine's error, or a value of the wrong kind.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite's error.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL's error, or the connection's.
    #[error(transparent)]
    Postgres(#[from] postgres::Error),
    /// A column held another kind of value than the code reads, or a parameter fits no column.
    #[error("a value of the wrong kind: {0}")]
    Conversion(String),
    /// A statement that must return a row returned none.
    #[error("the query returned no rows")]
    NoRows,
    /// No connection to PostgreSQL could be had within the pool's wait.
    #[error("no database connection within {seconds} s: {reason}")]
    Unavailable {
        /// How long it waited.
        seconds: u64,
        /// The last connection error, or that the pool stayed full.
        reason: String,
    },
}

impl DbError {
    pub(crate) fn conversion(message: String) -> DbError {
        DbError::Conversion(message)
    }

    /// Whether the database itself could not be reached (PostgreSQL down, restarting, or the
    /// connection lost): a write answers 503 with Retry-After, a read may try once more on a new
    /// connection. SQLite's file is always there; its refusals are `WriteRefusal`s.
    pub fn is_unavailable(&self) -> bool {
        match self {
            DbError::Unavailable { .. } => true,
            DbError::Postgres(err) => pg::is_unavailable(err),
            DbError::Sqlite(_) | DbError::Conversion(_) | DbError::NoRows => false,
        }
    }
}

/// How many values one statement about a list takes: the list is cut into batches of at most the
/// largest, and each batch padded up to the first size it fits (repeating its last value), so the
/// statement texts come from this fixed set and each connection prepares each once, not once per
/// length.
pub(crate) const BATCH_SIZES: [usize; 5] = [1, 8, 64, 256, 1000];

/// `items` in batches padded as [`BATCH_SIZES`] says: each batch's size, and its items.
pub(crate) fn padded_batches<T>(items: &[T]) -> impl Iterator<Item = (usize, Vec<&T>)> {
    let largest = BATCH_SIZES[BATCH_SIZES.len() - 1];
    items.chunks(largest).filter_map(move |batch| {
        let last = batch.last()?;
        let size = BATCH_SIZES
            .into_iter()
            .find(|&size| size >= batch.len())
            .unwrap_or(largest);
        Some((
            size,
            batch
                .iter()
                .chain(std::iter::repeat(last))
                .take(size)
                .collect(),
        ))
    })
}

/// A result row, read by column index on either engine.
pub(crate) enum Row<'a> {
    Sqlite(&'a rusqlite::Row<'a>),
    Postgres(&'a postgres::Row),
}

impl Row<'_> {
    /// Column `index` as `T`.
    pub(crate) fn get<T: FromValue>(&self, index: usize) -> Result<T, DbError> {
        T::from_value(self.value(index)?)
    }

    /// Column `index` as it is.
    pub(crate) fn value(&self, index: usize) -> Result<ValueRef<'_>, DbError> {
        match self {
            Row::Sqlite(row) => Ok(match row.get_ref(index)? {
                rusqlite::types::ValueRef::Null => ValueRef::Null,
                rusqlite::types::ValueRef::Integer(n) => ValueRef::Integer(n),
                rusqlite::types::ValueRef::Real(x) => ValueRef::Real(x),
                rusqlite::types::ValueRef::Text(bytes) => {
                    ValueRef::Text(std::str::from_utf8(bytes).map_err(|err| {
                        DbError::conversion(format!("column {index} is not UTF-8: {err}"))
                    })?)
                }
                rusqlite::types::ValueRef::Blob(bytes) => ValueRef::Blob(bytes),
            }),
            Row::Postgres(row) => pg::value(row, index),
        }
    }
}

/// What a transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxKind {
    /// Reads that must agree with each other: one snapshot.
    Read,
    /// A change: one writer at a time (see the module's doc).
    Write,
}

/// Running statements, on a connection or inside a transaction. Everything else is built on
/// [`Sql::execute`] and [`Sql::query_each`].
pub(crate) trait Sql {
    /// The engine, for the statements spelled differently on each.
    fn engine(&self) -> Engine;

    /// Runs a statement that returns no rows; how many rows it changed.
    fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64, DbError>;

    /// Runs a query and hands each row to `each` in turn, while `each` answers `true`. Rows are
    /// streamed, not collected, on both engines.
    fn query_each(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        each: &mut dyn FnMut(&Row<'_>) -> Result<bool, DbError>,
    ) -> Result<(), DbError>;

    /// Runs statements separated by `;`, with no parameters: schema changes.
    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError>;

    /// The first row mapped by `map`, or `None` when there is none.
    fn query_opt<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        map: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError>
    where
        Self: Sized,
    {
        let mut map = Some(map);
        let mut found = None;
        self.query_each(sql, params, &mut |row| {
            if let Some(map) = map.take() {
                found = Some(map(row)?);
            }
            Ok(false)
        })?;
        Ok(found)
    }

    /// The first row mapped by `map`; [`DbError::NoRows`] when there is none.
    fn query_one<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        map: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError>
    where
        Self: Sized,
    {
        self.query_opt(sql, params, map)?.ok_or(DbError::NoRows)
    }

    /// Every row, mapped by `map`.
    fn query_map<T>(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        mut map: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError>
    where
        Self: Sized,
    {
        let mut rows = Vec::new();
        self.query_each(sql, params, &mut |row| {
            rows.push(map(row)?);
            Ok(true)
        })?;
        Ok(rows)
    }
}

/// A connection to either engine.
pub(crate) enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(PgConn),
}

impl Conn {
    /// Begins a transaction of `kind`; it rolls back when dropped without [`Tx::commit`].
    pub(crate) fn transaction(&mut self, kind: TxKind) -> Result<Tx<'_>, DbError> {
        match self {
            Conn::Sqlite(conn) => {
                let behavior = match kind {
                    TxKind::Read => rusqlite::TransactionBehavior::Deferred,
                    TxKind::Write => rusqlite::TransactionBehavior::Immediate,
                };
                Ok(Tx::Sqlite(conn.transaction_with_behavior(behavior)?))
            }
            Conn::Postgres(conn) => conn.transaction(kind).map(Tx::Postgres),
        }
    }
}

/// [`Sql`] for a connection and for a transaction alike: both are an enum of the same two
/// variants, and each engine's own connection and transaction answer the same calls.
macro_rules! sql_by_engine {
    ($ty:ty) => {
        impl Sql for $ty {
            fn engine(&self) -> Engine {
                match self {
                    Self::Sqlite(_) => Engine::Sqlite,
                    Self::Postgres(_) => Engine::Postgres,
                }
            }

            fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64, DbError> {
                match self {
                    Self::Sqlite(conn) => sqlite_execute(conn, sql, params),
                    Self::Postgres(conn) => conn.execute(sql, params),
                }
            }

            fn query_each(
                &mut self,
                sql: &str,
                params: &[&dyn Param],
                each: &mut dyn FnMut(&Row<'_>) -> Result<bool, DbError>,
            ) -> Result<(), DbError> {
                match self {
                    Self::Sqlite(conn) => sqlite_query_each(conn, sql, params, each),
                    Self::Postgres(conn) => conn.query_each(sql, params, each),
                }
            }

            fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
                match self {
                    Self::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
                    Self::Postgres(conn) => conn.execute_batch(sql),
                }
            }
        }
    };
}

sql_by_engine!(Conn);
sql_by_engine!(Tx<'_>);

/// A transaction on either engine.
pub(crate) enum Tx<'c> {
    Sqlite(rusqlite::Transaction<'c>),
    Postgres(pg::PgTx<'c>),
}

impl Tx<'_> {
    /// Makes its changes permanent.
    pub(crate) fn commit(self) -> Result<(), DbError> {
        match self {
            Tx::Sqlite(tx) => Ok(tx.commit()?),
            Tx::Postgres(tx) => tx.commit(),
        }
    }
}

/// A borrowed SQLite connection (or transaction, which derefs to one) as [`Sql`]: for SQLite's own
/// migrations (`schema.rs`), which hold a `rusqlite::Transaction` and fill new derived tables
/// with the functions every engine uses.
pub(crate) struct SqliteRef<'a>(pub(crate) &'a rusqlite::Connection);

impl Sql for SqliteRef<'_> {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64, DbError> {
        sqlite_execute(self.0, sql, params)
    }

    fn query_each(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        each: &mut dyn FnMut(&Row<'_>) -> Result<bool, DbError>,
    ) -> Result<(), DbError> {
        sqlite_query_each(self.0, sql, params, each)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.0.execute_batch(sql)?)
    }
}

impl Tx<'_> {
    /// The SQLite transaction under it, for a function not yet written against [`Sql`] (the
    /// other half of the bridge [`SqliteRef`] is); on PostgreSQL, that the operation is not
    /// there yet.
    pub(crate) fn sqlite(&self) -> Result<&rusqlite::Connection, crate::StorageError> {
        match self {
            Tx::Sqlite(tx) => Ok(tx),
            Tx::Postgres(_) => Err(crate::StorageError::NotOnThisEngine {
                what: "this operation",
                engine: Engine::Postgres,
            }),
        }
    }
}

/// A parameter as rusqlite binds it.
struct SqliteParam<'a>(&'a dyn Param);

impl rusqlite::ToSql for SqliteParam<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef as V};
        let value = self
            .0
            .value()
            .map_err(|err| rusqlite::Error::ToSqlConversionFailure(Box::new(err)))?;
        Ok(ToSqlOutput::Borrowed(match value {
            ValueRef::Null => V::Null,
            ValueRef::Integer(n) => V::Integer(n),
            ValueRef::Real(x) => V::Real(x),
            ValueRef::Text(text) => V::Text(text.as_bytes()),
            ValueRef::Blob(bytes) => V::Blob(bytes),
        }))
    }
}

fn sqlite_params<'a>(params: &'a [&'a dyn Param]) -> Vec<SqliteParam<'a>> {
    params.iter().map(|param| SqliteParam(*param)).collect()
}

fn sqlite_execute(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[&dyn Param],
) -> Result<u64, DbError> {
    let mut statement = conn.prepare_cached(sql)?;
    let changed = statement.execute(rusqlite::params_from_iter(sqlite_params(params)))?;
    Ok(changed as u64)
}

fn sqlite_query_each(
    conn: &rusqlite::Connection,
    sql: &str,
    params: &[&dyn Param],
    each: &mut dyn FnMut(&Row<'_>) -> Result<bool, DbError>,
) -> Result<(), DbError> {
    let mut statement = conn.prepare_cached(sql)?;
    let mut rows = statement.query(rusqlite::params_from_iter(sqlite_params(params)))?;
    while let Some(row) = rows.next()? {
        if !each(&Row::Sqlite(row))? {
            break;
        }
    }
    Ok(())
}

/// `sql` with its `?N` parameters (and bare `?`s, numbered in order) written as PostgreSQL's `$N`.
/// Quoted strings and identifiers are left alone, so a `?` in a literal stays a `?`.
pub(crate) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut next_bare = 1;
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(open) = quote {
            out.push(c);
            if c == open {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                out.push(c);
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                out.push('$');
                if digits.is_empty() {
                    out.push_str(&next_bare.to_string());
                    next_bare += 1;
                } else {
                    out.push_str(&digits);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Connections for storage's tests: SQLite always, and PostgreSQL as well when
/// `QUIRE_TEST_DATABASE` names a server (the e2e suite sets it to a throwaway cluster), each in a
/// fresh schema of its own so that tests running at once never meet.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// The variable naming the PostgreSQL server tests also run on.
    pub(crate) const TEST_DATABASE: &str = "QUIRE_TEST_DATABASE";

    /// A new, empty database on each engine under test, and the means to open more connections
    /// to the same one.
    pub(crate) fn each_engine() -> Vec<Fresh> {
        let mut all = vec![Fresh::Sqlite(
            tempfile::NamedTempFile::new().expect("a temporary database file"),
        )];
        if let Ok(url) = std::env::var(TEST_DATABASE) {
            all.push(Fresh::postgres(&url));
        }
        all
    }

    /// A new, empty wiki on each engine under test: SQLite in memory, and PostgreSQL in a schema
    /// of its own when `QUIRE_TEST_DATABASE` is set.
    pub(crate) fn each_storage() -> Vec<crate::Storage> {
        let mut all = vec![crate::Storage::open_in_memory().expect("an in-memory wiki")];
        if let Ok(url) = std::env::var(TEST_DATABASE) {
            all.push(
                crate::Storage::open_postgres_for_tests(&url).expect("a wiki on the test server"),
            );
        }
        all
    }

    /// One engine's fresh database.
    pub(crate) enum Fresh {
        Sqlite(tempfile::NamedTempFile),
        Postgres(Box<Target>),
    }

    impl Fresh {
        /// Another fresh PostgreSQL database on the test server; panics without one.
        pub(crate) fn postgres_for_tests() -> Fresh {
            let url = std::env::var(TEST_DATABASE).expect("QUIRE_TEST_DATABASE is set");
            Fresh::postgres(&url)
        }

        fn postgres(url: &str) -> Fresh {
            let target = Target::parse(url).expect("QUIRE_TEST_DATABASE is a PostgreSQL URL");
            let target = target
                .in_new_schema()
                .expect("a schema of its own on the test server");
            Fresh::Postgres(Box::new(target))
        }

        /// A new connection to it.
        pub(crate) fn connect(&self) -> Conn {
            match self {
                Fresh::Sqlite(file) => {
                    let conn = rusqlite::Connection::open(file.path()).expect("opening SQLite");
                    conn.busy_timeout(std::time::Duration::from_secs(10))
                        .expect("a busy timeout");
                    Conn::Sqlite(conn)
                }
                Fresh::Postgres(target) => {
                    Conn::Postgres(PgConn::connect(target).expect("connecting to PostgreSQL"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::each_engine;
    use super::*;

    #[test]
    fn urls_are_shown_without_their_password() {
        assert_eq!(
            shown_url("postgres://wiki:s3cret@db.example:5432/wiki?sslmode=require"),
            "postgres://wiki@db.example:5432/wiki?sslmode=require"
        );
        assert_eq!(shown_url("postgres://db/wiki"), "postgres://db/wiki");
        assert_eq!(
            shown_url("host=db user=wiki password=s3cret dbname=wiki"),
            "host=db user=wiki dbname=wiki"
        );
    }

    #[test]
    fn batches_are_padded_to_a_few_sizes_with_their_last_item() {
        let items: Vec<u32> = (0..1010).collect();
        let batches: Vec<(usize, Vec<&u32>)> = padded_batches(&items).collect();
        assert_eq!(batches.len(), 2);
        assert_eq!(batches[0].0, 1000);
        assert_eq!(batches[1].0, 64);
        assert_eq!(batches[1].1.len(), 64);
        assert_eq!(*batches[1].1[9], 1009);
        assert_eq!(*batches[1].1[63], 1009);
        assert_eq!(
            padded_batches(&[7])
                .map(|(size, _)| size)
                .collect::<Vec<_>>(),
            [1]
        );
        assert_eq!(padded_batches::<u8>(&[]).count(), 0);
    }

    #[test]
    fn placeholders_become_dollars_outside_quotes_only() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = ?1 AND c = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = $12"
        );
        assert_eq!(placeholders("VALUES (?, ?)"), "VALUES ($1, $2)");
        assert_eq!(
            placeholders("SELECT '?1', \"a?\" FROM t WHERE x = ?2"),
            "SELECT '?1', \"a?\" FROM t WHERE x = $2"
        );
        assert_eq!(
            placeholders("SELECT 'it''s ?' , ?3"),
            "SELECT 'it''s ?' , $3"
        );
    }

    /// The portable column types: what storage's schemas use on each engine.
    fn create_table(conn: &mut Conn) {
        let blob = match conn.engine() {
            Engine::Sqlite => "BLOB",
            Engine::Postgres => "BYTEA",
        };
        let real = match conn.engine() {
            Engine::Sqlite => "REAL",
            Engine::Postgres => "DOUBLE PRECISION",
        };
        conn.execute_batch(&format!(
            "CREATE TABLE t (n BIGINT, s TEXT, b {blob}, r {real})"
        ))
        .unwrap();
    }

    #[test]
    fn rows_come_back_as_the_kinds_they_went_in() {
        for fresh in each_engine() {
            let mut conn = fresh.connect();
            let engine = conn.engine();
            create_table(&mut conn);
            let bytes: &[u8] = &[0, 159, 255];
            let changed = conn
                .execute(
                    "INSERT INTO t VALUES (?1, ?2, ?3, ?4), (?5, NULL, NULL, NULL)",
                    &[&(i64::MAX as u64), &"héllo", &bytes, &1.5f64, &-3i64],
                )
                .unwrap();
            assert_eq!(changed, 2, "{engine}");
            let rows = conn
                .query_map("SELECT n, s, b, r FROM t ORDER BY n", &[], |row| {
                    Ok((
                        row.get::<i64>(0)?,
                        row.get::<Option<String>>(1)?,
                        row.get::<Option<Vec<u8>>>(2)?,
                        row.get::<Option<f64>>(3)?,
                    ))
                })
                .unwrap();
            assert_eq!(
                rows,
                vec![
                    (-3, None, None, None),
                    (
                        i64::MAX,
                        Some("héllo".to_owned()),
                        Some(bytes.to_vec()),
                        Some(1.5)
                    ),
                ],
                "{engine}"
            );
            assert!(
                matches!(
                    conn.query_one("SELECT n FROM t WHERE n = 7", &[], |row| row.get::<i64>(0)),
                    Err(DbError::NoRows)
                ),
                "{engine}"
            );
            let missing: Option<String> = None;
            assert_eq!(
                conn.query_opt("SELECT s FROM t WHERE n = ?1", &[&-3i64], |row| row
                    .get::<Option<String>>(0))
                    .unwrap(),
                Some(missing),
                "{engine}"
            );
            // A NULL parameter of any Rust type binds to whatever column it meets.
            conn.execute(
                "UPDATE t SET s = ?1, b = ?2 WHERE n = ?3",
                &[&Option::<String>::None, &Option::<Vec<u8>>::None, &i64::MAX],
            )
            .unwrap();
            // Counts and flags read as integers on both engines.
            let (count, flag) = conn
                .query_one(
                    "SELECT COUNT(*), CAST(SUM(n) IS NULL AS INTEGER) FROM t WHERE s IS NULL",
                    &[],
                    |row| Ok((row.get::<u64>(0)?, row.get::<bool>(1)?)),
                )
                .unwrap_or_else(|err| panic!("{engine}: {err}"));
            assert_eq!((count, flag), (2, false), "{engine}");
        }
    }

    #[test]
    fn a_dropped_transaction_rolls_back_and_a_committed_one_stays() {
        for fresh in each_engine() {
            let mut conn = fresh.connect();
            conn.execute_batch("CREATE TABLE t (n BIGINT)").unwrap();
            {
                let mut tx = conn.transaction(TxKind::Write).unwrap();
                tx.execute("INSERT INTO t VALUES (?1)", &[&1i64]).unwrap();
            }
            let mut tx = conn.transaction(TxKind::Write).unwrap();
            tx.execute("INSERT INTO t VALUES (?1)", &[&2i64]).unwrap();
            tx.commit().unwrap();
            let all = conn
                .query_map("SELECT n FROM t", &[], |row| row.get::<i64>(0))
                .unwrap();
            assert_eq!(all, vec![2], "{}", conn.engine());
        }
    }

    #[test]
    fn query_each_stops_when_asked() {
        for fresh in each_engine() {
            let mut conn = fresh.connect();
            conn.execute_batch(
                "CREATE TABLE t (n BIGINT); INSERT INTO t VALUES (1), (2), (3), (4);",
            )
            .unwrap();
            let mut seen = Vec::new();
            conn.query_each("SELECT n FROM t ORDER BY n", &[], &mut |row| {
                seen.push(row.get::<i64>(0)?);
                Ok(seen.len() < 2)
            })
            .unwrap();
            assert_eq!(seen, vec![1, 2], "{}", conn.engine());
        }
    }

    /// Two connections' write transactions never overlap, on either engine: the second begins
    /// only when the first has ended, so a check-then-write in one is atomic against the other.
    #[test]
    fn write_transactions_take_turns() {
        for fresh in each_engine() {
            let mut first = fresh.connect();
            let engine = first.engine();
            first
                .execute_batch("CREATE TABLE turns (who TEXT, at BIGINT)")
                .unwrap();
            let mut second = fresh.connect();
            let mut tx = first.transaction(TxKind::Write).unwrap();
            tx.execute("INSERT INTO turns VALUES ('first', 1)", &[])
                .unwrap();
            let waiter = std::thread::spawn(move || {
                let mut tx = second.transaction(TxKind::Write).unwrap();
                // Sees the first's row: it began after the first committed.
                let seen = tx
                    .query_one("SELECT COUNT(*) FROM turns", &[], |row| row.get::<u64>(0))
                    .unwrap();
                tx.execute("INSERT INTO turns VALUES ('second', 2)", &[])
                    .unwrap();
                tx.commit().unwrap();
                seen
            });
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert!(
                !waiter.is_finished(),
                "{engine}: the second writer did not wait"
            );
            tx.commit().unwrap();
            assert_eq!(waiter.join().unwrap(), 1, "{engine}");
        }
    }
}
