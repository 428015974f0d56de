//! Copying a whole wiki from one database into another, empty one, on either engine: what
//! `quire migrate-db` does (SQLite to PostgreSQL and back), and what a backup of a PostgreSQL wiki
//! into one SQLite file is.
//!
//! The copy is driven by the schema: the tables and their columns are read from each engine's
//! catalog, and the copy refuses two schemas whose tables or columns differ (both databases are
//! opened, so both are at this build's version). [`TABLES`] lists every table in the order its
//! rows may go in (a row after the rows it refers to), and says of each what it is; a table the
//! catalog has and the list does not is refused, so a new migration cannot be forgotten here.
//!
//! Every table is copied row for row, ids included, in primary-key order, in batches: the source of
//! truth (pages, revisions with their compact bodies, users, files and their chunks, ACL lines,
//! drafts, watches, the mail queue, the audit log, the shared session keys) and the derived tables
//! too (links, blame, the render cache and its epoch, the ACL and group scans), which are valid in
//! the copy as they were in the source because every id is the same. The tables triggers keep (`link_names`,
//! `backlinks`, the change counter, `pages.last_change`) are set to the source's rows, so the copy
//! is the same as the source even where the source was stale (`quire check` finds that on either,
//! the same way): into PostgreSQL with its triggers off meanwhile; into SQLite, whose triggers
//! are part of its schema, after they have run.
//!
//! The source is read in one snapshot (one read transaction), and the target is written in one
//! transaction: a copy that fails leaves the target as empty as it was. On PostgreSQL the identity
//! sequences are then moved past the copied ids, so new rows do not collide with them. Last, the
//! copy is checked: every table of the target is read back and its row count and a digest of its
//! rows (SHA-256 over every value, in key order) must equal the source's.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::db::{Conn, DbError, Engine, Param, Row, Sql, TxKind, ValueRef};
use crate::error::{doing, StorageError};
use crate::Storage;

/// What a table is, which says how it is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Rows written by storage's operations: copied; the target must have none.
    Rows,
    /// Rows a new database may hold already (the single row a migration puts in some tables, the
    /// session keys the first node made): the target's are replaced by the source's.
    Replaced,
    /// Kept by triggers as other tables' rows go in: emptied after the copy of the others and
    /// filled with the source's rows.
    Triggered,
}

/// Every table, in the order rows may go in (after the rows they refer to).
const TABLES: &[(&str, Kind)] = &[
    ("users", Kind::Rows),
    ("pages", Kind::Rows),
    ("revisions", Kind::Rows),
    ("current_texts", Kind::Rows),
    ("links", Kind::Rows),
    ("file_links", Kind::Rows),
    ("rendered", Kind::Rows),
    ("render_epoch", Kind::Replaced),
    ("redirects", Kind::Rows),
    ("blame", Kind::Rows),
    ("failed_logins", Kind::Rows),
    ("invites", Kind::Rows),
    ("revision_acls", Kind::Rows),
    ("acl_scan", Kind::Replaced),
    ("revoked_sessions", Kind::Rows),
    ("login_devices", Kind::Rows),
    ("audit_log", Kind::Rows),
    ("rate_events", Kind::Rows),
    ("bad_content", Kind::Replaced),
    ("blobs", Kind::Rows),
    ("blob_chunks", Kind::Rows),
    ("file_versions", Kind::Rows),
    ("thumbnails", Kind::Rows),
    ("revision_originals", Kind::Rows),
    ("revision_groups", Kind::Rows),
    ("group_scan", Kind::Replaced),
    ("drafts", Kind::Rows),
    ("watches", Kind::Rows),
    ("watch_settings", Kind::Rows),
    ("outbox", Kind::Rows),
    ("outbox_cursor", Kind::Replaced),
    ("api_tokens", Kind::Rows),
    ("secrets", Kind::Replaced),
    ("link_names", Kind::Triggered),
    ("backlinks", Kind::Triggered),
    ("change_counter", Kind::Triggered),
];

/// Rows read at a time.
const BATCH_ROWS: usize = 500;

/// A batch ends early past this many bytes of values (file chunks are large).
const BATCH_BYTES: usize = 8 << 20;

/// Rows per `INSERT` statement; fewer round trips to PostgreSQL.
const ROWS_PER_INSERT: usize = 50;

/// How far a copy has got, as it reports after each batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyProgress {
    /// The table being copied (or checked, when `checking`).
    pub table: &'static str,
    /// Whether the copy is being read back and compared.
    pub checking: bool,
    /// Rows of all tables done so far, in this pass.
    pub rows: u64,
    /// Rows of all tables in the source.
    pub total: u64,
}

/// What [`Storage::copy_into`] copied, table by table, each checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Each table with its row count, in copy order.
    pub tables: Vec<(&'static str, u64)>,
    /// The digest of the revisions table, as both databases hold it (hex SHA-256).
    pub revisions_digest: String,
}

impl CopyReport {
    /// Rows copied, all tables together.
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, rows)| rows).sum()
    }
}

/// One table as both catalogs describe it.
struct Table {
    name: &'static str,
    kind: Kind,
    columns: Vec<String>,
    key: Vec<String>,
}

impl Storage {
    /// Copies every table of this wiki into `target`, which must be empty (a database just
    /// created and opened by storage), then checks the copy; see the module doc of `copy`.
    /// `progress` is called after each batch.
    ///
    /// Refuses a target that holds any page, revision, account or other row
    /// ([`StorageError::TargetNotEmpty`]) and two schemas that differ
    /// ([`StorageError::SchemasDiffer`]); a copy that does not read back the same is
    /// [`StorageError::CopyMismatch`].
    pub fn copy_into(
        &self,
        target: &Storage,
        mut progress: impl FnMut(CopyProgress),
    ) -> Result<CopyReport, StorageError> {
        let mut from = self.pool.get()?;
        let mut to = target.pool.get()?;
        let tables = plan(&mut from, &mut to)?;
        refuse_non_empty(&mut to, &tables)?;
        let mut snapshot = from
            .transaction(TxKind::Read)
            .map_err(doing("starting the copy's read"))?;
        let mut counts = Vec::with_capacity(tables.len());
        for table in &tables {
            counts.push(count(&mut snapshot, table.name)?);
        }
        let total = counts.iter().sum();
        let target_engine = to.engine();
        let mut writing = to
            .transaction(TxKind::Write)
            .map_err(doing("starting the copy's write"))?;
        // PostgreSQL: the triggers rest while the rows go in; what they keep is copied anyway,
        // and a trigger that moves one row per insert (the change counter) would make the copy
        // quadratic in one transaction, each update walking the row's versions before it.
        if target_engine == Engine::Postgres {
            set_triggers(&mut writing, &tables, "DISABLE")?;
        }
        let mut digests = Vec::with_capacity(tables.len());
        let mut done = 0;
        // The trigger-kept tables last, once the triggers have run on everything else.
        let (triggered, rows): (Vec<&Table>, Vec<&Table>) = tables
            .iter()
            .partition(|table| table.kind == Kind::Triggered);
        let mut last_changes_set = false;
        for table in rows.into_iter().chain(triggered) {
            if table.kind == Kind::Triggered && !last_changes_set {
                if target_engine == Engine::Sqlite {
                    restore_last_changes(&mut snapshot, &mut writing)?;
                }
                last_changes_set = true;
            }
            let mut batch_done = |rows| {
                done += rows;
                progress(CopyProgress {
                    table: table.name,
                    checking: false,
                    rows: done,
                    total,
                });
            };
            let copied = copy_table(
                &mut snapshot,
                &mut writing,
                target_engine,
                table,
                &mut batch_done,
            )?;
            digests.push((table.name, copied));
        }
        if target_engine == Engine::Postgres {
            set_triggers(&mut writing, &tables, "ENABLE")?;
            move_sequences(&mut writing)?;
        }
        drop(snapshot);
        writing.commit().map_err(doing("committing the copy"))?;
        drop(from);
        check_copy(&mut to, &tables, &digests, total, &mut progress)
    }
}

/// The tables to copy, with their columns and keys, once both schemas are found the same and
/// every table is one [`TABLES`] knows.
fn plan(from: &mut Conn, to: &mut Conn) -> Result<Vec<Table>, StorageError> {
    let source = columns(from)?;
    let target = columns(to)?;
    if source != target {
        let only = |a: &[(String, String)], b: &[(String, String)]| {
            a.iter()
                .filter(|column| !b.contains(column))
                .map(|(table, column)| format!("{table}.{column}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(StorageError::SchemasDiffer {
            difference: format!(
                "only in the source: [{}]; only in the target: [{}]",
                only(&source, &target),
                only(&target, &source)
            ),
        });
    }
    let mut names: Vec<&str> = source.iter().map(|(table, _)| table.as_str()).collect();
    names.dedup();
    if let Some(unknown) = names
        .iter()
        .find(|name| !TABLES.iter().any(|(known, _)| known == *name))
    {
        return Err(StorageError::SchemasDiffer {
            difference: format!("the copy does not know the table {unknown}"),
        });
    }
    let mut tables = Vec::with_capacity(TABLES.len());
    for &(name, kind) in TABLES {
        let columns: Vec<String> = source
            .iter()
            .filter(|(table, _)| table == name)
            .map(|(_, column)| column.clone())
            .collect();
        if columns.is_empty() {
            return Err(StorageError::SchemasDiffer {
                difference: format!("neither database has the table {name}"),
            });
        }
        let key = primary_key(from, name)?;
        if key.is_empty() {
            return Err(StorageError::SchemasDiffer {
                difference: format!("the table {name} has no primary key"),
            });
        }
        tables.push(Table {
            name,
            kind,
            columns,
            key,
        });
    }
    Ok(tables)
}

/// Every `(table, column)` of the database's own schema, sorted (column order differs between
/// the engines, where migrations added columns).
fn columns(conn: &mut Conn) -> Result<Vec<(String, String)>, StorageError> {
    let sql = match conn.engine() {
        Engine::Sqlite => {
            "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
        // pg_catalog rather than information_schema: the latter's views are slow on a database
        // of many schemas.
        Engine::Postgres => {
            "SELECT CAST(c.relname AS TEXT), CAST(a.attname AS TEXT)
             FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid
             WHERE n.nspname = current_schema() AND c.relkind = 'r'
               AND a.attnum > 0 AND NOT a.attisdropped AND c.relname <> 'quire_schema'"
        }
    };
    let mut all = conn
        .query_map(sql, &[], |row| Ok((row.get(0)?, row.get(1)?)))
        .map_err(doing("reading the schema"))?;
    all.sort();
    Ok(all)
}

/// The primary key's columns of `table`, in key order.
fn primary_key(conn: &mut Conn, table: &str) -> Result<Vec<String>, StorageError> {
    let sql = match conn.engine() {
        Engine::Sqlite => "SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk",
        Engine::Postgres => {
            "SELECT CAST(a.attname AS TEXT)
             FROM pg_index i
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
             WHERE i.indrelid = to_regclass(?1) AND i.indisprimary
             ORDER BY array_position(CAST(i.indkey AS SMALLINT[]), a.attnum)"
        }
    };
    conn.query_map(sql, &[&table], |row| row.get(0))
        .map_err(doing("reading a table's key"))
}

/// Refuses a target with any row in a table of [`Kind::Rows`].
fn refuse_non_empty(to: &mut Conn, tables: &[Table]) -> Result<(), StorageError> {
    for table in tables.iter().filter(|table| table.kind == Kind::Rows) {
        let rows = count(to, table.name)?;
        if rows > 0 {
            return Err(StorageError::TargetNotEmpty {
                table: table.name.to_owned(),
                rows,
            });
        }
    }
    Ok(())
}

fn count(conn: &mut impl Sql, table: &str) -> Result<u64, StorageError> {
    conn.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[], |row| {
        row.get(0)
    })
    .map_err(doing("counting a table's rows"))
}

/// A column's value, owned, as it goes from one database to the other.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    fn of(value: ValueRef<'_>) -> Value {
        match value {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(n) => Value::Integer(n),
            ValueRef::Real(x) => Value::Real(x),
            ValueRef::Text(text) => Value::Text(text.to_owned()),
            ValueRef::Blob(bytes) => Value::Blob(bytes.to_vec()),
        }
    }

    fn size(&self) -> usize {
        match self {
            Value::Text(text) => text.len(),
            Value::Blob(bytes) => bytes.len(),
            _ => 8,
        }
    }
}

impl Param for Value {
    fn value(&self) -> Result<ValueRef<'_>, DbError> {
        Ok(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(n) => ValueRef::Integer(*n),
            Value::Real(x) => ValueRef::Real(*x),
            Value::Text(text) => ValueRef::Text(text),
            Value::Blob(bytes) => ValueRef::Blob(bytes),
        })
    }
}

/// Adds one row to a table's digest. Text and bytes digest alike: a revision's body is text or
/// bytes in SQLite by its format and always bytes (`BYTEA`) in PostgreSQL, and is the same body.
fn digest_row(digest: &mut Sha256, row: &[Value]) {
    for value in row {
        match value {
            Value::Null => digest.update([0]),
            Value::Integer(n) => {
                digest.update([1]);
                digest.update(n.to_le_bytes());
            }
            Value::Real(x) => {
                digest.update([2]);
                digest.update(x.to_bits().to_le_bytes());
            }
            Value::Text(text) => {
                digest.update([3]);
                digest.update((text.len() as u64).to_le_bytes());
                digest.update(text.as_bytes());
            }
            Value::Blob(bytes) => {
                digest.update([3]);
                digest.update((bytes.len() as u64).to_le_bytes());
                digest.update(bytes);
            }
        }
    }
}

/// Reads `table` in key order, a batch at a time, handing each batch to `each`.
fn scan(
    conn: &mut impl Sql,
    table: &Table,
    each: &mut dyn FnMut(Vec<Vec<Value>>) -> Result<(), StorageError>,
) -> Result<(), StorageError> {
    let columns = table.columns.join(", ");
    let key = table.key.join(", ");
    let first = format!(
        "SELECT {columns} FROM {} ORDER BY {key} LIMIT {BATCH_ROWS}",
        table.name
    );
    let marks: Vec<String> = (1..=table.key.len()).map(|n| format!("?{n}")).collect();
    let next = format!(
        "SELECT {columns} FROM {} WHERE ({key}) > ({}) ORDER BY {key} LIMIT {BATCH_ROWS}",
        table.name,
        marks.join(", ")
    );
    let key_at: Vec<usize> = table
        .key
        .iter()
        .map(|column| {
            table
                .columns
                .iter()
                .position(|c| c == column)
                .expect("a table's key is among its columns")
        })
        .collect();
    let mut after: Option<Vec<Value>> = None;
    loop {
        let mut batch: Vec<Vec<Value>> = Vec::new();
        let mut bytes = 0;
        let mut read = |row: &Row<'_>| -> Result<bool, DbError> {
            let mut values = Vec::with_capacity(table.columns.len());
            for index in 0..table.columns.len() {
                values.push(Value::of(row.value(index)?));
            }
            bytes += values.iter().map(Value::size).sum::<usize>();
            batch.push(values);
            Ok(bytes < BATCH_BYTES)
        };
        match &after {
            None => conn.query_each(&first, &[], &mut read),
            Some(last) => {
                let params: Vec<&dyn Param> = last.iter().map(|v| v as &dyn Param).collect();
                conn.query_each(&next, &params, &mut read)
            }
        }
        .map_err(doing("reading a table to copy"))?;
        let Some(last) = batch.last() else {
            return Ok(());
        };
        after = Some(key_at.iter().map(|&i| last[i].clone()).collect());
        let full = batch.len() == BATCH_ROWS || bytes >= BATCH_BYTES;
        each(batch)?;
        if !full {
            return Ok(());
        }
    }
}

/// The digest of `table`'s rows, as [`scan`] reads them; `rows` is told each batch's size.
fn scan_digest(
    conn: &mut impl Sql,
    table: &Table,
    rows: &mut dyn FnMut(u64),
) -> Result<(u64, String), StorageError> {
    let mut digest = Sha256::new();
    let mut count = 0;
    scan(conn, table, &mut |batch| {
        for row in &batch {
            digest_row(&mut digest, row);
        }
        count += batch.len() as u64;
        rows(batch.len() as u64);
        Ok(())
    })?;
    Ok((count, hex(&digest.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// Copies `table` from `from` into `to` (emptied first unless it holds copied rows, which it
/// cannot: the target was checked empty); returns its row count and digest, as read.
fn copy_table(
    from: &mut impl Sql,
    to: &mut impl Sql,
    target: Engine,
    table: &Table,
    rows: &mut dyn FnMut(u64),
) -> Result<(u64, String), StorageError> {
    if table.kind != Kind::Rows {
        to.execute(&format!("DELETE FROM {}", table.name), &[])
            .map_err(doing("emptying a table before the copy"))?;
    }
    let columns = table.columns.join(", ");
    let width = table.columns.len();
    let values_of = |rows: usize| {
        (0..rows)
            .map(|row| {
                let marks: Vec<String> = (1..=width)
                    .map(|column| format!("?{}", row * width + column))
                    .collect();
                format!("({})", marks.join(", "))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let many = format!(
        "INSERT INTO {} ({columns}) VALUES {}",
        table.name,
        values_of(ROWS_PER_INSERT)
    );
    let one = format!(
        "INSERT INTO {} ({columns}) VALUES {}",
        table.name,
        values_of(1)
    );
    let body = (table.name == "revisions" && target == Engine::Sqlite).then(|| {
        let at = |name: &str| table.columns.iter().position(|c| c == name);
        (at("format"), at("body"))
    });
    let mut digest = Sha256::new();
    let mut count = 0;
    scan(from, table, &mut |mut batch| {
        for row in &mut batch {
            digest_row(&mut digest, row);
            if let Some((Some(format), Some(body))) = body {
                sqlite_body(row, format, body)?;
            }
        }
        for chunk in batch.chunks(ROWS_PER_INSERT) {
            if chunk.len() == ROWS_PER_INSERT {
                let params: Vec<&dyn Param> =
                    chunk.iter().flatten().map(|v| v as &dyn Param).collect();
                to.execute(&many, &params)
                    .map_err(doing("writing copied rows"))?;
                continue;
            }
            for row in chunk {
                let params: Vec<&dyn Param> = row.iter().map(|v| v as &dyn Param).collect();
                to.execute(&one, &params)
                    .map_err(doing("writing copied rows"))?;
            }
        }
        count += batch.len() as u64;
        rows(batch.len() as u64);
        Ok(())
    })?;
    Ok((count, hex(&digest.finalize())))
}

/// A revision's body as SQLite keeps it: text for the formats that hold the text itself (`plain`,
/// `current`), bytes for the compressed ones. PostgreSQL keeps every body as bytes.
fn sqlite_body(row: &mut [Value], format: usize, body: usize) -> Result<(), StorageError> {
    let is_text = matches!(&row[format], Value::Text(f) if f == "plain" || f == "current");
    if !is_text {
        return Ok(());
    }
    if let Value::Blob(bytes) = &row[body] {
        let text = String::from_utf8(bytes.clone()).map_err(|_| StorageError::Invalid {
            what: "a revision stored as plain text is not UTF-8".to_owned(),
        })?;
        row[body] = Value::Text(text);
    }
    Ok(())
}

/// Sets each page's newest change (`pages.last_change`, which the target's trigger set as the
/// revisions went in) to the source's.
fn restore_last_changes(from: &mut impl Sql, to: &mut impl Sql) -> Result<(), StorageError> {
    let pages = Table {
        name: "pages",
        kind: Kind::Rows,
        columns: vec!["id".to_owned(), "last_change".to_owned()],
        key: vec!["id".to_owned()],
    };
    scan(from, &pages, &mut |batch| {
        for row in &batch {
            to.execute(
                "UPDATE pages SET last_change = ?1 WHERE id = ?2 AND last_change <> ?1",
                &[&row[1], &row[0]],
            )
            .map_err(doing("setting the pages' newest changes"))?;
        }
        Ok(())
    })
}

/// Turns PostgreSQL's own triggers (not those of foreign keys) of every table off or on
/// (`switch` is `DISABLE` or `ENABLE`), in the copy's transaction: undone with it if it fails.
/// Needs the tables' owner, which is who migrated them.
fn set_triggers(to: &mut impl Sql, tables: &[Table], switch: &str) -> Result<(), StorageError> {
    for table in tables {
        to.execute_batch(&format!("ALTER TABLE {} {switch} TRIGGER USER", table.name))
            .map_err(doing(
                "turning the target's triggers off or on for the copy",
            ))?;
    }
    Ok(())
}

/// Moves every identity sequence of PostgreSQL past the largest id copied into its table.
fn move_sequences(to: &mut impl Sql) -> Result<(), StorageError> {
    let identities = to
        .query_map(
            "SELECT CAST(c.relname AS TEXT), CAST(a.attname AS TEXT)
             FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid
             WHERE n.nspname = current_schema() AND a.attidentity <> ''
             ORDER BY c.relname",
            &[],
            |row| Ok((row.get::<String>(0)?, row.get::<String>(1)?)),
        )
        .map_err(doing("finding the identity columns"))?;
    for (table, column) in identities {
        // No row, no move: setval of NULL changes nothing.
        to.query_each(
            &format!(
                "SELECT setval(pg_get_serial_sequence(?1, ?2), (SELECT max({column}) FROM {table}))"
            ),
            &[&table, &column],
            &mut |_| Ok(true),
        )
        .map_err(doing("moving an identity sequence"))?;
    }
    Ok(())
}

/// Reads every table of the committed copy back and compares its count and digest with the
/// source's.
fn check_copy(
    to: &mut Conn,
    tables: &[Table],
    expected: &[(&'static str, (u64, String))],
    total: u64,
    progress: &mut impl FnMut(CopyProgress),
) -> Result<CopyReport, StorageError> {
    let mut snapshot = to
        .transaction(TxKind::Read)
        .map_err(doing("starting to check the copy"))?;
    let mut done = 0;
    let mut report = CopyReport {
        tables: Vec::with_capacity(tables.len()),
        revisions_digest: String::new(),
    };
    for (name, (rows, digest)) in expected {
        let table = tables
            .iter()
            .find(|table| table.name == *name)
            .expect("every digest is of a planned table");
        let (found_rows, found) = scan_digest(&mut snapshot, table, &mut |rows| {
            done += rows;
            progress(CopyProgress {
                table: table.name,
                checking: true,
                rows: done,
                total,
            });
        })?;
        if found_rows != *rows {
            return Err(StorageError::CopyMismatch {
                table: name.to_string(),
                problem: format!("{found_rows} rows in the copy, {rows} in the source"),
            });
        }
        if found != *digest {
            return Err(StorageError::CopyMismatch {
                table: name.to_string(),
                problem: "the rows differ".to_owned(),
            });
        }
        if *name == "revisions" {
            report.revisions_digest.clone_from(digest);
        }
        report.tables.push((name, *rows));
    }
    Ok(report)
}
