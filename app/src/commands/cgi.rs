//! `quire cgi`: answer one request from the CGI environment.

use std::io::Write;

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
    let started = Setup::existing(global, ListenFlags::default())
        .and_then(|setup| Ok((setup.cgi_app()?, setup.gateway_config())));
    match started {
        Ok((app, config)) => {
            let answered = gateway::cgi::run(&*app, &config);
            // The process ends here: taking the wiki apart (templates, caches, SQLite's
            // connections, whose close checkpoints the write-ahead log) would only delay the exit
            // the web server waits for. Nothing is lost: every commit is already durable, and the
            // next writer checkpoints the log when it grows.
            std::mem::forget(app);
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
