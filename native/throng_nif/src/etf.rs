//! Terms kept in the engine: External Term Format bytes.
//!
//! A session's state, data, queued event contents, time-out messages and
//! replies are stored encoded (`term_to_binary`), so an idle session holds a
//! few dozen bytes instead of an environment. Equality is byte equality of
//! the encoding, which is `=:=` for every term a callback can build except
//! `0.0` versus `-0.0` (equal under OTP 25's `=:=`, different encodings):
//! docs/bridge.md lists it.

use std::fmt;

use rustler::{Env, Term};

/// An encoded term.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Etf(Box<[u8]>);

impl Etf {
    /// Encodes a term.
    pub fn encode(term: Term<'_>) -> Etf {
        Etf(term.to_binary().as_slice().into())
    }

    /// Decodes into `env`. The bytes were made by `encode`, so their atoms
    /// exist; a failure (never expected) gives the atom `undefined`.
    pub fn decode<'a>(&self, env: Env<'a>) -> Term<'a> {
        decode_bytes(env, &self.0)
    }

    /// The encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// A term built by hand: `{Atom, <<Text/utf8>>}` (for reasons made
    /// without an environment, such as a panic's).
    pub fn atom_and_text(atom: &str, text: &str) -> Etf {
        let mut b = vec![131, 104, 2, 119, atom.len().min(255) as u8];
        b.extend_from_slice(&atom.as_bytes()[..atom.len().min(255)]);
        b.push(109);
        b.extend_from_slice(&(text.len() as u32).to_be_bytes());
        b.extend_from_slice(text.as_bytes());
        Etf(b.into_boxed_slice())
    }

    /// Bytes already in the External Term Format.
    pub fn from_bytes(bytes: Vec<u8>) -> Etf {
        Etf(bytes.into_boxed_slice())
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

impl fmt::Debug for Etf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#etf<{} bytes>", self.0.len())
    }
}
