//! # throng_nif
//!
//! The rustler glue between the BEAM and [`throng_core`]: resources, term
//! conversion, error mapping and message delivery live here and nowhere
//! else. The Erlang module `throng_nif` (erlang/src/throng_nif.erl) loads
//! this library in its `-on_load` and holds one stub per NIF; nothing but
//! that module calls these functions.
//!
//! `rustler::init!` registers every `#[rustler::nif]` in the crate, so every
//! NIF added here needs its stub in `throng_nif.erl`, or loading fails with
//! `bad_lib`.
#![deny(unsafe_code)]

/// Version of the engine this library was built from: `throng_core`'s crate
/// version, as a binary.
///
/// The BEAM side compares it with the `throng` application's `vsn` so that a
/// stale `priv/throng_nif.so` is caught.
#[rustler::nif]
fn core_version() -> &'static str {
    throng_core::VERSION
}

rustler::init!("throng_nif");
