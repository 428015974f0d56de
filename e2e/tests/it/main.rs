//! End-to-end tests: quire against real third-party servers and tools.
#![expect(
    clippy::unwrap_used,
    reason = "a test's helpers fail the test loudly on anything unexpected"
)]

mod bench;
mod bench_files;
mod browser;
mod cgi_fcgi;
mod cluster;
mod combinations;
mod faults;
mod fcgi_probe;
mod feeds;
mod forwarded;
mod packaging;
mod postgres;
mod servers;
mod systemd;
mod torture;

// The app's scenario suite, shared rather than copied: the same file the
// app's own tests run through its in-process, CGI, FastCGI and HTTP drivers.
#[path = "../../../app/tests/it/scenarios.rs"]
mod scenarios;
#[path = "../../../app/tests/it/suite.rs"]
mod suite;
