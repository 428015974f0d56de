//! `quire scgi`: an SCGI server on a socket it binds or inherits, for
//! nginx's `scgi_pass`, Apache's mod_proxy_scgi or lighttpd's mod_scgi.

use gateway::server::Protocol;

use super::fastcgi::{bind, inherited, no_socket, serve};
use super::Setup;

/// Serves SCGI on `listen` (or the socket on standard input) until SIGTERM
/// or SIGINT.
pub fn run(setup: &Setup) -> anyhow::Result<()> {
    let listener = match setup.settings.scgi_listen.as_deref() {
        Some(spec) => bind(spec)?,
        None => inherited()?.ok_or_else(|| no_socket("scgi", "scgi.sock"))?,
    };
    serve(setup, listener, Protocol::Scgi)
}
