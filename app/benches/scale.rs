//! Scale benchmark (issue 16, "flat cost with size"): the same requests against wikis of 100,
//! 10 000 and 100 000 pages, through a real `quire serve`, so that a cost that grows with the wiki
//! shows as a ratio. Driven by `scripts/bench-scale.sh`; not a criterion bench, because building
//! a million revisions is a one-off and the figures are those of the real server process.
//!
//! ```sh
//! cargo bench -p app --bench scale -- build /tmp/scale-10000 10000     # pages, history, links
//! target/release/quire --data /tmp/scale-10000 reindex --quiet
//! cargo bench -p app --bench scale -- measure /tmp/scale-10000 target/release/quire 100 > 10k.tsv
//! cargo bench -p app --bench scale -- table 100.tsv 10k.tsv 100k.tsv
//! # one request alone (its label), say with another build of quire:
//! cargo bench -p app --bench scale -- measure /tmp/scale-10000 quire-before 100 'view of Popular (backlinks)'
//! ```
//!
//! The wiki is written through storage's import path (`Storage::import_page`: a page's whole
//! history in one transaction, with bulk durability), not through HTTP, and its links recorded with
//! `Storage::set_links`. With N pages: names of two capitalised words, every 50th a subpage of
//! `Team/`; each page 1 to 17 revisions (9 on average), each revision rewriting one line of about
//! a kilobyte of text; every page links to three others, to one of N/20 missing pages (the wanted
//! ones) and, for the first 10 000, to `Popular`; `Busy` has N revisions, so at 100 000 pages the
//! wiki holds about a million revisions and one page with 100 000. One page holds a rare word; the
//! most frequent word of the vocabulary is in nearly every page.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use storage::{ChangeKind, Durability, ImportedRevision, Options, Storage};

const SEED: u64 = 0x5343_414c_4531;
const VOCABULARY: usize = 5_000;
/// The word only one page holds.
const RARE_WORD: &str = "quizzaciously";
/// A page every size has, and the pages that link to it.
const POPULAR: &str = "Popular";
const POPULAR_LINKERS: usize = 10_000;
/// The page whose history is as long as the wiki has pages.
const BUSY: &str = "Busy";

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["build", dir, pages] => build(Path::new(dir), pages.parse().expect("a page count")),
        ["measure", dir, quire, runs, only @ ..] => measure(
            Path::new(dir),
            Path::new(quire),
            runs.parse().expect("a number of runs"),
            only.first().copied(),
        ),
        ["table", files @ ..] => table(files),
        [] => eprintln!(
            "usage: scale build DIR N | measure DIR QUIRE_BINARY RUNS [LABEL] | table TSV_FILES..."
        ),
        other => panic!("unknown arguments {other:?}"),
    }
}

/// splitmix64, as in the search benchmark.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    fn new(rng: &mut Rng) -> Vocabulary {
        const ONSETS: &[&str] = &[
            "b", "br", "c", "ch", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "l", "m", "n",
            "p", "pl", "r", "s", "sh", "st", "t", "th", "tr", "v", "w",
        ];
        const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou"];
        const CODAS: &[&str] = &["", "n", "r", "s", "t", "l", "m", "nd"];
        let mut seen = HashSet::new();
        let mut words = Vec::with_capacity(VOCABULARY);
        while words.len() < VOCABULARY {
            let syllables = 1 + usize::from(words.len() > 100) + rng.below(2);
            let mut word = String::new();
            for _ in 0..syllables {
                word.push_str(ONSETS[rng.below(ONSETS.len())]);
                word.push_str(VOWELS[rng.below(VOWELS.len())]);
                word.push_str(CODAS[rng.below(CODAS.len())]);
            }
            if word.len() > 2 && seen.insert(word.clone()) {
                words.push(word);
            }
        }
        let mut total = 0.0;
        let cumulative = (0..VOCABULARY)
            .map(|rank| {
                total += 1.0 / (rank as f64 + 1.0);
                total
            })
            .collect();
        Vocabulary { words, cumulative }
    }

    fn word(&self, rng: &mut Rng) -> &str {
        let total = self.cumulative[VOCABULARY - 1];
        let x = (rng.next() as f64 / u64::MAX as f64) * total;
        let rank = self
            .cumulative
            .partition_point(|&c| c < x)
            .min(VOCABULARY - 1);
        &self.words[rank]
    }

    /// The most frequent word: in nearly every page.
    fn common(&self) -> &str {
        &self.words[0]
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `count` page names; the first names are the same at every size (one seeded sequence).
fn page_names(vocabulary: &Vocabulary, rng: &mut Rng, count: usize) -> Vec<String> {
    let mut names = Vec::with_capacity(count);
    let mut seen: HashSet<String> = [POPULAR, BUSY].map(str::to_owned).into();
    while names.len() < count {
        let title = format!(
            "{}{}",
            capitalised(&vocabulary.words[100 + rng.below(VOCABULARY - 100)]),
            capitalised(&vocabulary.words[100 + rng.below(VOCABULARY - 100)])
        );
        let name = if names.len() % 50 == 49 {
            format!("Team/{title}")
        } else {
            title
        };
        if seen.insert(name.clone()) {
            names.push(name);
        }
    }
    names
}

fn line(vocabulary: &Vocabulary, rng: &mut Rng) -> String {
    let n = 8 + rng.below(12);
    let mut out = capitalised(vocabulary.word(rng));
    for _ in 1..n {
        out.push(' ');
        out.push_str(vocabulary.word(rng));
    }
    out.push('.');
    out
}

/// A page's history: each revision rewrites one line of the one before. Returns the texts, oldest
/// first, and the links of the last one.
fn history(
    vocabulary: &Vocabulary,
    rng: &mut Rng,
    name: &str,
    revisions: usize,
    links: &[String],
    extra: &str,
) -> Vec<String> {
    let mut lines: Vec<String> = (0..8).map(|_| line(vocabulary, rng)).collect();
    let footer = format!(
        "{}\n\nSee also {}.\n",
        extra,
        links
            .iter()
            .map(|target| format!("[[{target}]]"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let heading = format!("# {}\n\n", name.rsplit('/').next().unwrap_or(name));
    let mut texts = Vec::with_capacity(revisions);
    for r in 0..revisions {
        if r > 0 {
            let at = r % lines.len();
            lines[at] = line(vocabulary, rng);
        }
        texts.push(format!("{heading}{}\n\n{footer}", lines.join("\n\n")));
    }
    texts
}

fn build(dir: &Path, pages: usize) {
    std::fs::create_dir_all(dir).expect("create the data directory");
    // Saves in the measurement are anonymous and many: no hourly limit on this wiki.
    std::fs::write(
        dir.join("quire.toml"),
        "[spam]\nanonymous_saves_per_hour = 0\n",
    )
    .expect("write quire.toml");
    let storage = Storage::open_with(
        &dir.join("wiki.sqlite3"),
        &Options::default().durability(Durability::Bulk),
    )
    .expect("open the database");
    assert!(
        storage.is_empty().expect("read"),
        "{} already has pages",
        dir.display()
    );
    let mut rng = Rng(SEED);
    let vocabulary = Vocabulary::new(&mut rng);
    let names = page_names(&vocabulary, &mut rng, pages);
    let wanted: Vec<String> = (0..(pages / 20).max(5))
        .map(|i| format!("Wanted{i:05}"))
        .collect();
    let started = Instant::now();
    let mut revisions = 0;
    let write = |revisions: &mut usize, name: &str, texts: &[String], links: &[String]| {
        let imported: Vec<ImportedRevision<'_>> = texts
            .iter()
            .enumerate()
            .map(|(i, text)| ImportedRevision {
                text,
                original: None,
                author: ["alice", "bob", "carol", "dave"][i % 4],
                comment: "generated",
                time: 1_700_000_000 + *revisions as i64 + i as i64,
                kind: ChangeKind::Edit,
            })
            .collect();
        storage.import_page(name, &imported).expect("import");
        let targets: Vec<&str> = links
            .iter()
            .map(String::as_str)
            .filter(|t| *t != name)
            .collect();
        assert!(storage
            .set_links(name, texts.len() as u64, &targets)
            .expect("links"));
        *revisions += texts.len();
    };
    for (i, name) in names.iter().enumerate() {
        let mut links: Vec<String> = (0..3)
            .map(|_| names[rng.below(names.len())].clone())
            .collect();
        links.push(wanted[rng.below(wanted.len())].clone());
        if i < POPULAR_LINKERS {
            links.push(POPULAR.to_owned());
        }
        let extra = match i {
            7 => format!("A {RARE_WORD} remark."),
            _ => format!("The {} note.", vocabulary.common()),
        };
        let count = 1 + rng.below(17);
        let texts = history(&vocabulary, &mut rng, name, count, &links, &extra);
        write(&mut revisions, name, &texts, &links);
        if (i + 1) % 10_000 == 0 {
            eprintln!(
                "  {} pages, {revisions} revisions, {:.0} s",
                i + 1,
                started.elapsed().as_secs_f64()
            );
        }
    }
    let texts = history(&vocabulary, &mut rng, POPULAR, 3, &[], "");
    write(&mut revisions, POPULAR, &texts, &[]);
    let links = vec![names[0].clone()];
    let texts = history(&vocabulary, &mut rng, BUSY, pages, &links, "");
    write(&mut revisions, BUSY, &texts, &links);
    storage.sync().expect("sync");
    println!(
        "{} pages, {revisions} revisions, written in {:.1} s",
        pages + 2,
        started.elapsed().as_secs_f64()
    );
}

/// One request over a fresh connection (`Connection: close`): the status and the body.
fn http(port: u16, request: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, response)
}

fn get(port: u16, target: &str) -> (u16, String) {
    http(
        port,
        &format!("GET {target} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"),
    )
}

/// GET the editor (for the session cookie, the CSRF token and the revision it starts from), then
/// POST a new text with two links. The same 100 pages each run, so that measuring does not grow
/// the wiki: the first run creates them, later runs edit them.
fn save(port: u16, page: &str, run: usize) -> (u16, String) {
    let (_, form) = get(port, &format!("/+edit/{page}"));
    let cookie = form
        .lines()
        .find_map(|line| {
            line.strip_prefix("set-cookie: ")
                .or_else(|| line.strip_prefix("Set-Cookie: "))
        })
        .and_then(gateway::cookies::read_set_cookie)
        .and_then(|(name, value)| Some(gateway::cookies::header_value([(name, value?)])))
        .expect("a session cookie");
    let field = |name: &str| {
        form.split(&format!("name=\"{name}\" value=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_owned)
    };
    let csrf = field("csrf_token").expect("a CSRF token");
    let base_rev = field("base_rev").unwrap_or_default();
    let body = format!(
        "text=Saved+in+run+{run}x{}+linking+%5B%5BPopular%5D%5D+and+%5B%5BWanted00001%5D%5D.&action=save&base_rev={base_rev}&comment=&csrf_token={csrf}",
        std::process::id()
    );
    http(
        port,
        &format!(
            "POST /+edit/{page} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The requests measured: a label, the status expected, and the request for run `i`.
type Probe = (&'static str, u16, Box<dyn Fn(usize) -> (u16, String)>);

fn probes(port: u16, names: Vec<String>, common: String) -> Vec<Probe> {
    let names = std::rc::Rc::new(names);
    let view_names = names.clone();
    let suggest: Vec<String> = names[..20]
        .iter()
        .map(|n| n.chars().take(3).collect())
        .collect();
    vec![
        (
            "view",
            200,
            Box::new(move |i| get(port, &format!("/{}", view_names[20 + i % 50]))),
        ),
        (
            "404",
            404,
            Box::new(move |i| get(port, &format!("/NoSuchPage{i}"))),
        ),
        ("/+recent", 200, Box::new(move |_| get(port, "/+recent"))),
        (
            "/+recent?prefix=Team/",
            200,
            Box::new(move |_| get(port, "/+recent?prefix=Team%2F")),
        ),
        ("/+index", 200, Box::new(move |_| get(port, "/+index"))),
        (
            "/+index?prefix=Team/",
            200,
            Box::new(move |_| get(port, "/+index?prefix=Team%2F")),
        ),
        ("/+orphans", 200, Box::new(move |_| get(port, "/+orphans"))),
        ("/+wanted", 200, Box::new(move |_| get(port, "/+wanted"))),
        (
            "/+suggest",
            200,
            Box::new(move |i| get(port, &format!("/+suggest?q={}", suggest[i % 20]))),
        ),
        (
            "/+history of Busy",
            200,
            Box::new(move |_| get(port, &format!("/+history/{BUSY}"))),
        ),
        (
            "view of Popular (backlinks)",
            200,
            Box::new(move |_| get(port, &format!("/{POPULAR}"))),
        ),
        (
            "search, rare word",
            200,
            Box::new(move |_| get(port, &format!("/+search?q={RARE_WORD}"))),
        ),
        (
            "search, common word",
            200,
            Box::new(move |_| get(port, &format!("/+search?q={common}"))),
        ),
        (
            "save (GET editor + POST)",
            303,
            Box::new(move |i| save(port, &format!("BenchSave{}", i % 100), i)),
        ),
    ]
}

/// Starts `quire serve` on `dir`, times each probe (or only the one labelled `only`) `runs` times
/// after one warm-up pass (at most 30 s a probe, and at least 10 runs), and prints
/// `label\tp50_ms\tp99_ms\truns` lines, then the server's RSS.
fn measure(dir: &Path, quire: &Path, runs: usize, only: Option<&str>) {
    let mut rng = Rng(SEED);
    let vocabulary = Vocabulary::new(&mut rng);
    let names = page_names(&vocabulary, &mut rng, 100);
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("addr")
        .port();
    let mut server = Command::new(quire)
        .arg("--data")
        .arg(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("QUIRE_LOG", "warn")
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start quire serve");
    let deadline = Instant::now() + Duration::from_secs(600);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "quire serve did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut probes = probes(port, names, vocabulary.common().to_owned());
    if let Some(only) = only {
        probes.retain(|(label, ..)| *label == only);
        assert!(!probes.is_empty(), "no request is labelled {only:?}");
    }
    // Warm up: the render cache and the pages each request touches.
    for (label, status, probe) in &probes {
        for i in 0..50 {
            let (got, body) = probe(i + 1_000_000);
            assert_eq!(got, *status, "{label}: {}", &body[..body.len().min(2000)]);
            if *label != "view" {
                break;
            }
        }
    }
    for (label, status, probe) in &probes {
        let mut times = Vec::with_capacity(runs);
        let started = Instant::now();
        for i in 0..runs {
            if i >= 10 && started.elapsed() > Duration::from_secs(30) {
                break;
            }
            let took = Instant::now();
            let (got, _) = probe(i);
            times.push(took.elapsed());
            assert_eq!(got, *status, "{label}");
        }
        times.sort();
        println!(
            "{label}\t{:.2}\t{:.2}\t{}",
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.99).as_secs_f64() * 1e3,
            times.len()
        );
    }
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", server.id())).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .map(|v| v.trim().to_owned())
        .unwrap_or_default();
    println!("RSS\t{rss}");
    let _ = server.kill();
    let _ = server.wait();
}

/// The markdown table of `measure` outputs, smallest wiki first: p50 and p99 at each size and
/// the ratio of the last to the first.
fn table(files: &[&str]) {
    let runs: Vec<Vec<(String, String, String)>> = files
        .iter()
        .map(|file| {
            std::fs::read_to_string(file)
                .expect("read a measure output")
                .lines()
                .filter_map(|line| {
                    let mut parts = line.split('\t');
                    Some((
                        parts.next()?.to_owned(),
                        parts.next()?.to_owned(),
                        parts.next().unwrap_or("").to_owned(),
                    ))
                })
                .collect()
        })
        .collect();
    let sizes: Vec<String> = files
        .iter()
        .map(|f| {
            Path::new(f)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    print!("| request (p50 / p99 ms) |");
    for size in &sizes {
        print!(" {size} |");
    }
    println!(" ratio p50 / p99 |");
    println!("|---|{}---:|", "---:|".repeat(sizes.len()));
    let Some(first) = runs.first() else { return };
    for (row, (label, ..)) in first.iter().enumerate() {
        print!("| {label} |");
        for run in &runs {
            let (_, a, b) = &run[row];
            if label == "RSS" {
                print!(" {a} |");
            } else {
                print!(" {a} / {b} |");
            }
        }
        let ratio = |pick: fn(&(String, String, String)) -> &String| {
            let low: f64 = pick(&first[row]).parse().unwrap_or(f64::NAN);
            let high: f64 = runs
                .last()
                .and_then(|run| pick(&run[row]).parse().ok())
                .unwrap_or(f64::NAN);
            high / low
        };
        if label == "RSS" {
            println!(" |");
        } else {
            println!(" ×{:.1} / ×{:.1} |", ratio(|r| &r.1), ratio(|r| &r.2));
        }
    }
}
