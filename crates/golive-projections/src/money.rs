//! Money per trust, per category, per status and per month: extra cost, income at risk, income
//! recovered, contract penalties. Integer pence, summed with saturating arithmetic.
//!
//! **The headline rule.** The headline figures of [`MoneyFigures`] (`extra_cost_pence`,
//! `income_at_risk_pence`, `income_recovered_pence`, `contract_penalty_pence`, `net_cost_pence`
//! and the by-category maps) count `reported` and `validated` amounts only, and of penalties only
//! `levied` ones (schema-1 penalties read as levied). `estimated` amounts are in
//! `by_status.estimated`, never in the headline; threatened and waived penalties (of any status)
//! are in `penalties_threatened_pence` (exposure) and `penalties_waived_pence`.
//!
//! **Periods.** One month: that month. A range: spread evenly over its months in whole pence,
//! the remainder 1p each to the earliest months. No period: the month of `occurred_at`. To date:
//! per (kind, category or commissioner) the chain of to-date figures, ordered by `(as_at, seq)`;
//! only the latest counts in totals, and in the monthly series each figure adds its difference
//! from the previous figure of its chain to the month of its `as_at` (the previous one is
//! subtracted from the previous one's status and state), so the months sum to the latest figure.
//! Those differences are also `restated_pence` (in net-cost terms, headline buckets only).
//!
//! Kept as running sums per (month, status, line) for the monthly forms and as chains for the
//! to-date form, both derived into views when asked; so removing an event (a correction) restores
//! exactly the state before it.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use golive_model::{
    CostCategory, EventBody, EventId, IncomeCategory, PenaltyState, Period, Span, Status,
};
use serde::{Deserialize, Serialize};

/// Key of `income_recovered` with no category.
pub const UNSPECIFIED: &str = "unspecified";

/// What a sum is of: the kind and its category (commissioner and state for penalties).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) enum Line {
    Extra(CostCategory),
    AtRisk(IncomeCategory),
    /// By income category name, or [`UNSPECIFIED`].
    Recovered(String),
    Penalty(String, PenaltyState),
}

impl Line {
    fn of(body: &EventBody) -> Option<(Line, i64)> {
        Some(match body {
            EventBody::ExtraCost(d) => (Line::Extra(d.category), d.amount_pence.0),
            EventBody::IncomeAtRisk(d) => (Line::AtRisk(d.category), d.amount_pence.0),
            EventBody::IncomeRecovered(d) => {
                let key = d.category.map_or(UNSPECIFIED, |c| c.as_str()).to_owned();
                (Line::Recovered(key), d.amount_pence.0)
            }
            EventBody::ContractPenalty(d) => (
                Line::Penalty(d.commissioner.clone(), d.state()),
                d.amount_pence.0,
            ),
            _ => return None,
        })
    }

    /// The chain a to-date figure belongs to: the line without a penalty's state.
    fn chain(&self) -> Line {
        match self {
            Line::Penalty(c, _) => Line::Penalty(c.clone(), PenaltyState::Levied),
            other => other.clone(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Line::Extra(_) => "extra_cost",
            Line::AtRisk(_) => "income_at_risk",
            Line::Recovered(_) => "income_recovered",
            Line::Penalty(..) => "contract_penalty",
        }
    }

    fn category(&self) -> String {
        match self {
            Line::Extra(c) => c.as_str().to_owned(),
            Line::AtRisk(c) => c.as_str().to_owned(),
            Line::Recovered(c) | Line::Penalty(c, _) => c.clone(),
        }
    }
}

/// One to-date figure of a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ToDateFact {
    pub event_id: EventId,
    pub status: Status,
    pub line: Line,
    pub amount_pence: i64,
}

/// Running sums per month for the monthly forms, and the to-date chains. Zero sums and empty
/// chains are pruned, so adding an event and then removing it leaves exactly the state there was
/// before.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct MoneyState {
    pub months: BTreeMap<Period, BTreeMap<(Status, Line), i64>>,
    /// By chain ([`Line::chain`]), then `(as_at, seq)`.
    pub to_date: BTreeMap<Line, BTreeMap<(NaiveDate, u64), ToDateFact>>,
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

/// The months from `from` to `to`, both included.
fn months_between(from: Period, to: Period) -> Vec<Period> {
    let mut out = Vec::new();
    let mut p = from;
    while p <= to {
        out.push(p);
        p = if p.month == 12 {
            Period {
                year: p.year.saturating_add(1),
                month: 1,
            }
        } else {
            Period {
                year: p.year,
                month: p.month + 1,
            }
        };
    }
    out
}

/// `amount` spread over `n` months in whole pence, the remainder 1p each to the earliest.
pub(crate) fn spread(amount: i64, n: usize) -> Vec<i64> {
    let n64 = n.max(1) as i64;
    let (base, rem) = (amount / n64, amount % n64);
    (0..n as i64)
        .map(|i| if i < rem { base + 1 } else { base })
        .collect()
}

/// What one money event moves, read once from its body: the line, the amount and the span.
/// [`MoneyState::add`] and [`MoneyState::remove`] read nothing else of an event, so a money
/// history keeps this (`money_history`) instead of the event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MoneyMove {
    line: Line,
    amount_pence: i64,
    span: Option<Span>,
}

impl MoneyMove {
    /// The money `b` moves; `None` when `b` is not a money kind.
    pub fn of(b: &EventBody) -> Option<Self> {
        let (line, amount_pence) = Line::of(b)?;
        Some(Self {
            line,
            amount_pence,
            span: b.span(),
        })
    }
}

impl MoneyState {
    /// Adds the money `body` moves; `seq` orders to-date figures of the same `as_at`.
    pub fn add(&mut self, seq: u64, at: DateTime<Utc>, id: EventId, status: Status, b: &EventBody) {
        if let Some(m) = MoneyMove::of(b) {
            self.add_move(seq, at, id, status, &m);
        }
    }

    /// Removes exactly what [`Self::add`] added for the event `id`.
    pub fn remove(&mut self, at: DateTime<Utc>, id: EventId, status: Status, b: &EventBody) {
        if let Some(m) = MoneyMove::of(b) {
            self.remove_move(at, id, status, &m);
        }
    }

    /// [`Self::add`] of what was read of the body already.
    pub fn add_move(
        &mut self,
        seq: u64,
        at: DateTime<Utc>,
        id: EventId,
        status: Status,
        m: &MoneyMove,
    ) {
        if let Some(Span::ToDate { as_at }) = m.span {
            let fact = ToDateFact {
                event_id: id,
                status,
                line: m.line.clone(),
                amount_pence: m.amount_pence,
            };
            self.to_date
                .entry(m.line.chain())
                .or_default()
                .insert((as_at, seq), fact);
            return;
        }
        let line = m.line.clone();
        self.monthly(at, status, line, m.amount_pence, m.span, Direction::Add);
    }

    /// [`Self::remove`] of what was read of the body already.
    pub fn remove_move(&mut self, at: DateTime<Utc>, id: EventId, status: Status, m: &MoneyMove) {
        if let Some(Span::ToDate { .. }) = m.span {
            let key = m.line.chain();
            if let Some(chain) = self.to_date.get_mut(&key) {
                chain.retain(|_, f| f.event_id != id);
                if chain.is_empty() {
                    self.to_date.remove(&key);
                }
            }
            return;
        }
        let line = m.line.clone();
        self.monthly(at, status, line, m.amount_pence, m.span, Direction::Remove);
    }

    fn monthly(
        &mut self,
        at: DateTime<Utc>,
        status: Status,
        line: Line,
        amount: i64,
        span: Option<Span>,
        dir: Direction,
    ) {
        let months = match span {
            Some(Span::Month(p)) => vec![p],
            Some(Span::Months { from, to }) => months_between(from, to),
            _ => vec![Period::of(at)],
        };
        let parts = spread(amount, months.len());
        for (p, part) in months.into_iter().zip(parts) {
            let m = self.months.entry(p).or_default();
            bump(m, (status, line.clone()), part, dir);
            if m.is_empty() {
                self.months.remove(&p);
            }
        }
    }
}

/// The figures of one status (penalties: levied only).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusFigures {
    pub extra_cost_pence: i64,
    pub income_at_risk_pence: i64,
    pub income_recovered_pence: i64,
    /// Levied penalties only.
    pub contract_penalty_pence: i64,
    /// `extra_cost + income_at_risk - income_recovered + contract_penalty`.
    pub net_cost_pence: i64,
}

impl StatusFigures {
    fn add(&mut self, o: &StatusFigures) {
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
}

/// Money figures for one trust or many, over one month or all. The headline fields count
/// `reported` and `validated` amounts and levied penalties only (see the module docs).
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
    /// Levied penalties.
    pub contract_penalty_pence: i64,
    pub contract_penalty_by_commissioner: BTreeMap<String, i64>,
    /// `extra_cost + income_at_risk - income_recovered + contract_penalty`.
    pub net_cost_pence: i64,
    /// `reported`, `estimated` and `validated`, always all three.
    pub by_status: BTreeMap<Status, StatusFigures>,
    /// The sum of `by_status`: every figure whatever its status (levied penalties), to
    /// reconcile with the events themselves. Not a headline: it counts estimates.
    pub all_statuses: StatusFigures,
    /// Threatened penalties of any status: exposure, not cost.
    pub penalties_threatened_pence: i64,
    /// Waived penalties of any status.
    pub penalties_waived_pence: i64,
    /// The part of `net_cost_pence` that comes from to-date figures (each one's difference
    /// from the previous figure of its chain; the first's whole amount).
    pub restated_pence: i64,
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
            by_status: Status::ALL
                .iter()
                .map(|s| (*s, StatusFigures::default()))
                .collect(),
            all_statuses: StatusFigures::default(),
            penalties_threatened_pence: 0,
            penalties_waived_pence: 0,
            restated_pence: 0,
        }
    }
}

fn add_into<K: Ord + Clone>(into: &mut BTreeMap<K, i64>, from: &BTreeMap<K, i64>) {
    for (k, v) in from {
        let e = into.entry(k.clone()).or_default();
        *e = e.saturating_add(*v);
    }
}

fn add_to(v: &mut i64, amount: i64) {
    *v = v.saturating_add(amount);
}

fn add_by<K: Ord>(map: &mut BTreeMap<K, i64>, key: K, amount: i64) {
    add_to(map.entry(key).or_default(), amount);
}

impl MoneyFigures {
    /// Adds one sum: `amount` of `line` with `status`; `restated` when it comes from a to-date
    /// chain.
    fn add_sum(&mut self, status: Status, line: &Line, amount: i64, restated: bool) {
        let headline = status != Status::Estimated;
        // The sum's sign in net cost, when it is in net cost at all.
        let net = match line {
            Line::Penalty(_, PenaltyState::Threatened) => {
                add_to(&mut self.penalties_threatened_pence, amount);
                return;
            }
            Line::Penalty(_, PenaltyState::Waived) => {
                add_to(&mut self.penalties_waived_pence, amount);
                return;
            }
            Line::Recovered(_) => amount.saturating_neg(),
            _ => amount,
        };
        for s in [
            self.by_status.entry(status).or_default(),
            &mut self.all_statuses,
        ] {
            match line {
                Line::Extra(_) => add_to(&mut s.extra_cost_pence, amount),
                Line::AtRisk(_) => add_to(&mut s.income_at_risk_pence, amount),
                Line::Recovered(_) => add_to(&mut s.income_recovered_pence, amount),
                Line::Penalty(..) => add_to(&mut s.contract_penalty_pence, amount),
            }
            add_to(&mut s.net_cost_pence, net);
        }
        if !headline {
            return;
        }
        match line {
            Line::Extra(c) => {
                add_to(&mut self.extra_cost_pence, amount);
                add_by(&mut self.extra_cost_by_category, *c, amount);
            }
            Line::AtRisk(c) => {
                add_to(&mut self.income_at_risk_pence, amount);
                add_by(&mut self.income_at_risk_by_category, *c, amount);
            }
            Line::Recovered(c) => {
                add_to(&mut self.income_recovered_pence, amount);
                add_by(&mut self.income_recovered_by_category, c.clone(), amount);
            }
            Line::Penalty(c, _) => {
                add_to(&mut self.contract_penalty_pence, amount);
                add_by(
                    &mut self.contract_penalty_by_commissioner,
                    c.clone(),
                    amount,
                );
            }
        }
        add_to(&mut self.net_cost_pence, net);
        if restated {
            add_to(&mut self.restated_pence, net);
        }
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
        add_to(&mut self.extra_cost_pence, o.extra_cost_pence);
        add_to(&mut self.income_at_risk_pence, o.income_at_risk_pence);
        add_to(&mut self.income_recovered_pence, o.income_recovered_pence);
        add_to(&mut self.contract_penalty_pence, o.contract_penalty_pence);
        add_to(&mut self.net_cost_pence, o.net_cost_pence);
        for (s, f) in &o.by_status {
            self.by_status.entry(*s).or_default().add(f);
        }
        self.all_statuses.add(&o.all_statuses);
        add_to(
            &mut self.penalties_threatened_pence,
            o.penalties_threatened_pence,
        );
        add_to(&mut self.penalties_waived_pence, o.penalties_waived_pence);
        add_to(&mut self.restated_pence, o.restated_pence);
    }

    /// Income still at risk: at risk minus recovered.
    pub fn income_outstanding_pence(&self) -> i64 {
        self.income_at_risk_pence
            .saturating_sub(self.income_recovered_pence)
    }
}

/// One to-date figure and what it changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Restatement {
    pub kind: String,
    /// The category, or the commissioner of a penalty.
    pub category: String,
    pub as_at: NaiveDate,
    pub amount_pence: i64,
    /// The previous to-date figure of the chain; `null` for the first.
    pub previous_pence: Option<i64>,
    pub difference_pence: i64,
    pub status: Status,
    pub event_id: EventId,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrustMoney {
    pub total: MoneyFigures,
    /// Months with any money, `YYYY-MM`.
    pub by_month: BTreeMap<Period, MoneyFigures>,
    /// Every to-date figure, in `(as_at, seq)` order.
    pub restatements: Vec<Restatement>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MoneyView {
    pub trusts: BTreeMap<String, TrustMoney>,
    pub total: MoneyFigures,
    pub by_month: BTreeMap<Period, MoneyFigures>,
}

impl TrustMoney {
    fn add_sum(&mut self, p: Period, status: Status, line: &Line, amount: i64, restated: bool) {
        self.by_month
            .entry(p)
            .or_default()
            .add_sum(status, line, amount, restated);
        self.total.add_sum(status, line, amount, restated);
    }
}

/// Walks the to-date chains: each figure's sums and its restatement.
fn chains(s: &MoneyState, out: &mut TrustMoney) {
    let mut all: Vec<((NaiveDate, u64), Restatement)> = Vec::new();
    for chain in s.to_date.values() {
        let mut previous: Option<&ToDateFact> = None;
        for ((as_at, seq), f) in chain {
            let p = Period::of(as_at.and_time(chrono::NaiveTime::MIN).and_utc());
            out.add_sum(p, f.status, &f.line, f.amount_pence, true);
            if let Some(prev) = previous {
                out.add_sum(p, prev.status, &prev.line, -prev.amount_pence, true);
            }
            let previous_pence = previous.map(|x| x.amount_pence);
            all.push((
                (*as_at, *seq),
                Restatement {
                    kind: f.line.kind().to_owned(),
                    category: f.line.category(),
                    as_at: *as_at,
                    amount_pence: f.amount_pence,
                    previous_pence,
                    difference_pence: f.amount_pence.saturating_sub(previous_pence.unwrap_or(0)),
                    status: f.status,
                    event_id: f.event_id,
                },
            ));
            previous = Some(f);
        }
    }
    all.sort_by_key(|(k, _)| *k);
    out.restatements = all.into_iter().map(|(_, r)| r).collect();
}

pub(crate) fn trust_view(s: &MoneyState) -> TrustMoney {
    let mut out = TrustMoney::default();
    for (p, sums) in &s.months {
        for ((status, line), amount) in sums {
            out.add_sum(*p, *status, line, *amount, false);
        }
    }
    chains(s, &mut out);
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

/// Each event's part of one trust's money figures: for every event, the [`TrustMoney`] of its
/// contribution alone, so that the parts of all `events` add up, line by line, to
/// [`trust_view`] of their fold (`?evidence=true`, docs/API.md "Evidence behind a figure").
///
/// `events` are the money events in force of ONE trust, each with its ledger sequence. A
/// monthly figure's part is what [`MoneyState::add`] adds for it alone. A to-date figure is
/// counted in the month of its `as_at` and the previous figure of its chain is taken off there
/// (see the module docs), so a to-date event's part is its own amount in its month, less its
/// amount in the month of the figure that follows it. Restatements are not parts: each part's
/// `restatements` is empty.
pub fn parts(events: &[(u64, &golive_model::Envelope)]) -> Vec<(EventId, TrustMoney)> {
    let mut states: BTreeMap<EventId, MoneyState> = BTreeMap::new();
    let mut chains: BTreeMap<Line, BTreeMap<(NaiveDate, u64), ToDateFact>> = BTreeMap::new();
    for (seq, e) in events {
        let Some((line, amount)) = Line::of(&e.body) else {
            continue;
        };
        let state = states.entry(e.event_id).or_default();
        match e.body.span() {
            Some(Span::ToDate { as_at }) => {
                let fact = ToDateFact {
                    event_id: e.event_id,
                    status: e.status,
                    line: line.clone(),
                    amount_pence: amount,
                };
                chains
                    .entry(line.chain())
                    .or_default()
                    .insert((as_at, *seq), fact);
            }
            _ => state.add(*seq, e.occurred_at, e.event_id, e.status, &e.body),
        }
    }
    for chain in chains.values() {
        let mut previous: Option<&ToDateFact> = None;
        for ((as_at, _), f) in chain {
            let p = Period::of(as_at.and_time(chrono::NaiveTime::MIN).and_utc());
            let mut put = |fact: &ToDateFact, amount: i64| {
                let s = states.entry(fact.event_id).or_default();
                let m = s.months.entry(p).or_default();
                bump(m, (fact.status, fact.line.clone()), amount, Direction::Add);
                if m.is_empty() {
                    s.months.remove(&p);
                }
            };
            put(f, f.amount_pence);
            if let Some(prev) = previous {
                put(prev, prev.amount_pence.saturating_neg());
            }
            previous = Some(f);
        }
    }
    states
        .into_iter()
        .map(|(id, s)| (id, trust_view(&s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_gives_the_remainder_to_the_earliest_months_and_sums_exactly() {
        assert_eq!(spread(10, 3), vec![4, 3, 3]);
        assert_eq!(spread(2, 3), vec![1, 1, 0]);
        assert_eq!(spread(0, 2), vec![0, 0]);
        let parts = spread(1_000_000_000_007, 120);
        assert_eq!(parts.iter().sum::<i64>(), 1_000_000_000_007);
    }

    #[test]
    fn months_between_crosses_a_year() {
        let p = |s| Period::parse(s).unwrap();
        assert_eq!(
            months_between(p("2008-11"), p("2009-02")),
            vec![p("2008-11"), p("2008-12"), p("2009-01"), p("2009-02")]
        );
    }
}
