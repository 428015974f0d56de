//! The command line: `quire [--data DIR] <COMMAND>`.
//!
//! Every option can also come from a `QUIRE_…` environment variable, and most
//! from `quire.toml` in the data directory; flags win over the environment,
//! which wins over the file. A flag that stands for a key of `quire.toml` is an
//! `Option` that `config::Settings::with_flags` lays over the file's value, so
//! its default is the one `config::Settings` has, and nowhere else.
//!
//! `--data` is every command's; the flags that change how requests are answered
//! ([`ServerFlags`]) belong to the commands that serve, so `quire user --help`
//! does not offer them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Settings;

/// A team wiki in one binary: pages in Markdown, their history, search and
/// accounts, all in one data directory.
///
/// Run `quire serve` and open http://127.0.0.1:8080/ to use it on this
/// machine. The same binary also runs under a web server: copied into a
/// cgi-bin, or as a FastCGI or SCGI server behind nginx, Apache or lighttpd;
/// with no command it finds out which of those started it.
///
/// Every setting, with its default and what it does, is listed in the
/// quire.toml that `quire init` writes into the data directory; `quire
/// COMMAND --help` shows the flags and QUIRE_* variables that override it.
#[derive(Debug, Parser)]
#[command(name = "quire", version = VERSION, after_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    #[expect(missing_docs, reason = "flattened: the flag has its own help")]
    pub data: DataFlag,

    /// What to run; none detects the gateway a web server started quire as.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--data`: every command's, and what a `quire` started by a web server reads from
/// `QUIRE_DATA` (see [`GlobalOptions::from_environment`]).
#[derive(Debug, Default, Clone, Args)]
pub struct DataFlag {
    /// The data directory: database, quire.toml, theme overrides. Only `init`,
    /// the first `serve`, `restore` and `import` create it; every other command
    /// needs a wiki there [default: ./wiki-data].
    // The id is not the field's name: a global argument shares its id with every subcommand's
    // arguments, and `import` has a `path` of its own.
    #[arg(
        id = "data",
        long = "data",
        env = "QUIRE_DATA",
        global = true,
        value_name = "DIR"
    )]
    pub path: Option<PathBuf>,

    /// The database: a PostgreSQL URL (postgres://user@host/db) that any number of quire
    /// nodes may share, instead of the SQLite file in the data directory [default: DIR/wiki.sqlite3,
    /// or `database` in quire.toml].
    #[arg(long, env = "QUIRE_DATABASE", global = true, value_name = "URL")]
    pub database: Option<String>,
}

/// What `--version` prints after the name: the release, and the commit it was built from
/// (`unknown` outside a git checkout; see `build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("QUIRE_GIT_COMMIT"),
    ")"
);

const EXAMPLES: &str = "\
Examples:
  quire serve                                 # http://127.0.0.1:8080/, data in ./wiki-data
  quire --data /srv/wiki init                 # a new wiki in /srv/wiki
  quire --data /srv/wiki serve --listen 0.0.0.0:8080
  quire --data /srv/wiki fastcgi --listen unix:/run/quire/fcgi.sock
  quire --data /srv/wiki scgi --listen 127.0.0.1:4000
  QUIRE_DATA=/srv/wiki quire cgi              # what a cgi-bin does
  quire --data /srv/wiki user add alice --admin
  quire --data /srv/wiki backup wiki.tar      # while it serves; `restore wiki.tar` puts it back";

/// A flag's help with the default of the quire.toml key it overrides, as clap
/// shows defaults: stated once, in [`Settings`]'s `Default`.
fn with_default(help: &str, default: impl std::fmt::Display) -> String {
    format!("{help} [default: {default}]")
}

/// The flags of the commands that answer requests (`serve`, `fastcgi`, `scgi`,
/// `cgi`, and `quire` started by a web server, which reads them from the
/// environment only).
#[derive(Debug, Args, Default, Clone)]
pub struct ServerFlags {
    /// Serve under this URL prefix (such as /wiki) instead of the one the web
    /// server reports in SCRIPT_NAME; for servers that split paths wrongly.
    #[arg(long, env = "QUIRE_MOUNT", value_name = "PREFIX")]
    pub mount: Option<String>,

    /// Show error details in the browser. Never on a public wiki.
    #[arg(long, env = "QUIRE_DEBUG")]
    pub debug: bool,

    // The help states the default `Settings` has; the flag is an `Option` so
    // that, absent, quire.toml's value stands.
    #[arg(
        long,
        env = "QUIRE_MAX_BODY",
        value_name = "BYTES",
        help = with_default(
            "The largest request body accepted, in bytes",
            Settings::default().max_body_bytes,
        )
    )]
    #[expect(
        missing_docs,
        reason = "its help, with the default from Settings, is the attribute above"
    )]
    pub max_body: Option<u64>,

    #[arg(
        long,
        env = "QUIRE_MAX_UPLOAD",
        value_name = "BYTES",
        help = with_default(
            "The largest file upload accepted, in bytes",
            Settings::default().max_upload_bytes,
        )
    )]
    #[expect(
        missing_docs,
        reason = "its help, with the default from Settings, is the attribute above"
    )]
    pub max_upload: Option<u64>,
}

/// Just the data directory and the server flags, for a `quire` a web server started: they come
/// from its `QUIRE_*` environment, as the same flags of a command would. Its parser is a few
/// arguments, not the whole command line's: building [`Cli`]'s, every subcommand with every flag
/// and its help, is a tenth of the start of a process that answers one CGI request.
#[derive(Debug, Parser)]
#[command(name = "quire")]
struct EnvironmentOnly {
    #[command(flatten)]
    data: DataFlag,
    #[command(flatten)]
    server: ServerFlags,
}

impl ServerFlags {
    /// The flags that `QUIRE_MOUNT`, `QUIRE_DEBUG`, `QUIRE_MAX_BODY` and `QUIRE_MAX_UPLOAD` give.
    pub fn from_environment() -> Result<ServerFlags, clap::Error> {
        EnvironmentOnly::try_parse_from(["quire"]).map(|parsed| parsed.server)
    }
}

impl GlobalOptions {
    /// What a CGI program runs with: `QUIRE_DATA` and the [`ServerFlags`]' variables. A web
    /// server may pass a query's words as arguments (RFC 3875 §4.4), so none are read.
    pub fn from_environment() -> Result<GlobalOptions, clap::Error> {
        EnvironmentOnly::try_parse_from(["quire"]).map(|parsed| GlobalOptions {
            data: parsed.data.path,
            database: parsed.data.database,
            server: parsed.server,
        })
    }
}

/// What the command line (flags and their `QUIRE_*` variables) lays over
/// `quire.toml`, besides listen addresses: the data directory every command
/// takes, and the server flags of the commands that serve (default for the
/// others).
#[derive(Debug, Default, Clone)]
pub struct GlobalOptions {
    /// `--data`, or `QUIRE_DATA`.
    pub data: Option<PathBuf>,
    /// `--database`, or `QUIRE_DATABASE`.
    pub database: Option<String>,
    /// `--mount`, `--debug`, `--max-body`, `--max-upload` (serving commands only).
    pub server: ServerFlags,
}

/// What to do.
#[derive(Debug, Subcommand, Clone)]
pub enum Command {
    /// Serve the wiki over HTTP (standalone, or behind a reverse proxy).
    ///
    /// If the data directory does not exist yet, it is created with a new wiki
    /// in it, and the log says where.
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
    /// configuration to a wiki's data directory (make it with `quire init`,
    /// owned by the server's user).
    Cgi(CgiOptions),
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
    /// Check the wiki's database against itself, as `git fsck` does.
    ///
    /// Checks that the file is whole, that every page's revisions are all
    /// there, numbered in order and readable, and that what quire keeps
    /// beside them (blame records, the links between pages, each
    /// revision's ACL line) agrees with the texts. It only reads, so it may
    /// run while the wiki serves. Exit status 1 when something disagrees;
    /// --repair rebuilds what is derived from the texts.
    ///
    /// Example: quire --data /srv/wiki check
    Check(CheckOptions),
    /// Write a backup of the wiki to one file, while it keeps serving.
    ///
    /// The file is a tar holding a consistent copy of the database (every
    /// page, revision, account and attached file) and quire.toml. The
    /// session key is left out on purpose, as a secret: after a restore
    /// everyone logs in again. The copy is checked before FILE is written;
    /// an interrupted backup leaves no partial FILE.
    ///
    /// Example: quire --data /srv/wiki backup /var/backups/wiki-$(date +%F).tar
    Backup(BackupOptions),
    /// Put a backup made by `quire backup` into the data directory, then
    /// rebuild the search index. Stop the wiki first.
    ///
    /// The backup's database is checked (PRAGMA integrity_check, and a schema
    /// no newer than this quire) before anything is replaced. A data directory
    /// that holds pages is refused unless --force is given; its database is
    /// then kept as wiki.sqlite3.before-restore, and a different quire.toml as
    /// quire.toml.before-restore. The backup holds no session key: everyone
    /// logs in again.
    ///
    /// Example: quire --data /srv/wiki restore /var/backups/wiki-2026-12-01.tar
    Restore(RestoreOptions),
    /// Bring another wiki's pages in, with their history, files and accounts.
    ///
    /// Safe to run again: what came in before is kept, and only what is new is added; a page
    /// edited here since is left as it is, with a warning. Ends with a summary; the exit status
    /// is 2 when some page or file could not be imported (listed in DATA/import-SOURCE.log).
    /// The source is checked first; then the data directory is made if it is missing, so an
    /// import can start a wiki.
    ///
    /// Example: quire --data /srv/wiki import moin19 /srv/moin/mywiki/data
    #[command(subcommand)]
    Import(ImportCommand),
    /// Write the wiki into a folder: Markdown files, or a git repository with the whole history.
    ///
    /// DIR is created if missing. A folder that holds anything is refused, unless it is an earlier
    /// export of the same kind (it then holds .quire-export, or .git/quire-export for git), which
    /// is emptied and written anew. The wiki may keep serving meanwhile.
    ///
    /// Example: quire --data /srv/wiki export git /srv/wiki-history
    #[command(subcommand)]
    Export(ExportCommand),
    /// Manage accounts: add, change password or role, list, disable, invite.
    ///
    /// Passwords are read from a prompt on the terminal, or with
    /// --password-stdin from the first line of standard input; never from
    /// the command line, where other users could see them.
    ///
    /// Example: quire --data /srv/wiki user add alice --admin
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the secret keys that seal session cookies (DATA/session.key).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Send the mail owed to the accounts watching pages, and exit.
    ///
    /// Long-running servers (serve, fastcgi, scgi) send it themselves as
    /// pages change. A wiki served by CGI alone runs this from cron, every
    /// few minutes: it queues the mail for changes since the last run, sends
    /// what is due (retries and digests included) through the SMTP server
    /// that quire.toml's mail table names, prints what it did, and exits with status
    /// 1 if mail is off or some mail could not be sent (it is tried again on a
    /// later run). Mail links start with base_url and --mount (or mount in
    /// quire.toml): set them as the web server serves the wiki.
    ///
    /// Example: */5 * * * * quire --data /srv/wiki notify --mount /cgi-bin/quire
    Notify(NotifyOptions),
}

/// Options of `quire notify`.
#[derive(Debug, Args, Clone)]
pub struct NotifyOptions {
    #[command(flatten)]
    #[expect(missing_docs, reason = "flattened: each flag has its own help")]
    pub server: ServerFlags,
}

/// `quire user …`.
#[derive(Debug, Subcommand, Clone)]
pub enum UserCommand {
    /// Create an account.
    ///
    /// Example: quire user add alice --admin --email alice@example.org
    Add {
        /// The login name: letters, digits, '_', '-', '.', starting with a letter.
        name: String,
        /// Give the account the admin role (admin pages, managing accounts).
        #[arg(long)]
        admin: bool,
        /// The account's email address.
        #[arg(long, value_name = "ADDRESS")]
        email: Option<String>,
        /// Shown instead of the name in the header and page history.
        #[arg(long, value_name = "TEXT")]
        display_name: Option<String>,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password for an account.
    ///
    /// Example: echo 'new secret words' | quire user passwd alice --password-stdin
    Passwd {
        /// The account's name (any case).
        name: String,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Make an account an admin or an ordinary user.
    ///
    /// Example: quire user role alice admin
    Role {
        /// The account's name (any case).
        name: String,
        /// `admin` or `user`.
        #[arg(value_parser = ["admin", "user"])]
        role: String,
    },
    /// List every account with its role and state.
    List,
    /// Disable an account: it can no longer log in, and its sessions end.
    ///
    /// Example: quire user disable mallory
    Disable {
        /// The account's name (any case).
        name: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// The account's name (any case).
        name: String,
    },
    /// Make an invitation code for registration when `registration = "invite"`.
    ///
    /// Prints the code; the invitee enters it on the registration page.
    /// Example: quire user invite --days 3
    Invite {
        /// How many days the code stays valid [default: 7].
        #[arg(long, value_name = "N", default_value_t = 7)]
        days: u32,
    },
    /// Make an API token for an account, for scripts and CI (the JSON API under /+api/v1/).
    ///
    /// Prints the token once: only its digest is kept, so store it now. Send it as
    /// `Authorization: Bearer <token>`; revoke it on the account's preferences page (/+prefs).
    /// Example: quire user token alice --read-only --expires 90 --label nightly-export
    Token {
        /// The account's name (any case): the token acts as it, with its rights.
        name: String,
        /// The token may only read (a PUT through it is refused).
        #[arg(long)]
        read_only: bool,
        /// The token stops working after this many days [default: never].
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires: Option<u32>,
        /// What the token is for, as its list on /+prefs shows it.
        #[arg(long, value_name = "TEXT", default_value = "quire user token")]
        label: String,
    },
}

/// `quire import …`.
#[derive(Debug, Subcommand, Clone)]
pub enum ImportCommand {
    /// Import a MoinMoin 1.9 wiki: every page with every revision (time,
    /// author, comment), renames and deletions, the current attachments, and
    /// the accounts with their password hashes (checked at login, then
    /// upgraded).
    ///
    /// PATH is the data directory, the folder holding pages/, user/ and
    /// edit-log (in a wiki instance, its data/ folder). The markup is
    /// converted to Markdown; the original is kept beside each revision.
    /// MoinMoin's own help pages (the underlay) are not imported.
    ///
    /// Example: quire --data /srv/wiki import moin19 /srv/moin/mywiki/data
    Moin19 {
        /// The MoinMoin 1.9 data directory (holding pages/, user/, edit-log).
        path: PathBuf,
        /// No progress lines (for scripts); the summary is still printed.
        #[arg(long)]
        quiet: bool,
    },
    /// A folder of Markdown files, or a git repository of them (Otter Wiki, Gollum, Wiki.js, a
    /// `quire export git`).
    ///
    /// A.md is the page A, and subfolders are subpages (Team/Notes.md is Team/Notes); %XX in
    /// names is decoded. A/B.files/x.png is a file of page A/B, and any other file is a file of
    /// the page of its folder (at the top, of the front page). YAML front matter is read: its
    /// title becomes a heading when the page has none, its tags a last line "Tags: …".
    /// In a git repository every commit that touched a page is a revision, with its author, date
    /// and message (read with the git command line, which must be installed); a plain folder
    /// gives one revision per page, dated by the file, by "import".
    ///
    /// Example: quire --data /srv/wiki import markdown /srv/otterwiki/repository
    Markdown {
        /// The folder (or the git work tree) to read; nothing in it is changed.
        dir: PathBuf,
        /// No progress lines (for cron and scripts); the summary is still printed.
        #[arg(long)]
        quiet: bool,
    },
}

/// `quire export …`.
#[derive(Debug, Subcommand, Clone)]
pub enum ExportCommand {
    /// The current pages as .md files in folders, for a forge or an editor.
    ///
    /// Page A/B is A/B.md, and its files are in the folder A/B.files/ beside it. Wiki links and
    /// attachment links become relative links to those files ([[Other Page|x]] is
    /// [x](../Other%20Page.md)), so the folder reads right on a forge; links in code stay as
    /// written. Characters a file system refuses (such as : \ * ?) are written as %XX. History
    /// and deleted pages are not written: `quire export git` has them.
    ///
    /// Example: quire --data /srv/wiki export markdown /tmp/wiki-pages
    Markdown {
        /// The folder to write into.
        dir: PathBuf,
        /// No progress lines (for cron and scripts); the summary is still printed.
        #[arg(long)]
        quiet: bool,
    },
    /// The whole history as a git repository, one commit per revision, with the git command line.
    ///
    /// Each revision is a commit by its author (the account's e-mail address, or
    /// NAME@quire.invalid), at its time, with its comment as the message; texts are committed as
    /// stored, so `quire import markdown DIR` gives back the same pages and revisions. Deletions
    /// remove the file and renames move it. Each page's current files are committed after the
    /// history. Needs git installed.
    ///
    /// Example: quire --data /srv/wiki export git /srv/wiki-history
    Git {
        /// The folder to make the repository in.
        dir: PathBuf,
        /// No progress lines (for cron and scripts); the summary is still printed.
        #[arg(long)]
        quiet: bool,
    },
}

/// `quire keys …`.
#[derive(Debug, Subcommand, Clone)]
pub enum KeysCommand {
    /// Make a new session key; new cookies are sealed with it.
    ///
    /// The previous key still opens existing cookies, so nobody is logged
    /// out; a key two rotations old is dropped, and the sessions it sealed
    /// end. Rotate twice to end every session at once (after a leak).
    /// Servers that run for long pick the new key up on restart.
    ///
    /// Example: quire --data /srv/wiki keys rotate
    Rotate,
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

/// Options of `quire check`.
#[derive(Debug, Args, Clone)]
pub struct CheckOptions {
    /// Rebuild the blame records, links and ACL lines that disagree with the texts.
    #[arg(long)]
    pub repair: bool,
}

/// Options of `quire backup`.
#[derive(Debug, Args, Clone)]
pub struct BackupOptions {
    /// The file to write (replaced if it exists, once the new backup is whole).
    pub file: PathBuf,
    /// No progress lines (for cron and scripts); the summary is still printed.
    #[arg(long)]
    pub quiet: bool,
}

/// Options of `quire restore`.
#[derive(Debug, Args, Clone)]
pub struct RestoreOptions {
    /// The backup file, as `quire backup` wrote it.
    pub file: PathBuf,
    /// Replace a wiki that holds pages (its database is kept as wiki.sqlite3.before-restore).
    #[arg(long)]
    pub force: bool,
    /// No progress (for scripts); the summary is still printed.
    #[arg(long)]
    pub quiet: bool,
}

/// Options of `quire serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeOptions {
    // Likewise `listen` in quire.toml.
    #[arg(
        long,
        env = "QUIRE_LISTEN",
        value_name = "ADDR",
        help = with_default("The address to listen on", Settings::default().listen)
    )]
    #[expect(
        missing_docs,
        reason = "its help, with the default from Settings, is the attribute above"
    )]
    pub listen: Option<String>,
    /// For theme work: files in DATA/themes/ are read again as soon as they change, so
    /// an edited template or stylesheet shows on the next page load, without a restart.
    #[arg(long, env = "QUIRE_DEV")]
    pub dev: bool,
    #[command(flatten)]
    #[expect(missing_docs, reason = "flattened: each flag has its own help")]
    pub server: ServerFlags,
}

/// Options of `quire fastcgi`.
#[derive(Debug, Args, Clone)]
pub struct FastCgiOptions {
    /// `HOST:PORT` or `unix:PATH`; absent, the socket inherited on standard input.
    #[arg(long, env = "QUIRE_FASTCGI_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    #[command(flatten)]
    #[expect(missing_docs, reason = "flattened: each flag has its own help")]
    pub server: ServerFlags,
}

/// Options of `quire scgi`.
#[derive(Debug, Args, Clone)]
pub struct ScgiOptions {
    /// `HOST:PORT` or `unix:PATH`; absent, the socket inherited on standard input.
    #[arg(long, env = "QUIRE_SCGI_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    #[command(flatten)]
    #[expect(missing_docs, reason = "flattened: each flag has its own help")]
    pub server: ServerFlags,
}

/// Options of `quire cgi`.
#[derive(Debug, Args, Clone, Default)]
pub struct CgiOptions {
    #[command(flatten)]
    #[expect(missing_docs, reason = "flattened: each flag has its own help")]
    pub server: ServerFlags,
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
    fn the_data_directory_is_not_another_argument_of_the_same_name() {
        let cli =
            Cli::try_parse_from(["quire", "--data", "/tmp/w", "import", "moin19", "/srv/moin"])
                .unwrap();
        assert_eq!(cli.data.path, Some(PathBuf::from("/tmp/w")));
        assert!(
            matches!(cli.command, Some(Command::Import(ImportCommand::Moin19 { ref path, .. })) if path == &PathBuf::from("/srv/moin")),
            "{:?}",
            cli.command
        );
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
        assert_eq!(cli.data.path, Some(PathBuf::from("/tmp/w")));
        assert!(
            matches!(cli.command, Some(Command::Serve(ServeOptions { listen: Some(ref l), .. })) if l == "127.0.0.1:9")
        );
    }

    #[test]
    fn user_commands_parse_and_take_no_password_flag() {
        let cli = Cli::try_parse_from(["quire", "user", "add", "alice", "--admin"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::User(UserCommand::Add { ref name, admin: true, .. })) if name == "alice"
        ));
        assert!(Cli::try_parse_from(["quire", "user", "add", "alice", "--password", "x"]).is_err());
        assert!(Cli::try_parse_from(["quire", "user", "role", "alice", "root"]).is_err());
        assert!(Cli::try_parse_from(["quire", "keys", "rotate"]).is_ok());
    }

    #[test]
    fn refuses_unknown_flags() {
        assert!(Cli::try_parse_from(["quire", "serve", "--lisen", "x"]).is_err());
    }
}
