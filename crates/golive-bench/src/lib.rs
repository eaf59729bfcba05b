//! # golive-bench
//!
//! The benchmarks of Go-Live Ledger, kept out of the product: `golive-bench
//! all|store|pipeline|query` measures the ledger beside raw baselines (plain sled, raw
//! JetStream, a PostgreSQL event table) in the same run over the same simulated events
//! ([`events::BenchEvents`]), so that its figures are ratios, not absolutes (docs/BENCHMARKS.md
//! has the figures and what each line measures).
//!
//! - [`store`]: append, ingest, replay, rebuild, audit export and verify beside [`baseline`]
//!   (raw sled append) and a raw scan.
//! - [`pipeline`]: collectors -> JetStream -> `golive serve` -> receipts beside raw JetStream
//!   publish and consume; CPU per event of each process, bytes on disk, peak memory
//!   ([`procstat`]).
//! - [`query`]: HTTP latency under concurrent clients, served in-process.
//! - [`pg`]: the PostgreSQL peer, on a server of its own or the user's.
//! - [`all`]: every part over one set of events, one table with the targets.
//!
//! **Design decision:** the pipeline part (and `all`) runs the ledger as in production, the
//! `golive` binary in a child process (`golive serve`, then `golive replay`), not the library in
//! this process. `--golive PATH` names that binary; by default it is the `golive` next to this
//! executable (`target/release/golive-bench` runs `target/release/golive`; `cargo build
//! --release` builds both). [`golive_bin::resolve`] finds it, and says how to build it when it
//! is missing, before anything starts.
//!
//! **Boundary:** this is the only crate that links a PostgreSQL client, and the only one beside
//! `golive-store` that writes sled directly (the raw baseline). Nothing depends on it; it uses
//! the `golive` library (the simulation, the audit export and verify, the nats-server and
//! signal helpers). A signal (Ctrl-C, SIGTERM, SIGHUP) stops every server a run started and
//! removes its scratch directory (`golive::on_signal`).

pub mod all;
pub mod baseline;
pub mod events;
pub mod flood;
pub mod golive_bin;
pub mod pg;
pub mod pipeline;
pub mod procstat;
pub mod query;
pub mod store;
