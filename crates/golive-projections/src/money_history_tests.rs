//! The money history against the fold: at every sequence of random logs (several trusts, every
//! kind, synthetic events, estimates, corrections of any earlier event, corrections of
//! corrections, the same event corrected twice), the money view it answers is the one
//! `Projections::marked(.., |p| p.money(..))` gives of the events up to that sequence, and a
//! trust it says has no events is one `Projections::trusts` does not list.

use chrono::Duration;
use golive_model::{CostCategory, Envelope, OdsCode, Status};
use golive_testkit::arb;
use proptest::prelude::*;

use crate::testkit::*;
use crate::{MoneyAt, MoneyHistory, Projections};

const TRUSTS: [&str; 3] = ["RAL", "RRV", "RAP"];

prop_compose! {
    fn event(i: u64)(
        body in prop_oneof![3 => arb::body(), 1 => arb::claims_body(), 1 => arb::recovery_body()],
        trust in 0usize..3,
        day in 0i64..400,
        flags in any::<u8>(),
        target in any::<u64>(),
        delay in prop_oneof![2 => Just(0i64), 1 => 0i64..200],
    ) -> Envelope {
        // Built valid, then given any body: the fold reads bodies as they are.
        let when = t("2008-01-01") + Duration::days(day);
        let mut e = ev_at(i + 1, TRUSTS[trust], when, cost(CostCategory::Other, 1));
        e.body = body;
        // Recorded at or after it happened, in another order than the log's.
        e.recorded_at = when + Duration::days(delay);
        if flags % 5 == 0 {
            e = synthetic(e);
        }
        if flags % 3 == 1 {
            e.status = Status::Estimated;
        }
        // A correction of any earlier event (the fold does no validation; the ledger's rules
        // allow fewer), often of the same few, so that one is corrected twice.
        if i > 0 && flags % 4 == 2 {
            e.supersedes = Some(id(1 + target % i.min(6)));
        }
        e
    }
}

fn log() -> impl Strategy<Value = Vec<Envelope>> {
    (1usize..60).prop_flat_map(|n| (0..n as u64).map(event).collect::<Vec<_>>())
}

/// What the history must answer after the first `n` events, from the fold of them.
fn expected(p: &Projections, trust: Option<&OdsCode>, exclude: bool) -> serde_json::Value {
    let listed = if exclude { p.sourced_only() } else { p }.trusts();
    match trust {
        Some(t) if !listed.contains(t) => serde_json::Value::Null,
        _ => serde_json::to_value(p.marked(exclude, |p| p.money(trust))).expect("encodes"),
    }
}

fn answered(
    h: &MoneyHistory,
    seq: u64,
    trust: Option<&OdsCode>,
    exclude: bool,
) -> Option<serde_json::Value> {
    Some(match h.money_at(seq, trust, exclude)? {
        MoneyAt::NoEvents => serde_json::Value::Null,
        MoneyAt::View(v) => serde_json::to_value(v).expect("encodes"),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_money_history_answers_what_the_fold_does_at_every_sequence(
        events in log(),
        every in 1usize..5,
    ) {
        let mut ledger = golive_testkit::projections::Ledger::default();
        let mut history = MoneyHistory::with_checkpoints_every(every);
        let mut folds = vec![Projections::new()];
        for e in events {
            let (seq, e, old) = ledger.append(e);
            let mut p = folds.last().expect("one fold at least").clone();
            p.apply(seq, e, old);
            history.apply(seq, e, old);
            folds.push(p);
        }
        let unseen = ods("RXX");
        let mut asked: Vec<Option<&OdsCode>> = vec![None, Some(&unseen)];
        let codes: Vec<OdsCode> = TRUSTS.iter().map(|c| ods(c)).collect();
        asked.extend(codes.iter().map(Some));
        // Every sequence, asked after the whole log was folded: the history answers the past.
        for (seq, p) in folds.iter().enumerate() {
            for trust in &asked {
                for exclude in [false, true] {
                    let got = answered(&history, seq as u64, *trust, exclude);
                    prop_assert!(got.is_some(), "every sequence folded is answered");
                    let got = got.expect("answered");
                    prop_assert_eq!(got, expected(p, *trust, exclude), "seq {} trust {:?} exclude {}", seq, trust, exclude);
                }
            }
        }
        prop_assert!(answered(&history, folds.len() as u64, None, false).is_none());
    }
}

#[test]
fn a_correction_at_a_later_sequence_leaves_the_earlier_figure_standing() {
    // Proves the history is of the past: the cost as reported stands until its correction.
    let a = ev(1, "RAL", "2008-09-15", cost(CostCategory::Other, 1_000));
    let fix = correcting(
        ev(2, "RAL", "2008-09-20", cost(CostCategory::Other, 600)),
        1,
    );
    let mut h = MoneyHistory::with_checkpoints_every(1);
    h.apply(1, &a, None);
    h.apply(2, &fix, Some(&a));
    let total = |seq| match h.money_at(seq, Some(&ods("RAL")), false) {
        Some(MoneyAt::View(v)) => v.view.total.extra_cost_pence,
        other => panic!("no view at {seq}: {other:?}"),
    };
    assert_eq!(total(1), 1_000);
    assert_eq!(total(2), 600);
    assert!(matches!(
        h.money_at(0, Some(&ods("RAL")), false),
        Some(MoneyAt::NoEvents)
    ));
    assert!(h.money_at(3, None, false).is_none());
}

/// The known-at fold of the first `n` events of `log` (what `projections_known_at` folds):
/// only those recorded by `t`, a correction counting against its target only if that target
/// was recorded by `t` too.
fn known_fold(log: &[Envelope], n: usize, t: chrono::DateTime<chrono::Utc>) -> Projections {
    let mut ledger = golive_testkit::projections::Ledger::default();
    let mut p = Projections::new();
    for e in &log[..n] {
        let (seq, e, old) = ledger.append(e.clone());
        if e.recorded_at <= t {
            p.apply(seq, e, old.filter(|o| o.recorded_at <= t));
        }
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn the_money_history_answers_known_at_what_the_known_at_fold_does(
        events in log(),
        every in 1usize..5,
    ) {
        let mut ledger = golive_testkit::projections::Ledger::default();
        let mut history = MoneyHistory::with_checkpoints_every(every);
        for e in &events {
            let (seq, e, old) = ledger.append(e.clone());
            history.apply(seq, e, old);
        }
        let mut times: Vec<_> = events.iter().map(|e| e.recorded_at).collect();
        times.sort();
        times.dedup();
        times.insert(0, times[0] - Duration::days(1));
        let codes: Vec<OdsCode> = TRUSTS.iter().map(|c| ods(c)).collect();
        let mut asked: Vec<Option<&OdsCode>> = vec![None];
        asked.extend(codes.iter().map(Some));
        let mut fetch = |seq: u64| -> Result<crate::KnownRecord, ()> {
            let (_, e, old) = ledger.entry(seq as usize - 1);
            Ok((e.clone(), old.cloned()))
        };
        for n in 0..=events.len() {
            for &t in times.iter().step_by(1 + times.len() / 4) {
                let p = known_fold(&events, n, t);
                for trust in &asked {
                    for exclude in [false, true] {
                        let got = history
                            .money_known_at((n as u64, t), *trust, exclude, &mut fetch)
                            .expect("the log has every record");
                        let got = match got {
                            None => panic!("seq {n} is within the history"),
                            Some(MoneyAt::NoEvents) => serde_json::Value::Null,
                            Some(MoneyAt::View(v)) => serde_json::to_value(v).expect("encodes"),
                        };
                        prop_assert_eq!(got, expected(&p, *trust, exclude), "seq {} known at {} trust {:?} exclude {}", n, t, trust, exclude);
                    }
                }
            }
        }
    }
}
