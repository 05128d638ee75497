//! Callback results, from rustler terms to the engine's types. The rules
//! are gen_statem's, written once in `throng_beam::parse` against its
//! [`TermView`]; this module is the view for `rustler::Term`.

use rustler::types::tuple::get_tuple;
use rustler::{Atom, LocalPid, Term, TermType};
use throng_beam::{Etf, Name, TermView};
use throng_core::{CallbackMode, CallbackResult, InitResult};

use crate::atoms;
use crate::beam::{Beam, Nif};
use crate::etf::EtfNif;

/// A rustler term as `throng_beam`'s rules read it.
#[derive(Clone, Copy)]
pub struct View<'a>(pub Term<'a>);

/// The NIF's atom of a name the rules read.
#[inline]
fn atom(name: Name) -> Atom {
    match name {
        Name::Ok => atoms::ok(),
        Name::Ignore => atoms::ignore(),
        Name::Stop => atoms::stop(),
        Name::StopAndReply => atoms::stop_and_reply(),
        Name::NextState => atoms::next_state(),
        Name::KeepState => atoms::keep_state(),
        Name::KeepStateAndData => atoms::keep_state_and_data(),
        Name::RepeatState => atoms::repeat_state(),
        Name::RepeatStateAndData => atoms::repeat_state_and_data(),
        Name::StateFunctions => atoms::state_functions(),
        Name::HandleEventFunction => atoms::handle_event_function(),
        Name::StateEnter => atoms::state_enter(),
        Name::Postpone => atoms::postpone(),
        Name::Hibernate => atoms::hibernate(),
        Name::Reply => atoms::reply(),
        Name::NextEvent => atoms::next_event(),
        Name::ChangeCallbackModule => atoms::change_callback_module(),
        Name::PushCallbackModule => atoms::push_callback_module(),
        Name::PopCallbackModule => atoms::pop_callback_module(),
        Name::Call => atoms::call(),
        Name::Cast => atoms::cast(),
        Name::Info => atoms::info(),
        Name::Internal => atoms::internal(),
        Name::Timeout => atoms::timeout(),
        Name::StateTimeout => atoms::state_timeout(),
        Name::Cancel => atoms::cancel(),
        Name::Update => atoms::update(),
        Name::Infinity => atoms::infinity(),
        Name::Abs => atoms::abs(),
        Name::True => atoms::true_(),
        Name::False => atoms::false_(),
    }
}

impl<'a> TermView for View<'a> {
    type Host = Nif;
    type Atom = Atom;
    type Tuple = Vec<View<'a>>;

    #[inline]
    fn atom(self) -> Option<Atom> {
        self.0.decode::<Atom>().ok()
    }

    #[inline]
    fn atom_is(a: &Atom, name: Name) -> bool {
        *a == atom(name)
    }

    fn is_integer(self) -> bool {
        self.0.get_type() == TermType::Integer
    }

    fn int(self) -> Option<i64> {
        self.0.decode::<i64>().ok()
    }

    fn tuple(self) -> Option<Vec<View<'a>>> {
        // Collected in place: no allocation beyond rustler's own.
        get_tuple(self.0).ok().map(|items| items.into_iter().map(View).collect())
    }

    fn is_list(self) -> bool {
        self.0.is_list()
    }

    fn is_nil(self) -> bool {
        self.0.is_empty_list()
    }

    fn list_cell(self) -> Option<(Self, Self)> {
        self.0.list_get_cell().ok().map(|(h, t)| (View(h), View(t)))
    }

    fn pid(self) -> Option<LocalPid> {
        self.0.decode::<LocalPid>().ok()
    }

    fn module(self) -> Option<Atom> {
        self.0.decode::<Atom>().ok()
    }

    fn store(self) -> Etf {
        Etf::encode(self.0)
    }
}

/// `Module:init/1`'s result.
pub fn init_result(t: Term<'_>) -> InitResult<Beam> {
    throng_beam::parse::init_result(View(t))
}

/// A state callback's result.
pub fn callback_result(t: Term<'_>) -> CallbackResult<Beam> {
    throng_beam::parse::callback_result(View(t))
}

/// `callback_mode()`'s result.
pub fn callback_mode(t: Term<'_>) -> Result<CallbackMode, Etf> {
    throng_beam::parse::callback_mode(View(t))
}
