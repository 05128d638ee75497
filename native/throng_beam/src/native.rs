//! Native machines: a session's logic as Rust code in the engine.
//!
//! A native machine is started from Erlang or Elixir like a callback module
//! (`throng:start_link({native, Name}, Args, Opts)`) and then driven with the
//! same API, under the same gen_statem rules: the engine runs its callbacks
//! at once, in the thread that delivers the event, and no executor process
//! is involved. Its state, data, messages and replies are Erlang terms kept
//! as External Term Format ([`Etf`]); [`crate::term`] reads them without
//! copying and writes new ones.
//!
//! *Why the machine works on encoded terms rather than typed Rust values.*
//! The engine, the NIF and the port program keep every session's values
//! as `Etf` (one pointer each), so a native session is one more kind of
//! module in the same session table: every operation (`call`, `get_state`,
//! `get_status`, monitors, time-outs, `stop`) and every limit works the same
//! for both kinds without a second copy of the glue, and both hosts (the
//! NIF, the port program) run the same machine. A machine is generic over
//! the [`Host`] only because a reply's `From` holds the host's pid type; it
//! never looks inside one.
//!
//! A machine's atoms that many sessions share (state names) should be made
//! once with [`Etf::shared`]: a million sessions then hold one copy.

use std::fmt;

use throng_core::{CallbackMode, CallbackResult, Cx, ExitReason, InitResult, Invocation};

use crate::etf::Etf;
use crate::machine::{Beam, Host, Work};

/// A native machine: gen_statem's callbacks in Rust. Every callback answers
/// at once; a panic stops the session with `{panic, Message}` as an
/// exception in a callback module would.
pub trait Native<H: Host>: Send + Sync + 'static {
    /// `Module:callback_mode()`.
    fn callback_mode(&self) -> CallbackMode;

    /// `Module:init(Args)`.
    fn init(&self, cx: &mut Cx<'_, Beam<H>>, args: &Etf) -> InitResult<Beam<H>>;

    /// A state callback: an event, or a state enter call.
    fn handle_event(&self, cx: &mut Cx<'_, Beam<H>>, call: Invocation<'_, Beam<H>>) -> CallbackResult<Beam<H>>;

    /// Every atom the machine writes into a term that reaches the BEAM
    /// (states, replies, messages, reasons). The BEAM side decodes the
    /// engine's terms without creating atoms (the NIF with rustler's safe
    /// `binary_to_term`, the port's owner with `[safe]`), so each host
    /// makes these exist when an engine starts.
    fn atoms(&self) -> &'static [&'static str];

    /// `Module:terminate(Reason, State, Data)`; the default does nothing.
    fn terminate(&self, _cx: &mut Cx<'_, Beam<H>>, _reason: &ExitReason<Beam<H>>, _state: &Etf, _data: &Etf) {}
}

/// Sends `msg` to the process `to` (a pid the machine was given, as its
/// encoding: `Val::raw` of a pid read with [`crate::term`]): `To ! Msg`.
/// Sent when the callback's transition is done, in order with the
/// session's replies. Anything but a pid is dropped, as a send to a dead
/// process is.
pub fn send<H: Host>(cx: &mut Cx<'_, Beam<H>>, to: Etf, msg: Etf) {
    cx.out.emit(cx.session, Work::Send { to, msg });
}

/// A native machine's index in its engine's [`Natives`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct NativeId(pub u16);

/// The native machines an engine can start, by name. At most 65,536.
pub struct Natives<H: Host> {
    list: Vec<(Box<str>, Box<dyn Native<H>>)>,
}

impl<H: Host> Default for Natives<H> {
    fn default() -> Self {
        Natives { list: Vec::new() }
    }
}

impl<H: Host> fmt::Debug for Natives<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.list.iter().map(|(n, _)| n)).finish()
    }
}

impl<H: Host> Natives<H> {
    /// Registers `machine` as `name` (an atom's text: sessions are started
    /// with `{native, name}`). A name registered twice keeps the first.
    pub fn add(&mut self, name: &str, machine: impl Native<H>) -> &mut Self {
        if self.id(name).is_none() && self.list.len() <= usize::from(u16::MAX) {
            self.list.push((name.into(), Box::new(machine)));
        }
        self
    }

    /// The machine registered as `name`.
    pub fn id(&self, name: &str) -> Option<NativeId> {
        self.list.iter().position(|(n, _)| &**n == name).map(|i| NativeId(i as u16))
    }

    /// The machine `id`.
    pub fn get(&self, id: NativeId) -> Option<&dyn Native<H>> {
        self.list.get(usize::from(id.0)).map(|(_, m)| &**m)
    }

    /// The name of machine `id`.
    pub fn name(&self, id: NativeId) -> Option<&str> {
        self.list.get(usize::from(id.0)).map(|(n, _)| &**n)
    }

    /// Every atom of every machine ([`Native::atoms`]) and their names.
    pub fn atoms(&self) -> impl Iterator<Item = &str> {
        self.list.iter().flat_map(|(n, m)| std::iter::once(&**n).chain(m.atoms().iter().copied()))
    }

    /// The registered names, in registration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|(n, _)| &**n)
    }
}
