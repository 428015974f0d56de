mod cgi;
mod fastcgi;
mod http;
