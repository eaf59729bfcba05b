//! # golive (library part of the binary crate)
//!
//! The pieces of the `golive` command that tests and benchmarks reuse: configuration, the
//! deterministic simulation, the audit over stores, exports and servers, the HTTP client, and
//! the text of everything the command shows (`render`). The commands themselves (`src/cmd/`)
//! and their flags (`src/cli.rs`) belong to the binary, which is thin glue over this and the
//! library crates.

pub mod audit;
pub mod client;
pub mod collector_metrics;
pub mod config;
pub mod edge;
pub mod exit;
pub mod natsauth;
pub mod natsproc;
pub mod on_signal;
pub mod query;
pub mod render;
pub mod report;
pub mod sdnotify;
pub mod serving;
pub mod simulate;
