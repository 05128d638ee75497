//! The rules of `GEN_STATEM_SEMANTICS.md` §1, one or more tests per rule,
//! and the engine-level rules of Throng (handles, limits, suspend, sync,
//! panics, run budget).
//!
//! Every test names its rule (`// §1.7: …`) and asserts exact traces: the
//! test machine logs each callback invocation as `{State, Type, Content}`
//! (`{State, enter, OldState}` for an enter call) and the harness output
//! logs what the engine emits (`{reply,From,R}`, `{terminated,Reason,S,D}`,
//! …) into the same trace, in order. `{at, T}` marks the clock when a
//! timer fired (see `H::advance_stepwise`).
//!
//! The ordering-sensitive tests run in both modes (`both_modes`): with
//! callbacks answering at once and with every callback parked and resumed
//! through `Engine::resume*` — the traces must be identical. Tests about a
//! callback that is busy while something happens (a timer expires, a stop
//! or sync request arrives) run in deferred mode only, since that is the
//! only way to be busy.

#[macro_use]
mod common;

use common::*;

/// `{State, Type, Content}` for a cast.
fn cast(state: &'static str, c: impl IntoTerm) -> Term {
    lg(state, "cast", c)
}

/// `{State, {timeout, Name}, Msg}`.
fn gen_ev(state: &'static str, name: &'static str, msg: impl IntoTerm) -> Term {
    lg(state, t!("timeout", name), msg)
}

/// `{State, enter, Old}`.
fn enter(state: impl IntoTerm, old: impl IntoTerm) -> Term {
    lg(state, "enter", old)
}

/// A harness for [`machine`]`(mode, f)` started in `state` with `data`.
fn setup(
    deferred: bool,
    mode: CallbackMode,
    state: &'static str,
    data: impl IntoTerm,
    actions: Vec<A>,
    f: impl Fn(&Ev) -> R + Send + Sync + 'static,
) -> (H, SessionId) {
    let mut h = H::new(machine(mode, f), deferred);
    let id = h.start_with("m", atom(state), data.into_term(), actions);
    (h, id)
}

/// A machine that logs and keeps everything.
fn keep_all(_: &Ev) -> R {
    keep(vec![])
}

// =====================================================================
// §1.2 Start: init/1 results, init actions, callback_mode
// =====================================================================

#[test]
fn init_ok_actions_run_as_a_transition() {
    // §1.2: `{ok,S,D,Actions}`: the actions run as a transition before any
    // external event: replies at once, inserted events, zero time-outs.
    both_modes(|d| {
        let init = vec![reply(7, "early"), internal("a"), gen_timeout("g", 0, "z")];
        let (mut h, id) = setup(d, HEF, "s0", 0, init, keep_all);
        h.cast(id, atom("x"));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                replied(7, "early"),
                lg("s0", "internal", "a"),
                gen_ev("s0", "g", "z"),
                cast("s0", "x"),
            ]
        );
        h.all()
    });
}

#[test]
fn init_postpone_is_overridden_and_the_init_event_is_never_delivered() {
    // §1.2: the init actions are followed by `{postpone,false}`: `postpone`
    // (or `{postpone,true}`) in them does nothing, and the fake init event
    // is never delivered, not even on a later state change.
    for p in [Action::Postpone, Action::PostponeFlag(true)] {
        both_modes(|d| {
            let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![p.clone()], |e| match (e.ty, e.c()) {
                ("cast", "go") => next_state("b", 0, vec![]),
                _ => keep(vec![]),
            });
            assert_eq!(h.status(id).postponed_len, 0);
            h.cast(id, atom("go"));
            assert_eq!(h.take(), vec![init_log("m"), enter("a", "a"), cast("a", "go"), enter("b", "a")]);
            h.all()
        });
    }
}

#[test]
fn init_timeout_zero_is_cancelled_by_init_next_events() {
    // §1.2: a `{timeout,0,_}` in the init actions is cancelled by the init
    // `next_event`s (they are handled first, and any event cancels it).
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "s0", 0, vec![ev_timeout(0, "t"), internal("a")], keep_all);
        assert_eq!(h.take(), vec![init_log("m"), lg("s0", "internal", "a")]);
        assert_eq!(h.status(id).timeouts, vec![]);
        assert_eq!(h.advance(100), 0);
        assert_eq!(h.take(), vec![]);
        h.all()
    });
}

#[test]
fn init_state_timeout_zero_is_delivered_after_init_next_events() {
    // §1.2: a `{state_timeout,0,_}` in the init actions is delivered after
    // the init `next_event`s.
    both_modes(|d| {
        let init = vec![st_timeout(0, "s"), internal("a"), internal("b")];
        let (mut h, _id) = setup(d, HEF, "s0", 0, init, keep_all);
        assert_eq!(
            h.take(),
            vec![init_log("m"), lg("s0", "internal", "a"), lg("s0", "internal", "b"), lg("s0", "state_timeout", "s"),]
        );
        h.all()
    });
}

#[test]
fn init_next_events_run_before_events_sent_during_init() {
    // §1.2: init `next_event`s run before any external event, also one
    // sent while init/1 was still running (deferred init).
    let mut h = H::new(machine(HEF, keep_all), true);
    let Started::Pending(id) =
        h.engine.start("m", InitResult::Ok(atom("s0"), int(0), vec![internal("a")]), &mut h.out).unwrap()
    else {
        panic!("init must be pending in deferred mode")
    };
    h.engine.cast(id, atom("x"), &mut h.out).unwrap();
    h.engine.call(id, 5, atom("y"), &mut h.out).unwrap();
    assert_eq!(h.take(), vec![init_log("m")]);
    assert_eq!(h.drive().map(|s| started_term(&s)), Some(atom("ok")));
    assert_eq!(h.take(), vec![lg("s0", "internal", "a"), cast("s0", "x"), lg("s0", t!("call", 5), "y")]);
}

#[test]
fn init_enter_call_has_old_state_equal_to_state() {
    // §1.2, §1.8: with state_enter, the first enter call is made with
    // OldState =:= State, after the init actions' replies.
    both_modes(|d| {
        let (mut h, _id) = setup(d, HEF_ENTER, "s0", 0, vec![reply(3, "r")], keep_all);
        assert_eq!(h.take(), vec![init_log("m"), replied(3, "r"), enter("s0", "s0")]);
        h.all()
    });
}

#[test]
fn init_actions_may_change_the_callback_module() {
    // §1.2, §1.14: init actions are event-callback actions: a module change
    // is allowed and applies at once, also to the initial enter call.
    both_modes(|d| {
        let s = logged(Script::new(), "m", HEF, |_| keep(vec![]));
        let tr = s.trace_handle();
        let s = s.module("m2", HEF_ENTER, move |c| {
            let e = ev(c);
            log(&tr, t!("m2", e.log_term()));
            keep(vec![])
        });
        let mut h = H::new(s, d);
        let id = h.start_with("m", atom("s0"), int(0), vec![Action::PushCallbackModule("m2")]);
        h.cast(id, atom("x"));
        assert_eq!(h.take(), vec![init_log("m"), t!("m2", enter("s0", "s0")), t!("m2", cast("s0", "x"))]);
        assert_eq!(h.status(id).modules, vec!["m2", "m"]);
        h.all()
    });
}

#[test]
fn init_failures_give_start_errors_without_terminate() {
    // §1.2: `ignore` → ignore; `{stop,R}` → `{error,R}`; an exception →
    // `{error,R}`; anything else → `{error,{bad_return_from_init,R}}`.
    // terminate/3 is never called and no session is left.
    both_modes(|d| {
        let mut h = H::new(machine(HEF, keep_all), d);
        let mut seen = vec![];
        for (init, expected) in [
            (InitResult::Ignore, atom("ignore")),
            (InitResult::Stop(atom("r")), t!("error", "r")),
            (InitResult::Exception(atom("boom")), t!("error", t!("exception", "boom"))),
            (
                InitResult::Invalid(t!("error", "foobar")),
                t!("error", t!("bad_return_from_init", t!("error", "foobar"))),
            ),
        ] {
            let s = h.start("m", init);
            assert_eq!(started_term(&s), expected);
            assert_eq!(h.take(), vec![init_log("m")]);
            assert_eq!(h.engine.live(), 0);
            seen.push(expected);
        }
        seen
    });
}

#[test]
fn init_failure_tells_monitors_and_callers_of_a_pending_init() {
    // §1.2, §1.10: a caller and a monitor that came while init/1 was
    // running learn the failure reason.
    let mut h = H::new(machine(HEF, keep_all), true);
    let Started::Pending(id) = h.engine.start("m", InitResult::Stop(atom("no")), &mut h.out).unwrap() else {
        panic!("init must be pending")
    };
    h.engine.monitor(id, 9).unwrap();
    h.engine.call(id, 5, atom("y"), &mut h.out).unwrap();
    assert_eq!(h.drive().map(|s| started_term(&s)), Some(t!("error", "no")));
    assert_eq!(h.take(), vec![init_log("m"), call_failed(5, "no"), t!("down", 9, "no")]);
    assert!(!h.engine.is_alive(id));
}

#[test]
fn bad_callback_mode_stops_the_session_after_start_returned_ok() {
    // §1.2: callback_mode/0 is called after init's ack: a bad result
    // crashes the session after start returned `{ok,_}`, with
    // `{bad_return_from_callback_mode,R}`; terminate/3 is called.
    both_modes(|d| {
        let mut h = H::new(Script::new().bad_mode_module("bad", l!("state_enter")), d);
        let s = h.start("bad", InitResult::Ok(atom("s0"), int(0), vec![]));
        let Started::Ok(id) = s else { panic!("{s:?}") };
        let reason = t!("bad_return_from_callback_mode", l!("state_enter"));
        assert_eq!(
            h.take(),
            vec![
                init_log("bad"),
                terminate_log("bad_return_from_callback_mode", "s0", 0),
                terminated(&reason, "s0", 0),
            ]
        );
        assert!(!h.engine.is_alive(id));
        h.all()
    });
}

#[test]
fn state_enter_flag_decides_enter_calls() {
    // §1.2, §1.8: enter calls are made only when callback_mode() includes
    // state_enter.
    let run = |mode: CallbackMode, d: bool| {
        let (mut h, id) = setup(d, mode, "a", 0, vec![], |e| match e.c() {
            "go" => next_state("b", 0, vec![]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("go"));
        h.all()
    };
    assert_eq!(both_modes(|d| run(HEF, d)), vec![init_log("m"), cast("a", "go")]);
    assert_eq!(
        both_modes(|d| run(HEF_ENTER, d)),
        vec![init_log("m"), enter("a", "a"), cast("a", "go"), enter("b", "a")]
    );
}

#[test]
fn callback_mode_is_reread_after_every_module_change() {
    // §1.2, §1.14: after change/push/pop the new head's callback_mode() is
    // read at once; its state_enter flag decides the enter call of the
    // same transition.
    both_modes(|d| {
        let mut s = Script::new();
        for (name, mode) in [("m1", HEF), ("m2", HEF_ENTER), ("m3", HEF)] {
            let tr = s.trace_handle();
            s = s.module(name, mode, move |c| {
                let e = ev(c);
                log(&tr, t!(name, e.log_term()));
                match e.c() {
                    "change" => next_state("s2", 0, vec![Action::ChangeCallbackModule("m2")]),
                    "push" => next_state("s3", 0, vec![Action::PushCallbackModule("m3")]),
                    "pop" => next_state("s4", 0, vec![Action::PopCallbackModule]),
                    _ => keep(vec![]),
                }
            });
        }
        let mut h = H::new(s, d);
        let id = h.start_with("m1", atom("s1"), int(0), vec![]);
        for c in ["change", "push", "pop"] {
            h.cast(id, atom(c));
        }
        assert_eq!(
            h.take(),
            vec![
                init_log("m1"),
                t!("m1", cast("s1", "change")),
                t!("m2", enter("s2", "s1")),
                t!("m2", cast("s2", "push")),
                t!("m3", cast("s3", "pop")),
                t!("m2", enter("s4", "s3")),
            ]
        );
        assert_eq!(h.status(id).modules, vec!["m2"]);
        h.all()
    });
}

// =====================================================================
// §1.4 Callback results and the state-change rule
// =====================================================================

/// A machine for the result tests: in state `a`, `p` is postponed; other
/// casts return what their name says; a 100 ms state time-out `st` was
/// set by init.
fn results_machine(e: &Ev) -> R {
    let n = e.data.as_int().unwrap_or(0);
    match (e.st(), e.ty, e.c()) {
        ("a", "cast", "p") => keep(vec![Action::Postpone]),
        (_, "cast", "keep_state") => keep_state(n + 1, vec![]),
        (_, "cast", "keep_state_and_data") => keep(vec![]),
        (_, "cast", "same") => next_state(&e.state, n + 1, vec![]),
        (_, "cast", "repeat_state") => repeat_state(n + 1, vec![]),
        (_, "cast", "repeat_state_and_data") => CallbackResult::RepeatStateAndData(vec![]),
        (_, "cast", "chg") => keep(vec![Action::ChangeCallbackModule("m")]),
        (_, "cast", "go") => next_state("b", n, vec![]),
        _ => keep(vec![]),
    }
}

#[test]
fn results_that_keep_the_state_are_not_state_changes() {
    // §1.4, §1.6: keep_state, keep_state_and_data, next_state to the same
    // state, repeat_state(_and_data) and a module change are not state
    // changes: the postponed event is not retried and the state time-out
    // keeps running; only repeat_state makes an enter call; next_state to
    // another state retries the postponed event.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![st_timeout(100, "st")], results_machine);
        h.cast(id, atom("p"));
        let steps = ["keep_state", "keep_state_and_data", "same", "repeat_state", "repeat_state_and_data", "chg"];
        for c in steps {
            h.cast(id, atom(c));
        }
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                enter("a", "a"),
                cast("a", "p"),
                cast("a", "keep_state"),
                cast("a", "keep_state_and_data"),
                cast("a", "same"),
                cast("a", "repeat_state"),
                enter("a", "a"),
                cast("a", "repeat_state_and_data"),
                enter("a", "a"),
                cast("a", "chg"),
            ]
        );
        assert_eq!(h.state(id), (atom("a"), int(3)), "keep_state, same and repeat_state set the data");
        assert_eq!(h.status(id).postponed_len, 1);
        assert_eq!(h.status(id).timeouts, vec![(TimeoutType::State, atom("st"))]);
        h.advance(100);
        assert_eq!(h.take(), vec![lg("a", "state_timeout", "st")]);
        h.cast(id, atom("go"));
        assert_eq!(h.take(), vec![cast("a", "go"), enter("b", "a"), cast("b", "p")]);
        h.all()
    });
}

#[test]
fn state_change_is_decided_with_exact_term_comparison() {
    // §1.4: a state change is `NextState =/= State`: `1` and `1.0` are
    // different states (enter call, postponed event retried); `1` and `1`
    // are the same.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![], |e| match (e.ty, e.c()) {
            ("cast", "p") if e.state == int(1) => keep(vec![Action::Postpone]),
            ("cast", "int") => next_state(1, 0, vec![]),
            ("cast", "float") => next_state(Term::Float(1.0), 0, vec![]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("int"));
        h.cast(id, atom("p"));
        h.cast(id, atom("int"));
        h.cast(id, atom("float"));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                enter("a", "a"),
                cast("a", "int"),
                enter(1, "a"),
                lg(1, "cast", "p"),
                lg(1, "cast", "int"),
                lg(1, "cast", "float"),
                lg(Term::Float(1.0), "enter", 1),
                lg(Term::Float(1.0), "cast", "p"),
            ]
        );
        h.all()
    });
}

#[test]
fn stop_results() {
    // §1.4, §1.10: `stop` terminates with `normal`, `{stop,R}` with R and
    // the data the callback was called with, `{stop,R,D}` with R and D.
    both_modes(|d| {
        let mut seen = vec![];
        for (c, reason, data) in
            [("stop", atom("normal"), int(0)), ("stop_r", atom("r"), int(0)), ("stop_r_d", atom("r"), int(9))]
        {
            let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
                "stop" => CallbackResult::Stop(None, None),
                "stop_r" => stop("r"),
                "stop_r_d" => CallbackResult::Stop(Some(atom("r")), Some(int(9))),
                _ => keep(vec![]),
            });
            h.cast(id, atom(c));
            let name = if c == "stop" { "normal" } else { "reason" };
            assert_eq!(
                h.take(),
                vec![init_log("m"), cast("a", c), terminate_log(name, "a", &data), terminated(&reason, "a", &data),]
            );
            assert!(!h.engine.is_alive(id));
            seen.push(h.all());
        }
        seen
    });
}

#[test]
fn stop_and_reply_sends_its_replies_in_order_then_terminates() {
    // §1.4, §1.10: `{stop_and_reply,R,Replies}` and
    // `{stop_and_reply,R,Replies,D}`: the replies first, in order, then
    // terminate/3 (with D when given).
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "sr" => stop_reply("r", vec![(1, atom("one")), (2, atom("two"))], None),
            "srd" => stop_reply("r", vec![(1, atom("one")), (2, atom("two"))], Some(int(5))),
            _ => keep(vec![]),
        });
        h.cast(id, atom("sr"));
        let (mut h2, id2) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "srd" => stop_reply("r", vec![(1, atom("one")), (2, atom("two"))], Some(int(5))),
            _ => keep(vec![]),
        });
        h2.cast(id2, atom("srd"));
        let expected = |c: &'static str, data: i64| {
            vec![
                init_log("m"),
                cast("a", c),
                replied(1, "one"),
                replied(2, "two"),
                terminate_log("reason", "a", data),
                terminated("r", "a", data),
            ]
        };
        assert_eq!(h.take(), expected("sr", 0));
        assert_eq!(h2.take(), expected("srd", 5));
        (h.all(), h2.all())
    });
}

#[test]
fn unrecognized_result_is_bad_return_from_state_function() {
    // §1.4, §1.11: any other result is `{bad_return_from_state_function,R}`,
    // from an event callback or an enter call; terminate/3 sees the state
    // and data the callback was called with (for the enter call: the new
    // state and the data of the event callback).
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![], |e| match (e.st(), e.ty, e.c()) {
            ("a", "cast", "bad") => CallbackResult::Invalid(atom("badreturn")),
            ("a", "cast", "go") => next_state("b", 1, vec![]),
            ("b", "enter", _) => CallbackResult::Invalid(t!("bad", "enter")),
            _ => keep(vec![]),
        });
        h.cast(id, atom("bad"));
        let reason = t!("bad_return_from_state_function", "badreturn");
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                enter("a", "a"),
                cast("a", "bad"),
                terminate_log("bad_return_from_state_function", "a", 0),
                terminated(&reason, "a", 0),
            ]
        );
        let (mut h2, id2) = setup(d, HEF_ENTER, "a", 0, vec![], |e| match (e.st(), e.ty, e.c()) {
            ("a", "cast", "go") => next_state("b", 1, vec![]),
            ("b", "enter", _) => CallbackResult::Invalid(t!("bad", "enter")),
            _ => keep(vec![]),
        });
        h2.cast(id2, atom("go"));
        let reason = t!("bad_return_from_state_function", t!("bad", "enter"));
        assert_eq!(
            h2.take(),
            vec![
                init_log("m"),
                enter("a", "a"),
                cast("a", "go"),
                enter("b", "a"),
                terminate_log("bad_return_from_state_function", "b", 1),
                terminated(&reason, "b", 1),
            ]
        );
        (h.all(), h2.all())
    });
}

#[test]
fn state_change_from_an_enter_call_is_bad_state_enter_return() {
    // §1.4, §1.11: `{next_state,S,…}` with S =/= the current state from an
    // enter call is `{bad_state_enter_return_from_state_function,Result}`;
    // terminate/3 sees the enter call's state and data. (next_state to the
    // same state from an enter call is fine: see the GenStateMachine
    // state_enter port.)
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![], |e| match (e.st(), e.ty, e.c()) {
            ("a", "cast", "go") => next_state("b", 1, vec![]),
            ("b", "enter", _) => next_state("c", 2, vec![reply(4, "never")]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("go"));
        let reason =
            t!("bad_state_enter_return_from_state_function", t!("next_state", "c", 2, l!(t!("reply", 4, "never"))));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                enter("a", "a"),
                cast("a", "go"),
                enter("b", "a"),
                terminate_log("bad_state_enter_return_from_state_function", "b", 1),
                terminated(&reason, "b", 1),
            ]
        );
        h.all()
    });
}

// =====================================================================
// §1.5 Actions
// =====================================================================

#[test]
fn postpone_last_value_wins() {
    // §1.5: `postpone` / `{postpone,Bool}`: the last one wins.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "p_f" => keep(vec![Action::Postpone, Action::PostponeFlag(false)]),
            "f_p" => keep(vec![Action::PostponeFlag(false), Action::Postpone]),
            "t_f" => keep(vec![Action::PostponeFlag(true), Action::PostponeFlag(false)]),
            "f_t" => keep(vec![Action::PostponeFlag(false), Action::PostponeFlag(true)]),
            "go" => next_state("b", 0, vec![]),
            _ => keep(vec![]),
        });
        for c in ["p_f", "f_p", "t_f", "f_t"] {
            h.cast(id, atom(c));
        }
        assert_eq!(h.status(id).postponed_len, 2);
        h.cast(id, atom("go"));
        let tr = h.take();
        assert_eq!(tr[tr.len() - 3..], [cast("a", "go"), cast("b", "f_p"), cast("b", "f_t")]);
        h.all()
    });
}

#[test]
fn integer_action_is_an_event_timeout_whose_content_is_the_time() {
    // §1.5: a bare integer `Time` is `{timeout,Time,Time}`; a bare
    // `infinity` cancels it.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "arm" => keep(vec![shorthand(50)]),
            "arm_cancel" => keep(vec![shorthand(50), shorthand_infinity()]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("arm"));
        h.advance_stepwise(60);
        h.cast(id, atom("arm_cancel"));
        h.advance_stepwise(60);
        assert_eq!(
            h.take(),
            vec![init_log("m"), cast("a", "arm"), t!("at", 50), lg("a", "timeout", 50), cast("a", "arm_cancel")]
        );
        h.all()
    });
}

#[test]
fn cancel_is_infinity() {
    // §1.5, §1.7: `{Type,cancel}` is `{Type,infinity,undefined}`: it cancels
    // a running time-out of the type.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "arm" => keep(vec![gen_timeout("g", 100, "g"), st_timeout(100, "s")]),
            "cancel" => keep(vec![cancel(generic("g")), infinity(TimeoutType::State)]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("arm"));
        assert_eq!(h.status(id).timeouts.len(), 2);
        h.cast(id, atom("cancel"));
        assert_eq!(h.status(id).timeouts, vec![]);
        assert_eq!(h.advance(200), 0);
        assert_eq!(h.take(), vec![init_log("m"), cast("a", "arm"), cast("a", "cancel")]);
        h.all()
    });
}

#[test]
fn unrecognized_action_is_bad_action_from_state_function() {
    // §1.5, §1.11: `{bad_action_from_state_function, Action}`.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |_| keep(vec![Action::Invalid(t!("foo", 1))]));
        h.cast(id, atom("x"));
        let reason = t!("bad_action_from_state_function", t!("foo", 1));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                cast("a", "x"),
                terminate_log("bad_action_from_state_function", "a", 0),
                terminated(&reason, "a", 0)
            ]
        );
        h.all()
    });
}

/// Enters `b` from `a` on cast `go`; the enter call returns `actions`;
/// returns the reason the session stopped with (or `alive`).
fn enter_call_actions(d: bool, actions: Vec<A>) -> (Term, Vec<Term>) {
    let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![], move |e| match (e.st(), e.ty) {
        ("a", "cast") => next_state("b", 1, vec![]),
        ("b", "enter") => keep(actions.clone()),
        _ => keep(vec![]),
    });
    h.cast(id, atom("go"));
    let reason = match h.out.reports.first() {
        Some(r) => r.reason.clone(),
        None => atom("alive"),
    };
    (reason, h.all())
}

#[test]
fn postpone_in_an_enter_call_is_bad_state_enter_action() {
    // §1.5, §1.8: `postpone` in an enter call gives
    // `{bad_state_enter_action_from_state_function,postpone}`.
    let (reason, tr) = both_modes(|d| enter_call_actions(d, vec![Action::Postpone]));
    assert_eq!(reason, t!("bad_state_enter_action_from_state_function", "postpone"));
    assert_eq!(tr[tr.len() - 2], terminate_log("bad_state_enter_action_from_state_function", "b", 1));
}

#[test]
fn postpone_true_in_an_enter_call_is_bad_action() {
    // §1.5: but `{postpone,true}` in an enter call gives
    // `{bad_action_from_state_function,{postpone,true}}`.
    let (reason, _) = both_modes(|d| enter_call_actions(d, vec![Action::PostponeFlag(true)]));
    assert_eq!(reason, t!("bad_action_from_state_function", t!("postpone", true)));
}

#[test]
fn postpone_false_in_an_enter_call_is_allowed() {
    // §1.5: `{postpone,false}` is allowed in an enter call.
    let (reason, _) = both_modes(|d| enter_call_actions(d, vec![Action::PostponeFlag(false)]));
    assert_eq!(reason, atom("alive"));
}

#[test]
fn next_event_in_an_enter_call_is_bad_state_enter_action() {
    // §1.5, §1.8: `{next_event,…}` in an enter call gives
    // `{bad_state_enter_action_from_state_function,{next_event,…}}`.
    let (reason, _) = both_modes(|d| enter_call_actions(d, vec![internal("x")]));
    assert_eq!(reason, t!("bad_state_enter_action_from_state_function", t!("next_event", "internal", "x")));
}

#[test]
fn next_event_with_a_bad_type_is_a_next_event_error() {
    // §1.5 (OTP `loop_actions_next_event_bad`): `{next_event,BadType,C}` is
    // `bad_action_from_state_function` from an event callback but, as every
    // `next_event`, `bad_state_enter_action_from_state_function` from an
    // enter call.
    let bad = t!("next_event", "nonsense", "x");
    let (reason, _) = both_modes(|d| enter_call_actions(d, vec![Action::InvalidNextEvent(bad.clone())]));
    assert_eq!(reason, t!("bad_state_enter_action_from_state_function", bad.clone()));
    both_modes(|d| {
        let b = bad.clone();
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], move |_| keep(vec![Action::InvalidNextEvent(b.clone())]));
        h.cast(id, atom("x"));
        let reason = h.out.reports.first().map(|r| r.reason.clone());
        assert_eq!(reason, Some(t!("bad_action_from_state_function", bad.clone())));
        h.all()
    });
}

#[test]
fn module_changes_in_an_enter_call_are_bad_state_enter_actions() {
    // §1.5, §1.14: change/push/pop_callback_module in an enter call give
    // `{bad_state_enter_action_from_state_function, Action}` — but OTP's pop
    // clause needs a second module on the stack, so with one module pop is
    // `{bad_action_from_state_function, pop_callback_module}` there too
    // (checked on OTP 25 by the differential suite).
    for (a, t) in [
        (Action::ChangeCallbackModule("m"), t!("change_callback_module", "m")),
        (Action::PushCallbackModule("m"), t!("push_callback_module", "m")),
    ] {
        let (reason, _) = both_modes(|d| enter_call_actions(d, vec![a.clone()]));
        assert_eq!(reason, t!("bad_state_enter_action_from_state_function", t));
    }
    let (reason, _) = both_modes(|d| enter_call_actions(d, vec![Action::PopCallbackModule]));
    assert_eq!(reason, t!("bad_action_from_state_function", "pop_callback_module"));
}

#[test]
fn enter_call_may_reply_hibernate_and_set_timeouts() {
    // §1.5, §1.8: reply, hibernate and every time-out action are allowed in
    // an enter call.
    both_modes(|d| {
        let actions = vec![
            reply(4, "from_enter"),
            Action::Hibernate(true),
            st_timeout(10, "s"),
            ev_timeout(20, "e"),
            gen_timeout("g", 30, "g"),
            update(generic("u"), "u"),
            cancel(generic("none")),
        ];
        let (reason, tr) = enter_call_actions(d, actions);
        assert_eq!(reason, atom("alive"));
        assert_eq!(
            tr,
            vec![
                init_log("m"),
                enter("a", "a"),
                cast("a", "go"),
                enter("b", "a"),
                replied(4, "from_enter"),
                gen_ev("b", "u", "u")
            ]
        );
        tr
    });
}

#[test]
fn pop_callback_module_on_a_one_module_stack_is_bad_action() {
    // §1.5: `pop_callback_module` with one module on the stack is
    // `{bad_action_from_state_function,pop_callback_module}`.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |_| next_state("b", 1, vec![Action::PopCallbackModule]));
        h.cast(id, atom("pop"));
        let reason = t!("bad_action_from_state_function", "pop_callback_module");
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                cast("a", "pop"),
                terminate_log("bad_action_from_state_function", "b", 1),
                terminated(&reason, "b", 1),
            ]
        );
        h.all()
    });
}

#[test]
fn change_to_a_module_with_a_bad_callback_mode_stops_the_session() {
    // §1.5, §1.10, §1.14: the new module's callback_mode() is read at once;
    // a bad one (here: an unknown module) stops the session with
    // `{bad_return_from_callback_mode,_}`; terminate/3 goes to the old
    // module and sees the new state and data of the result.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |_| {
            next_state("b", 1, vec![reply(3, "before"), Action::ChangeCallbackModule("nomod"), reply(4, "after")])
        });
        h.cast(id, atom("go"));
        let reason = t!("bad_return_from_callback_mode", t!("undef", "nomod"));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                cast("a", "go"),
                replied(3, "before"),
                terminate_log("bad_return_from_callback_mode", "b", 1),
                terminated(&reason, "b", 1),
            ]
        );
        assert_eq!(h.out.reports[0].modules, vec!["m"]);
        h.all()
    });
}

// =====================================================================
// §1.6 Event queue order
// =====================================================================

#[test]
fn inserted_events_nest_like_a_stack() {
    // §1.6: events inserted while handling an inserted event go before the
    // rest of the earlier batch: e1, e1a, e1a_x, e1b, e2, e3.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "e1" => keep(vec![internal("e1a"), internal("e1b")]),
            "e1a" => keep(vec![internal("e1a_x")]),
            _ => keep(vec![]),
        });
        h.send_events(id, vec![cast_ev("e1"), cast_ev("e2"), cast_ev("e3")]).unwrap();
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                cast("a", "e1"),
                lg("a", "internal", "e1a"),
                lg("a", "internal", "e1a_x"),
                lg("a", "internal", "e1b"),
                cast("a", "e2"),
                cast("a", "e3"),
            ]
        );
        h.all()
    });
}

#[test]
fn queue_order_after_a_state_change() {
    // §1.6: after a transition: inserted events in action order; then, on
    // a state change, the postponed events oldest first; then the events
    // still queued from before; then zero time-outs; then the mailbox.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match (e.st(), e.c()) {
            ("a", "p1" | "p2") => keep(vec![Action::Postpone]),
            ("a", "go") => keep(vec![internal("e1"), internal("e2")]),
            ("a", "e1") => next_state("b", 0, vec![internal("i1"), gen_timeout("z", 0, "z"), internal("i2")]),
            _ => keep(vec![]),
        });
        h.send_events(id, vec![cast_ev("p1"), cast_ev("p2"), cast_ev("go"), cast_ev("m1")]).unwrap();
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                cast("a", "p1"),
                cast("a", "p2"),
                cast("a", "go"),
                lg("a", "internal", "e1"),
                lg("b", "internal", "i1"),
                lg("b", "internal", "i2"),
                cast("b", "p1"),
                cast("b", "p2"),
                lg("b", "internal", "e2"),
                gen_ev("b", "z", "z"),
                cast("b", "m1"),
            ]
        );
        h.all()
    });
}

#[test]
fn repostponed_events_keep_their_relative_order() {
    // §1.6: a retried postponed event that is postponed again keeps its
    // order: p2, p4 and p6 are retried in order in the next state.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match (e.st(), &e.content) {
            (_, Term::Atom("go")) => next_state(if e.st() == "a" { "b" } else { "c" }, 0, vec![]),
            ("a", Term::Int(_)) => keep(vec![Action::Postpone]),
            ("b", Term::Int(n)) if n % 2 == 0 => keep(vec![Action::Postpone]),
            _ => keep(vec![]),
        });
        for n in 1..=6 {
            h.cast(id, int(n));
        }
        h.cast(id, atom("go"));
        h.cast(id, atom("go"));
        let mut expected = vec![init_log("m")];
        expected.extend((1..=6).map(|n| cast("a", n)));
        expected.push(cast("a", "go"));
        expected.extend((1..=6).map(|n| cast("b", n)));
        expected.push(cast("b", "go"));
        expected.extend([2, 4, 6].map(|n| cast("c", n)));
        assert_eq!(h.take(), expected);
        h.all()
    });
}

#[test]
fn postponed_event_of_a_state_changing_transition_is_retried_at_once() {
    // §1.6: the current event, postponed in a transition that changes the
    // state, is retried in the new state right away.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.st() {
            "a" => next_state("b", 0, vec![Action::Postpone]),
            _ => keep(vec![]),
        });
        h.send_events(id, vec![cast_ev("x"), cast_ev("y")]).unwrap();
        assert_eq!(h.take(), vec![init_log("m"), cast("a", "x"), cast("b", "x"), cast("b", "y")]);
        h.all()
    });
}

#[test]
fn postponed_call_is_answered_from_a_later_state() {
    // §1.6: a postponed call can be answered from any later state.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match (e.st(), e.ty) {
            ("a", "call") => keep(vec![Action::Postpone]),
            ("a", "cast") => next_state("b", 0, vec![]),
            ("b", "call") => keep(vec![reply(e.from.unwrap(), t!("answered_in", "b"))]),
            _ => keep(vec![]),
        });
        let f = h.call(id, atom("q"));
        h.cast(id, atom("go"));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                lg("a", t!("call", f), "q"),
                cast("a", "go"),
                lg("b", t!("call", f), "q"),
                replied(f, t!("answered_in", "b"))
            ]
        );
        h.all()
    });
}

// =====================================================================
// §1.7 Time-outs
// =====================================================================

#[test]
fn last_timeout_of_each_type_wins_across_event_and_enter_calls() {
    // §1.7: only the last action of each type counts, over the event
    // callback and the enter calls of the transition: the state time-out
    // 200 (enter) wins over 100 (event); `{timeout,g}` 0 (enter) over 100;
    // the event time-out of the event callback stands, and is cancelled by
    // the zero time-out event of g.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![], |e| match (e.st(), e.ty) {
            ("a", "cast") => {
                next_state("b", 0, vec![st_timeout(100, "x"), gen_timeout("g", 100, "g1"), ev_timeout(100, "e1")])
            }
            ("b", "enter") => keep(vec![st_timeout(200, "y"), gen_timeout("g", 0, "g2")]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("go"));
        h.advance_stepwise(300);
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                enter("a", "a"),
                cast("a", "go"),
                enter("b", "a"),
                gen_ev("b", "g", "g2"),
                t!("at", 200),
                lg("b", "state_timeout", "y"),
            ]
        );
        h.all()
    });
}

#[test]
fn last_timeout_wins_within_one_action_list() {
    // §1.7: `[{timeout,100,x}, infinity]` cancels;
    // `[{{timeout,j},100,j1},{{timeout,j},0,j2}]` gives only j2.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "a1" => keep(vec![ev_timeout(100, "x"), shorthand_infinity()]),
            "a2" => keep(vec![gen_timeout("j", 100, "j1"), gen_timeout("j", 0, "j2")]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("a1"));
        h.cast(id, atom("a2"));
        h.advance_stepwise(200);
        assert_eq!(h.take(), vec![init_log("m"), cast("a", "a1"), cast("a", "a2"), gen_ev("a", "j", "j2")]);
        h.all()
    });
}

/// Arms `{timeout,100,e}` (plus `extra`) on cast `arm`, then runs `then`
/// at 50 ms, and records up to 200 ms.
fn event_timeout_case(d: bool, extra: Vec<A>, then: impl Fn(&mut H, SessionId)) -> Vec<Term> {
    let (mut h, id) = setup(d, HEF, "a", 0, vec![], move |e| match (e.st(), e.ty, e.c()) {
        ("a", "cast", "p") => keep(vec![Action::Postpone]),
        ("a", "cast", "arm") => {
            let mut a = vec![ev_timeout(100, "e")];
            a.extend(extra.clone());
            keep(a)
        }
        ("a", "cast", "arm_go") => next_state("b", 0, vec![ev_timeout(100, "e")]),
        _ => keep(vec![]),
    });
    h.take();
    h.history.clear();
    then(&mut h, id);
    h.advance_stepwise(50);
    h.all()
}

#[test]
fn event_timeout_is_cancelled_by_any_handled_event() {
    // §1.7: the event time-out is cancelled by the handling of any event:
    // external (cast, info), inserted, a retried postponed event, a timer
    // event of another type, a zero time-out event. Without one, it fires.
    let fires = both_modes(|d| {
        event_timeout_case(d, vec![], |h, id| {
            h.cast(id, atom("arm"));
            h.advance_stepwise(50);
        })
    });
    assert_eq!(fires, vec![cast("a", "arm"), t!("at", 100), lg("a", "timeout", "e")]);
    let cast_at_50 = both_modes(|d| {
        event_timeout_case(d, vec![], |h, id| {
            h.cast(id, atom("arm"));
            h.advance(50);
            h.cast(id, atom("x"));
            h.info(id, atom("y"));
        })
    });
    assert_eq!(cast_at_50, vec![cast("a", "arm"), cast("a", "x"), lg("a", "info", "y")]);
    let info_at_50 = both_modes(|d| {
        event_timeout_case(d, vec![], |h, id| {
            h.cast(id, atom("arm"));
            h.advance(50);
            h.info(id, atom("y"));
        })
    });
    assert_eq!(info_at_50, vec![cast("a", "arm"), lg("a", "info", "y")]);
    let inserted = both_modes(|d| event_timeout_case(d, vec![internal("i")], |h, id| h.cast(id, atom("arm"))));
    assert_eq!(inserted, vec![cast("a", "arm"), lg("a", "internal", "i")]);
    let generic =
        both_modes(|d| event_timeout_case(d, vec![gen_timeout("g", 50, "g")], |h, id| h.cast(id, atom("arm"))));
    assert_eq!(generic, vec![cast("a", "arm"), t!("at", 50), gen_ev("a", "g", "g")]);
    let state = both_modes(|d| event_timeout_case(d, vec![st_timeout(50, "s")], |h, id| h.cast(id, atom("arm"))));
    assert_eq!(state, vec![cast("a", "arm"), t!("at", 50), lg("a", "state_timeout", "s")]);
    let zero = both_modes(|d| event_timeout_case(d, vec![gen_timeout("z", 0, "z")], |h, id| h.cast(id, atom("arm"))));
    assert_eq!(zero, vec![cast("a", "arm"), gen_ev("a", "z", "z")]);
    let postponed = both_modes(|d| {
        event_timeout_case(d, vec![], |h, id| {
            h.cast(id, atom("p"));
            h.cast(id, atom("arm_go"));
        })
    });
    assert_eq!(postponed, vec![cast("a", "p"), cast("a", "arm_go"), cast("b", "p")]);
}

#[test]
fn event_timeout_is_not_cancelled_by_system_requests() {
    // §1.7: system requests (get_state, get_status, suspend/resume) and
    // sync are not events: the event time-out still fires.
    let tr = both_modes(|d| {
        event_timeout_case(d, vec![], |h, id| {
            h.cast(id, atom("arm"));
            h.advance(50);
            h.system(id, SystemRequest::GetState(1));
            h.system(id, SystemRequest::GetStatus(2));
            h.system(id, SystemRequest::Suspend(Some(3)));
            h.system(id, SystemRequest::Resume(Some(4)));
            h.sync(id);
            let tr = h.take();
            assert_eq!(tr.len(), 6, "{tr:?}");
            h.advance_stepwise(49);
        })
    });
    assert_eq!(tr[tr.len() - 2..], [t!("at", 100), lg("a", "timeout", "e")]);
}

#[test]
fn expired_event_timeout_waits_in_mailbox_order() {
    // §1.7: an event time-out is not cancelled by messages still in the
    // mailbox: cancellation happens when an event is handled, in mailbox
    // order. (Suspended, so that messages and the expired timer pile up.)
    let run = |cast_before_expiry: bool| {
        both_modes(move |d| {
            let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
                "arm" => keep(vec![ev_timeout(10, "e")]),
                _ => keep(vec![]),
            });
            h.cast(id, atom("arm"));
            h.system(id, SystemRequest::Suspend(None));
            if cast_before_expiry {
                h.cast(id, atom("m"));
            }
            assert_eq!(h.advance(10), 1);
            if !cast_before_expiry {
                h.cast(id, atom("m"));
            }
            h.system(id, SystemRequest::Resume(None));
            h.advance(100);
            h.all()
        })
    };
    assert_eq!(run(false), vec![init_log("m"), cast("a", "arm"), lg("a", "timeout", "e"), cast("a", "m")]);
    assert_eq!(run(true), vec![init_log("m"), cast("a", "arm"), cast("a", "m")]);
}

/// A deferred session: `arm` sets `arm_actions`; `slow`'s callback returns
/// `slow_actions` — the test keeps it busy while the clock moves.
fn busy_case(arm_actions: Vec<A>, slow_actions: Vec<A>) -> (H, SessionId) {
    let (mut h, id) = setup(true, HEF, "a", 0, vec![], move |e| match e.c() {
        "arm" => keep(arm_actions.clone()),
        "slow" => keep(slow_actions.clone()),
        _ => keep(vec![]),
    });
    h.cast(id, atom("arm"));
    h.take();
    (h, id)
}

/// Sends `slow` at 5 ms, fires timers at 10 ms while its callback is
/// busy, then resumes it.
fn expire_while_busy(h: &mut H, id: SessionId) {
    h.advance(5);
    h.engine.cast(id, atom("slow"), &mut h.out).unwrap();
    assert!(h.status(id).busy);
    h.clock.advance(5);
    assert_eq!(h.engine.tick(&mut h.out), 1, "the timer expired while the callback was busy");
    h.drive();
}

#[test]
fn event_timeout_expired_during_a_busy_callback_is_cancelled_exactly() {
    // §1.7: an event time-out that expires while another event's callback
    // runs is discarded when that event's transition ends (exact
    // cancellation: the expired message is removed from the mailbox).
    let (mut h, id) = busy_case(vec![ev_timeout(10, "e")], vec![]);
    expire_while_busy(&mut h, id);
    assert_eq!(h.advance(100), 0);
    assert_eq!(h.take(), vec![cast("a", "slow")]);
}

#[test]
fn timeout_expired_during_a_busy_callback_and_restarted_fires_at_its_new_time() {
    // §1.7: restarting a time-out whose expired message waits removes that
    // message; the new timer fires at its own time.
    let (mut h, id) = busy_case(vec![st_timeout(10, "s1")], vec![st_timeout(100, "s2")]);
    expire_while_busy(&mut h, id);
    h.advance_stepwise(100);
    assert_eq!(h.take(), vec![cast("a", "slow"), t!("at", 110), lg("a", "state_timeout", "s2")]);
}

#[test]
fn timeout_expired_during_a_busy_callback_and_cancelled_is_never_delivered() {
    // §1.7: `cancel` of a time-out whose expired message waits removes it.
    let (mut h, id) = busy_case(vec![gen_timeout("g", 10, "g")], vec![cancel(generic("g"))]);
    expire_while_busy(&mut h, id);
    assert_eq!(h.advance(100), 0);
    assert_eq!(h.take(), vec![cast("a", "slow")]);
}

#[test]
fn timeout_expired_during_a_busy_callback_and_updated_is_delivered_with_the_new_message() {
    // §1.7: `update` of a time-out whose expired message waits changes the
    // content it is delivered with.
    let (mut h, id) = busy_case(vec![gen_timeout("g", 10, "old")], vec![update(generic("g"), "new")]);
    expire_while_busy(&mut h, id);
    assert_eq!(h.take(), vec![cast("a", "slow"), gen_ev("a", "g", "new")]);
}

#[test]
fn update_without_a_timeout_is_a_zero_timeout() {
    // §1.7: `update` of a type with no time-out adds a zero time-out with
    // the message (delivered before the mailbox).
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "go" => keep(vec![update(generic("g"), "u")]),
            _ => keep(vec![]),
        });
        h.send_events(id, vec![cast_ev("go"), cast_ev("m")]).unwrap();
        assert_eq!(h.take(), vec![init_log("m"), cast("a", "go"), gen_ev("a", "g", "u"), cast("a", "m")]);
        h.all()
    });
}

#[test]
fn update_of_a_running_timeout_replaces_only_its_message() {
    // §1.7: `update` of a running timer replaces its message and keeps its
    // deadline.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "arm" => keep(vec![gen_timeout("g", 100, "old")]),
            "upd" => keep(vec![update(generic("g"), "new")]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("arm"));
        h.advance(50);
        h.cast(id, atom("upd"));
        h.advance_stepwise(100);
        assert_eq!(
            h.take(),
            vec![init_log("m"), cast("a", "arm"), cast("a", "upd"), t!("at", 100), gen_ev("a", "g", "new")]
        );
        h.all()
    });
}

#[test]
fn update_keeps_a_pending_zero_timeout_in_place_a_restart_moves_it_last() {
    // §1.7: `update` of a pending zero time-out keeps its place in the
    // zero queue; restarting it with 0 moves it last.
    let run = |i_action: A| {
        both_modes(move |d| {
            let i_action = i_action.clone();
            let (mut h, id) = setup(d, HEF, "a", 0, vec![], move |e| match e.c() {
                "go" => keep(vec![gen_timeout("g1", 0, "a"), gen_timeout("g2", 0, "b"), internal("i")]),
                "i" => keep(vec![i_action.clone()]),
                _ => keep(vec![]),
            });
            h.cast(id, atom("go"));
            h.all()
        })
    };
    assert_eq!(
        run(update(generic("g1"), "a2")),
        vec![init_log("m"), cast("a", "go"), lg("a", "internal", "i"), gen_ev("a", "g1", "a2"), gen_ev("a", "g2", "b")]
    );
    assert_eq!(
        run(gen_timeout("g1", 0, "a3")),
        vec![init_log("m"), cast("a", "go"), lg("a", "internal", "i"), gen_ev("a", "g2", "b"), gen_ev("a", "g1", "a3")]
    );
}

#[test]
fn event_timeout_update_always_acts_as_zero() {
    // §1.7: the event time-out is cancelled before the new time-outs apply,
    // so `{timeout,update,M}` always acts as `{timeout,0,M}`, even while an
    // event time-out was running.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "arm" => keep(vec![ev_timeout(100, "e")]),
            "upd" => keep(vec![update(TimeoutType::Event, "m")]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("arm"));
        h.advance(50);
        h.cast(id, atom("upd"));
        h.advance_stepwise(100);
        assert_eq!(h.take(), vec![init_log("m"), cast("a", "arm"), cast("a", "upd"), lg("a", "timeout", "m")]);
        h.all()
    });
}

#[test]
fn zero_timeouts_come_in_action_order_after_older_ones() {
    // §1.7: zero time-outs of one transition are appended in action order,
    // after those left from earlier transitions.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "go" => keep(vec![gen_timeout("z1", 0, 1), internal("i")]),
            "i" => keep(vec![gen_timeout("z2", 0, 2), st_timeout(0, 3), gen_timeout("z4", 0, 4)]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("go"));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                cast("a", "go"),
                lg("a", "internal", "i"),
                gen_ev("a", "z1", 1),
                gen_ev("a", "z2", 2),
                lg("a", "state_timeout", 3),
                gen_ev("a", "z4", 4),
            ]
        );
        h.all()
    });
}

#[test]
fn zero_timeouts_come_before_mailbox_messages() {
    // §1.7: a zero time-out is delivered when the queue is empty, before
    // any message already in the mailbox.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "go" => keep(vec![gen_timeout("z", 0, "z")]),
            _ => keep(vec![]),
        });
        h.send_events(id, vec![cast_ev("go"), cast_ev("m1"), cast_ev("m2")]).unwrap();
        assert_eq!(
            h.take(),
            vec![init_log("m"), cast("a", "go"), gen_ev("a", "z", "z"), cast("a", "m1"), cast("a", "m2")]
        );
        h.all()
    });
}

#[test]
fn zero_timeout_event_cancels_a_later_zero_event_timeout() {
    // §1.7 (OTP state_timeout case): each zero time-out event is a
    // transition, so it cancels a pending zero event time-out after it.
    let run = |actions: Vec<A>| {
        both_modes(move |d| {
            let actions = actions.clone();
            let (mut h, id) = setup(d, HEF, "a", 0, vec![], move |e| match e.c() {
                "go" => keep(actions.clone()),
                _ => keep(vec![]),
            });
            h.cast(id, atom("go"));
            h.all()
        })
    };
    assert_eq!(
        run(vec![st_timeout(0, "s"), ev_timeout(0, "t")]),
        vec![init_log("m"), cast("a", "go"), lg("a", "state_timeout", "s")]
    );
    assert_eq!(
        run(vec![ev_timeout(0, "t"), st_timeout(0, "s")]),
        vec![init_log("m"), cast("a", "go"), lg("a", "timeout", "t"), lg("a", "state_timeout", "s")]
    );
}

/// A session on a clock reading 1000; `go` returns `actions`.
fn at_1000(d: bool, actions: Vec<A>) -> (H, SessionId) {
    let m = machine(HEF, move |e| match e.c() {
        "go" => keep(actions.clone()),
        _ => keep(vec![]),
    });
    let mut h = H::with(m, d, config(), ManualClock::new(1000));
    let id = h.start_with("m", atom("a"), int(0), vec![]);
    h.take();
    (h, id)
}

#[test]
fn absolute_time_in_the_past_fires_through_the_mailbox() {
    // §1.7: an absolute time in the past (or now) fires at once but through
    // the mailbox, so after the zero time-outs and after the messages
    // already there.
    both_modes(|d| {
        let (mut h, id) = at_1000(d, vec![abs_timeout(generic("p"), 900, "past"), gen_timeout("z", 0, "zero")]);
        h.send_events(id, vec![cast_ev("go"), cast_ev("m")]).unwrap();
        assert_eq!(h.take(), vec![cast("a", "go"), gen_ev("a", "z", "zero"), cast("a", "m"), gen_ev("a", "p", "past")]);
        let (mut h2, id2) = at_1000(d, vec![abs_timeout(generic("n"), 1000, "now")]);
        h2.send_events(id2, vec![cast_ev("go"), cast_ev("m")]).unwrap();
        assert_eq!(h2.take(), vec![cast("a", "go"), cast("a", "m"), gen_ev("a", "n", "now")]);
        (h.all(), h2.all())
    });
}

#[test]
fn absolute_zero_takes_the_zero_path() {
    // §1.7: `{Type,0,Msg,[{abs,true}]}` takes the zero time-out path (OTP
    // matches Time =:= 0 before the options): delivered before the mailbox.
    both_modes(|d| {
        let (mut h, id) = at_1000(d, vec![abs_timeout(generic("a0"), 0, "abs0")]);
        h.send_events(id, vec![cast_ev("go"), cast_ev("m")]).unwrap();
        assert_eq!(h.take(), vec![cast("a", "go"), gen_ev("a", "a0", "abs0"), cast("a", "m")]);
        h.all()
    });
}

#[test]
fn absolute_time_in_the_future_fires_then() {
    // §1.7: `{abs,true}` with a future time fires at that clock reading.
    both_modes(|d| {
        let (mut h, id) = at_1000(d, vec![abs_timeout(generic("f"), 1100, "future")]);
        h.cast(id, atom("go"));
        h.advance_stepwise(200);
        assert_eq!(h.take(), vec![cast("a", "go"), t!("at", 1100), gen_ev("a", "f", "future")]);
        h.all()
    });
}

#[test]
fn absolute_times_work_with_a_negative_monotonic_clock() {
    // §1.7: times are in the BEAM's monotonic base, which may be negative:
    // an absolute time 100 ms ahead of a clock reading -5000 fires then;
    // `Absolute(0)` is still the zero path (OTP matches Time =:= 0).
    both_modes(|d| {
        let m = machine(HEF, |e| match e.c() {
            "go" => keep(vec![abs_timeout(generic("f"), -4900, "future"), abs_timeout(generic("z"), 0, "zero")]),
            _ => keep(vec![]),
        });
        let mut h = H::with(m, d, config(), ManualClock::new(-5000));
        let id = h.start_with("m", atom("a"), int(0), vec![]);
        h.cast(id, atom("go"));
        h.advance_stepwise(200);
        assert_eq!(
            h.take(),
            vec![init_log("m"), cast("a", "go"), gen_ev("a", "z", "zero"), t!("at", -4900), gen_ev("a", "f", "future")]
        );
        h.all()
    });
}

#[test]
fn timers_with_the_same_deadline_fire_in_reverse_action_order() {
    // §1.7: non-zero timers are started in reverse action order; with the
    // same deadline they fire in start order: c, b, a.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "arm" => keep(vec![gen_timeout("a", 100, "a"), gen_timeout("b", 100, "b"), gen_timeout("c", 100, "c")]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("arm"));
        h.advance_stepwise(100);
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                cast("a", "arm"),
                t!("at", 100),
                gen_ev("a", "c", "c"),
                gen_ev("a", "b", "b"),
                gen_ev("a", "a", "a")
            ]
        );
        h.all()
    });
}

#[test]
fn first_of_two_expired_timers_cancels_the_expired_event_timeout() {
    // §1.7: when timers expire together, the first one handled cancels a
    // pending event time-out even though its message is already there.
    let run = |actions: Vec<A>| {
        both_modes(move |d| {
            let actions = actions.clone();
            let (mut h, id) = setup(d, HEF, "a", 0, vec![], move |e| match e.c() {
                "arm" => keep(actions.clone()),
                _ => keep(vec![]),
            });
            h.cast(id, atom("arm"));
            assert_eq!(h.advance(100), 2);
            h.all()
        })
    };
    // Started in reverse action order: the state time-out first.
    assert_eq!(
        run(vec![ev_timeout(100, "e"), st_timeout(100, "s")]),
        vec![init_log("m"), cast("a", "arm"), lg("a", "state_timeout", "s")]
    );
    assert_eq!(
        run(vec![st_timeout(100, "s"), ev_timeout(100, "e")]),
        vec![init_log("m"), cast("a", "arm"), lg("a", "timeout", "e"), lg("a", "state_timeout", "s")]
    );
}

#[test]
fn generic_timeouts_survive_state_changes() {
    // §1.7: `{timeout,Name}` time-outs are never cancelled automatically.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![], |e| match (e.ty, e.c()) {
            ("cast", "arm") => keep(vec![gen_timeout("g", 100, "g")]),
            ("cast", "go") => next_state("b", 0, vec![]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("arm"));
        h.advance(50);
        h.cast(id, atom("go"));
        h.advance_stepwise(50);
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                enter("a", "a"),
                cast("a", "arm"),
                cast("a", "go"),
                enter("b", "a"),
                t!("at", 100),
                gen_ev("b", "g", "g"),
            ]
        );
        h.all()
    });
}

#[test]
fn state_timeout_is_cancelled_by_a_state_change() {
    // §1.7: a state change cancels the state time-out.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "arm" => keep(vec![st_timeout(100, "s")]),
            "go" => next_state("b", 0, vec![]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("arm"));
        h.advance(50);
        h.cast(id, atom("go"));
        assert_eq!(h.advance(100), 0);
        assert_eq!(h.take(), vec![init_log("m"), cast("a", "arm"), cast("a", "go")]);
        h.all()
    });
}

#[test]
fn state_timeout_set_with_a_state_change_belongs_to_the_new_state() {
    // §1.7: a state time-out set in a state-changing transition, or in its
    // enter call, belongs to the new state (the cancellation comes first).
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![], |e| match (e.st(), e.ty, e.c()) {
            ("a", "cast", "go") => next_state("b", 0, vec![st_timeout(100, "sb")]),
            ("b", "cast", "go") => next_state("c", 0, vec![]),
            ("c", "enter", _) => keep(vec![st_timeout(100, "sc")]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("go"));
        h.advance_stepwise(100);
        h.cast(id, atom("go"));
        h.advance_stepwise(100);
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                enter("a", "a"),
                cast("a", "go"),
                enter("b", "a"),
                t!("at", 100),
                lg("b", "state_timeout", "sb"),
                cast("b", "go"),
                enter("c", "b"),
                t!("at", 200),
                lg("c", "state_timeout", "sc"),
            ]
        );
        h.all()
    });
}

#[test]
fn zero_state_timeout_set_with_a_state_change_fires_in_the_new_state() {
    // §1.7: the state change cancels the old state time-out before the
    // transition's own zero state time-out is applied.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![st_timeout(100, "old")], |e| match (e.st(), e.c()) {
            ("a", "go") => next_state("b", 0, vec![st_timeout(0, "new")]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("go"));
        assert_eq!(h.advance(200), 0);
        assert_eq!(h.take(), vec![init_log("m"), cast("a", "go"), lg("b", "state_timeout", "new")]);
        h.all()
    });
}

#[test]
fn zero_state_timeout_is_cancelled_by_a_state_change_of_an_inserted_event() {
    // §1.7 (ERL-1381, fixed in 24.0): a zero state time-out is cancelled by
    // a state change made by an inserted event that runs first.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match (e.st(), e.c()) {
            ("a", "go") => keep(vec![st_timeout(0, "s"), internal("x")]),
            ("a", "x") => next_state("b", 0, vec![]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("go"));
        assert_eq!(h.take(), vec![init_log("m"), cast("a", "go"), lg("a", "internal", "x")]);
        assert_eq!(h.status(id).timeouts, vec![]);
        h.all()
    });
}

#[test]
fn zero_event_timeout_of_a_state_change_with_postponed_events_never_fires() {
    // §1.7: a zero event time-out set in a transition that changes state
    // while events are postponed is cancelled by the retried event.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match (e.st(), e.c()) {
            ("a", "p") => keep(vec![Action::Postpone]),
            ("a", "go") => next_state("b", 0, vec![ev_timeout(0, "t")]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("p"));
        h.cast(id, atom("go"));
        assert_eq!(h.take(), vec![init_log("m"), cast("a", "p"), cast("a", "go"), cast("b", "p")]);
        h.all()
    });
}

#[test]
fn otp_defect_1_16_intended_behaviour() {
    // §1.16: restarting a pending zero time-out with a non-zero time. OTP
    // 25 loses the new timer's ref (its message later arrives as `info`);
    // the intended behaviour, which Throng implements: a state_timeout
    // event `hundred` after 100 ms, and the zero one never.
    both_modes(|d| {
        let init = vec![st_timeout(0, "zero"), internal("go")];
        let (mut h, id) = setup(d, HEF, "a", 0, init, |e| match e.c() {
            "go" => keep(vec![st_timeout(100, "hundred")]),
            _ => keep(vec![]),
        });
        assert_eq!(h.status(id).timeouts, vec![(TimeoutType::State, atom("hundred"))]);
        h.advance_stepwise(150);
        assert_eq!(
            h.take(),
            vec![init_log("m"), lg("a", "internal", "go"), t!("at", 100), lg("a", "state_timeout", "hundred")]
        );
        assert_eq!(h.status(id).timeouts, vec![]);
        h.all()
    });
}

#[test]
fn status_lists_running_zero_and_expired_timeouts() {
    // §1.7 (status listing): the status shows every time-out: running,
    // pending zero, and expired but not yet handled.
    let (mut h, id) = setup(true, HEF, "a", 0, vec![], |e| match e.c() {
        "go" => keep(vec![gen_timeout("z", 0, "zz"), internal("i"), gen_timeout("r", 100, "rr"), st_timeout(10, "ss")]),
        _ => keep(vec![]),
    });
    h.engine.cast(id, atom("go"), &mut h.out).unwrap();
    h.resume_until(|tr| tr.contains(&lg("a", "internal", "i")));
    h.clock.advance(10);
    assert_eq!(h.engine.tick(&mut h.out), 1);
    let mut timeouts: Vec<Term> = h.status(id).timeouts.iter().map(|(k, m)| t!(tt_term(k), m)).collect();
    timeouts.sort_by_key(|t| format!("{t:?}"));
    assert_eq!(timeouts, vec![t!("state_timeout", "ss"), t!(t!("timeout", "r"), "rr"), t!(t!("timeout", "z"), "zz")]);
    h.drive();
    assert_eq!(
        h.take(),
        vec![
            init_log("m"),
            cast("a", "go"),
            lg("a", "internal", "i"),
            gen_ev("a", "z", "zz"),
            lg("a", "state_timeout", "ss")
        ]
    );
}

// =====================================================================
// §1.8 State enter calls
// =====================================================================

#[test]
fn repeat_state_from_an_enter_call_keeps_the_original_old_state() {
    // §1.8: repeat_state from an enter call makes another enter call whose
    // OldState is still the state before the event: three enter calls
    // `{enter,busy}` in `loop`, then an event-level repeat gives
    // `{enter,loop}`.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF_ENTER, "busy", 0, vec![], |e| match (e.st(), e.ty, e.c()) {
            ("busy", "cast", "go") => next_state("loop", 0, vec![]),
            ("loop", "enter", _) if e.n() < 2 => repeat_state(e.n() + 1, vec![]),
            ("loop", "cast", "rep") => CallbackResult::RepeatStateAndData(vec![]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("go"));
        h.cast(id, atom("rep"));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                enter("busy", "busy"),
                cast("busy", "go"),
                enter("loop", "busy"),
                enter("loop", "busy"),
                enter("loop", "busy"),
                cast("loop", "rep"),
                enter("loop", "loop"),
            ]
        );
        h.all()
    });
}

#[test]
fn enter_call_sees_the_new_state_and_the_data_of_the_previous_callback() {
    // §1.8: arguments `(enter, OldState, State, Data)`: the new state and
    // the data returned by the previous callback.
    both_modes(|d| {
        let s = Script::new();
        let tr = s.trace_handle();
        let s = s.module("m", HEF_ENTER, move |c| {
            let e = ev(c);
            log(&tr, t!(&e.state, &e.event, &e.data));
            match (e.ty, e.c()) {
                ("cast", "go") => next_state("b", 42, vec![]),
                ("enter", _) if e.st() == "b" && e.n() == 42 => repeat_state(43, vec![]),
                _ => keep(vec![]),
            }
        });
        let mut h = H::new(s, d);
        let id = h.start_with("m", atom("a"), int(0), vec![]);
        h.cast(id, atom("go"));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                t!("a", t!("enter", "a"), 0),
                t!("a", t!("cast", "go"), 0),
                t!("b", t!("enter", "a"), 42),
                t!("b", t!("enter", "a"), 43),
            ]
        );
        h.all()
    });
}

#[test]
fn enter_call_comes_after_replies_and_before_inserted_and_postponed_events() {
    // §1.8: order within the transition: the event callback's actions
    // (replies sent), the enter call, then inserted events, then the
    // retried postponed events.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![], |e| match (e.st(), e.ty, e.c()) {
            ("a", "cast", "p") => keep(vec![Action::Postpone]),
            ("a", "call", "go") => next_state("b", 0, vec![reply(e.from.unwrap(), "ok"), internal("i")]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("p"));
        let f = h.call(id, atom("go"));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                enter("a", "a"),
                cast("a", "p"),
                lg("a", t!("call", f), "go"),
                replied(f, "ok"),
                enter("b", "a"),
                lg("b", "internal", "i"),
                cast("b", "p"),
            ]
        );
        h.all()
    });
}

#[test]
fn stop_from_an_enter_call_terminates_in_the_new_state() {
    // §1.8: `stop` from an enter call terminates with the new state (and
    // the data the enter call was given).
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![], |e| match (e.st(), e.ty) {
            ("a", "cast") => next_state("b", 1, vec![]),
            ("b", "enter") => stop("bye"),
            _ => keep(vec![]),
        });
        h.cast(id, atom("go"));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                enter("a", "a"),
                cast("a", "go"),
                enter("b", "a"),
                terminate_log("reason", "b", 1),
                terminated("bye", "b", 1),
            ]
        );
        h.all()
    });
}

#[test]
fn enter_call_can_reply_to_a_from_saved_in_the_data() {
    // §1.8: an enter call may reply to a call received earlier, using a
    // From saved in the data.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![], |e| match (e.st(), e.ty) {
            ("a", "call") => next_state("b", e.from.unwrap(), vec![]),
            ("b", "enter") => keep_state(0, vec![reply(e.n() as u64, "from_enter")]),
            _ => keep(vec![]),
        });
        let f = h.call(id, atom("go"));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                enter("a", "a"),
                lg("a", t!("call", f), "go"),
                enter("b", "a"),
                replied(f, "from_enter")
            ]
        );
        h.all()
    });
}

// =====================================================================
// §1.9 Replies
// =====================================================================

#[test]
fn replies_before_a_bad_action_stay_sent() {
    // §1.5, §1.9: replies are sent at once, in action order; a later bad
    // action stops the session but the replies before it are sent.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| {
            keep(vec![reply(e.from.unwrap(), "one"), reply(5, "two"), Action::Invalid(atom("bad")), reply(6, "three")])
        });
        let f = h.call(id, atom("go"));
        let reason = t!("bad_action_from_state_function", "bad");
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                lg("a", t!("call", f), "go"),
                replied(f, "one"),
                replied(5, "two"),
                terminate_log("bad_action_from_state_function", "a", 0),
                terminated(&reason, "a", 0),
            ]
        );
        h.all()
    });
}

#[test]
fn a_second_reply_to_the_same_from_is_not_an_error() {
    // §1.9: a second reply to the same From is sent too; no error.
    both_modes(|d| {
        let (mut h, id) =
            setup(d, HEF, "a", 0, vec![], |e| keep(vec![reply(e.from.unwrap(), 1), reply(e.from.unwrap(), 2)]));
        let f = h.call(id, atom("go"));
        assert_eq!(h.take(), vec![init_log("m"), lg("a", t!("call", f), "go"), replied(f, 1), replied(f, 2)]);
        assert!(h.engine.is_alive(id));
        h.all()
    });
}

// =====================================================================
// §1.10 Stop and termination
// =====================================================================

/// Runs `go` (a cast) in a session whose `go` returns `r`; `b`'s enter
/// call returns `enter_r`; returns what terminate/3 saw.
fn terminate_sees(d: bool, r: R, enter_r: R) -> Term {
    let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![], move |e| match (e.st(), e.ty) {
        ("a", "cast") => r.clone(),
        ("b", "enter") => enter_r.clone(),
        _ => keep(vec![]),
    });
    h.cast(id, atom("go"));
    let reports = &h.out.reports;
    assert_eq!(reports.len(), 1, "the session stopped");
    t!(&reports[0].state, &reports[0].data)
}

#[test]
fn what_terminate_sees_in_each_stop_case() {
    // §1.10, the table of what terminate/3 gets:
    // stop/stop_and_reply with NewData → NewData;
    // bad action / bad module change → the new State/Data of the result;
    // unrecognized result → the State/Data the callback was called with
    // (for an enter call: the new state);
    // exception (also in an enter call) → State/Data from before the event.
    both_modes(|d| {
        let ok = keep(vec![]);
        let cases = vec![
            (CallbackResult::Stop(Some(atom("r")), Some(int(9))), ok.clone(), t!("a", 9)),
            (stop_reply("r", vec![], Some(int(8))), ok.clone(), t!("a", 8)),
            (next_state("b", 7, vec![Action::Invalid(atom("bad"))]), ok.clone(), t!("b", 7)),
            (next_state("b", 6, vec![Action::ChangeCallbackModule("nomod")]), ok.clone(), t!("b", 6)),
            (CallbackResult::Invalid(atom("bad")), ok.clone(), t!("a", 0)),
            (next_state("b", 5, vec![]), CallbackResult::Invalid(atom("bad")), t!("b", 5)),
            (next_state("b", 4, vec![]), next_state("c", 3, vec![]), t!("b", 4)),
            (next_state("b", 2, vec![]), keep_state(1, vec![Action::Postpone]), t!("b", 1)),
            (CallbackResult::Exception(atom("boom")), ok.clone(), t!("a", 0)),
            (next_state("b", 2, vec![]), CallbackResult::Exception(atom("boom")), t!("a", 0)),
        ];
        cases
            .into_iter()
            .map(|(r, enter_r, expected)| {
                let seen = terminate_sees(d, r.clone(), enter_r);
                assert_eq!(seen, expected, "for {:?}", result_term(&r));
                seen
            })
            .collect::<Vec<_>>()
    });
}

#[test]
fn stop_request_terminates_with_the_current_state_and_data() {
    // §1.10: gen_statem:stop/3 → terminate/3 with the current state and
    // data; the requester gets `ok` (here: Stopped with the reason).
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "go" => next_state("b", 3, vec![]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("go"));
        let f = h.stop(id, Some(atom("shutdown")));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                cast("a", "go"),
                terminate_log("reason", "b", 3),
                terminated("shutdown", "b", 3),
                system(f, t!("stopped", "shutdown")),
            ]
        );
        h.all()
    });
}

#[test]
fn stop_and_reply_with_a_bad_reply_is_bad_reply_action() {
    // §1.10, §1.11: an element of stop_and_reply's Replies that is not a
    // reply gives `{bad_reply_action_from_state_function,R}`; the replies
    // before it are sent; terminate/3 sees the new data.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |_| {
            CallbackResult::StopAndReply(
                Some(atom("r")),
                vec![
                    ReplyAction::Reply(1, atom("one")),
                    ReplyAction::Invalid(t!("not_a_reply", 2)),
                    ReplyAction::Reply(3, atom("three")),
                ],
                Some(int(9)),
            )
        });
        h.cast(id, atom("go"));
        let reason = t!("bad_reply_action_from_state_function", t!("not_a_reply", 2));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                cast("a", "go"),
                replied(1, "one"),
                terminate_log("bad_reply_action_from_state_function", "a", 9),
                terminated(&reason, "a", 9),
            ]
        );
        h.all()
    });
}

#[test]
fn callers_still_waiting_are_told_when_the_session_stops() {
    // §1.10 step 5: pending callers get no reply; their calls fail with
    // the stop reason. The engine tells every caller whose call it still
    // holds: the current call, a postponed call, an inserted call still
    // queued, a call in the mailbox. A call that was handled without a
    // reply (its From kept in the data, or dropped) is no longer held: its
    // caller learns of the stop through a monitor (DOWN), as a gen_statem
    // caller does.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match (e.ty, e.c()) {
            ("call", "p") => keep(vec![Action::Postpone]),
            ("call", "keep_from") => keep_state(e.from.unwrap(), vec![]),
            ("call", "go") => {
                keep(vec![next_event(EventType::Call(5), "stopper"), next_event(EventType::Call(3), "inserted")])
            }
            ("call", "stopper") => stop("boom"),
            _ => keep(vec![]),
        });
        h.call_from(id, 1, atom("p"));
        h.engine.monitor(id, 6).unwrap();
        h.call_from(id, 6, atom("keep_from"));
        h.send_events(id, vec![call_ev(4, "go"), call_ev(2, "late")]).unwrap();
        let mut tr = h.take();
        let mut failed: Vec<Term> = tr.drain(7..11).collect();
        failed.sort_by_key(|t| format!("{t:?}"));
        assert_eq!(
            tr,
            vec![
                init_log("m"),
                lg("a", t!("call", 1), "p"),
                lg("a", t!("call", 6), "keep_from"),
                lg("a", t!("call", 4), "go"),
                lg("a", t!("call", 5), "stopper"),
                terminate_log("reason", "a", 6),
                terminated("boom", "a", 6),
                t!("down", 6, "boom"),
            ]
        );
        assert_eq!(
            failed,
            vec![call_failed(1, "boom"), call_failed(2, "boom"), call_failed(3, "boom"), call_failed(5, "boom")]
        );
        let r = &h.out.reports[0];
        assert_eq!(r.postponed, vec![t!(t!("call", 1), "p")]);
        assert_eq!(r.queue, vec![t!(t!("call", 3), "inserted"), t!(t!("call", 2), "late")]);
        assert_eq!(r.current, Some(t!(t!("call", 5), "stopper")));
        h.all()
    });
}

#[test]
fn exception_fails_the_current_call() {
    // §1.10, §1.3: an exception in a callback stops the session; the caller
    // of the current call is told with the exit reason.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |_| CallbackResult::Exception(atom("boom")));
        let f = h.call(id, atom("go"));
        let reason = t!("exception", "boom");
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                lg("a", t!("call", f), "go"),
                terminate_log("exception", "a", 0),
                terminated(&reason, "a", 0),
                call_failed(f, &reason),
            ]
        );
        h.all()
    });
}

#[test]
fn caller_answered_by_stop_and_reply_gets_no_call_failed() {
    // §1.10 step 5, §1.9 (OTP gen_statem_SUITE:shutdown and stop_and_reply
    // expect nothing but the reply and the EXIT): only callers that got no
    // reply are told that the session stopped. The engine also emits
    // `call_failed` for the current call that stop_and_reply (or a reply
    // action before a stop) has just answered.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "sr" => stop_reply("normal", vec![(e.from.unwrap(), atom("stopped"))], None),
            _ => CallbackResult::Stop(Some(atom("r")), None),
        });
        let f = h.call(id, atom("sr"));
        assert_eq!(h.out.failed_after_reply, vec![], "call_failed after the reply to the same From");
        assert!(h.take().contains(&replied(f, "stopped")));
        h.all()
    });
}

#[test]
fn monitors_get_down_with_the_exit_reason() {
    // §1.10: monitors are told (DOWN) with the exit reason; a removed
    // monitor is not.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |_| stop("bye"));
        let _m1 = h.engine.monitor(id, 1).unwrap();
        let m2 = h.engine.monitor(id, 2).unwrap();
        assert!(h.engine.demonitor(id, m2));
        assert!(!h.engine.demonitor(id, m2));
        h.cast(id, atom("go"));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                cast("a", "go"),
                terminate_log("reason", "a", 0),
                terminated("bye", "a", 0),
                t!("down", 1, "bye"),
            ]
        );
        assert_eq!(h.engine.monitor(id, 3), Err(Error::NoProc));
        h.all()
    });
}

#[test]
fn exception_in_terminate_replaces_the_exit_reason() {
    // §1.10: an exception in terminate/3 replaces the exit reason (a throw,
    // which is ignored, is the machine's `Ok`).
    both_modes(|d| {
        let s = logged(Script::new(), "m", HEF, |_| stop("bye"))
            .terminate("m", |_, _, _| TerminateResult::Exception(atom("oops")));
        let mut h = H::new(s, d);
        let id = h.start_with("m", atom("a"), int(0), vec![]);
        h.engine.monitor(id, 1).unwrap();
        h.cast(id, atom("go"));
        let reason = t!("exception", "oops");
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                cast("a", "go"),
                terminate_log("reason", "a", 0),
                terminated(&reason, "a", 0),
                t!("down", 1, &reason),
            ]
        );
        h.all()
    });
}

#[test]
fn terminate_goes_to_the_current_head_module() {
    // §1.14: terminate/3 always goes to the current head of the module
    // stack.
    both_modes(|d| {
        let s = logged(Script::new(), "m", HEF, |e| match e.c() {
            "push" => keep(vec![Action::PushCallbackModule("m2")]),
            _ => keep(vec![]),
        });
        let tr = s.trace_handle();
        let tr2 = s.trace_handle();
        let s = logged(s, "m2", HEF, |_| stop("bye"))
            .terminate("m", move |_, _, _| {
                log(&tr, atom("terminate_of_m"));
                TerminateResult::Ok
            })
            .terminate("m2", move |_, _, _| {
                log(&tr2, atom("terminate_of_m2"));
                TerminateResult::Ok
            });
        let mut h = H::new(s, d);
        let id = h.start_with("m", atom("a"), int(0), vec![]);
        h.cast(id, atom("push"));
        h.cast(id, atom("x"));
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                cast("a", "push"),
                cast("a", "x"),
                terminate_log("reason", "a", 0),
                atom("terminate_of_m2"),
                terminated("bye", "a", 0),
            ]
        );
        h.all()
    });
}

#[test]
fn events_sent_while_terminate_runs_are_failed() {
    // §1.10 step 5: a call that arrives while terminate/3 runs (busy) is
    // never handled: its caller is told when the session is gone; later
    // calls get noproc.
    let (mut h, id) = setup(true, HEF, "a", 0, vec![], keep_all);
    h.take();
    h.engine.stop(id, None, Some(9), &mut h.out).unwrap();
    assert_eq!(h.take(), vec![terminate_log("normal", "a", 0)]);
    assert!(h.engine.is_alive(id), "terminate/3 is still running");
    h.engine.call(id, 5, atom("late"), &mut h.out).unwrap();
    h.engine.cast(id, atom("late_cast"), &mut h.out).unwrap();
    h.drive();
    assert_eq!(
        h.take(),
        vec![terminated("normal", "a", 0), call_failed(5, "normal"), system(9, t!("stopped", "normal"))]
    );
    assert_eq!(h.engine.call(id, 6, atom("x"), &mut h.out), Err(Error::NoProc));
}

#[test]
fn stop_request_is_handled_after_queued_events_and_zero_timeouts() {
    // §1.10 step 6: stop/3 is a system message, handled only when the
    // session is idle: after the inserted events and zero time-outs of the
    // transition that was running when it came.
    let (mut h, id) = setup(true, HEF, "a", 0, vec![], |e| match e.c() {
        "go" => keep(vec![internal("i"), gen_timeout("z", 0, "z")]),
        _ => keep(vec![]),
    });
    h.take();
    h.engine.cast(id, atom("go"), &mut h.out).unwrap();
    h.engine.stop(id, None, Some(9), &mut h.out).unwrap();
    h.drive();
    assert_eq!(
        h.take(),
        vec![
            cast("a", "go"),
            lg("a", "internal", "i"),
            gen_ev("a", "z", "z"),
            terminate_log("normal", "a", 0),
            terminated("normal", "a", 0),
            system(9, t!("stopped", "normal")),
        ]
    );
}

#[test]
fn every_error_reason_with_its_payload() {
    // §1.11: each error reason, its exact payload and ExitReason variant.
    let bad_mode = |d: bool| {
        let mut h = H::new(Script::new().bad_mode_module("bad", atom("nope")), d);
        h.start("bad", InitResult::Ok(atom("a"), int(0), vec![]));
        h
    };
    let via_cast = |d: bool, r: R| {
        let (mut h, id) = setup(d, HEF_ENTER, "a", 0, vec![], move |e| match (e.st(), e.ty) {
            ("a", "cast") => r.clone(),
            ("b", "enter") => keep(vec![Action::Postpone]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("go"));
        h
    };
    both_modes(|d| {
        let mut h = H::new(machine(HEF, keep_all), d);
        let s = h.start("m", InitResult::Invalid(int(4711)));
        let Started::Failed(init_reason) = s else { panic!() };
        let mut got = vec![(init_reason.name(), reason_term(&init_reason))];
        let mut hs = vec![
            bad_mode(d),
            via_cast(d, CallbackResult::Invalid(atom("x"))),
            via_cast(d, keep(vec![Action::Invalid(atom("y"))])),
            via_cast(d, next_state("b", 0, vec![])),
            via_cast(d, CallbackResult::StopAndReply(None, vec![ReplyAction::Invalid(atom("z"))], None)),
        ];
        for h in &mut hs {
            let r = h.out.collect.terminated().expect("stopped").clone();
            got.push((r.name(), reason_term(&r)));
        }
        assert_eq!(
            got,
            vec![
                ("bad_return_from_init", t!("bad_return_from_init", 4711)),
                ("bad_return_from_callback_mode", t!("bad_return_from_callback_mode", "nope")),
                ("bad_return_from_state_function", t!("bad_return_from_state_function", "x")),
                ("bad_action_from_state_function", t!("bad_action_from_state_function", "y")),
                (
                    "bad_state_enter_action_from_state_function",
                    t!("bad_state_enter_action_from_state_function", "postpone")
                ),
                ("bad_reply_action_from_state_function", t!("bad_reply_action_from_state_function", "z")),
            ]
        );
        let (mut h2, id2) = setup(d, HEF_ENTER, "a", 0, vec![], |e| match (e.st(), e.ty) {
            ("a", "cast") => next_state("b", 0, vec![]),
            ("b", "enter") => next_state("c", 0, vec![]),
            _ => keep(vec![]),
        });
        h2.cast(id2, atom("go"));
        let r = h2.out.collect.terminated().unwrap().clone();
        assert_eq!(r.name(), "bad_state_enter_return_from_state_function");
        assert_eq!(reason_term(&r), t!("bad_state_enter_return_from_state_function", t!("next_state", "c", 0, l!())));
        got.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>()
    });
}

// =====================================================================
// §1.12 Hibernate
// =====================================================================

#[test]
fn hibernate_has_no_effect_on_order_or_timeouts() {
    // §1.12: hibernate (last value wins) is a memory hint only: the same
    // scenario with and without hibernate actions gives the same trace.
    let run = |hib: bool| {
        both_modes(move |d| {
            let hb = move |mut a: Vec<A>| {
                if hib {
                    a.insert(0, Action::Hibernate(true));
                    a.push(Action::Hibernate(false));
                    a.push(Action::Hibernate(true));
                }
                a
            };
            let init = hb(vec![internal("i0")]);
            let (mut h, id) = setup(d, HEF_ENTER, "a", 0, init, move |e| match (e.st(), e.ty, e.c()) {
                ("a", "cast", "p") => keep(hb(vec![Action::Postpone])),
                ("a", "cast", "go") => next_state(
                    "b",
                    0,
                    hb(vec![internal("i"), gen_timeout("z", 0, "z"), st_timeout(100, "s"), ev_timeout(50, "e")]),
                ),
                (_, "enter", _) => keep(hb(vec![])),
                _ => keep(hb(vec![])),
            });
            h.cast(id, atom("p"));
            h.send_events(id, vec![cast_ev("go"), cast_ev("m")]).unwrap();
            h.advance_stepwise(150);
            h.all()
        })
    };
    let plain = run(false);
    assert_eq!(run(true), plain);
    assert_eq!(
        plain,
        vec![
            init_log("m"),
            enter("a", "a"),
            lg("a", "internal", "i0"),
            cast("a", "p"),
            cast("a", "go"),
            enter("b", "a"),
            lg("b", "internal", "i"),
            cast("b", "p"),
            gen_ev("b", "z", "z"),
            cast("b", "m"),
            t!("at", 100),
            lg("b", "state_timeout", "s"),
        ]
    );
}

// =====================================================================
// Engine-level rules of Throng
// =====================================================================

#[test]
fn stale_session_id_is_noproc_after_its_slot_is_reused() {
    // Engine: handles are generational; a handle to a stopped session never
    // reaches the session that reuses its slot.
    let (mut h, a) = setup(false, HEF, "a", 0, vec![], keep_all);
    h.stop(a, None);
    let b = h.start_with("m", atom("b"), int(1), vec![]);
    assert_eq!(a.slot(), b.slot(), "one shard: the slot is reused");
    assert_ne!(a.generation(), b.generation());
    assert_eq!(h.engine.cast(a, atom("x"), &mut h.out), Err(Error::NoProc));
    assert_eq!(h.engine.call(a, 1, atom("x"), &mut h.out), Err(Error::NoProc));
    assert_eq!(h.engine.info(a, atom("x"), &mut h.out), Err(Error::NoProc));
    assert_eq!(h.engine.get_state(a).err(), Some(Error::NoProc));
    assert_eq!(h.engine.status(a).err(), Some(Error::NoProc));
    assert_eq!(h.engine.stop(a, None, None, &mut h.out), Err(Error::NoProc));
    assert_eq!(h.engine.sync(a, 1, &mut h.out), Err(Error::NoProc));
    assert_eq!(h.engine.monitor(a, 1), Err(Error::NoProc));
    assert_eq!(h.engine.resume(a, keep(vec![]), &mut h.out), Err(Error::NoProc));
    assert!(!h.engine.is_alive(a));
    assert!(h.engine.is_alive(b));
    h.take();
    h.cast(b, atom("y"));
    assert_eq!(h.take(), vec![cast("b", "y")]);
    assert_eq!(h.engine.cast(SessionId::from_u64(u64::MAX), atom("x"), &mut h.out), Err(Error::NoProc));
}

#[test]
fn max_sessions_gives_too_many_sessions() {
    // Engine: `start` beyond `max_sessions` fails with TooManySessions; a
    // failed init and a stopped session free their place; a session whose
    // init is pending holds one.
    let cfg = Config { max_sessions: 2, ..config() };
    let mut h = H::with(machine(HEF, keep_all), true, cfg, ManualClock::new(0));
    let a = h.start_with("m", atom("a"), int(0), vec![]);
    let Ok(Started::Pending(_)) = h.engine.start("m", InitResult::Ok(atom("b"), int(0), vec![]), &mut h.out) else {
        panic!("pending init")
    };
    assert_eq!(h.engine.live(), 2);
    assert_eq!(h.engine.start("m", InitResult::Ignore, &mut h.out).err(), Some(Error::TooManySessions));
    h.drive();
    h.stop(a, None);
    assert_eq!(h.engine.live(), 1);
    assert!(matches!(h.start("m", InitResult::Stop(atom("no"))), Started::Failed(_)));
    assert_eq!(h.engine.live(), 1);
    h.start_with("m", atom("c"), int(0), vec![]);
    assert_eq!(h.engine.live(), 2);
    assert_eq!(h.engine.start("m", InitResult::Ignore, &mut h.out).err(), Some(Error::TooManySessions));
}

#[test]
fn max_queue_len_refuses_with_queue_full_and_loses_nothing() {
    // Engine: a session holding `max_queue_len` unhandled events refuses
    // new external events with QueueFull; everything accepted is handled,
    // in order. Postponed events count.
    let cfg = Config { max_queue_len: 3, ..config() };
    let mut h = H::with(
        machine(HEF, |e| match e.c() {
            "p" => keep(vec![Action::Postpone]),
            _ => keep(vec![]),
        }),
        true,
        cfg,
        ManualClock::new(0),
    );
    let id = h.start_with("m", atom("a"), int(0), vec![]);
    h.take();
    h.engine.cast(id, atom("busy"), &mut h.out).unwrap();
    for n in 1..=3 {
        h.engine.cast(id, int(n), &mut h.out).unwrap();
    }
    assert_eq!(h.engine.cast(id, int(4), &mut h.out), Err(Error::QueueFull));
    assert_eq!(h.engine.call(id, 1, int(5), &mut h.out), Err(Error::QueueFull));
    assert_eq!(h.engine.info(id, int(6), &mut h.out), Err(Error::QueueFull));
    assert_eq!(h.engine.send_events(id, vec![cast_ev(7)], &mut h.out), Err(Error::QueueFull));
    h.drive();
    assert_eq!(h.take(), vec![cast("a", "busy"), cast("a", 1), cast("a", 2), cast("a", 3)]);
    // Postponed events count against the limit.
    for _ in 0..3 {
        h.cast(id, atom("p"));
    }
    assert_eq!(h.try_cast(id, int(8)), Err(Error::QueueFull));
    assert_eq!(h.status(id).postponed_len, 3);
    assert_eq!(h.take(), vec![cast("a", "p"), cast("a", "p"), cast("a", "p")]);
}

#[test]
fn send_events_is_all_or_nothing() {
    // Engine: `send_events` accepts all the events or none.
    let cfg = Config { max_queue_len: 3, ..config() };
    let mut h = H::with(machine(HEF, keep_all), true, cfg, ManualClock::new(0));
    let id = h.start_with("m", atom("a"), int(0), vec![]);
    h.take();
    h.engine.cast(id, atom("busy"), &mut h.out).unwrap();
    h.engine.cast(id, int(1), &mut h.out).unwrap();
    assert_eq!(h.engine.send_events(id, vec![cast_ev(2), cast_ev(3), cast_ev(4)], &mut h.out), Err(Error::QueueFull));
    h.engine.send_events(id, vec![cast_ev(5), cast_ev(6)], &mut h.out).unwrap();
    h.drive();
    assert_eq!(h.take(), vec![cast("a", "busy"), cast("a", 1), cast("a", 5), cast("a", 6)]);
}

#[test]
fn max_queue_len_does_not_count_timer_events_or_system_requests() {
    // Engine (Config::max_queue_len doc): "Timer events and system requests
    // are not counted". A busy session with a fired timer and a system
    // request waiting still accepts `max_queue_len` events.
    let cfg = Config { max_queue_len: 2, ..config() };
    let mut h = H::with(
        machine(HEF, |e| match e.c() {
            "arm" => keep(vec![gen_timeout("g", 10, "g")]),
            _ => keep(vec![]),
        }),
        true,
        cfg,
        ManualClock::new(0),
    );
    let id = h.start_with("m", atom("a"), int(0), vec![]);
    h.cast(id, atom("arm"));
    h.engine.cast(id, atom("busy"), &mut h.out).unwrap();
    h.clock.advance(10);
    assert_eq!(h.engine.tick(&mut h.out), 1);
    h.engine.system(id, SystemRequest::GetState(9), &mut h.out).unwrap();
    h.engine.sync(id, 8, &mut h.out).unwrap();
    assert_eq!(h.engine.cast(id, int(1), &mut h.out), Ok(()));
    assert_eq!(h.engine.cast(id, int(2), &mut h.out), Ok(()));
    assert_eq!(h.engine.cast(id, int(3), &mut h.out), Err(Error::QueueFull));
}

#[test]
fn suspended_session_queues_events_and_answers_system_requests() {
    // Engine (sys:suspend): while suspended only system requests are
    // handled; events, fired timers and sync wait in mailbox order and are
    // handled after resume.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match e.c() {
            "arm" => keep(vec![gen_timeout("g", 10, "g")]),
            "y" => keep(vec![reply(e.from.unwrap(), "yy")]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("arm"));
        h.system(id, SystemRequest::Suspend(Some(1)));
        h.cast(id, atom("x"));
        let f = h.call(id, atom("y"));
        h.system(id, SystemRequest::GetState(2));
        h.advance(10);
        let s = h.sync(id);
        assert!(h.status(id).suspended);
        assert_eq!(
            h.take(),
            vec![init_log("m"), cast("a", "arm"), system(1, "ok"), system(2, t!("a", 0))],
            "nothing but system requests while suspended"
        );
        h.system(id, SystemRequest::Resume(Some(3)));
        assert_eq!(
            h.take(),
            vec![
                system(3, "ok"),
                cast("a", "x"),
                lg("a", t!("call", f), "y"),
                replied(f, "yy"),
                gen_ev("a", "g", "g"),
                system(s, "ok"),
            ]
        );
        h.all()
    });
}

#[test]
fn replace_state_is_not_a_state_change() {
    // Engine (sys:replace_state, and the end of sys:change_code; §1.13):
    // the state and data are replaced, in mailbox order; it is not a state
    // change: no enter call, the postponed event stays postponed, the state
    // time-out keeps running. With a mode the callback mode is replaced too
    // (gen_statem re-reads it after code_change/4): the next state change
    // makes an enter call.
    let tr = both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], |e| match (e.st(), e.ty, e.c()) {
            (_, "cast", "arm") => keep(vec![st_timeout(50, "s")]),
            ("a", "cast", "p") => keep(vec![Action::Postpone]),
            ("b", "cast", "go") => next_state("c", e.data.clone(), vec![]),
            _ => keep(vec![]),
        });
        h.cast(id, atom("arm"));
        h.cast(id, atom("p"));
        let req = SystemRequest::ReplaceState { from: 1, state: atom("b"), data: int(7), mode: Some(HEF_ENTER) };
        h.system(id, req);
        assert_eq!(h.state(id), (atom("b"), int(7)));
        let st = h.status(id);
        assert_eq!((st.postponed_len, st.mode, st.timeouts.len()), (1, HEF_ENTER, 1));
        h.advance_stepwise(50);
        h.cast(id, atom("go"));
        // Without a mode, the mode stays.
        h.system(id, SystemRequest::ReplaceState { from: 2, state: atom("d"), data: int(8), mode: None });
        assert_eq!((h.state(id), h.status(id).mode), ((atom("d"), int(8)), HEF_ENTER));
        h.all()
    });
    assert_eq!(
        tr,
        vec![
            init_log("m"),
            cast("a", "arm"),
            cast("a", "p"),
            system(1, "ok"),
            t!("at", 50),
            lg("b", "state_timeout", "s"),
            cast("b", "go"),
            enter("c", "b"),
            cast("c", "p"),
            system(2, "ok"),
        ]
    );
}

#[test]
fn replace_state_waits_for_a_busy_callback() {
    // Engine (sys:replace_state): a request that arrives while a callback
    // runs is handled after its result, before the next event; its
    // requester hears of a stop that comes first.
    let (mut h, id) = setup(true, HEF, "a", 0, vec![], |e| match e.c() {
        "slow" => keep_state(1, vec![]),
        _ => keep(vec![]),
    });
    h.engine.cast(id, atom("slow"), &mut h.out).unwrap();
    assert!(h.status(id).busy);
    let req = SystemRequest::ReplaceState { from: 1, state: atom("b"), data: int(2), mode: None };
    h.engine.system(id, req, &mut h.out).unwrap();
    h.engine.cast(id, atom("after"), &mut h.out).unwrap();
    assert_eq!(h.state(id), (atom("a"), int(0)));
    h.drive();
    assert_eq!(h.take(), vec![init_log("m"), cast("a", "slow"), system(1, "ok"), cast("b", "after")]);
    assert_eq!(h.state(id), (atom("b"), int(2)));
    h.engine.cast(id, atom("slow"), &mut h.out).unwrap();
    h.engine.stop(id, None, None, &mut h.out).unwrap();
    let req = SystemRequest::ReplaceState { from: 3, state: atom("c"), data: int(3), mode: None };
    h.engine.system(id, req, &mut h.out).unwrap();
    h.drive();
    assert_eq!(
        h.take(),
        vec![
            cast("b", "slow"),
            terminate_log("normal", "b", 1),
            terminated("normal", "b", 1),
            call_failed(3, "normal"),
        ]
    );
}

#[test]
fn stop_request_is_handled_while_suspended() {
    // Engine (sys): a suspended session still handles stop/3; the events
    // waiting behind it fail or are dropped.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], keep_all);
        h.system(id, SystemRequest::Suspend(None));
        h.cast(id, atom("x"));
        h.call_from(id, 5, atom("y"));
        let f = h.stop(id, None);
        assert_eq!(
            h.take(),
            vec![
                init_log("m"),
                terminate_log("normal", "a", 0),
                terminated("normal", "a", 0),
                call_failed(5, "normal"),
                system(f, t!("stopped", "normal")),
            ]
        );
        h.all()
    });
}

#[test]
fn sync_is_answered_when_the_queue_and_zero_timeouts_are_empty() {
    // Engine (sync): answered once every event sent before has been
    // handled and no zero time-out is pending — here, after the inserted
    // event and the zero time-out of the transition that was running.
    let (mut h, id) = setup(true, HEF, "a", 0, vec![], |e| match e.c() {
        "go" => keep(vec![internal("i"), gen_timeout("z", 0, "z")]),
        _ => keep(vec![]),
    });
    h.take();
    h.engine.cast(id, atom("go"), &mut h.out).unwrap();
    h.engine.sync(id, 9, &mut h.out).unwrap();
    h.engine.cast(id, atom("after"), &mut h.out).unwrap();
    assert_eq!(h.take(), vec![cast("a", "go")]);
    h.drive();
    assert_eq!(h.take(), vec![lg("a", "internal", "i"), gen_ev("a", "z", "z"), system(9, "ok"), cast("a", "after")]);
    // An idle session answers at once.
    let (mut h, id) = setup(false, HEF, "a", 0, vec![], keep_all);
    h.take();
    let s = h.sync(id);
    assert_eq!(h.take(), vec![system(s, "ok")]);
}

#[test]
fn sync_waits_while_suspended() {
    // Engine (sync): not answered while the session is suspended.
    both_modes(|d| {
        let (mut h, id) = setup(d, HEF, "a", 0, vec![], keep_all);
        h.system(id, SystemRequest::Suspend(Some(1)));
        let s = h.sync(id);
        assert_eq!(h.take(), vec![init_log("m"), system(1, "ok")]);
        h.system(id, SystemRequest::Resume(Some(2)));
        assert_eq!(h.take(), vec![system(2, "ok"), system(s, "ok")]);
        h.all()
    });
}

#[test]
fn panicking_callback_stops_only_its_session() {
    // Engine: a panic in a callback is caught; it stops only that session,
    // as an exception with the panic's reason; terminate/3 sees the state
    // from before the event; other sessions go on.
    both_modes(|d| {
        let mut h = H::new(
            machine(HEF_ENTER, |e| match (e.st(), e.ty, e.c()) {
                ("a", "cast", "boom") => panic!("boom"),
                ("a", "cast", "go") => next_state("b", 1, vec![]),
                ("b", "enter", _) => panic!("enter boom"),
                _ => keep(vec![]),
            }),
            d,
        );
        let a = h.start_with("m", atom("a"), int(0), vec![]);
        let b = h.start_with("m", atom("a"), int(0), vec![]);
        let c = h.start_with("m", atom("a"), int(0), vec![]);
        h.take();
        h.cast(a, atom("boom"));
        h.cast(c, atom("go"));
        h.cast(b, atom("x"));
        let reason = |m: &str| t!("exception", t!("panic", Term::Str(m.to_owned())));
        assert_eq!(
            h.take(),
            vec![
                cast("a", "boom"),
                terminate_log("exception", "a", 0),
                terminated(reason("boom"), "a", 0),
                cast("a", "go"),
                enter("b", "a"),
                terminate_log("exception", "a", 0),
                terminated(reason("enter boom"), "a", 0),
                cast("a", "x"),
            ]
        );
        assert!(!h.engine.is_alive(a) && !h.engine.is_alive(c) && h.engine.is_alive(b));
        h.all()
    });
}

#[test]
fn resume_without_a_pending_callback_is_not_waiting() {
    // Engine: `resume*` for a callback the session is not waiting for is
    // refused with NotWaiting and changes nothing.
    let (mut h, id) = setup(true, HEF, "a", 0, vec![], keep_all);
    assert_eq!(h.engine.resume(id, next_state("b", 0, vec![]), &mut h.out), Err(Error::NotWaiting));
    assert_eq!(h.engine.resume_init(id, InitResult::Ignore, &mut h.out).err(), Some(Error::NotWaiting));
    assert_eq!(h.engine.resume_terminate(id, TerminateResult::Ok, &mut h.out), Err(Error::NotWaiting));
    h.engine.cast(id, atom("x"), &mut h.out).unwrap();
    assert_eq!(h.engine.resume_terminate(id, TerminateResult::Ok, &mut h.out), Err(Error::NotWaiting));
    h.drive();
    assert_eq!(h.state(id), (atom("a"), int(0)));
}

#[test]
fn run_budget_yields_without_reordering() {
    // Engine: one run handles at most `run_budget` callbacks, then asks to
    // be woken; `run_pending` continues; an event arriving in between is
    // handled after the queued inserted events.
    let cfg = Config { run_budget: 4, ..config() };
    let mut h = H::with(
        machine(HEF, |e| match (e.ty, e.c()) {
            ("cast", "go") => keep((0..10).map(internal).collect()),
            _ => keep(vec![]),
        }),
        false,
        cfg,
        ManualClock::new(0),
    );
    let id = h.start_with("m", atom("a"), int(0), vec![]);
    h.take();
    h.engine.cast(id, atom("go"), &mut h.out).unwrap();
    // Exactly `run_budget` events in one run, the fast-path event included.
    let first = h.take().len();
    assert_eq!(first, 4, "{first} callbacks in the first run");
    assert!(h.engine.has_pending());
    assert!(h.out.collect.wakes > 0);
    h.engine.cast(id, atom("x"), &mut h.out).unwrap();
    while h.engine.run_pending(&mut h.out) {}
    let mut expected = vec![init_log("m"), cast("a", "go")];
    expected.extend((0..10).map(|i| lg("a", "internal", i)));
    expected.push(cast("a", "x"));
    assert_eq!(h.all(), expected);
}
