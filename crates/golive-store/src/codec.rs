//! The bytes on disk. Every persisted value has its own versioned type here that mirrors the
//! domain type with explicit conversions, so a refactor of `golive-model` cannot silently change
//! what is written: renaming or adding an enum variant, field or kind fails to compile here until
//! someone decides its stored form (and, if the bytes change, a new format version).
//!
//! Layout of a log value: one version byte ([`RECORD_V1`]) followed by `RecordV1` in bincode 2
//! `config::standard()` (varint integers, length-prefixed strings, `Option` as a 0/1 byte, fixed
//! arrays without a length). Enums are stored as explicit `u8` tags listed below; the body's kind
//! tag is written by hand, not by derive, so reordering variants cannot renumber them.
//!
//! The stored types borrow their strings (`&'a str`): encoding an [`Envelope`] allocates nothing
//! per field, and decoding borrows from sled's buffer until the domain type is built.

use bincode::de::{BorrowDecoder, Decoder};
use bincode::enc::Encoder;
use bincode::error::{DecodeError as BinDecodeError, EncodeError};
use bincode::{BorrowDecode, Decode, Encode};
use chrono::{DateTime, Utc};
use golive_model::{
    ChainHash, CollectorId, ContractPenalty, CostCategory, Dataset, Envelope, EventBody, EventId,
    ExtraCost, FeatureDeferred, Harm, HarmCounts, HarmReview, IncidentState, IncomeAtRisk,
    IncomeCategory, IncomeRecovered, OdsCode, Outage, Pathway, PatientLost, PatientRef,
    PatientTraced, Pence, Period, Reporting, RolloutScope, RolloutState, RolloutStatus,
    SafetyIncident, Source, SourceType, Status, TraceOutcome, WaitingListDiscrepancy,
};

use crate::{DeadLetter, OriginSignature, Record};

/// Version byte of a log record in format 1 (read forever, written only by tests).
pub const RECORD_V1: u8 = 1;
/// Version byte of a log record in format 2: the event's canonical bytes, verbatim.
pub const RECORD_V2: u8 = 2;
/// Version byte of a log record in format 3: format 2 plus the trust's origin signature. An
/// unsigned event is still written in format 2.
pub const RECORD_V3: u8 = 3;
/// Version byte of a dead letter in format 1.
pub const DEAD_LETTER_V1: u8 = 1;

/// Largest value the decoder will read. Bounds what a corrupted length prefix can make it claim.
pub const DECODE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// The one bincode configuration of format 1. Changing it changes every byte on disk.
const CONFIG: bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<DECODE_BYTES_MAX>,
> = bincode::config::standard().with_limit::<DECODE_BYTES_MAX>();

/// Why stored bytes could not be turned back into a value.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("value is empty")]
    Empty,
    #[error("unknown format version byte {0}")]
    UnknownVersion(u8),
    #[error("bincode: {0}")]
    Bincode(#[from] BinDecodeError),
    #[error("{0} unexpected bytes after the value")]
    TrailingBytes(usize),
    #[error("{field}: {what}")]
    Invalid { field: &'static str, what: String },
}

fn invalid(field: &'static str, what: impl Into<String>) -> CodecError {
    CodecError::Invalid {
        field,
        what: what.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------------------------

/// Appends the stored bytes of a record to `buf`: format 3 when it carries an origin
/// signature, format 2 when not.
pub fn encode_record(record: &Record, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
    let parts = RecordParts {
        seq: record.seq,
        stream_seq: record.stream_seq,
        received_at: record.received_at,
        prev_hash: &record.prev_hash,
        hash: &record.hash,
        origin_signature: record.origin_signature.as_ref(),
    };
    encode_record_parts(&parts, &record.envelope.canonical_bytes(), buf)
}

/// A record's fields but the event, borrowed.
pub(crate) struct RecordParts<'a> {
    pub seq: u64,
    pub stream_seq: Option<u64>,
    pub received_at: DateTime<Utc>,
    pub prev_hash: &'a ChainHash,
    pub hash: &'a ChainHash,
    pub origin_signature: Option<&'a OriginSignature>,
}

/// Appends the stored bytes of a record built from its parts to `buf` (format 3 when signed,
/// else 2). The append path uses this with the canonical bytes it has just hashed, so that an
/// event is serialised once.
pub(crate) fn encode_record_parts(
    p: &RecordParts<'_>,
    canonical: &[u8],
    buf: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let stored = RecordV2 {
        seq: p.seq,
        stream_seq: p.stream_seq,
        received_at: p.received_at.into(),
        prev_hash: *p.prev_hash,
        hash: *p.hash,
        canonical,
    };
    match p.origin_signature {
        None => {
            buf.push(RECORD_V2);
            bincode::encode_into_std_write(&stored, buf, CONFIG)?;
        }
        Some(sig) => {
            buf.push(RECORD_V3);
            let signed = RecordV3 {
                record: stored,
                origin_signature: sig.to_bytes(),
            };
            bincode::encode_into_std_write(&signed, buf, CONFIG)?;
        }
    }
    Ok(())
}

/// Appends the stored bytes of a schema-1 record in format 1 to `buf`. The ledger never writes
/// format 1 any more; this stays so that tests pin its bytes and build stores of that format.
///
/// # Panics
/// When the event is not schema 1 (format 1 cannot hold schema 2).
pub fn encode_record_v1(record: &Record, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
    let e = &record.envelope;
    assert!(
        e.schema == golive_model::SCHEMA_1 && e.relates_to.is_none() && e.attribution.is_none(),
        "format 1 holds schema-1 events only"
    );
    let stored = RecordV1 {
        seq: record.seq,
        stream_seq: record.stream_seq,
        received_at: record.received_at.into(),
        prev_hash: record.prev_hash,
        hash: record.hash,
        envelope: StoredEnvelopeV1::from_envelope(e),
    };
    buf.push(RECORD_V1);
    bincode::encode_into_std_write(&stored, buf, CONFIG)?;
    Ok(())
}

/// Decodes the stored bytes of a record. Checks the format only; the hash is not recomputed
/// (see [`Record::verify_hash`]).
pub fn decode_record(bytes: &[u8]) -> Result<Record, CodecError> {
    let (&version, rest) = bytes.split_first().ok_or(CodecError::Empty)?;
    match version {
        RECORD_V1 => {
            let stored: RecordV1<'_> = borrow_decode_all(rest)?;
            stored.try_into()
        }
        RECORD_V2 => {
            let stored: RecordV2<'_> = borrow_decode_all(rest)?;
            stored.try_into()
        }
        RECORD_V3 => {
            let stored: RecordV3<'_> = borrow_decode_all(rest)?;
            let mut record: Record = stored.record.try_into()?;
            let sig = OriginSignature::from_bytes(&stored.origin_signature)
                .map_err(|e| invalid("origin_signature", e.to_string()))?;
            record.origin_signature = Some(sig);
            Ok(record)
        }
        other => Err(CodecError::UnknownVersion(other)),
    }
}

/// Reads only the trust and kind of a stored record: what the supersedes rules compare.
pub(crate) fn decode_trust_and_kind(
    bytes: &[u8],
) -> Result<(OdsCode, golive_model::Kind), CodecError> {
    let record = decode_record(bytes)?;
    Ok((record.envelope.trust, record.envelope.body.kind()))
}

/// Appends the stored bytes of a dead letter to `buf`.
pub fn encode_dead_letter(d: &DeadLetter, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
    let stored = DeadLetterV1 {
        id: d.id,
        origin: &d.origin,
        raw: &d.raw,
        raw_len: d.raw_len,
        field: d.field.as_deref(),
        reason: &d.reason,
        received_at: d.received_at.into(),
    };
    buf.push(DEAD_LETTER_V1);
    bincode::encode_into_std_write(&stored, buf, CONFIG)?;
    Ok(())
}

/// Decodes the stored bytes of a dead letter.
pub fn decode_dead_letter(bytes: &[u8]) -> Result<DeadLetter, CodecError> {
    let (&version, rest) = bytes.split_first().ok_or(CodecError::Empty)?;
    match version {
        DEAD_LETTER_V1 => {
            let s: DeadLetterV1<'_> = borrow_decode_all(rest)?;
            Ok(DeadLetter {
                id: s.id,
                origin: s.origin.to_owned(),
                raw: s.raw.to_vec(),
                raw_len: s.raw_len,
                field: s.field.map(str::to_owned),
                reason: s.reason.to_owned(),
                received_at: s.received_at.try_into_time("received_at")?,
            })
        }
        other => Err(CodecError::UnknownVersion(other)),
    }
}

fn borrow_decode_all<'de, T: BorrowDecode<'de, ()>>(bytes: &'de [u8]) -> Result<T, CodecError> {
    let (value, used) = bincode::borrow_decode_from_slice(bytes, CONFIG)?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    Ok(value)
}

// ---------------------------------------------------------------------------------------------
// Format 2: the canonical bytes of the event
// ---------------------------------------------------------------------------------------------

/// Format 2 keeps the event as the canonical bytes that were hashed: one definition of the
/// event (golive-model's), nothing to mirror here, and schema changes need no new format.
/// Reading checks structure, not the semantic rules of the day (`decode_canonical`), so a rule
/// tightened later never makes a stored record unreadable.
#[derive(Debug, Encode, BorrowDecode)]
struct RecordV2<'a> {
    seq: u64,
    stream_seq: Option<u64>,
    received_at: StoredTime,
    prev_hash: [u8; 32],
    hash: [u8; 32],
    canonical: &'a [u8],
}

/// Format 3: format 2's fields, then the trust's origin signature (key id, big-endian, and the
/// Ed25519 signature: 68 bytes, no length prefix).
#[derive(Debug, Encode, BorrowDecode)]
struct RecordV3<'a> {
    record: RecordV2<'a>,
    origin_signature: [u8; golive_verify::ORIGIN_SIGNATURE_BYTES],
}

impl TryFrom<RecordV2<'_>> for Record {
    type Error = CodecError;
    fn try_from(s: RecordV2<'_>) -> Result<Self, CodecError> {
        let envelope = golive_model::decode_canonical(s.canonical)
            .map_err(|e| invalid("canonical", e.to_string()))?;
        Ok(Record {
            seq: s.seq,
            stream_seq: s.stream_seq,
            received_at: s.received_at.try_into_time("received_at")?,
            prev_hash: s.prev_hash,
            hash: s.hash,
            envelope,
            origin_signature: None,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Stored types, format 1
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Encode, BorrowDecode)]
struct RecordV1<'a> {
    seq: u64,
    stream_seq: Option<u64>,
    received_at: StoredTime,
    prev_hash: [u8; 32],
    hash: [u8; 32],
    envelope: StoredEnvelopeV1<'a>,
}

/// A UTC instant as whole seconds since the Unix epoch and nanoseconds within the second.
#[derive(Debug, Clone, Copy, Encode, Decode)]
struct StoredTime {
    secs: i64,
    nanos: u32,
}

impl From<DateTime<Utc>> for StoredTime {
    fn from(t: DateTime<Utc>) -> Self {
        Self {
            secs: t.timestamp(),
            nanos: t.timestamp_subsec_nanos(),
        }
    }
}

impl StoredTime {
    fn try_into_time(self, field: &'static str) -> Result<DateTime<Utc>, CodecError> {
        DateTime::from_timestamp(self.secs, self.nanos).ok_or_else(|| {
            invalid(
                field,
                format!(
                    "{}s {}ns is not a representable time",
                    self.secs, self.nanos
                ),
            )
        })
    }
}

#[derive(Debug, Encode, BorrowDecode)]
struct StoredEnvelopeV1<'a> {
    event_id: [u8; 16],
    trust: &'a str,
    site: Option<&'a str>,
    collector: &'a str,
    collector_seq: u64,
    occurred_at: StoredTime,
    recorded_at: StoredTime,
    schema: u16,
    body: StoredBodyV1<'a>,
    source: Option<StoredSourceV1<'a>>,
    status: StoredStatus,
    supersedes: Option<[u8; 16]>,
}

#[derive(Debug, Encode, BorrowDecode)]
struct StoredSourceV1<'a> {
    source_type: StoredSourceType,
    reference: &'a str,
}

impl<'a> StoredEnvelopeV1<'a> {
    fn from_envelope(e: &'a Envelope) -> Self {
        Self {
            event_id: *e.event_id.as_bytes(),
            trust: e.trust.as_str(),
            site: e.site.as_deref(),
            collector: e.collector.as_str(),
            collector_seq: e.collector_seq,
            occurred_at: e.occurred_at.into(),
            recorded_at: e.recorded_at.into(),
            schema: e.schema,
            body: StoredBodyV1::from_body(&e.body),
            source: e.sources.first().map(|s| StoredSourceV1 {
                source_type: s.source_type.into(),
                reference: &s.reference,
            }),
            status: e.status.into(),
            supersedes: e.supersedes.map(|id| *id.as_bytes()),
        }
    }
}

impl TryFrom<StoredEnvelopeV1<'_>> for Envelope {
    type Error = CodecError;
    fn try_from(s: StoredEnvelopeV1<'_>) -> Result<Self, CodecError> {
        // Format 1 was written for schema 1 only: another schema there is corruption, and an
        // envelope of it could not be stored again (format 2 keeps only readable schemas).
        if s.schema != golive_model::SCHEMA_1 {
            return Err(invalid(
                "schema",
                format!(
                    "format 1 holds schema-1 events only, not schema {}",
                    s.schema
                ),
            ));
        }
        Ok(Envelope {
            event_id: EventId::from_bytes(s.event_id),
            trust: OdsCode::parse(s.trust)
                .ok_or_else(|| invalid("trust", format!("`{}` is not an ODS code", s.trust)))?,
            site: s.site.map(str::to_owned),
            collector: CollectorId(s.collector.to_owned()),
            collector_seq: s.collector_seq,
            occurred_at: s.occurred_at.try_into_time("occurred_at")?,
            recorded_at: s.recorded_at.try_into_time("recorded_at")?,
            schema: s.schema,
            body: s.body.try_into()?,
            sources: golive_model::upcast_schema1_source(s.source.map(|src| Source {
                source_type: src.source_type.into(),
                reference: src.reference.to_owned(),
                published_at: None,
                url: None,
            })),
            status: s.status.into(),
            supersedes: s.supersedes.map(EventId::from_bytes),
            relates_to: None,
            attribution: None,
        })
    }
}

impl TryFrom<RecordV1<'_>> for Record {
    type Error = CodecError;
    fn try_from(s: RecordV1<'_>) -> Result<Self, CodecError> {
        Ok(Record {
            seq: s.seq,
            stream_seq: s.stream_seq,
            received_at: s.received_at.try_into_time("received_at")?,
            prev_hash: s.prev_hash,
            hash: s.hash,
            envelope: readable_again(s.envelope.try_into()?)?,
            origin_signature: None,
        })
    }
}

/// A format-1 envelope as the model reads it: its fields are checked one by one as they are
/// decoded, not as a whole event, so a corrupted value the model refuses (a period in year
/// 32473) is refused here, rather than decoded into a record that could not be stored again.
fn readable_again(envelope: Envelope) -> Result<Envelope, CodecError> {
    golive_model::decode_canonical(&envelope.canonical_bytes())
        .map_err(|e| invalid("envelope", e.to_string()))?;
    Ok(envelope)
}

#[derive(Debug, Encode, BorrowDecode)]
struct DeadLetterV1<'a> {
    id: u64,
    origin: &'a str,
    raw: &'a [u8],
    raw_len: u64,
    field: Option<&'a str>,
    reason: &'a str,
    received_at: StoredTime,
}

// ---------------------------------------------------------------------------------------------
// Enums: explicit u8 tags
// ---------------------------------------------------------------------------------------------

/// Declares a stored mirror of a model enum with explicit `u8` tags, the conversions both ways
/// (exhaustive matches, so a new model variant does not compile until it has a tag), and a
/// hand-written bincode encoding as that one byte.
macro_rules! stored_enum {
    ($stored:ident <=> $model:ident { $($variant:ident = $tag:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum $stored { $($variant),+ }

        impl $stored {
            fn tag(self) -> u8 {
                match self { $($stored::$variant => $tag),+ }
            }
            fn from_tag(tag: u8) -> Option<Self> {
                match tag { $($tag => Some($stored::$variant),)+ _ => None }
            }
        }
        impl From<$model> for $stored {
            fn from(v: $model) -> Self {
                match v { $($model::$variant => $stored::$variant),+ }
            }
        }
        impl From<$stored> for $model {
            fn from(v: $stored) -> Self {
                match v { $($stored::$variant => $model::$variant),+ }
            }
        }
        impl Encode for $stored {
            fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
                self.tag().encode(e)
            }
        }
        impl<C> Decode<C> for $stored {
            fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, BinDecodeError> {
                let tag = u8::decode(d)?;
                $stored::from_tag(tag).ok_or_else(|| {
                    BinDecodeError::OtherString(format!(
                        concat!("unknown ", stringify!($model), " tag {}"),
                        tag
                    ))
                })
            }
        }
        bincode::impl_borrow_decode!($stored);
    };
}

stored_enum!(StoredStatus <=> Status { Reported = 0, Estimated = 1, Validated = 2 });
// Tags 6 and up are of schema 2; format 1 never holds them.
stored_enum!(StoredSourceType <=> SourceType {
    BoardPaper = 0, Foi = 1, Press = 2, AuditReport = 3, System = 4, Manual = 5,
    RegulatorReport = 6, ParliamentAnswer = 7, ParliamentDebate = 8, Synthetic = 9,
});
stored_enum!(StoredRolloutState <=> RolloutState {
    Planned = 0, GoLive = 1, Paused = 2, Resumed = 3, Halted = 4, Withdrawn = 5,
    Stabilised = 6, FitToDeploy = 7,
});
stored_enum!(StoredRolloutScope <=> RolloutScope { Trust = 0, Programme = 1 });
stored_enum!(StoredPathway <=> Pathway {
    Rtt18wk = 0, Cancer2ww = 1, Outpatient13wk = 2, Inpatient26wk = 3, Diagnostic6wk = 4,
    FollowUp = 5,
});
stored_enum!(StoredTraceOutcome <=> TraceOutcome {
    StillWaiting = 0, AlreadyTreated = 1, DuplicateRecord = 2, Discharged = 3, Deceased = 4,
});
stored_enum!(StoredHarm <=> Harm {
    None = 0, Low = 1, Moderate = 2, Severe = 3, Death = 4, Unknown = 5,
});
stored_enum!(StoredDataset <=> Dataset { Rtt = 0, Cancer = 1, Ae = 2, Sus = 3 });
stored_enum!(StoredCostCategory <=> CostCategory {
    TemporaryStaff = 0, Validation = 1, Contractors = 2, ExtraClinics = 3, Remediation = 4,
    Other = 5, DeploymentCharge = 6,
});
stored_enum!(StoredIncomeCategory <=> IncomeCategory {
    LostActivity = 0, CorrectableDataEntry = 1, Misclassification = 2, Unbilled = 3,
});
stored_enum!(StoredIncidentState <=> IncidentState { Open = 0, Closed = 1 });

// ---------------------------------------------------------------------------------------------
// Kind data
// ---------------------------------------------------------------------------------------------

/// A month as year and month number.
#[derive(Debug, Clone, Copy, Encode, Decode)]
struct StoredPeriod {
    year: u16,
    month: u8,
}

impl From<Period> for StoredPeriod {
    fn from(p: Period) -> Self {
        Self {
            year: p.year,
            month: p.month,
        }
    }
}

impl From<StoredPeriod> for Period {
    fn from(p: StoredPeriod) -> Self {
        Period {
            year: p.year,
            month: p.month,
        }
    }
}

#[derive(Debug, Encode, BorrowDecode)]
struct StoredRolloutStatus<'a> {
    programme: &'a str,
    supplier: Option<&'a str>,
    release: Option<&'a str>,
    status: StoredRolloutState,
    scope: StoredRolloutScope,
    reason: Option<&'a str>,
}

impl<'a> From<&'a RolloutStatus> for StoredRolloutStatus<'a> {
    fn from(d: &'a RolloutStatus) -> Self {
        Self {
            programme: &d.programme,
            supplier: d.supplier.as_deref(),
            release: d.release.as_deref(),
            status: d.status.into(),
            scope: d.scope.into(),
            reason: d.reason.as_deref(),
        }
    }
}

impl From<StoredRolloutStatus<'_>> for RolloutStatus {
    fn from(d: StoredRolloutStatus<'_>) -> Self {
        RolloutStatus {
            programme: d.programme.to_owned(),
            supplier: owned(d.supplier),
            release: owned(d.release),
            status: d.status.into(),
            scope: d.scope.into(),
            reason: owned(d.reason),
        }
    }
}

#[derive(Debug, Encode, BorrowDecode)]
struct StoredPatientLost<'a> {
    patient_ref: &'a str,
    pathway: StoredPathway,
    discovered_via: Option<&'a str>,
}

impl<'a> From<&'a PatientLost> for StoredPatientLost<'a> {
    fn from(d: &'a PatientLost) -> Self {
        Self {
            patient_ref: d.patient_ref.as_str(),
            pathway: d.pathway.into(),
            discovered_via: d.discovered_via.as_deref(),
        }
    }
}

impl From<StoredPatientLost<'_>> for PatientLost {
    fn from(d: StoredPatientLost<'_>) -> Self {
        PatientLost {
            patient_ref: PatientRef(d.patient_ref.to_owned()),
            pathway: d.pathway.into(),
            discovered_via: owned(d.discovered_via),
        }
    }
}

#[derive(Debug, Encode, BorrowDecode)]
struct StoredPatientTraced<'a> {
    patient_ref: &'a str,
    outcome: StoredTraceOutcome,
    harm: StoredHarm,
}

impl<'a> From<&'a PatientTraced> for StoredPatientTraced<'a> {
    fn from(d: &'a PatientTraced) -> Self {
        Self {
            patient_ref: d.patient_ref.as_str(),
            outcome: d.outcome.into(),
            harm: d.harm.into(),
        }
    }
}

impl From<StoredPatientTraced<'_>> for PatientTraced {
    fn from(d: StoredPatientTraced<'_>) -> Self {
        PatientTraced {
            patient_ref: PatientRef(d.patient_ref.to_owned()),
            outcome: d.outcome.into(),
            harm: d.harm.into(),
        }
    }
}

#[derive(Debug, Encode, Decode)]
struct StoredWaitingListDiscrepancy {
    pathway: StoredPathway,
    records: u64,
    unique_patients: u64,
    breaches: Option<u64>,
}

impl From<&WaitingListDiscrepancy> for StoredWaitingListDiscrepancy {
    fn from(d: &WaitingListDiscrepancy) -> Self {
        Self {
            pathway: d.pathway.into(),
            records: d.records,
            unique_patients: d.unique_patients,
            breaches: d.breaches,
        }
    }
}

impl From<StoredWaitingListDiscrepancy> for WaitingListDiscrepancy {
    fn from(d: StoredWaitingListDiscrepancy) -> Self {
        WaitingListDiscrepancy {
            pathway: d.pathway.into(),
            records: d.records,
            unique_patients: d.unique_patients,
            breaches: d.breaches,
        }
    }
}

#[derive(Debug, Encode, Decode)]
struct StoredHarmCounts {
    none: u64,
    low: u64,
    moderate: u64,
    severe: u64,
    death: u64,
}

impl From<&HarmCounts> for StoredHarmCounts {
    fn from(h: &HarmCounts) -> Self {
        Self {
            none: h.none,
            low: h.low,
            moderate: h.moderate,
            severe: h.severe,
            death: h.death,
        }
    }
}

impl From<StoredHarmCounts> for HarmCounts {
    fn from(h: StoredHarmCounts) -> Self {
        HarmCounts {
            none: h.none,
            low: h.low,
            moderate: h.moderate,
            severe: h.severe,
            death: h.death,
            unknown: 0,
        }
    }
}

#[derive(Debug, Encode, Decode)]
struct StoredHarmReview {
    cases_reviewed: u64,
    harm: StoredHarmCounts,
}

impl From<&HarmReview> for StoredHarmReview {
    fn from(d: &HarmReview) -> Self {
        Self {
            cases_reviewed: d.cases_reviewed,
            harm: (&d.harm).into(),
        }
    }
}

impl From<StoredHarmReview> for HarmReview {
    fn from(d: StoredHarmReview) -> Self {
        HarmReview {
            cases_reviewed: d.cases_reviewed,
            harm: d.harm.into(),
            assessment: None,
        }
    }
}

#[derive(Debug, Encode, BorrowDecode)]
struct StoredReporting<'a> {
    dataset: StoredDataset,
    reason: Option<&'a str>,
}

impl<'a> From<&'a Reporting> for StoredReporting<'a> {
    fn from(d: &'a Reporting) -> Self {
        Self {
            dataset: d.dataset.into(),
            reason: d.reason.as_deref(),
        }
    }
}

impl From<StoredReporting<'_>> for Reporting {
    fn from(d: StoredReporting<'_>) -> Self {
        Reporting {
            dataset: d.dataset.into(),
            reason: owned(d.reason),
        }
    }
}

#[derive(Debug, Encode, BorrowDecode)]
struct StoredExtraCost<'a> {
    category: StoredCostCategory,
    amount_pence: i64,
    description: Option<&'a str>,
}

impl<'a> From<&'a ExtraCost> for StoredExtraCost<'a> {
    fn from(d: &'a ExtraCost) -> Self {
        Self {
            category: d.category.into(),
            amount_pence: d.amount_pence.get(),
            description: d.description.as_deref(),
        }
    }
}

impl From<StoredExtraCost<'_>> for ExtraCost {
    fn from(d: StoredExtraCost<'_>) -> Self {
        ExtraCost {
            category: d.category.into(),
            amount_pence: Pence(d.amount_pence),
            description: owned(d.description),
            period: None,
            period_from: None,
            period_to: None,
            to_date: None,
            as_at: None,
        }
    }
}

#[derive(Debug, Encode, Decode)]
struct StoredIncomeAtRisk {
    category: StoredIncomeCategory,
    amount_pence: i64,
    period: StoredPeriod,
}

impl From<&IncomeAtRisk> for StoredIncomeAtRisk {
    fn from(d: &IncomeAtRisk) -> Self {
        Self {
            category: d.category.into(),
            amount_pence: d.amount_pence.get(),
            period: schema1_period(d.period).into(),
        }
    }
}

impl From<StoredIncomeAtRisk> for IncomeAtRisk {
    fn from(d: StoredIncomeAtRisk) -> Self {
        IncomeAtRisk {
            category: d.category.into(),
            amount_pence: Pence(d.amount_pence),
            period: Some(d.period.into()),
            period_from: None,
            period_to: None,
            to_date: None,
            as_at: None,
        }
    }
}

#[derive(Debug, Encode, Decode)]
struct StoredIncomeRecovered {
    amount_pence: i64,
    period: StoredPeriod,
    category: Option<StoredIncomeCategory>,
}

impl From<&IncomeRecovered> for StoredIncomeRecovered {
    fn from(d: &IncomeRecovered) -> Self {
        Self {
            amount_pence: d.amount_pence.get(),
            period: schema1_period(d.period).into(),
            category: d.category.map(Into::into),
        }
    }
}

impl From<StoredIncomeRecovered> for IncomeRecovered {
    fn from(d: StoredIncomeRecovered) -> Self {
        IncomeRecovered {
            amount_pence: Pence(d.amount_pence),
            period: Some(d.period.into()),
            category: d.category.map(Into::into),
            period_from: None,
            period_to: None,
            to_date: None,
            as_at: None,
        }
    }
}

#[derive(Debug, Encode, BorrowDecode)]
struct StoredContractPenalty<'a> {
    commissioner: &'a str,
    amount_pence: i64,
    period: Option<StoredPeriod>,
}

impl<'a> From<&'a ContractPenalty> for StoredContractPenalty<'a> {
    fn from(d: &'a ContractPenalty) -> Self {
        Self {
            commissioner: &d.commissioner,
            amount_pence: d.amount_pence.get(),
            period: d.period.map(Into::into),
        }
    }
}

impl From<StoredContractPenalty<'_>> for ContractPenalty {
    fn from(d: StoredContractPenalty<'_>) -> Self {
        ContractPenalty {
            commissioner: d.commissioner.to_owned(),
            amount_pence: Pence(d.amount_pence),
            period: d.period.map(Into::into),
            period_from: None,
            period_to: None,
            to_date: None,
            as_at: None,
            state: None,
        }
    }
}

#[derive(Debug, Encode, BorrowDecode)]
struct StoredOutage<'a> {
    scope: &'a str,
    services: Vec<&'a str>,
    start: StoredTime,
    end: Option<StoredTime>,
    paper_fallback: bool,
    major_incident: bool,
}

impl<'a> From<&'a Outage> for StoredOutage<'a> {
    fn from(d: &'a Outage) -> Self {
        Self {
            scope: &d.scope,
            services: d.services.iter().map(String::as_str).collect(),
            start: d.start.into(),
            end: d.end.map(Into::into),
            paper_fallback: d.paper_fallback,
            major_incident: d.major_incident,
        }
    }
}

impl TryFrom<StoredOutage<'_>> for Outage {
    type Error = CodecError;
    fn try_from(d: StoredOutage<'_>) -> Result<Self, CodecError> {
        Ok(Outage {
            scope: d.scope.to_owned(),
            services: d.services.into_iter().map(str::to_owned).collect(),
            start: d.start.try_into_time("data.start")?,
            end: d.end.map(|t| t.try_into_time("data.end")).transpose()?,
            paper_fallback: d.paper_fallback,
            major_incident: d.major_incident,
        })
    }
}

#[derive(Debug, Encode, BorrowDecode)]
struct StoredSafetyIncident<'a> {
    local_ref: &'a str,
    harm: StoredHarm,
    serious_incident: bool,
    state: StoredIncidentState,
    description: Option<&'a str>,
}

impl<'a> From<&'a SafetyIncident> for StoredSafetyIncident<'a> {
    fn from(d: &'a SafetyIncident) -> Self {
        Self {
            local_ref: &d.local_ref,
            harm: d.harm.into(),
            serious_incident: d.serious_incident,
            state: d.state.into(),
            description: d.description.as_deref(),
        }
    }
}

impl From<StoredSafetyIncident<'_>> for SafetyIncident {
    fn from(d: StoredSafetyIncident<'_>) -> Self {
        SafetyIncident {
            local_ref: d.local_ref.to_owned(),
            harm: d.harm.into(),
            serious_incident: d.serious_incident,
            state: d.state.into(),
            description: owned(d.description),
        }
    }
}

#[derive(Debug, Encode, BorrowDecode)]
struct StoredFeatureDeferred<'a> {
    feature: &'a str,
    promised_for: Option<&'a str>,
    reason: Option<&'a str>,
}

impl<'a> From<&'a FeatureDeferred> for StoredFeatureDeferred<'a> {
    fn from(d: &'a FeatureDeferred) -> Self {
        Self {
            feature: &d.feature,
            promised_for: d.promised_for.as_deref(),
            reason: d.reason.as_deref(),
        }
    }
}

impl From<StoredFeatureDeferred<'_>> for FeatureDeferred {
    fn from(d: StoredFeatureDeferred<'_>) -> Self {
        FeatureDeferred {
            feature: d.feature.to_owned(),
            promised_for: owned(d.promised_for),
            reason: owned(d.reason),
        }
    }
}

/// The kind and its data. Encoded by hand as an explicit kind tag followed by the data, so the
/// tags below are the format, not the declaration order.
#[derive(Debug)]
enum StoredBodyV1<'a> {
    RolloutStatus(StoredRolloutStatus<'a>),
    PatientLost(StoredPatientLost<'a>),
    PatientTraced(StoredPatientTraced<'a>),
    WaitingListDiscrepancy(StoredWaitingListDiscrepancy),
    HarmReview(StoredHarmReview),
    ReportingSuspended(StoredReporting<'a>),
    ReportingResumed(StoredReporting<'a>),
    ExtraCost(StoredExtraCost<'a>),
    IncomeAtRisk(StoredIncomeAtRisk),
    IncomeRecovered(StoredIncomeRecovered),
    ContractPenalty(StoredContractPenalty<'a>),
    Outage(StoredOutage<'a>),
    SafetyIncident(StoredSafetyIncident<'a>),
    FeatureDeferred(StoredFeatureDeferred<'a>),
}

mod kind_tag {
    pub const ROLLOUT_STATUS: u8 = 1;
    pub const PATIENT_LOST: u8 = 2;
    pub const PATIENT_TRACED: u8 = 3;
    pub const WAITING_LIST_DISCREPANCY: u8 = 4;
    pub const HARM_REVIEW: u8 = 5;
    pub const REPORTING_SUSPENDED: u8 = 6;
    pub const REPORTING_RESUMED: u8 = 7;
    pub const EXTRA_COST: u8 = 8;
    pub const INCOME_AT_RISK: u8 = 9;
    pub const INCOME_RECOVERED: u8 = 10;
    pub const CONTRACT_PENALTY: u8 = 11;
    pub const OUTAGE: u8 = 12;
    pub const SAFETY_INCIDENT: u8 = 13;
    pub const FEATURE_DEFERRED: u8 = 14;
}

impl Encode for StoredBodyV1<'_> {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        use kind_tag::*;
        match self {
            Self::RolloutStatus(d) => (ROLLOUT_STATUS, d).encode(e),
            Self::PatientLost(d) => (PATIENT_LOST, d).encode(e),
            Self::PatientTraced(d) => (PATIENT_TRACED, d).encode(e),
            Self::WaitingListDiscrepancy(d) => (WAITING_LIST_DISCREPANCY, d).encode(e),
            Self::HarmReview(d) => (HARM_REVIEW, d).encode(e),
            Self::ReportingSuspended(d) => (REPORTING_SUSPENDED, d).encode(e),
            Self::ReportingResumed(d) => (REPORTING_RESUMED, d).encode(e),
            Self::ExtraCost(d) => (EXTRA_COST, d).encode(e),
            Self::IncomeAtRisk(d) => (INCOME_AT_RISK, d).encode(e),
            Self::IncomeRecovered(d) => (INCOME_RECOVERED, d).encode(e),
            Self::ContractPenalty(d) => (CONTRACT_PENALTY, d).encode(e),
            Self::Outage(d) => (OUTAGE, d).encode(e),
            Self::SafetyIncident(d) => (SAFETY_INCIDENT, d).encode(e),
            Self::FeatureDeferred(d) => (FEATURE_DEFERRED, d).encode(e),
        }
    }
}

impl<'de, C> BorrowDecode<'de, C> for StoredBodyV1<'de> {
    fn borrow_decode<D: BorrowDecoder<'de, Context = C>>(
        d: &mut D,
    ) -> Result<Self, BinDecodeError> {
        use kind_tag::*;
        let tag = u8::decode(d)?;
        Ok(match tag {
            ROLLOUT_STATUS => Self::RolloutStatus(BorrowDecode::borrow_decode(d)?),
            PATIENT_LOST => Self::PatientLost(BorrowDecode::borrow_decode(d)?),
            PATIENT_TRACED => Self::PatientTraced(BorrowDecode::borrow_decode(d)?),
            WAITING_LIST_DISCREPANCY => Self::WaitingListDiscrepancy(Decode::decode(d)?),
            HARM_REVIEW => Self::HarmReview(Decode::decode(d)?),
            REPORTING_SUSPENDED => Self::ReportingSuspended(BorrowDecode::borrow_decode(d)?),
            REPORTING_RESUMED => Self::ReportingResumed(BorrowDecode::borrow_decode(d)?),
            EXTRA_COST => Self::ExtraCost(BorrowDecode::borrow_decode(d)?),
            INCOME_AT_RISK => Self::IncomeAtRisk(Decode::decode(d)?),
            INCOME_RECOVERED => Self::IncomeRecovered(Decode::decode(d)?),
            CONTRACT_PENALTY => Self::ContractPenalty(BorrowDecode::borrow_decode(d)?),
            OUTAGE => Self::Outage(BorrowDecode::borrow_decode(d)?),
            SAFETY_INCIDENT => Self::SafetyIncident(BorrowDecode::borrow_decode(d)?),
            FEATURE_DEFERRED => Self::FeatureDeferred(BorrowDecode::borrow_decode(d)?),
            other => {
                return Err(BinDecodeError::OtherString(format!(
                    "unknown kind tag {other}"
                )));
            }
        })
    }
}

impl<'a> StoredBodyV1<'a> {
    fn from_body(b: &'a EventBody) -> Self {
        match b {
            EventBody::RolloutStatus(d) => Self::RolloutStatus(d.into()),
            EventBody::PatientLost(d) => Self::PatientLost(d.into()),
            EventBody::PatientTraced(d) => Self::PatientTraced(d.into()),
            EventBody::WaitingListDiscrepancy(d) => Self::WaitingListDiscrepancy(d.into()),
            EventBody::HarmReview(d) => Self::HarmReview(d.into()),
            EventBody::ReportingSuspended(d) => Self::ReportingSuspended(d.into()),
            EventBody::ReportingResumed(d) => Self::ReportingResumed(d.into()),
            EventBody::ExtraCost(d) => Self::ExtraCost(d.into()),
            EventBody::IncomeAtRisk(d) => Self::IncomeAtRisk(d.into()),
            EventBody::IncomeRecovered(d) => Self::IncomeRecovered(d.into()),
            EventBody::ContractPenalty(d) => Self::ContractPenalty(d.into()),
            EventBody::Outage(d) => Self::Outage(d.into()),
            EventBody::SafetyIncident(d) => Self::SafetyIncident(d.into()),
            EventBody::FeatureDeferred(d) => Self::FeatureDeferred(d.into()),
            EventBody::ProgrammeRoster(_)
            | EventBody::AssuranceClaim(_)
            | EventBody::UsageReported(_)
            | EventBody::Burden(_)
            | EventBody::RecoveryPlan(_)
            | EventBody::ActivityBaseline(_)
            | EventBody::ActivityActual(_)
            | EventBody::PtlValidation(_)
            | EventBody::TrustKey(_) => {
                panic!("format 1 has no {}: it is a schema-2 kind", b.kind())
            }
        }
    }
}

/// The month a schema-1 income event names (schema 1 requires it).
fn schema1_period(p: Option<Period>) -> Period {
    p.expect("a schema-1 income event names its period")
}

impl TryFrom<StoredBodyV1<'_>> for EventBody {
    type Error = CodecError;
    fn try_from(b: StoredBodyV1<'_>) -> Result<Self, CodecError> {
        Ok(match b {
            StoredBodyV1::RolloutStatus(d) => EventBody::RolloutStatus(d.into()),
            StoredBodyV1::PatientLost(d) => EventBody::PatientLost(d.into()),
            StoredBodyV1::PatientTraced(d) => EventBody::PatientTraced(d.into()),
            StoredBodyV1::WaitingListDiscrepancy(d) => EventBody::WaitingListDiscrepancy(d.into()),
            StoredBodyV1::HarmReview(d) => EventBody::HarmReview(d.into()),
            StoredBodyV1::ReportingSuspended(d) => EventBody::ReportingSuspended(d.into()),
            StoredBodyV1::ReportingResumed(d) => EventBody::ReportingResumed(d.into()),
            StoredBodyV1::ExtraCost(d) => EventBody::ExtraCost(d.into()),
            StoredBodyV1::IncomeAtRisk(d) => EventBody::IncomeAtRisk(d.into()),
            StoredBodyV1::IncomeRecovered(d) => EventBody::IncomeRecovered(d.into()),
            StoredBodyV1::ContractPenalty(d) => EventBody::ContractPenalty(d.into()),
            StoredBodyV1::Outage(d) => EventBody::Outage(d.try_into()?),
            StoredBodyV1::SafetyIncident(d) => EventBody::SafetyIncident(d.into()),
            StoredBodyV1::FeatureDeferred(d) => EventBody::FeatureDeferred(d.into()),
        })
    }
}

/// Owned copy of an optional borrowed string.
fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enum_tag_round_trips_and_tags_are_distinct() {
        // Proves each stored enum maps every model variant to a distinct tag and back.
        fn check<M: Copy + PartialEq + std::fmt::Debug, S: Copy>(
            all: &[M],
            to: impl Fn(M) -> S,
            tag: impl Fn(S) -> u8,
            from_tag: impl Fn(u8) -> Option<S>,
            back: impl Fn(S) -> M,
        ) {
            let mut seen = std::collections::HashSet::new();
            for &m in all {
                let t = tag(to(m));
                assert!(seen.insert(t), "tag {t} used twice");
                assert_eq!(back(from_tag(t).expect("tag decodes")), m);
            }
        }
        check(
            RolloutState::ALL,
            StoredRolloutState::from,
            StoredRolloutState::tag,
            StoredRolloutState::from_tag,
            RolloutState::from,
        );
        check(
            RolloutScope::ALL,
            StoredRolloutScope::from,
            StoredRolloutScope::tag,
            StoredRolloutScope::from_tag,
            RolloutScope::from,
        );
        check(
            Pathway::ALL,
            StoredPathway::from,
            StoredPathway::tag,
            StoredPathway::from_tag,
            Pathway::from,
        );
        check(
            TraceOutcome::ALL,
            StoredTraceOutcome::from,
            StoredTraceOutcome::tag,
            StoredTraceOutcome::from_tag,
            TraceOutcome::from,
        );
        check(
            Harm::ALL,
            StoredHarm::from,
            StoredHarm::tag,
            StoredHarm::from_tag,
            Harm::from,
        );
        check(
            Dataset::ALL,
            StoredDataset::from,
            StoredDataset::tag,
            StoredDataset::from_tag,
            Dataset::from,
        );
        check(
            CostCategory::ALL,
            StoredCostCategory::from,
            StoredCostCategory::tag,
            StoredCostCategory::from_tag,
            CostCategory::from,
        );
        check(
            IncomeCategory::ALL,
            StoredIncomeCategory::from,
            StoredIncomeCategory::tag,
            StoredIncomeCategory::from_tag,
            IncomeCategory::from,
        );
        check(
            IncidentState::ALL,
            StoredIncidentState::from,
            StoredIncidentState::tag,
            StoredIncidentState::from_tag,
            IncidentState::from,
        );
        check(
            &[Status::Reported, Status::Estimated, Status::Validated],
            StoredStatus::from,
            StoredStatus::tag,
            StoredStatus::from_tag,
            Status::from,
        );
        check(
            &[
                SourceType::BoardPaper,
                SourceType::Foi,
                SourceType::Press,
                SourceType::AuditReport,
                SourceType::System,
                SourceType::Manual,
            ],
            StoredSourceType::from,
            StoredSourceType::tag,
            StoredSourceType::from_tag,
            SourceType::from,
        );
    }

    #[test]
    fn unknown_version_and_trailing_bytes_are_refused() {
        // Proves the decoder names a version it does not know and refuses extra bytes.
        assert!(matches!(decode_record(&[]), Err(CodecError::Empty)));
        assert!(matches!(
            decode_record(&[9, 0, 0]),
            Err(CodecError::UnknownVersion(9))
        ));
        assert!(matches!(
            decode_record(&[RECORD_V1]),
            Err(CodecError::Bincode(_))
        ));
    }
}
