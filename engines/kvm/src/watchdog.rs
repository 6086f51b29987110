//! The watchdog thread of a VM.
//!
//! Every tick it looks for a guest that misbehaves: no banner by the start
//! deadline, no I/O or HLT for too long while it runs (spinning), more
//! exits per second than the cap, or typed input left unread. It then stops
//! the VM. It is also the one thread that kicks the vCPU out of `KVM_RUN`
//! when the VM stops for any reason, because a spinning guest never returns
//! to the run loop by itself.

use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::control::{StopReason, WatchdogVerdict};
use crate::error::KvmError;
use crate::vcpu::kick_signal;
use crate::vm::VmShared;

/// When the watchdog steps in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchdogLimits {
    /// The banner must appear within this time of the start.
    pub start_deadline: Duration,
    /// Longest run without I/O or HLT before the guest counts as spinning.
    pub spin_limit: Duration,
    /// Most VM exits per second, averaged over one second.
    pub max_exits_per_second: u64,
    /// Longest time typed input may stay unread.
    pub answer_timeout: Duration,
    /// How often the watchdog looks.
    pub tick: Duration,
}

impl WatchdogLimits {
    /// The limits for a Linux guest: the same start deadline and answer
    /// timeout, but no spin or exit-rate limit. Its idle loop halts inside
    /// KVM (no exit the watchdog could see) and its boot causes exits by
    /// the hundred thousand; the kernel's own timer keeps it from hanging
    /// the host, since each vCPU is one thread that `vm stop` can always
    /// kick.
    pub fn for_linux(self) -> Self {
        WatchdogLimits {
            spin_limit: Duration::MAX,
            max_exits_per_second: u64::MAX,
            ..self
        }
    }
}

impl Default for WatchdogLimits {
    fn default() -> Self {
        WatchdogLimits {
            start_deadline: Duration::from_secs(10),
            spin_limit: Duration::from_secs(5),
            max_exits_per_second: 200_000,
            answer_timeout: Duration::from_secs(10),
            tick: Duration::from_millis(50),
        }
    }
}

/// How often a stopping vCPU is kicked until it leaves `KVM_RUN`.
const KICK_INTERVAL: Duration = Duration::from_millis(10);

/// Starts the watchdog of the VM whose vCPU runs on `vcpu_thread`.
pub(crate) fn spawn(
    shared: Arc<VmShared>,
    limits: WatchdogLimits,
    vcpu_thread: &JoinHandle<()>,
) -> Result<JoinHandle<()>, KvmError> {
    let vcpu = VcpuThread(std::os::unix::thread::JoinHandleExt::as_pthread_t(
        vcpu_thread,
    ));
    let span = tracing::info_span!("watchdog", guest = shared.program.name);
    thread::Builder::new()
        .name(format!("watchdog-{}", shared.program.name))
        .spawn(move || {
            let _entered = span.enter();
            watch(&shared, &limits, vcpu);
            kick_until_exited(&shared, vcpu);
        })
        .map_err(|source| KvmError::SpawnThread {
            thread: "watchdog",
            source,
        })
}

/// The vCPU thread's pthread id. `MicroVm` joins the vCPU thread only after
/// the watchdog thread, so the id stays valid for every kick.
#[derive(Debug, Clone, Copy)]
struct VcpuThread(libc::pthread_t);

impl VcpuThread {
    fn kick(self) {
        // SAFETY: the id belongs to the vCPU thread, which has not been
        // joined yet (see the type's documentation), so pthread_kill cannot
        // reach a recycled thread. The kick signal has a handler installed
        // before any vCPU thread starts, so it cannot kill the process.
        let status = unsafe { libc::pthread_kill(self.0, kick_signal()) };
        if status != 0 {
            tracing::debug!(status, "kicking the vCPU thread failed");
        }
    }
}

/// Looks at the VM every tick until it is stopping, stopping it on a
/// verdict.
fn watch(shared: &VmShared, limits: &WatchdogLimits, vcpu: VcpuThread) {
    let mut rate = ExitRate::new(shared.stats.total(), Instant::now());
    loop {
        if shared.control.sleep_unless_stopping(limits.tick) {
            return;
        }
        if shared.input_by_interrupt && shared.control.has_pending_input() {
            // The vCPU picks up input when it leaves KVM_RUN; a guest idle
            // in an in-kernel HLT only does on a kick. So keystrokes reach
            // a Linux guest within one tick.
            vcpu.kick();
        }
        if let Some(verdict) = inspect(shared, limits, &mut rate) {
            tracing::warn!(guest = shared.program.name, %verdict, "watchdog stops the VM");
            shared.control.request_stop(StopReason::Watchdog(verdict));
            return;
        }
    }
}

fn inspect(
    shared: &VmShared,
    limits: &WatchdogLimits,
    rate: &mut ExitRate,
) -> Option<WatchdogVerdict> {
    let now = Instant::now();
    let booted = shared.console.banner_seen_at().is_some();
    let since_start = now.saturating_duration_since(shared.started_at);
    if !booted && since_start > limits.start_deadline {
        return Some(WatchdogVerdict::NoBanner {
            waited: since_start,
        });
    }

    let busy_for = shared.activity.since_progress();
    if !shared.control.is_halted() && busy_for > limits.spin_limit {
        return Some(WatchdogVerdict::Spinning { busy_for });
    }

    if let Some(per_second) = rate.sample(shared.stats.total(), now)
        && per_second > limits.max_exits_per_second
    {
        return Some(WatchdogVerdict::ExitStorm {
            per_second,
            cap: limits.max_exits_per_second,
        });
    }

    let unread_for = shared
        .control
        .unread_since()
        .map(|since| now.saturating_duration_since(since));
    match unread_for {
        Some(waited) if waited > limits.answer_timeout => {
            Some(WatchdogVerdict::NotAnswering { waited })
        }
        _ => None,
    }
}

/// Kicks the vCPU until its thread has left the run loop.
fn kick_until_exited(shared: &VmShared, vcpu: VcpuThread) {
    while !shared.control.wait_for_vcpu_exit(Duration::ZERO) {
        vcpu.kick();
        shared.control.wait_for_vcpu_exit(KICK_INTERVAL);
    }
}

/// Exits per second over windows of at least one second.
#[derive(Debug)]
struct ExitRate {
    window_start: Instant,
    total_at_start: u64,
}

impl ExitRate {
    const WINDOW: Duration = Duration::from_secs(1);

    fn new(total: u64, now: Instant) -> Self {
        ExitRate {
            window_start: now,
            total_at_start: total,
        }
    }

    /// The rate of the window that just closed, if one did.
    fn sample(&mut self, total: u64, now: Instant) -> Option<u64> {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed < Self::WINDOW {
            return None;
        }
        let exits = total.saturating_sub(self.total_at_start);
        *self = ExitRate::new(total, now);
        let millis = u64::try_from(elapsed.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Some(exits.saturating_mul(1000) / millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_rate_reports_once_per_window() {
        let start = Instant::now();
        let mut rate = ExitRate::new(0, start);
        assert_eq!(rate.sample(500, start + Duration::from_millis(500)), None);
        assert_eq!(
            rate.sample(2_000, start + Duration::from_secs(2)),
            Some(1_000)
        );
        assert_eq!(
            rate.sample(2_100, start + Duration::from_millis(2_500)),
            None
        );
    }
}
