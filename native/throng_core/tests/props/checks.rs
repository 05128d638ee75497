//! Invariants read from an engine trace alone, without the model: they hold
//! for any gen_statem, whatever the callback module answers.

use std::collections::VecDeque;

use throng_core::machines::term::Term;

use super::program::*;

/// What the driver knows about one session, besides its trace.
pub struct Known<'a> {
    /// The contents of the casts sent to it.
    pub casts: &'a [Term],
    /// The contents of the events inserted by its init actions.
    pub init_inserted: &'a [Term],
    /// `status().postponed_len` at the end.
    pub postponed_len: usize,
}

/// No event is lost, duplicated or made up; postponed events are retried
/// only on a state change, oldest first; an event time-out never fires after
/// another event was handled; no time-out fires before its deadline, and each
/// arrives as its own type. Call on a drained session.
pub fn check_trace(trace: &[Entry], known: &Known<'_>) -> Result<(), String> {
    let mut consumed: Vec<&Term> = Vec::new();
    // Postponed since the last state change, oldest first.
    let mut postponed: Vec<&Term> = Vec::new();
    // Retried after a state change and not yet handled, in retry order.
    let mut retry: VecDeque<&Term> = VecDeque::new();
    let mut inserted: Vec<&Term> = known.init_inserted.iter().collect();
    for (j, e) in trace.iter().enumerate() {
        let Entry::Event { kind, content, postponed: p, changed, inserted: ins, now, .. } = e else { continue };
        // The transition's postpone flag: the event callback's, unless one
        // of its enter calls (the entries right after it) set it again.
        let p = trace[j + 1..]
            .iter()
            .map_while(|e| match e {
                Entry::Enter { postpone, .. } => Some(*postpone),
                Entry::Event { .. } => None,
            })
            .fold(*p, |p, q| q.unwrap_or(p));
        let at = || format!("trace[{j}] = {e:?}");
        // A retried postponed event is not a new delivery.
        let retried = retry.contains(&content);
        if consumed.contains(&content) {
            return Err(format!("event handled again after it was consumed: {}", at()));
        }
        match kind {
            EvKind::Cast if !known.casts.contains(content) => return Err(format!("a cast nobody sent: {}", at())),
            EvKind::Internal if !inserted.contains(&content) => {
                return Err(format!("an internal event nobody inserted: {}", at()))
            }
            EvKind::Unexpected(what) => return Err(format!("unexpected event type {what}: {}", at())),
            EvKind::Timeout(k) => {
                let Some(msg) = parse_timeout_msg(content) else {
                    return Err(format!("a time-out with a message no action set: {}", at()));
                };
                if msg.kind != *k {
                    return Err(format!("a {:?} message delivered as a {k:?} time-out: {}", msg.kind, at()));
                }
                if let Some(ms) = msg.ms {
                    if *now < msg.set_at + ms as i64 {
                        return Err(format!("time-out fired early (deadline {}): {}", msg.set_at + ms as i64, at()));
                    }
                }
                if *k == TKind::Event && !retried {
                    check_event_timeout(trace, j, msg.n)?;
                }
                if *k == TKind::State && !retried {
                    check_state_timeout(trace, j, msg.n)?;
                }
            }
            _ => {}
        }
        if postponed.contains(&content) {
            return Err(format!("a postponed event was retried without a state change: {}", at()));
        }
        if let Some(pos) = retry.iter().position(|t| *t == content) {
            if pos != 0 {
                return Err(format!("retried postponed events out of order: {:?} is due before {}", retry[0], at()));
            }
            retry.pop_front();
        }
        if p {
            postponed.push(content);
        } else {
            consumed.push(content);
        }
        if *changed {
            let mut r: VecDeque<&Term> = postponed.drain(..).collect();
            r.extend(retry.drain(..));
            retry = r;
        }
        inserted.extend(ins.iter());
    }
    if let Some(t) = retry.front() {
        return Err(format!("a retried postponed event was never handled: {t:?}"));
    }
    if postponed.len() != known.postponed_len {
        return Err(format!(
            "the trace leaves {} events postponed ({postponed:?}), status says {}",
            postponed.len(),
            known.postponed_len
        ));
    }
    for t in known.casts.iter().chain(inserted.iter().copied()) {
        if !consumed.contains(&t) && !postponed.contains(&t) {
            return Err(format!("event lost: {t:?} was never handled"));
        }
    }
    Ok(())
}

/// Where the entries after the transition that set a time-out begin: after
/// callback `n`'s entry (`n = -1`: the init actions, before everything).
fn after_setter(trace: &[Entry], j: usize, n: i64) -> Result<usize, String> {
    if n < 0 {
        return Ok(0);
    }
    match trace[..j].iter().position(|e| matches!(e, Entry::Event { n: m, .. } | Entry::Enter { n: m, .. } if *m == n))
    {
        Some(i) => Ok(i + 1),
        None => Err(format!("trace[{j}] = {:?}: a time-out set by callback #{n}, which never ran", trace[j])),
    }
}

/// The event time-out handled at `trace[j]` was set by callback `n`: no
/// event may have been handled in between.
fn check_event_timeout(trace: &[Entry], j: usize, n: i64) -> Result<(), String> {
    let from = after_setter(trace, j, n)?;
    match trace[from..j].iter().find(|e| matches!(e, Entry::Event { .. })) {
        Some(e) => Err(format!(
            "trace[{j}] = {:?}: an event time-out fired although {e:?} was handled after it was set",
            trace[j]
        )),
        None => Ok(()),
    }
}

/// The state time-out handled at `trace[j]` was set by callback `n`: no
/// transition may have changed the state in between.
fn check_state_timeout(trace: &[Entry], j: usize, n: i64) -> Result<(), String> {
    let from = after_setter(trace, j, n)?;
    match trace[from..j].iter().find(|e| matches!(e, Entry::Event { changed: true, .. })) {
        Some(e) => Err(format!("trace[{j}] = {:?}: a state time-out survived the state change of {e:?}", trace[j])),
        None => Ok(()),
    }
}

/// After a tick at `now` (and the runs it caused), no time-out with a known
/// deadline may still be held with a deadline that has passed: it should
/// have fired.
pub fn check_not_late(timeouts: &[(TKind, Term)], now: i64) -> Result<(), String> {
    for (kind, msg) in timeouts {
        if let Some(TimeoutMsg { set_at, ms: Some(ms), .. }) = parse_timeout_msg(msg) {
            if set_at + ms as i64 <= now {
                return Err(format!("{kind:?} time-out {msg:?} (deadline {}) not fired at {now}", set_at + ms as i64));
            }
        }
    }
    Ok(())
}
