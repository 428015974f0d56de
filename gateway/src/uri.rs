//! Percent-encoding sets for the parts of a request target, shared by the
//! adapters that rebuild a URI and by apps that write links.

use percent_encoding::{AsciiSet, CONTROLS};

/// Bytes that may not stand unescaped in a URI path (RFC 3986 §3.3): they
/// would end the path (`?`, `#`), start an escape (`%`), or are not allowed
/// in a URI at all. `/` stays as it is.
pub const PATH_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Bytes that may not stand unescaped in a query: as in a path, except that
/// a query keeps its `%` escapes and may contain `?`.
pub const QUERY_ESCAPES: &AsciiSet = &PATH_ESCAPES.remove(b'%').remove(b'?');
