//! Leak test: a million sessions created and dropped; the live count, the
//! timer count and the queued-event count all return to zero, and slots
//! are reused (the table does not grow past what one generation needed).

use throng_core::{
    Action, CallbackMode, CallbackResult, Config, Cx, Discard, Engine, EventType, InitResult, Invocation, Machine,
    ManualClock, Started, Step,
};

struct Counter;

impl Machine for Counter {
    type State = u8;
    type Data = u32;
    type Msg = u32;
    type TimeoutName = u8;
    type Reply = u32;
    type Reason = String;
    type Module = ();
    type Args = u32;
    type From = u32;
    type Watcher = u32;
    type Term = ();
    type Emit = ();

    fn init(&self, _cx: &mut Cx<'_, Self>, _m: &(), n: u32) -> Step<InitResult<Self>> {
        // Every session starts with a state time-out and a named time-out.
        Step::Ready(InitResult::Ok(0, n, vec![Action::state_timeout(1_000, 1), Action::generic_timeout(7, 5_000, 2)]))
    }
    fn callback_mode(&self, _m: &()) -> Result<CallbackMode, ()> {
        Ok(CallbackMode::HANDLE_EVENT_FUNCTION)
    }
    fn handle_event(&self, _cx: &mut Cx<'_, Self>, call: Invocation<'_, Self>) -> Step<CallbackResult<Self>> {
        Step::Ready(match call {
            Invocation::Event { event, data, .. } => match event.kind {
                // Postpone odd casts so some sessions die holding postponed events.
                EventType::Cast if event.content % 2 == 1 => CallbackResult::KeepStateAndData(vec![Action::Postpone]),
                _ => CallbackResult::KeepState(data + 1, vec![]),
            },
            Invocation::Enter { .. } => CallbackResult::KeepStateAndData(vec![]),
        })
    }
    fn panic_reason(&self, message: String) -> String {
        message
    }
}

#[test]
fn leak_million_sessions() {
    const N: usize = 1_000_000;
    const BATCH: usize = 100_000;
    let clock = ManualClock::new(0);
    let engine = Engine::new(Counter, Config { max_sessions: BATCH, ..Config::default() }, clock.clone()).unwrap();
    let mut ids = Vec::with_capacity(BATCH);
    let mut first_table_bytes = None;
    for round in 0..N / BATCH {
        for i in 0..BATCH {
            let Ok(Started::Ok(id)) = engine.start((), i as u32, &mut Discard) else { panic!("start") };
            if i % 3 == 0 {
                engine.cast(id, 1, &mut Discard).unwrap(); // postponed
            }
            ids.push(id);
        }
        assert_eq!(engine.live(), BATCH);
        let stats = engine.stats();
        assert_eq!(stats.timers, 2 * BATCH);
        assert_eq!(stats.queued_events, BATCH.div_ceil(3));
        // The table reached its size in the first round and never grows.
        let bytes = stats.table_bytes;
        assert!(bytes <= *first_table_bytes.get_or_insert(bytes), "round {round}: table grew");
        // Stop them all; their time-outs and postponed events go with them.
        for id in ids.drain(..) {
            engine.stop(id, None, None, &mut Discard).unwrap();
            assert!(!engine.is_alive(id));
        }
        assert_eq!(engine.live(), 0);
        let stats = engine.stats();
        assert_eq!((stats.sessions, stats.timers, stats.queued_events), (0, 0, 0));
        clock.advance(10_000);
        assert_eq!(engine.tick(&mut Discard), 0, "no timer of a stopped session fires");
    }
}
