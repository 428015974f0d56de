//! A file's versions: its history (`/+filehistory/…`, with the pages that link it), deleting it
//! (`/+deletefile/…`) and restoring an old version (`/+restorefile/…?v=N`). Deleting and restoring
//! are new versions, so nothing is ever lost and each shows in recent changes.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::{FileChange, StorageError};

use super::missing_file;
use crate::wiki::pages::edit::author_of;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::params::{comment_param, revision_param};
use crate::wiki::plumbing::respond::redirect_see_other;
use crate::wiki::plumbing::routes::{FileRoute, Route};
use crate::wiki::{Exchange, Wiki, WikiError};

#[derive(Serialize)]
struct FileHistoryView {
    #[serde(flatten)]
    layout: Layout,
    name: String,
    files_url: String,
    versions: Vec<VersionRow>,
    /// Pages that link or show the file, those the reader may read.
    backlinks: Vec<Backlink>,
    /// Where to delete it; `None` when it is deleted already or the viewer may not.
    delete_url: Option<String>,
}

#[derive(Serialize)]
struct VersionRow {
    version: u64,
    /// `upload`, `delete` or `restore`.
    kind: String,
    bytes: u64,
    media_type: String,
    uploader: String,
    time: i64,
    comment: String,
    /// `None` for a deletion, which has no bytes.
    url: Option<String>,
    /// Where a POST makes this version current again; `None` when it is current, a deletion, or
    /// the viewer may not write.
    restore_url: Option<String>,
}

#[derive(Serialize)]
struct Backlink {
    name: String,
    url: String,
}

#[derive(Serialize)]
struct DeleteFileView {
    #[serde(flatten)]
    layout: Layout,
    name: String,
    form_url: String,
    files_url: String,
}

impl Wiki {
    /// `GET /+filehistory/{Page}/{name}`.
    pub(crate) fn file_history(
        &self,
        exchange: &Exchange,
        file: &FileRoute,
    ) -> Result<Response, WikiError> {
        let history = self
            .storage
            .file_history(file.page.as_str(), file.name.as_str())?;
        let Some(current) = history.first() else {
            return Err(missing_file(&file.page, &file.name, None).into());
        };
        let current_version = current.version;
        let current_deleted = current.content.is_none();
        let access = self.access(&exchange.viewer)?;
        let front = &self.settings.front_page;
        let urls = &exchange.urls;
        let may_restore = access.allows(&Route::RestoreFile(file.clone()), front);
        let delete = Route::DeleteFile(file.clone());
        let versions = history
            .iter()
            .map(|version| VersionRow {
                version: version.version,
                kind: match version.change {
                    FileChange::Upload => "upload".to_owned(),
                    FileChange::Delete => "delete".to_owned(),
                    FileChange::Restore { from } => format!("restore of {from}"),
                },
                bytes: version.content.as_ref().map_or(0, |content| content.size),
                media_type: version
                    .content
                    .as_ref()
                    .map_or_else(String::new, |content| content.media_type.clone()),
                uploader: version.uploader.clone(),
                time: version.time,
                comment: version.comment.clone(),
                url: version
                    .content
                    .is_some()
                    .then(|| urls.file_version(file, version.version)),
                restore_url: (may_restore
                    && version.content.is_some()
                    && (version.version != current_version))
                    .then(|| urls.restore_file(file, version.version)),
            })
            .collect();
        let backlinks = self
            .storage
            .file_backlinks(file.page.as_str(), file.name.as_str())?
            .into_iter()
            .filter(|page| access.can_read(page))
            .map(|page| Backlink {
                url: urls.page_text(&page),
                name: page,
            })
            .collect();
        let view = FileHistoryView {
            layout: self.layout(
                exchange,
                &format!("{} on {}", file.name, file.page),
                Some(&file.page),
            ),
            name: file.name.to_string(),
            files_url: urls.to(&Route::Files(file.page.clone())),
            versions,
            backlinks,
            delete_url: (!current_deleted && access.allows(&delete, front))
                .then(|| urls.to(&delete)),
        };
        self.html(StatusCode::OK, "file-history.html", view)
    }

    /// `GET /+deletefile/{Page}/{name}`: the confirmation.
    pub(crate) fn delete_file_form(
        &self,
        exchange: &Exchange,
        file: &FileRoute,
    ) -> Result<Response, WikiError> {
        self.file_version(file, None)?;
        let view = DeleteFileView {
            layout: self.layout(
                exchange,
                &format!("Delete {} from {}", file.name, file.page),
                Some(&file.page),
            ),
            name: file.name.to_string(),
            form_url: exchange.urls.to(&Route::DeleteFile(file.clone())),
            files_url: exchange.urls.to(&Route::Files(file.page.clone())),
        };
        self.html(StatusCode::OK, "delete-file.html", view)
    }

    /// `POST /+deletefile/{Page}/{name}`: a new version that says the file is gone; its history
    /// keeps every version, and any can be restored.
    pub(crate) fn delete_file(
        &self,
        exchange: &mut Exchange,
        file: &FileRoute,
    ) -> Result<Response, WikiError> {
        let body = exchange.request.body_mut().read_to_vec()?;
        let comment = comment_param(&gateway::form::Form::parse(&body)?)?;
        let actor = author_of(exchange);
        match self
            .storage
            .delete_file(file.page.as_str(), file.name.as_str(), &actor, &comment)
        {
            Ok(_) => {}
            Err(StorageError::NoSuchFile { .. }) => {
                return Err(missing_file(&file.page, &file.name, None).into())
            }
            Err(err) => return Err(err.into()),
        }
        tracing::info!(page = %file.page, file = %file.name, "file deleted");
        self.indexer.saved();
        Ok(redirect_see_other(
            &exchange.urls.to(&Route::Files(file.page.clone())),
        ))
    }

    /// `POST /+restorefile/{Page}/{name}?v=N`: a new version with version N's bytes (also how a
    /// deleted file comes back).
    pub(crate) fn restore_file(
        &self,
        exchange: &mut Exchange,
        file: &FileRoute,
    ) -> Result<Response, WikiError> {
        let query = exchange.query()?;
        let version = revision_param(&query, "v")?
            .ok_or_else(|| HttpError::bad_request("Say which version to restore: ?v=N."))?;
        let body = exchange.request.body_mut().read_to_vec()?;
        let comment = comment_param(&gateway::form::Form::parse(&body)?)?;
        let actor = author_of(exchange);
        let (old, _) = self.file_version(file, Some(version))?;
        let restored = self.storage.restore_file(
            file.page.as_str(),
            file.name.as_str(),
            old.version,
            &actor,
            &comment,
        )?;
        tracing::info!(page = %file.page, file = %file.name, from = version, version = restored.version, "file restored");
        self.indexer.saved();
        Ok(redirect_see_other(
            &exchange.urls.to(&Route::FileHistory(file.clone())),
        ))
    }
}
