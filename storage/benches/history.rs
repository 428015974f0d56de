//! A long page history: a ~20 KB page with 10 000 revisions of realistic edits (a few lines changed,
//! added or removed per save, the size kept near 20 KB), on a real file.
//! `cargo bench -p storage --bench history`.
//!
//! Prints the bytes on disk against the raw bytes of all revisions, and the time of the initial saves
//! and of a cold blame (rebuilt from the whole history); criterion then times history page 1, reading
//! two revisions 5 000 apart (and diffing them by lines), blame as kept by the saves, a filtered
//! recent-changes page, and one more save. Nothing is asserted about the figures.
#![expect(
    missing_docs,
    reason = "criterion_group! defines a public function and gives it no doc"
)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use storage::{Save, SaveOutcome, Storage};

const REVISIONS: u64 = 10_000;
const TARGET_BYTES: usize = 20 * 1024;
const PAGE: &str = "Team/Handbook";

/// A small deterministic generator (xorshift64*), so every run edits the same way.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const WORDS: &[&str] = &[
    "the",
    "team",
    "deploys",
    "on",
    "Tuesday",
    "review",
    "every",
    "change",
    "before",
    "merging",
    "ask",
    "in",
    "the",
    "channel",
    "if",
    "unsure",
    "[[OnCall]]",
    "rota",
    "is",
    "kept",
    "up",
    "to",
    "date",
    "by",
    "whoever",
    "swaps",
    "a",
    "shift",
    "see",
    "`make",
    "release`",
    "and",
];

fn sentence(rng: &mut Rng) -> String {
    let n = 6 + rng.below(14);
    let words: Vec<&str> = (0..n).map(|_| WORDS[rng.below(WORDS.len())]).collect();
    format!("{}.", words.join(" "))
}

fn line(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => format!("## {}", sentence(rng)),
        1 | 2 => format!("- {}", sentence(rng)),
        3 => String::new(),
        _ => format!("{} {}", sentence(rng), sentence(rng)),
    }
}

/// One save's worth of editing: mostly a line reworded, sometimes lines added or removed, keeping
/// the page near its target size.
fn edit(rng: &mut Rng, lines: &mut Vec<String>) {
    let size: usize = lines.iter().map(|l| l.len() + 1).sum();
    let edits = 1 + rng.below(3);
    for _ in 0..edits {
        let at = rng.below(lines.len().max(1));
        match rng.below(10) {
            _ if size < TARGET_BYTES - 1024 => lines.insert(at, line(rng)),
            _ if size > TARGET_BYTES + 1024 && !lines.is_empty() => {
                lines.remove(at);
            }
            0..=5 if !lines.is_empty() => {
                let mut words: Vec<String> = lines[at].split(' ').map(str::to_owned).collect();
                let w = rng.below(words.len());
                words[w] = WORDS[rng.below(WORDS.len())].to_owned();
                lines[at] = words.join(" ");
            }
            6 | 7 => lines.insert(at, line(rng)),
            _ if !lines.is_empty() => {
                lines.remove(at);
            }
            _ => lines.push(line(rng)),
        }
    }
}

/// Saves and returns the current revision number and whether this save wrote it (a random edit can
/// give back the same text).
fn save(storage: &Storage, text: &str, base: Option<u64>, author: &str) -> (u64, bool) {
    match storage
        .save(Save {
            page: PAGE,
            text,
            author,
            comment: "edit",
            base_rev: base,
            time: None,
        })
        .expect("the bench database is writable")
    {
        SaveOutcome::Saved { rev } => (rev, true),
        SaveOutcome::Unchanged { rev } => (rev, false),
        other => panic!("a bench save conflicted: {other:?}"),
    }
}

fn build(storage: &Storage) -> (u64, Vec<String>) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut lines = Vec::new();
    while lines.iter().map(|l: &String| l.len() + 1).sum::<usize>() < TARGET_BYTES {
        lines.push(line(&mut rng));
    }
    let authors = ["ann", "bob", "cy", "dee", "eve"];
    let mut raw: u64 = 0;
    let mut base = None;
    let start = Instant::now();
    while base.unwrap_or(0) < REVISIONS {
        let text = lines.join("\n");
        let (rev, written) = save(storage, &text, base, authors[rng.below(authors.len())]);
        if written {
            raw += text.len() as u64;
        }
        base = Some(rev);
        edit(&mut rng, &mut lines);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{REVISIONS} saves in {secs:.1} s ({:.2} ms per save, diff + compaction + blame included)",
        secs * 1000.0 / REVISIONS as f64
    );
    (raw, lines)
}

fn history(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("history.db");
    let storage = Storage::open(&path).expect("the bench database opens");
    let (raw, mut lines) = build(&storage);

    {
        // Everything in the main file, free pages dropped: what a backup of the wiki weighs.
        let conn = rusqlite::Connection::open(&path).expect("the bench database opens");
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("checkpoint");
        let (pages, free): (i64, i64) = conn
            .query_row(
                "SELECT (SELECT page_count FROM pragma_page_count()), \
                        (SELECT freelist_count FROM pragma_freelist_count())",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .expect("page counts");
        println!(
            "database file as saved: {} bytes, {pages} pages of which {free} free",
            std::fs::metadata(&path).expect("the database file").len()
        );
        // VACUUM writes through the WAL; the second checkpoint moves it into the main file.
        conn.execute_batch(
            "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; PRAGMA wal_checkpoint(TRUNCATE);",
        )
        .expect("checkpoint and vacuum");
        let free: i64 = conn
            .query_row("PRAGMA freelist_count", [], |row| row.get(0))
            .expect("freelist count");
        println!("free pages after vacuum: {free}");
        let bodies: i64 = conn
            .query_row("SELECT SUM(length(body)) FROM revisions", [], |row| {
                row.get(0)
            })
            .expect("sum of stored bodies");
        let disk = std::fs::metadata(&path).expect("the database file").len();
        let current = storage
            .current(PAGE)
            .expect("read")
            .expect("the page exists");
        println!(
            "raw text of all revisions: {raw} bytes ({:.1} MB); stored bodies: {bodies} bytes; \
             database file: {disk} bytes ({:.2} MB) = {:.2}% of raw; current text: {} bytes",
            raw as f64 / 1e6,
            disk as f64 / 1e6,
            disk as f64 * 100.0 / raw as f64,
            current.meta.size
        );
        let cold = Instant::now();
        conn.execute("DELETE FROM blame", []).expect("forget blame");
        let blamed = storage
            .blame(PAGE)
            .expect("blame")
            .expect("the page exists");
        println!(
            "cold blame (rebuilt by walking the history): {:.1} ms for {} lines",
            cold.elapsed().as_secs_f64() * 1000.0,
            blamed.len()
        );
    }

    c.bench_function("history page 1 (50 rows)", |b| {
        b.iter(|| storage.history(black_box(PAGE), 50, 0).expect("history"))
    });
    c.bench_function("read revisions 2500 and 7500", |b| {
        b.iter(|| {
            let old = storage.revision(PAGE, black_box(2_500)).expect("read");
            let new = storage.revision(PAGE, black_box(7_500)).expect("read");
            (old, new)
        })
    });
    c.bench_function("read revisions 2500 and 7500 and diff them by lines", |b| {
        b.iter(|| {
            let old = storage
                .revision(PAGE, 2_500)
                .expect("read")
                .expect("exists");
            let new = storage
                .revision(PAGE, 7_500)
                .expect("read")
                .expect("exists");
            let diff = similar::TextDiff::from_lines(&old.text, &new.text);
            diff.unified_diff().to_string().len()
        })
    });
    c.bench_function("read the current revision", |b| {
        b.iter(|| storage.current(black_box(PAGE)).expect("read"))
    });
    c.bench_function("blame (kept at save time)", |b| {
        b.iter(|| storage.blame(black_box(PAGE)).expect("blame"))
    });
    c.bench_function("recent changes page 1 by ann under Team/ (50 rows)", |b| {
        b.iter(|| {
            storage
                .recent(&storage::RecentQuery {
                    limit: 50,
                    before: None,
                    author: Some("ann".to_owned()),
                    prefix: Some("Team/".to_owned()),
                })
                .expect("recent")
        })
    });
    let mut rng = Rng(7);
    c.bench_function("save one more revision", |b| {
        b.iter(|| {
            edit(&mut rng, &mut lines);
            let base = storage.current(PAGE).expect("read").map(|r| r.meta.rev);
            save(&storage, &lines.join("\n"), base, "bench")
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = history
}
criterion_main!(benches);
