//! Claims against the evidence: what each trust's `assurance_claim`, `usage_reported`,
//! `burden` and `recovery_plan` events say, the harm and attributions other events carry, and
//! the usage-beside-burden view with its `struggle_read_as_success` months.
//!
//! The claim register itself (a verdict per claim, from the ledger as it was known at the
//! claim's date) is in [`crate::register`]: it needs folds of the log cut at other times, which
//! the caller makes. This module keeps the facts those folds are read with.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use golive_model::{
    Attribution, BurdenMetric, ClaimType, ClaimantType, Envelope, EventBody, EventId, Harm, Kind,
    Period, PlanState, RolloutScope, Stance, UsageMetric,
};
use serde::{Deserialize, Serialize};

use crate::error::RulesError;
use crate::timeline::Timeline;

/// The rules of the claim register, from the config file's `[claims]` (docs/OPERATIONS.md).
/// Every field has a default; unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimRules {
    /// The weeks before and after a claim the register looks at. Default 8.
    pub window_weeks: u32,
    /// `harm_found` contradicts `no_clinical_harm` at this graded harm or worse. Default
    /// `moderate`.
    pub harm_at_least: Harm,
    /// `net_cost_over` contradicts `successful_go_live` and `benefits_realised` when the
    /// headline net cost is at or above this. Default £1m.
    pub net_cost_pence_min: i64,
    /// `burden_over` fires when a burden figure is above its limit here. A figure not named has
    /// limit 0: any extra burden counts. Default: `task_time_ratio_pct` 120 (a fifth longer).
    pub burden_max: BTreeMap<BurdenMetric, u64>,
    /// Whether events whose every source is `synthetic` count as evidence. Default false: a
    /// real statement is held only against reported facts.
    pub count_synthetic: bool,
}

/// Largest `window_weeks`: a year.
pub const CLAIM_WINDOW_WEEKS_MAX: u32 = 52;

impl Default for ClaimRules {
    fn default() -> Self {
        Self {
            window_weeks: 8,
            harm_at_least: Harm::Moderate,
            net_cost_pence_min: 100_000_000,
            burden_max: BTreeMap::from([(BurdenMetric::TaskTimeRatioPct, 120)]),
            count_synthetic: false,
        }
    }
}

impl ClaimRules {
    /// Parses rules from a TOML document (the body of `[claims]`) and checks them.
    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        let rules: ClaimRules =
            toml::from_str(text).map_err(|e| RulesError::Toml(e.to_string()))?;
        rules.validate()?;
        Ok(rules)
    }

    pub fn validate(&self) -> Result<(), RulesError> {
        if !(1..=CLAIM_WINDOW_WEEKS_MAX).contains(&self.window_weeks) {
            return Err(RulesError::OutOfRange {
                field: "window_weeks",
                expected: "1 to 52",
                got: i64::from(self.window_weeks),
            });
        }
        if !self.harm_at_least.is_graded() || self.harm_at_least == Harm::None {
            return Err(RulesError::Toml(
                "`harm_at_least` is a graded harm above none: low, moderate, severe or death"
                    .to_owned(),
            ));
        }
        if self.net_cost_pence_min < 1 {
            return Err(RulesError::OutOfRange {
                field: "net_cost_pence_min",
                expected: "at least 1 pence",
                got: self.net_cost_pence_min,
            });
        }
        Ok(())
    }

    pub fn window(&self) -> Duration {
        Duration::weeks(i64::from(self.window_weeks))
    }

    /// The limit of one burden figure (0 when not named).
    pub fn burden_limit(&self, m: BurdenMetric) -> u64 {
        self.burden_max.get(&m).copied().unwrap_or(0)
    }
}

/// One claim as stored (plain fields: the snapshot is bincode, see the crate docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct ClaimFact {
    pub claimant_type: ClaimantType,
    pub claimant_name: String,
    pub claim: ClaimType,
    pub statement: String,
    pub scope: RolloutScope,
    pub programme: Option<String>,
    /// When it was made public: the date it is held against what was known.
    #[serde(with = "chrono::serde::ts_nanoseconds")]
    pub recorded_at: DateTime<Utc>,
    pub synthetic: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct UsageFact {
    pub metric: UsageMetric,
    pub period: Period,
    pub value: u64,
    pub synthetic: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct BurdenFact {
    pub period: Period,
    /// In [`BurdenMetric::ALL`] order.
    pub figures: [Option<u64>; 8],
    pub task: Option<String>,
    pub synthetic: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct PlanFact {
    pub plan: String,
    pub state: PlanState,
    pub problems: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct AttributionFact {
    pub kind: Kind,
    pub by: String,
    pub stance: Stance,
}

/// A graded harm an event reports: a safety incident's (by its `local_ref`, so that the latest
/// report of an incident is its grade), a traced patient's, or the worst level an actual-harm
/// review found. Risk-of-harm reviews and ungraded harm are not harm found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct HarmFact {
    pub kind: Kind,
    pub local_ref: Option<String>,
    pub harm: Harm,
}

/// What one trust's events contributed to the claims.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ClaimsState {
    pub claims: Timeline<ClaimFact>,
    pub usage: Timeline<UsageFact>,
    pub burden: Timeline<BurdenFact>,
    pub plans: Timeline<PlanFact>,
    pub attributions: Timeline<AttributionFact>,
    pub harm: Timeline<HarmFact>,
}

/// The worst graded level an actual-harm review counted a case at.
fn review_worst(d: &golive_model::HarmReview) -> Option<Harm> {
    if d.assessment() != golive_model::Assessment::ActualHarm {
        return None;
    }
    let h = &d.harm;
    [
        (Harm::Death, h.death),
        (Harm::Severe, h.severe),
        (Harm::Moderate, h.moderate),
        (Harm::Low, h.low),
        (Harm::None, h.none),
    ]
    .into_iter()
    .find(|(_, n)| *n > 0)
    .map(|(harm, _)| harm)
}

fn harm_fact(body: &EventBody) -> Option<HarmFact> {
    let (local_ref, harm) = match body {
        EventBody::SafetyIncident(d) => (Some(d.local_ref.clone()), d.harm),
        EventBody::PatientTraced(d) => (None, d.harm),
        EventBody::HarmReview(d) => (None, review_worst(d)?),
        _ => return None,
    };
    Some(HarmFact {
        kind: body.kind(),
        local_ref,
        harm,
    })
}

impl ClaimsState {
    /// Whether `e` has anything for the claims: a claims kind, a graded harm, an attribution.
    pub fn reads(e: &Envelope) -> bool {
        e.attribution.is_some()
            || harm_fact(&e.body).is_some()
            || matches!(
                e.body,
                EventBody::AssuranceClaim(_)
                    | EventBody::UsageReported(_)
                    | EventBody::Burden(_)
                    | EventBody::RecoveryPlan(_)
            )
    }

    /// Adds what `e` says (every event is offered: harm and attribution come from any kind).
    pub fn add(&mut self, seq: u64, e: &Envelope) {
        let (at, id, synthetic) = (e.occurred_at, e.event_id, e.is_synthetic());
        if let Some(Attribution { by, stance }) = &e.attribution {
            let fact = AttributionFact {
                kind: e.kind(),
                by: by.clone(),
                stance: *stance,
            };
            self.attributions.insert(at, seq, id, fact);
        }
        if let Some(h) = harm_fact(&e.body) {
            self.harm.insert(at, seq, id, h);
        }
        match &e.body {
            EventBody::AssuranceClaim(d) => self.claims.insert(
                at,
                seq,
                id,
                ClaimFact {
                    claimant_type: d.claimant.claimant_type,
                    claimant_name: d.claimant.name.clone(),
                    claim: d.claim,
                    statement: d.statement.clone(),
                    scope: d.scope,
                    programme: d.programme.clone(),
                    recorded_at: e.recorded_at,
                    synthetic,
                },
            ),
            EventBody::UsageReported(d) => self.usage.insert(
                at,
                seq,
                id,
                UsageFact {
                    metric: d.metric,
                    period: d.period,
                    value: d.value,
                    synthetic,
                },
            ),
            EventBody::Burden(d) => self.burden.insert(
                at,
                seq,
                id,
                BurdenFact {
                    period: d.period,
                    figures: d.figures().map(|(_, v)| v),
                    task: d.task.clone(),
                    synthetic,
                },
            ),
            EventBody::RecoveryPlan(d) => self.plans.insert(
                at,
                seq,
                id,
                PlanFact {
                    plan: d.plan.clone(),
                    state: d.state,
                    problems: d.problems,
                },
            ),
            _ => {}
        }
    }

    /// Removes exactly what [`Self::add`] added for `e`.
    pub fn remove(&mut self, e: &Envelope) {
        let (at, id) = (e.occurred_at, e.event_id);
        self.attributions.remove(at, id);
        self.harm.remove(at, id);
        match &e.body {
            EventBody::AssuranceClaim(_) => self.claims.remove(at, id),
            EventBody::UsageReported(_) => self.usage.remove(at, id),
            EventBody::Burden(_) => self.burden.remove(at, id),
            EventBody::RecoveryPlan(_) => self.plans.remove(at, id),
            _ => false,
        };
    }
}

/// One month of a trust's usage beside its burden.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UsageBurdenMonth {
    pub period: Period,
    /// The latest figure of each metric for the month.
    pub usage: BTreeMap<UsageMetric, u64>,
    /// The latest value of each burden figure for the month.
    pub burden: BTreeMap<BurdenMetric, u64>,
    /// The tasks the month's `task_time_ratio_pct` figures measure.
    pub tasks: Vec<String>,
    /// `extra_staff_hours + overtime_hours + paper_fallback_hours`.
    pub burden_hours: u64,
    /// `burden_hours` per 1000 of each usage metric of the month (rounded down; absent when
    /// the metric is 0).
    pub burden_hours_per_1000: BTreeMap<UsageMetric, u64>,
    /// A usage metric rose from the last month that reported it, while burden was reported
    /// and no burden figure fell from the last month that reported it.
    pub struggle_read_as_success: bool,
    /// Some figure of the month comes from an event whose every source is synthetic.
    pub synthetic: bool,
    pub event_ids: Vec<EventId>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrustUsageBurden {
    pub months: Vec<UsageBurdenMonth>,
    /// Months marked `struggle_read_as_success`, `YYYY-MM`.
    pub struggle_months: Vec<Period>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageBurdenView {
    pub trusts: BTreeMap<String, TrustUsageBurden>,
}

const HOURS: [BurdenMetric; 3] = [
    BurdenMetric::ExtraStaffHours,
    BurdenMetric::OvertimeHours,
    BurdenMetric::PaperFallbackHours,
];

/// The months of one trust, oldest first, with the struggle marks.
pub(crate) fn trust_usage_burden(s: &ClaimsState) -> TrustUsageBurden {
    let mut months: BTreeMap<Period, UsageBurdenMonth> = BTreeMap::new();
    // Later entries (event time, then seq) replace earlier ones: the latest figure stands.
    for e in s.usage.iter() {
        let m = month_mut(&mut months, e.data.period);
        m.usage.insert(e.data.metric, e.data.value);
        m.synthetic |= e.data.synthetic;
        m.event_ids.push(e.event_id);
    }
    for e in s.burden.iter() {
        let m = month_mut(&mut months, e.data.period);
        for (metric, v) in BurdenMetric::ALL.iter().zip(e.data.figures) {
            if let Some(v) = v {
                m.burden.insert(*metric, v);
            }
        }
        if let (Some(task), Some(_)) = (&e.data.task, e.data.figures[4]) {
            m.tasks.push(task.clone());
        }
        m.synthetic |= e.data.synthetic;
        m.event_ids.push(e.event_id);
    }
    let mut out: Vec<UsageBurdenMonth> = months.into_values().collect();
    mark_struggle(&mut out);
    TrustUsageBurden {
        struggle_months: out
            .iter()
            .filter(|m| m.struggle_read_as_success)
            .map(|m| m.period)
            .collect(),
        months: out,
    }
}

fn month_mut(months: &mut BTreeMap<Period, UsageBurdenMonth>, p: Period) -> &mut UsageBurdenMonth {
    months.entry(p).or_insert_with(|| UsageBurdenMonth {
        period: p,
        usage: BTreeMap::new(),
        burden: BTreeMap::new(),
        tasks: Vec::new(),
        burden_hours: 0,
        burden_hours_per_1000: BTreeMap::new(),
        struggle_read_as_success: false,
        synthetic: false,
        event_ids: Vec::new(),
    })
}

/// Fills the derived figures and the struggle marks of months in period order.
fn mark_struggle(months: &mut [UsageBurdenMonth]) {
    let mut last_usage: BTreeMap<UsageMetric, u64> = BTreeMap::new();
    let mut last_burden: BTreeMap<BurdenMetric, u64> = BTreeMap::new();
    for m in months.iter_mut() {
        m.tasks.sort();
        m.tasks.dedup();
        m.event_ids.sort();
        m.event_ids.dedup();
        m.burden_hours = HOURS
            .iter()
            .filter_map(|h| m.burden.get(h))
            .fold(0u64, |a, v| a.saturating_add(*v));
        for (metric, v) in &m.usage {
            if *v > 0 {
                let per = u128::from(m.burden_hours) * 1000 / u128::from(*v);
                m.burden_hours_per_1000
                    .insert(*metric, u64::try_from(per).unwrap_or(u64::MAX));
            }
        }
        let usage_rose = m
            .usage
            .iter()
            .any(|(k, v)| last_usage.get(k).is_some_and(|prev| v > prev));
        let burden_held = m.burden.values().any(|v| *v > 0)
            && m.burden
                .iter()
                .all(|(k, v)| last_burden.get(k).is_none_or(|prev| v >= prev));
        m.struggle_read_as_success = usage_rose && burden_held;
        last_usage.extend(m.usage.iter().map(|(k, v)| (*k, *v)));
        last_burden.extend(m.burden.iter().map(|(k, v)| (*k, *v)));
    }
}

/// The month of a time.
pub(crate) fn month_of(t: DateTime<Utc>) -> Period {
    Period::of(t)
}

/// A claim of success made within some weeks after struggle months.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StruggleClaim {
    pub claim: ClaimType,
    pub claimed_at: DateTime<Utc>,
    pub claimant: String,
    pub months: Vec<Period>,
}

/// The trust's real claims of success with real struggle months in the `weeks` before them
/// (none when `weeks` is 0), oldest claim first.
pub(crate) fn claims_on_struggle(s: &ClaimsState, weeks: u32) -> Vec<StruggleClaim> {
    if weeks == 0 || s.claims.is_empty() {
        return Vec::new();
    }
    let struggle: Vec<Period> = trust_usage_burden(s)
        .months
        .into_iter()
        .filter(|m| m.struggle_read_as_success && !m.synthetic)
        .map(|m| m.period)
        .collect();
    let mut out: Vec<StruggleClaim> = s
        .claims
        .iter()
        .filter(|e| e.data.claim.is_success() && !e.data.synthetic)
        .filter_map(|e| {
            let c = e.data.recorded_at;
            let from = month_of(c - Duration::weeks(i64::from(weeks)));
            let months: Vec<Period> = struggle
                .iter()
                .copied()
                .filter(|p| from <= *p && *p <= month_of(c))
                .collect();
            (!months.is_empty()).then(|| StruggleClaim {
                claim: e.data.claim,
                claimed_at: c,
                claimant: e.data.claimant_name.clone(),
                months,
            })
        })
        .collect();
    out.sort_by_key(|c| c.claimed_at);
    out
}
