//! # golive-bench
//!
//! The benchmarks of Go-Live Ledger, kept out of the product: `golive-bench all|store|pipeline|query`
//! measures the ledger beside raw baselines (plain sled, raw JetStream, a PostgreSQL event table)
//! in the same run over the same simulated events, so that its figures are ratios, not
//! absolutes (docs/BENCHMARKS.md has the figures and what each line measures).
//!
//! The pipeline part (and `all`) runs the ledger as in production: the `golive` binary as a
//! child process (`golive serve`, then `golive replay`). `--golive PATH` names that binary; by
//! default it is the `golive` next to this executable (`target/release/golive-bench` runs
//! `target/release/golive`), built by `cargo build --release` (or `cargo build --release -p
//! golive`). [`golive_bin::resolve`] finds it and says how to build it when it is missing.
//!
//! **Boundary:** this is the only crate that links a PostgreSQL client, and the only one beside
//! `golive-store` that writes sled directly (the raw baseline in [`baseline`]). The product's
//! `golive` crate does not depend on this one; this one uses its library (the simulation, the
//! audit export and verify, the nats-server and signal helpers).

pub mod all;
pub mod baseline;
pub mod events;
pub mod golive_bin;
pub mod pg;
pub mod pipeline;
pub mod procstat;
pub mod query;
pub mod store;
