//! Given (events) / then (expected state) tests, one projection at a time, with figures
//! computed by hand in the comments.

use golive_model::{
    Assessment, CostCategory, Dataset, EventBody, Harm, HarmCounts, HarmReview, IncidentState,
    IncomeCategory, Pathway, RolloutState, TraceOutcome,
};

use crate::testkit::*;
use crate::*;

const LONDON: &str = "London Programme for IT";

fn lost_of(p: &Projections, trust: &str) -> TrustLostPatients {
    p.lost_patients(Some(&ods(trust))).trusts[trust].clone()
}

#[test]
fn lost_patients_open_traced_and_days_to_trace() {
    // Proves the lost-patient fold: cases open on loss and close on trace, a trace without an
    // open case still counts as traced, a repeated loss on the same pathway is one case, and
    // days to trace are whole days with a lower median and floored mean.
    let p = given([
        ev(1, "RAL", "2008-06-16", lost("P1", Pathway::Rtt18wk)),
        ev(2, "RAL", "2008-06-17", lost("P2", Pathway::Cancer2ww)),
        ev(3, "RAL", "2008-06-18", lost("P3", Pathway::Rtt18wk)),
        // P1: 16 June -> 26 June = 10 days.
        ev(
            4,
            "RAL",
            "2008-06-26",
            traced("P1", TraceOutcome::AlreadyTreated, Harm::None),
        ),
        // P2: 17 June -> 17 July = 30 days.
        ev(
            5,
            "RAL",
            "2008-07-17",
            traced("P2", TraceOutcome::StillWaiting, Harm::Moderate),
        ),
        // P9 was lost before the ledger started.
        ev(
            6,
            "RAL",
            "2008-07-01",
            traced("P9", TraceOutcome::Discharged, Harm::Low),
        ),
        ev(7, "RAL", "2008-07-20", lost("P4", Pathway::FollowUp)),
        ev(8, "RAL", "2008-07-21", lost("P3", Pathway::Rtt18wk)),
    ]);
    let v = lost_of(&p, "RAL");
    assert_eq!(v.open_count, 2);
    let open: Vec<(&str, Pathway)> = v
        .open_cases
        .iter()
        .map(|c| (c.patient_ref.as_str(), c.pathway))
        .collect();
    assert_eq!(open, [("P3", Pathway::Rtt18wk), ("P4", Pathway::FollowUp)]);
    assert_eq!(v.open_cases[0].since, t("2008-06-18"));
    assert_eq!(v.open_cases[0].event_id, id(3));
    assert_eq!(v.open_by_pathway[&Pathway::Rtt18wk], 1);
    assert_eq!(v.open_by_pathway[&Pathway::FollowUp], 1);
    assert_eq!(v.open_by_pathway[&Pathway::Cancer2ww], 0);
    assert_eq!(v.duplicate_lost_reports, 1);
    assert_eq!(v.traced.count, 3);
    assert_eq!(v.traced.without_open_case, 1);
    assert_eq!(v.traced.by_outcome[&TraceOutcome::AlreadyTreated], 1);
    assert_eq!(v.traced.by_outcome[&TraceOutcome::StillWaiting], 1);
    assert_eq!(v.traced.by_outcome[&TraceOutcome::Discharged], 1);
    assert_eq!(v.traced.by_outcome[&TraceOutcome::Deceased], 0);
    assert_eq!(
        v.traced.by_harm,
        HarmCounts {
            none: 1,
            low: 1,
            moderate: 1,
            ..HarmCounts::default()
        }
    );
    // Days 10 and 30: total 40, max 30, mean 20, lower median 10.
    assert_eq!(
        v.days_to_trace,
        DaysToTrace {
            count: 2,
            total_days: 40,
            max_days: Some(30),
            mean_days: Some(20),
            median_days: Some(10),
        }
    );
}

#[test]
fn a_trace_closes_every_open_case_of_the_patient() {
    // Proves a patient lost on two pathways has two open cases, and one trace closes both,
    // with days counted from the earlier loss (1 March -> 11 March = 10 days).
    let p = given([
        ev(1, "RNJ", "2009-03-01", lost("P1", Pathway::Rtt18wk)),
        ev(2, "RNJ", "2009-03-05", lost("P1", Pathway::Outpatient13wk)),
    ]);
    assert_eq!(lost_of(&p, "RNJ").open_count, 2);
    let p = given([
        ev(1, "RNJ", "2009-03-01", lost("P1", Pathway::Rtt18wk)),
        ev(2, "RNJ", "2009-03-05", lost("P1", Pathway::Outpatient13wk)),
        ev(
            3,
            "RNJ",
            "2009-03-11",
            traced("P1", TraceOutcome::StillWaiting, Harm::None),
        ),
    ]);
    let v = lost_of(&p, "RNJ");
    assert_eq!(v.open_count, 0);
    assert_eq!(v.traced.count, 1);
    assert_eq!(v.days_to_trace.total_days, 10);
}

#[test]
fn a_late_reported_loss_is_placed_at_its_event_time() {
    // Proves the fold follows event time, not arrival: a trace appended before the loss it
    // closes (but happening after it) still closes it.
    let p = given([
        ev(
            1,
            "RAL",
            "2008-07-10",
            traced("P1", TraceOutcome::AlreadyTreated, Harm::None),
        ),
        ev(2, "RAL", "2008-07-01", lost("P1", Pathway::Rtt18wk)),
    ]);
    let v = lost_of(&p, "RAL");
    assert_eq!(v.open_count, 0);
    assert_eq!(v.traced.without_open_case, 0);
    assert_eq!(v.days_to_trace.total_days, 9);
}

#[test]
fn weekly_open_series_counts_at_each_iso_week_end() {
    // Proves the weekly series: Mondays 2, 9, 16, 23 March 2009 are ISO weeks 10 to 13.
    // W10: A open (1). W11: A, B, C (3). W12: A traced, B, C (2). W13: B, C, D (3).
    let p = given([
        ev(1, "RVL", "2009-03-02", lost("A", Pathway::Rtt18wk)),
        ev(2, "RVL", "2009-03-10", lost("B", Pathway::Rtt18wk)),
        ev(3, "RVL", "2009-03-11", lost("C", Pathway::Rtt18wk)),
        ev(
            4,
            "RVL",
            "2009-03-17",
            traced("A", TraceOutcome::StillWaiting, Harm::None),
        ),
        ev(5, "RVL", "2009-03-24", lost("D", Pathway::Rtt18wk)),
    ]);
    let v = lost_of(&p, "RVL");
    let series: Vec<(&str, u64)> = v
        .weekly_open
        .iter()
        .map(|w| (w.week.as_str(), w.open))
        .collect();
    assert_eq!(
        series,
        [
            ("2009-W10", 1),
            ("2009-W11", 3),
            ("2009-W12", 2),
            ("2009-W13", 3)
        ]
    );
    assert_eq!(v.weekly_open[0].week_start.to_string(), "2009-03-02");
}

#[test]
fn waiting_list_keeps_the_latest_report_per_pathway_in_event_time() {
    // Proves the latest report (by event time, not arrival) wins per pathway, duplicates are
    // records minus unique patients, and totals add pathways over trusts.
    let p = given([
        ev(
            1,
            "RNJ",
            "2009-03-01",
            waiting_list(Pathway::Rtt18wk, 22_000, 14_000, Some(834)),
        ),
        ev(
            2,
            "RNJ",
            "2009-05-01",
            waiting_list(Pathway::Rtt18wk, 21_000, 15_000, None),
        ),
        ev(
            3,
            "RNJ",
            "2009-04-01",
            waiting_list(Pathway::Cancer2ww, 500, 480, Some(11)),
        ),
        // Arrives last but happened first: not the latest.
        ev(
            4,
            "RNJ",
            "2009-02-01",
            waiting_list(Pathway::Rtt18wk, 30_000, 10_000, Some(1)),
        ),
        ev(
            5,
            "RAL",
            "2009-02-01",
            waiting_list(Pathway::Rtt18wk, 100, 90, Some(5)),
        ),
    ]);
    let view = p.lost_patients(None);
    let rtt = &view.trusts["RNJ"].waiting_lists[&Pathway::Rtt18wk];
    assert_eq!(
        (rtt.records, rtt.unique_patients, rtt.duplicates),
        (21_000, 15_000, 6_000)
    );
    assert_eq!(rtt.breaches, None);
    assert_eq!(rtt.event_id, id(2));
    let total = &view.total.waiting_lists[&Pathway::Rtt18wk];
    // 21,000 + 100 records, 15,000 + 90 unique, 6,000 + 10 duplicates, breaches 0 + 5.
    assert_eq!(
        (
            total.records,
            total.unique_patients,
            total.duplicates,
            total.breaches
        ),
        (21_100, 15_090, 6_010, 5)
    );
    assert_eq!(view.total.waiting_lists[&Pathway::Cancer2ww].breaches, 11);
}

#[test]
fn harm_reviews_are_summed() {
    // Proves harm-review totals add up over events: the Barnet & Chase Farm review by 2015
    // (10,000 cases: 6,000 none, 4,000 low, 77 moderate, 1 severe) sent in two parts.
    let p = given([
        ev(
            1,
            "RVL",
            "2014-06-01",
            harm_review(
                6_000,
                HarmCounts {
                    none: 6_000,
                    ..Default::default()
                },
            ),
        ),
        ev(
            2,
            "RVL",
            "2015-01-01",
            harm_review(
                4_078,
                HarmCounts {
                    low: 4_000,
                    moderate: 77,
                    severe: 1,
                    ..Default::default()
                },
            ),
        ),
    ]);
    let h = lost_of(&p, "RVL").harm_reviews;
    assert_eq!(h.reviews, 2);
    assert_eq!(h.cases_reviewed, 10_078);
    assert_eq!(
        h.harm,
        HarmCounts {
            none: 6_000,
            low: 4_000,
            moderate: 77,
            severe: 1,
            death: 0,
            unknown: 0
        }
    );
}

#[test]
fn reporting_suspension_is_current_until_resumed_and_keeps_its_history() {
    // Proves suspended -> resumed clears a dataset, a repeated suspension keeps the first
    // start, and every change stays in the dated history.
    let p = given([
        ev(1, "RNJ", "2009-03-01", suspended(Dataset::Rtt)),
        ev(2, "RNJ", "2009-04-01", suspended(Dataset::Cancer)),
        ev(3, "RNJ", "2009-05-01", resumed(Dataset::Cancer)),
        ev(4, "RNJ", "2009-06-01", suspended(Dataset::Rtt)),
    ]);
    let r = lost_of(&p, "RNJ").reporting;
    assert_eq!(r.suspended.len(), 1);
    assert_eq!(r.suspended[&Dataset::Rtt].since, t("2009-03-01"));
    assert_eq!(r.history.len(), 4);
    assert_eq!(r.history[2].change, ReportingChangeKind::Resumed);
    assert_eq!(p.lost_patients(None).total.datasets_suspended, 1);
}

#[test]
fn money_by_trust_category_and_month() {
    // Proves the money fold. RAL: extra 120m (Sep) + 30m (Oct) = 150m pence; at risk 130m
    // (Sep) + 200m (Oct) = 330m; recovered 50m (Oct); penalty 40m (Oct, no period: month of
    // occurred_at). Net = 150 + 330 - 50 + 40 = 470m; Sep 250m, Oct 220m.
    // RNJ adds extra 100m in Sep: totals extra 250m, net 570m, Sep net 350m.
    let p = given([
        ev(
            1,
            "RAL",
            "2008-09-15",
            cost(CostCategory::TemporaryStaff, 120_000_000),
        ),
        ev(
            2,
            "RAL",
            "2008-10-02",
            cost(CostCategory::Validation, 30_000_000),
        ),
        ev(
            3,
            "RAL",
            "2008-11-05",
            at_risk(IncomeCategory::LostActivity, 130_000_000, "2008-09"),
        ),
        ev(
            4,
            "RAL",
            "2008-11-05",
            at_risk(IncomeCategory::CorrectableDataEntry, 200_000_000, "2008-10"),
        ),
        ev(
            5,
            "RAL",
            "2008-12-01",
            recovered(
                50_000_000,
                "2008-10",
                Some(IncomeCategory::CorrectableDataEntry),
            ),
        ),
        ev(
            6,
            "RAL",
            "2008-10-20",
            penalty("NCL commissioners", 40_000_000, None),
        ),
        ev(
            7,
            "RNJ",
            "2008-09-01",
            cost(CostCategory::Other, 100_000_000),
        ),
    ]);
    let v = p.money(None);
    let ral = &v.trusts["RAL"];
    assert_eq!(ral.total.extra_cost_pence, 150_000_000);
    assert_eq!(
        ral.total.extra_cost_by_category[&CostCategory::TemporaryStaff],
        120_000_000
    );
    assert_eq!(
        ral.total.extra_cost_by_category[&CostCategory::Contractors],
        0
    );
    assert_eq!(ral.total.income_at_risk_pence, 330_000_000);
    assert_eq!(ral.total.income_recovered_pence, 50_000_000);
    assert_eq!(
        ral.total.income_recovered_by_category["correctable_data_entry"],
        50_000_000
    );
    assert_eq!(ral.total.contract_penalty_pence, 40_000_000);
    assert_eq!(
        ral.total.contract_penalty_by_commissioner["NCL commissioners"],
        40_000_000
    );
    assert_eq!(ral.total.net_cost_pence, 470_000_000);
    assert_eq!(ral.by_month[&period("2008-09")].net_cost_pence, 250_000_000);
    assert_eq!(ral.by_month[&period("2008-10")].net_cost_pence, 220_000_000);
    assert_eq!(
        ral.by_month[&period("2008-10")].contract_penalty_pence,
        40_000_000
    );
    assert!(!ral.by_month.contains_key(&period("2008-11")));
    assert_eq!(v.total.extra_cost_pence, 250_000_000);
    assert_eq!(v.total.net_cost_pence, 570_000_000);
    assert_eq!(v.by_month[&period("2008-09")].net_cost_pence, 350_000_000);
    // One trust only: totals are that trust's.
    assert_eq!(p.money(Some(&ods("RNJ"))).total.net_cost_pence, 100_000_000);
}

#[test]
fn rollout_status_history_go_live_and_days_since() {
    // Proves the trust rollout fold: current status and carried-forward release, first go-live,
    // days since go-live to the latest event time (15 June 2008 -> 1 March 2009 = 259 days),
    // and that fit_to_deploy while paused is an anomaly.
    let p = given([
        ev(
            1,
            "RAL",
            "2008-05-01",
            rollout(LONDON, RolloutState::Planned, Some("LC1")),
        ),
        ev(
            2,
            "RAL",
            "2008-06-15",
            rollout(LONDON, RolloutState::GoLive, Some("LC1")),
        ),
        ev(
            3,
            "RAL",
            "2008-10-06",
            rollout(LONDON, RolloutState::Paused, None),
        ),
        ev(
            4,
            "RAL",
            "2009-01-30",
            rollout(LONDON, RolloutState::FitToDeploy, None),
        ),
        ev(
            5,
            "RAL",
            "2009-02-11",
            rollout(LONDON, RolloutState::Resumed, None),
        ),
        ev(6, "RNJ", "2009-03-01", deferred("theatres", Some("LC1"))),
    ]);
    let v = p.rollout(None);
    let r = &v.trusts["RAL"];
    assert_eq!(r.status, Some(RolloutState::Resumed));
    assert_eq!(r.release.as_deref(), Some("LC1"));
    assert_eq!(r.supplier.as_deref(), Some("BT"));
    assert_eq!(r.programme.as_deref(), Some(LONDON));
    assert!(r.live);
    assert_eq!(r.go_live, Some(t("2008-06-15")));
    assert_eq!(r.days_since_go_live, Some(259));
    assert_eq!(r.history.len(), 5);
    assert_eq!(r.anomalies.len(), 1);
    assert_eq!(
        r.anomalies[0].text,
        "declared fit_to_deploy on 2009-01-30 while paused"
    );
    assert_eq!(v.trusts["RNJ"].status, None);
    assert_eq!(v.total.live_trusts, 1);
    assert_eq!(v.total.no_status, 1);
    assert_eq!(v.total.by_status[&RolloutState::Resumed], 1);
    assert_eq!(v.programmes[LONDON].trusts["RAL"], RolloutState::Resumed);
}

#[test]
fn rollout_anomalies_are_named_with_dates() {
    // Proves the anomaly checks: stabilised before go-live, resumed without a pause, go-live
    // twice, and a status after withdrawal; and that withdrawal ends "live".
    let p = given([
        ev(
            1,
            "RVL",
            "2007-06-01",
            rollout(LONDON, RolloutState::Stabilised, Some("R0")),
        ),
        ev(
            2,
            "RVL",
            "2007-07-01",
            rollout(LONDON, RolloutState::GoLive, Some("R0")),
        ),
        ev(
            3,
            "RVL",
            "2007-08-01",
            rollout(LONDON, RolloutState::Resumed, None),
        ),
        ev(
            4,
            "RVL",
            "2007-09-01",
            rollout(LONDON, RolloutState::GoLive, None),
        ),
        ev(
            5,
            "RVL",
            "2007-10-01",
            rollout(LONDON, RolloutState::Withdrawn, None),
        ),
        ev(
            6,
            "RVL",
            "2007-11-01",
            rollout(LONDON, RolloutState::Paused, None),
        ),
    ]);
    let r = &p.rollout(None).trusts["RVL"];
    let texts: Vec<&str> = r.anomalies.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "stabilised on 2007-06-01 before any go_live",
            "resumed on 2007-08-01 without an earlier paused or halted",
            "go_live again on 2007-09-01 (live since 2007-07-01)",
            "paused on 2007-11-01 after withdrawn",
        ]
    );
    assert!(!r.live);
    assert_eq!(r.go_live, Some(t("2007-07-01")));
}

#[test]
fn programme_scope_statuses_go_to_the_programme_not_the_trust() {
    // Proves a programme-scope event lands in the programme section with its reporting trust,
    // leaves the trust's own rollout untouched, and still makes the trust "seen".
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
            programme_status(
                LONDON,
                RolloutState::Paused,
                "all London deployments suspended",
            ),
        ),
        ev(
            3,
            "X24",
            "2009-02-11",
            programme_status(LONDON, RolloutState::Resumed, "BT to resume roll-out"),
        ),
    ]);
    let v = p.rollout(None);
    assert_eq!(v.trusts["RAL"].history.len(), 1);
    assert_eq!(v.trusts["RAL"].status, Some(RolloutState::GoLive));
    let prog = &v.programmes[LONDON];
    assert_eq!(prog.status, Some(RolloutState::Resumed));
    assert_eq!(prog.history.len(), 2);
    assert_eq!(prog.history[0].trust, "X24");
    assert!(prog.anomalies.is_empty());
    assert_eq!(p.trusts(), [ods("RAL"), ods("X24")]);
    // Filtered to RAL, the programme its events name is still shown.
    assert!(p.rollout(Some(&ods("RAL"))).programmes.contains_key(LONDON));
}

#[test]
fn outages_update_by_scope_and_start_and_sum_closed_minutes() {
    // Proves an outage reported ongoing then closed (same scope and start) is one outage of
    // 210 minutes (08:00 -> 11:30), and an ongoing one adds no downtime.
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
        ev(
            3,
            "RAL",
            "2009-02-01T10:00:00Z",
            outage("site", "2009-02-01T09:00:00Z", None),
        ),
    ]);
    let o = &p.incidents(None).trusts["RAL"].outages;
    assert_eq!((o.count, o.closed, o.ongoing), (2, 1, 1));
    assert_eq!(o.downtime_minutes, 210);
    assert_eq!(o.outages[0].minutes, Some(210));
    assert_eq!(o.paper_fallback, 2);
}

#[test]
fn a_closed_report_closes_the_safety_incident_with_the_same_local_ref() {
    // Proves safety incidents are tracked by local_ref: open serious ones are listed with
    // their harm until a report with state closed arrives.
    let open = [
        ev(
            1,
            "RNJ",
            "2009-04-28",
            incident("DATIX-1", Harm::Severe, true, IncidentState::Open),
        ),
        ev(
            2,
            "RNJ",
            "2009-05-02",
            incident("DATIX-2", Harm::Low, false, IncidentState::Open),
        ),
    ];
    let p = given(open.clone());
    let s = &p.incidents(None).trusts["RNJ"].safety;
    assert_eq!((s.count, s.open, s.serious), (2, 2, 1));
    assert_eq!(s.open_serious.len(), 1);
    assert_eq!(s.open_serious[0].harm, Harm::Severe);
    assert_eq!(s.open_serious[0].opened_at, t("2009-04-28"));

    let mut events = open.to_vec();
    events.push(ev(
        3,
        "RNJ",
        "2009-06-01",
        incident("DATIX-1", Harm::Severe, true, IncidentState::Closed),
    ));
    let p = given(events);
    let s = &p.incidents(None).trusts["RNJ"].safety;
    assert_eq!((s.count, s.open, s.closed), (2, 1, 1));
    assert!(s.open_serious.is_empty());
}

#[test]
fn a_later_report_regrades_the_incident_and_the_history_keeps_every_grade() {
    // Proves re-grading by local_ref: the current grade is the latest report's by
    // (occurred_at, seq), whatever order the reports arrive in; every grade stays in the
    // history; unknown harm counts as unknown, never as none.
    let reports = [
        ev(
            1,
            "RNJ",
            "2009-04-28",
            incident("SUI-1", Harm::Unknown, true, IncidentState::Open),
        ),
        // Arrives second but happened last.
        ev(
            2,
            "RNJ",
            "2009-06-01",
            incident("SUI-1", Harm::Moderate, true, IncidentState::Open),
        ),
        ev(
            3,
            "RNJ",
            "2009-05-01",
            incident("SUI-1", Harm::None, true, IncidentState::Open),
        ),
    ];
    let p = given(reports.clone());
    let s = &p.incidents(None).trusts["RNJ"].safety;
    assert_eq!(s.count, 1);
    let item = &s.open_incidents[0];
    assert_eq!(item.harm, Harm::Moderate);
    assert_eq!(item.opened_at, t("2009-04-28"));
    let grades: Vec<_> = item.grades.iter().map(|g| (g.harm, g.event_id)).collect();
    assert_eq!(
        grades,
        [
            (Harm::Unknown, id(1)),
            (Harm::None, id(3)),
            (Harm::Moderate, id(2))
        ]
    );
    assert_eq!(
        (s.by_harm.moderate, s.by_harm.none, s.by_harm.unknown),
        (1, 0, 0)
    );
    // Only the first report: counted as unknown, not none.
    let p = given(reports[..1].to_vec());
    let by_harm = p.incidents(None).total.by_harm;
    assert_eq!((by_harm.unknown, by_harm.none), (1, 0));
}

#[test]
fn risk_of_harm_reviews_are_kept_apart_from_harm_found() {
    // Proves a review of the risk of harm never adds to the harm-found totals.
    let counts = HarmCounts {
        none: 3,
        low: 2,
        moderate: 1,
        severe: 0,
        death: 0,
        unknown: 4,
    };
    let review = |assessment| {
        EventBody::HarmReview(HarmReview {
            cases_reviewed: 12,
            harm: counts,
            assessment,
        })
    };
    let p = given([
        ev(1, "RVL", "2015-05-01", review(Some(Assessment::RiskOfHarm))),
        ev(2, "RVL", "2015-06-01", review(None)),
        ev(3, "RVL", "2015-07-01", review(Some(Assessment::ActualHarm))),
    ]);
    let v = p.lost_patients(None);
    assert_eq!(v.total.harm_reviews.reviews, 2);
    assert_eq!(v.total.harm_reviews.cases_reviewed, 24);
    assert_eq!(v.total.harm_reviews.harm.unknown, 8);
    assert_eq!(v.total.risk_of_harm.reviews, 1);
    assert_eq!(v.total.risk_of_harm.harm, counts);
    assert_eq!(v.trusts["RVL"].risk_of_harm.cases_reviewed, 12);
}

#[test]
fn deferred_features_are_listed_per_trust() {
    // Proves deferred features are kept per trust in event-time order with their promise.
    let p = given([
        ev(1, "RAL", "2008-07-01", deferred("maternity", Some("LC2"))),
        ev(
            2,
            "RAL",
            "2008-06-01",
            deferred("theatres", Some("2008-06")),
        ),
        ev(3, "RNJ", "2008-06-01", deferred("A&E", None)),
    ]);
    let v = p.deferred_features(None);
    let names: Vec<&str> = v.trusts["RAL"]
        .features
        .iter()
        .map(|f| f.feature.as_str())
        .collect();
    assert_eq!(names, ["theatres", "maternity"]);
    assert_eq!(
        v.trusts["RAL"].features[1].promised_for.as_deref(),
        Some("LC2")
    );
    assert_eq!(v.total.count, 3);
    assert_eq!(p.deferred_features(Some(&ods("RNJ"))).total.count, 1);
}

#[test]
fn apply_is_idempotent_by_sequence_and_tracks_as_at() {
    // Proves an event at or below last_seq is not folded in twice, and as_at is the latest
    // occurred_at whatever the arrival order.
    let a = ev(1, "RAL", "2008-09-15", cost(CostCategory::Other, 500));
    let b = ev(2, "RAL", "2008-09-01", cost(CostCategory::Other, 700));
    let mut p = Projections::new();
    p.apply(1, &a, None);
    p.apply(2, &b, None);
    p.apply(2, &b, None);
    p.apply(1, &a, None);
    assert_eq!(p.money(None).total.extra_cost_pence, 1_200);
    assert_eq!(p.last_seq(), 2);
    assert_eq!(p.events_applied(), 2);
    assert_eq!(p.as_at(), Some(t("2008-09-15")));
}

#[test]
fn views_for_an_unseen_trust_are_empty() {
    // Proves a filter on a trust never seen gives no sections and zero totals, not an error.
    let p = given([ev(1, "RAL", "2008-09-15", cost(CostCategory::Other, 500))]);
    let v = p.money(Some(&ods("RNJ")));
    assert!(v.trusts.is_empty());
    assert_eq!(v.total.net_cost_pence, 0);
    assert_eq!(p.lost_patients(Some(&ods("RNJ"))).total.trusts, 0);
}
