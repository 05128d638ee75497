//! OTP's code lock, as `bench/demo_lock.erl` runs it on gen_statem: the
//! same inputs give the same states, data shapes aside, so `make bench`
//! compares like with like.
//!
//! * `init({Code, OpenMs})`: `Code` a list of integers (not empty),
//!   `OpenMs` how long the door stays open. State `locked`; data
//!   `{Code, Remaining, OpenMs}` (`Remaining`: the digits still to press).
//!   Bad arguments stop the start: `{error, {bad_args, Args}}`.
//! * `state_functions`. In `locked`, a cast `{button, Digit}` that is the
//!   next digit moves on; the last one opens the door: `open` with
//!   `{state_timeout, OpenMs, lock}`; a wrong digit starts again.
//! * In `open`, buttons are ignored (`{next_state, open, Data}`: the
//!   time-out keeps running) and the time-out, or a cast `lock`, locks
//!   the door.
//! * Calls, in both states: `state` (the state name) and `code_length`.
//!
//! Where `demo_lock` would crash with `function_clause` (an event it has
//! no clause for), this machine ignores casts and infos and answers calls
//! `{error, unknown_call}`: a native machine serving a broker should not
//! die of one bad message.

use throng_beam::term::{read_etf, Val, Writer};
use throng_beam::{Beam, Etf, Host, Native};
use throng_core::{Action, CallbackMode, CallbackResult, Cx, EventType, InitResult, Invocation};

use crate::atom;

/// The code lock machine.
pub struct CodeLock {
    locked: Etf,
    open: Etf,
    lock: Etf,
    unknown_call: Etf,
}

impl CodeLock {
    /// The machine (its atoms made once).
    pub fn new() -> Self {
        CodeLock {
            locked: atom("locked"),
            open: atom("open"),
            lock: atom("lock"),
            unknown_call: crate::error_atom("unknown_call"),
        }
    }
}

impl Default for CodeLock {
    fn default() -> Self {
        Self::new()
    }
}

/// `{Code, Remaining, OpenMs}`.
fn data(code: Val<'_>, remaining: &[i64], open_ms: i64) -> Etf {
    let mut w = Writer::with_capacity(8 + code.raw().len() * 2);
    w.tuple(3).val(code).int_list(remaining).int(open_ms);
    w.finish()
}

/// The digits of a list of integers.
fn digits(v: Val<'_>) -> Option<Vec<i64>> {
    let list = v.as_list()?;
    list.is_proper().then(|| list.iter().map(|d| d.as_int()).collect::<Option<Vec<_>>>())?
}

impl<H: Host> Native<H> for CodeLock {
    fn callback_mode(&self) -> CallbackMode {
        CallbackMode::STATE_FUNCTIONS
    }

    fn atoms(&self) -> &'static [&'static str] {
        &["locked", "open", "lock", "button", "state", "code_length", "error", "unknown_call", "bad_args"]
    }

    fn init(&self, _cx: &mut Cx<'_, Beam<H>>, args: &Etf) -> InitResult<Beam<H>> {
        let parsed = read_etf(args).ok().and_then(|a| a.tuple::<2>()).and_then(|[code, ms]| {
            let digits = digits(code).filter(|d| !d.is_empty())?;
            let ms = ms.as_int().filter(|ms| *ms >= 0)?;
            Some(data(code, &digits, ms))
        });
        match parsed {
            Some(d) => InitResult::Ok(self.locked.clone(), d, vec![]),
            None => InitResult::Stop(crate::tagged("bad_args", &args.as_bytes()[1..])),
        }
    }

    fn handle_event(&self, _cx: &mut Cx<'_, Beam<H>>, call: Invocation<'_, Beam<H>>) -> CallbackResult<Beam<H>> {
        let Invocation::Event { event, state, data: d, .. } = call else {
            return CallbackResult::KeepStateAndData(vec![]);
        };
        let locked = *state == self.locked;
        match &event.kind {
            EventType::Call(from) => {
                let reply = match read_etf(&event.content).ok() {
                    Some(r) if r.is_atom("state") => state.clone(),
                    Some(r) if r.is_atom("code_length") => {
                        let len = read_etf(d).ok().and_then(|v| v.tuple::<3>()).and_then(|[c, _, _]| c.as_list());
                        let mut w = Writer::new();
                        w.int(len.map_or(0, |l| l.len() as i64));
                        w.finish()
                    }
                    _ => self.unknown_call.clone(),
                };
                CallbackResult::KeepStateAndData(vec![Action::Reply(from.clone(), reply)])
            }
            EventType::Cast if !locked && read_etf(&event.content).is_ok_and(|m| m.is_atom("lock")) => {
                CallbackResult::NextState(self.locked.clone(), d.clone(), vec![])
            }
            EventType::Cast => {
                let Some(digit) = read_etf(&event.content)
                    .ok()
                    .and_then(|m| m.tuple::<2>())
                    .and_then(|[tag, d]| tag.is_atom("button").then_some(d))
                else {
                    return CallbackResult::KeepStateAndData(vec![]);
                };
                if !locked {
                    return CallbackResult::NextState(self.open.clone(), d.clone(), vec![]);
                }
                // The data is read where it is (no copy of the code): the
                // next digit is `Remaining`'s head.
                let Some([code, remaining, ms]) = read_etf(d).ok().and_then(|v| v.tuple::<3>()) else {
                    return CallbackResult::KeepStateAndData(vec![]);
                };
                let (Some(left), Some(open_ms)) = (remaining.as_list(), ms.as_int()) else {
                    return CallbackResult::KeepStateAndData(vec![]);
                };
                let mut rest = left.iter();
                let right = rest.next().and_then(|n| n.as_int()).is_some_and(|n| Some(n) == digit.as_int());
                let mut w = Writer::with_capacity(2 + 2 * code.raw().len() + ms.raw().len());
                w.tuple(3).val(code);
                match (right, rest.len()) {
                    (true, 0) => {
                        w.val(code).val(ms);
                        let timeout = Action::state_timeout(open_ms.max(0) as u64, self.lock.clone());
                        CallbackResult::NextState(self.open.clone(), w.finish(), vec![timeout])
                    }
                    (true, _) => {
                        w.ints(rest.map(|n| n.as_int().unwrap_or(0))).val(ms);
                        CallbackResult::NextState(self.locked.clone(), w.finish(), vec![])
                    }
                    (false, _) => {
                        w.val(code).val(ms);
                        CallbackResult::NextState(self.locked.clone(), w.finish(), vec![])
                    }
                }
            }
            EventType::StateTimeout if !locked => CallbackResult::NextState(self.locked.clone(), d.clone(), vec![]),
            _ => CallbackResult::KeepStateAndData(vec![]),
        }
    }
}
