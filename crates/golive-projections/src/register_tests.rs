//! The claim register and the usage-burden view: given (events) / then (verdicts), and the
//! property that each verdict equals a small independent oracle over the events known at the
//! claim's date.

use golive_model::{
    ClaimType, CostCategory, Dataset, Envelope, Harm, IncidentState, PlanState, Stance, Status,
    UsageMetric,
};

use crate::testkit::*;
use crate::*;

fn verdicts(v: &ClaimsView) -> Vec<Verdict> {
    v.claims.iter().map(|c| c.verdict).collect()
}

fn at(n: u64, day: &str, body: golive_model::EventBody) -> Envelope {
    ev(n, "RAL", day, body)
}

#[test]
fn fit_to_deploy_while_the_trusts_own_plan_is_open_is_contradicted_by_that_plan() {
    // Proves: the verdict names the rule and the event that decide it, with its source; a plan
    // closed before the claim leaves the claim consistent (the trust was reporting).
    let open = [
        at(
            1,
            "2008-10-06",
            plan("90-day recovery plan", PlanState::Open),
        ),
        at(2, "2009-02-10", cost(CostCategory::Other, 100)),
        at(3, "2009-02-27", claim(ClaimType::FitToDeploy)),
    ];
    let v = register(&open, &ClaimRules::default(), None);
    assert_eq!(verdicts(&v), [Verdict::Contradicted]);
    let c = &v.claims[0];
    assert_eq!(c.decided_by.len(), 1);
    assert_eq!(c.decided_by[0].rule, ClaimRule::RecoveryPlanOpen);
    assert_eq!(c.decided_by[0].event_ids, [id(1)]);
    assert_eq!(c.decided_by[0].sources[0].reference, "golive-testkit");
    assert_eq!(c.claimed_on, "2009-02-27");
    assert_eq!(v.totals.contradicted, 1);

    let mut closed = open.to_vec();
    closed.insert(
        1,
        at(
            4,
            "2009-01-04",
            plan("90-day recovery plan", PlanState::Closed),
        ),
    );
    let v = register(&closed, &ClaimRules::default(), None);
    assert_eq!(verdicts(&v), [Verdict::Consistent]);
    assert_eq!(v.claims[0].decided_by[0].rule, ClaimRule::ReportedInWindow);
}

#[test]
fn harm_known_only_later_makes_no_clinical_harm_contradicted_later_and_known_at_moves_it() {
    // Proves: an incident that happened before the claim but was recorded after it is not held
    // against the claim at its date; it makes the claim contradicted_later, from the day it
    // was recorded; asked known at a day before that, the claim is unsupported again.
    let events = [
        at(
            1,
            "2009-04-01",
            incident("SUI-1", Harm::Unknown, true, IncidentState::Open),
        ),
        at(2, "2009-04-28", claim(ClaimType::NoClinicalHarm)),
        recorded(
            at(
                3,
                "2009-04-15",
                incident("DATIX-7", Harm::Moderate, false, IncidentState::Open),
            ),
            "2009-06-01",
        ),
    ];
    let rules = ClaimRules::default();
    let v = register(&events, &rules, None);
    assert_eq!(verdicts(&v), [Verdict::ContradictedLater]);
    let c = &v.claims[0];
    assert_eq!(c.decided_by[0].rule, ClaimRule::HarmFound);
    assert_eq!(c.decided_by[0].event_ids, [id(3)]);
    assert_eq!(c.contradicted_known_at, Some(t("2009-06-01")));
    // At the claim's date the serious incident was open and ungraded: in the context.
    assert_eq!(c.context["RAL"].at_claim.open_serious_incidents.len(), 1);
    assert_eq!(
        c.context["RAL"].at_claim.open_serious_incidents[0].harm,
        Harm::Unknown
    );

    let before = register(&events, &rules, Some(t("2009-05-31")));
    assert_eq!(verdicts(&before), [Verdict::Unsupported]);
    assert!(before.claims[0].decided_by.is_empty());
    let before_claim = register(&events, &rules, Some(t("2009-04-27")));
    assert!(before_claim.claims.is_empty(), "not yet made");
}

#[test]
fn synthetic_evidence_decides_nothing_unless_the_rules_count_it() {
    // Proves: a claim is held only against reported facts by default; `count_synthetic`
    // lets simulated events count.
    let events = [
        synthetic(at(
            1,
            "2009-01-10",
            incident("SYN-1", Harm::Severe, false, IncidentState::Closed),
        )),
        at(2, "2009-02-01", claim(ClaimType::NoClinicalHarm)),
    ];
    let v = register(&events, &ClaimRules::default(), None);
    assert_eq!(verdicts(&v), [Verdict::Unsupported]);
    let counting = ClaimRules {
        count_synthetic: true,
        ..ClaimRules::default()
    };
    assert_eq!(
        verdicts(&register(&events, &counting, None)),
        [Verdict::Contradicted]
    );
}

#[test]
fn a_success_claim_is_contradicted_by_burden_dark_data_rising_losses_and_cost() {
    // Proves each rule against `successful_go_live` on its own, with the headline net cost
    // counting reported money and never estimates.
    let rules = ClaimRules::default();
    let claim_day = "2009-02-27";
    let cases: Vec<(Vec<Envelope>, ClaimRule)> = vec![
        (
            vec![at(1, "2009-02-19", burden("2009-02", Some(40), None))],
            ClaimRule::BurdenOver,
        ),
        (
            vec![at(1, "2009-02-01", suspended(Dataset::Rtt))],
            ClaimRule::DatasetDark,
        ),
        (
            vec![
                at(1, "2008-12-01", lost("P1", golive_model::Pathway::Rtt18wk)),
                at(4, "2009-02-20", lost("P2", golive_model::Pathway::Rtt18wk)),
            ],
            ClaimRule::LostRising,
        ),
        (
            vec![at(
                1,
                "2009-01-05",
                cost(CostCategory::TemporaryStaff, 100_000_000),
            )],
            ClaimRule::NetCostOver,
        ),
    ];
    for (mut events, rule) in cases {
        events.push(at(9, claim_day, claim(ClaimType::SuccessfulGoLive)));
        let v = register(&events, &rules, None);
        assert_eq!(verdicts(&v), [Verdict::Contradicted], "{rule}");
        assert_eq!(v.claims[0].decided_by[0].rule, rule);
    }
    // An estimate is not in the headline: a £5m estimated cost contradicts nothing.
    let mut estimate = at(1, "2009-01-05", cost(CostCategory::Other, 500_000_000));
    estimate.status = Status::Estimated;
    let v = register(
        &[
            estimate,
            at(9, claim_day, claim(ClaimType::SuccessfulGoLive)),
        ],
        &rules,
        None,
    );
    assert_eq!(verdicts(&v), [Verdict::Consistent]);
    // Burden within its limit (task time 110% against a limit of 120%) is not over it.
    let v = register(
        &[
            at(1, "2009-02-19", burden("2009-02", None, Some(110))),
            at(9, claim_day, claim(ClaimType::Stable)),
        ],
        &rules,
        None,
    );
    assert_eq!(
        verdicts(&v),
        [Verdict::Unsupported],
        "a burden alone is not a report of the trust's events"
    );
}

#[test]
fn attribution_to_the_system_contradicts_not_system_related() {
    let mut blamed = at(1, "2009-01-05", cost(CostCategory::Other, 100));
    blamed.attribution = Some(golive_model::Attribution {
        by: "the trust board".to_owned(),
        stance: Stance::AttributesToSystem,
    });
    let v = register(
        &[
            blamed,
            at(2, "2009-02-01", claim(ClaimType::NotSystemRelated)),
        ],
        &ClaimRules::default(),
        None,
    );
    assert_eq!(verdicts(&v), [Verdict::Contradicted]);
    assert!(v.claims[0].decided_by[0].detail.contains("the trust board"));
}

#[test]
fn usage_rising_while_burden_holds_is_struggle_read_as_success_and_a_claim_on_it_warns() {
    // Proves: the month where usage rose while burden held is marked; burden per 1000 users is
    // derived; a claim of success made within the weeks after it fires `claim_on_struggle`
    // (not a halt reason by default), and the register names the months.
    let mut hours = burden("2009-02", Some(40), None);
    if let golive_model::EventBody::Burden(b) = &mut hours {
        b.overtime_hours = Some(300);
    }
    let events = vec![
        at(
            6,
            "2008-06-15",
            rollout("NPfIT", golive_model::RolloutState::GoLive, None),
        ),
        at(
            1,
            "2009-01-28",
            usage(UsageMetric::ActiveUsers, 1000, "2009-01"),
        ),
        at(2, "2009-01-28", burden("2009-01", Some(40), None)),
        at(
            3,
            "2009-02-26",
            usage(UsageMetric::ActiveUsers, 1500, "2009-02"),
        ),
        at(4, "2009-02-26", hours),
        at(5, "2009-02-27", claim(ClaimType::AdoptionHigh)),
    ];
    let p = given(events.clone());
    let ub = &p.usage_burden(None).trusts["RAL"];
    assert_eq!(ub.struggle_months, [period("2009-02")]);
    let feb = &ub.months[1];
    assert_eq!(feb.burden_hours, 300);
    assert_eq!(feb.burden_hours_per_1000[&UsageMetric::ActiveUsers], 200);
    assert!(
        !ub.months[0].struggle_read_as_success,
        "no earlier month to rise from"
    );
    let w = p.warnings(&WarningRules::default(), None);
    let fired = &w.trusts["RAL"].warnings;
    let struggle = fired
        .iter()
        .find(|w| w.id == RULE_CLAIM_ON_STRUGGLE)
        .expect("fired");
    assert!(!struggle.halt);
    assert!(struggle.message.contains("2009-02"), "{}", struggle.message);
    let off = WarningRules {
        claim_on_struggle_weeks: 0,
        ..WarningRules::default()
    };
    assert!(
        p.warnings(&off, None).trusts["RAL"]
            .warnings
            .iter()
            .all(|w| w.id != RULE_CLAIM_ON_STRUGGLE)
    );
    let v = register(&events, &ClaimRules::default(), None);
    assert_eq!(v.claims[0].rests_on_struggle["RAL"], [period("2009-02")]);
    assert_eq!(
        verdicts(&v),
        [Verdict::Consistent],
        "usage rose: adoption is high, at a cost"
    );
}

#[test]
fn a_correction_of_the_evidence_follows_each_cut() {
    // Proves: a plan reported open, then corrected to closed after the claim, contradicted the
    // claim at its date; as known now the correction stands, which changes nothing about what
    // was known then.
    let events = [
        at(1, "2009-01-01", plan("plan", PlanState::Open)),
        at(2, "2009-02-27", claim(ClaimType::FitToDeploy)),
        recorded(
            correcting(at(3, "2009-01-01", plan("plan", PlanState::Closed)), 1),
            "2009-03-10",
        ),
    ];
    let v = register(&events, &ClaimRules::default(), None);
    assert_eq!(verdicts(&v), [Verdict::Contradicted]);
    assert_eq!(
        v.claims[0].context["RAL"].after.recovery_plans_open,
        Vec::<String>::new()
    );
    assert_eq!(
        v.claims[0].context["RAL"].at_claim.recovery_plans_open,
        ["plan"]
    );
}

#[test]
fn claim_rules_are_checked() {
    assert!(ClaimRules::from_toml("").is_ok());
    assert!(ClaimRules::from_toml("window_weeks = 0").is_err());
    assert!(ClaimRules::from_toml("window_weeks = 53").is_err());
    assert!(ClaimRules::from_toml("harm_at_least = \"unknown\"").is_err());
    assert!(ClaimRules::from_toml("net_cost_pence_min = 0").is_err());
    assert!(ClaimRules::from_toml("colour = 1").is_err());
    let r = ClaimRules::from_toml("[burden_max]\nextra_staff = 5").unwrap();
    assert_eq!(r.burden_limit(golive_model::BurdenMetric::ExtraStaff), 5);
    assert_eq!(
        r.burden_limit(golive_model::BurdenMetric::TaskTimeRatioPct),
        0,
        "a named table replaces the default"
    );
}

mod oracle {
    //! The property: for random logs of the kinds the rules read, each claim's verdict equals
    //! what a direct reading of the raw events (no projection) says.

    use super::*;
    use chrono::{DateTime, Duration, Utc};
    use golive_model::{EventBody, Period, TraceOutcome};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// A day from 2008-09-01, in days.
    fn day(n: i64) -> DateTime<Utc> {
        t("2008-09-01") + Duration::days(n)
    }

    fn body(pick: u8, n: u8, x: u8) -> EventBody {
        let harm = [
            Harm::Unknown,
            Harm::None,
            Harm::Low,
            Harm::Moderate,
            Harm::Severe,
        ][usize::from(x % 5)];
        let month = format!("2009-{:02}", 1 + x % 4);
        match pick % 11 {
            0 => claim(
                [
                    ClaimType::SuccessfulGoLive,
                    ClaimType::Stable,
                    ClaimType::FitToDeploy,
                    ClaimType::NoClinicalHarm,
                    ClaimType::NotSystemRelated,
                    ClaimType::BenefitsRealised,
                    ClaimType::AdoptionHigh,
                ][usize::from(n % 7)],
            ),
            1 => incident(
                &format!("I{}", n % 3),
                harm,
                x.is_multiple_of(2),
                if x.is_multiple_of(3) {
                    IncidentState::Closed
                } else {
                    IncidentState::Open
                },
            ),
            2 => {
                if n.is_multiple_of(2) {
                    suspended(Dataset::Rtt)
                } else {
                    resumed(Dataset::Rtt)
                }
            }
            3 => burden(
                &month,
                Some(u64::from(n % 3)),
                (x.is_multiple_of(2)).then_some(100 + u64::from(n % 3) * 20),
            ),
            4 => plan(
                &format!("plan{}", n % 2),
                if x.is_multiple_of(2) {
                    PlanState::Open
                } else {
                    PlanState::Closed
                },
            ),
            5 => cost(CostCategory::Other, i64::from(n) * 10_000_000),
            6 => usage(UsageMetric::ActiveUsers, u64::from(n), &month),
            7 => lost(&format!("P{}", n % 4), golive_model::Pathway::Rtt18wk),
            8 => traced(&format!("P{}", n % 4), TraceOutcome::StillWaiting, harm),
            9 => claim(ClaimType::NoClinicalHarm),
            _ => claim(ClaimType::SuccessfulGoLive),
        }
    }

    prop_compose! {
        fn event(i: u64)(pick in any::<u8>(), n in any::<u8>(), x in any::<u8>(), occurred in 0i64..240,
                         delay in prop_oneof![3 => Just(0i64), 1 => 0i64..90], flags in any::<u8>()) -> Envelope {
            let mut e = ev_at(i + 1, "RAL", day(occurred), body(pick, n, x));
            e.recorded_at = day(occurred + delay);
            if flags % 7 == 0 { e = synthetic(e); }
            if flags % 5 == 1 { e.status = Status::Estimated; }
            if flags % 11 == 2 {
                e.attribution = Some(golive_model::Attribution { by: "someone".to_owned(),
                    stance: if flags % 2 == 0 { Stance::AttributesToSystem } else { Stance::DeniesSystemCause } });
            }
            e
        }
    }

    fn log() -> impl Strategy<Value = Vec<Envelope>> {
        (1usize..40).prop_flat_map(|n| (0..n as u64).map(event).collect::<Vec<_>>())
    }

    /// The events a reading takes, each with its seq, in (occurred_at, seq) order.
    fn seen(
        log: &[Envelope],
        known: DateTime<Utc>,
        by: Option<DateTime<Utc>>,
    ) -> Vec<(usize, &Envelope)> {
        let mut v: Vec<(usize, &Envelope)> = log
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.recorded_at <= known && by.is_none_or(|b| e.occurred_at <= b) && !e.is_synthetic()
            })
            .collect();
        v.sort_by_key(|(i, e)| (e.occurred_at, *i));
        v
    }

    /// The latest value per key, in (occurred_at, seq) order.
    fn latest<'a, K: Ord, V>(
        s: &[(usize, &'a Envelope)],
        f: impl Fn(&'a Envelope) -> Option<(K, V)>,
    ) -> BTreeMap<K, V> {
        s.iter().filter_map(|(_, e)| f(e)).collect()
    }

    fn open_lost(s: &[(usize, &Envelope)]) -> usize {
        latest(s, |e| match &e.body {
            EventBody::PatientLost(d) => Some((d.patient_ref.0.clone(), true)),
            EventBody::PatientTraced(d) => Some((d.patient_ref.0.clone(), false)),
            _ => None,
        })
        .values()
        .filter(|open| **open)
        .count()
    }

    /// Whether any burden figure of a month that counts (its latest value) is over its limit.
    fn burden_over(
        r: &ClaimRules,
        at: &[(usize, &Envelope)],
        in_months: &dyn Fn(Period) -> bool,
    ) -> bool {
        let mut figures: BTreeMap<(Period, golive_model::BurdenMetric), u64> = BTreeMap::new();
        for (_, e) in at {
            if let EventBody::Burden(b) = &e.body
                && in_months(b.period)
            {
                for (m, v) in b.figures() {
                    if let Some(v) = v {
                        figures.insert((b.period, m), v);
                    }
                }
            }
        }
        figures.iter().any(|((_, m), v)| *v > r.burden_limit(*m))
    }

    /// Whether there is headline money (reported extra cost), and its sum.
    fn headline(at: &[(usize, &Envelope)]) -> (bool, i64) {
        let amounts: Vec<i64> = at
            .iter()
            .filter_map(|(_, e)| match &e.body {
                EventBody::ExtraCost(d) if e.status != Status::Estimated => Some(d.amount_pence.0),
                _ => None,
            })
            .collect();
        (!amounts.is_empty(), amounts.iter().sum())
    }

    fn against(
        c: ClaimType,
        r: &ClaimRules,
        at: &[(usize, &Envelope)],
        before: &[(usize, &Envelope)],
        months: (Period, Period),
    ) -> bool {
        let in_months = |p: Period| months.0 <= p && p <= months.1;
        let dark = latest(at, |e| match &e.body {
            EventBody::ReportingSuspended(_) => Some(((), true)),
            EventBody::ReportingResumed(_) => Some(((), false)),
            _ => None,
        })
        .values()
        .any(|d| *d);
        let burden = burden_over(r, at, &in_months);
        let (has_headline, net) = headline(at);
        let cost_over = has_headline && net >= r.net_cost_pence_min;
        let plan_open = latest(at, |e| match &e.body {
            EventBody::RecoveryPlan(p) => Some((p.plan.clone(), p.state == PlanState::Open)),
            _ => None,
        })
        .values()
        .any(|o| *o);
        let incidents = latest(at, |e| match &e.body {
            EventBody::SafetyIncident(d) => Some((d.local_ref.clone(), d.clone())),
            _ => None,
        });
        let serious_open = incidents
            .values()
            .any(|d| d.serious_incident && d.state == IncidentState::Open);
        let harm_found = incidents.values().any(|d| d.harm.is_graded() && d.harm >= r.harm_at_least)
            || at.iter().any(|(_, e)| matches!(&e.body, EventBody::PatientTraced(d) if d.harm.is_graded() && d.harm >= r.harm_at_least));
        let blamed = at.iter().any(|(_, e)| {
            e.attribution
                .as_ref()
                .is_some_and(|a| a.stance == Stance::AttributesToSystem)
        });
        let usage = latest(at, |e| match &e.body {
            EventBody::UsageReported(u) if in_months(u.period) => Some((u.period, u.value)),
            _ => None,
        });
        let falling = usage.len() >= 2 && usage.values().last() < usage.values().next();
        let rising = open_lost(at) > open_lost(before);
        match c {
            ClaimType::SuccessfulGoLive => dark || rising || burden || cost_over,
            ClaimType::Stable => dark || rising || burden || serious_open,
            ClaimType::FitToDeploy => plan_open || dark || serious_open,
            ClaimType::NoClinicalHarm => harm_found,
            ClaimType::NotSystemRelated => blamed,
            ClaimType::BenefitsRealised => cost_over || burden,
            ClaimType::AdoptionHigh => falling,
        }
    }

    fn support(
        c: ClaimType,
        r: &ClaimRules,
        at: &[(usize, &Envelope)],
        claimed: DateTime<Utc>,
        months: (Period, Period),
    ) -> bool {
        let in_months = |p: Period| months.0 <= p && p <= months.1;
        let from = claimed - r.window();
        let claims_kind = |e: &Envelope| {
            matches!(
                e.body,
                EventBody::AssuranceClaim(_)
                    | EventBody::UsageReported(_)
                    | EventBody::Burden(_)
                    | EventBody::RecoveryPlan(_)
            )
        };
        let reported = at
            .iter()
            .any(|(_, e)| !claims_kind(e) && from <= e.occurred_at && e.occurred_at <= claimed);
        let incidents = latest(at, |e| match &e.body {
            EventBody::SafetyIncident(d) => Some((d.local_ref.clone(), d.clone())),
            _ => None,
        });
        let mut graded: Vec<Harm> = incidents.values().map(|d| d.harm).collect();
        graded.extend(at.iter().filter_map(|(_, e)| match &e.body {
            EventBody::PatientTraced(d) => Some(d.harm),
            _ => None,
        }));
        graded.retain(|h| h.is_graded());
        let ungraded_serious = incidents
            .values()
            .any(|d| d.serious_incident && d.state == IncidentState::Open && !d.harm.is_graded());
        let harm_below =
            !graded.is_empty() && !ungraded_serious && graded.iter().all(|h| *h < r.harm_at_least);
        let denied = at.iter().any(|(_, e)| {
            e.attribution
                .as_ref()
                .is_some_and(|a| a.stance == Stance::DeniesSystemCause)
        });
        let (has_headline, net) = headline(at);
        let usage = latest(at, |e| match &e.body {
            EventBody::UsageReported(u) if in_months(u.period) => Some((u.period, u.value)),
            _ => None,
        });
        let rising = usage.len() >= 2 && usage.values().last() > usage.values().next();
        match c {
            ClaimType::SuccessfulGoLive | ClaimType::Stable | ClaimType::FitToDeploy => reported,
            ClaimType::NoClinicalHarm => harm_below,
            ClaimType::NotSystemRelated => denied,
            ClaimType::BenefitsRealised => has_headline && net < r.net_cost_pence_min,
            ClaimType::AdoptionHigh => rising,
        }
    }

    fn oracle(log: &[Envelope], c: &Envelope, r: &ClaimRules) -> Verdict {
        let EventBody::AssuranceClaim(claim) = &c.body else {
            unreachable!()
        };
        let at_c = c.recorded_at;
        let w = r.window();
        let far = t("2100-01-01");
        let then_months = (Period::of(at_c - w), Period::of(at_c));
        let later_months = (Period::of(at_c - w), Period::of(at_c + w));
        let then = seen(log, at_c, None);
        if against(
            claim.claim,
            r,
            &then,
            &seen(log, at_c, Some(at_c - w)),
            then_months,
        ) {
            return Verdict::Contradicted;
        }
        if against(
            claim.claim,
            r,
            &seen(log, far, Some(at_c + w)),
            &seen(log, far, Some(at_c - w)),
            later_months,
        ) {
            return Verdict::ContradictedLater;
        }
        if support(claim.claim, r, &then, at_c, then_months) {
            return Verdict::Consistent;
        }
        Verdict::Unsupported
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn each_verdict_equals_the_oracle_over_the_events_known_at_the_claim(log in log()) {
            let rules = ClaimRules::default();
            let v = register(&log, &rules, None);
            let mut claims: Vec<(DateTime<Utc>, usize, &Envelope)> = log.iter().enumerate()
                .filter(|(_, e)| matches!(e.body, EventBody::AssuranceClaim(_)))
                .map(|(i, e)| (e.recorded_at, i, e)).collect();
            claims.sort_by_key(|(at, i, _)| (*at, *i));
            prop_assert_eq!(v.claims.len(), claims.len());
            for (entry, (_, _, e)) in v.claims.iter().zip(&claims) {
                prop_assert_eq!(entry.event_id, e.event_id);
                prop_assert_eq!(entry.verdict, oracle(&log, e, &rules), "{:?}", entry);
            }
        }

        #[test]
        fn claims_kinds_change_no_other_view(log in log()) {
            // Proves: folding the claims kinds in or leaving them out gives the same lost,
            // money, rollout, incidents, deferred, coverage, evidence and warnings views
            // (with `claim_on_struggle` off, the one rule that reads claims).
            let claims_kind = |e: &Envelope| matches!(e.body, EventBody::AssuranceClaim(_) | EventBody::UsageReported(_) | EventBody::Burden(_) | EventBody::RecoveryPlan(_));
            // The same seqs both ways (the log has no corrections).
            let mut with = Projections::new();
            let mut without = Projections::new();
            for (i, e) in log.iter().enumerate() {
                with.apply(i as u64 + 1, e, None);
                if !claims_kind(e) {
                    without.apply(i as u64 + 1, e, None);
                }
            }
            let rules = WarningRules { claim_on_struggle_weeks: 0, ..WarningRules::default() };
            prop_assert_eq!(with.lost_patients(None), without.lost_patients(None));
            prop_assert_eq!(with.money(None), without.money(None));
            prop_assert_eq!(with.rollout(None), without.rollout(None));
            prop_assert_eq!(with.incidents(None), without.incidents(None));
            prop_assert_eq!(with.deferred_features(None), without.deferred_features(None));
            prop_assert_eq!(with.coverage(&rules, None), without.coverage(&rules, None));
            prop_assert_eq!(with.evidence(None), without.evidence(None));
            prop_assert_eq!(with.warnings(&rules, None), without.warnings(&rules, None));
            // The trusts seen gain exactly those that reported only claims kinds (they can be
            // asked for by name); no view has a line for them.
            let mut seen: Vec<_> = without.trusts();
            seen.extend(log.iter().map(|e| e.trust.clone()));
            seen.sort();
            seen.dedup();
            prop_assert_eq!(with.trusts(), seen);
        }
    }
}
