//! A damaged index is derived state, not an error: whether its commit metadata is garbled or its
//! segment files are cut short or gone, the first search or update finds out, moves to a new empty
//! generation (watermark 0, so the app's catch-up refills it from the logs) and answers, and every
//! process agrees on the new generation.

use std::fs;
use std::path::{Path, PathBuf};

use search::{PageDoc, SearchIndex, Visible, Watermark, MIN_WRITER_HEAP};

/// An index of three pages at revision 3, in `DIR/index`.
fn indexed(dir: &Path) -> (PathBuf, SearchIndex) {
    let root = dir.join("index");
    let index = SearchIndex::new(&root);
    let mut update = index.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
    for name in ["Alpha", "Beta", "Gamma"] {
        update
            .put(&PageDoc {
                name,
                text: "the quick brown fox",
                author: "alice",
                time: 1_700_000_000,
            })
            .unwrap();
    }
    update.commit(3).unwrap();
    assert_eq!(index.search("fox", Visible::All, 0, 10).unwrap().total, 3);
    (root, index)
}

/// The files of generation 1 that tantivy's segments are made of.
fn segment_files(root: &Path) -> Vec<PathBuf> {
    fs::read_dir(root.join("gen-1"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            !name.starts_with('.') && !name.ends_with(".json") && !name.ends_with(".lock")
        })
        .collect()
}

/// What a process that opens the damaged index finds: an empty, working index on generation 2,
/// the damaged one deleted, and catching up refills it.
fn replaced_and_refillable(root: &Path) {
    let fresh = SearchIndex::new(root);
    let results = fresh.search("fox", Visible::All, 0, 10).unwrap();
    assert_eq!(results.total, 0, "a new generation holds nothing yet");
    assert_eq!(fresh.watermark().unwrap(), Watermark::default());
    assert_eq!(
        fs::read_to_string(root.join("CURRENT")).unwrap().trim(),
        "2"
    );
    assert!(
        !root.join("gen-1").exists(),
        "the damaged generation is deleted"
    );
    let mut update = fresh.try_update(MIN_WRITER_HEAP).unwrap().unwrap();
    update
        .put(&PageDoc {
            name: "Alpha",
            text: "the quick brown fox",
            author: "alice",
            time: 1_700_000_000,
        })
        .unwrap();
    update.commit(3).unwrap();
    assert_eq!(fresh.search("fox", Visible::All, 0, 10).unwrap().total, 1);
    assert_eq!(SearchIndex::new(root).indexed_up_to().unwrap(), 3);
}

#[test]
fn garbled_commit_metadata_is_replaced_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _running) = indexed(dir.path());
    fs::write(root.join("gen-1/meta.json"), b"{\"segments\": [tr").unwrap();
    replaced_and_refillable(&root);
}

#[test]
fn segment_files_cut_short_are_replaced_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let (root, running) = indexed(dir.path());
    // The process that had it open lets go first: its memory maps must not see the cut.
    drop(running);
    let files = segment_files(&root);
    assert!(!files.is_empty());
    for path in files {
        let len = fs::metadata(&path).unwrap().len();
        fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
    }
    replaced_and_refillable(&root);
}

#[test]
fn missing_segment_files_are_replaced_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let (root, running) = indexed(dir.path());
    drop(running);
    for path in segment_files(&root) {
        fs::remove_file(path).unwrap();
    }
    replaced_and_refillable(&root);
}

/// A running process whose index is damaged under it sees it on its next search (the metadata it
/// rereads no longer parses), and moves to a new generation without an error.
#[test]
fn damage_under_a_running_process_is_replaced_on_its_next_search() {
    let dir = tempfile::tempdir().unwrap();
    let (root, running) = indexed(dir.path());
    fs::write(root.join("gen-1/meta.json"), b"not json at all").unwrap();
    let results = running.search("fox", Visible::All, 0, 10).unwrap();
    assert_eq!(results.total, 0);
    assert_eq!(running.watermark().unwrap(), Watermark::default());
    assert_eq!(
        fs::read_to_string(root.join("CURRENT")).unwrap().trim(),
        "2"
    );
}
