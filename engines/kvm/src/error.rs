//! The engine's error type: one variant per operation that can fail.

use kvm_ioctls::Error as KvmIoctlError;

/// Why starting or driving a VM failed.
#[derive(Debug, thiserror::Error)]
pub enum KvmError {
    /// `/dev/kvm` could not be opened.
    #[error("failed to open /dev/kvm")]
    OpenKvm(#[source] KvmIoctlError),
    /// The kernel speaks a KVM API version this VMM does not know.
    #[error("KVM API version {found} is not the stable version {expected}")]
    ApiVersion { found: i32, expected: i32 },
    #[error("failed to create a KVM virtual machine")]
    CreateVm(#[source] KvmIoctlError),
    #[error("failed to set the VM's TSS address")]
    SetTssAddress(#[source] KvmIoctlError),
    /// The requested memory size is outside what this VMM supports.
    #[error("guest memory of {mib} MiB is outside the supported 1..={max} MiB")]
    MemorySize { mib: u32, max: u32 },
    #[error("failed to allocate {bytes} bytes of guest memory")]
    AllocateMemory {
        bytes: usize,
        #[source]
        source: vm_memory::mmap::FromRangesError,
    },
    #[error("failed to find the host address of guest memory")]
    HostAddress(#[source] vm_memory::GuestMemoryError),
    #[error("failed to register guest memory with KVM")]
    RegisterMemory(#[source] KvmIoctlError),
    #[error("failed to load guest program `{name}` at {address:#x}")]
    LoadGuest {
        name: &'static str,
        address: u64,
        #[source]
        source: vm_memory::GuestMemoryError,
    },
    #[error("failed to create vCPU 0")]
    CreateVcpu(#[source] KvmIoctlError),
    #[error("failed to read the CPUID leaves KVM supports")]
    SupportedCpuid(#[source] KvmIoctlError),
    #[error("failed to set the vCPU's CPUID leaves")]
    SetCpuid(#[source] KvmIoctlError),
    #[error("failed to read the vCPU's segment registers")]
    GetSregs(#[source] KvmIoctlError),
    #[error("failed to set the vCPU's segment registers")]
    SetSregs(#[source] KvmIoctlError),
    #[error("failed to set the vCPU's registers")]
    SetRegs(#[source] KvmIoctlError),
    #[error("failed to install the signal handler that kicks vCPUs")]
    KickHandler(#[source] KvmIoctlError),
    #[error("failed to start the {thread} thread")]
    SpawnThread {
        thread: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The session already has a VM that has not stopped.
    #[error("a VM ({guest}) is already running in this session; run `vm stop` first")]
    AlreadyRunning { guest: &'static str },
    /// `vm start linux` on the micro-VMM where it cannot work; the text
    /// says why and what to use instead.
    #[error("{reason}")]
    LinuxNeedsHardwareVirtualization { reason: String },
    /// No kernel and initramfs have been prepared for this session.
    #[error("the Linux guest is not prepared on this server: run `lab images build` first")]
    LinuxGuestNotPrepared,
    #[error("QEMU is not installed (qemu-system-x86_64); install Debian's qemu-system-x86")]
    EmulatorMissing,
    #[error("failed to start the emulator {program}")]
    StartEmulator {
        program: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read the Linux guest's {what} at {path}")]
    ReadLinuxArtifact {
        what: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to set up the Linux boot")]
    LinuxBoot(#[source] crate::linux::boot::BootError),
    #[error("failed to create the in-kernel interrupt controller")]
    CreateIrqChip(#[source] KvmIoctlError),
    #[error("failed to create the in-kernel timer (PIT)")]
    CreatePit(#[source] KvmIoctlError),
    #[error("failed to wire the serial port's interrupt")]
    WireSerialIrq(#[source] KvmIoctlError),
    #[error("failed to set up the vCPU's local APIC or FPU")]
    SetupVcpuState(#[source] KvmIoctlError),
    /// The session is shutting down and starts nothing new.
    #[error("the session is ending")]
    SessionEnding,
}
