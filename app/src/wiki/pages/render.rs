//! A page's HTML: rendered by `markup` with links resolved against storage
//! (`super::link_resolver`), and for the current revision kept in storage's render cache, keyed by
//! what else the HTML depends on (the build, the mount, the dialect).

use storage::{CachedHtml, Revision};

use crate::wiki::pages::link_resolver::StoredLinks;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::{Exchange, Wiki};

impl Wiki {
    /// The HTML of a page's current revision, from the render cache when it holds it (see storage's
    /// `render_cache` module for why it cannot go stale), else rendered and stored. The cache is a
    /// speed-up only: when it fails, the page is rendered and the failure logged.
    pub(crate) fn cached_render(
        &self,
        exchange: &Exchange,
        name: &PageName,
        revision: &Revision,
    ) -> String {
        if !self.settings.render_cache {
            return self.render_markdown(exchange, name, &revision.text);
        }
        let variant = render_variant(exchange, &self.markup);
        let ticket = match self
            .storage
            .cached_html(name.as_str(), revision.meta.rev, &variant)
        {
            Ok(CachedHtml::Hit(html)) => return html,
            Ok(CachedHtml::Miss(ticket)) => Some(ticket),
            Err(err) => {
                tracing::warn!(error = %err, "could not read the render cache");
                None
            }
        };
        let html = self.render_markdown(exchange, name, &revision.text);
        if let Some(ticket) = ticket {
            if let Err(err) = self.storage.store_html(&ticket, &variant, &html) {
                tracing::warn!(error = %err, "could not store a rendered page");
            }
        }
        html
    }

    pub(crate) fn render_markdown(
        &self,
        exchange: &Exchange,
        name: &PageName,
        text: &str,
    ) -> String {
        let links = StoredLinks {
            urls: &exchange.urls,
            storage: &self.storage,
        };
        match markup::render_with(text, name.as_str(), &links, &self.markup) {
            Ok(rendered) => rendered.html,
            // The options carry no size limit (saves enforce one), so this
            // cannot happen; an empty body beats a panic if it ever does.
            Err(err) => {
                tracing::error!(error = %err, page = %name, "rendering refused a page");
                String::new()
            }
        }
    }
}

/// What cached HTML depends on besides the revision and which linked pages exist: the build that
/// rendered it (a new quire may render differently) and the mount prefix its URLs start with.
fn render_variant(exchange: &Exchange, options: &markup::RenderOptions) -> String {
    use std::hash::{Hash, Hasher};
    // The dialect's settings change the HTML too (an interwiki prefix added
    // in quire.toml turns text into a link).
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    format!("{options:?}").hash(&mut hasher);
    format!(
        "quire {} mount {} markup {:016x}",
        build_identity(),
        exchange.request.mount(),
        hasher.finish()
    )
}

/// This binary's identity for the render cache: the version, plus the
/// executable's size and modification time, so that a rebuilt renderer
/// (new markup rules, a fixed bug) never serves HTML an older build cached,
/// even without a version bump. One `stat`, once per process.
fn build_identity() -> &'static str {
    static IDENTITY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    IDENTITY.get_or_init(|| {
        let stamp = std::env::current_exe()
            .and_then(std::fs::metadata)
            .ok()
            .and_then(|meta| {
                let modified = meta.modified().ok()?;
                let since = modified.duration_since(std::time::UNIX_EPOCH).ok()?;
                Some(format!("{}-{}", meta.len(), since.as_nanos()))
            })
            .unwrap_or_else(|| "unknown-build".to_owned());
        format!("{} build {stamp}", env!("CARGO_PKG_VERSION"))
    })
}
