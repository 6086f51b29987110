//! The OpenSSH client, driven through a pty, gets a working session.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use expectrl::session::OsSession;
use expectrl::{Expect, Session};
use lab_ssh::Limits;

fn openssh_available() -> bool {
    let found = Command::new("ssh").arg("-V").output().is_ok();
    if !found {
        eprintln!(
            "SKIPPED: the OpenSSH client `ssh` is not installed (scripts/setup-host installs it)"
        );
    }
    found
}

fn ssh_command(port: u16) -> Command {
    let mut command = Command::new("ssh");
    command.args(["-F", "/dev/null", "-p", &port.to_string()]);
    for option in [
        "StrictHostKeyChecking=no",
        "UserKnownHostsFile=/dev/null",
        "LogLevel=ERROR",
        "PubkeyAuthentication=no",
        "PreferredAuthentications=password",
        "NumberOfPasswordPrompts=1",
    ] {
        command.args(["-o", option]);
    }
    command.arg(format!("{USER}@127.0.0.1"));
    command
}

/// Reads the client's output into a vt100 screen until it shows `needle`.
fn wait_for_screen(
    session: &mut OsSession,
    screen: &mut vt100::Parser,
    raw: &mut Vec<u8>,
    needle: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buffer = [0u8; 4096];
    while !screen.screen().contents().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {needle:?}; screen:\n{}",
            screen.screen().contents()
        );
        match session.try_read(&mut buffer) {
            Ok(0) => panic!(
                "ssh exited before {needle:?}; screen:\n{}",
                screen.screen().contents()
            ),
            Ok(n) => {
                screen.process(&buffer[..n]);
                raw.extend_from_slice(&buffer[..n]);
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(error) => panic!("reading from ssh failed: {error}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssh_client_logs_in_types_resizes_and_quits() {
    if !openssh_available() {
        return;
    }
    let server = TestServer::start(Limits::default()).await;
    let port = server.addr.port();

    let drive = tokio::task::spawn_blocking(move || {
        let mut session = Session::spawn(ssh_command(port)).unwrap();
        session.get_process_mut().set_window_size(100, 30).unwrap();
        session.set_expect_timeout(Some(Duration::from_secs(20)));
        session.expect("password:").unwrap();
        session.send_line(PASSWORD).unwrap();

        let mut screen = parser(100, 30);
        let mut raw = Vec::new();
        wait_for_screen(
            &mut session,
            &mut screen,
            &mut raw,
            "user=thmuser others=0 size=100x30",
        );

        session.send("hi").unwrap();
        wait_for_screen(&mut session, &mut screen, &mut raw, "typed:[hi]");

        session.get_process_mut().set_window_size(120, 40).unwrap();
        screen.set_size(40.try_into().unwrap(), 120.try_into().unwrap());
        wait_for_screen(&mut session, &mut screen, &mut raw, "size=120x40");

        session.send("\x1b[21~").unwrap(); // F10 quits the echo app
        session.expect(expectrl::Eof).unwrap();
        let status = session.get_process().wait().unwrap();
        (status, raw)
    });
    let (status, raw) = drive.await.unwrap();

    let status = format!("{status:?}");
    assert!(
        status.starts_with("Exited(") && status.ends_with(", 0)"),
        "ssh exit: {status}"
    );
    assert!(String::from_utf8_lossy(&raw).contains("\x1b[?1049h"));
    server.wait_closed(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssh_command_without_terminal_gets_the_explanation() {
    if !openssh_available() {
        return;
    }
    let server = TestServer::start(Limits::default()).await;
    let port = server.addr.port();

    let output = tokio::task::spawn_blocking(move || {
        let mut command = ssh_command(port);
        command.arg("ls");
        let mut session = Session::spawn(command).unwrap();
        session.set_expect_timeout(Some(Duration::from_secs(20)));
        session.expect("password:").unwrap();
        session.send_line(PASSWORD).unwrap();
        let captures = session.expect(expectrl::Eof).unwrap();
        String::from_utf8_lossy(captures.as_bytes()).into_owned()
    })
    .await
    .unwrap();

    assert!(output.contains("needs a terminal"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fingerprint_matches_what_openssh_computes() {
    if !openssh_available() {
        return;
    }
    let server = TestServer::start(Limits::default()).await;
    let port = server.addr.port().to_string();

    let scan = tokio::task::spawn_blocking(move || {
        let keys = Command::new("ssh-keyscan")
            .args(["-t", "ed25519", "-p", &port, "127.0.0.1"])
            .output()
            .unwrap();
        let path = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(path.path(), &keys.stdout).unwrap();
        let listed = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(path.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&listed.stdout).into_owned()
    })
    .await
    .unwrap();

    assert!(
        scan.contains(&server.fingerprint),
        "{scan} vs {}",
        server.fingerprint
    );
}
