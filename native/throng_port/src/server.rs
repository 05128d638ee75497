//! The serving loop: read a frame, answer it, next; between frames, fire
//! the engine's timers when they expire.
//!
//! Requests are handled one at a time in arrival order, so replies leave
//! in request order and at most one request is in flight inside the
//! program; the BEAM side may pipeline up to `max_in_flight` (the pipe
//! holds the rest: a full pipe is the backpressure). Replies are flushed
//! when no further input is buffered, so a pipelined burst costs few
//! writes. Frames the engine pushes during an op (replies to a `From`,
//! DOWN notices, rings) are written before the op's reply, as the NIF's
//! messages are sent before it returns.
//!
//! While no input is buffered the loop waits for whichever comes first:
//! input, or the engine's next timer (a tokio `select!` between the
//! reader's buffer filling, which is cancel-safe, and a sleep). A frame
//! that has begun is read to its end before timers are looked at again.

use std::time::Duration;

use eetf::Term;
use throng_core::{Config, TerminateResult};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};

use crate::frame::{write_frame, FrameError, FrameReader};
use crate::ops::Hosted;
use crate::out::Pushed;
use crate::proto::{self, atom, int, Op, ProtoError, Request, Res, PROTOCOL_VERSION};
use crate::Limits;

/// Most executors a hello may ask for.
pub const MAX_EXECUTORS: usize = 4096;

/// How serving ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The input ended between frames (the port was closed): exit 0.
    Eof,
    /// `engine_stop` was answered: exit 0.
    Stopped,
    /// The handshake named another protocol version: exit 4.
    VersionMismatch,
    /// The input ended inside a frame: exit 3.
    Truncated,
}

impl Exit {
    /// The program's exit status.
    pub fn code(self) -> i32 {
        match self {
            Exit::Eof | Exit::Stopped => 0,
            Exit::Truncated => 3,
            Exit::VersionMismatch => 4,
        }
    }
}

struct State {
    limits: Limits,
    engine: Option<Hosted>,
    frames_in: u64,
    bad_frames: u64,
}

/// Serves one connection until it ends.
pub async fn serve<R, W>(input: R, output: W, limits: Limits) -> std::io::Result<Exit>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut reader = FrameReader::new(input, limits.max_frame_bytes);
    let mut out = BufWriter::with_capacity(64 * 1024, output);
    let mut st = State { limits, engine: None, frames_in: 0, bad_frames: 0 };
    // One frame in, its answer out: buffers kept from frame to frame.
    let (mut payload, mut reply) = (Vec::new(), Vec::new());
    let exit = loop {
        if !reader.has_buffered() {
            if let Some(wait) = st.timer_wait() {
                out.flush().await?;
                tokio::select! {
                    ready = reader.ready() => {
                        if let Err(FrameError::Io(e)) = ready {
                            return Err(e);
                        }
                    }
                    _ = tokio::time::sleep(wait) => {
                        st.tick();
                        send_pushed(&mut out, &mut st).await?;
                        out.flush().await?;
                        continue;
                    }
                }
            }
        }
        match reader.read_into(&mut payload).await {
            Ok(true) => {}
            Ok(false) => break Exit::Eof,
            Err(FrameError::TooLarge { len, max }) => {
                st.bad_frames += 1;
                send(&mut out, &proto::error_frame(None, &ProtoError::FrameTooLarge { len, max })).await?;
                out.flush().await?;
                continue;
            }
            Err(FrameError::Truncated) => {
                let e = ProtoError::BadEtf(crate::etf::EtfError::Truncated);
                send(&mut out, &proto::error_frame(None, &e)).await?;
                break Exit::Truncated;
            }
            Err(FrameError::Io(e)) => return Err(e),
        };
        st.frames_in += 1;
        reply.clear();
        let exit = st.handle(&payload, &mut reply);
        send_pushed(&mut out, &mut st).await?;
        write_frame(&mut out, &reply).await?;
        if let Some(exit) = exit {
            break exit;
        }
        if !reader.has_buffered() {
            out.flush().await?;
        }
    };
    out.flush().await?;
    Ok(exit)
}

/// Writes the frames the engine pushed.
async fn send_pushed<W: AsyncWrite + Unpin>(out: &mut W, st: &mut State) -> std::io::Result<()> {
    let Some(h) = st.engine.as_mut() else { return Ok(()) };
    if h.side.wake {
        h.tick();
    }
    h.side.wake(crate::ops::WORK_BATCH);
    // DOWN notices after everything else: a session's replies (a stop's
    // `{stopped, R}`, a call's answer) reach their process before its DOWN,
    // as a gen_statem's do, though the BEAM side forwards each frame as a
    // message of its own (a caller that sees the DOWN flushes the reply
    // without waiting for it).
    let pushed = std::mem::take(&mut h.side.pushed);
    if pushed.is_empty() {
        return Ok(());
    }
    let (downs, rest): (Vec<Pushed>, Vec<Pushed>) = pushed.into_iter().partition(Pushed::is_down);
    for p in rest.iter().chain(&downs) {
        match p {
            Pushed::Term(t) => send(out, t).await?,
            Pushed::Bytes(b) => write_frame(out, b).await?,
        }
    }
    Ok(())
}

async fn send<W: AsyncWrite + Unpin>(out: &mut W, t: &Term) -> std::io::Result<()> {
    write_frame(out, &proto::encode(t)).await
}

impl State {
    /// How long until the engine's next timer, if it has one.
    fn timer_wait(&self) -> Option<Duration> {
        let h = self.engine.as_ref()?;
        // No time-out held (each shard's count, read without locking it:
        // exact here, where no other thread drives the engine): nothing to
        // wait for, and no shard's wheel to look at, between every two
        // frames.
        if h.engine.counts().timers == 0 {
            return None;
        }
        h.engine.next_wakeup()?;
        Some(h.engine.tick_wait(Duration::from_secs(60)))
    }

    fn tick(&mut self) {
        if let Some(h) = self.engine.as_mut() {
            h.tick();
        }
    }

    /// Writes the answer to one frame (its payload) to `reply`; whether
    /// the program ends after it.
    fn handle(&mut self, payload: &[u8], reply: &mut Vec<u8>) -> Option<Exit> {
        let req = match proto::decode_request(payload, self.limits.etf()) {
            Ok(r) => r,
            Err((id, e)) => {
                self.bad_frames += 1;
                reply.extend(proto::encode(&proto::error_frame(id, &e)));
                return None;
            }
        };
        match req {
            Request::Hello { version, opts } => {
                let (answer, exit) = self.hello(version, opts);
                reply.extend(proto::encode(&answer));
                exit
            }
            Request::Req { id, .. } if self.engine.is_none() => {
                self.bad_frames += 1;
                reply.extend(proto::encode(&proto::error_frame(Some(id), &ProtoError::HelloExpected)));
                None
            }
            Request::Req { id, op } => {
                let stop = op == Op::EngineStop;
                let result = self.run(op);
                proto::write_reply(id, &result, reply);
                stop.then_some(Exit::Stopped)
            }
        }
    }

    fn hello(&mut self, version: Term, opts: Term) -> (Term, Option<Exit>) {
        fn native_atoms() -> Term {
            let natives = throng_machines::natives::<crate::beam::Port>();
            proto::list(natives.atoms().map(|a| proto::binary(a.as_bytes())).collect::<Vec<_>>())
        }
        if self.engine.is_some() {
            self.bad_frames += 1;
            return (proto::error_frame(None, &ProtoError::AlreadyHello), None);
        }
        if proto::uint(&version) != Some(u64::from(PROTOCOL_VERSION)) {
            return (proto::error_frame(None, &ProtoError::VersionMismatch(version)), Some(Exit::VersionMismatch));
        }
        let (config, executors, now_ns) = match self.config_from(opts) {
            Ok(c) => c,
            Err(what) => return (proto::error_frame(None, &ProtoError::BadHelloOpts(what)), None),
        };
        match Hosted::new(config, executors, now_ns) {
            Ok(e) => self.engine = Some(e),
            Err(_) => return (proto::error_frame(None, &ProtoError::BadHelloOpts(atom("shards"))), None),
        }
        let l = &self.limits;
        let info = proto::atom_map([
            ("protocol", int(u64::from(PROTOCOL_VERSION))),
            ("version", proto::binary(env!("CARGO_PKG_VERSION").as_bytes())),
            ("machine", proto::binary(b"beam")),
            ("executors", int(executors as u64)),
            ("max_frame_bytes", int(l.max_frame_bytes as u64)),
            ("max_sessions", int(l.max_sessions as u64)),
            ("max_queue_len", int(l.max_queue_len as u64)),
            ("max_in_flight", int(l.max_in_flight as u64)),
            ("max_depth", int(l.max_depth as u64)),
            ("max_terms", int(l.max_terms as u64)),
        ]);
        // The native machines' atoms, as binaries, under the binary key
        // <<"native_atoms">> (an atom key would be one a `[safe]` decoder
        // may not know): the owner makes them exist before it decodes a
        // frame holding one.
        let info = match info {
            Term::Map(mut m) => {
                m.map.insert(proto::binary(b"native_atoms"), native_atoms());
                Term::Map(m)
            }
            other => other,
        };
        (proto::tuple([atom("hello"), int(u64::from(PROTOCOL_VERSION)), info]), None)
    }

    /// The engine's configuration from the flags and the hello options,
    /// which may lower the flags' limits but not raise them. `Err`: the
    /// offending key (or the options) for the error frame. Also the number
    /// of executors (`executors`, default 1) and the clock's reading now
    /// (`now_ns`, default 0).
    fn config_from(&mut self, opts: Term) -> Result<(Config, usize, i128), Term> {
        let mut executors = 1;
        let mut now_ns = 0;
        let mut c = Config {
            max_sessions: self.limits.max_sessions,
            max_queue_len: self.limits.max_queue_len,
            ..Config::default()
        };
        let Term::Map(map) = opts else { return Err(opts) };
        for (k, v) in map.map {
            if proto::atom_name(&k) == Some("now_ns") {
                now_ns = proto::sint(&v).ok_or(k)?;
                continue;
            }
            let n = proto::uint(&v).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
            match (proto::atom_name(&k), n) {
                (Some("max_sessions"), Some(n)) => c.max_sessions = n.min(self.limits.max_sessions),
                (Some("max_queue_len"), Some(n)) => c.max_queue_len = n.min(self.limits.max_queue_len),
                (Some("shards"), Some(n)) if (1..=4096).contains(&n) => c.shards = n,
                (Some("executors"), Some(n)) if (1..=MAX_EXECUTORS).contains(&n) => executors = n,
                _ => return Err(k),
            }
        }
        self.limits.max_sessions = c.max_sessions;
        self.limits.max_queue_len = c.max_queue_len;
        Ok((c, executors, i128::from(now_ns)))
    }

    fn run(&mut self, op: Op) -> Res {
        let h = match op {
            Op::Ping => return Res::Term(atom("pong")),
            Op::Echo(t) => return Res::Term(t),
            Op::Stats => return Res::Term(self.stats()),
            Op::Counts => return Res::Term(self.counts()),
            Op::Batch(ops) => return Res::List(ops.into_iter().map(|op| self.run(op)).collect()),
            _ => match self.engine.as_mut() {
                Some(h) => h,
                None => return Res::Error("noproc"),
            },
        };
        // Inline runs are not handed out over the port: `ok` (as with the
        // NIF's `inline => none`).
        match op {
            Op::SessionSend { sid, kind, msg, inline: _ } => return h.send(sid, kind, msg).into(),
            Op::ExecutorTake { ix, max } => return h.take(ix, max),
            Op::ExecutorDone { ix, results, max } => return h.executor_done(ix, &results, max),
            _ => {}
        }
        Res::Term(match op {
            Op::EngineStop => {
                h.shutdown();
                atom("ok")
            }
            Op::SessionStart { module, args, from, owner } => h.start(&module, &args, &from, owner),
            Op::SessionInitResult { sid, result, modes } => h.init_result(sid, &result, &modes),
            Op::NativeStart { name, args, owner, watcher } => h.native_start(&name, &args, owner, watcher),
            Op::NativeStartMany { name, args, owner } => h.native_start_many(&name, &args, owner),
            Op::SessionSendMany { kind, items } => h.send_many(kind, items),
            Op::SessionRaise { sid, kind, reason } => h.raise(sid, kind, &reason),
            Op::SessionTerminated { sid } => h.terminated(sid, TerminateResult::Ok),
            Op::SessionCall { sid, from, req, inline: _ } => h.call(sid, &from, &req),
            Op::SessionDone { sid, result, modes, inline: _ } => h.done(sid, &result, &modes),
            Op::SessionSystem { sid, req, from } => h.system(sid, &req, &from),
            Op::SessionMonitor { sid, from } => h.monitor(sid, &from),
            Op::SessionDemonitor { sid, from } => h.demonitor(sid, &from),
            Op::SessionAbandon { sid, from } => h.abandon(sid, &from),
            Op::SessionKill { sid, reason } => h.kill(sid, &reason),
            Op::SessionAlive { sid } => h.alive(sid),
            Op::DestDown { dest } => h.dest_down(dest),
            Op::ExecutorReplaced { ix, reason } => h.executor_replaced(ix, &reason),
            Op::Ping
            | Op::Echo(_)
            | Op::Stats
            | Op::Counts
            | Op::Batch(_)
            | Op::SessionSend { .. }
            | Op::ExecutorTake { .. }
            | Op::ExecutorDone { .. } => unreachable!("answered above"),
        })
    }

    fn counts(&self) -> Term {
        let c = self.engine.as_ref().map(|h| h.engine.counts()).unwrap_or_default();
        proto::atom_map([("sessions", int(c.sessions as u64)), ("timers", int(c.timers as u64))])
    }

    fn stats(&self) -> Term {
        let st = self.engine.as_ref().map(|h| h.engine.stats()).unwrap_or_default();
        let queued = self.engine.as_ref().map_or(0, |h| h.side.queued());
        proto::atom_map([
            ("sessions", int(st.sessions as u64)),
            ("queued_events", int(st.queued_events as u64)),
            ("timers", int(st.timers as u64)),
            ("table_bytes", int(st.table_bytes as u64)),
            ("memory", int((st.table_bytes + st.session_heap_bytes) as u64)),
            ("executor_queue", int(queued as u64)),
            ("inline_runs", int(0)),
            ("frames_in", int(self.frames_in)),
            ("bad_frames", int(self.bad_frames)),
        ])
    }
}
