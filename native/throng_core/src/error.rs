//! The engine's error enum: what an engine call can fail with.
//!
//! Glue crates map each variant to one term in one place (`badarg`,
//! `{error, Atom}`); the atom for each is [`Error::as_atom`].

use std::fmt;

/// Why an engine call was refused. Nothing already accepted is lost when a
/// call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// No such session: never existed, stopped, or a stale handle to a
    /// recycled slot.
    NoProc,
    /// The engine holds `max_sessions` sessions.
    TooManySessions,
    /// The session's queue of not-yet-handled events holds
    /// `max_queue_len` events.
    QueueFull,
    /// `resume*` was called for a callback the session is not waiting for.
    NotWaiting,
    /// A bad argument (for example an engine configuration out of range).
    Badarg,
    /// The session's shard was busy and the calling thread must not wait
    /// (see [`crate::set_nonblocking_thread`]): nothing was done; try again.
    Busy,
}

impl Error {
    /// The atom the glue reports: `noproc`, `too_many_sessions`,
    /// `queue_full`, `not_waiting`, `badarg`, `busy`.
    pub fn as_atom(self) -> &'static str {
        match self {
            Error::NoProc => "noproc",
            Error::TooManySessions => "too_many_sessions",
            Error::QueueFull => "queue_full",
            Error::NotWaiting => "not_waiting",
            Error::Badarg => "badarg",
            Error::Busy => "busy",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_atom())
    }
}

impl std::error::Error for Error {}
