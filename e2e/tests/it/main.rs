//! End-to-end tests: quire against real third-party servers and tools.

mod cgi_fcgi;
