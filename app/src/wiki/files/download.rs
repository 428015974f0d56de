//! `GET /+file/{Page}/{name}` and `/+thumbnail/{Page}/{name}`: a file's bytes, streamed from
//! storage a chunk at a time, with the rules that keep a hostile file harmless.
//!
//! - The `Content-Type` is the one stored at upload, which `media::kind` chose from the content
//!   against its allowlist (a "PNG" that is really HTML was stored as HTML); `nosniff` always, so
//!   no browser second-guesses it.
//! - Only what `media::Detected` calls inline (raster images, PDF, plain text, audio and
//!   video) is shown in the browser; everything else is `Content-Disposition: attachment`, its
//!   name in RFC 6266's `filename*`.
//! - SVG and HTML get `Content-Security-Policy: sandbox`: opened directly, their scripts run in an
//!   opaque origin, never the wiki's.
//! - The ETag is the content's SHA-256 (the gateway's `ConditionalGet` answers a matching
//!   `If-None-Match` with 304, for a range too, without reading the body). A request for a fixed
//!   version (`?v=N`) may be cached for good (`immutable`); the current version is revalidated.
//!   Either is `private`: a file is as secret as its page.
//! - `Range` works (one range; `If-Range`), so video seeks and downloads resume.

use gateway::disposition::{content_disposition, Disposition};
use gateway::range::RangeAnswer;
use gateway::{HttpError, Response, ResponseBody};
use http::{header, HeaderValue};

use crate::wiki::plumbing::params::revision_param;
use crate::wiki::plumbing::routes::FileRoute;
use crate::wiki::{Exchange, Wiki, WikiError};

/// The policy of a file that may hold script (SVG, HTML): its own opaque origin, nothing loaded.
const SANDBOX_CSP: &str =
    "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'";
/// A fixed version's bytes never change.
const IMMUTABLE: &str = "private, max-age=31536000, immutable";
/// The current version may change with the next upload.
const REVALIDATE: &str = "private, no-cache";

impl Wiki {
    /// `GET /+file/{Page}/{name}`.
    pub(crate) fn download(
        &self,
        exchange: &Exchange,
        file: &FileRoute,
    ) -> Result<Response, WikiError> {
        let version = version_param(exchange)?;
        let (_, content) = self.file_version(file, version)?;
        let hash = content.hash.as_str();
        let serving = media::Detected::from_media_type(&content.media_type);
        let etag = format!("\"{hash}\"");
        let caching = if version.is_some() {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        let answer =
            RangeAnswer::from_headers(exchange.request.headers(), content.size, Some(&etag));
        let mut response = Response::new(ResponseBody::empty());
        *response.status_mut() = answer.write_headers(response.headers_mut(), content.size);
        let head = exchange.request.method() == http::Method::HEAD;
        if !head && answer != RangeAnswer::Unsatisfiable {
            let blob = self.storage.open_blob(hash)?;
            *response.body_mut() = answer.body(blob).map_err(HttpError::internal)?;
        }
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(serving.media_type),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        let disposition = if serving.inline {
            Disposition::Inline
        } else {
            Disposition::Attachment
        };
        headers.insert(
            header::CONTENT_DISPOSITION,
            content_disposition(disposition, file.name.as_str()),
        );
        if serving.sandbox {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(SANDBOX_CSP),
            );
        }
        headers.insert(header::ETAG, header_value(&etag));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
        Ok(response)
    }

    /// `GET /+thumbnail/{Page}/{name}`: the image's thumbnail, made at upload (or now, for an image
    /// stored before thumbnails were made, and kept).
    pub(crate) fn thumbnail(
        &self,
        exchange: &Exchange,
        file: &FileRoute,
    ) -> Result<Response, WikiError> {
        let version = version_param(exchange)?;
        let (found, content) = self.file_version(file, version)?;
        let hash = content.hash.as_str();
        let mut thumbnail = self.storage.thumbnail(hash)?;
        if thumbnail.is_none()
            && media::Detected::from_media_type(&content.media_type).thumbnailable
        {
            self.make_thumbnail(&found.name, &content);
            thumbnail = self.storage.thumbnail(hash)?;
        }
        let Some(thumbnail) = thumbnail else {
            return Err(HttpError::not_found(format!("{} has no thumbnail.", file.name)).into());
        };
        let etag = format!("\"{hash}-thumbnail\"");
        let caching = if version.is_some() {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        let mut response = Response::new(thumbnail.bytes.into());
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&thumbnail.media_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(header::ETAG, header_value(&etag));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
        Ok(response)
    }
}

/// `?v=N`, a version number.
fn version_param(exchange: &Exchange) -> Result<Option<u64>, WikiError> {
    revision_param(&exchange.query()?, "v")
}

/// A tag made of hex digits and quotes is always a valid header value.
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("\"\""))
}
