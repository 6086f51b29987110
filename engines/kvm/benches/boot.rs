//! Boot and exit-rate figures of the teaching guest on this host's KVM.
//!
//! `cargo bench -p lab-kvm --bench boot` prints:
//! - the time from `vm start` (building the VM) to the guest's banner,
//!   over several boots;
//! - VM exits per second while the guest answers `help` repeatedly, both
//!   per second of wall-clock time and per second spent inside `KVM_RUN`.
//!
//! When `/dev/kvm` is not usable it prints why and exits.

use std::time::{Duration, Instant};

use lab_kvm::{BannerWait, GuestProgram, KvmSession, VmView, host_report};

const BOOTS: usize = 10;
const COMMANDS: usize = 20;
const PATIENCE: Duration = Duration::from_secs(30);

fn main() {
    let report = host_report();
    println!(
        "host: {:?}, hardware virtualization: {}",
        report.device, report.virtualization
    );
    if !report.can_run_guests() {
        eprintln!("boot bench skipped: /dev/kvm is not usable here");
        return;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("boot bench: cannot build a tokio runtime: {error}");
            return;
        }
    };
    runtime.block_on(async {
        boot_times().await;
        exit_rate().await;
    });
}

async fn boot_times() {
    let mut times = Vec::with_capacity(BOOTS);
    for _ in 0..BOOTS {
        let session = KvmSession::default();
        let started = Instant::now();
        let Ok(view) = session.start(GuestProgram::TEACHING) else {
            eprintln!("boot bench: the VM did not start");
            return;
        };
        match view.wait_for_banner(PATIENCE).await {
            BannerWait::Seen(_) => times.push(started.elapsed()),
            other => {
                eprintln!("boot bench: no banner: {other:?}");
                return;
            }
        }
    }
    times.sort();
    println!(
        "vm start -> banner over {BOOTS} boots: min {:?}, median {:?}, max {:?}",
        times[0],
        times[BOOTS / 2],
        times[BOOTS - 1]
    );
}

async fn exit_rate() {
    let session = KvmSession::default();
    let Ok(view) = session.start(GuestProgram::TEACHING) else {
        eprintln!("exit-rate bench: the VM did not start");
        return;
    };
    if !wait_for(&view, 0, "guest> ").await {
        return;
    }
    let before = view.counts();
    let started = Instant::now();
    for _ in 0..COMMANDS {
        let from = view.console().end();
        view.send_input(b"help\r");
        if !wait_for(&view, from, "guest> ").await {
            return;
        }
    }
    let wall = started.elapsed();
    let after = view.counts();
    let exits = after.total() - before.total();
    let in_guest = after.guest_time.saturating_sub(before.guest_time);
    println!(
        "{COMMANDS} x `help`: {exits} exits in {wall:?} -> {:.0} exits/s wall clock, \
         {:.0} exits/s of time inside KVM_RUN ({in_guest:?}); {} bytes of output",
        per_second(exits, wall),
        per_second(exits, in_guest),
        view.console().end(),
    );
    println!("counters after the run:\n{after}");
}

fn per_second(count: u64, time: Duration) -> f64 {
    count as f64 / time.as_secs_f64().max(f64::MIN_POSITIVE)
}

/// Waits until the output after `from` contains `needle`.
async fn wait_for(view: &VmView, from: u64, needle: &str) -> bool {
    let mut output = view.console().subscribe();
    let wait = async {
        loop {
            let seen = view.console().read_from(from);
            if String::from_utf8_lossy(&seen.bytes).contains(needle) {
                return true;
            }
            if output.changed().await.is_err() {
                return false;
            }
        }
    };
    let found = tokio::time::timeout(PATIENCE, wait).await.unwrap_or(false);
    if !found {
        eprintln!(
            "bench: no {needle:?} on the console:\n{}",
            view.console().text()
        );
    }
    found
}
