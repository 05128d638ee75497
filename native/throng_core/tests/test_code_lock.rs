//! The code locks of OTP's `gen_statem` design-principles chapter
//! (`statem.xml`), every version, run through the engine on a manual clock.
//! Each test names the chapter section whose behaviour it checks.

use std::collections::HashMap;

use throng_core::machines::code_lock::{
    CodeLock, CodeLockArgs, CodeLockReason, CodeLockVariant, Digit, Effect, LockData, LockMsg, LockReply, LockState,
    StateName, OPEN_TIME_MS,
};
use throng_core::{Collect, Config, Emitted, Engine, ExitReason, ManualClock, SessionId, Started, TimeoutType};

use CodeLockVariant::*;

const CODE: [Digit; 3] = [1, 2, 3];
const LOCK_BUTTON: Digit = 9;

/// The versions whose `button/1` is a cast.
const CAST_VARIANTS: [CodeLockVariant; 5] =
    [EventTimeout, StateFunctions, HandleEventFunction, StateEnter, HandleEventStateEnter];

struct Rig {
    engine: Engine<CodeLock>,
    clock: ManualClock,
    out: Collect<CodeLock>,
    next_from: u64,
}

fn rig() -> Rig {
    let clock = ManualClock::new(1_000_000);
    let engine = Engine::new(CodeLock::new(), Config::default(), clock.clone()).unwrap();
    Rig { engine, clock, out: Collect::default(), next_from: 1 }
}

impl Rig {
    fn start_with(&mut self, variant: CodeLockVariant, code: &[Digit]) -> SessionId {
        let args = match variant {
            ComplexState => CodeLockArgs::CodeAndLockButton(code.to_vec(), LOCK_BUTTON),
            _ => CodeLockArgs::Code(code.to_vec()),
        };
        match self.engine.start(variant, args, &mut self.out).unwrap() {
            Started::Ok(s) => s,
            other => panic!("start {variant:?}: {other:?}"),
        }
    }

    fn start(&mut self, variant: CodeLockVariant) -> SessionId {
        self.start_with(variant, &CODE)
    }

    fn from(&mut self) -> u64 {
        self.next_from += 1;
        self.next_from
    }

    /// `button(Digit)` for each digit; returns the callers (used only by
    /// the complex-state version, where a button is a call).
    fn press(&mut self, s: SessionId, digits: &[Digit]) -> Vec<u64> {
        let mut froms = Vec::new();
        for &d in digits {
            let from = self.from();
            CodeLock::button(&self.engine, s, from, d, &mut self.out).unwrap();
            froms.push(from);
        }
        froms
    }

    fn call(&mut self, s: SessionId, msg: LockMsg) -> u64 {
        let from = self.from();
        self.engine.call(s, from, msg, &mut self.out).unwrap();
        from
    }

    /// The reply to `from`, if one was sent.
    fn reply_to(&self, from: u64) -> Option<LockReply> {
        self.out.replies().into_iter().find(|(f, _)| **f == from).map(|(_, r)| *r)
    }

    /// Moves the clock and fires what expired; the number of timers fired.
    fn advance(&mut self, ms: u64) -> usize {
        self.clock.advance(ms);
        self.engine.tick(&mut self.out)
    }

    fn state(&self, s: SessionId) -> LockState {
        self.engine.get_state(s).unwrap().0
    }

    fn data(&self, s: SessionId) -> LockData {
        self.engine.get_state(s).unwrap().1
    }

    /// `locked` or `open`, for atom and complex states alike.
    fn name(&self, s: SessionId) -> StateName {
        match self.state(s) {
            LockState::Locked => StateName::Locked,
            LockState::Open => StateName::Open,
            LockState::Complex(name, _) => name,
        }
    }

    fn effects(&self, s: SessionId) -> Vec<Effect> {
        self.engine.machine().effects_of(s)
    }

    fn clock_now(&self) -> i64 {
        self.engine.now_ms()
    }

    fn postponed(&self, s: SessionId) -> usize {
        self.engine.status(s).unwrap().postponed_len
    }

    fn terminated(&self) -> Option<(&ExitReason<CodeLock>, LockState)> {
        self.out.emitted.iter().find_map(|e| match e {
            Emitted::Terminated(_, r, st, _) => Some((r, *st)),
            _ => None,
        })
    }
}

use Effect::{Lock, Unlock};

// ------------------------------------------------------------ the code

/// "Example" / "Handling Events": the door starts locked; the right digits
/// open it (do_unlock); "Event Time-Outs" / "State Time-Outs": it locks
/// again (do_lock) exactly 10,000 ms later, not at 9,999.
#[test]
fn code_opens_and_door_relocks_at_exactly_10000_ms() {
    for variant in CodeLockVariant::ALL {
        let mut r = rig();
        let s = r.start(variant);
        assert_eq!(r.name(s), StateName::Locked, "{variant:?}");
        assert_eq!(r.effects(s), [Lock], "{variant:?}: init (or the initial enter call) locks");
        r.press(s, &CODE[..2]);
        assert_eq!(r.name(s), StateName::Locked, "{variant:?}");
        assert_eq!(r.data(s).remaining(), &CODE[2..], "{variant:?}");
        r.press(s, &CODE[2..]);
        assert_eq!(r.name(s), StateName::Open, "{variant:?}");
        assert_eq!(r.effects(s), [Lock, Unlock], "{variant:?}");
        assert_eq!(r.engine.status(s).unwrap().timeouts.len(), 1, "{variant:?}: one time-out runs");
        assert_eq!(r.engine.next_deadline(), Some(r.clock_now() + OPEN_TIME_MS as i64), "{variant:?}");

        assert_eq!(r.advance(OPEN_TIME_MS - 1), 0, "{variant:?}: nothing at 9,999 ms");
        assert_eq!(r.name(s), StateName::Open, "{variant:?}");
        assert_eq!(r.advance(1), 1, "{variant:?}: the time-out at 10,000 ms");
        assert_eq!(r.name(s), StateName::Locked, "{variant:?}");
        assert_eq!(r.effects(s), [Lock, Unlock, Lock], "{variant:?}");
        assert_eq!(r.data(s).remaining(), CODE, "{variant:?}: a new try starts");
        assert!(r.engine.status(s).unwrap().timeouts.is_empty(), "{variant:?}");
        assert_eq!(r.engine.next_deadline(), None);

        // And the code opens it again.
        r.press(s, &CODE);
        assert_eq!(r.name(s), StateName::Open, "{variant:?}");
        assert!(r.terminated().is_none(), "{variant:?}");
    }
}

/// "Handling Events": a wrong digit restarts the sequence from the start of
/// the code; the wrong digit itself is not taken as a first digit, so
/// `1,1,2,3` does not open `1,2,3`.
#[test]
fn wrong_digit_restarts_the_sequence() {
    for variant in CodeLockVariant::ALL {
        let mut r = rig();
        let s = r.start(variant);
        r.press(s, &[1, 2, 7]);
        assert_eq!(r.data(s).remaining(), CODE, "{variant:?}");
        r.press(s, &[1, 1, 2, 3]);
        assert_eq!(r.name(s), StateName::Locked, "{variant:?}");
        assert_eq!(r.effects(s), [Lock], "{variant:?}");
        r.press(s, &CODE);
        assert_eq!(r.name(s), StateName::Open, "{variant:?}");
        if variant == ComplexState {
            // Every button call is answered `ok` in `{locked,_}`.
            let oks = r.out.replies().iter().filter(|(_, rep)| **rep == LockReply::Ok).count();
            assert_eq!(oks, 10);
        } else {
            assert!(r.out.replies().is_empty(), "{variant:?}: buttons are casts");
        }
    }
}

/// "All State Events": `code_length` is answered in every state by the
/// common handler, also while buttons are postponed in `open`.
#[test]
fn code_length_is_answered_in_every_state() {
    for variant in CodeLockVariant::ALL {
        let mut r = rig();
        let s = r.start_with(variant, &[4, 5, 6, 7, 8]);
        let in_locked = r.call(s, LockMsg::CodeLength);
        assert_eq!(r.reply_to(in_locked), Some(LockReply::CodeLength(5)), "{variant:?}");
        r.press(s, &[4, 5, 6, 7, 8]);
        assert_eq!(r.name(s), StateName::Open, "{variant:?}");
        let in_open = r.call(s, LockMsg::CodeLength);
        assert_eq!(r.reply_to(in_open), Some(LockReply::CodeLength(5)), "{variant:?}");
        assert_eq!(r.name(s), StateName::Open, "{variant:?}");
        assert_eq!(r.postponed(s), 0, "{variant:?}: the call is not postponed");
    }
}

// ------------------------------------------------------------ a button in `open`

/// OTP 19 "Handling Events": "In state open, any button locks the door, as
/// any event cancels the event timer, so no time-out event occurs after a
/// button event."
#[test]
fn event_timeout_button_in_open_locks_and_cancels_the_timer() {
    let mut r = rig();
    let s = r.start(EventTimeout);
    r.press(s, &CODE);
    assert_eq!(r.engine.status(s).unwrap().timeouts, [(TimeoutType::Event, LockMsg::Time(OPEN_TIME_MS))]);
    assert_eq!(r.advance(5_000), 0);
    r.press(s, &[7]);
    assert_eq!(r.state(s), LockState::Locked);
    assert_eq!(r.effects(s), [Lock, Unlock, Lock]);
    assert!(r.engine.status(s).unwrap().timeouts.is_empty());
    assert_eq!(r.advance(5_000), 0, "the cancelled time-out never fires");
    assert_eq!(r.effects(s), [Lock, Unlock, Lock]);
    assert_eq!(r.data(s).remaining(), CODE, "the locking button is not a digit of a new try");
}

/// The event time-out of the OTP 19 version meets "All State Events": a
/// `code_length` call in `open` is an event too, so it cancels the
/// time-out and the door stays open until a button (gen_statem: every
/// handled event cancels the event time-out, GEN_STATEM_SEMANTICS §1.7).
#[test]
fn event_timeout_any_event_in_open_cancels_the_timer() {
    let mut r = rig();
    let s = r.start(EventTimeout);
    r.press(s, &CODE);
    r.advance(9_000);
    let from = r.call(s, LockMsg::CodeLength);
    assert_eq!(r.reply_to(from), Some(LockReply::CodeLength(3)));
    assert_eq!(r.advance(OPEN_TIME_MS), 0);
    assert_eq!(r.state(s), LockState::Open);
    assert_eq!(r.engine.next_deadline(), None);
    r.press(s, &[0]);
    assert_eq!(r.state(s), LockState::Locked);
    assert_eq!(r.effects(s), [Lock, Unlock, Lock]);
}

/// OTP 20 "Example" / "One Event Handler": a button in `open` is ignored
/// (`{next_state, open, Data}` / `keep_state_and_data`: no state change),
/// so the state time-out keeps running from the moment the door opened.
#[test]
fn state_timeout_button_in_open_is_ignored_and_timer_kept() {
    for variant in [StateFunctions, HandleEventFunction] {
        let mut r = rig();
        let s = r.start(variant);
        r.press(s, &CODE);
        assert_eq!(r.engine.status(s).unwrap().timeouts, [(TimeoutType::State, LockMsg::Lock)], "{variant:?}");
        assert_eq!(r.advance(5_000), 0);
        r.press(s, &[1, 2, 3, 4]);
        assert_eq!(r.state(s), LockState::Open, "{variant:?}");
        assert_eq!(r.postponed(s), 0, "{variant:?}");
        assert_eq!(r.advance(4_999), 0, "{variant:?}: not restarted by the buttons");
        assert_eq!(r.advance(1), 1, "{variant:?}: fires 10,000 ms after opening");
        assert_eq!(r.state(s), LockState::Locked, "{variant:?}");
        assert_eq!(r.effects(s), [Lock, Unlock, Lock], "{variant:?}");
        assert_eq!(r.data(s).remaining(), CODE, "{variant:?}: the ignored buttons are gone");
    }
}

/// "Postponing Events" / "Example Revisited": buttons in `open` are
/// postponed; the state time-out is kept (no state change); when the door
/// locks, they are retried in `locked`, oldest first, after the enter call
/// (which resets `remaining`), and count as digits of the next try.
#[test]
fn state_enter_button_in_open_is_postponed_to_locked() {
    for variant in [StateEnter, HandleEventStateEnter] {
        let mut r = rig();
        let s = r.start(variant);
        assert_eq!(r.effects(s), [Lock], "{variant:?}: the initial enter call locks");
        r.press(s, &CODE);
        assert_eq!(r.advance(3_000), 0);
        r.press(s, &[1, 2]);
        assert_eq!(r.state(s), LockState::Open, "{variant:?}");
        assert_eq!(r.postponed(s), 2, "{variant:?}");
        assert_eq!(r.engine.status(s).unwrap().timeouts, [(TimeoutType::State, LockMsg::Lock)]);
        assert_eq!(r.advance(6_999), 0, "{variant:?}");
        assert_eq!(r.advance(1), 1, "{variant:?}");
        assert_eq!(r.state(s), LockState::Locked, "{variant:?}");
        assert_eq!(r.postponed(s), 0, "{variant:?}");
        assert_eq!(r.data(s).remaining(), &CODE[2..], "{variant:?}: 1 and 2 were retried in locked");
        assert_eq!(r.effects(s), [Lock, Unlock, Lock], "{variant:?}");
        r.press(s, &[3]);
        assert_eq!(r.state(s), LockState::Open, "{variant:?}");
        assert_eq!(r.effects(s), [Lock, Unlock, Lock, Unlock], "{variant:?}");
    }
}

// ------------------------------------------------------------ complex state

/// "Complex State": buttons are calls answered `ok` in `{locked,_}`; in
/// `{open,LockButton}` the lock button locks at once (`locked`), which, as
/// a state change, cancels the state time-out.
#[test]
fn complex_state_lock_button_locks_at_once() {
    let mut r = rig();
    let s = r.start(ComplexState);
    assert_eq!(r.state(s), LockState::Complex(StateName::Locked, LOCK_BUTTON));
    let froms = r.press(s, &CODE);
    for f in froms {
        assert_eq!(r.reply_to(f), Some(LockReply::Ok));
    }
    assert_eq!(r.state(s), LockState::Complex(StateName::Open, LOCK_BUTTON));
    assert_eq!(r.effects(s), [Lock, Unlock]);
    assert_eq!(r.advance(2_000), 0);
    let lock = r.press(s, &[LOCK_BUTTON])[0];
    assert_eq!(r.reply_to(lock), Some(LockReply::Locked));
    assert_eq!(r.state(s), LockState::Complex(StateName::Locked, LOCK_BUTTON));
    assert_eq!(r.effects(s), [Lock, Unlock, Lock]);
    assert!(r.engine.status(s).unwrap().timeouts.is_empty());
    assert_eq!(r.advance(OPEN_TIME_MS), 0, "the state time-out went with the state change");
    assert_eq!(r.effects(s), [Lock, Unlock, Lock]);
}

/// "Complex State": other buttons in `{open,_}` are postponed, so their
/// callers hang until the door locks; then they are retried in
/// `{locked,_}` and answered `ok`, counting toward the next try.
#[test]
fn complex_state_other_buttons_hang_until_locked() {
    let mut r = rig();
    let s = r.start(ComplexState);
    r.press(s, &CODE);
    let hanging = r.press(s, &[1, 2]);
    assert_eq!(r.postponed(s), 2);
    assert!(hanging.iter().all(|f| r.reply_to(*f).is_none()));
    assert_eq!(r.advance(OPEN_TIME_MS - 1), 0);
    assert_eq!(r.advance(1), 1);
    assert_eq!(r.state(s), LockState::Complex(StateName::Locked, LOCK_BUTTON));
    assert!(hanging.iter().all(|f| r.reply_to(*f) == Some(LockReply::Ok)));
    assert_eq!(r.data(s).remaining(), &CODE[2..]);
    assert_eq!(r.effects(s), [Lock, Unlock, Lock]);
}

/// "Complex State", the case the chapter makes the lock button part of the
/// state for: a caller hangs in `button(5)` while the door is open; another
/// calls `set_lock_button(5)` and gets the old button. The state changes
/// (`{open,9}` → `{open,5}`): the enter call unlocks and restarts the state
/// time-out, and the postponed `button(5)` is retried, is now the lock
/// button, and locks the door at once.
#[test]
fn complex_state_set_lock_button_releases_the_hanging_lock_button() {
    let mut r = rig();
    let s = r.start(ComplexState);
    r.press(s, &CODE);
    r.advance(4_000);
    let hanging = r.press(s, &[5])[0];
    assert_eq!(r.reply_to(hanging), None);
    let length = r.call(s, LockMsg::CodeLength);
    assert_eq!(r.reply_to(length), Some(LockReply::CodeLength(3)));
    assert_eq!(r.postponed(s), 1);

    let set = r.call(s, LockMsg::SetLockButton(5));
    assert_eq!(r.reply_to(set), Some(LockReply::LockButton(LOCK_BUTTON)));
    assert_eq!(r.reply_to(hanging), Some(LockReply::Locked));
    assert_eq!(r.state(s), LockState::Complex(StateName::Locked, 5));
    // The set_lock_button reply is sent before the retried button's.
    let order: Vec<u64> = r.out.replies().iter().map(|(f, _)| **f).filter(|f| *f == set || *f == hanging).collect();
    assert_eq!(order, [set, hanging]);
    // {open,9} → {open,5} entered open again (do_unlock), then {locked,5}.
    assert_eq!(r.effects(s), [Lock, Unlock, Unlock, Lock]);
    assert!(r.engine.status(s).unwrap().timeouts.is_empty());
    assert_eq!(r.advance(OPEN_TIME_MS), 0);
}

/// "Complex State": `set_lock_button` in `{open,_}` with nothing postponed
/// is still a state change: the door is entered again and the state
/// time-out restarts from then.
#[test]
fn complex_state_set_lock_button_in_open_restarts_the_timer() {
    let mut r = rig();
    let s = r.start(ComplexState);
    r.press(s, &CODE);
    assert_eq!(r.advance(6_000), 0);
    let set = r.call(s, LockMsg::SetLockButton(4));
    assert_eq!(r.reply_to(set), Some(LockReply::LockButton(LOCK_BUTTON)));
    assert_eq!(r.state(s), LockState::Complex(StateName::Open, 4));
    assert_eq!(r.advance(OPEN_TIME_MS - 1), 0, "the old deadline (4,000 ms from now) is gone");
    assert_eq!(r.advance(1), 1);
    assert_eq!(r.state(s), LockState::Complex(StateName::Locked, 4));
    assert_eq!(r.effects(s), [Lock, Unlock, Unlock, Lock]);
}

/// "Complex State": `set_lock_button` in `{locked,_}` changes the state
/// too, so the enter call of `{locked,_}` locks again and resets
/// `remaining`: a code entry in progress starts over.
#[test]
fn complex_state_set_lock_button_in_locked_restarts_the_code() {
    let mut r = rig();
    let s = r.start(ComplexState);
    r.press(s, &CODE[..2]);
    let set = r.call(s, LockMsg::SetLockButton(LOCK_BUTTON));
    assert_eq!(r.reply_to(set), Some(LockReply::LockButton(LOCK_BUTTON)));
    // Same lock button: the same state, no state change, no enter call.
    assert_eq!(r.data(s).remaining(), &CODE[2..]);
    assert_eq!(r.effects(s), [Lock]);
    let set = r.call(s, LockMsg::SetLockButton(0));
    assert_eq!(r.reply_to(set), Some(LockReply::LockButton(LOCK_BUTTON)));
    assert_eq!(r.state(s), LockState::Complex(StateName::Locked, 0));
    assert_eq!(r.data(s).remaining(), CODE);
    assert_eq!(r.effects(s), [Lock, Lock]);
    r.press(s, &CODE);
    assert_eq!(r.state(s), LockState::Complex(StateName::Open, 0));
}

/// "Complex State": the clauses for `{locked,_}` and `{open,_}` `case` on
/// `{EventType, EventContent}`; a cast button has no branch there
/// (`case_clause`), and terminate sees the state from before the event.
#[test]
fn complex_state_cast_button_is_a_case_clause() {
    let mut r = rig();
    let s = r.start(ComplexState);
    r.engine.cast(s, LockMsg::Button(1), &mut r.out).unwrap();
    let (reason, state) = r.terminated().unwrap();
    assert!(matches!(reason, ExitReason::Exception(CodeLockReason::CaseClause)), "{reason:?}");
    assert_eq!(state, LockState::Complex(StateName::Locked, LOCK_BUTTON));
    assert!(!r.engine.is_alive(s));
}

// ------------------------------------------------------------ stop

/// "Stopping": `terminate/3` locks the door if the state is not `locked`;
/// `stop/0` (gen_statem:stop) and a supervisor's `shutdown` both run it.
#[test]
fn stop_in_open_locks_the_door() {
    for variant in CAST_VARIANTS {
        for reason in [None, Some(CodeLockReason::Shutdown)] {
            let mut r = rig();
            let s = r.start(variant);
            r.press(s, &CODE);
            let from = r.from();
            r.engine.stop(s, reason.clone(), Some(from), &mut r.out).unwrap();
            let (got, state) = r.terminated().unwrap();
            match &reason {
                None => assert!(matches!(got, ExitReason::Normal), "{variant:?}: {got:?}"),
                Some(want) => assert!(matches!(got, ExitReason::Reason(x) if x == want), "{variant:?}: {got:?}"),
            }
            assert_eq!(state, LockState::Open, "{variant:?}");
            assert_eq!(r.effects(s), [Lock, Unlock, Lock], "{variant:?}: terminate locked the open door");
            assert!(!r.engine.is_alive(s));
            assert_eq!(r.engine.stats().timers, 0, "{variant:?}: the time-out went with the session");
            assert_eq!(r.engine.counts().timers, 0, "{variant:?}: counts agree");
            assert_eq!(r.advance(OPEN_TIME_MS), 0);
        }
    }
}

/// "Stopping": a locked door is not locked again by terminate.
#[test]
fn stop_in_locked_does_not_lock_again() {
    for variant in CAST_VARIANTS {
        let mut r = rig();
        let s = r.start(variant);
        r.press(s, &CODE[..1]);
        r.engine.stop(s, None, None, &mut r.out).unwrap();
        assert_eq!(r.terminated().unwrap().1, LockState::Locked);
        assert_eq!(r.effects(s), [Lock], "{variant:?}");
    }
}

/// The complex-state version keeps the chapter's `terminate/3`,
/// `State =/= locked andalso do_lock()`: its state is a tuple, never the
/// atom `locked`, so it always locks, even a locked door.
#[test]
fn complex_state_terminate_always_locks() {
    let mut r = rig();
    let s = r.start(ComplexState);
    r.engine.stop(s, None, None, &mut r.out).unwrap();
    assert_eq!(r.terminated().unwrap().1, LockState::Complex(StateName::Locked, LOCK_BUTTON));
    assert_eq!(r.effects(s), [Lock, Lock]);
}

/// An event no clause takes crashes the lock (`function_clause`): an info
/// message, or a call other than `code_length`. terminate sees the state
/// from before the event; a caller learns the reason instead of hanging.
#[test]
fn unknown_event_is_a_function_clause() {
    for variant in CAST_VARIANTS {
        let mut r = rig();
        let s = r.start(variant);
        r.press(s, &CODE);
        r.engine.info(s, LockMsg::Lock, &mut r.out).unwrap();
        let (reason, state) = r.terminated().unwrap();
        assert!(matches!(reason, ExitReason::Exception(CodeLockReason::FunctionClause)), "{variant:?}: {reason:?}");
        assert_eq!(state, LockState::Open, "{variant:?}");
        assert_eq!(r.effects(s), [Lock, Unlock, Lock], "{variant:?}: terminate locked");

        let mut r = rig();
        let s = r.start(variant);
        let from = r.call(s, LockMsg::SetLockButton(1));
        let failed = r.out.emitted.iter().any(|e| {
            matches!(e, Emitted::CallFailed(id, f, ExitReason::Exception(CodeLockReason::FunctionClause))
                if *id == s && *f == from)
        });
        assert!(failed, "{variant:?}: {:?}", r.out.emitted);
    }
}

/// `init/1`: an empty code is refused; the complex-state version wants
/// `{Code, LockButton}`.
#[test]
fn init_refuses_bad_arguments() {
    let mut r = rig();
    for variant in CodeLockVariant::ALL {
        let args = match variant {
            ComplexState => CodeLockArgs::CodeAndLockButton(vec![], 1),
            _ => CodeLockArgs::Code(vec![]),
        };
        let got = r.engine.start(variant, args, &mut r.out).unwrap();
        assert!(matches!(got, Started::Failed(ExitReason::Reason(CodeLockReason::EmptyCode))), "{got:?}");
    }
    let got = r.engine.start(ComplexState, CodeLockArgs::Code(vec![1]), &mut r.out).unwrap();
    assert!(matches!(got, Started::Failed(ExitReason::Exception(CodeLockReason::FunctionClause))), "{got:?}");
    assert_eq!(r.engine.live(), 0);
    assert!(r.engine.machine().effects().is_empty());
}

// ------------------------------------------------------------ module changes

/// `change_callback_module` from one version to another in the middle of a
/// code entry (GEN_STATEM_SEMANTICS §1.14: state and data unchanged, the
/// new callback mode read at once, not a state change): the rest of the
/// code opens the door under the new version, with the same side effects,
/// and the door locks at 10,000 ms.
#[test]
fn change_callback_module_mid_code_keeps_behaviour() {
    for from_v in CAST_VARIANTS {
        for to_v in CAST_VARIANTS.into_iter().filter(|v| *v != from_v) {
            let mut r = rig();
            let s = r.start(from_v);
            r.press(s, &CODE[..1]);
            let from = r.call(s, LockMsg::ChangeCallbackModule(to_v));
            assert_eq!(r.reply_to(from), Some(LockReply::Ok));
            let status = r.engine.status(s).unwrap();
            assert_eq!(status.modules, [to_v]);
            assert_eq!(status.mode, to_v.callback_mode());
            assert_eq!(r.data(s).remaining(), &CODE[1..], "{from_v:?} -> {to_v:?}: data kept");
            assert_eq!(r.effects(s), [Lock], "{from_v:?} -> {to_v:?}: no enter call");
            r.press(s, &CODE[1..]);
            assert_eq!(r.state(s), LockState::Open, "{from_v:?} -> {to_v:?}");
            assert_eq!(r.effects(s), [Lock, Unlock], "{from_v:?} -> {to_v:?}");
            assert_eq!(r.advance(OPEN_TIME_MS - 1), 0);
            assert_eq!(r.advance(1), 1);
            assert_eq!(r.state(s), LockState::Locked, "{from_v:?} -> {to_v:?}");
            assert_eq!(r.effects(s), [Lock, Unlock, Lock], "{from_v:?} -> {to_v:?}");
        }
    }
}

/// Module changes while the door is open: the running state time-out
/// survives (not a state change), and the transition it triggers, with its
/// enter call, is made by the new version.
#[test]
fn change_callback_module_while_open() {
    // state_functions without enter calls → with: the old version started
    // the time-out; the new one locks in its `locked` enter call, once.
    let mut r = rig();
    let s = r.start(StateFunctions);
    r.press(s, &CODE);
    r.call(s, LockMsg::ChangeCallbackModule(StateEnter));
    assert_eq!(r.advance(OPEN_TIME_MS), 1);
    assert_eq!(r.state(s), LockState::Locked);
    assert_eq!(r.effects(s), [Lock, Unlock, Lock]);

    // Postponed buttons stay postponed across the change and are retried
    // by the new version when the door locks.
    let mut r = rig();
    let s = r.start(StateEnter);
    r.press(s, &CODE);
    r.press(s, &[1]);
    r.call(s, LockMsg::ChangeCallbackModule(HandleEventStateEnter));
    assert_eq!(r.postponed(s), 1);
    assert_eq!(r.advance(OPEN_TIME_MS), 1);
    assert_eq!(r.state(s), LockState::Locked);
    assert_eq!(r.data(s).remaining(), &CODE[1..]);
    assert_eq!(r.effects(s), [Lock, Unlock, Lock]);
}

/// The new module must understand the state (§1.14): the complex-state
/// version given the atom state `locked` has no clause for it.
#[test]
fn change_to_a_version_that_does_not_know_the_state_crashes() {
    let mut r = rig();
    let s = r.start(StateFunctions);
    r.call(s, LockMsg::ChangeCallbackModule(ComplexState));
    assert!(r.engine.is_alive(s));
    r.press(s, &[1]);
    let (reason, state) = r.terminated().unwrap();
    assert!(matches!(reason, ExitReason::Exception(CodeLockReason::FunctionClause)), "{reason:?}");
    assert_eq!(state, LockState::Locked);
}

// ------------------------------------------------------------ many sessions

/// 10,000 locks of every version in one engine, each with its own code:
/// each is fed its code and opens; 9,999 ms later none has locked; one
/// `tick` at 10,000 ms fires all 10,000 time-outs and locks every door.
#[test]
fn ten_thousand_locks_open_and_relock_in_one_tick() {
    const N: usize = 10_000;
    let mut r = rig();
    let sessions: Vec<(SessionId, Vec<Digit>)> = (0..N)
        .map(|i| {
            let variant = CodeLockVariant::ALL[i % CodeLockVariant::ALL.len()];
            let code: Vec<Digit> = format!("{i:04}").bytes().map(|b| b - b'0').collect();
            (r.start_with(variant, &code), code)
        })
        .collect();
    assert_eq!(r.engine.live(), N);
    for (s, code) in &sessions {
        // A wrong try first, then the code.
        r.press(*s, &[code[0], (code[1] + 1) % 10]);
        r.press(*s, code);
    }
    assert!(sessions.iter().all(|(s, _)| r.name(*s) == StateName::Open));
    assert_eq!(r.engine.stats().timers, N);
    assert_eq!(r.engine.counts(), throng_core::Counts { sessions: N, timers: N });
    assert_eq!(r.advance(OPEN_TIME_MS - 1), 0);
    assert!(sessions.iter().all(|(s, _)| r.name(*s) == StateName::Open));
    assert_eq!(r.advance(1), N);
    while r.engine.run_pending(&mut r.out) {}
    assert!(sessions.iter().all(|(s, _)| r.name(*s) == StateName::Locked));
    assert_eq!(r.engine.stats().timers, 0);
    assert_eq!(r.engine.counts().timers, 0);

    let mut by_session: HashMap<SessionId, Vec<Effect>> = HashMap::new();
    for (s, e) in r.engine.machine().take_effects() {
        by_session.entry(s).or_default().push(e);
    }
    assert_eq!(by_session.len(), N);
    assert!(by_session.values().all(|e| *e == [Lock, Unlock, Lock]));
    assert!(r.terminated().is_none());

    for (s, _) in &sessions {
        r.engine.stop(*s, None, None, &mut r.out).unwrap();
    }
    assert_eq!(r.engine.live(), 0);
}
