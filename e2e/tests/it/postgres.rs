//! The throwaway PostgreSQL the scaling tests run on: it starts as root's tests need (a cluster
//! owned by an unprivileged account), answers, survives a restart with its data, and is gone by
//! pid when dropped.

use e2e::postgres::TempPostgres;

#[test]
fn a_throwaway_cluster_answers_keeps_data_over_a_restart_and_stops() {
    let mut postgres = TempPostgres::start();
    postgres.sql("quire", "CREATE TABLE kept (word text)");
    postgres.sql("quire", "INSERT INTO kept VALUES ('still here')");
    let port = postgres.port();
    let mut refused_while_down = false;
    postgres.restart(|| {
        refused_while_down = std::net::TcpStream::connect(("127.0.0.1", port)).is_err();
    });
    assert!(
        refused_while_down,
        "the server still listened while stopped"
    );
    assert_eq!(postgres.sql("quire", "SELECT word FROM kept"), "still here");
    assert!(postgres.url().ends_with(&format!(":{port}/quire")));
    drop(postgres);
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server outlived its TempPostgres"
    );
}

/// Storage's own tests, unit and integration, run once more with a PostgreSQL server to run on:
/// every test written over `each_engine` (`db::testing` in the crate, `support` in its integration
/// tests) then checks both engines with the same code.
#[test]
fn storage_tests_pass_on_postgresql_too() {
    cargo_test_on_postgresql("storage's tests", &["-p", "storage"], &[]);
}

/// The app's tests named `on_postgres`, each wiki in a schema of its own on this server: the
/// shared scenario suite in process, two `quire serve` nodes of one wiki keeping their views right
/// (`cached_views`), and `quire migrate-db`'s round trip through PostgreSQL (`migrate_db`).
#[test]
fn app_scenarios_pass_in_process_on_postgresql_too() {
    cargo_test_on_postgresql(
        "the app's tests on PostgreSQL",
        &["-p", "app", "--test", "it", "on_postgres"],
        &["--ignored"],
    );
}

/// `cargo test ARGS -- TEST_ARGS` with `QUIRE_TEST_DATABASE` naming a throwaway server; it must
/// pass, and run some test.
fn cargo_test_on_postgresql(what: &str, args: &[&str], test_args: &[&str]) {
    let postgres = TempPostgres::start();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .current_dir(e2e::repo_root())
        .args(["test", "--quiet"])
        .args(args)
        .arg("--")
        .args(test_args)
        .env("QUIRE_TEST_DATABASE", postgres.url())
        .output()
        .expect("cargo runs");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && said.contains(" passed;") && !said.contains(" 0 passed;"),
        "{what} failed on PostgreSQL:\n{said}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        postgres.log_tail()
    );
}

/// TLS to PostgreSQL when the URL asks for it: with the database's CA named (`sslrootcert`) a
/// wiki is made and served over TLS (the server takes no plain TCP connection); without it the
/// server's certificate is refused, and a URL that asks for no TLS is refused by the server.
#[test]
fn tls_is_used_when_the_url_asks_and_the_server_is_checked() {
    use std::os::unix::process::CommandExt;
    let mut postgres = TempPostgres::start();
    let ca = postgres.require_tls();
    let web = e2e::web_user();
    // The CA file must be readable by the user quire runs as.
    let ca_copy = std::env::temp_dir().join(format!("quire-test-ca-{}.pem", std::process::id()));
    std::fs::copy(&ca, &ca_copy).unwrap();
    let data = tempfile::tempdir().unwrap();
    e2e::chown(data.path(), web);
    let quire = |database: &str| {
        std::process::Command::new(e2e::quire_binary())
            .arg("--data")
            .arg(data.path())
            .args(["--database", database, "init"])
            .env_clear()
            .env("QUIRE_LOG", "warn")
            .uid(web.uid)
            .gid(web.gid)
            .output()
            .unwrap()
    };
    let url = postgres.url();

    let trusted = quire(&format!(
        "{url}?sslmode=require&sslrootcert={}",
        ca_copy.display()
    ));
    assert!(
        trusted.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&trusted.stderr),
        postgres.log_tail()
    );
    assert_eq!(
        postgres.sql("quire", "SELECT count(*) > 0 FROM pages"),
        "t",
        "the wiki was made over TLS"
    );

    let unknown_ca = quire(&format!("{url}?sslmode=require"));
    assert!(!unknown_ca.status.success());
    let said = String::from_utf8_lossy(&unknown_ca.stderr);
    assert!(said.to_lowercase().contains("certificate"), "{said}");

    let plain = quire(&url);
    assert!(!plain.status.success());
    let said = String::from_utf8_lossy(&plain.stderr);
    assert!(
        said.contains("pg_hba.conf") || said.contains("encryption"),
        "{said}"
    );
    let _ = std::fs::remove_file(ca_copy);
}
