//! Callbacks run by the caller ("inline").
//!
//! An event for an idle session need not wait for an executor: the process
//! that sends it can run the callback itself, as a gen_statem process runs
//! its own callbacks, and hand the result back at once. No message, no
//! process switch, no queue. The NIF answers `{run, Work}` instead of `ok`
//! and the caller runs `Work` (throng_executor:run_inline/3), then calls
//! `session_done/5`, which may hand it the same session's next callback
//! (an enter call, an event that arrived meanwhile).
//!
//! Which events run inline is the engine's `inline` option: `calls`
//! (calls with an infinite time-out: their caller waits anyway), `all`
//! (casts and infos too: `cast/2` then returns after the callback) or
//! `none`. The Erlang side asks for it only outside callbacks, so runs never
//! nest.
//!
//! A session whose callback runs inline is *claimed* by the running process.
//! Should that process die in the middle (an exit signal, `kill`), the
//! engine thread notices (it checks claims older than [`CLAIM_CHECK_MS`]
//! with `enif_is_process_alive`) and the session ends with reason `killed`,
//! as a gen_statem killed in a callback would.

use std::sync::Mutex;

use rustler::LocalPid;

/// The engine's `inline` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Every callback runs in an executor.
    None,
    /// Calls with an infinite time-out run in the caller.
    Calls,
    /// Calls (infinite time-out), casts and infos run in the sender.
    All,
}

/// How long a claim may last before the engine thread checks that its
/// runner is alive.
pub const CLAIM_CHECK_MS: i64 = 100;

const SHARDS: usize = 16;

/// The sessions whose callback runs in a caller, and who runs it.
pub struct Claims {
    shards: Vec<Mutex<Vec<Claim>>>,
}

#[derive(Clone, Copy)]
struct Claim {
    session: u64,
    runner: LocalPid,
    since_ms: i64,
}

impl Claims {
    pub fn new() -> Claims {
        Claims { shards: (0..SHARDS).map(|_| Mutex::new(Vec::new())).collect() }
    }

    fn shard(&self, session: u64) -> std::sync::MutexGuard<'_, Vec<Claim>> {
        self.shards[session as usize % SHARDS].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `runner` runs `session`'s callback from `now_ms` on.
    pub fn claim(&self, session: u64, runner: LocalPid, now_ms: i64) {
        let mut s = self.shard(session);
        match s.iter_mut().find(|c| c.session == session) {
            Some(c) => *c = Claim { session, runner, since_ms: now_ms },
            None => s.push(Claim { session, runner, since_ms: now_ms }),
        }
    }

    /// The callback of `session` returned (or raised); `false` if no claim
    /// was held (the runner was given up for dead, or the callback ran in an
    /// executor).
    pub fn release(&self, session: u64) -> bool {
        let mut s = self.shard(session);
        match s.iter().position(|c| c.session == session) {
            Some(i) => {
                s.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// Claims held since before `now_ms - CLAIM_CHECK_MS`.
    pub fn old(&self, now_ms: i64) -> Vec<(u64, LocalPid)> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let s = shard.lock().unwrap_or_else(|p| p.into_inner());
            out.extend(s.iter().filter(|c| now_ms - c.since_ms >= CLAIM_CHECK_MS).map(|c| (c.session, c.runner)));
        }
        out
    }

    /// Drops `session`'s claim if `runner` still holds it; `true` if so.
    pub fn drop_dead(&self, session: u64, runner: LocalPid) -> bool {
        let mut s = self.shard(session);
        match s.iter().position(|c| c.session == session && c.runner == runner) {
            Some(i) => {
                s.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// Claims held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len()).sum()
    }
}
