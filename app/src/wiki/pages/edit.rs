//! Editing a page: the editor (`GET /+edit/{Page}`), preview, and the save (`POST`), which never
//! overwrites: a save based on an old revision is merged three-way with what was saved meanwhile
//! (`super::merge`), and a conflict comes back as the editor with every text kept. Text over a render
//! bound (`super::render`) is neither previewed nor saved: the editor comes back with it, and a 422.
//!
//! A logged-in account's editor autosaves a draft (`super::drafts`). Opening the editor again with a
//! draft whose text is not the page's offers it above the form: when it was written, a diff from the
//! page's text to it, a Restore button (a GET of the editor with `?draft=restore`, which fills the
//! form from the draft, its base revision included, so that saving a draft written before someone
//! else's save merges three-way rather than overwrite) and a Discard button (a POST to the draft
//! route). Both are plain forms, so the offer works without JavaScript; without it no draft is ever
//! written, so the editor is as it was.
//!
//! `?section=N` edits one section (`markup::section_range`): the editor holds that section alone and
//! sends its number back in a hidden field. Its preview is the section's; its save splices the section
//! into the revision the editor started from, and from there the whole text takes the one save path,
//! so a page saved meanwhile is merged three-way on the whole text, and a conflict comes back as the
//! whole page's editor. A section that is not there (the page changed before the editor opened, or a
//! forged number) opens the whole page's editor instead, and on a save keeps the section's text beside it.
//!
//! A new page's editor offers the templates (`super::templates`), and `?template=Name` starts it with one.

use gateway::{ErrorReport, HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::{AuditKind, Revision, Save, SaveOutcome};

use crate::wiki::history::diff_rows::{diff, DiffLine, DiffOptions};
use crate::wiki::metrics::Event;
use crate::wiki::pages::merge::{three_way, Merged};
use crate::wiki::pages::render::Unrendered;
use crate::wiki::pages::spam::Refusal;
use crate::wiki::pages::templates::TemplateLink;
use crate::wiki::plumbing::error::Unsaved;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::{Outgoing, PageName};
use crate::wiki::plumbing::params::{comment_param, filter_param};
use crate::wiki::plumbing::respond::redirect_see_other;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::{Exchange, Wiki, WikiError};

/// What the editor says when a save came without a good CSRF token: most often the session ended
/// while the editor was open.
const SESSION_EXPIRED: &str = "Your session expired, so this was not saved. Your text is kept below: save again (log in first to save it under your name).";

/// What the editor says above a draft restored into it.
const DRAFT_RESTORED: &str = "Your draft is restored below. It is not saved yet: save it, or cancel to leave the page as it is.";

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
    /// Where the script posts drafts: set for logged-in accounts only.
    draft_url: Option<String>,
    /// The account's draft, offered to restore.
    draft: Option<DraftOffer>,
    /// Whether this is the editor as opened, with the page's text: the script may offer a draft
    /// the browser kept (anonymous editors).
    fresh: bool,
    /// The section edited alone (sent back in the hidden field `section`); `None`: the whole page.
    section: Option<usize>,
    /// When editing a section: the editor of the whole page.
    whole_url: Option<String>,
    /// For a new page's fresh editor: the templates it may start from.
    templates: Vec<TemplateLink>,
    /// A section's save found its section gone: the form holds the whole page, and `own_text` the
    /// section's text (not a merge's input, as after a conflict).
    section_lost: bool,
}

/// A draft the editor offers to restore.
#[derive(Serialize)]
struct DraftOffer {
    /// When it was last written, unix seconds.
    updated: i64,
    /// The revision it was written on, when the page has moved on since (`None`: it is the
    /// current one, or the draft was creating the page).
    older_base: Option<u64>,
    /// From the page's text to the draft's.
    changes: Vec<DiffLine>,
    /// The Discard button's form.
    discard_url: String,
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
pub(super) struct EditForm {
    /// With CRLF line ends made LF, so diffs stay clean.
    pub(super) text: String,
    pub(super) comment: String,
    /// `None` for a new page.
    pub(super) base_rev: Option<u64>,
    preview: bool,
    /// Whether the hidden field only robots fill in (`crate::spam::HONEYPOT_FIELD`) was.
    honeypot: bool,
    /// The section `text` is, when one section is edited alone.
    section: Option<usize>,
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
    /// A fresh editor, and the account's draft offered above it.
    DraftOffered(DraftOffer),
    /// The account's draft restored into the form (`?draft=restore`).
    DraftRestored,
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
    /// The section asked for is not there, so the whole page is edited: when opening the editor
    /// (200), or when saving (409), with the section's text kept beside the page's.
    NoSection {
        number: usize,
        own_text: Option<String>,
    },
    /// `?template=` named no page the viewer may read: a fresh, empty editor (404).
    NoTemplate(String),
}

impl EditForm {
    /// The form of an editor just opened on `text`, based on `base_rev` (`None`: a new page).
    fn opened(base_rev: Option<u64>, text: String) -> EditForm {
        EditForm {
            text,
            comment: String::new(),
            base_rev,
            preview: false,
            honeypot: false,
            section: None,
        }
    }

    fn read(exchange: &mut Exchange, max_page_bytes: usize) -> Result<EditForm, WikiError> {
        let body = exchange.request.body_mut().read_to_vec()?;
        EditForm::parse(&body, max_page_bytes)
    }

    fn parse(body: &[u8], max_page_bytes: usize) -> Result<EditForm, WikiError> {
        EditForm::from_form(&gateway::form::Form::parse(body)?, max_page_bytes)
    }

    /// The editor's fields from a parsed form: a save's, a preview's, or a draft's
    /// (`super::drafts`, bounded as a save is).
    pub(super) fn from_form(
        form: &gateway::form::Form,
        max_page_bytes: usize,
    ) -> Result<EditForm, WikiError> {
        let text = form.get("text").ok_or_else(|| {
            HttpError::bad_request("The form has no page text (field \u{201c}text\u{201d}).")
        })?;
        let text = text.replace("\r\n", "\n");
        let comment = comment_param(form)?;
        let section = section_number(form.get("section"))?;
        let base_rev = match form.get("base_rev").filter(|value| !value.is_empty()) {
            None => None,
            Some(value) => Some(value.parse::<u64>().map_err(|_| {
                HttpError::bad_request("The form's base revision is not a number.")
            })?),
        };
        check_size(&text, max_page_bytes)?;
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
            section,
        })
    }
}

/// 413 for page text over `max_page_bytes`.
fn check_size(text: &str, max_page_bytes: usize) -> Result<(), WikiError> {
    if text.len() <= max_page_bytes {
        return Ok(());
    }
    Err(HttpError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "The page text is {} bytes; this wiki accepts pages of up to {max_page_bytes} bytes (max_page_bytes in quire.toml).",
            text.len(),
        ),
    )
    .into())
}

/// A section number (`?section=N` or the form's hidden field), if given; 400 if it is not one.
fn section_number(value: Option<&str>) -> Result<Option<usize>, WikiError> {
    match value.filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(value) => value.parse::<usize>().map(Some).map_err(|_| {
            HttpError::bad_request(format!(
                "\u{201c}section\u{201d} must be a section number, not \u{201c}{value}\u{201d}."
            ))
            .into()
        }),
    }
}

impl Wiki {
    pub(crate) fn edit_form(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let query = exchange.query()?;
        let section = section_number(query.get("section"))?;
        let Some(current) = self.storage.current(name.as_str())? else {
            let template = filter_param(query.get("template"), "template")?;
            return self.new_page_form(exchange, name, template);
        };
        let mut form = EditForm::opened(Some(current.meta.rev), current.text);
        let Some(number) = section else {
            return self.whole_page_form(exchange, name, form);
        };
        let Some(range) = markup::section_range(&form.text, number, &self.markup) else {
            let beside = Beside::NoSection {
                number,
                own_text: None,
            };
            return self.edit_again(exchange, name, form, beside);
        };
        form.text = form.text[range].to_owned();
        form.section = Some(number);
        self.edit_again(exchange, name, form, Beside::Nothing)
    }

    /// The editor of the whole page, as opened: with the account's draft offered above it when
    /// there is one whose text is not the form's, or restored into it (`?draft=restore`).
    fn whole_page_form(
        &self,
        exchange: &Exchange,
        name: &PageName,
        form: EditForm,
    ) -> Result<Response, WikiError> {
        let draft = match exchange.viewer.id {
            Some(account) => self.storage.draft(account, name.as_str(), None)?,
            None => None,
        };
        let Some(draft) = draft.filter(|draft| draft.text != form.text) else {
            return self.edit_again(exchange, name, form, Beside::Nothing);
        };
        if exchange.query()?.get("draft") == Some("restore") {
            let restored = EditForm {
                text: draft.text,
                comment: draft.comment,
                base_rev: draft.base_rev,
                ..form
            };
            return self.edit_again(exchange, name, restored, Beside::DraftRestored);
        }
        let offer = DraftOffer {
            updated: draft.updated,
            older_base: draft.base_rev.filter(|&base| Some(base) != form.base_rev),
            changes: diff(&form.text, &draft.text, &DiffOptions::default()).lines,
            discard_url: exchange.urls.to(&Route::Draft(name.clone())),
        };
        self.edit_again(exchange, name, form, Beside::DraftOffered(offer))
    }

    /// The editor of a page that does not exist: empty, or with the text of the page `template`.
    fn new_page_form(
        &self,
        exchange: &Exchange,
        name: &PageName,
        template: Option<String>,
    ) -> Result<Response, WikiError> {
        let mut form = EditForm::opened(None, String::new());
        let Some(template) = template else {
            return self.whole_page_form(exchange, name, form);
        };
        match self.template_text(exchange, &template, name)? {
            Some(text) => {
                form.text = text;
                self.edit_again(exchange, name, form, Beside::Nothing)
            }
            None => self.edit_again(exchange, name, form, Beside::NoTemplate(template)),
        }
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

    /// A save that failed before it began (the ACL check could not read the database): the editor
    /// with the user's text when the failure is one the database's refusals cover, as
    /// [`Wiki::save_page`] answers; any other failure, or a form that cannot be read, as it is.
    pub(crate) fn keep_text_after(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
        err: WikiError,
    ) -> Result<Response, WikiError> {
        match EditForm::read(exchange, self.settings.max_page_bytes) {
            Ok(form) => self.unsaved(exchange, name, form, err),
            Err(_) => Err(err),
        }
    }

    /// [`Wiki::save_page`] once the form is read.
    fn save_form(
        &self,
        exchange: &Exchange,
        name: &PageName,
        form: EditForm,
    ) -> Result<Response, WikiError> {
        let form = match form.section {
            Some(number) if !form.preview => {
                match self.with_section(exchange, name, &form, number)? {
                    Some(text) => {
                        check_size(&text, self.settings.max_page_bytes)?;
                        EditForm {
                            text,
                            section: None,
                            ..form
                        }
                    }
                    None => return self.section_lost(exchange, name, form, number),
                }
            }
            _ => form,
        };
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
            SaveFrom::Editor {
                honeypot: form.honeypot,
            },
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

    /// The whole text a section's save makes: the section spliced into the revision its editor
    /// started from, which the save then treats as any whole text based on that revision. A viewer
    /// who may not read the page's past, when the page moved on since, has it spliced into the
    /// current text instead: the save finds its base stale and shows the conflict with every text.
    /// `None` when there is nothing to splice into (no base, no page, no such section).
    fn with_section(
        &self,
        exchange: &Exchange,
        name: &PageName,
        form: &EditForm,
        number: usize,
    ) -> Result<Option<String>, WikiError> {
        let (Some(base_rev), Some(current)) = (form.base_rev, self.storage.current(name.as_str())?)
        else {
            return Ok(None);
        };
        let base = if current.meta.rev == base_rev {
            current.text
        } else {
            let may_read_past = self
                .access(&exchange.viewer)?
                .can_read_history(name.as_str());
            let old = if may_read_past {
                self.storage.revision(name.as_str(), base_rev)?
            } else {
                None
            };
            old.map_or(current.text, |old| old.text)
        };
        Ok(markup::replace_section(
            &base,
            number,
            &form.text,
            &self.markup,
        ))
    }

    /// A section's save that found no section to replace: nothing saved, the whole page's editor
    /// (409) with the section's text kept beside it.
    fn section_lost(
        &self,
        exchange: &Exchange,
        name: &PageName,
        form: EditForm,
        number: usize,
    ) -> Result<Response, WikiError> {
        let current = self.storage.current(name.as_str())?;
        let whole = EditForm {
            comment: form.comment,
            ..EditForm::opened(
                current.as_ref().map(|revision| revision.meta.rev),
                current.map(|revision| revision.text).unwrap_or_default(),
            )
        };
        let beside = Beside::NoSection {
            number,
            own_text: Some(form.text),
        };
        self.edit_again(exchange, name, whole, beside)
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
        from: SaveFrom,
    ) -> Result<Checked, WikiError> {
        let (honeypot, ends_draft) = match from {
            SaveFrom::Editor { honeypot } => (honeypot, EndsDraft::Yes),
            SaveFrom::Api => (false, EndsDraft::No),
        };
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
        Ok(Checked::Stored(self.store(
            exchange, name, text, comment, base_rev, ends_draft,
        )?))
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
                    match self.store(
                        exchange,
                        name,
                        &merged,
                        &mine.comment,
                        base,
                        EndsDraft::Yes,
                    )? {
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
                        section: None,
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
    /// search indexer after a save. The one write path of edits, reverts and merges. An edit ends
    /// the account's draft of the page in the save's transaction (`storage::drafts`).
    pub(crate) fn store(
        &self,
        exchange: &Exchange,
        name: &PageName,
        text: &str,
        comment: &str,
        base_rev: Option<u64>,
        ends_draft: EndsDraft,
    ) -> Result<SaveOutcome, WikiError> {
        let acl_changed = self.check_acl_change(&exchange.viewer, name, text)?;
        let author = author_of(exchange);
        let outgoing = Outgoing::of(text, name.as_str(), &self.markup);
        let save = Save {
            page: name.as_str(),
            text,
            author: &author,
            comment,
            base_rev,
            time: None,
        };
        let (links, files) = (outgoing.pages(), outgoing.files());
        let outcome = match (ends_draft, exchange.viewer.id) {
            (EndsDraft::Yes, Some(account)) => self
                .storage
                .save_with_links_files_and_draft(save, &links, &files, account)?,
            (EndsDraft::Yes, None) | (EndsDraft::No, _) => self
                .storage
                .save_with_links_and_files(save, &links, &files)?,
        };
        if let SaveOutcome::Saved { rev } = outcome {
            // Wakes the indexer (or, in CGI, catches up now); never fails the save.
            self.indexer.saved();
            self.pages_changed(exchange);
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
        let title = match form.section {
            Some(number) => format!("Editing {name}, section {number}"),
            None => format!("Editing {name}"),
        };
        // Templates are offered only where a new page starts: its fresh editor.
        let opened = matches!(
            beside,
            Beside::Nothing | Beside::NoTemplate(_) | Beside::DraftOffered(_)
        );
        let templates = if opened && form.base_rev.is_none() && form.text.is_empty() {
            self.offered_templates(exchange, name)?
        } else {
            Vec::new()
        };
        let mut view = EditView {
            layout: self.layout(exchange, &title, Some(name)),
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
            // A section's editor keeps no draft: its text is not the page's.
            draft_url: match (exchange.viewer.id, form.section) {
                (Some(_), None) => Some(exchange.urls.to(&Route::Draft(name.clone()))),
                _ => None,
            },
            draft: None,
            fresh: false,
            whole_url: form
                .section
                .map(|_| exchange.urls.to(&Route::Edit(name.clone()))),
            section: form.section,
            templates,
            section_lost: false,
        };
        let mut refused = None;
        let mut retry_after = None;
        let status = match beside {
            Beside::Nothing => {
                view.fresh = true;
                StatusCode::OK
            }
            Beside::DraftOffered(offer) => {
                view.draft = Some(offer);
                view.fresh = true;
                StatusCode::OK
            }
            Beside::DraftRestored => {
                view.notice = Some(DRAFT_RESTORED.to_owned());
                StatusCode::OK
            }
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
            Beside::NoSection {
                number,
                own_text: None,
            } => {
                view.notice = Some(format!(
                    "This page has no section {number} now (it may have changed since the link was drawn), so the whole page is below."
                ));
                StatusCode::OK
            }
            Beside::NoSection {
                number,
                own_text: Some(own_text),
            } => {
                view.notice = Some(format!(
                    "Section {number} could not be found in this page any more, so nothing was saved. The whole page is below, and the text you wrote for the section is kept beside it: copy it in where it belongs, and save."
                ));
                view.own_text = Some(own_text);
                view.section_lost = true;
                StatusCode::CONFLICT
            }
            Beside::NoTemplate(template) => {
                view.notice = Some(format!(
                    "There is no page called \u{201c}{template}\u{201d} that you may read, so the editor starts empty."
                ));
                StatusCode::NOT_FOUND
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

/// Where a save checked by [`Wiki::check_and_store`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SaveFrom {
    /// The editor's form: its honeypot field is checked, and the save ends the account's draft.
    Editor {
        /// Whether the honeypot field came filled in.
        honeypot: bool,
    },
    /// The API's PUT: no form, so no honeypot; a script's save is not the editor's, so the
    /// account's draft stays unsaved work.
    Api,
}

/// Whether a save ends the saving account's draft of the page: an edit from the editor does; a revert
/// or an API save (which do not come from the editor, whose draft is still unsaved) do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndsDraft {
    /// The editor's text is saved: its draft goes in the same transaction.
    Yes,
    /// The draft stays.
    No,
}

/// Who an edit is attributed to: the logged-in account, else the client's address (anonymous edits
/// are turned away before any controller runs when `anonymous_edits` is off; see `Wiki::login_gate`).
pub(crate) fn author_of(exchange: &Exchange) -> String {
    exchange.viewer.author()
}
