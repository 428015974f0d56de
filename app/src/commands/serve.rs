//! `quire serve`: the standalone HTTP server.

use std::net::TcpListener;

use anyhow::Context;
use gateway::http::HttpConfig;

use super::Setup;
use crate::cli::{GlobalOptions, ServeOptions};
use crate::config::ListenFlags;

/// Serves until interrupted. The first run, on a data directory with no wiki, makes one there and
/// says so. With `--dev`, theme overrides are reloaded when they change.
pub fn run(
    global: &GlobalOptions,
    flags: ListenFlags<'_>,
    options: &ServeOptions,
) -> anyhow::Result<()> {
    let first_run = !super::locate(global)?.holds_wiki();
    let setup = Setup::new(global, flags)?;
    let app = if options.dev {
        tracing::info!(
            "development mode: templates and assets in {} are reloaded when they change",
            setup.data.root().join("themes").display()
        );
        setup.dev_app()?
    } else {
        setup.app()?
    };
    let root = setup.data.root();
    let shown = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    if first_run {
        // One line, since a mistyped --data lands here too: where the new wiki is.
        tracing::info!(
            "created a new wiki in {} (to use another, pass --data DIR or set QUIRE_DATA)",
            shown.display()
        );
    }
    let listen = &setup.settings.listen;
    let listener = TcpListener::bind(listen).with_context(|| {
        format!(
            "could not serve HTTP on {listen}; is the address in use? pick another with --listen"
        )
    })?;
    // Only once bound: an address in the log is one that answers.
    let addr = listener.local_addr().context("the bound address")?;
    tracing::info!("quire serving http://{addr}/ from {}", shown.display());
    let config = HttpConfig {
        gateway: setup.gateway_config(),
        ..HttpConfig::default()
    };
    gateway::http::serve_listener(listener, app, config)
        .with_context(|| format!("could not serve HTTP on {addr}"))
}
