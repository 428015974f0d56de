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
    let postgres = TempPostgres::start();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .current_dir(e2e::repo_root())
        .args(["test", "-p", "storage", "--quiet"])
        .env("QUIRE_TEST_DATABASE", postgres.url())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "storage's tests failed on PostgreSQL:\n{}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        postgres.log_tail()
    );
}

/// The app's shared scenario suite, in process, on a wiki kept in PostgreSQL, and two `quire
/// serve` nodes of one such wiki keeping their views right (the app's tests named `on_postgres`:
/// each wiki in a schema of its own on this server).
#[test]
fn app_scenarios_pass_in_process_on_postgresql_too() {
    let postgres = TempPostgres::start();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = std::process::Command::new(cargo)
        .current_dir(e2e::repo_root())
        .args([
            "test",
            "-p",
            "app",
            "--test",
            "it",
            "--quiet",
            "on_postgres::",
        ])
        .args(["--", "--ignored"])
        .env("QUIRE_TEST_DATABASE", postgres.url())
        .output()
        .expect("cargo runs");
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && said.contains(" passed;") && !said.contains(" 0 passed;"),
        "the app's scenarios failed on PostgreSQL:\n{said}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        postgres.log_tail()
    );
}
