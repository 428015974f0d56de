//! The data directory: `quire.toml`, `wiki.sqlite3` (unless `database` names a PostgreSQL
//! database, [`Database`]), the search index and `themes/` overrides. Created and seeded with help pages by `quire init` and by the
//! first `quire serve`, so that `quire serve` on a fresh clone is a working
//! wiki; every other command refuses a directory with no wiki in it
//! ([`DataDir::require_wiki`]), so a mistyped `--data` is an error rather
//! than a second, empty wiki.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use storage::{Options, Save, SaveOutcome, Storage};

use crate::config::{default_file, Settings};
use crate::seed::{INSTALLER, SEED_PAGES};
use crate::wiki::plumbing::page_name::Outgoing;
use markup::RenderOptions;

/// How many connections a process keeps to a PostgreSQL database at most: a server's threads
/// share them (a request holds one for a few milliseconds), and three nodes stay far below
/// PostgreSQL's default limit of 100.
const POSTGRES_CONNECTIONS: usize = 16;

/// Where a wiki's pages, history, accounts and files are kept: the `database` setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `DATA/wiki.sqlite3`, the default.
    File,
    /// A PostgreSQL database, by its URL, which nodes may share.
    Postgres(String),
}

impl Database {
    /// The setting's value (`--database`, `QUIRE_DATABASE` or `database` in quire.toml): unset or
    /// empty is the SQLite file, a PostgreSQL URL is that database, anything else an error saying
    /// what is expected.
    pub fn from_setting(value: Option<&str>) -> anyhow::Result<Database> {
        let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
            return Ok(Database::File);
        };
        let is_url = ["postgres://", "postgresql://"]
            .iter()
            .any(|scheme| value.starts_with(scheme));
        // libpq's `host=… dbname=…` form is accepted too.
        let is_keywords = value.contains('=') && !value.contains("://");
        if is_url || is_keywords {
            return Ok(Database::Postgres(value.to_owned()));
        }
        anyhow::bail!(
            "the database setting {:?} is not a PostgreSQL URL such as postgres://quire@db.example.org/wiki;              leave it unset to keep the wiki in the data directory's SQLite file",
            storage::shown_database_url(value)
        )
    }

    /// How messages name it: the file's path, or the URL without its password.
    pub fn shown(&self, data: &DataDir) -> String {
        match self {
            Database::File => data.database_path().display().to_string(),
            Database::Postgres(url) => storage::shown_database_url(url),
        }
    }
}

/// An opened data directory.
pub struct DataDir {
    root: PathBuf,
    /// The database, once the settings were read ([`DataDir::use_database`]); until then it is
    /// read from `quire.toml` when asked for.
    database: Option<Database>,
}

impl DataDir {
    /// The directory to use: the flag or `QUIRE_DATA`, else `./wiki-data`.
    pub fn locate(flag: Option<&Path>) -> DataDir {
        DataDir {
            root: flag
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("wiki-data")),
            database: None,
        }
    }

    /// Sets the database the settings chose (flags over environment over quire.toml), so it is
    /// not read from the file again.
    pub fn use_database(&mut self, database: Database) {
        self.database = Some(database);
    }

    /// The database: as set by [`DataDir::use_database`], else as `quire.toml` says.
    pub fn database(&self) -> anyhow::Result<Database> {
        match &self.database {
            Some(database) => Ok(database.clone()),
            None => Database::from_setting(self.settings()?.database.as_deref()),
        }
    }

    /// The directory's path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the directory holds a wiki: its database, which only `quire init` and the first
    /// `quire serve` make. A node of a PostgreSQL wiki always does: the wiki is in the database,
    /// and its first node to open it seeds it. The file is looked for first: an SQLite wiki (every
    /// CGI request) is answered without reading `quire.toml`.
    pub fn holds_wiki(&self) -> bool {
        self.database_path().is_file() || matches!(self.database(), Ok(Database::Postgres(_)))
    }

    /// Refuses a directory that holds no wiki, saying how to make one: a mistyped `--data` must not
    /// quietly become a second, empty wiki.
    pub fn require_wiki(&self) -> anyhow::Result<()> {
        if self.holds_wiki() {
            return Ok(());
        }
        let root = self.root.display();
        let what = if self.root.exists() {
            "holds no wiki (no wiki.sqlite3)"
        } else {
            "does not exist"
        };
        anyhow::bail!(
            "the data directory {root} {what}; check --data (or QUIRE_DATA), or create a wiki there with: quire --data {root} init"
        )
    }

    /// Creates the directory and its `quire.toml` if missing.
    pub fn create(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.root).with_context(|| {
            format!(
                "could not create the data directory {}; pass --data DIR (or set QUIRE_DATA) to a directory this user can write",
                self.root.display()
            )
        })?;
        let config = self.config_path();
        // create_new: when several CGI processes start on a fresh directory
        // at once, exactly one writes the file and the others leave it be.
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&config)
        {
            Ok(mut file) => file
                .write_all(default_file().as_bytes())
                .with_context(|| format!("could not write {}", config.display())),
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(err) => Err(err).with_context(|| format!("could not create {}", config.display())),
        }
    }

    /// The settings file's contents (all defaults if there is none).
    pub fn settings(&self) -> anyhow::Result<Settings> {
        Settings::read(&self.config_path())
    }

    /// Opens the database, seeding the help pages into an empty wiki.
    pub fn open_storage(&self) -> anyhow::Result<Storage> {
        self.open_storage_with(&Options::default())
    }

    /// [`DataDir::open_storage`] with other storage settings (an import's bulk durability, which
    /// only SQLite has: PostgreSQL's durability is the server's).
    pub fn open_storage_with(&self, options: &Options) -> anyhow::Result<Storage> {
        let database = self.database()?;
        let opened = match &database {
            Database::File => Storage::open_with(&self.database_path(), options),
            Database::Postgres(url) => {
                Storage::open_postgres(url, &self.root, POSTGRES_CONNECTIONS)
            }
        };
        let storage = opened.with_context(|| {
            format!("could not open the wiki database {}", database.shown(self))
        })?;
        let needed = storage
            .setup_needed()
            .context("could not read the wiki database")?;
        // The settings are read only when links are to be recorded: not on an up-to-date wiki's
        // every CGI request.
        if needed.no_pages || needed.links_missing {
            let markup = self.settings()?.render_options();
            if needed.no_pages {
                seed(&storage, &markup)
                    .context("could not write the help pages into the new wiki")?;
            }
            fill_in_links(&storage, &markup).context("could not record the links between pages")?;
        }
        Ok(storage)
    }

    /// Where theme overrides live, if the directory exists.
    pub fn themes_dir(&self) -> Option<PathBuf> {
        let dir = self.root.join("themes");
        dir.is_dir().then_some(dir)
    }

    /// The file of session keys, `DATA/session.key` (mode 0600; see `gateway::session`).
    pub fn session_key_path(&self) -> PathBuf {
        self.root.join("session.key")
    }

    /// The database file, `DATA/wiki.sqlite3`.
    pub fn database_path(&self) -> PathBuf {
        self.root.join("wiki.sqlite3")
    }

    /// The settings file, `DATA/quire.toml`.
    pub fn config_path(&self) -> PathBuf {
        self.root.join("quire.toml")
    }
}

/// Writes the help pages. Another process seeding at the same moment makes
/// ours a conflict, which is fine: the page is there either way.
fn seed(storage: &Storage, markup: &RenderOptions) -> anyhow::Result<usize> {
    let mut written = 0;
    for (name, text) in SEED_PAGES {
        let outgoing = Outgoing::of(text, name, markup);
        let save = Save {
            page: name,
            text,
            author: INSTALLER,
            comment: "Installed with quire",
            base_rev: None,
            time: None,
        };
        let outcome =
            storage.save_with_links_and_files(save, &outgoing.pages(), &outgoing.files())?;
        if matches!(outcome, SaveOutcome::Saved { .. }) {
            written += 1;
        }
    }
    // Debug: `quire init` and `quire serve` say in their own words that a wiki was made.
    tracing::debug!(pages = written, "seeded a new wiki with help pages");
    Ok(written)
}

/// Records the outgoing links of every page whose current revision has none recorded: a database
/// from before the link graph, or pages saved by tools that do not parse Markdown. Storage keeps those
/// pages in a partial index, so on an up-to-date wiki (every CGI request) this is one empty lookup.
pub(crate) fn fill_in_links(storage: &Storage, markup: &RenderOptions) -> anyhow::Result<()> {
    const BATCH: usize = 200;
    let mut filled = 0_usize;
    loop {
        let batch = storage.pages_missing_links(BATCH)?;
        if batch.is_empty() {
            break;
        }
        let mut progressed = false;
        for revision in &batch {
            let outgoing = Outgoing::of(&revision.text, &revision.meta.page, markup);
            // False when a save overtook us; that save recorded (or will be listed with) its own links.
            progressed |= storage.set_links_and_files(
                &revision.meta.page,
                revision.meta.rev,
                &outgoing.pages(),
                &outgoing.files(),
            )?;
            filled += 1;
        }
        if !progressed {
            // Another writer keeps moving these pages on; the next open finishes the job.
            break;
        }
    }
    if filled > 0 {
        tracing::debug!(
            pages = filled,
            "recorded the links of pages saved without them"
        );
    }
    Ok(())
}
