//! MoinMoin's file-system quoting of page names (`wikiutil.quoteWikinameFS` and `unquoteWikiname`).
//!
//! MoinMoin 1.9 keeps each page in a folder named after the page, with every run of characters other
//! than ASCII letters, digits and `_` written as its UTF-8 bytes in hex between parentheses:
//! `Foo/Bar Baz` is `Foo(2f)Bar(20)Baz`, `泉水` is `(e6b389e6b0b4)`. Unquoting is the only direction an
//! importer needs; the quoting function lives in the tests, as the other half of the round trip.

use std::fmt;

/// Why a folder name is not a quoted page name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadQuoting {
    /// The folder name as found (lossily, if it was not UTF-8).
    pub name: String,
    /// What is wrong with it, in words.
    pub why: &'static str,
}

impl fmt::Display for BadQuoting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a MoinMoin page folder name: {}",
            self.name, self.why
        )
    }
}

/// The page name a page folder stands for.
///
/// Text outside parentheses is taken as it is (MoinMoin does the same, so a hand-made `Foo-Bar` folder
/// still reads); each `(…)` must hold an even number of hex digits, and all the bytes together must be
/// UTF-8.
pub fn unquote(folder: &str) -> Result<String, BadQuoting> {
    let bad = |why| BadQuoting {
        name: folder.to_owned(),
        why,
    };
    let mut bytes = Vec::with_capacity(folder.len());
    let mut rest = folder;
    while let Some(open) = rest.find('(') {
        bytes.extend_from_slice(&rest.as_bytes()[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find(')')
            .ok_or_else(|| bad("a '(' is never closed"))?;
        let hex = &after[..close];
        if hex.is_empty() || !hex.len().is_multiple_of(2) {
            return Err(bad("a '(…)' does not hold whole hex byte pairs"));
        }
        for pair in hex.as_bytes().chunks(2) {
            let pair = std::str::from_utf8(pair).map_err(|_| bad("a '(…)' holds non-hex text"))?;
            let byte =
                u8::from_str_radix(pair, 16).map_err(|_| bad("a '(…)' holds non-hex text"))?;
            bytes.push(byte);
        }
        rest = &after[close + 1..];
    }
    bytes.extend_from_slice(rest.as_bytes());
    let name = String::from_utf8(bytes).map_err(|_| bad("its quoted bytes are not UTF-8"))?;
    if name.is_empty() {
        return Err(bad("it names no page"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// MoinMoin's `quoteWikinameFS`, for the round trip: runs of bytes other than `[A-Za-z0-9_]`, in hex.
    fn quote(name: &str) -> String {
        let mut out = String::new();
        let mut run = String::new();
        for byte in name.bytes() {
            if byte.is_ascii_alphanumeric() || byte == b'_' {
                if !run.is_empty() {
                    out.push('(');
                    out.push_str(&run);
                    out.push(')');
                    run.clear();
                }
                out.push(char::from(byte));
            } else {
                run.push_str(&format!("{byte:02x}"));
            }
        }
        if !run.is_empty() {
            out.push('(');
            out.push_str(&run);
            out.push(')');
        }
        out
    }

    #[test]
    fn quoted_names_read_as_moin_wrote_them() {
        assert_eq!(unquote("FrontPage").unwrap(), "FrontPage");
        assert_eq!(unquote("Foo(2f)Bar(20)Baz").unwrap(), "Foo/Bar Baz");
        assert_eq!(unquote("(e6b389e6b0b4)").unwrap(), "泉水");
        assert_eq!(
            unquote("Rest_Challenges_(2d)_To_Meditate").unwrap(),
            "Rest_Challenges_-_To_Meditate"
        );
        // A run mixing ASCII and UTF-8 bytes, as moin writes it.
        assert_eq!(
            unquote("db(2fe59ca8)PostgreSQL").unwrap(),
            "db/在PostgreSQL"
        );
        // Unquoted punctuation is taken as it is, as moin does.
        assert_eq!(unquote("Foo-Bar.baz").unwrap(), "Foo-Bar.baz");
    }

    #[test]
    fn bad_quoting_says_what_is_wrong() {
        for (folder, why) in [
            ("Foo(2", "a '(' is never closed"),
            ("Foo(2f2)", "a '(…)' does not hold whole hex byte pairs"),
            ("Foo()", "a '(…)' does not hold whole hex byte pairs"),
            ("Foo(zz)", "a '(…)' holds non-hex text"),
            ("Foo(ff)", "its quoted bytes are not UTF-8"),
            ("Foo(é)", "a '(…)' holds non-hex text"),
        ] {
            let err = unquote(folder).unwrap_err();
            assert_eq!(err.why, why, "{folder}");
            assert!(err.to_string().contains(folder), "{err}");
        }
    }

    proptest! {
        #[test]
        fn quoting_then_unquoting_gives_the_name_back(name in "\\PC{1,40}") {
            prop_assert_eq!(unquote(&quote(&name)).unwrap(), name);
        }

        #[test]
        fn any_folder_name_unquotes_or_says_why(folder in "\\PC{0,40}") {
            let _ = unquote(&folder);
        }
    }
}
