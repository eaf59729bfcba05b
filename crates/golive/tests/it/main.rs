//! The `golive` package's integration tests that need no NATS: the CLI end to end on a real
//! on-disk ledger, the auditor commands and routes, as-of answers, and what the deploy files'
//! Prometheus rules and Grafana dashboard read from `/metrics`. One test binary, one
//! module per subject (linking a binary per file is slow); the process-level tests with NATS
//! are in the top-level tests/process/.

mod as_of;
mod audit;
mod audit_http;
mod cli;
mod conventions;
mod monitoring;
mod signatures;
mod takeaway;

use golive_testkit::golive::Golive;

/// The binary under test (or `GOLIVE_TEST_BIN`).
pub static GOLIVE: Golive = Golive::new(env!("CARGO_BIN_EXE_golive"));
