//! The per-session handle: at most one VM per student session, stopped
//! when the session ends.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::control::StopReason;
use crate::error::KvmError;
use crate::guest::GuestProgram;
use crate::stats::ExitCounts;
use crate::vm::{MicroVm, VmConfig, VmPhase, VmView};

/// A session's VM slot. Creating one costs nothing (no VM, no thread);
/// `vm start` fills it. Share it between the `vm` command, the probe and
/// the UI in an `Arc`. Dropping the last handle stops the VM and joins its
/// threads.
#[derive(Debug)]
pub struct KvmSession {
    config: VmConfig,
    slot: Mutex<Slot>,
}

#[derive(Debug, Default)]
struct Slot {
    vm: Option<MicroVm>,
    ending: bool,
}

/// What a TUI panel shows about the session's VM; cheap to build (atomic
/// loads and one short lock), so the UI may ask every frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmPanelData {
    pub guest: &'static str,
    pub phase: VmPhase,
    pub memory_mib: u32,
    pub uptime: Duration,
    /// Time from start to the guest's banner, once it appeared.
    pub boot_time: Option<Duration>,
    /// Exit counters and time spent in the guest.
    pub counts: ExitCounts,
    /// Console bytes dropped by the rate limit.
    pub console_dropped: u64,
}

impl KvmSession {
    pub fn new(config: VmConfig) -> Self {
        KvmSession {
            config,
            slot: Mutex::new(Slot::default()),
        }
    }

    pub fn config(&self) -> &VmConfig {
        &self.config
    }

    /// Starts `program`. A VM that has already stopped is cleared away
    /// first; a live one makes this fail.
    pub fn start(&self, program: GuestProgram) -> Result<VmView, KvmError> {
        let previous = {
            let mut slot = self.lock();
            if slot.ending {
                return Err(KvmError::SessionEnding);
            }
            if let Some(vm) = &slot.vm
                && vm.view().is_alive()
            {
                return Err(KvmError::AlreadyRunning {
                    guest: vm.view().program().name,
                });
            }
            slot.vm.take()
        };
        // Joining the old VM's finished threads happens outside the lock.
        drop(previous);

        let vm = MicroVm::start(program, self.config)?;
        let view = vm.view().clone();
        let mut slot = self.lock();
        // The session may have ended, or another start may have won the
        // race, while this VM was built: then it must not outlive the call.
        let refusal = if slot.ending {
            Some(KvmError::SessionEnding)
        } else {
            let winner = slot.vm.as_ref().map(|other| other.view().program().name);
            winner.map(|guest| KvmError::AlreadyRunning { guest })
        };
        if let Some(error) = refusal {
            drop(slot);
            vm.stop(StopReason::SessionEnded);
            return Err(error);
        }
        slot.vm = Some(vm);
        Ok(view)
    }

    /// Stops the VM and joins its threads (a few milliseconds). Returns why
    /// it stopped, or `None` when there was no VM.
    pub fn stop(&self) -> Option<StopReason> {
        let vm = self.lock().vm.take()?;
        Some(vm.stop(StopReason::Requested))
    }

    /// The current (or last stopped) VM.
    pub fn vm(&self) -> Option<VmView> {
        self.lock().vm.as_ref().map(|vm| vm.view().clone())
    }

    /// Data for the UI's VM panel, if the session has a VM.
    pub fn stats(&self) -> Option<VmPanelData> {
        let view = self.vm()?;
        Some(VmPanelData {
            guest: view.program().name,
            phase: view.phase(),
            memory_mib: view.memory_mib(),
            uptime: view.uptime(),
            boot_time: view.boot_time(),
            counts: view.counts(),
            console_dropped: view.console().dropped(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        // The slot holds no invariant a panic could break halfway.
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for KvmSession {
    fn default() -> Self {
        KvmSession::new(VmConfig::default())
    }
}

impl Drop for KvmSession {
    fn drop(&mut self) {
        let vm = {
            let mut slot = self.lock();
            slot.ending = true;
            slot.vm.take()
        };
        if let Some(vm) = vm {
            vm.stop(StopReason::SessionEnded);
        }
    }
}
