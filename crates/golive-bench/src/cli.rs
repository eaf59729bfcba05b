//! The command line of `golive-bench`: the flags and defaults of what was `golive bench`, one
//! `Args` struct per subcommand, plus `--golive` where a subcommand runs the `golive` binary.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "golive-bench",
    version,
    about = "Measure the ledger beside raw baselines in the same run (see docs/BENCHMARKS.md)"
)]
pub struct Cli {
    #[command(flatten)]
    pub logging: golive::edge::LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Latency (p50/p99) of the HTTP API under concurrent clients, at the head and as of an
    /// earlier sequence, over a ledger of simulated events served in-process
    Query(QueryArgs),
    /// Does a flood from one token slow another token? The API with two tokens and the default
    /// limits: the quiet token's p99 alone and while the other floods (docs/SECURITY.md)
    Flood(FloodArgs),
    /// Durable append and full replay vs raw sled append and raw sled scan+decode
    Store(StoreArgs),
    /// End to end through a private nats-server: collector -> JetStream -> `golive serve` (a
    /// child process) -> receipts, beside raw JetStream publish and consume of the same messages
    Pipeline(PipelineArgs),
    /// Everything in one run over the same events: store, PostgreSQL peer (its own server),
    /// pipeline through its own nats-server, query latency, audit verify, disk and memory; one
    /// table with the targets of issue 7 (docs/BENCHMARKS.md)
    All(AllArgs),
}

/// The `golive` binary the ledger runs as (`golive serve`, `golive replay`).
#[derive(clap::Args)]
pub struct GoliveArgs {
    /// The `golive` binary to run as the ledger (default: the `golive` next to golive-bench,
    /// e.g. target/release/golive; `cargo build --release -p golive` builds it)
    #[arg(long, value_name = "PATH")]
    pub golive: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct QueryArgs {
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    #[arg(long, default_value_t = 10)]
    pub trusts: usize,
    /// Concurrent clients (one keep-alive connection each)
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Requests per cached scenario (head; as-of at the same sequence)
    #[arg(long, default_value_t = 20_000)]
    pub requests: u64,
    /// Requests of the as-of scenario where every request asks for another sequence (each
    /// reads a snapshot and replays); 0 skips it
    #[arg(long, default_value_t = 256)]
    pub cold_requests: u64,
    /// Projection snapshot interval of the bench ledger (`--checkpoint-every`, its earlier
    /// name, is still accepted)
    #[arg(long, default_value_t = 10_000, alias = "checkpoint-every")]
    pub snapshot_every: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Keep serving this many seconds after measuring, for an external load tool
    #[arg(long, default_value_t = 0)]
    pub serve_secs: u64,
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct FloodArgs {
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    #[arg(long, default_value_t = 10)]
    pub trusts: usize,
    /// Connections of the flooding token
    #[arg(long, default_value_t = 16)]
    pub flood_clients: usize,
    /// Requests of the quiet token, alone and then under the flood
    #[arg(long, default_value_t = 500)]
    pub requests: u64,
    /// Milliseconds between the quiet token's requests (20: 50 a second, below its limit)
    #[arg(long, default_value_t = 20)]
    pub pace_ms: u64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct StoreArgs {
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    #[arg(long, default_value_t = 10)]
    pub trusts: usize,
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write the report as JSON to this file
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Directory for the scratch stores (default: the system temp dir)
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct PipelineArgs {
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    #[arg(long, default_value_t = 10)]
    pub trusts: usize,
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Publishes in flight, for the raw baseline and each collector alike
    #[arg(long, default_value_t = 1024)]
    pub window: usize,
    /// Collectors, each with its own outbox and a share of the trusts
    #[arg(long, default_value_t = 1)]
    pub collectors: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub golive: GoliveArgs,
}

#[derive(clap::Args)]
pub struct AllArgs {
    #[arg(long, default_value_t = 100_000)]
    pub events: u64,
    #[arg(long, default_value_t = 10)]
    pub trusts: usize,
    /// Runs of every rate (the table shows medians)
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Events per ledger batch and per PostgreSQL transaction
    #[arg(long, default_value_t = 1_000)]
    pub batch: usize,
    /// Publishes in flight, for the raw baseline and each collector alike
    #[arg(long, default_value_t = 1024)]
    pub window: usize,
    /// Collectors in the end-to-end part, each with its own outbox and a share of the trusts
    #[arg(long, default_value_t = 1)]
    pub collectors: usize,
    /// Use this PostgreSQL server (libpq parameters or postgresql:// URL) instead of starting
    /// one; the bench creates and drops a table golive_bench_events there
    #[arg(long, value_name = "URL", conflicts_with = "skip_pg")]
    pub pg_url: Option<String>,
    /// Leave the PostgreSQL peer out
    #[arg(long)]
    pub skip_pg: bool,
    /// Leave the query latency part out
    #[arg(long)]
    pub skip_query: bool,
    /// Concurrent clients of the query part
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
    /// Requests per cached query scenario (head; as-of at the same sequence)
    #[arg(long, default_value_t = 5_000)]
    pub query_requests: u64,
    /// Requests of the as-of scenario with a different sequence each (each one computed)
    #[arg(long, default_value_t = 64)]
    pub cold_requests: u64,
    /// Also write the report as JSON to this file
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Directory for the scratch stores and servers (default: the system temp dir)
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub golive: GoliveArgs,
}
