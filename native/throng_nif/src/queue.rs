//! Executors' work queues.
//!
//! The engine hands callbacks to executor processes through one queue per
//! executor, not one message per callback: the first item put into an idle
//! executor's queue sends it the atom `'$throng_ring'`; the executor then
//! takes items in batches (`executor_take/3`) until the queue is empty, and
//! only an empty take lets the next item ring again. A cast into a session
//! thus costs its caller one short critical section, not a message carrying
//! the session's state and data; the executor decodes the terms it needs
//! into its own heap, in batches.
//!
//! An item holds its terms in one allocation: the event's content, the
//! session's state and data, and the tag or time-out name of the event type,
//! as External Term Format bytes side by side.

use std::collections::VecDeque;
use std::sync::Mutex;

use rustler::types::tuple::make_tuple;
use rustler::{Atom, Encoder, Env, LocalPid, Term};
use throng_core::{CallbackFunction, EventType, Invocation};

use crate::atoms;
use crate::beam::{Beam, Work};
use crate::etf::{decode_bytes, Etf, EtfNif};

/// An event type, its terms in the item's bytes.
enum Kind {
    /// `{call, {Pid, Tag}}`; the tag is the first span.
    Call(LocalPid),
    Cast,
    Info,
    Timeout,
    /// `{timeout, Name}`; the name is the first span.
    Generic,
    State,
    Internal,
}

/// A callback for an executor to run.
enum What {
    /// `(Type, Content, State, Data)`; spans: type extra, content, state,
    /// data.
    Event { module: Atom, mode: CallbackFunction, kind: Kind, lens: [u32; 4], bytes: Box<[u8]> },
    /// `(enter, OldState, State, Data)`; spans: old state, state, data.
    Enter { module: Atom, mode: CallbackFunction, lens: [u32; 3], bytes: Box<[u8]> },
    /// `init/1` or `terminate/3`.
    Work(Work),
}

/// One queued callback.
pub struct Item {
    session: u64,
    what: What,
}

fn pack<const N: usize>(parts: [&[u8]; N]) -> ([u32; N], Box<[u8]>) {
    let mut bytes = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    let mut lens = [0u32; N];
    for (len, part) in lens.iter_mut().zip(parts) {
        // An ETF term over 4 GiB cannot be stored in a session anyway
        // (term_to_binary of it would not have fitted either).
        *len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        bytes.extend_from_slice(part);
    }
    (lens, bytes.into_boxed_slice())
}

fn spans<'b, const N: usize>(lens: &[u32; N], bytes: &'b [u8]) -> [&'b [u8]; N] {
    let mut at = 0usize;
    lens.map(|len| {
        let end = (at + len as usize).min(bytes.len());
        let s = &bytes[at.min(end)..end];
        at = end;
        s
    })
}

impl Item {
    /// The item for an invocation of `session`'s state callback.
    pub fn invocation(session: u64, call: &Invocation<'_, Beam>) -> Item {
        let what = match call {
            Invocation::Event { module, mode, event, state, data } => {
                let (kind, extra): (Kind, &[u8]) = match &event.kind {
                    EventType::Call(from) => (Kind::Call(from.pid), from.tag.as_bytes()),
                    EventType::Cast => (Kind::Cast, &[]),
                    EventType::Info => (Kind::Info, &[]),
                    EventType::Timeout => (Kind::Timeout, &[]),
                    EventType::GenericTimeout(name) => (Kind::Generic, name.as_bytes()),
                    EventType::StateTimeout => (Kind::State, &[]),
                    EventType::Internal => (Kind::Internal, &[]),
                };
                let (lens, bytes) = pack([extra, event.content.as_bytes(), state.as_bytes(), data.as_bytes()]);
                What::Event { module: crate::beam::module_atom(module), mode: mode.function, kind, lens, bytes }
            }
            Invocation::Enter { module, mode, old_state, state, data } => {
                let (lens, bytes) = pack([old_state.as_bytes(), state.as_bytes(), data.as_bytes()]);
                What::Enter { module: crate::beam::module_atom(module), mode: mode.function, lens, bytes }
            }
        };
        Item { session, what }
    }

    /// Bytes of encoded terms the item holds (what taking it decodes).
    pub fn size(&self) -> usize {
        match &self.what {
            What::Event { bytes, .. } | What::Enter { bytes, .. } => bytes.len(),
            What::Work(Work::Init { args, .. }) => args.as_bytes().len(),
            What::Work(Work::Terminate { state, data, .. }) => state.as_bytes().len() + data.as_bytes().len(),
            What::Work(Work::Send { msg, .. }) => msg.as_bytes().len(),
        }
    }

    /// The item for an `init/1` or `terminate/3` call.
    pub fn work(session: u64, work: Work) -> Item {
        Item { session, what: What::Work(work) }
    }

    /// `{Sid, Work}` as the executor reads it (see throng_executor.erl).
    /// `extras` gives the raw callback result a terminate reason may quote
    /// and the exception kept for the error report.
    pub fn term<'e>(&self, env: Env<'e>, extras: impl FnOnce(u64) -> (Option<Etf>, Option<Etf>)) -> Term<'e> {
        let a = |x: Atom| x.encode(env);
        let work = match &self.what {
            What::Event { module, mode, kind, lens, bytes } => {
                let [extra, content, state, data] = spans(lens, bytes);
                let ty = match kind {
                    Kind::Call(pid) => {
                        let from = make_tuple(env, &[pid.encode(env), decode_bytes(env, extra)]);
                        make_tuple(env, &[a(atoms::call()), from])
                    }
                    Kind::Cast => a(atoms::cast()),
                    Kind::Info => a(atoms::info()),
                    Kind::Timeout => a(atoms::timeout()),
                    Kind::Generic => make_tuple(env, &[a(atoms::timeout()), decode_bytes(env, extra)]),
                    Kind::State => a(atoms::state_timeout()),
                    Kind::Internal => a(atoms::internal()),
                };
                crate::out::event_work(
                    env,
                    *module,
                    *mode,
                    ty,
                    [decode_bytes(env, content), decode_bytes(env, state), decode_bytes(env, data)],
                )
            }
            What::Enter { module, mode, lens, bytes } => {
                let [old, state, data] = spans(lens, bytes);
                crate::out::enter_work(
                    env,
                    *module,
                    *mode,
                    [decode_bytes(env, old), decode_bytes(env, state), decode_bytes(env, data)],
                )
            }
            What::Work(w) => {
                let (raw, raised) = extras(self.session);
                let dec = |t: Option<Etf>| t.map(|t| t.decode(env));
                crate::out::work_term(env, w, dec(raw), dec(raised))
            }
        };
        make_tuple(env, &[self.session.encode(env), work])
    }
}

struct Inner {
    /// The executor; `None` until the engine's owner names it.
    pid: Option<LocalPid>,
    items: VecDeque<Item>,
    /// The executor was told (or is taking items): no more rings until a
    /// take finds the queue empty.
    ringing: bool,
    /// Sessions of the last batch taken whose callback has not been handed
    /// in yet: lost if the executor dies.
    in_flight: Vec<u64>,
}

/// One executor's queue.
pub struct Queue {
    inner: Mutex<Inner>,
}

/// What to do after a push: ring this executor.
#[must_use]
pub struct Ring(pub Option<LocalPid>);

impl Queue {
    /// An empty queue for `pid`.
    pub fn new(pid: LocalPid) -> Queue {
        Queue {
            inner: Mutex::new(Inner { pid: Some(pid), items: VecDeque::new(), ringing: false, in_flight: Vec::new() }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues an item; the caller rings the returned pid (outside any
    /// lock of ours).
    pub fn push(&self, item: Item) -> Ring {
        let mut q = self.lock();
        q.items.push_back(item);
        if q.ringing {
            return Ring(None);
        }
        q.ringing = true;
        Ring(q.pid)
    }

    /// Up to `max` items, oldest first. An empty take ends the executor's
    /// turn: the next push rings it again.
    /// Items stop at `max_bytes` of encoded terms too (at least one is
    /// taken): decoding them must fit in a NIF call's time slice.
    pub fn take(&self, max: usize, max_bytes: usize) -> Vec<Item> {
        let mut q = self.lock();
        let mut items = Vec::new();
        let mut bytes = 0usize;
        while items.len() < max {
            let Some(size) = q.items.front().map(Item::size) else { break };
            if !items.is_empty() && bytes + size > max_bytes {
                break;
            }
            bytes += size;
            items.extend(q.items.pop_front());
        }
        // The executor takes a batch only once it has handed in the last.
        q.in_flight.clear();
        q.in_flight.extend(items.iter().map(|i| i.session));
        if items.is_empty() {
            q.ringing = false;
            if q.items.capacity() > 4096 {
                q.items.shrink_to(64);
            }
        }
        items
    }

    /// A new executor took over this queue (the old one died): ring it if
    /// work waits.
    /// These sessions' callbacks from this queue were handed in. (A whole
    /// batch is handed in by the next take.)
    pub fn complete(&self, sessions: &[u64]) {
        let mut q = self.lock();
        q.in_flight.retain(|s| !sessions.contains(s));
    }

    /// A new executor takes over this queue (the old one died): it is rung
    /// if work waits. Returns the sessions whose callbacks the dead one had
    /// taken and not handed in.
    pub fn replace_pid(&self, pid: LocalPid) -> (Ring, Vec<u64>) {
        let mut q = self.lock();
        if q.pid == Some(pid) {
            return (Ring(None), Vec::new());
        }
        q.pid = Some(pid);
        q.ringing = !q.items.is_empty();
        (Ring(q.ringing.then_some(pid)), std::mem::take(&mut q.in_flight))
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.lock().items.len()
    }
}
