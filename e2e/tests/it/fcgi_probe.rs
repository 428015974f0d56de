//! `quire fastcgi` answers an independent FastCGI client: `fcgi_probe.py`,
//! written from the FastCGI 1.0 specification in stdlib-only Python, so it
//! shares no record codec with quire. It checks GET_VALUES, three requests
//! multiplexed on one connection, a 200 KiB params block, a 1 MiB body, an
//! aborted request and a connection that sends garbage.

use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};

use e2e::{ensure_tool, quire_binary, repo_root, Running};

#[test]
fn answers_an_independent_fastcgi_client() {
    ensure_tool("python3", "python3");
    let data = tempfile::tempdir().unwrap();
    e2e::init_wiki(data.path());
    let socket = data.path().join("fcgi.sock");
    let listen = format!("unix:{}", socket.to_str().unwrap());
    let mut server = Running::start(
        "quire fastcgi",
        Command::new(quire_binary())
            .args(["fastcgi", "--listen", &listen])
            .env("QUIRE_DATA", data.path())
            // The probe posts 1 MiB; the default limit may be lower.
            .env("QUIRE_MAX_BODY", "4194304")
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    server.wait_until(|| UnixStream::connect(&socket).is_ok());
    let output = Command::new("python3")
        .arg(repo_root().join("e2e/fcgi_probe.py"))
        .arg(&socket)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "fcgi_probe.py failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), 6);
}
