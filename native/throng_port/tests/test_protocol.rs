//! The protocol over an in-memory pipe: handshake, pipelining, bad frames.

mod common;

use common::*;
use eetf::Term;
use throng_port::proto::{atom, int, tuple, uint};
use throng_port::server::{serve, Exit};
use throng_port::Limits;

/// Feeds `input` (whole, then EOF) to the server; its exit and its frames.
fn run(input: Vec<u8>, limits: Limits) -> (Exit, Vec<Term>) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut out = Vec::new();
    let exit = rt.block_on(serve(&input[..], &mut out, limits)).unwrap();
    (exit, frames(&out))
}

fn session(frames_in: &[Vec<u8>]) -> (Exit, Vec<Term>) {
    let mut input = framed(&hello(1));
    for f in frames_in {
        input.extend(framed(f));
    }
    run(input, Limits::default())
}

#[test]
fn test_handshake_ok() {
    let (exit, out) = session(&[]);
    assert_eq!(exit, Exit::Eof);
    let e = elems(&out[0]);
    assert_eq!(name(&e[0]), "hello");
    assert_eq!(uint(&e[1]), Some(1));
    let Term::Map(info) = &e[2] else { panic!("info is a map") };
    assert_eq!(info.map.get(&atom("protocol")), Some(&int(1)));
    assert!(info.map.contains_key(&atom("max_frame_bytes")));
}

#[test]
fn test_handshake_wrong_version_exits() {
    let mut input = framed(&hello(2));
    input.extend(framed(&req(1, atom("ping"))));
    let (exit, out) = run(input, Limits::default());
    assert_eq!(exit, Exit::VersionMismatch);
    assert_eq!(exit.code(), 4);
    assert_eq!(out.len(), 1, "nothing after the mismatch is answered");
    let e = elems(&out[0]);
    assert_eq!(name(&e[0]), "error");
    assert_eq!(name(&e[1]), "undefined");
    assert_eq!(name(&elems(&e[2])[0]), "version_mismatch");
}

#[test]
fn test_request_before_hello() {
    let (exit, out) = run(framed(&req(7, atom("ping"))), Limits::default());
    assert_eq!(exit, Exit::Eof);
    assert_eq!(out, [tuple([atom("error"), int(7), atom("hello_expected")])]);
}

#[test]
fn test_pipelined_requests_answered_with_their_ids() {
    let ids = [5u64, 1, 1 << 40, 3];
    let reqs: Vec<_> = ids.iter().map(|&id| req(id, atom("ping"))).collect();
    let (_, out) = session(&reqs);
    let got: Vec<u64> = out[1..].iter().map(|t| uint(&elems(t)[1]).unwrap()).collect();
    assert_eq!(got, ids);
    for t in &out[1..] {
        assert_eq!(name(&elems(t)[2]), "pong");
    }
}

#[test]
fn test_echo_stats_batch_and_alive() {
    let payload = tuple([atom("a"), int(u64::MAX), Term::from(eetf::Binary::from(&b"x"[..]))]);
    let batch = tuple([atom("batch"), throng_port::proto::list([atom("ping"), atom("stats")])]);
    let alive = tuple([atom("session_alive"), int(1)]);
    let (_, out) =
        session(&[req(1, tuple([atom("echo"), payload.clone()])), req(2, atom("stats")), req(3, batch), req(4, alive)]);
    assert_eq!(elems(&out[1])[2], payload);
    let Term::Map(stats) = &elems(&out[2])[2] else { panic!("stats is a map") };
    assert_eq!(stats.map.get(&atom("sessions")), Some(&int(0)));
    let Term::List(results) = &elems(&out[3])[2] else { panic!("batch gives a list") };
    assert_eq!(results.elements.len(), 2);
    assert_eq!(elems(&out[4])[2], atom("false"));
}

#[test]
fn test_bad_frames_get_error_frames_and_serving_goes_on() {
    let mut input = framed(&hello(1));
    input.extend(framed(b"not etf at all"));
    input.extend(framed(&[131, 82, 0])); // atom cache ref: eetf would panic
    input.extend(framed(&[131, 108, 255, 255, 255, 255, 106])); // 4G-element list
    input.extend(framed(&req(1, atom("ping"))[..5])); // truncated term
    input.extend(framed(&req(2, atom("no_such_op"))));
    input.extend(framed(&req(3, tuple([atom("session_alive"), atom("x")]))));
    input.extend(framed(&throng_port::proto::encode(&atom("hello"))));
    input.extend(framed(&[0u8; 2000])); // over the limit below
    input.extend(framed(&req(4, atom("ping"))));
    let limits = Limits { max_frame_bytes: 1000, ..Limits::default() };
    let (exit, out) = run(input, limits);
    assert_eq!(exit, Exit::Eof);
    let reasons: Vec<String> = out[1..9].iter().map(|t| format!("{}", elems(t)[2])).collect();
    assert_eq!(
        reasons,
        [
            "{'bad_etf','version'}",
            "{'bad_etf',{'unsupported_tag',82}}",
            "{'bad_etf','truncated'}",
            "{'bad_etf','truncated'}",
            "{'unknown_op',<<110,111,95,115,117,99,104,95,111,112>>}",
            "{'badarg','session_alive'}",
            "'bad_frame'",
            "{'frame_too_large',2000,1000}",
        ]
    );
    assert_eq!(uint(&elems(&out[5])[1]), Some(2), "the id of an unknown op is named");
    assert_eq!(out[9], tuple([atom("rep"), int(4), atom("pong")]));
}

#[test]
fn test_input_ending_inside_a_frame() {
    let mut input = framed(&hello(1));
    input.extend(&framed(&req(1, atom("ping")))[..6]);
    let (exit, out) = run(input, Limits::default());
    assert_eq!(exit, Exit::Truncated);
    assert_eq!(name(&elems(&out[1])[0]), "error");
    // Inside the header, and inside an oversized frame being skipped.
    let (exit, _) = run(vec![0, 0], Limits::default());
    assert_eq!(exit, Exit::Truncated);
    let (exit, _) = run(vec![0, 0, 9, 0, 1, 2], Limits { max_frame_bytes: 100, ..Limits::default() });
    assert_eq!(exit, Exit::Truncated);
}

#[test]
fn test_engine_stop() {
    let (exit, out) = session(&[req(9, atom("engine_stop")), req(10, atom("ping"))]);
    assert_eq!(exit, Exit::Stopped);
    assert_eq!(out.last(), Some(&tuple([atom("rep"), int(9), atom("ok")])));
}

#[test]
fn test_every_op_of_the_list_parses() {
    use throng_port::proto::{decode_request, list, OPS};
    for &(op, arity, _) in OPS {
        let args: Vec<Term> = match op {
            "batch" => vec![list([])],
            "session_raise" => vec![int(1), atom("init"), atom("x")],
            "session_send" => vec![int(1), atom("cast"), atom("m"), atom("false")],
            "session_start" => vec![atom("m"), atom("a"), tuple([int(1), atom("t")]), atom("undefined")],
            "session_call" => vec![int(1), tuple([int(1), atom("t")]), atom("r"), atom("true")],
            "session_done" => vec![int(1), atom("r"), list([]), atom("false")],
            "session_system" => vec![int(1), atom("get_state"), tuple([int(1), atom("t")])],
            "native_start" => vec![atom("switch"), atom("a"), atom("undefined"), tuple([int(1), atom("t")])],
            "native_start_many" => vec![atom("switch"), list([atom("a")]), int(1)],
            "session_send_many" => vec![atom("cast"), list([tuple([int(1), atom("m")])])],
            "session_monitor" | "session_demonitor" | "session_abandon" => vec![int(1), tuple([int(1), atom("t")])],
            _ => (1..arity).map(|_| int(1)).collect(),
        };
        let term = if args.is_empty() { atom(op) } else { tuple(std::iter::once(atom(op)).chain(args)) };
        let decoded = decode_request(&req(1, term), Limits::default().etf());
        match decoded {
            Ok(throng_port::proto::Request::Req { op: parsed, .. }) => assert_eq!(parsed.name(), op),
            other => panic!("{op}: {other:?}"),
        }
    }
}
