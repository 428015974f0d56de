//! The load-and-kill harness (issue 17): many editors save through a real server at once, half on
//! pages of their own and half on ten shared pages (so saves collide, merge, or come back as 409 and
//! are redone from the current text), while quire is killed with SIGKILL at random moments: `quire
//! serve`, or `quire fastcgi` behind nginx, killed and started again; or, behind Apache, every CGI
//! process running at that moment, mid-request (Apache starts the next ones itself). Every save carries a unique marker; afterwards the harness checks that
//! every acknowledged save is in its page exactly once, that `quire check` finds nothing wrong (the
//! database whole, each page's revisions all there, in order and readable, and blame, the link graph
//! and the ACL lines as the revision log gives them), and that search finds every marker.
//!
//! CI runs a short version in each mode (`torture_*_short`: 32 editors × 20 saves, 3 kills); the
//! long ones are `#[ignore]`d and recorded in TESTING.md:
//!
//! ```sh
//! cargo test -p e2e -- --ignored torture_serve_long --nocapture --test-threads=1
//! ```

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use e2e::{free_port, kill_by_environment, quire_binary, web_user};
use gateway::testing::{TestRequest, TestResponse};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::servers::Combination;
use crate::suite::{eventually, hidden_value, Browser, Gateway};

/// What the harness answers when the server gave no answer (killed mid-request, or not up yet).
const NO_ANSWER: u16 = 599;

/// One run's size.
pub(crate) struct Load {
    pub(crate) editors: usize,
    pub(crate) saves: usize,
    pub(crate) kills: usize,
    /// The shared pages the colliding half of the editors save.
    pub(crate) shared_pages: usize,
}

/// What a run saw, for the report.
#[derive(Debug, Default)]
struct Tally {
    acknowledged: AtomicU64,
    merged: AtomicU64,
    conflicts: AtomicU64,
    unanswered: AtomicU64,
    /// Other answers to a save, by status (503 while the database is busy, say).
    others: Mutex<HashMap<u16, u64>>,
}

/// A quire server process (`quire serve`, or `quire fastcgi` behind nginx) on the combination's
/// data directory, as www-data, that the killer may kill and start again while editors use it.
pub(crate) struct Server {
    /// Its arguments after `--data DIR`.
    args: Vec<String>,
    /// The TCP address it listens on: it is up once this takes connections.
    listens: SocketAddr,
    data: std::path::PathBuf,
    child: Mutex<Option<Child>>,
    log: std::path::PathBuf,
}

impl Server {
    /// A server on `data` run with `args` (after `--data DIR`), listening on `listens`, its log
    /// appended to `log`; not started yet.
    pub(crate) fn new(
        args: Vec<String>,
        listens: SocketAddr,
        data: std::path::PathBuf,
        log: std::path::PathBuf,
    ) -> Server {
        Server {
            args,
            listens,
            data,
            child: Mutex::new(None),
            log,
        }
    }

    /// Where it listens.
    pub(crate) fn listens(&self) -> SocketAddr {
        self.listens
    }

    /// Its data directory.
    pub(crate) fn data(&self) -> &std::path::Path {
        &self.data
    }

    pub(crate) fn start(&self) {
        let user = web_user();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(quire_binary())
            .arg("--data")
            .arg(&self.data)
            .args(&self.args)
            .env_clear()
            .env("QUIRE_LOG", "warn")
            .uid(user.uid)
            .gid(user.gid)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        *self.child.lock().unwrap() = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(self.listens).is_err() {
            assert!(Instant::now() < deadline, "quire did not come back");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub(crate) fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the killer kills.
enum Victim {
    /// A server process of the harness's own: killed, then started again.
    Server(Server),
    /// The CGI processes Apache started for this data directory, whichever are running (they are
    /// found by the `QUIRE_DATA` Apache gives them).
    Cgi(std::path::PathBuf),
}

impl Victim {
    /// One kill: SIGKILL, and the server started again. A CGI kill waits (a while) until some
    /// request is being served, so that it lands mid-request.
    fn kill(&self) {
        match self {
            Victim::Server(server) => {
                server.stop();
                server.start();
            }
            Victim::Cgi(data) => {
                let deadline = Instant::now() + Duration::from_secs(10);
                while kill_by_environment("QUIRE_DATA", data) == 0 && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
}

/// The wiki as the editors reach it: the address and mount of the front (quire serve itself, or
/// the web server), and what is killed behind it.
pub(crate) struct Front {
    addr: SocketAddr,
    mount: &'static str,
    victim: Victim,
}

impl Front {
    /// Where `server` listens, under `mount`, with `server` as what the killer kills.
    pub(crate) fn on(server: Server, mount: &'static str) -> Front {
        Front {
            addr: server.listens(),
            mount,
            victim: Victim::Server(server),
        }
    }

    /// The same, reached at `addr` (a balancer in front of it).
    pub(crate) fn behind(addr: SocketAddr, server: Server, mount: &'static str) -> Front {
        Front {
            addr,
            ..Front::on(server, mount)
        }
    }
}

impl Gateway for Front {
    fn mount(&self) -> &str {
        self.mount
    }

    fn send(&self, request: TestRequest) -> TestResponse {
        send(self.addr, self.mount, &request).unwrap_or_else(|_| TestResponse {
            status: StatusCode::from_u16(NO_ANSWER).unwrap(),
            headers: HeaderMap::new(),
            body: Vec::new(),
        })
    }
}

/// One HTTP/1.1 exchange on a fresh connection, every failure an error (the server may die at any
/// byte).
fn send(addr: SocketAddr, mount: &str, request: &TestRequest) -> std::io::Result<TestResponse> {
    let broken = |what: &str| std::io::Error::other(what.to_owned());
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = format!(
        "{} {mount}{} HTTP/1.1\r\nConnection: close\r\nHost: {addr}\r\n",
        request.method,
        request.target()
    );
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", request.body.len()));
    stream.write_all(head.as_bytes())?;
    stream.write_all(&request.body)?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .get(9..12)
        .and_then(|code| StatusCode::from_bytes(code.as_bytes()).ok())
        .ok_or_else(|| broken("no status line"))?;
    let mut headers = HeaderMap::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(broken("cut off in the head"));
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed
            .split_once(':')
            .ok_or_else(|| broken("bad header"))?;
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name),
            HeaderValue::try_from(value.trim()),
        ) {
            headers.append(name, value);
        }
    }
    let mut body = Vec::new();
    let chunked = headers
        .get(http::header::TRANSFER_ENCODING)
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"chunked"));
    if chunked {
        // Apache sends a large CGI answer chunked: the body is the chunks' bytes, never their size
        // lines (read raw, they would land in the editor's text and split markers).
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = line.trim_end().split(';').next().unwrap_or_default();
            let size =
                usize::from_str_radix(size, 16).map_err(|_| broken("a bad chunk size line"))?;
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if !chunk.ends_with(b"\r\n") {
                return Err(broken("a chunk without its line break"));
            }
            body.extend_from_slice(&chunk[..size]);
        }
        return Ok(TestResponse {
            status,
            headers,
            body,
        });
    }
    reader.read_to_end(&mut body)?;
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length != body.len()) {
        return Err(broken("cut off in the body"));
    }
    Ok(TestResponse {
        status,
        headers,
        body,
    })
}

/// The marker of editor `editor`'s save `n`: one token for the search index, found nowhere else.
fn marker(editor: usize, n: usize) -> String {
    format!("mk{editor}x{n}q")
}

/// Which page editor `editor` saves: its own, or one of the shared ones.
fn page_of(editor: usize, n: usize, shared_pages: usize) -> String {
    if editor.is_multiple_of(2) {
        format!("Own{editor}")
    } else {
        format!("Shared{}", (editor + n) % shared_pages)
    }
}

/// `text` with `mark` added: on a shared page mostly at the end of the editor's own line (the pages
/// are seeded with one line per editor, apart), so that saves on one page from different editors
/// touch different lines and merge, but every fourth save as a new last line, where saves collide
/// and come back as 409; on an editor's own page, as a new last line.
fn with_marker(text: &str, editor: usize, n: usize, mark: &str) -> String {
    let own = format!("ed{editor}:");
    if !text.contains(&own) || n.is_multiple_of(4) {
        return format!("{text}line {mark}\n");
    }
    text.lines()
        .map(|line| {
            if line.starts_with(&own) {
                format!("{line} {mark}\n")
            } else {
                format!("{line}\n")
            }
        })
        .collect()
}

/// The editor's text in an answer's `<textarea name="text">`, unescaped.
fn editor_text(html: &str) -> Option<String> {
    let start = html.find("<textarea")?;
    let open = &html[start..];
    let tag_end = open.find('>')?;
    if !open[..tag_end].contains("name=\"text\"") {
        return None;
    }
    let body = &open[tag_end + 1..];
    let escaped = &body[..body.find("</textarea>")?];
    let mut text = String::with_capacity(escaped.len());
    let mut rest = escaped;
    while let Some(at) = rest.find('&') {
        text.push_str(&rest[..at]);
        let entity_end = rest[at..].find(';')? + at;
        let entity = &rest[at + 1..entity_end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = match entity.strip_prefix("#x").or(entity.strip_prefix("#X")) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => entity.strip_prefix('#')?.parse().ok()?,
                };
                char::from_u32(code)?
            }
        };
        text.push(c);
        rest = &rest[entity_end + 1..];
    }
    text.push_str(rest);
    // The HTML parser drops one line break right after the opening tag; templates add one.
    Some(text.strip_prefix('\n').map(str::to_owned).unwrap_or(text))
}

/// A conflicted text resolved as a person keeping both sides would: the marker lines dropped.
fn keep_both(text: &str) -> String {
    text.lines()
        .filter(|line| {
            !(line.starts_with("<<<<<<< ") || *line == "=======" || line.starts_with(">>>>>>> "))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// Sleeps after the `attempt`th conflict: a random time below 10 ms × 2^attempt (at most 1.3 s),
/// different for each editor and save.
fn backoff(attempt: u32, editor: usize, n: usize) {
    let ceiling = 10u64 << attempt.min(7);
    let mut seed = (editor as u64 + 1)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(n as u64 * 1_000 + u64::from(attempt))
        | 1;
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    std::thread::sleep(Duration::from_millis(seed % ceiling));
}

/// The first text of each shared page: a line for each editor that saves shared pages, with a
/// spacer between, so that changes to two lines are never adjacent (a three-way merge would call
/// adjacent changes a conflict).
fn shared_seed(editors: usize) -> String {
    // Links too, for the link graph `quire check` compares with the texts at the end.
    let links = "See [[FrontPage]] and [[Help]].\n~\n".to_owned();
    links
        + &(0..editors)
            .filter(|editor| !editor.is_multiple_of(2))
            .map(|editor| format!("ed{editor}:\n~\n"))
            .collect::<String>()
}

/// One editor's saves, each redone until acknowledged: editor open, the base revision's text,
/// the text with one more line, posted. Returns (page, marker) of each acknowledged save.
fn edit_until_done(
    server: &Front,
    editor: usize,
    load: &Load,
    tally: &Tally,
) -> Vec<(String, String)> {
    let browser = Browser::new(server);
    let mut done = Vec::new();
    for n in 0..load.saves {
        let page = page_of(editor, n, load.shared_pages);
        let mark = marker(editor, n);
        // Only a hang must fail: ten editors appending to one page is a lottery each try (one
        // wins, the others get 409 and try again), which a long run's luckless editor may lose
        // forty times running; ten minutes is hundreds of tries.
        let deadline = Instant::now() + Duration::from_secs(600);
        // This save's tries, by what stopped them: for the message if it never goes through.
        let mut tries: HashMap<String, u32> = HashMap::new();
        let mut resolved: Option<(String, String, String)> = None;
        loop {
            assert!(
                Instant::now() < deadline,
                "{mark} was never acknowledged; its tries: {tries:?}"
            );
            // After a 409: the text it returned, resolved, on the revision it named (one request
            // a try, as a person resolving in the editor); otherwise a fresh editor and text.
            let (base, text, token) = match resolved.take() {
                Some((base, text, token)) => (base, text, Some(token)),
                None => {
                    let editor_page = browser.get(&format!("/+edit/{page}"));
                    if editor_page.status != StatusCode::OK {
                        *tries
                            .entry(format!("editor {}", editor_page.status))
                            .or_default() += 1;
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    let base = hidden_value(&editor_page.text(), "base_rev").unwrap_or_default();
                    let current = if base.is_empty() {
                        String::new()
                    } else {
                        let raw = browser.get(&format!("/+raw/{page}?rev={base}"));
                        if raw.status != StatusCode::OK {
                            *tries.entry(format!("raw {}", raw.status)).or_default() += 1;
                            continue;
                        }
                        raw.text()
                    };
                    if current.contains(&mark) {
                        // An earlier try was saved although its answer never came: not redone.
                        break;
                    }
                    let text = with_marker(&current, editor, n, &mark);
                    (base, text, None)
                }
            };
            let target = format!("/+edit/{page}");
            let fields = [
                ("text", text.as_str()),
                ("comment", mark.as_str()),
                ("base_rev", base.as_str()),
                ("action", "save"),
            ];
            let answer = match &token {
                // The 409's own form token: `post_form` would fetch the login form for one, and
                // that page may be down (a kill) between the two requests.
                Some(token) => {
                    let mut with_token = fields.to_vec();
                    with_token.push(("csrf_token", token));
                    browser.send(TestRequest::post_form(&target, &with_token))
                }
                None => browser.post_form(&target, &fields),
            };
            *tries.entry(format!("save {}", answer.status)).or_default() += 1;
            match answer.status.as_u16() {
                303 => {
                    let location = answer.headers[http::header::LOCATION]
                        .to_str()
                        .unwrap_or("");
                    if location.contains("merged") {
                        tally.merged.fetch_add(1, Ordering::Relaxed);
                    }
                    tally.acknowledged.fetch_add(1, Ordering::Relaxed);
                    done.push((page.clone(), mark.clone()));
                    break;
                }
                409 => {
                    tally.conflicts.fetch_add(1, Ordering::Relaxed);
                    let html = answer.text();
                    // A conflict loses nothing: the editor comes back with this save's text.
                    assert!(
                        html.contains(mark.as_str()),
                        "a 409 for {mark} on {page} without its text:\n{html}"
                    );
                    resolved = hidden_value(&html, "base_rev")
                        .zip(editor_text(&html))
                        .zip(hidden_value(&html, "csrf_token"))
                        .map(|((base, text), token)| (base, keep_both(&text), token))
                        .filter(|(_, text, _)| text.matches(mark.as_str()).count() == 1);
                    // As a client should: back off for a random while that grows with each
                    // conflict, or ten editors appending to one page can keep beating each other
                    // (each try is three requests) until the deadline.
                    let conflicts = tries.get("save 409 Conflict").copied().unwrap_or(1);
                    backoff(conflicts, editor, n);
                }
                NO_ANSWER => {
                    // Saved or not, the next try's fresh text says (see above).
                    tally.unanswered.fetch_add(1, Ordering::Relaxed);
                }
                other => {
                    *tally.others.lock().unwrap().entry(other).or_default() += 1;
                }
            }
        }
    }
    done
}

/// Where the editors save, and what is killed.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// `quire serve`, killed and started again.
    Serve,
    /// nginx → `quire fastcgi` over TCP (the deploy file), quire killed and started again.
    NginxFastcgi,
    /// Apache → quire as CGI under mod_cgid (the deploy file), the CGI processes killed.
    ApacheCgi,
}

/// The combination for `mode`, its front, and (for the servers the harness starts) quire running.
fn start(name: &'static str, mode: Mode) -> (Combination, Front) {
    let mount = match mode {
        Mode::Serve => "",
        Mode::NginxFastcgi | Mode::ApacheCgi => "/wiki",
    };
    let mut combination = Combination::new(name, mount);
    let data = combination.data();
    let settings = data.join("quire.toml");
    let mut toml = std::fs::read_to_string(&settings).unwrap();
    toml.push_str("\n[spam]\nanonymous_saves_per_hour = 0\n");
    std::fs::write(&settings, toml).unwrap();
    let server = |args: Vec<String>, listens: SocketAddr| Server {
        args,
        listens,
        data: data.clone(),
        child: Mutex::new(None),
        log: combination.path("quire-torture.log"),
    };
    let front = match mode {
        Mode::Serve => {
            let addr = combination.addr();
            let server = server(
                vec!["serve".into(), "--listen".into(), addr.to_string()],
                addr,
            );
            server.start();
            Front {
                addr,
                mount,
                victim: Victim::Server(server),
            }
        }
        Mode::NginxFastcgi => {
            let listens = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let server = server(
                vec!["fastcgi".into(), "--listen".into(), listens.to_string()],
                listens,
            );
            server.start();
            combination.nginx(
                "nginx/quire-fastcgi.conf",
                &[("QUIRE", &listens.to_string())],
            );
            Front {
                addr: combination.addr(),
                mount,
                victim: Victim::Server(server),
            }
        }
        Mode::ApacheCgi => {
            let binary = quire_binary().display().to_string();
            combination.apache(
                "apache/quire-cgi.conf",
                &["cgid", "env"],
                &[
                    ("QUIRE_BIN", &binary),
                    ("DATA", &data.display().to_string()),
                ],
            );
            Front {
                addr: combination.addr(),
                mount,
                victim: Victim::Cgi(data.clone()),
            }
        }
    };
    (combination, front)
}

fn run(name: &'static str, mode: Mode, load: &Load) {
    let (combination, server) = start(name, mode);
    let data = combination.data();
    let outcome = load_and_kill(&server, load);
    let db = rusqlite::Connection::open(data.join("wiki.sqlite3")).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [], |row| row.get(0)).unwrap() };
    verify(&outcome, &data, &[&server], count);
    drop(combination);
    outcome.report(name, load);
}

/// What a load-and-kill run acknowledged, and how it went.
pub(crate) struct Outcome {
    acknowledged: Vec<(String, String)>,
    tally: Tally,
    elapsed: Duration,
}

impl Outcome {
    pub(crate) fn report(&self, name: &str, load: &Load) {
        let tally = &self.tally;
        eprintln!(
            "{name}: {} editors x {} saves, {} kills in {:.1} s: {} acknowledged ({} merged), {} answered 409, {} unanswered (killed mid-request), other answers {:?}; 0 lost",
            load.editors,
            load.saves,
            load.kills,
            self.elapsed.as_secs_f64(),
            tally.acknowledged.load(Ordering::Relaxed),
            tally.merged.load(Ordering::Relaxed),
            tally.conflicts.load(Ordering::Relaxed),
            tally.unanswered.load(Ordering::Relaxed),
            tally.others.lock().unwrap(),
        );
    }
}

/// Seeds the shared pages, then runs `load`'s editors through `server` while its victim is killed
/// `load.kills` times.
pub(crate) fn load_and_kill(server: &Front, load: &Load) -> Outcome {
    let seeder = Browser::new(server);
    for page in 0..load.shared_pages {
        let seeded = seeder.save_page(&format!("Shared{page}"), &shared_seed(load.editors), None);
        assert_eq!(seeded.status, StatusCode::SEE_OTHER, "{}", seeded.text());
    }
    let tally = Tally::default();
    let stop_killing = AtomicBool::new(false);
    let started = Instant::now();
    let acknowledged: Vec<(String, String)> = std::thread::scope(|scope| {
        let editors: Vec<_> = (0..load.editors)
            .map(|editor| {
                let tally = &tally;
                scope.spawn(move || edit_until_done(server, editor, load, tally))
            })
            .collect();
        let (stop, tally) = (&stop_killing, &tally);
        let killer = scope.spawn(move || {
            let mut kills = 0;
            // Spread over the run: a kill every so many acknowledged saves, at a random moment.
            let total = (load.editors * load.saves) as u64;
            let mut seed = started.elapsed().as_nanos() as u64 | 1;
            while kills < load.kills && !stop.load(Ordering::Relaxed) {
                let due = total * (kills as u64 + 1) / (load.kills as u64 + 1);
                if tally.acknowledged.load(Ordering::Relaxed) < due {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                std::thread::sleep(Duration::from_millis(seed % 50));
                server.victim.kill();
                kills += 1;
            }
            kills
        });
        let acknowledged = editors
            .into_iter()
            .flat_map(|editor| editor.join().unwrap())
            .collect();
        stop_killing.store(true, Ordering::Relaxed);
        let kills = killer.join().unwrap();
        assert_eq!(kills, load.kills, "every kill happened during the run");
        acknowledged
    });
    Outcome {
        acknowledged,
        tally,
        elapsed: started.elapsed(),
    }
}

/// After a run: every acknowledged save in its page exactly once and in exactly one revision,
/// `quire check` content with `data`'s wiki, revisions in time order (`count` runs an SQL count on
/// the wiki's database, either engine), and every marker found by the search of each of `readers`
/// (each node's own index).
pub(crate) fn verify(
    outcome: &Outcome,
    data: &std::path::Path,
    readers: &[&dyn Gateway],
    count: impl Fn(&str) -> i64,
) {
    let acknowledged = &outcome.acknowledged;
    // Every acknowledged marker is in its page's final text, exactly once.
    let reader = Browser::new(readers[0]);
    let mut finals: HashMap<String, String> = HashMap::new();
    for (page, mark) in acknowledged {
        let text = finals
            .entry(page.clone())
            .or_insert_with(|| reader.get(&format!("/+raw/{page}")).text());
        assert_eq!(
            text.matches(mark.as_str()).count(),
            1,
            "{mark} in {page}:\n{text}"
        );
    }
    // The database whole, every page's revisions all there, numbered and logged in order and
    // readable, and the blame records, link graph and ACL lines what the revision log gives.
    let checked = quire_check(data);
    assert!(
        checked.status.success(),
        "quire check:\n{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    let backwards = count(
        "SELECT COUNT(*) FROM revisions a JOIN revisions b
           ON b.page_id = a.page_id AND b.rev = a.rev + 1 AND b.time < a.time",
    );
    assert_eq!(backwards, 0, "no revision is older than the one before it");
    // No save was stored twice: each save's comment is its marker.
    let twice = count(
        "SELECT COUNT(*) FROM (SELECT comment FROM revisions WHERE comment LIKE 'mk%q'
           GROUP BY comment HAVING COUNT(*) > 1) AS repeated",
    );
    assert_eq!(twice, 0, "a save is in history more than once");
    // Search finds every marker once each index has caught up.
    let last = &acknowledged.last().unwrap().1;
    for gateway in readers {
        eventually(*gateway, &format!("/+search?q={last}"), |body| {
            body.contains(last.as_str())
        });
        let reader = Browser::new(*gateway);
        for (page, mark) in acknowledged {
            let found = reader.get(&format!("/+search?q={mark}")).text();
            assert!(
                found.contains(&format!("/{page}\"")),
                "search for {mark} misses {page}"
            );
        }
    }
}

/// `quire check` on `data`, as the web user that owns it (a check opens the database as a server
/// does, and must not leave root's files in it).
pub(crate) fn quire_check(data: &std::path::Path) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let web = e2e::web_user();
    std::process::Command::new(e2e::quire_binary())
        .arg("--data")
        .arg(data)
        .arg("check")
        .env("QUIRE_LOG", "warn")
        .uid(web.uid)
        .gid(web.gid)
        .output()
        .unwrap()
}

#[test]
fn torture_serve_short() {
    run("quire serve, killed 3 times", Mode::Serve, &SHORT);
}

#[test]
fn torture_nginx_fastcgi_short() {
    run(
        "nginx + quire fastcgi, quire killed 3 times",
        Mode::NginxFastcgi,
        &SHORT,
    );
}

#[test]
fn torture_apache_cgi_short() {
    run(
        "Apache + CGI, CGI processes killed 3 times",
        Mode::ApacheCgi,
        &SHORT,
    );
}

/// CI's run in each mode: about a minute or less.
const SHORT: Load = Load {
    editors: 32,
    saves: 20,
    kills: 3,
    shared_pages: 10,
};

/// The long run in each mode: minutes; recorded in TESTING.md.
const LONG: Load = Load {
    editors: 200,
    saves: 50,
    kills: 10,
    shared_pages: 10,
};

#[test]
#[ignore = "a middle run, for finding limits"]
fn torture_serve_middle() {
    run(
        "quire serve, killed 5 times",
        Mode::Serve,
        &Load {
            editors: 100,
            saves: 10,
            kills: 5,
            shared_pages: 10,
        },
    );
}

#[test]
#[ignore = "the long run, minutes: recorded in TESTING.md"]
fn torture_serve_long() {
    run("quire serve, killed 10 times", Mode::Serve, &LONG);
}

#[test]
#[ignore = "the long run, minutes: recorded in TESTING.md"]
fn torture_nginx_fastcgi_long() {
    run(
        "nginx + quire fastcgi, quire killed 10 times",
        Mode::NginxFastcgi,
        &LONG,
    );
}

#[test]
#[ignore = "the long run, minutes: recorded in TESTING.md"]
fn torture_apache_cgi_long() {
    run(
        "Apache + CGI, CGI processes killed 10 times",
        Mode::ApacheCgi,
        &LONG,
    );
}
