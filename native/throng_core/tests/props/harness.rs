//! Drives the engine and the model with the same inputs, op by op, and
//! compares them after every op.

use std::fmt;
use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use throng_core::machines::script::{Parked, Script};
use throng_core::machines::term::{int, Term};
use throng_core::{
    CallbackMode, Clock, Collect, Config, Emitted, Engine, Event, EventType, InitResult, Invocation, ManualClock,
    SessionId, Started, SystemReply, SystemRequest,
};

use super::checks::{check_not_late, check_trace, Known};
use super::model::{Model, View};
use super::program::*;

/// One input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `cast({cast, K, Serial})` to a session (taken modulo the count).
    Cast { session: u8, k: u8 },
    /// `send_events`: `n` casts of `K` to a session, accepted together.
    Casts { session: u8, k: u8, n: u8 },
    /// `ManualClock::advance` only: timers may be overdue, nothing fires.
    Advance(u64),
    /// `engine.tick()`.
    Tick,
    /// `advance` then `tick`.
    AdvanceTick(u64),
    /// `advance` to this many ms from the wheel's next epoch boundary (in
    /// the engine's time base, which starts at the case's `start_ms`), then
    /// `tick`: lands exactly on, just before and just after boundaries.
    ToEpoch(i8),
    /// Deferred, interleaved runs only: hand in up to this many parked
    /// callback results, oldest first.
    Resume(u8),
    /// `sync`: answered once the session has handled everything before it.
    Sync { session: u8 },
    /// `sys:suspend`: from then on the session takes only system requests
    /// (which are taken in mailbox order, like events).
    SysSuspend { session: u8 },
    /// `sys:resume`.
    SysResume { session: u8 },
}

/// A generated test case.
#[derive(Clone)]
pub struct Case {
    /// One callback module per session.
    pub progs: Vec<Program>,
    pub start_ms: i64,
    pub shards: usize,
    pub run_budget: usize,
    pub ops: Vec<Op>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Case {{ start_ms: {}, shards: {}, run_budget: {}, sessions: {}",
            self.start_ms,
            self.shards,
            self.run_budget,
            self.progs.len()
        )?;
        for (i, p) in self.progs.iter().enumerate() {
            writeln!(f, "  session {i}: {p:?}")?;
        }
        write!(f, "  ops: {:?} }}", self.ops)
    }
}

/// What a case generator may produce.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub timers: Timers,
    pub max_sessions: usize,
    pub max_ops: usize,
    pub resumes: bool,
}

fn arb_advance(timers: Timers) -> impl Strategy<Value = u64> {
    prop_oneof![
        12 => 0u64..=12,
        4 => prop::sample::select(vec![30u64, 63, 64, 65, 100, 1000]),
        2 => prop::sample::select(vec![4095u64, 4096, 5000, 262_144, 300_000]),
        // To just before, at or past an epoch boundary, so short timers
        // straddle it and long ones meet.
        if timers == Timers::Far { 8 } else { 1 } => prop::sample::select(vec![
            EPOCH_MS - 3,
            EPOCH_MS - 1,
            EPOCH_MS,
            EPOCH_MS + 1,
            3 * EPOCH_MS
        ]),
    ]
}

fn arb_op(shape: Shape) -> BoxedStrategy<Op> {
    let inputs = prop_oneof![
        10 => (0u8..4, 0u8..3).prop_map(|(session, k)| Op::Cast { session, k }),
        2 => (0u8..4, 0u8..3, 2u8..=4).prop_map(|(session, k, n)| Op::Casts { session, k, n }),
        1 => (0u8..4).prop_map(|session| Op::Sync { session }),
        1 => (0u8..4).prop_map(|session| Op::SysSuspend { session }),
        1 => (0u8..4).prop_map(|session| Op::SysResume { session }),
    ];
    match (shape.timers, shape.resumes) {
        (Timers::None, false) => inputs.boxed(),
        (Timers::None, true) => prop_oneof![3 => inputs, 2 => (1u8..=4).prop_map(Op::Resume)].boxed(),
        (timers, resumes) => {
            let r = if resumes { 3 } else { 0 };
            let far = if timers == Timers::Far { 2 } else { 0 };
            prop_oneof![
                4 => inputs,
                3 => arb_advance(timers).prop_map(Op::AdvanceTick),
                1 => arb_advance(timers).prop_map(Op::Advance),
                1 => Just(Op::Tick),
                far => (-3i8..=1).prop_map(Op::ToEpoch),
                r => (1u8..=4).prop_map(Op::Resume),
            ]
            .boxed()
        }
    }
}

pub fn arb_case(shape: Shape) -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(arb_program(shape.timers), 1..=shape.max_sessions),
        prop::sample::select(vec![0i64, -576_460_752_303, 1_000_000_007]),
        prop::sample::select(vec![1usize, 2]),
        prop::sample::select(vec![64, 1, 2]),
        prop::collection::vec(arb_op(shape), 0..=shape.max_ops),
    )
        .prop_map(|(progs, start_ms, shards, run_budget, ops)| Case { progs, start_ms, shards, run_budget, ops })
}

// ----------------------------------------------------------------- engine

/// One session's record, written by its callback module.
#[derive(Default)]
struct SessRec {
    counters: Counters,
    trace: Vec<Entry>,
}

/// What `Driver::hand_in` did.
#[derive(Debug, PartialEq, Eq)]
enum HandedIn {
    /// Nothing was parked.
    Nothing,
    /// An `init/1` result.
    Init,
    /// A state callback result of this session.
    Callback(usize),
}

/// An engine running the case's callback modules on a manual clock.
struct Driver {
    label: &'static str,
    engine: Engine<Script>,
    clock: ManualClock,
    shared: Arc<Mutex<Vec<SessRec>>>,
    ids: Vec<SessionId>,
    out: Collect<Script>,
}

impl Driver {
    fn new(label: &'static str, case: &Case, deferred: bool) -> Self {
        let clock = ManualClock::new(case.start_ms);
        let shared: Arc<Mutex<Vec<SessRec>>> =
            Arc::new(Mutex::new((0..case.progs.len()).map(|_| SessRec::default()).collect()));
        let mut script = Script::new();
        for (i, prog) in case.progs.iter().enumerate() {
            let mode = CallbackMode { function: prog.function, state_enter: prog.state_enter };
            let (prog, shared, clock) = (Arc::new(prog.clone()), shared.clone(), clock.clone());
            script = script.module(MODULES[i], mode, move |inv| {
                let now = clock.now_ms();
                let call = match inv {
                    Invocation::Event { event, state, data, .. } => Call::Event {
                        state: state_index(state).expect("a state of the program"),
                        kind: EvKind::from_engine(&event.kind),
                        content: event.content.clone(),
                        data: data.as_int().expect("integer data"),
                    },
                    Invocation::Enter { old_state, state, data, .. } => Call::Enter {
                        old: state_index(old_state).expect("a state of the program"),
                        state: state_index(state).expect("a state of the program"),
                        data: data.as_int().expect("integer data"),
                    },
                };
                let mut sh = shared.lock().unwrap_or_else(|p| p.into_inner());
                let rec = &mut sh[i];
                let (outcome, entry) = react(&prog, &call, now, &mut rec.counters);
                rec.trace.push(entry);
                outcome_to_engine(&outcome)
            });
        }
        if deferred {
            script = script.deferred();
        }
        let config = Config { shards: case.shards, run_budget: case.run_budget, ..Config::default() };
        let engine = Engine::new(script, config, clock.clone()).expect("valid config");
        Driver { label, engine, clock, shared, ids: Vec::new(), out: Collect::default() }
    }

    fn reset_fuel(&self) {
        for rec in self.shared.lock().unwrap().iter_mut() {
            rec.counters.fuel = 0;
        }
    }

    fn trace(&self, i: usize) -> Vec<Entry> {
        self.shared.lock().unwrap()[i].trace.clone()
    }

    /// Runs an API call and checks the wake contract: work left for
    /// `run_pending` is announced with `Output::wake`.
    fn call<T>(&mut self, what: &str, f: impl FnOnce(&Engine<Script>, &mut Collect<Script>) -> T) -> Result<T, String> {
        // Work already announced before the call (maybe in another shard)
        // needs no new wake; work this call leaves does.
        let announced = self.engine.has_pending();
        let wakes = self.out.wakes;
        let r = f(&self.engine, &mut self.out);
        if self.engine.has_pending() && self.out.wakes == wakes && !announced {
            return Err(format!("{}: {what} left work for run_pending without calling Output::wake", self.label));
        }
        Ok(r)
    }

    fn start(&mut self, i: usize, init_state: u8, actions: &[Act]) -> Result<(), String> {
        let init = InitResult::Ok(state_atom(init_state), int(0), actions.iter().map(act_to_engine).collect());
        let started = self.call("start", |e, out| e.start(MODULES[i], init, out))?;
        match started {
            Ok(Started::Ok(id)) | Ok(Started::Pending(id)) => {
                self.ids.push(id);
                Ok(())
            }
            other => Err(format!("{}: start of session {i} gave {other:?}", self.label)),
        }
    }

    fn session_of(&self, id: SessionId) -> Result<usize, String> {
        self.ids
            .iter()
            .position(|x| *x == id)
            .ok_or_else(|| format!("{}: a parked result for unknown {id:?}", self.label))
    }

    /// Hands in the oldest parked result.
    fn hand_in(&mut self) -> Result<HandedIn, String> {
        let Some(parked) = self.engine.machine().take_parked() else { return Ok(HandedIn::Nothing) };
        match parked {
            Parked::Init(id, r) => {
                let started = self.call("resume_init", |e, out| e.resume_init(id, r, out))?;
                match started {
                    Ok(Started::Ok(_)) => Ok(HandedIn::Init),
                    other => Err(format!("{}: resume_init gave {other:?}", self.label)),
                }
            }
            Parked::Callback(id, r) => {
                let i = self.session_of(id)?;
                self.call("resume", |e, out| e.resume(id, r, out))?
                    .map_err(|err| format!("{}: resume of session {i}: {err:?}", self.label))?;
                Ok(HandedIn::Callback(i))
            }
            Parked::Terminate(id, _) => Err(format!("{}: {id:?} is terminating; no program stops", self.label)),
        }
    }

    /// Runs what is left for `run_pending` (as a glue does on `wake`),
    /// without handing in parked results.
    fn settle(&mut self) -> Result<(), String> {
        for _ in 0..1_000_000 {
            if !self.engine.has_pending() {
                return Ok(());
            }
            self.engine.run_pending(&mut self.out);
        }
        Err(format!("{}: run_pending never ran out of work", self.label))
    }

    /// Runs until nothing is parked and nothing is pending.
    fn drain(&mut self) -> Result<(), String> {
        for _ in 0..1_000_000 {
            if self.hand_in()? != HandedIn::Nothing {
                continue;
            }
            if self.engine.has_pending() {
                self.engine.run_pending(&mut self.out);
                continue;
            }
            return Ok(());
        }
        Err(format!("{}: the engine never became idle", self.label))
    }

    fn tick(&mut self) -> Result<usize, String> {
        self.call("tick", |e, out| e.tick(out))
    }

    fn cast(&mut self, i: usize, content: Term) -> Result<(), String> {
        let id = self.ids[i];
        self.call("cast", |e, out| e.cast(id, content, out))?.map_err(|err| format!("{}: cast: {err:?}", self.label))
    }

    fn cast_many(&mut self, i: usize, contents: &[Term]) -> Result<(), String> {
        let id = self.ids[i];
        let events = contents.iter().map(|c| Event::new(EventType::Cast, c.clone())).collect();
        self.call("send_events", |e, out| e.send_events(id, events, out))?
            .map_err(|err| format!("{}: send_events: {err:?}", self.label))
    }

    /// `sync` (`Op::Sync`) or a system request (`Op::SysSuspend`, `Op::SysResume`).
    fn request(&mut self, i: usize, op: &Op, from: u64) -> Result<(), String> {
        let id = self.ids[i];
        let r = match op {
            Op::Sync { .. } => self.call("sync", |e, out| e.sync(id, from, out))?,
            Op::SysSuspend { .. } => {
                self.call("sys:suspend", |e, out| e.system(id, SystemRequest::Suspend(Some(from)), out))?
            }
            _ => self.call("sys:resume", |e, out| e.system(id, SystemRequest::Resume(Some(from)), out))?,
        };
        r.map_err(|err| format!("{}: {op:?}: {err:?}", self.label))
    }

    /// The requests answered so far for session `i`, in order (a request's
    /// `from` is `4 * k + i`).
    fn replies(&self, i: usize) -> Result<Vec<u64>, String> {
        let mut got = Vec::new();
        for e in &self.out.emitted {
            match e {
                Emitted::System(from, SystemReply::Ok) if *from as usize % 4 == i => got.push(*from),
                Emitted::System(_, SystemReply::Ok) => {}
                other => return Err(format!("{}: unexpected output {other:?}", self.label)),
            }
        }
        Ok(got)
    }

    fn view(&self, i: usize) -> Result<(View, Vec<(TKind, Term)>), String> {
        let st =
            self.engine.status(self.ids[i]).map_err(|e| format!("{}: status of session {i}: {e:?}", self.label))?;
        let (state, data) = self
            .engine
            .get_state(self.ids[i])
            .map_err(|e| format!("{}: get_state of session {i}: {e:?}", self.label))?;
        if (st.state.clone(), st.data.clone()) != (state.clone(), data.clone()) {
            return Err(format!("{}: status and get_state disagree on session {i}", self.label));
        }
        let mut timeouts = Vec::new();
        for (kind, msg) in &st.timeouts {
            let k =
                TKind::from_engine(kind).ok_or_else(|| format!("{}: unknown time-out type {kind:?}", self.label))?;
            timeouts.push((k, msg.clone()));
        }
        let mut shown: Vec<(TKind, String)> = timeouts.iter().map(|(k, m)| (*k, format!("{m:?}"))).collect();
        shown.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        let view = View {
            state: state_index(&state).ok_or_else(|| format!("{}: unknown state {state:?}", self.label))?,
            data: data.as_int().ok_or_else(|| format!("{}: data {data:?}", self.label))?,
            queue_len: st.queue_len,
            postponed_len: st.postponed_len,
            timeouts: shown,
            busy: st.busy,
            suspended: st.suspended,
            // Per engine, not per session: compared separately.
            next_deadline: None,
        };
        Ok((view, timeouts))
    }
}

// ------------------------------------------------------------- comparison

fn trace_diff(model: &[Entry], engine: &[Entry]) -> Option<String> {
    let first = (0..model.len().max(engine.len())).find(|&i| model.get(i) != engine.get(i))?;
    let from = first.saturating_sub(4);
    let mut s = format!("traces differ at entry {first} (model {} entries, engine {}):\n", model.len(), engine.len());
    for i in from..(first + 6).min(model.len().max(engine.len())) {
        let mark = if i == first { ">>" } else { "  " };
        s += &format!("{mark} [{i}] model:  {}\n", model.get(i).map_or("-".into(), |e| format!("{e:?}")));
        s += &format!("{mark} [{i}] engine: {}\n", engine.get(i).map_or("-".into(), |e| format!("{e:?}")));
    }
    Some(s)
}

/// Compares every session of `d` with its model.
fn compare(d: &Driver, models: &[Model<'_>], after: &str) -> Result<(), String> {
    for (i, m) in models.iter().enumerate() {
        let t = d.trace(i);
        if let Some(diff) = trace_diff(&m.trace, &t) {
            return Err(format!("{}, after {after}, session {i}: {diff}", d.label));
        }
        let replies = d.replies(i)?;
        if replies != m.replies {
            return Err(format!(
                "{}, after {after}, session {i}: requests answered {replies:?}, model {:?}",
                d.label, m.replies
            ));
        }
        let (mut got, _) = d.view(i)?;
        let mut want = m.view();
        want.next_deadline = None;
        got.next_deadline = None;
        if got != want {
            return Err(format!(
                "{}, after {after}, session {i}: model {want:?}\n engine {got:?}\n(traces agree; last entries: {:?})",
                d.label,
                &t[t.len().saturating_sub(4)..]
            ));
        }
    }
    let want_deadline = models.iter().filter_map(|m| m.next_deadline()).min();
    let got_deadline = d.engine.next_deadline();
    if got_deadline != want_deadline {
        return Err(format!(
            "{}, after {after}: next_deadline() = {got_deadline:?}, the earliest running time-out is due at {want_deadline:?}",
            d.label
        ));
    }
    let stats = d.engine.stats();
    let timers: usize = models.iter().map(|m| m.timer_count()).sum();
    let held: usize = models.iter().map(|m| m.held_events()).sum();
    if (stats.sessions, stats.timers, stats.queued_events) != (models.len(), timers, held) {
        return Err(format!(
            "{}, after {after}: stats {stats:?}, model: {} sessions, {timers} time-outs, {held} events held",
            d.label,
            models.len()
        ));
    }
    Ok(())
}

/// The checks that read the engine alone, at the end of a drained run.
fn final_checks(d: &Driver, casts: &[Vec<Term>], init_inserted: &[Vec<Term>]) -> Result<(), String> {
    for i in 0..d.ids.len() {
        let st = d.engine.status(d.ids[i]).map_err(|e| format!("{}: status: {e:?}", d.label))?;
        let known = Known { casts: &casts[i], init_inserted: &init_inserted[i], postponed_len: st.postponed_len };
        check_trace(&d.trace(i), &known).map_err(|e| format!("{}, session {i}: {e}", d.label))?;
        if st.queue_len != 0 || st.busy {
            return Err(format!("{}, session {i}: drained but queue_len {} busy {}", d.label, st.queue_len, st.busy));
        }
    }
    Ok(())
}

/// The request id of op `step` for session `i`.
fn from_of(step: usize, i: usize) -> u64 {
    (step * 4 + i) as u64
}

/// Ends the case with every suspended session resumed, so the final checks
/// see drained sessions.
const FINAL_STEP: usize = 1 << 20;

fn init_acts(prog: &Program, now: i64) -> Vec<Act> {
    build_acts(&prog.init_actions, -1, now, Some(MAX_DEPTH))
}

fn inserted_by(acts: &[Act]) -> Vec<Term> {
    acts.iter().filter_map(|a| if let Act::NextEvent(t) = a { Some(t.clone()) } else { None }).collect()
}

/// Runs `case` on the model, on a synchronous engine and on a deferred
/// engine that is drained after every input; all three must agree after
/// every op, and the engines must pass the trace invariants at the end.
pub fn run_drained(case: &Case) -> Result<(), String> {
    let mut models: Vec<Model<'_>> = case.progs.iter().map(|p| Model::new(p, false, case.start_ms)).collect();
    let mut engines = [Driver::new("sync engine", case, false), Driver::new("deferred engine", case, true)];
    let n = case.progs.len();
    let mut casts: Vec<Vec<Term>> = vec![Vec::new(); n];
    let mut init_inserted: Vec<Vec<Term>> = Vec::new();
    for (i, prog) in case.progs.iter().enumerate() {
        let acts = init_acts(prog, case.start_ms);
        init_inserted.push(inserted_by(&acts));
        models.iter_mut().for_each(|m| m.counters.fuel = 0);
        models[i].start(acts.clone());
        for d in engines.iter_mut() {
            d.reset_fuel();
            d.start(i, prog.init_state, &acts)?;
            d.drain()?;
        }
    }
    for d in &engines {
        compare(d, &models, "start")?;
    }
    let mut now = case.start_ms;
    for (step, op) in case.ops.iter().enumerate() {
        for m in models.iter_mut() {
            m.counters.fuel = 0;
        }
        for d in &engines {
            d.reset_fuel();
        }
        let after = format!("op #{step} {op:?}");
        let mut ticked = false;
        match *op {
            Op::Cast { session, k } => {
                let i = session as usize % n;
                let content = cast_content(k, step * 8);
                casts[i].push(content.clone());
                models[i].cast(vec![content.clone()]);
                for d in engines.iter_mut() {
                    d.cast(i, content.clone())?;
                }
            }
            Op::Casts { session, k, n: count } => {
                let i = session as usize % n;
                let contents: Vec<Term> = (0..count as usize).map(|m| cast_content(k, step * 8 + m)).collect();
                casts[i].extend(contents.iter().cloned());
                models[i].cast(contents.clone());
                for d in engines.iter_mut() {
                    d.cast_many(i, &contents)?;
                }
            }
            Op::Advance(_) | Op::AdvanceTick(_) | Op::Tick | Op::ToEpoch(_) => {
                let ms = ms_of(op, case.start_ms, now);
                now += ms as i64;
                for m in models.iter_mut() {
                    m.now = now;
                }
                for d in &engines {
                    d.clock.advance(ms);
                }
                if !matches!(op, Op::Advance(_)) {
                    ticked = true;
                    let want: usize = models.iter_mut().map(|m| m.tick()).sum();
                    for d in engines.iter_mut() {
                        let got = d.tick()?;
                        if got != want {
                            return Err(format!("{}, after {after}: tick fired {got} timers, model {want}", d.label));
                        }
                    }
                }
            }
            Op::Sync { session } | Op::SysSuspend { session } | Op::SysResume { session } => {
                let i = session as usize % n;
                request_model(&mut models[i], op, from_of(step, i));
                for d in engines.iter_mut() {
                    d.request(i, op, from_of(step, i))?;
                }
            }
            Op::Resume(_) => {}
        }
        for d in engines.iter_mut() {
            d.drain()?;
            compare(d, &models, &after)?;
            if ticked {
                for i in 0..n {
                    let (view, timeouts) = d.view(i)?;
                    if !view.suspended {
                        check_not_late(&timeouts, now)
                            .map_err(|e| format!("{}, after {after}, session {i}: {e}", d.label))?;
                    }
                }
            }
        }
    }
    for (i, m) in models.iter_mut().enumerate() {
        if m.is_suspended() {
            let op = Op::SysResume { session: i as u8 };
            request_model(m, &op, from_of(FINAL_STEP, i));
            for d in engines.iter_mut() {
                d.request(i, &op, from_of(FINAL_STEP, i))?;
                d.drain()?;
            }
        }
    }
    for d in &engines {
        compare(d, &models, "the final sys:resume")?;
        final_checks(d, &casts, &init_inserted)?;
    }
    Ok(())
}

fn request_model(m: &mut Model<'_>, op: &Op, from: u64) {
    match op {
        Op::Sync { .. } => m.sync(from),
        Op::SysSuspend { .. } => m.sys_suspend(from),
        _ => m.sys_resume(from),
    }
}

/// How far the clock moves for `op` when it reads `now`.
fn ms_of(op: &Op, start_ms: i64, now: i64) -> u64 {
    match *op {
        Op::Advance(ms) | Op::AdvanceTick(ms) => ms,
        Op::ToEpoch(offset) => {
            let elapsed = (now - start_ms) as u64;
            let target = (elapsed / EPOCH_MS + 1) * EPOCH_MS;
            (target as i64 + offset as i64 - elapsed as i64).max(0) as u64
        }
        _ => 0,
    }
}

/// Hands in up to `k` parked results, resuming the model of each session
/// whose callback the engine resumed.
fn resume(d: &mut Driver, models: &mut [Model<'_>], k: usize, after: &str) -> Result<(), String> {
    for _ in 0..k {
        d.settle()?;
        match d.hand_in()? {
            HandedIn::Nothing => break,
            // No state callback involved.
            HandedIn::Init => {}
            HandedIn::Callback(i) => {
                if !models[i].is_busy() {
                    let diff = trace_diff(&models[i].trace, &d.trace(i)).unwrap_or_else(|| "traces agree".into());
                    return Err(format!(
                        "{}, {after}: the engine resumed a callback of session {i}, the model waits for none; {diff}",
                        d.label
                    ));
                }
                models[i].resume();
            }
        }
    }
    Ok(())
}

/// Runs `case` on a deferred engine whose parked results are handed in only
/// by `Op::Resume`, so events and timer expiries arrive while callbacks are
/// running; the model answers later too. Drained at the end.
pub fn run_interleaved(case: &Case) -> Result<(), String> {
    let mut models: Vec<Model<'_>> = case.progs.iter().map(|p| Model::new(p, true, case.start_ms)).collect();
    let mut d = Driver::new("interleaved deferred engine", case, true);
    let n = case.progs.len();
    let mut casts: Vec<Vec<Term>> = vec![Vec::new(); n];
    let mut init_inserted: Vec<Vec<Term>> = Vec::new();
    for (i, prog) in case.progs.iter().enumerate() {
        let acts = init_acts(prog, case.start_ms);
        init_inserted.push(inserted_by(&acts));
        models.iter_mut().for_each(|m| m.counters.fuel = 0);
        models[i].start(acts.clone());
        d.reset_fuel();
        d.start(i, prog.init_state, &acts)?;
        // init/1's answer, then the init transition's enter calls.
        resume(&mut d, &mut models, 1_000_000, "start")?;
    }
    compare(&d, &models, "start")?;
    let mut now = case.start_ms;
    for (step, op) in case.ops.iter().enumerate() {
        for m in models.iter_mut() {
            m.counters.fuel = 0;
        }
        d.reset_fuel();
        let after = format!("op #{step} {op:?}");
        match *op {
            Op::Cast { session, k } => {
                let i = session as usize % n;
                let content = cast_content(k, step * 8);
                casts[i].push(content.clone());
                models[i].cast(vec![content.clone()]);
                d.cast(i, content)?;
            }
            Op::Casts { session, k, n: count } => {
                let i = session as usize % n;
                let contents: Vec<Term> = (0..count as usize).map(|m| cast_content(k, step * 8 + m)).collect();
                casts[i].extend(contents.iter().cloned());
                models[i].cast(contents.clone());
                d.cast_many(i, &contents)?;
            }
            Op::Advance(ms) => {
                now += ms as i64;
                models.iter_mut().for_each(|m| m.now = now);
                d.clock.advance(ms);
            }
            Op::Tick | Op::AdvanceTick(_) | Op::ToEpoch(_) => {
                let ms = ms_of(op, case.start_ms, now);
                now += ms as i64;
                models.iter_mut().for_each(|m| m.now = now);
                d.clock.advance(ms);
                let want: usize = models.iter_mut().map(|m| m.tick()).sum();
                let got = d.tick()?;
                if got != want {
                    return Err(format!("{}, after {after}: tick fired {got} timers, model {want}", d.label));
                }
            }
            Op::Resume(k) => resume(&mut d, &mut models, k as usize, &after)?,
            Op::Sync { session } | Op::SysSuspend { session } | Op::SysResume { session } => {
                let i = session as usize % n;
                request_model(&mut models[i], op, from_of(step, i));
                d.request(i, op, from_of(step, i))?;
            }
        }
        d.settle()?;
        compare(&d, &models, &after)?;
    }
    for m in models.iter_mut() {
        m.counters.fuel = 0;
    }
    d.reset_fuel();
    // sys:resume every session (queued behind whatever it still has to do).
    for (i, m) in models.iter_mut().enumerate() {
        let op = Op::SysResume { session: i as u8 };
        request_model(m, &op, from_of(FINAL_STEP, i));
        d.request(i, &op, from_of(FINAL_STEP, i))?;
    }
    resume(&mut d, &mut models, 1_000_000, "the final drain")?;
    if d.engine.has_pending() || models.iter().any(|m| m.is_busy()) {
        return Err(format!("{}: not idle after the final drain", d.label));
    }
    compare(&d, &models, "the final drain")?;
    final_checks(&d, &casts, &init_inserted)
}
