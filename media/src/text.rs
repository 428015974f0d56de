//! The text of a text file, for the search index.
//!
//! Only the first [`INDEX_BYTES`] are indexed: enough for any note, log excerpt or source file a team
//! attaches, and a bound on what one upload adds to the index. The cut may fall inside a character, which
//! is then dropped rather than shown as a replacement character; broken bytes further in become U+FFFD
//! (a text file is detected from its first 4 KiB only, so the rest may be anything).

use crate::kind::{Detected, TextEncoding};

/// How many of a text file's first bytes are indexed.
pub const INDEX_BYTES: usize = 1024 * 1024;

/// The text to index for a file detected as `detected` whose content (or its first [`INDEX_BYTES`]; more
/// is ignored) is `content`, or `None` when it is not text.
pub fn indexable_text(detected: &Detected, content: &[u8]) -> Option<String> {
    if !detected.text {
        return None;
    }
    let cut = content.len() > INDEX_BYTES;
    let content = &content[..content.len().min(INDEX_BYTES)];
    let (encoding, body) = TextEncoding::split_bom(content);
    let text = match encoding {
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
            encoding.decode_utf16(body, char::REPLACEMENT_CHARACTER)
        }
        TextEncoding::Utf8 => {
            let body = if cut {
                without_cut_character(body)
            } else {
                body
            };
            String::from_utf8_lossy(body).into_owned()
        }
    };
    Some(text)
}

/// `bytes` without a UTF-8 sequence that the cut at its end left incomplete.
fn without_cut_character(bytes: &[u8]) -> &[u8] {
    let tail_start = bytes.len().saturating_sub(3);
    let Some(lead) = bytes[tail_start..]
        .iter()
        .rposition(|byte| byte & 0xC0 != 0x80)
    else {
        return bytes;
    };
    let lead_at = tail_start + lead;
    let expected = match bytes[lead_at] {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    };
    if bytes.len() - lead_at < expected {
        &bytes[..lead_at]
    } else {
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MediaKind;

    fn text_file(content: &[u8]) -> Option<String> {
        indexable_text(&MediaKind::detect("x.txt", content), content)
    }

    #[test]
    fn text_files_are_indexed_whole_when_short() {
        assert_eq!(
            text_file("Grüße, 東京 📎\n".as_bytes()).as_deref(),
            Some("Grüße, 東京 📎\n")
        );
        assert_eq!(
            text_file(b"\xEF\xBB\xBFwith a BOM").as_deref(),
            Some("with a BOM")
        );
        let html = MediaKind::detect("x.html", b"<p>words</p>");
        assert_eq!(
            indexable_text(&html, b"<p>words</p>").as_deref(),
            Some("<p>words</p>")
        );
    }

    #[test]
    fn other_files_are_not_indexed() {
        for (name, content) in [
            ("x.png", &b"\x89PNG\r\n\x1a\n"[..]),
            ("x.txt", b"bin\0ary"),
            ("x.txt", b""),
            ("x.svg", b"<svg>"),
        ] {
            let detected = MediaKind::detect(name, content);
            assert_eq!(indexable_text(&detected, content), None, "{name}");
        }
    }

    #[test]
    fn long_files_are_cut_at_a_character_boundary() {
        for filler in ["a", "é", "€", "📎"] {
            let mut content = "x".repeat(INDEX_BYTES - 2).into_bytes();
            content.extend(filler.repeat(10).into_bytes());
            let text = text_file(&content).unwrap();
            assert!(text.len() <= INDEX_BYTES, "{filler}");
            assert!(text.len() > INDEX_BYTES - 4, "{filler}");
            assert!(!text.contains(char::REPLACEMENT_CHARACTER), "{filler}");
        }
    }

    #[test]
    fn broken_bytes_past_the_head_are_replaced() {
        let mut content = b"fine".repeat(2000);
        content.extend_from_slice(b"\xFFend");
        let text = text_file(&content).unwrap();
        assert!(text.ends_with("\u{FFFD}end"));
    }

    #[test]
    fn utf16_files_are_decoded() {
        let mut content: Vec<u8> = vec![0xFF, 0xFE];
        content.extend("Grüße 📎".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(text_file(&content).as_deref(), Some("Grüße 📎"));

        let mut long: Vec<u8> = vec![0xFE, 0xFF];
        long.extend(
            "📎"
                .repeat(INDEX_BYTES)
                .encode_utf16()
                .flat_map(u16::to_be_bytes),
        );
        // The cut falls inside a surrogate pair, whose first half is dropped.
        let text = text_file(&long).unwrap();
        assert!(!text.contains(char::REPLACEMENT_CHARACTER));
        assert_eq!(text.chars().count(), (INDEX_BYTES - 2) / 4);
    }
}
