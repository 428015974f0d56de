//! Page views per second of one 10 KB page through real servers: nginx
//! serving a static copy of the page's rendered HTML (the ceiling), `quire
//! serve` (with its response cache, and with it off), nginx → FastCGI, nginx →
//! SCGI and Apache → CGI, each loaded by `wrk` over loopback. It prints the table recorded in `BENCHMARKS.md`.
//!
//! Not part of `cargo test`: it is `#[ignore]`d, takes about a minute, and is
//! meant for a release build (the quire it measures is built in the tests'
//! profile, see [`e2e::quire_binary`]):
//!
//! ```sh
//! cargo test -p e2e --release -- --ignored bench_gateways --nocapture --test-threads=1
//! ```
//!
//! Each quire setup is a [`Combination`], started from the very `deploy/`
//! files the scenario tests use; only the static nginx's config is this
//! module's own, as no deploy file serves a static page. It asserts nothing
//! about speed: it fails only when a setup does not answer with the page, or
//! `wrk` sees an error, so that no figure is ever that of an error page.

use std::fs;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use e2e::{ensure_tool, free_port, log_tail, quire_binary, Running};
use gateway::testing::{TestRequest, TestResponse};
use http::StatusCode;

use crate::combinations::{start_apache_cgi, start_nginx_fastcgi_unix, start_nginx_scgi};
use crate::servers::{Combination, Ready};
use crate::suite::{http1_send, Gateway};

/// The page every setup serves.
pub(crate) const PAGE: &str = "BenchPage";

/// A `wrk` load: threads and keep-alive connections, 10 seconds each.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    threads: u32,
    connections: u32,
}

impl Load {
    /// `wrk`'s arguments, with the latency distribution (for the 99th
    /// percentile).
    fn args(self) -> [String; 4] {
        [
            format!("-t{}", self.threads),
            format!("-c{}", self.connections),
            String::from("-d10s"),
            String::from("--latency"),
        ]
    }
}

/// The load every setup gets: wrk's two threads share the machine's two
/// cores with the servers.
pub(crate) const LOAD: Load = Load {
    threads: 2,
    connections: 16,
};

/// One view at a time: what a CGI view costs without waiting for a core.
pub(crate) const ONE_AT_A_TIME: Load = Load {
    threads: 1,
    connections: 1,
};

/// One line of the table.
struct Row {
    setup: &'static str,
    load: Load,
    figures: Figures,
}

#[test]
#[ignore = "a benchmark: cargo test -p e2e --release -- --ignored bench_gateways --nocapture --test-threads=1"]
fn bench_gateways() {
    ensure_tool("wrk", "wrk");
    ensure_tool("nginx", "nginx");
    let page = BenchPage::new();
    println!(
        "quire: {}\npage: {} bytes of Markdown, {} sections",
        quire_binary().display(),
        page.markdown.len(),
        page.sections,
    );
    let mut rows = Vec::new();

    // `quire serve` first: its answer is the HTML the static nginx serves.
    let html = {
        let mut run = Combination::new("quire serve", "");
        // No server in front: quire listens where the scenarios would go.
        let http = run.addr().to_string();
        run.quire(&["serve", "--listen", &http], Ready::Tcp(&http));
        let html = page.seed(&run);
        rows.push(measure(&run, "`quire serve` (actix-web)", LOAD));
        html
    };
    println!("page: {} bytes of HTML", html.len());

    // The same server drawing every view: the response cache off, as before it existed.
    {
        let mut run = Combination::new("quire serve, every view drawn", "");
        let settings = run.data().join("quire.toml");
        let mut toml = fs::read_to_string(&settings).unwrap();
        toml.push_str("response_cache_bytes = 0\n");
        fs::write(&settings, toml).unwrap();
        let http = run.addr().to_string();
        run.quire(&["serve", "--listen", &http], Ready::Tcp(&http));
        page.seed(&run);
        let setup = "`quire serve`, every view drawn (`response_cache_bytes = 0`)";
        rows.push(measure(&run, setup, LOAD));
    }

    let fixed = {
        let site = StaticSite::start(&html);
        Row {
            setup: "nginx, a static copy of the HTML",
            load: LOAD,
            figures: run_wrk(&site.url, LOAD, || site.logs()),
        }
    };

    {
        let run = start_nginx_fastcgi_unix();
        page.seed(&run);
        let setup = "nginx → `quire fastcgi` (unix socket, kept open)";
        rows.push(measure(&run, setup, LOAD));
    }

    {
        let run = start_nginx_scgi();
        page.seed(&run);
        let setup = "nginx → `quire scgi` (unix socket, a connection per view)";
        rows.push(measure(&run, setup, LOAD));
    }

    {
        let run = start_apache_cgi();
        page.seed(&run);
        let setup = "Apache (event MPM) → CGI (mod_cgid), a quire process per view";
        rows.push(measure(&run, setup, LOAD));
        rows.push(measure(&run, setup, ONE_AT_A_TIME));
    }

    println!(
        "\n| setup | wrk load | page views/s | latency mean | latency p99 | ratio to static |"
    );
    println!("|---|---|---:|---:|---:|---:|");
    for row in std::iter::once(&fixed).chain(&rows) {
        println!(
            "| {} | `-t{} -c{}` | {:.0} | {:.2} ms | {:.2} ms | {:.3} |",
            row.setup,
            row.load.threads,
            row.load.connections,
            row.figures.requests_per_s,
            row.figures.mean_ms,
            row.figures.p99_ms,
            row.figures.requests_per_s / fixed.figures.requests_per_s,
        );
    }
}

/// The benchmark's page: ordinary Markdown of about 10 KB with headings,
/// paragraphs, lists, wiki links and external links.
pub(crate) struct BenchPage {
    markdown: String,
    /// How many `## Section N` headings it has.
    sections: usize,
}

impl BenchPage {
    pub(crate) fn new() -> BenchPage {
        let mut markdown = String::new();
        let mut sections = 0;
        while markdown.len() < 10_000 {
            sections += 1;
            let i = sections;
            markdown.push_str(&format!(
                "## Section {i}\n\nThe team agreed on item {i}; see [[FrontPage]] and [[Help/Editing]]. \
                 Notes are *kept* here so **everyone** can find them later, with `code` too.\n\n\
                 - point {i}.a\n- point {i}.b with a [link](https://example.org/{i})\n\n"
            ));
        }
        markdown.truncate(10_240);
        BenchPage { markdown, sections }
    }

    /// The page's path below the mount.
    fn path(&self) -> String {
        format!("/{PAGE}")
    }

    /// Saves the page through `run` and checks that it then shows it;
    /// returns the HTML.
    pub(crate) fn seed(&self, run: &Combination) -> Vec<u8> {
        // Through a browser-like client (the session cookie and the form's CSRF token), logged in:
        // the anti-spam rules let a visitor who is not add only a few external links, and the page
        // has one a section.
        let browser = crate::suite::Browser::new(run);
        let registered = crate::scenarios::register(&browser, "Bencher", "the bench's password");
        if !registered.status.is_redirection() {
            fail(run, "registering an account", &registered);
        }
        let saved = browser.save_page(PAGE, &self.markdown, None);
        if !saved.status.is_redirection() {
            fail(run, "saving the page", &saved);
        }
        let shown = run.get(&self.path());
        if !self.is_shown(&shown, run.mount()) {
            fail(run, "showing the page", &shown);
        }
        shown.body
    }

    /// Whether `response` is this page, rendered with links under `mount`.
    fn is_shown(&self, response: &TestResponse, mount: &str) -> bool {
        let html = response.text();
        response.status == StatusCode::OK
            && response
                .header("content-type")
                .is_some_and(|value| value.starts_with("text/html"))
            // The heading's text, then its end or (for a reader who may write) its edit link.
            && (html.contains(&format!("Section {}</h2>", self.sections))
                || html.contains(&format!("Section {} <a class=\"section-edit\"", self.sections)))
            && html.contains(&format!("href=\"{mount}/Help/Editing\""))
            && html.contains("href=\"https://example.org/1\"")
    }
}

/// Panics with what `run` answered and the tails of its logs.
fn fail(run: &Combination, what: &str, response: &TestResponse) -> ! {
    let text = response.text();
    panic!(
        "{what} through {} failed: {} {}\n{}",
        url(run, ""),
        response.status,
        text.chars().take(2000).collect::<String>(),
        combination_logs(run),
    );
}

/// The tails of whatever logs a combination's processes wrote.
fn combination_logs(run: &Combination) -> String {
    ["quire.log", "nginx/error.log", "apache/error.log"]
        .into_iter()
        .map(|name| run.path(name))
        .filter(|path| path.exists())
        .map(|path| format!("---- {}:\n{}", path.display(), log_tail(&path, 30)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// nginx serving the rendered page as a file, from a temp dir. The main
/// config is the harness's (as www-data, no access log) with one worker per
/// core and `sendfile on`, as a production nginx serves files: the ceiling the
/// quire setups are measured against.
struct StaticSite {
    // Declared first: dropped (stopped) before its directory goes.
    _nginx: Running,
    url: String,
    dir: tempfile::TempDir,
}

impl StaticSite {
    fn start(html: &[u8]) -> StaticSite {
        let dir = tempfile::Builder::new()
            .prefix("quire-bench-static-")
            .tempdir()
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        fs::create_dir(dir.path().join("htdocs")).unwrap();
        fs::write(dir.path().join("htdocs").join(PAGE), html).unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let d = dir.path().display();
        let config = dir.path().join("nginx.conf");
        let site = format!(
            "sendfile on;\n\
             server {{\n\
                 listen {addr};\n\
                 root {d}/htdocs;\n\
                 default_type \"text/html; charset=utf-8\";\n\
             }}"
        );
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        fs::write(
            &config,
            e2e::nginx_main_config_with_workers(dir.path(), &site, workers),
        )
        .unwrap();
        let mut nginx = Running::start(
            "nginx (static)",
            Command::new("nginx")
                .arg("-c")
                .arg(&config)
                .args(["-g", "daemon off;"]),
        );
        nginx.wait_until(|| std::net::TcpStream::connect(addr).is_ok());
        let site = StaticSite {
            _nginx: nginx,
            url: format!("http://{addr}/{PAGE}"),
            dir,
        };
        let response = http1_send(addr, "", &TestRequest::get(&format!("/{PAGE}")));
        assert!(
            response.status == StatusCode::OK && response.body == html,
            "the static nginx did not serve the page: {}\n{}",
            response.status,
            site.logs()
        );
        site
    }

    fn logs(&self) -> String {
        let log = self.dir.path().join("error.log");
        format!("---- {}:\n{}", log.display(), log_tail(&log, 30))
    }
}

/// What `wrk` measured.
pub(crate) struct Figures {
    pub(crate) requests_per_s: f64,
    pub(crate) mean_ms: f64,
    pub(crate) p99_ms: f64,
}

/// Loads the page on `run` with `wrk`.
fn measure(run: &Combination, setup: &'static str, load: Load) -> Row {
    let url = url(run, &format!("/{PAGE}"));
    Row {
        setup,
        load,
        figures: run_wrk(&url, load, || combination_logs(run)),
    }
}

/// The URL of `path` (below the mount) on `run`.
fn url(run: &Combination, path: &str) -> String {
    format!("http://{}{}{path}", run.addr(), run.mount())
}

/// Loads `url` with `wrk`; fails with `wrk`'s output and `logs()` if any
/// response was not 2xx/3xx or any socket error occurred.
pub(crate) fn run_wrk(url: &str, load: Load, logs: impl Fn() -> String) -> Figures {
    let args = load.args();
    // Others' work on the machine skews a figure; this says how much was
    // going on just before.
    println!(
        "== wrk {} {url}   (CPU idle in the second before: {:.0}%)",
        args.join(" "),
        idle_percent()
    );
    let output = Command::new("wrk").args(&args).arg(url).output().unwrap();
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("{report}");
    let failed = !output.status.success()
        || report.contains("Non-2xx or 3xx responses")
        || report.contains("Socket errors");
    match parse_wrk(&report) {
        Some(figures) if !failed => figures,
        _ => panic!(
            "wrk on {url} failed or saw errors:\n{report}{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            logs()
        ),
    }
}

/// Requests/s, mean latency and the 99th percentile from `wrk --latency`.
fn parse_wrk(report: &str) -> Option<Figures> {
    let second_field = |prefix: &str| {
        report
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .find(|fields| fields.first() == Some(&prefix) && fields.len() > 1)
            .map(|fields| fields[1].to_owned())
    };
    Some(Figures {
        requests_per_s: second_field("Requests/sec:")?.parse().ok()?,
        // "Latency 19.90ms 3.21ms 50.00ms 80.00%"; not "Latency Distribution".
        mean_ms: report
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .filter(|fields| fields.first() == Some(&"Latency"))
            .find_map(|fields| milliseconds(fields.get(1)?))?,
        p99_ms: milliseconds(&second_field("99%")?)?,
    })
}

/// `wrk`'s "850.00us", "19.90ms", "1.02s" or "1.50m" in milliseconds.
fn milliseconds(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(number) = text.strip_suffix("us") {
        (number, 0.001)
    } else if let Some(number) = text.strip_suffix("ms") {
        (number, 1.0)
    } else if let Some(number) = text.strip_suffix('s') {
        (number, 1000.0)
    } else {
        (text.strip_suffix('m')?, 60_000.0)
    };
    number.parse::<f64>().ok().map(|value| value * scale)
}

/// How idle the machine's CPUs were over the next second, from
/// `/proc/stat` (idle and iowait time over all time).
pub(crate) fn idle_percent() -> f64 {
    fn sample() -> (u64, u64) {
        let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
        let times: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|field| field.parse().ok())
            .collect();
        let idle = times.get(3).unwrap_or(&0) + times.get(4).unwrap_or(&0);
        (idle, times.iter().sum())
    }
    let (idle_before, total_before) = sample();
    std::thread::sleep(Duration::from_secs(1));
    let (idle_after, total_after) = sample();
    let total = total_after.saturating_sub(total_before).max(1);
    100.0 * idle_after.saturating_sub(idle_before) as f64 / total as f64
}

#[test]
fn reads_wrk_reports() {
    let report = "Running 10s test @ http://127.0.0.1:1/BenchPage\n  \
        2 threads and 16 connections\n  \
        Thread Stats   Avg      Stdev     Max   +/- Stdev\n    \
        Latency   850.00us    3.21ms  50.00ms   80.00%\n    \
        Req/Sec   412.00     30.00   500.00     70.00%\n  \
        Latency Distribution\n     50%  700.00us\n     75%    1.00ms\n     \
        90%    2.00ms\n     99%    1.02s\n  \
        8240 requests in 10.00s, 170.00MB read\n\
        Requests/sec:    823.95\nTransfer/sec:     17.00MB\n";
    let figures = parse_wrk(report).unwrap();
    assert_eq!(figures.requests_per_s, 823.95);
    assert!((figures.mean_ms - 0.85).abs() < 1e-9);
    assert!((figures.p99_ms - 1020.0).abs() < 1e-9);
    assert!(parse_wrk("Requests/sec: 1\n").is_none());
    assert_eq!(milliseconds("1.50m"), Some(90_000.0));
    assert_eq!(milliseconds("12"), None);
}
