//! The recovery view: given (events) / then (curves), and the properties that percentages and
//! shortfall equal a small oracle over the reports, that a correction moves the curve as if the
//! corrected report had never been made, and that a dark month is carried, never zero.

use std::collections::BTreeMap;

use golive_model::{
    Envelope, EventBody, IncomeCategory, Pathway, Period, PointOfDelivery, RolloutState,
};
use proptest::prelude::*;

use crate::testkit::*;
use crate::*;

const OP: PointOfDelivery = PointOfDelivery::OutpatientFirst;

fn go_live(n: u64, day: &str) -> Envelope {
    ev(
        n,
        "RAL",
        day,
        rollout("London", RolloutState::GoLive, Some("LC1")),
    )
}

fn view(p: &Projections) -> RecoveryView {
    p.recovery(
        &Tariffs::default(),
        &WarningRules::default(),
        None,
        Align::Calendar,
    )
}

fn ral(v: &RecoveryView) -> &TrustRecovery {
    &v.trusts["RAL"]
}

fn months(v: &RecoveryView) -> Vec<(String, Option<u64>, bool, Option<f64>)> {
    ral(v).points_of_delivery[&OP]
        .months
        .iter()
        .map(|m| (m.period.to_string(), m.value, m.carried, m.pct_of_baseline))
        .collect()
}

#[test]
fn a_dark_month_is_carried_forward_never_zero_never_recovered() {
    // Proves: a month without a report shows the last reported value, marked carried, adds
    // nothing to the shortfall, and the 95% rule does not fire on it (it fires on the first
    // REPORTED month back at 95%); income at risk of the same months sits beside the priced
    // shortfall, with the gap.
    let events = [
        go_live(1, "2008-06-15"),
        ev(
            2,
            "RAL",
            "2008-06-01",
            baseline(OP, 1000, "2007-06", "2008-05"),
        ),
        ev(3, "RAL", "2008-07-01", activity(OP, 600, "2008-06")),
        ev(4, "RAL", "2008-08-01", activity(OP, 960, "2008-07")),
        // 2008-08 is dark.
        ev(5, "RAL", "2008-10-01", activity(OP, 700, "2008-09")),
        ev(
            6,
            "RAL",
            "2008-11-05",
            at_risk(IncomeCategory::LostActivity, 50_000, "2008-07"),
        ),
    ];
    let p = given(events);
    let v = view(&p);
    assert_eq!(
        months(&v),
        [
            ("2008-06".to_owned(), Some(600), false, Some(60.0)),
            ("2008-07".to_owned(), Some(960), false, Some(96.0)),
            ("2008-08".to_owned(), Some(960), true, Some(96.0)),
            ("2008-09".to_owned(), Some(700), false, Some(70.0)),
        ]
    );
    let r = &ral(&v).points_of_delivery[&OP];
    assert_eq!(
        r.months[2].carried_from,
        Some(Period::parse("2008-07").unwrap())
    );
    assert_eq!(r.months[2].shortfall_units, None);
    assert_eq!(r.cumulative_shortfall_units, 400 + 40 + 300);
    assert_eq!(r.dark_months, 1);
    assert_eq!(r.priced_shortfall_pence, 740 * 15_000);
    // Back at 95% in July 2008: the week of 31 July, 7 weeks after the go-live week (9 June).
    assert_eq!(r.weeks_to_95_pct, Some(WeeksTo95::Weeks(7)));
    assert_eq!(r.returned_to_95_pct_in.as_deref(), Some("2008-07"));
    let t = ral(&v);
    assert_eq!(t.income_at_risk_pence, 50_000);
    assert_eq!(t.gap_pence, 740 * 15_000 - 50_000);
}

#[test]
fn a_carried_value_never_counts_as_recovered() {
    // Proves: the last month before the go-live, at 99%, carried into every month after it
    // (none reported), never makes the trust recovered: `not_yet`, written as such.
    let events = [
        go_live(1, "2008-06-15"),
        ev(
            2,
            "RAL",
            "2008-06-01",
            baseline(OP, 1000, "2007-06", "2008-05"),
        ),
        ev(3, "RAL", "2008-06-01", activity(OP, 990, "2008-05")),
        ev(
            4,
            "RAL",
            "2008-10-01",
            activity(PointOfDelivery::DayCase, 10, "2008-09"),
        ),
    ];
    let v = view(&given(events));
    let r = &ral(&v).points_of_delivery[&OP];
    assert_eq!(r.months.len(), 4);
    assert!(
        r.months
            .iter()
            .all(|m| m.carried && m.pct_of_baseline == Some(99.0))
    );
    assert_eq!(r.cumulative_shortfall_units, 0);
    assert_eq!(r.weeks_to_95_pct, Some(WeeksTo95::NotYet(NotYet::NotYet)));
    let json = serde_json::to_value(r).unwrap();
    assert_eq!(json["weeks_to_95_pct"], "not_yet");
}

#[test]
fn weeks_make_a_month_by_their_thursday_and_align_on_the_go_live_week() {
    // Proves: weekly reports count in the month of their Thursday, as a mean per day times the
    // month's days; the aligned series puts each week on weeks since the go-live week (week 0).
    let events = [
        ev(
            1,
            "RAL",
            "2011-12-05",
            rollout("Bristol", RolloutState::GoLive, None),
        ),
        ev(
            2,
            "RAL",
            "2011-11-01",
            baseline(OP, 3100, "2010-12", "2011-11"),
        ),
        // Mondays 5, 12 and 19 December 2011; 26 Dec's Thursday is 29 Dec, 2 Jan's is 5 Jan.
        ev(3, "RAL", "2011-12-11", activity_week(OP, 350, "2011-W49")),
        ev(4, "RAL", "2011-12-18", activity_week(OP, 700, "2011-W50")),
        ev(5, "RAL", "2012-01-08", activity_week(OP, 700, "2012-W01")),
    ];
    let p = given(events);
    let v = p.recovery(
        &Tariffs::default(),
        &WarningRules::default(),
        None,
        Align::GoLive,
    );
    let r = &ral(&v).points_of_delivery[&OP];
    // December: (350 + 700) / 14 days * 31 = 2325.
    assert_eq!(r.months[0].value, Some(2325));
    assert_eq!(r.months[0].weeks_reported, 2);
    assert_eq!(r.months[0].source, MonthSource::Weeks);
    assert_eq!(r.months[1].value, Some(3100));
    let aligned: Vec<(i64, String)> = r
        .aligned
        .iter()
        .map(|a| (a.weeks_since_go_live, a.label.clone()))
        .collect();
    assert_eq!(
        aligned,
        [
            (0, "2011-W49".to_owned()),
            (1, "2011-W50".to_owned()),
            (4, "2012-W01".to_owned())
        ]
    );
    // A week is held against baseline * 12 / 52 = 715.4: 700 is 97.8%.
    assert_eq!(r.weeks_to_95_pct, Some(WeeksTo95::Weeks(1)));
    assert_eq!(r.aligned[1].pct_of_baseline, Some(97.8));
}

#[test]
fn the_burn_down_projects_from_the_last_three_reports_or_says_it_is_not_converging() {
    // Proves: the projected finish is the last report's day plus remaining / rate (the rate
    // over the latest three reports); a list that stops falling is not converging and fires
    // `recovery_stalled` with its numbers; the rule is on the warnings board.
    let list = |n: u64, day: &str, validated: u64, remaining: u64| {
        ev(
            n,
            "RAL",
            day,
            ptl(Pathway::Rtt18wk, 22_000, validated, remaining),
        )
    };
    let falling = [
        go_live(1, "2008-06-15"),
        list(2, "2008-07-01", 0, 22_000),
        list(3, "2008-07-11", 2_000, 20_000),
        list(4, "2008-07-21", 4_000, 18_000),
        list(5, "2008-07-31", 6_000, 17_000),
    ];
    let p = given(falling.clone());
    let v = view(&p);
    let b = &ral(&v).burn_down[&Pathway::Rtt18wk];
    assert_eq!(b.state, BurnDownState::Projected);
    // 3,000 in 20 days: 17,000 more take 114 days (rounded up) from 31 July 2008.
    assert_eq!(b.projected_finish.unwrap().to_string(), "2008-11-22");
    assert_eq!(b.rate_per_week, Some(1_050));
    assert!(
        p.warnings(&WarningRules::default(), None).trusts["RAL"]
            .warnings
            .iter()
            .all(|w| w.id != RULE_RECOVERY_STALLED)
    );

    let mut stuck = falling.to_vec();
    stuck.push(list(6, "2008-08-10", 6_000, 18_500));
    let p = given(stuck);
    let v = view(&p);
    let b = &ral(&v).burn_down[&Pathway::Rtt18wk];
    assert_eq!(b.state, BurnDownState::NotConverging);
    assert_eq!(b.projected_finish, None);
    let w = p.warnings(&WarningRules::default(), None);
    let fired = w.trusts["RAL"]
        .warnings
        .iter()
        .find(|w| w.id == RULE_RECOVERY_STALLED)
        .expect("recovery_stalled fires");
    assert!(
        fired
            .message
            .contains("rtt_18wk validation not converging: 18500"),
        "{}",
        fired.message
    );
    assert!(!fired.halt);
}

#[test]
fn activity_below_its_share_with_no_improvement_over_the_weeks_is_stalled() {
    // Proves: the activity half of `recovery_stalled` fires when the latest month is below 90%
    // and no better than the month reported 8 weeks before it, and not when it improved.
    let mut events = vec![
        go_live(1, "2008-06-15"),
        ev(
            2,
            "RAL",
            "2008-06-01",
            baseline(OP, 1000, "2007-06", "2008-05"),
        ),
        ev(3, "RAL", "2008-07-01", activity(OP, 700, "2008-06")),
        ev(4, "RAL", "2008-08-01", activity(OP, 720, "2008-07")),
        ev(5, "RAL", "2008-09-01", activity(OP, 700, "2008-08")),
    ];
    let stalled = |events: &[Envelope]| {
        given(events.to_vec())
            .warnings(&WarningRules::default(), None)
            .trusts["RAL"]
            .warnings
            .iter()
            .find(|w| w.id == RULE_RECOVERY_STALLED)
            .map(|w| (w.message.clone(), w.since))
    };
    let (m, since) = stalled(&events).expect("stalled");
    // No better since the end of the earlier month.
    assert_eq!(
        since.map(|t| t.to_rfc3339()),
        Some("2008-06-30T00:00:00+00:00".to_owned())
    );
    assert!(
        m.contains("outpatient_first at 70% of baseline in 2008-08, no better than 70% in 2008-06"),
        "{m}"
    );
    events.push(ev(6, "RAL", "2008-10-01", activity(OP, 800, "2008-09")));
    assert_eq!(stalled(&events), None);
}

#[test]
fn the_recovery_kinds_change_no_other_view() {
    // Proves: activity, baselines and validations are kept apart: every other view, and the
    // projection's "now", are what they were without them.
    let base = [
        go_live(1, "2008-06-15"),
        ev(
            2,
            "RAL",
            "2008-11-05",
            at_risk(IncomeCategory::LostActivity, 50_000, "2008-07"),
        ),
    ];
    let mut more = base.to_vec();
    more.push(ev(
        3,
        "RAL",
        "2009-06-01",
        baseline(OP, 1000, "2007-06", "2008-05"),
    ));
    more.push(ev(4, "RAL", "2010-01-01", activity(OP, 10, "2009-12")));
    more.push(ev(5, "RAL", "2010-02-01", ptl(Pathway::Rtt18wk, 10, 0, 10)));
    let (a, b) = (given(base), given(more));
    assert_eq!(a.as_at(), b.as_at());
    assert_eq!(a.money(None), b.money(None));
    assert_eq!(a.rollout(None), b.rollout(None));
    assert_eq!(a.evidence(None), b.evidence(None));
    assert_eq!(
        a.coverage(&WarningRules::default(), None),
        b.coverage(&WarningRules::default(), None)
    );
    assert_eq!(a.lost_patients(None), b.lost_patients(None));
    assert_eq!(
        a.warnings(&WarningRules::default(), None),
        b.warnings(&WarningRules::default(), None)
    );
}

#[test]
fn a_trust_that_reported_only_activity_is_a_trust_seen() {
    // Proves: a trust whose only events are recovery kinds is in `trusts()` (so it can be
    // asked for by name) and in the recovery view, and still has no line in the other views.
    let p = given([
        ev(
            1,
            "RVJ",
            "2011-11-28",
            baseline(OP, 1000, "2010-12", "2011-11"),
        ),
        ev(2, "RVJ", "2012-01-05", activity(OP, 700, "2011-12")),
    ]);
    let rvj = golive_model::OdsCode::parse("RVJ").unwrap();
    assert_eq!(p.trusts(), std::slice::from_ref(&rvj));
    let v = p.recovery(
        &Tariffs::default(),
        &WarningRules::default(),
        Some(&rvj),
        Align::Calendar,
    );
    assert_eq!(
        v.trusts["RVJ"].points_of_delivery[&OP].months[0].value,
        Some(700)
    );
    assert!(p.money(None).trusts.is_empty());
}

#[test]
fn tariffs_are_read_over_the_defaults_and_checked() {
    let t = Tariffs::from_toml("day_case = 123\n").unwrap();
    assert_eq!(t.of(PointOfDelivery::DayCase), 123);
    assert_eq!(t.of(OP), Tariffs::default().of(OP));
    assert!(Tariffs::from_toml("ward = 1\n").is_err());
    assert!(Tariffs::from_toml("day_case = -1\n").is_err());
    assert!(Tariffs::from_toml("day_case = 1.5\n").is_err());
}

/// One generated monthly report: its month (index from 2008-06), value, and whether a later
/// report corrects it (with this value).
#[derive(Debug, Clone)]
struct Report {
    month: u8,
    value: u64,
    correction: Option<u64>,
}

fn reports() -> impl Strategy<Value = (u64, Vec<Report>)> {
    (
        1u64..5_000,
        proptest::collection::vec(
            (
                0u8..12,
                1u64..8_000,
                proptest::option::weighted(0.3, 1u64..8_000),
            )
                .prop_map(|(month, value, correction)| Report {
                    month,
                    value,
                    correction,
                }),
            1..16,
        ),
    )
}

fn month_at(i: u8) -> Period {
    (0..i).fold(Period::parse("2008-06").unwrap(), |p, _| p.next())
}

/// The events of `reports`: a go-live, a baseline, each report, and each correction right after
/// the report it corrects; `skip_corrected` leaves out every report that is corrected.
fn events_of(b: u64, reports: &[Report], skip_corrected: bool) -> Vec<Envelope> {
    let mut out = vec![
        go_live(1, "2008-06-15"),
        ev(
            2,
            "RAL",
            "2008-06-01",
            baseline(OP, b, "2007-06", "2008-05"),
        ),
    ];
    for (i, r) in reports.iter().enumerate() {
        let n = 10 + 2 * i as u64;
        let day = format!("2010-01-{:02}", 1 + i);
        let month = month_at(r.month).to_string();
        if !(skip_corrected && r.correction.is_some()) {
            out.push(ev(n, "RAL", &day, activity(OP, r.value, &month)));
        }
        if let Some(c) = r.correction {
            let fixed = ev(n + 1, "RAL", &day, activity(OP, c, &month));
            out.push(if skip_corrected {
                fixed
            } else {
                correcting(fixed, n)
            });
        }
    }
    out
}

proptest! {
    #[test]
    fn percentages_and_shortfall_equal_an_oracle((b, reports) in reports()) {
        // Proves: each month's value is its latest report (a correction's, when corrected), a
        // month between reports carries the last reported value and is marked so, never 0;
        // percentages are value / baseline in tenths rounded down, and the shortfall is the sum
        // of baseline - value over the reported months only.
        let v = view(&given(events_of(b, &reports, false)));
        let mut latest: BTreeMap<u8, u64> = BTreeMap::new();
        for r in &reports {
            latest.insert(r.month, r.correction.unwrap_or(r.value));
        }
        let last = *latest.keys().max().unwrap();
        let r = &ral(&v).points_of_delivery[&OP];
        prop_assert_eq!(r.months.len(), usize::from(last) + 1);
        let mut carried: Option<u64> = None;
        let mut shortfall = 0i64;
        for (i, m) in r.months.iter().enumerate() {
            let reported = latest.get(&(i as u8)).copied();
            let shown = reported.or(carried);
            prop_assert_eq!(m.value, shown);
            prop_assert_eq!(m.carried, reported.is_none() && carried.is_some());
            if m.carried {
                prop_assert_ne!(m.value, Some(0));
                prop_assert_eq!(m.shortfall_units, None);
            }
            let pct = shown.map(|v| (v * 1000 / b) as f64 / 10.0);
            prop_assert_eq!(m.pct_of_baseline, pct);
            if let Some(v) = reported {
                shortfall += b as i64 - v as i64;
                carried = Some(v);
            }
        }
        prop_assert_eq!(r.cumulative_shortfall_units, shortfall);
        prop_assert_eq!(r.priced_shortfall_pence, shortfall * Tariffs::default().of(OP));
        let first95 = latest.iter().find(|(_, v)| **v * 1000 / b >= 950).map(|(m, _)| month_at(*m).to_string());
        prop_assert_eq!(r.returned_to_95_pct_in.clone(), first95);
    }

    #[test]
    fn a_correction_moves_the_curve_as_if_the_first_report_had_not_been_made(
        (b, reports) in reports()
    ) {
        // Proves: folding reports and their corrections gives the same recovery view, byte for
        // byte, as folding the corrections alone without the reports they correct.
        let corrected = view(&given(events_of(b, &reports, false)));
        let never = view(&given(events_of(b, &reports, true)));
        prop_assert_eq!(
            serde_json::to_string(&corrected).unwrap(),
            serde_json::to_string(&never).unwrap()
        );
    }
}

#[test]
fn every_recovery_kind_is_generated_for_the_fold_properties() {
    // Proves the shared projection generator (used by the fold, snapshot and sourced-only
    // properties) covers the recovery kinds, so they hold for them too.
    use golive_testkit::projections::generate::body;
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..500 {
        let b: EventBody = body().new_tree(&mut runner).unwrap().current();
        seen.insert(b.kind());
    }
    for k in [
        golive_model::Kind::ActivityBaseline,
        golive_model::Kind::ActivityActual,
        golive_model::Kind::PtlValidation,
    ] {
        assert!(seen.contains(&k), "{k} not generated");
    }
}
