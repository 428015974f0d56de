//! End-to-end tests: quire against real third-party servers and tools.

mod browser;
mod cgi_fcgi;
