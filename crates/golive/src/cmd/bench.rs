//! `golive bench ...`: dispatch to the benchmark modules of the library (`golive::bench*`).
//! Thin on purpose: the benchmarks move to their own crate and binary (`golive-bench`), and
//! this file and its one line in `cli.rs` and `main.rs` go with them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

use crate::terminal;

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub what: BenchCommand,
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Latency (p50/p99) of the HTTP API under concurrent clients, at the head and as of an
    /// earlier sequence, over a ledger of simulated events served in-process
    Query(BenchQueryArgs),
    /// Durable append and full replay vs raw sled append and raw sled scan+decode
    Store(BenchStoreArgs),
    /// End to end through a private nats-server: collector -> JetStream -> `golive serve` (a
    /// child process) -> receipts, beside raw JetStream publish and consume of the same messages
    Pipeline(BenchPipelineArgs),
    /// Everything in one run over the same events: store, PostgreSQL peer (its own server),
    /// pipeline through its own nats-server, query latency, audit verify, disk and memory; one
    /// table with the targets of issue 7 (docs/BENCHMARKS.md)
    All(BenchAllArgs),
}

#[derive(clap::Args)]
pub struct BenchQueryArgs {
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
    /// reads a checkpoint and replays); 0 skips it
    #[arg(long, default_value_t = 256)]
    pub cold_requests: u64,
    /// Projection checkpoint interval of the bench ledger
    #[arg(long, default_value_t = 10_000)]
    pub checkpoint_every: u64,
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
pub struct BenchStoreArgs {
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
pub struct BenchPipelineArgs {
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
}

#[derive(clap::Args)]
pub struct BenchAllArgs {
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
}

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    match args.what {
        BenchCommand::Store(a) => store(a),
        BenchCommand::Query(a) => query(a),
        BenchCommand::Pipeline(a) => pipeline(a),
        BenchCommand::All(a) => all(a),
    }
}

fn store(a: BenchStoreArgs) -> Result<ExitCode> {
    run_bench(
        a.dir,
        a.json,
        false,
        |base| {
            let ev = golive::bench::BenchEvents::simulate(a.seed, a.trusts, a.events);
            golive::bench::store_bench(base, &ev, a.runs, a.batch.clamp(1, 10_000))
        },
        golive::bench::table,
    )
}

fn query(a: BenchQueryArgs) -> Result<ExitCode> {
    let params = golive::bench_query::QueryBenchParams {
        events: a.events,
        trusts: a.trusts,
        seed: a.seed,
        clients: a.clients.clamp(1, 1_024),
        requests: a.requests,
        cold_requests: a.cold_requests,
        checkpoint_every_events: a.checkpoint_every,
        serve_secs: a.serve_secs,
    };
    run_bench(
        a.dir,
        a.json,
        true,
        |base| golive::bench_query::query_bench(base, params),
        golive::bench_query::query_table,
    )
}

fn pipeline(a: BenchPipelineArgs) -> Result<ExitCode> {
    run_bench(
        a.dir,
        a.json,
        false,
        |base| {
            let ev = golive::bench::BenchEvents::simulate(a.seed, a.trusts, a.events);
            golive::bench::pipeline_bench(
                base,
                &ev,
                &golive::bench::PipelineParams {
                    runs: a.runs,
                    window: a.window.clamp(1, 65_536),
                    collectors: a.collectors,
                    golive_exe: std::env::current_exe()?,
                },
            )
        },
        golive::bench::pipeline_table,
    )
}

fn all(a: BenchAllArgs) -> Result<ExitCode> {
    use golive::bench_all::{AllParams, PgChoice, QueryParams};
    anyhow::ensure!(
        (1..=1_000).contains(&a.trusts),
        "--trusts must be between 1 and 1000"
    );
    let params = AllParams {
        events: a.events,
        trusts: a.trusts,
        runs: a.runs,
        seed: a.seed,
        batch: a.batch.clamp(1, 10_000),
        window: a.window.clamp(1, 65_536),
        collectors: a.collectors,
        golive_exe: std::env::current_exe()?,
        pg: match (a.pg_url, a.skip_pg) {
            (Some(url), _) => PgChoice::Url(url),
            (None, true) => PgChoice::Skip,
            (None, false) => PgChoice::Own,
        },
        query: (!a.skip_query).then_some(QueryParams {
            clients: a.clients.clamp(1, 1_024),
            requests: a.query_requests,
            cold_requests: a.cold_requests,
        }),
    };
    run_bench(
        a.dir,
        a.json,
        false,
        |base| golive::bench_all::all_bench(base, &params),
        golive::bench_all::table,
    )
}

/// Runs a benchmark in a scratch directory under `dir` (default: the system temp dir), removes
/// it, prints the table (and the JSON report when `print_json`), and writes the JSON to `json`.
fn run_bench<R: serde::Serialize, E: Into<anyhow::Error>>(
    dir: Option<PathBuf>,
    json: Option<PathBuf>,
    print_json: bool,
    run: impl FnOnce(&Path) -> std::result::Result<R, E>,
    table: impl Fn(&R) -> String,
) -> Result<ExitCode> {
    let base = dir
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("golive-bench-{}", std::process::id()));
    // Ctrl-C or a kill stops the servers the run started and removes its scratch directory
    // (registered first, so it runs last: after the servers using it are stopped).
    golive::on_signal::install()?;
    let scratch = base.clone();
    let on_signal = golive::on_signal::register(move || golive::on_signal::remove_dir(&scratch));
    let report = run(&base);
    golive::on_signal::wait_if_stopping();
    let _ = std::fs::remove_dir_all(&base);
    drop(on_signal);
    let report = report.map_err(Into::into)?;
    terminal::out(&table(&report))?;
    let text = serde_json::to_string_pretty(&report)?;
    if print_json {
        terminal::out(&format!("{text}\n"))?;
    }
    if let Some(p) = json {
        std::fs::write(&p, text)?;
    }
    Ok(ExitCode::SUCCESS)
}
