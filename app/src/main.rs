//! The `quire` binary: parses the command line, sets up logging, and hands
//! the one wiki app to the gateway the command (or the environment) asks for.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use quire::cli::{Cli, Command};
use quire::commands::{self, Setup};
use quire::config::ListenFlags;

fn main() -> ExitCode {
    let cli = match started_as_cgi() {
        // A web server may pass a query's words as arguments (RFC 3875
        // §4.4); as a CGI program only the environment counts.
        true => Cli::try_parse_from(["quire"]).unwrap_or_else(|err| err.exit()),
        false => Cli::parse(),
    };
    let mode = match cli
        .command
        .clone()
        .map(Mode::Command)
        .or_else(detect_gateway)
    {
        Some(mode) => mode,
        None => {
            eprintln!(
                "quire: no command given, and not started by a web server as CGI, FastCGI or SCGI.\n\
                 To run the wiki on this machine: quire serve\n\
                 For every command and option: quire --help"
            );
            return ExitCode::from(2);
        }
    };
    init_logging(&mode);
    let result = match mode {
        Mode::Command(command) => run(&cli, command),
        Mode::Spawned => Setup::new(&cli.global, ListenFlags::default())
            .and_then(|setup| commands::fastcgi::run_spawned(&setup)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("quire: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(options) => commands::serve::run(
            &Setup::new(
                &cli.global,
                ListenFlags {
                    http: options.listen.as_deref(),
                    ..ListenFlags::default()
                },
            )?,
            &options,
        ),
        Command::Fastcgi(options) => commands::fastcgi::run(&Setup::new(
            &cli.global,
            ListenFlags {
                fastcgi: options.listen.as_deref(),
                ..ListenFlags::default()
            },
        )?),
        Command::Scgi(options) => commands::scgi::run(&Setup::new(
            &cli.global,
            ListenFlags {
                scgi: options.listen.as_deref(),
                ..ListenFlags::default()
            },
        )?),
        Command::Cgi => commands::cgi::run(&cli.global),
        Command::Init => commands::init::run(&Setup::new(&cli.global, ListenFlags::default())?),
        Command::Reindex(options) => {
            commands::reindex::run(&Setup::new(&cli.global, ListenFlags::default())?, &options)
        }
        Command::User(command) => {
            commands::user::run(&Setup::new(&cli.global, ListenFlags::default())?, &command)
        }
        Command::Keys(command) => {
            commands::user::keys(&Setup::new(&cli.global, ListenFlags::default())?, &command)
        }
    }
}

fn started_as_cgi() -> bool {
    std::env::var_os("GATEWAY_INTERFACE").is_some()
}

/// What this process does: a command given on the command line (or
/// implied by the environment), or serving what a web server started it
/// for.
enum Mode {
    Command(Command),
    /// Started with a listening socket on standard input: FastCGI or SCGI,
    /// told apart per connection.
    Spawned,
}

/// With no command: CGI when the server set `GATEWAY_INTERFACE`; FastCGI
/// and SCGI when standard input is a listening socket (mod_fcgid,
/// lighttpd's bin-path), each connection answered in the protocol it
/// speaks. A connected socket on stdin is not enough: Apache's mod_cgid
/// gives CGI programs one.
fn detect_gateway() -> Option<Mode> {
    if started_as_cgi() {
        return Some(Mode::Command(Command::Cgi));
    }
    if gateway::listener::stdin_is_listening_socket() {
        return Some(Mode::Spawned);
    }
    None
}

/// Logs go to stderr, never stdout: a CGI program's stdout is its response.
fn init_logging(mode: &Mode) {
    let default_level = match mode {
        // A CGI's stderr is the web server's error log: only problems.
        Mode::Command(Command::Cgi) => "warn",
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
