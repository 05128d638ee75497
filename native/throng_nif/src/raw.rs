//! The few raw NIF calls rustler wraps with an allocation: a tuple's
//! elements without a `Vec` (rustler's `get_tuple` and tuple decoders
//! collect them), for the per-event paths (`Etf::encode`, the batch NIFs).
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

use rustler::sys::{c_int, enif_get_tuple, ErlNifTerm};
use rustler::Term;

/// A tuple's elements, read in place.
#[derive(Clone, Copy)]
pub struct Tuple<'a> {
    term: Term<'a>,
    elems: &'a [ErlNifTerm],
}

impl<'a> Tuple<'a> {
    /// The tuple `term`, if it is one.
    pub fn of(term: Term<'a>) -> Option<Tuple<'a>> {
        let mut arity: c_int = 0;
        let mut array = MaybeUninit::uninit();
        // SAFETY: `term` belongs to its environment, which outlives 'a;
        // enif_get_tuple writes the arity and a pointer to the tuple's
        // elements (on the process heap, alive as long as the term is)
        // when it returns 1, and writes nothing otherwise.
        let elems = unsafe {
            if enif_get_tuple(term.get_env().as_c_arg(), term.as_c_arg(), &mut arity, array.as_mut_ptr()) != 1 {
                return None;
            }
            std::slice::from_raw_parts(array.assume_init(), usize::try_from(arity).ok()?)
        };
        Some(Tuple { term, elems })
    }

    /// The arity.
    pub fn len(&self) -> usize {
        self.elems.len()
    }

    /// Element `i` (from 0).
    pub fn get(&self, i: usize) -> Option<Term<'a>> {
        // SAFETY: the element is a term of the tuple's environment.
        self.elems.get(i).map(|&t| unsafe { Term::new(self.term.get_env(), t) })
    }
}
