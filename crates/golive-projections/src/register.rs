//! The claim register: every `assurance_claim` held against the ledger as it was KNOWN at the
//! claim's date (its `recorded_at`), and against what became known later, with a verdict, the
//! rule that decides it and the events behind the rule.
//!
//! A claim at date C is read with four folds of the log, which the caller makes (the ledger
//! reads its store once for all of them; a test folds a list), each a [`Cut`]:
//!
//! | fold | recorded by | happened by | used for |
//! | --- | --- | --- | --- |
//! | `then_before` | C | C - window | the context 8 weeks before, as known at C; "rising" |
//! | `then` | C | any time | what the ledger held at C: `contradicted`, `consistent` |
//! | `now_before` | the query's known-at (or all) | C - window | "rising", as known now |
//! | `now_after` | the query's known-at (or all) | C + window | `contradicted_later`, the context after |
//!
//! Verdicts, in this order: `contradicted` when a rule against the claim holds in `then`;
//! `contradicted_later` when one holds in `now_after` (with when it became known: the latest
//! `recorded_at` of the events that decide it); `consistent` when a rule for it holds in `then`;
//! else `unsupported`: nothing in the ledger either way, and silence is not support. The rules
//! per claim are in [`rules_against`] and [`rules_for`], documented in docs/API.md.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use golive_model::{
    ClaimType, ClaimantType, Dataset, Envelope, EventBody, EventId, Harm, OdsCode, PenaltyState,
    Pence, Period, PlanState, RolloutScope, SourceType, Stance, Status, UsageMetric,
};
use serde::{Deserialize, Serialize};

use crate::claims::{
    ClaimFact, ClaimRules, ClaimsState, UsageBurdenMonth, month_of, trust_usage_burden,
};
use crate::{Projections, TrustState, WarningRules, lost, money};

/// Which events a fold of the log takes: recorded by `known_at`, happened by `occurred_by`,
/// and, unless `synthetic`, not simulated. The one filter every claim fold follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cut {
    pub known_at: Option<DateTime<Utc>>,
    pub occurred_by: Option<DateTime<Utc>>,
    pub synthetic: bool,
}

impl Cut {
    pub fn admits(&self, e: &Envelope) -> bool {
        self.known_at.is_none_or(|t| e.recorded_at <= t)
            && self.occurred_by.is_none_or(|t| e.occurred_at <= t)
            && (self.synthetic || !e.is_synthetic())
    }
}

/// The folds of one claim, in [`Cut`] order (see the module docs).
const FOLDS_PER_CLAIM: usize = 4;

golive_model::wire_enum!(
    /// The verdict on a claim.
    Verdict {
        Contradicted => "contradicted",
        ContradictedLater => "contradicted_later",
        Unsupported => "unsupported",
        Consistent => "consistent",
    }
);

golive_model::wire_enum!(
    /// The rules the register applies. Each names what it looks for in a trust's fold.
    Rule {
        DatasetDark => "dataset_dark",
        LostRising => "lost_rising",
        BurdenOver => "burden_over",
        NetCostOver => "net_cost_over",
        RecoveryPlanOpen => "recovery_plan_open",
        SeriousIncidentOpen => "serious_incident_open",
        HarmFound => "harm_found",
        AttributedToSystem => "attributed_to_system",
        UsageFalling => "usage_falling",
        ReportedInWindow => "reported_in_window",
        HarmGradedBelow => "harm_graded_below",
        DeniedSystemCause => "denied_system_cause",
        NetCostUnder => "net_cost_under",
        UsageRising => "usage_rising",
    }
);

/// The rules whose holding is evidence against a claim.
pub fn rules_against(c: ClaimType) -> &'static [Rule] {
    use Rule::*;
    match c {
        ClaimType::SuccessfulGoLive => &[DatasetDark, LostRising, BurdenOver, NetCostOver],
        ClaimType::Stable => &[DatasetDark, LostRising, BurdenOver, SeriousIncidentOpen],
        ClaimType::FitToDeploy => &[RecoveryPlanOpen, DatasetDark, SeriousIncidentOpen],
        ClaimType::NoClinicalHarm => &[HarmFound],
        ClaimType::NotSystemRelated => &[AttributedToSystem],
        ClaimType::BenefitsRealised => &[NetCostOver, BurdenOver],
        ClaimType::AdoptionHigh => &[UsageFalling],
    }
}

/// The rules whose holding (with none against) makes a claim `consistent`.
pub fn rules_for(c: ClaimType) -> &'static [Rule] {
    use Rule::*;
    match c {
        ClaimType::SuccessfulGoLive | ClaimType::Stable | ClaimType::FitToDeploy => {
            &[ReportedInWindow]
        }
        ClaimType::NoClinicalHarm => &[HarmGradedBelow],
        ClaimType::NotSystemRelated => &[DeniedSystemCause],
        ClaimType::BenefitsRealised => &[NetCostUnder],
        ClaimType::AdoptionHigh => &[UsageRising],
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bearing {
    Against,
    For,
}

/// A source of an event behind a finding.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingSource {
    #[serde(rename = "type")]
    pub source_type: SourceType,
    #[serde(rename = "ref")]
    pub reference: String,
    pub url: Option<String>,
}

/// A rule that held, with the events that make it hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: Rule,
    pub bearing: Bearing,
    pub trust: String,
    /// For a person, with the figures.
    pub detail: String,
    pub event_ids: Vec<EventId>,
    /// The distinct sources those events cite.
    pub sources: Vec<FindingSource>,
    /// When the ledger first held all of those events: their latest `recorded_at`.
    pub known_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriousIncidentItem {
    pub local_ref: String,
    pub harm: Harm,
    pub event_id: EventId,
}

/// One trust as a fold shows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClaimSnapshot {
    pub open_lost_patients: u64,
    pub datasets_dark: Vec<Dataset>,
    /// The headline (reported and validated amounts, levied penalties).
    pub net_cost_pence: i64,
    pub net_cost_by_status: BTreeMap<Status, i64>,
    pub open_serious_incidents: Vec<SeriousIncidentItem>,
    pub recovery_plans_open: Vec<String>,
}

/// What the register shows of one trust around a claim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimContext {
    /// At the start of the window, as known at the claim's date.
    pub before: ClaimSnapshot,
    /// At the claim's date, as known then.
    pub at_claim: ClaimSnapshot,
    /// At the end of the window, as known now (the query's known-at).
    pub after: ClaimSnapshot,
    /// Usage beside burden for the months of the window, as known now.
    pub months: Vec<UsageBurdenMonth>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimantOut {
    #[serde(rename = "type")]
    pub claimant_type: ClaimantType,
    pub name: String,
}

/// One claim of the register.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimEntry {
    pub event_id: EventId,
    /// The trust that published the event (for a programme claim, the reporting body).
    pub trust: String,
    pub scope: RolloutScope,
    pub programme: Option<String>,
    /// The trusts the claim is about and is held against.
    pub trusts: Vec<String>,
    pub claimant: ClaimantOut,
    pub claim: ClaimType,
    pub statement: String,
    /// When it was made public (its `recorded_at`): the date it is held against.
    pub claimed_at: DateTime<Utc>,
    /// `YYYY-MM-DD` of `claimed_at`.
    pub claimed_on: String,
    pub sources: Vec<FindingSource>,
    pub synthetic: bool,
    pub verdict: Verdict,
    /// The rule of the verdict in a sentence.
    pub rule: String,
    /// The findings that decide the verdict (none for `unsupported`).
    pub decided_by: Vec<Finding>,
    /// `contradicted_later`: when the first deciding finding became known.
    pub contradicted_known_at: Option<DateTime<Utc>>,
    /// Every trust's context, by code.
    pub context: BTreeMap<String, ClaimContext>,
    /// Months of the window before the claim marked `struggle_read_as_success`, per trust.
    pub rests_on_struggle: BTreeMap<String, Vec<Period>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClaimsTotals {
    pub claims: u64,
    pub contradicted: u64,
    pub contradicted_later: u64,
    pub unsupported: u64,
    pub consistent: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClaimsView {
    pub as_at: Option<DateTime<Utc>>,
    pub known_at: Option<DateTime<Utc>>,
    pub rules: ClaimRules,
    pub claims: Vec<ClaimEntry>,
    pub totals: ClaimsTotals,
}

/// A claim found in the projection, with what the register needs to place it.
struct Listed<'a> {
    trust: &'a OdsCode,
    event_id: EventId,
    fact: &'a ClaimFact,
    trusts: Vec<OdsCode>,
}

impl Projections {
    /// The trusts of a programme: rostered, or with a trust-scope status naming it.
    fn programme_trusts(&self, programme: &str) -> Vec<OdsCode> {
        let cov = self.coverage(&WarningRules::default(), None);
        cov.programmes
            .get(programme)
            .map(|p| p.trusts.keys().filter_map(|c| OdsCode::parse(c)).collect())
            .unwrap_or_default()
    }

    /// The claims the register lists, in (claimed_at, seq) order: with `trust`, those about it.
    fn listed_claims<'a>(&'a self, trust: Option<&OdsCode>) -> Vec<Listed<'a>> {
        let mut out: Vec<(DateTime<Utc>, u64, Listed<'a>)> = Vec::new();
        // Each programme's members once (a coverage view each), however many claims name it.
        let mut members: BTreeMap<&str, Vec<OdsCode>> = BTreeMap::new();
        for (code, t) in &self.claims {
            for e in t.claims.iter() {
                let trusts = match (&e.data.scope, &e.data.programme) {
                    (RolloutScope::Programme, Some(p)) => members
                        .entry(p.as_str())
                        .or_insert_with(|| self.programme_trusts(p))
                        .clone(),
                    _ => vec![code.clone()],
                };
                if trust.is_some_and(|t| !trusts.contains(t) && t != code) {
                    continue;
                }
                let listed = Listed {
                    trust: code,
                    event_id: e.event_id,
                    fact: &e.data,
                    trusts,
                };
                out.push((e.data.recorded_at, e.seq, listed));
            }
        }
        out.sort_by_key(|(at, seq, _)| (*at, *seq));
        out.into_iter().map(|(_, _, l)| l).collect()
    }

    /// The folds the register needs, [`FOLDS_PER_CLAIM`] per listed claim: hand them to
    /// [`Projections::claims_register`] folded in this order. `known_at` is the query's.
    pub fn claim_cuts(
        &self,
        rules: &ClaimRules,
        known_at: Option<DateTime<Utc>>,
        trust: Option<&OdsCode>,
    ) -> Vec<Cut> {
        let synthetic = rules.count_synthetic;
        let w = rules.window();
        self.listed_claims(trust)
            .iter()
            .flat_map(|l| {
                let c = l.fact.recorded_at;
                [
                    Cut {
                        known_at: Some(c),
                        occurred_by: Some(c - w),
                        synthetic,
                    },
                    Cut {
                        known_at: Some(c),
                        occurred_by: None,
                        synthetic,
                    },
                    Cut {
                        known_at,
                        occurred_by: Some(c - w),
                        synthetic,
                    },
                    Cut {
                        known_at,
                        occurred_by: Some(c + w),
                        synthetic,
                    },
                ]
            })
            .collect()
    }

    /// The register, from this projection (the ledger as the query sees it) and the folds of
    /// [`Projections::claim_cuts`]. `lookup` finds an event by id, for sources and dates.
    pub fn claims_register(
        &self,
        rules: &ClaimRules,
        known_at: Option<DateTime<Utc>>,
        trust: Option<&OdsCode>,
        folds: &[Projections],
        lookup: &dyn Fn(&EventId) -> Option<Envelope>,
    ) -> ClaimsView {
        let listed = self.listed_claims(trust);
        assert_eq!(
            folds.len(),
            listed.len() * FOLDS_PER_CLAIM,
            "claims_register needs the folds of claim_cuts, in order"
        );
        let mut totals = ClaimsTotals::default();
        let claims: Vec<ClaimEntry> = listed
            .iter()
            .zip(folds.chunks(FOLDS_PER_CLAIM))
            .map(|(l, f)| {
                let entry = entry(self, l, rules, [&f[0], &f[1], &f[2], &f[3]], lookup);
                totals.count(entry.verdict);
                entry
            })
            .collect();
        ClaimsView {
            as_at: self.as_at,
            known_at,
            rules: rules.clone(),
            claims,
            totals,
        }
    }
}

impl ClaimsTotals {
    fn count(&mut self, v: Verdict) {
        self.claims += 1;
        match v {
            Verdict::Contradicted => self.contradicted += 1,
            Verdict::ContradictedLater => self.contradicted_later += 1,
            Verdict::Unsupported => self.unsupported += 1,
            Verdict::Consistent => self.consistent += 1,
        }
    }
}

/// The months `from..=to`.
fn months_between(from: Period, to: Period) -> impl Fn(Period) -> bool {
    move |p| from <= p && p <= to
}

/// One claim's entry: the verdict from the four folds, the context, the struggle months.
fn entry(
    now: &Projections,
    l: &Listed<'_>,
    rules: &ClaimRules,
    folds: [&Projections; FOLDS_PER_CLAIM],
    lookup: Lookup<'_>,
) -> ClaimEntry {
    let [then_before, then, _, now_after] = folds;
    let c = l.fact.recorded_at;
    let w = rules.window();
    let then_months = months_between(month_of(c - w), month_of(c));
    let later_months = months_between(month_of(c - w), month_of(c + w));
    let (verdict, mut decided_by, rule) = verdict_of(l, rules, folds, lookup);
    for f in &mut decided_by {
        fill_sources(f, lookup);
    }
    let contradicted_known_at = (verdict == Verdict::ContradictedLater)
        .then(|| decided_by.iter().filter_map(|f| f.known_at).min())
        .flatten();
    let context = l
        .trusts
        .iter()
        .map(|t| {
            let ctx = ClaimContext {
                before: snapshot(then_before, t),
                at_claim: snapshot(then, t),
                after: snapshot(now_after, t),
                months: window_months(now_after, t, &later_months),
            };
            (t.to_string(), ctx)
        })
        .collect();
    ClaimEntry {
        event_id: l.event_id,
        trust: l.trust.to_string(),
        scope: l.fact.scope,
        programme: l.fact.programme.clone(),
        trusts: l.trusts.iter().map(|t| t.to_string()).collect(),
        claimant: ClaimantOut {
            claimant_type: l.fact.claimant_type,
            name: l.fact.claimant_name.clone(),
        },
        claim: l.fact.claim,
        statement: l.fact.statement.clone(),
        claimed_at: c,
        claimed_on: c.format("%Y-%m-%d").to_string(),
        sources: lookup(&l.event_id)
            .map(|e| sources_of(&e))
            .unwrap_or_default(),
        synthetic: l.fact.synthetic,
        verdict,
        rule: format!("{}: {rule}", verdict.as_str()),
        decided_by,
        contradicted_known_at,
        context,
        rests_on_struggle: struggle_before(now, l, &then_months),
    }
}

/// The verdict (see the module docs), the findings that decide it and its rule in words.
fn verdict_of(
    l: &Listed<'_>,
    rules: &ClaimRules,
    folds: [&Projections; FOLDS_PER_CLAIM],
    lookup: Lookup<'_>,
) -> (Verdict, Vec<Finding>, &'static str) {
    let [then_before, then, now_before, now_after] = folds;
    let c = l.fact.recorded_at;
    let w = rules.window();
    let then_months = months_between(month_of(c - w), month_of(c));
    let later_months = months_between(month_of(c - w), month_of(c + w));
    let eval = |rule_set: &[Rule],
                before: &Projections,
                at: &Projections,
                months: &dyn Fn(Period) -> bool| {
        let mut found = Vec::new();
        for t in &l.trusts {
            let cx = Check {
                rules,
                t,
                before,
                at,
                months,
                claimed_at: c,
                lookup,
            };
            found.extend(rule_set.iter().filter_map(|r| check(*r, &cx)));
        }
        found
    };
    let against = rules_against(l.fact.claim);
    let found = eval(against, then_before, then, &then_months);
    if !found.is_empty() {
        return (
            Verdict::Contradicted,
            found,
            "the ledger held evidence against it at its date",
        );
    }
    let found = eval(against, now_before, now_after, &later_months);
    if !found.is_empty() {
        return (
            Verdict::ContradictedLater,
            found,
            "evidence against it became known after its date",
        );
    }
    let found = eval(rules_for(l.fact.claim), then_before, then, &then_months);
    if !found.is_empty() {
        return (
            Verdict::Consistent,
            found,
            "the ledger held evidence for it and none against",
        );
    }
    (
        Verdict::Unsupported,
        Vec::new(),
        "nothing in the ledger either way at its date",
    )
}

/// The struggle months of the window before a success claim, per trust (real months only,
/// unless `count_synthetic`: decided by the caller's fold of `now`, which holds everything).
fn struggle_before(
    now: &Projections,
    l: &Listed<'_>,
    months: &dyn Fn(Period) -> bool,
) -> BTreeMap<String, Vec<Period>> {
    if !l.fact.claim.is_success() {
        return BTreeMap::new();
    }
    l.trusts
        .iter()
        .filter_map(|t| {
            let s = now.claims.get(t)?;
            let found: Vec<Period> = trust_usage_burden(s)
                .months
                .into_iter()
                .filter(|m| m.struggle_read_as_success && !m.synthetic && months(m.period))
                .map(|m| m.period)
                .collect();
            (!found.is_empty()).then(|| (t.to_string(), found))
        })
        .collect()
}

/// Whether a money event counts in the headline net cost: reported or validated, and for a
/// penalty, levied (as `money.rs` sums it).
fn in_headline(e: &Envelope) -> bool {
    let levied = match &e.body {
        EventBody::ContractPenalty(d) => d.state() == PenaltyState::Levied,
        _ => true,
    };
    e.status != Status::Estimated && levied
}

fn sources_of(e: &Envelope) -> Vec<FindingSource> {
    e.sources
        .iter()
        .map(|s| FindingSource {
            source_type: s.source_type,
            reference: s.reference.clone(),
            url: s.url.clone(),
        })
        .collect()
}

fn fill_sources(f: &mut Finding, lookup: &dyn Fn(&EventId) -> Option<Envelope>) {
    let mut sources = BTreeSet::new();
    let mut known: Option<DateTime<Utc>> = None;
    for id in &f.event_ids {
        if let Some(e) = lookup(id) {
            sources.extend(sources_of(&e));
            known = Some(known.map_or(e.recorded_at, |k| k.max(e.recorded_at)));
        }
    }
    f.sources = sources.into_iter().collect();
    f.known_at = known;
}

fn snapshot(p: &Projections, t: &OdsCode) -> ClaimSnapshot {
    let recovery_plans_open = p
        .claims
        .get(t)
        .map(|c| open_plans(c).into_iter().map(|(p, _)| p).collect())
        .unwrap_or_default();
    let Some(s) = p.trusts.get(t) else {
        return ClaimSnapshot {
            recovery_plans_open,
            ..ClaimSnapshot::default()
        };
    };
    let (lost, _) = lost::trust_view(&s.lost, p.as_at);
    let m = money::trust_view(&s.money).total;
    let incidents = crate::incidents::trust_view(&s.incidents);
    ClaimSnapshot {
        open_lost_patients: lost.open_count,
        datasets_dark: lost.reporting.suspended.keys().copied().collect(),
        net_cost_pence: m.net_cost_pence,
        net_cost_by_status: m
            .by_status
            .iter()
            .map(|(k, v)| (*k, v.net_cost_pence))
            .collect(),
        open_serious_incidents: incidents
            .safety
            .open_serious
            .iter()
            .map(|i| SeriousIncidentItem {
                local_ref: i.local_ref.clone(),
                harm: i.harm,
                event_id: i.event_id,
            })
            .collect(),
        recovery_plans_open,
    }
}

fn window_months(
    p: &Projections,
    t: &OdsCode,
    months: &dyn Fn(Period) -> bool,
) -> Vec<UsageBurdenMonth> {
    p.claims
        .get(t)
        .map(|s| {
            trust_usage_burden(s)
                .months
                .into_iter()
                .filter(|m| months(m.period))
                .collect()
        })
        .unwrap_or_default()
}

/// Recovery plans whose latest event says open, with that event.
fn open_plans(s: &ClaimsState) -> Vec<(String, EventId)> {
    let mut latest: BTreeMap<&str, (PlanState, EventId)> = BTreeMap::new();
    for e in s.plans.iter() {
        latest.insert(&e.data.plan, (e.data.state, e.event_id));
    }
    latest
        .into_iter()
        .filter(|(_, (state, _))| *state == PlanState::Open)
        .map(|(p, (_, id))| (p.to_owned(), id))
        .collect()
}

fn finding(
    rule: Rule,
    bearing: Bearing,
    t: &OdsCode,
    detail: String,
    ids: Vec<EventId>,
) -> Finding {
    Finding {
        rule,
        bearing,
        trust: t.to_string(),
        detail,
        event_ids: ids,
        sources: Vec::new(),
        known_at: None,
    }
}

/// What a rule is checked against: trust `t` in the fold `at`, with `before` the fold at the
/// start of the window and `months` the burden and usage months that count.
struct Check<'a> {
    rules: &'a ClaimRules,
    t: &'a OdsCode,
    before: &'a Projections,
    at: &'a Projections,
    months: &'a dyn Fn(Period) -> bool,
    claimed_at: DateTime<Utc>,
    lookup: Lookup<'a>,
}

/// Whether `rule` holds (see [`Check`]), with what makes it hold.
fn check(rule: Rule, cx: &Check<'_>) -> Option<Finding> {
    let Check {
        rules,
        t,
        before,
        at,
        months,
        claimed_at,
        lookup,
    } = *cx;
    let (s, c) = (at.trusts.get(t), at.claims.get(t));
    let bearing = if rules_against_any(rule) {
        Bearing::Against
    } else {
        Bearing::For
    };
    let (detail, ids) = match rule {
        Rule::DatasetDark => dataset_dark(s?, at)?,
        Rule::LostRising => lost_rising(s?, at, before.trusts.get(t), before)?,
        Rule::BurdenOver => burden_over(c?, rules, months)?,
        Rule::NetCostOver => net_cost(s?, rules, true, lookup)?,
        Rule::NetCostUnder => net_cost(s?, rules, false, lookup)?,
        Rule::RecoveryPlanOpen => {
            let open = open_plans(c?);
            if open.is_empty() {
                return None;
            }
            let names: Vec<&str> = open.iter().map(|(p, _)| p.as_str()).collect();
            (
                format!("recovery plan open: {}", names.join("; ")),
                open.iter().map(|(_, id)| *id).collect(),
            )
        }
        Rule::SeriousIncidentOpen => {
            let inc = crate::incidents::trust_view(&s?.incidents);
            let open = &inc.safety.open_serious;
            if open.is_empty() {
                return None;
            }
            let refs: Vec<String> = open
                .iter()
                .map(|i| format!("{} (harm {})", i.local_ref, i.harm))
                .collect();
            (
                format!("open serious incident: {}", refs.join(", ")),
                open.iter().map(|i| i.event_id).collect(),
            )
        }
        Rule::HarmFound => harm(c?, s, rules, true)?,
        Rule::HarmGradedBelow => harm(c?, s, rules, false)?,
        Rule::AttributedToSystem => attribution(c?, Stance::AttributesToSystem)?,
        Rule::DeniedSystemCause => attribution(c?, Stance::DeniesSystemCause)?,
        Rule::UsageFalling => usage_trend(c?, months, true)?,
        Rule::UsageRising => usage_trend(c?, months, false)?,
        Rule::ReportedInWindow => reported(s?, claimed_at - rules.window(), claimed_at)?,
    };
    Some(finding(rule, bearing, t, detail, ids))
}

fn rules_against_any(rule: Rule) -> bool {
    ClaimType::ALL
        .iter()
        .any(|c| rules_against(*c).contains(&rule))
}

type Found = Option<(String, Vec<EventId>)>;

/// Finds an event by id (the caller's log).
type Lookup<'a> = &'a dyn Fn(&EventId) -> Option<Envelope>;

fn dataset_dark(s: &TrustState, at: &Projections) -> Found {
    let (lost, _) = lost::trust_view(&s.lost, at.as_at);
    let dark = &lost.reporting.suspended;
    if dark.is_empty() {
        return None;
    }
    let names: Vec<String> = dark
        .iter()
        .map(|(d, sus)| format!("{d} suspended since {}", sus.since.format("%Y-%m-%d")))
        .collect();
    Some((
        format!("reporting suspended: {}", names.join(", ")),
        dark.values().map(|sus| sus.event_id).collect(),
    ))
}

fn lost_rising(
    s: &TrustState,
    at: &Projections,
    before: Option<&TrustState>,
    before_p: &Projections,
) -> Found {
    let (now, _) = lost::trust_view(&s.lost, at.as_at);
    let then = before.map_or(0, |b| {
        lost::trust_view(&b.lost, before_p.as_at).0.open_count
    });
    if now.open_count <= then {
        return None;
    }
    let old: BTreeSet<EventId> = before
        .map(|b| {
            lost::trust_view(&b.lost, before_p.as_at)
                .0
                .open_cases
                .iter()
                .map(|c| c.event_id)
                .collect()
        })
        .unwrap_or_default();
    Some((
        format!("open lost patients rose from {then} to {}", now.open_count),
        now.open_cases
            .iter()
            .map(|c| c.event_id)
            .filter(|id| !old.contains(id))
            .collect(),
    ))
}

/// A burden figure of a month in the window above its limit (the latest value of each figure
/// for a month stands, as in the usage-burden view).
fn burden_over(s: &ClaimsState, rules: &ClaimRules, months: &dyn Fn(Period) -> bool) -> Found {
    let mut over = Vec::new();
    let mut ids = Vec::new();
    let view = trust_usage_burden(s);
    for m in view.months.iter().filter(|m| months(m.period)) {
        let hits: Vec<String> = m
            .burden
            .iter()
            .filter(|(metric, v)| **v > rules.burden_limit(**metric))
            .map(|(metric, v)| {
                let limit = rules.burden_limit(*metric);
                format!("{metric} {v} in {} (limit {limit})", m.period)
            })
            .collect();
        if !hits.is_empty() {
            over.extend(hits);
            ids.extend(burden_events_of(s, m.period));
        }
    }
    (!ids.is_empty()).then(|| (format!("burden over its limit: {}", over.join(", ")), ids))
}

fn burden_events_of(s: &ClaimsState, p: Period) -> Vec<EventId> {
    s.burden
        .iter()
        .filter(|e| e.data.period == p)
        .map(|e| e.event_id)
        .collect()
}

/// The headline net cost at or above `net_cost_pence_min` (`over`), or below it; either needs
/// at least one event in the headline (reported or validated; a penalty levied).
fn net_cost(s: &TrustState, rules: &ClaimRules, over: bool, lookup: Lookup<'_>) -> Found {
    let m = money::trust_view(&s.money).total;
    let mut ids = s.evidence.money_events();
    ids.retain(|id| lookup(id).is_some_and(|e| in_headline(&e)));
    if ids.is_empty() {
        return None;
    }
    let holds = if over {
        m.net_cost_pence >= rules.net_cost_pence_min
    } else {
        m.net_cost_pence < rules.net_cost_pence_min
    };
    holds.then(|| {
        let side = if over { "at or above" } else { "below" };
        let (cost, limit) = (Pence(m.net_cost_pence), Pence(rules.net_cost_pence_min));
        (format!("headline net cost {cost}, {side} {limit}"), ids)
    })
}

/// Harm found at `harm_at_least` or worse (`found`), or graded harm all below it with no open
/// serious incident still ungraded (not `found`).
fn harm(c: &ClaimsState, s: Option<&TrustState>, rules: &ClaimRules, found: bool) -> Found {
    // The latest report of each incident is its grade; every other fact stands alone.
    let mut incidents: BTreeMap<&str, (Harm, EventId)> = BTreeMap::new();
    let mut others: Vec<(Harm, EventId, String)> = Vec::new();
    for e in c.harm.iter() {
        match &e.data.local_ref {
            Some(r) => {
                incidents.insert(r, (e.data.harm, e.event_id));
            }
            None => others.push((e.data.harm, e.event_id, e.data.kind.to_string())),
        }
    }
    let mut all: Vec<(Harm, EventId, String)> = incidents
        .into_iter()
        .map(|(r, (h, id))| (h, id, format!("safety incident {r}")))
        .chain(others)
        .filter(|(h, ..)| h.is_graded())
        .collect();
    all.sort_by_key(|(_, id, _)| *id);
    let at_least = rules.harm_at_least;
    if found {
        let hits: Vec<_> = all.iter().filter(|(h, ..)| *h >= at_least).collect();
        if hits.is_empty() {
            return None;
        }
        let what: Vec<String> = hits.iter().map(|(h, _, w)| format!("{w}: {h}")).collect();
        return Some((
            format!("harm at {at_least} or worse: {}", what.join(", ")),
            hits.iter().map(|(_, id, _)| *id).collect(),
        ));
    }
    let ungraded = s.is_some_and(|s| {
        crate::incidents::trust_view(&s.incidents)
            .safety
            .open_serious
            .iter()
            .any(|i| !i.harm.is_graded())
    });
    if all.is_empty() || ungraded || all.iter().any(|(h, ..)| *h >= at_least) {
        return None;
    }
    Some((
        format!("{} graded harm reports, all below {at_least}", all.len()),
        all.iter().map(|(_, id, _)| *id).collect(),
    ))
}

fn attribution(s: &ClaimsState, stance: Stance) -> Found {
    let hits: Vec<_> = s
        .attributions
        .iter()
        .filter(|e| e.data.stance == stance)
        .collect();
    if hits.is_empty() {
        return None;
    }
    let by: BTreeSet<&str> = hits.iter().map(|e| e.data.by.as_str()).collect();
    Some((
        format!(
            "{stance} by {}",
            by.into_iter().collect::<Vec<_>>().join(", ")
        ),
        hits.iter().map(|e| e.event_id).collect(),
    ))
}

/// A usage metric whose last month of the window is below (`falling`) or above its first.
fn usage_trend(s: &ClaimsState, months: &dyn Fn(Period) -> bool, falling: bool) -> Found {
    let mut by_metric: BTreeMap<UsageMetric, BTreeMap<Period, (u64, EventId)>> = BTreeMap::new();
    for e in s.usage.iter().filter(|e| months(e.data.period)) {
        by_metric
            .entry(e.data.metric)
            .or_default()
            .insert(e.data.period, (e.data.value, e.event_id));
    }
    let mut said = Vec::new();
    let mut ids = Vec::new();
    for (metric, series) in &by_metric {
        let (Some((p0, (v0, id0))), Some((p1, (v1, id1)))) =
            (series.first_key_value(), series.last_key_value())
        else {
            continue;
        };
        if p0 == p1 || (falling && v1 >= v0) || (!falling && v1 <= v0) {
            continue;
        }
        said.push(format!("{metric} {v0} in {p0} to {v1} in {p1}"));
        ids.extend([*id0, *id1]);
    }
    (!ids.is_empty()).then(|| (format!("usage: {}", said.join(", ")), ids))
}

/// Events of the trust (claims kinds are not among them) that happened in `from..=to`.
fn reported(s: &TrustState, from: DateTime<Utc>, to: DateTime<Utc>) -> Found {
    let n = s.seen.count_between(from, to);
    (n > 0).then(|| {
        (
            format!("{n} events reported in the window before the claim, none against it"),
            Vec::new(),
        )
    })
}
