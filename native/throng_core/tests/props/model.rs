//! The reference model: one session, re-implemented from
//! GEN_STATEM_SEMANTICS.md §1.4–§1.8 in the plainest way. Vec-based queues,
//! a list of timers with their deadline and start order, linear scans; no
//! wheel, nothing shared with the engine but the callback module
//! ([`react`]).
//!
//! One choice differs from OTP 25 on purpose: §1.16 (restarting a *pending
//! zero* time-out with a time > 0 loses the new timer in OTP) is modelled as
//! the intended behaviour, a normal restart, which is what the engine does.

use std::collections::VecDeque;

use throng_core::machines::term::Term;

use super::program::*;

/// An event: type and content.
#[derive(Debug, Clone, PartialEq)]
pub struct Ev {
    pub kind: EvKind,
    pub content: Term,
}

/// A mailbox item: an external event, a timer that expired (its message is
/// read from the timer when the item is taken, as OTP reads its map), or a
/// request answered by the loop itself, in mailbox order.
#[derive(Debug, Clone, PartialEq)]
enum Mail {
    Event(Ev),
    Fired(TKind),
    /// `sync`: answered when reached (queue and zero time-outs empty).
    Sync(u64),
    /// `sys:suspend` / `sys:resume`: system messages, the only ones a
    /// suspended session takes (from anywhere in its mailbox).
    Suspend(u64),
    Resume(u64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TimerState {
    /// Started: expires at `deadline`; `seq` is the start order.
    Running { deadline: i64, seq: u64 },
    /// A zero time-out: its type is in `t0q`.
    Zero,
    /// Expired: a `Mail::Fired` waits in the mailbox.
    Fired,
}

#[derive(Debug, Clone)]
struct Timer {
    kind: TKind,
    msg: Term,
    st: TimerState,
}

/// A transition in progress (§1.6's loop variables).
#[derive(Debug, Clone)]
struct Tr {
    /// `None` for the init transition.
    ev: Option<Ev>,
    s0: u8,
    s1: u8,
    d1: i64,
    in_enter: bool,
    postpone: bool,
    next_events: Vec<Ev>,
    timeouts: Vec<(TKind, TTime, Option<Term>)>,
}

/// What a snapshot compares.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub state: u8,
    pub data: i64,
    /// Inserted and retried events, then the mailbox.
    pub queue_len: usize,
    pub postponed_len: usize,
    /// Every time-out held (running, zero, expired), sorted.
    pub timeouts: Vec<(TKind, String)>,
    pub busy: bool,
    pub suspended: bool,
    /// The earliest running deadline.
    pub next_deadline: Option<i64>,
}

pub struct Model<'p> {
    prog: &'p Program,
    /// Every callback answers later (as `Script::deferred`).
    deferred: bool,
    pub counters: Counters,
    pub now: i64,
    state: u8,
    data: i64,
    queue: VecDeque<Ev>,
    postponed: Vec<Ev>,
    mailbox: VecDeque<Mail>,
    t0q: VecDeque<TKind>,
    timers: Vec<Timer>,
    seq: u64,
    pending: Option<(Tr, Outcome)>,
    suspended: bool,
    pub trace: Vec<Entry>,
    /// The requests answered (`sync`, `suspend`, `resume`), in order.
    pub replies: Vec<u64>,
}

impl<'p> Model<'p> {
    pub fn new(prog: &'p Program, deferred: bool, now: i64) -> Self {
        Model {
            prog,
            deferred,
            counters: Counters::default(),
            now,
            state: prog.init_state,
            data: 0,
            queue: VecDeque::new(),
            postponed: Vec::new(),
            mailbox: VecDeque::new(),
            t0q: VecDeque::new(),
            timers: Vec::new(),
            seq: 0,
            pending: None,
            suspended: false,
            trace: Vec::new(),
            replies: Vec::new(),
        }
    }

    /// §1.2 `enter/8`: the init actions, `{postpone,false}`, an enter call
    /// with `OldState =:= State`, as a transition for a fake event.
    pub fn start(&mut self, init_actions: Vec<Act>) {
        let mut tr = self.new_tr(None);
        for a in init_actions {
            self.collect_action(&mut tr, a);
        }
        self.after_actions(tr, true);
        self.run();
    }

    /// Casts that arrive together: all reach the mailbox, then the session
    /// runs.
    pub fn cast(&mut self, contents: Vec<Term>) {
        for content in contents {
            self.mailbox.push_back(Mail::Event(Ev { kind: EvKind::Cast, content }));
        }
        self.run();
    }

    pub fn sync(&mut self, from: u64) {
        self.mailbox.push_back(Mail::Sync(from));
        self.run();
    }

    pub fn sys_suspend(&mut self, from: u64) {
        self.mailbox.push_back(Mail::Suspend(from));
        self.run();
    }

    pub fn sys_resume(&mut self, from: u64) {
        self.mailbox.push_back(Mail::Resume(from));
        self.run();
    }

    pub fn is_suspended(&self) -> bool {
        self.suspended
    }

    /// The clock reads `self.now`: every running timer whose deadline has
    /// passed expires, in deadline order, then start order; its event goes
    /// to the mailbox. Returns how many expired.
    pub fn tick(&mut self) -> usize {
        let mut due: Vec<(i64, u64, TKind)> = self
            .timers
            .iter()
            .filter_map(|t| match t.st {
                TimerState::Running { deadline, seq } if deadline <= self.now => Some((deadline, seq, t.kind)),
                _ => None,
            })
            .collect();
        due.sort_by_key(|&(deadline, seq, _)| (deadline, seq));
        for &(_, _, kind) in &due {
            self.timer_mut(kind).expect("due timer").st = TimerState::Fired;
            self.mailbox.push_back(Mail::Fired(kind));
        }
        self.run();
        due.len()
    }

    pub fn is_busy(&self) -> bool {
        self.pending.is_some()
    }

    /// Hands in the answer of the callback that is waiting.
    pub fn resume(&mut self) {
        let (tr, o) = self.pending.take().expect("resume of a session that waits for nothing");
        self.apply(tr, o);
        self.run();
    }

    pub fn view(&self) -> View {
        let mut timeouts: Vec<(TKind, String)> = self.timers.iter().map(|t| (t.kind, format!("{:?}", t.msg))).collect();
        timeouts.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        View {
            state: self.state,
            data: self.data,
            queue_len: self.queue.len()
                + self.mailbox.iter().filter(|m| matches!(m, Mail::Event(_) | Mail::Fired(_))).count(),
            postponed_len: self.postponed.len(),
            timeouts,
            busy: self.pending.is_some(),
            suspended: self.suspended,
            next_deadline: self.next_deadline(),
        }
    }

    pub fn next_deadline(&self) -> Option<i64> {
        self.timers
            .iter()
            .filter_map(|t| match t.st {
                TimerState::Running { deadline, .. } => Some(deadline),
                _ => None,
            })
            .min()
    }

    /// What `Stats::queued_events` and `max_queue_len` count: external
    /// events in the mailbox (not fired timers, not requests), the queue and
    /// the postponed events.
    pub fn held_events(&self) -> usize {
        self.mailbox.iter().filter(|m| matches!(m, Mail::Event(_))).count() + self.queue.len() + self.postponed.len()
    }

    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }

    // ------------------------------------------------------------ the loop

    /// §1.6 `loop`: the queue, then the zero time-outs, then the mailbox.
    /// Suspended: only system messages, wherever they are in the mailbox.
    fn run(&mut self) {
        while self.pending.is_none() {
            let item = if self.suspended {
                let Some(pos) = self.mailbox.iter().position(|m| matches!(m, Mail::Suspend(_) | Mail::Resume(_)))
                else {
                    return;
                };
                self.mailbox.remove(pos).expect("found")
            } else if let Some(ev) = self.queue.pop_front() {
                Mail::Event(ev)
            } else if let Some(kind) = self.t0q.pop_front() {
                let t = self.remove_timer(kind).expect("a zero time-out has a timer");
                assert_eq!(t.st, TimerState::Zero);
                Mail::Event(Ev { kind: EvKind::Timeout(kind), content: t.msg })
            } else {
                let Some(item) = self.mailbox.pop_front() else { return };
                item
            };
            let ev = match item {
                Mail::Event(ev) => ev,
                Mail::Fired(kind) => {
                    let t = self.remove_timer(kind).expect("a fired time-out has a timer");
                    assert_eq!(t.st, TimerState::Fired);
                    Ev { kind: EvKind::Timeout(kind), content: t.msg }
                }
                Mail::Sync(from) => {
                    self.replies.push(from);
                    continue;
                }
                Mail::Suspend(from) | Mail::Resume(from) => {
                    self.suspended = matches!(item, Mail::Suspend(_));
                    self.replies.push(from);
                    continue;
                }
            };
            let tr = self.new_tr(Some(ev));
            self.invoke(tr);
        }
    }

    fn new_tr(&self, ev: Option<Ev>) -> Tr {
        Tr {
            ev,
            s0: self.state,
            s1: self.state,
            d1: self.data,
            in_enter: false,
            postpone: false,
            next_events: Vec::new(),
            timeouts: Vec::new(),
        }
    }

    /// Calls the callback for the transition's current step.
    fn invoke(&mut self, tr: Tr) {
        let call = if tr.in_enter {
            Call::Enter { old: tr.s0, state: tr.s1, data: tr.d1 }
        } else {
            let ev = tr.ev.as_ref().expect("an event callback has an event");
            Call::Event { state: tr.s0, kind: ev.kind.clone(), content: ev.content.clone(), data: tr.d1 }
        };
        let (o, entry) = react(self.prog, &call, self.now, &mut self.counters);
        self.trace.push(entry);
        if self.deferred {
            self.pending = Some((tr, o));
        } else {
            self.apply(tr, o);
        }
    }

    /// §1.4: one callback result. "Current" is the state the callback was
    /// called in: `s1` (for an event callback `s1 = s0`).
    fn apply(&mut self, mut tr: Tr, o: Outcome) {
        let current = tr.s1;
        let call_enter = match o.res {
            Res::NextState(s, d) => {
                tr.d1 = d;
                if s == current {
                    false
                } else {
                    assert!(!tr.in_enter, "the program changed the state in an enter call");
                    tr.s1 = s;
                    true
                }
            }
            Res::KeepStateAndData => false,
            Res::KeepState(d) => {
                tr.d1 = d;
                false
            }
            Res::RepeatStateAndData => true,
            Res::RepeatState(d) => {
                tr.d1 = d;
                true
            }
        };
        for a in o.acts {
            self.collect_action(&mut tr, a);
        }
        self.after_actions(tr, call_enter);
    }

    /// §1.5: actions in list order into the transition's accumulator.
    fn collect_action(&self, tr: &mut Tr, a: Act) {
        match a {
            Act::Postpone(p) => {
                assert!(!(p && tr.in_enter), "the program postponed in an enter call");
                tr.postpone = p;
            }
            Act::Hibernate(_) => {}
            Act::NextEvent(content) => {
                assert!(!tr.in_enter, "the program inserted an event in an enter call");
                tr.next_events.push(Ev { kind: EvKind::Internal, content });
            }
            Act::Timeout(kind, time, msg) => tr.timeouts.push((kind, time, msg)),
        }
    }

    fn after_actions(&mut self, mut tr: Tr, call_enter: bool) {
        if tr.ev.is_none() {
            // init: the actions are followed by {postpone,false}.
            tr.postpone = false;
        }
        if call_enter && self.prog.state_enter {
            // §1.8: every enter call of the transition has OldState = s0.
            tr.in_enter = true;
            self.invoke(tr);
        } else {
            self.finish(tr);
        }
    }

    /// §1.6 after the callbacks: postpone, state change (postponed events
    /// first, state time-out cancelled), event time-out cancelled, new
    /// time-outs (§1.7), inserted events first.
    fn finish(&mut self, tr: Tr) {
        self.data = tr.d1;
        if tr.postpone {
            self.postponed.push(tr.ev.clone().expect("init never postpones"));
        }
        if tr.s1 != tr.s0 {
            self.state = tr.s1;
            let mut q: VecDeque<Ev> = std::mem::take(&mut self.postponed).into();
            q.extend(self.queue.drain(..));
            self.queue = q;
            self.cancel(TKind::State);
        }
        self.cancel(TKind::Event);
        self.apply_timeouts(&tr.timeouts);
        for ev in tr.next_events.into_iter().rev() {
            self.queue.push_front(ev);
        }
    }

    /// §1.7 "Applying the time-out actions of one transition".
    fn apply_timeouts(&mut self, all: &[(TKind, TTime, Option<Term>)]) {
        // Last wins per type: keep each type's last action, in action order.
        let winners: Vec<&(TKind, TTime, Option<Term>)> = all
            .iter()
            .enumerate()
            .filter(|(i, (k, _, _))| !all[i + 1..].iter().any(|(k2, _, _)| k2 == k))
            .map(|(_, a)| a)
            .collect();
        // Timers start in reverse action order; zero time-outs join t0q in
        // action order, after the ones already there.
        let mut zeros: Vec<(TKind, Term)> = Vec::new();
        for (kind, time, msg) in winners.into_iter().rev() {
            let kind = *kind;
            match (time, msg) {
                (TTime::Infinity | TTime::Cancel, _) => self.cancel(kind),
                (TTime::Zero | TTime::Abs(0), Some(msg)) => {
                    self.cancel(kind);
                    zeros.insert(0, (kind, msg.clone()));
                }
                (TTime::Ms(ms), Some(msg)) => {
                    // §1.16: OTP 25 loses this timer when a zero time-out of
                    // the type is pending; modelled as a plain restart.
                    self.cancel(kind);
                    self.seq += 1;
                    let st = TimerState::Running { deadline: self.now + *ms as i64, seq: self.seq };
                    self.timers.push(Timer { kind, msg: msg.clone(), st });
                }
                (TTime::Abs(at), Some(msg)) => {
                    self.cancel(kind);
                    if *at <= self.now {
                        // Already due: it fires at once, through the
                        // mailbox, so after every zero time-out.
                        self.timers.push(Timer { kind, msg: msg.clone(), st: TimerState::Fired });
                        self.mailbox.push_back(Mail::Fired(kind));
                    } else {
                        self.seq += 1;
                        self.timers.push(Timer {
                            kind,
                            msg: msg.clone(),
                            st: TimerState::Running { deadline: *at, seq: self.seq },
                        });
                    }
                }
                (TTime::Update, Some(msg)) => match self.timer_mut(kind) {
                    Some(t) => t.msg = msg.clone(),
                    None => zeros.insert(0, (kind, msg.clone())),
                },
                (TTime::AbsIn(_), _) => unreachable!("build_acts makes it absolute"),
                (_, None) => unreachable!("only cancel has no message"),
            }
        }
        for (kind, msg) in zeros {
            self.timers.push(Timer { kind, msg, st: TimerState::Zero });
            self.t0q.push_back(kind);
        }
    }

    /// Cancels exactly: a running timer, a pending zero time-out, or an
    /// expired one whose event is still in the mailbox.
    fn cancel(&mut self, kind: TKind) {
        let Some(t) = self.remove_timer(kind) else { return };
        match t.st {
            TimerState::Running { .. } => {}
            TimerState::Zero => self.t0q.retain(|k| *k != kind),
            TimerState::Fired => self.mailbox.retain(|m| *m != Mail::Fired(kind)),
        }
    }

    fn timer_mut(&mut self, kind: TKind) -> Option<&mut Timer> {
        self.timers.iter_mut().find(|t| t.kind == kind)
    }

    fn remove_timer(&mut self, kind: TKind) -> Option<Timer> {
        let pos = self.timers.iter().position(|t| t.kind == kind)?;
        Some(self.timers.remove(pos))
    }
}
