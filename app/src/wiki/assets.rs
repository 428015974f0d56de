//! Static assets from the theme.

use gateway::{HttpError, Response};
use http::{header, HeaderValue};

use super::{Wiki, WikiError};

impl Wiki {
    pub(super) fn asset(&self, path: &str) -> Result<Response, WikiError> {
        let asset = self.themes.asset(path).ok_or_else(|| {
            HttpError::not_found(format!("There is no static file called {path}."))
        })?;
        let mut response = Response::new(asset.bytes.into_owned().into());
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        Ok(response)
    }
}
