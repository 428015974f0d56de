//! quire's themes: the HTML of every wiki page, as [minijinja] templates, and the static
//! assets (stylesheet, icons) those pages use.
//!
//! Built-in themes live in this crate under `themes/<theme>/templates/*.html` and
//! `themes/<theme>/static/*`, and are embedded into the binary by `build.rs`. An admin can
//! replace or add any file by putting it under an override directory with the same relative
//! path, e.g. `<dir>/default/templates/page.html` or `<dir>/default/static/quire.css`.
//! Only the `default` theme exists so far; others slot in beside it.
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
//!   `<time datetime>`), `chunkby(attr)` (runs of neighbours sharing `attr`, in order), and
//!   `form_target` (a URL → GET-form action path + hidden fields for its query).
//!
//! # Context contract
//!
//! Every template gets `site_name`, `title`, `static_url` (assets are
//! `{{ static_url }}/quire.css`), `nav` = {`front_url`, `recent_url`, `help_url`} and
//! `page` = null or {`name`, `view_url`, `edit_url`, `history_url`, `raw_url`,
//! `parents`: [{`name`, `url`}]}. Each page template adds its own keys; the sample
//! contexts in `tests/it/contexts/` are the executable, complete list, and the tests check
//! that removing any key from them makes rendering fail.
//!
//! | template       | adds |
//! |----------------|------|
//! | `page.html`    | `content_html`, `revision` {`rev`, `author`, `time`, `comment`, `is_current`, `current_url`}, `history_rev_count` |
//! | `edit.html`    | `text`, `base_rev`?, `comment`, `preview_html`?, `is_new`, `notice`?, `conflict_text`?, `form_url` |
//! | `history.html` | `revisions` [{`rev`, `author`, `time`, `comment`, `size`, `view_url`, `diff_url`?}], `diff_url_base` |
//! | `diff.html`    | `from_rev`, `to_rev`, `from_url`, `to_url`, `lines` [{`kind`, `old_no`?, `new_no`?, `text`}], `identical` |
//! | `recent.html`  | `changes` [{`page_name`, `page_url`, `rev`, `author`, `time`, `comment`, `size`, `size_delta`, `diff_url`?, `history_url`, `day`}] |
//! | `missing.html` | `create_url` |
//! | `error.html`   | `status`, `reason`, `message` |
//!
//! (`?` marks keys that may be null; they must still be present.)

mod asset;
mod escape;
mod filters;
mod theme;
mod walk;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin.rs"));
}

use std::path::{Path, PathBuf};

pub use asset::Asset;
use theme::Theme;

/// The theme used for every page until themes can be chosen.
const DEFAULT_THEME: &str = "default";

/// The loaded themes: compiled templates and assets, built-ins overlaid with overrides.
/// Cheap to share: render from many threads at once.
pub struct Themes {
    default: Theme,
}

impl Themes {
    /// Loads the built-in themes, with files under `override_dir` (if given) replacing
    /// built-ins of the same relative path (`<dir>/default/templates/page.html`,
    /// `<dir>/default/static/quire.css`) or adding new ones. Hidden files are ignored.
    ///
    /// Fails if `override_dir` cannot be read, an override file cannot be read (or a
    /// template is not UTF-8), or any template has a syntax error.
    pub fn new(override_dir: Option<&Path>) -> Result<Themes, ThemeError> {
        Ok(Themes {
            default: Theme::load(DEFAULT_THEME, override_dir)?,
        })
    }

    /// Renders `template` (e.g. `"page.html"`) of the default theme with `context`.
    pub fn render(
        &self,
        template: &str,
        context: impl serde::Serialize,
    ) -> Result<String, ThemeError> {
        let compiled = self.default.env.get_template(template).map_err(|source| {
            if source.kind() == minijinja::ErrorKind::TemplateNotFound {
                ThemeError::UnknownTemplate {
                    template: template.to_owned(),
                }
            } else {
                ThemeError::Render {
                    template: template.to_owned(),
                    source,
                }
            }
        })?;
        compiled
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
        if !asset::is_clean_path(path) {
            return None;
        }
        let bytes = self.default.assets.get(path)?;
        Some(Asset {
            bytes: bytes.clone(),
            content_type: asset::content_type(path),
        })
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
    fn builtin_tables_include_the_default_theme() {
        let templates: Vec<_> = Themes::builtin_templates().collect();
        assert!(templates.contains(&"base.html"), "{templates:?}");
        assert!(Themes::builtin_assets().any(|a| a == "quire.css"));
    }
}
