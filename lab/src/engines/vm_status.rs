//! [`VmStatusLine`]: the session VM's exit counters for the status bar,
//! so a learner sees `out` and `hlt` exits climb as the guest runs.

use std::sync::Arc;

use lab_kvm::{ExitReason, KvmSession, VmPhase};

use crate::app::StatusSource;

/// Reads the session's VM figures (atomic loads, one short lock).
pub struct VmStatusLine {
    kvm: Arc<KvmSession>,
}

impl VmStatusLine {
    pub fn new(kvm: Arc<KvmSession>) -> Self {
        VmStatusLine { kvm }
    }
}

impl StatusSource for VmStatusLine {
    fn line(&self) -> Option<String> {
        let stats = self.kvm.stats()?;
        if matches!(stats.phase, VmPhase::Stopped(_)) {
            return None;
        }
        let counts: Vec<String> = [ExitReason::IoOut, ExitReason::IoIn, ExitReason::Hlt]
            .into_iter()
            .map(|reason| format!("{} {}", reason.name(), stats.counts.get(reason)))
            .collect();
        Some(format!(
            "vm {} {} · exits {} · total {}",
            stats.guest,
            stats.phase.label(),
            counts.join(" "),
            stats.counts.total()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lab_kvm::{GuestProgram, VmConfig};

    #[test]
    fn no_line_without_a_vm() {
        let line = VmStatusLine::new(Arc::new(KvmSession::new(VmConfig::default())));
        assert_eq!(line.line(), None);
    }

    #[test]
    fn a_running_guest_shows_its_exit_counters() {
        let report = lab_kvm::host_report();
        if !report.can_run_guests() {
            eprintln!("skipped: this host cannot run KVM guests ({report:?})");
            return;
        }
        let kvm = Arc::new(KvmSession::new(VmConfig::default()));
        kvm.start(GuestProgram::TEACHING).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let source = VmStatusLine::new(Arc::clone(&kvm));
        let mut line = source.line();
        while line.as_deref().is_none_or(|l| l.contains("io_out 0 "))
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(50));
            line = source.line();
        }
        kvm.stop();
        let line = line.unwrap();
        assert!(line.starts_with("vm "), "{line}");
        assert!(!line.contains("io_out 0 "), "{line}");
    }
}
