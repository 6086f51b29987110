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
    /// The session is shutting down and starts nothing new.
    #[error("the session is ending")]
    SessionEnding,
}
