//! `quire serve`: the standalone HTTP server.

use anyhow::Context;
use gateway::http::HttpConfig;

use super::Setup;

/// Serves until interrupted.
pub fn run(setup: &Setup) -> anyhow::Result<()> {
    let app = setup.app()?;
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
