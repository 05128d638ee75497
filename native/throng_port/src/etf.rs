//! The guard in front of `eetf`: a structural check of one frame's ETF bytes
//! before anything is decoded.
//!
//! `eetf::Term::decode` trusts its input in ways a port program cannot:
//!
//! * it panics (`unimplemented!`) on `DISTRIBUTION_HEADER` (68) and
//!   `ATOM_CACHE_REF` (82);
//! * it reserves `Vec::with_capacity(count)` with the count read from the
//!   input, so a 10-byte frame can ask for gigabytes;
//! * it recurses once per nesting level, so a frame of nested tuples
//!   overflows the stack (an abort, not a panic);
//! * it shifts by `8 - tail_bits` in `BIT_BINARY_EXT`, which overflows on a
//!   tail of 0 or more than 8 bits;
//! * it inflates `COMPRESSED_TERM` (80) without a bound.
//!
//! [`check`] walks the bytes without recursion and without allocating more
//! than one small stack entry per open compound term. It accepts only terms
//! that end exactly at the end of the frame, whose every declared length fits
//! in the bytes that follow, nest at most `max_depth` deep and hold at most
//! `max_terms` terms. After it, decoding allocates at most a constant factor
//! of `max_terms` and recurses at most `max_depth` deep.
//!
//! All four atom tags are accepted (`ATOM_EXT` 100 is what OTP 25's
//! `term_to_binary/1` writes for Latin-1 atoms), as are integers of any size
//! (eetf gives `BigInteger` beyond `i32`), pids, ports, references, export
//! and new funs: they are opaque payload to the port and go back unchanged.
//! Refused: compressed terms (the sender must not use `term_to_binary/2`'s
//! `compressed` option), the distribution header, atom cache references, the
//! old `FUN_EXT` (117, not written since OTP R8) and `LOCAL_EXT` (121).

/// Why a frame's bytes are not a term the port accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EtfError {
    /// The frame is empty or does not start with the version byte 131.
    Version,
    /// A length or count points past the end of the frame.
    Truncated,
    /// The term ends before the frame does.
    TrailingBytes,
    /// A tag the port does not accept (see the module documentation).
    UnsupportedTag(u8),
    /// Nested deeper than the limit.
    TooDeep,
    /// More terms than the limit.
    TooManyTerms,
    /// A `BIT_BINARY_EXT` whose tail is not 1..=8 bits.
    BadBitBinary,
    /// An atom longer than the BEAM allows (255 characters: 255 bytes of
    /// Latin-1, at most 1020 of UTF-8).
    AtomTooLong,
    /// The structure is fine but eetf refused a value (bad UTF-8 in an
    /// atom, a bad sign byte, a non-finite float, ...).
    Invalid,
}

/// Limits for [`check`].
#[derive(Debug, Clone, Copy)]
pub struct EtfLimits {
    /// Maximum nesting of compound terms.
    pub max_depth: usize,
    /// Maximum number of terms (every element counts, at every level).
    pub max_terms: usize,
}

impl Default for EtfLimits {
    fn default() -> Self {
        EtfLimits { max_depth: DEFAULT_MAX_DEPTH, max_terms: DEFAULT_MAX_TERMS }
    }
}

/// Default nesting limit: deep enough for any protocol frame and for
/// ordinary user data, shallow enough for eetf's recursion on a 2 MiB
/// thread stack in a debug build.
pub const DEFAULT_MAX_DEPTH: usize = 512;
/// Default term-count limit: a decoded term costs at most about 64 bytes
/// plus its own bytes, so about 64 MiB at worst.
pub const DEFAULT_MAX_TERMS: usize = 1 << 20;

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn left(&self) -> usize {
        self.b.len() - self.pos
    }
    fn skip(&mut self, n: usize) -> Result<(), EtfError> {
        if n > self.left() {
            return Err(EtfError::Truncated);
        }
        self.pos += n;
        Ok(())
    }
    fn u8(&mut self) -> Result<u8, EtfError> {
        let v = *self.b.get(self.pos).ok_or(EtfError::Truncated)?;
        self.pos += 1;
        Ok(v)
    }
    fn u16(&mut self) -> Result<usize, EtfError> {
        Ok(usize::from(self.u8()?) << 8 | usize::from(self.u8()?))
    }
    fn u32(&mut self) -> Result<usize, EtfError> {
        let mut v = 0usize;
        for _ in 0..4 {
            v = v << 8 | usize::from(self.u8()?);
        }
        Ok(v)
    }
    /// `n` following terms of at least one byte each must fit.
    fn fits(&self, n: usize) -> Result<usize, EtfError> {
        if n > self.left() {
            Err(EtfError::Truncated)
        } else {
            Ok(n)
        }
    }
    /// An atom in a position where only an atom may be (a pid's node).
    fn atom(&mut self) -> Result<(), EtfError> {
        match self.u8()? {
            tag @ (ATOM_EXT | ATOM_UTF8_EXT) => {
                let n = self.u16()?;
                if n > if tag == ATOM_EXT { 255 } else { 1020 } {
                    return Err(EtfError::AtomTooLong);
                }
                self.skip(n)
            }
            SMALL_ATOM_EXT | SMALL_ATOM_UTF8_EXT => {
                let n = usize::from(self.u8()?);
                self.skip(n)
            }
            t => Err(EtfError::UnsupportedTag(t)),
        }
    }
}

use throng_beam::term::tag::*;

/// Checks that `bytes` is exactly one term (with its version byte) that
/// eetf can decode within `limits`.
pub fn check(bytes: &[u8], limits: EtfLimits) -> Result<(), EtfError> {
    let mut c = Cursor { b: bytes, pos: 0 };
    if c.u8().map_err(|_| EtfError::Version)? != VERSION {
        return Err(EtfError::Version);
    }
    // Terms still to read at each open level; the bottom entry is the
    // frame's one term.
    let mut stack: Vec<usize> = vec![1];
    let mut terms = 0usize;
    while let Some(top) = stack.last_mut() {
        if *top == 0 {
            stack.pop();
            continue;
        }
        *top -= 1;
        terms += 1;
        if terms > limits.max_terms {
            return Err(EtfError::TooManyTerms);
        }
        let children = term(&mut c)?;
        if children > 0 {
            if stack.len() >= limits.max_depth {
                return Err(EtfError::TooDeep);
            }
            stack.push(children);
        }
    }
    if c.left() != 0 {
        return Err(EtfError::TrailingBytes);
    }
    Ok(())
}

/// Where the term that starts at `start` ends, walked as [`check`] walks
/// it (no limits: for bytes [`check`] has already accepted, to find a
/// subterm's extent).
pub fn term_end(bytes: &[u8], start: usize) -> Result<usize, EtfError> {
    if start > bytes.len() {
        return Err(EtfError::Truncated);
    }
    let mut c = Cursor { b: bytes, pos: start };
    // Terms still to pass; each pass reads at least one byte.
    let mut todo = 1usize;
    while todo > 0 {
        todo = (todo - 1).saturating_add(term(&mut c)?);
    }
    Ok(c.pos)
}

/// Reads one term's own bytes; returns how many terms follow as its
/// children.
fn term(c: &mut Cursor<'_>) -> Result<usize, EtfError> {
    let tag = c.u8()?;
    match tag {
        SMALL_INTEGER_EXT => c.skip(1).map(|_| 0),
        INTEGER_EXT => c.skip(4).map(|_| 0),
        NEW_FLOAT_EXT => c.skip(8).map(|_| 0),
        FLOAT_EXT => c.skip(31).map(|_| 0),
        ATOM_EXT | ATOM_UTF8_EXT | SMALL_ATOM_EXT | SMALL_ATOM_UTF8_EXT => {
            c.pos -= 1;
            c.atom().map(|_| 0)
        }
        SMALL_TUPLE_EXT => {
            let n = usize::from(c.u8()?);
            c.fits(n)
        }
        LARGE_TUPLE_EXT => {
            let n = c.u32()?;
            c.fits(n)
        }
        NIL_EXT => Ok(0),
        STRING_EXT => {
            let n = c.u16()?;
            c.skip(n).map(|_| 0)
        }
        // The elements and the tail.
        LIST_EXT => {
            let n = c.u32()?;
            c.fits(n.saturating_add(1))
        }
        MAP_EXT => {
            let n = c.u32()?;
            c.fits(n.saturating_mul(2))
        }
        BINARY_EXT => {
            let n = c.u32()?;
            c.skip(n).map(|_| 0)
        }
        BIT_BINARY_EXT => {
            let n = c.u32()?;
            let bits = c.u8()?;
            if !(1..=8).contains(&bits) || n == 0 {
                return Err(EtfError::BadBitBinary);
            }
            c.skip(n).map(|_| 0)
        }
        SMALL_BIG_EXT => {
            let n = usize::from(c.u8()?);
            c.skip(1 + n).map(|_| 0)
        }
        LARGE_BIG_EXT => {
            let n = c.u32()?;
            c.skip(n.saturating_add(1)).map(|_| 0)
        }
        PID_EXT => {
            c.atom()?;
            c.skip(9).map(|_| 0)
        }
        NEW_PID_EXT => {
            c.atom()?;
            c.skip(12).map(|_| 0)
        }
        PORT_EXT => {
            c.atom()?;
            c.skip(5).map(|_| 0)
        }
        NEW_PORT_EXT => {
            c.atom()?;
            c.skip(8).map(|_| 0)
        }
        V4_PORT_EXT => {
            c.atom()?;
            c.skip(12).map(|_| 0)
        }
        REFERENCE_EXT => {
            c.atom()?;
            c.skip(5).map(|_| 0)
        }
        NEW_REFERENCE_EXT | NEWER_REFERENCE_EXT => {
            let n = c.u16()?;
            c.atom()?;
            let creation = if tag == NEW_REFERENCE_EXT { 1 } else { 4 };
            c.skip(creation + 4 * n).map(|_| 0)
        }
        // Module, Function (atoms), Arity (small integer).
        EXPORT_EXT => Ok(3),
        // Size, Arity, Uniq, Index, NumFree; then Module, OldIndex,
        // OldUniq, Pid and NumFree free variables, all terms.
        NEW_FUN_EXT => {
            c.skip(4 + 1 + 16 + 4)?;
            let free = c.u32()?;
            c.fits(free.saturating_add(4))
        }
        t => Err(EtfError::UnsupportedTag(t)),
    }
}

/// The frame with every Latin-1 atom (`ATOM_EXT`, `SMALL_ATOM_EXT`) that
/// has a character above 127 rewritten as the same atom in UTF-8
/// (`ATOM_UTF8_EXT` or `SMALL_ATOM_UTF8_EXT`); `None` when there is none
/// (the common case: ASCII atoms read the same either way).
///
/// *Why.* OTP 25's `term_to_binary/1` writes an atom such as `'café'` with
/// `ATOM_EXT` and its Latin-1 bytes; eetf (and `throng_beam::term`) read
/// those bytes as UTF-8 and would refuse the frame. For bytes [`check`]
/// has accepted. Atoms inside pids, ports and references (node names) are
/// left as they are.
pub fn utf8_atoms(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut found: Vec<(usize, usize, usize)> = Vec::new();
    let mut c = Cursor { b: bytes, pos: 1 };
    let mut todo = 1usize;
    while todo > 0 && c.left() > 0 {
        let at = c.pos;
        let (name_at, len) = match bytes[at] {
            ATOM_EXT => (at + 3, bytes.get(at + 1..at + 3).map_or(0, |n| usize::from(n[0]) << 8 | usize::from(n[1]))),
            SMALL_ATOM_EXT => (at + 1 + 1, bytes.get(at + 1).map_or(0, |&n| usize::from(n))),
            _ => (0, 0),
        };
        if len > 0 && bytes.get(name_at..name_at + len).is_some_and(|n| n.iter().any(|&b| b >= 0x80)) {
            found.push((at, name_at, len));
        }
        todo = (todo - 1).saturating_add(term(&mut c).ok()?);
    }
    if found.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() + found.iter().map(|f| f.2).sum::<usize>() + 2 * found.len());
    let mut from = 0;
    for (at, name_at, len) in found {
        out.extend_from_slice(&bytes[from..at]);
        let name: String = bytes[name_at..name_at + len].iter().map(|&b| char::from(b)).collect();
        match u8::try_from(name.len()) {
            Ok(n) => out.extend_from_slice(&[SMALL_ATOM_UTF8_EXT, n]),
            Err(_) => {
                out.push(ATOM_UTF8_EXT);
                out.extend_from_slice(&(name.len() as u16).to_be_bytes());
            }
        }
        out.extend_from_slice(name.as_bytes());
        from = name_at + len;
    }
    out.extend_from_slice(&bytes[from..]);
    Some(out)
}

/// Checks, then decodes with eetf.
pub fn decode(bytes: &[u8], limits: EtfLimits) -> Result<eetf::Term, EtfError> {
    check(bytes, limits)?;
    eetf::Term::decode(bytes).map_err(|_| EtfError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_latin1_atoms_become_utf8() {
        // {'café', ok, <<"é">>, 'é' as a small atom}: OTP 25's bytes.
        let b = [
            131, 104, 4, 100, 0, 4, b'c', b'a', b'f', 0xe9, 100, 0, 2, b'o', b'k', 109, 0, 0, 0, 1, 0xe9, 115, 1, 0xe9,
        ];
        assert_eq!(check(&b, EtfLimits::default()), Ok(()));
        let fixed = utf8_atoms(&b).unwrap();
        let t = decode(&fixed, EtfLimits::default()).unwrap();
        let want = eetf::Term::from(eetf::Tuple::from(vec![
            eetf::Term::from(eetf::Atom::from("café")),
            eetf::Term::from(eetf::Atom::from("ok")),
            eetf::Term::from(eetf::Binary::from(vec![0xe9])),
            eetf::Term::from(eetf::Atom::from("é")),
        ]));
        assert_eq!(t, want);
        // ASCII atoms (and a 0xe9 byte in a binary) need nothing.
        assert_eq!(utf8_atoms(&[131, 104, 2, 100, 0, 2, b'o', b'k', 109, 0, 0, 0, 1, 0xe9]), None);
        // A 255-character Latin-1 atom becomes 510 bytes of UTF-8.
        let mut long = vec![131, 100, 0, 255];
        long.extend(std::iter::repeat_n(0xe9, 255));
        let fixed = utf8_atoms(&long).unwrap();
        assert_eq!(&fixed[..4], &[131, ATOM_UTF8_EXT, 1, 254]);
        assert_eq!(decode(&fixed, EtfLimits::default()).unwrap(), eetf::Term::from(eetf::Atom::from("é".repeat(255))));
    }

    fn ok(b: &[u8]) -> Result<(), EtfError> {
        check(b, EtfLimits::default())
    }

    #[test]
    fn test_atoms_of_all_four_tags() {
        for b in [
            &[131, 100, 0, 2, b'o', b'k'][..],
            &[131, 115, 2, b'o', b'k'],
            &[131, 118, 0, 2, b'o', b'k'],
            &[131, 119, 2, b'o', b'k'],
        ] {
            assert_eq!(ok(b), Ok(()));
            let t = decode(b, EtfLimits::default()).unwrap();
            assert_eq!(t, eetf::Term::from(eetf::Atom::from("ok")));
        }
    }

    #[test]
    fn test_refuses_what_eetf_would_panic_on() {
        assert_eq!(ok(&[131, 82, 0]), Err(EtfError::UnsupportedTag(82)));
        assert_eq!(ok(&[131, 68, 0]), Err(EtfError::UnsupportedTag(68)));
        assert_eq!(ok(&[131, 80, 0, 0, 0, 1, 120]), Err(EtfError::UnsupportedTag(80)));
        assert_eq!(ok(&[131, 77, 0, 0, 0, 1, 0, 255]), Err(EtfError::BadBitBinary));
        assert_eq!(ok(&[131, 77, 0, 0, 0, 1, 9, 255]), Err(EtfError::BadBitBinary));
        // A list claiming 2^32-1 elements in a 10-byte frame.
        assert_eq!(ok(&[131, 108, 255, 255, 255, 255, 106]), Err(EtfError::Truncated));
        // A Latin-1 atom of 256 bytes (eetf would make 512 bytes of UTF-8
        // from 256 bytes of 0xFF, and could not encode 65535 of them).
        let mut b = vec![131, 100, 1, 0];
        b.extend([0xFF; 256]);
        assert_eq!(ok(&b), Err(EtfError::AtomTooLong));
    }

    #[test]
    fn test_depth_and_terms_limits() {
        let mut b = vec![131];
        for _ in 0..600 {
            b.extend([104, 1]);
        }
        b.push(106);
        assert_eq!(ok(&b), Err(EtfError::TooDeep));
        let lim = EtfLimits { max_depth: 8, max_terms: 3 };
        assert_eq!(check(&[131, 104, 3, 106, 106, 106], lim), Err(EtfError::TooManyTerms));
    }

    #[test]
    fn test_trailing_bytes() {
        assert_eq!(ok(&[131, 106, 106]), Err(EtfError::TrailingBytes));
        assert_eq!(ok(&[]), Err(EtfError::Version));
        assert_eq!(ok(&[130, 106]), Err(EtfError::Version));
    }

    #[test]
    fn test_nested_to_the_limit_decodes_on_a_test_thread() {
        let mut b = vec![131];
        for _ in 0..DEFAULT_MAX_DEPTH - 1 {
            b.extend([104, 1]);
        }
        b.push(106);
        assert!(decode(&b, EtfLimits::default()).is_ok());
    }
}
