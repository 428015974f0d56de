//! Uploads: throughput and memory of a large upload and its read-back.
//!
//! Not a criterion bench: one 200 MB run says what matters (MB/s, and that memory stays bounded),
//! and repeating it would only fill the disk. The stream is generated on the fly, so the process
//! never holds it; the peak RSS (VmHWM) grows only by what storage holds (one read buffer, one
//! chunk, SQLite's page cache). For comparison, `std::fs::copy` of the same bytes on the same disk
//! is printed as the ceiling.
//!
//! `cargo bench -p storage --bench upload` (QUIRE_UPLOAD_MB=… for another size).

#![expect(clippy::unwrap_used, reason = "a bench; a failure should stop it")]

use std::io::{self, Read};
use std::time::Instant;

use sha2::{Digest, Sha256};
use storage::{NewUpload, Save, Storage};

/// Deterministic pseudo-random bytes, `left` of them, generated as they are read.
struct Generated {
    left: u64,
    x: u64,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX))
            / 8
            * 8;
        let n = if n == 0 {
            buf.len().min(self.left as usize)
        } else {
            n
        };
        for b in buf[..n].chunks_mut(8) {
            self.x ^= self.x << 13;
            self.x ^= self.x >> 7;
            self.x ^= self.x << 17;
            b.copy_from_slice(&self.x.to_le_bytes()[..b.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// The process's peak resident set so far, in KiB (Linux).
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let mb: u64 = std::env::var("QUIRE_UPLOAD_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let len = mb * 1_000_000;
    let dir =
        tempfile::tempdir_in(std::env::var_os("QUIRE_BENCH_DIR").unwrap_or(".".into())).unwrap();
    let storage = Storage::open(&dir.path().join("wiki.db")).unwrap();
    storage
        .save(Save {
            page: "P",
            text: "x",
            author: "bench",
            comment: "",
            base_rev: None,
            time: None,
        })
        .unwrap();
    let before = vm_hwm_kib();

    let started = Instant::now();
    let upload = NewUpload {
        page: "P",
        name: "big.bin",
        media_type: "application/octet-stream",
        width: None,
        height: None,
        uploader: "bench",
        comment: "",
        time: None,
        max_bytes: u64::MAX,
        quota_bytes: None,
    };
    let version = storage
        .upload(&upload, &mut Generated { left: len, x: 7 })
        .unwrap();
    let up = started.elapsed().as_secs_f64();
    let after_upload = vm_hwm_kib();

    let started = Instant::now();
    let stored = version.content.unwrap();
    let mut reader = storage.open_blob(&stored.hash).unwrap();
    let mut hasher = Sha256::new();
    let mut buf = vec![0_u8; 64 * 1024];
    let mut read = 0_u64;
    loop {
        let n = reader.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        read += n as u64;
    }
    let down = started.elapsed().as_secs_f64();
    let after_read = vm_hwm_kib();
    let hash: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(read, len);
    assert_eq!(
        hash, stored.hash,
        "the bytes read back are the bytes uploaded"
    );

    // The ceiling: the same bytes written to a file, then copied on the same disk.
    let source = dir.path().join("source.bin");
    io::copy(
        &mut Generated { left: len, x: 7 },
        &mut std::fs::File::create(&source).unwrap(),
    )
    .unwrap();
    let started = Instant::now();
    std::fs::copy(&source, dir.path().join("copy.bin")).unwrap();
    let cp = started.elapsed().as_secs_f64();

    let mbs = |secs: f64| len as f64 / 1e6 / secs;
    println!(
        "{mb} MB upload (generate + hash + spool + store): {up:.2} s, {:.0} MB/s",
        mbs(up)
    );
    println!(
        "{mb} MB read back through BlobReader (+ SHA-256): {down:.2} s, {:.0} MB/s",
        mbs(down)
    );
    println!(
        "std::fs::copy of the same bytes (ceiling): {cp:.2} s, {:.0} MB/s",
        mbs(cp)
    );
    println!(
        "peak RSS (VmHWM): {before} KiB before, +{} KiB after the upload, +{} KiB after the read-back",
        after_upload - before,
        after_read - before
    );
}
