//! Which theme and colour mode a page is drawn in.
//!
//! The theme, first that names an installed theme wins: `?theme=NAME` on the request (a
//! preview of that one page: links do not carry it, so a reader cannot get stuck in a theme
//! by following a shared link), the reader's own choice (`/+prefs`: an account's stored
//! theme, or an anonymous reader's session key `theme`; see `viewer`), the site's `theme` in
//! `quire.toml`,
//! and `default`. A name that is no installed theme is passed over, never an error: a theme
//! removed from the data directory must not break the pages of those who chose it.
//!
//! The mode is `light` or `dark` when the reader picked one with the page's toggle (kept in
//! the `quire_mode` cookie, which the script sets), else `auto`: the stylesheet follows the
//! system's `prefers-color-scheme`. Reading the cookie here, rather than in the script,
//! means the page arrives in its mode with no flash of the other.

use serde::Serialize;

use crate::wiki::{Exchange, Wiki};

/// The cookie the page's mode toggle sets.
pub const MODE_COOKIE: &str = "quire_mode";

/// The `theme` key of every template's context.
#[derive(Debug, Serialize)]
pub struct ThemeInfo {
    /// The theme this page is drawn in.
    pub name: String,
    /// `auto`, `light` or `dark`; becomes `data-mode` on `<html>`.
    pub mode: &'static str,
    /// True when `?theme=` chose the theme for this page only.
    pub previewing: bool,
    /// This page without the preview.
    pub exit_url: String,
    /// Every installed theme, each with this page previewed in it.
    pub choices: Vec<ThemeLink>,
}

/// A theme to try, and this page in it.
#[derive(Debug, Serialize)]
pub struct ThemeLink {
    pub name: String,
    pub url: String,
}

impl Wiki {
    /// The theme and mode for this request (see the module docs).
    pub(crate) fn theme_info(&self, exchange: &Exchange) -> ThemeInfo {
        let installed = self
            .themes
            .names()
            .unwrap_or_else(|_| vec![themes::DEFAULT_THEME.to_owned()]);
        let known = |name: &String| installed.contains(name);
        let preview = exchange
            .query()
            .ok()
            .and_then(|query| query.get("theme").map(str::to_owned))
            .filter(known);
        let name = preview
            .clone()
            .or_else(|| exchange.viewer.prefs.theme.clone().filter(known))
            .or_else(|| Some(self.settings.theme.clone()).filter(known))
            .unwrap_or_else(|| themes::DEFAULT_THEME.to_owned());
        ThemeInfo {
            mode: requested_mode(exchange),
            previewing: preview.is_some(),
            exit_url: here_with_theme(exchange, None),
            choices: installed
                .iter()
                .map(|theme| ThemeLink {
                    url: here_with_theme(exchange, Some(theme)),
                    name: theme.clone(),
                })
                .collect(),
            name,
        }
    }
}

/// The mode the `quire_mode` cookie asks for; `auto` without one (or with a bad value).
pub(crate) fn requested_mode(exchange: &Exchange) -> &'static str {
    let value = gateway::cookies::value(exchange.request.headers(), MODE_COOKIE);
    match value {
        Some("light") => "light",
        Some("dark") => "dark",
        _ => "auto",
    }
}

/// This request's URL, its `theme` parameter replaced by `theme` (or dropped), built from the
/// mount prefix like every other URL.
fn here_with_theme(exchange: &Exchange, theme: Option<&str>) -> String {
    let mut query: Vec<String> = exchange
        .request
        .query()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| pair.split('=').next() != Some("theme"))
        .map(str::to_owned)
        .collect();
    if let Some(theme) = theme {
        // Theme names are plain ASCII words (themes::is_theme_name): nothing to escape.
        query.push(format!("theme={theme}"));
    }
    exchange
        .urls
        .same_path(exchange.request.path_info(), &query)
}
