//! Shared helpers of the conformance tests (`test_gen_statem_suite.rs`,
//! `test_semantics.rs`).
//!
//! * [`H`] is a test harness: an engine running a [`Script`] machine on a
//!   [`ManualClock`], an [`Out`] that writes everything the engine emits
//!   into the same trace the callbacks log to, and — in deferred mode — a
//!   driver that hands every parked callback result back to the engine
//!   (`resume_init`/`resume`/`resume_terminate`), as a BEAM executor does.
//! * Everything observable is turned into [`Term`]s (replies, exit
//!   reasons, actions, system replies), so a test compares whole traces
//!   with `assert_eq!`.
//! * [`both_modes`] runs a scenario with plain and with deferred callbacks
//!   and asserts that the observations are identical.
// Each test crate uses its own subset of these helpers.
#![allow(dead_code, unused_imports, unused_macros)]

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

pub use throng_core::machines::script::{Parked, Script};
pub use throng_core::machines::term::{atom, int, list, tuple, Term};
pub use throng_core::{
    Action, CallbackMode, CallbackResult, Clock, Collect, Config, Emitted, Engine, Error, Event, EventType, ExitReason,
    InitResult, Invocation, ManualClock, MonitorRef, Output, ReplyAction, SessionId, Started, Status, SystemReply,
    SystemRequest, TerminateReport, TerminateResult, TimeoutAction, TimeoutForm, TimeoutTime, TimeoutType,
};

/// An action of the scripted machine.
pub type A = Action<Script>;
/// A callback result of the scripted machine.
pub type R = CallbackResult<Script>;
/// A time-out type of the scripted machine.
pub type TT = TimeoutType<Term>;
/// The shared trace.
pub type Trace = Arc<Mutex<Vec<Term>>>;

/// `handle_event_function`.
pub const HEF: CallbackMode = CallbackMode::HANDLE_EVENT_FUNCTION;
/// `state_functions`.
pub const SF: CallbackMode = CallbackMode::STATE_FUNCTIONS;
/// `[handle_event_function, state_enter]`.
pub const HEF_ENTER: CallbackMode = CallbackMode::HANDLE_EVENT_FUNCTION.with_state_enter();
/// `[state_functions, state_enter]`.
pub const SF_ENTER: CallbackMode = CallbackMode::STATE_FUNCTIONS.with_state_enter();

// ------------------------------------------------------------------ terms

/// Converts test values into terms: `"atom"`, integers, `bool`, terms.
pub trait IntoTerm {
    /// The term.
    fn into_term(self) -> Term;
}
impl IntoTerm for Term {
    fn into_term(self) -> Term {
        self
    }
}
impl IntoTerm for &Term {
    fn into_term(self) -> Term {
        self.clone()
    }
}
impl IntoTerm for &'static str {
    fn into_term(self) -> Term {
        Term::Atom(self)
    }
}
impl IntoTerm for i32 {
    fn into_term(self) -> Term {
        Term::Int(self as i64)
    }
}
impl IntoTerm for i64 {
    fn into_term(self) -> Term {
        Term::Int(self)
    }
}
impl IntoTerm for u64 {
    fn into_term(self) -> Term {
        Term::Int(self as i64)
    }
}
impl IntoTerm for bool {
    fn into_term(self) -> Term {
        Term::Atom(if self { "true" } else { "false" })
    }
}

/// A tuple term: `t!("reply", 1, "ok")` is `{reply,1,ok}`.
#[macro_export]
macro_rules! t {
    ($($x:expr),* $(,)?) => { $crate::common::Term::Tuple(vec![$($crate::common::IntoTerm::into_term($x)),*]) };
}

/// A list term: `l!("a", "b")` is `[a,b]`.
#[macro_export]
macro_rules! l {
    ($($x:expr),* $(,)?) => { $crate::common::Term::List(vec![$($crate::common::IntoTerm::into_term($x)),*]) };
}

/// A term from anything [`IntoTerm`].
pub fn term(x: impl IntoTerm) -> Term {
    x.into_term()
}

/// `Term::Atom(true/false)`.
pub fn boolean(b: bool) -> Term {
    b.into_term()
}

/// An event type as gen_statem writes it.
pub fn type_term(k: &EventType<Script>) -> Term {
    match k {
        EventType::Call(f) => t!("call", *f),
        EventType::Cast => atom("cast"),
        EventType::Info => atom("info"),
        EventType::Timeout => atom("timeout"),
        EventType::GenericTimeout(n) => t!("timeout", n),
        EventType::StateTimeout => atom("state_timeout"),
        EventType::Internal => atom("internal"),
    }
}

/// A time-out type as gen_statem writes it.
pub fn tt_term(k: &TT) -> Term {
    match k {
        TimeoutType::Event => atom("timeout"),
        TimeoutType::State => atom("state_timeout"),
        TimeoutType::Generic(n) => t!("timeout", n),
    }
}

fn time_term(t: TimeoutTime) -> Term {
    match t {
        TimeoutTime::Infinity => atom("infinity"),
        TimeoutTime::Relative(ms) => int(ms as i64),
        TimeoutTime::Absolute(at) => int(at),
        TimeoutTime::Update => atom("update"),
    }
}

/// An event as `{Type, Content}`.
pub fn event_term(e: &Event<Script>) -> Term {
    t!(type_term(&e.kind), &e.content)
}

/// An action as gen_statem writes it.
pub fn action_term(a: &A) -> Term {
    match a {
        Action::Postpone => atom("postpone"),
        Action::PostponeFlag(b) => t!("postpone", *b),
        Action::Hibernate(b) => t!("hibernate", *b),
        Action::Reply(f, r) => t!("reply", *f, r),
        Action::NextEvent(e) => t!("next_event", type_term(&e.kind), &e.content),
        Action::Timeout(ta) => {
            let msg = ta.msg.clone().unwrap_or(atom("undefined"));
            match ta.form {
                TimeoutForm::Triple => t!(tt_term(&ta.kind), time_term(ta.time), msg),
                TimeoutForm::WithOpts => {
                    let abs = matches!(ta.time, TimeoutTime::Absolute(_));
                    t!(tt_term(&ta.kind), time_term(ta.time), msg, l!(t!("abs", abs)))
                }
                TimeoutForm::Cancel => t!(tt_term(&ta.kind), "cancel"),
                TimeoutForm::Shorthand => time_term(ta.time),
            }
        }
        Action::ChangeCallbackModule(m) => t!("change_callback_module", *m),
        Action::PushCallbackModule(m) => t!("push_callback_module", *m),
        Action::PopCallbackModule => atom("pop_callback_module"),
        Action::Invalid(t) | Action::InvalidNextEvent(t) => t.clone(),
    }
}

fn actions_term(a: &[A]) -> Term {
    Term::List(a.iter().map(action_term).collect())
}

/// A callback result as gen_statem writes it.
pub fn result_term(r: &R) -> Term {
    match r {
        CallbackResult::NextState(s, d, a) => t!("next_state", s, d, actions_term(a)),
        CallbackResult::KeepState(d, a) => t!("keep_state", d, actions_term(a)),
        CallbackResult::KeepStateAndData(a) => t!("keep_state_and_data", actions_term(a)),
        CallbackResult::RepeatState(d, a) => t!("repeat_state", d, actions_term(a)),
        CallbackResult::RepeatStateAndData(a) => t!("repeat_state_and_data", actions_term(a)),
        CallbackResult::Stop(r, d) => match (r, d) {
            (None, None) => atom("stop"),
            (r, None) => t!("stop", r.clone().unwrap_or(atom("normal"))),
            (r, Some(d)) => t!("stop", r.clone().unwrap_or(atom("normal")), d),
        },
        CallbackResult::StopAndReply(r, replies, d) => {
            let rs = Term::List(
                replies
                    .iter()
                    .map(|x| match x {
                        ReplyAction::Reply(f, v) => t!("reply", *f, v),
                        ReplyAction::Invalid(t) => t.clone(),
                    })
                    .collect(),
            );
            let r = r.clone().unwrap_or(atom("normal"));
            match d {
                None => t!("stop_and_reply", r, rs),
                Some(d) => t!("stop_and_reply", r, rs, d),
            }
        }
        CallbackResult::Exception(r) => t!("exception", r),
        CallbackResult::Invalid(t) => t.clone(),
    }
}

/// An exit reason as gen_statem writes it (`normal`, the reason itself,
/// `{exception, R}` for a raised callback, `{bad_…, Detail}`).
pub fn reason_term(r: &ExitReason<Script>) -> Term {
    match r {
        ExitReason::Normal => atom("normal"),
        ExitReason::Reason(r) => r.clone(),
        ExitReason::Exception(r) => t!("exception", r),
        ExitReason::BadReturnFromInit(t) => t!("bad_return_from_init", t),
        ExitReason::BadReturnFromCallbackMode(t) => t!("bad_return_from_callback_mode", t),
        ExitReason::BadReturnFromStateFunction(t) => t!("bad_return_from_state_function", t),
        ExitReason::BadStateEnterReturnFromStateFunction(r) => {
            t!("bad_state_enter_return_from_state_function", result_term(r))
        }
        ExitReason::BadActionFromStateFunction(a) => t!("bad_action_from_state_function", action_term(a)),
        ExitReason::BadStateEnterActionFromStateFunction(a) => {
            t!("bad_state_enter_action_from_state_function", action_term(a))
        }
        ExitReason::BadReplyActionFromStateFunction(t) => t!("bad_reply_action_from_state_function", t),
    }
}

/// A `start` outcome: `{ok,Slot}`-less `ok`, `ignore`, `{error,Reason}`, `pending`.
pub fn started_term(s: &Started<Script>) -> Term {
    match s {
        Started::Ok(_) => atom("ok"),
        Started::Ignore => atom("ignore"),
        Started::Failed(r) => t!("error", reason_term(r)),
        Started::Pending(_) => atom("pending"),
    }
}

/// A status as `{status, State, Data, Modules, QueueLen, PostponedLen,
/// [{Type,Msg}], Suspended}`.
pub fn status_term(st: &Status<Script>) -> Term {
    t!(
        "status",
        &st.state,
        &st.data,
        Term::List(st.modules.iter().map(|&m| atom(m)).collect()),
        st.queue_len as i64,
        st.postponed_len as i64,
        Term::List(st.timeouts.iter().map(|(k, m)| t!(tt_term(k), m)).collect()),
        st.suspended,
    )
}

/// A system reply as a term.
pub fn system_reply_term(r: &SystemReply<Script>) -> Term {
    match r {
        SystemReply::Ok => atom("ok"),
        SystemReply::State(s, d) => t!(s, d),
        SystemReply::Status(st) => status_term(st),
        SystemReply::Stopped(r) => t!("stopped", reason_term(r)),
    }
}

// ------------------------------------------------------------------ output

/// What a terminate report held, as terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The exit reason.
    pub reason: Term,
    /// State and data `terminate/3` saw.
    pub state: Term,
    /// The data.
    pub data: Term,
    /// The module stack.
    pub modules: Vec<&'static str>,
    /// The current event.
    pub current: Option<Term>,
    /// Queued events.
    pub queue: Vec<Term>,
    /// Postponed events.
    pub postponed: Vec<Term>,
    /// Time-outs.
    pub timeouts: Vec<Term>,
}

/// An [`Output`] that appends everything to the shared trace, as terms, in
/// the order the engine emits it, and also keeps a [`Collect`].
///
/// Trace entries: `{reply,From,Reply}`, `{call_failed,From,Reason}`,
/// `{down,Watcher,Reason}`, `{system,From,Reply}`,
/// `{terminated,Reason,State,Data}`.
///
/// A `call_failed` notice for a `From` that has already been answered is
/// not a failure a caller can see (on the BEAM the caller has its reply
/// and has dropped its monitor/alias): it is kept apart in
/// `failed_after_reply`, not in the trace. Whether the engine emits such
/// notices at all is checked by its own test.
pub struct Out {
    /// The shared trace.
    pub trace: Trace,
    /// The same outputs, as the engine's [`Collect`] records them.
    pub collect: Collect<Script>,
    /// Terminate reports.
    pub reports: Vec<Report>,
    /// `From`s that got a reply.
    pub replied: HashSet<u64>,
    /// `call_failed` notices for `From`s that had been answered.
    pub failed_after_reply: Vec<Term>,
}

impl Out {
    fn log(&self, t: Term) {
        self.trace.lock().unwrap().push(t);
    }
}

impl Output<Script> for Out {
    fn reply(&mut self, from: u64, reply: Term) {
        self.log(t!("reply", from, &reply));
        self.replied.insert(from);
        Output::reply(&mut self.collect, from, reply);
    }
    fn call_failed(&mut self, session: SessionId, from: u64, reason: &ExitReason<Script>) {
        if self.replied.contains(&from) {
            self.failed_after_reply.push(t!("call_failed", from, reason_term(reason)));
        } else {
            self.log(t!("call_failed", from, reason_term(reason)));
        }
        Output::call_failed(&mut self.collect, session, from, reason);
    }
    fn down(&mut self, watcher: u64, mref: MonitorRef, session: SessionId, reason: &ExitReason<Script>) {
        self.log(t!("down", watcher, reason_term(reason)));
        Output::down(&mut self.collect, watcher, mref, session, reason);
    }
    fn system_reply(&mut self, from: u64, reply: SystemReply<Script>) {
        self.log(t!("system", from, system_reply_term(&reply)));
        Output::system_reply(&mut self.collect, from, reply);
    }
    fn terminated(&mut self, report: &TerminateReport<'_, Script>) {
        self.log(t!("terminated", reason_term(report.reason), report.state, report.data));
        self.reports.push(Report {
            reason: reason_term(report.reason),
            state: report.state.clone(),
            data: report.data.clone(),
            modules: report.modules.to_vec(),
            current: report.current.map(event_term),
            queue: report.queue.iter().map(|e| event_term(e)).collect(),
            postponed: report.postponed.iter().map(|e| event_term(e)).collect(),
            timeouts: report.timeouts.iter().map(|(k, m)| t!(tt_term(k), *m)).collect(),
        });
        Output::terminated(&mut self.collect, report);
    }
    fn wake(&mut self) {
        Output::wake(&mut self.collect);
    }
}

// ------------------------------------------------------------------ harness

/// The test harness: engine, clock, output, and the deferred-mode driver.
pub struct H {
    /// The engine.
    pub engine: Engine<Script>,
    /// Its clock.
    pub clock: ManualClock,
    /// Everything emitted.
    pub out: Out,
    /// Callbacks answer later and are resumed by [`H::drive`].
    pub deferred: bool,
    /// The shared trace (callback logs and outputs).
    pub trace: Trace,
    /// Everything [`H::take`] has taken so far, in order.
    pub history: Vec<Term>,
    next_from: u64,
}

/// One shard, so slot reuse is predictable; other limits as given.
pub fn config() -> Config {
    Config { shards: 1, ..Config::default() }
}

impl H {
    /// A harness for `script` (made deferred when `deferred`), one shard,
    /// the clock at 0.
    pub fn new(script: Script, deferred: bool) -> Self {
        Self::with(script, deferred, config(), ManualClock::new(0))
    }

    /// A harness with a given configuration and clock.
    pub fn with(script: Script, deferred: bool, config: Config, clock: ManualClock) -> Self {
        let trace = script.trace_handle();
        let script = if deferred { script.deferred() } else { script };
        let engine = Engine::new(script, config, clock.clone()).expect("engine");
        let out = Out {
            trace: trace.clone(),
            collect: Collect::default(),
            reports: Vec::new(),
            replied: HashSet::new(),
            failed_after_reply: Vec::new(),
        };
        H { engine, clock, out, deferred, trace, history: Vec::new(), next_from: 1000 }
    }

    /// A fresh `From` for a call (1000, 1001, …).
    pub fn from(&mut self) -> u64 {
        self.next_from += 1;
        self.next_from
    }

    /// Takes the trace (and appends it to [`H::history`]).
    pub fn take(&mut self) -> Vec<Term> {
        let taken = std::mem::take(&mut *self.trace.lock().unwrap());
        self.history.extend(taken.iter().cloned());
        taken
    }

    /// Takes the trace and everything taken before: the whole run.
    pub fn all(&mut self) -> Vec<Term> {
        self.take();
        self.history.clone()
    }

    /// A copy of the trace, not taken.
    pub fn peek(&self) -> Vec<Term> {
        self.trace.lock().unwrap().clone()
    }

    /// Hands one parked callback result back to the engine. Returns the
    /// `Started` of a resumed `init/1`, `None` if nothing was parked.
    pub fn resume_one(&mut self) -> Option<Option<Started<Script>>> {
        let parked = self.engine.machine().take_parked()?;
        Some(match parked {
            Parked::Init(id, r) => Some(self.engine.resume_init(id, r, &mut self.out).expect("resume_init")),
            Parked::Callback(id, r) => {
                self.engine.resume(id, r, &mut self.out).expect("resume");
                None
            }
            Parked::Terminate(id, r) => {
                self.engine.resume_terminate(id, r, &mut self.out).expect("resume_terminate");
                None
            }
        })
    }

    /// Resumes parked results until none is left (deferred mode), and
    /// continues sessions whose run budget ran out (`run_pending`, what the
    /// glue does on `wake`). Returns the outcome of a resumed `init/1`.
    pub fn drive(&mut self) -> Option<Started<Script>> {
        let mut started = None;
        loop {
            if let Some(s) = self.resume_one() {
                if s.is_some() {
                    started = s;
                }
            } else if self.engine.has_pending() {
                self.engine.run_pending(&mut self.out);
            } else {
                return started;
            }
        }
    }

    /// Resumes parked results one at a time until `pred` holds for the
    /// (untaken) trace; panics if they run out first. Used to stop with a
    /// session busy in a chosen callback.
    pub fn resume_until(&mut self, pred: impl Fn(&[Term]) -> bool) {
        while !pred(&self.peek()) {
            self.resume_one().expect("nothing parked, and the awaited callback has not run");
        }
    }

    /// `gen_statem:start`: runs `init/1` of `module` with `init` as its
    /// result (both modes) and returns the outcome.
    pub fn start(&mut self, module: &'static str, init: InitResult<Script>) -> Started<Script> {
        let s = self.engine.start(module, init, &mut self.out).expect("start");
        match s {
            Started::Pending(_) if self.deferred => self.drive().expect("init was parked"),
            s => {
                self.drive();
                s
            }
        }
    }

    /// [`H::start`] that must give `{ok, Session}`.
    pub fn start_ok(&mut self, module: &'static str, init: InitResult<Script>) -> SessionId {
        match self.start(module, init) {
            Started::Ok(id) => id,
            other => panic!("start: {other:?}"),
        }
    }

    /// `{ok, State, Data, Actions}`.
    pub fn start_with(&mut self, module: &'static str, state: Term, data: Term, actions: Vec<A>) -> SessionId {
        self.start_ok(module, InitResult::Ok(state, data, actions))
    }

    /// A cast; runs the session (and the driver).
    pub fn cast(&mut self, id: SessionId, msg: Term) {
        self.try_cast(id, msg).expect("cast");
    }

    /// A cast that may be refused.
    pub fn try_cast(&mut self, id: SessionId, msg: Term) -> Result<(), Error> {
        let r = self.engine.cast(id, msg, &mut self.out);
        self.drive();
        r
    }

    /// An info event.
    pub fn info(&mut self, id: SessionId, msg: Term) {
        self.engine.info(id, msg, &mut self.out).expect("info");
        self.drive();
    }

    /// A call with a fresh `From`, which is returned.
    pub fn call(&mut self, id: SessionId, req: Term) -> u64 {
        let from = self.from();
        self.try_call_from(id, from, req).expect("call");
        from
    }

    /// A call with a given `From`.
    pub fn call_from(&mut self, id: SessionId, from: u64, req: Term) {
        self.try_call_from(id, from, req).expect("call");
    }

    /// A call that may be refused.
    pub fn try_call_from(&mut self, id: SessionId, from: u64, req: Term) -> Result<(), Error> {
        let r = self.engine.call(id, from, req, &mut self.out);
        self.drive();
        r
    }

    /// Many events at once (all in the mailbox before the first is
    /// handled): what `self() ! Msg` inside a callback amounts to.
    pub fn send_events(&mut self, id: SessionId, events: Vec<Event<Script>>) -> Result<(), Error> {
        let r = self.engine.send_events(id, events, &mut self.out);
        self.drive();
        r
    }

    /// A system request.
    pub fn system(&mut self, id: SessionId, req: SystemRequest<Script>) {
        self.engine.system(id, req, &mut self.out).expect("system");
        self.drive();
    }

    /// `gen_statem:stop/3` with a requester `From`, which is returned.
    pub fn stop(&mut self, id: SessionId, reason: Option<Term>) -> u64 {
        let from = self.from();
        self.engine.stop(id, reason, Some(from), &mut self.out).expect("stop");
        self.drive();
        from
    }

    /// `sync` with a fresh `From`, which is returned.
    pub fn sync(&mut self, id: SessionId) -> u64 {
        let from = self.from();
        self.engine.sync(id, from, &mut self.out).expect("sync");
        self.drive();
        from
    }

    /// Fires expired timers and drives.
    pub fn tick(&mut self) -> usize {
        let n = self.engine.tick(&mut self.out);
        self.drive();
        n
    }

    /// Moves the clock and fires what expired; returns the timers fired.
    pub fn advance(&mut self, ms: u64) -> usize {
        self.clock.advance(ms);
        self.tick()
    }

    /// Moves the clock 1 ms at a time for `ms` ms, firing on every step,
    /// and logs `{at, T}` into the trace before each step that fired
    /// something; gives a time-stamped trace.
    pub fn advance_stepwise(&mut self, ms: u64) {
        for _ in 0..ms {
            self.clock.advance(1);
            let before = self.trace.lock().unwrap().len();
            let n = self.engine.tick(&mut self.out);
            if n > 0 {
                let now = self.engine.now_ms();
                self.trace.lock().unwrap().insert(before, t!("at", now));
            }
            self.drive();
        }
    }

    /// The current state and data.
    pub fn state(&self, id: SessionId) -> (Term, Term) {
        self.engine.get_state(id).expect("get_state")
    }

    /// The status.
    pub fn status(&self, id: SessionId) -> Status<Script> {
        self.engine.status(id).expect("status")
    }
}

/// Runs a scenario with plain and with deferred callbacks and asserts
/// that both observe exactly the same; returns the observation.
pub fn both_modes<T: PartialEq + Debug>(scenario: impl Fn(bool) -> T) -> T {
    let plain = scenario(false);
    let deferred = scenario(true);
    assert_eq!(plain, deferred, "plain and deferred (resumed) runs differ");
    plain
}

// ------------------------------------------------------------------ callbacks

/// A callback invocation seen as terms.
#[derive(Debug, Clone)]
pub struct Ev {
    /// `call`, `cast`, `info`, `timeout`, `state_timeout`, `generic`,
    /// `internal` or `enter`.
    pub ty: &'static str,
    /// The `From` of a call.
    pub from: Option<u64>,
    /// The name of a generic time-out.
    pub name: Option<Term>,
    /// The event content; for an enter call the old state.
    pub content: Term,
    /// The state the callback is called in.
    pub state: Term,
    /// The data.
    pub data: Term,
    /// The module.
    pub module: &'static str,
    /// `{Type, Content}` as gen_statem shows the event (`{enter, Old}` for
    /// an enter call).
    pub event: Term,
}

impl Ev {
    /// The state's atom name, or `""`.
    pub fn st(&self) -> &'static str {
        match &self.state {
            Term::Atom(a) => a,
            Term::List(l) if l.len() == 1 => l[0].as_atom().unwrap_or(""),
            _ => "",
        }
    }
    /// The content's atom name, or `""`.
    pub fn c(&self) -> &'static str {
        self.content.as_atom().unwrap_or("")
    }
    /// The content's tuple elements, or `[]`.
    pub fn ct(&self) -> &[Term] {
        self.content.as_tuple().unwrap_or(&[])
    }
    /// The data as an integer.
    pub fn n(&self) -> i64 {
        self.data.as_int().expect("integer data")
    }
    /// `{State, Type, Content}`: the usual log entry of a handled event.
    pub fn log_term(&self) -> Term {
        t!(&self.state, self.event.as_tuple().unwrap()[0].clone(), &self.content)
    }
}

/// Reads an invocation.
pub fn ev(c: &Invocation<'_, Script>) -> Ev {
    match c {
        Invocation::Enter { module, old_state, state, data, .. } => Ev {
            ty: "enter",
            from: None,
            name: None,
            content: (*old_state).clone(),
            state: (*state).clone(),
            data: (*data).clone(),
            module,
            event: t!("enter", *old_state),
        },
        Invocation::Event { module, event, state, data, .. } => {
            let (ty, from, name) = match &event.kind {
                EventType::Call(f) => ("call", Some(*f), None),
                EventType::Cast => ("cast", None, None),
                EventType::Info => ("info", None, None),
                EventType::Timeout => ("timeout", None, None),
                EventType::StateTimeout => ("state_timeout", None, None),
                EventType::GenericTimeout(n) => ("generic", None, Some(n.clone())),
                EventType::Internal => ("internal", None, None),
            };
            Ev {
                ty,
                from,
                name,
                content: event.content.clone(),
                state: (*state).clone(),
                data: (*data).clone(),
                module,
                event: event_term(event),
            }
        }
    }
}

/// A scripted machine with one module, `m`, that logs every invocation as
/// `{State, Type, Content}` (`{State, enter, OldState}` for an enter call)
/// and answers with `f`.
pub fn machine(mode: CallbackMode, f: impl Fn(&Ev) -> R + Send + Sync + 'static) -> Script {
    logged(Script::new(), "m", mode, f)
}

/// Adds a module to `s` that logs every invocation as [`machine`] does.
pub fn logged(
    s: Script,
    name: &'static str,
    mode: CallbackMode,
    f: impl Fn(&Ev) -> R + Send + Sync + 'static,
) -> Script {
    let tr = s.trace_handle();
    s.module(name, mode, move |c| {
        let e = ev(c);
        log(&tr, e.log_term());
        f(&e)
    })
}

/// A log entry of [`machine`]: `{State, Type, Content}`.
pub fn lg(state: impl IntoTerm, ty: impl IntoTerm, content: impl IntoTerm) -> Term {
    t!(state.into_term(), ty.into_term(), content.into_term())
}

/// Appends to a trace.
pub fn log(t: &Trace, x: Term) {
    t.lock().unwrap().push(x);
}

// ------------------------------------------------------------------ actions

/// `{reply, From, Reply}`.
pub fn reply(from: u64, r: impl IntoTerm) -> A {
    Action::Reply(from, r.into_term())
}
/// `{next_event, internal, C}`.
pub fn internal(c: impl IntoTerm) -> A {
    Action::next_event(EventType::Internal, c.into_term())
}
/// `{next_event, Type, C}`.
pub fn next_event(kind: EventType<Script>, c: impl IntoTerm) -> A {
    Action::next_event(kind, c.into_term())
}
/// `{timeout, Ms, Msg}`.
pub fn ev_timeout(ms: u64, msg: impl IntoTerm) -> A {
    Action::event_timeout(ms, msg.into_term())
}
/// `{state_timeout, Ms, Msg}`.
pub fn st_timeout(ms: u64, msg: impl IntoTerm) -> A {
    Action::state_timeout(ms, msg.into_term())
}
/// `{{timeout, Name}, Ms, Msg}`.
pub fn gen_timeout(name: impl IntoTerm, ms: u64, msg: impl IntoTerm) -> A {
    Action::generic_timeout(name.into_term(), ms, msg.into_term())
}
/// `{Type, Time, Msg}` for any time.
pub fn timeout(kind: TT, time: TimeoutTime, msg: impl IntoTerm) -> A {
    Action::timeout(kind, time, msg.into_term())
}
/// `{Type, Time, Msg, [{abs, true}]}`.
pub fn abs_timeout(kind: TT, at: i64, msg: impl IntoTerm) -> A {
    Action::Timeout(TimeoutAction {
        kind,
        time: TimeoutTime::Absolute(at),
        msg: Some(msg.into_term()),
        form: TimeoutForm::WithOpts,
    })
}
/// `{Type, Ms, Msg, [{abs, false}]}`.
pub fn rel_opts_timeout(kind: TT, ms: u64, msg: impl IntoTerm) -> A {
    Action::Timeout(TimeoutAction {
        kind,
        time: TimeoutTime::Relative(ms),
        msg: Some(msg.into_term()),
        form: TimeoutForm::WithOpts,
    })
}
/// `{Type, update, Msg}`.
pub fn update(kind: TT, msg: impl IntoTerm) -> A {
    timeout(kind, TimeoutTime::Update, msg)
}
/// `{Type, infinity, Msg}`.
pub fn infinity(kind: TT) -> A {
    timeout(kind, TimeoutTime::Infinity, "undefined")
}
/// `{Type, cancel}`.
pub fn cancel(kind: TT) -> A {
    Action::cancel(kind)
}
/// The bare integer `Ms`: `{timeout, Ms, Ms}`.
pub fn shorthand(ms: u64) -> A {
    Action::Timeout(TimeoutAction {
        kind: TimeoutType::Event,
        time: TimeoutTime::Relative(ms),
        msg: Some(int(ms as i64)),
        form: TimeoutForm::Shorthand,
    })
}
/// The bare atom `infinity`: `{timeout, infinity, infinity}`.
pub fn shorthand_infinity() -> A {
    Action::Timeout(TimeoutAction {
        kind: TimeoutType::Event,
        time: TimeoutTime::Infinity,
        msg: Some(atom("infinity")),
        form: TimeoutForm::Shorthand,
    })
}
/// `{timeout, Name}`.
pub fn generic(name: impl IntoTerm) -> TT {
    TimeoutType::Generic(name.into_term())
}

/// Reads a term `{reply, From, Reply}` into a reply action, as a test
/// machine that keeps actions in its data must.
pub fn reply_from_term(t: &Term) -> A {
    match t.as_tuple() {
        Some([Term::Atom("reply"), Term::Int(f), r]) => Action::Reply(*f as u64, r.clone()),
        _ => Action::Invalid(t.clone()),
    }
}

/// The same, for `stop_and_reply`'s list.
pub fn reply_action_from_term(t: &Term) -> ReplyAction<Script> {
    match t.as_tuple() {
        Some([Term::Atom("reply"), Term::Int(f), r]) => ReplyAction::Reply(*f as u64, r.clone()),
        _ => ReplyAction::Invalid(t.clone()),
    }
}

/// An event for [`H::send_events`].
pub fn cast_ev(c: impl IntoTerm) -> Event<Script> {
    Event::new(EventType::Cast, c.into_term())
}
/// An info event for [`H::send_events`].
pub fn info_ev(c: impl IntoTerm) -> Event<Script> {
    Event::new(EventType::Info, c.into_term())
}
/// A call event for [`H::send_events`].
pub fn call_ev(from: u64, c: impl IntoTerm) -> Event<Script> {
    Event::new(EventType::Call(from), c.into_term())
}

// ------------------------------------------------------------------ results

/// `{next_state, S, D, A}`.
pub fn next_state(s: impl IntoTerm, d: impl IntoTerm, a: Vec<A>) -> R {
    CallbackResult::NextState(s.into_term(), d.into_term(), a)
}
/// `{keep_state, D, A}`.
pub fn keep_state(d: impl IntoTerm, a: Vec<A>) -> R {
    CallbackResult::KeepState(d.into_term(), a)
}
/// `{keep_state_and_data, A}`.
pub fn keep(a: Vec<A>) -> R {
    CallbackResult::KeepStateAndData(a)
}
/// `{repeat_state, D, A}`.
pub fn repeat_state(d: impl IntoTerm, a: Vec<A>) -> R {
    CallbackResult::RepeatState(d.into_term(), a)
}
/// `{stop, Reason}`.
pub fn stop(r: impl IntoTerm) -> R {
    CallbackResult::Stop(Some(r.into_term()), None)
}
/// `{stop_and_reply, Reason, Replies, Data}` (Data optional).
pub fn stop_reply(r: impl IntoTerm, replies: Vec<(u64, Term)>, d: Option<Term>) -> R {
    CallbackResult::StopAndReply(
        Some(r.into_term()),
        replies.into_iter().map(|(f, v)| ReplyAction::Reply(f, v)).collect(),
        d,
    )
}
/// A result a test machine gives for an event it does not expect: a bad
/// return, so that the session crashes as a gen_statem with a missing
/// function clause does and the test sees it.
pub fn unexpected(e: &Ev) -> R {
    CallbackResult::Invalid(t!("unexpected", &e.state, &e.event))
}

/// `{init, Module}`, as the scripted machine logs it.
pub fn init_log(m: &'static str) -> Term {
    t!("init", m)
}
/// `{terminate, ReasonName, State, Data}`, as the scripted machine logs it.
pub fn terminate_log(reason: &'static str, s: impl IntoTerm, d: impl IntoTerm) -> Term {
    t!("terminate", reason, s.into_term(), d.into_term())
}
/// `{terminated, Reason, State, Data}`, as [`Out`] logs it.
pub fn terminated(reason: impl IntoTerm, s: impl IntoTerm, d: impl IntoTerm) -> Term {
    t!("terminated", reason.into_term(), s.into_term(), d.into_term())
}
/// `{reply, From, Reply}`, as [`Out`] logs it.
pub fn replied(from: u64, r: impl IntoTerm) -> Term {
    t!("reply", from, r.into_term())
}
/// `{system, From, Reply}`, as [`Out`] logs it.
pub fn system(from: u64, r: impl IntoTerm) -> Term {
    t!("system", from, r.into_term())
}
/// `{call_failed, From, Reason}`, as [`Out`] logs it.
pub fn call_failed(from: u64, r: impl IntoTerm) -> Term {
    t!("call_failed", from, r.into_term())
}
