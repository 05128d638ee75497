//! The port program's host of the callback-module machine
//! (`throng_beam::Beam`): replies and DOWN notices go to destinations
//! (integers the BEAM side maps to pids, docs/port-protocol.md), modules are
//! atom names. gen_statem's result rules are `throng_beam::parse`; this
//! module is their view of an `eetf` term.
//!
//! *Why a view of decoded `eetf` terms rather than of the frame's bytes.*
//! Every frame but the hot ones is checked and decoded once
//! ([`crate::etf`], [`crate::proto`]) and an op's arguments are
//! `eetf::Term`s; the callback results this view reads come in such
//! frames. The hot frames (casts, [`crate::hot`]) carry only messages,
//! which are stored without being looked at.

use std::sync::Arc;

use eetf::{BigInteger, ByteList, FixInteger, ImproperList, List, Term, Tuple};
use throng_beam::{Etf, Host, Name, TermView};
use throng_core::{CallbackMode, CallbackResult, InitResult};

use crate::proto::{self, Dest};

/// The port program as a [`Host`].
#[derive(Debug)]
pub struct Port;

impl Host for Port {
    type Pid = Dest;
    type Module = Arc<str>;
}

/// The BEAM callback-module machine, in the port program.
pub type Beam = throng_beam::Beam<Port>;
/// gen_statem's `From` across the port: `{Dest, Tag}`.
pub type BeamFrom = throng_beam::BeamFrom<Dest>;
/// `init/1`'s argument and its starter.
pub type InitArgs = throng_beam::InitArgs<Dest>;
/// A callback for an executor to run.
pub type Work = throng_beam::Work<Port>;
/// A session's module: a BEAM module or a native machine.
pub type Module = throng_beam::Mod<Arc<str>>;

/// An `eetf` term as `throng_beam`'s rules read it. eetf holds a list as a
/// vector, so the tail of a list cell is a view of the rest of it.
#[derive(Debug, Clone, Copy)]
pub enum View<'a> {
    /// A whole term.
    Term(&'a Term),
    /// The rest of a list: these elements, then the tail (`None`: `[]`).
    Rest(&'a [Term], Option<&'a Term>),
    /// The rest of a string (`STRING_EXT`, a list of bytes).
    Bytes(&'a [u8]),
    /// An element of a string.
    Byte(u8),
}

impl<'a> View<'a> {
    /// A view of a term.
    pub fn of(t: &'a Term) -> Self {
        View::Term(t)
    }

    fn rest(items: &'a [Term], tail: Option<&'a Term>) -> Self {
        match (items, tail) {
            ([], Some(t)) => View::Term(t),
            _ => View::Rest(items, tail),
        }
    }

    /// The term this view stands for (built only for list rests).
    fn to_term(self) -> Term {
        match self {
            View::Term(t) => t.clone(),
            View::Rest(items, None) => Term::from(List::from(items.to_vec())),
            View::Rest(items, Some(tail)) => {
                Term::from(ImproperList { elements: items.to_vec(), last: Box::new(tail.clone()) })
            }
            View::Bytes(b) => Term::from(ByteList { bytes: b.to_vec() }),
            View::Byte(b) => Term::from(FixInteger::from(i32::from(b))),
        }
    }
}

impl<'a> TermView for View<'a> {
    type Host = Port;
    type Atom = &'a str;
    type Tuple = Vec<View<'a>>;

    fn atom(self) -> Option<&'a str> {
        match self {
            View::Term(Term::Atom(a)) => Some(&a.name),
            _ => None,
        }
    }

    fn atom_is(a: &&'a str, name: Name) -> bool {
        *a == name.text()
    }

    fn is_integer(self) -> bool {
        matches!(self, View::Term(Term::FixInteger(_) | Term::BigInteger(_)) | View::Byte(_))
    }

    fn int(self) -> Option<i64> {
        match self {
            View::Term(Term::FixInteger(FixInteger { value })) => Some(i64::from(*value)),
            View::Term(Term::BigInteger(BigInteger { value })) => i64::try_from(value).ok(),
            View::Byte(b) => Some(i64::from(b)),
            _ => None,
        }
    }

    fn tuple(self) -> Option<Vec<View<'a>>> {
        match self {
            View::Term(Term::Tuple(Tuple { elements })) => Some(elements.iter().map(View::Term).collect()),
            _ => None,
        }
    }

    fn is_list(self) -> bool {
        matches!(
            self,
            View::Term(Term::List(_) | Term::ImproperList(_) | Term::ByteList(_)) | View::Rest(..) | View::Bytes(_)
        )
    }

    fn is_nil(self) -> bool {
        match self {
            View::Term(Term::List(l)) => l.elements.is_empty(),
            View::Term(Term::ByteList(b)) => b.bytes.is_empty(),
            View::Rest(items, None) => items.is_empty(),
            View::Bytes(b) => b.is_empty(),
            _ => false,
        }
    }

    fn list_cell(self) -> Option<(Self, Self)> {
        let (items, tail) = match self {
            View::Term(Term::List(l)) => (&l.elements[..], None),
            View::Term(Term::ImproperList(l)) => (&l.elements[..], Some(&*l.last)),
            View::Rest(items, tail) => (items, tail),
            View::Term(Term::ByteList(ByteList { bytes })) => return View::Bytes(bytes).list_cell(),
            View::Bytes(bytes) => {
                let (h, rest) = bytes.split_first()?;
                return Some((View::Byte(*h), View::Bytes(rest)));
            }
            _ => return None,
        };
        let (h, rest) = items.split_first()?;
        Some((View::Term(h), View::rest(rest, tail)))
    }

    fn pid(self) -> Option<Dest> {
        match self {
            View::Term(t) => proto::dest(t),
            View::Byte(b) => proto::dest(&proto::int(u64::from(b))),
            _ => None,
        }
    }

    fn module(self) -> Option<Arc<str>> {
        self.atom().map(Arc::from)
    }

    fn store(self) -> Etf {
        match self {
            View::Term(t) => Etf::from_bytes(crate::canon::encode(t)),
            other => Etf::from_bytes(crate::canon::encode(&other.to_term())),
        }
    }
}

/// `Module:init/1`'s result.
pub fn init_result(t: &Term) -> InitResult<Beam> {
    throng_beam::parse::init_result(View::of(t))
}

/// A state callback's result.
pub fn callback_result(t: &Term) -> CallbackResult<Beam> {
    throng_beam::parse::callback_result(View::of(t))
}

/// `callback_mode()`'s result.
pub fn callback_mode(t: &Term) -> Result<CallbackMode, Etf> {
    throng_beam::parse::callback_mode(View::of(t))
}
