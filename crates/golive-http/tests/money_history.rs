//! `/v1/money` at a past sequence, and known at a time, from the ledger's money history, on the
//! London scenario: byte for byte the answer the full as-of fold (the known-at fold) gives, at
//! every sequence, for the whole ledger and for each trust (and a trust not yet seen: the same
//! 404), with and without synthetic events; the history follows what is appended after it was
//! installed; and until it is installed the answers are folds.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use common::{get, london_state, scenario_events};
use golive_http::AppState;
use golive_ledger::{LineSource, ingest_lines};
use golive_model::CostCategory;
use golive_projections::WarningRules;
use golive_testkit::projections::{cost, ev};
use serde_json::Value;

/// Every question asked at each sequence: the whole ledger, each trust, a trust that never
/// reports; with and without the synthetic events.
fn questions(seq: u64) -> Vec<String> {
    let mut trusts: Vec<String> = scenario_events()
        .iter()
        .map(|e| e.trust.as_str().to_owned())
        .collect();
    trusts.sort();
    trusts.dedup();
    trusts.push("RXX".to_owned());
    let mut out = vec![format!("/v1/money?as_of_seq={seq}")];
    out.extend(
        trusts
            .iter()
            .map(|t| format!("/v1/money?trust={t}&as_of_seq={seq}")),
    );
    let excluded: Vec<String> = out
        .iter()
        .map(|q| format!("{q}&exclude_synthetic=true"))
        .collect();
    out.extend(excluded);
    // Known at times around the Hansard deployment charge (published 27 February 2009), the
    // scenario's first and last years, at every fourth sequence.
    if seq.is_multiple_of(4) {
        let known: Vec<String> = KNOWN_AT
            .iter()
            .flat_map(|t| out.iter().map(move |q| format!("{q}&known_at={t}")))
            .collect();
        out.extend(known);
    }
    out
}

const KNOWN_AT: [&str; 4] = [
    "2007-06-30T00:00:00Z",
    "2009-02-26T00:00:00Z",
    "2009-02-28T00:00:00Z",
    "2012-01-01T00:00:00Z",
];

/// Every answer below the head, asked of a state with a fresh answer cache.
async fn answers(st: &AppState, head: u64) -> Vec<(String, StatusCode, Value)> {
    let mut out = Vec::new();
    for seq in 0..head {
        for q in questions(seq) {
            let (status, v) = get(st, &q).await;
            out.push((q, status, v));
        }
    }
    out
}

/// A state over the same ledger with caches and counters of its own.
fn fresh(st: &AppState) -> AppState {
    AppState::new(st.ledger.clone(), Arc::new(WarningRules::default()))
}

#[tokio::test]
async fn money_as_of_from_the_history_is_the_fold_at_every_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let st = london_state(dir.path());
    let head = st.store.head().seq;
    let folds = answers(&st, head).await;
    assert_eq!(st.metrics.as_of_money_history.load(Ordering::Relaxed), 0);
    assert!(st.metrics.as_of_computed.load(Ordering::Relaxed) > 0);
    let not_found = folds
        .iter()
        .filter(|(_, s, _)| *s == StatusCode::NOT_FOUND)
        .count();
    assert!(not_found > 0, "some trust is asked about before it reports");

    let at = golive_ledger::build_money_history(&st.ledger).unwrap();
    assert_eq!(at, head);
    let st2 = fresh(&st);
    let from_history = answers(&st2, head).await;
    assert_eq!(st2.metrics.as_of_computed.load(Ordering::Relaxed), 0);
    assert_eq!(
        st2.metrics.as_of_money_history.load(Ordering::Relaxed),
        from_history.len() as u64
    );
    for (fold, history) in folds.iter().zip(&from_history) {
        assert_eq!(fold, history, "{}", fold.0);
    }
}

#[tokio::test]
async fn the_history_follows_what_is_appended_after_it_was_installed() {
    let dir = tempfile::tempdir().unwrap();
    let st = london_state(dir.path());
    golive_ledger::build_money_history(&st.ledger).unwrap();
    let head = st.store.head().seq;
    // Two costs after the scenario, the first corrected by the second.
    let first = ev(9_001, "RAL", "2009-06-01", cost(CostCategory::Other, 1_000));
    let fix = golive_testkit::projections::correcting(
        ev(9_002, "RAL", "2009-06-02", cost(CostCategory::Other, 600)),
        9_001,
    );
    let lines: String = [first, fix]
        .iter()
        .map(|e| format!("{}\n", serde_json::to_string(e).unwrap()))
        .collect();
    {
        let mut ledger = st.ledger.lock().unwrap();
        let s = ingest_lines(
            &mut ledger,
            lines.as_bytes(),
            &LineSource::Stdin,
            1,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(s.appended, 2);
    }
    let total = |v: &Value| v["data"]["total"]["extra_cost_pence"].as_i64().unwrap();
    let (_, before) = get(&st, &format!("/v1/money?trust=RAL&as_of_seq={head}")).await;
    let (status, after_first) =
        get(&st, &format!("/v1/money?trust=RAL&as_of_seq={}", head + 1)).await;
    assert_eq!(status, StatusCode::OK, "{after_first}");
    assert_eq!(total(&after_first), total(&before) + 1_000);
    assert!(st.metrics.as_of_money_history.load(Ordering::Relaxed) >= 2);
    // The head is the live fold, which the history's answer one record earlier must lead to.
    let (_, live) = get(&st, "/v1/money?trust=RAL").await;
    assert_eq!(total(&live), total(&before) + 600);
}
