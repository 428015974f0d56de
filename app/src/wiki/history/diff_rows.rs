//! Line diffs between two texts, as rows a template can draw: a unified list and side-by-side pairs,
//! with the changed words inside a changed line marked.
//!
//! Built on `similar` rather than `diffy` (which the merge of edit conflicts uses) for two reasons: its
//! diffs take a deadline, so a rewritten 1 MB page answers in bounded time (past the deadline the
//! diff is coarser, never wrong), and it diffs words, for the highlighting inside lines.
//!
//! Work is bounded three ways: the line diff by [`DiffOptions::time_budget`], the rows drawn by
//! [`DiffOptions::max_rows`] (the rest is paged with `offset`), and the word diff to lines of at most
//! [`WORD_DIFF_MAX_LINE`] bytes within the drawn rows.

use std::time::{Duration, Instant};

use serde::Serialize;
use similar::{Algorithm, ChangeTag, DiffOp, TextDiff};

/// Longer lines are not diffed word by word: the whole line is marked instead.
pub const WORD_DIFF_MAX_LINE: usize = 4096;

/// How much of a diff to compute and draw.
#[derive(Debug, Clone, Copy)]
pub struct DiffOptions {
    /// Unchanged lines shown around each change.
    pub context: usize,
    /// Rows (hunk headers included) drawn per page of the diff.
    pub max_rows: usize,
    /// The first row drawn.
    pub offset: usize,
    /// Time the line diff may take before it settles for a coarser answer.
    pub time_budget: Duration,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            context: 3,
            max_rows: 1500,
            offset: 0,
            time_budget: Duration::from_millis(500),
        }
    }
}

/// A diff, or one page of it.
#[derive(Debug, Serialize)]
pub struct Diff {
    /// The drawn rows, unified.
    pub lines: Vec<DiffLine>,
    /// The same rows paired up for a side-by-side view.
    pub side_by_side: Vec<SideRow>,
    /// All rows of the diff, drawn or not.
    pub total_rows: usize,
    /// Lines added in the whole diff.
    pub added: usize,
    /// Lines removed in the whole diff.
    pub removed: usize,
    /// The first drawn row.
    pub offset: usize,
    /// Where the next page starts, if there is one.
    pub next_offset: Option<usize>,
    /// Where the previous page starts, if this is not the first.
    pub prev_offset: Option<usize>,
}

impl Diff {
    /// Whether the texts are equal line for line.
    pub fn is_empty(&self) -> bool {
        self.total_rows == 0
    }
}

/// One row of a unified diff.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct DiffLine {
    /// `hunk`, `context`, `added` or `removed`.
    pub kind: &'static str,
    /// The line's number in the old text; none for added lines and hunk headers.
    pub old_no: Option<usize>,
    /// The line's number in the new text; none for removed lines and hunk headers.
    pub new_no: Option<usize>,
    /// The line in runs; `changed` runs are what differs from the paired line.
    pub segments: Vec<Segment>,
}

/// A run of text inside a line.
#[derive(Debug, Serialize, PartialEq, Eq, Clone)]
pub struct Segment {
    /// The run's text, as written (templates escape it).
    pub text: String,
    /// Whether the run differs from the paired line (drawn marked).
    pub changed: bool,
}

/// One row of a side-by-side diff: the old line on the left, the new one on the right.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SideRow {
    /// `hunk`, `context` or `change`.
    pub kind: &'static str,
    /// The hunk header's text, for `hunk` rows.
    pub header: String,
    /// The old line; none where the new text added lines.
    pub left: Option<SideCell>,
    /// The new line; none where the new text removed lines.
    pub right: Option<SideCell>,
}

/// One half of a side-by-side row.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct SideCell {
    /// The line's number in its text.
    pub no: usize,
    /// `context`, `added` or `removed`.
    pub kind: &'static str,
    /// The line in runs, as in [`DiffLine::segments`].
    pub segments: Vec<Segment>,
}

/// A row before its segments are worked out.
struct RawRow<'a> {
    kind: &'static str,
    old_no: Option<usize>,
    new_no: Option<usize>,
    text: &'a str,
    /// For a removed line replaced by an added one (or the other way round): the other row's index.
    partner: Option<usize>,
    /// A hunk's `@@ -a,b +c,d @@` line.
    header: Option<String>,
}

/// The diff from `old` to `new`, drawing the page of rows `options` asks for.
pub fn diff(old: &str, new: &str, options: &DiffOptions) -> Diff {
    let deadline = Instant::now() + options.time_budget;
    let text_diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .deadline(deadline)
        .diff_lines(old, new);
    let rows = raw_rows(&text_diff, options.context);
    let added = rows.iter().filter(|row| row.kind == "added").count();
    let removed = rows.iter().filter(|row| row.kind == "removed").count();
    let total_rows = rows.len();
    let start = options.offset.min(total_rows);
    let end = start
        .saturating_add(options.max_rows.max(1))
        .min(total_rows);

    let mut lines = Vec::with_capacity(end - start);
    for index in start..end {
        lines.push(draw_row(&rows, index));
    }
    let side_by_side = pair_up(&lines);
    Diff {
        lines,
        side_by_side,
        total_rows,
        added,
        removed,
        offset: start,
        next_offset: (end < total_rows).then_some(end),
        prev_offset: (start > 0).then(|| start.saturating_sub(options.max_rows.max(1))),
    }
}

fn raw_rows<'a>(text_diff: &'a TextDiff<'a, 'a, str>, context: usize) -> Vec<RawRow<'a>> {
    let old_lines: Vec<&str> = text_diff.iter_old_slices().collect();
    let new_lines: Vec<&str> = text_diff.iter_new_slices().collect();
    let mut rows = Vec::new();
    for group in text_diff.grouped_ops(context) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_start = first.old_range().start;
        let new_start = first.new_range().start;
        let old_len = last.old_range().end - old_start;
        let new_len = last.new_range().end - new_start;
        rows.push(RawRow {
            kind: "hunk",
            old_no: None,
            new_no: None,
            text: "",
            partner: None,
            header: Some(format!(
                "@@ -{},{old_len} +{},{new_len} @@",
                hunk_start(old_start, old_len),
                hunk_start(new_start, new_len)
            )),
        });
        for op in &group {
            push_op(&mut rows, op, &old_lines, &new_lines);
        }
    }
    rows
}

/// The first line of a hunk as unified diffs number it: 0 for an empty range at the start.
fn hunk_start(start: usize, len: usize) -> usize {
    if len == 0 {
        start
    } else {
        start + 1
    }
}

fn push_op<'a>(
    rows: &mut Vec<RawRow<'a>>,
    op: &DiffOp,
    old_lines: &[&'a str],
    new_lines: &[&'a str],
) {
    let old_range = op.old_range();
    let new_range = op.new_range();
    match op {
        DiffOp::Equal { .. } => {
            for (old_index, new_index) in old_range.zip(new_range) {
                rows.push(RawRow {
                    kind: "context",
                    old_no: Some(old_index + 1),
                    new_no: Some(new_index + 1),
                    text: line_at(old_lines, old_index),
                    partner: None,
                    header: None,
                });
            }
        }
        DiffOp::Delete { .. } | DiffOp::Insert { .. } | DiffOp::Replace { .. } => {
            let first_removed = rows.len();
            let removed = old_range.len();
            let added = new_range.len();
            let paired = removed.min(added);
            for (offset, old_index) in old_range.enumerate() {
                rows.push(RawRow {
                    kind: "removed",
                    old_no: Some(old_index + 1),
                    new_no: None,
                    text: line_at(old_lines, old_index),
                    partner: (offset < paired).then_some(first_removed + removed + offset),
                    header: None,
                });
            }
            for (offset, new_index) in new_range.enumerate() {
                rows.push(RawRow {
                    kind: "added",
                    old_no: None,
                    new_no: Some(new_index + 1),
                    text: line_at(new_lines, new_index),
                    partner: (offset < paired).then_some(first_removed + offset),
                    header: None,
                });
            }
        }
    }
}

fn line_at<'a>(lines: &[&'a str], index: usize) -> &'a str {
    lines.get(index).copied().unwrap_or("")
}

fn draw_row(rows: &[RawRow<'_>], index: usize) -> DiffLine {
    let row = &rows[index];
    if let Some(header) = &row.header {
        return DiffLine {
            kind: "hunk",
            old_no: None,
            new_no: None,
            segments: whole(header, false),
        };
    }
    let text = strip_newline(row.text);
    let segments = match row.partner.and_then(|partner| rows.get(partner)) {
        Some(partner) => {
            let partner_text = strip_newline(partner.text);
            if row.kind == "removed" {
                word_diff(text, partner_text).0
            } else {
                word_diff(partner_text, text).1
            }
        }
        None => whole(text, false),
    };
    DiffLine {
        kind: row.kind,
        old_no: row.old_no,
        new_no: row.new_no,
        segments,
    }
}

/// The segments of `old` and of `new`, with the words each lacks from the other marked. Lines that are
/// too long, or so different that marking words would mark nearly everything, are left unmarked (the
/// row itself shows they changed).
fn word_diff(old: &str, new: &str) -> (Vec<Segment>, Vec<Segment>) {
    if old.len() > WORD_DIFF_MAX_LINE || new.len() > WORD_DIFF_MAX_LINE {
        return (whole(old, false), whole(new, false));
    }
    let words = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(Duration::from_millis(20))
        .diff_words(old, new);
    // How much of the lines' words (whitespace aside, which always matches) is shared.
    let (mut shared, mut total) = (0, 0);
    for change in words.iter_all_changes() {
        let weight = change.value().trim().len();
        total += weight
            * if change.tag() == ChangeTag::Equal {
                2
            } else {
                1
            };
        if change.tag() == ChangeTag::Equal {
            shared += weight * 2;
        }
    }
    if shared * 10 < total * 4 {
        return (whole(old, false), whole(new, false));
    }
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for change in words.iter_all_changes() {
        let text = change.value();
        match change.tag() {
            ChangeTag::Equal => {
                push_segment(&mut left, text, false);
                push_segment(&mut right, text, false);
            }
            ChangeTag::Delete => push_segment(&mut left, text, true),
            ChangeTag::Insert => push_segment(&mut right, text, true),
        }
    }
    (left, right)
}

/// Appends `text`, joining it to the last run when that is marked the same (whitespace between two
/// changed words joins them into one run, so a changed phrase reads as one mark).
fn push_segment(segments: &mut Vec<Segment>, text: &str, changed: bool) {
    if let Some(last) = segments.last_mut() {
        if last.changed == changed {
            last.text.push_str(text);
            return;
        }
    }
    segments.push(Segment {
        text: text.to_owned(),
        changed,
    });
}

fn whole(text: &str, changed: bool) -> Vec<Segment> {
    vec![Segment {
        text: text.to_owned(),
        changed,
    }]
}

/// Pairs drawn unified rows for the side-by-side view: a run of removed lines followed by a run of
/// added ones shares rows, line by line.
fn pair_up(lines: &[DiffLine]) -> Vec<SideRow> {
    let mut side = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let line = &lines[index];
        match line.kind {
            "hunk" => {
                side.push(SideRow {
                    kind: "hunk",
                    header: line
                        .segments
                        .first()
                        .map(|segment| segment.text.clone())
                        .unwrap_or_default(),
                    left: None,
                    right: None,
                });
                index += 1;
            }
            "context" => {
                side.push(SideRow {
                    kind: "context",
                    header: String::new(),
                    left: cell(line, line.old_no),
                    right: cell(line, line.new_no),
                });
                index += 1;
            }
            _ => {
                let removed: Vec<&DiffLine> = lines[index..]
                    .iter()
                    .take_while(|line| line.kind == "removed")
                    .collect();
                let added: Vec<&DiffLine> = lines[index + removed.len()..]
                    .iter()
                    .take_while(|line| line.kind == "added")
                    .collect();
                for pair in 0..removed.len().max(added.len()) {
                    side.push(SideRow {
                        kind: "change",
                        header: String::new(),
                        left: removed.get(pair).and_then(|line| cell(line, line.old_no)),
                        right: added.get(pair).and_then(|line| cell(line, line.new_no)),
                    });
                }
                index += removed.len() + added.len();
            }
        }
    }
    side
}

fn cell(line: &DiffLine, no: Option<usize>) -> Option<SideCell> {
    Some(SideCell {
        no: no?,
        kind: line.kind,
        segments: line.segments.clone(),
    })
}

fn strip_newline(text: &str) -> &str {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.strip_suffix('\r').unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(line: &DiffLine) -> String {
        line.segments.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn numbers_added_removed_and_context_lines() {
        let diff = diff("a\nb\nc\n", "a\nB\nc\nd\n", &DiffOptions::default());
        let rows: Vec<_> = diff
            .lines
            .iter()
            .map(|row| (row.kind, row.old_no, row.new_no, plain(row)))
            .collect();
        let expected: Vec<(&str, Option<usize>, Option<usize>, String)> = vec![
            ("hunk", None, None, "@@ -1,3 +1,4 @@".into()),
            ("context", Some(1), Some(1), "a".into()),
            ("removed", Some(2), None, "b".into()),
            ("added", None, Some(2), "B".into()),
            ("context", Some(3), Some(3), "c".into()),
            ("added", None, Some(4), "d".into()),
        ];
        assert_eq!(rows, expected);
        assert_eq!((diff.added, diff.removed), (2, 1));
        assert_eq!(diff.next_offset, None);
    }

    #[test]
    fn identical_texts_have_no_rows() {
        let diff = diff("same\n", "same\n", &DiffOptions::default());
        assert!(diff.is_empty());
        assert!(diff.lines.is_empty());
    }

    #[test]
    fn changed_words_are_marked_inside_a_changed_line() {
        let diff = diff(
            "the quick brown fox jumps\n",
            "the quick red fox jumps\n",
            &DiffOptions::default(),
        );
        let removed = diff.lines.iter().find(|l| l.kind == "removed").unwrap();
        let added = diff.lines.iter().find(|l| l.kind == "added").unwrap();
        let marked = |line: &DiffLine| -> Vec<String> {
            line.segments
                .iter()
                .filter(|s| s.changed)
                .map(|s| s.text.clone())
                .collect()
        };
        assert_eq!(marked(removed), ["brown"]);
        assert_eq!(marked(added), ["red"]);
        assert_eq!(plain(added), "the quick red fox jumps");
    }

    #[test]
    fn unrelated_lines_are_not_marked_word_by_word() {
        let diff = diff(
            "alpha beta gamma\n",
            "one two three\n",
            &DiffOptions::default(),
        );
        assert!(diff
            .lines
            .iter()
            .flat_map(|l| &l.segments)
            .all(|s| !s.changed));
    }

    #[test]
    fn side_by_side_pairs_replaced_lines_and_keeps_extra_ones_alone() {
        let diff = diff("a\nb\nc\n", "a\nB\nX\nc\n", &DiffOptions::default());
        let shape: Vec<_> = diff
            .side_by_side
            .iter()
            .map(|row| {
                (
                    row.kind,
                    row.left.as_ref().map(|c| c.no),
                    row.right.as_ref().map(|c| c.no),
                )
            })
            .collect();
        assert_eq!(
            shape,
            [
                ("hunk", None, None),
                ("context", Some(1), Some(1)),
                ("change", Some(2), Some(2)),
                ("change", None, Some(3)),
                ("context", Some(3), Some(4)),
            ]
        );
    }

    #[test]
    fn long_diffs_are_paged() {
        let old: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let new: String = (0..100).map(|i| format!("LINE {i}\n")).collect();
        let options = DiffOptions {
            max_rows: 30,
            ..DiffOptions::default()
        };
        let first = diff(&old, &new, &options);
        assert_eq!(first.total_rows, 201);
        assert_eq!(first.lines.len(), 30);
        assert_eq!(first.next_offset, Some(30));
        assert_eq!(first.prev_offset, None);
        let last = diff(
            &old,
            &new,
            &DiffOptions {
                offset: 180,
                ..options
            },
        );
        assert_eq!(last.lines.len(), 21);
        assert_eq!(last.next_offset, None);
        assert_eq!(last.prev_offset, Some(150));
        // Past the end is an empty page, not a panic.
        let beyond = diff(
            &old,
            &new,
            &DiffOptions {
                offset: 10_000,
                ..options
            },
        );
        assert!(beyond.lines.is_empty());
    }

    #[test]
    fn a_rewritten_megabyte_page_draws_one_page_of_rows() {
        let old: String = (0..40_000)
            .map(|i| format!("old line {i} {}\n", i * 7))
            .collect();
        let new: String = (0..40_000)
            .map(|i| format!("new row {} {i}\n", i * 13))
            .collect();
        assert!(old.len() > 800_000);
        let diff = diff(&old, &new, &DiffOptions::default());
        assert!(diff.added > 0 && diff.removed > 0);
        assert_eq!(diff.lines.len(), DiffOptions::default().max_rows);
    }

    #[test]
    fn texts_without_a_final_newline_diff_cleanly() {
        let diff = diff("a\nb", "a\nc", &DiffOptions::default());
        let texts: Vec<_> = diff.lines.iter().skip(1).map(plain).collect();
        assert_eq!(texts, ["a", "b", "c"]);
    }
}
