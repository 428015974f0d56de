//! HTML escaping of strings printed by templates.
//!
//! minijinja's HTML escaping also encodes `/` (as `&#x2f;`), an OWASP habit that protects
//! nothing in quoted attributes or text but turns every URL in the page into noise for
//! readers of the source and for tests. This formatter escapes the five characters that
//! matter — `& < > " '` — with pulldown-cmark's escape, the one the whole workspace uses, and
//! leaves everything else (safe strings, numbers, other escaping modes) to minijinja's own
//! formatter.

use minijinja::value::Value;
use minijinja::{AutoEscape, Error, Output, State};
use pulldown_cmark_escape::{escape_html, FmtWriter};

pub(crate) fn formatter(out: &mut Output, state: &State, value: &Value) -> Result<(), Error> {
    match value.as_str() {
        Some(text) if state.auto_escape() == AutoEscape::Html && !value.is_safe() => {
            escape_html(FmtWriter(out), text).map_err(Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

#[cfg(test)]
mod tests {
    use minijinja::{context, Environment};

    /// `text` printed by a template through [`super::formatter`].
    fn escaped(text: &str) -> String {
        let mut env = Environment::new();
        env.set_formatter(super::formatter);
        env.add_template("t.html", "{{ text }}").unwrap();
        env.get_template("t.html")
            .unwrap()
            .render(context! { text })
            .unwrap()
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
