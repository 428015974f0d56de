//! One driver per gateway, all behind [`Gateway`]. Each starts on a fresh
//! data directory and stops what it started when dropped.

use std::ffi::OsString;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::testing::{TestClient, TestRequest, TestResponse};
use gateway::App;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use quire::cli::{GlobalOptions, ServerFlags};
use quire::commands::Setup;
use quire::config::ListenFlags;
use quire::datadir::DataDir;
use tempfile::TempDir;

pub use crate::suite::{Gateway, MailSink, BODY_LIMIT, UPLOAD_LIMIT};

pub(crate) const QUIRE: &str = env!("CARGO_BIN_EXE_quire");

/// The wiki in this process, through the gateway's test client.
pub struct InProcess {
    client: TestClient<Arc<dyn App>>,
    sink: Option<MailSink>,
    _data: TempDir,
}

impl InProcess {
    /// A fresh wiki that mails to a sink of its own.
    pub fn start() -> Self {
        let (data, sink) = mailing_to_a_sink();
        InProcess {
            sink: Some(sink),
            ..Self::start_in(data)
        }
    }

    /// The wiki with `settings` as its `quire.toml` (written before the first start).
    pub fn start_with_settings(settings: &str) -> Self {
        let data = TempDir::new().unwrap();
        if !settings.is_empty() {
            std::fs::write(data.path().join("quire.toml"), settings).unwrap();
        }
        Self::start_in(data)
    }

    /// The wiki on a data directory the test prepared (settings, accounts, pages).
    pub fn start_in(data: TempDir) -> Self {
        let client = client_on(data.path());
        InProcess {
            client,
            sink: None,
            _data: data,
        }
    }
}

impl InProcess {
    /// [`InProcess::start`] with the wiki kept in PostgreSQL: a schema of its own on the server
    /// `QUIRE_TEST_DATABASE` names, given to the wiki as its `database` setting.
    pub fn start_on_postgres() -> Self {
        let (data, sink) = mailing_to_a_sink();
        let server = std::env::var("QUIRE_TEST_DATABASE")
            .expect("QUIRE_TEST_DATABASE names the PostgreSQL server to test on");
        let url = storage::testing::postgres_url_in_new_schema(&server).unwrap();
        let settings = data.path().join("quire.toml");
        let mut text = std::fs::read_to_string(&settings).unwrap();
        // A plain key: before the sink's settings' inline tables, as TOML wants.
        text.insert_str(0, &format!("database = {url:?}\n"));
        std::fs::write(&settings, text).unwrap();
        InProcess {
            sink: Some(sink),
            ..Self::start_in(data)
        }
    }
}

/// A fresh data directory whose `quire.toml` sends mail to a sink started for it: how the
/// scenarios' wikis start, so that mail can be watched for through every gateway.
pub fn mailing_to_a_sink() -> (TempDir, MailSink) {
    let data = TempDir::new().unwrap();
    let sink = MailSink::start();
    std::fs::write(data.path().join("quire.toml"), sink.settings()).unwrap();
    (data, sink)
}

/// A wiki of its own on the data directory at `data`, as each CGI process or FastCGI worker has;
/// several may share one directory.
pub fn client_on(data: &Path) -> TestClient<Arc<dyn App>> {
    let global = GlobalOptions {
        data: Some(data.to_path_buf()),
        database: None,
        server: ServerFlags {
            max_body: Some(BODY_LIMIT),
            max_upload: Some(UPLOAD_LIMIT),
            ..ServerFlags::default()
        },
    };
    let setup = Setup::new(&global, ListenFlags::default()).unwrap();
    TestClient::new(setup.app().unwrap()).with_config(setup.gateway_config())
}

impl InProcess {
    /// The data directory, for tests that also use the command line or the database on it.
    pub fn data_dir(&self) -> &Path {
        self._data.path()
    }
}

impl Gateway for InProcess {
    fn mount(&self) -> &str {
        ""
    }

    fn send(&self, request: TestRequest) -> TestResponse {
        self.client.send(request)
    }

    fn mail_sink(&self) -> Option<&MailSink> {
        self.sink.as_ref()
    }
}

/// The built binary run once per request as a CGI program.
pub struct Cgi {
    data: TempDir,
    sink: Option<MailSink>,
}

impl Cgi {
    /// A fresh wiki that mails to a sink of its own, through `quire notify`.
    pub fn start() -> Self {
        let (data, sink) = mailing_to_a_sink();
        Cgi {
            sink: Some(sink),
            ..Self::start_in(data)
        }
    }

    /// The wiki on a data directory the test prepared (settings, accounts, pages).
    pub fn start_in(data: TempDir) -> Self {
        Cgi {
            data: with_wiki(data),
            sink: None,
        }
    }

    /// `quire notify` on the wiki's data directory, under the wiki's mount, as cron runs it; it
    /// must succeed.
    pub fn notify(&self) -> std::process::Output {
        crate::suite::notify_succeeds(
            Command::new(QUIRE)
                .env_clear()
                .env("QUIRE_DATA", self.data.path())
                .env("QUIRE_MOUNT", self.mount()),
        )
    }

    /// The data directory, for tests that also reach into it (the search index, say).
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }
}

/// `data` with a wiki in it, made as `quire init` makes one unless the test already did: the
/// commands other than `init` and `serve` refuse a directory that holds no wiki.
fn with_wiki(data: TempDir) -> TempDir {
    let dir = DataDir::locate(Some(data.path()));
    if !dir.holds_wiki() {
        dir.create().unwrap();
        dir.open_storage().unwrap();
    }
    data
}

/// The meta-variables a web server would set for `request` under `mount`.
pub(crate) fn cgi_variables(request: &TestRequest, mount: &str) -> Vec<(OsString, OsString)> {
    let mut vars: Vec<(OsString, OsString)> = vec![
        ("GATEWAY_INTERFACE".into(), "CGI/1.1".into()),
        ("SERVER_PROTOCOL".into(), "HTTP/1.1".into()),
        ("SERVER_SOFTWARE".into(), "quire-tests".into()),
        ("SERVER_NAME".into(), "localhost".into()),
        ("SERVER_PORT".into(), "80".into()),
        ("REMOTE_ADDR".into(), "127.0.0.1".into()),
        ("REQUEST_METHOD".into(), request.method.as_str().into()),
        ("SCRIPT_NAME".into(), mount.into()),
        ("PATH_INFO".into(), OsString::from_vec(request.path.clone())),
        ("QUERY_STRING".into(), request.query.clone().into()),
        (
            "REQUEST_URI".into(),
            format!("{mount}{}", request.target()).into(),
        ),
    ];
    if !request.body.is_empty() {
        vars.push((
            "CONTENT_LENGTH".into(),
            request.body.len().to_string().into(),
        ));
    }
    for (name, value) in &request.headers {
        let name = name.to_ascii_uppercase().replace('-', "_");
        let name = if name == "CONTENT_TYPE" {
            name
        } else {
            format!("HTTP_{name}")
        };
        vars.push((name.into(), value.clone().into()));
    }
    vars
}

/// Splits a CGI response (`Status:`, headers, blank line, body).
pub(crate) fn parse_cgi_output(output: &[u8]) -> TestResponse {
    let split = output
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| (at, at + 4))
        .or_else(|| {
            output
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|at| (at, at + 2))
        })
        .unwrap_or_else(|| {
            panic!(
                "no header block in CGI output: {:?}",
                String::from_utf8_lossy(output)
            )
        });
    let head = std::str::from_utf8(&output[..split.0]).unwrap();
    let mut status = StatusCode::OK;
    let mut headers = HeaderMap::new();
    for line in head.lines() {
        let (name, value) = line.split_once(':').unwrap();
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            status = StatusCode::from_bytes(&value.as_bytes()[..3]).unwrap();
        } else {
            headers.append(
                HeaderName::try_from(name).unwrap(),
                HeaderValue::try_from(value).unwrap(),
            );
        }
    }
    TestResponse {
        status,
        headers,
        body: output[split.1..].to_vec(),
    }
}

impl Gateway for Cgi {
    fn mount(&self) -> &str {
        "/cgi-bin/quire"
    }

    fn send(&self, request: TestRequest) -> TestResponse {
        let mut child = Command::new(QUIRE)
            .env_clear()
            .envs(cgi_variables(&request, self.mount()))
            .env("QUIRE_DATA", self.data.path())
            .env("QUIRE_MAX_BODY", BODY_LIMIT.to_string())
            .env("QUIRE_MAX_UPLOAD", UPLOAD_LIMIT.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let body = request.body.clone();
        // Written from a thread: a CGI that answers before reading its whole
        // body (413) must not deadlock the test.
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&body);
        });
        let output = child.wait_with_output().unwrap();
        let _ = writer.join();
        assert!(
            output.status.success(),
            "quire failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut response = parse_cgi_output(&output.stdout);
        if request.method == http::Method::HEAD {
            response.body.clear();
        }
        response
    }

    fn mail_sink(&self) -> Option<&MailSink> {
        self.sink.as_ref()
    }

    fn send_queued_mail(&self) {
        self.notify();
    }
}

/// A server process, killed when dropped.
struct ServerProcess {
    child: Child,
}

impl ServerProcess {
    fn spawn(data: &Path, args: &[&str]) -> ServerProcess {
        Self::spawn_with_stdin(data, args, Stdio::null())
    }

    /// Like [`ServerProcess::spawn`], with `stdin` as the child's fd 0.
    fn spawn_with_stdin(data: &Path, args: &[&str], stdin: Stdio) -> ServerProcess {
        let child = Command::new(QUIRE)
            .args(args)
            .env_clear()
            .env("QUIRE_DATA", data)
            .env("QUIRE_MAX_BODY", BODY_LIMIT.to_string())
            .env("QUIRE_MAX_UPLOAD", UPLOAD_LIMIT.to_string())
            .env("QUIRE_LOG", "warn")
            .stdin(stdin)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        ServerProcess { child }
    }

    /// Waits until `ready` says the server answers.
    fn wait_until(&mut self, what: &str, ready: impl FnMut() -> bool) {
        if !self.wait_for(what, ready) {
            panic!("quire exited before {what} was ready");
        }
    }

    /// Like [`ServerProcess::wait_until`], but a server that exits first (its port was taken)
    /// is `false`, for the caller to try again.
    fn wait_for(&mut self, what: &str, mut ready: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if ready() {
                return true;
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{what} did not come up within 30 s");
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `quire fastcgi` or `quire scgi` on a unix socket, spoken to by the
/// gateway's client for that protocol.
pub struct SocketServer {
    scgi: bool,
    socket: String,
    server: ServerProcess,
    sink: Option<MailSink>,
    _data: TempDir,
}

impl SocketServer {
    fn start(scgi: bool) -> Self {
        let (data, sink) = mailing_to_a_sink();
        SocketServer {
            sink: Some(sink),
            ..Self::start_in(scgi, data)
        }
    }

    /// The server on a data directory the test prepared (settings, accounts, pages).
    fn start_in(scgi: bool, data: TempDir) -> Self {
        let data = with_wiki(data);
        let (command, file) = if scgi {
            ("scgi", "scgi.sock")
        } else {
            ("fastcgi", "fcgi.sock")
        };
        let socket = format!("unix:{}", data.path().join(file).display());
        let mut server = ServerProcess::spawn(data.path(), &[command, "--listen", &socket]);
        server.wait_until("the socket", || {
            gateway::listener::Stream::connect(&socket).is_ok()
        });
        SocketServer {
            scgi,
            socket,
            server,
            sink: None,
            _data: data,
        }
    }
}

impl Gateway for SocketServer {
    fn mount(&self) -> &str {
        if self.scgi {
            "/scgi"
        } else {
            "/wiki"
        }
    }

    fn send(&self, request: TestRequest) -> TestResponse {
        if self.scgi {
            send_scgi(&self.socket, self.mount(), &request)
        } else {
            send_fastcgi(&self.socket, self.mount(), &request)
        }
    }

    fn mail_sink(&self) -> Option<&MailSink> {
        self.sink.as_ref()
    }
}

/// `quire fastcgi`.
pub struct FastCgi;

impl FastCgi {
    pub fn start() -> SocketServer {
        SocketServer::start(false)
    }

    /// `quire fastcgi` on a data directory the test prepared.
    pub fn start_in(data: TempDir) -> SocketServer {
        SocketServer::start_in(false, data)
    }
}

/// `quire scgi`.
pub struct Scgi;

impl Scgi {
    pub fn start() -> SocketServer {
        SocketServer::start(true)
    }

    /// `quire scgi` on a data directory the test prepared.
    pub fn start_in(data: TempDir) -> SocketServer {
        SocketServer::start_in(true, data)
    }
}

fn byte_pairs(request: &TestRequest, mount: &str) -> Vec<(Vec<u8>, Vec<u8>)> {
    cgi_variables(request, mount)
        .into_iter()
        .map(|(name, value)| (name.into_vec(), value.into_vec()))
        .collect()
}

fn send_scgi(socket: &str, mount: &str, request: &TestRequest) -> TestResponse {
    let client = gateway::scgi::Client::connect(socket).unwrap();
    let output = client
        .request(&byte_pairs(request, mount), &request.body)
        .unwrap();
    parse_cgi_output(&output)
}

fn send_fastcgi(socket: &str, mount: &str, request: &TestRequest) -> TestResponse {
    let mut client = gateway::fastcgi::Client::connect(socket).unwrap();
    let response = client
        .request(&byte_pairs(request, mount), &request.body)
        .unwrap();
    parse_cgi_output(&response.stdout)
}

/// `quire` with no command, as mod_fcgid or lighttpd's `bin-path` start it:
/// a listening unix socket on fd 0. It must tell FastCGI from SCGI by
/// itself, so requests alternate between the two.
pub struct Spawned {
    socket: String,
    sent: AtomicUsize,
    sink: MailSink,
    _server: ServerProcess,
    _data: TempDir,
}

impl Spawned {
    pub fn start() -> Self {
        let (data, sink) = mailing_to_a_sink();
        let data = with_wiki(data);
        let path = data.path().join("spawned.sock");
        let listener = UnixListener::bind(&path).unwrap();
        // Only the child keeps the socket: connections wait in its backlog
        // until quire accepts them, and fail once quire is gone.
        let server = ServerProcess::spawn_with_stdin(
            data.path(),
            &[],
            Stdio::from(std::os::fd::OwnedFd::from(listener)),
        );
        Spawned {
            socket: format!("unix:{}", path.display()),
            sent: AtomicUsize::new(0),
            sink,
            _server: server,
            _data: data,
        }
    }
}

impl Gateway for Spawned {
    fn mount(&self) -> &str {
        "/spawned"
    }

    fn send(&self, request: TestRequest) -> TestResponse {
        match self.sent.fetch_add(1, Ordering::Relaxed) % 2 {
            0 => send_fastcgi(&self.socket, self.mount(), &request),
            _ => send_scgi(&self.socket, self.mount(), &request),
        }
    }

    fn mail_sink(&self) -> Option<&MailSink> {
        Some(&self.sink)
    }
}

/// `quire serve` on a free loopback port, mounted under a prefix, spoken to
/// over plain HTTP/1.1.
pub struct Http {
    serve: Serve,
    sink: Option<MailSink>,
    _data: TempDir,
}

impl Http {
    pub fn start() -> Self {
        let (data, sink) = mailing_to_a_sink();
        Http {
            sink: Some(sink),
            ..Self::start_in(data)
        }
    }

    /// The server on a data directory the test prepared (settings, accounts, pages).
    pub fn start_in(data: TempDir) -> Self {
        let serve = Serve::start(data.path(), &[]);
        Http {
            serve,
            sink: None,
            _data: data,
        }
    }
}

/// A `quire serve` process of this test's own, killed when dropped.
///
/// The port is picked by binding port 0 and letting it go, so another test's server can take it
/// before this one binds it. Each server is therefore mounted under a prefix of its own and counts
/// as up only once a request under that prefix is answered (another server answers 404 there);
/// a server that lost its port exits, and a new port is tried.
pub struct Serve {
    pub addr: SocketAddr,
    pub mount: String,
    _server: ServerProcess,
}

impl Serve {
    /// `quire serve --listen … --mount … ARGS` on `data`.
    pub fn start(data: &Path, args: &[&str]) -> Serve {
        static SERVERS: AtomicUsize = AtomicUsize::new(0);
        for _ in 0..5 {
            let addr = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap();
            let mount = format!(
                "/w{}-{}",
                std::process::id(),
                SERVERS.fetch_add(1, Ordering::Relaxed)
            );
            let listen = addr.to_string();
            let mut command = vec!["serve", "--listen", &listen, "--mount", &mount];
            command.extend_from_slice(args);
            let mut server = ServerProcess::spawn(data, &command);
            let ours = || answers_under(addr, &mount);
            if server.wait_for("the HTTP server", ours) {
                return Serve {
                    addr,
                    mount,
                    _server: server,
                };
            }
        }
        panic!("quire serve found no free port in five tries");
    }

    /// The page at `target` under the mount, which must answer 200.
    pub fn page(&self, target: &str) -> String {
        let response = crate::suite::http1_send(self.addr, &self.mount, &TestRequest::get(target));
        assert_eq!(response.status, 200, "{target}: {}", response.text());
        response.text()
    }
}

/// Whether the server at `addr` answers 200 under `mount`: only the one mounted there does.
fn answers_under(addr: SocketAddr, mount: &str) -> bool {
    use std::io::Read;
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let request = format!("GET {mount}/+login HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let mut status_line = [0u8; 12];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut status_line).is_ok()
        && status_line.ends_with(b" 200")
}

impl Gateway for Http {
    fn mount(&self) -> &str {
        &self.serve.mount
    }

    fn send(&self, request: TestRequest) -> TestResponse {
        crate::suite::http1_send(self.serve.addr, self.mount(), &request)
    }

    fn mail_sink(&self) -> Option<&MailSink> {
        self.sink.as_ref()
    }
}

/// `writers` browsers at once, each saving its page `Writer{n}` `saves_each` times: `text(n, save)`
/// is what save number `save` writes, and `after_save(n)` runs after each. Every save must succeed.
pub fn save_concurrently<G: Gateway + Sync>(
    gw: &G,
    writers: usize,
    saves_each: u64,
    text: impl Fn(usize, u64) -> String + Sync,
    after_save: impl Fn(usize) + Sync,
) {
    std::thread::scope(|scope| {
        for writer in 0..writers {
            let (text, after_save) = (&text, &after_save);
            scope.spawn(move || {
                // Each writer is a browser: its first request (the editor, for the session and its
                // CSRF token) is one of several meeting the wiki at once.
                let browser = crate::suite::Browser::new(gw);
                for save in 0..saves_each {
                    let base = (save > 0).then_some(save);
                    let page = format!("Writer{writer}");
                    let response = browser.save_page(&page, &text(writer, save), base);
                    assert_eq!(
                        response.status,
                        StatusCode::SEE_OTHER,
                        "{}",
                        response.text()
                    );
                    after_save(writer);
                }
            });
        }
    });
}

/// `quire fastcgi` and `quire scgi` stop on SIGTERM and SIGINT with exit
/// status 0, having answered what they were asked (the gateway's tests show
/// that requests in progress finish first).
#[test]
fn socket_servers_exit_cleanly_on_sigterm_and_sigint() {
    for (scgi, signal) in [(false, "TERM"), (true, "TERM"), (true, "INT")] {
        let mut gw = SocketServer::start(scgi);
        assert_eq!(gw.get("/FrontPage").status, StatusCode::OK);
        let child = &mut gw.server.child;
        let killed = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "{} did not stop", gw.mount());
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{} on SIG{signal}: {status}", gw.mount());
    }
}

/// Makes the accounts `accounts` (name, role), each with `password`, in the wiki at `data`.
pub fn create_accounts(data: &Path, accounts: &[(&str, storage::Role)], password: &str) {
    let storage = DataDir::locate(Some(data)).open_storage().unwrap();
    for &(name, role) in accounts {
        let user = storage::NewUser {
            name,
            display_name: None,
            email: "",
            role,
            password,
            invite: None,
            reserved: &[],
        };
        storage.create_user(&user).unwrap();
    }
}
