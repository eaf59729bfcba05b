//! `golive bench store` and `golive bench pipeline`: append and replay throughput of the ledger
//! beside raw sled baselines, and the path end to end through NATS beside raw JetStream, each
//! measured in the same run over the same simulated events ([`BenchEvents`]). Figures are
//! medians over runs. `golive bench all` (`bench_all`) runs both, with the other parts, over one
//! set of events.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use golive_ledger::{Ledger, LedgerError, LedgerOptions, LineSource, ingest_lines};
use golive_model::{Envelope, GENESIS_HASH};
use golive_store::{Incoming, Record, Store, StoreError, codec};
use serde::Serialize;

use crate::baseline;
use crate::procstat::{self, cpu_seconds, cpu_us_per_event};
use golive::simulate::{SimParams, Simulation};

/// The events a benchmark measures over: a [`Simulation`], generated once, with the canonical
/// bytes of each (what a collector reads, what NATS carries, what the PostgreSQL peer stores).
pub struct BenchEvents {
    pub seed: u64,
    pub trusts: usize,
    pub envelopes: Vec<Envelope>,
    pub canonical: Vec<bytes::Bytes>,
}

impl BenchEvents {
    pub fn simulate(seed: u64, trusts: usize, events: u64) -> Self {
        let envelopes: Vec<Envelope> =
            Simulation::new(SimParams::new(seed, trusts, events)).collect();
        let canonical = envelopes
            .iter()
            .map(|e| bytes::Bytes::from(e.canonical_bytes()))
            .collect();
        Self {
            seed,
            trusts,
            envelopes,
            canonical,
        }
    }

    pub fn len(&self) -> u64 {
        self.envelopes.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.envelopes.is_empty()
    }

    /// The events as JSON lines (a collector's feed), those whose index `keep` accepts.
    pub fn jsonl(&self, keep: impl Fn(usize) -> bool) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, b) in self.canonical.iter().enumerate() {
            if keep(i) {
                out.extend_from_slice(b);
                out.push(b'\n');
            }
        }
        out
    }

    pub fn mean_json_bytes(&self) -> f64 {
        let total: usize = self.canonical.iter().map(|b| b.len()).sum();
        total as f64 / self.len().max(1) as f64
    }
}

/// Median of `f` over runs (0 for none).
pub(crate) fn median_of<T>(runs: &[T], f: impl Fn(&T) -> f64) -> f64 {
    if runs.is_empty() {
        return 0.0;
    }
    median(runs.iter().map(f).collect())
}

/// Median of the values `f` has (None when no run has one).
pub(crate) fn median_some<T>(runs: &[T], f: impl Fn(&T) -> Option<f64>) -> Option<f64> {
    let v: Vec<f64> = runs.iter().filter_map(f).collect();
    (!v.is_empty()).then(|| median(v))
}

/// One run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct RunFigures {
    /// Baseline A: plain sled inserts of the same record bytes, flush every batch.
    pub raw_sled_append_per_s: f64,
    /// The ledger's durable append of decoded envelopes (dedupe, supersedes, chain, flush).
    pub ledger_append_per_s: f64,
    /// The same from JSON lines: decode + validate + append (what `golive ingest` does).
    pub ledger_ingest_json_per_s: f64,
    /// Baseline B: sled scan + bincode decode of every record.
    pub raw_scan_decode_per_s: f64,
    /// The ledger's full replay: scan, decode, every projection (no checkpoint written).
    pub ledger_replay_per_s: f64,
    /// `golive replay`'s rebuild: the full replay plus writing the projection checkpoints of
    /// the whole history (about 16, each a snapshot of the state at its seq).
    pub ledger_rebuild_per_s: f64,
    pub ledger_bytes_per_event: f64,
    pub raw_sled_bytes_per_event: f64,
    /// `golive audit export` of the whole log (records and signed checkpoints) to a file.
    pub audit_export_per_s: f64,
    /// `golive audit verify FILE` of that export: every chain hash, the Merkle tree, signatures.
    pub audit_verify_per_s: f64,
    pub audit_export_bytes_per_event: f64,
}

/// Medians over runs, and the ratios the benchmarks are judged by.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub events: u64,
    pub trusts: usize,
    pub batch_events: usize,
    pub runs: Vec<RunFigures>,
    pub median: RunFigures,
    pub append_ratio_to_raw_sled: f64,
    pub replay_ratio_to_raw_scan: f64,
    pub json_event_bytes_mean: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot use the bench directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("bench run appended {got} of {want} events")]
    Incomplete { got: u64, want: u64 },
    #[error("audit export or verify: {0}")]
    Audit(String),
}

pub(crate) fn rate(n: u64, since: Instant) -> f64 {
    n as f64 / since.elapsed().as_secs_f64().max(1e-9)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs the store benchmark `runs` times in fresh directories under `dir`.
pub fn store_bench(
    dir: &Path,
    ev: &BenchEvents,
    runs: usize,
    batch: usize,
) -> Result<Report, BenchError> {
    let events = ev.len();
    let envelopes = &ev.envelopes;
    let json = ev.jsonl(|_| true);
    // The record bytes the raw baseline writes: the store's own encoding of the same events.
    let mut records = Vec::with_capacity(envelopes.len());
    for (i, e) in envelopes.iter().enumerate() {
        let mut buf = Vec::new();
        let r = Record {
            seq: i as u64 + 1,
            stream_seq: None,
            received_at: Utc::now(),
            prev_hash: GENESIS_HASH,
            hash: GENESIS_HASH,
            envelope: e.clone(),
        };
        codec::encode_record(&r, &mut buf).map_err(StoreError::Encode)?;
        records.push(buf);
    }
    let options = LedgerOptions {
        checkpoint_every_events: u64::MAX / 2,
        ..LedgerOptions::default()
    };
    let mut all = Vec::new();
    for run in 0..runs.max(1) {
        let base = dir.join(format!("run-{run}"));
        std::fs::create_dir_all(&base)?;

        let t = Instant::now();
        let raw_bytes = baseline::raw_sled_append(&base.join("raw"), &records, batch)?;
        let raw_sled_append_per_s = rate(events, t);

        let mut ledger = Ledger::open(&base.join("ledger"), options)?;
        // Signed checkpoints every 1,000 events, as a served ledger does by default.
        let key = golive_verify::NoteSigner::from_seed("golive.ledger/bench", [7u8; 32])
            .expect("a valid key name");
        let verifier = key.verifier();
        let signer = golive_ledger::audit::CheckpointSigner::new(
            key,
            golive_ledger::audit::AuditOptions::default(),
            ledger.store(),
        )?;
        ledger.enable_checkpoint_signing(signer);
        let t = Instant::now();
        for chunk in envelopes.chunks(batch) {
            let now = Utc::now();
            let batch: Vec<Incoming> = chunk
                .iter()
                .map(|e| Incoming::new(e.clone(), None, now))
                .collect();
            ledger.append(batch)?;
        }
        let ledger_append_per_s = rate(events, t);
        if ledger.head().seq != events {
            return Err(BenchError::Incomplete {
                got: ledger.head().seq,
                want: events,
            });
        }
        let ledger_bytes = ledger.store().size_on_disk()?;

        let mut ledger2 = Ledger::open(&base.join("ledger-json"), options)?;
        let t = Instant::now();
        ingest_lines(
            &mut ledger2,
            json.as_slice(),
            &LineSource::Stdin,
            batch,
            &mut |_| {},
        )?;
        let ledger_ingest_json_per_s = rate(events, t);
        drop(ledger2);

        let store: &Store = ledger.store();
        let t = Instant::now();
        let mut n = 0u64;
        for r in store.iter_from(1) {
            std::hint::black_box(r?);
            n += 1;
        }
        let raw_scan_decode_per_s = rate(n, t);

        // The auditor's path: export the log, then verify the file as `golive audit verify`.
        let export = base.join("export.jsonl");
        let t = Instant::now();
        {
            let mut out =
                std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&export)?);
            golive::audit::export(store, 1, None, &mut out, &mut |_| {})
                .map_err(|e| BenchError::Audit(e.to_string()))?;
        }
        let audit_export_per_s = rate(events, t);
        let export_bytes = std::fs::metadata(&export)?.len();
        let t = Instant::now();
        match golive::audit::verify_file(&export, &verifier) {
            golive_verify::Outcome::Verified(v) if v.head_seq == events => {}
            other => {
                return Err(BenchError::Audit(format!(
                    "the export did not verify: {other:?}"
                )));
            }
        }
        let audit_verify_per_s = rate(events, t);
        std::fs::remove_file(&export)?;

        let t = Instant::now();
        let replayed = golive_ledger::replay_from_start(ledger.store(), &mut |_, _| {})?;
        let ledger_replay_per_s = rate(events, t);
        std::hint::black_box(replayed.money(None));
        drop(replayed);
        let t = Instant::now();
        ledger.rebuild(&mut |_, _| {})?;
        let ledger_rebuild_per_s = rate(events, t);
        std::hint::black_box(ledger.projections().money(None));
        drop(ledger);
        std::fs::remove_dir_all(&base)?;

        let figures = RunFigures {
            raw_sled_append_per_s,
            ledger_append_per_s,
            ledger_ingest_json_per_s,
            raw_scan_decode_per_s,
            ledger_replay_per_s,
            ledger_rebuild_per_s,
            ledger_bytes_per_event: ledger_bytes as f64 / events as f64,
            raw_sled_bytes_per_event: raw_bytes as f64 / events as f64,
            audit_export_per_s,
            audit_verify_per_s,
            audit_export_bytes_per_event: export_bytes as f64 / events as f64,
        };
        tracing::info!(run, ?figures, "bench run done");
        all.push(figures);
    }
    let m = |f: fn(&RunFigures) -> f64| median_of(&all, f);
    let medians = RunFigures {
        raw_sled_append_per_s: m(|r| r.raw_sled_append_per_s),
        ledger_append_per_s: m(|r| r.ledger_append_per_s),
        ledger_ingest_json_per_s: m(|r| r.ledger_ingest_json_per_s),
        raw_scan_decode_per_s: m(|r| r.raw_scan_decode_per_s),
        ledger_replay_per_s: m(|r| r.ledger_replay_per_s),
        ledger_rebuild_per_s: m(|r| r.ledger_rebuild_per_s),
        ledger_bytes_per_event: m(|r| r.ledger_bytes_per_event),
        raw_sled_bytes_per_event: m(|r| r.raw_sled_bytes_per_event),
        audit_export_per_s: m(|r| r.audit_export_per_s),
        audit_verify_per_s: m(|r| r.audit_verify_per_s),
        audit_export_bytes_per_event: m(|r| r.audit_export_bytes_per_event),
    };
    // Ratios are medians of the per-run ratios: both sides of a ratio come from the same run.
    let append_ratio_to_raw_sled =
        median_of(&all, |r| r.ledger_append_per_s / r.raw_sled_append_per_s);
    let replay_ratio_to_raw_scan =
        median_of(&all, |r| r.ledger_replay_per_s / r.raw_scan_decode_per_s);
    Ok(Report {
        events,
        trusts: ev.trusts,
        batch_events: batch,
        runs: all,
        median: medians,
        append_ratio_to_raw_sled,
        replay_ratio_to_raw_scan,
        json_event_bytes_mean: ev.mean_json_bytes(),
    })
}

/// The table printed by `golive bench store`.
pub fn table(r: &Report) -> String {
    let m = &r.median;
    let mut s = format!(
        "{} events, {} trusts, batches of {}, {} runs (medians); mean JSON event {:.0} B\n",
        r.events,
        r.trusts,
        r.batch_events,
        r.runs.len(),
        r.json_event_bytes_mean
    );
    let rows = [
        (
            "baseline A: raw sled append (flush per batch)",
            m.raw_sled_append_per_s,
            String::new(),
        ),
        (
            "ledger append (durable, dedupe, chain)",
            m.ledger_append_per_s,
            format!("{:.2} x A", r.append_ratio_to_raw_sled),
        ),
        (
            "ledger ingest from JSON (decode+validate+append)",
            m.ledger_ingest_json_per_s,
            String::new(),
        ),
        (
            "baseline B: raw sled scan + decode",
            m.raw_scan_decode_per_s,
            String::new(),
        ),
        (
            "ledger full replay (all projections)",
            m.ledger_replay_per_s,
            format!("{:.2} x B", r.replay_ratio_to_raw_scan),
        ),
        (
            "ledger rebuild (replay + write every checkpoint)",
            m.ledger_rebuild_per_s,
            String::new(),
        ),
        (
            "audit export (records + signed checkpoints)",
            m.audit_export_per_s,
            String::new(),
        ),
        (
            "audit verify of the export (chain, tree, sigs)",
            m.audit_verify_per_s,
            String::new(),
        ),
    ];
    for (name, v, ratio) in rows {
        s.push_str(&format!("{name:<50} {v:>12.0} events/s  {ratio}\n"));
    }
    s.push_str(&format!(
        "{:<50} {:>12.0} bytes/event (raw sled: {:.0})\n",
        "ledger store on disk", m.ledger_bytes_per_event, m.raw_sled_bytes_per_event
    ));
    s
}

/// One run of the pipeline benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineRun {
    /// Baseline A: raw JetStream publish of the same messages (same window, with msg id).
    pub raw_publish_per_s: f64,
    /// Baseline A': raw durable pull consume of them (`AckPolicy::All`, batches of 1,000).
    pub raw_consume_per_s: f64,
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

/// A JetStream publish acknowledgement in flight.
type AckFuture = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<
                    async_nats::jetstream::publish::PublishAck,
                    async_nats::jetstream::context::PublishError,
                >,
            > + Send,
    >,
>;

/// Raw JetStream: publish every message with a msg id and `window` acks in flight, then consume
/// them all with a durable pull consumer.
async fn raw_jetstream(
    nats: &golive::natsproc::OwnNats,
    messages: &[(String, String, bytes::Bytes)],
    window: usize,
) -> Result<RawJetStream, PipelineBenchError> {
    let url = &nats.url;
    let nats_pid = nats.pid().to_string();
    use async_nats::jetstream::{self, consumer, stream};
    use futures::StreamExt;
    let client = async_nats::connect(url).await.map_err(client_err)?;
    let js = jetstream::new(client);
    let stream = js
        .create_stream(stream::Config {
            name: "BENCHRAW".to_owned(),
            subjects: vec!["benchraw.>".to_owned()],
            storage: stream::StorageType::File,
            duplicate_window: std::time::Duration::from_secs(120),
            ..Default::default()
        })
        .await
        .map_err(client_err)?;
    let n = messages.len() as u64;
    let cpu_before = (cpu_seconds("self"), cpu_seconds(&nats_pid));
    let t = Instant::now();
    let mut inflight: futures::stream::FuturesUnordered<AckFuture> =
        futures::stream::FuturesUnordered::new();
    for (subject, id, payload) in messages {
        if inflight.len() >= window
            && let Some(r) = inflight.next().await
        {
            r.map_err(client_err)?;
        }
        let ack = js
            .send_publish(
                format!("benchraw.{subject}"),
                jetstream::message::PublishMessage::build()
                    .message_id(id)
                    .payload(payload.clone()),
            )
            .await
            .map_err(client_err)?;
        inflight.push(std::future::IntoFuture::into_future(ack));
    }
    while let Some(r) = inflight.next().await {
        r.map_err(client_err)?;
    }
    let publish_per_s = rate(n, t);
    let client_cpu_us_per_event = cpu_us_per_event(cpu_before.0, cpu_seconds("self"), n);
    let nats_cpu_us_per_event = cpu_us_per_event(cpu_before.1, cpu_seconds(&nats_pid), n);
    let c = stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some("benchraw".to_owned()),
            ack_policy: consumer::AckPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(client_err)?;
    let t = Instant::now();
    let mut got = 0u64;
    while got < n {
        let mut batch = c
            .fetch()
            .max_messages(1_000)
            .messages()
            .await
            .map_err(client_err)?;
        let mut last = None;
        while let Some(m) = batch.next().await {
            last = Some(m.map_err(client_err)?);
            got += 1;
        }
        if let Some(m) = last {
            m.ack().await.map_err(client_err)?;
        }
    }
    Ok(RawJetStream {
        publish_per_s,
        consume_per_s: rate(n, t),
        client_cpu_us_per_event,
        nats_cpu_us_per_event,
    })
}

/// What [`raw_jetstream`] measured.
struct RawJetStream {
    publish_per_s: f64,
    consume_per_s: f64,
    /// CPU of the publishing client (this process) and of nats-server during the publish.
    client_cpu_us_per_event: Option<f64>,
    nats_cpu_us_per_event: Option<f64>,
}

/// A `golive` child process of the benchmark, its output in a log file; killed if dropped.
struct GoliveChild {
    child: std::process::Child,
    log: PathBuf,
    /// Waited for already: nothing left for Drop to kill.
    reaped: bool,
    /// Kills the child if a signal ends the run.
    _on_signal: golive::on_signal::Registration,
}

impl GoliveChild {
    fn spawn(exe: &Path, args: &[&std::ffi::OsStr], log: &Path) -> std::io::Result<Self> {
        let f = std::fs::File::create(log)?;
        let child = Command::new(exe)
            .args(args)
            // The bench's child sees only its flags, not the caller's configuration.
            .env_remove("GOLIVE_CONFIG")
            .env_remove("GOLIVE_DATA")
            .env_remove("NATS_URL")
            .env_remove("GOLIVE_NATS_CREDS")
            .env_remove("GOLIVE_NATS_NKEY")
            .env_remove("GOLIVE_HTTP")
            .env("GOLIVE_LOG", "info,async_nats=off,sled=off")
            .stdin(Stdio::null())
            .stdout(Stdio::from(f.try_clone()?))
            .stderr(Stdio::from(f))
            .spawn()?;
        let pid = child.id();
        Ok(Self {
            child,
            log: log.to_path_buf(),
            reaped: false,
            _on_signal: golive::on_signal::register(move || golive::on_signal::kill(pid)),
        })
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log shows `mark`; an error if the process exits first or after `timeout`.
    fn wait_for_log(&mut self, mark: &str, timeout: Duration) -> Result<(), PipelineBenchError> {
        let start = Instant::now();
        while !self.log_text().contains(mark) {
            if let Some(st) = self.child.try_wait()? {
                return Err(PipelineBenchError::Incomplete(format!(
                    "golive exited ({st}) before `{mark}`; see {}",
                    self.log.display()
                )));
            }
            if start.elapsed() > timeout {
                return Err(PipelineBenchError::Incomplete(format!(
                    "no `{mark}` within {timeout:?}; see {}",
                    self.log.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// SIGTERM (or nothing, for a process that ends by itself), then reap it with its peak RSS;
    /// SIGKILL after `timeout`.
    fn finish(
        mut self,
        term: bool,
        timeout: Duration,
    ) -> Result<procstat::ChildEnd, PipelineBenchError> {
        if term {
            procstat::terminate(&self.child);
        }
        let end = procstat::wait_with_rusage(&mut self.child, timeout)?;
        self.reaped = true;
        let log = &self.log;
        if end.code != Some(0) {
            return Err(PipelineBenchError::Incomplete(format!(
                "golive {} (exit code {:?}, killed after {timeout:?} if none); see {}",
                if term { "serve" } else { "replay" },
                end.code,
                log.display()
            )));
        }
        Ok(end)
    }
}

impl Drop for GoliveChild {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the pipeline benchmark `p.runs` times, each against a fresh nats-server under `dir`.
pub fn pipeline_bench(
    dir: &Path,
    ev: &BenchEvents,
    p: &PipelineParams,
) -> Result<PipelineReport, PipelineBenchError> {
    use golive_collector::{CollectorConfig, Input};

    let events = ev.len();
    let window = p.window.max(1);
    let collectors = p.collectors.clamp(1, ev.trusts.max(1));
    let messages: Vec<(String, String, bytes::Bytes)> = ev
        .envelopes
        .iter()
        .zip(&ev.canonical)
        .map(|(e, b)| {
            (
                format!("{}.{}", e.trust, e.kind()),
                e.event_id.to_string(),
                b.clone(),
            )
        })
        .collect();
    // Collector c reads the events of the trusts whose position in the simulation's list is c
    // modulo the number of collectors: a trust's events (and its corrections) stay together.
    let codes = golive::simulate::trust_codes(ev.trusts);
    let collector_of = |i: usize| {
        let t = &ev.envelopes[i].trust;
        codes.iter().position(|c| c == t).unwrap_or(0) % collectors
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut all = Vec::new();
    for run in 0..p.runs.max(1) {
        let base = dir.join(format!("pipeline-{run}"));
        std::fs::create_dir_all(&base)?;
        let feeds: Vec<PathBuf> = (0..collectors)
            .map(|c| {
                let feed = base.join(format!("feed-{c}.jsonl"));
                std::fs::write(&feed, ev.jsonl(|i| collector_of(i) == c)).map(|_| feed)
            })
            .collect::<Result<_, _>>()?;
        let nats = golive::natsproc::start(&base)?;
        let raw = rt.block_on(raw_jetstream(&nats, &messages, window))?;

        // The ledger as in production: `golive serve`, a process of its own.
        let ledger_dir = base.join("ledger");
        let mut serve = GoliveChild::spawn(
            &p.golive_exe,
            &[
                "--data".as_ref(),
                ledger_dir.as_os_str(),
                "serve".as_ref(),
                "--nats".as_ref(),
                nats.url.as_ref(),
                "--http".as_ref(),
                "off".as_ref(),
            ],
            &base.join("serve.log"),
        )?;
        // The stream is provisioned and the consumer loop runs before the clock starts.
        serve.wait_for_log("ledger serving", Duration::from_secs(60))?;
        let outboxes: Vec<PathBuf> = (0..collectors)
            .map(|c| base.join(format!("outbox-{c}")))
            .collect();
        let serve_pid = serve.child.id().to_string();
        let nats_pid = nats.pid().to_string();
        let cpu_before = (
            cpu_seconds("self"),
            cpu_seconds(&serve_pid),
            cpu_seconds(&nats_pid),
        );
        let t = Instant::now();
        let summaries = rt.block_on(futures::future::try_join_all(
            feeds.iter().zip(&outboxes).map(|(feed, outbox)| {
                golive_collector::collect(
                    CollectorConfig {
                        nats_url: nats.url.clone(),
                        outbox_dir: outbox.clone(),
                        credentials: None,
                        nkey: None,
                        window,
                        republish_after_ms: 30_000,
                        receipt_interval_ms: 100,
                        receipt_timeout_ms: 5_000,
                        wait_for_receipts_ms: Some(600_000),
                        outbox_events_max: 10_000_000,
                    },
                    Input::File(feed.clone()),
                    |_| {},
                    std::future::pending::<()>(),
                )
            }),
        ))?;
        let end_to_end_per_s = rate(events, t);
        let end_to_end_cpu_us_per_event = CpuPerEvent {
            collector: cpu_us_per_event(cpu_before.0, cpu_seconds("self"), events),
            ledger: cpu_us_per_event(cpu_before.1, cpu_seconds(&serve_pid), events),
            nats_server: cpu_us_per_event(cpu_before.2, cpu_seconds(&nats_pid), events),
        };
        let ledger_peak_rss_bytes = procstat::peak_rss_bytes(serve.child.id());
        serve.finish(true, Duration::from_secs(300))?;
        let pending: u64 = summaries.iter().map(|s| s.pending_at_exit).sum();
        let store = Store::open(&ledger_dir)?;
        let head = store.head().seq;
        let ledger_bytes = store.size_on_disk()?;
        drop(store);
        if pending > 0 || head != events {
            return Err(PipelineBenchError::Incomplete(format!(
                "ledger head {head} of {events}, {pending} pending"
            )));
        }
        let outbox_bytes: u64 = outboxes.iter().map(|d| procstat::dir_bytes(d)).sum();
        drop(nats);

        // The same ledger replayed (open, every projection) by `golive replay`, alone.
        let replay = GoliveChild::spawn(
            &p.golive_exe,
            &["--data".as_ref(), ledger_dir.as_os_str(), "replay".as_ref()],
            &base.join("replay.log"),
        )?;
        let replay_peak_rss_bytes = Some(
            replay
                .finish(false, Duration::from_secs(3_600))?
                .peak_rss_bytes,
        );

        let _ = std::fs::remove_dir_all(&base);
        let figures = PipelineRun {
            raw_publish_per_s: raw.publish_per_s,
            raw_consume_per_s: raw.consume_per_s,
            raw_publish_cpu_us_per_event: CpuPerEvent {
                collector: raw.client_cpu_us_per_event,
                ledger: None,
                nats_server: raw.nats_cpu_us_per_event,
            },
            end_to_end_per_s,
            end_to_end_cpu_us_per_event,
            ledger_bytes_per_event: ledger_bytes as f64 / events.max(1) as f64,
            outbox_bytes_per_event: outbox_bytes as f64 / events.max(1) as f64,
            ledger_peak_rss_bytes,
            replay_peak_rss_bytes,
        };
        tracing::info!(run, ?figures, "pipeline bench run done");
        all.push(figures);
    }
    let m = |f: fn(&PipelineRun) -> f64| median_of(&all, f);
    let peak = |f: fn(&PipelineRun) -> Option<u64>| {
        median_some(&all, |r| f(r).map(|b| b as f64)).map(|b| b as u64)
    };
    let cpu = |f: fn(&PipelineRun) -> CpuPerEvent| CpuPerEvent {
        collector: median_some(&all, |r| f(r).collector),
        ledger: median_some(&all, |r| f(r).ledger),
        nats_server: median_some(&all, |r| f(r).nats_server),
    };
    let medians = PipelineRun {
        raw_publish_per_s: m(|r| r.raw_publish_per_s),
        raw_consume_per_s: m(|r| r.raw_consume_per_s),
        raw_publish_cpu_us_per_event: cpu(|r| r.raw_publish_cpu_us_per_event),
        end_to_end_per_s: m(|r| r.end_to_end_per_s),
        end_to_end_cpu_us_per_event: cpu(|r| r.end_to_end_cpu_us_per_event),
        ledger_bytes_per_event: m(|r| r.ledger_bytes_per_event),
        outbox_bytes_per_event: m(|r| r.outbox_bytes_per_event),
        ledger_peak_rss_bytes: peak(|r| r.ledger_peak_rss_bytes),
        replay_peak_rss_bytes: peak(|r| r.replay_peak_rss_bytes),
    };
    let ratio = median_of(&all, |r| r.end_to_end_per_s / r.raw_publish_per_s);
    Ok(PipelineReport {
        events,
        trusts: ev.trusts,
        window,
        collectors,
        runs: all,
        median: medians,
        end_to_end_ratio_to_raw_publish: ratio,
    })
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

/// The table printed by `golive bench pipeline`.
pub fn pipeline_table(r: &PipelineReport) -> String {
    let m = &r.median;
    format!(
        "{} events, {} trusts, {} collector(s), window {}, {} runs (medians)\n\
         {:<58} {:>10.0} events/s\n\
         {:<58} {:>10.0} events/s\n\
         {:<58} {:>10.0} events/s  {:.2} x raw publish\n\
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
        "end to end: outbox -> NATS -> golive serve -> receipts",
        m.end_to_end_per_s,
        r.end_to_end_ratio_to_raw_publish,
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
