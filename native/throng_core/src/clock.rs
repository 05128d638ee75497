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

    /// The time a relative time-out counts from: the current time rounded
    /// *up* to the millisecond, so a time-out of `T` ms never fires before
    /// `T` ms have passed (as a BEAM timer). Default: `now_ms()` (a clock
    /// that only reads whole milliseconds).
    fn now_ms_ceil(&self) -> i64 {
        self.now_ms()
    }

    /// The current time in nanoseconds, same base: what a thread waiting
    /// for a deadline sleeps by, so that it wakes at the deadline's
    /// millisecond rather than up to one later. Default: `now_ms()` in
    /// nanoseconds.
    fn now_ns(&self) -> i128 {
        i128::from(self.now_ms()) * 1_000_000
    }
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

/// The operating system's monotonic clock, offset so that it reads the
/// BEAM's monotonic time: created with `erlang:monotonic_time(nanosecond)`
/// read at the same moment, so the two agree to well under a millisecond.
#[derive(Debug, Clone)]
pub struct SystemClock {
    start: Instant,
    base_ns: i128,
}

impl SystemClock {
    /// A clock reading `base_ms` milliseconds now.
    pub fn new(base_ms: i64) -> Self {
        Self::from_nanos(i128::from(base_ms) * 1_000_000)
    }

    /// A clock reading `base_ns` nanoseconds now.
    pub fn from_nanos(base_ns: i128) -> Self {
        SystemClock { start: Instant::now(), base_ns }
    }
}

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        self.now_ns().div_euclid(1_000_000) as i64
    }

    fn now_ms_ceil(&self) -> i64 {
        let ns = self.now_ns();
        (ns.div_euclid(1_000_000) + i128::from(ns.rem_euclid(1_000_000) != 0)) as i64
    }

    fn now_ns(&self) -> i128 {
        self.base_ns + self.start.elapsed().as_nanos() as i128
    }
}
