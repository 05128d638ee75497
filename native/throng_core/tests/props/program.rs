//! A generated callback module, described as data, and the one function that
//! answers its callbacks ([`react`]). The engine (through `Script`) and the
//! reference model both call [`react`]: it is the callback module under both,
//! not the thing under test.
//!
//! Event contents are unique, so the checks can follow every event:
//!
//! | event | content |
//! | --- | --- |
//! | cast | `{cast, K, Serial}`; `K` picks the reaction, `Serial` is the input's number |
//! | inserted | `{int, Depth, N, Idx}`: made by action `Idx` of callback number `N` |
//! | time-out | `{to, Tag, N, Idx, SetAt, Ms}`: the action's time-out type, the clock when it was set, and its time (`-1` for `update`) |
//!
//! `N` counts callbacks per session (`-1` for the init actions). Inserted
//! events carry a depth that decreases, and every session has a per-input
//! budget of callbacks ([`FUEL`]) after which every callback answers
//! `keep_state_and_data`: so postpone ping-pong, zero time-outs that re-arm
//! themselves and `repeat_state` enter loops all end.

use std::fmt;

use proptest::prelude::*;
use throng_core::machines::script::Script;
use throng_core::machines::term::{atom, int, tuple, Term};
use throng_core::{Action, CallbackFunction, CallbackResult, EventType, TimeoutTime, TimeoutType};

/// The states: atoms, so both callback modes work.
pub const STATES: [&str; 3] = ["s0", "s1", "s2"];
/// One callback module per session.
pub const MODULES: [&str; 4] = ["m0", "m1", "m2", "m3"];
/// Depth of the events inserted by a cast, a time-out or init.
pub const MAX_DEPTH: i64 = 2;
/// Callbacks per session and input before every callback turns into
/// `keep_state_and_data`.
pub const FUEL: u32 = 40;
/// Reaction classes: three cast contents, internal, four time-out types.
pub const NCLASS: usize = 8;

/// A time-out type: `timeout`, `state_timeout`, `{timeout,a}`, `{timeout,b}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TKind {
    Event,
    State,
    GenA,
    GenB,
}

impl TKind {
    pub fn tag(self) -> &'static str {
        match self {
            TKind::Event => "timeout",
            TKind::State => "state_timeout",
            TKind::GenA => "a",
            TKind::GenB => "b",
        }
    }
    pub fn from_tag(tag: &str) -> Option<TKind> {
        [TKind::Event, TKind::State, TKind::GenA, TKind::GenB].into_iter().find(|k| k.tag() == tag)
    }
    pub fn to_engine(self) -> TimeoutType<Term> {
        match self {
            TKind::Event => TimeoutType::Event,
            TKind::State => TimeoutType::State,
            TKind::GenA => TimeoutType::Generic(atom("a")),
            TKind::GenB => TimeoutType::Generic(atom("b")),
        }
    }
    pub fn from_engine(t: &TimeoutType<Term>) -> Option<TKind> {
        match t {
            TimeoutType::Event => Some(TKind::Event),
            TimeoutType::State => Some(TKind::State),
            TimeoutType::Generic(Term::Atom(name)) => {
                TKind::from_tag(name).filter(|k| matches!(k, TKind::GenA | TKind::GenB))
            }
            TimeoutType::Generic(_) => None,
        }
    }
}

/// When a time-out action fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TTime {
    Zero,
    Ms(u64),
    Infinity,
    Cancel,
    Update,
    /// In a reaction: `{abs,true}` at the callback's clock plus this offset
    /// (`<= 0`: already due, it fires at once through the mailbox).
    AbsIn(i64),
    /// In an action: `{abs,true}` at this time; `Abs(0)` takes the zero
    /// time-out path, as in OTP 25.
    Abs(i64),
}

/// One action of a reaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActSpec {
    /// `postpone`.
    Postpone,
    /// `{postpone,false}`.
    PostponeFalse,
    /// `{hibernate,Bool}`: no effect on order.
    Hibernate(bool),
    /// `{next_event,internal,…}` (dropped at depth 0).
    NextEvent,
    /// A time-out action.
    Timeout(TKind, TTime),
}

/// An event callback's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResSpec {
    KeepStateAndData,
    /// `{keep_state, Data+1}`.
    KeepState,
    /// `{next_state, S, Data+1}`; the same state is a keep.
    NextState(u8),
    RepeatStateAndData,
    /// `{repeat_state, Data+1}`.
    RepeatState,
}

/// An enter call's result (it may not change the state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnterSpec {
    KeepStateAndData,
    KeepState,
    /// `{next_state, Current, Data+1}`.
    SameState,
    RepeatStateAndData,
    RepeatState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub res: ResSpec,
    pub acts: Vec<ActSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterReaction {
    pub res: EnterSpec,
    pub acts: Vec<ActSpec>,
}

/// A callback module.
#[derive(Clone, PartialEq, Eq)]
pub struct Program {
    pub function: CallbackFunction,
    pub state_enter: bool,
    pub init_state: u8,
    pub init_actions: Vec<ActSpec>,
    /// Indexed `state * NCLASS + class`.
    pub events: Vec<Reaction>,
    /// Indexed `state * 2 + (old_state == state)`.
    pub enters: Vec<EnterReaction>,
}

const CLASS_NAMES: [&str; NCLASS] =
    ["cast0", "cast1", "cast2", "internal", "timeout", "state_timeout", "{timeout,a}", "{timeout,b}"];

impl fmt::Debug for Program {
    /// Only what differs from `keep_state_and_data` with no actions, so a
    /// shrunk case reads as the callback module it is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Program {{ {:?}, state_enter: {}", self.function, self.state_enter)?;
        writeln!(f, "    init: {{ok, {}, 0, {:?}}}", STATES[self.init_state as usize], self.init_actions)?;
        for (i, r) in self.events.iter().enumerate() {
            if r.res != ResSpec::KeepStateAndData || !r.acts.is_empty() {
                let (s, c) = (i / NCLASS, i % NCLASS);
                writeln!(f, "    ({}, {}) -> {:?} {:?}", STATES[s], CLASS_NAMES[c], r.res, r.acts)?;
            }
        }
        if self.state_enter {
            for (i, r) in self.enters.iter().enumerate() {
                if r.res != EnterSpec::KeepStateAndData || !r.acts.is_empty() {
                    let (s, same) = (i / 2, i % 2 == 1);
                    let old = if same { "=" } else { "/=" };
                    writeln!(f, "    (enter, old {old} {}) -> {:?} {:?}", STATES[s], r.res, r.acts)?;
                }
            }
        }
        write!(f, "    (everything else) -> keep_state_and_data [] }}")
    }
}

/// Callback counters of one session.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// The next callback's number.
    pub next_n: i64,
    /// Callbacks since the last input.
    pub fuel: u32,
}

/// An event as the trace shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum EvKind {
    Cast,
    Internal,
    Timeout(TKind),
    /// Anything the program never produces (`info`, a call, an unknown name).
    Unexpected(String),
}

impl EvKind {
    pub fn from_engine(t: &EventType<Script>) -> EvKind {
        match t {
            EventType::Cast => EvKind::Cast,
            EventType::Internal => EvKind::Internal,
            EventType::Timeout => EvKind::Timeout(TKind::Event),
            EventType::StateTimeout => EvKind::Timeout(TKind::State),
            EventType::GenericTimeout(name) => match TKind::from_engine(&TimeoutType::Generic(name.clone())) {
                Some(k) => EvKind::Timeout(k),
                None => EvKind::Unexpected(format!("{{timeout,{name:?}}}")),
            },
            other => EvKind::Unexpected(format!("{other:?}")),
        }
    }
}

/// A callback invocation, as the program sees it.
#[derive(Debug, Clone)]
pub enum Call {
    Event { state: u8, kind: EvKind, content: Term, data: i64 },
    Enter { old: u8, state: u8, data: i64 },
}

/// A trace entry: one callback invocation and what it answered.
#[derive(Clone, PartialEq)]
pub enum Entry {
    Event {
        n: i64,
        state: u8,
        kind: EvKind,
        content: Term,
        data: i64,
        now: i64,
        /// The postpone flag of the answer (an enter call of the same
        /// transition may still override it).
        postponed: bool,
        /// The answer is `next_state` to another state.
        changed: bool,
        /// The contents of the events it inserted.
        inserted: Vec<Term>,
    },
    Enter {
        n: i64,
        old: u8,
        state: u8,
        data: i64,
        now: i64,
        /// Its last `{postpone,Bool}`: it overrides the event callback's
        /// (they share one accumulator, §1.5/§1.8).
        postpone: Option<bool>,
    },
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Event { n, state, kind, content, data, now, postponed, changed, inserted } => {
                write!(f, "#{n} t={now} {} {kind:?} {content:?} data={data}", STATES[*state as usize])?;
                if *postponed {
                    write!(f, " postpone")?;
                }
                if *changed {
                    write!(f, " state-change")?;
                }
                if !inserted.is_empty() {
                    write!(f, " inserts {inserted:?}")?;
                }
                Ok(())
            }
            Entry::Enter { n, old, state, data, now, postpone } => {
                write!(f, "#{n} t={now} {} enter old={} data={data}", STATES[*state as usize], STATES[*old as usize])?;
                match postpone {
                    Some(p) => write!(f, " {{postpone,{p}}}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// A callback result, in the program's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Res {
    NextState(u8, i64),
    KeepStateAndData,
    KeepState(i64),
    RepeatStateAndData,
    RepeatState(i64),
}

/// An action, in the program's terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    /// `postpone` (`true`) or `{postpone,false}`.
    Postpone(bool),
    Hibernate(bool),
    /// `{next_event, internal, Content}`.
    NextEvent(Term),
    /// A time-out action; the message is `None` only for `cancel`.
    Timeout(TKind, TTime, Option<Term>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub res: Res,
    pub acts: Vec<Act>,
}

pub fn cast_content(k: u8, serial: usize) -> Term {
    tuple([atom("cast"), int(k as i64), int(serial as i64)])
}

pub fn state_atom(s: u8) -> Term {
    atom(STATES[s as usize])
}

pub fn state_index(t: &Term) -> Option<u8> {
    STATES.iter().position(|s| *t == atom(s)).map(|i| i as u8)
}

/// A time-out message: `{to, Tag, N, Idx, SetAt, Ms}`.
pub struct TimeoutMsg {
    pub kind: TKind,
    pub n: i64,
    pub set_at: i64,
    /// The deadline is `SetAt + Ms`; `None` when it is not known from the
    /// message (`update`, an absolute time in the past, `{abs,true}` 0).
    pub ms: Option<u64>,
}

pub fn parse_timeout_msg(t: &Term) -> Option<TimeoutMsg> {
    match t.as_tuple()? {
        [Term::Atom("to"), Term::Atom(tag), Term::Int(n), Term::Int(_), Term::Int(set_at), Term::Int(ms)] => {
            Some(TimeoutMsg { kind: TKind::from_tag(tag)?, n: *n, set_at: *set_at, ms: u64::try_from(*ms).ok() })
        }
        _ => None,
    }
}

/// The actions of a reaction, made concrete. `depth` is the depth of the
/// events it inserts (`None`: it inserts none).
pub fn build_acts(specs: &[ActSpec], n: i64, now: i64, depth: Option<i64>) -> Vec<Act> {
    let mut acts = Vec::new();
    for (idx, spec) in specs.iter().enumerate() {
        let idx = idx as i64;
        match *spec {
            ActSpec::Postpone => acts.push(Act::Postpone(true)),
            ActSpec::PostponeFalse => acts.push(Act::Postpone(false)),
            ActSpec::Hibernate(b) => acts.push(Act::Hibernate(b)),
            ActSpec::NextEvent => {
                if let Some(d) = depth.filter(|d| *d >= 0) {
                    acts.push(Act::NextEvent(tuple([atom("int"), int(d), int(n), int(idx)])));
                }
            }
            ActSpec::Timeout(kind, time) => {
                let (time, ms) = match time {
                    TTime::Zero => (time, 0),
                    TTime::Ms(ms) => (time, ms as i64),
                    TTime::Update => (time, -1),
                    TTime::Infinity => (time, -2),
                    TTime::AbsIn(offset) => {
                        let at = now + offset;
                        // At exactly 0 (the clock can read 0) it is OTP's zero path;
                        // at or before now it is due at once.
                        (
                            TTime::Abs(at),
                            if at == 0 {
                                -4
                            } else if offset > 0 {
                                offset
                            } else {
                                -3
                            },
                        )
                    }
                    TTime::Abs(at) => (time, if at == 0 { -4 } else { at - now }),
                    TTime::Cancel => {
                        acts.push(Act::Timeout(kind, time, None));
                        continue;
                    }
                };
                let msg = tuple([atom("to"), atom(kind.tag()), int(n), int(idx), int(now), int(ms)]);
                acts.push(Act::Timeout(kind, time, Some(msg)));
            }
        }
    }
    acts
}

fn class_of(kind: &EvKind, content: &Term) -> Option<(usize, i64)> {
    let items = content.as_tuple();
    match kind {
        EvKind::Cast => match items? {
            [Term::Atom("cast"), Term::Int(k), _] if (0..3).contains(k) => Some((*k as usize, MAX_DEPTH)),
            _ => None,
        },
        EvKind::Internal => match items? {
            [Term::Atom("int"), Term::Int(d), _, _] => Some((3, d - 1)),
            _ => None,
        },
        EvKind::Timeout(k) => Some((4 + *k as usize, MAX_DEPTH)),
        EvKind::Unexpected(_) => None,
    }
}

/// The callback module: answers one callback and says what to trace.
pub fn react(prog: &Program, call: &Call, now: i64, c: &mut Counters) -> (Outcome, Entry) {
    let n = c.next_n;
    c.next_n += 1;
    c.fuel += 1;
    let tired = c.fuel > FUEL;
    match call {
        Call::Event { state, kind, content, data } => {
            let class = class_of(kind, content);
            let keep = Reaction { res: ResSpec::KeepStateAndData, acts: vec![] };
            let (r, depth) = match class {
                Some((class, depth)) if !tired => (&prog.events[*state as usize * NCLASS + class], depth),
                _ => (&keep, -1),
            };
            let acts = build_acts(&r.acts, n, now, Some(depth));
            let res = match r.res {
                ResSpec::KeepStateAndData => Res::KeepStateAndData,
                ResSpec::KeepState => Res::KeepState(data + 1),
                ResSpec::NextState(s) => Res::NextState(s, data + 1),
                ResSpec::RepeatStateAndData => Res::RepeatStateAndData,
                ResSpec::RepeatState => Res::RepeatState(data + 1),
            };
            let postponed = acts.iter().fold(false, |p, a| if let Act::Postpone(b) = a { *b } else { p });
            let changed = matches!(res, Res::NextState(s, _) if s != *state);
            let inserted =
                acts.iter().filter_map(|a| if let Act::NextEvent(t) = a { Some(t.clone()) } else { None }).collect();
            let entry = Entry::Event {
                n,
                state: *state,
                kind: kind.clone(),
                content: content.clone(),
                data: *data,
                now,
                postponed,
                changed,
                inserted,
            };
            (Outcome { res, acts }, entry)
        }
        Call::Enter { old, state, data } => {
            let keep = EnterReaction { res: EnterSpec::KeepStateAndData, acts: vec![] };
            let r = if tired { &keep } else { &prog.enters[*state as usize * 2 + usize::from(old == state)] };
            let acts = build_acts(&r.acts, n, now, None);
            let res = match r.res {
                EnterSpec::KeepStateAndData => Res::KeepStateAndData,
                EnterSpec::KeepState => Res::KeepState(data + 1),
                EnterSpec::SameState => Res::NextState(*state, data + 1),
                EnterSpec::RepeatStateAndData => Res::RepeatStateAndData,
                EnterSpec::RepeatState => Res::RepeatState(data + 1),
            };
            let postpone = acts.iter().fold(None, |p, a| if let Act::Postpone(b) = a { Some(*b) } else { p });
            (Outcome { res, acts }, Entry::Enter { n, old: *old, state: *state, data: *data, now, postpone })
        }
    }
}

pub fn act_to_engine(a: &Act) -> Action<Script> {
    match a {
        Act::Postpone(true) => Action::Postpone,
        Act::Postpone(false) => Action::PostponeFlag(false),
        Act::Hibernate(b) => Action::Hibernate(*b),
        Act::NextEvent(c) => Action::next_event(EventType::Internal, c.clone()),
        Act::Timeout(kind, TTime::Cancel, _) => Action::cancel(kind.to_engine()),
        Act::Timeout(kind, time, msg) => {
            let time = match *time {
                TTime::Zero => TimeoutTime::Relative(0),
                TTime::Ms(ms) => TimeoutTime::Relative(ms),
                TTime::Infinity => TimeoutTime::Infinity,
                TTime::Update => TimeoutTime::Update,
                TTime::Abs(at) => TimeoutTime::Absolute(at),
                TTime::AbsIn(_) => unreachable!("build_acts makes it absolute"),
                TTime::Cancel => unreachable!("matched above"),
            };
            Action::timeout(kind.to_engine(), time, msg.clone().expect("only cancel has no message"))
        }
    }
}

pub fn outcome_to_engine(o: &Outcome) -> CallbackResult<Script> {
    let acts = o.acts.iter().map(act_to_engine).collect();
    match o.res {
        Res::NextState(s, d) => CallbackResult::NextState(state_atom(s), int(d), acts),
        Res::KeepStateAndData => CallbackResult::KeepStateAndData(acts),
        Res::KeepState(d) => CallbackResult::KeepState(int(d), acts),
        Res::RepeatStateAndData => CallbackResult::RepeatStateAndData(acts),
        Res::RepeatState(d) => CallbackResult::RepeatState(int(d), acts),
    }
}

// ------------------------------------------------------------- generators

fn arb_tkind() -> impl Strategy<Value = TKind> {
    prop_oneof![Just(TKind::Event), Just(TKind::State), Just(TKind::GenA), Just(TKind::GenB)]
}

/// The wheel's epoch: its slot tables span 2^36 ms; later deadlines, and
/// short ones that straddle an epoch boundary, take its overflow list.
pub const EPOCH_MS: u64 = 1 << 36;

/// Small times mostly (so timers meet), some around the wheel's 64-slot
/// level boundaries, and around its epoch: rarely, or (`far`) often.
fn arb_ttime(far: bool) -> impl Strategy<Value = TTime> {
    prop_oneof![
        3 => Just(TTime::Zero),
        5 => (1u64..=12).prop_map(TTime::Ms),
        1 => prop::sample::select(vec![63u64, 64, 65, 100, 4095, 4096, 4097, 262_144, 300_000]).prop_map(TTime::Ms),
        if far { 4 } else { 1 } => prop::sample::select(vec![EPOCH_MS - 1, EPOCH_MS, EPOCH_MS + 5, 2 * EPOCH_MS + 3])
            .prop_map(TTime::Ms),
        2 => Just(TTime::Infinity),
        1 => Just(TTime::Cancel),
        2 => Just(TTime::Update),
        2 => prop::sample::select(vec![-5i64, -1, 0, 1, 7]).prop_map(TTime::AbsIn),
        1 => Just(TTime::Abs(0)),
    ]
}

/// What a generated program may do with time-outs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timers {
    None,
    Near,
    /// Many deadlines around the wheel's epoch (its overflow list).
    Far,
}

fn arb_timeout(far: bool) -> impl Strategy<Value = ActSpec> {
    (arb_tkind(), arb_ttime(far)).prop_map(|(k, t)| ActSpec::Timeout(k, t))
}

fn arb_act(timers: Timers) -> BoxedStrategy<ActSpec> {
    let base = prop_oneof![
        3 => Just(ActSpec::Postpone),
        1 => Just(ActSpec::PostponeFalse),
        1 => any::<bool>().prop_map(ActSpec::Hibernate),
        4 => Just(ActSpec::NextEvent),
    ];
    match timers {
        Timers::None => base.boxed(),
        _ => prop_oneof![4 => base, 5 => arb_timeout(timers == Timers::Far)].boxed(),
    }
}

fn arb_enter_act(timers: Timers) -> BoxedStrategy<ActSpec> {
    match timers {
        Timers::None => prop_oneof![any::<bool>().prop_map(ActSpec::Hibernate), Just(ActSpec::PostponeFalse)].boxed(),
        _ => prop_oneof![
            1 => any::<bool>().prop_map(ActSpec::Hibernate),
            1 => Just(ActSpec::PostponeFalse),
            6 => arb_timeout(timers == Timers::Far),
        ]
        .boxed(),
    }
}

fn arb_reaction(timers: Timers) -> impl Strategy<Value = Reaction> {
    let res = prop_oneof![
        3 => Just(ResSpec::KeepStateAndData),
        1 => Just(ResSpec::KeepState),
        5 => (0u8..3).prop_map(ResSpec::NextState),
        1 => Just(ResSpec::RepeatStateAndData),
        1 => Just(ResSpec::RepeatState),
    ];
    (res, prop::collection::vec(arb_act(timers), 0..=3)).prop_map(|(res, acts)| Reaction { res, acts })
}

fn arb_enter_reaction(timers: Timers) -> impl Strategy<Value = EnterReaction> {
    let res = prop_oneof![
        4 => Just(EnterSpec::KeepStateAndData),
        1 => Just(EnterSpec::KeepState),
        1 => Just(EnterSpec::SameState),
        1 => Just(EnterSpec::RepeatStateAndData),
        1 => Just(EnterSpec::RepeatState),
    ];
    (res, prop::collection::vec(arb_enter_act(timers), 0..=3)).prop_map(|(res, acts)| EnterReaction { res, acts })
}

/// A callback module.
pub fn arb_program(timers: Timers) -> impl Strategy<Value = Program> {
    (
        any::<bool>(),
        any::<bool>(),
        0u8..3,
        prop::collection::vec(arb_act(timers), 0..=3),
        prop::collection::vec(arb_reaction(timers), 3 * NCLASS),
        prop::collection::vec(arb_enter_reaction(timers), 3 * 2),
    )
        .prop_map(|(sf, state_enter, init_state, init_actions, events, enters)| Program {
            function: if sf { CallbackFunction::StateFunctions } else { CallbackFunction::HandleEventFunction },
            state_enter,
            init_state,
            init_actions,
            events,
            enters,
        })
}
