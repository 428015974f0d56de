//! Line diffs between two texts, the one comparison both compact history (a revision stored as the
//! lines it shares with the next one) and blame (which lines a save kept) are built on.
//!
//! Lines keep their terminator (`"a\n"`), so the lines of a text concatenate back to it exactly, and
//! line boundaries are byte offsets a delta can copy between without splitting a UTF-8 character. The
//! diff (Myers, from `similar`) has a time budget: a pathological pair of texts (a 5 MB page rewritten
//! line by line) gets a correct but less minimal diff instead of stalling the save.

use std::ops::Range;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffTag};

/// How long one diff may search for a minimal answer before settling for a coarser one.
const BUDGET: Duration = Duration::from_millis(250);

/// A text cut into lines, each with its terminator.
pub(crate) struct Lines<'a> {
    /// The whole text.
    pub(crate) text: &'a str,
    pub(crate) lines: Vec<&'a str>,
    /// `starts[i]` is the byte offset of line `i`; one more entry holds the text's length.
    pub(crate) starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str) -> Lines<'a> {
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut starts = Vec::with_capacity(lines.len() + 1);
        let mut at = 0;
        for line in &lines {
            starts.push(at);
            at += line.len();
        }
        starts.push(at);
        Lines {
            text,
            lines,
            starts,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lines.len()
    }

    /// The byte range of lines `range`.
    pub(crate) fn bytes(&self, range: &Range<usize>) -> Range<usize> {
        self.starts[range.start]..self.starts[range.end]
    }
}

/// One run of a diff from `old` to `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Run {
    /// Lines `old` of the old text are lines `new` of the new text (same length).
    Same {
        old: Range<usize>,
        new: Range<usize>,
    },
    /// Lines `old` of the old text were replaced by lines `new` of the new text (either may be empty).
    Changed {
        old: Range<usize>,
        new: Range<usize>,
    },
}

/// The runs that turn `old` into `new`, in order, covering both texts.
pub(crate) fn diff(old: &Lines<'_>, new: &Lines<'_>) -> Vec<Run> {
    let deadline = Instant::now() + BUDGET;
    let ops = similar::capture_diff_slices_deadline(
        Algorithm::Myers,
        &old.lines,
        &new.lines,
        Some(deadline),
    );
    ops.iter()
        .map(|op| {
            let (tag, old, new) = op.as_tag_tuple();
            match tag {
                DiffTag::Equal => Run::Same { old, new },
                DiffTag::Delete | DiffTag::Insert | DiffTag::Replace => Run::Changed { old, new },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_keep_their_terminators() {
        let lines = Lines::new("a\nb\r\nc");
        assert_eq!(lines.lines, ["a\n", "b\r\n", "c"]);
        assert_eq!(lines.starts, [0, 2, 5, 6]);
        assert_eq!(lines.bytes(&(1..3)), 2..6);
        assert_eq!(Lines::new("").len(), 0);
    }

    #[test]
    fn runs_cover_both_texts() {
        let old = Lines::new("a\nb\nc\n");
        let new = Lines::new("a\nB\nc\nd\n");
        let runs = diff(&old, &new);
        assert_eq!(
            runs,
            [
                Run::Same {
                    old: 0..1,
                    new: 0..1
                },
                Run::Changed {
                    old: 1..2,
                    new: 1..2
                },
                Run::Same {
                    old: 2..3,
                    new: 2..3
                },
                Run::Changed {
                    old: 3..3,
                    new: 3..4
                },
            ]
        );
    }
}
