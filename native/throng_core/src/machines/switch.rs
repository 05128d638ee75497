//! The `Switch` of GenStateMachine's module documentation (Elixir,
//! `lib/gen_state_machine.ex`, `@moduledoc`: "Example", the
//! `:state_functions` example, "State Enter Callbacks" and "Client / Server
//! APIs"), as a typed [`Machine`].
//!
//! A switch is `:off` or `:on`; a `:flip` cast toggles it, and turning it on
//! counts; a `:get_count` call answers the data. One machine type,
//! [`Switch`], runs the three modules of the documentation, the
//! [`SwitchVariant`]s:
//!
//! | variant | documentation | callback mode | data |
//! | --- | --- | --- | --- |
//! | [`HandleEventFunction`](SwitchVariant::HandleEventFunction) | "Example", "Client / Server APIs" | `:handle_event_function` | the count |
//! | [`StateFunctions`](SwitchVariant::StateFunctions) | the `callback_mode: :state_functions` example | `:state_functions` | the count |
//! | [`StateEnter`](SwitchVariant::StateEnter) | "State Enter Callbacks" | `[:handle_event_function, :state_enter]` | `%{enters: _, flips: _}` |
//!
//! `use GenStateMachine` defines `init({state, data})` as
//! `{:ok, state, data}`, so the start argument is the pair
//! `(state, data)`, and, in `:handle_event_function` mode, a catch-all
//! `handle_event/4` answering `{:stop, :bad_event}`. The "Client / Server
//! APIs" Switch falls through to it with `super`; both
//! `handle_event_function` variants here do, so an event they do not know
//! stops the session with [`SwitchReason::BadEvent`]. There is no such
//! default for state functions: an unknown event in the `StateFunctions`
//! variant raises, as Elixir's `FunctionClauseError`
//! ([`SwitchReason::FunctionClause`]).
//!
//! ```
//! use throng_core::machines::switch::{Switch, SwitchData, SwitchMsg, SwitchState, SwitchVariant};
//! use throng_core::{Collect, Config, Engine, ManualClock, Started};
//!
//! let engine = Engine::new(Switch, Config::default(), ManualClock::new(0)).unwrap();
//! let mut out = Collect::default();
//! // {:ok, pid} = GenStateMachine.start_link(Switch, {:off, 0})
//! let args = (SwitchState::Off, SwitchData::Count(0));
//! let Ok(Started::Ok(pid)) = engine.start(SwitchVariant::HandleEventFunction, args, &mut out) else { panic!() };
//! // GenStateMachine.cast(pid, :flip)
//! engine.cast(pid, SwitchMsg::Flip, &mut out).unwrap();
//! // GenStateMachine.call(pid, :get_count) #=> 1
//! let from = 7;
//! engine.call(pid, from, SwitchMsg::GetCount, &mut out).unwrap();
//! assert_eq!(out.replies(), [(&from, &SwitchData::Count(1))]);
//! assert_eq!(engine.get_state(pid).unwrap(), (SwitchState::On, SwitchData::Count(1)));
//! ```

use std::convert::Infallible;

use crate::machine::{Action, CallbackMode, CallbackResult, Cx, EventType, InitResult, Invocation, Machine, Step};

/// The three Switch modules of the documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SwitchVariant {
    /// `use GenStateMachine`: one `handle_event/4`.
    HandleEventFunction,
    /// `use GenStateMachine, callback_mode: :state_functions`: `off/3` and
    /// `on/3`.
    StateFunctions,
    /// `use GenStateMachine, callback_mode: [:handle_event_function,
    /// :state_enter]`: counts enters and flips.
    StateEnter,
}

impl SwitchVariant {
    /// The module's `callback_mode/0`.
    pub const fn callback_mode(self) -> CallbackMode {
        match self {
            SwitchVariant::HandleEventFunction => CallbackMode::HANDLE_EVENT_FUNCTION,
            SwitchVariant::StateFunctions => CallbackMode::STATE_FUNCTIONS,
            SwitchVariant::StateEnter => CallbackMode::HANDLE_EVENT_FUNCTION.with_state_enter(),
        }
    }
}

/// The switch's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SwitchState {
    /// `:off`.
    Off,
    /// `:on`.
    On,
}

/// The switch's data, which `:get_count` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SwitchData {
    /// The number of times the switch was turned on (the first two
    /// modules).
    Count(u64),
    /// `%{enters: enters, flips: flips}` (the state-enter module).
    Counts {
        /// State enter calls made, the initial one included.
        enters: u64,
        /// Times the switch was turned on.
        flips: u64,
    },
}

/// Event contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SwitchMsg {
    /// `:flip`: a cast.
    Flip,
    /// `:get_count`: a call answered with the data.
    GetCount,
}

/// Why a switch stopped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SwitchReason {
    /// `:bad_event`: GenStateMachine's catch-all `handle_event/4` in
    /// `:handle_event_function` mode.
    BadEvent,
    /// A state function had no clause for the event
    /// (`FunctionClauseError`).
    FunctionClause,
    /// A callback panicked (an engine or port bug: the switch never
    /// panics).
    Panic(String),
}

/// The Switch machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct Switch;

type Res = CallbackResult<Switch>;

/// `{:next_state, state, data}` / `{:next_state, state, data, actions}`.
fn next_state(state: SwitchState, data: SwitchData, actions: Vec<Action<Switch>>) -> Res {
    CallbackResult::NextState(state, data, actions)
}

/// GenStateMachine's default `handle_event/4` (`super`):
/// `{:stop, :bad_event}`.
fn bad_event() -> Res {
    CallbackResult::Stop(Some(SwitchReason::BadEvent), None)
}

/// The "Example" / "Client / Server APIs" Switch.
fn handle_event(event: &EventType<Switch>, content: SwitchMsg, state: SwitchState, data: SwitchData) -> Res {
    match (event, content, state, data) {
        // def handle_event(:cast, :flip, :off, data), do: {:next_state, :on, data + 1}
        (EventType::Cast, SwitchMsg::Flip, SwitchState::Off, SwitchData::Count(n)) => {
            next_state(SwitchState::On, SwitchData::Count(n + 1), vec![])
        }
        // def handle_event(:cast, :flip, :on, data), do: {:next_state, :off, data}
        (EventType::Cast, SwitchMsg::Flip, SwitchState::On, data) => next_state(SwitchState::Off, data, vec![]),
        // def handle_event({:call, from}, :get_count, state, data),
        //   do: {:next_state, state, data, [{:reply, from, data}]}
        (EventType::Call(from), SwitchMsg::GetCount, state, data) => {
            next_state(state, data, vec![Action::Reply(*from, data)])
        }
        // def handle_event(event_type, event_content, state, data), do: super(…)
        _ => bad_event(),
    }
}

/// The `:state_functions` Switch: `off/3`.
fn off(event: &EventType<Switch>, content: SwitchMsg, data: SwitchData) -> Res {
    match (event, content, data) {
        // def off(:cast, :flip, data), do: {:next_state, :on, data + 1}
        (EventType::Cast, SwitchMsg::Flip, SwitchData::Count(n)) => {
            next_state(SwitchState::On, SwitchData::Count(n + 1), vec![])
        }
        // def off({:call, from}, :get_count, data), do: {:keep_state_and_data, [{:reply, from, data}]}
        (EventType::Call(from), SwitchMsg::GetCount, data) => {
            CallbackResult::KeepStateAndData(vec![Action::Reply(*from, data)])
        }
        _ => CallbackResult::Exception(SwitchReason::FunctionClause),
    }
}

/// The `:state_functions` Switch: `on/3`.
fn on(event: &EventType<Switch>, content: SwitchMsg, data: SwitchData) -> Res {
    match (event, content) {
        // def on(:cast, :flip, data), do: {:next_state, :off, data}
        (EventType::Cast, SwitchMsg::Flip) => next_state(SwitchState::Off, data, vec![]),
        // def on({:call, from}, :get_count, data), do: {:keep_state_and_data, [{:reply, from, data}]}
        (EventType::Call(from), SwitchMsg::GetCount) => {
            CallbackResult::KeepStateAndData(vec![Action::Reply(*from, data)])
        }
        _ => CallbackResult::Exception(SwitchReason::FunctionClause),
    }
}

/// The "State Enter Callbacks" Switch, for an event.
fn handle_event_counting(event: &EventType<Switch>, content: SwitchMsg, state: SwitchState, data: SwitchData) -> Res {
    match (event, content, state, data) {
        // def handle_event(:cast, :flip, :off, data),
        //   do: {:next_state, :on, %{data | flips: data.flips + 1}}
        (EventType::Cast, SwitchMsg::Flip, SwitchState::Off, SwitchData::Counts { enters, flips }) => {
            next_state(SwitchState::On, SwitchData::Counts { enters, flips: flips + 1 }, vec![])
        }
        // def handle_event(:cast, :flip, :on, data), do: {:next_state, :off, data}
        (EventType::Cast, SwitchMsg::Flip, SwitchState::On, data) => next_state(SwitchState::Off, data, vec![]),
        // def handle_event({:call, from}, :get_count, _state, data),
        //   do: {:keep_state_and_data, [{:reply, from, data}]}
        (EventType::Call(from), SwitchMsg::GetCount, _, data) => {
            CallbackResult::KeepStateAndData(vec![Action::Reply(*from, data)])
        }
        _ => bad_event(),
    }
}

/// The "State Enter Callbacks" Switch, for a state enter call:
/// `def handle_event(:enter, _event, state, data), do: {:next_state, state, %{data | enters: data.enters + 1}}`.
fn enter_counting(state: SwitchState, data: SwitchData) -> Res {
    match data {
        SwitchData::Counts { enters, flips } => {
            next_state(state, SwitchData::Counts { enters: enters + 1, flips }, vec![])
        }
        SwitchData::Count(_) => bad_event(),
    }
}

impl Machine for Switch {
    type State = SwitchState;
    type Data = SwitchData;
    type Msg = SwitchMsg;
    type TimeoutName = Infallible;
    type Reply = SwitchData;
    type Reason = SwitchReason;
    type Module = SwitchVariant;
    type Args = (SwitchState, SwitchData);
    type From = u64;
    type Watcher = u64;
    type Term = ();
    type Emit = ();

    /// `def init({state, data}), do: {:ok, state, data}`.
    fn init(&self, _cx: &mut Cx<'_, Self>, _module: &SwitchVariant, args: Self::Args) -> Step<InitResult<Self>> {
        let (state, data) = args;
        Step::Ready(InitResult::Ok(state, data, vec![]))
    }

    fn callback_mode(&self, module: &SwitchVariant) -> Result<CallbackMode, ()> {
        Ok(module.callback_mode())
    }

    fn handle_event(&self, _cx: &mut Cx<'_, Self>, call: Invocation<'_, Self>) -> Step<CallbackResult<Self>> {
        let (state, data) = (*call.state(), *call.data());
        let result = match (call.module(), &call) {
            (SwitchVariant::StateEnter, Invocation::Enter { .. }) => enter_counting(state, data),
            (SwitchVariant::StateEnter, Invocation::Event { event, .. }) => {
                handle_event_counting(&event.kind, event.content, state, data)
            }
            (SwitchVariant::HandleEventFunction, Invocation::Event { event, .. }) => {
                handle_event(&event.kind, event.content, state, data)
            }
            (SwitchVariant::StateFunctions, Invocation::Event { event, .. }) => match state {
                SwitchState::Off => off(&event.kind, event.content, data),
                SwitchState::On => on(&event.kind, event.content, data),
            },
            // An enter call to a module without state_enter cannot happen
            // (the engine makes none); were it made, no clause takes it.
            (SwitchVariant::HandleEventFunction, Invocation::Enter { .. }) => bad_event(),
            (SwitchVariant::StateFunctions, Invocation::Enter { .. }) => {
                CallbackResult::Exception(SwitchReason::FunctionClause)
            }
        };
        Step::Ready(result)
    }

    fn panic_reason(&self, message: String) -> SwitchReason {
        SwitchReason::Panic(message)
    }
}
