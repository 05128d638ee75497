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
