//! The recovery view as tables: per trust and point of delivery the baseline, the weeks back to
//! 95% and the priced shortfall; the months against baseline (dark months carried, marked); the
//! shortfall beside income at risk; the validation burn-down.

use golive_model::Pence;
use golive_projections::{
    Align, BurnDownState, PointRecovery, RecoveryView, TrustRecovery, WeeksTo95,
};

use super::table::Table;

fn weeks_to_95(p: &PointRecovery) -> String {
    match (&p.weeks_to_95_pct, &p.returned_to_95_pct_in) {
        (Some(WeeksTo95::Weeks(w)), Some(at)) => format!("{w} ({at})"),
        (Some(WeeksTo95::Weeks(w)), None) => w.to_string(),
        (Some(WeeksTo95::NotYet(_)), _) => "not yet".to_owned(),
        (None, _) => "-".to_owned(),
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn points(t: &mut Table, code: &str, tr: &TrustRecovery) {
    for (pod, p) in &tr.points_of_delivery {
        t.row(vec![
            code.to_owned(),
            pod.to_string(),
            opt(p.baseline.as_ref().map(|b| b.monthly_value)),
            weeks_to_95(p),
            p.cumulative_shortfall_units.to_string(),
            Pence(p.priced_shortfall_pence).to_string(),
            p.dark_months.to_string(),
            if p.stalled.is_some() { "STALLED" } else { "" }.to_owned(),
        ]);
    }
}

fn months(t: &mut Table, code: &str, tr: &TrustRecovery, align: Align) {
    for (pod, p) in &tr.points_of_delivery {
        if align == Align::GoLive && !p.aligned.is_empty() {
            for a in &p.aligned {
                t.row(vec![
                    code.to_owned(),
                    pod.to_string(),
                    a.label.clone(),
                    format!("week {}", a.weeks_since_go_live),
                    opt(a.value),
                    opt(a.pct_of_baseline.map(|x| format!("{x}%"))),
                    if a.carried { "carried" } else { "" }.to_owned(),
                ]);
            }
            continue;
        }
        for m in &p.months {
            t.row(vec![
                code.to_owned(),
                pod.to_string(),
                m.period.to_string(),
                opt(m.months_since_go_live.map(|n| format!("month {n}"))),
                opt(m.value),
                opt(m.pct_of_baseline.map(|x| format!("{x}%"))),
                if m.carried {
                    format!("carried from {}", opt(m.carried_from))
                } else if m.value.is_none() {
                    "dark".to_owned()
                } else {
                    String::new()
                },
            ]);
        }
    }
}

fn burn_down(t: &mut Table, code: &str, tr: &TrustRecovery) {
    for (pathway, b) in &tr.burn_down {
        let last = b.points.last();
        let state = match b.state {
            BurnDownState::Projected => format!("finish {}", opt(b.projected_finish)),
            BurnDownState::NotConverging => "NOT CONVERGING".to_owned(),
            BurnDownState::Finished => format!("finished {}", opt(b.projected_finish)),
            BurnDownState::TooFewReports => "too few reports".to_owned(),
        };
        t.row(vec![
            code.to_owned(),
            pathway.to_string(),
            b.points.len().to_string(),
            opt(last.map(|p| p.date)),
            opt(last.map(|p| p.remaining)),
            opt(b.rate_per_week),
            state,
        ]);
    }
}

/// Every table of the recovery view.
pub fn recovery(v: &RecoveryView) -> String {
    let mut summary = Table::new(vec![
        "trust",
        "point of delivery",
        "baseline/month",
        "weeks to 95%",
        "shortfall units",
        "priced shortfall",
        "dark months",
        "stalled",
    ]);
    let mut money = Table::new(vec![
        "trust",
        "months",
        "priced shortfall",
        "income at risk",
        "gap",
        "estimated at risk",
    ]);
    let mut series = Table::new(vec![
        "trust",
        "point of delivery",
        "period",
        "since go-live",
        "value",
        "% of baseline",
        "dark",
    ]);
    let mut burn = Table::new(vec![
        "trust",
        "pathway",
        "reports",
        "latest",
        "remaining",
        "per week",
        "projection",
    ]);
    for (code, tr) in &v.trusts {
        points(&mut summary, code, tr);
        months(&mut series, code, tr, v.align);
        burn_down(&mut burn, code, tr);
        money.row(vec![
            code.clone(),
            format!("{}..{}", opt(tr.months_from), opt(tr.months_to)),
            Pence(tr.priced_shortfall_pence).to_string(),
            Pence(tr.income_at_risk_pence).to_string(),
            Pence(tr.gap_pence).to_string(),
            Pence(tr.income_at_risk_estimated_pence).to_string(),
        ]);
    }
    let mut out = String::new();
    summary.render(&mut out);
    out.push('\n');
    series.render(&mut out);
    out.push_str("\nshortfall priced with the tariffs (ILLUSTRATIVE defaults unless set in [tariffs]) beside income at risk of the same months\n");
    money.render(&mut out);
    if v.trusts.values().any(|t| !t.burn_down.is_empty()) {
        out.push_str("\nwaiting-list validation burn-down\n");
        burn.render(&mut out);
    }
    out
}
