//! Three-way merge of concurrent edits, so a save based on an old revision loses nothing.
//!
//! When two people edit the same page, the second save finds the page moved on. Its text, the
//! revision its editor started from (the base) and the page as it is now (theirs) go through
//! `diffy::merge`: changes to different lines combine into one text that is saved at once; changes
//! to the same lines come back as a text with conflict markers for the user to resolve, their own
//! text kept beside it. diffy labels the sides "ours" and "theirs"; the markers are relabelled here
//! so a reader knows which side is whose.

/// What a merge gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Merged {
    /// Both changes apply; this text holds them.
    Clean(String),
    /// Some lines were changed on both sides: `text` holds both versions between conflict markers.
    Conflicts { text: String, count: usize },
}

/// Merges `mine` and `theirs`, both edits of `base`.
pub fn three_way(base: &str, mine: &str, theirs: &str, their_label: &str) -> Merged {
    let mut options = diffy::MergeOptions::new();
    options.set_conflict_style(diffy::ConflictStyle::Merge);
    match options.merge(base, mine, theirs) {
        Ok(text) => Merged::Clean(text),
        Err(text) => relabel(&text, their_label),
    }
}

fn relabel(text: &str, their_label: &str) -> Merged {
    let mut out = String::with_capacity(text.len() + 64);
    let mut count = 0;
    for line in text.split_inclusive('\n') {
        let (body, ending) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        match body {
            "<<<<<<< ours" => {
                count += 1;
                out.push_str("<<<<<<< your text");
            }
            ">>>>>>> theirs" => {
                out.push_str(">>>>>>> ");
                out.push_str(their_label);
            }
            _ => out.push_str(body),
        }
        out.push_str(ending);
    }
    Merged::Conflicts { text: out, count }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "one\ntwo\nthree\nfour\nfive\n";

    #[test]
    fn changes_to_different_lines_merge_cleanly() {
        let mine = "ONE\ntwo\nthree\nfour\nfive\n";
        let theirs = "one\ntwo\nthree\nfour\nFIVE\n";
        assert_eq!(
            three_way(BASE, mine, theirs, "r2"),
            Merged::Clean("ONE\ntwo\nthree\nfour\nFIVE\n".into())
        );
    }

    #[test]
    fn the_same_change_on_both_sides_is_clean() {
        let both = "one\n2\nthree\nfour\nfive\n";
        assert_eq!(
            three_way(BASE, both, both, "r2"),
            Merged::Clean(both.into())
        );
    }

    #[test]
    fn changes_to_the_same_line_keep_both_between_labelled_markers() {
        let mine = "one\nmy two\nthree\nfour\nfive\n";
        let theirs = "one\ntheir two\nthree\nfour\nfive\n";
        let Merged::Conflicts { text, count } = three_way(BASE, mine, theirs, "revision 2 by bob")
        else {
            panic!("expected a conflict");
        };
        assert_eq!(count, 1);
        assert_eq!(
            text,
            "one\n<<<<<<< your text\nmy two\n=======\ntheir two\n>>>>>>> revision 2 by bob\nthree\nfour\nfive\n"
        );
    }

    #[test]
    fn nothing_is_lost_without_final_newlines() {
        let Merged::Conflicts { text, .. } = three_way("a", "mine", "theirs", "r2") else {
            panic!("expected a conflict");
        };
        assert!(text.contains("mine") && text.contains("theirs"), "{text}");
    }
}
