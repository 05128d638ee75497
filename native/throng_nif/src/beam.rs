//! The NIF's host of the callback-module machine (`throng_beam::Beam`):
//! replies and DOWN notices go to local pids, modules are atoms.

use rustler::{Atom, Encoder, Env, LocalPid, Term};
use throng_beam::{Host, Mod};

/// The NIF as a [`Host`].
pub struct Nif;

impl Host for Nif {
    type Pid = LocalPid;
    type Module = Atom;
}

/// The BEAM callback-module machine, in the NIF.
pub type Beam = throng_beam::Beam<Nif>;
/// gen_statem's `From`: `{Pid, Tag}`; also a monitor's watcher.
pub type BeamFrom = throng_beam::BeamFrom<LocalPid>;
/// `init/1`'s argument and its starter.
pub type InitArgs = throng_beam::InitArgs<LocalPid>;
/// A callback for an executor to run.
pub type Work = throng_beam::Work<Nif>;
/// A session's module: a BEAM module or a native machine.
pub type Module = Mod<Atom>;
/// The native machines of an engine.
pub type Natives = throng_beam::Natives<Nif>;

/// The atom of a BEAM callback module (`undefined` for a native machine,
/// whose callbacks never reach an executor).
pub fn module_atom(m: &Module) -> Atom {
    match m {
        Mod::Beam(a) => *a,
        Mod::Native(_) => rustler::types::atom::undefined(),
    }
}

/// A module as `get_status` shows it: the atom, or `{native, Name}`.
pub fn module_term<'e>(env: Env<'e>, natives: &Natives, m: &Module) -> Term<'e> {
    match m {
        Mod::Beam(a) => a.encode(env),
        Mod::Native(id) => {
            let name = natives.name(*id).unwrap_or("undefined");
            let atom = Atom::from_str(env, name).unwrap_or_else(|_| rustler::types::atom::undefined());
            (crate::atoms::native(), atom).encode(env)
        }
    }
}

/// A list of modules, as [`module_term`] writes each.
pub fn modules_term<'e>(env: Env<'e>, natives: &Natives, ms: &[Module]) -> Term<'e> {
    ms.iter().map(|m| module_term(env, natives, m)).collect::<Vec<_>>().encode(env)
}
