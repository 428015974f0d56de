//! A page's HTML: rendered by `markup` with links resolved against storage
//! (`super::link_resolver`), and for the current revision kept in storage's render cache, keyed by
//! what else the HTML depends on (the build, the mount, the dialect, and whether its headings carry
//! the links that edit their sections, which only viewers who may edit the page get: so a page has
//! at most two cached renders, one for its readers and one for its writers).
//!
//! Every render is bounded by `markup::RenderLimits` (see `Settings::render_options`), so that a page
//! written to be expensive costs little: text over a bound is refused when previewed or saved (the editor
//! keeps it, with a 422), and a stored page over one (saved before the bounds, or by a tool) is shown as
//! escaped text under a notice, never as an error. Renders of unsaved text, which anyone allowed to edit can
//! ask for as often as they like, are also limited in number per process by [`RenderPermits`]: with the
//! bounds, that caps the memory previews can take at once (issue 19; see BENCHMARKS.md).

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use markup::MarkupError;
use storage::{CachedHtml, Revision};

use crate::wiki::metrics::Event;
use crate::wiki::pages::link_resolver::StoredLinks;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::{Exchange, Wiki};

impl Wiki {
    /// The HTML of a page's current revision, from the render cache when it holds it (see storage's
    /// `render_cache` module for why it cannot go stale), else rendered and stored. The cache is a
    /// speed-up only: when it fails, the page is rendered and the failure logged. With
    /// `section_links`, headings link to the editor of their sections (for a viewer who may edit).
    pub(crate) fn cached_render(
        &self,
        exchange: &Exchange,
        name: &PageName,
        revision: &Revision,
        section_links: bool,
    ) -> String {
        if !self.settings.render_cache {
            return self.render_stored(exchange, name, &revision.text, section_links);
        }
        let mut variant = render_variant(exchange, &self.markup);
        if section_links {
            variant.push_str(" section-links");
        }
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
        let html = self.render_stored(exchange, name, &revision.text, section_links);
        if let Some(ticket) = ticket {
            if let Err(err) = self.storage.store_html(&ticket, &variant, &html) {
                tracing::warn!(error = %err, "could not store a rendered page");
            }
        }
        html
    }

    /// The HTML of stored text: rendered, or, for text over a bound of the render limits, the text itself
    /// escaped under a notice saying why, so that the page stays readable.
    pub(crate) fn render_markdown(
        &self,
        exchange: &Exchange,
        name: &PageName,
        text: &str,
    ) -> String {
        self.render_stored(exchange, name, text, false)
    }

    /// [`Wiki::render_markdown`], with section edit links when `section_links`.
    fn render_stored(
        &self,
        exchange: &Exchange,
        name: &PageName,
        text: &str,
        section_links: bool,
    ) -> String {
        self.render_bounded(exchange, name, text, section_links)
            .unwrap_or_else(|err| {
                tracing::warn!(error = %err, page = %name, "a stored page is over a render bound");
                shown_unrendered(text, &err)
            })
    }

    /// Renders text nobody saved yet (a preview, or a save being checked), holding one of this process's
    /// [`RenderPermits`] while it does; the permit comes back with the HTML, for the caller to keep
    /// while it still holds the text.
    pub(crate) fn render_unsaved(
        &self,
        exchange: &Exchange,
        name: &PageName,
        text: &str,
    ) -> Result<(String, RenderPermit<'_>), Unrendered> {
        let Some(permit) = self.render_permits.acquire() else {
            self.metrics.count(Event::RenderRefused);
            return Err(Unrendered::Busy {
                retry_after: self.render_permits.wait,
            });
        };
        match self.render_bounded(exchange, name, text, false) {
            Ok(html) => Ok((html, permit)),
            Err(bound) => {
                self.metrics.count(Event::RenderRefused);
                Err(Unrendered::OverBound(bound))
            }
        }
    }

    fn render_bounded(
        &self,
        exchange: &Exchange,
        name: &PageName,
        text: &str,
        section_links: bool,
    ) -> Result<String, MarkupError> {
        let links = StoredLinks {
            urls: &exchange.urls,
            storage: &self.storage,
            section_links,
        };
        markup::render_with(text, name.as_str(), &links, &self.markup).map(|rendered| rendered.html)
    }
}

/// Why unsaved text was not rendered.
#[derive(Debug)]
pub(crate) enum Unrendered {
    /// Every permit was taken for as long as a request waits for one.
    Busy {
        /// How long the client should wait before trying again.
        retry_after: Duration,
    },
    /// The text is over a bound of the render limits, named by the error.
    OverBound(MarkupError),
}

/// A stored page over a render bound: a notice, then the text as it was written, escaped.
fn shown_unrendered(text: &str, err: &MarkupError) -> String {
    let mut html = String::with_capacity(text.len() + 300);
    html.push_str(
        r#"<p class="notice warning" role="alert">This page is too large to display formatted ("#,
    );
    escape_into(&mut html, &err.to_string());
    html.push_str(
        "), so its text is shown as it was written. Whoever may edit it can split it into smaller pages.</p>\n<pre class=\"unrendered\">",
    );
    escape_into(&mut html, text);
    html.push_str("</pre>\n");
    html
}

fn escape_into(html: &mut String, text: &str) {
    pulldown_cmark_escape::escape_html(&mut *html, text).expect("writing to a String cannot fail");
}

/// A counting semaphore over renders of unsaved text in one process, sized to its cores: rendering is
/// CPU-bound, so more at once would only hold more memory, not finish sooner. A request waits at most
/// `wait` for a permit, then is told to come back (503 with `Retry-After`). It lives in the `Wiki`, so it
/// holds in every long-running mode (serve, FastCGI, SCGI); under CGI each process is one request anyway.
pub(crate) struct RenderPermits {
    free: Mutex<usize>,
    freed: Condvar,
    /// The longest a request waits for a permit.
    pub(crate) wait: Duration,
}

impl RenderPermits {
    /// `count` permits (at least one), each waited for at most `wait`.
    pub(crate) fn new(count: usize, wait: Duration) -> Self {
        RenderPermits {
            free: Mutex::new(count.max(1)),
            freed: Condvar::new(),
            wait,
        }
    }

    /// One permit per core, waited for up to five seconds: long enough for the renders ahead to finish
    /// (a render within the bounds takes well under a second), short enough not to hold a worker.
    pub(crate) fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        RenderPermits::new(cores, Duration::from_secs(5))
    }

    /// A permit, released when dropped; `None` if none came free within `wait`.
    fn acquire(&self) -> Option<RenderPermit<'_>> {
        let deadline = Instant::now() + self.wait;
        // A panic while holding the lock cannot leave the count wrong: it is only changed in one step.
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            let left = deadline.checked_duration_since(Instant::now())?;
            free = self
                .freed
                .wait_timeout(free, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *free -= 1;
        Some(RenderPermit { permits: self })
    }
}

/// One render's permit; given back when dropped, panics included. A preview keeps it until its
/// editor page is built: that page holds the text and its HTML again, and building 16 of them at
/// once cost more memory than the renders did (BENCHMARKS.md, "Hostile previews: peak memory").
pub(crate) struct RenderPermit<'p> {
    permits: &'p RenderPermits,
}

impl Drop for RenderPermit<'_> {
    fn drop(&mut self) {
        *self
            .permits
            .free
            .lock()
            .unwrap_or_else(PoisonError::into_inner) += 1;
        self.permits.freed.notify_one();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_bounded_waited_for_and_given_back() {
        let permits = RenderPermits::new(2, Duration::from_millis(10));
        let first = permits.acquire().expect("a free permit");
        let second = permits.acquire().expect("a second free permit");
        assert!(permits.acquire().is_none(), "a third waits, then gives up");
        drop(first);
        assert!(
            permits.acquire().is_some(),
            "a returned permit is taken again"
        );
        drop(second);
    }

    #[test]
    fn a_waiting_request_gets_the_permit_given_back() {
        let permits = RenderPermits::new(1, Duration::from_secs(30));
        let held = permits.acquire().expect("a free permit");
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| permits.acquire().is_some());
            std::thread::sleep(Duration::from_millis(20));
            drop(held);
            assert!(waiter.join().expect("the waiter does not panic"));
        });
    }

    #[test]
    fn an_unrendered_page_is_escaped_text_with_the_reason() {
        let err = MarkupError::TooManyMarks { limit: 3 };
        let html = shown_unrendered("<script>x</script> *a*", &err);
        assert!(
            html.contains("&lt;script&gt;x&lt;/script&gt; *a*"),
            "{html}"
        );
        assert!(
            html.contains("more than 3 markup characters (such as * | [ &lt; and line ends)"),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
    }
}
