//! Early-warning rules: reading them from TOML, and each rule firing and not firing.

use crate::common::*;
use golive_model::{
    CostCategory, Dataset, Harm, IncidentState, IncomeCategory, Pathway, RolloutState,
};
use golive_projections::{
    Projections, RULE_INCOME_AT_RISK, RULE_NET_COST, RULE_OPEN_LOST_GROWTH,
    RULE_PROGRAMME_SITES_HALTING, RULE_REPORTING_SUSPENDED, RULE_SERIOUS_INCIDENT, RulesError,
    Severity, TrustWarnings, WarningRules,
};

const LONDON: &str = "London Programme for IT";

fn fired(p: &Projections, rules: &WarningRules, trust: &str) -> TrustWarnings {
    p.warnings(rules, Some(&ods(trust))).trusts[trust].clone()
}

fn ids(w: &TrustWarnings) -> Vec<&str> {
    w.warnings.iter().map(|w| w.id.as_str()).collect()
}

#[test]
fn rules_from_toml_default_every_field_and_refuse_mistakes() {
    // Proves an empty document gives the defaults, a partial one overrides only what it names,
    // and typos, unknown rule ids and out-of-range values are refused with a clear error.
    assert_eq!(
        WarningRules::from_toml("").unwrap(),
        WarningRules::default()
    );
    let d = WarningRules::default();
    assert_eq!(d.net_cost_threshold_pence, 100_000_000);
    assert_eq!(d.open_lost_growth_weeks, 2);
    assert_eq!(d.serious_incident_min_harm, Harm::Moderate);
    assert!(d.reporting_suspension_is_warning);
    assert_eq!(d.halt_on.len(), 5);

    let r = WarningRules::from_toml(
        "net_cost_threshold_pence = 500\nserious_incident_min_harm = \"severe\"\nhalt_on = [\"net_cost\"]\n",
    )
    .unwrap();
    assert_eq!(r.net_cost_threshold_pence, 500);
    assert_eq!(r.serious_incident_min_harm, Harm::Severe);
    assert_eq!(r.halt_on, ["net_cost"]);
    assert_eq!(r.open_lost_growth_weeks, 2);

    assert!(matches!(
        WarningRules::from_toml("net_cost_treshold_pence = 1"),
        Err(RulesError::Toml(_))
    ));
    assert!(matches!(
        WarningRules::from_toml("halt_on = [\"net_costs\"]"),
        Err(RulesError::UnknownRule { .. })
    ));
    assert!(matches!(
        WarningRules::from_toml("income_at_risk_threshold_pence = -5"),
        Err(RulesError::OutOfRange {
            field: "income_at_risk_threshold_pence",
            ..
        })
    ));
    assert!(WarningRules::from_toml("open_lost_growth_weeks = 53").is_err());
    assert!(WarningRules::from_toml("serious_incident_min_harm = \"bad\"").is_err());
}

#[test]
fn net_cost_fires_at_the_threshold_and_not_a_penny_below() {
    // Proves the net-cost rule: 60,000,000p extra cost in Sep plus 40,000,000p income at risk
    // for Oct is exactly £1m, which fires, dated from October (when the running total got
    // there); 1p less does not fire.
    let events = |at_risk_pence| {
        [
            ev(
                1,
                "RAL",
                "2008-09-15",
                cost(CostCategory::TemporaryStaff, 60_000_000),
            ),
            ev(
                2,
                "RAL",
                "2008-11-01",
                at_risk(IncomeCategory::LostActivity, at_risk_pence, "2008-10"),
            ),
        ]
    };
    let rules = WarningRules {
        income_at_risk_threshold_pence: i64::MAX,
        ..WarningRules::default()
    };
    let w = fired(&given(events(40_000_000)), &rules, "RAL");
    assert_eq!(ids(&w), [RULE_NET_COST]);
    let net = &w.warnings[0];
    assert_eq!(net.since, Some(t("2008-10-01T00:00:00Z")));
    assert_eq!(net.severity, Severity::Warning);
    assert!(net.message.contains("£1,000,000.00"), "{}", net.message);
    assert!(w.halt_recommended);

    let w = fired(&given(events(39_999_999)), &rules, "RAL");
    assert!(w.warnings.is_empty());
    assert!(!w.halt_recommended);
}

#[test]
fn income_at_risk_counts_what_is_not_yet_recovered() {
    // Proves the income rule uses at risk minus recovered: 80m at risk less 20m recovered is
    // 60m, over the default 50m (since September, when the running total first passed it);
    // with 40m recovered it is 40m and does not fire.
    let events = |recovered_pence| {
        [
            ev(
                1,
                "RNJ",
                "2008-10-01",
                at_risk(IncomeCategory::Unbilled, 80_000_000, "2008-09"),
            ),
            ev(
                2,
                "RNJ",
                "2008-11-01",
                recovered(recovered_pence, "2008-10", None),
            ),
        ]
    };
    let w = fired(&given(events(20_000_000)), &WarningRules::default(), "RNJ");
    assert_eq!(ids(&w), [RULE_INCOME_AT_RISK]);
    assert_eq!(w.warnings[0].since, Some(t("2008-09-01T00:00:00Z")));
    let w = fired(&given(events(40_000_000)), &WarningRules::default(), "RNJ");
    assert!(w.warnings.is_empty());
}

#[test]
fn open_lost_growth_fires_on_consecutive_weekly_rises_up_to_now() {
    // Proves the growth rule: 0 -> 1 (W10) -> 3 (W11) is two rises, which fires with the
    // default of 2; a later event in W12 with no change makes the latest week flat, and the
    // streak, hence the warning, ends.
    let rising = vec![
        ev(1, "RVL", "2009-03-02", lost("A", Pathway::Rtt18wk)),
        ev(2, "RVL", "2009-03-10", lost("B", Pathway::Rtt18wk)),
        ev(3, "RVL", "2009-03-11", lost("C", Pathway::FollowUp)),
    ];
    let w = fired(&given(rising.clone()), &WarningRules::default(), "RVL");
    assert_eq!(ids(&w), [RULE_OPEN_LOST_GROWTH]);
    assert_eq!(w.warnings[0].since, Some(t("2009-03-02T00:00:00Z")));
    assert!(
        w.warnings[0].message.contains("0 -> 1 -> 3"),
        "{}",
        w.warnings[0].message
    );

    let three_weeks = WarningRules {
        open_lost_growth_weeks: 3,
        ..WarningRules::default()
    };
    assert!(
        fired(&given(rising.clone()), &three_weeks, "RVL")
            .warnings
            .is_empty()
    );

    let mut flat = rising;
    flat.push(ev(4, "RVL", "2009-03-17", deferred("theatres", None)));
    assert!(
        fired(&given(flat), &WarningRules::default(), "RVL")
            .warnings
            .is_empty()
    );
}

#[test]
fn serious_incident_fires_only_when_open_serious_and_harmful_enough() {
    // Proves the incident rule: an open serious incident at moderate harm fires (critical);
    // low harm, not serious, or closed does not; raising the minimum to severe stops it.
    let one = |harm, serious, state| {
        given([ev(
            1,
            "RNJ",
            "2009-04-28",
            incident("DATIX-1", harm, serious, state),
        )])
    };
    let rules = WarningRules::default();
    let w = fired(
        &one(Harm::Moderate, true, IncidentState::Open),
        &rules,
        "RNJ",
    );
    assert_eq!(ids(&w), [RULE_SERIOUS_INCIDENT]);
    assert_eq!(w.warnings[0].severity, Severity::Critical);
    assert_eq!(w.warnings[0].since, Some(t("2009-04-28")));
    assert!(w.warnings[0].message.contains("DATIX-1"));
    assert!(
        fired(&one(Harm::Low, true, IncidentState::Open), &rules, "RNJ")
            .warnings
            .is_empty()
    );
    assert!(
        fired(&one(Harm::Death, false, IncidentState::Open), &rules, "RNJ")
            .warnings
            .is_empty()
    );
    assert!(
        fired(
            &one(Harm::Severe, true, IncidentState::Closed),
            &rules,
            "RNJ"
        )
        .warnings
        .is_empty()
    );
    let severe = WarningRules {
        serious_incident_min_harm: Harm::Severe,
        ..WarningRules::default()
    };
    assert!(
        fired(
            &one(Harm::Moderate, true, IncidentState::Open),
            &severe,
            "RNJ"
        )
        .warnings
        .is_empty()
    );
}

#[test]
fn reporting_suspension_warns_only_for_a_live_trust() {
    // Proves the suspension rule: it fires for a trust that went live, not for one only
    // planned or since withdrawn, and not when switched off.
    let with_status = |status| {
        given([
            ev(1, "RNJ", "2008-04-08", rollout(LONDON, status, Some("LC0"))),
            ev(2, "RNJ", "2009-03-01", suspended(Dataset::Rtt)),
        ])
    };
    let rules = WarningRules::default();
    let w = fired(&with_status(RolloutState::GoLive), &rules, "RNJ");
    assert_eq!(ids(&w), [RULE_REPORTING_SUSPENDED]);
    assert_eq!(w.warnings[0].since, Some(t("2009-03-01")));
    assert!(w.live);
    assert!(
        fired(&with_status(RolloutState::Planned), &rules, "RNJ")
            .warnings
            .is_empty()
    );
    let withdrawn = given([
        ev(
            1,
            "RNJ",
            "2008-04-08",
            rollout(LONDON, RolloutState::GoLive, Some("LC0")),
        ),
        ev(
            2,
            "RNJ",
            "2008-05-08",
            rollout(LONDON, RolloutState::Withdrawn, None),
        ),
        ev(3, "RNJ", "2009-03-01", suspended(Dataset::Rtt)),
    ]);
    assert!(fired(&withdrawn, &rules, "RNJ").warnings.is_empty());
    let off = WarningRules {
        reporting_suspension_is_warning: false,
        ..WarningRules::default()
    };
    assert!(
        fired(&with_status(RolloutState::GoLive), &off, "RNJ")
            .warnings
            .is_empty()
    );
}

#[test]
fn only_halt_on_rules_recommend_a_halt() {
    // Proves halt_on: with only serious_incident listed, a net-cost warning alone does not
    // recommend a halt; adding the serious incident does, with its reason.
    let rules = WarningRules {
        halt_on: vec![RULE_SERIOUS_INCIDENT.to_owned()],
        ..WarningRules::default()
    };
    let mut events = vec![ev(
        1,
        "RAL",
        "2008-09-15",
        cost(CostCategory::Remediation, 200_000_000),
    )];
    let w = fired(&given(events.clone()), &rules, "RAL");
    assert_eq!(ids(&w), [RULE_NET_COST]);
    assert!(!w.warnings[0].halt);
    assert!(!w.halt_recommended);
    events.push(ev(
        2,
        "RAL",
        "2008-10-01",
        incident("D-7", Harm::Severe, true, IncidentState::Open),
    ));
    let w = fired(&given(events), &rules, "RAL");
    assert!(w.halt_recommended);
    assert_eq!(w.halt_reasons.len(), 1);
    assert!(w.halt_reasons[0].starts_with("serious_incident:"));
    assert_eq!(w.halt_since, Some(t("2008-10-01")));
}

#[test]
fn two_live_trusts_halting_at_once_raise_a_programme_warning() {
    // Proves the programme rule: RAL and RNJ, both live in London and both halt-recommended
    // (reporting suspended from 1 Mar and 1 Apr), give one programme warning dated 1 Apr (when
    // the second joined); one trust alone, or a second that is not live, gives none.
    let base = vec![
        ev(
            1,
            "RAL",
            "2008-06-15",
            rollout(LONDON, RolloutState::GoLive, Some("LC1")),
        ),
        ev(
            2,
            "RNJ",
            "2008-04-08",
            rollout(LONDON, RolloutState::GoLive, Some("LC0")),
        ),
        ev(
            3,
            "RVL",
            "2007-07-01",
            rollout("Other", RolloutState::GoLive, Some("R0")),
        ),
        ev(4, "RAL", "2009-03-01", suspended(Dataset::Rtt)),
    ];
    let rules = WarningRules::default();
    let one = given(base.clone());
    assert!(one.warnings(&rules, None).programmes.is_empty());

    let mut both = base.clone();
    both.push(ev(5, "RNJ", "2009-04-01", suspended(Dataset::Cancer)));
    let p = given(both);
    let v = p.warnings(&rules, None);
    let w = &v.programmes[LONDON];
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].id, RULE_PROGRAMME_SITES_HALTING);
    assert_eq!(w[0].since, Some(t("2009-04-01")));
    assert!(w[0].message.contains("RAL, RNJ"), "{}", w[0].message);
    assert_eq!(v.total.halt_recommended, ["RAL", "RNJ"]);
    assert_eq!(v.total.programme_warnings, 1);
    // Shown with a London trust, not with a trust of another programme.
    assert!(
        p.warnings(&rules, Some(&ods("RAL")))
            .programmes
            .contains_key(LONDON)
    );
    assert!(p.warnings(&rules, Some(&ods("RVL"))).programmes.is_empty());

    let mut not_live = base;
    not_live.push(ev(
        5,
        "RNJ",
        "2009-03-15",
        rollout(LONDON, RolloutState::Withdrawn, None),
    ));
    not_live.push(ev(
        6,
        "RNJ",
        "2009-04-01",
        incident("D-1", Harm::Severe, true, IncidentState::Open),
    ));
    let p = given(not_live);
    assert!(fired(&p, &rules, "RNJ").halt_recommended);
    assert!(p.warnings(&rules, None).programmes.is_empty());
}

#[test]
fn an_open_serious_incident_of_unknown_harm_warns_that_it_is_not_graded() {
    // Proves ungraded harm is never read as "no harm": the rule fires (a warning, not
    // critical) and says the harm is not yet graded; graded at moderate, it is critical;
    // re-graded to low by a later report, it stops.
    let p = given([ev(
        1,
        "RNJ",
        "2009-04-28",
        incident("RNJ-SUI-1", Harm::Unknown, true, IncidentState::Open),
    )]);
    let w = fired(&p, &WarningRules::default(), "RNJ");
    assert_eq!(ids(&w), [RULE_SERIOUS_INCIDENT]);
    assert_eq!(w.warnings[0].severity, Severity::Warning);
    assert!(
        w.warnings[0].message.contains("not yet graded"),
        "{}",
        w.warnings[0].message
    );
    assert!(w.warnings[0].message.contains("RNJ-SUI-1"));
    assert_eq!(w.warnings[0].since, Some(t("2009-04-28")));
    let both = given([
        ev(
            1,
            "RNJ",
            "2009-04-28",
            incident("A", Harm::Unknown, true, IncidentState::Open),
        ),
        ev(
            2,
            "RNJ",
            "2009-04-29",
            incident("B", Harm::Severe, true, IncidentState::Open),
        ),
    ]);
    let w = fired(&both, &WarningRules::default(), "RNJ");
    assert_eq!(w.warnings[0].severity, Severity::Critical);
    assert!(w.warnings[0].message.contains("not yet graded"));
    let regraded = given([
        ev(
            1,
            "RNJ",
            "2009-04-28",
            incident("A", Harm::Unknown, true, IncidentState::Open),
        ),
        ev(
            2,
            "RNJ",
            "2009-05-28",
            incident("A", Harm::Low, true, IncidentState::Open),
        ),
    ]);
    assert!(
        fired(&regraded, &WarningRules::default(), "RNJ")
            .warnings
            .is_empty()
    );
}
