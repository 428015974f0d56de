//! Bare URLs in text (`https://example.org/x`, `www.example.org`) as links: GitHub's "extended autolinks".
//!
//! pulldown-cmark only links `<https://…>`; GFM also links bare `http://`, `https://` and `www.` URLs. This
//! follows the GFM rules closely enough for prose: a URL starts at the beginning of the text or after
//! whitespace or one of `*_~(`, runs to whitespace or `<`, and loses trailing punctuation (`?!.,:;*_~'"`) and
//! any `)` without a matching `(`. Its host must look like a domain (letters, digits, `-`, `_`, with at least
//! one `.`), so `http://localhost` stays text, as on GitHub. Bare e-mail addresses are not linked.

/// A run of text, split into plain parts and URLs.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Text(&'a str),
    Url { text: &'a str, href: String },
}

/// Whether `text` may hold a URL [`split_urls`] would find: every one starts with `http://`, `https://` or
/// `www.`, so text without `://` or `www.` has none. A quick test that lets most text skip the search.
pub(crate) fn may_contain_url(text: &str) -> bool {
    text.contains("://")
        || text
            .as_bytes()
            .windows(4)
            .any(|window| window.eq_ignore_ascii_case(b"www."))
}

/// Splits `text` into plain text and bare URLs; a text without URLs comes back as one `Piece::Text`.
pub(crate) fn split_urls(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut plain_start = 0;
    let mut ix = 0;
    let bytes = text.as_bytes();
    while ix < bytes.len() {
        if let Some(len) = url_at(text, ix) {
            if plain_start < ix {
                pieces.push(Piece::Text(&text[plain_start..ix]));
            }
            let url = &text[ix..ix + len];
            let href = if url.len() >= 4 && url[..4].eq_ignore_ascii_case("www.") {
                format!("http://{url}")
            } else {
                url.to_owned()
            };
            pieces.push(Piece::Url { text: url, href });
            ix += len;
            plain_start = ix;
        } else {
            ix += 1;
        }
    }
    if plain_start < text.len() || pieces.is_empty() {
        pieces.push(Piece::Text(&text[plain_start..]));
    }
    pieces
}

/// The byte length of a URL starting at `ix`, if one does.
fn url_at(text: &str, ix: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    if !matches!(bytes[ix], b'h' | b'H' | b'w' | b'W') || !text.is_char_boundary(ix) {
        return None;
    }
    let preceded_ok = text[..ix]
        .chars()
        .next_back()
        .is_none_or(|c| c.is_whitespace() || matches!(c, '*' | '_' | '~' | '('));
    if !preceded_ok {
        return None;
    }
    let rest = &text[ix..];
    let host_start = ["https://", "http://", "www."]
        .iter()
        .find(|prefix| starts_with_ignore_case(rest, prefix))
        .map(|prefix| {
            if prefix.starts_with('w') {
                0
            } else {
                prefix.len()
            }
        })?;
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '<')
        .unwrap_or(rest.len());
    let url = trim_trailing(&rest[..end]);
    let host_end = url[host_start..]
        .find(['/', '?', '#', ':'])
        .map_or(url.len(), |n| host_start + n);
    valid_domain(&url[host_start..host_end]).then_some(url.len())
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Drops trailing punctuation and unbalanced closing parentheses, repeatedly.
fn trim_trailing(mut url: &str) -> &str {
    loop {
        let Some(last) = url.chars().next_back() else {
            return url;
        };
        let drop = match last {
            '?' | '!' | '.' | ',' | ':' | ';' | '*' | '_' | '~' | '\'' | '"' => true,
            ')' => url.matches(')').count() > url.matches('(').count(),
            _ => false,
        };
        if !drop {
            return url;
        }
        url = &url[..url.len() - last.len_utf8()];
    }
}

fn valid_domain(host: &str) -> bool {
    !host.is_empty()
        && host.contains('.')
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(text: &str) -> Vec<(&str, String)> {
        split_urls(text)
            .into_iter()
            .filter_map(|piece| match piece {
                Piece::Url { text, href } => Some((text, href)),
                Piece::Text(_) => None,
            })
            .collect()
    }

    #[test]
    fn bare_urls_are_found_as_gfm_does() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            (
                "see https://example.org/x.",
                &[("https://example.org/x", "https://example.org/x")],
            ),
            (
                "(www.example.org/a_(b))",
                &[("www.example.org/a_(b)", "http://www.example.org/a_(b)")],
            ),
            (
                "HTTP://EXAMPLE.ORG",
                &[("HTTP://EXAMPLE.ORG", "HTTP://EXAMPLE.ORG")],
            ),
            (
                "a http://x.org?q=1&b=2, b",
                &[("http://x.org?q=1&b=2", "http://x.org?q=1&b=2")],
            ),
            (
                "two http://a.org http://b.org",
                &[
                    ("http://a.org", "http://a.org"),
                    ("http://b.org", "http://b.org"),
                ],
            ),
            ("http://localhost:8080/", &[]),
            ("xhttp://example.org", &[]),
            ("javascript:alert(1)//www.x.org", &[]),
            ("https://", &[]),
            ("www.", &[]),
            ("www..org", &[]),
            ("plain words", &[]),
            ("http://ex<ample.org", &[]),
        ];
        for (text, expected) in cases {
            let expected: Vec<(&str, String)> = expected
                .iter()
                .map(|(t, h)| (*t, (*h).to_owned()))
                .collect();
            assert_eq!(urls(text), expected, "in {text:?}");
        }
    }

    #[test]
    fn the_quick_test_never_misses_a_url() {
        for text in [
            "see https://example.org/x.",
            "(WWW.example.org)",
            "HTTP://EXAMPLE.ORG",
            "a http://x.org?q=1",
        ] {
            assert!(!urls(text).is_empty(), "{text:?} has a URL");
            assert!(may_contain_url(text), "{text:?} may have a URL");
        }
        for text in ["plain words", "ftp:/x", "ww.x.org", "", "wwww"] {
            assert!(!may_contain_url(text), "{text:?} has no URL");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_quick_test_agrees_with_the_search(text in "([hHtTpPsSwW:/.]|[ -~]){0,40}") {
            if !urls(&text).is_empty() {
                proptest::prop_assert!(may_contain_url(&text));
            }
        }
    }

    #[test]
    fn split_keeps_all_text() {
        let text = "ä https://ö.example.org/ü, done";
        let joined: String = split_urls(text)
            .into_iter()
            .map(|piece| match piece {
                Piece::Text(t) | Piece::Url { text: t, .. } => t,
            })
            .collect();
        assert_eq!(joined, text);
        assert_eq!(split_urls(""), vec![Piece::Text("")]);
    }
}
