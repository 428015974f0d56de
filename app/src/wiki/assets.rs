//! Static assets from the themes, below `/+static/`.
//!
//! Templates link assets by content-hashed URLs (`/+static/classic/quire.0123456789abcdef.css`,
//! from the `asset_url` filter), which change whenever the file does: those are cached for a
//! year and marked `immutable`, so a browser never asks again. A plain path (`/+static/quire.css`)
//! or an outdated hash still gets the current file, cached for an hour only. Both are `public`: the
//! files depend on no one, and that directive is what keeps the wiki from marking them personal
//! (`private`, `Vary: Cookie`) as it does every other response.

use gateway::{HttpError, Response};
use http::{header, HeaderValue};

use crate::wiki::plumbing::respond::typed_response;
use crate::wiki::{Wiki, WikiError};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=3600";

impl Wiki {
    pub(crate) fn asset(&self, path: &str) -> Result<Response, WikiError> {
        let file = self.themes.static_file(path).ok_or_else(|| {
            HttpError::not_found(format!("There is no static file called {path}."))
        })?;
        let mut response = typed_response(file.asset.bytes.into_owned(), file.asset.content_type);
        let cache = if file.immutable { IMMUTABLE } else { SHORT };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        Ok(response)
    }
}
