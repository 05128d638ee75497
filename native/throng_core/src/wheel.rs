//! Hierarchical timer wheel: 1 ms resolution, O(1) arm and cancel, firing in
//! exact deadline order.
//!
//! # Ground rules
//!
//! - **Time** is a `u64` count of milliseconds in the wheel's own base; the
//!   owner maps its clock onto it (typically "ms since the engine started").
//!   The wheel never reads a clock: time only moves in [`Wheel::advance`].
//! - **Entries** live in one slab (a table grown in chunks) and are named
//!   by [`TimerId`], a plain slab index. An entry is *armed* (linked into exactly one list, it
//!   will fire), *parked* (allocated, linked nowhere, never fires) or *free*
//!   (on the free list; its id must not be used). Freed slots are reused, so
//!   an id used after [`Wheel::remove`] names some other entry or panics.
//! - **Firing** parks an entry, it does not free it: the owner decides
//!   whether to re-arm it, keep it parked or remove it.
//! - **Never early, never late**: after `advance(t)` returns, every entry
//!   whose deadline is `<= t` has been reported and parked, and every entry
//!   still armed has a deadline `> t`. A deadline `<= now()` is legal and
//!   fires on the next `advance`, even `advance(now())`.
//! - **Order**: one `advance` reports entries in increasing deadline order,
//!   and entries with equal deadlines in the order they were (last) armed.
//!   See "FIFO" below for why no sequence numbers are needed.
//! - **No re-entrancy**: the `fired` callback only sees the payload, so it
//!   cannot touch the wheel. Entries are first moved, in report order, onto
//!   the due list; each is parked just before it is reported. If the
//!   callback panics the wheel stays consistent, and the entries not yet
//!   reported stay armed and fire on the next `advance`.
//! - No `unsafe`, no per-timer allocation beyond the slab.
//!
//! # Layout
//!
//! Six levels of 64 slots. Level `L` slot `s` holds entries whose deadline
//! lies in the current level-`L+1` block (the aligned range of `64^(L+1)` ms
//! containing `now`) and whose level-`L` digit (`deadline >> 6L & 63`) is
//! `s`; the level is chosen by the highest bit in which `deadline` and `now`
//! differ (as in tokio's `runtime/time/wheel`). Each level has a `u64`
//! occupancy bitmap, so finding the next non-empty slot is one
//! `trailing_zeros` per level and idle time costs nothing: `advance` jumps
//! from one occupied slot to the next. When time reaches a slot of level
//! `L > 0` its entries are re-placed ("cascade") into lower levels; each
//! entry cascades at most six times, so arm, cancel and advance are O(1)
//! amortised per timer. Two more lists exist besides the 384 slots:
//! *due* (armed with a deadline `<= now`, fired by the next `advance`) and
//! *overflow* (see below).
//!
//! Every list is an intrusive doubly linked FIFO through `u32` indices in the
//! slab (head and tail per list, append at the tail), and every armed entry
//! records which list it is on, so cancel is O(1) without recomputing a
//! level. An entry costs its payload plus 24 bytes (tag, list number,
//! `prev`, `next`, deadline): 40 bytes for a 16-byte payload. The free list
//! is threaded through the free cells themselves.
//!
//! # Maximum delay, overflow
//!
//! The slot tables span 6 × 6 = 36 bits: a deadline is placed in a slot
//! exactly when it lies in the same aligned 2^36 ms epoch
//! (68,719,476,736 ms ≈ 795 days ≈ 2.18 years) as `now`. So any delay
//! shorter than the time left in the current epoch is placed directly, and
//! 2^36 − 1 ms is the largest delay the slot tables can ever represent.
//! Other deadlines (more than ~2.18 years away, or a short delay that happens
//! to straddle an epoch boundary) go to the *overflow* list, which keeps a
//! lower bound of its deadlines. When time reaches the start of that lower
//! bound's epoch, the overflow list is walked once: entries of the new epoch
//! are placed into the slots (or fire), the rest stay, and the bound becomes
//! exact. Such deadlines therefore still fire exactly on time — only their
//! placement is deferred — at the cost of one walk of the overflow list per
//! epoch that actually contains an overflow deadline.
//!
//! # FIFO for equal deadlines
//!
//! No sequence numbers are stored; the structure preserves arm order:
//!
//! 1. All lists are FIFO and a cascade walks a slot from head to tail,
//!    appending each entry to the tail of its new list, so it keeps the
//!    relative order of entries that move together.
//! 2. A slot is cascaded as soon as time reaches its start, before any later
//!    arm can happen. If `now <= x <= d`, the highest bit in which `x` and
//!    `d` differ is never above the one in which `now` and `d` differ, so
//!    between two arms of the same deadline `d` at times `t1 <= t2`, the
//!    first entry's current list is of a level `>=` the level chosen at
//!    `t2`. If it were strictly higher, time would have reached that slot's
//!    start and the slot would already have been cascaded. So both entries
//!    end up on the same list (the level digit of `d` picks the slot), the
//!    later one behind the earlier one. The overflow list and the due list
//!    follow the same argument (overflow entries of an epoch are placed as
//!    soon as time reaches that epoch).
//! 3. At each tick only one list is processed (the lowest occupied level
//!    always holds the earliest slot, and no two levels share a start time
//!    above `now`), and everything it makes due has that tick's deadline.
//!
//! Entries armed with a deadline already past go to the due list in arm
//! order; if they are not already in deadline order, `advance` first
//! stable-sorts that list by deadline, which gives (deadline, arm order).
//! They all precede anything still in the slots, whose deadlines are all
//! `> now`. Each tick's batch is then appended to the (empty) due list and
//! reported from it.

use std::mem;

use crate::table::Chunked;

/// A timer's handle in its wheel. Plain slab index: the owner must not use
/// an id after `remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerId(pub u32);

/// Bits of deadline resolved per level.
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// Levels of slots.
const LEVELS: usize = 6;
/// Bits spanned by the slot tables: 36, i.e. an epoch of 2^36 ms.
const WHEEL_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// Offset of a time within its epoch.
const EPOCH_MASK: u64 = (1 << WHEEL_BITS) - 1;
/// Lists `0..WHEEL_LISTS` are the slots, numbered `level * SLOTS + slot`.
const WHEEL_LISTS: usize = LEVELS * SLOTS;
/// The list of deadlines outside the current epoch.
const OVERFLOW: u16 = WHEEL_LISTS as u16;
/// The list of entries armed with a deadline `<= now`.
const DUE: u16 = OVERFLOW + 1;
/// Number of lists.
const LISTS: usize = WHEEL_LISTS + 2;
/// `Links::list` of a parked entry.
const PARKED: u16 = u16::MAX;
/// The null index.
const NIL: u32 = u32::MAX;

/// Where an allocated entry is linked.
#[derive(Debug, Clone, Copy)]
struct Links {
    prev: u32,
    next: u32,
    /// List number, or `PARKED`.
    list: u16,
}

impl Links {
    const PARKED: Links = Links { prev: NIL, next: NIL, list: PARKED };
}

/// One slab cell. The variant tag and `Links` share the first 16 bytes, the
/// deadline the next 8, then the payload.
enum Slot<T> {
    Used { links: Links, deadline: u64, payload: T },
    Free { next_free: u32 },
}

/// Head and tail of a list.
#[derive(Debug, Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

impl List {
    const EMPTY: List = List { head: NIL, tail: NIL };
}

/// The list an entry with `deadline > now` belongs on.
fn list_for(now: u64, deadline: u64) -> u16 {
    debug_assert!(deadline > now);
    let diff = now ^ deadline;
    if diff > EPOCH_MASK {
        return OVERFLOW;
    }
    let level = (63 - (diff | SLOT_MASK).leading_zeros()) / SLOT_BITS;
    let slot = (deadline >> (level * SLOT_BITS)) & SLOT_MASK;
    (level as usize * SLOTS + slot as usize) as u16
}

#[cold]
#[track_caller]
fn not_allocated(i: u32) -> ! {
    panic!("TimerId({i}) is not allocated in this wheel (used after remove?)")
}

/// A hierarchical timer wheel holding payloads `T`.
pub struct Wheel<T> {
    /// Current time: the last `advance` target (or a tick inside `advance`).
    now: u64,
    slab: Chunked<Slot<T>>,
    /// Head of the free list, threaded through `Slot::Free`.
    free: u32,
    /// Allocated entries.
    len: usize,
    /// Armed entries.
    armed: usize,
    /// `LISTS` lists: the slots, then overflow and due.
    lists: Vec<List>,
    /// Per level, bit `s` set iff slot `s` is non-empty.
    occupied: [u64; LEVELS],
    /// When the overflow list is non-empty: a lower bound of its deadlines.
    overflow_low: u64,
    /// Whether the due list is in deadline order (it is unless something
    /// was armed in the past behind a later deadline).
    due_sorted: bool,
    /// Reused buffer for sorting the due list.
    scratch: Vec<u32>,
}

impl<T> Wheel<T> {
    /// An empty wheel whose time is `now` (ms, wheel base).
    pub fn new(now: u64) -> Self {
        Wheel {
            now,
            slab: Chunked::default(),
            free: NIL,
            len: 0,
            armed: 0,
            lists: vec![List::EMPTY; LISTS],
            occupied: [0; LEVELS],
            overflow_low: u64::MAX,
            due_sorted: true,
            scratch: Vec::new(),
        }
    }

    /// The wheel's time: the last `advance` target.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Adds an entry, armed at `deadline` (`Some`) or parked (`None`).
    ///
    /// A deadline `<= now()` fires on the next `advance`. Panics if the wheel
    /// already holds `u32::MAX` entries.
    pub fn insert(&mut self, deadline: Option<u64>, payload: T) -> TimerId {
        let cell = Slot::Used { links: Links::PARKED, deadline: 0, payload };
        let i = if self.free != NIL {
            let i = self.free;
            match mem::replace(&mut self.slab[i as usize], cell) {
                Slot::Free { next_free } => self.free = next_free,
                Slot::Used { .. } => unreachable!("free list points at a used cell"),
            }
            i
        } else {
            let i = u32::try_from(self.slab.len()).ok().filter(|&i| i != NIL).expect("timer wheel full");
            self.slab.push(cell);
            i
        };
        self.len += 1;
        if let Some(deadline) = deadline {
            self.arm_parked(i, deadline);
        }
        TimerId(i)
    }

    /// (Re)arms an entry at `deadline`, unlinking it first if it is armed.
    /// It counts as armed now: it fires after entries already armed at the
    /// same deadline.
    pub fn arm(&mut self, id: TimerId, deadline: u64) {
        if self.links(id.0).list != PARKED {
            self.unlink(id.0);
        }
        self.arm_parked(id.0, deadline);
    }

    /// Unlinks an armed entry; it stays allocated, parked. No-op if parked.
    pub fn disarm(&mut self, id: TimerId) {
        if self.links(id.0).list != PARKED {
            self.unlink(id.0);
        }
    }

    /// Unlinks (if armed) and frees an entry, returning its payload.
    pub fn remove(&mut self, id: TimerId) -> T {
        self.disarm(id);
        let cell = mem::replace(&mut self.slab[id.0 as usize], Slot::Free { next_free: self.free });
        self.free = id.0;
        self.len -= 1;
        match cell {
            Slot::Used { payload, .. } => payload,
            Slot::Free { .. } => unreachable!("disarm checked the cell is used"),
        }
    }

    /// The payload.
    #[track_caller]
    pub fn get(&self, id: TimerId) -> &T {
        match self.slab.get(id.0 as usize) {
            Some(Slot::Used { payload, .. }) => payload,
            _ => not_allocated(id.0),
        }
    }

    /// The payload, mutably.
    #[track_caller]
    pub fn get_mut(&mut self, id: TimerId) -> &mut T {
        self.payload_mut(id.0)
    }

    /// Whether the entry is armed.
    #[track_caller]
    pub fn is_armed(&self, id: TimerId) -> bool {
        self.links(id.0).list != PARKED
    }

    /// The deadline of an armed entry; `None` when parked.
    #[track_caller]
    pub fn deadline(&self, id: TimerId) -> Option<u64> {
        match self.slab.get(id.0 as usize) {
            Some(Slot::Used { links, deadline, .. }) => (links.list != PARKED).then_some(*deadline),
            _ => not_allocated(id.0),
        }
    }

    /// Moves time to `now`; expired entries are parked and reported.
    ///
    /// Every entry with deadline `<= max(now, self.now())` is unlinked
    /// (parked, still allocated) and passed to `fired`, in increasing
    /// deadline order, equal deadlines in arm order. A `now` below the
    /// current time does not move time back; entries already due still
    /// fire. Cost: O(1) per occupied slot reached and per entry moved or
    /// fired; empty stretches of time are skipped through the bitmaps.
    pub fn advance(&mut self, now: u64, mut fired: impl FnMut(TimerId, &mut T)) {
        loop {
            self.fire_due(&mut fired);
            match self.next_event() {
                Some((at, list)) if at <= now => {
                    self.now = at;
                    self.cascade(list);
                }
                _ => break,
            }
        }
        self.now = self.now.max(now);
    }

    /// Earliest deadline of any armed entry (exact).
    ///
    /// O(1) when the earliest entry is on level 0; otherwise it walks the one
    /// list holding it (the due list, one slot, or the overflow list).
    pub fn next_deadline(&self) -> Option<u64> {
        if self.lists[DUE as usize].head != NIL {
            return self.min_deadline(DUE);
        }
        for (level, &occupied) in self.occupied.iter().enumerate() {
            if occupied != 0 {
                let list = (level * SLOTS + occupied.trailing_zeros() as usize) as u16;
                return if level == 0 {
                    // A level-0 slot holds a single deadline.
                    Some(self.deadline_raw(self.lists[list as usize].head))
                } else {
                    self.min_deadline(list)
                };
            }
        }
        self.min_deadline(OVERFLOW)
    }

    /// A time at or before the earliest deadline of any armed entry (or
    /// `now()` when one is already due), in O(levels): the start of the
    /// earliest occupied slot (exact on level 0). For a thread that sleeps until the
    /// next [`Wheel::advance`] can fire something: waking at a slot's start
    /// is early at worst, where [`Wheel::next_deadline`] walks the slot.
    pub fn next_wakeup(&self) -> Option<u64> {
        if self.lists[DUE as usize].head != NIL {
            return Some(self.now);
        }
        self.next_event().map(|(at, list)| {
            if (list as usize) < SLOTS {
                self.deadline_raw(self.lists[list as usize].head)
            } else {
                at
            }
        })
    }

    /// Allocated entries (armed or parked).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Armed entries.
    pub fn armed(&self) -> usize {
        self.armed
    }

    /// Whether no entry is allocated.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of heap the wheel holds (entries, free list, slot tables and the
    /// sort buffer for past deadlines), by capacity. Heap owned by the payloads themselves is
    /// not counted.
    pub fn heap_bytes(&self) -> usize {
        self.slab.heap_bytes()
            + self.lists.capacity() * mem::size_of::<List>()
            + self.scratch.capacity() * mem::size_of::<u32>()
    }

    // ---- internals ----

    #[track_caller]
    fn links(&self, i: u32) -> Links {
        match self.slab.get(i as usize) {
            Some(Slot::Used { links, .. }) => *links,
            _ => not_allocated(i),
        }
    }

    #[track_caller]
    fn links_mut(&mut self, i: u32) -> &mut Links {
        match self.slab.get_mut(i as usize) {
            Some(Slot::Used { links, .. }) => links,
            _ => not_allocated(i),
        }
    }

    /// The stored deadline (meaningless when parked).
    fn deadline_raw(&self, i: u32) -> u64 {
        match &self.slab[i as usize] {
            Slot::Used { deadline, .. } => *deadline,
            Slot::Free { .. } => not_allocated(i),
        }
    }

    #[track_caller]
    fn payload_mut(&mut self, i: u32) -> &mut T {
        match self.slab.get_mut(i as usize) {
            Some(Slot::Used { payload, .. }) => payload,
            _ => not_allocated(i),
        }
    }

    /// Arms the parked entry `i` at `deadline`.
    fn arm_parked(&mut self, i: u32, deadline: u64) {
        if let Slot::Used { deadline: d, .. } = &mut self.slab[i as usize] {
            *d = deadline;
        }
        self.armed += 1;
        self.place(i);
    }

    /// Links entry `i` (on no list) onto the list its stored deadline belongs
    /// to at the current time.
    fn place(&mut self, i: u32) {
        let deadline = self.deadline_raw(i);
        let list = if deadline <= self.now { DUE } else { list_for(self.now, deadline) };
        if list == OVERFLOW && (self.lists[OVERFLOW as usize].head == NIL || deadline < self.overflow_low) {
            self.overflow_low = deadline;
        }
        if list == DUE {
            let tail = self.lists[DUE as usize].tail;
            if tail == NIL {
                self.due_sorted = true;
            } else if deadline < self.deadline_raw(tail) {
                self.due_sorted = false;
            }
        }
        self.push_back(list, i);
    }

    /// Appends entry `i` (on no list) to `list`.
    fn push_back(&mut self, list: u16, i: u32) {
        let tail = self.lists[list as usize].tail;
        *self.links_mut(i) = Links { prev: tail, next: NIL, list };
        if tail == NIL {
            self.lists[list as usize].head = i;
            if (list as usize) < WHEEL_LISTS {
                self.occupied[list as usize / SLOTS] |= 1 << (list as usize % SLOTS);
            }
        } else {
            self.links_mut(tail).next = i;
        }
        self.lists[list as usize].tail = i;
    }

    /// Unlinks the armed entry `i`, parking it.
    fn unlink(&mut self, i: u32) {
        let Links { prev, next, list } = self.links(i);
        debug_assert_ne!(list, PARKED);
        if prev == NIL {
            self.lists[list as usize].head = next;
        } else {
            self.links_mut(prev).next = next;
        }
        if next == NIL {
            self.lists[list as usize].tail = prev;
        } else {
            self.links_mut(next).prev = prev;
        }
        if prev == NIL && next == NIL && (list as usize) < WHEEL_LISTS {
            self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
        }
        *self.links_mut(i) = Links::PARKED;
        self.armed -= 1;
    }

    /// The earliest time above `now` at which a list must be processed, and
    /// that list. The lowest non-empty level always holds it: level `L`
    /// only spans the current level-`L+1` block, which ends no later than
    /// the first slot start of any higher level. Overflow comes last: all
    /// slots lie in the current epoch, overflow deadlines beyond it.
    fn next_event(&self) -> Option<(u64, u16)> {
        for (level, &occupied) in self.occupied.iter().enumerate() {
            if occupied != 0 {
                let slot = occupied.trailing_zeros() as usize;
                let shift = level as u32 * SLOT_BITS;
                let block = (1u64 << (shift + SLOT_BITS)) - 1;
                let at = (self.now & !block) + ((slot as u64) << shift);
                debug_assert!(at > self.now, "slot behind the wheel's time");
                return Some((at, (level * SLOTS + slot) as u16));
            }
        }
        if self.lists[OVERFLOW as usize].head != NIL {
            let at = self.overflow_low & !EPOCH_MASK;
            debug_assert!(at > self.now, "overflow bound behind the wheel's time");
            return Some((at, OVERFLOW));
        }
        None
    }

    /// Re-places every entry of `list` at the current time, in list order:
    /// those due now go to the due list, the rest to lower levels (or back
    /// to overflow if still outside the epoch).
    fn cascade(&mut self, list: u16) {
        let mut i = mem::replace(&mut self.lists[list as usize], List::EMPTY).head;
        if (list as usize) < WHEEL_LISTS {
            self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
        }
        while i != NIL {
            let next = self.links(i).next;
            self.place(i);
            debug_assert!(list == OVERFLOW || self.links(i).list == DUE || self.links(i).list < list);
            i = next;
        }
    }

    /// Reports every entry of the due list, by deadline and arm order,
    /// parking each just before its report.
    fn fire_due(&mut self, fired: &mut impl FnMut(TimerId, &mut T)) {
        if !self.due_sorted {
            self.sort_due();
        }
        loop {
            let i = self.lists[DUE as usize].head;
            if i == NIL {
                break;
            }
            self.unlink(i);
            fired(TimerId(i), self.payload_mut(i));
        }
    }

    /// Stable-sorts the due list by deadline, keeping arm order among equal
    /// deadlines. Only needed when something was armed in the past behind a
    /// later deadline: a tick's batch shares one deadline.
    fn sort_due(&mut self) {
        let mut batch = mem::take(&mut self.scratch);
        batch.clear();
        let mut i = mem::replace(&mut self.lists[DUE as usize], List::EMPTY).head;
        while i != NIL {
            batch.push(i);
            i = self.links(i).next;
        }
        batch.sort_by_key(|&i| self.deadline_raw(i));
        for &i in &batch {
            self.push_back(DUE, i);
        }
        self.due_sorted = true;
        batch.clear();
        self.scratch = batch;
    }

    /// Smallest deadline on `list`, by walking it.
    fn min_deadline(&self, list: u16) -> Option<u64> {
        let mut i = self.lists[list as usize].head;
        let mut min = None;
        while i != NIL {
            let d = self.deadline_raw(i);
            min = Some(min.map_or(d, |m: u64| m.min(d)));
            i = self.links(i).next;
        }
        min
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl<T> Wheel<T> {
        /// Checks every structural invariant; panics on a violation.
        fn check(&self) {
            let mut seen = vec![false; self.slab.len()];
            let mut armed = 0;
            for (l, list) in self.lists.iter().enumerate() {
                let (mut i, mut prev) = (list.head, NIL);
                while i != NIL {
                    assert!(!seen[i as usize], "entry on two lists");
                    seen[i as usize] = true;
                    armed += 1;
                    let links = self.links(i);
                    assert_eq!(links.list as usize, l);
                    assert_eq!(links.prev, prev);
                    let d = self.deadline_raw(i);
                    if l == DUE as usize {
                        assert!(d <= self.now);
                    } else {
                        assert!(d > self.now);
                        assert_eq!(list_for(self.now, d) as usize, l, "entry on a stale list");
                    }
                    if l == OVERFLOW as usize {
                        assert!(self.overflow_low <= d);
                    }
                    prev = i;
                    i = links.next;
                }
                assert_eq!(list.tail, prev);
                if l < WHEEL_LISTS {
                    assert_eq!(self.occupied[l / SLOTS] >> (l % SLOTS) & 1 == 1, list.head != NIL);
                }
            }
            assert_eq!(armed, self.armed);
            if self.due_sorted {
                let (mut i, mut last) = (self.lists[DUE as usize].head, 0);
                while i != NIL {
                    assert!(self.deadline_raw(i) >= last, "due list marked sorted but is not");
                    last = self.deadline_raw(i);
                    i = self.links(i).next;
                }
            }
            let mut free = 0;
            let mut i = self.free;
            while i != NIL {
                match self.slab[i as usize] {
                    Slot::Free { next_free } => i = next_free,
                    Slot::Used { .. } => panic!("used cell on the free list"),
                }
                free += 1;
            }
            assert_eq!(free + self.len, self.slab.len());
            for (i, cell) in self.slab.iter().enumerate() {
                if let Slot::Used { links, .. } = cell {
                    assert_eq!(links.list == PARKED, !seen[i]);
                }
            }
        }
    }

    #[test]
    fn entry_size() {
        assert!(mem::size_of::<Slot<[u8; 16]>>() <= 40);
        assert!(mem::size_of::<Slot<(u64, u64)>>() <= 40);
        assert!(mem::size_of::<Slot<(u32, u32, u64)>>() <= 40);
        assert!(mem::size_of::<Slot<()>>() <= 24);
    }

    #[test]
    fn placement() {
        assert_eq!(list_for(0, 1), 1);
        assert_eq!(list_for(0, 63), 63);
        assert_eq!(list_for(0, 64), 64 + 1);
        assert_eq!(list_for(100, 101), 101 % 64);
        assert_eq!(list_for(0, EPOCH_MASK), (5 * SLOTS + 63) as u16);
        assert_eq!(list_for(0, EPOCH_MASK + 1), OVERFLOW);
        assert_eq!(list_for(EPOCH_MASK, EPOCH_MASK + 1), OVERFLOW);
        assert_eq!(list_for(EPOCH_MASK + 1, EPOCH_MASK + 2), 1);
        assert_eq!(list_for(u64::MAX - 1, u64::MAX), 63);
    }

    /// Random operations, with the structural check after each one.
    #[test]
    fn invariants_hold() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for start in [0, EPOCH_MASK - 5000, u64::MAX - (1 << 40)] {
            let mut w = Wheel::new(start);
            let mut ids: Vec<TimerId> = Vec::new();
            for _ in 0..20_000 {
                let r = next();
                let delta = match r % 4 {
                    0 => next() % 100,
                    1 => next() % 10_000,
                    2 => next() % (1 << 30),
                    _ => next() % (1 << 40),
                };
                let at = w.now().saturating_add(delta).saturating_sub(next() % 3);
                match (r >> 8) % 8 {
                    0 | 1 => ids.push(w.insert(Some(at), ())),
                    2 if !ids.is_empty() => {
                        let id = ids.swap_remove((next() % ids.len() as u64) as usize);
                        w.remove(id);
                    }
                    3 if !ids.is_empty() => w.disarm(ids[(next() % ids.len() as u64) as usize]),
                    4 if !ids.is_empty() => w.arm(ids[(next() % ids.len() as u64) as usize], at),
                    5 => ids.push(w.insert(None, ())),
                    _ => {
                        let to = w.now().saturating_add(delta / 4);
                        let mut fired = Vec::new();
                        w.advance(to, |id, _| fired.push(id));
                        for id in fired {
                            assert!(!w.is_armed(id));
                        }
                        assert!(w.next_deadline().is_none_or(|d| d > w.now()));
                    }
                }
                w.check();
            }
        }
    }
}
