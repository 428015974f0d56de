//! One theme: its compiled templates and its assets, assembled from four layers.
//!
//! A theme need not supply every template: a file it lacks comes from `default`. So the
//! layers, lowest first, are: `default`'s built-in files, `default`'s overrides, the
//! theme's built-in files, the theme's overrides. Each theme ships its own `base.html` and
//! stylesheet, and inherits the page templates (which belong to the features that render
//! them), so a page added to `default` renders in every theme at once.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior};

use crate::asset::{checked_hash, hashed_name, ContentHash};
use crate::{builtin, escape, filters, walk, ThemeError, DEFAULT_THEME};

/// Where a template's source came from, for error messages an admin can act on.
enum Origin {
    BuiltIn,
    Override(PathBuf),
}

/// One asset of a theme: its bytes and, once asked for, their content hash. Hashed when first
/// named rather than when loaded: a process that answers one request (CGI) loads every theme, each
/// with `default`'s scripts and styles, and names three assets of one of them.
pub(crate) struct Stored {
    pub(crate) bytes: Cow<'static, [u8]>,
    content_hash: ContentHash,
    hash: OnceLock<String>,
}

impl Stored {
    pub(crate) fn new(bytes: Cow<'static, [u8]>, content_hash: ContentHash) -> Stored {
        Stored {
            bytes,
            content_hash,
            hash: OnceLock::new(),
        }
    }

    /// The content hash of the bytes, which the asset's URL carries.
    pub(crate) fn hash(&self) -> &str {
        self.hash
            .get_or_init(|| checked_hash(self.content_hash, &self.bytes))
    }
}

pub(crate) struct Theme {
    pub(crate) env: Environment<'static>,
    /// Assets by path below `static/`, `default`'s included where the theme has none.
    pub(crate) assets: Arc<BTreeMap<String, Stored>>,
    /// Each override template's file, for a syntax error found when it is first used
    /// ([`Compile::OnFirstUse`]).
    overrides: BTreeMap<String, PathBuf>,
}

/// When a theme's templates are compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compile {
    /// All of them when the theme is loaded, so that a syntax error stops a server at start-up
    /// (or at the reload that brought it).
    AtLoad,
    /// Each when first rendered: for a process that serves one request (CGI), which renders
    /// one or two of some 25 templates and would spend most of its time compiling the rest. A
    /// syntax error is the error of the request that renders that template.
    OnFirstUse,
}

impl Theme {
    /// Loads theme `name` from its layers (see the module docs), its assets to be hashed with
    /// `content_hash` when first named, its templates compiled as `compile` says.
    pub(crate) fn load(
        name: &str,
        override_dir: Option<&Path>,
        content_hash: ContentHash,
        compile: Compile,
    ) -> Result<Theme, ThemeError> {
        let mut templates: BTreeMap<String, (Cow<'static, str>, Origin)> = BTreeMap::new();
        let mut assets: BTreeMap<String, Cow<'static, [u8]>> = BTreeMap::new();
        let mut layers = vec![DEFAULT_THEME];
        if name != DEFAULT_THEME {
            layers.push(name);
        }
        for layer in layers {
            for (_, file, source) in builtin::TEMPLATES.iter().filter(|(t, _, _)| *t == layer) {
                templates.insert(
                    (*file).to_owned(),
                    (Cow::Borrowed(*source), Origin::BuiltIn),
                );
            }
            for (_, path, bytes) in builtin::ASSETS.iter().filter(|(t, _, _)| *t == layer) {
                assets.insert((*path).to_owned(), Cow::Borrowed(*bytes));
            }
            let Some(dir) = override_dir else { continue };
            let theme_dir = dir.join(layer);
            for (file, path) in list(&theme_dir.join("templates"))? {
                let source = read(&path, |p| fs::read_to_string(p))?;
                templates.insert(file, (Cow::Owned(source), Origin::Override(path)));
            }
            for (file, path) in list(&theme_dir.join("static"))? {
                let bytes = read(&path, |p| fs::read(p))?;
                assets.insert(file, Cow::Owned(bytes));
            }
        }
        let assets: Arc<BTreeMap<String, Stored>> = Arc::new(
            assets
                .into_iter()
                .map(|(path, bytes)| (path, Stored::new(bytes, content_hash)))
                .collect(),
        );

        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Block tags on their own lines leave no blank lines behind in the HTML.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_formatter(escape::formatter);
        filters::register(&mut env);
        let theme_name = name.to_owned();
        let for_filter = Arc::clone(&assets);
        env.add_filter("asset_url", move |state: &State, path: &str| {
            asset_url(state, &theme_name, &for_filter, path)
        });
        let overrides: BTreeMap<String, PathBuf> = templates
            .iter()
            .filter_map(|(file, (_, origin))| match origin {
                Origin::Override(path) => Some((file.clone(), path.clone())),
                Origin::BuiltIn => None,
            })
            .collect();
        match compile {
            Compile::AtLoad => {
                for (file, (source, _)) in templates {
                    env.add_template_owned(file.clone(), source)
                        .map_err(|source| syntax_error(&overrides, &file, source))?;
                }
            }
            Compile::OnFirstUse => {
                let sources: BTreeMap<String, Cow<'static, str>> = templates
                    .into_iter()
                    .map(|(file, (source, _))| (file, source))
                    .collect();
                env.set_loader(move |name| Ok(sources.get(name).map(|source| source.to_string())));
            }
        }
        Ok(Theme {
            env,
            assets,
            overrides,
        })
    }

    /// Template `template`, compiled (when first asked for, under [`Compile::OnFirstUse`]).
    pub(crate) fn template(
        &self,
        template: &str,
    ) -> Result<minijinja::Template<'_, '_>, ThemeError> {
        self.env
            .get_template(template)
            .map_err(|source| match source.kind() {
                ErrorKind::TemplateNotFound => ThemeError::UnknownTemplate {
                    template: template.to_owned(),
                },
                ErrorKind::SyntaxError => syntax_error(&self.overrides, template, source),
                _ => ThemeError::Render {
                    template: template.to_owned(),
                    source,
                },
            })
    }
}

/// The error for a template that does not parse, naming its file when it is an override.
fn syntax_error(
    overrides: &BTreeMap<String, PathBuf>,
    template: &str,
    source: Error,
) -> ThemeError {
    ThemeError::Syntax {
        line: source.line(),
        file: overrides.get(template).cloned(),
        template: template.to_owned(),
        source,
    }
}

/// `{{ "quire.css"|asset_url }}` → `{static_url}/{theme}/quire.{hash}.css`: a URL that
/// changes whenever the file does, so it can be cached for a year. The mount prefix comes
/// from the context's `static_url`; an asset the theme does not have is an error, like any
/// undefined value.
fn asset_url(
    state: &State,
    theme: &str,
    assets: &BTreeMap<String, Stored>,
    path: &str,
) -> Result<String, Error> {
    let base = state
        .lookup("static_url")
        .filter(|value| !value.is_undefined())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::UndefinedError,
                "asset_url needs `static_url` in the context",
            )
        })?;
    let stored = assets.get(path).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("theme `{theme}` has no asset `{path}`"),
        )
    })?;
    let base = base.to_string();
    Ok(format!(
        "{base}/{theme}/{}",
        hashed_name(path, stored.hash())
    ))
}

fn list(dir: &Path) -> Result<Vec<(String, PathBuf)>, ThemeError> {
    walk::files_below(dir).map_err(|err| ThemeError::Io {
        path: err.path,
        source: err.source,
    })
}

fn read<T>(path: &Path, how: impl Fn(&Path) -> std::io::Result<T>) -> Result<T, ThemeError> {
    how(path).map_err(|source| ThemeError::Io {
        path: path.to_owned(),
        source,
    })
}
