//! Editing a page: the editor (`GET /+edit/{Page}`), preview, and the save (`POST`), which never
//! overwrites: a save based on an old revision is merged three-way with what was saved meanwhile
//! (`super::merge`), and a conflict comes back as the editor with every text kept.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::{Revision, Save, SaveOutcome};

use crate::wiki::history::diff_rows::{diff, DiffLine, DiffOptions};
use crate::wiki::pages::merge::{three_way, Merged};
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::respond::redirect_see_other;
use crate::wiki::plumbing::routes::Route;
use crate::wiki::{Exchange, Wiki, WikiError};

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

impl Wiki {
    pub(crate) fn edit_form(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let current = self.storage.current(name.as_str())?;
        let view = EditView {
            layout: self.layout(exchange, &format!("Editing {name}"), Some(name)),
            is_new: current.is_none(),
            base_rev: current.as_ref().map(|revision| revision.meta.rev),
            text: current.map(|revision| revision.text).unwrap_or_default(),
            comment: String::new(),
            preview_html: None,
            notice: None,
            conflict_text: None,
            own_text: None,
            their_changes: None,
            form_url: exchange.urls.to(&Route::Edit(name.clone())),
        };
        self.html(StatusCode::OK, "edit.html", view)
    }

    pub(crate) fn save_page(
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
                        current.meta.rev, current.meta.author
                    );
                    let base_rev = Some(current.meta.rev);
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
            let label = format!("revision {} by {}", current.meta.rev, current.meta.author);
            match three_way(&base_text, &mine, &current.text, &label) {
                Merged::Clean(merged) => {
                    match self.store(exchange, name, &merged, &comment, Some(current.meta.rev))? {
                        SaveOutcome::Saved { rev } | SaveOutcome::Unchanged { rev } => {
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
                    let base_rev = Some(current.meta.rev);
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
    pub(crate) fn store(
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
        let links = markup::wiki_links_with(text, name.as_str(), &self.markup);
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

    #[allow(clippy::too_many_arguments)]
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
            form_url: exchange.urls.to(&Route::Edit(name.clone())),
        };
        self.html(status, "edit.html", view)
    }
}

/// Who an edit is attributed to: the logged-in account, else the client's address (anonymous edits
/// are turned away before any controller runs when `anonymous_edits` is off; see `Wiki::login_gate`).
pub(crate) fn author_of(exchange: &Exchange) -> String {
    exchange.viewer.author()
}
