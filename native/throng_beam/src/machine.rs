//! The machine of a BEAM callback module: every callback runs in an
//! executor process, so every callback answers [`Step::Pending`] and emits a
//! [`Work`] item; the executor hands the result back through the host (the
//! NIF or the port program).

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::RwLock;

use throng_core::TerminateResult;
use throng_core::{CallbackMode, CallbackResult, Cx, ExitReason, InitResult, Invocation, Machine, Step};

use crate::etf::Etf;
use crate::native::{NativeId, Natives};

/// A session's callback module: a BEAM module (its callbacks run in an
/// executor) or a native machine (Rust code, run in the engine at once).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Mod<A> {
    /// A BEAM callback module.
    Beam(A),
    /// A native machine, by its index in the engine's [`Natives`].
    Native(NativeId),
}

/// What differs between the hosts of [`Beam`].
pub trait Host: Send + Sync + 'static {
    /// Who a reply or a DOWN notice goes to: a local pid in the NIF, a
    /// destination (an integer the BEAM side maps to a pid) in the port.
    type Pid: Clone + PartialEq + Send + Sync + 'static;
    /// A callback module: an atom.
    type Module: Clone + Eq + Hash + Send + Sync + fmt::Debug + 'static;
}

/// gen_statem's `From`: `{Pid, Tag}`; also a monitor's watcher (`Tag` is
/// the monitor reference).
#[derive(Clone, PartialEq)]
pub struct BeamFrom<P> {
    /// The process the reply goes to.
    pub pid: P,
    /// The tag: a reply is `{Tag, Reply}`.
    pub tag: Etf,
}

impl<P> fmt::Debug for BeamFrom<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "From({:?})", self.tag)
    }
}

/// `init/1`'s argument and who waits for the start to be acknowledged.
pub struct InitArgs<P> {
    /// `Args`.
    pub args: Etf,
    /// The starter: gets `{Tag, {ok, S} | ignore | {error, R}}`.
    pub from: BeamFrom<P>,
}

/// A callback for an executor to run.
pub enum Work<H: Host> {
    /// `Module:init(Args)`.
    Init {
        /// The callback module.
        module: H::Module,
        /// `Args`.
        args: Etf,
        /// The starter.
        from: BeamFrom<H::Pid>,
    },
    /// `Module:terminate(Reason, State, Data)`.
    Terminate {
        /// The callback module.
        module: H::Module,
        /// `Reason`, as the engine knows it.
        reason: ExitReason<Beam<H>>,
        /// `State`.
        state: Etf,
        /// `Data`.
        data: Etf,
    },
    /// A native machine's message to a process: `To ! Msg` (`To` a pid
    /// the machine was given, as its encoding).
    Send {
        /// The process, encoded (a pid; anything else is dropped).
        to: Etf,
        /// The message.
        msg: Etf,
    },
}

/// The machine of an engine's sessions: BEAM callback modules, whose
/// callbacks run in executors, and native machines ([`Natives`]). Holds the
/// `callback_mode()` results the executors report, per module.
pub struct Beam<H: Host> {
    modes: RwLock<HashMap<H::Module, Result<CallbackMode, Etf>>>,
    natives: Natives<H>,
}

impl<H: Host> Default for Beam<H> {
    fn default() -> Self {
        Beam::new(Natives::default())
    }
}

impl<H: Host> Beam<H> {
    /// The machine, with these native machines.
    pub fn new(natives: Natives<H>) -> Self {
        Beam { modes: RwLock::new(HashMap::new()), natives }
    }

    /// Records a module's callback mode (as read by an executor).
    pub fn set_mode(&self, module: H::Module, mode: Result<CallbackMode, Etf>) {
        self.modes.write().unwrap_or_else(|p| p.into_inner()).insert(module, mode);
    }

    /// The native machines of this engine.
    pub fn natives(&self) -> &Natives<H> {
        &self.natives
    }
}

impl<H: Host> Machine for Beam<H> {
    type State = Etf;
    type Data = Etf;
    type Msg = Etf;
    type TimeoutName = Etf;
    type Reply = Etf;
    type Reason = Etf;
    type Module = Mod<H::Module>;
    type Args = InitArgs<H::Pid>;
    type From = BeamFrom<H::Pid>;
    type Watcher = BeamFrom<H::Pid>;
    type Term = Etf;
    type Emit = Work<H>;

    fn init(&self, cx: &mut Cx<'_, Self>, module: &Mod<H::Module>, args: InitArgs<H::Pid>) -> Step<InitResult<Self>> {
        match module {
            Mod::Beam(module) => {
                cx.out.emit(cx.session, Work::Init { module: module.clone(), args: args.args, from: args.from });
                Step::Pending
            }
            Mod::Native(id) => match self.natives.get(*id) {
                Some(native) => Step::Ready(native.init(cx, &args.args)),
                None => Step::Ready(InitResult::Stop(Etf::atom_and_text("undefined_native_machine", ""))),
            },
        }
    }

    fn callback_mode(&self, module: &Mod<H::Module>) -> Result<CallbackMode, Etf> {
        let module = match module {
            Mod::Beam(module) => module,
            Mod::Native(id) => {
                return self
                    .natives
                    .get(*id)
                    .map(|n| n.callback_mode())
                    .ok_or_else(|| Etf::atom_and_text("undefined_callback_mode", ""))
            }
        };
        match self.modes.read().unwrap_or_else(|p| p.into_inner()).get(module) {
            Some(mode) => mode.clone(),
            // Executors report every module a result names before the
            // engine needs it; an unknown one reads as `undefined`.
            None => Err(Etf::atom_and_text("undefined_callback_mode", "")),
        }
    }

    fn handle_event(&self, cx: &mut Cx<'_, Self>, call: Invocation<'_, Self>) -> Step<CallbackResult<Self>> {
        let module = match &call {
            Invocation::Event { module, .. } | Invocation::Enter { module, .. } => *module,
        };
        if let Mod::Native(id) = module {
            return Step::Ready(match self.natives.get(*id) {
                Some(native) => native.handle_event(cx, call),
                None => CallbackResult::Stop(Some(Etf::atom_and_text("undefined_native_machine", "")), None),
            });
        }
        cx.out.dispatch(cx.session, &call);
        Step::Pending
    }

    fn terminate(
        &self,
        cx: &mut Cx<'_, Self>,
        module: &Mod<H::Module>,
        reason: &ExitReason<Self>,
        state: &Etf,
        data: &Etf,
    ) -> Step<TerminateResult<Self>> {
        let module = match module {
            Mod::Beam(module) => module,
            Mod::Native(id) => {
                if let Some(native) = self.natives.get(*id) {
                    native.terminate(cx, reason, state, data);
                }
                return Step::Ready(TerminateResult::Ok);
            }
        };
        let work = Work::Terminate {
            module: module.clone(),
            reason: reason.clone(),
            state: state.clone(),
            data: data.clone(),
        };
        cx.out.emit(cx.session, work);
        Step::Pending
    }

    fn panic_reason(&self, message: String) -> Etf {
        // An exception's reason is kept as `{Reason, ExitReason}` (what
        // terminate/3 and reports see, what the session exits with): a
        // panic is an error exception `{panic, Message}` with no Erlang
        // stack, so it exits with `{{panic, Message}, []}`.
        let reason = Etf::atom_and_text("panic", &message);
        let raw = &reason.as_bytes()[1..];
        let mut w = crate::term::Writer::with_capacity(2 * raw.len() + 8);
        w.tuple(2).raw(raw).tuple(2).raw(raw).nil();
        w.finish()
    }

    fn heap_bytes(&self, state: &Etf, data: &Etf) -> usize {
        state.heap_bytes() + data.heap_bytes()
    }
}
