//! Known-at answers, property-tested: for random histories whose events were put on the public
//! record at varied times (some corrections recorded before the event they correct, some
//! long after), `projections_known_at(store, seq, T)` equals a fresh fold of exactly the
//! events up to `seq` recorded at or before `T`, each correction applied against its target only
//! when that target is among them.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use golive_ledger::{Ledger, LedgerOptions, projections_known_at};
use golive_model::{Envelope, EventId};
use golive_projections::Projections;
use golive_store::{Incoming, Outcome};
use golive_testkit::projections::generate::{base, build, specs};
use proptest::prelude::*;

/// Generated histories with `recorded_at` set to `occurred_at` plus a delay of 0 to ~200 days
/// (one delay per event, cycled), and `cuts` as fractions of the head and of the time span.
fn history() -> impl Strategy<Value = (Vec<Envelope>, Vec<i64>, Vec<(f64, f64)>)> {
    (
        specs(60),
        proptest::collection::vec(prop_oneof![Just(0i64), 0i64..60 * 24 * 200], 1..20),
        proptest::collection::vec((0.0f64..1.0, 0.0f64..1.0), 1..5),
    )
        .prop_map(|(specs, delays, cuts)| {
            let mut events = build(&specs);
            for (e, d) in events.iter_mut().zip(delays.iter().cycle()) {
                e.recorded_at = e.occurred_at + Duration::minutes(*d);
            }
            (events, delays, cuts)
        })
}

/// The reference: `events` (numbered by their seq) up to `upto`, only those recorded by `t`,
/// folded into fresh projections; a correction's target is looked up among those folded.
fn fresh_known_at(events: &[(u64, Envelope)], upto: u64, t: DateTime<Utc>) -> Projections {
    let mut p = Projections::new();
    let mut folded: HashMap<EventId, Envelope> = HashMap::new();
    for (seq, e) in events
        .iter()
        .filter(|(seq, e)| *seq <= upto && e.recorded_at <= t)
    {
        let old = e.supersedes.and_then(|s| folded.get(&s)).cloned();
        p.apply(*seq, e, old.as_ref());
        folded.insert(e.event_id, e.clone());
    }
    p
}

fn assert_same_views(got: &Projections, want: &Projections, what: &str) {
    assert_eq!(got.money(None), want.money(None), "money {what}");
    assert_eq!(
        got.lost_patients(None),
        want.lost_patients(None),
        "lost {what}"
    );
    assert_eq!(got.rollout(None), want.rollout(None), "rollout {what}");
    assert_eq!(
        got.incidents(None),
        want.incidents(None),
        "incidents {what}"
    );
    assert_eq!(got.trusts(), want.trusts(), "trusts {what}");
    assert_eq!(got, want, "whole state {what}");
}

fn run(events: Vec<Envelope>, cuts: &[(f64, f64)]) {
    let dir = tempfile::tempdir().unwrap();
    let options = LedgerOptions {
        snapshot_every_events: 7,
        snapshots_kept_max: 4,
    };
    let mut ledger = Ledger::open(dir.path(), options).unwrap();
    let incoming: Vec<Incoming> = events
        .iter()
        .map(|e| Incoming::new(e.clone(), None, Utc::now()))
        .collect();
    let mut appended: Vec<(u64, Envelope)> = Vec::new();
    for chunk in incoming.chunks(11) {
        let outcomes = ledger.append(chunk.to_vec()).unwrap();
        for (i, o) in chunk.iter().zip(outcomes) {
            if let Outcome::Appended { seq } = o {
                appended.push((seq, i.envelope.clone()));
            }
        }
    }
    let head = ledger.head().seq;
    let store = ledger.store();
    let last = appended.iter().map(|(_, e)| e.recorded_at).max();
    let span_minutes = last.map_or(0, |l| (l - base()).num_minutes());
    // Far past, far future, every recorded time exactly (the boundary is inclusive), and cuts.
    let mut points: Vec<(u64, DateTime<Utc>)> = vec![
        (head, base() - Duration::days(1)),
        (head, base() + Duration::days(10_000)),
    ];
    points.extend(appended.iter().map(|(_, e)| (head, e.recorded_at)));
    points.extend(cuts.iter().map(|(s, t)| {
        let minutes = (t * span_minutes as f64) as i64;
        (
            (s * head as f64) as u64,
            base() + Duration::minutes(minutes),
        )
    }));
    for (upto, t) in points {
        let got = projections_known_at(store, upto, t).unwrap();
        let want = fresh_known_at(&appended, upto, t);
        assert_same_views(&got, &want, &format!("up to seq {upto}, known at {t}"));
    }
    // Known at a time after every recorded_at is the ledger itself.
    let all = projections_known_at(store, head, base() + Duration::days(10_000)).unwrap();
    assert_same_views(&all, ledger.projections(), "far future vs the head");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn known_at_equals_a_fresh_fold_of_the_events_recorded_by_then(
        (events, _delays, cuts) in history()
    ) {
        run(events, &cuts);
    }
}

#[test]
fn a_late_correction_leaves_the_old_figure_and_an_early_one_stands_alone() {
    // Proves the two correction rules on a hand-built history: a correction recorded after T is
    // not applied (the corrected figure stands at T); a correction recorded before its target
    // is folded as a plain event at a T between the two.
    use golive_model::CostCategory;
    use golive_testkit::projections::{correcting, cost, ev, t};
    let mut a = ev(
        1,
        "RAL",
        "2009-01-01",
        cost(CostCategory::TemporaryStaff, 100),
    );
    a.recorded_at = t("2009-01-10");
    let mut b = correcting(
        ev(
            2,
            "RAL",
            "2009-01-01",
            cost(CostCategory::TemporaryStaff, 300),
        ),
        1,
    );
    b.recorded_at = t("2009-01-20");
    let mut c = ev(
        3,
        "RNJ",
        "2009-01-01",
        cost(CostCategory::TemporaryStaff, 50),
    );
    c.recorded_at = t("2009-02-10");
    let mut d = correcting(
        ev(
            4,
            "RNJ",
            "2009-01-01",
            cost(CostCategory::TemporaryStaff, 70),
        ),
        3,
    );
    d.recorded_at = t("2009-02-01");
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(dir.path(), LedgerOptions::default()).unwrap();
    let batch = [a, b, c, d].map(|e| Incoming::new(e, None, Utc::now()));
    let outcomes = ledger.append(batch.to_vec()).unwrap();
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Appended { .. })),
        "{outcomes:?}"
    );
    let known_at = |when: &str| projections_known_at(ledger.store(), 4, t(when)).unwrap();
    // The same figures folded by hand: (seq, event, the event it supersedes, if applied).
    let by_hand = |steps: &[(u64, &Incoming, Option<&Incoming>)]| {
        let mut p = Projections::new();
        for (seq, e, old) in steps {
            p.apply(*seq, &e.envelope, old.map(|o| &o.envelope));
        }
        p
    };
    let [a, b, c, d] = &batch;
    assert_eq!(
        known_at("2009-01-05"),
        Projections::new(),
        "nothing recorded yet"
    );
    let late_excluded = known_at("2009-01-15");
    assert_eq!(late_excluded, by_hand(&[(1, a, None)]));
    let corrected = known_at("2009-01-25");
    assert_eq!(corrected, by_hand(&[(1, a, None), (2, b, Some(a))]));
    assert_ne!(late_excluded.money(None), corrected.money(None));
    let early_alone = known_at("2009-02-05");
    let want = by_hand(&[(1, a, None), (2, b, Some(a)), (4, d, None)]);
    assert_eq!(early_alone, want, "early correction stands alone");
    let all = known_at("2009-02-15");
    let want = by_hand(&[(1, a, None), (2, b, Some(a)), (3, c, None), (4, d, Some(c))]);
    assert_eq!(all, want, "then replaces its target");
    assert_eq!(&all, ledger.projections());
}

/// The claim register's folds: `projections_cuts` reads the store once for many cuts; each
/// must equal the test kit's fold of the same events through the same cut (`fold_cuts`, which
/// also mirrors how a correction follows a cut).
fn run_cuts(events: Vec<Envelope>, cuts: &[(f64, f64)]) {
    use golive_projections::Cut;
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(dir.path(), LedgerOptions::default()).unwrap();
    let mut appended: Vec<Envelope> = Vec::new();
    for chunk in events.chunks(13) {
        let incoming: Vec<Incoming> = chunk
            .iter()
            .map(|e| Incoming::new(e.clone(), None, Utc::now()))
            .collect();
        for (e, o) in chunk.iter().zip(ledger.append(incoming).unwrap()) {
            if matches!(o, Outcome::Appended { .. }) {
                appended.push(e.clone());
            }
        }
    }
    let at = |f: f64| base() + Duration::minutes((f * 60.0 * 24.0 * 400.0) as i64);
    let mut all: Vec<Cut> = cuts
        .iter()
        .flat_map(|(k, o)| {
            [
                Cut {
                    known_at: Some(at(*k)),
                    occurred_by: Some(at(*o)),
                    synthetic: true,
                },
                Cut {
                    known_at: Some(at(*k)),
                    occurred_by: None,
                    synthetic: false,
                },
                Cut {
                    known_at: None,
                    occurred_by: Some(at(*o)),
                    synthetic: true,
                },
            ]
        })
        .collect();
    all.push(Cut {
        known_at: None,
        occurred_by: None,
        synthetic: true,
    });
    let head = ledger.head().seq;
    let got = golive_ledger::projections_cuts(ledger.store(), head, &all).unwrap();
    let want = golive_testkit::projections::fold_cuts(
        &appended,
        all.len(),
        |i, e| all[i].admits(e),
        Projections::new(),
        Projections::apply,
    );
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_same_views(g, w, &format!("cut {i}: {:?}", all[i]));
    }
    assert_same_views(
        got.last().unwrap(),
        ledger.projections(),
        "the cut that admits all",
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn each_cut_fold_equals_a_fresh_fold_through_that_cut((events, _delays, cuts) in history()) {
        run_cuts(events, &cuts);
    }
}
