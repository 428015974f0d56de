//! A wiki behind a real web server, built from the very files in `deploy/`:
//! a temp dir holds the data directory, the rendered configs, the servers'
//! pid files, logs and temp files; nginx, Apache and lighttpd run in the
//! foreground on a free loopback port and are stopped (with everything they
//! spawned) when the [`Combination`] is dropped.
//!
//! quire and the servers' workers all run as `www-data`, Debian's web server
//! user, the way a production setup shares a user or a group between them:
//! the workers can then connect to quire's unix sockets (created with the
//! default umask, writable by their owner only), and CGI or spawned FastCGI
//! processes can write the data directory. Each server's main config (the
//! part Debian's packages ship) is written here; the `deploy/` file is
//! included from it unchanged but for its placeholders.

use std::cell::RefCell;
use std::fs;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use e2e::{
    chown, ensure_file, ensure_tool, free_port, kill_by_environment, log_tail, quire_binary,
    render_deploy_file, web_user, Account, Running,
};
use gateway::testing::{TestRequest, TestResponse};

use crate::suite::{http1_send, Gateway, MailSink, BODY_LIMIT};

/// The upload limit of the wikis behind real servers: large enough for the scenarios' 20 MB
/// file, within what `deploy/`'s server configurations accept.
pub const E2E_UPLOAD_LIMIT: u64 = 24 * 1024 * 1024;

/// Where Debian keeps Apache's modules.
const APACHE_MODULES: &str = "/usr/lib/apache2/modules";

/// One web server and protocol in front of one fresh wiki.
pub struct Combination {
    name: &'static str,
    /// The web server in front, once started.
    server: Server,
    mount: &'static str,
    /// The web server's address.
    addr: SocketAddr,
    root: tempfile::TempDir,
    user: Account,
    /// What the last request was, to name it in a failure.
    last_request: RefCell<String>,
    /// Logs worth showing when a scenario fails: (what, file).
    logs: Vec<(&'static str, PathBuf)>,
    /// Started in order, stopped in reverse: the web server before quire.
    processes: Vec<Running>,
    /// The quire process `start_quire` started, for the benchmarks that read its memory.
    quire_pid: Option<u32>,
    /// The SMTP server the wiki mails to (`[mail]` in its quire.toml).
    sink: MailSink,
    /// Who owns the data directory and so runs `quire notify`: the web server's user, or the
    /// account `give_data_to` gave it to (systemd's `DynamicUser=`, say).
    data_owner: std::cell::Cell<Account>,
}

/// Which web server is in front.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Server {
    None,
    Nginx,
    Apache,
    /// lighttpd's default URL normalisation (`server.http-parseopts`,
    /// "url-normalize") answers a percent-encoded path that does not decode
    /// to UTF-8 with its own 400 before any backend sees it.
    Lighttpd,
}

/// How to tell that a quire server is ready.
pub enum Ready<'a> {
    /// It accepts TCP connections on this address.
    Tcp(&'a str),
    /// It accepts connections on this unix socket.
    Unix(&'a Path),
}

impl Combination {
    /// A fresh wiki (data directory initialised, body limit [`BODY_LIMIT`])
    /// that the scenarios will reach at `http://127.0.0.1:PORT{mount}`.
    pub fn new(name: &'static str, mount: &'static str) -> Combination {
        Combination::new_on(name, mount, None)
    }

    /// [`Combination::new`] with the wiki kept in the PostgreSQL database `database` names, when
    /// given: its `database` setting, written before `quire init` seeds it.
    pub fn new_on(name: &'static str, mount: &'static str, database: Option<&str>) -> Combination {
        let user = web_user();
        let root = tempfile::Builder::new()
            .prefix("quire-e2e-")
            .tempdir()
            .unwrap();
        // Workers running as www-data must reach the files below.
        fs::set_permissions(root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let data = root.path().join("data");
        fs::create_dir(&data).unwrap();
        chown(&data, user);
        if let Some(database) = database {
            fs::write(
                data.join("quire.toml"),
                format!("database = {database:?}\n"),
            )
            .unwrap();
            chown(&data.join("quire.toml"), user);
        }
        let init = Command::new(quire_binary())
            .arg("--data")
            .arg(&data)
            .arg("init")
            .env_clear()
            .env("QUIRE_LOG", "warn")
            .uid(user.uid)
            .gid(user.gid)
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "quire init failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let settings = data.join("quire.toml");
        let mut toml = fs::read_to_string(&settings).unwrap();
        toml.push_str(&format!(
            "\nmax_body_bytes = {BODY_LIMIT}\nmax_upload_bytes = {E2E_UPLOAD_LIMIT}\n"
        ));
        // An inline table, so that keys a test appends after it stay top-level.
        let sink = MailSink::start();
        toml.push_str(&sink.settings());
        fs::write(&settings, toml).unwrap();
        Combination {
            name,
            server: Server::None,
            mount,
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            root,
            user,
            data_owner: std::cell::Cell::new(user),
            last_request: RefCell::new(String::from("(none)")),
            logs: Vec::new(),
            processes: Vec::new(),
            quire_pid: None,
            sink,
        }
    }

    /// The pid of the quire process this combination started itself (none when the web server
    /// starts quire, as CGI and mod_fcgid do).
    pub fn quire_pid(&self) -> Option<u32> {
        self.quire_pid
    }

    /// Kills the quire process this combination started (SIGKILL), and waits until it is gone.
    pub fn kill_quire(&mut self) {
        let pid = self
            .quire_pid
            .take()
            .expect("quire was started by the combination");
        if let Some(running) = self.processes.iter_mut().find(|p| p.pid() == pid) {
            running.kill();
        }
    }

    /// Sets `max_upload_bytes` in the wiki's quire.toml, for what reads it per request (CGI); a
    /// server started with `--max-upload` needs no such edit.
    pub fn set_upload_limit(&self, limit: &str) {
        let settings = self.data().join("quire.toml");
        let text = fs::read_to_string(&settings).unwrap();
        let text = text.replace(
            &format!("max_upload_bytes = {E2E_UPLOAD_LIMIT}"),
            &format!("max_upload_bytes = {limit}"),
        );
        fs::write(&settings, text).unwrap();
    }

    /// A path in this combination's temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }

    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.path("data")
    }

    /// The address the scenarios reach: the web server in front, or quire
    /// itself when none is (the benchmarks' `quire serve`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Shows the tail of `path` with a failure's logs, as `what`.
    pub fn add_log(&mut self, what: &'static str, path: PathBuf) {
        self.logs.push((what, path));
    }

    /// Gives the data directory, and all in it, to `account`.
    pub fn give_data_to(&self, account: Account) {
        e2e::chown_all(&self.data(), account);
        self.data_owner.set(account);
    }

    /// A directory in the temp dir that www-data may write to.
    pub fn shared_dir(&self, name: &str) -> PathBuf {
        let dir = self.path(name);
        fs::create_dir_all(&dir).unwrap();
        chown(&dir, self.user);
        dir
    }

    /// Starts quire as a server (`args` after `--data DIR`), as www-data,
    /// its log in the temp dir, and waits until it is `ready`.
    pub fn quire(&mut self, args: &[&str], ready: Ready<'_>) {
        let mut command = Command::new(quire_binary());
        command
            .arg("--data")
            .arg(self.data())
            .args(args)
            .uid(self.user.uid)
            .gid(self.user.gid)
            .stdin(Stdio::null());
        self.start_quire(
            &format!("quire {}", args.join(" ")),
            &mut command,
            &[],
            ready,
        );
    }

    /// Starts `command` (quire) with only `env` and a log setting in its
    /// environment, its log in the temp dir, and waits until it is `ready`.
    pub fn start_quire(
        &mut self,
        name: &str,
        command: &mut Command,
        env: &[(String, String)],
        ready: Ready<'_>,
    ) {
        let log = self.path("quire.log");
        let stderr = fs::File::create(&log).unwrap();
        let mut running = Running::start(
            name,
            command
                .env_clear()
                .env("PATH", "/usr/bin:/bin")
                // Each request, not the search index's housekeeping.
                .env("QUIRE_LOG", "info,tantivy=warn")
                .envs(env.iter().map(|(name, value)| (name, value)))
                .stdout(Stdio::null())
                .stderr(stderr),
        );
        self.logs.push(("quire's log", log));
        let started = catch_unwind(AssertUnwindSafe(|| {
            running.wait_until(|| match ready {
                Ready::Tcp(addr) => TcpStream::connect(addr).is_ok(),
                Ready::Unix(path) => std::os::unix::net::UnixStream::connect(path).is_ok(),
            });
        }));
        self.quire_pid = Some(running.pid());
        self.processes.push(running);
        if let Err(failure) = started {
            self.show_logs();
            std::panic::resume_unwind(failure);
        }
    }

    /// Starts nginx with `deploy/{site}` as its only site; `LISTEN` is
    /// filled in here, the other placeholders from `values`.
    pub fn nginx(&mut self, site: &str, values: &[(&str, &str)]) {
        self.nginx_edited(site, values, |config| config);
    }

    /// [`Combination::nginx`] with the rendered site changed by `edit` first: a test's variation
    /// on a deploy file (what a TLS front would send, say), the file itself staying as shipped.
    pub fn nginx_edited(
        &mut self,
        site: &str,
        values: &[(&str, &str)],
        edit: impl FnOnce(String) -> String,
    ) {
        ensure_tool("nginx", "nginx");
        self.server = Server::Nginx;
        let dir = self.path("nginx");
        fs::create_dir_all(&dir).unwrap();
        // The deploy files `include` these by relative path, which nginx
        // resolves against the main config's directory.
        for params in ["fastcgi_params", "scgi_params"] {
            fs::copy(Path::new("/etc/nginx").join(params), dir.join(params)).unwrap();
        }
        let listen = self.addr.to_string();
        let mut all = vec![("LISTEN", listen.as_str())];
        all.extend_from_slice(values);
        fs::write(dir.join("site.conf"), edit(render_deploy_file(site, &all))).unwrap();
        let main = e2e::nginx_main_config(&dir, &format!("include {}/site.conf;", dir.display()));
        let config = dir.join("nginx.conf");
        fs::write(&config, main).unwrap();
        self.start_server(
            "nginx",
            dir.join("error.log"),
            Command::new("nginx")
                .arg("-c")
                .arg(&config)
                .args(["-g", "daemon off;"]),
        );
    }

    /// Starts Apache (event MPM) with `modules` loaded and `deploy/{site}`
    /// as its only site; `PORT` is filled in here.
    pub fn apache(&mut self, site: &str, modules: &[&str], values: &[(&str, &str)]) {
        ensure_tool("apache2", "apache2");
        self.server = Server::Apache;
        if modules.contains(&"fcgid") {
            ensure_file(
                &format!("{APACHE_MODULES}/mod_fcgid.so"),
                "libapache2-mod-fcgid",
            );
        }
        let dir = self.path("apache");
        fs::create_dir_all(dir.join("htdocs")).unwrap();
        let fcgid = self.shared_dir("apache/fcgid");
        let port = self.addr.port().to_string();
        let mut all = vec![("PORT", port.as_str())];
        all.extend_from_slice(values);
        fs::write(dir.join("site.conf"), render_deploy_file(site, &all)).unwrap();
        let d = dir.display();
        let mut main = format!(
            "# What Debian's /etc/apache2/apache2.conf provides, in a temp dir.\n\
             ServerRoot {d}\n\
             ServerName localhost\n\
             Listen {addr}\n\
             PidFile {d}/apache2.pid\n\
             DefaultRuntimeDir {d}\n\
             Mutex file:{d} default\n\
             ErrorLog {d}/error.log\n\
             LogLevel warn\n\
             User www-data\n\
             Group www-data\n\
             DocumentRoot {d}/htdocs\n\
             <Directory />\n    AllowOverride None\n    Require all denied\n</Directory>\n\
             <Directory {d}/htdocs>\n    Require all granted\n</Directory>\n",
            addr = self.addr,
        );
        for module in ["mpm_event", "authz_core", "alias"].iter().chain(modules) {
            main.push_str(&format!(
                "LoadModule {module}_module {APACHE_MODULES}/mod_{module}.so\n"
            ));
        }
        main.push_str(&format!(
            "<IfModule cgid_module>\n    ScriptSock {d}/cgid.sock\n</IfModule>\n\
             <IfModule fcgid_module>\n    FcgidIPCDir {fcgid}\n    FcgidProcessTableFile {fcgid}/shm\n</IfModule>\n\
             Include {d}/site.conf\n",
            fcgid = fcgid.display(),
        ));
        let config = dir.join("apache2.conf");
        fs::write(&config, main).unwrap();
        self.start_server(
            "apache2",
            dir.join("error.log"),
            Command::new("apache2")
                .arg("-f")
                .arg(&config)
                .arg("-DFOREGROUND")
                // apache2 reads these from /etc/apache2/envvars otherwise.
                .env("APACHE_RUN_DIR", &dir)
                .env("APACHE_LOCK_DIR", &dir)
                .env("APACHE_LOG_DIR", &dir),
        );
    }

    /// Starts lighttpd with `deploy/{site}` as its only site.
    pub fn lighttpd(&mut self, site: &str, values: &[(&str, &str)]) {
        ensure_tool("lighttpd", "lighttpd");
        self.server = Server::Lighttpd;
        // lighttpd opens its error log after dropping to www-data.
        let dir = self.shared_dir("lighttpd");
        fs::create_dir_all(dir.join("htdocs")).unwrap();
        let uploads = self.shared_dir("lighttpd/uploads");
        fs::write(dir.join("site.conf"), render_deploy_file(site, values)).unwrap();
        let d = dir.display();
        let main = format!(
            "# What Debian's /etc/lighttpd/lighttpd.conf provides, in a temp dir.\n\
             server.document-root = \"{d}/htdocs\"\n\
             server.bind = \"127.0.0.1\"\n\
             server.port = {port}\n\
             server.username = \"www-data\"\n\
             server.groupname = \"www-data\"\n\
             server.pid-file = \"{d}/lighttpd.pid\"\n\
             server.errorlog = \"{d}/error.log\"\n\
             server.upload-dirs = ( \"{uploads}\" )\n\
             include \"{d}/site.conf\"\n",
            port = self.addr.port(),
            uploads = uploads.display(),
        );
        let config = dir.join("lighttpd.conf");
        fs::write(&config, main).unwrap();
        self.start_server(
            "lighttpd",
            dir.join("error.log"),
            Command::new("lighttpd").arg("-D").arg("-f").arg(&config),
        );
    }

    fn start_server(&mut self, name: &str, error_log: PathBuf, command: &mut Command) {
        let stderr = fs::File::create(self.path(&format!("{name}.stderr"))).unwrap();
        let mut running = Running::start(
            name,
            command
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr),
        );
        let addr = self.addr;
        self.logs.push(("the server's error log", error_log));
        self.logs
            .push(("the server's stderr", self.path(&format!("{name}.stderr"))));
        let started = catch_unwind(AssertUnwindSafe(|| {
            running.wait_until(|| TcpStream::connect(addr).is_ok());
        }));
        self.processes.push(running);
        if let Err(failure) = started {
            self.show_logs();
            std::panic::resume_unwind(failure);
        }
    }

    /// Runs every scenario of the shared suite through this combination;
    /// on failure names each failed scenario and its last request, and shows
    /// the logs.
    pub fn run_scenarios(&self) {
        let mut failed = Vec::new();
        for (scenario, run) in all_scenarios() {
            *self.last_request.borrow_mut() = String::from("(none)");
            if catch_unwind(AssertUnwindSafe(|| run(self))).is_err() {
                failed.push(format!(
                    "{scenario} (last request: {})",
                    self.last_request.borrow()
                ));
            }
        }
        if failed.is_empty() {
            return;
        }
        self.show_logs();
        panic!(
            "{}: {} of {} scenarios failed:\n  {}",
            self.name,
            failed.len(),
            all_scenarios().len(),
            failed.join("\n  ")
        );
    }
}

impl Combination {
    /// Prints the tail of every log to stderr (shown with a failed test).
    fn show_logs(&self) {
        for (what, path) in &self.logs {
            eprintln!(
                "---- {what} ({}), last lines:\n{}",
                path.display(),
                log_tail(path, 30)
            );
        }
    }
}

impl Gateway for Combination {
    fn mount(&self) -> &str {
        self.mount
    }

    fn server_rejects_non_utf8_paths(&self) -> bool {
        self.server == Server::Lighttpd
    }

    fn shares_one_wiki(&self) -> bool {
        true
    }

    fn upload_limit(&self) -> u64 {
        E2E_UPLOAD_LIMIT
    }

    fn mail_sink(&self) -> Option<&MailSink> {
        Some(&self.sink)
    }

    /// `quire notify`, as cron would run it, as the data directory's owner (a file the database
    /// makes must stay the workers'). Where a long-running quire serves, its worker sends too;
    /// the queue's claims keep the two from sending a mail twice.
    fn send_queued_mail(&self) {
        crate::suite::notify_succeeds(
            Command::new(quire_binary())
                .arg("--data")
                .arg(self.data())
                .env_clear()
                .env("QUIRE_LOG", "warn")
                .env("QUIRE_MOUNT", self.mount)
                .uid(self.data_owner.get().uid)
                .gid(self.data_owner.get().gid),
        );
    }

    fn send(&self, request: TestRequest) -> TestResponse {
        *self.last_request.borrow_mut() = format!(
            "{} http://{}{}{} with {} body bytes",
            request.method,
            self.addr,
            self.mount,
            request.target(),
            request.body.len()
        );
        http1_send(self.addr, self.mount, &request)
    }
}

impl Drop for Combination {
    fn drop(&mut self) {
        while let Some(process) = self.processes.pop() {
            drop(process);
        }
        // quire processes mod_fcgid or lighttpd spawned and left behind.
        kill_by_environment("QUIRE_DATA", &self.data());
    }
}

type Scenario = fn(&dyn Gateway);

macro_rules! scenario_table {
    ($($scenario:ident),* $(,)?) => {
        /// Every scenario of the shared suite, with its name. The throttling scenario goes
        /// last: it leaves the client's address throttled for a minute on the one wiki all
        /// scenarios share here, which would turn later logins into 429s.
        fn all_scenarios() -> Vec<(&'static str, Scenario)> {
            let mut all = vec![$((stringify!($scenario), crate::scenarios::$scenario as Scenario)),*];
            all.sort_by_key(|(name, _)| *name == "eleventh_wrong_password_is_throttled");
            all
        }
    };
}
crate::scenarios::for_each_scenario!(scenario_table);
