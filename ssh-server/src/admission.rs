//! Bookkeeping behind the connection and session limits: failed log-ins per
//! address, and open sessions per user and in total.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Addresses tracked before old, quiet ones are forgotten.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

/// Recent failed log-ins per client address.
pub(crate) struct FailureLedger {
    max_failures: usize,
    window: Duration,
    failures: HashMap<IpAddr, VecDeque<Instant>>,
}

impl FailureLedger {
    pub(crate) fn new(max_failures: u32, window: Duration) -> Self {
        FailureLedger {
            max_failures: usize::try_from(max_failures).unwrap_or(usize::MAX),
            window,
            failures: HashMap::new(),
        }
    }

    /// True when `address` has used up its failures in the current window.
    pub(crate) fn is_blocked(&mut self, address: IpAddr, now: Instant) -> bool {
        self.recent(address, now) >= self.max_failures
    }

    pub(crate) fn record_failure(&mut self, address: IpAddr, now: Instant) {
        if self.failures.len() >= MAX_TRACKED_ADDRESSES {
            self.forget_expired(now);
        }
        let entry = self.failures.entry(address).or_default();
        entry.push_back(now);
        // Only the last `max_failures` timestamps matter for the decision.
        while entry.len() > self.max_failures.max(1) {
            entry.pop_front();
        }
    }

    fn recent(&mut self, address: IpAddr, now: Instant) -> usize {
        let window = self.window;
        let Some(entry) = self.failures.get_mut(&address) else {
            return 0;
        };
        while entry
            .front()
            .is_some_and(|t| now.duration_since(*t) >= window)
        {
            entry.pop_front();
        }
        entry.len()
    }

    fn forget_expired(&mut self, now: Instant) {
        let window = self.window;
        self.failures.retain(|_, entry| {
            entry
                .back()
                .is_some_and(|t| now.duration_since(*t) < window)
        });
    }
}

/// Open sessions per user and in total, with a cap on the total.
#[derive(Clone)]
pub(crate) struct SessionRegistry {
    inner: Arc<Mutex<RegistryState>>,
}

struct RegistryState {
    max_sessions: usize,
    total: usize,
    per_user: HashMap<String, usize>,
}

/// Keeps a session counted until dropped.
pub(crate) struct SessionSlot {
    registry: SessionRegistry,
    user: String,
    /// Sessions of the same user that were open when this one started.
    pub(crate) others_of_user: usize,
}

impl SessionRegistry {
    pub(crate) fn new(max_sessions: usize) -> Self {
        let state = RegistryState {
            max_sessions,
            total: 0,
            per_user: HashMap::new(),
        };
        SessionRegistry {
            inner: Arc::new(Mutex::new(state)),
        }
    }

    /// Counts a new session of `user`, or `None` when the server is full.
    pub(crate) fn try_open(&self, user: &str) -> Option<SessionSlot> {
        let mut state = self.lock();
        if state.total >= state.max_sessions {
            return None;
        }
        state.total += 1;
        let count = state.per_user.entry(user.to_owned()).or_default();
        let others_of_user = *count;
        *count += 1;
        Some(SessionSlot {
            registry: self.clone(),
            user: user.to_owned(),
            others_of_user,
        })
    }

    pub(crate) fn total(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RegistryState> {
        // The counters stay consistent even if a holder panicked mid-update
        // of an unrelated field, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for SessionSlot {
    fn drop(&mut self) {
        let mut state = self.registry.lock();
        state.total = state.total.saturating_sub(1);
        if let Some(count) = state.per_user.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                state.per_user.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_blocked_after_max_failures_until_window_passes() {
        let mut ledger = FailureLedger::new(3, Duration::from_secs(600));
        let address = IpAddr::from([10, 0, 0, 1]);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(!ledger.is_blocked(address, start));
            ledger.record_failure(address, start);
        }
        assert!(ledger.is_blocked(address, start));
        assert!(!ledger.is_blocked(IpAddr::from([10, 0, 0, 2]), start));
        assert!(!ledger.is_blocked(address, start + Duration::from_secs(600)));
    }

    #[test]
    fn registry_counts_other_sessions_and_caps_total() {
        let registry = SessionRegistry::new(2);
        let first = registry.try_open("alice").unwrap();
        let second = registry.try_open("alice").unwrap();
        assert_eq!((first.others_of_user, second.others_of_user), (0, 1));
        assert!(registry.try_open("bob").is_none());

        drop(first);
        let bob = registry.try_open("bob").unwrap();
        assert_eq!(bob.others_of_user, 0);
        assert_eq!(registry.total(), 2);
    }
}
