//! Compact byte strings, for machines that keep their values encoded.
//!
//! A machine whose state and data are byte strings (the BEAM glue keeps
//! terms in the External Term Format) pays for them in every slot of the
//! session table. [`Bytes`] is one pointer where a `Box<[u8]>` is two: the
//! length is stored in front of the bytes, in one to ten bytes (LEB128), in
//! the same heap block. A value many sessions share (an atom such as a
//! state name) can be stored once and never freed ([`Bytes::shared`],
//! [`Interner`]): copies of it are pointer copies and hold no heap at all.
//!
//! This is the one module of the crate with `unsafe` code: a tagged pointer
//! to a length-prefixed heap block.
#![allow(unsafe_code)]

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

/// Set in the pointer of a shared value (never freed, never written).
const SHARED: usize = 1;
/// Heap blocks are 2-aligned, so the low bit of their address is free.
const ALIGN: usize = 2;

/// The empty string: shared, no heap.
#[repr(C, align(2))]
struct Empty([u8; 1]);
static EMPTY: Empty = Empty([0]);

/// An immutable byte string, one pointer wide.
///
/// The pointer's low bit says whether the block is shared (never freed);
/// without it the value owns its block. The block is the length in LEB128
/// (1 byte below 128, 2 below 16,384, ...) followed by the bytes.
pub struct Bytes(NonNull<u8>);

// SAFETY: a `Bytes` is immutable. An owned block is reached only through
// its one owner; a shared block is never written after it is made and never
// freed, so any thread may read it.
unsafe impl Send for Bytes {}
// SAFETY: as above: `&Bytes` only reads.
unsafe impl Sync for Bytes {}

/// Bytes the LEB128 form of `n` takes.
fn header_len(mut n: usize) -> usize {
    let mut k = 1;
    while n >= 0x80 {
        n >>= 7;
        k += 1;
    }
    k
}

fn layout(total: usize) -> Layout {
    Layout::from_size_align(total, ALIGN).expect("byte string too long")
}

impl Bytes {
    /// The empty string.
    pub fn empty() -> Bytes {
        let p = std::ptr::addr_of!(EMPTY.0).cast::<u8>().cast_mut();
        Bytes(NonNull::new(p.map_addr(|a| a | SHARED)).expect("static address"))
    }

    /// A copy of `bytes` in a heap block of its own.
    pub fn new(bytes: &[u8]) -> Bytes {
        if bytes.is_empty() {
            return Bytes::empty();
        }
        let len = bytes.len();
        let hlen = header_len(len);
        let layout = layout(hlen.checked_add(len).expect("byte string too long"));
        // SAFETY: the layout's size is at least 2 (a header byte and one
        // byte), so it is not zero.
        let block = unsafe { alloc(layout) };
        let Some(block) = NonNull::new(block) else { handle_alloc_error(layout) };
        let p = block.as_ptr();
        let mut n = len;
        let mut i = 0;
        // SAFETY: the block holds `hlen + len` bytes: the header's `hlen`
        // bytes are written at 0..hlen, then `bytes` at hlen..hlen+len;
        // `bytes` is another allocation, so they do not overlap.
        unsafe {
            loop {
                let more = n >= 0x80;
                p.add(i).write((n as u8 & 0x7f) | if more { 0x80 } else { 0 });
                i += 1;
                n >>= 7;
                if !more {
                    break;
                }
            }
            debug_assert_eq!(i, hlen);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.add(hlen), len);
        }
        Bytes(block)
    }

    /// A copy of `bytes` that is never freed: cloning it copies the pointer
    /// and dropping it frees nothing. For values many holders share (see
    /// [`Interner`]); each call leaks one block.
    pub fn shared(bytes: &[u8]) -> Bytes {
        let owned = std::mem::ManuallyDrop::new(Bytes::new(bytes));
        Bytes(owned.0.map_addr(|a| a | SHARED))
    }

    /// Whether this value is shared (holds no block of its own).
    pub fn is_shared(&self) -> bool {
        self.0.addr().get() & SHARED != 0
    }

    /// The block's address, without the tag.
    fn block(&self) -> *const u8 {
        self.0.as_ptr().map_addr(|a| a & !SHARED).cast_const()
    }

    /// The length and the header's length.
    fn lengths(&self) -> (usize, usize) {
        let p = self.block();
        let mut len = 0usize;
        let mut shift = 0;
        let mut i = 0;
        loop {
            // SAFETY: the block starts with a complete LEB128 header (written
            // by `new`, or the empty string's single zero byte); reading
            // stops at its last byte.
            let b = unsafe { p.add(i).read() };
            len |= ((b & 0x7f) as usize) << shift;
            i += 1;
            if b & 0x80 == 0 {
                return (len, i);
            }
            shift += 7;
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        let (len, hlen) = self.lengths();
        // SAFETY: `len` bytes follow the header in the block, initialised by
        // `new` and never written again; the block lives as long as `self`
        // (owned) or forever (shared).
        unsafe { std::slice::from_raw_parts(self.block().add(hlen), len) }
    }

    /// Heap bytes this value holds on its own (0 when shared).
    pub fn heap_bytes(&self) -> usize {
        if self.is_shared() {
            0
        } else {
            let (len, hlen) = self.lengths();
            len + hlen
        }
    }
}

impl Drop for Bytes {
    fn drop(&mut self) {
        if !self.is_shared() {
            let (len, hlen) = self.lengths();
            // SAFETY: an owned block was allocated by `new` with this very
            // layout, and this is its one owner.
            unsafe { dealloc(self.block().cast_mut(), layout(hlen + len)) }
        }
    }
}

impl Clone for Bytes {
    fn clone(&self) -> Bytes {
        if self.is_shared() {
            Bytes(self.0)
        } else {
            Bytes::new(self.as_slice())
        }
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for Bytes {
    fn eq(&self, other: &Bytes) -> bool {
        self.0 == other.0 || self.as_slice() == other.as_slice()
    }
}

impl Eq for Bytes {}

impl Hash for Bytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl From<&[u8]> for Bytes {
    fn from(b: &[u8]) -> Bytes {
        Bytes::new(b)
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(b: Vec<u8>) -> Bytes {
        Bytes::new(&b)
    }
}

/// A fixed table of shared [`Bytes`], by a non-zero `u64` key that names
/// the value for the life of the process (the BEAM glue uses an atom's
/// term: atoms are never freed). Lookups take no lock. At most
/// three quarters of `N` (a power of two) values are kept; beyond that, and
/// for key 0, [`Interner::insert`] gives an owned copy.
pub struct Interner<const N: usize> {
    keys: [AtomicU64; N],
    values: [AtomicPtr<u8>; N],
    count: AtomicUsize,
}

impl<const N: usize> Default for Interner<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Interner<N> {
    const LIMIT: usize = N / 4 * 3;

    /// An empty table (usable in a `static`).
    pub const fn new() -> Self {
        assert!(N.is_power_of_two());
        Interner {
            keys: [const { AtomicU64::new(0) }; N],
            values: [const { AtomicPtr::new(std::ptr::null_mut()) }; N],
            count: AtomicUsize::new(0),
        }
    }

    fn start(key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & (N - 1)
    }

    fn value(&self, i: usize) -> Option<Bytes> {
        let p = self.values[i].load(Ordering::Acquire);
        // A shared value: copying its pointer is all a clone does.
        NonNull::new(p).map(Bytes)
    }

    /// The value stored for `key`.
    pub fn get(&self, key: u64) -> Option<Bytes> {
        if key == 0 {
            return None;
        }
        let mut i = Self::start(key);
        for _ in 0..N {
            match self.keys[i].load(Ordering::Acquire) {
                0 => return None,
                k if k == key => return self.value(i),
                _ => i = (i + 1) & (N - 1),
            }
        }
        None
    }

    /// The value stored for `key`, storing a shared copy of `bytes` first
    /// if there is none. `bytes` must be what `key` names: a value stored
    /// earlier for the key is returned as it is.
    pub fn insert(&self, key: u64, bytes: &[u8]) -> Bytes {
        if key == 0 {
            return Bytes::new(bytes);
        }
        let mut i = Self::start(key);
        for _ in 0..N {
            match self.keys[i].load(Ordering::Acquire) {
                0 => {
                    if self.count.load(Ordering::Relaxed) >= Self::LIMIT {
                        return Bytes::new(bytes);
                    }
                    match self.keys[i].compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire) {
                        Ok(_) => {
                            self.count.fetch_add(1, Ordering::Relaxed);
                            let b = Bytes::shared(bytes);
                            self.values[i].store(b.0.as_ptr(), Ordering::Release);
                            return b;
                        }
                        // Another thread stores the same key: use its value
                        // if it is there yet.
                        Err(k) if k == key => return self.value(i).unwrap_or_else(|| Bytes::new(bytes)),
                        Err(_) => i = (i + 1) & (N - 1),
                    }
                }
                k if k == key => return self.value(i).unwrap_or_else(|| Bytes::new(bytes)),
                _ => i = (i + 1) & (N - 1),
            }
        }
        Bytes::new(bytes)
    }

    /// Values stored.
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn round_trips_every_header_length() {
        for len in [0usize, 1, 2, 9, 52, 127, 128, 129, 300, 16_383, 16_384, 16_385, 70_000] {
            let v: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
            let b = Bytes::new(&v);
            assert_eq!(b.as_slice(), &v[..], "len {len}");
            assert_eq!(b.len(), len);
            let c = b.clone();
            assert_eq!(c, b);
            assert_eq!(&*c, &v[..]);
            assert_eq!(b.is_shared(), len == 0);
            let expect = if len == 0 { 0 } else { len + header_len(len) };
            assert_eq!(b.heap_bytes(), expect);
        }
        assert_eq!(header_len(127), 1);
        assert_eq!(header_len(128), 2);
        assert_eq!(header_len(16_383), 2);
        assert_eq!(header_len(16_384), 3);
        assert_eq!(header_len(usize::MAX), 10);
    }

    #[test]
    fn one_pointer_wide() {
        assert_eq!(std::mem::size_of::<Bytes>(), std::mem::size_of::<usize>());
        assert_eq!(std::mem::size_of::<Option<Bytes>>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn equality_and_hash_are_by_content() {
        let a = Bytes::new(b"locked");
        let s = Bytes::shared(b"locked");
        assert_eq!(a, s);
        assert_ne!(a, Bytes::new(b"open"));
        assert_ne!(Bytes::new(b""), Bytes::new(b"\0"));
        let set: HashSet<Bytes> = [a.clone(), s.clone(), Bytes::from(b"locked".to_vec())].into_iter().collect();
        assert_eq!(set.len(), 1);
        assert_eq!(format!("{:?}", Bytes::new(&[1, 2])), "[1, 2]");
    }

    #[test]
    fn shared_copies_hold_no_heap() {
        let s = Bytes::shared(b"state");
        assert!(s.is_shared());
        let c = s.clone();
        assert!(c.is_shared());
        assert_eq!(c.heap_bytes(), 0);
        assert_eq!(s.0, c.0);
        drop(s);
        assert_eq!(&*c, b"state");
        let e = Bytes::empty();
        assert!(e.is_empty());
        assert_eq!(e.heap_bytes(), 0);
    }

    #[test]
    fn interner_stores_once_and_stops_at_its_limit() {
        let t: Box<Interner<16>> = Box::default();
        assert!(t.is_empty());
        assert_eq!(t.get(5), None);
        let a = t.insert(5, b"five");
        assert!(a.is_shared());
        let b = t.insert(5, b"ignored: the key names the value");
        assert_eq!(a.0, b.0);
        assert_eq!(t.get(5).map(|b| b.0), Some(a.0));
        // Key 0 is never stored.
        assert!(!t.insert(0, b"zero").is_shared());
        assert_eq!(t.get(0), None);
        // Colliding keys each find their own value.
        for k in 1..=11u64 {
            let v = k.to_be_bytes();
            let got = t.insert(k * 1_000_003, &v);
            assert_eq!(&*got, &v);
        }
        assert_eq!(t.len(), 12);
        for k in 1..=11u64 {
            assert_eq!(t.get(k * 1_000_003).as_deref(), Some(&k.to_be_bytes()[..]));
        }
        // Full (12 of 16): new keys get owned copies; stored ones still hit.
        let over = t.insert(99, b"over");
        assert!(!over.is_shared());
        assert_eq!(&*over, b"over");
        assert_eq!(t.get(99), None);
        assert!(t.insert(5, b"five").is_shared());
    }

    #[test]
    fn interner_under_threads() {
        static T: Interner<1024> = Interner::new();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    for k in 1..=200u64 {
                        let b = T.insert(k, &k.to_le_bytes());
                        assert_eq!(&*b, &k.to_le_bytes());
                    }
                })
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
        assert_eq!(T.len(), 200);
        for k in 1..=200u64 {
            assert!(T.get(k).is_some_and(|b| b.is_shared() && *b == k.to_le_bytes()));
        }
    }
}
