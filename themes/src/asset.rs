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
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("quire.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("LOGO.SVG"), "image/svg+xml");
        assert_eq!(content_type("fonts/a.woff2"), "font/woff2");
        assert_eq!(content_type("README"), "application/octet-stream");
        assert_eq!(content_type("x.html"), "application/octet-stream");
    }
}
