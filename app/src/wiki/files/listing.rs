//! `GET /+files/{Page}`: a page's files, with thumbnails for images, and the upload form.

use gateway::{HttpError, Response};
use http::StatusCode;
use serde::Serialize;
use storage::FileVersion;

use super::human_limit;
use crate::wiki::plumbing::file_name::FileName;
use crate::wiki::plumbing::layout::Layout;
use crate::wiki::plumbing::page_name::PageName;
use crate::wiki::plumbing::routes::{FileRoute, Route};
use crate::wiki::{Exchange, Wiki, WikiError};

#[derive(Serialize)]
struct FilesView {
    #[serde(flatten)]
    layout: Layout,
    files: Vec<FileRow>,
    /// The upload form's address; `None` when the viewer may not upload.
    upload_url: Option<String>,
    /// The limit, as the form states it.
    max_upload: String,
    /// The name a link to a missing file asked to save as (`?name=`).
    save_as: String,
    /// How many files `?uploaded=N` says were just stored.
    uploaded: Option<u64>,
}

#[derive(Serialize)]
struct FileRow {
    name: String,
    url: String,
    bytes: u64,
    media_type: String,
    uploader: String,
    time: i64,
    comment: String,
    versions: u64,
    history_url: String,
    /// `None` when the viewer may not delete it.
    delete_url: Option<String>,
    /// For images: the stored thumbnail.
    thumbnail_url: Option<String>,
    /// What to write in a page to show or link it.
    markdown: String,
}

impl Wiki {
    /// `GET /+files/{Page}`.
    pub(crate) fn files(
        &self,
        exchange: &Exchange,
        page: &PageName,
    ) -> Result<Response, WikiError> {
        if !self.storage.exists(page.as_str())? {
            return Err(HttpError::not_found(format!(
                "There is no page called {page}, so it has no files. Files are attached to pages: create the page first."
            ))
            .into());
        }
        let query = exchange.query()?;
        let access = self.access(&exchange.viewer)?;
        let front = &self.settings.front_page;
        let urls = &exchange.urls;
        let files = self
            .storage
            .attachments(page.as_str())?
            .into_iter()
            .filter_map(|attachment| {
                let name = FileName::parse(&attachment.current.name).ok()?;
                let file = FileRoute {
                    page: page.clone(),
                    name,
                };
                Some(file_row(
                    exchange,
                    &access,
                    front,
                    &file,
                    &attachment.current,
                    attachment.versions,
                ))
            })
            .collect();
        let may_upload = access.allows(&Route::Upload(page.clone()), front);
        let view = FilesView {
            layout: self.layout(exchange, &format!("Files of {page}"), Some(page)),
            files,
            upload_url: may_upload.then(|| urls.to(&Route::Files(page.clone()))),
            max_upload: human_limit(self.settings.max_upload_bytes),
            save_as: query
                .get("name")
                .and_then(|name| FileName::clean(name).ok())
                .map(|name| name.to_string())
                .unwrap_or_default(),
            uploaded: query.get("uploaded").and_then(|n| n.parse().ok()),
        };
        self.html(StatusCode::OK, "files.html", view)
    }
}

fn file_row(
    exchange: &Exchange,
    access: &crate::wiki::plumbing::access::Access<'_>,
    front: &PageName,
    file: &FileRoute,
    current: &FileVersion,
    versions: u64,
) -> FileRow {
    let urls = &exchange.urls;
    let content = current.content.as_ref();
    let media_type = content.map_or("", |content| content.media_type.as_str());
    let detected = media::Detected::from_media_type(media_type);
    let delete = Route::DeleteFile(file.clone());
    FileRow {
        name: file.name.to_string(),
        url: urls.to(&Route::File(file.clone())),
        bytes: content.map_or(0, |content| content.size),
        media_type: media_type.to_owned(),
        uploader: current.uploader.clone(),
        time: current.time,
        comment: current.comment.clone(),
        versions,
        history_url: urls.to(&Route::FileHistory(file.clone())),
        delete_url: access.allows(&delete, front).then(|| urls.to(&delete)),
        thumbnail_url: detected
            .thumbnailable
            .then(|| urls.thumbnail(file, current.version)),
        markdown: embed_markdown(&file.name, detected.is_image),
    }
}

/// `![name](attachment:name)` for an image, `[name](attachment:name)` for anything else; a name
/// with spaces or brackets is written in `<…>` so that the Markdown reads it back whole.
pub(crate) fn embed_markdown(name: &FileName, image: bool) -> String {
    let target = name.as_str();
    let needs_brackets = target
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '(' | ')' | '<' | '>'));
    let destination = if needs_brackets {
        format!("<attachment:{}>", target.replace(['<', '>'], ""))
    } else {
        format!("attachment:{target}")
    };
    let label = target.replace(['[', ']'], "");
    if image {
        format!("![{label}]({destination})")
    } else {
        format!("[{label}]({destination})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_markdown_keeps_odd_names_whole() {
        let name = |text| FileName::parse(text).unwrap();
        assert_eq!(
            embed_markdown(&name("diagram.png"), true),
            "![diagram.png](attachment:diagram.png)"
        );
        assert_eq!(
            embed_markdown(&name("Q3 report (final).pdf"), false),
            "[Q3 report (final).pdf](<attachment:Q3 report (final).pdf>)"
        );
    }
}
