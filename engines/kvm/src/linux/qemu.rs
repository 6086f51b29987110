//! The Linux guest under QEMU: a Type 2 (hosted) hypervisor next to the
//! micro-VMM. QEMU runs as an ordinary child process with pure software
//! emulation (TCG), its serial port on its standard input and output,
//! which the lab wires to the same console buffer and input queue as a
//! micro-VM's UART. So `vm console`, `vm status` and the checks work the
//! same; only the exit counters are missing, because no exit of this guest
//! ever reaches the lab.
//!
//! The lab runs one fixed binary with arguments it builds itself; nothing a
//! student types becomes part of the command line.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::control::{InputWait, StopReason, WatchdogVerdict};
use crate::error::KvmError;
use crate::guest::GuestProgram;
use crate::linux::artifacts::LinuxGuestArtifacts;
use crate::linux::boot::{LINUX_MEMORY_MIB, kernel_command_line};
use crate::vm::{Hypervisor, VmConfig, VmShared, VmView, new_shared};

/// Where Debian installs QEMU; the lab runs no other binary.
pub const QEMU_BINARIES: [&str; 2] = [
    "/usr/bin/qemu-system-x86_64",
    "/usr/local/bin/qemu-system-x86_64",
];

/// Emulation is slow: the shell prompt may take half a minute on a busy
/// two-core machine.
pub const QEMU_START_DEADLINE: Duration = Duration::from_secs(120);

/// How long QEMU may take to exit after closing its output.
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// How often the input thread looks at the start deadline.
const TICK: Duration = Duration::from_millis(250);
/// QEMU's last words kept for the error message when it fails.
const STDERR_KEEP: usize = 2048;

/// The QEMU binary, if installed.
pub fn find_qemu() -> Option<PathBuf> {
    QEMU_BINARIES
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// QEMU's arguments: TCG only, no display or monitor, the serial port on
/// stdio, no reboot (a reboot request ends the process), small memory.
pub fn qemu_arguments(artifacts: &LinuxGuestArtifacts) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "-accel",
        "tcg",
        "-m",
        &LINUX_MEMORY_MIB.to_string(),
        "-smp",
        "1",
        "-nodefaults",
        "-display",
        "none",
        "-monitor",
        "none",
        "-serial",
        "stdio",
        "-no-reboot",
        "-append",
        &kernel_command_line(),
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push("-kernel".into());
    args.push(artifacts.kernel.clone().into_os_string());
    args.push("-initrd".into());
    args.push(artifacts.initramfs.clone().into_os_string());
    args
}

/// A Linux guest running under QEMU. Dropping it kills QEMU and joins the
/// threads that pump its console.
#[derive(Debug)]
pub struct HostedVm {
    view: VmView,
    child: Arc<Mutex<Child>>,
    threads: Vec<JoinHandle<()>>,
}

/// QEMU's pipes, taken from the child once.
struct Pipes {
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: ChildStderr,
}

impl HostedVm {
    /// Starts `qemu` on the prepared guest.
    pub fn start(
        qemu: &Path,
        artifacts: &LinuxGuestArtifacts,
        config: &VmConfig,
    ) -> Result<HostedVm, KvmError> {
        let linux_config = VmConfig {
            memory_mib: LINUX_MEMORY_MIB,
            ..*config
        };
        let shared = Arc::new(new_shared(
            GuestProgram::LINUX,
            Hypervisor::Qemu,
            &linux_config,
        ));
        let stderr_tail = Arc::new(Mutex::new(String::new()));
        let (console_thread, child, pipes) = start_console_thread(
            qemu.to_owned(),
            artifacts.clone(),
            shared.clone(),
            stderr_tail.clone(),
        )?;
        let mut vm = HostedVm {
            view: VmView {
                shared: shared.clone(),
            },
            child: child.clone(),
            threads: vec![console_thread],
        };
        let spawned = [
            spawn_named("qemu-stderr", move || {
                keep_stderr(pipes.stderr, &stderr_tail)
            }),
            spawn_named("qemu-input", move || {
                pump_input(pipes.stdin, &shared, &child)
            }),
        ];
        for thread in spawned {
            match thread {
                Ok(handle) => vm.threads.push(handle),
                // Dropping `vm` kills QEMU and joins what did start.
                Err(error) => return Err(error),
            }
        }
        tracing::info!("QEMU started the Linux guest");
        Ok(vm)
    }

    pub fn view(&self) -> &VmView {
        &self.view
    }

    /// Kills QEMU (if it still runs) and joins the console threads; returns
    /// why the guest stopped.
    pub fn stop(mut self, reason: StopReason) -> StopReason {
        self.shutdown(reason);
        self.view
            .shared
            .stopped
            .borrow()
            .clone()
            .unwrap_or(StopReason::Requested)
    }

    fn shutdown(&mut self, reason: StopReason) {
        self.view.shared.control.request_stop(reason);
        kill(&self.child);
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("a QEMU console thread panicked");
            }
        }
    }
}

impl Drop for HostedVm {
    fn drop(&mut self) {
        self.shutdown(StopReason::SessionEnded);
    }
}

/// QEMU's standard input and error, for the threads beside the console.
struct OtherPipes {
    stdin: ChildStdin,
    stderr: ChildStderr,
}

/// A started QEMU: the console thread that owns it, the process, and the
/// pipes the other threads use.
type StartedQemu = (JoinHandle<()>, Arc<Mutex<Child>>, OtherPipes);

/// Starts the console thread, which starts QEMU and then copies its
/// output until it exits. QEMU is started from that thread because the
/// kernel kills it (`PR_SET_PDEATHSIG`) when the thread that forked it
/// ends: so QEMU cannot outlive the lab even if the lab is killed, and no
/// short-lived worker thread takes it down early.
fn start_console_thread(
    qemu: PathBuf,
    artifacts: LinuxGuestArtifacts,
    shared: Arc<VmShared>,
    stderr_tail: Arc<Mutex<String>>,
) -> Result<StartedQemu, KvmError> {
    let (sender, receiver) = mpsc::sync_channel(1);
    let program = qemu.clone();
    let thread = spawn_named("qemu-console", move || {
        let (child, pipes) = match spawn_qemu(&qemu, &artifacts) {
            Ok(spawned) => spawned,
            Err(error) => {
                let _ = sender.send(Err(error));
                return;
            }
        };
        let child = Arc::new(Mutex::new(child));
        let others = OtherPipes {
            stdin: pipes.stdin,
            stderr: pipes.stderr,
        };
        if sender.send(Ok((child.clone(), others))).is_err() {
            kill(&child);
            let _ = lock(&child).wait();
            return;
        }
        pump_output(pipes.stdout, &shared, &child, &stderr_tail);
    })?;
    let started = receiver.recv();
    match started {
        Ok(Ok((child, others))) => Ok((thread, child, others)),
        Ok(Err(error)) => {
            let _ = thread.join();
            Err(error)
        }
        Err(_) => {
            let _ = thread.join();
            Err(KvmError::StartEmulator {
                program,
                source: std::io::Error::other("the QEMU console thread ended early"),
            })
        }
    }
}

fn spawn_qemu(qemu: &Path, artifacts: &LinuxGuestArtifacts) -> Result<(Child, Pipes), KvmError> {
    let mut command = Command::new(qemu);
    command
        .args(qemu_arguments(artifacts))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_clear();
    // SAFETY: the closure runs in the child between fork and exec. It only
    // calls prctl(2), which is async-signal-safe, allocates nothing and
    // touches no state shared with the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut child = command.spawn().map_err(|source| KvmError::StartEmulator {
        program: qemu.to_owned(),
        source,
    })?;
    tracing::debug!(pid = child.id(), "QEMU spawned");
    let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let (Some(stdin), Some(stdout), Some(stderr)) = pipes else {
        // Unreachable with all three set to `piped`; kill rather than leak.
        let _ = child.kill();
        let _ = child.wait();
        return Err(KvmError::StartEmulator {
            program: qemu.to_owned(),
            source: std::io::Error::other("QEMU's pipes were not created"),
        });
    };
    Ok((
        child,
        Pipes {
            stdin,
            stdout,
            stderr,
        },
    ))
}

fn spawn_named(
    name: &'static str,
    body: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, KvmError> {
    let span = tracing::info_span!("qemu", thread = name);
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            let _entered = span.enter();
            body();
        })
        .map_err(|source| KvmError::SpawnThread {
            thread: name,
            source,
        })
}

fn lock(child: &Mutex<Child>) -> MutexGuard<'_, Child> {
    // A `Child` has no invariant a panic could break.
    child
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn kill(child: &Mutex<Child>) {
    // Killing a process that has exited (but is not yet reaped) is
    // harmless; once reaped, std refuses instead of signalling a stranger.
    if let Err(error) = lock(child).kill() {
        tracing::debug!(%error, "killing QEMU");
    }
}

/// Copies the guest's serial output into the console until QEMU closes
/// it, then reaps QEMU and records why the guest stopped.
fn pump_output(
    mut stdout: ChildStdout,
    shared: &VmShared,
    child: &Mutex<Child>,
    stderr_tail: &Mutex<String>,
) {
    let mut buffer = [0u8; 4096];
    loop {
        match stdout.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => shared.console.push(&buffer[..read]),
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => {
                tracing::debug!(%error, "reading QEMU's output");
                break;
            }
        }
    }
    // QEMU closed its output: it is exiting, or has been killed.
    let status = reap(child);
    let reason = shared
        .control
        .stop_reason()
        .unwrap_or_else(|| match status {
            Ok(status) if status.success() => StopReason::PoweredOff,
            Ok(status) => {
                let tail = stderr_tail
                    .lock()
                    .map(|tail| tail.trim().to_owned())
                    .unwrap_or_default();
                StopReason::Failed(format!("QEMU exited with {status}: {tail}"))
            }
            Err(error) => StopReason::Failed(format!("waiting for QEMU failed: {error}")),
        });
    shared.finish(reason);
}

/// Waits for QEMU to exit, giving it [`EXIT_GRACE`] to do so by itself
/// (after a guest power-off) before killing it.
fn reap(child: &Mutex<Child>) -> std::io::Result<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + EXIT_GRACE;
    while std::time::Instant::now() < deadline {
        if let Some(status) = lock(child).try_wait()? {
            return Ok(status);
        }
        thread::sleep(Duration::from_millis(20));
    }
    kill(child);
    lock(child).wait()
}

/// Sends typed bytes to QEMU's serial port and enforces the start
/// deadline; ends when the VM stops.
fn pump_input(mut stdin: ChildStdin, shared: &VmShared, child: &Mutex<Child>) {
    loop {
        match shared.control.wait_for_input(TICK) {
            InputWait::Stop => return,
            InputWait::Input(bytes) => {
                if let Err(error) = stdin.write_all(&bytes).and_then(|()| stdin.flush()) {
                    tracing::debug!(%error, "QEMU's input closed");
                    return;
                }
            }
            InputWait::Idle => {
                let waited = shared.started_at.elapsed();
                if shared.console.banner_seen_at().is_none() && waited > QEMU_START_DEADLINE {
                    let verdict = WatchdogVerdict::NoBanner { waited };
                    tracing::warn!(%verdict, "QEMU guest stopped by its start deadline");
                    shared.control.request_stop(StopReason::Watchdog(verdict));
                    kill(child);
                    return;
                }
            }
        }
    }
}

/// Logs QEMU's error output and keeps its end for error messages.
fn keep_stderr(mut stderr: ChildStderr, tail: &Mutex<String>) {
    let mut buffer = [0u8; 1024];
    while let Ok(read) = stderr.read(&mut buffer) {
        if read == 0 {
            return;
        }
        let text = String::from_utf8_lossy(&buffer[..read]);
        tracing::debug!(stderr = %text.trim_end(), "QEMU");
        if let Ok(mut tail) = tail.lock() {
            tail.push_str(&text);
            if tail.len() > STDERR_KEEP {
                let cut = tail.len() - STDERR_KEEP;
                let cut = (cut..tail.len())
                    .find(|&at| tail.is_char_boundary(at))
                    .unwrap_or(tail.len());
                tail.drain(..cut);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_fixed_emulation_only_and_name_the_artifacts() {
        let artifacts = LinuxGuestArtifacts {
            kernel: PathBuf::from("/cache/vmlinuz"),
            initramfs: PathBuf::from("/cache/initramfs.cpio"),
            kernel_package: "linux-image-x 1".into(),
            input_hash: "h".into(),
        };
        let args: Vec<String> = qemu_arguments(&artifacts)
            .into_iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        let after = |flag: &str| {
            let at = args.iter().position(|arg| arg == flag).unwrap();
            args[at + 1].clone()
        };
        assert_eq!(after("-accel"), "tcg");
        assert_eq!(after("-serial"), "stdio");
        assert_eq!(after("-monitor"), "none");
        assert_eq!(after("-kernel"), "/cache/vmlinuz");
        assert_eq!(after("-initrd"), "/cache/initramfs.cpio");
        assert_eq!(after("-m"), LINUX_MEMORY_MIB.to_string());
        assert!(after("-append").starts_with("console=ttyS0"));
        assert!(args.contains(&"-no-reboot".to_owned()));
        assert!(!args.iter().any(|arg| arg.contains("kvm")), "{args:?}");
    }
}
