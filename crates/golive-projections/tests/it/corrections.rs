//! Corrections: an event that supersedes an earlier one removes that event's contribution
//! exactly, kind by kind, then applies its own.

use crate::common::*;
use golive_model::{
    CostCategory, Dataset, Harm, HarmCounts, IncidentState, IncomeCategory, Pathway, RolloutState,
    TraceOutcome,
};
use golive_projections::Projections;

const LONDON: &str = "London Programme for IT";

#[test]
fn a_corrected_amount_replaces_the_original_in_its_month() {
    // Proves money removal: 1,000,000p in Sep 2008 corrected to 800,000p dated October moves
    // the money: Sep is gone (not left at zero) and Oct holds 800,000p.
    let p = given([
        ev(
            1,
            "RAL",
            "2008-09-15",
            cost(CostCategory::Validation, 1_000_000),
        ),
        ev(
            2,
            "RAL",
            "2008-09-20",
            cost(CostCategory::Validation, 5_000),
        ),
        correcting(
            ev(
                3,
                "RAL",
                "2008-10-01",
                cost(CostCategory::Validation, 800_000),
            ),
            1,
        ),
    ]);
    let m = &p.money(None).trusts["RAL"];
    assert_eq!(m.total.extra_cost_pence, 805_000);
    assert_eq!(m.by_month[&period("2008-09")].extra_cost_pence, 5_000);
    assert_eq!(m.by_month[&period("2008-10")].extra_cost_pence, 800_000);
}

#[test]
fn each_money_kind_is_subtracted_from_where_it_was_added() {
    // Proves removal for income at risk, income recovered and penalties (by category,
    // commissioner and month), down to an empty money view.
    let p = given([
        ev(
            1,
            "RNJ",
            "2008-09-01",
            at_risk(IncomeCategory::Unbilled, 150_000_000, "2008-07"),
        ),
        ev(
            2,
            "RNJ",
            "2008-09-01",
            recovered(20_000_000, "2008-07", None),
        ),
        ev(
            3,
            "RNJ",
            "2009-10-27",
            penalty("NEL commissioners", 40_000_000, Some("2009-09")),
        ),
        correcting(ev(4, "RNJ", "2008-09-02", deferred("billing", None)), 1),
        correcting(ev(5, "RNJ", "2008-09-02", deferred("billing", None)), 2),
        correcting(ev(6, "RNJ", "2009-10-28", deferred("billing", None)), 3),
    ]);
    let m = &p.money(None).trusts["RNJ"];
    assert!(m.by_month.is_empty());
    assert_eq!(m.total.net_cost_pence, 0);
    assert!(m.total.contract_penalty_by_commissioner.is_empty());
}

#[test]
fn correcting_a_loss_removes_the_case_and_correcting_a_trace_reopens_it() {
    // Proves patient removal: a wrong patient_lost disappears (its replacement opens instead),
    // and removing the trace that closed a case opens that case again.
    let p = given([
        ev(1, "RNJ", "2009-03-01", lost("P1", Pathway::Rtt18wk)),
        correcting(
            ev(2, "RNJ", "2009-03-01", lost("P2", Pathway::Cancer2ww)),
            1,
        ),
    ]);
    let v = &p.lost_patients(None).trusts["RNJ"];
    assert_eq!(v.open_count, 1);
    assert_eq!(v.open_cases[0].patient_ref.as_str(), "P2");

    let p = given([
        ev(1, "RNJ", "2009-03-01", lost("P1", Pathway::Rtt18wk)),
        ev(
            2,
            "RNJ",
            "2009-03-11",
            traced("P1", TraceOutcome::AlreadyTreated, Harm::None),
        ),
        // The trace was for another patient.
        correcting(
            ev(
                3,
                "RNJ",
                "2009-03-11",
                traced("P7", TraceOutcome::AlreadyTreated, Harm::None),
            ),
            2,
        ),
    ]);
    let v = &p.lost_patients(None).trusts["RNJ"];
    assert_eq!(v.open_count, 1);
    assert_eq!(v.open_cases[0].patient_ref.as_str(), "P1");
    assert_eq!(v.traced.count, 1);
    assert_eq!(v.traced.without_open_case, 1);
    assert_eq!(v.days_to_trace.count, 0);
}

#[test]
fn correcting_a_go_live_date_recomputes_status_and_days() {
    // Proves rollout removal: the history entry goes, and go-live date, status and days since
    // go-live are recomputed (go-live 15 June instead of 1 June; as_at 1 July: 16 days).
    let p = given([
        ev(
            1,
            "RAL",
            "2008-06-01",
            rollout(LONDON, RolloutState::GoLive, Some("LC1")),
        ),
        ev(
            2,
            "RAL",
            "2008-07-01",
            rollout(LONDON, RolloutState::Stabilised, None),
        ),
        correcting(
            ev(
                3,
                "RAL",
                "2008-06-15",
                rollout(LONDON, RolloutState::GoLive, Some("LC1")),
            ),
            1,
        ),
    ]);
    let r = &p.rollout(None).trusts["RAL"];
    assert_eq!(r.go_live, Some(t("2008-06-15")));
    assert_eq!(r.days_since_go_live, Some(16));
    assert_eq!(r.status, Some(RolloutState::Stabilised));
    assert_eq!(r.history.len(), 2);
    assert!(r.anomalies.is_empty());

    // Removing the latest status brings back the one before it.
    let p = given([
        ev(
            1,
            "RAL",
            "2008-06-01",
            rollout(LONDON, RolloutState::GoLive, Some("LC1")),
        ),
        ev(
            2,
            "RAL",
            "2008-10-06",
            rollout(LONDON, RolloutState::Halted, None),
        ),
        correcting(ev(3, "RAL", "2008-10-06", deferred("none", None)), 2),
    ]);
    assert_eq!(
        p.rollout(None).trusts["RAL"].status,
        Some(RolloutState::GoLive)
    );
}

#[test]
fn correcting_a_programme_status_touches_only_the_programme() {
    // Proves programme-scope removal: the programme entry goes (and the programme with it when
    // it has no other), the trust's own rollout is unchanged.
    let p = given([
        ev(
            1,
            "RAL",
            "2008-06-15",
            rollout(LONDON, RolloutState::GoLive, Some("LC1")),
        ),
        ev(
            2,
            "X24",
            "2008-10-01",
            programme_status("Other", RolloutState::Paused, "wrong programme"),
        ),
        correcting(
            ev(
                3,
                "X24",
                "2008-10-01",
                programme_status(LONDON, RolloutState::Paused, "suspended"),
            ),
            2,
        ),
    ]);
    let v = p.rollout(None);
    assert!(!v.programmes.contains_key("Other"));
    assert_eq!(v.programmes[LONDON].status, Some(RolloutState::Paused));
    assert_eq!(v.trusts["RAL"].status, Some(RolloutState::GoLive));
}

#[test]
fn correcting_a_waiting_list_report_restores_the_previous_one() {
    // Proves the previous report becomes the latest again when the latest is withdrawn.
    let p = given([
        ev(
            1,
            "RNJ",
            "2009-03-01",
            waiting_list(Pathway::Rtt18wk, 22_000, 14_000, None),
        ),
        ev(
            2,
            "RNJ",
            "2009-04-01",
            waiting_list(Pathway::Rtt18wk, 99_999, 1, None),
        ),
        correcting(ev(3, "RNJ", "2009-04-01", deferred("typo", None)), 2),
    ]);
    let w = &p.lost_patients(None).trusts["RNJ"].waiting_lists[&Pathway::Rtt18wk];
    assert_eq!((w.records, w.duplicates), (22_000, 8_000));
}

#[test]
fn correcting_a_harm_review_subtracts_it() {
    // Proves harm-review removal: 100 cases (90 none, 10 low) corrected to 100 cases (90 none,
    // 9 low, 1 moderate) leaves exactly the corrected figures and one review.
    let p = given([
        ev(
            1,
            "RVL",
            "2015-01-01",
            harm_review(
                100,
                HarmCounts {
                    none: 90,
                    low: 10,
                    ..Default::default()
                },
            ),
        ),
        correcting(
            ev(
                2,
                "RVL",
                "2015-01-02",
                harm_review(
                    100,
                    HarmCounts {
                        none: 90,
                        low: 9,
                        moderate: 1,
                        ..Default::default()
                    },
                ),
            ),
            1,
        ),
    ]);
    let h = &p.lost_patients(None).trusts["RVL"].harm_reviews;
    assert_eq!((h.reviews, h.cases_reviewed), (1, 100));
    assert_eq!((h.harm.low, h.harm.moderate), (9, 1));
}

#[test]
fn correcting_a_suspension_or_a_closure_recomputes_the_current_state() {
    // Proves reporting and safety-incident removal: a wrongly recorded resumption leaves the
    // dataset suspended; a wrongly recorded closure leaves the incident open.
    let p = given([
        ev(1, "RNJ", "2009-03-01", suspended(Dataset::Rtt)),
        ev(2, "RNJ", "2009-05-01", resumed(Dataset::Rtt)),
        ev(
            3,
            "RNJ",
            "2009-04-28",
            incident("DATIX-1", Harm::Severe, true, IncidentState::Open),
        ),
        ev(
            4,
            "RNJ",
            "2009-06-01",
            incident("DATIX-1", Harm::Severe, true, IncidentState::Closed),
        ),
        correcting(ev(5, "RNJ", "2009-05-01", resumed(Dataset::Cancer)), 2),
        correcting(
            ev(
                6,
                "RNJ",
                "2009-06-01",
                incident("DATIX-9", Harm::Low, false, IncidentState::Closed),
            ),
            4,
        ),
    ]);
    let r = &p.lost_patients(None).trusts["RNJ"].reporting;
    assert_eq!(r.suspended[&Dataset::Rtt].since, t("2009-03-01"));
    assert_eq!(r.history.len(), 2);
    let s = &p.incidents(None).trusts["RNJ"].safety;
    assert_eq!(s.open_serious.len(), 1);
    assert_eq!(s.open_serious[0].local_ref, "DATIX-1");
}

#[test]
fn correcting_an_outage_or_a_deferred_feature_removes_it() {
    // Proves outage and feature removal: the outage's closing report goes (it is ongoing
    // again) and the feature leaves the list.
    let p = given([
        ev(
            1,
            "RAL",
            "2009-01-05T08:30:00Z",
            outage("trust", "2009-01-05T08:00:00Z", None),
        ),
        ev(
            2,
            "RAL",
            "2009-01-05T12:00:00Z",
            outage(
                "trust",
                "2009-01-05T08:00:00Z",
                Some("2009-01-05T11:30:00Z"),
            ),
        ),
        ev(3, "RAL", "2008-07-01", deferred("maternity", Some("LC2"))),
        correcting(ev(4, "RAL", "2009-01-06", deferred("theatres", None)), 2),
        correcting(
            ev(5, "RAL", "2009-01-06", deferred("theatres", Some("LC2"))),
            4,
        ),
    ]);
    let o = &p.incidents(None).trusts["RAL"].outages;
    assert_eq!((o.count, o.ongoing, o.downtime_minutes), (1, 1, 0));
    let names: Vec<String> = p.deferred_features(None).trusts["RAL"]
        .features
        .iter()
        .map(|f| format!("{} {:?}", f.feature, f.promised_for))
        .collect();
    // Event 4 was itself corrected by 5: a chain keeps only the last word.
    assert_eq!(names, ["maternity Some(\"LC2\")", "theatres Some(\"LC2\")"]);
}

#[test]
fn an_event_is_removed_at_most_once() {
    // Proves two corrections of the same event subtract it once: 1,000 corrected to 600 and
    // again to 700 leaves 600 + 700 = 1,300 (both corrections stand as events).
    let p = given([
        ev(1, "RAL", "2008-09-15", cost(CostCategory::Other, 1_000)),
        correcting(
            ev(2, "RAL", "2008-09-15", cost(CostCategory::Other, 600)),
            1,
        ),
        correcting(
            ev(3, "RAL", "2008-09-15", cost(CostCategory::Other, 700)),
            1,
        ),
    ]);
    assert_eq!(p.money(None).total.extra_cost_pence, 1_300);
}

#[test]
fn a_correction_whose_target_is_unknown_is_applied_as_new() {
    // Proves `superseded = None` (the named event is not in the log) removes nothing.
    let mut p = Projections::new();
    p.apply(
        1,
        &ev(1, "RAL", "2008-09-15", cost(CostCategory::Other, 1_000)),
        None,
    );
    let fix = correcting(
        ev(2, "RAL", "2008-09-15", cost(CostCategory::Other, 600)),
        99,
    );
    p.apply(2, &fix, None);
    assert_eq!(p.money(None).total.extra_cost_pence, 1_600);
}

#[test]
fn a_correction_survives_a_snapshot() {
    // Proves the memory of removed events is in the snapshot: correcting event 1 twice, with
    // a snapshot between the corrections, still removes it once.
    let a = ev(1, "RAL", "2008-09-15", cost(CostCategory::Other, 1_000));
    let b = correcting(
        ev(2, "RAL", "2008-09-15", cost(CostCategory::Other, 600)),
        1,
    );
    let c = correcting(
        ev(3, "RAL", "2008-09-15", cost(CostCategory::Other, 700)),
        1,
    );
    let mut p = Projections::new();
    p.apply(1, &a, None);
    p.apply(2, &b, Some(&a));
    let mut p = Projections::from_snapshot(&p.to_snapshot()).unwrap();
    p.apply(3, &c, Some(&a));
    assert_eq!(p.money(None).total.extra_cost_pence, 1_300);
}
