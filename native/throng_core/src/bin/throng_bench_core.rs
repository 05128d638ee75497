//! `make bench-core`: the engine core at a million sessions.
//!
//! Creates `--sessions` (default 1,000,000) idle sessions of a small Rust
//! machine (state: an atom-like enum; data: three small fields), arms one
//! state time-out in each, drives casts through the full transition path on
//! one thread and on all threads, fires every time-out, and prints one line
//! per metric as `metric value unit`. Memory is measured with a counting
//! global allocator (live heap bytes), so figures are exact, not RSS
//! estimates. Every phase checks its result (events counted, time-outs
//! fired) and the program exits non-zero when a check fails.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use throng_core::{
    Action, CallbackMode, CallbackResult, Config, Cx, Discard, Engine, EventType, InitResult, Invocation, Machine,
    ManualClock, SessionId, Started, Step,
};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator and only counts sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live_bytes() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// The small machine: a device session.
struct Device;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DevState {
    Active,
    Idle,
}

#[derive(Debug, Clone, Copy, Default)]
struct DevData {
    events: u32,
    last: u32,
    flags: u16,
}

#[derive(Debug, Clone, Copy)]
enum DevMsg {
    /// A reading: counted.
    Touch(u32),
    /// Arms the idle state time-out.
    Arm,
    /// The time-out's message: back to Idle.
    Expire,
}

impl Machine for Device {
    type State = DevState;
    type Data = DevData;
    type Msg = DevMsg;
    type TimeoutName = ();
    type Reply = u32;
    type Reason = &'static str;
    type Module = ();
    type Args = ();
    type From = u32;
    type Watcher = u32;
    type Term = ();
    type Emit = ();

    fn init(&self, _cx: &mut Cx<'_, Self>, _m: &(), _args: ()) -> Step<InitResult<Self>> {
        Step::Ready(InitResult::Ok(DevState::Active, DevData::default(), Vec::new()))
    }

    fn callback_mode(&self, _m: &()) -> Result<CallbackMode, ()> {
        Ok(CallbackMode::HANDLE_EVENT_FUNCTION)
    }

    fn handle_event(&self, _cx: &mut Cx<'_, Self>, call: Invocation<'_, Self>) -> Step<CallbackResult<Self>> {
        let Invocation::Event { event, data, .. } = call else {
            return Step::Ready(CallbackResult::KeepStateAndData(Vec::new()));
        };
        Step::Ready(match (&event.kind, event.content) {
            (EventType::Cast, DevMsg::Touch(v)) => {
                // Same state: the state time-out keeps running.
                CallbackResult::KeepState(
                    DevData { events: data.events + 1, last: v, flags: data.flags | 1 },
                    Vec::new(),
                )
            }
            (EventType::Cast, DevMsg::Arm) => {
                CallbackResult::KeepStateAndData(vec![Action::state_timeout(60_000, DevMsg::Expire)])
            }
            (EventType::StateTimeout, DevMsg::Expire) => {
                CallbackResult::NextState(DevState::Idle, DevData { flags: data.flags | 2, ..*data }, Vec::new())
            }
            (EventType::Call(from), _) => CallbackResult::KeepStateAndData(vec![Action::Reply(*from, data.events)]),
            _ => CallbackResult::KeepStateAndData(Vec::new()),
        })
    }

    fn panic_reason(&self, _message: String) -> &'static str {
        "panic"
    }
}

fn metric(name: &str, value: f64, unit: &str) {
    if value >= 100.0 {
        println!("{name} {value:.0} {unit}");
    } else {
        println!("{name} {value:.2} {unit}");
    }
}

fn check(ok: bool, what: &str) {
    if !ok {
        eprintln!("bench-core: check failed: {what}");
        std::process::exit(1);
    }
}

fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn main() {
    let mut sessions: usize = 1_000_000;
    let mut rounds: usize = 10;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--sessions" => sessions = args.next().and_then(|v| v.parse().ok()).expect("--sessions N"),
            "--rounds" => rounds = args.next().and_then(|v| v.parse().ok()).expect("--rounds N"),
            "--help" | "-h" => {
                println!("throng_bench_core [--sessions N] [--rounds R]\n\nPrints `metric value unit` lines.");
                return;
            }
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let clock = ManualClock::new(1_000);
    let config = Config { max_sessions: sessions, ..Config::default() };
    let before_engine = live_bytes();
    let engine = Arc::new(Engine::new(Device, config, clock.clone()).expect("engine"));
    let base = live_bytes();
    let rss0 = rss_bytes();

    // Create.
    let t = Instant::now();
    let mut ids: Vec<SessionId> = Vec::with_capacity(sessions);
    let ids_bytes = live_bytes() - base;
    for _ in 0..sessions {
        match engine.start((), (), &mut Discard) {
            Ok(Started::Ok(id)) => ids.push(id),
            other => panic!("start failed: {other:?}"),
        }
    }
    let create_s = t.elapsed().as_secs_f64();
    check(engine.live() == sessions, "all sessions live");
    let after_create = live_bytes();
    let per_session = (after_create - base - ids_bytes) as f64 / sessions as f64;
    metric("core_sessions", sessions as f64, "sessions");
    metric("core_bytes_per_session", per_session, "bytes");
    metric("core_create_sessions_per_s", sessions as f64 / create_s, "sessions/s");
    if let (Some(a), Some(b)) = (rss0, rss_bytes()) {
        metric("core_rss_bytes_per_session", (b.saturating_sub(a)) as f64 / sessions as f64, "bytes");
    }
    let _ = before_engine;

    // Arm one state time-out per session.
    let before_timers = live_bytes();
    let t = Instant::now();
    for &id in &ids {
        engine.cast(id, DevMsg::Arm, &mut Discard).expect("arm");
    }
    let arm_s = t.elapsed().as_secs_f64();
    let stats = engine.stats();
    check(stats.timers == sessions, "one armed time-out per session");
    check(stats.queued_events == 0, "no event left queued after arming");
    let per_timer = (live_bytes() - before_timers) as f64 / sessions as f64;
    metric("core_bytes_per_timer", per_timer, "bytes");
    metric("core_arm_timeouts_per_s", sessions as f64 / arm_s, "timeouts/s");

    // Casts, one thread: every session gets `rounds` readings.
    let t = Instant::now();
    for r in 0..rounds {
        for &id in &ids {
            engine.cast(id, DevMsg::Touch(r as u32), &mut Discard).expect("cast");
        }
    }
    let one = (sessions * rounds) as f64 / t.elapsed().as_secs_f64();
    metric("core_events_per_s_1_thread", one, "events/s");

    // Casts, all threads: each thread drives the sessions of its own share
    // of the shards (as engine threads would), so threads do not contend.
    let ids = Arc::new(ids);
    let t = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|k| {
            let engine = engine.clone();
            let ids = ids.clone();
            std::thread::spawn(move || {
                let shards = engine.config().shards.next_power_of_two();
                let mine: Vec<SessionId> =
                    ids.iter().copied().filter(|id| (id.slot() as usize % shards) % threads == k).collect();
                for r in 0..rounds {
                    for &id in &mine {
                        engine.cast(id, DevMsg::Touch(r as u32), &mut Discard).expect("cast");
                    }
                }
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().expect("thread"));
    let all = (sessions * rounds) as f64 / t.elapsed().as_secs_f64();
    metric("core_threads", threads as f64, "threads");
    metric("core_events_per_s", all, "events/s");
    metric("core_events_per_s_per_core", all / threads as f64, "events/s");

    // Every session counted every reading and still has its time-out.
    let (_, d) = engine.get_state(ids[sessions / 2]).expect("state");
    check(d.events as usize == 2 * rounds && d.last as usize == rounds - 1, "events counted");
    check(engine.stats().timers == sessions, "time-outs kept across keep_state");

    // Fire all time-outs.
    clock.advance(60_000);
    let t = Instant::now();
    let fired = engine.tick(&mut Discard);
    while engine.run_pending(&mut Discard) {}
    let fire_s = t.elapsed().as_secs_f64();
    check(fired == sessions, "every time-out fired");
    check(engine.stats().timers == 0, "no time-out left");
    let (s, d) = engine.get_state(ids[0]).expect("state");
    check(s == DevState::Idle && d.flags & 2 != 0, "time-out handled");
    metric("core_timeouts_fired_per_s", sessions as f64 / fire_s, "timeouts/s");

    // Stop them all: the table returns to empty.
    let t = Instant::now();
    for &id in ids.iter() {
        engine.stop(id, None, None, &mut Discard).expect("stop");
    }
    metric("core_stop_sessions_per_s", sessions as f64 / t.elapsed().as_secs_f64(), "sessions/s");
    check(engine.live() == 0, "all sessions stopped");
    metric("core_live_after_stop", engine.live() as f64, "sessions");
}
