//! The guest's serial console output: a bounded buffer behind a rate limit.
//!
//! The guest decides how much it prints, so nothing here grows with it: the
//! buffer keeps the last [`ConsoleLimits::capacity`] bytes, and a token
//! bucket drops what arrives faster than [`ConsoleLimits::bytes_per_second`]
//! (after a burst allowance), leaving a note in the output when it did.
//! Readers follow the output by absolute byte offsets, so a slow reader
//! learns how much it missed instead of blocking the vCPU.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::watch;

/// How much console output a VM may produce and keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleLimits {
    /// Bytes kept for late readers and for `console_matches` checks.
    pub capacity: usize,
    /// Sustained output rate; bytes beyond it are dropped.
    pub bytes_per_second: u32,
    /// Bytes that may arrive at once before the rate applies.
    pub burst: u32,
}

impl Default for ConsoleLimits {
    fn default() -> Self {
        ConsoleLimits {
            capacity: 64 * 1024,
            bytes_per_second: 8 * 1024,
            burst: 16 * 1024,
        }
    }
}

/// The most a single [`ConsoleBuffer::read_from`] returns.
const MAX_CHUNK: usize = 4096;

/// A slice of console output for one reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleChunk {
    pub bytes: Vec<u8>,
    /// The offset to read from next time.
    pub next: u64,
    /// Bytes the reader missed because the buffer had already dropped them.
    pub skipped: u64,
}

/// Console output of one VM, shared between the vCPU thread (writer) and any
/// number of readers.
#[derive(Debug)]
pub struct ConsoleBuffer {
    state: Mutex<ConsoleState>,
    /// The absolute offset of the end of the output; changes wake readers.
    end: watch::Sender<u64>,
}

#[derive(Debug)]
struct ConsoleState {
    limits: ConsoleLimits,
    retained: VecDeque<u8>,
    /// Absolute offset of `retained[0]`.
    start: u64,
    bucket: TokenBucket,
    dropped_total: u64,
    dropped_unreported: u64,
    banner: BannerWatch,
}

impl ConsoleBuffer {
    /// An empty console that notes when `banner` first appears in the output.
    pub fn new(limits: ConsoleLimits, banner: &str) -> Self {
        let state = ConsoleState {
            limits,
            retained: VecDeque::new(),
            start: 0,
            bucket: TokenBucket::new(limits.bytes_per_second, limits.burst),
            dropped_total: 0,
            dropped_unreported: 0,
            banner: BannerWatch::new(banner.as_bytes()),
        };
        let (end, _) = watch::channel(0);
        ConsoleBuffer {
            state: Mutex::new(state),
            end,
        }
    }

    /// Appends guest output, dropping what exceeds the rate limit.
    pub fn push(&self, bytes: &[u8]) {
        let end = {
            let mut state = self.lock();
            let now = Instant::now();
            for &byte in bytes {
                state.push_limited(byte, now);
            }
            state.end()
        };
        self.end.send_replace(end);
    }

    /// Output from `offset` on, at most a few KiB at a time.
    pub fn read_from(&self, offset: u64) -> ConsoleChunk {
        let state = self.lock();
        // An offset past the end (a reader from an earlier VM) restarts at
        // the end rather than waiting for output that will never come.
        let first = offset.max(state.start).min(state.end());
        let skipped = first.saturating_sub(offset);
        let skip_in_buffer = usize::try_from(first - state.start).unwrap_or(usize::MAX);
        let bytes: Vec<u8> = state
            .retained
            .iter()
            .skip(skip_in_buffer)
            .take(MAX_CHUNK)
            .copied()
            .collect();
        let next = first + u64::try_from(bytes.len()).unwrap_or(0);
        ConsoleChunk {
            bytes,
            next,
            skipped,
        }
    }

    /// The absolute offset just past the last byte written.
    pub fn end(&self) -> u64 {
        self.lock().end()
    }

    /// Wakes its holder whenever output arrives.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.end.subscribe()
    }

    /// The retained output as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        let state = self.lock();
        let (front, back) = state.retained.as_slices();
        let mut bytes = Vec::with_capacity(state.retained.len());
        bytes.extend_from_slice(front);
        bytes.extend_from_slice(back);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// When the banner first appeared, if it has.
    pub fn banner_seen_at(&self) -> Option<Instant> {
        self.lock().banner.seen_at
    }

    /// Bytes the rate limit has dropped so far.
    pub fn dropped(&self) -> u64 {
        self.lock().dropped_total
    }

    fn lock(&self) -> MutexGuard<'_, ConsoleState> {
        // A panic while holding this lock cannot leave the buffer
        // inconsistent in a way readers care about, so keep going.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ConsoleState {
    fn push_limited(&mut self, byte: u8, now: Instant) {
        if !self.bucket.take(now) {
            self.dropped_total += 1;
            self.dropped_unreported += 1;
            return;
        }
        if self.dropped_unreported > 0 {
            let note = format!(
                "\r\n[console: {} bytes dropped]\r\n",
                self.dropped_unreported
            );
            self.dropped_unreported = 0;
            note.bytes().for_each(|b| self.append(b, now));
        }
        self.append(byte, now);
    }

    fn append(&mut self, byte: u8, now: Instant) {
        if self.retained.len() >= self.limits.capacity.max(1) {
            self.retained.pop_front();
            self.start += 1;
        }
        self.retained.push_back(byte);
        self.banner.observe(&self.retained, now);
    }

    fn end(&self) -> u64 {
        self.start + u64::try_from(self.retained.len()).unwrap_or(0)
    }
}

/// Notes the first time the output ends with a given text.
#[derive(Debug)]
struct BannerWatch {
    needle: Vec<u8>,
    seen_at: Option<Instant>,
}

impl BannerWatch {
    fn new(needle: &[u8]) -> Self {
        BannerWatch {
            needle: needle.to_vec(),
            seen_at: None,
        }
    }

    fn observe(&mut self, output: &VecDeque<u8>, now: Instant) {
        if self.seen_at.is_some() || output.len() < self.needle.len() {
            return;
        }
        let tail = output.range(output.len() - self.needle.len()..);
        if tail.eq(self.needle.iter()) {
            self.seen_at = Some(now);
        }
    }
}

/// A classic token bucket counting bytes.
#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    fn new(per_second: u32, burst: u32) -> Self {
        let capacity = f64::from(burst.max(1));
        TokenBucket {
            rate: f64::from(per_second),
            capacity,
            tokens: capacity,
            refilled_at: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now
            .saturating_duration_since(self.refilled_at)
            .as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.refilled_at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The serial port's output side: everything the guest transmits lands in
/// the shared [`ConsoleBuffer`].
#[derive(Debug, Clone)]
pub struct ConsoleWriter(pub Arc<ConsoleBuffer>);

impl io::Write for ConsoleWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.push(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(capacity: usize, burst: u32) -> ConsoleBuffer {
        let limits = ConsoleLimits {
            capacity,
            bytes_per_second: 0,
            burst,
        };
        ConsoleBuffer::new(limits, "ready")
    }

    #[test]
    fn keeps_only_the_last_capacity_bytes_and_reports_what_a_reader_missed() {
        let console = small(4, 100);
        console.push(b"abcdefgh");
        assert_eq!(console.text(), "efgh");
        let chunk = console.read_from(0);
        assert_eq!(chunk.bytes, b"efgh");
        assert_eq!(chunk.skipped, 4);
        assert_eq!(chunk.next, 8);
        assert!(console.read_from(8).bytes.is_empty());
    }

    #[test]
    fn rate_limit_drops_bytes_beyond_the_burst_and_says_so() {
        let console = small(1024, 3);
        console.push(b"12345");
        assert_eq!(console.text(), "123");
        assert_eq!(console.dropped(), 2);
    }

    #[test]
    fn banner_is_seen_even_when_split_across_pushes() {
        let console = small(1024, 100);
        console.push(b"booting... rea");
        assert!(console.banner_seen_at().is_none());
        console.push(b"dy\r\n");
        assert!(console.banner_seen_at().is_some());
    }

    #[test]
    fn reading_past_the_end_returns_nothing_without_panicking() {
        let console = small(16, 100);
        console.push(b"hi");
        let chunk = console.read_from(1_000);
        assert!(chunk.bytes.is_empty());
        assert_eq!(chunk.skipped, 0);
        assert_eq!(chunk.next, 2);
    }
}
