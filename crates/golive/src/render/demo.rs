//! What `golive demo` prints on stdout as the tour goes: where NATS and the ledger are, the
//! dashboard's address and tokens, the London scenario's projections, and a short state line
//! per trust every few seconds.

use std::fmt::Write;
use std::net::SocketAddr;
use std::path::Path;

use golive_model::Pence;
use golive_projections::{Projections, WarningRules};
use golive_service::ServeSummary;

use super::line;

/// The first line.
pub fn intro() -> String {
    line("Go-Live Ledger demo: the London go-lives of 2007-2009, through NATS JetStream")
}

/// NATS found at `NATS_URL`.
pub fn nats_from_env(url: &str) -> String {
    line(format_args!("NATS: using {url} (from NATS_URL)"))
}

/// `NATS_URL` is set but nothing answers there.
pub fn nats_env_unanswered(url: &str) -> String {
    line(format_args!(
        "NATS_URL={url} does not answer; starting a private nats-server instead"
    ))
}

/// The demo started its own nats-server.
pub fn nats_started(url: &str, store: &Path) -> String {
    line(format_args!(
        "NATS: started nats-server at {url} (store {})",
        store.display()
    ))
}

/// Where the ledger is.
pub fn ledger_dir(dir: &Path) -> String {
    line(format_args!("ledger: {}", dir.display()))
}

/// How each kind of user reaches the demo's HTTP API: the tokens are made for this run.
pub struct DashboardAccess<'a> {
    pub addr: SocketAddr,
    pub analyst_token: &'a str,
    pub auditor_token: &'a str,
    pub admin_token: &'a str,
    /// The ledger's verifier key, for `golive audit verify --pubkey`.
    pub pubkey: &'a str,
}

/// The dashboard's address and one way in per role.
pub fn dashboard(a: &DashboardAccess<'_>) -> String {
    let addr = a.addr;
    let mut out = line(format_args!(
        "Dashboard: http://{addr}/  (the HTTP API is under http://{addr}/v1/)"
    ));
    let _ = writeln!(
        out,
        "Dashboard for analysts: http://{addr}/#token={}",
        a.analyst_token
    );
    let _ = writeln!(
        out,
        "Auditors, while it runs: GOLIVE_TOKEN={} golive audit export --server http://{addr} > h.jsonl && golive audit verify --export h.jsonl --pubkey '{}'",
        a.auditor_token, a.pubkey
    );
    let _ = writeln!(
        out,
        "Admin (dead letters, metrics): curl -H 'Authorization: Bearer {}' http://{addr}/v1/dead-letters",
        a.admin_token
    );
    out
}

/// No address to serve the dashboard on.
pub fn no_dashboard(error: &std::io::Error) -> String {
    line(format_args!(
        "no dashboard: cannot listen for HTTP ({error})"
    ))
}

/// One collector of the London scenario starts.
pub fn london_collector(trust: &str, events: usize) -> String {
    line(format_args!(
        "collector {trust}: {events} events from the London 2008 scenario"
    ))
}

/// A London collector ended with events unconfirmed.
pub fn collector_pending(events: u64) -> String {
    line(format_args!(
        "a collector still has {events} events pending"
    ))
}

/// A London collector failed.
pub fn collector_failed(error: &dyn std::fmt::Display) -> String {
    line(format_args!("a collector failed: {error}"))
}

/// The London scenario is in: its head and four views, each with its rows that include
/// synthetic data marked.
pub fn london_appended(head_seq: u64, p: &Projections, rules: &WarningRules) -> String {
    let mut out = format!("\nLondon 2008 scenario appended: head seq {head_seq}\n\n");
    let section = |out: &mut String, title: &str, m: (String, golive_projections::Synthetic)| {
        let _ = writeln!(
            out,
            "== {title} ==\n{}",
            super::views::mark_synthetic(m.0, &m.1)
        );
    };
    let m = p.marked(false, |p| p.rollout(None));
    section(&mut out, "Rollout", (super::rollout(&m.view), m.synthetic));
    let m = p.marked(false, |p| p.money(None));
    let money = (super::money(&m.view), m.synthetic);
    section(&mut out, "Money (integer pence, shown in pounds)", money);
    let m = p.marked(false, |p| p.lost_patients(None));
    let lost = (super::lost_patients(&m.view), m.synthetic);
    section(&mut out, "Lost patients", lost);
    let m = p.marked(false, |p| p.warnings(rules, None));
    section(
        &mut out,
        "Early warnings",
        (super::warnings(&m.view), m.synthetic),
    );
    out
}

/// The simulated live feed starts.
pub fn live_feed(events_per_s: u64, dir: &Path) -> String {
    format!(
        "Live feed: simulated trusts publish about {events_per_s} events/s via files dropped into {}\nStop with Ctrl-C.\n\n",
        dir.display()
    )
}

/// The state line (and, once synthetic events are in, the same of the sourced events only),
/// then one short line per trust: status, money, lost patients, warnings, and whether it is
/// simulated or its figures include synthetic data; with the blank line after it.
pub fn snapshot(head_seq: u64, p: &Projections, rules: &WarningRules) -> String {
    let sourced = p.sourced_only();
    let figures = |p: &Projections| {
        (
            p.money(None),
            p.lost_patients(None),
            p.warnings(rules, None),
        )
    };
    let (money, lost, warnings) = figures(p);
    let (s_money, s_lost, s_warnings) = figures(sourced);
    let halting = |w: &golive_projections::WarningsView| match &w.total.halt_recommended[..] {
        [] => "none".to_owned(),
        codes => codes.join(", "),
    };
    let mut out = format!(
        "seq {:>6}  net cost {}  open lost patients {}  halt recommended: {}\n",
        head_seq,
        Pence(money.total.net_cost_pence),
        lost.total.open_count,
        halting(&warnings)
    );
    if p.synthetic_events() > 0 {
        let _ = writeln!(
            out,
            "  sourced only (without the {} synthetic events): net cost {}  open lost patients {}  halt recommended: {}",
            p.synthetic_events(),
            Pence(s_money.total.net_cost_pence),
            s_lost.total.open_count,
            halting(&s_warnings)
        );
    }
    let net = |m: &golive_projections::MoneyView, t| {
        m.trusts.get(t).map_or(0, |m| m.total.net_cost_pence)
    };
    let open =
        |l: &golive_projections::LostPatientsView, t| l.trusts.get(t).map_or(0, |l| l.open_count);
    let sourced_trusts = sourced.trusts();
    for (trust, r) in &p.rollout(None).trusts {
        let halt = warnings
            .trusts
            .get(trust)
            .is_some_and(|w| w.halt_recommended);
        let code = golive_model::OdsCode::parse(trust);
        let mark = if !code.is_some_and(|c| sourced_trusts.contains(&c)) {
            "  SIMULATED"
        } else if (net(&money, trust), open(&lost, trust))
            != (net(&s_money, trust), open(&s_lost, trust))
        {
            "  includes synthetic"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {trust:<5} {:<13} net cost {:>16}  open lost {:>4}{}{mark}",
            r.status.map(|s| s.as_str()).unwrap_or("-"),
            Pence(net(&money, trust)).to_string(),
            open(&lost, trust),
            if halt { "  HALT RECOMMENDED" } else { "" }
        );
    }
    out.push('\n');
    out
}

/// What the demo's ledger did, or why it failed.
pub fn ledger_stopped<E: std::fmt::Display>(result: &Result<ServeSummary, E>) -> String {
    match result {
        Ok(s) => line(format_args!(
            "ledger stopped: {} messages, {} appended, {} duplicates, {} dead letters",
            s.messages, s.appended, s.duplicates, s.dead_lettered
        )),
        Err(e) => line(format_args!("ledger failed: {e}")),
    }
}

/// The last lines: where the ledger stays, and what to try on it.
pub fn try_next(data_dir: &Path) -> String {
    let data = data_dir.display();
    format!(
        "The ledger stays in {data}. Try:\n  golive query money --trust RAL --data {data}\n  golive query warnings --data {data}\n  golive verify --data {data}\n"
    )
}
