//! Viewing, editing and saving pages, and the themed error pages.

use gateway::{ErrorReport, HttpError, Response};
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use storage::{CachedHtml, Revision, Save, SaveOutcome};

use super::context::Layout;
use super::diff::{diff, DiffLine, DiffOptions};
use super::error::typed_response;
use super::links::StoredLinks;
use super::merge::{three_way, Merged};
use super::page_name::PageName;
use super::{Exchange, Wiki, WikiError};

#[derive(Serialize)]
struct PageView {
    #[serde(flatten)]
    layout: Layout,
    content_html: String,
    revision: RevisionInfo,
    history_rev_count: u64,
    /// "What links here": pages whose current revision links to this one.
    backlinks: Vec<Backlink>,
    /// A one-off message after a redirect (say, that a save was merged with another).
    notice: Option<String>,
}

#[derive(Serialize)]
struct Backlink {
    name: String,
    url: String,
}

#[derive(Serialize)]
struct RevisionInfo {
    rev: u64,
    author: String,
    time: i64,
    comment: String,
    is_current: bool,
    current_url: String,
    /// Where a POST makes this old revision current again; `None` for the current one.
    revert_url: Option<String>,
}

#[derive(Serialize)]
struct MissingView {
    #[serde(flatten)]
    layout: Layout,
    create_url: String,
}

#[derive(Serialize)]
struct EditView {
    #[serde(flatten)]
    layout: Layout,
    text: String,
    base_rev: Option<u64>,
    comment: String,
    preview_html: Option<String>,
    is_new: bool,
    notice: Option<String>,
    /// After a stale save: the page as someone else saved it meanwhile.
    conflict_text: Option<String>,
    /// After a conflicting merge: the user's text as they wrote it (`text` holds the merge).
    own_text: Option<String>,
    /// After a conflicting merge: what the other person changed, from the editor's base.
    their_changes: Option<Vec<DiffLine>>,
    form_url: String,
}

/// What the editor shows when a save met someone else's.
struct ConflictShown {
    notice: String,
    their_text: String,
    own_text: Option<String>,
    their_changes: Option<Vec<DiffLine>>,
}

#[derive(Serialize)]
struct ErrorView {
    #[serde(flatten)]
    layout: Layout,
    status: u16,
    reason: String,
    message: String,
}

impl Wiki {
    pub(super) fn view_page(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let wanted = requested_revision(exchange)?;
        let Some(current) = self.storage.current(name.as_str())? else {
            // Renamed away (a redirect) or deleted (a way back); else never written.
            if let Some(response) = self.gone_page(exchange, name)? {
                return Ok(response);
            }
            return self.missing_page(exchange, name);
        };
        let revision = match wanted {
            Some(rev) if rev != current.rev => self
                .storage
                .revision(name.as_str(), rev)?
                .ok_or_else(|| HttpError::not_found(format!("{name} has no revision {rev}.")))?,
            _ => current.clone(),
        };
        let is_current = revision.rev == current.rev;
        let content_html = if is_current {
            self.cached_render(exchange, name, &revision)
        } else {
            self.render_markdown(exchange, name, &revision.text)
        };
        let access = self.access(&exchange.viewer)?;
        let backlinks = self
            .storage
            .backlinks(name.as_str())?
            .into_iter()
            .filter(|source| access.can_read(source))
            .map(|source| Backlink {
                url: exchange.urls.page_str(&source),
                name: source,
            })
            .collect();
        let query = exchange.query()?;
        let merged = query.get("merged").and_then(|rev| rev.parse::<u64>().ok()).map(|rev| {
            format!("Someone else saved this page while you were editing. Your changes did not touch theirs, so both were merged and saved as revision {rev}.")
        });
        let redirected = query
            .get("redirected_from")
            .and_then(|from| PageName::parse(from).ok())
            .map(|from| format!("(Redirected from {from}, this page's old name.)"));
        let notice = merged.or(redirected);
        let view = PageView {
            layout: self.layout(exchange, name.as_str(), Some(name)),
            notice,
            content_html,
            backlinks,
            history_rev_count: current.rev,
            revision: RevisionInfo {
                is_current,
                current_url: exchange.urls.page(name),
                revert_url: (!is_current).then(|| exchange.urls.revert(name, revision.rev)),
                rev: revision.rev,
                author: revision.author,
                time: revision.time,
                comment: revision.comment,
            },
        };
        self.html(StatusCode::OK, "page.html", view)
    }

    fn missing_page(&self, exchange: &Exchange, name: &PageName) -> Result<Response, WikiError> {
        let view = MissingView {
            layout: self.layout(exchange, name.as_str(), Some(name)),
            create_url: exchange.urls.action("edit", name),
        };
        self.html(StatusCode::NOT_FOUND, "missing.html", view)
    }

    pub(super) fn raw_page(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let revision = self.find_revision(exchange, name)?;
        Ok(typed_response(revision.text, "text/plain; charset=utf-8"))
    }

    pub(super) fn edit_form(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let current = self.storage.current(name.as_str())?;
        let view = EditView {
            layout: self.layout(exchange, &format!("Editing {name}"), Some(name)),
            is_new: current.is_none(),
            base_rev: current.as_ref().map(|revision| revision.rev),
            text: current.map(|revision| revision.text).unwrap_or_default(),
            comment: String::new(),
            preview_html: None,
            notice: None,
            conflict_text: None,
            own_text: None,
            their_changes: None,
            form_url: exchange.urls.action("edit", name),
        };
        self.html(StatusCode::OK, "edit.html", view)
    }

    pub(super) fn save_page(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let body = exchange.request.body_mut().read_to_vec()?;
        let form = gateway::form::Form::parse(&body)?;
        let text = form.get("text").ok_or_else(|| {
            HttpError::bad_request("The form has no page text (field \u{201c}text\u{201d}).")
        })?;
        // Browsers send CRLF line ends; store one kind so diffs stay clean.
        let text = text.replace("\r\n", "\n");
        let comment = form.get("comment").unwrap_or("").trim().to_owned();
        if comment.chars().count() > 500 || comment.chars().any(char::is_control) {
            return Err(HttpError::bad_request(
                "The comment must be one line of at most 500 characters.",
            )
            .into());
        }
        let base_rev = match form.get("base_rev").filter(|value| !value.is_empty()) {
            None => None,
            Some(value) => Some(value.parse::<u64>().map_err(|_| {
                HttpError::bad_request("The form's base revision is not a number.")
            })?),
        };
        if text.len() > self.settings.max_page_bytes {
            return Err(HttpError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "The page text is {} bytes; this wiki accepts pages of up to {} bytes (max_page_bytes in quire.toml).",
                    text.len(),
                    self.settings.max_page_bytes
                ),
            )
            .into());
        }
        let action = form.get("action").unwrap_or("save");
        if action == "preview" {
            let preview_html = self.render_markdown(exchange, name, &text);
            return self.edit_again(
                exchange,
                name,
                text,
                comment,
                base_rev,
                Some(preview_html),
                None,
            );
        }
        if action != "save" {
            return Err(HttpError::bad_request(format!(
                "Unknown form action \u{201c}{action}\u{201d}."
            ))
            .into());
        }
        if text.trim().is_empty() {
            return Err(HttpError::bad_request(
                "A page cannot be saved empty. Write something, or leave the page as it is.",
            )
            .into());
        }
        let outcome = self.store(exchange, name, &text, &comment, base_rev)?;
        match outcome {
            SaveOutcome::Saved { .. } => Ok(redirect_see_other(&exchange.urls.page(name))),
            SaveOutcome::Unchanged { .. } => Ok(redirect_see_other(&exchange.urls.page(name))),
            SaveOutcome::Conflict { current } => {
                self.merge_or_conflict(exchange, name, text, comment, base_rev, current)
            }
        }
    }

    /// A save whose base is stale: merges it with what was saved meanwhile. A clean merge is saved
    /// and the page says so; a conflicting one comes back as the editor (409) with the merged text
    /// and its conflict markers, the other change beside it, and the user's own text kept.
    fn merge_or_conflict(
        &self,
        exchange: &Exchange,
        name: &PageName,
        mine: String,
        comment: String,
        base_rev: Option<u64>,
        mut current: Revision,
    ) -> Result<Response, WikiError> {
        let base_text = match base_rev {
            // Creating a page someone else created meanwhile: both start from nothing.
            None => String::new(),
            Some(rev) => match self.storage.revision(name.as_str(), rev)? {
                Some(base) => base.text,
                None => {
                    // A base that never existed (a forged form): nothing to merge against.
                    let notice = format!(
                        "This page is at revision {} by {}, not the one your editor started from. Nothing was saved: your text is kept below, and the current text is shown beside it.",
                        current.rev, current.author
                    );
                    let base_rev = Some(current.rev);
                    let conflict = ConflictShown {
                        notice,
                        their_text: current.text,
                        own_text: None,
                        their_changes: None,
                    };
                    return self.edit_again(
                        exchange,
                        name,
                        mine,
                        comment,
                        base_rev,
                        None,
                        Some(conflict),
                    );
                }
            },
        };
        // Someone may save again between our merge and our save: merge again, a few times.
        for _ in 0..3 {
            let label = format!("revision {} by {}", current.rev, current.author);
            match three_way(&base_text, &mine, &current.text, &label) {
                Merged::Clean(merged) => {
                    match self.store(exchange, name, &merged, &comment, Some(current.rev))? {
                        SaveOutcome::Saved { rev } | SaveOutcome::Unchanged { rev } => {
                            let url = format!("{}?merged={rev}", exchange.urls.page(name));
                            return Ok(redirect_see_other(&url));
                        }
                        SaveOutcome::Conflict { current: newer } => current = newer,
                    }
                }
                Merged::Conflicts { text, count } => {
                    let notice = format!(
                        "{} saved this page (revision {}) while you were editing, and {count} of your changes touch the same lines. Nothing was saved yet. The text below holds both versions between <<<<<<< and >>>>>>> markers: keep what should stay, remove the markers, and save. Your own text and their change are shown too.",
                        current.author, current.rev
                    );
                    let their_changes =
                        diff(&base_text, &current.text, &DiffOptions::default()).lines;
                    let base_rev = Some(current.rev);
                    let conflict = ConflictShown {
                        notice,
                        their_text: current.text,
                        own_text: Some(mine),
                        their_changes: Some(their_changes),
                    };
                    return self.edit_again(
                        exchange,
                        name,
                        text,
                        comment,
                        base_rev,
                        None,
                        Some(conflict),
                    );
                }
            }
        }
        Err(HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "This page is being saved by others again and again; your text could not be merged in. Go back, copy your text, and try again in a moment.",
        )
        .into())
    }

    /// Saves `text` as a new revision with its outgoing links, attributed to the requester; wakes the
    /// search indexer after a save. The one write path of edits, reverts and merges.
    pub(super) fn store(
        &self,
        exchange: &Exchange,
        name: &PageName,
        text: &str,
        comment: &str,
        base_rev: Option<u64>,
    ) -> Result<SaveOutcome, WikiError> {
        let current = self.storage.current(name.as_str())?;
        self.check_acl_change(
            &exchange.viewer,
            name,
            current.as_ref().map(|revision| revision.text.as_str()),
            text,
        )?;
        let author = author_of(exchange);
        let links = markup::wiki_links_with(text, name.as_str(), &self.settings.markup);
        let links: Vec<&str> = links.iter().map(String::as_str).collect();
        let outcome = self.storage.save_with_links(
            Save {
                page: name.as_str(),
                text,
                author: &author,
                comment,
                base_rev,
                time: None,
            },
            &links,
        )?;
        if let SaveOutcome::Saved { .. } = outcome {
            // Wakes the indexer (or, in CGI, catches up now); never fails the save.
            self.indexer.saved();
        }
        Ok(outcome)
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the edit form shown again carries every field the reader sent, each its own value"
    )]
    fn edit_again(
        &self,
        exchange: &Exchange,
        name: &PageName,
        text: String,
        comment: String,
        base_rev: Option<u64>,
        preview_html: Option<String>,
        conflict: Option<ConflictShown>,
    ) -> Result<Response, WikiError> {
        let status = if conflict.is_some() {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        let (notice, conflict_text, own_text, their_changes) = match conflict {
            Some(shown) => (
                Some(shown.notice),
                Some(shown.their_text),
                shown.own_text,
                shown.their_changes,
            ),
            None => (None, None, None, None),
        };
        let view = EditView {
            layout: self.layout(exchange, &format!("Editing {name}"), Some(name)),
            is_new: base_rev.is_none(),
            text,
            base_rev,
            comment,
            preview_html,
            notice,
            conflict_text,
            own_text,
            their_changes,
            form_url: exchange.urls.action("edit", name),
        };
        self.html(status, "edit.html", view)
    }

    /// The revision `?rev=N` names, or the current one; 404 if either is missing.
    pub(super) fn find_revision(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Revision, WikiError> {
        let found = match requested_revision(exchange)? {
            Some(rev) => self.storage.revision(name.as_str(), rev)?,
            None => self.storage.current(name.as_str())?,
        };
        found.ok_or_else(|| HttpError::not_found(format!("There is no page called {name}.")).into())
    }

    /// The HTML of a page's current revision, from the render cache when it holds it (see storage's
    /// `render_cache` module for why it cannot go stale), else rendered and stored. The cache is a
    /// speed-up only: when it fails, the page is rendered and the failure logged.
    fn cached_render(&self, exchange: &Exchange, name: &PageName, revision: &Revision) -> String {
        if !self.settings.render_cache {
            return self.render_markdown(exchange, name, &revision.text);
        }
        let variant = render_variant(exchange, &self.settings.markup);
        let ticket = match self
            .storage
            .cached_html(name.as_str(), revision.rev, &variant)
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

    pub(super) fn render_markdown(
        &self,
        exchange: &Exchange,
        name: &PageName,
        text: &str,
    ) -> String {
        let links = StoredLinks {
            urls: &exchange.urls,
            storage: &self.storage,
        };
        match markup::render_with(text, name.as_str(), &links, &self.settings.markup) {
            Ok(rendered) => rendered.html,
            // The options carry no size limit (saves enforce one), so this
            // cannot happen; an empty body beats a panic if it ever does.
            Err(err) => {
                tracing::error!(error = %err, page = %name, "rendering refused a page");
                String::new()
            }
        }
    }

    /// Renders a template into an HTML response.
    pub(super) fn html(
        &self,
        status: StatusCode,
        template: &str,
        context: impl Serialize,
    ) -> Result<Response, WikiError> {
        let body = self.themes.render(template, context)?;
        let mut response = typed_response(body, "text/html; charset=utf-8");
        *response.status_mut() = status;
        Ok(response)
    }

    /// The themed page for an error; if the theme itself fails, a plain one.
    pub(super) fn error_page(&self, exchange: &Exchange, err: WikiError) -> Response {
        let err = err.into_http();
        let status = err.status();
        let view = ErrorView {
            layout: self.layout(exchange, &status.to_string(), None),
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or("Error").to_owned(),
            message: err.message().to_owned(),
        };
        let cause = err.cause().cloned();
        match self.html(status, "error.html", view) {
            Ok(mut response) => {
                if let Some(cause) = cause {
                    response.extensions_mut().insert(cause);
                }
                response
            }
            Err(theme_err) => {
                let mut response = gateway::IntoResponse::into_response(err);
                response
                    .extensions_mut()
                    .insert(ErrorReport::new(theme_err));
                response
            }
        }
    }

    pub(super) fn method_not_allowed(&self, exchange: &Exchange, allow: &'static str) -> Response {
        let mut response = self.error_page(exchange, HttpError::method_not_allowed().into());
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        response
    }
}

/// What cached HTML depends on besides the revision and which linked pages exist: the build that
/// rendered it (a new quire may render differently), the mount prefix its URLs start with, and the
/// dialect (an interwiki prefix added in quire.toml turns text into a link). Every part is the same in
/// every process of one build, as the cache is shared by all of them (CGI runs one per request).
fn render_variant(exchange: &Exchange, options: &markup::RenderOptions) -> String {
    format!(
        "quire {} mount {} markup {}",
        build_identity(),
        exchange.request.mount(),
        options.fingerprint()
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

/// `?rev=N`, if given; 400 if it is not a revision number.
fn requested_revision(exchange: &Exchange) -> Result<Option<u64>, WikiError> {
    let query = exchange.query()?;
    match query.get("rev").filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(value) => match value.parse::<u64>() {
            Ok(rev) if rev > 0 => Ok(Some(rev)),
            _ => Err(HttpError::bad_request(format!(
                "\u{201c}{value}\u{201d} is not a revision number."
            ))
            .into()),
        },
    }
}

/// Who an edit is attributed to: the logged-in account, else the client's address (anonymous edits
/// are turned away before any controller runs when `anonymous_edits` is off; see `Wiki::login_gate`).
pub(super) fn author_of(exchange: &Exchange) -> String {
    exchange.viewer.author()
}

/// 303 See Other: after a POST, the browser GETs the page.
pub(super) fn redirect_see_other(location: &str) -> Response {
    let mut response = Response::new(gateway::ResponseBody::empty());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
