//! A generator of valid envelopes for the projections' property tests: a few trusts, every
//! kind, small value ranges so that patients, pathways and incidents collide, event times a
//! little out of order, and corrections of earlier events of the same trust.

use chrono::{DateTime, Duration, TimeZone, Utc};
use golive_model::*;
use proptest::prelude::*;

use super::{ev_at, id};
use crate::arb::{harm_counts_below, pick};

pub const TRUSTS: &[&str] = &["RAL", "RNJ", "RVL"];
const PROGRAMMES: &[&str] = &["London", "South"];
const PATIENTS: &[&str] = &["P1", "P2", "P3", "P4", "P5", "P6"];
const MONTHS: &[&str] = &["2008-06", "2008-07", "2008-08", "2008-09", "2008-10"];

/// One generated event before it is numbered.
#[derive(Debug, Clone)]
pub struct Spec {
    pub trust: usize,
    /// Minutes after the base time; events are mostly but not always in time order.
    pub minutes: i64,
    pub body: EventBody,
    /// If set, supersede an earlier event of the same trust (picked by this number).
    pub correct: Option<usize>,
    /// The envelope's status.
    pub status: Status,
    /// Whether its one source is `synthetic` (a simulated event).
    pub synthetic: bool,
}

pub fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2008, 6, 1, 0, 0, 0).unwrap()
}

fn patient() -> impl Strategy<Value = PatientRef> {
    pick(PATIENTS).prop_map(|p| PatientRef(p.to_owned()))
}

fn harm_counts() -> impl Strategy<Value = HarmCounts> {
    harm_counts_below(HarmCounts {
        none: 5,
        low: 5,
        moderate: 3,
        severe: 2,
        death: 2,
        unknown: 3,
    })
}

fn amount() -> impl Strategy<Value = Pence> {
    prop_oneof![0i64..1_000, 0i64..200_000_000, Just(1_000_000_000_000)].prop_map(Pence)
}

fn month() -> impl Strategy<Value = Period> {
    pick(MONTHS).prop_map(|m| Period::parse(m).unwrap())
}

/// A money period form: one month, a range, to date, or (when `none_ok`) none.
#[derive(Debug, Clone, Copy)]
pub enum SpanSpec {
    None,
    Month(Period),
    Months(Period, Period),
    ToDate(chrono::NaiveDate),
}

fn span(none_ok: bool) -> impl Strategy<Value = SpanSpec> {
    let day = (0i64..400).prop_map(|d| base().date_naive() + Duration::days(d));
    let range = (month(), 0usize..14).prop_map(|(from, n)| {
        let mut to = from;
        for _ in 0..n {
            to = if to.month == 12 {
                Period {
                    year: to.year + 1,
                    month: 1,
                }
            } else {
                Period {
                    year: to.year,
                    month: to.month + 1,
                }
            };
        }
        SpanSpec::Months(from, to)
    });
    let month_or_none = (month(), any::<bool>()).prop_map(move |(m, none)| {
        if none && none_ok {
            SpanSpec::None
        } else {
            SpanSpec::Month(m)
        }
    });
    prop_oneof![2 => month_or_none, 1 => range, 2 => day.prop_map(SpanSpec::ToDate)]
}

/// The period fields of a money kind: `period, period_from, period_to, to_date, as_at`.
pub type PeriodRefs<'a> = (
    &'a mut Option<Period>,
    &'a mut Option<Period>,
    &'a mut Option<Period>,
    &'a mut Option<bool>,
    &'a mut Option<chrono::NaiveDate>,
);

/// The money kinds' period fields, for [`with_span`].
pub trait Periods {
    fn periods(&mut self) -> PeriodRefs<'_>;
}

macro_rules! periods {
    ($($t:ty),+) => {$(
        impl Periods for $t {
            fn periods(&mut self) -> PeriodRefs<'_> {
                (&mut self.period, &mut self.period_from, &mut self.period_to, &mut self.to_date, &mut self.as_at)
            }
        }
    )+};
}
periods!(ExtraCost, IncomeAtRisk, IncomeRecovered, ContractPenalty);

/// `d` with exactly the period form `s`.
pub fn with_span<T: Periods>(mut d: T, s: SpanSpec) -> T {
    let (period, from, to, to_date, as_at) = d.periods();
    (*period, *from, *to, *to_date, *as_at) = (None, None, None, None, None);
    match s {
        SpanSpec::None => {}
        SpanSpec::Month(m) => *period = Some(m),
        SpanSpec::Months(a, b) => (*from, *to) = (Some(a), Some(b)),
        SpanSpec::ToDate(day) => (*to_date, *as_at) = (Some(true), Some(day)),
    }
    d
}

/// Any kind with valid data. Outage times are filled in from the event's time later.
pub fn body() -> impl Strategy<Value = EventBody> {
    let pathway = pick(&[Pathway::Rtt18wk, Pathway::Cancer2ww, Pathway::FollowUp]);
    prop_oneof![
        4 => (patient(), pathway.clone()).prop_map(|(patient_ref, pathway)| {
            EventBody::PatientLost(PatientLost { patient_ref, pathway, discovered_via: None })
        }),
        3 => (patient(), pick(TraceOutcome::ALL), pick(Harm::ALL)).prop_map(|(patient_ref, outcome, harm)| {
            EventBody::PatientTraced(PatientTraced { patient_ref, outcome, harm })
        }),
        1 => (pathway, 0u64..1000, 0u64..1000, proptest::option::of(0u64..1000)).prop_map(|(pathway, a, b, c)| {
            let records = a.max(b);
            EventBody::WaitingListDiscrepancy(WaitingListDiscrepancy {
                pathway,
                records,
                unique_patients: a.min(b),
                breaches: c.map(|c| c.min(records)),
            })
        }),
        1 => (harm_counts(), 0u64..5, proptest::option::of(pick(Assessment::ALL))).prop_map(|(harm, extra, assessment)| {
            EventBody::HarmReview(HarmReview { cases_reviewed: harm.total() + extra, harm, assessment })
        }),
        1 => pick(&[Dataset::Rtt, Dataset::Cancer]).prop_map(|dataset| {
            EventBody::ReportingSuspended(Reporting { dataset, reason: None })
        }),
        1 => pick(&[Dataset::Rtt, Dataset::Cancer]).prop_map(|dataset| {
            EventBody::ReportingResumed(Reporting { dataset, reason: None })
        }),
        2 => (pick(CostCategory::ALL), amount(), span(true)).prop_map(|(category, amount_pence, span)| {
            EventBody::ExtraCost(with_span(ExtraCost::new(category, amount_pence, None), span))
        }),
        2 => (pick(IncomeCategory::ALL), amount(), month(), span(false)).prop_map(|(category, amount_pence, period, span)| {
            EventBody::IncomeAtRisk(with_span(IncomeAtRisk::new(category, amount_pence, period), span))
        }),
        1 => (amount(), month(), proptest::option::of(pick(IncomeCategory::ALL)), span(false)).prop_map(|(amount_pence, period, category, span)| {
            EventBody::IncomeRecovered(with_span(IncomeRecovered::new(amount_pence, period, category), span))
        }),
        1 => (pick(&["NCL", "NEL"]), amount(), span(true), pick(PenaltyState::ALL)).prop_map(|(c, amount_pence, span, state)| {
            EventBody::ContractPenalty(ContractPenalty { state: Some(state), ..with_span(ContractPenalty::new(c.to_owned(), amount_pence, None), span) })
        }),
        3 => (pick(PROGRAMMES), pick(RolloutState::ALL), proptest::option::of(pick(&["R0", "LC1"])), prop::bool::weighted(0.2)).prop_map(|(p, status, release, programme_scope)| {
            EventBody::RolloutStatus(RolloutStatus {
                programme: p.to_owned(),
                supplier: Some("BT".to_owned()),
                release: release.map(str::to_owned),
                status,
                scope: if programme_scope { RolloutScope::Programme } else { RolloutScope::Trust },
                reason: None,
            })
        }),
        1 => (pick(&["trust", "site"]), prop::option::of(0i64..600), any::<bool>()).prop_map(|(scope, minutes, major)| {
            // Start and end are placeholders, made relative to the event time in `build`.
            let start = base();
            EventBody::Outage(Outage {
                scope: scope.to_owned(),
                services: vec![],
                start,
                end: minutes.map(|m| start + Duration::minutes(m)),
                paper_fallback: !major,
                major_incident: major,
            })
        }),
        2 => (pick(&["D1", "D2", "D3"]), pick(Harm::ALL), any::<bool>(), pick(&[IncidentState::Open, IncidentState::Closed])).prop_map(|(r, harm, serious_incident, state)| {
            EventBody::SafetyIncident(SafetyIncident { local_ref: r.to_owned(), harm, serious_incident, state, description: None })
        }),
        1 => (pick(&["theatres", "maternity", "A&E"]), proptest::option::of(pick(&["LC1", "2008-12"]))).prop_map(|(f, p)| {
            EventBody::FeatureDeferred(FeatureDeferred { feature: f.to_owned(), promised_for: p.map(str::to_owned), reason: None })
        }),
        1 => (pick(POINTS), 0u64..6_000, month()).prop_map(|(point_of_delivery, monthly_value, from)| {
            EventBody::ActivityBaseline(ActivityBaseline { point_of_delivery, monthly_value, baseline_from: from, baseline_to: from })
        }),
        2 => (pick(POINTS), prop_oneof![month().prop_map(|m| (Some(m), None)), (23u8..=44).prop_map(|w| (None, Some(IsoWeek { year: 2008, week: w })))], 0u64..6_000, pick(DataQuality::ALL))
            .prop_map(|(point_of_delivery, (period, week), value, data_quality)| {
                EventBody::ActivityActual(ActivityActual { point_of_delivery, period, week, value, data_quality })
            }),
        1 => (pick(&[Pathway::Rtt18wk, Pathway::FollowUp]), 0u64..3_000, 0u64..=100).prop_map(|(pathway, remaining, validated)| {
            EventBody::PtlValidation(PtlValidation {
                pathway, on_list: 3_000, validated, removed_duplicate: validated / 2, removed_treated: validated / 4,
                unknown_clock_start: 0, over_52_weeks: remaining / 10, remaining,
            })
        }),
    ]
}

/// Two points of delivery, so that reports collide.
const POINTS: &[PointOfDelivery] = &[PointOfDelivery::OutpatientFirst, PointOfDelivery::DayCase];

pub fn spec() -> impl Strategy<Value = Spec> {
    (
        0..TRUSTS.len(),
        0i64..60 * 24 * 200,
        body(),
        proptest::option::weighted(0.15, any::<usize>()),
        pick(Status::ALL),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(trust, minutes, body, correct, status, synthetic)| Spec {
            trust,
            minutes,
            body,
            correct,
            status,
            synthetic,
        })
}

/// Up to `max` events for the trusts in [`TRUSTS`].
pub fn specs(max: usize) -> impl Strategy<Value = Vec<Spec>> {
    proptest::collection::vec(spec(), 0..max)
}

/// Numbers the specs from 1 (the event id is the number), dates them, and resolves each
/// correction to an earlier event of the same trust. Every envelope validates.
pub fn build(specs: &[Spec]) -> Vec<Envelope> {
    let mut out: Vec<Envelope> = Vec::with_capacity(specs.len());
    for (i, s) in specs.iter().enumerate() {
        let when = base() + Duration::minutes(s.minutes);
        let mut body = s.body.clone();
        if let EventBody::Outage(o) = &mut body {
            let length = o.end.map(|e| e - o.start);
            o.start = when - Duration::minutes(30);
            o.end = length.map(|l| o.start + l);
        }
        let mut e = ev_at(i as u64 + 1, TRUSTS[s.trust], when, body);
        e.status = s.status;
        if s.synthetic {
            e = super::synthetic(e);
        }
        if let Some(pick) = s.correct {
            // A simulated event corrects only simulated events (a simulator its own).
            let earlier: Vec<&Envelope> = out
                .iter()
                .filter(|x| x.trust == e.trust && (!s.synthetic || x.is_synthetic()))
                .collect();
            if !earlier.is_empty() {
                e.supersedes = Some(earlier[pick % earlier.len()].event_id);
            }
        }
        e.validate().expect("generated events are valid");
        out.push(e);
    }
    out
}

/// One more event per trust, later than any generated one, so that two replays of different
/// histories share `as_at` and the set of trusts seen.
pub fn closing_events(first_number: u64) -> Vec<Envelope> {
    TRUSTS
        .iter()
        .enumerate()
        .map(|(i, trust)| {
            ev_at(
                first_number + i as u64,
                trust,
                base() + Duration::days(400),
                EventBody::FeatureDeferred(FeatureDeferred {
                    feature: "closing".to_owned(),
                    promised_for: None,
                    reason: None,
                }),
            )
        })
        .collect()
}

/// Merges the per-trust lists by taking, at each step, the next event of the trust that
/// `choices` names (among those with events left): each trust's own order is kept.
pub fn interleave(per_trust: &[Vec<Envelope>], choices: &[usize]) -> Vec<Envelope> {
    let mut next = vec![0usize; per_trust.len()];
    let total: usize = per_trust.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total);
    let mut c = choices.iter().cycle();
    while out.len() < total {
        let left: Vec<usize> = (0..per_trust.len())
            .filter(|t| next[*t] < per_trust[*t].len())
            .collect();
        let t = left[c.next().copied().unwrap_or(0) % left.len()];
        out.push(per_trust[t][next[t]].clone());
        next[t] += 1;
    }
    out
}

pub fn by_trust(events: &[Envelope]) -> Vec<Vec<Envelope>> {
    TRUSTS
        .iter()
        .map(|t| {
            events
                .iter()
                .filter(|e| e.trust.as_str() == *t)
                .cloned()
                .collect()
        })
        .collect()
}

/// The event id of number `n`, for readability in tests.
pub fn number(n: u64) -> EventId {
    id(n)
}
