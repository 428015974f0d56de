//! `quire fastcgi` answers Debian's standard FastCGI client, `cgi-fcgi`
//! (libfcgi-bin, the FastCGI reference library), both on a socket quire
//! binds and on one cgi-fcgi hands it on standard input, as mod_fcgid and
//! lighttpd do.

use std::net::TcpStream;
use std::process::{Command, Output, Stdio};

use e2e::{ensure_tool, free_port, quire_binary, Running};

/// Runs one request through `cgi-fcgi -bind -connect ADDR`.
fn cgi_fcgi_get(connect: &str, path_info: &str) -> Output {
    Command::new("cgi-fcgi")
        .args(["-bind", "-connect", connect])
        .env_clear()
        .env("REQUEST_METHOD", "GET")
        .env("SCRIPT_NAME", "/wiki")
        .env("PATH_INFO", path_info)
        .env("QUERY_STRING", "")
        .env("SERVER_NAME", "localhost")
        .env("SERVER_PORT", "80")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .stdin(Stdio::null())
        .output()
        .expect("cgi-fcgi runs")
}

fn assert_front_page(output: &Output) {
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cgi-fcgi failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.starts_with("Status: 200 OK\r\n"), "{text}");
    assert!(text.contains("Welcome to your wiki"), "{text}");
    assert!(
        text.contains("href=\"/wiki/Help\""),
        "links are under SCRIPT_NAME: {text}"
    );
}

#[test]
fn answers_cgi_fcgi_over_tcp() {
    ensure_tool("cgi-fcgi", "libfcgi-bin");
    let data = tempfile::tempdir().unwrap();
    e2e::init_wiki(data.path());
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Running::start(
        "quire fastcgi",
        Command::new(quire_binary())
            .args(["fastcgi", "--listen", &addr])
            .env("QUIRE_DATA", data.path())
            .stdout(Stdio::null()),
    );
    server.wait_until(|| TcpStream::connect(&addr).is_ok());
    assert_front_page(&cgi_fcgi_get(&addr, "/FrontPage"));
    let missing = cgi_fcgi_get(&addr, "/NoSuchPage");
    assert!(String::from_utf8_lossy(&missing.stdout).starts_with("Status: 404"));
}

#[test]
fn answers_when_spawned_with_the_socket_on_stdin() {
    ensure_tool("cgi-fcgi", "libfcgi-bin");
    let data = tempfile::tempdir().unwrap();
    e2e::init_wiki(data.path());
    let socket = data.path().join("spawned.sock");
    let socket = socket.to_str().unwrap();
    // `cgi-fcgi -start` binds the socket and starts quire with it on fd 0,
    // with no command: quire must detect FastCGI by itself.
    let status = Command::new("cgi-fcgi")
        .args([
            "-start",
            "-connect",
            socket,
            quire_binary().to_str().unwrap(),
        ])
        .env("QUIRE_DATA", data.path())
        .status()
        .expect("cgi-fcgi runs");
    assert!(status.success());
    let _spawned = SpawnedQuire(data.path().to_path_buf());
    assert_front_page(&cgi_fcgi_get(socket, "/FrontPage"));
}

/// Stops the quire that `cgi-fcgi -start` left running: the process whose
/// environment names this test's data directory.
struct SpawnedQuire(std::path::PathBuf);

impl Drop for SpawnedQuire {
    fn drop(&mut self) {
        e2e::kill_by_environment("QUIRE_DATA", &self.0);
    }
}
