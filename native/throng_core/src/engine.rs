//! The engine: a sharded session table and gen_statem's event loop.
//!
//! # Ground rules
//!
//! * Sessions live in `shards` independent shards, each behind its own
//!   mutex, with its own slab of sessions and its own timer wheel. A session
//!   belongs to one shard for life (its slot number says which), so calls on
//!   different shards never contend, and no lock is global.
//! * Every operation on a session locks its shard, runs the session as far
//!   as it can (at most `run_budget` callbacks), and unlocks. Work left over
//!   is put on the shard's runnable list and [`Output::wake`] is called;
//!   [`Engine::run_pending`] continues it. Nothing here blocks or sleeps.
//! * A machine callback may answer later ([`Step::Pending`]): the session is
//!   then *busy*; events queue in its mailbox until the matching
//!   `resume*` call hands the result in. The transition in progress is kept
//!   in the session, so the loop continues exactly where it stopped.
//! * Machine callbacks run inside `catch_unwind`: a panic stops only that
//!   session, as an exception whose reason [`Machine::panic_reason`] builds.
//!   Callbacks must not call back into the engine (the shard is locked).
//! * The loop reads like gen_statem's: [`Shard::run`] takes the next event
//!   (queue, then zero time-outs, then mailbox), [`Shard::invoke`] runs the
//!   callback, [`Shard::apply_result`] reads the result and its actions,
//!   [`Shard::finish_transition`] moves postponed events, cancels and arms
//!   time-outs and inserts `next_event`s.

use derive_where::derive_where;
use std::cell::Cell as StdCell;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::Error;
use crate::machine::{
    Action, CallbackMode, CallbackResult, Cx, Event, EventType, ExitReason, InitResult, Invocation, Machine,
    ReplyAction, Step, TerminateResult, TimeoutAction, TimeoutTime, TimeoutType,
};
use crate::output::{MonitorRef, Output, Status, SystemReply, TerminateReport};
use crate::session::*;
use crate::table::Chunked;
use crate::wheel::{TimerId, Wheel};

/// Engine limits and tuning. Every limit is explicit.
#[derive(Debug, Clone)]
pub struct Config {
    /// Number of shards (rounded up to a power of two, 1..=4096). More
    /// shards: less contention between threads driving different sessions.
    pub shards: usize,
    /// Maximum live sessions; `start` beyond it fails with
    /// [`Error::TooManySessions`].
    pub max_sessions: usize,
    /// Maximum events a session holds unhandled (mailbox, inserted and
    /// postponed events); new external events beyond it are refused with
    /// [`Error::QueueFull`]. Timer events and system requests are not
    /// counted (they are bounded by the number of time-outs and callers).
    pub max_queue_len: usize,
    /// Callbacks one session runs in one go before yielding to others.
    pub run_budget: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { shards: 64, max_sessions: 10_000_000, max_queue_len: 10_000, run_budget: 64 }
    }
}

/// What `start` gives back.
#[derive_where(Debug)]
pub enum Started<M: Machine> {
    /// `{ok, Session}`: init returned `{ok, …}`.
    Ok(crate::SessionId),
    /// `ignore`.
    Ignore,
    /// `{error, Reason}`: init stopped, raised or returned something bad.
    Failed(ExitReason<M>),
    /// init runs elsewhere; finish with [`Engine::resume_init`].
    Pending(crate::SessionId),
}

/// A system request: handled in mailbox order, even while suspended (like
/// `sys` messages), answered through [`Output::system_reply`].
#[derive_where(Debug)]
pub enum SystemRequest<M: Machine> {
    /// `sys:get_state`.
    GetState(M::From),
    /// `sys:get_status`.
    GetStatus(M::From),
    /// `sys:suspend`: from now on only system requests are handled.
    Suspend(Option<M::From>),
    /// `sys:resume`.
    Resume(Option<M::From>),
    /// `gen_statem:stop/3`: terminate with the reason (`None`: `normal`);
    /// the requester gets [`SystemReply::Stopped`].
    Stop(Option<M::Reason>, Option<M::From>),
    /// `sys:replace_state`, and the end of `sys:change_code`: the state and
    /// data become these, and with a `mode` the callback mode of the head
    /// module too (gen_statem re-reads `callback_mode()` after
    /// `code_change/4`). Not a state change: no enter call, postponed
    /// events stay postponed, time-outs keep running. Answered with
    /// [`SystemReply::Ok`].
    ReplaceState {
        /// The requester.
        from: M::From,
        /// The new state.
        state: M::State,
        /// The new data.
        data: M::Data,
        /// The new callback mode, if it is to be replaced.
        mode: Option<CallbackMode>,
    },
}

/// Engine-wide figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Live sessions (initializing ones included).
    pub sessions: usize,
    /// Unhandled events over all sessions.
    pub queued_events: usize,
    /// Time-outs held (running, zero and expired-not-yet-handled).
    pub timers: usize,
    /// Bytes held by the session tables and timer wheels (capacity-based;
    /// heap owned by states, data and queues is not included).
    pub table_bytes: usize,
    /// Heap held by sessions besides their table slots: states and data
    /// ([`Machine::heap_bytes`]) and the extras of sessions that have
    /// queued events, monitors or a callback running (their queues' and
    /// events' own heap not included). An estimate, without the
    /// allocator's rounding.
    pub session_heap_bytes: usize,
}

/// [`Engine::counts`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Live sessions (initializing ones included).
    pub sessions: usize,
    /// Time-outs held (running, zero and expired-not-yet-handled).
    pub timers: usize,
}

/// The engine. `Sync`: share it (e.g. in an `Arc`) between threads.
pub struct Engine<M: Machine> {
    ctx: Ctx<M>,
    shards: Box<[Padded<Mutex<Shard<M>>>]>,
    /// Each shard's count of time-outs held ([`Engine::counts`]).
    timer_counts: Box<[Arc<Padded<AtomicUsize>>]>,
}

/// What every shard needs to see.
struct Ctx<M: Machine> {
    machine: M,
    clock: Arc<dyn Clock>,
    config: Config,
    shard_bits: u32,
    /// The clock reading that is time 0 of every wheel.
    origin: i64,
    live: AtomicUsize,
    next_shard: AtomicUsize,
    next_mref: AtomicU64,
    /// `shutdown` was called.
    closed: AtomicBool,
}

/// Keeps each shard's lock on cache lines of its own, so threads working
/// on different shards do not slow each other down.
#[repr(align(128))]
struct Padded<T>(T);

struct Shard<M: Machine> {
    index: u32,
    slots: Chunked<Cell<M>>,
    free: u32,
    wheel: Wheel<TimerRec<M>>,
    /// `wheel.len()`, published for [`Engine::counts`] (read without the
    /// shard's lock).
    timer_count: Arc<Padded<AtomicUsize>>,
    runnable: VecDeque<u32>,
    /// The parameters of the last session started here: sessions of the
    /// same module share one allocation.
    params_cache: Option<Arc<Params<M>>>,
}

struct Cell<M: Machine> {
    generation: u32,
    slot: Slot<M>,
}

const NO_SLOT: u32 = u32::MAX;

/// Lock attempts of a call on a non-blocking thread (a few microseconds of
/// spinning in all).
const LOCK_TRIES: u32 = 512;

thread_local! {
    static NONBLOCKING: StdCell<bool> = const { StdCell::new(false) };
}

/// Marks the calling thread as one that must never wait for a shard (a
/// BEAM scheduler): engine calls made on it that find a shard busy for more
/// than a few microseconds return [`Error::Busy`] (nothing done; try again)
/// instead of blocking. `tick`, `run_pending`, `stats` and `shutdown` are
/// for threads that may wait and always lock.
pub fn set_nonblocking_thread(on: bool) {
    NONBLOCKING.with(|c| c.set(on));
}

/// Sessions run per shard lock hold by `tick` and `run_pending`.
const RUN_CHUNK: usize = 256;

/// How a callback ended its part of the transition.
enum Flow {
    /// The transition (or the stop) is done; the session may take the next event.
    Done,
    /// A callback runs elsewhere.
    Pending,
    /// The session is gone.
    Gone,
}

/// Which state and data `terminate/3` sees.
enum StopWith {
    /// The state and data from before the event (exceptions).
    BeforeEvent,
    /// The transition's current state and data.
    Current,
}

impl<M: Machine> Engine<M> {
    /// A new engine running `machine`, reading time from `clock`.
    pub fn new(machine: M, config: Config, clock: impl Clock) -> Result<Self, Error> {
        if config.shards == 0 || config.shards > 4096 || config.run_budget == 0 || config.max_queue_len == 0 {
            return Err(Error::Badarg);
        }
        let nshards = config.shards.next_power_of_two();
        let shard_bits = nshards.trailing_zeros();
        let clock: Arc<dyn Clock> = Arc::new(clock);
        let origin = clock.now_ms();
        let timer_counts: Box<[Arc<Padded<AtomicUsize>>]> =
            (0..nshards).map(|_| Arc::new(Padded(AtomicUsize::new(0)))).collect();
        let shards = (0..nshards)
            .map(|i| {
                Padded(Mutex::new(Shard {
                    index: i as u32,
                    slots: Chunked::default(),
                    free: NO_SLOT,
                    wheel: Wheel::new(0),
                    timer_count: Arc::clone(&timer_counts[i]),
                    runnable: VecDeque::new(),
                    params_cache: None,
                }))
            })
            .collect();
        Ok(Engine {
            ctx: Ctx {
                machine,
                clock,
                config,
                shard_bits,
                origin,
                live: AtomicUsize::new(0),
                next_shard: AtomicUsize::new(0),
                next_mref: AtomicU64::new(1),
                closed: AtomicBool::new(false),
            },
            shards,
            timer_counts,
        })
    }

    /// The machine.
    pub fn machine(&self) -> &M {
        &self.ctx.machine
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.ctx.config
    }

    /// The clock's current reading.
    pub fn now_ms(&self) -> i64 {
        self.ctx.clock.now_ms()
    }

    /// How long a thread driving [`Engine::tick`] may sleep: until
    /// [`Engine::next_wakeup`], to the nanosecond (a wait computed from
    /// whole milliseconds wakes up to one millisecond late), at most
    /// `max`; `max` when no timer is armed.
    pub fn tick_wait(&self, max: Duration) -> Duration {
        match self.next_wakeup() {
            Some(at) => {
                let ns = (i128::from(at) * 1_000_000 - self.ctx.clock.now_ns()).max(0);
                Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX)).min(max)
            }
            None => max,
        }
    }

    /// Bytes one slot of the session table takes (an idle session's fixed
    /// cost; its state and data may hold heap memory besides).
    pub fn slot_bytes(&self) -> usize {
        std::mem::size_of::<Cell<M>>()
    }

    /// Live sessions.
    pub fn live(&self) -> usize {
        self.ctx.live.load(Ordering::Relaxed)
    }

    fn shard_of(&self, slot: u32) -> (usize, u32) {
        let mask = (1u32 << self.ctx.shard_bits) - 1;
        ((slot & mask) as usize, slot >> self.ctx.shard_bits)
    }

    fn lock(&self, shard: usize) -> MutexGuard<'_, Shard<M>> {
        // A poisoned shard means an engine bug panicked while holding it;
        // the data is still consistent enough to go on serving others.
        self.shards[shard].0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Locks a shard for an API call: on a thread marked with
    /// [`set_nonblocking_thread`] it tries for a few microseconds and then
    /// gives up with [`Error::Busy`] rather than wait.
    fn acquire(&self, shard: usize) -> Result<MutexGuard<'_, Shard<M>>, Error> {
        if !NONBLOCKING.with(StdCell::get) {
            return Ok(self.lock(shard));
        }
        for _ in 0..LOCK_TRIES {
            match self.shards[shard].0.try_lock() {
                Ok(g) => return Ok(g),
                Err(TryLockError::Poisoned(p)) => return Ok(p.into_inner()),
                // No yield: giving up the CPU can cost a whole time slice.
                Err(TryLockError::WouldBlock) => std::hint::spin_loop(),
            }
        }
        Err(Error::Busy)
    }

    /// Locks the shard of `id` and checks the handle.
    fn locate(&self, id: crate::SessionId) -> Result<(MutexGuard<'_, Shard<M>>, u32), Error> {
        let (shard, local) = self.shard_of(id.slot());
        if shard >= self.shards.len() {
            return Err(Error::NoProc);
        }
        let guard = self.acquire(shard)?;
        match guard.slots.get(local as usize) {
            Some(cell) if cell.generation == id.generation() && !cell.slot.is_free() => Ok((guard, local)),
            _ => Err(Error::NoProc),
        }
    }

    /// Starts a session: `gen_statem:start/3`. Calls `init/1` of `module`.
    pub fn start(&self, module: M::Module, args: M::Args, out: &mut dyn Output<M>) -> Result<Started<M>, Error> {
        self.start_monitored(module, args, None, out)
    }

    /// Starts a session monitored by `watcher` from before `init/1` runs
    /// (`gen_statem:start_monitor/3`): the watcher hears of every exit, even
    /// one during or right after init.
    pub fn start_monitored(
        &self,
        module: M::Module,
        args: M::Args,
        watcher: Option<M::Watcher>,
        out: &mut dyn Output<M>,
    ) -> Result<Started<M>, Error> {
        if self.ctx.closed.load(Ordering::Acquire) {
            return Err(Error::NoProc);
        }
        let max = self.ctx.config.max_sessions;
        if self.ctx.live.fetch_add(1, Ordering::AcqRel) >= max {
            self.ctx.live.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::TooManySessions);
        }
        let shard = self.ctx.next_shard.fetch_add(1, Ordering::Relaxed) & (self.shards.len() - 1);
        let mut sh = match self.acquire(shard) {
            Ok(sh) => sh,
            Err(e) => {
                self.ctx.live.fetch_sub(1, Ordering::AcqRel);
                return Err(e);
            }
        };
        let mut extras = Extras::default();
        if let Some(w) = watcher {
            extras.monitors.push((self.ctx.next_mref.fetch_add(1, Ordering::Relaxed), w));
        }
        let local = sh.alloc(Slot::Idle(Idle::Init(Box::new(Initializing { module: module.clone(), extras }))));
        let id = sh.id(local, self.ctx.shard_bits);
        let step = sh.call_guarded(&self.ctx, |m, cx| m.init(cx, &module, args), id, out, |r| InitResult::Exception(r));
        match step {
            Step::Pending => {
                if let Slot::Idle(Idle::Init(init)) = &mut sh.slots[local as usize].slot {
                    init.extras.phase = Phase::Init;
                }
                Ok(Started::Pending(id))
            }
            Step::Ready(result) => {
                let started = sh.complete_init(&self.ctx, local, result, out);
                sh.finish_call(out);
                Ok(started)
            }
        }
    }

    /// Hands in the result of an `init/1` that answered [`Step::Pending`].
    pub fn resume_init(
        &self,
        id: crate::SessionId,
        result: InitResult<M>,
        out: &mut dyn Output<M>,
    ) -> Result<Started<M>, Error> {
        let (mut sh, local) = self.locate(id)?;
        match &sh.slots[local as usize].slot {
            Slot::Idle(Idle::Init(init)) if matches!(init.extras.phase, Phase::Init) => {}
            _ => return Err(Error::NotWaiting),
        }
        let started = sh.complete_init(&self.ctx, local, result, out);
        sh.finish_call(out);
        Ok(started)
    }

    /// Hands in the result of a state callback (event or enter call) that
    /// answered [`Step::Pending`], and runs the session on.
    pub fn resume(
        &self,
        id: crate::SessionId,
        result: CallbackResult<M>,
        out: &mut dyn Output<M>,
    ) -> Result<(), Error> {
        let (mut sh, local) = self.locate(id)?;
        if sh.live_mut(local).is_none_or(|s| s.flags & (F_BUSY | F_STOPPING) != F_BUSY) {
            return Err(Error::NotWaiting);
        }
        let Some(tr) = sh.live_mut(local).and_then(|s| s.extras.as_mut()).and_then(|e| e.pending.take()) else {
            return Err(Error::NotWaiting);
        };
        sh.live_mut(local).expect("live").flags &= !F_BUSY;
        if let Flow::Done = sh.apply_result(&self.ctx, local, *tr, result, out) {
            sh.run(&self.ctx, local, out);
        }
        sh.finish_call(out);
        Ok(())
    }

    /// Hands in the outcome of a `terminate/3` that answered
    /// [`Step::Pending`]; the session is then gone.
    pub fn resume_terminate(
        &self,
        id: crate::SessionId,
        result: TerminateResult<M>,
        out: &mut dyn Output<M>,
    ) -> Result<(), Error> {
        let (mut sh, local) = self.locate(id)?;
        let stopping = match sh.live_mut(local).and_then(|s| s.extras.as_mut()) {
            Some(ex) if matches!(ex.phase, Phase::Terminate(_)) => {
                match std::mem::replace(&mut ex.phase, Phase::Idle) {
                    Phase::Terminate(st) => st,
                    _ => unreachable!(),
                }
            }
            _ => return Err(Error::NotWaiting),
        };
        sh.terminated(&self.ctx, local, *stopping, result, out);
        Ok(())
    }

    /// Sends an event of any external kind (`{call,From}`, `cast`, `info`).
    pub fn send_event(&self, id: crate::SessionId, event: Event<M>, out: &mut dyn Output<M>) -> Result<(), Error> {
        let (mut sh, local) = self.locate(id)?;
        sh.deliver(&self.ctx, local, Incoming::Event(event), out, true)?;
        sh.finish_call(out);
        Ok(())
    }

    /// `gen_statem:cast/2`.
    pub fn cast(&self, id: crate::SessionId, msg: M::Msg, out: &mut dyn Output<M>) -> Result<(), Error> {
        self.send_event(id, Event::new(EventType::Cast, msg), out)
    }

    /// A `{call, From}` event; the reply leaves through [`Output::reply`].
    pub fn call(&self, id: crate::SessionId, from: M::From, req: M::Msg, out: &mut dyn Output<M>) -> Result<(), Error> {
        self.send_event(id, Event::new(EventType::Call(from), req), out)
    }

    /// An `info` event (what `Pid ! Msg` is to a gen_statem).
    pub fn info(&self, id: crate::SessionId, msg: M::Msg, out: &mut dyn Output<M>) -> Result<(), Error> {
        self.send_event(id, Event::new(EventType::Info, msg), out)
    }

    /// Many events to one session, accepted all or none.
    pub fn send_events(
        &self,
        id: crate::SessionId,
        events: Vec<Event<M>>,
        out: &mut dyn Output<M>,
    ) -> Result<(), Error> {
        let (mut sh, local) = self.locate(id)?;
        let queued = sh.queued(local);
        if queued + events.len() > self.ctx.config.max_queue_len {
            return Err(Error::QueueFull);
        }
        for ev in events {
            sh.deliver(&self.ctx, local, Incoming::Event(ev), out, false)?;
        }
        sh.run(&self.ctx, local, out);
        sh.finish_call(out);
        Ok(())
    }

    /// `sync`: `from` gets [`SystemReply::Ok`] once every event sent before
    /// has been handled and no zero time-out is pending (as
    /// `jhn_fsm:sync/1`). Waits while the session is suspended.
    pub fn sync(&self, id: crate::SessionId, from: M::From, out: &mut dyn Output<M>) -> Result<(), Error> {
        let (mut sh, local) = self.locate(id)?;
        sh.deliver(&self.ctx, local, Incoming::Sync(from), out, true)?;
        sh.finish_call(out);
        Ok(())
    }

    /// A system request, handled in mailbox order.
    pub fn system(&self, id: crate::SessionId, req: SystemRequest<M>, out: &mut dyn Output<M>) -> Result<(), Error> {
        let (mut sh, local) = self.locate(id)?;
        sh.deliver(&self.ctx, local, Incoming::System(req), out, true)?;
        sh.finish_call(out);
        Ok(())
    }

    /// `gen_statem:stop/3`, as a system request.
    pub fn stop(
        &self,
        id: crate::SessionId,
        reason: Option<M::Reason>,
        from: Option<M::From>,
        out: &mut dyn Output<M>,
    ) -> Result<(), Error> {
        self.system(id, SystemRequest::Stop(reason, from), out)
    }

    /// The current state and data, read now (not in mailbox order; see
    /// [`SystemRequest::GetState`] for that).
    pub fn get_state(&self, id: crate::SessionId) -> Result<(M::State, M::Data), Error> {
        let (sh, local) = self.locate(id)?;
        match &sh.slots[local as usize].slot {
            Slot::Live(s) => Ok((s.state.clone(), s.data.clone())),
            _ => Err(Error::NoProc),
        }
    }

    /// The status, read now.
    pub fn status(&self, id: crate::SessionId) -> Result<Status<M>, Error> {
        let (sh, local) = self.locate(id)?;
        sh.status(local, id).ok_or(Error::NoProc)
    }

    /// Monitors a session: when it stops, `watcher` gets
    /// [`Output::down`] with the returned reference.
    pub fn monitor(&self, id: crate::SessionId, watcher: M::Watcher) -> Result<MonitorRef, Error> {
        let (mut sh, local) = self.locate(id)?;
        let mref = self.ctx.next_mref.fetch_add(1, Ordering::Relaxed);
        sh.extras_mut(local).expect("located").monitors.push((mref, watcher));
        Ok(mref)
    }

    /// Removes a monitor; `true` if it was there.
    pub fn demonitor(&self, id: crate::SessionId, mref: MonitorRef) -> bool {
        let Ok((mut sh, local)) = self.locate(id) else { return false };
        let Some(ex) = sh.extras_if_any(local) else { return false };
        let before = ex.monitors.len();
        ex.monitors.retain(|(r, _)| *r != mref);
        let found = ex.monitors.len() != before;
        sh.shrink(local);
        found
    }

    /// Removes the monitors whose watcher matches; `true` if one was there.
    pub fn demonitor_matching(&self, id: crate::SessionId, mut matches: impl FnMut(&M::Watcher) -> bool) -> bool {
        let Ok((mut sh, local)) = self.locate(id) else { return false };
        let Some(ex) = sh.extras_if_any(local) else { return false };
        let before = ex.monitors.len();
        ex.monitors.retain(|(_, w)| !matches(w));
        let found = ex.monitors.len() != before;
        sh.shrink(local);
        found
    }

    /// Ends every session at once with `reason`, without `terminate/3`
    /// (an engine's brutal shutdown): monitors get DOWN, callers still
    /// waiting learn of it, and later calls get `noproc`; `start` is
    /// refused from then on. Returns the number of sessions ended.
    pub fn shutdown(&self, reason: M::Reason, out: &mut dyn Output<M>) -> usize {
        self.ctx.closed.store(true, Ordering::Release);
        let reason = ExitReason::Reason(reason);
        let mut ended = 0;
        for i in 0..self.shards.len() {
            let mut sh = self.lock(i);
            for local in 0..sh.slots.len() as u32 {
                ended += usize::from(sh.kill(&self.ctx, local, &reason, out));
            }
            sh.runnable.clear();
        }
        ended
    }

    /// Ends one session at once with `reason`, without `terminate/3` (what
    /// `exit(Pid, kill)` is to a process): monitors get DOWN, callers still
    /// waiting learn of it. A callback result that comes later for it is
    /// refused (`noproc`).
    pub fn kill(&self, id: crate::SessionId, reason: M::Reason, out: &mut dyn Output<M>) -> Result<(), Error> {
        let (mut sh, local) = self.locate(id)?;
        sh.kill(&self.ctx, local, &ExitReason::Reason(reason), out);
        sh.runnable.retain(|l| *l != local);
        Ok(())
    }

    /// Whether the session exists (started, not yet stopped).
    pub fn is_alive(&self, id: crate::SessionId) -> bool {
        self.locate(id).is_ok()
    }

    /// Reads the clock and fires every expired timer: each becomes an event
    /// in its session's mailbox, in deadline order, and the sessions run.
    /// Returns the number of timers fired.
    pub fn tick(&self, out: &mut dyn Output<M>) -> usize {
        let now = self.ctx.wheel_time(self.ctx.clock.now_ms());
        let mut fired = 0;
        for i in 0..self.shards.len() {
            fired += self.lock(i).fire_timers(&self.ctx, now, out);
        }
        fired
    }

    /// Continues sessions whose work did not fit in an earlier run's budget
    /// (or that a `tick` left): up to a chunk of sessions per shard, so it
    /// holds each shard briefly. Returns whether work is left (call again).
    pub fn run_pending(&self, out: &mut dyn Output<M>) -> bool {
        let mut left = false;
        for i in 0..self.shards.len() {
            let mut sh = self.lock(i);
            // At most RUN_CHUNK sessions per lock hold: threads waiting for
            // this shard (NIF calls on schedulers) wait for a chunk at most.
            let n = sh.runnable.len().min(RUN_CHUNK);
            for _ in 0..n {
                let Some(local) = sh.runnable.pop_front() else { break };
                if let Some(s) = sh.live_mut(local) {
                    s.flags &= !F_RUNNABLE;
                }
                sh.run(&self.ctx, local, out);
            }
            left |= !sh.runnable.is_empty();
        }
        left
    }

    /// Whether some session has work waiting for [`Engine::run_pending`].
    pub fn has_pending(&self) -> bool {
        (0..self.shards.len()).any(|i| !self.lock(i).runnable.is_empty())
    }

    /// The earliest time (clock base) at which a timer expires.
    pub fn next_deadline(&self) -> Option<i64> {
        (0..self.shards.len())
            .filter_map(|i| self.lock(i).wheel.next_deadline())
            .min()
            .map(|d| self.ctx.origin.saturating_add(d as i64))
    }

    /// A time (clock base) at or before the earliest timer expiry, cheap to
    /// compute (O(1) per shard, where [`Engine::next_deadline`] may walk
    /// a wheel slot of many timers under the shard's lock): when a thread
    /// driving [`Engine::tick`] should wake up next.
    pub fn next_wakeup(&self) -> Option<i64> {
        (0..self.shards.len())
            .filter_map(|i| self.lock(i).wheel.next_wakeup())
            .min()
            .map(|d| self.ctx.origin.saturating_add(d as i64))
    }

    /// Live sessions and time-outs held (as in [`Engine::stats`]), read
    /// without visiting the sessions or taking a shard's lock: a cheap
    /// reading for a poller. Each shard's count is the one its last
    /// operation left.
    pub fn counts(&self) -> Counts {
        Counts { sessions: self.live(), timers: self.timer_counts.iter().map(|c| c.0.load(Ordering::Relaxed)).sum() }
    }

    /// Engine-wide figures, visiting every session (each shard locked in
    /// turn).
    pub fn stats(&self) -> Stats {
        let mut st = Stats { sessions: self.live(), ..Stats::default() };
        for i in 0..self.shards.len() {
            let sh = self.lock(i);
            st.timers += sh.wheel.len();
            st.table_bytes += sh.slots.heap_bytes() + sh.wheel.heap_bytes();
            for cell in sh.slots.iter() {
                match &cell.slot {
                    Slot::Live(s) => {
                        st.session_heap_bytes += self.ctx.machine.heap_bytes(&s.state, &s.data);
                        if let Some(e) = &s.extras {
                            st.queued_events += e.queued();
                            st.session_heap_bytes += extras_bytes(e);
                        }
                    }
                    Slot::Idle(Idle::Init(i)) => {
                        st.queued_events += i.extras.queued();
                        st.session_heap_bytes += std::mem::size_of_val(&**i) + extras_bytes(&i.extras);
                    }
                    Slot::Idle(Idle::Free { .. }) => {}
                }
            }
        }
        st
    }
}

/// An extras record's own heap: the box, its queues' and lists' buffers,
/// a pending transition.
fn extras_bytes<M: Machine>(e: &Extras<M>) -> usize {
    std::mem::size_of_val(e)
        + e.mailbox.capacity() * std::mem::size_of::<Incoming<M>>()
        + (e.queue.capacity() + e.postponed.capacity()) * std::mem::size_of::<Event<M>>()
        + e.t0q.capacity() * std::mem::size_of::<TimerId>()
        + e.monitors.capacity() * std::mem::size_of::<(MonitorRef, M::Watcher)>()
        + e.pending.as_ref().map_or(0, |t| std::mem::size_of_val(&**t))
}

impl<M: Machine> Ctx<M> {
    fn wheel_time(&self, clock_ms: i64) -> u64 {
        clock_ms.saturating_sub(self.origin).max(0) as u64
    }
}

impl<M: Machine> Shard<M> {
    fn id(&self, local: u32, shard_bits: u32) -> crate::SessionId {
        crate::SessionId::new((local << shard_bits) | self.index, self.slots[local as usize].generation)
    }

    fn alloc(&mut self, slot: Slot<M>) -> u32 {
        if self.free != NO_SLOT {
            let local = self.free;
            let cell = &mut self.slots[local as usize];
            let Slot::Idle(Idle::Free { next }) = cell.slot else { unreachable!("free list points at a used slot") };
            self.free = next;
            cell.slot = slot;
            local
        } else {
            self.slots.push(Cell { generation: 1, slot });
            (self.slots.len() - 1) as u32
        }
    }

    /// Removes a session without terminate/3; `false` for a free slot.
    fn kill(&mut self, ctx: &Ctx<M>, local: u32, reason: &ExitReason<M>, out: &mut dyn Output<M>) -> bool {
        let id = self.id(local, ctx.shard_bits);
        let slot = std::mem::replace(&mut self.slots[local as usize].slot, Slot::free(NO_SLOT));
        let mut extras = match slot {
            Slot::Idle(Idle::Free { next }) => {
                self.slots[local as usize].slot = Slot::free(next);
                return false;
            }
            Slot::Idle(Idle::Init(init)) => init.extras,
            Slot::Live(mut s) => {
                let mut cur = s.timers;
                while cur != NO_TIMER {
                    cur = self.wheel_remove(TimerId(cur)).next;
                }
                s.extras.take().map(|b| *b).unwrap_or_default()
            }
        };
        let current = extras.pending.take().and_then(|tr| tr.event);
        notify_stopped(id, reason, current, &extras, out);
        self.release(ctx, local);
        true
    }

    fn release(&mut self, ctx: &Ctx<M>, local: u32) {
        let cell = &mut self.slots[local as usize];
        cell.slot = Slot::free(self.free);
        cell.generation = cell.generation.wrapping_add(1).max(1);
        self.free = local;
        ctx.live.fetch_sub(1, Ordering::AcqRel);
    }

    fn live_mut(&mut self, local: u32) -> Option<&mut Session<M>> {
        match &mut self.slots[local as usize].slot {
            Slot::Live(s) => Some(s),
            _ => None,
        }
    }

    fn live_ref(&self, local: u32) -> &Session<M> {
        match &self.slots[local as usize].slot {
            Slot::Live(s) => s,
            _ => unreachable!("not a live session"),
        }
    }

    fn sess(&mut self, local: u32) -> &mut Session<M> {
        match &mut self.slots[local as usize].slot {
            Slot::Live(s) => s,
            _ => unreachable!("not a live session"),
        }
    }

    /// The session's extras, allocated if needed.
    fn extras_mut(&mut self, local: u32) -> Option<&mut Extras<M>> {
        match &mut self.slots[local as usize].slot {
            Slot::Live(s) => Some(s.extras.get_or_insert_with(Default::default)),
            Slot::Idle(Idle::Init(i)) => Some(&mut i.extras),
            Slot::Idle(Idle::Free { .. }) => None,
        }
    }

    /// The session's extras, if it has any (nothing is allocated).
    fn extras_if_any(&mut self, local: u32) -> Option<&mut Extras<M>> {
        match &mut self.slots[local as usize].slot {
            Slot::Live(s) => s.extras.as_deref_mut(),
            Slot::Idle(Idle::Init(i)) => Some(&mut i.extras),
            Slot::Idle(Idle::Free { .. }) => None,
        }
    }

    fn ex(&mut self, local: u32) -> &mut Extras<M> {
        self.sess(local).extras.get_or_insert_with(Default::default)
    }

    /// Frees the extras of an idle session when nothing is left in them.
    fn shrink(&mut self, local: u32) {
        if let Some(s) = self.live_mut(local) {
            if s.extras.as_ref().is_some_and(|e| e.is_empty()) {
                s.extras = None;
            }
        }
    }

    fn queued(&self, local: u32) -> usize {
        match &self.slots[local as usize].slot {
            Slot::Live(s) => s.extras.as_ref().map_or(0, |e| e.queued()),
            Slot::Idle(Idle::Init(i)) => i.extras.queued(),
            Slot::Idle(Idle::Free { .. }) => 0,
        }
    }

    /// After an API call: if work was left for later, say so.
    fn finish_call(&mut self, out: &mut dyn Output<M>) {
        if !self.runnable.is_empty() {
            out.wake();
        }
    }

    fn mark_runnable(&mut self, local: u32) {
        let s = self.sess(local);
        if s.flags & F_RUNNABLE == 0 {
            s.flags |= F_RUNNABLE;
            self.runnable.push_back(local);
        }
    }

    /// Puts an item in the mailbox and runs the session.
    fn deliver(
        &mut self,
        ctx: &Ctx<M>,
        local: u32,
        item: Incoming<M>,
        out: &mut dyn Output<M>,
        run: bool,
    ) -> Result<(), Error> {
        if let Incoming::Event(_) = item {
            if self.queued(local) >= ctx.config.max_queue_len {
                return Err(Error::QueueFull);
            }
        }
        match &mut self.slots[local as usize].slot {
            Slot::Idle(Idle::Init(init)) => {
                init.extras.push_mail(item);
                return Ok(());
            }
            Slot::Live(s) => {
                // Fast path: an idle session with nothing queued handles an
                // event at once, without touching the mailbox.
                let idle = s.extras.is_none() && s.flags & (F_BUSY | F_SUSPENDED | F_STOPPING) == 0;
                match item {
                    Incoming::Event(ev) if idle && run => {
                        if let Flow::Done = self.begin_event(ctx, local, ev, out) {
                            self.run_with(ctx, local, out, ctx.config.run_budget - 1);
                        }
                        return Ok(());
                    }
                    item => s.extras.get_or_insert_with(Default::default).push_mail(item),
                }
            }
            Slot::Idle(Idle::Free { .. }) => return Err(Error::NoProc),
        }
        if run {
            self.run(ctx, local, out);
        }
        Ok(())
    }

    /// Runs a callback, turning a panic into `on_panic(reason)`.
    fn call_guarded<T>(
        &mut self,
        ctx: &Ctx<M>,
        f: impl FnOnce(&M, &mut Cx<'_, M>) -> Step<T>,
        id: crate::SessionId,
        out: &mut dyn Output<M>,
        on_panic: impl FnOnce(M::Reason) -> T,
    ) -> Step<T> {
        let mut cx = Cx::new(id, out, &*ctx.clock);
        match catch_unwind(AssertUnwindSafe(|| f(&ctx.machine, &mut cx))) {
            Ok(step) => step,
            Err(payload) => Step::Ready(on_panic(ctx.machine.panic_reason(panic_message(&payload)))),
        }
    }

    // ---------------------------------------------------------------- init

    fn complete_init(
        &mut self,
        ctx: &Ctx<M>,
        local: u32,
        result: InitResult<M>,
        out: &mut dyn Output<M>,
    ) -> Started<M> {
        let id = self.id(local, ctx.shard_bits);
        let Slot::Idle(Idle::Init(init)) = std::mem::replace(&mut self.slots[local as usize].slot, Slot::free(NO_SLOT))
        else {
            unreachable!("complete_init on a session that is not initializing")
        };
        let Initializing { module, mut extras } = *init;
        let failed = |this: &mut Self, reason: ExitReason<M>, extras: Extras<M>, out: &mut dyn Output<M>| {
            // init failed: no terminate/3; pending callers and monitors learn why.
            notify_stopped(id, &reason, None, &extras, out);
            this.release(ctx, local);
            Started::Failed(reason)
        };
        let (state, data, actions) = match result {
            InitResult::Ok(s, d, a) => (s, d, a),
            InitResult::Ignore => {
                notify_stopped(id, &ExitReason::Normal, None, &extras, out);
                self.release(ctx, local);
                return Started::Ignore;
            }
            InitResult::Stop(r) => return failed(self, ExitReason::Reason(r), extras, out),
            InitResult::Exception(r) => return failed(self, ExitReason::Exception(r), extras, out),
            InitResult::Invalid(t) => return failed(self, ExitReason::BadReturnFromInit(t), extras, out),
        };
        // callback_mode/0 is called after the start has been acknowledged:
        // a bad one crashes the session after `start` returned `{ok, _}`.
        let mode = ctx.machine.callback_mode(&module);
        extras.phase = Phase::Idle;
        let params = match &self.params_cache {
            Some(p) if p.modules.len() == 1 && p.modules[0] == module && mode.as_ref().is_ok_and(|m| *m == p.mode) => {
                p.clone()
            }
            _ => {
                let mode = mode.clone().unwrap_or(CallbackMode::HANDLE_EVENT_FUNCTION);
                let p = Arc::new(Params { modules: vec![module], mode });
                self.params_cache = Some(p.clone());
                p
            }
        };
        let extras = if extras.is_empty() { None } else { Some(Box::new(extras)) };
        self.slots[local as usize].slot =
            Slot::Live(Session { state, data, params, extras, timers: NO_TIMER, flags: 0 });
        if let Err(t) = mode {
            let reason = ExitReason::BadReturnFromCallbackMode(t);
            self.begin_stop(ctx, local, Stopping { reason, current: None, answered: false, requester: None }, out);
            return Started::Ok(id);
        }
        // The init transition: a fake event that is never delivered, the
        // init actions followed by {postpone,false}, and an enter call with
        // OldState =:= State.
        let tr = Transition::new(None);
        if let Flow::Done = self.process_actions(ctx, local, tr, actions, true, out) {
            self.run(ctx, local, out);
        }
        Started::Ok(id)
    }

    // ---------------------------------------------------------------- loop

    /// gen_statem's loop: takes events until the session is idle, busy,
    /// gone, or out of budget.
    fn run(&mut self, ctx: &Ctx<M>, local: u32, out: &mut dyn Output<M>) {
        self.run_with(ctx, local, out, ctx.config.run_budget)
    }

    /// [`Shard::run`] with what is left of the budget.
    fn run_with(&mut self, ctx: &Ctx<M>, local: u32, out: &mut dyn Output<M>, mut budget: usize) {
        loop {
            let Some(s) = self.live_mut(local) else { return };
            if s.flags & (F_BUSY | F_STOPPING) != 0 {
                return;
            }
            let Some(ex) = s.extras.as_mut() else { return };
            let suspended = s.flags & F_SUSPENDED != 0;
            if budget == 0 {
                let more = if suspended {
                    ex.mailbox.iter().any(|i| matches!(i, Incoming::System(_)))
                } else {
                    !ex.queue.is_empty() || !ex.t0q.is_empty() || !ex.mailbox.is_empty()
                };
                if more {
                    self.mark_runnable(local);
                }
                return;
            }
            let item = if suspended {
                // Only system requests are handled while suspended.
                match ex.mailbox.iter().position(|i| matches!(i, Incoming::System(_))) {
                    Some(pos) => ex.mailbox.remove(pos),
                    None => None,
                }
            } else if let Some(ev) = ex.queue.pop_front() {
                Some(Incoming::Event(ev))
            } else if let Some(tid) = ex.t0q.pop_front() {
                Some(Incoming::Fired(tid))
            } else {
                let item = ex.mailbox.pop_front();
                if let Some(i) = &item {
                    ex.took_mail(i);
                }
                item
            };
            let Some(item) = item else {
                if s.flags & F_HIBERNATE != 0 {
                    // hibernate: give back what the idle queues hold.
                    ex.mailbox.shrink_to_fit();
                    ex.queue.shrink_to_fit();
                    ex.postponed.shrink_to_fit();
                    ex.t0q.shrink_to_fit();
                }
                self.shrink(local);
                return;
            };
            budget -= 1;
            let flow = match item {
                Incoming::Event(ev) => self.begin_event(ctx, local, ev, out),
                Incoming::Fired(tid) => {
                    let ev = self.take_timer_event(tid);
                    self.begin_event(ctx, local, ev, out)
                }
                Incoming::Sync(from) => {
                    out.system_reply(from, SystemReply::Ok);
                    Flow::Done
                }
                Incoming::System(req) => self.system(ctx, local, req, out),
            };
            match flow {
                Flow::Done => {}
                Flow::Pending | Flow::Gone => return,
            }
        }
    }

    fn system(&mut self, ctx: &Ctx<M>, local: u32, req: SystemRequest<M>, out: &mut dyn Output<M>) -> Flow {
        let id = self.id(local, ctx.shard_bits);
        match req {
            SystemRequest::GetState(from) => {
                let s = self.live_ref(local);
                out.system_reply(from, SystemReply::State(s.state.clone(), s.data.clone()));
            }
            SystemRequest::GetStatus(from) => {
                let st = self.status(local, id).expect("live");
                out.system_reply(from, SystemReply::Status(Box::new(st)));
            }
            SystemRequest::Suspend(from) => {
                self.sess(local).flags |= F_SUSPENDED;
                if let Some(f) = from {
                    out.system_reply(f, SystemReply::Ok);
                }
            }
            SystemRequest::Resume(from) => {
                self.sess(local).flags &= !F_SUSPENDED;
                if let Some(f) = from {
                    out.system_reply(f, SystemReply::Ok);
                }
            }
            SystemRequest::ReplaceState { from, state, data, mode } => {
                let s = self.sess(local);
                s.state = state;
                s.data = data;
                if let Some(mode) = mode {
                    let modules = s.params.modules.clone();
                    s.params = Arc::new(Params { modules, mode });
                }
                out.system_reply(from, SystemReply::Ok);
            }
            SystemRequest::Stop(reason, from) => {
                let reason = reason.map_or(ExitReason::Normal, ExitReason::Reason);
                let stopping = Stopping { reason, current: None, answered: false, requester: from };
                return self.begin_stop(ctx, local, stopping, out);
            }
        }
        Flow::Done
    }

    /// Removes a fired or zero timer's record and makes its event.
    fn take_timer_event(&mut self, tid: TimerId) -> Event<M> {
        let rec = self.unlink_timer(tid);
        let kind = match rec.kind {
            TimeoutType::Event => EventType::Timeout,
            TimeoutType::State => EventType::StateTimeout,
            TimeoutType::Generic(name) => EventType::GenericTimeout(name),
        };
        Event::new(kind, rec.msg)
    }

    /// Removes a timer record from the wheel (not from its session's chain).
    fn wheel_remove(&mut self, tid: TimerId) -> TimerRec<M> {
        let rec = self.wheel.remove(tid);
        self.timer_count.0.store(self.wheel.len(), Ordering::Relaxed);
        rec
    }

    /// Removes a timer record from the wheel and from its session's chain.
    fn unlink_timer(&mut self, tid: TimerId) -> TimerRec<M> {
        let rec = self.wheel_remove(tid);
        let owner = rec.slot;
        let head = self.sess(owner).timers;
        if head == tid.0 {
            self.sess(owner).timers = rec.next;
        } else {
            let mut cur = head;
            while cur != NO_TIMER {
                let next = self.wheel.get(TimerId(cur)).next;
                if next == tid.0 {
                    self.wheel.get_mut(TimerId(cur)).next = rec.next;
                    break;
                }
                cur = next;
            }
        }
        rec
    }

    fn begin_event(&mut self, ctx: &Ctx<M>, local: u32, ev: Event<M>, out: &mut dyn Output<M>) -> Flow {
        let tr = Transition::new(Some(ev));
        self.invoke(ctx, local, tr, out)
    }

    /// Runs the callback for the transition's current step: the event, or
    /// an enter call when `tr.enter`.
    fn invoke(&mut self, ctx: &Ctx<M>, local: u32, tr: Transition<M>, out: &mut dyn Output<M>) -> Flow {
        let id = self.id(local, ctx.shard_bits);
        let step = {
            let s = self.live_ref(local);
            let module = &s.params.modules[0];
            let mode = s.params.mode;
            let state = tr.state.as_ref().unwrap_or(&s.state);
            let data = tr.data.as_ref().unwrap_or(&s.data);
            let call = if tr.enter {
                Invocation::Enter { module, mode, old_state: &s.state, state, data }
            } else {
                let event = tr.event.as_ref().expect("an event callback has an event");
                Invocation::Event { module, mode, event, state, data }
            };
            let mut cx = Cx::new(id, &mut *out, &*ctx.clock);
            match catch_unwind(AssertUnwindSafe(|| ctx.machine.handle_event(&mut cx, call))) {
                Ok(step) => step,
                Err(payload) => {
                    Step::Ready(CallbackResult::Exception(ctx.machine.panic_reason(panic_message(&payload))))
                }
            }
        };
        match step {
            Step::Ready(result) => self.apply_result(ctx, local, tr, result, out),
            Step::Pending => {
                let s = self.sess(local);
                s.flags |= F_BUSY;
                // Kept with the session: it is touched anyway, where a
                // shard-wide map of a million busy sessions misses the
                // cache twice per event.
                s.extras.get_or_insert_with(Default::default).pending = Some(Box::new(tr));
                Flow::Pending
            }
        }
    }

    /// gen_statem's `loop_state_callback_result`: reads one callback result.
    fn apply_result(
        &mut self,
        ctx: &Ctx<M>,
        local: u32,
        mut tr: Transition<M>,
        result: CallbackResult<M>,
        out: &mut dyn Output<M>,
    ) -> Flow {
        let in_enter = tr.enter;
        let (actions, call_enter) = match result {
            CallbackResult::Invalid(t) => {
                return self.stop_in_transition(
                    ctx,
                    local,
                    tr,
                    ExitReason::BadReturnFromStateFunction(t),
                    StopWith::Current,
                    out,
                )
            }
            CallbackResult::Exception(r) => {
                return self.stop_in_transition(ctx, local, tr, ExitReason::Exception(r), StopWith::BeforeEvent, out)
            }
            CallbackResult::Stop(reason, data) => {
                if let Some(d) = data {
                    tr.data = Some(d);
                }
                let reason = reason.map_or(ExitReason::Normal, ExitReason::Reason);
                return self.stop_in_transition(ctx, local, tr, reason, StopWith::Current, out);
            }
            CallbackResult::StopAndReply(reason, replies, data) => {
                if let Some(d) = data {
                    tr.data = Some(d);
                }
                for r in replies {
                    match r {
                        ReplyAction::Reply(from, reply) => {
                            tr.note_reply(&from);
                            out.reply(from, reply)
                        }
                        ReplyAction::Invalid(t) => {
                            let reason = ExitReason::BadReplyActionFromStateFunction(t);
                            return self.stop_in_transition(ctx, local, tr, reason, StopWith::Current, out);
                        }
                    }
                }
                let reason = reason.map_or(ExitReason::Normal, ExitReason::Reason);
                return self.stop_in_transition(ctx, local, tr, reason, StopWith::Current, out);
            }
            CallbackResult::NextState(state, data, actions) => {
                let s0 = &self.live_ref(local).state;
                let current = tr.state.as_ref().unwrap_or(s0);
                if state == *current {
                    tr.data = Some(data);
                    (actions, false)
                } else if in_enter {
                    let bad = CallbackResult::NextState(state, data, actions);
                    let reason = ExitReason::BadStateEnterReturnFromStateFunction(Box::new(bad));
                    return self.stop_in_transition(ctx, local, tr, reason, StopWith::Current, out);
                } else {
                    tr.state = Some(state);
                    tr.data = Some(data);
                    (actions, true)
                }
            }
            CallbackResult::KeepState(data, actions) => {
                tr.data = Some(data);
                (actions, false)
            }
            CallbackResult::KeepStateAndData(actions) => (actions, false),
            CallbackResult::RepeatState(data, actions) => {
                tr.data = Some(data);
                (actions, true)
            }
            CallbackResult::RepeatStateAndData(actions) => (actions, true),
        };
        self.process_actions(ctx, local, tr, actions, call_enter, out)
    }

    /// gen_statem's `loop_actions_list`, then the enter call or the end of
    /// the transition.
    fn process_actions(
        &mut self,
        ctx: &Ctx<M>,
        local: u32,
        mut tr: Transition<M>,
        actions: Vec<Action<M>>,
        call_enter: bool,
        out: &mut dyn Output<M>,
    ) -> Flow {
        let in_enter = tr.enter;
        for action in actions {
            let bad = match action {
                Action::Reply(from, reply) => {
                    tr.note_reply(&from);
                    out.reply(from, reply);
                    None
                }
                Action::Postpone if in_enter => {
                    Some(ExitReason::BadStateEnterActionFromStateFunction(boxed(Action::Postpone)))
                }
                Action::Postpone => {
                    tr.postpone = true;
                    None
                }
                Action::PostponeFlag(true) if in_enter => {
                    Some(ExitReason::BadActionFromStateFunction(boxed(Action::PostponeFlag(true))))
                }
                Action::PostponeFlag(p) => {
                    tr.postpone = p;
                    None
                }
                Action::Hibernate(h) => {
                    tr.hibernate = h;
                    None
                }
                // OTP's pop clause needs a second module on the stack: with
                // one, pop is a plain bad action, also in an enter call.
                Action::PopCallbackModule if in_enter && self.live_ref(local).params.modules.len() == 1 => {
                    Some(ExitReason::BadActionFromStateFunction(boxed(Action::PopCallbackModule)))
                }
                a @ (Action::NextEvent(_)
                | Action::InvalidNextEvent(_)
                | Action::ChangeCallbackModule(_)
                | Action::PushCallbackModule(_)
                | Action::PopCallbackModule)
                    if in_enter =>
                {
                    Some(ExitReason::BadStateEnterActionFromStateFunction(boxed(a)))
                }
                Action::NextEvent(ev) => {
                    tr.next_events.push(ev);
                    None
                }
                Action::Timeout(t) => match check_timeout(&t) {
                    true => {
                        tr.timeouts.push(t);
                        None
                    }
                    false => Some(ExitReason::BadActionFromStateFunction(boxed(Action::Timeout(t)))),
                },
                a @ (Action::ChangeCallbackModule(_) | Action::PushCallbackModule(_) | Action::PopCallbackModule) => {
                    self.change_module(ctx, local, a)
                }
                a @ (Action::Invalid(_) | Action::InvalidNextEvent(_)) => {
                    Some(ExitReason::BadActionFromStateFunction(boxed(a)))
                }
            };
            if let Some(reason) = bad {
                return self.stop_in_transition(ctx, local, tr, reason, StopWith::Current, out);
            }
        }
        if tr.event.is_none() {
            // init: the actions are followed by {postpone, false}.
            tr.postpone = false;
        }
        if call_enter && self.live_ref(local).params.mode.state_enter {
            tr.enter = true;
            return self.invoke(ctx, local, tr, out);
        }
        self.finish_transition(ctx, local, tr, out);
        Flow::Done
    }

    /// `change_callback_module`, `push_callback_module`,
    /// `pop_callback_module`: applied at once, and the new head's
    /// `callback_mode()` read at once.
    fn change_module(&mut self, ctx: &Ctx<M>, local: u32, action: Action<M>) -> Option<ExitReason<M>> {
        let params = &self.live_ref(local).params;
        let mut modules = params.modules.clone();
        match &action {
            Action::ChangeCallbackModule(m) => modules[0] = m.clone(),
            Action::PushCallbackModule(m) => modules.insert(0, m.clone()),
            Action::PopCallbackModule if modules.len() > 1 => {
                modules.remove(0);
            }
            _ => return Some(ExitReason::BadActionFromStateFunction(boxed(action))),
        }
        match ctx.machine.callback_mode(&modules[0]) {
            Ok(mode) => {
                self.sess(local).params = Arc::new(Params { modules, mode });
                None
            }
            Err(t) => Some(ExitReason::BadReturnFromCallbackMode(t)),
        }
    }

    /// The end of a transition (gen_statem's `loop_done` preparation):
    /// postpone, state change, time-out cancellation and arming, inserted
    /// events.
    fn finish_transition(&mut self, ctx: &Ctx<M>, local: u32, tr: Transition<M>, out: &mut dyn Output<M>) {
        let Transition { event, state, data, postpone, hibernate, next_events, timeouts, .. } = tr;
        let s = self.sess(local);
        if let Some(d) = data {
            s.data = d;
        }
        if hibernate {
            s.flags |= F_HIBERNATE;
        } else {
            s.flags &= !F_HIBERNATE;
        }
        if postpone {
            if let Some(ev) = event {
                s.extras.get_or_insert_with(Default::default).postponed.push_back(ev);
            }
        }
        if let Some(st) = state {
            s.state = st;
            // A state change retries the postponed events, oldest first,
            // before the events still queued.
            if let Some(ex) = s.extras.as_mut() {
                while let Some(ev) = ex.postponed.pop_back() {
                    ex.queue.push_front(ev);
                }
            }
            self.cancel_timeout(local, &TimeoutType::State);
        }
        // Any handled event cancels the event time-out, before the new
        // time-outs of this transition apply.
        self.cancel_timeout(local, &TimeoutType::Event);
        if !timeouts.is_empty() {
            self.apply_timeouts(ctx, local, timeouts, out);
        }
        if !next_events.is_empty() {
            let ex = self.ex(local);
            for ev in next_events.into_iter().rev() {
                ex.queue.push_front(ev);
            }
        }
    }

    /// Finds the record of a time-out type.
    fn find_timer(&self, local: u32, kind: &TimeoutType<M::TimeoutName>) -> Option<TimerId> {
        let mut cur = self.live_ref(local).timers;
        while cur != NO_TIMER {
            let rec = self.wheel.get(TimerId(cur));
            if rec.kind == *kind {
                return Some(TimerId(cur));
            }
            cur = rec.next;
        }
        None
    }

    /// Cancels a time-out exactly: a running timer, a pending zero
    /// time-out, or an expired one whose event waits in the mailbox.
    fn cancel_timeout(&mut self, local: u32, kind: &TimeoutType<M::TimeoutName>) {
        if self.live_ref(local).timers == NO_TIMER {
            return;
        }
        let Some(tid) = self.find_timer(local, kind) else { return };
        let status = self.wheel.get(tid).status;
        self.unlink_timer(tid);
        match status {
            TimerStatus::Running => {}
            TimerStatus::Zero => {
                let ex = self.ex(local);
                ex.t0q.retain(|t| *t != tid);
            }
            TimerStatus::Fired => {
                let ex = self.ex(local);
                ex.mailbox.retain(|i| !matches!(i, Incoming::Fired(t) if *t == tid));
            }
        }
    }

    /// gen_statem's `loop_timeouts`: the last action of each time-out type
    /// wins; non-zero timers start in reverse action order; zero time-outs
    /// are appended to the zero queue in action order.
    fn apply_timeouts(&mut self, ctx: &Ctx<M>, local: u32, timeouts: Vec<TimeoutAction<M>>, out: &mut dyn Output<M>) {
        let mut seen: Vec<TimeoutType<M::TimeoutName>> = Vec::new();
        let mut zeros: Vec<(TimeoutType<M::TimeoutName>, M::Msg)> = Vec::new();
        let now = ctx.clock.now_ms();
        for t in timeouts.into_iter().rev() {
            if seen.contains(&t.kind) {
                continue;
            }
            seen.push(t.kind.clone());
            match (t.time, t.msg) {
                (TimeoutTime::Infinity, _) | (_, None) => self.cancel_timeout(local, &t.kind),
                (TimeoutTime::Relative(0) | TimeoutTime::Absolute(0), Some(msg)) => {
                    self.cancel_timeout(local, &t.kind);
                    zeros.push((t.kind, msg));
                }
                (TimeoutTime::Relative(ms), Some(msg)) => {
                    self.cancel_timeout(local, &t.kind);
                    // Counted from the current time rounded up: never early.
                    let from = ctx.clock.now_ms_ceil();
                    let at = ctx.wheel_time(from).saturating_add(ms);
                    self.add_timer(local, t.kind, msg, TimerStatus::Running, Some(at));
                    out.armed(from.saturating_add(ms.min(i64::MAX as u64) as i64));
                }
                (TimeoutTime::Absolute(at), Some(msg)) => {
                    self.cancel_timeout(local, &t.kind);
                    if at <= now {
                        // Already due: it fires at once, through the mailbox,
                        // so after every zero time-out.
                        let tid = self.add_timer(local, t.kind, msg, TimerStatus::Fired, None);
                        self.ex(local).mailbox.push_back(Incoming::Fired(tid));
                    } else {
                        self.add_timer(local, t.kind, msg, TimerStatus::Running, Some(ctx.wheel_time(at)));
                        out.armed(at);
                    }
                }
                (TimeoutTime::Update, Some(msg)) => match self.find_timer(local, &t.kind) {
                    Some(tid) => self.wheel.get_mut(tid).msg = msg,
                    None => zeros.push((t.kind, msg)),
                },
            }
        }
        for (kind, msg) in zeros.into_iter().rev() {
            let tid = self.add_timer(local, kind, msg, TimerStatus::Zero, None);
            self.ex(local).t0q.push_back(tid);
        }
    }

    fn add_timer(
        &mut self,
        local: u32,
        kind: TimeoutType<M::TimeoutName>,
        msg: M::Msg,
        status: TimerStatus,
        at: Option<u64>,
    ) -> TimerId {
        let next = self.live_ref(local).timers;
        let tid = self.wheel.insert(at, TimerRec { slot: local, next, status, kind, msg });
        self.timer_count.0.store(self.wheel.len(), Ordering::Relaxed);
        self.sess(local).timers = tid.0;
        tid
    }

    /// Fires expired timers: each becomes an event in its session's mailbox.
    fn fire_timers(&mut self, ctx: &Ctx<M>, now: u64, out: &mut dyn Output<M>) -> usize {
        let mut fired: Vec<(u32, TimerId)> = Vec::new();
        self.wheel.advance(now, |tid, rec| {
            rec.status = TimerStatus::Fired;
            fired.push((rec.slot, tid));
        });
        let n = fired.len();
        for &(local, tid) in &fired {
            // A fired timer's session is alive: stopping frees its timers.
            self.ex(local).mailbox.push_back(Incoming::Fired(tid));
        }
        // The first RUN_CHUNK sessions run now; the rest wait for
        // run_pending, so one tick holds the shard for a bounded time.
        for (k, (local, _)) in fired.into_iter().enumerate() {
            if self.live_mut(local).is_some_and(|s| s.flags & F_RUNNABLE == 0) {
                if k < RUN_CHUNK {
                    self.run(ctx, local, out);
                } else {
                    self.mark_runnable(local);
                }
            }
        }
        if !self.runnable.is_empty() {
            out.wake();
        }
        n
    }

    // ---------------------------------------------------------------- stop

    /// Stops the session from inside a transition: sets the state and data
    /// `terminate/3` must see, then terminates.
    fn stop_in_transition(
        &mut self,
        ctx: &Ctx<M>,
        local: u32,
        tr: Transition<M>,
        reason: ExitReason<M>,
        with: StopWith,
        out: &mut dyn Output<M>,
    ) -> Flow {
        let Transition { event, state, data, replied, .. } = tr;
        if let StopWith::Current = with {
            let s = self.sess(local);
            if let Some(st) = state {
                s.state = st;
            }
            if let Some(d) = data {
                s.data = d;
            }
        }
        self.begin_stop(ctx, local, Stopping { reason, current: event, answered: replied, requester: None }, out)
    }

    /// Calls `terminate/3` with the session's state and data.
    fn begin_stop(&mut self, ctx: &Ctx<M>, local: u32, stopping: Stopping<M>, out: &mut dyn Output<M>) -> Flow {
        let id = self.id(local, ctx.shard_bits);
        self.sess(local).flags |= F_STOPPING;
        let step = {
            let s = self.live_ref(local);
            let module = &s.params.modules[0];
            let mut cx = Cx::new(id, &mut *out, &*ctx.clock);
            match catch_unwind(AssertUnwindSafe(|| {
                ctx.machine.terminate(&mut cx, module, &stopping.reason, &s.state, &s.data)
            })) {
                Ok(step) => step,
                Err(payload) => {
                    Step::Ready(TerminateResult::Exception(ctx.machine.panic_reason(panic_message(&payload))))
                }
            }
        };
        match step {
            Step::Ready(result) => {
                self.terminated(ctx, local, stopping, result, out);
                Flow::Gone
            }
            Step::Pending => {
                let s = self.sess(local);
                s.flags |= F_BUSY;
                s.extras.get_or_insert_with(Default::default).phase = Phase::Terminate(Box::new(stopping));
                Flow::Pending
            }
        }
    }

    /// After `terminate/3`: report, tell callers and monitors, free all.
    fn terminated(
        &mut self,
        ctx: &Ctx<M>,
        local: u32,
        stopping: Stopping<M>,
        result: TerminateResult<M>,
        out: &mut dyn Output<M>,
    ) {
        let id = self.id(local, ctx.shard_bits);
        let Stopping { reason, current, answered, requester } = stopping;
        let reason = match result {
            TerminateResult::Ok => reason,
            TerminateResult::Exception(r) => ExitReason::Exception(r),
        };
        let Slot::Live(mut sess) = std::mem::replace(&mut self.slots[local as usize].slot, Slot::free(NO_SLOT)) else {
            unreachable!()
        };
        // Collect the time-outs, freeing their records.
        let mut timers: Vec<TimerRec<M>> = Vec::new();
        let mut cur = sess.timers;
        while cur != NO_TIMER {
            let rec = self.wheel_remove(TimerId(cur));
            cur = rec.next;
            timers.push(rec);
        }
        sess.timers = NO_TIMER;
        let extras = sess.extras.take().map(|b| *b).unwrap_or_default();
        {
            let mut queue: Vec<&Event<M>> = extras.queue.iter().collect();
            queue.extend(extras.mailbox.iter().filter_map(|i| match i {
                Incoming::Event(e) => Some(e),
                _ => None,
            }));
            let report = TerminateReport {
                session: id,
                reason: &reason,
                state: &sess.state,
                data: &sess.data,
                modules: &sess.params.modules,
                mode: sess.params.mode,
                current: current.as_ref(),
                queue,
                postponed: extras.postponed.iter().collect(),
                timeouts: timers.iter().map(|r| (&r.kind, &r.msg)).collect(),
            };
            out.terminated(&report);
        }
        notify_stopped(id, &reason, current.filter(|_| !answered), &extras, out);
        if let Some(from) = requester {
            out.system_reply(from, SystemReply::Stopped(reason.clone()));
        }
        for item in extras.mailbox {
            if let Incoming::System(SystemRequest::Stop(_, Some(from))) = item {
                out.system_reply(from, SystemReply::Stopped(reason.clone()));
            }
        }
        drop(sess);
        self.release(ctx, local);
    }

    fn status(&self, local: u32, id: crate::SessionId) -> Option<Status<M>> {
        let Slot::Live(s) = &self.slots[local as usize].slot else { return None };
        let mut timeouts = Vec::new();
        let mut cur = s.timers;
        while cur != NO_TIMER {
            let rec = self.wheel.get(TimerId(cur));
            timeouts.push((rec.kind.clone(), rec.msg.clone()));
            cur = rec.next;
        }
        timeouts.reverse();
        let (queue_len, postponed_len) = s.extras.as_ref().map_or((0, 0), |e| {
            let mailbox = e.mailbox.iter().filter(|i| matches!(i, Incoming::Event(_) | Incoming::Fired(_))).count();
            (e.queue.len() + mailbox, e.postponed.len())
        });
        Some(Status {
            session: id,
            state: s.state.clone(),
            data: s.data.clone(),
            modules: s.params.modules.clone(),
            mode: s.params.mode,
            queue_len,
            postponed_len,
            timeouts,
            suspended: s.flags & F_SUSPENDED != 0,
            busy: s.flags & F_BUSY != 0,
        })
    }
}

/// Tells every caller whose call the session still held, every monitor,
/// and every `sync` waiter, that the session stopped.
fn notify_stopped<M: Machine>(
    id: crate::SessionId,
    reason: &ExitReason<M>,
    current: Option<Event<M>>,
    extras: &Extras<M>,
    out: &mut dyn Output<M>,
) {
    let calls = current.iter().chain(&extras.queue).chain(&extras.postponed).chain(extras.mailbox.iter().filter_map(
        |i| match i {
            Incoming::Event(ev) => Some(ev),
            _ => None,
        },
    ));
    for ev in calls {
        if let EventType::Call(from) = &ev.kind {
            out.call_failed(id, from.clone(), reason);
        }
    }
    for item in &extras.mailbox {
        match item {
            Incoming::Sync(from)
            | Incoming::System(
                SystemRequest::GetState(from)
                | SystemRequest::GetStatus(from)
                | SystemRequest::Suspend(Some(from))
                | SystemRequest::Resume(Some(from))
                | SystemRequest::ReplaceState { from, .. },
            ) => out.call_failed(id, from.clone(), reason),
            _ => {}
        }
    }
    for (mref, watcher) in &extras.monitors {
        out.down(watcher.clone(), *mref, id, reason);
    }
}

/// `{abs,false}` times are relative, so any `u64` is fine; `update` must
/// carry a message; everything the types allow is otherwise valid.
fn check_timeout<M: Machine>(t: &TimeoutAction<M>) -> bool {
    !(matches!(t.time, TimeoutTime::Update) && t.msg.is_none())
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_owned()
    }
}
