//! `application/x-www-form-urlencoded` decoding that refuses broken UTF-8.
//!
//! Query strings and form bodies come from clients; a byte sequence that is
//! not UTF-8 is an error the app answers with 400, never text silently
//! replaced with U+FFFD and saved.

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
        let mut pairs = Vec::new();
        for piece in input.split(|&byte| byte == b'&') {
            if piece.is_empty() {
                continue;
            }
            let (name, value) = match piece.iter().position(|&byte| byte == b'=') {
                Some(at) => (&piece[..at], &piece[at + 1..]),
                None => (piece, &b""[..]),
            };
            let name = decode(name).map_err(|lossy| FormError::NotUtf8 { field: lossy })?;
            let value = decode(value).map_err(|_| FormError::NotUtf8 {
                field: name.clone(),
            })?;
            pairs.push((name, value));
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

/// Percent-decodes with `+` as space; on invalid UTF-8 returns the lossy text
/// as the error so a message can name the field.
fn decode(raw: &[u8]) -> Result<String, String> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&byte| if byte == b'+' { b' ' } else { byte })
        .collect();
    let bytes: Vec<u8> = percent_decode(&spaced).collect();
    String::from_utf8(bytes).map_err(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// Encodes pairs as a form body or query string.
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let encode_part = |part: &str| {
        utf8_percent_encode(part, NON_ALPHANUMERIC)
            .to_string()
            .replace("%20", "+")
    };
    pairs
        .into_iter()
        .map(|(name, value)| format!("{}={}", encode_part(name), encode_part(value)))
        .collect::<Vec<_>>()
        .join("&")
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
    }

    #[test]
    fn encode_round_trips() {
        let body = encode([("text", "a b&c=d/é"), ("n", "1")]);
        let form = Form::parse(body.as_bytes()).unwrap();
        assert_eq!(form.get("text"), Some("a b&c=d/é"));
        assert_eq!(form.get("n"), Some("1"));
    }
}
