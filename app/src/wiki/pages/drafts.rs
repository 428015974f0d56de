//! Drafts: the editor's unsaved text kept on the server for logged-in accounts
//! (`POST /+draft/{Page}`), and offered back when the editor opens again (`super::edit`).
//!
//! `quire.js` posts the editor's form here a few seconds after each change, and once more as the
//! page goes away; anonymous editors keep theirs in the browser's `localStorage` instead, as an
//! address is no account to keep a draft for. The route needs what the editor needs (reading and
//! writing the page, checked in dispatch), the session's CSRF token (every POST), and an account;
//! then, before any work, a rate slot ([`DRAFTS_PER_MINUTE`] an account), and the body bounds of a
//! save (`max_body_bytes` for the form, `max_page_bytes` for the text: the editor's own parser).
//! The answer is a few bytes of JSON (`{"draft":"kept"}`), `private` like every answer, and
//! `no-store`. A form post without the script (the offer's Discard button) is answered with the
//! editor again.
//!
//! Storage keeps a draft until the account saves the page (in the save's own transaction), writes
//! the page's text, or 30 days pass (`storage::drafts`).

use gateway::HttpError;
use http::{header, HeaderValue, StatusCode};
use serde::Serialize;
use storage::{DraftOutcome, NewDraft, RateLimit, RateOutcome};

use crate::wiki::pages::edit::EditForm;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::respond::{redirect_see_other, typed_response, wants_json};
use crate::wiki::plumbing::routes::Route;
use crate::wiki::{Exchange, Wiki, WikiError};
use gateway::Response;

/// How many drafts an account may send a minute: the script sends one every few seconds at most
/// while its editor is typed in, so this leaves room for two editors open at once and no more.
pub(crate) const DRAFTS_PER_MINUTE: u64 = 40;

/// The rate limit's kind in storage's rate rows.
const RATE_KIND: &str = "draft";

/// What a draft post answers the script.
#[derive(Serialize)]
struct Answer {
    /// `kept`, `unneeded` (the text is the page's), `superseded` (a save of the account's came
    /// first), `discarded`, or `limited` (a 429).
    draft: &'static str,
}

impl Wiki {
    /// `POST /+draft/{Page}`: keeps the logged-in viewer's draft of `name`, or discards it
    /// (`action=discard`).
    pub(crate) fn save_draft(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let Some(account) = exchange.viewer.id else {
            return Err(HttpError::new(
                StatusCode::FORBIDDEN,
                "Drafts are kept on the server for logged-in accounts only; your browser keeps yours.",
            )
            .into());
        };
        let limit = RateLimit {
            kind: RATE_KIND,
            key: &account.to_string(),
            max: DRAFTS_PER_MINUTE,
            window_secs: 60,
            time: None,
        };
        if let RateOutcome::Limited { retry_after } = self.storage.take_rate_slot(&limit)? {
            tracing::warn!(account, "drafts rate limited");
            let mut response = answer(StatusCode::TOO_MANY_REQUESTS, "limited")?;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            return Ok(response);
        }
        let body = exchange.request.body_mut().read_to_vec()?;
        let form = gateway::form::Form::parse(&body)?;
        let outcome = if form.get("action") == Some("discard") {
            self.storage.delete_draft(account, name.as_str())?;
            "discarded"
        } else {
            let draft = EditForm::from_form(&form, self.settings.max_page_bytes)?;
            let outcome = self.storage.save_draft(&NewDraft {
                account,
                page: name.as_str(),
                base_rev: draft.base_rev,
                comment: &draft.comment,
                text: &draft.text,
                time: None,
            })?;
            match outcome {
                DraftOutcome::Kept => "kept",
                DraftOutcome::Unneeded => "unneeded",
                DraftOutcome::Superseded => "superseded",
            }
        };
        if !wants_json(&exchange.request) {
            // The offer's Discard button, sent without the script: back to the editor.
            let editor = exchange.urls.to(&Route::Edit(name.clone()));
            return Ok(redirect_see_other(&editor));
        }
        answer(StatusCode::OK, outcome)
    }
}

/// The script's answer: `{"draft": outcome}`, not to be stored anywhere.
fn answer(status: StatusCode, outcome: &'static str) -> Result<Response, WikiError> {
    let body = serde_json::to_vec(&Answer { draft: outcome }).map_err(HttpError::internal)?;
    let mut response = typed_response(body, "application/json");
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
