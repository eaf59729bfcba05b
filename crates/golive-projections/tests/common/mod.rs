//! Helpers shared by the integration tests: the crate's own test kit and a generator of
//! valid envelopes for property tests.

#![allow(dead_code, unused_imports)]

pub mod generate;
#[path = "../../src/testkit.rs"]
mod testkit;

pub use testkit::*;
