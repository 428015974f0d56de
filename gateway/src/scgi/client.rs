//! A small SCGI client: speaks to an SCGI server as a web server would, for
//! tests and the end-to-end suite. One request per connection, the whole
//! response kept in memory.

use std::io::{self, Read, Write};
use std::time::Duration;

use super::head::encode_head;
use crate::fastcgi::{cgi_params, parse_cgi_response, Pair};
use crate::listener::Stream;
use crate::testing::{TestRequest, TestResponse};

/// A connection to an SCGI server, good for one request.
#[derive(Debug)]
pub struct Client {
    stream: Stream,
}

impl Client {
    /// Connects to `spec`: `host:port` or `unix:/path`.
    pub fn connect(spec: &str) -> io::Result<Client> {
        Ok(Client {
            stream: Stream::connect(spec)?,
        })
    }

    /// Fails a read that waits longer than `timeout` for the server, rather
    /// than hanging (`None`, the default, waits for ever).
    pub fn with_timeout(self, timeout: Option<Duration>) -> io::Result<Self> {
        self.stream.set_read_timeout(timeout)?;
        Ok(self)
    }

    /// Sends one request and reads the raw response (a CGI response) to the
    /// end of the connection. The head carries `CONTENT_LENGTH` (the body's
    /// length) first and `SCGI=1`, then `params`, minus any
    /// `CONTENT_LENGTH` or `SCGI` among them.
    pub fn request(mut self, params: &[Pair], body: &[u8]) -> io::Result<Vec<u8>> {
        let mut pairs = vec![
            (
                b"CONTENT_LENGTH".to_vec(),
                body.len().to_string().into_bytes(),
            ),
            (b"SCGI".to_vec(), b"1".to_vec()),
        ];
        pairs.extend(
            params
                .iter()
                .filter(|(name, _)| name != b"CONTENT_LENGTH" && name != b"SCGI")
                .cloned(),
        );
        let mut bytes = encode_head(&pairs);
        bytes.extend_from_slice(body);
        self.send_raw(&bytes)?;
        self.read_response()
    }

    /// Sends `request` under `mount`, as a web server would, and parses the
    /// response.
    pub fn send(self, request: &TestRequest, mount: &str) -> io::Result<TestResponse> {
        let stdout = self.request(&cgi_params(request, mount), &request.body)?;
        parse_cgi_response(&stdout).map_err(|err| io::Error::new(io::ErrorKind::InvalidData, err))
    }

    /// Writes bytes as they are, to test what the server makes of broken
    /// input. A server that answered early and closed is not an error: its
    /// answer is still there to read.
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.stream.write_all(bytes) {
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
                ) =>
            {
                Ok(())
            }
            other => other,
        }
    }

    /// Closes the sending side, as a peer that has nothing more to say.
    pub fn finish_sending(&mut self) -> io::Result<()> {
        self.stream.shutdown(std::net::Shutdown::Write)
    }

    /// Reads everything the server sends until it closes the connection.
    pub fn read_response(mut self) -> io::Result<Vec<u8>> {
        let mut response = Vec::new();
        self.stream.read_to_end(&mut response)?;
        Ok(response)
    }
}
