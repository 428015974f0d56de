//! The systemd units in `deploy/systemd/`: `systemd-analyze verify` accepts
//! them, and the socket-activated FastCGI pair works the way systemd runs
//! it. No systemd runs in the tests, so the test does its part by hand: it
//! creates the socket as the `.socket` unit describes (its group and mode),
//! hands it over on standard input (`StandardInput=socket`), runs the
//! service's own `ExecStart` with its `Environment`, as a user that is not
//! in the socket's group (as `DynamicUser` makes one), and puts nginx in
//! front with `deploy/nginx/quire-fastcgi.conf`: then the whole scenario
//! suite runs through it. What it cannot show is the sandboxing
//! (`ProtectSystem=` and friends); `systemd-analyze verify` checks those
//! settings exist and parse.

use std::fs;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use e2e::{account, ensure_tool, group_id, quire_binary, render_deploy_file};

use crate::servers::{Combination, Ready};

const UNITS: [&str; 4] = [
    "quire.service",
    "quire-fastcgi.socket",
    "quire-fastcgi.service",
    "quire-node@.service",
];

/// Every `KEY=value` setting of `key` in a unit file, in order.
pub(crate) fn settings<'a>(unit: &'a str, key: &str) -> Vec<&'a str> {
    unit.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .filter(|(name, _)| name.trim() == key)
        .map(|(_, value)| value.trim())
        .collect()
}

/// The one setting of `key` in a unit file.
pub(crate) fn setting<'a>(unit: &'a str, key: &str) -> &'a str {
    match settings(unit, key).as_slice() {
        [value] => value,
        other => panic!("expected one {key}= in the unit, found {other:?}"),
    }
}

#[test]
fn units_pass_systemd_analyze_verify() {
    ensure_tool("systemd-analyze", "systemd");
    let dir = tempfile::tempdir().unwrap();
    let binary = quire_binary().display().to_string();
    let paths: Vec<_> = UNITS
        .iter()
        .map(|unit| {
            // A template is verified as one of its instances.
            let path = dir.path().join(unit.replace("@.", "@1."));
            let text = render_deploy_file(&format!("systemd/{unit}"), &[("QUIRE_BIN", &binary)]);
            fs::write(&path, text).unwrap();
            path
        })
        .collect();
    let output = Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // verify exits 0 on an unknown or misspelt key, but says so.
    assert!(
        output.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
}

#[test]
fn nginx_fastcgi_socket_activated() {
    let mut run = Combination::new(
        "nginx + FastCGI on a socket handed over as systemd does",
        "/wiki",
    );
    let binary = quire_binary().display().to_string();
    let socket_unit = render_deploy_file("systemd/quire-fastcgi.socket", &[]);
    let service = render_deploy_file("systemd/quire-fastcgi.service", &[("QUIRE_BIN", &binary)]);
    assert_eq!(setting(&service, "StandardInput"), "socket");

    // The socket, owned by root as systemd's is, with the unit's group and mode.
    let socket = run.path("fcgi.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let mode = u32::from_str_radix(setting(&socket_unit, "SocketMode"), 8).unwrap();
    fs::set_permissions(&socket, fs::Permissions::from_mode(mode)).unwrap();
    let group = group_id(setting(&socket_unit, "SocketGroup"));
    std::os::unix::fs::chown(&socket, Some(0), Some(group)).unwrap();

    // A user in no group of the socket's, owning the state directory, as
    // DynamicUser= with StateDirectory= would have it; %S/quire is the data.
    let user = account("nobody");
    run.give_data_to(user);
    let state = run.path("state");
    fs::create_dir(&state).unwrap();
    std::os::unix::fs::symlink(run.data(), state.join("quire")).unwrap();
    let env: Vec<(String, String)> = settings(&service, "Environment")
        .into_iter()
        .map(|assignment| {
            let (name, value) = assignment.split_once('=').unwrap();
            let value = value.replace("%S", &state.display().to_string());
            (name.to_owned(), value)
        })
        .collect();

    let exec_start = setting(&service, "ExecStart");
    let mut words = exec_start.split_whitespace();
    let mut command = Command::new(words.next().unwrap());
    command
        .args(words)
        .uid(user.uid)
        .gid(user.gid)
        .stdin(Stdio::from(OwnedFd::from(listener)));
    run.start_quire(
        "quire-fastcgi.service",
        &mut command,
        &env,
        Ready::Unix(&socket),
    );

    let address = format!("unix:{}", socket.display());
    run.nginx("nginx/quire-fastcgi.conf", &[("QUIRE", &address)]);
    run.run_scenarios();
}
