//! HTML escaping of strings printed by templates.
//!
//! minijinja's HTML escaping also encodes `/` (as `&#x2f;`), an OWASP habit that protects
//! nothing in quoted attributes or text but turns every URL in the page into noise for
//! readers of the source and for tests. This formatter escapes the five characters that
//! matter — `& < > " '` — and leaves everything else (safe strings, numbers, other
//! escaping modes) to minijinja's own formatter.

use minijinja::value::Value;
use minijinja::{AutoEscape, Error, Output, State};

pub(crate) fn formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    match value.as_str() {
        Some(text) if state.auto_escape() == AutoEscape::Html && !value.is_safe() => {
            write_html_escaped(out, text).map_err(Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

fn write_html_escaped(out: &mut impl std::fmt::Write, text: &str) -> std::fmt::Result {
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.write_str(&rest[..at])?;
        out.write_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        })?;
        rest = &rest[at + 1..];
    }
    out.write_str(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        write_html_escaped(&mut out, text).unwrap();
        out
    }

    #[test]
    fn escapes_the_five_special_characters_only() {
        assert_eq!(
            escaped(r#"<a href="/x?a=1&b='2'">"#),
            "&lt;a href=&quot;/x?a=1&amp;b=&#39;2&#39;&quot;&gt;"
        );
        assert_eq!(
            escaped("/wiki/Team/Notes – ünïcode"),
            "/wiki/Team/Notes – ünïcode"
        );
        assert_eq!(escaped(""), "");
        assert_eq!(escaped("&&"), "&amp;&amp;");
    }
}
