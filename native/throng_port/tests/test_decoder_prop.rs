//! Random bytes and random mutations of valid frames into the decoder:
//! it never panics, and what it accepts stays within the limits (the
//! property form of the fuzz target, which needs nightly).

mod common;

use common::*;
use proptest::prelude::*;
use throng_port::etf::{check, EtfLimits};
use throng_port::proto::{atom, decode_request, int, list, tuple};

fn valid_frames() -> Vec<Vec<u8>> {
    let from = tuple([int(3), atom("tag")]);
    vec![
        hello(1),
        req(1, atom("ping")),
        req(1 << 33, tuple([atom("echo"), list([int(1), int(u64::MAX), atom("x")])])),
        req(2, tuple([atom("session_call"), int(7), from, tuple([atom("a"), int(1)]), atom("false")])),
        req(3, tuple([atom("batch"), list([atom("stats"), tuple([atom("session_alive"), int(9)])])])),
        // OTP 25's term_to_binary({req, 1, ping}): ATOM_EXT (100) atoms.
        vec![131, 104, 3, 100, 0, 3, b'r', b'e', b'q', 97, 1, 100, 0, 4, b'p', b'i', b'n', b'g'],
    ]
}

fn limits() -> EtfLimits {
    EtfLimits { max_depth: 64, max_terms: 4096 }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn test_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = decode_request(&bytes, limits());
        let mut with_version = vec![131];
        with_version.extend(&bytes);
        let _ = decode_request(&with_version, limits());
    }

    #[test]
    fn test_mutated_frames_never_panic(
        which in 0usize..6,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut b = valid_frames()[which].clone();
        for (ix, byte, kind) in edits {
            if b.is_empty() { b.push(byte); continue; }
            let i = ix.index(b.len());
            match kind {
                0 => b[i] = byte,
                1 => b.insert(i, byte),
                _ => { b.truncate(i); }
            }
        }
        // Accepted terms stay within the limits: decoding them is bounded.
        if check(&b, limits()).is_ok() {
            prop_assert!(eetf::Term::decode(&b[..]).is_ok() || decode_request(&b, limits()).is_err());
        }
        let _ = decode_request(&b, limits());
    }
}

#[test]
fn test_valid_frames_decode() {
    for f in valid_frames() {
        assert!(decode_request(&f, limits()).is_ok(), "{f:?}");
    }
}
