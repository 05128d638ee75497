//! The machine of a BEAM callback module: every callback runs in an
//! executor process, so every callback answers [`Step::Pending`] and emits a
//! [`Work`] item; the executor hands the result back through the NIF.

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

use rustler::{Atom, LocalPid};
use throng_core::TerminateResult;
use throng_core::{CallbackMode, CallbackResult, Cx, ExitReason, InitResult, Invocation, Machine, Step};

use crate::etf::Etf;

/// gen_statem's `From`: `{Pid, Tag}`; also a monitor's watcher (`Tag` is
/// the monitor reference).
#[derive(Clone, PartialEq)]
pub struct BeamFrom {
    /// The process the reply goes to.
    pub pid: LocalPid,
    /// The tag: a reply is `{Tag, Reply}`.
    pub tag: Etf,
}

impl fmt::Debug for BeamFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "From({:?})", self.tag)
    }
}

/// `init/1`'s argument and who waits for the start to be acknowledged.
pub struct InitArgs {
    /// `Args`.
    pub args: Etf,
    /// The starter: gets `{Tag, {ok, S} | ignore | {error, R}}`.
    pub from: BeamFrom,
}

/// A callback for an executor to run.
pub enum Work {
    /// `Module:init(Args)`.
    Init { module: Atom, args: Etf, from: BeamFrom },
    /// `Module:terminate(Reason, State, Data)`.
    Terminate { module: Atom, reason: ExitReason<Beam>, state: Etf, data: Etf },
}

/// The BEAM callback-module machine. Holds the `callback_mode()` results
/// the executors report, per module.
#[derive(Default)]
pub struct Beam {
    modes: RwLock<HashMap<Atom, Result<CallbackMode, Etf>>>,
}

impl Beam {
    /// Records a module's callback mode (as read by an executor).
    pub fn set_mode(&self, module: Atom, mode: Result<CallbackMode, Etf>) {
        self.modes.write().unwrap_or_else(|p| p.into_inner()).insert(module, mode);
    }
}

impl Machine for Beam {
    type State = Etf;
    type Data = Etf;
    type Msg = Etf;
    type TimeoutName = Etf;
    type Reply = Etf;
    type Reason = Etf;
    type Module = Atom;
    type Args = InitArgs;
    type From = BeamFrom;
    type Watcher = BeamFrom;
    type Term = Etf;
    type Emit = Work;

    fn init(&self, cx: &mut Cx<'_, Self>, module: &Atom, args: InitArgs) -> Step<InitResult<Self>> {
        cx.out.emit(cx.session, Work::Init { module: *module, args: args.args, from: args.from });
        Step::Pending
    }

    fn callback_mode(&self, module: &Atom) -> Result<CallbackMode, Etf> {
        match self.modes.read().unwrap_or_else(|p| p.into_inner()).get(module) {
            Some(mode) => mode.clone(),
            // Executors report every module a result names before the
            // engine needs it; an unknown one reads as `undefined`.
            None => Err(Etf::atom_and_text("undefined_callback_mode", "")),
        }
    }

    fn handle_event(&self, cx: &mut Cx<'_, Self>, call: Invocation<'_, Self>) -> Step<CallbackResult<Self>> {
        cx.out.dispatch(cx.session, &call);
        Step::Pending
    }

    fn terminate(
        &self,
        cx: &mut Cx<'_, Self>,
        module: &Atom,
        reason: &ExitReason<Self>,
        state: &Etf,
        data: &Etf,
    ) -> Step<TerminateResult<Self>> {
        let work =
            Work::Terminate { module: *module, reason: reason.clone(), state: state.clone(), data: data.clone() };
        cx.out.emit(cx.session, work);
        Step::Pending
    }

    fn panic_reason(&self, message: String) -> Etf {
        Etf::atom_and_text("panic", &message)
    }

    fn heap_bytes(&self, state: &Etf, data: &Etf) -> usize {
        state.heap_bytes() + data.heap_bytes()
    }
}
