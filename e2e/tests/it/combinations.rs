//! The wiki's shared scenario suite (`app/tests/it/scenarios.rs`) over real
//! HTTP through each web server and protocol quire supports, configured
//! with the files in `deploy/`. One test per combination, so a failure
//! names the server and the protocol.

use crate::servers::{Combination, Ready};

#[test]
fn nginx_fastcgi_tcp() {
    let mut run = Combination::new("nginx + FastCGI over TCP", "/wiki");
    let fastcgi = format!("127.0.0.1:{}", e2e::free_port());
    run.quire(&["fastcgi", "--listen", &fastcgi], Ready::Tcp(&fastcgi));
    run.nginx("nginx/quire-fastcgi.conf", &[("QUIRE", &fastcgi)]);
    run.run_scenarios();
}

#[test]
fn nginx_fastcgi_unix() {
    start_nginx_fastcgi_unix().run_scenarios();
}

/// nginx → `quire fastcgi` on a unix socket (also measured by the bench).
pub(crate) fn start_nginx_fastcgi_unix() -> Combination {
    let mut run = Combination::new("nginx + FastCGI over a unix socket", "/wiki");
    let socket = run.shared_dir("run").join("fcgi.sock");
    let address = format!("unix:{}", socket.display());
    run.quire(&["fastcgi", "--listen", &address], Ready::Unix(&socket));
    run.nginx("nginx/quire-fastcgi.conf", &[("QUIRE", &address)]);
    run
}

#[test]
fn nginx_scgi() {
    start_nginx_scgi().run_scenarios();
}

/// nginx → `quire scgi` on a unix socket (also measured by the bench).
pub(crate) fn start_nginx_scgi() -> Combination {
    let mut run = Combination::new("nginx + SCGI", "/wiki");
    let socket = run.shared_dir("run").join("scgi.sock");
    let address = format!("unix:{}", socket.display());
    // nginx sends only REQUEST_URI over SCGI, no SCRIPT_NAME/PATH_INFO.
    run.quire(
        &["scgi", "--listen", &address, "--mount", "/wiki"],
        Ready::Unix(&socket),
    );
    run.nginx("nginx/quire-scgi.conf", &[("QUIRE", &address)]);
    run
}

#[test]
fn nginx_proxy_to_serve() {
    let mut run = Combination::new("nginx reverse proxy + quire serve", "/wiki");
    let http = format!("127.0.0.1:{}", e2e::free_port());
    run.quire(
        &["serve", "--listen", &http, "--mount", "/wiki"],
        Ready::Tcp(&http),
    );
    run.nginx("nginx/quire-proxy.conf", &[("QUIRE", &http)]);
    run.run_scenarios();
}

#[test]
fn apache_cgi() {
    start_apache_cgi().run_scenarios();
}

/// Apache → quire as a CGI under mod_cgid (also measured by the bench).
pub(crate) fn start_apache_cgi() -> Combination {
    let mut run = Combination::new("Apache + CGI (mod_cgid)", "/wiki");
    let binary = e2e::quire_binary().display().to_string();
    let data = run.data().display().to_string();
    run.apache(
        "apache/quire-cgi.conf",
        &["cgid", "env"],
        &[("QUIRE_BIN", &binary), ("DATA", &data)],
    );
    run
}

#[test]
fn apache_proxy_fcgi() {
    let mut run = Combination::new("Apache + FastCGI (mod_proxy_fcgi)", "/wiki");
    let socket = run.shared_dir("run").join("fcgi.sock");
    let address = format!("unix:{}", socket.display());
    // mod_proxy_fcgi does not split SCRIPT_NAME/PATH_INFO.
    run.quire(
        &["fastcgi", "--listen", &address, "--mount", "/wiki"],
        Ready::Unix(&socket),
    );
    let socket = socket.display().to_string();
    run.apache(
        "apache/quire-proxy-fcgi.conf",
        &["proxy", "proxy_fcgi"],
        &[("SOCKET", &socket)],
    );
    run.run_scenarios();
}

#[test]
fn apache_fcgid() {
    let mut run = Combination::new("Apache + FastCGI spawned by mod_fcgid", "/wiki");
    let binary = e2e::quire_binary().display().to_string();
    let data = run.data().display().to_string();
    run.apache(
        "apache/quire-fcgid.conf",
        &["fcgid"],
        &[("QUIRE_BIN", &binary), ("DATA", &data)],
    );
    run.run_scenarios();
}

#[test]
fn lighttpd_cgi() {
    let mut run = Combination::new("lighttpd + CGI (mod_cgi)", "/wiki");
    let binary = e2e::quire_binary().display().to_string();
    let data = run.data().display().to_string();
    run.lighttpd(
        "lighttpd/quire-cgi.conf",
        &[("QUIRE_BIN", &binary), ("DATA", &data)],
    );
    run.run_scenarios();
}

#[test]
fn lighttpd_fastcgi_spawned() {
    let mut run = Combination::new("lighttpd + FastCGI spawned by bin-path", "/wiki");
    let binary = e2e::quire_binary().display().to_string();
    let data = run.data().display().to_string();
    let socket = run
        .shared_dir("run")
        .join("fcgi.sock")
        .display()
        .to_string();
    run.lighttpd(
        "lighttpd/quire-fastcgi.conf",
        &[("QUIRE_BIN", &binary), ("DATA", &data), ("SOCKET", &socket)],
    );
    run.run_scenarios();
}

#[test]
fn lighttpd_scgi() {
    let mut run = Combination::new("lighttpd + SCGI", "/wiki");
    let socket = run.shared_dir("run").join("scgi.sock");
    let address = format!("unix:{}", socket.display());
    run.quire(&["scgi", "--listen", &address], Ready::Unix(&socket));
    let socket = socket.display().to_string();
    run.lighttpd("lighttpd/quire-scgi.conf", &[("SOCKET", &socket)]);
    run.run_scenarios();
}
