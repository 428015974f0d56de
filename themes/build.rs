//! Embeds every file under `themes/<theme>/templates/` and `themes/<theme>/static/` into the
//! binary, so a deployed quire is one file. Listing the files here, rather than by hand in
//! `lib.rs`, means a new template or asset cannot be forgotten.
//!
//! Generates `$OUT_DIR/builtin.rs` with two tables, `TEMPLATES: &[(theme, name, source)]`
//! and `ASSETS: &[(theme, path, bytes)]`, where `name` and `path` are relative to
//! `templates/` and `static/` with `/` separators.

#[path = "src/walk.rs"]
mod walk;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs, io};

fn main() -> io::Result<()> {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").ok_or_else(|| {
        io::Error::other("CARGO_MANIFEST_DIR is not set; build.rs must run under cargo")
    })?);
    let themes_dir = manifest_dir.join("themes");
    // For a directory cargo rescans it recursively, so added, removed and edited files
    // all trigger a rebuild.
    println!("cargo::rerun-if-changed={}", themes_dir.display());

    let mut templates = String::from("pub(crate) static TEMPLATES: &[(&str, &str, &str)] = &[\n");
    let mut assets = String::from("pub(crate) static ASSETS: &[(&str, &str, &[u8])] = &[\n");
    for theme in walk::sorted_entries(&themes_dir).map_err(into_io)? {
        if !theme.is_dir() {
            continue;
        }
        let theme_name = utf8(theme.file_name().map(Path::new).unwrap_or(&theme))?;
        let templates_dir = theme.join("templates");
        for (name, file) in walk::files_below(&templates_dir).map_err(into_io)? {
            let file = utf8(&file)?;
            writeln!(
                templates,
                "    ({theme_name:?}, {name:?}, include_str!({file:?})),"
            )
            .map_err(io::Error::other)?;
        }
        for (name, file) in walk::files_below(&theme.join("static")).map_err(into_io)? {
            let file = utf8(&file)?;
            writeln!(
                assets,
                "    ({theme_name:?}, {name:?}, include_bytes!({file:?})),"
            )
            .map_err(io::Error::other)?;
        }
    }
    templates.push_str("];\n");
    assets.push_str("];\n");

    let out_dir = PathBuf::from(
        env::var_os("OUT_DIR").ok_or_else(|| io::Error::other("OUT_DIR is not set"))?,
    );
    fs::write(out_dir.join("builtin.rs"), templates + &assets)
}

fn into_io(err: walk::WalkError) -> io::Error {
    io::Error::new(
        err.source.kind(),
        format!("{}: {}", err.path.display(), err.source),
    )
}

fn utf8(path: &Path) -> io::Result<&str> {
    path.to_str()
        .ok_or_else(|| io::Error::other(format!("{} is not a UTF-8 path", path.display())))
}
