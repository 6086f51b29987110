//! What the vCPU thread, the watchdog and the session share about a running
//! VM: keystrokes on their way to the guest, the request to stop, and the
//! condition variable that wakes a halted vCPU.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::devices::SerialPort;

/// Typed bytes the VMM holds for a guest that reads slower than the student
/// types; beyond this, input is refused rather than buffered.
pub const MAX_PENDING_INPUT: usize = 4096;

/// Why a VM stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The guest wrote the power-off port.
    PoweredOff,
    /// Someone ran `vm stop`.
    Requested,
    /// The student's session ended.
    SessionEnded,
    /// KVM reported a shutdown (a triple fault, or a reset request).
    GuestShutdown,
    /// A watchdog found the guest misbehaving.
    Watchdog(WatchdogVerdict),
    /// KVM or the VMM failed; the text says which operation.
    Failed(String),
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::PoweredOff => f.write_str("the guest powered off"),
            StopReason::Requested => f.write_str("stopped by `vm stop`"),
            StopReason::SessionEnded => f.write_str("the session ended"),
            StopReason::GuestShutdown => f.write_str("the guest shut down (triple fault or reset)"),
            StopReason::Watchdog(verdict) => write!(f, "stopped by the watchdog: {verdict}"),
            StopReason::Failed(what) => write!(f, "the VMM failed: {what}"),
        }
    }
}

/// What a watchdog found wrong with a guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchdogVerdict {
    /// The banner did not appear within the start deadline.
    NoBanner { waited: Duration },
    /// The guest ran without any I/O or HLT for too long.
    Spinning { busy_for: Duration },
    /// The guest caused more exits per second than allowed.
    ExitStorm { per_second: u64, cap: u64 },
    /// Typed input stayed unread for too long.
    NotAnswering { waited: Duration },
}

impl fmt::Display for WatchdogVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WatchdogVerdict::NoBanner { waited } => {
                write!(
                    f,
                    "no banner on the console after {:.1} s",
                    waited.as_secs_f64()
                )
            }
            WatchdogVerdict::Spinning { busy_for } => write!(
                f,
                "the guest ran {:.1} s without I/O or HLT (spinning)",
                busy_for.as_secs_f64()
            ),
            WatchdogVerdict::ExitStorm { per_second, cap } => {
                write!(
                    f,
                    "{per_second} VM exits per second, more than the cap of {cap}"
                )
            }
            WatchdogVerdict::NotAnswering { waited } => write!(
                f,
                "the guest left console input unread for {:.1} s",
                waited.as_secs_f64()
            ),
        }
    }
}

/// How a halted vCPU's wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HltWake {
    /// Input arrived: run the guest again.
    Resume,
    /// The VM is stopping.
    Stop,
}

/// How waiting for typed input ended (hosted emulator only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputWait {
    /// Bytes the student typed, in order.
    Input(Vec<u8>),
    /// The VM is stopping.
    Stop,
    /// Nothing arrived in time.
    Idle,
}

/// Shared state of one VM's vCPU, guarded by one mutex so that a keystroke
/// and a HLT can never miss each other.
#[derive(Debug, Default)]
pub struct VcpuControl {
    state: Mutex<ControlState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct ControlState {
    /// Typed bytes not yet in the UART's receive FIFO.
    pending: VecDeque<u8>,
    /// Bumped by every accepted keystroke batch.
    generation: u64,
    stop: Option<StopReason>,
    /// Since when the guest has had input it has not read, if it has.
    unread_since: Option<Instant>,
    /// Whether the vCPU is waiting in HLT (idle, not spinning).
    halted: bool,
    /// Whether the vCPU thread has left its run loop for good.
    vcpu_exited: bool,
}

impl VcpuControl {
    /// Queues typed bytes for the guest and wakes it if halted. Returns how
    /// many were accepted: fewer than given when the queue is full.
    pub fn push_input(&self, bytes: &[u8]) -> usize {
        let mut state = self.lock();
        let room = MAX_PENDING_INPUT.saturating_sub(state.pending.len());
        let accepted = room.min(bytes.len());
        if accepted == 0 {
            return 0;
        }
        state.pending.extend(&bytes[..accepted]);
        state.generation = state.generation.wrapping_add(1);
        state.unread_since.get_or_insert_with(Instant::now);
        self.changed.notify_all();
        accepted
    }

    /// Asks the VM to stop; the first reason given is the one kept.
    pub fn request_stop(&self, reason: StopReason) {
        let mut state = self.lock();
        state.stop.get_or_insert(reason);
        self.changed.notify_all();
    }

    /// Why the VM is stopping, once someone asked.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.lock().stop.clone()
    }

    pub fn is_stopping(&self) -> bool {
        self.lock().stop.is_some()
    }

    /// Whether the vCPU is idle in HLT right now.
    pub fn is_halted(&self) -> bool {
        self.lock().halted
    }

    /// Since when typed input has waited for the guest, if it has.
    pub fn unread_since(&self) -> Option<Instant> {
        self.lock().unread_since
    }

    /// Moves queued bytes into the UART FIFO as far as it has room; returns
    /// how many moved.
    pub fn refill(&self, serial: &mut SerialPort) -> usize {
        refill_locked(&mut self.lock(), serial)
    }

    /// Records that the guest read its receive register: input is unread
    /// only while the FIFO or the queue still holds some.
    pub fn note_guest_read(&self, serial: &mut SerialPort) {
        let mut state = self.lock();
        refill_locked(&mut state, serial);
        state.unread_since = if serial.has_input() {
            Some(Instant::now())
        } else {
            None
        };
    }

    /// Called on a HLT exit: resumes at once if queued input could be moved
    /// into the FIFO, otherwise sleeps until new input arrives or the VM is
    /// stopping. A guest that halts with unread input in its FIFO is not
    /// woken again until the student types more; the not-answering watchdog
    /// catches a guest that never reads.
    pub fn wait_after_hlt(&self, serial: &mut SerialPort) -> HltWake {
        let mut state = self.lock();
        if refill_locked(&mut state, serial) > 0 {
            return HltWake::Resume;
        }
        let seen = state.generation;
        state.halted = true;
        let mut state = self
            .changed
            .wait_while(state, |s| s.stop.is_none() && s.generation == seen)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.halted = false;
        if state.stop.is_some() {
            return HltWake::Stop;
        }
        refill_locked(&mut state, serial);
        HltWake::Resume
    }

    /// Takes everything typed so far, waiting up to `timeout` for the first
    /// byte. For a guest that reads its input through another program (the
    /// hosted emulator) rather than through this VMM's UART.
    pub fn wait_for_input(&self, timeout: Duration) -> InputWait {
        let state = self.lock();
        let (mut state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |s| s.stop.is_none() && s.pending.is_empty())
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.stop.is_some() {
            return InputWait::Stop;
        }
        if state.pending.is_empty() {
            return InputWait::Idle;
        }
        state.unread_since = None;
        InputWait::Input(state.pending.drain(..).collect())
    }

    /// Whether typed bytes wait to be moved into the UART.
    pub fn has_pending_input(&self) -> bool {
        !self.lock().pending.is_empty()
    }

    /// Records that the vCPU thread has left its run loop for good.
    pub fn mark_vcpu_exited(&self) {
        self.lock().vcpu_exited = true;
        self.changed.notify_all();
    }

    /// Waits up to `timeout` for the vCPU thread to leave its run loop;
    /// returns whether it has.
    pub fn wait_for_vcpu_exit(&self, timeout: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |s| !s.vcpu_exited)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.vcpu_exited
    }

    /// Sleeps up to `timeout`, returning early with `true` once the VM is
    /// stopping.
    pub fn sleep_unless_stopping(&self, timeout: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |s| s.stop.is_none())
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.stop.is_some()
    }

    fn lock(&self) -> MutexGuard<'_, ControlState> {
        // Every update of this state is a single assignment, so a panic
        // elsewhere cannot leave it half-written.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn refill_locked(state: &mut ControlState, serial: &mut SerialPort) -> usize {
    let room = serial.fifo_room().min(state.pending.len());
    if room == 0 {
        return 0;
    }
    let bytes: Vec<u8> = state.pending.drain(..room).collect();
    let accepted = serial.receive(&bytes);
    for &byte in bytes.get(accepted..).unwrap_or_default().iter().rev() {
        state.pending.push_front(byte);
    }
    accepted
}
