//! Support for quire's end-to-end tests: build the real binary, install the
//! real third-party tools the tests drive, start and stop processes.
//!
//! These tests install Debian packages when a tool is missing (as CI does,
//! running as root); they are not part of the default `cargo test` and run
//! with `cargo test -p e2e`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e lives inside the repository")
        .to_path_buf()
}

/// The `quire` binary, built once per test run with the workspace's cargo.
pub fn quire_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .current_dir(repo_root())
            .args(["build", "--quiet", "-p", "app", "--bin", "quire"])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building quire failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target"));
        target.join("debug").join("quire")
    })
}

/// Makes sure `program` is on the PATH, installing `package` with apt-get
/// (after one `apt-get update`) when it is not.
pub fn ensure_tool(program: &str, package: &str) {
    if which(program) {
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
        status.is_ok_and(|status| status.success()) && which(program),
        "could not install {package} (for {program}); run the e2e tests as root on Debian"
    );
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A child process killed (by pid) when dropped.
pub struct Running {
    name: String,
    child: Child,
}

impl Running {
    /// Starts `command`, naming it `name` in failures.
    pub fn start(name: &str, command: &mut Command) -> Running {
        let child = command
            .spawn()
            .unwrap_or_else(|err| panic!("could not start {name}: {err}"));
        Running {
            name: name.to_owned(),
            child,
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free TCP port on 127.0.0.1 (free when asked; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a loopback port can be bound")
}
