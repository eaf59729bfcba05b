//! # golive-testkit
//!
//! The one test harness of the workspace, a dev-dependency only (`publish = false`):
//!
//! - [`arb`]: proptest strategies of valid envelopes of every kind;
//! - [`invariants`]: what must hold for any input to the decoders and the export verifier,
//!   asserted with panics, shared by the property tests and the fuzz targets in `fuzz/`;
//! - [`projections`]: envelope builders and a stand-in ledger for the projections' tests;
//! - [`nats`]: a real `nats-server` per test (or a 3-node JetStream cluster) on free loopback
//!   ports, which a test can kill, pause and restart;
//! - [`process`] and [`golive`]: child processes with their output in a log file, and the
//!   `golive` binary under test run with a scrubbed environment;
//! - [`wait_until`] and [`free_port`].
//!
//! Design decision: the kit depends on the crates whose invariants it checks (model, store,
//! verify) but not on golive-projections, whose unit tests use it (see [`projections`]), nor
//! on the binary, whose path only its own package's tests know (see [`golive::Golive`]).
//! Features: `proptest` (the strategies) and `harness` (processes, NATS, HTTP), both on by
//! default; the fuzz crate turns both off and gets the invariant checkers alone.

#[cfg(feature = "proptest")]
pub mod arb;
#[cfg(feature = "harness")]
pub mod golive;
pub mod invariants;
#[cfg(feature = "harness")]
pub mod nats;
#[cfg(feature = "harness")]
pub mod process;
pub mod projections;
mod scrub;
#[cfg(feature = "harness")]
pub mod tls;
mod wait;

pub use scrub::scrubbed_command;
#[cfg(feature = "harness")]
pub use wait::wait_until_async;
pub use wait::{free_port, port_open, wait_for, wait_until};
