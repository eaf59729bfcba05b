//! Property tests over generated histories: replay from a snapshot equals replay from zero,
//! the interleaving of trusts does not change any trust's views, and a history with
//! corrections gives the views of the same history without the corrected events.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use crate::common::*;
use golive_model::{Envelope, EventBody, OdsCode, PenaltyState, Span, Status};
use golive_projections::{Projections, WarningRules};
use golive_testkit::projections::generate::*;
use proptest::prelude::*;
use serde_json::{Value, json};

fn replay(events: &[Envelope]) -> Projections {
    given(events.iter().cloned())
}

/// Rules low enough that warnings fire in generated histories.
fn rules() -> WarningRules {
    WarningRules {
        net_cost_threshold_pence: 100_000_000,
        income_at_risk_threshold_pence: 100_000_000,
        open_lost_growth_weeks: 1,
        ..WarningRules::default()
    }
}

fn all_views(p: &Projections) -> Value {
    json!({
        "lost_patients": p.lost_patients(None),
        "money": p.money(None),
        "rollout": p.rollout(None),
        "incidents": p.incidents(None),
        "deferred": p.deferred_features(None),
        "evidence": p.evidence(None),
        "warnings": p.warnings(&rules(), None),
    })
}

/// The sections of one trust in every view, taken both from the unfiltered views and from the
/// views filtered to that trust (which must agree).
fn trust_views(p: &Projections, trust: &str) -> Value {
    let code = OdsCode::parse(trust).unwrap();
    let one = |v: Value| v["trusts"][trust].clone();
    let all = json!({
        "lost_patients": one(json!(p.lost_patients(None))),
        "money": one(json!(p.money(None))),
        "rollout": one(json!(p.rollout(None))),
        "incidents": one(json!(p.incidents(None))),
        "deferred": one(json!(p.deferred_features(None))),
        "evidence": one(json!(p.evidence(None))),
        "warnings": one(json!(p.warnings(&rules(), None))),
    });
    let filtered = json!({
        "lost_patients": one(json!(p.lost_patients(Some(&code)))),
        "money": one(json!(p.money(Some(&code)))),
        "rollout": one(json!(p.rollout(Some(&code)))),
        "incidents": one(json!(p.incidents(Some(&code)))),
        "deferred": one(json!(p.deferred_features(Some(&code)))),
        "evidence": one(json!(p.evidence(Some(&code)))),
        "warnings": one(json!(p.warnings(&rules(), Some(&code)))),
    });
    assert_eq!(
        all, filtered,
        "filtered view of {trust} differs from its section"
    );
    all
}

/// A reference model of two money totals over the events that stand: the headline extra cost
/// (not estimated; of to-date figures only the latest per trust and category) and the
/// threatened penalties (any status; of to-date figures the latest per trust and commissioner).
fn reference_money(standing: &[Envelope]) -> (i64, i64) {
    let mut extra = 0i64;
    let mut threatened = 0i64;
    // (trust, kind, key) -> ((as_at, position), counted amount)
    type Chain<'a> = (String, &'a str, String);
    let mut latest: BTreeMap<Chain, ((NaiveDate, usize), i64)> = BTreeMap::new();
    for (i, e) in standing.iter().enumerate() {
        let (kind, key, counted) = match &e.body {
            EventBody::ExtraCost(d) => {
                let c = if e.status == Status::Estimated {
                    0
                } else {
                    d.amount_pence.0
                };
                ("extra", d.category.as_str().to_owned(), c)
            }
            EventBody::ContractPenalty(d) => {
                let c = if d.state() == PenaltyState::Threatened {
                    d.amount_pence.0
                } else {
                    0
                };
                ("penalty", d.commissioner.clone(), c)
            }
            _ => continue,
        };
        match e.body.span() {
            Some(Span::ToDate { as_at }) => {
                let k = (e.trust.to_string(), kind, key);
                let v = ((as_at, i), counted);
                let slot = latest.entry(k).or_insert(v);
                if v.0 > slot.0 {
                    *slot = v;
                }
            }
            _ if kind == "extra" => extra += counted,
            _ => threatened += counted,
        }
    }
    for ((_, kind, _), (_, c)) in latest {
        if kind == "extra" {
            extra += c
        } else {
            threatened += c
        }
    }
    (extra, threatened)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn replay_from_a_snapshot_equals_replay_from_zero(
        specs in specs(80),
        cut in any::<prop::sample::Index>(),
    ) {
        // Proves (a): folding 1..k, snapshotting, restoring and folding k+1..n gives exactly the
        // projections (and snapshot bytes) of folding 1..n in one go, for any k.
        let events = build(&specs);
        let k = cut.index(events.len() + 1);
        let full = replay(&events);

        let mut ledger = Ledger::default();
        let mut p = Projections::new();
        for e in &events[..k] {
            let (seq, e, old) = ledger.append(e.clone());
            p.apply(seq, e, old);
        }
        let bytes = p.to_snapshot();
        let mut restored = Projections::from_snapshot(&bytes).unwrap();
        prop_assert_eq!(&restored, &p);
        prop_assert_eq!(restored.to_snapshot(), bytes);
        for e in &events[k..] {
            let (seq, e, old) = ledger.append(e.clone());
            restored.apply(seq, e, old);
        }
        prop_assert_eq!(&restored, &full);
        prop_assert_eq!(restored.to_snapshot(), full.to_snapshot());
        prop_assert_eq!(all_views(&restored), all_views(&full));
    }

    #[test]
    fn interleaving_trusts_differently_gives_the_same_per_trust_views(
        specs in specs(80),
        first in proptest::collection::vec(any::<usize>(), 1..50),
        second in proptest::collection::vec(any::<usize>(), 1..50),
    ) {
        // Proves (b): two merges of the same per-trust histories (each trust's order kept, the
        // ledger sequence numbers different) give equal views for every trust.
        let events = build(&specs);
        let per_trust = by_trust(&events);
        let a = replay(&interleave(&per_trust, &first));
        let b = replay(&interleave(&per_trust, &second));
        prop_assert_eq!(a.trusts(), b.trusts());
        for trust in TRUSTS {
            prop_assert_eq!(trust_views(&a, trust), trust_views(&b, trust), "trust {}", trust);
        }
    }

    #[test]
    fn corrections_give_the_views_of_the_history_without_the_corrected_events(
        specs in specs(80),
    ) {
        // Proves removal is exact for every kind: replaying a history with corrections gives
        // the same views as replaying it with every superseded event left out; and the money
        // totals equal a plain sum over the events that stand (a reference model).
        let mut events = build(&specs);
        events.extend(closing_events(events.len() as u64 + 1));
        let superseded: BTreeSet<_> = events.iter().filter_map(|e| e.supersedes).collect();
        let standing: Vec<Envelope> = events
            .iter()
            .filter(|e| !superseded.contains(&e.event_id))
            .cloned()
            .collect();
        let with = replay(&events);
        let without = replay(&standing);
        prop_assert_eq!(all_views(&with), all_views(&without));

        let (extra, threatened) = reference_money(&standing);
        let money = with.money(None);
        prop_assert_eq!(money.total.extra_cost_pence, extra);
        prop_assert_eq!(money.total.penalties_threatened_pence, threatened);
        // The months sum to the totals, to-date figures and spread ranges included.
        for t in money.trusts.values() {
            let net: i64 = t.by_month.values().map(|m| m.net_cost_pence).sum();
            prop_assert_eq!(net, t.total.net_cost_pence);
            let est: i64 = t.by_month.values().map(|m| m.by_status[&Status::Estimated].net_cost_pence).sum();
            prop_assert_eq!(est, t.total.by_status[&Status::Estimated].net_cost_pence);
            let restated: i64 = t.by_month.values().map(|m| m.restated_pence).sum();
            prop_assert_eq!(restated, t.total.restated_pence);
        }
    }

    #[test]
    fn excluding_synthetic_events_equals_a_fold_of_the_others_only(
        specs in specs(80),
        marks in proptest::collection::vec(proptest::bool::weighted(0.3), 80),
    ) {
        // Any event may be simulated here, corrections of reported events included: the
        // sourced-only projections are exactly (state and snapshot bytes) a fold of the
        // non-synthetic events alone, and every marked view's share is the difference of the
        // two folds' views.
        let events: Vec<Envelope> = build(&specs)
            .into_iter()
            .zip(marks.iter().chain(std::iter::repeat(&false)))
            .map(|(e, m)| if *m { synthetic(e) } else { e })
            .collect();
        let p = replay(&events);
        let sourced = fold_cuts(&events, 1, |_, e| !e.is_synthetic(), Projections::new(), Projections::apply)
            .remove(0);
        prop_assert_eq!(p.sourced_only(), &sourced);
        prop_assert_eq!(p.sourced_only().to_snapshot(), sourced.to_snapshot());
        let synthetic_events = events.iter().filter(|e| e.is_synthetic()).count() as u64;
        prop_assert_eq!(p.synthetic_events(), synthetic_events);

        let excluded = p.marked(true, |p| p.money(None));
        prop_assert_eq!(&excluded.view, &sourced.money(None));
        prop_assert!(excluded.synthetic.excluded && !excluded.synthetic.affected);
        let m = p.marked(false, all_views);
        let all = all_views(&p);
        prop_assert_eq!(&m.view, &all);
        let without = all_views(&sourced);
        prop_assert_eq!(m.synthetic.affected, all != without);
        let net = |v: &Value| v["money"]["total"]["net_cost_pence"].as_i64().unwrap();
        let share = m.synthetic.share["money"]["total"]["net_cost_pence"].as_i64().unwrap_or(0);
        prop_assert_eq!(share, net(&all) - net(&without));
        // A warning is synthetic-only exactly when the sourced-only fold does not fire it.
        let theirs = sourced.warnings(&rules(), None);
        for (code, t) in p.warnings(&rules(), None).trusts {
            for w in t.warnings {
                let fired = theirs.trusts.get(&code).is_some_and(|s| s.warnings.iter().any(|x| x.id == w.id));
                prop_assert_eq!(w.synthetic_only, !fired, "{} {}", code, w.id);
            }
        }
    }
}

fn is_money(b: &EventBody) -> bool {
    matches!(
        b,
        EventBody::ExtraCost(_)
            | EventBody::IncomeAtRisk(_)
            | EventBody::IncomeRecovered(_)
            | EventBody::ContractPenalty(_)
    )
}

/// Every integer leaf of `v` by its path, zeros and restatements left out (a part is a plain
/// monthly sum: whether it came from a to-date chain is the view's business, not the part's).
fn leaves(v: &Value, path: String, out: &mut BTreeMap<String, i64>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k != "restated_pence" && k != "restatements" {
                    leaves(x, format!("{path}/{k}"), out);
                }
            }
        }
        Value::Number(n) => {
            let e = out.entry(path).or_default();
            *e += n.as_i64().unwrap();
            if *e == 0 {
                out.retain(|_, x| *x != 0);
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_parts_of_the_money_events_in_force_add_up_to_every_money_figure(
        specs in specs(80),
    ) {
        // Proves `?evidence=true` can show the events behind a money figure and each one's part
        // of it: per trust, the parts of its money events in force (corrections, ranges and
        // to-date chains included) add up, figure by figure and month by month, to the money
        // view, and the events named are exactly its money events that stand.
        let mut events = build(&specs);
        events.extend(closing_events(events.len() as u64 + 1));
        let p = replay(&events);
        let superseded: BTreeSet<_> = events.iter().filter_map(|e| e.supersedes).collect();
        let by_id: BTreeMap<_, _> = events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.event_id, (i as u64 + 1, e)))
            .collect();
        let money = p.money(None);
        for (trust, ids) in p.money_events(None) {
            let standing: BTreeSet<_> = events
                .iter()
                .filter(|e| e.trust == trust && is_money(&e.body))
                .filter(|e| !superseded.contains(&e.event_id))
                .map(|e| e.event_id)
                .collect();
            prop_assert_eq!(&ids.iter().copied().collect::<BTreeSet<_>>(), &standing);
            let found: Vec<(u64, &Envelope)> = ids.iter().map(|id| by_id[id]).collect();
            let mut sum = BTreeMap::new();
            for (_, part) in golive_projections::money_parts(&found) {
                leaves(&json!({"by_month": part.by_month, "total": part.total}), String::new(), &mut sum);
            }
            let t = &money.trusts[trust.as_str()];
            let mut want = BTreeMap::new();
            leaves(&json!({"by_month": t.by_month, "total": t.total}), String::new(), &mut want);
            prop_assert_eq!(sum, want, "trust {}", trust);
        }
        let with_money: BTreeSet<_> = p.money_events(None).into_iter().map(|(t, _)| t).collect();
        for (trust, t) in &money.trusts {
            if !with_money.contains(&OdsCode::parse(trust).unwrap()) {
                prop_assert!(t.by_month.is_empty(), "{} has money but no money events", trust);
            }
        }
    }
}
