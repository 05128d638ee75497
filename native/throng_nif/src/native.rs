//! Native machines (Rust logic run in the engine, `throng_machines`) and the
//! batch operations: `native_start/5`, `native_start_many/4`,
//! `session_send_many/3`.
//!
//! A batch NIF works for at most [`SLICE`] and hands back what it has not
//! done, so that a million-element list never holds a scheduler for more
//! than about a millisecond; `throng` calls it again with the rest.

use std::time::{Duration, Instant};

use rustler::{Atom, Encoder, Env, LocalPid, NifResult, Term};
use throng_beam::Mod;
use throng_core::{Error, Event, EventType, Started};

use crate::atoms;
use crate::beam::{BeamFrom, InitArgs};
use crate::etf::{Etf, EtfNif};
use crate::out::{reason_term, Form, Out};
use crate::{error_term, on_scheduler, own, sid, Eng};

/// How long one batch NIF call works before it returns the rest.
const SLICE: Duration = Duration::from_micros(500);
/// Elements done between two readings of the clock.
const CHECK_EVERY: usize = 32;

/// A clock that says when a batch call has worked long enough.
struct Budget {
    start: Instant,
    done: usize,
}

impl Budget {
    fn new() -> Self {
        Budget { start: Instant::now(), done: 0 }
    }

    /// Counts one element; true when the call should return.
    fn spent(&mut self) -> bool {
        self.done += 1;
        self.done.is_multiple_of(CHECK_EVERY) && self.start.elapsed() >= SLICE
    }
}

/// Starts one native session; `{ok, Sid} | ignore | {error, Reason}`.
fn start_one<'a>(
    env: Env<'a>,
    engine: &Eng<'a>,
    id: throng_beam::NativeId,
    args: Term<'a>,
    owner: Term<'a>,
    watcher: Option<BeamFrom>,
) -> Term<'a> {
    // Native init answers at once: the starter gets the outcome as the
    // NIF's result, never as a message, so `from` is not used.
    let from = BeamFrom { pid: env.pid(), tag: Etf::encode(atoms::undefined().encode(env)) };
    let init = InitArgs { args: Etf::encode(args), from };
    let mut out = Out::nif(env, engine);
    match engine.engine.start_monitored(Mod::Native(id), init, watcher, &mut out) {
        Ok(Started::Ok(s)) | Ok(Started::Pending(s)) => {
            own(env, engine, owner, s);
            (atoms::ok(), s.to_u64()).encode(env)
        }
        Ok(Started::Ignore) => atoms::ignore().encode(env),
        Ok(Started::Failed(r)) => (atoms::error(), reason_term(env, &r, None, Form::Raw)).encode(env),
        Err(e) => error_term(env, e),
    }
}

/// The machine registered as `name`, or the error term naming it.
fn machine<'a>(env: Env<'a>, engine: &Eng<'a>, name: Atom) -> Result<throng_beam::NativeId, Term<'a>> {
    let text = name.to_term(env).atom_to_string().unwrap_or_default();
    engine
        .engine
        .machine()
        .natives()
        .id(&text)
        .ok_or_else(|| (atoms::error(), (atoms::unknown_native_machine(), name)).encode(env))
}

/// `native_start(E, Name, Args, Owner, Watcher)`: starts a session of the
/// native machine `Name` (init runs at once). `Owner`: a pid the session
/// dies with, or `undefined`; `Watcher`: `{Pid, Tag}` monitoring the
/// session from before init runs, or `undefined`.
#[rustler::nif]
fn native_start<'a>(
    env: Env<'a>,
    engine: Eng<'a>,
    name: Atom,
    init_args: Term<'a>,
    owner: Term<'a>,
    watcher: Term<'a>,
) -> NifResult<Term<'a>> {
    on_scheduler();
    let id = match machine(env, &engine, name) {
        Ok(id) => id,
        Err(t) => return Ok(t),
    };
    let watcher = match watcher.decode::<(LocalPid, Term<'a>)>() {
        Ok((pid, tag)) => Some(BeamFrom { pid, tag: Etf::encode(tag) }),
        Err(_) => None,
    };
    Ok(start_one(env, &engine, id, init_args, owner, watcher))
}

/// `native_start_many(E, Name, ArgsList, Owner)`: starts a session per
/// element of `ArgsList`; `{Results, Rest}`, the results in order (as
/// `native_start/5`'s), `Rest` the part of the list not started yet.
#[rustler::nif]
fn native_start_many<'a>(
    env: Env<'a>,
    engine: Eng<'a>,
    name: Atom,
    list: Term<'a>,
    owner: Term<'a>,
) -> NifResult<Term<'a>> {
    on_scheduler();
    let id = match machine(env, &engine, name) {
        Ok(id) => id,
        Err(t) => return Ok(t),
    };
    let mut budget = Budget::new();
    let mut results = Vec::new();
    let mut rest = list;
    while let Ok((init_args, tail)) = rest.list_get_cell() {
        results.push(start_one(env, &engine, id, init_args, owner, None));
        rest = tail;
        if budget.spent() {
            break;
        }
    }
    if !rest.is_list() {
        return Err(rustler::Error::BadArg);
    }
    Ok((results, rest).encode(env))
}

/// An item of `session_send_many`: `{Sid, Msg}` or `{{throng, E, Sid},
/// Msg}` for this engine `E` (a session as `throng` hands them out, so
/// that `cast_many/1` passes its list on as it is).
fn item_of<'a>(engine: &Eng<'a>, item: Term<'a>) -> Option<(u64, Term<'a>)> {
    let pair = crate::raw::Tuple::of(item).filter(|t| t.len() == 2)?;
    let (s, msg) = (pair.get(0)?, pair.get(1)?);
    if let Ok(id) = s.decode::<u64>() {
        return Some((id, msg));
    }
    let session = crate::raw::Tuple::of(s).filter(|t| t.len() == 3)?;
    let same = session.get(0)? == atoms::throng().to_term(s.get_env()) && session.get(1)? == engine.term;
    same.then_some(())?;
    Some((session.get(2)?.decode::<u64>().ok()?, msg))
}

/// `session_send_many(E, Kind, Items)`: a `cast` or `info` event per
/// `{Sid, Msg}` (or `{{throng, E, Sid}, Msg}`) of `Items`, in order; `{Refused, Rest}`: `Refused` the
/// `{Sid, queue_full}` of events not queued (a session that does not exist
/// is not an error, as for `cast/2`), `Rest` the part of the list not sent
/// yet.
#[rustler::nif]
fn session_send_many<'a>(env: Env<'a>, engine: Eng<'a>, kind: Atom, list: Term<'a>) -> NifResult<Term<'a>> {
    on_scheduler();
    let kind = if kind == atoms::cast() {
        EventType::Cast
    } else if kind == atoms::info() {
        EventType::Info
    } else {
        return Err(rustler::Error::BadArg);
    };
    let mut budget = Budget::new();
    let mut refused = Vec::new();
    let mut rest = list;
    let mut out = Out::nif(env, &engine);
    while let Ok((item, tail)) = rest.list_get_cell() {
        let (id, msg) = item_of(&engine, item).ok_or(rustler::Error::BadArg)?;
        match engine.engine.send_event(sid(id), Event::new(kind.clone(), Etf::encode(msg)), &mut out) {
            Ok(()) | Err(Error::NoProc) => {}
            Err(Error::Busy) => {
                // Leave it for the next call, which yields first.
                break;
            }
            Err(e) => refused.push((id, crate::error_reason(env, e)).encode(env)),
        }
        rest = tail;
        if budget.spent() {
            break;
        }
    }
    if !rest.is_list() {
        return Err(rustler::Error::BadArg);
    }
    Ok((refused, rest).encode(env))
}
