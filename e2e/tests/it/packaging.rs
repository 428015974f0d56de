//! The packaged quire: the static binary (`packaging/build-static`) for
//! shared hosting and `cgi-bin`, and the Debian package
//! (`packaging/deb/build`) made from it.
//!
//! The static binary is a release build of its own (minutes on two cores),
//! made once per test run and shared by both tests. The package test
//! installs, runs and purges a real `quire` package on this machine, as
//! root: it leaves nothing behind, and first purges a `quire` package a
//! failed run may have left. Where systemd is not PID 1 (a container), no
//! unit can start; the test then does what systemd would do with the
//! installed `quire.service`: it runs its `ExecStart` with its
//! `Environment`, as its `User`, on a free port instead of 8080 (which may
//! be taken on a CI machine).

use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Instant;

use e2e::{account, free_port, repo_root, Running};
use gateway::testing::{TestRequest, TestResponse};

use crate::suite::http1_send;
use crate::systemd::{setting, settings};

/// The static quire, built once by `packaging/build-static`.
fn static_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let started = Instant::now();
        let path = PathBuf::from(stdout_of(&mut Command::new(
            repo_root().join("packaging/build-static"),
        )));
        eprintln!("static build: {:.0?}", started.elapsed());
        path
    })
}

/// Runs `command` and returns its standard output, trimmed; fails the test
/// with its standard error when it fails.
fn stdout_of(command: &mut Command) -> String {
    let output = command.stderr(Stdio::inherit()).output().unwrap();
    assert!(output.status.success(), "{command:?}: {}", output.status);
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

fn succeeds(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `GET {path}` from the HTTP server at `addr`.
fn get(addr: SocketAddr, path: &str) -> TestResponse {
    http1_send(addr, "", &TestRequest::get(path))
}

#[test]
fn static_binary_is_static_and_serves() {
    let binary = static_binary();
    let ldd = Command::new("ldd").arg(binary).output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&ldd.stdout),
        String::from_utf8_lossy(&ldd.stderr)
    );
    assert!(
        said.contains("not a dynamic executable") || said.contains("statically linked"),
        "ldd {}: {said}",
        binary.display()
    );

    let help = succeeds(Command::new(binary).arg("--help"));
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage"));

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("wiki");
    succeeds(Command::new(binary).arg("--data").arg(&data).arg("init"));

    // One CGI request, as a web server's cgi-bin makes it.
    let cgi = succeeds(
        Command::new(binary)
            .env_clear()
            .env("GATEWAY_INTERFACE", "CGI/1.1")
            .env("REQUEST_METHOD", "GET")
            .env("SCRIPT_NAME", "/cgi-bin/quire")
            .env("PATH_INFO", "/FrontPage")
            .env("QUERY_STRING", "")
            .env("SERVER_NAME", "localhost")
            .env("SERVER_PORT", "80")
            .env("SERVER_PROTOCOL", "HTTP/1.1")
            .env("QUIRE_DATA", &data)
            .stdin(Stdio::null()),
    );
    let page = String::from_utf8_lossy(&cgi.stdout);
    assert!(page.starts_with("Status: 200 OK\r\n"), "{page}");
    assert!(page.contains("Welcome to your wiki"), "{page}");
    assert!(page.contains("href=\"/cgi-bin/quire/Help\""), "{page}");

    // And the standalone server: it binds a numeric address, no name lookup.
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut server = Running::start(
        "static quire serve",
        Command::new(binary)
            .args(["serve", "--listen", &addr.to_string()])
            .env("QUIRE_DATA", &data)
            .stdout(Stdio::null()),
    );
    server.wait_until(|| TcpStream::connect(addr).is_ok());
    let response = get(addr, "/FrontPage");
    assert_eq!(response.status, 200, "{}", response.text());
    assert!(response.text().contains("Welcome to your wiki"));
}

/// What the package installs, besides what its maintainer scripts make.
const PACKAGE_FILES: [&str; 6] = [
    "/usr/bin/quire",
    "/usr/lib/systemd/system/quire.service",
    "/usr/lib/systemd/system/quire.service.d/debian.conf",
    "/usr/lib/systemd/system/quire-fastcgi.socket",
    "/usr/lib/systemd/system/quire-fastcgi.service",
    "/etc/quire/quire.toml",
];

fn user_exists(name: &str, file: &str) -> bool {
    fs::read_to_string(file)
        .unwrap()
        .lines()
        .any(|line| line.split(':').next() == Some(name))
}

#[test]
fn deb_installs_starts_and_purges() {
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let deb = stdout_of(
        Command::new(repo_root().join("packaging/deb/build"))
            .arg(static_binary())
            .arg(out.path()),
    );
    eprintln!("packaging: {:.0?}", started.elapsed());
    let info = succeeds(Command::new("dpkg-deb").args(["--info", &deb]));
    assert!(String::from_utf8_lossy(&info.stdout).contains("Package: quire"));

    succeeds(Command::new("dpkg").args(["--purge", "quire"]));
    succeeds(Command::new("dpkg").args(["-i", &deb]));
    for file in PACKAGE_FILES {
        assert!(Path::new(file).exists(), "{file} not installed");
    }
    let conffiles = succeeds(Command::new("dpkg-query").args(["-W", "-f=${Conffiles}", "quire"]));
    assert!(String::from_utf8_lossy(&conffiles.stdout).contains("/etc/quire/quire.toml"));

    // The user and the data directory postinst made, and the settings link.
    let quire = account("quire");
    let data = Path::new("/var/lib/quire");
    assert_eq!(fs::metadata(data).unwrap().uid(), quire.uid);
    assert_eq!(
        fs::read_link(data.join("quire.toml")).unwrap(),
        Path::new("/etc/quire/quire.toml")
    );
    // The conffile is what the wiki reads: a setting changed there shows.
    let settings_file = fs::read_to_string("/etc/quire/quire.toml").unwrap();
    fs::write(
        "/etc/quire/quire.toml",
        format!("site_name = \"Packaged Wiki\"\n{settings_file}"),
    )
    .unwrap();

    let unit = fs::read_to_string("/usr/lib/systemd/system/quire.service").unwrap();
    let drop_in =
        fs::read_to_string("/usr/lib/systemd/system/quire.service.d/debian.conf").unwrap();
    assert_eq!(setting(&drop_in, "DynamicUser"), "no");
    assert_eq!(setting(&unit, "User"), "quire");
    assert_eq!(setting(&unit, "StateDirectory"), "quire");
    let mount = "/wiki";
    let exec_start = setting(&unit, "ExecStart");
    assert!(
        exec_start.starts_with("/usr/bin/quire serve") && exec_start.contains(mount),
        "{exec_start}"
    );

    let systemd_runs = Path::new("/run/systemd/system").is_dir();
    let page = if systemd_runs {
        // postinst started it, before the setting was changed.
        succeeds(Command::new("systemctl").args(["restart", "quire.service"]));
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        wait_for(addr);
        http1_send(addr, mount, &TestRequest::get("/FrontPage"))
    } else {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut words: Vec<String> = exec_start.split_whitespace().map(str::to_owned).collect();
        let listen = words.iter().position(|word| word == "--listen").unwrap();
        words[listen + 1] = addr.to_string();
        let mut command = Command::new(&words[0]);
        command
            .args(&words[1..])
            .env_clear()
            .uid(quire.uid)
            .gid(quire.gid)
            .stdout(Stdio::null());
        for assignment in settings(&unit, "Environment") {
            let (name, value) = assignment.split_once('=').unwrap();
            command.env(name, value.replace("%S", "/var/lib"));
        }
        let mut server = Running::start("the packaged quire.service", &mut command);
        server.wait_until(|| TcpStream::connect(addr).is_ok());
        http1_send(addr, mount, &TestRequest::get("/FrontPage"))
    };
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("Welcome to your wiki"));
    assert!(page.text().contains("Packaged Wiki"), "{}", page.text());
    let database = fs::metadata(data.join("wiki.sqlite3")).unwrap();
    assert_eq!(database.uid(), quire.uid);

    succeeds(Command::new("dpkg").args(["--purge", "quire"]));
    for file in PACKAGE_FILES
        .iter()
        .chain(&["/etc/quire", "/var/lib/quire"])
    {
        assert!(!Path::new(file).exists(), "{file} is left after purge");
    }
    assert!(!user_exists("quire", "/etc/passwd"), "user quire left");
    assert!(!user_exists("quire", "/etc/group"), "group quire left");
}

/// Waits up to 30 s for a server to accept connections on `addr`.
fn wait_for(addr: SocketAddr) {
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
