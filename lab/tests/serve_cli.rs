//! The `lab serve` and `lab user` commands as an operator runs them: the
//! built binary in a fresh data directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use lab_ssh::users::UserDirectory;

fn lab(data_dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lab"));
    command.arg("--data-dir").arg(data_dir);
    command
}

/// Runs `lab ARGS` with `input` on standard input; returns stdout.
fn lab_with_input(data_dir: &Path, args: &[&str], input: &str) -> String {
    let mut child = lab(data_dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "lab {args:?} failed: {stderr}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn serve_prints_the_ssh_command_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = lab(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let (lines, received) = mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut seen = Vec::new();
    let command = loop {
        match received.recv_timeout(Duration::from_secs(30)) {
            Ok(line) if line.trim_start().starts_with("ssh -p ") => break line,
            Ok(line) => seen.push(line),
            Err(error) => {
                let _ = child.kill();
                panic!("no ssh command printed ({error}); stdout so far: {seen:?}");
            }
        }
    };
    let port = command
        .split_whitespace()
        .nth(2)
        .and_then(|p| p.parse::<u16>().ok())
        .expect("a port in the ssh command");
    assert_ne!(port, 0);
    assert!(command.ends_with("thmuser@127.0.0.1"), "{command}");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(dir.path().join("ssh_host_ed25519_key").exists());

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    assert!(stderr.contains("host key fingerprint: SHA256:"), "{stderr}");
    assert!(stderr.contains("all sessions closed"), "{stderr}");
}

#[test]
fn serve_warns_loudly_on_other_networks_with_the_default_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = lab(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut text = String::new();
    while !text.contains("WARNING") {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        text.push_str(&line);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("WARNING"), "{text}");
    assert!(text.contains("default user thmuser"), "{text}");
}

#[test]
fn user_add_and_passwd_write_the_users_file_serve_reads() {
    let dir = tempfile::tempdir().unwrap();
    let added = lab_with_input(dir.path(), &["user", "add", "alice"], "first-pass\n");
    assert!(added.contains("Added alice"), "{added}");
    assert!(added.contains("default thmuser account is off"), "{added}");

    let path = dir.path().join("users.toml");
    let users = UserDirectory::load(Some(&path)).unwrap();
    assert!(users.verify_password("alice", "first-pass"));
    assert!(!users.verify_password("thmuser", "TryHackMe!"));

    lab_with_input(dir.path(), &["user", "passwd", "alice"], "second-pass\n");
    let users = UserDirectory::load(Some(&path)).unwrap();
    assert!(users.verify_password("alice", "second-pass"));
    assert!(!users.verify_password("alice", "first-pass"));
}

#[test]
fn user_add_refuses_a_bad_name_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = lab(dir.path())
        .args(["user", "add", "Bad Name"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a-password\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid user name"), "{stderr}");
}
