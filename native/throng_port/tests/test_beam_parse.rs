//! gen_statem's callback results read from ETF bytes made by hand, as the
//! port program receives them: the same rules (`throng_beam::parse`) and the
//! same engine types as the NIF. Atoms come in all four encodings, integers
//! in every size, lists proper, improper and as strings.

use eetf::Term;
use throng_beam::Etf;
use throng_core::{
    Action, CallbackFunction, CallbackResult, EventType, InitResult, ReplyAction, TimeoutForm, TimeoutTime, TimeoutType,
};
use throng_port::beam::{callback_mode, callback_result, init_result, Beam};
use throng_port::etf::{decode, EtfLimits};

// ---- ETF by hand (no 131: `frame` adds it) ----

/// The four atom encodings: ATOM_EXT, SMALL_ATOM_EXT, ATOM_UTF8_EXT,
/// SMALL_ATOM_UTF8_EXT.
fn atom_as(tag: u8, name: &str) -> Vec<u8> {
    let n = name.len();
    let mut b = match tag {
        100 | 118 => vec![tag, (n >> 8) as u8, n as u8],
        115 | 119 => vec![tag, n as u8],
        _ => unreachable!(),
    };
    b.extend_from_slice(name.as_bytes());
    b
}

/// OTP 25's `term_to_binary/1` writes ATOM_EXT for Latin-1 atoms.
fn atom(name: &str) -> Vec<u8> {
    atom_as(100, name)
}

/// A protocol destination that is an integer.
fn dest(n: u64) -> Etf {
    throng_port::proto::dest(&throng_port::proto::int(n)).unwrap()
}

/// A pid as OTP 25 writes it (NEW_PID_EXT).
fn pid(id: u32) -> Vec<u8> {
    let mut b = vec![88];
    b.extend(atom("nonode@nohost"));
    b.extend_from_slice(&id.to_be_bytes());
    b.extend_from_slice(&0u32.to_be_bytes());
    b.extend_from_slice(&0u32.to_be_bytes());
    b
}

fn small_int(v: u8) -> Vec<u8> {
    vec![97, v]
}

fn int(v: i32) -> Vec<u8> {
    let mut b = vec![98];
    b.extend_from_slice(&v.to_be_bytes());
    b
}

/// SMALL_BIG_EXT.
fn big(v: i128) -> Vec<u8> {
    let mut digits = Vec::new();
    let mut m = v.unsigned_abs();
    while m > 0 {
        digits.push(m as u8);
        m >>= 8;
    }
    let mut b = vec![110, digits.len() as u8, u8::from(v < 0)];
    b.extend(digits);
    b
}

fn tuple(items: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![104, items.len() as u8];
    items.iter().for_each(|i| b.extend_from_slice(i));
    b
}

fn improper(items: &[Vec<u8>], tail: Vec<u8>) -> Vec<u8> {
    let mut b = vec![108];
    b.extend_from_slice(&(items.len() as u32).to_be_bytes());
    items.iter().for_each(|i| b.extend_from_slice(i));
    b.extend(tail);
    b
}

fn list(items: &[Vec<u8>]) -> Vec<u8> {
    if items.is_empty() {
        return nil();
    }
    improper(items, nil())
}

fn nil() -> Vec<u8> {
    vec![106]
}

/// STRING_EXT: a list of bytes.
fn string(s: &[u8]) -> Vec<u8> {
    let mut b = vec![107];
    b.extend_from_slice(&(s.len() as u16).to_be_bytes());
    b.extend_from_slice(s);
    b
}

fn map(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut b = vec![116];
    b.extend_from_slice(&(pairs.len() as u32).to_be_bytes());
    for (k, v) in pairs {
        b.extend_from_slice(k);
        b.extend_from_slice(v);
    }
    b
}

fn binary(s: &[u8]) -> Vec<u8> {
    let mut b = vec![109];
    b.extend_from_slice(&(s.len() as u32).to_be_bytes());
    b.extend_from_slice(s);
    b
}

/// A reference, as a caller's tag: NEWER_REFERENCE_EXT.
fn reference() -> Vec<u8> {
    let mut b = vec![90, 0, 3];
    b.extend(atom_as(119, "nonode@nohost"));
    b.extend([0, 0, 0, 0]);
    b.extend([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]);
    b
}

/// Checked and decoded as a frame is.
fn frame(body: Vec<u8>) -> Term {
    let mut b = vec![131];
    b.extend(body);
    decode(&b, EtfLimits::default()).expect("a good term")
}

/// A stored term, decoded again.
fn back(e: &Etf) -> Term {
    Term::decode(e.as_bytes()).expect("stored bytes decode")
}

fn same(e: &Etf, body: Vec<u8>) -> bool {
    back(e) == frame(body)
}

// ---- results ----

#[test]
fn test_next_state_with_actions() {
    // {next_state, s, #{n => 1}, [{state_timeout, 100, x}, postpone, {reply, {7, Ref}, ok}]}
    let data = map(&[(atom("n"), small_int(1))]);
    let t = frame(tuple(&[
        atom("next_state"),
        atom("s"),
        data.clone(),
        list(&[
            tuple(&[atom("state_timeout"), small_int(100), atom("x")]),
            atom("postpone"),
            tuple(&[atom("reply"), tuple(&[small_int(7), reference()]), atom("ok")]),
        ]),
    ]));
    let CallbackResult::NextState(s, d, actions) = callback_result(&t) else { panic!("not next_state") };
    assert!(same(&s, atom("s")));
    assert!(same(&d, data));
    assert_eq!(actions.len(), 3);
    match &actions[0] {
        Action::Timeout(a) => {
            assert!(matches!(a.kind, TimeoutType::State));
            assert!(matches!(a.time, TimeoutTime::Relative(100)));
            assert!(matches!(a.form, TimeoutForm::Triple));
            assert!(same(a.msg.as_ref().unwrap(), atom("x")));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(actions[1], Action::Postpone));
    match &actions[2] {
        Action::Reply(from, reply) => {
            assert!(from.pid == dest(7));
            assert!(same(&from.tag, reference()));
            assert!(same(reply, atom("ok")));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn test_atoms_in_all_four_encodings() {
    for tag in [100, 115, 118, 119] {
        let r = callback_result(&frame(atom_as(tag, "keep_state_and_data")));
        assert!(matches!(r, CallbackResult::KeepStateAndData(ref a) if a.is_empty()), "tag {tag}: {r:?}");
        let r =
            callback_result(&frame(tuple(&[atom_as(tag, "keep_state"), atom_as(tag, "d"), atom_as(tag, "postpone")])));
        assert!(matches!(r, CallbackResult::KeepState(_, ref a) if matches!(a[..], [Action::Postpone])), "tag {tag}");
    }
    // One atom, four encodings, one stored form: state comparisons hold.
    let stored: Vec<Etf> = [100, 115, 118, 119]
        .into_iter()
        .map(|tag| match callback_result(&frame(tuple(&[atom("keep_state"), atom_as(tag, "locked")]))) {
            CallbackResult::KeepState(d, _) => d,
            r => panic!("{r:?}"),
        })
        .collect();
    assert!(stored.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn test_atom_results() {
    assert!(matches!(callback_result(&frame(atom("repeat_state_and_data"))), CallbackResult::RepeatStateAndData(_)));
    assert!(matches!(callback_result(&frame(atom("stop"))), CallbackResult::Stop(None, None)));
    match callback_result(&frame(atom("keep_state"))) {
        CallbackResult::Invalid(t) => assert!(same(&t, atom("keep_state"))),
        r => panic!("{r:?}"),
    }
}

#[test]
fn test_stop_and_reply() {
    // {stop_and_reply, normal, [{reply, {1, T}, a}, bad, {reply, notfrom, b}], D}
    let t = frame(tuple(&[
        atom("stop_and_reply"),
        atom("normal"),
        list(&[
            tuple(&[atom("reply"), tuple(&[small_int(1), atom("t")]), atom("a")]),
            atom("bad"),
            tuple(&[atom("reply"), atom("notfrom"), atom("b")]),
        ]),
        atom("d"),
    ]));
    let CallbackResult::StopAndReply(Some(r), replies, Some(d)) = callback_result(&t) else { panic!() };
    assert!(same(&r, atom("normal")));
    assert!(same(&d, atom("d")));
    assert!(matches!(&replies[0], ReplyAction::Reply(f, _) if f.pid == dest(1)));
    assert!(matches!(&replies[1], ReplyAction::Invalid(t) if same(t, atom("bad"))));
    assert!(
        matches!(&replies[2], ReplyAction::Invalid(t) if same(t, tuple(&[atom("reply"), atom("notfrom"), atom("b")])))
    );
    // One reply, not in a list.
    let t =
        frame(tuple(&[atom("stop_and_reply"), atom("r"), tuple(&[atom("reply"), tuple(&[int(300), nil()]), nil()])]));
    assert!(matches!(callback_result(&t), CallbackResult::StopAndReply(_, ref r, None) if r.len() == 1));
}

#[test]
fn test_bad_results_are_kept_as_they_came() {
    for bad in [
        tuple(&[atom("next_state"), atom("s")]),
        tuple(&[atom("foo"), atom("s"), atom("d")]),
        tuple(&[small_int(1), atom("s")]),
        binary(b"keep_state_and_data"),
        list(&[atom("keep_state_and_data")]),
        tuple(&[]),
    ] {
        match callback_result(&frame(bad.clone())) {
            CallbackResult::Invalid(t) => assert!(same(&t, bad)),
            r => panic!("{r:?}"),
        }
    }
}

/// The actions of `{keep_state_and_data, Actions}`.
fn actions_of(actions: Vec<u8>) -> Vec<Action<Beam>> {
    match callback_result(&frame(tuple(&[atom("keep_state_and_data"), actions]))) {
        CallbackResult::KeepStateAndData(a) => a,
        r => panic!("{r:?}"),
    }
}

#[test]
fn test_time_outs_and_integers_of_every_size() {
    let a = actions_of(list(&[
        small_int(5),
        int(70_000),
        tuple(&[atom("timeout"), big(1 << 40), atom("m")]),
        tuple(&[tuple(&[atom("timeout"), atom("name")]), atom("cancel")]),
        tuple(&[atom("state_timeout"), atom("update"), atom("m")]),
        tuple(&[atom("state_timeout"), int(-5000), atom("m"), list(&[tuple(&[atom("abs"), atom("true")])])]),
        tuple(&[atom("state_timeout"), big(-(1 << 50)), atom("m"), tuple(&[atom("abs"), atom("true")])]),
        tuple(&[atom("timeout"), atom("infinity"), atom("m"), list(&[tuple(&[atom("abs"), atom("false")])])]),
        atom("infinity"),
    ]));
    let times: Vec<_> = a
        .iter()
        .map(|x| match x {
            Action::Timeout(t) => (format!("{:?}", t.time), format!("{:?}", t.form)),
            other => panic!("{other:?}"),
        })
        .collect();
    let expected = [
        ("Relative(5)", "Shorthand"),
        ("Relative(70000)", "Shorthand"),
        ("Relative(1099511627776)", "Triple"),
        ("Infinity", "Cancel"),
        ("Update", "Triple"),
        ("Absolute(-5000)", "WithOpts"),
        ("Absolute(-1125899906842624)", "WithOpts"),
        ("Infinity", "WithOpts"),
        ("Infinity", "Shorthand"),
    ];
    for (got, want) in times.iter().zip(expected) {
        assert_eq!((got.0.as_str(), got.1.as_str()), want);
    }
    assert!(matches!(&a[3], Action::Timeout(t) if matches!(&t.kind, TimeoutType::Generic(n) if same(n, atom("name")))));

    // Negative, beyond i64, bad options: each the action as it came.
    for bad in [
        int(-1),
        big(1 << 70),
        tuple(&[atom("timeout"), big(1 << 70), atom("m")]),
        tuple(&[atom("timeout"), small_int(1), atom("m"), list(&[atom("abs")])]),
        tuple(&[atom("timeout"), small_int(1), atom("m"), list(&[tuple(&[atom("abs"), atom("yes")])])]),
        tuple(&[atom("timeout"), atom("cancel"), atom("m")]),
    ] {
        let a = actions_of(list(std::slice::from_ref(&bad)));
        assert!(matches!(&a[..], [Action::Invalid(t)] if same(t, bad.clone())), "{a:?}");
    }
}

#[test]
fn test_lists_improper_and_strings() {
    // [postpone | foo]: the improper tail is one more (bad) action.
    let a = actions_of(improper(&[atom("postpone")], atom("foo")));
    assert!(matches!(&a[..], [Action::Postpone, Action::Invalid(t)] if same(t, atom("foo"))));
    // "ab" is [97, 98]: two time-out shorthands.
    let a = actions_of(string(b"ab"));
    assert!(matches!(&a[..], [Action::Timeout(x), Action::Timeout(y)]
        if matches!(x.time, TimeoutTime::Relative(97)) && matches!(y.time, TimeoutTime::Relative(98))));
    assert!(matches!(&a[0], Action::Timeout(x) if same(x.msg.as_ref().unwrap(), small_int(97))));
    // Not a list: one action. [] : none.
    assert!(matches!(&actions_of(atom("hibernate"))[..], [Action::Hibernate(true)]));
    assert!(actions_of(nil()).is_empty());
}

#[test]
fn test_other_actions() {
    let a = actions_of(list(&[
        tuple(&[atom("postpone"), atom("false")]),
        tuple(&[atom("hibernate"), atom("false")]),
        tuple(&[atom("change_callback_module"), atom_as(119, "m2")]),
        tuple(&[atom("push_callback_module"), atom("m3")]),
        atom("pop_callback_module"),
        tuple(&[atom("next_event"), atom("internal"), atom("go")]),
        tuple(&[atom("next_event"), tuple(&[atom("call"), tuple(&[small_int(9), atom("t")])]), atom("q")]),
        tuple(&[atom("next_event"), tuple(&[atom("timeout"), atom("n")]), atom("q")]),
        tuple(&[atom("next_event"), atom("bogus"), atom("q")]),
        tuple(&[atom("postpone"), small_int(1)]),
        tuple(&[atom("change_callback_module"), binary(b"m")]),
        tuple(&[atom("reply"), tuple(&[atom("not_a_dest"), atom("t")]), atom("r")]),
    ]));
    assert!(matches!(a[0], Action::PostponeFlag(false)));
    assert!(matches!(a[1], Action::Hibernate(false)));
    assert!(matches!(&a[2], Action::ChangeCallbackModule(throng_beam::Mod::Beam(m)) if &**m == "m2"));
    assert!(matches!(&a[3], Action::PushCallbackModule(throng_beam::Mod::Beam(m)) if &**m == "m3"));
    assert!(matches!(a[4], Action::PopCallbackModule));
    assert!(
        matches!(&a[5], Action::NextEvent(e) if matches!(e.kind, EventType::Internal) && same(&e.content, atom("go")))
    );
    assert!(matches!(&a[6], Action::NextEvent(e) if matches!(&e.kind, EventType::Call(f) if f.pid == dest(9))));
    assert!(
        matches!(&a[7], Action::NextEvent(e) if matches!(&e.kind, EventType::GenericTimeout(n) if same(n, atom("n"))))
    );
    assert!(matches!(&a[8], Action::InvalidNextEvent(_)));
    assert!(matches!(&a[9], Action::Invalid(_)));
    assert!(matches!(&a[10], Action::Invalid(_)));
    assert!(matches!(&a[11], Action::Invalid(_)));
}

#[test]
fn test_init_results() {
    assert!(matches!(init_result(&frame(atom_as(115, "ignore"))), InitResult::Ignore));
    assert!(
        matches!(init_result(&frame(tuple(&[atom("ok"), atom("s"), atom("d")]))), InitResult::Ok(_, _, ref a) if a.is_empty())
    );
    assert!(matches!(
        init_result(&frame(tuple(&[atom("ok"), atom("s"), atom("d"), atom("postpone")]))),
        InitResult::Ok(_, _, ref a) if matches!(a[..], [Action::Postpone])
    ));
    assert!(
        matches!(init_result(&frame(tuple(&[atom("stop"), atom("r")]))), InitResult::Stop(ref r) if same(r, atom("r")))
    );
    for bad in [tuple(&[atom("ok"), atom("s")]), tuple(&[atom("stop"), atom("r"), atom("x")]), atom("ok")] {
        assert!(matches!(init_result(&frame(bad.clone())), InitResult::Invalid(ref t) if same(t, bad)));
    }
}

#[test]
fn test_callback_modes() {
    let m = callback_mode(&frame(atom("state_functions"))).unwrap();
    assert!(matches!(m.function, CallbackFunction::StateFunctions) && !m.state_enter);
    let m = callback_mode(&frame(list(&[atom("state_enter"), atom_as(118, "handle_event_function")]))).unwrap();
    assert!(matches!(m.function, CallbackFunction::HandleEventFunction) && m.state_enter);
    // The last mode wins.
    let m = callback_mode(&frame(list(&[atom("handle_event_function"), atom("state_functions")]))).unwrap();
    assert!(matches!(m.function, CallbackFunction::StateFunctions));
    for bad in [
        list(&[atom("state_enter")]),
        nil(),
        improper(&[atom("state_functions")], atom("state_enter")),
        list(&[atom("state_functions"), atom("foo")]),
        small_int(1),
    ] {
        assert!(matches!(callback_mode(&frame(bad.clone())), Err(ref t) if same(t, bad)));
    }
}

// ---- through the engine: gen_statem's exit reasons ----

use std::sync::Arc;
use throng_core::{Collect, Config, Engine, Event, ExitReason, ManualClock, Started, TerminateResult};
use throng_port::beam::{BeamFrom, InitArgs};

/// Runs a session of module `m` to its first cast, hands `result` in and
/// returns the reason it stopped with (`None`: it did not stop).
fn stop_reason(result: Vec<u8>) -> Option<ExitReason<Beam>> {
    let engine = Engine::new(Beam::default(), Config::default(), ManualClock::new(0)).unwrap();
    let module: Arc<str> = Arc::from("m");
    engine.machine().set_mode(module.clone(), callback_mode(&frame(atom("handle_event_function"))));
    let mut out = Collect::default();
    let from = BeamFrom { pid: dest(1), tag: Etf::from_bytes(vec![131, 106]) };
    let args = InitArgs { args: Etf::from_bytes(vec![131, 106]), from };
    let Ok(Started::Pending(id)) = engine.start(throng_beam::Mod::Beam(module), args, &mut out) else {
        panic!("init runs elsewhere")
    };
    let init = init_result(&frame(tuple(&[atom("ok"), atom("s"), atom("d")])));
    assert!(matches!(engine.resume_init(id, init, &mut out), Ok(Started::Ok(_))));
    let msg = Etf::from_bytes(proto_encode(&frame(atom("go"))));
    engine.send_event(id, Event::new(throng_core::EventType::Cast, msg), &mut out).unwrap();
    engine.resume(id, callback_result(&frame(result)), &mut out).unwrap();
    if engine.resume_terminate(id, TerminateResult::Ok, &mut out).is_err() {
        return None;
    }
    out.terminated().cloned()
}

fn proto_encode(t: &Term) -> Vec<u8> {
    throng_port::proto::encode(t)
}

#[test]
fn test_bad_results_and_actions_give_gen_statems_exit_reasons() {
    let bad = tuple(&[atom("next_state"), atom("s")]);
    assert!(matches!(stop_reason(bad.clone()), Some(ExitReason::BadReturnFromStateFunction(t)) if same(&t, bad)));

    let r = stop_reason(tuple(&[atom("keep_state_and_data"), list(&[atom("postpone"), atom("bogus")])]));
    assert!(
        matches!(r, Some(ExitReason::BadActionFromStateFunction(a)) if matches!(&*a, Action::Invalid(t) if same(t, atom("bogus"))))
    );

    let r = stop_reason(tuple(&[atom("keep_state_and_data"), tuple(&[atom("next_event"), atom("bogus"), atom("x")])]));
    assert!(
        matches!(r, Some(ExitReason::BadActionFromStateFunction(ref a)) if matches!(**a, Action::InvalidNextEvent(_))),
        "{r:?}"
    );

    let bad_reply = tuple(&[atom("reply"), atom("nobody"), atom("x")]);
    let r = stop_reason(tuple(&[atom("stop_and_reply"), atom("normal"), list(std::slice::from_ref(&bad_reply))]));
    assert!(matches!(r, Some(ExitReason::BadReplyActionFromStateFunction(ref t)) if same(t, bad_reply)), "{r:?}");

    let r = stop_reason(tuple(&[atom("stop"), tuple(&[atom("shutdown"), atom("bye")])]));
    assert!(matches!(r, Some(ExitReason::Reason(ref t)) if same(t, tuple(&[atom("shutdown"), atom("bye")]))), "{r:?}");

    assert!(stop_reason(atom("keep_state_and_data")).is_none());
}

#[test]
fn test_reply_to_a_pid() {
    // {keep_state_and_data, [{reply, {Pid, Ref}, ok}]}: the pid is the
    // destination, kept as its bytes and written back the same.
    let t = frame(tuple(&[
        atom("keep_state_and_data"),
        list(&[tuple(&[atom("reply"), tuple(&[pid(77), reference()]), atom("ok")])]),
    ]));
    let CallbackResult::KeepStateAndData(actions) = callback_result(&t) else { panic!("not keep_state_and_data") };
    let Action::Reply(from, _) = &actions[0] else { panic!("{:?}", actions[0]) };
    assert_eq!(back(&from.pid), frame(pid(77)));
    assert!(from.pid != dest(77));
}
