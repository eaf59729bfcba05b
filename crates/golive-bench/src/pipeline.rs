//! `golive-bench pipeline`: the path end to end through NATS, as in production (collectors
//! with their outboxes -> JetStream -> `golive serve`, a process of its own -> receipts), beside
//! raw JetStream publish and consume of the same messages, apart and at the same time
//! (`raw_jetstream`), against the same
//! private nats-server, in the same run. Also the CPU each process spends per event, the bytes
//! on disk of the served ledger and the outboxes, and the peak memory of `golive serve` and of
//! `golive replay`. Figures are medians over runs.

mod golive_child;
mod raw_jetstream;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use golive_collector::{CollectSummary, CollectorConfig, Input};
use golive_ledger::LedgerError;
use golive_store::{Store, StoreError};
use serde::Serialize;

use crate::events::{BenchEvents, median_of, median_some, rate};
use crate::procstat::{self, cpu_seconds, cpu_us_per_event};
use golive_child::GoliveChild;
use raw_jetstream::{RawJetStream, raw_jetstream};

/// One run of the pipeline benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineRun {
    /// Baseline A: raw JetStream publish of the same messages (same window, with msg id).
    pub raw_publish_per_s: f64,
    /// Baseline A': raw durable pull consume of them (`AckPolicy::All`, batches of 1,000).
    pub raw_consume_per_s: f64,
    /// Baseline A+: the raw publish and the raw consume at the same time on a stream of their
    /// own: what the transport alone carries end to end (from the first publish until the
    /// last message is read).
    pub raw_pipeline_per_s: f64,
    /// Collectors (outbox first) -> JetStream -> `golive serve` (durable append, then ack) ->
    /// receipts cover everything: events/s from the collectors' start to their last receipt.
    pub end_to_end_per_s: f64,
    /// CPU microseconds per event of each process while the raw publish ran (`collector` is
    /// the publishing client, this process; no ledger there).
    pub raw_publish_cpu_us_per_event: CpuPerEvent,
    /// CPU microseconds per event of each process during the end-to-end run: whether it is
    /// bound by CPU (their sum times the rate near the machine's cores) or by waiting.
    pub end_to_end_cpu_us_per_event: CpuPerEvent,
    /// The served ledger's store after the run, all trees, per event.
    pub ledger_bytes_per_event: f64,
    /// The collectors' outbox directories after the run (every event receipted), per event.
    pub outbox_bytes_per_event: f64,
    /// Peak resident memory (VmHWM) of the `golive serve` process, read just before stopping it.
    pub ledger_peak_rss_bytes: Option<u64>,
    /// Peak resident memory of `golive replay` (open + full replay) of that ledger, a process
    /// of its own (`ru_maxrss`).
    pub replay_peak_rss_bytes: Option<u64>,
}

/// CPU microseconds per event of each process of a run (user + system, every thread, from
/// `/proc/<pid>/stat`); None where it could not be read.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct CpuPerEvent {
    pub collector: Option<f64>,
    pub ledger: Option<f64>,
    pub nats_server: Option<f64>,
}

impl CpuPerEvent {
    /// Cores busy at `events_per_s`: the CPU per event of every process times the rate.
    pub fn cores_busy(&self, events_per_s: f64) -> f64 {
        self.measured().sum::<f64>() * events_per_s / 1e6
    }

    /// The figures that were read, collector first.
    fn measured(&self) -> impl Iterator<Item = f64> {
        [self.collector, self.ledger, self.nats_server]
            .into_iter()
            .flatten()
    }
}

/// Medians and ratios of the pipeline benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineReport {
    pub events: u64,
    pub trusts: usize,
    pub window: usize,
    pub collectors: usize,
    pub runs: Vec<PipelineRun>,
    pub median: PipelineRun,
    /// Median of per-run `end_to_end / raw_publish`.
    pub end_to_end_ratio_to_raw_publish: f64,
    /// Median of per-run `end_to_end / raw_pipeline` (target >= 0.8).
    pub end_to_end_ratio_to_raw_pipeline: f64,
}

/// What the pipeline benchmark runs.
#[derive(Debug, Clone)]
pub struct PipelineParams {
    pub runs: usize,
    /// Publishes in flight (raw baseline and each collector).
    pub window: usize,
    /// Collectors, each with its own outbox, publishing the events of its share of the trusts.
    pub collectors: usize,
    /// The `golive` binary, run as `golive serve` (the ledger) and `golive replay`.
    pub golive_exe: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineBenchError {
    #[error(transparent)]
    Nats(#[from] golive::natsproc::NatsProcError),
    #[error("NATS: {0}")]
    Client(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Collect(#[from] golive_collector::CollectError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("run incomplete: {0}")]
    Incomplete(String),
}

fn client_err(e: impl std::fmt::Display) -> PipelineBenchError {
    PipelineBenchError::Client(e.to_string())
}
/// One message as a collector publishes it: subject (after the stream's prefix), msg id (the
/// event id), payload (the canonical event bytes).
struct Message {
    subject: String,
    id: String,
    payload: bytes::Bytes,
}

/// What every run of the pipeline benchmark works from.
struct RunInput<'a> {
    ev: &'a BenchEvents,
    messages: Vec<Message>,
    window: usize,
    collectors: usize,
    golive_exe: &'a Path,
}

/// Runs the pipeline benchmark `p.runs` times, each against a fresh nats-server under `dir`.
pub fn pipeline_bench(
    dir: &Path,
    ev: &BenchEvents,
    p: &PipelineParams,
) -> Result<PipelineReport, PipelineBenchError> {
    let input = RunInput {
        ev,
        messages: messages(ev),
        window: p.window.max(1),
        collectors: p.collectors.clamp(1, ev.trusts.max(1)),
        golive_exe: &p.golive_exe,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut all = Vec::new();
    for run in 0..p.runs.max(1) {
        let figures = pipeline_run(&rt, &dir.join(format!("pipeline-{run}")), &input)?;
        tracing::info!(run, ?figures, "pipeline bench run done");
        all.push(figures);
    }
    let ratio = median_of(&all, |r| r.end_to_end_per_s / r.raw_publish_per_s);
    let ratio_to_pipeline = median_of(&all, |r| r.end_to_end_per_s / r.raw_pipeline_per_s);
    Ok(PipelineReport {
        events: ev.len(),
        trusts: ev.trusts,
        window: input.window,
        collectors: input.collectors,
        median: PipelineRun::median(&all),
        runs: all,
        end_to_end_ratio_to_raw_publish: ratio,
        end_to_end_ratio_to_raw_pipeline: ratio_to_pipeline,
    })
}

/// The events as the messages a collector publishes.
fn messages(ev: &BenchEvents) -> Vec<Message> {
    ev.envelopes
        .iter()
        .zip(&ev.canonical)
        .map(|(e, b)| Message {
            subject: format!("{}.{}", e.trust, e.kind()),
            id: e.event_id.to_string(),
            payload: b.clone(),
        })
        .collect()
}

/// One run in the fresh directory `base` (removed at the end): the raw baselines, then the
/// same events end to end, then `golive replay` of the ledger that `golive serve` wrote.
fn pipeline_run(
    rt: &tokio::runtime::Runtime,
    base: &Path,
    input: &RunInput,
) -> Result<PipelineRun, PipelineBenchError> {
    let events = input.ev.len();
    std::fs::create_dir_all(base)?;
    let feeds = write_feeds(base, input.ev, input.collectors)?;
    let nats = golive::natsproc::start(base)?;
    let raw = rt.block_on(raw_jetstream(&nats, &input.messages, input.window))?;
    let ledger_dir = base.join("ledger");
    let e2e = end_to_end(rt, base, &ledger_dir, &nats, &feeds, input)?;
    drop(nats);
    let replay_peak_rss_bytes = Some(replay_peak_rss(input.golive_exe, &ledger_dir, base)?);
    let _ = std::fs::remove_dir_all(base);
    Ok(PipelineRun {
        raw_publish_per_s: raw.publish_per_s,
        raw_consume_per_s: raw.consume_per_s,
        raw_pipeline_per_s: raw.pipeline_per_s,
        raw_publish_cpu_us_per_event: raw_publish_cpu(&raw),
        end_to_end_per_s: e2e.per_s,
        end_to_end_cpu_us_per_event: e2e.cpu_us_per_event,
        ledger_bytes_per_event: e2e.ledger_bytes as f64 / events.max(1) as f64,
        outbox_bytes_per_event: e2e.outbox_bytes as f64 / events.max(1) as f64,
        ledger_peak_rss_bytes: e2e.ledger_peak_rss_bytes,
        replay_peak_rss_bytes,
    })
}

/// The CPU of the raw publish: the publishing client (this process) and nats-server.
fn raw_publish_cpu(raw: &RawJetStream) -> CpuPerEvent {
    CpuPerEvent {
        collector: raw.client_cpu_us_per_event,
        ledger: None,
        nats_server: raw.nats_cpu_us_per_event,
    }
}

/// Writes one JSONL feed per collector under `base`. Collector c reads the events of the
/// trusts whose position in the simulation's list is c modulo the number of collectors: a
/// trust's events (and its corrections) stay together.
fn write_feeds(base: &Path, ev: &BenchEvents, collectors: usize) -> std::io::Result<Vec<PathBuf>> {
    let codes = golive::simulate::trust_codes(ev.trusts);
    let collector_of = |i: usize| {
        let t = &ev.envelopes[i].trust;
        codes.iter().position(|c| c == t).unwrap_or(0) % collectors
    };
    (0..collectors)
        .map(|c| {
            let feed = base.join(format!("feed-{c}.jsonl"));
            std::fs::write(&feed, ev.jsonl(|i| collector_of(i) == c)).map(|_| feed)
        })
        .collect()
}

/// What the end-to-end part of a run measured.
struct EndToEnd {
    per_s: f64,
    cpu_us_per_event: CpuPerEvent,
    ledger_peak_rss_bytes: Option<u64>,
    ledger_bytes: u64,
    outbox_bytes: u64,
}

/// Every feed through its collector, NATS and `golive serve` (started here, stopped with
/// SIGTERM at the end) until the receipts cover every event. The clock runs from the
/// collectors' start to their last receipt.
fn end_to_end(
    rt: &tokio::runtime::Runtime,
    base: &Path,
    ledger_dir: &Path,
    nats: &golive::natsproc::OwnNats,
    feeds: &[PathBuf],
    input: &RunInput,
) -> Result<EndToEnd, PipelineBenchError> {
    let events = input.ev.len();
    let serve = spawn_serve(input.golive_exe, ledger_dir, &nats.url, base)?;
    let outboxes: Vec<PathBuf> = (0..feeds.len())
        .map(|c| base.join(format!("outbox-{c}")))
        .collect();
    let pids = [
        "self".to_owned(),
        serve.pid().to_string(),
        nats.pid().to_string(),
    ];
    let cpu_before = pids.each_ref().map(|p| cpu_seconds(p));
    let t = Instant::now();
    let summaries = rt.block_on(collect_all(&nats.url, feeds, &outboxes, input.window))?;
    let per_s = rate(events, t);
    let [collector, ledger, nats_server] =
        [0, 1, 2].map(|i| cpu_us_per_event(cpu_before[i], cpu_seconds(&pids[i]), events));
    let ledger_peak_rss_bytes = procstat::peak_rss_bytes(serve.pid());
    serve.finish(true, Duration::from_secs(300))?;
    let ledger_bytes = served_ledger_bytes(ledger_dir, &summaries, events)?;
    Ok(EndToEnd {
        per_s,
        cpu_us_per_event: CpuPerEvent {
            collector,
            ledger,
            nats_server,
        },
        ledger_peak_rss_bytes,
        ledger_bytes,
        outbox_bytes: outboxes.iter().map(|d| procstat::dir_bytes(d)).sum(),
    })
}

/// The ledger as in production: `golive serve`, a process of its own, once its stream is
/// provisioned and its consumer loop runs (so that neither counts on the clock).
fn spawn_serve(
    golive_exe: &Path,
    ledger_dir: &Path,
    nats_url: &str,
    base: &Path,
) -> Result<GoliveChild, PipelineBenchError> {
    let mut serve = GoliveChild::spawn(
        golive_exe,
        &[
            "--data".as_ref(),
            ledger_dir.as_os_str(),
            "serve".as_ref(),
            "--nats".as_ref(),
            nats_url.as_ref(),
            "--http".as_ref(),
            "off".as_ref(),
        ],
        &base.join("serve.log"),
    )?;
    serve.wait_for_log("ledger serving", Duration::from_secs(60))?;
    Ok(serve)
}

/// Runs one collector per feed, each with its outbox, until the ledger's receipts cover its
/// events (or ten minutes pass).
async fn collect_all(
    nats_url: &str,
    feeds: &[PathBuf],
    outboxes: &[PathBuf],
    window: usize,
) -> Result<Vec<CollectSummary>, golive_collector::CollectError> {
    futures::future::try_join_all(feeds.iter().zip(outboxes).map(|(feed, outbox)| {
        golive_collector::collect(
            CollectorConfig {
                nats_url: nats_url.to_owned(),
                outbox_dir: outbox.clone(),
                credentials: None,
                nkey: None,
                tls: Default::default(),
                window,
                republish_after_ms: 30_000,
                receipt_interval_ms: 100,
                receipt_timeout_ms: 5_000,
                wait_for_receipts_ms: Some(600_000),
                outbox_events_max: 10_000_000,
                trust_signer: None,
            },
            Input::File(feed.clone()),
            |_| {},
            std::future::pending::<()>(),
        )
    }))
    .await
}

/// The bytes on disk of the ledger `golive serve` left; an error unless it holds every event
/// and no collector has any left pending.
fn served_ledger_bytes(
    ledger_dir: &Path,
    summaries: &[CollectSummary],
    events: u64,
) -> Result<u64, PipelineBenchError> {
    let pending: u64 = summaries.iter().map(|s| s.pending_at_exit).sum();
    let store = Store::open(ledger_dir)?;
    let head = store.head().seq;
    let ledger_bytes = store.size_on_disk()?;
    drop(store);
    if pending > 0 || head != events {
        return Err(PipelineBenchError::Incomplete(format!(
            "ledger head {head} of {events}, {pending} pending"
        )));
    }
    Ok(ledger_bytes)
}

/// Peak memory of `golive replay` (open, every projection) of the served ledger, alone.
fn replay_peak_rss(
    golive_exe: &Path,
    ledger_dir: &Path,
    base: &Path,
) -> Result<u64, PipelineBenchError> {
    let replay = GoliveChild::spawn(
        golive_exe,
        &["--data".as_ref(), ledger_dir.as_os_str(), "replay".as_ref()],
        &base.join("replay.log"),
    )?;
    Ok(replay
        .finish(false, Duration::from_secs(3_600))?
        .peak_rss_bytes)
}

impl PipelineRun {
    /// The median of every figure over `runs`, each on its own (a figure no run measured stays
    /// unmeasured).
    fn median(runs: &[PipelineRun]) -> PipelineRun {
        let m = |f: fn(&PipelineRun) -> f64| median_of(runs, f);
        let peak = |f: fn(&PipelineRun) -> Option<u64>| {
            median_some(runs, |r| f(r).map(|b| b as f64)).map(|b| b as u64)
        };
        let cpu = |f: fn(&PipelineRun) -> CpuPerEvent| CpuPerEvent {
            collector: median_some(runs, |r| f(r).collector),
            ledger: median_some(runs, |r| f(r).ledger),
            nats_server: median_some(runs, |r| f(r).nats_server),
        };
        PipelineRun {
            raw_publish_per_s: m(|r| r.raw_publish_per_s),
            raw_consume_per_s: m(|r| r.raw_consume_per_s),
            raw_pipeline_per_s: m(|r| r.raw_pipeline_per_s),
            raw_publish_cpu_us_per_event: cpu(|r| r.raw_publish_cpu_us_per_event),
            end_to_end_per_s: m(|r| r.end_to_end_per_s),
            end_to_end_cpu_us_per_event: cpu(|r| r.end_to_end_cpu_us_per_event),
            ledger_bytes_per_event: m(|r| r.ledger_bytes_per_event),
            outbox_bytes_per_event: m(|r| r.outbox_bytes_per_event),
            ledger_peak_rss_bytes: peak(|r| r.ledger_peak_rss_bytes),
            replay_peak_rss_bytes: peak(|r| r.replay_peak_rss_bytes),
        }
    }
}

/// Bytes as MiB for the tables.
pub(crate) fn mib(b: Option<u64>) -> String {
    b.map_or_else(
        || "not measured".to_owned(),
        |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
    )
}

/// CPU per event of each process measured, and the cores they kept busy together.
pub(crate) fn cpu_text(c: &CpuPerEvent, events_per_s: f64) -> String {
    let parts: Vec<String> = c.measured().map(|us| format!("{us:.1}")).collect();
    if parts.is_empty() {
        return "not measured".to_owned();
    }
    format!(
        "{} ({:.2} cores)",
        parts.join(" / "),
        c.cores_busy(events_per_s)
    )
}

/// The table printed by `golive-bench pipeline`.
pub fn pipeline_table(r: &PipelineReport) -> String {
    let m = &r.median;
    format!(
        "{} events, {} trusts, {} collector(s), window {}, {} runs (medians)\n\
         {:<58} {:>10.0} events/s\n\
         {:<58} {:>10.0} events/s\n\
         {:<58} {:>10.0} events/s\n\
         {:<58} {:>10.0} events/s  {:.2} x raw publish, {:.2} x raw pipeline\n\
         {:<58} {:>10}\n\
         {:<58} {:>10}\n\
         {:<58} {:>10.0} bytes/event\n\
         {:<58} {:>10.0} bytes/event\n\
         {:<58} {:>10}\n\
         {:<58} {:>10}\n",
        r.events,
        r.trusts,
        r.collectors,
        r.window,
        r.runs.len(),
        "baseline A: raw JetStream publish (msg id, same window)",
        m.raw_publish_per_s,
        "baseline A': raw durable pull consume (AckPolicy::All)",
        m.raw_consume_per_s,
        "baseline A+: raw publish and consume at the same time",
        m.raw_pipeline_per_s,
        "end to end: outbox -> NATS -> golive serve -> receipts",
        m.end_to_end_per_s,
        r.end_to_end_ratio_to_raw_publish,
        r.end_to_end_ratio_to_raw_pipeline,
        "CPU us/event in raw publish: client / nats-server",
        cpu_text(&m.raw_publish_cpu_us_per_event, m.raw_publish_per_s),
        "CPU us/event end to end: collector / ledger / nats-server",
        cpu_text(&m.end_to_end_cpu_us_per_event, m.end_to_end_per_s),
        "served ledger store on disk",
        m.ledger_bytes_per_event,
        "collector outbox on disk after the run",
        m.outbox_bytes_per_event,
        "peak RSS of golive serve",
        mib(m.ledger_peak_rss_bytes),
        "peak RSS of golive replay (separate process)",
        mib(m.replay_peak_rss_bytes),
    )
}
