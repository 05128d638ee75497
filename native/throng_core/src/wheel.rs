//! Hierarchical timer wheel (STUB: interface only; being implemented).
#![allow(dead_code, unused_variables)]

/// A timer's handle in its wheel. Plain slab index: the owner must not use
/// an id after `remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerId(pub u32);

/// A hierarchical timer wheel holding payloads `T`.
pub struct Wheel<T> {
    _p: std::marker::PhantomData<T>,
}

impl<T> Wheel<T> {
    /// An empty wheel whose time is `now` (ms, wheel base).
    pub fn new(now: u64) -> Self {
        todo!()
    }
    /// The wheel's time: the last `advance` target.
    pub fn now(&self) -> u64 {
        todo!()
    }
    /// Adds an entry, armed at `deadline` (`Some`) or parked (`None`).
    pub fn insert(&mut self, deadline: Option<u64>, payload: T) -> TimerId {
        todo!()
    }
    /// (Re)arms an entry at `deadline`.
    pub fn arm(&mut self, id: TimerId, deadline: u64) {
        todo!()
    }
    /// Unlinks an armed entry; it stays allocated, parked.
    pub fn disarm(&mut self, id: TimerId) {
        todo!()
    }
    /// Unlinks (if armed) and frees an entry, returning its payload.
    pub fn remove(&mut self, id: TimerId) -> T {
        todo!()
    }
    /// The payload.
    pub fn get(&self, id: TimerId) -> &T {
        todo!()
    }
    /// The payload, mutably.
    pub fn get_mut(&mut self, id: TimerId) -> &mut T {
        todo!()
    }
    /// Whether the entry is armed.
    pub fn is_armed(&self, id: TimerId) -> bool {
        todo!()
    }
    /// The deadline of an armed entry.
    pub fn deadline(&self, id: TimerId) -> Option<u64> {
        todo!()
    }
    /// Moves time to `now`; expired entries are parked and reported.
    pub fn advance(&mut self, now: u64, fired: impl FnMut(TimerId, &mut T)) {
        todo!()
    }
    /// Earliest deadline of any armed entry.
    pub fn next_deadline(&self) -> Option<u64> {
        todo!()
    }
    /// Allocated entries (armed or parked).
    pub fn len(&self) -> usize {
        todo!()
    }
    /// Armed entries.
    pub fn armed(&self) -> usize {
        todo!()
    }
    /// Whether no entry is allocated.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Bytes of heap the wheel holds (entries and slot tables).
    pub fn heap_bytes(&self) -> usize {
        todo!()
    }
}
