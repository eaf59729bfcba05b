//! `golive-bench all`: every benchmark of the ledger in one run, over one set of simulated
//! events, as one table (and one JSON report) with the targets of issue 7 beside the figures.
//!
//! It reuses the parts: `store::store_bench` (raw sled, the ledger's append, replay, audit
//! export and verify), `pg` (the PostgreSQL peer), `pipeline::pipeline_bench` (raw JetStream,
//! collectors -> NATS -> `golive serve` -> receipts, outbox, RSS) and `query` (HTTP latency
//! under 32 clients). This module only orders them and lays out the summary. The table's first
//! line still reads `golive bench all:`, and the query part's `load_tool` still names
//! `golive bench query`, so that reports compare line for line with those measured before the
//! benchmarks had a binary of their own.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::events::BenchEvents;
use crate::pg::{self, PgError};
use crate::pipeline::{self, PipelineParams};
use crate::query::{self, QueryBenchParams};
use crate::store;

/// Where the PostgreSQL peer runs.
#[derive(Debug, Clone)]
pub enum PgChoice {
    /// Start the bench's own server (skipped, said so, when PostgreSQL is not installed).
    Own,
    /// A server the user runs: libpq-style parameters or a `postgresql://` URL.
    Url(String),
    /// Leave the peer out.
    Skip,
}

/// The query part's sizes.
#[derive(Debug, Clone, Copy)]
pub struct QueryParams {
    pub clients: usize,
    /// Requests per cached scenario (head, as-of same seq).
    pub requests: u64,
    /// Requests of the as-of scenario with a different sequence every time.
    pub cold_requests: u64,
}

#[derive(Debug, Clone)]
pub struct AllParams {
    pub events: u64,
    pub trusts: usize,
    pub runs: usize,
    pub seed: u64,
    pub batch: usize,
    pub window: usize,
    pub collectors: usize,
    pub golive_exe: PathBuf,
    pub pg: PgChoice,
    /// None: the query part is skipped.
    pub query: Option<QueryParams>,
}

#[derive(Debug, thiserror::Error)]
pub enum AllBenchError {
    #[error("store part")]
    Store(#[from] store::StoreBenchError),
    #[error("pipeline part")]
    Pipeline(#[from] pipeline::PipelineBenchError),
    #[error("PostgreSQL part")]
    Pg(#[from] PgError),
    #[error("query part")]
    Query(#[from] query::QueryBenchError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The machine the figures come from.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_bytes: u64,
    pub os: String,
    pub golive_version: &'static str,
}

impl Machine {
    pub fn this() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let meminfo = read("/proc/meminfo");
        let os = read("/etc/os-release");
        let field = |text: &str, key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_once([':', '=']))
                .map(|(_, v)| v.trim().trim_matches('"').to_owned())
                .unwrap_or_default()
        };
        Self {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: field(&cpuinfo, "model name"),
            memory_bytes: field(&meminfo, "MemTotal")
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .unwrap_or(0)
                * 1024,
            os: field(&os, "PRETTY_NAME"),
            golive_version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The headline figures, flat, with the ratios the targets are stated in. `None`: the part was
/// not measured (skipped, or PostgreSQL not installed); `not_measured` says why.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub raw_publish_per_s: f64,
    pub raw_consume_per_s: f64,
    /// Baseline A+: raw publish and consume at the same time (the transport end to end).
    pub raw_pipeline_per_s: f64,
    pub end_to_end_per_s: f64,
    pub end_to_end_ratio_to_raw_publish: f64,
    /// The target of issue 19: end to end >= 0.8 x A+.
    pub end_to_end_ratio_to_raw_pipeline: f64,
    /// CPU microseconds per event during the raw publish: the client and nats-server together.
    pub raw_publish_cpu_us_per_event: Option<f64>,
    /// CPU microseconds per event during the end-to-end run, per process.
    pub end_to_end_collector_cpu_us_per_event: Option<f64>,
    pub end_to_end_ledger_cpu_us_per_event: Option<f64>,
    pub end_to_end_nats_cpu_us_per_event: Option<f64>,
    /// Cores the three processes kept busy together during the end-to-end run.
    pub end_to_end_cores_busy: f64,
    pub raw_sled_append_per_s: f64,
    pub ledger_append_per_s: f64,
    pub ledger_ingest_json_per_s: f64,
    pub raw_scan_decode_per_s: f64,
    pub ledger_replay_per_s: f64,
    pub replay_ratio_to_raw_scan: f64,
    /// `golive replay`: the full replay plus writing every projection snapshot.
    pub ledger_rebuild_per_s: f64,
    pub pg_append_per_s: Option<f64>,
    pub pg_replay_decode_per_s: Option<f64>,
    pub ledger_append_ratio_to_pg: Option<f64>,
    pub ledger_replay_ratio_to_pg: Option<f64>,
    pub query_head_p50_ms: Option<f64>,
    pub query_head_p99_ms: Option<f64>,
    pub query_as_of_cached_p50_ms: Option<f64>,
    pub query_as_of_cached_p99_ms: Option<f64>,
    /// As-of at distinct seqs of one trust (`/v1/money?trust=X&as_of_seq=N`).
    pub query_as_of_trust_distinct_p50_ms: Option<f64>,
    pub query_as_of_trust_distinct_p99_ms: Option<f64>,
    /// As-of at distinct seqs of the whole ledger (`/v1/money?as_of_seq=N`).
    pub query_as_of_distinct_p50_ms: Option<f64>,
    pub query_as_of_distinct_p99_ms: Option<f64>,
    /// Known-at at distinct times of one trust (`/v1/money?trust=X&known_at=T`).
    pub query_known_at_trust_distinct_p50_ms: Option<f64>,
    pub query_known_at_trust_distinct_p99_ms: Option<f64>,
    /// Known-at at distinct times of the whole ledger (`/v1/money?known_at=T`).
    pub query_known_at_distinct_p50_ms: Option<f64>,
    pub query_known_at_distinct_p99_ms: Option<f64>,
    pub audit_export_per_s: f64,
    pub audit_verify_per_s: f64,
    pub ledger_bytes_per_event: f64,
    pub served_ledger_bytes_per_event: f64,
    pub outbox_bytes_per_event: f64,
    pub pg_table_bytes_per_event: Option<f64>,
    pub pg_wal_bytes_per_event: Option<f64>,
    pub ledger_peak_rss_bytes: Option<u64>,
    pub replay_peak_rss_bytes: Option<u64>,
    pub not_measured: Vec<String>,
}

/// One line of the printed table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub what: String,
    /// None: not measured.
    pub value: Option<f64>,
    pub unit: &'static str,
    pub ratio: String,
    /// The target of issue 7 this line is judged by, if any.
    pub target: String,
    /// Whether it is met; None where the target does not apply at this size or was not measured.
    pub met: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AllReport {
    pub events: u64,
    pub trusts: usize,
    pub runs: usize,
    pub seed: u64,
    pub batch_events: usize,
    pub json_event_bytes_mean: f64,
    pub machine: Machine,
    pub summary: Summary,
    pub rows: Vec<Row>,
    pub store: store::Report,
    pub pipeline: pipeline::PipelineReport,
    pub postgres: Option<pg::PgReport>,
    pub query: Option<query::QueryReport>,
}

/// Runs every part under `dir`.
pub fn all_bench(dir: &Path, p: &AllParams) -> Result<AllReport, AllBenchError> {
    std::fs::create_dir_all(dir)?;
    let mut not_measured = Vec::new();
    // The PostgreSQL server first: a broken setup fails the run now, not after the long parts.
    let own_pg = start_own_pg(&p.pg, dir, &mut not_measured)?;
    let ev = BenchEvents::simulate(p.seed, p.trusts, p.events);
    tracing::info!(events = ev.len(), "bench all: events generated");

    let store = store::store_bench(&dir.join("store"), &ev, p.runs, p.batch)?;
    tracing::info!("bench all: store part done");

    let postgres = pg_part(p, own_pg, &ev)?;
    tracing::info!("bench all: PostgreSQL part done");

    let pipeline = pipeline::pipeline_bench(
        &dir.join("pipeline"),
        &ev,
        &PipelineParams {
            runs: p.runs,
            window: p.window,
            collectors: p.collectors,
            golive_exe: p.golive_exe.clone(),
        },
    )?;
    tracing::info!("bench all: pipeline part done");

    let query = query_part(dir, &ev, p, &mut not_measured)?;
    let summary = summarize(
        &store,
        &pipeline,
        postgres.as_ref(),
        query.as_ref(),
        not_measured,
    );
    let rows = rows(
        &summary,
        ev.len(),
        p.window,
        query.as_ref().map(|q| q.scenarios[0].clients),
    );
    Ok(AllReport {
        events: ev.len(),
        trusts: p.trusts,
        runs: p.runs.max(1),
        seed: p.seed,
        batch_events: p.batch,
        json_event_bytes_mean: ev.mean_json_bytes(),
        machine: Machine::this(),
        summary,
        rows,
        store,
        pipeline,
        postgres,
        query,
    })
}

/// The bench's own PostgreSQL server under `dir`, when `choice` asks for one. Not installed:
/// none, and `not_measured` says why; any other failure to start it fails the run.
fn start_own_pg(
    choice: &PgChoice,
    dir: &Path,
    not_measured: &mut Vec<String>,
) -> Result<Option<pg::OwnPostgres>, PgError> {
    match choice {
        PgChoice::Own => match pg::start(&dir.join("pg")) {
            Ok(pg) => Ok(Some(pg)),
            Err(PgError::NotInstalled) => {
                let why = PgError::NotInstalled.to_string();
                tracing::warn!("{why}: the PostgreSQL rows are not measured");
                not_measured.push(format!("PostgreSQL peer: {why}"));
                Ok(None)
            }
            Err(e) => Err(e),
        },
        PgChoice::Url(_) => Ok(None),
        PgChoice::Skip => {
            not_measured.push("PostgreSQL peer: --skip-pg".to_owned());
            Ok(None)
        }
    }
}

/// The PostgreSQL peer over `ev`, on the user's server (`--pg-url`) or the bench's own, which
/// is stopped afterwards; None when there is neither.
fn pg_part(
    p: &AllParams,
    own_pg: Option<pg::OwnPostgres>,
    ev: &BenchEvents,
) -> Result<Option<pg::PgReport>, PgError> {
    let report = match (&p.pg, &own_pg) {
        (PgChoice::Url(url), _) => Some(pg::pg_bench(url, "external", ev, p.runs, p.batch)?),
        (_, Some(own)) => Some(pg::pg_bench(
            &own.conn_string(),
            "own",
            ev,
            p.runs,
            p.batch,
        )?),
        _ => None,
    };
    drop(own_pg);
    Ok(report)
}

/// The query latency part over the same events, with the ledger's default snapshot interval;
/// None (and said so in `not_measured`) with `--skip-query`.
fn query_part(
    dir: &Path,
    ev: &BenchEvents,
    p: &AllParams,
    not_measured: &mut Vec<String>,
) -> Result<Option<query::QueryReport>, query::QueryBenchError> {
    let Some(q) = p.query else {
        not_measured.push("query latency: --skip-query".to_owned());
        return Ok(None);
    };
    let report = query::query_bench_over(
        &dir.join("query"),
        ev.envelopes.iter().cloned(),
        QueryBenchParams {
            events: ev.len(),
            trusts: p.trusts,
            seed: p.seed,
            clients: q.clients,
            requests: q.requests,
            cold_requests: q.cold_requests,
            snapshot_every_events: golive_ledger::LedgerOptions::default().snapshot_every_events,
            serve_secs: 0,
        },
    )?;
    let _ = std::fs::remove_dir_all(dir.join("query"));
    Ok(Some(report))
}

fn scenario(q: Option<&query::QueryReport>, prefix: &str) -> (Option<f64>, Option<f64>) {
    q.and_then(|q| q.scenarios.iter().find(|s| s.name.starts_with(prefix)))
        .map_or((None, None), |s| (Some(s.p50_ms), Some(s.p99_ms)))
}

fn summarize(
    store: &store::Report,
    pipeline: &pipeline::PipelineReport,
    pg: Option<&pg::PgReport>,
    query: Option<&query::QueryReport>,
    not_measured: Vec<String>,
) -> Summary {
    let s = &store.median;
    let n = &pipeline.median;
    let (head50, head99) = scenario(query, "projection at the head");
    let (cached50, cached99) = scenario(query, "as-of, same seq");
    let (trust50, trust99) = scenario(query, "as-of one trust, distinct seqs");
    let (distinct50, distinct99) = scenario(query, "as-of whole ledger, distinct seqs");
    let (known_trust50, known_trust99) = scenario(query, "known-at one trust, distinct times");
    let (known50, known99) = scenario(query, "known-at whole ledger, distinct times");
    Summary {
        raw_publish_per_s: n.raw_publish_per_s,
        raw_consume_per_s: n.raw_consume_per_s,
        raw_pipeline_per_s: n.raw_pipeline_per_s,
        end_to_end_per_s: n.end_to_end_per_s,
        end_to_end_ratio_to_raw_publish: pipeline.end_to_end_ratio_to_raw_publish,
        end_to_end_ratio_to_raw_pipeline: pipeline.end_to_end_ratio_to_raw_pipeline,
        raw_publish_cpu_us_per_event: {
            let c = &n.raw_publish_cpu_us_per_event;
            c.collector.zip(c.nats_server).map(|(a, b)| a + b)
        },
        end_to_end_collector_cpu_us_per_event: n.end_to_end_cpu_us_per_event.collector,
        end_to_end_ledger_cpu_us_per_event: n.end_to_end_cpu_us_per_event.ledger,
        end_to_end_nats_cpu_us_per_event: n.end_to_end_cpu_us_per_event.nats_server,
        end_to_end_cores_busy: n.end_to_end_cpu_us_per_event.cores_busy(n.end_to_end_per_s),
        raw_sled_append_per_s: s.raw_sled_append_per_s,
        ledger_append_per_s: s.ledger_append_per_s,
        ledger_ingest_json_per_s: s.ledger_ingest_json_per_s,
        raw_scan_decode_per_s: s.raw_scan_decode_per_s,
        ledger_replay_per_s: s.ledger_replay_per_s,
        replay_ratio_to_raw_scan: store.replay_ratio_to_raw_scan,
        ledger_rebuild_per_s: s.ledger_rebuild_per_s,
        pg_append_per_s: pg.map(|p| p.median.append_per_s),
        pg_replay_decode_per_s: pg.map(|p| p.median.replay_decode_per_s),
        // Medians of the two sides: the ledger and PostgreSQL parts run one after the other.
        ledger_append_ratio_to_pg: pg.map(|p| s.ledger_append_per_s / p.median.append_per_s),
        ledger_replay_ratio_to_pg: pg.map(|p| s.ledger_replay_per_s / p.median.replay_decode_per_s),
        query_head_p50_ms: head50,
        query_head_p99_ms: head99,
        query_as_of_cached_p50_ms: cached50,
        query_as_of_cached_p99_ms: cached99,
        query_as_of_trust_distinct_p50_ms: trust50,
        query_as_of_trust_distinct_p99_ms: trust99,
        query_as_of_distinct_p50_ms: distinct50,
        query_as_of_distinct_p99_ms: distinct99,
        query_known_at_trust_distinct_p50_ms: known_trust50,
        query_known_at_trust_distinct_p99_ms: known_trust99,
        query_known_at_distinct_p50_ms: known50,
        query_known_at_distinct_p99_ms: known99,
        audit_export_per_s: s.audit_export_per_s,
        audit_verify_per_s: s.audit_verify_per_s,
        ledger_bytes_per_event: s.ledger_bytes_per_event,
        served_ledger_bytes_per_event: n.ledger_bytes_per_event,
        outbox_bytes_per_event: n.outbox_bytes_per_event,
        pg_table_bytes_per_event: pg.map(|p| p.median.table_bytes_per_event),
        pg_wal_bytes_per_event: pg.map(|p| p.median.wal_bytes_per_event),
        ledger_peak_rss_bytes: n.ledger_peak_rss_bytes,
        replay_peak_rss_bytes: n.replay_peak_rss_bytes,
        not_measured,
    }
}

/// The table's lines, with the targets of issue 7 (docs/BENCHMARKS.md) judged where they apply:
/// NATS end to end, then append and replay beside their baselines, query latency, and what
/// the ledger costs in disk and memory.
fn rows(s: &Summary, events: u64, window: usize, clients: Option<usize>) -> Vec<Row> {
    let mut rows = pipeline_rows(s, window);
    rows.extend(store_rows(s));
    rows.extend(query_rows(s, clients.unwrap_or(0), events >= 1_000_000));
    rows.extend(known_at_rows(s, events >= 1_000_000));
    rows.extend(footprint_rows(s, events >= 10_000_000));
    rows
}

/// A line with no ratio and no target.
fn row(what: &str, value: Option<f64>, unit: &'static str) -> Row {
    Row {
        what: what.to_owned(),
        value,
        unit,
        ratio: String::new(),
        target: String::new(),
        met: None,
    }
}

impl Row {
    /// The line with its ratio, and the target it is judged by (`met`: None where the target
    /// does not apply at this size or the figure was not measured).
    fn judged(mut self, ratio: String, target: &str, met: Option<bool>) -> Row {
        self.ratio = ratio;
        self.target = target.to_owned();
        self.met = met;
        self
    }
}

/// `v` as "1.23 x OF" (empty when not measured).
fn times(v: Option<f64>, of: &str) -> String {
    v.map_or_else(String::new, |v| format!("{v:.2} x {of}"))
}

/// Bytes as MiB.
fn as_mib(b: Option<u64>) -> Option<f64> {
    b.map(|b| b as f64 / (1024.0 * 1024.0))
}

/// Raw JetStream, the ledger end to end, and the CPU each process spent.
fn pipeline_rows(s: &Summary, window: usize) -> Vec<Row> {
    vec![
        row(
            &format!("A: raw JetStream publish (msg id, {window} in flight)"),
            Some(s.raw_publish_per_s),
            "events/s",
        ),
        row(
            "A': raw durable pull consume (AckPolicy::All)",
            Some(s.raw_consume_per_s),
            "events/s",
        ),
        row(
            "A+: raw publish and consume at the same time",
            Some(s.raw_pipeline_per_s),
            "events/s",
        ),
        row(
            "ledger end to end: collector -> NATS -> serve -> receipt",
            Some(s.end_to_end_per_s),
            "events/s",
        )
        .judged(
            format!(
                "{}, {}",
                times(Some(s.end_to_end_ratio_to_raw_pipeline), "A+"),
                times(Some(s.end_to_end_ratio_to_raw_publish), "A")
            ),
            ">= 0.8 x A+",
            Some(s.end_to_end_ratio_to_raw_pipeline >= 0.8),
        ),
        row(
            "  CPU: raw publish, client + nats-server",
            s.raw_publish_cpu_us_per_event,
            "us/event",
        ),
        row(
            "  CPU end to end: collector",
            s.end_to_end_collector_cpu_us_per_event,
            "us/event",
        ),
        row(
            "  CPU end to end: ledger (golive serve)",
            s.end_to_end_ledger_cpu_us_per_event,
            "us/event",
        ),
        row(
            "  CPU end to end: nats-server",
            s.end_to_end_nats_cpu_us_per_event,
            "us/event",
        ),
        row(
            "  cores busy end to end (all three)",
            Some(s.end_to_end_cores_busy),
            "cores",
        ),
    ]
}

/// Append and replay: raw sled, the ledger, and the PostgreSQL peer.
fn store_rows(s: &Summary) -> Vec<Row> {
    vec![
        row(
            "raw sled append, flush per batch",
            Some(s.raw_sled_append_per_s),
            "events/s",
        ),
        row(
            "ledger durable append, no NATS",
            Some(s.ledger_append_per_s),
            "events/s",
        )
        .judged(
            times(s.ledger_append_ratio_to_pg, "PG"),
            ">= 1.5 x PG",
            s.ledger_append_ratio_to_pg.map(|r| r >= 1.5),
        ),
        row(
            "ledger ingest from JSON (decode + append)",
            Some(s.ledger_ingest_json_per_s),
            "events/s",
        ),
        row(
            "PG: append, 1,000 per commit, ON CONFLICT",
            s.pg_append_per_s,
            "events/s",
        ),
        row(
            "B: raw sled scan + decode",
            Some(s.raw_scan_decode_per_s),
            "events/s",
        ),
        row(
            "ledger full replay (every projection)",
            Some(s.ledger_replay_per_s),
            "events/s",
        )
        .judged(
            times(Some(s.replay_ratio_to_raw_scan), "B"),
            ">= 0.7 x B and >= 1M/s",
            Some(s.replay_ratio_to_raw_scan >= 0.7 && s.ledger_replay_per_s >= 1e6),
        ),
        row(
            "ledger rebuild (replay + write every snapshot)",
            Some(s.ledger_rebuild_per_s),
            "events/s",
        ),
        row(
            "PG: replay, SELECT ORDER BY seq + decode",
            s.pg_replay_decode_per_s,
            "events/s",
        )
        .judged(
            s.ledger_replay_ratio_to_pg
                .map_or_else(String::new, |r| format!("ledger {r:.2} x PG")),
            "ledger >= 2 x PG",
            s.ledger_replay_ratio_to_pg.map(|r| r >= 2.0),
        ),
    ]
}

/// Query latency under `clients` concurrent clients; the distinct-seq target is judged only
/// from 1M events.
fn query_rows(s: &Summary, clients: usize, at_1m: bool) -> Vec<Row> {
    vec![
        row(
            &format!("query p50, projection at head ({clients} clients)"),
            s.query_head_p50_ms,
            "ms",
        ),
        row(
            &format!("query p99, projection at head ({clients} clients)"),
            s.query_head_p99_ms,
            "ms",
        )
        .judged(
            String::new(),
            "< 2 ms",
            s.query_head_p99_ms.map(|v| v < 2.0),
        ),
        row(
            "query p50, as-of same seq (cached)",
            s.query_as_of_cached_p50_ms,
            "ms",
        ),
        row(
            "query p99, as-of same seq (cached)",
            s.query_as_of_cached_p99_ms,
            "ms",
        ),
        row(
            "query p50, as-of one trust, distinct seqs",
            s.query_as_of_trust_distinct_p50_ms,
            "ms",
        ),
        row(
            "query p99, as-of one trust, distinct seqs",
            s.query_as_of_trust_distinct_p99_ms,
            "ms",
        )
        .judged(
            String::new(),
            "< 20 ms at 1M events",
            s.query_as_of_trust_distinct_p99_ms
                .filter(|_| at_1m)
                .map(|v| v < 20.0),
        ),
        row(
            "query p50, as-of whole ledger, distinct seqs",
            s.query_as_of_distinct_p50_ms,
            "ms",
        ),
        row(
            "query p99, as-of whole ledger, distinct seqs",
            s.query_as_of_distinct_p99_ms,
            "ms",
        )
        .judged(
            String::new(),
            "< 100 ms at 1M events",
            s.query_as_of_distinct_p99_ms
                .filter(|_| at_1m)
                .map(|v| v < 100.0),
        ),
    ]
}

/// Known-at latency at distinct times, judged as the distinct-seq as-of is (only from 1M).
fn known_at_rows(s: &Summary, at_1m: bool) -> Vec<Row> {
    vec![
        row(
            "query p99, known-at one trust, distinct times",
            s.query_known_at_trust_distinct_p99_ms,
            "ms",
        )
        .judged(
            String::new(),
            "< 20 ms at 1M events",
            s.query_known_at_trust_distinct_p99_ms
                .filter(|_| at_1m)
                .map(|v| v < 20.0),
        ),
        row(
            "query p99, known-at whole ledger, distinct times",
            s.query_known_at_distinct_p99_ms,
            "ms",
        )
        .judged(
            String::new(),
            "< 100 ms at 1M events",
            s.query_known_at_distinct_p99_ms
                .filter(|_| at_1m)
                .map(|v| v < 100.0),
        ),
    ]
}

/// The audit path, then what the ledger costs: bytes on disk and peak memory; the memory
/// target is judged only from 10M events.
fn footprint_rows(s: &Summary, at_10m: bool) -> Vec<Row> {
    vec![
        row(
            "audit export (records + signed checkpoints)",
            Some(s.audit_export_per_s),
            "events/s",
        ),
        row(
            "audit verify of the export",
            Some(s.audit_verify_per_s),
            "events/s",
        ),
        row(
            "ledger store on disk (log only, no projection snapshots)",
            Some(s.ledger_bytes_per_event),
            "B/event",
        ),
        // "All included": the store `golive serve` leaves, with its projection snapshots.
        row(
            "ledger store on disk (golive serve, all included)",
            Some(s.served_ledger_bytes_per_event),
            "B/event",
        )
        .judged(
            String::new(),
            "<= 600 B/event",
            Some(s.served_ledger_bytes_per_event <= 600.0),
        ),
        row(
            "collector outbox on disk after the run",
            Some(s.outbox_bytes_per_event),
            "B/event",
        ),
        row("PG table + indexes", s.pg_table_bytes_per_event, "B/event"),
        row(
            "PG WAL written by the append",
            s.pg_wal_bytes_per_event,
            "B/event",
        ),
        row(
            "peak RSS of golive serve (VmHWM)",
            as_mib(s.ledger_peak_rss_bytes),
            "MiB",
        )
        .judged(
            String::new(),
            "< 512 MiB at 10M events",
            as_mib(s.ledger_peak_rss_bytes)
                .filter(|_| at_10m)
                .map(|v| v < 512.0),
        ),
        row(
            "peak RSS of golive replay (ru_maxrss)",
            as_mib(s.replay_peak_rss_bytes),
            "MiB",
        ),
    ]
}

/// The table printed by `golive-bench all`.
pub fn table(r: &AllReport) -> String {
    let m = &r.machine;
    let mut s = format!(
        "golive bench all: {} events, {} trusts, {} run(s) (medians), seed {}, batches of {}, mean JSON event {:.0} B\n\
         machine: {} cpus ({}), {:.1} GiB, {}\n",
        r.events,
        r.trusts,
        r.runs,
        r.seed,
        r.batch_events,
        r.json_event_bytes_mean,
        m.cpus,
        m.cpu_model,
        m.memory_bytes as f64 / (1u64 << 30) as f64,
        m.os
    );
    s.push_str(&format!(
        "{:<58} {:>14} {:<9} {:<18} {}\n",
        "what", "value", "unit", "ratio", "target (issue 7)"
    ));
    for row in &r.rows {
        let value = row.value.map_or_else(
            || "not measured".to_owned(),
            |v| {
                if v >= 100.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.2}")
                }
            },
        );
        let target = match (row.target.is_empty(), row.met) {
            (true, _) => String::new(),
            (false, Some(true)) => format!("{}: met", row.target),
            (false, Some(false)) => format!("{}: NOT met", row.target),
            (false, None) => format!("{}: not judged", row.target),
        };
        s.push_str(&format!(
            "{:<58} {:>14} {:<9} {:<18} {}\n",
            row.what, value, row.unit, row.ratio, target
        ));
    }
    for why in &r.summary.not_measured {
        s.push_str(&format!("not measured: {why}\n"));
    }
    s
}
