//! The per-session handle: at most one VM per student session, stopped
//! when the session ends.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::control::StopReason;
use crate::error::KvmError;
use crate::guest::GuestProgram;
use crate::host::{HostReport, host_report};
use crate::linux::LinuxGuestArtifacts;
use crate::linux::qemu::{HostedVm, find_qemu};
use crate::stats::ExitCounts;
use crate::vm::{Hypervisor, MicroVm, VmConfig, VmPhase, VmView};

/// A session's VM slot. Creating one costs nothing (no VM, no thread);
/// `vm start` fills it. Share it between the `vm` command, the probe and
/// the UI in an `Arc`. Dropping the last handle stops the VM and joins its
/// threads.
#[derive(Debug)]
pub struct KvmSession {
    config: VmConfig,
    linux_guest: Option<LinuxGuestArtifacts>,
    slot: Mutex<Slot>,
}

#[derive(Debug, Default)]
struct Slot {
    vm: Option<RunningVm>,
    ending: bool,
}

/// A guest under one of the two hypervisors.
#[derive(Debug)]
enum RunningVm {
    Micro(MicroVm),
    Hosted(HostedVm),
}

impl RunningVm {
    fn view(&self) -> &VmView {
        match self {
            RunningVm::Micro(vm) => vm.view(),
            RunningVm::Hosted(vm) => vm.view(),
        }
    }

    fn stop(self, reason: StopReason) -> StopReason {
        match self {
            RunningVm::Micro(vm) => vm.stop(reason),
            RunningVm::Hosted(vm) => vm.stop(reason),
        }
    }
}

/// What a TUI panel shows about the session's VM; cheap to build (atomic
/// loads and one short lock), so the UI may ask every frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmPanelData {
    pub guest: &'static str,
    pub hypervisor: Hypervisor,
    pub phase: VmPhase,
    pub memory_mib: u32,
    pub uptime: Duration,
    /// Time from start to the guest's banner, once it appeared.
    pub boot_time: Option<Duration>,
    /// Exit counters and time spent in the guest; all zero under QEMU,
    /// which reports none (see [`Hypervisor::counts_exits`]).
    pub counts: ExitCounts,
    /// Console bytes dropped by the rate limit.
    pub console_dropped: u64,
}

impl KvmSession {
    pub fn new(config: VmConfig) -> Self {
        KvmSession {
            config,
            linux_guest: None,
            slot: Mutex::new(Slot::default()),
        }
    }

    /// The same session, able to boot the prepared Linux guest
    /// (`vm start linux`).
    pub fn with_linux_guest(mut self, artifacts: LinuxGuestArtifacts) -> Self {
        self.linux_guest = Some(artifacts);
        self
    }

    pub fn linux_guest(&self) -> Option<&LinuxGuestArtifacts> {
        self.linux_guest.as_ref()
    }

    pub fn config(&self) -> &VmConfig {
        &self.config
    }

    /// Starts `program`. A VM that has already stopped is cleared away
    /// first; a live one makes this fail.
    pub fn start(&self, program: GuestProgram) -> Result<VmView, KvmError> {
        let config = self.config;
        self.start_with(move || MicroVm::start(program, config).map(RunningVm::Micro))
    }

    /// Boots the prepared Linux guest under `hypervisor`. On the micro-VMM
    /// this first asks the host whether it has hardware virtualization and
    /// refuses at once, saying why and what to use, when it has not.
    pub fn start_linux(&self, hypervisor: Hypervisor) -> Result<VmView, KvmError> {
        if hypervisor == Hypervisor::MicroVm
            && let Some(reason) = linux_refusal(&host_report())
        {
            return Err(KvmError::LinuxNeedsHardwareVirtualization { reason });
        }
        let artifacts = self
            .linux_guest
            .clone()
            .ok_or(KvmError::LinuxGuestNotPrepared)?;
        let config = self.config;
        match hypervisor {
            Hypervisor::MicroVm => self
                .start_with(move || MicroVm::start_linux(&artifacts, config).map(RunningVm::Micro)),
            Hypervisor::Qemu => {
                let qemu = find_qemu().ok_or(KvmError::EmulatorMissing)?;
                self.start_with(move || {
                    HostedVm::start(&qemu, &artifacts, &config).map(RunningVm::Hosted)
                })
            }
        }
    }

    fn start_with(
        &self,
        launch: impl FnOnce() -> Result<RunningVm, KvmError>,
    ) -> Result<VmView, KvmError> {
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

        let vm = launch()?;
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
            hypervisor: view.hypervisor(),
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

/// Why this host cannot boot Linux on the micro-VMM, if it cannot.
pub fn linux_refusal(report: &HostReport) -> Option<String> {
    if report.can_boot_linux() {
        return None;
    }
    const ALTERNATIVE: &str = "Use `vm start linux --emulator qemu` to boot the same kernel \
                               under QEMU, a hosted emulator, instead.";
    let why = if report.can_run_guests() {
        format!(
            "this host has no hardware virtualization (no VT-x/AMD-V; found: {}): \
             KVM here emulates guest instructions in software, which is enough for the \
             tiny teaching guest but cannot run a Linux kernel",
            report.virtualization
        )
    } else {
        format!("/dev/kvm is not usable here ({:?})", report.device)
    };
    Some(format!(
        "cannot boot Linux on the micro-VMM: {why}. {ALTERNATIVE}"
    ))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{HardwareVirtualization, KvmDevice};

    fn report(device: KvmDevice, virtualization: HardwareVirtualization) -> HostReport {
        HostReport {
            device,
            virtualization,
        }
    }

    #[test]
    fn linux_is_refused_without_hardware_virtualization_with_the_alternative() {
        let usable = KvmDevice::Usable { api_version: 12 };
        let emulated = report(usable.clone(), HardwareVirtualization::EmulationOnly);
        let reason = linux_refusal(&emulated).unwrap_or_default();
        assert!(reason.contains("no VT-x/AMD-V"), "{reason}");
        assert!(
            reason.contains("vm start linux --emulator qemu"),
            "{reason}"
        );

        let missing = report(KvmDevice::Missing, HardwareVirtualization::IntelVtx);
        let reason = linux_refusal(&missing).unwrap_or_default();
        assert!(reason.contains("/dev/kvm is not usable"), "{reason}");

        let hardware = report(usable, HardwareVirtualization::AmdV);
        assert_eq!(linux_refusal(&hardware), None);
    }

    #[tokio::test]
    async fn linux_on_the_micro_vmm_is_refused_before_anything_is_built() {
        let session = KvmSession::default();
        if host_report().can_boot_linux() {
            eprintln!("not applicable: this host can boot Linux on the micro-VMM");
            return;
        }
        let refused = session.start_linux(Hypervisor::MicroVm);
        assert!(matches!(
            refused,
            Err(KvmError::LinuxNeedsHardwareVirtualization { .. })
        ));
        assert!(session.vm().is_none());
    }
}
