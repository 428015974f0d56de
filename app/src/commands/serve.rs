//! `quire serve`: the standalone HTTP server.

use anyhow::Context;
use gateway::http::HttpConfig;

use super::Setup;
use crate::cli::ServeOptions;

/// Serves until interrupted. With `--dev`, theme overrides are reloaded when they change.
pub fn run(setup: &Setup, options: &ServeOptions) -> anyhow::Result<()> {
    let app = if options.dev {
        tracing::info!(
            "development mode: templates and assets in {} are reloaded when they change",
            setup.data.root().join("themes").display()
        );
        setup.dev_app()?
    } else {
        setup.app()?
    };
    let listen = &setup.settings.listen;
    tracing::info!(
        "quire serving http://{listen}/ from {}",
        setup.data.root().display()
    );
    let config = HttpConfig {
        gateway: setup.gateway_config(),
        ..HttpConfig::default()
    };
    gateway::http::serve(listen, app, config).with_context(|| {
        format!(
            "could not serve HTTP on {listen}; is the address in use? pick another with --listen"
        )
    })
}
