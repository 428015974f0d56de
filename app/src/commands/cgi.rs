//! `quire cgi`: answer one request from the CGI environment.

use std::io::Write;
use std::path::Path;

use super::Setup;
use crate::cli::GlobalOptions;
use crate::config::ListenFlags;

/// Answers one CGI request. If the wiki cannot even start (no wiki in the
/// data directory, an unreadable one, a broken quire.toml), the client still
/// gets a proper 500 response, and the reason, with its fix, goes to stderr,
/// which is the web server's error log. A missing data directory is never
/// created here: without `QUIRE_DATA` that would be a wiki in whatever
/// directory the web server runs CGI programs in.
pub fn run(global: &GlobalOptions) -> anyhow::Result<()> {
    let started = Setup::existing(global, ListenFlags::default()).and_then(|setup| {
        let database = setup.data.database_path();
        Ok((setup.cgi_app()?, setup.gateway_config(), database))
    });
    match started {
        Ok((app, config, database)) => {
            let answered = gateway::cgi::run(&*app, &config);
            if write_ahead_log_is_empty(&database) {
                // The process ends here: taking the wiki apart (templates, caches, SQLite's
                // connections) would only delay the exit the web server waits for. Nothing is
                // lost: every commit is already durable.
                std::mem::forget(app);
            } else {
                // A CGI process is most often the only one with the database open, and the first
                // to open it rebuilds the write-ahead log's index by reading every frame of the
                // log: a log left behind costs every later process (a 4 MB one, a third of a
                // view). The last connection to close checkpoints the log and removes it, so a
                // process that wrote, or found a log, closes its connections.
                drop(app);
            }
            Ok(answered?)
        }
        Err(err) => {
            tracing::error!("quire could not start: {err:#}");
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(
                b"Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                  The wiki could not start. The reason is in the web server's error log.\n",
            )?;
            stdout.flush()?;
            Ok(())
        }
    }
}

/// Whether the database at `database` has no write-ahead log with anything in it.
fn write_ahead_log_is_empty(database: &Path) -> bool {
    let mut log = database.as_os_str().to_owned();
    log.push("-wal");
    std::fs::metadata(log).map_or(true, |meta| meta.len() == 0)
}
