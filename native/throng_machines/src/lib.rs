//! # throng_machines
//!
//! The native machines Throng ships: gen_statem machines written in Rust,
//! run by the engine itself (no executor process, no BEAM code per event),
//! started from Erlang with `throng:start_link({native, Name}, Args, Opts)`
//! and driven with the same API as callback-module sessions. Both hosts,
//! the NIF and the port program, register [`natives`].
//!
//! | name | what | module |
//! | --- | --- | --- |
//! | `code_lock` | OTP's code lock (the gen_statem chapter), as `bench/demo_lock.erl` | [`code_lock`] |
//! | `switch` | GenStateMachine's `Switch` example | [`switch`] |
//! | `chat_session` | a chat connection: authentication, idle and keepalive time-outs, presence | [`chat_session`] |
//! | `counter` | the worked example crate (`examples/native_machine`) | `throng_example_counter` |
//!
//! docs/native-machines.md tells how to add one.
#![deny(unsafe_code)]
#![warn(missing_docs)]

use throng_beam::term::Writer;
use throng_beam::{Etf, Host, Natives};

pub mod chat_session;
pub mod code_lock;
pub mod switch;

/// The native machines every engine can start, by name.
pub fn natives<H: Host>() -> Natives<H> {
    let mut n = Natives::default();
    n.add("code_lock", code_lock::CodeLock::new())
        .add("switch", switch::Switch::new())
        .add("chat_session", chat_session::ChatSession::new())
        .add("counter", throng_example_counter::Counter::new());
    n
}

/// An atom every session may share (a state name, a tag): stored once.
pub(crate) fn atom(name: &str) -> Etf {
    let mut w = Writer::new();
    w.atom(name);
    Etf::shared(&w.into_vec())
}

/// `{Tag, Value}` written with `value` as it is encoded.
pub(crate) fn tagged(tag: &str, value: &[u8]) -> Etf {
    let mut w = Writer::new();
    w.tuple(2).atom(tag).raw(value);
    w.finish()
}

/// `{error, Reason}`, shared.
pub(crate) fn error_atom(reason: &str) -> Etf {
    let mut w = Writer::new();
    w.tuple(2).atom("error").atom(reason);
    Etf::shared(&w.into_vec())
}

/// An integer term.
pub(crate) fn int(n: i64) -> Etf {
    let mut w = Writer::new();
    w.int(n);
    w.finish()
}
