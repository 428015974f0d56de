//! PostgreSQL's side of the seam: connecting (TLS when the URL asks for it), a statement cache per
//! connection, parameters and columns converted to and from [`ValueRef`], and a small pool.
//!
//! The `postgres` crate is synchronous, which fits storage's callers: every operation runs on the
//! caller's thread, as SQLite's do. Nothing waits without a bound: connecting has a timeout, every
//! statement has `statement_timeout`, and the pool hands out a connection within its wait or
//! answers [`DbError::Unavailable`].

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, Config, GenericClient, Statement};

use super::value::{Param, ValueRef};
use super::{placeholders, DbError, Row, TxKind};

/// The key of the advisory lock every write transaction takes (see the module doc of `db`),
/// paired with the schema's name so that wikis in two schemas of one database (tests, or two
/// wikis sharing a server) do not wait for each other: any
/// fixed number, the same on every node. "quire" in ASCII.
const WRITE_LOCK: i32 = 0x7175_6972;

/// How long connecting may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What every session is set to on connecting: no statement runs, waits for a lock, or sits idle
/// in a transaction for ever. A save is milliseconds; these only end what has gone wrong.
const SESSION_LIMITS: &str = "SET statement_timeout = '30s'; \
     SET lock_timeout = '15s'; \
     SET idle_in_transaction_session_timeout = '60s'";

/// Prepared statements kept per connection; past this the cache starts again (statements built at
/// run time could otherwise grow it without end).
const STATEMENT_CACHE: usize = 256;

/// Statements prepared on one connection, by their source text (with `?N` parameters).
#[derive(Default)]
struct Statements(HashMap<String, Statement>);

impl Statements {
    fn get(
        &mut self,
        sql: &str,
        prepare: impl FnOnce(&str) -> Result<Statement, postgres::Error>,
    ) -> Result<Statement, DbError> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        let statement = prepare(&placeholders(sql))?;
        if self.0.len() >= STATEMENT_CACHE {
            self.0.clear();
        }
        self.0.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// One connection to PostgreSQL.
pub(crate) struct PgConn {
    client: Client,
    statements: Statements,
}

impl PgConn {
    /// Connects as `target` says, and sets the session's limits.
    pub(crate) fn connect(target: &Target) -> Result<PgConn, DbError> {
        let mut client = target.client()?;
        client.batch_execute(SESSION_LIMITS)?;
        Ok(PgConn {
            client,
            statements: Statements::default(),
        })
    }

    /// Whether the connection is gone (the server restarted, the network dropped it).
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    pub(crate) fn transaction(&mut self, kind: TxKind) -> Result<PgTx<'_>, DbError> {
        let tx = match kind {
            // One snapshot for all its reads, as a read transaction is on SQLite.
            TxKind::Read => self
                .client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?,
            TxKind::Write => {
                let mut tx = self.client.transaction()?;
                tx.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
                    &[&WRITE_LOCK],
                )?;
                tx
            }
        };
        Ok(PgTx {
            tx,
            statements: &mut self.statements,
        })
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64, DbError> {
        execute_on(&mut self.client, &mut self.statements, sql, params)
    }

    pub(crate) fn query_each(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        each: &mut dyn FnMut(&Row<'_>) -> Result<bool, DbError>,
    ) -> Result<(), DbError> {
        query_each_on(&mut self.client, &mut self.statements, sql, params, each)
    }

    pub(crate) fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        batch_on(&mut self.client, &mut self.statements, sql)
    }
}

/// A transaction on a [`PgConn`]; rolled back when dropped without [`PgTx::commit`].
pub(crate) struct PgTx<'c> {
    tx: postgres::Transaction<'c>,
    statements: &'c mut Statements,
}

impl PgTx<'_> {
    pub(crate) fn commit(self) -> Result<(), DbError> {
        Ok(self.tx.commit()?)
    }

    pub(crate) fn execute(&mut self, sql: &str, params: &[&dyn Param]) -> Result<u64, DbError> {
        execute_on(&mut self.tx, self.statements, sql, params)
    }

    pub(crate) fn query_each(
        &mut self,
        sql: &str,
        params: &[&dyn Param],
        each: &mut dyn FnMut(&Row<'_>) -> Result<bool, DbError>,
    ) -> Result<(), DbError> {
        query_each_on(&mut self.tx, self.statements, sql, params, each)
    }

    pub(crate) fn execute_batch(&mut self, sql: &str) -> Result<(), DbError> {
        batch_on(&mut self.tx, self.statements, sql)
    }
}

/// Runs a statement on a connection or inside a transaction (the `postgres` crate's
/// `GenericClient` is either), prepared once per connection.
fn execute_on(
    client: &mut impl GenericClient,
    statements: &mut Statements,
    sql: &str,
    params: &[&dyn Param],
) -> Result<u64, DbError> {
    let statement = statements.get(sql, |text| client.prepare(text))?;
    let values = values(params)?;
    Ok(client.execute(&statement, &bound(&values))?)
}

/// [`execute_on`] for a query, its rows streamed to `each`.
fn query_each_on(
    client: &mut impl GenericClient,
    statements: &mut Statements,
    sql: &str,
    params: &[&dyn Param],
    each: &mut dyn FnMut(&Row<'_>) -> Result<bool, DbError>,
) -> Result<(), DbError> {
    let statement = statements.get(sql, |text| client.prepare(text))?;
    let values = values(params)?;
    let rows = client.query_raw(&statement, values.iter())?;
    stream(rows, each)
}

/// Statements without parameters; a schema change can leave a cached plan's result type stale, so
/// the cache starts again.
fn batch_on(
    client: &mut impl GenericClient,
    statements: &mut Statements,
    sql: &str,
) -> Result<(), DbError> {
    client.batch_execute(sql)?;
    statements.0.clear();
    Ok(())
}

fn stream(
    mut rows: postgres::RowIter<'_>,
    each: &mut dyn FnMut(&Row<'_>) -> Result<bool, DbError>,
) -> Result<(), DbError> {
    use postgres::fallible_iterator::FallibleIterator;
    while let Some(row) = rows.next()? {
        if !each(&Row::Postgres(&row))? {
            break;
        }
    }
    Ok(())
}

fn values<'a>(params: &'a [&'a dyn Param]) -> Result<Vec<PgValue<'a>>, DbError> {
    params
        .iter()
        .map(|param| param.value().map(PgValue))
        .collect()
}

/// The values as the `postgres` crate takes them.
fn bound<'a>(values: &'a [PgValue<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    values
        .iter()
        .map(|value| value as &(dyn ToSql + Sync))
        .collect()
}

/// A parameter as PostgreSQL binds it: converted to the type the prepared statement expects for
/// it, so storage passes the same Rust values to both engines.
#[derive(Debug)]
struct PgValue<'a>(ValueRef<'a>);

impl ToSql for PgValue<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match self.0 {
            ValueRef::Null => Ok(IsNull::Yes),
            ValueRef::Integer(n) => match *ty {
                Type::INT8 => n.to_sql(ty, out),
                Type::INT4 => i32::try_from(n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(n)?.to_sql(ty, out),
                Type::BOOL => (n != 0).to_sql(ty, out),
                Type::FLOAT8 => (n as f64).to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound to a {ty} parameter").into()),
            },
            ValueRef::Real(x) => match *ty {
                Type::FLOAT8 => x.to_sql(ty, out),
                Type::FLOAT4 => (x as f32).to_sql(ty, out),
                _ => Err(format!("a real number cannot be bound to a {ty} parameter").into()),
            },
            ValueRef::Text(text) => text.to_sql(ty, out),
            ValueRef::Blob(bytes) => bytes.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`, which knows the value as well as the type.
        true
    }

    to_sql_checked!();
}

/// Column `index` of a PostgreSQL row as a [`ValueRef`].
pub(super) fn value<'r>(row: &'r postgres::Row, index: usize) -> Result<ValueRef<'r>, DbError> {
    let column = row
        .columns()
        .get(index)
        .ok_or_else(|| DbError::conversion(format!("there is no column {index}")))?;
    let null_or = |value: Option<ValueRef<'r>>| value.unwrap_or(ValueRef::Null);
    Ok(match *column.type_() {
        Type::INT8 => null_or(row.try_get::<_, Option<i64>>(index)?.map(ValueRef::Integer)),
        Type::INT4 => null_or(
            row.try_get::<_, Option<i32>>(index)?
                .map(|n| ValueRef::Integer(i64::from(n))),
        ),
        Type::INT2 => null_or(
            row.try_get::<_, Option<i16>>(index)?
                .map(|n| ValueRef::Integer(i64::from(n))),
        ),
        Type::BOOL => null_or(
            row.try_get::<_, Option<bool>>(index)?
                .map(|b| ValueRef::Integer(i64::from(b))),
        ),
        Type::FLOAT8 => null_or(row.try_get::<_, Option<f64>>(index)?.map(ValueRef::Real)),
        Type::FLOAT4 => null_or(
            row.try_get::<_, Option<f32>>(index)?
                .map(|x| ValueRef::Real(f64::from(x))),
        ),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            null_or(row.try_get::<_, Option<&str>>(index)?.map(ValueRef::Text))
        }
        Type::BYTEA => null_or(row.try_get::<_, Option<&[u8]>>(index)?.map(ValueRef::Blob)),
        ref other => {
            return Err(DbError::conversion(format!(
                "column {} is of type {other}, which storage does not read (cast it to BIGINT, \
                 TEXT or BYTEA in the query)",
                column.name()
            )))
        }
    })
}

/// Whether `err` means the server cannot be reached or went away, rather than refusing one
/// statement: SQLSTATE class 08 (connection exception), the shutdown codes of class 57, or an
/// error with no SQLSTATE at all (connecting failed, the socket broke, a timeout).
pub(super) fn is_unavailable(err: &postgres::Error) -> bool {
    if err.is_closed() {
        return true;
    }
    match err.code() {
        Some(code) => {
            code.code().starts_with("08")
                || *code == SqlState::ADMIN_SHUTDOWN
                || *code == SqlState::CRASH_SHUTDOWN
                || *code == SqlState::CANNOT_CONNECT_NOW
        }
        None => err.as_db_error().is_none(),
    }
}

/// Where connections go: the parsed URL and, when it asks for TLS, the TLS set-up.
#[derive(Clone)]
pub(crate) struct Target {
    config: Config,
    tls: Option<tokio_postgres_rustls::MakeRustlsConnect>,
}

impl Target {
    /// Reads a `postgres://` URL (or libpq's `key=value` form). `sslmode=disable` (or no
    /// `sslmode`) connects in plain text; `prefer` tries TLS first; `require` insists on it. TLS
    /// checks the server's certificate against the system's roots, or, as libpq's
    /// `sslrootcert=FILE` says, against the CA certificates (PEM) in that file: a database behind a
    /// private CA.
    pub(crate) fn parse(url: &str) -> Result<Target, String> {
        let (url, root_file) = without_root_cert(url);
        let mut config: Config = url
            .parse()
            .map_err(|err| format!("not a PostgreSQL URL: {err}"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("quire");
        let asks_for_tls = url.contains("sslmode=") && !url.contains("sslmode=disable");
        let tls = if asks_for_tls {
            Some(tls_connector(root_file.as_deref())?)
        } else if root_file.is_some() {
            return Err("sslrootcert is given but sslmode is not: add sslmode=require".to_owned());
        } else {
            config.ssl_mode(postgres::config::SslMode::Disable);
            None
        };
        Ok(Target { config, tls })
    }
}

impl Target {
    /// A new client connection, over TLS when the URL asked for it.
    fn client(&self) -> Result<Client, postgres::Error> {
        match &self.tls {
            None => self.config.connect(postgres::NoTls),
            Some(tls) => self.config.connect(tls.clone()),
        }
    }
}

/// `url` without its `sslrootcert=FILE` (which the `postgres` crate does not know), and the file.
fn without_root_cert(url: &str) -> (String, Option<String>) {
    const KEY: &str = "sslrootcert=";
    if let Some((base, query)) = url.split_once('?') {
        let (roots, rest): (Vec<&str>, Vec<&str>) =
            query.split('&').partition(|pair| pair.starts_with(KEY));
        let file = roots.last().map(|pair| percent_decoded(&pair[KEY.len()..]));
        let url = match rest.is_empty() {
            true => base.to_owned(),
            false => format!("{base}?{}", rest.join("&")),
        };
        return (url, file);
    }
    if url.contains("://") {
        return (url.to_owned(), None);
    }
    // libpq's `key=value` form.
    let (roots, rest): (Vec<&str>, Vec<&str>) = url
        .split_whitespace()
        .partition(|pair| pair.starts_with(KEY));
    let file = roots.last().map(|pair| pair[KEY.len()..].to_owned());
    (rest.join(" "), file)
}

/// A URL query value with its `%XX` escapes decoded (a path may be written `%2Fetc%2F…`).
fn percent_decoded(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Target {
    /// The same server in a schema of its own, made now: every session's `search_path` names it.
    /// Storage's tests share one test server this way, each test in a schema no other one meets
    /// (the process id, its start and a count tell them apart, across the processes some tests
    /// start and across runs on one long-lived server).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn in_new_schema(mut self) -> Result<Target, DbError> {
        let schema = self.new_schema()?;
        self.config.options(&format!("-c search_path={schema}"));
        Ok(self)
    }

    /// Makes a new, empty schema on the server (see [`Target::in_new_schema`]); its name.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn new_schema(&self) -> Result<String, DbError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static MADE: AtomicU64 = AtomicU64::new(0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let schema = format!(
            "test_{}_{now}_{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::Relaxed)
        );
        PgConn::connect(self)?.execute_batch(&format!("CREATE SCHEMA {schema}"))?;
        Ok(schema)
    }
}

fn tls_connector(
    root_file: Option<&str>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let mut roots = rustls::RootCertStore::empty();
    match root_file {
        Some(file) => {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(file)
                .map_err(|err| format!("could not read sslrootcert {file}: {err}"))?;
            for cert in certs {
                let cert = cert
                    .map_err(|err| format!("sslrootcert {file} is not PEM certificates: {err}"))?;
                roots.add(cert).map_err(|err| {
                    format!("sslrootcert {file} holds a certificate TLS cannot use: {err}")
                })?;
            }
            if roots.is_empty() {
                return Err(format!("sslrootcert {file} holds no certificate"));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // A certificate the store cannot take is skipped, as every TLS client skips it.
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(
                    "the URL asks for TLS but the system has no CA certificates (install \
                     ca-certificates, or name the database's CA with sslrootcert=FILE)"
                        .to_owned(),
                );
            }
        }
    }
    #[expect(
        deprecated,
        reason = "ring builds with the C compiler rusqlite needs already, where aws-lc-rs needs cmake; \
                  post-quantum key exchange is not what protects a node's link to its own database"
    )]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| format!("setting up TLS: {err}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// Connections to one PostgreSQL database, shared by a node's threads: at most `max` open, idle
/// ones reused, a broken one dropped rather than handed out.
pub(crate) struct PgPool {
    target: Target,
    max: usize,
    wait: Duration,
    state: Mutex<PoolState>,
    returned: Condvar,
}

struct PoolState {
    /// Connections given back, each with when it was.
    idle: Vec<(PgConn, Instant)>,
    open: usize,
}

/// A connection idle this long is checked (one round trip) before it is handed out: after the
/// server restarted or a network blip, every idle connection is dead without knowing it, and the
/// request that takes one would fail. So a read after an outage is tried on a connection that
/// works, and only the first request after a pause pays the check.
const CHECK_AFTER_IDLE: Duration = Duration::from_secs(2);

impl PgPool {
    /// A pool for `target` of at most `max` connections; a caller waits at most `wait` for one.
    pub(crate) fn new(target: Target, max: usize, wait: Duration) -> PgPool {
        PgPool {
            target,
            max: max.max(1),
            wait,
            state: Mutex::new(PoolState {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An open connection: an idle one, a new one while fewer than `max` are open, or the next one
    /// given back within the wait.
    pub(crate) fn take(&self) -> Result<PgConn, DbError> {
        let deadline = Instant::now() + self.wait;
        let mut state = self.lock();
        loop {
            while let Some((mut conn, since)) = state.idle.pop() {
                if conn.is_closed() {
                    state.open -= 1;
                    continue;
                }
                if since.elapsed() < CHECK_AFTER_IDLE {
                    return Ok(conn);
                }
                drop(state);
                if conn.client.is_valid(CONNECT_TIMEOUT).is_ok() {
                    return Ok(conn);
                }
                state = self.lock();
                state.open -= 1;
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return PgConn::connect(&self.target).inspect_err(|_| {
                    self.lock().open -= 1;
                    self.returned.notify_one();
                });
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(DbError::Unavailable {
                    seconds: self.wait.as_secs(),
                    reason: format!("all {} connections stayed in use", self.max),
                });
            }
            state = self
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Where its connections go, for a connection of another kind to the same database.
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// Gives a connection back; a closed one is dropped and its place freed.
    pub(crate) fn put(&self, conn: PgConn) {
        let mut state = self.lock();
        if conn.is_closed() {
            state.open -= 1;
        } else {
            state.idle.push((conn, Instant::now()));
        }
        drop(state);
        self.returned.notify_one();
    }
}

/// The channel the schema's triggers notify on a new revision or file version (`v22.sql`).
const CHANGES_CHANNEL: &str = "quire_changes";

/// A connection of its own, outside the pool, that listens on [`CHANGES_CHANNEL`]: how a node
/// hears of another node's writes at once. It connects on first use and again after the
/// connection is lost; a caller that gets an error waits a little and calls again. Only
/// notifications from its own schema count (the triggers send the schema's name).
pub(crate) struct PgListener {
    target: Target,
    /// The connection, and the schema whose notifications count.
    client: Option<(Client, String)>,
}

impl PgListener {
    pub(crate) fn new(target: Target) -> PgListener {
        PgListener {
            target,
            client: None,
        }
    }

    /// Waits at most `timeout` for a notification of its schema; whether one came.
    /// Notifications that came meanwhile are all taken at once: one wake-up stands for all.
    pub(crate) fn wait(&mut self, timeout: Duration) -> Result<bool, DbError> {
        let heard = self.heard(timeout);
        if heard.is_err() {
            self.client = None;
        }
        heard
    }

    fn heard(&mut self, timeout: Duration) -> Result<bool, DbError> {
        let (client, schema) = match &mut self.client {
            Some((client, schema)) if !client.is_closed() => (client, schema),
            _ => {
                let mut client = self.target.client()?;
                client.batch_execute(&format!("LISTEN {CHANGES_CHANNEL}"))?;
                let schema: String = client.query_one("SELECT current_schema()", &[])?.get(0);
                let (client, schema) = self.client.insert((client, schema));
                (client, schema)
            }
        };
        let deadline = Instant::now() + timeout;
        let mut notifications = client.notifications();
        let mut heard = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let next = if heard {
                // Take the rest without waiting.
                notifications.iter().next()?
            } else if left.is_zero() {
                None
            } else {
                notifications.timeout_iter(left).next()?
            };
            match next {
                Some(notification) => heard |= notification.payload() == schema.as_str(),
                None => return Ok(heard),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{without_root_cert, Target};

    #[test]
    fn sslrootcert_is_taken_out_of_the_url_and_decoded() {
        assert_eq!(
            without_root_cert("postgres://q@db/wiki?sslmode=require&sslrootcert=%2Fetc%2Fca.pem"),
            (
                "postgres://q@db/wiki?sslmode=require".to_owned(),
                Some("/etc/ca.pem".to_owned())
            )
        );
        assert_eq!(
            without_root_cert("postgres://q@db/wiki?sslrootcert=/ca.pem"),
            (
                "postgres://q@db/wiki".to_owned(),
                Some("/ca.pem".to_owned())
            )
        );
        assert_eq!(
            without_root_cert("host=db sslrootcert=/ca.pem sslmode=require"),
            (
                "host=db sslmode=require".to_owned(),
                Some("/ca.pem".to_owned())
            )
        );
        assert_eq!(
            without_root_cert("postgres://q@db/wiki"),
            ("postgres://q@db/wiki".to_owned(), None)
        );
    }

    #[test]
    fn a_root_file_without_tls_or_that_is_missing_is_a_clear_error() {
        let without_tls = Target::parse("postgres://q@db/wiki?sslrootcert=/ca.pem").err();
        assert!(without_tls.is_some_and(|err| err.contains("sslmode=require")));
        let missing =
            Target::parse("postgres://q@db/wiki?sslmode=require&sslrootcert=/nonexistent/ca.pem")
                .err()
                .unwrap_or_default();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
    }
}
