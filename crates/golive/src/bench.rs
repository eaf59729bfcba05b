//! `golive bench store`: append and replay throughput of the ledger beside raw sled baselines,
//! measured in the same run over the same simulated events. Figures are medians over runs.

use std::path::Path;
use std::time::Instant;

use chrono::Utc;
use golive_ledger::{Ledger, LedgerError, LedgerOptions, LineSource, ingest_lines};
use golive_model::{Envelope, GENESIS_HASH};
use golive_store::{Incoming, Record, Store, StoreError, baseline, codec};
use serde::Serialize;

use crate::simulate::{SimParams, Simulation};

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
    /// The ledger's full replay: scan, decode, every projection.
    pub ledger_replay_per_s: f64,
    pub ledger_bytes_per_event: f64,
    pub raw_sled_bytes_per_event: f64,
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
}

fn rate(n: u64, since: Instant) -> f64 {
    n as f64 / since.elapsed().as_secs_f64().max(1e-9)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Runs the store benchmark `runs` times in fresh directories under `dir`.
pub fn store_bench(
    dir: &Path,
    events: u64,
    trusts: usize,
    runs: usize,
    batch: usize,
    seed: u64,
) -> Result<Report, BenchError> {
    let envelopes: Vec<Envelope> = Simulation::new(SimParams::new(seed, trusts, events)).collect();
    let json: Vec<u8> = envelopes.iter().fold(Vec::new(), |mut acc, e| {
        acc.extend_from_slice(&e.canonical_bytes());
        acc.push(b'\n');
        acc
    });
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

        let t = Instant::now();
        ledger.rebuild(&mut |_, _| {})?;
        let ledger_replay_per_s = rate(events, t);
        std::hint::black_box(ledger.projections().money(None));
        drop(ledger);
        std::fs::remove_dir_all(&base)?;

        let figures = RunFigures {
            raw_sled_append_per_s,
            ledger_append_per_s,
            ledger_ingest_json_per_s,
            raw_scan_decode_per_s,
            ledger_replay_per_s,
            ledger_bytes_per_event: ledger_bytes as f64 / events as f64,
            raw_sled_bytes_per_event: raw_bytes as f64 / events as f64,
        };
        tracing::info!(run, ?figures, "bench run done");
        all.push(figures);
    }
    let m = |f: fn(&RunFigures) -> f64| median(all.iter().map(f).collect());
    let medians = RunFigures {
        raw_sled_append_per_s: m(|r| r.raw_sled_append_per_s),
        ledger_append_per_s: m(|r| r.ledger_append_per_s),
        ledger_ingest_json_per_s: m(|r| r.ledger_ingest_json_per_s),
        raw_scan_decode_per_s: m(|r| r.raw_scan_decode_per_s),
        ledger_replay_per_s: m(|r| r.ledger_replay_per_s),
        ledger_bytes_per_event: m(|r| r.ledger_bytes_per_event),
        raw_sled_bytes_per_event: m(|r| r.raw_sled_bytes_per_event),
    };
    // Ratios are medians of the per-run ratios: both sides of a ratio come from the same run.
    let append_ratio_to_raw_sled = median(
        all.iter()
            .map(|r| r.ledger_append_per_s / r.raw_sled_append_per_s)
            .collect(),
    );
    let replay_ratio_to_raw_scan = median(
        all.iter()
            .map(|r| r.ledger_replay_per_s / r.raw_scan_decode_per_s)
            .collect(),
    );
    Ok(Report {
        events,
        trusts,
        batch_events: batch,
        runs: all,
        median: medians,
        append_ratio_to_raw_sled,
        replay_ratio_to_raw_scan,
        json_event_bytes_mean: json.len() as f64 / events as f64,
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
    /// Collector (outbox first) -> JetStream -> ledger (durable append, then ack) -> receipts
    /// cover everything: events/s from the collector's start to its last receipt.
    pub end_to_end_per_s: f64,
}

/// Medians and ratios of the pipeline benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineReport {
    pub events: u64,
    pub trusts: usize,
    pub window: usize,
    pub runs: Vec<PipelineRun>,
    pub median: PipelineRun,
    /// Median of per-run `end_to_end / raw_publish`.
    pub end_to_end_ratio_to_raw_publish: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineBenchError {
    #[error(transparent)]
    Nats(#[from] crate::natsproc::NatsProcError),
    #[error("NATS: {0}")]
    Client(String),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Serve(#[from] golive_ledger::service::ServeError),
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
/// them all with a durable pull consumer. Returns (publish/s, consume/s).
async fn raw_jetstream(
    url: &str,
    messages: &[(String, String, bytes::Bytes)],
    window: usize,
) -> Result<(f64, f64), PipelineBenchError> {
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
    let publish = rate(n, t);
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
    let consume = rate(n, t);
    Ok((publish, consume))
}

/// Runs the pipeline benchmark `runs` times, each against a fresh nats-server under `dir`.
pub fn pipeline_bench(
    dir: &Path,
    events: u64,
    trusts: usize,
    runs: usize,
    window: usize,
    seed: u64,
) -> Result<PipelineReport, PipelineBenchError> {
    use golive_collector::{CollectorConfig, Input};
    use golive_ledger::service::{ServeConfig, serve};
    use std::sync::{Arc, Mutex};

    let envelopes: Vec<Envelope> = Simulation::new(SimParams::new(seed, trusts, events)).collect();
    let messages: Vec<(String, String, bytes::Bytes)> = envelopes
        .iter()
        .map(|e| {
            (
                format!("{}.{}", e.trust, e.kind()),
                e.event_id.to_string(),
                bytes::Bytes::from(e.canonical_bytes()),
            )
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut all = Vec::new();
    for run in 0..runs.max(1) {
        let base = dir.join(format!("pipeline-{run}"));
        std::fs::create_dir_all(&base)?;
        let feed = base.join("feed.jsonl");
        let mut body = Vec::new();
        for (_, _, p) in &messages {
            body.extend_from_slice(p);
            body.push(b'\n');
        }
        std::fs::write(&feed, body)?;
        let nats = crate::natsproc::start(&base)?;
        let figures = rt.block_on(async {
            let (raw_publish_per_s, raw_consume_per_s) =
                raw_jetstream(&nats.url, &messages, window).await?;
            let ledger = Arc::new(Mutex::new(Ledger::open(
                &base.join("ledger"),
                LedgerOptions::default(),
            )?));
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            let mut rx = stop_rx.clone();
            let server = tokio::spawn(serve(
                ledger.clone(),
                ServeConfig {
                    nats_url: nats.url.clone(),
                    ..Default::default()
                },
                async move {
                    let _ = rx.wait_for(|s| *s).await;
                },
            ));
            // Let the ledger provision the stream before the clock starts.
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let t = Instant::now();
            let summary = golive_collector::collect(
                CollectorConfig {
                    nats_url: nats.url.clone(),
                    outbox_dir: base.join("outbox"),
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
            .await?;
            let end_to_end_per_s = rate(events, t);
            let _ = stop_tx.send(true);
            server
                .await
                .map_err(|e| PipelineBenchError::Incomplete(e.to_string()))??;
            let head = ledger
                .lock()
                .map_err(|_| PipelineBenchError::Incomplete("ledger lock".into()))?
                .head()
                .seq;
            if summary.pending_at_exit > 0 || head != events {
                return Err(PipelineBenchError::Incomplete(format!(
                    "ledger head {head} of {events}, {} pending",
                    summary.pending_at_exit
                )));
            }
            Ok::<_, PipelineBenchError>(PipelineRun {
                raw_publish_per_s,
                raw_consume_per_s,
                end_to_end_per_s,
            })
        })?;
        drop(nats);
        let _ = std::fs::remove_dir_all(&base);
        tracing::info!(run, ?figures, "pipeline bench run done");
        all.push(figures);
    }
    let m = |f: fn(&PipelineRun) -> f64| median(all.iter().map(f).collect());
    let medians = PipelineRun {
        raw_publish_per_s: m(|r| r.raw_publish_per_s),
        raw_consume_per_s: m(|r| r.raw_consume_per_s),
        end_to_end_per_s: m(|r| r.end_to_end_per_s),
    };
    let ratio = median(
        all.iter()
            .map(|r| r.end_to_end_per_s / r.raw_publish_per_s)
            .collect(),
    );
    Ok(PipelineReport {
        events,
        trusts,
        window,
        runs: all,
        median: medians,
        end_to_end_ratio_to_raw_publish: ratio,
    })
}

/// The table printed by `golive bench pipeline`.
pub fn pipeline_table(r: &PipelineReport) -> String {
    let m = &r.median;
    format!(
        "{} events, {} trusts, window {}, {} runs (medians)\n\
         {:<58} {:>10.0} events/s\n\
         {:<58} {:>10.0} events/s\n\
         {:<58} {:>10.0} events/s  {:.2} x raw publish\n",
        r.events,
        r.trusts,
        r.window,
        r.runs.len(),
        "baseline A: raw JetStream publish (msg id, same window)",
        m.raw_publish_per_s,
        "baseline A': raw durable pull consume (AckPolicy::All)",
        m.raw_consume_per_s,
        "end to end: collector outbox -> NATS -> durable ledger -> receipts",
        m.end_to_end_per_s,
        r.end_to_end_ratio_to_raw_publish
    )
}
