//! Which lab process owns a container, so a restarted lab can tell its own
//! live containers from the orphans of a crashed one.
//!
//! A pid alone is not enough (pids are reused, and a reboot resets them),
//! so the owner is the pid, the process start time in clock ticks since
//! boot, and the boot id.

use std::sync::OnceLock;

pub const OWNER_PID_LABEL: &str = "lab.owner-pid";
pub const OWNER_START_LABEL: &str = "lab.owner-start";
pub const BOOT_ID_LABEL: &str = "lab.boot-id";

/// The identity of one lab process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerStamp {
    pub pid: u32,
    pub start_ticks: String,
    pub boot_id: String,
}

impl OwnerStamp {
    /// This process's stamp, computed once.
    pub fn current() -> &'static OwnerStamp {
        static CURRENT: OnceLock<OwnerStamp> = OnceLock::new();
        CURRENT.get_or_init(|| {
            let pid = std::process::id();
            OwnerStamp {
                pid,
                start_ticks: start_ticks(pid).unwrap_or_default(),
                boot_id: boot_id(),
            }
        })
    }

    /// The labels that record this owner on a container or network.
    pub fn labels(&self) -> [(&'static str, String); 3] {
        [
            (OWNER_PID_LABEL, self.pid.to_string()),
            (OWNER_START_LABEL, self.start_ticks.clone()),
            (BOOT_ID_LABEL, self.boot_id.clone()),
        ]
    }

    /// Whether these labels name a lab process that is gone: a resource
    /// stamped by a process that no longer runs (or ran before the last
    /// boot). Resources without a stamp were not made through this crate and
    /// are never judged orphans.
    pub fn is_orphan(labels: &std::collections::HashMap<String, String>) -> bool {
        let (Some(pid), Some(start), Some(boot)) = (
            labels.get(OWNER_PID_LABEL),
            labels.get(OWNER_START_LABEL),
            labels.get(BOOT_ID_LABEL),
        ) else {
            return false;
        };
        let alive = *boot == boot_id()
            && pid.parse::<u32>().ok().and_then(start_ticks).as_ref() == Some(start);
        !alive
    }
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Field 22 of `/proc/<pid>/stat`; the command name (field 2) may hold
/// spaces and parentheses, so fields are counted after its closing ')'.
fn start_ticks(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19).map(str::to_owned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn only_stamps_of_gone_processes_are_orphans() {
        let me = OwnerStamp::current();
        let labels: std::collections::HashMap<String, String> = me
            .labels()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert!(!OwnerStamp::is_orphan(&labels), "this process is alive");
        let mut reused_pid = labels.clone();
        reused_pid.insert(OWNER_START_LABEL.to_owned(), "1".to_owned());
        assert!(
            OwnerStamp::is_orphan(&reused_pid),
            "same pid, other process"
        );
        let mut other_boot = labels.clone();
        other_boot.insert(BOOT_ID_LABEL.to_owned(), "before-reboot".to_owned());
        assert!(OwnerStamp::is_orphan(&other_boot));
        assert!(
            !OwnerStamp::is_orphan(&Default::default()),
            "unstamped: not ours to judge"
        );
    }
}
