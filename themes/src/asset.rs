//! Static assets: what a theme serves below `static/`, and the content type each is sent with.

use std::borrow::Cow;

/// A static asset of a theme, ready to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// The file's bytes: borrowed from the binary for built-ins, owned for overrides.
    pub bytes: Cow<'static, [u8]>,
    /// The `Content-Type` to send, chosen by file extension.
    pub content_type: &'static str,
}

/// Hex digits of a content hash in a hashed asset name.
const HASH_LEN: usize = 16;

/// The content hash of an asset's bytes, in its cache-busting URL (`quire.<hash>.css`):
/// 16 lowercase hex digits that change when the bytes do and are the same in every process
/// and build (a CGI wiki computes them afresh on every request).
///
/// The host application hands it in (quire's is the gateway's `content_hash`, the one its
/// ETags use), so the choice of hash is made once for the workspace and not again here.
pub type ContentHash = fn(&[u8]) -> String;

/// `hash(bytes)`, checked to have the shape [`split_hashed`] recognises.
pub(crate) fn checked_hash(hash: ContentHash, bytes: &[u8]) -> String {
    let hash = hash(bytes);
    debug_assert!(
        is_hash(&hash),
        "a ContentHash gives {HASH_LEN} hex digits, not {hash:?}"
    );
    hash
}

fn is_hash(text: &str) -> bool {
    text.len() == HASH_LEN && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `img/logo.svg` with hash `h` → `img/logo.h.svg`; a name without an extension gets
/// the hash appended (`LICENSE.h`). The extension stays last so the content type holds.
pub(crate) fn hashed_name(path: &str, hash: &str) -> String {
    let (dir, file) = match path.rsplit_once('/') {
        Some((dir, file)) => (&path[..=dir.len()], file),
        None => ("", path),
    };
    match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{dir}{stem}.{hash}.{ext}"),
        _ => format!("{dir}{file}.{hash}"),
    }
}

/// The inverse of [`hashed_name`]: `img/logo.h.svg` → (`img/logo.svg`, `h`), if the name
/// carries a hash.
pub(crate) fn split_hashed(path: &str) -> Option<(String, &str)> {
    let (dir, file) = match path.rsplit_once('/') {
        Some((dir, file)) => (&path[..=dir.len()], file),
        None => ("", path),
    };
    let (before, last) = file.rsplit_once('.')?;
    if is_hash(last) && !before.is_empty() {
        return Some((format!("{dir}{before}"), last));
    }
    let (stem, middle) = before.rsplit_once('.')?;
    (is_hash(middle) && !stem.is_empty()).then(|| (format!("{dir}{stem}.{last}"), middle))
}

/// Accepts a relative `/`-separated path with no `.`, `..` or empty segments and no
/// backslashes or NULs, so no caller can be tricked into reaching outside `static/` even
/// if assets are one day read from disk on demand.
pub(crate) fn is_clean_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains(['\\', '\0'])
        && path
            .split('/')
            .all(|segment| !matches!(segment, "" | "." | ".."))
}

/// The content type for `path`, by extension; unknown kinds are served as opaque bytes so
/// a browser never sniffs them into something executable.
pub(crate) fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    match extension.to_ascii_lowercase().as_str() {
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths_are_relative_and_plain() {
        for ok in ["quire.css", "fonts/inter.woff2", "a/b/c.png", "x..y.css"] {
            assert!(is_clean_path(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../secret",
            "fonts/../../secret",
            "./quire.css",
            "fonts//x",
            "fonts/",
            "..",
            "a\\..\\b",
            "a\0b",
        ] {
            assert!(!is_clean_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn hashed_names_round_trip() {
        let hash = "0123456789abcdef";
        assert!(is_hash(hash));
        for path in [
            "quire.css",
            "img/logo.svg",
            "LICENSE",
            "a/b.c/x.min.js",
            ".hidden",
        ] {
            let hashed = hashed_name(path, hash);
            assert_ne!(hashed, path);
            assert_eq!(
                split_hashed(&hashed),
                Some((path.to_owned(), hash)),
                "{path}"
            );
        }
        assert_eq!(
            hashed_name("img/logo.svg", "0123456789abcdef"),
            "img/logo.0123456789abcdef.svg"
        );
        assert_eq!(split_hashed("quire.css"), None);
        assert_eq!(split_hashed("quire.min.css"), None);
        assert_eq!(split_hashed("quire.0123.css"), None);
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("quire.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("LOGO.SVG"), "image/svg+xml");
        assert_eq!(content_type("fonts/a.woff2"), "font/woff2");
        assert_eq!(content_type("README"), "application/octet-stream");
        assert_eq!(content_type("x.html"), "application/octet-stream");
    }
}
