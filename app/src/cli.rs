//! The command line: `quire [GLOBAL OPTIONS] <COMMAND>`.
//!
//! Every option can also come from a `QUIRE_…` environment variable, and most
//! from `quire.toml` in the data directory; flags win over the environment,
//! which wins over the file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// quire: a self-hosted team wiki in one binary.
///
/// Run `quire serve` to use it on this machine. The same binary also answers
/// as a CGI program (drop it into a cgi-bin) and as a FastCGI or SCGI server
/// (behind nginx, Apache or lighttpd); with no command it detects which of
/// those a web server started it as.
#[derive(Debug, Parser)]
#[command(name = "quire", version, about, long_about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,

    #[command(subcommand)]
    pub command: Option<Command>,
}

const EXAMPLES: &str = "\
Examples:
  quire serve                                 # http://127.0.0.1:8080/, data in ./wiki-data
  quire --data /srv/wiki serve --listen 0.0.0.0:8080
  quire --data /srv/wiki fastcgi --listen unix:/run/quire/fcgi.sock
  quire --data /srv/wiki scgi --listen 127.0.0.1:4000
  QUIRE_DATA=/srv/wiki quire cgi              # what a cgi-bin does";

/// Options every command takes.
#[derive(Debug, Args, Default, Clone)]
pub struct GlobalOptions {
    /// The data directory: database, quire.toml, theme overrides. Created and
    /// seeded with help pages on first use [default: ./wiki-data].
    #[arg(long, env = "QUIRE_DATA", global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Serve under this URL prefix (such as /wiki) instead of the one the web
    /// server reports in SCRIPT_NAME; for servers that split paths wrongly.
    #[arg(long, env = "QUIRE_MOUNT", global = true, value_name = "PREFIX")]
    pub mount: Option<String>,

    /// Show error details in the browser. Never on a public wiki.
    #[arg(long, env = "QUIRE_DEBUG", global = true)]
    pub debug: bool,

    /// The largest request body accepted, in bytes [default: 8388608].
    #[arg(long, env = "QUIRE_MAX_BODY", global = true, value_name = "BYTES")]
    pub max_body: Option<u64>,
}

/// What to do.
#[derive(Debug, Subcommand, Clone)]
pub enum Command {
    /// Serve the wiki over HTTP (standalone, or behind a reverse proxy).
    ///
    /// Example: quire serve --listen 127.0.0.1:8080
    Serve(ServeOptions),
    /// Serve the wiki over FastCGI, for nginx, Apache or lighttpd.
    ///
    /// With --listen it binds a TCP address (127.0.0.1:9000) or a unix socket
    /// (unix:/run/quire/fcgi.sock). Without it, it expects the listening socket
    /// a web server hands over on standard input (mod_fcgid, lighttpd's
    /// bin-path, spawn-fcgi). SIGTERM or SIGINT stops it gracefully: requests
    /// in progress finish first.
    ///
    /// Example: quire fastcgi --listen unix:/run/quire/fcgi.sock
    Fastcgi(FastCgiOptions),
    /// Serve the wiki over SCGI, for nginx (scgi_pass), Apache
    /// (mod_proxy_scgi) or lighttpd (mod_scgi).
    ///
    /// With --listen it binds a TCP address (127.0.0.1:4000) or a unix socket
    /// (unix:/run/quire/scgi.sock). Without it, it expects a listening socket
    /// on standard input, as lighttpd's bin-path hands over. SIGTERM or
    /// SIGINT stops it gracefully: requests in progress finish first.
    ///
    /// Example: quire scgi --listen unix:/run/quire/scgi.sock
    Scgi(ScgiOptions),
    /// Answer one request as a CGI program (RFC 3875), from the environment
    /// and standard input a web server provides.
    ///
    /// The binary does this by itself when GATEWAY_INTERFACE is set, so it
    /// can be copied into a cgi-bin as is; set QUIRE_DATA in the server's
    /// configuration to a directory the server's user can write.
    Cgi,
    /// Create the data directory, its quire.toml and the help pages, and exit.
    ///
    /// Example: quire --data /srv/wiki init
    Init,
    /// Rebuild the search index from the pages, with a progress bar.
    ///
    /// The wiki keeps serving meanwhile: the new index is built beside the
    /// old one and replaces it when complete. Only needed after an upgrade
    /// that says so, or if the index in DATA/index was damaged or deleted
    /// (it is derived data; the pages are in the database).
    ///
    /// Example: quire --data /srv/wiki reindex
    Reindex(ReindexOptions),
}

/// Options of `quire reindex`.
#[derive(Debug, Args, Clone)]
pub struct ReindexOptions {
    /// Indexing threads, besides the one reading pages [default: 1].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress bar (for scripts and logs).
    #[arg(long)]
    pub quiet: bool,
}

/// Options of `quire serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeOptions {
    /// The address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "QUIRE_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// For theme work: files in DATA/themes/ are read again as soon as they change, so
    /// an edited template or stylesheet shows on the next page load, without a restart.
    #[arg(long, env = "QUIRE_DEV")]
    pub dev: bool,
}

/// Options of `quire fastcgi`.
#[derive(Debug, Args, Clone)]
pub struct FastCgiOptions {
    /// `HOST:PORT` or `unix:PATH`; absent, the socket inherited on standard input.
    #[arg(long, env = "QUIRE_FASTCGI_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
}

/// Options of `quire scgi`.
#[derive(Debug, Args, Clone)]
pub struct ScgiOptions {
    /// `HOST:PORT` or `unix:PATH`; absent, the socket inherited on standard input.
    #[arg(long, env = "QUIRE_SCGI_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_global_options_after_the_command() {
        let cli = Cli::try_parse_from([
            "quire",
            "serve",
            "--listen",
            "127.0.0.1:9",
            "--data",
            "/tmp/w",
        ])
        .unwrap();
        assert_eq!(cli.global.data, Some(PathBuf::from("/tmp/w")));
        assert!(
            matches!(cli.command, Some(Command::Serve(ServeOptions { listen: Some(ref l), .. })) if l == "127.0.0.1:9")
        );
    }

    #[test]
    fn refuses_unknown_flags() {
        assert!(Cli::try_parse_from(["quire", "serve", "--lisen", "x"]).is_err());
    }
}
