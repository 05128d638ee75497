//! `throng_beam`: what the two BEAM hosts of the engine share — the NIF
//! (`throng_nif`, terms are `rustler::Term`s) and the port program
//! (`throng_port`, terms arrive as External Term Format and are read with
//! `eetf`).
//!
//! * [`etf`]: [`Etf`], a term kept in the engine as ETF bytes (one
//!   pointer); each host encodes and decodes with its own term library;
//! * [`machine`]: [`Beam`], the machine of a BEAM callback module, generic
//!   over the [`Host`] (what a pid and a module are on that side);
//! * [`view`]: [`TermView`], the small read-only view of a term that each
//!   host implements, and [`Name`], the atoms the rules read;
//! * [`parse`]: gen_statem's rules for reading callback results, actions,
//!   time-outs, init results and callback modes, written once against
//!   [`TermView`].
//!
//! No rustler and no eetf here: `cargo test -p throng_beam` runs without a
//! BEAM.

pub mod etf;
pub mod machine;
pub mod native;
pub mod parse;
pub mod term;
pub mod view;

pub use etf::Etf;
pub use machine::{Beam, BeamFrom, Host, InitArgs, Mod, Work};
pub use native::{Native, NativeId, Natives};
pub use view::{Name, TermView};
