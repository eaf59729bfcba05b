//! The headline figures of each trust: what a board report leads with and what `golive audit
//! figures` re-derives from an export. One definition, computed from a [`Projections`], so the
//! report, the offline re-derivation and the API (whose views these figures are read from)
//! cannot disagree.

use std::collections::BTreeMap;

use golive_model::{OdsCode, Status};
use golive_projections::{Align, Projections, Tariffs, WarningRules};
use serde::Serialize;

/// One trust's headline figures. Money is integer pence: the headline counts reported and
/// validated amounts and levied penalties (as `/v1/money`'s `total`); estimates apart.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TrustHeadline {
    pub net_cost_pence: i64,
    pub extra_cost_pence: i64,
    pub income_at_risk_pence: i64,
    pub income_recovered_pence: i64,
    pub contract_penalty_pence: i64,
    /// Net cost of the estimated figures: never in the headline.
    pub estimated_net_cost_pence: i64,
    pub open_lost_patients: u64,
    pub open_serious_incidents: u64,
    /// Rollout status (`null` when none was reported).
    pub rollout_status: Option<String>,
    pub go_live: Option<String>,
    pub coverage: String,
    pub warnings: u64,
    pub halt_recommended: bool,
    /// Priced activity shortfall of the recovery view (0 without activity reports).
    pub priced_shortfall_pence: i64,
}

/// The headline of every trust (or one), of the projections it is computed from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Headline {
    pub trusts: BTreeMap<String, TrustHeadline>,
}

/// The headline figures of `p`, for `trust` or every trust.
pub fn headline(
    p: &Projections,
    rules: &WarningRules,
    tariffs: &Tariffs,
    trust: Option<&OdsCode>,
) -> Headline {
    let money = p.money(trust);
    let lost = p.lost_patients(trust);
    let incidents = p.incidents(trust);
    let rollout = p.rollout(trust);
    let warnings = p.warnings(rules, trust);
    let recovery = p.recovery(tariffs, rules, trust, Align::Calendar);
    let mut out = Headline::default();
    for code in p.trusts() {
        if trust.is_some_and(|t| *t != code) {
            continue;
        }
        let c = code.as_str();
        let mut h = TrustHeadline::default();
        if let Some(m) = money.trusts.get(c) {
            let t = &m.total;
            h.net_cost_pence = t.net_cost_pence;
            h.extra_cost_pence = t.extra_cost_pence;
            h.income_at_risk_pence = t.income_at_risk_pence;
            h.income_recovered_pence = t.income_recovered_pence;
            h.contract_penalty_pence = t.contract_penalty_pence;
            h.estimated_net_cost_pence = t
                .by_status
                .get(&Status::Estimated)
                .map_or(0, |s| s.net_cost_pence);
        }
        h.open_lost_patients = lost.trusts.get(c).map_or(0, |l| l.open_count);
        h.open_serious_incidents = incidents
            .trusts
            .get(c)
            .map_or(0, |i| i.safety.open_serious.len() as u64);
        if let Some(r) = rollout.trusts.get(c) {
            h.rollout_status = r.status.as_ref().map(crate::name_of);
            h.go_live = r.go_live.map(|t| t.format("%Y-%m-%d").to_string());
        }
        if let Some(w) = warnings.trusts.get(c) {
            h.coverage = crate::name_of(&w.coverage);
            h.warnings = w.warnings.len() as u64;
            h.halt_recommended = w.halt_recommended;
        }
        h.priced_shortfall_pence = recovery
            .trusts
            .get(c)
            .map_or(0, |r| r.priced_shortfall_pence);
        out.trusts.insert(c.to_owned(), h);
    }
    out
}
