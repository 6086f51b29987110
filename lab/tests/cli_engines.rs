//! The `lab` binary with its engines wired in: `lab shell` reading lines
//! from a pipe, and `lab doctor` asking each engine how it is.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn lab(data_dir: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .env("LAB_DATA_DIR", data_dir)
        .env("USER", "ada")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn docker_answers() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn lab_shell_runs_piped_lines_with_the_scenario_engines() {
    let data = tempfile::tempdir().unwrap();
    let out = lab(data.path(), &["shell"], "echo hi; whoami; docker ps\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    assert!(stdout.starts_with("hi\nada\n"), "{stdout}\n{stderr}");
    if docker_answers() {
        assert!(stdout.contains("CONTAINER ID"), "{stdout}\n{stderr}");
        assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    } else {
        eprintln!("dockerd does not answer: checking that docker ps says so");
        assert!(stderr.contains("docker") || stdout.contains("docker"));
        assert_ne!(out.status.code(), Some(0));
    }
}

#[test]
fn curl_saves_a_page_into_the_scratch_files() {
    if !docker_answers() {
        eprintln!("SKIPPED: dockerd does not answer, so no Flask app to fetch");
        return;
    }
    let data = tempfile::tempdir().unwrap();
    let lines = "docker run -p 5000:5000 -d cryillic/thm_example_app > id.txt\n\
                 sleep 2\n\
                 curl -s -o page.html localhost:5000 || sleep 5\n\
                 curl -s -o page.html localhost:5000\n\
                 grep -c 'THM{this_is_running_in_docker}' page.html\n";
    let out = lab(data.path(), &["shell"], lines);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.lines().last(), Some("1"), "{stdout}\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
}

#[test]
fn lab_shell_exits_with_the_last_lines_status() {
    let data = tempfile::tempdir().unwrap();
    let out = lab(data.path(), &["shell"], "echo fine\nno-such-command\n");
    assert_eq!(out.status.code(), Some(127));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("no-such-command: command not found"),
        "{stdout}"
    );
}

#[test]
fn lab_doctor_reports_every_engine_state() {
    let data = tempfile::tempdir().unwrap();
    let out = lab(data.path(), &["doctor"], "");
    let stdout = String::from_utf8_lossy(&out.stdout);

    for engine in ["docker", "cluster", "kvm"] {
        let line = stdout
            .lines()
            .find(|line| line.split_whitespace().nth(1) == Some(engine))
            .unwrap_or_else(|| panic!("no {engine} line:\n{stdout}"));
        assert!(
            line.trim_start().starts_with("ok") || line.trim_start().starts_with("MISSING"),
            "{line}"
        );
        assert!(!line.contains("not built into this lab"), "{line}");
    }
    if docker_answers() {
        assert!(stdout.contains("ok       docker"), "{stdout}");
    }
}
