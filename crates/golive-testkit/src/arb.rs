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
        unknown: 0,
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
            unknown: 0,
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
    (ident(), pick(TraceOutcome::ALL), pick(HARMS_SCHEMA1)).prop_map(|(r, outcome, harm)| {
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
            assessment: None,
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
    (pick(COST_CATEGORIES_SCHEMA1), pence(), opt_text(2000)).prop_map(
        |(category, amount_pence, description)| {
            EventBody::ExtraCost(ExtraCost::new(category, amount_pence, description))
        },
    )
}

fn income_at_risk() -> impl Strategy<Value = EventBody> {
    (pick(IncomeCategory::ALL), pence(), period()).prop_map(|(category, amount_pence, period)| {
        EventBody::IncomeAtRisk(IncomeAtRisk::new(category, amount_pence, period))
    })
}

fn income_recovered() -> impl Strategy<Value = EventBody> {
    (
        pence(),
        period(),
        proptest::option::of(pick(IncomeCategory::ALL)),
    )
        .prop_map(|(amount_pence, period, category)| {
            EventBody::IncomeRecovered(IncomeRecovered::new(amount_pence, period, category))
        })
}

fn contract_penalty() -> impl Strategy<Value = EventBody> {
    (text(200), pence(), proptest::option::of(period())).prop_map(
        |(commissioner, amount_pence, period)| {
            EventBody::ContractPenalty(ContractPenalty::new(commissioner, amount_pence, period))
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
        pick(HARMS_SCHEMA1),
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

/// Valid events of either schema.
pub fn envelope() -> impl Strategy<Value = Envelope> {
    prop_oneof![envelope_schema1(), envelope_schema2()]
}

/// Valid schema-1 events: what the first release accepted.
pub fn envelope_schema1() -> impl Strategy<Value = Envelope> {
    let source = proptest::option::of((pick(&SOURCE_TYPES), text(2000)).prop_map(
        |(source_type, reference)| Source {
            source_type,
            reference,
            published_at: None,
            url: None,
        },
    ));
    (
        (
            any::<u128>(),
            // Not `Z...`: fictional codes are for synthetic events only.
            "[A-Y][A-Z0-9]{2,4}",
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
                    schema: SCHEMA_1,
                    body,
                    sources: upcast_schema1_source(source),
                    status,
                    supersedes: sup.map(|s| EventId::from_bytes(s.to_be_bytes())),
                    relates_to: None,
                    attribution: None,
                })
            },
        )
}

fn schema2_source() -> impl Strategy<Value = Source> {
    (
        pick(SourceType::ALL),
        // Three sources of at most 660 characters stay within SOURCES_CHARS_MAX.
        text(600),
        proptest::option::of((1900i32..=2200, 1u32..=12, 1u32..=28)),
        proptest::option::of("https?://[a-z]{1,20}\\.[a-z]{2,3}/[a-z0-9/]{0,30}"),
    )
        .prop_map(|(source_type, reference, day, url)| Source {
            source_type,
            reference,
            published_at: day.map(|(y, m, d)| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()),
            url,
        })
}

/// A money body's period in one of the schema-2 forms, chosen by `form`; a penalty's state.
fn schema2_body(mut body: EventBody, form: u8, from: Period, months: u32, day: u32) -> EventBody {
    // The month index is clamped, not the year alone: 2200-05 plus ten months is 2200-12,
    // never 2200-03 (a `period_to` before its `period_from`, which validation rightly refuses).
    let to = Period::parse(&{
        let i =
            (u32::from(from.year) * 12 + u32::from(from.month) - 1 + months).min(2200 * 12 + 11);
        format!("{:04}-{:02}", i / 12, i % 12 + 1)
    })
    .unwrap_or(from);
    let as_at =
        chrono::NaiveDate::from_ymd_opt(i32::from(from.year), u32::from(from.month), day).unwrap();
    macro_rules! set {
        ($d:expr) => {{
            let d = $d;
            match form % 4 {
                0 => d.period = Some(from),
                1 => {
                    d.period = None;
                    (d.period_from, d.period_to) = (Some(from), Some(to));
                }
                2 => {
                    d.period = None;
                    (d.to_date, d.as_at) = (Some(true), Some(as_at));
                }
                _ => {}
            }
        }};
    }
    match &mut body {
        EventBody::ExtraCost(d) => set!(d),
        EventBody::IncomeAtRisk(d) => set!(d),
        EventBody::IncomeRecovered(d) => set!(d),
        EventBody::ContractPenalty(d) => {
            d.state = Some(
                *[
                    PenaltyState::Threatened,
                    PenaltyState::Levied,
                    PenaltyState::Waived,
                ]
                .get(usize::from(form) % 3)
                .unwrap(),
            );
            set!(d)
        }
        EventBody::HarmReview(d) => {
            d.assessment = [
                None,
                Some(Assessment::ActualHarm),
                Some(Assessment::RiskOfHarm),
            ][usize::from(form) % 3];
            d.harm.unknown = u64::from(form);
            d.cases_reviewed += u64::from(form);
        }
        EventBody::SafetyIncident(d) if form.is_multiple_of(5) => d.harm = Harm::Unknown,
        EventBody::PatientTraced(d) if form.is_multiple_of(5) => d.harm = Harm::Unknown,
        _ => {}
    }
    if let EventBody::ExtraCost(d) = &mut body
        && form.is_multiple_of(7)
    {
        d.category = CostCategory::DeploymentCharge;
    }
    body
}

fn roster() -> impl Strategy<Value = EventBody> {
    (
        text(200),
        proptest::collection::btree_set("[A-Z][A-Z0-9]{2,4}", 1..20),
        opt_text(2000),
    )
        .prop_map(|(programme, trusts, reason)| {
            EventBody::ProgrammeRoster(ProgrammeRoster {
                programme,
                trusts: trusts.iter().map(|t| OdsCode::parse(t).unwrap()).collect(),
                reason,
            })
        })
}

/// The claims kinds (schema 2 only): claims of both scopes, usage, burden, recovery plans.
pub fn claims_body() -> impl Strategy<Value = EventBody> {
    let claim = (
        pick(ClaimantType::ALL),
        text(200),
        pick(ClaimType::ALL),
        text(2000),
        proptest::option::of(text(200)),
    )
        .prop_map(|(claimant_type, name, claim, statement, programme)| {
            EventBody::AssuranceClaim(AssuranceClaim {
                claimant: Claimant {
                    claimant_type,
                    name,
                },
                claim,
                statement,
                scope: if programme.is_some() {
                    RolloutScope::Programme
                } else {
                    RolloutScope::Trust
                },
                programme,
            })
        });
    let usage =
        (pick(UsageMetric::ALL), 0u64..=100, period()).prop_map(|(metric, value, period)| {
            EventBody::UsageReported(UsageReported {
                metric,
                value,
                period,
            })
        });
    let burden = (
        period(),
        proptest::collection::vec(proptest::option::of(0u64..=limits::FIGURE_MAX), 8),
        1u64..=limits::TASK_TIME_RATIO_PCT_MAX,
        text(200),
    )
        .prop_map(|(period, figures, ratio, task)| {
            let mut b = Burden::new(period);
            let f = |i: usize| figures[i];
            b.extra_staff_hours = f(0);
            b.extra_staff = f(1);
            b.agency_fte_tenths = f(2);
            b.overtime_hours = f(3);
            b.paper_fallback_hours = f(5);
            b.workarounds = f(6);
            b.validation_fte_tenths = f(7);
            // A ratio (with its task) when drawn, and always when nothing else was.
            if f(4).is_some() || b.figures().iter().all(|(_, v)| v.is_none()) {
                b.task_time_ratio_pct = Some(ratio);
                b.task = Some(task);
            }
            EventBody::Burden(b)
        });
    let plan = (
        text(200),
        pick(PlanState::ALL),
        proptest::option::of(0u64..1000),
        proptest::option::of((0i64..20_000).prop_map(|d| {
            chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Duration::days(d)
        })),
        opt_text(2000),
    )
        .prop_map(|(plan, state, problems, due, reason)| {
            EventBody::RecoveryPlan(RecoveryPlan {
                plan,
                state,
                problems,
                due,
                reason,
            })
        });
    prop_oneof![claim, usage, burden, plan]
}

/// An ISO week from 1990 to 2099 (every week that exists, W53 included).
pub fn iso_week() -> impl Strategy<Value = IsoWeek> {
    (0i64..40_000).prop_map(|d| {
        IsoWeek::of(
            chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Duration::days(d),
        )
    })
}

/// The recovery kinds (schema 2 only): baselines, activity by month or week, PTL validations.
pub fn recovery_body() -> impl Strategy<Value = EventBody> {
    let baseline = (
        pick(PointOfDelivery::ALL),
        prop_oneof![Just(0u64), Just(limits::FIGURE_MAX), 0..=limits::FIGURE_MAX],
        period(),
        0u32..limits::SPAN_MONTHS_MAX,
    )
        .prop_map(|(point_of_delivery, monthly_value, from, months)| {
            let index = u32::from(from.year) * 12 + u32::from(from.month) - 1 + months;
            let to = Period {
                year: (index / 12).min(2200) as u16,
                month: (index % 12) as u8 + 1,
            };
            EventBody::ActivityBaseline(ActivityBaseline {
                point_of_delivery,
                monthly_value,
                baseline_from: from,
                baseline_to: to.max(from),
            })
        });
    let actual = (
        pick(PointOfDelivery::ALL),
        prop_oneof![
            period().prop_map(|p| (Some(p), None)),
            iso_week().prop_map(|w| (None, Some(w)))
        ],
        0..=limits::FIGURE_MAX,
        pick(DataQuality::ALL),
    )
        .prop_map(|(point_of_delivery, (period, week), value, data_quality)| {
            EventBody::ActivityActual(ActivityActual {
                point_of_delivery,
                period,
                week,
                value,
                data_quality,
            })
        });
    let ptl = (
        pick(Pathway::ALL),
        0u64..=limits::FIGURE_MAX,
        proptest::collection::vec(0u64..=1000, 6),
    )
        .prop_map(|(pathway, on_list, parts)| {
            // Each part a share (per mille) of what it is a part of, so every check holds.
            let of = |whole: u64, per_mille: u64| {
                whole / 1000 * per_mille + whole % 1000 * per_mille / 1000
            };
            let validated = of(on_list, parts[0]);
            let removed_duplicate = of(validated, parts[1] / 2);
            let removed_treated = of(validated, parts[2] / 2);
            EventBody::PtlValidation(PtlValidation {
                pathway,
                on_list,
                validated,
                removed_duplicate,
                removed_treated,
                unknown_clock_start: of(on_list, parts[3]),
                over_52_weeks: of(on_list, parts[4]),
                remaining: of(on_list, parts[5]),
            })
        });
    prop_oneof![baseline, actual, ptl]
}

/// `trust_key` changes, their keys named `TRUST` (the envelope's trust is put in after).
fn trust_key_body() -> impl Strategy<Value = EventBody> {
    let key =
        (any::<u32>(), "[A-Za-z0-9+/]{43}=").prop_map(|(id, b64)| format!("TRUST+{id:08x}+{b64}"));
    (
        pick(golive_model::TrustKeyAction::ALL),
        key.clone(),
        key,
        631_152_000i64..4_102_444_800,
        proptest::option::of(pick(golive_model::SignaturesRule::ALL)),
    )
        .prop_map(|(action, key, old, at, signatures)| {
            use golive_model::TrustKeyAction as A;
            let revoked_at =
                (action != A::Add).then(|| chrono::DateTime::from_timestamp(at, 0).unwrap());
            let replaces = (action == A::Rotate && old != key).then_some(old);
            let action = if action == A::Rotate && replaces.is_none() {
                A::Add
            } else {
                action
            };
            let revoked_at = if action == A::Add { None } else { revoked_at };
            EventBody::TrustKey(golive_model::TrustKeyChange {
                action,
                key,
                replaces,
                revoked_at,
                signatures,
            })
        })
}

/// A generated `trust_key` change made valid for its envelope: keys named after the trust,
/// and not a correction.
fn fit_trust_key(e: &mut Envelope) {
    let trust = e.trust.as_str().to_owned();
    if let EventBody::TrustKey(d) = &mut e.body {
        d.key = d.key.replacen("TRUST", &trust, 1);
        d.replaces = d.replaces.as_ref().map(|k| k.replacen("TRUST", &trust, 1));
        e.supersedes = None;
    }
}

/// Valid schema-2 events: plural graded sources, links, attribution, every period form.
pub fn envelope_schema2() -> impl Strategy<Value = Envelope> {
    (
        envelope_schema1(),
        prop_oneof![8 => body(), 1 => roster(), 2 => claims_body(), 2 => recovery_body(), 1 => trust_key_body()],
        (any::<u8>(), period(), 0u32..=119, 1u32..=28),
        proptest::collection::vec(schema2_source(), 1..=3),
        proptest::option::of((any::<u128>(), pick(Relation::ALL))),
        proptest::option::of((text(200), pick(Stance::ALL))),
    )
        .prop_filter_map(
            "relates to itself",
            |(mut e, body, (form, from, months, day), sources, rel, attr)| {
                e.schema = SCHEMA_2;
                e.body = schema2_body(body, form, from, months, day);
                e.sources = sources;
                e.relates_to = rel.map(|(id, relation)| RelatesTo {
                    event_id: EventId::from_bytes(id.to_be_bytes()),
                    relation,
                });
                e.attribution = attr.map(|(by, stance)| Attribution { by, stance });
                fit_trust_key(&mut e);
                (e.relates_to.as_ref().map(|r| r.event_id) != Some(e.event_id)).then_some(e)
            },
        )
}

/// The harm levels schema 1 knows (`unknown`, schema 2, sorts first).
pub const HARMS_SCHEMA1: &[Harm] = Harm::ALL.split_at(1).1;
/// The cost categories schema 1 knows (`deployment_charge` is schema 2).
pub const COST_CATEGORIES_SCHEMA1: &[CostCategory] = CostCategory::ALL.split_at(6).0;

pub const SOURCE_TYPES: [SourceType; 6] = [
    SourceType::BoardPaper,
    SourceType::Foi,
    SourceType::Press,
    SourceType::AuditReport,
    SourceType::System,
    SourceType::Manual,
];
pub const STATUSES: [Status; 3] = [Status::Reported, Status::Estimated, Status::Validated];
