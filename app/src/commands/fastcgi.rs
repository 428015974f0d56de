//! `quire fastcgi`: a FastCGI responder on a socket it binds or inherits.

use anyhow::{bail, Context};
use gateway::fastcgi::FastCgiConfig;
use gateway::listener::Listener;

use super::Setup;

/// Serves FastCGI until the listener closes.
pub fn run(setup: &Setup) -> anyhow::Result<()> {
    let listener = match setup.settings.fastcgi_listen.as_deref() {
        Some(spec) => Listener::bind(spec).with_context(|| format!("could not listen on {spec}"))?,
        None => match Listener::inherited_stdin().context("could not use the socket on standard input")? {
            Some(listener) => listener,
            None => bail!(
                "no address to listen on: pass --listen 127.0.0.1:9000 or --listen unix:/run/quire/fcgi.sock, \
                 or let a web server (mod_fcgid, lighttpd bin-path, spawn-fcgi) start quire with a listening socket on standard input"
            ),
        },
    };
    let app = setup.app()?;
    tracing::info!(data = %setup.data.root().display(), "quire serving FastCGI");
    let config = FastCgiConfig {
        gateway: setup.gateway_config(),
        ..FastCgiConfig::default()
    };
    gateway::fastcgi::serve(listener, app, config).context("the FastCGI server stopped")
}
