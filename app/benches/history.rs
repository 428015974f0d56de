//! History benchmark: the time to diff two revisions 5 000 apart of a 20 KB page that has 10 000
//! revisions, as the `/+diff` view does it (both texts read from storage, then the app's diff with
//! its default options: word-level marks, the first page of rows). Not a criterion bench: building
//! the history is a one-off; the diff is then timed over repeated runs and reported as median and
//! worst.
//!
//! ```sh
//! cargo bench -p app --bench history                      # 10 000 revisions, temp database
//! cargo bench -p app --bench history -- 20000             # another revision count
//! ```
//!
//! The page: 400 lines of about 50 bytes (20 KB). Each revision rewrites one line chosen by a fixed
//! pseudo-random sequence (and every tenth also inserts or deletes one), so revisions 5 000 apart
//! differ on most lines, the realistic worst case of a long-lived page.

use std::time::{Duration, Instant};

use quire::wiki::history::diff_rows::{diff, Diff, DiffOptions};
use storage::{Save, Storage};

const LINES: usize = 400;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let revisions: u64 = args
        .first()
        .map(|n| n.parse().expect("a revision count"))
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().expect("a temp dir");
    let storage = Storage::open(&dir.path().join("wiki.db")).expect("a database");

    let started = Instant::now();
    let mut random = 0x2545_f491_4f6c_dd1d_u64;
    let mut lines: Vec<String> = (0..LINES).map(|i| line(i, 0)).collect();
    for rev in 1..=revisions {
        random = xorshift(random);
        let at = (random % lines.len() as u64) as usize;
        lines[at] = line(at, rev);
        if rev % 10 == 0 {
            if random.is_multiple_of(2) && lines.len() > LINES / 2 {
                lines.remove(at);
            } else {
                lines.insert(at, line(at + 1000, rev));
            }
        }
        let text = lines.join("\n") + "\n";
        storage
            .save(Save {
                page: "Busy Page",
                text: &text,
                author: "bench",
                comment: "bench edit",
                base_rev: (rev > 1).then_some(rev - 1),
                time: Some(1_700_000_000 + rev as i64),
            })
            .expect("a save");
    }
    let size = storage
        .current("Busy Page")
        .expect("reading the page")
        .map_or(0, |r| r.meta.size);
    println!(
        "built {revisions} revisions of a {size}-byte page in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let (old_rev, new_rev) = (revisions / 4, revisions / 4 + revisions / 2);
    let (rows, median, worst) = time_diffs(30, || {
        let old = storage
            .revision("Busy Page", old_rev)
            .expect("reading a revision")
            .expect("old revision")
            .text;
        let new = storage
            .revision("Busy Page", new_rev)
            .expect("reading a revision")
            .expect("new revision")
            .text;
        diff(&old, &new, &DiffOptions::default())
    });
    println!(
        "diff r{old_rev} → r{new_rev} (load both + diff, {rows} rows): median {median:.2} ms, worst {worst:.2} ms over 30 runs"
    );
    rewritten_megabyte();
}

/// The worst case the diff view guards against: a 1 MB page whose every line changed. The line diff
/// stops refining at its deadline and only the first page of rows is drawn.
fn rewritten_megabyte() {
    let old: String = (0..50_000)
        .map(|i| format!("old line {i} {}\n", i * 7))
        .collect();
    let new: String = (0..50_000)
        .map(|i| format!("new row {} {i}\n", i * 13))
        .collect();
    let (rows, median, worst) = time_diffs(5, || diff(&old, &new, &DiffOptions::default()));
    println!(
        "diff of a rewritten {} KB page ({rows} rows, first page drawn): median {median:.0} ms, worst {worst:.0} ms over 5 runs",
        old.len() / 1024,
    );
}

fn line(index: usize, rev: u64) -> String {
    format!("Line {index:04} of the page, as revision {rev:06} left it: lorem ipsum.")
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

/// Times `diff_once` `runs` times: the rows of its diff, and the median and worst time in ms.
fn time_diffs(runs: usize, mut diff_once: impl FnMut() -> Diff) -> (usize, f64, f64) {
    let mut timings = Vec::new();
    let mut rows = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let shown = diff_once();
        timings.push(started.elapsed());
        rows = shown.total_rows;
        std::hint::black_box(shown);
    }
    timings.sort();
    (
        rows,
        ms(timings[timings.len() / 2]),
        ms(timings[timings.len() - 1]),
    )
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
