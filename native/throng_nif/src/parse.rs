//! Callback results, from terms to the engine's types: gen_statem's result
//! and action shapes, read exactly as `gen_statem` reads them. What cannot
//! be read is kept as it was ([`Action::Invalid`], [`CallbackResult::Invalid`],
//! ...) for the engine to report with gen_statem's error reasons.

use rustler::types::tuple::get_tuple;
use rustler::{Atom, LocalPid, Term, TermType};
use throng_core::{
    Action, CallbackFunction, CallbackMode, CallbackResult, Event, EventType, InitResult, ReplyAction, TimeoutAction,
    TimeoutForm, TimeoutTime, TimeoutType,
};

use crate::atoms;
use crate::beam::{Beam, BeamFrom};
use crate::etf::Etf;

type A = Action<Beam>;

/// `Module:init/1`'s result.
pub fn init_result(t: Term<'_>) -> InitResult<Beam> {
    if t.is_atom() && t == atoms::ignore().to_term(t.get_env()) {
        return InitResult::Ignore;
    }
    if let Ok(items) = get_tuple(t) {
        match (items.first().and_then(|a| a.decode::<Atom>().ok()), items.len()) {
            (Some(a), 3) if a == atoms::ok() => {
                return InitResult::Ok(Etf::encode(items[1]), Etf::encode(items[2]), vec![]);
            }
            (Some(a), 4) if a == atoms::ok() => {
                return InitResult::Ok(Etf::encode(items[1]), Etf::encode(items[2]), actions(items[3]));
            }
            (Some(a), 2) if a == atoms::stop() => return InitResult::Stop(Etf::encode(items[1])),
            _ => {}
        }
    }
    InitResult::Invalid(Etf::encode(t))
}

/// A state callback's result.
pub fn callback_result(t: Term<'_>) -> CallbackResult<Beam> {
    if let Ok(a) = t.decode::<Atom>() {
        if a == atoms::keep_state_and_data() {
            return CallbackResult::KeepStateAndData(vec![]);
        } else if a == atoms::repeat_state_and_data() {
            return CallbackResult::RepeatStateAndData(vec![]);
        } else if a == atoms::stop() {
            return CallbackResult::Stop(None, None);
        }
        return CallbackResult::Invalid(Etf::encode(t));
    }
    let Ok(items) = get_tuple(t) else { return CallbackResult::Invalid(Etf::encode(t)) };
    let Some(tag) = items.first().and_then(|a| a.decode::<Atom>().ok()) else {
        return CallbackResult::Invalid(Etf::encode(t));
    };
    let e = Etf::encode;
    match items.len() {
        2 if tag == atoms::keep_state() => CallbackResult::KeepState(e(items[1]), vec![]),
        2 if tag == atoms::keep_state_and_data() => CallbackResult::KeepStateAndData(actions(items[1])),
        2 if tag == atoms::repeat_state() => CallbackResult::RepeatState(e(items[1]), vec![]),
        2 if tag == atoms::repeat_state_and_data() => CallbackResult::RepeatStateAndData(actions(items[1])),
        2 if tag == atoms::stop() => CallbackResult::Stop(Some(e(items[1])), None),
        3 if tag == atoms::next_state() => CallbackResult::NextState(e(items[1]), e(items[2]), vec![]),
        3 if tag == atoms::keep_state() => CallbackResult::KeepState(e(items[1]), actions(items[2])),
        3 if tag == atoms::repeat_state() => CallbackResult::RepeatState(e(items[1]), actions(items[2])),
        3 if tag == atoms::stop() => CallbackResult::Stop(Some(e(items[1])), Some(e(items[2]))),
        3 if tag == atoms::stop_and_reply() => CallbackResult::StopAndReply(Some(e(items[1])), replies(items[2]), None),
        4 if tag == atoms::next_state() => CallbackResult::NextState(e(items[1]), e(items[2]), actions(items[3])),
        4 if tag == atoms::stop_and_reply() => {
            CallbackResult::StopAndReply(Some(e(items[1])), replies(items[2]), Some(e(items[3])))
        }
        _ => CallbackResult::Invalid(Etf::encode(t)),
    }
}

/// `callback_mode()`'s result: an atom or a list of atoms; the last mode
/// wins; `state_enter` anywhere turns enter calls on; anything else, or no
/// mode at all, is `{bad_return_from_callback_mode, R}`.
pub fn callback_mode(t: Term<'_>) -> Result<CallbackMode, Etf> {
    let items: Vec<Term<'_>> = if t.is_list() {
        match t.decode::<Vec<Term<'_>>>() {
            Ok(v) => v,
            Err(_) => return Err(Etf::encode(t)),
        }
    } else {
        vec![t]
    };
    let mut function = None;
    let mut state_enter = false;
    for i in items {
        match i.decode::<Atom>() {
            Ok(a) if a == atoms::state_functions() => function = Some(CallbackFunction::StateFunctions),
            Ok(a) if a == atoms::handle_event_function() => function = Some(CallbackFunction::HandleEventFunction),
            Ok(a) if a == atoms::state_enter() => state_enter = true,
            _ => return Err(Etf::encode(t)),
        }
    }
    match function {
        Some(function) => Ok(CallbackMode { function, state_enter }),
        None => Err(Etf::encode(t)),
    }
}

/// gen_statem's `listify`: a list is the actions, anything else one action.
fn listify(t: Term<'_>) -> Vec<Term<'_>> {
    if t.is_list() {
        let mut out = Vec::new();
        let mut cur = t;
        loop {
            match cur.list_get_cell() {
                Ok((h, tail)) => {
                    out.push(h);
                    cur = tail;
                }
                Err(_) => {
                    if !cur.is_empty_list() {
                        // An improper tail: not an action.
                        out.push(cur);
                    }
                    return out;
                }
            }
        }
    } else {
        vec![t]
    }
}

/// The actions of a result.
pub fn actions(t: Term<'_>) -> Vec<A> {
    listify(t).into_iter().map(action).collect()
}

fn replies(t: Term<'_>) -> Vec<ReplyAction<Beam>> {
    listify(t)
        .into_iter()
        .map(|r| match get_tuple(r) {
            Ok(items) if items.len() == 3 && items[0].decode::<Atom>().ok() == Some(atoms::reply()) => {
                match from(items[1]) {
                    Some(f) => ReplyAction::Reply(f, Etf::encode(items[2])),
                    None => ReplyAction::Invalid(Etf::encode(r)),
                }
            }
            _ => ReplyAction::Invalid(Etf::encode(r)),
        })
        .collect()
}

/// A `From`: `{Pid, Tag}` with a local pid.
pub fn from(t: Term<'_>) -> Option<BeamFrom> {
    let items = get_tuple(t).ok()?;
    if items.len() != 2 {
        return None;
    }
    let pid = items[0].decode::<LocalPid>().ok()?;
    Some(BeamFrom { pid, tag: Etf::encode(items[1]) })
}

/// An event type of `{next_event, Type, Content}`.
fn event_type(t: Term<'_>) -> Option<EventType<Beam>> {
    if let Ok(a) = t.decode::<Atom>() {
        return if a == atoms::cast() {
            Some(EventType::Cast)
        } else if a == atoms::info() {
            Some(EventType::Info)
        } else if a == atoms::internal() {
            Some(EventType::Internal)
        } else if a == atoms::timeout() {
            Some(EventType::Timeout)
        } else if a == atoms::state_timeout() {
            Some(EventType::StateTimeout)
        } else {
            None
        };
    }
    let items = get_tuple(t).ok()?;
    if items.len() != 2 {
        return None;
    }
    let tag = items[0].decode::<Atom>().ok()?;
    if tag == atoms::call() {
        from(items[1]).map(EventType::Call)
    } else if tag == atoms::timeout() {
        Some(EventType::GenericTimeout(Etf::encode(items[1])))
    } else {
        None
    }
}

/// A time-out type: `timeout`, `state_timeout` or `{timeout, Name}`.
fn timeout_type(t: Term<'_>) -> Option<TimeoutType<Etf>> {
    if let Ok(a) = t.decode::<Atom>() {
        return if a == atoms::timeout() {
            Some(TimeoutType::Event)
        } else if a == atoms::state_timeout() {
            Some(TimeoutType::State)
        } else {
            None
        };
    }
    let items = get_tuple(t).ok()?;
    (items.len() == 2 && items[0].decode::<Atom>().ok() == Some(atoms::timeout()))
        .then(|| TimeoutType::Generic(Etf::encode(items[1])))
}

fn is_atom(t: Term<'_>, a: Atom) -> bool {
    t.decode::<Atom>().ok() == Some(a)
}

/// A relative time: an integer >= 0 or `infinity`.
fn relative_time(t: Term<'_>) -> Option<TimeoutTime> {
    if is_atom(t, atoms::infinity()) {
        return Some(TimeoutTime::Infinity);
    }
    match t.decode::<i64>() {
        Ok(ms) if ms >= 0 => Some(TimeoutTime::Relative(ms as u64)),
        _ => None,
    }
}

/// `{abs, Bool}` or a list of them; the last wins. `None`: bad options.
fn abs_option(t: Term<'_>) -> Option<bool> {
    let mut abs = false;
    for o in listify(t) {
        let items = get_tuple(o).ok()?;
        if items.len() != 2 || !is_atom(items[0], atoms::abs()) {
            return None;
        }
        abs = items[1].decode::<bool>().ok()?;
    }
    Some(abs)
}

/// One action.
fn action(t: Term<'_>) -> A {
    let bad = || Action::Invalid(Etf::encode(t));
    let timeout = |kind, time, msg: Option<Term<'_>>, form| {
        Action::Timeout(TimeoutAction { kind, time, msg: msg.map(Etf::encode), form })
    };
    if let Ok(a) = t.decode::<Atom>() {
        return if a == atoms::postpone() {
            Action::Postpone
        } else if a == atoms::hibernate() {
            Action::Hibernate(true)
        } else if a == atoms::pop_callback_module() {
            Action::PopCallbackModule
        } else if a == atoms::infinity() {
            timeout(TimeoutType::Event, TimeoutTime::Infinity, Some(t), TimeoutForm::Shorthand)
        } else {
            bad()
        };
    }
    if t.get_type() == TermType::Integer {
        return match relative_time(t) {
            Some(time) => timeout(TimeoutType::Event, time, Some(t), TimeoutForm::Shorthand),
            None => bad(),
        };
    }
    let Ok(items) = get_tuple(t) else { return bad() };
    let head = items.first().and_then(|h| h.decode::<Atom>().ok());
    match (head, items.len()) {
        (Some(h), 2) if h == atoms::postpone() => match items[1].decode::<bool>() {
            Ok(b) => Action::PostponeFlag(b),
            Err(_) => bad(),
        },
        (Some(h), 2) if h == atoms::hibernate() => match items[1].decode::<bool>() {
            Ok(b) => Action::Hibernate(b),
            Err(_) => bad(),
        },
        (Some(h), 2) if h == atoms::change_callback_module() => match items[1].decode::<Atom>() {
            Ok(m) => Action::ChangeCallbackModule(m),
            Err(_) => bad(),
        },
        (Some(h), 2) if h == atoms::push_callback_module() => match items[1].decode::<Atom>() {
            Ok(m) => Action::PushCallbackModule(m),
            Err(_) => bad(),
        },
        (Some(h), 3) if h == atoms::reply() => match from(items[1]) {
            Some(f) => Action::Reply(f, Etf::encode(items[2])),
            None => bad(),
        },
        (Some(h), 3) if h == atoms::next_event() => match event_type(items[1]) {
            Some(kind) => Action::NextEvent(Event::new(kind, Etf::encode(items[2]))),
            None => Action::InvalidNextEvent(Etf::encode(t)),
        },
        _ => timeout_action(t, &items).unwrap_or_else(bad),
    }
}

/// `{Type, cancel}`, `{Type, update, Msg}`, `{Type, Time, Msg}`,
/// `{Type, Time, Msg, Opts}`.
fn timeout_action(_t: Term<'_>, items: &[Term<'_>]) -> Option<A> {
    let kind = timeout_type(*items.first()?)?;
    let mk = |kind, time, msg: Option<Term<'_>>, form| {
        Some(Action::Timeout(TimeoutAction { kind, time, msg: msg.map(Etf::encode), form }))
    };
    match items.len() {
        2 if is_atom(items[1], atoms::cancel()) => mk(kind, TimeoutTime::Infinity, None, TimeoutForm::Cancel),
        3 if is_atom(items[1], atoms::update()) => mk(kind, TimeoutTime::Update, Some(items[2]), TimeoutForm::Triple),
        3 => mk(kind, relative_time(items[1])?, Some(items[2]), TimeoutForm::Triple),
        4 => {
            let time = if abs_option(items[3])? {
                if is_atom(items[1], atoms::infinity()) {
                    TimeoutTime::Infinity
                } else {
                    TimeoutTime::Absolute(items[1].decode::<i64>().ok()?)
                }
            } else {
                relative_time(items[1])?
            };
            mk(kind, time, Some(items[2]), TimeoutForm::WithOpts)
        }
        _ => None,
    }
}
