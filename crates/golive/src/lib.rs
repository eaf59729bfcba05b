//! # golive (library part of the binary crate)
//!
//! The pieces of the `golive` command that tests and benchmarks reuse: configuration, the
//! deterministic simulation and the text rendering of projections. `main.rs` is thin glue.

pub mod audit;
pub mod audit_cmd;
pub mod audit_remote;
pub mod client;
pub mod config;
pub mod natsauth;
pub mod natsproc;
pub mod on_signal;
pub mod query;
pub mod render;
pub mod repair;
pub mod serving;
pub mod simulate;
