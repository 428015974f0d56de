//! Peak memory of a FastCGI server receiving one large body: the figure
//! behind "a 200 MB upload holds a few records in memory".
//!
//! Run: `cargo run --release -p gateway --example fastcgi_upload_rss [MB]`
//! (default 200). It starts itself again as a FastCGI server on a unix
//! socket, serving an app that hashes the body as it reads it (SHA-256),
//! streams MB megabytes of noise to it with the crate's FastCGI client,
//! 64 KiB records generated on the fly, and prints the server's peak RSS
//! (`VmHWM`) before and after, the growth, and the throughput. The body is
//! never whole in either process. Linux only (`/proc`).

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gateway::fastcgi::record::{
    encode_pairs, role, BeginRequest, Record, RecordType, FLAG_KEEP_CONN, MAX_CONTENT_LEN,
};
use gateway::fastcgi::{cgi_params, Client};
use gateway::listener::Listener;
use gateway::server::{Protocol, Server, ServerConfig};
use gateway::testing::TestRequest;
use gateway::{GatewayConfig, HttpError, IntoResponse, Request, Response};
use sha2::{Digest, Sha256};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        let spec = args.get(2).ok_or("serve needs a socket")?;
        return serve(spec);
    }
    let megabytes: u64 = args.get(1).map_or(Ok(200), |mb| mb.parse())?;
    let len = megabytes * 1_000_000;
    let dir = tempfile::tempdir()?;
    let spec = format!("unix:{}", dir.path().join("fcgi.sock").display());
    let mut server = Command::new(std::env::current_exe()?)
        .args(["serve", &spec])
        .stdout(Stdio::null())
        .spawn()?;
    let result = measure(&server, &spec, len);
    let _ = server.kill();
    let _ = server.wait();
    result
}

fn measure(server: &Child, spec: &str, len: u64) -> Result<(), Error> {
    let mut client = connect(spec)?;
    // Warm up: one small request, so the baseline includes a worker's stack
    // and the connection's buffers.
    send(&mut client, 1000)?;
    let before = vm_hwm(server.id())?;
    let started = Instant::now();
    let answer = send(&mut client, len)?;
    let elapsed = started.elapsed();
    let after = vm_hwm(server.id())?;
    println!("body: {len} bytes, answer: {answer}");
    println!(
        "server VmHWM: {before} kB before, {after} kB after: +{} kB ({:.1} MB)",
        after - before,
        (after - before) as f64 / 1000.0
    );
    println!(
        "throughput: {:.0} MB/s ({:.2} s)",
        len as f64 / 1e6 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
    Ok(())
}

fn connect(spec: &str) -> Result<Client, Error> {
    for _ in 0..100 {
        if let Ok(client) = Client::connect(spec) {
            return Ok(client);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("the server did not start".into())
}

/// Sends a POST of `len` bytes of noise as records made on the fly, and
/// returns the app's answer.
fn send(client: &mut Client, len: u64) -> Result<String, Error> {
    let mut request = TestRequest::get("/");
    request.method = http::Method::POST;
    let mut params = cgi_params(&request, "");
    params.retain(|(name, _)| name != b"CONTENT_LENGTH");
    params.push((b"CONTENT_LENGTH".to_vec(), len.to_string().into_bytes()));
    let begin = BeginRequest {
        role: role::RESPONDER,
        flags: FLAG_KEEP_CONN,
    };
    client.send_record(&Record::new(RecordType::BEGIN_REQUEST, 1, begin.encode())?)?;
    let mut encoded = Vec::new();
    encode_pairs(params.iter().map(|(n, v)| (n, v)), &mut encoded)?;
    client.send_record(&Record::new(RecordType::PARAMS, 1, encoded)?)?;
    client.send_record(&Record::new(RecordType::PARAMS, 1, Vec::new())?)?;
    let mut noise = Noise(0x2545_f491);
    let mut left = len;
    let mut chunk = vec![0; MAX_CONTENT_LEN];
    while left > 0 {
        let n = left.min(MAX_CONTENT_LEN as u64) as usize;
        noise.fill(&mut chunk[..n]);
        client.send_record(&Record::new(RecordType::STDIN, 1, chunk[..n].to_vec())?)?;
        left -= n as u64;
    }
    client.send_record(&Record::new(RecordType::STDIN, 1, Vec::new())?)?;
    let mut stdout = Vec::new();
    while let Some(record) = client.read_record()? {
        match record.record_type() {
            RecordType::STDOUT => stdout.extend_from_slice(record.content()),
            RecordType::END_REQUEST => break,
            _ => {}
        }
    }
    let response = gateway::fastcgi::parse_cgi_response(&stdout)?;
    Ok(format!("{} {}", response.status, response.text()))
}

struct Noise(u32);

impl Noise {
    fn fill(&mut self, out: &mut [u8]) {
        for byte in out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            *byte = self.0 as u8;
        }
    }
}

/// The peak resident set of process `pid`, in kB.
fn vm_hwm(pid: u32) -> Result<u64, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .ok_or("no VmHWM")?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .ok_or("no VmHWM value")?
        .parse()?)
}

fn serve(spec: &str) -> Result<(), Error> {
    let listener = Listener::bind(spec)?;
    let config = ServerConfig {
        gateway: GatewayConfig {
            max_stream_bytes: 1 << 40,
            ..GatewayConfig::default()
        },
        ..ServerConfig::default()
    };
    let server = Server::start(listener, Protocol::FastCgi, Arc::new(hash_app), config)?;
    server.wait()?;
    Ok(())
}

/// Hashes the body as it reads it.
fn hash_app(mut request: Request) -> Response {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 64 * 1024];
    let mut len = 0u64;
    loop {
        match request.body_mut().read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[..n]);
                len += n as u64;
            }
            Err(err) => return HttpError::bad_request(err.to_string()).into_response(),
        }
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Response::new(format!("{len} {hex}").into())
}
