//! Hostile peers against the socket adapters: silence, stalls in the middle
//! of a request, lengths that lie, and random bytes. Each must cost the
//! server one closed connection and nothing more: the next request is
//! answered. Timeouts are short here so the tests stay quick; bounded
//! memory is shown by the limits answering (413, 431), not by measuring.
#![expect(
    clippy::unwrap_used,
    reason = "a test's helpers fail the test loudly on anything unexpected"
)]

use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::Duration;

use gateway::fastcgi::record::{
    role, BeginRequest, Record, RecordType, FLAG_KEEP_CONN, MAX_CONTENT_LEN,
};
use gateway::fastcgi::Pair;
use gateway::listener::Stream;
use gateway::server::{Protocol, ServerConfig};
use gateway::testing::TestRequest;
use gateway::{Request, Response};
use http::StatusCode;
use proptest::prelude::Rng;
use proptest::test_runner::{RngAlgorithm, TestRng};

use crate::support::{config, read_response, TestServer};

const PROTOCOLS: [Protocol; 3] = [Protocol::FastCgi, Protocol::Scgi, Protocol::Detect];

fn quick(max_connections: usize) -> ServerConfig {
    ServerConfig {
        max_connections,
        idle_timeout: Duration::from_millis(150),
        ..config()
    }
}

/// A raw connection that fails a test rather than hang it.
fn connect(server: &TestServer) -> Stream {
    let stream = Stream::connect(&server.spec).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
}

/// Whether the server closed the connection (after sending anything).
fn closed_by_server(mut stream: Stream) -> bool {
    let mut sink = Vec::new();
    match stream.read_to_end(&mut sink) {
        Ok(_) => true,
        Err(err) => err.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

/// A normal request in the server's protocol is answered.
fn answers(server: &TestServer, protocol: Protocol) -> bool {
    let request = TestRequest::get("/still-here");
    let response = match protocol {
        Protocol::Scgi => server.scgi().send(&request, ""),
        _ => server
            .client()
            .with_timeout(Some(Duration::from_secs(20)))
            .unwrap()
            .send(&request, ""),
    };
    response.is_ok_and(|response| response.status == StatusCode::OK)
}

fn begin(id: u16) -> Vec<u8> {
    let body = BeginRequest {
        role: role::RESPONDER,
        flags: FLAG_KEEP_CONN,
    };
    Record::new(RecordType::BEGIN_REQUEST, id, body.encode())
        .unwrap()
        .encode()
}

#[test]
fn silent_peers_are_dropped_and_free_their_slots() {
    for protocol in PROTOCOLS {
        // Two slots, both taken by peers that never speak: the third
        // connection is served only because they are dropped.
        let server = TestServer::unix_with(protocol, quick(2));
        let silent = [connect(&server), connect(&server)];
        assert!(answers(&server, protocol), "{protocol:?}");
        for stream in silent {
            assert!(closed_by_server(stream), "{protocol:?}");
        }
    }
}

#[test]
fn an_idle_kept_alive_fastcgi_connection_is_closed() {
    let server = TestServer::unix_with(Protocol::FastCgi, quick(2));
    let mut client = server
        .client()
        .with_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let response = client.send(&TestRequest::get("/"), "").unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert!(client.read_record().map_or(true, |record| record.is_none()));
}

#[test]
fn fastcgi_peers_that_stall_inside_a_record_or_a_request_are_dropped() {
    let server = TestServer::tcp_with(Protocol::FastCgi, quick(4));
    let params = Record::new(RecordType::PARAMS, 1, vec![14, 3])
        .unwrap()
        .encode();
    let stalls: [Vec<u8>; 3] = [
        // Half a record header.
        vec![1, 1, 0],
        // A record whose content never comes in full.
        [&begin(1)[..], &[1, 4, 0, 1, 0, 100, 0, 0, b'x']].concat(),
        // Whole records, but the request is never finished.
        [begin(1), params].concat(),
    ];
    for bytes in stalls {
        let mut stream = connect(&server);
        stream.write_all(&bytes).unwrap();
        assert!(closed_by_server(stream), "{bytes:?}");
    }
    assert!(answers(&server, Protocol::FastCgi));
}

#[test]
fn scgi_peers_that_stall_in_the_head_or_the_body_are_dropped() {
    let server = TestServer::unix_with(Protocol::Scgi, quick(4));
    let head = gateway::scgi::encode_head(&[
        (b"CONTENT_LENGTH".to_vec(), b"100".to_vec()),
        (b"SCGI".to_vec(), b"1".to_vec()),
        (b"REQUEST_METHOD".to_vec(), b"POST".to_vec()),
    ]);
    for bytes in [&b"70"[..], &head[..20], &[&head[..], b"some"].concat()] {
        let mut stream = connect(&server);
        stream.write_all(bytes).unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        assert!(
            answer.is_empty(),
            "a stalled request was answered: {answer:?}"
        );
    }
    assert!(answers(&server, Protocol::Scgi));
}

#[test]
fn a_running_request_keeps_its_fastcgi_connection_past_the_timeout() {
    let slow = |_: Request| -> Response {
        // Several idle timeouts long.
        std::thread::sleep(Duration::from_millis(500));
        Response::new("slow but sure".into())
    };
    let server = TestServer::start(Protocol::FastCgi, Arc::new(slow), true, quick(2));
    let mut client = server
        .client()
        .with_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let response = client.send(&TestRequest::get("/"), "").unwrap();
    assert_eq!(response.text(), "slow but sure");
}

fn pair(name: &str, value: &[u8]) -> Pair {
    (name.as_bytes().to_vec(), value.to_vec())
}

#[test]
fn a_4_gb_content_length_over_fastcgi_is_answered_413() {
    let server = TestServer::unix(config());
    let params = [
        pair("REQUEST_METHOD", b"POST"),
        pair("PATH_INFO", b"/echo"),
        pair("CONTENT_LENGTH", b"4294967296"),
    ];
    let response = server
        .client()
        .request(&params, &[b'x'; 10_000])
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn a_fastcgi_pair_length_that_lies_is_answered_400() {
    let server = TestServer::unix(config());
    let mut client = server.client();
    // A 4-byte name length of 2 GiB, in a 12-byte params block.
    let lie = [0xFF, 0xFF, 0xFF, 0xF0, 1, b'R', b'E', b'Q', 0, 0, 0, 0];
    let mut bytes = begin(1);
    for record in [
        Record::new(RecordType::PARAMS, 1, lie.to_vec()),
        Record::new(RecordType::PARAMS, 1, Vec::new()),
        Record::new(RecordType::STDIN, 1, Vec::new()),
    ] {
        record.unwrap().encode_into(&mut bytes);
    }
    client.send_raw(&bytes).unwrap();
    let response = read_response(&mut client);
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
}

/// Bytes that get a little way into a protocol before going wrong, so the
/// run reaches past the first check of each parser.
fn random_bytes(rng: &mut TestRng) -> Vec<u8> {
    let len = (rng.next_u32() % 2048) as usize;
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    let prefix: Vec<u8> = match rng.next_u32() % 4 {
        // A FastCGI header of a random type, id and length.
        0 => vec![1],
        // A BEGIN_REQUEST and then noise.
        1 => begin((rng.next_u32() % 4) as u16),
        // An SCGI length.
        2 => format!("{}:", rng.next_u32() % 3000).into_bytes(),
        _ => Vec::new(),
    };
    [prefix, bytes].concat()
}

#[test]
fn a_bounded_random_bytes_run_leaves_the_servers_answering() {
    const CONNECTIONS: usize = 200;
    for protocol in PROTOCOLS {
        let server = TestServer::unix_with(protocol, quick(64));
        let mut rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]);
        let inputs: Vec<(Vec<u8>, bool)> = (0..CONNECTIONS)
            .map(|_| (random_bytes(&mut rng), !rng.next_u32().is_multiple_of(8)))
            .collect();
        let spec = server.spec.clone();
        let peers: Vec<_> = inputs
            .chunks(CONNECTIONS / 4)
            .map(|chunk| {
                let (chunk, spec) = (chunk.to_vec(), spec.clone());
                std::thread::spawn(move || {
                    for (bytes, half_close) in chunk {
                        let mut stream = Stream::connect(&spec).unwrap();
                        stream
                            .set_read_timeout(Some(Duration::from_secs(20)))
                            .unwrap();
                        // The server may close before taking everything.
                        let _ = stream.write_all(&bytes);
                        // Most peers end their side; the rest fall silent
                        // and are left to the idle timeout.
                        if half_close {
                            let _ = stream.shutdown(Shutdown::Write);
                        }
                        let mut sink = Vec::new();
                        let read = stream.read_to_end(&mut sink);
                        assert!(
                            read.is_ok()
                                || read.is_err_and(|err| {
                                    err.kind() == std::io::ErrorKind::ConnectionReset
                                }),
                            "the server kept a hostile connection open"
                        );
                    }
                })
            })
            .collect();
        for peer in peers {
            peer.join().unwrap();
        }
        assert!(answers(&server, protocol), "{protocol:?}");
        if protocol == Protocol::Detect {
            assert!(answers(&server, Protocol::Scgi));
        }
    }
}

#[test]
fn fastcgi_streams_far_over_64_kib_arrive_in_records_of_any_size() {
    // Already shown for one framing in fastcgi.rs; here the params block
    // and the body go in the largest records there are, one byte short.
    let server = TestServer::tcp(config());
    let big = vec![b'v'; 300 * 1024];
    let params = [
        pair("REQUEST_METHOD", b"POST"),
        pair("PATH_INFO", b"/echo"),
        pair("HTTP_X_BIG", &big),
        pair("CONTENT_LENGTH", big.len().to_string().as_bytes()),
    ];
    let mut client = server.client().with_max_record(MAX_CONTENT_LEN - 1);
    let response = client.request(&params, &big).unwrap().parse().unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.body == big);
}
