//! The schema on PostgreSQL, versioned in step with SQLite's (`crate::schema`).
//!
//! A new PostgreSQL database is brought to version 22 in one step: PostgreSQL came after SQLite's
//! first 22 migrations, so it starts from their result ([`V22`]). Every later version adds one
//! step here and one in `schema.rs`, so both engines name the same schema by the same number.
//!
//! The version lives in `quire_schema`. Migration runs in one transaction under an advisory lock
//! held for the session ([`MIGRATION_LOCK`]): when several nodes start at once, one migrates and
//! the others wait, then find nothing to do, as SQLite's `BEGIN IMMEDIATE` does for processes.

use crate::db::{Conn, DbError, Sql};
use crate::error::StorageError;
use crate::schema::SCHEMA_VERSION;

/// quire's schema at version 22 in PostgreSQL's spelling.
const V22: &str = include_str!("v22.sql");

/// The steps after version 22, each `(version, statements)`, the same versions as SQLite's
/// migrations. Append only.
const STEPS: &[(u32, &str)] = &[
    (23, include_str!("v23.sql")),
    (24, include_str!("v24.sql")),
    (25, include_str!("v25.sql")),
    (26, include_str!("v26.sql")),
];

/// The advisory lock key of migrations ("qmig" in ASCII), distinct from writes' key; paired with
/// the schema's name, as writes' is (`db::pg`).
const MIGRATION_LOCK: i32 = 0x716d_6967;

/// The schema version of a PostgreSQL schema made by [`V22`].
const FIRST_VERSION: u32 = 22;

/// Brings the database behind `conn` to [`SCHEMA_VERSION`], or refuses it: a newer quire's
/// database, or a database that already holds other tables than quire's.
pub(crate) fn migrate(conn: &mut Conn, shown: &str) -> Result<(), StorageError> {
    let opening = |doing: &'static str| move |err: DbError| StorageError::database(doing, err);
    conn.query_one(
        "SELECT pg_advisory_lock(CAST(?1 AS INTEGER), hashtext(current_schema()))",
        &[&MIGRATION_LOCK],
        |_| Ok(()),
    )
    .map_err(opening("waiting for other nodes' schema migration"))?;
    let migrated = migrate_locked(conn, shown);
    let unlocked = conn
        .query_one(
            "SELECT pg_advisory_unlock(CAST(?1 AS INTEGER), hashtext(current_schema()))",
            &[&MIGRATION_LOCK],
            |_| Ok(()),
        )
        .map_err(opening("ending the schema migration"));
    migrated.and(unlocked)
}

fn migrate_locked(conn: &mut Conn, shown: &str) -> Result<(), StorageError> {
    let found = version(conn, shown)?;
    if found > SCHEMA_VERSION {
        return Err(StorageError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let mut tx = conn
        .transaction(crate::db::TxKind::Write)
        .map_err(|err| StorageError::database("starting the schema migration", err))?;
    let mut batch = |sql: &str| {
        tx.execute_batch(sql)
            .map_err(|err| StorageError::database("migrating the database schema", err))
    };
    if found == 0 {
        tracing::info!(database = shown, "creating quire's tables in PostgreSQL");
        batch(
            "CREATE TABLE quire_schema (id BIGINT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL)",
        )?;
        batch(V22)?;
        batch(&format!(
            "INSERT INTO quire_schema (id, version) VALUES (1, {FIRST_VERSION})"
        ))?;
    }
    let from = found.max(FIRST_VERSION);
    for (step, sql) in STEPS.iter().filter(|(step, _)| *step > from) {
        tracing::debug!(version = step, "migrating the database schema");
        batch(sql)?;
    }
    tx.execute(
        "UPDATE quire_schema SET version = ?1 WHERE id = 1",
        &[&SCHEMA_VERSION],
    )
    .map_err(|err| StorageError::database("recording the schema version", err))?;
    tx.commit()
        .map_err(|err| StorageError::database("committing the schema migration", err))
}

/// The schema version of the database; 0 for an empty one. A database with tables but no
/// `quire_schema` is another program's.
fn version(conn: &mut Conn, shown: &str) -> Result<u32, StorageError> {
    let reading = |err| StorageError::database("reading the schema version", err);
    let has_version = conn
        .query_one(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_name = 'quire_schema'",
            &[],
            |row| row.get::<u64>(0),
        )
        .map_err(reading)?
        > 0;
    if has_version {
        let version = conn
            .query_one(
                "SELECT version FROM quire_schema WHERE id = 1",
                &[],
                |row| row.get::<u32>(0),
            )
            .map_err(reading)?;
        return Ok(version);
    }
    let tables = conn
        .query_one(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM information_schema.tables
             WHERE table_schema = current_schema()",
            &[],
            |row| row.get::<u64>(0),
        )
        .map_err(reading)?;
    if tables > 0 {
        return Err(StorageError::ForeignDatabase { path: shown.into() });
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::{each_engine, Fresh};
    use crate::db::Engine;

    #[test]
    fn postgres_reaches_the_current_version_once_and_refuses_others_databases() {
        for fresh in each_engine() {
            let Fresh::Postgres(_) = &fresh else { continue };
            let mut conn = fresh.connect();
            migrate(&mut conn, "test").unwrap();
            migrate(&mut conn, "test").unwrap();
            assert_eq!(version(&mut conn, "test").unwrap(), SCHEMA_VERSION);
            let counter = conn
                .query_one("SELECT n FROM change_counter", &[], |row| row.get::<i64>(0))
                .unwrap();
            assert_eq!(counter, 0);

            let other = Fresh::postgres_for_tests();
            let mut conn = other.connect();
            conn.execute_batch("CREATE TABLE someone_elses (x BIGINT)")
                .unwrap();
            assert!(matches!(
                migrate(&mut conn, "test"),
                Err(StorageError::ForeignDatabase { .. })
            ));
        }
    }

    /// Both engines' schemas have the same tables with the same columns, so every statement
    /// storage runs finds on PostgreSQL what it finds on SQLite.
    #[test]
    fn both_engines_have_the_same_tables_and_columns() {
        let mut sqlite = rusqlite::Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut sqlite, std::path::Path::new(":memory:")).unwrap();
        let mut sqlite_columns: Vec<(String, String)> = sqlite
            .prepare(
                "SELECT m.name, c.name FROM sqlite_master m, pragma_table_info(m.name) c
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
            )
            .unwrap()
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        sqlite_columns.sort();
        for fresh in each_engine() {
            let Fresh::Postgres(_) = &fresh else { continue };
            let mut conn = fresh.connect();
            migrate(&mut conn, "test").unwrap();
            let mut postgres_columns: Vec<(String, String)> = conn
                .query_map(
                    "SELECT CAST(table_name AS TEXT), CAST(column_name AS TEXT)
                     FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name <> 'quire_schema'",
                    &[],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .unwrap();
            postgres_columns.sort();
            assert_eq!(postgres_columns, sqlite_columns);
        }
    }

    /// The tables triggers keep (`link_names`, `backlinks`, `pages.last_change`, the change
    /// counter) end up the same on both engines after the same writes: pages created, saved with
    /// other links, renamed and removed.
    #[test]
    fn triggers_keep_the_same_tables_on_both_engines() {
        const WRITES: &[&str] = &[
            "INSERT INTO pages (id, name, current_rev) VALUES (1, 'A', 0)",
            "INSERT INTO revisions (id, page_id, rev, author, time, comment, size, size_delta, body)
             VALUES (1, 1, 1, 'ann', 10, '', 0, 0, '')",
            "INSERT INTO links (revision_id, target) VALUES (1, 'B'), (1, 'C'), (1, 'A')",
            "UPDATE pages SET current_rev = 1 WHERE id = 1",
            "INSERT INTO revisions (id, page_id, rev, author, time, comment, size, size_delta, body)
             VALUES (2, 1, 2, 'ann', 20, '', 0, 0, '')",
            "INSERT INTO links (revision_id, target) VALUES (2, 'B'), (2, 'D')",
            "UPDATE pages SET current_rev = 2 WHERE id = 1",
            "INSERT INTO pages (id, name, current_rev) VALUES (2, 'B', 0)",
            "INSERT INTO revisions (id, page_id, rev, author, time, comment, size, size_delta, body)
             VALUES (3, 2, 1, 'bob', 30, '', 0, 0, '')",
            "INSERT INTO links (revision_id, target) VALUES (3, 'A')",
            "UPDATE pages SET current_rev = 1 WHERE id = 2",
            "UPDATE pages SET name = 'A2' WHERE id = 1",
            "UPDATE pages SET deleted = 1 WHERE id = 2",
            "DELETE FROM links WHERE revision_id = 2 AND target = 'D'",
        ];
        const READS: &[&str] = &[
            "SELECT name || ':' || CAST(live AS TEXT) || ':' || CAST(sources AS TEXT)
             FROM link_names ORDER BY name",
            "SELECT target || '<' || source FROM backlinks ORDER BY target, source",
            "SELECT name || '@' || CAST(last_change AS TEXT) FROM pages ORDER BY name",
            "SELECT CAST(n AS TEXT) FROM change_counter",
        ];
        let mut sqlite = rusqlite::Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut sqlite, std::path::Path::new(":memory:")).unwrap();
        let mut sqlite = Conn::Sqlite(sqlite);
        let mut engines = vec![(Engine::Sqlite, &mut sqlite as &mut Conn)];
        let fresh: Vec<Fresh> = each_engine()
            .into_iter()
            .filter(|fresh| matches!(fresh, Fresh::Postgres(_)))
            .collect();
        let mut postgres: Vec<Conn> = fresh.iter().map(Fresh::connect).collect();
        for conn in &mut postgres {
            migrate(conn, "test").unwrap();
            engines.push((Engine::Postgres, conn));
        }
        let mut seen: Vec<(Engine, Vec<Vec<String>>)> = Vec::new();
        for (engine, conn) in engines {
            for write in WRITES {
                conn.execute(write, &[])
                    .unwrap_or_else(|err| panic!("{engine}: {write}: {err}"));
            }
            let tables = READS
                .iter()
                .map(|read| {
                    conn.query_map(read, &[], |row| row.get::<String>(0))
                        .unwrap_or_else(|err| panic!("{engine}: {read}: {err}"))
                })
                .collect();
            seen.push((engine, tables));
        }
        let (_, on_sqlite) = &seen[0];
        // A2 links to B; B, deleted, still has its current revision linking to A.
        assert_eq!(on_sqlite[1], ["A<B", "B<A2"], "SQLite's own backlinks");
        for (engine, tables) in &seen[1..] {
            assert_eq!(tables, on_sqlite, "{engine} against SQLite");
        }
    }

    /// The one-row tables (counters and scan marks) start with their row on both engines, as
    /// the statements that update them in place expect.
    #[test]
    fn both_engines_start_with_the_same_single_rows() {
        const ROWS: &str = "SELECT (SELECT COUNT(*) FROM render_epoch) * 1000
                 + (SELECT COUNT(*) FROM acl_scan) * 100 + (SELECT COUNT(*) FROM group_scan) * 10
                 + (SELECT COUNT(*) FROM change_counter)";
        let mut sqlite = rusqlite::Connection::open_in_memory().unwrap();
        crate::schema::migrate(&mut sqlite, std::path::Path::new(":memory:")).unwrap();
        let mut sqlite = Conn::Sqlite(sqlite);
        let on_sqlite = sqlite
            .query_one(ROWS, &[], |row| row.get::<i64>(0))
            .unwrap();
        assert_eq!(on_sqlite, 1111);
        for fresh in each_engine() {
            let Fresh::Postgres(_) = &fresh else { continue };
            let mut conn = fresh.connect();
            migrate(&mut conn, "test").unwrap();
            let rows = conn.query_one(ROWS, &[], |row| row.get::<i64>(0)).unwrap();
            assert_eq!(rows, on_sqlite);
        }
    }

    #[test]
    fn every_step_is_newer_than_the_first_and_the_last_is_the_current_version() {
        let mut last = FIRST_VERSION;
        for (step, _) in STEPS {
            assert_eq!(*step, last + 1);
            last = *step;
        }
        assert_eq!(last, SCHEMA_VERSION);
    }
}
