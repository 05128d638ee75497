//! The session ops on the hosted engine: one function per `throng_nif`
//! NIF, with the NIF's results and error atoms (docs/port-protocol.md,
//! "Operations").
//!
//! The program is single-threaded: the engine is never busy here, so no op
//! answers `{error, busy}` and `executor_done` applies its whole batch.
//! Where a NIF raises `badarg` (an executor index out of range, a badly
//! shaped result list), the op's result is `{error, badarg}`.

use std::collections::HashMap;

use eetf::Term;
use throng_beam::{Etf, Mod, TermView};
use throng_core::{
    Config, Engine, Error, Event, EventType, InitResult, SessionId, Started, SystemClock, SystemRequest,
    TerminateResult,
};

use crate::beam::{Beam, BeamFrom, InitArgs, View};
use crate::out::{reason_term, Form, Out, Side, MAX_ABANDONED};
use crate::proto::{self, atom, atom_name, int, list, tuple, Dest, From, RaiseKind, Res, SendKind, Sid};

/// Most items one `executor_take` returns (as the NIF).
pub const MAX_TAKE: usize = 1024;

/// Items in the `{work, Ix, Items}` frame that wakes an idle executor (as
/// many as `throng_executor` takes at a time).
pub const WORK_BATCH: usize = 64;

/// The engine and what the program keeps around it.
pub struct Hosted {
    /// The engine.
    pub engine: Engine<Beam>,
    /// Queues, pushed frames.
    pub side: Side,
    /// Sessions started with an owner (`start_link`), by owner.
    owners: HashMap<Dest, Vec<SessionId>>,
    /// Sessions a destination monitors (or waits on), so `dest_down`
    /// drops its monitors.
    watching: HashMap<Dest, Vec<SessionId>>,
}

/// The one place engine errors become terms: `{error, Atom}`.
fn error_term(e: Error) -> Term {
    proto::error_result(e.as_atom())
}

fn ok_or_error(r: Result<(), Error>) -> Term {
    match r {
        Ok(()) => atom("ok"),
        Err(e) => error_term(e),
    }
}

fn badarg() -> Term {
    proto::error_result("badarg")
}

fn store(t: &Term) -> Etf {
    View::of(t).store()
}

fn beam_from(f: &From) -> BeamFrom {
    BeamFrom { pid: f.dest.clone(), tag: store(&f.tag) }
}

fn sid(raw: Sid) -> SessionId {
    SessionId::from_u64(raw)
}

fn shutdown() -> Etf {
    Etf::from_bytes(crate::canon::encode(&atom("shutdown")))
}

/// Adds `id` to a destination's list. The list may hold an id twice; it
/// is pruned (dead sessions out, duplicates out) each time its length
/// reaches a power of two, so it stays within twice the live sessions the
/// destination watches, at an amortized O(log n) per call (a process that
/// starts a million sessions, or calls one session a million times).
fn remember(engine: &Engine<Beam>, map: &mut HashMap<Dest, Vec<SessionId>>, dest: Dest, id: SessionId) {
    let ids = map.entry(dest).or_default();
    if ids.last() == Some(&id) {
        return;
    }
    if ids.len() >= 64 && ids.len().is_power_of_two() {
        ids.retain(|i| engine.is_alive(*i));
        ids.sort_unstable_by_key(|i| i.to_u64());
        ids.dedup();
    }
    ids.push(id);
}

impl Hosted {
    /// A new engine with `executors` executor queues, whose clock reads
    /// `now_ns` nanoseconds now (the BEAM's `erlang:monotonic_time/0`, so
    /// absolute time-outs mean the same on both sides).
    pub fn new(config: Config, executors: usize, now_ns: i128) -> Result<Hosted, Error> {
        let engine = Engine::new(Beam::new(throng_machines::natives()), config, SystemClock::from_nanos(now_ns))?;
        Ok(Hosted { engine, side: Side::new(executors), owners: HashMap::new(), watching: HashMap::new() })
    }

    fn record_modes(&self, modes: &Term) -> Result<(), ()> {
        let Term::List(l) = modes else {
            return if modes_nil(modes) { Ok(()) } else { Err(()) };
        };
        for pair in &l.elements {
            let Term::Tuple(t) = pair else { return Err(()) };
            let [m, mode] = &t.elements[..] else { return Err(()) };
            let Some(module) = atom_name(m) else { return Err(()) };
            self.engine.machine().set_mode(module.into(), crate::beam::callback_mode(mode));
        }
        Ok(())
    }

    fn watch(&mut self, from: &BeamFrom, id: SessionId) -> Result<(), Error> {
        self.engine.monitor(id, from.clone())?;
        remember(&self.engine, &mut self.watching, from.pid.clone(), id);
        Ok(())
    }

    /// `session_start`: `{ok, Sid}`; `init/1` goes to an executor.
    pub fn start(&mut self, module: &Term, args: &Term, from: &From, owner: Option<Dest>) -> Term {
        let Some(module) = atom_name(module) else { return badarg() };
        let from = beam_from(from);
        let init = InitArgs { args: store(args), from: from.clone() };
        let mut out = Out::new(&mut self.side);
        match self.engine.start_monitored(Mod::Beam(module.into()), init, Some(from.clone()), &mut out) {
            Ok(Started::Pending(id)) => {
                remember(&self.engine, &mut self.watching, from.pid, id);
                if let Some(owner) = owner {
                    remember(&self.engine, &mut self.owners, owner, id);
                }
                tuple([atom("ok"), int(id.to_u64())])
            }
            Ok(_) => error_term(Error::Badarg),
            Err(e) => error_term(e),
        }
    }

    /// The native machine named by the atom `name`, or the error result.
    fn native(&self, name: &Term) -> Result<throng_beam::NativeId, Term> {
        let unknown = || tuple([atom("error"), tuple([atom("unknown_native_machine"), name.clone()])]);
        let Some(text) = atom_name(name) else { return Err(badarg()) };
        self.engine.machine().natives().id(text).ok_or_else(unknown)
    }

    fn native_one(
        &mut self,
        id: throng_beam::NativeId,
        args: &Term,
        owner: &Option<Dest>,
        watcher: Option<BeamFrom>,
    ) -> Term {
        // Native init answers at once: the outcome is the answer, `from`
        // is never used.
        let from = BeamFrom { pid: Etf::from_bytes(vec![131, 97, 0]), tag: Etf::from_bytes(vec![131, 106]) };
        let init = InitArgs { args: store(args), from };
        let mut out = Out::new(&mut self.side);
        let started = self.engine.start_monitored(Mod::Native(id), init, watcher.clone(), &mut out);
        if let Ok(Started::Ok(s) | Started::Pending(s)) = &started {
            if let Some(w) = watcher {
                remember(&self.engine, &mut self.watching, w.pid, *s);
            }
            if let Some(owner) = owner {
                remember(&self.engine, &mut self.owners, owner.clone(), *s);
            }
        }
        match started {
            Ok(s) => Self::outcome(s),
            Err(e) => error_term(e),
        }
    }

    /// `native_start`: `{ok, Sid} | ignore | {error, Reason}` (init runs at
    /// once).
    pub fn native_start(&mut self, name: &Term, args: &Term, owner: Option<Dest>, watcher: Option<From>) -> Term {
        match self.native(name) {
            Ok(id) => self.native_one(id, args, &owner, watcher.as_ref().map(beam_from)),
            Err(t) => t,
        }
    }

    /// `native_start_many`: `[{ok, Sid} | ignore | {error, Reason}]`.
    pub fn native_start_many(&mut self, name: &Term, args: &[Term], owner: Option<Dest>) -> Term {
        match self.native(name) {
            Ok(id) => list(args.iter().map(|a| self.native_one(id, a, &owner, None)).collect::<Vec<_>>()),
            Err(t) => t,
        }
    }

    /// `session_send_many`: `[{Sid, Reason}]`, the events not queued (a
    /// session that does not exist is not refused, as for `cast`).
    pub fn send_many(&mut self, kind: SendKind, items: Vec<(Sid, Etf)>) -> Term {
        let mut refused = Vec::new();
        for (id, msg) in items {
            match self.send(id, kind, msg) {
                Ok(()) | Err(Error::NoProc) => {}
                Err(e) => refused.push(tuple([int(id), atom(e.as_atom())])),
            }
        }
        list(refused)
    }

    fn outcome(s: Started<Beam>) -> Term {
        match s {
            Started::Ok(id) | Started::Pending(id) => tuple([atom("ok"), int(id.to_u64())]),
            Started::Ignore => atom("ignore"),
            Started::Failed(r) => tuple([atom("error"), reason_term(&r, None, Form::Raw)]),
        }
    }

    fn init_done(&mut self, id: Sid, result: InitResult<Beam>) -> Term {
        self.side.handed_in(id);
        let mut out = Out::new(&mut self.side);
        match self.engine.resume_init(sid(id), result, &mut out) {
            Ok(s) => Self::outcome(s),
            // Killed while init/1 ran: its starter gave up.
            Err(_) => atom("gone"),
        }
    }

    /// `session_init_result`.
    pub fn init_result(&mut self, id: Sid, result: &Term, modes: &Term) -> Term {
        if self.record_modes(modes).is_err() {
            return badarg();
        }
        self.init_done(id, crate::beam::init_result(result))
    }

    /// `session_raise`: `Reason` is `{Reason, ExitReason}` (a third
    /// element, the exception of a callback run inline, is dropped: the
    /// port runs none).
    pub fn raise(&mut self, id: Sid, kind: RaiseKind, reason: &Term) -> Term {
        let reason = match reason {
            Term::Tuple(t) if t.elements.len() == 3 => store(&tuple(t.elements[..2].iter().cloned())),
            other => store(other),
        };
        match kind {
            RaiseKind::Init => self.init_done(id, InitResult::Exception(reason)),
            RaiseKind::Terminate => self.terminated(id, TerminateResult::Exception(reason)),
            RaiseKind::Callback => {
                self.side.handed_in(id);
                let mut out = Out::new(&mut self.side);
                let r = self.engine.resume(sid(id), throng_core::CallbackResult::Exception(reason), &mut out);
                ok_or_error(r)
            }
        }
    }

    /// `session_terminated`, and `terminate/3` raising: the report.
    pub fn terminated(&mut self, id: Sid, result: TerminateResult<Beam>) -> Term {
        self.side.handed_in(id);
        let raw = self.side.raw_results.get(&id).map(crate::out::dec);
        let mut out = Out::new(&mut self.side);
        out.raw_result = raw;
        let r = self.engine.resume_terminate(sid(id), result, &mut out);
        let report = out.report.take();
        self.side.raw_results.remove(&id);
        match r {
            Ok(()) => report.unwrap_or_else(|| atom("ok")),
            Err(e) => error_term(e),
        }
    }

    /// `session_send` (never `{run, Work}` over the port): `ok` or
    /// `{error, Reason}` as a result.
    pub fn send(&mut self, id: Sid, kind: SendKind, msg: Etf) -> Result<(), Error> {
        let kind = match kind {
            SendKind::Cast => EventType::Cast,
            SendKind::Info => EventType::Info,
        };
        let mut out = Out::new(&mut self.side);
        self.engine.send_event(sid(id), Event::new(kind, msg), &mut out)
    }

    /// `session_call`: monitors the session for the caller (DOWN with
    /// `Tag`) and queues `{call, From}`.
    pub fn call(&mut self, id: Sid, from: &From, req: &Term) -> Term {
        let from = beam_from(from);
        if let Err(e) = self.watch(&from, sid(id)) {
            return error_term(e);
        }
        let mut out = Out::new(&mut self.side);
        let r = self.engine.call(sid(id), from.clone(), store(req), &mut out);
        if r.is_err() {
            self.engine.demonitor_matching(sid(id), |w| *w == from);
        }
        ok_or_error(r)
    }

    /// `session_done`: a callback result handed in outside a batch (only
    /// after `{run, Work}`, which the port never answers; applied as
    /// `executor_done` would).
    pub fn done(&mut self, id: Sid, result: &Term, modes: &Term) -> Term {
        if self.record_modes(modes).is_err() {
            return badarg();
        }
        self.side.handed_in(id);
        let mut out = Out::new(&mut self.side);
        out.raw_result = Some(result.clone());
        ok_or_error(self.engine.resume(sid(id), crate::beam::callback_result(result), &mut out))
    }

    /// `executor_replaced`: executor `Ix` died with `Reason` and a new one
    /// serves its queue; the sessions whose callbacks the dead one held end
    /// with `Reason` (as a gen_statem dies with its process).
    pub fn executor_replaced(&mut self, ix: u64, reason: &Term) -> Term {
        let Some(lost) = usize::try_from(ix).ok().and_then(|ix| self.side.replace_executor(ix)) else {
            return badarg();
        };
        let reason = store(reason);
        for id in lost {
            let mut out = Out::new(&mut self.side);
            let _ = self.engine.kill(sid(id), reason.clone(), &mut out);
        }
        atom("ok")
    }

    /// `executor_take`: the items, or `{error, badarg}`.
    pub fn take(&mut self, ix: u64, max: u64) -> Res {
        let mut buf = Vec::new();
        match self.take_into(ix, max, &mut buf) {
            Some(()) => Res::Raw(buf),
            None => Res::Error("badarg"),
        }
    }

    /// Appends the list of items `executor_take` answers; `None`: no such
    /// executor.
    fn take_into(&mut self, ix: u64, max: u64, buf: &mut Vec<u8>) -> Option<()> {
        let max = usize::try_from(max).unwrap_or(MAX_TAKE).clamp(1, MAX_TAKE);
        let items = self.side.take(usize::try_from(ix).ok()?, max)?;
        crate::out::write_items(&items, buf);
        Some(())
    }

    /// `executor_done`: `[{Sid, Result, Modes}]` applied in order, then
    /// the next batch: `{ok, Items}`.
    pub fn executor_done(&mut self, ix: u64, results: &Term, max: u64) -> Res {
        let badarg = Res::Error("badarg");
        if usize::try_from(ix).ok().is_none_or(|ix| ix >= self.side.queues.len()) {
            return badarg;
        }
        // All or nothing for bad input: check the whole batch first.
        let batch: Option<Vec<(Sid, &Term, &Term)>> = match results {
            Term::List(l) => l
                .elements
                .iter()
                .map(|d| match d {
                    Term::Tuple(t) if t.elements.len() == 3 => {
                        Some((proto::uint(&t.elements[0])?, &t.elements[1], &t.elements[2]))
                    }
                    _ => None,
                })
                .collect(),
            t if modes_nil(t) => Some(Vec::new()),
            _ => None,
        };
        let Some(batch) = batch.filter(|b| b.len() <= MAX_TAKE) else { return badarg };
        if batch.iter().any(|(_, _, modes)| !modes_ok(modes)) {
            return badarg;
        }
        for (id, result, modes) in batch {
            let _ = self.record_modes(modes);
            let mut out = Out::new(&mut self.side);
            out.raw_result = Some(result.clone());
            // A session that no longer waits (killed meanwhile) is skipped.
            let _ = self.engine.resume(sid(id), crate::beam::callback_result(result), &mut out);
        }
        // `{ok, Items}`.
        let mut buf = vec![104, 2];
        crate::canon::atom(b"ok", &mut buf);
        match self.take_into(ix, max, &mut buf) {
            Some(()) => Res::Raw(buf),
            None => badarg,
        }
    }

    /// `session_system`: the answer is pushed to `From`.
    pub fn system(&mut self, id: Sid, req: &Term, from: &From) -> Term {
        let from = beam_from(from);
        let id = sid(id);
        if let Err(e) = self.watch(&from, id) {
            return error_term(e);
        }
        let mut out = Out::new(&mut self.side);
        let f = from.clone();
        let r = match req {
            Term::Atom(a) => match a.name.as_str() {
                "get_state" => self.engine.system(id, SystemRequest::GetState(f), &mut out),
                "get_status" => self.engine.system(id, SystemRequest::GetStatus(f), &mut out),
                "suspend" => self.engine.system(id, SystemRequest::Suspend(Some(f)), &mut out),
                "resume" => self.engine.system(id, SystemRequest::Resume(Some(f)), &mut out),
                "sync" => self.engine.sync(id, f, &mut out),
                _ => Err(Error::Badarg),
            },
            Term::Tuple(t) => match (t.elements.first().and_then(atom_name), &t.elements[..]) {
                (Some("stop"), [_, reason]) => {
                    self.engine.system(id, SystemRequest::Stop(Some(store(reason)), Some(f)), &mut out)
                }
                (Some("replace_state"), [_, state, data, mode @ ..]) if mode.len() <= 1 => {
                    match mode.first().map(crate::beam::callback_mode).transpose() {
                        Ok(mode) => {
                            let req =
                                SystemRequest::ReplaceState { from: f, state: store(state), data: store(data), mode };
                            self.engine.system(id, req, &mut out)
                        }
                        Err(_) => Err(Error::Badarg),
                    }
                }
                _ => Err(Error::Badarg),
            },
            _ => Err(Error::Badarg),
        };
        if r.is_err() {
            self.engine.demonitor_matching(id, |w| *w == from);
        }
        ok_or_error(r)
    }

    /// `session_monitor`.
    pub fn monitor(&mut self, id: Sid, from: &From) -> Term {
        ok_or_error(self.watch(&beam_from(from), sid(id)))
    }

    /// `session_demonitor`: `true` if the monitor was there.
    pub fn demonitor(&mut self, id: Sid, from: &From) -> Term {
        let from = beam_from(from);
        proto_bool(self.engine.demonitor_matching(sid(id), |w| *w == from))
    }

    /// `session_abandon`: the monitor goes and a late reply is dropped.
    pub fn abandon(&mut self, id: Sid, from: &From) -> Term {
        let from = beam_from(from);
        if self.side.abandoned.len() < MAX_ABANDONED {
            self.side.abandoned.insert((from.pid.clone(), from.tag.clone()));
        }
        self.engine.demonitor_matching(sid(id), |w| *w == from);
        atom("ok")
    }

    /// `session_kill`.
    pub fn kill(&mut self, id: Sid, reason: &Term) -> Term {
        let mut out = Out::new(&mut self.side);
        ok_or_error(self.engine.kill(sid(id), store(reason), &mut out))
    }

    /// `session_alive`.
    pub fn alive(&self, id: Sid) -> Term {
        proto_bool(self.engine.is_alive(sid(id)))
    }

    /// `dest_down`: the owner's sessions stop with `shutdown` (as the NIF
    /// does when an owner's monitor fires); its monitors and abandoned
    /// calls go, so the number can be reused.
    pub fn dest_down(&mut self, dest: Dest) -> Term {
        for id in self.watching.remove(&dest).unwrap_or_default() {
            self.engine.demonitor_matching(id, |w| w.pid == dest);
        }
        self.side.abandoned.retain(|(d, _)| *d != dest);
        for id in self.owners.remove(&dest).unwrap_or_default() {
            let mut out = Out::new(&mut self.side);
            let _ = self.engine.stop(id, Some(shutdown()), None, &mut out);
        }
        atom("ok")
    }

    /// Fires expired timers and continues left-over work.
    pub fn tick(&mut self) {
        let mut out = Out::new(&mut self.side);
        self.engine.tick(&mut out);
        while self.engine.run_pending(&mut out) {}
        self.side.wake = false;
    }

    /// `engine_stop`: every session ends with `shutdown`.
    pub fn shutdown(&mut self) {
        let mut out = Out::new(&mut self.side);
        self.engine.shutdown(shutdown(), &mut out);
    }
}

fn proto_bool(b: bool) -> Term {
    atom(if b { "true" } else { "false" })
}

fn modes_nil(t: &Term) -> bool {
    matches!(t, Term::ByteList(b) if b.bytes.is_empty())
}

fn modes_ok(t: &Term) -> bool {
    match t {
        Term::List(l) => l
            .elements
            .iter()
            .all(|p| matches!(p, Term::Tuple(t) if t.elements.len() == 2 && atom_name(&t.elements[0]).is_some())),
        other => modes_nil(other),
    }
}
