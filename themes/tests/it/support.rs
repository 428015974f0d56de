//! Sample contexts: `contexts/common.json` (keys every template gets) merged with
//! `contexts/<template>.json`. They double as the written contract with the app.

use std::path::PathBuf;

use serde_json::Value;

fn contexts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/contexts")
}

fn read_json(name: &str) -> Value {
    let path = contexts_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The full sample context for `template` (e.g. "page.html").
pub fn context(template: &str) -> Value {
    let mut merged = read_json("common.json");
    let stem = template
        .strip_suffix(".html")
        .expect("templates end in .html");
    let Value::Object(specific) = read_json(&format!("{stem}.json")) else {
        panic!("{stem}.json must hold an object");
    };
    let Value::Object(common) = &mut merged else {
        panic!("common.json must hold an object");
    };
    common.extend(specific);
    merged
}

/// Templates meant to be rendered directly: all built-ins but the layout and the parts it
/// includes.
pub fn page_templates() -> Vec<&'static str> {
    themes::Themes::builtin_templates()
        .filter(|name| *name != "base.html" && !name.starts_with("parts/"))
        .collect()
}

/// `context` drawn in `theme` and `mode`.
pub fn in_theme(mut context: Value, theme: &str, mode: &str) -> Value {
    context["theme"]["name"] = Value::from(theme);
    context["theme"]["mode"] = Value::from(mode);
    context
}

/// One step of a path into a JSON value.
#[derive(Debug, Clone)]
pub enum Step {
    Key(String),
    /// Every element of an array.
    Each,
}

/// Every key path in `value`, to objects' keys at any depth (through arrays).
pub fn key_paths(value: &Value) -> Vec<Vec<Step>> {
    let mut paths = Vec::new();
    walk(value, &mut Vec::new(), &mut paths);
    paths
}

fn walk(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                prefix.push(Step::Key(key.clone()));
                out.push(prefix.clone());
                walk(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            // Keys of the first object stand for all (samples have uniform elements).
            if let Some(first) = items.first() {
                prefix.push(Step::Each);
                walk(first, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// `value` with the key at `path` removed (from every element where the path says `Each`).
pub fn without(value: &Value, path: &[Step]) -> Value {
    let mut copy = value.clone();
    remove(&mut copy, path);
    copy
}

fn remove(value: &mut Value, path: &[Step]) {
    match (path, value) {
        ([Step::Key(key)], Value::Object(map)) => {
            map.remove(key);
        }
        ([Step::Key(key), rest @ ..], Value::Object(map)) => {
            if let Some(child) = map.get_mut(key) {
                remove(child, rest);
            }
        }
        ([Step::Each, rest @ ..], Value::Array(items)) => {
            for item in items {
                remove(item, rest);
            }
        }
        _ => {}
    }
}

pub fn describe(path: &[Step]) -> String {
    path.iter()
        .map(|step| match step {
            Step::Key(key) => key.as_str(),
            Step::Each => "[]",
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The content hash the tests load themes with: a stand-in of the right shape for the one the
/// app hands in (the gateway's), which this crate cannot name. Stable within one build, which is
/// all a test needs.
pub fn content_hash(bytes: &[u8]) -> String {
    use std::hash::{DefaultHasher, Hasher};
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    format!("{:016x}", hasher.finish())
}
