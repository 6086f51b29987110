//! Drives the `vm` lab shell command and the KVM probe the way the lab
//! does, against the real `/dev/kvm`.
//!
//! When `/dev/kvm` cannot be used, each test prints why and returns.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use lab_engine_api::{
    CheckSpec, CommandOutput, Invocation, LiveValueSpec, Probe, ScratchFiles, ShellCommand,
};
use lab_kvm::{KvmProbe, KvmSession, VmCommand, host_report};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const PATIENCE: Duration = Duration::from_secs(20);

fn kvm_usable() -> bool {
    let report = host_report();
    if !report.can_run_guests() {
        eprintln!("skipping: /dev/kvm is not usable here: {:?}", report.device);
        return false;
    }
    true
}

struct NoFiles;

impl ScratchFiles for NoFiles {
    fn read(&self, _path: &str) -> Option<Vec<u8>> {
        None
    }
}

/// What one command run printed.
struct Ran {
    status: i32,
    stdout: String,
    stderr: String,
}

async fn run(vm: &VmCommand, line: &str) -> Ran {
    let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    let (stdout, mut out_rx) = CommandOutput::channel(64);
    let (stderr, mut err_rx) = CommandOutput::channel(64);
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

/// Collects console output from `rx` until it contains `needle`.
async fn read_until(rx: &mut mpsc::Receiver<Vec<u8>>, seen: &mut String, needle: &str) {
    let wait = async {
        while !seen.contains(needle) {
            let Some(chunk) = rx.recv().await else { return };
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    if tokio::time::timeout(PATIENCE, wait).await.is_err() || !seen.contains(needle) {
        panic!("no {needle:?} in the console output:\n{seen}");
    }
}

async fn passes(probe: &KvmProbe, spec: CheckSpec) -> bool {
    let outcome = probe.check(&spec).await.expect("the probe answers");
    eprintln!("{spec:?}: {outcome:?}");
    outcome.passed
}

#[tokio::test]
async fn student_starts_types_at_the_console_checks_pass_and_stops() {
    if !kvm_usable() {
        return;
    }
    let session = Arc::new(KvmSession::default());
    let vm = VmCommand::new(session.clone());
    let probe = KvmProbe::new(session.clone());
    assert!(!passes(&probe, CheckSpec::VmRunning { guest: None }).await);

    let started = run(&vm, "start").await;
    assert_eq!(started.status, 0, "{}{}", started.stdout, started.stderr);
    assert!(
        started.stdout.contains("printed its banner"),
        "{}",
        started.stdout
    );
    assert!(
        passes(
            &probe,
            CheckSpec::VmRunning {
                guest: Some("teaching".into())
            }
        )
        .await
    );
    assert!(
        !passes(
            &probe,
            CheckSpec::VmRunning {
                guest: Some("spin".into())
            }
        )
        .await
    );
    let io_out_before = probe
        .live_values(&LiveValueSpec::Vm {
            field: "io_out".into(),
        })
        .await;
    let io_out_before: u64 = io_out_before.unwrap()[0].parse().unwrap();

    // Attach, type a command, read the answer, detach with Ctrl-].
    let (keys_tx, keys_rx) = mpsc::channel(16);
    let (stdout, mut out_rx) = CommandOutput::channel(256);
    let (stderr, _err_rx) = CommandOutput::channel(16);
    let session_for_console = session.clone();
    let console = tokio::spawn(async move {
        let vm = VmCommand::new(session_for_console);
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
    });
    let mut seen = String::new();
    read_until(&mut out_rx, &mut seen, "guest> ").await;
    keys_tx.send(b"cpuid\r".to_vec()).await.unwrap();
    read_until(&mut out_rx, &mut seen, "highest leaf 0x").await;
    keys_tx.send(vec![0x1d]).await.unwrap();
    let status = tokio::time::timeout(PATIENCE, console)
        .await
        .expect("detaches")
        .unwrap();
    assert_eq!(status, 0);
    read_until(&mut out_rx, &mut seen, "[detached").await;

    assert!(
        passes(
            &probe,
            CheckSpec::ConsoleMatches {
                pattern: r"vendor \w+".into()
            }
        )
        .await
    );
    let spec = CheckSpec::ExitCount {
        counter: "io_out".into(),
        at_least: io_out_before + 10,
    };
    assert!(
        passes(&probe, spec).await,
        "typing and answers are port output"
    );
    assert!(
        passes(
            &probe,
            CheckSpec::ExitCount {
                counter: "hlt".into(),
                at_least: 2
            }
        )
        .await
    );
    let figures = probe.figures();
    assert_eq!(figures.get("state").map(String::as_str), Some("running"));
    assert!(
        figures.contains_key("io_out") && figures.contains_key("boot_ms"),
        "{figures:?}"
    );
    let twice = run(&vm, "start").await;
    assert_eq!(twice.status, 1);
    assert!(twice.stderr.contains("already running"), "{}", twice.stderr);
    let memory = probe
        .live_values(&LiveValueSpec::Vm {
            field: "memory_mib".into(),
        })
        .await;
    assert_eq!(memory.unwrap(), ["2"]);

    let status = run(&vm, "status").await;
    assert_eq!(status.status, 0);
    assert!(
        status.stdout.contains("state:      running"),
        "{}",
        status.stdout
    );
    assert!(status.stdout.contains("io_out"), "{}", status.stdout);

    // In a pipeline, `vm console` prints what is there.
    let piped = run(&vm, "console").await;
    assert!(piped.stdout.contains("cpuid leaf 0"), "{}", piped.stdout);

    let stopped = run(&vm, "stop").await;
    assert_eq!(
        (stopped.status, stopped.stdout.as_str()),
        (0, "VM stopped.\n")
    );
    assert!(!passes(&probe, CheckSpec::VmRunning { guest: None }).await);
    let again = run(&vm, "stop").await;
    assert_eq!(again.status, 1, "nothing left to stop: {}", again.stderr);
}

#[tokio::test]
async fn usage_errors_say_what_is_wrong() {
    let vm = VmCommand::new(Arc::new(KvmSession::default()));
    let unknown = run(&vm, "reboot").await;
    assert_eq!(unknown.status, 2);
    assert!(
        unknown.stderr.contains("unknown command `reboot`"),
        "{}",
        unknown.stderr
    );
    let guest = run(&vm, "start dos").await;
    assert_eq!(guest.status, 2);
    assert!(
        guest.stderr.contains("teaching, spin, linux"),
        "{}",
        guest.stderr
    );
    let help = run(&vm, "console --help").await;
    assert!(help.stdout.contains("Ctrl-]"), "{}", help.stdout);
    let status = run(&vm, "status").await;
    assert_eq!(status.status, 1);
}

#[tokio::test]
async fn start_reports_a_guest_the_watchdog_stopped() {
    if !kvm_usable() {
        return;
    }
    let vm = VmCommand::new(Arc::new(KvmSession::default()));
    let started = run(&vm, "start spin").await;
    assert_eq!(
        started.status, 0,
        "the spin guest prints its banner: {}",
        started.stderr
    );
    let watchdog = lab_kvm::WatchdogLimits::default();
    tokio::time::sleep(watchdog.spin_limit + Duration::from_secs(1)).await;
    let status = run(&vm, "status").await;
    assert!(
        status.stdout.contains("stopped by the watchdog"),
        "{}",
        status.stdout
    );
    let restarted = run(&vm, "start").await;
    assert_eq!(
        restarted.status, 0,
        "a stopped VM makes way: {}",
        restarted.stderr
    );
}

/// Starts `vm console` in the foreground with its own key stream.
fn attach(
    session: &Arc<KvmSession>,
    cancel: CancellationToken,
) -> (
    mpsc::Sender<Vec<u8>>,
    mpsc::Receiver<Vec<u8>>,
    tokio::task::JoinHandle<i32>,
) {
    let (keys_tx, keys_rx) = mpsc::channel(16);
    let (stdout, out_rx) = CommandOutput::channel(256);
    let (stderr, _) = CommandOutput::channel(16);
    let vm = VmCommand::new(session.clone());
    let task = tokio::spawn(async move {
        let args = vec!["console".to_owned()];
        let env = BTreeMap::new();
        let invocation = Invocation {
            args: &args,
            stdin: None,
            stdout,
            stderr,
            env: &env,
            files: &NoFiles,
            cancel,
            keys: Some(keys_rx),
            columns: 80,
        };
        vm.run(invocation).await
    });
    (keys_tx, out_rx, task)
}

#[tokio::test]
async fn console_detaches_on_ctrl_c_and_when_the_keys_stop() {
    if !kvm_usable() {
        return;
    }
    let session = Arc::new(KvmSession::default());
    let vm = VmCommand::new(session.clone());
    assert_eq!(run(&vm, "start").await.status, 0);

    let cancel = CancellationToken::new();
    let (_keys, mut out, task) = attach(&session, cancel.clone());
    let mut seen = String::new();
    read_until(&mut out, &mut seen, "guest> ").await;
    cancel.cancel();
    assert_eq!(
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("detaches")
            .unwrap(),
        0
    );

    let (keys, mut out, task) = attach(&session, CancellationToken::new());
    let mut seen = String::new();
    read_until(&mut out, &mut seen, "guest> ").await;
    drop(keys);
    assert_eq!(
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("detaches")
            .unwrap(),
        0
    );
    read_until(&mut out, &mut seen, "[detached").await;
}

#[tokio::test]
async fn console_ends_when_the_guest_powers_off() {
    if !kvm_usable() {
        return;
    }
    let session = Arc::new(KvmSession::default());
    let vm = VmCommand::new(session.clone());
    assert_eq!(run(&vm, "start").await.status, 0);

    let (keys, mut out, task) = attach(&session, CancellationToken::new());
    let mut seen = String::new();
    read_until(&mut out, &mut seen, "guest> ").await;
    keys.send(b"halt\r".to_vec()).await.unwrap();
    assert_eq!(
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("ends")
            .unwrap(),
        0
    );
    read_until(
        &mut out,
        &mut seen,
        "[the VM stopped: the guest powered off]",
    )
    .await;
    assert!(seen.contains("powering off"), "{seen}");
}
