//! Line diffs between two texts, as rows a template can draw.

use serde::Serialize;

/// One row of a unified diff.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DiffLine {
    /// `hunk`, `context`, `added` or `removed`.
    pub kind: &'static str,
    pub old_no: Option<usize>,
    pub new_no: Option<usize>,
    pub text: String,
}

/// The unified diff from `old` to `new`, with three lines of context.
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let patch = diffy::create_patch(old, new);
    let mut rows = Vec::new();
    for hunk in patch.hunks() {
        let (mut old_no, mut new_no) = (hunk.old_range().start(), hunk.new_range().start());
        rows.push(DiffLine {
            kind: "hunk",
            old_no: None,
            new_no: None,
            text: format!(
                "@@ -{},{} +{},{} @@",
                hunk.old_range().start(),
                hunk.old_range().len(),
                hunk.new_range().start(),
                hunk.new_range().len()
            ),
        });
        for line in hunk.lines() {
            let row = match line {
                diffy::Line::Context(text) => {
                    let row = DiffLine {
                        kind: "context",
                        old_no: Some(old_no),
                        new_no: Some(new_no),
                        text: strip_newline(text),
                    };
                    old_no += 1;
                    new_no += 1;
                    row
                }
                diffy::Line::Delete(text) => {
                    let row = DiffLine {
                        kind: "removed",
                        old_no: Some(old_no),
                        new_no: None,
                        text: strip_newline(text),
                    };
                    old_no += 1;
                    row
                }
                diffy::Line::Insert(text) => {
                    let row = DiffLine {
                        kind: "added",
                        old_no: None,
                        new_no: Some(new_no),
                        text: strip_newline(text),
                    };
                    new_no += 1;
                    row
                }
            };
            rows.push(row);
        }
    }
    rows
}

fn strip_newline(text: &str) -> String {
    text.strip_suffix('\n').unwrap_or(text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_added_removed_and_context_lines() {
        let rows = diff_lines("a\nb\nc\n", "a\nB\nc\nd\n");
        let kinds: Vec<_> = rows
            .iter()
            .map(|row| (row.kind, row.old_no, row.new_no, row.text.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("hunk", None, None, "@@ -1,3 +1,4 @@"),
                ("context", Some(1), Some(1), "a"),
                ("removed", Some(2), None, "b"),
                ("added", None, Some(2), "B"),
                ("context", Some(3), Some(3), "c"),
                ("added", None, Some(4), "d"),
            ]
        );
    }

    #[test]
    fn identical_texts_have_no_rows() {
        assert!(diff_lines("same\n", "same\n").is_empty());
    }
}
