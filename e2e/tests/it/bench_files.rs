//! Files through real servers: upload and download throughput of one large file, against `cp` of
//! the same file (the ceiling), and how much the quire process's peak memory (VmHWM) grows while it
//! streams the file in and out, through `quire serve`, nginx → FastCGI and Apache → CGI. It prints
//! the table recorded in `BENCHMARKS.md`.
//!
//! Not part of `cargo test`: `#[ignore]`d, meant for a release build:
//!
//! ```sh
//! cargo test -p e2e --release -- --ignored bench_files --nocapture --test-threads=1
//! ```
//!
//! `QUIRE_BENCH_FILE_MB` sets the file's size (default 200). It asserts what must hold whatever the
//! machine: every download is byte-identical to the upload, and nothing answers an error; the
//! memory figure is printed, not asserted.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use e2e::quire_binary;
use http::StatusCode;

use crate::servers::{Combination, Ready};
use crate::suite::{Browser, Gateway};

/// The page the file is attached to.
const PAGE: &str = "FileBench";

struct Row {
    setup: &'static str,
    upload_mb_s: f64,
    download_mb_s: f64,
    /// Peak memory growth while uploading and downloading, in MB; `None` for CGI (a process per
    /// request, gone when it answers).
    growth_mb: Option<(f64, f64)>,
}

#[test]
#[ignore = "a benchmark: cargo test -p e2e --release -- --ignored bench_files --nocapture --test-threads=1"]
fn bench_files() {
    let megabytes: usize = std::env::var("QUIRE_BENCH_FILE_MB")
        .ok()
        .and_then(|mb| mb.parse().ok())
        .unwrap_or(200);
    let size = megabytes * 1000 * 1000;
    let limit = (size as u64 + (1 << 20)).to_string();
    println!("quire: {}\nfile: {size} bytes", quire_binary().display());
    let content = content(size);
    let scratch = tempfile::tempdir().unwrap();
    let source = scratch.path().join("source.bin");
    fs::write(&source, &content).unwrap();
    let ceiling = copy_rate(&source, &scratch.path().join("copy.bin"), size);
    let mut rows = Vec::new();

    {
        let mut run = Combination::new("quire serve", "");
        let http = run.addr().to_string();
        run.quire(
            &["serve", "--listen", &http, "--max-upload", &limit],
            Ready::Tcp(&http),
        );
        rows.push(measure(&run, "`quire serve` (actix-web)", &content));
    }
    {
        let mut run = Combination::new("nginx + FastCGI over a unix socket", "/wiki");
        let socket = run.shared_dir("run").join("fcgi.sock");
        let address = format!("unix:{}", socket.display());
        run.quire(
            &["fastcgi", "--listen", &address, "--max-upload", &limit],
            Ready::Unix(&socket),
        );
        let body_limit = format!("client_max_body_size {}m;", megabytes + 2);
        run.nginx_edited(
            "nginx/quire-fastcgi.conf",
            &[("QUIRE", &address)],
            |config| config.replace("client_max_body_size 65m;", &body_limit),
        );
        rows.push(measure(
            &run,
            "nginx → `quire fastcgi` (unix socket)",
            &content,
        ));
    }
    {
        let run = crate::combinations::start_apache_cgi();
        run.set_upload_limit(&limit);
        rows.push(measure(&run, "Apache → CGI (mod_cgid)", &content));
    }

    println!("\n| setup | upload MB/s | ratio to cp | download MB/s | ratio to cp | peak RSS growth, upload | peak RSS growth, download |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    println!(
        "| `cp` of the same file (the ceiling) | {ceiling:.0} | 1.000 | {ceiling:.0} | 1.000 | | |"
    );
    for row in rows {
        let (up, down) = match row.growth_mb {
            Some((up, down)) => (format!("{up:.1} MB"), format!("{down:.1} MB")),
            None => ("(a process per request)".to_owned(), String::new()),
        };
        println!(
            "| {} | {:.0} | {:.3} | {:.0} | {:.3} | {up} | {down} |",
            row.setup,
            row.upload_mb_s,
            row.upload_mb_s / ceiling,
            row.download_mb_s,
            row.download_mb_s / ceiling,
        );
    }
}

/// `size` bytes that are not all alike (xorshift), so a misplaced chunk would show.
fn content(size: usize) -> Vec<u8> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut bytes = Vec::with_capacity(size);
    while bytes.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

/// MB/s of `cp` from `source` to `target` on the same disk, written through (`conv=fsync` is what
/// storage's commit costs too).
fn copy_rate(source: &Path, target: &Path, size: usize) -> f64 {
    let started = Instant::now();
    let status = Command::new("cp").arg(source).arg(target).status().unwrap();
    assert!(status.success());
    let synced = Command::new("sync").arg(target).status().unwrap();
    assert!(synced.success());
    size as f64 / 1e6 / started.elapsed().as_secs_f64()
}

fn measure(run: &Combination, setup: &'static str, content: &[u8]) -> Row {
    let browser = Browser::new(run);
    let saved = browser.save_page(PAGE, "A page with a large file.", None);
    assert_eq!(
        saved.status,
        StatusCode::SEE_OTHER,
        "{setup}: {}",
        saved.text()
    );
    let pid = run.quire_pid();
    let baseline = pid.map(|pid| {
        reset_peak(pid);
        memory_kb(pid, "VmRSS")
    });

    let started = Instant::now();
    let uploaded = browser.upload(PAGE, &[], &[("large.bin", content)]);
    let upload_s = started.elapsed().as_secs_f64();
    assert_eq!(
        uploaded.status,
        StatusCode::SEE_OTHER,
        "{setup}: {}",
        uploaded.text()
    );
    let upload_peak = pid.map(|pid| memory_kb(pid, "VmHWM"));

    if let Some(pid) = pid {
        reset_peak(pid);
    }
    let download_base = pid.map(|pid| memory_kb(pid, "VmRSS"));
    let started = Instant::now();
    let download = run.get(&format!("/+file/{PAGE}/large.bin"));
    let download_s = started.elapsed().as_secs_f64();
    assert_eq!(download.status, StatusCode::OK, "{setup}");
    assert!(
        download.body == content,
        "{setup}: the download differs from the upload"
    );
    let download_peak = pid.map(|pid| memory_kb(pid, "VmHWM"));

    let megabytes = content.len() as f64 / 1e6;
    let growth = |peak: Option<u64>, base: Option<u64>| {
        peak.zip(base)
            .map(|(peak, base)| peak.saturating_sub(base) as f64 / 1000.0)
    };
    Row {
        setup,
        upload_mb_s: megabytes / upload_s,
        download_mb_s: megabytes / download_s,
        growth_mb: growth(upload_peak, baseline).zip(growth(download_peak, download_base)),
    }
}

/// Resets the process's peak resident size (VmHWM) to its current one (`clear_refs` 5).
fn reset_peak(pid: u32) {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
}

/// A `kB` line of `/proc/{pid}/status`.
fn memory_kb(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}
