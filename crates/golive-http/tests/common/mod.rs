//! What the HTTP tests over the London scenario share: the scenario, its events, a ledger that
//! holds them, and a GET through the router in process.

#![allow(dead_code)] // each test crate uses a part of it

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use golive_http::{AppState, router};
use golive_ledger::{Ledger, LedgerOptions, LineSource, ingest_lines};
use golive_model::Envelope;
use golive_projections::WarningRules;
use serde_json::Value;
use tower::ServiceExt;

pub fn scenario() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/london-2008.jsonl")
}

/// The scenario's events, in file order (which is the ledger's seq order: none is rejected).
pub fn scenario_events() -> Vec<Envelope> {
    std::fs::read_to_string(scenario())
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| golive_model::decode(l.as_bytes()).unwrap())
        .collect()
}

/// A ledger in `dir` with the London scenario, snapshots every 10 records, and its state.
pub fn london_state(dir: &std::path::Path) -> AppState {
    let options = LedgerOptions {
        snapshot_every_events: 10,
        snapshots_kept_max: 100,
    };
    let mut ledger = Ledger::open(dir, options).unwrap();
    let f = std::fs::File::open(scenario()).unwrap();
    let s = ingest_lines(
        &mut ledger,
        std::io::BufReader::new(f),
        &LineSource::Stdin,
        7,
        &mut |_| {},
    );
    assert_eq!(s.unwrap().rejected, 0);
    AppState::new(
        Arc::new(Mutex::new(ledger)),
        Arc::new(WarningRules::default()),
    )
}

/// GET `uri` through the router: the status and the JSON body.
pub async fn get(state: &AppState, uri: &str) -> (StatusCode, Value) {
    let r = router(state.clone())
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = r.status();
    let body = axum::body::to_bytes(r.into_body(), 64 << 20).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}
