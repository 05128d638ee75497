//! GenStateMachine's Switch (`lib/gen_state_machine.ex` moduledoc and the
//! library's tests `gen_state_machine_test.exs` and `state_enter_test.exs`,
//! GEN_STATEM_SEMANTICS.md §3) run through the engine.

use throng_core::machines::switch::{Switch, SwitchData, SwitchMsg, SwitchReason, SwitchState, SwitchVariant};
use throng_core::{
    CallbackMode, Collect, Config, Emitted, Engine, ExitReason, ManualClock, SessionId, Started, SystemReply,
};

type Out = Collect<Switch>;

fn engine() -> Engine<Switch> {
    Engine::new(Switch, Config::default(), ManualClock::new(0)).unwrap()
}

fn start(engine: &Engine<Switch>, variant: SwitchVariant, data: SwitchData, out: &mut Out) -> SessionId {
    match engine.start(variant, (SwitchState::Off, data), out).unwrap() {
        Started::Ok(s) => s,
        other => panic!("start: {other:?}"),
    }
}

fn counts(enters: u64, flips: u64) -> SwitchData {
    SwitchData::Counts { enters, flips }
}

fn flips(engine: &Engine<Switch>, s: SessionId, n: usize, out: &mut Out) {
    for _ in 0..n {
        engine.cast(s, SwitchMsg::Flip, out).unwrap();
    }
}

/// `GenStateMachine.call(pid, :get_count)`: the reply to a fresh caller.
fn get_count(engine: &Engine<Switch>, s: SessionId, out: &mut Out) -> SwitchData {
    let from = 1000 + out.emitted.len() as u64;
    engine.call(s, from, SwitchMsg::GetCount, out).unwrap();
    match out.emitted.last() {
        Some(Emitted::Reply(f, r)) if *f == from => *r,
        other => panic!("no reply to get_count: {other:?}"),
    }
}

/// The exit reason and the state and data `terminate/3` saw.
fn terminated(out: &Out) -> (&ExitReason<Switch>, SwitchState, SwitchData) {
    out.emitted
        .iter()
        .find_map(|e| match e {
            Emitted::Terminated(_, r, st, d) => Some((r, *st, *d)),
            _ => None,
        })
        .expect("terminated")
}

// ------------------------------------------------------------ moduledoc

/// Moduledoc "Example": start `{:off, 0}`, one flip, `get_count` → 1.
#[test]
fn moduledoc_example_handle_event_function() {
    let (engine, mut out) = (engine(), Out::default());
    let s = start(&engine, SwitchVariant::HandleEventFunction, SwitchData::Count(0), &mut out);
    assert_eq!(engine.status(s).unwrap().mode, CallbackMode::HANDLE_EVENT_FUNCTION);
    flips(&engine, s, 1, &mut out);
    assert_eq!(get_count(&engine, s, &mut out), SwitchData::Count(1));
    assert_eq!(engine.get_state(s).unwrap(), (SwitchState::On, SwitchData::Count(1)));
}

/// Moduledoc, the `callback_mode: :state_functions` example: the same.
#[test]
fn moduledoc_example_state_functions() {
    let (engine, mut out) = (engine(), Out::default());
    let s = start(&engine, SwitchVariant::StateFunctions, SwitchData::Count(0), &mut out);
    assert_eq!(engine.status(s).unwrap().mode, CallbackMode::STATE_FUNCTIONS);
    flips(&engine, s, 1, &mut out);
    assert_eq!(get_count(&engine, s, &mut out), SwitchData::Count(1));
    assert_eq!(engine.get_state(s).unwrap(), (SwitchState::On, SwitchData::Count(1)));
}

/// gen_state_machine_test.exs "start_link/2, call/2 and cast/2" and
/// "… for state_functions": two flips (on, then off) count one.
#[test]
fn two_flips_count_one_in_both_modes() {
    for variant in [SwitchVariant::HandleEventFunction, SwitchVariant::StateFunctions] {
        let (engine, mut out) = (engine(), Out::default());
        let s = start(&engine, variant, SwitchData::Count(0), &mut out);
        flips(&engine, s, 2, &mut out);
        assert_eq!(get_count(&engine, s, &mut out), SwitchData::Count(1), "{variant:?}");
        assert_eq!(engine.get_state(s).unwrap().0, SwitchState::Off, "{variant:?}");
        // The call is answered in either state.
        flips(&engine, s, 1, &mut out);
        assert_eq!(get_count(&engine, s, &mut out), SwitchData::Count(2), "{variant:?}");
        assert_eq!(out.replies().len(), 2);
        assert!(out.terminated().is_none());
    }
}

/// Moduledoc "State Enter Callbacks": start + 2 flips + get_count →
/// `%{enters: 3, flips: 1}` (the initial enter, then one per state change).
#[test]
fn moduledoc_state_enter_counts_enters_and_flips() {
    let (engine, mut out) = (engine(), Out::default());
    let s = start(&engine, SwitchVariant::StateEnter, counts(0, 0), &mut out);
    assert_eq!(engine.status(s).unwrap().mode, CallbackMode::HANDLE_EVENT_FUNCTION.with_state_enter());
    // The initial enter call (OldState =:= State) runs in start.
    assert_eq!(engine.get_state(s).unwrap(), (SwitchState::Off, counts(1, 0)));
    flips(&engine, s, 2, &mut out);
    assert_eq!(get_count(&engine, s, &mut out), counts(3, 1));
}

/// state_enter_test.exs "handle_event_function and state_enter": after 3
/// flips `%{enters: 4, flips: 2}`; `get_count` (keep_state_and_data) makes
/// no enter call.
#[test]
fn state_enter_test_three_flips() {
    let (engine, mut out) = (engine(), Out::default());
    let s = start(&engine, SwitchVariant::StateEnter, counts(0, 0), &mut out);
    flips(&engine, s, 3, &mut out);
    assert_eq!(get_count(&engine, s, &mut out), counts(4, 2));
    assert_eq!(get_count(&engine, s, &mut out), counts(4, 2));
    assert_eq!(engine.get_state(s).unwrap(), (SwitchState::On, counts(4, 2)));
}

// ------------------------------------------------------------ bad events

/// GenStateMachine's catch-all `handle_event/4` answers
/// `{:stop, :bad_event}`: an `info` `:flip` stops the switch; terminate
/// sees the state it had.
#[test]
fn unknown_event_stops_with_bad_event() {
    for variant in [SwitchVariant::HandleEventFunction, SwitchVariant::StateEnter] {
        let (engine, mut out) = (engine(), Out::default());
        let data = if variant == SwitchVariant::StateEnter { counts(0, 0) } else { SwitchData::Count(0) };
        let s = start(&engine, variant, data, &mut out);
        flips(&engine, s, 1, &mut out);
        let (_, data_on) = engine.get_state(s).unwrap();
        engine.info(s, SwitchMsg::Flip, &mut out).unwrap();
        let (reason, state, data) = terminated(&out);
        assert!(matches!(reason, ExitReason::Reason(SwitchReason::BadEvent)), "{variant:?}: {reason:?}");
        assert_eq!((state, data), (SwitchState::On, data_on), "{variant:?}");
        assert!(!engine.is_alive(s));
        assert_eq!(engine.cast(s, SwitchMsg::Flip, &mut out), Err(throng_core::Error::NoProc));
        assert_eq!(engine.live(), 0);
    }
}

/// A call nobody handles (`{:call, from}` with `:flip`) stops with
/// `:bad_event`, and the caller learns it instead of waiting for ever.
#[test]
fn unknown_call_fails_the_caller_with_bad_event() {
    let (engine, mut out) = (engine(), Out::default());
    let s = start(&engine, SwitchVariant::HandleEventFunction, SwitchData::Count(0), &mut out);
    engine.call(s, 42, SwitchMsg::Flip, &mut out).unwrap();
    assert!(out.replies().is_empty());
    let failed: Vec<_> = out
        .emitted
        .iter()
        .filter_map(|e| match e {
            Emitted::CallFailed(id, from, r) => Some((*id, *from, r.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0].0, failed[0].1), (s, 42));
    assert!(matches!(failed[0].2, ExitReason::Reason(SwitchReason::BadEvent)));
}

/// State functions have no default: an unknown event raises
/// (`FunctionClauseError`), and terminate sees the state and data from
/// before the event.
#[test]
fn state_functions_unknown_event_raises_function_clause() {
    let (engine, mut out) = (engine(), Out::default());
    let s = start(&engine, SwitchVariant::StateFunctions, SwitchData::Count(5), &mut out);
    engine.info(s, SwitchMsg::GetCount, &mut out).unwrap();
    let (reason, state, data) = terminated(&out);
    assert!(matches!(reason, ExitReason::Exception(SwitchReason::FunctionClause)), "{reason:?}");
    assert_eq!((state, data), (SwitchState::Off, SwitchData::Count(5)));
    assert!(!engine.is_alive(s));
}

// ------------------------------------------------------------ stop

/// gen_state_machine_test.exs "stop/3": `GenStateMachine.stop(pid)` is
/// `:ok`; terminate runs with the current state; the session is gone.
#[test]
fn stop_terminates_normally() {
    let (engine, mut out) = (engine(), Out::default());
    let s = start(&engine, SwitchVariant::StateEnter, counts(0, 0), &mut out);
    flips(&engine, s, 1, &mut out);
    let watcher = 9;
    let mref = engine.monitor(s, watcher).unwrap();
    engine.stop(s, None, Some(77), &mut out).unwrap();
    let (reason, state, data) = terminated(&out);
    assert!(matches!(reason, ExitReason::Normal));
    assert_eq!((state, data), (SwitchState::On, counts(2, 1)));
    assert!(out.emitted.iter().any(|e| matches!(e, Emitted::System(77, SystemReply::Stopped(ExitReason::Normal)))));
    assert!(out
        .emitted
        .iter()
        .any(|e| matches!(e, Emitted::Down(9, r, id, ExitReason::Normal) if *r == mref && *id == s)));
    assert_eq!(engine.get_state(s).err(), Some(throng_core::Error::NoProc));
    assert_eq!(engine.live(), 0);
}

// ------------------------------------------------------------ many

/// 3,000 switches of the three modules in one engine, session `i` flipped
/// `i % 7` times: each counts its own flips.
#[test]
fn many_switches_count_independently() {
    let (engine, mut out) = (engine(), Out::default());
    let variants = [SwitchVariant::HandleEventFunction, SwitchVariant::StateFunctions, SwitchVariant::StateEnter];
    let sessions: Vec<(SessionId, SwitchVariant, u64)> = (0..3000u64)
        .map(|i| {
            let v = variants[(i % 3) as usize];
            let data = if v == SwitchVariant::StateEnter { counts(0, 0) } else { SwitchData::Count(0) };
            (start(&engine, v, data, &mut out), v, i % 7)
        })
        .collect();
    for &(s, _, n) in &sessions {
        flips(&engine, s, n as usize, &mut out);
    }
    assert_eq!(engine.live(), 3000);
    for &(s, v, n) in &sessions {
        let on = n.div_ceil(2);
        let want = if v == SwitchVariant::StateEnter { counts(n + 1, on) } else { SwitchData::Count(on) };
        assert_eq!(get_count(&engine, s, &mut out), want, "{v:?} after {n} flips");
        let state = if n % 2 == 1 { SwitchState::On } else { SwitchState::Off };
        assert_eq!(engine.get_state(s).unwrap().0, state);
    }
    for &(s, _, _) in &sessions {
        engine.stop(s, None, None, &mut out).unwrap();
    }
    assert_eq!(engine.live(), 0);
}
