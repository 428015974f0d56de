//! The gateway's integration tests: each adapter (CGI, FastCGI, SCGI, HTTP) driven over its real
//! protocol, sessions and CSRF through the whole stack, and hostile peers against the socket adapters.

mod cgi;
mod downloads;
mod fastcgi;
mod hostile;
mod http;
mod proxies;
mod scgi;
mod sessions;
mod streaming;
mod support;
