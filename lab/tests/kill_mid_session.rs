//! Kills a running `lab` with SIGKILL right after it showed a verdict, then
//! checks that what the screen acknowledged is in the progress database.
//!
//! The binary runs in a pseudo-terminal made by util-linux `script`; the
//! test says so and stops when `script` is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lab::store::ProgressStore;

const ID: &str = "virtualization-and-containers";

fn spawn_in_pty(data_dir: &Path) -> Option<Child> {
    let lab = env!("CARGO_BIN_EXE_lab");
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let command = format!(
        "stty cols 140 rows 40; exec '{lab}' --scenarios '{}' run {ID}",
        scenarios.display()
    );
    Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("LAB_DATA_DIR", data_dir)
        .env("USER", "ada")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| eprintln!("skipping: cannot run `script` for a pseudo-terminal: {error}"))
        .ok()
}

/// Collects everything the terminal shows, in the background.
fn collect(child: &mut Child) -> Arc<Mutex<Vec<u8>>> {
    let screen = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let sink = screen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    screen
}

fn wait_for(screen: &Arc<Mutex<Vec<u8>>>, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if String::from_utf8_lossy(&screen.lock().unwrap()).contains(text) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("`{text}` never appeared on the screen");
}

/// The `lab` process: the only child of `script`.
fn lab_pid(script: &Child) -> String {
    let path = format!("/proc/{0}/task/{0}/children", script.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let children = std::fs::read_to_string(&path).unwrap_or_default();
        if let Some(pid) = children.split_whitespace().next() {
            return pid.to_owned();
        }
        assert!(Instant::now() < deadline, "script started no child");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn answer_acknowledged_on_screen_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut script) = spawn_in_pty(dir.path()) else {
        return;
    };
    let screen = collect(&mut script);
    let mut keys = script.stdin.take().unwrap();
    let pid = lab_pid(&script);

    wait_for(&screen, "Task 1/");
    keys.write_all(b"\r").unwrap(); // finish the reading task
    wait_for(&screen, "scalability");
    keys.write_all(b"\tY\r").unwrap(); // to the questions; answer the first
    wait_for(&screen, "Correct!");
    let killed = Command::new("kill").args(["-9", &pid]).status().unwrap();
    assert!(killed.success());
    let _ = script.wait();

    let store = ProgressStore::open_in(dir.path()).unwrap();
    let attempts = store.attempts("ada", ID).unwrap();
    assert!(
        attempts
            .iter()
            .any(|a| a.question == "scalability-benefit" && a.correct),
        "{attempts:?}"
    );
    let progress = store.load_progress("ada", ID).unwrap();
    assert!(progress.tasks_done.contains(&"introduction".to_owned()));
}
