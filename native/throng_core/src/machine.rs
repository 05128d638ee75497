//! The vocabulary of gen_statem, as Rust types, and the [`Machine`] trait
//! through which a session's logic enters the engine.
//!
//! Every name here is the gen_statem name (OTP 25 `gen_statem` manual and
//! the `statem` design-principles chapter), so the engine can be read
//! against OTP word for word:
//!
//! | gen_statem | here |
//! | --- | --- |
//! | `{call,From}`, `cast`, `info`, `timeout`, `{timeout,Name}`, `state_timeout`, `internal` | [`EventType`] |
//! | `enter` call | [`Invocation::Enter`] |
//! | `{next_state,S,D,A}`, `keep_state`, … `stop_and_reply` | [`CallbackResult`] |
//! | `postpone`, `{reply,F,R}`, `{next_event,T,C}`, time-outs, module changes | [`Action`] |
//! | `Module:init/1` results | [`InitResult`] |
//! | `Module:callback_mode/0` | [`CallbackMode`] |
//! | exit reasons such as `bad_action_from_state_function` | [`ExitReason`] |
//!
//! A machine's callbacks may answer later ([`Step::Pending`]): a BEAM
//! callback module runs in an Erlang executor process and hands its result
//! back with [`Engine::resume`](crate::Engine::resume). Rust machines answer
//! at once with [`Step::Ready`].

use derive_where::derive_where;
use std::fmt;

/// The types a machine works with, and its callbacks.
///
/// A Rust machine picks concrete Rust types; the BEAM glue picks encoded
/// Erlang terms for all of them. The engine never looks inside a value; it
/// only compares states (`=/=` decides a state change), timeout names and
/// modules with `PartialEq`, so `PartialEq` must be exact-term equality
/// (`1` and `1.0` are different states).
pub trait Machine: Send + Sync + 'static {
    /// The machine state (`State`). With `state_functions` an atom.
    type State: Clone + PartialEq + Send + fmt::Debug;
    /// The machine data (`Data`).
    type Data: Clone + Send + fmt::Debug;
    /// Event content: the request of a call, the message of a cast or info,
    /// the content of an internal event or the message of a time-out.
    type Msg: Clone + Send + fmt::Debug;
    /// The name of a generic time-out `{timeout,Name}`.
    type TimeoutName: Clone + PartialEq + Send + fmt::Debug;
    /// A reply to a call.
    type Reply: Clone + Send + fmt::Debug;
    /// An exit reason given by the machine (`{stop,Reason}`), by an engine
    /// user (`stop/3`), or built from an exception by the glue.
    type Reason: Clone + Send + fmt::Debug;
    /// The identity of a callback module (`change_callback_module` etc.).
    type Module: Clone + PartialEq + Send + Sync + fmt::Debug;
    /// The argument of `init/1`.
    type Args: Send;
    /// The address a reply goes to: gen_statem's `From`. Compared to tell
    /// whether the event being handled has been answered.
    type From: Clone + PartialEq + Send + fmt::Debug;
    /// Whoever watches a session through a monitor (a pid on the BEAM).
    type Watcher: Clone + Send + fmt::Debug;
    /// A callback result or action the glue could not read, kept as it was
    /// to be reported in `bad_return_from_state_function` and its kin. Rust
    /// machines, whose results are typed, use `()`.
    type Term: Clone + Send + fmt::Debug;
    /// What the machine itself sends out through [`crate::Output::emit`]:
    /// for a BEAM callback module, the work item for its executor; for a
    /// Rust machine, messages to the pids it was given. `()` when unused.
    type Emit: Send;

    /// `Module:init(Args)`.
    fn init(&self, cx: &mut Cx<'_, Self>, module: &Self::Module, args: Self::Args) -> Step<InitResult<Self>>;

    /// `Module:callback_mode()`. Called after init, and at once after every
    /// change, push or pop of the callback module. Must answer at once (the
    /// BEAM glue caches it per module).
    fn callback_mode(&self, module: &Self::Module) -> Result<CallbackMode, Self::Term>;

    /// A state callback: `Module:StateName(Type, Content, Data)` or
    /// `Module:handle_event(Type, Content, State, Data)`, or the state enter
    /// call with `enter` as the type and the old state as the content.
    fn handle_event(&self, cx: &mut Cx<'_, Self>, call: Invocation<'_, Self>) -> Step<CallbackResult<Self>>;

    /// The exit reason of a callback that panicked (a Rust machine's
    /// exception). The session stops as for any exception.
    fn panic_reason(&self, message: String) -> Self::Reason;

    /// Heap bytes a session's state and data hold besides the session
    /// record, for [`Engine::stats`](crate::Engine::stats)'s memory figure.
    /// The default, 0, suits values that hold no heap.
    fn heap_bytes(&self, _state: &Self::State, _data: &Self::Data) -> usize {
        0
    }

    /// `Module:terminate(Reason, State, Data)`. Its return value is ignored;
    /// [`TerminateResult::Exception`] replaces the exit reason. The default
    /// does nothing, as when `terminate/3` is not exported.
    fn terminate(
        &self,
        _cx: &mut Cx<'_, Self>,
        _module: &Self::Module,
        _reason: &ExitReason<Self>,
        _state: &Self::State,
        _data: &Self::Data,
    ) -> Step<TerminateResult<Self>> {
        Step::Ready(TerminateResult::Ok)
    }
}

/// What a callback gives back: now, or later through `Engine::resume*`.
#[derive(Debug)]
pub enum Step<T> {
    /// The callback has returned.
    Ready(T),
    /// The callback runs elsewhere (a BEAM executor); its result will be
    /// handed to the engine with the matching `resume` function. Until
    /// then the session takes no event; new events queue up.
    Pending,
}

/// The context of one callback.
pub struct Cx<'a, M: Machine + ?Sized> {
    /// The session the callback runs for (`throng:self()`).
    pub session: crate::SessionId,
    /// Where the machine sends what it produces for the outside.
    pub out: &'a mut dyn crate::Output<M>,
    clock: &'a dyn crate::Clock,
}

impl<'a, M: Machine + ?Sized> Cx<'a, M> {
    pub(crate) fn new(
        session: crate::SessionId,
        out: &'a mut dyn crate::Output<M>,
        clock: &'a dyn crate::Clock,
    ) -> Self {
        Cx { session, out, clock }
    }
    /// The engine clock's current reading, in the monotonic millisecond
    /// base (read when asked: most callbacks never need it).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// `Module:callback_mode()` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallbackMode {
    /// `state_functions` or `handle_event_function`.
    pub function: CallbackFunction,
    /// `state_enter` was in the list.
    pub state_enter: bool,
}

impl CallbackMode {
    /// `handle_event_function` without `state_enter`.
    pub const HANDLE_EVENT_FUNCTION: CallbackMode =
        CallbackMode { function: CallbackFunction::HandleEventFunction, state_enter: false };
    /// `state_functions` without `state_enter`.
    pub const STATE_FUNCTIONS: CallbackMode =
        CallbackMode { function: CallbackFunction::StateFunctions, state_enter: false };

    /// The same mode with `state_enter` on.
    pub const fn with_state_enter(self) -> Self {
        CallbackMode { state_enter: true, ..self }
    }
}

/// Which function a state callback goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallbackFunction {
    /// `Module:StateName/3`.
    StateFunctions,
    /// `Module:handle_event/4`.
    HandleEventFunction,
}

/// A state callback invocation.
#[derive_where(Debug)]
pub enum Invocation<'a, M: Machine + ?Sized> {
    /// An event: `(Type, Content, State, Data)`.
    Event {
        /// The callback module (head of the module stack).
        module: &'a M::Module,
        /// Its callback mode.
        mode: CallbackMode,
        /// The event.
        event: &'a Event<M>,
        /// The current state.
        state: &'a M::State,
        /// The current data.
        data: &'a M::Data,
    },
    /// A state enter call: `(enter, OldState, State, Data)`.
    Enter {
        /// The callback module (head of the module stack).
        module: &'a M::Module,
        /// Its callback mode.
        mode: CallbackMode,
        /// The state before the event that caused this transition.
        old_state: &'a M::State,
        /// The new state.
        state: &'a M::State,
        /// The data returned by the previous callback.
        data: &'a M::Data,
    },
}

impl<'a, M: Machine + ?Sized> Invocation<'a, M> {
    /// The callback module.
    pub fn module(&self) -> &'a M::Module {
        match self {
            Invocation::Event { module, .. } | Invocation::Enter { module, .. } => module,
        }
    }
    /// The state the callback is called in.
    pub fn state(&self) -> &'a M::State {
        match self {
            Invocation::Event { state, .. } | Invocation::Enter { state, .. } => state,
        }
    }
    /// The data the callback is called with.
    pub fn data(&self) -> &'a M::Data {
        match self {
            Invocation::Event { data, .. } | Invocation::Enter { data, .. } => data,
        }
    }
}

/// A gen_statem event type.
#[derive_where(Debug, Clone)]
pub enum EventType<M: Machine + ?Sized> {
    /// `{call,From}`.
    Call(M::From),
    /// `cast`.
    Cast,
    /// `info`.
    Info,
    /// `timeout` (the event time-out).
    Timeout,
    /// `{timeout,Name}` (a generic time-out).
    GenericTimeout(M::TimeoutName),
    /// `state_timeout`.
    StateTimeout,
    /// `internal`.
    Internal,
}

/// An event: its type and content.
#[derive_where(Debug, Clone)]
pub struct Event<M: Machine + ?Sized> {
    /// The event type.
    pub kind: EventType<M>,
    /// The event content.
    pub content: M::Msg,
}

impl<M: Machine + ?Sized> Event<M> {
    /// Builds an event.
    pub fn new(kind: EventType<M>, content: M::Msg) -> Self {
        Event { kind, content }
    }
}

/// A time-out type: `timeout`, `state_timeout` or `{timeout,Name}`.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeoutType<N> {
    /// `timeout`: the event time-out.
    Event,
    /// `state_timeout`.
    State,
    /// `{timeout,Name}`.
    Generic(N),
}

/// When a time-out action fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutTime {
    /// `infinity` (and `cancel`): cancel any time-out of the type.
    Infinity,
    /// A relative time in milliseconds. `0` is a zero time-out.
    Relative(u64),
    /// `{abs,true}`: an absolute time in the monotonic millisecond base.
    /// As in OTP 25, `Absolute(0)` takes the zero time-out path.
    Absolute(i64),
    /// `update`: replace the message of a running time-out, or start a zero
    /// time-out when there is none.
    Update,
}

/// A time-out action `{Type, Time, Msg}` / `{Type, Time, Msg, Opts}` /
/// `{Type, cancel}` / `{Type, update, Msg}` / the integer shorthand.
#[derive_where(Debug, Clone)]
pub struct TimeoutAction<M: Machine + ?Sized> {
    /// Which time-out.
    pub kind: TimeoutType<M::TimeoutName>,
    /// When.
    pub time: TimeoutTime,
    /// The event content when it fires; `None` only for `cancel`.
    pub msg: Option<M::Msg>,
    /// How the action was written, kept so an error reason can quote it.
    pub form: TimeoutForm,
}

/// How a time-out action was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutForm {
    /// `{Type, Time, Msg}`.
    Triple,
    /// `{Type, Time, Msg, Opts}`.
    WithOpts,
    /// `{Type, cancel}`.
    Cancel,
    /// A bare integer or `infinity`: `{timeout, Time, Time}`.
    Shorthand,
}

/// A transition action.
#[derive_where(Debug, Clone)]
pub enum Action<M: Machine + ?Sized> {
    /// `postpone` (the bare atom).
    Postpone,
    /// `{postpone, Bool}`.
    PostponeFlag(bool),
    /// `hibernate` or `{hibernate, Bool}`: a memory hint, no effect on order.
    Hibernate(bool),
    /// `{reply, From, Reply}`: sent at once.
    Reply(M::From, M::Reply),
    /// `{next_event, Type, Content}`.
    NextEvent(Event<M>),
    /// Any time-out action.
    Timeout(TimeoutAction<M>),
    /// `{change_callback_module, Module}`.
    ChangeCallbackModule(M::Module),
    /// `{push_callback_module, Module}`.
    PushCallbackModule(M::Module),
    /// `pop_callback_module`.
    PopCallbackModule,
    /// An action the glue could not read: `bad_action_from_state_function`.
    Invalid(M::Term),
    /// A `{next_event, Type, Content}` whose type is not an event type: as
    /// any `next_event`, in an enter call it is
    /// `bad_state_enter_action_from_state_function`, elsewhere
    /// `bad_action_from_state_function` (the term is the whole action).
    InvalidNextEvent(M::Term),
}

impl<M: Machine + ?Sized> Action<M> {
    /// `{Kind, Time, Msg}`.
    pub fn timeout(kind: TimeoutType<M::TimeoutName>, time: TimeoutTime, msg: M::Msg) -> Self {
        Action::Timeout(TimeoutAction { kind, time, msg: Some(msg), form: TimeoutForm::Triple })
    }
    /// `{Kind, cancel}`.
    pub fn cancel(kind: TimeoutType<M::TimeoutName>) -> Self {
        Action::Timeout(TimeoutAction { kind, time: TimeoutTime::Infinity, msg: None, form: TimeoutForm::Cancel })
    }
    /// `{state_timeout, Ms, Msg}`.
    pub fn state_timeout(ms: u64, msg: M::Msg) -> Self {
        Self::timeout(TimeoutType::State, TimeoutTime::Relative(ms), msg)
    }
    /// `{timeout, Ms, Msg}`.
    pub fn event_timeout(ms: u64, msg: M::Msg) -> Self {
        Self::timeout(TimeoutType::Event, TimeoutTime::Relative(ms), msg)
    }
    /// `{{timeout, Name}, Ms, Msg}`.
    pub fn generic_timeout(name: M::TimeoutName, ms: u64, msg: M::Msg) -> Self {
        Self::timeout(TimeoutType::Generic(name), TimeoutTime::Relative(ms), msg)
    }
    /// `{next_event, Kind, Content}`.
    pub fn next_event(kind: EventType<M>, content: M::Msg) -> Self {
        Action::NextEvent(Event { kind, content })
    }
}

/// A reply in `stop_and_reply`'s list.
#[derive_where(Debug, Clone)]
pub enum ReplyAction<M: Machine + ?Sized> {
    /// `{reply, From, Reply}`.
    Reply(M::From, M::Reply),
    /// Anything else: `bad_reply_action_from_state_function`.
    Invalid(M::Term),
}

/// A state callback's result.
#[derive_where(Debug, Clone)]
pub enum CallbackResult<M: Machine + ?Sized> {
    /// `{next_state, State, Data, Actions}`.
    NextState(M::State, M::Data, Vec<Action<M>>),
    /// `{keep_state, Data, Actions}`.
    KeepState(M::Data, Vec<Action<M>>),
    /// `keep_state_and_data`, `{keep_state_and_data, Actions}`.
    KeepStateAndData(Vec<Action<M>>),
    /// `{repeat_state, Data, Actions}`.
    RepeatState(M::Data, Vec<Action<M>>),
    /// `repeat_state_and_data`, `{repeat_state_and_data, Actions}`.
    RepeatStateAndData(Vec<Action<M>>),
    /// `stop` (reason `None`: `normal`), `{stop, Reason}`, `{stop, Reason, Data}`.
    Stop(Option<M::Reason>, Option<M::Data>),
    /// `{stop_and_reply, Reason, Replies}`, `{stop_and_reply, Reason, Replies, Data}`.
    StopAndReply(Option<M::Reason>, Vec<ReplyAction<M>>, Option<M::Data>),
    /// The callback raised: the exit reason as the glue shaped it
    /// (`{Reason, Stack}` for class error). `terminate/3` sees the state
    /// and data from before the event.
    Exception(M::Reason),
    /// A result the glue could not read: `bad_return_from_state_function`.
    Invalid(M::Term),
}

/// `Module:init(Args)` result.
#[derive_where(Debug, Clone)]
pub enum InitResult<M: Machine + ?Sized> {
    /// `{ok, State, Data}` / `{ok, State, Data, Actions}`.
    Ok(M::State, M::Data, Vec<Action<M>>),
    /// `ignore`.
    Ignore,
    /// `{stop, Reason}`.
    Stop(M::Reason),
    /// init raised.
    Exception(M::Reason),
    /// Anything else: `{bad_return_from_init, Result}`.
    Invalid(M::Term),
}

/// `Module:terminate/3` outcome.
#[derive_where(Debug, Clone)]
pub enum TerminateResult<M: Machine + ?Sized> {
    /// Returned (any value) or threw.
    Ok,
    /// Raised: the new exit reason.
    Exception(M::Reason),
}

/// Why a session stopped (or failed to start): gen_statem's exit reasons.
#[derive_where(Debug, Clone)]
pub enum ExitReason<M: Machine + ?Sized> {
    /// `normal` (from the bare `stop`).
    Normal,
    /// A reason given by `{stop, Reason}`, `stop/3` or the glue.
    Reason(M::Reason),
    /// An exception raised by a callback, as the glue shaped it.
    Exception(M::Reason),
    /// `{bad_return_from_init, Result}`.
    BadReturnFromInit(M::Term),
    /// `{bad_return_from_callback_mode, Result}`.
    BadReturnFromCallbackMode(M::Term),
    /// `{bad_return_from_state_function, Result}`.
    BadReturnFromStateFunction(M::Term),
    /// `{bad_state_enter_return_from_state_function, Result}`.
    BadStateEnterReturnFromStateFunction(Box<CallbackResult<M>>),
    /// `{bad_action_from_state_function, Action}`.
    BadActionFromStateFunction(Box<Action<M>>),
    /// `{bad_state_enter_action_from_state_function, Action}`.
    BadStateEnterActionFromStateFunction(Box<Action<M>>),
    /// `{bad_reply_action_from_state_function, Reply}`.
    BadReplyActionFromStateFunction(M::Term),
}

impl<M: Machine + ?Sized> ExitReason<M> {
    /// The reason's name, for logs and tests: `normal`, `reason`,
    /// `exception`, or the gen_statem error atom.
    pub fn name(&self) -> &'static str {
        match self {
            ExitReason::Normal => "normal",
            ExitReason::Reason(_) => "reason",
            ExitReason::Exception(_) => "exception",
            ExitReason::BadReturnFromInit(_) => "bad_return_from_init",
            ExitReason::BadReturnFromCallbackMode(_) => "bad_return_from_callback_mode",
            ExitReason::BadReturnFromStateFunction(_) => "bad_return_from_state_function",
            ExitReason::BadStateEnterReturnFromStateFunction(_) => "bad_state_enter_return_from_state_function",
            ExitReason::BadActionFromStateFunction(_) => "bad_action_from_state_function",
            ExitReason::BadStateEnterActionFromStateFunction(_) => "bad_state_enter_action_from_state_function",
            ExitReason::BadReplyActionFromStateFunction(_) => "bad_reply_action_from_state_function",
        }
    }
}
