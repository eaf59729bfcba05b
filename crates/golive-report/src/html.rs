//! The board report as one printable HTML page (A4, a print stylesheet): headline figures with
//! their synthetic share, money over time and recovery as inline SVG drawn here, warnings and
//! why, coverage, claims, every figure group's sources as footnotes, and on the last page the
//! signed checkpoint the figures were computed at with the commands that re-derive them. The
//! CLI prints it to PDF with headless Chromium (ARCHITECTURE.md says why).

use std::fmt::Write as _;

use golive_projections::{
    ClaimsView, CoverageView, EvidenceView, MoneyView, RecoveryView, WarningsView,
};

use crate::headline::{Headline, TrustHeadline};
use crate::table::pounds;

/// The signed checkpoint a report's figures are computed at (or whose tree they are a prefix
/// of).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointInfo {
    /// The signed note as stored (origin, size, root, extensions, signature lines).
    pub note: String,
    pub size: u64,
}

/// Everything a report shows, computed by the caller at one sequence.
pub struct ReportInput<'a> {
    pub title: String,
    pub generated_at: String,
    pub as_of_seq: u64,
    pub known_at: Option<String>,
    /// Merkle root of the log at `as_of_seq`, hex.
    pub root_at_seq: String,
    pub headline: &'a Headline,
    /// The headline of the sourced-only projections, when synthetic events are in the ledger.
    pub sourced: Option<&'a Headline>,
    pub money: &'a MoneyView,
    pub recovery: &'a RecoveryView,
    pub warnings: &'a WarningsView,
    pub coverage: &'a CoverageView,
    pub claims: Option<&'a ClaimsView>,
    pub evidence: &'a EvidenceView,
    pub checkpoint: Option<CheckpointInfo>,
    /// The ledger's public key (`origin+id+key`), when known.
    pub pubkey: Option<String>,
    /// The commands an auditor runs, in order.
    pub commands: Vec<String>,
}

/// `s` with `&`, `<`, `>` and `"` escaped.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// £ with thousands separators: `£10,000,000.00`.
pub fn money(pence: i64) -> String {
    let p = pounds(pence);
    let (sign, rest) = p.strip_prefix('-').map_or(("", p.as_str()), |r| ("-", r));
    let (whole, frac) = rest.split_once('.').unwrap_or((rest, "00"));
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}£{grouped}.{frac}")
}

const STYLE: &str = "@page{size:A4;margin:16mm}body{font:10.5pt/1.4 sans-serif;color:#111}\
h1{font-size:18pt;margin:0 0 4pt}h2{font-size:13pt;margin:14pt 0 4pt;border-bottom:1px solid #999}\
table{border-collapse:collapse;width:100%;margin:4pt 0}td,th{border:1px solid #bbb;padding:2pt 4pt;\
text-align:left;vertical-align:top}td.n{text-align:right;white-space:nowrap}.syn{color:#a15c00}\
.small{font-size:8.5pt}svg,table{page-break-inside:avoid}h2,h3{page-break-after:avoid}.last{page-break-before:always}pre{white-space:pre-wrap;font-size:8.5pt;\
border:1px solid #bbb;padding:4pt}sup{font-size:7pt}";

/// The report's HTML.
pub fn report_html(r: &ReportInput<'_>) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body><h1>{}</h1><p class=\"small\">Go-Live Ledger board \
         report. Figures as of ledger sequence {}{}; generated {}. Money in pounds from integer \
         pence; the headline counts reported and validated figures and levied penalties, never \
         estimates.</p>",
        esc(&r.title),
        esc(&r.title),
        r.as_of_seq,
        r.known_at
            .as_ref()
            .map(|k| format!(", as known at {}", esc(k)))
            .unwrap_or_default(),
        esc(&r.generated_at)
    );
    headline_section(&mut h, r);
    money_chart(&mut h, r.money);
    recovery_section(&mut h, r.recovery);
    warnings_section(&mut h, r.warnings);
    coverage_section(&mut h, r.coverage);
    if let Some(c) = r.claims {
        claims_section(&mut h, c);
    }
    sources_section(&mut h, r.evidence);
    checkpoint_section(&mut h, r);
    h.push_str("</body></html>\n");
    h
}

/// One figure of the headline table, with its synthetic share when the sourced-only figure
/// differs.
fn figure(h: &mut String, label: &str, all: String, sourced: Option<String>, note: &str) {
    let syn = match sourced {
        Some(s) if s != all => format!(
            "<br><span class=\"syn\">includes synthetic data; sourced only: {}</span>",
            esc(&s)
        ),
        _ => String::new(),
    };
    let _ = write!(
        h,
        "<tr><th>{}</th><td class=\"n\">{}{syn}</td><td class=\"small\">{}</td></tr>",
        esc(label),
        esc(&all),
        esc(note)
    );
}

fn headline_section(h: &mut String, r: &ReportInput<'_>) {
    h.push_str("<h2>Headline figures</h2>");
    for (code, t) in &r.headline.trusts {
        let s: Option<&TrustHeadline> = r.sourced.and_then(|s| s.trusts.get(code));
        let _ = write!(h, "<h3>{}</h3><table>", esc(code));
        let m = |f: fn(&TrustHeadline) -> i64| (money(f(t)), s.map(|s| money(f(s))));
        let (a, b) = m(|t| t.net_cost_pence);
        figure(
            h,
            "Net cost",
            a,
            b,
            "extra cost + income at risk - recovered + penalties [1]",
        );
        let (a, b) = m(|t| t.extra_cost_pence);
        figure(h, "Extra cost", a, b, "");
        let (a, b) = m(|t| t.income_at_risk_pence);
        figure(h, "Income at risk", a, b, "");
        let (a, b) = m(|t| t.income_recovered_pence);
        figure(h, "Income recovered", a, b, "");
        let (a, b) = m(|t| t.estimated_net_cost_pence);
        figure(h, "Estimated (not in the headline)", a, b, "");
        let c = |f: fn(&TrustHeadline) -> u64| (f(t).to_string(), s.map(|s| f(s).to_string()));
        let (a, b) = c(|t| t.open_lost_patients);
        figure(h, "Patients lost, not yet traced", a, b, "[2]");
        let (a, b) = c(|t| t.open_serious_incidents);
        figure(h, "Open serious incidents", a, b, "");
        let (a, b) = m(|t| t.priced_shortfall_pence);
        figure(
            h,
            "Priced activity shortfall",
            a,
            b,
            "tariffs as configured",
        );
        let status = format!(
            "{}{}",
            t.rollout_status.as_deref().unwrap_or("no status reported"),
            t.go_live
                .as_ref()
                .map(|g| format!(", live since {g}"))
                .unwrap_or_default()
        );
        figure(h, "Rollout", status, None, "");
        let w = format!(
            "{} warning(s){}; coverage {}",
            t.warnings,
            if t.halt_recommended {
                ", HALT RECOMMENDED"
            } else {
                ""
            },
            t.coverage
        );
        figure(h, "Warnings", w, None, "");
        h.push_str("</table>");
    }
}

/// Headline net cost per month as bars (the trusts shown), values labelled.
fn money_chart(h: &mut String, m: &MoneyView) {
    // Summed over the trusts shown (a programme's members), not the view's own total.
    let mut by_month: std::collections::BTreeMap<String, i64> = Default::default();
    for t in m.trusts.values() {
        for (p, f) in &t.by_month {
            *by_month.entry(p.to_string()).or_default() += f.net_cost_pence;
        }
    }
    let months: Vec<(String, i64)> = by_month.into_iter().filter(|(_, v)| *v != 0).collect();
    h.push_str("<h2>Net cost by month</h2>");
    if months.is_empty() {
        h.push_str("<p>No money reported.</p>");
        return;
    }
    let max = months
        .iter()
        .map(|(_, v)| v.unsigned_abs())
        .max()
        .unwrap_or(1)
        .max(1);
    let (w, bar_h) = (680u64, 160u64);
    let step = (w / months.len() as u64).min(72);
    let _ = write!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" \
         role=\"img\" aria-label=\"net cost by month\">",
        bar_h + 40
    );
    for (i, (label, v)) in months.iter().enumerate() {
        let len = v.unsigned_abs() * bar_h / max;
        let x = i as u64 * step;
        let fill = if *v < 0 { "#4a8" } else { "#c44" };
        let _ = write!(
            h,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{len}\" fill=\"{fill}\"/>\
             <text x=\"{}\" y=\"{}\" font-size=\"8\">{}</text>\
             <text x=\"{}\" y=\"{}\" font-size=\"7\">{}</text>",
            x + 2,
            bar_h - len + 12,
            step.saturating_sub(4).max(2),
            x + 2,
            bar_h + 24,
            esc(label),
            x + 2,
            (bar_h - len + 10).max(8),
            esc(&money(*v))
        );
    }
    h.push_str("</svg>");
}

fn recovery_section(h: &mut String, r: &RecoveryView) {
    if r.trusts.is_empty() {
        return;
    }
    h.push_str(
        "<h2>Recovery: activity against its pre-go-live baseline</h2><table><tr><th>Trust</th>\
         <th>Point of delivery</th><th>Latest month</th><th>% of baseline</th><th>Weeks to 95%</th>\
         <th>Priced shortfall</th><th>Income at risk, same months</th></tr>",
    );
    for (code, t) in &r.trusts {
        for (pod, p) in &t.points_of_delivery {
            let last = p.months.iter().rev().find(|m| !m.carried);
            let weeks = match &p.weeks_to_95_pct {
                Some(w) => crate::name_of(w),
                None => "no go-live or baseline".to_owned(),
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(code),
                esc(&crate::name_of(pod)),
                last.map(|m| m.period.to_string()).unwrap_or_default(),
                last.and_then(|m| m.pct_of_baseline)
                    .map(|x| format!("{x}%"))
                    .unwrap_or_default(),
                esc(&weeks),
                esc(&money(p.priced_shortfall_pence)),
                esc(&money(t.income_at_risk_pence)),
            );
        }
    }
    h.push_str(
        "</table><p class=\"small\">A dark month carries the last reported value forward and \
         is never counted as recovered (hollow points below).</p>",
    );
    recovery_chart(h, r);
}

/// Months since go-live, % of baseline, carried.
type ChartPoint = (i64, f64, bool);

/// Each point of delivery's points with a month since go-live and a percentage, labelled.
fn chart_series(r: &RecoveryView) -> Vec<(String, Vec<ChartPoint>)> {
    r.trusts
        .iter()
        .flat_map(|(code, t)| {
            t.points_of_delivery.iter().map(move |(pod, p)| {
                let points = p
                    .months
                    .iter()
                    .filter_map(|m| Some((m.months_since_go_live?, m.pct_of_baseline?, m.carried)))
                    .collect();
                (format!("{code} {}", crate::name_of(pod)), points)
            })
        })
        .filter(|(_, pts): &(String, Vec<_>)| !pts.is_empty())
        .collect()
}

/// Each point of delivery's activity as % of baseline by month since go-live, one line each,
/// carried months hollow, the 95% line dashed.
fn recovery_chart(h: &mut String, r: &RecoveryView) {
    let series = chart_series(r);
    if series.is_empty() {
        return;
    }
    let last = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|x| x.0))
        .max()
        .unwrap_or(1)
        .max(1);
    // 40% to 120% of baseline: where go-live dips and recoveries are told apart.
    let (w, ht, top, bottom) = (640.0_f64, 160.0_f64, 120.0_f64, 40.0_f64);
    let x = |m: i64| 30.0 + m as f64 * (w - 40.0) / last as f64;
    let y = |pct: f64| 10.0 + (top - pct.clamp(bottom, top)) * ht / (top - bottom);
    let _ = write!(
        h,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" role=\"img\" \
         aria-label=\"activity as % of baseline by month since go-live\">\
         <line x1=\"30\" x2=\"{}\" y1=\"{y95:.1}\" y2=\"{y95:.1}\" stroke=\"#888\" \
         stroke-dasharray=\"4 3\"/><text x=\"0\" y=\"{:.1}\" font-size=\"8\">95%</text>\
         <text x=\"0\" y=\"{:.1}\" font-size=\"8\">40%</text>",
        ht + 34.0 + series.len() as f64 * 10.0,
        w - 10.0,
        y(95.0) + 3.0,
        y(40.0),
        y95 = y(95.0)
    );
    let colours = ["#c44", "#36c", "#393", "#c80", "#939", "#555"];
    for (i, (label, pts)) in series.iter().enumerate() {
        let c = colours[i % colours.len()];
        let line: Vec<String> = pts
            .iter()
            .map(|(m, p, _)| format!("{:.1},{:.1}", x(*m), y(*p)))
            .collect();
        let _ = write!(
            h,
            "<polyline fill=\"none\" stroke=\"{c}\" points=\"{}\"/>",
            line.join(" ")
        );
        for (m, p, carried) in pts {
            let fill = if *carried { "white" } else { c };
            let _ = write!(
                h,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{fill}\" stroke=\"{c}\"/>",
                x(*m),
                y(*p)
            );
        }
        let _ = write!(
            h,
            "<text x=\"40\" y=\"{:.1}\" font-size=\"8\" fill=\"{c}\">{}</text>",
            ht + 30.0 + i as f64 * 10.0,
            esc(label)
        );
    }
    h.push_str("</svg><p class=\"small\">Months since go-live (0 = the go-live month).</p>");
}

fn warnings_section(h: &mut String, w: &WarningsView) {
    h.push_str("<h2>Warnings and why</h2><table><tr><th>Trust</th><th>Rule</th><th>Since</th><th>Why</th></tr>");
    let mut any = false;
    for (code, t) in &w.trusts {
        for x in &t.warnings {
            any = true;
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}{}</td></tr>",
                esc(code),
                esc(&x.id),
                if x.halt { " (halt)" } else { "" },
                x.since
                    .map(|s| s.format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
                esc(&x.message),
                if x.synthetic_only {
                    " <span class=\"syn\">(synthetic data only)</span>"
                } else {
                    ""
                }
            );
        }
    }
    if !any {
        h.push_str("<tr><td colspan=\"4\">No warning fired.</td></tr>");
    }
    h.push_str("</table>");
}

fn coverage_section(h: &mut String, c: &CoverageView) {
    h.push_str(
        "<h2>Coverage</h2><p class=\"small\">A trust that reports nothing is not a trust \
         without harm.</p><table><tr><th>Programme</th><th>Trust</th><th>State</th>\
         <th>Last event</th></tr>",
    );
    for (programme, p) in &c.programmes {
        for (code, t) in &p.trusts {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(programme),
                esc(code),
                esc(&crate::name_of(&t.state)),
                t.last_event_at
                    .map(|s| s.format("%Y-%m-%d").to_string())
                    .unwrap_or_default()
            );
        }
    }
    h.push_str("</table>");
}

fn claims_section(h: &mut String, c: &ClaimsView) {
    if c.claims.is_empty() {
        return;
    }
    h.push_str(
        "<h2>Claims held against the evidence</h2><table><tr><th>Date</th><th>Claimant</th>\
         <th>Claim</th><th>Verdict</th></tr>",
    );
    for e in &c.claims {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
            e.claimed_at.format("%Y-%m-%d"),
            esc(&e.claimant.name),
            esc(&e.statement),
            esc(&crate::name_of(&e.verdict)),
            if e.synthetic {
                " <span class=\"syn\">(synthetic claim)</span>"
            } else {
                ""
            }
        );
    }
    h.push_str("</table>");
}

/// The sources of each trust's figure groups: [1] money, [2] lost patients, [3] rollout, [4]
/// incidents.
fn sources_section(h: &mut String, e: &EvidenceView) {
    h.push_str("<h2>Sources</h2><ol class=\"small\">");
    type Group = fn(&golive_projections::TrustEvidence) -> &golive_projections::FigureEvidence;
    let groups: [(&str, Group); 4] = [
        ("Money", |t| &t.money),
        ("Lost patients", |t| &t.lost),
        ("Rollout", |t| &t.rollout),
        ("Incidents", |t| &t.incidents),
    ];
    for (label, group) in groups {
        let _ = write!(h, "<li>{label}:<ul>");
        for (code, t) in &e.trusts {
            for s in &group(t).sources {
                let _ = write!(
                    h,
                    "<li>{} — {}: {}{} ({} event(s))</li>",
                    esc(code),
                    esc(&crate::name_of(&s.source_type)),
                    esc(&s.reference),
                    s.url
                        .as_ref()
                        .map(|u| format!(", {}", esc(u)))
                        .unwrap_or_default(),
                    s.events
                );
            }
        }
        h.push_str("</ul></li>");
    }
    h.push_str("</ol>");
}

fn checkpoint_section(h: &mut String, r: &ReportInput<'_>) {
    let _ = write!(
        h,
        "<div class=\"last\"><h2>What these figures were computed at</h2><p>Ledger sequence \
         {seq} (tree size {seq}); Merkle root at that size: <code>{}</code>.</p>",
        esc(&r.root_at_seq),
        seq = r.as_of_seq
    );
    match &r.checkpoint {
        Some(c) if c.size == r.as_of_seq => {
            h.push_str("<p>The ledger's signed checkpoint at exactly that size:</p>");
            let _ = write!(h, "<pre>{}</pre>", esc(&c.note));
        }
        Some(c) => {
            let _ = write!(
                h,
                "<p>The first signed checkpoint covering it is at size {}; the tree at {} is a \
                 prefix of it (the export's consistency and the re-derivation below check \
                 this):</p><pre>{}</pre>",
                c.size,
                r.as_of_seq,
                esc(&c.note)
            );
        }
        None => h.push_str(
            "<p><strong>UNSIGNED:</strong> no signed checkpoint covers this sequence yet; the \
             ledger signs one as it appends (docs/AUDIT.md).</p>",
        ),
    }
    if let Some(k) = &r.pubkey {
        let _ = write!(
            h,
            "<p>The ledger's public key (check it out of band): <code>{}</code></p>",
            esc(k)
        );
    }
    h.push_str("<p>To re-derive every figure of this report offline:</p><pre>");
    for c in &r.commands {
        let _ = writeln!(h, "{}", esc(c));
    }
    h.push_str("</pre></div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_grouped_in_thousands_with_pence() {
        assert_eq!(money(0), "£0.00");
        assert_eq!(money(1_000_000_000), "£10,000,000.00");
        assert_eq!(money(-123_456), "-£1,234.56");
        assert_eq!(money(99_999), "£999.99");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }
}
