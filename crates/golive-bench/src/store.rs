//! `golive-bench store`: the ledger's durable append, JSON ingest, full replay, rebuild and
//! audit export and verify, beside raw sled baselines (append of the same record bytes; scan
//! and decode), each measured in the same run over the same events. Figures are medians over
//! runs; ratios are medians of per-run ratios.

use std::path::Path;
use std::time::Instant;

use chrono::Utc;
use golive_ledger::{Ledger, LedgerError, LedgerOptions, LineSource, ingest_lines};
use golive_model::{Envelope, GENESIS_HASH};
use golive_store::{Incoming, Record, Store, StoreError, codec};
use serde::Serialize;

use crate::baseline;
use crate::events::{BenchEvents, median_of, rate};

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
    /// The ledger's full replay: scan, decode, every projection (no snapshot written).
    pub ledger_replay_per_s: f64,
    /// `golive replay`'s rebuild: the full replay plus writing the projection snapshots of
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
pub enum StoreBenchError {
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

/// Runs the store benchmark `runs` times in fresh directories under `dir`.
pub fn store_bench(
    dir: &Path,
    ev: &BenchEvents,
    runs: usize,
    batch: usize,
) -> Result<Report, StoreBenchError> {
    let events = ev.len();
    let input = RunInput {
        ev,
        json: ev.jsonl(|_| true),
        records: baseline_records(&ev.envelopes)?,
        batch,
        options: LedgerOptions {
            snapshot_every_events: u64::MAX / 2,
            ..LedgerOptions::default()
        },
    };
    let mut all = Vec::new();
    for run in 0..runs.max(1) {
        let figures = store_run(&dir.join(format!("run-{run}")), &input)?;
        tracing::info!(run, ?figures, "bench run done");
        all.push(figures);
    }
    // Ratios are medians of the per-run ratios: both sides of a ratio come from the same run.
    let append_ratio_to_raw_sled =
        median_of(&all, |r| r.ledger_append_per_s / r.raw_sled_append_per_s);
    let replay_ratio_to_raw_scan =
        median_of(&all, |r| r.ledger_replay_per_s / r.raw_scan_decode_per_s);
    Ok(Report {
        events,
        trusts: ev.trusts,
        batch_events: batch,
        median: RunFigures::median(&all),
        runs: all,
        append_ratio_to_raw_sled,
        replay_ratio_to_raw_scan,
        json_event_bytes_mean: ev.mean_json_bytes(),
    })
}

/// What every run of the store benchmark writes: the same events in each form it needs.
struct RunInput<'a> {
    ev: &'a BenchEvents,
    /// The events as JSON lines, for the ingest figure.
    json: Vec<u8>,
    /// The record bytes the raw baseline writes.
    records: Vec<Vec<u8>>,
    batch: usize,
    /// The ledger's options: no projection snapshot during the append.
    options: LedgerOptions,
}

/// The store's own encoding of the events (the raw baseline writes these bytes).
fn baseline_records(envelopes: &[Envelope]) -> Result<Vec<Vec<u8>>, StoreError> {
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
            origin_signature: None,
        };
        codec::encode_record(&r, &mut buf).map_err(StoreError::Encode)?;
        records.push(buf);
    }
    Ok(records)
}

/// One run in the fresh directory `base` (removed at the end): every figure, in this order, as
/// each step reads what the one before wrote.
fn store_run(base: &Path, input: &RunInput) -> Result<RunFigures, StoreBenchError> {
    let events = input.ev.len();
    std::fs::create_dir_all(base)?;

    let t = Instant::now();
    let raw_bytes = baseline::raw_sled_append(&base.join("raw"), &input.records, input.batch)?;
    let raw_sled_append_per_s = rate(events, t);

    let (mut ledger, verifier) = open_signing_ledger(&base.join("ledger"), input.options)?;
    let ledger_append_per_s = append_all(&mut ledger, &input.ev.envelopes, input.batch)?;
    let ledger_bytes = ledger.store().size_on_disk()?;
    let ledger_ingest_json_per_s = ingest_json(&base.join("ledger-json"), input)?;
    let raw_scan_decode_per_s = scan_decode(ledger.store())?;
    let audit = audit_round_trip(ledger.store(), &base.join("export.jsonl"), &verifier)?;
    let (ledger_replay_per_s, ledger_rebuild_per_s) = replay_and_rebuild(ledger)?;
    std::fs::remove_dir_all(base)?;

    let per_event = |bytes: u64| bytes as f64 / events as f64;
    Ok(RunFigures {
        raw_sled_append_per_s,
        ledger_append_per_s,
        ledger_ingest_json_per_s,
        raw_scan_decode_per_s,
        ledger_replay_per_s,
        ledger_rebuild_per_s,
        ledger_bytes_per_event: per_event(ledger_bytes),
        raw_sled_bytes_per_event: per_event(raw_bytes),
        audit_export_per_s: audit.export_per_s,
        audit_verify_per_s: audit.verify_per_s,
        audit_export_bytes_per_event: per_event(audit.export_bytes),
    })
}

/// A fresh ledger that signs a checkpoint every 1,000 events, as a served ledger does by
/// default, and the verifier of its key.
fn open_signing_ledger(
    dir: &Path,
    options: LedgerOptions,
) -> Result<(Ledger, golive_verify::VerifierKey), StoreBenchError> {
    let mut ledger = Ledger::open(dir, options)?;
    let key = golive_verify::NoteSigner::from_seed("golive.ledger/bench", [7u8; 32])
        .expect("a valid key name");
    let verifier = key.verifier();
    let signer = golive_ledger::signing::CheckpointSigner::new(
        key,
        golive_ledger::signing::AuditOptions::default(),
        ledger.store(),
    )?;
    ledger.enable_checkpoint_signing(signer);
    Ok((ledger, verifier))
}

/// Appends every envelope in batches of `batch`; events/s. An error unless all are appended.
fn append_all(
    ledger: &mut Ledger,
    envelopes: &[Envelope],
    batch: usize,
) -> Result<f64, StoreBenchError> {
    let events = envelopes.len() as u64;
    let t = Instant::now();
    for chunk in envelopes.chunks(batch) {
        let now = Utc::now();
        let batch: Vec<Incoming> = chunk
            .iter()
            .map(|e| Incoming::new(e.clone(), None, now))
            .collect();
        ledger.append(batch)?;
    }
    let per_s = rate(events, t);
    if ledger.head().seq != events {
        return Err(StoreBenchError::Incomplete {
            got: ledger.head().seq,
            want: events,
        });
    }
    Ok(per_s)
}

/// `golive ingest` of the events as JSON lines into a fresh ledger in `dir`; events/s.
fn ingest_json(dir: &Path, input: &RunInput) -> Result<f64, StoreBenchError> {
    let mut ledger = Ledger::open(dir, input.options)?;
    let t = Instant::now();
    ingest_lines(
        &mut ledger,
        input.json.as_slice(),
        &LineSource::Stdin,
        input.batch,
        &mut |_| {},
    )?;
    Ok(rate(input.ev.len(), t))
}

/// Baseline B: every record read from sled and decoded, nothing else; records/s.
fn scan_decode(store: &Store) -> Result<f64, StoreBenchError> {
    let t = Instant::now();
    let mut n = 0u64;
    for r in store.iter_from(1) {
        std::hint::black_box(r?);
        n += 1;
    }
    Ok(rate(n, t))
}

/// What the auditor's path measured.
struct AuditFigures {
    export_per_s: f64,
    verify_per_s: f64,
    export_bytes: u64,
}

/// The auditor's path: export the log to `export`, then verify the file as `golive audit
/// verify` does (it must verify up to the head); the file is removed afterwards.
fn audit_round_trip(
    store: &Store,
    export: &Path,
    verifier: &golive_verify::VerifierKey,
) -> Result<AuditFigures, StoreBenchError> {
    let events = store.head().seq;
    let t = Instant::now();
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(export)?);
        golive::audit::export(store, 1, None, &mut out, &mut |_| {})
            .map_err(|e| StoreBenchError::Audit(e.to_string()))?;
    }
    let export_per_s = rate(events, t);
    let export_bytes = std::fs::metadata(export)?.len();
    let t = Instant::now();
    match golive::audit::verify_file(export, verifier) {
        golive_verify::Outcome::Verified(v) if v.head_seq == events => {}
        other => {
            return Err(StoreBenchError::Audit(format!(
                "the export did not verify: {other:?}"
            )));
        }
    }
    let verify_per_s = rate(events, t);
    std::fs::remove_file(export)?;
    Ok(AuditFigures {
        export_per_s,
        verify_per_s,
        export_bytes,
    })
}

/// The full replay (every projection, nothing written), then `golive replay`'s rebuild (the
/// replay plus every projection snapshot); events/s of each. Closes the ledger.
fn replay_and_rebuild(mut ledger: Ledger) -> Result<(f64, f64), StoreBenchError> {
    let events = ledger.head().seq;
    let t = Instant::now();
    let replayed = golive_ledger::replay_from_start(ledger.store(), &mut |_, _| {})?;
    let replay_per_s = rate(events, t);
    std::hint::black_box(replayed.money(None));
    drop(replayed);
    let t = Instant::now();
    ledger.rebuild(&mut |_, _| {})?;
    let rebuild_per_s = rate(events, t);
    std::hint::black_box(ledger.projections().money(None));
    Ok((replay_per_s, rebuild_per_s))
}

impl RunFigures {
    /// The median of every figure over `runs`, each on its own.
    fn median(runs: &[RunFigures]) -> RunFigures {
        let m = |f: fn(&RunFigures) -> f64| median_of(runs, f);
        RunFigures {
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
        }
    }
}

/// The table printed by `golive-bench store`.
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
            "ledger rebuild (replay + write every snapshot)",
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
