//! One micro-VM: guest memory, one vCPU on its own thread, a serial port,
//! and a watchdog thread.
//!
//! [`MicroVm`] owns the threads and stops them when dropped; [`VmView`] is a
//! cheap, cloneable window on the running VM (counters, console, input) for
//! the lab shell, the probe and the UI.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use std::path::Path;

use kvm_bindings::{
    KVM_MAX_CPUID_ENTRIES, KVM_PIT_SPEAKER_DUMMY, kvm_fpu, kvm_pit_config,
    kvm_userspace_memory_region,
};
use kvm_ioctls::{Kvm, VcpuFd, VmFd};
use tokio::sync::watch;
use vm_memory::{Bytes, GuestAddress, GuestMemoryBackend, GuestMemoryMmap};
use vmm_sys_util::eventfd::EventFd;
use vmm_sys_util::signal::Killable;

use crate::console::{ConsoleBuffer, ConsoleLimits};
use crate::control::{StopReason, VcpuControl};
use crate::devices::{IoDispatch, SerialIrq};
use crate::error::KvmError;
use crate::guest::{GuestProgram, INITIAL_STACK, LOAD_ADDRESS};
use crate::linux::LinuxGuestArtifacts;
use crate::linux::boot::{self, LINUX_MEMORY_MIB, LoadedLinux};
use crate::stats::{ExitCounts, ExitReason, VcpuExitStats};
use crate::vcpu::{VcpuRunner, install_kick_handler, kick_signal};
use crate::watchdog::{self, WatchdogLimits};

/// The only KVM API version there has ever been (`KVM_API_VERSION`).
const KVM_API_VERSION: i32 = 12;
/// Where KVM may put the three pages of its real-mode TSS: just below 4 GiB,
/// far above this VM's RAM (the usual choice).
const TSS_ADDRESS: usize = 0xfffb_d000;
/// The largest guest this VMM builds; the teaching guest needs far less.
pub const MAX_MEMORY_MIB: u32 = 64;
const MIB: usize = 1024 * 1024;

/// How a VM is built and policed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmConfig {
    /// Guest RAM, from guest-physical address 0.
    pub memory_mib: u32,
    pub console: ConsoleLimits,
    pub watchdog: WatchdogLimits,
}

impl Default for VmConfig {
    fn default() -> Self {
        VmConfig {
            memory_mib: 2,
            console: ConsoleLimits::default(),
            watchdog: WatchdogLimits::default(),
        }
    }
}

impl VmConfig {
    fn memory_bytes(&self) -> Result<usize, KvmError> {
        let invalid = KvmError::MemorySize {
            mib: self.memory_mib,
            max: MAX_MEMORY_MIB,
        };
        if !(1..=MAX_MEMORY_MIB).contains(&self.memory_mib) {
            return Err(invalid);
        }
        usize::try_from(self.memory_mib)
            .ok()
            .and_then(|mib| mib.checked_mul(MIB))
            .ok_or(invalid)
    }
}

/// Which hypervisor runs a guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hypervisor {
    /// This crate's micro-VMM on the host kernel's KVM: the kernel is the
    /// hypervisor (Type 1 style) and every VM exit passes through the lab.
    MicroVm,
    /// QEMU with TCG, a hosted (Type 2) emulator: an ordinary program that
    /// translates guest instructions in software, in its own process.
    Qemu,
}

impl Hypervisor {
    /// A short name for status lines and live values.
    pub fn label(self) -> &'static str {
        match self {
            Hypervisor::MicroVm => "micro-vmm",
            Hypervisor::Qemu => "qemu",
        }
    }

    /// One line for `vm status`.
    pub fn description(self) -> &'static str {
        match self {
            Hypervisor::MicroVm => "the lab's micro-VMM on KVM (the host kernel is the hypervisor)",
            Hypervisor::Qemu => {
                "QEMU, a Type 2 hosted emulator (TCG software emulation in a child process)"
            }
        }
    }

    /// Whether the lab sees the guest's VM exits.
    pub fn counts_exits(self) -> bool {
        matches!(self, Hypervisor::MicroVm)
    }
}

/// Where a VM is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmPhase {
    /// Started; the banner has not appeared yet.
    Booting,
    /// The banner appeared and the guest has not stopped.
    Running,
    /// The vCPU thread has ended.
    Stopped(StopReason),
}

impl VmPhase {
    /// One word for status lines and live answers.
    pub fn label(&self) -> &'static str {
        match self {
            VmPhase::Booting => "booting",
            VmPhase::Running => "running",
            VmPhase::Stopped(_) => "stopped",
        }
    }
}

/// Tracks when the guest last made visible progress (I/O or HLT), for the
/// spin watchdog.
#[derive(Debug)]
pub(crate) struct GuestActivity {
    epoch: Instant,
    last_progress_ms: AtomicU64,
}

impl GuestActivity {
    fn new(epoch: Instant) -> Self {
        GuestActivity {
            epoch,
            last_progress_ms: AtomicU64::new(0),
        }
    }

    pub fn progress(&self) {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_progress_ms.store(now, Ordering::Relaxed);
    }

    pub fn since_progress(&self) -> Duration {
        let last = Duration::from_millis(self.last_progress_ms.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last)
    }
}

/// State shared by the vCPU thread, the watchdog and every [`VmView`].
#[derive(Debug)]
pub(crate) struct VmShared {
    pub program: GuestProgram,
    pub hypervisor: Hypervisor,
    pub memory_mib: u32,
    pub started_at: Instant,
    pub stats: VcpuExitStats,
    pub console: Arc<ConsoleBuffer>,
    pub control: Arc<VcpuControl>,
    pub activity: GuestActivity,
    /// Whether typed input reaches the guest through the UART's interrupt
    /// (a Linux guest with an in-kernel interrupt controller) rather than
    /// when it halts (the real-mode guests).
    pub input_by_interrupt: bool,
    /// Set once, when the vCPU thread ends.
    pub stopped: watch::Sender<Option<StopReason>>,
}

impl VmShared {
    /// Counts an exit that shows the guest is alive.
    pub fn record_progress(&self, reason: ExitReason) {
        self.stats.record(reason);
        self.activity.progress();
    }

    pub fn finish(&self, reason: StopReason) {
        tracing::info!(guest = self.program.name, %reason, "VM stopped");
        self.control.request_stop(reason.clone());
        self.stopped.send_replace(Some(reason));
        self.control.mark_vcpu_exited();
    }
}

/// How waiting for a guest's banner ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BannerWait {
    /// The banner appeared this long after the VM started.
    Seen(Duration),
    /// The VM stopped first.
    Stopped(StopReason),
    /// Neither happened in time.
    TimedOut,
}

/// A cheap, cloneable handle on a VM for reading its state, its console and
/// sending it input. It keeps no thread alive: when the [`MicroVm`] is
/// stopped, a view shows the VM as stopped.
#[derive(Debug, Clone)]
pub struct VmView {
    pub(crate) shared: Arc<VmShared>,
}

impl VmView {
    pub fn program(&self) -> GuestProgram {
        self.shared.program
    }

    pub fn memory_mib(&self) -> u32 {
        self.shared.memory_mib
    }

    pub fn hypervisor(&self) -> Hypervisor {
        self.shared.hypervisor
    }

    /// Time since the VM was started.
    pub fn uptime(&self) -> Duration {
        self.shared.started_at.elapsed()
    }

    pub fn phase(&self) -> VmPhase {
        if let Some(reason) = self.shared.stopped.borrow().clone() {
            VmPhase::Stopped(reason)
        } else if self.boot_time().is_some() {
            VmPhase::Running
        } else {
            VmPhase::Booting
        }
    }

    /// Whether the vCPU thread is still running (booting or running).
    pub fn is_alive(&self) -> bool {
        self.shared.stopped.borrow().is_none()
    }

    /// Time from start to the banner, once it has appeared.
    pub fn boot_time(&self) -> Option<Duration> {
        let seen = self.shared.console.banner_seen_at()?;
        Some(seen.saturating_duration_since(self.shared.started_at))
    }

    /// The exit counters right now.
    pub fn counts(&self) -> ExitCounts {
        self.shared.stats.snapshot()
    }

    pub fn console(&self) -> &ConsoleBuffer {
        &self.shared.console
    }

    /// Types bytes on the guest's serial port; returns how many were taken
    /// (fewer when the guest has not read earlier input).
    pub fn send_input(&self, bytes: &[u8]) -> usize {
        if !self.is_alive() {
            return 0;
        }
        self.shared.control.push_input(bytes)
    }

    /// Resolves when the VM stops; yields why.
    pub async fn stopped(&self) -> StopReason {
        let mut stopped = self.shared.stopped.subscribe();
        loop {
            if let Some(reason) = stopped.borrow_and_update().clone() {
                return reason;
            }
            if stopped.changed().await.is_err() {
                return StopReason::SessionEnded;
            }
        }
    }

    /// Waits until the banner appears, the VM stops, or `timeout` passes.
    pub async fn wait_for_banner(&self, timeout: Duration) -> BannerWait {
        let mut output = self.shared.console.subscribe();
        let wait = async {
            loop {
                if let Some(boot) = self.boot_time() {
                    return BannerWait::Seen(boot);
                }
                tokio::select! {
                    changed = output.changed() => if changed.is_err() {
                        return BannerWait::TimedOut;
                    },
                    reason = self.stopped() => {
                        // The banner may have been the guest's last words.
                        return match self.boot_time() {
                            Some(boot) => BannerWait::Seen(boot),
                            None => BannerWait::Stopped(reason),
                        };
                    }
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or(BannerWait::TimedOut)
    }
}

/// A running VM: owns its vCPU and watchdog threads. Dropping it stops the
/// guest and joins both threads.
#[derive(Debug)]
pub struct MicroVm {
    view: VmView,
    vcpu_thread: Option<JoinHandle<()>>,
    watchdog_thread: Option<JoinHandle<()>>,
}

impl MicroVm {
    /// Builds a VM for `program` and starts its vCPU.
    pub fn start(program: GuestProgram, config: VmConfig) -> Result<MicroVm, KvmError> {
        let memory_bytes = config.memory_bytes()?;
        install_kick_handler()?;

        let kvm = open_kvm()?;
        let vm = kvm.create_vm().map_err(KvmError::CreateVm)?;
        vm.set_tss_address(TSS_ADDRESS)
            .map_err(KvmError::SetTssAddress)?;
        let memory = create_guest_memory(&vm, memory_bytes)?;
        load_program(&memory, program)?;
        let vcpu = create_boot_vcpu(&kvm, &vm)?;

        let shared = Arc::new(new_shared(program, Hypervisor::MicroVm, &config));
        let memory_len = u64::try_from(memory_bytes).unwrap_or(u64::MAX);
        let io = IoDispatch::new(shared.console.clone(), shared.control.clone(), memory_len);
        let runner = VcpuRunner {
            vcpu,
            io,
            shared,
            _vm: vm,
            _memory: memory,
        };
        MicroVm::launch(runner, config.watchdog)
    }

    /// Boots the prepared Linux guest: an in-kernel interrupt controller
    /// and timer, the kernel and initramfs loaded by the Linux boot
    /// protocol, one vCPU entering the kernel in 64-bit mode, and the UART
    /// on IRQ 4. Needs hardware virtualization; callers check
    /// [`crate::HostReport::can_boot_linux`] first, since under software
    /// emulation KVM stops on the kernel's first unusual instruction.
    ///
    /// Known shortcomings, until the boot is exercised on a host with
    /// VT-x or AMD-V: the CPUID leaves are the host's as KVM reports them
    /// (no per-vCPU APIC id or hypervisor leaf), and there is neither an MP
    /// table nor ACPI, so the kernel runs on the legacy PIC and cannot
    /// power itself off: `poweroff -f` halts the guest, which `vm stop`
    /// then ends. A reboot (`reboot -f`, or a panic) reaches the keyboard
    /// controller's reset and stops the VM.
    pub fn start_linux(
        artifacts: &LinuxGuestArtifacts,
        config: VmConfig,
    ) -> Result<MicroVm, KvmError> {
        let kernel = read_artifact(&artifacts.kernel, "kernel")?;
        let initramfs = read_artifact(&artifacts.initramfs, "initramfs")?;
        let config = VmConfig {
            memory_mib: LINUX_MEMORY_MIB,
            watchdog: config.watchdog.for_linux(),
            ..config
        };
        let memory_bytes = usize::try_from(LINUX_MEMORY_MIB)
            .ok()
            .and_then(|mib| mib.checked_mul(MIB))
            .ok_or(KvmError::MemorySize {
                mib: LINUX_MEMORY_MIB,
                max: LINUX_MEMORY_MIB,
            })?;
        let memory_len = u64::try_from(memory_bytes).unwrap_or(u64::MAX);
        install_kick_handler()?;

        let kvm = open_kvm()?;
        let vm = create_linux_vm(&kvm)?;
        let memory = create_guest_memory(&vm, memory_bytes)?;
        let loaded = boot::load_linux(&memory, memory_len, &kernel, &initramfs)
            .map_err(KvmError::LinuxBoot)?;
        let vcpu = create_linux_vcpu(&kvm, &vm, &loaded)?;
        let serial_irq = wire_serial_irq(&vm)?;

        let mut shared = new_shared(GuestProgram::LINUX, Hypervisor::MicroVm, &config);
        shared.input_by_interrupt = true;
        let shared = Arc::new(shared);
        let io = IoDispatch::with_serial_irq(
            shared.console.clone(),
            shared.control.clone(),
            memory_len,
            serial_irq,
        );
        let runner = VcpuRunner {
            vcpu,
            io,
            shared,
            _vm: vm,
            _memory: memory,
        };
        MicroVm::launch(runner, config.watchdog)
    }

    /// Starts the vCPU and watchdog threads of a built VM.
    fn launch(runner: VcpuRunner, limits: WatchdogLimits) -> Result<MicroVm, KvmError> {
        let shared = runner.shared.clone();
        let vcpu_thread = spawn_vcpu(runner)?;
        let watchdog_thread = match watchdog::spawn(shared.clone(), limits, &vcpu_thread) {
            Ok(thread) => thread,
            Err(error) => {
                stop_unwatched_vcpu(&shared, vcpu_thread);
                return Err(error);
            }
        };

        tracing::info!(
            guest = shared.program.name,
            memory_mib = shared.memory_mib,
            "VM started"
        );
        Ok(MicroVm {
            view: VmView { shared },
            vcpu_thread: Some(vcpu_thread),
            watchdog_thread: Some(watchdog_thread),
        })
    }

    pub fn view(&self) -> &VmView {
        &self.view
    }

    /// Stops the guest (if it still runs) and joins its threads; returns
    /// why it stopped, which is `reason` unless it had stopped already.
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
        // The watchdog goes first: it kicks the vCPU until the vCPU thread
        // has left KVM_RUN, and it must never signal a thread that has
        // already been joined.
        join_thread(self.watchdog_thread.take(), "watchdog");
        join_thread(self.vcpu_thread.take(), "vCPU");
    }
}

impl Drop for MicroVm {
    fn drop(&mut self) {
        self.shutdown(StopReason::SessionEnded);
    }
}

/// Stops a vCPU whose watchdog could not start, doing the watchdog's
/// kicking here, and joins its thread.
fn stop_unwatched_vcpu(shared: &VmShared, vcpu_thread: JoinHandle<()>) {
    let reason = StopReason::Failed("the watchdog thread did not start".to_owned());
    shared.control.request_stop(reason);
    while !shared.control.wait_for_vcpu_exit(Duration::from_millis(10)) {
        if let Err(error) = vcpu_thread.kill(kick_signal()) {
            tracing::debug!(%error, "kicking the vCPU thread failed");
        }
    }
    join_thread(Some(vcpu_thread), "vCPU");
}

fn join_thread(handle: Option<JoinHandle<()>>, name: &str) {
    if let Some(handle) = handle
        && handle.join().is_err()
    {
        tracing::error!(thread = name, "VM thread panicked");
    }
}

pub(crate) fn new_shared(
    program: GuestProgram,
    hypervisor: Hypervisor,
    config: &VmConfig,
) -> VmShared {
    let started_at = Instant::now();
    let (stopped, _) = watch::channel(None);
    VmShared {
        program,
        hypervisor,
        memory_mib: config.memory_mib,
        started_at,
        stats: VcpuExitStats::default(),
        console: Arc::new(ConsoleBuffer::new(config.console, program.banner)),
        control: Arc::new(VcpuControl::default()),
        activity: GuestActivity::new(started_at),
        input_by_interrupt: false,
        stopped,
    }
}

fn read_artifact(path: &Path, what: &'static str) -> Result<Vec<u8>, KvmError> {
    std::fs::read(path).map_err(|source| KvmError::ReadLinuxArtifact {
        what,
        path: path.to_owned(),
        source,
    })
}

/// A VM with the in-kernel PIC, IOAPIC and local APIC and a PIT, which a
/// Linux kernel needs for its timer and interrupts.
fn create_linux_vm(kvm: &Kvm) -> Result<VmFd, KvmError> {
    let vm = kvm.create_vm().map_err(KvmError::CreateVm)?;
    vm.set_tss_address(TSS_ADDRESS)
        .map_err(KvmError::SetTssAddress)?;
    vm.create_irq_chip().map_err(KvmError::CreateIrqChip)?;
    let pit = kvm_pit_config {
        flags: KVM_PIT_SPEAKER_DUMMY,
        ..Default::default()
    };
    vm.create_pit2(pit).map_err(KvmError::CreatePit)?;
    Ok(vm)
}

/// An eventfd that raises the serial port's IRQ 4 when written.
fn wire_serial_irq(vm: &VmFd) -> Result<SerialIrq, KvmError> {
    const COM1_IRQ: u32 = 4;
    let eventfd = EventFd::new(libc::EFD_NONBLOCK).map_err(|error| {
        KvmError::WireSerialIrq(vmm_sys_util::errno::Error::new(
            error.raw_os_error().unwrap_or(libc::EIO),
        ))
    })?;
    vm.register_irqfd(&eventfd, COM1_IRQ)
        .map_err(KvmError::WireSerialIrq)?;
    Ok(SerialIrq::Line(eventfd))
}

/// vCPU 0 at the kernel's 64-bit entry: long mode, the boot page tables,
/// `rsi` at the zero page, an initialised FPU, and the local APIC's LINT0
/// and LINT1 wired as on a PC (legacy PIC interrupts and NMI).
fn create_linux_vcpu(kvm: &Kvm, vm: &VmFd, loaded: &LoadedLinux) -> Result<VcpuFd, KvmError> {
    let vcpu = vm.create_vcpu(0).map_err(KvmError::CreateVcpu)?;
    let cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .map_err(KvmError::SupportedCpuid)?;
    vcpu.set_cpuid2(&cpuid).map_err(KvmError::SetCpuid)?;
    let sregs = vcpu.get_sregs().map_err(KvmError::GetSregs)?;
    vcpu.set_sregs(&boot::long_mode_sregs(sregs))
        .map_err(KvmError::SetSregs)?;
    vcpu.set_regs(&boot::entry_regs(loaded))
        .map_err(KvmError::SetRegs)?;
    let fpu = kvm_fpu {
        fcw: 0x37f,
        mxcsr: 0x1f80,
        ..Default::default()
    };
    vcpu.set_fpu(&fpu).map_err(KvmError::SetupVcpuState)?;
    wire_lapic_lints(&vcpu)?;
    Ok(vcpu)
}

fn wire_lapic_lints(vcpu: &VcpuFd) -> Result<(), KvmError> {
    const APIC_LVT0: usize = 0x350;
    const APIC_LVT1: usize = 0x360;
    const DELIVERY_EXTINT: u32 = 0x7;
    const DELIVERY_NMI: u32 = 0x4;
    let mut lapic = vcpu.get_lapic().map_err(KvmError::SetupVcpuState)?;
    for (offset, mode) in [(APIC_LVT0, DELIVERY_EXTINT), (APIC_LVT1, DELIVERY_NMI)] {
        let register = &mut lapic.regs[offset..offset + 4];
        let bytes: [u8; 4] = std::array::from_fn(|i| register[i].to_ne_bytes()[0]);
        let value = (u32::from_le_bytes(bytes) & !0x700) | (mode << 8);
        for (slot, byte) in register.iter_mut().zip(value.to_le_bytes()) {
            *slot = libc::c_char::from_ne_bytes([byte]);
        }
    }
    vcpu.set_lapic(&lapic).map_err(KvmError::SetupVcpuState)
}

fn open_kvm() -> Result<Kvm, KvmError> {
    let kvm = Kvm::new().map_err(KvmError::OpenKvm)?;
    let found = kvm.get_api_version();
    if found != KVM_API_VERSION {
        return Err(KvmError::ApiVersion {
            found,
            expected: KVM_API_VERSION,
        });
    }
    Ok(kvm)
}

/// Allocates anonymous memory for the guest and maps it at guest-physical
/// address 0.
fn create_guest_memory(vm: &VmFd, bytes: usize) -> Result<GuestMemoryMmap, KvmError> {
    let memory = GuestMemoryMmap::from_ranges(&[(GuestAddress(0), bytes)])
        .map_err(|source| KvmError::AllocateMemory { bytes, source })?;
    let host_address = memory
        .get_host_address(GuestAddress(0))
        .map_err(KvmError::HostAddress)?;
    let region = kvm_userspace_memory_region {
        slot: 0,
        flags: 0,
        guest_phys_addr: 0,
        memory_size: u64::try_from(bytes).unwrap_or(u64::MAX),
        // A pointer fits in u64 on every host this VMM builds for (x86_64).
        userspace_addr: host_address as u64,
    };
    // SAFETY: the region describes exactly the `bytes`-long anonymous
    // mapping `memory` owns. That mapping outlives the VM: both move into
    // the vCPU thread's `VcpuRunner`, which drops the VM fd before the
    // memory, so KVM never sees the mapping go away while it can use it.
    unsafe { vm.set_user_memory_region(region) }.map_err(KvmError::RegisterMemory)?;
    Ok(memory)
}

fn load_program(memory: &GuestMemoryMmap, program: GuestProgram) -> Result<(), KvmError> {
    // `write_slice` checks the whole range against guest memory.
    memory
        .write_slice(program.image, GuestAddress(LOAD_ADDRESS))
        .map_err(|source| KvmError::LoadGuest {
            name: program.name,
            address: LOAD_ADDRESS,
            source,
        })
}

/// Creates vCPU 0 in real mode, about to run the program's first
/// instruction: CS:IP = 0:0x7c00, all data segments zero, stack below the
/// program, and the CPUID leaves the host's KVM supports.
fn create_boot_vcpu(kvm: &Kvm, vm: &VmFd) -> Result<VcpuFd, KvmError> {
    let vcpu = vm.create_vcpu(0).map_err(KvmError::CreateVcpu)?;
    let cpuid = kvm
        .get_supported_cpuid(KVM_MAX_CPUID_ENTRIES)
        .map_err(KvmError::SupportedCpuid)?;
    vcpu.set_cpuid2(&cpuid).map_err(KvmError::SetCpuid)?;

    let mut sregs = vcpu.get_sregs().map_err(KvmError::GetSregs)?;
    for segment in [
        &mut sregs.cs,
        &mut sregs.ds,
        &mut sregs.es,
        &mut sregs.fs,
        &mut sregs.gs,
        &mut sregs.ss,
    ] {
        segment.base = 0;
        segment.selector = 0;
    }
    vcpu.set_sregs(&sregs).map_err(KvmError::SetSregs)?;

    let regs = kvm_bindings::kvm_regs {
        rip: LOAD_ADDRESS,
        rsp: INITIAL_STACK,
        // Bit 1 of RFLAGS is reserved and always set.
        rflags: 0x2,
        ..Default::default()
    };
    vcpu.set_regs(&regs).map_err(KvmError::SetRegs)?;
    Ok(vcpu)
}

fn spawn_vcpu(runner: VcpuRunner) -> Result<JoinHandle<()>, KvmError> {
    let shared = runner.shared.clone();
    // The thread's logs belong to the span that started the VM (the
    // student's session, when the lab starts it).
    let span = tracing::info_span!("vcpu", guest = shared.program.name);
    thread::Builder::new()
        .name(format!("vcpu0-{}", shared.program.name))
        .spawn(move || {
            let _entered = span.enter();
            let reason = runner.run();
            shared.finish(reason);
        })
        .map_err(|source| KvmError::SpawnThread {
            thread: "vCPU",
            source,
        })
}
