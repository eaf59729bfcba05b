//! Coverage: programme members (latest roster and rollout statuses), and each trust reporting,
//! silent or dark, with the last known figure carried forward; its effect on warnings.

use crate::common::*;
use golive_model::{Dataset, Pathway, RolloutState};
use golive_projections::{
    CoverageState, OverallState, Projections, RulesError, TrustCoverage, WarningRules,
};

const LONDON: &str = "London Programme for IT";

fn of(p: &Projections, trust: &str) -> TrustCoverage {
    p.coverage(&WarningRules::default(), None).programmes[LONDON].trusts[trust].clone()
}

fn members(p: &Projections) -> Vec<(String, bool)> {
    p.coverage(&WarningRules::default(), None).programmes[LONDON]
        .trusts
        .iter()
        .map(|(c, t)| (c.clone(), t.rostered))
        .collect()
}

#[test]
fn each_state_reporting_silent_dark_with_the_silence_window_at_eight_weeks() {
    // Proves: a rostered trust never heard from is silent; a live trust whose last event is
    // more than 8 weeks before as_at is silent, exactly 8 weeks is still reporting; a suspended
    // dataset makes a trust dark even with recent events. as_at is RVL's 2009-03-02.
    let p = given([
        ev(
            1,
            "Q36",
            "2008-01-01",
            roster(LONDON, &["RGZ", "RAL", "RNJ", "RVL"]),
        ),
        ev(
            2,
            "RNJ",
            "2008-04-08",
            rollout(LONDON, RolloutState::GoLive, None),
        ),
        // RNJ: last event 2009-01-05 09:00, 8 weeks + 1 hour before as_at.
        ev(
            3,
            "RNJ",
            "2009-01-05T09:00:00Z",
            lost("P1", Pathway::Rtt18wk),
        ),
        ev(
            4,
            "RAL",
            "2008-06-15",
            rollout(LONDON, RolloutState::GoLive, None),
        ),
        // RAL: exactly 8 weeks before as_at.
        ev(
            5,
            "RAL",
            "2009-01-05T10:00:00Z",
            lost("P2", Pathway::Rtt18wk),
        ),
        ev(6, "RVL", "2009-03-01", suspended(Dataset::Rtt)),
        ev(
            7,
            "RVL",
            "2009-03-02T10:00:00Z",
            lost("P3", Pathway::Rtt18wk),
        ),
    ]);
    let v = p.coverage(&WarningRules::default(), None);
    assert_eq!(v.silent_after_weeks, 8);
    assert_eq!(v.as_at, Some(t("2009-03-02T10:00:00Z")));
    let rgz = of(&p, "RGZ");
    assert_eq!(rgz.state, CoverageState::Silent);
    assert_eq!(
        (rgz.last_event_at, rgz.weeks_since_last_event),
        (None, None)
    );
    assert!(rgz.rostered && !rgz.live);
    let rnj = of(&p, "RNJ");
    assert_eq!(rnj.state, CoverageState::Silent);
    assert_eq!(rnj.last_event_at, Some(t("2009-01-05T09:00:00Z")));
    assert_eq!(rnj.weeks_since_last_event, Some(8));
    assert!(rnj.live);
    let ral = of(&p, "RAL");
    assert_eq!(ral.state, CoverageState::Reporting);
    assert_eq!(ral.weeks_since_last_event, Some(8));
    let rvl = of(&p, "RVL");
    assert_eq!(rvl.state, CoverageState::Dark);
    assert_eq!(rvl.dark_datasets.len(), 1);
    assert_eq!(rvl.dark_datasets[0].since, t("2009-03-01"));
    // No waiting-list report before the suspension: nothing to carry forward.
    assert_eq!(rvl.dark_datasets[0].last_known, None);
    assert!(!rvl.dark_datasets[0].carried_forward);
    assert_eq!(
        (v.totals.reporting, v.totals.silent, v.totals.dark),
        (1, 2, 1)
    );
    // A longer window makes RNJ reporting.
    let nine = WarningRules {
        silent_after_weeks: 9,
        ..WarningRules::default()
    };
    let v = p.coverage(&nine, None);
    assert_eq!(
        v.programmes[LONDON].trusts["RNJ"].state,
        CoverageState::Reporting
    );
}

#[test]
fn a_dark_dataset_carries_forward_the_latest_figure_at_or_before_the_suspension() {
    // Proves the carried-forward value is the latest waiting_list_discrepancy (any pathway) at
    // or before the suspension, not one reported after it, and that a resumption ends dark.
    let p = given([
        ev(
            1,
            "RVL",
            "2008-01-01",
            rollout(LONDON, RolloutState::GoLive, None),
        ),
        ev(
            2,
            "RVL",
            "2008-02-01",
            waiting_list(Pathway::Rtt18wk, 900, 800, Some(40)),
        ),
        ev(
            3,
            "RVL",
            "2008-03-01",
            waiting_list(Pathway::Inpatient26wk, 63, 63, None),
        ),
        ev(4, "RVL", "2008-03-01", suspended(Dataset::Rtt)),
        ev(
            5,
            "RVL",
            "2008-04-01",
            waiting_list(Pathway::Rtt18wk, 1, 1, None),
        ),
    ]);
    let rvl = of(&p, "RVL");
    assert_eq!(rvl.state, CoverageState::Dark);
    assert!(!rvl.rostered);
    let d = &rvl.dark_datasets[0];
    assert_eq!(d.dataset, Dataset::Rtt);
    assert!(d.carried_forward);
    let k = d
        .last_known
        .as_ref()
        .expect("a figure before the suspension");
    assert_eq!(k.pathway, Pathway::Inpatient26wk);
    assert_eq!((k.records, k.unique_patients, k.breaches), (63, 63, None));
    assert_eq!(k.occurred_at, t("2008-03-01"));
    let json = serde_json::to_value(&rvl).unwrap();
    assert_eq!(json["dark_datasets"][0]["dataset"], "rtt");
    assert_eq!(json["dark_datasets"][0]["carried_forward"], true);
    assert_eq!(json["state"], "dark");

    let resumed = given([
        ev(
            1,
            "RVL",
            "2008-01-01",
            rollout(LONDON, RolloutState::GoLive, None),
        ),
        ev(2, "RVL", "2008-03-01", suspended(Dataset::Rtt)),
        ev(3, "RVL", "2008-04-01", resumed(Dataset::Rtt)),
    ]);
    assert_eq!(of(&resumed, "RVL").state, CoverageState::Reporting);
}

#[test]
fn the_latest_roster_replaces_the_earlier_and_rollout_trusts_stay_members() {
    // Proves the roster in force is the latest by occurred_at (a late-arriving older roster does
    // not replace it), and that trusts with a trust-scope rollout status are members too,
    // not rostered.
    let p = given([
        ev(1, "Q36", "2008-01-01", roster(LONDON, &["RGZ", "RNH"])),
        ev(2, "Q36", "2008-06-01", roster(LONDON, &["RNH", "RQX"])),
        ev(3, "Q36", "2008-03-01", roster(LONDON, &["RAX"])),
        ev(
            4,
            "RAL",
            "2008-06-15",
            rollout(LONDON, RolloutState::GoLive, None),
        ),
        ev(
            5,
            "RNH",
            "2008-06-15",
            rollout(LONDON, RolloutState::Planned, None),
        ),
    ]);
    assert_eq!(
        members(&p),
        [
            ("RAL".to_owned(), false),
            ("RNH".to_owned(), true),
            ("RQX".to_owned(), true)
        ]
    );
    // The publisher is no member, and other programmes are not listed.
    let v = p.coverage(&WarningRules::default(), None);
    assert_eq!(v.programmes.len(), 1);
    // With a trust: only it, in its programmes; a non-member gives none.
    let one = p.coverage(&WarningRules::default(), Some(&ods("RQX")));
    assert_eq!(one.programmes[LONDON].trusts.len(), 1);
    assert_eq!(one.totals.silent, 1);
    assert!(
        p.coverage(&WarningRules::default(), Some(&ods("RGZ")))
            .programmes
            .is_empty()
    );
}

#[test]
fn a_correction_removes_its_roster_and_its_event_time() {
    // Proves correcting the latest roster replaces it by the correction's trusts (the
    // superseded one no longer counts), and that a corrected event's time no longer counts as
    // the trust's last event.
    let p = given([
        ev(1, "Q36", "2008-01-01", roster(LONDON, &["RGZ"])),
        ev(2, "Q36", "2008-06-01", roster(LONDON, &["RNH"])),
        ev(
            3,
            "RAL",
            "2008-01-01",
            rollout(LONDON, RolloutState::GoLive, None),
        ),
        ev(4, "RAL", "2009-01-01", lost("P1", Pathway::Rtt18wk)),
        correcting(ev(5, "Q36", "2008-06-01", roster(LONDON, &["RQX"])), 2),
        // The loss was in fact reported in 2008.
        correcting(ev(6, "RAL", "2008-02-01", lost("P1", Pathway::Rtt18wk)), 4),
    ]);
    assert_eq!(
        members(&p),
        [("RAL".to_owned(), false), ("RQX".to_owned(), true)]
    );
    let ral = of(&p, "RAL");
    assert_eq!(ral.last_event_at, Some(t("2008-02-01")));
    // as_at stays 2009-01-01 (a high-water mark): RAL is now silent.
    assert_eq!(ral.state, CoverageState::Silent);
    // The superseded roster's trust is gone; the earlier roster is not revived.
    assert!(
        !p.coverage(&WarningRules::default(), None).programmes[LONDON]
            .trusts
            .contains_key("RGZ")
    );
}

#[test]
fn a_live_trust_that_is_silent_or_dark_is_unknown_in_warnings_never_ok() {
    // Proves the warnings' state: unknown for a live silent trust with no warnings and for a
    // live dark one (halt when a halt is recommended), ok for a silent trust that is not live, halt and
    // warning from the rules for reporting trusts.
    let rules = WarningRules::default();
    let p = given([
        ev(
            1,
            "RNJ",
            "2008-01-01",
            rollout(LONDON, RolloutState::GoLive, None),
        ),
        ev(
            2,
            "RAX",
            "2008-01-01",
            rollout(LONDON, RolloutState::Planned, None),
        ),
        ev(
            3,
            "RVL",
            "2009-01-01",
            rollout(LONDON, RolloutState::GoLive, None),
        ),
        ev(4, "RVL", "2009-01-02", suspended(Dataset::Rtt)),
        ev(
            5,
            "RAL",
            "2009-01-01",
            rollout(LONDON, RolloutState::GoLive, None),
        ),
        ev(6, "RAL", "2009-01-03", lost("P1", Pathway::Rtt18wk)),
        ev(
            7,
            "RQX",
            "2009-01-01",
            rollout(LONDON, RolloutState::GoLive, None),
        ),
    ]);
    let w = p.warnings(&rules, None);
    let rnj = &w.trusts["RNJ"];
    assert!(rnj.live && rnj.warnings.is_empty());
    assert_eq!(
        (rnj.coverage, rnj.state),
        (CoverageState::Silent, OverallState::Unknown)
    );
    let rax = &w.trusts["RAX"];
    assert_eq!(
        (rax.coverage, rax.state),
        (CoverageState::Silent, OverallState::Ok)
    );
    // Dark and halt-recommended: the halt stays the state shown, the coverage says dark.
    let rvl = &w.trusts["RVL"];
    assert!(rvl.halt_recommended);
    assert_eq!(
        (rvl.coverage, rvl.state),
        (CoverageState::Dark, OverallState::Halt)
    );
    let rqx = &w.trusts["RQX"];
    assert_eq!(
        (rqx.coverage, rqx.state),
        (CoverageState::Reporting, OverallState::Ok)
    );
    let json = serde_json::to_value(&w.trusts["RNJ"]).unwrap();
    assert_eq!(
        (json["coverage"].as_str(), json["state"].as_str()),
        (Some("silent"), Some("unknown"))
    );
    // A reporting trust over the net-cost threshold: halt, or warning when it does not halt.
    let no_halt = WarningRules {
        halt_on: vec![],
        ..WarningRules::default()
    };
    let r = given([
        ev(
            1,
            "RAL",
            "2009-01-01",
            rollout(LONDON, RolloutState::GoLive, None),
        ),
        ev(
            2,
            "RAL",
            "2009-01-01",
            cost(golive_model::CostCategory::Validation, 200_000_000),
        ),
    ]);
    assert_eq!(
        r.warnings(&rules, None).trusts["RAL"].state,
        OverallState::Halt
    );
    assert_eq!(
        r.warnings(&no_halt, None).trusts["RAL"].state,
        OverallState::Warning
    );
}

#[test]
fn silent_after_weeks_defaults_to_8_and_is_checked() {
    // Proves the rule setting reads from TOML and refuses 0 and more than ten years.
    assert_eq!(WarningRules::default().silent_after_weeks, 8);
    assert_eq!(
        WarningRules::from_toml("silent_after_weeks = 12")
            .unwrap()
            .silent_after_weeks,
        12
    );
    for bad in ["silent_after_weeks = 0", "silent_after_weeks = 521"] {
        assert!(matches!(
            WarningRules::from_toml(bad),
            Err(RulesError::OutOfRange {
                field: "silent_after_weeks",
                ..
            })
        ));
    }
}
