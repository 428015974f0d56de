mod cgi;
mod fastcgi;
mod hostile;
mod http;
mod scgi;
mod sessions;
mod support;
