//! Stored terms have one encoding each (`throng_port::canon`), though eetf
//! decodes maps into `HashMap`s with a random hasher.

use std::collections::HashMap;

use eetf::{Map, Term};
use throng_port::proto::{atom, encode, int, list, tuple};

fn map_of(n: u64) -> Term {
    Term::from(Map::from((0..n).map(|i| (int(i), tuple([atom("v"), int(i)]))).collect::<HashMap<_, _>>()))
}

/// eetf decodes a map into a HashMap with a random hasher; stored terms
/// must still be one encoding per term (states are compared byte for byte).
#[test]
fn test_map_state_round_trips_to_identical_bytes() {
    use throng_beam::TermView;
    use throng_port::beam::View;
    let t = tuple([
        atom("s"),
        map_of(100),
        list([map_of(3), Term::from(Map::from(HashMap::from([(map_of(2), map_of(5))])))]),
    ]);
    let bytes = encode(&t);
    let stored: Vec<_> = (0..8).map(|_| View::of(&Term::decode(&bytes[..]).unwrap()).store()).collect();
    assert!(stored.windows(2).all(|w| w[0] == w[1]));
    // And they are the term's: decoding and storing again gives them back.
    // (Not compared as eetf terms: eetf hashes a map key in its HashMap's
    // order, so `==` on maps with map keys is itself order-dependent.)
    assert_eq!(stored[0].as_bytes(), &throng_port::canon::encode(&t)[..]);
    let again = View::of(&Term::decode(stored[0].as_bytes()).unwrap()).store();
    assert_eq!(again, stored[0]);
    // A map without maps inside stays as eetf writes it.
    assert_eq!(View::of(&atom("x")).store().as_bytes(), &encode(&atom("x"))[..]);
}

/// Lists are written as `term_to_binary` writes them: a string only when
/// every element is an integer in 0..=255 (eetf 0.11 also writes negative
/// ones as bytes, so `[-5]` would come back as `[251]`).
#[test]
fn test_lists_of_integers_keep_their_values() {
    use eetf::FixInteger;
    let ints = |v: &[i32]| {
        Term::from(eetf::List::from(v.iter().map(|&i| Term::from(FixInteger::from(i))).collect::<Vec<_>>()))
    };
    // As OTP 25's term_to_binary writes them.
    let cases: [(&[i32], &[u8]); 4] = [
        (&[-5], &[131, 108, 0, 0, 0, 1, 98, 255, 255, 255, 251, 106]),
        (&[1, 255], &[131, 107, 0, 2, 1, 255]),
        (&[1, 256], &[131, 108, 0, 0, 0, 2, 97, 1, 98, 0, 0, 1, 0, 106]),
        (&[], &[131, 106]),
    ];
    for (v, expected) in cases {
        let t = ints(v);
        assert_eq!(encode(&t), expected, "{v:?}");
        assert_eq!(throng_port::canon::encode(&t), expected, "{v:?}");
        let back = Term::decode(expected).unwrap();
        let back_ints: Vec<i32> = match &back {
            Term::List(l) => l
                .elements
                .iter()
                .map(|e| match e {
                    Term::FixInteger(i) => i.value,
                    other => panic!("{other}"),
                })
                .collect(),
            Term::ByteList(b) => b.bytes.iter().map(|&b| i32::from(b)).collect(),
            other => panic!("{other}"),
        };
        assert_eq!(back_ints, v);
    }
    // Nested in a tuple, as in a callback result.
    let t = tuple([atom("next_state"), atom("b"), ints(&[-5])]);
    let back = Term::decode(&encode(&t)[..]).unwrap();
    assert_eq!(back, t);
}
