//! The pieces of `test_props.rs`: the generated callback module
//! ([`program`]), the reference model ([`model`]), the model-free trace
//! invariants ([`checks`]) and the driver that runs both ([`harness`]).

pub mod checks;
pub mod harness;
pub mod model;
pub mod program;
