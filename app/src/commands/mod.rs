//! One module per subcommand, and what they share: opening the data
//! directory and building the one app every gateway serves.

pub mod backup;
pub mod cgi;
pub mod check;
pub mod export;
pub mod fastcgi;
pub mod import;
pub mod init;
pub mod notify;
pub mod reindex;
pub mod restore;
pub mod scgi;
pub mod serve;
pub mod user;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use gateway::middleware::StackConfig;
use gateway::session::{SessionError, SessionKeys};
use gateway::{App, GatewayConfig};
use indicatif::{ProgressBar, ProgressStyle};
use themes::{Compile, Themes};

use crate::cli::GlobalOptions;
use crate::config::{ListenFlags, Settings};
use crate::datadir::{DataDir, Database};
use crate::indexer::Indexer;
use crate::mail::Mailer;
use crate::notifier::Wake;
use crate::wiki::{Lifetime, Wiki};
use storage::Storage;

/// Settings, data directory and session keys, resolved once per process.
pub struct Setup {
    /// The data directory.
    pub data: DataDir,
    /// The settings: flags over environment over `quire.toml` over defaults.
    pub settings: Settings,
    /// The keys that seal session cookies: from `session_key_file`, else `DATA/session.key`
    /// (made on first use, mode 0600), or, with a PostgreSQL database, from the database, so that
    /// every node has the same ones (see [`SESSION_KEYS_SECRET`]).
    pub session_keys: Arc<SessionKeys>,
    /// The storage, once opened ([`Setup::storage`]).
    storage: OnceLock<Arc<Storage>>,
}

/// The name of the session keys among the database's shared secrets (`Storage::shared_secret`).
pub const SESSION_KEYS_SECRET: &str = "session_keys";

/// Where the session keys are kept: `session_key_file`, else `DATA/session.key`, or with a
/// PostgreSQL database and no `session_key_file`, the database.
pub enum KeysPlace {
    /// A file; a relative `session_key_file` is read from the data directory.
    File(PathBuf),
    /// The database's shared secrets, under [`SESSION_KEYS_SECRET`].
    Database,
}

impl KeysPlace {
    /// Where `settings` keep the keys of the wiki in `data`.
    pub fn of(settings: &Settings, data: &DataDir) -> anyhow::Result<KeysPlace> {
        Ok(match (&settings.session_key_file, data.database()?) {
            (Some(file), _) => KeysPlace::File(data.root().join(file)),
            (None, Database::File) => KeysPlace::File(data.session_key_path()),
            (None, Database::Postgres(_)) => KeysPlace::Database,
        })
    }
}

/// The data directory and database the command line and environment name, before `quire.toml`
/// is read: `--database` is known before the directory is checked for a wiki.
pub(crate) fn locate(global: &GlobalOptions) -> anyhow::Result<DataDir> {
    let mut data = DataDir::locate(global.data.as_deref());
    if let Some(database) = &global.database {
        data.use_database(Database::from_setting(Some(database))?);
    }
    Ok(data)
}

/// The session keys in `path`, made there on first use.
fn keys_from_file(path: &std::path::Path, data: &DataDir) -> anyhow::Result<SessionKeys> {
    SessionKeys::load_or_create(path).map_err(|err| {
        // The fix depends on the cause: an owner to change, or a damaged file to delete.
        let fix = match &err {
            SessionError::Io { source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                format!(
                    "the user running quire may not read or write it: give the data directory \
                     to that user, with chown -R USER {}",
                    data.root().display()
                )
            }
            _ => "delete a damaged file: a new one is made, and everyone logs in again".to_owned(),
        };
        anyhow::Error::new(err).context(format!(
            "could not read or create the session keys in {} ({fix})",
            path.display()
        ))
    })
}

/// The session keys every node of a PostgreSQL wiki shares, made by the first node to ask.
fn keys_from_database(storage: &Storage) -> anyhow::Result<SessionKeys> {
    let made = SessionKeys::generate().context("could not make session keys")?;
    let text = storage
        .shared_secret(SESSION_KEYS_SECRET, &made.to_file_text())
        .context("could not read or make the session keys in the database")?;
    SessionKeys::parse(&text).context(
        "the session keys in the database are damaged: rotate them twice with `quire keys rotate` \
         (everyone logs in again)",
    )
}

impl Setup {
    /// Finds the data directory, creating it if missing (`quire init`, the first `quire serve`),
    /// and merges the settings.
    pub fn new(global: &GlobalOptions, flags: ListenFlags<'_>) -> anyhow::Result<Setup> {
        let data = locate(global)?;
        data.create()?;
        Self::with_data(data, global, flags)
    }

    /// Like [`Setup::new`] for a data directory that must already hold a wiki: every command but
    /// `init` and `serve`, so that a mistyped `--data` is refused, not made into a new wiki.
    pub fn existing(global: &GlobalOptions, flags: ListenFlags<'_>) -> anyhow::Result<Setup> {
        let data = locate(global)?;
        data.require_wiki()?;
        data.create()?;
        Self::with_data(data, global, flags)
    }

    fn with_data(
        mut data: DataDir,
        global: &GlobalOptions,
        flags: ListenFlags<'_>,
    ) -> anyhow::Result<Setup> {
        let settings = data.settings()?.with_flags(global, &flags)?;
        data.use_database(Database::from_setting(settings.database.as_deref())?);
        let storage = OnceLock::new();
        let session_keys = match KeysPlace::of(&settings, &data)? {
            KeysPlace::File(path) => keys_from_file(&path, &data)?,
            KeysPlace::Database => {
                let opened = Arc::new(data.open_storage()?);
                let keys = keys_from_database(&opened)?;
                let _ = storage.set(opened);
                keys
            }
        };
        Ok(Setup {
            data,
            settings,
            session_keys: Arc::new(session_keys),
            storage,
        })
    }

    /// The wiki's storage, opened on first use and shared after: one pool of connections per
    /// process.
    pub fn storage(&self) -> anyhow::Result<Arc<Storage>> {
        if let Some(storage) = self.storage.get() {
            return Ok(Arc::clone(storage));
        }
        let opened = Arc::new(self.data.open_storage()?);
        Ok(Arc::clone(self.storage.get_or_init(|| opened)))
    }

    /// What every adapter is told: the two body limits and `mount`, in the gateway's terms.
    pub fn gateway_config(&self) -> GatewayConfig {
        GatewayConfig {
            max_body_bytes: self.settings.max_body_bytes,
            max_stream_bytes: self.settings.max_stream_bytes(),
            mount_override: self.settings.mount.clone(),
        }
    }

    /// Where the search index lives: `DATA/index/`.
    pub fn index_dir(&self) -> PathBuf {
        self.data.root().join("index")
    }

    /// The wiki, wrapped in the middleware stack: the one app every
    /// long-running gateway serves. A background thread keeps its search
    /// index fresh after every save.
    pub fn app(&self) -> anyhow::Result<Arc<dyn App>> {
        self.build_app(Lifetime::ManyRequests, false)
    }

    /// [`Setup::app`] for theme work (`serve --dev`): `DATA/themes/` is read again whenever
    /// a file in it changes (or the folder appears), without a restart.
    pub fn dev_app(&self) -> anyhow::Result<Arc<dyn App>> {
        self.build_app(Lifetime::ManyRequests, true)
    }

    /// The same wiki for one CGI request: no thread may outlive the request,
    /// so a save or a search catches the index up itself.
    pub fn cgi_app(&self) -> anyhow::Result<Arc<dyn App>> {
        self.build_app(Lifetime::OneRequest, false)
    }

    fn build_app(&self, lifetime: Lifetime, reload_themes: bool) -> anyhow::Result<Arc<dyn App>> {
        let long_running = lifetime == Lifetime::ManyRequests;
        // A process that answers one request leaves its mail to a worker or `quire notify`.
        let mailer = if long_running { self.mailer()? } else { None };
        let wake = if mailer.is_some() {
            Wake::signal()
        } else {
            Wake::none()
        };
        let wiki = Arc::new(self.wiki(lifetime, reload_themes, wake.clone())?);
        if let Some(mailer) = mailer {
            crate::notifier::start(Arc::clone(&wiki), mailer, wake)
                .context("could not start the mail thread")?;
        }
        // The one stack for every gateway: the client behind a trusted proxy, sessions, CSRF,
        // security headers, compression, 304s.
        let stack = StackConfig {
            debug: self.settings.debug,
            trusted_proxies: self.settings.trusted_proxies(),
            // The API's writes pass CSRF with a bearer token, and only there (`wiki::api`).
            bearer_paths: Some(crate::wiki::api::bearer_paths()),
            ..StackConfig::new(Arc::clone(&self.session_keys))
        };
        Ok(Arc::new(
            gateway::middleware::stack(wiki, &stack)
                .context("could not set up the middleware stack")?,
        ))
    }

    /// The SMTP server `[mail]` names, or `None` when mail is off.
    pub fn mailer(&self) -> anyhow::Result<Option<Mailer>> {
        Mailer::new(&self.settings.mail, self.data.root())
    }

    /// The wiki itself, without the middleware stack: what every app serves, and what `quire
    /// notify` sends the mail of. `wake` is what its changes wake (the mail worker's handle).
    pub fn wiki(
        &self,
        lifetime: Lifetime,
        reload_themes: bool,
        wake: Wake,
    ) -> anyhow::Result<Wiki> {
        let storage = self.storage()?;
        let long_running = lifetime == Lifetime::ManyRequests;
        let indexer = if long_running {
            Indexer::background(Arc::clone(&storage), &self.index_dir())
                .context("could not start the search indexer thread")?
        } else {
            Indexer::inline(Arc::clone(&storage), &self.index_dir())
        };
        // Asset URLs carry the hash the gateway's ETags use: one content hash for the wiki.
        let hash = gateway::middleware::content_hash;
        let themes = if reload_themes {
            Themes::reloading(&self.data.root().join("themes"), hash)
        } else {
            // A CGI process renders one page: it compiles only the templates that page needs.
            let compile = if long_running {
                Compile::AtLoad
            } else {
                Compile::OnFirstUse
            };
            Themes::new(self.data.themes_dir().as_deref(), hash, compile)
        }
        .context("could not load the themes")?;
        if !themes.names()?.contains(&self.settings.theme) {
            tracing::warn!(
                theme = %self.settings.theme,
                "quire.toml names a theme that is not installed; pages use the default theme"
            );
        }
        Ok(Wiki::new(
            storage,
            Arc::new(indexer),
            themes,
            self.settings.clone(),
            lifetime,
            wake,
        ))
    }
}

/// A long command's progress on stderr: a bar on a terminal (indicatif, as `quire reindex` shows),
/// otherwise a plain line now and then, for logs and cron mail.
pub(crate) struct Progress {
    what: &'static str,
    bar: Option<ProgressBar>,
    plain: bool,
    last_line: Option<Instant>,
}

impl Progress {
    /// How often a plain line is written at most.
    const LINE_EVERY: Duration = Duration::from_secs(2);

    /// Progress counted in `what` (such as "database pages copied"); nothing at all when `quiet`.
    pub(crate) fn new(what: &'static str, quiet: bool) -> Progress {
        let terminal = !quiet && std::io::stderr().is_terminal();
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(0);
            if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} {msg}") {
                bar.set_style(style);
            }
            bar.set_message(what);
            bar
        });
        Progress {
            what,
            bar,
            plain: !quiet && !terminal,
            last_line: None,
        }
    }

    /// `done` of `total` so far.
    pub(crate) fn set(&mut self, done: u64, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
            bar.set_position(done);
        }
        let due = self
            .last_line
            .is_none_or(|last| last.elapsed() >= Self::LINE_EVERY);
        if self.plain && (due || done == total) {
            eprintln!("{done}/{total} {}", self.what);
            self.last_line = Some(Instant::now());
        }
    }

    /// Clears the bar; the plain lines stay.
    pub(crate) fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
