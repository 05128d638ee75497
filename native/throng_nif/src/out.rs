//! The engine's [`Output`] on the BEAM: replies, DOWN notices, system
//! replies and work items become messages to pids.
//!
//! Inside a NIF call the messages are sent with the calling process's
//! environment; on the engine's own thread (timers) through an
//! [`OwnedEnv`]. Terms for exit reasons are built here, in one place.

use rustler::env::OwnedEnv;
use rustler::types::tuple::make_tuple;
use rustler::{Encoder, Env, LocalPid, ResourceArc, Term};
use throng_core::{
    Action, CallbackFunction, CallbackResult, Event, EventType, ExitReason, Invocation, MonitorRef, Output,
    ReplyAction, SessionId, Status, SystemReply, TerminateReport, TimeoutTime, TimeoutType,
};

use crate::atoms;
use crate::beam::{module_atom, modules_term, Beam, BeamFrom, Natives, Work};
use crate::etf::{Etf, EtfNif};
use crate::queue::{Item, Ring};
use crate::{Eng, EngineRes};

/// Where messages are built and sent from.
pub enum Target<'a> {
    /// A NIF call: the caller's environment.
    Env(Env<'a>),
    /// The engine thread.
    Owned(&'a mut OwnedEnv),
}

/// The NIF's output.
pub struct Out<'a, 'r> {
    pub target: Target<'a>,
    pub engine: &'r EngineRes,
    /// The engine as a term, for messages that name a session.
    pub handle: Handle<'a, 'r>,
    /// The raw callback result being handed in, for
    /// `bad_state_enter_return_from_state_function` (which quotes it).
    pub raw_result: Option<Term<'a>>,
    /// The terminate report of a session that terminated in this call.
    pub report: Option<Term<'a>>,
    /// The caller runs this session's next callback itself (see
    /// [`crate::inline`]): its work term, instead of a queued item.
    pub inline: Option<(SessionId, Option<Term<'a>>)>,
    /// With `inline`: only an enter call goes to the caller (after a
    /// callback it ran: events other processes sent go to the executor).
    pub inline_enter_only: bool,
}

impl<'a, 'r> Out<'a, 'r> {
    /// Output for a NIF call.
    pub fn nif(env: Env<'a>, engine: &'r Eng<'a>) -> Self {
        Out {
            target: Target::Env(env),
            engine,
            handle: Handle::Term(engine.term),
            raw_result: None,
            report: None,
            inline: None,
            inline_enter_only: false,
        }
    }

    /// Output for the engine thread.
    pub fn owned(owned: &'a mut OwnedEnv, engine: &'r ResourceArc<EngineRes>) -> Self {
        Out {
            target: Target::Owned(owned),
            engine,
            handle: Handle::Arc(engine),
            raw_result: None,
            report: None,
            inline: None,
            inline_enter_only: false,
        }
    }

    fn send<F>(&mut self, pid: &LocalPid, build: F)
    where
        F: for<'e> FnOnce(Env<'e>, Option<Term<'e>>, Term<'e>) -> Term<'e>,
    {
        match (&mut self.target, self.handle) {
            (Target::Env(env), Handle::Term(engine)) => {
                let msg = build(*env, self.raw_result, engine);
                // A dead receiver is not an error (as `Pid ! Msg`).
                let _ = env.send(pid, msg);
            }
            (Target::Owned(owned), Handle::Arc(engine)) => {
                let _ = owned.send_and_clear(pid, |env| build(env, None, engine.encode(env)));
            }
            // Out::nif and Out::owned pair them; a mix would be a bug.
            _ => debug_assert!(false, "target and engine handle do not match"),
        }
    }
}

impl Out<'_, '_> {
    /// Tells an idle executor that work waits: `'$throng_ring'`.
    fn ring(&mut self, ring: Ring) {
        if let Ring(Some(pid)) = ring {
            self.send(&pid, |env, _, _| atoms::throng_ring().encode(env));
        }
    }
}

/// The engine, to name it in messages: the NIF argument's term, or (on the
/// engine thread) the resource.
#[derive(Clone, Copy)]
pub enum Handle<'a, 'r> {
    Term(Term<'a>),
    Arc(&'r ResourceArc<EngineRes>),
}

/// `{throng, Engine, Sid}`: a session as Erlang sees it.
pub fn session_term<'e>(env: Env<'e>, engine: Term<'e>, id: SessionId) -> Term<'e> {
    (atoms::throng(), engine, id.to_u64()).encode(env)
}

fn tag2<'e>(env: Env<'e>, a: Term<'e>, b: Term<'e>) -> Term<'e> {
    make_tuple(env, &[a, b])
}

/// Which form of an exit reason.
#[derive(Clone, Copy, PartialEq)]
pub enum Form {
    /// What `terminate/3` gets and reports show: the exception's reason,
    /// `{bad_return_from_state_function, R}`, ...
    Raw,
    /// What the session exits with (DOWN notices, callers): for errors the
    /// class-error shape `{Reason, Stack}` (engine-detected errors carry an
    /// empty stack).
    Exit,
}

/// An exit reason as gen_statem gives it. An exception's reason is stored
/// as `{Reason, ExitReason}` (see `session_raise`).
pub fn reason_term<'e>(env: Env<'e>, r: &ExitReason<Beam>, raw: Option<Term<'e>>, form: Form) -> Term<'e> {
    let wrap = |a: rustler::Atom, t: Term<'e>| {
        let reason = tag2(env, a.encode(env), t);
        match form {
            Form::Raw => reason,
            Form::Exit => tag2(env, reason, Vec::<Term<'e>>::new().encode(env)),
        }
    };
    match r {
        ExitReason::Normal => atoms::normal().encode(env),
        ExitReason::Reason(t) => t.decode(env),
        ExitReason::Exception(t) => {
            let pair = t.decode(env);
            match (rustler::types::tuple::get_tuple(pair), form) {
                (Ok(items), Form::Raw) if items.len() == 2 => items[0],
                (Ok(items), Form::Exit) if items.len() == 2 => items[1],
                _ => pair,
            }
        }
        ExitReason::BadReturnFromInit(t) => wrap(atoms::bad_return_from_init(), t.decode(env)),
        ExitReason::BadReturnFromCallbackMode(t) => wrap(atoms::bad_return_from_callback_mode(), t.decode(env)),
        ExitReason::BadReturnFromStateFunction(t) => wrap(atoms::bad_return_from_state_function(), t.decode(env)),
        ExitReason::BadStateEnterReturnFromStateFunction(res) => {
            let t = raw.unwrap_or_else(|| result_term(env, res));
            wrap(atoms::bad_state_enter_return_from_state_function(), t)
        }
        ExitReason::BadActionFromStateFunction(a) => wrap(atoms::bad_action_from_state_function(), action_term(env, a)),
        ExitReason::BadStateEnterActionFromStateFunction(a) => {
            wrap(atoms::bad_state_enter_action_from_state_function(), action_term(env, a))
        }
        ExitReason::BadReplyActionFromStateFunction(t) => {
            wrap(atoms::bad_reply_action_from_state_function(), t.decode(env))
        }
    }
}

fn from_term<'e>(env: Env<'e>, f: &BeamFrom) -> Term<'e> {
    tag2(env, f.pid.encode(env), f.tag.decode(env))
}

/// An event type as gen_statem writes it.
pub fn event_type_term<'e>(env: Env<'e>, t: &EventType<Beam>) -> Term<'e> {
    match t {
        EventType::Call(f) => tag2(env, atoms::call().encode(env), from_term(env, f)),
        EventType::Cast => atoms::cast().encode(env),
        EventType::Info => atoms::info().encode(env),
        EventType::Timeout => atoms::timeout().encode(env),
        EventType::GenericTimeout(n) => tag2(env, atoms::timeout().encode(env), n.decode(env)),
        EventType::StateTimeout => atoms::state_timeout().encode(env),
        EventType::Internal => atoms::internal().encode(env),
    }
}

fn timeout_type_term<'e>(env: Env<'e>, t: &TimeoutType<Etf>) -> Term<'e> {
    match t {
        TimeoutType::Event => atoms::timeout().encode(env),
        TimeoutType::State => atoms::state_timeout().encode(env),
        TimeoutType::Generic(n) => tag2(env, atoms::timeout().encode(env), n.decode(env)),
    }
}

fn event_term<'e>(env: Env<'e>, e: &Event<Beam>) -> Term<'e> {
    tag2(env, event_type_term(env, &e.kind), e.content.decode(env))
}

/// An action written back as the callback wrote it (for error reasons; the
/// engine only reports actions whose form is unique).
fn action_term<'e>(env: Env<'e>, a: &Action<Beam>) -> Term<'e> {
    match a {
        Action::Postpone => atoms::postpone().encode(env),
        Action::PostponeFlag(b) => tag2(env, atoms::postpone().encode(env), b.encode(env)),
        Action::Hibernate(b) => tag2(env, atoms::hibernate().encode(env), b.encode(env)),
        Action::Reply(f, r) => make_tuple(env, &[atoms::reply().encode(env), from_term(env, f), r.decode(env)]),
        Action::NextEvent(e) => {
            make_tuple(env, &[atoms::next_event().encode(env), event_type_term(env, &e.kind), e.content.decode(env)])
        }
        Action::Timeout(t) => {
            let ty = timeout_type_term(env, &t.kind);
            let msg = t.msg.as_ref().map_or(atoms::undefined().encode(env), |m| m.decode(env));
            match t.time {
                TimeoutTime::Infinity if t.msg.is_none() => tag2(env, ty, atoms::cancel().encode(env)),
                TimeoutTime::Infinity => make_tuple(env, &[ty, atoms::infinity().encode(env), msg]),
                TimeoutTime::Relative(ms) => make_tuple(env, &[ty, ms.encode(env), msg]),
                TimeoutTime::Absolute(at) => {
                    let opts = vec![tag2(env, atoms::abs().encode(env), true.encode(env))];
                    make_tuple(env, &[ty, at.encode(env), msg, opts.encode(env)])
                }
                TimeoutTime::Update => make_tuple(env, &[ty, atoms::update().encode(env), msg]),
            }
        }
        Action::ChangeCallbackModule(m) => {
            tag2(env, atoms::change_callback_module().encode(env), module_atom(m).encode(env))
        }
        Action::PushCallbackModule(m) => {
            tag2(env, atoms::push_callback_module().encode(env), module_atom(m).encode(env))
        }
        Action::PopCallbackModule => atoms::pop_callback_module().encode(env),
        Action::Invalid(t) | Action::InvalidNextEvent(t) => t.decode(env),
    }
}

fn actions_term<'e>(env: Env<'e>, actions: &[Action<Beam>]) -> Term<'e> {
    actions.iter().map(|a| action_term(env, a)).collect::<Vec<_>>().encode(env)
}

/// A callback result written back (used only when the raw one is not at
/// hand).
fn result_term<'e>(env: Env<'e>, r: &CallbackResult<Beam>) -> Term<'e> {
    let a = |x: rustler::Atom| x.encode(env);
    match r {
        CallbackResult::NextState(s, d, acts) => {
            make_tuple(env, &[a(atoms::next_state()), s.decode(env), d.decode(env), actions_term(env, acts)])
        }
        CallbackResult::KeepState(d, acts) => {
            make_tuple(env, &[a(atoms::keep_state()), d.decode(env), actions_term(env, acts)])
        }
        CallbackResult::KeepStateAndData(acts) => tag2(env, a(atoms::keep_state_and_data()), actions_term(env, acts)),
        CallbackResult::RepeatState(d, acts) => {
            make_tuple(env, &[a(atoms::repeat_state()), d.decode(env), actions_term(env, acts)])
        }
        CallbackResult::RepeatStateAndData(acts) => {
            tag2(env, a(atoms::repeat_state_and_data()), actions_term(env, acts))
        }
        CallbackResult::Stop(r, _) => {
            tag2(env, a(atoms::stop()), r.as_ref().map_or(a(atoms::normal()), |r| r.decode(env)))
        }
        CallbackResult::StopAndReply(r, reps, _) => {
            let reps: Vec<Term<'e>> = reps
                .iter()
                .map(|x| match x {
                    ReplyAction::Reply(f, v) => make_tuple(env, &[a(atoms::reply()), from_term(env, f), v.decode(env)]),
                    ReplyAction::Invalid(t) => t.decode(env),
                })
                .collect();
            make_tuple(
                env,
                &[
                    a(atoms::stop_and_reply()),
                    r.as_ref().map_or(a(atoms::normal()), |r| r.decode(env)),
                    reps.encode(env),
                ],
            )
        }
        CallbackResult::Exception(t) | CallbackResult::Invalid(t) => t.decode(env),
    }
}

pub(crate) fn mode_term<'e>(env: Env<'e>, f: CallbackFunction) -> Term<'e> {
    match f {
        CallbackFunction::StateFunctions => atoms::state_functions().encode(env),
        CallbackFunction::HandleEventFunction => atoms::handle_event_function().encode(env),
    }
}

/// `get_status`'s map.
pub fn status_term<'e>(env: Env<'e>, natives: &Natives, s: &Status<Beam>) -> Term<'e> {
    let timeouts: Vec<Term<'e>> =
        s.timeouts.iter().map(|(t, m)| tag2(env, timeout_type_term(env, t), m.decode(env))).collect();
    let mut mode = vec![mode_term(env, s.mode.function)];
    if s.mode.state_enter {
        mode.push(atoms::state_enter().encode(env));
    }
    let pairs: Vec<(Term<'e>, Term<'e>)> = vec![
        (atoms::state().encode(env), s.state.decode(env)),
        (atoms::data().encode(env), s.data.decode(env)),
        (atoms::queue_len().encode(env), s.queue_len.encode(env)),
        (atoms::postponed_len().encode(env), s.postponed_len.encode(env)),
        (atoms::timeouts().encode(env), timeouts.encode(env)),
        (atoms::modules().encode(env), modules_term(env, natives, &s.modules)),
        (atoms::callback_mode().encode(env), mode.encode(env)),
        (atoms::suspended().encode(env), s.suspended.encode(env)),
    ];
    Term::map_from_pairs(env, &pairs).unwrap_or_else(|_| atoms::error().encode(env))
}

fn report_term<'e>(env: Env<'e>, natives: &Natives, r: &TerminateReport<'_, Beam>, raw: Option<Term<'e>>) -> Term<'e> {
    let mut queue: Vec<Term<'e>> = r.current.iter().map(|e| event_term(env, e)).collect();
    queue.extend(r.queue.iter().map(|e| event_term(env, e)));
    let postponed: Vec<Term<'e>> = r.postponed.iter().map(|e| event_term(env, e)).collect();
    let timeouts: Vec<Term<'e>> =
        r.timeouts.iter().map(|(t, m)| tag2(env, timeout_type_term(env, t), m.decode(env))).collect();
    let mut mode = vec![mode_term(env, r.mode.function)];
    if r.mode.state_enter {
        mode.push(atoms::state_enter().encode(env));
    }
    let pairs: Vec<(Term<'e>, Term<'e>)> = vec![
        (atoms::reason().encode(env), reason_term(env, r.reason, raw, Form::Raw)),
        (atoms::state().encode(env), r.state.decode(env)),
        (atoms::data().encode(env), r.data.decode(env)),
        (atoms::queue().encode(env), queue.encode(env)),
        (atoms::postponed().encode(env), postponed.encode(env)),
        (atoms::timeouts().encode(env), timeouts.encode(env)),
        (atoms::modules().encode(env), modules_term(env, natives, r.modules)),
        (atoms::callback_mode().encode(env), mode.encode(env)),
    ];
    Term::map_from_pairs(env, &pairs).unwrap_or_else(|_| atoms::error().encode(env))
}

/// A state callback to run, as the executor reads it: `{event, Module,
/// Mode, Type, Content, State, Data}` or `{enter, Module, Mode, OldState,
/// State, Data}`.
pub(crate) fn invocation_term<'e>(env: Env<'e>, call: &Invocation<'_, Beam>) -> Term<'e> {
    match call {
        Invocation::Event { module, mode, event, state, data } => event_work(
            env,
            module_atom(module),
            mode.function,
            event_type_term(env, &event.kind),
            [event.content.decode(env), state.decode(env), data.decode(env)],
        ),
        Invocation::Enter { module, mode, old_state, state, data } => enter_work(
            env,
            module_atom(module),
            mode.function,
            [old_state.decode(env), state.decode(env), data.decode(env)],
        ),
    }
}

/// `{event, Module, Mode, Type, Content, State, Data}`; the last argument is
/// `[Content, State, Data]`.
pub(crate) fn event_work<'e>(
    env: Env<'e>,
    module: rustler::Atom,
    mode: CallbackFunction,
    ty: Term<'e>,
    [content, state, data]: [Term<'e>; 3],
) -> Term<'e> {
    make_tuple(env, &[atoms::event().encode(env), module.encode(env), mode_term(env, mode), ty, content, state, data])
}

/// `{enter, Module, Mode, OldState, State, Data}`; the last argument is `[OldState,
/// State, Data]`.
pub(crate) fn enter_work<'e>(
    env: Env<'e>,
    module: rustler::Atom,
    mode: CallbackFunction,
    [old, state, data]: [Term<'e>; 3],
) -> Term<'e> {
    make_tuple(env, &[atoms::enter().encode(env), module.encode(env), mode_term(env, mode), old, state, data])
}

/// An `init/1` or `terminate/3` call, as the executor reads it. `raw`: the
/// raw result a terminate reason quotes; `raised`: `{Class, Reason, Stack}`
/// of the exception that stopped the session, for its error report
/// (`undefined` if none was kept).
pub(crate) fn work_term<'e>(env: Env<'e>, w: &Work, raw: Option<Term<'e>>, raised: Option<Term<'e>>) -> Term<'e> {
    let a = |x: rustler::Atom| x.encode(env);
    match w {
        Work::Init { module, args, from } => {
            make_tuple(env, &[a(atoms::init()), module.encode(env), args.decode(env), from_term(env, from)])
        }
        // Sent at once (Output::emit), never queued for an executor.
        Work::Send { .. } => a(atoms::undefined()),
        Work::Terminate { module, reason, state, data } => make_tuple(
            env,
            &[
                a(atoms::terminate()),
                module.encode(env),
                reason_term(env, reason, raw, Form::Raw),
                state.decode(env),
                data.decode(env),
                raised.unwrap_or_else(|| a(atoms::undefined())),
            ],
        ),
    }
}

impl Output<Beam> for Out<'_, '_> {
    fn reply(&mut self, from: BeamFrom, reply: Etf) {
        if self.engine.drop_reply(&from) {
            return;
        }
        self.send(&from.pid, |env, _, _| tag2(env, from.tag.decode(env), reply.decode(env)));
    }

    fn call_failed(&mut self, _session: SessionId, _from: BeamFrom, _reason: &ExitReason<Beam>) {
        // Callers monitor the session for the length of the call (as
        // gen_statem's callers monitor the server), so the DOWN notice tells
        // them; nothing more is sent.
    }

    fn down(&mut self, watcher: BeamFrom, _mref: MonitorRef, session: SessionId, reason: &ExitReason<Beam>) {
        self.send(&watcher.pid, |env, raw, engine| {
            make_tuple(
                env,
                &[
                    atoms::down().encode(env),
                    watcher.tag.decode(env),
                    atoms::throng().encode(env),
                    session_term(env, engine, session),
                    reason_term(env, reason, raw, Form::Exit),
                ],
            )
        });
    }

    fn system_reply(&mut self, from: BeamFrom, reply: SystemReply<Beam>) {
        let natives = self.engine.engine.machine().natives();
        self.send(&from.pid, |env, raw, _| {
            let body = match &reply {
                SystemReply::Ok => atoms::ok().encode(env),
                SystemReply::State(s, d) => tag2(env, s.decode(env), d.decode(env)),
                SystemReply::Status(st) => status_term(env, natives, st),
                SystemReply::Stopped(r) => {
                    tag2(env, atoms::stopped().encode(env), reason_term(env, r, raw, Form::Exit))
                }
            };
            tag2(env, from.tag.decode(env), body)
        });
    }

    fn terminated(&mut self, report: &TerminateReport<'_, Beam>) {
        if let Target::Env(env) = self.target {
            self.report = Some(report_term(env, self.engine.engine.machine().natives(), report, self.raw_result));
        }
    }

    fn dispatch(&mut self, session: SessionId, call: &Invocation<'_, Beam>) {
        let enter = matches!(call, Invocation::Enter { .. });
        if let (Some((for_session, work @ None)), Target::Env(env)) = (&mut self.inline, &self.target) {
            if *for_session == session && (enter || !self.inline_enter_only) {
                *work = Some(invocation_term(*env, call));
                return;
            }
        }
        let ring = self.engine.push_work(session, Item::invocation(session.to_u64(), call));
        self.ring(ring);
    }

    fn emit(&mut self, session: SessionId, work: Work) {
        if let Work::Send { to, msg } = work {
            // A native machine's `To ! Msg`: sent at once, as in a callback.
            let pid = match &mut self.target {
                Target::Env(env) => to.decode(*env).decode::<LocalPid>().ok(),
                Target::Owned(owned) => owned.run(|env| to.decode(env).decode::<LocalPid>().ok()),
            };
            if let Some(pid) = pid {
                self.send(&pid, |env, _, _| msg.decode(env));
            }
            return;
        }
        if let (Work::Terminate { reason: ExitReason::BadStateEnterReturnFromStateFunction(_), .. }, Some(raw)) =
            (&work, self.raw_result)
        {
            // The terminate work item and the DOWN notices are made later,
            // in other NIF calls: keep the result as the callback returned
            // it.
            self.engine.keep_raw_result(session, Etf::encode(raw));
        }
        let ring = self.engine.push_work(session, Item::work(session.to_u64(), work));
        self.ring(ring);
    }

    fn armed(&mut self, deadline_ms: i64) {
        self.engine.armed(deadline_ms);
    }

    fn wake(&mut self) {
        self.engine.wake();
    }
}
