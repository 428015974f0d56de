//! The wiki's integration tests: one scenario suite, run through every
//! gateway. Each scenario is written once against [`suite::Gateway`]; the
//! `scenarios!` macro instantiates it for the in-process client, CGI (the
//! built binary spawned with RFC 3875 variables), FastCGI (a protocol client
//! talking to `quire fastcgi`), SCGI (`quire scgi`), a spawned `quire` with a
//! listening socket on fd 0 (FastCGI and SCGI requests in turn) and HTTP
//! (`quire serve`). That the same
//! assertions pass everywhere is the proof that the wiki is written once.
#![expect(
    clippy::unwrap_used,
    reason = "a test's helpers fail the test loudly on anything unexpected"
)]

mod accounts;
mod acl;
mod api;
mod architecture;
mod backup;
mod cached_views;
mod cli;
mod concurrency;
mod drafts;
mod drivers;
mod export;
mod faults;
mod files;
mod first_hour;
mod fuzz_seeds;
mod graph;
mod groups;
mod health;
mod hosts;
mod import;
mod import_markdown;
mod import_moin19;
mod operator;
mod scenarios;
mod search;
mod spam;
mod suite;
mod themes;
mod watching;

/// Instantiates every scenario for every gateway: `gateway::scenario` tests.
macro_rules! scenarios {
    ($($scenario:ident),* $(,)?) => {
        mod in_process {
            $(#[test] fn $scenario() { crate::scenarios::$scenario(&crate::drivers::InProcess::start()); })*
        }
        mod cgi {
            $(#[test] fn $scenario() { crate::scenarios::$scenario(&crate::drivers::Cgi::start()); })*
        }
        mod fastcgi {
            $(#[test] fn $scenario() { crate::scenarios::$scenario(&crate::drivers::FastCgi::start()); })*
        }
        mod http {
            $(#[test] fn $scenario() { crate::scenarios::$scenario(&crate::drivers::Http::start()); })*
        }
        mod scgi {
            $(#[test] fn $scenario() { crate::scenarios::$scenario(&crate::drivers::Scgi::start()); })*
        }
        mod spawned {
            $(#[test] fn $scenario() { crate::scenarios::$scenario(&crate::drivers::Spawned::start()); })*
        }
        /// The same wiki kept in PostgreSQL: run by e2e's `postgres` tests, which start a
        /// server and set QUIRE_TEST_DATABASE (`cargo test -p app --test it on_postgres -- --ignored`).
        mod on_postgres {
            $(#[test] #[ignore = "needs a PostgreSQL server in QUIRE_TEST_DATABASE; e2e runs it"]
              fn $scenario() { crate::scenarios::$scenario(&crate::drivers::InProcess::start_on_postgres()); })*
        }
    };
}

scenarios::for_each_scenario!(scenarios);
