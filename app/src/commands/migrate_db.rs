//! `quire migrate-db --to URL`: copies the whole wiki (every page with its history, accounts,
//! files, ACL lines, drafts, watches, the mail queue and the audit log) into another, empty
//! database: PostgreSQL, to run several nodes on one wiki, or an SQLite file, to come back. The
//! copy itself, and its check (counts and digests of every table read back), are storage's
//! (`Storage::copy_into`).
//!
//! The source is the wiki as every command opens it ([`super::Setup::storage`]),
//! whichever database it is on. The target is written in one transaction: a copy that fails
//! leaves it empty, and an SQLite file this command made for it is removed.

use std::path::PathBuf;

use anyhow::{bail, Context};
use storage::Storage;

use super::{KeysPlace, Progress, Setup, SESSION_KEYS_SECRET};
use crate::cli::MigrateDbOptions;

/// Connections the copy opens to a PostgreSQL target: it writes on one.
const TARGET_CONNECTIONS: usize = 2;

/// Where `--to` says the copy goes.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
    /// An SQLite file, `sqlite:PATH`.
    Sqlite(PathBuf),
}

impl Target {
    fn parse(to: &str) -> anyhow::Result<Target> {
        if to.starts_with("postgres://") || to.starts_with("postgresql://") {
            return Ok(Target::Postgres(to.to_owned()));
        }
        match to.strip_prefix("sqlite:") {
            Some(path) if !path.is_empty() => Ok(Target::Sqlite(PathBuf::from(path))),
            _ => bail!(
                "--to {} is not a database quire can copy into: give postgres://USER@HOST/DB \
                 (add ?sslmode=require for TLS) or sqlite:PATH",
                shown(to)
            ),
        }
    }
}

/// `url` without its password, for messages.
fn shown(url: &str) -> String {
    storage::shown_database_url(url)
}

/// Copies; progress on stderr, the summary on stdout.
pub fn run(setup: &Setup, options: &MigrateDbOptions) -> anyhow::Result<()> {
    let target = Target::parse(&options.to)?;
    let source = setup.storage()?;
    let (into, made) = match &target {
        Target::Postgres(url) => (
            Storage::open_postgres(url, setup.data.root(), TARGET_CONNECTIONS).with_context(
                || format!("could not open the PostgreSQL database {}", shown(url)),
            )?,
            None,
        ),
        Target::Sqlite(path) => {
            let made = (!path.exists()).then(|| path.clone());
            let storage = Storage::open(path).with_context(|| {
                format!(
                    "could not open or create the SQLite database {}",
                    path.display()
                )
            })?;
            (storage, made)
        }
    };
    let shown_target = shown(&options.to);
    let mut progress = Progress::new("rows copied, then checked", options.quiet);
    let copied = source.copy_into(&into, |step| {
        let done = if step.checking {
            step.total + step.rows
        } else {
            step.rows
        };
        progress.set(done, step.total * 2);
    });
    progress.finish();
    // The session keys go along into PostgreSQL, where its nodes look for them, when this wiki
    // keeps them in a file: nobody is logged out by the move.
    let copied = copied.and_then(|report| {
        let keys_in_a_file = matches!(
            KeysPlace::of(&setup.settings, &setup.data),
            Ok(KeysPlace::File(_))
        );
        if matches!(target, Target::Postgres(_)) && keys_in_a_file {
            into.set_shared_secret(SESSION_KEYS_SECRET, &setup.session_keys.to_file_text())?;
        }
        Ok(report)
    });
    drop(into);
    let report = match copied {
        Ok(report) => report,
        Err(err) => {
            if let Some(path) = made {
                // Nothing of a failed copy into a file made for it stays behind.
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            return Err(err)
                .with_context(|| format!("could not copy the wiki into {shown_target}"));
        }
    };
    let count = |table: &str| {
        report
            .tables
            .iter()
            .find(|(name, _)| *name == table)
            .map_or(0, |(_, rows)| *rows)
    };
    println!(
        "copied the wiki into {shown_target}: {} pages, {} revisions, {} accounts, {} file \
         versions; {} rows in {} tables, each read back and checked",
        count("pages"),
        count("revisions"),
        count("users"),
        count("file_versions"),
        report.rows(),
        report.tables.len(),
    );
    println!(
        "the search index is not copied: each node builds its own. Stop the wiki, point it at the \
         new database, and start it again; its session keys went along, so nobody is logged out"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_postgres_urls_or_sqlite_paths() {
        assert_eq!(
            Target::parse("postgres://wiki@db/wiki").unwrap(),
            Target::Postgres("postgres://wiki@db/wiki".to_owned())
        );
        assert_eq!(
            Target::parse("postgresql://db/wiki").unwrap(),
            Target::Postgres("postgresql://db/wiki".to_owned())
        );
        assert_eq!(
            Target::parse("sqlite:/srv/new.sqlite3").unwrap(),
            Target::Sqlite(PathBuf::from("/srv/new.sqlite3"))
        );
        for bad in ["sqlite:", "mysql://wiki@db/wiki", "/srv/new.sqlite3", ""] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn messages_show_no_password() {
        let err = Target::parse("pg://wiki:s3cret@db/wiki").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert_eq!(
            shown("postgres://wiki:s3cret@db/wiki"),
            "postgres://wiki@db/wiki"
        );
    }
}
