//! `quire.toml`: the settings file in the data directory, merged under the
//! command line and environment.
//!
//! Every key, its meaning and its default is in [`DEFAULT_FILE`], which is
//! also what `quire init` writes. Unknown keys are an error: a typo should
//! not be silently ignored.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

use crate::cli::GlobalOptions;

/// What a new data directory's quire.toml says: every key, commented out at
/// its default.
pub const DEFAULT_FILE: &str = r#"# quire settings. Command-line flags and QUIRE_* environment variables
# override what is set here. Every key is shown at its default.

# The name in the header and in page titles.
# site_name = "quire"

# The page shown at the wiki's root.
# front_page = "FrontPage"

# The page the header's Help link opens.
# help_page = "Help"

# Where `quire serve` listens (flag --listen, env QUIRE_LISTEN).
# listen = "127.0.0.1:8080"

# Where `quire fastcgi` listens when no --listen is given and no socket is
# inherited: "HOST:PORT" or "unix:/path/to/socket".
# fastcgi_listen = "127.0.0.1:9000"

# Where `quire scgi` listens, likewise.
# scgi_listen = "127.0.0.1:4000"

# Serve under this prefix instead of the web server's SCRIPT_NAME (flag --mount).
# mount = "/wiki"

# The largest request body accepted, in bytes (flag --max-body).
# max_body_bytes = 8388608

# Show error details in the browser (flag --debug). Never on a public wiki.
# debug = false

# Keep rendered pages in the database and serve them without rendering the
# Markdown again; links stay right as pages are created. Off: render every view.
# render_cache = true

# The largest page text accepted when saving or previewing, in bytes.
# max_page_bytes = 2097152

# The theme readers see unless they pick another: "default" (modern),
# "classic" (after MoinMoin's), "minimal" (for reading), or one added under
# DATA/themes/. An unknown name falls back to "default".
# theme = "default"

# Link words written in CamelCase to the page of that name, without [[ ]].
# camel_case = false

# Who may create an account on /+register: "open" (anyone), "invite" (with a
# code from `quire user invite` or the admin page) or "closed" (accounts are
# made with `quire user add` only).
# registration = "open"

# Whether visitors who are not logged in may edit; their revisions name their
# address. On by default so that a new wiki works before it has any account;
# off, editing asks to log in and every revision names its account.
# anonymous_edits = true

# Interwiki prefixes: [[WikiPedia:Rust]] links to the URL with $PAGE replaced
# by the (percent-encoded) page part. Setting this table replaces the default,
# which is the one entry below.
# [interwiki]
# WikiPedia = "https://en.wikipedia.org/wiki/$PAGE"

# Access control, MoinMoin-style (the Help/AccessControl page explains it).
# Entries "names:rights" (rights: read, write, delete, admin; names: users,
# groups, All, Known). The first entry naming the user decides; "+"/"-" in
# front only grant/deny the rights listed. `before` is checked first, then the
# page's own #acl line or else `default`, then `after`. Users with the admin
# role have every right.
# [acl]
# before = ""
# default = "Known:read,write,delete All:read,write"
# after = ""

# Groups for ACLs: name = [members]; a member may be a user, another group,
# All or Known.
# [groups]
# Editors = ["alice", "bob"]
"#;

/// The settings file's keys.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[expect(
    missing_docs,
    reason = "each key is documented once, in DEFAULT_FILE (the commented quire.toml)"
)]
pub struct FileSettings {
    pub site_name: Option<String>,
    pub front_page: Option<String>,
    pub help_page: Option<String>,
    pub listen: Option<String>,
    pub fastcgi_listen: Option<String>,
    pub scgi_listen: Option<String>,
    pub mount: Option<String>,
    pub max_body_bytes: Option<u64>,
    pub debug: Option<bool>,
    pub render_cache: Option<bool>,
    pub max_page_bytes: Option<u64>,
    pub theme: Option<String>,
    pub camel_case: Option<bool>,
    pub interwiki: Option<std::collections::BTreeMap<String, String>>,
    pub registration: Option<Registration>,
    pub anonymous_edits: Option<bool>,
    pub acl: Option<AclSettings>,
    pub groups: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

/// `[acl]`: the ACL lines around every page's own (see `crate::acl`).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[expect(
    missing_docs,
    reason = "each key is documented once, in DEFAULT_FILE (the commented quire.toml)"
)]
pub struct AclSettings {
    pub before: Option<String>,
    pub default: Option<String>,
    pub after: Option<String>,
}

/// Who may create an account on `/+register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
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

impl FileSettings {
    /// Reads `path`; a missing file is all defaults.
    pub fn load(path: &Path) -> anyhow::Result<FileSettings> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(FileSettings::default())
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
}

/// Checks a mount prefix: `/wiki` or `/` (the root); a trailing `/` is
/// dropped. Anything else would make every request miss the wiki.
pub fn parse_mount(value: &str) -> anyhow::Result<String> {
    if !value.starts_with('/') || value.contains(['?', '#']) || value.chars().any(char::is_control)
    {
        anyhow::bail!("the mount prefix {value:?} must be a path starting with '/', such as /wiki (or / for the root)");
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// The listen addresses a subcommand's flags (or their environment
/// variables) gave, to merge over the file's.
#[derive(Debug, Default, Clone, Copy)]
pub struct ListenFlags<'a> {
    /// `serve --listen`.
    pub http: Option<&'a str>,
    /// `fastcgi --listen`.
    pub fastcgi: Option<&'a str>,
    /// `scgi --listen`.
    pub scgi: Option<&'a str>,
}

/// Settings after merging flags > environment > file > defaults.
#[derive(Debug, Clone)]
#[expect(
    missing_docs,
    reason = "the file's keys, merged; each is documented once, in DEFAULT_FILE (the commented quire.toml)"
)]
pub struct Settings {
    pub site_name: String,
    pub front_page: String,
    pub help_page: String,
    pub listen: String,
    pub fastcgi_listen: Option<String>,
    pub scgi_listen: Option<String>,
    pub mount: Option<String>,
    pub max_body_bytes: u64,
    pub debug: bool,
    pub render_cache: bool,
    pub max_page_bytes: u64,
    /// The site's theme, for readers who chose none.
    pub theme: String,
    pub camel_case: bool,
    pub interwiki: std::collections::BTreeMap<String, String>,
    pub registration: Registration,
    pub anonymous_edits: bool,
    /// `[acl]` and `[groups]`.
    pub acl: crate::acl::Policy,
    /// `[acl]` as written (before, default, after), for the admin page.
    pub acl_lines: [String; 3],
    /// `[groups]` as written, for the admin page.
    pub groups: std::collections::BTreeMap<String, Vec<String>>,
}

impl Settings {
    /// Merges the command line (which already includes the environment)
    /// over the file.
    pub fn merge(global: &GlobalOptions, flags: &ListenFlags<'_>, file: FileSettings) -> Settings {
        Settings {
            site_name: file.site_name.unwrap_or_else(|| "quire".to_owned()),
            front_page: file.front_page.unwrap_or_else(|| "FrontPage".to_owned()),
            help_page: file.help_page.unwrap_or_else(|| "Help".to_owned()),
            listen: flags
                .http
                .map(str::to_owned)
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            fastcgi_listen: flags.fastcgi.map(str::to_owned).or(file.fastcgi_listen),
            scgi_listen: flags.scgi.map(str::to_owned).or(file.scgi_listen),
            mount: global.mount.clone().or(file.mount),
            max_body_bytes: global
                .max_body
                .or(file.max_body_bytes)
                .unwrap_or(8 * 1024 * 1024),
            debug: global.debug || file.debug.unwrap_or(false),
            render_cache: file.render_cache.unwrap_or(true),
            max_page_bytes: file.max_page_bytes.unwrap_or(2 * 1024 * 1024),
            camel_case: file.camel_case.unwrap_or(false),
            theme: file.theme.unwrap_or_else(|| "default".to_owned()),
            interwiki: file.interwiki.unwrap_or_else(|| {
                [(
                    "WikiPedia".to_owned(),
                    "https://en.wikipedia.org/wiki/$PAGE".to_owned(),
                )]
                .into()
            }),
            registration: file.registration.unwrap_or(Registration::Open),
            anonymous_edits: file.anonymous_edits.unwrap_or(true),
            acl_lines: {
                let acl = file.acl.as_ref();
                let line = |pick: fn(&AclSettings) -> &Option<String>, default: &str| {
                    acl.and_then(|acl| pick(acl).clone())
                        .unwrap_or_else(|| default.to_owned())
                };
                [
                    line(|acl| &acl.before, ""),
                    line(|acl| &acl.default, crate::acl::DEFAULT_ACL),
                    line(|acl| &acl.after, ""),
                ]
            },
            groups: file.groups.clone().unwrap_or_default(),
            acl: {
                let acl = file.acl.unwrap_or_default();
                crate::acl::Policy::new(
                    acl.before.as_deref().unwrap_or(""),
                    acl.default.as_deref().unwrap_or(crate::acl::DEFAULT_ACL),
                    acl.after.as_deref().unwrap_or(""),
                    crate::acl::Groups::new(file.groups.unwrap_or_default()),
                )
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_parses_to_all_defaults() {
        let file: FileSettings = toml::from_str(DEFAULT_FILE).unwrap();
        let settings = Settings::merge(&GlobalOptions::default(), &ListenFlags::default(), file);
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
        assert_eq!(settings.acl, crate::acl::Policy::default());
    }

    #[test]
    fn acl_lines_and_groups_are_read() {
        let file: FileSettings = toml::from_str(
            "[acl]\nbefore = \"+Editors:admin\"\ndefault = \"All:read\"\n[groups]\nEditors = [\"alice\"]",
        )
        .unwrap();
        let settings = Settings::merge(&GlobalOptions::default(), &ListenFlags::default(), file);
        let alice = crate::acl::Principal {
            name: Some("alice"),
            is_admin: false,
        };
        assert!(settings.acl.may(alice, None, crate::acl::Right::Admin));
        assert!(!settings.acl.may(
            crate::acl::Principal::ANONYMOUS,
            None,
            crate::acl::Right::Write
        ));
        assert!(toml::from_str::<FileSettings>("[acl]\ndefualt = \"All:\"").is_err());
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
        let file: FileSettings =
            toml::from_str("registration = \"invite\"\nanonymous_edits = false").unwrap();
        assert_eq!(file.registration, Some(Registration::Invite));
        assert_eq!(file.anonymous_edits, Some(false));
        assert!(toml::from_str::<FileSettings>("registration = \"maybe\"").is_err());
    }

    #[test]
    fn a_typo_is_an_error() {
        assert!(toml::from_str::<FileSettings>("site_nmae = \"x\"").is_err());
    }

    #[test]
    fn flags_win_over_the_file() {
        let file: FileSettings =
            toml::from_str("listen = \"0.0.0.0:1\"\nmount = \"/a\"\nmax_body_bytes = 5").unwrap();
        let global = GlobalOptions {
            mount: Some("/b".into()),
            ..GlobalOptions::default()
        };
        let flags = ListenFlags {
            http: Some("127.0.0.1:2"),
            ..ListenFlags::default()
        };
        let settings = Settings::merge(&global, &flags, file);
        assert_eq!(settings.listen, "127.0.0.1:2");
        assert_eq!(settings.mount.as_deref(), Some("/b"));
        assert_eq!(settings.max_body_bytes, 5);
    }
}
