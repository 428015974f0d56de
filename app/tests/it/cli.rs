//! The `quire` binary as a person first meets it: `--version`, `--help`, a mistyped `--data`, and
//! what a wiki logs at `info`. Each test runs the built binary.

use std::cell::RefCell;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use gateway::testing::{TestRequest, TestResponse};
use http::StatusCode;

use crate::drivers::{cgi_variables, parse_cgi_output, QUIRE};
use crate::suite::{Browser, Gateway};

/// Runs `quire ARGS…` with nothing but `env` in its environment.
pub(crate) fn quire(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(QUIRE)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `quire --data DIR init`, so that `data` holds a wiki.
pub(crate) fn init(data: &Path) {
    let output = quire(
        &["--data", data.to_str().unwrap(), "init"],
        &[("QUIRE_LOG", "warn")],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn version_names_the_release_and_the_commit() {
    let output = quire(&["--version"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let line = text(&output.stdout);
    let line = line.trim_end();
    let prefix = format!("quire {} (", env!("CARGO_PKG_VERSION"));
    let commit = line
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line:?} is not `{prefix}COMMIT)`"));
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{commit:?} is neither a short commit hash nor \"unknown\""
    );
    assert_eq!(text(&quire(&["-V"], &[]).stdout), text(&output.stdout));
}

#[test]
fn short_and_long_help_open_with_the_same_line_in_user_words() {
    let short = text(&quire(&["-h"], &[]).stdout);
    let long = text(&quire(&["--help"], &[]).stdout);
    let first = short.lines().next().unwrap();
    assert_eq!(
        Some(first),
        long.lines().next(),
        "-h:\n{short}\n--help:\n{long}"
    );
    assert!(first.starts_with("A team wiki"), "{first}");
    for jargon in ["gateway", "interface", "written once"] {
        assert!(!first.contains(jargon), "{first}");
    }
}

#[test]
fn server_flags_show_only_on_the_commands_that_serve() {
    for command in ["serve", "fastcgi", "scgi", "cgi"] {
        let help = text(&quire(&[command, "--help"], &[]).stdout);
        for flag in ["--mount", "--max-body", "--debug", "--data"] {
            assert!(
                help.contains(flag),
                "`quire {command} --help` lacks {flag}:\n{help}"
            );
        }
    }
    for command in [
        &["user", "list"][..],
        &["user"],
        &["init"],
        &["reindex"],
        &["keys"],
        &["backup"],
        &["restore"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let help = text(&quire(&args, &[]).stdout);
        assert!(help.contains("--data"), "{args:?}:\n{help}");
        for flag in ["--mount", "--max-body", "--debug"] {
            assert!(!help.contains(flag), "{args:?} shows {flag}:\n{help}");
        }
    }
    // Nor do they take them.
    let data = tempfile::tempdir().unwrap();
    init(data.path());
    let output = quire(
        &[
            "--data",
            data.path().to_str().unwrap(),
            "user",
            "list",
            "--debug",
        ],
        &[],
    );
    assert!(!output.status.success());
}

#[test]
fn the_server_flags_still_come_from_the_environment() {
    let data = tempfile::tempdir().unwrap();
    init(data.path());
    let request = TestRequest::post_form("/+edit/Big", &[("text", &"x".repeat(200))]);
    let output = Command::new(QUIRE)
        .env_clear()
        .envs(cgi_variables(&request, ""))
        .env("QUIRE_DATA", data.path())
        .env("QUIRE_MAX_BODY", "100")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let response = parse_cgi_output(&output.stdout);
    assert_eq!(
        response.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        text(&output.stderr)
    );
}

/// The commands that need a wiki, each refusing `data` (any listen address is never reached).
/// `cgi` answers its web server a 500 page instead (`cgi_on_a_missing_directory_…`).
fn refusals(data: &Path) -> Vec<Output> {
    let data = data.to_str().unwrap();
    let mut outputs: Vec<Output> = [
        &["user", "list"][..],
        &["reindex", "--quiet"],
        &["keys", "rotate"],
        // An address that cannot be bound: were the directory let through, the command would fail
        // anyway rather than serve.
        &["fastcgi", "--listen", "unix:/proc/quire-test.sock"],
        &["scgi", "--listen", "unix:/proc/quire-test.sock"],
    ]
    .iter()
    .map(|args| {
        let mut all = vec!["--data", data];
        all.extend_from_slice(args);
        quire(&all, &[])
    })
    .collect();
    outputs.push(quire(&["user", "list"], &[("QUIRE_DATA", data)]));
    outputs
}

#[test]
fn a_mistyped_data_directory_is_refused_and_not_created() {
    let parent = tempfile::tempdir().unwrap();
    let typo = parent.path().join("wkii-data");
    for output in refusals(&typo) {
        assert!(!output.status.success(), "{}", text(&output.stdout));
        let stderr = text(&output.stderr);
        assert!(stderr.contains("does not exist"), "{stderr}");
        assert!(stderr.contains(typo.to_str().unwrap()), "{stderr}");
        assert!(stderr.contains("init"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
    assert!(!typo.exists(), "a command made the mistyped directory");
}

#[test]
fn a_directory_without_a_wiki_is_refused() {
    let empty = tempfile::tempdir().unwrap();
    for output in refusals(empty.path()) {
        assert!(!output.status.success(), "{}", text(&output.stdout));
        let stderr = text(&output.stderr);
        assert!(stderr.contains("holds no wiki"), "{stderr}");
        assert!(stderr.contains("init"), "{stderr}");
    }
    assert!(!empty.path().join("wiki.sqlite3").exists());
}

#[test]
fn cgi_on_a_missing_directory_answers_500_and_logs_the_fix() {
    let parent = tempfile::tempdir().unwrap();
    let typo = parent.path().join("wkii-data");
    let output = Command::new(QUIRE)
        .env_clear()
        .envs(cgi_variables(&TestRequest::get("/FrontPage"), ""))
        .env("QUIRE_DATA", &typo)
        .output()
        .unwrap();
    let response = parse_cgi_output(&output.stdout);
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    let log = text(&output.stderr);
    assert!(
        log.contains("does not exist") && log.contains("init"),
        "{log}"
    );
    assert!(!typo.exists(), "CGI made a wiki in a mistyped directory");
}

#[test]
fn init_creates_a_missing_directory() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("new-wiki");
    init(&data);
    assert!(data.join("wiki.sqlite3").is_file());
    let output = quire(&["--data", data.to_str().unwrap(), "user", "list"], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// `quire serve` on `data` at a free port with `QUIRE_LOG=info`: its stderr lines as they come.
struct Serving {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    addr: String,
}

impl Serving {
    fn start(data: &Path, env: &[(&str, &str)]) -> Serving {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .to_string();
        let mut child = Command::new(QUIRE)
            .args(["--data", data.to_str().unwrap(), "serve", "--listen", &addr])
            .env_clear()
            .env("QUIRE_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Serving { child, lines, addr }
    }

    /// The lines logged up to and including the first that contains `what`.
    fn lines_until(&self, what: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    let done = line.contains(what);
                    seen.push(line);
                    if done {
                        return seen;
                    }
                }
                Err(_) => panic!("no line with {what:?} in:\n{}", seen.join("\n")),
            }
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_creates_a_new_wiki_and_says_so_in_one_line() {
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("wiki-data");
    let server = Serving::start(&data, &[]);
    let lines = server.lines_until(&format!("http://{}/", server.addr));
    let path = data.display().to_string();
    let new_wiki: Vec<&String> = lines.iter().filter(|l| l.contains("new wiki")).collect();
    assert_eq!(new_wiki.len(), 1, "{lines:#?}");
    assert!(new_wiki[0].contains(&path), "{lines:#?}");
    // That line, and the address once bound: no seeding, migration or search index lines.
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(data.join("wiki.sqlite3").is_file());
    // A request is one line, and the HTTP server's own housekeeping none.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    assert!(answer.starts_with(b"HTTP/1.0 200"), "{}", text(&answer));
    let lines = server.lines_until("answered");
    assert_eq!(lines.len(), 1, "{lines:#?}");
}

/// The variables `pid` started with (`/proc/PID/environ`).
fn environment_of(pid: u32) -> Vec<String> {
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    environ
        .split(|&byte| byte == 0)
        .map(|variable| String::from_utf8_lossy(variable).into_owned())
        .collect()
}

/// A server caps glibc's malloc arenas by starting itself again with `MALLOC_ARENA_MAX` (see
/// `quire::malloc_arenas`): the same process, logging and serving as ever; an operator's own value
/// stays. Fails if the server no longer starts again, or starts again over the operator's value.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[test]
fn a_server_caps_its_malloc_arenas_and_keeps_an_operators_cap() {
    let data = tempfile::tempdir().unwrap();
    init(data.path());
    let cores = std::thread::available_parallelism().unwrap().get();
    let expected = format!(
        "MALLOC_ARENA_MAX={}",
        quire::malloc_arenas::arenas_for(cores)
    );
    for (env, wanted) in [
        (vec![], expected.as_str()),
        (vec![("MALLOC_ARENA_MAX", "7")], "MALLOC_ARENA_MAX=7"),
    ] {
        let server = Serving::start(data.path(), &env);
        // The spawned pid is the server's: started again in place, not as a child.
        server.lines_until("http://");
        let environment = environment_of(server.child.id());
        let caps: Vec<&String> = environment
            .iter()
            .filter(|variable| variable.starts_with("MALLOC_ARENA_MAX="))
            .collect();
        assert_eq!(caps, [wanted], "{environment:?}");
        let mut stream = TcpStream::connect(&server.addr).unwrap();
        stream.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        assert!(answer.starts_with(b"HTTP/1.0 200"), "{}", text(&answer));
    }
}

#[test]
fn json_logs_are_one_object_a_line() {
    let data = tempfile::tempdir().unwrap();
    init(data.path());
    let server = Serving::start(data.path(), &[("QUIRE_LOG_FORMAT", "json")]);
    let lines = server.lines_until("http://");
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}"));
        assert_eq!(value["level"], "INFO", "{line}");
    }
}

#[test]
fn a_bad_log_format_is_an_error() {
    let output = quire(&["--version"], &[("QUIRE_LOG_FORMAT", "xml")]);
    // --version answers before anything is set up; a command that logs refuses.
    assert!(output.status.success());
    let data = tempfile::tempdir().unwrap();
    init(data.path());
    let output = quire(
        &["--data", data.path().to_str().unwrap(), "user", "list"],
        &[("QUIRE_LOG_FORMAT", "xml")],
    );
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("QUIRE_LOG_FORMAT") && stderr.contains("json"),
        "{stderr}"
    );
}

/// The built binary as a CGI program at `QUIRE_LOG=info`, keeping what each request logged.
struct LoggedCgi<'a> {
    data: &'a Path,
    logs: RefCell<Vec<String>>,
}

impl Gateway for LoggedCgi<'_> {
    fn mount(&self) -> &str {
        ""
    }

    fn send(&self, request: TestRequest) -> TestResponse {
        let mut child = Command::new(QUIRE)
            .env_clear()
            .envs(cgi_variables(&request, ""))
            .env("QUIRE_DATA", self.data)
            .env("QUIRE_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&request.body)
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", text(&output.stderr));
        self.logs.borrow_mut().push(text(&output.stderr));
        parse_cgi_output(&output.stdout)
    }
}

#[test]
fn a_save_logs_one_line_at_info() {
    let data = tempfile::tempdir().unwrap();
    init(data.path());
    let cgi = LoggedCgi {
        data: data.path(),
        logs: RefCell::new(Vec::new()),
    };
    let browser = Browser::new(&cgi);
    // The first save of a page, then a second one: the index, its segments and merges are busy.
    for (text, base) in [("first words", None), ("second words", Some(1))] {
        let saved = browser.save_page("LogCount", text, base);
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
        let logs = cgi.logs.borrow();
        let save_log = logs.last().unwrap();
        assert!(
            save_log.lines().count() <= 1,
            "a save logged more than one line:\n{save_log}"
        );
    }
    for log in cgi.logs.borrow().iter() {
        assert!(log.lines().count() <= 1, "a request logged:\n{log}");
    }
    let found = browser.get("/+search?q=second");
    assert_eq!(found.status, StatusCode::OK);
    assert!(cgi.logs.borrow().last().unwrap().lines().count() <= 1);
}

/// A database damaged on disk is refused before anything is served or written, with the way back:
/// restoring a backup.
#[test]
fn a_damaged_database_is_refused_with_how_to_restore_it() {
    let data = tempfile::TempDir::new().unwrap();
    init(data.path());
    let database = data.path().join("wiki.sqlite3");
    // Checkpointed into the main file first, then its schema page overwritten past the header.
    let conn = rusqlite::Connection::open(&database).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
        .unwrap();
    drop(conn);
    let mut bytes = std::fs::read(&database).unwrap();
    for byte in &mut bytes[100..4096] {
        *byte = 0x5a;
    }
    std::fs::write(&database, &bytes).unwrap();
    let data_arg = data.path().to_str().unwrap();
    let out = quire(&["--data", data_arg, "reindex", "--quiet"], &[]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("corrupt") || stderr.contains("malformed"),
        "{stderr}"
    );
    assert!(stderr.contains("quire restore"), "{stderr}");
    assert_eq!(
        std::fs::read(&database).unwrap(),
        bytes,
        "the damaged file is left as it was"
    );
}

/// One statement against a wiki's database, from outside quire: the tests' way to damage it.
fn tamper(data: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(data.join("wiki.sqlite3")).unwrap();
    conn.execute_batch(sql).unwrap();
}

fn first_text(data: &Path, sql: &str) -> String {
    let conn = rusqlite::Connection::open(data.join("wiki.sqlite3")).unwrap();
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[test]
fn check_finds_links_and_acl_lines_that_disagree_with_the_texts_and_repair_rebuilds_them() {
    let data = tempfile::TempDir::new().unwrap();
    init(data.path());
    let data_arg = data.path().to_str().unwrap();
    let clean = quire(&["--data", data_arg, "check"], &[]);
    assert!(clean.status.success(), "{}", text(&clean.stderr));
    assert!(text(&clean.stdout).contains("all is well"));

    // A link of some page's current revision lost, and a line recorded for a revision that has
    // none, the scan marked as having passed it.
    let linking = first_text(
        data.path(),
        "SELECT p.name FROM links l JOIN revisions r ON r.id = l.revision_id
         JOIN pages p ON p.id = r.page_id AND p.current_rev = r.rev ORDER BY p.name LIMIT 1",
    );
    tamper(
        data.path(),
        "DELETE FROM links WHERE (revision_id, target) IN (
             SELECT l.revision_id, l.target FROM links l JOIN revisions r ON r.id = l.revision_id
             JOIN pages p ON p.id = r.page_id AND p.current_rev = r.rev ORDER BY p.name LIMIT 1);
         INSERT INTO revision_acls (revision_id, acl) VALUES ((SELECT MIN(id) FROM revisions), 'All:read');
         UPDATE acl_scan SET upto = (SELECT MAX(id) FROM revisions);
         INSERT OR REPLACE INTO link_names (name, live, sources) VALUES ('NoSuchName', 0, 3);
         INSERT INTO backlinks (target, source) VALUES ('NoSuchTarget', 'NoSuchSource');
         UPDATE pages SET last_change = 0 WHERE id = (SELECT MIN(id) FROM pages);",
    );
    let first = first_text(
        data.path(),
        "SELECT p.name FROM revisions r JOIN pages p ON p.id = r.page_id ORDER BY r.id LIMIT 1",
    );
    let found = quire(&["--data", data_arg, "check"], &[]);
    assert!(!found.status.success());
    let said = text(&found.stdout);
    assert!(
        said.contains(&format!("{linking}: the links recorded")),
        "{said}"
    );
    assert!(
        said.contains(&format!("{first}: the ACL line recorded for revision 1")),
        "{said}"
    );
    assert!(
        said.contains("NoSuchName: its count of incoming links"),
        "{said}"
    );
    assert!(
        said.contains("NoSuchTarget: the pages recorded as linking to it"),
        "{said}"
    );
    let oldest = first_text(data.path(), "SELECT name FROM pages ORDER BY id LIMIT 1");
    assert!(
        said.contains(&format!("{oldest}: its newest change is recorded wrong")),
        "{said}"
    );
    assert!(text(&found.stderr).contains("--repair"));

    let repaired = quire(&["--data", data_arg, "check", "--repair"], &[]);
    assert!(repaired.status.success(), "{}", text(&repaired.stderr));
    assert!(text(&repaired.stdout).contains("all is well now"));
    assert!(text(&repaired.stdout).contains("rebuilt the names behind orphans and wanted pages"));
    assert!(text(&repaired.stdout).contains("rebuilt the backlinks by name"));
    assert!(text(&repaired.stdout).contains("set each page's newest change"));
    let again = quire(&["--data", data_arg, "check"], &[]);
    assert!(again.status.success(), "{}", text(&again.stdout));
}

#[test]
fn check_finds_a_missing_revision_and_says_to_restore() {
    let data = tempfile::TempDir::new().unwrap();
    init(data.path());
    let data_arg = data.path().to_str().unwrap();
    // A second revision of the first page, then its first taken away.
    let page = first_text(data.path(), "SELECT name FROM pages ORDER BY id LIMIT 1");
    tamper(
        data.path(),
        "PRAGMA foreign_keys = OFF;
         INSERT INTO revisions (page_id, rev, author, time, comment, size, size_delta, format, body)
             SELECT page_id, 2, author, time + 1, comment, size, 0, format, body FROM revisions
             WHERE page_id = (SELECT MIN(id) FROM pages) AND rev = 1;
         DELETE FROM revisions WHERE page_id = (SELECT MIN(id) FROM pages) AND rev = 1;
         UPDATE pages SET current_rev = 2 WHERE id = (SELECT MIN(id) FROM pages);",
    );
    let found = quire(&["--data", data_arg, "check", "--repair"], &[]);
    assert!(!found.status.success());
    let said = text(&found.stdout);
    assert!(
        said.contains(&format!(
            "{page}: its revisions are numbered 2 to 2, but there are 1"
        )),
        "{said}"
    );
    assert!(text(&found.stderr).contains("quire restore"));
}

#[test]
fn links_filled_in_for_pages_saved_without_them_follow_the_markup_settings() {
    let data = tempfile::TempDir::new().unwrap();
    init(data.path());
    let settings = data.path().join("quire.toml");
    let mut toml = std::fs::read_to_string(&settings).unwrap();
    toml.push_str("\ncamel_case = true\n");
    std::fs::write(&settings, toml).unwrap();
    // As after an import, or an upgrade from before the link graph: no page's links recorded.
    tamper(
        data.path(),
        "DELETE FROM links; DELETE FROM file_links; UPDATE pages SET links_rev = 0;",
    );
    // Opening the wiki fills them in; `Help/Migrating` names MoinMoin in CamelCase, without [[ ]].
    let checked = quire(&["--data", data.path().to_str().unwrap(), "check"], &[]);
    assert!(checked.status.success(), "{}", text(&checked.stdout));
    let linked = first_text(
        data.path(),
        "SELECT COUNT(*) || '' FROM links WHERE target = 'MoinMoin'",
    );
    assert_ne!(linked, "0");
}

#[test]
fn check_agrees_with_a_page_that_links_to_itself() {
    let data = tempfile::TempDir::new().unwrap();
    init(data.path());
    let wiki = crate::drivers::InProcess::start_in(data);
    let saved = Browser::new(&wiki).save_page("Loop", "Back to [[Loop]] and [[Other]].", None);
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let data_arg = wiki.data_dir().to_str().unwrap().to_owned();
    let checked = quire(&["--data", &data_arg, "check"], &[]);
    assert!(checked.status.success(), "{}", text(&checked.stdout));
}
