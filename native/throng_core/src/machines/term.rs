//! A small Erlang-like term, for test machines and examples.

use std::fmt;

/// An Erlang-like term. Equality is exact (`Int(1) != Float(1.0)`), as
/// `=:=`.
#[derive(Clone, PartialEq)]
pub enum Term {
    /// An atom.
    Atom(&'static str),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A tuple.
    Tuple(Vec<Term>),
    /// A list.
    List(Vec<Term>),
    /// A string (binary).
    Str(String),
}

/// `Term::Atom`.
pub fn atom(a: &'static str) -> Term {
    Term::Atom(a)
}

/// `Term::Int`.
pub fn int(i: i64) -> Term {
    Term::Int(i)
}

/// `Term::Tuple`.
pub fn tuple(items: impl IntoIterator<Item = Term>) -> Term {
    Term::Tuple(items.into_iter().collect())
}

/// `Term::List`.
pub fn list(items: impl IntoIterator<Item = Term>) -> Term {
    Term::List(items.into_iter().collect())
}

impl Term {
    /// The atom's name, if an atom.
    pub fn as_atom(&self) -> Option<&'static str> {
        match self {
            Term::Atom(a) => Some(a),
            _ => None,
        }
    }
    /// The integer, if an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Term::Int(i) => Some(*i),
            _ => None,
        }
    }
    /// The elements, if a tuple.
    pub fn as_tuple(&self) -> Option<&[Term]> {
        match self {
            Term::Tuple(t) => Some(t),
            _ => None,
        }
    }
}

impl From<&'static str> for Term {
    fn from(a: &'static str) -> Self {
        Term::Atom(a)
    }
}

impl From<i64> for Term {
    fn from(i: i64) -> Self {
        Term::Int(i)
    }
}

impl From<String> for Term {
    fn from(s: String) -> Self {
        Term::Str(s)
    }
}

impl fmt::Debug for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(f: &mut fmt::Formatter<'_>, open: &str, items: &[Term], close: &str) -> fmt::Result {
            f.write_str(open)?;
            for (i, t) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{t:?}")?;
            }
            f.write_str(close)
        }
        match self {
            Term::Atom(a) => f.write_str(a),
            Term::Int(i) => write!(f, "{i}"),
            Term::Float(x) => write!(f, "{x:?}"),
            Term::Tuple(t) => seq(f, "{", t, "}"),
            Term::List(l) => seq(f, "[", l, "]"),
            Term::Str(s) => write!(f, "<<{s:?}>>"),
        }
    }
}
