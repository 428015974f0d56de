//! The `quire` binary: parses the command line, sets up logging, and hands
//! the one wiki app to the gateway the command (or the environment) asks for.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::filter::{Directive, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use quire::cli::{CgiOptions, Cli, Command, DataFlag, GlobalOptions, ServerFlags};
use quire::commands::{self, Setup};
use quire::config::ListenFlags;

fn main() -> ExitCode {
    let (data, mode) = if started_as_cgi() {
        // As a CGI program only the environment counts (see `GlobalOptions::from_environment`).
        let global = GlobalOptions::from_environment().unwrap_or_else(|err| err.exit());
        let cgi = Command::Cgi(CgiOptions {
            server: global.server,
        });
        let data = DataFlag {
            path: global.data,
            database: global.database,
        };
        (data, Mode::Command(cgi))
    } else {
        let cli = Cli::parse();
        let mode = match cli.command {
            Some(command) => Mode::Command(command),
            None if gateway::listener::stdin_is_listening_socket() => {
                Mode::Spawned(ServerFlags::from_environment().unwrap_or_else(|err| err.exit()))
            }
            None => {
                eprintln!(
                    "quire: no command given, and not started by a web server as CGI, FastCGI or SCGI.\n\
                     To run the wiki on this machine: quire serve\n\
                     For every command and option: quire --help"
                );
                return ExitCode::from(2);
            }
        };
        (cli.data, mode)
    };
    if mode.runs_long() {
        quire::malloc_arenas::cap_by_starting_again();
    }
    if let Err(err) = init_logging(&mode) {
        eprintln!("quire: {err:#}");
        return ExitCode::from(2);
    }
    let result = match mode {
        Mode::Command(command) => run(data, command),
        Mode::Spawned(server) => {
            let global = GlobalOptions {
                data: data.path,
                database: data.database,
                server,
            };
            Setup::existing(&global, ListenFlags::default())
                .and_then(|setup| commands::fastcgi::run_spawned(&setup))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("quire: {err:#}");
            // An import that went through but left pages out says so apart from one that failed.
            match err.downcast_ref::<quire::import::Incomplete>() {
                Some(_) => ExitCode::from(2),
                None => ExitCode::FAILURE,
            }
        }
    }
}

fn run(data: DataFlag, command: Command) -> anyhow::Result<()> {
    // The data directory and database alone, for the commands that do not serve.
    let plain = GlobalOptions {
        data: data.path.clone(),
        database: data.database.clone(),
        ..GlobalOptions::default()
    };
    let serving = |server: &ServerFlags| GlobalOptions {
        server: server.clone(),
        ..plain.clone()
    };
    match command {
        Command::Serve(options) => commands::serve::run(
            &serving(&options.server),
            ListenFlags {
                http: options.listen.as_deref(),
                ..ListenFlags::default()
            },
            &options,
        ),
        Command::Fastcgi(options) => commands::fastcgi::run(&Setup::existing(
            &serving(&options.server),
            ListenFlags {
                fastcgi: options.listen.as_deref(),
                ..ListenFlags::default()
            },
        )?),
        Command::Scgi(options) => commands::scgi::run(&Setup::existing(
            &serving(&options.server),
            ListenFlags {
                scgi: options.listen.as_deref(),
                ..ListenFlags::default()
            },
        )?),
        Command::Cgi(CgiOptions { server }) => commands::cgi::run(&serving(&server)),
        Command::Init => commands::init::run(&Setup::new(&plain, ListenFlags::default())?),
        Command::Reindex(options) => {
            commands::reindex::run(&Setup::existing(&plain, ListenFlags::default())?, &options)
        }
        Command::Check(options) => {
            commands::check::run(&Setup::existing(&plain, ListenFlags::default())?, &options)
        }
        Command::Backup(options) => {
            commands::backup::run(&Setup::existing(&plain, ListenFlags::default())?, &options)
        }
        Command::Restore(options) => commands::restore::run(&plain, &options),
        Command::Import(command) => commands::import::run(&plain, &command),
        Command::Export(command) => {
            commands::export::run(&Setup::existing(&plain, ListenFlags::default())?, &command)
        }
        Command::User(command) => {
            commands::user::run(&Setup::existing(&plain, ListenFlags::default())?, &command)
        }
        Command::Notify(options) => commands::notify::run(&Setup::existing(
            &serving(&options.server),
            ListenFlags::default(),
        )?),
        Command::Keys(command) => {
            commands::user::keys(&Setup::existing(&plain, ListenFlags::default())?, &command)
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
    /// A command; `cgi` when the server set `GATEWAY_INTERFACE`.
    Command(Command),
    /// Started with a listening socket on standard input (mod_fcgid,
    /// lighttpd's bin-path): FastCGI or SCGI, told apart per connection. A
    /// connected socket on stdin is not enough: Apache's mod_cgid gives CGI
    /// programs one. The server flags come from the environment.
    Spawned(ServerFlags),
}

impl Mode {
    /// Whether this process serves many requests (so glibc's arenas are worth capping, see
    /// `quire::malloc_arenas`): every server but CGI.
    fn runs_long(&self) -> bool {
        matches!(
            self,
            Mode::Spawned(_)
                | Mode::Command(Command::Serve(_) | Command::Fastcgi(_) | Command::Scgi(_))
        )
    }
}

/// Libraries whose `info` lines are housekeeping: tantivy's segments, merges and commits, and
/// actix's workers starting and stopping (quire logs the one line that matters, the address it
/// serves, itself).
const QUIET_LIBRARIES: [&str; 3] = ["tantivy", "actix_server", "actix_web"];

/// Logs go to stderr, never stdout: a CGI program's stdout is its response.
///
/// `QUIRE_LOG` is an `EnvFilter` (`info`, `debug,storage=trace`); the
/// [`QUIET_LIBRARIES`]' own lines stay at `warn` unless it names them, since
/// at `info` a log is for people: a line per request, not the index's or the
/// server's housekeeping. `QUIRE_LOG_FORMAT=json` writes one JSON object
/// a line, for log shippers. Without `QUIRE_LOG` the filter is built as a
/// plain list of targets rather than parsed: `EnvFilter`'s parser compiles
/// regular expressions, which cost a CGI process a tenth of its page view.
fn init_logging(mode: &Mode) -> anyhow::Result<()> {
    let default_level = match mode {
        // A CGI's stderr is the web server's error log: only problems.
        Mode::Command(Command::Cgi(_)) => LevelFilter::WARN,
        _ => LevelFilter::INFO,
    };
    let asked = std::env::var("QUIRE_LOG").ok();
    let (asked_filter, default_filter) = match &asked {
        Some(directives) => {
            let mut filter = EnvFilter::try_new(directives).map_err(|err| {
                anyhow::anyhow!(
                    "QUIRE_LOG={directives:?} is not a log filter ({err}); try info, debug or warn"
                )
            })?;
            for library in QUIET_LIBRARIES
                .iter()
                .filter(|lib| !directives.contains(*lib))
            {
                let quiet: Directive = format!("{library}=warn")
                    .parse()
                    .expect("a library name and a level make a directive");
                filter = filter.add_directive(quiet);
            }
            (Some(filter), None)
        }
        None => {
            let quiet = QUIET_LIBRARIES.map(|library| (library, LevelFilter::WARN));
            let targets = Targets::new()
                .with_default(default_level)
                .with_targets(quiet);
            (None, Some(targets))
        }
    };
    let format = std::env::var("QUIRE_LOG_FORMAT").unwrap_or_default();
    let output = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let output = match format.as_str() {
        "" | "text" => output.with_ansi(std::io::stderr().is_terminal()).boxed(),
        "json" => output.json().boxed(),
        other => anyhow::bail!(
            "QUIRE_LOG_FORMAT={other:?} is not a log format: use text (the default) or json"
        ),
    };
    // Each filter a layer of its own, one of them absent: both decide for the whole subscriber.
    tracing_subscriber::registry()
        .with(asked_filter)
        .with(default_filter)
        .with(output)
        .init();
    Ok(())
}
