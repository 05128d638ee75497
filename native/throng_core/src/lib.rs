//! # throng_core
//!
//! gen_statem's event engine, in Rust, for millions of sessions.
//!
//! A *session* is what a `gen_statem` process is on the BEAM: a state, data,
//! an event queue, postponed events, time-outs and a callback module stack.
//! Here it is a record of a few dozen bytes in a sharded table; its logic is
//! a [`Machine`]. The transition semantics are OTP 25 `gen_statem`'s, rule by
//! rule (see `docs/semantics.md` in the repository for the rules, the tests
//! that pin each one down, and the few documented differences).
//!
//! This crate is pure: no BEAM, no I/O, no threads of its own. The NIF and
//! port crates wrap it; they implement [`Output`] and drive time with
//! [`Engine::tick`].
//!
//! ```
//! use throng_core::machines::script::Script;
//! use throng_core::machines::term::{atom, int, Term};
//! use throng_core::{CallbackMode, CallbackResult, Collect, Engine, EventType, InitResult, Invocation};
//! use throng_core::{Config, ManualClock, Started};
//!
//! // GenStateMachine's Switch: `flip` toggles off/on, counting flips to on.
//! let machine = Script::new().module("switch", CallbackMode::HANDLE_EVENT_FUNCTION, |call| match call {
//!     Invocation::Event { event, state, data, .. } => match (&event.kind, state) {
//!         (EventType::Cast, Term::Atom("off")) => {
//!             CallbackResult::NextState(atom("on"), int(data.as_int().unwrap() + 1), vec![])
//!         }
//!         (EventType::Cast, _) => CallbackResult::NextState(atom("off"), (*data).clone(), vec![]),
//!         _ => CallbackResult::KeepStateAndData(vec![]),
//!     },
//!     Invocation::Enter { .. } => CallbackResult::KeepStateAndData(vec![]),
//! });
//! let engine = Engine::new(machine, Config::default(), ManualClock::new(0)).unwrap();
//! let mut out = Collect::default();
//! let init = InitResult::Ok(atom("off"), int(0), vec![]);
//! let Started::Ok(s) = engine.start("switch", init, &mut out).unwrap() else { panic!() };
//! engine.cast(s, atom("flip"), &mut out).unwrap();
//! assert_eq!(engine.get_state(s).unwrap(), (atom("on"), int(1)));
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod bytes;
pub mod clock;
mod collect;
mod engine;
pub mod error;
pub mod machine;
pub mod machines;
pub mod output;
mod session;
mod table;
pub mod wheel;

pub use clock::{Clock, ManualClock, SystemClock};
pub use collect::{Collect, Discard, Emitted};
pub use engine::{set_nonblocking_thread, Config, Counts, Engine, Started, Stats, SystemRequest};
pub use error::Error;
pub use machine::{
    Action, CallbackFunction, CallbackMode, CallbackResult, Cx, Event, EventType, ExitReason, InitResult, Invocation,
    Machine, ReplyAction, Step, TerminateResult, TimeoutAction, TimeoutForm, TimeoutTime, TimeoutType,
};
pub use output::{MonitorRef, Output, Status, SystemReply, TerminateReport};
pub use session::SessionId;

/// The crate version; the glue reports it so the BEAM side can check it
/// runs against the engine it was built for.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
