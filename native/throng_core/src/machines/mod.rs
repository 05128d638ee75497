//! Machines shipped with the core: the examples of OTP's design principles
//! and GenStateMachine's documentation, and a scriptable machine for tests.
//!
//! * [`code_lock`]: the code locks of OTP's `statem` design-principles chapter
//!   (state functions, one event handler, state enter, complex state with
//!   `set_lock_button`).
//! * [`switch`]: GenStateMachine's Switch, in both callback modes and with
//!   `state_enter`.
//! * [`script`]: a machine whose callbacks are closures over [`term::Term`],
//!   with an optional deferred mode in which every callback answers
//!   [`crate::Step::Pending`], as a BEAM callback module does.

pub mod code_lock;
pub mod script;
pub mod switch;
pub mod term;
