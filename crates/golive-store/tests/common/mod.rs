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
            },
        }),
        EventBody::ReportingSuspended(Reporting {
            dataset: Dataset::Rtt,
            reason: Some("data quality after go-live".into()),
        }),
        EventBody::ReportingResumed(Reporting {
            dataset: Dataset::Rtt,
            reason: None,
        }),
        EventBody::ExtraCost(ExtraCost {
            category: CostCategory::Validation,
            amount_pence: Pence(720_000_000),
            description: Some("validation staff".into()),
        }),
        EventBody::IncomeAtRisk(IncomeAtRisk {
            category: IncomeCategory::Unbilled,
            amount_pence: Pence(1_234_567),
            period: Period {
                year: 2008,
                month: 11,
            },
        }),
        EventBody::IncomeRecovered(IncomeRecovered {
            amount_pence: Pence(99),
            period: Period {
                year: 2009,
                month: 2,
            },
            category: Some(IncomeCategory::CorrectableDataEntry),
        }),
        EventBody::ContractPenalty(ContractPenalty {
            commissioner: "NHS London".into(),
            amount_pence: Pence(5_000_000),
            period: None,
        }),
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
        schema: SCHEMA_VERSION,
        body,
        source: None,
        status: Status::Reported,
        supersedes: None,
    }
}

pub fn incoming(e: Envelope) -> Incoming {
    Incoming::new(e, None, t(1_700_000_000, 0))
}
