//! Terms kept in the engine, the NIF's side: [`Etf`] (defined in
//! `throng_beam`, shared with the port program) made from and turned back
//! into rustler terms with the VM's own `term_to_binary`/`binary_to_term`.
//!
//! Atoms are encoded once and shared: a million sessions in state `locked`
//! hold one copy of its encoding, not a million (atoms are never freed by
//! the BEAM, so the encoding of an atom never changes; see [`ATOMS`]).

use std::hash::{Hash, Hasher};

use rustler::{Env, Term};
use throng_core::bytes::{Bytes, Interner};

pub use throng_beam::Etf;

/// The encodings of atoms, by the atom's term: shared by every `Etf` of
/// the atom, never freed. Holds up to 6,144 atoms (an application's state
/// names and common tags come first); atoms beyond are encoded per value.
static ATOMS: Interner<8192> = Interner::new();

/// Encoding and decoding an [`Etf`] with rustler terms.
pub trait EtfNif {
    /// Encodes a term.
    fn encode(term: Term<'_>) -> Etf;
    /// Decodes into `env`. The bytes were made by `encode`, so their atoms
    /// exist; a failure (never expected) gives the atom `undefined`.
    fn decode<'a>(&self, env: Env<'a>) -> Term<'a>;
}

impl EtfNif for Etf {
    fn encode(term: Term<'_>) -> Etf {
        if let Some(key) = atom_key(term) {
            if let Some(b) = ATOMS.get(key) {
                return Etf::from_stored(b);
            }
            return Etf::from_stored(ATOMS.insert(key, term.to_binary().as_slice()));
        }
        Etf::from_stored(Bytes::new(term.to_binary().as_slice()))
    }

    fn decode<'a>(&self, env: Env<'a>) -> Term<'a> {
        decode_bytes(env, self.as_bytes())
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
