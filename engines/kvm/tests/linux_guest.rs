//! The Linux guest end to end: prepared from Debian packages, booted to its
//! busybox prompt under QEMU (the Type 2 emulator), and on the micro-VMM
//! where the host has hardware virtualization. Each test that cannot run
//! here prints why and returns.
//!
//! The artifacts are cached in `LAB_KVM_TEST_CACHE` (default: a directory
//! under the system's temporary directory), so only the first run
//! downloads the kernel.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lab_engine_api::{
    CheckSpec, CommandOutput, Invocation, LiveValueSpec, Probe, ScratchFiles, ShellCommand,
};
use lab_kvm::linux::qemu::find_qemu;
use lab_kvm::{
    Hypervisor, KvmProbe, KvmSession, LinuxGuestArtifacts, VmCommand, VmConfig, VmView,
    host_report, linux_refusal, prepare_linux_guest,
};
use tokio::sync::{OnceCell, mpsc};
use tokio_util::sync::CancellationToken;

const SHELL_PATIENCE: Duration = Duration::from_secs(60);

struct NoFiles;

impl ScratchFiles for NoFiles {
    fn read(&self, _path: &str) -> Option<Vec<u8>> {
        None
    }
}

struct Ran {
    status: i32,
    stdout: String,
    stderr: String,
}

async fn run(vm: &VmCommand, line: &str) -> Ran {
    let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    let (stdout, mut out_rx) = CommandOutput::channel(256);
    let (stderr, mut err_rx) = CommandOutput::channel(256);
    let env = BTreeMap::new();
    let invocation = Invocation {
        args: &args,
        stdin: None,
        stdout,
        stderr,
        env: &env,
        files: &NoFiles,
        cancel: CancellationToken::new(),
        keys: None,
        columns: 80,
    };
    let status = vm.run(invocation).await;
    Ran {
        status,
        stdout: drain(&mut out_rx),
        stderr: drain(&mut err_rx),
    }
}

fn drain(rx: &mut mpsc::Receiver<Vec<u8>>) -> String {
    let mut bytes = Vec::new();
    while let Ok(chunk) = rx.try_recv() {
        bytes.extend(chunk);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn cache_dir() -> PathBuf {
    std::env::var_os("LAB_KVM_TEST_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("lab-kvm-test-cache"))
}

/// The prepared guest, built once per test binary; `None` (after saying
/// why) when apt cannot provide it here.
async fn artifacts() -> Option<LinuxGuestArtifacts> {
    static PREPARED: OnceCell<Option<LinuxGuestArtifacts>> = OnceCell::const_new();
    PREPARED
        .get_or_init(|| async {
            let started = Instant::now();
            let prepared =
                prepare_linux_guest(&cache_dir(), |step| eprintln!("prepare: {step:?}")).await;
            match prepared {
                Ok(artifacts) => {
                    eprintln!("prepared in {:?}: {artifacts:?}", started.elapsed());
                    Some(artifacts)
                }
                Err(error) => {
                    eprintln!(
                        "skipping: the Linux guest cannot be prepared here (apt-get is \
                         missing or cannot reach Debian): {}",
                        chain(&error)
                    );
                    None
                }
            }
        })
        .await
        .clone()
}

fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Types `line` and waits until the console shows `expected` after it.
async fn type_and_expect(view: &VmView, line: &str, expected: &str) -> String {
    let from = view.console().end();
    assert_eq!(view.send_input(line.as_bytes()), line.len());
    let deadline = Instant::now() + SHELL_PATIENCE;
    loop {
        let mut text = String::new();
        let mut offset = from;
        loop {
            let chunk = view.console().read_from(offset);
            if chunk.bytes.is_empty() {
                break;
            }
            text.push_str(&String::from_utf8_lossy(&chunk.bytes));
            offset = chunk.next;
        }
        if text.contains(expected) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no {expected:?} after typing {line:?}; console:\n{}",
            view.console().text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Attaches `vm console` as the lab shell does, runs a command in the
/// guest's shell, interrupts a sleep with Ctrl-C and detaches with Ctrl-].
async fn console_round_trip(vm: &VmCommand) {
    let (keys_tx, keys_rx) = mpsc::channel(16);
    let (stdout, mut out_rx) = CommandOutput::channel(256);
    let (stderr, _err_rx) = CommandOutput::channel(16);
    let console = async {
        let args = vec!["console".to_owned()];
        let env = BTreeMap::new();
        let invocation = Invocation {
            args: &args,
            stdin: None,
            stdout,
            stderr,
            env: &env,
            files: &NoFiles,
            cancel: CancellationToken::new(),
            keys: Some(keys_rx),
            columns: 80,
        };
        vm.run(invocation).await
    };
    let student = async {
        let mut seen = String::new();
        let mut read_until = async |needle: &str| {
            let wait = async {
                while !seen.contains(needle) {
                    let Some(chunk) = out_rx.recv().await else {
                        return;
                    };
                    seen.push_str(&String::from_utf8_lossy(&chunk));
                }
            };
            let _ = tokio::time::timeout(SHELL_PATIENCE, wait).await;
            assert!(seen.contains(needle), "no {needle:?} in:\n{seen}");
        };
        read_until("attached to the linux guest").await;
        keys_tx.send(b"sleep 600\r".to_vec()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        keys_tx.send(vec![0x03]).await.unwrap();
        keys_tx.send(b"echo at-$((6*7))\r".to_vec()).await.unwrap();
        read_until("at-42").await;
        keys_tx.send(vec![0x1d]).await.unwrap();
        read_until("[detached").await;
    };
    let (status, ()) = tokio::join!(console, student);
    assert_eq!(status, 0);
}

#[tokio::test]
async fn vm_start_linux_without_an_emulator_fails_fast_and_says_why() {
    let report = host_report();
    if report.can_boot_linux() {
        eprintln!(
            "not applicable: this host has {} and boots Linux on the micro-VMM; \
             see linux_boots_to_its_prompt_on_the_micro_vmm",
            report.virtualization
        );
        return;
    }
    let vm = VmCommand::new(Arc::new(KvmSession::default()));
    let started = Instant::now();
    let ran = run(&vm, "start linux").await;
    let took = started.elapsed();
    eprintln!("`vm start linux` refused in {took:?}: {}", ran.stderr);
    assert_eq!(ran.status, 1);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(ran.stderr.contains("VT-x/AMD-V") || ran.stderr.contains("/dev/kvm"));
    assert!(
        ran.stderr.contains("vm start linux --emulator qemu"),
        "{}",
        ran.stderr
    );
    assert!(linux_refusal(&report).is_some());
    assert!(vm.session().vm().is_none(), "no VM was created");
}

#[tokio::test]
async fn linux_boots_to_the_busybox_prompt_under_qemu() {
    let Some(qemu) = find_qemu() else {
        eprintln!("skipping: qemu-system-x86_64 is not installed (Debian: qemu-system-x86)");
        return;
    };
    let Some(artifacts) = artifacts().await else {
        return;
    };
    eprintln!(
        "booting {} under {}",
        artifacts.kernel_package,
        qemu.display()
    );
    let session = Arc::new(KvmSession::new(VmConfig::default()).with_linux_guest(artifacts));
    let vm = VmCommand::new(session.clone());
    let probe = KvmProbe::new(session.clone());

    let started = run(&vm, "start linux --emulator qemu").await;
    eprintln!("{}{}", started.stdout, started.stderr);
    assert_eq!(started.status, 0);
    assert!(started.stdout.contains("Type 2"), "{}", started.stdout);
    assert!(
        started.stdout.contains("shell prompt after"),
        "{}",
        started.stdout
    );

    let view = session.vm().expect("a VM");
    assert_eq!(view.hypervisor(), Hypervisor::Qemu);
    let banner = view.console().text();
    assert!(banner.contains("lab Linux guest"), "{banner}");
    let uname = type_and_expect(&view, "uname -sr\n", "Linux 6.").await;
    eprintln!("guest answered: {uname:?}");
    type_and_expect(&view, "cat /proc/mounts\n", "sysfs /sys").await;
    console_round_trip(&vm).await;

    let status = run(&vm, "status").await;
    eprintln!("{}", status.stdout);
    assert!(status.stdout.contains("QEMU"), "{}", status.stdout);
    assert!(
        status
            .stdout
            .contains("not available for the Type 2 emulator"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("shell prompt after"));

    let running = probe
        .check(&CheckSpec::VmRunning {
            guest: Some("linux".into()),
        })
        .await
        .unwrap();
    assert!(running.passed, "{running:?}");
    let exits = probe
        .check(&CheckSpec::ExitCount {
            counter: "total".into(),
            at_least: 0,
        })
        .await
        .unwrap();
    assert!(!exits.passed && exits.detail.contains("QEMU"), "{exits:?}");
    let hypervisor = probe
        .live_values(&LiveValueSpec::Vm {
            field: "hypervisor".into(),
        })
        .await
        .unwrap();
    assert_eq!(hypervisor, ["qemu"]);

    let stopped = run(&vm, "stop").await;
    assert_eq!(
        (stopped.status, stopped.stdout.as_str()),
        (0, "VM stopped.\n")
    );
    assert!(!view.is_alive());
}

#[tokio::test]
async fn the_guest_powering_off_under_qemu_ends_the_vm() {
    if find_qemu().is_none() {
        eprintln!("skipping: qemu-system-x86_64 is not installed (Debian: qemu-system-x86)");
        return;
    }
    let Some(artifacts) = artifacts().await else {
        return;
    };
    let session = KvmSession::new(VmConfig::default()).with_linux_guest(artifacts);
    let view = session.start_linux(Hypervisor::Qemu).unwrap();
    let booted = view.wait_for_banner(Duration::from_secs(120)).await;
    assert!(matches!(booted, lab_kvm::BannerWait::Seen(_)), "{booted:?}");
    view.send_input(b"poweroff -f\n");
    let reason = tokio::time::timeout(SHELL_PATIENCE, view.stopped())
        .await
        .expect("QEMU exits after poweroff");
    assert_eq!(reason, lab_kvm::StopReason::PoweredOff);
}

#[tokio::test]
async fn linux_boots_to_its_prompt_on_the_micro_vmm() {
    let report = host_report();
    if let Some(reason) = linux_refusal(&report) {
        eprintln!("not run: {reason}");
        return;
    }
    let Some(artifacts) = artifacts().await else {
        return;
    };
    let session = Arc::new(KvmSession::new(VmConfig::default()).with_linux_guest(artifacts));
    let vm = VmCommand::new(session.clone());
    let started = run(&vm, "start linux").await;
    eprintln!("{}{}", started.stdout, started.stderr);
    assert_eq!(started.status, 0);
    let view = session.vm().expect("a VM");
    assert_eq!(view.hypervisor(), Hypervisor::MicroVm);
    type_and_expect(&view, "uname -sr\n", "Linux 6.").await;
    let status = run(&vm, "status").await;
    assert!(status.stdout.contains("io_out"), "{}", status.stdout);
    assert!(view.counts().io_out > 0);
    let stopped = run(&vm, "stop").await;
    assert_eq!(stopped.status, 0);
}

/// Pids of processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

#[tokio::test]
async fn ending_the_session_kills_qemu() {
    if find_qemu().is_none() {
        eprintln!("skipping: qemu-system-x86_64 is not installed (Debian: qemu-system-x86)");
        return;
    }
    let Some(artifacts) = artifacts().await else {
        return;
    };
    // A kernel path of its own, so that other tests' QEMUs do not count.
    let own_kernel = std::env::temp_dir().join(format!("lab-kvm-drop-{}", std::process::id()));
    std::fs::copy(&artifacts.kernel, &own_kernel).unwrap();
    let artifacts = LinuxGuestArtifacts {
        kernel: own_kernel.clone(),
        ..artifacts
    };
    let needle = own_kernel.to_string_lossy().into_owned();

    let session = KvmSession::new(VmConfig::default()).with_linux_guest(artifacts);
    let view = session.start_linux(Hypervisor::Qemu).unwrap();
    // QEMU is forked before start_linux returns; give /proc a moment anyway
    // on a loaded machine, and say what the VM printed if it is gone.
    let mut running = processes_mentioning(&needle);
    for _ in 0..50 {
        if !running.is_empty() || !view.is_alive() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        running = processes_mentioning(&needle);
    }
    assert_eq!(
        running.len(),
        1,
        "one QEMU runs: {running:?}; VM alive: {}; state: {:?}; console:\n{}",
        view.is_alive(),
        session.stats(),
        view.console().text()
    );
    drop(session);
    assert!(!view.is_alive());
    let left = processes_mentioning(&needle);
    std::fs::remove_file(&own_kernel).unwrap();
    assert!(left.is_empty(), "QEMU outlived its session: {left:?}");
}

#[tokio::test]
async fn vm_start_linux_needs_prepared_artifacts() {
    let vm = VmCommand::new(Arc::new(KvmSession::default()));
    let ran = run(&vm, "start linux --emulator qemu").await;
    assert_eq!(ran.status, 1);
    assert!(ran.stderr.contains("lab images build"), "{}", ran.stderr);
}
