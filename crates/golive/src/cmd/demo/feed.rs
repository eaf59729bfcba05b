//! The demo's traffic: one collector per trust of the London 2008 scenario, then a simulated
//! live feed of files dropped into a directory that a watching collector publishes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use golive::config::Config;
use golive::render;
use golive::simulate::{SimParams, Simulation};
use golive_collector::{CollectError, CollectSummary, CollectorConfig, Input};
use golive_ledger::Ledger;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::LONDON_2008;
use crate::terminal;

/// Seconds between two state lines while the live feed runs.
const SNAPSHOT_EVERY_SECS: u64 = 5;
/// Trusts simulated at a time by the live feed.
const LIVE_TRUSTS: usize = 4;
/// Events of each live simulation (about two years of its trusts' rollout).
const LIVE_EVENTS_PER_ROUND: u64 = 5_000;

/// Completes once `true` is sent on the stop channel (or it is closed).
pub(super) async fn until_stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// Where the collectors publish and keep their outboxes, and the channel that stops them.
pub(super) struct Feeds<'a> {
    pub nats_url: &'a str,
    pub work: &'a Path,
    pub stop: watch::Receiver<bool>,
}

impl Feeds<'_> {
    /// A collector with its own outbox under the scratch directory.
    fn collector_config(&self, name: &str) -> CollectorConfig {
        CollectorConfig {
            nats_url: self.nats_url.to_owned(),
            outbox_dir: self.work.join(format!("outbox-{name}")),
            credentials: None,
            nkey: None,
            tls: Default::default(),
            window: 256,
            republish_after_ms: 5_000,
            receipt_interval_ms: 250,
            receipt_timeout_ms: 2_000,
            wait_for_receipts_ms: Some(60_000),
            outbox_events_max: 1_000_000,
            trust_signer: None,
        }
    }

    /// One collector per trust of the London scenario, each reading its trust's lines from a
    /// file; waits until they have all finished.
    pub async fn london(&self) -> Result<()> {
        let mut by_trust: std::collections::BTreeMap<String, String> = Default::default();
        for line in LONDON_2008.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line)?;
            let t = v["trust"].as_str().unwrap_or("UNKNOWN").to_owned();
            let e = by_trust.entry(t).or_default();
            e.push_str(line);
            e.push('\n');
        }
        let mut london = Vec::new();
        for (trust, body) in &by_trust {
            let file = self.work.join(format!("feed-{trust}.jsonl"));
            std::fs::write(&file, body)?;
            terminal::out(&render::demo::london_collector(trust, body.lines().count()))?;
            london.push(tokio::spawn(golive_collector::collect(
                self.collector_config(trust),
                Input::File(file),
                |_| {},
                until_stopped(self.stop.clone()),
            )));
        }
        for c in london {
            match c.await? {
                Ok(s) if s.pending_at_exit == 0 => {}
                Ok(s) => terminal::out(&render::demo::collector_pending(s.pending_at_exit))?,
                Err(e) => terminal::out(&render::demo::collector_failed(&e))?,
            }
        }
        Ok(())
    }

    /// Starts the collector that watches the live feed's directory; returns it and the
    /// directory.
    pub fn start_live(
        &self,
        events_per_s: u64,
    ) -> Result<(JoinHandle<Result<CollectSummary, CollectError>>, PathBuf)> {
        let dir = self.work.join("live-feed");
        std::fs::create_dir_all(&dir)?;
        let live = tokio::spawn(golive_collector::collect(
            self.collector_config("live"),
            Input::Watch {
                dir: dir.clone(),
                poll_ms: 500,
                feeds: Default::default(),
            },
            |_| {},
            until_stopped(self.stop.clone()),
        ));
        terminal::out(&render::demo::live_feed(events_per_s, &dir))?;
        Ok((live, dir))
    }
}

/// Simulated trusts, four at a time (after the London ones in the list); each simulation
/// covers about two years of their rollout in a few minutes, then four more trusts start.
struct LiveEvents {
    round: u64,
    sim: Simulation,
}

impl LiveEvents {
    fn new() -> Self {
        Self {
            round: 0,
            sim: Self::simulation(0),
        }
    }

    fn simulation(round: u64) -> Simulation {
        let mut params = SimParams::new(2026 + round, LIVE_TRUSTS, LIVE_EVENTS_PER_ROUND);
        // Fictional codes (ZZ001, ...), new ones each round; every event synthetic.
        params.trust_offset = LIVE_TRUSTS * round as usize;
        Simulation::new(params)
    }

    /// The next `n` events as JSONL, starting the next round when one runs out.
    fn jsonl(&mut self, n: u64) -> String {
        let mut body = String::new();
        for _ in 0..n {
            let e = match self.sim.next() {
                Some(e) => e,
                None => {
                    self.round += 1;
                    self.sim = Self::simulation(self.round);
                    match self.sim.next() {
                        Some(e) => e,
                        None => break,
                    }
                }
            };
            body.push_str(&String::from_utf8_lossy(&e.canonical_bytes()));
            body.push('\n');
        }
        body
    }
}

/// Drops a file of `events_per_s` events into `dir` every second until Ctrl-C or
/// `duration_secs`, and prints the state line every few seconds.
pub(super) async fn feed_live(
    ledger: &Arc<Mutex<Ledger>>,
    config: &Config,
    dir: &Path,
    duration_secs: Option<u64>,
    events_per_s: u64,
) -> Result<()> {
    let mut events = LiveEvents::new();
    let started = Instant::now();
    let mut file_no = 0u64;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut shutdown = std::pin::pin!(crate::cmd::shutdown_signal());
    let mut last_print = Instant::now() - Duration::from_secs(60);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = ticker.tick() => {}
        }
        if duration_secs.is_some_and(|d| started.elapsed() >= Duration::from_secs(d)) {
            break;
        }
        file_no += 1;
        // Written under a temporary name and renamed, so the watcher never sees half a file.
        let tmp = dir.join(format!(".part-{file_no:06}"));
        std::fs::write(&tmp, events.jsonl(events_per_s))?;
        std::fs::rename(&tmp, dir.join(format!("live-{file_no:06}.jsonl")))?;
        if last_print.elapsed() >= Duration::from_secs(SNAPSHOT_EVERY_SECS) {
            last_print = Instant::now();
            let l = ledger
                .lock()
                .map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?;
            terminal::out(&render::demo::snapshot(
                l.head().seq,
                l.projections(),
                &config.rules,
            ))?;
        }
    }
    Ok(())
}
