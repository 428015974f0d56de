//! `POST /+files/{Page}`: uploads, streamed from the request into storage.
//!
//! The body is `multipart/form-data`, read part by part ([`gateway::multipart`]): nothing holds a
//! whole file in memory, through any gateway. The form sends its fields before its files (the CSRF
//! token first, which the gateway checks; then the comment and the optional name to save as), so
//! each file is stored as it streams by, with what came before it. Each file's first bytes decide
//! its media type (`media::kind`), and storage counts the rest against `max_upload_bytes` and
//! `upload_quota_bytes`: over either, the answer is 413 and nothing of that file is stored.
//!
//! A browser answers with a redirect to the list; the editor's script (which asks for JSON) gets
//! each stored file's name and the Markdown that shows it.

use std::io::{self, Read};

use gateway::multipart::{Multipart, MultipartError};
use gateway::{BodyError, HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::{FileContent, NewUpload, StorageError};

use super::human_limit;
use super::listing::embed_markdown;
use crate::config::UPLOAD_FORM_OVERHEAD;
use crate::file_head::FileHead;
use crate::wiki::pages::edit::author_of;
use crate::wiki::plumbing::file_name::FileName;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::params::comment_text;
use crate::wiki::plumbing::respond::{redirect_see_other, typed_response, wants_json};
use crate::wiki::plumbing::routes::{FileRoute, Route};
use crate::wiki::{Exchange, Wiki, WikiError};

/// The longest side of a thumbnail, in pixels: the list shows them at 80 CSS pixels or less, so
/// this stays sharp on screens of two and three device pixels per CSS pixel.
const THUMBNAIL_SIDE: u32 = 240;
/// The most bytes a comment field may take (its characters are counted by `comment_text`).
const MAX_COMMENT_BYTES: u64 = 4 * 1024;

/// One stored file, as the editor's script gets it.
#[derive(Serialize)]
struct Stored {
    name: String,
    version: u64,
    url: String,
    markdown: String,
}

impl Wiki {
    /// `POST /+files/{Page}`.
    pub(crate) fn upload(
        &self,
        exchange: &mut Exchange,
        page: &PageName,
    ) -> Result<Response, WikiError> {
        if !self.storage.exists(page.as_str())? {
            return Err(HttpError::not_found(format!(
                "There is no page called {page} to attach files to: create the page first."
            ))
            .into());
        }
        let limit = self.settings.max_upload_bytes;
        // A body declared larger than the limit allows is refused before any of it is read.
        if let Some(declared) = exchange.request.body_mut().declared_len() {
            if declared > limit.saturating_add(UPLOAD_FORM_OVERHEAD) {
                return Err(too_large(limit).into());
            }
        }
        // An anonymous upload counts against the same hourly limit as an anonymous save.
        if let Some(refusal) = self.judge_save_sender(exchange, false)? {
            let message = "Nothing was uploaded: too many saves and uploads came from your address in the last hour. Try again later, or log in.";
            let mut response =
                self.error_page(exchange, HttpError::new(refusal.status(), message).into());
            refusal.mark(&mut response);
            return Ok(response);
        }
        let uploader = author_of(exchange);
        let wants_json = wants_json(&exchange.request);
        let urls = exchange.urls.clone();
        let mut stored: Vec<Stored> = Vec::new();
        let mut comment = String::new();
        let mut save_as: Option<FileName> = None;
        let form_error = |err| form_error(err, limit);
        let read_error = |err| form_error(MultipartError::from_io(err));
        let mut form = Multipart::from_request(&mut exchange.request).map_err(form_error)?;
        while let Some(mut part) = form.next_part().map_err(form_error)? {
            let Some(raw_name) = part.file_name().map(str::to_owned) else {
                match part.name() {
                    "comment" => {
                        comment =
                            comment_text(&part.read_text(MAX_COMMENT_BYTES).map_err(form_error)?)?;
                    }
                    "name" => {
                        let text = part.read_text(1024).map_err(form_error)?;
                        save_as = match text.trim() {
                            "" => None,
                            text => Some(FileName::clean(text).map_err(bad_name)?),
                        };
                    }
                    _ => {}
                }
                continue;
            };
            // A file input left empty still sends a part, with no name and no bytes.
            if raw_name.is_empty() {
                continue;
            }
            let name = match save_as.take() {
                Some(name) => name,
                None => FileName::clean(&raw_name).map_err(bad_name)?,
            };
            let (version, is_image) =
                self.store_upload(page, &name, &uploader, &comment, &mut part, read_error)?;
            let file = FileRoute {
                page: page.clone(),
                name,
            };
            stored.push(Stored {
                markdown: embed_markdown(&file.name, is_image),
                url: urls.to(&Route::File(file.clone())),
                name: file.name.to_string(),
                version: version.version,
            });
        }
        drop(form);
        if stored.is_empty() {
            return Err(HttpError::bad_request(
                "No file came with the form: choose one or more files, then upload.",
            )
            .into());
        }
        self.indexer.saved();
        if wants_json {
            let body = serde_json::to_vec(&stored).map_err(HttpError::internal)?;
            let mut response = typed_response(body, "application/json");
            *response.status_mut() = StatusCode::CREATED;
            return Ok(response);
        }
        let mut location = urls.to(&Route::Files(page.clone()));
        location.push_str(&format!("?uploaded={}", stored.len()));
        Ok(redirect_see_other(&location))
    }

    /// Stores one file read from `content` as `name` on `page`: its media type from its first
    /// bytes, its thumbnail made, within `max_upload_bytes` and the quota (413 past either, nothing
    /// stored). The one way an upload is stored, from the form and from the API; `read_error` says
    /// what a failed read of `content` is (the client left, a gateway limit stopped it). Also
    /// whether it is an image.
    pub(crate) fn store_upload(
        &self,
        page: &PageName,
        name: &FileName,
        uploader: &str,
        comment: &str,
        content: &mut impl Read,
        read_error: impl Fn(io::Error) -> WikiError,
    ) -> Result<(storage::FileVersion, bool), WikiError> {
        let limit = self.settings.max_upload_bytes;
        let quota = Some(self.settings.upload_quota_bytes).filter(|&quota| quota > 0);
        let head = FileHead::read(name.as_str(), content).map_err(&read_error)?;
        let detected = head.detected;
        let upload = NewUpload {
            page: page.as_str(),
            name: name.as_str(),
            media_type: detected.media_type,
            width: head.width(),
            height: head.height(),
            uploader,
            comment,
            time: None,
            max_bytes: limit,
            quota_bytes: quota,
        };
        let mut content = io::Cursor::new(head.bytes).chain(content);
        let version = self
            .storage
            .upload(&upload, &mut content)
            .map_err(|err| match err {
                // The stream failed: the client left, or the gateway's limit stopped it.
                StorageError::UploadRead { source } => read_error(source),
                other => upload_error(other, name, limit),
            })?;
        tracing::info!(page = %page, file = %name, version = version.version, media_type = detected.media_type, "file uploaded");
        if let (true, Some(content)) = (detected.thumbnailable, &version.content) {
            self.make_thumbnail(&version.name, content);
        }
        Ok((version, detected.is_image))
    }

    /// Makes and stores an image's thumbnail, once, when it is uploaded. A thumbnail that cannot
    /// be made (an image too large to decode safely, a damaged one) is logged, and the list shows
    /// the file without one: the upload itself stands.
    pub(crate) fn make_thumbnail(&self, name: &str, content: &FileContent) {
        let hash = content.hash.as_str();
        let _permit = self
            .thumbnail_permit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match self.storage.thumbnail(hash) {
            Ok(Some(_)) => return,
            Ok(None) => {}
            Err(err) => {
                tracing::warn!(error = %err, "could not look for a thumbnail");
                return;
            }
        }
        let made = self
            .storage
            .open_blob(hash)
            .map_err(|err| err.to_string())
            .and_then(|blob| {
                media::image::thumbnail(io::BufReader::new(blob), THUMBNAIL_SIDE)
                    .map_err(|err| err.to_string())
            });
        match made {
            Ok(thumbnail) => {
                if let Err(err) = self.storage.store_thumbnail(
                    hash,
                    thumbnail.media_type,
                    thumbnail.width,
                    thumbnail.height,
                    &thumbnail.bytes,
                ) {
                    tracing::warn!(error = %err, file = %name, "could not store a thumbnail");
                }
            }
            Err(err) => {
                tracing::info!(error = %err, file = %name, "no thumbnail for this image");
            }
        }
    }
}

/// The 413 of a file over `max_upload_bytes`.
pub(crate) fn too_large(limit: u64) -> HttpError {
    HttpError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "This upload is larger than this wiki's limit of {} per file (max_upload_bytes in quire.toml). Nothing of it was stored.",
            human_limit(limit)
        ),
    )
}

fn upload_error(err: StorageError, name: &FileName, limit: u64) -> WikiError {
    match err {
        StorageError::UploadTooLarge { .. } => too_large(limit).with_cause(format!("{name}")).into(),
        StorageError::QuotaExceeded { quota } => HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{name} was not stored: the wiki's files would take more than its quota of {} (upload_quota_bytes in quire.toml). Every version of every file is kept, so only an admin raising the quota makes room.",
                human_limit(quota)
            ),
        )
        .into(),
        other => other.into(),
    }
}

fn bad_name(err: crate::wiki::plumbing::file_name::FileNameError) -> WikiError {
    HttpError::bad_request(format!("This file name cannot be used: {err}.")).into()
}

/// Why the form could not be read: the client went away, sent more than the gateway takes (the
/// upload limit, `limit`, is what the page states), or sent a malformed form.
fn form_error(err: MultipartError, limit: u64) -> WikiError {
    match err {
        MultipartError::Body(BodyError::TooLarge { .. }) => too_large(limit).into(),
        MultipartError::NotMultipart => HttpError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Files are uploaded as a multipart/form-data form, the way the upload form sends them.",
        )
        .into(),
        MultipartError::Truncated | MultipartError::Body(BodyError::Truncated { .. }) => {
            HttpError::bad_request(
                "The upload ended before its end: the connection may have dropped. Nothing of the unfinished file was stored; upload it again.",
            )
            .into()
        }
        other => HttpError::bad_request(format!("The upload form could not be read: {other}.")).into(),
    }
}
