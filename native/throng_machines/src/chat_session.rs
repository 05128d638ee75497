//! A chat connection's session, as a broker (XMPP, MQTT, a WebSocket
//! gateway) keeps one per client: authentication with a deadline,
//! messages held back until the client is in, an idle time-out and a
//! keepalive, presence queries, logout.
//!
//! `init(#{owner := Pid, user := User, password := Password,
//! auth_timeout => Ms, idle_timeout => Ms, keepalive => Ms})` (defaults
//! 5,000, 60,000 and 30,000 ms); `Owner` is the process that holds the
//! client's connection: the session tells it what happens as
//! `{chat, User, Event}` messages. `handle_event_function` with
//! `state_enter`; the states:
//!
//! * `connecting`: a cast `connect` goes to `authenticating`.
//! * `authenticating`: entering arms `{state_timeout, AuthTimeout, auth}`;
//!   when it fires the owner gets `{closed, auth_timeout}` and the session
//!   stops with `{shutdown, auth_timeout}`. A cast `{auth, Password}` with
//!   the right password goes to `established`; a wrong one sends
//!   `{closed, bad_password}` and stops with `{shutdown, bad_password}`.
//! * `established`: entering sends `established` and arms the idle event
//!   time-out (`{timeout, IdleTimeout, idle}`) and the keepalive
//!   (`{{timeout, keepalive}, Keepalive, ping}`). A cast `{msg, Text}` is
//!   delivered (`{msg, Text}` to the owner) and counted. Every keepalive
//!   sends `ping` and is armed again. The idle time-out measures the time
//!   since the last client event: as any event cancels an event time-out
//!   (the keepalive's too), every other event arms it again for what is
//!   left. When it fires the owner gets `{closed, idle}` and the session
//!   stops (`normal`).
//! * In every state: a `{msg, Text}` cast before `established` is
//!   postponed (delivered once in); the call `presence` answers
//!   `{StateName, Delivered}`; the call `logout` sends `{closed, logout}`
//!   and stops (`normal`) answering `ok`; other calls answer
//!   `{error, unknown_call}`; other casts and infos are ignored.
//!
//! Data: `{Owner, User, Password, AuthTimeout, IdleTimeout, Keepalive,
//! Delivered, LastActive}` (`LastActive`: the engine clock's millisecond
//! of the last client event in `established`).

use throng_beam::native::send;
use throng_beam::term::{read_etf, Val, Writer};
use throng_beam::{Beam, Etf, Host, Native};
use throng_core::{Action, CallbackMode, CallbackResult, Cx, EventType, InitResult, Invocation, ReplyAction};

use crate::{atom, error_atom};

/// The chat session machine.
pub struct ChatSession {
    connecting: Etf,
    authenticating: Etf,
    established: Etf,
    auth: Etf,
    idle: Etf,
    ping: Etf,
    keepalive: Etf,
    ok: Etf,
    unknown_call: Etf,
}

impl ChatSession {
    /// The machine (its atoms made once).
    pub fn new() -> Self {
        ChatSession {
            connecting: atom("connecting"),
            authenticating: atom("authenticating"),
            established: atom("established"),
            auth: atom("auth"),
            idle: atom("idle"),
            ping: atom("ping"),
            keepalive: atom("keepalive"),
            ok: atom("ok"),
            unknown_call: error_atom("unknown_call"),
        }
    }
}

impl Default for ChatSession {
    fn default() -> Self {
        Self::new()
    }
}

/// The session's data, read.
struct Data<'a> {
    owner: Val<'a>,
    user: Val<'a>,
    password: Val<'a>,
    auth_ms: i64,
    idle_ms: i64,
    keepalive_ms: i64,
    delivered: i64,
    last_active: i64,
}

impl<'a> Data<'a> {
    fn read(d: &'a Etf) -> Option<Data<'a>> {
        let [owner, user, password, a, i, k, n, l] = read_etf(d).ok()?.tuple::<8>()?;
        Some(Data {
            owner,
            user,
            password,
            auth_ms: a.as_int()?,
            idle_ms: i.as_int()?,
            keepalive_ms: k.as_int()?,
            delivered: n.as_int()?,
            last_active: l.as_int()?,
        })
    }

    fn write(&self) -> Etf {
        let mut w = Writer::with_capacity(64);
        w.tuple(8).val(self.owner).val(self.user).val(self.password);
        w.int(self.auth_ms).int(self.idle_ms).int(self.keepalive_ms).int(self.delivered).int(self.last_active);
        w.finish()
    }

    /// Sends `{chat, User, Event}` to the owner.
    fn tell<H: Host>(&self, cx: &mut Cx<'_, Beam<H>>, event: impl FnOnce(&mut Writer)) {
        let mut w = Writer::with_capacity(32);
        w.tuple(3).atom("chat").val(self.user);
        event(&mut w);
        send(cx, self.owner.to_etf(), w.finish());
    }

    /// Milliseconds left before the idle time-out.
    fn idle_left(&self, now: i64) -> i64 {
        self.last_active.saturating_add(self.idle_ms).saturating_sub(now)
    }
}

/// `{shutdown, Why}`.
fn shutdown(why: &str) -> Etf {
    let mut w = Writer::new();
    w.tuple(2).atom("shutdown").atom(why);
    w.finish()
}

fn closed(why: &'static str) -> impl FnOnce(&mut Writer) {
    move |w| {
        w.tuple(2).atom("closed").atom(why);
    }
}

/// A non-negative time in milliseconds from a map, or `default`.
fn ms(map: throng_beam::term::Seq<'_>, key: &str, default: i64) -> Option<i64> {
    match map.pairs().find(|(k, _)| k.is_atom(key)) {
        Some((_, v)) => v.as_int().filter(|n| *n >= 0),
        None => Some(default),
    }
}

impl ChatSession {
    fn state_name(&self, state: &Etf) -> &'static str {
        if *state == self.connecting {
            "connecting"
        } else if *state == self.authenticating {
            "authenticating"
        } else {
            "established"
        }
    }

    fn enter<H: Host>(&self, cx: &mut Cx<'_, Beam<H>>, state: &Etf, data: &Etf) -> CallbackResult<Beam<H>> {
        let Some(d) = Data::read(data) else { return CallbackResult::KeepStateAndData(vec![]) };
        if *state == self.authenticating {
            CallbackResult::KeepStateAndData(vec![Action::state_timeout(d.auth_ms as u64, self.auth.clone())])
        } else if *state == self.established {
            d.tell(cx, |w| {
                w.atom("established");
            });
            let d = Data { last_active: cx.now_ms(), ..d };
            CallbackResult::KeepState(
                d.write(),
                vec![
                    Action::event_timeout(d.idle_ms as u64, self.idle.clone()),
                    Action::generic_timeout(self.keepalive.clone(), d.keepalive_ms as u64, self.ping.clone()),
                ],
            )
        } else {
            CallbackResult::KeepStateAndData(vec![])
        }
    }

    fn call<H: Host>(
        &self,
        cx: &mut Cx<'_, Beam<H>>,
        from: &throng_beam::BeamFrom<H::Pid>,
        req: Option<Val<'_>>,
        state: &Etf,
        d: &Data<'_>,
    ) -> CallbackResult<Beam<H>> {
        match req {
            Some(r) if r.is_atom("presence") => {
                let mut w = Writer::new();
                w.tuple(2).atom(self.state_name(state)).int(d.delivered);
                CallbackResult::KeepStateAndData(vec![Action::Reply(from.clone(), w.finish())])
            }
            Some(r) if r.is_atom("logout") => {
                d.tell(cx, closed("logout"));
                CallbackResult::StopAndReply(None, vec![ReplyAction::Reply(from.clone(), self.ok.clone())], None)
            }
            _ => CallbackResult::KeepStateAndData(vec![Action::Reply(from.clone(), self.unknown_call.clone())]),
        }
    }
}

impl<H: Host> Native<H> for ChatSession {
    fn callback_mode(&self) -> CallbackMode {
        CallbackMode::HANDLE_EVENT_FUNCTION.with_state_enter()
    }

    fn atoms(&self) -> &'static [&'static str] {
        &[
            "connecting",
            "authenticating",
            "established",
            "auth",
            "idle",
            "ping",
            "keepalive",
            "ok",
            "error",
            "unknown_call",
            "chat",
            "closed",
            "msg",
            "shutdown",
            "logout",
            "presence",
            "bad_password",
            "auth_timeout",
            "bad_args",
        ]
    }

    fn init(&self, _cx: &mut Cx<'_, Beam<H>>, args: &Etf) -> InitResult<Beam<H>> {
        let parsed = read_etf(args).ok().and_then(|a| a.as_map()).and_then(|m| {
            let get = |key: &str| m.pairs().find(|(k, _)| k.is_atom(key)).map(|(_, v)| v);
            let owner = get("owner").filter(|o| o.is_pid())?;
            let user = get("user").filter(|u| u.as_binary().is_some())?;
            let password = get("password").filter(|p| p.as_binary().is_some())?;
            let d = Data {
                owner,
                user,
                password,
                auth_ms: ms(m, "auth_timeout", 5_000)?,
                idle_ms: ms(m, "idle_timeout", 60_000)?,
                keepalive_ms: ms(m, "keepalive", 30_000)?,
                delivered: 0,
                last_active: 0,
            };
            Some(d.write())
        });
        match parsed {
            Some(d) => InitResult::Ok(self.connecting.clone(), d, vec![]),
            None => InitResult::Stop(crate::tagged("bad_args", &args.as_bytes()[1..])),
        }
    }

    fn handle_event(&self, cx: &mut Cx<'_, Beam<H>>, call: Invocation<'_, Beam<H>>) -> CallbackResult<Beam<H>> {
        let (event, state, data) = match call {
            Invocation::Enter { state, data, .. } => return self.enter(cx, state, data),
            Invocation::Event { event, state, data, .. } => (event, state, data),
        };
        let Some(d) = Data::read(data) else { return CallbackResult::KeepStateAndData(vec![]) };
        let msg = read_etf(&event.content).ok();
        let tagged = |tag: &str| msg.and_then(|m| m.tuple::<2>()).filter(|[t, _]| t.is_atom(tag)).map(|[_, v]| v);
        let established = *state == self.established;
        match &event.kind {
            EventType::Call(from) => return self.call(cx, from, msg, state, &d),
            EventType::Cast if *state == self.connecting && msg.is_some_and(|m| m.is_atom("connect")) => {
                return CallbackResult::NextState(self.authenticating.clone(), data.clone(), vec![]);
            }
            EventType::Cast if !established && tagged("msg").is_some() => {
                return CallbackResult::KeepStateAndData(vec![Action::Postpone]);
            }
            EventType::Cast if *state == self.authenticating => {
                if let Some(pw) = tagged("auth") {
                    if pw == d.password {
                        return CallbackResult::NextState(self.established.clone(), data.clone(), vec![]);
                    }
                    d.tell(cx, closed("bad_password"));
                    return CallbackResult::Stop(Some(shutdown("bad_password")), None);
                }
            }
            EventType::StateTimeout if *state == self.authenticating => {
                d.tell(cx, closed("auth_timeout"));
                return CallbackResult::Stop(Some(shutdown("auth_timeout")), None);
            }
            EventType::Cast if established => {
                if let Some(text) = tagged("msg") {
                    d.tell(cx, |w| {
                        w.tuple(2).atom("msg").val(text);
                    });
                    let d = Data { delivered: d.delivered + 1, last_active: cx.now_ms(), ..d };
                    return CallbackResult::KeepState(
                        d.write(),
                        vec![Action::event_timeout(d.idle_ms as u64, self.idle.clone())],
                    );
                }
            }
            EventType::Timeout if established => {
                d.tell(cx, closed("idle"));
                return CallbackResult::Stop(None, None);
            }
            EventType::GenericTimeout(name) if established && *name == self.keepalive => {
                let left = d.idle_left(cx.now_ms());
                if left <= 0 {
                    d.tell(cx, closed("idle"));
                    return CallbackResult::Stop(None, None);
                }
                d.tell(cx, |w| {
                    w.atom("ping");
                });
                return CallbackResult::KeepStateAndData(vec![
                    Action::generic_timeout(self.keepalive.clone(), d.keepalive_ms as u64, self.ping.clone()),
                    Action::event_timeout(left as u64, self.idle.clone()),
                ]);
            }
            _ => {}
        }
        if established {
            // Any event cancels the idle time-out: arm it for what is left.
            let left = d.idle_left(cx.now_ms()).max(0) as u64;
            return CallbackResult::KeepStateAndData(vec![Action::event_timeout(left, self.idle.clone())]);
        }
        CallbackResult::KeepStateAndData(vec![])
    }
}
