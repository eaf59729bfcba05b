//! Money per trust, per category and per month: extra cost, income at risk, income recovered,
//! contract penalties. Integer pence, summed with saturating arithmetic.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use golive_model::{CostCategory, EventBody, IncomeCategory, Period};
use serde::{Deserialize, Serialize};

/// Key of `income_recovered` with no category.
pub const UNSPECIFIED: &str = "unspecified";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct MonthMoney {
    pub extra_cost: BTreeMap<CostCategory, i64>,
    pub income_at_risk: BTreeMap<IncomeCategory, i64>,
    /// By income category name, or [`UNSPECIFIED`].
    pub income_recovered: BTreeMap<String, i64>,
    /// By commissioner.
    pub contract_penalty: BTreeMap<String, i64>,
}

impl MonthMoney {
    fn is_empty(&self) -> bool {
        self.extra_cost.is_empty()
            && self.income_at_risk.is_empty()
            && self.income_recovered.is_empty()
            && self.contract_penalty.is_empty()
    }
}

/// Running sums per month. Zero sums are pruned, so adding an event and then removing it
/// leaves exactly the state there was before.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct MoneyState {
    pub months: BTreeMap<Period, MonthMoney>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    Add,
    Remove,
}

fn bump<K: Ord>(map: &mut BTreeMap<K, i64>, key: K, amount: i64, dir: Direction) {
    let v = map.entry(key).or_default();
    *v = match dir {
        Direction::Add => v.saturating_add(amount),
        Direction::Remove => v.saturating_sub(amount),
    };
    map.retain(|_, v| *v != 0);
}

impl MoneyState {
    /// Adds or removes the money `body` moves. `occurred_at` dates the kinds without a period.
    pub fn change(&mut self, occurred_at: DateTime<Utc>, body: &EventBody, dir: Direction) {
        let month = match body {
            EventBody::ExtraCost(_) => Period::of(occurred_at),
            EventBody::IncomeAtRisk(d) => d.period.unwrap_or_else(|| Period::of(occurred_at)),
            EventBody::IncomeRecovered(d) => d.period.unwrap_or_else(|| Period::of(occurred_at)),
            EventBody::ContractPenalty(d) => d.period.unwrap_or_else(|| Period::of(occurred_at)),
            _ => return,
        };
        let m = self.months.entry(month).or_default();
        match body {
            EventBody::ExtraCost(d) => bump(&mut m.extra_cost, d.category, d.amount_pence.0, dir),
            EventBody::IncomeAtRisk(d) => {
                bump(&mut m.income_at_risk, d.category, d.amount_pence.0, dir)
            }
            EventBody::IncomeRecovered(d) => {
                let key = d.category.map_or(UNSPECIFIED, |c| c.as_str()).to_owned();
                bump(&mut m.income_recovered, key, d.amount_pence.0, dir)
            }
            EventBody::ContractPenalty(d) => bump(
                &mut m.contract_penalty,
                d.commissioner.clone(),
                d.amount_pence.0,
                dir,
            ),
            _ => {}
        }
        if m.is_empty() {
            self.months.remove(&month);
        }
    }
}

/// Money figures for one trust or many, over one month or all.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MoneyFigures {
    pub extra_cost_pence: i64,
    /// Every category, zero included.
    pub extra_cost_by_category: BTreeMap<CostCategory, i64>,
    pub income_at_risk_pence: i64,
    /// Every category, zero included.
    pub income_at_risk_by_category: BTreeMap<IncomeCategory, i64>,
    pub income_recovered_pence: i64,
    /// Every income category and `unspecified`, zero included.
    pub income_recovered_by_category: BTreeMap<String, i64>,
    pub contract_penalty_pence: i64,
    pub contract_penalty_by_commissioner: BTreeMap<String, i64>,
    /// `extra_cost + income_at_risk - income_recovered + contract_penalty`.
    pub net_cost_pence: i64,
}

impl Default for MoneyFigures {
    fn default() -> Self {
        let mut recovered: BTreeMap<String, i64> = IncomeCategory::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), 0))
            .collect();
        recovered.insert(UNSPECIFIED.to_owned(), 0);
        Self {
            extra_cost_pence: 0,
            extra_cost_by_category: CostCategory::ALL.iter().map(|c| (*c, 0)).collect(),
            income_at_risk_pence: 0,
            income_at_risk_by_category: IncomeCategory::ALL.iter().map(|c| (*c, 0)).collect(),
            income_recovered_pence: 0,
            income_recovered_by_category: recovered,
            contract_penalty_pence: 0,
            contract_penalty_by_commissioner: BTreeMap::new(),
            net_cost_pence: 0,
        }
    }
}

fn add_into<K: Ord + Clone>(into: &mut BTreeMap<K, i64>, from: &BTreeMap<K, i64>) -> i64 {
    let mut sum = 0i64;
    for (k, v) in from {
        let e = into.entry(k.clone()).or_default();
        *e = e.saturating_add(*v);
        sum = sum.saturating_add(*v);
    }
    sum
}

impl MoneyFigures {
    fn add_month(&mut self, m: &MonthMoney) {
        let extra = add_into(&mut self.extra_cost_by_category, &m.extra_cost);
        let at_risk = add_into(&mut self.income_at_risk_by_category, &m.income_at_risk);
        let recovered = add_into(&mut self.income_recovered_by_category, &m.income_recovered);
        let penalty = add_into(
            &mut self.contract_penalty_by_commissioner,
            &m.contract_penalty,
        );
        self.extra_cost_pence = self.extra_cost_pence.saturating_add(extra);
        self.income_at_risk_pence = self.income_at_risk_pence.saturating_add(at_risk);
        self.income_recovered_pence = self.income_recovered_pence.saturating_add(recovered);
        self.contract_penalty_pence = self.contract_penalty_pence.saturating_add(penalty);
        self.net_cost_pence = self
            .extra_cost_pence
            .saturating_add(self.income_at_risk_pence)
            .saturating_sub(self.income_recovered_pence)
            .saturating_add(self.contract_penalty_pence);
    }

    fn add(&mut self, o: &MoneyFigures) {
        add_into(&mut self.extra_cost_by_category, &o.extra_cost_by_category);
        add_into(
            &mut self.income_at_risk_by_category,
            &o.income_at_risk_by_category,
        );
        add_into(
            &mut self.income_recovered_by_category,
            &o.income_recovered_by_category,
        );
        add_into(
            &mut self.contract_penalty_by_commissioner,
            &o.contract_penalty_by_commissioner,
        );
        self.extra_cost_pence = self.extra_cost_pence.saturating_add(o.extra_cost_pence);
        self.income_at_risk_pence = self
            .income_at_risk_pence
            .saturating_add(o.income_at_risk_pence);
        self.income_recovered_pence = self
            .income_recovered_pence
            .saturating_add(o.income_recovered_pence);
        self.contract_penalty_pence = self
            .contract_penalty_pence
            .saturating_add(o.contract_penalty_pence);
        self.net_cost_pence = self.net_cost_pence.saturating_add(o.net_cost_pence);
    }

    /// Income still at risk: at risk minus recovered.
    pub fn income_outstanding_pence(&self) -> i64 {
        self.income_at_risk_pence
            .saturating_sub(self.income_recovered_pence)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrustMoney {
    pub total: MoneyFigures,
    /// Months with any money, `YYYY-MM`.
    pub by_month: BTreeMap<Period, MoneyFigures>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MoneyView {
    pub trusts: BTreeMap<String, TrustMoney>,
    pub total: MoneyFigures,
    pub by_month: BTreeMap<Period, MoneyFigures>,
}

pub(crate) fn trust_view(s: &MoneyState) -> TrustMoney {
    let mut out = TrustMoney::default();
    for (p, m) in &s.months {
        let mut f = MoneyFigures::default();
        f.add_month(m);
        out.total.add_month(m);
        out.by_month.insert(*p, f);
    }
    out
}

pub(crate) fn view<'a>(trusts: impl Iterator<Item = (&'a str, &'a MoneyState)>) -> MoneyView {
    let mut out = MoneyView::default();
    for (code, s) in trusts {
        let t = trust_view(s);
        out.total.add(&t.total);
        for (p, f) in &t.by_month {
            out.by_month.entry(*p).or_default().add(f);
        }
        out.trusts.insert(code.to_owned(), t);
    }
    out
}
