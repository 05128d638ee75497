//! An [`Output`] that records everything, in order: for tests, examples and
//! benchmarks.

use crate::machine::{ExitReason, Machine};
use crate::output::{MonitorRef, Output, SystemReply, TerminateReport};
use crate::SessionId;
use derive_where::derive_where;

/// One thing the engine produced.
#[derive_where(Debug)]
pub enum Emitted<M: Machine> {
    /// [`Output::reply`].
    Reply(M::From, M::Reply),
    /// [`Output::call_failed`].
    CallFailed(SessionId, M::From, ExitReason<M>),
    /// [`Output::down`].
    Down(M::Watcher, MonitorRef, SessionId, ExitReason<M>),
    /// [`Output::system_reply`].
    System(M::From, SystemReply<M>),
    /// [`Output::terminated`]: the session, reason, and the state and data
    /// `terminate/3` saw.
    Terminated(SessionId, ExitReason<M>, M::State, M::Data),
}

/// Records every output in `emitted`; counts `wake` calls.
#[derive_where(Debug)]
pub struct Collect<M: Machine> {
    /// What was emitted, oldest first.
    pub emitted: Vec<Emitted<M>>,
    /// How often [`Output::wake`] was called.
    pub wakes: usize,
}

impl<M: Machine> Default for Collect<M> {
    fn default() -> Self {
        Collect { emitted: Vec::new(), wakes: 0 }
    }
}

impl<M: Machine> Collect<M> {
    /// Takes what was recorded so far.
    pub fn take(&mut self) -> Vec<Emitted<M>> {
        std::mem::take(&mut self.emitted)
    }
    /// The replies recorded so far, in order.
    pub fn replies(&self) -> Vec<(&M::From, &M::Reply)> {
        self.emitted
            .iter()
            .filter_map(|e| match e {
                Emitted::Reply(f, r) => Some((f, r)),
                _ => None,
            })
            .collect()
    }
    /// The exit reason of the first termination recorded, if any.
    pub fn terminated(&self) -> Option<&ExitReason<M>> {
        self.emitted.iter().find_map(|e| match e {
            Emitted::Terminated(_, r, _, _) => Some(r),
            _ => None,
        })
    }
}

impl<M: Machine> Output<M> for Collect<M> {
    fn reply(&mut self, from: M::From, reply: M::Reply) {
        self.emitted.push(Emitted::Reply(from, reply));
    }
    fn call_failed(&mut self, session: SessionId, from: M::From, reason: &ExitReason<M>) {
        self.emitted.push(Emitted::CallFailed(session, from, reason.clone()));
    }
    fn down(&mut self, watcher: M::Watcher, mref: MonitorRef, session: SessionId, reason: &ExitReason<M>) {
        self.emitted.push(Emitted::Down(watcher, mref, session, reason.clone()));
    }
    fn system_reply(&mut self, from: M::From, reply: SystemReply<M>) {
        self.emitted.push(Emitted::System(from, reply));
    }
    fn terminated(&mut self, report: &TerminateReport<'_, M>) {
        self.emitted.push(Emitted::Terminated(
            report.session,
            report.reason.clone(),
            report.state.clone(),
            report.data.clone(),
        ));
    }
    fn wake(&mut self) {
        self.wakes += 1;
    }
}

/// An [`Output`] that drops everything (benchmarks).
#[derive(Debug, Default, Clone, Copy)]
pub struct Discard;

impl<M: Machine> Output<M> for Discard {
    fn reply(&mut self, _: M::From, _: M::Reply) {}
    fn call_failed(&mut self, _: SessionId, _: M::From, _: &ExitReason<M>) {}
    fn down(&mut self, _: M::Watcher, _: MonitorRef, _: SessionId, _: &ExitReason<M>) {}
    fn system_reply(&mut self, _: M::From, _: SystemReply<M>) {}
    fn terminated(&mut self, _: &TerminateReport<'_, M>) {}
}
