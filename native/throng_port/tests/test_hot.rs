//! The hot frames' decoder (`throng_port::hot`) against the general path
//! (eetf's tree, then the op table): for every message the stored bytes
//! are `canon::encode` of what eetf decodes, the requests are equal, and
//! every frame the hot decoder does not take (malformed hot shapes
//! included) gets the general path's answer, error frames byte for byte.

mod common;

use common::*;
use eetf::Term;
use proptest::prelude::*;
use throng_port::etf::{check, EtfLimits};
use throng_port::proto::{
    self, atom, decode_request, decode_request_general, encode, int, list, tuple, Op, ProtoError, Request, Res,
};
use throng_port::{canon, hot, Limits};

// ---- ETF bytes, written by hand (no version byte) ----

const NIL: u8 = 106;

fn atom_tagged(name: &[u8], tag: u8) -> Vec<u8> {
    let mut v = vec![tag];
    match tag {
        100 | 118 => v.extend((name.len() as u16).to_be_bytes()),
        _ => v.push(name.len() as u8),
    }
    v.extend(name);
    v
}

/// `ATOM_EXT`, as OTP 25 writes Latin-1 atoms.
fn a25(name: &str) -> Vec<u8> {
    atom_tagged(name.as_bytes(), 100)
}

fn tuple_of(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut v = vec![104, parts.len() as u8];
    parts.iter().for_each(|p| v.extend(p));
    v
}

fn list_of(parts: &[Vec<u8>]) -> Vec<u8> {
    if parts.is_empty() {
        return vec![NIL];
    }
    let mut v = vec![108];
    v.extend((parts.len() as u32).to_be_bytes());
    parts.iter().for_each(|p| v.extend(p));
    v.push(NIL);
    v
}

fn small(v: u8) -> Vec<u8> {
    vec![97, v]
}

fn integer(v: i32) -> Vec<u8> {
    let mut b = vec![98];
    b.extend(v.to_be_bytes());
    b
}

fn small_big(sign: u8, digits: &[u8]) -> Vec<u8> {
    let mut b = vec![110, digits.len() as u8, sign];
    b.extend(digits);
    b
}

fn large_big(sign: u8, digits: &[u8]) -> Vec<u8> {
    let mut b = vec![111];
    b.extend((digits.len() as u32).to_be_bytes());
    b.push(sign);
    b.extend(digits);
    b
}

fn frame(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut v = vec![131];
    v.extend(tuple_of(parts));
    v
}

/// `{req, Id, Op}` (OTP 25's atoms).
fn req_frame(id: Vec<u8>, op: Vec<u8>) -> Vec<u8> {
    frame(&[a25("req"), id, op])
}

/// `{session_send, Sid, cast, Msg, false}`.
fn send_op(sid: Vec<u8>, msg: &[u8]) -> Vec<u8> {
    tuple_of(&[a25("session_send"), sid, a25("cast"), msg.to_vec(), a25("false")])
}

// ---- random terms, in every encoding the check lets in ----

fn any_atom() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        4 => Just(b"ok".to_vec()),
        4 => Just(b"a".to_vec()),
        2 => Just(b"".to_vec()),
        8 => "[a-z_@]{1,10}".prop_map(String::into_bytes),
        2 => Just("é".as_bytes().to_vec()),
        2 => Just("日本語".as_bytes().to_vec()),
        2 => Just("🦀x".as_bytes().to_vec()),
        4 => "\\PC{0,4}".prop_map(String::into_bytes),
        1 => Just(vec![b'x'; 255]),
        // 400 bytes of UTF-8 (200 characters): only ATOM_UTF8_EXT holds it.
        1 => Just("é".repeat(200).into_bytes()),
        // Latin-1 'é' as OTP writes it in ATOM_EXT: not UTF-8, eetf refuses it.
        1 => Just(vec![b'c', 0xE9]),
    ];
    (name, prop::sample::select(vec![100u8, 115, 118, 119])).prop_map(|(name, tag)| {
        let tag = if name.len() > 255 { 118 } else { tag };
        atom_tagged(&name, tag)
    })
}

fn any_int() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        any::<u8>().prop_map(small),
        any::<i32>().prop_map(integer),
        (-2i32..300).prop_map(integer),
        (0u8..2, prop::collection::vec(any::<u8>(), 0..11)).prop_map(|(s, d)| small_big(s, &d)),
        // High zero digits, a minus zero, a bad sign byte.
        (0u8..3, any::<u8>(), 0usize..4).prop_map(|(s, d, z)| {
            let mut digits = vec![d];
            digits.extend(std::iter::repeat_n(0, z));
            small_big(s, &digits)
        }),
        (0u8..2, prop::collection::vec(any::<u8>(), 0..12)).prop_map(|(s, d)| large_big(s, &d)),
        (0u8..2, prop::collection::vec(any::<u8>(), 250..300)).prop_map(|(s, d)| large_big(s, &d)),
    ]
}

fn any_float() -> impl Strategy<Value = Vec<u8>> {
    let new_float = |x: f64| {
        let mut b = vec![70];
        b.extend(x.to_be_bytes());
        b
    };
    prop_oneof![
        4 => Just(new_float(0.0)),
        4 => Just(new_float(-0.0)),
        4 => Just(new_float(1.5)),
        8 => any::<f64>().prop_filter("finite", |x| x.is_finite()).prop_map(new_float),
        // Not finite: eetf refuses it.
        1 => Just(new_float(f64::INFINITY)),
        // The old textual FLOAT_EXT.
        1 => prop_oneof![Just("1.5".to_string()), (-1e10f64..1e10).prop_map(|x| format!("{x:.20e}")), Just("1e300".into())]
            .prop_map(|text| {
                let mut b = vec![99];
                b.extend(text.as_bytes());
                b.resize(32, 0);
                b
            }),
    ]
}

fn any_node() -> impl Strategy<Value = Vec<u8>> {
    (prop::sample::select(vec![100u8, 115, 118, 119]), prop::sample::select(vec!["nonode@nohost", "a@b", ""]))
        .prop_map(|(tag, n)| atom_tagged(n.as_bytes(), tag))
}

fn any_leaf() -> impl Strategy<Value = Vec<u8>> {
    let bytes = || prop::collection::vec(any::<u8>(), 0..8);
    prop_oneof![
        12 => any_atom(),
        12 => any_int(),
        6 => any_float(),
        1 => Just(vec![NIL]),
        1 => bytes().prop_map(|b| {
            let mut v = vec![107];
            v.extend((b.len() as u16).to_be_bytes());
            v.extend(b);
            v
        }),
        1 => bytes().prop_map(|b| {
            let mut v = vec![109];
            v.extend((b.len() as u32).to_be_bytes());
            v.extend(b);
            v
        }),
        1 => (prop::collection::vec(any::<u8>(), 1..5), 1u8..=8).prop_map(|(b, bits)| {
            let mut v = vec![77];
            v.extend((b.len() as u32).to_be_bytes());
            v.push(bits);
            v.extend(b);
            v
        }),
        // Pids: NEW_PID_EXT, PID_EXT.
        1 => (any::<bool>(), any_node(), any::<[u8; 12]>()).prop_map(|(new, node, f)| {
            let mut v = vec![if new { 88 } else { 103 }];
            v.extend(node);
            v.extend(if new { &f[..] } else { &f[..9] });
            v
        }),
        // References: NEWER_, NEW_, REFERENCE_EXT.
        1 => (0u8..3, any_node(), 0usize..5, any::<[u8; 24]>()).prop_map(|(kind, node, words, f)| {
            let mut v = vec![[90, 114, 101][usize::from(kind)]];
            match kind {
                0 | 1 => {
                    v.extend((words as u16).to_be_bytes());
                    v.extend(node);
                    let creation = if kind == 0 { 4 } else { 1 };
                    v.extend(&f[..creation + 4 * words]);
                }
                _ => {
                    v.extend(node);
                    v.extend(&f[..5]);
                }
            }
            v
        }),
        // Ports: PORT_EXT, NEW_PORT_EXT, V4_PORT_EXT (its id high or not).
        1 => (0u8..4, any_node(), any::<[u8; 12]>()).prop_map(|(kind, node, mut f)| {
            let (tag, n) = [(102, 5), (89, 8), (120, 12), (120, 12)][usize::from(kind)];
            if kind == 3 {
                f[..4].fill(0);
            }
            let mut v = vec![tag];
            v.extend(node);
            v.extend(&f[..n]);
            v
        }),
        // An export fun: eetf decides.
        1 => (any_atom(), any_atom(), any::<u8>()).prop_map(|(m, f, a)| {
            let mut v = vec![113];
            v.extend(m);
            v.extend(f);
            v.extend(small(a));
            v
        }),
    ]
}

/// A map key from a small pool, so that keys repeat (also as eetf's equal
/// keys written differently: atoms in two tags, a float zero of each sign,
/// a string and a list of the same bytes).
fn pool_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (prop::sample::select(vec![100u8, 119]), prop::sample::select(vec!["a", "b"]))
            .prop_map(|(t, n)| atom_tagged(n.as_bytes(), t)),
        Just(small(1)),
        Just(integer(1)),
        Just(vec![70, 0, 0, 0, 0, 0, 0, 0, 0]),
        Just(vec![70, 0x80, 0, 0, 0, 0, 0, 0, 0]),
        Just(vec![107, 0, 2, 1, 2]),
        Just(list_of(&[small(1), small(2)])),
        Just(tuple_of(&[vec![70, 0x80, 0, 0, 0, 0, 0, 0, 0]])),
    ]
}

fn any_term() -> impl Strategy<Value = Vec<u8>> {
    any_leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            // Tuples, small and (rarely written so) large.
            (prop::collection::vec(inner.clone(), 0..5), any::<bool>()).prop_map(|(es, large)| {
                let mut v = if large {
                    let mut v = vec![105];
                    v.extend((es.len() as u32).to_be_bytes());
                    v
                } else {
                    vec![104, es.len() as u8]
                };
                es.iter().for_each(|e| v.extend(e));
                v
            }),
            // Lists, proper or not; tails eetf reads as `[]` or not.
            (prop::collection::vec(inner.clone(), 0..5), 0u8..5, inner.clone()).prop_map(|(es, tail, t)| {
                let mut v = vec![108];
                v.extend((es.len() as u32).to_be_bytes());
                es.iter().for_each(|e| v.extend(e));
                match tail {
                    0 | 1 => v.push(NIL),
                    2 => v.extend(&t),
                    3 => v.extend([108, 0, 0, 0, 0, NIL]),
                    _ => v.extend([107, 0, 0]),
                }
                v
            }),
            // Lists of integers, as strings or not.
            prop::collection::vec(
                prop_oneof![any::<u8>().prop_map(small), (-3i32..300).prop_map(integer), Just(small_big(0, &[7]))],
                1..6
            )
            .prop_map(|es| list_of(&es)),
            // Maps, keys repeating.
            prop::collection::vec((prop_oneof![1 => pool_key(), 2 => inner.clone()], inner.clone()), 0..5).prop_map(
                |pairs| {
                    let mut v = vec![116];
                    v.extend((pairs.len() as u32).to_be_bytes());
                    for (k, val) in pairs {
                        v.extend(k);
                        v.extend(val);
                    }
                    v
                }
            ),
        ]
    })
}

fn limits() -> EtfLimits {
    Limits::default().etf()
}

/// The message's stored bytes as the general path makes them, if eetf
/// takes the message.
fn canon_of(msg: &[u8]) -> Option<Vec<u8>> {
    let mut b = vec![131];
    b.extend(msg);
    // Latin-1 atoms are read as OTP writes them (etf::utf8_atoms).
    let b = throng_port::etf::utf8_atoms(&b).unwrap_or(b);
    Term::decode(&b[..]).ok().map(|t| canon::encode(&t))
}

/// The hot decoder's request for a checked frame, which must be the
/// general path's (or the general path's error, when the hot decoder
/// leaves the frame).
fn same_as_general(f: &[u8]) -> Option<Request> {
    let general = decode_request_general(f, limits());
    // As decode_request does: Latin-1 atoms made UTF-8 first.
    let utf8 = throng_port::etf::utf8_atoms(f);
    let hot = hot::decode(utf8.as_deref().unwrap_or(f));
    match &general {
        Ok(req) => {
            if let Some(h) = &hot {
                assert_eq!(h, req, "{f:?}");
            }
        }
        Err(_) => assert_eq!(hot, None, "{f:?}"),
    }
    assert_eq!(decode_request(f, limits()), general, "{f:?}");
    hot
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    /// THE INVARIANT: a message's stored bytes are `canon::encode` of what
    /// eetf decodes from its bytes, in all three hot shapes.
    #[test]
    fn test_stored_bytes_are_the_general_paths(msgs in prop::collection::vec(any_term(), 1..4), sid in prop_oneof![0u64..300, any::<u64>()]) {
        let sid_b = encode(&int(sid))[1..].to_vec();
        let single = req_frame(small(1), send_op(sid_b.clone(), &msgs[0]));
        let batch = req_frame(small(2), tuple_of(&[a25("batch"), list_of(&msgs.iter().map(|m| send_op(sid_b.clone(), m)).collect::<Vec<_>>())]));
        let many_items: Vec<_> = msgs.iter().map(|m| tuple_of(&[sid_b.clone(), m.clone()])).collect();
        let many = req_frame(small(3), tuple_of(&[a25("session_send_many"), a25("info"), list_of(&many_items)]));
        for (f, n) in [(single, 1), (batch, msgs.len()), (many, msgs.len())] {
            prop_assume!(check(&f, limits()).is_ok());
            let canon: Option<Vec<Vec<u8>>> = msgs[..n].iter().map(|m| canon_of(m)).collect();
            let hot = same_as_general(&f);
            let Some(canon) = &canon else {
                // eetf refuses a message: the general path answers
                // {bad_etf, invalid}.
                prop_assert_eq!(hot, None);
                prop_assert_eq!(decode_request(&f, limits()), Err((None, ProtoError::BadEtf(throng_port::etf::EtfError::Invalid))));
                continue;
            };
            let stored: Vec<Vec<u8>> = match hot {
                Some(Request::Req { op: Op::SessionSend { msg, .. }, .. }) => vec![msg.as_bytes().to_vec()],
                Some(Request::Req { op: Op::Batch(ops), .. }) => ops
                    .into_iter()
                    .map(|op| match op {
                        Op::SessionSend { msg, .. } => msg.as_bytes().to_vec(),
                        other => panic!("{other:?}"),
                    })
                    .collect(),
                Some(Request::Req { op: Op::SessionSendMany { items, .. }, .. }) => {
                    items.into_iter().map(|(_, m)| m.as_bytes().to_vec()).collect()
                }
                other => panic!("the hot decoder takes every frame of these shapes eetf takes: {other:?}"),
            };
            prop_assert_eq!(&stored, canon);
        }
    }

    /// Hot shapes, good and malformed, part by part: the hot decoder's
    /// request is the general path's, and what it leaves gets the general
    /// path's answer.
    #[test]
    fn test_envelopes_good_and_malformed(
        outer in 0usize..4,
        id in 0usize..13,
        op in 0usize..9,
        sid in 0usize..13,
        kind in 0usize..6,
        inline in 0usize..5,
        msg in any_term(),
    ) {
        let ints = |i: usize| -> Vec<u8> {
            match i {
                0 => small(7),
                1 => integer(1000),
                2 => integer(-1),
                3 => small_big(0, &[0, 0, 0, 0, 1]),
                4 => small_big(1, &[0, 0]),
                5 => small_big(1, &[3]),
                6 => small_big(0, &[1; 9]),
                7 => small_big(0, &[1, 2, 3, 4, 5, 6, 7, 8, 0]),
                8 => large_big(0, &[5, 0, 0]),
                9 => small_big(2, &[5]),
                10 => a25("x"),
                11 => small_big(0, &[0xFF; 8]),
                _ => atom_tagged(b"7", 119),
            }
        };
        let kind_b = [a25("cast"), atom_tagged(b"info", 119), a25("call"), a25("Cast"), small(1), atom_tagged(b"cast", 115)][kind].clone();
        let inline_b = [a25("false"), atom_tagged(b"true", 118), a25("maybe"), small(0), atom_tagged(b"false", 115)][inline].clone();
        let send = |sid: Vec<u8>| tuple_of(&[a25("session_send"), sid, kind_b.clone(), msg.clone(), inline_b.clone()]);
        let op_b = match op {
            0 => send(ints(sid)),
            1 => tuple_of(&[a25("batch"), list_of(&[send(ints(sid)), send(small(3))])]),
            2 => tuple_of(&[a25("batch"), list_of(&[send(small(3)), a25("ping")])]),
            3 => tuple_of(&[a25("session_send_many"), kind_b.clone(), list_of(&[tuple_of(&[ints(sid), msg.clone()])])]),
            4 => tuple_of(&[a25("session_send_many"), kind_b.clone(), list_of(&[tuple_of(&[ints(sid), msg.clone(), small(1)])])]),
            5 => tuple_of(&[a25("session_send"), ints(sid), kind_b.clone(), msg.clone()]),
            6 => tuple_of(&[a25("batch"), vec![107, 0, 1, 1]]),
            7 => tuple_of(&[a25("batch"), vec![108, 0, 0, 0, 1, 97, 1, 97, 2]]),
            _ => tuple_of(&[a25("session_sen"), ints(sid), kind_b.clone(), msg.clone(), inline_b.clone()]),
        };
        let f = match outer {
            0 => req_frame(ints(id), op_b),
            1 => {
                // A LARGE_TUPLE_EXT envelope, its tag in SMALL_ATOM_UTF8_EXT.
                let mut v = vec![131, 105, 0, 0, 0, 3];
                v.extend(atom_tagged(b"req", 119));
                v.extend(ints(id));
                v.extend(op_b);
                v
            }
            2 => frame(&[a25("req"), ints(id), op_b, small(1)]),
            _ => frame(&[a25("rep"), ints(id), op_b]),
        };
        prop_assume!(check(&f, limits()).is_ok());
        same_as_general(&f);
    }

    /// The stored terms work items quote are written from their bytes as
    /// `canon` writes what eetf decodes from them.
    #[test]
    fn test_stored_terms_rewritten_as_canon_writes_them(t in any_term()) {
        let mut etf = vec![131];
        etf.extend(&t);
        let mut out = vec![1, 2];
        let ok = hot::Canon::default().write_stored(&etf, &mut out);
        match Term::decode(&etf[..]) {
            Ok(term) => {
                prop_assert!(ok);
                prop_assert_eq!(&out[2..], &canon::encode(&term)[1..]);
            }
            Err(_) => {
                prop_assert!(!ok);
                prop_assert_eq!(out, [1, 2]);
            }
        }
    }

    /// A result written without terms is the term's encoding.
    #[test]
    fn test_replies_written_as_their_terms(id in prop_oneof![0u64..300, any::<u64>(), Just(1 << 31), Just((1 << 31) - 1)], rs in prop::collection::vec(0u8..6, 0..5)) {
        let res: Vec<Res> = rs
            .iter()
            .map(|r| match r {
                0 => Res::Ok,
                1 => Res::Error("noproc"),
                2 => Res::Error("queue_full"),
                3 => Res::Term(int(u64::from(*r))),
                // Written terms: a small integer, a list of items.
                4 => Res::Raw(encode(&int(7))[1..].to_vec()),
                _ => Res::Raw(encode(&list([tuple([int(1), atom("w")])]))[1..].to_vec()),
            })
            .collect();
        for r in res.iter().cloned().chain([Res::List(res.clone()), Res::List(vec![Res::Ok; rs.len()])]) {
            let mut buf = Vec::new();
            proto::write_reply(id, &r, &mut buf);
            prop_assert_eq!(buf, encode(&proto::reply_frame(id, r.to_term())));
        }
    }
}

/// The answers over the protocol: hot frames as OTP 25 writes them, and
/// malformed hot shapes answered as before.
#[test]
fn test_answers_to_hot_frames_and_their_malformed_variants() {
    fn run(frames_in: &[Vec<u8>]) -> Vec<Term> {
        let mut input = framed(&hello(1));
        frames_in.iter().for_each(|f| input.extend(framed(f)));
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut out = Vec::new();
        rt.block_on(throng_port::server::serve(&input[..], &mut out, Limits::default())).unwrap();
        frames(&out)[1..].to_vec()
    }
    let msg = tuple_of(&[a25("button"), small(1)]);
    let noproc = tuple([atom("error"), atom("noproc")]);
    let ok_frames = [
        req_frame(small(1), send_op(small(5), &msg)),
        req_frame(small(2), tuple_of(&[a25("batch"), list_of(&[send_op(small(5), &msg), send_op(integer(6), &msg)])])),
        req_frame(small(3), tuple_of(&[a25("batch"), vec![NIL]])),
        req_frame(
            small_big(0, &[0, 0, 0, 0, 1]),
            tuple_of(&[a25("session_send_many"), a25("cast"), list_of(&[tuple_of(&[small(5), msg.clone()])])]),
        ),
    ];
    let out = run(&ok_frames);
    assert_eq!(
        out,
        [
            tuple([atom("rep"), int(1), noproc.clone()]),
            tuple([atom("rep"), int(2), list([noproc.clone(), noproc])]),
            tuple([atom("rep"), int(3), list([])]),
            tuple([atom("rep"), int(1 << 32), list([])]),
        ]
    );
    for f in &ok_frames {
        assert!(hot::decode(f).is_some(), "{f:?}");
    }

    let badarg = |id: u64| tuple([atom("error"), int(id), tuple([atom("badarg"), atom("session_send")])]);
    let bad = [
        // A kind that is not cast or info; an Inline that is not a boolean.
        (
            req_frame(small(1), tuple_of(&[a25("session_send"), small(5), a25("call"), msg.clone(), a25("false")])),
            badarg(1),
        ),
        (
            req_frame(small(2), tuple_of(&[a25("session_send"), small(5), a25("cast"), msg.clone(), small(0)])),
            badarg(2),
        ),
        // A negative sid; a missing argument.
        (
            req_frame(small(3), tuple_of(&[a25("session_send"), integer(-5), a25("cast"), msg.clone(), a25("true")])),
            badarg(3),
        ),
        (req_frame(small(4), tuple_of(&[a25("session_send"), small(5), a25("cast"), msg.clone()])), badarg(4)),
        // A batch with a bad op in it: the first bad op's error.
        (
            req_frame(
                small(5),
                tuple_of(&[
                    a25("batch"),
                    list_of(&[send_op(small(5), &msg), tuple_of(&[a25("session_send"), a25("x")])]),
                ]),
            ),
            badarg(5),
        ),
        // A batch in a batch.
        (
            req_frame(small(6), tuple_of(&[a25("batch"), list_of(&[tuple_of(&[a25("batch"), vec![NIL]])])])),
            tuple([atom("error"), int(6), tuple([atom("badarg"), atom("batch")])]),
        ),
        // send_many's items must be pairs; its kind cast or info.
        (
            req_frame(small(7), tuple_of(&[a25("session_send_many"), a25("cast"), list_of(&[small(5)])])),
            tuple([atom("error"), int(7), tuple([atom("badarg"), atom("session_send_many")])]),
        ),
        (
            req_frame(small(8), tuple_of(&[a25("session_send_many"), a25("exit"), vec![NIL]])),
            tuple([atom("error"), int(8), tuple([atom("badarg"), atom("session_send_many")])]),
        ),
        // An id out of range: no id named.
        (
            req_frame(small_big(0, &[1; 9]), send_op(small(5), &msg)),
            tuple([atom("error"), atom("undefined"), atom("bad_frame")]),
        ),
        // A Latin-1 atom with a character above 127 ('cé', as OTP 25
        // writes it) is read as that atom: the session does not exist.
        (
            req_frame(small(9), send_op(small(5), &atom_tagged(&[b'c', 0xE9], 100))),
            tuple([atom("rep"), int(9), tuple([atom("error"), atom("noproc")])]),
        ),
        // A message eetf refuses (a bad sign byte).
        (
            req_frame(small(10), send_op(small(5), &small_big(2, &[1]))),
            tuple([atom("error"), atom("undefined"), tuple([atom("bad_etf"), atom("invalid")])]),
        ),
        // A misspelt op.
        (
            req_frame(small(11), tuple_of(&[a25("session_sen"), small(5), a25("cast"), msg.clone(), a25("false")])),
            tuple([atom("error"), int(11), tuple([atom("unknown_op"), proto::binary(b"session_sen")])]),
        ),
    ];
    let (frames_in, expected): (Vec<_>, Vec<_>) = bad.into_iter().unzip();
    for f in &frames_in {
        assert_eq!(hot::decode(f), None, "{f:?}");
    }
    assert_eq!(run(&frames_in), expected);

    // The limits still apply first: a hot frame over --max-terms.
    let mut input = framed(&hello(1));
    input.extend(framed(&ok_frames[1]));
    let limits = Limits { max_terms: 8, ..Limits::default() };
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut out = Vec::new();
    rt.block_on(throng_port::server::serve(&input[..], &mut out, limits)).unwrap();
    assert_eq!(
        frames(&out)[1],
        tuple([atom("error"), atom("undefined"), tuple([atom("bad_etf"), atom("too_many_terms")])])
    );
}
