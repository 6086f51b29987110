//! Prints a short transcript of the teaching guest: boot, a few commands,
//! `vm status`-style counters, and power-off. Handy for seeing what a
//! student sees without the lab's TUI.
//!
//! `cargo run -p lab-kvm --example transcript`

use std::time::Duration;

use lab_kvm::{GuestProgram, KvmSession, VmView, host_report};

const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let report = host_report();
    if !report.can_run_guests() {
        eprintln!(
            "transcript: /dev/kvm is not usable here: {:?}",
            report.device
        );
        return;
    }
    let session = KvmSession::default();
    let view = match session.start(GuestProgram::TEACHING) {
        Ok(view) => view,
        Err(error) => {
            eprintln!("transcript: cannot start the guest: {error}");
            return;
        }
    };
    let mut offset = 0;
    wait_for(&view, &mut offset, "guest> ").await;
    for line in ["help", "cpuid", "mem", "ticks", "nonsense", "halt"] {
        view.send_input(format!("{line}\r").as_bytes());
        let needle = if line == "halt" {
            "powering off"
        } else {
            "guest> "
        };
        wait_for(&view, &mut offset, needle).await;
    }
    let reason = tokio::time::timeout(PATIENCE, view.stopped()).await;
    println!("\n--- stopped: {reason:?}");
    println!("--- boot time: {:?}", view.boot_time());
    println!("--- exits:\n{}", view.counts());
}

/// Prints console output as it arrives until `needle` shows up.
async fn wait_for(view: &VmView, offset: &mut u64, needle: &str) {
    let mut output = view.console().subscribe();
    let mut seen = String::new();
    let wait = async {
        loop {
            let chunk = view.console().read_from(*offset);
            *offset = chunk.next;
            let text = String::from_utf8_lossy(&chunk.bytes).replace('\r', "");
            print!("{text}");
            seen.push_str(&text);
            if seen.contains(needle) || output.changed().await.is_err() {
                return;
            }
        }
    };
    if tokio::time::timeout(PATIENCE, wait).await.is_err() {
        eprintln!("\ntranscript: no {needle:?} within {PATIENCE:?}");
    }
}
