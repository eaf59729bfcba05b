//! Snapshot snapshots (versioned, refused when foreign) and the JSON shape of the views that
//! the HTTP API and the CLI's `--json` hand to analysts.

use crate::common::*;
use golive_model::{
    CostCategory, Dataset, Harm, IncidentState, IncomeCategory, Pathway, RolloutState, TraceOutcome,
};
use golive_projections::{Projections, SNAPSHOT_VERSION, SnapshotError, WarningRules};
use serde_json::{Value, json};

const LONDON: &str = "London Programme for IT";

fn scenario() -> Projections {
    given([
        ev(
            1,
            "RNJ",
            "2008-04-08",
            rollout(LONDON, RolloutState::GoLive, Some("LC0")),
        ),
        ev(
            2,
            "RNJ",
            "2008-09-01",
            cost(CostCategory::TemporaryStaff, 100_000_000),
        ),
        ev(
            3,
            "RNJ",
            "2008-09-01",
            at_risk(IncomeCategory::Unbilled, 150_000_000, "2008-06"),
        ),
        ev(4, "RNJ", "2009-03-01", suspended(Dataset::Rtt)),
        ev(5, "RNJ", "2009-03-02", lost("P1", Pathway::Rtt18wk)),
        ev(
            6,
            "RNJ",
            "2009-03-20",
            traced("P1", TraceOutcome::StillWaiting, Harm::Low),
        ),
        ev(
            7,
            "RNJ",
            "2009-04-28",
            incident("SUI-1", Harm::Moderate, true, IncidentState::Open),
        ),
        ev(8, "RAL", "2008-10-01", deferred("maternity", Some("LC2"))),
        ev(
            9,
            "X24",
            "2008-10-01",
            programme_status(LONDON, RolloutState::Paused, "London pause"),
        ),
    ])
}

#[test]
fn a_snapshot_round_trips_and_names_its_format_and_version() {
    // Proves the snapshot format: the format's name, the version (u32 LE) and last_seq (u64
    // LE) in the open, then the bincode state; and from_snapshot(to_snapshot(p)) == p.
    let p = scenario();
    let bytes = p.to_snapshot();
    let name = b"golive-projections";
    assert_eq!(&bytes[..name.len()], name);
    let rest = &bytes[name.len()..];
    assert_eq!(
        u32::from_le_bytes(rest[..4].try_into().unwrap()),
        SNAPSHOT_VERSION
    );
    assert_eq!(u64::from_le_bytes(rest[4..12].try_into().unwrap()), 9);
    assert_eq!(Projections::from_snapshot(&bytes).unwrap(), p);
}

#[test]
fn foreign_or_damaged_snapshots_are_refused() {
    // Proves from_snapshot refuses bytes that are not a snapshot (a version-1 JSON one
    // included), another version, a state that does not match its header, a cut state and
    // bytes after the state, each with its own error.
    let good = scenario().to_snapshot();
    let at = b"golive-projections".len();
    assert!(matches!(
        Projections::from_snapshot(b"{\"format\":\"golive-projections\",\"version\":1}"),
        Err(SnapshotError::NotASnapshot(_))
    ));
    assert!(matches!(
        Projections::from_snapshot(b"golive-projections"),
        Err(SnapshotError::NotASnapshot(_))
    ));
    let mut v = good.clone();
    v[at..at + 4].copy_from_slice(&(SNAPSHOT_VERSION + 1).to_le_bytes());
    assert!(matches!(
        Projections::from_snapshot(&v),
        Err(SnapshotError::UnsupportedVersion { .. })
    ));
    let mut v = good.clone();
    v[at + 4..at + 12].copy_from_slice(&8u64.to_le_bytes());
    assert!(matches!(
        Projections::from_snapshot(&v),
        Err(SnapshotError::Corrupt(_))
    ));
    assert!(matches!(
        Projections::from_snapshot(&good[..good.len() - 3]),
        Err(SnapshotError::Corrupt(_))
    ));
    let mut v = good.clone();
    v.push(0);
    assert!(matches!(
        Projections::from_snapshot(&v),
        Err(SnapshotError::Corrupt(_))
    ));
}

fn has(v: &Value, pointer: &str) {
    assert!(v.pointer(pointer).is_some(), "missing {pointer} in {v:#}");
}

#[test]
fn views_serialise_with_stable_snake_case_names() {
    // Proves the JSON contract analysts rely on: per-trust sections keyed by ODS code, totals,
    // and the documented field names (money in `_pence` integers, times in RFC 3339 with Z).
    let p = scenario();
    let money = json!(p.money(None));
    for f in [
        "extra_cost_pence",
        "income_at_risk_pence",
        "income_recovered_pence",
        "contract_penalty_pence",
        "net_cost_pence",
    ] {
        has(&money, &format!("/total/{f}"));
        has(&money, &format!("/trusts/RNJ/total/{f}"));
        has(&money, &format!("/trusts/RNJ/by_month/2008-06/{f}"));
    }
    assert_eq!(money["total"]["net_cost_pence"], 250_000_000);
    has(&money, "/total/extra_cost_by_category/temporary_staff");
    has(&money, "/total/income_at_risk_by_category/unbilled");
    has(&money, "/total/income_recovered_by_category/unspecified");

    let lost = json!(p.lost_patients(None));
    for f in [
        "/as_at",
        "/trusts/RNJ/open_count",
        "/trusts/RNJ/open_by_pathway/rtt_18wk",
        "/trusts/RNJ/open_cases",
        "/trusts/RNJ/traced/by_outcome/still_waiting",
        "/trusts/RNJ/traced/by_harm/low",
        "/trusts/RNJ/days_to_trace/median_days",
        "/trusts/RNJ/waiting_lists",
        "/trusts/RNJ/harm_reviews/cases_reviewed",
        "/trusts/RNJ/reporting/suspended/rtt/since",
        "/trusts/RNJ/reporting/history/0/change",
        "/trusts/RNJ/weekly_open/0/week",
        "/total/open_count",
        "/total/datasets_suspended",
    ] {
        has(&lost, f);
    }
    assert_eq!(
        lost["trusts"]["RNJ"]["reporting"]["suspended"]["rtt"]["since"],
        "2009-03-01T09:00:00Z"
    );
    assert_eq!(lost["trusts"]["RNJ"]["days_to_trace"]["median_days"], 18);

    let rollout = json!(p.rollout(None));
    for f in [
        "/trusts/RNJ/status",
        "/trusts/RNJ/release",
        "/trusts/RNJ/go_live",
        "/trusts/RNJ/days_since_go_live",
        "/trusts/RNJ/history/0/event_id",
        "/trusts/RNJ/anomalies",
        "/programmes/London Programme for IT/status",
        "/programmes/London Programme for IT/history/0/trust",
        "/total/live_trusts",
    ] {
        has(&rollout, f);
    }
    assert_eq!(rollout["trusts"]["RNJ"]["status"], "go_live");
    assert_eq!(rollout["programmes"][LONDON]["status"], "paused");

    let incidents = json!(p.incidents(None));
    has(&incidents, "/trusts/RNJ/safety/open_serious/0/harm");
    has(&incidents, "/trusts/RNJ/outages/downtime_minutes");
    has(&incidents, "/total/open_serious");

    let deferred = json!(p.deferred_features(None));
    has(&deferred, "/trusts/RAL/features/0/promised_for");
    has(&deferred, "/total/count");

    let warnings = json!(p.warnings(&WarningRules::default(), None));
    for f in [
        "/trusts/RNJ/warnings/0/id",
        "/trusts/RNJ/warnings/0/severity",
        "/trusts/RNJ/warnings/0/message",
        "/trusts/RNJ/warnings/0/since",
        "/trusts/RNJ/halt_recommended",
        "/trusts/RNJ/halt_reasons",
        "/programmes",
        "/rules/net_cost_threshold_pence",
        "/total/halt_recommended",
    ] {
        has(&warnings, f);
    }
    let fired: Vec<&str> = warnings["trusts"]["RNJ"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    // Net cost 250m >= 100m; at risk 150m >= 50m; a serious incident; live and suspended.
    assert_eq!(
        fired,
        [
            "net_cost",
            "income_at_risk",
            "serious_incident",
            "reporting_suspended"
        ]
    );
}
