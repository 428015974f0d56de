//! Editing a page: the editor (`GET /+edit/{Page}`), preview, and the save (`POST`), which never
//! overwrites: a save based on an old revision is merged three-way with what was saved meanwhile
//! (`super::merge`), and a conflict comes back as the editor with every text kept. Text over a render
//! bound (`super::render`) is neither previewed nor saved: the editor comes back with it, and a 422.

use gateway::{ErrorReport, HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::{AuditKind, Revision, Save, SaveOutcome};

use crate::wiki::history::diff_rows::{diff, DiffLine, DiffOptions};
use crate::wiki::metrics::Event;
use crate::wiki::pages::merge::{three_way, Merged};
use crate::wiki::pages::render::Unrendered;
use crate::wiki::pages::spam::Refusal;
use crate::wiki::plumbing::error::Unsaved;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::{Outgoing, PageName};
use crate::wiki::plumbing::params::comment_param;
use crate::wiki::plumbing::respond::redirect_see_other;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::{Exchange, Wiki, WikiError};

/// What the editor says when a save came without a good CSRF token: most often the session ended
/// while the editor was open.
const SESSION_EXPIRED: &str = "Your session expired, so this was not saved. Your text is kept below: save again (log in first to save it under your name).";

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

/// What the editor's form sends: the text, the comment, the revision the editor started from, and
/// whether to save or preview. Checked here, before anything is rendered or stored.
#[derive(Clone)]
struct EditForm {
    /// With CRLF line ends made LF, so diffs stay clean.
    text: String,
    comment: String,
    /// `None` for a new page.
    base_rev: Option<u64>,
    preview: bool,
    /// Whether the hidden field only robots fill in (`crate::spam::HONEYPOT_FIELD`) was.
    honeypot: bool,
}

/// What [`Wiki::check_and_store`] did with a text.
pub(crate) enum Checked {
    /// It passed every check and went to storage, which says what became of it.
    Stored(SaveOutcome),
    /// The anti-spam rules refused it (422 or 429).
    Refused(Refusal),
    /// It was not rendered, so not saved (over a bound, or the server busy).
    Unrendered(Unrendered),
}

/// The editor shown again, with the text as it was sent and what to show beside it.
enum Beside {
    /// Nothing: a fresh editor.
    Nothing,
    /// The rendered preview of the text.
    Preview(String),
    /// Someone else's save that met this one (a 409).
    Conflict(ConflictShown),
    /// A save the anti-spam rules refused (422 or 429).
    Refused(Refusal),
    /// The text was not rendered, so neither previewed nor saved (a 422, or a 503 when the server is busy).
    Unrendered(Unrendered),
    /// A save sent without a good CSRF token, its session having expired mid-edit: nothing saved,
    /// the text kept to be saved again (a 403).
    SessionExpired,
    /// A save the database refused for reasons outside the request (a full disk: 507; busy or
    /// unwritable: 503 with `Retry-After`): nothing saved, the text kept, the cause logged.
    Unsaved(Unsaved),
}

impl EditForm {
    fn read(exchange: &mut Exchange, max_page_bytes: usize) -> Result<EditForm, WikiError> {
        let body = exchange.request.body_mut().read_to_vec()?;
        EditForm::parse(&body, max_page_bytes)
    }

    fn parse(body: &[u8], max_page_bytes: usize) -> Result<EditForm, WikiError> {
        let form = gateway::form::Form::parse(body)?;
        let text = form.get("text").ok_or_else(|| {
            HttpError::bad_request("The form has no page text (field \u{201c}text\u{201d}).")
        })?;
        let text = text.replace("\r\n", "\n");
        let comment = comment_param(&form)?;
        let base_rev = match form.get("base_rev").filter(|value| !value.is_empty()) {
            None => None,
            Some(value) => Some(value.parse::<u64>().map_err(|_| {
                HttpError::bad_request("The form's base revision is not a number.")
            })?),
        };
        if text.len() > max_page_bytes {
            return Err(HttpError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "The page text is {} bytes; this wiki accepts pages of up to {max_page_bytes} bytes (max_page_bytes in quire.toml).",
                    text.len(),
                ),
            )
            .into());
        }
        let preview = match form.get("action").unwrap_or("save") {
            "save" => false,
            "preview" => true,
            action => {
                return Err(HttpError::bad_request(format!(
                    "Unknown form action \u{201c}{action}\u{201d}."
                ))
                .into())
            }
        };
        let honeypot = form
            .get(crate::spam::HONEYPOT_FIELD)
            .is_some_and(|value| !value.is_empty());
        Ok(EditForm {
            text,
            comment,
            base_rev,
            preview,
            honeypot,
        })
    }
}

impl Wiki {
    pub(crate) fn edit_form(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let current = self.storage.current(name.as_str())?;
        let form = EditForm {
            base_rev: current.as_ref().map(|revision| revision.meta.rev),
            text: current.map(|revision| revision.text).unwrap_or_default(),
            comment: String::new(),
            preview: false,
            honeypot: false,
        };
        self.edit_again(exchange, name, form, Beside::Nothing)
    }

    pub(crate) fn save_page(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let form = EditForm::read(exchange, self.settings.max_page_bytes)?;
        // Any write on the way (the save, a merge's save, the anti-spam counters) may meet a full
        // disk or a lock: the text must come back either way.
        let kept = form.clone();
        self.save_form(exchange, name, form)
            .or_else(|err| self.unsaved(exchange, name, kept, err))
    }

    /// [`Wiki::save_page`] once the form is read.
    fn save_form(
        &self,
        exchange: &Exchange,
        name: &PageName,
        form: EditForm,
    ) -> Result<Response, WikiError> {
        if form.preview {
            // The permit is held until the editor page around the preview is built.
            let (beside, _permit) = match self.render_unsaved(exchange, name, &form.text) {
                Ok((html, permit)) => (Beside::Preview(html), Some(permit)),
                Err(unrendered) => (Beside::Unrendered(unrendered), None),
            };
            return self.edit_again(exchange, name, form, beside);
        }
        let checked = self.check_and_store(
            exchange,
            name,
            &form.text,
            &form.comment,
            form.base_rev,
            form.honeypot,
        )?;
        let outcome = match checked {
            Checked::Stored(outcome) => outcome,
            Checked::Refused(refusal) => {
                return self.edit_again(exchange, name, form, Beside::Refused(refusal))
            }
            Checked::Unrendered(unrendered) => {
                return self.edit_again(exchange, name, form, Beside::Unrendered(unrendered))
            }
        };
        match outcome {
            SaveOutcome::Saved { .. } => Ok(redirect_see_other(&exchange.urls.page(name))),
            SaveOutcome::Unchanged { .. } => Ok(redirect_see_other(&exchange.urls.page(name))),
            SaveOutcome::Conflict { current } => {
                self.merge_or_conflict(exchange, name, form, current)
            }
        }
    }

    /// The checks every save of a text passes, then the save: not empty; who sends it, which costs
    /// nothing; the render, which a saved page must pass as a preview does (text over a bound is
    /// refused here); what the text adds; then [`Wiki::store`]. The editor's save and the API's
    /// PUT both come through here, so they refuse and store alike.
    pub(crate) fn check_and_store(
        &self,
        exchange: &Exchange,
        name: &PageName,
        text: &str,
        comment: &str,
        base_rev: Option<u64>,
        honeypot: bool,
    ) -> Result<Checked, WikiError> {
        if text.trim().is_empty() {
            return Err(HttpError::bad_request(
                "A page cannot be saved empty. Write something, or leave the page as it is.",
            )
            .into());
        }
        if let Some(refusal) = self.judge_save_sender(exchange, honeypot)? {
            return Ok(Checked::Refused(refusal));
        }
        let html = match self.render_unsaved(exchange, name, text) {
            Ok((html, _permit)) => html,
            Err(unrendered) => return Ok(Checked::Unrendered(unrendered)),
        };
        if let Some(refusal) = self.judge_save_text(exchange, name, text, &html)? {
            return Ok(Checked::Refused(refusal));
        }
        Ok(Checked::Stored(
            self.store(exchange, name, text, comment, base_rev)?,
        ))
    }

    /// The text a stale save based on `base_rev` is merged from: empty for a page created meanwhile
    /// (`None`), else that revision's text. `None` when there is nothing to merge against: a base
    /// that never existed (a forged form), or one the viewer may not read, since merging shows what
    /// changed since, and only a reader of the page's past gets that.
    pub(crate) fn merge_base(
        &self,
        exchange: &Exchange,
        name: &PageName,
        base_rev: Option<u64>,
    ) -> Result<Option<String>, WikiError> {
        let Some(rev) = base_rev else {
            return Ok(Some(String::new()));
        };
        if !self
            .access(&exchange.viewer)?
            .can_read_history(name.as_str())
        {
            return Ok(None);
        }
        Ok(self
            .storage
            .revision(name.as_str(), rev)?
            .map(|base| base.text))
    }

    /// A save whose base is stale: merges it with what was saved meanwhile. A clean merge is saved
    /// and the page says so; a conflicting one comes back as the editor (409) with the merged text
    /// and its conflict markers, the other change beside it, and the user's own text kept.
    fn merge_or_conflict(
        &self,
        exchange: &Exchange,
        name: &PageName,
        mine: EditForm,
        mut current: Revision,
    ) -> Result<Response, WikiError> {
        // Anyone who may not read the base gets the conflict with both texts, as for a base that
        // never existed.
        let base_text = match self.merge_base(exchange, name, mine.base_rev)? {
            Some(base) => base,
            None => {
                let notice = format!(
                        "This page is at revision {} by {}, not the one your editor started from. Nothing was saved: your text is kept below, and the current text is shown beside it.",
                        current.meta.rev, current.meta.author
                    );
                let again = EditForm {
                    base_rev: Some(current.meta.rev),
                    ..mine
                };
                let conflict = ConflictShown {
                    notice,
                    their_text: current.text,
                    own_text: None,
                    their_changes: None,
                };
                self.metrics.count(Event::Conflict);
                return self.edit_again(exchange, name, again, Beside::Conflict(conflict));
            }
        };
        // Someone may save again between our merge and our save: merge again, a few times.
        for _ in 0..3 {
            let label = format!("revision {} by {}", current.meta.rev, current.meta.author);
            match three_way(&base_text, &mine.text, &current.text, &label) {
                Merged::Clean(merged) => {
                    let base = Some(current.meta.rev);
                    match self.store(exchange, name, &merged, &mine.comment, base)? {
                        SaveOutcome::Saved { rev } | SaveOutcome::Unchanged { rev } => {
                            self.metrics.count(Event::Merge);
                            let url = exchange.urls.page_merged(name, rev);
                            return Ok(redirect_see_other(&url));
                        }
                        SaveOutcome::Conflict { current: newer } => current = newer,
                    }
                }
                Merged::Conflicts { text, count } => {
                    let notice = format!(
                        "{} saved this page (revision {}) while you were editing, and {count} of your changes touch the same lines. Nothing was saved yet. The text below holds both versions between <<<<<<< and >>>>>>> markers: keep what should stay, remove the markers, and save. Your own text and their change are shown too.",
                        current.meta.author, current.meta.rev
                    );
                    let their_changes =
                        diff(&base_text, &current.text, &DiffOptions::default()).lines;
                    let again = EditForm {
                        text,
                        comment: mine.comment,
                        base_rev: Some(current.meta.rev),
                        preview: false,
                        honeypot: false,
                    };
                    let conflict = ConflictShown {
                        notice,
                        their_text: current.text,
                        own_text: Some(mine.text),
                        their_changes: Some(their_changes),
                    };
                    self.metrics.count(Event::Conflict);
                    return self.edit_again(exchange, name, again, Beside::Conflict(conflict));
                }
            }
        }
        Err(HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "This page is being saved by others again and again; your text could not be merged in. Go back, copy your text, and try again in a moment.",
        )
        .into())
    }

    /// The editor for a save the CSRF check refused (`gateway::middleware::CsrfRefused`): the form's
    /// text, comment and base kept, nothing saved, and a notice to save again. Only drawn, from the
    /// refused form's bytes; the save itself never ran.
    pub(crate) fn edit_after_refusal(
        &self,
        exchange: &Exchange,
        name: &PageName,
        form: &[u8],
    ) -> Result<Response, WikiError> {
        let form = EditForm::parse(form, self.settings.max_page_bytes)?;
        self.edit_again(exchange, name, form, Beside::SessionExpired)
    }

    /// A save that failed: the editor with the user's text when the database refused the write for
    /// reasons outside the request (see [`Beside::Unsaved`]), any other failure as it is.
    fn unsaved(
        &self,
        exchange: &Exchange,
        name: &PageName,
        form: EditForm,
        err: WikiError,
    ) -> Result<Response, WikiError> {
        match err {
            WikiError::Storage(storage) => match storage.write_refusal() {
                Some(refusal) => {
                    // Logged here, not through the response: debug mode would replace the
                    // editor, and with it the user's text, by the error's details.
                    let cause = ErrorReport::new(storage);
                    tracing::error!(page = %name, error = %cause, "a save could not be stored; the editor keeps the text");
                    self.edit_again(exchange, name, form, Beside::Unsaved(refusal.into()))
                }
                None => Err(WikiError::Storage(storage)),
            },
            other => Err(other),
        }
    }

    /// Saves `text` as a new revision with its outgoing links, attributed to the requester; wakes the
    /// search indexer after a save. The one write path of edits, reverts and merges.
    pub(crate) fn store(
        &self,
        exchange: &Exchange,
        name: &PageName,
        text: &str,
        comment: &str,
        base_rev: Option<u64>,
    ) -> Result<SaveOutcome, WikiError> {
        let acl_changed = self.check_acl_change(&exchange.viewer, name, text)?;
        let author = author_of(exchange);
        let outgoing = Outgoing::of(text, name.as_str(), &self.markup);
        let outcome = self.storage.save_with_links_and_files(
            Save {
                page: name.as_str(),
                text,
                author: &author,
                comment,
                base_rev,
                time: None,
            },
            &outgoing.pages(),
            &outgoing.files(),
        )?;
        if let SaveOutcome::Saved { rev } = outcome {
            // Wakes the indexer (or, in CGI, catches up now); never fails the save.
            self.indexer.saved();
            self.metrics.count(Event::Save);
            if acl_changed {
                let detail = self.acl_audit_detail(name, rev, text);
                self.audit(&exchange.viewer, AuditKind::Acl, name.as_str(), &detail);
            }
        }
        Ok(outcome)
    }

    /// The editor holding `form`'s text, comment and base, with `beside` next to it: the fresh
    /// editor, a preview (200), a save that met someone else's (409), or text that was not rendered
    /// (422 or 413 over a render bound, 503 with `Retry-After` when every render permit is taken).
    fn edit_again(
        &self,
        exchange: &Exchange,
        name: &PageName,
        form: EditForm,
        beside: Beside,
    ) -> Result<Response, WikiError> {
        let mut view = EditView {
            layout: self.layout(exchange, &format!("Editing {name}"), Some(name)),
            is_new: form.base_rev.is_none(),
            text: form.text,
            base_rev: form.base_rev,
            comment: form.comment,
            preview_html: None,
            notice: None,
            conflict_text: None,
            own_text: None,
            their_changes: None,
            form_url: exchange.urls.to(&Route::Edit(name.clone())),
        };
        let mut refused = None;
        let mut retry_after = None;
        let status = match beside {
            Beside::Nothing => StatusCode::OK,
            Beside::Preview(html) => {
                view.preview_html = Some(html);
                StatusCode::OK
            }
            Beside::Conflict(shown) => {
                view.notice = Some(shown.notice);
                view.conflict_text = Some(shown.their_text);
                view.own_text = shown.own_text;
                view.their_changes = shown.their_changes;
                StatusCode::CONFLICT
            }
            Beside::SessionExpired => {
                view.notice = Some(SESSION_EXPIRED.to_owned());
                StatusCode::FORBIDDEN
            }
            Beside::Unsaved(unsaved) => {
                view.notice = Some(unsaved.message("Your text is kept below: save it again"));
                retry_after = unsaved.retry_after();
                unsaved.status()
            }
            Beside::Refused(refusal) => {
                view.notice = Some(refusal.message("saved"));
                let status = refusal.status();
                refused = Some(refusal);
                status
            }
            Beside::Unrendered(Unrendered::OverBound(err)) => {
                view.notice = Some(format!(
                    "This text is too large to render: {err}. Nothing was saved; your text is kept below. Split it into smaller pages, or make its tables smaller."
                ));
                match err {
                    markup::MarkupError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    markup::MarkupError::TooManyMarks { .. }
                    | markup::MarkupError::TooManyEvents { .. }
                    | markup::MarkupError::TooManyTableCells { .. }
                    | markup::MarkupError::OutputTooLarge { .. } => {
                        StatusCode::UNPROCESSABLE_ENTITY
                    }
                }
            }
            Beside::Unrendered(Unrendered::Busy { retry_after: wait }) => {
                view.notice = Some(format!(
                    "The wiki is busy rendering other pages. Nothing was saved; your text is kept below. Try again in {} seconds.",
                    wait.as_secs()
                ));
                retry_after = Some(wait.as_secs());
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        let mut response = self.html(status, "edit.html", view)?;
        if let Some(refusal) = refused {
            refusal.mark(&mut response);
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
        Ok(response)
    }
}

/// Who an edit is attributed to: the logged-in account, else the client's address (anonymous edits
/// are turned away before any controller runs when `anonymous_edits` is off; see `Wiki::login_gate`).
pub(crate) fn author_of(exchange: &Exchange) -> String {
    exchange.viewer.author()
}
