//! A worked example: a native Throng machine in a crate of its own.
//!
//! `counter` keeps a number. Started with an integer (anything else: 0):
//!
//! ```erlang
//! {ok, S} = throng:start_link({native, counter}, 5, []),
//! ok = throng:cast(S, {add, 2}),
//! 7 = throng:call(S, get).
//! ```
//!
//! * state `counting`, data the number; `handle_event_function`;
//! * cast `{add, N}` adds `N` (an integer; anything else is ignored);
//! * call `get` answers the number; call `{stop, Reason}` stops the
//!   session with `Reason`, answering `ok`; other calls answer
//!   `{error, unknown_call}`;
//! * call `crash` panics: the session stops with `{panic, Message}` and
//!   nothing else is touched (the engine catches the panic);
//! * info `{notify, Pid}` sends `{counter, N}` to `Pid` (how a machine
//!   talks to processes: [`throng_beam::native::send`]).
//!
//! To build it into Throng it is registered in
//! `native/throng_machines/src/lib.rs` (`natives()`), which both the NIF
//! and the port program call; docs/native-machines.md walks through the
//! steps for a machine of your own.

use throng_beam::native::send;
use throng_beam::term::{read_etf, Writer};
use throng_beam::{Beam, Etf, Host, Native};
use throng_core::{Action, CallbackMode, CallbackResult, Cx, EventType, InitResult, Invocation, ReplyAction};

/// The `counter` machine. Its constant terms are made once, in [`Counter::new`].
pub struct Counter {
    counting: Etf,
    ok: Etf,
}

impl Counter {
    /// The machine.
    pub fn new() -> Self {
        let atom = |name: &str| {
            let mut w = Writer::new();
            w.atom(name);
            // Shared: a million sessions in state `counting` hold one copy.
            Etf::shared(&w.into_vec())
        };
        Counter { counting: atom("counting"), ok: atom("ok") }
    }
}

impl Default for Counter {
    fn default() -> Self {
        Self::new()
    }
}

fn int(n: i64) -> Etf {
    let mut w = Writer::new();
    w.int(n);
    w.finish()
}

impl<H: Host> Native<H> for Counter {
    fn callback_mode(&self) -> CallbackMode {
        CallbackMode::HANDLE_EVENT_FUNCTION
    }

    fn atoms(&self) -> &'static [&'static str] {
        &["counting", "ok", "counter", "error", "unknown_call", "add", "get", "notify"]
    }

    fn init(&self, _cx: &mut Cx<'_, Beam<H>>, args: &Etf) -> InitResult<Beam<H>> {
        let n = read_etf(args).ok().and_then(|a| a.as_int()).unwrap_or(0);
        InitResult::Ok(self.counting.clone(), int(n), vec![])
    }

    fn handle_event(&self, cx: &mut Cx<'_, Beam<H>>, call: Invocation<'_, Beam<H>>) -> CallbackResult<Beam<H>> {
        let Invocation::Event { event, data, .. } = call else {
            return CallbackResult::KeepStateAndData(vec![]);
        };
        let n = read_etf(data).ok().and_then(|d| d.as_int()).unwrap_or(0);
        let Ok(msg) = read_etf(&event.content) else {
            return CallbackResult::KeepStateAndData(vec![]);
        };
        match &event.kind {
            EventType::Cast => match msg.tuple::<2>() {
                Some([tag, k]) if tag.is_atom("add") => match k.as_int() {
                    Some(k) => CallbackResult::KeepState(int(n.saturating_add(k)), vec![]),
                    None => CallbackResult::KeepStateAndData(vec![]),
                },
                _ => CallbackResult::KeepStateAndData(vec![]),
            },
            EventType::Call(from) if msg.is_atom("get") => {
                CallbackResult::KeepStateAndData(vec![Action::Reply(from.clone(), int(n))])
            }
            EventType::Call(_) if msg.is_atom("crash") => panic!("counter asked to crash at {n}"),
            EventType::Call(from) => match msg.tuple::<2>() {
                Some([tag, reason]) if tag.is_atom("stop") => CallbackResult::StopAndReply(
                    Some(reason.to_etf()),
                    vec![ReplyAction::Reply(from.clone(), self.ok.clone())],
                    None,
                ),
                _ => {
                    let mut w = Writer::new();
                    w.tuple(2).atom("error").atom("unknown_call");
                    CallbackResult::KeepStateAndData(vec![Action::Reply(from.clone(), w.finish())])
                }
            },
            EventType::Info => match msg.tuple::<2>() {
                Some([tag, pid]) if tag.is_atom("notify") && pid.is_pid() => {
                    let mut w = Writer::new();
                    w.tuple(2).atom("counter").int(n);
                    send(cx, pid.to_etf(), w.finish());
                    CallbackResult::KeepStateAndData(vec![])
                }
                _ => CallbackResult::KeepStateAndData(vec![]),
            },
            _ => CallbackResult::KeepStateAndData(vec![]),
        }
    }
}
