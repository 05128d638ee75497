//! The serving loop: read a frame, answer it, next.
//!
//! Requests are handled one at a time in arrival order, so replies leave
//! in request order and at most one request is in flight inside the
//! program; the BEAM side may pipeline up to `max_in_flight` (the pipe
//! holds the rest: a full pipe is the backpressure). Replies are flushed
//! when no further input is buffered, so a pipelined burst costs few
//! writes.

use eetf::Term;
use throng_core::machines::code_lock::CodeLock;
use throng_core::{Config, Engine, SystemClock};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};

use crate::frame::{write_frame, FrameError, FrameReader};
use crate::proto::{self, atom, int, Op, ProtoError, Request, PROTOCOL_VERSION};
use crate::Limits;

/// The machine the program hosts in this draft: a placeholder until the
/// BEAM callback-module machine is shared with the NIF (see the protocol
/// document, "Status").
pub type HostedMachine = CodeLock;

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
    engine: Option<Engine<HostedMachine>>,
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
    let exit = loop {
        let payload = match reader.read().await {
            Ok(Some(p)) => p,
            Ok(None) => break Exit::Eof,
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
        let (reply, exit) = st.handle(&payload);
        send(&mut out, &reply).await?;
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

async fn send<W: AsyncWrite + Unpin>(out: &mut W, t: &Term) -> std::io::Result<()> {
    write_frame(out, &proto::encode(t)).await
}

impl State {
    /// The answer to one frame, and whether the program ends after it.
    fn handle(&mut self, payload: &[u8]) -> (Term, Option<Exit>) {
        let req = match proto::decode_request(payload, self.limits.etf()) {
            Ok(r) => r,
            Err((id, e)) => {
                self.bad_frames += 1;
                return (proto::error_frame(id, &e), None);
            }
        };
        match req {
            Request::Hello { version, opts } => self.hello(version, opts),
            Request::Req { id, .. } if self.engine.is_none() => {
                self.bad_frames += 1;
                (proto::error_frame(Some(id), &ProtoError::HelloExpected), None)
            }
            Request::Req { id, op } => {
                let stop = op == Op::EngineStop;
                let result = self.run(op);
                (proto::reply_frame(id, result), stop.then_some(Exit::Stopped))
            }
        }
    }

    fn hello(&mut self, version: Term, opts: Term) -> (Term, Option<Exit>) {
        if self.engine.is_some() {
            self.bad_frames += 1;
            return (proto::error_frame(None, &ProtoError::AlreadyHello), None);
        }
        if proto::uint(&version) != Some(u64::from(PROTOCOL_VERSION)) {
            return (proto::error_frame(None, &ProtoError::VersionMismatch(version)), Some(Exit::VersionMismatch));
        }
        let config = match self.config_from(opts) {
            Ok(c) => c,
            Err(what) => return (proto::error_frame(None, &ProtoError::BadHelloOpts(what)), None),
        };
        match Engine::new(CodeLock::new(), config, SystemClock::new(0)) {
            Ok(e) => self.engine = Some(e),
            Err(_) => return (proto::error_frame(None, &ProtoError::BadHelloOpts(atom("shards"))), None),
        }
        let l = &self.limits;
        let info = proto::atom_map([
            ("protocol", int(u64::from(PROTOCOL_VERSION))),
            ("version", proto::binary(env!("CARGO_PKG_VERSION").as_bytes())),
            ("machine", proto::binary(b"code_lock")),
            ("max_frame_bytes", int(l.max_frame_bytes as u64)),
            ("max_sessions", int(l.max_sessions as u64)),
            ("max_queue_len", int(l.max_queue_len as u64)),
            ("max_in_flight", int(l.max_in_flight as u64)),
            ("max_depth", int(l.max_depth as u64)),
            ("max_terms", int(l.max_terms as u64)),
        ]);
        (proto::tuple([atom("hello"), int(u64::from(PROTOCOL_VERSION)), info]), None)
    }

    /// The engine's configuration from the flags and the hello options,
    /// which may lower the flags' limits but not raise them. `Err`: the
    /// offending key (or the options) for the error frame.
    fn config_from(&mut self, opts: Term) -> Result<Config, Term> {
        let mut c = Config {
            max_sessions: self.limits.max_sessions,
            max_queue_len: self.limits.max_queue_len,
            ..Config::default()
        };
        let Term::Map(map) = opts else { return Err(opts) };
        for (k, v) in map.map {
            let n = proto::uint(&v).map(|n| usize::try_from(n).unwrap_or(usize::MAX));
            match (proto::atom_name(&k), n) {
                (Some("max_sessions"), Some(n)) => c.max_sessions = n.min(self.limits.max_sessions),
                (Some("max_queue_len"), Some(n)) => c.max_queue_len = n.min(self.limits.max_queue_len),
                (Some("shards"), Some(n)) if (1..=4096).contains(&n) => c.shards = n,
                _ => return Err(k),
            }
        }
        self.limits.max_sessions = c.max_sessions;
        self.limits.max_queue_len = c.max_queue_len;
        Ok(c)
    }

    fn run(&mut self, op: Op) -> Term {
        match op {
            Op::Ping => atom("pong"),
            Op::Echo(t) => t,
            Op::Stats => self.stats(),
            Op::EngineStop => atom("ok"),
            Op::Batch(ops) => proto::list(ops.into_iter().map(|op| self.run(op))),
            // The engine side of the other ops is the next slice's.
            _ => proto::error_result("not_implemented"),
        }
    }

    fn stats(&self) -> Term {
        let st = self.engine.as_ref().map(|e| e.stats()).unwrap_or_default();
        proto::atom_map([
            ("sessions", int(st.sessions as u64)),
            ("queued_events", int(st.queued_events as u64)),
            ("timers", int(st.timers as u64)),
            ("table_bytes", int(st.table_bytes as u64)),
            ("memory", int((st.table_bytes + st.session_heap_bytes) as u64)),
            ("executor_queue", int(0)),
            ("inline_runs", int(0)),
            ("frames_in", int(self.frames_in)),
            ("bad_frames", int(self.bad_frames)),
        ])
    }
}
