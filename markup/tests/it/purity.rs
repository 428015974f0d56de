//! Keeps the crate doc's invariant that markup is pure: no state kept between calls. A memo or a counter
//! needs interior mutability or a mutable static, so the source may name none; the only statics are the
//! read-only tables listed here.

use std::path::{Path, PathBuf};

/// Statics allowed, each a table built once and only read after: the sanitizer's policy and syntect's
/// syntax definitions.
const READ_ONLY_STATICS: [&str; 2] = ["POLICY", "SYNTAXES"];

/// What mutable shared state is made of.
const INTERIOR_MUTABILITY: [&str; 9] = [
    "Mutex",
    "RwLock",
    "RefCell",
    "Cell<",
    "Atomic",
    "OnceLock",
    "OnceCell",
    "thread_local!",
    "static mut",
];

#[test]
fn markup_keeps_no_state_between_calls() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut checked = 0;
    for path in rust_files(&src) {
        let text = std::fs::read_to_string(&path).unwrap();
        checked += 1;
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let at = format!("{}:{}: {line}", path.display(), number + 1);
            for word in INTERIOR_MUTABILITY {
                assert!(!code.contains(word), "state in markup ({word}) at {at}");
            }
            let declared = code.strip_prefix("pub ").unwrap_or(code);
            let declared = declared.strip_prefix("pub(crate) ").unwrap_or(declared);
            if let Some(rest) = declared.strip_prefix("static ") {
                let name = rest.split(':').next().unwrap_or(rest).trim();
                assert!(
                    READ_ONLY_STATICS.contains(&name),
                    "a new static in markup at {at}: if it is a read-only table, list it in READ_ONLY_STATICS"
                );
            }
        }
    }
    assert!(checked > 5, "read the sources in {}", src.display());
}

/// The `.rs` files under `dir`, in subfolders too.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("markup's source folder is readable") {
            let path = entry.expect("markup's source folder is readable").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                files.push(path);
            }
        }
    }
    files
}
