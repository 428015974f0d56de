//! Query parameters several controllers read the same way.

use gateway::form::Form;
use gateway::HttpError;

use crate::wiki::WikiError;

/// The revision number in `field` (`rev`, `from`, `to`), if given; 400 if it is not one.
pub(crate) fn revision_param(query: &Form, field: &str) -> Result<Option<u64>, WikiError> {
    match query.get(field).filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(value) => match value.parse::<u64>() {
            Ok(rev) if rev > 0 => Ok(Some(rev)),
            Ok(_) | Err(_) => Err(HttpError::bad_request(format!(
                "\u{201c}{field}\u{201d} must be a revision number, not \u{201c}{value}\u{201d}."
            ))
            .into()),
        },
    }
}

/// The longest change comment, in characters.
const MAX_COMMENT_CHARS: usize = 500;

/// The change comment in `comment`: one line, trimmed, at most [`MAX_COMMENT_CHARS`]; 400 if not.
/// Saves, renames, deletions and undeletions all take one.
pub(crate) fn comment_param(form: &Form) -> Result<String, WikiError> {
    comment_text(form.get("comment").unwrap_or(""))
}

/// A change comment given as text (an upload form's field): the rules of [`comment_param`].
pub(crate) fn comment_text(text: &str) -> Result<String, WikiError> {
    let comment = text.trim().to_owned();
    if comment.chars().count() > MAX_COMMENT_CHARS || comment.chars().any(char::is_control) {
        return Err(HttpError::bad_request(format!(
            "The comment must be one line of at most {MAX_COMMENT_CHARS} characters."
        ))
        .into());
    }
    Ok(comment)
}

/// The longest filter or name cursor accepted (longer cannot match a name the wiki stores).
const MAX_FILTER_LEN: usize = 512;

/// An optional filter value; empty means none. Control characters or a huge value are refused.
pub(crate) fn filter_param(value: Option<&str>, field: &str) -> Result<Option<String>, WikiError> {
    let Some(value) = value.map(str::trim).filter(|value| !value.is_empty()) else {
        return Ok(None);
    };
    if value.len() > MAX_FILTER_LEN || value.chars().any(char::is_control) {
        return Err(HttpError::bad_request(format!(
            "\u{201c}{field}\u{201d} must be one line of at most {MAX_FILTER_LEN} bytes."
        ))
        .into());
    }
    Ok(Some(value.to_owned()))
}
