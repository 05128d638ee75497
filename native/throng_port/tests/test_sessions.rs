//! Callback-module sessions over an in-memory pipe: the test plays the
//! BEAM side and a fake executor (it takes work items and hands in the
//! results a callback module would return), as `throng_executor` does over
//! the port.

mod common;

use std::time::Duration;

use common::*;
use eetf::{Map, Term};
use throng_port::frame::FrameReader;
use throng_port::proto::{atom, encode, int, list, tuple, uint};
use throng_port::server::serve;
use throng_port::Limits;
use tokio::io::{AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};

struct Conn {
    w: WriteHalf<DuplexStream>,
    r: FrameReader<ReadHalf<DuplexStream>>,
    next_id: u64,
    /// Frames pushed by the program, not yet looked at.
    pushed: Vec<Term>,
}

impl Conn {
    async fn open(opts: Term) -> Conn {
        let (client, server) = tokio::io::duplex(1 << 20);
        let (sr, sw) = tokio::io::split(server);
        tokio::spawn(serve(sr, sw, Limits::default()));
        let (r, w) = tokio::io::split(client);
        let mut c = Conn { w, r: FrameReader::new(r, 1 << 24), next_id: 1, pushed: Vec::new() };
        c.write(&tuple([atom("hello"), int(1), opts])).await;
        let hello = c.frame().await;
        assert_eq!(name(&elems(&hello)[0]), "hello", "{hello}");
        c
    }

    async fn write(&mut self, t: &Term) {
        self.w.write_all(&framed(&encode(t))).await.unwrap();
        self.w.flush().await.unwrap();
    }

    async fn frame(&mut self) -> Term {
        let bytes = tokio::time::timeout(Duration::from_secs(5), self.r.read()).await.unwrap().unwrap().unwrap();
        Term::decode(&bytes[..]).unwrap()
    }

    /// Sends an op; its result (pushed frames are kept).
    async fn op(&mut self, op: Term) -> Term {
        let id = self.next_id;
        self.next_id += 1;
        self.write(&tuple([atom("req"), int(id), op])).await;
        loop {
            let f = self.frame().await;
            let e = elems(&f);
            if name(&e[0]) == "rep" {
                assert_eq!(uint(&e[1]), Some(id));
                return e[2].clone();
            }
            self.pushed.push(f);
        }
    }

    /// Takes the pushed frames seen so far.
    fn take_pushed(&mut self) -> Vec<Term> {
        std::mem::take(&mut self.pushed)
    }

    /// The fake executor woken: the one item of the `{work, Ix, Items}`
    /// frame pushed so far (taken out of the pushed frames).
    fn pushed_work(&mut self) -> (u64, Vec<Term>) {
        let at = self.pushed.iter().position(|f| name(&elems(f)[0]) == "work").expect("a work frame");
        let f = self.pushed.remove(at);
        work_of(&f)
    }

    async fn done(&mut self, sid: u64, result: Term) -> Term {
        let results = list([tuple([int(sid), result, nil()])]);
        self.op(tuple([atom("executor_done"), int(0), results, int(10)])).await
    }

    /// Starts a session of module `t`, its init/1 returning `{ok, State,
    /// Data}`.
    async fn start(&mut self, starter: u64, owner: Term, state: Term, data: Term) -> u64 {
        let from = tuple([int(starter), atom("start_tag")]);
        let r = self.op(tuple([atom("session_start"), atom("t"), atom("args"), from.clone(), owner])).await;
        let sid = uint(&elems(&r)[1]).unwrap();
        let (id, work) = self.pushed_work();
        assert_eq!(id, sid);
        assert_eq!(work, [atom("init"), atom("t"), atom("args"), from]);
        let modes = list([tuple([atom("t"), atom("handle_event_function")])]);
        let ok = tuple([atom("ok"), state, data]);
        let r = self.op(tuple([atom("session_init_result"), int(sid), ok, modes])).await;
        assert_eq!(r, tuple([atom("ok"), int(sid)]));
        // The empty take ends the executor's turn: the next item rings.
        assert_eq!(self.op(tuple([atom("executor_take"), int(0), int(10)])).await, nil());
        sid
    }
}

fn nil() -> Term {
    list([])
}

/// The one item of a `{work, 0, [Item]}` frame: `(Sid, Work)`.
fn work_of(f: &Term) -> (u64, Vec<Term>) {
    let e = elems(f);
    assert_eq!((name(&e[0]), &e[1]), ("work", &int(0)), "{f}");
    let Term::List(items) = &e[2] else { panic!("items: {f}") };
    assert_eq!(items.elements.len(), 1, "one item: {f}");
    let item = elems(&items.elements[0]);
    (uint(&item[0]).unwrap(), elems(&item[1]).to_vec())
}

fn map_of(n: u64) -> Term {
    Term::from(Map::from(
        (0..n).map(|i| (int(i), tuple([atom("v"), int(i)]))).collect::<std::collections::HashMap<_, _>>(),
    ))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap()
}

#[test]
fn test_session_lifecycle_over_the_port() {
    rt().block_on(async {
        let mut c = Conn::open(atom_map_executors(1)).await;
        let data = map_of(40);
        let sid = c.start(1, atom("undefined"), atom("locked"), data.clone()).await;

        // A cast rings executor 0; the item is the event to run.
        assert_eq!(
            c.op(tuple([atom("session_send"), int(sid), atom("cast"), atom("hello"), atom("false")])).await,
            atom("ok")
        );
        let (_, work) = c.pushed_work();
        assert_eq!(c.take_pushed(), []);
        assert_eq!(
            work,
            [
                atom("event"),
                atom("t"),
                atom("handle_event_function"),
                atom("cast"),
                atom("hello"),
                atom("locked"),
                data.clone()
            ]
        );
        let timeout = list([tuple([atom("state_timeout"), int(30), atom("lock")])]);
        let r = c.done(sid, tuple([atom("next_state"), atom("open"), data.clone(), timeout])).await;
        assert_eq!(r, tuple([atom("ok"), nil()]));

        // get_state: the answer is pushed to the requester.
        let r = c.op(tuple([atom("session_system"), int(sid), atom("get_state"), tuple([int(2), atom("gs")])])).await;
        assert_eq!(r, atom("ok"));
        assert_eq!(c.take_pushed(), [tuple([atom("reply"), int(2), atom("gs"), tuple([atom("open"), data.clone()])])]);

        // A call: the callback's reply action is pushed to the caller.
        let from = tuple([int(3), atom("ct")]);
        let r = c.op(tuple([atom("session_call"), int(sid), from.clone(), atom("which"), atom("false")])).await;
        assert_eq!(r, atom("ok"));
        let (_, work) = c.pushed_work();
        assert_eq!(c.take_pushed(), []);
        assert_eq!(work[3], tuple([atom("call"), from.clone()]));
        let reply = list([tuple([atom("reply"), from, atom("open_it_is")])]);
        c.done(sid, tuple([atom("keep_state_and_data"), reply])).await;
        assert_eq!(c.take_pushed(), [tuple([atom("reply"), int(3), atom("ct"), atom("open_it_is")])]);
        // The empty take ends the turn.
        assert_eq!(c.op(tuple([atom("executor_take"), int(0), int(10)])).await, nil());

        // The state time-out fires by itself, while the program waits for input.
        let (_, work) = work_of(&c.frame().await);
        assert_eq!(work[3..6], [atom("state_timeout"), atom("lock"), atom("open")]);
        c.done(sid, tuple([atom("next_state"), atom("locked"), data.clone()])).await;

        // Stop: terminate/3 goes to the executor; the DOWN follows
        // session_terminated.
        let stopper = tuple([int(4), atom("st")]);
        assert_eq!(c.op(tuple([atom("executor_take"), int(0), int(10)])).await, nil());
        let r = c.op(tuple([atom("session_system"), int(sid), tuple([atom("stop"), atom("normal")]), stopper])).await;
        assert_eq!(r, atom("ok"));
        let (_, work) = c.pushed_work();
        assert_eq!(
            work,
            [atom("terminate"), atom("t"), atom("normal"), atom("locked"), data.clone(), atom("undefined")]
        );
        c.take_pushed();
        let report = c.op(tuple([atom("session_terminated"), int(sid)])).await;
        let Term::Map(report) = report else { panic!("a report map") };
        assert_eq!(report.map.get(&atom("reason")), Some(&atom("normal")));
        let pushed = c.take_pushed();
        assert!(
            pushed.contains(&tuple([atom("down"), int(1), atom("start_tag"), int(sid), atom("normal")])),
            "{pushed:?}"
        );
        assert!(pushed.contains(&tuple([atom("reply"), int(4), atom("st"), tuple([atom("stopped"), atom("normal")])])));
        assert_eq!(c.op(tuple([atom("session_alive"), int(sid)])).await, atom("false"));
        let r = c.op(tuple([atom("session_send"), int(sid), atom("cast"), atom("x"), atom("false")])).await;
        assert_eq!(r, tuple([atom("error"), atom("noproc")]));
    });
}

fn atom_map_executors(n: u64) -> Term {
    throng_port::proto::atom_map([("executors", int(n))])
}

#[test]
fn test_dest_down_stops_owned_sessions_with_shutdown() {
    rt().block_on(async {
        let mut c = Conn::open(atom_map_executors(2)).await;
        let sid = c.start(1, int(9), atom("s"), atom("d")).await;
        assert_eq!(c.op(tuple([atom("dest_down"), int(9)])).await, atom("ok"));
        // The session's executor (0 or 1) is woken with terminate/3's item.
        let pushed = c.take_pushed();
        let [f] = &pushed[..] else { panic!("one work frame: {pushed:?}") };
        let items = match elems(f) {
            [w, _, Term::List(l)] if name(w) == "work" => &l.elements,
            _ => panic!("{f}"),
        };
        let work = elems(&elems(&items[0])[1]).to_vec();
        assert_eq!(work[..3], [atom("terminate"), atom("t"), atom("shutdown")]);
        c.op(tuple([atom("session_terminated"), int(sid)])).await;
        let pushed = c.take_pushed();
        assert!(
            pushed.contains(&tuple([atom("down"), int(1), atom("start_tag"), int(sid), atom("shutdown")])),
            "{pushed:?}"
        );
    });
}

#[test]
fn test_bad_result_exits_as_gen_statem_shapes_it() {
    rt().block_on(async {
        let mut c = Conn::open(atom_map_executors(1)).await;
        let sid = c.start(1, atom("undefined"), atom("s"), atom("d")).await;
        c.op(tuple([atom("session_send"), int(sid), atom("cast"), atom("x"), atom("false")])).await;
        c.pushed_work();
        // executor_done hands back the next batch: terminate/3's item.
        let next = c.done(sid, atom("bogus")).await;
        let Term::List(items) = &elems(&next)[1] else { panic!("{next}") };
        let work = elems(&elems(&items.elements[0])[1]).to_vec();
        let raw = tuple([atom("bad_return_from_state_function"), atom("bogus")]);
        assert_eq!(work[2], raw);
        c.take_pushed();
        c.op(tuple([atom("session_terminated"), int(sid)])).await;
        let down = tuple([atom("down"), int(1), atom("start_tag"), int(sid), tuple([raw, nil()])]);
        assert!(c.take_pushed().contains(&down));
    });
}

#[test]
fn test_executors_option_is_checked() {
    let out = rt().block_on(async {
        let mut input = framed(&encode(&tuple([atom("hello"), int(1), atom_map_executors(0)])));
        input.extend(framed(&hello(1)));
        let mut out = Vec::new();
        serve(&input[..], &mut out, Limits::default()).await.unwrap();
        frames(&out)
    });
    assert_eq!(out[0], tuple([atom("error"), atom("undefined"), tuple([atom("bad_hello_opts"), atom("executors")])]));
    let Term::Map(info) = &elems(&out[1])[2] else { panic!("hello info") };
    assert_eq!(info.map.get(&atom("executors")), Some(&int(1)));
}
