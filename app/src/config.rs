//! `quire.toml`: the settings file in the data directory, merged under the
//! command line and environment.
//!
//! [`Settings`] is the one place where each key's name, type, default (its
//! `Default` impl) and meaning (its doc comment) are written. The rest is
//! derived from it:
//! - the commented file a new data directory gets, [`default_file`], is
//!   written from the doc comments and `Settings::default()`;
//! - flags and `QUIRE_*` variables are `Option`s laid over the file's values
//!   by [`Settings::with_flags`], so flags > environment > file > default;
//! - the admin page lists [`Settings::entries`], which serialises it;
//! - the wiki reads the struct itself; the values derived from it (the ACL
//!   [`Policy`], the Markdown dialect) are built by its methods once per
//!   process, and the gateway's config by `commands::Setup::gateway_config`.
//!
//! Unknown keys are an error: a typo should not be silently ignored. So are
//! values of the wrong type and page names that cannot be pages; the error
//! shows the line of the file.
//!
//! To add a key: a field with its doc comment in [`Settings`] (or one of its
//! tables), its default in `Default`; an example in a `toml` code block in the
//! doc when it has no default value.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::acl::{GroupPages, Groups, Policy, DEFAULT_ACL, DEFAULT_PAGE_GROUP_REGEX};
use crate::wiki::plumbing::page_name::PageName;

/// One key of a table of `quire.toml`, as its struct declares it.
#[derive(Debug)]
pub struct Key {
    /// The key's name (the field's).
    pub name: &'static str,
    /// The field's doc comment, one entry per line.
    pub doc: &'static [&'static str],
    /// The keys inside, if the value is a table declared with `settings_table!`.
    pub keys: &'static [Key],
}

/// A type that a key of `quire.toml` can have. A table declared with
/// `settings_table!` lists its keys; other values (and free-form maps such as
/// `[groups]`) have none.
pub trait Setting {
    /// The documented keys inside a value of this type.
    const KEYS: &'static [Key] = &[];
}

impl Setting for String {}
impl Setting for bool {}
impl Setting for u64 {}
impl Setting for usize {}
impl Setting for PageName {}
impl<K, V> Setting for BTreeMap<K, V> {}
impl<T> Setting for Vec<T> {}
impl<T: Setting> Setting for Option<T> {
    const KEYS: &'static [Key] = T::KEYS;
}

/// Declares a table of `quire.toml`: the struct as written, and its
/// [`Setting`] impl listing each field's name, doc comment and inner keys. So
/// a key's doc comment is both its rustdoc and its comment in the file `quire
/// init` writes. Fields take doc comments only; serde's options go on the
/// struct.
macro_rules! settings_table {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])*
                pub $field:ident: $ty:ty,
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[doc = $doc])*
                pub $field: $ty,
            )*
        }

        impl Setting for $name {
            const KEYS: &'static [Key] = &[
                $(Key {
                    name: stringify!($field),
                    doc: &[$($doc),*],
                    keys: <$ty as Setting>::KEYS,
                },)*
            ];
        }
    };
}

settings_table! {
    /// Every key of `quire.toml`, after the command line and environment
    /// were laid over the file (see [`Settings::with_flags`]).
    ///
    /// The admin page lists every key and its value: a secret (a mail
    /// password, say) does not belong here but in a file of its own, as the
    /// session keys are.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct Settings {
        /// The name in the header and in page titles.
        pub site_name: String,
        /// The page shown at the wiki's root.
        pub front_page: PageName,
        /// The page the header's Help link opens.
        pub help_page: PageName,
        /// Where `quire serve` listens (flag --listen, env QUIRE_LISTEN).
        pub listen: String,
        /// Where `quire fastcgi` listens when no --listen is given and no socket is
        /// inherited: "HOST:PORT" or "unix:/path/to/socket". Unset by default; for example:
        /// ```toml
        /// fastcgi_listen = "127.0.0.1:9000"
        /// ```
        pub fastcgi_listen: Option<String>,
        /// Where `quire scgi` listens, likewise. Unset by default; for example:
        /// ```toml
        /// scgi_listen = "127.0.0.1:4000"
        /// ```
        pub scgi_listen: Option<String>,
        /// Where the wiki's pages, history, accounts and files are kept (flag --database, env
        /// QUIRE_DATABASE). Unset, the default: the SQLite file wiki.sqlite3 in the data
        /// directory. A PostgreSQL URL puts them in that database instead, which any number of
        /// quire nodes may share (docs/scaling.md); each node's data directory then keeps only
        /// quire.toml, theme overrides and its own search index. Add ?sslmode=require for TLS.
        /// A password in the URL is better given in QUIRE_DATABASE, from a file only quire
        /// may read, than here. Unset by default; for example:
        /// ```toml
        /// database = "postgres://quire@db.example.org/wiki"
        /// ```
        pub database: Option<String>,
        /// The file of keys that seal session cookies. Unset, the default: session.key in the
        /// data directory, or, with a PostgreSQL database, the keys kept in that database, so
        /// that every node opens the cookies the others sealed. Set it to keep the keys out of
        /// the database; every node must then be given the same file. Unset by default; for
        /// example:
        /// ```toml
        /// session_key_file = "/etc/quire/session.key"
        /// ```
        pub session_key_file: Option<String>,
        /// Serve under this prefix instead of the web server's SCRIPT_NAME (flag
        /// --mount). Unset by default; for example:
        /// ```toml
        /// mount = "/wiki"
        /// ```
        pub mount: Option<String>,
        /// The wiki's public origin, `scheme://host[:port]` without a path, such as
        /// `https://wiki.example.org`. Absolute URLs (the feeds' links) are built from it;
        /// unset, from the Host header of each request, which the client chooses: on a wiki
        /// others can reach, set this or allowed_hosts. Unset by default; for example:
        /// ```toml
        /// base_url = "https://wiki.example.org"
        /// ```
        pub base_url: Option<String>,
        /// The host names requests may name in their Host header, such as
        /// "wiki.example.org" (any port) or "localhost:8080" (that port only); a request
        /// naming another is answered 400. Empty, the default: any host.
        pub allowed_hosts: Vec<String>,
        /// The reverse proxies in front of quire, as addresses or networks ("127.0.0.1",
        /// "10.0.0.0/8", "::1"). Only from these peers are X-Forwarded-For,
        /// X-Forwarded-Proto and Forwarded believed: the client's address (for the log,
        /// login throttling and anonymous edits) and https (Secure cookies, HSTS) come from
        /// them. Empty, the default: these headers are ignored, as any client can send them.
        pub trusted_proxies: Vec<Cidr>,
        /// What /robots.txt says to crawlers. Unset, it asks them to skip the wiki's
        /// actions (every address under /+: editors, histories, diffs, search) and
        /// leaves the pages themselves to be indexed. Unset by default; for example:
        /// ```toml
        /// robots_txt = "User-agent: *\nDisallow: /"
        /// ```
        pub robots_txt: Option<String>,
        /// Answer /sitemap.xml with the pages anonymous readers may read, for crawlers; its
        /// absolute URLs start with base_url, else the request's (allowed) host. Off, it is
        /// a 404 and robots.txt names no sitemap.
        pub sitemap: bool,
        /// Answer /+metrics in Prometheus' text format: requests by route and status, a
        /// latency histogram, saves, conflicts, merges, throttled logins and the search
        /// index's lag. Counters live in the process, so under CGI (a process per request)
        /// only the database-derived gauges mean anything. Off: /+metrics is a 404.
        pub metrics: bool,
        /// The client addresses (CIDRs, such as "10.0.0.0/8", or single addresses) that
        /// /+metrics answers; others get 403. By default the machine itself only. Behind a
        /// reverse proxy, list the proxy in trusted_proxies: otherwise every request comes
        /// from the proxy's address.
        pub metrics_allow: Vec<Cidr>,
        /// How many entries the audit log (admin and security events, on /+admin) keeps;
        /// older ones are removed as new ones come. 0: no bound by count.
        pub audit_max_entries: u64,
        /// How many days the audit log keeps an entry. 0: no bound by age.
        pub audit_max_days: u64,
        /// The largest form accepted, in bytes (flag --max-body): forms are read whole
        /// into memory. Uploads have their own limit, max_upload_bytes.
        pub max_body_bytes: u64,
        /// The largest upload accepted, in bytes (flag --max-upload): files are streamed into the database,
        /// never held in memory whole. A larger one is refused with 413 and nothing is
        /// stored. In front of quire, the web server needs as large a limit (nginx:
        /// client_max_body_size; Apache: LimitRequestBody; lighttpd: server.max-request-size).
        pub max_upload_bytes: u64,
        /// The most bytes all files together may take (each distinct content counted once,
        /// however many pages or versions share it). An upload past it is refused with 413.
        /// 0: no quota.
        pub upload_quota_bytes: u64,
        /// Show error details in the browser (flag --debug). Never on a public wiki.
        pub debug: bool,
        /// Keep rendered pages in the database and serve them without rendering the
        /// Markdown again; links stay right as pages are created. Off: render every view.
        pub render_cache: bool,
        /// How many bytes of finished page views `quire serve` and the FastCGI and SCGI
        /// servers keep in memory, each process its own: a repeated view of an unchanged page is
        /// then answered without reading or drawing it. Every change to the wiki, from any
        /// process, empties it. 0: draw every view. A CGI process keeps nothing.
        pub response_cache_bytes: u64,
        /// The largest page text accepted when saving or previewing, in bytes.
        pub max_page_bytes: usize,
        /// The theme readers see unless they pick another: "default" (modern),
        /// "classic" (after MoinMoin's), "minimal" (for reading), or one added under
        /// DATA/themes/. An unknown name falls back to "default".
        pub theme: String,
        /// Link words written in CamelCase to the page of that name, without `[[ ]]`.
        pub camel_case: bool,
        /// Who may create an account on /+register: "open" (anyone), "invite" (with a
        /// code from `quire user invite` or the admin page) or "closed" (accounts are
        /// made with `quire user add` only).
        pub registration: Registration,
        /// Whether visitors who are not logged in may edit; their revisions name their
        /// address. On by default so that a new wiki works before it has any account;
        /// off, editing asks to log in and every revision names its account.
        pub anonymous_edits: bool,
        /// Interwiki prefixes: `[[WikiPedia:Rust]]` links to the URL with $PAGE replaced
        /// by the (percent-encoded) page part. Setting this table replaces the default,
        /// which is the one entry below.
        pub interwiki: BTreeMap<String, String>,
        /// Access control, MoinMoin-style (the Help/AccessControl page explains it).
        /// Entries "names:rights" (rights: read, write, delete, admin; names: users,
        /// groups, All, Known). The first entry naming the user decides; "+"/"-" in
        /// front only grant/deny the rights listed. Users with the admin role have
        /// every right.
        pub acl: AclSettings,
        /// Groups for ACLs: `name = [members]`; a member may be a user, another group,
        /// All or Known. None by default; for example:
        /// ```toml
        /// [groups]
        /// Editors = ["alice", "bob"]
        /// ```
        pub groups: BTreeMap<String, Vec<String>>,
        /// Pages whose whole name matches this regular expression (Rust regex syntax,
        /// case-sensitive) define groups for ACLs, as in MoinMoin: the page's top-level
        /// bullet items are the members, and a member may be another group. Where `[groups]`
        /// names the same group, `[groups]` wins. Changing such a page's members needs the
        /// admin right on it when an ACL names the group. Empty: no group pages.
        pub page_group_regex: String,
        /// Pages whose whole name matches this pattern are templates, offered when a page is
        /// created (MoinMoin's convention: names ending in "Template"); `/+edit/Page?template=Name`
        /// starts from any page the editor may read. A glob, matched case-sensitively by the
        /// database: `*` any characters, `?` one, `[abc]` one of a set. A pattern starting with
        /// a literal part ("Templates/*") is the cheaper to list on a large wiki. Empty: none offered.
        pub template_pages: String,
        /// Defences against spam robots on a wiki anyone may edit or join (see `crate::spam`).
        pub spam: SpamSettings,
        /// Mail to the accounts watching a page when it changes, sent through an SMTP server
        /// (docs/deploy.md, "Mail"). Without a host, no mail is queued or sent.
        pub mail: MailSettings,
    }
}

/// What an upload form adds around its files: boundaries, part headers, the token and comment
/// fields. A body may be this much larger than `max_upload_bytes`.
pub const UPLOAD_FORM_OVERHEAD: u64 = 64 * 1024;

impl Settings {
    /// The most a request body may hold read as a stream, which is how uploads are read: an
    /// upload of `max_upload_bytes` with its form, or a form of `max_body_bytes`, whichever is
    /// larger. Forms read whole stay bounded by `max_body_bytes`.
    pub fn max_stream_bytes(&self) -> u64 {
        self.max_upload_bytes
            .saturating_add(UPLOAD_FORM_OVERHEAD)
            .max(self.max_body_bytes)
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            site_name: "quire".to_owned(),
            front_page: PageName::parse("FrontPage").expect("FrontPage is a page name"),
            help_page: PageName::parse("Help").expect("Help is a page name"),
            listen: "127.0.0.1:8080".to_owned(),
            fastcgi_listen: None,
            scgi_listen: None,
            database: None,
            session_key_file: None,
            mount: None,
            base_url: None,
            allowed_hosts: Vec::new(),
            trusted_proxies: Vec::new(),
            robots_txt: None,
            sitemap: true,
            metrics: false,
            metrics_allow: vec![Cidr::LOOPBACK_V4, Cidr::LOOPBACK_V6],
            audit_max_entries: 100_000,
            audit_max_days: 365,
            max_body_bytes: gateway::GatewayConfig::default().max_body_bytes,
            max_upload_bytes: 64 * 1024 * 1024,
            upload_quota_bytes: 10 * 1024 * 1024 * 1024,
            debug: false,
            render_cache: true,
            response_cache_bytes: 16 * 1024 * 1024,
            max_page_bytes: 2 * 1024 * 1024,
            theme: themes::DEFAULT_THEME.to_owned(),
            camel_case: false,
            registration: Registration::Open,
            anonymous_edits: true,
            interwiki: [(
                "WikiPedia".to_owned(),
                "https://en.wikipedia.org/wiki/$PAGE".to_owned(),
            )]
            .into(),
            acl: AclSettings::default(),
            groups: BTreeMap::new(),
            page_group_regex: DEFAULT_PAGE_GROUP_REGEX.to_owned(),
            template_pages: "*Template".to_owned(),
            spam: SpamSettings::default(),
            mail: MailSettings::default(),
        }
    }
}

settings_table! {
    /// `[acl]`: the ACL lines around every page's own (see `crate::acl`).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct AclSettings {
        /// Entries checked first, before the page's own #acl line.
        pub before: String,
        /// Entries for a page without an #acl line of its own.
        pub default: String,
        /// Entries checked last.
        pub after: String,
    }
}

impl Default for AclSettings {
    fn default() -> Self {
        AclSettings {
            before: String::new(),
            default: DEFAULT_ACL.to_owned(),
            after: String::new(),
        }
    }
}

settings_table! {
    /// `[spam]`: what a save or a registration must pass on a wiki open to anyone. A refused save
    /// comes back as the editor with its text kept and the reason shown.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct SpamSettings {
        /// Regular expressions (Rust regex syntax, matched without regard to case; `(?-i)` turns
        /// that off): a save that adds text matching one is refused, whoever saves it. A match the
        /// page had already does not count, so an old page can still be edited. Admins keep a
        /// second list on /+admin. None by default; for example
        /// ['casino\s*bonus', 'cheap-pills\.example'].
        pub bad_content: Vec<String>,
        /// The most external links a save by a visitor who is not logged in may add; a save adding
        /// more is refused. Logged-in accounts have no limit.
        pub anonymous_max_links: usize,
        /// Saves a visitor who is not logged in may make per hour from one address; 0 for no
        /// limit. Counted in the database, so it holds across CGI processes.
        pub anonymous_saves_per_hour: u64,
        /// Registrations on /+register per hour from one address; 0 for no limit.
        pub registrations_per_hour: u64,
        /// Requests one API token may make per minute (`/+api/`); the next gets 429 with
        /// `Retry-After`. 0 for no limit. A long-running server counts in its memory (so each of
        /// several server processes allows this many); CGI counts in the database.
        pub api_requests_per_minute: u64,
        /// Requests with a bad API token (unknown, revoked or expired) one address may send per
        /// hour; past it, each further bad token gets 429. 0 for no limit. Counted in the database.
        pub api_token_failures_per_hour: u64,
    }
}

impl Default for SpamSettings {
    fn default() -> Self {
        SpamSettings {
            bad_content: Vec::new(),
            anonymous_max_links: 5,
            anonymous_saves_per_hour: 120,
            registrations_per_hour: 30,
            api_requests_per_minute: 600,
            api_token_failures_per_hour: 60,
        }
    }
}

settings_table! {
    /// `[mail]`: the SMTP server that mail about watched pages goes through. The long-running
    /// servers send it as it is queued; under CGI, `quire notify` run from cron sends it (or the
    /// next `quire serve`, FastCGI or SCGI server started on the data directory).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    pub struct MailSettings {
        /// The SMTP server's host name. Unset by default: no mail is queued or sent; for
        /// example:
        /// ```toml
        /// host = "smtp.example.org"
        /// ```
        pub host: Option<String>,
        /// The SMTP server's port: 587 for submission with STARTTLS, 465 for TLS from the
        /// first byte, 25 for a relay on the machine itself.
        pub port: u16,
        /// The sender's address, such as "wiki@example.org" or "Team wiki
        /// <wiki@example.org>". Needed once host is set; for example:
        /// ```toml
        /// from = "quire <wiki@example.org>"
        /// ```
        pub from: Option<String>,
        /// How the connection is protected: "starttls" (upgraded after connecting, and refused
        /// if the server cannot), "tls" (TLS from the first byte) or "none" (plain text: only
        /// for a server on the machine itself or its private network).
        pub tls: MailTls,
        /// The account to log in to the SMTP server as. Unset by default: no login; for
        /// example:
        /// ```toml
        /// user = "wiki@example.org"
        /// ```
        pub user: Option<String>,
        /// A file holding the SMTP password (its first line), relative to the data directory
        /// unless absolute: the password itself does not belong in this file, which the admin
        /// page shows. Unset by default; for example:
        /// ```toml
        /// password_file = "smtp-password"
        /// ```
        pub password_file: Option<String>,
    }
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            host: None,
            port: 587,
            from: None,
            tls: MailTls::Starttls,
            user: None,
            password_file: None,
        }
    }
}

/// How the connection to the SMTP server is protected (`[mail] tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTls {
    /// Plain text.
    None,
    /// Upgraded with STARTTLS after connecting; a server that cannot is refused.
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

impl Setting for MailTls {}
impl Setting for u16 {}

/// Who may create an account on `/+register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    /// Anyone.
    Open,
    /// Whoever has an invitation code.
    Invite,
    /// Nobody: accounts come from `quire user add`.
    Closed,
}

impl Registration {
    /// The name quire.toml uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Open => "open",
            Registration::Invite => "invite",
            Registration::Closed => "closed",
        }
    }
}

impl Setting for Registration {}

/// A block of addresses, `10.0.0.0/8` or `::1/128`; a bare address is a block of one: the
/// gateway's [`gateway::proxy::Cidr`], written and read as that text in `quire.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(pub gateway::proxy::Cidr);

impl Cidr {
    /// `127.0.0.0/8`: IPv4's loopback block.
    pub const LOOPBACK_V4: Cidr = Cidr(gateway::proxy::Cidr::LOOPBACK_V4);
    /// `::1/128`: IPv6's loopback address.
    pub const LOOPBACK_V6: Cidr = Cidr(gateway::proxy::Cidr::LOOPBACK_V6);

    /// Whether `addr` is in the block (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.0.contains(addr)
    }
}

impl std::str::FromStr for Cidr {
    type Err = gateway::proxy::CidrError;

    fn from_str(text: &str) -> Result<Cidr, Self::Err> {
        text.parse().map(Cidr)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Cidr, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Setting for Cidr {}

/// The listen addresses a subcommand's flags (or their environment
/// variables) gave, to lay over the file's.
#[derive(Debug, Default, Clone, Copy)]
pub struct ListenFlags<'a> {
    /// `serve --listen`.
    pub http: Option<&'a str>,
    /// `fastcgi --listen`.
    pub fastcgi: Option<&'a str>,
    /// `scgi --listen`.
    pub scgi: Option<&'a str>,
}

impl Settings {
    /// Reads `path`; a missing file is all defaults.
    pub fn read(path: &Path) -> anyhow::Result<Settings> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Settings::default())
            }
            Err(err) => {
                return Err(err).with_context(|| format!("could not read {}", path.display()))
            }
        };
        toml::from_str(&text).with_context(|| {
            format!(
                "{} is not valid (every key and its default is listed in the quire.toml that `quire init` writes into an empty directory)",
                path.display()
            )
        })
    }

    /// Lays the command line (which already includes the environment) over
    /// the file: each flag given replaces its key. Then checks the mount
    /// prefix, whichever of the two set it.
    pub fn with_flags(
        mut self,
        global: &crate::cli::GlobalOptions,
        flags: &ListenFlags<'_>,
    ) -> anyhow::Result<Settings> {
        if let Some(database) = &global.database {
            self.database = Some(database.clone());
        }
        crate::datadir::Database::from_setting(self.database.as_deref())?;
        let server = &global.server;
        if let Some(mount) = &server.mount {
            self.mount = Some(mount.clone());
        }
        if let Some(max_body) = server.max_body {
            self.max_body_bytes = max_body;
        }
        if let Some(max_upload) = server.max_upload {
            self.max_upload_bytes = max_upload;
        }
        // A switch: present turns it on, absent leaves the file's value.
        self.debug |= server.debug;
        if let Some(listen) = flags.http {
            self.listen = listen.to_owned();
        }
        if let Some(listen) = flags.fastcgi {
            self.fastcgi_listen = Some(listen.to_owned());
        }
        if let Some(listen) = flags.scgi {
            self.scgi_listen = Some(listen.to_owned());
        }
        if let Some(mount) = &self.mount {
            self.mount = Some(parse_mount(mount)?);
        }
        if let Some(base_url) = &self.base_url {
            self.base_url = Some(parse_base_url(base_url)?);
        }
        for host in &mut self.allowed_hosts {
            *host = parse_allowed_host(host)?;
        }
        if let Err(err) = GroupPages::new(&self.page_group_regex) {
            anyhow::bail!(
                "page_group_regex in quire.toml is not a valid regular expression (set it to \"\" to turn group pages off):\n{err}"
            );
        }
        if self.mail.host.is_some() && self.mail.from.is_none() {
            anyhow::bail!(
                "[mail] in quire.toml sets host but not from: add the address mail is sent from, such as from = \"wiki@example.org\""
            );
        }
        if let Err(errors) = crate::spam::BadContent::new(&self.spam.bad_content) {
            let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::bail!(
                "spam.bad_content in quire.toml has patterns that are not valid regular expressions:\n{}",
                errors.join("\n")
            );
        }
        Ok(self)
    }

    /// `trusted_proxies`, as the gateway takes them.
    pub fn trusted_proxies(&self) -> gateway::proxy::TrustedProxies {
        self.trusted_proxies.iter().map(|block| block.0).collect()
    }

    /// Whether a request naming `host` in its Host header is answered: any host while
    /// `allowed_hosts` is empty, else one listed there (an entry without a port allows every port).
    pub fn allows_host(&self, host: &str) -> bool {
        if self.allowed_hosts.is_empty() {
            return true;
        }
        let host = host.to_ascii_lowercase();
        let name = host_name(&host);
        self.allowed_hosts
            .iter()
            .any(|allowed| *allowed == host || *allowed == name)
    }

    /// `[acl]`, `[groups]` and `page_group_regex`, parsed. A pattern that is no regular expression
    /// (refused at start by [`Settings::with_flags`]) turns group pages off.
    pub fn acl_policy(&self) -> Policy {
        let group_pages = GroupPages::new(&self.page_group_regex).unwrap_or_else(|err| {
            tracing::error!(error = %err, "page_group_regex is not valid: no group pages");
            GroupPages::default()
        });
        Policy::new(
            &self.acl.before,
            &self.acl.default,
            &self.acl.after,
            Groups::new(self.groups.clone()),
        )
        .with_group_pages(group_pages)
    }

    /// The Markdown dialect: `camel_case` and `[interwiki]` over markup's defaults.
    pub fn render_options(&self) -> markup::RenderOptions {
        markup::RenderOptions {
            camel_case: self.camel_case,
            interwiki: self.interwiki.clone(),
            // Anyone who may edit can have any text rendered: bounded, whatever the page size limit.
            limits: Some(markup::RenderLimits::default()),
            ..markup::RenderOptions::default()
        }
    }

    /// Every key and its value, in the order [`Settings`] declares them; the
    /// keys of a table as `table.key`, and `None` for a key that is unset (or
    /// an empty table). Serialised, so a new key is listed without being
    /// named anywhere else.
    pub fn entries(&self) -> Vec<(String, Option<toml::Value>)> {
        let mut entries = Vec::new();
        let mut shown = self.clone();
        // A password may be written in the database's URL: the page shows the URL without it.
        shown.database = shown.database.as_deref().map(storage::shown_database_url);
        collect_entries(&mut entries, "", Settings::KEYS, &shown.to_table());
        entries
    }

    fn to_table(&self) -> toml::Table {
        toml::Table::try_from(self).expect("settings serialise to a TOML table")
    }
}

fn collect_entries(
    entries: &mut Vec<(String, Option<toml::Value>)>,
    prefix: &str,
    keys: &[Key],
    values: &toml::Table,
) {
    for key in keys {
        let path = format!("{prefix}{}", key.name);
        match values.get(key.name) {
            Some(toml::Value::Table(table)) if !key.keys.is_empty() => {
                collect_entries(entries, &format!("{path}."), key.keys, table);
            }
            Some(toml::Value::Table(table)) if !table.is_empty() => {
                for (name, value) in table {
                    entries.push((format!("{path}.{name}"), Some(value.clone())));
                }
            }
            Some(toml::Value::Table(_)) | None => entries.push((path, None)),
            Some(value) => entries.push((path, Some(value.clone()))),
        }
    }
}

/// The first lines of the file [`default_file`] writes.
const DEFAULT_FILE_HEADER: &str = "\
# quire settings. Command-line flags and QUIRE_* environment variables
# override what is set here. Every key is shown at its default, or with an
# example where it has none.
";

/// What a new data directory's quire.toml says: every key with its doc
/// comment, commented out at its default. A key without a default value (an
/// unset option, an empty table) is shown by the example in its doc's `toml`
/// code block.
pub fn default_file() -> String {
    let mut out = DEFAULT_FILE_HEADER.to_owned();
    write_keys(
        &mut out,
        "",
        Settings::KEYS,
        &Settings::default().to_table(),
    );
    out
}

fn write_keys(out: &mut String, prefix: &str, keys: &[Key], values: &toml::Table) {
    // TOML reads every key after a `[table]` line as the table's: plain keys go first, whatever
    // the order of the fields.
    let is_table = |key: &&Key| matches!(values.get(key.name), Some(toml::Value::Table(_)));
    let (tables, plain): (Vec<&Key>, Vec<&Key>) = keys.iter().partition(is_table);
    for key in plain.into_iter().chain(tables) {
        out.push('\n');
        for line in key.doc {
            let line = line.strip_prefix(' ').unwrap_or(line);
            // The example's code fence is for rustdoc; its lines are the example.
            if !line.starts_with("```") {
                out.push_str(format!("# {line}").trim_end());
                out.push('\n');
            }
        }
        match values.get(key.name) {
            Some(toml::Value::Table(table)) if !table.is_empty() || !key.keys.is_empty() => {
                let path = format!("{prefix}{}", key.name);
                out.push_str(&format!("# [{path}]\n"));
                if key.keys.is_empty() {
                    for (name, value) in table {
                        write_value(out, name, value);
                    }
                } else {
                    write_keys(out, &format!("{path}."), key.keys, table);
                }
            }
            Some(toml::Value::Table(_)) | None => {}
            Some(value) => write_value(out, key.name, value),
        }
    }
}

/// `# name = value`, quoted as TOML needs.
fn write_value(out: &mut String, name: &str, value: &toml::Value) {
    let line = toml::to_string(&toml::Table::from_iter([(name.to_owned(), value.clone())]))
        .expect("a key and a plain value serialise");
    out.push_str("# ");
    out.push_str(&line);
}

/// Checks a mount prefix: `/wiki` or `/` (the root); a trailing `/` is
/// dropped. Anything else would make every request miss the wiki.
pub fn parse_mount(value: &str) -> anyhow::Result<String> {
    if !value.starts_with('/') || value.contains(['?', '#']) || value.chars().any(char::is_control)
    {
        anyhow::bail!("the mount prefix {value:?} (mount in quire.toml, --mount or QUIRE_MOUNT) must be a path starting with '/', such as /wiki (or / for the root)");
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// Checks `base_url`: an http or https origin without a path; a trailing `/` is dropped.
pub fn parse_base_url(value: &str) -> anyhow::Result<String> {
    let trimmed = value.trim_end_matches('/');
    let uri: http::Uri = trimmed.parse().ok().filter(|uri: &http::Uri| {
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.authority().is_some()
            && uri.path_and_query().is_none_or(|path| path.as_str().is_empty() || path == "/")
    }).ok_or_else(|| {
        anyhow::anyhow!(
            "base_url {value:?} in quire.toml must be an origin such as https://wiki.example.org, with no path (the mount prefix comes from the web server, or from mount)"
        )
    })?;
    Ok(format!(
        "{}://{}",
        uri.scheme_str().unwrap_or("https"),
        uri.authority().map_or("", |a| a.as_str())
    ))
}

/// Checks an `allowed_hosts` entry: a host name or address, with a port or not, in lower case.
fn parse_allowed_host(value: &str) -> anyhow::Result<String> {
    let host = value.trim().to_ascii_lowercase();
    let valid =
        !host.is_empty() && host.parse::<http::uri::Authority>().is_ok() && !host.contains('@');
    if !valid {
        anyhow::bail!(
            "allowed_hosts entry {value:?} in quire.toml must be a host name, such as wiki.example.org or localhost:8080"
        );
    }
    Ok(host)
}

/// `host` without its `:port` (an IPv6 address keeps its brackets).
fn host_name(host: &str) -> &str {
    match host.rfind(':') {
        Some(colon) if !host[colon..].contains(']') => &host[..colon],
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{GlobalOptions, ServerFlags};

    #[test]
    fn trusted_proxies_are_networks() {
        let settings: Settings =
            toml::from_str("trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]").unwrap();
        assert!(settings
            .trusted_proxies()
            .contains("127.0.0.1".parse().unwrap()));
        assert!(!settings
            .trusted_proxies()
            .contains("127.0.0.2".parse().unwrap()));
        assert!(Settings::default().trusted_proxies().is_empty());
        let err = toml::from_str::<Settings>("trusted_proxies = [\"10.0.0.0/40\"]").unwrap_err();
        assert!(
            err.to_string().contains("trusted_proxies") && err.to_string().contains("10.0.0.0/40"),
            "{err}"
        );
    }

    #[test]
    fn address_blocks_parse_and_match() {
        let block = |text: &str| text.parse::<Cidr>().unwrap();
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        assert!(block("10.0.0.0/8").contains(ip("10.200.1.2")));
        assert!(!block("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert_eq!(block("10.1.2.3/8"), block("10.0.0.0/8"));
        assert_eq!(block("10.1.2.3/8").to_string(), "10.0.0.0/8");
        assert!(block("192.0.2.7").contains(ip("192.0.2.7")));
        assert!(!block("192.0.2.7").contains(ip("192.0.2.8")));
        assert!(block("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(!block("0.0.0.0/0").contains(ip("2001:db8::1")));
        assert!(block("2001:db8::/32").contains(ip("2001:db8:ffff::1")));
        assert!(!block("2001:db8::/32").contains(ip("2001:db9::1")));
        assert!(Cidr::LOOPBACK_V4.contains(ip("::ffff:127.0.0.1")));
        assert!(Cidr::LOOPBACK_V6.contains(ip("::1")));
        for bad in ["10.0.0.0/33", "::/129", "localhost", "10.0.0.0/x", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
        let err = toml::from_str::<Settings>("metrics_allow = [\"10.0.0.0/99\"]").unwrap_err();
        assert!(err.to_string().contains("metrics_allow"), "{err}");
        let settings: Settings = toml::from_str("metrics_allow = [\"10.0.0.0/8\"]").unwrap();
        assert_eq!(settings.metrics_allow, [block("10.0.0.0/8")]);
    }

    #[test]
    fn base_url_is_an_origin_without_a_path() {
        assert_eq!(
            parse_base_url("https://wiki.example.org/").unwrap(),
            "https://wiki.example.org"
        );
        assert_eq!(
            parse_base_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        for bad in [
            "wiki.example.org",
            "ftp://x",
            "https://x/wiki",
            "https://x?a=1",
            "",
        ] {
            let err = parse_base_url(bad).unwrap_err().to_string();
            assert!(err.contains("base_url"), "{bad}: {err}");
        }
    }

    #[test]
    fn allowed_hosts_match_with_or_without_a_port() {
        let settings: Settings =
            toml::from_str(r#"allowed_hosts = ["Wiki.Example.org", "localhost:8080", "[::1]"]"#)
                .unwrap();
        let settings = merge(settings, &GlobalOptions::default(), &ListenFlags::default());
        assert!(settings.allows_host("wiki.example.org"));
        assert!(settings.allows_host("WIKI.example.org:8443"));
        assert!(settings.allows_host("localhost:8080"));
        assert!(!settings.allows_host("localhost:9000"));
        assert!(!settings.allows_host("localhost"));
        assert!(settings.allows_host("[::1]:8080"));
        assert!(!settings.allows_host("evil.example:666"));
        assert!(!settings.allows_host("wiki.example.org.evil.example"));
        assert!(Settings::default().allows_host("evil.example:666"));
        let bad: Settings = toml::from_str(r#"allowed_hosts = ["a b"]"#).unwrap();
        let err = bad
            .with_flags(&GlobalOptions::default(), &ListenFlags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("allowed_hosts"), "{err}");
    }

    fn merge(file: Settings, global: &GlobalOptions, flags: &ListenFlags<'_>) -> Settings {
        file.with_flags(global, flags).unwrap()
    }

    #[test]
    fn the_default_file_parses_to_all_defaults() {
        let file: Settings = toml::from_str(&default_file()).unwrap();
        let settings = merge(file, &GlobalOptions::default(), &ListenFlags::default());
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.site_name, "quire");
        assert_eq!(settings.listen, "127.0.0.1:8080");
        assert_eq!(settings.max_body_bytes, 8 * 1024 * 1024);
        assert!(settings.render_cache);
        assert!(!settings.camel_case);
        assert_eq!(settings.max_page_bytes, 2 * 1024 * 1024);
        assert!(settings.interwiki.contains_key("WikiPedia"));
        assert_eq!(settings.theme, "default");
        assert_eq!(settings.registration, Registration::Open);
        assert!(settings.anonymous_edits);
        assert_eq!(settings.acl_policy(), crate::acl::Policy::default());
    }

    /// The default file's commented lines, uncommented: every `# key = value` and `# [table]`.
    fn uncommented(file: &str) -> String {
        file.lines()
            .filter_map(|line| line.strip_prefix("# "))
            .filter(|line| {
                let bare_key = |key: &str| {
                    !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
                };
                line.strip_prefix('[')
                    .and_then(|rest| rest.strip_suffix(']'))
                    .is_some_and(bare_key)
                    || line.split_once(" = ").is_some_and(|(key, _)| bare_key(key))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `keys` and the keys of `table` are the same, at every level of documented tables.
    fn assert_same_keys(keys: &[Key], table: &toml::Table, path: &str) {
        let declared: Vec<&str> = keys.iter().map(|key| key.name).collect();
        let written: Vec<&str> = table.keys().map(String::as_str).collect();
        let mut sorted = declared.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, written, "keys of {path:?} in the default file");
        for key in keys {
            assert!(
                key.doc.iter().any(|line| !line.trim().is_empty()),
                "{path}{} has no doc comment",
                key.name
            );
            if !key.keys.is_empty() {
                let inner = table[key.name].as_table().expect("a documented table");
                assert_same_keys(key.keys, inner, &format!("{path}{}.", key.name));
            }
        }
    }

    /// The tidy check: the file `quire init` writes names every key of the struct, once, each
    /// with its doc, at its default or a valid example; and its keys are the struct's, no more.
    #[test]
    fn the_settings_default_file_matches_the_struct() {
        let file = default_file();
        let all = uncommented(&file);
        // Every line parses, each key once (a duplicate is a TOML error), into the struct.
        let settings: Settings = toml::from_str(&all)
            .unwrap_or_else(|err| panic!("the uncommented default file:\n{all}\n{err}"));
        let table: toml::Table = toml::from_str(&all).unwrap();
        assert_same_keys(Settings::KEYS, &table, "");
        // A key with a default value is shown at that value, in a documented table too (whose
        // keys without a default are shown by their examples).
        let defaults = Settings::default().to_table();
        for (name, value) in &defaults {
            if value.as_table().is_some_and(|t| t.is_empty()) {
                continue;
            }
            let documented = Settings::KEYS
                .iter()
                .any(|key| key.name == name && !key.keys.is_empty());
            match (value.as_table(), table.get(name).and_then(|v| v.as_table())) {
                (Some(inner), Some(shown)) if documented => {
                    for (key, value) in inner {
                        assert_eq!(
                            shown.get(key),
                            Some(value),
                            "{name}.{key} in the default file is not its default"
                        );
                    }
                }
                _ => assert_eq!(
                    table.get(name),
                    Some(value),
                    "{name} in the default file is not its default"
                ),
            }
        }
        // What serde reads is what the struct declares (no key renamed behind the docs' back).
        let serde_keys = serde_json::to_value(&settings).unwrap();
        let mut declared: Vec<&str> = Settings::KEYS.iter().map(|key| key.name).collect();
        declared.sort_unstable();
        let serialised: Vec<&str> = serde_keys
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(declared, serialised);
    }

    #[test]
    fn the_admin_listing_names_every_key() {
        let entries = Settings::default().entries();
        let keys: Vec<&str> = entries.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys[..3], ["site_name", "front_page", "help_page"]);
        assert!(keys.contains(&"mount") && keys.contains(&"acl.default"));
        assert!(keys.contains(&"interwiki.WikiPedia") && keys.contains(&"groups"));
        let templates = entries.iter().find(|(key, _)| key == "template_pages");
        assert_eq!(
            templates.and_then(|(_, value)| value.as_ref()?.as_str()),
            Some("*Template")
        );
        let mount = entries.iter().find(|(key, _)| key == "mount").unwrap();
        assert_eq!(mount.1, None);
    }

    #[test]
    fn acl_lines_and_groups_are_read() {
        let file: Settings = toml::from_str(
            "[acl]\nbefore = \"+Editors:admin\"\ndefault = \"All:read\"\n[groups]\nEditors = [\"alice\"]",
        )
        .unwrap();
        let settings = merge(file, &GlobalOptions::default(), &ListenFlags::default());
        let alice = crate::acl::Principal {
            name: Some("alice"),
            is_admin: false,
        };
        let policy = settings.acl_policy();
        assert!(policy.may(alice, None, crate::acl::Right::Admin));
        assert!(!policy.may(
            crate::acl::Principal::ANONYMOUS,
            None,
            crate::acl::Right::Write
        ));
        assert!(toml::from_str::<Settings>("[acl]\ndefualt = \"All:\"").is_err());
    }

    #[test]
    fn a_page_group_regex_that_is_no_regex_is_refused_at_start() {
        let file: Settings = toml::from_str("page_group_regex = \"(\"").unwrap();
        let err = file
            .with_flags(&GlobalOptions::default(), &ListenFlags::default())
            .unwrap_err();
        assert!(err.to_string().contains("page_group_regex"), "{err}");
        let off: Settings = toml::from_str("page_group_regex = \"\"").unwrap();
        assert!(!off.acl_policy().group_pages().is_group_page("EditorGroup"));
        let default = Settings::default().acl_policy();
        assert!(default.group_pages().is_group_page("EditorGroup"));
        assert!(!default.group_pages().is_group_page("GroupPolicy"));
    }

    #[test]
    fn mount_prefixes_are_checked_and_normalised() {
        assert_eq!(parse_mount("/wiki/").unwrap(), "/wiki");
        assert_eq!(parse_mount("/").unwrap(), "");
        assert!(parse_mount("wiki").is_err());
        assert!(parse_mount("/w?x").is_err());
    }

    #[test]
    fn registration_modes_parse_and_others_are_refused() {
        let file: Settings =
            toml::from_str("registration = \"invite\"\nanonymous_edits = false").unwrap();
        assert_eq!(file.registration, Registration::Invite);
        assert!(!file.anonymous_edits);
        assert!(toml::from_str::<Settings>("registration = \"maybe\"").is_err());
    }

    #[test]
    fn spam_settings_are_read_and_a_bad_pattern_is_a_clear_error() {
        let settings: Settings = toml::from_str(
            "[spam]\nbad_content = [\"casino\"]\nanonymous_max_links = 2\nregistrations_per_hour = 0",
        )
        .unwrap();
        let settings = merge(settings, &GlobalOptions::default(), &ListenFlags::default());
        assert_eq!(settings.spam.bad_content, ["casino"]);
        assert_eq!(settings.spam.anonymous_max_links, 2);
        assert_eq!(settings.spam.registrations_per_hour, 0);
        assert_eq!(Settings::default().spam.anonymous_max_links, 5);
        let bad: Settings =
            toml::from_str("[spam]\nbad_content = [\"ok\", \"(unclosed\"]").unwrap();
        let err = bad
            .with_flags(&GlobalOptions::default(), &ListenFlags::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("spam.bad_content") && err.contains("(unclosed"),
            "{err}"
        );
    }

    #[test]
    fn mail_settings_are_read_and_a_host_needs_a_sender() {
        let file: Settings = toml::from_str(
            "[mail]\nhost = \"smtp.example.org\"\nport = 465\ntls = \"tls\"\nfrom = \"wiki@example.org\"",
        )
        .unwrap();
        let settings = merge(file, &GlobalOptions::default(), &ListenFlags::default());
        assert_eq!(settings.mail.host.as_deref(), Some("smtp.example.org"));
        assert_eq!(settings.mail.port, 465);
        assert_eq!(settings.mail.tls, MailTls::Tls);
        assert!(toml::from_str::<Settings>("[mail]\ntls = \"ssl\"").is_err());
        let no_sender: Settings = toml::from_str("[mail]\nhost = \"smtp.example.org\"").unwrap();
        let err = no_sender
            .with_flags(&GlobalOptions::default(), &ListenFlags::default())
            .unwrap_err();
        assert!(err.to_string().contains("from"), "{err}");
        assert!(Settings::default()
            .entries()
            .iter()
            .any(|(key, _)| key == "mail.password_file"));
    }

    #[test]
    fn a_typo_is_an_error() {
        let err = toml::from_str::<Settings>("site_nmae = \"x\"").unwrap_err();
        assert!(err.to_string().contains("site_nmae"), "{err}");
    }

    #[test]
    fn page_settings_must_be_page_names() {
        let err = toml::from_str::<Settings>("front_page = \"+x\"").unwrap_err();
        assert!(err.to_string().contains("front_page"), "{err}");
        assert!(err.to_string().contains("not a valid page name"), "{err}");
    }

    #[test]
    fn flags_win_over_the_file() {
        let file: Settings =
            toml::from_str("listen = \"0.0.0.0:1\"\nmount = \"/a\"\nmax_body_bytes = 5").unwrap();
        let global = GlobalOptions {
            server: ServerFlags {
                mount: Some("/b".into()),
                ..ServerFlags::default()
            },
            ..GlobalOptions::default()
        };
        let flags = ListenFlags {
            http: Some("127.0.0.1:2"),
            ..ListenFlags::default()
        };
        let settings = merge(file, &global, &flags);
        assert_eq!(settings.listen, "127.0.0.1:2");
        assert_eq!(settings.mount.as_deref(), Some("/b"));
        assert_eq!(settings.max_body_bytes, 5);
    }

    #[test]
    fn a_bad_mount_is_refused_from_the_file_or_a_flag() {
        let file: Settings = toml::from_str("mount = \"wiki\"").unwrap();
        let err = file
            .with_flags(&GlobalOptions::default(), &ListenFlags::default())
            .unwrap_err();
        assert!(err.to_string().contains("mount"), "{err}");
        let global = GlobalOptions {
            server: ServerFlags {
                mount: Some("/wiki/".into()),
                ..ServerFlags::default()
            },
            ..GlobalOptions::default()
        };
        let settings = Settings::default()
            .with_flags(&global, &ListenFlags::default())
            .unwrap();
        assert_eq!(settings.mount.as_deref(), Some("/wiki"));
    }

    #[test]
    fn the_database_flag_wins_over_the_file_and_a_wrong_one_says_what_is_expected() {
        let file: Settings = toml::from_str("database = \"postgres://a@db1/wiki\"").unwrap();
        let global = GlobalOptions {
            database: Some("postgres://b@db2/wiki".into()),
            ..GlobalOptions::default()
        };
        let settings = merge(file, &global, &ListenFlags::default());
        assert_eq!(settings.database.as_deref(), Some("postgres://b@db2/wiki"));

        let file: Settings = toml::from_str("database = \"mysql://root:pw@db/wiki\"").unwrap();
        let err = file
            .with_flags(&GlobalOptions::default(), &ListenFlags::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a PostgreSQL URL"), "{err}");
        assert!(err.contains("leave it unset"), "{err}");
        assert!(!err.contains("pw"), "the password was shown: {err}");
    }

    #[test]
    fn the_admin_page_shows_the_database_url_without_its_password() {
        let settings: Settings =
            toml::from_str("database = \"postgres://quire:s3cret@db/wiki\"").unwrap();
        let shown = settings
            .entries()
            .into_iter()
            .find(|(key, _)| key == "database")
            .and_then(|(_, value)| value)
            .expect("database is listed");
        assert_eq!(shown.as_str(), Some("postgres://quire@db/wiki"));
    }
}
