//! Terms kept in the engine, encoded one way.
//!
//! The engine compares stored terms byte for byte (a state "changes" when
//! its bytes do, `throng_beam::etf`). eetf holds a map in a `HashMap` with a
//! random hasher, so encoding the same decoded map twice may give two key
//! orders. [`encode`] writes every map with its pairs sorted by the bytes of
//! their keys, so one term always has one encoding here.
//!
//! *Why sorted by key bytes rather than as `term_to_binary` orders them.*
//! The port's stored bytes are only ever compared with other bytes the
//! port wrote (executors get terms, decoded, never these bytes), so what
//! matters is one order, not the VM's: the VM sorts small maps in term order
//! and writes large ones (over 32 keys) in its internal hash order, which
//! could not be reproduced anyway. *Why not copy the subterm's bytes from
//! the frame.* Equal terms may arrive encoded differently (atoms in four
//! tags, a map's keys in any order from another ETF speaker); re-encoding
//! makes their bytes equal.

//!
//! *Why containers are written here at all.* eetf 0.11 writes a list whose
//! elements are all integers below 256 as a string (`STRING_EXT`), negative
//! ones included: `[-5]` would come back as `[251]`. Tuples, lists and maps
//! are written here, a list as a string only when every element is in
//! 0..=255 (as `term_to_binary` does); eetf writes the other leaves.
//! Atoms, small integers and binaries, the commonest leaves, are written
//! here too, byte for byte as eetf writes them ([`atom`], [`fix_int`]),
//! without eetf's per-leaf version byte.
//!
//! The hot frames (`crate::hot`) write their messages' stored bytes straight
//! from the frame's bytes, to exactly the bytes [`encode`] gives for the
//! decoded message.

use eetf::{Binary, FixInteger, Term};
use throng_beam::Etf;

/// `term_to_binary` of `t`, with map keys in a fixed order.
pub fn encode(t: &Term) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64);
    buf.push(131);
    write(t, &mut buf);
    buf
}

/// `t` as the engine stores it: [`encode`]d.
pub fn stored(t: &Term) -> Etf {
    Etf::from_bytes(encode(t))
}

/// An atom named `name` (UTF-8), as eetf writes it: `SMALL_ATOM_UTF8_EXT`
/// up to 255 bytes, else `ATOM_UTF8_EXT` (names over 65535 bytes never get
/// here: the frame check lets none in, and the port's own are short).
pub fn atom(name: &[u8], buf: &mut Vec<u8>) {
    match u8::try_from(name.len()) {
        Ok(n) => buf.extend_from_slice(&[119, n]),
        Err(_) => {
            buf.push(118);
            let n = u16::try_from(name.len()).expect("an atom of at most 65535 bytes");
            buf.extend_from_slice(&n.to_be_bytes());
        }
    }
    buf.extend_from_slice(name);
}

/// An integer of eetf's `FixInteger` (an `i32`), as eetf writes it:
/// `SMALL_INTEGER_EXT` for 0..=255, else `INTEGER_EXT`.
pub fn fix_int(v: i32, buf: &mut Vec<u8>) {
    match u8::try_from(v) {
        Ok(b) => buf.extend_from_slice(&[97, b]),
        Err(_) => {
            buf.push(98);
            buf.extend_from_slice(&v.to_be_bytes());
        }
    }
}

/// A non-negative integer as [`crate::proto::int`] builds it and eetf
/// writes it: a `FixInteger` below 2^31, else a `SMALL_BIG_EXT` of its
/// significant bytes.
pub fn uint(v: u64, buf: &mut Vec<u8>) {
    match i32::try_from(v) {
        Ok(v) => fix_int(v, buf),
        Err(_) => {
            let le = v.to_le_bytes();
            let n = 8 - (v.leading_zeros() / 8) as usize;
            buf.extend_from_slice(&[110, n as u8, 0]);
            buf.extend_from_slice(&le[..n]);
        }
    }
}

/// Tag and arity of a tuple.
fn tuple_head(n: usize, buf: &mut Vec<u8>) {
    if n < 0x100 {
        buf.extend_from_slice(&[104, n as u8]);
    } else {
        buf.push(105);
        buf.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// The byte an element of a string stands for.
fn byte(t: &Term) -> Option<u8> {
    match t {
        Term::FixInteger(FixInteger { value }) => u8::try_from(*value).ok(),
        _ => None,
    }
}

/// `t` without the version byte (as [`encode`] writes it after the
/// version byte).
pub fn write(t: &Term, buf: &mut Vec<u8>) {
    match t {
        Term::Map(m) => {
            let mut pairs: Vec<(Vec<u8>, &Term)> = m
                .map
                .iter()
                .map(|(k, v)| {
                    let mut kb = Vec::new();
                    write(k, &mut kb);
                    (kb, v)
                })
                .collect();
            // Keys eetf holds apart may write alike (a string and a list of
            // small integers): then their values decide, so the order is
            // never the `HashMap`'s.
            pairs.sort_unstable_by(|a, b| {
                a.0.cmp(&b.0).then_with(|| {
                    let (mut va, mut vb) = (Vec::new(), Vec::new());
                    write(a.1, &mut va);
                    write(b.1, &mut vb);
                    va.cmp(&vb)
                })
            });
            buf.push(116);
            buf.extend_from_slice(&(pairs.len() as u32).to_be_bytes());
            for (k, v) in pairs {
                buf.extend_from_slice(&k);
                write(v, buf);
            }
        }
        Term::Tuple(x) => {
            tuple_head(x.elements.len(), buf);
            x.elements.iter().for_each(|e| write(e, buf));
        }
        Term::List(x) if x.elements.is_empty() => buf.push(106),
        Term::List(x) if x.elements.len() <= usize::from(u16::MAX) && x.elements.iter().all(|e| byte(e).is_some()) => {
            buf.push(107);
            buf.extend_from_slice(&(x.elements.len() as u16).to_be_bytes());
            buf.extend(x.elements.iter().filter_map(byte));
        }
        Term::List(x) => {
            buf.push(108);
            buf.extend_from_slice(&(x.elements.len() as u32).to_be_bytes());
            x.elements.iter().for_each(|e| write(e, buf));
            buf.push(106);
        }
        Term::ImproperList(x) => {
            buf.push(108);
            buf.extend_from_slice(&(x.elements.len() as u32).to_be_bytes());
            x.elements.iter().for_each(|e| write(e, buf));
            write(&x.last, buf);
        }
        Term::Atom(a) => atom(a.name.as_bytes(), buf),
        Term::FixInteger(FixInteger { value }) => fix_int(*value, buf),
        Term::Binary(Binary { bytes }) => {
            buf.push(109);
            buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            buf.extend_from_slice(bytes);
        }
        leaf => {
            let start = buf.len();
            // Writing to a Vec fails only on atoms over 65535 bytes, which
            // the frame check lets none in (at most 255 characters).
            leaf.encode(&mut *buf).expect("encodable term");
            // Drop the version byte eetf wrote.
            buf.remove(start);
        }
    }
}
