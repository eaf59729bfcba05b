//! Go-live impact and recovery: each trust's activity against its pre-go-live baseline, the
//! shortfall priced with a tariff table beside the income said to be at risk, and the
//! waiting-list validation burn-down.
//!
//! **State.** Per trust, apart from every other view's state (as the claims are, so that the
//! recovery kinds change no other view, nor the projection's `as_at`): the `activity_baseline`,
//! `activity_actual` and `ptl_validation` facts in event-time order. A correction removes the
//! corrected report's fact and nothing else, so every figure is what it would have been had the
//! first report never been made.
//!
//! **The rules of the view** (docs/API.md, "Recovery", says the same for readers):
//! - The baseline of a point of delivery is its latest `activity_baseline` (event time, then
//!   seq).
//! - A month's value is its latest monthly report; without one, its weekly reports: the weeks
//!   whose Thursday falls in the month (the ISO rule that gives a week its year), their mean per
//!   day times the month's days, rounded down. The latest report of each week stands.
//! - The months run from the go-live month (the trust's first `go_live`; the first month
//!   reported when it has none) to the latest month any of the trust's activity reports covers.
//!   A month in that range without a report of the point of delivery is **dark**: it shows the
//!   last reported value carried forward, `carried: true`; never zero, never counted in the
//!   shortfall, never recovered.
//! - `pct_of_baseline` is `value / baseline`, in tenths of a percent rounded down (so 95.3).
//! - The shortfall is `baseline - value` summed over the reported months from the go-live month
//!   on (a month above baseline counts negative: activity caught up); dark months add nothing
//!   and are counted in `dark_months` beside it. Priced at the tariff of the point of delivery.
//! - `weeks_to_95_pct`: weeks from the go-live week (week 0) to the first reported period after
//!   the go-live at 95% of baseline or more (a week: its own week; a month: the week of its last
//!   day; a week is held against `baseline * 12 / 52`); `not_yet` when none is; `null` without a
//!   go-live or a baseline.
//! - The burn-down: a pathway's `remaining` over its reports; the rate is the drop from the
//!   first to the last of the latest three reports over the days between them; the projected
//!   finish is the last report's day plus `remaining / rate` days (rounded up); `not_converging`
//!   when the rate is 0 or less; `finished` at 0 remaining; `too_few_reports` with one.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use golive_model::{
    ActivitySpan, DataQuality, Envelope, EventBody, IsoWeek, Pathway, Period, PointOfDelivery,
};
use serde::{Deserialize, Serialize};

use crate::error::RulesError;
use crate::money::TrustMoney;
use crate::timeline::Timeline;
use crate::week::week_start;

/// The share of baseline that counts as recovered, in tenths of a percent: 95%.
pub const RECOVERED_TENTHS: u64 = 950;
/// Reports the burn-down rate is taken over: the latest three.
pub const BURN_DOWN_REPORTS: usize = 3;
/// Largest tariff: £10m per unit, so a priced sum stays far from overflow.
pub const TARIFF_PENCE_MAX: i64 = 1_000_000_000;

/// Integer pence per activity unit per point of delivery, from the config file's `[tariffs]`.
/// The defaults are ILLUSTRATIVE round figures of the order of 2008/09 Payment by Results
/// tariffs, not a published tariff: set your own. A point of delivery not named keeps its
/// default; unknown names are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tariffs {
    pub pence_per_unit: BTreeMap<PointOfDelivery, i64>,
}

impl Default for Tariffs {
    fn default() -> Self {
        use PointOfDelivery::*;
        Self {
            pence_per_unit: BTreeMap::from([
                (OutpatientFirst, 15_000),
                (OutpatientFollowUp, 8_500),
                (ElectiveInpatient, 300_000),
                (DayCase, 70_000),
                (NonElective, 150_000),
                (AeAttendance, 9_000),
                (TheatreSession, 200_000),
                (DiagnosticTest, 10_000),
            ]),
        }
    }
}

impl Tariffs {
    /// Parses `[tariffs]` (the body of the table) over the defaults and checks it.
    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        let given: Tariffs = toml::from_str(text).map_err(|e| RulesError::Toml(e.to_string()))?;
        let t = given.over_defaults();
        t.validate()?;
        Ok(t)
    }

    /// These tariffs, with the default of every point of delivery they leave out (what a
    /// `[tariffs]` table of a few lines means).
    pub fn over_defaults(self) -> Self {
        let mut t = Self::default();
        t.pence_per_unit.extend(self.pence_per_unit);
        t
    }

    pub fn validate(&self) -> Result<(), RulesError> {
        for (pod, p) in &self.pence_per_unit {
            if !(0..=TARIFF_PENCE_MAX).contains(p) {
                return Err(RulesError::OutOfRange {
                    field: pod.as_str(),
                    expected: "0 to 1000000000 pence per unit",
                    got: *p,
                });
            }
        }
        Ok(())
    }

    /// The tariff of `pod` (its default when the table leaves it out).
    pub fn of(&self, pod: PointOfDelivery) -> i64 {
        self.pence_per_unit
            .get(&pod)
            .copied()
            .unwrap_or_else(|| Tariffs::default().pence_per_unit[&pod])
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct BaselineFact {
    pub pod: PointOfDelivery,
    pub monthly_value: u64,
    pub from: Period,
    pub to: Period,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ActualFact {
    pub pod: PointOfDelivery,
    pub month: Option<Period>,
    pub week: Option<IsoWeek>,
    pub value: u64,
    pub quality: DataQuality,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PtlFact {
    pub pathway: Pathway,
    pub on_list: u64,
    pub validated: u64,
    pub removed_duplicate: u64,
    pub removed_treated: u64,
    pub unknown_clock_start: u64,
    pub over_52_weeks: u64,
    pub remaining: u64,
}

/// What one trust's recovery kinds contributed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RecoveryState {
    pub baselines: Timeline<BaselineFact>,
    pub actuals: Timeline<ActualFact>,
    pub ptl: Timeline<PtlFact>,
}

impl RecoveryState {
    /// Whether `e` is a recovery kind.
    pub fn reads(e: &Envelope) -> bool {
        matches!(
            e.body,
            EventBody::ActivityBaseline(_)
                | EventBody::ActivityActual(_)
                | EventBody::PtlValidation(_)
        )
    }

    pub fn add(&mut self, seq: u64, e: &Envelope) {
        let (at, id) = (e.occurred_at, e.event_id);
        match &e.body {
            EventBody::ActivityBaseline(d) => self.baselines.insert(
                at,
                seq,
                id,
                BaselineFact {
                    pod: d.point_of_delivery,
                    monthly_value: d.monthly_value,
                    from: d.baseline_from,
                    to: d.baseline_to,
                },
            ),
            EventBody::ActivityActual(d) => {
                let (month, week) = match d.span() {
                    ActivitySpan::Month(p) => (Some(p), None),
                    ActivitySpan::Week(w) => (None, Some(w)),
                };
                let fact = ActualFact {
                    pod: d.point_of_delivery,
                    month,
                    week,
                    value: d.value,
                    quality: d.data_quality,
                };
                self.actuals.insert(at, seq, id, fact);
            }
            EventBody::PtlValidation(d) => self.ptl.insert(at, seq, id, ptl_fact(d)),
            _ => {}
        }
    }

    /// Removes exactly what [`Self::add`] added for `e`.
    pub fn remove(&mut self, e: &Envelope) {
        let (at, id) = (e.occurred_at, e.event_id);
        match &e.body {
            EventBody::ActivityBaseline(_) => self.baselines.remove(at, id),
            EventBody::ActivityActual(_) => self.actuals.remove(at, id),
            EventBody::PtlValidation(_) => self.ptl.remove(at, id),
            _ => false,
        };
    }

    pub fn is_empty(&self) -> bool {
        self.baselines.is_empty() && self.actuals.is_empty() && self.ptl.is_empty()
    }
}

fn ptl_fact(d: &golive_model::PtlValidation) -> PtlFact {
    PtlFact {
        pathway: d.pathway,
        on_list: d.on_list,
        validated: d.validated,
        removed_duplicate: d.removed_duplicate,
        removed_treated: d.removed_treated,
        unknown_clock_start: d.unknown_clock_start,
        over_52_weeks: d.over_52_weeks,
        remaining: d.remaining,
    }
}

/// How the view lines trusts up: on the calendar, or each on its own go-live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Align {
    #[default]
    Calendar,
    GoLive,
}

/// `not_yet`, as written in [`WeeksTo95`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotYet {
    #[serde(rename = "not_yet")]
    NotYet,
}

/// Weeks from the go-live week to the first period back at 95% of baseline, or `"not_yet"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum WeeksTo95 {
    Weeks(u64),
    NotYet(NotYet),
}

/// Where a month's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MonthSource {
    /// A monthly report.
    Month,
    /// Weekly reports, made a month (see the module docs).
    Weeks,
    /// No report: the last reported value carried forward (`carried`).
    Carried,
    /// No report and nothing before it to carry.
    None,
}

/// One month of a point of delivery.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecoveryMonth {
    pub period: Period,
    /// 0 for the go-live month; `null` without a go-live.
    pub months_since_go_live: Option<i64>,
    /// Activity units: reported, or carried forward when `carried`.
    pub value: Option<u64>,
    pub source: MonthSource,
    /// Dark month: `value` is the last reported one, carried forward, not a report.
    pub carried: bool,
    /// The month whose value is carried.
    pub carried_from: Option<Period>,
    /// Weekly reports the month was made from (`source: weeks`).
    pub weeks_reported: u32,
    pub data_quality: Option<DataQuality>,
    /// `value / baseline` in percent, one decimal, rounded down; `null` without a value or a
    /// baseline above 0.
    pub pct_of_baseline: Option<f64>,
    /// `baseline - value` of a reported month; `null` for a dark month or without a baseline.
    pub shortfall_units: Option<i64>,
}

/// A point on weeks since go-live (the aligned view).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlignedPoint {
    /// Weeks from the go-live week (week 0).
    pub weeks_since_go_live: i64,
    pub months_since_go_live: i64,
    /// The week (`YYYY-Www`) or month (`YYYY-MM`) reported.
    pub label: String,
    pub value: Option<u64>,
    pub pct_of_baseline: Option<f64>,
    pub carried: bool,
}

/// The baseline in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    pub monthly_value: u64,
    pub baseline_from: Period,
    pub baseline_to: Period,
}

/// A point of delivery that has not come back: below the configured share of baseline with no
/// improvement over the configured weeks (the `recovery_stalled` warning's numbers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stall {
    pub latest: String,
    pub latest_pct_of_baseline: f64,
    pub earlier: String,
    pub earlier_pct_of_baseline: f64,
    /// The last day of the `earlier` period: no improvement since (the warning's `since`).
    pub since: NaiveDate,
    pub weeks: u32,
    pub below_pct: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PointRecovery {
    pub baseline: Option<Baseline>,
    pub months: Vec<RecoveryMonth>,
    /// The aligned view only: the series on weeks since go-live.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aligned: Vec<AlignedPoint>,
    /// `null` without a go-live or a baseline.
    pub weeks_to_95_pct: Option<WeeksTo95>,
    /// The period that first returned to 95% (`YYYY-MM` or `YYYY-Www`).
    pub returned_to_95_pct_in: Option<String>,
    pub cumulative_shortfall_units: i64,
    pub tariff_pence_per_unit: i64,
    pub priced_shortfall_pence: i64,
    pub dark_months: u32,
    pub stalled: Option<Stall>,
}

/// Where the burn-down is going.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BurnDownState {
    Projected,
    NotConverging,
    Finished,
    TooFewReports,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BurnDownPoint {
    pub date: NaiveDate,
    pub on_list: u64,
    pub validated: u64,
    pub removed_duplicate: u64,
    pub removed_treated: u64,
    pub unknown_clock_start: u64,
    pub over_52_weeks: u64,
    pub remaining: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BurnDown {
    pub points: Vec<BurnDownPoint>,
    pub state: BurnDownState,
    /// Records validated away per week over the latest reports (rounded down; negative when
    /// `remaining` grew).
    pub rate_per_week: Option<i64>,
    pub projected_finish: Option<NaiveDate>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrustRecovery {
    pub go_live: Option<DateTime<Utc>>,
    /// The months the series cover, `from..=to` (`null` without activity).
    pub months_from: Option<Period>,
    pub months_to: Option<Period>,
    pub points_of_delivery: BTreeMap<PointOfDelivery, PointRecovery>,
    /// Sum of the points of delivery's priced shortfall.
    pub priced_shortfall_pence: i64,
    /// Headline income at risk (reported and validated) of the same months, from the money
    /// view.
    pub income_at_risk_pence: i64,
    /// Estimated income at risk of the same months, beside it (never in the headline).
    pub income_at_risk_estimated_pence: i64,
    /// `priced_shortfall_pence - income_at_risk_pence`: shown, not hidden.
    pub gap_pence: i64,
    pub burn_down: BTreeMap<Pathway, BurnDown>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecoveryView {
    pub align: Align,
    /// The tariff table the shortfall is priced with (ILLUSTRATIVE defaults unless configured).
    pub tariffs: Tariffs,
    pub trusts: BTreeMap<String, TrustRecovery>,
}

/// What the view reads of one trust besides its recovery state.
pub(crate) struct TrustInput<'a> {
    pub state: &'a RecoveryState,
    pub go_live: Option<DateTime<Utc>>,
    pub money: &'a TrustMoney,
}

/// The stall rule's settings (from `[warnings]`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct StallRule {
    pub below_pct: u32,
    pub weeks: u32,
}

/// A reported period: a month or a week, its value and its last day.
#[derive(Clone, Copy, Debug)]
struct Reported {
    label_month: Option<Period>,
    label_week: Option<IsoWeek>,
    /// The value held against the monthly baseline: a week's times 52/12.
    monthly_equivalent_x12: u128,
    end: NaiveDate,
}

impl Reported {
    fn label(&self) -> String {
        match (self.label_month, self.label_week) {
            (Some(m), _) => m.to_string(),
            (None, Some(w)) => w.to_string(),
            (None, None) => String::new(),
        }
    }

    /// Tenths of a percent of `baseline` (monthly), rounded down.
    fn tenths(&self, baseline: u64) -> Option<u64> {
        (baseline > 0).then(|| {
            let t = self.monthly_equivalent_x12 * 1000 / (u128::from(baseline) * 12);
            u64::try_from(t).unwrap_or(u64::MAX)
        })
    }
}

fn pct(tenths: u64) -> f64 {
    tenths as f64 / 10.0
}

/// Tenths of a percent of `value` against `baseline`, rounded down (`None` for a 0 baseline).
pub(crate) fn tenths_of(value: u64, baseline: u64) -> Option<u64> {
    (baseline > 0).then(|| {
        let t = u128::from(value) * 1000 / u128::from(baseline);
        u64::try_from(t).unwrap_or(u64::MAX)
    })
}

/// The latest value and quality reported for each month (or week).
type Reports<K> = BTreeMap<K, (u64, DataQuality)>;

/// The latest report of each month and each week of `pod` (event time, then seq).
fn latest_reports(s: &RecoveryState, pod: PointOfDelivery) -> (Reports<Period>, Reports<IsoWeek>) {
    let mut months = BTreeMap::new();
    let mut weeks = BTreeMap::new();
    for e in s.actuals.iter().filter(|e| e.data.pod == pod) {
        let v = (e.data.value, e.data.quality);
        match (e.data.month, e.data.week) {
            (Some(m), _) => months.insert(m, v),
            (None, Some(w)) => weeks.insert(w, v),
            (None, None) => None,
        };
    }
    (months, weeks)
}

/// The month a week counts in: the month of its Thursday.
pub(crate) fn month_of_week(w: IsoWeek) -> Period {
    let thursday = w.monday() + Days::new(3);
    Period {
        year: thursday.year() as u16,
        month: thursday.month() as u8,
    }
}

/// Months made from weeks: `(value, weeks, worst quality)` per month.
fn months_from_weeks(weeks: &Reports<IsoWeek>) -> BTreeMap<Period, (u64, u32, DataQuality)> {
    let mut sums: BTreeMap<Period, (u128, u32, DataQuality)> = BTreeMap::new();
    for (w, (v, q)) in weeks {
        let e = sums
            .entry(month_of_week(*w))
            .or_insert((0, 0, DataQuality::Complete));
        e.0 += u128::from(*v);
        e.1 += 1;
        e.2 = worse(e.2, *q);
    }
    sums.into_iter()
        .map(|(p, (sum, n, q))| {
            let v = sum * u128::from(p.days()) / (7 * u128::from(n));
            (p, (u64::try_from(v).unwrap_or(u64::MAX), n, q))
        })
        .collect()
}

fn worse(a: DataQuality, b: DataQuality) -> DataQuality {
    a.max(b)
}

/// Whole weeks from the go-live week to the week of `d` (negative before it).
pub(crate) fn weeks_since(go_live: DateTime<Utc>, d: NaiveDate) -> i64 {
    let from = week_start(go_live);
    let to = d - Days::new(u64::from(d.weekday().num_days_from_monday()));
    (to - from).num_days().div_euclid(7)
}

/// The reported periods of a point of delivery, in order of their last day: months reported as
/// months, and weeks (the 95% rule reads weeks as they came).
fn reported_periods(months: &Reports<Period>, weeks: &Reports<IsoWeek>) -> Vec<Reported> {
    let mut out: Vec<Reported> = months
        .iter()
        .map(|(p, (v, _))| Reported {
            label_month: Some(*p),
            label_week: None,
            monthly_equivalent_x12: u128::from(*v) * 12,
            end: p.last_day(),
        })
        .collect();
    out.extend(weeks.iter().map(|(w, (v, _))| Reported {
        label_month: None,
        label_week: Some(*w),
        monthly_equivalent_x12: u128::from(*v) * 52,
        end: w.monday() + Days::new(6),
    }));
    out.sort_by_key(|r| r.end);
    out
}

/// The first reported period after the go-live at 95% of baseline or more.
fn first_recovered(
    periods: &[Reported],
    go_live: DateTime<Utc>,
    baseline: u64,
) -> (WeeksTo95, Option<String>) {
    let found = periods.iter().find(|r| {
        r.end >= go_live.date_naive() && r.tenths(baseline).is_some_and(|t| t >= RECOVERED_TENTHS)
    });
    match found {
        Some(r) => {
            let weeks = u64::try_from(weeks_since(go_live, r.end).max(0)).unwrap_or(0);
            (WeeksTo95::Weeks(weeks), Some(r.label()))
        }
        None => (WeeksTo95::NotYet(NotYet::NotYet), None),
    }
}

/// One month of the series: reported, or dark with the last value carried.
fn month_entry(
    p: Period,
    go_live: Option<Period>,
    reported: Option<(u64, MonthSource, u32, DataQuality)>,
    last: Option<(Period, u64)>,
    baseline: Option<u64>,
) -> RecoveryMonth {
    let (value, source, carried_from, weeks, quality) = match (reported, last) {
        (Some((v, src, n, q)), _) => (Some(v), src, None, n, Some(q)),
        (None, Some((from, v))) => (Some(v), MonthSource::Carried, Some(from), 0, None),
        (None, None) => (None, MonthSource::None, None, 0, None),
    };
    let carried = source == MonthSource::Carried;
    let b = baseline.filter(|b| *b > 0);
    RecoveryMonth {
        period: p,
        months_since_go_live: go_live.map(|g| g.months_to(p)),
        value,
        source,
        carried,
        carried_from,
        weeks_reported: weeks,
        data_quality: quality,
        pct_of_baseline: value.zip(b).and_then(|(v, b)| tenths_of(v, b)).map(pct),
        shortfall_units: match (reported, baseline) {
            (Some((v, ..)), Some(b)) => {
                Some(i64::try_from(b).unwrap_or(i64::MAX) - i64::try_from(v).unwrap_or(i64::MAX))
            }
            _ => None,
        },
    }
}

/// The months `from..=to` of a point of delivery.
fn month_series(
    months: &Reports<Period>,
    from_weeks: &BTreeMap<Period, (u64, u32, DataQuality)>,
    (from, to): (Period, Period),
    go_live: Option<Period>,
    baseline: Option<u64>,
) -> Vec<RecoveryMonth> {
    let reported_in = |p: Period| {
        months
            .get(&p)
            .map(|(v, q)| (*v, MonthSource::Month, 0, *q))
            .or_else(|| {
                from_weeks
                    .get(&p)
                    .map(|(v, n, q)| (*v, MonthSource::Weeks, *n, *q))
            })
    };
    // The last value reported before the series starts, to carry into its first months.
    let mut last: Option<(Period, u64)> = months
        .keys()
        .chain(from_weeks.keys())
        .filter(|p| **p < from)
        .max()
        .and_then(|p| reported_in(*p).map(|r| (*p, r.0)));
    let mut out = Vec::new();
    let mut p = from;
    while p <= to {
        let r = reported_in(p);
        out.push(month_entry(p, go_live, r, last, baseline));
        if let Some((v, ..)) = r {
            last = Some((p, v));
        }
        p = p.next();
    }
    out
}

/// The aligned series: weeks reported as weeks, other months at the week of their last day.
fn aligned_points(
    go_live: DateTime<Utc>,
    months: &[RecoveryMonth],
    weeks: &Reports<IsoWeek>,
    baseline: Option<u64>,
) -> Vec<AlignedPoint> {
    let g = Period::of(go_live);
    let weekly_tenths = |v: u64| {
        baseline
            .filter(|b| *b > 0)
            .and_then(|b| tenths_of(v.saturating_mul(52), b.saturating_mul(12)))
    };
    let mut out = Vec::new();
    for m in months {
        if m.source == MonthSource::Weeks {
            for (w, (v, _)) in weeks
                .range(..)
                .filter(|(w, _)| month_of_week(**w) == m.period)
            {
                out.push(AlignedPoint {
                    weeks_since_go_live: weeks_since(go_live, w.monday()),
                    months_since_go_live: g.months_to(m.period),
                    label: w.to_string(),
                    value: Some(*v),
                    pct_of_baseline: weekly_tenths(*v).map(pct),
                    carried: false,
                });
            }
            continue;
        }
        out.push(AlignedPoint {
            weeks_since_go_live: weeks_since(go_live, m.period.last_day()),
            months_since_go_live: g.months_to(m.period),
            label: m.period.to_string(),
            value: m.value,
            pct_of_baseline: m.pct_of_baseline,
            carried: m.carried,
        });
    }
    out
}

/// Below the rule's share of baseline with no improvement over its weeks: the latest reported
/// value is not above the one reported the rule's weeks before it.
fn stall(periods: &[Reported], baseline: Option<u64>, rule: StallRule) -> Option<Stall> {
    let b = baseline.filter(|b| *b > 0)?;
    if rule.weeks == 0 {
        return None;
    }
    let latest = periods.last()?;
    let t = latest.tenths(b)?;
    if t >= u64::from(rule.below_pct) * 10 {
        return None;
    }
    let cutoff = latest.end - Days::new(u64::from(rule.weeks) * 7);
    let earlier = periods.iter().rev().find(|r| r.end <= cutoff)?;
    let e = earlier.tenths(b)?;
    (t <= e).then(|| Stall {
        latest: latest.label(),
        latest_pct_of_baseline: pct(t),
        earlier: earlier.label(),
        earlier_pct_of_baseline: pct(e),
        since: earlier.end,
        weeks: rule.weeks,
        below_pct: rule.below_pct,
    })
}

/// One point of delivery of a trust.
fn point_recovery(
    s: &RecoveryState,
    pod: PointOfDelivery,
    (go_live, span): (Option<DateTime<Utc>>, (Period, Period)),
    (tariffs, rule, align): (&Tariffs, StallRule, Align),
) -> PointRecovery {
    let baseline = s
        .baselines
        .iter()
        .rev()
        .find(|e| e.data.pod == pod)
        .map(|e| Baseline {
            monthly_value: e.data.monthly_value,
            baseline_from: e.data.from,
            baseline_to: e.data.to,
        });
    let b = baseline.as_ref().map(|b| b.monthly_value);
    let (months, weeks) = latest_reports(s, pod);
    let from_weeks = months_from_weeks(&weeks);
    let series = month_series(&months, &from_weeks, span, go_live.map(Period::of), b);
    let periods = reported_periods(&months, &weeks);
    let (weeks_to, returned) = match (go_live, b) {
        (Some(g), Some(b)) => {
            let (w, p) = first_recovered(&periods, g, b);
            (Some(w), p)
        }
        _ => (None, None),
    };
    let shortfall = series
        .iter()
        .filter_map(|m| m.shortfall_units)
        .fold(0i64, i64::saturating_add);
    let tariff = tariffs.of(pod);
    PointRecovery {
        aligned: match (align, go_live) {
            (Align::GoLive, Some(g)) => aligned_points(g, &series, &weeks, b),
            _ => Vec::new(),
        },
        dark_months: series
            .iter()
            .filter(|m| m.source == MonthSource::Carried || m.source == MonthSource::None)
            .count() as u32,
        months: series,
        weeks_to_95_pct: weeks_to,
        returned_to_95_pct_in: returned,
        cumulative_shortfall_units: shortfall,
        tariff_pence_per_unit: tariff,
        priced_shortfall_pence: shortfall.saturating_mul(tariff),
        stalled: stall(&periods, b, rule),
        baseline,
    }
}

/// The burn-down of one pathway's reports (in event-time order).
fn burn_down(points: Vec<BurnDownPoint>) -> BurnDown {
    let last = points.last().expect("a pathway has a report").clone();
    let recent = &points[points.len().saturating_sub(BURN_DOWN_REPORTS)..];
    let first = &recent[0];
    let days = (last.date - first.date).num_days();
    let drop = i64::try_from(first.remaining).unwrap_or(i64::MAX)
        - i64::try_from(last.remaining).unwrap_or(i64::MAX);
    let rate_per_week = (recent.len() > 1 && days > 0).then(|| drop.saturating_mul(7) / days);
    let (state, finish) = if last.remaining == 0 {
        (BurnDownState::Finished, Some(last.date))
    } else if recent.len() < 2 || days <= 0 {
        (BurnDownState::TooFewReports, None)
    } else if drop <= 0 {
        (BurnDownState::NotConverging, None)
    } else {
        let remaining = i64::try_from(last.remaining).unwrap_or(i64::MAX);
        let more = remaining.saturating_mul(days).saturating_add(drop - 1) / drop;
        let finish = u64::try_from(more)
            .ok()
            .and_then(|d| last.date.checked_add_days(Days::new(d)));
        (BurnDownState::Projected, finish)
    };
    BurnDown {
        points,
        state,
        rate_per_week,
        projected_finish: finish,
    }
}

fn burn_downs(s: &RecoveryState) -> BTreeMap<Pathway, BurnDown> {
    let mut by: BTreeMap<Pathway, Vec<BurnDownPoint>> = BTreeMap::new();
    for e in s.ptl.iter() {
        let d = &e.data;
        by.entry(d.pathway).or_default().push(BurnDownPoint {
            date: e.at.date_naive(),
            on_list: d.on_list,
            validated: d.validated,
            removed_duplicate: d.removed_duplicate,
            removed_treated: d.removed_treated,
            unknown_clock_start: d.unknown_clock_start,
            over_52_weeks: d.over_52_weeks,
            remaining: d.remaining,
        });
    }
    by.into_iter().map(|(p, pts)| (p, burn_down(pts))).collect()
}

/// The months a trust's series cover: from its go-live month (its first reported month without
/// one) to the latest month reported at any point of delivery.
fn trust_span(s: &RecoveryState, go_live: Option<DateTime<Utc>>) -> Option<(Period, Period)> {
    let months: Vec<Period> = s
        .actuals
        .iter()
        .map(|e| {
            e.data
                .month
                .unwrap_or_else(|| month_of_week(e.data.week.expect("a week")))
        })
        .collect();
    let last = *months.iter().max()?;
    let first = go_live.map(Period::of).unwrap_or(*months.iter().min()?);
    Some((first, last.max(first)))
}

/// One trust's recovery.
pub(crate) fn trust_recovery(
    t: &TrustInput<'_>,
    tariffs: &Tariffs,
    rule: StallRule,
    align: Align,
) -> TrustRecovery {
    let s = t.state;
    let span = trust_span(s, t.go_live);
    let mut pods: Vec<PointOfDelivery> = s.baselines.iter().map(|e| e.data.pod).collect();
    pods.extend(s.actuals.iter().map(|e| e.data.pod));
    pods.sort();
    pods.dedup();
    let points: BTreeMap<PointOfDelivery, PointRecovery> = match span {
        Some(span) => pods
            .into_iter()
            .map(|pod| {
                let r = point_recovery(s, pod, (t.go_live, span), (tariffs, rule, align));
                (pod, r)
            })
            .collect(),
        None => BTreeMap::new(),
    };
    let priced = points
        .values()
        .map(|p| p.priced_shortfall_pence)
        .fold(0i64, i64::saturating_add);
    let (at_risk, estimated) = span.map_or((0, 0), |(from, to)| {
        t.money
            .by_month
            .range(from..=to)
            .fold((0i64, 0i64), |(a, e), (_, f)| {
                let est = f
                    .by_status
                    .get(&golive_model::Status::Estimated)
                    .map_or(0, |s| s.income_at_risk_pence);
                (
                    a.saturating_add(f.income_at_risk_pence),
                    e.saturating_add(est),
                )
            })
    });
    TrustRecovery {
        go_live: t.go_live,
        months_from: span.map(|s| s.0),
        months_to: span.map(|s| s.1),
        points_of_delivery: points,
        priced_shortfall_pence: priced,
        income_at_risk_pence: at_risk,
        income_at_risk_estimated_pence: estimated,
        gap_pence: priced.saturating_sub(at_risk),
        burn_down: burn_downs(s),
    }
}
