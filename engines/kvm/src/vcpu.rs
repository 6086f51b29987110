//! The vCPU thread: enters the guest with `KVM_RUN`, counts and dispatches
//! every exit, and waits (without spinning) while the guest is halted.
//!
//! A vCPU inside `KVM_RUN` only comes back when the guest causes an exit. To
//! stop a guest that never does (`jmp $`), the watchdog sends the thread a
//! real-time signal. Its handler sets `immediate_exit` in the vCPU's shared
//! `kvm_run` page, so the kick works whether it lands inside `KVM_RUN`
//! (which then returns `EINTR`) or just before it (KVM then returns at once).

use std::cell::Cell;
use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use kvm_ioctls::{VcpuExit, VcpuFd, VmFd};
use vm_memory::GuestMemoryMmap;
use vmm_sys_util::signal::{SIGRTMIN, register_signal_handler};

use crate::control::{HltWake, StopReason};
use crate::devices::{IoAction, IoDispatch};
use crate::error::KvmError;
use crate::stats::ExitReason;
use crate::vm::VmShared;

/// Which real-time signal kicks vCPUs, counted from `SIGRTMIN`. The lab uses
/// no other real-time signals.
const KICK_SIGNAL_OFFSET: c_int = 2;

/// The signal that kicks a vCPU thread out of `KVM_RUN`.
pub(crate) fn kick_signal() -> c_int {
    SIGRTMIN() + KICK_SIGNAL_OFFSET
}

/// Installs the process-wide kick handler once; later calls return the
/// first outcome.
pub(crate) fn install_kick_handler() -> Result<(), KvmError> {
    static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();
    let outcome = INSTALLED.get_or_init(|| {
        register_signal_handler(kick_signal(), handle_kick).map_err(|error| error.errno())
    });
    outcome.map_err(|errno| KvmError::KickHandler(vmm_sys_util::errno::Error::new(errno)))
}

thread_local! {
    /// This thread's vCPU `immediate_exit` byte, or null when the thread
    /// runs no vCPU. Constant-initialised and without a destructor, so the
    /// signal handler reads it without any lazy set-up.
    static IMMEDIATE_EXIT: Cell<*mut u8> = const { Cell::new(ptr::null_mut()) };
}

extern "C" fn handle_kick(_signal: c_int, _info: *mut libc::siginfo_t, _context: *mut c_void) {
    let flag = IMMEDIATE_EXIT.with(Cell::get);
    if !flag.is_null() {
        // SAFETY: `flag` points into the `kvm_run` mapping of the vCPU this
        // thread is running. `KickTarget` publishes it only while the vCPU
        // lives and clears it before the vCPU (and its mapping) is dropped,
        // and only this thread reads the pointer. A volatile one-byte store
        // is async-signal-safe, and KVM expects userspace to write this
        // field at any time.
        unsafe { flag.write_volatile(1) };
    }
}

/// Publishes a vCPU's `immediate_exit` byte to this thread's kick handler
/// for as long as it lives.
struct KickTarget;

impl KickTarget {
    fn arm(vcpu: &mut VcpuFd) -> KickTarget {
        let flag: *mut u8 = &mut vcpu.get_kvm_run().immediate_exit;
        IMMEDIATE_EXIT.with(|cell| cell.set(flag));
        KickTarget
    }
}

impl Drop for KickTarget {
    fn drop(&mut self) {
        IMMEDIATE_EXIT.with(|cell| cell.set(ptr::null_mut()));
    }
}

/// Everything the vCPU thread owns. Fields drop in order: the vCPU before
/// the VM, the VM before the memory it maps.
pub(crate) struct VcpuRunner {
    pub vcpu: VcpuFd,
    pub io: IoDispatch,
    pub shared: Arc<VmShared>,
    pub _vm: VmFd,
    pub _memory: GuestMemoryMmap,
}

/// What the run loop does next.
enum Step {
    Continue,
    Stop(StopReason),
}

impl VcpuRunner {
    /// Runs the guest until it stops or is stopped; returns why.
    pub fn run(mut self) -> StopReason {
        let _kick_target = KickTarget::arm(&mut self.vcpu);
        loop {
            if let Some(reason) = self.shared.control.stop_reason() {
                return reason;
            }
            if let Step::Stop(reason) = self.run_once() {
                return reason;
            }
        }
    }

    /// One trip into the guest and back.
    fn run_once(&mut self) -> Step {
        let entered = Instant::now();
        let exit = self.vcpu.run();
        self.shared.stats.add_guest_time(entered.elapsed());

        let mut kicked = false;
        let step = match exit {
            Ok(exit) => handle_exit(exit, &mut self.io, &self.shared),
            Err(error) if error.errno() == libc::EINTR => {
                kicked = true;
                Step::Continue
            }
            Err(error) => Step::Stop(StopReason::Failed(format!("KVM_RUN failed: {error}"))),
        };
        if kicked {
            // The flag stays set until cleared; left alone, every later
            // KVM_RUN would return at once.
            self.vcpu.set_kvm_immediate_exit(0);
        }
        if self.shared.input_by_interrupt {
            // A guest with an interrupt controller halts inside KVM, so
            // typed input is moved into the UART whenever the vCPU comes
            // out (the watchdog kicks it when input waits); the UART then
            // raises its receive interrupt.
            self.shared.control.refill(self.io.serial_mut());
        }
        step
    }
}

fn handle_exit(exit: VcpuExit<'_>, io: &mut IoDispatch, shared: &VmShared) -> Step {
    match exit {
        VcpuExit::IoIn(port, data) => {
            shared.record_progress(ExitReason::IoIn);
            io.pio_read(port, data);
            Step::Continue
        }
        VcpuExit::IoOut(port, data) => {
            shared.record_progress(ExitReason::IoOut);
            match io.pio_write(port, data) {
                IoAction::Continue => Step::Continue,
                IoAction::PowerOff => Step::Stop(StopReason::PoweredOff),
                IoAction::Reset => {
                    shared.stats.record(ExitReason::Shutdown);
                    Step::Stop(StopReason::GuestShutdown)
                }
            }
        }
        VcpuExit::MmioRead(address, data) => {
            shared.record_progress(ExitReason::MmioRead);
            io.mmio_read(address, data);
            Step::Continue
        }
        VcpuExit::MmioWrite(address, data) => {
            shared.record_progress(ExitReason::MmioWrite);
            io.mmio_write(address, data);
            Step::Continue
        }
        VcpuExit::Hlt => {
            shared.record_progress(ExitReason::Hlt);
            wait_while_halted(io, shared)
        }
        VcpuExit::Shutdown | VcpuExit::SystemEvent(..) => {
            shared.stats.record(ExitReason::Shutdown);
            Step::Stop(StopReason::GuestShutdown)
        }
        VcpuExit::FailEntry(reason, _cpu) => {
            shared.stats.record(ExitReason::Other);
            let what = format!("KVM could not enter the guest (hardware reason {reason:#x})");
            Step::Stop(StopReason::Failed(what))
        }
        VcpuExit::InternalError => {
            shared.stats.record(ExitReason::Other);
            let what = "KVM internal error: it could not emulate a guest instruction";
            Step::Stop(StopReason::Failed(what.to_owned()))
        }
        _ => {
            // Unexpected but harmless exits: count them and go on. A guest
            // that causes them in a loop trips the exit-rate watchdog.
            shared.stats.record(ExitReason::Other);
            Step::Continue
        }
    }
}

fn wait_while_halted(io: &mut IoDispatch, shared: &VmShared) -> Step {
    match shared.control.wait_after_hlt(io.serial_mut()) {
        HltWake::Resume => {
            shared.activity.progress();
            Step::Continue
        }
        HltWake::Stop => {
            let reason = shared
                .control
                .stop_reason()
                .unwrap_or(StopReason::Requested);
            Step::Stop(reason)
        }
    }
}
