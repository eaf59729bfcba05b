//! Generators of valid envelopes of every kind, for property tests. Shared by this crate's
//! tests and, through `#[path]`, by the store's (wire -> model -> storage -> model) and the
//! fuzz targets' regression tests, so that there is one definition of "any valid event".

#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use golive_model::*;
use proptest::prelude::*;

/// Non-blank text of 1..=max characters, any non-control Unicode.
pub fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("\\PC{{1,{max}}}"))
        .unwrap()
        .prop_filter("blank", |s| !s.trim().is_empty())
}

pub fn opt_text(max: usize) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text(max))
}

/// An identifier that can never be an NHS number (it starts with a letter).
pub fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9._:-]{0,63}"
}

pub fn time() -> impl Strategy<Value = DateTime<Utc>> {
    // 1990-01-01 .. 2100-01-01, with sub-second parts of every precision.
    (
        631_152_000i64..4_102_444_800,
        prop_oneof![
            Just(0u32),
            (0u32..1000).prop_map(|ms| ms * 1_000_000),
            (0u32..1_000_000).prop_map(|us| us * 1000),
            0u32..1_000_000_000,
        ],
    )
        .prop_map(|(s, ns)| Utc.timestamp_opt(s, ns).unwrap())
}

pub fn pence() -> impl Strategy<Value = Pence> {
    prop_oneof![Just(0), Just(limits::PENCE_MAX), 0..=limits::PENCE_MAX].prop_map(Pence)
}

pub fn period() -> impl Strategy<Value = Period> {
    (1900u16..=2200, 1u8..=12).prop_map(|(year, month)| Period { year, month })
}

pub fn pick<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(all)
}

pub fn harm_counts() -> impl Strategy<Value = HarmCounts> {
    (0u64..1000, 0u64..1000, 0u64..1000, 0u64..100, 0u64..10).prop_map(
        |(none, low, moderate, severe, death)| HarmCounts {
            none,
            low,
            moderate,
            severe,
            death,
        },
    )
}

pub fn body() -> impl Strategy<Value = EventBody> {
    let rollout = (
        text(200),
        opt_text(200),
        proptest::option::of(ident()),
        pick(RolloutState::ALL),
        pick(RolloutScope::ALL),
        opt_text(2000),
    )
        .prop_map(|(programme, supplier, release, status, scope, reason)| {
            EventBody::RolloutStatus(RolloutStatus {
                programme,
                supplier,
                release,
                status,
                scope,
                reason,
            })
        });
    let lost = (ident(), pick(Pathway::ALL), opt_text(2000)).prop_map(|(r, pathway, via)| {
        EventBody::PatientLost(PatientLost {
            patient_ref: PatientRef(r),
            pathway,
            discovered_via: via,
        })
    });
    let traced =
        (ident(), pick(TraceOutcome::ALL), pick(Harm::ALL)).prop_map(|(r, outcome, harm)| {
            EventBody::PatientTraced(PatientTraced {
                patient_ref: PatientRef(r),
                outcome,
                harm,
            })
        });
    let discrepancy = (
        pick(Pathway::ALL),
        any::<u64>(),
        any::<u64>(),
        any::<Option<u64>>(),
    )
        .prop_map(|(pathway, a, b, c)| {
            let records = a.max(b);
            EventBody::WaitingListDiscrepancy(WaitingListDiscrepancy {
                pathway,
                records,
                unique_patients: a.min(b),
                breaches: c.map(|c| c % records.saturating_add(1).max(1)),
            })
        });
    let review = (harm_counts(), 0u64..1_000_000).prop_map(|(harm, extra)| {
        EventBody::HarmReview(HarmReview {
            cases_reviewed: harm.total() + extra,
            harm,
        })
    });
    let reporting = (pick(Dataset::ALL), opt_text(2000), any::<bool>()).prop_map(
        |(dataset, reason, resumed)| {
            let r = Reporting { dataset, reason };
            if resumed {
                EventBody::ReportingResumed(r)
            } else {
                EventBody::ReportingSuspended(r)
            }
        },
    );
    let cost = (pick(CostCategory::ALL), pence(), opt_text(2000)).prop_map(
        |(category, amount_pence, description)| {
            EventBody::ExtraCost(ExtraCost {
                category,
                amount_pence,
                description,
            })
        },
    );
    let at_risk = (pick(IncomeCategory::ALL), pence(), period()).prop_map(
        |(category, amount_pence, period)| {
            EventBody::IncomeAtRisk(IncomeAtRisk {
                category,
                amount_pence,
                period,
            })
        },
    );
    let recovered = (
        pence(),
        period(),
        proptest::option::of(pick(IncomeCategory::ALL)),
    )
        .prop_map(|(amount_pence, period, category)| {
            EventBody::IncomeRecovered(IncomeRecovered {
                amount_pence,
                period,
                category,
            })
        });
    let penalty = (text(200), pence(), proptest::option::of(period())).prop_map(
        |(commissioner, amount_pence, period)| {
            EventBody::ContractPenalty(ContractPenalty {
                commissioner,
                amount_pence,
                period,
            })
        },
    );
    let outage = (
        text(200),
        proptest::collection::vec(text(40), 0..=limits::SERVICES_MAX),
        time(),
        proptest::option::of(0i64..10_000_000_000),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(scope, services, start, ms, paper_fallback, major_incident)| {
                EventBody::Outage(Outage {
                    scope,
                    services,
                    start,
                    end: ms.map(|ms| start + chrono::Duration::milliseconds(ms)),
                    paper_fallback,
                    major_incident,
                })
            },
        );
    let incident = (
        ident(),
        pick(Harm::ALL),
        any::<bool>(),
        pick(IncidentState::ALL),
        opt_text(2000),
    )
        .prop_map(|(local_ref, harm, serious_incident, state, description)| {
            EventBody::SafetyIncident(SafetyIncident {
                local_ref,
                harm,
                serious_incident,
                state,
                description,
            })
        });
    let deferred =
        (text(200), opt_text(200), opt_text(2000)).prop_map(|(feature, promised_for, reason)| {
            EventBody::FeatureDeferred(FeatureDeferred {
                feature,
                promised_for,
                reason,
            })
        });
    prop_oneof![
        rollout,
        lost,
        traced,
        discrepancy,
        review,
        reporting,
        cost,
        at_risk,
        recovered,
        penalty,
        outage,
        incident,
        deferred,
    ]
}

pub fn envelope() -> impl Strategy<Value = Envelope> {
    let source = proptest::option::of((pick(&SOURCE_TYPES), text(2000)).prop_map(
        |(source_type, reference)| Source {
            source_type,
            reference,
        },
    ));
    (
        (
            any::<u128>(),
            "[A-Z][A-Z0-9]{2,4}",
            opt_text(64),
            ident(),
            any::<u64>(),
            time(),
            time(),
        ),
        body(),
        source,
        pick(&STATUSES),
        proptest::option::of(any::<u128>()),
    )
        .prop_filter_map(
            "supersedes itself",
            |((id, trust, site, collector, seq, occurred, recorded), body, source, status, sup)| {
                (sup != Some(id)).then(|| Envelope {
                    event_id: EventId::from_bytes(id.to_be_bytes()),
                    trust: OdsCode::parse(&trust).unwrap(),
                    site,
                    collector: CollectorId(collector),
                    collector_seq: seq,
                    occurred_at: occurred,
                    recorded_at: recorded,
                    schema: SCHEMA_VERSION,
                    body,
                    source,
                    status,
                    supersedes: sup.map(|s| EventId::from_bytes(s.to_be_bytes())),
                })
            },
        )
}

pub const SOURCE_TYPES: [SourceType; 6] = [
    SourceType::BoardPaper,
    SourceType::Foi,
    SourceType::Press,
    SourceType::AuditReport,
    SourceType::System,
    SourceType::Manual,
];
pub const STATUSES: [Status; 3] = [Status::Reported, Status::Estimated, Status::Validated];
