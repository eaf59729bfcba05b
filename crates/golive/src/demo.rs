//! `golive demo`: the whole pipeline on one machine. NATS (found at `NATS_URL`, or started from
//! PATH on a free port with a temporary store), the ledger, one collector per trust of the London
//! 2008 scenario, and a simulated live feed that keeps publishing; the projections are printed
//! as they change, and the live dashboard is served on 127.0.0.1:8080 (or a free port).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use golive::config::Config;
use golive::natsproc;
use golive::render;
use golive::simulate::{SimParams, Simulation};
use golive_collector::{CollectorConfig, Input};
use golive_ledger::Ledger;
use golive_service::{ServeConfig, serve};

/// The London 2008 scenario, shipped inside the binary so the demo needs no checkout.
pub const LONDON_2008: &str = include_str!("../../../scenarios/london-2008.jsonl");

/// One short line per trust: status, money, lost patients, warnings.
fn snapshot_line(ledger: &Ledger, config: &Config) -> String {
    let p = ledger.projections();
    let money = p.money(None);
    let lost = p.lost_patients(None);
    let rollout = p.rollout(None);
    let warnings = p.warnings(&config.rules, None);
    let mut out = format!(
        "seq {:>6}  net cost {}  open lost patients {}  halt recommended: {}\n",
        ledger.head().seq,
        golive_model::Pence(money.total.net_cost_pence),
        lost.total.open_count,
        if warnings.total.halt_recommended.is_empty() {
            "none".to_owned()
        } else {
            warnings.total.halt_recommended.join(", ")
        }
    );
    for (trust, r) in &rollout.trusts {
        let m = money
            .trusts
            .get(trust)
            .map(|m| m.total.net_cost_pence)
            .unwrap_or(0);
        let open = lost.trusts.get(trust).map(|l| l.open_count).unwrap_or(0);
        let halt = warnings
            .trusts
            .get(trust)
            .is_some_and(|w| w.halt_recommended);
        out.push_str(&format!(
            "  {trust:<5} {:<13} net cost {:>16}  open lost {:>4}{}\n",
            r.status.map(|s| s.as_str()).unwrap_or("-"),
            golive_model::Pence(m).to_string(),
            open,
            if halt { "  HALT RECOMMENDED" } else { "" }
        ));
    }
    out
}

/// Where the demo serves the dashboard: `GOLIVE_HTTP` if set, else 127.0.0.1:8080, else (when
/// 8080 is taken) a free loopback port.
async fn demo_listener() -> std::io::Result<tokio::net::TcpListener> {
    if let Some(addr) = std::env::var("GOLIVE_HTTP").ok().filter(|a| !a.is_empty()) {
        return tokio::net::TcpListener::bind(addr).await;
    }
    match tokio::net::TcpListener::bind("127.0.0.1:8080").await {
        Ok(l) => Ok(l),
        Err(_) => tokio::net::TcpListener::bind("127.0.0.1:0").await,
    }
}

pub fn run(
    mut config: Config,
    data_given: bool,
    duration_secs: Option<u64>,
    live_events_per_s: u64,
) -> Result<()> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S");
    let work = std::env::temp_dir().join(format!("golive-demo-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    if !data_given {
        config.data_dir = work.join("ledger");
    }
    println!("Go-Live Ledger demo: the London go-lives of 2007-2009, through NATS JetStream");
    let env_url = std::env::var("NATS_URL").ok().filter(|u| !u.is_empty());
    let (url, _own) = match env_url {
        Some(u) if natsproc::answers(&u) => {
            println!("NATS: using {u} (from NATS_URL)");
            (u, None)
        }
        other => {
            if let Some(u) = other {
                println!("NATS_URL={u} does not answer; starting a private nats-server instead");
            }
            let own = natsproc::start(&work)?;
            println!(
                "NATS: started nats-server at {} (store {})",
                own.url,
                own.store.display()
            );
            (own.url.clone(), Some(own))
        }
    };
    println!("ledger: {}", config.data_dir.display());
    let mut opened = Ledger::open(&config.data_dir, config.ledger)
        .with_context(|| format!("cannot open the ledger in {}", config.data_dir.display()))?;
    // Signed checkpoints, as `golive serve` does: the demo's history can be audited.
    let key = golive_ledger::audit::load_or_create_key(&config.data_dir, &config.audit_origin)?;
    let pubkey = key.verifier().to_string();
    // The API needs tokens, as it would in production: one per role, made for this run.
    let tokens = DemoTokens::new()?;
    // A demo lasts minutes: sign often enough that an auditor sees signed checkpoints.
    config.audit.checkpoint_every_events = config.audit.checkpoint_every_events.min(100);
    config.audit.checkpoint_every_secs = config.audit.checkpoint_every_secs.min(10);
    opened.enable_checkpoint_signing(golive_ledger::audit::CheckpointSigner::new(
        key,
        config.audit,
        opened.store(),
    )?);
    let ledger = Arc::new(Mutex::new(opened));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let metrics = Arc::new(golive_ledger::Metrics::new());
        let sc = ServeConfig {
            nats_url: url.clone(),
            batch_events_max: config.batch_events_max,
            metrics: metrics.clone(),
            ..Default::default()
        };
        let server = tokio::spawn(serve(ledger.clone(), sc, stopped(stop_rx.clone())));
        // The dashboard and the API, so the scenario can be watched arriving in a browser.
        let http = match demo_listener().await {
            Ok(listener) => {
                let addr = listener.local_addr()?;
                println!("Dashboard: http://{addr}/  (the HTTP API is under http://{addr}/v1/)");
                println!(
                    "Dashboard for analysts: http://{addr}/#token={}",
                    tokens.analyst
                );
                println!(
                    "Auditors, while it runs: GOLIVE_TOKEN={} golive audit export --server http://{addr} > h.jsonl && golive audit verify --export h.jsonl --pubkey '{pubkey}'",
                    tokens.auditor
                );
                println!(
                    "Admin (dead letters, metrics): curl -H 'Authorization: Bearer {}' http://{addr}/v1/dead-letters",
                    tokens.admin
                );
                let announced =
                    golive::serving::announce(&config.data_dir, &format!("http://{addr}"));
                let state =
                    golive_http::AppState::new(ledger.clone(), Arc::new(config.rules.clone()))
                        .with_metrics(metrics)
                        .with_auth(tokens.auth()?);
                let served = golive_http::serve_on(listener, state, stopped(stop_rx.clone()));
                Some(tokio::spawn(async move {
                    let r = served.await;
                    drop(announced);
                    r
                }))
            }
            Err(e) => {
                println!("no dashboard: cannot listen for HTTP ({e})");
                None
            }
        };
        // Give the ledger a moment to provision the stream before collectors publish.
        tokio::time::sleep(Duration::from_millis(800)).await;

        let collector_config = |name: &str| CollectorConfig {
            nats_url: url.clone(),
            outbox_dir: work.join(format!("outbox-{name}")),
            credentials: None,
            nkey: None,
            window: 256,
            republish_after_ms: 5_000,
            receipt_interval_ms: 250,
            receipt_timeout_ms: 2_000,
            wait_for_receipts_ms: Some(60_000),
            outbox_events_max: 1_000_000,
        };
        // One collector per trust of the London scenario.
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
            let file = work.join(format!("feed-{trust}.jsonl"));
            std::fs::write(&file, body)?;
            println!("collector {trust}: {} events from the London 2008 scenario", body.lines().count());
            london.push(tokio::spawn(golive_collector::collect(
                collector_config(trust),
                Input::File(file),
                |_| {},
                stopped(stop_rx.clone()),
            )));
        }
        for c in london {
            match c.await? {
                Ok(s) if s.pending_at_exit == 0 => {}
                Ok(s) => println!("a collector still has {} events pending", s.pending_at_exit),
                Err(e) => println!("a collector failed: {e}"),
            }
        }
        {
            let l = ledger.lock().map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?;
            let p = l.projections();
            println!("\nLondon 2008 scenario appended: head seq {}\n", l.head().seq);
            println!("== Rollout ==\n{}", render::rollout(&p.rollout(None)));
            println!("== Money (integer pence, shown in pounds) ==\n{}", render::money(&p.money(None)));
            println!("== Lost patients ==\n{}", render::lost_patients(&p.lost_patients(None)));
            println!("== Early warnings ==\n{}", render::warnings(&p.warnings(&config.rules, None)));
        }

        // Simulated live traffic: new JSONL files dropped into a watched directory.
        let watch = work.join("live-feed");
        std::fs::create_dir_all(&watch)?;
        let live = tokio::spawn(golive_collector::collect(
            collector_config("live"),
            Input::Watch { dir: watch.clone(), poll_ms: 500 },
            |_| {},
            stopped(stop_rx.clone()),
        ));
        println!(
            "Live feed: simulated trusts publish about {live_events_per_s} events/s via files dropped into {}",
            watch.display()
        );
        println!("Stop with Ctrl-C.\n");
        // Four simulated trusts at a time (after the London ones in the list); each simulation
        // covers about two years of their rollout in a few minutes, then four more trusts start.
        let sim_for = |round: u64| {
            let mut params = SimParams::new(2026 + round, 4, 5_000);
            params.trust_offset = 5 + 4 * round as usize;
            Simulation::new(params)
        };
        let mut round = 0u64;
        let mut sim = sim_for(round);
        let started = std::time::Instant::now();
        let mut file_no = 0u64;
        let mut ticker = tokio::time::interval(Duration::from_secs(1));
        let mut shutdown = std::pin::pin!(crate::shutdown_signal());
        let mut last_print = std::time::Instant::now() - Duration::from_secs(60);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = ticker.tick() => {}
            }
            if duration_secs.is_some_and(|d| started.elapsed() >= Duration::from_secs(d)) {
                break;
            }
            file_no += 1;
            let mut body = String::new();
            for _ in 0..live_events_per_s {
                let e = match sim.next() {
                    Some(e) => e,
                    None => {
                        round += 1;
                        sim = sim_for(round);
                        match sim.next() {
                            Some(e) => e,
                            None => break,
                        }
                    }
                };
                body.push_str(&String::from_utf8_lossy(&e.canonical_bytes()));
                body.push('\n');
            }
            // Write under a temporary name and rename, so the watcher never sees half a file.
            let tmp = watch.join(format!(".part-{file_no:06}"));
            std::fs::write(&tmp, body)?;
            std::fs::rename(&tmp, watch.join(format!("live-{file_no:06}.jsonl")))?;
            if last_print.elapsed() >= Duration::from_secs(5) {
                last_print = std::time::Instant::now();
                let l = ledger.lock().map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?;
                println!("{}", snapshot_line(&l, &config));
            }
        }
        let _ = stop_tx.send(true);
        let _ = live.await;
        if let Some(h) = http {
            // Open browser connections must not keep the demo from ending.
            let _ = tokio::time::timeout(Duration::from_secs(3), h).await;
        }
        match server.await? {
            Ok(s) => println!(
                "ledger stopped: {} messages, {} appended, {} duplicates, {} dead letters",
                s.messages, s.appended, s.duplicates, s.dead_lettered
            ),
            Err(e) => println!("ledger failed: {e}"),
        }
        anyhow::Ok(())
    })?;
    let l = ledger
        .lock()
        .map_err(|_| anyhow::anyhow!("ledger lock poisoned"))?;
    println!("{}", snapshot_line(&l, &config));
    let data = config.data_dir.display();
    println!("The ledger stays in {data}. Try:");
    println!("  golive query money --trust RAL --data {data}");
    println!("  golive query warnings --data {data}");
    println!("  golive verify --data {data}");
    Ok(())
}

/// One bearer token per role, made for one demo run (not stored anywhere).
struct DemoTokens {
    analyst: String,
    auditor: String,
    admin: String,
}

impl DemoTokens {
    fn new() -> Result<Self> {
        let t = || golive_http::auth::new_token().context("cannot draw randomness for a token");
        Ok(Self {
            analyst: t()?,
            auditor: t()?,
            admin: t()?,
        })
    }

    fn auth(&self) -> Result<golive_http::Auth> {
        use golive_http::{Role, TokenEntry, auth::token_hash_hex};
        let entry =
            |name: &str, role, token: &str| TokenEntry::new(name, role, &token_hash_hex(token));
        Ok(golive_http::Auth::from_tokens(vec![
            entry("demo-analyst", Role::Analyst, &self.analyst)?,
            entry("demo-auditor", Role::Auditor, &self.auditor)?,
            entry("demo-admin", Role::Admin, &self.admin)?,
        ])?)
    }
}
