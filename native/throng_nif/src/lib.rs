//! # throng_nif
//!
//! The rustler glue between the BEAM and [`throng_core`]: the engine
//! resource, term conversion, error mapping and message delivery live here
//! and nowhere else. The Erlang module `throng_nif` (erlang/src/throng_nif.erl)
//! loads this library in its `-on_load` and holds one stub per NIF; nothing
//! but Throng's backend and executors call these functions.
//!
//! `rustler::init!` registers every `#[rustler::nif]` in the crate, so every
//! NIF added here needs its stub in `throng_nif.erl`, or loading fails with
//! `bad_lib`.
//!
//! # Ground rules
//!
//! * Every NIF does a bounded amount of engine work: callback-module
//!   sessions never run code inside a NIF (their callbacks answer later, from
//!   executor processes), and the engine's run budget bounds the rest.
//! * Each engine owns one thread: it fires timers, continues work left over
//!   by a run budget, and stops the sessions of owners that died. It sends
//!   with an `OwnedEnv`; NIF calls send with the caller's environment.
//! * Errors are mapped to terms in [`error_term`] only.
#![deny(unsafe_code)]

/// mimalloc: NIF calls allocate on every scheduler thread; glibc's arenas
/// contend there (measured: a tenth of a cast's time in malloc locks).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod atoms;
mod beam;
mod etf;
mod inline;
mod native;
mod out;
mod parse;
mod queue;
mod raw;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rustler::env::OwnedEnv;
use rustler::{Atom, Encoder, Env, LocalPid, Monitor, NifResult, Resource, ResourceArc, Term};
use throng_core::{
    Config, Engine, Error, Event, EventType, SessionId, Started, SystemClock, SystemRequest, TerminateResult,
};

use crate::beam::{Beam, BeamFrom, InitArgs};
use crate::etf::{Etf, EtfNif};
use crate::out::{reason_term, Form, Out};
use crate::queue::{Item, Queue, Ring};
use throng_beam::Mod;

/// `etf_check(Term)`: whether the engine stores `Term` as the bytes of
/// `term_to_binary(Term)` (a test of the NIF's own encoder, see
/// `etf::Small`; not an API).
#[rustler::nif]
fn etf_check(term: Term<'_>) -> bool {
    etf::encodes_as_vm(term)
}

/// Version of the engine this library was built from: `throng_core`'s crate
/// version, as a binary.
#[rustler::nif]
fn core_version() -> &'static str {
    throng_core::VERSION
}

/// What the engine thread is asked to do.
#[derive(Default)]
struct Signal {
    wake: bool,
    stop: bool,
    owners_down: Vec<LocalPid>,
}

/// An engine: the core engine, its executors, its thread.
pub struct EngineRes {
    engine: Engine<Beam>,
    /// One work queue per executor (see [`queue`]).
    /// Set once, when the pool starts (read on every dispatch without a
    /// lock; a replaced executor changes its queue's pid, not the list).
    executors: std::sync::OnceLock<Vec<Queue>>,
    signal: Mutex<Signal>,
    cond: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Sessions started with `start_link`, by owner.
    owners: Mutex<HashMap<LocalPid, (Monitor, Vec<SessionId>)>>,
    /// Calls whose caller gave up (timed out): a reply the engine would send
    /// them is dropped, as gen_statem's aliases drop it. Bounded by
    /// [`MAX_ABANDONED`]; an entry goes when its reply comes.
    abandoned: Mutex<std::collections::HashSet<(LocalPid, Etf)>>,
    abandoned_len: std::sync::atomic::AtomicUsize,
    /// When the engine thread plans to wake next (clock base); `i64::MIN`
    /// while it runs. A time-out armed earlier than this wakes it.
    next_wake: AtomicI64,
    /// The raw results quoted by `bad_state_enter_return_from_state_function`
    /// of sessions whose `terminate/3` runs, until their DOWN is sent.
    raw_results: Mutex<HashMap<u64, Etf>>,
    /// `{Class, Reason, Stack}` of the exception that stopped a session, for
    /// the error report its terminate work item carries (kept when the
    /// callback ran inline, in a process the report is not logged from).
    raised: Mutex<HashMap<u64, Etf>>,
    /// The `inline` option (see [`inline`]).
    inline: inline::Mode,
    /// Sessions whose callback runs in a caller.
    claims: inline::Claims,
}

/// A NIF's engine argument: the resource, borrowed for the call (no
/// reference count is taken and given back, which two schedulers' calls
/// would otherwise contend on), and its term, to name the engine in
/// messages.
#[derive(Clone, Copy)]
pub struct Eng<'a> {
    res: &'a EngineRes,
    term: Term<'a>,
}

impl<'a> rustler::Decoder<'a> for Eng<'a> {
    fn decode(term: Term<'a>) -> NifResult<Self> {
        Ok(Eng { res: term.decode()?, term })
    }
}

impl std::ops::Deref for Eng<'_> {
    type Target = EngineRes;
    fn deref(&self) -> &EngineRes {
        self.res
    }
}

#[rustler::resource_impl]
impl Resource for EngineRes {
    fn down<'a>(&'a self, _env: Env<'a>, pid: LocalPid, _monitor: Monitor) {
        // The owner of start_link'ed sessions died: the engine thread stops
        // them (nothing is sent from this callback).
        let mut s = self.signal.lock().unwrap_or_else(|p| p.into_inner());
        s.owners_down.push(pid);
        s.wake = true;
        self.cond.notify_one();
    }
}

impl EngineRes {
    /// Queues a callback for the executor of `session` (always the same
    /// one, so a session's callbacks run in order, one at a time).
    pub fn push_work(&self, session: SessionId, item: Item) -> Ring {
        match self.executors.get() {
            Some(ex) => ex[session.slot() as usize % ex.len()].push(item),
            // No executors yet (never the case once throng_engine:init/1
            // has returned): the work is dropped.
            None => Ring(None),
        }
    }

    /// The callback its executor took for `session` was handed in.
    fn complete(&self, session: u64) {
        if let Some(ex) = self.executors.get() {
            ex[SessionId::from_u64(session).slot() as usize % ex.len()].complete(&[session]);
        }
    }

    /// Executor `ix`'s queue.
    fn queue(&self, ix: usize) -> NifResult<&Queue> {
        self.executors.get().and_then(|ex| ex.get(ix)).ok_or(rustler::Error::BadArg)
    }

    /// Peeks at the raw result kept for a session's terminate reason.
    fn raw_result(&self, id: u64) -> Option<Etf> {
        self.raw_results.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }

    /// Keeps the raw result a stopping session's reason quotes.
    pub fn keep_raw_result(&self, session: SessionId, raw: Etf) {
        self.raw_results.lock().unwrap_or_else(|p| p.into_inner()).insert(session.to_u64(), raw);
    }

    /// The exception kept for a session's error report, once.
    fn take_raised(&self, id: u64) -> Option<Etf> {
        self.raised.lock().unwrap_or_else(|p| p.into_inner()).remove(&id)
    }

    fn take_raw_result(&self, id: u64) -> Option<Etf> {
        self.raw_results.lock().unwrap_or_else(|p| p.into_inner()).remove(&id)
    }

    /// Whether a reply to `from` must be dropped (its caller gave up); the
    /// entry is used up.
    pub fn drop_reply(&self, from: &BeamFrom) -> bool {
        if self.abandoned_len.load(Ordering::Acquire) == 0 {
            return false;
        }
        let mut set = self.abandoned.lock().unwrap_or_else(|p| p.into_inner());
        let found = set.remove(&(from.pid, from.tag.clone()));
        self.abandoned_len.store(set.len(), Ordering::Release);
        found
    }

    /// A time-out was armed for `deadline`: wake the engine thread if it
    /// sleeps past it.
    pub fn armed(&self, deadline: i64) {
        let planned = self.next_wake.load(Ordering::SeqCst);
        // i64::MIN: the thread is running and may be about to plan a
        // longer sleep; the flag makes it look again.
        if planned == i64::MIN || deadline < planned {
            self.wake();
        }
    }

    /// Asks the engine thread to run (work left over, a new deadline).
    pub fn wake(&self) {
        let mut s = self.signal.lock().unwrap_or_else(|p| p.into_inner());
        if !s.wake {
            s.wake = true;
            self.cond.notify_one();
        }
    }
}

/// The engine thread: fires timers, continues left-over work, stops the
/// sessions of dead owners.
fn engine_thread(res: ResourceArc<EngineRes>) {
    let mut owned = OwnedEnv::new();
    loop {
        // Read the next deadline before taking the signal lock: NIF calls
        // take the signal lock (to wake this thread) while they hold a
        // shard, so this thread must never lock a shard while it holds the
        // signal lock.
        let now = res.engine.now_ms();
        let wait = res.engine.tick_wait(Duration::from_millis(100));
        let downs = {
            let mut s = res.signal.lock().unwrap_or_else(|p| p.into_inner());
            if !s.wake && !s.stop && !wait.is_zero() {
                // The millisecond the thread wakes in (`armed` wakes it
                // for an earlier deadline).
                let wake_ms = wait.as_nanos().div_ceil(1_000_000) as i64;
                res.next_wake.store(now + wake_ms, Ordering::SeqCst);
                s = res.cond.wait_timeout(s, wait).unwrap_or_else(|p| p.into_inner()).0;
            }
            res.next_wake.store(i64::MIN, Ordering::SeqCst);
            if s.stop {
                return;
            }
            s.wake = false;
            std::mem::take(&mut s.owners_down)
        };
        check_claims(&res, &mut owned);
        let mut out = Out::owned(&mut owned, &res);
        for pid in downs {
            let ids = res.owners.lock().unwrap_or_else(|p| p.into_inner()).remove(&pid).map(|(_, ids)| ids);
            for id in ids.unwrap_or_default() {
                let _ = res.engine.stop(id, Some(shutdown_etf()), None, &mut out);
            }
        }
        res.engine.tick(&mut out);
        // One chunk per round, so a stop request is seen soon; more rounds
        // follow at once while work is left.
        if res.engine.run_pending(&mut out) {
            res.wake();
        }
    }
}

/// Sessions claimed by a runner that died in the callback end with reason
/// `killed` (see [`inline`]).
fn check_claims(res: &ResourceArc<EngineRes>, owned: &mut OwnedEnv) {
    let old = res.claims.old(res.engine.now_ms());
    if old.is_empty() {
        return;
    }
    let dead: Vec<(u64, LocalPid)> =
        owned.run(|env| old.into_iter().filter(|(_, pid)| !env.is_process_alive(*pid)).collect());
    for (id, pid) in dead {
        if res.claims.drop_dead(id, pid) {
            let mut out = Out::owned(&mut *owned, res);
            let _ = res.engine.kill(sid(id), killed_etf(), &mut out);
        }
    }
}

fn killed_etf() -> Etf {
    // term_to_binary(killed)
    let mut b = vec![131, 119, 6];
    b.extend_from_slice(b"killed");
    Etf::from_bytes(b)
}

fn shutdown_etf() -> Etf {
    // term_to_binary(shutdown)
    let mut b = vec![131, 119, 8];
    b.extend_from_slice(b"shutdown");
    Etf::from_bytes(b)
}

/// The one place engine errors become terms: `{error, Atom}`.
pub(crate) fn error_term<'a>(env: Env<'a>, e: Error) -> Term<'a> {
    (atoms::error(), error_reason(env, e)).encode(env)
}

/// The atom of an engine error.
pub(crate) fn error_reason(_env: Env<'_>, e: Error) -> Atom {
    match e {
        Error::NoProc => atoms::noproc(),
        Error::TooManySessions => atoms::too_many_sessions(),
        Error::QueueFull => atoms::queue_full(),
        Error::NotWaiting => atoms::not_waiting(),
        Error::Badarg => atoms::badarg(),
        Error::Busy => atoms::busy(),
    }
}

fn ok_or_error<'a>(env: Env<'a>, r: Result<(), Error>) -> Term<'a> {
    match r {
        Ok(()) => atoms::ok().encode(env),
        Err(e) => error_term(env, e),
    }
}

fn config_from(opts: Term<'_>) -> NifResult<Config> {
    let mut c = Config::default();
    let get = |k: &str| -> NifResult<Option<usize>> {
        let key = Atom::from_str(opts.get_env(), k)?;
        match opts.map_get(key) {
            Ok(v) => Ok(Some(v.decode::<usize>()?)),
            Err(_) => Ok(None),
        }
    };
    if let Some(v) = get("shards")? {
        c.shards = v;
    }
    if let Some(v) = get("max_sessions")? {
        c.max_sessions = v;
    }
    if let Some(v) = get("max_queue_len")? {
        c.max_queue_len = v;
    }
    if let Some(v) = get("run_budget")? {
        c.run_budget = v;
    }
    Ok(c)
}

/// `engine_new(Opts :: map(), NowNs :: integer())`: a new engine whose clock
/// reads `erlang:monotonic_time()` (`NowNs` is its value in nanoseconds now).
#[rustler::nif]
fn engine_new<'a>(env: Env<'a>, opts: Term<'a>, now_ns: i64) -> NifResult<Term<'a>> {
    let config = config_from(opts)?;
    let inline_mode = match opts.map_get(atoms::inline()) {
        Err(_) => inline::Mode::Calls,
        Ok(v) if v.decode::<Atom>().ok() == Some(atoms::none()) => inline::Mode::None,
        Ok(v) if v.decode::<Atom>().ok() == Some(atoms::calls()) => inline::Mode::Calls,
        Ok(v) if v.decode::<Atom>().ok() == Some(atoms::all()) => inline::Mode::All,
        Ok(_) => return Err(rustler::Error::BadArg),
    };
    let natives = throng_machines::natives();
    // Terms the native machines write are decoded with rustler's safe
    // binary_to_term: their atoms must exist.
    for name in natives.atoms().chain(["panic", "native", "unknown_native_machine"]) {
        let _ = Atom::from_str(env, name);
    }
    let engine = match Engine::new(Beam::new(natives), config, SystemClock::from_nanos(i128::from(now_ns))) {
        Ok(e) => e,
        Err(e) => return Ok(error_term(env, e)),
    };
    let res = ResourceArc::new(EngineRes {
        engine,
        executors: std::sync::OnceLock::new(),
        signal: Mutex::new(Signal::default()),
        cond: Condvar::new(),
        thread: Mutex::new(None),
        owners: Mutex::new(HashMap::new()),
        raw_results: Mutex::new(HashMap::new()),
        raised: Mutex::new(HashMap::new()),
        inline: inline_mode,
        claims: inline::Claims::new(),
        next_wake: AtomicI64::new(i64::MIN),
        abandoned: Mutex::new(std::collections::HashSet::new()),
        abandoned_len: std::sync::atomic::AtomicUsize::new(0),
    });
    let for_thread = res.clone();
    let handle = std::thread::Builder::new()
        .name("throng_engine".into())
        .spawn(move || engine_thread(for_thread))
        .map_err(|_| rustler::Error::BadArg)?;
    *res.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
    Ok((atoms::ok(), res).encode(env))
}

/// `engine_set_executors(E, Pids)`: the executor processes, the `N`th
/// serving queue `N`. Set once, with the pool (`badarg` after).
#[rustler::nif]
fn engine_set_executors<'a>(engine: Eng<'a>, pids: Vec<LocalPid>) -> NifResult<Atom> {
    if pids.is_empty() {
        return Err(rustler::Error::BadArg);
    }
    engine.executors.set(pids.into_iter().map(Queue::new).collect()).map_err(|_| rustler::Error::BadArg)?;
    Ok(atoms::ok())
}

/// `executor_replaced(E, Ix, Pid, Reason)`: executor `Ix` died with
/// `Reason` and `Pid` takes over its queue (rung if work waits). The
/// sessions whose callbacks the dead one was running end with `Reason`, as
/// a gen_statem dies with its process.
#[rustler::nif]
fn executor_replaced<'a>(env: Env<'a>, engine: Eng<'a>, ix: usize, pid: LocalPid, reason: Term<'a>) -> NifResult<Atom> {
    let (ring, lost) = engine.queue(ix)?.replace_pid(pid);
    let mut out = Out::nif(env, &engine);
    for id in lost {
        let _ = blocking(|| engine.engine.kill(sid(id), Etf::encode(reason), &mut out));
    }
    if let Ring(Some(pid)) = ring {
        let _ = env.send(&pid, atoms::throng_ring().encode(env));
    }
    Ok(atoms::ok())
}

/// Most items one `executor_take` returns.
const MAX_TAKE: usize = 1024;

/// Most bytes of encoded terms one take decodes (beyond the first item):
/// binary_to_term runs at a few hundred MB/s, so this keeps a take well
/// under a millisecond.
const MAX_TAKE_BYTES: usize = 128 * 1024;

/// How long `executor_done` applies results before it hands the rest back
/// (`{busy, Rest}`), so that a batch of heavy results (many actions each)
/// stays within a NIF call's time slice.
const DONE_BUDGET: Duration = Duration::from_micros(500);

/// `executor_take(E, Ix, Max)`: up to `Max` work items `{Sid, Work}` of
/// executor `Ix` (0-based), oldest first; `[]` when none wait, after which
/// the next item rings the executor with `'$throng_ring'`.
#[rustler::nif]
fn executor_take<'a>(env: Env<'a>, engine: Eng<'a>, ix: usize, max: usize) -> NifResult<Term<'a>> {
    take(env, &engine, ix, max)
}

fn take<'a>(env: Env<'a>, engine: &EngineRes, ix: usize, max: usize) -> NifResult<Term<'a>> {
    let items = engine.queue(ix)?.take(max.clamp(1, MAX_TAKE), MAX_TAKE_BYTES);
    let terms: Vec<Term<'a>> =
        items.iter().map(|i| i.term(env, |id| (engine.raw_result(id), engine.take_raised(id)))).collect();
    Ok(terms.encode(env))
}

/// One state callback's result for `executor_done`: `{Sid, Result, Modes}`.
type Done<'a> = (u64, Term<'a>, Vec<(Atom, Term<'a>)>);

/// `executor_done(E, Ix, Results, Max)`: the state callbacks of a batch
/// returned; `Results` are `{Sid, Result, Modes}` (`Modes` as for
/// `session_init_result`), applied in order. Then takes the next batch as
/// `executor_take/3` does: `{ok, Items}`. When a session's shard is busy,
/// or the call has run for its time slice, the results from that one on
/// are handed back, not applied: `{busy, Rest}` (call again after
/// `erlang:yield()`).
#[rustler::nif]
fn executor_done<'a>(env: Env<'a>, engine: Eng<'a>, ix: usize, results: Term<'a>, max: usize) -> NifResult<Term<'a>> {
    on_scheduler();
    // All or nothing for bad input: decode the whole batch first.
    let batch: Vec<Done<'a>> = results.decode()?;
    if batch.len() > MAX_TAKE {
        return Err(rustler::Error::BadArg);
    }
    let mut out = Out::nif(env, &engine);
    let started = std::time::Instant::now();
    let queue = engine.queue(ix)?;
    let ids: Vec<u64> = batch.iter().map(|d| d.0).collect();
    for (n, (id, result, modes)) in batch.into_iter().enumerate() {
        if n > 0 && started.elapsed() > DONE_BUDGET {
            // The results applied so far are handed in.
            queue.complete(&ids[..n]);
            let rest: Vec<Term<'a>> = results.decode::<Vec<Term<'a>>>()?.split_off(n);
            return Ok((atoms::busy(), rest).encode(env));
        }
        for (module, mode) in modes {
            engine.engine.machine().set_mode(module, parse::callback_mode(mode));
        }
        out.raw_result = Some(result);
        // A session that no longer waits (killed meanwhile) is skipped, as
        // its executor has nothing more to do for it.
        if let Err(Error::Busy) = engine.engine.resume(sid(id), parse::callback_result(result), &mut out) {
            queue.complete(&ids[..n]);
            let rest: Vec<Term<'a>> = results.decode::<Vec<Term<'a>>>()?.split_off(n);
            return Ok((atoms::busy(), rest).encode(env));
        }
    }
    Ok((atoms::ok(), take(env, &engine, ix, max)?).encode(env))
}

/// `engine_stop(E)`: every session ends at once with reason `shutdown`
/// (no `terminate/3`: monitors and waiting callers get DOWN; later calls
/// `noproc`), and the engine thread ends. Visits every session, so it runs
/// on a dirty scheduler.
#[rustler::nif(schedule = "DirtyCpu")]
fn engine_stop<'a>(env: Env<'a>, engine: Eng<'a>) -> Atom {
    let mut out = Out::nif(env, &engine);
    engine.engine.shutdown(shutdown_etf(), &mut out);
    {
        let mut s = engine.signal.lock().unwrap_or_else(|p| p.into_inner());
        s.stop = true;
        engine.cond.notify_one();
    }
    // Not joined here: a NIF must not wait; the thread ends within a loop.
    drop(engine.thread.lock().unwrap_or_else(|p| p.into_inner()).take());
    atoms::ok()
}

/// `engine_stats(E)`: `#{sessions, queued_events, timers, table_bytes,
/// memory, executor_queue, inline_runs}` (`memory`: the tables plus the
/// sessions' own heap, an estimate; `executor_queue`: callbacks waiting
/// for an executor; `inline_runs`: callbacks running in callers).
#[rustler::nif(schedule = "DirtyCpu")]
fn engine_stats<'a>(env: Env<'a>, engine: Eng<'a>) -> NifResult<Term<'a>> {
    let st = engine.engine.stats();
    let executor_queue: usize = engine.executors.get().map_or(0, |ex| ex.iter().map(|q| q.len()).sum());
    let pairs = [
        (atoms::sessions().encode(env), st.sessions.encode(env)),
        (atoms::queued_events().encode(env), st.queued_events.encode(env)),
        (atoms::timers().encode(env), st.timers.encode(env)),
        (atoms::table_bytes().encode(env), st.table_bytes.encode(env)),
        (atoms::memory().encode(env), (st.table_bytes + st.session_heap_bytes).encode(env)),
        (atoms::executor_queue().encode(env), executor_queue.encode(env)),
        (atoms::inline_runs().encode(env), engine.claims.len().encode(env)),
    ];
    Term::map_from_pairs(env, &pairs)
}

/// `engine_counts(E)`: `#{sessions, timers}` without visiting the
/// sessions (`Engine::counts`): cheap enough to poll.
#[rustler::nif]
fn engine_counts<'a>(env: Env<'a>, engine: Eng<'a>) -> NifResult<Term<'a>> {
    let c = engine.engine.counts();
    let pairs =
        [(atoms::sessions().encode(env), c.sessions.encode(env)), (atoms::timers().encode(env), c.timers.encode(env))];
    Term::map_from_pairs(env, &pairs)
}

/// Marks the calling scheduler thread: engine calls made on it never wait
/// for a busy shard; they return `{error, busy}` and the Erlang side tries
/// again after `erlang:yield()`.
pub(crate) fn on_scheduler() {
    throng_core::set_nonblocking_thread(true);
}

/// Undoes a step that must not be left half done, waiting if need be (a
/// shard is held for microseconds, never for long).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    throng_core::set_nonblocking_thread(false);
    let r = f();
    throng_core::set_nonblocking_thread(true);
    r
}

pub(crate) fn sid(raw: u64) -> SessionId {
    SessionId::from_u64(raw)
}

/// `session_start(E, Module, Args, Pid, Tag, Owner)`: a session whose
/// `init/1` runs in an executor; `Pid` gets `{Tag, Outcome}` and monitors
/// the session with `Tag` from the start.
#[rustler::nif]
fn session_start<'a>(
    env: Env<'a>,
    engine: Eng<'a>,
    module: Atom,
    init_args: Term<'a>,
    pid: LocalPid,
    tag: Term<'a>,
    owner: Term<'a>,
) -> NifResult<Term<'a>> {
    on_scheduler();
    let from = BeamFrom { pid, tag: Etf::encode(tag) };
    // The starter monitors the session (with `Tag`) from before init runs.
    let watcher = Some(from.clone());
    let init = InitArgs { args: Etf::encode(init_args), from };
    let mut out = Out::nif(env, &engine);
    let started = engine.engine.start_monitored(Mod::Beam(module), init, watcher, &mut out);
    match started {
        Ok(Started::Pending(id)) => {
            own(env, &engine, owner, id);
            Ok((atoms::ok(), id.to_u64()).encode(env))
        }
        Ok(_) => Ok(error_term(env, Error::Badarg)),
        Err(e) => Ok(error_term(env, e)),
    }
}

/// Ties session `id` to `owner` (a pid; anything else: no owner): the
/// session is killed when the owner exits (`start_link`).
pub(crate) fn own<'a>(env: Env<'a>, engine: &Eng<'a>, owner: Term<'a>, id: SessionId) {
    let Ok(owner) = owner.decode::<LocalPid>() else { return };
    let mut owners = engine.owners.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, ids)) = owners.get_mut(&owner) {
        if ids.len() > 64 && ids.len().is_power_of_two() {
            ids.retain(|i| engine.engine.is_alive(*i));
        }
        ids.push(id);
    } else if let Some(mon) =
        engine.term.decode::<ResourceArc<EngineRes>>().ok().and_then(|arc| env.monitor(&arc, &owner))
    {
        owners.insert(owner, (mon, vec![id]));
    }
}

fn record_modes(engine: &EngineRes, modes: Term<'_>) -> NifResult<()> {
    for pair in modes.decode::<Vec<(Atom, Term<'_>)>>()? {
        engine.engine.machine().set_mode(pair.0, parse::callback_mode(pair.1));
    }
    Ok(())
}

/// An init result for a session that no longer waits for one (killed by
/// a start time-out): `gone`; `{error, busy}` stays (try again).
fn init_gone(env: Env<'_>, e: Error) -> Term<'_> {
    match e {
        Error::Busy => error_term(env, e),
        _ => atoms::gone().encode(env),
    }
}

fn outcome_term<'a>(env: Env<'a>, engine: &Eng<'a>, s: Started<Beam>, raw: Option<Term<'a>>) -> Term<'a> {
    match s {
        Started::Ok(id) | Started::Pending(id) => (atoms::ok(), out::session_term(env, engine.term, id)).encode(env),
        Started::Ignore => atoms::ignore().encode(env),
        Started::Failed(r) => (atoms::error(), reason_term(env, &r, raw, Form::Raw)).encode(env),
    }
}

/// `session_init_result(E, Sid, Result, Modes)`: `init/1` returned.
#[rustler::nif]
fn session_init_result<'a>(
    env: Env<'a>,
    engine: Eng<'a>,
    id: u64,
    result: Term<'a>,
    modes: Term<'a>,
) -> NifResult<Term<'a>> {
    on_scheduler();
    record_modes(&engine, modes)?;
    let mut out = Out::nif(env, &engine);
    let r = engine.engine.resume_init(sid(id), parse::init_result(result), &mut out);
    handed_in(&engine, id, &r);
    match r {
        Ok(s) => Ok(outcome_term(env, &engine, s, None)),
        Err(e) => Ok(init_gone(env, e)),
    }
}

/// A callback's outcome was handed in (or the session no longer waits for
/// it): its executor no longer holds it.
fn handed_in<T>(engine: &EngineRes, id: u64, r: &Result<T, Error>) {
    if !matches!(r, Err(Error::Busy)) {
        engine.complete(id);
    }
}

/// `session_raise(E, Sid, Kind, {Reason, ExitReason})`: a callback raised;
/// `terminate/3` gets `Reason`, the session exits with `ExitReason` (as
/// gen_statem shapes it: `{Reason, Stack}` for class error). Returns what the matching
/// `session_init_result` / `executor_done` / `session_terminated` would.
#[rustler::nif]
fn session_raise<'a>(env: Env<'a>, engine: Eng<'a>, id: u64, kind: Atom, reason: Term<'a>) -> NifResult<Term<'a>> {
    on_scheduler();
    let mut out = Out::nif(env, &engine);
    // `{Reason, ExitReason, {Class, Reason, Stack}}` from a callback that
    // ran inline: the exception is kept for the error report.
    let (reason, raised) = match rustler::types::tuple::get_tuple(reason) {
        Ok(t) if t.len() == 3 => (rustler::types::tuple::make_tuple(env, &t[..2]), Some(t[2])),
        _ => (reason, None),
    };
    let reason = Etf::encode(reason);
    if kind == atoms::init() {
        let r = engine.engine.resume_init(sid(id), throng_core::InitResult::Exception(reason), &mut out);
        handed_in(&engine, id, &r);
        match r {
            Ok(s) => Ok(outcome_term(env, &engine, s, None)),
            Err(e) => Ok(init_gone(env, e)),
        }
    } else if kind == atoms::terminate() {
        terminated(env, &engine, id, TerminateResult::Exception(reason))
    } else {
        if let Some(raised) = raised {
            let mut map = engine.raised.lock().unwrap_or_else(|p| p.into_inner());
            if map.len() < MAX_ABANDONED {
                map.insert(id, Etf::encode(raised));
            }
        }
        let r = engine.engine.resume(sid(id), throng_core::CallbackResult::Exception(reason), &mut out);
        if !matches!(r, Err(Error::Busy)) {
            engine.claims.release(id);
        }
        handed_in(&engine, id, &r);
        Ok(ok_or_error(env, r))
    }
}

fn terminated<'a>(env: Env<'a>, engine: &Eng<'a>, id: u64, result: TerminateResult<Beam>) -> NifResult<Term<'a>> {
    let mut out = Out::nif(env, engine);
    let raw = engine.raw_result(id);
    out.raw_result = raw.as_ref().map(|r| r.decode(env));
    let r = engine.engine.resume_terminate(sid(id), result, &mut out);
    handed_in(engine, id, &r);
    if !matches!(r, Err(Error::Busy)) {
        // Kept until the session's DOWN notices, sent in this call, quoted it.
        engine.take_raw_result(id);
    }
    match r {
        Ok(()) => Ok(out.report.unwrap_or_else(|| atoms::ok().encode(env))),
        Err(e) => Ok(error_term(env, e)),
    }
}

/// `session_terminated(E, Sid)`: `terminate/3` returned (or is not
/// exported). Returns the report map (reason, state, data, queue, ...).
#[rustler::nif]
fn session_terminated<'a>(env: Env<'a>, engine: Eng<'a>, id: u64) -> NifResult<Term<'a>> {
    on_scheduler();
    terminated(env, &engine, id, TerminateResult::Ok)
}

/// `session_send(E, Sid, Kind, Msg, Inline)`: a `cast` or `info` event.
/// With `Inline` (and the engine's `inline` option `all`), an idle
/// session's callback is handed to the caller to run: `{run, Work}`.
#[rustler::nif]
fn session_send<'a>(
    env: Env<'a>,
    engine: Eng<'a>,
    id: u64,
    kind: Atom,
    msg: Term<'a>,
    inline: bool,
) -> NifResult<Term<'a>> {
    on_scheduler();
    let kind = if kind == atoms::cast() {
        EventType::Cast
    } else if kind == atoms::info() {
        EventType::Info
    } else {
        return Err(rustler::Error::BadArg);
    };
    let mut out = Out::nif(env, &engine);
    if inline && engine.inline == inline::Mode::All {
        out.inline = Some((sid(id), None));
    }
    let r = engine.engine.send_event(sid(id), Event::new(kind, Etf::encode(msg)), &mut out);
    Ok(run_or(env, &engine, id, out.inline, r))
}

/// `{run, Work}` when the caller is to run the session's callback (it then
/// holds the session's claim), else what `r` says.
fn run_or<'a>(
    env: Env<'a>,
    engine: &EngineRes,
    id: u64,
    inline: Option<(SessionId, Option<Term<'a>>)>,
    r: Result<(), Error>,
) -> Term<'a> {
    match (r, inline) {
        (Ok(()), Some((_, Some(work)))) => {
            engine.claims.claim(id, env.pid(), engine.engine.now_ms());
            (atoms::run(), work).encode(env)
        }
        (r, _) => ok_or_error(env, r),
    }
}

/// `session_done(E, Sid, Result, Modes, Inline)`: a callback that ran
/// inline (`{run, Work}`) returned `Result`; applied as `executor_done`
/// does. `{run, Work}` again when the session's next callback is an enter
/// call, which the caller runs too (only with `Inline`), else `ok`: events
/// that other processes sent meanwhile go to the session's executor.
#[rustler::nif]
fn session_done<'a>(
    env: Env<'a>,
    engine: Eng<'a>,
    id: u64,
    result: Term<'a>,
    modes: Term<'a>,
    inline: bool,
) -> NifResult<Term<'a>> {
    on_scheduler();
    record_modes(&engine, modes)?;
    let mut out = Out::nif(env, &engine);
    out.raw_result = Some(result);
    if inline {
        out.inline = Some((sid(id), None));
        out.inline_enter_only = true;
    }
    let r = engine.engine.resume(sid(id), parse::callback_result(result), &mut out);
    if !matches!(r, Err(Error::Busy)) {
        engine.claims.release(id);
    }
    Ok(run_or(env, &engine, id, out.inline, r))
}

/// Monitors the session for `Pid` with `Tag` as the monitor reference.
fn monitor_for(engine: &EngineRes, id: SessionId, from: &BeamFrom) -> Result<(), Error> {
    engine.engine.monitor(id, from.clone()).map(|_| ())
}

/// `session_call(E, Sid, Pid, Tag, Req, Inline)`: monitors the session
/// for the caller (DOWN with `Tag`) and queues `{call, {Pid, Tag}}`. With
/// `Inline` (and the engine's `inline` option `calls` or `all`), an idle
/// session's callback is handed to the caller to run: `{run, Work}`.
#[rustler::nif]
fn session_call<'a>(
    env: Env<'a>,
    engine: Eng<'a>,
    id: u64,
    pid: LocalPid,
    tag: Term<'a>,
    req: Term<'a>,
    inline: bool,
) -> NifResult<Term<'a>> {
    on_scheduler();
    let from = BeamFrom { pid, tag: Etf::encode(tag) };
    if let Err(e) = monitor_for(&engine, sid(id), &from) {
        return Ok(error_term(env, e));
    }
    let mut out = Out::nif(env, &engine);
    if inline && engine.inline != inline::Mode::None && pid == env.pid() {
        out.inline = Some((sid(id), None));
    }
    let r = engine.engine.call(sid(id), from.clone(), Etf::encode(req), &mut out);
    if r.is_err() {
        blocking(|| engine.engine.demonitor_matching(sid(id), |w| *w == from));
    }
    Ok(run_or(env, &engine, id, out.inline, r))
}

/// `session_system(E, Sid, Req, Pid, Tag)`: `get_state`, `get_status`,
/// `suspend`, `resume`, `sync`, `{stop, Reason}`, `{replace_state, State,
/// Data}` or `{replace_state, State, Data, CallbackModeResult}`, answered with
/// `{Tag, Reply}`; the requester monitors the session meanwhile.
#[rustler::nif]
fn session_system<'a>(
    env: Env<'a>,
    engine: Eng<'a>,
    id: u64,
    req: Term<'a>,
    pid: LocalPid,
    tag: Term<'a>,
) -> NifResult<Term<'a>> {
    on_scheduler();
    let from = BeamFrom { pid, tag: Etf::encode(tag) };
    let id = sid(id);
    if let Err(e) = monitor_for(&engine, id, &from) {
        return Ok(error_term(env, e));
    }
    let mut out = Out::nif(env, &engine);
    let r = if let Ok(a) = req.decode::<Atom>() {
        let f = Some(from.clone());
        match a {
            a if a == atoms::get_state() => engine.engine.system(id, SystemRequest::GetState(from.clone()), &mut out),
            a if a == atoms::get_status() => engine.engine.system(id, SystemRequest::GetStatus(from.clone()), &mut out),
            a if a == atoms::suspend() => engine.engine.system(id, SystemRequest::Suspend(f), &mut out),
            a if a == atoms::resume() => engine.engine.system(id, SystemRequest::Resume(f), &mut out),
            a if a == atoms::sync() => engine.engine.sync(id, from.clone(), &mut out),
            _ => Err(Error::Badarg),
        }
    } else {
        let items = rustler::types::tuple::get_tuple(req).unwrap_or_default();
        let tag = items.first().and_then(|t| t.decode::<Atom>().ok());
        match (tag, &items[..]) {
            (Some(a), [_, reason]) if a == atoms::stop() => {
                let reason = Etf::encode(*reason);
                engine.engine.system(id, SystemRequest::Stop(Some(reason), Some(from.clone())), &mut out)
            }
            (Some(a), [_, state, data, mode @ ..]) if a == atoms::replace_state() && mode.len() <= 1 => {
                // `{replace_state, State, Data}`, or with a `callback_mode()`
                // result (already checked by the caller) to install too.
                match mode.first().map(|m| parse::callback_mode(*m)).transpose() {
                    Ok(mode) => {
                        let req = SystemRequest::ReplaceState {
                            from: from.clone(),
                            state: Etf::encode(*state),
                            data: Etf::encode(*data),
                            mode,
                        };
                        engine.engine.system(id, req, &mut out)
                    }
                    Err(_) => Err(Error::Badarg),
                }
            }
            _ => Err(Error::Badarg),
        }
    };
    if r.is_err() {
        blocking(|| engine.engine.demonitor_matching(id, |w| *w == from));
    }
    Ok(ok_or_error(env, r))
}

/// `session_monitor(E, Sid, Pid, Tag)`: DOWN `{'DOWN', Tag, throng, S, R}`.
#[rustler::nif]
fn session_monitor<'a>(env: Env<'a>, engine: Eng<'a>, id: u64, pid: LocalPid, tag: Term<'a>) -> NifResult<Term<'a>> {
    on_scheduler();
    let from = BeamFrom { pid, tag: Etf::encode(tag) };
    Ok(ok_or_error(env, monitor_for(&engine, sid(id), &from)))
}

/// `session_demonitor(E, Sid, Pid, Tag)`: `true` if the monitor was there.
/// (Undoing a monitor must not fail, so this one waits for a busy shard;
/// a shard is held for microseconds.)
#[rustler::nif]
fn session_demonitor<'a>(engine: Eng<'a>, id: u64, pid: LocalPid, tag: Term<'a>) -> bool {
    let from = BeamFrom { pid, tag: Etf::encode(tag) };
    blocking(|| engine.engine.demonitor_matching(sid(id), |w| *w == from))
}

/// Most abandoned calls remembered at once; beyond it a late reply is
/// delivered (as before OTP 24).
const MAX_ABANDONED: usize = 65_536;

/// `session_abandon(E, Sid, Pid, Tag)`: the caller timed out: its monitor
/// goes, and a reply the engine would still send it is dropped.
#[rustler::nif]
fn session_abandon<'a>(engine: Eng<'a>, id: u64, pid: LocalPid, tag: Term<'a>) -> Atom {
    let from = BeamFrom { pid, tag: Etf::encode(tag) };
    {
        let mut set = engine.abandoned.lock().unwrap_or_else(|p| p.into_inner());
        if set.len() < MAX_ABANDONED {
            set.insert((from.pid, from.tag.clone()));
        }
        engine.abandoned_len.store(set.len(), Ordering::Release);
    }
    blocking(|| engine.engine.demonitor_matching(sid(id), |w| *w == from));
    atoms::ok()
}

/// `session_kill(E, Sid, Reason)`: the session ends at once, without
/// `terminate/3` (as `exit(Pid, kill)`).
#[rustler::nif]
fn session_kill<'a>(env: Env<'a>, engine: Eng<'a>, id: u64, reason: Term<'a>) -> NifResult<Term<'a>> {
    on_scheduler();
    let mut out = Out::nif(env, &engine);
    let r = engine.engine.kill(sid(id), Etf::encode(reason), &mut out);
    Ok(ok_or_error(env, r))
}

/// `session_alive(E, Sid)`.
#[rustler::nif]
fn session_alive<'a>(engine: Eng<'a>, id: u64) -> bool {
    blocking(|| engine.engine.is_alive(sid(id)))
}

rustler::init!("throng_nif");
