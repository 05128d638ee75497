//! Callback results, from terms to the engine's types: gen_statem's result
//! and action shapes, read exactly as `gen_statem` reads them. What cannot
//! be read is kept as it was ([`Action::Invalid`], [`CallbackResult::Invalid`],
//! ...) for the engine to report with gen_statem's error reasons.
//!
//! Written once against [`TermView`]; the NIF and the port program read
//! their own terms through it.

use throng_core::{
    Action, CallbackFunction, CallbackMode, CallbackResult, Event, EventType, InitResult, ReplyAction, TimeoutAction,
    TimeoutForm, TimeoutTime, TimeoutType,
};

use crate::etf::Etf;
use crate::machine::{Beam, BeamFrom, Host, Mod};
use crate::view::{Name, TermView};

/// The machine a view's host runs.
type M<T> = Beam<<T as TermView>::Host>;
type Pid<T> = <<T as TermView>::Host as Host>::Pid;

/// `Module:init/1`'s result.
pub fn init_result<T: TermView>(t: T) -> InitResult<M<T>> {
    if t.is(Name::Ignore) {
        return InitResult::Ignore;
    }
    if let Some(items) = t.tuple() {
        if items.first().is_some_and(|a| a.is(Name::Ok)) {
            match items.len() {
                3 => return InitResult::Ok(items[1].store(), items[2].store(), vec![]),
                4 => return InitResult::Ok(items[1].store(), items[2].store(), actions(items[3])),
                _ => {}
            }
        } else if items.len() == 2 && items[0].is(Name::Stop) {
            return InitResult::Stop(items[1].store());
        }
    }
    InitResult::Invalid(t.store())
}

/// A state callback's result.
pub fn callback_result<T: TermView>(t: T) -> CallbackResult<M<T>> {
    if let Some(a) = t.atom() {
        let is = |n| T::atom_is(&a, n);
        return if is(Name::KeepStateAndData) {
            CallbackResult::KeepStateAndData(vec![])
        } else if is(Name::RepeatStateAndData) {
            CallbackResult::RepeatStateAndData(vec![])
        } else if is(Name::Stop) {
            CallbackResult::Stop(None, None)
        } else {
            CallbackResult::Invalid(t.store())
        };
    }
    let Some(items) = t.tuple() else { return CallbackResult::Invalid(t.store()) };
    let Some(tag) = items.first().and_then(|a| a.atom()) else { return CallbackResult::Invalid(t.store()) };
    let is = |n| T::atom_is(&tag, n);
    let e = |i: usize| items[i].store();
    match items.len() {
        2 if is(Name::KeepState) => CallbackResult::KeepState(e(1), vec![]),
        2 if is(Name::KeepStateAndData) => CallbackResult::KeepStateAndData(actions(items[1])),
        2 if is(Name::RepeatState) => CallbackResult::RepeatState(e(1), vec![]),
        2 if is(Name::RepeatStateAndData) => CallbackResult::RepeatStateAndData(actions(items[1])),
        2 if is(Name::Stop) => CallbackResult::Stop(Some(e(1)), None),
        3 if is(Name::NextState) => CallbackResult::NextState(e(1), e(2), vec![]),
        3 if is(Name::KeepState) => CallbackResult::KeepState(e(1), actions(items[2])),
        3 if is(Name::RepeatState) => CallbackResult::RepeatState(e(1), actions(items[2])),
        3 if is(Name::Stop) => CallbackResult::Stop(Some(e(1)), Some(e(2))),
        3 if is(Name::StopAndReply) => CallbackResult::StopAndReply(Some(e(1)), replies(items[2]), None),
        4 if is(Name::NextState) => CallbackResult::NextState(e(1), e(2), actions(items[3])),
        4 if is(Name::StopAndReply) => CallbackResult::StopAndReply(Some(e(1)), replies(items[2]), Some(e(3))),
        _ => CallbackResult::Invalid(t.store()),
    }
}

/// `callback_mode()`'s result: an atom or a list of atoms; the last mode
/// wins; `state_enter` anywhere turns enter calls on; anything else (an
/// improper list too), or no mode at all, is
/// `{bad_return_from_callback_mode, R}`.
pub fn callback_mode<T: TermView>(t: T) -> Result<CallbackMode, Etf> {
    let mut function = None;
    let mut state_enter = false;
    let mut read = |i: T| -> Option<()> {
        let a = i.atom()?;
        if T::atom_is(&a, Name::StateFunctions) {
            function = Some(CallbackFunction::StateFunctions);
        } else if T::atom_is(&a, Name::HandleEventFunction) {
            function = Some(CallbackFunction::HandleEventFunction);
        } else if T::atom_is(&a, Name::StateEnter) {
            state_enter = true;
        } else {
            return None;
        }
        Some(())
    };
    if t.is_list() {
        let mut cur = t;
        while let Some((h, tail)) = cur.list_cell() {
            read(h).ok_or_else(|| t.store())?;
            cur = tail;
        }
        if !cur.is_nil() {
            return Err(t.store());
        }
    } else {
        read(t).ok_or_else(|| t.store())?;
    }
    match function {
        Some(function) => Ok(CallbackMode { function, state_enter }),
        None => Err(t.store()),
    }
}

/// gen_statem's `listify`: a list is the actions, anything else one
/// action. An improper tail is one more (bad) action.
fn listify<T: TermView>(t: T) -> Listify<T> {
    if t.is_list() {
        Listify::List(t)
    } else {
        Listify::One(t)
    }
}

enum Listify<T> {
    One(T),
    List(T),
    Done,
}

impl<T: TermView> Iterator for Listify<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match std::mem::replace(self, Listify::Done) {
            Listify::One(t) => Some(t),
            Listify::List(cur) => match cur.list_cell() {
                Some((h, tail)) => {
                    *self = Listify::List(tail);
                    Some(h)
                }
                // An improper tail: not an action.
                None => (!cur.is_nil()).then_some(cur),
            },
            Listify::Done => None,
        }
    }
}

/// The actions of a result.
pub fn actions<T: TermView>(t: T) -> Vec<Action<M<T>>> {
    listify(t).map(action).collect()
}

fn replies<T: TermView>(t: T) -> Vec<ReplyAction<M<T>>> {
    listify(t)
        .map(|r| match r.tuple() {
            Some(items) if items.len() == 3 && items[0].is(Name::Reply) => match from(items[1]) {
                Some(f) => ReplyAction::Reply(f, items[2].store()),
                None => ReplyAction::Invalid(r.store()),
            },
            _ => ReplyAction::Invalid(r.store()),
        })
        .collect()
}

/// A `From`: `{Pid, Tag}` with a pid the host can send to.
pub fn from<T: TermView>(t: T) -> Option<BeamFrom<Pid<T>>> {
    let items = t.tuple()?;
    if items.len() != 2 {
        return None;
    }
    let pid = items[0].pid()?;
    Some(BeamFrom { pid, tag: items[1].store() })
}

/// An event type of `{next_event, Type, Content}`.
fn event_type<T: TermView>(t: T) -> Option<EventType<M<T>>> {
    if let Some(a) = t.atom() {
        let is = |n| T::atom_is(&a, n);
        return if is(Name::Cast) {
            Some(EventType::Cast)
        } else if is(Name::Info) {
            Some(EventType::Info)
        } else if is(Name::Internal) {
            Some(EventType::Internal)
        } else if is(Name::Timeout) {
            Some(EventType::Timeout)
        } else if is(Name::StateTimeout) {
            Some(EventType::StateTimeout)
        } else {
            None
        };
    }
    let items = t.tuple()?;
    if items.len() != 2 {
        return None;
    }
    let tag = items[0].atom()?;
    if T::atom_is(&tag, Name::Call) {
        from(items[1]).map(EventType::Call)
    } else if T::atom_is(&tag, Name::Timeout) {
        Some(EventType::GenericTimeout(items[1].store()))
    } else {
        None
    }
}

/// A time-out type: `timeout`, `state_timeout` or `{timeout, Name}`.
fn timeout_type<T: TermView>(t: T) -> Option<TimeoutType<Etf>> {
    if let Some(a) = t.atom() {
        return if T::atom_is(&a, Name::Timeout) {
            Some(TimeoutType::Event)
        } else if T::atom_is(&a, Name::StateTimeout) {
            Some(TimeoutType::State)
        } else {
            None
        };
    }
    let items = t.tuple()?;
    (items.len() == 2 && items[0].is(Name::Timeout)).then(|| TimeoutType::Generic(items[1].store()))
}

/// A relative time: an integer >= 0 or `infinity`.
fn relative_time<T: TermView>(t: T) -> Option<TimeoutTime> {
    if t.is(Name::Infinity) {
        return Some(TimeoutTime::Infinity);
    }
    match t.int() {
        Some(ms) if ms >= 0 => Some(TimeoutTime::Relative(ms as u64)),
        _ => None,
    }
}

/// `{abs, Bool}` or a list of them; the last wins. `None`: bad options.
fn abs_option<T: TermView>(t: T) -> Option<bool> {
    let mut abs = false;
    for o in listify(t) {
        let items = o.tuple()?;
        if items.len() != 2 || !items[0].is(Name::Abs) {
            return None;
        }
        abs = items[1].boolean()?;
    }
    Some(abs)
}

fn timeout<T: TermView>(kind: TimeoutType<Etf>, time: TimeoutTime, msg: Option<T>, form: TimeoutForm) -> Action<M<T>> {
    Action::Timeout(TimeoutAction { kind, time, msg: msg.map(T::store), form })
}

/// One action.
fn action<T: TermView>(t: T) -> Action<M<T>> {
    let bad = || Action::Invalid(t.store());
    if let Some(a) = t.atom() {
        let is = |n| T::atom_is(&a, n);
        return if is(Name::Postpone) {
            Action::Postpone
        } else if is(Name::Hibernate) {
            Action::Hibernate(true)
        } else if is(Name::PopCallbackModule) {
            Action::PopCallbackModule
        } else if is(Name::Infinity) {
            timeout(TimeoutType::Event, TimeoutTime::Infinity, Some(t), TimeoutForm::Shorthand)
        } else {
            bad()
        };
    }
    if t.is_integer() {
        return match relative_time(t) {
            Some(time) => timeout(TimeoutType::Event, time, Some(t), TimeoutForm::Shorthand),
            None => bad(),
        };
    }
    let Some(items) = t.tuple() else { return bad() };
    let Some(head) = items.first().and_then(|h| h.atom()) else { return timeout_action(&items).unwrap_or_else(bad) };
    let is = |n| T::atom_is(&head, n);
    match items.len() {
        2 if is(Name::Postpone) => items[1].boolean().map_or_else(bad, Action::PostponeFlag),
        2 if is(Name::Hibernate) => items[1].boolean().map_or_else(bad, Action::Hibernate),
        2 if is(Name::ChangeCallbackModule) => {
            items[1].module().map(Mod::Beam).map_or_else(bad, Action::ChangeCallbackModule)
        }
        2 if is(Name::PushCallbackModule) => {
            items[1].module().map(Mod::Beam).map_or_else(bad, Action::PushCallbackModule)
        }
        3 if is(Name::Reply) => match from(items[1]) {
            Some(f) => Action::Reply(f, items[2].store()),
            None => bad(),
        },
        3 if is(Name::NextEvent) => match event_type(items[1]) {
            Some(kind) => Action::NextEvent(Event::new(kind, items[2].store())),
            None => Action::InvalidNextEvent(t.store()),
        },
        _ => timeout_action(&items).unwrap_or_else(bad),
    }
}

/// `{Type, cancel}`, `{Type, update, Msg}`, `{Type, Time, Msg}`,
/// `{Type, Time, Msg, Opts}`.
fn timeout_action<T: TermView>(items: &[T]) -> Option<Action<M<T>>> {
    let kind = timeout_type(*items.first()?)?;
    let time = match items.len() {
        2 if items[1].is(Name::Cancel) => {
            return Some(timeout::<T>(kind, TimeoutTime::Infinity, None, TimeoutForm::Cancel))
        }
        3 if items[1].is(Name::Update) => {
            return Some(timeout(kind, TimeoutTime::Update, Some(items[2]), TimeoutForm::Triple))
        }
        3 => return Some(timeout(kind, relative_time(items[1])?, Some(items[2]), TimeoutForm::Triple)),
        4 if abs_option(items[3])? => {
            if items[1].is(Name::Infinity) {
                TimeoutTime::Infinity
            } else {
                TimeoutTime::Absolute(items[1].int()?)
            }
        }
        4 => relative_time(items[1])?,
        _ => return None,
    };
    Some(timeout(kind, time, Some(items[2]), TimeoutForm::WithOpts))
}
