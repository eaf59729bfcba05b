//! One batch of stream messages into the ledger: decode and validate each message (bad ones to
//! the dead letters, with subject, raw bytes and reason), then append the rest in one write.
//! No NATS here: the loop hands over what it took off the stream.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use golive_ledger::{BatchTally, Ledger, LedgerError};
use golive_model::protocol;
use golive_model::{Envelope, EventBody, EventId, decode};
use golive_store::{Incoming, NewDeadLetter, Outcome, RejectReason, Store, StoreError};
use golive_verify::{OriginSignature, SIGNATURE_HEADER, TrustKeys};

/// One message taken off the stream.
pub struct Delivered {
    pub subject: String,
    pub payload: Bytes,
    pub stream_seq: u64,
    /// The message's `Golive-Signature` header, as it came.
    pub origin_signature: Option<String>,
}

/// How much of a signature header a dead letter's origin keeps (a good one is 92 characters).
const ORIGIN_TEXT_CHARS_MAX: usize = 128;

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
    let mut trust_keys = ledger.trust_keys();
    let mut tally = BatchTally::default();
    let dead = DeadLetters {
        store: ledger.store().clone(),
        received_at: Utc::now(),
    };
    let mut pending = Pending::default();
    for d in batch {
        match admit(&d, &trust_keys) {
            Ok((envelope, sig)) => {
                // A key change is appended on its own, so that the events before it are
                // checked without it and the events after it with it, as the auditor does.
                let key_change = matches!(envelope.body, EventBody::TrustKey(_));
                if key_change {
                    pending.append(ledger, &dead, &mut tally)?;
                }
                pending.incoming.push(
                    Incoming::new(envelope, Some(d.stream_seq), dead.received_at).signed(sig),
                );
                pending.raws.push(d);
                if key_change {
                    pending.append(ledger, &dead, &mut tally)?;
                    trust_keys = ledger.trust_keys();
                }
            }
            Err(refusal) => {
                dead.add(&d, refusal)?;
                tally.dead_lettered += 1;
            }
        }
    }
    pending.append(ledger, &dead, &mut tally)?;
    Ok(tally)
}

/// Admitted messages not yet appended.
#[derive(Default)]
struct Pending {
    incoming: Vec<Incoming>,
    raws: Vec<Delivered>,
}

impl Pending {
    /// Appends what is pending in one write and counts each outcome.
    fn append(
        &mut self,
        ledger: &mut Ledger,
        dead: &DeadLetters,
        tally: &mut BatchTally,
    ) -> Result<(), LedgerError> {
        if self.incoming.is_empty() {
            return Ok(());
        }
        let incoming = std::mem::take(&mut self.incoming);
        let raws = std::mem::take(&mut self.raws);
        let ids: Vec<EventId> = incoming.iter().map(|i| i.envelope.event_id).collect();
        let outcomes = ledger.append(incoming)?;
        for ((d, id), outcome) in raws.iter().zip(ids).zip(outcomes) {
            count_outcome(dead, d, id, outcome, tally)?;
        }
        Ok(())
    }
}

/// The message's envelope (and signature) if it decodes, its subject names the envelope's
/// trust and kind, and its origin stands under the trust's keys.
fn admit(
    d: &Delivered,
    trust_keys: &TrustKeys,
) -> Result<(Envelope, Option<OriginSignature>), Refusal> {
    let envelope = decode(&d.payload).map_err(|e| Refusal {
        event_id: None,
        field: e.field.clone(),
        reason: e.reason.to_string(),
    })?;
    if let Some(reason) = subject_mismatch(&d.subject, &envelope) {
        return Err(Refusal {
            event_id: Some(envelope.event_id),
            field: "trust".to_owned(),
            reason,
        });
    }
    match check_origin(&envelope, d.origin_signature.as_deref(), trust_keys) {
        Ok(sig) => Ok((envelope, sig)),
        Err(reason) => Err(Refusal {
            event_id: Some(envelope.event_id),
            field: SIGNATURE_HEADER.to_owned(),
            reason,
        }),
    }
}

/// The event's signature if its origin stands (`TrustKeys::check`, the auditor's rule too).
/// A `trust_key` event must be signed by an admin key and apply to the keys in force.
fn check_origin(
    envelope: &Envelope,
    header: Option<&str>,
    trust_keys: &TrustKeys,
) -> Result<Option<OriginSignature>, String> {
    let sig = header
        .map(OriginSignature::parse)
        .transpose()
        .map_err(|e| e.to_string())?;
    let needs_bytes = sig.is_some() || matches!(envelope.body, EventBody::TrustKey(_));
    let canonical = if needs_bytes {
        envelope.canonical_bytes()
    } else {
        Vec::new()
    };
    if let EventBody::TrustKey(change) = &envelope.body {
        trust_keys
            .check_admin(&canonical, sig.as_ref())
            .map_err(|e| e.to_string())?;
        // Applied for real once appended (`Ledger::append`); here only whether it applies.
        trust_keys
            .clone()
            .apply(envelope.trust.as_str(), change)
            .map_err(|e| format!("trust_key: {e}"))?;
        return Ok(sig);
    }
    trust_keys
        .check(
            envelope.trust.as_str(),
            envelope.recorded_at,
            &canonical,
            sig.as_ref(),
        )
        .map_err(|e| e.to_string())?;
    Ok(sig)
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
            origin: match &d.origin_signature {
                None => format!("{} (stream seq {})", d.subject, d.stream_seq),
                Some(sig) => format!(
                    "{} (stream seq {}, {SIGNATURE_HEADER}: {})",
                    d.subject,
                    d.stream_seq,
                    sig.chars().take(ORIGIN_TEXT_CHARS_MAX).collect::<String>()
                ),
            },
            raw: d.payload.to_vec(),
            field: Some(field),
            reason,
            received_at: self.received_at,
            event_id,
        })?;
        Ok(())
    }
}
