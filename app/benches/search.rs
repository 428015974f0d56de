//! Search benchmark: a deterministic corpus generator, a fixed query set, and the measurements
//! BENCHMARKS.md reports. Not a criterion bench: building 100 000 pages is a one-off, and the build
//! itself is measured as the real `quire reindex` process under `/usr/bin/time -v`.
//!
//! ```sh
//! cargo bench -p app --bench search -- corpus /tmp/wiki-10k 10000    # write N pages into a data dir
//! /usr/bin/time -v target/release/quire --data /tmp/wiki-10k reindex --quiet
//! cargo bench -p app --bench search -- queries /tmp/wiki-10k         # p50/p99 over the query set
//! cargo bench -p app --bench search -- freshness /tmp/wiki-10k target/release/quire
//! ```
//!
//! The corpus: page names of two or three words (a fifth of them subpages), bodies of 150 to 2 500
//! words drawn from a 30 000-word vocabulary with Zipf frequencies (exponent 1), laid out as real
//! Markdown: headings, paragraphs with emphasis, wiki links and code, lists, tables, code blocks.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use search::{SearchIndex, Visible};
use storage::{Save, Storage};

const SEED: u64 = 0x5157_4952_4531;
const VOCABULARY: usize = 30_000;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["corpus", dir, pages] => corpus(Path::new(dir), pages.parse().expect("a page count")),
        ["queries", dir, only @ ..] => queries(Path::new(dir), only),
        ["freshness", dir, quire] => freshness(Path::new(dir), Path::new(quire)),
        [] => eprintln!(
            "usage: search corpus DIR N | queries DIR [QUERY...] | freshness DIR QUIRE_BINARY"
        ),
        other => panic!("unknown arguments {other:?}"),
    }
}

/// splitmix64: small, fast, and the same everywhere.
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
    fn range(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Words and their Zipf sampler.
struct Vocabulary {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    fn new(rng: &mut Rng) -> Vocabulary {
        const ONSETS: &[&str] = &[
            "b", "br", "c", "ch", "d", "dr", "f", "fl", "g", "gr", "h", "j", "k", "l", "m", "n",
            "p", "pl", "qu", "r", "s", "sh", "st", "t", "th", "tr", "v", "w", "z",
        ];
        const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ea", "ou", "y"];
        const CODAS: &[&str] = &["", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ck"];
        let mut seen = HashSet::new();
        let mut words = Vec::with_capacity(VOCABULARY);
        while words.len() < VOCABULARY {
            // Frequent words are short, as in real text.
            let syllables =
                1 + usize::from(words.len() > 100) + usize::from(words.len() > 3000) + rng.below(2);
            let mut word = String::new();
            for _ in 0..syllables {
                word.push_str(ONSETS[rng.below(ONSETS.len())]);
                word.push_str(VOWELS[rng.below(VOWELS.len())]);
                word.push_str(CODAS[rng.below(CODAS.len())]);
            }
            if seen.insert(word.clone()) {
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

    fn words(&self, rng: &mut Rng, n: usize) -> Vec<&str> {
        (0..n).map(|_| self.word(rng)).collect()
    }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn page_names(vocabulary: &Vocabulary, rng: &mut Rng, count: usize) -> Vec<String> {
    let mut names: Vec<String> = Vec::with_capacity(count);
    let mut seen = HashSet::new();
    while names.len() < count {
        let words = rng.range(2, 3);
        let title: String = (0..words)
            .map(|_| capitalised(vocabulary.word(rng)))
            .collect();
        let name = if names.len() > 10 && rng.chance(20) {
            format!(
                "{}/{title}",
                names[rng.below(names.len())]
                    .split('/')
                    .next()
                    .unwrap_or("Top")
            )
        } else {
            title
        };
        if seen.insert(name.clone()) {
            names.push(name);
        }
    }
    names
}

fn sentence(vocabulary: &Vocabulary, rng: &mut Rng, names: &[String]) -> String {
    let words = {
        let n = rng.range(6, 18);
        vocabulary.words(rng, n)
    };
    let mut out = String::new();
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match rng.below(60) {
            0 => out.push_str(&format!("**{word}**")),
            1 => out.push_str(&format!("*{word}*")),
            2 => out.push_str(&format!("`{word}`")),
            3 => out.push_str(&format!("[[{}]]", names[rng.below(names.len())])),
            _ if i == 0 => out.push_str(&capitalised(word)),
            _ => out.push_str(word),
        }
    }
    out.push('.');
    out
}

fn page_text(vocabulary: &Vocabulary, rng: &mut Rng, name: &str, names: &[String]) -> String {
    let target_words =
        (150.0 * (2500.0f64 / 150.0).powf(rng.next() as f64 / u64::MAX as f64)) as usize;
    let mut text = format!("# {}\n\n", name.rsplit('/').next().unwrap_or(name));
    let mut written = 0;
    while written < target_words {
        match rng.below(12) {
            0 => {
                let heading = {
                    let n = rng.range(1, 4);
                    vocabulary.words(rng, n)
                }
                .join(" ");
                text.push_str(&format!("## {}\n\n", capitalised(&heading)));
            }
            1 => {
                for _ in 0..rng.range(3, 6) {
                    let item = {
                        let n = rng.range(2, 8);
                        vocabulary.words(rng, n)
                    }
                    .join(" ");
                    text.push_str(&format!("- {item}\n"));
                    written += 5;
                }
                text.push('\n');
            }
            2 if rng.chance(30) => {
                text.push_str("| key | value |\n|---|---|\n");
                for _ in 0..rng.range(2, 5) {
                    text.push_str(&format!(
                        "| {} | {} |\n",
                        vocabulary.word(rng),
                        vocabulary.words(rng, 3).join(" ")
                    ));
                    written += 4;
                }
                text.push('\n');
            }
            3 if rng.chance(30) => {
                text.push_str("```\n");
                for _ in 0..rng.range(2, 6) {
                    text.push_str(&format!(
                        "{}({});\n",
                        vocabulary.word(rng),
                        vocabulary.word(rng)
                    ));
                    written += 2;
                }
                text.push_str("```\n\n");
            }
            _ => {
                for _ in 0..rng.range(2, 6) {
                    let s = sentence(vocabulary, rng, names);
                    written += s.split(' ').count();
                    text.push_str(&s);
                    text.push(' ');
                }
                text.push_str("\n\n");
            }
        }
    }
    text
}

fn corpus(dir: &Path, pages: usize) {
    std::fs::create_dir_all(dir).expect("create the data directory");
    let storage = Storage::open(&dir.join("wiki.sqlite3")).expect("open the database");
    assert!(
        storage.is_empty().expect("read"),
        "{} already has pages",
        dir.display()
    );
    let mut rng = Rng(SEED);
    let vocabulary = Vocabulary::new(&mut rng);
    let names = page_names(&vocabulary, &mut rng, pages);
    let started = Instant::now();
    let mut bytes = 0;
    for (i, name) in names.iter().enumerate() {
        let text = page_text(&vocabulary, &mut rng, name, &names);
        bytes += text.len();
        storage
            .save(Save {
                page: name,
                text: &text,
                author: ["alice", "bob", "carol", "dave"][i % 4],
                comment: "generated",
                base_rev: None,
                time: Some(1_700_000_000 + i as i64 * 60),
            })
            .expect("save");
    }
    println!(
        "{pages} pages, {:.1} MB of Markdown, written in {:.1} s",
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
}

/// The fixed query set: words of every frequency, pairs, phrases, prefixes, fields, OR, NOT.
fn query_set() -> Vec<String> {
    let mut rng = Rng(SEED);
    let vocabulary = Vocabulary::new(&mut rng);
    let mut rng = Rng(SEED ^ 0xABCD);
    let w = |rank: usize| vocabulary.words[rank].clone();
    let mut queries = Vec::new();
    for i in 0..20 {
        queries.push(w(i * 2));
        queries.push(w(500 + i * 70));
        queries.push(w(5000 + i * 1200));
    }
    for _ in 0..20 {
        queries.push(format!("{} {}", w(rng.below(300)), w(rng.range(300, 5000))));
    }
    for _ in 0..10 {
        queries.push(format!("\"{} {}\"", w(rng.below(50)), w(rng.below(50))));
    }
    for i in 0..10 {
        let word = w(i * 5 + 3);
        let cut = word.char_indices().nth(3).map_or(word.len(), |(at, _)| at);
        queries.push(format!("{}*", &word[..cut]));
    }
    for _ in 0..10 {
        queries.push(format!("title:{}", w(rng.below(2000))));
    }
    for _ in 0..10 {
        queries.push(format!(
            "{} OR {}",
            w(rng.range(100, 3000)),
            w(rng.range(100, 3000))
        ));
    }
    for _ in 0..5 {
        queries.push(format!("{} -{}", w(rng.below(100)), w(rng.below(100))));
    }
    queries
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn queries(dir: &Path, only: &[&str]) {
    let index = SearchIndex::new(&dir.join("index"));
    let set: Vec<String> = match only {
        [] => query_set(),
        only => only.iter().map(|q| q.to_string()).collect(),
    };
    // Warm up: open the index, fault in the files a query touches.
    for q in &set {
        index.search(q, Visible::All, 0, 20).expect("search");
    }
    let mut times = Vec::new();
    let mut slowest: Vec<(Duration, &str)> = Vec::new();
    let mut total_hits = 0;
    for _ in 0..5 {
        for q in &set {
            let started = Instant::now();
            let results = index.search(q, Visible::All, 0, 20).expect("search");
            let took = started.elapsed();
            times.push(took);
            slowest.push((took, q));
            total_hits += results.total;
        }
    }
    times.sort();
    slowest.sort_by_key(|(took, _)| std::cmp::Reverse(*took));
    let mut seen = HashSet::new();
    slowest.retain(|(_, q)| seen.insert(*q));
    for (took, q) in slowest.iter().take(8) {
        println!("  slow: {:>7.2} ms  {q}", took.as_secs_f64() * 1e3);
    }
    let suggest_started = Instant::now();
    for q in &set {
        index
            .suggest(&q[..q.len().min(3)], Visible::All, 10)
            .expect("suggest");
    }
    let suggest = suggest_started.elapsed() / set.len() as u32;
    println!(
        "{} queries x5: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (mean {} hits per query); suggest mean {:.2} ms",
        set.len(),
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
        total_hits / times.len(),
        suggest.as_secs_f64() * 1e3,
    );
}

fn http(port: u16, request: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    BufReader::new(stream)
        .read_to_string(&mut response)
        .expect("read");
    response
}

fn get(port: u16, target: &str) -> String {
    http(
        port,
        &format!("GET {target} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"),
    )
}

/// A server process killed and reaped when dropped.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn freshness(dir: &Path, quire: &Path) {
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("addr")
        .port();
    let server = Command::new(quire)
        .args(["--data"])
        .arg(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env("QUIRE_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start quire serve");
    // Stopped on every way out, a failed assertion included: a panic must not leave it serving.
    let mut server = Stopped(server);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "quire serve did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    get(port, "/+search?q=warmup");
    let mut latencies = Vec::new();
    for i in 0..20 {
        let token = format!("freshtoken{i}x{}", std::process::id());
        let page = format!("/+edit/Fresh{i}x{}", std::process::id());
        // As a browser does: the editor first, for the session cookie and the CSRF token.
        let form = get(port, &page);
        let cookie = form
            .lines()
            .find_map(|line| {
                line.strip_prefix("set-cookie: ")
                    .or_else(|| line.strip_prefix("Set-Cookie: "))
            })
            .and_then(gateway::cookies::read_set_cookie)
            .and_then(|(name, value)| Some(gateway::cookies::header_value([(name, value?)])))
            .expect("a session cookie");
        let csrf = form
            .split("name=\"csrf_token\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a CSRF token")
            .to_owned();
        let body = format!(
            "text=A+page+with+{token}+in+it.&action=save&base_rev=&comment=&csrf_token={csrf}"
        );
        let saved = http(
            port,
            &format!(
                "POST {page} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ),
        );
        let started = Instant::now();
        assert!(saved.starts_with("HTTP/1.1 303"), "{saved}");
        loop {
            let page = get(port, &format!("/+search?q={token}"));
            if page.contains("1 page matches") {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never searchable"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        latencies.push(started.elapsed());
    }
    let _ = server.0.kill();
    if let Some(stderr) = server.0.stderr.take() {
        for line in BufReader::new(stderr).lines().map_while(Result::ok).take(5) {
            eprintln!("quire: {line}");
        }
    }
    latencies.sort();
    println!(
        "save -> searchable over {} saves: p50 {:.0} ms, max {:.0} ms",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        latencies[latencies.len() - 1].as_secs_f64() * 1e3
    );
}
