//! Builders of valid envelopes for the projections' tests, and a tiny ledger that numbers them
//! and finds what they supersede, as the real one does before `Projections::apply`.
//!
//! This kit does not depend on golive-projections: its unit tests use the kit too, and through
//! a dependency cycle they would see a second copy of its types (the kit's `Projections` would
//! not be theirs). Each test crate [`fold`]s events into its own `Projections` instead.

#[cfg(feature = "proptest")]
pub mod generate;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use golive_model::*;

/// A time from `YYYY-MM-DD` (09:00 UTC) or a full RFC 3339 UTC time.
pub fn t(s: &str) -> DateTime<Utc> {
    if s.len() == 10 {
        let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("YYYY-MM-DD");
        return Utc.from_utc_datetime(&d.and_hms_opt(9, 0, 0).expect("09:00"));
    }
    DateTime::parse_from_rfc3339(s)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

pub fn id(n: u64) -> EventId {
    let mut b = [0u8; 16];
    b[8..].copy_from_slice(&n.to_be_bytes());
    // Version 4, variant 1, so it prints as a plausible UUID.
    b[6] = 0x40;
    b[8] |= 0x80;
    EventId::from_bytes(b)
}

pub fn ods(s: &str) -> OdsCode {
    OdsCode::parse(s).expect("ODS code")
}

pub fn period(s: &str) -> Period {
    Period::parse(s).expect("YYYY-MM")
}

/// Event number `n` (its id) at `trust`, happening at `at`. Panics if it would not validate.
pub fn ev(n: u64, trust: &str, at: &str, body: EventBody) -> Envelope {
    ev_at(n, trust, t(at), body)
}

/// As [`ev`], with the time given as a value.
pub fn ev_at(n: u64, trust: &str, when: DateTime<Utc>, body: EventBody) -> Envelope {
    let e = Envelope {
        event_id: id(n),
        trust: ods(trust),
        site: None,
        collector: CollectorId(format!("{}-test", trust.to_lowercase())),
        collector_seq: n,
        occurred_at: when,
        recorded_at: when,
        schema: SCHEMA_2,
        body,
        sources: vec![Source {
            source_type: SourceType::System,
            reference: "golive-testkit".to_owned(),
            published_at: None,
            url: None,
        }],
        status: Status::Reported,
        supersedes: None,
        relates_to: None,
        attribution: None,
    };
    e.validate().expect("test events are valid");
    e
}

/// `e`, marked as correcting event number `old`.
pub fn correcting(mut e: Envelope, old: u64) -> Envelope {
    e.supersedes = Some(id(old));
    e.validate().expect("test events are valid");
    e
}

pub fn lost(patient: &str, pathway: Pathway) -> EventBody {
    EventBody::PatientLost(PatientLost {
        patient_ref: PatientRef(patient.to_owned()),
        pathway,
        discovered_via: None,
    })
}

pub fn traced(patient: &str, outcome: TraceOutcome, harm: Harm) -> EventBody {
    EventBody::PatientTraced(PatientTraced {
        patient_ref: PatientRef(patient.to_owned()),
        outcome,
        harm,
    })
}

pub fn waiting_list(
    pathway: Pathway,
    records: u64,
    unique: u64,
    breaches: Option<u64>,
) -> EventBody {
    EventBody::WaitingListDiscrepancy(WaitingListDiscrepancy {
        pathway,
        records,
        unique_patients: unique,
        breaches,
    })
}

pub fn harm_review(cases: u64, harm: HarmCounts) -> EventBody {
    EventBody::HarmReview(HarmReview {
        cases_reviewed: cases,
        harm,
        assessment: None,
    })
}

pub fn suspended(dataset: Dataset) -> EventBody {
    EventBody::ReportingSuspended(Reporting {
        dataset,
        reason: Some("data cannot be trusted".to_owned()),
    })
}

pub fn resumed(dataset: Dataset) -> EventBody {
    EventBody::ReportingResumed(Reporting {
        dataset,
        reason: None,
    })
}

pub fn cost(category: CostCategory, pence: i64) -> EventBody {
    EventBody::ExtraCost(ExtraCost::new(category, Pence(pence), None))
}

pub fn at_risk(category: IncomeCategory, pence: i64, month: &str) -> EventBody {
    EventBody::IncomeAtRisk(IncomeAtRisk::new(category, Pence(pence), period(month)))
}

pub fn recovered(pence: i64, month: &str, category: Option<IncomeCategory>) -> EventBody {
    EventBody::IncomeRecovered(IncomeRecovered::new(Pence(pence), period(month), category))
}

pub fn penalty(commissioner: &str, pence: i64, month: Option<&str>) -> EventBody {
    let mut d = ContractPenalty::new(commissioner.to_owned(), Pence(pence), month.map(period));
    d.state = Some(PenaltyState::Levied);
    EventBody::ContractPenalty(d)
}

pub fn rollout(programme: &str, status: RolloutState, release: Option<&str>) -> EventBody {
    EventBody::RolloutStatus(RolloutStatus {
        programme: programme.to_owned(),
        supplier: Some("BT".to_owned()),
        release: release.map(str::to_owned),
        status,
        scope: RolloutScope::Trust,
        reason: None,
    })
}

pub fn programme_status(programme: &str, status: RolloutState, reason: &str) -> EventBody {
    EventBody::RolloutStatus(RolloutStatus {
        programme: programme.to_owned(),
        supplier: None,
        release: None,
        status,
        scope: RolloutScope::Programme,
        reason: Some(reason.to_owned()),
    })
}

/// A `programme_roster` (schema 2): the trusts `programme` deploys to.
pub fn roster(programme: &str, trusts: &[&str]) -> EventBody {
    EventBody::ProgrammeRoster(ProgrammeRoster {
        programme: programme.to_owned(),
        trusts: trusts.iter().map(|t| ods(t)).collect(),
        reason: None,
    })
}

pub fn outage(scope: &str, start: &str, end: Option<&str>) -> EventBody {
    EventBody::Outage(Outage {
        scope: scope.to_owned(),
        services: vec!["pas".to_owned()],
        start: t(start),
        end: end.map(t),
        paper_fallback: true,
        major_incident: false,
    })
}

pub fn incident(local_ref: &str, harm: Harm, serious: bool, state: IncidentState) -> EventBody {
    EventBody::SafetyIncident(SafetyIncident {
        local_ref: local_ref.to_owned(),
        harm,
        serious_incident: serious,
        state,
        description: None,
    })
}

pub fn deferred(feature: &str, promised_for: Option<&str>) -> EventBody {
    EventBody::FeatureDeferred(FeatureDeferred {
        feature: feature.to_owned(),
        promised_for: promised_for.map(str::to_owned),
        reason: Some("not ready".to_owned()),
    })
}

/// A stand-in for the ledger: numbers events from 1 and looks up what they supersede.
#[derive(Default)]
pub struct Ledger {
    pub log: Vec<Envelope>,
    by_id: BTreeMap<EventId, usize>,
}

impl Ledger {
    pub fn append(&mut self, e: Envelope) -> (u64, &Envelope, Option<&Envelope>) {
        self.by_id.insert(e.event_id, self.log.len());
        self.log.push(e);
        let i = self.log.len() - 1;
        self.entry(i)
    }

    /// `(seq, event, superseded)` of the `i`-th event.
    pub fn entry(&self, i: usize) -> (u64, &Envelope, Option<&Envelope>) {
        let e = &self.log[i];
        let old = e
            .supersedes
            .and_then(|s| self.by_id.get(&s))
            .map(|j| &self.log[*j]);
        (i as u64 + 1, e, old)
    }
}

/// Numbers `events` from 1 in this order, as the ledger would, and folds each into `state`
/// with `apply` (given its seq and the event it supersedes, if that came before it): with
/// `Projections::new()` and `Projections::apply`, the projections of these events.
pub fn fold<P>(
    events: impl IntoIterator<Item = Envelope>,
    mut state: P,
    mut apply: impl FnMut(&mut P, u64, &Envelope, Option<&Envelope>),
) -> P {
    let mut ledger = Ledger::default();
    for e in events {
        let (seq, e, old) = ledger.append(e);
        apply(&mut state, seq, e, old);
    }
    state
}

/// An `assurance_claim` about the event's trust, by a minister.
pub fn claim(kind: ClaimType) -> EventBody {
    EventBody::AssuranceClaim(AssuranceClaim {
        claimant: Claimant {
            claimant_type: ClaimantType::Minister,
            name: "a minister".to_owned(),
        },
        claim: kind,
        statement: "all is well".to_owned(),
        scope: RolloutScope::Trust,
        programme: None,
    })
}

pub fn usage(metric: UsageMetric, value: u64, month: &str) -> EventBody {
    EventBody::UsageReported(UsageReported {
        metric,
        value,
        period: period(month),
    })
}

/// A `burden` of `month` with `extra_staff` and, when given, a task-time ratio.
pub fn burden(month: &str, extra_staff: Option<u64>, ratio_pct: Option<u64>) -> EventBody {
    let mut b = Burden::new(period(month));
    b.extra_staff = extra_staff;
    b.task_time_ratio_pct = ratio_pct;
    b.task = ratio_pct.map(|_| "outpatient booking".to_owned());
    EventBody::Burden(b)
}

pub fn plan(name: &str, state: PlanState) -> EventBody {
    EventBody::RecoveryPlan(RecoveryPlan {
        plan: name.to_owned(),
        state,
        problems: Some(22),
        due: None,
        reason: None,
    })
}

/// An `activity_baseline` of `monthly_value` at `pod`, measured over `from..=to`.
pub fn baseline(pod: PointOfDelivery, monthly_value: u64, from: &str, to: &str) -> EventBody {
    EventBody::ActivityBaseline(ActivityBaseline {
        point_of_delivery: pod,
        monthly_value,
        baseline_from: period(from),
        baseline_to: period(to),
    })
}

/// An `activity_actual` of `value` at `pod` in `month` (complete data).
pub fn activity(pod: PointOfDelivery, value: u64, month: &str) -> EventBody {
    EventBody::ActivityActual(ActivityActual {
        point_of_delivery: pod,
        period: Some(period(month)),
        week: None,
        value,
        data_quality: DataQuality::Complete,
    })
}

/// An `activity_actual` of `value` at `pod` in ISO week `week` (`YYYY-Www`).
pub fn activity_week(pod: PointOfDelivery, value: u64, week: &str) -> EventBody {
    EventBody::ActivityActual(ActivityActual {
        point_of_delivery: pod,
        period: None,
        week: Some(IsoWeek::parse(week).expect("YYYY-Www")),
        value,
        data_quality: DataQuality::Complete,
    })
}

/// A `ptl_validation` of `pathway` with `remaining` records still to validate.
pub fn ptl(pathway: Pathway, on_list: u64, validated: u64, remaining: u64) -> EventBody {
    EventBody::PtlValidation(PtlValidation {
        pathway,
        on_list,
        validated,
        removed_duplicate: validated / 10,
        removed_treated: validated / 10,
        unknown_clock_start: 0,
        over_52_weeks: 0,
        remaining,
    })
}

/// `e`, recorded at `recorded` (it happened at its `occurred_at`).
pub fn recorded(mut e: Envelope, recorded: &str) -> Envelope {
    e.recorded_at = t(recorded);
    e
}

/// `e`, with only a synthetic source.
pub fn synthetic(mut e: Envelope) -> Envelope {
    e.sources = vec![Source {
        source_type: SourceType::Synthetic,
        reference: "SYNTHETIC: test".to_owned(),
        published_at: None,
        url: None,
    }];
    e
}

/// Folds `events` (numbered from 1 in this order) once per cut: each fold takes the events its
/// `admits` says, and a correction removes its target only if the cut admits the target too,
/// as `golive_ledger::projections_cuts` does with the store. Generic over the projection type
/// for the reason [`fold`] is.
pub fn fold_cuts<P: Clone>(
    events: &[Envelope],
    cuts: usize,
    admits: impl Fn(usize, &Envelope) -> bool,
    empty: P,
    mut apply: impl FnMut(&mut P, u64, &Envelope, Option<&Envelope>),
) -> Vec<P> {
    let mut ledger = Ledger::default();
    let mut out = vec![empty; cuts];
    for e in events {
        let (seq, e, old) = ledger.append(e.clone());
        for (i, p) in out.iter_mut().enumerate() {
            if admits(i, e) {
                apply(p, seq, e, old.filter(|o| admits(i, o)));
            }
        }
    }
    out
}
