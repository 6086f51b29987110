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

    /// Whether the process named by these labels still runs. Resources
    /// without owner labels count as orphans.
    pub fn is_alive(labels: &std::collections::HashMap<String, String>) -> bool {
        let (Some(pid), Some(start), Some(boot)) = (
            labels
                .get(OWNER_PID_LABEL)
                .and_then(|p| p.parse::<u32>().ok()),
            labels.get(OWNER_START_LABEL),
            labels.get(BOOT_ID_LABEL),
        ) else {
            return false;
        };
        *boot == boot_id() && start_ticks(pid).as_ref() == Some(start)
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
    fn this_process_is_alive_and_a_foreign_stamp_is_not() {
        let me = OwnerStamp::current();
        let labels = me
            .labels()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert!(OwnerStamp::is_alive(&labels));
        let mut other = labels.clone();
        other.insert(OWNER_START_LABEL.to_owned(), "1".to_owned());
        assert!(!OwnerStamp::is_alive(&other));
        assert!(!OwnerStamp::is_alive(&Default::default()));
    }
}
