//! The lab shell's `vm` command: start the session's VM, show its state and
//! exit counters, attach to its serial console, stop it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use lab_engine_api::{CommandOutput, Invocation, ShellCommand};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::control::StopReason;
use crate::error::KvmError;
use crate::guest::GuestProgram;
use crate::linux::qemu::QEMU_START_DEADLINE;
use crate::session::KvmSession;
use crate::vm::{BannerWait, Hypervisor, VmPhase, VmView};

/// The byte Ctrl-] sends; it detaches from the console, as in telnet.
pub const DETACH_KEY: u8 = 0x1d;

/// How much earlier output `vm console` replays on attach, so the student
/// sees the prompt they are answering.
const REPLAY_BYTES: u64 = 2048;

/// Exit status for a usage error.
const EXIT_USAGE: i32 = 2;
/// Exit status when Ctrl-C interrupted the command.
const EXIT_INTERRUPTED: i32 = 130;

/// The `vm` command of one session's lab shell.
pub struct VmCommand {
    session: Arc<KvmSession>,
}

impl VmCommand {
    pub fn new(session: Arc<KvmSession>) -> Self {
        VmCommand { session }
    }

    pub fn session(&self) -> &Arc<KvmSession> {
        &self.session
    }
}

/// One `vm` subcommand and its help.
struct Subcommand {
    name: &'static str,
    usage: &'static str,
    summary: &'static str,
    details: &'static str,
}

const SUBCOMMANDS: [Subcommand; 4] = [
    Subcommand {
        name: "start",
        usage: "vm start [GUEST] | vm start linux [--emulator qemu]",
        summary: "boot a guest in a new VM (default: teaching)",
        details: "Creates a virtual machine with KVM: guest memory, one virtual CPU in\n\
                  16-bit real mode and a serial port, loads the guest program and runs it.\n\
                  Waits until the guest prints its banner, then returns.\n\
                  \n\
                  `vm start linux` boots a Debian Linux kernel with a busybox shell on the\n\
                  same micro-VMM, which needs a CPU with VT-x or AMD-V. With\n\
                  `--emulator qemu` the same kernel runs under QEMU instead: a Type 2\n\
                  (hosted) hypervisor that emulates the CPU in software, much slower, and\n\
                  invisible to the lab's exit counters.\n",
    },
    Subcommand {
        name: "status",
        usage: "vm status",
        summary: "show the VM's state, memory and VM exit counters",
        details: "Every time the guest touches a device (an I/O port, or an address with\n\
                  no memory behind it) or executes HLT, the CPU leaves the guest and the\n\
                  VMM handles the event: a VM exit. `vm status` shows how many of each\n\
                  kind happened and how long the CPU spent running the guest.\n",
    },
    Subcommand {
        name: "console",
        usage: "vm console",
        summary: "attach to the guest's serial console (Ctrl-] detaches)",
        details: "What you type goes to the guest's serial port, and what the guest\n\
                  prints appears here. Press Ctrl-] to detach; the VM keeps running.\n\
                  In a pipeline (`vm console | grep cpu`) it prints the output so far.\n",
    },
    Subcommand {
        name: "stop",
        usage: "vm stop",
        summary: "stop the VM and free its memory",
        details: "Stops the virtual CPU, even one stuck in a loop, and releases the VM.\n",
    },
];

fn find_subcommand(name: &str) -> Option<&'static Subcommand> {
    SUBCOMMANDS.iter().find(|sub| sub.name == name)
}

fn overview() -> String {
    let mut text = String::from(
        "Usage: vm COMMAND\n\nRun a tiny virtual machine on this server's KVM hypervisor.\n\n\
         Commands:\n",
    );
    for sub in &SUBCOMMANDS {
        text.push_str(&format!("  {:<9}{}\n", sub.name, sub.summary));
    }
    text.push_str("\nRun 'vm COMMAND --help' for more about a command.\n");
    text
}

fn subcommand_help(sub: &Subcommand) -> String {
    let mut text = format!("Usage: {}\n\n{}\n{}", sub.usage, sub.summary, sub.details);
    if sub.name == "start" {
        text.push_str("\nGuests:\n");
        for program in GuestProgram::ALL.iter().chain([&GuestProgram::LINUX]) {
            text.push_str(&format!("  {:<9}{}\n", program.name, program.summary));
        }
    }
    text
}

#[async_trait]
impl ShellCommand for VmCommand {
    fn name(&self) -> &str {
        "vm"
    }

    fn summary(&self) -> &str {
        "start, inspect and talk to a tiny KVM virtual machine"
    }

    fn help(&self, topic: &[String]) -> String {
        match topic.first().and_then(|name| find_subcommand(name)) {
            Some(sub) => subcommand_help(sub),
            None => overview(),
        }
    }

    fn complete(&self, before: &[String], partial: &str) -> Vec<String> {
        let words: Vec<&str> = before
            .iter()
            .map(String::as_str)
            .skip_while(|word| *word == "vm")
            .collect();
        let candidates: Vec<&str> = match words.as_slice() {
            [] => SUBCOMMANDS
                .iter()
                .map(|sub| sub.name)
                .chain(["--help"])
                .collect(),
            ["start"] => GuestProgram::ALL
                .iter()
                .chain([&GuestProgram::LINUX])
                .map(|program| program.name)
                .collect(),
            ["start", "linux"] => vec!["--emulator"],
            ["start", "linux", "--emulator"] => vec!["qemu"],
            _ => Vec::new(),
        };
        candidates
            .into_iter()
            .filter(|candidate| candidate.starts_with(partial))
            .map(str::to_owned)
            .collect()
    }

    async fn run(&self, invocation: Invocation<'_>) -> i32 {
        let Some((name, rest)) = invocation.args.split_first() else {
            return write_out(&invocation.stdout, overview(), 0).await;
        };
        if matches!(name.as_str(), "--help" | "-h" | "help") {
            return write_out(&invocation.stdout, overview(), 0).await;
        }
        let Some(sub) = find_subcommand(name) else {
            let message = format!("vm: unknown command `{name}`; run `vm --help`\n");
            return write_out(&invocation.stderr, message, EXIT_USAGE).await;
        };
        if rest.iter().any(|arg| arg == "--help" || arg == "-h") {
            return write_out(&invocation.stdout, subcommand_help(sub), 0).await;
        }

        let span = tracing::debug_span!("vm_command", sub = sub.name);
        let _entered = span.enter();
        match sub.name {
            "start" => self.start(rest, &invocation).await,
            "status" => self.status(rest, &invocation).await,
            "console" => self.console(rest, invocation).await,
            _ => self.stop(rest, &invocation).await,
        }
    }
}

impl VmCommand {
    async fn start(&self, args: &[String], inv: &Invocation<'_>) -> i32 {
        let target = match parse_start(args) {
            Ok(target) => target,
            Err(message) => return write_out(&inv.stderr, message, EXIT_USAGE).await,
        };

        let session = self.session.clone();
        let started = tokio::task::spawn_blocking(move || match target {
            StartTarget::Program(program) => session.start(program),
            StartTarget::Linux(hypervisor) => session.start_linux(hypervisor),
        })
        .await;
        let view = match started {
            Ok(Ok(view)) => view,
            Ok(Err(error)) => return start_failed(&error, inv).await,
            Err(join_error) => {
                tracing::error!(%join_error, "VM start task failed");
                return write_out(&inv.stderr, "vm start: internal error\n", 1).await;
            }
        };
        let _ = inv.stdout.write(start_intro(&view)).await;
        self.report_boot(&view, inv).await
    }

    async fn report_boot(&self, view: &VmView, inv: &Invocation<'_>) -> i32 {
        // The watchdog enforces the start deadline; wait a little longer so
        // its verdict is what the student reads.
        let deadline = match view.hypervisor() {
            Hypervisor::MicroVm => self.session.config().watchdog.start_deadline,
            Hypervisor::Qemu => QEMU_START_DEADLINE,
        };
        let patience = deadline + Duration::from_secs(1);
        let outcome = tokio::select! {
            outcome = view.wait_for_banner(patience) => outcome,
            () = inv.cancel.cancelled() => {
                let _ = inv.stdout.line("Still booting; `vm status` shows how it goes.").await;
                return EXIT_INTERRUPTED;
            }
        };
        match outcome {
            BannerWait::Seen(boot) => {
                let message = format!(
                    "The guest printed its {} after {}. Attach with `vm console` \
                     (Ctrl-] detaches).\n",
                    banner_word(view),
                    human_duration(boot)
                );
                write_out(&inv.stdout, message, 0).await
            }
            BannerWait::Stopped(reason) => {
                let message = format!("vm start: the VM stopped before its banner: {reason}\n");
                write_out(&inv.stderr, message, 1).await
            }
            BannerWait::TimedOut => {
                let message = "vm start: no banner yet; see `vm status`\n";
                write_out(&inv.stderr, message, 1).await
            }
        }
    }

    async fn status(&self, args: &[String], inv: &Invocation<'_>) -> i32 {
        if !args.is_empty() {
            return write_out(&inv.stderr, "vm status: takes no arguments\n", EXIT_USAGE).await;
        }
        match self.session.vm() {
            Some(view) => write_out(&inv.stdout, status_text(&view), 0).await,
            None => {
                let message = "No VM in this session. Start one with `vm start`.\n";
                write_out(&inv.stdout, message, 1).await
            }
        }
    }

    async fn console(&self, args: &[String], mut inv: Invocation<'_>) -> i32 {
        if !args.is_empty() {
            return write_out(&inv.stderr, "vm console: takes no arguments\n", EXIT_USAGE).await;
        }
        let Some(view) = self.session.vm() else {
            let message = "vm console: no VM in this session; start one with `vm start`\n";
            return write_out(&inv.stderr, message, 1).await;
        };
        let Some(keys) = inv.keys.take() else {
            // Not in the foreground (a pipeline): print what is there.
            return write_out(&inv.stdout, view.console().text(), 0).await;
        };
        if let VmPhase::Stopped(reason) = view.phase() {
            let _ = inv.stdout.write(view.console().text()).await;
            let message = format!("\nvm console: the VM has stopped ({reason})\n");
            return write_out(&inv.stderr, message, 1).await;
        }
        let banner = format!(
            "[attached to the {} guest's serial console; Ctrl-] detaches]\r\n",
            view.program().name
        );
        let _ = inv.stdout.write(banner).await;
        let attach = ConsoleAttachment {
            view: &view,
            stdout: &inv.stdout,
            cancel: &inv.cancel,
        };
        attach.run(keys).await
    }

    async fn stop(&self, args: &[String], inv: &Invocation<'_>) -> i32 {
        if !args.is_empty() {
            return write_out(&inv.stderr, "vm stop: takes no arguments\n", EXIT_USAGE).await;
        }
        let session = self.session.clone();
        match tokio::task::spawn_blocking(move || session.stop()).await {
            Ok(Some(StopReason::Requested)) => write_out(&inv.stdout, "VM stopped.\n", 0).await,
            Ok(Some(reason)) => {
                let message = format!("The VM had already stopped: {reason}. Cleared it.\n");
                write_out(&inv.stdout, message, 0).await
            }
            Ok(None) => write_out(&inv.stderr, "vm stop: no VM in this session\n", 1).await,
            Err(join_error) => {
                tracing::error!(%join_error, "VM stop task failed");
                write_out(&inv.stderr, "vm stop: internal error\n", 1).await
            }
        }
    }
}

/// What `vm start` boots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StartTarget {
    Program(GuestProgram),
    Linux(Hypervisor),
}

/// Reads `vm start`'s arguments: a guest name, and for `linux` an
/// optional `--emulator qemu`.
fn parse_start(args: &[String]) -> Result<StartTarget, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let (name, emulator) = match words.as_slice() {
        [] => return Ok(StartTarget::Program(GuestProgram::TEACHING)),
        [name] => (*name, None),
        [name, "--emulator", emulator] => (*name, Some(*emulator)),
        [name, flag] if flag.starts_with("--emulator=") => {
            (*name, flag.strip_prefix("--emulator="))
        }
        [_, "--emulator"] => return Err("vm start: --emulator needs a value: qemu\n".to_owned()),
        _ => return Err("vm start: too many arguments; see `vm start --help`\n".to_owned()),
    };
    if name == GuestProgram::LINUX.name {
        return match emulator {
            None => Ok(StartTarget::Linux(Hypervisor::MicroVm)),
            Some("qemu") => Ok(StartTarget::Linux(Hypervisor::Qemu)),
            Some(other) => Err(format!(
                "vm start: unknown emulator `{other}`; the one available is qemu\n"
            )),
        };
    }
    let Some(program) = GuestProgram::by_name(name) else {
        let known: Vec<&str> = GuestProgram::ALL
            .iter()
            .chain([&GuestProgram::LINUX])
            .map(|p| p.name)
            .collect();
        return Err(format!(
            "vm start: unknown guest `{name}`; choose one of: {}\n",
            known.join(", ")
        ));
    };
    match emulator {
        None => Ok(StartTarget::Program(program)),
        Some(_) => Err(format!(
            "vm start: --emulator applies to the linux guest only, not {name}\n"
        )),
    }
}

async fn start_failed(error: &KvmError, inv: &Invocation<'_>) -> i32 {
    write_out(
        &inv.stderr,
        format!("vm start: {}\n", error_chain(error)),
        1,
    )
    .await
}

/// The line `vm start` prints once the VM exists.
fn start_intro(view: &VmView) -> String {
    let name = view.program().name;
    let memory = view.memory_mib();
    match (view.hypervisor(), name == GuestProgram::LINUX.name) {
        (Hypervisor::Qemu, _) => format!(
            "Starting the {name} guest under QEMU, a Type 2 hosted emulator \
             (software emulation, no KVM): {memory} MiB of memory, 1 vCPU.\n\
             Emulation is slow: the shell prompt takes tens of seconds.\n"
        ),
        (Hypervisor::MicroVm, true) => format!(
            "Starting the {name} guest on the micro-VMM: {memory} MiB of memory, 1 vCPU \
             entering the kernel in 64-bit mode.\n"
        ),
        (Hypervisor::MicroVm, false) => format!(
            "Starting the {name} guest: {memory} MiB of memory, 1 vCPU in 16-bit real mode.\n"
        ),
    }
}

/// What marks the end of a guest's boot.
fn banner_word(view: &VmView) -> &'static str {
    if view.program().name == GuestProgram::LINUX.name {
        "shell prompt"
    } else {
        "banner"
    }
}

/// An interactive `vm console`: keys to the guest, output to the pane.
struct ConsoleAttachment<'a> {
    view: &'a VmView,
    stdout: &'a CommandOutput,
    cancel: &'a CancellationToken,
}

/// Why an attachment ended.
enum Detach {
    /// Ctrl-], Ctrl-C, or the key stream closed.
    ByStudent,
    /// The pane went away.
    OutputClosed,
    /// The VM stopped.
    VmStopped(StopReason),
}

impl ConsoleAttachment<'_> {
    async fn run(&self, mut keys: mpsc::Receiver<Vec<u8>>) -> i32 {
        let console = self.view.console();
        let mut offset = console.end().saturating_sub(REPLAY_BYTES);
        let mut output = console.subscribe();
        let detach = loop {
            if !self.forward_output(&mut offset).await {
                break Detach::OutputClosed;
            }
            tokio::select! {
                () = self.cancel.cancelled() => break Detach::ByStudent,
                key = keys.recv() => {
                    let Some(bytes) = key else { break Detach::ByStudent };
                    if !self.type_keys(&bytes) {
                        break Detach::ByStudent;
                    }
                }
                changed = output.changed() => if changed.is_err() {
                    break Detach::VmStopped(StopReason::SessionEnded);
                },
                reason = self.view.stopped() => break Detach::VmStopped(reason),
            }
        };
        self.say_goodbye(detach, &mut offset).await
    }

    /// Sends keys to the guest up to a Ctrl-]; returns false on Ctrl-].
    fn type_keys(&self, bytes: &[u8]) -> bool {
        let (to_send, detach) = match bytes.iter().position(|&b| b == DETACH_KEY) {
            Some(at) => (&bytes[..at], true),
            None => (bytes, false),
        };
        let accepted = self.view.send_input(to_send);
        if accepted < to_send.len() {
            tracing::debug!(dropped = to_send.len() - accepted, "guest input queue full");
        }
        !detach
    }

    /// Copies new console output to the pane; false when the pane is gone.
    async fn forward_output(&self, offset: &mut u64) -> bool {
        loop {
            let chunk = self.view.console().read_from(*offset);
            if chunk.bytes.is_empty() {
                return true;
            }
            *offset = chunk.next;
            if self.stdout.write(chunk.bytes).await.is_err() {
                return false;
            }
        }
    }

    async fn say_goodbye(&self, detach: Detach, offset: &mut u64) -> i32 {
        match detach {
            Detach::ByStudent => {
                let message = "\r\n[detached; the VM keeps running]\r\n";
                write_out(self.stdout, message, 0).await
            }
            Detach::OutputClosed => 0,
            Detach::VmStopped(reason) => {
                self.forward_output(offset).await;
                write_out(
                    self.stdout,
                    format!("\r\n[the VM stopped: {reason}]\r\n"),
                    0,
                )
                .await
            }
        }
    }
}

/// The text of `vm status`.
fn status_text(view: &VmView) -> String {
    let phase = view.phase();
    let state = match &phase {
        VmPhase::Booting => format!("booting (for {})", human_duration(view.uptime())),
        VmPhase::Running => format!("running (up {})", human_duration(view.uptime())),
        VmPhase::Stopped(reason) => format!("stopped: {reason}"),
    };
    let boot = view
        .boot_time()
        .map(|boot| format!("{} after {}", banner_word(view), human_duration(boot)))
        .unwrap_or_else(|| format!("no {} yet", banner_word(view)));
    let console = view.console();
    let exits = if view.hypervisor().counts_exits() {
        format!("VM exits:\n{}", view.counts())
    } else {
        "VM exits: not available for the Type 2 emulator. QEMU runs the guest inside its\n\
         own process, translating instructions in software, so no VM exit ever reaches\n\
         the lab to be counted."
            .to_owned()
    };
    format!(
        "guest:      {}\nhypervisor: {}\nstate:      {state}\nboot:       {boot}\n\
         memory:     {} MiB, 1 vCPU\n\
         console:    {} bytes written, {} dropped by the rate limit\n{exits}\n",
        view.program().name,
        view.hypervisor().description(),
        view.memory_mib(),
        console.end(),
        console.dropped(),
    )
}

/// "12 ms", "3.4 s", "2 min 5 s".
fn human_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis} ms")
    } else if millis < 60_000 {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        let secs = duration.as_secs();
        format!("{} min {} s", secs / 60, secs % 60)
    }
}

/// The error and its causes on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Writes `text` and returns `status`; a closed output changes nothing
/// (the reader is gone, and so is anyone who would read an error).
async fn write_out(output: &CommandOutput, text: impl Into<String>, status: i32) -> i32 {
    let _ = output.write(text.into()).await;
    status
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn command() -> VmCommand {
        VmCommand::new(Arc::new(KvmSession::default()))
    }

    #[test]
    fn completes_subcommands_and_guest_names() {
        let vm = command();
        assert_eq!(vm.complete(&[], "st"), ["start", "status", "stop"]);
        assert_eq!(vm.complete(&["vm".to_owned()], "c"), ["console"]);
        assert_eq!(
            vm.complete(&["start".to_owned()], ""),
            ["teaching", "spin", "linux"]
        );
        let linux = [
            "start".to_owned(),
            "linux".to_owned(),
            "--emulator".to_owned(),
        ];
        assert_eq!(vm.complete(&linux, ""), ["qemu"]);
        assert!(vm.complete(&["stop".to_owned()], "").is_empty());
    }

    #[test]
    fn help_covers_every_subcommand_and_lists_guests_for_start() {
        let vm = command();
        let overview = vm.help(&[]);
        for sub in &SUBCOMMANDS {
            assert!(overview.contains(sub.name));
        }
        let start = vm.help(&["start".to_owned()]);
        assert!(
            start.contains("teaching") && start.contains("spin"),
            "{start}"
        );
    }

    #[test]
    fn start_arguments_choose_the_guest_and_the_hypervisor() {
        let parse = |line: &str| {
            let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
            parse_start(&args)
        };
        assert_eq!(parse(""), Ok(StartTarget::Program(GuestProgram::TEACHING)));
        assert_eq!(parse("spin"), Ok(StartTarget::Program(GuestProgram::SPIN)));
        assert_eq!(parse("linux"), Ok(StartTarget::Linux(Hypervisor::MicroVm)));
        assert_eq!(
            parse("linux --emulator qemu"),
            Ok(StartTarget::Linux(Hypervisor::Qemu))
        );
        assert_eq!(
            parse("linux --emulator=qemu"),
            Ok(StartTarget::Linux(Hypervisor::Qemu))
        );
        assert!(parse("linux --emulator bochs").is_err());
        assert!(parse("linux --emulator").is_err());
        assert!(parse("teaching --emulator qemu").is_err());
        assert!(parse("dos").unwrap_err().contains("linux"));
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(12)), "12 ms");
        assert_eq!(human_duration(Duration::from_millis(3_400)), "3.4 s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2 min 5 s");
    }
}
