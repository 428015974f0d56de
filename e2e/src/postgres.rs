//! A throwaway PostgreSQL server for tests: Debian's `postgresql` package, a cluster made by
//! `initdb` in a temporary directory, listening on a free loopback port, stopped by pid when
//! dropped.
//!
//! `initdb` and `postgres` refuse to run as root, and CI runs as root, so the cluster belongs to
//! the `postgres` account the package creates. Nothing of the system's own cluster is used or
//! touched: not its data directory, not its port, not its service.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{account, chown, ensure_installed, free_port, Account, Running};

/// The role and database every throwaway cluster has.
const ROLE: &str = "quire";

/// A PostgreSQL server of its own, with one empty database, for as long as this value lives.
pub struct TempPostgres {
    server: Option<Running>,
    port: u16,
    bin: PathBuf,
    owner: Account,
    // Removed last, after the server is gone.
    dir: tempfile::TempDir,
}

impl TempPostgres {
    /// Installs PostgreSQL when it is missing, makes a cluster and starts it. `fsync` is off:
    /// these clusters test what quire does, not what a disk does after a power cut.
    pub fn start() -> TempPostgres {
        ensure_installed("postgresql", || server_bin().is_some());
        let bin = server_bin().expect("the postgresql package installs initdb");
        let owner = account("postgres");
        let dir = tempfile::Builder::new()
            .prefix("quire-pg-")
            .tempdir()
            .expect("a temporary directory");
        chown(dir.path(), owner);
        let data = dir.path().join("data");
        let output = Command::new(bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", ROLE, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"])
            .arg("--no-sync")
            .uid(owner.uid)
            .gid(owner.gid)
            .env("HOME", dir.path())
            .output()
            .expect("initdb runs");
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let port = free_port();
        let log = dir.path().join("postgres.log");
        std::fs::File::create(&log).expect("the server's log file");
        chown(&log, owner);
        let server = TempPostgres::start_on(&bin, owner, dir.path(), port);
        let postgres = TempPostgres {
            server: Some(server),
            port,
            bin,
            owner,
            dir,
        };
        postgres.sql("postgres", &format!("CREATE DATABASE {ROLE}"));
        postgres
    }

    /// The URL quire is given (`--database`): the role and database `quire`, over TCP.
    pub fn url(&self) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{ROLE}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs `statement` with `psql` in `database` and returns what it printed (unaligned, no
    /// headers), failing the test if it fails.
    pub fn sql(&self, database: &str, statement: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", ROLE, "-d", database, "-c", statement])
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "psql `{statement}` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// Stops the server as an operator's restart does (fast shutdown: open sessions are ended)
    /// and starts it again on the same port and data, for tests of what quire does meanwhile.
    /// `while_down` runs between the two.
    pub fn restart(&mut self, while_down: impl FnOnce()) {
        self.stop();
        while_down();
        let restarted = TempPostgres::start_on(&self.bin, self.owner, self.dir.path(), self.port);
        self.server = Some(restarted);
    }

    /// Turns TLS on and plain connections over TCP off (`hostssl` only), with a server certificate
    /// for 127.0.0.1 signed by a CA made here for the purpose; restarts the server, and returns
    /// the CA's certificate (PEM), which a client must be told to trust.
    pub fn require_tls(&mut self) -> PathBuf {
        crate::ensure_tool("openssl", "openssl");
        let dir = self.dir.path();
        let data = dir.join("data");
        let ca_key = dir.join("ca.key");
        let ca = dir.join("ca.pem");
        let openssl = |args: &[&str]| {
            let output = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl runs");
            assert!(
                output.status.success(),
                "openssl {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        };
        openssl(&[
            "req",
            "-x509",
            "-new",
            "-nodes",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=quire test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&[
            "req",
            "-new",
            "-nodes",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-keyout",
            "data/server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .expect("the certificate's extensions");
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "data/server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        let _ = std::fs::remove_file(ca_key);
        for file in ["server.key", "server.crt"] {
            let path = data.join(file);
            chown(&path, self.owner);
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .expect("the key's mode");
        }
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).expect("postgresql.conf");
        text.push_str("\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n");
        std::fs::write(&conf, text).expect("postgresql.conf");
        let hba = data.join("pg_hba.conf");
        let text = std::fs::read_to_string(&hba).expect("pg_hba.conf");
        let text: String = text
            .lines()
            .map(|line| match line.strip_prefix("host ") {
                Some(rest) => format!("hostssl {rest}\n"),
                None => format!("{line}\n"),
            })
            .collect();
        std::fs::write(&hba, text).expect("pg_hba.conf");
        self.restart(|| ());
        ca
    }

    /// The end of the server's log, for a failing test's message.
    pub fn log_tail(&self) -> String {
        crate::log_tail(&self.dir.path().join("postgres.log"), 40)
    }

    /// Starts the server of the cluster in `dir` on `port`, appending to its log, and waits
    /// until it answers.
    fn start_on(bin: &Path, owner: Account, dir: &Path, port: u16) -> Running {
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join("postgres.log"))
            .expect("the server's log file");
        let mut server = Running::start(
            "postgres",
            Command::new(bin.join("postgres"))
                .arg("-D")
                .arg(dir.join("data"))
                .arg("-k")
                .arg(dir)
                .args(["-p", &port.to_string()])
                .args(["-c", "listen_addresses=127.0.0.1"])
                .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
                .args(["-c", "max_connections=200"])
                .uid(owner.uid)
                .gid(owner.gid)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log),
        );
        let probe = bin.join("pg_isready");
        server.wait_until(|| {
            Command::new(&probe)
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|status| status.success())
        });
        server
    }

    /// Fast shutdown (SIGINT), then whatever `Running` does to what is left.
    fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop("INT", Duration::from_secs(20));
        }
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The directory of the newest installed PostgreSQL's server programs (`initdb`, `postgres`):
/// Debian keeps them out of the PATH, under `/usr/lib/postgresql/VERSION/bin`.
fn server_bin() -> Option<PathBuf> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    versions
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
}
