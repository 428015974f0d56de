//! One theme: its compiled templates and its assets, built-ins overlaid with overrides.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};

use crate::{builtin, escape, filters, walk, ThemeError};

/// Where a template's source came from, for error messages an admin can act on.
enum Origin {
    BuiltIn,
    Override(PathBuf),
}

pub(crate) struct Theme {
    pub(crate) env: Environment<'static>,
    pub(crate) assets: BTreeMap<String, Cow<'static, [u8]>>,
}

impl Theme {
    /// Loads theme `name`: its built-in files, then any under `<override_dir>/<name>/`
    /// (`templates/…`, `static/…`), which replace built-ins of the same relative path or add
    /// new files. All templates are compiled here, so syntax errors surface at start-up.
    pub(crate) fn load(name: &str, override_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        let mut templates: BTreeMap<String, (Cow<'static, str>, Origin)> = builtin::TEMPLATES
            .iter()
            .filter(|(theme, _, _)| *theme == name)
            .map(|(_, file, source)| {
                (
                    (*file).to_owned(),
                    (Cow::Borrowed(*source), Origin::BuiltIn),
                )
            })
            .collect();
        let mut assets: BTreeMap<String, Cow<'static, [u8]>> = builtin::ASSETS
            .iter()
            .filter(|(theme, _, _)| *theme == name)
            .map(|(_, path, bytes)| ((*path).to_owned(), Cow::Borrowed(*bytes)))
            .collect();

        if let Some(dir) = override_dir {
            // A configured directory that is missing is a typo, not "no overrides".
            fs::read_dir(dir).map_err(|source| ThemeError::Io {
                path: dir.to_owned(),
                source,
            })?;
            let theme_dir = dir.join(name);
            for (file, path) in list(&theme_dir.join("templates"))? {
                let source = read(&path, |p| fs::read_to_string(p))?;
                templates.insert(file, (Cow::Owned(source), Origin::Override(path)));
            }
            for (file, path) in list(&theme_dir.join("static"))? {
                let bytes = read(&path, |p| fs::read(p))?;
                assets.insert(file, Cow::Owned(bytes));
            }
        }

        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // Block tags on their own lines leave no blank lines behind in the HTML.
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_formatter(escape::formatter);
        filters::register(&mut env);
        for (file, (source, origin)) in templates {
            env.add_template_owned(file.clone(), source)
                .map_err(|source| ThemeError::Syntax {
                    line: source.line(),
                    file: match origin {
                        Origin::BuiltIn => None,
                        Origin::Override(path) => Some(path),
                    },
                    template: file,
                    source,
                })?;
        }
        Ok(Theme { env, assets })
    }
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
