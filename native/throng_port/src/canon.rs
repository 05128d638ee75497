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
//! 0..=255 (as `term_to_binary` does); eetf writes the leaves.

use eetf::{FixInteger, Term};

/// `term_to_binary` of `t`, with map keys in a fixed order.
pub fn encode(t: &Term) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64);
    buf.push(131);
    write(t, &mut buf);
    buf
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

/// `t` without the version byte.
fn write(t: &Term, buf: &mut Vec<u8>) {
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
            pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
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
