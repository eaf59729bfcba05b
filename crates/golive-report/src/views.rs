//! Each view's table (docs/API.md, "Tables"): which lines of the view are rows, which columns
//! they have, and which leading columns identify a row (its key: used to mark what synthetic
//! events changed). One function per view; the writers know none of them.

use golive_model::OdsCode;
use golive_projections::{
    ClaimsView, CoverageView, DeferredView, EvidenceView, IncidentsView, LostPatientsView,
    MoneyFigures, MoneyView, RecoveryView, RolloutView, UsageBurdenView, WarningsView,
};

use crate::table::{Cell, Column, Table, name_of};

/// A view that can be written as one table.
pub trait Tabular {
    /// The table, with the columns that identify a row ([`Table::key_columns`]).
    fn table(&self) -> Table;
}

const MONEY: &[Column] = &[
    Column::plain("trust"),
    Column::plain("month"),
    Column::plain("measure"),
    Column::plain("category"),
    Column::plain("status"),
    Column::money("amount"),
];

/// One month's figures of one trust as rows: the headline (reported and validated amounts,
/// levied penalties) per measure and category, then the estimates per measure.
fn money_rows(t: &mut Table, trust: &str, month: &str, f: &MoneyFigures) {
    let mut row = |measure: &str, category: &str, status: &str, pence: i64| {
        if pence != 0 {
            t.push(vec![
                Cell::text(trust),
                Cell::text(month),
                Cell::text(measure),
                Cell::text(category),
                Cell::text(status),
                Cell::Pence(pence),
            ]);
        }
    };
    for (c, p) in &f.extra_cost_by_category {
        row("extra_cost", &name_of(c), "headline", *p);
    }
    for (c, p) in &f.income_at_risk_by_category {
        row("income_at_risk", &name_of(c), "headline", *p);
    }
    for (c, p) in &f.income_recovered_by_category {
        row("income_recovered", c, "headline", *p);
    }
    for (c, p) in &f.contract_penalty_by_commissioner {
        row("contract_penalty", c, "headline", *p);
    }
    if let Some(e) = f.by_status.get(&golive_model::Status::Estimated) {
        row("extra_cost", "", "estimated", e.extra_cost_pence);
        row("income_at_risk", "", "estimated", e.income_at_risk_pence);
        row(
            "income_recovered",
            "",
            "estimated",
            e.income_recovered_pence,
        );
        row(
            "contract_penalty",
            "",
            "estimated",
            e.contract_penalty_pence,
        );
    }
}

impl Tabular for MoneyView {
    fn table(&self) -> Table {
        let mut t = Table::new("money", MONEY);
        for (trust, m) in &self.trusts {
            for (month, f) in &m.by_month {
                money_rows(&mut t, trust, &month.to_string(), f);
            }
        }
        t.with_keys(5)
    }
}

impl Tabular for LostPatientsView {
    fn table(&self) -> Table {
        let mut t = Table::new(
            "lost-patients",
            &[
                Column::plain("trust"),
                Column::plain("patient_ref"),
                Column::plain("pathway"),
                Column::plain("lost_since"),
                Column::plain("event_id"),
            ],
        );
        for (trust, l) in &self.trusts {
            for c in &l.open_cases {
                t.push(vec![
                    Cell::text(trust),
                    Cell::text(c.patient_ref.to_string()),
                    Cell::label(&c.pathway),
                    Cell::time(c.since),
                    Cell::text(c.event_id.to_string()),
                ]);
            }
        }
        t.with_keys(2)
    }
}

impl Tabular for IncidentsView {
    fn table(&self) -> Table {
        let mut t = Table::new(
            "incidents",
            &[
                Column::plain("trust"),
                Column::plain("type"),
                Column::plain("event_id"),
                Column::plain("reference"),
                Column::plain("harm"),
                Column::plain("serious_incident"),
                Column::plain("state"),
                Column::plain("start"),
                Column::plain("end"),
                Column::plain("minutes"),
            ],
        );
        for (trust, i) in &self.trusts {
            for o in &i.outages.outages {
                t.push(vec![
                    Cell::text(trust),
                    Cell::text("outage"),
                    Cell::text(o.event_id.to_string()),
                    Cell::text(format!("{} ({})", o.scope, o.services.join(", "))),
                    Cell::Empty,
                    Cell::Bool(o.major_incident),
                    Cell::text(if o.end.is_some() { "closed" } else { "ongoing" }),
                    Cell::time(o.start),
                    Cell::opt_time(o.end),
                    Cell::opt_count(o.minutes),
                ]);
            }
            for s in &i.safety.open_incidents {
                t.push(vec![
                    Cell::text(trust),
                    Cell::text("safety_incident"),
                    Cell::text(s.event_id.to_string()),
                    Cell::text(&s.local_ref),
                    Cell::label(&s.harm),
                    Cell::Bool(s.serious_incident),
                    Cell::label(&s.state),
                    Cell::time(s.opened_at),
                    Cell::Empty,
                    Cell::Empty,
                ]);
            }
        }
        t.with_keys(3)
    }
}

impl Tabular for RolloutView {
    fn table(&self) -> Table {
        let mut t = Table::new(
            "rollout",
            &[
                Column::plain("trust"),
                Column::plain("programme"),
                Column::plain("supplier"),
                Column::plain("release"),
                Column::plain("status"),
                Column::plain("live"),
                Column::plain("go_live"),
                Column::plain("days_since_go_live"),
                Column::plain("anomalies"),
            ],
        );
        for (trust, r) in &self.trusts {
            t.push(vec![
                Cell::text(trust),
                Cell::opt_text(r.programme.as_deref()),
                Cell::opt_text(r.supplier.as_deref()),
                Cell::opt_text(r.release.as_deref()),
                r.status.as_ref().map_or(Cell::Empty, Cell::label),
                Cell::Bool(r.live),
                Cell::opt_time(r.go_live),
                Cell::opt_count(r.days_since_go_live),
                Cell::count(r.anomalies.len() as u64),
            ]);
        }
        t.with_keys(1)
    }
}

impl Tabular for WarningsView {
    fn table(&self) -> Table {
        let mut t = Table::new(
            "warnings",
            &[
                Column::plain("scope"),
                Column::plain("name"),
                Column::plain("rule"),
                Column::plain("severity"),
                Column::plain("since"),
                Column::plain("halt"),
                Column::plain("synthetic_only"),
                Column::plain("coverage"),
                Column::plain("message"),
            ],
        );
        for (trust, w) in &self.trusts {
            let coverage = Cell::label(&w.coverage);
            if w.warnings.is_empty() {
                // A trust without a warning is a line too, with its coverage: silence is not
                // safety.
                t.push(vec![
                    Cell::text("trust"),
                    Cell::text(trust),
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Empty,
                    Cell::Bool(false),
                    Cell::Bool(false),
                    coverage.clone(),
                    Cell::text("no warning"),
                ]);
            }
            for x in &w.warnings {
                t.push(warning_row("trust", trust, x, coverage.clone()));
            }
        }
        for (programme, ws) in &self.programmes {
            for x in ws {
                t.push(warning_row("programme", programme, x, Cell::Empty));
            }
        }
        t.with_keys(3)
    }
}

fn warning_row(
    scope: &str,
    name: &str,
    w: &golive_projections::Warning,
    coverage: Cell,
) -> Vec<Cell> {
    vec![
        Cell::text(scope),
        Cell::text(name),
        Cell::text(&w.id),
        Cell::label(&w.severity),
        Cell::opt_time(w.since),
        Cell::Bool(w.halt),
        Cell::Bool(w.synthetic_only),
        coverage,
        Cell::text(&w.message),
    ]
}

impl Tabular for DeferredView {
    fn table(&self) -> Table {
        let mut t = Table::new(
            "deferred",
            &[
                Column::plain("trust"),
                Column::plain("event_id"),
                Column::plain("feature"),
                Column::plain("promised_for"),
                Column::plain("reason"),
                Column::plain("occurred_at"),
            ],
        );
        for (trust, d) in &self.trusts {
            for f in &d.features {
                t.push(vec![
                    Cell::text(trust),
                    Cell::text(f.event_id.to_string()),
                    Cell::text(&f.feature),
                    Cell::opt_text(f.promised_for.as_deref()),
                    Cell::opt_text(f.reason.as_deref()),
                    Cell::time(f.occurred_at),
                ]);
            }
        }
        t.with_keys(2)
    }
}

impl Tabular for CoverageView {
    fn table(&self) -> Table {
        let mut t = Table::new(
            "coverage",
            &[
                Column::plain("programme"),
                Column::plain("trust"),
                Column::plain("state"),
                Column::plain("rostered"),
                Column::plain("live"),
                Column::plain("last_event_at"),
                Column::plain("weeks_since_last_event"),
                Column::plain("dark_datasets"),
            ],
        );
        for (programme, p) in &self.programmes {
            for (trust, c) in &p.trusts {
                let dark: Vec<String> = c
                    .dark_datasets
                    .iter()
                    .map(|d| name_of(&d.dataset))
                    .collect();
                t.push(vec![
                    Cell::text(programme),
                    Cell::text(trust),
                    Cell::label(&c.state),
                    Cell::Bool(c.rostered),
                    Cell::Bool(c.live),
                    Cell::opt_time(c.last_event_at),
                    Cell::opt_count(c.weeks_since_last_event),
                    Cell::text(dark.join(" ")),
                ]);
            }
        }
        t.with_keys(2)
    }
}

impl Tabular for ClaimsView {
    fn table(&self) -> Table {
        let mut t = Table::new(
            "claims",
            &[
                Column::plain("trust"),
                Column::plain("event_id"),
                Column::plain("claimed_at"),
                Column::plain("claimant"),
                Column::plain("claim"),
                Column::plain("verdict"),
                Column::plain("rule"),
                Column::plain("contradicted_known_at"),
                Column::plain("synthetic_claim"),
                Column::plain("statement"),
            ],
        );
        for c in &self.claims {
            t.push(vec![
                Cell::text(&c.trust),
                Cell::text(c.event_id.to_string()),
                Cell::time(c.claimed_at),
                Cell::text(&c.claimant.name),
                Cell::label(&c.claim),
                Cell::label(&c.verdict),
                Cell::text(&c.rule),
                Cell::opt_time(c.contradicted_known_at),
                Cell::Bool(c.synthetic),
                Cell::text(&c.statement),
            ]);
        }
        t.with_keys(2)
    }
}

impl Tabular for UsageBurdenView {
    fn table(&self) -> Table {
        let mut t = Table::new(
            "usage-burden",
            &[
                Column::plain("trust"),
                Column::plain("month"),
                Column::plain("usage"),
                Column::plain("burden"),
                Column::plain("burden_hours"),
                Column::plain("struggle_read_as_success"),
                Column::plain("synthetic_month"),
            ],
        );
        for (trust, u) in &self.trusts {
            for m in &u.months {
                t.push(vec![
                    Cell::text(trust),
                    Cell::text(m.period.to_string()),
                    Cell::text(joined(&m.usage)),
                    Cell::text(joined(&m.burden)),
                    Cell::count(m.burden_hours),
                    Cell::Bool(m.struggle_read_as_success),
                    Cell::Bool(m.synthetic),
                ]);
            }
        }
        t.with_keys(2)
    }
}

/// `metric=value` pairs, space-separated, in the map's order.
fn joined<K: serde::Serialize>(m: &std::collections::BTreeMap<K, u64>) -> String {
    m.iter()
        .map(|(k, v)| format!("{}={v}", name_of(k)))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Tabular for RecoveryView {
    fn table(&self) -> Table {
        let mut t = Table::new(
            "recovery",
            &[
                Column::plain("trust"),
                Column::plain("point_of_delivery"),
                Column::plain("month"),
                Column::plain("months_since_go_live"),
                Column::plain("baseline_monthly_value"),
                Column::plain("value"),
                Column::plain("source"),
                Column::plain("carried"),
                Column::plain("carried_from"),
                Column::plain("data_quality"),
                Column::plain("pct_of_baseline"),
                Column::plain("shortfall_units"),
            ],
        );
        for (trust, r) in &self.trusts {
            for (pod, p) in &r.points_of_delivery {
                let baseline = Cell::opt_count(p.baseline.as_ref().map(|b| b.monthly_value));
                for m in &p.months {
                    t.push(vec![
                        Cell::text(trust),
                        Cell::label(pod),
                        Cell::text(m.period.to_string()),
                        Cell::opt_int(m.months_since_go_live),
                        baseline.clone(),
                        Cell::opt_count(m.value),
                        Cell::label(&m.source),
                        Cell::Bool(m.carried),
                        Cell::opt_text(m.carried_from),
                        m.data_quality.as_ref().map_or(Cell::Empty, Cell::label),
                        Cell::opt_decimal(m.pct_of_baseline),
                        Cell::opt_int(m.shortfall_units),
                    ]);
                }
            }
        }
        t.with_keys(3)
    }
}

impl Tabular for Vec<OdsCode> {
    fn table(&self) -> Table {
        let mut t = Table::new("trusts", &[Column::plain("trust")]);
        for c in self {
            t.push(vec![Cell::text(c.as_str())]);
        }
        t.with_keys(1)
    }
}

impl Tabular for EvidenceView {
    fn table(&self) -> Table {
        let mut t = Table::new(
            "evidence",
            &[
                Column::plain("trust"),
                Column::plain("figures"),
                Column::plain("source_type"),
                Column::plain("source_ref"),
                Column::plain("url"),
                Column::plain("events"),
                Column::plain("disputed"),
            ],
        );
        for (trust, e) in &self.trusts {
            for (figures, f) in [
                ("money", &e.money),
                ("lost", &e.lost),
                ("rollout", &e.rollout),
                ("incidents", &e.incidents),
            ] {
                for s in &f.sources {
                    t.push(vec![
                        Cell::text(trust),
                        Cell::text(figures),
                        Cell::label(&s.source_type),
                        Cell::text(&s.reference),
                        Cell::opt_text(s.url.as_deref()),
                        Cell::count(s.events),
                        Cell::Bool(f.disputed),
                    ]);
                }
            }
        }
        t.with_keys(4)
    }
}
