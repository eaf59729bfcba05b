//! Early-warning rules: thresholds read from TOML, evaluated over the other projections.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use golive_model::{Harm, Pence, Period, RolloutState};
use serde::{Deserialize, Serialize};

use crate::coverage::{CoverageState, SILENT_AFTER_WEEKS_DEFAULT, SILENT_AFTER_WEEKS_MAX};
use crate::error::RulesError;
use crate::incidents::TrustIncidents;
use crate::lost::TrustLostPatients;
use crate::money::{MoneyFigures, TrustMoney};
use crate::rollout::TrustRollout;

/// Net cost (extra + at risk - recovered + penalties) at or above the threshold.
pub const RULE_NET_COST: &str = "net_cost";
/// Income still at risk (at risk - recovered) at or above the threshold.
pub const RULE_INCOME_AT_RISK: &str = "income_at_risk";
/// Open lost patients grew week on week for N consecutive weeks, up to the current week.
pub const RULE_OPEN_LOST_GROWTH: &str = "open_lost_growth";
/// An open serious incident at the minimum harm or worse.
pub const RULE_SERIOUS_INCIDENT: &str = "serious_incident";
/// A live trust has a dataset's reporting suspended.
pub const RULE_REPORTING_SUSPENDED: &str = "reporting_suspended";
/// A claim of success rests on months where usage rose while burden rose or held.
pub const RULE_CLAIM_ON_STRUGGLE: &str = "claim_on_struggle";
/// Activity below a share of its baseline with no improvement over N weeks, or a waiting-list
/// validation not converging.
pub const RULE_RECOVERY_STALLED: &str = "recovery_stalled";
/// Programme level: several live trusts of one programme are halt-recommended at once.
pub const RULE_PROGRAMME_SITES_HALTING: &str = "programme_sites_halting";

/// The per-trust rules, in the order they are reported.
pub const TRUST_RULES: &[&str] = &[
    RULE_NET_COST,
    RULE_INCOME_AT_RISK,
    RULE_OPEN_LOST_GROWTH,
    RULE_SERIOUS_INCIDENT,
    RULE_REPORTING_SUSPENDED,
    RULE_CLAIM_ON_STRUGGLE,
    RULE_RECOVERY_STALLED,
];

/// The rules `halt_on` names by default: every per-trust rule but `claim_on_struggle` (a claim
/// read against its cost is a question for the board, not a reason to halt) and
/// `recovery_stalled` (a slow recovery is the board's to act on; a halt is for harm and money).
pub const HALT_ON_DEFAULT: &[&str] = &[
    RULE_NET_COST,
    RULE_INCOME_AT_RISK,
    RULE_OPEN_LOST_GROWTH,
    RULE_SERIOUS_INCIDENT,
    RULE_REPORTING_SUSPENDED,
];

/// Largest `open_lost_growth_weeks`: a year.
pub const GROWTH_WEEKS_MAX: u32 = 52;

/// Thresholds of the early-warning rules. Every field has a default, so an empty TOML
/// document gives [`WarningRules::default`]; unknown fields are refused (a typo would
/// otherwise silently leave a default in force).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WarningRules {
    /// `net_cost` fires when the headline net cost (reported and validated amounts, levied
    /// penalties; never estimates or threatened penalties) is at or above this. Default £1m.
    pub net_cost_threshold_pence: i64,
    /// `income_at_risk` fires when the headline income at risk less income recovered is at or
    /// above this. Default £500k.
    pub income_at_risk_threshold_pence: i64,
    /// `open_lost_growth` fires after this many consecutive weekly increases; 0 turns it off.
    pub open_lost_growth_weeks: u32,
    /// `serious_incident` fires for an open serious incident at this harm or worse (critical),
    /// and for one whose harm is not yet graded (`unknown`: a warning saying so).
    pub serious_incident_min_harm: Harm,
    /// Whether `reporting_suspended` fires (for live trusts only).
    pub reporting_suspension_is_warning: bool,
    /// `programme_sites_halting` fires when at least this many live trusts of one programme are
    /// halt-recommended; 0 turns it off. Default 2.
    pub programme_halt_min_trusts: u32,
    /// The rules that make a trust "halt recommended". Default: [`HALT_ON_DEFAULT`].
    pub halt_on: Vec<String>,
    /// Coverage: a trust with no event in this many weeks before `as_at` is silent. Default 8.
    pub silent_after_weeks: u32,
    /// `claim_on_struggle` looks at the struggle months of this many weeks before each claim
    /// of success; 0 turns it off. Default 8.
    pub claim_on_struggle_weeks: u32,
    /// `recovery_stalled` fires for a point of delivery whose latest reported activity is below
    /// this percentage of its baseline... Default 90.
    pub recovery_stalled_below_pct: u32,
    /// ...and not above the activity reported this many weeks before it; 0 turns the activity
    /// half of the rule off. Default 8. A waiting-list validation `not_converging` fires it too.
    pub recovery_stalled_weeks: u32,
}

impl Default for WarningRules {
    fn default() -> Self {
        Self {
            net_cost_threshold_pence: 100_000_000,
            income_at_risk_threshold_pence: 50_000_000,
            open_lost_growth_weeks: 2,
            serious_incident_min_harm: Harm::Moderate,
            reporting_suspension_is_warning: true,
            programme_halt_min_trusts: 2,
            halt_on: HALT_ON_DEFAULT.iter().map(|r| (*r).to_owned()).collect(),
            silent_after_weeks: SILENT_AFTER_WEEKS_DEFAULT,
            claim_on_struggle_weeks: 8,
            recovery_stalled_below_pct: 90,
            recovery_stalled_weeks: 8,
        }
    }
}

impl WarningRules {
    /// Parses rules from a TOML document and checks them.
    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        let rules: WarningRules =
            toml::from_str(text).map_err(|e| RulesError::Toml(e.to_string()))?;
        rules.validate()?;
        Ok(rules)
    }

    /// Checks ranges and rule names.
    pub fn validate(&self) -> Result<(), RulesError> {
        for (field, v) in [
            ("net_cost_threshold_pence", self.net_cost_threshold_pence),
            (
                "income_at_risk_threshold_pence",
                self.income_at_risk_threshold_pence,
            ),
        ] {
            if v < 1 {
                return Err(RulesError::OutOfRange {
                    field,
                    expected: "at least 1 pence",
                    got: v,
                });
            }
        }
        if self.open_lost_growth_weeks > GROWTH_WEEKS_MAX {
            return Err(RulesError::OutOfRange {
                field: "open_lost_growth_weeks",
                expected: "0 (off) to 52",
                got: i64::from(self.open_lost_growth_weeks),
            });
        }
        if self.claim_on_struggle_weeks > GROWTH_WEEKS_MAX {
            return Err(RulesError::OutOfRange {
                field: "claim_on_struggle_weeks",
                expected: "0 (off) to 52",
                got: i64::from(self.claim_on_struggle_weeks),
            });
        }
        if self.recovery_stalled_weeks > GROWTH_WEEKS_MAX {
            return Err(RulesError::OutOfRange {
                field: "recovery_stalled_weeks",
                expected: "0 (off) to 52",
                got: i64::from(self.recovery_stalled_weeks),
            });
        }
        if !(1..=100).contains(&self.recovery_stalled_below_pct) {
            return Err(RulesError::OutOfRange {
                field: "recovery_stalled_below_pct",
                expected: "1 to 100",
                got: i64::from(self.recovery_stalled_below_pct),
            });
        }
        if !(1..=SILENT_AFTER_WEEKS_MAX).contains(&self.silent_after_weeks) {
            return Err(RulesError::OutOfRange {
                field: "silent_after_weeks",
                expected: "1 to 520",
                got: i64::from(self.silent_after_weeks),
            });
        }
        for id in &self.halt_on {
            if !TRUST_RULES.contains(&id.as_str()) {
                return Err(RulesError::UnknownRule {
                    rule: id.clone(),
                    known: TRUST_RULES.join(", "),
                });
            }
        }
        Ok(())
    }

    /// The settings of `recovery_stalled`'s activity half.
    pub(crate) fn stall_rule(&self) -> crate::recovery::StallRule {
        crate::recovery::StallRule {
            below_pct: self.recovery_stalled_below_pct,
            weeks: self.recovery_stalled_weeks,
        }
    }

    fn halts_on(&self, rule: &str) -> bool {
        self.halt_on.iter().any(|r| r == rule)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Critical,
}

/// A rule that fired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// The rule id, e.g. `net_cost`.
    pub id: String,
    pub severity: Severity,
    /// For a person, with the figures behind it.
    pub message: String,
    /// Since when the condition holds, as far as the events tell.
    pub since: Option<DateTime<Utc>>,
    /// Whether this rule is one of `halt_on`.
    pub halt: bool,
    /// It fired only because of synthetic events: without them it would not have
    /// ([`mark_synthetic_only`]).
    #[serde(default)]
    pub synthetic_only: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrustWarnings {
    pub live: bool,
    pub programme: Option<String>,
    pub status: Option<RolloutState>,
    pub warnings: Vec<Warning>,
    pub halt_recommended: bool,
    /// Messages of the fired `halt_on` rules.
    pub halt_reasons: Vec<String>,
    /// Earliest `since` of the fired `halt_on` rules.
    pub halt_since: Option<DateTime<Utc>>,
    /// Whether the trust is reporting, silent or dark (see the coverage view).
    pub coverage: CoverageState,
    /// The trust at a glance; see [`apply_coverage`].
    pub state: OverallState,
}

/// A trust at a glance. `unknown` whenever a live trust is silent or dark: its silence is not
/// evidence that all is well, whatever its warnings say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverallState {
    Ok,
    Warning,
    Halt,
    Unknown,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WarningsTotals {
    pub trusts: u64,
    pub trusts_with_warnings: u64,
    pub warnings: u64,
    pub critical: u64,
    /// Trusts (of those included) with a halt recommended.
    pub halt_recommended: Vec<String>,
    pub programme_warnings: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WarningsView {
    pub as_at: Option<DateTime<Utc>>,
    pub rules: WarningRules,
    pub trusts: BTreeMap<String, TrustWarnings>,
    /// Programme-level warnings, only for programmes with one.
    pub programmes: BTreeMap<String, Vec<Warning>>,
    pub total: WarningsTotals,
}

/// What the rules read about one trust.
pub(crate) struct TrustFacts<'a> {
    pub rollout: &'a TrustRollout,
    pub money: &'a TrustMoney,
    pub lost: &'a TrustLostPatients,
    pub incidents: &'a TrustIncidents,
    /// The trust's claims of success made within `claim_on_struggle_weeks` after a struggle
    /// month (real months only).
    pub claims_on_struggle: &'a [crate::claims::StruggleClaim],
    /// The trust's recovery (default tariffs: the rule reads no money), if it reports activity
    /// or validations.
    pub recovery: Option<&'a crate::recovery::TrustRecovery>,
}

fn month_start(p: Period) -> Option<DateTime<Utc>> {
    NaiveDate::from_ymd_opt(i32::from(p.year), u32::from(p.month), 1)
        .map(|d| d.and_time(NaiveTime::MIN).and_utc())
}

/// The start of the month from which the running total has stayed at or above `threshold`.
fn crossed_since(
    by_month: &BTreeMap<Period, MoneyFigures>,
    value: impl Fn(&MoneyFigures) -> i64,
    threshold: i64,
) -> Option<DateTime<Utc>> {
    let mut running = 0i64;
    let mut since = None;
    for (p, f) in by_month {
        running = running.saturating_add(value(f));
        if running >= threshold {
            since.get_or_insert(*p);
        } else {
            since = None;
        }
    }
    since.and_then(month_start)
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// A per-trust rule that fired, before `halt_on` says whether it halts.
struct Fired {
    severity: Severity,
    message: String,
    since: Option<DateTime<Utc>>,
}

/// One per-trust rule: what it reads of the rules and the trust, and whether it fires.
type TrustRule = fn(&WarningRules, &TrustFacts<'_>) -> Option<Fired>;

/// Each per-trust rule by its id, in the order of [`TRUST_RULES`] (the order they are reported).
const TRUST_RULE_CHECKS: [(&str, TrustRule); 7] = [
    (RULE_NET_COST, net_cost),
    (RULE_INCOME_AT_RISK, income_at_risk),
    (RULE_OPEN_LOST_GROWTH, open_lost_growth),
    (RULE_SERIOUS_INCIDENT, serious_incident),
    (RULE_REPORTING_SUSPENDED, reporting_suspended),
    (RULE_CLAIM_ON_STRUGGLE, claim_on_struggle),
    (RULE_RECOVERY_STALLED, recovery_stalled),
];

/// `recovery_stalled`: a point of delivery below its share of baseline with no improvement over
/// the rule's weeks, or a waiting-list validation whose `remaining` is not falling.
fn recovery_stalled(_rules: &WarningRules, f: &TrustFacts<'_>) -> Option<Fired> {
    use crate::recovery::BurnDownState;
    let r = f.recovery?;
    let mut parts = Vec::new();
    let mut since: Option<chrono::NaiveDate> = None;
    let mut earliest = |d: chrono::NaiveDate| since = Some(since.map_or(d, |s| s.min(d)));
    for (pod, p) in &r.points_of_delivery {
        if let Some(s) = &p.stalled {
            earliest(s.since);
            parts.push(format!(
                "{pod} at {}% of baseline in {}, no better than {}% in {} ({} weeks before; the limit is {}%)",
                s.latest_pct_of_baseline,
                s.latest,
                s.earlier_pct_of_baseline,
                s.earlier,
                s.weeks,
                s.below_pct
            ));
        }
    }
    for (pathway, b) in &r.burn_down {
        if b.state == BurnDownState::NotConverging {
            let Some(last) = b.points.last() else {
                continue;
            };
            let recent = &b.points[b
                .points
                .len()
                .saturating_sub(crate::recovery::BURN_DOWN_REPORTS)..];
            parts.push(format!(
                "{pathway} validation not converging: {} records remaining on {} (from {} on {})",
                last.remaining, last.date, recent[0].remaining, recent[0].date
            ));
            earliest(recent[0].date);
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(Fired {
        severity: Severity::Warning,
        message: format!("recovery stalled: {}", parts.join("; ")),
        since: since.map(|d| d.and_time(NaiveTime::MIN).and_utc()),
    })
}

/// `claim_on_struggle`: a claim of success rests on struggle months.
fn claim_on_struggle(_rules: &WarningRules, f: &TrustFacts<'_>) -> Option<Fired> {
    let first = f.claims_on_struggle.first()?;
    let said: Vec<String> = f
        .claims_on_struggle
        .iter()
        .map(|c| {
            let months: Vec<String> = c.months.iter().map(|p| p.to_string()).collect();
            format!(
                "`{}` of {} by {} rests on {}",
                c.claim,
                day(c.claimed_at),
                c.claimant,
                months.join(", ")
            )
        })
        .collect();
    Some(Fired {
        severity: Severity::Warning,
        message: format!(
            "a claim of success rests on months where usage rose while burden rose or held: {}",
            said.join("; ")
        ),
        since: Some(first.claimed_at),
    })
}

pub(crate) fn evaluate_trust(rules: &WarningRules, f: &TrustFacts<'_>) -> TrustWarnings {
    let warnings: Vec<Warning> = TRUST_RULE_CHECKS
        .iter()
        .filter_map(|(id, rule)| {
            let fired = rule(rules, f)?;
            Some(Warning {
                id: (*id).to_owned(),
                severity: fired.severity,
                message: fired.message,
                since: fired.since,
                halt: rules.halts_on(id),
                synthetic_only: false,
            })
        })
        .collect();
    let halting: Vec<&Warning> = warnings.iter().filter(|w| w.halt).collect();
    TrustWarnings {
        live: f.rollout.live,
        programme: f.rollout.programme.clone(),
        status: f.rollout.status,
        halt_recommended: !halting.is_empty(),
        halt_reasons: halting
            .iter()
            .map(|w| format!("{}: {}", w.id, w.message))
            .collect(),
        halt_since: halting.iter().filter_map(|w| w.since).min(),
        warnings,
        coverage: CoverageState::Reporting,
        state: OverallState::Ok,
    }
}

/// Sets the trust's coverage and its state: `halt` when a halt is recommended (the strongest
/// signal stays visible; the coverage field still says silent or dark); else `unknown` for a
/// live trust that is silent or dark, whose quiet is never read as OK; else `warning` or `ok`
/// from the fired rules.
pub(crate) fn apply_coverage(w: &mut TrustWarnings, coverage: CoverageState) {
    w.coverage = coverage;
    w.state = if w.halt_recommended {
        OverallState::Halt
    } else if w.live && coverage != CoverageState::Reporting {
        OverallState::Unknown
    } else if !w.warnings.is_empty() {
        OverallState::Warning
    } else {
        OverallState::Ok
    };
}

/// `net_cost`: the trust's net cost is at or above the threshold.
fn net_cost(rules: &WarningRules, f: &TrustFacts<'_>) -> Option<Fired> {
    let m = &f.money.total;
    if m.net_cost_pence < rules.net_cost_threshold_pence {
        return None;
    }
    Some(Fired {
        severity: Severity::Warning,
        message: format!(
            "net cost {} is at or above the threshold of {} (extra cost {}, income at risk {}, recovered {}, penalties {})",
            Pence(m.net_cost_pence),
            Pence(rules.net_cost_threshold_pence),
            Pence(m.extra_cost_pence),
            Pence(m.income_at_risk_pence),
            Pence(m.income_recovered_pence),
            Pence(m.contract_penalty_pence),
        ),
        since: crossed_since(
            &f.money.by_month,
            |x| x.net_cost_pence,
            rules.net_cost_threshold_pence,
        ),
    })
}

/// `income_at_risk`: income at risk less income recovered is at or above the threshold.
fn income_at_risk(rules: &WarningRules, f: &TrustFacts<'_>) -> Option<Fired> {
    let m = &f.money.total;
    let outstanding = m.income_outstanding_pence();
    if outstanding < rules.income_at_risk_threshold_pence {
        return None;
    }
    Some(Fired {
        severity: Severity::Warning,
        message: format!(
            "income still at risk {} (at risk {}, recovered {}) is at or above the threshold of {}",
            Pence(outstanding),
            Pence(m.income_at_risk_pence),
            Pence(m.income_recovered_pence),
            Pence(rules.income_at_risk_threshold_pence),
        ),
        since: crossed_since(
            &f.money.by_month,
            MoneyFigures::income_outstanding_pence,
            rules.income_at_risk_threshold_pence,
        ),
    })
}

/// `open_lost_growth`: open lost patients grew for the last N weeks in a row.
fn open_lost_growth(rules: &WarningRules, f: &TrustFacts<'_>) -> Option<Fired> {
    let n = rules.open_lost_growth_weeks as usize;
    let weekly = &f.lost.weekly_open;
    if n == 0 || weekly.is_empty() {
        return None;
    }
    // Before the first week of the series no patient was known to be lost.
    let values: Vec<u64> = std::iter::once(0)
        .chain(weekly.iter().map(|w| w.open))
        .collect();
    let streak = values.windows(2).rev().take_while(|w| w[1] > w[0]).count();
    if streak < n {
        return None;
    }
    let first = &weekly[weekly.len() - streak];
    let last = &weekly[weekly.len() - 1];
    let shown: Vec<String> = values[values.len() - streak - 1..]
        .iter()
        .map(u64::to_string)
        .collect();
    Some(Fired {
        severity: Severity::Warning,
        message: format!(
            "open lost patients grew for {streak} consecutive weeks, {} to {}: {}",
            first.week,
            last.week,
            shown.join(" -> ")
        ),
        since: Some(first.week_start.and_time(NaiveTime::MIN).and_utc()),
    })
}

/// `serious_incident`: an open serious incident at the minimum harm or worse (critical), or
/// one whose harm is not yet graded (a warning: never read as no harm).
fn serious_incident(rules: &WarningRules, f: &TrustFacts<'_>) -> Option<Fired> {
    let open = &f.incidents.safety.open_serious;
    let graded: Vec<_> = open
        .iter()
        .filter(|i| i.harm.is_graded() && i.harm >= rules.serious_incident_min_harm)
        .collect();
    let ungraded: Vec<_> = open.iter().filter(|i| !i.harm.is_graded()).collect();
    if graded.is_empty() && ungraded.is_empty() {
        return None;
    }
    let list = |items: &[&crate::IncidentItem]| -> String {
        items
            .iter()
            .map(|i| {
                format!(
                    "{} ({}, open since {})",
                    i.local_ref,
                    i.harm,
                    day(i.opened_at)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = Vec::new();
    if !graded.is_empty() {
        parts.push(format!(
            "{} open serious incident(s) at {} harm or worse: {}",
            graded.len(),
            rules.serious_incident_min_harm,
            list(&graded)
        ));
    }
    if !ungraded.is_empty() {
        parts.push(format!(
            "{} open serious incident(s) whose harm is not yet graded: {}",
            ungraded.len(),
            list(&ungraded)
        ));
    }
    Some(Fired {
        severity: if graded.is_empty() {
            Severity::Warning
        } else {
            Severity::Critical
        },
        message: parts.join("; "),
        since: graded.iter().chain(&ungraded).map(|i| i.opened_at).min(),
    })
}

/// `reporting_suspended`: a live trust has a dataset's reporting suspended.
fn reporting_suspended(rules: &WarningRules, f: &TrustFacts<'_>) -> Option<Fired> {
    let suspended = &f.lost.reporting.suspended;
    if !rules.reporting_suspension_is_warning || !f.rollout.live || suspended.is_empty() {
        return None;
    }
    let list: Vec<String> = suspended
        .iter()
        .map(|(d, s)| format!("{d} since {}", day(s.since)))
        .collect();
    Some(Fired {
        severity: Severity::Critical,
        message: format!("reporting suspended while live: {}", list.join(", ")),
        since: suspended.values().map(|s| s.since).min(),
    })
}

/// Programme-level warnings over every trust, keyed by programme.
pub(crate) fn evaluate_programmes(
    rules: &WarningRules,
    all: &BTreeMap<String, TrustWarnings>,
) -> BTreeMap<String, Vec<Warning>> {
    let mut out = BTreeMap::new();
    let min = rules.programme_halt_min_trusts as usize;
    if min == 0 {
        return out;
    }
    // Programme -> its live, halt-recommended trusts with their halt_since.
    type Halting<'a> = Vec<(&'a str, Option<DateTime<Utc>>)>;
    let mut halting: BTreeMap<&str, Halting<'_>> = BTreeMap::new();
    for (code, t) in all {
        if let (true, true, Some(p)) = (t.live, t.halt_recommended, &t.programme) {
            halting.entry(p).or_default().push((code, t.halt_since));
        }
    }
    for (programme, trusts) in halting {
        if trusts.len() < min {
            continue;
        }
        // The condition began when the min-th trust became halt-recommended.
        let mut sinces: Vec<DateTime<Utc>> = trusts.iter().filter_map(|t| t.1).collect();
        sinces.sort_unstable();
        let names: Vec<&str> = trusts.iter().map(|t| t.0).collect();
        out.insert(
            programme.to_owned(),
            vec![Warning {
                id: RULE_PROGRAMME_SITES_HALTING.to_owned(),
                severity: Severity::Critical,
                message: format!(
                    "{} live trusts of {programme} are halt-recommended at once: {}",
                    trusts.len(),
                    names.join(", ")
                ),
                since: sinces.get(min - 1).copied(),
                halt: true,
                synthetic_only: false,
            }],
        );
    }
    out
}

/// Marks each warning of `view` that the sourced-only view (the same rules, without synthetic
/// events) does not have, by trust (or programme) and rule: it fired only because of synthetic
/// events.
pub(crate) fn mark_synthetic_only(view: &mut WarningsView, sourced: &WarningsView) {
    fn mark(ws: &mut [Warning], theirs: Option<&Vec<Warning>>) {
        for w in ws {
            w.synthetic_only = !theirs.is_some_and(|t| t.iter().any(|x| x.id == w.id));
        }
    }
    for (code, t) in &mut view.trusts {
        mark(
            &mut t.warnings,
            sourced.trusts.get(code).map(|s| &s.warnings),
        );
    }
    for (name, ws) in &mut view.programmes {
        mark(ws, sourced.programmes.get(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_table_reports_the_rules_in_the_documented_order() {
        // Proves the table evaluate_trust walks names every per-trust rule once, in TRUST_RULES' order.
        let ids: Vec<&str> = TRUST_RULE_CHECKS.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, TRUST_RULES);
    }
}
