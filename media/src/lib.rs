//! quire's media: what an uploaded file is, and how it may be served.
//!
//! Attachments are the most common source of stored XSS in wikis (SVG with script, HTML, content sniffing,
//! polyglots), so every question about a file's safety is answered here, once, purely: no I/O beyond the
//! bytes and readers the caller hands in, no HTTP types (the answers are plain enums and strings the app
//! turns into headers), no hidden state.
//!
//! - [`name`]: cleaning the name a browser sent into one that is safe to store, show and put in a URL.
//! - [`kind`]: the media type from the content (the name only breaks ties among text types), checked
//!   against an allowlist, and how to serve it: inline or as attachment, with `Content-Security-Policy:
//!   sandbox` or not. `X-Content-Type-Options: nosniff` goes on every file response whatever the kind.
//! - [`image`]: dimensions from the first bytes, and thumbnails with decoding limits, so that a
//!   decompression bomb is refused before it costs memory.
//! - [`text`]: the text of a text file, bounded, for the search index.
//!
//! What it deliberately is not: a store (storage keeps blobs), an HTTP layer (the gateway writes
//! `Content-Disposition`), or a general file-type library: anything outside the allowlist is a download.

pub mod image;
pub mod kind;
pub mod name;
pub mod text;

pub use kind::{Detected, MediaKind, TextEncoding, HEAD_BYTES};
pub use name::{clean_file_name, NameError};

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn nothing_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600), name in ".{0,40}") {
            let detected = crate::MediaKind::detect(&name, &bytes);
            let _ = crate::image::dimensions(&bytes);
            let _ = crate::text::indexable_text(&detected, &bytes);
            prop_assert!(detected.inline || detected.sandbox);
        }

        #[test]
        fn clean_names_are_safe_and_stable(raw in "[\\s\\S]{0,300}") {
            if let Ok(clean) = crate::clean_file_name(&raw) {
                prop_assert!(!clean.contains(['/', '\\']) && !clean.starts_with('.'));
                prop_assert!(!clean.chars().any(char::is_control));
                prop_assert!(clean.len() <= crate::name::MAX_NAME_BYTES);
                prop_assert_eq!(crate::clean_file_name(&clean), Ok(clean.clone()));
            }
        }
    }
}
