//! The engine's [`Output`] in the port program: replies, DOWN notices and
//! system answers become frames the program pushes (docs/port-protocol.md,
//! "Frames the program pushes"), work items go to the executors' queues
//! here, and the first item in an idle queue pushes `{ring, Ix}`.
//!
//! The terms are the shapes `throng_nif`'s `out.rs` builds with rustler
//! (work items, exit reasons, status and terminate reports), written with
//! eetf; `throng_executor` reads both the same way.
//!
//! *Work items are queued encoded.* A cast to an idle session queues a
//! work item quoting its event, state and data; an executor may take it
//! much later, or a burst may queue a great many. Each is written at once
//! as the bytes [`crate::canon`] would write for its term
//! ([`write_invocation`], [`write_work`]; the stored terms it quotes are
//! rewritten from their bytes by [`crate::hot::Canon`], without decoding
//! them), so a queued item is one small block rather than a term tree, and
//! the frames that hand items out are written from those bytes.

use std::collections::{HashMap, HashSet, VecDeque};

use eetf::{Atom, FixInteger, List, Map, Term};
use throng_beam::{Etf, Mod};
use throng_core::{
    Action, CallbackFunction, CallbackResult, Event, EventType, ExitReason, Invocation, MonitorRef, Output,
    ReplyAction, SessionId, Status, SystemReply, TerminateReport, TimeoutTime, TimeoutType,
};

use crate::beam::{Beam, BeamFrom, Module, Work};
use crate::canon;
use crate::hot::Canon;
use crate::proto::{atom, int, list, tuple, Dest};

/// Most entries of the abandoned-calls set; beyond it a late reply is
/// pushed (as in the NIF).
pub const MAX_ABANDONED: usize = 65_536;

/// The engine's surroundings in the program: executor queues, abandoned
/// calls, terms kept for terminate reasons, and frames waiting to be
/// pushed.
#[derive(Debug, Default)]
pub struct Side {
    /// One queue per executor: `{Sid, Work}` items, oldest first.
    pub queues: Vec<VecDeque<Item>>,
    /// Whether executor `Ix` was handed work and has not yet seen an empty
    /// take.
    pub ringing: Vec<bool>,
    /// Idle executors that work arrived for: each gets a `{work, Ix,
    /// Items}` frame when the frame being answered is done ([`Side::wake`]).
    pub to_wake: Vec<usize>,
    /// Per executor: the sessions of its last take whose callbacks have
    /// not been handed in (lost if the executor dies).
    pub in_flight: Vec<Vec<u64>>,
    /// Calls whose caller gave up: their replies are dropped.
    pub abandoned: HashSet<(Dest, Etf)>,
    /// The raw results quoted by `bad_state_enter_return_from_state_function`
    /// of sessions whose `terminate/3` runs, until their DOWN is pushed.
    pub raw_results: HashMap<u64, Etf>,
    /// Frames to push, in order.
    pub pushed: Vec<Pushed>,
    /// The engine has work left for `run_pending`.
    pub wake: bool,
    /// Writes the stored terms work items quote.
    canon: Canon,
    /// The work item being written.
    scratch: Vec<u8>,
}

/// A work item in an executor's queue: `{Sid, Work}`, encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Its session.
    pub session: u64,
    /// The term as [`canon::write`] writes it (no version byte).
    pub bytes: Box<[u8]>,
}

impl Item {
    /// The item as a term.
    pub fn to_term(&self) -> Term {
        let mut b = Vec::with_capacity(self.bytes.len() + 1);
        b.push(131);
        b.extend_from_slice(&self.bytes);
        dec(&Etf::from_bytes(b))
    }
}

/// Appends a list of items as [`canon::write`] writes it (no version
/// byte): `[]`, or a `LIST_EXT` (items are tuples: never a string).
pub fn write_items(items: &[Item], buf: &mut Vec<u8>) {
    if items.is_empty() {
        buf.push(106);
        return;
    }
    buf.push(108);
    buf.extend_from_slice(&(items.len() as u32).to_be_bytes());
    items.iter().for_each(|i| buf.extend_from_slice(&i.bytes));
    buf.push(106);
}

/// A frame to push.
#[derive(Debug, Clone, PartialEq)]
pub enum Pushed {
    /// A term, encoded when it is written.
    Term(Term),
    /// A frame's payload, already encoded (version byte first).
    Bytes(Vec<u8>),
}

impl Pushed {
    /// Whether the frame is a DOWN notice (`{down, ...}`).
    pub fn is_down(&self) -> bool {
        matches!(self, Pushed::Term(t) if crate::proto::is_tagged(t, "down"))
    }
}

impl Side {
    /// Queues and rings for `n` executors.
    pub fn new(executors: usize) -> Side {
        Side {
            queues: vec![VecDeque::new(); executors],
            ringing: vec![false; executors],
            in_flight: vec![Vec::new(); executors],
            ..Side::default()
        }
    }

    /// Queues `{Sid, Work}` for the session's executor, `Work` written by
    /// `work`.
    fn push_work(&mut self, session: SessionId, work: impl FnOnce(&mut Canon, &mut Vec<u8>)) {
        if self.queues.is_empty() {
            return;
        }
        let ix = session.slot() as usize % self.queues.len();
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        buf.extend_from_slice(&[104, 2]);
        canon::uint(session.to_u64(), &mut buf);
        work(&mut self.canon, &mut buf);
        self.queues[ix].push_back(Item { session: session.to_u64(), bytes: Box::from(&buf[..]) });
        self.scratch = buf;
        if !self.ringing[ix] {
            self.ringing[ix] = true;
            self.to_wake.push(ix);
        }
    }

    /// Up to `max` items of executor `ix`; an empty take ends its turn
    /// (the next item rings it again). `None`: no such executor.
    pub fn take(&mut self, ix: usize, max: usize) -> Option<Vec<Item>> {
        let q = self.queues.get_mut(ix)?;
        let items: Vec<Item> = q.drain(..max.min(q.len())).collect();
        // The executor takes a batch only once it has handed in the last.
        self.in_flight[ix] = items.iter().map(|i| i.session).collect();
        if items.is_empty() {
            self.ringing[ix] = false;
        }
        Some(items)
    }

    /// Session `id`'s callback was handed in (or it no longer waits for
    /// one): its executor no longer holds it.
    pub fn handed_in(&mut self, id: u64) {
        if self.queues.is_empty() {
            return;
        }
        let ix = SessionId::from_u64(id).slot() as usize % self.queues.len();
        self.in_flight[ix].retain(|s| *s != id);
    }

    /// Executor `ix` died and its successor takes over its queue: the
    /// sessions whose callbacks the dead one held, and it is rung again if
    /// work waits. `None`: no such executor.
    pub fn replace_executor(&mut self, ix: usize) -> Option<Vec<u64>> {
        let lost = std::mem::take(self.in_flight.get_mut(ix)?);
        self.ringing[ix] = !self.queues[ix].is_empty();
        if self.ringing[ix] {
            self.to_wake.push(ix);
        }
        Some(lost)
    }

    /// Hands the idle executors work arrived for its first batch: a
    /// `{work, Ix, Items}` frame each (as `executor_take` would answer; the
    /// executor hands the results in with `executor_done`, which gives the
    /// next batch). Saves the executor the round trip of a take.
    pub fn wake(&mut self, max: usize) {
        for ix in std::mem::take(&mut self.to_wake) {
            // Woken once; and never while it still holds a batch.
            if !self.ringing[ix] || !self.in_flight[ix].is_empty() {
                continue;
            }
            if let Some(items) = self.take(ix, max).filter(|items| !items.is_empty()) {
                // `{work, Ix, Items}`.
                let mut f = Vec::with_capacity(16 + items.iter().map(|i| i.bytes.len()).sum::<usize>());
                f.extend_from_slice(&[131, 104, 3]);
                canon::atom(b"work", &mut f);
                canon::uint(ix as u64, &mut f);
                write_items(&items, &mut f);
                self.pushed.push(Pushed::Bytes(f));
            }
        }
    }

    /// Items waiting in all queues.
    pub fn queued(&self) -> usize {
        self.queues.iter().map(VecDeque::len).sum()
    }
}

/// The output of one engine call.
pub struct Out<'a> {
    /// Where frames and work go.
    pub side: &'a mut Side,
    /// The callback result being handed in, as the executor sent it, for
    /// `bad_state_enter_return_from_state_function` (which quotes it).
    pub raw_result: Option<Term>,
    /// The terminate report of a session that terminated in this call.
    pub report: Option<Term>,
}

impl<'a> Out<'a> {
    /// Output into `side`.
    pub fn new(side: &'a mut Side) -> Self {
        Out { side, raw_result: None, report: None }
    }
}

/// A stored term, decoded (bytes the port encoded itself).
pub fn dec(t: &Etf) -> Term {
    Term::decode(t.as_bytes()).unwrap_or_else(|_| atom("undefined"))
}

/// An atom from a name that came from the BEAM (a module).
pub fn atom_of(name: &str) -> Term {
    Term::from(Atom::from(name))
}

/// The names of the native machines (the same in every engine).
fn native_names() -> &'static [Box<str>] {
    static NAMES: std::sync::OnceLock<Vec<Box<str>>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| throng_machines::natives::<crate::beam::Port>().names().map(Into::into).collect())
}

/// A module as `get_status` shows it: the atom, or `{native, Name}`.
pub fn module_term(m: &Module) -> Term {
    match m {
        Mod::Beam(name) => atom_of(name),
        Mod::Native(id) => {
            let name = native_names().get(usize::from(id.0)).map_or("undefined", |n| &**n);
            tuple([atom("native"), atom_of(name)])
        }
    }
}

/// The atom of a BEAM module (`undefined` for a native machine, whose
/// callbacks never reach an executor).
fn module_atom(m: &Module) -> Term {
    match m {
        Mod::Beam(name) => atom_of(name),
        Mod::Native(_) => atom("undefined"),
    }
}

fn from_term(f: &BeamFrom) -> Term {
    tuple([dec(&f.pid), dec(&f.tag)])
}

/// Which form of an exit reason.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// What `terminate/3` gets and reports show.
    Raw,
    /// What the session exits with (DOWN notices, callers): for errors the
    /// class-error shape `{Reason, Stack}` (engine-detected errors carry an
    /// empty stack).
    Exit,
}

/// An exit reason as gen_statem gives it. An exception's reason is stored
/// as `{Reason, ExitReason}` (see `session_raise`).
pub fn reason_term(r: &ExitReason<Beam>, raw: Option<&Term>, form: Form) -> Term {
    let wrap = |a: &'static str, t: Term| {
        let reason = tuple([atom(a), t]);
        match form {
            Form::Raw => reason,
            Form::Exit => tuple([reason, list([])]),
        }
    };
    match r {
        ExitReason::Normal => atom("normal"),
        ExitReason::Reason(t) => dec(t),
        ExitReason::Exception(t) => match dec(t) {
            Term::Tuple(mut pair) if pair.elements.len() == 2 => match form {
                Form::Raw => pair.elements.swap_remove(0),
                Form::Exit => pair.elements.swap_remove(1),
            },
            other => other,
        },
        ExitReason::BadReturnFromInit(t) => wrap("bad_return_from_init", dec(t)),
        ExitReason::BadReturnFromCallbackMode(t) => wrap("bad_return_from_callback_mode", dec(t)),
        ExitReason::BadReturnFromStateFunction(t) => wrap("bad_return_from_state_function", dec(t)),
        ExitReason::BadStateEnterReturnFromStateFunction(res) => {
            let t = raw.cloned().unwrap_or_else(|| result_term(res));
            wrap("bad_state_enter_return_from_state_function", t)
        }
        ExitReason::BadActionFromStateFunction(a) => wrap("bad_action_from_state_function", action_term(a)),
        ExitReason::BadStateEnterActionFromStateFunction(a) => {
            wrap("bad_state_enter_action_from_state_function", action_term(a))
        }
        ExitReason::BadReplyActionFromStateFunction(t) => wrap("bad_reply_action_from_state_function", dec(t)),
    }
}

/// An event type as gen_statem writes it.
pub fn event_type_term(t: &EventType<Beam>) -> Term {
    match t {
        EventType::Call(f) => tuple([atom("call"), from_term(f)]),
        EventType::Cast => atom("cast"),
        EventType::Info => atom("info"),
        EventType::Timeout => atom("timeout"),
        EventType::GenericTimeout(n) => tuple([atom("timeout"), dec(n)]),
        EventType::StateTimeout => atom("state_timeout"),
        EventType::Internal => atom("internal"),
    }
}

fn timeout_type_term(t: &TimeoutType<Etf>) -> Term {
    match t {
        TimeoutType::Event => atom("timeout"),
        TimeoutType::State => atom("state_timeout"),
        TimeoutType::Generic(n) => tuple([atom("timeout"), dec(n)]),
    }
}

fn event_term(e: &Event<Beam>) -> Term {
    tuple([event_type_term(&e.kind), dec(&e.content)])
}

fn boolean(b: bool) -> Term {
    atom(if b { "true" } else { "false" })
}

fn integer(v: i64) -> Term {
    match i32::try_from(v) {
        Ok(v) => Term::from(FixInteger::from(v)),
        Err(_) => Term::from(eetf::BigInteger::from(v)),
    }
}

/// An action written back as the callback wrote it (for error reasons).
fn action_term(a: &Action<Beam>) -> Term {
    match a {
        Action::Postpone => atom("postpone"),
        Action::PostponeFlag(b) => tuple([atom("postpone"), boolean(*b)]),
        Action::Hibernate(b) => tuple([atom("hibernate"), boolean(*b)]),
        Action::Reply(f, r) => tuple([atom("reply"), from_term(f), dec(r)]),
        Action::NextEvent(e) => tuple([atom("next_event"), event_type_term(&e.kind), dec(&e.content)]),
        Action::Timeout(t) => {
            let ty = timeout_type_term(&t.kind);
            let msg = t.msg.as_ref().map_or_else(|| atom("undefined"), dec);
            match t.time {
                TimeoutTime::Infinity if t.msg.is_none() => tuple([ty, atom("cancel")]),
                TimeoutTime::Infinity => tuple([ty, atom("infinity"), msg]),
                TimeoutTime::Relative(ms) => tuple([ty, int(ms), msg]),
                TimeoutTime::Absolute(at) => tuple([ty, integer(at), msg, list([tuple([atom("abs"), boolean(true)])])]),
                TimeoutTime::Update => tuple([ty, atom("update"), msg]),
            }
        }
        Action::ChangeCallbackModule(m) => tuple([atom("change_callback_module"), module_atom(m)]),
        Action::PushCallbackModule(m) => tuple([atom("push_callback_module"), module_atom(m)]),
        Action::PopCallbackModule => atom("pop_callback_module"),
        Action::Invalid(t) | Action::InvalidNextEvent(t) => dec(t),
    }
}

fn actions_term(actions: &[Action<Beam>]) -> Term {
    list(actions.iter().map(action_term))
}

/// A callback result written back (only when the raw one is not at hand).
fn result_term(r: &CallbackResult<Beam>) -> Term {
    let reason = |r: &Option<Etf>| r.as_ref().map_or_else(|| atom("normal"), dec);
    match r {
        CallbackResult::NextState(s, d, acts) => tuple([atom("next_state"), dec(s), dec(d), actions_term(acts)]),
        CallbackResult::KeepState(d, acts) => tuple([atom("keep_state"), dec(d), actions_term(acts)]),
        CallbackResult::KeepStateAndData(acts) => tuple([atom("keep_state_and_data"), actions_term(acts)]),
        CallbackResult::RepeatState(d, acts) => tuple([atom("repeat_state"), dec(d), actions_term(acts)]),
        CallbackResult::RepeatStateAndData(acts) => tuple([atom("repeat_state_and_data"), actions_term(acts)]),
        CallbackResult::Stop(r, _) => tuple([atom("stop"), reason(r)]),
        CallbackResult::StopAndReply(r, reps, _) => {
            let reps = reps.iter().map(|x| match x {
                ReplyAction::Reply(f, v) => tuple([atom("reply"), from_term(f), dec(v)]),
                ReplyAction::Invalid(t) => dec(t),
            });
            tuple([atom("stop_and_reply"), reason(r), list(reps)])
        }
        CallbackResult::Exception(t) | CallbackResult::Invalid(t) => dec(t),
    }
}

fn mode_term(f: CallbackFunction) -> Term {
    match f {
        CallbackFunction::StateFunctions => atom("state_functions"),
        CallbackFunction::HandleEventFunction => atom("handle_event_function"),
    }
}

fn mode_list(m: throng_core::CallbackMode) -> Term {
    let mut mode = vec![mode_term(m.function)];
    if m.state_enter {
        mode.push(atom("state_enter"));
    }
    list(mode)
}

fn map(pairs: Vec<(&'static str, Term)>) -> Term {
    Term::from(Map::from(pairs.into_iter().map(|(k, v)| (atom(k), v)).collect::<HashMap<_, _>>()))
}

fn modules_term(ms: &[Module]) -> Term {
    list(ms.iter().map(module_term))
}

/// `get_status`'s map.
pub fn status_term(s: &Status<Beam>) -> Term {
    let timeouts = list(s.timeouts.iter().map(|(t, m)| tuple([timeout_type_term(t), dec(m)])));
    map(vec![
        ("state", dec(&s.state)),
        ("data", dec(&s.data)),
        ("queue_len", int(s.queue_len as u64)),
        ("postponed_len", int(s.postponed_len as u64)),
        ("timeouts", timeouts),
        ("modules", modules_term(&s.modules)),
        ("callback_mode", mode_list(s.mode)),
        ("suspended", boolean(s.suspended)),
    ])
}

fn report_term(r: &TerminateReport<'_, Beam>, raw: Option<&Term>) -> Term {
    let queue = list(r.current.iter().copied().chain(r.queue.iter().copied()).map(event_term));
    let postponed = list(r.postponed.iter().map(|e| event_term(e)));
    let timeouts = list(r.timeouts.iter().map(|(t, m)| tuple([timeout_type_term(t), dec(m)])));
    map(vec![
        ("reason", reason_term(r.reason, raw, Form::Raw)),
        ("state", dec(r.state)),
        ("data", dec(r.data)),
        ("queue", queue),
        ("postponed", postponed),
        ("timeouts", timeouts),
        ("modules", modules_term(r.modules)),
        ("callback_mode", mode_list(r.mode)),
    ])
}

/// A state callback to run, as the executor reads it: `{event, Module,
/// Mode, Type, Content, State, Data}` or `{enter, Module, Mode, OldState,
/// State, Data}` (queued as [`write_invocation`] writes it).
pub fn invocation_term(call: &Invocation<'_, Beam>) -> Term {
    match call {
        Invocation::Event { module, mode, event, state, data } => tuple([
            atom("event"),
            module_atom(module),
            mode_term(mode.function),
            event_type_term(&event.kind),
            dec(&event.content),
            dec(state),
            dec(data),
        ]),
        Invocation::Enter { module, mode, old_state, state, data } => {
            tuple([atom("enter"), module_atom(module), mode_term(mode.function), dec(old_state), dec(state), dec(data)])
        }
    }
}

/// An `init/1` or `terminate/3` call, as the executor reads it:
/// `{init, Module, Args, From}` or `{terminate, Module, Reason, State, Data,
/// Raised}` (`Raised` is `undefined` over the port: it is kept only for
/// callbacks run inline, which the port does not hand out). Queued as
/// [`write_work`] writes it.
pub fn work_term(w: &Work, raw: Option<&Term>) -> Term {
    match w {
        Work::Init { module, args, from } => tuple([atom("init"), atom_of(module), dec(args), from_term(from)]),
        Work::Terminate { module, reason, state, data } => tuple([
            atom("terminate"),
            atom_of(module),
            reason_term(reason, raw, Form::Raw),
            dec(state),
            dec(data),
            atom("undefined"),
        ]),
        // Pushed at once (Output::emit), never queued for an executor.
        Work::Send { .. } => atom("undefined"),
    }
}

/// Appends what [`canon::write`] writes for `dec(t)`.
fn put(c: &mut Canon, t: &Etf, buf: &mut Vec<u8>) {
    if !c.write_stored(t.as_bytes(), buf) {
        canon::atom(b"undefined", buf);
    }
}

fn put_atom(name: &str, buf: &mut Vec<u8>) {
    canon::atom(name.as_bytes(), buf);
}

/// `{Pid, Tag}`.
fn put_from(c: &mut Canon, f: &BeamFrom, buf: &mut Vec<u8>) {
    buf.extend_from_slice(&[104, 2]);
    put(c, &f.pid, buf);
    put(c, &f.tag, buf);
}

fn put_module(m: &Module, buf: &mut Vec<u8>) {
    match m {
        Mod::Beam(name) => put_atom(name, buf),
        Mod::Native(_) => put_atom("undefined", buf),
    }
}

fn mode_name(f: CallbackFunction) -> &'static str {
    match f {
        CallbackFunction::StateFunctions => "state_functions",
        CallbackFunction::HandleEventFunction => "handle_event_function",
    }
}

/// [`event_type_term`], written.
fn put_event_type(c: &mut Canon, t: &EventType<Beam>, buf: &mut Vec<u8>) {
    match t {
        EventType::Call(f) => {
            buf.extend_from_slice(&[104, 2]);
            put_atom("call", buf);
            put_from(c, f, buf);
        }
        EventType::Cast => put_atom("cast", buf),
        EventType::Info => put_atom("info", buf),
        EventType::Timeout => put_atom("timeout", buf),
        EventType::GenericTimeout(n) => {
            buf.extend_from_slice(&[104, 2]);
            put_atom("timeout", buf);
            put(c, n, buf);
        }
        EventType::StateTimeout => put_atom("state_timeout", buf),
        EventType::Internal => put_atom("internal", buf),
    }
}

/// Appends the bytes [`canon::write`] writes for [`invocation_term`].
pub fn write_invocation(c: &mut Canon, call: &Invocation<'_, Beam>, buf: &mut Vec<u8>) {
    match call {
        Invocation::Event { module, mode, event, state, data } => {
            buf.extend_from_slice(&[104, 7]);
            put_atom("event", buf);
            put_module(module, buf);
            put_atom(mode_name(mode.function), buf);
            put_event_type(c, &event.kind, buf);
            put(c, &event.content, buf);
            put(c, state, buf);
            put(c, data, buf);
        }
        Invocation::Enter { module, mode, old_state, state, data } => {
            buf.extend_from_slice(&[104, 6]);
            put_atom("enter", buf);
            put_module(module, buf);
            put_atom(mode_name(mode.function), buf);
            put(c, old_state, buf);
            put(c, state, buf);
            put(c, data, buf);
        }
    }
}

/// Appends the bytes [`canon::write`] writes for [`work_term`].
pub fn write_work(c: &mut Canon, w: &Work, raw: Option<&Term>, buf: &mut Vec<u8>) {
    match w {
        Work::Init { module, args, from } => {
            buf.extend_from_slice(&[104, 4]);
            put_atom("init", buf);
            put_atom(module, buf);
            put(c, args, buf);
            put_from(c, from, buf);
        }
        Work::Terminate { module, reason, state, data } => {
            buf.extend_from_slice(&[104, 6]);
            put_atom("terminate", buf);
            put_atom(module, buf);
            canon::write(&reason_term(reason, raw, Form::Raw), buf);
            put(c, state, buf);
            put(c, data, buf);
            put_atom("undefined", buf);
        }
        Work::Send { .. } => put_atom("undefined", buf),
    }
}

impl Output<Beam> for Out<'_> {
    fn reply(&mut self, from: BeamFrom, reply: Etf) {
        if !self.side.abandoned.is_empty() && self.side.abandoned.remove(&(from.pid.clone(), from.tag.clone())) {
            return;
        }
        self.side.pushed.push(Pushed::Term(tuple([atom("reply"), dec(&from.pid), dec(&from.tag), dec(&reply)])));
    }

    fn call_failed(&mut self, _session: SessionId, _from: BeamFrom, _reason: &ExitReason<Beam>) {
        // As in the NIF: callers monitor the session for the length of the
        // call, so the DOWN notice tells them.
    }

    fn down(&mut self, watcher: BeamFrom, _mref: MonitorRef, session: SessionId, reason: &ExitReason<Beam>) {
        let reason = reason_term(reason, self.raw_result.as_ref(), Form::Exit);
        self.side.pushed.push(Pushed::Term(tuple([
            atom("down"),
            dec(&watcher.pid),
            dec(&watcher.tag),
            int(session.to_u64()),
            reason,
        ])));
    }

    fn system_reply(&mut self, from: BeamFrom, reply: SystemReply<Beam>) {
        let body = match &reply {
            SystemReply::Ok => atom("ok"),
            SystemReply::State(s, d) => tuple([dec(s), dec(d)]),
            SystemReply::Status(st) => status_term(st),
            SystemReply::Stopped(r) => tuple([atom("stopped"), reason_term(r, self.raw_result.as_ref(), Form::Exit)]),
        };
        self.side.pushed.push(Pushed::Term(tuple([atom("reply"), dec(&from.pid), dec(&from.tag), body])));
    }

    fn terminated(&mut self, report: &TerminateReport<'_, Beam>) {
        self.report = Some(report_term(report, self.raw_result.as_ref()));
    }

    fn dispatch(&mut self, session: SessionId, call: &Invocation<'_, Beam>) {
        self.side.push_work(session, |c, buf| write_invocation(c, call, buf));
    }

    fn emit(&mut self, session: SessionId, work: Work) {
        if let Work::Send { to, msg } = work {
            // A native machine's `To ! Msg`: `{send, Dest, Msg}` (a pid
            // written back as it came; the owner sends it).
            if let Some(dest) = Term::decode(to.as_bytes()).ok().filter(|t| matches!(t, Term::Pid(_))) {
                self.side.pushed.push(Pushed::Term(tuple([atom("send"), dest, dec(&msg)])));
            }
            return;
        }
        if let (Work::Terminate { reason: ExitReason::BadStateEnterReturnFromStateFunction(_), .. }, Some(raw)) =
            (&work, &self.raw_result)
        {
            // The DOWN notices are pushed later, by `session_terminated`:
            // keep the result as the callback returned it.
            self.side.raw_results.insert(session.to_u64(), Etf::from_bytes(crate::canon::encode(raw)));
        }
        let raw = self.raw_result.as_ref();
        self.side.push_work(session, |c, buf| write_work(c, &work, raw, buf));
    }

    fn wake(&mut self) {
        self.side.wake = true;
    }
}

/// `[]`, for results.
pub fn nil() -> Term {
    Term::from(List::nil())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use throng_core::{CallbackMode, Event, EventType, ExitReason, Invocation};

    use super::*;

    /// Stored terms as the engine may hold them: canonical, not (OTP 25's
    /// atoms, an unsorted map, a small integer as `INTEGER_EXT`), and bytes
    /// eetf refuses (quoted as `undefined`, as [`dec`] does).
    fn stored() -> Vec<Etf> {
        let otp25 = vec![131, 104, 2, 100, 0, 6, b'b', b'u', b't', b't', b'o', b'n', 98, 0, 0, 0, 1];
        let map = vec![131, 116, 0, 0, 0, 2, 100, 0, 1, b'z', 106, 100, 0, 1, b'a', 107, 0, 2, 1, 2];
        let bad = vec![131, 100, 0, 1, 0xE9];
        [otp25, map, bad, crate::canon::encode(&atom("locked"))].into_iter().map(Etf::from_bytes).collect()
    }

    fn written(f: impl FnOnce(&mut Canon, &mut Vec<u8>)) -> Vec<u8> {
        let mut buf = Vec::new();
        f(&mut Canon::default(), &mut buf);
        buf
    }

    fn canon_write(t: &Term) -> Vec<u8> {
        let mut buf = Vec::new();
        canon::write(t, &mut buf);
        buf
    }

    #[test]
    fn test_work_items_written_as_their_terms() {
        let module: Module = Mod::Beam(Arc::from("demo_lock"));
        let native: Module = Mod::Native(throng_beam::NativeId(0));
        for (i, t) in stored().iter().enumerate() {
            let from = BeamFrom { pid: t.clone(), tag: stored()[(i + 1) % 4].clone() };
            let kinds = [
                EventType::Call(from.clone()),
                EventType::Cast,
                EventType::Info,
                EventType::Timeout,
                EventType::GenericTimeout(t.clone()),
                EventType::StateTimeout,
                EventType::Internal,
            ];
            for (k, kind) in kinds.into_iter().enumerate() {
                let event = Event::new(kind, stored()[k % 4].clone());
                let mode = CallbackMode { function: CallbackFunction::StateFunctions, state_enter: k % 2 == 0 };
                let m = if k == 3 { &native } else { &module };
                let calls = [
                    Invocation::Event { module: m, mode, event: &event, state: t, data: &stored()[(k + 2) % 4] },
                    Invocation::Enter { module: m, mode, old_state: t, state: &stored()[k % 4], data: t },
                ];
                for call in &calls {
                    assert_eq!(written(|c, b| write_invocation(c, call, b)), canon_write(&invocation_term(call)));
                }
            }
            let works = [
                Work::Init { module: Arc::from("m"), args: t.clone(), from: from.clone() },
                Work::Terminate {
                    module: Arc::from("m"),
                    reason: ExitReason::Normal,
                    state: t.clone(),
                    data: t.clone(),
                },
                Work::Terminate {
                    module: Arc::from("m"),
                    reason: ExitReason::BadReturnFromStateFunction(t.clone()),
                    state: t.clone(),
                    data: t.clone(),
                },
                Work::Send { to: t.clone(), msg: t.clone() },
            ];
            for w in &works {
                let raw = Some(atom("raw"));
                assert_eq!(written(|c, b| write_work(c, w, raw.as_ref(), b)), canon_write(&work_term(w, raw.as_ref())));
            }
        }
    }

    #[test]
    fn test_taken_items_and_work_frames() {
        let mut side = Side::new(1);
        let sid = SessionId::from_u64(1 << 40);
        side.push_work(sid, |_, b| canon::atom(b"w", b));
        assert_eq!(side.to_wake, [0]);
        side.wake(64);
        let [Pushed::Bytes(frame)] = &side.pushed[..] else { panic!("{:?}", side.pushed) };
        let item = tuple([int(1 << 40), atom("w")]);
        assert_eq!(frame, &crate::canon::encode(&tuple([atom("work"), int(0), list([item.clone()])])));
        assert_eq!(side.in_flight[0], [1 << 40]);
        side.push_work(sid, |_, b| canon::atom(b"w", b));
        let items = side.take(0, 10).unwrap();
        assert_eq!(items.iter().map(Item::to_term).collect::<Vec<_>>(), [item]);
        let mut b = Vec::new();
        write_items(&[], &mut b);
        assert_eq!(b, [106]);
    }
}
