//! The hot frames, decoded from their bytes without a term tree.
//!
//! Three request shapes carry nearly all of a busy port's events:
//!
//! 1. `{req, Id, {session_send, Sid, Kind, Msg, Inline}}`;
//! 2. `{req, Id, {batch, Ops}}`, every op a `session_send` as above;
//! 3. `{req, Id, {session_send_many, Kind, [{Sid, Msg}, ...]}}`.
//!
//! [`decode`] recognises them from the bytes of a frame that passed
//! [`crate::etf::check`] and gives the same [`Request`] the general path
//! ([`crate::proto::decode_request_general`]: eetf's tree, then the op
//! table) gives; anything else, or anything it is not sure of (another op,
//! a bad argument, an id out of range, a kind that is not `cast` or `info`,
//! an `Inline` that is not a boolean, a value eetf would refuse), is
//! `None`, and the general path answers it, error frames included. So the
//! answers do not depend on which path decoded a frame.
//!
//! Each message becomes the bytes the engine stores ([`Canon`]): exactly
//! what [`canon::encode`] writes for the term eetf decodes from the
//! message's bytes (atoms rewritten from any of the four tags, small
//! integers shortened, lists of bytes as strings, map pairs sorted by the
//! bytes of their keys, pids, references and ports in their newest tags).
//! Parts already in that form are copied as they are. What is rare and
//! subtle (the old textual floats, funs, export funs, a map with two keys
//! that eetf holds as one, a map key holding a float zero: eetf's `0.0`
//! and `-0.0` are one key) is left to eetf for that one message: decoded,
//! then [`canon::encode`]d. The invariant, proptested in
//! `tests/test_hot.rs`: for every message, the stored bytes are the general
//! path's.

use eetf::Term;
use throng_beam::term::tag::*;
use throng_beam::Etf;

use crate::canon;
use crate::proto::{Op, Request, SendKind, Sid};

/// The request of a hot frame; `None` for any other frame, and for a hot
/// one the general path must answer (see the module documentation).
///
/// `payload` must have passed [`crate::etf::check`]: this reader relies
/// on it for the nesting depth of messages, and eetf (for the messages
/// left to it) for everything else the check guards.
pub fn decode(payload: &[u8]) -> Option<Request> {
    let mut r = Rd { b: payload, pos: 0 };
    if r.u8()? != VERSION || r.tuple()? != 3 || r.atom()? != b"req" {
        return None;
    }
    let id = r.uint()?;
    let mut c = Canon::default();
    let op = match (r.tuple()?, r.atom()?) {
        (5, b"session_send") => send(&mut r, &mut c)?,
        (2, b"batch") => {
            let n = r.list()?;
            // Each op takes more than a byte: `n` is bounded by the frame.
            let mut ops = Vec::with_capacity(n);
            for _ in 0..n {
                if r.tuple()? != 5 || r.atom()? != b"session_send" {
                    return None;
                }
                ops.push(send(&mut r, &mut c)?);
            }
            r.list_end(n)?;
            Op::Batch(ops)
        }
        (3, b"session_send_many") => {
            let kind = kind(r.atom()?)?;
            let n = r.list()?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                if r.tuple()? != 2 {
                    return None;
                }
                let sid = r.uint()?;
                items.push((sid, c.message(&mut r)?));
            }
            r.list_end(n)?;
            Op::SessionSendMany { kind, items }
        }
        _ => return None,
    };
    (r.pos == payload.len()).then_some(Request::Req { id, op })
}

/// The arguments of a `session_send`, after its name.
fn send(r: &mut Rd<'_>, c: &mut Canon) -> Option<Op> {
    let sid: Sid = r.uint()?;
    let kind = kind(r.atom()?)?;
    let msg = c.message(r)?;
    let inline = match r.atom()? {
        b"true" => true,
        b"false" => false,
        _ => return None,
    };
    Some(Op::SessionSend { sid, kind, msg, inline })
}

fn kind(name: &[u8]) -> Option<SendKind> {
    match name {
        b"cast" => Some(SendKind::Cast),
        b"info" => Some(SendKind::Info),
        _ => None,
    }
}

/// A reader of checked ETF bytes; every read is bounds-checked (`None`
/// past the end).
struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }

    fn u16(&mut self) -> Option<usize> {
        let s = self.take(2)?;
        Some(usize::from(u16::from_be_bytes([s[0], s[1]])))
    }

    fn u32(&mut self) -> Option<usize> {
        let s = self.take(4)?;
        usize::try_from(u32::from_be_bytes([s[0], s[1], s[2], s[3]])).ok()
    }

    /// A tuple's arity (either tuple tag).
    fn tuple(&mut self) -> Option<usize> {
        match self.u8()? {
            SMALL_TUPLE_EXT => self.u8().map(usize::from),
            LARGE_TUPLE_EXT => self.u32(),
            _ => None,
        }
    }

    /// An atom's name bytes (any of the four tags). Not checked as UTF-8:
    /// the callers compare it with ASCII names.
    fn atom(&mut self) -> Option<&'a [u8]> {
        let n = match self.u8()? {
            ATOM_EXT | ATOM_UTF8_EXT => self.u16()?,
            SMALL_ATOM_EXT | SMALL_ATOM_UTF8_EXT => usize::from(self.u8()?),
            _ => return None,
        };
        self.take(n)
    }

    /// A non-negative integer below 2^64 as `proto::uint` reads it, from
    /// `SMALL_INTEGER_EXT`, `INTEGER_EXT` or a big integer with a plus
    /// sign (a minus sign, even on zero, is left to the general path).
    fn uint(&mut self) -> Option<u64> {
        match self.u8()? {
            SMALL_INTEGER_EXT => self.u8().map(u64::from),
            INTEGER_EXT => {
                let s = self.take(4)?;
                u64::try_from(i32::from_be_bytes([s[0], s[1], s[2], s[3]])).ok()
            }
            tag @ (SMALL_BIG_EXT | LARGE_BIG_EXT) => {
                let n = if tag == SMALL_BIG_EXT { usize::from(self.u8()?) } else { self.u32()? };
                if self.u8()? != 0 {
                    return None;
                }
                let digits = self.take(n)?;
                let significant = digits.iter().rposition(|&d| d != 0).map_or(0, |i| i + 1);
                if significant > 8 {
                    return None;
                }
                Some(digits[..significant].iter().rev().fold(0u64, |v, &d| v << 8 | u64::from(d)))
            }
            _ => None,
        }
    }

    /// The length of a proper list that eetf reads as `Term::List`:
    /// `NIL_EXT` (0), or a `LIST_EXT` whose elements follow, then
    /// [`Rd::list_end`]. Strings (eetf's `ByteList`) are not: `None`.
    fn list(&mut self) -> Option<usize> {
        match self.u8()? {
            NIL_EXT => Some(0),
            // Its tail must be `[]`: read by `list_end`.
            // (An empty `LIST_EXT` is left to the general path.)
            LIST_EXT => self.u32().filter(|&n| n > 0),
            _ => None,
        }
    }

    /// The tail after the `n` elements of a [`Rd::list`]: `[]` (nothing
    /// after a `NIL_EXT`).
    fn list_end(&mut self, n: usize) -> Option<()> {
        if n == 0 || self.u8()? == NIL_EXT {
            Some(())
        } else {
            None
        }
    }
}

/// Why [`Canon`] stopped: eetf decides.
struct Bail;

/// Writes terms from their ETF bytes as [`canon::write`] writes what eetf
/// decodes from them (see the module documentation), without the tree:
/// the messages of hot frames, and the stored terms the work items for
/// executors quote (`crate::out`). Its buffers are kept from one term to
/// the next.
#[derive(Debug, Default)]
pub struct Canon {
    /// The message being written, version byte first.
    buf: Vec<u8>,
    /// Float zeros written so far (a map key holding one is left to eetf).
    zeros: usize,
    /// The pairs of the maps being written, innermost last: where a key
    /// starts, where it ends, where its value ends (in the output).
    spans: Vec<(usize, usize, usize)>,
    /// A map's pairs while they are put in order.
    tmp: Vec<u8>,
}

impl Canon {
    /// Appends to `out` the bytes [`canon::write`] writes for the term eetf
    /// decodes from `etf` (one term, version byte first; bytes after it are
    /// ignored, as eetf does). `false`, `out` unchanged, if eetf refuses
    /// the bytes.
    ///
    /// For the engine's own stored terms (well formed, nested within the
    /// frame check's depth): eetf, for what it is left, trusts its input.
    pub fn write_stored(&mut self, etf: &[u8], out: &mut Vec<u8>) -> bool {
        let at = out.len();
        self.spans.clear();
        let mut r = Rd { b: etf, pos: 0 };
        if r.u8() == Some(VERSION) && self.term(&mut r, out).is_ok() {
            return true;
        }
        out.truncate(at);
        match Term::decode(etf) {
            Ok(t) => {
                canon::write(&t, out);
                true
            }
            Err(_) => false,
        }
    }

    /// The message at the reader: its stored bytes, the reader past it.
    /// `None`: eetf refuses it too (the general path answers the frame).
    fn message(&mut self, r: &mut Rd<'_>) -> Option<Etf> {
        let start = r.pos;
        self.buf.clear();
        self.buf.push(VERSION);
        self.spans.clear();
        let mut out = std::mem::take(&mut self.buf);
        let done = self.term(r, &mut out);
        self.buf = out;
        if done.is_ok() {
            return Some(Etf::from_slice(&self.buf));
        }
        let end = crate::etf::term_end(r.b, start).ok()?;
        let mut one = Vec::with_capacity(end - start + 1);
        one.push(VERSION);
        one.extend_from_slice(r.b.get(start..end)?);
        let t = Term::decode(&one[..]).ok()?;
        r.pos = end;
        Some(canon::stored(&t))
    }

    /// Writes the term at the reader canonically to `out`.
    fn term(&mut self, r: &mut Rd<'_>, out: &mut Vec<u8>) -> Result<(), Bail> {
        let start = r.pos;
        let tag = r.u8().ok_or(Bail)?;
        // The bytes from the tag on, `n` of them, copied as they are.
        let copy = |r: &mut Rd<'_>, out: &mut Vec<u8>, n: usize| -> Result<(), Bail> {
            r.pos = start;
            out.extend_from_slice(r.take(n).ok_or(Bail)?);
            Ok(())
        };
        match tag {
            SMALL_INTEGER_EXT => copy(r, out, 2),
            INTEGER_EXT => {
                let s = r.take(4).ok_or(Bail)?;
                canon::fix_int(i32::from_be_bytes([s[0], s[1], s[2], s[3]]), out);
                Ok(())
            }
            NEW_FLOAT_EXT => {
                let s = r.take(8).ok_or(Bail)?;
                let x = f64::from_be_bytes(s.try_into().map_err(|_| Bail)?);
                if !x.is_finite() {
                    return Err(Bail);
                }
                if x == 0.0 {
                    self.zeros += 1;
                }
                copy(r, out, 9)
            }
            ATOM_EXT | ATOM_UTF8_EXT | SMALL_ATOM_EXT | SMALL_ATOM_UTF8_EXT => {
                r.pos = start;
                atom(r, out)
            }
            SMALL_TUPLE_EXT | LARGE_TUPLE_EXT => {
                r.pos = start;
                let n = r.tuple().ok_or(Bail)?;
                match u8::try_from(n) {
                    Ok(n) => out.extend_from_slice(&[SMALL_TUPLE_EXT, n]),
                    Err(_) => {
                        out.push(LARGE_TUPLE_EXT);
                        out.extend_from_slice(&(n as u32).to_be_bytes());
                    }
                }
                (0..n).try_for_each(|_| self.term(r, out))
            }
            NIL_EXT => copy(r, out, 1),
            STRING_EXT => {
                let n = r.u16().ok_or(Bail)?;
                copy(r, out, 3 + n)
            }
            LIST_EXT => self.list(r, out),
            MAP_EXT => self.map(r, out),
            BINARY_EXT => {
                let n = r.u32().ok_or(Bail)?;
                copy(r, out, 5 + n)
            }
            BIT_BINARY_EXT => {
                let n = r.u32().ok_or(Bail)?;
                let bits = r.u8().ok_or(Bail)?;
                if n == 0 || !(1..=8).contains(&bits) {
                    return Err(Bail);
                }
                copy(r, out, 6 + n)?;
                // eetf keeps the last byte shifted down to its `bits` and
                // shifts it back up: the unused low bits come back zero.
                let last = out.last_mut().ok_or(Bail)?;
                *last &= 0xFF << (8 - bits);
                Ok(())
            }
            SMALL_BIG_EXT | LARGE_BIG_EXT => {
                let n = if tag == SMALL_BIG_EXT { r.u8().map(usize::from) } else { r.u32() }.ok_or(Bail)?;
                let sign = r.u8().ok_or(Bail)?;
                let digits = r.take(n).ok_or(Bail)?;
                if sign > 1 {
                    return Err(Bail);
                }
                // As num-bigint gives them back: no high zero digits, zero
                // as one zero digit with a plus sign.
                let m = digits.iter().rposition(|&d| d != 0).map_or(0, |i| i + 1);
                if m == 0 {
                    out.extend_from_slice(&[SMALL_BIG_EXT, 1, 0, 0]);
                    return Ok(());
                }
                match u8::try_from(m) {
                    Ok(len) => out.extend_from_slice(&[SMALL_BIG_EXT, len, sign]),
                    Err(_) => {
                        out.push(LARGE_BIG_EXT);
                        out.extend_from_slice(&(m as u32).to_be_bytes());
                        out.push(sign);
                    }
                }
                out.extend_from_slice(&digits[..m]);
                Ok(())
            }
            // eetf's `Pid`: node, id, serial, creation (32 bits).
            NEW_PID_EXT | PID_EXT => {
                out.push(NEW_PID_EXT);
                atom(r, out)?;
                out.extend_from_slice(r.take(8).ok_or(Bail)?);
                creation(r, out, tag == NEW_PID_EXT)
            }
            // eetf's `Reference`: node, creation (32 bits), ids.
            NEWER_REFERENCE_EXT | NEW_REFERENCE_EXT => {
                let words = r.u16().ok_or(Bail)?;
                out.push(NEWER_REFERENCE_EXT);
                out.extend_from_slice(&(words as u16).to_be_bytes());
                atom(r, out)?;
                creation(r, out, tag == NEWER_REFERENCE_EXT)?;
                out.extend_from_slice(r.take(4 * words).ok_or(Bail)?);
                Ok(())
            }
            REFERENCE_EXT => {
                out.extend_from_slice(&[NEWER_REFERENCE_EXT, 0, 1]);
                atom(r, out)?;
                let id = r.take(4).ok_or(Bail)?;
                creation(r, out, false)?;
                out.extend_from_slice(id);
                Ok(())
            }
            // eetf's `Port`: node, id (64 bits), creation (32 bits);
            // written as `NEW_PORT_EXT` when the id fits 32 bits.
            PORT_EXT | NEW_PORT_EXT => {
                out.push(NEW_PORT_EXT);
                atom(r, out)?;
                out.extend_from_slice(r.take(4).ok_or(Bail)?);
                creation(r, out, tag == NEW_PORT_EXT)
            }
            V4_PORT_EXT => {
                let at = out.len();
                out.push(V4_PORT_EXT);
                atom(r, out)?;
                let id = r.take(8).ok_or(Bail)?;
                if id[..4] == [0; 4] {
                    out[at] = NEW_PORT_EXT;
                    out.extend_from_slice(&id[4..]);
                } else {
                    out.extend_from_slice(id);
                }
                creation(r, out, true)
            }
            // The textual FLOAT_EXT (eetf reads it as an `f32`), funs and
            // whatever else: eetf.
            _ => Err(Bail),
        }
    }

    /// A `LIST_EXT` (its tag read): as eetf decodes it and `canon` writes
    /// it back: `[]` when it has no elements and ends in `[]`, a string
    /// when it ends in `[]` and every element is an integer in 0..=255,
    /// else its elements and its tail.
    fn list(&mut self, r: &mut Rd<'_>, out: &mut Vec<u8>) -> Result<(), Bail> {
        let n = r.u32().ok_or(Bail)?;
        let head = out.len();
        out.push(LIST_EXT);
        out.extend_from_slice(&(n as u32).to_be_bytes());
        let mut bytes = n <= usize::from(u16::MAX);
        for _ in 0..n {
            let at = out.len();
            self.term(r, out)?;
            // eetf's `FixInteger` in 0..=255 is exactly what writes so.
            bytes = bytes && out.len() - at == 2 && out[at] == SMALL_INTEGER_EXT;
        }
        let tail = out.len();
        self.term(r, out)?;
        // A tail eetf reads as an empty `List` (written `[]` here) makes a
        // proper list.
        if out[tail..] != [NIL_EXT] {
            return Ok(());
        }
        if n == 0 {
            out.truncate(head);
            out.push(NIL_EXT);
        } else if bytes {
            out[head] = STRING_EXT;
            out[head + 1..head + 3].copy_from_slice(&(n as u16).to_be_bytes());
            for i in 0..n {
                out[head + 3 + i] = out[head + 6 + 2 * i];
            }
            out.truncate(head + 3 + n);
        }
        Ok(())
    }

    /// A `MAP_EXT` (its tag read): its pairs sorted by their keys' written
    /// bytes. Two keys written alike (eetf would have kept one pair, or two
    /// that `canon` writes alike: a string and a list of small integers),
    /// or a key holding a float zero: eetf.
    fn map(&mut self, r: &mut Rd<'_>, out: &mut Vec<u8>) -> Result<(), Bail> {
        let n = r.u32().ok_or(Bail)?;
        out.push(MAP_EXT);
        out.extend_from_slice(&(n as u32).to_be_bytes());
        let body = out.len();
        // This map's pairs are `spans[base..]` (maps inside them push
        // theirs above and take them off before they return).
        let base = self.spans.len();
        let mut sorted = true;
        for _ in 0..n {
            let (ks, zeros) = (out.len(), self.zeros);
            self.term(r, out)?;
            if self.zeros != zeros {
                return Err(Bail);
            }
            let ke = out.len();
            self.term(r, out)?;
            if let Some(&(ps, pe, _)) = self.spans[base..].last() {
                sorted = sorted && out[ps..pe] < out[ks..ke];
            }
            self.spans.push((ks, ke, out.len()));
        }
        if !sorted {
            let pairs = &mut self.spans[base..];
            pairs.sort_unstable_by(|a, b| out[a.0..a.1].cmp(&out[b.0..b.1]));
            if pairs.windows(2).any(|w| out[w[0].0..w[0].1] == out[w[1].0..w[1].1]) {
                return Err(Bail);
            }
            self.tmp.clear();
            for &(ks, _, pe) in &*pairs {
                self.tmp.extend_from_slice(&out[ks..pe]);
            }
            out.truncate(body);
            out.extend_from_slice(&self.tmp);
        }
        self.spans.truncate(base);
        Ok(())
    }
}

/// An atom (tag included), as eetf writes it back: its name must be UTF-8
/// (eetf reads the Latin-1 tags as UTF-8 too).
fn atom(r: &mut Rd<'_>, out: &mut Vec<u8>) -> Result<(), Bail> {
    let name = r.atom().ok_or(Bail)?;
    if !name.is_ascii() && std::str::from_utf8(name).is_err() {
        return Err(Bail);
    }
    canon::atom(name, out);
    Ok(())
}

/// A creation field written as 32 bits (`wide`: it is; else one byte).
fn creation(r: &mut Rd<'_>, out: &mut Vec<u8>, wide: bool) -> Result<(), Bail> {
    if wide {
        out.extend_from_slice(r.take(4).ok_or(Bail)?);
    } else {
        out.extend_from_slice(&[0, 0, 0, r.u8().ok_or(Bail)?]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(bytes: &[u8]) -> Vec<u8> {
        let mut frame = vec![131, 104, 3, 119, 3, b'r', b'e', b'q', 97, 1];
        frame.extend_from_slice(&[104, 5, 119, 12]);
        frame.extend_from_slice(b"session_send");
        frame.extend_from_slice(&[97, 7, 119, 4]);
        frame.extend_from_slice(b"cast");
        frame.extend_from_slice(&bytes[1..]);
        frame.extend_from_slice(&[119, 5]);
        frame.extend_from_slice(b"false");
        crate::etf::check(&frame, Default::default()).unwrap();
        match decode(&frame) {
            Some(Request::Req { op: Op::SessionSend { msg, .. }, .. }) => msg.as_bytes().to_vec(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn test_messages_stored_as_canon_writes_them() {
        let cases: &[&[u8]] = &[
            // OTP 25's {button, 1}.
            &[131, 104, 2, 100, 0, 6, b'b', b'u', b't', b't', b'o', b'n', 97, 1],
            // [1, 2] as a LIST_EXT of INTEGER_EXTs: a string.
            &[131, 108, 0, 0, 0, 2, 98, 0, 0, 0, 1, 98, 0, 0, 0, 2, 106],
            // [-5]: not a string.
            &[131, 108, 0, 0, 0, 1, 98, 255, 255, 255, 251, 106],
            // A list ending in an empty LIST_EXT: proper.
            &[131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 0, 106],
            // #{b => 1, a => 2}: sorted.
            &[131, 116, 0, 0, 0, 2, 100, 0, 1, b'b', 97, 1, 100, 0, 1, b'a', 97, 2],
            // A big zero with a minus sign; 5 as a big.
            &[131, 104, 2, 110, 2, 1, 0, 0, 111, 0, 0, 0, 2, 0, 5, 0],
            // A bitstring with bits below its tail; a PID_EXT.
            &[131, 104, 2, 77, 0, 0, 0, 1, 3, 0xFF, 103, 100, 0, 1, b'n', 0, 0, 0, 1, 0, 0, 0, 2, 3],
        ];
        for b in cases {
            let t = Term::decode(*b).unwrap();
            assert_eq!(stored(b), canon::encode(&t), "{b:?}");
        }
    }
}
