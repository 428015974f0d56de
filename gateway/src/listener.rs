//! Listening sockets for the socket-based adapters (FastCGI, SCGI): bound
//! from a `host:port` or `unix:/path` spec, or inherited on fd 0 from a
//! process manager, and the connections they accept.
//!
//! This module knows nothing about any protocol spoken on the sockets.
//!
//! A unix socket is created with the process umask, like any other file:
//! when the web server runs as another user, run quire with a umask that
//! lets that user connect (such as `UMask=0007` in a systemd unit with a
//! shared group), or put the socket in a directory only the two share.
//! The socket file is not removed on exit; the next bind removes it when
//! nothing listens on it any more.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;

use socket2::SockRef;

/// A listening socket: TCP or unix.
#[derive(Debug)]
pub enum Listener {
    /// A TCP socket.
    Tcp(TcpListener),
    /// A unix domain socket.
    Unix(UnixListener),
}

/// Where a spec says to listen or connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint<'a> {
    Tcp(&'a str),
    Unix(&'a Path),
}

/// Parses `host:port` or `unix:/path`.
pub(crate) fn parse_spec(spec: &str) -> io::Result<Endpoint<'_>> {
    if let Some(path) = spec.strip_prefix("unix:") {
        if path.is_empty() {
            return Err(invalid_spec(spec, "the unix socket path is empty"));
        }
        return Ok(Endpoint::Unix(Path::new(path)));
    }
    if spec
        .rsplit_once(':')
        .is_none_or(|(host, port)| host.is_empty() || port.is_empty())
    {
        return Err(invalid_spec(spec, "expected host:port or unix:/path"));
    }
    Ok(Endpoint::Tcp(spec))
}

fn invalid_spec(spec: &str, reason: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("invalid socket address {spec:?}: {reason}"),
    )
}

impl Listener {
    /// Binds `spec`: `host:port` (such as `127.0.0.1:9000`, `[::1]:9000`, or
    /// port 0 for any free port) or `unix:/path/to/socket`.
    ///
    /// An existing file at a unix path is removed first only when it is a
    /// socket nobody listens on (left over by a crashed process); a live
    /// socket or any other kind of file is an error.
    pub fn bind(spec: &str) -> io::Result<Listener> {
        match parse_spec(spec)? {
            Endpoint::Tcp(addr) => Ok(Listener::Tcp(TcpListener::bind(addr)?)),
            Endpoint::Unix(path) => {
                remove_stale_socket(path)?;
                Ok(Listener::Unix(UnixListener::bind(path)?))
            }
        }
    }

    /// The listening socket a process manager passed on fd 0 (mod_fcgid,
    /// lighttpd's `bin-path`, `cgi-fcgi -start`), or `None` when fd 0 is
    /// anything else, including a *connected* socket as Apache mod_cgid
    /// gives a CGI. The fd is duplicated, so fd 0 itself stays open.
    pub fn inherited_stdin() -> io::Result<Option<Listener>> {
        if !stdin_is_listening_socket() {
            return Ok(None);
        }
        let stdin = io::stdin();
        let fd = stdin.as_fd().try_clone_to_owned()?;
        let is_unix = SockRef::from(&fd).local_addr()?.is_unix();
        let listener = if is_unix {
            Listener::Unix(UnixListener::from(fd))
        } else {
            Listener::Tcp(TcpListener::from(fd))
        };
        // A process manager may hand the socket over in non-blocking mode;
        // accept() is meant to wait.
        match &listener {
            Listener::Tcp(listener) => listener.set_nonblocking(false)?,
            Listener::Unix(listener) => listener.set_nonblocking(false)?,
        }
        Ok(Some(listener))
    }

    /// Waits for a connection; returns it with the peer's IP address (none
    /// for unix sockets). TCP connections get `TCP_NODELAY`.
    pub fn accept(&self) -> io::Result<(Stream, Option<IpAddr>)> {
        match self {
            Listener::Tcp(listener) => {
                let (stream, peer) = listener.accept()?;
                // Responses end with small records (FastCGI's END_REQUEST);
                // Nagle's algorithm would hold them back for a delayed ACK.
                stream.set_nodelay(true)?;
                Ok((Stream::Tcp(stream), Some(peer.ip())))
            }
            Listener::Unix(listener) => {
                let (stream, _) = listener.accept()?;
                Ok((Stream::Unix(stream), None))
            }
        }
    }

    /// A second handle to the same socket.
    pub fn try_clone(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(listener) => Listener::Tcp(listener.try_clone()?),
            Listener::Unix(listener) => Listener::Unix(listener.try_clone()?),
        })
    }

    /// The address in spec form (`127.0.0.1:9000` or `unix:/path`), which
    /// [`crate::fastcgi::Client::connect`] accepts. A TCP socket bound to
    /// every interface is reported on the loopback address, where a local
    /// client can reach it.
    pub fn local_spec(&self) -> io::Result<String> {
        match self {
            Listener::Tcp(listener) => Ok(reachable(listener.local_addr()?).to_string()),
            Listener::Unix(listener) => {
                let addr = listener.local_addr()?;
                let path = addr.as_pathname().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::Unsupported, "the unix socket has no path")
                })?;
                Ok(format!("unix:{}", path.display()))
            }
        }
    }

    /// Stops the socket accepting: a thread blocked in [`Listener::accept`]
    /// on any handle to it returns with an error (on Linux; elsewhere the
    /// caller may have to connect once to wake it).
    pub(crate) fn stop_accepting(&self) {
        // Errors are expected on platforms where shutdown() does not apply
        // to listening sockets; callers wake the acceptor another way too.
        let _ = match self {
            Listener::Tcp(listener) => SockRef::from(listener).shutdown(Shutdown::Read),
            Listener::Unix(listener) => SockRef::from(listener).shutdown(Shutdown::Read),
        };
    }
}

impl fmt::Display for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.local_spec() {
            Ok(spec) => f.write_str(&spec),
            Err(_) => f.write_str("an unnamed socket"),
        }
    }
}

fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(std::net::Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}

fn remove_stale_socket(path: &Path) -> io::Result<()> {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    if !metadata.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a socket; refusing to replace it",
                path.display()
            ),
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("another process is listening on {}", path.display()),
        )),
        Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => std::fs::remove_file(path),
        Err(err) => Err(err),
    }
}

/// Whether fd 0 is a socket in the listening state (`SO_ACCEPTCONN`): how a
/// FastCGI process manager hands over its socket. A connected socket, a
/// pipe, a terminal or a closed fd 0 all answer `false`.
pub fn stdin_is_listening_socket() -> bool {
    let stdin = io::stdin();
    let fd = stdin.as_fd();
    is_listening(SockRef::from(&fd))
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
fn is_listening(socket: SockRef<'_>) -> bool {
    socket.is_listener().unwrap_or(false)
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
fn is_listening(socket: SockRef<'_>) -> bool {
    // Without SO_ACCEPTCONN: a bound socket with no peer is taken to be
    // listening; a connected one (mod_cgid's stdin) has a peer.
    socket.local_addr().is_ok()
        && socket.r#type().is_ok_and(|t| t == socket2::Type::STREAM)
        && socket
            .peer_addr()
            .is_err_and(|err| err.kind() == io::ErrorKind::NotConnected)
}

/// An accepted connection: TCP or unix.
#[derive(Debug)]
pub enum Stream {
    /// A TCP connection.
    Tcp(TcpStream),
    /// A unix domain connection.
    Unix(UnixStream),
}

impl Stream {
    /// Connects to `spec` (`host:port` or `unix:/path`), as clients do.
    pub fn connect(spec: &str) -> io::Result<Stream> {
        match parse_spec(spec)? {
            Endpoint::Tcp(addr) => {
                let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
                Ok(Stream::Tcp(TcpStream::connect(&addrs[..])?))
            }
            Endpoint::Unix(path) => Ok(Stream::Unix(UnixStream::connect(path)?)),
        }
    }

    /// A second handle to the same connection, such as a write half for
    /// another thread.
    pub fn try_clone(&self) -> io::Result<Stream> {
        Ok(match self {
            Stream::Tcp(stream) => Stream::Tcp(stream.try_clone()?),
            Stream::Unix(stream) => Stream::Unix(stream.try_clone()?),
        })
    }

    /// Shuts down reading, writing or both, for every handle.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.shutdown(how),
            Stream::Unix(stream) => stream.shutdown(how),
        }
    }
}

impl Stream {
    /// How long a read may wait before failing with `WouldBlock` or
    /// `TimedOut`; `None` waits for ever.
    pub fn set_read_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.set_read_timeout(timeout),
            Stream::Unix(stream) => stream.set_read_timeout(timeout),
        }
    }

    /// How long a write may wait before failing with `WouldBlock` or
    /// `TimedOut`; `None` waits for ever.
    pub fn set_write_timeout(&self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.set_write_timeout(timeout),
            Stream::Unix(stream) => stream.set_write_timeout(timeout),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(stream) => stream.read(buf),
            Stream::Unix(stream) => stream.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(stream) => stream.write(buf),
            Stream::Unix(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(stream) => stream.flush(),
            Stream::Unix(stream) => stream.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(
            parse_spec("127.0.0.1:9000").unwrap(),
            Endpoint::Tcp("127.0.0.1:9000")
        );
        assert_eq!(
            parse_spec("[::1]:9000").unwrap(),
            Endpoint::Tcp("[::1]:9000")
        );
        assert_eq!(
            parse_spec("unix:/run/quire.sock").unwrap(),
            Endpoint::Unix(Path::new("/run/quire.sock"))
        );
        for bad in ["", "9000", "unix:", ":9000", "localhost:"] {
            assert!(parse_spec(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn replaces_a_stale_socket_but_not_a_live_one_or_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let spec = format!("unix:{}", path.display());
        drop(UnixListener::bind(&path).unwrap());
        let live = Listener::bind(&spec).unwrap();
        assert_eq!(live.local_spec().unwrap(), spec);
        assert_eq!(
            Listener::bind(&spec).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
        drop(live);

        let file = dir.path().join("plain");
        std::fs::write(&file, "keep me").unwrap();
        assert!(Listener::bind(&format!("unix:{}", file.display())).is_err());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    }

    #[test]
    fn a_tcp_listener_accepts_and_reports_the_peer() {
        let listener = Listener::bind("127.0.0.1:0").unwrap();
        let spec = listener.local_spec().unwrap();
        let mut client = Stream::connect(&spec).unwrap();
        let (mut server, peer) = listener.accept().unwrap();
        assert_eq!(peer, Some(std::net::Ipv4Addr::LOCALHOST.into()));
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
    }

    #[test]
    fn only_a_listening_socket_counts() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(is_listening(SockRef::from(&listener)));
        let connected = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert!(!is_listening(SockRef::from(&connected)));
        let (unix_a, _unix_b) = UnixStream::pair().unwrap();
        assert!(!is_listening(SockRef::from(&unix_a)));
        let file = tempfile::tempfile().unwrap();
        assert!(!is_listening(SockRef::from(&file)));
    }

    #[test]
    fn stop_accepting_wakes_a_blocked_accept() {
        let dir = tempfile::tempdir().unwrap();
        for spec in [
            "127.0.0.1:0".to_owned(),
            format!("unix:{}/a.sock", dir.path().display()),
        ] {
            let listener = Listener::bind(&spec).unwrap();
            let handle = listener.try_clone().unwrap();
            let acceptor = std::thread::spawn(move || listener.accept().map(|_| ()));
            std::thread::sleep(std::time::Duration::from_millis(50));
            handle.stop_accepting();
            assert!(acceptor.join().unwrap().is_err(), "{spec}");
        }
    }
}
