//! The code lock of OTP's `gen_statem` design-principles chapter
//! (`system/doc/design_principles/statem.xml`, "gen_statem Behavior"), as a
//! typed [`Machine`].
//!
//! One machine type, [`CodeLock`], runs every version of `code_lock.erl`
//! the chapter writes: each version is a callback module, a
//! [`CodeLockVariant`], so a session can switch between them with
//! `change_callback_module` as an Erlang node would load a new version.
//! Every Erlang function of the chapter has a Rust function of the same
//! name below (`init`, `locked`, `open`, `handle_common`, `handle_event`,
//! `terminate`), so the port can be read against the chapter clause by
//! clause.
//!
//! | variant | chapter section | callback mode | a button in `open` |
//! | --- | --- | --- | --- |
//! | [`EventTimeout`](CodeLockVariant::EventTimeout) | "Example", "Event Time-Outs" (the OTP 19 text) | `state_functions` | locks the door; any event cancels the event time-out `10000` |
//! | [`StateFunctions`](CodeLockVariant::StateFunctions) | "Example" (OTP 20 text), "All State Events" | `state_functions` | ignored; `{state_timeout,10000,lock}` keeps running |
//! | [`HandleEventFunction`](CodeLockVariant::HandleEventFunction) | "One Event Handler" | `handle_event_function` | ignored, as above |
//! | [`StateEnter`](CodeLockVariant::StateEnter) | "State Enter Actions", "Example Revisited: state_functions" | `[state_functions, state_enter]` | postponed to `locked` |
//! | [`HandleEventStateEnter`](CodeLockVariant::HandleEventStateEnter) | "Example Revisited: handle_event_function" | `[handle_event_function, state_enter]` | postponed to `locked` |
//! | [`ComplexState`](CodeLockVariant::ComplexState) | "Complex State", "Hibernation" | `[handle_event_function, state_enter]` | the lock button locks at once; others postponed |
//!
//! Every version answers the `code_length` call in every state through a
//! common handler ("All State Events"). The door's side effects,
//! `do_lock()` and `do_unlock()`, are recorded as [`Effect`]s in a log the
//! machine owns ([`CodeLock::effects_of`]); `terminate/3` locks the door if
//! it is not `locked`, as in the chapter.
//!
//! # Sources and the differences from them
//!
//! * The seed copy of the chapter (`seeds/otp-gen_statem-design-principles`)
//!   is the OTP 19 text: `init/1` returns `{CallbackMode,State,Data}`, entry
//!   actions are `{next_event,internal,enter}` events and the door is
//!   re-locked by an `erlang:start_timer/3` message. OTP 20 rewrote those
//!   parts with `callback_mode/0`, state enter calls and `state_timeout`;
//!   the later versions here follow that text (still with `remaining`, the
//!   list of digits left to press). `EventTimeout` keeps the OTP 19 first
//!   example, whose event time-out `10000` has the time as its content
//!   ([`LockMsg::Time`]).
//! * A wrong digit restarts the sequence; it does not count as the first
//!   digit of a new try (`1,1,2,3` does not open code `1,2,3`).
//! * `format_status/2` ("Filter the State") has no engine hook and is not
//!   ported. `process_flag(trap_exit, true)` has no meaning here.
//! * Additions, not in the chapter: the call
//!   [`LockMsg::ChangeCallbackModule`] (answered `ok` by the common handler
//!   of every version, then `{change_callback_module, Variant}`), and an
//!   empty code, which the chapter never considers, stops `init/1` with
//!   [`CodeLockReason::EmptyCode`].
//! * An event no clause matches crashes the session as in Erlang, with
//!   [`CodeLockReason::FunctionClause`] or, where the chapter's `case` has
//!   no branch, [`CodeLockReason::CaseClause`]. A `state_functions` version
//!   given a non-atom state (after a module change from `ComplexState`)
//!   reports `FunctionClause` too, where OTP would fail to apply the
//!   function.
//!
//! ```
//! use throng_core::machines::code_lock::{CodeLock, CodeLockArgs, CodeLockVariant, Effect, LockState};
//! use throng_core::{Collect, Config, Engine, ManualClock, Started};
//!
//! let engine = Engine::new(CodeLock::new(), Config::default(), ManualClock::new(0)).unwrap();
//! let mut out = Collect::default();
//! let args = CodeLockArgs::Code(vec![1, 2, 3]);
//! let Ok(Started::Ok(door)) = engine.start(CodeLockVariant::StateEnter, args, &mut out) else { panic!() };
//! for digit in [1, 2, 3] {
//!     CodeLock::button(&engine, door, 0, digit, &mut out).unwrap();
//! }
//! assert_eq!(engine.get_state(door).unwrap().0, LockState::Open);
//! assert_eq!(engine.machine().effects_of(door), [Effect::Lock, Effect::Unlock]);
//! ```

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::machine::{
    Action, CallbackMode, CallbackResult, Cx, EventType, ExitReason, InitResult, Invocation, Machine, Step,
    TerminateResult, TimeoutAction, TimeoutForm, TimeoutTime, TimeoutType,
};
use crate::output::Output;
use crate::{Engine, SessionId};

/// A button of the lock: a digit of the code (or any button, for the lock
/// button of the complex-state version).
pub type Digit = u8;

/// How long the door stays open: the chapter's `10000` milliseconds.
pub const OPEN_TIME_MS: u64 = 10_000;

/// The versions of `code_lock.erl` in the chapter: the lock's callback
/// modules. See the [module documentation](self) for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeLockVariant {
    /// The first example as OTP 19 wrote it: `state_functions`, an event
    /// time-out `10000` in `open`, any button in `open` locks the door.
    EventTimeout,
    /// The first example as OTP 20 wrote it: `state_functions`,
    /// `{state_timeout,10000,lock}`, buttons in `open` ignored; with the
    /// common handler of "All State Events".
    StateFunctions,
    /// "One Event Handler": the same behaviour in one `handle_event/4`.
    HandleEventFunction,
    /// "Example Revisited" in `[state_functions, state_enter]`: the door is
    /// locked and unlocked in the state enter calls, buttons in `open` are
    /// postponed.
    StateEnter,
    /// "Example Revisited" in `[handle_event_function, state_enter]`.
    HandleEventStateEnter,
    /// "Complex State": the state is `{StateName, LockButton}`, buttons are
    /// calls, `set_lock_button` changes the lock button; hibernates on
    /// entering `{open, _}` ("Hibernation").
    ComplexState,
}

impl CodeLockVariant {
    /// Every version, in chapter order.
    pub const ALL: [CodeLockVariant; 6] = [
        CodeLockVariant::EventTimeout,
        CodeLockVariant::StateFunctions,
        CodeLockVariant::HandleEventFunction,
        CodeLockVariant::StateEnter,
        CodeLockVariant::HandleEventStateEnter,
        CodeLockVariant::ComplexState,
    ];

    /// The version's `callback_mode/0`.
    pub const fn callback_mode(self) -> CallbackMode {
        match self {
            CodeLockVariant::EventTimeout | CodeLockVariant::StateFunctions => CallbackMode::STATE_FUNCTIONS,
            CodeLockVariant::HandleEventFunction => CallbackMode::HANDLE_EVENT_FUNCTION,
            CodeLockVariant::StateEnter => CallbackMode::STATE_FUNCTIONS.with_state_enter(),
            CodeLockVariant::HandleEventStateEnter | CodeLockVariant::ComplexState => {
                CallbackMode::HANDLE_EVENT_FUNCTION.with_state_enter()
            }
        }
    }

    /// Whether `button/1` is a call (`ComplexState`) rather than a cast.
    pub const fn button_is_call(self) -> bool {
        matches!(self, CodeLockVariant::ComplexState)
    }
}

/// A state name: `locked` or `open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StateName {
    /// `locked`.
    Locked,
    /// `open`.
    Open,
}

/// The lock's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockState {
    /// `locked`.
    Locked,
    /// `open`.
    Open,
    /// `{StateName, LockButton}` (the complex-state version).
    Complex(StateName, Digit),
}

/// The lock's data: `#{code => Code, remaining => Remaining}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockData {
    /// `code`: the correct button sequence (shared, never changes).
    pub code: Arc<[Digit]>,
    /// How many digits of `code` are still to be pressed: `remaining` is
    /// the last `remaining_len` digits of `code` (see [`LockData::remaining`]).
    pub remaining_len: usize,
}

impl LockData {
    /// `#{code => Code, remaining => Code}`.
    pub fn new(code: &[Digit]) -> Self {
        LockData { code: code.into(), remaining_len: code.len() }
    }

    /// `remaining`: the rest of the code still to be pressed.
    pub fn remaining(&self) -> &[Digit] {
        &self.code[self.code.len() - self.remaining_len..]
    }

    /// `Data#{remaining := Code}`.
    fn reset(&self) -> Self {
        LockData { code: self.code.clone(), remaining_len: self.code.len() }
    }

    /// `Data#{remaining := Rest}` where `Remaining = [_|Rest]`.
    fn advance(&self) -> Self {
        LockData { code: self.code.clone(), remaining_len: self.remaining_len - 1 }
    }
}

/// Event contents: the requests, casts and time-out messages of the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockMsg {
    /// `{button, Digit}`: a cast, or a call in the complex-state version.
    Button(Digit),
    /// `code_length`: a call answered with the length of the code.
    CodeLength,
    /// `{set_lock_button, LockButton}`: a call answered with the old lock
    /// button (complex-state version).
    SetLockButton(Digit),
    /// `lock`: the content of the `{state_timeout, 10000, lock}`.
    Lock,
    /// The content of an event time-out given as a bare integer (`10000`):
    /// the time itself.
    Time(u64),
    /// Not in the chapter: a call answered `ok`, then
    /// `{change_callback_module, Variant}` (an upgrade to another version).
    ChangeCallbackModule(CodeLockVariant),
}

/// Replies to the lock's calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockReply {
    /// `ok`: a button was taken (complex-state version), or the callback
    /// module was changed.
    Ok,
    /// `locked`: the lock button locked the door (complex-state version).
    Locked,
    /// `length(Code)`: the answer to `code_length`.
    CodeLength(usize),
    /// The old lock button: the answer to `set_lock_button`.
    LockButton(Digit),
}

/// The argument of `init/1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeLockArgs {
    /// `Code`: the argument of every version but the complex-state one.
    Code(Vec<Digit>),
    /// `{Code, LockButton}`: the complex-state version's argument.
    CodeAndLockButton(Vec<Digit>, Digit),
}

/// Why a lock stopped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CodeLockReason {
    /// `shutdown`: what a supervisor stops it with.
    Shutdown,
    /// `function_clause`: no clause of the callback matched.
    FunctionClause,
    /// `{case_clause, _}`: the complex-state version's `case` of
    /// `{EventType, EventContent}` has no branch for the event.
    CaseClause,
    /// `init/1` was given an empty code (not in the chapter).
    EmptyCode,
    /// A callback panicked (an engine or port bug: the lock never panics).
    Panic(String),
}

/// A side effect on the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// `do_lock()`.
    Lock,
    /// `do_unlock()`.
    Unlock,
}

/// The code lock machine. It owns the log of the door's side effects,
/// shared by its clones. The log is one mutex for all sessions, held only
/// for a push: fine for tests and examples, not a pattern for a hot path
/// (sessions on different shards contend for it).
#[derive(Debug, Clone, Default)]
pub struct CodeLock {
    effects: Arc<Mutex<Vec<(SessionId, Effect)>>>,
}

impl CodeLock {
    /// A machine with an empty effect log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every side effect so far, oldest first, with its session.
    pub fn effects(&self) -> Vec<(SessionId, Effect)> {
        self.log().clone()
    }

    /// The side effects of one session, oldest first.
    pub fn effects_of(&self, session: SessionId) -> Vec<Effect> {
        self.log().iter().filter(|(s, _)| *s == session).map(|(_, e)| *e).collect()
    }

    /// Takes the log.
    pub fn take_effects(&self) -> Vec<(SessionId, Effect)> {
        std::mem::take(&mut *self.log())
    }

    /// The client function `button(Digit)`: a cast of `{button, Digit}`,
    /// or, when the session runs the complex-state version, a call from
    /// `from` (answered `ok` or `locked`). `from` is unused for a cast.
    pub fn button(
        engine: &Engine<CodeLock>,
        session: SessionId,
        from: u64,
        digit: Digit,
        out: &mut dyn Output<CodeLock>,
    ) -> Result<(), Error> {
        if engine.status(session)?.modules[0].button_is_call() {
            engine.call(session, from, LockMsg::Button(digit), out)
        } else {
            engine.cast(session, LockMsg::Button(digit), out)
        }
    }

    /// The client function `code_length()`: a call from `from`.
    pub fn code_length(
        engine: &Engine<CodeLock>,
        session: SessionId,
        from: u64,
        out: &mut dyn Output<CodeLock>,
    ) -> Result<(), Error> {
        engine.call(session, from, LockMsg::CodeLength, out)
    }

    /// The client function `set_lock_button(LockButton)`: a call from
    /// `from`, answered with the old lock button.
    pub fn set_lock_button(
        engine: &Engine<CodeLock>,
        session: SessionId,
        from: u64,
        lock_button: Digit,
        out: &mut dyn Output<CodeLock>,
    ) -> Result<(), Error> {
        engine.call(session, from, LockMsg::SetLockButton(lock_button), out)
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Vec<(SessionId, Effect)>> {
        // Appending never panics, so the log cannot be left half-written.
        self.effects.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn door(&self, session: SessionId) -> Door<'_> {
        Door { lock: self, session }
    }
}

/// The door of one session: where `do_lock()` and `do_unlock()` act.
struct Door<'a> {
    lock: &'a CodeLock,
    session: SessionId,
}

impl Door<'_> {
    /// `do_lock()`: `io:format("Locked~n", [])`.
    fn do_lock(&self) {
        self.lock.log().push((self.session, Effect::Lock));
    }
    /// `do_unlock()`: `io:format("Open~n", [])`.
    fn do_unlock(&self) {
        self.lock.log().push((self.session, Effect::Unlock));
    }
}

type Res = CallbackResult<CodeLock>;

/// A callback's `(EventType, EventContent)`, with `enter` as a type as in
/// gen_statem (the content, the old state, is used by no version).
#[derive(Clone, Copy)]
enum Ev<'a> {
    Enter,
    Event(&'a EventType<CodeLock>, &'a LockMsg),
}

fn function_clause() -> Res {
    CallbackResult::Exception(CodeLockReason::FunctionClause)
}

fn reply(from: &u64, reply: LockReply) -> Action<CodeLock> {
    Action::Reply(*from, reply)
}

/// `{state_timeout, 10000, lock}`.
fn state_timeout_lock() -> Action<CodeLock> {
    Action::state_timeout(OPEN_TIME_MS, LockMsg::Lock)
}

/// The bare `10000` action: `{timeout, 10000, 10000}`.
fn event_timeout_shorthand() -> Action<CodeLock> {
    Action::Timeout(TimeoutAction {
        kind: TimeoutType::Event,
        time: TimeoutTime::Relative(OPEN_TIME_MS),
        msg: Some(LockMsg::Time(OPEN_TIME_MS)),
        form: TimeoutForm::Shorthand,
    })
}

/// `init/1` of every version.
fn init(door: &Door<'_>, module: CodeLockVariant, args: CodeLockArgs) -> InitResult<CodeLock> {
    use CodeLockVariant::*;
    match (module, args) {
        (_, CodeLockArgs::Code(code) | CodeLockArgs::CodeAndLockButton(code, _)) if code.is_empty() => {
            InitResult::Stop(CodeLockReason::EmptyCode)
        }
        // init(Code) -> do_lock(), Data = #{code => Code, remaining => Code}, {ok, locked, Data}.
        (EventTimeout | StateFunctions | HandleEventFunction, CodeLockArgs::Code(code)) => {
            door.do_lock();
            InitResult::Ok(LockState::Locked, LockData::new(&code), vec![])
        }
        // init(Code) -> Data = #{code => Code}, {ok, locked, Data}.
        // (`remaining` is set by the enter call of `locked`.)
        (StateEnter | HandleEventStateEnter, CodeLockArgs::Code(code)) => {
            InitResult::Ok(LockState::Locked, LockData::new(&code), vec![])
        }
        // init({Code,LockButton}) ->
        //     Data = #{code => Code, remaining => undefined},
        //     {ok, {locked,LockButton}, Data}.
        (ComplexState, CodeLockArgs::CodeAndLockButton(code, lock_button)) => {
            InitResult::Ok(LockState::Complex(StateName::Locked, lock_button), LockData::new(&code), vec![])
        }
        _ => InitResult::Exception(CodeLockReason::FunctionClause),
    }
}

/// `handle_common/3` ("All State Events"): the events every state handles
/// alike.
fn handle_common(ev: Ev<'_>, data: &LockData) -> Res {
    match ev {
        // handle_common({call,From}, code_length, #{code := Code}) ->
        //     {keep_state_and_data, [{reply,From,length(Code)}]}.
        Ev::Event(EventType::Call(from), LockMsg::CodeLength) => {
            CallbackResult::KeepStateAndData(vec![reply(from, LockReply::CodeLength(data.code.len()))])
        }
        // Not in the chapter: an upgrade to another version.
        Ev::Event(EventType::Call(from), LockMsg::ChangeCallbackModule(module)) => {
            CallbackResult::KeepStateAndData(vec![reply(from, LockReply::Ok), Action::ChangeCallbackModule(*module)])
        }
        _ => function_clause(),
    }
}

/// `Remaining` checked against a pressed digit: the chapter's
/// `case Remaining of [Digit] -> …; [Digit|Rest] -> …; _Wrong -> … end`.
enum Press {
    /// `[Digit]`: the last digit of the code.
    Complete,
    /// `[Digit|Rest]`.
    Incomplete,
    /// Anything else.
    Wrong,
}

fn press(data: &LockData, digit: Digit) -> Press {
    match data.remaining() {
        [d] if *d == digit => Press::Complete,
        [d, ..] if *d == digit => Press::Incomplete,
        _ => Press::Wrong,
    }
}

/// The OTP 19 first example ("Example", "Event Time-Outs").
mod event_timeout {
    use super::*;

    pub(super) fn locked(door: &Door<'_>, ev: Ev<'_>, data: &LockData) -> Res {
        match ev {
            Ev::Event(EventType::Cast, LockMsg::Button(digit)) => match press(data, *digit) {
                // [Digit] -> do_unlock(), {next_state,open,Data#{remaining := Code},10000};
                Press::Complete => {
                    door.do_unlock();
                    CallbackResult::NextState(LockState::Open, data.reset(), vec![event_timeout_shorthand()])
                }
                // [Digit|Rest] -> {next_state,locked,Data#{remaining := Rest}};
                Press::Incomplete => CallbackResult::NextState(LockState::Locked, data.advance(), vec![]),
                // _Wrong -> {next_state,locked,Data#{remaining := Code}}
                Press::Wrong => CallbackResult::NextState(LockState::Locked, data.reset(), vec![]),
            },
            _ => handle_common(ev, data),
        }
    }

    pub(super) fn open(door: &Door<'_>, ev: Ev<'_>, data: &LockData) -> Res {
        match ev {
            // open(timeout, _, Data) -> do_lock(), {next_state,locked,Data};
            // open(cast, {button,_}, Data) -> do_lock(), {next_state,locked,Data}.
            Ev::Event(EventType::Timeout, _) | Ev::Event(EventType::Cast, LockMsg::Button(_)) => {
                door.do_lock();
                CallbackResult::NextState(LockState::Locked, data.clone(), vec![])
            }
            _ => handle_common(ev, data),
        }
    }
}

/// The OTP 20 first example with "All State Events".
mod state_functions {
    use super::*;

    pub(super) fn locked(door: &Door<'_>, ev: Ev<'_>, data: &LockData) -> Res {
        match ev {
            Ev::Event(EventType::Cast, LockMsg::Button(digit)) => match press(data, *digit) {
                // [Digit] -> do_unlock(),
                //     {next_state, open, Data#{remaining := Code}, [{state_timeout,10000,lock}]};
                Press::Complete => {
                    door.do_unlock();
                    CallbackResult::NextState(LockState::Open, data.reset(), vec![state_timeout_lock()])
                }
                Press::Incomplete => CallbackResult::NextState(LockState::Locked, data.advance(), vec![]),
                Press::Wrong => CallbackResult::NextState(LockState::Locked, data.reset(), vec![]),
            },
            _ => handle_common(ev, data),
        }
    }

    pub(super) fn open(door: &Door<'_>, ev: Ev<'_>, data: &LockData) -> Res {
        match ev {
            // open(state_timeout, lock, Data) -> do_lock(), {next_state, locked, Data};
            Ev::Event(EventType::StateTimeout, LockMsg::Lock) => {
                door.do_lock();
                CallbackResult::NextState(LockState::Locked, data.clone(), vec![])
            }
            // open(cast, {button,_}, Data) -> {next_state, open, Data};
            Ev::Event(EventType::Cast, LockMsg::Button(_)) => {
                CallbackResult::NextState(LockState::Open, data.clone(), vec![])
            }
            _ => handle_common(ev, data),
        }
    }
}

/// "One Event Handler".
mod handle_event_function {
    use super::*;

    pub(super) fn handle_event(door: &Door<'_>, ev: Ev<'_>, state: &LockState, data: &LockData) -> Res {
        match (ev, state) {
            (Ev::Event(EventType::Cast, LockMsg::Button(digit)), LockState::Locked) => match press(data, *digit) {
                Press::Complete => {
                    door.do_unlock();
                    CallbackResult::NextState(LockState::Open, data.reset(), vec![state_timeout_lock()])
                }
                // [Digit|Rest] -> {keep_state, Data#{remaining := Rest}};
                Press::Incomplete => CallbackResult::KeepState(data.advance(), vec![]),
                // [_|_] -> {keep_state, Data#{remaining := Code}}
                Press::Wrong => CallbackResult::KeepState(data.reset(), vec![]),
            },
            // open -> keep_state_and_data
            (Ev::Event(EventType::Cast, LockMsg::Button(_)), LockState::Open) => {
                CallbackResult::KeepStateAndData(vec![])
            }
            // handle_event(state_timeout, lock, open, Data) -> do_lock(), {next_state, locked, Data};
            (Ev::Event(EventType::StateTimeout, LockMsg::Lock), LockState::Open) => {
                door.do_lock();
                CallbackResult::NextState(LockState::Locked, data.clone(), vec![])
            }
            // handle_event({call,From}, code_length, _State, #{code := Code}) -> …
            _ => handle_common(ev, data),
        }
    }
}

/// "Example Revisited: state_functions" (`[state_functions, state_enter]`).
mod state_enter {
    use super::*;

    pub(super) fn locked(door: &Door<'_>, ev: Ev<'_>, data: &LockData) -> Res {
        match ev {
            // locked(enter, _OldState, #{code := Code} = Data) ->
            //     do_lock(), {keep_state, Data#{remaining => Code}};
            Ev::Enter => {
                door.do_lock();
                CallbackResult::KeepState(data.reset(), vec![])
            }
            Ev::Event(EventType::Cast, LockMsg::Button(digit)) => match press(data, *digit) {
                // [Digit] -> {next_state, open, Data};
                Press::Complete => CallbackResult::NextState(LockState::Open, data.clone(), vec![]),
                Press::Incomplete => CallbackResult::KeepState(data.advance(), vec![]),
                Press::Wrong => CallbackResult::KeepState(data.reset(), vec![]),
            },
            _ => handle_common(ev, data),
        }
    }

    pub(super) fn open(door: &Door<'_>, ev: Ev<'_>, data: &LockData) -> Res {
        match ev {
            // open(enter, _OldState, _Data) ->
            //     do_unlock(), {keep_state_and_data, [{state_timeout,10000,lock}]};
            Ev::Enter => {
                door.do_unlock();
                CallbackResult::KeepStateAndData(vec![state_timeout_lock()])
            }
            // open(state_timeout, lock, Data) -> {next_state, locked, Data};
            Ev::Event(EventType::StateTimeout, LockMsg::Lock) => {
                CallbackResult::NextState(LockState::Locked, data.clone(), vec![])
            }
            // open(cast, {button,_}, _) -> {keep_state_and_data, [postpone]};
            Ev::Event(EventType::Cast, LockMsg::Button(_)) => CallbackResult::KeepStateAndData(vec![Action::Postpone]),
            _ => handle_common(ev, data),
        }
    }
}

/// "Example Revisited: handle_event_function"
/// (`[handle_event_function, state_enter]`).
mod handle_event_state_enter {
    use super::*;

    pub(super) fn handle_event(door: &Door<'_>, ev: Ev<'_>, state: &LockState, data: &LockData) -> Res {
        match (ev, state) {
            // %% State: locked
            (Ev::Enter, LockState::Locked) => {
                door.do_lock();
                CallbackResult::KeepState(data.reset(), vec![])
            }
            (Ev::Event(EventType::Cast, LockMsg::Button(digit)), LockState::Locked) => match press(data, *digit) {
                Press::Complete => CallbackResult::NextState(LockState::Open, data.clone(), vec![]),
                Press::Incomplete => CallbackResult::KeepState(data.advance(), vec![]),
                Press::Wrong => CallbackResult::KeepState(data.reset(), vec![]),
            },
            // %% State: open
            (Ev::Enter, LockState::Open) => {
                door.do_unlock();
                CallbackResult::KeepStateAndData(vec![state_timeout_lock()])
            }
            (Ev::Event(EventType::StateTimeout, LockMsg::Lock), LockState::Open) => {
                CallbackResult::NextState(LockState::Locked, data.clone(), vec![])
            }
            (Ev::Event(EventType::Cast, LockMsg::Button(_)), LockState::Open) => {
                CallbackResult::KeepStateAndData(vec![Action::Postpone])
            }
            // %% Any state
            _ => handle_common(ev, data),
        }
    }
}

/// "Complex State", with the `[hibernate]` of "Hibernation".
mod complex_state {
    use super::*;

    pub(super) fn handle_event(door: &Door<'_>, ev: Ev<'_>, state: &LockState, data: &LockData) -> Res {
        let &LockState::Complex(name, lock_button) = state else { return function_clause() };
        match (ev, name) {
            // handle_event({call,From}, {set_lock_button,NewLockButton}, {StateName,OldLockButton}, Data) ->
            //     {next_state, {StateName,NewLockButton}, Data, [{reply,From,OldLockButton}]};
            (Ev::Event(EventType::Call(from), LockMsg::SetLockButton(new)), _) => CallbackResult::NextState(
                LockState::Complex(name, *new),
                data.clone(),
                vec![reply(from, LockReply::LockButton(lock_button))],
            ),
            // handle_event({call,From}, code_length, {_StateName,_LockButton}, #{code := Code}) -> …
            (Ev::Event(EventType::Call(_), LockMsg::CodeLength | LockMsg::ChangeCallbackModule(_)), _) => {
                handle_common(ev, data)
            }
            // %% State: locked
            (Ev::Enter, StateName::Locked) => {
                door.do_lock();
                CallbackResult::KeepState(data.reset(), vec![])
            }
            (Ev::Event(EventType::Call(from), LockMsg::Button(digit)), StateName::Locked) => {
                let ok = vec![reply(from, LockReply::Ok)];
                match press(data, *digit) {
                    // [Digit] -> {next_state, {open,LockButton}, Data, [{reply,From,ok}]};
                    Press::Complete => {
                        CallbackResult::NextState(LockState::Complex(StateName::Open, lock_button), data.clone(), ok)
                    }
                    Press::Incomplete => CallbackResult::KeepState(data.advance(), ok),
                    Press::Wrong => CallbackResult::KeepState(data.reset(), ok),
                }
            }
            // %% State: open
            (Ev::Enter, StateName::Open) => {
                // do_unlock(), {keep_state_and_data, [{state_timeout,10000,lock}, hibernate]};
                door.do_unlock();
                CallbackResult::KeepStateAndData(vec![state_timeout_lock(), Action::Hibernate(true)])
            }
            (Ev::Event(EventType::StateTimeout, LockMsg::Lock), StateName::Open) => {
                CallbackResult::NextState(LockState::Complex(StateName::Locked, lock_button), data.clone(), vec![])
            }
            (Ev::Event(EventType::Call(from), LockMsg::Button(digit)), StateName::Open) => {
                if *digit == lock_button {
                    CallbackResult::NextState(
                        LockState::Complex(StateName::Locked, lock_button),
                        data.clone(),
                        vec![reply(from, LockReply::Locked)],
                    )
                } else {
                    CallbackResult::KeepStateAndData(vec![Action::Postpone])
                }
            }
            // The clauses for {locked,_} and {open,_} take every event and
            // `case` on it: an event with no branch is a case_clause.
            _ => CallbackResult::Exception(CodeLockReason::CaseClause),
        }
    }
}

impl Machine for CodeLock {
    type State = LockState;
    type Data = LockData;
    type Msg = LockMsg;
    type TimeoutName = Infallible;
    type Reply = LockReply;
    type Reason = CodeLockReason;
    type Module = CodeLockVariant;
    type Args = CodeLockArgs;
    type From = u64;
    type Watcher = u64;
    type Term = ();
    type Emit = ();

    fn init(&self, cx: &mut Cx<'_, Self>, module: &CodeLockVariant, args: CodeLockArgs) -> Step<InitResult<Self>> {
        Step::Ready(init(&self.door(cx.session), *module, args))
    }

    fn callback_mode(&self, module: &CodeLockVariant) -> Result<CallbackMode, ()> {
        Ok(module.callback_mode())
    }

    fn handle_event(&self, cx: &mut Cx<'_, Self>, call: Invocation<'_, Self>) -> Step<CallbackResult<Self>> {
        use CodeLockVariant::*;
        let door = self.door(cx.session);
        let ev = match &call {
            Invocation::Event { event, .. } => Ev::Event(&event.kind, &event.content),
            Invocation::Enter { .. } => Ev::Enter,
        };
        let (state, data) = (call.state(), call.data());
        let result = match (*call.module(), state) {
            (EventTimeout, LockState::Locked) => event_timeout::locked(&door, ev, data),
            (EventTimeout, LockState::Open) => event_timeout::open(&door, ev, data),
            (StateFunctions, LockState::Locked) => state_functions::locked(&door, ev, data),
            (StateFunctions, LockState::Open) => state_functions::open(&door, ev, data),
            (StateEnter, LockState::Locked) => state_enter::locked(&door, ev, data),
            (StateEnter, LockState::Open) => state_enter::open(&door, ev, data),
            // state_functions with a non-atom state: no such function.
            (EventTimeout | StateFunctions | StateEnter, LockState::Complex(..)) => function_clause(),
            (HandleEventFunction, _) => handle_event_function::handle_event(&door, ev, state, data),
            (HandleEventStateEnter, _) => handle_event_state_enter::handle_event(&door, ev, state, data),
            (ComplexState, _) => complex_state::handle_event(&door, ev, state, data),
        };
        Step::Ready(result)
    }

    fn panic_reason(&self, message: String) -> CodeLockReason {
        CodeLockReason::Panic(message)
    }

    /// `terminate(_Reason, State, _Data) -> State =/= locked andalso do_lock(), ok.`
    ///
    /// As written in the chapter, also for the complex-state version, whose
    /// tuple state is never the atom `locked`: it always locks.
    fn terminate(
        &self,
        cx: &mut Cx<'_, Self>,
        _module: &CodeLockVariant,
        _reason: &ExitReason<Self>,
        state: &LockState,
        _data: &LockData,
    ) -> Step<TerminateResult<Self>> {
        if *state != LockState::Locked {
            self.door(cx.session).do_lock();
        }
        Step::Ready(TerminateResult::Ok)
    }
}
