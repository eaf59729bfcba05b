//! The process-level tests: real `golive serve`, `golive collect` and `nats-server` processes
//! (started by each test on free loopback ports, with their own directories), killed, paused
//! and restarted as a crash, a hung machine or a deploy would. One test binary, one module per
//! subject (linking a binary per file is slow); the harness is golive-testkit's.
//!
//! Declared in crates/golive/Cargo.toml, so that cargo builds the `golive` binary for it:
//! `cargo test -p golive --test process` (a module: `-- faults::`).

mod audit_replicas;
mod dashboard_browser;
mod disk_full;
mod faults;
mod feeds;
mod http_api;
mod https;
mod nats_auth;
mod nats_cluster;
mod nats_pipeline;
mod nats_tls;
mod origin;
mod readiness;
mod upgrade;

use golive_testkit::golive::Golive;

/// The binary under test (or `GOLIVE_TEST_BIN`).
pub static GOLIVE: Golive = Golive::new(env!("CARGO_BIN_EXE_golive"));
