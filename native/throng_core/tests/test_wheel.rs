//! Tests of the hierarchical timer wheel: exact firing times, firing order,
//! cancel / park / re-arm, past deadlines, overflow beyond the slot tables,
//! long idle gaps, `next_deadline`, memory, and a model-based proptest.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use throng_core::wheel::{TimerId, Wheel};

/// 2^36 ms: the span of the slot tables (one epoch).
const EPOCH: u64 = 1 << 36;

/// Advances and returns the reported ids, in report order.
fn advance<T>(w: &mut Wheel<T>, now: u64) -> Vec<TimerId> {
    let mut out = Vec::new();
    w.advance(now, |id, _| out.push(id));
    out
}

/// Advances and returns the reported payloads, in report order.
fn advance_payloads<T: Copy>(w: &mut Wheel<T>, now: u64) -> Vec<T> {
    let mut out = Vec::new();
    w.advance(now, |_, p| out.push(*p));
    out
}

/// A small deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Below `2^b` for a `b` drawn from `min_bits..max_bits`: spreads values
    /// over several wheel levels.
    fn spread(&mut self, min_bits: u64, max_bits: u64) -> u64 {
        let bits = min_bits + self.below(max_bits - min_bits);
        self.below(1 << bits)
    }
}

#[test]
fn empty_wheel() {
    let mut w: Wheel<u32> = Wheel::new(42);
    assert_eq!(w.now(), 42);
    assert!(w.is_empty());
    assert_eq!(w.len(), 0);
    assert_eq!(w.armed(), 0);
    assert_eq!(w.next_deadline(), None);
    assert!(advance(&mut w, 1_000_000).is_empty());
    assert_eq!(w.now(), 1_000_000);
    assert!(advance(&mut w, 5).is_empty());
    assert_eq!(w.now(), 1_000_000, "time never moves back");
}

/// Every ms from 0 to 5000 carries a timer (some several); advancing one ms
/// at a time fires exactly the timers of that ms.
#[test]
fn fires_each_millisecond_exactly() {
    let mut w = Wheel::new(0);
    let mut rng = Rng(7);
    let mut by_deadline: BTreeMap<u64, Vec<TimerId>> = BTreeMap::new();
    for _ in 0..8000 {
        let d = 1 + rng.below(5000);
        let id = w.insert(Some(d), d);
        by_deadline.entry(d).or_default().push(id);
    }
    for t in 0..=5001 {
        let mut fired = Vec::new();
        w.advance(t, |id, &mut d| {
            assert_eq!(d, t, "fired at the wrong time");
            fired.push(id);
        });
        assert_eq!(fired, by_deadline.remove(&t).unwrap_or_default(), "at {t}");
    }
    assert_eq!(w.armed(), 0);
    assert_eq!(w.len(), 8000);
}

/// Random deadlines over several levels, advanced in random steps: after
/// `advance(t)` everything `<= t` has fired (in order), nothing later has.
#[test]
fn never_early_never_late() {
    for (seed, start) in [(1, 0), (2, 12_345), (3, EPOCH - 100_000), (4, 3 * EPOCH + 77)] {
        let mut rng = Rng(seed);
        let mut w = Wheel::new(start);
        let mut pending: BTreeMap<(u64, usize), TimerId> = BTreeMap::new();
        for n in 0..20_000 {
            let d = start + 1 + rng.spread(4, 24);
            pending.insert((d, n), w.insert(Some(d), d));
        }
        let mut t = start;
        while !pending.is_empty() {
            t += rng.spread(1, 17);
            let mut fired = Vec::new();
            w.advance(t, |id, &mut d| {
                assert!(d <= t, "fired early: deadline {d} at {t}");
                fired.push(id);
            });
            let mut expect = Vec::new();
            while let Some(entry) = pending.first_entry() {
                if entry.key().0 > t {
                    break;
                }
                expect.push(entry.remove());
            }
            assert_eq!(fired, expect, "seed {seed} at {t}");
            assert_eq!(w.armed(), pending.len());
            assert_eq!(w.next_deadline(), pending.keys().next().map(|k| k.0));
        }
    }
}

/// Equal deadlines fire in arm order although the entries were armed at
/// different distances (levels) and cascade down at different times.
#[test]
fn equal_deadlines_fifo_across_levels() {
    const D: u64 = 300_000; // level 3 from time 0
    let mut w = Wheel::new(0);
    let a0 = w.insert(Some(D), "a0");
    let b = w.insert(Some(D), "b");
    let x = w.insert(Some(D + 1), "x");
    let y = w.insert(Some(D - 1), "y");
    assert!(advance(&mut w, 200_000).is_empty());
    let a1 = w.insert(Some(D), "a1"); // level 2
    assert!(advance(&mut w, 299_000).is_empty());
    let a2 = w.insert(Some(D), "a2"); // level 1
    assert!(advance(&mut w, 299_990).is_empty());
    let a3 = w.insert(Some(D), "a3"); // level 0
    assert!(advance(&mut w, 299_995).is_empty());
    w.arm(b, D); // re-arming counts as a new arm
    let a4 = w.insert(Some(D), "a4");
    assert_eq!(advance(&mut w, D - 1), vec![y]);
    assert_eq!(advance(&mut w, D + 5), vec![a0, a1, a2, a3, b, a4, x]);
}

/// The same schedule fires in the same order whether time moves in one
/// jump or in many small steps.
#[test]
fn order_independent_of_advance_granularity() {
    let mut rng = Rng(99);
    let mut deadlines = Vec::new();
    for _ in 0..5000 {
        // Few distinct deadlines, so there are many ties, spread over levels.
        deadlines.push(1 + rng.below(40) * (1 + rng.below(3) * 1000 + rng.below(2) * 300_000));
    }
    let mut one_jump = Wheel::new(0);
    let mut stepped = Wheel::new(0);
    for (n, &d) in deadlines.iter().enumerate() {
        one_jump.insert(Some(d), n);
        stepped.insert(Some(d), n);
    }
    let all = advance_payloads(&mut one_jump, 20_000_000);
    let mut steps = Vec::new();
    let mut t = 0;
    while t < 20_000_000 {
        t += 1 + rng.below(5000);
        steps.extend(advance_payloads(&mut stepped, t));
    }
    assert_eq!(all, steps);
    let mut expect: Vec<usize> = (0..deadlines.len()).collect();
    expect.sort_by_key(|&n| deadlines[n]); // stable: insertion order among ties
    assert_eq!(all, expect);
}

#[test]
fn cancel_disarm_rearm() {
    let mut w = Wheel::new(1000);
    let a = w.insert(Some(1010), 'a');
    let b = w.insert(Some(1020), 'b');
    let c = w.insert(Some(5000), 'c');
    let d = w.insert(Some(1_000_000), 'd');
    assert_eq!((w.len(), w.armed()), (4, 4));

    w.disarm(a);
    assert!(!w.is_armed(a));
    assert_eq!(w.deadline(a), None);
    w.disarm(a); // disarming a parked entry is a no-op
    assert_eq!((w.len(), w.armed()), (4, 3));

    assert_eq!(w.remove(c), 'c');
    assert_eq!((w.len(), w.armed()), (3, 2));

    w.arm(d, 1015); // pull a far timer close
    w.arm(b, 2_000_000); // push a close timer far
    assert_eq!(w.deadline(d), Some(1015));
    assert_eq!(w.deadline(b), Some(2_000_000));
    assert_eq!(w.next_deadline(), Some(1015));

    assert_eq!(advance(&mut w, 1_999_999), vec![d]);
    assert!(!w.is_armed(d));
    assert_eq!(w.len(), 3, "firing parks, it does not free");

    w.arm(a, 1_999_999); // re-arm a parked entry at the current time
    w.arm(d, 2_000_000);
    assert_eq!(advance(&mut w, 2_000_000), vec![a, b, d]);
    assert_eq!((w.len(), w.armed()), (3, 0));

    // Freed cells are reused.
    let e = w.insert(Some(2_000_001), 'e');
    assert_eq!(e, c);
    assert_eq!(*w.get(e), 'e');
    assert_eq!(advance(&mut w, 2_000_001), vec![e]);
}

#[test]
fn parked_entries_never_fire() {
    let mut w = Wheel::new(0);
    let p = w.insert(None, 1u8);
    let q = w.insert(Some(10), 2u8);
    assert!(!w.is_armed(p));
    assert_eq!(w.deadline(p), None);
    assert_eq!((w.len(), w.armed()), (2, 1));
    assert_eq!(advance(&mut w, u64::MAX), vec![q]);
    assert_eq!(w.len(), 2);
    assert_eq!(w.next_deadline(), None);
    *w.get_mut(p) += 10;
    assert_eq!(w.remove(p), 11);
    assert_eq!(w.remove(q), 2);
    assert!(w.is_empty());
}

#[test]
fn past_deadlines_fire_on_next_advance() {
    let mut w = Wheel::new(1000);
    let future = w.insert(Some(1001), 0);
    let a = w.insert(Some(1000), 1);
    let b = w.insert(Some(500), 2);
    let c = w.insert(Some(999), 3);
    let d = w.insert(Some(1000), 4);
    let e = w.insert(Some(0), 5);
    let f = w.insert(Some(500), 6);
    assert_eq!(w.next_deadline(), Some(0));
    // Same `now`: the past-due ones fire, by deadline then arm order.
    assert_eq!(advance(&mut w, 1000), vec![e, b, f, c, a, d]);
    assert_eq!(w.now(), 1000);
    assert_eq!(w.next_deadline(), Some(1001));

    // Re-arming in the past fires even when `now` goes "back".
    w.arm(a, 3);
    assert_eq!(advance(&mut w, 10), vec![a]);
    assert_eq!(w.now(), 1000);

    // Past-due entries precede entries that come due in the same advance.
    w.arm(b, 999);
    assert_eq!(advance(&mut w, 2000), vec![b, future]);
}

#[test]
fn payloads_reachable_from_callback() {
    let mut w = Wheel::new(0);
    let ids: Vec<TimerId> = (0..10u64).map(|n| w.insert(Some(n * 100), n)).collect();
    w.advance(450, |_, p| *p += 1000);
    for (n, &id) in ids.iter().enumerate() {
        let n = n as u64;
        assert_eq!(*w.get(id), if n * 100 <= 450 { n + 1000 } else { n });
    }
}

#[test]
fn deadlines_beyond_the_slot_tables() {
    let far = [EPOCH - 1, EPOCH, EPOCH + 1, 5 * EPOCH + 3, 1 << 50, u64::MAX - 1, u64::MAX];
    let mut w = Wheel::new(0);
    let ids: Vec<TimerId> = far.iter().map(|&d| w.insert(Some(d), d)).collect();
    assert_eq!(w.next_deadline(), Some(EPOCH - 1));
    for (k, &d) in far.iter().enumerate() {
        assert!(advance(&mut w, d - 1).is_empty(), "fired early before {d}");
        assert_eq!(w.next_deadline(), Some(d));
        assert_eq!(advance(&mut w, d), vec![ids[k]], "not fired at {d}");
    }
    assert_eq!(w.now(), u64::MAX);
    assert_eq!(w.armed(), 0);
}

/// A short delay that straddles an epoch boundary, and FIFO among equal
/// deadlines parked in the overflow list and armed after it was placed.
#[test]
fn overflow_epoch_boundary_and_fifo() {
    let mut w = Wheel::new(EPOCH - 10);
    let short = w.insert(Some(EPOCH + 5), 0);
    assert!(advance(&mut w, EPOCH + 4).is_empty());
    assert_eq!(advance(&mut w, EPOCH + 5), vec![short]);

    let d = 3 * EPOCH + 7;
    let mut w = Wheel::new(0);
    let a = w.insert(Some(d), 'a'); // overflow, two epochs ahead
    assert!(advance(&mut w, 2 * EPOCH - 3).is_empty());
    let b = w.insert(Some(d), 'b'); // overflow, next epoch
    let c = w.insert(Some(3 * EPOCH - 1), 'c'); // slots
    assert_eq!(advance(&mut w, 3 * EPOCH), vec![c]);
    let e = w.insert(Some(d), 'e'); // slots (a and b were placed at 3 * EPOCH)
    assert_eq!(w.next_deadline(), Some(d));
    assert_eq!(advance(&mut w, u64::MAX), vec![a, b, e]);
}

/// Re-arming and cancelling entries in the overflow list.
#[test]
fn overflow_cancel_and_rearm() {
    let mut w = Wheel::new(0);
    let a = w.insert(Some(10 * EPOCH), 'a');
    let b = w.insert(Some(4 * EPOCH + 1), 'b');
    let c = w.insert(Some(7 * EPOCH), 'c');
    w.disarm(b); // the overflow bound (4 * EPOCH + 1) is now stale
    assert_eq!(w.next_deadline(), Some(7 * EPOCH));
    assert!(advance(&mut w, 7 * EPOCH - 1).is_empty());
    w.arm(b, 8 * EPOCH);
    w.remove(c);
    assert_eq!(w.next_deadline(), Some(8 * EPOCH));
    assert_eq!(advance(&mut w, 9 * EPOCH), vec![b]);
    assert_eq!(advance(&mut w, 10 * EPOCH), vec![a]);
}

/// Long idle gaps are skipped, not walked: with a handful of timers, these
/// advances over up to 2^64 ms would never finish if `advance` stepped
/// through every millisecond or every slot.
#[test]
fn long_idle_advance() {
    let mut w = Wheel::new(0);
    let a = w.insert(Some(1_000_000_000), 'a');
    let b = w.insert(Some(1_000_000_001), 'b');
    let c = w.insert(Some(500_000_000_000), 'c');
    let d = w.insert(Some(u64::MAX / 2), 'd');
    assert!(advance(&mut w, 999_999_999).is_empty());
    assert_eq!(advance(&mut w, 1_000_000_000_000), vec![a, b, c]);
    assert_eq!(w.now(), 1_000_000_000_000);
    for k in 1..=64 {
        // Many empty epochs between each re-arm and its deadline.
        w.arm(a, w.now() + (1 << 50) + k);
        let target = w.now() + (1 << 50) + k;
        assert_eq!(advance(&mut w, target), vec![a]);
    }
    assert_eq!(advance(&mut w, u64::MAX), vec![d]);
    assert_eq!(w.armed(), 0);
}

#[test]
fn next_deadline_is_exact() {
    let mut w = Wheel::new(0);
    // All in the same level-2 slot [4096, 8192) from time 0.
    let x = w.insert(Some(5000), ());
    let y = w.insert(Some(4200), ());
    let z = w.insert(Some(4100), ());
    assert_eq!(w.next_deadline(), Some(4100));
    // The cheap bound is the slot's start.
    assert_eq!(w.next_wakeup(), Some(4096));
    w.disarm(z);
    assert_eq!(w.next_deadline(), Some(4200));
    w.remove(y);
    assert_eq!(w.next_deadline(), Some(5000));
    assert!(advance(&mut w, 4999).is_empty());
    assert_eq!(w.next_deadline(), Some(5000));
    w.arm(z, 4998); // past
    assert_eq!(w.next_deadline(), Some(4998));
    assert_eq!(advance(&mut w, 5000), vec![z, x]);
    assert_eq!(w.next_deadline(), None);

    // Against a brute-force minimum under random churn.
    let mut rng = Rng(5);
    let mut w = Wheel::new(0);
    let mut live: Vec<TimerId> = Vec::new();
    let mut deadline: HashMap<TimerId, u64> = HashMap::new();
    for _ in 0..5000 {
        match rng.below(4) {
            0 | 1 => {
                let d = w.now() + rng.spread(1, 31);
                let id = w.insert(Some(d), ());
                live.push(id);
                deadline.insert(id, d);
            }
            2 if !live.is_empty() => {
                let id = live.swap_remove(rng.below(live.len() as u64) as usize);
                w.remove(id);
                deadline.remove(&id);
            }
            _ => {
                let to = w.now() + rng.spread(0, 20);
                for id in advance(&mut w, to) {
                    deadline.remove(&id);
                }
            }
        }
        assert_eq!(w.next_deadline(), deadline.values().min().copied());
    }
}

/// A panicking callback leaves the wheel consistent; the entries it did not
/// get to stay armed and fire on the next advance.
#[test]
fn panicking_callback() {
    let mut w = Wheel::new(0);
    let ids: Vec<TimerId> = (0..5).map(|n| w.insert(Some(10), n)).collect();
    let mut seen = Vec::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        w.advance(10, |id, &mut n| {
            seen.push(id);
            if n == 2 {
                panic!("boom");
            }
        })
    }));
    assert!(r.is_err());
    assert_eq!(seen, ids[..3]);
    assert_eq!(w.armed(), 2);
    assert_eq!(advance(&mut w, 10), ids[3..]);
}

/// Per-entry memory, measured through `heap_bytes`: growing the slab from
/// 1024 to 2048 cells adds 1024 entries' worth.
#[test]
fn entry_size_at_most_40_bytes() {
    let mut w: Wheel<[u8; 16]> = Wheel::new(0);
    let mut sizes = Vec::new();
    for n in 0..2048u64 {
        w.insert(Some(n * 7919 % 100_000), [0; 16]);
        if n + 1 == 1024 || n + 1 == 2048 {
            sizes.push(w.heap_bytes());
        }
    }
    let entry = (sizes[1] - sizes[0]) / 1024;
    println!("entry size with a 16-byte payload: {entry} bytes");
    assert!(entry <= 40, "entry is {entry} bytes");
}

/// The engine's budget: a million armed timers with 16-byte payloads cost at
/// most 48 bytes each, all-in, also after they fired and were re-armed.
#[test]
fn million_timers_within_budget() {
    const N: u64 = 1_000_000;
    let mut w: Wheel<[u8; 16]> = Wheel::new(0);
    let mut rng = Rng(11);
    let ids: Vec<TimerId> = (0..N).map(|_| w.insert(Some(1 + rng.below(600_000)), [1; 16])).collect();
    assert_eq!(w.armed(), N as usize);
    let per_timer = w.heap_bytes() as f64 / N as f64;
    assert!(per_timer <= 48.0, "{per_timer} bytes per timer");
    let mut fired = 0;
    w.advance(300_000, |_, _| fired += 1);
    for &id in &ids {
        if !w.is_armed(id) {
            w.arm(id, w.now() + 1 + rng.below(600_000));
        }
    }
    w.advance(w.now(), |_, _| fired += 1);
    assert!(fired > 0);
    assert_eq!(w.armed(), N as usize);
    let per_timer = w.heap_bytes() as f64 / N as f64;
    assert!(per_timer <= 48.0, "{per_timer} bytes per timer after churn");
}

// ---- model-based property test ----

/// A time relative to the wheel's `now`.
#[derive(Debug, Clone, Copy)]
enum At {
    /// `now + n` (saturating).
    Ahead(u64),
    /// `now - n` (saturating).
    Behind(u64),
    /// The current earliest deadline plus `n` (or `now + n` if none).
    NextPlus(u64),
    /// `n - 1` after the next multiple of `64^k` above `now` (slot, level
    /// and epoch boundaries).
    Aligned(u32, u64),
}

#[derive(Debug, Clone)]
enum Op {
    Insert(Option<At>),
    Arm(usize, At),
    Disarm(usize),
    Remove(usize),
    Advance(At),
}

fn at() -> impl Strategy<Value = At> {
    prop_oneof![
        3 => (0u64..70).prop_map(At::Ahead),
        3 => (0u64..5000).prop_map(At::Ahead),
        2 => (0u64..(1 << 20)).prop_map(At::Ahead),
        1 => (0u64..(1 << 37)).prop_map(At::Ahead),
        1 => (0u64..(1 << 42)).prop_map(At::Ahead),
        1 => (0u64..100).prop_map(At::Behind),
        2 => (0u64..3).prop_map(At::NextPlus),
        2 => (1u32..=7, 0u64..3).prop_map(|(k, n)| At::Aligned(k, n)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => proptest::option::weighted(0.9, at()).prop_map(Op::Insert),
        2 => (any::<usize>(), at()).prop_map(|(k, a)| Op::Arm(k, a)),
        1 => any::<usize>().prop_map(Op::Disarm),
        1 => any::<usize>().prop_map(Op::Remove),
        3 => at().prop_map(Op::Advance),
    ]
}

fn start() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        0u64..(1 << 40),
        (EPOCH - 3000)..(EPOCH + 10),
        (u64::MAX - (1 << 43))..(u64::MAX - (1 << 42)),
    ]
}

/// The reference: armed entries ordered by (deadline, arm sequence).
struct Model {
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), TimerId>,
    /// Allocated ids and their queue key when armed.
    live: BTreeMap<u32, Option<(u64, u64)>>,
}

impl Model {
    fn resolve(&self, at: At) -> u64 {
        match at {
            At::Ahead(n) => self.now.saturating_add(n),
            At::Behind(n) => self.now.saturating_sub(n),
            At::NextPlus(n) => self.queue.keys().next().map_or(self.now, |k| k.0).saturating_add(n),
            At::Aligned(k, n) => {
                let mask = (1u64 << (6 * k)) - 1;
                (self.now | mask).saturating_add(n).max(self.now)
            }
        }
    }
    fn arm(&mut self, id: TimerId, deadline: u64) {
        self.disarm(id);
        self.seq += 1;
        self.queue.insert((deadline, self.seq), id);
        self.live.insert(id.0, Some((deadline, self.seq)));
    }
    fn disarm(&mut self, id: TimerId) {
        if let Some(key) = self.live.insert(id.0, None).flatten() {
            self.queue.remove(&key);
        }
    }
    fn pick(&self, k: usize) -> Option<TimerId> {
        (!self.live.is_empty()).then(|| TimerId(*self.live.keys().nth(k % self.live.len()).unwrap()))
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn matches_reference_model(start in start(), ops in prop::collection::vec(op(), 1..250)) {
        let mut w: Wheel<u64> = Wheel::new(start);
        let mut m = Model { now: start, seq: 0, queue: BTreeMap::new(), live: BTreeMap::new() };
        for op in ops {
            match op {
                Op::Insert(at) => {
                    let deadline = at.map(|a| m.resolve(a));
                    let id = w.insert(deadline, u64::from(w.len() as u32));
                    prop_assert!(!m.live.contains_key(&id.0), "live id handed out again");
                    m.live.insert(id.0, None);
                    if let Some(d) = deadline {
                        m.arm(id, d);
                    }
                }
                Op::Arm(k, at) => {
                    if let Some(id) = m.pick(k) {
                        let d = m.resolve(at);
                        w.arm(id, d);
                        m.arm(id, d);
                    }
                }
                Op::Disarm(k) => {
                    if let Some(id) = m.pick(k) {
                        w.disarm(id);
                        m.disarm(id);
                    }
                }
                Op::Remove(k) => {
                    if let Some(id) = m.pick(k) {
                        w.remove(id);
                        m.disarm(id);
                        m.live.remove(&id.0);
                    }
                }
                Op::Advance(at) => {
                    let to = m.resolve(at);
                    let fired = advance(&mut w, to);
                    m.now = m.now.max(to);
                    let mut expect = Vec::new();
                    while let Some(entry) = m.queue.first_entry() {
                        if entry.key().0 > m.now {
                            break;
                        }
                        let id = entry.remove();
                        m.live.insert(id.0, None);
                        expect.push(id);
                    }
                    prop_assert_eq!(fired, expect);
                    prop_assert_eq!(w.now(), m.now);
                }
            }
            prop_assert_eq!(w.len(), m.live.len());
            prop_assert_eq!(w.armed(), m.queue.len());
            let next = m.queue.keys().next().map(|k| k.0);
            prop_assert_eq!(w.next_deadline(), next);
            // Never later than the next deadline (or than now, when an
            // entry is already due), and never in the past.
            let wake = w.next_wakeup();
            prop_assert_eq!(wake.is_some(), next.is_some());
            if let (Some(wake), Some(next)) = (wake, next) {
                prop_assert!(wake <= next.max(w.now()), "next_wakeup {} after next_deadline {}", wake, next);
                prop_assert!(wake >= w.now().min(next));
            }
            for (&i, key) in &m.live {
                prop_assert_eq!(w.deadline(TimerId(i)), key.map(|k| k.0));
                prop_assert_eq!(w.is_armed(TimerId(i)), key.is_some());
            }
        }
    }
}
