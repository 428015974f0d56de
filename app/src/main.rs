//! The `quire` binary: parses the command line, sets up logging, and hands
//! the one wiki app to the gateway the command (or the environment) asks for.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use quire::cli::{Cli, Command, FastCgiOptions};
use quire::commands::{self, Setup};

fn main() -> ExitCode {
    let cli = match started_as_cgi() {
        // A web server may pass a query's words as arguments (RFC 3875
        // §4.4); as a CGI program only the environment counts.
        true => Cli::try_parse_from(["quire"]).unwrap_or_else(|err| err.exit()),
        false => Cli::parse(),
    };
    let command = match cli.command.clone().or_else(detect_gateway) {
        Some(command) => command,
        None => {
            eprintln!(
                "quire: no command given, and not started by a web server as CGI or FastCGI.\n\
                 To run the wiki on this machine: quire serve\n\
                 For every command and option: quire --help"
            );
            return ExitCode::from(2);
        }
    };
    init_logging(&command);
    match run(&cli, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("quire: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(options) => {
            commands::serve::run(&Setup::new(&cli.global, options.listen.as_deref(), None)?)
        }
        Command::Fastcgi(options) => {
            commands::fastcgi::run(&Setup::new(&cli.global, None, options.listen.as_deref())?)
        }
        Command::Cgi => commands::cgi::run(&cli.global),
        Command::Init => commands::init::run(&Setup::new(&cli.global, None, None)?),
        Command::Reindex(options) => {
            commands::reindex::run(&Setup::new(&cli.global, None, None)?, &options)
        }
    }
}

fn started_as_cgi() -> bool {
    std::env::var_os("GATEWAY_INTERFACE").is_some()
}

/// With no command: CGI when the server set `GATEWAY_INTERFACE`, FastCGI
/// when standard input is a listening socket (mod_fcgid, lighttpd's
/// bin-path). A connected socket on stdin is not enough: Apache's mod_cgid
/// gives CGI programs one.
fn detect_gateway() -> Option<Command> {
    if started_as_cgi() {
        return Some(Command::Cgi);
    }
    if gateway::listener::stdin_is_listening_socket() {
        return Some(Command::Fastcgi(FastCgiOptions { listen: None }));
    }
    None
}

/// Logs go to stderr, never stdout: a CGI program's stdout is its response.
fn init_logging(command: &Command) {
    let default_level = match command {
        // A CGI's stderr is the web server's error log: only problems.
        Command::Cgi => "warn",
        _ => "info",
    };
    let filter =
        EnvFilter::try_from_env("QUIRE_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
