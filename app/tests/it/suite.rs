//! What the scenario suite needs from a way of reaching the wiki: the
//! [`Gateway`] trait, the body limit every wiki under test is configured
//! with, and a plain HTTP/1.1 client.
//!
//! This file and `scenarios.rs` are shared, not copied: the app's tests
//! include them as modules, and so does the `e2e` crate (with `#[path]`),
//! which runs the same scenarios through nginx, Apache and lighttpd. So they
//! depend only on `gateway`'s test types, `http` and `flate2`, never on the
//! app crate or its binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::cell::RefCell;

use gateway::testing::{CookieJar, TestRequest, TestResponse};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// The body limit every wiki under test is configured with, small so 413 is
/// cheap.
pub const BODY_LIMIT: u64 = 64 * 1024;

/// The upload limit every wiki under test is configured with (`max_upload_bytes`), small so
/// 413 is cheap.
pub const UPLOAD_LIMIT: u64 = 256 * 1024;

/// A way to reach the wiki.
pub trait Gateway {
    /// The mount prefix links must start with.
    fn mount(&self) -> &str;
    /// Sends one request and reads the whole response.
    fn send(&self, request: TestRequest) -> TestResponse;
    /// Whether a web server in front answers a path that is not UTF-8 with
    /// its own 400 page before quire sees it (so only the status can be
    /// checked, not quire's explanation).
    fn server_rejects_non_utf8_paths(&self) -> bool {
        false
    }
    /// Whether all scenarios run on one wiki (the e2e suite), so that a scenario may meet
    /// what earlier ones left, such as failed logins from this client's address.
    fn shares_one_wiki(&self) -> bool {
        false
    }
    /// The upload limit the wiki behind this gateway is configured with: [`UPLOAD_LIMIT`], or a
    /// larger one where the scenarios move large files through real servers (the e2e suite).
    fn upload_limit(&self) -> u64 {
        UPLOAD_LIMIT
    }
    /// GETs a target below the mount.
    fn get(&self, target: &str) -> TestResponse {
        self.send(TestRequest::get(target))
    }
    /// The SMTP sink the wiki behind this gateway sends its mail to (`[mail]` in its
    /// `quire.toml`, [`MailSink::settings`]), if it has one.
    fn mail_sink(&self) -> Option<&MailSink> {
        None
    }
    /// Sends the mail the wiki queued where no worker does: under CGI, what cron runs (`quire
    /// notify`). The long-running servers send it themselves, so this does nothing for them.
    fn send_queued_mail(&self) {}
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "quire_session";

/// A browser on one gateway: keeps the cookies responses set and sends them back, and sends forms
/// with the CSRF token a page of the wiki gave it, as a person's browser does. Each browser is one
/// person: two browsers on one gateway have separate sessions.
pub struct Browser<'a> {
    gw: &'a dyn Gateway,
    jar: RefCell<CookieJar>,
    /// The CSRF token of the last page that had a form, if it is still good.
    token: RefCell<Option<String>>,
}

impl<'a> Browser<'a> {
    /// A browser with no cookies yet.
    pub fn new(gw: &'a dyn Gateway) -> Self {
        Browser {
            gw,
            jar: RefCell::new(CookieJar::new()),
            token: RefCell::new(None),
        }
    }

    /// Sends `request` with the browser's cookies, and keeps what the response sets. A page
    /// carrying a CSRF token becomes the token future forms send.
    pub fn send(&self, request: TestRequest) -> TestResponse {
        let request = self.jar.borrow().apply(request);
        let response = self.gw.send(request);
        self.jar.borrow_mut().store(&response);
        if let Some(token) = csrf_token_in(&response.text()) {
            *self.token.borrow_mut() = Some(token);
        }
        response
    }

    /// GETs a target below the mount.
    pub fn get(&self, target: &str) -> TestResponse {
        self.send(TestRequest::get(target))
    }

    /// POSTs a form as a person would: with the session cookie and the `csrf_token` field of a form
    /// the wiki served this browser (the last one seen, else the login form's). After a POST the token
    /// is fetched again, since a login or logout replaces it.
    pub fn post_form(&self, target: &str, fields: &[(&str, &str)]) -> TestResponse {
        let token = self.csrf_token();
        let mut with_token: Vec<(&str, &str)> = fields.to_vec();
        with_token.push(("csrf_token", &token));
        let response = self.send(TestRequest::post_form(target, &with_token));
        *self.token.borrow_mut() = None;
        response
    }

    /// Saves `text` as `page` the way a person does: opens the editor (which also brings the
    /// session and the form's CSRF token), then sends the form with a comment. `base_rev` is the
    /// revision the edit started from, `None` for a new page.
    pub fn save_page(&self, page: &str, text: &str, base_rev: Option<u64>) -> TestResponse {
        let base = base_rev.map(|rev| rev.to_string()).unwrap_or_default();
        self.save_with(page, text, "a test edit", |_| base)
    }

    /// Opens the editor of `page`, then sends its form with `text`, `comment` and the base
    /// revision `base` reads from the editor's HTML.
    pub fn save_with(
        &self,
        page: &str,
        text: &str,
        comment: &str,
        base: impl FnOnce(&str) -> String,
    ) -> TestResponse {
        let target = format!("/+edit/{page}");
        let form = self.get(&target);
        assert_eq!(form.status, StatusCode::OK, "the editor: {}", form.text());
        let base = base(&form.text());
        self.post_form(
            &target,
            &[
                ("text", text),
                ("comment", comment),
                ("base_rev", &base),
                ("action", "save"),
            ],
        )
    }

    /// Uploads `files` (name, bytes) to `page`'s files as a browser sends the upload form: a
    /// `multipart/form-data` body with the CSRF token first, then `fields`, then the files.
    pub fn upload(
        &self,
        page: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &[u8])],
    ) -> TestResponse {
        let target = format!("/+files/{page}");
        let list = self.get(&target);
        let token = csrf_token_in(&list.text()).unwrap_or_else(|| self.csrf_token());
        let (content_type, body) = multipart_body(&token, fields, files);
        let mut request = TestRequest::get(&target).with_header("content-type", &content_type);
        request.method = http::Method::POST;
        request.body = body;
        let response = self.send(request);
        *self.token.borrow_mut() = None;
        response
    }

    /// Makes an API token that may `scope` (`read` or `write`) on `/+prefs`, as a logged-in person
    /// does, and returns it from the page that shows it once.
    pub fn make_api_token(&self, label: &str, scope: &str) -> String {
        self.get("/+prefs");
        let made = self.post_form(
            "/+prefs",
            &[
                ("action", "token_create"),
                ("label", label),
                ("scope", scope),
            ],
        );
        assert_eq!(made.status, StatusCode::OK, "{}", made.text());
        let html = made.text();
        let start = html.find("quire_").expect("the new token is shown once");
        html[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect()
    }

    /// Logs in through the form, as a person would: the login page first, then the form.
    pub fn log_in(&self, name: &str, password: &str) -> TestResponse {
        self.login_form();
        self.post_form("/+login", &[("name", name), ("password", password)])
    }

    /// GETs the login form, which every wiki serves to anyone (and so has a CSRF token).
    fn login_form(&self) -> TestResponse {
        let form = self.get("/+login");
        assert_eq!(
            form.status,
            StatusCode::OK,
            "the login form: {}",
            form.text()
        );
        form
    }

    /// The CSRF token a form of this session carries, from the last page seen or the login form.
    pub fn csrf_token(&self) -> String {
        if let Some(token) = self.token.borrow().clone() {
            return token;
        }
        let form = self.login_form();
        csrf_token_in(&form.text())
            .unwrap_or_else(|| panic!("no csrf_token in the login form: {}", form.text()))
    }

    /// The value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.borrow().get(name).map(str::to_owned)
    }

    /// Sets cookie `name`, as a tampering client could.
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar.borrow_mut().set(name, value);
    }
}

/// A browser is a way to reach the wiki too: as the person it is (with their session).
impl Gateway for Browser<'_> {
    fn mount(&self) -> &str {
        self.gw.mount()
    }

    fn send(&self, request: TestRequest) -> TestResponse {
        Browser::send(self, request)
    }

    fn server_rejects_non_utf8_paths(&self) -> bool {
        self.gw.server_rejects_non_utf8_paths()
    }

    fn shares_one_wiki(&self) -> bool {
        self.gw.shares_one_wiki()
    }

    fn upload_limit(&self) -> u64 {
        self.gw.upload_limit()
    }

    fn mail_sink(&self) -> Option<&MailSink> {
        self.gw.mail_sink()
    }

    fn send_queued_mail(&self) {
        self.gw.send_queued_mail();
    }
}

/// A `multipart/form-data` body as browsers write one: the token, the fields, then the files.
/// Returns the `Content-Type` (with its boundary) and the body.
pub fn multipart_body(
    token: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &[u8])],
) -> (String, Vec<u8>) {
    let boundary = "----quireTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    let mut field = |name: &str, value: &str| {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .as_bytes(),
        );
    };
    field("csrf_token", token);
    for (name, value) in fields {
        field(name, value);
    }
    for (name, bytes) in files {
        // Browsers escape `"` as %22 and CR/LF as %0D%0A in a file name (the HTML standard).
        let escaped = name
            .replace('"', "%22")
            .replace('\r', "%0D")
            .replace('\n', "%0A");
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{escaped}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The value of the first `csrf_token` hidden field in `html`.
pub fn csrf_token_in(html: &str) -> Option<String> {
    hidden_value(html, "csrf_token").filter(|token| !token.is_empty())
}

/// The value of the first form field named `name` in `html` (a hidden input's, say).
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + "value=\"".len();
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_owned())
}

/// POSTs a form through a fresh [`Browser`] (one that fetched a form first for its cookie and
/// token): the way to send one form as an anonymous visitor.
pub fn post_form(gw: &dyn Gateway, target: &str, fields: &[(&str, &str)]) -> TestResponse {
    Browser::new(gw).post_form(target, fields)
}

/// GETs `target` until `found` holds for the body (the search index may catch up in the
/// background, a moment after the save), and returns that body; fails after thirty seconds.
pub fn eventually(gw: &dyn Gateway, target: &str, found: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = gw.get(target);
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        let text = response.text();
        if found(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{target} never showed what was expected:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `request` for `{mount}{target}` to the HTTP/1.1 server at `addr`
/// on a fresh connection and reads the whole response.
pub fn http1_send(addr: SocketAddr, mount: &str, request: &TestRequest) -> TestResponse {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!(
        "{} {mount}{} HTTP/1.1\r\nConnection: close\r\n",
        request.method,
        request.target(),
    );
    // The server's address, unless the request names a host of its own.
    if !request
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in &request.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", request.body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before taking the whole body.
    let _ = stream.write_all(&request.body);
    read_http_response(stream, request.method == http::Method::HEAD)
}

fn read_http_response(stream: TcpStream, head_only: bool) -> TestResponse {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = StatusCode::from_bytes(&line.as_bytes()[9..12]).unwrap();
    let mut headers = HeaderMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            HeaderName::try_from(name).unwrap(),
            HeaderValue::try_from(value.trim()).unwrap(),
        );
    }
    let mut body = Vec::new();
    if head_only {
        return TestResponse {
            status,
            headers,
            body,
        };
    }
    let chunked = headers
        .get("transfer-encoding")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"chunked"));
    if chunked {
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            let size = usize::from_str_radix(line.trim(), 16).unwrap_or_else(|_| {
                panic!(
                    "a {status} response's chunked body was cut off (chunk size line {line:?}); \
                     received so far: {}",
                    String::from_utf8_lossy(&body)
                )
            });
            if size == 0 {
                break;
            }
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        reader.read_to_end(&mut body).unwrap();
    }
    TestResponse {
        status,
        headers,
        body,
    }
}

/// Runs `quire notify` as `command` (the binary, its data directory and environment set), which
/// must succeed, as cron would; returns what it printed.
pub fn notify_succeeds(command: &mut std::process::Command) -> std::process::Output {
    let output = command.arg("notify").output().unwrap();
    assert!(
        output.status.success(),
        "quire notify failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A mail the sink took: the envelope and the message as sent (headers and body, dots unstuffed).
#[derive(Debug, Clone)]
pub struct SunkMail {
    /// `MAIL FROM`'s address.
    pub from: String,
    /// Every `RCPT TO` address.
    pub to: Vec<String>,
    /// The message.
    pub data: String,
}

/// An SMTP server on a free loopback port that keeps what it is sent, for the wiki under test to
/// mail to: `EHLO`/`HELO`, `MAIL`, `RCPT`, `DATA`, `RSET`, `NOOP`, `QUIT`, plain text only. It can
/// be told to refuse mail (`451` to `MAIL FROM`), as a server that is down for a while does.
/// Stopped when dropped.
pub struct MailSink {
    addr: SocketAddr,
    mail: Arc<Mutex<Vec<SunkMail>>>,
    refusing: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
}

impl MailSink {
    /// A sink listening on a free loopback port.
    pub fn start() -> MailSink {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let sink = MailSink {
            addr: listener.local_addr().unwrap(),
            mail: Arc::default(),
            refusing: Arc::default(),
            stopping: Arc::default(),
        };
        let (mail, refusing, stopping) = (
            Arc::clone(&sink.mail),
            Arc::clone(&sink.refusing),
            Arc::clone(&sink.stopping),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (mail, refusing) = (Arc::clone(&mail), Arc::clone(&refusing));
                std::thread::spawn(move || {
                    let _ = smtp_session(stream, &mail, &refusing);
                });
            }
        });
        sink
    }

    /// The `[mail]` table of a `quire.toml` that sends to this sink.
    pub fn settings(&self) -> String {
        format!(
            "[mail]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"quire <wiki@example.org>\"\n",
            self.addr.port()
        )
    }

    /// Every mail taken so far.
    pub fn mail(&self) -> Vec<SunkMail> {
        self.mail.lock().unwrap().clone()
    }

    /// The mail taken so far for `address`.
    pub fn mail_to(&self, address: &str) -> Vec<SunkMail> {
        self.mail()
            .into_iter()
            .filter(|mail| mail.to.iter().any(|to| to == address))
            .collect()
    }

    /// Waits up to `within` for mail to `address` to arrive, and returns what has.
    pub fn wait_for(&self, address: &str, within: Duration) -> Vec<SunkMail> {
        let deadline = Instant::now() + within;
        loop {
            let mail = self.mail_to(address);
            if !mail.is_empty() || Instant::now() >= deadline {
                return mail;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// From now on, refuses mail (`refuse`) or takes it again.
    #[allow(
        dead_code,
        reason = "the app's own tests refuse mail (watching.rs); the e2e crate, which shares this file, does not"
    )]
    pub fn refuse(&self, refuse: bool) {
        self.refusing.store(refuse, Ordering::Relaxed);
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        // Wakes the accepting thread, which then sees it should stop.
        let _ = TcpStream::connect(self.addr);
    }
}

/// One SMTP conversation, until `QUIT` or the connection ends.
fn smtp_session(
    stream: TcpStream,
    mail: &Mutex<Vec<SunkMail>>,
    refusing: &AtomicBool,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"220 sink ESMTP\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let verb = command.split(' ').next().unwrap_or("").to_ascii_uppercase();
        let address = || {
            let start = command.find('<').map_or(0, |at| at + 1);
            let end = command.rfind('>').unwrap_or(command.len());
            command.get(start..end).unwrap_or("").to_owned()
        };
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
            "HELO" | "NOOP" => b"250 ok\r\n",
            "RSET" => {
                (from, to) = (String::new(), Vec::new());
                b"250 ok\r\n"
            }
            "MAIL" if refusing.load(Ordering::Relaxed) => b"451 try again later\r\n",
            "MAIL" => {
                from = address();
                b"250 ok\r\n"
            }
            "RCPT" => {
                to.push(address());
                b"250 ok\r\n"
            }
            "DATA" => {
                writer.write_all(b"354 go on\r\n")?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    let text = line.trim_end_matches(['\r', '\n']);
                    if text == "." {
                        break;
                    }
                    data.push_str(text.strip_prefix('.').unwrap_or(text));
                    data.push('\n');
                }
                mail.lock().unwrap().push(SunkMail {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                });
                b"250 taken\r\n"
            }
            "QUIT" => {
                writer.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            _ => b"500 what\r\n",
        };
        writer.write_all(reply)?;
    }
}
