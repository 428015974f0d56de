//! Static assets from the theme.

use gateway::{HttpError, Response};
use http::{header, HeaderValue};

use super::error::typed_response;
use super::{Wiki, WikiError};

impl Wiki {
    pub(super) fn asset(&self, path: &str) -> Result<Response, WikiError> {
        let asset = self.themes.asset(path).ok_or_else(|| {
            HttpError::not_found(format!("There is no static file called {path}."))
        })?;
        let mut response = typed_response(asset.bytes.into_owned(), asset.content_type);
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        Ok(response)
    }
}
