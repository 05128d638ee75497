//! Session records and handles.
//!
//! The hot record ([`Session`]) holds what an idle session needs: state,
//! data, a shared pointer to its rarely-changing parameters (module stack,
//! callback mode), the head of its timer chain and a few flags. Everything
//! transient (queues, postponed events, a transition waiting for a callback,
//! monitors) lives in [`Extras`], allocated only while needed, so an idle
//! session with nothing postponed costs no more than its hot record.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use crate::machine::{Action, CallbackMode, Event, ExitReason, Machine, TimeoutAction};
use crate::output::MonitorRef;
use crate::wheel::TimerId;

/// A session handle: a slot number and the slot's generation. A handle to
/// a session that stopped never reaches the session that reuses its slot:
/// the generation differs and the engine answers `noproc`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(u64);

impl SessionId {
    pub(crate) fn new(slot: u32, generation: u32) -> Self {
        SessionId(((generation as u64) << 32) | slot as u64)
    }
    /// The slot number (engine-wide).
    pub fn slot(self) -> u32 {
        self.0 as u32
    }
    /// The slot's generation when the session started.
    pub fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
    /// The handle as an integer (for the glue's terms).
    pub fn to_u64(self) -> u64 {
        self.0
    }
    /// A handle from an integer given back by the glue. Any value is safe:
    /// an unknown one is `noproc`.
    pub fn from_u64(raw: u64) -> Self {
        SessionId(raw)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#session<{}.{}>", self.slot(), self.generation())
    }
}

/// A session's rarely-changing parameters: gen_statem's `#params`.
/// Shared between sessions until one of them changes its module stack.
#[derive(Debug)]
pub(crate) struct Params<M: Machine> {
    /// The callback module stack, head first (never empty).
    pub modules: Vec<M::Module>,
    /// The head module's callback mode.
    pub mode: CallbackMode,
}

/// `flags` bits.
pub(crate) const F_BUSY: u8 = 1; // a callback result is awaited
pub(crate) const F_SUSPENDED: u8 = 2;
pub(crate) const F_RUNNABLE: u8 = 4; // in the shard's runnable list
pub(crate) const F_HIBERNATE: u8 = 8; // last transition asked for hibernate
pub(crate) const F_STOPPING: u8 = 16; // terminate/3 is running

/// No timer.
pub(crate) const NO_TIMER: u32 = u32::MAX;

/// The hot per-session record.
pub(crate) struct Session<M: Machine> {
    pub state: M::State,
    pub data: M::Data,
    pub params: Arc<Params<M>>,
    pub extras: Option<Box<Extras<M>>>,
    /// Head of this session's chain of timer records in the shard's wheel.
    pub timers: u32,
    pub flags: u8,
}

/// A session's transient parts.
pub(crate) struct Extras<M: Machine> {
    /// Events and requests not yet taken, in arrival order (the mailbox).
    pub mailbox: VecDeque<Incoming<M>>,
    /// Inserted (`next_event`) and retried postponed events: gen_statem's
    /// loop queue, kept here because a callback may answer later.
    pub queue: VecDeque<Event<M>>,
    /// Postponed events, oldest first.
    pub postponed: VecDeque<Event<M>>,
    /// Zero time-outs, in delivery order.
    pub t0q: VecDeque<TimerId>,
    /// What the session is waiting for, when [`F_BUSY`] is set.
    pub phase: Phase<M>,
    /// Monitors on this session.
    pub monitors: Vec<(MonitorRef, M::Watcher)>,
    /// How many mailbox items are events (the rest are fired timers,
    /// system requests and `sync`s, which `max_queue_len` does not count).
    pub mailbox_events: usize,
    /// The transition waiting for a callback that runs elsewhere (set with
    /// [`F_BUSY`]). Boxed: most extras never hold one for long.
    pub pending: Option<Box<Transition<M>>>,
}

impl<M: Machine> Default for Extras<M> {
    fn default() -> Self {
        Extras {
            mailbox: VecDeque::new(),
            queue: VecDeque::new(),
            postponed: VecDeque::new(),
            t0q: VecDeque::new(),
            phase: Phase::Idle,
            monitors: Vec::new(),
            mailbox_events: 0,
            pending: None,
        }
    }
}

impl<M: Machine> Extras<M> {
    /// Nothing left that must be kept.
    pub fn is_empty(&self) -> bool {
        self.mailbox.is_empty()
            && self.queue.is_empty()
            && self.postponed.is_empty()
            && self.t0q.is_empty()
            && matches!(self.phase, Phase::Idle)
            && self.monitors.is_empty()
            && self.pending.is_none()
    }
    /// Events counted against `max_queue_len`.
    pub fn queued(&self) -> usize {
        self.mailbox_events + self.queue.len() + self.postponed.len()
    }

    /// Appends to the mailbox, counting events.
    pub fn push_mail(&mut self, item: Incoming<M>) {
        if let Incoming::Event(_) = item {
            self.mailbox_events += 1;
        }
        self.mailbox.push_back(item);
    }

    /// Counts an item taken out of the mailbox.
    pub fn took_mail(&mut self, item: &Incoming<M>) {
        if let Incoming::Event(_) = item {
            self.mailbox_events -= 1;
        }
    }
}

/// An item in a session's mailbox.
pub(crate) enum Incoming<M: Machine> {
    /// An external event (call, cast, info).
    Event(Event<M>),
    /// A timer that expired; its record holds the type and message.
    Fired(TimerId),
    /// A system request.
    System(crate::engine::SystemRequest<M>),
    /// `sync`: answered when reached (queue and zero time-outs empty).
    Sync(M::From),
}

/// What a busy session waits for.
pub(crate) enum Phase<M: Machine> {
    Idle,
    /// `init/1` runs elsewhere (the session is in [`Idle::Init`]).
    Init,
    /// `terminate/3` runs elsewhere.
    Terminate(Box<Stopping<M>>),
}

/// One transition in progress: gen_statem's loop variables.
pub(crate) struct Transition<M: Machine> {
    /// The event being handled (`None` for the init transition).
    pub event: Option<Event<M>>,
    /// The new state, when the transition changes it (`S1 =/= S0`).
    pub state: Option<M::State>,
    /// The new data, when set.
    pub data: Option<M::Data>,
    /// An enter call is the callback now running.
    pub enter: bool,
    /// The current event is a call and a reply to its `From` was sent.
    pub replied: bool,
    /// Accumulated actions of the event callback and every enter call.
    pub postpone: bool,
    pub hibernate: bool,
    pub next_events: Vec<Event<M>>,
    pub timeouts: Vec<TimeoutAction<M>>,
}

impl<M: Machine> Transition<M> {
    /// Notes a reply: if it answers the current event's call, the caller
    /// needs no notice when the session stops.
    pub fn note_reply(&mut self, from: &M::From) {
        if let Some(Event { kind: crate::machine::EventType::Call(f), .. }) = &self.event {
            if f == from {
                self.replied = true;
            }
        }
    }

    pub fn new(event: Option<Event<M>>) -> Self {
        Transition {
            event,
            state: None,
            data: None,
            enter: false,
            replied: false,
            postpone: false,
            hibernate: false,
            next_events: Vec::new(),
            timeouts: Vec::new(),
        }
    }
}

/// A session whose `terminate/3` runs.
pub(crate) struct Stopping<M: Machine> {
    pub reason: ExitReason<M>,
    pub current: Option<Event<M>>,
    /// The current event is a call that has been answered.
    pub answered: bool,
    pub requester: Option<M::From>,
}

/// A session that has not finished `init/1`.
pub(crate) struct Initializing<M: Machine> {
    pub module: M::Module,
    pub extras: Extras<M>,
}

/// A slot of the session table. Two variants, so that the tag fits in a
/// niche of [`Session`] (its `params` pointer is never null): a slot is no
/// larger than a live session.
pub(crate) enum Slot<M: Machine> {
    Live(Session<M>),
    Idle(Idle<M>),
}

/// A slot without a live session.
pub(crate) enum Idle<M: Machine> {
    /// Free; `next` is the next free slot.
    Free { next: u32 },
    /// `init/1` has not finished.
    Init(Box<Initializing<M>>),
}

impl<M: Machine> Slot<M> {
    pub fn free(next: u32) -> Self {
        Slot::Idle(Idle::Free { next })
    }
    pub fn is_free(&self) -> bool {
        matches!(self, Slot::Idle(Idle::Free { .. }))
    }
}

/// A timer record: the payload of a wheel entry. gen_statem's `timers`
/// map entry `Type => {Ref | 0, Msg}`.
pub(crate) struct TimerRec<M: Machine> {
    /// Local slot index of the owning session.
    pub slot: u32,
    /// Next record of the same session, or [`NO_TIMER`].
    pub next: u32,
    pub status: TimerStatus,
    pub kind: crate::machine::TimeoutType<M::TimeoutName>,
    pub msg: M::Msg,
}

/// Where a time-out is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerStatus {
    /// Armed in the wheel.
    Running,
    /// A zero time-out, in the session's `t0q`.
    Zero,
    /// Expired; a [`Incoming::Fired`] waits in the mailbox.
    Fired,
}

/// The action of an error reason, boxed.
pub(crate) fn boxed<M: Machine>(a: Action<M>) -> Box<Action<M>> {
    Box::new(a)
}
