//! A growable table of cells in fixed-size chunks.
//!
//! A shard's session table and its timer wheel's slab grow one cell at a
//! time and never shrink (their cells are reused through free lists). A `Vec` grows by doubling: at a
//! million sessions a shard can hold up to twice the cells it needs, and
//! each doubling copies the whole table while the shard is locked. Here the
//! table is a list of chunks of at most [`CHUNK`] cells; only the last chunk
//! grows (by doubling, up to [`CHUNK`]), so the unused capacity is less
//! than one chunk and growth never copies more than one chunk.

use std::ops::{Index, IndexMut};

/// Cells per chunk (a power of two).
pub(crate) const CHUNK_BITS: u32 = 10;
const CHUNK: usize = 1 << CHUNK_BITS;
const MASK: usize = CHUNK - 1;

/// The table. Every chunk but the last holds exactly [`CHUNK`] cells.
pub(crate) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked { chunks: Vec::new(), len: 0 }
    }
}

impl<T> Chunked<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i >> CHUNK_BITS).and_then(|c| c.get(i & MASK))
    }

    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        self.chunks.get_mut(i >> CHUNK_BITS).and_then(|c| c.get_mut(i & MASK))
    }

    /// Appends a cell; its index is the old `len()`.
    pub fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => {
                if last.len() == last.capacity() {
                    // Doubling, capped at the chunk size.
                    last.reserve_exact(last.len().min(CHUNK - last.len()));
                }
                last.push(value);
            }
            _ => {
                let mut chunk = Vec::with_capacity(4);
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    /// Heap bytes held (capacity, used or not).
    pub fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Vec<T>>()
            + self.chunks.iter().map(|c| c.capacity() * std::mem::size_of::<T>()).sum::<usize>()
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        &self.chunks[i >> CHUNK_BITS][i & MASK]
    }
}

impl<T> IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i >> CHUNK_BITS][i & MASK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_across_chunks_and_bounds_capacity() {
        let mut t = Chunked::default();
        let n = 3 * CHUNK + 17;
        for i in 0..n {
            assert_eq!(t.len(), i);
            t.push(i as u64);
        }
        assert_eq!(t.len(), n);
        for i in 0..n {
            assert_eq!(t[i], i as u64);
            assert_eq!(t.get(i), Some(&(i as u64)));
        }
        *t.get_mut(5).unwrap() += 1;
        assert_eq!(t[5], 6);
        assert_eq!(t.get_mut(n), None);
        t[5] = 5;
        assert_eq!(t.get(n), None);
        assert!(t.iter().copied().eq(0..n as u64));
        t[CHUNK + 1] = 7;
        assert_eq!(t[CHUNK + 1], 7);
        // Full chunks hold exactly CHUNK cells; the last one at most twice
        // what it uses.
        let cells = (t.heap_bytes() - t.chunks.capacity() * std::mem::size_of::<Vec<u64>>()) / 8;
        assert!(cells <= 3 * CHUNK + 2 * 17, "{cells} cells for {n}");
        assert!(t.chunks[..3].iter().all(|c| c.len() == CHUNK && c.capacity() == CHUNK));
    }

    #[test]
    fn empty() {
        let t: Chunked<u8> = Chunked::default();
        assert_eq!(t.len(), 0);
        assert_eq!(t.get(0), None);
        assert_eq!(t.iter().count(), 0);
        assert_eq!(t.heap_bytes(), 0);
    }
}
