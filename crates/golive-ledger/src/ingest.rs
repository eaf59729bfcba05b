//! Ingest of JSONL: every line is decoded and validated; good lines are appended in batches,
//! bad lines go to the dead letters with their line number and reason. Nothing stops the stream.

use std::io::BufRead;

use chrono::Utc;
use golive_model::Envelope;
use golive_model::{decode_line, read_line_bounded};
use golive_store::{Head, Incoming, NewDeadLetter, Outcome};
use golive_verify::{SIGNATURE_HEADER, TrustKeys};

use crate::ledger::{Ledger, LedgerError};

/// Where lines come from, for messages and dead-letter origins.
#[derive(Debug, Clone)]
pub enum LineSource {
    File(String),
    Stdin,
}

impl LineSource {
    fn name(&self) -> &str {
        match self {
            LineSource::File(p) => p,
            LineSource::Stdin => "stdin",
        }
    }
}

/// One rejected line.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub line: u64,
    pub field: Option<String>,
    pub reason: String,
    pub dead_letter_id: u64,
}

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct IngestSummary {
    pub lines: u64,
    pub blank: u64,
    pub appended: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub bytes_read: u64,
    /// The first rejections, in line order (at most [`REJECTIONS_KEPT_MAX`]).
    pub rejections: Vec<Rejection>,
    pub head_seq: u64,
    pub head_hash: String,
}

/// Rejections kept in the summary; all of them are in the dead letters.
pub const REJECTIONS_KEPT_MAX: usize = 100;

struct Pending {
    line: u64,
    raw: Vec<u8>,
    incoming: Incoming,
}

/// Reads `reader` to the end, appending in batches of at most `batch_events_max`.
pub fn ingest_lines<R: BufRead>(
    ledger: &mut Ledger,
    mut reader: R,
    source: &LineSource,
    batch_events_max: usize,
    progress: &mut dyn FnMut(&IngestSummary),
) -> Result<IngestSummary, LedgerError> {
    let batch_events_max = batch_events_max.max(1);
    let trust_keys = ledger.trust_keys();
    let mut summary = IngestSummary::default();
    let mut batch: Vec<Pending> = Vec::with_capacity(batch_events_max);
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        let (n, overlong) = read_line_bounded(&mut reader, &mut buf).map_err(io_error)?;
        if n == 0 {
            break;
        }
        summary.lines += 1;
        summary.bytes_read += n as u64;
        let line_no = summary.lines;
        if !overlong && buf.iter().all(u8::is_ascii_whitespace) {
            summary.blank += 1;
            continue;
        }
        let decoded =
            decode_line(&buf, n, overlong).map_err(|e| (e.field.clone(), e.reason.to_string()));
        match decoded.and_then(|e| unsigned_origin(&trust_keys, e)) {
            Ok(envelope) => batch.push(Pending {
                line: line_no,
                raw: buf.clone(),
                incoming: Incoming::new(envelope, None, Utc::now()),
            }),
            Err((field, reason)) => reject(
                ledger,
                &mut summary,
                source,
                line_no,
                buf.clone(),
                Some(field),
                reason,
            )?,
        }
        if batch.len() >= batch_events_max {
            flush_batch(ledger, &mut summary, source, &mut batch)?;
            progress(&summary);
        }
    }
    flush_batch(ledger, &mut summary, source, &mut batch)?;
    let head = ledger.head();
    set_head(&mut summary, head);
    progress(&summary);
    Ok(summary)
}

/// A line of a file carries no signature: its event stands only for a trust whose policy lets
/// it be unsigned (signed events come through NATS, with their `Golive-Signature` header).
fn unsigned_origin(
    trust_keys: &TrustKeys,
    envelope: Envelope,
) -> Result<Envelope, (String, String)> {
    let checked = match envelope.body {
        // A key change stands only with an admin's signature, which no file line carries.
        golive_model::EventBody::TrustKey(_) => trust_keys.check_admin(&[], None).map(|_| ()),
        _ => trust_keys
            .check(envelope.trust.as_str(), envelope.recorded_at, &[], None)
            .map(|_| ()),
    };
    match checked {
        Ok(()) => Ok(envelope),
        Err(refusal) => Err((
            SIGNATURE_HEADER.to_owned(),
            format!(
                "{refusal} (a file line carries no signature; signed events come through NATS)"
            ),
        )),
    }
}

fn set_head(summary: &mut IngestSummary, head: Head) {
    summary.head_seq = head.seq;
    summary.head_hash = hex(&head.hash);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn flush_batch(
    ledger: &mut Ledger,
    summary: &mut IngestSummary,
    source: &LineSource,
    batch: &mut Vec<Pending>,
) -> Result<(), LedgerError> {
    if batch.is_empty() {
        return Ok(());
    }
    let pending = std::mem::take(batch);
    let (meta, incoming): (Vec<(u64, Vec<u8>)>, Vec<Incoming>) = pending
        .into_iter()
        .map(|p| ((p.line, p.raw), p.incoming))
        .unzip();
    let outcomes = ledger.append(incoming)?;
    for ((line, raw), outcome) in meta.into_iter().zip(outcomes) {
        match outcome {
            Outcome::Appended { .. } => summary.appended += 1,
            Outcome::Duplicate { .. } => summary.duplicates += 1,
            Outcome::Rejected { reason } => reject(
                ledger,
                summary,
                source,
                line,
                raw,
                Some("supersedes".to_owned()),
                reason.to_string(),
            )?,
        }
    }
    Ok(())
}

fn reject(
    ledger: &mut Ledger,
    summary: &mut IngestSummary,
    source: &LineSource,
    line: u64,
    raw: Vec<u8>,
    field: Option<String>,
    reason: String,
) -> Result<(), LedgerError> {
    let origin = format!("{}:{line}", source.name());
    tracing::warn!(%origin, field = field.as_deref().unwrap_or(""), %reason, "line rejected");
    let id = ledger.store().add_dead_letter(NewDeadLetter {
        origin,
        raw,
        field: field.clone(),
        reason: reason.clone(),
        received_at: Utc::now(),
        event_id: None,
    })?;
    summary.rejected += 1;
    if summary.rejections.len() < REJECTIONS_KEPT_MAX {
        summary.rejections.push(Rejection {
            line,
            field,
            reason,
            dead_letter_id: id,
        });
    }
    Ok(())
}

fn io_error(e: std::io::Error) -> LedgerError {
    LedgerError::Read(e.to_string())
}
