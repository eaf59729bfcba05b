//! Generators of valid envelopes of every kind, for property tests: the model's own, the
//! store's (wire -> model -> storage -> model) and the projections' generator build on them, so
//! that there is one definition of "any valid event".

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

/// One of `all`, uniformly.
pub fn pick<T: Copy + std::fmt::Debug + 'static>(
    all: &'static [T],
) -> impl Strategy<Value = T> + Clone {
    proptest::sample::select(all)
}

pub fn harm_counts() -> impl Strategy<Value = HarmCounts> {
    harm_counts_below(HarmCounts {
        none: 1000,
        low: 1000,
        moderate: 1000,
        severe: 100,
        death: 10,
    })
}

/// Harm counts each below its bound in `max` (small bounds make histories collide).
pub fn harm_counts_below(max: HarmCounts) -> impl Strategy<Value = HarmCounts> {
    (
        0..max.none,
        0..max.low,
        0..max.moderate,
        0..max.severe,
        0..max.death,
    )
        .prop_map(|(none, low, moderate, severe, death)| HarmCounts {
            none,
            low,
            moderate,
            severe,
            death,
        })
}

/// A valid body of any kind.
pub fn body() -> impl Strategy<Value = EventBody> {
    prop_oneof![
        rollout_status(),
        patient_lost(),
        patient_traced(),
        waiting_list_discrepancy(),
        harm_review(),
        reporting(),
        extra_cost(),
        income_at_risk(),
        income_recovered(),
        contract_penalty(),
        outage(),
        safety_incident(),
        feature_deferred(),
    ]
}

fn rollout_status() -> impl Strategy<Value = EventBody> {
    (
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
        })
}

fn patient_lost() -> impl Strategy<Value = EventBody> {
    (ident(), pick(Pathway::ALL), opt_text(2000)).prop_map(|(r, pathway, via)| {
        EventBody::PatientLost(PatientLost {
            patient_ref: PatientRef(r),
            pathway,
            discovered_via: via,
        })
    })
}

fn patient_traced() -> impl Strategy<Value = EventBody> {
    (ident(), pick(TraceOutcome::ALL), pick(Harm::ALL)).prop_map(|(r, outcome, harm)| {
        EventBody::PatientTraced(PatientTraced {
            patient_ref: PatientRef(r),
            outcome,
            harm,
        })
    })
}

fn waiting_list_discrepancy() -> impl Strategy<Value = EventBody> {
    (
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
        })
}

fn harm_review() -> impl Strategy<Value = EventBody> {
    (harm_counts(), 0u64..1_000_000).prop_map(|(harm, extra)| {
        EventBody::HarmReview(HarmReview {
            cases_reviewed: harm.total() + extra,
            harm,
        })
    })
}

fn reporting() -> impl Strategy<Value = EventBody> {
    (pick(Dataset::ALL), opt_text(2000), any::<bool>()).prop_map(|(dataset, reason, resumed)| {
        let r = Reporting { dataset, reason };
        if resumed {
            EventBody::ReportingResumed(r)
        } else {
            EventBody::ReportingSuspended(r)
        }
    })
}

fn extra_cost() -> impl Strategy<Value = EventBody> {
    (pick(CostCategory::ALL), pence(), opt_text(2000)).prop_map(
        |(category, amount_pence, description)| {
            EventBody::ExtraCost(ExtraCost {
                category,
                amount_pence,
                description,
            })
        },
    )
}

fn income_at_risk() -> impl Strategy<Value = EventBody> {
    (pick(IncomeCategory::ALL), pence(), period()).prop_map(|(category, amount_pence, period)| {
        EventBody::IncomeAtRisk(IncomeAtRisk {
            category,
            amount_pence,
            period,
        })
    })
}

fn income_recovered() -> impl Strategy<Value = EventBody> {
    (
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
        })
}

fn contract_penalty() -> impl Strategy<Value = EventBody> {
    (text(200), pence(), proptest::option::of(period())).prop_map(
        |(commissioner, amount_pence, period)| {
            EventBody::ContractPenalty(ContractPenalty {
                commissioner,
                amount_pence,
                period,
            })
        },
    )
}

fn outage() -> impl Strategy<Value = EventBody> {
    (
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
        )
}

fn safety_incident() -> impl Strategy<Value = EventBody> {
    (
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
        })
}

fn feature_deferred() -> impl Strategy<Value = EventBody> {
    (text(200), opt_text(200), opt_text(2000)).prop_map(|(feature, promised_for, reason)| {
        EventBody::FeatureDeferred(FeatureDeferred {
            feature,
            promised_for,
            reason,
        })
    })
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
