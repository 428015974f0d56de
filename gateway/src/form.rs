//! `application/x-www-form-urlencoded` decoding that refuses broken UTF-8.
//!
//! Query strings and form bodies come from clients; a byte sequence that is
//! not UTF-8 is an error the app answers with 400, never text silently
//! replaced with U+FFFD and saved.
//!
//! The splitting, `+` and percent-decoding are the `form_urlencoded` crate's
//! (the one query decoding of the workspace: the themes' `form_target` uses it
//! too). That crate replaces broken UTF-8, so [`Form::parse`] checks the bytes
//! itself first.

use percent_encoding::percent_decode;
use thiserror::Error;

use crate::HttpError;

/// Why a form could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FormError {
    /// A name or value is not UTF-8 once percent-decoded.
    #[error("form field {field:?} is not valid UTF-8")]
    NotUtf8 {
        /// The field's name, as far as it could be read.
        field: String,
    },
}

impl From<FormError> for HttpError {
    fn from(err: FormError) -> Self {
        HttpError::bad_request(format!("The submitted form could not be read: {err}."))
    }
}

/// Decoded name/value pairs in the order they came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    /// Decodes `a=1&b=two+words&c=%C3%A9`.
    pub fn parse(input: &[u8]) -> Result<Self, FormError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(input).into_owned().collect();
        // The separators `&`, `=` and `+` are ASCII, so every name and value is
        // UTF-8 exactly when the whole input, percent-decoded, is.
        if percent_decode(input).decode_utf8().is_err() {
            let replaced = |text: &str| text.contains(char::REPLACEMENT_CHARACTER);
            let field = pairs
                .iter()
                .find(|(name, value)| replaced(name) || replaced(value))
                .map(|(name, _)| name.clone())
                .unwrap_or_default();
            return Err(FormError::NotUtf8 { field });
        }
        Ok(Form { pairs })
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every pair.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// Encodes pairs as a form body or query string.
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs_plus_and_percent() {
        let form = Form::parse(b"a=1&text=two+words%21&e=%C3%A9&flag").unwrap();
        assert_eq!(form.get("a"), Some("1"));
        assert_eq!(form.get("text"), Some("two words!"));
        assert_eq!(form.get("e"), Some("é"));
        assert_eq!(form.get("flag"), Some(""));
        assert_eq!(form.get("missing"), None);
    }

    #[test]
    fn refuses_broken_utf8() {
        assert_eq!(
            Form::parse(b"text=%FF%FE").unwrap_err(),
            FormError::NotUtf8 {
                field: "text".into()
            }
        );
        for broken in [&b"a=1&%C3=x"[..], b"a=%C3&b=%A9", b"a=\xff"] {
            assert!(Form::parse(broken).is_err(), "{broken:?}");
        }
        let kept = Form::parse("a=%EF%BF%BD&b=\u{fffd}".as_bytes()).unwrap();
        assert_eq!(kept.get("a"), Some("\u{fffd}"));
        assert_eq!(kept.get("b"), Some("\u{fffd}"));
    }

    #[test]
    fn encode_round_trips() {
        let body = encode([("text", "a b&c=d/é"), ("n", "1")]);
        let form = Form::parse(body.as_bytes()).unwrap();
        assert_eq!(form.get("text"), Some("a b&c=d/é"));
        assert_eq!(form.get("n"), Some("1"));
    }
}
