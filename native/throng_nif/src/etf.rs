//! Terms kept in the engine, the NIF's side: [`Etf`] (defined in
//! `throng_beam`, shared with the port program) made from and turned back
//! into rustler terms with the VM's own `term_to_binary`/`binary_to_term`.
//!
//! Atoms are encoded once and shared: a million sessions in state `locked`
//! hold one copy of its encoding, not a million (atoms are never freed by
//! the BEAM, so the encoding of an atom never changes; see [`ATOMS`]).

use std::hash::{Hash, Hasher};

use rustler::{Binary, Env, Term};
use throng_beam::term::tag;
use throng_core::bytes::{Bytes, Interner};

use crate::raw::Tuple;

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
        if atom_key(term).is_some() {
            return Etf::from_stored(atom_bytes(term));
        }
        let mut w = Small { buf: [0; SMALL], len: 1 };
        w.buf[0] = 131;
        if w.term(term, 0).is_some() {
            return Etf::from_stored(Bytes::new(&w.buf[..w.len]));
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

/// An atom's encoding (with the version byte), shared through [`ATOMS`].
fn atom_bytes(term: Term<'_>) -> Bytes {
    match atom_key(term) {
        Some(key) => match ATOMS.get(key) {
            Some(b) => b,
            None => ATOMS.insert(key, term.to_binary().as_slice()),
        },
        None => Bytes::new(term.to_binary().as_slice()),
    }
}

/// Terms up to this many bytes (version byte included) are written by
/// [`Small`]; larger ones by the VM's `term_to_binary`.
const SMALL: usize = 256;
/// How deep [`Small`] follows nested tuples and lists.
const SMALL_DEPTH: usize = 16;

/// The encoder of an event's common shapes (`{button, 1}`, `{msg, From,
/// <<"text">>}`, short lists and strings): atoms, integers that fit 32
/// bits, floats, binaries, tuples and lists, written as OTP 25's
/// `term_to_binary/1` writes them, into a buffer on the stack. Anything
/// else (maps, pids, references, funs, big integers, bit strings, terms
/// over [`SMALL`] bytes or [`SMALL_DEPTH`] deep) gives `None`, and the
/// whole term goes to the VM's encoder: the result is the same bytes
/// either way (the NIF suite checks it against `term_to_binary/1` over a
/// corpus: `throng_nif:etf_check/1`), without the VM's binary allocation
/// and copy.
struct Small {
    buf: [u8; SMALL],
    len: usize,
}

impl Small {
    fn put(&mut self, bytes: &[u8]) -> Option<()> {
        let end = self.len.checked_add(bytes.len()).filter(|&e| e <= SMALL)?;
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
        Some(())
    }

    fn term(&mut self, t: Term<'_>, depth: usize) -> Option<()> {
        if depth > SMALL_DEPTH {
            return None;
        }
        // Tried by cheapest test first (enif_term_type costs more than
        // the few direct tests an event's terms need).
        if let Some(tuple) = Tuple::of(t) {
            let n = tuple.len();
            match u8::try_from(n) {
                Ok(n) => self.put(&[tag::SMALL_TUPLE_EXT, n])?,
                Err(_) => {
                    self.put(&[tag::LARGE_TUPLE_EXT])?;
                    self.put(&u32::try_from(n).ok()?.to_be_bytes())?;
                }
            }
            return (0..n).try_for_each(|i| self.term(tuple.get(i)?, depth + 1));
        }
        if t.is_atom() {
            return self.put(atom_bytes(t).as_slice().get(1..)?);
        }
        if let Ok(n) = t.decode::<i64>() {
            return if let Ok(b) = u8::try_from(n) {
                self.put(&[tag::SMALL_INTEGER_EXT, b])
            } else {
                let n = i32::try_from(n).ok()?;
                self.put(&[tag::INTEGER_EXT])?;
                self.put(&n.to_be_bytes())
            };
        }
        if t.is_list() || t.is_empty_list() {
            return self.list(t, depth);
        }
        if let Ok(b) = Binary::from_term(t) {
            let n = u32::try_from(b.len()).ok()?;
            self.put(&[tag::BINARY_EXT])?;
            self.put(&n.to_be_bytes())?;
            return self.put(b.as_slice());
        }
        if t.is_float() {
            let x: f64 = t.decode().ok()?;
            self.put(&[tag::NEW_FLOAT_EXT])?;
            return self.put(&x.to_bits().to_be_bytes());
        }
        None
    }

    /// A list as `term_to_binary` writes it: `[]`; a proper list of at
    /// most 65,535 integers in 0..=255 as a `STRING_EXT`; else a
    /// `LIST_EXT` (its cells, then its tail).
    fn list(&mut self, t: Term<'_>, depth: usize) -> Option<()> {
        if t.is_empty_list() {
            return self.put(&[tag::NIL_EXT]);
        }
        // First pass: the length, whether it is a string, the tail. A list
        // longer than the buffer can hold cannot be written here.
        let (mut cells, mut string, mut rest) = (0usize, true, t);
        while let Ok((head, tail)) = rest.list_get_cell() {
            cells += 1;
            if cells >= SMALL {
                return None;
            }
            string = string && matches!(head.decode::<i64>(), Ok(0..=255));
            rest = tail;
        }
        let proper = rest.is_empty_list();
        if string && proper {
            self.put(&[tag::STRING_EXT])?;
            self.put(&u16::try_from(cells).ok()?.to_be_bytes())?;
            let mut rest = t;
            while let Ok((head, tail)) = rest.list_get_cell() {
                self.put(&[head.decode::<u8>().ok()?])?;
                rest = tail;
            }
            return Some(());
        }
        self.put(&[tag::LIST_EXT])?;
        self.put(&u32::try_from(cells).ok()?.to_be_bytes())?;
        let mut rest = t;
        while let Ok((head, tail)) = rest.list_get_cell() {
            self.term(head, depth + 1)?;
            rest = tail;
        }
        self.term(rest, depth + 1)
    }
}

/// Whether [`Etf::encode`] writes `term` as the VM's `term_to_binary/1`
/// does (the NIF suite's check of [`Small`]).
pub fn encodes_as_vm(term: Term<'_>) -> bool {
    Etf::encode(term).as_bytes() == term.to_binary().as_slice()
}
