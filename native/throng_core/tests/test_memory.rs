//! Memory per idle session, counted exactly (a counting global allocator),
//! for a machine shaped like the BEAM glue's: state and data are encoded
//! terms ([`Bytes`], as the glue's `Etf`; the state is an atom, whose
//! encoding the glue shares), callbacks answer later, and the starter
//! monitors the session during `init/1` and removes the monitor afterwards,
//! as `throng:start/3` does.
//!
//! What an idle session may hold: its share of the session table and the
//! heap block of its data. Everything the start left behind (init
//! arguments, the monitor, the extras record) must be gone.
//!
//! Run with `--nocapture` to see the accounting.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

use throng_core::bytes::Bytes;
use throng_core::{
    CallbackMode, CallbackResult, Config, Cx, Discard, Engine, InitResult, Invocation, Machine, ManualClock, SessionId,
    Started, Step,
};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static BLOCKS: AtomicIsize = AtomicIsize::new(0);
/// Allocations made (not net of frees).
static ALLOCS: AtomicIsize = AtomicIsize::new(0);
/// Only this thread's allocations are counted while it is set (the test
/// harness runs other threads).
static COUNTING_THREAD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_ID: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    };
}

fn counted() -> bool {
    let me = THREAD_ID.try_with(|t| *t).unwrap_or(0);
    me != 0 && COUNTING_THREAD.load(Ordering::Relaxed) == me
}

// SAFETY: forwards to the system allocator and only counts sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if counted() {
            LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
            BLOCKS.fetch_add(1, Ordering::Relaxed);
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
            BLOCKS.fetch_sub(1, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if counted() {
            LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// `{Pid, Tag}`: a caller or a monitor's watcher.
#[derive(Debug, Clone, PartialEq)]
struct From {
    pid: u64,
    tag: Bytes,
}

/// The BEAM machine's shape: every callback answers later.
struct Encoded;

impl Machine for Encoded {
    type State = Bytes;
    type Data = Bytes;
    type Msg = Bytes;
    type TimeoutName = Bytes;
    type Reply = Bytes;
    type Reason = Bytes;
    type Module = u64;
    type Args = (Bytes, From);
    type From = From;
    type Watcher = From;
    type Term = Bytes;
    type Emit = ();

    fn init(&self, _cx: &mut Cx<'_, Self>, _m: &u64, args: (Bytes, From)) -> Step<InitResult<Self>> {
        // The glue sends the arguments to an executor and drops them.
        drop(args);
        Step::Pending
    }
    fn callback_mode(&self, _m: &u64) -> Result<CallbackMode, Bytes> {
        Ok(CallbackMode::STATE_FUNCTIONS)
    }
    fn handle_event(&self, _cx: &mut Cx<'_, Self>, _call: Invocation<'_, Self>) -> Step<CallbackResult<Self>> {
        Step::Pending
    }
    fn panic_reason(&self, message: String) -> Bytes {
        Bytes::new(message.as_bytes())
    }
}

/// `term_to_binary(locked)`.
const STATE: &[u8] = &[131, 119, 6, b'l', b'o', b'c', b'k', b'e', b'd'];
/// As long as `term_to_binary(#{code => [1,2,3], remaining => [1,2,3], open_ms => 1000})`.
const DATA_LEN: usize = 52;

fn tag(i: usize) -> Bytes {
    // A reference's encoding is 36 bytes long.
    let mut t = vec![131u8; 36];
    t[28..36].copy_from_slice(&(i as u64).to_be_bytes());
    Bytes::new(&t)
}

/// What `throng:start/3` does: start with the starter as a watcher, hand
/// in init's result, remove the starter's monitor.
fn start(engine: &Engine<Encoded>, state: &Bytes, i: usize) -> SessionId {
    let from = From { pid: i as u64, tag: tag(i) };
    let args = (Bytes::new(&[131, 104, 2, 107, 0, 3, 1, 2, 3, 98, 0, 0, 3, 232]), from.clone());
    let Ok(Started::Pending(id)) = engine.start_monitored(7, args, Some(from.clone()), &mut Discard) else {
        panic!("start")
    };
    let data = Bytes::new(&[0u8; DATA_LEN]);
    let init = InitResult::Ok(state.clone(), data, vec![]);
    assert!(matches!(engine.resume_init(id, init, &mut Discard), Ok(Started::Ok(_))));
    assert!(engine.demonitor_matching(id, |w| *w == from));
    id
}

#[test]
fn idle_session_holds_its_slot_and_data_only() {
    const N: usize = 200_000;
    let engine = Engine::new(Encoded, Config::default(), ManualClock::new(0)).unwrap();
    let mut ids = Vec::with_capacity(N);
    // The atom's encoding, shared as the glue shares it.
    let state = Bytes::shared(STATE);
    let table0 = engine.stats().table_bytes;
    THREAD_ID.with(|t| COUNTING_THREAD.store(*t, Ordering::Relaxed));
    let (bytes0, blocks0) = (LIVE.load(Ordering::Relaxed), BLOCKS.load(Ordering::Relaxed));
    for i in 0..N {
        ids.push(start(&engine, &state, i));
    }
    let (bytes1, blocks1) = (LIVE.load(Ordering::Relaxed), BLOCKS.load(Ordering::Relaxed));
    // Removing a monitor from a session that has none allocates nothing.
    let allocs = ALLOCS.load(Ordering::Relaxed);
    assert!(!engine.demonitor_matching(ids[0], |_| true));
    assert!(!engine.demonitor(ids[1], 12_345));
    assert_eq!(ALLOCS.load(Ordering::Relaxed), allocs);
    COUNTING_THREAD.store(0, Ordering::Relaxed);

    let stats = engine.stats();
    assert_eq!(stats.sessions, N);
    assert_eq!(stats.queued_events, 0);
    let per = |x: isize| x as f64 / N as f64;
    let total = per(bytes1 - bytes0);
    let blocks = per(blocks1 - blocks0);
    let table = (stats.table_bytes - table0) as f64 / N as f64;
    // The data's block: its length (one byte) and its bytes.
    let terms = (1 + DATA_LEN) as f64;
    let rest = total - table - terms;
    println!("bytes per idle session (requested sizes, {N} sessions):");
    println!("  session table      {table:7.2}  ({} B a slot)", engine.slot_bytes());
    println!("  data heap          {terms:7.2}  (1 + {DATA_LEN} B; the state is shared)");
    println!("  anything else      {rest:7.2}");
    println!("  total              {total:7.2}  in {blocks:.3} heap blocks a session");
    // One heap block a session (the data) and the table's chunks.
    assert!(blocks < 1.01, "{blocks} heap blocks a session");
    // Nothing else per session: the start's monitor, extras and arguments
    // are freed.
    assert!(rest.abs() < 1.0, "{rest} bytes a session besides the table and data");
    // The table grows in chunks, not by doubling.
    assert!(table <= engine.slot_bytes() as f64 * 1.1, "table {table} B a session");
    // A slot: generation, state, data, parameters, extras, timer chain and
    // flags, the slot's tag in a niche.
    assert!(engine.slot_bytes() <= 48, "{} B a slot", engine.slot_bytes());
}
