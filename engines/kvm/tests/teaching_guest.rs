//! Boots the real guests under the real `/dev/kvm`.
//!
//! When `/dev/kvm` cannot be used, each test prints why and returns.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::time::Duration;

use lab_kvm::{
    BannerWait, GuestProgram, KvmSession, StopReason, VmConfig, VmPhase, VmView, WatchdogLimits,
    WatchdogVerdict, host_report,
};

/// Generous: this machine's KVM may emulate every guest instruction.
const BOOT_TIMEOUT: Duration = Duration::from_secs(20);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

fn kvm_usable() -> bool {
    let report = host_report();
    if !report.can_run_guests() {
        eprintln!("skipping: /dev/kvm is not usable here: {:?}", report.device);
        return false;
    }
    true
}

/// Waits until the console output after `from` contains `needle`; returns
/// that output.
async fn read_until(view: &VmView, from: u64, needle: &str) -> String {
    let mut output = view.console().subscribe();
    let wait = async {
        loop {
            let text = console_since(view, from);
            if text.contains(needle) {
                return text;
            }
            if output.changed().await.is_err() {
                return text;
            }
        }
    };
    match tokio::time::timeout(ANSWER_TIMEOUT, wait).await {
        Ok(text) => text,
        Err(_) => panic!(
            "no {needle:?} on the console within {ANSWER_TIMEOUT:?}; output so far:\n{}",
            view.console().text()
        ),
    }
}

fn console_since(view: &VmView, from: u64) -> String {
    let mut bytes = Vec::new();
    let mut offset = from;
    loop {
        let chunk = view.console().read_from(offset);
        if chunk.bytes.is_empty() {
            return String::from_utf8_lossy(&bytes).into_owned();
        }
        bytes.extend_from_slice(&chunk.bytes);
        offset = chunk.next;
    }
}

/// Types `line` and a carriage return; returns the guest's answer up to its
/// next prompt.
async fn ask(view: &VmView, line: &str) -> String {
    let from = view.console().end();
    let typed = format!("{line}\r");
    assert_eq!(view.send_input(typed.as_bytes()), typed.len());
    read_until(view, from, "guest> ").await
}

#[tokio::test]
async fn teaching_guest_boots_answers_commands_and_powers_off() {
    if !kvm_usable() {
        return;
    }
    let session = KvmSession::default();
    let view = session
        .start(GuestProgram::TEACHING)
        .expect("start the teaching guest");

    let boot = view.wait_for_banner(BOOT_TIMEOUT).await;
    assert!(
        matches!(boot, BannerWait::Seen(_)),
        "banner: {boot:?}\n{}",
        view.console().text()
    );
    read_until(&view, 0, "guest> ").await;
    assert_eq!(view.phase(), VmPhase::Running);
    let before = view.counts();

    let help = ask(&view, "help").await;
    assert!(help.contains("cpuid"), "help lists cpuid: {help}");
    let cpuid = ask(&view, "cpuid").await;
    assert!(cpuid.contains("cpuid leaf 0: vendor "), "{cpuid}");
    let mem = ask(&view, "mem").await;
    assert!(
        mem.contains("base memory 640 KiB, extended memory 1024 KiB"),
        "{mem}"
    );
    let ticks = ask(&view, "ticks").await;
    assert!(ticks.contains("wake-ups from hlt"), "{ticks}");
    let unknown = ask(&view, "reboot").await;
    assert!(unknown.contains("unknown command: reboot"), "{unknown}");

    let after = view.counts();
    assert!(
        after.io_out > before.io_out,
        "printing is port output: {before:?} -> {after:?}"
    );
    assert!(after.io_in > before.io_in, "reading keys is port input");
    assert!(after.hlt > before.hlt, "the guest halts while it waits");
    assert!(after.guest_time > Duration::ZERO);

    let from = view.console().end();
    view.send_input(b"halt\r");
    let reason = tokio::time::timeout(ANSWER_TIMEOUT, view.stopped())
        .await
        .expect("powers off");
    assert_eq!(reason, StopReason::PoweredOff);
    assert!(console_since(&view, from).contains("powering off"));
    assert!(matches!(
        view.phase(),
        VmPhase::Stopped(StopReason::PoweredOff)
    ));
}

#[tokio::test]
async fn stopping_a_halted_guest_joins_its_threads() {
    if !kvm_usable() {
        return;
    }
    let session = KvmSession::default();
    let view = session.start(GuestProgram::TEACHING).expect("start");
    view.wait_for_banner(BOOT_TIMEOUT).await;
    read_until(&view, 0, "guest> ").await;

    let second = session.start(GuestProgram::TEACHING);
    assert!(second.is_err(), "one VM per session");

    assert_eq!(session.stop(), Some(StopReason::Requested));
    assert!(!view.is_alive());
    assert_eq!(view.send_input(b"help\r"), 0, "a stopped VM takes no input");
    assert_eq!(session.stop(), None);
}

#[tokio::test]
async fn watchdog_stops_a_spinning_guest() {
    if !kvm_usable() {
        return;
    }
    let watchdog = WatchdogLimits {
        spin_limit: Duration::from_secs(1),
        ..Default::default()
    };
    let session = KvmSession::new(VmConfig {
        watchdog,
        ..Default::default()
    });
    let view = session
        .start(GuestProgram::SPIN)
        .expect("start the spin guest");

    let reason = tokio::time::timeout(BOOT_TIMEOUT, view.stopped())
        .await
        .expect("is stopped");
    assert!(
        matches!(
            reason,
            StopReason::Watchdog(WatchdogVerdict::Spinning { .. })
        ),
        "stopped for spinning, not {reason:?}"
    );
    assert!(view.console().text().contains("lab spin guest"));
    assert_eq!(session.stop(), Some(reason));
}

#[tokio::test]
async fn dropping_the_session_stops_a_spinning_guest() {
    if !kvm_usable() {
        return;
    }
    let session = KvmSession::default();
    let view = session
        .start(GuestProgram::SPIN)
        .expect("start the spin guest");
    view.wait_for_banner(BOOT_TIMEOUT).await;
    // The vCPU is inside KVM_RUN and will never exit by itself.
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(session);
    assert_eq!(view.phase(), VmPhase::Stopped(StopReason::SessionEnded));
}

#[tokio::test]
async fn start_deadline_stops_a_guest_without_banner() {
    if !kvm_usable() {
        return;
    }
    let watchdog = WatchdogLimits {
        start_deadline: Duration::from_millis(300),
        spin_limit: Duration::from_secs(60),
        ..Default::default()
    };
    let session = KvmSession::new(VmConfig {
        watchdog,
        ..Default::default()
    });
    // The spin guest's banner is "lab spin guest"; pretend to expect another.
    let program = GuestProgram {
        banner: "never printed",
        ..GuestProgram::SPIN
    };
    let view = session.start(program).expect("start");
    let reason = tokio::time::timeout(BOOT_TIMEOUT, view.stopped())
        .await
        .expect("is stopped");
    assert!(
        matches!(
            reason,
            StopReason::Watchdog(WatchdogVerdict::NoBanner { .. })
        ),
        "{reason:?}"
    );
}

#[tokio::test]
async fn watchdog_stops_a_guest_that_never_reads_its_input() {
    if !kvm_usable() {
        return;
    }
    let watchdog = WatchdogLimits {
        spin_limit: Duration::from_secs(60),
        answer_timeout: Duration::from_millis(500),
        ..Default::default()
    };
    let session = KvmSession::new(VmConfig {
        watchdog,
        ..Default::default()
    });
    let view = session
        .start(GuestProgram::SPIN)
        .expect("start the spin guest");
    view.wait_for_banner(BOOT_TIMEOUT).await;
    assert_eq!(view.send_input(b"anyone there?\r"), 14);

    let reason = tokio::time::timeout(BOOT_TIMEOUT, view.stopped())
        .await
        .expect("is stopped");
    assert!(
        matches!(
            reason,
            StopReason::Watchdog(WatchdogVerdict::NotAnswering { .. })
        ),
        "{reason:?}"
    );
}

#[tokio::test]
async fn watchdog_stops_a_guest_beyond_the_exit_rate_cap() {
    if !kvm_usable() {
        return;
    }
    // Booting costs under a hundred exits; four `help`s cost over a thousand.
    let watchdog = WatchdogLimits {
        max_exits_per_second: 200,
        ..Default::default()
    };
    let session = KvmSession::new(VmConfig {
        watchdog,
        ..Default::default()
    });
    let view = session.start(GuestProgram::TEACHING).expect("start");
    read_until(&view, 0, "guest> ").await;
    view.send_input(b"help\rhelp\rhelp\rhelp\r");

    let reason = tokio::time::timeout(BOOT_TIMEOUT, view.stopped())
        .await
        .expect("is stopped");
    assert!(
        matches!(
            reason,
            StopReason::Watchdog(WatchdogVerdict::ExitStorm { cap: 200, .. })
        ),
        "{reason:?}"
    );
}

#[tokio::test]
async fn a_flood_of_typed_input_is_refused_beyond_the_queue_bound() {
    if !kvm_usable() {
        return;
    }
    let session = KvmSession::default();
    let view = session
        .start(GuestProgram::SPIN)
        .expect("start the spin guest");
    view.wait_for_banner(BOOT_TIMEOUT).await;
    let flood = vec![b'x'; lab_kvm::control::MAX_PENDING_INPUT * 2];
    assert_eq!(view.send_input(&flood), lab_kvm::control::MAX_PENDING_INPUT);
    assert_eq!(view.send_input(b"more"), 0);
}

/// The VM's panel data once the guest has printed its prompt and halted to
/// wait for input: on a loaded machine the prompt can reach the console a
/// moment before the guest's last port read and its HLT.
async fn settled(session: &KvmSession) -> lab_kvm::VmPanelData {
    let mut last = session.stats().expect("a VM");
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let now = session.stats().expect("a VM");
        if now.counts.hlt > 0 && now.counts == last.counts {
            return now;
        }
        last = now;
    }
    panic!("the guest never settled: {:?}", last.counts);
}

#[tokio::test]
async fn sessions_are_isolated_and_the_panel_data_moves() {
    if !kvm_usable() {
        return;
    }
    let alice = KvmSession::default();
    let bob = KvmSession::default();
    let alice_vm = alice
        .start(GuestProgram::TEACHING)
        .expect("start alice's VM");
    let bob_vm = bob.start(GuestProgram::TEACHING).expect("start bob's VM");
    read_until(&alice_vm, 0, "guest> ").await;
    read_until(&bob_vm, 0, "guest> ").await;
    let bob_before = settled(&bob).await;

    let panel_before = alice.stats().expect("alice has a VM");
    let answer = ask(&alice_vm, "mem").await;
    assert!(answer.contains("extended memory"), "{answer}");
    let panel_after = alice.stats().expect("alice has a VM");
    assert_eq!(panel_after.guest, "teaching");
    assert_eq!(panel_after.memory_mib, 2);
    assert!(panel_after.counts.total() > panel_before.counts.total());
    assert!(panel_after.boot_time.is_some());

    assert!(!bob_vm.console().text().contains("extended memory"));
    assert_eq!(
        bob.stats().expect("bob has a VM").counts,
        bob_before.counts,
        "bob's guest idles"
    );
}
