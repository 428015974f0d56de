//! Secrets every process of one wiki shares, kept in its database: today the keys that seal
//! session cookies.
//!
//! On SQLite a wiki's processes share the data directory, and the keys live in a file there. On
//! PostgreSQL the nodes of one wiki share nothing but the database, so a cookie sealed by one node
//! must be opened by the next one the balancer picks: the keys are a row here, made by the first
//! node that needs them and read by every other. They are stored as they are, not encrypted:
//! whoever can read this table can read (and write) every page and account anyway, so the
//! database's own access control is what protects them. An operator who wants them out of the
//! database names a file with `session_key_file` instead (see `docs/scaling.md`).

use crate::db::{Sql, TxKind};
use crate::error::{doing, StorageError};
use crate::Storage;

/// Migration 26 on SQLite (PostgreSQL's is `schema_pg/v26.sql`).
pub(crate) const SCHEMA: &str = "
    CREATE TABLE secrets (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
";

impl Storage {
    /// The secret called `name`; when there is none yet, `made` (a value the caller made for the
    /// purpose), stored first. Processes asking at once all get the one value stored: the first
    /// insert wins and the others read it.
    pub fn shared_secret(&self, name: &str, made: &str) -> Result<String, StorageError> {
        let mut conn = self.pool.get()?;
        let found = conn
            .query_opt(
                "SELECT value FROM secrets WHERE name = ?1",
                &[&name],
                |row| row.get(0),
            )
            .map_err(doing("reading a shared secret"))?;
        if let Some(value) = found {
            return Ok(value);
        }
        let mut tx = conn
            .transaction(TxKind::Write)
            .map_err(doing("storing a shared secret"))?;
        tx.execute(
            "INSERT INTO secrets (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            &[&name, &made],
        )
        .map_err(doing("storing a shared secret"))?;
        let stored = tx
            .query_one(
                "SELECT value FROM secrets WHERE name = ?1",
                &[&name],
                |row| row.get(0),
            )
            .map_err(doing("reading a shared secret"))?;
        tx.commit().map_err(doing("storing a shared secret"))?;
        Ok(stored)
    }

    /// Replaces the secret called `name` (a rotated key), making it if there is none.
    pub fn set_shared_secret(&self, name: &str, value: &str) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        let mut tx = conn
            .transaction(TxKind::Write)
            .map_err(doing("storing a shared secret"))?;
        tx.execute(
            "INSERT INTO secrets (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[&name, &value],
        )
        .map_err(doing("storing a shared secret"))?;
        tx.commit().map_err(doing("storing a shared secret"))
    }
}

#[cfg(test)]
mod tests {
    use crate::db::testing::each_storage;

    #[test]
    fn the_first_secret_made_is_the_one_everyone_reads_until_it_is_replaced() {
        for storage in each_storage() {
            let engine = storage.engine();
            let first = storage.shared_secret("session", "one").unwrap();
            assert_eq!(first, "one", "{engine}");
            let again = storage.shared_secret("session", "another").unwrap();
            assert_eq!(again, "one", "{engine}");
            storage.set_shared_secret("session", "two").unwrap();
            let rotated = storage.shared_secret("session", "another").unwrap();
            assert_eq!(rotated, "two", "{engine}");
            assert_eq!(
                storage.shared_secret("other", "three").unwrap(),
                "three",
                "{engine}"
            );
        }
    }
}
