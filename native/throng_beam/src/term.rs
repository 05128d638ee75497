//! Reading and writing External Term Format bytes without a term library.
//!
//! *Why.* Rust "native machines" keep their state, data and messages as
//! [`Etf`] bytes, like every term in the engine. They run inside the NIF
//! and inside the port, so they can use neither rustler nor eetf, and they
//! read far more than they write: a transition looks at an event (a tuple,
//! an atom, a few integers), and keeps most of the data as it is.
//!
//! *Reading* is zero-copy and allocation-free. [`read`] checks the whole
//! term once (every length within the input, every atom valid UTF-8, the
//! nesting at most [`MAX_DEPTH`] deep, nothing after the term) and returns
//! a [`Val`]: the term's encoded bytes, which are decoded on demand. A
//! [`Seq`] (a tuple's, list's or map's elements) is lazy: its iterator
//! finds each element's end as it goes, so it never fails and never
//! allocates. Every `Val`, elements included, keeps its encoded slice
//! ([`Val::raw`]), so a part of a term (a pid, a sub-term of the data) can
//! be kept or written again as it is, byte for byte. [`read_etf`] reads an
//! [`Etf`] the engine holds without the check (the hosts checked it when
//! they accepted it, or a [`Writer`] wrote it): a machine that looks at
//! one field of its data pays for that field, not for the whole term.
//!
//! *Writing.* [`Writer`] appends one term's encoding to a `Vec<u8>`. Its
//! leaves are written as OTP 25's `term_to_binary/1` writes them (atoms,
//! integers, floats, binaries). Its containers are written as the caller
//! lays them out: [`Writer::list`] never turns a list of small integers into
//! a string as `term_to_binary` does ([`Writer::int_list`] and
//! [`Writer::string`] do). The engine compares stored terms byte for byte
//! (see [`crate::etf`]), so what matters is that a machine always writes
//! one value the same way; bytes written here are equal to the VM's own
//! only where the caller picks the VM's layout.
//!
//! *What reading checks.* The structure: tags, lengths, atom names, finite
//! floats, the fields of pids, ports, references and funs. It does not
//! check what only the VM knows (whether a map's keys are distinct, whether
//! a local pid or reference exists), and it rejects compressed terms (tag
//! 80), the distribution's atom cache references (82) and the old `FUN_EXT`
//! (117, which OTP 25 rejects too).
#![warn(missing_docs)]

use std::fmt;

use crate::Etf;

/// How many containers a term read by [`read`] may be nested in.
pub const MAX_DEPTH: usize = 512;

/// The External Term Format's tags (OTP's `erl_ext_dist`), for every
/// reader and writer of ETF in the project.
#[allow(missing_docs)]
pub mod tag {
    pub const VERSION: u8 = 131;
    pub const COMPRESSED: u8 = 80;
    pub const NEW_FLOAT_EXT: u8 = 70;
    pub const BIT_BINARY_EXT: u8 = 77;
    pub const NEW_PID_EXT: u8 = 88;
    pub const NEW_PORT_EXT: u8 = 89;
    pub const NEWER_REFERENCE_EXT: u8 = 90;
    pub const SMALL_INTEGER_EXT: u8 = 97;
    pub const INTEGER_EXT: u8 = 98;
    pub const FLOAT_EXT: u8 = 99;
    pub const ATOM_EXT: u8 = 100;
    pub const REFERENCE_EXT: u8 = 101;
    pub const PORT_EXT: u8 = 102;
    pub const PID_EXT: u8 = 103;
    pub const SMALL_TUPLE_EXT: u8 = 104;
    pub const LARGE_TUPLE_EXT: u8 = 105;
    pub const NIL_EXT: u8 = 106;
    pub const STRING_EXT: u8 = 107;
    pub const LIST_EXT: u8 = 108;
    pub const BINARY_EXT: u8 = 109;
    pub const SMALL_BIG_EXT: u8 = 110;
    pub const LARGE_BIG_EXT: u8 = 111;
    pub const NEW_FUN_EXT: u8 = 112;
    pub const EXPORT_EXT: u8 = 113;
    pub const NEW_REFERENCE_EXT: u8 = 114;
    pub const SMALL_ATOM_EXT: u8 = 115;
    pub const MAP_EXT: u8 = 116;
    pub const ATOM_UTF8_EXT: u8 = 118;
    pub const SMALL_ATOM_UTF8_EXT: u8 = 119;
    pub const V4_PORT_EXT: u8 = 120;
}

use tag::*;

/// Most ID words a reference may have.
const MAX_REF_WORDS: usize = 5;

/// `[]`, for the tail of proper lists that have no `NIL_EXT` of their own.
const NIL: &[u8] = &[NIL_EXT];

/// The encodings of 0..=255, for the elements of a `STRING_EXT`, which
/// have none of their own in the input.
static SMALL_INTS: [[u8; 2]; 256] = small_ints();

const fn small_ints() -> [[u8; 2]; 256] {
    let mut t = [[SMALL_INTEGER_EXT, 0]; 256];
    let mut i = 0;
    while i < 256 {
        t[i][1] = i as u8;
        i += 1;
    }
    t
}

// ---------------------------------------------------------------------------
// Errors

/// Why bytes are not one well-formed term (see [`read`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BadTerm {
    /// The input does not start with the version byte 131.
    Version,
    /// The input ends inside a term (or a length goes past its end).
    Truncated,
    /// Bytes follow the term.
    Trailing,
    /// Containers nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// A compressed term (tag 80): not supported.
    Compressed,
    /// A tag that is not a term's (or one not supported: 82, 117).
    Tag(u8),
    /// A latin-1 atom name (tags 100, 115) with a byte of 128 or more: its
    /// name is not UTF-8, so it cannot be read as a `&str` without a copy.
    /// `term_to_binary` writes such atoms (`'é'`) so; they are rare.
    Latin1Atom,
    /// A field out of range: an atom of more than 255 characters or not in
    /// UTF-8, a float that is not finite, a bit count over 8, an empty
    /// `LIST_EXT`, a fun whose size does not match its fields, and such.
    Malformed,
}

impl fmt::Display for BadTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BadTerm::Version => f.write_str("not an external term (no version byte 131)"),
            BadTerm::Truncated => f.write_str("external term truncated"),
            BadTerm::Trailing => f.write_str("bytes after the external term"),
            BadTerm::TooDeep => write!(f, "external term nested deeper than {MAX_DEPTH}"),
            BadTerm::Compressed => f.write_str("compressed external term"),
            BadTerm::Tag(t) => write!(f, "unsupported external term tag {t}"),
            BadTerm::Latin1Atom => f.write_str("latin-1 atom name that is not UTF-8"),
            BadTerm::Malformed => f.write_str("malformed external term"),
        }
    }
}

impl std::error::Error for BadTerm {}

// ---------------------------------------------------------------------------
// Reading

/// Reads `etf` (starting with the version byte 131), which must be exactly
/// one term.
///
/// The whole term is checked here, once, so that nothing read from the
/// returned [`Val`] afterwards can fail. Nothing is copied or allocated.
/// For the engine's own terms, [`read_etf`] skips the check.
pub fn read(etf: &[u8]) -> Result<Val<'_>, BadTerm> {
    let (&version, body) = etf.split_first().ok_or(BadTerm::Version)?;
    if version != VERSION {
        return Err(BadTerm::Version);
    }
    let mut c = Check { b: body, pos: 0 };
    c.term(0)?;
    if c.pos != body.len() {
        return Err(BadTerm::Trailing);
    }
    Ok(Val { raw: body })
}

/// Reads an [`Etf`] the engine holds (a session's state or data, an
/// event's content, a start's arguments) without checking it again.
///
/// Such terms are well-formed: the hosts check every term they accept
/// (the NIF's come from the VM's `term_to_binary`, the port program checks
/// each frame) and a [`Writer`] writes well-formed terms from well-formed
/// parts. So only the version byte is looked at here, and a machine pays
/// for the parts it reads, not for the whole term on every event. Bytes
/// that are not a well-formed term (an [`Etf::from_bytes`] of anything
/// else) read as wrong or [`Kind::Other`] values, never as a panic or a
/// read out of bounds. Bytes from elsewhere go through [`read`].
pub fn read_etf(etf: &Etf) -> Result<Val<'_>, BadTerm> {
    match etf.as_bytes().split_first() {
        Some((&VERSION, body)) if !body.is_empty() => Ok(Val { raw: body }),
        _ => Err(BadTerm::Version),
    }
}

/// One term, checked by [`read`]: its encoded bytes (without the version
/// byte), decoded on demand.
///
/// A `Val` is a slice (two words) and `Copy`. Look at it with [`Val::kind`]
/// (`match v.kind() { Kind::Atom("locked") => …, Kind::Int(n) => …, … }`),
/// with the `as_*` and `is_*` accessors, or with [`Val::tuple`] for tuples
/// of a known size:
///
/// ```
/// use throng_beam::term::read;
/// let bytes = [131, 104, 2, 100, 0, 6, b'b', b'u', b't', b't', b'o', b'n', 97, 1];
/// let v = read(&bytes).unwrap();
/// let digit = match v.tuple() {
///     Some([tag, n]) if tag.is_atom("button") => n.as_int(),
///     _ => None,
/// };
/// assert_eq!(digit, Some(1));
/// ```
///
/// Equality (and hashing) is that of the encodings, as for [`Etf`]: one
/// atom written with two different tags makes two different `Val`s.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Val<'a> {
    /// Exactly one checked term.
    raw: &'a [u8],
}

/// What a [`Val`] is: [`Val::kind`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind<'a> {
    /// An atom (any of the four atom tags). Latin-1 names with bytes of 128
    /// or more never get here: [`read`] fails on them
    /// ([`BadTerm::Latin1Atom`]).
    Atom(&'a str),
    /// An integer that fits an `i64` (`SMALL_INTEGER_EXT`, `INTEGER_EXT`,
    /// or a big one that fits); larger ones are [`Kind::Other`].
    Int(i64),
    /// A float (`NEW_FLOAT_EXT` or the old textual `FLOAT_EXT`); always
    /// finite.
    Float(f64),
    /// A binary (`BINARY_EXT`). Bitstrings are [`Kind::Other`].
    Binary(&'a [u8]),
    /// A tuple's elements.
    Tuple(Seq<'a>),
    /// A list: `[]`, a string (`STRING_EXT`, whose elements are
    /// [`Kind::Int`]s), or a `LIST_EXT`, proper or not ([`Seq::tail`]).
    List(Seq<'a>),
    /// A map's keys and values, alternating: key, value, key, value… (see
    /// [`Seq::pairs`]), in the order of the encoding.
    Map(Seq<'a>),
    /// Any other term (pids, ports, references, funs, bitstrings, integers
    /// beyond `i64`): its encoded bytes, as [`Val::raw`].
    Other(&'a [u8]),
}

impl<'a> Val<'a> {
    /// `[]`.
    pub const NIL: Val<'static> = Val { raw: NIL };

    /// The term's encoding without the version byte: write it again with
    /// [`Writer::raw`], or keep it with [`Val::to_etf`].
    pub fn raw(self) -> &'a [u8] {
        self.raw
    }

    /// The term as an [`Etf`] of its own (a copy of its bytes).
    pub fn to_etf(self) -> Etf {
        let mut b = Vec::with_capacity(self.raw.len() + 1);
        b.push(VERSION);
        b.extend_from_slice(self.raw);
        Etf::from_bytes(b)
    }

    /// The term's tag (its first byte).
    pub fn tag(self) -> u8 {
        self.raw.first().copied().unwrap_or(NIL_EXT)
    }

    /// What the term is.
    pub fn kind(self) -> Kind<'a> {
        decode(self.raw).unwrap_or(Kind::Other(self.raw))
    }

    /// The atom's name, if an atom.
    pub fn as_atom(self) -> Option<&'a str> {
        atom_name(self.raw).and_then(|n| std::str::from_utf8(n).ok())
    }

    /// Whether the term is the atom `name` (whatever its tag).
    pub fn is_atom(self, name: &str) -> bool {
        // Checked names are UTF-8 (latin-1 ones are ASCII): compare bytes.
        atom_name(self.raw) == Some(name.as_bytes())
    }

    /// The integer, if one that fits an `i64`.
    pub fn as_int(self) -> Option<i64> {
        match self.kind() {
            Kind::Int(n) => Some(n),
            _ => None,
        }
    }

    /// The float, if a float.
    pub fn as_float(self) -> Option<f64> {
        match self.kind() {
            Kind::Float(x) => Some(x),
            _ => None,
        }
    }

    /// The bytes, if a binary.
    pub fn as_binary(self) -> Option<&'a [u8]> {
        match self.kind() {
            Kind::Binary(b) => Some(b),
            _ => None,
        }
    }

    /// The elements, if a tuple.
    pub fn as_tuple(self) -> Option<Seq<'a>> {
        match self.kind() {
            Kind::Tuple(s) => Some(s),
            _ => None,
        }
    }

    /// The elements, if a list (`[]`, a string, proper or improper list:
    /// see [`Seq::tail`]).
    pub fn as_list(self) -> Option<Seq<'a>> {
        match self.kind() {
            Kind::List(s) => Some(s),
            _ => None,
        }
    }

    /// Keys and values, alternating, if a map (see [`Seq::pairs`]).
    pub fn as_map(self) -> Option<Seq<'a>> {
        match self.kind() {
            Kind::Map(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the term is `[]`.
    pub fn is_nil(self) -> bool {
        self.raw == NIL
    }

    /// Whether the term is a pid (`NEW_PID_EXT` or `PID_EXT`).
    pub fn is_pid(self) -> bool {
        matches!(self.tag(), NEW_PID_EXT | PID_EXT)
    }

    /// The elements of a tuple of exactly `N` elements, as an array, for
    /// matching: `if let Some([tag, n]) = v.tuple() { … }`.
    pub fn tuple<const N: usize>(self) -> Option<[Val<'a>; N]> {
        let s = self.as_tuple()?;
        if s.len() != N {
            return None;
        }
        let mut out = [Val::NIL; N];
        for (o, e) in out.iter_mut().zip(s.iter()) {
            *o = e;
        }
        Some(out)
    }
}

/// The elements of a tuple of exactly `N` elements: [`Val::tuple`].
pub fn tuple<const N: usize>(v: Val<'_>) -> Option<[Val<'_>; N]> {
    v.tuple()
}

/// The elements of a tuple, list or map, read lazily from the encoding.
///
/// Iterating finds each element's end as it goes (cheap: the whole term was
/// checked by [`read`]), so [`Seq::get`] and [`Seq::tail`] take time in
/// the bytes before what they return.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seq<'a> {
    /// The encoded elements; for a `LIST_EXT`, followed by the tail; for a
    /// `STRING_EXT`, the bytes.
    body: &'a [u8],
    len: usize,
    form: Form,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Form {
    /// Encoded terms, `len` of them (tuples, maps, `[]`).
    Terms,
    /// Encoded terms, `len` of them, then the tail (`LIST_EXT`).
    List,
    /// Bytes, each the integer element (`STRING_EXT`).
    Bytes,
}

impl<'a> Seq<'a> {
    /// How many elements (for a map, twice the number of keys).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The elements in order (not a list's tail).
    pub fn iter(&self) -> Iter<'a> {
        Iter { rest: self.body, left: self.len, bytes: self.form == Form::Bytes }
    }

    /// Element `i` (counting from 0).
    pub fn get(&self, i: usize) -> Option<Val<'a>> {
        self.iter().nth(i)
    }

    /// A list's tail: `[]` for a proper list (and for tuples and maps),
    /// the last term of an improper one (`b` in `[a | b]`).
    pub fn tail(&self) -> Val<'a> {
        match self.form {
            Form::List => {
                let mut it = self.iter();
                it.by_ref().for_each(drop);
                Val { raw: it.rest }
            }
            Form::Terms | Form::Bytes => Val::NIL,
        }
    }

    /// Whether the tail is `[]`.
    pub fn is_proper(&self) -> bool {
        self.tail().is_nil()
    }

    /// A map's key-value pairs (for a tuple or list: its elements two by
    /// two).
    pub fn pairs(&self) -> Pairs<'a> {
        Pairs(self.iter())
    }
}

impl<'a> IntoIterator for Seq<'a> {
    type Item = Val<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Seq<'a> {
    type Item = Val<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The elements of a [`Seq`]: [`Seq::iter`].
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    rest: &'a [u8],
    left: usize,
    bytes: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Val<'a>;

    fn next(&mut self) -> Option<Val<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        if self.bytes {
            let (&b, rest) = self.rest.split_first()?;
            self.rest = rest;
            Some(Val { raw: &SMALL_INTS[usize::from(b)] })
        } else if self.rest.is_empty() {
            // Only for bytes that are not a well-formed term (an unchecked
            // `read_etf`): stop rather than count down a bogus length.
            self.left = 0;
            None
        } else {
            let (raw, rest) = self.rest.split_at(skip(self.rest));
            self.rest = rest;
            Some(Val { raw })
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl std::iter::FusedIterator for Iter<'_> {}

/// Pairs of elements of a [`Seq`]: [`Seq::pairs`].
#[derive(Debug, Clone)]
pub struct Pairs<'a>(Iter<'a>);

impl<'a> Iterator for Pairs<'a> {
    type Item = (Val<'a>, Val<'a>);

    fn next(&mut self) -> Option<(Val<'a>, Val<'a>)> {
        Some((self.0.next()?, self.0.next()?))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.0.left / 2;
        (n, Some(n))
    }
}

impl std::iter::FusedIterator for Pairs<'_> {}

/// `n` big-endian bytes at `at`.
fn num(b: &[u8], at: usize, n: usize) -> Option<usize> {
    let bytes = b.get(at..at.checked_add(n)?)?;
    Some(bytes.iter().fold(0usize, |v, &x| v << 8 | usize::from(x)))
}

/// The name bytes of a checked atom.
fn atom_name(r: &[u8]) -> Option<&[u8]> {
    let (start, n) = match *r.first()? {
        ATOM_EXT | ATOM_UTF8_EXT => (3, num(r, 1, 2)?),
        SMALL_ATOM_EXT | SMALL_ATOM_UTF8_EXT => (2, num(r, 1, 1)?),
        _ => return None,
    };
    r.get(start..start + n)
}

/// The value of a big integer, if it fits an `i64`: `neg` for a non-zero
/// sign byte, the digits little-endian.
fn big_to_i64(neg: bool, digits: &[u8]) -> Option<i64> {
    let mut mag = 0u64;
    for (i, &d) in digits.iter().enumerate() {
        if d != 0 {
            if i >= 8 {
                return None;
            }
            mag |= u64::from(d) << (8 * i);
        }
    }
    if !neg {
        i64::try_from(mag).ok()
    } else if mag <= 1 << 63 {
        // 2^63 is i64::MIN, which is its own negation.
        Some(0i64.wrapping_sub(mag as i64))
    } else {
        None
    }
}

/// The value of an old `FLOAT_EXT`: text up to the first NUL.
fn old_float(text: &[u8]) -> Option<f64> {
    let end = text.iter().position(|&c| c == 0).unwrap_or(text.len());
    let x: f64 = std::str::from_utf8(text.get(..end)?).ok()?.parse().ok()?;
    x.is_finite().then_some(x)
}

/// What a checked term is (`None` never happens for checked bytes).
fn decode(r: &[u8]) -> Option<Kind<'_>> {
    fn seq(body: &[u8], len: usize, form: Form) -> Seq<'_> {
        Seq { body, len, form }
    }
    let tag = *r.first()?;
    Some(match tag {
        SMALL_INTEGER_EXT => Kind::Int(i64::from(*r.get(1)?)),
        INTEGER_EXT => Kind::Int(i64::from(i32::from_be_bytes(r.get(1..5)?.try_into().ok()?))),
        SMALL_BIG_EXT | LARGE_BIG_EXT => {
            let w = if tag == SMALL_BIG_EXT { 1 } else { 4 };
            let n = num(r, 1, w)?;
            match big_to_i64(*r.get(1 + w)? != 0, r.get(2 + w..2 + w + n)?) {
                Some(v) => Kind::Int(v),
                None => Kind::Other(r),
            }
        }
        NEW_FLOAT_EXT => Kind::Float(f64::from_be_bytes(r.get(1..9)?.try_into().ok()?)),
        FLOAT_EXT => Kind::Float(old_float(r.get(1..32)?)?),
        ATOM_EXT | ATOM_UTF8_EXT | SMALL_ATOM_EXT | SMALL_ATOM_UTF8_EXT => {
            Kind::Atom(std::str::from_utf8(atom_name(r)?).ok()?)
        }
        BINARY_EXT => Kind::Binary(r.get(5..5 + num(r, 1, 4)?)?),
        SMALL_TUPLE_EXT => Kind::Tuple(seq(r.get(2..)?, num(r, 1, 1)?, Form::Terms)),
        LARGE_TUPLE_EXT => Kind::Tuple(seq(r.get(5..)?, num(r, 1, 4)?, Form::Terms)),
        NIL_EXT => Kind::List(seq(&[], 0, Form::Terms)),
        STRING_EXT => Kind::List(seq(r.get(3..)?, num(r, 1, 2)?, Form::Bytes)),
        LIST_EXT => Kind::List(seq(r.get(5..)?, num(r, 1, 4)?, Form::List)),
        MAP_EXT => Kind::Map(seq(r.get(5..)?, num(r, 1, 4)?.checked_mul(2)?, Form::Terms)),
        _ => Kind::Other(r),
    })
}

/// How many bytes an atom at the start of `b` takes (checked bytes).
fn atom_len(b: &[u8]) -> usize {
    match b.first() {
        Some(&(ATOM_EXT | ATOM_UTF8_EXT)) => 3 + num(b, 1, 2).unwrap_or(0),
        Some(&(SMALL_ATOM_EXT | SMALL_ATOM_UTF8_EXT)) => 2 + num(b, 1, 1).unwrap_or(0),
        _ => b.len(),
    }
}

/// The bytes of a checked term's own encoding at the start of `b` (its tag
/// and fields, without the terms it contains) and how many terms follow
/// it as its parts. At least one byte.
fn shape(b: &[u8]) -> (usize, usize) {
    let n = |at, w| num(b, at, w).unwrap_or(0);
    let node = |at: usize| at + atom_len(b.get(at..).unwrap_or(&[]));
    let (own, parts) = match b.first() {
        Some(&SMALL_INTEGER_EXT) => (2, 0),
        Some(&INTEGER_EXT) => (5, 0),
        Some(&NEW_FLOAT_EXT) => (9, 0),
        Some(&FLOAT_EXT) => (32, 0),
        Some(&(ATOM_EXT | ATOM_UTF8_EXT | SMALL_ATOM_EXT | SMALL_ATOM_UTF8_EXT)) => (atom_len(b), 0),
        Some(&SMALL_TUPLE_EXT) => (2, n(1, 1)),
        Some(&LARGE_TUPLE_EXT) => (5, n(1, 4)),
        Some(&NIL_EXT) => (1, 0),
        Some(&STRING_EXT) => (3 + n(1, 2), 0),
        Some(&LIST_EXT) => (5, n(1, 4).saturating_add(1)),
        Some(&BINARY_EXT) => (5 + n(1, 4), 0),
        Some(&SMALL_BIG_EXT) => (3 + n(1, 1), 0),
        Some(&LARGE_BIG_EXT) => (6 + n(1, 4), 0),
        Some(&MAP_EXT) => (5, n(1, 4).saturating_mul(2)),
        Some(&BIT_BINARY_EXT) => (6 + n(1, 4), 0),
        Some(&NEW_PID_EXT) => (node(1) + 12, 0),
        Some(&PID_EXT) => (node(1) + 9, 0),
        Some(&NEW_PORT_EXT) => (node(1) + 8, 0),
        Some(&V4_PORT_EXT) => (node(1) + 12, 0),
        Some(&(PORT_EXT | REFERENCE_EXT)) => (node(1) + 5, 0),
        Some(&NEW_REFERENCE_EXT) => (node(3) + 1 + 4 * n(1, 2), 0),
        Some(&NEWER_REFERENCE_EXT) => (node(3) + 4 + 4 * n(1, 2), 0),
        Some(&EXPORT_EXT) => (1, 3),
        Some(&NEW_FUN_EXT) => (1 + n(1, 4), 0),
        _ => (b.len(), 0),
    };
    (own.max(1), parts)
}

/// How many bytes the checked term at the start of `b` takes. Never more
/// than `b.len()`.
fn skip(b: &[u8]) -> usize {
    let mut pos = 0usize;
    // Terms still to pass.
    let mut todo = 1usize;
    while todo > 0 && pos < b.len() {
        let (own, parts) = shape(b.get(pos..).unwrap_or(&[]));
        pos = pos.saturating_add(own);
        todo = (todo - 1).saturating_add(parts);
    }
    pos.min(b.len())
}

/// The checking reader behind [`read`].
struct Check<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Check<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BadTerm> {
        let end = self.pos.checked_add(n).ok_or(BadTerm::Truncated)?;
        let s = self.b.get(self.pos..end).ok_or(BadTerm::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn num(&mut self, w: usize) -> Result<usize, BadTerm> {
        Ok(self.take(w)?.iter().fold(0usize, |v, &x| v << 8 | usize::from(x)))
    }

    /// `n` terms of at least one byte each must fit in what is left.
    fn fits(&self, n: usize) -> Result<usize, BadTerm> {
        if n > self.b.len() - self.pos {
            Err(BadTerm::Truncated)
        } else {
            Ok(n)
        }
    }

    /// Checks an atom (tag included).
    fn atom(&mut self) -> Result<(), BadTerm> {
        let tag = self.num(1)? as u8;
        let (n, utf8) = match tag {
            ATOM_EXT => (self.num(2)?, false),
            SMALL_ATOM_EXT => (self.num(1)?, false),
            ATOM_UTF8_EXT => (self.num(2)?, true),
            SMALL_ATOM_UTF8_EXT => (self.num(1)?, true),
            _ => return Err(BadTerm::Malformed),
        };
        let name = self.take(n)?;
        if utf8 {
            let s = std::str::from_utf8(name).map_err(|_| BadTerm::Malformed)?;
            if s.chars().nth(255).is_some() {
                return Err(BadTerm::Malformed);
            }
        } else if n > 255 {
            return Err(BadTerm::Malformed);
        } else if !name.is_ascii() {
            return Err(BadTerm::Latin1Atom);
        }
        Ok(())
    }

    /// Checks an integer written as a `SMALL_INTEGER_EXT` or `INTEGER_EXT`
    /// (a fun's old index and uniq).
    fn small_int(&mut self) -> Result<(), BadTerm> {
        match self.num(1)? as u8 {
            SMALL_INTEGER_EXT => self.take(1).map(drop),
            INTEGER_EXT => self.take(4).map(drop),
            _ => Err(BadTerm::Malformed),
        }
    }

    /// Checks `n` terms, each one level deeper than `depth`.
    fn terms(&mut self, n: usize, depth: usize) -> Result<(), BadTerm> {
        self.fits(n)?;
        (0..n).try_for_each(|_| self.term(depth + 1))
    }

    /// Checks one term at nesting `depth`.
    fn term(&mut self, depth: usize) -> Result<(), BadTerm> {
        if depth > MAX_DEPTH {
            return Err(BadTerm::TooDeep);
        }
        let tag = *self.b.get(self.pos).ok_or(BadTerm::Truncated)?;
        if matches!(tag, ATOM_EXT | SMALL_ATOM_EXT | ATOM_UTF8_EXT | SMALL_ATOM_UTF8_EXT) {
            return self.atom();
        }
        self.pos += 1;
        match tag {
            SMALL_INTEGER_EXT => self.take(1).map(drop),
            INTEGER_EXT => self.take(4).map(drop),
            NEW_FLOAT_EXT => {
                let x = f64::from_be_bytes(self.take(8)?.try_into().map_err(|_| BadTerm::Truncated)?);
                if x.is_finite() {
                    Ok(())
                } else {
                    Err(BadTerm::Malformed)
                }
            }
            FLOAT_EXT => old_float(self.take(31)?).map(drop).ok_or(BadTerm::Malformed),
            SMALL_BIG_EXT | LARGE_BIG_EXT => {
                let n = self.num(if tag == SMALL_BIG_EXT { 1 } else { 4 })?;
                self.take(1)?;
                self.take(n).map(drop)
            }
            BINARY_EXT => {
                let n = self.num(4)?;
                self.take(n).map(drop)
            }
            BIT_BINARY_EXT => {
                let n = self.num(4)?;
                let bits = self.num(1)?;
                if bits > 8 || (bits == 0) != (n == 0) {
                    return Err(BadTerm::Malformed);
                }
                self.take(n).map(drop)
            }
            NIL_EXT => Ok(()),
            STRING_EXT => {
                let n = self.num(2)?;
                self.take(n).map(drop)
            }
            SMALL_TUPLE_EXT => {
                let n = self.num(1)?;
                self.terms(n, depth)
            }
            LARGE_TUPLE_EXT => {
                let n = self.num(4)?;
                self.terms(n, depth)
            }
            LIST_EXT => {
                let n = self.num(4)?;
                if n == 0 {
                    // The VM reads it as its tail; term_to_binary never
                    // writes it.
                    return Err(BadTerm::Malformed);
                }
                self.terms(n.checked_add(1).ok_or(BadTerm::Truncated)?, depth)
            }
            MAP_EXT => {
                let n = self.num(4)?;
                self.terms(n.checked_mul(2).ok_or(BadTerm::Truncated)?, depth)
            }
            NEW_PID_EXT | V4_PORT_EXT => self.atom().and_then(|()| self.take(12).map(drop)),
            PID_EXT => self.atom().and_then(|()| self.take(9).map(drop)),
            NEW_PORT_EXT => self.atom().and_then(|()| self.take(8).map(drop)),
            PORT_EXT | REFERENCE_EXT => self.atom().and_then(|()| self.take(5).map(drop)),
            NEW_REFERENCE_EXT | NEWER_REFERENCE_EXT => {
                let words = self.num(2)?;
                if words > MAX_REF_WORDS {
                    return Err(BadTerm::Malformed);
                }
                self.atom()?;
                let creation = if tag == NEW_REFERENCE_EXT { 1 } else { 4 };
                self.take(creation + 4 * words).map(drop)
            }
            EXPORT_EXT => {
                self.atom()?;
                self.atom()?;
                self.small_int()
            }
            NEW_FUN_EXT => {
                // Size counts itself and everything after it.
                let start = self.pos;
                let size = self.num(4)?;
                let end = start.checked_add(size).ok_or(BadTerm::Truncated)?;
                if end > self.b.len() {
                    return Err(BadTerm::Truncated);
                }
                // Arity, Uniq, Index.
                self.take(1 + 16 + 4)?;
                let free = self.num(4)?;
                self.atom()?;
                self.small_int()?;
                self.small_int()?;
                if !matches!(self.b.get(self.pos), Some(&(NEW_PID_EXT | PID_EXT))) {
                    return Err(BadTerm::Malformed);
                }
                self.term(depth + 1)?;
                self.terms(free, depth)?;
                if self.pos == end {
                    Ok(())
                } else {
                    Err(BadTerm::Malformed)
                }
            }
            COMPRESSED => Err(BadTerm::Compressed),
            _ => Err(BadTerm::Tag(tag)),
        }
    }
}

/// Erlang-like text of the term (atoms quoted when not plain).
impl fmt::Debug for Val<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn items<'v>(f: &mut fmt::Formatter<'_>, it: impl Iterator<Item = Val<'v>>) -> fmt::Result {
            for (i, v) in it.enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{v:?}")?;
            }
            Ok(())
        }
        match self.kind() {
            Kind::Atom(a) => {
                let plain = a.starts_with(|c: char| c.is_ascii_lowercase())
                    && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@');
                if plain {
                    f.write_str(a)
                } else {
                    write!(f, "'{}'", a.replace('\\', "\\\\").replace('\'', "\\'"))
                }
            }
            Kind::Int(n) => write!(f, "{n}"),
            Kind::Float(x) => write!(f, "{x:?}"),
            Kind::Binary(b) => write!(f, "<<{}>>", b.iter().map(u8::to_string).collect::<Vec<_>>().join(",")),
            Kind::Tuple(s) => {
                f.write_str("{")?;
                items(f, s.iter())?;
                f.write_str("}")
            }
            Kind::List(s) => {
                f.write_str("[")?;
                items(f, s.iter())?;
                let tail = s.tail();
                if !tail.is_nil() {
                    write!(f, "|{tail:?}")?;
                }
                f.write_str("]")
            }
            Kind::Map(s) => {
                f.write_str("#{")?;
                for (i, (k, v)) in s.pairs().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{k:?}=>{v:?}")?;
                }
                f.write_str("}")
            }
            Kind::Other(r) => write!(f, "#etf<{r:?}>"),
        }
    }
}

/// The elements, as a list.
impl fmt::Debug for Seq<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

// ---------------------------------------------------------------------------
// Writing

/// Builds one term's encoding (version byte first).
///
/// Each method appends one term or a container's header, and returns the
/// writer for chaining; the caller then writes the container's parts. The
/// writer does not count them: [`read`] of the result tells.
///
/// ```
/// use throng_beam::term::Writer;
/// let mut w = Writer::new();
/// w.tuple(2).atom("button").int(1);
/// assert_eq!(w.into_vec(), [131, 104, 2, 100, 0, 6, b'b', b'u', b't', b't', b'o', b'n', 97, 1]);
/// ```
///
/// Leaves are written as OTP 25's `term_to_binary/1` writes them;
/// containers as the caller lays them out (see the module's documentation):
/// write one value one way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

impl Writer {
    /// An empty term (just the version byte).
    pub fn new() -> Writer {
        Writer::with_capacity(32)
    }

    /// An empty term with room for `n` bytes after the version byte.
    pub fn with_capacity(n: usize) -> Writer {
        let mut buf = Vec::with_capacity(n.saturating_add(1));
        buf.push(VERSION);
        Writer { buf }
    }

    /// An atom. Names of up to 255 characters all below 256 are written as
    /// `ATOM_EXT` with their latin-1 bytes, others as `SMALL_ATOM_UTF8_EXT`
    /// (up to 255 bytes) or `ATOM_UTF8_EXT`: `term_to_binary`'s choice in
    /// OTP 25. Names of more than 255 characters (which no atom has) are
    /// cut to 255 (a debug assertion fails).
    pub fn atom(&mut self, name: &str) -> &mut Self {
        let name = match name.char_indices().nth(255) {
            Some((end, _)) => {
                debug_assert!(false, "atom name of more than 255 characters");
                &name[..end]
            }
            None => name,
        };
        if name.chars().all(|c| u32::from(c) < 256) {
            let chars = name.chars().count();
            self.buf.push(ATOM_EXT);
            self.buf.extend_from_slice(&(chars as u16).to_be_bytes());
            self.buf.extend(name.chars().map(|c| u32::from(c) as u8));
        } else if let Ok(n) = u8::try_from(name.len()) {
            self.buf.extend_from_slice(&[SMALL_ATOM_UTF8_EXT, n]);
            self.buf.extend_from_slice(name.as_bytes());
        } else {
            self.buf.push(ATOM_UTF8_EXT);
            self.buf.extend_from_slice(&(name.len() as u16).to_be_bytes());
            self.buf.extend_from_slice(name.as_bytes());
        }
        self
    }

    /// An integer: `SMALL_INTEGER_EXT` for 0..=255, `INTEGER_EXT` within
    /// `i32`, else `SMALL_BIG_EXT` with as few digits as possible (as
    /// `term_to_binary`).
    pub fn int(&mut self, n: i64) -> &mut Self {
        if let Ok(b) = u8::try_from(n) {
            self.buf.extend_from_slice(&[SMALL_INTEGER_EXT, b]);
        } else if let Ok(w) = i32::try_from(n) {
            self.buf.push(INTEGER_EXT);
            self.buf.extend_from_slice(&w.to_be_bytes());
        } else {
            let mag = n.unsigned_abs().to_le_bytes();
            let digits = 8 - mag.iter().rev().take_while(|&&d| d == 0).count();
            self.buf.extend_from_slice(&[SMALL_BIG_EXT, digits as u8, u8::from(n < 0)]);
            self.buf.extend_from_slice(&mag[..digits]);
        }
        self
    }

    /// A float (`NEW_FLOAT_EXT`). It should be finite: the VM has no other
    /// floats, and [`read`] (like `binary_to_term`) rejects the others.
    pub fn float(&mut self, x: f64) -> &mut Self {
        debug_assert!(x.is_finite(), "float term not finite");
        self.buf.push(NEW_FLOAT_EXT);
        self.buf.extend_from_slice(&x.to_bits().to_be_bytes());
        self
    }

    /// A binary (`BINARY_EXT`).
    pub fn binary(&mut self, bytes: &[u8]) -> &mut Self {
        debug_assert!(u32::try_from(bytes.len()).is_ok(), "binary over 4 GiB");
        self.buf.push(BINARY_EXT);
        self.buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        self.buf.extend_from_slice(bytes);
        self
    }

    /// A tuple's header (`SMALL_TUPLE_EXT` up to 255 elements, else
    /// `LARGE_TUPLE_EXT`); write its `arity` elements next.
    pub fn tuple(&mut self, arity: usize) -> &mut Self {
        if let Ok(n) = u8::try_from(arity) {
            self.buf.extend_from_slice(&[SMALL_TUPLE_EXT, n]);
        } else {
            debug_assert!(u32::try_from(arity).is_ok(), "tuple too large");
            self.buf.push(LARGE_TUPLE_EXT);
            self.buf.extend_from_slice(&(arity as u32).to_be_bytes());
        }
        self
    }

    /// A list's header (`LIST_EXT`); write its `len` elements next, then
    /// its tail ([`Writer::nil`] for a proper list). With `len` 0 nothing
    /// is written, so the tail alone is the term (`[]` is `nil()`). Never
    /// a string: see [`Writer::int_list`].
    pub fn list(&mut self, len: usize) -> &mut Self {
        if len > 0 {
            debug_assert!(u32::try_from(len).is_ok(), "list too long");
            self.buf.push(LIST_EXT);
            self.buf.extend_from_slice(&(len as u32).to_be_bytes());
        }
        self
    }

    /// `[]` (`NIL_EXT`).
    pub fn nil(&mut self) -> &mut Self {
        self.buf.push(NIL_EXT);
        self
    }

    /// A proper list of integers, as `term_to_binary` writes it: `[]`
    /// when empty, a `STRING_EXT` when every element is in 0..=255 and
    /// there are at most 65535, else a `LIST_EXT`.
    pub fn int_list(&mut self, items: &[i64]) -> &mut Self {
        self.ints(items.iter().copied())
    }

    /// [`Writer::int_list`] of the integers `items` yields (walked twice,
    /// hence `Clone`): write a list read with [`crate::term`] without
    /// collecting it first.
    pub fn ints<I>(&mut self, items: I) -> &mut Self
    where
        I: ExactSizeIterator<Item = i64> + Clone,
    {
        let len = items.len();
        if len == 0 {
            return self.nil();
        }
        if len <= usize::from(u16::MAX) && items.clone().all(|n| (0..=255).contains(&n)) {
            self.buf.push(STRING_EXT);
            self.buf.extend_from_slice(&(len as u16).to_be_bytes());
            self.buf.extend(items.map(|n| n as u8));
            return self;
        }
        self.list(len);
        items.for_each(|n| {
            self.int(n);
        });
        self.nil()
    }

    /// A proper list of the integers `bytes` (an Erlang string of latin-1
    /// characters), as `term_to_binary` writes it: see
    /// [`Writer::int_list`].
    pub fn string(&mut self, bytes: &[u8]) -> &mut Self {
        if bytes.is_empty() {
            return self.nil();
        }
        if let Ok(n) = u16::try_from(bytes.len()) {
            self.buf.push(STRING_EXT);
            self.buf.extend_from_slice(&n.to_be_bytes());
            self.buf.extend_from_slice(bytes);
            return self;
        }
        self.list(bytes.len());
        bytes.iter().for_each(|&b| self.buf.extend_from_slice(&[SMALL_INTEGER_EXT, b]));
        self.nil()
    }

    /// A map's header (`MAP_EXT`); write its `n` keys and values next,
    /// key, value, key, value…
    pub fn map(&mut self, n: usize) -> &mut Self {
        debug_assert!(u32::try_from(n).is_ok(), "map too large");
        self.buf.push(MAP_EXT);
        self.buf.extend_from_slice(&(n as u32).to_be_bytes());
        self
    }

    /// A term already encoded, without its version byte (a [`Val::raw`]).
    pub fn raw(&mut self, encoded: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(encoded);
        self
    }

    /// A term read before, as it was encoded.
    pub fn val(&mut self, v: Val<'_>) -> &mut Self {
        self.raw(v.raw())
    }

    /// The term written, as an [`Etf`].
    pub fn finish(self) -> Etf {
        Etf::from_bytes(self.buf)
    }

    /// The bytes written, version byte first.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `f` writes.
    fn bytes(f: impl FnOnce(&mut Writer) -> &mut Writer) -> Vec<u8> {
        let mut w = Writer::new();
        f(&mut w);
        w.into_vec()
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    /// `term_to_binary(self())` in an OTP 25 shell without distribution.
    fn pid_bytes() -> Vec<u8> {
        cat(&[&[131, 88, 100, 0, 13], b"nonode@nohost", &[0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0]])
    }

    /// Bytes from OTP 25's `term_to_binary/1`, with the term.
    fn vectors() -> Vec<(&'static str, Vec<u8>)> {
        let node: &[u8] = b"nonode@nohost";
        let mut v = vec![
            ("locked", cat(&[&[131, 100, 0, 6], b"locked"])),
            ("{button,1}", cat(&[&[131, 104, 2, 100, 0, 6], b"button", &[97, 1]])),
            ("[1,2,3]", vec![131, 107, 0, 3, 1, 2, 3]),
            ("-5", vec![131, 98, 255, 255, 255, 251]),
            ("1 bsl 40", vec![131, 110, 6, 0, 0, 0, 0, 0, 0, 1]),
            ("1 bsl 63", vec![131, 110, 8, 0, 0, 0, 0, 0, 0, 0, 0, 128]),
            ("-(1 bsl 63)", vec![131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128]),
            ("#{a=>1}", vec![131, 116, 0, 0, 0, 1, 100, 0, 1, 97, 97, 1]),
            ("<<\"hi\">>", vec![131, 109, 0, 0, 0, 2, 104, 105]),
            ("self()", pid_bytes()),
            ("[a|b]", vec![131, 108, 0, 0, 0, 1, 100, 0, 1, 97, 100, 0, 1, 98]),
            ("[-1]", vec![131, 108, 0, 0, 0, 1, 98, 255, 255, 255, 255, 106]),
            ("1.5", vec![131, 70, 63, 248, 0, 0, 0, 0, 0, 0]),
            ("<<1:3>>", vec![131, 77, 0, 0, 0, 1, 3, 32]),
            ("'ьa'", vec![131, 119, 3, 209, 140, 97]),
            ("fun erlang:self/0", cat(&[&[131, 113, 100, 0, 6], b"erlang", &[100, 0, 4], b"self", &[97, 0]])),
            (
                "make_ref()",
                cat(&[
                    &[131, 90, 0, 3, 100, 0, 13],
                    node,
                    &[0, 0, 0, 0, 0, 3, 248, 188, 236, 188, 0, 2, 143, 145, 5, 241],
                ]),
            ),
            ("port", cat(&[&[131, 89, 100, 0, 13], node, &[0; 8]])),
            (
                "{[],{},#{},<<>>,\"\",3.0e100,0}",
                vec![
                    131, 104, 7, 106, 104, 0, 116, 0, 0, 0, 0, 109, 0, 0, 0, 0, 106, 70, 84, 203, 110, 131, 184, 95,
                    37, 59, 97, 0,
                ],
            ),
            (
                "a local fun of m with one free variable, 7",
                cat(&[
                    &[131, 112, 0, 0, 0, 68, 0],
                    &[0; 16],
                    &[0, 0, 0, 0, 0, 0, 0, 1, 100, 0, 1, b'm', 97, 0, 97, 0],
                    &pid_bytes()[1..],
                    &[97, 7],
                ]),
            ),
            ("1.5 (minor_version 0)", cat(&[&[131, 99], b"1.50000000000000000000e+00", &[0; 5]])),
        ];
        let mut t256 = vec![131, 105, 0, 0, 1, 0];
        for i in 1..=255 {
            t256.extend_from_slice(&[97, i]);
        }
        t256.extend_from_slice(&[98, 0, 0, 1, 0]);
        v.push(("list_to_tuple(lists:seq(1,256))", t256));
        v
    }

    #[test]
    fn test_term_reads_otp_vectors() {
        for (name, bytes) in vectors() {
            let v = read(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(v.raw(), &bytes[1..], "{name}");
            assert_eq!(skip(v.raw()), v.raw().len(), "{name}");
        }
        let get = |i: usize| vectors()[i].1.clone();
        let b = get(0);
        assert_eq!(read(&b).unwrap().kind(), Kind::Atom("locked"));
        assert!(read(&b).unwrap().is_atom("locked"));
        let b = get(1);
        let [t, n] = read(&b).unwrap().tuple().unwrap();
        assert_eq!((t.as_atom(), n.as_int()), (Some("button"), Some(1)));
        assert_eq!(tuple::<3>(read(&b).unwrap()), None);
        let b = get(2);
        let l = read(&b).unwrap().as_list().unwrap();
        assert_eq!(l.iter().map(|v| v.as_int().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(l.get(1).unwrap().raw(), &[97, 2]);
        assert!(l.is_proper());
        assert_eq!(read(&get(3)).unwrap().as_int(), Some(-5));
        assert_eq!(read(&get(4)).unwrap().as_int(), Some(1 << 40));
        let b = get(5);
        assert_eq!(read(&b).unwrap().kind(), Kind::Other(&b[1..]));
        assert_eq!(read(&get(6)).unwrap().as_int(), Some(i64::MIN));
        let b = get(7);
        let m = read(&b).unwrap().as_map().unwrap();
        let pairs: Vec<_> = m.pairs().map(|(k, v)| (k.as_atom().unwrap(), v.as_int().unwrap())).collect();
        assert_eq!(pairs, [("a", 1)]);
        assert_eq!(m.len(), 2);
        assert_eq!(read(&get(8)).unwrap().as_binary(), Some(&b"hi"[..]));
        let b = get(9);
        let pid = read(&b).unwrap();
        assert!(pid.is_pid());
        assert_eq!(pid.kind(), Kind::Other(&b[1..]));
        assert_eq!(pid.to_etf().as_bytes(), &b[..]);
        let b = get(10);
        let l = read(&b).unwrap().as_list().unwrap();
        assert_eq!(l.len(), 1);
        assert!(l.get(0).unwrap().is_atom("a"));
        assert!(l.tail().is_atom("b"));
        assert!(!l.is_proper());
        assert_eq!(l.tail().raw(), &[100, 0, 1, 98]);
        assert_eq!(read(&get(11)).unwrap().as_list().unwrap().get(0).unwrap().as_int(), Some(-1));
        assert_eq!(read(&get(12)).unwrap().as_float(), Some(1.5));
        assert!(!read(&get(12)).unwrap().is_pid());
        assert_eq!(read(&get(13)).unwrap().tag(), BIT_BINARY_EXT);
        assert_eq!(read(&get(14)).unwrap().as_atom(), Some("ьa"));
        let b = get(18);
        let [nil, t0, m0, b0, s0, f, z] = read(&b).unwrap().tuple().unwrap();
        assert!(nil.is_nil() && s0.is_nil() && nil.as_list().unwrap().is_empty());
        assert!(t0.as_tuple().unwrap().is_empty() && m0.as_map().unwrap().is_empty());
        assert_eq!((b0.as_binary(), f.as_float(), z.as_int()), (Some(&b""[..]), Some(3.0e100), Some(0)));
        assert_eq!(read(&get(20)).unwrap().as_float(), Some(1.5));
        let b = get(21);
        let t = read(&b).unwrap().as_tuple().unwrap();
        assert_eq!(t.len(), 256);
        assert_eq!(t.get(255).unwrap().as_int(), Some(256));
        assert_eq!(t.iter().map(|v| v.as_int().unwrap()).sum::<i64>(), 256 * 257 / 2);
    }

    #[test]
    fn test_term_raw_slices_of_nested_elements() {
        // {ok, [{a, <<"x">>}, self()], #{k => [1,2]}}
        let pid = pid_bytes();
        let b = cat(&[
            &[131, 104, 3, 100, 0, 2, b'o', b'k', 108, 0, 0, 0, 2],
            &[104, 2, 100, 0, 1, b'a', 109, 0, 0, 0, 1, b'x'],
            &pid[1..],
            &[106, 116, 0, 0, 0, 1, 100, 0, 1, b'k', 107, 0, 2, 1, 2],
        ]);
        let v = read(&b).unwrap();
        let [ok, l, m] = v.tuple().unwrap();
        assert_eq!(ok.raw(), &[100, 0, 2, b'o', b'k']);
        let l = l.as_list().unwrap();
        let [a, x] = l.get(0).unwrap().tuple().unwrap();
        assert_eq!(l.get(0).unwrap().raw(), &[104, 2, 100, 0, 1, b'a', 109, 0, 0, 0, 1, b'x']);
        assert_eq!((a.raw(), x.raw()), (&[100, 0, 1, b'a'][..], &[109, 0, 0, 0, 1, b'x'][..]));
        let p = l.get(1).unwrap();
        assert!(p.is_pid());
        assert_eq!(p.raw(), &pid[1..]);
        assert_eq!(p.to_etf().as_bytes(), &pid[..]);
        assert_eq!(l.tail().raw(), &[106]);
        let (k, kv) = m.as_map().unwrap().pairs().next().unwrap();
        assert!(k.is_atom("k"));
        assert_eq!(kv.raw(), &[107, 0, 2, 1, 2]);
        let two = kv.as_list().unwrap().get(1).unwrap();
        assert_eq!(two.raw(), &[97, 2]);
        assert_eq!(two.kind(), Kind::Int(2));
        assert_eq!(
            format!("{v:?}"),
            "{ok,[{a,<<120>>},#etf<".to_owned() + &format!("{:?}", &pid[1..]) + ">],#{k=>[1,2]}}"
        );
    }

    #[test]
    fn test_term_writer_gives_term_to_binary_bytes() {
        let v = vectors();
        assert_eq!(bytes(|w| w.atom("locked")), v[0].1);
        assert_eq!(bytes(|w| w.tuple(2).atom("button").int(1)), v[1].1);
        assert_eq!(bytes(|w| w.int_list(&[1, 2, 3])), v[2].1);
        assert_eq!(bytes(|w| w.string(&[1, 2, 3])), v[2].1);
        assert_eq!(bytes(|w| w.int(-5)), v[3].1);
        assert_eq!(bytes(|w| w.int(1 << 40)), v[4].1);
        assert_eq!(bytes(|w| w.int(i64::MIN)), v[6].1);
        assert_eq!(bytes(|w| w.map(1).atom("a").int(1)), v[7].1);
        assert_eq!(bytes(|w| w.binary(b"hi")), v[8].1);
        assert_eq!(bytes(|w| w.list(1).atom("a").atom("b")), v[10].1);
        assert_eq!(bytes(|w| w.int_list(&[-1])), v[11].1);
        assert_eq!(bytes(|w| w.float(1.5)), v[12].1);
        assert_eq!(bytes(|w| w.atom("ьa")), v[14].1);
        assert_eq!(
            bytes(|w| w.tuple(7).list(0).nil().tuple(0).map(0).binary(b"").string(b"").float(3.0e100).int(0)),
            v[18].1
        );
        assert_eq!(
            bytes(|w| {
                w.tuple(256);
                (1..=256).for_each(|i| {
                    w.int(i);
                });
                w
            }),
            v[21].1
        );
        // Other integers, as term_to_binary writes them.
        assert_eq!(bytes(|w| w.int(255)), [131, 97, 255]);
        assert_eq!(bytes(|w| w.int(256)), [131, 98, 0, 0, 1, 0]);
        assert_eq!(bytes(|w| w.int(-1)), [131, 98, 255, 255, 255, 255]);
        assert_eq!(bytes(|w| w.int(-2147483648)), [131, 98, 128, 0, 0, 0]);
        assert_eq!(bytes(|w| w.int(2147483648)), [131, 110, 4, 0, 0, 0, 0, 128]);
        assert_eq!(bytes(|w| w.int(-2147483649)), [131, 110, 4, 1, 1, 0, 0, 128]);
        assert_eq!(bytes(|w| w.int(i64::MAX)), [131, 110, 8, 0, 255, 255, 255, 255, 255, 255, 255, 127]);
        assert_eq!(bytes(|w| w.float(-0.0)), [131, 70, 128, 0, 0, 0, 0, 0, 0, 0]);
        // Atoms: latin-1 as ATOM_EXT, long UTF-8 names as ATOM_UTF8_EXT.
        assert_eq!(bytes(|w| w.atom("éa")), [131, 100, 0, 2, 233, 97]);
        let long = "ь".repeat(255);
        assert_eq!(bytes(|w| w.atom(&long)), cat(&[&[131, 118, 1, 254], long.as_bytes()]));
        // Lists of integers.
        assert_eq!(bytes(|w| w.int_list(&[])), [131, 106]);
        assert_eq!(bytes(|w| w.int_list(&[1, 256])), [131, 108, 0, 0, 0, 2, 97, 1, 98, 0, 0, 1, 0, 106]);
        let many = vec![1i64; 70000];
        let mut want = vec![131, 108, 0, 1, 17, 112];
        (0..70000).for_each(|_| want.extend_from_slice(&[97, 1]));
        want.push(106);
        assert_eq!(bytes(|w| w.int_list(&many)), want);
        assert_eq!(bytes(|w| w.string(&[1; 70000])), want);
        // Raw terms, whole.
        let pid = pid_bytes();
        let p = read(&pid).unwrap();
        assert_eq!(bytes(|w| w.tuple(1).val(p)), cat(&[&[131, 104, 1], &pid[1..]]));
        assert_eq!(bytes(|w| w.raw(&pid[1..])), pid);
        let mut e = Writer::default();
        e.atom("locked");
        assert_eq!(e.finish().as_bytes(), &v[0].1[..]);
        assert_eq!(Writer::with_capacity(0).into_vec(), [131]);
    }

    #[test]
    fn test_term_round_trip() {
        let mut w = Writer::new();
        w.map(2).atom("count").int(-70000).atom("items").list(3);
        w.tuple(2).atom("x").float(-2.25);
        w.binary(&[0, 255]).int_list(&[104, 105]).atom("tail");
        let b = w.into_vec();
        let v = read(&b).unwrap();
        let m: Vec<_> = v.as_map().unwrap().pairs().collect();
        assert!(m[0].0.is_atom("count"));
        assert_eq!(m[0].1.as_int(), Some(-70000));
        let items = m[1].1.as_list().unwrap();
        let [x, f] = items.get(0).unwrap().tuple().unwrap();
        assert!(x.is_atom("x"));
        assert_eq!(f.as_float(), Some(-2.25));
        assert_eq!(items.get(1).unwrap().as_binary(), Some(&[0, 255][..]));
        let s: Vec<_> = items.get(2).unwrap().as_list().unwrap().iter().map(|v| v.as_int().unwrap()).collect();
        assert_eq!(s, [104, 105]);
        assert!(items.tail().is_atom("tail"));
        // Copying every element gives the same bytes.
        let mut w = Writer::new();
        w.map(2);
        v.as_map().unwrap().iter().for_each(|e| {
            w.val(e);
        });
        assert_eq!(w.into_vec(), b);
        for n in
            [0, 1, -1, 255, 256, -256, i32::MAX.into(), i32::MIN.into(), 1 << 31, -(1 << 31) - 1, i64::MAX, i64::MIN]
        {
            let mut w = Writer::new();
            w.int(n);
            assert_eq!(read(&w.into_vec()).unwrap().as_int(), Some(n), "{n}");
        }
        for a in ["", "a", "Locked", "ökö", "日本", &"x".repeat(255), &"ь".repeat(255)] {
            let mut w = Writer::new();
            w.atom(a);
            let b = w.into_vec();
            let v = read(&b).map(|v| v.as_atom());
            if a.chars().any(|c| (128..256).contains(&u32::from(c))) {
                assert_eq!(v, Err(BadTerm::Latin1Atom), "{a}");
            } else {
                assert_eq!(v, Ok(Some(a)), "{a}");
            }
        }
    }

    #[test]
    fn test_term_truncations_are_errors() {
        for (name, bytes) in vectors() {
            for n in 0..bytes.len() {
                assert!(read(&bytes[..n]).is_err(), "{name}: {n} bytes");
            }
        }
    }

    #[test]
    fn test_term_rejects() {
        let r = |b: &[u8]| read(b).err();
        assert_eq!(r(&[]), Some(BadTerm::Version));
        assert_eq!(r(&[130, 106]), Some(BadTerm::Version));
        assert_eq!(r(&[131]), Some(BadTerm::Truncated));
        assert_eq!(r(&[131, 106, 106]), Some(BadTerm::Trailing));
        assert_eq!(r(&[131, 97, 1, 0]), Some(BadTerm::Trailing));
        assert_eq!(r(&[131, 80, 0, 0, 0, 1, 120, 156]), Some(BadTerm::Compressed));
        assert_eq!(r(&[131, 82, 0]), Some(BadTerm::Tag(82)));
        assert_eq!(r(&[131, 117, 0, 0, 0, 0]), Some(BadTerm::Tag(117)));
        assert_eq!(r(&[131, 100, 0, 2, 233, 97]), Some(BadTerm::Latin1Atom));
        assert_eq!(r(&[131, 118, 0, 2, 255, 255]), Some(BadTerm::Malformed));
        assert_eq!(r(&cat(&[&[131, 118, 1, 0], &[b'a'; 256]])), Some(BadTerm::Malformed));
        assert_eq!(r(&cat(&[&[131, 100, 1, 0], &[b'a'; 256]])), Some(BadTerm::Malformed));
        assert_eq!(r(&[131, 70, 127, 240, 0, 0, 0, 0, 0, 0]), Some(BadTerm::Malformed));
        assert_eq!(r(&cat(&[&[131, 99], b"inf", &[0; 28]])), Some(BadTerm::Malformed));
        assert_eq!(r(&cat(&[&[131, 99], b"1.5x", &[0; 27]])), Some(BadTerm::Malformed));
        assert_eq!(r(&[131, 77, 0, 0, 0, 1, 9, 7]), Some(BadTerm::Malformed));
        assert_eq!(r(&[131, 77, 0, 0, 0, 1, 0, 7]), Some(BadTerm::Malformed));
        assert_eq!(r(&[131, 108, 0, 0, 0, 0, 106]), Some(BadTerm::Malformed));
        assert_eq!(r(&[131, 88, 97, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Some(BadTerm::Malformed));
        // A length beyond the input.
        assert_eq!(r(&[131, 105, 255, 255, 255, 255, 106]), Some(BadTerm::Truncated));
        assert_eq!(r(&[131, 116, 128, 0, 0, 0, 106, 106]), Some(BadTerm::Truncated));
        assert_eq!(r(&[131, 109, 255, 255, 255, 255]), Some(BadTerm::Truncated));
        // A fun whose size does not cover its fields.
        let mut fun = vectors().into_iter().find(|(n, _)| n.starts_with("a local fun")).unwrap().1;
        fun[5] += 1;
        fun.push(0);
        assert_eq!(r(&fun), Some(BadTerm::Malformed));
        // Accepted, as by binary_to_term.
        assert_eq!(read(&[131, 110, 1, 2, 5]).unwrap().as_int(), Some(-5));
        assert_eq!(read(&[131, 110, 0, 0]).unwrap().as_int(), Some(0));
        assert_eq!(read(&[131, 111, 0, 0, 0, 1, 0, 9]).unwrap().as_int(), Some(9));
        assert_eq!(read(&[131, 115, 2, b'o', b'k']).unwrap().as_atom(), Some("ok"));
        assert_eq!(read(&[131, 118, 0, 2, b'o', b'k']).unwrap().as_atom(), Some("ok"));
        assert!(read(&[131, 77, 0, 0, 0, 0, 0]).is_ok());
        assert_eq!(read(&cat(&[&[131, 99], b"1.5", &[0], b"x", &[0; 26]])).unwrap().as_float(), Some(1.5));
        let big = cat(&[&[131, 111, 0, 0, 1, 0, 0], &[1; 256]]);
        assert_eq!(read(&big).unwrap().kind(), Kind::Other(&big[1..]));
    }

    #[test]
    fn test_term_depth_limit() {
        let nested = |depth: usize| {
            let mut b = vec![131];
            (0..depth).for_each(|_| b.extend_from_slice(&[104, 1]));
            b.push(106);
            b
        };
        let ok = nested(MAX_DEPTH);
        let mut v = read(&ok).unwrap();
        for _ in 0..MAX_DEPTH {
            v = v.as_tuple().unwrap().get(0).unwrap();
        }
        assert!(v.is_nil());
        assert_eq!(read(&nested(MAX_DEPTH + 1)), Err(BadTerm::TooDeep));
        assert_eq!(read(&nested(1_000_000)), Err(BadTerm::TooDeep));
        // Improper lists nest too: [a|[a|[a|...]]] written element by element.
        let mut b = vec![131];
        (0..100_000).for_each(|_| b.extend_from_slice(&[108, 0, 0, 0, 1, 97, 0]));
        b.push(97);
        assert_eq!(read(&b), Err(BadTerm::TooDeep));
    }

    /// Walks every part of a checked term; parts are where `skip` says.
    fn walk(v: Val<'_>) -> usize {
        assert_eq!(skip(v.raw()), v.raw().len());
        let _ = format!("{v:?}");
        match v.kind() {
            Kind::Tuple(s) | Kind::List(s) | Kind::Map(s) => {
                let mut n = 1;
                let mut bytes = 0;
                for e in s.iter() {
                    n += walk(e);
                    bytes += e.raw().len();
                }
                assert_eq!(s.iter().count(), s.len());
                let t = s.tail();
                if s.form == Form::List {
                    assert_eq!(bytes + t.raw().len(), s.body.len());
                    n += walk(t);
                } else if s.form == Form::Terms {
                    assert_eq!(bytes, s.body.len());
                }
                n
            }
            Kind::Atom(a) => {
                assert!(v.is_atom(a));
                1
            }
            _ => 1,
        }
    }

    /// Every accessor of a term read without the check: no panic, no read
    /// out of bounds, whatever the bytes.
    fn poke(v: Val<'_>, depth: usize) {
        let _ = format!("{v:?}");
        let _ = (v.tag(), v.as_atom(), v.as_int(), v.as_float(), v.as_binary(), v.is_nil(), v.is_pid());
        let _ = (v.is_atom("a"), v.tuple::<2>(), v.to_etf());
        assert!(skip(v.raw()) <= v.raw().len());
        if let Kind::Tuple(s) | Kind::List(s) | Kind::Map(s) = v.kind() {
            let _ = (s.len(), s.get(1), s.is_proper(), s.pairs().count());
            if depth < 8 {
                s.iter().for_each(|e| poke(e, depth + 1));
                poke(s.tail(), depth + 1);
            }
        }
    }

    #[test]
    fn test_term_random_bytes_never_panic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let tags: Vec<u8> = vec![
            70, 77, 88, 89, 90, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114,
            115, 116, 118, 119, 120,
        ];
        let seeds: Vec<Vec<u8>> = vectors().into_iter().map(|(_, b)| b).collect();
        let mut ok = 0;
        let mut buf = Vec::new();
        for i in 0..100_000 {
            buf.clear();
            match i % 3 {
                // Bytes biased to tags and small lengths.
                0 => {
                    buf.push(131);
                    let len = next() % 40;
                    for _ in 0..len {
                        let r = next();
                        buf.push(match r % 4 {
                            0 => tags[(r >> 8) as usize % tags.len()],
                            1 => (r >> 8) as u8 % 4,
                            _ => (r >> 8) as u8,
                        });
                    }
                }
                // A real term with a few bytes changed.
                1 => {
                    buf.extend_from_slice(&seeds[next() as usize % seeds.len()]);
                    for _ in 0..1 + next() % 3 {
                        let at = next() as usize % buf.len();
                        buf[at] = next() as u8;
                    }
                }
                // Plain random bytes.
                _ => {
                    let len = next() % 64;
                    buf.extend((0..len).map(|_| next() as u8));
                }
            }
            if let Ok(v) = read(&buf) {
                ok += 1;
                walk(v);
            }
            // The same bytes as an engine's `Etf`, read without the check.
            if let Ok(v) = read_etf(&Etf::from_slice(&buf)) {
                poke(v, 0);
            }
        }
        assert!(ok > 1000, "{ok} random terms read");
    }
}
