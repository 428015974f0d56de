mod cgi;
mod http;
