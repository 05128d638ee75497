//! A machine whose callback modules are closures over [`Term`]s.
//!
//! Tests describe callback modules as data: a name, a callback mode and a
//! handler closure, and start sessions with the `init/1` result as the
//! argument. Every callback is logged to a shared trace. With
//! [`Script::deferred`] every callback answers [`Step::Pending`] and parks
//! its result, which the test hands back with the engine's `resume*`
//! functions, exactly as a BEAM executor does; the same scenario can thus
//! be run synchronously and asynchronously and the traces compared.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use super::term::Term;
use crate::machine::*;
use crate::SessionId;

/// A state callback: `(Invocation) -> Result`.
pub type Handler = Arc<dyn Fn(&Invocation<'_, Script>) -> CallbackResult<Script> + Send + Sync>;
/// A `terminate/3`: `(Reason, State, Data) -> outcome`.
pub type Terminate = Arc<dyn Fn(&ExitReason<Script>, &Term, &Term) -> TerminateResult<Script> + Send + Sync>;

/// One callback module.
#[derive(Clone)]
pub struct Module {
    /// `callback_mode()` result (`Err` for a bad one).
    pub mode: Result<CallbackMode, Term>,
    /// The state callback.
    pub handler: Handler,
    /// `terminate/3`, if "exported".
    pub terminate: Option<Terminate>,
}

/// A parked callback result (deferred mode).
#[derive(Debug)]
pub enum Parked {
    /// An `init/1` result.
    Init(SessionId, InitResult<Script>),
    /// A state callback result.
    Callback(SessionId, CallbackResult<Script>),
    /// A `terminate/3` outcome.
    Terminate(SessionId, TerminateResult<Script>),
}

/// The scripted machine.
#[derive(Clone, Default)]
pub struct Script {
    modules: HashMap<&'static str, Module>,
    trace: Arc<Mutex<Vec<Term>>>,
    deferred: bool,
    parked: Arc<Mutex<VecDeque<Parked>>>,
}

impl Script {
    /// A machine with no modules.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a callback module.
    pub fn module(
        mut self,
        name: &'static str,
        mode: CallbackMode,
        handler: impl Fn(&Invocation<'_, Script>) -> CallbackResult<Script> + Send + Sync + 'static,
    ) -> Self {
        self.modules.insert(name, Module { mode: Ok(mode), handler: Arc::new(handler), terminate: None });
        self
    }

    /// Adds a callback module whose `callback_mode()` result is bad.
    pub fn bad_mode_module(mut self, name: &'static str, mode: Term) -> Self {
        self.modules.insert(
            name,
            Module {
                mode: Err(mode),
                handler: Arc::new(|_| CallbackResult::Invalid(Term::Atom("unreachable"))),
                terminate: None,
            },
        );
        self
    }

    /// Gives a module a `terminate/3`.
    pub fn terminate(
        mut self,
        name: &'static str,
        f: impl Fn(&ExitReason<Script>, &Term, &Term) -> TerminateResult<Script> + Send + Sync + 'static,
    ) -> Self {
        if let Some(m) = self.modules.get_mut(name) {
            m.terminate = Some(Arc::new(f));
        }
        self
    }

    /// Makes every callback answer later (see the module doc).
    pub fn deferred(mut self) -> Self {
        self.deferred = true;
        self
    }

    /// Appends to the shared trace (handlers call this).
    pub fn log(&self, t: Term) {
        self.trace.lock().unwrap().push(t);
    }

    /// A handle to the shared trace, for handlers to log into.
    pub fn trace_handle(&self) -> Arc<Mutex<Vec<Term>>> {
        self.trace.clone()
    }

    /// Takes the trace.
    pub fn take_trace(&self) -> Vec<Term> {
        std::mem::take(&mut *self.trace.lock().unwrap())
    }

    /// Takes the oldest parked result (deferred mode).
    pub fn take_parked(&self) -> Option<Parked> {
        self.parked.lock().unwrap().pop_front()
    }

    fn answer<T>(&self, make: impl FnOnce(T) -> Parked, value: T) -> Step<T> {
        if self.deferred {
            self.parked.lock().unwrap().push_back(make(value));
            Step::Pending
        } else {
            Step::Ready(value)
        }
    }
}

impl Machine for Script {
    type State = Term;
    type Data = Term;
    type Msg = Term;
    type TimeoutName = Term;
    type Reply = Term;
    type Reason = Term;
    type Module = &'static str;
    type Args = InitResult<Script>;
    type From = u64;
    type Watcher = u64;
    type Term = Term;
    type Emit = ();

    fn init(&self, cx: &mut Cx<'_, Self>, module: &&'static str, args: InitResult<Script>) -> Step<InitResult<Self>> {
        self.log(Term::Tuple(vec![Term::Atom("init"), Term::Atom(module)]));
        let id = cx.session;
        self.answer(|r| Parked::Init(id, r), args)
    }

    fn callback_mode(&self, module: &&'static str) -> Result<CallbackMode, Term> {
        match self.modules.get(module) {
            Some(m) => m.mode.clone(),
            None => Err(Term::Tuple(vec![Term::Atom("undef"), Term::Atom(module)])),
        }
    }

    fn handle_event(&self, cx: &mut Cx<'_, Self>, call: Invocation<'_, Self>) -> Step<CallbackResult<Self>> {
        let result = match self.modules.get(call.module()) {
            Some(m) => (m.handler)(&call),
            None => CallbackResult::Exception(Term::Tuple(vec![Term::Atom("undef"), Term::Atom(call.module())])),
        };
        let id = cx.session;
        self.answer(|r| Parked::Callback(id, r), result)
    }

    fn panic_reason(&self, message: String) -> Term {
        Term::Tuple(vec![Term::Atom("panic"), Term::Str(message)])
    }

    fn terminate(
        &self,
        cx: &mut Cx<'_, Self>,
        module: &&'static str,
        reason: &ExitReason<Self>,
        state: &Term,
        data: &Term,
    ) -> Step<TerminateResult<Self>> {
        self.log(Term::Tuple(vec![Term::Atom("terminate"), Term::Atom(reason.name()), state.clone(), data.clone()]));
        let result = match self.modules.get(module).and_then(|m| m.terminate.clone()) {
            Some(f) => f(reason, state, data),
            None => TerminateResult::Ok,
        };
        let id = cx.session;
        self.answer(|r| Parked::Terminate(id, r), result)
    }
}
