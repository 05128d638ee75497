//! The frames of protocol version 1 (`docs/port-protocol.md`): decoding
//! what the BEAM sends into [`Request`]s, and building what goes back.
//!
//! No atom is ever created from input: eetf gives atom names as strings,
//! and the names the port knows are `&'static str`s matched here. Every
//! atom the port writes is one of those names or an atom that arrived in
//! the input (payloads go back unchanged), so the BEAM side can decode
//! every frame with `binary_to_term(Bin, [safe])`.

use eetf::{Atom, BigInteger, Binary, FixInteger, List, Map, Term, Tuple};
use throng_beam::Etf;

use crate::etf::{self, EtfError, EtfLimits};

/// The protocol version this program speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// A correlation id: a non-negative integer below 2^64, echoed back.
pub type ReqId = u64;
/// A session id: the integer `throng_nif` calls `sid()`.
pub type Sid = u64;
/// A destination: who a reply, a DOWN notice or a message goes to. Any
/// pid, or a non-negative integer (for a driver that is not a BEAM),
/// kept as its canonical encoding (compared by bytes) and written back as
/// it came.
pub type Dest = throng_beam::Etf;

/// `From` of `gen_statem` across the port: `{Dest, Tag}`; the reply goes
/// to `Dest` as `{Tag, Reply}`.
#[derive(Debug, Clone, PartialEq)]
pub struct From {
    /// Who gets the reply.
    pub dest: Dest,
    /// Any term, given back with the reply.
    pub tag: Term,
}

/// One decoded frame from the BEAM.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `{hello, Version, Opts}`.
    Hello {
        /// The version the BEAM side speaks.
        version: Term,
        /// The engine's options (a map).
        opts: Term,
    },
    /// `{req, Id, Op}`.
    Req {
        /// Correlation id.
        id: ReqId,
        /// What to do.
        op: Op,
    },
}

/// `cast` or `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendKind {
    /// A `cast` event.
    Cast,
    /// An `info` event.
    Info,
}

/// Where a callback raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaiseKind {
    /// In `init/1`.
    Init,
    /// In a state callback.
    Callback,
    /// In `terminate/3`.
    Terminate,
}

/// An operation: one per function of `throng_nif`, plus the port's own.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `ping` → `pong`.
    Ping,
    /// `{echo, Term}` → `Term`.
    Echo(Term),
    /// `stats` (`engine_stats/1`).
    Stats,
    /// `counts` (`engine_counts/1`).
    Counts,
    /// `engine_stop` (`engine_stop/1`): `ok`, then the program exits.
    EngineStop,
    /// `{batch, [Op]}`: the ops in order, a list of their results.
    Batch(Vec<Op>),
    /// `{executor_take, Ix, Max}` (`executor_take/3`).
    ExecutorTake {
        /// Executor index.
        ix: u64,
        /// Most items to take.
        max: u64,
    },
    /// `{executor_done, Ix, Results, Max}` (`executor_done/4`).
    ExecutorDone {
        /// Executor index.
        ix: u64,
        /// `[{Sid, Result, Modes}]`.
        results: Term,
        /// Most items of the next batch.
        max: u64,
    },
    /// `{session_start, Module, Args, From, Owner}` (`session_start/6`).
    SessionStart {
        /// The callback module.
        module: Term,
        /// `init/1`'s argument.
        args: Term,
        /// Gets `{Tag, Outcome}` and monitors the session with `Tag`.
        from: From,
        /// The owner's destination, or `undefined`.
        owner: Option<Dest>,
    },
    /// `{native_start, Name, Args, Owner, Watcher}` (`native_start/5`).
    NativeStart {
        /// The native machine's name (an atom).
        name: Term,
        /// `init`'s argument.
        args: Term,
        /// The owner's destination, or `undefined`.
        owner: Option<Dest>,
        /// `{Dest, Tag}` monitoring the session from before init, or
        /// `undefined`.
        watcher: Option<From>,
    },
    /// `{native_start_many, Name, [Args], Owner}` (`native_start_many/4`).
    NativeStartMany {
        /// The native machine's name (an atom).
        name: Term,
        /// `init`'s arguments, a session each.
        args: Vec<Term>,
        /// The owner's destination, or `undefined`.
        owner: Option<Dest>,
    },
    /// `{session_send_many, Kind, [{Sid, Msg}]}` (`session_send_many/3`).
    SessionSendMany {
        /// `cast` or `info`.
        kind: SendKind,
        /// The events, in order, each message as the engine stores it
        /// ([`crate::canon::stored`]).
        items: Vec<(Sid, Etf)>,
    },
    /// `{session_init_result, Sid, Result, Modes}` (`session_init_result/4`).
    SessionInitResult {
        /// Session.
        sid: Sid,
        /// What `init/1` returned.
        result: Term,
        /// `[{Module, CallbackMode}]`.
        modes: Term,
    },
    /// `{session_raise, Sid, Kind, Reason}` (`session_raise/4`).
    SessionRaise {
        /// Session.
        sid: Sid,
        /// Where.
        kind: RaiseKind,
        /// As `session_raise/4` takes it.
        reason: Term,
    },
    /// `{session_terminated, Sid}` (`session_terminated/2`).
    SessionTerminated {
        /// Session.
        sid: Sid,
    },
    /// `{session_send, Sid, cast | info, Msg, Inline}` (`session_send/5`).
    SessionSend {
        /// Session.
        sid: Sid,
        /// Event type.
        kind: SendKind,
        /// Content, as the engine stores it ([`crate::canon::stored`]).
        msg: Etf,
        /// May the caller run the callback.
        inline: bool,
    },
    /// `{session_call, Sid, From, Req, Inline}` (`session_call/6`).
    SessionCall {
        /// Session.
        sid: Sid,
        /// The caller.
        from: From,
        /// Content.
        req: Term,
        /// May the caller run the callback.
        inline: bool,
    },
    /// `{session_done, Sid, Result, Modes, Inline}` (`session_done/5`).
    SessionDone {
        /// Session.
        sid: Sid,
        /// The callback's result.
        result: Term,
        /// `[{Module, CallbackMode}]`.
        modes: Term,
        /// Hand the next callback to the caller too.
        inline: bool,
    },
    /// `{session_system, Sid, Req, From}` (`session_system/5`).
    SessionSystem {
        /// Session.
        sid: Sid,
        /// `get_state | get_status | suspend | resume | sync | {stop, R} | {replace_state, ...}`.
        req: Term,
        /// Gets the answer.
        from: From,
    },
    /// `{session_monitor, Sid, From}` (`session_monitor/4`).
    SessionMonitor {
        /// Session.
        sid: Sid,
        /// Gets the DOWN notice tagged `Tag`.
        from: From,
    },
    /// `{session_demonitor, Sid, From}` (`session_demonitor/4`).
    SessionDemonitor {
        /// Session.
        sid: Sid,
        /// The monitor.
        from: From,
    },
    /// `{session_abandon, Sid, From}` (`session_abandon/4`).
    SessionAbandon {
        /// Session.
        sid: Sid,
        /// The caller that gave up.
        from: From,
    },
    /// `{session_kill, Sid, Reason}` (`session_kill/3`).
    SessionKill {
        /// Session.
        sid: Sid,
        /// Exit reason.
        reason: Term,
    },
    /// `{session_alive, Sid}` (`session_alive/2`).
    SessionAlive {
        /// Session.
        sid: Sid,
    },
    /// `{executor_replaced, Ix, Reason}`: executor `Ix` died with `Reason`
    /// (the NIF's `executor_replaced/4`, without a pid: the BEAM side rings
    /// executors).
    ExecutorReplaced {
        /// The executor's index.
        ix: u64,
        /// The dead executor's exit reason.
        reason: Term,
    },
    /// `{dest_down, Dest}`: the process behind `Dest` died (the NIF learns
    /// this from `enif_monitor_process`).
    DestDown {
        /// The destination.
        dest: Dest,
    },
}

/// Every op name, its arity in the frame (1 for a bare atom) and the
/// `throng_nif` function it stands for (`-` for the port's own).
pub const OPS: &[(&str, usize, &str)] = &[
    ("ping", 1, "-"),
    ("echo", 2, "-"),
    ("stats", 1, "engine_stats/1"),
    ("counts", 1, "engine_counts/1"),
    ("engine_stop", 1, "engine_stop/1"),
    ("batch", 2, "-"),
    ("executor_take", 3, "executor_take/3"),
    ("executor_done", 4, "executor_done/4"),
    ("session_start", 5, "session_start/6"),
    ("session_init_result", 4, "session_init_result/4"),
    ("native_start", 5, "native_start/5"),
    ("native_start_many", 4, "native_start_many/4"),
    ("session_send_many", 3, "session_send_many/3"),
    ("session_raise", 4, "session_raise/4"),
    ("session_terminated", 2, "session_terminated/2"),
    ("session_send", 5, "session_send/5"),
    ("session_call", 5, "session_call/6"),
    ("session_done", 5, "session_done/5"),
    ("session_system", 4, "session_system/5"),
    ("session_monitor", 3, "session_monitor/4"),
    ("session_demonitor", 3, "session_demonitor/4"),
    ("session_abandon", 3, "session_abandon/4"),
    ("session_kill", 3, "session_kill/3"),
    ("session_alive", 2, "session_alive/2"),
    ("dest_down", 2, "-"),
    ("executor_replaced", 3, "executor_replaced/4"),
];

impl Op {
    /// The op's name in the frame.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Ping => "ping",
            Op::Echo(_) => "echo",
            Op::Stats => "stats",
            Op::Counts => "counts",
            Op::EngineStop => "engine_stop",
            Op::Batch(_) => "batch",
            Op::ExecutorTake { .. } => "executor_take",
            Op::ExecutorDone { .. } => "executor_done",
            Op::SessionStart { .. } => "session_start",
            Op::SessionInitResult { .. } => "session_init_result",
            Op::NativeStart { .. } => "native_start",
            Op::NativeStartMany { .. } => "native_start_many",
            Op::SessionSendMany { .. } => "session_send_many",
            Op::SessionRaise { .. } => "session_raise",
            Op::SessionTerminated { .. } => "session_terminated",
            Op::SessionSend { .. } => "session_send",
            Op::SessionCall { .. } => "session_call",
            Op::SessionDone { .. } => "session_done",
            Op::SessionSystem { .. } => "session_system",
            Op::SessionMonitor { .. } => "session_monitor",
            Op::SessionDemonitor { .. } => "session_demonitor",
            Op::SessionAbandon { .. } => "session_abandon",
            Op::SessionKill { .. } => "session_kill",
            Op::SessionAlive { .. } => "session_alive",
            Op::DestDown { .. } => "dest_down",
            Op::ExecutorReplaced { .. } => "executor_replaced",
        }
    }
}

/// Why a frame was not accepted; becomes an error frame
/// `{error, Id | undefined, Reason}` in [`error_frame`].
#[derive(Debug, Clone, PartialEq)]
pub enum ProtoError {
    /// `{frame_too_large, Len, Max}`.
    FrameTooLarge {
        /// Announced length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// `{bad_etf, Detail}`.
    BadEtf(EtfError),
    /// `bad_frame`: a term, but neither `{hello, _, _}` nor `{req, Id, _}`
    /// with a valid id.
    BadFrame,
    /// `{unknown_op, Name :: binary()}`.
    UnknownOp(String),
    /// `{badarg, OpName}`: a known op with the wrong arguments.
    Badarg(&'static str),
    /// `hello_expected`: a request before the handshake.
    HelloExpected,
    /// `already_hello`: a second handshake.
    AlreadyHello,
    /// `{version_mismatch, [Supported], Got}`; the program exits after it.
    VersionMismatch(Term),
    /// `{bad_hello_opts, Key | Opts}`: the engine could not be made from
    /// the options.
    BadHelloOpts(Term),
}

/// Decodes one frame's payload: [`etf::check`], then the hot frames from
/// their bytes ([`crate::hot`]), and every other frame through eetf's
/// term tree, as [`decode_request_general`] (which gives the same answer
/// for the hot frames too).
///
/// On error, also the request id when the envelope was readable, so the
/// error frame can name it.
pub fn decode_request(payload: &[u8], limits: EtfLimits) -> Result<Request, (Option<ReqId>, ProtoError)> {
    etf::check(payload, limits).map_err(|e| (None, ProtoError::BadEtf(e)))?;
    let utf8 = etf::utf8_atoms(payload);
    let payload = utf8.as_deref().unwrap_or(payload);
    if let Some(req) = crate::hot::decode(payload) {
        return Ok(req);
    }
    from_tree(payload)
}

/// Decodes one frame's payload through eetf's term tree, hot frames too:
/// the general path, the reference [`crate::hot`] is tested against.
pub fn decode_request_general(payload: &[u8], limits: EtfLimits) -> Result<Request, (Option<ReqId>, ProtoError)> {
    etf::check(payload, limits).map_err(|e| (None, ProtoError::BadEtf(e)))?;
    from_tree(etf::utf8_atoms(payload).as_deref().unwrap_or(payload))
}

/// The general path after the check.
fn from_tree(payload: &[u8]) -> Result<Request, (Option<ReqId>, ProtoError)> {
    let term = Term::decode(payload).map_err(|_| (None, ProtoError::BadEtf(EtfError::Invalid)))?;
    let Term::Tuple(Tuple { elements }) = term else {
        return Err((None, ProtoError::BadFrame));
    };
    let mut it = elements.into_iter();
    let (Some(head), Some(a), Some(b), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err((None, ProtoError::BadFrame));
    };
    match atom_name(&head) {
        Some("hello") => Ok(Request::Hello { version: a, opts: b }),
        Some("req") => {
            let id = uint(&a).ok_or((None, ProtoError::BadFrame))?;
            let op = decode_op(b, true).map_err(|e| (Some(id), e))?;
            Ok(Request::Req { id, op })
        }
        _ => Err((None, ProtoError::BadFrame)),
    }
}

fn decode_op(term: Term, batch_allowed: bool) -> Result<Op, ProtoError> {
    let (name, args) = match term {
        Term::Atom(a) => (a.name, Vec::new()),
        Term::Tuple(Tuple { elements }) => {
            let mut it = elements.into_iter();
            match it.next() {
                Some(Term::Atom(a)) => (a.name, it.collect()),
                _ => return Err(ProtoError::BadFrame),
            }
        }
        _ => return Err(ProtoError::BadFrame),
    };
    let Some(&(known, arity, _)) = OPS.iter().find(|(n, _, _)| *n == name) else {
        return Err(ProtoError::UnknownOp(name));
    };
    let bad = ProtoError::Badarg(known);
    if args.len() + 1 != arity {
        return Err(bad);
    }
    let mut a = args.into_iter();
    let mut next = move || a.next().expect("arity checked");
    let sid = |t: Term| uint(&t).ok_or(ProtoError::Badarg(known));
    let from = |t: Term| decode_from(t).ok_or(ProtoError::Badarg(known));
    let flag = |t: Term| boolean(&t).ok_or(ProtoError::Badarg(known));
    Ok(match known {
        "ping" => Op::Ping,
        "echo" => Op::Echo(next()),
        "stats" => Op::Stats,
        "counts" => Op::Counts,
        "engine_stop" => Op::EngineStop,
        "batch" => {
            if !batch_allowed {
                return Err(bad);
            }
            let Term::List(List { elements }) = next() else { return Err(bad) };
            let mut ops = Vec::with_capacity(elements.len());
            for t in elements {
                ops.push(decode_op(t, false)?);
            }
            Op::Batch(ops)
        }
        "executor_take" => Op::ExecutorTake { ix: sid(next())?, max: sid(next())? },
        "executor_done" => Op::ExecutorDone { ix: sid(next())?, results: next(), max: sid(next())? },
        "session_start" => {
            let (module, args) = (next(), next());
            let from = from(next())?;
            let owner = match next() {
                t if atom_name(&t) == Some("undefined") => None,
                t => Some(dest(&t).ok_or(bad)?),
            };
            Op::SessionStart { module, args, from, owner }
        }
        "native_start" => {
            let (name, args) = (next(), next());
            let owner = opt_dest(next()).ok_or(bad.clone())?;
            let watcher = match next() {
                t if atom_name(&t) == Some("undefined") => None,
                t => Some(from(t)?),
            };
            Op::NativeStart { name, args, owner, watcher }
        }
        "native_start_many" => {
            let name = next();
            let Term::List(List { elements: args }) = next() else { return Err(bad) };
            let owner = opt_dest(next()).ok_or(bad)?;
            Op::NativeStartMany { name, args, owner }
        }
        "session_send_many" => {
            let kind = match atom_name(&next()) {
                Some("cast") => SendKind::Cast,
                Some("info") => SendKind::Info,
                _ => return Err(bad),
            };
            let Term::List(List { elements }) = next() else { return Err(bad) };
            let mut items = Vec::with_capacity(elements.len());
            for e in elements {
                let Term::Tuple(Tuple { elements: pair }) = e else { return Err(bad) };
                let [s, msg]: [Term; 2] = pair.try_into().map_err(|_| bad.clone())?;
                items.push((sid(s)?, crate::canon::stored(&msg)));
            }
            Op::SessionSendMany { kind, items }
        }
        "session_init_result" => Op::SessionInitResult { sid: sid(next())?, result: next(), modes: next() },
        "session_raise" => {
            let sid = sid(next())?;
            let kind = match atom_name(&next()) {
                Some("init") => RaiseKind::Init,
                Some("callback") => RaiseKind::Callback,
                Some("terminate") => RaiseKind::Terminate,
                _ => return Err(bad),
            };
            Op::SessionRaise { sid, kind, reason: next() }
        }
        "session_terminated" => Op::SessionTerminated { sid: sid(next())? },
        "session_send" => {
            let sid = sid(next())?;
            let kind = match atom_name(&next()) {
                Some("cast") => SendKind::Cast,
                Some("info") => SendKind::Info,
                _ => return Err(bad),
            };
            let msg = crate::canon::stored(&next());
            Op::SessionSend { sid, kind, msg, inline: flag(next())? }
        }
        "session_call" => {
            Op::SessionCall { sid: sid(next())?, from: from(next())?, req: next(), inline: flag(next())? }
        }
        "session_done" => Op::SessionDone { sid: sid(next())?, result: next(), modes: next(), inline: flag(next())? },
        "session_system" => Op::SessionSystem { sid: sid(next())?, req: next(), from: from(next())? },
        "session_monitor" => Op::SessionMonitor { sid: sid(next())?, from: from(next())? },
        "session_demonitor" => Op::SessionDemonitor { sid: sid(next())?, from: from(next())? },
        "session_abandon" => Op::SessionAbandon { sid: sid(next())?, from: from(next())? },
        "session_kill" => Op::SessionKill { sid: sid(next())?, reason: next() },
        "session_alive" => Op::SessionAlive { sid: sid(next())? },
        "executor_replaced" => Op::ExecutorReplaced { ix: sid(next())?, reason: next() },
        "dest_down" => Op::DestDown { dest: dest(&next()).ok_or(bad)? },
        _ => return Err(ProtoError::UnknownOp(name)),
    })
}

/// A destination or `undefined` (`None` inside: no destination).
fn opt_dest(t: Term) -> Option<Option<Dest>> {
    if atom_name(&t) == Some("undefined") {
        Some(None)
    } else {
        dest(&t).map(Some)
    }
}

fn decode_from(t: Term) -> Option<From> {
    let Term::Tuple(Tuple { elements }) = t else { return None };
    let [dest, tag]: [Term; 2] = elements.try_into().ok()?;
    Some(From { dest: self::dest(&dest)?, tag })
}

/// A destination: a pid or a non-negative integer below 2^64.
pub fn dest(t: &Term) -> Option<Dest> {
    match t {
        Term::Pid(_) => Some(throng_beam::Etf::from_bytes(crate::canon::encode(t))),
        _ => uint(t).map(|n| throng_beam::Etf::from_bytes(crate::canon::encode(&int(n)))),
    }
}

/// Whether `t` is a tuple whose first element is the atom `tag`.
pub fn is_tagged(t: &Term, tag: &str) -> bool {
    matches!(t, Term::Tuple(Tuple { elements }) if elements.first().and_then(atom_name) == Some(tag))
}

/// The name of an atom term.
pub fn atom_name(t: &Term) -> Option<&str> {
    match t {
        Term::Atom(a) => Some(&a.name),
        _ => None,
    }
}

fn boolean(t: &Term) -> Option<bool> {
    match atom_name(t)? {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// An integer that fits an `i64`, whichever way it was encoded.
pub fn sint(t: &Term) -> Option<i64> {
    match t {
        Term::FixInteger(FixInteger { value }) => Some(i64::from(*value)),
        Term::BigInteger(BigInteger { value }) => i64::try_from(value).ok(),
        _ => None,
    }
}

/// A non-negative integer below 2^64, whichever way it was encoded.
pub fn uint(t: &Term) -> Option<u64> {
    match t {
        Term::FixInteger(FixInteger { value }) => u64::try_from(*value).ok(),
        Term::BigInteger(BigInteger { value }) => u64::try_from(value).ok(),
        _ => None,
    }
}

// ---- building terms ----

/// An atom the port knows.
pub fn atom(name: &'static str) -> Term {
    Term::from(Atom::from(name))
}

/// An integer, as the BEAM would encode it.
pub fn int(v: u64) -> Term {
    match i32::try_from(v) {
        Ok(v) => Term::from(FixInteger::from(v)),
        Err(_) => Term::from(BigInteger::from(v)),
    }
}

/// A tuple.
pub fn tuple(items: impl IntoIterator<Item = Term>) -> Term {
    Term::from(Tuple::from(items.into_iter().collect::<Vec<_>>()))
}

/// A proper list.
pub fn list(items: impl IntoIterator<Item = Term>) -> Term {
    Term::from(List::from(items.into_iter().collect::<Vec<_>>()))
}

/// A binary.
pub fn binary(bytes: &[u8]) -> Term {
    Term::from(Binary::from(bytes))
}

/// A map with atom keys.
pub fn atom_map(pairs: impl IntoIterator<Item = (&'static str, Term)>) -> Term {
    Term::from(Map::from(pairs.into_iter().map(|(k, v)| (atom(k), v)).collect::<std::collections::HashMap<_, _>>()))
}

/// `{rep, Id, Result}`.
pub fn reply_frame(id: ReqId, result: Term) -> Term {
    tuple([atom("rep"), int(id), result])
}

/// An op's result, as the server writes it in `{rep, Id, Result}`
/// ([`write_reply`]). A send's `ok` or `{error, Reason}`, and a batch's
/// list of them, are written without building terms; every other result
/// is a term.
#[derive(Debug, Clone, PartialEq)]
pub enum Res {
    /// `ok`.
    Ok,
    /// `{error, Reason}`.
    Error(&'static str),
    /// Any term.
    Term(Term),
    /// A batch's results, in order.
    List(Vec<Res>),
    /// A term already written as [`encode`] writes it, without the
    /// version byte (an executor's work items).
    Raw(Vec<u8>),
}

impl std::convert::From<Result<(), throng_core::Error>> for Res {
    fn from(r: Result<(), throng_core::Error>) -> Res {
        match r {
            Ok(()) => Res::Ok,
            Err(e) => Res::Error(e.as_atom()),
        }
    }
}

impl Res {
    /// The result as a term.
    pub fn to_term(&self) -> Term {
        match self {
            Res::Ok => atom("ok"),
            Res::Error(reason) => error_result(reason),
            Res::Term(t) => t.clone(),
            Res::List(v) => list(v.iter().map(Res::to_term)),
            Res::Raw(b) => {
                let mut etf = Vec::with_capacity(b.len() + 1);
                etf.push(131);
                etf.extend_from_slice(b);
                Term::decode(&etf[..]).unwrap_or_else(|_| atom("undefined"))
            }
        }
    }

    /// Writes the result as [`encode`] writes [`Res::to_term`] (without
    /// the version byte).
    fn write(&self, buf: &mut Vec<u8>) {
        match self {
            Res::Ok => crate::canon::atom(b"ok", buf),
            Res::Error(reason) => {
                buf.extend_from_slice(&[104, 2]);
                crate::canon::atom(b"error", buf);
                crate::canon::atom(reason.as_bytes(), buf);
            }
            Res::Term(t) => crate::canon::write(t, buf),
            Res::Raw(b) => buf.extend_from_slice(b),
            Res::List(v) if v.is_empty() => buf.push(106),
            // Not a string: one element at least is not an integer.
            Res::List(v)
                if v.iter().all(|r| matches!(r, Res::Ok | Res::Error(_) | Res::Raw(_)))
                    && !v.iter().all(|r| matches!(r, Res::Raw(b) if b.first() == Some(&97))) =>
            {
                buf.push(108);
                buf.extend_from_slice(&(v.len() as u32).to_be_bytes());
                v.iter().for_each(|r| r.write(buf));
                buf.push(106);
            }
            Res::List(_) => crate::canon::write(&self.to_term(), buf),
        }
    }
}

/// Appends the payload of `{rep, Id, Result}` to `buf`: the bytes of
/// [`encode`]`(&`[`reply_frame`]`(id, result.to_term()))`.
pub fn write_reply(id: ReqId, result: &Res, buf: &mut Vec<u8>) {
    buf.extend_from_slice(&[131, 104, 3]);
    crate::canon::atom(b"rep", buf);
    crate::canon::uint(id, buf);
    result.write(buf);
}

/// `{error, Reason}` as an op's result.
pub fn error_result(reason: &'static str) -> Term {
    tuple([atom("error"), atom(reason)])
}

/// `{error, Id | undefined, Reason}`: the one place protocol errors become
/// terms.
pub fn error_frame(id: Option<ReqId>, e: &ProtoError) -> Term {
    let id = id.map_or_else(|| atom("undefined"), int);
    let reason = match e {
        ProtoError::FrameTooLarge { len, max } => tuple([atom("frame_too_large"), int(*len as u64), int(*max as u64)]),
        ProtoError::BadEtf(d) => tuple([atom("bad_etf"), etf_detail(d)]),
        ProtoError::BadFrame => atom("bad_frame"),
        ProtoError::UnknownOp(name) => tuple([atom("unknown_op"), binary(name.as_bytes())]),
        ProtoError::Badarg(op) => tuple([atom("badarg"), atom(op)]),
        ProtoError::HelloExpected => atom("hello_expected"),
        ProtoError::AlreadyHello => atom("already_hello"),
        ProtoError::VersionMismatch(got) => {
            tuple([atom("version_mismatch"), list([int(u64::from(PROTOCOL_VERSION))]), got.clone()])
        }
        ProtoError::BadHelloOpts(what) => tuple([atom("bad_hello_opts"), what.clone()]),
    };
    tuple([atom("error"), id, reason])
}

fn etf_detail(e: &EtfError) -> Term {
    match e {
        EtfError::Version => atom("version"),
        EtfError::Truncated => atom("truncated"),
        EtfError::TrailingBytes => atom("trailing_bytes"),
        EtfError::UnsupportedTag(t) => tuple([atom("unsupported_tag"), int(u64::from(*t))]),
        EtfError::TooDeep => atom("too_deep"),
        EtfError::TooManyTerms => atom("too_many_terms"),
        EtfError::BadBitBinary => atom("bad_bit_binary"),
        EtfError::AtomTooLong => atom("atom_too_long"),
        EtfError::Invalid => atom("invalid"),
    }
}

/// Encodes a term as a frame payload (as [`crate::canon::encode`]: eetf's
/// own encoder writes lists of negative integers wrongly).
pub fn encode(t: &Term) -> Vec<u8> {
    crate::canon::encode(t)
}
