//! `quire fastcgi`: a FastCGI responder on a socket it binds or inherits;
//! and what every socket gateway command shares (`quire scgi`, and `quire`
//! spawned by a web server with a listening socket on standard input):
//! serving until SIGTERM or SIGINT, then stopping gracefully.

use anyhow::Context;
use gateway::listener::Listener;
use gateway::server::{Protocol, Server, ServerConfig};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::Setup;

/// Serves FastCGI until SIGTERM or SIGINT.
pub fn run(setup: &Setup) -> anyhow::Result<()> {
    let listener = match setup.settings.fastcgi_listen.as_deref() {
        Some(spec) => bind(spec)?,
        None => inherited()?.ok_or_else(|| no_socket("fastcgi", "fcgi.sock"))?,
    };
    serve(setup, listener, Protocol::FastCgi)
}

/// Serves both FastCGI and SCGI on the listening socket on standard input,
/// telling them apart per connection: what `quire` with no command does
/// when a web server (mod_fcgid, lighttpd's `bin-path`) started it.
pub fn run_spawned(setup: &Setup) -> anyhow::Result<()> {
    let listener = inherited()?.ok_or_else(|| no_socket("fastcgi", "fcgi.sock"))?;
    serve(setup, listener, Protocol::Detect)
}

/// Binds `spec` (`HOST:PORT` or `unix:PATH`).
pub(crate) fn bind(spec: &str) -> anyhow::Result<Listener> {
    Listener::bind(spec).with_context(|| format!("could not listen on {spec}"))
}

/// The listening socket on standard input, if there is one.
pub(crate) fn inherited() -> anyhow::Result<Option<Listener>> {
    Listener::inherited_stdin().context("could not use the socket on standard input")
}

/// The error for a socket command with nowhere to listen.
pub(crate) fn no_socket(command: &str, socket: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "no address to listen on: pass --listen 127.0.0.1:9000 or --listen unix:/run/quire/{socket}, \
         or let a web server (mod_fcgid, lighttpd bin-path, spawn-fcgi) start `quire {command}` \
         with a listening socket on standard input"
    )
}

/// Serves `protocol` on `listener` until SIGTERM or SIGINT, then stops
/// accepting, lets running requests finish, and returns.
pub(crate) fn serve(setup: &Setup, listener: Listener, protocol: Protocol) -> anyhow::Result<()> {
    let app = setup.app()?;
    let config = ServerConfig {
        gateway: setup.gateway_config(),
        ..ServerConfig::default()
    };
    // Signals are caught before the server starts, so none can kill the
    // process between the two.
    let mut signals =
        Signals::new([SIGTERM, SIGINT]).context("could not set up SIGTERM and SIGINT handling")?;
    let signals_handle = signals.handle();
    let name = match protocol {
        Protocol::FastCgi => "FastCGI",
        Protocol::Scgi => "SCGI",
        Protocol::Detect => "FastCGI and SCGI",
    };
    tracing::info!(data = %setup.data.root().display(), listen = %listener, "quire serving {name}");
    let server = Server::start(listener, protocol, app, config)
        .with_context(|| format!("could not start the {name} server"))?;
    let shutdown = server.shutdown_handle();
    let watcher = std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                tracing::info!(signal, "stopping: finishing the requests in progress");
                shutdown.shutdown();
            }
        })
        .context("could not start the signal thread")?;
    let result = server.wait();
    signals_handle.close();
    let _ = watcher.join();
    result.with_context(|| format!("the {name} server stopped"))?;
    tracing::info!("stopped");
    Ok(())
}
