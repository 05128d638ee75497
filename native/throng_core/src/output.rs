//! The one interface through which everything the engine produces for the
//! outside leaves: replies, notices to callers of a stopped session,
//! monitor DOWN notices, system replies and terminate reports.
//!
//! Glue crates implement [`Output`]: the NIF sends messages to pids, the
//! port program writes frames, tests collect into a `Vec`. The engine calls
//! it while it holds a shard lock, so an implementation must not call back
//! into the engine; it should only send or buffer.

use crate::machine::{CallbackMode, Event, ExitReason, Machine, TimeoutType};
use crate::SessionId;
use derive_where::derive_where;

/// A monitor reference, unique within an engine.
pub type MonitorRef = u64;

/// Receives what the engine produces.
pub trait Output<M: Machine + ?Sized> {
    /// A reply to a call: gen_statem's `From ! {Tag, Reply}`. Sent at once
    /// when the `{reply, From, Reply}` action is processed.
    fn reply(&mut self, from: M::From, reply: M::Reply);

    /// A call whose event was still queued, postponed or being handled when
    /// its session stopped: the caller must exit with `reason` (the
    /// gen_statem caller sees it through its monitor) instead of waiting.
    fn call_failed(&mut self, session: SessionId, from: M::From, reason: &ExitReason<M>);

    /// A monitor fired: `{'DOWN', MRef, throng, Session, Reason}`.
    fn down(&mut self, watcher: M::Watcher, mref: MonitorRef, session: SessionId, reason: &ExitReason<M>);

    /// The answer to a system request ([`crate::SystemRequest`]).
    fn system_reply(&mut self, from: M::From, reply: SystemReply<M>);

    /// A session has terminated (after `terminate/3`). Carries what the
    /// gen_statem error report lists; the glue decides whether to log
    /// (gen_statem logs unless the reason is `normal`, `shutdown` or
    /// `{shutdown, _}`).
    fn terminated(&mut self, report: &TerminateReport<'_, M>);

    /// Something the machine produced for the outside (a BEAM machine's
    /// work item, a Rust machine's message to a pid). Default: dropped.
    fn emit(&mut self, _session: SessionId, _item: M::Emit) {}

    /// A state callback to run elsewhere, handed over borrowed (a BEAM
    /// machine's executor gets the event, state and data without the engine
    /// copying them first). Default: nothing.
    fn dispatch(&mut self, _session: SessionId, _call: &crate::Invocation<'_, M>) {}

    /// A time-out was armed to expire at `deadline_ms` (clock base): whoever
    /// drives [`crate::Engine::tick`] may need to wake earlier than planned.
    /// Default: nothing.
    fn armed(&mut self, _deadline_ms: i64) {}

    /// A timer, a message or a resumed callback left work that did not fit
    /// in the current run's budget: someone should call
    /// [`crate::Engine::run_pending`]. Default: nothing (callers poll
    /// [`crate::Engine::has_pending`]).
    fn wake(&mut self) {}
}

/// The answer to a system request.
#[derive_where(Debug)]
pub enum SystemReply<M: Machine + ?Sized> {
    /// `ok`: `sync`, `suspend`, `resume` done.
    Ok,
    /// `get_state`: `{State, Data}`.
    State(M::State, M::Data),
    /// `get_status`.
    Status(Box<Status<M>>),
    /// `stop/3` done: the session exited with this reason.
    Stopped(ExitReason<M>),
}

/// A session's status, as `sys:get_status` shows it.
#[derive_where(Debug, Clone)]
pub struct Status<M: Machine + ?Sized> {
    /// The session.
    pub session: SessionId,
    /// The state.
    pub state: M::State,
    /// The data.
    pub data: M::Data,
    /// The callback module stack, head first.
    pub modules: Vec<M::Module>,
    /// The callback mode of the head module.
    pub mode: CallbackMode,
    /// Events not yet handled: inserted and retried events, then the
    /// mailbox (external events and fired timers).
    pub queue_len: usize,
    /// Postponed events.
    pub postponed_len: usize,
    /// The running time-outs, zero time-outs included, as `{Type, Msg}`.
    pub timeouts: Vec<(TimeoutType<M::TimeoutName>, M::Msg)>,
    /// Suspended with `suspend`.
    pub suspended: bool,
    /// A callback is running elsewhere and its result is awaited.
    pub busy: bool,
}

/// What a terminated session leaves behind, for the report.
pub struct TerminateReport<'a, M: Machine + ?Sized> {
    /// The session.
    pub session: SessionId,
    /// The exit reason (after `terminate/3`, which may replace it).
    pub reason: &'a ExitReason<M>,
    /// The state `terminate/3` saw.
    pub state: &'a M::State,
    /// The data `terminate/3` saw.
    pub data: &'a M::Data,
    /// The module stack, head first.
    pub modules: &'a [M::Module],
    /// The callback mode.
    pub mode: CallbackMode,
    /// The event being handled when the session stopped, if any.
    pub current: Option<&'a Event<M>>,
    /// Queued events (inserted, retried, then external), oldest first.
    pub queue: Vec<&'a Event<M>>,
    /// Postponed events, oldest first.
    pub postponed: Vec<&'a Event<M>>,
    /// Time-outs still running.
    pub timeouts: Vec<(&'a TimeoutType<M::TimeoutName>, &'a M::Msg)>,
}
