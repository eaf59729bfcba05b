//! One batch of stream messages into the ledger: decode and validate each message (bad ones to
//! the dead letters, with subject, raw bytes and reason), then append the rest in one write.
//! No NATS here: the loop hands over what it took off the stream.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use golive_ledger::{BatchTally, Ledger, LedgerError};
use golive_model::protocol;
use golive_model::{Envelope, EventId, decode};
use golive_store::{Incoming, NewDeadLetter, Outcome, RejectReason, Store, StoreError};

/// One message taken off the stream.
pub struct Delivered {
    pub subject: String,
    pub payload: Bytes,
    pub stream_seq: u64,
}

/// Why a message is refused before the append: its dead letter's event id (when it decoded),
/// field and reason.
struct Refusal {
    event_id: Option<EventId>,
    field: String,
    reason: String,
}

/// Decodes, validates and appends one batch; bad messages go to the dead letters. Everything
/// this returns `Ok` for is durable.
pub fn process_batch(
    ledger: &mut Ledger,
    batch: Vec<Delivered>,
) -> Result<BatchTally, LedgerError> {
    let mut tally = BatchTally::default();
    let dead = DeadLetters {
        store: ledger.store().clone(),
        received_at: Utc::now(),
    };
    let mut incoming = Vec::with_capacity(batch.len());
    let mut raws = Vec::with_capacity(batch.len());
    for d in batch {
        match admit(&d) {
            Ok(envelope) => {
                incoming.push(Incoming::new(
                    envelope,
                    Some(d.stream_seq),
                    dead.received_at,
                ));
                raws.push(d);
            }
            Err(refusal) => {
                dead.add(&d, refusal)?;
                tally.dead_lettered += 1;
            }
        }
    }
    if incoming.is_empty() {
        return Ok(tally);
    }
    let ids: Vec<EventId> = incoming.iter().map(|i| i.envelope.event_id).collect();
    let outcomes = ledger.append(incoming)?;
    for ((d, id), outcome) in raws.iter().zip(ids).zip(outcomes) {
        count_outcome(&dead, d, id, outcome, &mut tally)?;
    }
    Ok(tally)
}

/// The message's envelope if it decodes and its subject names the envelope's trust and kind.
fn admit(d: &Delivered) -> Result<Envelope, Refusal> {
    let envelope = decode(&d.payload).map_err(|e| Refusal {
        event_id: None,
        field: e.field.clone(),
        reason: e.reason.to_string(),
    })?;
    match subject_mismatch(&d.subject, &envelope) {
        Some(reason) => Err(Refusal {
            event_id: Some(envelope.event_id),
            field: "trust".to_owned(),
            reason,
        }),
        None => Ok(envelope),
    }
}

/// Why `subject` may not carry `envelope`, if it may not: a trust may only publish its own
/// events, under the subject of their kind.
fn subject_mismatch(subject: &str, envelope: &Envelope) -> Option<String> {
    match protocol::parse_event_subject(subject) {
        None => Some(format!(
            "subject {subject} is not golive.events.<TRUST>.<kind>"
        )),
        Some((trust, _)) if trust != envelope.trust.as_str() => Some(format!(
            "the subject's trust {trust} does not match the envelope's trust {}: a trust may only publish its own events",
            envelope.trust
        )),
        Some((_, kind)) if kind != envelope.kind().as_str() => Some(format!(
            "the subject's kind {kind} does not match the envelope's kind {}",
            envelope.kind()
        )),
        Some(_) => None,
    }
}

/// Counts what the append did with one message (dead-lettering what it refused for good).
fn count_outcome(
    dead: &DeadLetters,
    d: &Delivered,
    id: EventId,
    outcome: Outcome,
    tally: &mut BatchTally,
) -> Result<(), StoreError> {
    match outcome {
        Outcome::Appended { .. } => tally.appended += 1,
        Outcome::Duplicate { .. } => tally.duplicates += 1,
        // A correction can overtake the event it corrects (a collector re-publishes what the
        // broker refused earlier, so its events need not arrive in order). It is not refused
        // for good: the receipt stays "unknown", the collector re-sends it, and by then the
        // corrected event is in.
        Outcome::Rejected {
            reason: reason @ RejectReason::SupersedesUnknown(_),
        } => {
            tracing::info!(subject = %d.subject, stream_seq = d.stream_seq, %reason, "correction deferred until the event it corrects arrives");
            tally.deferred += 1;
        }
        Outcome::Rejected { reason } => {
            let refusal = Refusal {
                event_id: Some(id),
                field: "supersedes".to_owned(),
                reason: reason.to_string(),
            };
            dead.add(d, refusal)?;
            tally.dead_lettered += 1;
        }
    }
    Ok(())
}

/// Where a batch's refused messages go, all stamped with the batch's receipt time.
struct DeadLetters {
    store: Store,
    received_at: DateTime<Utc>,
}

impl DeadLetters {
    fn add(&self, d: &Delivered, refusal: Refusal) -> Result<(), StoreError> {
        let Refusal {
            event_id,
            field,
            reason,
        } = refusal;
        tracing::warn!(subject = %d.subject, stream_seq = d.stream_seq, field = field.as_str(), %reason, "message dead-lettered");
        self.store.add_dead_letter(NewDeadLetter {
            origin: format!("{} (stream seq {})", d.subject, d.stream_seq),
            raw: d.payload.to_vec(),
            field: Some(field),
            reason,
            received_at: self.received_at,
            event_id,
        })?;
        Ok(())
    }
}
