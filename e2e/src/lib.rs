//! Support for quire's end-to-end tests: build the real binary, install the
//! real third-party tools the tests drive, start and stop processes.
//!
//! These tests install Debian packages when a tool is missing (as CI does,
//! running as root); they are not part of the default `cargo test` and run
//! with `cargo test -p e2e`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub mod postgres;

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e lives inside the repository")
        .to_path_buf()
}

/// The `quire` binary, built once per test run with the workspace's cargo,
/// in the tests' own profile: `cargo test --release` (the benchmarks) gets
/// an optimised quire.
pub fn quire_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let (profile, profile_flag) = if cfg!(debug_assertions) {
            ("debug", None)
        } else {
            ("release", Some("--release"))
        };
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .current_dir(repo_root())
            .args(["build", "--quiet", "-p", "app", "--bin", "quire"])
            .args(profile_flag)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building quire failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target"));
        target.join(profile).join("quire")
    })
}

/// Makes a wiki in `data` with `quire --data DATA init`: every command but `init` and `serve` refuses a
/// directory that holds none.
pub fn init_wiki(data: &Path) {
    let output = Command::new(quire_binary())
        .arg("--data")
        .arg(data)
        .arg("init")
        .env("QUIRE_LOG", "warn")
        .stdout(Stdio::null())
        .output()
        .expect("quire runs");
    assert!(
        output.status.success(),
        "quire init failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Makes sure `program` is on the PATH, installing `package` with apt-get
/// (after one `apt-get update`) when it is not.
pub fn ensure_tool(program: &str, package: &str) {
    ensure_installed(package, || which(program));
}

/// Makes sure `file` exists, installing `package` when it does not: for
/// what is not a program, such as an Apache module.
pub fn ensure_file(file: &str, package: &str) {
    ensure_installed(package, || Path::new(file).exists());
}

/// Installs `package` with apt-get (after one `apt-get update` per test
/// run) unless `present` already says yes, and checks `present` after.
pub fn ensure_installed(package: &str, present: impl Fn() -> bool) {
    if present() {
        return;
    }
    // Tests run in parallel; dpkg takes one install at a time.
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALLING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if present() {
        return;
    }
    static UPDATED: OnceLock<()> = OnceLock::new();
    UPDATED.get_or_init(|| {
        let status = Command::new("apt-get").args(["update", "-qq"]).status();
        assert!(
            status.is_ok_and(|status| status.success()),
            "apt-get update failed: the e2e tests install {package} themselves and must run as root"
        );
    });
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq", package])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status();
    assert!(
        status.is_ok_and(|status| status.success()) && present(),
        "could not install {package}; run the e2e tests as root on Debian"
    );
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A child process, stopped with everything it started when dropped.
///
/// It is started in a process group of its own, so that dropping it reaches
/// the workers and children a web server forks (Apache's, lighttpd's
/// spawned FastCGI processes): the group gets SIGTERM, and whatever is left
/// of it after a grace period gets SIGKILL.
pub struct Running {
    name: String,
    child: Child,
}

impl Running {
    /// Starts `command`, naming it `name` in failures.
    pub fn start(name: &str, command: &mut Command) -> Running {
        let child = command
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {name}: {err}"));
        Running {
            name: name.to_owned(),
            child,
        }
    }

    /// The process id (also its process group's id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills it with SIGKILL, and waits until it is gone: a server started again right after must
    /// not find the old one still holding its address (it would look ready, then reset).
    pub fn kill(&mut self) {
        signal("KILL", [self.child.id()]);
        let _ = self.child.wait();
    }

    /// Sends `signal` to it alone (a server's own way to shut down: PostgreSQL's SIGINT is a fast
    /// shutdown), waits up to `grace` for it to exit, then drops it as usual.
    pub fn stop(mut self, signal_name: &str, grace: Duration) {
        signal(signal_name, [self.child.id()]);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to 30 s for `ready`, failing early if the process exits.
    pub fn wait_until(&mut self, mut ready: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if ready() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited with {status} before it was ready", self.name);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("{} was not ready within 30 s", self.name);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        signal("TERM", [&group]);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Workers outlive a master that stopped uncleanly; take them too.
        signal("KILL", [&group]);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `SIGNAL` (`TERM`, `KILL`) to each of `targets`: pids, or process
/// groups given as `-PGID`. Those already gone are no error.
pub fn signal(signal: &str, targets: impl IntoIterator<Item = impl std::fmt::Display>) {
    let targets: Vec<String> = targets.into_iter().map(|t| t.to_string()).collect();
    if targets.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--"])
        .args(&targets)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The main `nginx.conf` of a test's nginx in `dir`: what Debian's
/// `/etc/nginx/nginx.conf` provides (user, pid, logs and temp paths, all in
/// `dir`), with `http` holding the rest of the `http` block (servers, or an
/// `include` of a site). 1024 connections: a client and an upstream connection each for the
/// load-and-kill harness's 200 editors, and room to spare (Debian's default is 768).
pub fn nginx_main_config(dir: &Path, http: &str) -> String {
    nginx_main_config_with_workers(dir, http, 1)
}

/// [`nginx_main_config`] with `workers` worker processes: the benchmark's static ceiling runs one
/// per core, as a production nginx does (`worker_processes auto`).
pub fn nginx_main_config_with_workers(dir: &Path, http: &str, workers: usize) -> String {
    let d = dir.display();
    format!(
        "user www-data;\n\
         worker_processes {workers};\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n\
             access_log off;\n\
             client_body_temp_path {d}/body;\n\
             fastcgi_temp_path {d}/fastcgi;\n\
             proxy_temp_path {d}/proxy;\n\
             scgi_temp_path {d}/scgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n\
             {http}\n\
         }}\n"
    )
}

/// Kills (SIGKILL) every process whose environment holds `NAME=value`
/// exactly, other than this one: quire processes a web server spawned
/// (mod_fcgid, lighttpd `bin-path`) and may leave behind, found by the data
/// directory the test gave them. Returns how many it killed.
pub fn kill_by_environment(name: &str, value: &Path) -> usize {
    let mut marker = format!("{name}=").into_bytes();
    marker.extend_from_slice(value.as_os_str().as_encoded_bytes());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        if environ
            .split(|&byte| byte == 0)
            .any(|var| var == marker.as_slice())
        {
            signal("KILL", [pid]);
            killed += 1;
        }
    }
    killed
}

/// A system account to run a process as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    /// Its user id.
    pub uid: u32,
    /// Its primary group id.
    pub gid: u32,
}

/// The account Debian's web servers run their workers as (it exists once
/// nginx, Apache or lighttpd is installed): the tests run quire as this one
/// too, as a production setup shares a user or a group between them.
pub fn web_user() -> Account {
    account("www-data")
}

/// Looks `name` up in /etc/passwd.
pub fn account(name: &str) -> Account {
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd is readable");
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&name))
        .and_then(|fields| {
            Some(Account {
                uid: fields.get(2)?.parse().ok()?,
                gid: fields.get(3)?.parse().ok()?,
            })
        })
        .unwrap_or_else(|| panic!("no user {name} in /etc/passwd"))
}

/// The id of the group `name`, from /etc/group.
pub fn group_id(name: &str) -> u32 {
    let groups = std::fs::read_to_string("/etc/group").expect("/etc/group is readable");
    groups
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&name))
        .and_then(|fields| fields.get(2)?.parse().ok())
        .unwrap_or_else(|| panic!("no group {name} in /etc/group"))
}

/// Gives `path` (not recursively) to `user`.
pub fn chown(path: &Path, user: Account) {
    std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
        .unwrap_or_else(|err| panic!("chown {}: {err}", path.display()));
}

/// Gives `path` and everything below it to `user`.
pub fn chown_all(path: &Path, user: Account) {
    chown(path, user);
    if path.is_dir() && !path.is_symlink() {
        let entries = std::fs::read_dir(path)
            .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
        for entry in entries {
            let entry = entry.unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
            chown_all(&entry.path(), user);
        }
    }
}

/// Reads `deploy/RELATIVE` and fills in its `@NAME@` placeholders; a
/// placeholder left unfilled fails, so a config never reaches a server
/// half-rendered.
pub fn render_deploy_file(relative: &str, values: &[(&str, &str)]) -> String {
    let path = repo_root().join("deploy").join(relative);
    let mut text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
    for (name, value) in values {
        text = text.replace(&format!("@{name}@"), value);
    }
    if let Some(left) = unfilled_placeholder(&text) {
        panic!("{relative}: placeholder {left} was not given a value");
    }
    text
}

/// The first `@NAME@` (upper case, digits, `_`) in `text`, if any.
fn unfilled_placeholder(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(start) = rest.find('@') {
        let after = &rest[start + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        if name_len > 0 && after[name_len..].starts_with('@') {
            return Some(&rest[start..start + name_len + 2]);
        }
        rest = after;
    }
    None
}

/// The last `lines` lines of a log file, or a note that there is none.
pub fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(err) => format!("(no log at {}: {err})", path.display()),
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a loopback port can be bound")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unfilled_placeholders_only() {
        assert_eq!(unfilled_placeholder("listen @LISTEN@;"), Some("@LISTEN@"));
        assert_eq!(unfilled_placeholder("a@b.c and @ x @"), None);
        assert_eq!(
            unfilled_placeholder("mail root@host @QUIRE_BIN@"),
            Some("@QUIRE_BIN@")
        );
        assert_eq!(unfilled_placeholder("@lower@"), None);
    }
}
