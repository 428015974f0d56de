//! `pages/{Page}`: a page read (GET) and saved (PUT), its history and its revisions.
//!
//! A PUT saves through the editor's own checks and write (`Wiki::check_and_store`), based on the
//! revision its `If-Match` names. A page that moved on since is never overwritten: the answer is a
//! 409 with the client's text, the current text and revision, and the editor's three-way merge of
//! the two (`pages::merge`), clean or with conflict markers, so nothing is lost and the client
//! saves the merge with the current revision as its `If-Match`. Only a new page is saved without
//! `If-Match` (428 otherwise).

use gateway::{HttpError, Response};
use http::{header, StatusCode};
use serde::{Deserialize, Serialize};
use storage::{ChangeKind, Revision, RevisionMeta, SaveOutcome};

use super::{json, Problem};
use crate::wiki::pages::edit::{Checked, SaveFrom};
use crate::wiki::pages::merge::{three_way, Merged};
use crate::wiki::plumbing::api_routes::ApiRoute;
use crate::wiki::plumbing::file_name::FileName;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::params::comment_text;
use crate::wiki::plumbing::routes::FileRoute;
use crate::wiki::{Exchange, Wiki, WikiError};

/// How many revisions a page of history holds, as the HTML history shows.
const REVISIONS_PER_PAGE: usize = 200;

/// A page as `GET pages/{Page}` gives it.
#[derive(Serialize)]
struct PageJson {
    name: String,
    revision: u64,
    author: String,
    /// Unix seconds.
    time: i64,
    comment: String,
    text: String,
    html: String,
    url: String,
    attachments: Vec<AttachmentJson>,
}

#[derive(Serialize)]
struct AttachmentJson {
    name: String,
    size: u64,
    version: u64,
    media_type: String,
    url: String,
}

/// One revision's facts, in a history or with its text.
#[derive(Serialize)]
struct RevisionJson {
    revision: u64,
    author: String,
    time: i64,
    comment: String,
    size: u64,
    /// `edit`, `delete`, `undelete` or `rename`.
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

#[derive(Serialize)]
struct HistoryJson {
    name: String,
    revisions: Vec<RevisionJson>,
    next: Option<String>,
}

/// What a PUT sends.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveJson {
    text: String,
    #[serde(default)]
    comment: String,
}

#[derive(Serialize)]
struct SavedJson {
    name: String,
    revision: u64,
    /// Whether a revision was added (`false`: the text was the current one).
    changed: bool,
    url: String,
}

/// The 409's extra members: every text, so nothing is lost.
#[derive(Serialize)]
struct ConflictJson {
    current_revision: u64,
    current_author: String,
    current_text: String,
    your_text: String,
    /// The three-way merge, when the base could be read.
    merge: Option<MergeJson>,
}

#[derive(Serialize)]
struct MergeJson {
    clean: bool,
    /// How many places both changed; 0 when clean.
    conflicts: usize,
    text: String,
}

pub(super) fn kind_word(kind: &ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Edit => "edit",
        ChangeKind::Delete => "delete",
        ChangeKind::Undelete => "undelete",
        ChangeKind::Rename { .. } => "rename",
    }
}

fn revision_json(meta: RevisionMeta, text: Option<String>) -> RevisionJson {
    RevisionJson {
        revision: meta.rev,
        kind: kind_word(&meta.kind),
        author: meta.author,
        time: meta.time,
        comment: meta.comment,
        size: meta.size,
        text,
    }
}

fn no_page(name: &PageName) -> WikiError {
    HttpError::not_found(format!("There is no page called {name}.")).into()
}

impl Wiki {
    /// `GET pages/{Page}`.
    pub(super) fn api_page(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let Some(current) = self.storage.current(name.as_str())? else {
            return Err(no_page(name));
        };
        // The page's HTML as readers get it: no section edit links, which are the HTML editor's.
        let html = self.cached_render(exchange, name, &current, false);
        let attachments = self
            .storage
            .attachments(name.as_str())?
            .into_iter()
            .filter_map(|attachment| {
                let version = attachment.current;
                let file = FileRoute {
                    page: name.clone(),
                    name: FileName::parse(&version.name).ok()?,
                };
                Some(AttachmentJson {
                    url: exchange.urls.api(&ApiRoute::File(file)),
                    size: version.content.as_ref().map_or(0, |content| content.size),
                    media_type: version
                        .content
                        .map(|content| content.media_type)
                        .unwrap_or_default(),
                    name: version.name,
                    version: version.version,
                })
            })
            .collect();
        let Revision { meta, text } = current;
        json(
            StatusCode::OK,
            &PageJson {
                name: name.to_string(),
                revision: meta.rev,
                author: meta.author,
                time: meta.time,
                comment: meta.comment,
                text,
                html,
                url: exchange.urls.page(name),
                attachments,
            },
        )
    }

    /// `GET pages/{Page}/history?before=N`: revisions newest first, a page at a time.
    pub(super) fn api_history(
        &self,
        exchange: &Exchange,
        name: &PageName,
    ) -> Result<Response, WikiError> {
        let before = crate::wiki::plumbing::params::revision_param(&exchange.query()?, "before")?;
        let newest = self.storage.history(name.as_str(), 1, 0)?;
        let Some(newest) = newest.first().map(|meta| meta.rev) else {
            return Err(no_page(name));
        };
        // Revisions are numbered without gaps, so the cursor is an offset from the newest.
        let offset = before.map_or(0, |before| {
            usize::try_from(newest.saturating_add(1).saturating_sub(before)).unwrap_or(usize::MAX)
        });
        let mut found = self
            .storage
            .history(name.as_str(), REVISIONS_PER_PAGE + 1, offset)?;
        let more = found.len() > REVISIONS_PER_PAGE;
        found.truncate(REVISIONS_PER_PAGE);
        let next = match (more, found.last()) {
            (true, Some(last)) => Some(exchange.urls.api_with_query(
                &ApiRoute::History(name.clone()),
                &[("before", Some(&last.rev.to_string()))],
            )),
            _ => None,
        };
        json(
            StatusCode::OK,
            &HistoryJson {
                name: name.to_string(),
                revisions: found
                    .into_iter()
                    .map(|meta| revision_json(meta, None))
                    .collect(),
                next,
            },
        )
    }

    /// `GET pages/{Page}/revisions/{n}`: one revision with its text.
    pub(super) fn api_revision(
        &self,
        _exchange: &Exchange,
        name: &PageName,
        rev: u64,
    ) -> Result<Response, WikiError> {
        let revision = self
            .storage
            .revision(name.as_str(), rev)?
            .ok_or_else(|| HttpError::not_found(format!("{name} has no revision {rev}.")))?;
        json(
            StatusCode::OK,
            &revision_json(revision.meta, Some(revision.text)),
        )
    }

    /// `PUT pages/{Page}` (see the module doc).
    pub(super) fn api_save(
        &self,
        exchange: &mut Exchange,
        name: &PageName,
    ) -> Result<Response, Problem> {
        let base = if_match(&exchange.request)?;
        let sent = read_save(exchange, self.settings.max_page_bytes)?;
        let current = self
            .storage
            .current(name.as_str())
            .map_err(WikiError::from)?;
        let base = match (base, &current) {
            (Some(rev), _) => Some(rev),
            (None, None) => None,
            (None, Some(current)) => {
                return Err(Problem::new(
                    StatusCode::PRECONDITION_REQUIRED,
                    format!(
                        "{name} exists: send If-Match with the revision your text is based on (the current one is \"{}\"), so that no one's change is overwritten.",
                        current.meta.rev
                    ),
                ))
            }
        };
        let checked = self.check_and_store(
            exchange,
            name,
            &sent.text,
            &sent.comment,
            base,
            SaveFrom::Api,
        )?;
        let outcome = match checked {
            Checked::Stored(outcome) => outcome,
            Checked::Refused(refusal) => {
                let mut problem = Problem::new(refusal.status(), refusal.message("saved"));
                if let crate::wiki::pages::spam::Refusal::RateLimited { retry_after } = refusal {
                    problem = problem.with_header(header::RETRY_AFTER, retry_after.into());
                }
                return Err(problem);
            }
            Checked::Unrendered(unrendered) => return Err(unrendered_problem(unrendered)),
        };
        let (rev, changed) = match outcome {
            SaveOutcome::Saved { rev } => (rev, true),
            SaveOutcome::Unchanged { rev } => (rev, false),
            SaveOutcome::Conflict { current } => {
                return Err(self.api_conflict(exchange, name, base, sent.text, current)?)
            }
        };
        let status = if base.is_none() {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let saved = SavedJson {
            name: name.to_string(),
            revision: rev,
            changed,
            url: exchange.urls.api(&ApiRoute::Page(name.clone())),
        };
        let mut response = json(status, &saved)?;
        if status == StatusCode::CREATED {
            if let Ok(location) = header::HeaderValue::try_from(saved.url) {
                response.headers_mut().insert(header::LOCATION, location);
            }
        }
        Ok(response)
    }

    /// The 409 of a save based on `base` that met `current`: every text, and the merge.
    fn api_conflict(
        &self,
        exchange: &Exchange,
        name: &PageName,
        base: Option<u64>,
        mine: String,
        current: Revision,
    ) -> Result<Problem, WikiError> {
        let merge = self.merge_base(exchange, name, base)?.map(|base_text| {
            let label = format!("revision {} by {}", current.meta.rev, current.meta.author);
            match three_way(&base_text, &mine, &current.text, &label) {
                Merged::Clean(text) => MergeJson {
                    clean: true,
                    conflicts: 0,
                    text,
                },
                Merged::Conflicts { text, count } => MergeJson {
                    clean: false,
                    conflicts: count,
                    text,
                },
            }
        });
        let detail = match &merge {
            Some(merge) if merge.clean => format!(
                "{name} is at revision {} by {}, not the one your text is based on. Nothing was saved. The changes merge cleanly: save merge.text with If-Match: \"{}\".",
                current.meta.rev, current.meta.author, current.meta.rev
            ),
            Some(_) => format!(
                "{name} is at revision {} by {}, and some of your changes touch the same lines. Nothing was saved. merge.text holds both versions between <<<<<<< and >>>>>>> markers: resolve them and save with If-Match: \"{}\".",
                current.meta.rev, current.meta.author, current.meta.rev
            ),
            None => format!(
                "{name} is at revision {} by {}, not the one your text is based on. Nothing was saved; your text and the current one are both here.",
                current.meta.rev, current.meta.author
            ),
        };
        let conflict = ConflictJson {
            current_revision: current.meta.rev,
            current_author: current.meta.author,
            current_text: current.text,
            your_text: mine,
            merge,
        };
        let mut problem = Problem::new(StatusCode::CONFLICT, detail);
        problem.json.kind = "tag:quire,2026:api/edit-conflict";
        problem.json.extra = Some(serde_json::to_value(conflict).map_err(HttpError::internal)?);
        Ok(problem)
    }
}

/// The revision `If-Match` names (`"3"`); `None` without the header.
fn if_match(request: &gateway::Request) -> Result<Option<u64>, Problem> {
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(str::trim)
        .and_then(|value| value.strip_prefix('"')?.strip_suffix('"'))
        .and_then(|rev| rev.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "If-Match names one revision, quoted: If-Match: \"3\".",
            )
        })
}

/// The JSON body of a PUT, read within the request's body limit (413 past it, before any parsing).
fn read_save(exchange: &mut Exchange, max_page_bytes: usize) -> Result<SaveJson, Problem> {
    let is_json = exchange
        .request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the page as JSON (Content-Type: application/json): {\"text\": \"...\", \"comment\": \"...\"}.",
        ));
    }
    let body = exchange
        .request
        .body_mut()
        .read_to_vec()
        .map_err(WikiError::from)?;
    let mut sent: SaveJson = serde_json::from_slice(&body).map_err(|err| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            format!("The body is not the JSON this takes ({{\"text\": \"...\", \"comment\": \"...\"}}): {err}."),
        )
    })?;
    sent.text = sent.text.replace("\r\n", "\n");
    if sent.text.len() > max_page_bytes {
        return Err(Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The page text is {} bytes; this wiki accepts pages of up to {max_page_bytes} bytes (max_page_bytes in quire.toml).",
                sent.text.len()
            ),
        ));
    }
    sent.comment = comment_text(&sent.comment)?;
    Ok(sent)
}

fn unrendered_problem(unrendered: crate::wiki::pages::render::Unrendered) -> Problem {
    use crate::wiki::pages::render::Unrendered;
    match unrendered {
        Unrendered::Busy { retry_after } => Problem::too_many_or_busy(retry_after.as_secs()),
        Unrendered::OverBound(err) => {
            let status = match err {
                markup::MarkupError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                markup::MarkupError::TooManyMarks { .. }
                | markup::MarkupError::TooManyEvents { .. }
                | markup::MarkupError::TooManyTableCells { .. }
                | markup::MarkupError::OutputTooLarge { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            };
            Problem::new(
                status,
                format!("This text is too large to render: {err}. Nothing was saved."),
            )
        }
    }
}
