//! Terms kept in the engine: External Term Format bytes.
//!
//! A session's state, data, queued event contents, time-out messages and
//! replies are stored encoded (`term_to_binary`), so an idle session holds a
//! few dozen bytes instead of an environment. Equality is byte equality of
//! the encoding, which is `=:=` for every term a callback can build except
//! `0.0` versus `-0.0` (equal under OTP 25's `=:=`, different encodings):
//! docs/bridge.md lists it.
//!
//! An `Etf` is one pointer ([`Bytes`]: the length is kept in the heap block,
//! in front of the bytes). Atoms are encoded once and shared: a million
//! sessions in state `locked` hold one copy of its encoding, not a million
//! (atoms are never freed by the BEAM, so the encoding of an atom never
//! changes; see [`ATOMS`]).

use std::fmt;
use std::hash::{Hash, Hasher};

use rustler::{Env, Term};
use throng_core::bytes::{Bytes, Interner};

/// The encodings of atoms, by the atom's term: shared by every `Etf` of
/// the atom, never freed. Holds up to 6,144 atoms (an application's state
/// names and common tags come first); atoms beyond are encoded per value.
static ATOMS: Interner<8192> = Interner::new();

/// An encoded term.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Etf(Bytes);

impl Etf {
    /// Encodes a term.
    pub fn encode(term: Term<'_>) -> Etf {
        if let Some(key) = atom_key(term) {
            if let Some(b) = ATOMS.get(key) {
                return Etf(b);
            }
            return Etf(ATOMS.insert(key, term.to_binary().as_slice()));
        }
        Etf(Bytes::new(term.to_binary().as_slice()))
    }

    /// Decodes into `env`. The bytes were made by `encode`, so their atoms
    /// exist; a failure (never expected) gives the atom `undefined`.
    pub fn decode<'a>(&self, env: Env<'a>) -> Term<'a> {
        decode_bytes(env, self.0.as_slice())
    }

    /// Heap bytes this term holds (0 for a shared atom).
    pub fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }

    /// The encoding.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// A term built by hand: `{Atom, <<Text/utf8>>}` (for reasons made
    /// without an environment, such as a panic's).
    pub fn atom_and_text(atom: &str, text: &str) -> Etf {
        let mut b = vec![131, 104, 2, 119, atom.len().min(255) as u8];
        b.extend_from_slice(&atom.as_bytes()[..atom.len().min(255)]);
        b.push(109);
        b.extend_from_slice(&(text.len() as u32).to_be_bytes());
        b.extend_from_slice(text.as_bytes());
        Etf(Bytes::new(&b))
    }

    /// Bytes already in the External Term Format.
    pub fn from_bytes(bytes: Vec<u8>) -> Etf {
        Etf(Bytes::new(&bytes))
    }
}

/// Decodes bytes made by [`Etf::encode`] into `env` (a failure, never
/// expected, gives the atom `undefined`).
pub fn decode_bytes<'a>(env: Env<'a>, bytes: &[u8]) -> Term<'a> {
    match env.binary_to_term(bytes) {
        Some((t, _)) => t,
        None => rustler::types::atom::undefined().to_term(env),
    }
}

/// The word of an atom's term, which names the atom for the life of the VM
/// (`None` for other terms). Read through the derived `Hash` of rustler's
/// `ErlNifTerm`, which hashes exactly that word; should that ever change,
/// no key is read and atoms are simply not shared.
fn atom_key(term: Term<'_>) -> Option<u64> {
    #[derive(Default)]
    struct Word {
        value: u64,
        words: u32,
        other: bool,
    }
    impl Hasher for Word {
        fn write(&mut self, _: &[u8]) {
            self.other = true;
        }
        fn write_usize(&mut self, n: usize) {
            self.value = n as u64;
            self.words += 1;
        }
        fn finish(&self) -> u64 {
            self.value
        }
    }
    if !term.is_atom() {
        return None;
    }
    let mut w = Word::default();
    term.as_c_arg().hash(&mut w);
    (w.words == 1 && !w.other && w.value != 0).then_some(w.value)
}

impl fmt::Debug for Etf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#etf<{} bytes>", self.0.len())
    }
}
