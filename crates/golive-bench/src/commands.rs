//! One function per subcommand: turns its flags into the library's parameters (with the same
//! clamps `golive bench` applied) and runs it through [`run_bench`], which owns the scratch
//! directory, the signal handling and the printing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use golive_bench::all::{AllParams, PgChoice, QueryParams};
use golive_bench::events::BenchEvents;
use golive_bench::pipeline::PipelineParams;
use golive_bench::query::QueryBenchParams;
use golive_bench::{all, golive_bin, pipeline, query, store};

use crate::cli::{AllArgs, Command, FloodArgs, PipelineArgs, QueryArgs, StoreArgs};

/// Runs the subcommand.
pub fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Store(a) => store(a),
        Command::Query(a) => query(a),
        Command::Flood(a) => flood(a),
        Command::Pipeline(a) => pipeline(a),
        Command::All(a) => all(a),
    }
}

fn store(a: StoreArgs) -> Result<ExitCode> {
    run_bench(
        a.dir,
        a.json,
        false,
        |base| {
            let ev = BenchEvents::simulate(a.seed, a.trusts, a.events);
            store::store_bench(base, &ev, a.runs, a.batch.clamp(1, 10_000))
        },
        store::table,
    )
}

fn query(a: QueryArgs) -> Result<ExitCode> {
    let params = QueryBenchParams {
        events: a.events,
        trusts: a.trusts,
        seed: a.seed,
        clients: a.clients.clamp(1, 1_024),
        requests: a.requests,
        cold_requests: a.cold_requests,
        snapshot_every_events: a.snapshot_every,
        serve_secs: a.serve_secs,
    };
    run_bench(
        a.dir,
        a.json,
        true,
        |base| query::query_bench(base, params),
        query::query_table,
    )
}

fn flood(a: FloodArgs) -> Result<ExitCode> {
    let params = golive_bench::flood::FloodParams {
        events: a.events,
        trusts: a.trusts,
        seed: a.seed,
        flood_clients: a.flood_clients.clamp(1, 1_024),
        requests: a.requests.max(1),
        pace_ms: a.pace_ms,
    };
    run_bench(
        a.dir,
        a.json,
        true,
        |base| golive_bench::flood::flood_bench(base, params),
        golive_bench::flood::flood_table,
    )
}

fn pipeline(a: PipelineArgs) -> Result<ExitCode> {
    let params = PipelineParams {
        runs: a.runs,
        window: a.window.clamp(1, 65_536),
        collectors: a.collectors,
        golive_exe: golive_bin::resolve(a.golive.golive.as_deref())?,
    };
    run_bench(
        a.dir,
        a.json,
        false,
        |base| {
            let ev = BenchEvents::simulate(a.seed, a.trusts, a.events);
            pipeline::pipeline_bench(base, &ev, &params)
        },
        pipeline::pipeline_table,
    )
}

fn all(a: AllArgs) -> Result<ExitCode> {
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
        golive_exe: golive_bin::resolve(a.golive.golive.as_deref())?,
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
        |base| all::all_bench(base, &params),
        all::table,
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
    print!("{}", table(&report));
    let text = serde_json::to_string_pretty(&report)?;
    if print_json {
        println!("{text}");
    }
    if let Some(p) = json {
        std::fs::write(&p, text)?;
    }
    Ok(ExitCode::SUCCESS)
}
