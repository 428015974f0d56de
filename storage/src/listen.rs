//! Hearing of other nodes' writes: on PostgreSQL, the schema's triggers `NOTIFY quire_changes` on
//! every new revision and file version, and a node's search indexer listens, so a save on one node
//! is searchable on the others within moments. Notifications are a wake-up, not a record: what
//! changed is always read from the revision log, so a notification lost with a connection only
//! delays the next look until the caller's own poll.

use std::time::Duration;

use crate::db::PgListener;
use crate::error::{doing, StorageError};
use crate::Storage;

/// A node's ear for other nodes' writes (see the module doc).
pub struct ChangeListener(PgListener);

impl Storage {
    /// A listener for writes by other processes, on PostgreSQL; `None` on SQLite, where the
    /// processes sharing a data directory look at the revision log instead (it costs two indexed
    /// reads). It opens a connection of its own, outside the pool, when first used.
    pub fn change_listener(&self) -> Option<ChangeListener> {
        self.pool.listener().map(ChangeListener)
    }
}

impl ChangeListener {
    /// Waits at most `timeout` for a write anywhere in the wiki; whether one was heard. After an
    /// error (the database restarting, say) the caller waits a little and calls again: the
    /// connection is made anew.
    pub fn wait(&mut self, timeout: Duration) -> Result<bool, StorageError> {
        self.0
            .wait(timeout)
            .map_err(doing("listening for other nodes' changes"))
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crate::db::testing::{Fresh, TEST_DATABASE};
    use crate::Storage;

    #[test]
    fn sqlite_has_no_listener() {
        assert!(Storage::open_in_memory()
            .unwrap()
            .change_listener()
            .is_none());
    }

    /// A node hears a write by another node sharing the database, at once, and hears nothing
    /// when nothing is written.
    #[test]
    fn one_node_hears_another_nodes_write() {
        if std::env::var(TEST_DATABASE).is_err() {
            return;
        }
        let Fresh::Postgres(target) = Fresh::postgres_for_tests() else {
            unreachable!("postgres_for_tests makes a PostgreSQL database");
        };
        let spool = std::env::temp_dir();
        let node = |target: &crate::db::Target| {
            Storage::open_postgres_target(target.clone(), "postgres://test", &spool, 2).unwrap()
        };
        let (listening, writing) = (node(&target), node(&target));
        let mut listener = listening
            .change_listener()
            .expect("a listener on PostgreSQL");
        // Other tests' writes on the server are in other schemas: not heard.
        assert!(!listener.wait(Duration::from_millis(300)).unwrap());

        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            writing
                .save(crate::Save {
                    page: "Heard",
                    text: "on the other node",
                    author: "alice",
                    comment: "",
                    base_rev: None,
                    time: None,
                })
                .unwrap();
        });
        let started = Instant::now();
        assert!(listener.wait(Duration::from_secs(30)).unwrap());
        assert!(started.elapsed() < Duration::from_secs(30));
        writer.join().unwrap();
    }
}
