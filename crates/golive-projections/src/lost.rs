//! Lost patients: open cases, traced cases, days to trace, waiting-list discrepancies, harm
//! reviews and reporting suspensions, per trust.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use golive_model::{
    Assessment, Dataset, EventBody, EventId, Harm, HarmCounts, HarmReview, Pathway, PatientRef,
    TraceOutcome,
};
use serde::{Deserialize, Serialize};

use crate::timeline::Timeline;
use crate::week;

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// What one event said about one patient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PatientFact {
    Lost { pathway: Pathway },
    Traced { outcome: TraceOutcome, harm: Harm },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct WaitingListFact {
    pub pathway: Pathway,
    pub records: u64,
    pub unique_patients: u64,
    pub breaches: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ReportingFact {
    pub dataset: Dataset,
    pub change: ReportingChangeKind,
    pub reason: Option<String>,
}

/// Totals of harm reviews: plain sums, so removing a review subtracts it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HarmReviewTotals {
    /// Number of `harm_review` events.
    pub reviews: u64,
    pub cases_reviewed: u64,
    pub harm: HarmCounts,
}

impl HarmReviewTotals {
    fn add(&mut self, o: &HarmReviewTotals) {
        self.reviews = self.reviews.saturating_add(o.reviews);
        self.cases_reviewed = self.cases_reviewed.saturating_add(o.cases_reviewed);
        self.harm.add(&o.harm);
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct LostState {
    /// Every `patient_lost` and `patient_traced` fact, per patient; each patient's cases are
    /// recomputed from their own facts, so a correction touches one patient only.
    pub patients: BTreeMap<PatientRef, Timeline<PatientFact>>,
    pub waiting_lists: Timeline<WaitingListFact>,
    /// Reviews with `assessment: actual_harm` (or none).
    pub harm_reviews: HarmReviewTotals,
    /// Reviews with `assessment: risk_of_harm`.
    pub risk_of_harm: HarmReviewTotals,
    pub reporting: Timeline<ReportingFact>,
}

impl HarmReviewTotals {
    /// Adds (or, with `add` false, subtracts) one review.
    fn change(&mut self, d: &HarmReview, add: bool) {
        if add {
            self.reviews = self.reviews.saturating_add(1);
            self.cases_reviewed = self.cases_reviewed.saturating_add(d.cases_reviewed);
            self.harm.add(&d.harm);
        } else {
            self.reviews = self.reviews.saturating_sub(1);
            self.cases_reviewed = self.cases_reviewed.saturating_sub(d.cases_reviewed);
            self.harm.sub(&d.harm);
        }
    }
}

impl LostState {
    /// The totals a review counts in: harm found, or the risk of it (never summed together).
    fn reviews_of(&mut self, d: &HarmReview) -> &mut HarmReviewTotals {
        match d.assessment() {
            Assessment::ActualHarm => &mut self.harm_reviews,
            Assessment::RiskOfHarm => &mut self.risk_of_harm,
        }
    }

    pub fn add(&mut self, seq: u64, at: DateTime<Utc>, id: EventId, body: &EventBody) {
        match body {
            EventBody::PatientLost(d) => self
                .patients
                .entry(d.patient_ref.clone())
                .or_default()
                .insert(at, seq, id, PatientFact::Lost { pathway: d.pathway }),
            EventBody::PatientTraced(d) => self
                .patients
                .entry(d.patient_ref.clone())
                .or_default()
                .insert(
                    at,
                    seq,
                    id,
                    PatientFact::Traced {
                        outcome: d.outcome,
                        harm: d.harm,
                    },
                ),
            EventBody::WaitingListDiscrepancy(d) => self.waiting_lists.insert(
                at,
                seq,
                id,
                WaitingListFact {
                    pathway: d.pathway,
                    records: d.records,
                    unique_patients: d.unique_patients,
                    breaches: d.breaches,
                },
            ),
            EventBody::HarmReview(d) => self.reviews_of(d).change(d, true),
            EventBody::ReportingSuspended(d) | EventBody::ReportingResumed(d) => {
                let change = if matches!(body, EventBody::ReportingSuspended(_)) {
                    ReportingChangeKind::Suspended
                } else {
                    ReportingChangeKind::Resumed
                };
                self.reporting.insert(
                    at,
                    seq,
                    id,
                    ReportingFact {
                        dataset: d.dataset,
                        change,
                        reason: d.reason.clone(),
                    },
                );
            }
            _ => {}
        }
    }

    pub fn remove(&mut self, at: DateTime<Utc>, id: EventId, body: &EventBody) {
        match body {
            EventBody::PatientLost(golive_model::PatientLost { patient_ref, .. })
            | EventBody::PatientTraced(golive_model::PatientTraced { patient_ref, .. }) => {
                if let Some(tl) = self.patients.get_mut(patient_ref) {
                    tl.remove(at, id);
                    if tl.is_empty() {
                        self.patients.remove(patient_ref);
                    }
                }
            }
            EventBody::WaitingListDiscrepancy(_) => {
                self.waiting_lists.remove(at, id);
            }
            EventBody::HarmReview(d) => self.reviews_of(d).change(d, false),
            EventBody::ReportingSuspended(_) | EventBody::ReportingResumed(_) => {
                self.reporting.remove(at, id);
            }
            _ => {}
        }
    }

    /// Folds each patient's facts in event-time order into cases.
    fn cases(&self) -> Cases {
        let mut out = Cases::default();
        for (patient_ref, facts) in &self.patients {
            // At most one open case per pathway: a second `patient_lost` on a pathway where the
            // patient is already lost is the same loss reported twice.
            let mut open: Vec<OpenCase> = Vec::new();
            for e in facts.iter() {
                match e.data {
                    PatientFact::Lost { pathway } => {
                        if open.iter().any(|c| c.pathway == pathway) {
                            out.duplicate_lost_reports += 1;
                        } else {
                            open.push(OpenCase {
                                patient_ref: patient_ref.clone(),
                                pathway,
                                since: e.at,
                                event_id: e.event_id,
                                seq: e.seq,
                            });
                        }
                    }
                    PatientFact::Traced { outcome, harm } => {
                        // Tracing finds the patient: every open case of theirs closes.
                        let days = open
                            .iter()
                            .map(|c| c.since)
                            .min()
                            .map(|since| u64::try_from((e.at - since).num_days()).unwrap_or(0));
                        for c in open.drain(..) {
                            out.intervals.push((c.since, Some(e.at)));
                        }
                        out.traces.push(Trace {
                            outcome,
                            harm,
                            days,
                        });
                    }
                }
            }
            for c in open {
                out.intervals.push((c.since, None));
                out.open.push(c);
            }
        }
        out.open.sort_by_key(|a| (a.since, a.seq));
        out
    }
}

#[derive(Default)]
struct Cases {
    open: Vec<OpenCase>,
    traces: Vec<Trace>,
    /// `(opened, closed)` of every case, for the weekly series.
    intervals: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    duplicate_lost_reports: u64,
}

struct Trace {
    outcome: TraceOutcome,
    harm: Harm,
    /// Whole days from the earliest open case to the trace; `None` with no open case.
    days: Option<u64>,
}

// ---------------------------------------------------------------------------------------------
// View
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportingChangeKind {
    Suspended,
    Resumed,
}

/// A lost patient not yet traced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpenCase {
    pub patient_ref: PatientRef,
    pub pathway: Pathway,
    /// `occurred_at` of the `patient_lost` event.
    pub since: DateTime<Utc>,
    pub event_id: EventId,
    #[serde(skip)]
    seq: u64,
}

/// Traced patients: one per `patient_traced` event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TracedSummary {
    pub count: u64,
    /// Traced with no open case in the ledger: lost before the ledger started.
    pub without_open_case: u64,
    pub by_outcome: BTreeMap<TraceOutcome, u64>,
    pub by_harm: HarmCounts,
}

impl Default for TracedSummary {
    fn default() -> Self {
        Self {
            count: 0,
            without_open_case: 0,
            by_outcome: TraceOutcome::ALL.iter().map(|o| (*o, 0)).collect(),
            by_harm: HarmCounts::default(),
        }
    }
}

impl TracedSummary {
    fn add(&mut self, o: &TracedSummary) {
        self.count += o.count;
        self.without_open_case += o.without_open_case;
        for (k, v) in &o.by_outcome {
            *self.by_outcome.entry(*k).or_default() += v;
        }
        self.by_harm.add(&o.by_harm);
    }
}

/// Whole days from loss to trace, over traces that closed an open case.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DaysToTrace {
    pub count: u64,
    pub total_days: u64,
    pub max_days: Option<u64>,
    /// Rounded down.
    pub mean_days: Option<u64>,
    /// The lower median (the middle value; of the two middle values, the smaller).
    pub median_days: Option<u64>,
}

impl DaysToTrace {
    fn of(mut days: Vec<u64>) -> Self {
        days.sort_unstable();
        let count = days.len() as u64;
        let total_days = days.iter().fold(0u64, |a, d| a.saturating_add(*d));
        Self {
            count,
            total_days,
            max_days: days.last().copied(),
            mean_days: (count > 0).then(|| total_days / count),
            median_days: (!days.is_empty()).then(|| days[(days.len() - 1) / 2]),
        }
    }
}

/// The latest waiting-list report on one pathway.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WaitingListFigures {
    pub records: u64,
    pub unique_patients: u64,
    /// `records - unique_patients`.
    pub duplicates: u64,
    pub breaches: Option<u64>,
    pub reported_at: DateTime<Utc>,
    pub event_id: EventId,
}

/// Waiting-list figures summed over trusts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WaitingListTotals {
    pub records: u64,
    pub unique_patients: u64,
    pub duplicates: u64,
    /// Sum over the reports that gave breaches.
    pub breaches: u64,
}

/// A dataset whose reporting is suspended now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suspension {
    pub since: DateTime<Utc>,
    pub reason: Option<String>,
    pub event_id: EventId,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportingChange {
    pub occurred_at: DateTime<Utc>,
    pub dataset: Dataset,
    pub change: ReportingChangeKind,
    pub reason: Option<String>,
    pub event_id: EventId,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportingView {
    /// Datasets suspended now, and since when.
    pub suspended: BTreeMap<Dataset, Suspension>,
    /// Every suspension and resumption, in event-time order.
    pub history: Vec<ReportingChange>,
}

/// Open lost patients at the end of one ISO week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeekCount {
    /// ISO week, e.g. `2009-W05`.
    pub week: String,
    /// Its Monday.
    pub week_start: NaiveDate,
    pub open: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrustLostPatients {
    pub open_count: u64,
    pub open_by_pathway: BTreeMap<Pathway, u64>,
    /// Oldest first.
    pub open_cases: Vec<OpenCase>,
    pub traced: TracedSummary,
    pub days_to_trace: DaysToTrace,
    /// `patient_lost` for a patient already lost on that pathway.
    pub duplicate_lost_reports: u64,
    /// Latest report per pathway.
    pub waiting_lists: BTreeMap<Pathway, WaitingListFigures>,
    /// Reviews of harm found (`assessment: actual_harm`).
    pub harm_reviews: HarmReviewTotals,
    /// Reviews of the risk of harm, kept apart from harm found.
    pub risk_of_harm: HarmReviewTotals,
    pub reporting: ReportingView,
    /// From the week of the first loss to the week of the projection's `as_at`.
    pub weekly_open: Vec<WeekCount>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LostPatientsTotals {
    pub trusts: u64,
    pub open_count: u64,
    pub open_by_pathway: BTreeMap<Pathway, u64>,
    pub traced: TracedSummary,
    pub days_to_trace: DaysToTrace,
    pub duplicate_lost_reports: u64,
    pub waiting_lists: BTreeMap<Pathway, WaitingListTotals>,
    pub harm_reviews: HarmReviewTotals,
    pub risk_of_harm: HarmReviewTotals,
    /// Trust-and-dataset pairs suspended now.
    pub datasets_suspended: u64,
    pub weekly_open: Vec<WeekCount>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LostPatientsView {
    pub as_at: Option<DateTime<Utc>>,
    pub trusts: BTreeMap<String, TrustLostPatients>,
    pub total: LostPatientsTotals,
}

fn per_pathway<T: Default>() -> BTreeMap<Pathway, T> {
    Pathway::ALL.iter().map(|p| (*p, T::default())).collect()
}

/// Trust section plus the raw days, which the totals need for a true median.
pub(crate) fn trust_view(
    s: &LostState,
    as_at: Option<DateTime<Utc>>,
) -> (TrustLostPatients, Vec<u64>) {
    let cases = s.cases();
    let mut open_by_pathway = per_pathway::<u64>();
    for c in &cases.open {
        *open_by_pathway.entry(c.pathway).or_default() += 1;
    }
    let (traced, days) = traced_summary(&cases.traces);
    let waiting_lists = latest_waiting_lists(&s.waiting_lists);
    let reporting = reporting_view(&s.reporting);
    let weekly_open = weekly(&cases.intervals, as_at);
    let view = TrustLostPatients {
        open_count: cases.open.len() as u64,
        open_by_pathway,
        open_cases: cases.open,
        traced,
        days_to_trace: DaysToTrace::of(days.clone()),
        duplicate_lost_reports: cases.duplicate_lost_reports,
        waiting_lists,
        harm_reviews: s.harm_reviews.clone(),
        risk_of_harm: s.risk_of_harm.clone(),
        reporting,
        weekly_open,
    };
    (view, days)
}

/// Counts of the traces, and the days to trace of those that closed an open case.
fn traced_summary(traces: &[Trace]) -> (TracedSummary, Vec<u64>) {
    let mut traced = TracedSummary::default();
    let mut days = Vec::new();
    for t in traces {
        traced.count += 1;
        *traced.by_outcome.entry(t.outcome).or_default() += 1;
        traced.by_harm.bump(t.harm);
        match t.days {
            Some(d) => days.push(d),
            None => traced.without_open_case += 1,
        }
    }
    (traced, days)
}

/// The latest waiting-list report per pathway.
fn latest_waiting_lists(
    reports: &Timeline<WaitingListFact>,
) -> BTreeMap<Pathway, WaitingListFigures> {
    let mut waiting_lists = BTreeMap::new();
    for e in reports.iter() {
        // Later entries are later in event time, so the last one per pathway wins.
        waiting_lists.insert(
            e.data.pathway,
            WaitingListFigures {
                records: e.data.records,
                unique_patients: e.data.unique_patients,
                duplicates: e.data.records.saturating_sub(e.data.unique_patients),
                breaches: e.data.breaches,
                reported_at: e.at,
                event_id: e.event_id,
            },
        );
    }
    waiting_lists
}

/// The datasets suspended now (each since its first suspension) and every change, in order.
pub(crate) fn reporting_view(reports: &Timeline<ReportingFact>) -> ReportingView {
    let mut reporting = ReportingView::default();
    for e in reports.iter() {
        match e.data.change {
            ReportingChangeKind::Suspended => {
                // A repeated suspension keeps the original start.
                reporting
                    .suspended
                    .entry(e.data.dataset)
                    .or_insert(Suspension {
                        since: e.at,
                        reason: e.data.reason.clone(),
                        event_id: e.event_id,
                    });
            }
            ReportingChangeKind::Resumed => {
                reporting.suspended.remove(&e.data.dataset);
            }
        }
        reporting.history.push(ReportingChange {
            occurred_at: e.at,
            dataset: e.data.dataset,
            change: e.data.change,
            reason: e.data.reason.clone(),
            event_id: e.event_id,
        });
    }
    reporting
}

fn weekly(
    intervals: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
    as_at: Option<DateTime<Utc>>,
) -> Vec<WeekCount> {
    let (Some(first), Some(as_at)) = (intervals.iter().map(|i| i.0).min(), as_at) else {
        return Vec::new();
    };
    week::open_at_week_end(
        week::week_start(first),
        week::week_start(as_at.max(first)),
        intervals.iter().copied(),
    )
    .into_iter()
    .map(|(monday, open)| WeekCount {
        week: week::week_label(monday),
        week_start: monday,
        open,
    })
    .collect()
}

pub(crate) fn view<'a>(
    trusts: impl Iterator<Item = (&'a str, &'a LostState)>,
    as_at: Option<DateTime<Utc>>,
) -> LostPatientsView {
    let mut out = BTreeMap::new();
    let mut total = LostPatientsTotals {
        trusts: 0,
        open_count: 0,
        open_by_pathway: per_pathway(),
        traced: TracedSummary::default(),
        days_to_trace: DaysToTrace::default(),
        duplicate_lost_reports: 0,
        waiting_lists: BTreeMap::new(),
        harm_reviews: HarmReviewTotals::default(),
        risk_of_harm: HarmReviewTotals::default(),
        datasets_suspended: 0,
        weekly_open: Vec::new(),
    };
    let mut all_days = Vec::new();
    let mut weekly_total: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    for (code, s) in trusts {
        let (v, days) = trust_view(s, as_at);
        all_days.extend(days);
        total.trusts += 1;
        total.open_count += v.open_count;
        for (p, n) in &v.open_by_pathway {
            *total.open_by_pathway.entry(*p).or_default() += n;
        }
        total.traced.add(&v.traced);
        total.duplicate_lost_reports += v.duplicate_lost_reports;
        for (p, w) in &v.waiting_lists {
            let t = total.waiting_lists.entry(*p).or_default();
            t.records = t.records.saturating_add(w.records);
            t.unique_patients = t.unique_patients.saturating_add(w.unique_patients);
            t.duplicates = t.duplicates.saturating_add(w.duplicates);
            t.breaches = t.breaches.saturating_add(w.breaches.unwrap_or(0));
        }
        total.harm_reviews.add(&v.harm_reviews);
        total.risk_of_harm.add(&v.risk_of_harm);
        total.datasets_suspended += v.reporting.suspended.len() as u64;
        for w in &v.weekly_open {
            *weekly_total.entry(w.week_start).or_default() += w.open;
        }
        out.insert(code.to_owned(), v);
    }
    total.days_to_trace = DaysToTrace::of(all_days);
    total.weekly_open = weekly_total
        .into_iter()
        .map(|(monday, open)| WeekCount {
            week: week::week_label(monday),
            week_start: monday,
            open,
        })
        .collect();
    LostPatientsView {
        as_at,
        trusts: out,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_to_trace_uses_the_lower_median_and_a_floored_mean() {
        // Proves the integer summary: days 1, 4, 10, 30 give total 45, max 30, mean 11 (45/4
        // rounded down) and median 4 (the smaller of the two middle values).
        let d = DaysToTrace::of(vec![30, 1, 10, 4]);
        assert_eq!(d.count, 4);
        assert_eq!(d.total_days, 45);
        assert_eq!(d.max_days, Some(30));
        assert_eq!(d.mean_days, Some(11));
        assert_eq!(d.median_days, Some(4));
        assert_eq!(DaysToTrace::of(vec![]), DaysToTrace::default());
    }
}
