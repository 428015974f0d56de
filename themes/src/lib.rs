//! quire's themes: the HTML of every wiki page, as [minijinja] templates, and the static
//! assets (stylesheet, icons) those pages use.
//!
//! Built-in themes live in this crate under `themes/<theme>/templates/*.html` and
//! `themes/<theme>/static/*`, and are embedded into the binary by `build.rs`: `default`
//! (modern), `classic` (after MoinMoin's) and `minimal` (for reading). A theme supplies its
//! own `base.html` and `theme.css` and takes every other template and asset from `default`
//! (see `theme.rs`), so page templates, which belong to the features that render them, are
//! written once. Each theme's `base.html` extends `parts/document.html` (the doctype, the head
//! and the skip link every theme shares) and arranges the shared `parts/` in its own layout. An admin can replace or add any file, or a whole theme, by putting it under
//! an override directory with the same relative path, e.g. `<dir>/default/templates/page.html`
//! or `<dir>/mine/static/theme.css`; [`Themes::reloading`] re-reads it when it changes.
//!
//! This crate knows the wiki's page kinds and what each template is given, but not where
//! pages are stored nor how they are served: it turns a context into a `String` and an
//! asset path into bytes. No HTML is written in Rust; all of it is in templates.
//!
//! # Rendering rules
//!
//! * `.html` templates autoescape (`& < > " '` only; `/` stays readable); already-sanitized HTML is passed in `*_html` keys and
//!   written with `|safe`.
//! * Undefined values are errors ([`minijinja::UndefinedBehavior::Strict`], plus a strict
//!   `is none` test), so a key the app forgot fails a test instead of rendering as blank.
//! * Extra filters: `filesize` (bytes → `1.2 KiB`), `datetime` (unix seconds →
//!   `2026-11-25 14:03 UTC`), `timeofday` (→ `14:03 UTC`), `isodate` (→ RFC 3339, for
//!   `<time datetime>`), `ago` (→ `3 hours ago`), `chunkby(attr)` (runs of neighbours sharing
//!   `attr`, in order), `form_target` (a URL → GET-form action path + hidden fields for its
//!   query) and `asset_url` (`"quire.css"|asset_url` → the current theme's file under
//!   `static_url`, content-hashed). Macros in `parts/macros.html`: `when(t)` (absolute date
//!   with the relative age beside it) and `user(name, url)`.
//!
//! # Context contract
//!
//! Every template gets `site_name`, `title`, `static_url` (the base `asset_url` builds on),
//! `theme` = {`name` (which theme renders the page), `mode` (`auto`, `light`, `dark`),
//! `previewing`, `exit_url`, `choices`: [{`name`, `url`}]}, `nav` = {`front_url`,
//! `recent_url`, `help_url`, `search_url`, `suggest_url`, and the account links} and
//! `page` = null or {`name`, `view_url`, `edit_url`, `history_url`, `raw_url`,
//! `parents`: [{`name`, `url`}]}. Each page template adds its own keys, listed in one place:
//! the sample contexts in `tests/it/contexts/<template>.json`, the executable, complete
//! contract (the tests render every template with its sample and check that removing any
//! key from it makes rendering fail).
//!
//! The page templates, each extending `base.html` (which includes `parts/*.html`):
//!
//! | template        | draws |
//! |-----------------|-------|
//! | `page.html`     | a page, its current or an older revision (`/{Page}`, `?rev=N`) |
//! | `missing.html`  | a page that does not exist yet, with a link that creates it |
//! | `deleted.html`  | a deleted page (410), with its history and a way to undelete it |
//! | `edit.html`     | the editor, with preview, notices, edit conflicts and a draft's offer (`/+edit/{Page}`) |
//! | `history.html`  | a page's revisions, with a form to compare two (`/+history/{Page}`) |
//! | `diff.html`     | two revisions compared, unified or side by side (`/+diff/{Page}`) |
//! | `blame.html`    | who last changed each line (`/+blame/{Page}`) |
//! | `info.html`     | revisions, authors, size and dates (`/+info/{Page}`) |
//! | `rename.html`   | the form that renames a page and its subpages (`/+rename/{Page}`) |
//! | `delete.html`   | the confirmation of a deletion or undeletion (`/+delete/…`, `/+undelete/…`) |
//! | `recent.html`   | recent changes, and one person's contributions (`/+recent`, `/+contributions/…`) |
//! | `search.html`   | search results (`/+search`) |
//! | `index.html`    | every page by name, as a list or a subpage tree (`/+index`) |
//! | `orphans.html`  | pages nothing links to (`/+orphans`) |
//! | `wanted.html`   | missing pages something links to (`/+wanted`) |
//! | `backlinks.html` | every page that links to one, by name (`/+backlinks/{Page}`) |
//! | `files.html`    | a page's files and the upload form (`/+files/{Page}`) |
//! | `file-history.html` | a file's versions and the pages that use it (`/+filehistory/…`) |
//! | `delete-file.html` | deleting a file (`/+deletefile/…`) |
//! | `login.html`    | logging in (`/+login`) |
//! | `register.html` | creating an account (`/+register`) |
//! | `prefs.html`    | the reader's preferences (`/+prefs`) |
//! | `watching.html` | what an account watches, how it is mailed, its feed's address (`/+watching`) |
//! | `admin.html`    | accounts, settings and failed logins, for admins (`/+admin`) |
//! | `error.html`    | any error: status, reason and message |
//!
//! (In the samples, `null` marks keys that may be null; they must still be present. The
//! test `the_crate_doc_lists_every_page_template` keeps this table in step with the
//! templates folder.)

mod asset;
mod escape;
mod filters;
mod reload;
mod theme;
mod walk;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin.rs"));
}

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

pub use asset::{Asset, ContentHash};
use reload::Stamp;
pub use theme::Compile;
use theme::Theme;

/// The theme every other falls back to, and the one used when none is chosen.
pub const DEFAULT_THEME: &str = "default";

/// The loaded themes: compiled templates and assets, built-ins overlaid with overrides.
/// Cheap to share: render from many threads at once.
pub struct Themes {
    override_dir: Option<PathBuf>,
    /// With `reload`, the override directory is checked on every use and the themes
    /// loaded again when a file in it changed (`quire serve --dev`).
    reload: bool,
    content_hash: ContentHash,
    compile: Compile,
    loaded: RwLock<Loaded>,
}

struct Loaded {
    themes: Arc<BTreeMap<String, Theme>>,
    stamp: Stamp,
}

/// A static file ready to be sent, and whether its URL names its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticFile {
    /// The bytes and content type.
    pub asset: Asset,
    /// True when the URL carried the file's current content hash, so the response may be
    /// cached for good (`immutable`); false for plain paths and outdated hashes.
    pub immutable: bool,
}

impl Themes {
    /// Loads the built-in themes, with files under `override_dir` (if given) replacing
    /// built-ins of the same relative path (`<dir>/default/templates/page.html`,
    /// `<dir>/classic/static/quire.css`) or adding new files and whole new themes
    /// (`<dir>/mine/templates/base.html`). Hidden files are ignored.
    ///
    /// Assets are named in URLs by their `content_hash` (see [`ContentHash`]).
    ///
    /// Fails if `override_dir` cannot be read, an override file cannot be read (or a
    /// template is not UTF-8), or, under [`Compile::AtLoad`], any template has a syntax error.
    pub fn new(
        override_dir: Option<&Path>,
        content_hash: ContentHash,
        compile: Compile,
    ) -> Result<Themes, ThemeError> {
        if let Some(dir) = override_dir {
            // A configured directory that is missing is a typo, not "no overrides".
            std::fs::read_dir(dir).map_err(|source| ThemeError::Io {
                path: dir.to_owned(),
                source,
            })?;
        }
        Themes::load(override_dir, false, content_hash, compile)
    }

    /// Like [`Themes::new`], but every use first checks `override_dir` (which need not
    /// exist yet) for changed, added or removed files and reloads if there are any: edit a
    /// template, reload the browser. Costs a directory walk per page; for development.
    pub fn reloading(override_dir: &Path, content_hash: ContentHash) -> Result<Themes, ThemeError> {
        Themes::load(Some(override_dir), true, content_hash, Compile::AtLoad)
    }

    fn load(
        override_dir: Option<&Path>,
        reload: bool,
        content_hash: ContentHash,
        compile: Compile,
    ) -> Result<Themes, ThemeError> {
        let stamp = Stamp::of(override_dir);
        let themes = load_all(override_dir, content_hash, compile)?;
        Ok(Themes {
            override_dir: override_dir.map(Path::to_owned),
            reload,
            content_hash,
            compile,
            loaded: RwLock::new(Loaded {
                themes: Arc::new(themes),
                stamp,
            }),
        })
    }

    /// The themes as they are now: reloaded first if reloading is on and a file changed.
    fn current(&self) -> Result<Arc<BTreeMap<String, Theme>>, ThemeError> {
        let read = |loaded: &Loaded| Arc::clone(&loaded.themes);
        if !self.reload {
            return Ok(read(&self.loaded.read().unwrap_or_else(|p| p.into_inner())));
        }
        let stamp = Stamp::of(self.override_dir.as_deref());
        {
            let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            if loaded.stamp == stamp {
                return Ok(read(&loaded));
            }
        }
        // A broken template is reported on every request until it is fixed; the stamp
        // stays old so the next request tries again.
        let themes = Arc::new(load_all(
            self.override_dir.as_deref(),
            self.content_hash,
            self.compile,
        )?);
        let mut loaded = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        *loaded = Loaded {
            themes: Arc::clone(&themes),
            stamp,
        };
        Ok(themes)
    }

    /// Whether the themes are read again when their files change (`Themes::reloading`): what they
    /// draw may then change without any write to the wiki, so nothing drawn should be kept.
    pub fn reloads(&self) -> bool {
        self.reload
    }

    /// Names of every theme: the built-in ones and those the override directory adds.
    pub fn names(&self) -> Result<Vec<String>, ThemeError> {
        Ok(self.current()?.keys().cloned().collect())
    }

    /// Renders `template` (e.g. `"page.html"`) with `context`, in the theme the context's
    /// `theme.name` names; in `default` when it names none or an unknown one.
    pub fn render(
        &self,
        template: &str,
        context: impl serde::Serialize,
    ) -> Result<String, ThemeError> {
        let context = minijinja::Value::from_serialize(&context);
        let theme = context
            .get_attr("theme")
            .and_then(|theme| theme.get_attr("name"))
            .ok()
            .and_then(|name| name.as_str().map(str::to_owned))
            .unwrap_or_else(|| DEFAULT_THEME.to_owned());
        self.render_in(&theme, template, context)
    }

    /// Renders `template` in theme `theme` (falling back to `default` if there is no such
    /// theme); a template the theme lacks comes from `default`.
    pub fn render_in(
        &self,
        theme: &str,
        template: &str,
        context: impl serde::Serialize,
    ) -> Result<String, ThemeError> {
        let themes = self.current()?;
        let Some(chosen) = themes.get(theme).or_else(|| themes.get(DEFAULT_THEME)) else {
            return Err(ThemeError::UnknownTemplate {
                template: template.to_owned(),
            });
        };
        chosen
            .template(template)?
            .render(context)
            .map_err(|source| ThemeError::Render {
                template: template.to_owned(),
                source,
            })
    }

    /// A static asset of the default theme by its path below `static/` (e.g.
    /// `"quire.css"`). `None` when there is no such asset, and for any path that is absolute
    /// or has `.`, `..` or empty segments.
    pub fn asset(&self, path: &str) -> Option<Asset> {
        self.static_file(path).map(|file| file.asset)
    }

    /// The file a URL below the static base names. `THEME/PATH` is theme `THEME`'s asset
    /// (its own or `default`'s); a path whose first segment is no theme is `default`'s, so
    /// `quire.css` keeps working. A hashed name (`quire.0123456789abcdef.css`, as
    /// [`Themes::asset_url`] and the templates' `asset_url` filter write) is the file it
    /// names, immutable when the hash is current. `None` for unknown files and unclean paths.
    pub fn static_file(&self, url_path: &str) -> Option<StaticFile> {
        if !asset::is_clean_path(url_path) {
            return None;
        }
        let themes = self.current().ok()?;
        let (theme, path) = match url_path.split_once('/') {
            Some((first, rest)) if themes.contains_key(first) => (themes.get(first)?, rest),
            _ => (themes.get(DEFAULT_THEME)?, url_path),
        };
        let (stored, immutable) = match theme.assets.get(path) {
            Some(stored) => (stored, false),
            None => {
                let (plain, hash) = asset::split_hashed(path)?;
                let stored = theme.assets.get(&plain)?;
                (stored, stored.hash() == hash)
            }
        };
        Some(StaticFile {
            asset: Asset {
                bytes: stored.bytes.clone(),
                content_type: asset::content_type(path),
            },
            immutable,
        })
    }

    /// The hashed path of `theme`'s asset `path`, relative to the static base
    /// (`classic/quire.0123456789abcdef.css`); what the `asset_url` filter appends.
    pub fn asset_url(&self, theme: &str, path: &str) -> Option<String> {
        let themes = self.current().ok()?;
        let stored = themes.get(theme)?.assets.get(path)?;
        Some(format!(
            "{theme}/{}",
            asset::hashed_name(path, stored.hash())
        ))
    }

    /// Names of the built-in themes, `default` first.
    pub fn builtin_themes() -> Vec<&'static str> {
        let mut names: Vec<&'static str> = builtin::TEMPLATES
            .iter()
            .map(|(theme, _, _)| *theme)
            .chain(builtin::ASSETS.iter().map(|(theme, _, _)| *theme))
            .collect();
        names.sort_by_key(|name| (*name != DEFAULT_THEME, *name));
        names.dedup();
        names
    }

    /// Names of the default theme's built-in templates (e.g. `"page.html"`, `"base.html"`),
    /// so tests can check that each one renders.
    pub fn builtin_templates() -> impl Iterator<Item = &'static str> {
        builtin::TEMPLATES
            .iter()
            .filter(|(theme, _, _)| *theme == DEFAULT_THEME)
            .map(|(_, name, _)| *name)
    }

    /// Paths (below `static/`) of the default theme's built-in assets.
    pub fn builtin_assets() -> impl Iterator<Item = &'static str> {
        builtin::ASSETS
            .iter()
            .filter(|(theme, _, _)| *theme == DEFAULT_THEME)
            .map(|(_, path, _)| *path)
    }
}

/// Whether `name` can name a theme: lowercase ASCII letters, digits, `-` and `_`, so a
/// theme's name is safe in a URL, a path and a cookie, and never looks like a file name.
pub fn is_theme_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Every theme, built-in or added by the override directory, loaded.
fn load_all(
    override_dir: Option<&Path>,
    content_hash: ContentHash,
    compile: Compile,
) -> Result<BTreeMap<String, Theme>, ThemeError> {
    let mut names: Vec<String> = Themes::builtin_themes()
        .into_iter()
        .map(str::to_owned)
        .collect();
    if let Some(dir) = override_dir.filter(|dir| dir.is_dir()) {
        let entries = walk::sorted_entries(dir).map_err(|err| ThemeError::Io {
            path: err.path,
            source: err.source,
        })?;
        for entry in entries.iter().filter(|entry| entry.is_dir()) {
            if let Some(name) = entry.file_name().and_then(|n| n.to_str()) {
                if is_theme_name(name) && !names.iter().any(|known| known == name) {
                    names.push(name.to_owned());
                }
            }
        }
    }
    names
        .into_iter()
        .map(|name| {
            Theme::load(&name, override_dir, content_hash, compile).map(|theme| (name, theme))
        })
        .collect()
}

/// Why a theme could not be loaded or a page not rendered.
#[derive(thiserror::Error, Debug)]
pub enum ThemeError {
    /// A template does not parse; found when the themes are loaded.
    #[error(
        "syntax error in template `{template}`{}{}",
        file.as_ref().map(|f| format!(" ({})", f.display())).unwrap_or_default(),
        line.map(|l| format!(" at line {l}")).unwrap_or_default()
    )]
    Syntax {
        /// The template's name, e.g. `page.html`.
        template: String,
        /// The override file it was read from; `None` for a built-in.
        file: Option<PathBuf>,
        /// Line of the error, when known.
        line: Option<usize>,
        /// The parser's error.
        source: minijinja::Error,
    },
    /// Rendering failed: an undefined value, a bad filter argument, a missing parent
    /// template. The source names the template and line where it happened.
    #[error("cannot render template `{template}`")]
    Render {
        /// The template that was asked for (the error may lie in one it extends).
        template: String,
        /// The engine's error.
        source: minijinja::Error,
    },
    /// No template of that name exists.
    #[error("no template named `{template}`")]
    UnknownTemplate {
        /// The name that was asked for.
        template: String,
    },
    /// An override directory or file could not be read.
    #[error("cannot read theme override {}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn themes_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Themes>();
    }

    #[test]
    fn theme_names_are_plain() {
        for ok in ["default", "classic", "my-theme_2"] {
            assert!(is_theme_name(ok), "{ok}");
        }
        for bad in [
            "",
            "Default",
            "a.b",
            "../x",
            "a/b",
            "quire.css",
            &"x".repeat(41),
        ] {
            assert!(!is_theme_name(bad), "{bad}");
        }
    }

    #[test]
    fn builtin_tables_include_the_default_theme() {
        assert_eq!(Themes::builtin_themes()[0], DEFAULT_THEME);
        let templates: Vec<_> = Themes::builtin_templates().collect();
        assert!(templates.contains(&"base.html"), "{templates:?}");
        assert!(Themes::builtin_assets().any(|a| a == "quire.css"));
    }
}
