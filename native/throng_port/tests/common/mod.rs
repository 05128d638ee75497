//! Helpers shared by the tests: terms and frames.
#![allow(dead_code)]

use eetf::Term;
use throng_port::proto::{atom, atom_map, encode, int, tuple};

pub fn hello(version: u64) -> Vec<u8> {
    encode(&tuple([atom("hello"), int(version), atom_map([])]))
}

pub fn req(id: u64, op: Term) -> Vec<u8> {
    encode(&tuple([atom("req"), int(id), op]))
}

pub fn framed(payload: &[u8]) -> Vec<u8> {
    throng_port::frame::framed(payload)
}

/// Splits a byte stream of frames into decoded terms.
pub fn frames(mut bytes: &[u8]) -> Vec<Term> {
    let mut v = Vec::new();
    while bytes.len() >= 4 {
        let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        v.push(Term::decode(&bytes[4..4 + len]).unwrap());
        bytes = &bytes[4 + len..];
    }
    assert!(bytes.is_empty(), "a partial frame at the end of the output");
    v
}

pub fn elems(t: &Term) -> &[Term] {
    match t {
        Term::Tuple(t) => &t.elements,
        other => panic!("not a tuple: {other}"),
    }
}

pub fn name(t: &Term) -> &str {
    throng_port::proto::atom_name(t).unwrap_or_else(|| panic!("not an atom: {t}"))
}
