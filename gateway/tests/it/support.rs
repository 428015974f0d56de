//! What the socket adapter tests share: an app with a few test routes, and
//! a server on a temp unix socket or a free TCP port.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use gateway::fastcgi::record::RecordType;
use gateway::fastcgi::Client;
use gateway::listener::Listener;
use gateway::server::{Protocol, Server, ServerConfig};
use gateway::{App, HttpError, IntoResponse, Request, Response};

/// Requests that have reached `/together` and not yet left.
pub static TOGETHER: Mutex<usize> = Mutex::new(0);
static TOGETHER_CHANGED: Condvar = Condvar::new();

/// The app behind every test server.
pub fn app(mut request: Request) -> Response {
    let text = match request.path_info() {
        b"/panic" => panic!("the test app panics on purpose"),
        b"/echo" => match request.body_mut().read_to_vec() {
            Ok(body) => return Response::new(body.into()),
            Err(err) => return HttpError::from(err).into_response(),
        },
        b"/header-size" => {
            let size = request.headers().get("x-big").map_or(0, |v| v.len());
            format!("x-big is {size} bytes")
        }
        // Answers once three requests are in the app at the same time, which
        // only happens when they really run concurrently.
        b"/together" => together(request.query()),
        b"/hold" => return hold(),
        _ => format!(
            "{} {} ?{} mount={} thing={}",
            request.method(),
            String::from_utf8_lossy(request.path_info()),
            request.query(),
            request.mount(),
            request
                .headers()
                .get("x-thing")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-"),
        ),
    };
    let mut response = Response::new(text.into());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    response
}

fn together(query: &str) -> String {
    let mut count = TOGETHER.lock().expect("no test panics holding the lock");
    *count += 1;
    TOGETHER_CHANGED.notify_all();
    // A generous timeout turns a server that runs them one by one into a
    // failed assertion rather than a hung test.
    let (_count, timeout) = TOGETHER_CHANGED
        .wait_timeout_while(count, Duration::from_secs(20), |count| *count < 3)
        .expect("no test panics holding the lock");
    let answer = if timeout.timed_out() {
        "alone"
    } else {
        "together"
    };
    format!("{answer} {query}")
}

/// Whether `/hold` may answer, and whether its response is gone.
pub static HOLD_RELEASED: Mutex<bool> = Mutex::new(false);
pub static HOLD_GONE: Mutex<bool> = Mutex::new(false);
static HOLD_CHANGED: Condvar = Condvar::new();

pub fn wait_for(flag: &Mutex<bool>) {
    let guard = flag.lock().expect("no test panics holding the lock");
    let _ = HOLD_CHANGED
        .wait_timeout_while(guard, Duration::from_secs(20), |set| !*set)
        .expect("no test panics holding the lock");
}

pub fn set(flag: &Mutex<bool>) {
    *flag.lock().expect("no test panics holding the lock") = true;
    HOLD_CHANGED.notify_all();
}

/// Waits until the test releases it, then answers with a body that tells
/// the test when the worker is done with it.
fn hold() -> Response {
    wait_for(&HOLD_RELEASED);
    Response::new(gateway::ResponseBody::reader(SignalOnDrop(
        std::io::Cursor::new(vec![b'h'; 100_000]),
    )))
}

struct SignalOnDrop(std::io::Cursor<Vec<u8>>);

impl std::io::Read for SignalOnDrop {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl Drop for SignalOnDrop {
    fn drop(&mut self) {
        set(&HOLD_GONE);
    }
}

/// A server on a temp unix socket or a free TCP port, stopped on drop.
pub struct TestServer {
    server: Option<Server>,
    pub spec: String,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A FastCGI server on a unix socket.
    pub fn unix(config: ServerConfig) -> Self {
        Self::unix_with(Protocol::FastCgi, config)
    }

    /// A FastCGI server on a TCP port.
    pub fn tcp(config: ServerConfig) -> Self {
        Self::tcp_with(Protocol::FastCgi, config)
    }

    /// A server of `protocol` on a unix socket.
    pub fn unix_with(protocol: Protocol, config: ServerConfig) -> Self {
        Self::start(protocol, Arc::new(app), true, config)
    }

    /// A server of `protocol` on a TCP port.
    pub fn tcp_with(protocol: Protocol, config: ServerConfig) -> Self {
        Self::start(protocol, Arc::new(app), false, config)
    }

    /// A server of another app.
    pub fn start(protocol: Protocol, app: Arc<dyn App>, unix: bool, config: ServerConfig) -> Self {
        let dir = tempfile::tempdir().expect("a temp dir can be made");
        let spec = match unix {
            true => format!("unix:{}", dir.path().join("server.sock").display()),
            false => "127.0.0.1:0".to_owned(),
        };
        let listener = Listener::bind(&spec).expect("the test socket can be bound");
        let server = Server::start(listener, protocol, app, config).expect("the server starts");
        let spec = server
            .local_spec()
            .expect("a bound socket has an address")
            .to_owned();
        TestServer {
            server: Some(server),
            spec,
            _dir: dir,
        }
    }

    /// A FastCGI client.
    pub fn client(&self) -> Client {
        Client::connect(&self.spec).expect("the test server accepts")
    }

    /// An SCGI client.
    pub fn scgi(&self) -> gateway::scgi::Client {
        gateway::scgi::Client::connect(&self.spec)
            .and_then(|client| client.with_timeout(Some(Duration::from_secs(20))))
            .expect("the test server accepts")
    }

    /// Stops the server from another thread.
    pub fn shutdown_handle(&self) -> gateway::server::ShutdownHandle {
        self.server
            .as_ref()
            .expect("the server runs")
            .shutdown_handle()
    }

    pub fn shutdown(mut self) {
        let server = self.server.take().expect("shut down only once");
        server.shutdown().expect("the server stops cleanly");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.shutdown();
        }
    }
}

pub fn config() -> ServerConfig {
    ServerConfig {
        workers: 4,
        max_connections: 8,
        ..ServerConfig::default()
    }
}

/// Reads one response's `FCGI_STDOUT` records up to its `FCGI_END_REQUEST`,
/// after a test sent the request by hand, and parses it.
pub fn read_response(client: &mut Client) -> gateway::testing::TestResponse {
    let mut stdout = Vec::new();
    loop {
        let record = client
            .read_record()
            .expect("the response arrives")
            .expect("the connection stays open until the end of the request");
        match record.record_type() {
            RecordType::STDOUT => stdout.extend_from_slice(record.content()),
            RecordType::END_REQUEST => break,
            other => panic!("unexpected record type {other:?}"),
        }
    }
    gateway::fastcgi::parse_cgi_response(&stdout).expect("a CGI response")
}

/// A command that starts this test binary again to run only the ignored
/// test `test` (its path, such as `cgi::child_process`): how these tests get
/// a real child process, a CGI program or a server on an inherited socket.
/// The caller sets a marker variable the child's test checks, so that the
/// test does nothing when run by hand.
pub fn this_test_binary(test: &str) -> std::process::Command {
    let mut command = std::process::Command::new(
        std::env::current_exe().expect("the test binary knows its path"),
    );
    command.args([test, "--exact", "--ignored", "--test-threads=1", "-q"]);
    command
}

/// [`this_test_binary`] started as a web server runs a CGI program: only
/// `marker` and the meta-variables `vars` in its environment, stdin and
/// stdout piped, stderr dropped.
pub fn cgi_process<K, V>(
    test: &str,
    marker: &str,
    vars: impl IntoIterator<Item = (K, V)>,
) -> std::process::Child
where
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    this_test_binary(test)
        .env_clear()
        .env(marker, "1")
        .envs(vars)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the test binary starts again")
}

/// Serves one CGI request with `app` and exits: the body of a child test
/// started by [`this_test_binary`] with `marker` set.
pub fn serve_one_cgi_request(marker: &str, app: &dyn App) -> ! {
    assert!(
        std::env::var_os(marker).is_some(),
        "this is not a test to run by hand"
    );
    let code = match gateway::cgi::run(app, &gateway::GatewayConfig::default()) {
        Ok(()) => 0,
        Err(_) => 1,
    };
    // Leave before the test harness prints its summary onto the response.
    std::process::exit(code);
}

/// The CGI response in a child's stdout, after the line the test harness
/// prints before the test starts.
pub fn cgi_response_in(stdout: &[u8]) -> &[u8] {
    let start = stdout
        .windows(8)
        .position(|window| window == b"Status: ")
        .unwrap_or_else(|| panic!("no CGI response in {:?}", String::from_utf8_lossy(stdout)));
    &stdout[start..]
}

/// The body of a `Transfer-Encoding: chunked` response, its chunks joined.
pub fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size = std::str::from_utf8(&raw[..line_end])
            .ok()
            .and_then(|line| line.split(';').next())
            .and_then(|hex| usize::from_str_radix(hex.trim(), 16).ok())
            .expect("a hexadecimal chunk size");
        raw = &raw[line_end + 2..];
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&raw[..size]);
        assert_eq!(&raw[size..size + 2], b"\r\n");
        raw = &raw[size + 2..];
    }
}
