//! What this host offers the KVM engine, for `lab doctor`: whether
//! `/dev/kvm` opens, its API version, and whether the CPU has hardware
//! virtualization or KVM can only emulate guest code in software.

use std::fmt;

use kvm_ioctls::Kvm;
use lab_engine_api::{EngineKind, EngineState, EngineStatus};

const CPUINFO: &str = "/proc/cpuinfo";
/// The stable KVM API version.
const KVM_API_VERSION: i32 = 12;

/// Whether `/dev/kvm` can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvmDevice {
    /// It opened and speaks the stable API.
    Usable { api_version: i32 },
    /// It opened but speaks another API version.
    WrongApiVersion { api_version: i32 },
    /// There is no `/dev/kvm` (no KVM module, or a container without it).
    Missing,
    /// It exists but this user may not open it.
    PermissionDenied,
    /// Opening it failed otherwise.
    Failed { error: String },
}

/// What the host CPU offers for running guests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HardwareVirtualization {
    /// Intel VT-x (`vmx` in the CPU flags).
    IntelVtx,
    /// AMD-V (`svm` in the CPU flags).
    AmdV,
    /// Neither flag: if KVM works at all, it emulates guest code in
    /// software (typical inside a VM without nested virtualization), which
    /// is fine for the tiny teaching guest but far too slow for Linux.
    EmulationOnly,
    /// The CPU flags could not be read.
    Unknown,
}

impl fmt::Display for HardwareVirtualization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HardwareVirtualization::IntelVtx => "Intel VT-x",
            HardwareVirtualization::AmdV => "AMD-V",
            HardwareVirtualization::EmulationOnly => "none (guest code is emulated in software)",
            HardwareVirtualization::Unknown => "unknown (CPU flags unreadable)",
        })
    }
}

/// Everything `lab doctor` reports about KVM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostReport {
    pub device: KvmDevice,
    pub virtualization: HardwareVirtualization,
}

impl HostReport {
    /// Whether the micro-VMM can start guests here.
    pub fn can_run_guests(&self) -> bool {
        matches!(self.device, KvmDevice::Usable { .. })
    }

    /// Whether a Linux guest could boot in reasonable time.
    pub fn can_boot_linux(&self) -> bool {
        self.can_run_guests()
            && matches!(
                self.virtualization,
                HardwareVirtualization::IntelVtx | HardwareVirtualization::AmdV
            )
    }

    /// Where a Linux guest can run here, for `lab doctor`.
    pub fn linux_guests(&self) -> &'static str {
        let qemu = crate::linux::qemu::find_qemu().is_some();
        match (self.can_boot_linux(), qemu) {
            (true, true) => "Linux guests: micro-VMM and QEMU",
            (true, false) => "Linux guests: micro-VMM (QEMU not installed)",
            (false, true) => "Linux guests: QEMU only (`vm start linux --emulator qemu`)",
            (false, false) => "Linux guests: none (no VT-x/AMD-V and no QEMU)",
        }
    }

    /// The engine's line in `lab doctor`.
    pub fn engine_status(&self) -> EngineStatus {
        let state = match &self.device {
            KvmDevice::Usable { api_version } => EngineState::Ready {
                detail: format!(
                    "/dev/kvm API {api_version}, hardware virtualization: {}; {}",
                    self.virtualization,
                    self.linux_guests()
                ),
            },
            KvmDevice::WrongApiVersion { api_version } => EngineState::Unavailable {
                reason: format!("/dev/kvm speaks API {api_version}, not {KVM_API_VERSION}"),
                remedy: "use a Linux kernel with the stable KVM API".to_owned(),
            },
            KvmDevice::Missing => EngineState::Unavailable {
                reason: "/dev/kvm does not exist".to_owned(),
                remedy: "load kvm_intel or kvm_amd, or run on a host with KVM".to_owned(),
            },
            KvmDevice::PermissionDenied => EngineState::Unavailable {
                reason: "/dev/kvm exists but cannot be opened".to_owned(),
                remedy: "add the lab's user to the `kvm` group".to_owned(),
            },
            KvmDevice::Failed { error } => EngineState::Unavailable {
                reason: format!("opening /dev/kvm failed: {error}"),
                remedy: "check `dmesg` for KVM errors".to_owned(),
            },
        };
        EngineStatus {
            kind: EngineKind::Kvm,
            state,
        }
    }
}

/// Examines this host: opens `/dev/kvm` and reads the CPU flags.
pub fn host_report() -> HostReport {
    let virtualization = match std::fs::read_to_string(CPUINFO) {
        Ok(text) => virtualization_from_cpuinfo(&text),
        Err(error) => {
            tracing::debug!(%error, "cannot read {CPUINFO}");
            HardwareVirtualization::Unknown
        }
    };
    HostReport {
        device: probe_device(),
        virtualization,
    }
}

/// The KVM line of `lab doctor`.
pub fn engine_status() -> EngineStatus {
    host_report().engine_status()
}

fn probe_device() -> KvmDevice {
    match Kvm::new() {
        Ok(kvm) => match kvm.get_api_version() {
            KVM_API_VERSION => KvmDevice::Usable {
                api_version: KVM_API_VERSION,
            },
            api_version => KvmDevice::WrongApiVersion { api_version },
        },
        Err(error) if error.errno() == libc::ENOENT => KvmDevice::Missing,
        Err(error) if matches!(error.errno(), libc::EACCES | libc::EPERM) => {
            KvmDevice::PermissionDenied
        }
        Err(error) => KvmDevice::Failed {
            error: error.to_string(),
        },
    }
}

/// Reads the `flags` lines of `/proc/cpuinfo` text.
fn virtualization_from_cpuinfo(cpuinfo: &str) -> HardwareVirtualization {
    let flags = cpuinfo
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| key.trim() == "flags")
        .flat_map(|(_, value)| value.split_whitespace());
    let mut found = HardwareVirtualization::EmulationOnly;
    for flag in flags {
        match flag {
            "vmx" => return HardwareVirtualization::IntelVtx,
            "svm" => found = HardwareVirtualization::AmdV,
            _ => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_flags_tell_hardware_virtualization_from_emulation() {
        let intel = "processor\t: 0\nflags\t\t: fpu vme vmx sse2\n";
        let amd = "flags : fpu svm lm\n";
        let neither = "flags : fpu sse2 hypervisor\nvmx flags : ept\n";
        assert_eq!(
            virtualization_from_cpuinfo(intel),
            HardwareVirtualization::IntelVtx
        );
        assert_eq!(
            virtualization_from_cpuinfo(amd),
            HardwareVirtualization::AmdV
        );
        assert_eq!(
            virtualization_from_cpuinfo(neither),
            HardwareVirtualization::EmulationOnly
        );
    }

    #[test]
    fn missing_device_is_unavailable_with_a_remedy() {
        let report = HostReport {
            device: KvmDevice::Missing,
            virtualization: HardwareVirtualization::EmulationOnly,
        };
        let status = report.engine_status();
        assert!(!status.is_ready());
        assert!(!report.can_boot_linux());
    }

    #[test]
    fn this_host_report_is_consistent() {
        let report = host_report();
        eprintln!("host report: {report:?}");
        assert_eq!(report.engine_status().is_ready(), report.can_run_guests());
    }
}
