//! VM exit counters, cheap enough to read from a UI thread many times a
//! second: the vCPU thread bumps relaxed atomics, readers take a
//! [`ExitCounts`] snapshot.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Why the vCPU left the guest, grouped the way the lab teaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// The guest read an I/O port (`in`).
    IoIn,
    /// The guest wrote an I/O port (`out`).
    IoOut,
    /// The guest read an address with no RAM behind it.
    MmioRead,
    /// The guest wrote an address with no RAM behind it.
    MmioWrite,
    /// The guest executed `hlt`.
    Hlt,
    /// The guest triple-faulted or asked for a reset or power-off.
    Shutdown,
    /// Anything else KVM reported.
    Other,
}

impl ExitReason {
    /// Every reason, in the order the UI lists them.
    pub const ALL: [ExitReason; 7] = [
        ExitReason::IoIn,
        ExitReason::IoOut,
        ExitReason::MmioRead,
        ExitReason::MmioWrite,
        ExitReason::Hlt,
        ExitReason::Shutdown,
        ExitReason::Other,
    ];

    /// The counter name used in scenario YAML (`exit_count.counter`).
    pub fn name(self) -> &'static str {
        match self {
            ExitReason::IoIn => "io_in",
            ExitReason::IoOut => "io_out",
            ExitReason::MmioRead => "mmio_read",
            ExitReason::MmioWrite => "mmio_write",
            ExitReason::Hlt => "hlt",
            ExitReason::Shutdown => "shutdown",
            ExitReason::Other => "other",
        }
    }

    fn index(self) -> usize {
        match self {
            ExitReason::IoIn => 0,
            ExitReason::IoOut => 1,
            ExitReason::MmioRead => 2,
            ExitReason::MmioWrite => 3,
            ExitReason::Hlt => 4,
            ExitReason::Shutdown => 5,
            ExitReason::Other => 6,
        }
    }
}

/// A counter a check can name: one exit reason, or the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCounter {
    Reason(ExitReason),
    Total,
}

/// The counter name is not one of `io_in`, `io_out`, `mmio_read`,
/// `mmio_write`, `hlt`, `shutdown`, `other`, `total`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown exit counter `{0}`; expected io_in, io_out, mmio_read, mmio_write, hlt, shutdown, \
     other or total"
)]
pub struct UnknownExitCounter(pub String);

impl FromStr for ExitCounter {
    type Err = UnknownExitCounter;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name == "total" {
            return Ok(ExitCounter::Total);
        }
        ExitReason::ALL
            .into_iter()
            .find(|reason| reason.name() == name)
            .map(ExitCounter::Reason)
            .ok_or_else(|| UnknownExitCounter(name.to_owned()))
    }
}

/// Live counters of one vCPU, written by its run loop.
#[derive(Debug, Default)]
pub struct VcpuExitStats {
    by_reason: [AtomicU64; 7],
    guest_nanos: AtomicU64,
}

impl VcpuExitStats {
    /// Counts one exit.
    pub fn record(&self, reason: ExitReason) {
        self.by_reason[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Adds time spent inside `KVM_RUN`.
    pub fn add_guest_time(&self, spent: Duration) {
        let nanos = u64::try_from(spent.as_nanos()).unwrap_or(u64::MAX);
        self.guest_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The sum of all exits so far.
    pub fn total(&self) -> u64 {
        self.by_reason
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .sum()
    }

    /// A copy of every counter. The counters are read one by one, so a
    /// snapshot taken while the guest runs may mix neighbouring instants;
    /// each value on its own is exact.
    pub fn snapshot(&self) -> ExitCounts {
        let count = |reason: ExitReason| self.by_reason[reason.index()].load(Ordering::Relaxed);
        ExitCounts {
            io_in: count(ExitReason::IoIn),
            io_out: count(ExitReason::IoOut),
            mmio_read: count(ExitReason::MmioRead),
            mmio_write: count(ExitReason::MmioWrite),
            hlt: count(ExitReason::Hlt),
            shutdown: count(ExitReason::Shutdown),
            other: count(ExitReason::Other),
            guest_time: Duration::from_nanos(self.guest_nanos.load(Ordering::Relaxed)),
        }
    }
}

/// A snapshot of [`VcpuExitStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExitCounts {
    pub io_in: u64,
    pub io_out: u64,
    pub mmio_read: u64,
    pub mmio_write: u64,
    pub hlt: u64,
    pub shutdown: u64,
    pub other: u64,
    /// Wall-clock time the vCPU spent inside `KVM_RUN` (running guest code
    /// or being emulated by KVM), not counting time the VMM spent handling
    /// exits or waiting while the guest was halted.
    pub guest_time: Duration,
}

impl ExitCounts {
    /// The count of one reason.
    pub fn get(&self, reason: ExitReason) -> u64 {
        match reason {
            ExitReason::IoIn => self.io_in,
            ExitReason::IoOut => self.io_out,
            ExitReason::MmioRead => self.mmio_read,
            ExitReason::MmioWrite => self.mmio_write,
            ExitReason::Hlt => self.hlt,
            ExitReason::Shutdown => self.shutdown,
            ExitReason::Other => self.other,
        }
    }

    /// The count a check names.
    pub fn counter(&self, counter: ExitCounter) -> u64 {
        match counter {
            ExitCounter::Reason(reason) => self.get(reason),
            ExitCounter::Total => self.total(),
        }
    }

    pub fn total(&self) -> u64 {
        ExitReason::ALL
            .into_iter()
            .map(|reason| self.get(reason))
            .sum()
    }
}

impl fmt::Display for ExitCounts {
    /// One line per counter, for `vm status`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for reason in ExitReason::ALL {
            writeln!(f, "  {:<11}{}", reason.name(), self.get(reason))?;
        }
        writeln!(f, "  {:<11}{}", "total", self.total())?;
        write!(f, "  guest time {:.3} s", self.guest_time.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_counts_each_reason_and_the_total() {
        let stats = VcpuExitStats::default();
        stats.record(ExitReason::IoOut);
        stats.record(ExitReason::IoOut);
        stats.record(ExitReason::Hlt);
        let counts = stats.snapshot();
        assert_eq!(counts.io_out, 2);
        assert_eq!(counts.hlt, 1);
        assert_eq!(counts.total(), 3);
        assert_eq!(stats.total(), 3);
    }

    #[test]
    fn counter_names_parse_and_unknown_names_are_rejected() {
        for reason in ExitReason::ALL {
            assert_eq!(reason.name().parse(), Ok(ExitCounter::Reason(reason)));
        }
        assert_eq!("total".parse(), Ok(ExitCounter::Total));
        assert!("io".parse::<ExitCounter>().is_err());
    }
}
