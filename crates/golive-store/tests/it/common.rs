//! Shared builders for the store's integration tests: fixed envelopes of every kind.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use golive_model::*;
use golive_store::Incoming;

pub fn t(secs: i64, nanos: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, nanos).expect("valid test time")
}

pub fn id(n: u128) -> EventId {
    EventId::from_bytes(n.to_be_bytes())
}

pub fn trust(s: &str) -> OdsCode {
    OdsCode::parse(s).expect("valid ODS code")
}

/// One body of each kind, with every optional field filled in on some and absent on others.
pub fn bodies() -> Vec<EventBody> {
    vec![
        EventBody::RolloutStatus(RolloutStatus {
            programme: "NPfIT London".into(),
            supplier: Some("BT".into()),
            release: Some("LC3".into()),
            status: RolloutState::GoLive,
            scope: RolloutScope::Trust,
            reason: None,
        }),
        EventBody::PatientLost(PatientLost {
            patient_ref: PatientRef("P-000123".into()),
            pathway: Pathway::Rtt18wk,
            discovered_via: Some("validation sweep".into()),
        }),
        EventBody::PatientTraced(PatientTraced {
            patient_ref: PatientRef("P-000123".into()),
            outcome: TraceOutcome::StillWaiting,
            harm: Harm::Moderate,
        }),
        EventBody::WaitingListDiscrepancy(WaitingListDiscrepancy {
            pathway: Pathway::Cancer2ww,
            records: 12_000,
            unique_patients: 9_500,
            breaches: Some(300),
        }),
        EventBody::HarmReview(HarmReview {
            cases_reviewed: 100,
            harm: HarmCounts {
                none: 80,
                low: 12,
                moderate: 5,
                severe: 2,
                death: 1,
                unknown: 0,
            },
            assessment: None,
        }),
        EventBody::ReportingSuspended(Reporting {
            dataset: Dataset::Rtt,
            reason: Some("data quality after go-live".into()),
        }),
        EventBody::ReportingResumed(Reporting {
            dataset: Dataset::Rtt,
            reason: None,
        }),
        EventBody::ExtraCost(ExtraCost::new(
            CostCategory::Validation,
            Pence(720_000_000),
            Some("validation staff".into()),
        )),
        EventBody::IncomeAtRisk(IncomeAtRisk::new(
            IncomeCategory::Unbilled,
            Pence(1_234_567),
            Period {
                year: 2008,
                month: 11,
            },
        )),
        EventBody::IncomeRecovered(IncomeRecovered::new(
            Pence(99),
            Period {
                year: 2009,
                month: 2,
            },
            Some(IncomeCategory::CorrectableDataEntry),
        )),
        EventBody::ContractPenalty(ContractPenalty::new(
            "NHS London".into(),
            Pence(5_000_000),
            None,
        )),
        EventBody::Outage(Outage {
            scope: "pas".into(),
            services: vec!["PAS".into(), "theatres".into()],
            start: t(1_234_567_890, 0),
            end: Some(t(1_234_578_690, 500_000_000)),
            paper_fallback: true,
            major_incident: false,
        }),
        EventBody::SafetyIncident(SafetyIncident {
            local_ref: "DATIX-4711".into(),
            harm: Harm::Severe,
            serious_incident: true,
            state: IncidentState::Open,
            description: None,
        }),
        EventBody::FeatureDeferred(FeatureDeferred {
            feature: "e-prescribing".into(),
            promised_for: Some("LC1".into()),
            reason: Some("supplier capacity".into()),
        }),
    ]
}

/// A plain patient_lost event from `trust`/`collector`, numbered `n`.
pub fn lost(n: u128, trust_code: &str, collector: &str, collector_seq: u64) -> Envelope {
    envelope(
        n,
        trust_code,
        collector,
        collector_seq,
        EventBody::PatientLost(PatientLost {
            patient_ref: PatientRef(format!("P-{n:06}")),
            pathway: Pathway::Rtt18wk,
            discovered_via: None,
        }),
    )
}

pub fn envelope(
    n: u128,
    trust_code: &str,
    collector: &str,
    collector_seq: u64,
    body: EventBody,
) -> Envelope {
    Envelope {
        event_id: id(n),
        trust: trust(trust_code),
        site: None,
        collector: CollectorId(collector.into()),
        collector_seq,
        occurred_at: t(1_200_000_000 + n as i64, 0),
        recorded_at: t(1_200_000_100 + n as i64, 0),
        schema: SCHEMA_1,
        body,
        sources: vec![],
        status: Status::Reported,
        supersedes: None,
        relates_to: None,
        attribution: None,
    }
}

pub fn incoming(e: Envelope) -> Incoming {
    Incoming::new(e, None, t(1_700_000_000, 0))
}

/// The on-disk layout, written out again here (not imported) so that tests state what is on
/// disk: one tree `ledger`; `L`+seq -> chunk of framed records, `I`+seq -> id block, `H` ->
/// head, `C`+collector -> high, `S`+id -> superseded-by seq.
pub mod raw {
    pub const TREE: &str = "ledger";

    pub fn seq_key(prefix: u8, seq: u64) -> Vec<u8> {
        let mut k = vec![prefix];
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }

    /// The records of a chunk: each framed as a u32 big-endian length, then the bytes.
    pub fn split_chunk(mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
            out.push(bytes[4..4 + len].to_vec());
            bytes = &bytes[4 + len..];
        }
        out
    }

    pub fn join_chunk(records: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            out.extend_from_slice(&(r.len() as u32).to_be_bytes());
            out.extend_from_slice(r);
        }
        out
    }

    /// Runs `f` on the raw `ledger` tree (or `name`) of the closed store in `dir`. Like
    /// `Store::open`, it waits for sled's background threads of the closed store to let go.
    pub fn with_tree(dir: &std::path::Path, name: &str, f: impl FnOnce(&sled::Tree)) {
        with_db(dir, |db| f(&db.open_tree(name).unwrap()));
    }

    /// Runs `f` on the raw sled database of the closed store in `dir` (see [`with_tree`]).
    pub fn with_db(dir: &std::path::Path, f: impl FnOnce(&sled::Db)) {
        let db = golive_testkit::wait_for(
            std::time::Duration::from_secs(60),
            "the raw open of the closed store",
            || sled::open(dir),
        );
        f(&db);
        db.flush().unwrap();
    }

    /// First seqs of the log chunks, ascending.
    pub fn chunk_starts(tree: &sled::Tree) -> Vec<u64> {
        tree.scan_prefix(b"L")
            .keys()
            .map(|k| u64::from_be_bytes(k.unwrap()[1..].try_into().unwrap()))
            .collect()
    }

    /// The first seq and the records of the chunk holding `seq`.
    pub fn chunk_of(tree: &sled::Tree, seq: u64) -> (u64, Vec<Vec<u8>>) {
        let (k, v) = tree
            .range(seq_key(b'L', 0)..=seq_key(b'L', seq))
            .next_back()
            .expect("a chunk at or before seq")
            .unwrap();
        let first = u64::from_be_bytes(k[1..].try_into().unwrap());
        (first, split_chunk(&v))
    }

    /// Rewrites the chunk holding `seq` after `f` changed its records; `f` gets the index of
    /// `seq` in the chunk.
    pub fn edit_chunk(tree: &sled::Tree, seq: u64, f: impl FnOnce(&mut Vec<Vec<u8>>, usize)) {
        let (first, mut records) = chunk_of(tree, seq);
        f(&mut records, (seq - first) as usize);
        tree.insert(seq_key(b'L', first), join_chunk(&records))
            .unwrap();
    }
}
