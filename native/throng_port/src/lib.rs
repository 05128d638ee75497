//! `throng_port`: the Throng engine as a standalone program speaking the
//! Erlang port protocol — `{packet,4}` frames of External Term Format on
//! stdin/stdout. The protocol is `docs/port-protocol.md` (version 1, draft).
//!
//! * [`frame`]: `{packet,4}` framing with a maximum frame size;
//! * [`beam`]: the callback-module machine's host here, and the view of
//!   `eetf` terms that gen_statem's result rules (`throng_beam`) read;
//! * [`canon`]: terms kept in the engine, encoded one way (map keys
//!   sorted);
//! * [`etf`]: the structural check that runs before `eetf` decodes a frame;
//! * [`hot`]: the hot frames (`session_send`, batches of them,
//!   `session_send_many`) decoded from their bytes, without a term tree;
//! * [`ops`]: the session and executor ops on the hosted engine;
//! * [`out`]: the engine's output: pushed frames, executor queues, and the
//!   terms (work items, exit reasons) the NIF builds with rustler;
//! * [`proto`]: frames as typed [`proto::Request`]s, and the frames that go
//!   back, errors mapped to terms in one place;
//! * [`server`]: the loop that answers frames.
//!
//! The library exists for the tests and the fuzz target; the binary is
//! `src/main.rs`.

// One unsafe call in all: registering standard input and output with the
// reactor (`fdio`).
#![deny(unsafe_code)]

pub mod beam;
pub mod canon;
pub mod etf;
pub mod fdio;
pub mod frame;
pub mod hot;
pub mod ops;
pub mod out;
pub mod proto;
pub mod server;

/// Every limit of the program; each is a command-line flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame payload read (`--max-frame-bytes`).
    pub max_frame_bytes: usize,
    /// Most live sessions (`--max-sessions`).
    pub max_sessions: usize,
    /// Most unhandled events per session (`--max-queue-len`).
    pub max_queue_len: usize,
    /// Most requests the BEAM side may have unanswered (`--max-in-flight`).
    pub max_in_flight: usize,
    /// Deepest nesting in a frame (`--max-depth`).
    pub max_depth: usize,
    /// Most terms in a frame (`--max-terms`).
    pub max_terms: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let core = throng_core::Config::default();
        Limits {
            max_frame_bytes: 16 << 20,
            max_sessions: core.max_sessions,
            max_queue_len: core.max_queue_len,
            max_in_flight: 1024,
            max_depth: etf::DEFAULT_MAX_DEPTH,
            max_terms: etf::DEFAULT_MAX_TERMS,
        }
    }
}

impl Limits {
    /// The limits of the ETF check.
    pub fn etf(&self) -> etf::EtfLimits {
        etf::EtfLimits { max_depth: self.max_depth, max_terms: self.max_terms }
    }
}
