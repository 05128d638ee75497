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

use eetf::Term;

/// `term_to_binary` of `t`, with map keys in a fixed order.
pub fn encode(t: &Term) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64);
    if has_map(t) {
        buf.push(131);
        write(t, &mut buf);
    } else {
        // Writing to a Vec fails only on atoms over 65535 bytes, which the
        // frame check lets none in (at most 255 characters).
        t.encode(&mut buf).expect("encodable term");
    }
    buf
}

fn has_map(t: &Term) -> bool {
    match t {
        Term::Map(_) => true,
        Term::Tuple(x) => x.elements.iter().any(has_map),
        Term::List(x) => x.elements.iter().any(has_map),
        Term::ImproperList(x) => x.elements.iter().any(has_map) || has_map(&x.last),
        // Funs' free variables are left as eetf writes them (funs do not
        // cross the port in practice).
        _ => false,
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
        Term::Tuple(x) if has_map(t) => {
            if x.elements.len() < 0x100 {
                buf.extend_from_slice(&[104, x.elements.len() as u8]);
            } else {
                buf.push(105);
                buf.extend_from_slice(&(x.elements.len() as u32).to_be_bytes());
            }
            x.elements.iter().for_each(|e| write(e, buf));
        }
        // Holding a map, the list is not a string: LIST_EXT as eetf writes it.
        Term::List(x) if has_map(t) => {
            buf.push(108);
            buf.extend_from_slice(&(x.elements.len() as u32).to_be_bytes());
            x.elements.iter().for_each(|e| write(e, buf));
            buf.push(106);
        }
        Term::ImproperList(x) if has_map(t) => {
            buf.push(108);
            buf.extend_from_slice(&(x.elements.len() as u32).to_be_bytes());
            x.elements.iter().for_each(|e| write(e, buf));
            write(&x.last, buf);
        }
        leaf => {
            let start = buf.len();
            leaf.encode(&mut *buf).expect("encodable term");
            // Drop the version byte eetf wrote.
            buf.remove(start);
        }
    }
}
