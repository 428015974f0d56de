//! `Content-Disposition` for a response (RFC 6266), with a file name that
//! survives any characters.
//!
//! The header carries the name twice: `filename="…"`, an ASCII fallback for
//! old clients, where anything that is not plain printable ASCII, and the
//! characters that quoting or old browsers would misread (`"`, `\`, `%`,
//! `/`), become `_`; and `filename*=UTF-8''…` (RFC 8187), the exact name
//! percent-encoded outside RFC 8187's `attr-char` set, which every current
//! browser prefers. Neither form can hold a CR, an LF or any other control
//! character, so no name can inject a header.
//!
//! The name is not otherwise cleaned: that it holds no path is the caller's
//! business (and browsers strip directories from it anyway).
//!
//! ```
//! use gateway::disposition::{content_disposition, Disposition};
//!
//! let value = content_disposition(Disposition::Attachment, "naïve \"plan\".pdf");
//! assert_eq!(
//!     value,
//!     "attachment; filename=\"na_ve _plan_.pdf\"; filename*=UTF-8''na%C3%AFve%20%22plan%22.pdf"
//! );
//! ```

use http::HeaderValue;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// RFC 8187 `attr-char` is ALPHA / DIGIT and these; everything else is
/// percent-encoded in `filename*`.
const NOT_ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// Whether the browser shows the file or saves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Shown in the browser when it can (images, PDF, text).
    Inline,
    /// Saved as a download.
    Attachment,
}

impl Disposition {
    fn as_str(self) -> &'static str {
        match self {
            Disposition::Inline => "inline",
            Disposition::Attachment => "attachment",
        }
    }
}

/// The `Content-Disposition` value for `file_name`; with an empty name,
/// the disposition alone.
pub fn content_disposition(disposition: Disposition, file_name: &str) -> HeaderValue {
    let kind = disposition.as_str();
    if file_name.is_empty() {
        return HeaderValue::from_static(kind);
    }
    let value = format!(
        "{kind}; filename=\"{}\"; filename*=UTF-8''{}",
        ascii_fallback(file_name),
        utf8_percent_encode(file_name, NOT_ATTR_CHAR)
    );
    HeaderValue::try_from(value).expect("only printable ASCII is written")
}

/// The name with every character a quoted-string or an old browser could
/// misread replaced by `_`.
fn ascii_fallback(file_name: &str) -> String {
    file_name
        .chars()
        .map(|c| match c {
            '"' | '\\' | '%' | '/' => '_',
            ' '..='~' => c,
            _ => '_',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn header(disposition: Disposition, name: &str) -> String {
        content_disposition(disposition, name)
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// What a browser reads from `filename*`.
    fn decoded_star(value: &str) -> String {
        let encoded = value.rsplit("filename*=UTF-8''").next().unwrap();
        percent_encoding::percent_decode_str(encoded)
            .decode_utf8()
            .unwrap()
            .into_owned()
    }

    #[test]
    fn plain_names_are_given_in_both_forms() {
        assert_eq!(
            header(Disposition::Inline, "diagram.png"),
            "inline; filename=\"diagram.png\"; filename*=UTF-8''diagram.png"
        );
        assert_eq!(header(Disposition::Attachment, ""), "attachment");
    }

    #[test]
    fn hostile_names_never_break_out_of_the_header() {
        for name in [
            "evil\r\nSet-Cookie: a=b.txt",
            "quote\"; filename=\"x.html",
            "back\\slash",
            "../../etc/passwd",
            "tab\there\0nul\x7fdel",
            "100%25 sure.txt",
            "\u{2028}line separator",
        ] {
            let value = header(Disposition::Attachment, name);
            assert!(!value.bytes().any(|b| b.is_ascii_control()), "{value:?}");
            assert_eq!(value.matches('"').count(), 2, "{value:?}");
            assert_eq!(decoded_star(&value), name);
        }
        assert_eq!(
            header(Disposition::Attachment, "../../x"),
            "attachment; filename=\".._.._x\"; filename*=UTF-8''..%2F..%2Fx"
        );
    }

    #[test]
    fn unicode_names_keep_their_exact_form_in_filename_star() {
        let value = header(Disposition::Inline, "😀 résumé 日本.pdf");
        assert!(value.starts_with("inline; filename=\"_ r_sum_ __.pdf\"; "));
        assert_eq!(decoded_star(&value), "😀 résumé 日本.pdf");
        assert!(value.ends_with("%F0%9F%98%80%20r%C3%A9sum%C3%A9%20%E6%97%A5%E6%9C%AC.pdf"));
    }

    proptest! {
        #[test]
        fn any_name_gives_a_valid_header_that_round_trips(name in any::<String>()) {
            let value = content_disposition(Disposition::Attachment, &name);
            let text = value.to_str().unwrap();
            prop_assert!(text.bytes().all(|b| (b' '..=b'~').contains(&b)));
            if !name.is_empty() {
                prop_assert_eq!(decoded_star(text), name);
            }
        }
    }
}
