//! `golive-bench flood`: does a flood of requests from one token slow another token's answers?
//! The HTTP API over a bench ledger with two analyst tokens and the default limits
//! (docs/SECURITY.md, "HTTP under abuse"). The quiet token asks `/v1/money?trust=ZZ001` at a
//! steady rate below its limit, from its own loopback address (127.0.0.2): first alone, then
//! while the flooding token sends as fast as its clients can from 127.0.0.1 (most of it
//! answered 429). The figure is the quiet token's p99 under the flood over its p99 alone
//! (target: at most 2).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use golive::simulate::{SimParams, Simulation};
use golive_http::auth::{Auth, Role, TokenEntry, new_token, token_hash_hex};
use golive_http::limits::Limits;
use serde::Serialize;

use crate::query::{
    Caller, InProcessServer, QueryBenchError, ScenarioFigures, build_ledger, load_as,
};

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct FloodParams {
    pub events: u64,
    pub trusts: usize,
    pub seed: u64,
    /// Concurrent connections of the flooding token.
    pub flood_clients: usize,
    /// Requests of the quiet token in each phase.
    pub requests: u64,
    /// Milliseconds between the quiet token's requests (20: 50 a second, half its limit).
    pub pace_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FloodReport {
    pub events: u64,
    pub head_seq: u64,
    pub build_secs: f64,
    pub token_requests_per_s: u32,
    pub quiet_alone: ScenarioFigures,
    pub quiet_under_flood: ScenarioFigures,
    /// The flood: its `errors` are its refused requests (429).
    pub flood: ScenarioFigures,
    /// `quiet_under_flood.p99_ms / quiet_alone.p99_ms` (target <= 2).
    pub quiet_p99_ratio_under_flood: f64,
}

const PATH: &str = "/v1/money?trust=ZZ001";

pub fn flood_bench(dir: &Path, p: FloodParams) -> Result<FloodReport, QueryBenchError> {
    std::fs::create_dir_all(dir)?;
    let started = Instant::now();
    let events = Simulation::new(SimParams::new(p.seed, p.trusts, p.events));
    let ledger = build_ledger(dir, events, 10_000)?;
    let build_secs = started.elapsed().as_secs_f64();
    let head_seq = ledger.head().seq;
    let (quiet, flooding) = (new_token()?, new_token()?);
    let limits = Limits::default();
    let state = golive_http::AppState::new(
        std::sync::Arc::new(std::sync::Mutex::new(ledger)),
        std::sync::Arc::new(golive_projections::WarningRules::default()),
    )
    .with_auth(two_tokens(&quiet, &flooding))
    .with_limits(limits);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let server = InProcessServer::start_with(&rt, state)?;
    let (quiet_alone, quiet_under_flood, flood) = phases(&server.base, &quiet, &flooding, &p);
    server.stop(&rt);
    Ok(FloodReport {
        events: p.events,
        head_seq,
        build_secs,
        token_requests_per_s: limits.token_requests_per_s,
        quiet_p99_ratio_under_flood: quiet_under_flood.p99_ms / quiet_alone.p99_ms.max(1e-9),
        quiet_alone,
        quiet_under_flood,
        flood,
    })
}

fn two_tokens(quiet: &str, flooding: &str) -> Auth {
    let entry = |name: &str, token: &str| {
        TokenEntry::new(name, Role::Analyst, &token_hash_hex(token)).expect("a token's hash")
    };
    Auth::from_tokens(vec![entry("quiet", quiet), entry("flood", flooding)])
        .expect("two distinct tokens")
}

/// The quiet token alone, then under the flood; and the flood.
fn phases(
    base: &str,
    quiet: &str,
    flooding: &str,
    p: &FloodParams,
) -> (ScenarioFigures, ScenarioFigures, ScenarioFigures) {
    let quiet_caller = Caller {
        token: Some(quiet),
        from: Some([127, 0, 0, 2].into()),
        stop: None,
        pace_ms: Some(p.pace_ms),
    };
    let path = |_| PATH.to_owned();
    load_as(base, "warm-up", &quiet_caller, 1, 20, &path);
    let alone = load_as(
        base,
        "quiet token alone",
        &quiet_caller,
        1,
        p.requests,
        &path,
    );
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let flood = s.spawn(|| {
            let caller = Caller {
                token: Some(flooding),
                stop: Some(&stop),
                ..Caller::default()
            };
            load_as(
                base,
                "flooding token",
                &caller,
                p.flood_clients,
                u64::MAX,
                &path,
            )
        });
        let under = load_as(
            base,
            "quiet token under the flood",
            &quiet_caller,
            1,
            p.requests,
            &path,
        );
        stop.store(true, Ordering::Relaxed);
        (alone, under, flood.join().expect("the flood's thread"))
    })
}

/// The table printed by `golive-bench flood`.
pub fn flood_table(r: &FloodReport) -> String {
    let row = |x: &ScenarioFigures| {
        format!(
            "{:<30} {:>8} {:>7} {:>8.2} {:>8.2} {:>9.0}\n",
            x.name, x.requests, x.errors, x.p50_ms, x.p99_ms, x.requests_per_s
        )
    };
    format!(
        "{} events (head seq {}), token limit {} requests/s\n{:<30} {:>8} {:>7} {:>8} {:>8} {:>9}\n{}{}{}quiet token's p99 under the flood / alone: {:.2} (target <= 2)\n",
        r.events,
        r.head_seq,
        r.token_requests_per_s,
        "",
        "requests",
        "non-200",
        "p50 ms",
        "p99 ms",
        "req/s",
        row(&r.quiet_alone),
        row(&r.quiet_under_flood),
        row(&r.flood),
        r.quiet_p99_ratio_under_flood
    )
}
