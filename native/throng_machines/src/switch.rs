//! GenStateMachine's `Switch` (its documentation's first example): a switch
//! that counts how often it was turned on.
//!
//! * `init(Args)`: `{off | on, Count}`, or anything else for `{off, 0}`.
//! * `handle_event_function`. A cast `flip` turns `off` into `on` (counting
//!   one) and `on` into `off`; a call `get_count` answers the count
//!   (`{next_state, State, Data, [{reply, From, Data}]}` as in the
//!   example). Other casts and infos are ignored; other calls answer
//!   `{error, unknown_call}`.

use throng_beam::term::read_etf;
use throng_beam::{Beam, Etf, Host, Native};
use throng_core::{Action, CallbackMode, CallbackResult, Cx, EventType, InitResult, Invocation};

use crate::{atom, error_atom, int};

/// The switch machine.
pub struct Switch {
    off: Etf,
    on: Etf,
    unknown_call: Etf,
}

impl Switch {
    /// The machine (its atoms made once).
    pub fn new() -> Self {
        Switch { off: atom("off"), on: atom("on"), unknown_call: error_atom("unknown_call") }
    }
}

impl Default for Switch {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: Host> Native<H> for Switch {
    fn callback_mode(&self) -> CallbackMode {
        CallbackMode::HANDLE_EVENT_FUNCTION
    }

    fn atoms(&self) -> &'static [&'static str] {
        &["off", "on", "flip", "get_count", "error", "unknown_call"]
    }

    fn init(&self, _cx: &mut Cx<'_, Beam<H>>, args: &Etf) -> InitResult<Beam<H>> {
        let given = read_etf(args).ok().and_then(|a| a.tuple::<2>()).and_then(|[s, n]| {
            let state = if s.is_atom("on") { self.on.clone() } else { s.is_atom("off").then(|| self.off.clone())? };
            Some((state, int(n.as_int().filter(|n| *n >= 0)?)))
        });
        let (state, count) = given.unwrap_or_else(|| (self.off.clone(), int(0)));
        InitResult::Ok(state, count, vec![])
    }

    fn handle_event(&self, _cx: &mut Cx<'_, Beam<H>>, call: Invocation<'_, Beam<H>>) -> CallbackResult<Beam<H>> {
        let Invocation::Event { event, state, data, .. } = call else {
            return CallbackResult::KeepStateAndData(vec![]);
        };
        let msg = read_etf(&event.content).ok();
        match &event.kind {
            EventType::Cast if msg.is_some_and(|m| m.is_atom("flip")) => {
                if *state == self.off {
                    let count = read_etf(data).ok().and_then(|d| d.as_int()).unwrap_or(0);
                    CallbackResult::NextState(self.on.clone(), int(count + 1), vec![])
                } else {
                    CallbackResult::NextState(self.off.clone(), data.clone(), vec![])
                }
            }
            EventType::Call(from) if msg.is_some_and(|m| m.is_atom("get_count")) => {
                CallbackResult::NextState(state.clone(), data.clone(), vec![Action::Reply(from.clone(), data.clone())])
            }
            EventType::Call(from) => {
                CallbackResult::KeepStateAndData(vec![Action::Reply(from.clone(), self.unknown_call.clone())])
            }
            _ => CallbackResult::KeepStateAndData(vec![]),
        }
    }
}
