//! Invariant checkers: each takes any input, runs the production code on it and asserts what
//! must hold of the answer (with panics, so that a fuzz target and a property test report the
//! same failure). They use no proptest, so that the fuzz crate can build them.

pub mod model;
pub mod origin;
pub mod store;
pub mod verify;
