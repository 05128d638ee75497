//! Terms kept in the engine: External Term Format bytes.
//!
//! A session's state, data, queued event contents, time-out messages and
//! replies are stored encoded (`term_to_binary`), so an idle session holds a
//! few dozen bytes instead of an environment. Equality is byte equality of
//! the encoding, which is `=:=` for every term a callback can build except
//! `0.0` versus `-0.0` (equal under OTP 25's `=:=`, different encodings):
//! docs/bridge.md lists it. Both hosts must therefore encode one term one
//! way: the NIF with the VM's `term_to_binary`, the port with `eetf`.
//!
//! An `Etf` is one pointer ([`Bytes`]: the length is kept in the heap block,
//! in front of the bytes). How a term becomes bytes is the host's business
//! (the NIF shares the encodings of atoms, see `throng_nif::etf`).

use std::fmt;

use throng_core::bytes::Bytes;

/// An encoded term.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Etf(Bytes);

impl Etf {
    /// Bytes already in the External Term Format (starting with 131).
    pub fn from_bytes(bytes: Vec<u8>) -> Etf {
        Etf(Bytes::from(bytes))
    }

    /// A copy of bytes already in the External Term Format.
    pub fn from_slice(bytes: &[u8]) -> Etf {
        Etf(Bytes::new(bytes))
    }

    /// Stored bytes as they are (shared ones stay shared).
    pub fn from_stored(bytes: Bytes) -> Etf {
        Etf(bytes)
    }

    /// A term many sessions share (a state name): stored once, never
    /// freed; copies hold no heap. For a machine's constants only.
    pub fn shared(bytes: &[u8]) -> Etf {
        Etf(Bytes::shared(bytes))
    }

    /// Heap bytes this term holds (0 for shared bytes).
    pub fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
    }

    /// The encoding.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    /// A term built by hand: `{Atom, <<Text/utf8>>}` (for reasons made
    /// without a term library, such as a panic's). Atom names longer than
    /// 255 bytes are cut.
    pub fn atom_and_text(atom: &str, text: &str) -> Etf {
        let name = &atom.as_bytes()[..atom.len().min(255)];
        let mut b = vec![131, 104, 2, 119, name.len() as u8];
        b.extend_from_slice(name);
        b.push(109);
        b.extend_from_slice(&(text.len() as u32).to_be_bytes());
        b.extend_from_slice(text.as_bytes());
        Etf::from_bytes(b)
    }
}

impl fmt::Debug for Etf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#etf<{} bytes>", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_atom_and_text() {
        let e = Etf::atom_and_text("panic", "boom");
        assert_eq!(
            e.as_bytes(),
            &[131, 104, 2, 119, 5, b'p', b'a', b'n', b'i', b'c', 109, 0, 0, 0, 4, b'b', b'o', b'o', b'm']
        );
        assert_eq!(e, Etf::from_slice(e.as_bytes()));
    }
}
