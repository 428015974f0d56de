//! Accounts beyond the shared scenarios: the `quire user` and `quire keys` commands on the built
//! binary, settings that differ from the defaults (invite-only and closed registration, no anonymous
//! edits), the admin and preferences pages, and what never reaches a log.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use gateway::testing::{CookieJar, TestRequest};
use http::StatusCode;

use crate::drivers::{cgi_variables, parse_cgi_output, InProcess, QUIRE};
use crate::suite::{Browser, Gateway};

/// Runs `quire --data DIR ARGS…` with `stdin` as its standard input.
fn quire(data: &Path, args: &[&str], stdin: &str) -> Output {
    let mut command = Command::new(QUIRE);
    command
        .arg("--data")
        .arg(data)
        .args(args)
        .env_clear()
        .env("QUIRE_LOG", "warn");
    run_with_input(command, stdin.as_bytes())
}

/// Runs `command` with `input` as its standard input, and collects what it printed.
fn run_with_input(mut command: Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Adds account `name` (an admin if `admin`) with `password` through `quire user add`.
pub(crate) fn quire_user_add(data: &Path, name: &str, admin: bool, password: &str) {
    let mut args = vec!["user", "add", name, "--password-stdin"];
    if admin {
        args.push("--admin");
    }
    let added = quire(data, &args, &format!("{password}\n"));
    assert!(added.status.success(), "{}", stderr(&added));
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that a `quire` command failed with exit status 1 and said `why` on stderr.
fn assert_refused(output: &Output, why: &str) {
    assert_eq!(output.status.code(), Some(1), "{}", stderr(output));
    assert!(stderr(output).contains(why), "{}", stderr(output));
}

fn logged_in_as(browser: &Browser<'_>, display_name: &str) -> bool {
    let page = browser.get("/FrontPage").text();
    page.contains("action=\"/+logout\"") && page.contains(display_name)
}

#[test]
fn the_user_commands_manage_accounts_the_wiki_then_accepts() {
    let wiki = InProcess::start();
    let data = wiki.data_dir();

    let added = quire(
        data,
        &[
            "user",
            "add",
            "alice",
            "--admin",
            "--email",
            "alice@example.org",
            "--password-stdin",
        ],
        "alice's long password\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    assert!(
        stdout(&added).contains("Created admin account alice"),
        "{}",
        stdout(&added)
    );

    // The same name in another case, a bad name and a short password are refused with exit 1.
    let again = quire(
        data,
        &["user", "add", "ALICE", "--password-stdin"],
        "another long password\n",
    );
    assert_refused(&again, "already an account");
    let bad = quire(
        data,
        &["user", "add", "9lives", "--password-stdin"],
        "long enough password\n",
    );
    assert_refused(&bad, "must start with a letter");
    let short = quire(data, &["user", "add", "bob", "--password-stdin"], "short\n");
    assert_refused(&short, "at least 8");
    // No terminal and no --password-stdin: a clear refusal, not a hang.
    let no_prompt = quire(data, &["user", "add", "bob"], "");
    assert_refused(&no_prompt, "--password-stdin");
    // A password is never a flag.
    let flag = quire(
        data,
        &["user", "add", "bob", "--password", "secret words"],
        "",
    );
    assert_eq!(flag.status.code(), Some(2));

    let bob = quire(
        data,
        &["user", "add", "bob", "--password-stdin"],
        "bob's first password\n",
    );
    assert!(bob.status.success(), "{}", stderr(&bob));
    let list = quire(data, &["user", "list"], "");
    let listed = stdout(&list);
    assert!(list.status.success());
    assert!(
        listed.contains("alice") && listed.contains("admin") && listed.contains("bob"),
        "{listed}"
    );

    // The wiki knows both at once, and a password change takes effect.
    let browser = Browser::new(&wiki);
    assert_eq!(
        browser.log_in("Alice", "alice's long password").status,
        StatusCode::SEE_OTHER
    );
    assert!(logged_in_as(&browser, "alice"));
    let passwd = quire(
        data,
        &["user", "passwd", "bob", "--password-stdin"],
        "bob's second password\r\n",
    );
    assert!(passwd.status.success(), "{}", stderr(&passwd));
    let bob_browser = Browser::new(&wiki);
    assert_eq!(
        bob_browser.log_in("bob", "bob's first password").status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        bob_browser.log_in("bob", "bob's second password").status,
        StatusCode::SEE_OTHER
    );

    // Roles and disabling: a disabled account's session ends on its next request.
    let role = quire(data, &["user", "role", "bob", "admin"], "");
    assert!(
        stdout(&role).contains("bob is now an admin"),
        "{}",
        stdout(&role)
    );
    assert_eq!(
        bob_browser.get("/+admin").status,
        StatusCode::OK,
        "the new role counts at once"
    );
    let disabled = quire(data, &["user", "disable", "bob"], "");
    assert!(disabled.status.success(), "{}", stderr(&disabled));
    assert!(!logged_in_as(&bob_browser, "bob"));
    let refused = bob_browser.log_in("bob", "bob's second password");
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.text().contains("disabled"), "{}", refused.text());
    assert!(quire(data, &["user", "enable", "bob"], "").status.success());
    assert_eq!(
        bob_browser.log_in("bob", "bob's second password").status,
        StatusCode::SEE_OTHER
    );

    let missing = quire(data, &["user", "disable", "nobody"], "");
    assert_refused(&missing, "no account called");
}

#[test]
fn the_session_key_file_is_private_and_one_rotation_keeps_sessions() {
    let data = tempfile::TempDir::new().unwrap();
    let init = quire(data.path(), &["init"], "");
    assert!(init.status.success(), "{}", stderr(&init));
    let key = data.path().join("session.key");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let keys_in = |path: &Path| {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let before = keys_in(&key);
    assert_eq!(before.len(), 1);

    // A session made under the first key...
    let account = quire(
        data.path(),
        &["user", "add", "carol", "--password-stdin"],
        "carol's password\n",
    );
    assert!(account.status.success(), "{}", stderr(&account));
    let cgi = CgiWiki(data.path());
    let browser = Browser::new(&cgi);
    assert_eq!(
        browser.log_in("carol", "carol's password").status,
        StatusCode::SEE_OTHER
    );
    assert!(logged_in_as_cgi(&browser));

    // ...survives one rotation, not two.
    let rotated = quire(data.path(), &["keys", "rotate"], "");
    assert!(rotated.status.success(), "{}", stderr(&rotated));
    let after = keys_in(&key);
    assert_eq!(after.len(), 2);
    assert_eq!(after[1], before[0], "the old key is kept to open cookies");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(logged_in_as_cgi(&browser));
    assert!(quire(data.path(), &["keys", "rotate"], "").status.success());
    // Nothing in the session changed since the login, so its cookie is still sealed under the
    // first key, which two rotations dropped: the session has ended.
    assert!(!logged_in_as_cgi(&browser));
}

/// The wiki run as a CGI program on a given data directory, mounted at the root.
struct CgiWiki<'a>(&'a Path);

impl Gateway for CgiWiki<'_> {
    fn mount(&self) -> &str {
        ""
    }

    fn send(&self, request: TestRequest) -> gateway::testing::TestResponse {
        let output = run_cgi(self.0, &request, "warn");
        parse_cgi_output(&output.stdout)
    }
}

fn run_cgi(data: &Path, request: &TestRequest, log: &str) -> Output {
    let mut command = Command::new(QUIRE);
    command
        .env_clear()
        .envs(cgi_variables(request, ""))
        .env("QUIRE_DATA", data)
        .env("QUIRE_LOG", log);
    let output = run_with_input(command, &request.body);
    assert!(output.status.success(), "{}", stderr(&output));
    output
}

fn logged_in_as_cgi(browser: &Browser<'_>) -> bool {
    browser
        .get("/FrontPage")
        .text()
        .contains("action=\"/+logout\"")
}

#[test]
fn no_password_cookie_or_token_reaches_the_log() {
    let data = tempfile::TempDir::new().unwrap();
    // `quire user` needs a wiki there: only `init` and `serve` make one.
    assert!(quire(data.path(), &["init"], "").status.success());
    let added = quire(
        data.path(),
        &["user", "add", "dora", "--password-stdin"],
        "dora's secret passphrase\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let form = run_cgi(data.path(), &TestRequest::get("/+login"), "trace");
    let form = parse_cgi_output(&form.stdout);
    let token = crate::suite::csrf_token_in(&form.text()).unwrap();
    let mut jar = CookieJar::new();
    jar.store(&form);
    let cookie = jar.header_value();
    let mut logs = String::new();
    for password in ["a wrong passphrase", "dora's secret passphrase"] {
        let request = TestRequest::post_form(
            "/+login",
            &[
                ("name", "dora"),
                ("password", password),
                ("csrf_token", &token),
            ],
        )
        .with_header("cookie", &cookie);
        let output = run_cgi(data.path(), &request, "trace");
        logs.push_str(&stderr(&output));
    }
    assert!(logs.contains("logged in"), "the log is on: {logs}");
    for secret in [
        "passphrase",
        "passphrase".replace(' ', "+").as_str(),
        &token,
        cookie.split_once('=').unwrap().1,
    ] {
        assert!(!logs.contains(secret), "{secret:?} in the log:\n{logs}");
    }
}

#[test]
fn invite_only_registration_needs_a_code_used_once() {
    let wiki = InProcess::start_with_settings("registration = \"invite\"\n");
    let fields = |invite: &'static str| {
        [
            ("name", "erin"),
            ("password", "erin's password"),
            ("password2", "erin's password"),
            ("invite", invite),
        ]
    };
    let page = Browser::new(&wiki).get("/+register").text();
    assert!(page.contains("Invitation code"), "{page}");
    let without = Browser::new(&wiki).post_form("/+register", &fields("made-up"));
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    let invite = quire(wiki.data_dir(), &["user", "invite", "--days", "1"], "");
    assert!(invite.status.success(), "{}", stderr(&invite));
    let code: &'static str = stdout(&invite).trim().to_owned().leak();
    assert_eq!(code.len(), 32);
    let erin = Browser::new(&wiki);
    assert_eq!(
        erin.post_form("/+register", &fields(code)).status,
        StatusCode::SEE_OTHER
    );
    assert!(logged_in_as(&erin, "erin"));
    let mut second = fields(code);
    second[0] = ("name", "frank");
    let reused = Browser::new(&wiki).post_form("/+register", &second);
    assert_eq!(reused.status, StatusCode::FORBIDDEN);
}

#[test]
fn closed_registration_and_no_anonymous_edits() {
    let wiki =
        InProcess::start_with_settings("registration = \"closed\"\nanonymous_edits = false\n");
    let visitor = Browser::new(&wiki);
    assert_eq!(visitor.get("/+register").status, StatusCode::FORBIDDEN);
    let page = visitor.get("/FrontPage").text();
    assert!(!page.contains("+register"), "no registration link: {page}");
    // Editing asks to log in, and comes back to the editor afterwards.
    let edit = visitor.get("/+edit/Notes");
    assert_eq!(edit.status, StatusCode::SEE_OTHER);
    assert_eq!(
        edit.header("location"),
        Some("/+login?next=%2F%2Bedit%2FNotes")
    );
    let refused = visitor.post_form("/+edit/Notes", &[("text", "anonymous"), ("action", "save")]);
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(visitor.get("/+raw/Notes").status, StatusCode::NOT_FOUND);

    let added = quire(
        wiki.data_dir(),
        &["user", "add", "gina", "--password-stdin"],
        "gina's password\n",
    );
    assert!(added.status.success(), "{}", stderr(&added));
    assert_eq!(
        visitor.get("/+login?next=%2F%2Bedit%2FNotes").status,
        StatusCode::OK
    );
    let back = visitor.post_form(
        "/+login",
        &[
            ("name", "gina"),
            ("password", "gina's password"),
            ("next", "/+edit/Notes"),
        ],
    );
    assert_eq!(back.header("location"), Some("/+edit/Notes"));
    assert_eq!(visitor.get("/+edit/Notes").status, StatusCode::OK);
    let saved = visitor.post_form("/+edit/Notes", &[("text", "by gina"), ("action", "save")]);
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let history = Browser::new(&wiki).get("/+history/Notes").text();
    assert!(history.contains("gina"), "{history}");
}

#[test]
fn preferences_for_readers_and_accounts() {
    let wiki = InProcess::start();
    // An anonymous reader's theme lives in the session.
    let reader = Browser::new(&wiki);
    assert_eq!(reader.get("/+prefs").status, StatusCode::OK);
    let saved = reader.post_form("/+prefs", &[("action", "prefs"), ("theme", "classic")]);
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
    assert!(
        reader.get("/FrontPage").text().contains("theme-classic"),
        "the chosen theme is used"
    );
    let unknown = reader.post_form("/+prefs", &[("action", "prefs"), ("theme", "../../etc")]);
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let password = reader.post_form("/+prefs", &[("action", "password")]);
    assert_eq!(password.status, StatusCode::FORBIDDEN);

    // An account keeps its display name, email and theme, and changes its password only with the
    // current one.
    assert!(quire(
        wiki.data_dir(),
        &["user", "add", "hal", "--password-stdin"],
        "hal's first password\n"
    )
    .status
    .success());
    let hal = Browser::new(&wiki);
    assert_eq!(
        hal.log_in("hal", "hal's first password").status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(hal.get("/+prefs").status, StatusCode::OK);
    let prefs = hal.post_form(
        "/+prefs",
        &[
            ("action", "prefs"),
            ("theme", "minimal"),
            ("display_name", "Hal Nine"),
            ("email", "hal@example.org"),
        ],
    );
    assert_eq!(prefs.status, StatusCode::OK, "{}", prefs.text());
    let elsewhere = Browser::new(&wiki);
    assert_eq!(
        elsewhere.log_in("hal", "hal's first password").status,
        StatusCode::SEE_OTHER
    );
    assert!(logged_in_as(&elsewhere, "Hal Nine"));
    let page = hal.get("/FrontPage").text();
    assert!(page.contains("Hal Nine"), "{page}");
    assert!(page.contains("theme-minimal"), "{page}");
    let wrong = hal.post_form(
        "/+prefs",
        &[
            ("action", "password"),
            ("current_password", "not it"),
            ("new_password", "hal's second password"),
            ("new_password2", "hal's second password"),
        ],
    );
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let changed = hal.post_form(
        "/+prefs",
        &[
            ("action", "password"),
            ("current_password", "hal's first password"),
            ("new_password", "hal's second password"),
            ("new_password2", "hal's second password"),
        ],
    );
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    // The change ends hal's other sessions, not the one it was made in.
    assert!(logged_in_as(&hal, "Hal Nine"));
    assert!(!logged_in_as(&elsewhere, "Hal Nine"));
    assert_eq!(
        Browser::new(&wiki)
            .log_in("hal", "hal's second password")
            .status,
        StatusCode::SEE_OTHER
    );
    // The current password is checked as a login is: after ten wrong ones (one above, nine
    // here) the next is refused unchecked.
    let guess = |n: usize| {
        let wrong = format!("guess {n}");
        hal.post_form(
            "/+prefs",
            &[
                ("action", "password"),
                ("current_password", &wrong),
                ("new_password", "hal's third password"),
                ("new_password2", "hal's third password"),
            ],
        )
    };
    for n in 0..9 {
        assert_eq!(guess(n).status, StatusCode::FORBIDDEN, "guess {n}");
    }
    let throttled = guess(9);
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.header("retry-after").is_some());
}

#[test]
fn the_admin_pages_are_for_admins() {
    let wiki = InProcess::start_with_settings("[groups]\nReviewers = [\"jack\", \"ivy\"]\n");
    for (name, admin) in [("ivy", true), ("jack", false)] {
        quire_user_add(wiki.data_dir(), name, admin, "a long password");
    }
    assert_eq!(
        Browser::new(&wiki).get("/+admin").status,
        StatusCode::FORBIDDEN
    );
    let jack = Browser::new(&wiki);
    jack.log_in("jack", "a long password");
    assert_eq!(jack.get("/+admin").status, StatusCode::FORBIDDEN);
    let forged = jack.post_form(
        "/+admin",
        &[("action", "role"), ("name", "jack"), ("role", "admin")],
    );
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // A failed login shows up for the admin.
    Browser::new(&wiki).log_in("ivy", "a guess");

    let ivy = Browser::new(&wiki);
    ivy.log_in("ivy", "a long password");
    let page = ivy.get("/+admin");
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("jack") && html.contains("registration"),
        "{html}"
    );
    assert!(html.contains("Recent failed logins"), "{html}");
    assert!(
        html.contains("Reviewers") && html.contains("jack, ivy"),
        "{html}"
    );
    assert!(html.contains("acl.default"), "{html}");
    assert!(
        !html.contains("a guess"),
        "passwords are never shown: {html}"
    );
    let promoted = ivy.post_form(
        "/+admin",
        &[("action", "role"), ("name", "jack"), ("role", "admin")],
    );
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.text());
    assert_eq!(jack.get("/+admin").status, StatusCode::OK);
    let disabled = ivy.post_form("/+admin", &[("action", "disable"), ("name", "jack")]);
    assert_eq!(disabled.status, StatusCode::OK);
    assert_eq!(jack.get("/+admin").status, StatusCode::FORBIDDEN);
    // An admin cannot lock themselves out from here.
    let own = ivy.post_form("/+admin", &[("action", "disable"), ("name", "ivy")]);
    assert_eq!(own.status, StatusCode::BAD_REQUEST);
    let invite = ivy.post_form("/+admin", &[("action", "invite")]);
    assert!(
        invite.text().contains("New invitation code"),
        "{}",
        invite.text()
    );
}

#[test]
fn only_pages_with_a_form_start_a_session() {
    let wiki = InProcess::start();
    // A reader who only reads gets no cookie: pages stay cacheable and nothing is sealed.
    for target in [
        "/FrontPage",
        "/+recent",
        "/+history/FrontPage",
        "/+search?q=wiki",
    ] {
        let page = wiki.get(target);
        assert_eq!(page.status, StatusCode::OK, "{target}");
        assert!(
            page.header("set-cookie").is_none(),
            "{target} set a cookie: {:?}",
            page.header("set-cookie")
        );
    }
    // A form brings the session with its token.
    let edit = wiki.get("/+edit/FrontPage");
    assert!(edit.header("set-cookie").is_some());
    assert!(crate::suite::csrf_token_in(&edit.text()).is_some());
}

/// An account imported from MoinMoin 1.9 with its `{SSHA}` hash (of `Pässwort 123`, made with
/// `python3 -c 'import hashlib, base64; pw = "Pässwort 123".encode(); salt = b"0123456789abcdefghij";
/// print("{SSHA}" + base64.b64encode(hashlib.sha1(pw + salt).digest() + salt).decode())'`) logs in
/// through the wiki; one imported without a hash is listed as having no password until one is set.
#[test]
fn imported_moin_accounts_log_in_with_their_old_password_or_wait_for_passwd() {
    let wiki = InProcess::start();
    let data = wiki.data_dir();
    let storage = storage::Storage::open(&data.join("wiki.sqlite3")).unwrap();
    for (name, hash) in [
        (
            "bob",
            Some("{SSHA}3Wd4cAZ34VelOBOzUGKF9lHKiQIwMTIzNDU2Nzg5YWJjZGVmZ2hpag=="),
        ),
        ("carol", None),
    ] {
        storage
            .import_user(&storage::ImportedUser {
                name,
                display_name: "",
                email: "",
                password_hash: hash,
                created: Some(1_100_000_000),
            })
            .unwrap();
    }
    let state = |name: &str| {
        let list = quire(data, &["user", "list"], "");
        assert!(list.status.success(), "{}", stderr(&list));
        let listed = stdout(&list);
        let line = listed
            .lines()
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} is not in {listed}"))
            .to_owned();
        line
    };
    assert!(state("bob").contains("moin hash"), "{}", state("bob"));
    assert!(state("carol").contains("no password"), "{}", state("carol"));

    let browser = Browser::new(&wiki);
    assert_eq!(
        browser.log_in("bob", "Pässwort 124").status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        browser.log_in("bob", "Pässwort 123").status,
        StatusCode::SEE_OTHER
    );
    assert!(logged_in_as(&browser, "bob"));
    assert!(state("bob").contains("active"), "{}", state("bob"));

    let carol = Browser::new(&wiki);
    assert_eq!(
        carol.log_in("carol", "anything at all").status,
        StatusCode::FORBIDDEN
    );
    let passwd = quire(
        data,
        &["user", "passwd", "carol", "--password-stdin"],
        "carol's new password\n",
    );
    assert!(passwd.status.success(), "{}", stderr(&passwd));
    assert!(state("carol").contains("active"), "{}", state("carol"));
    assert_eq!(
        carol.log_in("carol", "carol's new password").status,
        StatusCode::SEE_OTHER
    );
}
