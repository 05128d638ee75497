//! Stress: several threads drive different sessions of one engine at once
//! (as BEAM schedulers and engine threads do), while another thread fires
//! timers. Every event is handled exactly once and the counts add up.

use std::sync::Arc;

use throng_core::{
    Action, CallbackMode, CallbackResult, Collect, Config, Cx, Discard, Emitted, Engine, EventType, InitResult,
    Invocation, Machine, ManualClock, Started, Step, SystemReply,
};

struct Tally;

impl Machine for Tally {
    type State = bool;
    type Data = u64;
    type Msg = u64;
    type TimeoutName = ();
    type Reply = u64;
    type Reason = String;
    type Module = ();
    type Args = ();
    type From = u64;
    type Watcher = u64;
    type Term = ();
    type Emit = ();

    fn init(&self, _cx: &mut Cx<'_, Self>, _m: &(), _a: ()) -> Step<InitResult<Self>> {
        Step::Ready(InitResult::Ok(false, 0, vec![]))
    }
    fn callback_mode(&self, _m: &()) -> Result<CallbackMode, ()> {
        Ok(CallbackMode::HANDLE_EVENT_FUNCTION.with_state_enter())
    }
    fn handle_event(&self, _cx: &mut Cx<'_, Self>, call: Invocation<'_, Self>) -> Step<CallbackResult<Self>> {
        Step::Ready(match call {
            Invocation::Enter { .. } => CallbackResult::KeepStateAndData(vec![Action::state_timeout(1, 0)]),
            Invocation::Event { event, state, data, .. } => match &event.kind {
                EventType::Cast => CallbackResult::NextState(!state, data + event.content, vec![]),
                EventType::StateTimeout => CallbackResult::KeepState(data + 1_000_000, vec![]),
                EventType::Call(from) => CallbackResult::KeepStateAndData(vec![Action::Reply(*from, *data)]),
                _ => CallbackResult::KeepStateAndData(vec![]),
            },
        })
    }
    fn panic_reason(&self, message: String) -> String {
        message
    }
}

#[test]
fn threads_drive_disjoint_sessions() {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 2_000;
    const ROUNDS: u64 = 50;
    let clock = ManualClock::new(0);
    let engine = Arc::new(Engine::new(Tally, Config { shards: 8, ..Config::default() }, clock.clone()).unwrap());
    let ids: Vec<_> = (0..THREADS * PER_THREAD)
        .map(|_| match engine.start((), (), &mut Discard).unwrap() {
            Started::Ok(id) => id,
            other => panic!("{other:?}"),
        })
        .collect();
    let ids = Arc::new(ids);
    let ticker = {
        let engine = engine.clone();
        let clock = clock.clone();
        std::thread::spawn(move || {
            let mut fired = 0;
            for _ in 0..200 {
                clock.advance(1);
                fired += engine.tick(&mut Discard);
                while engine.run_pending(&mut Discard) {}
            }
            fired
        })
    };
    let workers: Vec<_> = (0..THREADS)
        .map(|k| {
            let engine = engine.clone();
            let ids = ids.clone();
            std::thread::spawn(move || {
                for r in 1..=ROUNDS {
                    for &id in &ids[k * PER_THREAD..(k + 1) * PER_THREAD] {
                        engine.cast(id, r, &mut Discard).unwrap();
                    }
                }
            })
        })
        .collect();
    workers.into_iter().for_each(|w| w.join().unwrap());
    let fired = ticker.join().unwrap();
    // Let every time-out still armed fire.
    clock.advance(10);
    let fired = fired + engine.tick(&mut Discard);
    while engine.run_pending(&mut Discard) {}
    assert_eq!(engine.stats().timers, 0);
    assert_eq!(engine.counts().timers, 0);
    let mut out = Collect::<Tally>::default();
    let mut total_timeouts = 0;
    for (i, &id) in ids.iter().enumerate() {
        engine.call(id, i as u64, 0, &mut out).unwrap();
        let Some(Emitted::Reply(from, data)) = out.emitted.pop() else { panic!("no reply") };
        assert_eq!(from, i as u64);
        // Casts: 1 + 2 + … + ROUNDS, each exactly once.
        assert_eq!(data % 1_000_000, ROUNDS * (ROUNDS + 1) / 2, "session {i}");
        total_timeouts += data / 1_000_000;
    }
    // Every fired time-out was handled by exactly one session.
    assert_eq!(total_timeouts as usize, fired);
    // sync answers once everything is handled.
    engine.sync(ids[0], 99, &mut out).unwrap();
    assert!(matches!(out.emitted.pop(), Some(Emitted::System(99, SystemReply::Ok))));
}
