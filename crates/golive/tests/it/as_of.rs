//! As-of answers, property-tested: for random simulated rollouts, snapshot intervals, batch
//! sizes, snapshot pruning and restarts, what the HTTP API answers "as of seq S" (and "as of
//! the time record S was received") equals a fresh replay of exactly the first S records into a
//! new ledger that has no snapshots, and it was computed from the nearest snapshot, not from
//! zero.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use chrono::{Duration, TimeZone, Utc};
use golive::simulate::{SimParams, Simulation};
use golive_http::{AppState, router};
use golive_ledger::{Ledger, LedgerOptions, projections_at, seq_received_by};
use golive_projections::{Projections, WarningRules};
use golive_store::{Incoming, Store};
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

/// A fresh replay cut at `seq`: the first `seq` records of `store`, appended in order to a new
/// ledger that never snapshots, folded live.
fn fresh_replay(store: &Store, seq: u64) -> Projections {
    let dir = tempfile::tempdir().unwrap();
    let mut reference = Ledger::open(
        dir.path(),
        LedgerOptions {
            snapshot_every_events: u64::MAX / 2,
            snapshots_kept_max: 0,
        },
    )
    .unwrap();
    let records: Vec<Incoming> = store
        .range(1, seq)
        .map(|r| {
            let r = r.unwrap();
            Incoming::new(r.envelope, r.stream_seq, r.received_at)
        })
        .collect();
    for chunk in records.chunks(97) {
        let outcomes = reference.append(chunk.to_vec()).unwrap();
        assert!(outcomes.iter().all(|o| o.seq().is_some()), "{outcomes:?}");
    }
    assert_eq!(reference.head().seq, seq);
    reference.projections().clone()
}

async fn get_json(state: &AppState, uri: &str) -> Value {
    let r = router(state.clone())
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{uri}");
    let body = axum::body::to_bytes(r.into_body(), 64 << 20).await.unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    trusts: usize,
    events: u64,
    snapshot_every: u64,
    snapshots_kept: usize,
    batch: usize,
    reopen: bool,
    /// Where to cut, as fractions of the head (0 and 1 included by the test).
    cuts: Vec<f64>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<u64>(),
        1usize..6,
        20u64..500,
        1u64..120,
        1usize..12,
        1usize..150,
        any::<bool>(),
        proptest::collection::vec(0.0f64..1.0, 1..4),
    )
        .prop_map(
            |(seed, trusts, events, snapshot_every, snapshots_kept, batch, reopen, cuts)| Case {
                seed,
                trusts,
                events,
                snapshot_every,
                snapshots_kept,
                batch,
                reopen,
                cuts,
            },
        )
}

fn run(c: &Case) {
    let dir = tempfile::tempdir().unwrap();
    let options = LedgerOptions {
        snapshot_every_events: c.snapshot_every,
        snapshots_kept_max: c.snapshots_kept,
    };
    let mut ledger = Ledger::open(dir.path(), options).unwrap();
    // Each event is received one second after the one before, so receive times are distinct.
    let t0 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let events: Vec<Incoming> = Simulation::new(SimParams::new(c.seed, c.trusts, c.events))
        .enumerate()
        .map(|(i, e)| Incoming::new(e, None, t0 + Duration::seconds(i as i64)))
        .collect();
    for chunk in events.chunks(c.batch) {
        ledger.append(chunk.to_vec()).unwrap();
    }
    if c.reopen {
        ledger.write_snapshot().unwrap();
        drop(ledger);
        ledger = Ledger::open(dir.path(), options).unwrap();
    }
    let head = ledger.head().seq;
    let state = AppState::new(
        Arc::new(Mutex::new(ledger)),
        Arc::new(WarningRules::default()),
    );
    let store = state.store.clone();
    let mut cuts: Vec<u64> = c
        .cuts
        .iter()
        .map(|f| (f * head as f64) as u64)
        .chain([0, head, head.saturating_sub(1)])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for seq in cuts {
        let expected = fresh_replay(&store, seq);

        // The as-of machinery: nearest snapshot plus replay, and never from zero when a
        // snapshot at or before `seq` exists.
        let mut replayed = u64::MAX;
        let p = projections_at(&store, seq, &mut |_, total| replayed = total).unwrap();
        assert_eq!(p, expected, "projections as of seq {seq}");
        let base = store
            .snapshot_at_or_before(seq)
            .unwrap()
            .map_or(0, |(s, _)| s);
        assert_eq!(replayed, seq - base, "replayed from snapshot {base}");

        // What the API serves, by sequence and by receive time.
        rt.block_on(async {
            let rules = WarningRules::default();
            let by_seq = get_json(&state, &format!("/v1/money?as_of_seq={seq}")).await;
            assert_eq!(by_seq["as_of_seq"], seq);
            assert_eq!(
                by_seq["data"],
                serde_json::to_value(expected.marked(false, |p| p.money(None))).unwrap()
            );
            let w = get_json(&state, &format!("/v1/warnings?as_of_seq={seq}")).await;
            assert_eq!(
                w["data"],
                serde_json::to_value(expected.marked(false, |p| p.warnings(&rules, None))).unwrap()
            );
            let l = get_json(&state, &format!("/v1/lost-patients?as_of_seq={seq}")).await;
            assert_eq!(
                l["data"],
                serde_json::to_value(expected.marked(false, |p| p.lost_patients(None))).unwrap()
            );
            if seq > 0 {
                let at = store.get(seq).unwrap().unwrap().received_at;
                assert_eq!(seq_received_by(&store, at).unwrap(), seq);
                assert_eq!(
                    seq_received_by(&store, at - Duration::milliseconds(1)).unwrap(),
                    seq - 1
                );
                let by_time = get_json(
                    &state,
                    &format!("/v1/rollout?as_of={}", golive_model::format_time(&at)),
                )
                .await;
                assert_eq!(by_time["as_of_seq"], seq);
                assert_eq!(
                    by_time["data"],
                    serde_json::to_value(expected.marked(false, |p| p.rollout(None))).unwrap()
                );
            }
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn as_of_equals_a_fresh_replay_cut_at_that_sequence(c in case()) {
        run(&c);
    }
}

#[test]
fn receive_times_never_decrease_even_if_the_clock_steps_back() {
    // Proves the invariant the as-of-time search relies on: a batch stamped earlier than the
    // record before it (the clock stepped back) is stored with the earlier record's time.
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::open(dir.path(), LedgerOptions::default()).unwrap();
    let t = Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap();
    let mut events = Simulation::new(SimParams::new(1, 2, 30));
    let first: Vec<Incoming> = events
        .by_ref()
        .take(10)
        .map(|e| Incoming::new(e, None, t))
        .collect();
    ledger.append(first).unwrap();
    let back: Vec<Incoming> = events
        .by_ref()
        .take(10)
        .map(|e| Incoming::new(e, None, t - Duration::hours(1)))
        .collect();
    ledger.append(back).unwrap();
    let store = ledger.store().clone();
    let times: Vec<_> = store.iter_from(1).map(|r| r.unwrap().received_at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(seq_received_by(&store, t).unwrap(), ledger.head().seq);
    assert_eq!(
        seq_received_by(&store, t - Duration::seconds(1)).unwrap(),
        0
    );
    // After a restart the floor is the head record's time.
    drop(store);
    drop(ledger);
    let mut ledger = Ledger::open(dir.path(), LedgerOptions::default()).unwrap();
    let more: Vec<Incoming> = events
        .map(|e| Incoming::new(e, None, t - Duration::days(1)))
        .collect();
    ledger.append(more).unwrap();
    let last = ledger
        .store()
        .get(ledger.head().seq)
        .unwrap()
        .unwrap()
        .received_at;
    assert_eq!(last, t);
}
