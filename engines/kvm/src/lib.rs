//! KVM engine: the lab's own micro-VMM on kvm-ioctls, its teaching guest,
//! and how both plug into the lab.
//!
//! - [`session`]: [`KvmSession`], a student session's VM slot; the command,
//!   the probe and the UI share it.
//! - [`vm`]: [`MicroVm`] builds a VM (guest memory, one vCPU in real mode,
//!   or a Linux guest in long mode) and owns its threads; [`VmView`] reads
//!   a running VM cheaply, whichever [`Hypervisor`] runs it.
//! - `vcpu` (private): the run loop on the vCPU thread and the signal
//!   that kicks it out of the guest.
//! - [`watchdog`]: start deadline, spin, exit-rate and not-answering checks.
//! - [`devices`]: the 16550 serial port, the CMOS and the power-off port,
//!   and the dispatch of port I/O and MMIO exits.
//! - [`control`]: keystrokes, stop requests and halted-vCPU wake-ups.
//! - [`console`]: the bounded, rate-limited console output buffer.
//! - [`stats`]: [`VcpuExitStats`], exit counters by reason.
//! - [`guest`]: the guest programs built from `content/guest/`.
//! - [`command`]: the lab shell's `vm` command.
//! - [`probe`]: the `vm_running`, `console_matches` and `exit_count` checks
//!   and `vm` live values.
//! - [`host`]: what `lab doctor` says about KVM on this host.
//! - [`linux`]: the Linux guest: its kernel and busybox initramfs prepared
//!   from Debian packages, its boot on the micro-VMM (64-bit Linux boot
//!   protocol, needs VT-x/AMD-V), and the same guest under QEMU as a
//!   Type 2 hosted emulator.

pub mod command;
pub mod console;
pub mod control;
pub mod devices;
pub mod error;
pub mod guest;
pub mod host;
pub mod linux;
pub mod probe;
pub mod session;
pub mod stats;
mod vcpu;
pub mod vm;
pub mod watchdog;

pub use command::VmCommand;
pub use console::{ConsoleBuffer, ConsoleChunk, ConsoleLimits};
pub use control::{StopReason, WatchdogVerdict};
pub use error::KvmError;
pub use guest::GuestProgram;
pub use host::{HardwareVirtualization, HostReport, KvmDevice, engine_status, host_report};
pub use linux::{
    GuestPrepError, GuestPrepProgress, LinuxGuestArtifacts, cached_linux_guest, prepare_linux_guest,
};
pub use probe::KvmProbe;
pub use session::{KvmSession, VmPanelData, linux_refusal};
pub use stats::{ExitCounter, ExitCounts, ExitReason, VcpuExitStats};
pub use vm::{BannerWait, Hypervisor, MicroVm, VmConfig, VmPhase, VmView};
pub use watchdog::WatchdogLimits;
