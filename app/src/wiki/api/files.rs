//! `pages/{Page}/files/{name}`: a file's bytes (GET, the download route's own controller) and a new
//! version of it (PUT: the body is the file, stored through the upload code's one write).

use std::io;

use gateway::{BodyError, HttpError, Response};
use http::StatusCode;
use serde::Serialize;

use super::json;
use crate::wiki::files::upload::too_large;
use crate::wiki::pages::edit::author_of;
use crate::wiki::plumbing::api_routes::ApiRoute;
use crate::wiki::plumbing::params::comment_text;
use crate::wiki::plumbing::routes::FileRoute;
use crate::wiki::{Exchange, Wiki, WikiError};

#[derive(Serialize)]
struct StoredJson {
    name: String,
    version: u64,
    size: u64,
    media_type: String,
    url: String,
}

impl Wiki {
    /// `PUT pages/{Page}/files/{name}?comment=…`: the body, whatever its type, as the file's next
    /// version. A body declared larger than `max_upload_bytes` is refused before any of it is read;
    /// one that turns out larger is stopped there, and nothing of it is stored.
    pub(super) fn api_put_file(
        &self,
        exchange: &mut Exchange,
        file: &FileRoute,
    ) -> Result<Response, WikiError> {
        let limit = self.settings.max_upload_bytes;
        if exchange
            .request
            .body_mut()
            .declared_len()
            .is_some_and(|declared| declared > limit)
        {
            return Err(too_large(limit).into());
        }
        if !self.storage.exists(file.page.as_str())? {
            return Err(HttpError::not_found(format!(
                "There is no page called {} to attach files to: create the page first.",
                file.page
            ))
            .into());
        }
        if let Some(refusal) = self.judge_save_sender(exchange, false)? {
            return Err(HttpError::new(refusal.status(), refusal.message("uploaded")).into());
        }
        let comment = comment_text(exchange.query()?.get("comment").unwrap_or(""))?;
        let uploader = author_of(exchange);
        let read_error = |err: io::Error| -> WikiError {
            match err
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<BodyError>())
            {
                Some(BodyError::TooLarge { .. }) => too_large(limit).into(),
                _ => HttpError::bad_request(format!("The file could not be read: {err}.")).into(),
            }
        };
        let (version, _) = self.store_upload(
            &file.page,
            &file.name,
            &uploader,
            &comment,
            exchange.request.body_mut(),
            read_error,
        )?;
        self.indexer.saved();
        let (size, media_type) = version.content.map_or((0, String::new()), |content| {
            (content.size, content.media_type)
        });
        json(
            StatusCode::CREATED,
            &StoredJson {
                name: version.name,
                version: version.version,
                size,
                media_type,
                url: exchange.urls.api(&ApiRoute::File(file.clone())),
            },
        )
    }
}
