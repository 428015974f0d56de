//! Compact history: how revisions other than the current one are stored.
//!
//! A page's current revision is stored as `current`: its text sits whole in `current_texts`, one row
//! per page, so a page view reads it and decodes nothing (and the revision log's rows never hold a
//! full text that would later shrink, leaving its pages mostly empty). When a save supersedes it, the
//! revision row is given, in the same transaction, one of two compact forms:
//!
//! - `rdelta` — a *reverse delta*: the revision as the lines it shares with the revision after it
//!   (copies of byte ranges of that text, always whole lines) plus the lines of its own, deflated. Most
//!   edits change a few lines of a page, so this costs a few dozen bytes instead of the page.
//! - `deflate` — a *keyframe*: the whole text, deflated. Every revision numbered a multiple of
//!   [`KEYFRAME_EVERY`] is stored so, as is any revision whose delta would not be smaller.
//!
//! Reading revision N therefore starts from the first keyframe or full text above it and applies at
//! most `KEYFRAME_EVERY - 1` deltas downwards: bounded, whatever the length of the history. Reverse
//! (rather than forward) deltas keep the newest text — what is read most — whole.
//!
//! Rows of older databases stay `plain` and read as before; a format this build does not know is
//! reported ([`StorageError::UnknownFormat`]), never shown as garbage.
//!
//! The delta encoding, before deflate: a sequence of instructions, each a tag byte followed by
//! LEB128 varints: `0 offset len` copies `len` bytes at `offset` of the next revision's text; `1 len`
//! followed by `len` bytes inserts them.

use std::io::{Read, Write};

use crate::db::Sql;
use crate::error::{doing, StorageError};
use crate::line_diff::{Lines, Run};
use crate::revision::{Body, FORMAT_CURRENT, FORMAT_PLAIN};
use crate::varint;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

/// A keyframe: the whole text, deflated.
pub(crate) const FORMAT_DEFLATE: &str = "deflate";
/// A reverse delta against the next revision, deflated.
pub(crate) const FORMAT_RDELTA: &str = "rdelta";
/// Revisions numbered a multiple of this are keyframes, which bounds the deltas one read applies.
pub(crate) const KEYFRAME_EVERY: u64 = 64;

const COPY: u8 = 0;
const INSERT: u8 = 1;

/// How a superseded revision is stored.
pub(crate) struct Encoded {
    pub(crate) format: &'static str,
    pub(crate) body: Vec<u8>,
}

/// Encodes revision `rev`, whose text is `old`, now that the revision after it has the text `new`;
/// `runs` is the line diff from `old` to `new`.
pub(crate) fn encode(rev: u64, old: &Lines<'_>, new: &Lines<'_>, runs: &[Run]) -> Encoded {
    let keyframe = || Encoded {
        format: FORMAT_DEFLATE,
        body: deflate(old.text.as_bytes()),
    };
    if rev.is_multiple_of(KEYFRAME_EVERY) {
        return keyframe();
    }
    let delta = delta(old, new, runs);
    if delta.len() < old.text.len() / 2 {
        return Encoded {
            format: FORMAT_RDELTA,
            body: deflate(&delta),
        };
    }
    // A delta that is mostly inserted text (a rewrite, or against the empty text of a deletion) is
    // hardly smaller than a keyframe and costs a step on every read: keep whichever is smaller.
    let delta = deflate(&delta);
    let key = keyframe();
    if delta.len() < key.body.len() {
        Encoded {
            format: FORMAT_RDELTA,
            body: delta,
        }
    } else {
        key
    }
}

/// Rewrites the row of revision `revision_id` (number `rev`, text `old`, until now the current one)
/// into its compact form, now that `new` follows it. Inside the transaction that adds `new`.
pub(crate) fn retire(
    conn: &mut impl Sql,
    revision_id: i64,
    rev: u64,
    old: &Lines<'_>,
    new: &Lines<'_>,
    runs: &[Run],
) -> Result<(), StorageError> {
    let encoded = encode(rev, old, new, runs);
    conn.execute(
        "UPDATE revisions SET format = ?1, body = ?2 WHERE id = ?3",
        &[&encoded.format, &encoded.body, &revision_id],
    )
    .map_err(doing("compacting the previous revision"))?;
    Ok(())
}

/// The text of revision `rev` of page `page` (row id `page_id`), stored as `format` and `body`.
/// Deltas are resolved against the revisions above, read through `conn` (inside whatever
/// transaction it is in): at most [`KEYFRAME_EVERY`] rows.
pub(crate) fn decode(
    conn: &mut impl Sql,
    page: &str,
    page_id: i64,
    rev: u64,
    format: &str,
    body: Body,
) -> Result<String, StorageError> {
    if let Some(text) = decode_alone(page, rev, format, &body)? {
        return Ok(text);
    }
    // A delta: collect the chain up to the first row that stands alone, then apply it downwards.
    let mut deltas = vec![blob(page, rev, body)?];
    let rev_sql =
        i64::try_from(rev).map_err(|_| corrupt(page, rev, "revision number too large"))?;
    let limit = i64::try_from(KEYFRAME_EVERY).unwrap_or(i64::MAX);
    let body_sql = crate::revision::body(conn.engine());
    // Read up to the first row that needs no other (what follows it is not needed).
    let mut rows: Vec<(i64, String, Body)> = Vec::new();
    conn.query_each(
        &format!(
            "SELECT r.rev, r.format, {body_sql} FROM revisions r
             WHERE r.page_id = ?1 AND r.rev > ?2 ORDER BY r.rev LIMIT ?3"
        ),
        &[&page_id, &rev_sql, &limit],
        &mut |row| {
            let format: String = row.get(1)?;
            let delta = format == FORMAT_RDELTA;
            rows.push((row.get(0)?, format, row.get(2)?));
            Ok(delta)
        },
    )
    .map_err(doing("reading a revision"))?;
    let mut base = None;
    for (next_rev, next_format, next_body) in rows {
        let next_rev = crate::revision::to_u64("revision number", page, next_rev)?;
        if let Some(text) = decode_alone(page, next_rev, &next_format, &next_body)? {
            base = Some(text);
            break;
        }
        deltas.push(blob(page, next_rev, next_body)?);
    }
    let Some(mut text) = base else {
        return Err(corrupt(
            page,
            rev,
            "no full text within reach of its delta chain",
        ));
    };
    for delta in deltas.iter().rev() {
        text = apply(&inflate(delta).map_err(|e| corrupt(page, rev, &e))?, &text)
            .map_err(|e| corrupt(page, rev, &e))?;
    }
    Ok(text)
}

/// The text of revision `rev`, stored as `format` and `body`, given the text of the revision after it
/// (`newer`), which a delta needs: for walking a history downwards one revision at a time.
pub(crate) fn decode_with_next(
    page: &str,
    rev: u64,
    format: &str,
    body: Body,
    newer: &str,
) -> Result<String, StorageError> {
    if let Some(text) = decode_alone(page, rev, format, &body)? {
        return Ok(text);
    }
    let delta = inflate(&blob(page, rev, body)?).map_err(|e| corrupt(page, rev, &e))?;
    apply(&delta, newer).map_err(|e| corrupt(page, rev, &e))
}

/// Decodes a body that needs no other revision (`plain`, `current`, `deflate`); `None` for a delta.
/// A whole text comes as text from SQLite and as its UTF-8 bytes from PostgreSQL.
fn decode_alone(
    page: &str,
    rev: u64,
    format: &str,
    body: &Body,
) -> Result<Option<String>, StorageError> {
    match (format, body) {
        (FORMAT_PLAIN | FORMAT_CURRENT, Body::Text(text)) => Ok(Some(text.clone())),
        (FORMAT_PLAIN | FORMAT_CURRENT, Body::Bytes(bytes)) => String::from_utf8(bytes.clone())
            .map(Some)
            .map_err(|_| corrupt(page, rev, "the stored text is not UTF-8")),
        (FORMAT_DEFLATE, Body::Bytes(bytes)) => {
            let bytes = inflate(bytes).map_err(|e| corrupt(page, rev, &e))?;
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| corrupt(page, rev, "the stored text is not UTF-8"))
        }
        (FORMAT_RDELTA, Body::Bytes(_)) => Ok(None),
        (FORMAT_PLAIN | FORMAT_CURRENT | FORMAT_DEFLATE | FORMAT_RDELTA, other) => Err(corrupt(
            page,
            rev,
            &format!("a {format} body of {}", other.kind()),
        )),
        (unknown, _) => Err(StorageError::UnknownFormat {
            page: page.to_owned(),
            rev,
            format: unknown.to_owned(),
        }),
    }
}

fn blob(page: &str, rev: u64, body: Body) -> Result<Vec<u8>, StorageError> {
    match body {
        Body::Bytes(bytes) => Ok(bytes),
        other => Err(corrupt(
            page,
            rev,
            &format!("a delta body of {}", other.kind()),
        )),
    }
}

fn corrupt(page: &str, rev: u64, what: &str) -> StorageError {
    StorageError::Invalid {
        what: format!("revision {rev} of page {page:?} cannot be read back: {what}"),
    }
}

/// Builds the reverse delta: `old` as copies from `new` and inserted lines of its own.
fn delta(old: &Lines<'_>, new: &Lines<'_>, runs: &[Run]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pending_copy: Option<(usize, usize)> = None;
    let flush = |out: &mut Vec<u8>, copy: &mut Option<(usize, usize)>| {
        if let Some((offset, len)) = copy.take() {
            out.push(COPY);
            varint::put(out, offset as u64);
            varint::put(out, len as u64);
        }
    };
    for run in runs {
        match run {
            Run::Same { new: lines, .. } => {
                let bytes = new.bytes(lines);
                pending_copy = match pending_copy {
                    Some((offset, len)) if offset + len == bytes.start => {
                        Some((offset, len + bytes.len()))
                    }
                    other => {
                        let mut other = other;
                        flush(&mut out, &mut other);
                        Some((bytes.start, bytes.len()))
                    }
                };
            }
            Run::Changed { old: lines, .. } => {
                if lines.is_empty() {
                    continue;
                }
                flush(&mut out, &mut pending_copy);
                let text = old.lines[lines.clone()].concat();
                out.push(INSERT);
                varint::put(&mut out, text.len() as u64);
                out.extend_from_slice(text.as_bytes());
            }
        }
    }
    flush(&mut out, &mut pending_copy);
    out
}

/// Rebuilds the older text from a delta and the newer text.
fn apply(delta: &[u8], newer: &str) -> Result<String, String> {
    let newer = newer.as_bytes();
    let mut out = Vec::with_capacity(newer.len());
    let mut at = 0;
    while at < delta.len() {
        let tag = delta[at];
        at += 1;
        match tag {
            COPY => {
                let offset = take_varint(delta, &mut at)?;
                let len = take_varint(delta, &mut at)?;
                let end = offset
                    .checked_add(len)
                    .filter(|&end| end <= newer.len())
                    .ok_or("a copy reaches past the next revision's text")?;
                out.extend_from_slice(&newer[offset..end]);
            }
            INSERT => {
                let len = take_varint(delta, &mut at)?;
                let end = at
                    .checked_add(len)
                    .filter(|&end| end <= delta.len())
                    .ok_or("an insert reaches past the delta")?;
                out.extend_from_slice(&delta[at..end]);
                at = end;
            }
            other => return Err(format!("unknown delta instruction {other}")),
        }
    }
    String::from_utf8(out).map_err(|_| "the rebuilt text is not UTF-8".to_owned())
}

/// A number of a delta, as a `usize`; the error says how the delta is damaged.
fn take_varint(bytes: &[u8], at: &mut usize) -> Result<usize, String> {
    let value =
        varint::take(bytes, at).ok_or("a delta ends inside a number or one runs too long")?;
    usize::try_from(value).map_err(|_| "a delta number is too large".to_owned())
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

fn inflate(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    DeflateDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| format!("broken deflate stream: {e}"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::line_diff;

    fn round_trip(rev: u64, old: &str, new: &str) -> Encoded {
        let (old_lines, new_lines) = (Lines::new(old), Lines::new(new));
        let runs = line_diff::diff(&old_lines, &new_lines);
        let encoded = encode(rev, &old_lines, &new_lines, &runs);
        let body = Body::Bytes(encoded.body.clone());
        let text = decode_with_next("P", rev, encoded.format, body, new).unwrap();
        assert_eq!(text, old);
        encoded
    }

    #[test]
    fn a_small_edit_is_a_small_delta() {
        let old: String = (0..200).map(|i| format!("line number {i}\n")).collect();
        let new = old.replace("line number 100\n", "line number one hundred\n");
        let encoded = round_trip(5, &old, &new);
        assert_eq!(encoded.format, FORMAT_RDELTA);
        assert!(encoded.body.len() < 60, "{} bytes", encoded.body.len());
    }

    #[test]
    fn keyframes_fall_on_multiples_and_rewrites() {
        assert_eq!(round_trip(64, "a\nb\n", "a\nb\nc\n").format, FORMAT_DEFLATE);
        let old: String = (0..50).map(|i| format!("{i} old\n")).collect();
        assert_eq!(round_trip(3, &old, "").format, FORMAT_DEFLATE);
    }

    #[test]
    fn unknown_formats_and_wrong_types_are_errors() {
        let err = decode_alone("P", 1, "zstd", &Body::Bytes(vec![])).unwrap_err();
        assert!(matches!(err, StorageError::UnknownFormat { .. }), "{err:?}");
        let err = decode_alone("P", 1, FORMAT_DEFLATE, &Body::Text("x".into())).unwrap_err();
        assert!(matches!(err, StorageError::Invalid { .. }), "{err:?}");
        let err = decode_alone("P", 1, FORMAT_CURRENT, &Body::Null).unwrap_err();
        assert!(matches!(err, StorageError::Invalid { .. }), "{err:?}");
        // PostgreSQL hands a whole text back as its bytes: they must be UTF-8.
        let text = decode_alone("P", 1, FORMAT_PLAIN, &Body::Bytes(b"h\xc3\xa9".to_vec())).unwrap();
        assert_eq!(text.as_deref(), Some("hé"));
        let err = decode_alone("P", 1, FORMAT_CURRENT, &Body::Bytes(vec![0xff])).unwrap_err();
        assert!(matches!(err, StorageError::Invalid { .. }), "{err:?}");
    }

    proptest! {
        #[test]
        fn deltas_round_trip(old in "(\\PC{0,8}\n?){0,20}", new in "(\\PC{0,8}\n?){0,20}", rev in 1_u64..200) {
            round_trip(rev, &old, &new);
        }

        #[test]
        fn garbage_deltas_never_panic(delta in prop::collection::vec(any::<u8>(), 0..64), newer in "\\PC{0,40}") {
            let _ = apply(&delta, &newer);
        }
    }
}
