//! Readable tables of the projection views for the terminal. `--json` prints the views as they
//! are (the same JSON the HTTP API serves); these tables are for people.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use golive_model::{Pence, Status};
use golive_projections::{
    DeferredView, IncidentsView, LostPatientsView, Marked, MoneyFigures, MoneyView, Projections,
    RolloutView, Synthetic, TrustMoney, TrustRollout, WarningRules, WarningsView, marked_trusts,
};

use super::table::Table;
use super::{json, truncate};
use crate::query::{Answer, View};

fn day(t: &Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "-".to_owned())
}

fn pounds(p: i64) -> String {
    Pence(p).to_string()
}

fn money_row(name: &str, f: &MoneyFigures) -> Vec<String> {
    let estimated = f
        .by_status
        .get(&Status::Estimated)
        .map_or(0, |e| e.net_cost_pence);
    vec![
        name.to_owned(),
        pounds(f.extra_cost_pence),
        pounds(f.income_at_risk_pence),
        pounds(f.income_recovered_pence),
        pounds(f.contract_penalty_pence),
        pounds(f.net_cost_pence),
        pounds(estimated),
        pounds(f.penalties_threatened_pence),
    ]
}

/// Money per trust (the headline: reported and validated, levied penalties; estimates and
/// threatened penalties beside it), then the categories and restatements of each trust.
pub fn money(v: &MoneyView) -> String {
    let mut out = String::new();
    let mut t = Table::new(vec![
        "trust",
        "extra cost",
        "income at risk",
        "recovered",
        "penalties",
        "net cost",
        "estimated (not in net cost)",
        "threatened",
    ]);
    for (trust, m) in &v.trusts {
        t.row(money_row(trust, &m.total));
    }
    if v.trusts.len() > 1 {
        t.row(money_row("ALL", &v.total));
    }
    t.render(&mut out);
    for (trust, m) in &v.trusts {
        money_details(&mut out, trust, m);
    }
    out
}

/// A trust's headline categories, exposure, restatements and months.
fn money_details(out: &mut String, trust: &str, m: &TrustMoney) {
    let line = |what: &str, key: &str, p: i64| format!("  {what:<14} {key:<24} {:>16}", pounds(p));
    let f = &m.total;
    let mut lines = Vec::new();
    for (c, p) in f.extra_cost_by_category.iter().filter(|(_, p)| **p != 0) {
        lines.push(line("extra cost", c.as_str(), *p));
    }
    for (c, p) in f
        .income_at_risk_by_category
        .iter()
        .filter(|(_, p)| **p != 0)
    {
        lines.push(line("income at risk", c.as_str(), *p));
    }
    for (c, p) in f
        .contract_penalty_by_commissioner
        .iter()
        .filter(|(_, p)| **p != 0)
    {
        lines.push(line("penalty", &truncate(c, 24), *p));
    }
    if f.penalties_threatened_pence != 0 {
        lines.push(format!(
            "  exposure: threatened penalties {}",
            pounds(f.penalties_threatened_pence)
        ));
    }
    if f.penalties_waived_pence != 0 {
        lines.push(format!(
            "  waived penalties {}",
            pounds(f.penalties_waived_pence)
        ));
    }
    for r in &m.restatements {
        lines.push(format!(
            "  to date {} {} as at {}: {} (was {}, {}{}){}",
            r.kind,
            r.category,
            r.as_at,
            pounds(r.amount_pence),
            r.previous_pence.map_or_else(|| "-".to_owned(), pounds),
            if r.difference_pence >= 0 { "+" } else { "" },
            pounds(r.difference_pence),
            if r.status == Status::Estimated {
                ", estimated"
            } else {
                ""
            },
        ));
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{trust} by category:");
    for l in lines {
        let _ = writeln!(out, "{l}");
    }
    let months: Vec<String> = m
        .by_month
        .iter()
        .filter(|(_, f)| f.net_cost_pence != 0)
        .map(|(p, f)| format!("{p} {}", pounds(f.net_cost_pence)))
        .collect();
    if !months.is_empty() {
        let _ = writeln!(out, "  net cost by month: {}", months.join(", "));
    }
}

/// Lost patients per trust.
pub fn lost_patients(v: &LostPatientsView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "as at {}", day(&v.as_at));
    let mut t = Table::new(vec![
        "trust",
        "open lost",
        "traced",
        "harm>=moderate",
        "harm unknown",
        "median days",
        "list records",
        "unique pts",
        "suspended",
    ]);
    for (trust, l) in &v.trusts {
        let h = &l.traced.by_harm;
        let records: u64 = l.waiting_lists.values().map(|w| w.records).sum();
        let unique: u64 = l.waiting_lists.values().map(|w| w.unique_patients).sum();
        let suspended: Vec<String> = l
            .reporting
            .suspended
            .iter()
            .map(|(d, s)| format!("{} since {}", d.as_str(), s.since.format("%Y-%m-%d")))
            .collect();
        t.row(vec![
            trust.clone(),
            l.open_count.to_string(),
            l.traced.count.to_string(),
            (h.moderate + h.severe + h.death).to_string(),
            h.unknown.to_string(),
            l.days_to_trace
                .median_days
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into()),
            records.to_string(),
            unique.to_string(),
            if suspended.is_empty() {
                "-".to_owned()
            } else {
                suspended.join("; ")
            },
        ]);
    }
    t.render(&mut out);
    for (what, hr) in [
        ("harm reviews", &v.total.harm_reviews),
        (
            "risk-of-harm reviews (not harm found)",
            &v.total.risk_of_harm,
        ),
    ] {
        if hr.reviews > 0 {
            let h = &hr.harm;
            let _ = writeln!(
                out,
                "\n{what}: {} cases reviewed: none {}, low {}, moderate {}, severe {}, death {}, unknown {}",
                hr.cases_reviewed, h.none, h.low, h.moderate, h.severe, h.death, h.unknown
            );
        }
    }
    out
}

/// Rollout status and history per trust, then the programmes.
pub fn rollout(v: &RolloutView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "as at {}", day(&v.as_at));
    let mut t = Table::new(vec![
        "trust",
        "status",
        "release",
        "went live",
        "days live",
        "anomalies",
    ]);
    for (trust, r) in &v.trusts {
        t.row(vec![
            trust.clone(),
            r.status
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|| "-".into()),
            r.release.clone().unwrap_or_else(|| "-".into()),
            day(&r.go_live),
            r.days_since_go_live
                .map(|d| d.to_string())
                .unwrap_or_else(|| "-".into()),
            r.anomalies.len().to_string(),
        ]);
    }
    t.render(&mut out);
    for (trust, r) in &v.trusts {
        trust_history(&mut out, trust, r);
    }
    programme_histories(&mut out, v);
    out
}

/// One trust's status changes and anomalies, if it has any history.
fn trust_history(out: &mut String, trust: &str, r: &TrustRollout) {
    if r.history.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{trust} history:");
    for h in &r.history {
        let _ = writeln!(
            out,
            "  {}  {:<13} {:<5} {}",
            h.occurred_at.format("%Y-%m-%d"),
            h.status.as_str(),
            h.release.as_deref().unwrap_or(""),
            truncate(h.reason.as_deref().unwrap_or(""), 80)
        );
    }
    for a in &r.anomalies {
        let _ = writeln!(
            out,
            "  anomaly {}: {}",
            a.occurred_at.format("%Y-%m-%d"),
            a.text
        );
    }
}

/// The programmes' status changes, for those with any.
fn programme_histories(out: &mut String, v: &RolloutView) {
    for (name, p) in &v.programmes {
        if p.history.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\nprogramme {name}: {}",
            p.status.map(|s| s.as_str()).unwrap_or("-")
        );
        for h in &p.history {
            let _ = writeln!(
                out,
                "  {}  {:<13} {}",
                h.occurred_at.format("%Y-%m-%d"),
                h.status.as_str(),
                truncate(h.reason.as_deref().unwrap_or(""), 80)
            );
        }
    }
}

/// The warnings board.
/// Said after a warning that fired only because of synthetic events.
fn synthetic_only(w: &golive_projections::Warning) -> &'static str {
    if w.synthetic_only {
        " (SYNTHETIC ONLY: fired only because of simulated events)"
    } else {
        ""
    }
}

pub fn warnings(v: &WarningsView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "as at {}", day(&v.as_at));
    for (trust, w) in &v.trusts {
        let flag = if w.halt_recommended {
            "HALT RECOMMENDED"
        } else if w.warnings.is_empty() {
            "ok"
        } else {
            "warnings"
        };
        let _ = writeln!(
            out,
            "{trust}  {flag}  (status {})",
            w.status.map(|s| s.as_str()).unwrap_or("-")
        );
        for x in &w.warnings {
            let _ = writeln!(
                out,
                "  [{}] {} since {}: {}{}",
                match x.severity {
                    golive_projections::Severity::Critical => "critical",
                    golive_projections::Severity::Warning => "warning",
                },
                x.id,
                day(&x.since),
                x.message,
                synthetic_only(x)
            );
        }
    }
    for (name, ws) in &v.programmes {
        for x in ws {
            let _ = writeln!(
                out,
                "programme {name}: {}: {}{}",
                x.id,
                x.message,
                synthetic_only(x)
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{} of {} trusts halt-recommended: {}",
        v.total.halt_recommended.len(),
        v.total.trusts,
        if v.total.halt_recommended.is_empty() {
            "none".to_owned()
        } else {
            v.total.halt_recommended.join(", ")
        }
    );
    out
}

/// Features deferred at go-live.
pub fn deferred(v: &DeferredView) -> String {
    let mut out = String::new();
    let mut t = Table::new(vec![
        "trust",
        "deferred on",
        "feature",
        "promised for",
        "reason",
    ]);
    for (trust, d) in &v.trusts {
        for f in &d.features {
            t.row(vec![
                trust.clone(),
                f.occurred_at.format("%Y-%m-%d").to_string(),
                truncate(&f.feature, 40),
                f.promised_for.clone().unwrap_or_else(|| "-".into()),
                truncate(f.reason.as_deref().unwrap_or("-"), 60),
            ]);
        }
    }
    t.render(&mut out);
    out
}

/// Outages and safety incidents per trust.
pub fn incidents(v: &IncidentsView) -> String {
    let mut out = String::new();
    let mut t = Table::new(vec![
        "trust",
        "outages",
        "downtime min",
        "major",
        "incidents",
        "open",
        "serious",
    ]);
    for (trust, i) in &v.trusts {
        t.row(vec![
            trust.clone(),
            i.outages.count.to_string(),
            i.outages.downtime_minutes.to_string(),
            i.outages.major_incidents.to_string(),
            i.safety.count.to_string(),
            i.safety.open.to_string(),
            i.safety.serious.to_string(),
        ]);
    }
    t.render(&mut out);
    out
}

/// What `golive query` prints: the view as pretty JSON, or `as of seq N` and a table.
pub fn answer(a: &Answer, as_json: bool) -> String {
    if as_json {
        let marked = Marked {
            view: &a.view,
            synthetic: a.synthetic.clone(),
        };
        return format!("{}\n", json(&marked));
    }
    let body = match (&a.view, as_json) {
        (View::LostPatients(v), true) => json(v),
        (View::LostPatients(v), false) => lost_patients(v),
        (View::Money(v), true) => json(v),
        (View::Money(v), false) => money(v),
        (View::Rollout(v), true) => json(v),
        (View::Rollout(v), false) => rollout(v),
        (View::Warnings(v), true) => json(v),
        (View::Warnings(v), false) => warnings(v),
        (View::Deferred(v), true) => json(v),
        (View::Deferred(v), false) => deferred(v),
        (View::Incidents(v), true) => json(v),
        (View::Incidents(v), false) => incidents(v),
        (View::Trusts(v), true) => json(v),
        (View::Trusts(v), false) => v.iter().map(|t| format!("{t}\n")).collect(),
        (View::Coverage(v), true) => json(v),
        (View::Coverage(v), false) => coverage(v),
        (View::Claims(v), true) => json(v),
        (View::Claims(v), false) => claims(v),
        (View::UsageBurden(v), true) => json(v),
        (View::UsageBurden(v), false) => usage_burden(v),
        (View::Recovery(v), true) => json(v),
        (View::Recovery(v), false) => super::recovery::recovery(v),
    };
    let mut out = String::with_capacity(body.len() + 32);
    if !as_json {
        out.push_str(&format!("as of seq {}", a.as_of_seq));
        if let Some(t) = &a.known_at {
            out.push_str(&format!(", known at {}", golive_model::format_time(t)));
        }
        out.push('\n');
    }
    out.push_str(&body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    mark_synthetic(out, &a.synthetic)
}

/// Marks the table rows of the trusts (and the `ALL` row) whose figures include synthetic data
/// with a `*` after the name, and says under the tables what it means; or that synthetic events
/// were left out.
pub(crate) fn mark_synthetic(text: String, s: &Synthetic) -> String {
    if s.excluded {
        return format!(
            "{text}\nsourced figures only: {} synthetic (simulated) events left out\n",
            s.events
        );
    }
    if !s.affected {
        return text;
    }
    let trusts = marked_trusts(&s.share);
    let total = s.share.get("total").is_some() || s.share.get("totals").is_some();
    let marked = |name: &str| trusts.contains(name) || (name == "ALL" && total);
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.lines() {
        let name = line.split(' ').next().unwrap_or("");
        match line.get(name.len()..) {
            // A row's name cell is followed by its padding: the mark takes one of its spaces.
            Some(rest) if !name.is_empty() && marked(name) => {
                out.push_str(name);
                out.push('*');
                out.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            }
            _ => out.push_str(line),
        }
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "\n* includes synthetic (simulated) data: {} synthetic events in the ledger; \
         --exclude-synthetic gives the sourced figures only",
        s.events
    );
    out
}

/// Every view of `p`, as `golive query <what> --json` prints each one (marked with its
/// synthetic share).
pub fn views_json(p: &Projections, rules: &WarningRules) -> serde_json::Value {
    let v = |x: serde_json::Result<serde_json::Value>| x.unwrap_or(serde_json::Value::Null);
    serde_json::json!({
        "as_of_seq": p.last_seq(),
        "lost_patients": v(serde_json::to_value(p.marked(false, |p| p.lost_patients(None)))),
        "money": v(serde_json::to_value(p.marked(false, |p| p.money(None)))),
        "rollout": v(serde_json::to_value(p.marked(false, |p| p.rollout(None)))),
        "warnings": v(serde_json::to_value(p.marked(false, |p| p.warnings(rules, None)))),
        "deferred": v(serde_json::to_value(p.marked(false, |p| p.deferred_features(None)))),
        "incidents": v(serde_json::to_value(p.marked(false, |p| p.incidents(None)))),
        "trusts": v(serde_json::to_value(p.trusts())),
    })
}

/// The six tables of every view of `p`, each after a blank line (`golive audit replay`).
pub fn all_views(p: &Projections, rules: &WarningRules) -> String {
    let mut out = String::new();
    for text in [
        lost_patients(&p.lost_patients(None)),
        money(&p.money(None)),
        rollout(&p.rollout(None)),
        warnings(&p.warnings(rules, None)),
        deferred(&p.deferred_features(None)),
        incidents(&p.incidents(None)),
    ] {
        let _ = writeln!(out, "\n{}", text.trim_end());
    }
    out
}

/// Per programme, each member trust's coverage: silence and dark datasets are shown as what
/// they are, never as "no harm".
fn coverage(v: &golive_projections::CoverageView) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let t = &v.totals;
    let _ = writeln!(
        out,
        "coverage: {} reporting, {} silent, {} dark (silent = no events in the {} weeks before {})",
        t.reporting,
        t.silent,
        t.dark,
        v.silent_after_weeks,
        v.as_at
            .map_or("-".to_owned(), |a| golive_model::format_time(&a))
    );
    for (name, p) in &v.programmes {
        let _ = writeln!(out, "\n{name}");
        let _ = writeln!(
            out,
            "  {:<6} {:<10} {:<8} {:<5} {:<22} weeks since",
            "trust", "state", "rostered", "live", "last event"
        );
        for (code, c) in &p.trusts {
            let last = c
                .last_event_at
                .map_or("none".to_owned(), |a| golive_model::format_time(&a));
            let weeks = c
                .weeks_since_last_event
                .map_or("-".to_owned(), |w| w.to_string());
            let state = serde_json::to_value(c.state)
                .ok()
                .and_then(|s| s.as_str().map(str::to_owned))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {code:<6} {state:<10} {:<8} {:<5} {last:<22} {weeks}",
                c.rostered, c.live
            );
            for d in &c.dark_datasets {
                let since = golive_model::format_time(&d.since);
                let carried = if d.last_known.is_some() {
                    "last known value carried forward"
                } else {
                    "no value before it"
                };
                let _ = writeln!(
                    out,
                    "         dark: {} since {since} ({carried})",
                    d.dataset
                );
            }
        }
    }
    out
}

/// The claim register: one block per claim, its verdict and what decides it.
fn claims(v: &golive_projections::ClaimsView) -> String {
    use std::fmt::Write;
    let t = &v.totals;
    let mut out = format!(
        "claims: {} ({} contradicted, {} contradicted later, {} unsupported, {} consistent); window {} weeks, synthetic evidence {}\n",
        t.claims,
        t.contradicted,
        t.contradicted_later,
        t.unsupported,
        t.consistent,
        v.rules.window_weeks,
        if v.rules.count_synthetic {
            "counted"
        } else {
            "left out"
        },
    );
    for c in &v.claims {
        let scope = c.programme.as_deref().unwrap_or(&c.trust);
        let _ = writeln!(
            out,
            "\n{} {} {} ({}: {}): {}",
            c.claimed_on,
            scope,
            c.claim,
            c.claimant.claimant_type,
            c.claimant.name,
            c.verdict.as_str().to_uppercase()
        );
        let _ = writeln!(out, "  \"{}\"", c.statement);
        if let Some(k) = c.contradicted_known_at {
            let _ = writeln!(out, "  known against it from {}", k.format("%Y-%m-%d"));
        }
        for f in &c.decided_by {
            let _ = writeln!(
                out,
                "  {} {} [{}]: {}",
                f.trust,
                match f.bearing {
                    golive_projections::Bearing::Against => "against",
                    golive_projections::Bearing::For => "for",
                },
                f.rule,
                f.detail
            );
            for s in &f.sources {
                let _ = writeln!(out, "    {}: {}", s.source_type, s.reference);
            }
        }
        for (trust, months) in &c.rests_on_struggle {
            let m: Vec<String> = months.iter().map(|p| p.to_string()).collect();
            let _ = writeln!(
                out,
                "  {trust} struggle read as success in {}",
                m.join(", ")
            );
        }
    }
    out
}

/// Per trust and month: usage beside burden.
fn usage_burden(v: &golive_projections::UsageBurdenView) -> String {
    let mut t = Table::new(vec![
        "trust",
        "month",
        "usage",
        "burden",
        "burden h/1000",
        "struggle",
        "synthetic",
    ]);
    let pairs = |m: Vec<String>| {
        if m.is_empty() {
            "-".to_owned()
        } else {
            m.join(", ")
        }
    };
    for (code, tr) in &v.trusts {
        for m in &tr.months {
            t.row(vec![
                code.clone(),
                m.period.to_string(),
                pairs(m.usage.iter().map(|(k, v)| format!("{k} {v}")).collect()),
                pairs(m.burden.iter().map(|(k, v)| format!("{k} {v}")).collect()),
                pairs(
                    m.burden_hours_per_1000
                        .iter()
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect(),
                ),
                if m.struggle_read_as_success {
                    "STRUGGLE READ AS SUCCESS"
                } else {
                    ""
                }
                .to_owned(),
                if m.synthetic { "synthetic" } else { "" }.to_owned(),
            ]);
        }
    }
    let mut out = String::new();
    t.render(&mut out);
    out
}
