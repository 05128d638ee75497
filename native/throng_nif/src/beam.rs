//! The NIF's host of the callback-module machine (`throng_beam::Beam`):
//! replies and DOWN notices go to local pids, modules are atoms.

use rustler::{Atom, LocalPid};
use throng_beam::Host;

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
