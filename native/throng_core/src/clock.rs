//! Clocks: where the engine reads the time.
//!
//! Time is milliseconds in the BEAM's monotonic base
//! (`erlang:monotonic_time(millisecond)`), which may be negative. The glue
//! supplies a clock that reads that base; tests use [`ManualClock`] and
//! move time with [`ManualClock::advance`], never with sleeps.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A monotonic millisecond clock.
pub trait Clock: Send + Sync + 'static {
    /// The current time in milliseconds, monotonic base.
    fn now_ms(&self) -> i64;
}

/// A clock that only moves when told to. Cloning shares the time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: i64) -> Self {
        ManualClock { now: Arc::new(AtomicI64::new(start)) }
    }
    /// Moves the time forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.now.fetch_add(ms as i64, Ordering::SeqCst);
    }
    /// Sets the time (never backwards).
    pub fn set(&self, now: i64) {
        self.now.fetch_max(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// The operating system's monotonic clock, offset so that it reads `base`
/// at creation (the glue passes `erlang:monotonic_time(millisecond)`).
#[derive(Debug, Clone)]
pub struct SystemClock {
    start: Instant,
    base: i64,
}

impl SystemClock {
    /// A clock reading `base` now.
    pub fn new(base: i64) -> Self {
        SystemClock { start: Instant::now(), base }
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        self.base + self.start.elapsed().as_millis() as i64
    }
}
