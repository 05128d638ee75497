//! The read-only view of a term that [`crate::parse`] reads through. The NIF
//! implements it for `rustler::Term`, the port program for `eetf` terms.
//!
//! Atoms are compared, never named: a host reads an atom into its own
//! representation once ([`TermView::atom`]) and compares that with the
//! [`Name`]s the rules know ([`TermView::atom_is`]), so the NIF keeps
//! comparing atom words and never copies an atom's text.

use std::ops::Deref;

use crate::etf::Etf;
use crate::machine::Host;

macro_rules! names {
    ($($variant:ident = $text:literal),* $(,)?) => {
        /// The atoms gen_statem's result rules read.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Name {
            $(#[doc = concat!("`", $text, "`")] $variant,)*
        }

        impl Name {
            /// Every name.
            pub const ALL: &'static [Name] = &[$(Name::$variant,)*];

            /// The atom's text.
            pub const fn text(self) -> &'static str {
                match self {
                    $(Name::$variant => $text,)*
                }
            }
        }
    };
}

names! {
    Ok = "ok", Ignore = "ignore", Stop = "stop", StopAndReply = "stop_and_reply",
    NextState = "next_state", KeepState = "keep_state", KeepStateAndData = "keep_state_and_data",
    RepeatState = "repeat_state", RepeatStateAndData = "repeat_state_and_data",
    StateFunctions = "state_functions", HandleEventFunction = "handle_event_function", StateEnter = "state_enter",
    Postpone = "postpone", Hibernate = "hibernate", Reply = "reply", NextEvent = "next_event",
    ChangeCallbackModule = "change_callback_module", PushCallbackModule = "push_callback_module",
    PopCallbackModule = "pop_callback_module",
    Call = "call", Cast = "cast", Info = "info", Internal = "internal",
    Timeout = "timeout", StateTimeout = "state_timeout",
    Cancel = "cancel", Update = "update", Infinity = "infinity", Abs = "abs",
    True = "true", False = "false",
}

/// A term as the result rules read it. Cheap to copy (a handle or a
/// reference); nothing here allocates but [`TermView::tuple`] where the
/// host's tuple access does and [`TermView::store`].
pub trait TermView: Copy {
    /// What a pid and a module are on this host.
    type Host: Host;
    /// An atom as the host holds it.
    type Atom;
    /// A tuple's elements.
    type Tuple: Deref<Target = [Self]>;

    /// The atom, if the term is one.
    fn atom(self) -> Option<Self::Atom>;
    /// Whether `atom` is `name`.
    fn atom_is(atom: &Self::Atom, name: Name) -> bool;
    /// Whether the term is an integer (of any size).
    fn is_integer(self) -> bool;
    /// The integer, if the term is one that fits an `i64`.
    fn int(self) -> Option<i64>;
    /// The elements, if the term is a tuple.
    fn tuple(self) -> Option<Self::Tuple>;
    /// Whether the term is a list: `[]` or a cell.
    fn is_list(self) -> bool;
    /// Whether the term is `[]`.
    fn is_nil(self) -> bool;
    /// Head and tail, if the term is a list cell (the tail of the last cell
    /// of an improper list is its improper tail).
    fn list_cell(self) -> Option<(Self, Self)>;
    /// The pid of a `From` (`{Pid, Tag}`), if the term is one this host can
    /// send to.
    fn pid(self) -> Option<<Self::Host as Host>::Pid>;
    /// The callback module, if the term is an atom.
    fn module(self) -> Option<<Self::Host as Host>::Module>;
    /// The term, encoded for keeping in the engine.
    fn store(self) -> Etf;

    /// Whether the term is the atom `name`.
    fn is(self, name: Name) -> bool {
        self.atom().is_some_and(|a| Self::atom_is(&a, name))
    }

    /// `true` or `false`.
    fn boolean(self) -> Option<bool> {
        let a = self.atom()?;
        if Self::atom_is(&a, Name::True) {
            Some(true)
        } else if Self::atom_is(&a, Name::False) {
            Some(false)
        } else {
            None
        }
    }
}
