//! Cleaning a file name as a browser sent it.
//!
//! The name is shown in lists, put in URLs (as the last path segment, so it can never hold `/`) and in
//! `Content-Disposition`, and someone will save the file under it. So: only the last component of a path
//! (old browsers send `C:\Users\a\x.png`), no control characters (a CR/LF would split a header, a NUL
//! cuts C strings), no bidirectional overrides (U+202E before `gnp.exe` shows it as `exe.png`), no leading dots (no `..`,
//! no hidden files like `.htaccess`), no surrounding whitespace, NFC (like page names, so one name has
//! one spelling), and at most [`MAX_NAME_BYTES`] bytes, cut so that the extension survives. Any other
//! Unicode is kept: a team names its files in its own language.

use unicode_normalization::UnicodeNormalization;

/// The longest name kept, in UTF-8 bytes: what most file systems allow for one component.
pub const MAX_NAME_BYTES: usize = 255;

/// The longest extension kept whole when a long name is cut (longer "extensions" are just words).
const MAX_EXTENSION_BYTES: usize = 16;

/// Why a name could not be cleaned; the message is for the uploader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing was left once the path, control characters, leading dots and whitespace were removed.
    #[error("the file name {raw:?} has no usable characters; give the file a name such as \"notes.txt\"")]
    Empty {
        /// The name as sent, for the message.
        raw: String,
    },
}

/// The name to store for a file the browser called `raw`, or why there is none.
pub fn clean_file_name(raw: &str) -> Result<String, NameError> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let kept: String = last.chars().filter(|&c| !is_dropped(c)).nfc().collect();
    let trimmed = kept
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end();
    if trimmed.is_empty() {
        return Err(NameError::Empty {
            raw: raw.chars().filter(|c| !c.is_control()).collect(),
        });
    }
    Ok(shorten(trimmed).to_owned())
}

/// Control characters (all of Unicode's Cc) and the bidirectional controls that reorder what is shown.
fn is_dropped(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `name` cut to [`MAX_NAME_BYTES`] at a character boundary, keeping a short extension whole.
fn shorten(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_owned();
    }
    let extension = name
        .rfind('.')
        .map(|dot| &name[dot..])
        .filter(|ext| ext.len() <= MAX_EXTENSION_BYTES + 1)
        .unwrap_or_default();
    let stem = &name[..name.len() - extension.len()];
    let stem = floor_char_boundary(stem, MAX_NAME_BYTES - extension.len()).trim_end();
    format!("{stem}{extension}")
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn floor_char_boundary(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &str) -> String {
        clean_file_name(raw).unwrap()
    }

    #[test]
    fn keeps_the_last_component_of_a_path() {
        assert_eq!(clean(r"C:\Users\a\x.png"), "x.png");
        assert_eq!(clean("/home/a/x.png"), "x.png");
        assert_eq!(clean("../../x"), "x");
        assert_eq!(clean(r"..\..\x"), "x");
    }

    #[test]
    fn drops_control_characters() {
        assert_eq!(clean("a\r\nb.txt"), "ab.txt");
        assert_eq!(clean("a\0b\u{7f}c\u{85}.txt"), "abc.txt");
        assert_eq!(clean("a\tb.txt"), "ab.txt");
    }

    #[test]
    fn drops_bidirectional_overrides() {
        assert_eq!(clean("invoice\u{202E}gnp.exe"), "invoicegnp.exe");
    }

    #[test]
    fn drops_leading_dots_and_whitespace() {
        assert_eq!(clean(".htaccess"), "htaccess");
        assert_eq!(clean(" . .x.txt  "), "x.txt");
        assert_eq!(clean("x..y.tar.gz"), "x..y.tar.gz");
    }

    #[test]
    fn nothing_left_is_an_error_with_a_message() {
        for raw in ["...", "   ", "", "..", "a/", "\r\n", "/..", "\u{202E}"] {
            let error = clean_file_name(raw).unwrap_err();
            assert!(
                error.to_string().contains("no usable characters"),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn keeps_unicode_in_nfc() {
        assert_eq!(clean("📎 Pläne – 東京.pdf"), "📎 Pläne – 東京.pdf");
        assert_eq!(clean("👩‍👩‍👧.png"), "👩‍👩‍👧.png");
        let decomposed = "Cafe\u{301}.txt";
        assert_eq!(clean(decomposed), "Caf\u{e9}.txt");
    }

    #[test]
    fn long_names_are_cut_at_a_character_boundary_keeping_the_extension() {
        let ascii = format!("{}.png", "a".repeat(1000));
        let cleaned = clean(&ascii);
        assert_eq!(cleaned.len(), MAX_NAME_BYTES);
        assert!(cleaned.ends_with("a.png"));

        let wide = format!("{}.jpeg", "é".repeat(1000));
        let cleaned = clean(&wide);
        assert!(cleaned.len() <= MAX_NAME_BYTES);
        assert!(cleaned.len() > MAX_NAME_BYTES - 2);
        assert!(cleaned.ends_with("é.jpeg"));

        let emoji = "😀".repeat(1000);
        let cleaned = clean(&emoji);
        assert_eq!(cleaned.len(), 252);
        assert!(cleaned.chars().all(|c| c == '😀'));

        let long_extension = format!("a.{}", "b".repeat(1000));
        assert_eq!(clean(&long_extension).len(), MAX_NAME_BYTES);
    }

    #[test]
    fn cleaning_is_idempotent() {
        for raw in [
            "../../x",
            "a\r\nb.txt",
            ".htaccess",
            "Cafe\u{301}.txt",
            &"x".repeat(300),
        ] {
            let once = clean(raw);
            assert_eq!(clean(&once), once, "{raw:?}");
        }
    }
}
